//! Engine.IO v3 and v4: packets, the handshake, and polling payloads, sans-IO.
//!
//! An Engine.IO packet is a type digit (`0` open … `6` noop) and optional
//! data, text or binary. Over WebSocket each packet is one frame; over HTTP
//! long-polling several packets travel as one *payload*:
//!
//! - v4: text packets joined by the record separator `\x1e`, binary packets as
//!   `b` + base64 (always of type message).
//! - v3: `<length>:<packet>` with the length counted in UTF-16 code units (as
//!   JavaScript counts string length), binary packets as `b<type>` + base64;
//!   or, for XHR2 clients, the binary framing `0x00|0x01`, the length's decimal
//!   digits as bytes, `0xFF`, then the packet (text packets as UTF-8, binary
//!   ones as a type byte and the data).
//!
//! Decoding never panics: truncated and non-digit lengths, lengths past the
//! end, invalid UTF-8 and bad base64 are [`Error`]s.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde::{Deserialize, Serialize};

use crate::Rule;

/// The Engine.IO protocol revision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum EioVersion {
    /// Revision 3 (`EIO=3`): Socket.IO 1.x and 2.x; the client pings.
    V3,
    /// Revision 4 (`EIO=4`): Socket.IO 3.x and later; the server pings.
    V4,
}

impl EioVersion {
    /// The value of the `EIO` query parameter.
    pub fn query_value(self) -> u8 {
        match self {
            EioVersion::V3 => 3,
            EioVersion::V4 => 4,
        }
    }
}

/// The type of an Engine.IO packet: the first character of its encoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum PacketType {
    /// `0`: sent by the server with the handshake data.
    Open,
    /// `1`: asks to close the transport.
    Close,
    /// `2`: heartbeat request (server → client in v4, client → server in v3), or `2probe`.
    Ping,
    /// `3`: heartbeat answer, or `3probe`.
    Pong,
    /// `4`: carries the application's data (a Socket.IO packet on this transport).
    Message,
    /// `5`: completes the upgrade to WebSocket.
    Upgrade,
    /// `6`: does nothing; closes a pending poll during an upgrade.
    Noop,
}

impl PacketType {
    /// Every packet type, in id order.
    pub const ALL: [PacketType; 7] = [
        PacketType::Open,
        PacketType::Close,
        PacketType::Ping,
        PacketType::Pong,
        PacketType::Message,
        PacketType::Upgrade,
        PacketType::Noop,
    ];

    /// The numeric id (0–6).
    pub fn id(self) -> u8 {
        self as u8
    }

    /// The type with this numeric id.
    pub fn from_id(id: u8) -> Option<PacketType> {
        PacketType::ALL.get(usize::from(id)).copied()
    }

    /// The ASCII digit that starts a text packet of this type.
    pub fn digit(self) -> char {
        char::from(b'0' + self.id())
    }

    fn from_digit(c: u8) -> Option<PacketType> {
        c.checked_sub(b'0').and_then(PacketType::from_id)
    }
}

/// The data of an Engine.IO packet.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum PacketData {
    /// Text (possibly empty: a packet with no data).
    Text(String),
    /// Binary data.
    Binary(Vec<u8>),
}

/// One Engine.IO packet.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Packet {
    /// What the packet is for.
    pub packet_type: PacketType,
    /// What it carries.
    pub data: PacketData,
}

/// The string a ping/pong carries during the WebSocket upgrade.
pub const PROBE: &str = "probe";

/// The character that separates the packets of a v4 polling payload.
pub const RECORD_SEPARATOR: char = '\x1e';

impl Packet {
    /// A packet with text data.
    pub fn text(packet_type: PacketType, data: impl Into<String>) -> Packet {
        Packet {
            packet_type,
            data: PacketData::Text(data.into()),
        }
    }

    /// A packet with no data, e.g. `2` (ping) or `5` (upgrade).
    pub fn empty(packet_type: PacketType) -> Packet {
        Packet::text(packet_type, "")
    }

    /// The open packet carrying a handshake.
    pub fn open(handshake: &Handshake) -> Packet {
        Packet::text(PacketType::Open, handshake.encode())
    }

    /// A text message packet (`4…`).
    pub fn message(data: impl Into<String>) -> Packet {
        Packet::text(PacketType::Message, data)
    }

    /// A binary message packet.
    pub fn binary(data: impl Into<Vec<u8>>) -> Packet {
        Packet {
            packet_type: PacketType::Message,
            data: PacketData::Binary(data.into()),
        }
    }

    /// The upgrade probe the client sends over the new WebSocket: `2probe`.
    pub fn ping_probe() -> Packet {
        Packet::text(PacketType::Ping, PROBE)
    }

    /// The server's answer to the probe: `3probe`.
    pub fn pong_probe() -> Packet {
        Packet::text(PacketType::Pong, PROBE)
    }

    /// The text data, when the packet carries text.
    pub fn as_text(&self) -> Option<&str> {
        match &self.data {
            PacketData::Text(t) => Some(t),
            PacketData::Binary(_) => None,
        }
    }

    /// Whether this is `2probe` or `3probe`.
    pub fn is_probe(&self) -> bool {
        matches!(self.packet_type, PacketType::Ping | PacketType::Pong)
            && self.as_text() == Some(PROBE)
    }

    /// Encodes the packet as text: a WebSocket text frame or one packet of a
    /// polling payload. Binary data becomes base64: `b` + base64 in v4 (the
    /// type is always message), `b<type>` + base64 in v3.
    pub fn encode_text(&self, version: EioVersion) -> String {
        match &self.data {
            PacketData::Text(t) => {
                let mut s = String::with_capacity(t.len() + 1);
                s.push(self.packet_type.digit());
                s.push_str(t);
                s
            }
            PacketData::Binary(b) => {
                let mut s = String::from("b");
                if version == EioVersion::V3 {
                    s.push(self.packet_type.digit());
                }
                s.push_str(&STANDARD.encode(b));
                s
            }
        }
    }

    /// Encodes the packet as a WebSocket binary frame: in v3 a type byte
    /// then the data, in v4 the data alone (always a message). Text data is
    /// written as its UTF-8 bytes.
    pub fn encode_binary(&self, version: EioVersion) -> Vec<u8> {
        let bytes = match &self.data {
            PacketData::Text(t) => t.as_bytes(),
            PacketData::Binary(b) => b.as_slice(),
        };
        let mut out = Vec::with_capacity(bytes.len() + 1);
        if version == EioVersion::V3 {
            out.push(self.packet_type.id());
        }
        out.extend_from_slice(bytes);
        out
    }

    /// Decodes a text packet (WebSocket text frame or one packet of a polling
    /// payload), including the base64 form of binary packets, and checks the
    /// rules of its type.
    pub fn decode(version: EioVersion, input: &str) -> Result<Packet, Error> {
        let packet = Packet::parse_text(version, input)?;
        match packet.violations(version).into_iter().next() {
            Some(e) => Err(e),
            None => Ok(packet),
        }
    }

    /// Decodes a WebSocket binary frame and checks the rules of its type.
    pub fn decode_binary(version: EioVersion, input: &[u8]) -> Result<Packet, Error> {
        let packet = Packet::parse_binary(version, input)?;
        match packet.violations(version).into_iter().next() {
            Some(e) => Err(e),
            None => Ok(packet),
        }
    }

    /// Reads the structure of a text packet without checking the rules of its type.
    pub fn parse_text(version: EioVersion, input: &str) -> Result<Packet, Error> {
        let bytes = input.as_bytes();
        let Some(&first) = bytes.first() else {
            return Err(Error::EmptyPacket);
        };
        if first == b'b' {
            let rest = &input[1..];
            let (packet_type, b64) = match version {
                EioVersion::V4 => (PacketType::Message, rest),
                EioVersion::V3 => {
                    let Some(&t) = rest.as_bytes().first() else {
                        return Err(Error::EmptyPacket);
                    };
                    let packet_type =
                        PacketType::from_digit(t).ok_or(Error::UnknownPacketType {
                            found: char::from(t).to_string(),
                        })?;
                    (packet_type, &rest[1..])
                }
            };
            let data = STANDARD.decode(b64).map_err(|_| Error::InvalidBase64)?;
            return Ok(Packet {
                packet_type,
                data: PacketData::Binary(data),
            });
        }
        let packet_type =
            PacketType::from_digit(first).ok_or_else(|| Error::UnknownPacketType {
                found: input.chars().next().map(String::from).unwrap_or_default(),
            })?;
        Ok(Packet::text(packet_type, &input[1..]))
    }

    /// Reads the structure of a binary frame without checking the rules of its type.
    pub fn parse_binary(version: EioVersion, input: &[u8]) -> Result<Packet, Error> {
        match version {
            EioVersion::V4 => Ok(Packet::binary(input)),
            EioVersion::V3 => {
                let Some((&t, rest)) = input.split_first() else {
                    return Err(Error::EmptyPacket);
                };
                let packet_type = PacketType::from_id(t).ok_or(Error::UnknownPacketType {
                    found: format!("0x{t:02x}"),
                })?;
                Ok(Packet {
                    packet_type,
                    data: PacketData::Binary(rest.to_vec()),
                })
            }
        }
    }

    /// Every rule of its type this packet breaks: only message packets carry
    /// binary data; close, upgrade and noop carry nothing; in v4 a ping or
    /// pong carries nothing or `probe`; an open packet carries a handshake.
    pub fn violations(&self, version: EioVersion) -> Vec<Error> {
        let mut out = Vec::new();
        let text = match &self.data {
            PacketData::Binary(_) => {
                if self.packet_type != PacketType::Message {
                    out.push(Error::BinaryNotMessage {
                        packet_type: self.packet_type,
                    });
                }
                return out;
            }
            PacketData::Text(t) => t,
        };
        match self.packet_type {
            PacketType::Close | PacketType::Upgrade | PacketType::Noop if !text.is_empty() => out
                .push(Error::UnexpectedData {
                    packet_type: self.packet_type,
                }),
            PacketType::Ping | PacketType::Pong
                if version == EioVersion::V4 && !text.is_empty() && text != PROBE =>
            {
                out.push(Error::UnexpectedData {
                    packet_type: self.packet_type,
                })
            }
            PacketType::Open => out.extend(
                Handshake::violations(version, text)
                    .into_iter()
                    .map(|(_, e)| e),
            ),
            _ => {}
        }
        out
    }
}

/// The handshake data of the open packet.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Handshake {
    /// The session id, sent back in the `sid` query parameter.
    pub sid: String,
    /// The transports the client may upgrade to (`["websocket"]`). Required
    /// in v4; the v3 document's WebSocket-only example leaves it out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upgrades: Option<Vec<String>>,
    /// Heartbeat interval in milliseconds.
    #[serde(rename = "pingInterval")]
    pub ping_interval: u64,
    /// Heartbeat timeout in milliseconds.
    #[serde(rename = "pingTimeout")]
    pub ping_timeout: u64,
    /// Largest payload in bytes the client should send (v4; servers often send it in v3 too).
    #[serde(
        rename = "maxPayload",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub max_payload: Option<u64>,
    /// Fields the documents do not name, kept as they came.
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

impl Handshake {
    /// Encodes the handshake as the JSON the open packet carries.
    pub fn encode(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Decodes the open packet's JSON for a protocol version.
    pub fn decode(version: EioVersion, input: &str) -> Result<Handshake, Error> {
        if let Some((_, e)) = Handshake::violations(version, input).into_iter().next() {
            return Err(e);
        }
        serde_json::from_str(input).map_err(|_| Error::InvalidJson)
    }

    /// Every rule the handshake JSON breaks, with the field it concerns.
    pub fn violations(version: EioVersion, input: &str) -> Vec<(String, Error)> {
        let value: serde_json::Value = match serde_json::from_str(input) {
            Ok(v) => v,
            Err(_) => return vec![(String::new(), Error::InvalidJson)],
        };
        let Some(obj) = value.as_object() else {
            return vec![(
                String::new(),
                Error::WrongType {
                    field: String::new(),
                    expected: "an object",
                },
            )];
        };
        let mut out = Vec::new();
        let mut field = |name: &'static str,
                         required: bool,
                         expected: &'static str,
                         ok: fn(&serde_json::Value) -> bool| {
            match obj.get(name) {
                None if required => {
                    out.push((name.to_owned(), Error::MissingField { field: name }))
                }
                None => {}
                Some(v) if !ok(v) => out.push((
                    name.to_owned(),
                    Error::WrongType {
                        field: name.to_owned(),
                        expected,
                    },
                )),
                Some(_) => {}
            }
        };
        field("sid", true, "a non-empty string", |v| {
            v.as_str().is_some_and(|s| !s.is_empty())
        });
        field(
            "upgrades",
            version == EioVersion::V4,
            "an array of strings",
            |v| {
                v.as_array()
                    .is_some_and(|a| a.iter().all(|t| t.is_string()))
            },
        );
        field("pingInterval", true, "a non-negative integer", |v| {
            v.is_u64()
        });
        field("pingTimeout", true, "a non-negative integer", |v| {
            v.is_u64()
        });
        field(
            "maxPayload",
            version == EioVersion::V4,
            "a positive integer",
            |v| v.as_u64().is_some_and(|n| n > 0),
        );
        out
    }
}

/// Limits a decoder enforces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Config {
    /// Largest packet or payload accepted, in bytes (the server's `maxPayload`).
    pub max_payload: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            max_payload: 1_000_000,
        }
    }
}

/// A polling payload: the packets one HTTP request or response carries.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Payload {
    /// The packets, in order.
    pub packets: Vec<Packet>,
}

/// The longest length prefix accepted, in digits.
const MAX_LENGTH_DIGITS: usize = 10;

impl Payload {
    /// A payload of these packets.
    pub fn new(packets: Vec<Packet>) -> Payload {
        Payload { packets }
    }

    /// Encodes the payload as text: v4 joins packets with `\x1e` (binary
    /// ones as `b` + base64); v3 prefixes each with its length in UTF-16
    /// code units and a colon (binary ones as `b<type>` + base64), and an
    /// empty v3 payload is `0:`. A v4 text packet must not contain `\x1e`.
    pub fn encode(&self, version: EioVersion) -> String {
        match version {
            EioVersion::V4 => {
                let parts: Vec<String> = self
                    .packets
                    .iter()
                    .map(|p| p.encode_text(version))
                    .collect();
                parts.join("\x1e")
            }
            EioVersion::V3 => {
                if self.packets.is_empty() {
                    return "0:".to_owned();
                }
                let mut out = String::new();
                for p in &self.packets {
                    let text = p.encode_text(version);
                    out.push_str(&text.encode_utf16().count().to_string());
                    out.push(':');
                    out.push_str(&text);
                }
                out
            }
        }
    }

    /// Encodes the payload in the v3 XHR2 binary framing: per packet `0x00`
    /// (text) or `0x01` (binary), the decimal digits of its length in bytes
    /// as byte values 0–9, `0xFF`, then the packet (text as UTF-8 with its
    /// type digit, binary as a type byte and the data).
    pub fn encode_binary(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for p in &self.packets {
            let (flag, body) = match &p.data {
                PacketData::Text(_) => (0u8, p.encode_text(EioVersion::V3).into_bytes()),
                PacketData::Binary(_) => (1u8, p.encode_binary(EioVersion::V3)),
            };
            out.push(flag);
            out.extend(body.len().to_string().bytes().map(|d| d - b'0'));
            out.push(0xFF);
            out.extend_from_slice(&body);
        }
        out
    }

    /// Decodes a payload with the default [`Config`]. In v3 a body whose
    /// first byte is `0x00` or `0x01` is read as the XHR2 binary framing.
    pub fn decode(version: EioVersion, input: &[u8]) -> Result<Payload, Error> {
        Payload::decode_with(version, input, &Config::default())
    }

    /// Decodes a payload, checking every packet's rules.
    pub fn decode_with(
        version: EioVersion,
        input: &[u8],
        config: &Config,
    ) -> Result<Payload, Error> {
        let payload = Payload::parse(version, input, config)?;
        for p in &payload.packets {
            if let Some(e) = p.violations(version).into_iter().next() {
                return Err(e);
            }
        }
        Ok(payload)
    }

    /// Whether a v3 body uses the XHR2 binary framing.
    pub fn is_binary_framing(version: EioVersion, input: &[u8]) -> bool {
        version == EioVersion::V3 && matches!(input.first(), Some(0 | 1))
    }

    /// Reads the structure of a payload without checking each packet's type rules.
    pub fn parse(version: EioVersion, input: &[u8], config: &Config) -> Result<Payload, Error> {
        if input.len() > config.max_payload {
            return Err(Error::PayloadTooLarge {
                size: input.len(),
                max: config.max_payload,
            });
        }
        if input.is_empty() {
            return Err(Error::EmptyPayload);
        }
        if Payload::is_binary_framing(version, input) {
            return parse_xhr2(input);
        }
        let text = std::str::from_utf8(input).map_err(|e| Error::InvalidUtf8 {
            offset: e.valid_up_to(),
        })?;
        match version {
            EioVersion::V4 => {
                let packets = text
                    .split(RECORD_SEPARATOR)
                    .map(|p| Packet::parse_text(version, p))
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(Payload { packets })
            }
            EioVersion::V3 => parse_v3_text(text),
        }
    }
}

fn parse_v3_text(text: &str) -> Result<Payload, Error> {
    if text == "0:" {
        return Ok(Payload::default());
    }
    let mut packets = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        let Some(colon) = rest.find(':') else {
            return Err(Error::Truncated);
        };
        let digits = &rest[..colon];
        if digits.is_empty()
            || digits.len() > MAX_LENGTH_DIGITS
            || !digits.bytes().all(|b| b.is_ascii_digit())
        {
            return Err(Error::InvalidLength {
                found: digits.chars().take(16).collect(),
            });
        }
        let units: usize = digits.parse().map_err(|_| Error::InvalidLength {
            found: digits.to_owned(),
        })?;
        if units == 0 {
            return Err(Error::EmptyPacket);
        }
        let body = &rest[colon + 1..];
        let mut counted = 0usize;
        let mut end = None;
        for (i, c) in body.char_indices() {
            counted += c.len_utf16();
            if counted == units {
                end = Some(i + c.len_utf8());
                break;
            }
            if counted > units {
                return Err(Error::InvalidLength {
                    found: digits.to_owned(),
                });
            }
        }
        let Some(end) = end else {
            return Err(Error::Truncated);
        };
        packets.push(Packet::parse_text(EioVersion::V3, &body[..end])?);
        rest = &body[end..];
    }
    Ok(Payload { packets })
}

fn parse_xhr2(input: &[u8]) -> Result<Payload, Error> {
    let mut packets = Vec::new();
    let mut pos = 0usize;
    while pos < input.len() {
        let flag = input[pos];
        if flag > 1 {
            return Err(Error::InvalidPayloadHeader { offset: pos });
        }
        pos += 1;
        let mut len = 0usize;
        let mut digits = 0usize;
        loop {
            let Some(&d) = input.get(pos) else {
                return Err(Error::Truncated);
            };
            pos += 1;
            if d == 0xFF {
                break;
            }
            if d > 9 || digits == MAX_LENGTH_DIGITS {
                return Err(Error::InvalidLength {
                    found: format!("byte 0x{d:02x}"),
                });
            }
            digits += 1;
            len = len * 10 + usize::from(d);
        }
        if digits == 0 {
            return Err(Error::InvalidLength {
                found: String::new(),
            });
        }
        if len == 0 {
            return Err(Error::EmptyPacket);
        }
        let Some(body) = pos.checked_add(len).and_then(|end| input.get(pos..end)) else {
            return Err(Error::Truncated);
        };
        let packet = if flag == 0 {
            let text = std::str::from_utf8(body).map_err(|e| Error::InvalidUtf8 {
                offset: pos + e.valid_up_to(),
            })?;
            Packet::parse_text(EioVersion::V3, text)?
        } else {
            Packet::parse_binary(EioVersion::V3, body)?
        };
        packets.push(packet);
        pos += len;
    }
    Ok(Payload { packets })
}

/// Why an Engine.IO packet, payload or handshake was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// A packet with no bytes at all (not even a type).
    #[error("empty packet: a packet starts with its type")]
    EmptyPacket,
    /// A polling payload with no bytes.
    #[error("empty payload")]
    EmptyPayload,
    /// The type is not one of 0–6.
    #[error("unknown packet type `{found}`; expected 0–6")]
    UnknownPacketType {
        /// What stood where the type belongs.
        found: String,
    },
    /// Text that is not UTF-8.
    #[error("invalid UTF-8 at byte {offset}")]
    InvalidUtf8 {
        /// Offset of the first invalid byte.
        offset: usize,
    },
    /// A `b` packet whose data is not canonical padded base64.
    #[error("binary packet data is not valid base64")]
    InvalidBase64,
    /// A v3 length prefix that is empty, not decimal digits, too long, or ends inside a character.
    #[error("invalid packet length `{found}`")]
    InvalidLength {
        /// The length as found.
        found: String,
    },
    /// The payload ends before the packet its length announces (or before the `:`/`0xFF`).
    #[error("payload truncated: a length runs past its end")]
    Truncated,
    /// A v3 XHR2 packet header that is neither `0x00` nor `0x01`.
    #[error("invalid binary payload header at byte {offset}; expected 0x00 or 0x01")]
    InvalidPayloadHeader {
        /// Offset of the header byte.
        offset: usize,
    },
    /// A payload larger than the configured `maxPayload`.
    #[error("payload of {size} bytes exceeds the maximum of {max}")]
    PayloadTooLarge {
        /// Size of the input.
        size: usize,
        /// The bound.
        max: usize,
    },
    /// Data on a packet type that carries none (close, upgrade, noop; in v4 a ping/pong other than `probe`).
    #[error("a {packet_type:?} packet carries no data here")]
    UnexpectedData {
        /// The packet's type.
        packet_type: PacketType,
    },
    /// Binary data on a packet that is not a message.
    #[error("binary data on a {packet_type:?} packet; only messages carry binary")]
    BinaryNotMessage {
        /// The packet's type.
        packet_type: PacketType,
    },
    /// Handshake data that is not JSON.
    #[error("handshake data is not JSON")]
    InvalidJson,
    /// A required handshake field is absent.
    #[error("missing handshake field `{field}`")]
    MissingField {
        /// The field's name.
        field: &'static str,
    },
    /// A handshake field of the wrong type.
    #[error("handshake field `{field}` must be {expected}")]
    WrongType {
        /// The field's name (`""` for the whole handshake).
        field: String,
        /// What it must be.
        expected: &'static str,
    },
}

impl Rule for Error {
    fn rule(&self) -> &'static str {
        match self {
            Error::EmptyPacket => "empty-packet",
            Error::EmptyPayload => "empty-payload",
            Error::UnknownPacketType { .. } => "unknown-packet-type",
            Error::InvalidUtf8 { .. } => "invalid-utf8",
            Error::InvalidBase64 => "invalid-base64",
            Error::InvalidLength { .. } => "invalid-length",
            Error::Truncated => "truncated",
            Error::InvalidPayloadHeader { .. } => "invalid-payload-header",
            Error::PayloadTooLarge { .. } => "payload-too-large",
            Error::UnexpectedData { .. } => "unexpected-data",
            Error::BinaryNotMessage { .. } => "binary-not-message",
            Error::InvalidJson => "invalid-json",
            Error::MissingField { .. } => "missing-field",
            Error::WrongType { .. } => "wrong-type",
        }
    }

    fn spec(&self) -> &'static str {
        match self {
            Error::EmptyPacket | Error::UnknownPacketType { .. } => {
                "engine.io-protocol v4 §Protocol"
            }
            Error::InvalidUtf8 { .. } | Error::InvalidBase64 | Error::EmptyPayload => {
                "engine.io-protocol v4 §Packet encoding"
            }
            Error::InvalidLength { .. } | Error::Truncated | Error::InvalidPayloadHeader { .. } => {
                "engine.io-protocol v3 §Payload"
            }
            Error::PayloadTooLarge { .. } => "engine.io-protocol v4 §Handshake",
            Error::UnexpectedData {
                packet_type: PacketType::Ping | PacketType::Pong,
            } => "engine.io-protocol v4 §Heartbeat",
            Error::UnexpectedData { .. } => "engine.io-protocol v4 §Upgrade",
            Error::BinaryNotMessage { .. } => "engine.io-protocol v4 §Message",
            Error::InvalidJson | Error::MissingField { .. } | Error::WrongType { .. } => {
                "engine.io-protocol v4 §Handshake"
            }
        }
    }
}
