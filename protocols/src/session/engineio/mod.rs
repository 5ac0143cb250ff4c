//! Engine.IO sessions (v3 and v4) for both ends, and the HTTP routing of the server end.
//!
//! [`route`] reads an HTTP request's method and query into a [`Route`] (or
//! the [`HttpError`] Node answers it with); the driver then finds the
//! session by sid and calls the matching `handle_*` method of
//! [`ServerSession`]. [`ClientSession`] is the other end.
mod client;
mod server;

pub use client::{ClientConfig, ClientEvent, ClientSession, ClientTransmit, Request};
pub use server::{ServerConfig, ServerEvent, ServerSession, ServerTransmit};

use std::collections::VecDeque;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;

use super::{HttpError, HttpResponse, Outbound, OutboundKind, Transport, WsFrame};
use crate::engineio::{EioVersion, Packet, PacketData, PacketType, Payload};

/// The HTTP method of a request, as far as Engine.IO cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// `GET`: a handshake or a poll.
    Get,
    /// `POST`: packets from the client.
    Post,
    /// Anything else.
    Other,
}

/// What an HTTP request to the Engine.IO path asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// A new session (no `sid`): over polling the GET is answered with the open packet.
    Handshake {
        /// The `EIO` version.
        version: EioVersion,
        /// The requested transport.
        transport: Transport,
        /// v3 `b64=1`: the client takes binary as base64 text.
        b64: bool,
    },
    /// A GET of an open session: [`ServerSession::handle_poll`].
    Poll {
        /// The `EIO` version (the driver refuses one other than the session's with [`HttpError::BadRequest`]).
        version: EioVersion,
        /// The session id.
        sid: String,
    },
    /// A POST to an open session: [`ServerSession::handle_post`].
    Post {
        /// The `EIO` version (the driver refuses one other than the session's with [`HttpError::BadRequest`]).
        version: EioVersion,
        /// The session id.
        sid: String,
    },
    /// A WebSocket for an open session, the upgrade: [`ServerSession::handle_upgrade`].
    Upgrade {
        /// The `EIO` version (the driver refuses one other than the session's with [`HttpError::BadRequest`]).
        version: EioVersion,
        /// The session id.
        sid: String,
    },
}

/// The value of one query parameter, percent-decoded.
pub fn query_param(query: &str, name: &str) -> Option<String> {
    query.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        (k == name).then(|| percent_decode(v))
    })
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| char::from(b).to_digit(16);
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push((h * 16 + l) as u8);
                    i += 3;
                    continue;
                }
                _ => out.push(b'%'),
            },
            b'+' => out.push(b' '),
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Reads a request to the Engine.IO path, checking what Node checks and in
/// its order: the transport (code 0), then with a `sid` the method, without
/// one the handshake method (code 2) and the `EIO` version (code 5).
/// `websocket` says the request asks to upgrade to WebSocket; `versions`
/// are the revisions the server speaks.
pub fn route(
    method: Method,
    query: &str,
    websocket: bool,
    versions: &[EioVersion],
) -> Result<Route, HttpError> {
    let transport = match query_param(query, "transport").as_deref() {
        Some("polling") => Transport::Polling,
        Some("websocket") => Transport::WebSocket,
        _ => return Err(HttpError::UnknownTransport),
    };
    if (transport == Transport::WebSocket) != websocket {
        return Err(HttpError::BadRequest);
    }
    let version = match query_param(query, "EIO").as_deref() {
        Some("3") => Some(EioVersion::V3),
        Some("4") => Some(EioVersion::V4),
        _ => None,
    }
    .filter(|v| versions.contains(v));
    match query_param(query, "sid") {
        Some(sid) => {
            let version = version.ok_or(HttpError::UnsupportedProtocolVersion)?;
            match (transport, method) {
                (Transport::WebSocket, Method::Get) => Ok(Route::Upgrade { version, sid }),
                (Transport::Polling, Method::Get) => Ok(Route::Poll { version, sid }),
                (Transport::Polling, Method::Post) => Ok(Route::Post { version, sid }),
                _ => Err(HttpError::BadRequest),
            }
        }
        None => {
            if method != Method::Get {
                return Err(HttpError::BadHandshakeMethod);
            }
            let version = version.ok_or(HttpError::UnsupportedProtocolVersion)?;
            let b64 = query_param(query, "b64").is_some_and(|v| !v.is_empty() && v != "0");
            Ok(Route::Handshake {
                version,
                transport,
                b64,
            })
        }
    }
}

/// One packet waiting in a send queue.
#[derive(Debug, Clone)]
pub(crate) enum Item {
    /// A packet the session itself sends (open, ping, pong, close, noop, upgrade...).
    Control(Packet),
    /// An application message.
    Message(Outbound),
}

impl Item {
    fn is_ping(&self) -> bool {
        matches!(self, Item::Control(p) if p.packet_type == PacketType::Ping)
    }

    fn is_binary(&self) -> bool {
        matches!(
            self,
            Item::Message(Outbound(OutboundKind::Binary(_)))
                | Item::Control(Packet {
                    data: PacketData::Binary(_),
                    ..
                })
        )
    }

    /// The packet as one text packet of a payload or a text frame.
    fn text(&self, version: EioVersion) -> std::borrow::Cow<'_, str> {
        match self {
            Item::Control(p) => p.encode_text(version).into(),
            Item::Message(Outbound(OutboundKind::Text(t))) => std::borrow::Cow::Borrowed(t),
            Item::Message(Outbound(OutboundKind::Binary(b))) => {
                let mut s = String::from(if version == EioVersion::V3 { "b4" } else { "b" });
                s.push_str(&STANDARD.encode(b));
                s.into()
            }
        }
    }

    /// The packet as a WebSocket frame: the shared bytes of an [`Outbound`]
    /// (a v3 binary message is copied behind its `0x04` type byte).
    fn frame(&self, version: EioVersion) -> WsFrame {
        match self {
            Item::Message(Outbound(OutboundKind::Text(t))) => WsFrame::Text(t.clone()),
            Item::Message(Outbound(OutboundKind::Binary(b))) => match version {
                EioVersion::V4 => WsFrame::Binary(b.clone()),
                EioVersion::V3 => {
                    let mut out = Vec::with_capacity(b.len() + 1);
                    out.push(PacketType::Message.id());
                    out.extend_from_slice(b);
                    WsFrame::Binary(out.into())
                }
            },
            Item::Control(p) => match &p.data {
                PacketData::Text(_) => WsFrame::Text(p.encode_text(version).into()),
                PacketData::Binary(_) => WsFrame::Binary(p.encode_binary(version).into()),
            },
        }
    }

    fn packet(&self) -> Packet {
        match self {
            Item::Control(p) => p.clone(),
            Item::Message(Outbound(OutboundKind::Text(t))) => {
                Packet::message(t.get(1..).unwrap_or_default())
            }
            Item::Message(Outbound(OutboundKind::Binary(b))) => Packet::binary(b.to_vec()),
        }
    }
}

/// The size of one packet inside a payload (its text, and a separator or length prefix).
fn encoded_len(version: EioVersion, item: &Item) -> usize {
    item.text(version).len() + if version == EioVersion::V4 { 1 } else { 8 }
}

/// Takes from the front of `queue` as many packets as fit in `max` bytes
/// (at least one) and encodes them as one polling payload: v4 text joined
/// by `\x1e`; v3 text with length prefixes, or the XHR2 binary framing
/// when a packet is binary and the client did not ask for base64.
pub(crate) fn drain_payload(
    version: EioVersion,
    queue: &mut VecDeque<Item>,
    max: usize,
    b64: bool,
) -> Drained {
    let mut batch = Vec::new();
    let mut size = 0;
    let (mut messages, mut bytes, mut ping) = (0, 0, false);
    while let Some(item) = queue.front() {
        let len = encoded_len(version, item);
        if !batch.is_empty() && size + len > max {
            break;
        }
        size += len;
        if let Item::Message(m) = item {
            messages += 1;
            bytes += m.len();
        }
        ping |= item.is_ping();
        batch.extend(queue.pop_front());
    }
    Drained {
        payload: encode_payload(version, &batch, b64),
        messages,
        bytes,
        ping,
    }
}

/// A payload taken from a send queue, and how many application messages
/// (and their bytes) left the queue with it.
pub(crate) struct Drained {
    /// The body, and whether it is the v3 binary framing.
    pub payload: (Vec<u8>, bool),
    pub messages: usize,
    pub bytes: usize,
    /// Whether a ping went out with it.
    pub ping: bool,
}

/// Encodes packets as a polling payload; the flag says it is the binary framing.
pub(crate) fn encode_payload(version: EioVersion, batch: &[Item], b64: bool) -> (Vec<u8>, bool) {
    match version {
        EioVersion::V4 => {
            let mut out = String::new();
            for (i, item) in batch.iter().enumerate() {
                if i > 0 {
                    out.push(crate::engineio::RECORD_SEPARATOR);
                }
                out.push_str(&item.text(version));
            }
            (out.into_bytes(), false)
        }
        EioVersion::V3 if !b64 && batch.iter().any(Item::is_binary) => {
            let payload = Payload::new(batch.iter().map(Item::packet).collect());
            (payload.encode_binary(), true)
        }
        EioVersion::V3 => {
            if batch.is_empty() {
                return (b"0:".to_vec(), false);
            }
            let mut out = String::new();
            for item in batch {
                let text = item.text(version);
                out.push_str(&text.encode_utf16().count().to_string());
                out.push(':');
                out.push_str(&text);
            }
            (out.into_bytes(), false)
        }
    }
}

/// The response to a poll carrying this payload.
pub(crate) fn payload_response((body, binary): (Vec<u8>, bool)) -> HttpResponse {
    if binary {
        HttpResponse::binary(body)
    } else {
        HttpResponse {
            body,
            ..HttpResponse::text("")
        }
    }
}

/// Reads a WebSocket frame into a packet (a text frame, or a binary one: v3 with its type byte).
pub(crate) fn decode_frame(
    version: EioVersion,
    frame: &WsFrame,
) -> Result<Packet, crate::engineio::Error> {
    match frame {
        WsFrame::Text(t) => Packet::decode(version, t),
        WsFrame::Binary(b) => Packet::decode_binary(version, b),
    }
}

/// The size of a frame in bytes.
pub(crate) fn frame_len(frame: &WsFrame) -> usize {
    match frame {
        WsFrame::Text(t) => t.len(),
        WsFrame::Binary(b) => b.len(),
    }
}
