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
//! changes). The admin routes answer once their writes are committed, and
//! so does a socket event that changed stored state (a `message`, the
//! first `authenticate` of a user): its handler holds what it sends with
//! [`Socket::hold_until`] until the commit, the answer to the sender and
//! the notices to the other members alike, so nobody hears of a message a
//! crash could still lose; the socket's later answers wait behind it.

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
    /// A socket event's answers go out before its writes are committed.
    AnswerBeforeCommit,
}

impl CirclesFault {
    /// Every fault switch of the circles listener.
    pub const ALL: [CirclesFault; 10] = [
        CirclesFault::AcceptAnySignature,
        CirclesFault::JoinAnything,
        CirclesFault::MessageToEveryone,
        CirclesFault::WritingEcho,
        CirclesFault::ForwardToEveryone,
        CirclesFault::EventsToEveryone,
        CirclesFault::RemovedKeepsRooms,
        CirclesFault::TurnWrongSecret,
        CirclesFault::ExpiredCredentials,
        CirclesFault::AnswerBeforeCommit,
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
            CirclesFault::AnswerBeforeCommit => "circles:answer-before-commit",
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
        let (outs, everyone, committed, answer_at_once) = {
            let mut core = lock(&self.context.core);
            let outs = core.on_event(&sid, &event.name, payload.as_ref(), now_ms());
            let committed = match core.take_writes() {
                Ok(writes) if writes.is_empty() => None,
                Ok(writes) => Some(Ok(self.context.storage.submit(writes))),
                Err(e) => Some(Err(e)),
            };
            let at_once = core.has(CirclesFault::AnswerBeforeCommit);
            (outs, core.authenticated(), committed, at_once)
        };
        match committed {
            Some(committed) if !answer_at_once => {
                let hub = self.context.hub.clone();
                let (sid, name) = (sid.clone(), event.name.clone());
                socket.hold_until(async move {
                    let Err(e) = async { committed?.wait().await }.await else {
                        return true;
                    };
                    // Nothing of it is told but this.
                    tracing::error!(sid, "circles: a change of {name:?} is not stored: {e}");
                    if let Some(hub) = hub.get() {
                        let reason = format!("`{name}` could not be stored: {e}");
                        hub.emit_to(&sid, NAMESPACE, "error", vec![Data::String(reason)]);
                    }
                    false
                });
            }
            _ => {}
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::services::storage::{Store, Write};
    use crate::services::tokens::Claims;
    use crate::socketio::SharedRooms;
    use std::sync::mpsc;
    use std::time::Duration;

    /// A store whose every commit waits for a word on its channel.
    struct Held(Mutex<mpsc::Receiver<()>>);

    impl Store for Held {
        fn load(&mut self) -> Result<Snapshot, StorageError> {
            Ok(Snapshot::default())
        }
        fn commit(&mut self, _batch: &[Write]) -> Result<(), StorageError> {
            lock(&self.0)
                .recv()
                .map_err(|_| StorageError::WriterStopped)
        }
    }

    /// The app over a held store with users 1 and 2 in a conversation,
    /// user 1 authenticated as socket `a`; the conversation's id and the
    /// sender that lets one commit through.
    async fn held_app(
        faults: Vec<CirclesFault>,
    ) -> (CirclesApp, u64, mpsc::Sender<()>, SharedRooms) {
        let (release, held) = mpsc::channel();
        let store = Box::new(Held(Mutex::new(held)));
        let (storage, snapshot) = Storage::over(store, 64).expect("storage");
        let tokens = Tokens::new(b"test");
        let context =
            CirclesContext::new(CirclesConfig::default(), faults, tokens, storage, &snapshot)
                .expect("context");
        let (conversation, provisioned) = context.act(|core| {
            for user in [1, 2] {
                core.create_user(Some(user), None).expect("user");
            }
            let circle = core.create_circle("c".into(), vec![1, 2]).expect("circle");
            let conversation = core
                .create_conversation(circle.id, "v".into(), vec![1, 2])
                .expect("conversation");
            (conversation.id, Vec::new())
        });
        let app = CirclesApp::new(context);
        let rooms = SharedRooms::default();
        let token = app
            .context
            .read(|core| {
                core.tokens()
                    .mint(&Claims::new(1, now_ms().unsigned_abs() / 1000, 3600))
            })
            .expect("mint");
        // The provisioning's commit, then authenticate (nothing to store: user 1 exists).
        release.send(()).expect("release");
        // Committed alone: the message is not batched with it.
        provisioned
            .expect("writes")
            .wait()
            .await
            .expect("committed");
        let mut socket = Socket::new("a", NAMESPACE, &rooms);
        let args = vec![Data::from(serde_json::json!({ "token": token }))];
        app.on_event(
            &mut socket,
            Event {
                name: "authenticate".into(),
                args,
                ack: None,
            },
        );
        assert!(
            socket.hold.is_none(),
            "authenticate of a known user is held"
        );
        (app, conversation, release, rooms)
    }

    /// Sends a `message` as `a`; its socket's held gate, if any, and how
    /// many packets it sends.
    fn send(
        app: &CirclesApp,
        rooms: &SharedRooms,
        conversation: u64,
    ) -> (Option<crate::socketio::Gate>, usize) {
        let mut socket = Socket::new("a", NAMESPACE, rooms);
        let m = serde_json::json!({ "conversation_id": conversation, "text_message": "hi" });
        let args = vec![Data::from(m)];
        app.on_event(
            &mut socket,
            Event {
                name: "message".into(),
                args,
                ack: None,
            },
        );
        (socket.hold, socket.outbox.len() + socket.broadcasts.len())
    }

    #[tokio::test]
    async fn a_message_is_told_only_once_committed_unless_the_fault_is_on() {
        let (app, conversation, release, rooms) = held_app(vec![]).await;
        let (gate, sent) = send(&app, &rooms, conversation);
        assert!(sent >= 2, "the success and the notice: {sent}");
        let mut gate = gate.expect("the answers of a message are held");
        let early = tokio::time::timeout(Duration::from_millis(50), &mut gate).await;
        assert!(early.is_err(), "the answers went before the commit");
        release.send(()).expect("release");
        assert!(gate.await, "a committed message is told");

        let (app, conversation, _release, rooms) =
            held_app(vec![CirclesFault::AnswerBeforeCommit]).await;
        let (gate, sent) = send(&app, &rooms, conversation);
        assert!(sent >= 2, "the success and the notice: {sent}");
        assert!(
            gate.is_none(),
            "the fault holds nothing: the commit is still held"
        );
    }
}
