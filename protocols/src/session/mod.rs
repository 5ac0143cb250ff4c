//! Sans-IO Engine.IO and Socket.IO sessions, for the server and the client end.
//!
//! Each session is a state machine in the style of quinn-proto's
//! connection: the driver feeds it what arrived with `handle_*` (a poll, a
//! POST body, a WebSocket frame), each call given `now`; then asks it what to
//! send with `poll_transmit`, when to wake it with `poll_timeout` (and calls
//! `handle_timeout` then), and what happened with `poll_event`. Call
//! `poll_transmit` and `poll_event` until they return `None` after every
//! `handle_*` call and every application call (`send`, `close`).
//!
//! Time is a [`Duration`](std::time::Duration) since any origin the driver
//! picks; the sessions never read the clock. Outgoing messages are
//! [`Outbound`] values that share their bytes, so one encoded broadcast is
//! queued to every recipient without copying.
//!
//! - [`engineio::ServerSession`], [`engineio::ClientSession`]: Engine.IO v3
//!   and v4 over HTTP long-polling and WebSocket, with the upgrade and the
//!   heartbeat; [`engineio::route`] maps an HTTP request to what the driver
//!   does with it, and [`HttpError`] answers errors as Node does.
//! - [`socketio`]: Socket.IO v4/v5 namespaces, events, acks and binary
//!   attachments over an Engine.IO session, and [`socketio::Rooms`].
//! - [`socketcluster::ServerSession`], [`socketcluster::ClientSession`]: the
//!   SocketCluster server and client ends (handshake, cid/rid, ping/pong, close
//!   codes) over one WebSocket.

pub mod engineio;
pub mod socketcluster;
pub mod socketio;

use std::collections::VecDeque;
use std::sync::Arc;

/// The front of `queue`; when there is none, the queue's storage is freed.
///
/// A `VecDeque` keeps its capacity once drained: four slots of packets,
/// transmits or events in every session, idle ones included, for good.
/// Freed when a drain finds the queue empty (once per burst, not per
/// item), an idle session holds none, and a busy one allocates again as
/// its queue fills.
pub(crate) fn pop_or_free<T>(queue: &mut VecDeque<T>) -> Option<T> {
    let front = queue.pop_front();
    if front.is_none() && queue.capacity() > 0 {
        *queue = VecDeque::new();
    }
    front
}

/// Which transport a transmit or an input belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Transport {
    /// HTTP long-polling.
    Polling,
    /// WebSocket.
    WebSocket,
}

impl Transport {
    /// The value of the `transport` query parameter.
    pub fn query_value(self) -> &'static str {
        match self {
            Transport::Polling => "polling",
            Transport::WebSocket => "websocket",
        }
    }
}

/// One WebSocket frame, its bytes shared with every other session it was queued to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WsFrame {
    /// A text frame.
    Text(Arc<str>),
    /// A binary frame.
    Binary(Arc<[u8]>),
}

/// An Engine.IO message encoded once, cheap to clone: the text frame
/// (`4` and the data) or the binary data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outbound(pub(crate) OutboundKind);

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum OutboundKind {
    /// A complete text packet: the type digit then the data.
    Text(Arc<str>),
    /// The data of a binary message.
    Binary(Arc<[u8]>),
}

impl Outbound {
    /// A text message (`4` + `data`).
    pub fn text(data: &str) -> Outbound {
        let mut s = String::with_capacity(data.len() + 1);
        s.push('4');
        s.push_str(data);
        Outbound(OutboundKind::Text(s.into()))
    }

    /// A binary message.
    pub fn binary(data: impl Into<Arc<[u8]>>) -> Outbound {
        Outbound(OutboundKind::Binary(data.into()))
    }

    /// Bytes this message occupies in a send queue.
    pub fn len(&self) -> usize {
        match &self.0 {
            OutboundKind::Text(t) => t.len(),
            OutboundKind::Binary(b) => b.len(),
        }
    }

    /// Whether the message carries nothing at all (never: a text message has its type).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether two messages share the same bytes (the same encoding, not a copy).
    pub fn shares_bytes_with(&self, other: &Outbound) -> bool {
        match (&self.0, &other.0) {
            (OutboundKind::Text(a), OutboundKind::Text(b)) => Arc::ptr_eq(a, b),
            (OutboundKind::Binary(a), OutboundKind::Binary(b)) => Arc::ptr_eq(a, b),
            _ => false,
        }
    }
}

/// Application data an Engine.IO message carried.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Data {
    /// A text message.
    Text(String),
    /// A binary message.
    Binary(Vec<u8>),
}

/// Why a session ended.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CloseReason {
    /// The application closed the session.
    #[error("closed by the application")]
    Closed,
    /// The peer sent a close packet (`1`).
    #[error("the peer sent a close packet")]
    PeerClosed,
    /// The WebSocket (or the HTTP exchange) the session ran on ended.
    #[error("the transport closed")]
    TransportClosed,
    /// The heartbeat lapsed: no ping (v3 server, v4 client) or no pong (v4 server, v3 client) in time.
    #[error("ping timeout")]
    PingTimeout,
    /// A second poll arrived while one was pending.
    #[error("a second poll arrived while one was pending")]
    ConcurrentPoll,
    /// The peer sent a heartbeat packet the other way round (a ping to a v4 server, a pong to a v3 one).
    #[error("a heartbeat in the wrong direction")]
    InvalidHeartbeatDirection,
    /// A packet that is not expected here (an open packet from a client, an upgrade over polling...).
    #[error("unexpected {0} packet")]
    UnexpectedPacket(&'static str),
    /// Bytes that do not decode.
    #[error("parse error: {0}")]
    ParseError(String),
    /// A payload, frame or packet larger than allowed.
    #[error("{size} bytes exceed the maximum of {max}")]
    PayloadTooLarge {
        /// What arrived.
        size: usize,
        /// The bound.
        max: usize,
    },
    /// The send queue was full: the peer reads too slowly.
    #[error("the send queue is full ({0} messages)")]
    QueueFull(usize),
    /// The server answered the handshake or a request with an error.
    #[error("the server refused: {0}")]
    Refused(String),
    /// The Socket.IO connection to a namespace was not completed in time.
    #[error("connect timeout")]
    ConnectTimeout,
}

/// An HTTP response for the driver to write as it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpResponse {
    /// The status code.
    pub status: u16,
    /// The `Content-Type` header.
    pub content_type: &'static str,
    /// The body.
    pub body: Vec<u8>,
}

impl HttpResponse {
    /// `200` with a text body.
    pub fn text(body: impl Into<String>) -> HttpResponse {
        HttpResponse {
            status: 200,
            content_type: "text/plain; charset=UTF-8",
            body: body.into().into_bytes(),
        }
    }

    /// `200` with a binary body (v3 XHR2 payloads).
    pub fn binary(body: Vec<u8>) -> HttpResponse {
        HttpResponse {
            status: 200,
            content_type: "application/octet-stream",
            body,
        }
    }
}

/// Why the server refused an HTTP request: the codes and messages of Node's engine.io.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum HttpError {
    /// Code 0: the `transport` parameter is missing or names no transport.
    #[error("Transport unknown")]
    UnknownTransport,
    /// Code 1: the `sid` names no open session.
    #[error("Session ID unknown")]
    UnknownSid,
    /// Code 2: a handshake that is not a GET.
    #[error("Bad handshake method")]
    BadHandshakeMethod,
    /// Code 3: a request the session cannot take (polling after the upgrade, a second poll...).
    #[error("Bad request")]
    BadRequest,
    /// Code 4: refused by the application.
    #[error("Forbidden")]
    Forbidden,
    /// Code 5: an `EIO` parameter that is not a version this server speaks.
    #[error("Unsupported protocol version")]
    UnsupportedProtocolVersion,
}

impl HttpError {
    /// The numeric code of the JSON body.
    pub fn code(self) -> u8 {
        match self {
            HttpError::UnknownTransport => 0,
            HttpError::UnknownSid => 1,
            HttpError::BadHandshakeMethod => 2,
            HttpError::BadRequest => 3,
            HttpError::Forbidden => 4,
            HttpError::UnsupportedProtocolVersion => 5,
        }
    }

    /// The response: `400` (`403` for [`HttpError::Forbidden`]) with
    /// `{"code":<number>,"message":...}`.
    pub fn response(self) -> HttpResponse {
        let body = serde_json::json!({"code": self.code(), "message": self.to_string()});
        HttpResponse {
            status: if self == HttpError::Forbidden {
                403
            } else {
                400
            },
            content_type: "application/json",
            body: body.to_string().into_bytes(),
        }
    }

    /// The error a response of this shape carries, if any (what a client reads back).
    pub fn from_response(status: u16, body: &[u8]) -> Option<HttpError> {
        if status < 400 {
            return None;
        }
        let value: serde_json::Value = serde_json::from_slice(body).ok()?;
        Some(match value.get("code")?.as_u64()? {
            0 => HttpError::UnknownTransport,
            1 => HttpError::UnknownSid,
            2 => HttpError::BadHandshakeMethod,
            3 => HttpError::BadRequest,
            4 => HttpError::Forbidden,
            5 => HttpError::UnsupportedProtocolVersion,
            _ => return None,
        })
    }
}
