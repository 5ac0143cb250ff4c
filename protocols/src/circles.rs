//! Circles (`003_415bfb4e4fd8fc5e.txt`): the Flask-SocketIO channels of the Circles app —
//! authentication, circles, conversations, messages, `writing`, media and WebRTC configuration.
//!
//! # Input
//!
//! A message is one Socket.IO event's argument array as the EVENT packet carries it,
//! `["join_circle", {"circle_id": 3}]`, or, with a kind naming the channel, the bare first
//! argument (`{"circle_id": 3}`). Events without arguments are `["webrtc_stun_info"]` in the
//! array form and empty input in the bare form.
//!
//! Three channel names are used in both directions: `message` and `writing` (client sends,
//! server notifies), and `webrtc_forward` (client sends; the public server also delivers the
//! forwarded message on it, where the document says `webrtc_config`). Kinds therefore are:
//!
//! - `<channel>`: the bare payload. `message` and `writing` are the server's notices;
//!   `webrtc_forward` and every other listened channel are the client's requests.
//! - `client:<channel>` / `server:<channel>`: the bare payload, direction explicit
//!   (`client:message`, `client:writing`, `server:webrtc_forward`; also allowed for the others).
//!   `client.<channel>` / `server.<channel>` are the same kinds spelled for file names.
//! - `None`: the argument array, names resolved as for a bare `<channel>` kind.
//! - `client` / `server`: the argument array, read in that direction.
//!
//! Client → server (`Listened Channels`): `connect`, `disconnect` (no arguments; on the wire they
//! are Socket.IO CONNECT / DISCONNECT packets, never EVENTs, so only their bare kinds
//! `client:connect` / `client:disconnect` with empty input are accepted and the arrays
//! `["connect"]`, `["disconnect"]` are refused as `reserved-event`), `authenticate {token}`,
//! `join_conversation` / `leave_conversation {conversation_id}`, `join_circle` / `leave_circle
//! {circle_id}`, `message {conversation_id, text_message?, files?}`, `writing {conversation_id,
//! is_writing}`, `webrtc_credentials`, `webrtc_stun_info`, `webrtc_turn_info` (no arguments), and
//! `webrtc_forward {email | user_id | device_id, ...}` (the rest of the object is the forwarded
//! message).
//!
//! Server → client: `error` (a string, as Flask-SocketIO's handlers emit `str(e)`), `success`
//! (a string or an object), `circle_invite {event: "invite", circle_id}`, `circle {event,
//! circle_id, ...}`, `conversation {conversation_id, event?, ...}`, `message` (sent: `status`
//! `done` / `pending`; `event` `delete` / `update`), `writing {conversation_id, device, user?,
//! is_writing}`, `media {media_list, message_id}`, `webrtc_config` (a TURN or STUN server list,
//! credentials, or a forwarded message) and `server:webrtc_forward` (a forwarded message).
//!
//! # Choices where the document is silent
//!
//! - Ids (`circle_id`, `conversation_id`, `message_id`, `device_id`, `user_id`, `sender_id`) are
//!   non-negative JSON integers.
//! - The conversation events are shown as empty JSON; an object with `conversation_id` is
//!   accepted. `event` is optional; when present it is one the public server sends (`update`,
//!   `invite`, `promoted`, `kick`, `quit`, `device`), and `type` one of `add` / `remove`.
//! - `circle` events: `join`, `quit`, `connect`, `disconnect` carry `user`; `kick` carries `user`
//!   and `from`; `device` carries `type` (`update` / `connect` / `disconnect`) and `device_id`;
//!   `update` nothing more. `delete` (circle deleted), sent by the public server but not in the
//!   document, is accepted.
//! - A `message` notice has exactly one of `status` and `event`. `done` carries `message`,
//!   `time`, `sender` and `media_list`; `pending` carries `message`; `delete` / `update` carry
//!   `message_id`. `message` and `sender` are objects whose content is not judged.
//! - `writing.is_writing` is a boolean, as the client sends it (the public server re-emits it
//!   as the string `"True"` / `"False"`, which this module refuses).
//! - `media_list` holds objects; TURN / STUN entries are `{domain, ip, port}`.
//! - Fields the document does not name are kept (re-encoded as they came) and not judged.
//!
//! Violation fields are dotted paths inside the payload (`media_list[0]`); `""` names the
//! whole message.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::rules::{self, ids, CommonError, EncodeError, RuleInfo, Walker};
use crate::{Dialect, Protocol, Rule, UnknownKind, Violation};

const SPEC_BASICS: &str = "003_415bfb4e4fd8fc5e.txt §Basics";
const SPEC_LISTENED: &str = "003_415bfb4e4fd8fc5e.txt §Listened Channels";
const SPEC_CIRCLE: &str = "003_415bfb4e4fd8fc5e.txt §Circle Events";
const SPEC_CONVERSATION: &str = "003_415bfb4e4fd8fc5e.txt §Conversations Events";
const SPEC_MESSAGES: &str = "003_415bfb4e4fd8fc5e.txt §Messages Events";
const SPEC_MEDIA: &str = "003_415bfb4e4fd8fc5e.txt §Medias Events";
const SPEC_WEBRTC: &str = "003_415bfb4e4fd8fc5e.txt §Events Webrtc";
const SPEC_PACKET: &str = "socket.io-protocol v5 §Packet encoding";

/// The Circles codec.
pub struct Circles;

/// How a message is written: the whole argument array, or the bare first argument.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Form {
    /// `["channel", payload]` (or `["channel"]`), as a Socket.IO EVENT packet carries it.
    Args,
    /// The payload alone (empty for events without arguments); its kind says which event.
    Bare,
}

/// Who sends a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// Client → server (the document's listened channels).
    Client,
    /// Server → client.
    Server,
}

/// One Circles message: the event and the form it was (or will be) written in.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    /// Argument array or bare payload.
    pub form: Form,
    /// What the message says.
    pub event: Event,
}

impl Message {
    /// The event as a Socket.IO argument array; `connect` / `disconnect` stay bare.
    pub fn args(event: Event) -> Self {
        let form = if matches!(event, Event::Connect | Event::Disconnect) {
            Form::Bare
        } else {
            Form::Args
        };
        Message { form, event }
    }

    /// The event's payload alone; decode it with `kind = event.kind()`.
    pub fn bare(event: Event) -> Self {
        Message {
            form: Form::Bare,
            event,
        }
    }

    /// The kind to decode this message's encoding with.
    pub fn kind(&self) -> &'static str {
        match self.form {
            Form::Bare => self.event.kind(),
            Form::Args => match self.event.direction() {
                Direction::Client => "client",
                Direction::Server => "server",
            },
        }
    }
}

/// Every Circles event, both directions.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// `connect` (client): the Socket.IO connection itself.
    Connect,
    /// `disconnect` (client): the Socket.IO disconnection itself.
    Disconnect,
    /// `authenticate` (client): present the user's or device's JWT.
    Authenticate(Authenticate),
    /// `join_conversation` (client).
    JoinConversation(ConversationRef),
    /// `leave_conversation` (client).
    LeaveConversation(ConversationRef),
    /// `join_circle` (client).
    JoinCircle(CircleRef),
    /// `leave_circle` (client).
    LeaveCircle(CircleRef),
    /// `message` (client): send a message to a conversation.
    SendMessage(SendMessage),
    /// `writing` (client): the user is (not) typing.
    Writing(Writing),
    /// `webrtc_credentials` (client): ask for TURN credentials.
    WebrtcCredentials,
    /// `webrtc_stun_info` (client): ask for the STUN servers.
    WebrtcStunInfo,
    /// `webrtc_turn_info` (client): ask for the TURN servers.
    WebrtcTurnInfo,
    /// `webrtc_forward` (client): forward a JSON message to a user or device.
    WebrtcForward(WebrtcForward),
    /// `error` (server): why a request failed.
    Error(String),
    /// `success` (server): a request succeeded.
    Success(Success),
    /// `circle_invite` (server): the user is invited to a circle.
    CircleInvite(CircleInvite),
    /// `circle` (server): something happened in a circle.
    Circle(CircleNotice),
    /// `conversation` (server): something happened in a conversation.
    Conversation(ConversationNotice),
    /// `message` (server): a message was sent, deleted or updated.
    MessageNotice(MessageNotice),
    /// `writing` (server): someone in the conversation is (not) typing.
    WritingNotice(WritingNotice),
    /// `media` (server): the medias a message waits for.
    Media(Media),
    /// `webrtc_config` (server): servers, credentials or a forwarded message.
    WebrtcConfig(WebrtcConfig),
    /// `webrtc_forward` (server): a forwarded message, where the public server delivers it.
    WebrtcForwarded(Forwarded),
}

impl Event {
    /// The Socket.IO channel (event name).
    pub fn name(&self) -> &'static str {
        self.channel().name()
    }

    /// Who sends it.
    pub fn direction(&self) -> Direction {
        self.channel().direction()
    }

    /// The kind that reads its bare payload (`client:message`, `server:webrtc_forward`, `circle`).
    pub fn kind(&self) -> &'static str {
        self.channel().kind()
    }

    /// The payload as JSON; `None` for events without arguments.
    pub fn payload(&self) -> Result<Option<Value>, EncodeError> {
        let v = match self {
            Event::Connect
            | Event::Disconnect
            | Event::WebrtcCredentials
            | Event::WebrtcStunInfo
            | Event::WebrtcTurnInfo => return Ok(None),
            Event::Authenticate(p) => serde_json::to_value(p),
            Event::JoinConversation(p) | Event::LeaveConversation(p) => serde_json::to_value(p),
            Event::JoinCircle(p) | Event::LeaveCircle(p) => serde_json::to_value(p),
            Event::SendMessage(p) => serde_json::to_value(p),
            Event::Writing(p) => serde_json::to_value(p),
            Event::WebrtcForward(p) => serde_json::to_value(p),
            Event::Error(p) => serde_json::to_value(p),
            Event::Success(p) => serde_json::to_value(p),
            Event::CircleInvite(p) => serde_json::to_value(p),
            Event::Circle(p) => serde_json::to_value(p),
            Event::Conversation(p) => serde_json::to_value(p),
            Event::MessageNotice(p) => serde_json::to_value(p),
            Event::WritingNotice(p) => serde_json::to_value(p),
            Event::Media(p) => serde_json::to_value(p),
            Event::WebrtcConfig(p) => serde_json::to_value(p),
            Event::WebrtcForwarded(p) => serde_json::to_value(p),
        };
        Ok(Some(v?))
    }

    fn channel(&self) -> Channel {
        match self {
            Event::Connect => Channel::Connect,
            Event::Disconnect => Channel::Disconnect,
            Event::Authenticate(_) => Channel::Authenticate,
            Event::JoinConversation(_) => Channel::JoinConversation,
            Event::LeaveConversation(_) => Channel::LeaveConversation,
            Event::JoinCircle(_) => Channel::JoinCircle,
            Event::LeaveCircle(_) => Channel::LeaveCircle,
            Event::SendMessage(_) => Channel::SendMessage,
            Event::Writing(_) => Channel::Writing,
            Event::WebrtcCredentials => Channel::WebrtcCredentials,
            Event::WebrtcStunInfo => Channel::WebrtcStunInfo,
            Event::WebrtcTurnInfo => Channel::WebrtcTurnInfo,
            Event::WebrtcForward(_) => Channel::WebrtcForward,
            Event::Error(_) => Channel::Error,
            Event::Success(_) => Channel::Success,
            Event::CircleInvite(_) => Channel::CircleInvite,
            Event::Circle(_) => Channel::Circle,
            Event::Conversation(_) => Channel::Conversation,
            Event::MessageNotice(_) => Channel::MessageNotice,
            Event::WritingNotice(_) => Channel::WritingNotice,
            Event::Media(_) => Channel::Media,
            Event::WebrtcConfig(_) => Channel::WebrtcConfig,
            Event::WebrtcForwarded(_) => Channel::WebrtcForwarded,
        }
    }
}

/// `authenticate` payload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Authenticate {
    /// The user's or device's JWT.
    pub token: String,
    /// Fields the document does not name, kept as they came.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `join_conversation` / `leave_conversation` payload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConversationRef {
    /// The conversation.
    pub conversation_id: u64,
    /// Fields the document does not name, kept as they came.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `join_circle` / `leave_circle` payload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CircleRef {
    /// The circle.
    pub circle_id: u64,
    /// Fields the document does not name, kept as they came.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `message` payload sent by a client.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SendMessage {
    /// The conversation.
    pub conversation_id: u64,
    /// The text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text_message: Option<String>,
    /// File names to upload afterwards (`["file.txt", ...]`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub files: Option<Vec<String>>,
    /// Fields the document does not name, kept as they came.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `writing` payload sent by a client.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Writing {
    /// The conversation.
    pub conversation_id: u64,
    /// Typing or not.
    pub is_writing: bool,
    /// Fields the document does not name, kept as they came.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `webrtc_forward` payload: a recipient and the message to forward.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WebrtcForward {
    /// Recipient user by email (tried first).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Recipient user by id (tried second).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<u64>,
    /// Recipient device by id (tried last).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_id: Option<u64>,
    /// The rest of the object: the message forwarded.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `success` payload: a sentence, or an object such as `{received, message_id}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Success {
    /// A sentence (`"User authenticated"`).
    Text(String),
    /// An object.
    Object(Map<String, Value>),
}

/// The one value of `circle_invite.event`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum InviteEvent {
    /// `invite`.
    #[serde(rename = "invite")]
    Invite,
}

/// `circle_invite` payload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CircleInvite {
    /// Always `invite`.
    pub event: InviteEvent,
    /// The circle.
    pub circle_id: u64,
    /// Fields the document does not name (the public server adds `circle_invite_id`).
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `circle.event` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CircleEvent {
    /// A user joined (`user`).
    Join,
    /// A user left (`user`).
    Quit,
    /// A user was kicked (`user`, `from`).
    Kick,
    /// The circle's info changed.
    Update,
    /// A user connected (`user`).
    Connect,
    /// A user disconnected (`user`).
    Disconnect,
    /// A device event (`type`, `device_id`).
    Device,
    /// The circle was deleted (public server; not in the document).
    Delete,
}

impl CircleEvent {
    /// Every value.
    pub const ALL: [CircleEvent; 8] = [
        CircleEvent::Join,
        CircleEvent::Quit,
        CircleEvent::Kick,
        CircleEvent::Update,
        CircleEvent::Connect,
        CircleEvent::Disconnect,
        CircleEvent::Device,
        CircleEvent::Delete,
    ];

    /// As the wire writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            CircleEvent::Join => "join",
            CircleEvent::Quit => "quit",
            CircleEvent::Kick => "kick",
            CircleEvent::Update => "update",
            CircleEvent::Connect => "connect",
            CircleEvent::Disconnect => "disconnect",
            CircleEvent::Device => "device",
            CircleEvent::Delete => "delete",
        }
    }
}

/// `circle` device event `type` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DeviceEvent {
    /// The device's info changed.
    Update,
    /// The device connected.
    Connect,
    /// The device disconnected.
    Disconnect,
}

impl DeviceEvent {
    /// Every value.
    pub const ALL: [DeviceEvent; 3] = [
        DeviceEvent::Update,
        DeviceEvent::Connect,
        DeviceEvent::Disconnect,
    ];

    /// As the wire writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            DeviceEvent::Update => "update",
            DeviceEvent::Connect => "connect",
            DeviceEvent::Disconnect => "disconnect",
        }
    }
}

/// `circle` payload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CircleNotice {
    /// What happened.
    pub event: CircleEvent,
    /// The circle.
    pub circle_id: u64,
    /// The user concerned (email).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// Who kicked (email).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// The device event, for `event: device`.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub device_event: Option<DeviceEvent>,
    /// The device, for `event: device`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_id: Option<u64>,
    /// Fields the document does not name, kept as they came.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `conversation.event` values (public server; the document shows none).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ConversationEvent {
    /// Info update.
    Update,
    /// Invite.
    Invite,
    /// User promotion.
    Promoted,
    /// User kick.
    Kick,
    /// User quit.
    Quit,
    /// Device added or removed (`type`).
    Device,
}

impl ConversationEvent {
    /// Every value.
    pub const ALL: [ConversationEvent; 6] = [
        ConversationEvent::Update,
        ConversationEvent::Invite,
        ConversationEvent::Promoted,
        ConversationEvent::Kick,
        ConversationEvent::Quit,
        ConversationEvent::Device,
    ];

    /// As the wire writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            ConversationEvent::Update => "update",
            ConversationEvent::Invite => "invite",
            ConversationEvent::Promoted => "promoted",
            ConversationEvent::Kick => "kick",
            ConversationEvent::Quit => "quit",
            ConversationEvent::Device => "device",
        }
    }
}

/// `conversation` device event `type` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ConversationDeviceEvent {
    /// The circle's device joined the conversation.
    Add,
    /// The circle's device left the conversation.
    Remove,
}

/// `conversation` payload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConversationNotice {
    /// The conversation.
    pub conversation_id: u64,
    /// What happened, when said.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event: Option<ConversationEvent>,
    /// The user concerned (email).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// Who kicked (email).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// Device added or removed, for `event: device`.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub device_event: Option<ConversationDeviceEvent>,
    /// Fields the document does not name, kept as they came.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `message.status` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MessageStatus {
    /// Sent, no media pending.
    Done,
    /// Sent, waiting for its medias.
    Pending,
}

/// `message.event` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MessageEvent {
    /// Deleted.
    Delete,
    /// Updated.
    Update,
}

/// `message` payload sent by the server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MessageNotice {
    /// The conversation.
    pub conversation_id: u64,
    /// For a sent message: `done` or `pending`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<MessageStatus>,
    /// For a changed message: `delete` or `update`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event: Option<MessageEvent>,
    /// The message's content (sent messages).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<Map<String, Value>>,
    /// When it was sent (`done`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time: Option<String>,
    /// The sender's content (`done`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sender: Option<Map<String, Value>>,
    /// The message's medias (`done`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_list: Option<Vec<Map<String, Value>>>,
    /// The message (`delete`, `update`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_id: Option<u64>,
    /// Fields the document does not name, kept as they came.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `writing` payload sent by the server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WritingNotice {
    /// The conversation.
    pub conversation_id: u64,
    /// Whether a device (not a user) is writing.
    pub device: bool,
    /// The user writing (email); present when `device` is false.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// Typing or not.
    pub is_writing: bool,
    /// Fields the document does not name, kept as they came.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `media` payload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Media {
    /// The medias to upload.
    pub media_list: Vec<Map<String, Value>>,
    /// The message they belong to.
    pub message_id: u64,
    /// Fields the document does not name, kept as they came.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `webrtc_config` payload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum WebrtcConfig {
    /// The TURN or STUN server list (the wire does not say which was asked for).
    Servers(Vec<IceServer>),
    /// A forwarded message.
    Forwarded(Forwarded),
    /// TURN credentials.
    Credentials(Credentials),
}

/// One TURN or STUN server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IceServer {
    /// Domain name.
    pub domain: String,
    /// IP address, possibly empty.
    pub ip: String,
    /// Port.
    pub port: u16,
    /// Fields the document does not name, kept as they came.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// TURN credentials.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Credentials {
    /// User name.
    pub username: String,
    /// Password.
    pub password: String,
    /// Fields the document does not name, kept as they came.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A message forwarded from another user or device.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Forwarded {
    /// The sender's id.
    pub sender_id: u64,
    /// Whether the sender is a device.
    pub is_device: bool,
    /// The JSON the sender forwarded.
    pub content: Map<String, Value>,
    /// Fields the document does not name, kept as they came.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Why a Circles message is refused. Fields are dotted paths inside the payload.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// A rule every codec shares: UTF-8, JSON, a missing field, a wrong type, a bad id, an
    /// out-of-range port, an empty value, a value outside its set.
    #[error(transparent)]
    Common(#[from] CommonError),
    /// Without a channel kind the input must be an argument array whose first element is the name.
    #[error("expected a Socket.IO event argument array [\"name\", ...]")]
    NotAnEventArray,
    /// The kind given is none this module knows.
    #[error("unknown kind `{0}`")]
    UnknownKind(String),
    /// The channel is none the document lists (in that direction).
    #[error("unknown channel `{0}`")]
    UnknownEvent(String),
    /// `connect` / `disconnect` sent as an EVENT: they are the Socket.IO connection itself.
    #[error("`{0}` is the Socket.IO connection itself, not an event to emit")]
    ReservedEvent(String),
    /// The event carries a number of arguments other than the channel takes.
    #[error("channel `{event}` takes {expected} argument(s); found {found}")]
    WrongArgumentCount {
        /// The channel.
        event: &'static str,
        /// How many it takes.
        expected: usize,
        /// How many came.
        found: usize,
        /// The section the channel is listed in.
        spec: &'static str,
    },
    /// `webrtc_forward` names no recipient (`email`, `user_id` or `device_id`).
    #[error("webrtc_forward names no recipient: one of email, user_id, device_id is required")]
    MissingRecipient,
    /// Two fields that exclude each other are both present (`status` and `event`).
    #[error("`{first}` and `{second}` exclude each other")]
    ConflictingFields {
        /// The field reported.
        first: &'static str,
        /// The field it conflicts with.
        second: &'static str,
        /// The section that shows the shapes.
        spec: &'static str,
    },
}

impl Error {
    /// The dotted path of the field the error is about (`""` for the whole message).
    pub fn field(&self) -> &str {
        match self {
            Error::Common(e) => e.field(),
            Error::ConflictingFields { first, .. } => first,
            _ => "",
        }
    }
}

impl Error {
    /// The same error about `prefix` joined with its field (for items of a list).
    pub fn prefixed(self, prefix: &str) -> Self {
        match self {
            Error::Common(e) => Error::Common(e.prefixed(prefix)),
            other => other,
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
            Error::ReservedEvent(_) => "reserved-event",
            Error::WrongArgumentCount { .. } => ids::WRONG_ARGUMENT_COUNT,
            Error::MissingRecipient => "missing-recipient",
            Error::ConflictingFields { .. } => "conflicting-fields",
        }
    }

    fn spec(&self) -> &'static str {
        match self {
            Error::Common(e) => e.spec(),
            Error::NotAnEventArray => SPEC_PACKET,
            Error::UnknownKind(_) | Error::UnknownEvent(_) | Error::MissingRecipient => {
                SPEC_LISTENED
            }
            Error::ReservedEvent(_) => SPEC_BASICS,
            Error::WrongArgumentCount { spec, .. } | Error::ConflictingFields { spec, .. } => spec,
        }
    }
}

/// Every rule a Circles message can break.
pub const RULES: &[RuleInfo] = &[
    rules::common(ids::INVALID_UTF8, SPEC_PACKET),
    rules::common(ids::INVALID_JSON, SPEC_PACKET),
    rules::common(ids::NOT_AN_EVENT_ARRAY, SPEC_PACKET),
    rules::common(ids::UNKNOWN_KIND, SPEC_LISTENED),
    rules::common(ids::UNKNOWN_EVENT, SPEC_LISTENED),
    RuleInfo::new(
        "reserved-event",
        SPEC_BASICS,
        "`connect` / `disconnect` sent as an EVENT: they are the Socket.IO connection itself",
    ),
    rules::common(ids::WRONG_ARGUMENT_COUNT, SPEC_LISTENED),
    rules::common(
        ids::MISSING_FIELD,
        "003_415bfb4e4fd8fc5e.txt (the channel's section)",
    ),
    rules::common(
        ids::WRONG_TYPE,
        "003_415bfb4e4fd8fc5e.txt (the channel's section)",
    ),
    rules::common(
        ids::BAD_ID,
        "003_415bfb4e4fd8fc5e.txt (the channel's section)",
    ),
    rules::common(ids::OUT_OF_RANGE, SPEC_WEBRTC),
    rules::common(ids::EMPTY_VALUE, SPEC_LISTENED),
    rules::common(
        ids::UNKNOWN_VALUE,
        "003_415bfb4e4fd8fc5e.txt (the channel's section)",
    ),
    RuleInfo::new(
        "missing-recipient",
        SPEC_LISTENED,
        "webrtc_forward names no recipient (email, user_id or device_id)",
    ),
    RuleInfo::new(
        "conflicting-fields",
        SPEC_MESSAGES,
        "two fields that exclude each other are both present (`status` and `event`)",
    ),
];

/// Every channel, per direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Channel {
    Connect,
    Disconnect,
    Authenticate,
    JoinConversation,
    LeaveConversation,
    JoinCircle,
    LeaveCircle,
    SendMessage,
    Writing,
    WebrtcCredentials,
    WebrtcStunInfo,
    WebrtcTurnInfo,
    WebrtcForward,
    Error,
    Success,
    CircleInvite,
    Circle,
    Conversation,
    MessageNotice,
    WritingNotice,
    Media,
    WebrtcConfig,
    WebrtcForwarded,
}

impl Channel {
    const CLIENT: [Channel; 13] = [
        Channel::Connect,
        Channel::Disconnect,
        Channel::Authenticate,
        Channel::JoinConversation,
        Channel::LeaveConversation,
        Channel::JoinCircle,
        Channel::LeaveCircle,
        Channel::SendMessage,
        Channel::Writing,
        Channel::WebrtcCredentials,
        Channel::WebrtcStunInfo,
        Channel::WebrtcTurnInfo,
        Channel::WebrtcForward,
    ];
    const SERVER: [Channel; 10] = [
        Channel::Error,
        Channel::Success,
        Channel::CircleInvite,
        Channel::Circle,
        Channel::Conversation,
        Channel::MessageNotice,
        Channel::WritingNotice,
        Channel::Media,
        Channel::WebrtcConfig,
        Channel::WebrtcForwarded,
    ];

    fn name(self) -> &'static str {
        match self {
            Channel::Connect => "connect",
            Channel::Disconnect => "disconnect",
            Channel::Authenticate => "authenticate",
            Channel::JoinConversation => "join_conversation",
            Channel::LeaveConversation => "leave_conversation",
            Channel::JoinCircle => "join_circle",
            Channel::LeaveCircle => "leave_circle",
            Channel::SendMessage | Channel::MessageNotice => "message",
            Channel::Writing | Channel::WritingNotice => "writing",
            Channel::WebrtcCredentials => "webrtc_credentials",
            Channel::WebrtcStunInfo => "webrtc_stun_info",
            Channel::WebrtcTurnInfo => "webrtc_turn_info",
            Channel::WebrtcForward | Channel::WebrtcForwarded => "webrtc_forward",
            Channel::Error => "error",
            Channel::Success => "success",
            Channel::CircleInvite => "circle_invite",
            Channel::Circle => "circle",
            Channel::Conversation => "conversation",
            Channel::Media => "media",
            Channel::WebrtcConfig => "webrtc_config",
        }
    }

    fn direction(self) -> Direction {
        if Channel::CLIENT.contains(&self) {
            Direction::Client
        } else {
            Direction::Server
        }
    }

    fn kind(self) -> &'static str {
        match self {
            Channel::SendMessage => "client:message",
            Channel::Writing => "client:writing",
            Channel::WebrtcForwarded => "server:webrtc_forward",
            other => other.name(),
        }
    }

    fn arguments(self) -> usize {
        match self {
            Channel::Connect
            | Channel::Disconnect
            | Channel::WebrtcCredentials
            | Channel::WebrtcStunInfo
            | Channel::WebrtcTurnInfo => 0,
            _ => 1,
        }
    }

    fn spec(self) -> &'static str {
        match self {
            Channel::Connect | Channel::Disconnect => SPEC_BASICS,
            Channel::Authenticate
            | Channel::JoinConversation
            | Channel::LeaveConversation
            | Channel::JoinCircle
            | Channel::LeaveCircle
            | Channel::SendMessage
            | Channel::Writing
            | Channel::WebrtcCredentials
            | Channel::WebrtcStunInfo
            | Channel::WebrtcTurnInfo
            | Channel::WebrtcForward
            | Channel::Error
            | Channel::Success => SPEC_LISTENED,
            Channel::CircleInvite | Channel::Circle => SPEC_CIRCLE,
            Channel::Conversation => SPEC_CONVERSATION,
            Channel::MessageNotice | Channel::WritingNotice => SPEC_MESSAGES,
            Channel::Media => SPEC_MEDIA,
            Channel::WebrtcConfig | Channel::WebrtcForwarded => SPEC_WEBRTC,
        }
    }

    /// Resolves a channel name; without a direction, the server's notices win for `message`
    /// and `writing`, the client's request for `webrtc_forward`.
    fn lookup(direction: Option<Direction>, name: &str) -> Option<Channel> {
        let client = || Channel::CLIENT.into_iter().find(|c| c.name() == name);
        let server = || Channel::SERVER.into_iter().find(|c| c.name() == name);
        match direction {
            Some(Direction::Client) => client(),
            Some(Direction::Server) => server(),
            None => server()
                .filter(|c| *c != Channel::WebrtcForwarded)
                .or_else(client),
        }
    }
}

/// What the kind says about the input (see the module docs): an argument array read in
/// one direction, or the bare payload of one channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Kind(Reading);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reading {
    Args(Option<Direction>),
    Bare(Channel),
}

impl Kind {
    /// Every kind: `client`, `server`, then each channel's bare payload.
    pub const ALL: [Kind; 2 + Channel::CLIENT.len() + Channel::SERVER.len()] = {
        let mut all = [Kind(Reading::Args(Some(Direction::Client))); 25];
        all[1] = Kind(Reading::Args(Some(Direction::Server)));
        let mut i = 0;
        while i < Channel::CLIENT.len() {
            all[2 + i] = Kind(Reading::Bare(Channel::CLIENT[i]));
            i += 1;
        }
        let mut j = 0;
        while j < Channel::SERVER.len() {
            all[2 + i + j] = Kind(Reading::Bare(Channel::SERVER[j]));
            j += 1;
        }
        all
    };
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Reading::Args(Some(Direction::Client)) => f.write_str("client"),
            Reading::Args(Some(Direction::Server)) => f.write_str("server"),
            Reading::Args(None) => Ok(()),
            Reading::Bare(channel) => f.write_str(channel.kind()),
        }
    }
}

impl FromStr for Kind {
    type Err = UnknownKind;
    fn from_str(kind: &str) -> Result<Self, UnknownKind> {
        let unknown = || UnknownKind::new(kind);
        match kind {
            "client" => return Ok(Kind(Reading::Args(Some(Direction::Client)))),
            "server" => return Ok(Kind(Reading::Args(Some(Direction::Server)))),
            _ => {}
        }
        let (direction, name) = match kind.split_once([':', '.']) {
            Some(("client", name)) => (Some(Direction::Client), name),
            Some(("server", name)) => (Some(Direction::Server), name),
            Some(_) => return Err(unknown()),
            None => (None, kind),
        };
        Channel::lookup(direction, name)
            .map(|c| Kind(Reading::Bare(c)))
            .ok_or_else(unknown)
    }
}

fn reading(kind: Option<&str>) -> Result<Reading, Error> {
    match kind.map(str::parse::<Kind>) {
        None => Ok(Reading::Args(None)),
        Some(Ok(Kind(reading))) => Ok(reading),
        Some(Err(e)) => Err(Error::UnknownKind(e.kind)),
    }
}

/// Reads the input down to (form, channel, payload), or the one error that stops reading.
fn frame(kind: Option<&str>, input: &[u8]) -> Result<(Form, Channel, Option<Value>), Error> {
    let text =
        std::str::from_utf8(input).map_err(|_| CommonError::InvalidUtf8 { spec: SPEC_PACKET })?;
    let parse = |text: &str| -> Result<Value, Error> {
        Ok(rules::parse_json(text.as_bytes(), SPEC_PACKET)?)
    };
    let direction = match reading(kind)? {
        Reading::Bare(channel) if channel.arguments() == 0 => {
            if text.trim().is_empty() {
                return Ok((Form::Bare, channel, None));
            }
            parse(text)?;
            return Err(Error::WrongArgumentCount {
                event: channel.name(),
                expected: 0,
                found: 1,
                spec: channel.spec(),
            });
        }
        Reading::Bare(channel) => return Ok((Form::Bare, channel, Some(parse(text)?))),
        Reading::Args(direction) => direction,
    };
    let Value::Array(mut args) = parse(text)? else {
        return Err(Error::NotAnEventArray);
    };
    let name = match args.first() {
        Some(Value::String(name)) => name.clone(),
        _ => return Err(Error::NotAnEventArray),
    };
    let channel =
        Channel::lookup(direction, &name).ok_or_else(|| Error::UnknownEvent(name.clone()))?;
    if matches!(channel, Channel::Connect | Channel::Disconnect) {
        return Err(Error::ReservedEvent(name));
    }
    let found = args.len() - 1;
    if found != channel.arguments() {
        return Err(Error::WrongArgumentCount {
            event: channel.name(),
            expected: channel.arguments(),
            found,
            spec: channel.spec(),
        });
    }
    let payload = if found == 1 { args.pop() } else { None };
    Ok((Form::Args, channel, payload))
}

type Check = Walker<Error>;

/// What an id that is not a number must be.
const ID: &str = "an integer id";

/// The array of objects at `key`.
fn objects(ck: &mut Check, map: &Map<String, Value>, key: &str, required: bool) {
    ck.with(map, "", key, required, |ck, value, field| {
        match value {
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    ck.object(item, &rules::index(&field, i));
                }
            }
            _ => ck.wrong_type(field, "an array of objects"),
        }
        Some(())
    });
}

fn check_payload(channel: Channel, payload: Option<&Value>) -> Vec<(String, Error)> {
    let mut ck = Check::new(channel.spec());
    let Some(payload) = payload else {
        return ck.into_found();
    };
    match channel {
        Channel::Error => {
            if !payload.is_string() {
                ck.wrong_type(String::new(), "a string");
            }
            return ck.into_found();
        }
        Channel::Success => {
            if !payload.is_string() && !payload.is_object() {
                ck.wrong_type(String::new(), "a string or an object");
            }
            return ck.into_found();
        }
        Channel::WebrtcConfig => {
            check_webrtc_config(&mut ck, payload);
            return ck.into_found();
        }
        _ => {}
    }
    let Some(map) = ck.object(payload, "") else {
        return ck.into_found();
    };
    match channel {
        Channel::Authenticate => {
            ck.nonempty(map, "", "token", true);
        }
        Channel::JoinConversation | Channel::LeaveConversation => {
            ck.id(map, "", "conversation_id", true, ID);
        }
        Channel::JoinCircle | Channel::LeaveCircle => {
            ck.id(map, "", "circle_id", true, ID);
        }
        Channel::SendMessage => {
            ck.id(map, "", "conversation_id", true, ID);
            ck.string(map, "", "text_message", false);
            ck.with(map, "", "files", false, |ck, value, field| {
                match value {
                    Value::Array(items) => {
                        for (i, item) in items.iter().enumerate() {
                            if !item.is_string() {
                                ck.wrong_type(format!("{field}[{i}]"), "a string");
                            }
                        }
                    }
                    _ => ck.wrong_type(field, "an array of file names"),
                }
                Some(())
            });
        }
        Channel::Writing => {
            ck.id(map, "", "conversation_id", true, ID);
            ck.boolean(map, "", "is_writing", true);
        }
        Channel::WebrtcForward => {
            ck.string(map, "", "email", false);
            ck.id(map, "", "user_id", false, ID);
            ck.id(map, "", "device_id", false, ID);
            let present = ["email", "user_id", "device_id"]
                .iter()
                .any(|k| map.contains_key(*k));
            if !present {
                ck.push("", Error::MissingRecipient);
            }
        }
        Channel::CircleInvite => {
            ck.one_of(map, "", "event", true, &[((), "invite")], "`invite`");
            ck.id(map, "", "circle_id", true, ID);
        }
        Channel::Circle => check_circle(&mut ck, map),
        Channel::Conversation => {
            ck.id(map, "", "conversation_id", true, ID);
            let events: Vec<_> = ConversationEvent::ALL
                .iter()
                .map(|e| ((), e.as_str()))
                .collect();
            ck.one_of(
                map,
                "",
                "event",
                false,
                &events,
                "update, invite, promoted, kick, quit or device",
            );
            ck.string(map, "", "user", false);
            ck.string(map, "", "from", false);
            ck.one_of(
                map,
                "",
                "type",
                false,
                &[((), "add"), ((), "remove")],
                "add or remove",
            );
        }
        Channel::MessageNotice => check_message_notice(&mut ck, map),
        Channel::WritingNotice => {
            ck.id(map, "", "conversation_id", true, ID);
            let device = ck.boolean(map, "", "device", true);
            ck.string(map, "", "user", device == Some(false));
            ck.boolean(map, "", "is_writing", true);
        }
        Channel::Media => {
            objects(&mut ck, map, "media_list", true);
            ck.id(map, "", "message_id", true, ID);
        }
        Channel::WebrtcForwarded => check_forwarded(&mut ck, map),
        Channel::Connect
        | Channel::Disconnect
        | Channel::WebrtcCredentials
        | Channel::WebrtcStunInfo
        | Channel::WebrtcTurnInfo
        | Channel::Error
        | Channel::Success
        | Channel::WebrtcConfig => {}
    }
    ck.into_found()
}

fn check_circle(ck: &mut Check, map: &Map<String, Value>) {
    let events: Vec<_> = CircleEvent::ALL.iter().map(|e| (*e, e.as_str())).collect();
    let event = ck.one_of(
        map,
        "",
        "event",
        true,
        &events,
        "join, quit, kick, update, connect, disconnect, device or delete",
    );
    ck.id(map, "", "circle_id", true, ID);
    let needs_user = matches!(
        event,
        Some(
            CircleEvent::Join
                | CircleEvent::Quit
                | CircleEvent::Kick
                | CircleEvent::Connect
                | CircleEvent::Disconnect
        )
    );
    ck.string(map, "", "user", needs_user);
    ck.string(map, "", "from", event == Some(CircleEvent::Kick));
    let device = event == Some(CircleEvent::Device);
    let types: Vec<_> = DeviceEvent::ALL.iter().map(|e| ((), e.as_str())).collect();
    ck.one_of(
        map,
        "",
        "type",
        device,
        &types,
        "update, connect or disconnect",
    );
    ck.id(map, "", "device_id", device, ID);
}

fn check_message_notice(ck: &mut Check, map: &Map<String, Value>) {
    ck.id(map, "", "conversation_id", true, ID);
    let status = ck.one_of(
        map,
        "",
        "status",
        false,
        &[
            (MessageStatus::Done, "done"),
            (MessageStatus::Pending, "pending"),
        ],
        "done or pending",
    );
    let event = ck.one_of(
        map,
        "",
        "event",
        false,
        &[
            (MessageEvent::Delete, "delete"),
            (MessageEvent::Update, "update"),
        ],
        "delete or update",
    );
    let has_status = map.contains_key("status");
    let has_event = map.contains_key("event");
    if has_status && has_event {
        let spec = ck.spec;
        ck.push(
            "event",
            Error::ConflictingFields {
                first: "event",
                second: "status",
                spec,
            },
        );
    } else if !has_status && !has_event {
        ck.missing("status".into());
    }
    let sent = has_status && !has_event;
    ck.object_field(map, "", "message", sent && status.is_some());
    let done = sent && status == Some(MessageStatus::Done);
    ck.string(map, "", "time", done);
    ck.object_field(map, "", "sender", done);
    objects(ck, map, "media_list", done);
    ck.id(
        map,
        "",
        "message_id",
        has_event && !has_status && event.is_some(),
        ID,
    );
}

fn check_forwarded(ck: &mut Check, map: &Map<String, Value>) {
    ck.id(map, "", "sender_id", true, ID);
    ck.boolean(map, "", "is_device", true);
    ck.object_field(map, "", "content", true);
}

fn check_webrtc_config(ck: &mut Check, payload: &Value) {
    match payload {
        Value::Array(servers) => {
            for (i, server) in servers.iter().enumerate() {
                let at = format!("[{i}]");
                let Some(server) = ck.object(server, &at) else {
                    continue;
                };
                let before = ck.len();
                ck.string(server, "", "domain", true);
                ck.string(server, "", "ip", true);
                ck.unsigned(server, "", "port", true, 65_535, "an integer port");
                ck.prefix_since(before, &at, Error::prefixed);
            }
        }
        Value::Object(map) => {
            let forwarded = ["sender_id", "is_device", "content"]
                .iter()
                .any(|k| map.contains_key(*k));
            if forwarded {
                check_forwarded(ck, map);
            } else {
                ck.string(map, "", "username", true);
                ck.string(map, "", "password", true);
            }
        }
        _ => ck.wrong_type(String::new(), "a server list or an object"),
    }
}

fn build(channel: Channel, payload: Option<Value>) -> Result<Event, serde_json::Error> {
    let payload = payload.unwrap_or(Value::Null);
    Ok(match channel {
        Channel::Connect => Event::Connect,
        Channel::Disconnect => Event::Disconnect,
        Channel::WebrtcCredentials => Event::WebrtcCredentials,
        Channel::WebrtcStunInfo => Event::WebrtcStunInfo,
        Channel::WebrtcTurnInfo => Event::WebrtcTurnInfo,
        Channel::Authenticate => Event::Authenticate(serde_json::from_value(payload)?),
        Channel::JoinConversation => Event::JoinConversation(serde_json::from_value(payload)?),
        Channel::LeaveConversation => Event::LeaveConversation(serde_json::from_value(payload)?),
        Channel::JoinCircle => Event::JoinCircle(serde_json::from_value(payload)?),
        Channel::LeaveCircle => Event::LeaveCircle(serde_json::from_value(payload)?),
        Channel::SendMessage => Event::SendMessage(serde_json::from_value(payload)?),
        Channel::Writing => Event::Writing(serde_json::from_value(payload)?),
        Channel::WebrtcForward => Event::WebrtcForward(serde_json::from_value(payload)?),
        Channel::Error => Event::Error(serde_json::from_value(payload)?),
        Channel::Success => Event::Success(serde_json::from_value(payload)?),
        Channel::CircleInvite => Event::CircleInvite(serde_json::from_value(payload)?),
        Channel::Circle => Event::Circle(serde_json::from_value(payload)?),
        Channel::Conversation => Event::Conversation(serde_json::from_value(payload)?),
        Channel::MessageNotice => Event::MessageNotice(serde_json::from_value(payload)?),
        Channel::WritingNotice => Event::WritingNotice(serde_json::from_value(payload)?),
        Channel::Media => Event::Media(serde_json::from_value(payload)?),
        Channel::WebrtcForwarded => Event::WebrtcForwarded(serde_json::from_value(payload)?),
        Channel::WebrtcConfig => Event::WebrtcConfig(match payload {
            Value::Array(_) => WebrtcConfig::Servers(serde_json::from_value(payload)?),
            Value::Object(ref map) if map.contains_key("sender_id") => {
                WebrtcConfig::Forwarded(serde_json::from_value(payload)?)
            }
            _ => WebrtcConfig::Credentials(serde_json::from_value(payload)?),
        }),
    })
}

/// Reads one message: the message, or every error it has with its field (never empty on failure).
fn read(kind: Option<&str>, input: &[u8]) -> Result<Message, Vec<(String, Error)>> {
    let whole = |e: Error| vec![(e.field().to_owned(), e)];
    let (form, channel, payload) = frame(kind, input).map_err(whole)?;
    let errors = check_payload(channel, payload.as_ref());
    if !errors.is_empty() {
        return Err(errors);
    }
    // The checks above refuse everything the typed structs refuse; should one slip
    // through, it is still a refusal, never a panic.
    build(channel, payload)
        .map(|event| Message { form, event })
        .map_err(|_| {
            whole(
                CommonError::WrongType {
                    field: String::new(),
                    expected: "a payload of the documented shape",
                    spec: channel.spec(),
                }
                .into(),
            )
        })
}

impl Dialect for Circles {
    const PROTOCOL: Protocol = Protocol::Circles;
    const DOCUMENT: &'static str = "003_415bfb4e4fd8fc5e.txt";
    const ID_FIELDS: &'static [&'static str] = &[
        "circle_id",
        "conversation_id",
        "message_id",
        "device_id",
        "user_id",
        "sender_id",
    ];
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
        let bare = message.form == Form::Bare
            || matches!(message.event, Event::Connect | Event::Disconnect);
        if bare {
            return Ok(match payload {
                Some(value) => serde_json::to_vec(&value)?,
                None => Vec::new(),
            });
        }
        let mut args = vec![Value::from(message.event.name())];
        args.extend(payload);
        Ok(serde_json::to_vec(&Value::Array(args))?)
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
