//! SocketCluster over raw WebSocket (`002_57bad640c3a657d6.txt`, protocol V1, and the protocol-2
//! variant socketcluster-server/-client speak): one WebSocket text message is one [`Message`].
//!
//! # What a message is
//!
//! - an emitted event `{"event": "name", "data": ..., "cid": 11}` ([`Event`]; `data` and `cid`
//!   optional, `cid` a number or a string);
//! - a response `{"rid": 11, "data": ...}` or an error response
//!   `{"rid": 11, "error": {"name": ..., "message": ...}}` ([`Response`]);
//! - the answer to `#handshake`, `{"rid": 1, "data": {"id", "pingTimeout", "isAuthenticated",
//!   "authError"?}}` ([`HandshakeResponse`]), read as such when the kind says `handshake-response`;
//! - a batch: a JSON array of events and responses, which socketcluster-server and -client send when
//!   batching is on (read as [`Message::Batch`]);
//! - ping and pong: `#1` / `#2` in protocol 1, the empty string both ways in protocol 2.
//!
//! The reserved events carry typed data ([`EventBody`]): `#handshake` `{authToken?}`,
//! `#publish` `{channel, data?}` (client to server, and the server's push to subscribers),
//! `#subscribe` `{channel, ...}`, `#unsubscribe` (the channel name), `#authenticate` (a signed
//! token), `#setAuthToken` `{token}`, `#removeAuthToken`, `#kickOut` `{channel, message?}` and
//! `#disconnect` `{code, data?}` (older servers and clients). Every other event name is a custom
//! event with any data, except that a name starting with `#` that is none of these is refused
//! (`unknown-reserved-event`): `#` names are the protocol's own, and a peer that sends an unknown
//! one is speaking a protocol this codec does not know.
//!
//! # Kinds
//!
//! The kind is a `+`-joined list of hints (e.g. `v2+server`), each at most once:
//!
//! - `v1` (the default) or `v2`: the protocol version, which decides what ping and pong look like.
//!   In `v1` an empty message is refused; in `v2` `#1` and `#2` are.
//! - `server` or `client`: who sent the message. Without it, the direction is not checked and an
//!   empty `v2` message reads as a ping. With it, a ping from a client, a pong from a server,
//!   `#handshake`/`#subscribe`/`#unsubscribe`/`#authenticate` from a server and
//!   `#setAuthToken`/`#kickOut` from a client are refused (`wrong-direction`), and an empty `v2`
//!   message reads as a ping from the server and as a pong from the client.
//! - `handshake-response`: a single response is the answer to `#handshake` and its `data` must be
//!   the handshake status (an error response stays a plain [`Response`]: a rejected handshake).
//!
//! # Streams
//!
//! [`SocketCluster::frames`] splits a capture of concatenated or newline-separated messages:
//! JSON values and the `#1` / `#2` tokens. Protocol-2 pings (empty messages) cannot be seen in
//! such a stream.
//!
//! Rule ids: [`RULES`] (`chatspec rules --protocol socketcluster`).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Number, Value};

use crate::rules::{self, ids, CommonError, EncodeError, Need, RuleInfo, Walker};
use crate::{Dialect, Frame, Protocol, Rule, UnknownKind, Violation};

/// The document, for `spec()` strings.
pub const DOCUMENT: &str = "002_57bad640c3a657d6.txt";

/// The SocketCluster codec.
pub struct SocketCluster;

/// Which part of the document (or of the public implementation) a rule comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    /// `§The event layer: Emitted events`.
    EmittedEvents,
    /// `§The event layer: Event responses`.
    EventResponses,
    /// `§The event layer: The SocketCluster handshake`.
    Handshake,
    /// `§The event layer: Ping and pong - Connection health check`.
    PingPong,
    /// The SocketCluster facts of `specs/README.md` (pub/sub, auth, errors, protocol 2).
    Implementation,
}

impl Section {
    /// The document and section, as cited by violations.
    pub const fn spec(self) -> &'static str {
        match self {
            Section::EmittedEvents => "002_57bad640c3a657d6.txt §The event layer: Emitted events",
            Section::EventResponses => "002_57bad640c3a657d6.txt §The event layer: Event responses",
            Section::Handshake => {
                "002_57bad640c3a657d6.txt §The event layer: The SocketCluster handshake"
            }
            Section::PingPong => {
                "002_57bad640c3a657d6.txt §The event layer: Ping and pong - Connection health check"
            }
            Section::Implementation => "specs/README.md §Facts: SocketCluster, as implemented",
        }
    }
}

/// The protocol version negotiated by the client (`protocolVersion` of socketcluster-client).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ProtocolVersion {
    /// Protocol 1, the document's: ping `#1`, pong `#2`.
    #[default]
    V1,
    /// Protocol 2, the current default of socketcluster-client: ping and pong are empty messages.
    V2,
}

impl ProtocolVersion {
    /// The ping the server sends.
    pub fn ping(self) -> &'static str {
        match self {
            ProtocolVersion::V1 => "#1",
            ProtocolVersion::V2 => "",
        }
    }

    /// The pong the client answers with.
    pub fn pong(self) -> &'static str {
        match self {
            ProtocolVersion::V1 => "#2",
            ProtocolVersion::V2 => "",
        }
    }

    /// The version as a number (1 or 2).
    pub fn number(self) -> u8 {
        match self {
            ProtocolVersion::V1 => 1,
            ProtocolVersion::V2 => 2,
        }
    }
}

impl fmt::Display for ProtocolVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "protocol {}", self.number())
    }
}

/// Who sent a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// Sent by the client to the server.
    Client,
    /// Sent by the server to the client.
    Server,
}

impl fmt::Display for Direction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Direction::Client => "client",
            Direction::Server => "server",
        })
    }
}

/// The parsed `kind` hint (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Kind {
    /// `v1` (default) or `v2`.
    pub version: ProtocolVersion,
    /// `client` or `server`; `None` when not given.
    pub direction: Option<Direction>,
    /// `handshake-response`: a single response answers `#handshake`.
    pub handshake_response: bool,
}

impl Kind {
    /// Every kind, each once (`v1` stands for the default version).
    pub const ALL: [Kind; 12] = {
        let mut all = [Kind {
            version: ProtocolVersion::V1,
            direction: None,
            handshake_response: false,
        }; 12];
        let versions = [ProtocolVersion::V1, ProtocolVersion::V2];
        let directions = [None, Some(Direction::Client), Some(Direction::Server)];
        let mut i = 0;
        while i < 12 {
            all[i] = Kind {
                version: versions[i / 6],
                direction: directions[(i / 2) % 3],
                handshake_response: i % 2 == 1,
            };
            i += 1;
        }
        all
    };
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self.version {
            ProtocolVersion::V1 => "v1",
            ProtocolVersion::V2 => "v2",
        })?;
        if let Some(direction) = self.direction {
            write!(f, "+{direction}")?;
        }
        if self.handshake_response {
            f.write_str("+handshake-response")?;
        }
        Ok(())
    }
}

impl FromStr for Kind {
    type Err = UnknownKind;

    fn from_str(s: &str) -> Result<Self, UnknownKind> {
        let mut kind = Kind::default();
        let (mut version, mut direction, mut handshake) = (false, false, false);
        for token in s.split('+') {
            let seen = match token {
                "v1" | "v2" => {
                    kind.version = if token == "v1" {
                        ProtocolVersion::V1
                    } else {
                        ProtocolVersion::V2
                    };
                    &mut version
                }
                "client" | "server" => {
                    kind.direction = Some(if token == "client" {
                        Direction::Client
                    } else {
                        Direction::Server
                    });
                    &mut direction
                }
                "handshake-response" => {
                    kind.handshake_response = true;
                    &mut handshake
                }
                _ => return Err(UnknownKind::new(s)),
            };
            if std::mem::replace(seen, true) {
                return Err(UnknownKind::new(s));
            }
        }
        Ok(kind)
    }
}

/// A call id (`cid`) or the matching response id (`rid`): a number or a string.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(untagged)]
pub enum CallId {
    /// A number; socketcluster-client counts from 1.
    Number(Number),
    /// A string, e.g. a UUID.
    String(String),
}

impl CallId {
    fn to_value(&self) -> Value {
        match self {
            CallId::Number(n) => Value::Number(n.clone()),
            CallId::String(s) => Value::String(s.clone()),
        }
    }
}

impl From<u64> for CallId {
    fn from(n: u64) -> Self {
        CallId::Number(n.into())
    }
}

impl From<&str> for CallId {
    fn from(s: &str) -> Self {
        CallId::String(s.to_owned())
    }
}

impl fmt::Display for CallId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CallId::Number(n) => write!(f, "{n}"),
            CallId::String(s) => write!(f, "{s:?}"),
        }
    }
}

/// Deserializes a field that is present (even as `null`) into `Some`.
fn present<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    T::deserialize(deserializer).map(Some)
}

/// `#handshake` data: `{authToken?}`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct HandshakeRequest {
    /// The signed auth token: absent, `null` (socketcluster-client without a token) or a string.
    #[serde(
        rename = "authToken",
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present"
    )]
    pub auth_token: Option<Option<String>>,
    /// Fields the document does not name, kept as they came.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The handshake status the server answers `#handshake` with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HandshakeStatus {
    /// The connection's id, assigned by the server.
    pub id: String,
    /// Milliseconds of inactivity after which the server marks the connection dead.
    #[serde(rename = "pingTimeout")]
    pub ping_timeout: u64,
    /// Whether the auth token sent with the handshake was accepted.
    #[serde(rename = "isAuthenticated")]
    pub is_authenticated: bool,
    /// Why the token was refused: absent, `null` or an error object.
    #[serde(
        rename = "authError",
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present"
    )]
    pub auth_error: Option<Option<ErrorObject>>,
    /// Fields the document does not name, kept as they came.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A dehydrated error, as carried by error responses and `authError`: `{name, message, ...}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorObject {
    /// The error's class, e.g. `InvalidActionError`.
    pub name: String,
    /// A sentence for people.
    pub message: String,
    /// Other properties of the error (`statusCode`, `isBadToken`, `stack`, ...).
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl ErrorObject {
    /// An error with a name and a message.
    pub fn new(name: impl Into<String>, message: impl Into<String>) -> Self {
        ErrorObject {
            name: name.into(),
            message: message.into(),
            extra: Map::new(),
        }
    }
}

/// `#publish` data: `{channel, data?}`, both from a client and pushed by the server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Publication {
    /// The channel name.
    pub channel: String,
    /// The published data: absent, `null` or any JSON value.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present"
    )]
    pub data: Option<Value>,
    /// Fields the implementation does not name, kept as they came.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `#subscribe` data: `{channel, ...}` (subscription options such as `waitForAuth` in `extra`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Subscription {
    /// The channel name.
    pub channel: String,
    /// Subscription options (`waitForAuth`, `data`, `priority`, ...), kept as they came.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `#setAuthToken` data: `{token}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuthTokenData {
    /// The signed token the client should keep.
    pub token: String,
    /// Fields the implementation does not name, kept as they came.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `#kickOut` data: `{channel, message?}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KickOut {
    /// The channel the client was removed from.
    pub channel: String,
    /// Why: absent, `null` or any JSON value.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present"
    )]
    pub message: Option<Value>,
    /// Fields the implementation does not name, kept as they came.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `#disconnect` data: `{code, data?}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DisconnectData {
    /// The WebSocket close code (1000–4999), see [`CloseCode`].
    pub code: u16,
    /// The reason: absent, `null` or any JSON value.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present"
    )]
    pub data: Option<Value>,
    /// Fields the implementation does not name, kept as they came.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// What an event says: a reserved event with typed data, or a custom event.
#[derive(Debug, Clone, PartialEq)]
pub enum EventBody {
    /// `#handshake`: the first event of a client.
    Handshake(HandshakeRequest),
    /// `#publish`: a client publishing, or the server pushing to a subscriber.
    Publish(Publication),
    /// `#subscribe`: a client subscribing to a channel.
    Subscribe(Subscription),
    /// `#unsubscribe`: a client leaving a channel; data is the channel name.
    Unsubscribe(String),
    /// `#authenticate`: a client authenticating with a signed token.
    Authenticate(String),
    /// `#setAuthToken`: the server handing the client a signed token.
    SetAuthToken(AuthTokenData),
    /// `#removeAuthToken`: either side dropping the token; data is ignored (absent, `null`, any).
    RemoveAuthToken(Option<Value>),
    /// `#kickOut`: the server removing the client from a channel.
    KickOut(KickOut),
    /// `#disconnect`: the closing side's code and reason (older implementations).
    Disconnect(DisconnectData),
    /// Any event whose name does not start with `#`.
    Custom {
        /// The event name.
        event: String,
        /// The data: absent, `null` or any JSON value.
        data: Option<Value>,
    },
}

/// The reserved event names this codec knows.
pub const RESERVED_EVENTS: [&str; 9] = [
    "#handshake",
    "#publish",
    "#subscribe",
    "#unsubscribe",
    "#authenticate",
    "#setAuthToken",
    "#removeAuthToken",
    "#kickOut",
    "#disconnect",
];

impl EventBody {
    /// The event name on the wire.
    pub fn name(&self) -> &str {
        match self {
            EventBody::Handshake(_) => "#handshake",
            EventBody::Publish(_) => "#publish",
            EventBody::Subscribe(_) => "#subscribe",
            EventBody::Unsubscribe(_) => "#unsubscribe",
            EventBody::Authenticate(_) => "#authenticate",
            EventBody::SetAuthToken(_) => "#setAuthToken",
            EventBody::RemoveAuthToken(_) => "#removeAuthToken",
            EventBody::KickOut(_) => "#kickOut",
            EventBody::Disconnect(_) => "#disconnect",
            EventBody::Custom { event, .. } => event,
        }
    }

    /// The `data` field on the wire (`None`: absent).
    pub fn data(&self) -> Result<Option<Value>, EncodeError> {
        fn value<T: Serialize>(t: &T) -> Result<Option<Value>, EncodeError> {
            Ok(Some(serde_json::to_value(t)?))
        }
        match self {
            EventBody::Handshake(d) => value(d),
            EventBody::Publish(d) => value(d),
            EventBody::Subscribe(d) => value(d),
            EventBody::Unsubscribe(s) | EventBody::Authenticate(s) => {
                Ok(Some(Value::String(s.clone())))
            }
            EventBody::SetAuthToken(d) => value(d),
            EventBody::RemoveAuthToken(d) => Ok(d.clone()),
            EventBody::KickOut(d) => value(d),
            EventBody::Disconnect(d) => value(d),
            EventBody::Custom { data, .. } => Ok(data.clone()),
        }
    }
}

/// An emitted event: `{event, data?, cid?}`.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// The event name and its data.
    pub body: EventBody,
    /// The call id, present when the sender expects a response.
    pub cid: Option<CallId>,
    /// Fields the document does not name, kept as they came.
    pub extra: Map<String, Value>,
}

impl Event {
    /// An event without a call id.
    pub fn new(body: EventBody) -> Self {
        Event {
            body,
            cid: None,
            extra: Map::new(),
        }
    }

    /// An event that expects a response to `cid`.
    pub fn with_cid(body: EventBody, cid: impl Into<CallId>) -> Self {
        Event {
            body,
            cid: Some(cid.into()),
            extra: Map::new(),
        }
    }

    /// A custom event.
    pub fn custom(event: impl Into<String>, data: Option<Value>) -> Self {
        Event::new(EventBody::Custom {
            event: event.into(),
            data,
        })
    }

    /// `#handshake` with an optional token, as socketcluster-client sends it.
    pub fn handshake(cid: impl Into<CallId>, auth_token: Option<Option<String>>) -> Self {
        Event::with_cid(
            EventBody::Handshake(HandshakeRequest {
                auth_token,
                extra: Map::new(),
            }),
            cid,
        )
    }

    /// The server's push of a publication: `{event: "#publish", data: {channel, data}}`.
    pub fn publish(channel: impl Into<String>, data: Value) -> Self {
        Event::new(EventBody::Publish(Publication {
            channel: channel.into(),
            data: Some(data),
            extra: Map::new(),
        }))
    }

    /// `#subscribe` to a channel.
    pub fn subscribe(cid: impl Into<CallId>, channel: impl Into<String>) -> Self {
        Event::with_cid(
            EventBody::Subscribe(Subscription {
                channel: channel.into(),
                extra: Map::new(),
            }),
            cid,
        )
    }
}

/// A response: `{rid, data?}` or `{rid, error: {name, message, ...}}`.
#[derive(Debug, Clone, PartialEq)]
pub struct Response {
    /// The `cid` of the event answered.
    pub rid: CallId,
    /// The data: absent, `null` or any JSON value.
    pub data: Option<Value>,
    /// The error, for an error response.
    pub error: Option<ErrorObject>,
    /// Fields the document does not name, kept as they came.
    pub extra: Map<String, Value>,
}

impl Response {
    /// A successful response with data (`None`: no data, as `#subscribe` is answered).
    pub fn ok(rid: impl Into<CallId>, data: Option<Value>) -> Self {
        Response {
            rid: rid.into(),
            data,
            error: None,
            extra: Map::new(),
        }
    }

    /// An error response.
    pub fn error(rid: impl Into<CallId>, error: ErrorObject) -> Self {
        Response {
            rid: rid.into(),
            data: None,
            error: Some(error),
            extra: Map::new(),
        }
    }
}

/// The answer to `#handshake`: `{rid, data: {id, pingTimeout, isAuthenticated, authError?}}`.
#[derive(Debug, Clone, PartialEq)]
pub struct HandshakeResponse {
    /// The `cid` of the `#handshake` event.
    pub rid: CallId,
    /// The handshake status.
    pub data: HandshakeStatus,
    /// Fields the document does not name, kept as they came.
    pub extra: Map<String, Value>,
}

impl HandshakeResponse {
    /// A handshake response without an auth error.
    pub fn new(
        rid: impl Into<CallId>,
        id: impl Into<String>,
        ping_timeout: u64,
        is_authenticated: bool,
    ) -> Self {
        HandshakeResponse {
            rid: rid.into(),
            data: HandshakeStatus {
                id: id.into(),
                ping_timeout,
                is_authenticated,
                auth_error: None,
                extra: Map::new(),
            },
            extra: Map::new(),
        }
    }
}

/// One element of a batch.
#[derive(Debug, Clone, PartialEq)]
pub enum Packet {
    /// An emitted event.
    Event(Event),
    /// A response.
    Response(Response),
}

/// One WebSocket message.
#[derive(Debug, Clone, PartialEq)]
pub enum Message {
    /// The server's ping: `#1` (protocol 1) or the empty string (protocol 2).
    Ping(ProtocolVersion),
    /// The client's pong: `#2` (protocol 1) or the empty string (protocol 2).
    Pong(ProtocolVersion),
    /// An emitted event.
    Event(Event),
    /// A response or an error response.
    Response(Response),
    /// The answer to `#handshake` (kind `handshake-response`).
    HandshakeResponse(HandshakeResponse),
    /// Several packets in one message (a JSON array).
    Batch(Vec<Packet>),
}

/// The WebSocket close codes socketcluster-server and -client use and name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CloseCode {
    /// 1000: closed normally.
    Normal,
    /// 1001: the peer went away.
    GoingAway,
    /// 1002: a WebSocket protocol error.
    ProtocolError,
    /// 1003: the server received data it cannot accept.
    UnsupportedData,
    /// 1005: closed without a status code.
    NoStatus,
    /// 1006: the connection dropped without a close frame.
    Abnormal,
    /// 1007: message format was incorrect.
    InvalidPayload,
    /// 1008: a policy violation.
    PolicyViolation,
    /// 1009: message too big to process.
    MessageTooBig,
    /// 1010: the server did not comply with the client's extension requirements.
    MandatoryExtension,
    /// 1011: the server met an unexpected fatal condition.
    InternalError,
    /// 4000: the client received no ping in time (the server's pings timed out).
    ServerPingTimeout,
    /// 4001: the server received no pong in time.
    ClientPongTimeout,
    /// 4002: the server failed to sign an auth token.
    AuthTokenSignFailed,
    /// 4003: the handshake could not be completed.
    HandshakeFailed,
    /// 4004: the client failed to save its auth token.
    AuthTokenSaveFailed,
    /// 4005: no `#handshake` arrived before the server's handshake timeout.
    HandshakeTimeout,
    /// 4006: the server failed to bind the socket to its message broker.
    BrokerBindFailed,
    /// 4007: the client's connection attempt timed out.
    ConnectTimeout,
    /// 4008: the server rejected the handshake (handshake middleware).
    HandshakeRejected,
    /// 4009: "server socket handshake failed": a strict server received a message before `#handshake`.
    MessageBeforeHandshake,
}

impl CloseCode {
    /// Every named code, in numeric order.
    pub const ALL: [CloseCode; 21] = [
        CloseCode::Normal,
        CloseCode::GoingAway,
        CloseCode::ProtocolError,
        CloseCode::UnsupportedData,
        CloseCode::NoStatus,
        CloseCode::Abnormal,
        CloseCode::InvalidPayload,
        CloseCode::PolicyViolation,
        CloseCode::MessageTooBig,
        CloseCode::MandatoryExtension,
        CloseCode::InternalError,
        CloseCode::ServerPingTimeout,
        CloseCode::ClientPongTimeout,
        CloseCode::AuthTokenSignFailed,
        CloseCode::HandshakeFailed,
        CloseCode::AuthTokenSaveFailed,
        CloseCode::HandshakeTimeout,
        CloseCode::BrokerBindFailed,
        CloseCode::ConnectTimeout,
        CloseCode::HandshakeRejected,
        CloseCode::MessageBeforeHandshake,
    ];

    /// The numeric code.
    pub fn code(self) -> u16 {
        match self {
            CloseCode::Normal => 1000,
            CloseCode::GoingAway => 1001,
            CloseCode::ProtocolError => 1002,
            CloseCode::UnsupportedData => 1003,
            CloseCode::NoStatus => 1005,
            CloseCode::Abnormal => 1006,
            CloseCode::InvalidPayload => 1007,
            CloseCode::PolicyViolation => 1008,
            CloseCode::MessageTooBig => 1009,
            CloseCode::MandatoryExtension => 1010,
            CloseCode::InternalError => 1011,
            CloseCode::ServerPingTimeout => 4000,
            CloseCode::ClientPongTimeout => 4001,
            CloseCode::AuthTokenSignFailed => 4002,
            CloseCode::HandshakeFailed => 4003,
            CloseCode::AuthTokenSaveFailed => 4004,
            CloseCode::HandshakeTimeout => 4005,
            CloseCode::BrokerBindFailed => 4006,
            CloseCode::ConnectTimeout => 4007,
            CloseCode::HandshakeRejected => 4008,
            CloseCode::MessageBeforeHandshake => 4009,
        }
    }

    /// The named code for a number, if it has a name.
    pub fn from_code(code: u16) -> Option<CloseCode> {
        CloseCode::ALL.into_iter().find(|c| c.code() == code)
    }

    /// What the code means, in the words of socketcluster's status table.
    pub fn meaning(self) -> &'static str {
        match self {
            CloseCode::Normal => "Socket closed normally",
            CloseCode::GoingAway => "Socket was disconnected",
            CloseCode::ProtocolError => "A WebSocket protocol error was encountered",
            CloseCode::UnsupportedData => {
                "Server terminated socket because it received invalid data"
            }
            CloseCode::NoStatus => "Socket closed without status code",
            CloseCode::Abnormal => "Socket hung up",
            CloseCode::InvalidPayload => "Message format was incorrect",
            CloseCode::PolicyViolation => "Encountered a policy violation",
            CloseCode::MessageTooBig => "Message was too big to process",
            CloseCode::MandatoryExtension => {
                "Client ended the connection because the server did not comply with extension requirements"
            }
            CloseCode::InternalError => "Server encountered an unexpected fatal condition",
            CloseCode::ServerPingTimeout => "Server ping timed out",
            CloseCode::ClientPongTimeout => "Client pong timed out",
            CloseCode::AuthTokenSignFailed => "Server failed to sign auth token",
            CloseCode::HandshakeFailed => "Failed to complete handshake",
            CloseCode::AuthTokenSaveFailed => "Client failed to save auth token",
            CloseCode::HandshakeTimeout => "Did not receive #handshake from client before timeout",
            CloseCode::BrokerBindFailed => "Failed to bind socket to message broker",
            CloseCode::ConnectTimeout => "Client connection establishment timed out",
            CloseCode::HandshakeRejected => "Server rejected handshake from client",
            CloseCode::MessageBeforeHandshake => {
                "Server socket handshake failed (a message arrived before #handshake)"
            }
        }
    }

    /// Whether socketcluster treats the close as normal rather than an error (1000, 1001).
    pub fn is_normal(self) -> bool {
        matches!(self, CloseCode::Normal | CloseCode::GoingAway)
    }
}

/// Why a SocketCluster message is refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Error {
    /// The kind hint is not a `+`-joined list of `v1`, `v2`, `client`, `server`, `handshake-response`.
    #[error("unknown kind `{0}`: expected `+`-joined v1|v2, client|server, handshake-response")]
    UnknownKind(String),
    /// A rule every codec shares: UTF-8, JSON, a missing field, a wrong type, an empty value.
    #[error(transparent)]
    Common(#[from] CommonError),
    /// An empty message under protocol 1 (the empty string is protocol 2's ping and pong).
    #[error("empty message: protocol 1 pings with `#1` and pongs with `#2`")]
    EmptyMessage,
    /// `#1` or `#2` under protocol 2, whose ping and pong are empty messages.
    #[error("`{found}` is protocol 1's ping/pong; {expected} uses empty messages")]
    WrongProtocolVersion {
        /// The message received.
        found: String,
        /// The version in force.
        expected: ProtocolVersion,
    },
    /// A message the sender's side never sends (a ping from a client, `#handshake` from a server...).
    #[error("{what} is never sent by the {sender}")]
    WrongDirection {
        /// The message, e.g. `ping` or `#handshake`.
        what: String,
        /// Who sent it.
        sender: Direction,
    },
    /// A packet is JSON but not an object (nor, at the top, an array of objects).
    #[error("a packet is a JSON object, found {found}")]
    NotAnObject {
        /// The JSON type found.
        found: &'static str,
    },
    /// A batch (JSON array) without packets.
    #[error("a batch carries at least one packet")]
    EmptyBatch,
    /// A packet with both `event` and `rid`.
    #[error("a packet is an event (`event`) or a response (`rid`), not both")]
    AmbiguousPacket,
    /// A packet with neither `event` nor `rid`.
    #[error("a packet needs `event` (an emitted event) or `rid` (a response)")]
    MissingEventOrRid,
    /// An event name starting with `#` that is none of the reserved events.
    #[error("unknown reserved event `{0}`: `#` names belong to the protocol")]
    UnknownReservedEvent(String),
    /// A `#disconnect` code outside the WebSocket close code range 1000–4999.
    #[error("close code {0} is outside 1000-4999")]
    BadCloseCode(i64),
}

impl Rule for Error {
    fn rule(&self) -> &'static str {
        match self {
            Error::Common(e) => e.rule(),
            Error::UnknownKind(_) => ids::UNKNOWN_KIND,
            Error::EmptyMessage => "empty-message",
            Error::WrongProtocolVersion { .. } => "wrong-protocol-version",
            Error::WrongDirection { .. } => ids::WRONG_DIRECTION,
            Error::NotAnObject { .. } => ids::NOT_AN_OBJECT,
            Error::EmptyBatch => "empty-batch",
            Error::AmbiguousPacket => "ambiguous-packet",
            Error::MissingEventOrRid => "missing-event-or-rid",
            Error::UnknownReservedEvent(_) => "unknown-reserved-event",
            Error::BadCloseCode(_) => "bad-close-code",
        }
    }

    fn spec(&self) -> &'static str {
        match self {
            Error::Common(e) => e.spec(),
            Error::UnknownKind(_) => Section::EmittedEvents.spec(),
            Error::EmptyMessage | Error::WrongProtocolVersion { .. } => Section::PingPong.spec(),
            Error::WrongDirection { what, .. } => {
                if what == "ping" || what == "pong" {
                    Section::PingPong.spec()
                } else if what == "#handshake" {
                    Section::Handshake.spec()
                } else {
                    Section::Implementation.spec()
                }
            }
            Error::NotAnObject { .. } | Error::AmbiguousPacket | Error::MissingEventOrRid => {
                Section::EventResponses.spec()
            }
            Error::EmptyBatch | Error::UnknownReservedEvent(_) | Error::BadCloseCode(_) => {
                Section::Implementation.spec()
            }
        }
    }
}

/// Every rule a SocketCluster message can break.
pub const RULES: &[RuleInfo] = &[
    rules::common(
        ids::UNKNOWN_KIND,
        Section::EmittedEvents.spec(),
    ),
    rules::common(
        ids::INVALID_UTF8,
        Section::EmittedEvents.spec(),
    ),
    rules::common(
        ids::INVALID_JSON,
        Section::EmittedEvents.spec(),
    ),
    RuleInfo::new(
        "empty-message",
        Section::PingPong.spec(),
        "an empty message under protocol 1 (which pings with #1 and pongs with #2)",
    ),
    RuleInfo::new(
        "wrong-protocol-version",
        Section::PingPong.spec(),
        "#1 or #2 under protocol 2, whose ping and pong are empty messages",
    ),
    rules::common(
        ids::WRONG_DIRECTION,
        "002_57bad640c3a657d6.txt §The event layer: Ping and pong, The SocketCluster handshake; specs/README.md §Facts: SocketCluster",
    ),
    rules::common(
        ids::NOT_AN_OBJECT,
        Section::EventResponses.spec(),
    ),
    RuleInfo::new(
        "empty-batch",
        Section::Implementation.spec(),
        "a batch (JSON array) without packets",
    ),
    RuleInfo::new(
        "ambiguous-packet",
        Section::EventResponses.spec(),
        "a packet with both `event` and `rid`",
    ),
    RuleInfo::new(
        "missing-event-or-rid",
        Section::EventResponses.spec(),
        "a packet with neither `event` nor `rid`",
    ),
    rules::common(ids::MISSING_FIELD, DOCUMENT),
    rules::common(ids::WRONG_TYPE, DOCUMENT),
    rules::common(ids::EMPTY_VALUE, DOCUMENT),
    RuleInfo::new(
        "unknown-reserved-event",
        Section::Implementation.spec(),
        "an event name starting with # that is none of the reserved events",
    ),
    RuleInfo::new(
        "bad-close-code",
        Section::Implementation.spec(),
        "a #disconnect code outside the WebSocket close code range 1000-4999",
    ),
];

/// Collects every problem of one message.
struct Checker {
    w: Walker<Error>,
}

use rules::join;

impl Checker {
    fn push(&mut self, field: impl Into<String>, error: Error) {
        self.w.push(field, error);
    }

    fn missing(&mut self, field: String, section: Section) {
        self.w.spec = section.spec();
        self.w.missing(field);
    }

    fn wrong(&mut self, field: String, expected: &'static str, section: Section) {
        self.w.spec = section.spec();
        self.w.wrong_type(field, expected);
    }

    fn empty(&mut self, field: String, section: Section) {
        self.w.spec = section.spec();
        self.w.empty(field);
    }

    /// A required, non-empty string field.
    fn name(
        &mut self,
        map: &Map<String, Value>,
        prefix: &str,
        key: &str,
        section: Section,
    ) -> Option<String> {
        self.w.spec = section.spec();
        self.w
            .nonempty(map, prefix, key, Need::Required)
            .map(str::to_owned)
    }

    /// A required string field (may be empty).
    fn string(
        &mut self,
        map: &Map<String, Value>,
        prefix: &str,
        key: &str,
        section: Section,
    ) -> Option<String> {
        self.w.spec = section.spec();
        self.w
            .string(map, prefix, key, Need::Required)
            .map(str::to_owned)
    }

    /// An optional call id field.
    fn call_id(
        &mut self,
        value: Option<&Value>,
        field: String,
        section: Section,
    ) -> Option<CallId> {
        match value? {
            Value::Number(n) => Some(CallId::Number(n.clone())),
            Value::String(s) => Some(CallId::String(s.clone())),
            _ => {
                self.wrong(field, "a number or a string", section);
                None
            }
        }
    }

    /// An object-valued `data`; `None` after reporting when absent or not an object.
    fn object<'v>(
        &mut self,
        data: Option<&'v Value>,
        field: String,
        section: Section,
    ) -> Option<&'v Map<String, Value>> {
        match data {
            None => {
                self.missing(field, section);
                None
            }
            Some(Value::Object(map)) => Some(map),
            Some(_) => {
                self.wrong(field, "an object", section);
                None
            }
        }
    }

    fn error_object(&mut self, value: &Value, field: &str) -> Option<ErrorObject> {
        let section = Section::Implementation;
        let Value::Object(map) = value else {
            self.wrong(field.to_owned(), "an error object {name, message}", section);
            return None;
        };
        let name = self.string(map, field, "name", section);
        let message = self.string(map, field, "message", section);
        Some(ErrorObject {
            name: name?,
            message: message?,
            extra: rest(map, &["name", "message"]),
        })
    }

    fn handshake_status(&mut self, data: Option<&Value>, prefix: &str) -> Option<HandshakeStatus> {
        let section = Section::Handshake;
        let field = join(prefix, "data");
        let map = self.object(data, field.clone(), section)?;
        let id = self.name(map, &field, "id", section);
        let ping_timeout = match map.get("pingTimeout") {
            None => {
                self.missing(join(&field, "pingTimeout"), section);
                None
            }
            Some(Value::Number(n)) if n.as_u64().is_some() => n.as_u64(),
            Some(_) => {
                self.wrong(
                    join(&field, "pingTimeout"),
                    "a non-negative integer (milliseconds)",
                    section,
                );
                None
            }
        };
        let is_authenticated = match map.get("isAuthenticated") {
            None => {
                self.missing(join(&field, "isAuthenticated"), section);
                None
            }
            Some(Value::Bool(b)) => Some(*b),
            Some(_) => {
                self.wrong(join(&field, "isAuthenticated"), "a boolean", section);
                None
            }
        };
        let auth_error = match map.get("authError") {
            None => Some(None),
            Some(Value::Null) => Some(Some(None)),
            Some(v) => self
                .error_object(v, &join(&field, "authError"))
                .map(|e| Some(Some(e))),
        };
        Some(HandshakeStatus {
            id: id?,
            ping_timeout: ping_timeout?,
            is_authenticated: is_authenticated?,
            auth_error: auth_error?,
            extra: rest(map, &["id", "pingTimeout", "isAuthenticated", "authError"]),
        })
    }

    fn direction(&mut self, kind: Kind, name: &str, never_from: Direction, prefix: &str) {
        if kind.direction == Some(never_from) {
            self.push(
                join(prefix, "event"),
                Error::WrongDirection {
                    what: name.to_owned(),
                    sender: never_from,
                },
            );
        }
    }

    fn body(
        &mut self,
        kind: Kind,
        name: &str,
        data: Option<&Value>,
        has_cid: bool,
        prefix: &str,
    ) -> Option<EventBody> {
        let imp = Section::Implementation;
        let data_field = join(prefix, "data");
        match name {
            "#handshake" => {
                let section = Section::Handshake;
                self.direction(kind, name, Direction::Server, prefix);
                if !has_cid {
                    self.missing(join(prefix, "cid"), section);
                }
                let map = self.object(data, data_field.clone(), section)?;
                let auth_token = match map.get("authToken") {
                    None => Some(None),
                    Some(Value::Null) => Some(Some(None)),
                    Some(Value::String(s)) => Some(Some(Some(s.clone()))),
                    Some(_) => {
                        self.wrong(
                            join(&data_field, "authToken"),
                            "a signed token string or null",
                            imp,
                        );
                        None
                    }
                };
                Some(EventBody::Handshake(HandshakeRequest {
                    auth_token: auth_token?,
                    extra: rest(map, &["authToken"]),
                }))
            }
            "#publish" => {
                let map = self.object(data, data_field.clone(), imp)?;
                let channel = self.name(map, &data_field, "channel", imp)?;
                Some(EventBody::Publish(Publication {
                    channel,
                    data: map.get("data").cloned(),
                    extra: rest(map, &["channel", "data"]),
                }))
            }
            "#subscribe" => {
                self.direction(kind, name, Direction::Server, prefix);
                let map = self.object(data, data_field.clone(), imp)?;
                let channel = self.name(map, &data_field, "channel", imp)?;
                Some(EventBody::Subscribe(Subscription {
                    channel,
                    extra: rest(map, &["channel"]),
                }))
            }
            "#unsubscribe" | "#authenticate" => {
                self.direction(kind, name, Direction::Server, prefix);
                let expected = if name == "#unsubscribe" {
                    "a channel name string"
                } else {
                    "a signed token string"
                };
                let s = match data {
                    None => {
                        self.missing(data_field, imp);
                        return None;
                    }
                    Some(Value::String(s)) if s.is_empty() => {
                        self.empty(data_field, imp);
                        return None;
                    }
                    Some(Value::String(s)) => s.clone(),
                    Some(_) => {
                        self.wrong(data_field, expected, imp);
                        return None;
                    }
                };
                Some(if name == "#unsubscribe" {
                    EventBody::Unsubscribe(s)
                } else {
                    EventBody::Authenticate(s)
                })
            }
            "#setAuthToken" => {
                self.direction(kind, name, Direction::Client, prefix);
                let map = self.object(data, data_field.clone(), imp)?;
                let token = self.name(map, &data_field, "token", imp)?;
                Some(EventBody::SetAuthToken(AuthTokenData {
                    token,
                    extra: rest(map, &["token"]),
                }))
            }
            "#removeAuthToken" => Some(EventBody::RemoveAuthToken(data.cloned())),
            "#kickOut" => {
                self.direction(kind, name, Direction::Client, prefix);
                let map = self.object(data, data_field.clone(), imp)?;
                let channel = self.name(map, &data_field, "channel", imp)?;
                Some(EventBody::KickOut(KickOut {
                    channel,
                    message: map.get("message").cloned(),
                    extra: rest(map, &["channel", "message"]),
                }))
            }
            "#disconnect" => {
                let map = self.object(data, data_field.clone(), imp)?;
                let code_field = join(&data_field, "code");
                let code = match map.get("code") {
                    None => {
                        self.missing(code_field, imp);
                        None
                    }
                    Some(Value::Number(n)) => match n.as_i64() {
                        Some(c @ 1000..=4999) => u16::try_from(c).ok(),
                        Some(c) => {
                            self.push(code_field, Error::BadCloseCode(c));
                            None
                        }
                        None => {
                            self.wrong(code_field, "an integer close code", imp);
                            None
                        }
                    },
                    Some(_) => {
                        self.wrong(code_field, "an integer close code", imp);
                        None
                    }
                };
                Some(EventBody::Disconnect(DisconnectData {
                    code: code?,
                    data: map.get("data").cloned(),
                    extra: rest(map, &["code", "data"]),
                }))
            }
            _ if name.starts_with('#') => {
                self.push(
                    join(prefix, "event"),
                    Error::UnknownReservedEvent(name.to_owned()),
                );
                None
            }
            _ => Some(EventBody::Custom {
                event: name.to_owned(),
                data: data.cloned(),
            }),
        }
    }

    fn event(&mut self, kind: Kind, map: &Map<String, Value>, prefix: &str) -> Option<Event> {
        let section = Section::EmittedEvents;
        let cid = self.call_id(map.get("cid"), join(prefix, "cid"), section);
        let cid_ok = cid.is_some() || !map.contains_key("cid");
        let name = match map.get("event") {
            Some(Value::String(s)) if s.is_empty() => {
                self.empty(join(prefix, "event"), section);
                None
            }
            Some(Value::String(s)) => Some(s.as_str()),
            _ => {
                self.wrong(join(prefix, "event"), "a string", section);
                None
            }
        }?;
        let body = self.body(kind, name, map.get("data"), map.contains_key("cid"), prefix);
        if !cid_ok {
            return None;
        }
        Some(Event {
            body: body?,
            cid,
            extra: rest(map, &["event", "data", "cid"]),
        })
    }

    fn response(
        &mut self,
        kind: Kind,
        map: &Map<String, Value>,
        prefix: &str,
        single: bool,
    ) -> Option<Message> {
        let section = Section::EventResponses;
        let rid_field = join(prefix, "rid");
        let rid = match map.get("rid") {
            Some(v @ (Value::Number(_) | Value::String(_))) => {
                self.call_id(Some(v), rid_field, section)
            }
            _ => {
                self.wrong(rid_field, "a number or a string", section);
                None
            }
        };
        let error = match map.get("error") {
            None => Some(None),
            Some(v) => self.error_object(v, &join(prefix, "error")).map(Some),
        };
        if single && kind.handshake_response && map.get("error").is_none() {
            let status = self.handshake_status(map.get("data"), prefix);
            return Some(Message::HandshakeResponse(HandshakeResponse {
                rid: rid?,
                data: status?,
                extra: rest(map, &["rid", "data"]),
            }));
        }
        Some(Message::Response(Response {
            rid: rid?,
            data: map.get("data").cloned(),
            error: error?,
            extra: rest(map, &["rid", "data", "error"]),
        }))
    }

    fn packet(&mut self, kind: Kind, value: &Value, prefix: &str, single: bool) -> Option<Message> {
        let Value::Object(map) = value else {
            self.push(
                prefix,
                Error::NotAnObject {
                    found: rules::json_type(value),
                },
            );
            return None;
        };
        let has_event = map.contains_key("event");
        let has_rid = map.contains_key("rid");
        match (has_event, has_rid) {
            (true, true) => {
                self.push(prefix, Error::AmbiguousPacket);
                self.event(kind, map, prefix);
                None
            }
            (true, false) => self.event(kind, map, prefix).map(Message::Event),
            (false, true) => self.response(kind, map, prefix, single),
            (false, false) => {
                self.push(prefix, Error::MissingEventOrRid);
                None
            }
        }
    }

    fn message(&mut self, kind: Option<&str>, input: &[u8]) -> Option<Message> {
        let kind = match kind.map(str::parse::<Kind>) {
            None => Kind::default(),
            Some(Ok(kind)) => kind,
            Some(Err(e)) => {
                self.push("", Error::UnknownKind(e.kind));
                return None;
            }
        };
        let spec = Section::EmittedEvents.spec();
        let Ok(text) = std::str::from_utf8(input) else {
            self.w.common(CommonError::InvalidUtf8 { spec });
            return None;
        };
        let version = kind.version;
        match (text, version) {
            ("", ProtocolVersion::V1) => {
                self.push("", Error::EmptyMessage);
                return None;
            }
            ("", ProtocolVersion::V2) => {
                return Some(match kind.direction {
                    Some(Direction::Client) => Message::Pong(version),
                    _ => Message::Ping(version),
                });
            }
            ("#1" | "#2", ProtocolVersion::V2) => {
                self.push(
                    "",
                    Error::WrongProtocolVersion {
                        found: text.to_owned(),
                        expected: version,
                    },
                );
                return None;
            }
            ("#1", ProtocolVersion::V1) => {
                if kind.direction == Some(Direction::Client) {
                    self.push(
                        "",
                        Error::WrongDirection {
                            what: "ping".into(),
                            sender: Direction::Client,
                        },
                    );
                    return None;
                }
                return Some(Message::Ping(version));
            }
            ("#2", ProtocolVersion::V1) => {
                if kind.direction == Some(Direction::Server) {
                    self.push(
                        "",
                        Error::WrongDirection {
                            what: "pong".into(),
                            sender: Direction::Server,
                        },
                    );
                    return None;
                }
                return Some(Message::Pong(version));
            }
            _ => {}
        }
        let value: Value = match serde_json::from_str(text) {
            Ok(v) => v,
            Err(e) => {
                self.w.common(CommonError::InvalidJson {
                    reason: e.to_string(),
                    spec,
                });
                return None;
            }
        };
        match &value {
            Value::Array(items) if items.is_empty() => {
                self.push("", Error::EmptyBatch);
                None
            }
            Value::Array(items) => {
                let mut packets = Vec::with_capacity(items.len());
                let mut ok = true;
                for (i, item) in items.iter().enumerate() {
                    match self.packet(kind, item, &format!("[{i}]"), false) {
                        Some(Message::Event(e)) => packets.push(Packet::Event(e)),
                        Some(Message::Response(r)) => packets.push(Packet::Response(r)),
                        _ => ok = false,
                    }
                }
                ok.then_some(Message::Batch(packets))
            }
            _ => self.packet(kind, &value, "", true),
        }
    }
}

/// The fields of `map` other than `known`.
fn rest(map: &Map<String, Value>, known: &[&str]) -> Map<String, Value> {
    map.iter()
        .filter(|(k, _)| !known.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

fn check(kind: Option<&str>, input: &[u8]) -> (Option<Message>, Vec<(String, Error)>) {
    let mut checker = Checker {
        w: Walker::new(Section::EmittedEvents.spec()),
    };
    let message = checker.message(kind, input);
    let problems = checker.w.into_found();
    if problems.is_empty() {
        (message, problems)
    } else {
        (None, problems)
    }
}

/// Writes a JSON object with `fields` first (skipping absent ones), then `extra` minus those keys.
fn write_object(
    out: &mut Vec<u8>,
    fields: &[(&str, Option<Value>)],
    extra: &Map<String, Value>,
) -> Result<(), EncodeError> {
    let known: Vec<&str> = fields.iter().map(|(k, _)| *k).collect();
    let present = fields
        .iter()
        .filter_map(|(k, v)| v.as_ref().map(|v| (*k, v)));
    let others = extra
        .iter()
        .filter(|(k, _)| !known.contains(&k.as_str()))
        .map(|(k, v)| (k.as_str(), v));
    out.push(b'{');
    for (i, (key, value)) in present.chain(others).enumerate() {
        if i > 0 {
            out.push(b',');
        }
        serde_json::to_writer(&mut *out, key)?;
        out.push(b':');
        serde_json::to_writer(&mut *out, value)?;
    }
    out.push(b'}');
    Ok(())
}

fn write_event(out: &mut Vec<u8>, event: &Event) -> Result<(), EncodeError> {
    write_object(
        out,
        &[
            ("event", Some(Value::String(event.body.name().to_owned()))),
            ("data", event.body.data()?),
            ("cid", event.cid.as_ref().map(CallId::to_value)),
        ],
        &event.extra,
    )
}

fn write_response(out: &mut Vec<u8>, response: &Response) -> Result<(), EncodeError> {
    let error = response
        .error
        .as_ref()
        .map(serde_json::to_value)
        .transpose()?;
    write_object(
        out,
        &[
            ("rid", Some(response.rid.to_value())),
            ("data", response.data.clone()),
            ("error", error),
        ],
        &response.extra,
    )
}

impl SocketCluster {
    /// Parses a kind hint.
    pub fn kind(kind: Option<&str>) -> Result<Kind, Error> {
        match kind.map(str::parse::<Kind>) {
            None => Ok(Kind::default()),
            Some(Ok(kind)) => Ok(kind),
            Some(Err(e)) => Err(Error::UnknownKind(e.kind)),
        }
    }
}

impl Dialect for SocketCluster {
    const PROTOCOL: Protocol = Protocol::Socketcluster;
    const DOCUMENT: &'static str = DOCUMENT;
    /// `cid` of an event, `rid` of its response, `id` of the handshake status.
    const ID_FIELDS: &'static [&'static str] = &["cid", "rid", "id"];
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
            (None, _) => Err(Error::MissingEventOrRid),
        }
    }

    fn encode(message: &Message) -> Result<Vec<u8>, EncodeError> {
        let mut out = Vec::new();
        match message {
            Message::Ping(v) => out.extend_from_slice(v.ping().as_bytes()),
            Message::Pong(v) => out.extend_from_slice(v.pong().as_bytes()),
            Message::Event(e) => write_event(&mut out, e)?,
            Message::Response(r) => write_response(&mut out, r)?,
            Message::HandshakeResponse(h) => write_object(
                &mut out,
                &[
                    ("rid", Some(h.rid.to_value())),
                    ("data", Some(serde_json::to_value(&h.data)?)),
                ],
                &h.extra,
            )?,
            Message::Batch(packets) => {
                out.push(b'[');
                for (i, packet) in packets.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    match packet {
                        Packet::Event(e) => write_event(&mut out, e)?,
                        Packet::Response(r) => write_response(&mut out, r)?,
                    }
                }
                out.push(b']');
            }
        }
        Ok(out)
    }

    fn validate(kind: Option<&str>, input: &[u8]) -> Vec<Violation> {
        check(kind, input)
            .1
            .iter()
            .map(|(field, error)| Violation::from_error(field.clone(), error))
            .collect()
    }

    /// Splits a capture into JSON values and `#1` / `#2` tokens; an unreadable tail is one last frame.
    fn frames(input: &[u8]) -> Vec<Frame<'_>> {
        let mut frames = Vec::new();
        let mut pos = 0;
        loop {
            while pos < input.len() && input[pos].is_ascii_whitespace() {
                pos += 1;
            }
            let rest = &input[pos..];
            if rest.is_empty() {
                break;
            }
            if rest.starts_with(b"#1") || rest.starts_with(b"#2") {
                frames.push(Frame {
                    offset: pos,
                    bytes: &rest[..2],
                });
                pos += 2;
                continue;
            }
            let mut stream =
                serde_json::Deserializer::from_slice(rest).into_iter::<serde::de::IgnoredAny>();
            match stream.next() {
                Some(Ok(_)) => {
                    let end = stream.byte_offset();
                    let bytes = &rest[..end];
                    frames.push(Frame { offset: pos, bytes });
                    pos += end;
                }
                _ => {
                    let trailing = rest
                        .iter()
                        .rev()
                        .take_while(|b| b.is_ascii_whitespace())
                        .count();
                    frames.push(Frame {
                        offset: pos,
                        bytes: &rest[..rest.len() - trailing],
                    });
                    break;
                }
            }
        }
        frames
    }
}
