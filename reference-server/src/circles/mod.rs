//! The Circles app (`003_415bfb4e4fd8fc5e.txt`) on the project's Socket.IO transport: JWT `authenticate`, circles, conversations, messages, `writing`, media and WebRTC, with its admin routes.
//!
//! [`core`] holds the state and the rules (no IO); this module drives it:
//! [`CirclesApp`] turns Socket.IO events into core calls and applies what
//! the core answers through the handler's socket, the admin routes
//! ([`admin`]) through the transport's [`Hub`]. The admin API provisions
//! the state; what must survive a restart is kept in the server's storage:
//! read back at start ([`Core::restore`]), and after every core call the
//! writes of what it changed are queued to the storage writer while the
//! core is still locked (so they reach the store in the order of the
//! changes). The admin routes answer once their writes are committed; a
//! socket's `message` is answered at once, its write queued before the
//! answer leaves (the document promises no more).

pub mod admin;
pub mod core;
pub mod turn;

use std::sync::{Arc, Mutex, OnceLock};

use protocols::socketio::Data;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use self::core::{Core, Out, To};
use crate::config::Profile;
use crate::services::storage::{Committed, Snapshot, Storage, StorageError};
use crate::services::tokens::Tokens;
use crate::socketio::{lock, App, Event, Hub, Socket};

/// The development TURN secret used when none is configured.
pub const DEV_TURN_SECRET: &str = "chatspec-development-turn-secret";

/// One STUN or TURN server, as `webrtc_stun_info` / `webrtc_turn_info` list them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IceServer {
    /// Domain name.
    pub domain: String,
    /// IP address, possibly empty.
    #[serde(default)]
    pub ip: String,
    /// Port.
    pub port: u16,
}

/// `[circles]` in the server's TOML.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CirclesConfig {
    /// Engine.IO and Socket.IO timings and limits (default: [`Profile::test`]).
    pub profile: Profile,
    /// The secret shared with the TURN servers (coturn's `static-auth-secret`).
    pub turn_secret: String,
    /// How long TURN credentials are valid, seconds.
    pub credentials_ttl_secs: u64,
    /// The STUN servers `webrtc_stun_info` lists.
    pub stun: Vec<IceServer>,
    /// The TURN servers `webrtc_turn_info` lists.
    pub turn: Vec<IceServer>,
}

impl Default for CirclesConfig {
    /// The test profile, the development TURN secret, a day of validity and
    /// the document's example server for STUN and TURN.
    fn default() -> Self {
        let example = IceServer {
            domain: "webrtc.neo.ovh".to_owned(),
            ip: String::new(),
            port: 3478,
        };
        CirclesConfig {
            profile: Profile::test(),
            turn_secret: DEV_TURN_SECRET.to_owned(),
            credentials_ttl_secs: 24 * 3600,
            stun: vec![example.clone()],
            turn: vec![example],
        }
    }
}

/// A fault switch of the circles listener: `--fault circles:<name>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CirclesFault {
    /// A token with a bad signature is accepted.
    AcceptAnySignature,
    /// `join_circle` / `join_conversation` do not check membership.
    JoinAnything,
    /// A `message` notice goes to every authenticated socket.
    MessageToEveryone,
    /// A `writing` notice goes back to its sender too.
    WritingEcho,
    /// A forwarded WebRTC message goes to every authenticated socket.
    ForwardToEveryone,
    /// Circle, conversation and message events go to every authenticated socket.
    EventsToEveryone,
    /// A user removed from a circle or conversation stays in its room.
    RemovedKeepsRooms,
    /// TURN passwords are signed with another secret.
    TurnWrongSecret,
    /// TURN credentials expired a minute ago.
    ExpiredCredentials,
}

impl CirclesFault {
    /// Every fault switch of the circles listener.
    pub const ALL: [CirclesFault; 9] = [
        CirclesFault::AcceptAnySignature,
        CirclesFault::JoinAnything,
        CirclesFault::MessageToEveryone,
        CirclesFault::WritingEcho,
        CirclesFault::ForwardToEveryone,
        CirclesFault::EventsToEveryone,
        CirclesFault::RemovedKeepsRooms,
        CirclesFault::TurnWrongSecret,
        CirclesFault::ExpiredCredentials,
    ];

    /// The name used with `--fault` and in `faults = [...]`.
    pub fn as_str(self) -> &'static str {
        match self {
            CirclesFault::AcceptAnySignature => "circles:accept-any-signature",
            CirclesFault::JoinAnything => "circles:join-anything",
            CirclesFault::MessageToEveryone => "circles:message-to-everyone",
            CirclesFault::WritingEcho => "circles:writing-echo",
            CirclesFault::ForwardToEveryone => "circles:forward-to-everyone",
            CirclesFault::EventsToEveryone => "circles:events-to-everyone",
            CirclesFault::RemovedKeepsRooms => "circles:removed-keeps-rooms",
            CirclesFault::TurnWrongSecret => "circles:turn-wrong-secret",
            CirclesFault::ExpiredCredentials => "circles:expired-credentials",
        }
    }
}

/// The Circles state shared by the listener and the admin API: the core
/// and the hub of the listener's transport (set once it serves).
#[derive(Debug, Clone)]
pub struct CirclesContext {
    core: Arc<Mutex<Core>>,
    hub: Arc<OnceLock<Hub>>,
    storage: Storage,
}

/// The namespace the app serves.
const NAMESPACE: &str = "/";

impl CirclesContext {
    /// The state `snapshot` holds, kept in `storage`, with `config`,
    /// `faults` and the server's `tokens`.
    pub fn new(
        config: CirclesConfig,
        faults: Vec<CirclesFault>,
        tokens: Tokens,
        storage: Storage,
        snapshot: &Snapshot,
    ) -> Result<Self, StorageError> {
        let core = Core::restore(config, faults, tokens, snapshot)?;
        Ok(CirclesContext {
            core: Arc::new(Mutex::new(core)),
            hub: Arc::new(OnceLock::new()),
            storage,
        })
    }

    /// Queues the writes of what the core changed; called with it locked.
    fn persist(&self, core: &mut Core) -> Result<Committed, StorageError> {
        Ok(self.storage.submit(core.take_writes()?))
    }

    /// Sets the hub of the listener's transport (once; later calls are ignored).
    pub fn set_hub(&self, hub: Hub) {
        let _ = self.hub.set(hub);
    }

    /// Runs `f` on the core and applies the [`Out`]s it returns through
    /// the hub (nothing is emitted before the listener serves); what it
    /// changed is queued for storage, and the returned [`Committed`]
    /// resolves once it is stored.
    pub fn act<T>(
        &self,
        f: impl FnOnce(&mut Core) -> (T, Vec<Out>),
    ) -> (T, Result<Committed, StorageError>) {
        let (value, outs, everyone, committed) = {
            let mut core = lock(&self.core);
            let (value, outs) = f(&mut core);
            let committed = self.persist(&mut core);
            (value, outs, core.authenticated(), committed)
        };
        if let Some(hub) = self.hub.get() {
            for out in outs {
                match out {
                    Out::Emit { to, event, payload } => {
                        let args = vec![Data::from(payload)];
                        match to {
                            To::Sid(sid) => {
                                hub.emit_to(&sid, NAMESPACE, event, args);
                            }
                            To::Room(room) => {
                                hub.emit_to_room(NAMESPACE, &room, event, args);
                            }
                            To::RoomBut(room, except) => {
                                for sid in hub.members(NAMESPACE, &room) {
                                    if sid != except {
                                        hub.emit_to(&sid, NAMESPACE, event, args.clone());
                                    }
                                }
                            }
                            To::Everyone => {
                                for sid in &everyone {
                                    hub.emit_to(sid, NAMESPACE, event, args.clone());
                                }
                            }
                        }
                    }
                    Out::Join(sid, room) => hub.join(&sid, NAMESPACE, &room),
                    Out::Leave(sid, room) => hub.leave(&sid, NAMESPACE, &room),
                }
            }
        }
        (value, committed)
    }

    /// Reads the core.
    pub fn read<T>(&self, f: impl FnOnce(&Core) -> T) -> T {
        f(&lock(&self.core))
    }
}

/// The Circles app served on the listener's transport.
#[derive(Debug)]
pub struct CirclesApp {
    context: CirclesContext,
}

impl CirclesApp {
    /// The app over `context`.
    pub fn new(context: CirclesContext) -> Self {
        CirclesApp { context }
    }
}

/// Unix milliseconds now.
fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

impl App for CirclesApp {
    fn on_connect(&self, socket: &mut Socket<'_>, _auth: Option<&Value>) -> Result<(), String> {
        if socket.namespace() == NAMESPACE {
            Ok(())
        } else {
            Err("Invalid namespace".to_owned())
        }
    }

    fn on_event(&self, socket: &mut Socket<'_>, event: Event) {
        let payload = match event.args.first() {
            None => None,
            Some(arg) => match arg.to_json() {
                Some(v) => Some(v),
                None => {
                    let reason = "binary attachments are not accepted".to_owned();
                    socket.emit("error", vec![Data::String(reason)]);
                    return;
                }
            },
        };
        let sid = socket.sid().to_owned();
        let (outs, everyone) = {
            let mut core = lock(&self.context.core);
            let outs = core.on_event(&sid, &event.name, payload.as_ref(), now_ms());
            if let Err(e) = self.context.persist(&mut core) {
                tracing::error!(
                    sid,
                    "circles: a change of {:?} is not stored: {e}",
                    event.name
                );
            }
            (outs, core.authenticated())
        };
        for out in outs {
            match out {
                Out::Emit { to, event, payload } => {
                    let args = vec![Data::from(payload)];
                    match to {
                        To::Sid(s) if s == sid => socket.emit(event, args),
                        To::Sid(s) => socket.emit_to(&s, event, args),
                        To::Room(room) => socket.to_room(&room, event, args),
                        To::RoomBut(room, except) if except == sid => {
                            socket.broadcast(&room, event, args)
                        }
                        To::RoomBut(room, except) => {
                            for s in socket.members(&room) {
                                if s != except {
                                    socket.emit_to(&s, event, args.clone());
                                }
                            }
                        }
                        To::Everyone => {
                            for s in &everyone {
                                if *s == sid {
                                    socket.emit(event, args.clone());
                                } else {
                                    socket.emit_to(s, event, args.clone());
                                }
                            }
                        }
                    }
                }
                Out::Join(s, room) if s == sid => socket.join(&room),
                Out::Leave(s, room) if s == sid => socket.leave(&room),
                Out::Join(s, room) => {
                    if let Some(hub) = self.context.hub.get() {
                        hub.join(&s, NAMESPACE, &room);
                    }
                }
                Out::Leave(s, room) => {
                    if let Some(hub) = self.context.hub.get() {
                        hub.leave(&s, NAMESPACE, &room);
                    }
                }
            }
        }
    }

    fn on_disconnect(&self, socket: &mut Socket<'_>) {
        if socket.namespace() == NAMESPACE {
            let sid = socket.sid();
            // A disconnect changes nothing stored: there is nothing to wait for.
            let _ = self.context.act(|core| ((), core.on_disconnect(sid)));
        }
    }
}
