//! Chatpot (`000_407d4ff0bcbdf81c.txt`): the node-discovery body and the Socket.IO events between
//! the Chatpot server and its web front end.
//!
//! # Input
//!
//! A message is one Socket.IO event's argument array as the EVENT packet carries it,
//! `["message", {...}]` (kind `None`), or, with `kind` set to the event name, the bare first
//! argument (`{...}`). Kinds:
//!
//! | kind | direction | payload |
//! |---|---|---|
//! | `status` | HTTP | `GET /status` body `{host, port, num_connection}` (never an event; only bare) |
//! | `server_error` | server → client | `{code, message}`; the deployed server also merges `success: false` |
//! | `postinit_req` | client → server | `{token}` |
//! | `postinit_res` | server → client | `{success: true}`, the document's name |
//! | `init_res` | server → client | `{success: true}`, the name the deployed server emits |
//! | `health_req` | client → server | `{}` (deployed server; not in the document) |
//! | `health_res` | server → client | `{}` (deployed server; not in the document) |
//! | `message` | server → client | the chat message: `message_id`, `type`, `from`, `to`, `content`, `sent_time` |
//!
//! Both `postinit_res` and `init_res` are accepted and kept apart ([`Event::PostinitRes`],
//! [`Event::InitRes`]): the document names the answer to `postinit_req` `postinit_res`, the
//! public server emits `init_res` (specs/README.md, Facts: Chatpot, as deployed).
//!
//! The event named `messasge` (the document's client listens on it, a typo) is refused with
//! rule `misspelled-event`: servers emit `message`.
//!
//! # Choices where the document is silent
//!
//! - Message `type` is one of `TEXT`, `IMAGE`, `NOTIFICATION`, the set the public Chatpot
//!   message server uses. `content` is a string for `TEXT`, an object with `image_url` and
//!   `thumb_url` strings for `IMAGE`, and an object for `NOTIFICATION`; `from` is `null` only
//!   for `NOTIFICATION` (the public server sends room join/leave notices without a sender).
//! - `to.type` is `ROOM`, the only reception type there is.
//! - `server_error.code` is `INVALID_PARAM`, the only code the public Socket.IO node emits.
//! - `postinit_req.token` must not be empty: the deployed server answers an empty token as
//!   missing (`INVALID_PARAM`).
//! - Every event carries exactly one argument; fields the document does not name are kept
//!   (re-encoded as they came) and not judged.
//!
//! Violation fields are dotted paths inside the payload (`from.nick.ko`), the same in both
//! input forms; `""` names the whole message.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::{Dialect, Protocol, Rule, Violation};

const SPEC_STATUS: &str = "000_407d4ff0bcbdf81c.txt §SocketIO 노드 연결";
const SPEC_SERVER_ERROR: &str = "000_407d4ff0bcbdf81c.txt §SIGNAL: server_error";
const SPEC_POSTINIT: &str = "000_407d4ff0bcbdf81c.txt §SIGNAL: postinit_req";
const SPEC_MESSAGE: &str = "000_407d4ff0bcbdf81c.txt §SIGNAL: message";
const SPEC_DEPLOYED: &str = "specs/README.md §Facts: Chatpot, as deployed";
const SPEC_PACKET: &str = "socket.io-protocol v5 §Packet encoding";

/// The Chatpot codec.
pub struct Chatpot;

/// How a message is written: the whole argument array, or the bare first argument.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Form {
    /// `["event", payload]`, as a Socket.IO EVENT packet carries it.
    Args,
    /// The payload alone; its kind says which event it is.
    Bare,
}

/// One Chatpot message: the event and the form it was (or will be) written in.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    /// Argument array or bare payload.
    pub form: Form,
    /// What the message says.
    pub event: Event,
}

impl Message {
    /// The event as a Socket.IO argument array (`["name", payload]`); a status body stays bare.
    pub fn args(event: Event) -> Self {
        let form = if matches!(event, Event::Status(_)) {
            Form::Bare
        } else {
            Form::Args
        };
        Message { form, event }
    }

    /// The event's payload alone; decode it with `kind = event.name()`.
    pub fn bare(event: Event) -> Self {
        Message {
            form: Form::Bare,
            event,
        }
    }
}

/// Every Chatpot message, by event.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// `GET /status` response body (kind `status`).
    Status(Status),
    /// `server_error`: the server refused something.
    ServerError(ServerError),
    /// `postinit_req`: the client presents its member token.
    PostinitReq(PostinitReq),
    /// `postinit_res`: the document's answer to `postinit_req`.
    PostinitRes(InitResult),
    /// `init_res`: the deployed server's answer to `postinit_req`.
    InitRes(InitResult),
    /// `health_req`: liveness probe (deployed server).
    HealthReq(Health),
    /// `health_res`: liveness answer (deployed server).
    HealthRes(Health),
    /// `message`: a chat message delivered to a room member (boxed: it is by far the largest).
    Message(Box<ChatMessage>),
}

impl Event {
    /// The event name (or `status` for the HTTP body); also the `kind` of its bare form.
    pub fn name(&self) -> &'static str {
        match self {
            Event::Status(_) => "status",
            Event::ServerError(_) => "server_error",
            Event::PostinitReq(_) => "postinit_req",
            Event::PostinitRes(_) => "postinit_res",
            Event::InitRes(_) => "init_res",
            Event::HealthReq(_) => "health_req",
            Event::HealthRes(_) => "health_res",
            Event::Message(_) => "message",
        }
    }

    /// The payload as JSON.
    pub fn payload(&self) -> Value {
        let v = match self {
            Event::Status(p) => serde_json::to_value(p),
            Event::ServerError(p) => serde_json::to_value(p),
            Event::PostinitReq(p) => serde_json::to_value(p),
            Event::PostinitRes(p) | Event::InitRes(p) => serde_json::to_value(p),
            Event::HealthReq(p) | Event::HealthRes(p) => serde_json::to_value(p),
            Event::Message(p) => serde_json::to_value(p),
        };
        v.unwrap_or(Value::Null)
    }
}

/// `GET /status`: the best Socket.IO node to connect to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Status {
    /// The node's public host, scheme included (`http://dev-ws-1.chatpot.chat`).
    pub host: String,
    /// The node's public port.
    pub port: u16,
    /// How many clients the node holds now.
    pub num_connection: u64,
    /// Fields the document does not name, kept as they came.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Error codes a `server_error` carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ErrorCode {
    /// A missing or invalid parameter, e.g. a missing or unknown member token.
    #[serde(rename = "INVALID_PARAM")]
    InvalidParam,
}

impl ErrorCode {
    /// Every known code.
    pub const ALL: [ErrorCode; 1] = [ErrorCode::InvalidParam];

    /// The code as the wire writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidParam => "INVALID_PARAM",
        }
    }
}

/// `server_error` payload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServerError {
    /// The error code.
    pub code: ErrorCode,
    /// Why, for people.
    pub message: String,
    /// `false` when present: the deployed server merges `success: false` into the payload.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub success: Option<bool>,
    /// Fields the document does not name, kept as they came.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `postinit_req` payload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PostinitReq {
    /// The member token.
    pub token: String,
    /// Fields the document does not name, kept as they came.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `postinit_res` / `init_res` payload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InitResult {
    /// Always `true`: failures come as `server_error`.
    pub success: bool,
    /// Fields the document does not name, kept as they came.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `health_req` / `health_res` payload: an object, empty on the deployed server.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Health {
    /// Whatever the object holds.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Message types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum MessageType {
    /// Plain text: `content` is a string.
    #[serde(rename = "TEXT")]
    Text,
    /// A picture: `content` is `{image_url, thumb_url}`.
    #[serde(rename = "IMAGE")]
    Image,
    /// A room notice: `content` is an object, `from` may be `null`.
    #[serde(rename = "NOTIFICATION")]
    Notification,
}

impl MessageType {
    /// Every message type.
    pub const ALL: [MessageType; 3] = [
        MessageType::Text,
        MessageType::Image,
        MessageType::Notification,
    ];

    /// The type as the wire writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            MessageType::Text => "TEXT",
            MessageType::Image => "IMAGE",
            MessageType::Notification => "NOTIFICATION",
        }
    }
}

/// `message` payload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatMessage {
    /// Message id.
    pub message_id: String,
    /// Message type.
    #[serde(rename = "type")]
    pub kind: MessageType,
    /// The sender; `None` (`null`) only for notifications.
    pub from: Option<Member>,
    /// Where it was sent.
    pub to: Reception,
    /// The content: a string for `TEXT`, an object otherwise.
    pub content: Value,
    /// When it was sent, milliseconds since the Unix epoch.
    pub sent_time: u64,
    /// Fields the document does not name, kept as they came.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The sender of a message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Member {
    /// Member token.
    pub token: String,
    /// Nickname in three languages.
    pub nick: Nick,
    /// Profile pictures.
    pub avatar: Avatar,
    /// Region code (`KR`).
    pub region: String,
    /// Language code (`ko`).
    pub language: String,
    /// Gender (`M`).
    pub gender: String,
    /// Fields the document does not name, kept as they came.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Nickname in English, Korean and Japanese.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Nick {
    /// English.
    pub en: String,
    /// Korean.
    pub ko: String,
    /// Japanese.
    pub ja: String,
    /// Fields the document does not name, kept as they came.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Profile picture URLs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Avatar {
    /// Full-size picture.
    pub profile_img: String,
    /// Thumbnail.
    pub profile_thumb: String,
    /// Fields the document does not name, kept as they came.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Reception types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ReceptionType {
    /// A chat room.
    #[serde(rename = "ROOM")]
    Room,
}

/// Where a message was sent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reception {
    /// Always `ROOM`.
    #[serde(rename = "type")]
    pub kind: ReceptionType,
    /// The room token.
    pub token: String,
    /// Fields the document does not name, kept as they came.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Why a Chatpot message is refused. Fields are dotted paths inside the payload.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The bytes are not UTF-8.
    #[error("input is not valid UTF-8")]
    InvalidUtf8,
    /// The bytes are not one JSON value.
    #[error("input is not JSON: {0}")]
    InvalidJson(String),
    /// Without a kind the input must be an event argument array whose first element is the name.
    #[error("expected a Socket.IO event argument array [\"name\", ...]")]
    NotAnEventArray,
    /// The kind given is none this module knows.
    #[error("unknown kind `{0}`")]
    UnknownKind(String),
    /// The event name is none the document (or the deployed server) uses.
    #[error("unknown event `{0}`")]
    UnknownEvent(String),
    /// The event is the document's typo `messasge`; servers emit `message`.
    #[error("event `{0}` is a misspelling of `message`")]
    MisspelledEvent(String),
    /// The event carries a number of arguments other than one.
    #[error("event `{event}` carries {found} arguments; expected 1")]
    WrongArgumentCount {
        /// The event.
        event: &'static str,
        /// How many arguments came.
        found: usize,
        /// The section the event is documented in.
        spec: &'static str,
    },
    /// A required field is absent.
    #[error("missing field `{field}`")]
    MissingField {
        /// Dotted path.
        field: String,
        /// The section that names the field.
        spec: &'static str,
    },
    /// A value has the wrong JSON type.
    #[error("`{field}` must be {expected}")]
    WrongType {
        /// Dotted path (`""` for the payload itself).
        field: String,
        /// What it must be.
        expected: &'static str,
        /// The section that shows the field.
        spec: &'static str,
    },
    /// A number is outside its range (negative time or count, port above 65535).
    #[error("`{field}` is out of range: {found}")]
    OutOfRange {
        /// Dotted path.
        field: String,
        /// The number as it came.
        found: String,
        /// The section that shows the field.
        spec: &'static str,
    },
    /// A string that must carry something is empty.
    #[error("`{field}` is empty")]
    EmptyValue {
        /// Dotted path.
        field: String,
        /// The section that names the field.
        spec: &'static str,
    },
    /// `type` is not `TEXT`, `IMAGE` or `NOTIFICATION`.
    #[error("unknown message type `{0}`")]
    UnknownMessageType(String),
    /// `to.type` is not `ROOM`.
    #[error("unknown reception type `{0}`")]
    UnknownReceptionType(String),
    /// `server_error.code` is not a known code.
    #[error("unknown error code `{0}`")]
    UnknownErrorCode(String),
    /// A value is fixed and this one differs (`success` of `postinit_res`, `server_error`).
    #[error("`{field}` must be {expected}")]
    WrongValue {
        /// Dotted path.
        field: String,
        /// The only value allowed.
        expected: &'static str,
        /// Where the fixed value comes from.
        spec: &'static str,
    },
}

impl Error {
    /// The dotted path of the field the error is about (`""` for the whole message).
    pub fn field(&self) -> &str {
        match self {
            Error::MissingField { field, .. }
            | Error::WrongType { field, .. }
            | Error::OutOfRange { field, .. }
            | Error::EmptyValue { field, .. }
            | Error::WrongValue { field, .. } => field,
            Error::UnknownMessageType(_) => "type",
            Error::UnknownReceptionType(_) => "to.type",
            Error::UnknownErrorCode(_) => "code",
            _ => "",
        }
    }
}

impl Rule for Error {
    fn rule(&self) -> &'static str {
        match self {
            Error::InvalidUtf8 => "invalid-utf8",
            Error::InvalidJson(_) => "invalid-json",
            Error::NotAnEventArray => "not-an-event-array",
            Error::UnknownKind(_) => "unknown-kind",
            Error::UnknownEvent(_) => "unknown-event",
            Error::MisspelledEvent(_) => "misspelled-event",
            Error::WrongArgumentCount { .. } => "wrong-argument-count",
            Error::MissingField { .. } => "missing-field",
            Error::WrongType { .. } => "wrong-type",
            Error::OutOfRange { .. } => "out-of-range",
            Error::EmptyValue { .. } => "empty-value",
            Error::UnknownMessageType(_) => "unknown-message-type",
            Error::UnknownReceptionType(_) => "unknown-reception-type",
            Error::UnknownErrorCode(_) => "unknown-error-code",
            Error::WrongValue { .. } => "wrong-value",
        }
    }

    fn spec(&self) -> &'static str {
        match self {
            Error::InvalidUtf8 | Error::InvalidJson(_) | Error::NotAnEventArray => SPEC_PACKET,
            Error::UnknownKind(_) | Error::UnknownEvent(_) => DOC_EVENTS,
            Error::MisspelledEvent(_) => SPEC_DEPLOYED,
            Error::WrongArgumentCount { spec, .. }
            | Error::MissingField { spec, .. }
            | Error::WrongType { spec, .. }
            | Error::OutOfRange { spec, .. }
            | Error::EmptyValue { spec, .. }
            | Error::WrongValue { spec, .. } => spec,
            Error::UnknownMessageType(_) | Error::UnknownReceptionType(_) => SPEC_MESSAGE,
            Error::UnknownErrorCode(_) => SPEC_SERVER_ERROR,
        }
    }
}

/// The document as a whole (its title heading): its sections are the list of events.
const DOC_EVENTS: &str = "000_407d4ff0bcbdf81c.txt §SocketIO 통신 프로토콜 설명";

/// The events (and the one non-event kind) this module knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Status,
    ServerError,
    PostinitReq,
    PostinitRes,
    InitRes,
    HealthReq,
    HealthRes,
    Message,
}

impl Kind {
    fn parse(name: &str) -> Option<Kind> {
        Some(match name {
            "status" => Kind::Status,
            "server_error" => Kind::ServerError,
            "postinit_req" => Kind::PostinitReq,
            "postinit_res" => Kind::PostinitRes,
            "init_res" => Kind::InitRes,
            "health_req" => Kind::HealthReq,
            "health_res" => Kind::HealthRes,
            "message" => Kind::Message,
            _ => return None,
        })
    }

    fn name(self) -> &'static str {
        match self {
            Kind::Status => "status",
            Kind::ServerError => "server_error",
            Kind::PostinitReq => "postinit_req",
            Kind::PostinitRes => "postinit_res",
            Kind::InitRes => "init_res",
            Kind::HealthReq => "health_req",
            Kind::HealthRes => "health_res",
            Kind::Message => "message",
        }
    }

    fn spec(self) -> &'static str {
        match self {
            Kind::Status => SPEC_STATUS,
            Kind::ServerError => SPEC_SERVER_ERROR,
            Kind::PostinitReq | Kind::PostinitRes => SPEC_POSTINIT,
            Kind::InitRes | Kind::HealthReq | Kind::HealthRes => SPEC_DEPLOYED,
            Kind::Message => SPEC_MESSAGE,
        }
    }
}

fn is_misspelled(name: &str) -> bool {
    name == "messasge"
}

/// Reads the input down to (form, kind, payload), or the one error that stops reading.
fn frame(kind: Option<&str>, input: &[u8]) -> Result<(Form, Kind, Value), Error> {
    let text = std::str::from_utf8(input).map_err(|_| Error::InvalidUtf8)?;
    let named = match kind {
        Some(k) if is_misspelled(k) => return Err(Error::MisspelledEvent(k.to_owned())),
        Some(k) => Some(Kind::parse(k).ok_or_else(|| Error::UnknownKind(k.to_owned()))?),
        None => None,
    };
    let value: Value = serde_json::from_str(text).map_err(|e| Error::InvalidJson(e.to_string()))?;
    if let Some(kind) = named {
        return Ok((Form::Bare, kind, value));
    }
    let Value::Array(mut args) = value else {
        return Err(Error::NotAnEventArray);
    };
    let name = match args.first() {
        Some(Value::String(name)) => name.clone(),
        _ => return Err(Error::NotAnEventArray),
    };
    if is_misspelled(&name) {
        return Err(Error::MisspelledEvent(name));
    }
    let kind = match Kind::parse(&name) {
        Some(Kind::Status) | None => return Err(Error::UnknownEvent(name)),
        Some(kind) => kind,
    };
    if args.len() != 2 {
        return Err(Error::WrongArgumentCount {
            event: kind.name(),
            found: args.len() - 1,
            spec: kind.spec(),
        });
    }
    let payload = args.pop().unwrap_or(Value::Null);
    Ok((Form::Args, kind, payload))
}

/// Collects every violation of one payload.
struct Check {
    spec: &'static str,
    errors: Vec<Error>,
}

fn join(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_owned()
    } else {
        format!("{prefix}.{key}")
    }
}

impl Check {
    fn wrong_type(&mut self, field: String, expected: &'static str) {
        self.errors.push(Error::WrongType {
            field,
            expected,
            spec: self.spec,
        });
    }

    fn object<'a>(&mut self, value: &'a Value, field: &str) -> Option<&'a Map<String, Value>> {
        match value {
            Value::Object(map) => Some(map),
            _ => {
                self.wrong_type(field.to_owned(), "an object");
                None
            }
        }
    }

    fn field<'a>(&mut self, map: &'a Map<String, Value>, at: &str, key: &str) -> Option<&'a Value> {
        let value = map.get(key);
        if value.is_none() {
            self.errors.push(Error::MissingField {
                field: join(at, key),
                spec: self.spec,
            });
        }
        value
    }

    fn string<'a>(&mut self, map: &'a Map<String, Value>, at: &str, key: &str) -> Option<&'a str> {
        match self.field(map, at, key)? {
            Value::String(s) => Some(s),
            _ => {
                self.wrong_type(join(at, key), "a string");
                None
            }
        }
    }

    fn nonempty(&mut self, map: &Map<String, Value>, at: &str, key: &str) {
        if self.string(map, at, key).is_some_and(str::is_empty) {
            self.errors.push(Error::EmptyValue {
                field: join(at, key),
                spec: self.spec,
            });
        }
    }

    fn unsigned(&mut self, map: &Map<String, Value>, at: &str, key: &str, max: u64) {
        let Some(value) = self.field(map, at, key) else {
            return;
        };
        let field = join(at, key);
        match value {
            Value::Number(n) if n.is_u64() => {
                if n.as_u64().is_some_and(|n| n > max) {
                    self.errors.push(Error::OutOfRange {
                        field,
                        found: n.to_string(),
                        spec: self.spec,
                    });
                }
            }
            Value::Number(n) if n.is_i64() => self.errors.push(Error::OutOfRange {
                field,
                found: n.to_string(),
                spec: self.spec,
            }),
            _ => self.wrong_type(field, "a non-negative integer"),
        }
    }

    fn fixed_bool(&mut self, map: &Map<String, Value>, key: &str, want: bool, required: bool) {
        let value = if required {
            self.field(map, "", key)
        } else {
            map.get(key)
        };
        match value {
            None => {}
            Some(Value::Bool(b)) if *b == want => {}
            Some(Value::Bool(_)) => self.errors.push(Error::WrongValue {
                field: key.to_owned(),
                expected: if want { "true" } else { "false" },
                spec: self.spec,
            }),
            Some(_) => self.wrong_type(key.to_owned(), "a boolean"),
        }
    }
}

fn check_payload(kind: Kind, payload: &Value) -> Vec<Error> {
    let mut ck = Check {
        spec: kind.spec(),
        errors: Vec::new(),
    };
    let Some(map) = ck.object(payload, "") else {
        return ck.errors;
    };
    match kind {
        Kind::Status => {
            ck.string(map, "", "host");
            ck.unsigned(map, "", "port", u64::from(u16::MAX));
            ck.unsigned(map, "", "num_connection", u64::MAX);
        }
        Kind::ServerError => {
            if let Some(code) = ck.string(map, "", "code") {
                if !ErrorCode::ALL.iter().any(|c| c.as_str() == code) {
                    ck.errors.push(Error::UnknownErrorCode(code.to_owned()));
                }
            }
            ck.string(map, "", "message");
            ck.spec = SPEC_DEPLOYED;
            ck.fixed_bool(map, "success", false, false);
        }
        Kind::PostinitReq => ck.nonempty(map, "", "token"),
        Kind::PostinitRes | Kind::InitRes => ck.fixed_bool(map, "success", true, true),
        Kind::HealthReq | Kind::HealthRes => {}
        Kind::Message => check_message(&mut ck, map),
    }
    ck.errors
}

fn check_message(ck: &mut Check, map: &Map<String, Value>) {
    ck.string(map, "", "message_id");
    let kind = match ck.string(map, "", "type") {
        Some(t) => match MessageType::ALL.iter().find(|k| k.as_str() == t) {
            Some(k) => Some(*k),
            None => {
                ck.errors.push(Error::UnknownMessageType(t.to_owned()));
                None
            }
        },
        None => None,
    };
    match ck.field(map, "", "from") {
        Some(Value::Null) if kind == Some(MessageType::Notification) => {}
        Some(Value::Null) if kind.is_none() => {}
        Some(Value::Null) => ck.wrong_type("from".into(), "an object (null only for NOTIFICATION)"),
        Some(from) => {
            if let Some(from) = ck.object(from, "from") {
                ck.string(from, "from", "token");
                if let Some(nick) = ck.field(from, "from", "nick") {
                    if let Some(nick) = ck.object(nick, "from.nick") {
                        for lang in ["en", "ko", "ja"] {
                            ck.string(nick, "from.nick", lang);
                        }
                    }
                }
                if let Some(avatar) = ck.field(from, "from", "avatar") {
                    if let Some(avatar) = ck.object(avatar, "from.avatar") {
                        ck.string(avatar, "from.avatar", "profile_img");
                        ck.string(avatar, "from.avatar", "profile_thumb");
                    }
                }
                for key in ["region", "language", "gender"] {
                    ck.string(from, "from", key);
                }
            }
        }
        None => {}
    }
    if let Some(to) = ck.field(map, "", "to") {
        if let Some(to) = ck.object(to, "to") {
            if let Some(t) = ck.string(to, "to", "type") {
                if t != "ROOM" {
                    ck.errors.push(Error::UnknownReceptionType(t.to_owned()));
                }
            }
            ck.string(to, "to", "token");
        }
    }
    if let Some(content) = ck.field(map, "", "content") {
        match (kind, content) {
            (Some(MessageType::Text), Value::String(_)) => {}
            (Some(MessageType::Text), _) => ck.wrong_type("content".into(), "a string for TEXT"),
            (Some(MessageType::Image), Value::Object(image)) => {
                ck.string(image, "content", "image_url");
                ck.string(image, "content", "thumb_url");
            }
            (Some(MessageType::Notification), Value::Object(_)) => {}
            (Some(_), _) => ck.wrong_type("content".into(), "an object for IMAGE and NOTIFICATION"),
            (None, _) => {}
        }
    }
    ck.unsigned(map, "", "sent_time", u64::MAX);
}

fn build(kind: Kind, payload: Value) -> Result<Event, serde_json::Error> {
    Ok(match kind {
        Kind::Status => Event::Status(serde_json::from_value(payload)?),
        Kind::ServerError => Event::ServerError(serde_json::from_value(payload)?),
        Kind::PostinitReq => Event::PostinitReq(serde_json::from_value(payload)?),
        Kind::PostinitRes => Event::PostinitRes(serde_json::from_value(payload)?),
        Kind::InitRes => Event::InitRes(serde_json::from_value(payload)?),
        Kind::HealthReq => Event::HealthReq(serde_json::from_value(payload)?),
        Kind::HealthRes => Event::HealthRes(serde_json::from_value(payload)?),
        Kind::Message => Event::Message(serde_json::from_value(payload)?),
    })
}

/// Reads one message: the message, or every error it has (never empty on failure).
fn read(kind: Option<&str>, input: &[u8]) -> Result<Message, Vec<Error>> {
    let (form, kind, payload) = frame(kind, input).map_err(|e| vec![e])?;
    let errors = check_payload(kind, &payload);
    if !errors.is_empty() {
        return Err(errors);
    }
    // The checks above refuse everything the typed structs refuse; should one slip
    // through, it is still a refusal, never a panic.
    build(kind, payload)
        .map(|event| Message { form, event })
        .map_err(|_| {
            vec![Error::WrongType {
                field: String::new(),
                expected: "a payload of the documented shape",
                spec: kind.spec(),
            }]
        })
}

impl Dialect for Chatpot {
    const PROTOCOL: Protocol = Protocol::Chatpot;
    type Message = Message;
    type Error = Error;

    fn decode(kind: Option<&str>, input: &[u8]) -> Result<Message, Error> {
        read(kind, input)
            .map_err(|errors| errors.into_iter().next().unwrap_or(Error::NotAnEventArray))
    }

    fn encode(message: &Message) -> Vec<u8> {
        let payload = message.event.payload();
        let value = match (message.form, &message.event) {
            (Form::Bare, _) | (_, Event::Status(_)) => payload,
            (Form::Args, event) => Value::Array(vec![Value::from(event.name()), payload]),
        };
        serde_json::to_vec(&value).unwrap_or_default()
    }

    fn validate(kind: Option<&str>, input: &[u8]) -> Vec<Violation> {
        match read(kind, input) {
            Ok(_) => Vec::new(),
            Err(errors) => errors
                .iter()
                .map(|e| Violation::from_error(e.field(), e))
                .collect(),
        }
    }
}
