//! The Circles app's state and rules, without IO: users, devices, circles, conversations and messages, every listened channel's answer and every admin action's events as a list of [`Out`]s the driver applies.
//!
//! What must survive a restart (users, devices, circles, conversations and
//! their membership, messages, the id counter) is read back from a
//! [`Snapshot`] by [`Core::restore`]; every change marks the record it
//! touched, and [`Core::take_writes`] hands the driver the storage writes of
//! the marked records. Sessions (who is authenticated on which socket) and
//! `writing` notices stay in memory.
//!
//! Rooms (Socket.IO rooms of the `/` namespace): `circle:<id>` and
//! `conversation:<id>` are joined with `join_circle` / `join_conversation`;
//! `user:<id>` and `device:<id>` are joined on `authenticate` and carry
//! what is addressed to one user or device (`circle_invite`, a forwarded
//! WebRTC message).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use super::{CirclesConfig, CirclesFault, IceServer};
use crate::services::storage::{Snapshot, StorageError, Write};
use crate::services::tokens::{TokenError, Tokens};

/// The storage spaces of the records (key: the id; value: the JSON form).
const USERS: &str = "circles.user";
const DEVICES: &str = "circles.device";
const CIRCLES: &str = "circles.circle";
const CONVERSATIONS: &str = "circles.conversation";
const MESSAGES: &str = "circles.message";
/// The id counter (one record, key [`NEXT_ID`]).
const COUNTER: &str = "circles.counter";
const NEXT_ID: &str = "next_id";

/// A record that changed since the last [`Core::take_writes`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Key {
    User(u64),
    Device(u64),
    Circle(u64),
    Conversation(u64),
    Message(u64),
}

/// Who an authenticated socket speaks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Identity {
    /// A user, by id.
    User(u64),
    /// A device, by id.
    Device(u64),
}

impl Identity {
    /// The room of this user's or device's sockets.
    pub fn room(self) -> String {
        match self {
            Identity::User(id) => user_room(id),
            Identity::Device(id) => device_room(id),
        }
    }
}

/// A user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    /// Its id.
    pub id: u64,
    /// Its email, the name circle events carry.
    pub email: String,
}

/// A device: it belongs to one circle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Device {
    /// Its id.
    pub id: u64,
    /// The circle it belongs to.
    pub circle_id: u64,
    /// Its name.
    pub name: String,
}

/// A circle: its members and the users invited to it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Circle {
    /// Its id.
    pub id: u64,
    /// Its name.
    pub name: String,
    /// Member user ids.
    pub members: BTreeSet<u64>,
    /// Invited user ids.
    pub invited: BTreeSet<u64>,
}

/// A conversation of a circle: member users (some of them admins) and devices.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Conversation {
    /// Its id.
    pub id: u64,
    /// The circle it belongs to.
    pub circle_id: u64,
    /// Its name.
    pub name: String,
    /// Member user ids, each with whether it is an admin.
    pub members: BTreeMap<u64, bool>,
    /// Member device ids.
    pub devices: BTreeSet<u64>,
}

/// A message of a conversation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredMessage {
    /// Its id.
    pub id: u64,
    /// The conversation.
    pub conversation_id: u64,
    /// The text, if any.
    pub text: Option<String>,
    /// The media ids it waits for or carries, with their file names.
    pub medias: Vec<(u64, String)>,
    /// When it was sent, Unix milliseconds.
    pub sent_ms: i64,
    /// Who sent it: `(id, is_device)`.
    pub sender: (u64, bool),
}

/// Where an emit goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum To {
    /// One socket, by Engine.IO sid.
    Sid(String),
    /// Every socket in a room.
    Room(String),
    /// Every socket in a room but one.
    RoomBut(String, String),
    /// Every authenticated socket (only the faults send there).
    Everyone,
}

/// What the driver does for the core.
#[derive(Debug, Clone, PartialEq)]
pub enum Out {
    /// Emit `event` with one argument.
    Emit {
        /// Recipients.
        to: To,
        /// The channel.
        event: &'static str,
        /// The argument.
        payload: Value,
    },
    /// Put a socket in a room.
    Join(String, String),
    /// Take a socket out of a room.
    Leave(String, String),
}

fn emit(to: To, event: &'static str, payload: Value) -> Out {
    Out::Emit { to, event, payload }
}

fn to_sid(sid: &str) -> To {
    To::Sid(sid.to_owned())
}

/// The answer to `webrtc_stun_info` or `webrtc_turn_info`: `webrtc_config`
/// with its `servers`.
fn servers_to(sid: &str, servers: &[IceServer]) -> Out {
    emit(to_sid(sid), "webrtc_config", json!(servers))
}

/// The room of a circle's joined sockets.
pub fn circle_room(id: u64) -> String {
    format!("circle:{id}")
}

/// The room of a conversation's joined sockets.
pub fn conversation_room(id: u64) -> String {
    format!("conversation:{id}")
}

fn user_room(id: u64) -> String {
    format!("user:{id}")
}

fn device_room(id: u64) -> String {
    format!("device:{id}")
}

/// The rooms a socket joins and leaves on request.
#[derive(Debug, Clone, Copy)]
enum Joinable {
    Circle,
    Conversation,
}

/// Why an admin action was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AdminError {
    /// Something the action names does not exist.
    #[error("no such {0}")]
    NotFound(&'static str),
    /// The action conflicts with what is there.
    #[error("{0}")]
    Conflict(String),
}

/// The whole state of the app.
#[derive(Debug)]
pub struct Core {
    config: CirclesConfig,
    faults: Vec<CirclesFault>,
    tokens: Tokens,
    users: BTreeMap<u64, User>,
    devices: BTreeMap<u64, Device>,
    circles: BTreeMap<u64, Circle>,
    conversations: BTreeMap<u64, Conversation>,
    messages: BTreeMap<u64, StoredMessage>,
    next_id: u64,
    sessions: HashMap<String, Identity>,
    /// The records changed since the last [`Core::take_writes`].
    dirty: BTreeSet<Key>,
    /// The `next_id` storage holds (or will, once the queued writes commit).
    stored_next_id: u64,
}

/// The argument of a request, as an object (`None`: not an object).
fn object(payload: Option<&Value>) -> Option<&Map<String, Value>> {
    payload.and_then(Value::as_object)
}

/// An id field of a request, or the error sentence to answer.
fn id_field(payload: Option<&Value>, field: &str) -> Result<u64, String> {
    let Some(obj) = object(payload) else {
        return Err(format!("the request must be a JSON object with `{field}`"));
    };
    match obj.get(field) {
        None => Err(format!("missing parameter `{field}`")),
        Some(v) => v
            .as_u64()
            .ok_or_else(|| format!("`{field}` must be a non-negative integer id")),
    }
}

impl Core {
    /// An empty state.
    pub fn new(config: CirclesConfig, faults: Vec<CirclesFault>, tokens: Tokens) -> Core {
        Core {
            config,
            faults,
            tokens,
            users: BTreeMap::new(),
            devices: BTreeMap::new(),
            circles: BTreeMap::new(),
            conversations: BTreeMap::new(),
            messages: BTreeMap::new(),
            next_id: 1,
            sessions: HashMap::new(),
            dirty: BTreeSet::new(),
            stored_next_id: 1,
        }
    }

    /// The state `snapshot` holds (what storage read back), nobody authenticated.
    pub fn restore(
        config: CirclesConfig,
        faults: Vec<CirclesFault>,
        tokens: Tokens,
        snapshot: &Snapshot,
    ) -> Result<Core, StorageError> {
        let mut core = Core::new(config, faults, tokens);
        let mut highest = 0;
        for r in snapshot.records(USERS) {
            let user: User = r.decode()?;
            highest = highest.max(user.id);
            core.users.insert(user.id, user);
        }
        for r in snapshot.records(DEVICES) {
            let device: Device = r.decode()?;
            highest = highest.max(device.id);
            core.devices.insert(device.id, device);
        }
        for r in snapshot.records(CIRCLES) {
            let circle: Circle = r.decode()?;
            highest = highest.max(circle.id);
            core.circles.insert(circle.id, circle);
        }
        for r in snapshot.records(CONVERSATIONS) {
            let conversation: Conversation = r.decode()?;
            highest = highest.max(conversation.id);
            core.conversations.insert(conversation.id, conversation);
        }
        for r in snapshot.records(MESSAGES) {
            let message: StoredMessage = r.decode()?;
            let medias = message.medias.iter().map(|(id, _)| *id);
            highest = medias.fold(highest.max(message.id), u64::max);
            core.messages.insert(message.id, message);
        }
        let mut stored = 1;
        for r in snapshot.records(COUNTER).filter(|r| r.key == NEXT_ID) {
            stored = r.decode()?;
        }
        // The counter is written with the records it numbered; the ids
        // themselves are the floor, should it lag behind them.
        core.next_id = stored.max(highest.saturating_add(1));
        core.stored_next_id = stored;
        Ok(core)
    }

    /// The storage writes of every record changed since the last call (a
    /// record gone is deleted), and of the id counter when it moved.
    pub fn take_writes(&mut self) -> Result<Vec<Write>, StorageError> {
        let mut writes = Vec::new();
        for key in std::mem::take(&mut self.dirty) {
            writes.push(match key {
                Key::User(id) => put(USERS, id, self.users.get(&id))?,
                Key::Device(id) => put(DEVICES, id, self.devices.get(&id))?,
                Key::Circle(id) => put(CIRCLES, id, self.circles.get(&id))?,
                Key::Conversation(id) => put(CONVERSATIONS, id, self.conversations.get(&id))?,
                Key::Message(id) => put(MESSAGES, id, self.messages.get(&id))?,
            });
        }
        if self.next_id != self.stored_next_id {
            writes.push(Write::put(COUNTER, NEXT_ID, &self.next_id)?);
            self.stored_next_id = self.next_id;
        }
        Ok(writes)
    }

    /// The tokens the app verifies (and the admin API mints).
    pub fn tokens(&self) -> &Tokens {
        &self.tokens
    }

    pub(crate) fn has(&self, fault: CirclesFault) -> bool {
        self.faults.contains(&fault)
    }

    fn fresh_id(&mut self) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        id
    }

    /// Who the socket `sid` is authenticated as.
    pub fn identity(&self, sid: &str) -> Option<Identity> {
        self.sessions.get(sid).copied()
    }

    /// The sids of the sockets authenticated as `who`.
    fn sids_of(&self, who: Identity) -> Vec<String> {
        let mut sids: Vec<String> = self
            .sessions
            .iter()
            .filter(|(_, i)| **i == who)
            .map(|(s, _)| s.clone())
            .collect();
        sids.sort();
        sids
    }

    fn email(&self, user: u64) -> String {
        self.users
            .get(&user)
            .map_or_else(|| default_email(user), |u| u.email.clone())
    }

    /// The recipients of an event of a room, as the faults make them.
    fn room_or_everyone(&self, room: String) -> To {
        if self.has(CirclesFault::EventsToEveryone) {
            To::Everyone
        } else {
            To::Room(room)
        }
    }

    /// `circle` with `payload` to circle `id`'s room, as the faults make it.
    fn circle_event(&self, id: u64, payload: Value) -> Out {
        emit(self.room_or_everyone(circle_room(id)), "circle", payload)
    }

    // ---- the listened channels -------------------------------------------

    /// A listened channel `name` from socket `sid` with its first argument.
    pub fn on_event(
        &mut self,
        sid: &str,
        name: &str,
        payload: Option<&Value>,
        now_ms: i64,
    ) -> Vec<Out> {
        let result = match (name, self.identity(sid)) {
            ("authenticate", None) => return self.authenticate(sid, payload, now_ms),
            ("authenticate", Some(_)) => Err("already authenticated".to_owned()),
            (_, None) => Err(format!(
                "not authenticated: send `authenticate` with a token before `{name}`"
            )),
            (_, Some(who)) => match name {
                "join_circle" => self.join_room(sid, who, payload, Joinable::Circle, true),
                "leave_circle" => self.join_room(sid, who, payload, Joinable::Circle, false),
                "join_conversation" => {
                    self.join_room(sid, who, payload, Joinable::Conversation, true)
                }
                "leave_conversation" => {
                    self.join_room(sid, who, payload, Joinable::Conversation, false)
                }
                "message" => self.message(sid, who, payload, now_ms),
                "writing" => self.writing(sid, who, payload),
                "webrtc_credentials" => Ok(self.webrtc_credentials(sid, who, now_ms)),
                "webrtc_stun_info" => Ok(vec![servers_to(sid, &self.config.stun)]),
                "webrtc_turn_info" => Ok(vec![servers_to(sid, &self.config.turn)]),
                "webrtc_forward" => self.webrtc_forward(sid, who, payload),
                other => Err(format!("unknown channel `{other}`")),
            },
        };
        result.unwrap_or_else(|reason| vec![emit(to_sid(sid), "error", json!(reason))])
    }

    fn authenticate(&mut self, sid: &str, payload: Option<&Value>, now_ms: i64) -> Vec<Out> {
        let refuse = |reason: String| vec![emit(to_sid(sid), "error", json!(reason))];
        let token = match object(payload).map(|o| o.get("token")) {
            None => return refuse("the request must be a JSON object with `token`".into()),
            Some(None) => return refuse("missing parameter `token`".into()),
            Some(Some(Value::String(t))) => t.clone(),
            Some(Some(_)) => return refuse("`token` must be a string".into()),
        };
        let now_secs = u64::try_from(now_ms / 1000).unwrap_or(0);
        let claims = match self.tokens.verify(&token, now_secs) {
            Ok(c) => c,
            Err(TokenError::BadSignature) if self.has(CirclesFault::AcceptAnySignature) => {
                match jsonwebtoken::dangerous::insecure_decode::<crate::services::tokens::Claims>(
                    &token,
                ) {
                    Ok(data) => data.claims,
                    Err(e) => return refuse(format!("invalid token: {e}")),
                }
            }
            Err(e) => return refuse(format!("invalid token: {e}")),
        };
        let Some(user) = claims.user_id() else {
            return refuse("invalid token: `sub` is not a user id".into());
        };
        let who = match &claims.device {
            None => {
                if let std::collections::btree_map::Entry::Vacant(entry) = self.users.entry(user) {
                    entry.insert(User {
                        id: user,
                        email: default_email(user),
                    });
                    self.dirty.insert(Key::User(user));
                }
                Identity::User(user)
            }
            Some(device) => match device
                .parse::<u64>()
                .ok()
                .filter(|d| self.devices.contains_key(d))
            {
                Some(d) => Identity::Device(d),
                None => return refuse(format!("invalid token: no device {device:?}")),
            },
        };
        self.sessions.insert(sid.to_owned(), who);
        let mut out = vec![
            Out::Join(sid.to_owned(), who.room()),
            emit(to_sid(sid), "success", json!("authenticated")),
        ];
        out.extend(self.presence(who, true));
        out
    }

    /// The circle events saying `who` connected or disconnected, when it
    /// is its first socket to connect or its last to leave.
    fn presence(&self, who: Identity, connected: bool) -> Vec<Out> {
        let word = if connected { "connect" } else { "disconnect" };
        match who {
            Identity::User(user) => {
                let email = self.email(user);
                self.circles
                    .values()
                    .filter(|c| c.members.contains(&user))
                    .map(|c| {
                        self.circle_event(
                            c.id,
                            json!({"event": word, "user": email, "circle_id": c.id}),
                        )
                    })
                    .collect()
            }
            Identity::Device(device) => self
                .devices
                .get(&device)
                .map(|d| {
                    self.circle_event(
                        d.circle_id,
                        json!({"event": "device", "type": word, "device_id": d.id, "circle_id": d.circle_id}),
                    )
                })
                .into_iter()
                .collect(),
        }
    }

    /// The socket `sid` left: its identity is forgotten; the others hear of it.
    pub fn on_disconnect(&mut self, sid: &str) -> Vec<Out> {
        match self.sessions.remove(sid) {
            Some(who) if self.sids_of(who).is_empty() => self.presence(who, false),
            _ => Vec::new(),
        }
    }

    fn member_of_circle(&self, who: Identity, circle: u64) -> bool {
        match who {
            Identity::User(u) => self
                .circles
                .get(&circle)
                .is_some_and(|c| c.members.contains(&u)),
            Identity::Device(d) => self.devices.get(&d).is_some_and(|d| d.circle_id == circle),
        }
    }

    fn member_of_conversation(&self, who: Identity, conversation: u64) -> bool {
        self.conversations
            .get(&conversation)
            .is_some_and(|c| match who {
                Identity::User(u) => c.members.contains_key(&u),
                Identity::Device(d) => c.devices.contains(&d),
            })
    }

    /// `join_<kind>` (`join`) or `leave_<kind>` of the room named in
    /// `payload`: only a member's socket may (but for a fault).
    fn join_room(
        &mut self,
        sid: &str,
        who: Identity,
        payload: Option<&Value>,
        kind: Joinable,
        join: bool,
    ) -> Result<Vec<Out>, String> {
        let (name, id) = match kind {
            Joinable::Circle => ("circle", id_field(payload, "circle_id")?),
            Joinable::Conversation => ("conversation", id_field(payload, "conversation_id")?),
        };
        let (exists, member, room) = match kind {
            Joinable::Circle => (
                self.circles.contains_key(&id),
                self.member_of_circle(who, id),
                circle_room(id),
            ),
            Joinable::Conversation => (
                self.conversations.contains_key(&id),
                self.member_of_conversation(who, id),
                conversation_room(id),
            ),
        };
        if !exists {
            return Err(format!("no {name} {id}"));
        }
        if !member && !self.has(CirclesFault::JoinAnything) {
            return Err(format!("you are not a member of {name} {id}"));
        }
        let (action, word) = if join {
            (Out::Join(sid.to_owned(), room), "joined")
        } else {
            (Out::Leave(sid.to_owned(), room), "left")
        };
        Ok(vec![
            action,
            emit(to_sid(sid), "success", json!(format!("{word} {name} {id}"))),
        ])
    }

    fn sender_json(&self, who: Identity) -> Value {
        match who {
            Identity::User(u) => json!({"id": u, "email": self.email(u), "is_device": false}),
            Identity::Device(d) => {
                let name = self
                    .devices
                    .get(&d)
                    .map(|d| d.name.clone())
                    .unwrap_or_default();
                json!({"id": d, "name": name, "is_device": true})
            }
        }
    }

    fn message_json(m: &StoredMessage) -> Value {
        json!({
            "id": m.id,
            "conversation_id": m.conversation_id,
            "text": m.text,
            "sent": protocols::timestamp::Timestamp::from_unix_millis(m.sent_ms).as_str(),
        })
    }

    fn media_list(m: &StoredMessage) -> Value {
        Value::Array(
            m.medias
                .iter()
                .map(|(id, name)| json!({"id": id, "name": name, "uploaded": false}))
                .collect(),
        )
    }

    fn message(
        &mut self,
        sid: &str,
        who: Identity,
        payload: Option<&Value>,
        now_ms: i64,
    ) -> Result<Vec<Out>, String> {
        let conversation_id = id_field(payload, "conversation_id")?;
        let obj = object(payload).cloned().unwrap_or_default();
        let text = match obj.get("text_message") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(_) => return Err("`text_message` must be a string".into()),
        };
        let files = match obj.get("files") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(items)) => items
                .iter()
                .map(|f| f.as_str().filter(|s| !s.is_empty()).map(str::to_owned))
                .collect::<Option<Vec<_>>>()
                .ok_or("`files` must be a list of file names")?,
            Some(_) => return Err("`files` must be a list of file names".into()),
        };
        if !self.conversations.contains_key(&conversation_id) {
            return Err(format!("no conversation {conversation_id}"));
        }
        if !self.member_of_conversation(who, conversation_id) {
            return Err(format!(
                "you are not a member of conversation {conversation_id}"
            ));
        }
        if text.as_deref().is_none_or(str::is_empty) && files.is_empty() {
            return Err("an empty message: give `text_message` or `files`".into());
        }
        let id = self.fresh_id();
        let medias = files
            .into_iter()
            .map(|f| (self.fresh_id(), f))
            .collect::<Vec<_>>();
        let stored = StoredMessage {
            id,
            conversation_id,
            text,
            medias,
            sent_ms: now_ms,
            sender: match who {
                Identity::User(u) => (u, false),
                Identity::Device(d) => (d, true),
            },
        };
        let room = if self.has(CirclesFault::MessageToEveryone) {
            To::Everyone
        } else {
            To::Room(conversation_room(conversation_id))
        };
        let mut out = vec![emit(
            to_sid(sid),
            "success",
            json!({"message_id": id, "conversation_id": conversation_id}),
        )];
        if stored.medias.is_empty() {
            out.push(emit(
                room,
                "message",
                json!({
                    "conversation_id": conversation_id,
                    "message": Core::message_json(&stored),
                    "time": protocols::timestamp::Timestamp::from_unix_millis(now_ms).as_str(),
                    "sender": self.sender_json(who),
                    "media_list": [],
                    "status": "done",
                }),
            ));
        } else {
            out.push(emit(
                room,
                "message",
                json!({
                    "conversation_id": conversation_id,
                    "message": Core::message_json(&stored),
                    "status": "pending",
                }),
            ));
            out.push(emit(
                to_sid(sid),
                "media",
                json!({"media_list": Core::media_list(&stored), "message_id": id}),
            ));
        }
        self.messages.insert(id, stored);
        self.dirty.insert(Key::Message(id));
        Ok(out)
    }

    fn writing(
        &mut self,
        sid: &str,
        who: Identity,
        payload: Option<&Value>,
    ) -> Result<Vec<Out>, String> {
        let conversation_id = id_field(payload, "conversation_id")?;
        let is_writing = match object(payload).and_then(|o| o.get("is_writing")) {
            None => return Err("missing parameter `is_writing`".into()),
            Some(Value::Bool(b)) => *b,
            Some(_) => return Err("`is_writing` must be a boolean".into()),
        };
        if !self.member_of_conversation(who, conversation_id) {
            return Err(format!(
                "you are not a member of conversation {conversation_id}"
            ));
        }
        let notice = match who {
            Identity::User(u) => json!({
                "conversation_id": conversation_id, "device": false,
                "user": self.email(u), "is_writing": is_writing,
            }),
            Identity::Device(_) => json!({
                "conversation_id": conversation_id, "device": true, "is_writing": is_writing,
            }),
        };
        let room = conversation_room(conversation_id);
        let to = if self.has(CirclesFault::WritingEcho) {
            To::Room(room)
        } else {
            To::RoomBut(room, sid.to_owned())
        };
        Ok(vec![
            emit(to_sid(sid), "success", json!("writing sent")),
            emit(to, "writing", notice),
        ])
    }

    fn webrtc_credentials(&self, sid: &str, who: Identity, now_ms: i64) -> Vec<Out> {
        let name = match who {
            Identity::User(u) => u.to_string(),
            Identity::Device(d) => format!("device-{d}"),
        };
        let now_secs = u64::try_from(now_ms / 1000).unwrap_or(0);
        let expiry = if self.has(CirclesFault::ExpiredCredentials) {
            now_secs.saturating_sub(60)
        } else {
            now_secs.saturating_add(self.config.credentials_ttl_secs)
        };
        let secret = if self.has(CirclesFault::TurnWrongSecret) {
            "not-the-turn-secret"
        } else {
            self.config.turn_secret.as_str()
        };
        let (username, password) = super::turn::credentials(secret, expiry, &name);
        vec![emit(
            to_sid(sid),
            "webrtc_config",
            json!({"username": username, "password": password}),
        )]
    }

    fn webrtc_forward(
        &mut self,
        sid: &str,
        who: Identity,
        payload: Option<&Value>,
    ) -> Result<Vec<Out>, String> {
        let Some(obj) = object(payload) else {
            return Err(
                "the request must be a JSON object naming `email`, `user_id` or `device_id`".into(),
            );
        };
        let mut content = obj.clone();
        let target = if let Some(email) = content.remove("email") {
            let email = email.as_str().ok_or("`email` must be a string")?;
            let user = self
                .users
                .values()
                .find(|u| u.email == email)
                .ok_or_else(|| format!("no user {email:?}"))?;
            Identity::User(user.id)
        } else if let Some(user) = content.remove("user_id") {
            let user = user
                .as_u64()
                .ok_or("`user_id` must be a non-negative integer id")?;
            if !self.users.contains_key(&user) {
                return Err(format!("no user {user}"));
            }
            Identity::User(user)
        } else if let Some(device) = content.remove("device_id") {
            let device = device
                .as_u64()
                .ok_or("`device_id` must be a non-negative integer id")?;
            if !self.devices.contains_key(&device) {
                return Err(format!("no device {device}"));
            }
            Identity::Device(device)
        } else {
            return Err("missing parameter: one of `email`, `user_id`, `device_id`".into());
        };
        content.remove("user_id");
        content.remove("device_id");
        let (sender_id, is_device) = match who {
            Identity::User(u) => (u, false),
            Identity::Device(d) => (d, true),
        };
        let to = if self.has(CirclesFault::ForwardToEveryone) {
            To::Everyone
        } else {
            To::Room(target.room())
        };
        Ok(vec![
            emit(to_sid(sid), "success", json!("forwarded")),
            emit(
                to,
                "webrtc_config",
                json!({"sender_id": sender_id, "is_device": is_device, "content": content}),
            ),
        ])
    }

    // ---- the admin API -----------------------------------------------------

    /// Every user.
    pub fn users(&self) -> Vec<User> {
        self.users.values().cloned().collect()
    }

    /// Creates a user (a fresh id when `id` is `None`).
    pub fn create_user(
        &mut self,
        id: Option<u64>,
        email: Option<String>,
    ) -> Result<User, AdminError> {
        let id = match id {
            Some(id) if self.users.contains_key(&id) => {
                return Err(AdminError::Conflict(format!("user {id} exists")))
            }
            Some(id) => {
                self.next_id = self.next_id.max(id.saturating_add(1));
                id
            }
            None => self.fresh_id(),
        };
        let email = email.unwrap_or_else(|| default_email(id));
        if self.users.values().any(|u| u.email == email) {
            return Err(AdminError::Conflict(format!(
                "the email {email:?} is taken"
            )));
        }
        let user = User { id, email };
        self.users.insert(id, user.clone());
        self.dirty.insert(Key::User(id));
        Ok(user)
    }

    /// A circle.
    pub fn circle(&self, id: u64) -> Option<Circle> {
        self.circles.get(&id).cloned()
    }

    /// Creates a circle with `members` (no events: nobody can be in its room yet).
    pub fn create_circle(&mut self, name: String, members: Vec<u64>) -> Result<Circle, AdminError> {
        for m in &members {
            self.user(*m)?;
        }
        let id = self.fresh_id();
        let circle = Circle {
            id,
            name,
            members: members.into_iter().collect(),
            invited: BTreeSet::new(),
        };
        self.circles.insert(id, circle.clone());
        self.dirty.insert(Key::Circle(id));
        Ok(circle)
    }

    fn user(&self, id: u64) -> Result<&User, AdminError> {
        self.users.get(&id).ok_or(AdminError::NotFound("user"))
    }

    fn circle_mut(&mut self, id: u64) -> Result<&mut Circle, AdminError> {
        self.circles
            .get_mut(&id)
            .ok_or(AdminError::NotFound("circle"))
    }

    /// Invites `user` to circle `id`: `circle_invite` to the user's sockets.
    pub fn invite_to_circle(&mut self, id: u64, user: u64) -> Result<Vec<Out>, AdminError> {
        self.user(user)?;
        let circle = self.circle_mut(id)?;
        if circle.members.contains(&user) {
            return Err(AdminError::Conflict(format!(
                "user {user} is a member of circle {id}"
            )));
        }
        circle.invited.insert(user);
        self.dirty.insert(Key::Circle(id));
        let to = if self.has(CirclesFault::EventsToEveryone) {
            To::Everyone
        } else {
            To::Room(user_room(user))
        };
        Ok(vec![emit(
            to,
            "circle_invite",
            json!({"event": "invite", "circle_id": id}),
        )])
    }

    /// `user` joins circle `id`: `circle {event: join}` to the circle's room.
    pub fn join_circle_admin(&mut self, id: u64, user: u64) -> Result<Vec<Out>, AdminError> {
        let email = self.user(user)?.email.clone();
        let circle = self.circle_mut(id)?;
        if !circle.members.insert(user) {
            return Err(AdminError::Conflict(format!(
                "user {user} is a member of circle {id}"
            )));
        }
        circle.invited.remove(&user);
        self.dirty.insert(Key::Circle(id));
        Ok(vec![self.circle_event(
            id,
            json!({"event": "join", "user": email, "circle_id": id}),
        )])
    }

    /// `user` leaves circle `id` (`by`: kicked by that user): the event to
    /// the circle's room, the user's sockets included, then its sockets
    /// leave the circle's room and its conversations'.
    pub fn remove_from_circle(
        &mut self,
        id: u64,
        user: u64,
        by: Option<u64>,
    ) -> Result<Vec<Out>, AdminError> {
        let email = self.user(user)?.email.clone();
        let from = match by {
            Some(b) => Some(self.user(b)?.email.clone()),
            None => None,
        };
        let circle = self.circle_mut(id)?;
        if !circle.members.remove(&user) {
            return Err(AdminError::NotFound("member"));
        }
        self.dirty.insert(Key::Circle(id));
        let payload = match from {
            Some(from) => json!({"event": "kick", "user": email, "from": from, "circle_id": id}),
            None => json!({"event": "quit", "user": email, "circle_id": id}),
        };
        let mut out = vec![self.circle_event(id, payload)];
        let conversations: Vec<u64> = self
            .conversations
            .values_mut()
            .filter(|c| c.circle_id == id)
            .filter_map(|c| c.members.remove(&user).map(|_| c.id))
            .collect();
        self.dirty
            .extend(conversations.iter().map(|c| Key::Conversation(*c)));
        if !self.has(CirclesFault::RemovedKeepsRooms) {
            for sid in self.sids_of(Identity::User(user)) {
                out.push(Out::Leave(sid.clone(), circle_room(id)));
                for c in &conversations {
                    out.push(Out::Leave(sid.clone(), conversation_room(*c)));
                }
            }
        }
        Ok(out)
    }

    /// Circle `id`'s info changed: `circle {event: update}`.
    pub fn update_circle(&mut self, id: u64, name: Option<String>) -> Result<Vec<Out>, AdminError> {
        let circle = self.circle_mut(id)?;
        if let Some(name) = name {
            circle.name = name;
        }
        self.dirty.insert(Key::Circle(id));
        Ok(vec![self.circle_event(
            id,
            json!({"event": "update", "circle_id": id}),
        )])
    }

    /// Creates a device of circle `circle_id`.
    pub fn create_device(
        &mut self,
        circle_id: u64,
        name: Option<String>,
    ) -> Result<Device, AdminError> {
        self.circle_mut(circle_id)?;
        let id = self.fresh_id();
        let device = Device {
            id,
            circle_id,
            name: name.unwrap_or_else(|| format!("device{id}")),
        };
        self.devices.insert(id, device.clone());
        self.dirty.insert(Key::Device(id));
        Ok(device)
    }

    /// Device `id`'s info changed: `circle {event: device, type: update}`.
    pub fn update_device(&mut self, id: u64, name: Option<String>) -> Result<Vec<Out>, AdminError> {
        let device = self
            .devices
            .get_mut(&id)
            .ok_or(AdminError::NotFound("device"))?;
        if let Some(name) = name {
            device.name = name;
        }
        let circle = device.circle_id;
        self.dirty.insert(Key::Device(id));
        Ok(vec![self.circle_event(
            circle,
            json!({"event": "device", "type": "update", "device_id": id, "circle_id": circle}),
        )])
    }

    /// A conversation.
    pub fn conversation(&self, id: u64) -> Option<Conversation> {
        self.conversations.get(&id).cloned()
    }

    /// Creates a conversation of circle `circle_id` with `members` (circle members).
    pub fn create_conversation(
        &mut self,
        circle_id: u64,
        name: String,
        members: Vec<u64>,
    ) -> Result<Conversation, AdminError> {
        let circle = self
            .circles
            .get(&circle_id)
            .ok_or(AdminError::NotFound("circle"))?;
        if let Some(m) = members.iter().find(|m| !circle.members.contains(m)) {
            return Err(AdminError::Conflict(format!(
                "user {m} is not a member of circle {circle_id}"
            )));
        }
        let id = self.fresh_id();
        let conversation = Conversation {
            id,
            circle_id,
            name,
            members: members.into_iter().map(|m| (m, false)).collect(),
            devices: BTreeSet::new(),
        };
        self.conversations.insert(id, conversation.clone());
        self.dirty.insert(Key::Conversation(id));
        Ok(conversation)
    }

    fn conversation_mut(&mut self, id: u64) -> Result<&mut Conversation, AdminError> {
        self.conversations
            .get_mut(&id)
            .ok_or(AdminError::NotFound("conversation"))
    }

    fn conversation_event(&self, id: u64, mut payload: Map<String, Value>) -> Out {
        payload.insert("conversation_id".into(), json!(id));
        emit(
            self.room_or_everyone(conversation_room(id)),
            "conversation",
            Value::Object(payload),
        )
    }

    fn fields(pairs: &[(&str, Value)]) -> Map<String, Value> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect()
    }

    /// Conversation `id`'s info changed: `conversation {event: update}`.
    pub fn update_conversation(
        &mut self,
        id: u64,
        name: Option<String>,
    ) -> Result<Vec<Out>, AdminError> {
        let c = self.conversation_mut(id)?;
        if let Some(name) = name {
            c.name = name;
        }
        self.dirty.insert(Key::Conversation(id));
        Ok(vec![self.conversation_event(
            id,
            Core::fields(&[("event", json!("update"))]),
        )])
    }

    /// `user` (a member of the circle) is invited into conversation `id`
    /// and becomes a member: `conversation {event: invite, user}`.
    pub fn invite_to_conversation(&mut self, id: u64, user: u64) -> Result<Vec<Out>, AdminError> {
        let email = self.user(user)?.email.clone();
        let circle_id = self.conversation_mut(id)?.circle_id;
        if !self
            .circles
            .get(&circle_id)
            .is_some_and(|c| c.members.contains(&user))
        {
            return Err(AdminError::Conflict(format!(
                "user {user} is not a member of circle {circle_id}"
            )));
        }
        let c = self.conversation_mut(id)?;
        if c.members.contains_key(&user) {
            return Err(AdminError::Conflict(format!(
                "user {user} is a member of conversation {id}"
            )));
        }
        c.members.insert(user, false);
        self.dirty.insert(Key::Conversation(id));
        Ok(vec![self.conversation_event(
            id,
            Core::fields(&[("event", json!("invite")), ("user", json!(email))]),
        )])
    }

    /// `user` becomes an admin of conversation `id`: `conversation {event: promoted, user}`.
    pub fn promote(&mut self, id: u64, user: u64) -> Result<Vec<Out>, AdminError> {
        let email = self.user(user)?.email.clone();
        let c = self.conversation_mut(id)?;
        let admin = c
            .members
            .get_mut(&user)
            .ok_or(AdminError::NotFound("member"))?;
        *admin = true;
        self.dirty.insert(Key::Conversation(id));
        Ok(vec![self.conversation_event(
            id,
            Core::fields(&[("event", json!("promoted")), ("user", json!(email))]),
        )])
    }

    /// `user` leaves conversation `id` (`by`: kicked by that user): the
    /// event to the conversation's room, the user's sockets included, then
    /// they leave the room.
    pub fn remove_from_conversation(
        &mut self,
        id: u64,
        user: u64,
        by: Option<u64>,
    ) -> Result<Vec<Out>, AdminError> {
        let email = self.user(user)?.email.clone();
        let from = match by {
            Some(b) => Some(self.user(b)?.email.clone()),
            None => None,
        };
        let c = self.conversation_mut(id)?;
        if c.members.remove(&user).is_none() {
            return Err(AdminError::NotFound("member"));
        }
        self.dirty.insert(Key::Conversation(id));
        let fields = match from {
            Some(from) => Core::fields(&[
                ("event", json!("kick")),
                ("user", json!(email)),
                ("from", json!(from)),
            ]),
            None => Core::fields(&[("event", json!("quit")), ("user", json!(email))]),
        };
        let mut out = vec![self.conversation_event(id, fields)];
        if !self.has(CirclesFault::RemovedKeepsRooms) {
            for sid in self.sids_of(Identity::User(user)) {
                out.push(Out::Leave(sid, conversation_room(id)));
            }
        }
        Ok(out)
    }

    /// Device `device` (of the conversation's circle) is added to or removed
    /// from conversation `id`: `conversation {event: device, type, device_id}`.
    pub fn conversation_device(
        &mut self,
        id: u64,
        device: u64,
        add: bool,
    ) -> Result<Vec<Out>, AdminError> {
        let device_circle = self
            .devices
            .get(&device)
            .ok_or(AdminError::NotFound("device"))?
            .circle_id;
        let c = self.conversation_mut(id)?;
        if c.circle_id != device_circle {
            return Err(AdminError::Conflict(format!(
                "device {device} is not of the conversation's circle"
            )));
        }
        let changed = if add {
            c.devices.insert(device)
        } else {
            c.devices.remove(&device)
        };
        if !changed {
            return Err(AdminError::Conflict(format!(
                "device {device} is {} conversation {id}",
                if add { "already in" } else { "not in" }
            )));
        }
        self.dirty.insert(Key::Conversation(id));
        let mut out = vec![self.conversation_event(
            id,
            Core::fields(&[
                ("event", json!("device")),
                ("type", json!(if add { "add" } else { "remove" })),
                ("device_id", json!(device)),
            ]),
        )];
        if !add && !self.has(CirclesFault::RemovedKeepsRooms) {
            for sid in self.sids_of(Identity::Device(device)) {
                out.push(Out::Leave(sid, conversation_room(id)));
            }
        }
        Ok(out)
    }

    /// A message.
    pub fn message_of(&self, id: u64) -> Option<StoredMessage> {
        self.messages.get(&id).cloned()
    }

    /// Message `id` is deleted (`update`: its text changed instead):
    /// `message {conversation_id, message_id, event}` to the conversation's room.
    pub fn change_message(
        &mut self,
        id: u64,
        update: Option<Option<String>>,
    ) -> Result<Vec<Out>, AdminError> {
        let event = if update.is_some() { "update" } else { "delete" };
        let conversation_id = match update {
            None => {
                self.messages
                    .remove(&id)
                    .ok_or(AdminError::NotFound("message"))?
                    .conversation_id
            }
            Some(text) => {
                let m = self
                    .messages
                    .get_mut(&id)
                    .ok_or(AdminError::NotFound("message"))?;
                if text.is_some() {
                    m.text = text;
                }
                m.conversation_id
            }
        };
        self.dirty.insert(Key::Message(id));
        Ok(vec![emit(
            self.room_or_everyone(conversation_room(conversation_id)),
            "message",
            json!({"conversation_id": conversation_id, "message_id": id, "event": event}),
        )])
    }

    /// The sids every authenticated socket (for [`To::Everyone`]).
    pub fn authenticated(&self) -> Vec<String> {
        let mut sids: Vec<String> = self.sessions.keys().cloned().collect();
        sids.sort();
        sids
    }
}

/// The write that stores `value` under `space`/`id`, or deletes it when gone.
fn put<T: Serialize>(space: &str, id: u64, value: Option<&T>) -> Result<Write, StorageError> {
    match value {
        Some(v) => Write::put(space, id, v),
        None => Ok(Write::delete(space, id)),
    }
}

/// The email of a user the server first met in a token.
fn default_email(user: u64) -> String {
    format!("user{user}@circles.chatspec.test")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::services::tokens::Claims;

    const NOW_MS: i64 = 1_700_000_000_000;

    fn core(faults: Vec<CirclesFault>) -> Core {
        Core::new(CirclesConfig::default(), faults, Tokens::new(b"test"))
    }

    fn token(core: &Core, user: u64, device: Option<u64>) -> String {
        let mut claims = Claims::new(user, 1_700_000_000, 3600);
        claims.device = device.map(|d| d.to_string());
        core.tokens().mint(&claims).expect("mint")
    }

    fn emits(outs: &[Out]) -> Vec<(&To, &str)> {
        outs.iter()
            .filter_map(|o| match o {
                Out::Emit { to, event, .. } => Some((to, *event)),
                _ => None,
            })
            .collect()
    }

    fn login(core: &mut Core, sid: &str, user: u64) {
        let t = token(core, user, None);
        let outs = core.on_event(sid, "authenticate", Some(&json!({"token": t})), NOW_MS);
        assert!(
            emits(&outs).contains(&(&To::Sid(sid.into()), "success")),
            "{outs:?}"
        );
    }

    #[test]
    fn every_channel_is_refused_before_authenticate() {
        let mut c = core(vec![]);
        for name in ["join_circle", "message", "writing", "webrtc_credentials"] {
            let outs = c.on_event("s1", name, Some(&json!({"circle_id": 1})), NOW_MS);
            assert_eq!(
                emits(&outs),
                vec![(&To::Sid("s1".into()), "error")],
                "{name}"
            );
        }
    }

    #[test]
    fn a_bad_signature_is_refused_unless_the_fault_is_on() {
        let other = Tokens::new(b"other");
        let bad = other
            .mint(&Claims::new(1, 1_700_000_000, 3600))
            .expect("mint");
        for (faults, answer) in [
            (vec![], "error"),
            (vec![CirclesFault::AcceptAnySignature], "success"),
        ] {
            let mut c = core(faults);
            let outs = c.on_event("s", "authenticate", Some(&json!({"token": bad})), NOW_MS);
            assert!(
                emits(&outs).contains(&(&To::Sid("s".into()), answer)),
                "{outs:?}"
            );
        }
    }

    #[test]
    fn only_members_join_and_writing_skips_the_sender() {
        let mut c = core(vec![]);
        for u in [1, 2, 3] {
            c.create_user(Some(u), None).expect("user");
        }
        let circle = c.create_circle("c".into(), vec![1, 2]).expect("circle");
        let conv = c
            .create_conversation(circle.id, "v".into(), vec![1, 2])
            .expect("conversation");
        login(&mut c, "a", 1);
        login(&mut c, "o", 3);
        let join = json!({"conversation_id": conv.id});
        let outs = c.on_event("o", "join_conversation", Some(&join), NOW_MS);
        assert_eq!(emits(&outs), vec![(&To::Sid("o".into()), "error")]);
        let outs = c.on_event("a", "join_conversation", Some(&join), NOW_MS);
        assert!(outs.contains(&Out::Join("a".into(), conversation_room(conv.id))));
        let w = json!({"conversation_id": conv.id, "is_writing": true});
        let outs = c.on_event("a", "writing", Some(&w), NOW_MS);
        assert!(emits(&outs).contains(&(
            &To::RoomBut(conversation_room(conv.id), "a".into()),
            "writing"
        )));
    }

    #[test]
    fn a_kick_is_told_to_the_room_then_the_kicked_leave_it() {
        let mut c = core(vec![]);
        for u in [1, 2] {
            c.create_user(Some(u), None).expect("user");
        }
        let circle = c.create_circle("c".into(), vec![1, 2]).expect("circle");
        login(&mut c, "b", 2);
        let outs = c.remove_from_circle(circle.id, 2, Some(1)).expect("kick");
        assert!(
            matches!(&outs[0], Out::Emit { event: "circle", payload, .. } if payload["event"] == "kick" && payload["from"] == "user1@circles.chatspec.test")
        );
        assert_eq!(outs[1], Out::Leave("b".into(), circle_room(circle.id)));
        assert!(!c.circle(circle.id).expect("circle").members.contains(&2));
    }

    /// A circle of users 1 and 2 with a conversation of both, user 1
    /// logged in as `a`, user 3 (in no circle) as `o`.
    fn world(faults: Vec<CirclesFault>) -> (Core, u64, u64) {
        let mut c = core(faults);
        for u in [1, 2, 3] {
            c.create_user(Some(u), None).expect("user");
        }
        let circle = c.create_circle("c".into(), vec![1, 2]).expect("circle").id;
        let conv = c
            .create_conversation(circle, "v".into(), vec![1, 2])
            .expect("conversation")
            .id;
        login(&mut c, "a", 1);
        login(&mut c, "o", 3);
        (c, circle, conv)
    }

    /// Commits `c`'s writes into `store` and restores a core from what it reads back.
    fn reload(c: &mut Core, store: &mut crate::services::storage::SqliteStore) -> Core {
        use crate::services::storage::Store;
        store
            .commit(&c.take_writes().expect("writes"))
            .expect("commit");
        let snapshot = store.load().expect("load");
        Core::restore(
            CirclesConfig::default(),
            vec![],
            Tokens::new(b"test"),
            &snapshot,
        )
        .expect("restore")
    }

    #[test]
    fn what_storage_reads_back_is_the_state_without_its_sessions() {
        let mut store = crate::services::storage::SqliteStore::in_memory().expect("store");
        let (mut c, circle, conv) = world(vec![]);
        let device = c.create_device(circle, None).expect("device").id;
        c.conversation_device(conv, device, true)
            .expect("device in");
        c.promote(conv, 2).expect("promote");
        c.join_room(
            "a",
            Identity::User(1),
            Some(&json!({"conversation_id": conv})),
            Joinable::Conversation,
            true,
        )
        .expect("join");
        let message = |c: &mut Core, text: &str| {
            let payload =
                json!({"conversation_id": conv, "text_message": text, "files": ["f.png"]});
            let outs = c.on_event("a", "message", Some(&payload), NOW_MS);
            let success = outs.iter().find_map(|o| match o {
                Out::Emit {
                    event: "success",
                    payload,
                    ..
                } => payload["message_id"].as_u64(),
                _ => None,
            });
            success.expect("a message id")
        };
        let (kept, gone) = (message(&mut c, "kept"), message(&mut c, "gone"));
        c.change_message(kept, Some(Some("edited".into())))
            .expect("edit");
        c.change_message(gone, None).expect("delete");
        c.invite_to_circle(circle, 3).expect("invite");
        let back = reload(&mut c, &mut store);
        assert_eq!(back.users, c.users);
        assert_eq!(back.devices, c.devices);
        assert_eq!(back.circles, c.circles);
        assert_eq!(back.conversations, c.conversations);
        assert_eq!(back.messages, c.messages);
        assert_eq!(
            back.message_of(kept).and_then(|m| m.text),
            Some("edited".into())
        );
        assert_eq!(back.next_id, c.next_id);
        assert!(back.sessions.is_empty(), "sessions are not stored");
        // A member removed from the circle leaves its conversations too, in storage as well.
        c.remove_from_circle(circle, 2, None).expect("quit");
        let mut back = reload(&mut c, &mut store);
        assert!(!back.conversations[&conv].members.contains_key(&2));
        assert!(!back.circles[&circle].members.contains(&2));
        // Reading and talking change nothing stored.
        let outs = back.on_event("b", "webrtc_stun_info", None, NOW_MS);
        assert!(!outs.is_empty());
        assert_eq!(back.take_writes(), Ok(vec![]));
        login(&mut back, "b", 1);
        assert_eq!(
            back.take_writes(),
            Ok(vec![]),
            "a known user is not written again"
        );
        login(&mut back, "n", 99);
        assert_eq!(back.take_writes().map(|w| w.len()), Ok(1), "a new user is");
    }

    /// Whether the behaviour `fault` breaks is broken in `c`.
    fn broken(fault: CirclesFault, (mut c, circle, conv): (Core, u64, u64)) -> bool {
        let sends_to = |outs: &[Out], event: &str, to: &To| emits(outs).contains(&(to, event));
        match fault {
            CirclesFault::AcceptAnySignature => {
                let bad = Tokens::new(b"other")
                    .mint(&Claims::new(2, 1_700_000_000, 3600))
                    .expect("mint");
                let outs = c.on_event("x", "authenticate", Some(&json!({"token": bad})), NOW_MS);
                sends_to(&outs, "success", &To::Sid("x".into()))
            }
            CirclesFault::JoinAnything => {
                let outs = c.on_event(
                    "o",
                    "join_circle",
                    Some(&json!({"circle_id": circle})),
                    NOW_MS,
                );
                sends_to(&outs, "success", &To::Sid("o".into()))
            }
            CirclesFault::MessageToEveryone => {
                let m = json!({"conversation_id": conv, "text_message": "hi"});
                sends_to(
                    &c.on_event("a", "message", Some(&m), NOW_MS),
                    "message",
                    &To::Everyone,
                )
            }
            CirclesFault::WritingEcho => {
                let w = json!({"conversation_id": conv, "is_writing": true});
                let room = To::Room(conversation_room(conv));
                sends_to(
                    &c.on_event("a", "writing", Some(&w), NOW_MS),
                    "writing",
                    &room,
                )
            }
            CirclesFault::ForwardToEveryone => {
                let f = json!({"user_id": 2, "sdp": "x"});
                let outs = c.on_event("a", "webrtc_forward", Some(&f), NOW_MS);
                sends_to(&outs, "webrtc_config", &To::Everyone)
            }
            CirclesFault::EventsToEveryone => {
                let outs = c.update_circle(circle, None).expect("update");
                sends_to(&outs, "circle", &To::Everyone)
            }
            CirclesFault::RemovedKeepsRooms => {
                login(&mut c, "b", 2);
                let outs = c.remove_from_circle(circle, 2, None).expect("quit");
                !outs.contains(&Out::Leave("b".into(), circle_room(circle)))
            }
            CirclesFault::TurnWrongSecret | CirclesFault::ExpiredCredentials => {
                let outs = c.on_event("a", "webrtc_credentials", None, NOW_MS);
                let Some(Out::Emit { payload, .. }) = outs.first() else {
                    return true;
                };
                let username = payload["username"].as_str().unwrap_or_default();
                let expiry: i64 = username
                    .split(':')
                    .next()
                    .and_then(|e| e.parse().ok())
                    .unwrap_or(0);
                let expected =
                    super::super::turn::password(super::super::DEV_TURN_SECRET, username);
                match fault {
                    CirclesFault::TurnWrongSecret => payload["password"] != json!(expected),
                    _ => expiry * 1000 <= NOW_MS,
                }
            }
            // The app's, not the core's: its test is beside the app.
            CirclesFault::AnswerBeforeCommit => false,
        }
    }

    #[test]
    fn each_fault_breaks_its_behaviour_and_only_with_it() {
        let of_the_core = CirclesFault::ALL
            .into_iter()
            .filter(|f| *f != CirclesFault::AnswerBeforeCommit);
        for fault in of_the_core {
            assert!(
                !broken(fault, world(vec![])),
                "{} without the fault",
                fault.as_str()
            );
            assert!(
                broken(fault, world(vec![fault])),
                "{} with the fault",
                fault.as_str()
            );
        }
    }
}
