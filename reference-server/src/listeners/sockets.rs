//! The `sockets` listener: the chat of the "Sockets" memo (`001_13ce220237596520.txt`) on the project's own Socket.IO transport.
//!
//! One room, the registered users, in the main namespace `/` (any other
//! namespace gets CONNECT_ERROR "Invalid namespace"). Behaviour (each fault
//! switch of [`SocketsFault`] breaks one of these):
//!
//! - `register` with the raw username is acknowledged `true` and the user
//!   joins the room; `Server` then sends `<name> has joined the chat` to
//!   everyone in the room, the new user included (§3.1.4). It is
//!   acknowledged `false`, and nothing else happens, for a name that is not
//!   a string, is empty, is longer than `max_username_chars` characters, is
//!   the reserved `Server`, or is taken; and for a socket that is already
//!   registered (a user has one name). A `register` without an ack id is
//!   handled the same way, unanswered.
//! - `message {from, message}` from a registered user goes to everyone in
//!   the room, the sender included, as `{from, message}` with `from` the
//!   sender's registered name whatever it claimed (§3.1.2, the silent spot
//!   of `specs/README.md`); other fields are dropped. When the client asked
//!   for an ack it is acknowledged `true`.
//! - A `message` before `register`, or one whose payload is not an object
//!   with a string `message`, is refused: it reaches no one, and when the
//!   client asked for an ack it is acknowledged `false` (the shape of the
//!   `register` answer). The connection stays open.
//! - When a registered user's socket goes (§3.1.3), `Server` sends `<name>
//!   left the chat` to everyone left in the room and the name is free again.
//! - A socket that has not registered receives nothing of the room.
//!
//! Engine.IO 4 / Socket.IO 5 and Engine.IO 3 / Socket.IO 4 clients are
//! served side by side, on HTTP long-polling and WebSocket, at `/socket.io/`.

use std::collections::{HashMap, HashSet};
use std::io;
use std::sync::{Arc, Mutex};

use protocols::socketio::Data;
use protocols::sockets::{ChatMessage, SERVER_USER};
use protocols::Protocol;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::net::TcpListener;

use super::{serve_socketio, socketio_router, BoxFuture, Listener, Shutdown};
use crate::config::{Config, ListenerName, Profile};
use crate::fault::Fault;
use crate::services::Services;
use crate::socketio::{lock, App, Event, NoDelay, Socket, Transport};

/// The `sockets` listener, at `/socket.io/`.
#[derive(Debug)]
pub struct Sockets;

impl Listener for Sockets {
    fn name(&self) -> ListenerName {
        ListenerName::Sockets
    }

    fn protocol(&self) -> Protocol {
        Protocol::Sockets
    }

    fn faults(&self) -> Vec<Fault> {
        SocketsFault::ALL.map(Fault::Sockets).to_vec()
    }

    fn serve(
        &self,
        tcp: TcpListener,
        config: &Config,
        _services: &Services,
        shutdown: Shutdown,
    ) -> BoxFuture<'static, io::Result<()>> {
        let app = SocketsApp {
            faults: config.faults.clone(),
            max_username_chars: config.sockets.max_username_chars,
            users: Mutex::new(Users::default()),
        };
        let transport =
            Transport::socketio(Arc::new(app), super::echo::options(config.sockets.profile));
        let router = socketio_router(&transport);
        serve_socketio(self.name(), NoDelay(tcp), router, vec![transport], shutdown)
    }
}

/// `[sockets]`: the listener's Socket.IO timings and its username limit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SocketsConfig {
    /// Engine.IO and Socket.IO timings and limits (default: [`Profile::test`]).
    pub profile: Profile,
    /// The longest username `register` accepts, in characters (the memo
    /// names no limit; the suite's target section says which one it checks).
    pub max_username_chars: usize,
}

impl Default for SocketsConfig {
    fn default() -> Self {
        SocketsConfig {
            profile: Profile::test(),
            max_username_chars: DEFAULT_MAX_USERNAME_CHARS,
        }
    }
}

/// The default of [`SocketsConfig::max_username_chars`].
pub const DEFAULT_MAX_USERNAME_CHARS: usize = 32;

/// The one room: every registered user.
const ROOM: &str = "chat";

/// A fault switch of the sockets listener: `--fault sockets:<name>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SocketsFault {
    /// Never acknowledge `register`.
    NoRegisterAck,
    /// Accept the empty username.
    AcceptEmptyName,
    /// Accept a username of any length.
    AcceptLongName,
    /// Accept the reserved username `Server`.
    AcceptServerName,
    /// Accept a username that is taken (two users share it).
    AcceptTakenName,
    /// Accept a second `register` of a registered socket (the user is renamed).
    AcceptSecondRegister,
    /// Send the join notice to no one but the new user.
    NoJoinNotice,
    /// Send the join notice to everyone but the new user.
    NoSelfJoinNotice,
    /// Broadcast a message with the `from` the client claimed.
    TrustFrom,
    /// Send a message to everyone but its sender.
    NoEchoToSender,
    /// Send a message back to its sender only.
    NoBroadcast,
    /// Broadcast a message sent before `register`, with the `from` it claims.
    AcceptUnregisteredMessage,
    /// Put every connected socket in the room, registered or not.
    NotifyUnregistered,
    /// Send no notice when a user leaves.
    NoLeaveNotice,
    /// Keep a user's name taken after the user left.
    KeepName,
}

impl SocketsFault {
    /// Every fault switch of the sockets listener.
    pub const ALL: [SocketsFault; 15] = [
        SocketsFault::NoRegisterAck,
        SocketsFault::AcceptEmptyName,
        SocketsFault::AcceptLongName,
        SocketsFault::AcceptServerName,
        SocketsFault::AcceptTakenName,
        SocketsFault::AcceptSecondRegister,
        SocketsFault::NoJoinNotice,
        SocketsFault::NoSelfJoinNotice,
        SocketsFault::TrustFrom,
        SocketsFault::NoEchoToSender,
        SocketsFault::NoBroadcast,
        SocketsFault::AcceptUnregisteredMessage,
        SocketsFault::NotifyUnregistered,
        SocketsFault::NoLeaveNotice,
        SocketsFault::KeepName,
    ];

    /// The name used with `--fault` and in `faults = [...]`.
    pub fn as_str(self) -> &'static str {
        match self {
            SocketsFault::NoRegisterAck => "sockets:no-register-ack",
            SocketsFault::AcceptEmptyName => "sockets:accept-empty-name",
            SocketsFault::AcceptLongName => "sockets:accept-long-name",
            SocketsFault::AcceptServerName => "sockets:accept-server-name",
            SocketsFault::AcceptTakenName => "sockets:accept-taken-name",
            SocketsFault::AcceptSecondRegister => "sockets:accept-second-register",
            SocketsFault::NoJoinNotice => "sockets:no-join-notice",
            SocketsFault::NoSelfJoinNotice => "sockets:no-self-join-notice",
            SocketsFault::TrustFrom => "sockets:trust-from",
            SocketsFault::NoEchoToSender => "sockets:no-echo-to-sender",
            SocketsFault::NoBroadcast => "sockets:no-broadcast",
            SocketsFault::AcceptUnregisteredMessage => "sockets:accept-unregistered-message",
            SocketsFault::NotifyUnregistered => "sockets:notify-unregistered",
            SocketsFault::NoLeaveNotice => "sockets:no-leave-notice",
            SocketsFault::KeepName => "sockets:keep-name",
        }
    }
}

/// Who is registered: each socket's name, and the names taken.
#[derive(Debug, Default)]
struct Users {
    by_sid: HashMap<String, String>,
    /// Names taken: by a registered user, or kept by `sockets:keep-name`.
    taken: HashSet<String>,
}

/// The chat app, with its fault switches.
#[derive(Debug)]
struct SocketsApp {
    faults: Vec<Fault>,
    max_username_chars: usize,
    users: Mutex<Users>,
}

/// Why a `register` is answered `false`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Refusal {
    NotAString,
    Empty,
    TooLong,
    Reserved,
    Taken,
    AlreadyRegistered,
}

impl SocketsApp {
    fn has(&self, fault: SocketsFault) -> bool {
        self.faults.contains(&Fault::Sockets(fault))
    }

    /// Takes `name` for the socket `sid`, or says why not.
    fn claim(&self, sid: &str, name: Option<&Data>) -> Result<String, Refusal> {
        let Some(Data::String(name)) = name else {
            return Err(Refusal::NotAString);
        };
        let mut users = lock(&self.users);
        if users.by_sid.contains_key(sid) && !self.has(SocketsFault::AcceptSecondRegister) {
            return Err(Refusal::AlreadyRegistered);
        }
        if name.is_empty() && !self.has(SocketsFault::AcceptEmptyName) {
            return Err(Refusal::Empty);
        }
        if name.chars().count() > self.max_username_chars && !self.has(SocketsFault::AcceptLongName)
        {
            return Err(Refusal::TooLong);
        }
        if name == SERVER_USER && !self.has(SocketsFault::AcceptServerName) {
            return Err(Refusal::Reserved);
        }
        if users.taken.contains(name) && !self.has(SocketsFault::AcceptTakenName) {
            return Err(Refusal::Taken);
        }
        if let Some(old) = users.by_sid.insert(sid.to_owned(), name.clone()) {
            users.taken.remove(&old);
        }
        users.taken.insert(name.clone());
        Ok(name.clone())
    }

    fn register(&self, socket: &mut Socket<'_>, event: Event) {
        let claimed = self.claim(socket.sid(), event.args.first());
        if let Err(why) = claimed {
            tracing::debug!(sid = socket.sid(), ?why, "register refused");
        }
        if let Some(id) = event.ack {
            if !self.has(SocketsFault::NoRegisterAck) {
                socket.ack(id, vec![Data::Bool(claimed.is_ok())]);
            }
        }
        let Ok(name) = claimed else { return };
        socket.join(ROOM);
        let notice = message_event(&ChatMessage::joined(&name));
        if !self.has(SocketsFault::NoSelfJoinNotice) {
            socket.emit("message", vec![notice.clone()]);
        }
        if !self.has(SocketsFault::NoJoinNotice) {
            socket.broadcast(ROOM, "message", vec![notice]);
        }
    }

    fn message(&self, socket: &mut Socket<'_>, event: Event) {
        let registered = lock(&self.users).by_sid.get(socket.sid()).cloned();
        let (from, text) = match (registered, chat_payload(event.args.first())) {
            (Some(name), Some((claimed, text))) => {
                let from = match claimed {
                    Some(claimed) if self.has(SocketsFault::TrustFrom) => claimed,
                    _ => name,
                };
                (from, text)
            }
            (None, Some((Some(claimed), text)))
                if self.has(SocketsFault::AcceptUnregisteredMessage) =>
            {
                (claimed, text)
            }
            _ => {
                if let Some(id) = event.ack {
                    socket.ack(id, vec![Data::Bool(false)]);
                }
                return;
            }
        };
        let out = message_event(&ChatMessage::new(from, text));
        if let Some(id) = event.ack {
            socket.ack(id, vec![Data::Bool(true)]);
        }
        if !self.has(SocketsFault::NoEchoToSender) {
            socket.emit("message", vec![out.clone()]);
        }
        if !self.has(SocketsFault::NoBroadcast) {
            socket.broadcast(ROOM, "message", vec![out]);
        }
    }
}

/// The `{from, message}` payload of a `message` event.
fn message_event(message: &ChatMessage) -> Data {
    let mut object = std::collections::BTreeMap::new();
    object.insert("from".to_owned(), Data::String(message.from.clone()));
    object.insert("message".to_owned(), Data::String(message.message.clone()));
    Data::Object(object)
}

/// The claimed `from` (when a string) and the text of a `message` payload;
/// `None` unless it is an object with a string `message`.
fn chat_payload(payload: Option<&Data>) -> Option<(Option<String>, String)> {
    let Some(Data::Object(fields)) = payload else {
        return None;
    };
    let Some(Data::String(text)) = fields.get("message") else {
        return None;
    };
    let from = match fields.get("from") {
        Some(Data::String(from)) => Some(from.clone()),
        _ => None,
    };
    Some((from, text.clone()))
}

impl App for SocketsApp {
    fn on_connect(&self, socket: &mut Socket<'_>, _auth: Option<&Value>) -> Result<(), String> {
        if socket.namespace() != "/" {
            return Err("Invalid namespace".to_owned());
        }
        if self.has(SocketsFault::NotifyUnregistered) {
            socket.join(ROOM);
        }
        Ok(())
    }

    fn on_event(&self, socket: &mut Socket<'_>, event: Event) {
        match event.name.as_str() {
            "register" => self.register(socket, event),
            "message" => self.message(socket, event),
            // The memo defines no other event; it is ignored.
            _ => {}
        }
    }

    fn on_disconnect(&self, socket: &mut Socket<'_>) {
        let name = {
            let mut users = lock(&self.users);
            let name = users.by_sid.remove(socket.sid());
            if let Some(name) = &name {
                if !self.has(SocketsFault::KeepName) {
                    users.taken.remove(name);
                }
            }
            name
        };
        if let Some(name) = name {
            if !self.has(SocketsFault::NoLeaveNotice) {
                let notice = message_event(&ChatMessage::left(&name));
                socket.broadcast(ROOM, "message", vec![notice]);
            }
        }
    }
}
