//! The "Sockets" memo (`001_13ce220237596520.txt`): `register`, `message` and `disconnect` events
//! carried by Socket.IO, with `Server` notices when a user joins or leaves.
//!
//! # Input format
//!
//! A message is what one Socket.IO EVENT or ACK packet carries, without the packet header:
//!
//! - with no kind, the event's argument array as Socket.IO carries it:
//!   `["register", "alice"]`, `["message", {"from": "alice", "message": "hi"}]`;
//! - with kind = the event name, the bare payload: kind `register` reads `"alice"`, kind `message`
//!   reads `{"from": "alice", "message": "hi"}`;
//! - kind `notice`: the bare payload of a `message` event that must be a server notice,
//!   `{"from": "Server", "message": "alice has joined the chat"}` or `"... left the chat"`;
//! - kind `register-ack`: the acknowledgement arguments of `register`, `[true]` or `[false]`.
//!
//! `disconnect` is listed among the memo's events, but "it will be triggered only by the socket
//! itself" (§3.1.3): it is Socket.IO's local event, never sent, so an event array or kind naming it
//! is refused (`local-only-event`).
//!
//! A `message` from `Server` is a notice only when the sender is known to be the server: without
//! the `notice` kind it is read as any message, since a client may claim any `from` (the server
//! corrects it, §3.1.2).
//!
//! Rule ids: [`RULES`] (`chatspec rules --protocol sockets`).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::rules::{self, ids, CommonError, EncodeError, Need, RuleInfo, Walker};
use crate::{Dialect, Protocol, Rule, UnknownKind, Violation};

/// The codec of the "Sockets" memo.
pub struct Sockets;

/// The user name the server's notices come from.
pub const SERVER_USER: &str = "Server";

/// Which part of the memo (or of Socket.IO) a rule comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    /// `§3.1.1 Commands events`: the list of events.
    Commands,
    /// `§3.1.2 Message events`.
    MessageEvents,
    /// `§3.1.3 Disconnect events`.
    DisconnectEvents,
    /// `§3.1.4 Register events`.
    RegisterEvents,
    /// Socket.IO's event argument array.
    SocketIoEvent,
    /// Socket.IO's acknowledgement arguments.
    SocketIoAck,
}

impl Section {
    /// The document and section, as cited by violations.
    pub const fn spec(self) -> &'static str {
        match self {
            Section::Commands => "001_13ce220237596520.txt §3.1.1 Commands events",
            Section::MessageEvents => "001_13ce220237596520.txt §3.1.2 Message events",
            Section::DisconnectEvents => "001_13ce220237596520.txt §3.1.3 Disconnect events",
            Section::RegisterEvents => "001_13ce220237596520.txt §3.1.4 Register events",
            Section::SocketIoEvent => "socket.io-protocol v5 §Sending and receiving data",
            Section::SocketIoAck => "socket.io-protocol v5 §Acknowledgement",
        }
    }
}

/// A chat message, both directions: `{from, message}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatMessage {
    /// The sender's user name (`Server` for notices).
    pub from: String,
    /// The text.
    pub message: String,
    /// Fields the memo does not name, kept as they came.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl ChatMessage {
    /// A message from a user.
    pub fn new(from: impl Into<String>, message: impl Into<String>) -> Self {
        ChatMessage {
            from: from.into(),
            message: message.into(),
            extra: Map::new(),
        }
    }

    /// The server's notice `<username> has joined the chat`.
    pub fn joined(username: &str) -> Self {
        Notice::Joined(username.to_owned()).to_message()
    }

    /// The server's notice `<username> left the chat`.
    pub fn left(username: &str) -> Self {
        Notice::Left(username.to_owned()).to_message()
    }

    /// The notice this message is, if it comes from `Server` with a notice text.
    pub fn notice(&self) -> Option<Notice> {
        validate_notice(self).ok()
    }
}

/// A notice the server sends as a `message` event from `Server`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Notice {
    /// `<username> has joined the chat` (§3.1.4).
    Joined(String),
    /// `<username> left the chat` (§3.1.3).
    Left(String),
}

const JOINED_SUFFIX: &str = " has joined the chat";
const LEFT_SUFFIX: &str = " left the chat";

impl Notice {
    /// The notice's text.
    pub fn text(&self) -> String {
        match self {
            Notice::Joined(user) => format!("{user}{JOINED_SUFFIX}"),
            Notice::Left(user) => format!("{user}{LEFT_SUFFIX}"),
        }
    }

    /// The user the notice is about.
    pub fn username(&self) -> &str {
        match self {
            Notice::Joined(user) | Notice::Left(user) => user,
        }
    }

    /// Reads a notice text; `None` when it is neither form or names no user.
    pub fn parse(text: &str) -> Option<Notice> {
        if let Some(user) = text.strip_suffix(JOINED_SUFFIX) {
            (!user.is_empty()).then(|| Notice::Joined(user.to_owned()))
        } else if let Some(user) = text.strip_suffix(LEFT_SUFFIX) {
            (!user.is_empty()).then(|| Notice::Left(user.to_owned()))
        } else {
            None
        }
    }

    /// The `message` payload carrying this notice.
    pub fn to_message(&self) -> ChatMessage {
        ChatMessage::new(SERVER_USER, self.text())
    }
}

/// Checks that a message is a server notice: from `Server`, with a join or leave text.
pub fn validate_notice(message: &ChatMessage) -> Result<Notice, Error> {
    if message.from != SERVER_USER {
        return Err(Error::BadNotice {
            field: "from".into(),
            reason: format!(
                "a notice comes from `{SERVER_USER}`, not `{}`",
                message.from
            ),
        });
    }
    Notice::parse(&message.message).ok_or_else(|| Error::BadNotice {
        field: "message".into(),
        reason: format!(
            "`{}` is neither `<username> has joined the chat` nor `<username> left the chat`",
            message.message
        ),
    })
}

/// The memo's events as they travel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// `register` with the raw user name (client to server).
    Register(String),
    /// `message` with `{from, message}` (both directions).
    Message(ChatMessage),
}

impl Event {
    /// The event name.
    pub fn name(&self) -> &'static str {
        match self {
            Event::Register(_) => "register",
            Event::Message(_) => "message",
        }
    }

    fn payload(&self) -> Result<Value, EncodeError> {
        Ok(match self {
            Event::Register(name) => Value::String(name.clone()),
            Event::Message(m) => serde_json::to_value(m)?,
        })
    }
}

/// One decoded message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// A whole event argument array: `["message", {...}]`.
    Event(Event),
    /// An event's payload alone, read with the event name as kind.
    Payload(Event),
    /// The acknowledgement of `register`: `[true]` or `[false]`.
    RegisterAck(bool),
}

impl Message {
    /// The event array of a chat message.
    pub fn chat(from: &str, text: &str) -> Self {
        Message::Event(Event::Message(ChatMessage::new(from, text)))
    }

    /// The event array of a registration.
    pub fn register(username: &str) -> Self {
        Message::Event(Event::Register(username.to_owned()))
    }
}

/// Why a message is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// A rule every codec shares: UTF-8, JSON, a missing field, a wrong type, an empty value.
    #[error(transparent)]
    Common(#[from] CommonError),
    /// The kind is none of `message`, `register`, `register-ack`, `notice`.
    #[error("unknown kind `{0}`: expected message, register, register-ack or notice")]
    UnknownKind(String),
    /// An event or an acknowledgement is an array of arguments.
    #[error("expected an argument array, found {found}")]
    NotAnArray {
        /// The JSON type found.
        found: &'static str,
    },
    /// An empty event array: no event name.
    #[error("an event array starts with the event name")]
    MissingEventName,
    /// An event name the memo does not define.
    #[error("unknown event `{0}`: the memo defines message, register and disconnect")]
    UnknownEvent(String),
    /// `disconnect` on the wire: the socket raises it locally.
    #[error("`{0}` is raised by the socket itself and never sent")]
    LocalOnlyEvent(String),
    /// The event or acknowledgement lacks its argument.
    #[error("`{event}` carries one argument, none given")]
    MissingArgument {
        /// The event (or `register` ack).
        event: &'static str,
    },
    /// More arguments than the event carries.
    #[error("`{event}` carries one argument; extra argument at index {index}")]
    ExtraArgument {
        /// The event (or `register` ack).
        event: &'static str,
        /// Index of the first extra argument.
        index: usize,
    },
    /// A message read as a server notice that is not one.
    #[error("not a server notice: {reason}")]
    BadNotice {
        /// The field at fault.
        field: String,
        /// Why.
        reason: String,
    },
}

impl Rule for Error {
    fn rule(&self) -> &'static str {
        match self {
            Error::Common(e) => e.rule(),
            Error::UnknownKind(_) => ids::UNKNOWN_KIND,
            Error::NotAnArray { .. } => "not-an-array",
            Error::MissingEventName => "missing-event-name",
            Error::UnknownEvent(_) => ids::UNKNOWN_EVENT,
            Error::LocalOnlyEvent(_) => "local-only-event",
            Error::MissingArgument { .. } => "missing-argument",
            Error::ExtraArgument { .. } => "extra-argument",
            Error::BadNotice { .. } => "bad-notice",
        }
    }

    fn spec(&self) -> &'static str {
        match self {
            Error::Common(e) => e.spec(),
            Error::UnknownKind(_) | Error::UnknownEvent(_) => Section::Commands.spec(),
            Error::NotAnArray { .. } | Error::MissingEventName => Section::SocketIoEvent.spec(),
            Error::LocalOnlyEvent(_) => Section::DisconnectEvents.spec(),
            Error::MissingArgument { event, .. } | Error::ExtraArgument { event, .. } => {
                match *event {
                    "message" => Section::MessageEvents.spec(),
                    "register" => Section::RegisterEvents.spec(),
                    _ => Section::SocketIoAck.spec(),
                }
            }
            Error::BadNotice { .. } => Section::MessageEvents.spec(),
        }
    }
}

/// Every rule a Sockets message can break.
pub const RULES: &[RuleInfo] = &[
    rules::common(ids::UNKNOWN_KIND, Section::Commands.spec()),
    rules::common(ids::INVALID_UTF8, Section::SocketIoEvent.spec()),
    rules::common(ids::INVALID_JSON, Section::SocketIoEvent.spec()),
    RuleInfo::new(
        "not-an-array",
        Section::SocketIoEvent.spec(),
        "an event or an acknowledgement is not an argument array",
    ),
    RuleInfo::new(
        "missing-event-name",
        Section::SocketIoEvent.spec(),
        "an empty event array: no event name",
    ),
    rules::common(ids::UNKNOWN_EVENT, Section::Commands.spec()),
    RuleInfo::new(
        "local-only-event",
        Section::DisconnectEvents.spec(),
        "`disconnect` on the wire: the socket raises it locally and never sends it",
    ),
    RuleInfo::new(
        "missing-argument",
        "001_13ce220237596520.txt §3.1.2 Message events, §3.1.4 Register events",
        "an event or the register acknowledgement lacks its argument",
    ),
    RuleInfo::new(
        "extra-argument",
        "001_13ce220237596520.txt §3.1.2 Message events, §3.1.4 Register events",
        "an event or the register acknowledgement carries more than one argument",
    ),
    rules::common(ids::MISSING_FIELD, Section::MessageEvents.spec()),
    rules::common(ids::WRONG_TYPE, "001_13ce220237596520.txt §3.1.2, §3.1.4"),
    rules::common(ids::EMPTY_VALUE, Section::RegisterEvents.spec()),
    RuleInfo::new(
        "bad-notice",
        Section::MessageEvents.spec(),
        "a message read as a server notice is not from `Server` or not a join/leave text",
    ),
];

/// The kinds this codec reads: what a bare payload is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `register`: the raw user name.
    Register,
    /// `message`: `{from, message}`.
    Message,
    /// `notice`: a `message` payload that must be a server notice.
    Notice,
    /// `register-ack`: the acknowledgement arguments of `register`.
    RegisterAck,
}

impl Kind {
    /// Every kind.
    pub const ALL: [Kind; 4] = [
        Kind::Register,
        Kind::Message,
        Kind::Notice,
        Kind::RegisterAck,
    ];

    /// The kind as written.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Register => "register",
            Kind::Message => "message",
            Kind::Notice => "notice",
            Kind::RegisterAck => "register-ack",
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
        Kind::ALL
            .into_iter()
            .find(|k| k.name() == s)
            .ok_or_else(|| UnknownKind::new(s))
    }
}

/// The ack event name used in errors about `register` acknowledgements.
const REGISTER_ACK: &str = "register ack";

struct Checker {
    w: Walker<Error>,
}

impl Checker {
    fn push(&mut self, field: impl Into<String>, error: Error) {
        self.w.push(field, error);
    }

    fn wrong(&mut self, field: String, expected: &'static str, section: Section) {
        self.w.spec = section.spec();
        self.w.wrong_type(field, expected);
    }

    fn string_field(
        &mut self,
        map: &Map<String, Value>,
        prefix: &str,
        key: &str,
    ) -> Option<String> {
        self.w.spec = Section::MessageEvents.spec();
        self.w
            .string(map, prefix, key, Need::Required)
            .map(str::to_owned)
    }

    fn chat_message(&mut self, value: &Value, prefix: &str) -> Option<ChatMessage> {
        let Value::Object(map) = value else {
            self.wrong(
                prefix.to_owned(),
                "an object {from, message}",
                Section::MessageEvents,
            );
            return None;
        };
        let from = self.string_field(map, prefix, "from");
        let message = self.string_field(map, prefix, "message");
        Some(ChatMessage {
            from: from?,
            message: message?,
            extra: map
                .iter()
                .filter(|(k, _)| *k != "from" && *k != "message")
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        })
    }

    fn notice(&mut self, value: &Value, prefix: &str) -> Option<ChatMessage> {
        let message = self.chat_message(value, prefix)?;
        match validate_notice(&message) {
            Ok(_) => Some(message),
            Err(Error::BadNotice { field, reason }) => {
                let field = rules::join(prefix, &field);
                self.push(field.clone(), Error::BadNotice { field, reason });
                None
            }
            Err(e) => {
                self.push(prefix, e);
                None
            }
        }
    }

    fn username(&mut self, value: &Value, field: &str) -> Option<String> {
        match value {
            Value::String(s) if s.is_empty() => {
                self.w.spec = Section::RegisterEvents.spec();
                self.w.empty(field.to_owned());
                None
            }
            Value::String(s) => Some(s.clone()),
            _ => {
                self.wrong(
                    field.to_owned(),
                    "the raw username string",
                    Section::RegisterEvents,
                );
                None
            }
        }
    }

    /// Checks an argument array has exactly one argument after `skip` leading items.
    fn one_argument<'v>(
        &mut self,
        items: &'v [Value],
        skip: usize,
        event: &'static str,
    ) -> Option<&'v Value> {
        if items.len() > skip + 1 {
            self.push(
                format!("[{}]", skip + 1),
                Error::ExtraArgument {
                    event,
                    index: skip + 1,
                },
            );
        }
        match items.get(skip) {
            Some(v) => Some(v),
            None => {
                self.push("", Error::MissingArgument { event });
                None
            }
        }
    }

    fn event_array(&mut self, value: &Value) -> Option<Message> {
        let Value::Array(items) = value else {
            self.push(
                "",
                Error::NotAnArray {
                    found: rules::json_type(value),
                },
            );
            return None;
        };
        let name = match items.first() {
            None => {
                self.push("", Error::MissingEventName);
                return None;
            }
            Some(Value::String(name)) => name.as_str(),
            Some(_) => {
                self.wrong(
                    "[0]".into(),
                    "the event name string",
                    Section::SocketIoEvent,
                );
                return None;
            }
        };
        match name {
            "register" => {
                let arg = self.one_argument(items, 1, "register");
                let name = self.username(arg?, "[1]")?;
                (self.w.is_clean()).then_some(Message::Event(Event::Register(name)))
            }
            "message" => {
                let arg = self.one_argument(items, 1, "message");
                let message = self.chat_message(arg?, "[1]")?;
                (self.w.is_clean()).then_some(Message::Event(Event::Message(message)))
            }
            "disconnect" => {
                self.push("[0]", Error::LocalOnlyEvent(name.to_owned()));
                None
            }
            _ => {
                self.push("[0]", Error::UnknownEvent(name.to_owned()));
                None
            }
        }
    }

    fn register_ack(&mut self, value: &Value) -> Option<Message> {
        let Value::Array(items) = value else {
            self.push(
                "",
                Error::NotAnArray {
                    found: rules::json_type(value),
                },
            );
            return None;
        };
        let arg = self.one_argument(items, 0, REGISTER_ACK)?;
        let Value::Bool(accepted) = arg else {
            self.wrong("[0]".into(), "a boolean", Section::RegisterEvents);
            return None;
        };
        (self.w.is_clean()).then_some(Message::RegisterAck(*accepted))
    }

    fn message(&mut self, kind: Option<&str>, input: &[u8]) -> Option<Message> {
        let kind = match kind.map(str::parse::<Kind>) {
            None => None,
            Some(Ok(kind)) => Some(kind),
            Some(Err(_)) if kind == Some("disconnect") => {
                self.push("", Error::LocalOnlyEvent("disconnect".into()));
                return None;
            }
            Some(Err(e)) => {
                self.push("", Error::UnknownKind(e.kind));
                return None;
            }
        };
        let value = match rules::parse_json(input, Section::SocketIoEvent.spec()) {
            Ok(value) => value,
            Err(e) => {
                self.w.common(e);
                return None;
            }
        };
        match kind {
            None => self.event_array(&value),
            Some(Kind::Register) => self
                .username(&value, "")
                .map(|n| Message::Payload(Event::Register(n))),
            Some(Kind::Message) => self
                .chat_message(&value, "")
                .map(|m| Message::Payload(Event::Message(m))),
            Some(Kind::Notice) => self
                .notice(&value, "")
                .map(|m| Message::Payload(Event::Message(m))),
            Some(Kind::RegisterAck) => self.register_ack(&value),
        }
    }
}

fn check(kind: Option<&str>, input: &[u8]) -> (Option<Message>, Vec<(String, Error)>) {
    let mut checker = Checker {
        w: Walker::new(Section::SocketIoEvent.spec()),
    };
    let message = checker.message(kind, input);
    let problems = checker.w.into_found();
    if problems.is_empty() {
        (message, problems)
    } else {
        (None, problems)
    }
}

impl Dialect for Sockets {
    const PROTOCOL: Protocol = Protocol::Sockets;
    const DOCUMENT: &'static str = "001_13ce220237596520.txt";
    /// The memo's messages carry no ids: users are named by `from`.
    const ID_FIELDS: &'static [&'static str] = &[];
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
        match check(kind, input) {
            (Some(message), _) => Ok(message),
            (None, mut problems) if !problems.is_empty() => Err(problems.swap_remove(0).1),
            // Every path that yields no message reports a problem; stay total anyway.
            (None, _) => Err(Error::MissingEventName),
        }
    }

    fn encode(message: &Message) -> Result<Vec<u8>, EncodeError> {
        let value = match message {
            Message::Event(event) => Value::Array(vec![
                Value::String(event.name().to_owned()),
                event.payload()?,
            ]),
            Message::Payload(event) => event.payload()?,
            Message::RegisterAck(accepted) => Value::Array(vec![Value::Bool(*accepted)]),
        };
        Ok(serde_json::to_vec(&value)?)
    }

    fn validate(kind: Option<&str>, input: &[u8]) -> Vec<Violation> {
        check(kind, input)
            .1
            .iter()
            .map(|(field, error)| Violation::from_error(field.clone(), error))
            .collect()
    }
}
