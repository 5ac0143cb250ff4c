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

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::rules::{self, ids, CommonError, EncodeError, Need, RuleInfo, Walker};
use crate::{Dialect, Protocol, Rule, UnknownKind, Violation};

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
    pub fn payload(&self) -> Result<Value, EncodeError> {
        let v = match self {
            Event::Status(p) => serde_json::to_value(p),
            Event::ServerError(p) => serde_json::to_value(p),
            Event::PostinitReq(p) => serde_json::to_value(p),
            Event::PostinitRes(p) | Event::InitRes(p) => serde_json::to_value(p),
            Event::HealthReq(p) | Event::HealthRes(p) => serde_json::to_value(p),
            Event::Message(p) => serde_json::to_value(p),
        };
        Ok(v?)
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
    /// A rule every codec shares: UTF-8, JSON, a missing field, a wrong type, an
    /// out-of-range number, an empty value.
    #[error(transparent)]
    Common(#[from] CommonError),
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
            Error::Common(e) => e.field(),
            Error::WrongValue { field, .. } => field,
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
            Error::Common(e) => e.rule(),
            Error::NotAnEventArray => ids::NOT_AN_EVENT_ARRAY,
            Error::UnknownKind(_) => ids::UNKNOWN_KIND,
            Error::UnknownEvent(_) => ids::UNKNOWN_EVENT,
            Error::MisspelledEvent(_) => "misspelled-event",
            Error::WrongArgumentCount { .. } => ids::WRONG_ARGUMENT_COUNT,
            Error::UnknownMessageType(_) => "unknown-message-type",
            Error::UnknownReceptionType(_) => "unknown-reception-type",
            Error::UnknownErrorCode(_) => "unknown-error-code",
            Error::WrongValue { .. } => "wrong-value",
        }
    }

    fn spec(&self) -> &'static str {
        match self {
            Error::Common(e) => e.spec(),
            Error::NotAnEventArray => SPEC_PACKET,
            Error::UnknownKind(_) | Error::UnknownEvent(_) => DOC_EVENTS,
            Error::MisspelledEvent(_) => SPEC_DEPLOYED,
            Error::WrongArgumentCount { spec, .. } | Error::WrongValue { spec, .. } => spec,
            Error::UnknownMessageType(_) | Error::UnknownReceptionType(_) => SPEC_MESSAGE,
            Error::UnknownErrorCode(_) => SPEC_SERVER_ERROR,
        }
    }
}

/// Where the field rules come from: the section of the event the payload belongs to.
const SPEC_FIELDS: &str = "000_407d4ff0bcbdf81c.txt (the event's section)";

/// Every rule a Chatpot message can break.
pub const RULES: &[RuleInfo] = &[
    rules::common(ids::INVALID_UTF8, SPEC_PACKET),
    rules::common(ids::INVALID_JSON, SPEC_PACKET),
    rules::common(ids::NOT_AN_EVENT_ARRAY, SPEC_PACKET),
    rules::common(ids::UNKNOWN_KIND, DOC_EVENTS),
    rules::common(ids::UNKNOWN_EVENT, DOC_EVENTS),
    RuleInfo::new(
        "misspelled-event",
        SPEC_DEPLOYED,
        "the event is the document's typo `messasge`; servers emit `message`",
    ),
    rules::common(ids::WRONG_ARGUMENT_COUNT, DOC_EVENTS),
    rules::common(ids::MISSING_FIELD, SPEC_FIELDS),
    rules::common(ids::WRONG_TYPE, SPEC_FIELDS),
    rules::common(ids::OUT_OF_RANGE, SPEC_FIELDS),
    rules::common(ids::EMPTY_VALUE, SPEC_POSTINIT),
    RuleInfo::new(
        "unknown-message-type",
        SPEC_MESSAGE,
        "`type` is not TEXT, IMAGE or NOTIFICATION",
    ),
    RuleInfo::new(
        "unknown-reception-type",
        SPEC_MESSAGE,
        "`to.type` is not ROOM",
    ),
    RuleInfo::new(
        "unknown-error-code",
        SPEC_SERVER_ERROR,
        "`server_error.code` is not a known code",
    ),
    RuleInfo::new(
        "wrong-value",
        SPEC_POSTINIT,
        "a fixed value differs (`success` of postinit_res / init_res / server_error)",
    ),
];

/// The document as a whole (its title heading): its sections are the list of events.
const DOC_EVENTS: &str = "000_407d4ff0bcbdf81c.txt §SocketIO 통신 프로토콜 설명";

/// The events (and the one non-event kind, `status`) this module knows: the `kind` of
/// a bare payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `GET /status` body.
    Status,
    /// `server_error`.
    ServerError,
    /// `postinit_req`.
    PostinitReq,
    /// `postinit_res`.
    PostinitRes,
    /// `init_res`.
    InitRes,
    /// `health_req`.
    HealthReq,
    /// `health_res`.
    HealthRes,
    /// `message`.
    Message,
}

impl Kind {
    /// Every kind.
    pub const ALL: [Kind; 8] = [
        Kind::Status,
        Kind::ServerError,
        Kind::PostinitReq,
        Kind::PostinitRes,
        Kind::InitRes,
        Kind::HealthReq,
        Kind::HealthRes,
        Kind::Message,
    ];

    fn parse(name: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.name() == name)
    }

    /// The event name (`status` for the HTTP body).
    pub fn name(self) -> &'static str {
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

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Kind {
    type Err = UnknownKind;
    fn from_str(s: &str) -> Result<Self, UnknownKind> {
        Kind::parse(s).ok_or_else(|| UnknownKind::new(s))
    }
}

fn is_misspelled(name: &str) -> bool {
    name == "messasge"
}

/// Reads the input down to (form, kind, payload), or the one error that stops reading.
fn frame(kind: Option<&str>, input: &[u8]) -> Result<(Form, Kind, Value), Error> {
    let named = match kind {
        Some(k) if is_misspelled(k) => return Err(Error::MisspelledEvent(k.to_owned())),
        Some(k) => Some(Kind::parse(k).ok_or_else(|| Error::UnknownKind(k.to_owned()))?),
        None => None,
    };
    let value = rules::parse_json(input, SPEC_PACKET)?;
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

type Check = Walker<Error>;

/// A field fixed to `want`: another boolean is `wrong-value`.
fn fixed_bool(ck: &mut Check, map: &Map<String, Value>, key: &str, want: bool, required: bool) {
    ck.with(map, "", key, required, |ck, value, field| {
        match value {
            Value::Bool(b) if *b == want => {}
            Value::Bool(_) => {
                let spec = ck.spec;
                ck.push(
                    field.clone(),
                    Error::WrongValue {
                        field,
                        expected: if want { "true" } else { "false" },
                        spec,
                    },
                );
            }
            _ => ck.wrong_type(field, "a boolean"),
        }
        Some(())
    });
}

/// A non-negative integer at most `max`.
fn unsigned(ck: &mut Check, map: &Map<String, Value>, key: &str, max: u64) {
    ck.unsigned(map, "", key, Need::Required, max, "a non-negative integer");
}

fn check_payload(kind: Kind, payload: &Value) -> Vec<(String, Error)> {
    let mut ck = Check::new(kind.spec());
    let Some(map) = ck.object(payload, "") else {
        return ck.into_found();
    };
    match kind {
        Kind::Status => {
            ck.string(map, "", "host", true);
            unsigned(&mut ck, map, "port", u64::from(u16::MAX));
            unsigned(&mut ck, map, "num_connection", u64::MAX);
        }
        Kind::ServerError => {
            if let Some(code) = ck.string(map, "", "code", true) {
                if !ErrorCode::ALL.iter().any(|c| c.as_str() == code) {
                    ck.push("code", Error::UnknownErrorCode(code.to_owned()));
                }
            }
            ck.string(map, "", "message", true);
            ck.spec = SPEC_DEPLOYED;
            fixed_bool(&mut ck, map, "success", false, false);
        }
        Kind::PostinitReq => {
            ck.nonempty(map, "", "token", true);
        }
        Kind::PostinitRes | Kind::InitRes => fixed_bool(&mut ck, map, "success", true, true),
        Kind::HealthReq | Kind::HealthRes => {}
        Kind::Message => check_message(&mut ck, map),
    }
    ck.into_found()
}

fn check_message(ck: &mut Check, map: &Map<String, Value>) {
    ck.string(map, "", "message_id", true);
    let kind = match ck.string(map, "", "type", true) {
        Some(t) => match MessageType::ALL.iter().find(|k| k.as_str() == t) {
            Some(k) => Some(*k),
            None => {
                ck.push("type", Error::UnknownMessageType(t.to_owned()));
                None
            }
        },
        None => None,
    };
    match ck.get(map, "", "from", Need::Required) {
        Some(Value::Null) if kind == Some(MessageType::Notification) => {}
        Some(Value::Null) if kind.is_none() => {}
        Some(Value::Null) => ck.wrong_type("from".into(), "an object (null only for NOTIFICATION)"),
        Some(from) => {
            if let Some(from) = ck.object(from, "from") {
                ck.string(from, "from", "token", true);
                if let Some(nick) = ck.object_field(from, "from", "nick", true) {
                    for lang in ["en", "ko", "ja"] {
                        ck.string(nick, "from.nick", lang, true);
                    }
                }
                if let Some(avatar) = ck.object_field(from, "from", "avatar", true) {
                    ck.string(avatar, "from.avatar", "profile_img", true);
                    ck.string(avatar, "from.avatar", "profile_thumb", true);
                }
                for key in ["region", "language", "gender"] {
                    ck.string(from, "from", key, true);
                }
            }
        }
        None => {}
    }
    if let Some(to) = ck.object_field(map, "", "to", true) {
        if let Some(t) = ck.string(to, "to", "type", true) {
            if t != "ROOM" {
                ck.push("to.type", Error::UnknownReceptionType(t.to_owned()));
            }
        }
        ck.string(to, "to", "token", true);
    }
    if let Some(content) = ck.get(map, "", "content", Need::Required) {
        match (kind, content) {
            (Some(MessageType::Text), Value::String(_)) => {}
            (Some(MessageType::Text), _) => ck.wrong_type("content".into(), "a string for TEXT"),
            (Some(MessageType::Image), Value::Object(image)) => {
                ck.string(image, "content", "image_url", true);
                ck.string(image, "content", "thumb_url", true);
            }
            (Some(MessageType::Notification), Value::Object(_)) => {}
            (Some(_), _) => ck.wrong_type("content".into(), "an object for IMAGE and NOTIFICATION"),
            (None, _) => {}
        }
    }
    unsigned(ck, map, "sent_time", u64::MAX);
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

/// Reads one message: the message, or every error it has with its field (never empty on failure).
fn read(kind: Option<&str>, input: &[u8]) -> Result<Message, Vec<(String, Error)>> {
    let whole = |e: Error| vec![(e.field().to_owned(), e)];
    let (form, kind, payload) = frame(kind, input).map_err(whole)?;
    let errors = check_payload(kind, &payload);
    if !errors.is_empty() {
        return Err(errors);
    }
    // The checks above refuse everything the typed structs refuse; should one slip
    // through, it is still a refusal, never a panic.
    build(kind, payload)
        .map(|event| Message { form, event })
        .map_err(|_| {
            whole(
                CommonError::WrongType {
                    field: String::new(),
                    expected: "a payload of the documented shape",
                    spec: kind.spec(),
                }
                .into(),
            )
        })
}

impl Dialect for Chatpot {
    const PROTOCOL: Protocol = Protocol::Chatpot;
    const DOCUMENT: &'static str = "000_407d4ff0bcbdf81c.txt";
    const ID_FIELDS: &'static [&'static str] = &["message_id", "token"];
    type Kind = Kind;
    type Message = Message;
    type Error = Error;

    fn kinds() -> &'static [Kind] {
        &Kind::ALL
    }

    fn rules() -> &'static [RuleInfo] {
        RULES
    }

    fn decode(kind: Option<&str>, input: &[u8]) -> Result<Message, Error> {
        read(kind, input).map_err(|errors| {
            errors
                .into_iter()
                .next()
                .map_or(Error::NotAnEventArray, |(_, e)| e)
        })
    }

    fn encode(message: &Message) -> Result<Vec<u8>, EncodeError> {
        let payload = message.event.payload()?;
        let value = match (message.form, &message.event) {
            (Form::Bare, _) | (_, Event::Status(_)) => payload,
            (Form::Args, event) => Value::Array(vec![Value::from(event.name()), payload]),
        };
        Ok(serde_json::to_vec(&value)?)
    }

    fn validate(kind: Option<&str>, input: &[u8]) -> Vec<Violation> {
        match read(kind, input) {
            Ok(_) => Vec::new(),
            Err(errors) => errors
                .iter()
                .map(|(field, e)| Violation::from_error(field.clone(), e))
                .collect(),
        }
    }
}
