//! The reference server's Socket.IO transport: a thin tokio driver of the sans-IO sessions of `protocols::session`, and the API apps are written on.
//!
//! An app implements [`App`]: it is told when a client asks to join a
//! namespace (and accepts or refuses it), when an event arrives, and when
//! the client leaves. Its handlers get a [`Socket`]: emit to the client,
//! answer an ack, join and leave rooms, broadcast to a room. Everything a
//! handler sends is encoded once; a broadcast's bytes are shared by every
//! recipient's queue. A recipient whose queue is full is disconnected with
//! a logged reason: nothing is dropped without a word.
//!
//! A handler whose effect must be stored before it is told holds its
//! answers with [`Socket::hold_until`]: what it sends waits for the future
//! it gives (a storage commit), and the answers of the client's later
//! events queue behind it, so they go out in the order of the events.
//!
//! [`Transport`] serves the app over HTTP long-polling and WebSocket,
//! Engine.IO 3 and 4 side by side (see `driver`).

mod driver;
mod peer;
#[cfg(test)]
mod tests;

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use protocols::session::socketio::{Encoded, Rooms};
use protocols::socketio::{Data, FullPacket, PacketType};
use serde_json::Value;

pub use driver::{HeartbeatStats, Hub, Options, Transport};
pub(crate) use peer::unread_input;
pub use peer::{Conn, NoDelay, PeerSocket};

/// An application served over Socket.IO.
pub trait App: Send + Sync + 'static {
    /// A client asks to join `socket.namespace()` with `auth` (v5's auth
    /// object; `None` in v4, or when the CONNECT carried none). `Ok`
    /// admits it (what the handler emitted follows the CONNECT answer);
    /// `Err(message)` refuses it with CONNECT_ERROR (v4: ERROR) and
    /// discards what it emitted.
    fn on_connect(&self, socket: &mut Socket<'_>, auth: Option<&Value>) -> Result<(), String>;

    /// An event from a client in a namespace it joined.
    fn on_event(&self, socket: &mut Socket<'_>, event: Event);

    /// The client left `socket.namespace()` (a DISCONNECT, or the session
    /// ended); its rooms there are already left. What the handler
    /// broadcasts reaches the rooms' remaining members; what it emits to the
    /// client itself is dropped (the client is gone).
    fn on_disconnect(&self, _socket: &mut Socket<'_>) {}
}

/// An event a client emitted.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// Its name.
    pub name: String,
    /// Its arguments, binary attachments in place.
    pub args: Vec<Data>,
    /// The ack id, when the client waits for an answer ([`Socket::ack`]).
    pub ack: Option<u64>,
}

/// What a handler's answers wait for ([`Socket::hold_until`]): `true` lets
/// them go, `false` drops them.
pub(crate) type Gate = Pin<Box<dyn Future<Output = bool> + Send>>;

/// Room membership of every connection of a transport, by Engine.IO sid.
pub(crate) type SharedRooms = Arc<Mutex<Rooms<String>>>;

/// A broadcast waiting to be delivered once the sender's session is unlocked.
#[derive(Debug)]
pub(crate) struct Broadcast {
    pub namespace: String,
    pub to: Recipients,
    pub encoded: Encoded,
}

/// Who a [`Broadcast`] goes to, in its namespace.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Recipients {
    /// Every member of a room, but `except`.
    Room {
        room: String,
        except: Option<String>,
    },
    /// One client, by Engine.IO sid.
    Sid(String),
}

/// One client in one namespace, as a handler sees it.
pub struct Socket<'a> {
    sid: &'a str,
    namespace: &'a str,
    rooms: &'a SharedRooms,
    pub(crate) outbox: Vec<Encoded>,
    pub(crate) broadcasts: Vec<Broadcast>,
    pub(crate) hold: Option<Gate>,
}

impl<'a> Socket<'a> {
    pub(crate) fn new(sid: &'a str, namespace: &'a str, rooms: &'a SharedRooms) -> Socket<'a> {
        Socket {
            sid,
            namespace,
            rooms,
            outbox: Vec::new(),
            broadcasts: Vec::new(),
            hold: None,
        }
    }

    /// The Engine.IO session id of the client.
    pub fn sid(&self) -> &str {
        self.sid
    }

    /// The namespace.
    pub fn namespace(&self) -> &str {
        self.namespace
    }

    /// Emits an event to this client.
    pub fn emit(&mut self, name: &str, args: Vec<Data>) {
        self.outbox
            .push(Encoded::event(self.namespace, name, args, None));
    }

    /// Answers the client's ack id with `args`.
    pub fn ack(&mut self, id: u64, args: Vec<Data>) {
        self.outbox.push(Encoded::new(&FullPacket {
            packet_type: PacketType::Ack,
            namespace: self.namespace.to_owned(),
            id: Some(id),
            data: Some(Data::Array(args)),
        }));
    }

    /// Puts the client in `room` of this namespace.
    pub fn join(&mut self, room: &str) {
        lock(self.rooms).join(self.sid.to_owned(), self.namespace, room);
    }

    /// Takes the client out of `room` of this namespace.
    pub fn leave(&mut self, room: &str) {
        lock(self.rooms).leave(&self.sid.to_owned(), self.namespace, room);
    }

    /// The rooms of this namespace the client is in.
    pub fn rooms(&self) -> Vec<String> {
        lock(self.rooms)
            .rooms_of(&self.sid.to_owned(), self.namespace)
            .map(str::to_owned)
            .collect()
    }

    /// Emits an event to every member of `room` but this client, encoded once.
    pub fn broadcast(&mut self, room: &str, name: &str, args: Vec<Data>) {
        self.broadcasts.push(Broadcast {
            namespace: self.namespace.to_owned(),
            to: Recipients::Room {
                room: room.to_owned(),
                except: Some(self.sid.to_owned()),
            },
            encoded: Encoded::event(self.namespace, name, args, None),
        });
    }

    /// Emits an event to every member of `room`, this client included when
    /// it is one, encoded once.
    pub fn to_room(&mut self, room: &str, name: &str, args: Vec<Data>) {
        self.broadcasts.push(Broadcast {
            namespace: self.namespace.to_owned(),
            to: Recipients::Room {
                room: room.to_owned(),
                except: None,
            },
            encoded: Encoded::event(self.namespace, name, args, None),
        });
    }

    /// Emits an event to another client of this namespace, by its
    /// Engine.IO sid (a client that left is skipped).
    pub fn emit_to(&mut self, sid: &str, name: &str, args: Vec<Data>) {
        self.broadcasts.push(Broadcast {
            namespace: self.namespace.to_owned(),
            to: Recipients::Sid(sid.to_owned()),
            encoded: Encoded::event(self.namespace, name, args, None),
        });
    }

    /// Holds everything this handler sends (emits, acks, broadcasts, and
    /// what a [`Hub`] was asked for meanwhile) until `ready` resolves: `true`
    /// sends it, `false` drops it (the future says why, e.g. with a
    /// [`Hub::emit_to`], which is not held). Until then the client's later
    /// events are still handled at once, but what their handlers send
    /// queues behind, so this client's answers keep the order of its
    /// events. For an answer that must wait for a storage commit; a second
    /// call in one handler replaces the first. Room joins and leaves are
    /// not held. If the client leaves meanwhile, the held broadcasts still
    /// go out once `ready` is `true`.
    pub fn hold_until(&mut self, ready: impl Future<Output = bool> + Send + 'static) {
        self.hold = Some(Box::pin(ready));
    }

    /// The Engine.IO sids of the members of `room` of this namespace.
    pub fn members(&self, room: &str) -> Vec<String> {
        lock(self.rooms).recipients(self.namespace, room, None)
    }
}

/// Locks a mutex, carrying on after a panic elsewhere (the data is plain
/// membership and session state, valid between any two calls).
pub(crate) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}
