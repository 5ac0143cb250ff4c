//! The Chatpot listener (`000_407d4ff0bcbdf81c.txt`): node discovery at `GET /status`, `postinit_req` with a member token, `server_error`, `health_req`, and `message` events to the members of a room.
//!
//! Members, rooms and membership live in [`ChatpotContext`], which the
//! admin API provisions (`admin`, nested under `/chatpot`) and the Socket.IO
//! app (`app`) reads. Chat messages enter through the admin API (the
//! deployed system takes them over its REST API, which the document does
//! not include) and reach a member the way the deployed node delivers them:
//! through the Socket.IO room of each chat room the member is in, which
//! every socket of the member joins at `postinit_req` and which the admin
//! API joins and leaves as membership changes.
//!
//! The deployed Socket.IO node is a relay in front of Chatpot's REST
//! services, which own members, rooms and messages; here the admin API
//! stands in for them, and what it provisions (members, rooms and their
//! membership) is kept in the server's storage: read back at start, written
//! through the storage writer before the admin API answers. Who is
//! connected, and as which member, stays in memory. Messages are relayed,
//! not kept (the node has no history to offer).

pub mod admin;
mod app;
mod listener;

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::sync::{Arc, Mutex, OnceLock};
use std::{fmt, str::FromStr};

use protocols::chatpot::Member;
use serde::{Deserialize, Serialize};

pub use listener::Chatpot;

use crate::config::Profile;
use crate::services::storage::{Committed, Snapshot, Storage, StorageError, Write};
use crate::socketio::Hub;

/// The storage space of members (key: the member token; value: the [`Member`]).
const MEMBERS: &str = "chatpot.member";
/// The storage space of rooms (key: the room token; value: its member tokens).
const ROOMS: &str = "chatpot.room";

/// The Socket.IO namespace every Chatpot event travels in.
pub(crate) const NAMESPACE: &str = "/";

/// `[chatpot]` in the server's TOML: what `GET /status` announces and the
/// Engine.IO timings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ChatpotConfig {
    /// The node's public host, scheme included (`http://ws-1.example.com`);
    /// by default `http://` and the address the listener is bound to.
    pub host: Option<String>,
    /// The node's public port; by default the port the listener is bound to.
    pub port: Option<u16>,
    /// Engine.IO and Socket.IO timings (default: Node socket.io's; the
    /// embedded server runs [`Profile::test`]).
    pub profile: Profile,
}

impl Default for ChatpotConfig {
    fn default() -> Self {
        ChatpotConfig {
            host: None,
            port: None,
            profile: Profile::socketio_default(),
        }
    }
}

impl ChatpotConfig {
    /// The test profile's timings, for embedded runs.
    pub fn test_profile() -> Self {
        ChatpotConfig {
            profile: Profile::test(),
            ..ChatpotConfig::default()
        }
    }
}

/// A fault switch of the chatpot listener: `--fault chatpot:<name>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ChatpotFault {
    /// `GET /status` reports 0 connections whatever the node holds.
    StatusZeroConnections,
    /// `GET /status` has no `host`.
    StatusNoHost,
    /// `postinit_req` is answered `init_res`, as the deployed server did.
    InitRes,
    /// `postinit_req` with a known token is never answered.
    NoPostinitAnswer,
    /// An unknown member token is accepted like a known one.
    AcceptUnknownToken,
    /// A missing or empty token is answered with code `INVALID_TOKEN`.
    WrongErrorCode,
    /// `health_req` is never answered.
    NoHealth,
    /// A message is delivered to every member of the room but its sender.
    MessageSkipsSender,
    /// A message is delivered to every connected socket, member or not.
    MessageToEveryone,
    /// A member taken out of a room keeps receiving its messages.
    KeepLeftMember,
    /// A member added to a room receives its messages only after a new `postinit_req`.
    NoLiveJoin,
    /// A member's newest socket takes the rooms of its earlier sockets.
    LatestSocketOnly,
    /// `message_id` is a 16-hex-digit id.
    ShortMessageId,
    /// `sent_time` is in seconds, not milliseconds.
    SentTimeSeconds,
    /// `from` lacks the sender's `nick.ja`.
    NoJapaneseNick,
}

impl ChatpotFault {
    /// Every fault switch of the chatpot listener.
    pub const ALL: [ChatpotFault; 15] = [
        ChatpotFault::StatusZeroConnections,
        ChatpotFault::StatusNoHost,
        ChatpotFault::InitRes,
        ChatpotFault::NoPostinitAnswer,
        ChatpotFault::AcceptUnknownToken,
        ChatpotFault::WrongErrorCode,
        ChatpotFault::NoHealth,
        ChatpotFault::MessageSkipsSender,
        ChatpotFault::MessageToEveryone,
        ChatpotFault::KeepLeftMember,
        ChatpotFault::NoLiveJoin,
        ChatpotFault::LatestSocketOnly,
        ChatpotFault::ShortMessageId,
        ChatpotFault::SentTimeSeconds,
        ChatpotFault::NoJapaneseNick,
    ];

    /// The name used with `--fault` and in `faults = [...]`.
    pub fn as_str(self) -> &'static str {
        match self {
            ChatpotFault::StatusZeroConnections => "chatpot:status-zero-connections",
            ChatpotFault::StatusNoHost => "chatpot:status-no-host",
            ChatpotFault::InitRes => "chatpot:init-res",
            ChatpotFault::NoPostinitAnswer => "chatpot:no-postinit-answer",
            ChatpotFault::AcceptUnknownToken => "chatpot:accept-unknown-token",
            ChatpotFault::WrongErrorCode => "chatpot:wrong-error-code",
            ChatpotFault::NoHealth => "chatpot:no-health",
            ChatpotFault::MessageSkipsSender => "chatpot:message-skips-sender",
            ChatpotFault::MessageToEveryone => "chatpot:message-to-everyone",
            ChatpotFault::KeepLeftMember => "chatpot:keep-left-member",
            ChatpotFault::NoLiveJoin => "chatpot:no-live-join",
            ChatpotFault::LatestSocketOnly => "chatpot:latest-socket-only",
            ChatpotFault::ShortMessageId => "chatpot:short-message-id",
            ChatpotFault::SentTimeSeconds => "chatpot:sent-time-seconds",
            ChatpotFault::NoJapaneseNick => "chatpot:no-japanese-nick",
        }
    }
}

impl fmt::Display for ChatpotFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A name that is no chatpot fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown chatpot fault {0:?}")]
pub struct UnknownChatpotFault(pub String);

impl FromStr for ChatpotFault {
    type Err = UnknownChatpotFault;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ChatpotFault::ALL
            .into_iter()
            .find(|f| f.as_str() == s)
            .ok_or_else(|| UnknownChatpotFault(s.to_owned()))
    }
}

/// Members, rooms and the sockets of each member: what the admin API and
/// the Socket.IO app share. Cheap to clone.
#[derive(Clone)]
pub struct ChatpotContext {
    inner: Arc<Inner>,
}

impl fmt::Debug for ChatpotContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChatpotContext").finish_non_exhaustive()
    }
}

struct Inner {
    state: Mutex<State>,
    /// The running listener's transport, set once it is built.
    hub: OnceLock<Hub>,
    faults: Vec<ChatpotFault>,
    storage: Storage,
}

/// Everything the node knows.
#[derive(Default)]
pub(crate) struct State {
    /// Members by member token.
    pub members: BTreeMap<String, Member>,
    /// Rooms by room token: the member tokens in each.
    pub rooms: BTreeMap<String, BTreeSet<String>>,
    /// Every connected socket (Engine.IO sid) in the namespace.
    pub connected: HashSet<String>,
    /// The member each socket presented at `postinit_req`.
    pub sockets: BTreeMap<String, String>,
}

impl State {
    /// The sockets of the member `token`.
    pub fn sockets_of(&self, token: &str) -> Vec<String> {
        self.sockets
            .iter()
            .filter(|(_, m)| m.as_str() == token)
            .map(|(sid, _)| sid.clone())
            .collect()
    }

    /// The rooms the member `token` is in.
    pub fn rooms_of(&self, token: &str) -> Vec<String> {
        self.rooms
            .iter()
            .filter(|(_, members)| members.contains(token))
            .map(|(room, _)| room.clone())
            .collect()
    }

    /// The members, rooms and membership `snapshot` holds; nobody connected.
    fn load(snapshot: &Snapshot) -> Result<State, StorageError> {
        let mut state = State::default();
        for record in snapshot.records(MEMBERS) {
            state.members.insert(record.key.clone(), record.decode()?);
        }
        for record in snapshot.records(ROOMS) {
            state.rooms.insert(record.key.clone(), record.decode()?);
        }
        Ok(state)
    }

    /// The write that stores member `token` as it is now.
    pub fn member_write(&self, token: &str) -> Result<Write, StorageError> {
        match self.members.get(token) {
            Some(member) => Write::put(MEMBERS, token, member),
            None => Ok(Write::delete(MEMBERS, token)),
        }
    }

    /// The write that stores room `token` and its membership as they are now.
    pub fn room_write(&self, token: &str) -> Result<Write, StorageError> {
        match self.rooms.get(token) {
            Some(members) => Write::put(ROOMS, token, members),
            None => Ok(Write::delete(ROOMS, token)),
        }
    }
}

impl ChatpotContext {
    /// A node holding the members and rooms of `snapshot`, keeping them in
    /// `storage`, with the `chatpot:` faults among `faults` switched on.
    pub fn new(
        faults: &[crate::fault::Fault],
        storage: Storage,
        snapshot: &Snapshot,
    ) -> Result<ChatpotContext, StorageError> {
        let faults = faults
            .iter()
            .filter_map(|f| match f {
                crate::fault::Fault::Chatpot(f) => Some(*f),
                _ => None,
            })
            .collect();
        Ok(ChatpotContext {
            inner: Arc::new(Inner {
                state: Mutex::new(State::load(snapshot)?),
                hub: OnceLock::new(),
                faults,
                storage,
            }),
        })
    }

    /// Queues `writes` for storage; call it inside [`ChatpotContext::with_state`],
    /// so that the writes of one record are queued in the order of its changes.
    pub(crate) fn persist(&self, writes: Vec<Write>) -> Committed {
        self.inner.storage.submit(writes)
    }

    /// Whether the fault switch `fault` is on.
    pub(crate) fn has(&self, fault: ChatpotFault) -> bool {
        self.inner.faults.contains(&fault)
    }

    /// Runs `f` on the state, locked.
    pub(crate) fn with_state<R>(&self, f: impl FnOnce(&mut State) -> R) -> R {
        f(&mut crate::socketio::lock(&self.inner.state))
    }

    /// The hub of the running listener (`None` while the chatpot listener
    /// does not run: then nobody is connected to deliver to).
    pub(crate) fn hub(&self) -> Option<&Hub> {
        self.inner.hub.get()
    }

    /// Hands the context the running listener's hub (once; a second call
    /// is ignored).
    pub(crate) fn set_hub(&self, hub: Hub) {
        if self.inner.hub.set(hub).is_err() {
            tracing::warn!("chatpot: the listener's hub was already set");
        }
    }

    /// How many sockets are connected to the node.
    pub fn connections(&self) -> usize {
        self.with_state(|s| s.connected.len())
    }
}

/// `bytes` random bytes as lowercase hex: member and room tokens (24 bytes,
/// 48 digits, as the document's examples), message ids (16 bytes, 32 digits).
pub(crate) fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    if let Err(e) = getrandom::getrandom(&mut buf) {
        // No randomness from the OS: fall back on the clock and a counter,
        // unique but guessable, and say so.
        tracing::error!("chatpot: no random bytes from the system ({e}); ids are guessable");
        static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let t = crate::services::tokens::unix_now_secs();
        for (i, b) in buf.iter_mut().enumerate() {
            *b = ((n.rotate_left(i as u32 * 8) ^ t.rotate_right(i as u32)) & 0xff) as u8;
        }
    }
    buf.iter().map(|b| format!("{b:02x}")).collect()
}
