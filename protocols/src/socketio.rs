//! Socket.IO v4/v5 packets over Engine.IO v3/v4: the transport chatpot, sockets and circles ride on.
//!
//! A Socket.IO packet is encoded as
//! `<type>[<attachments>-][<namespace>,][<ack id>][<JSON payload>]` and sent
//! inside an Engine.IO message packet (`4…`); binary data is replaced by
//! placeholders `{"_placeholder":true,"num":n}` and the buffers follow as
//! separate binary attachments. Protocol v4 rides on Engine.IO v3, v5 on
//! Engine.IO v4 (see [`crate::engineio`]).
//!
//! Decoding is strict: besides the encoding it refuses what the JavaScript
//! parser refuses or was fixed to refuse after CVE-2020-36049 (massive
//! packets), CVE-2022-2421 (placeholder indexes that are not integers in
//! range) and CVE-2023-32695 (event names that are not strings): event data
//! that is not a non-empty array, non-string or reserved event names,
//! placeholders that do not match the attachments, attachment counts and
//! packet sizes above the [`Config`] bounds, malformed ack ids and
//! namespaces, and trailing bytes.
//!
//! # Kinds accepted by [`Transport`]
//!
//! | kind | input |
//! |---|---|
//! | `eio4` (default), `eio3` | one Engine.IO packet as a WebSocket text frame; a text message packet must carry a Socket.IO packet (v5 for `eio4`, v4 for `eio3`), an open packet a handshake. Under `eio3` a frame whose first byte is 0x00–0x06 is a binary frame. |
//! | `eio4-binary`, `eio3-binary` | one Engine.IO packet as a WebSocket binary frame (a Socket.IO attachment) |
//! | `eio4-raw`, `eio3-raw` | one Engine.IO packet whose message data is opaque (plain Engine.IO) |
//! | `eio4-payload`, `eio3-payload` | an HTTP long-polling payload (v3: text or XHR2 binary framing) whose message packets carry Socket.IO packets |
//! | `eio4-raw-payload`, `eio3-raw-payload` | a polling payload of plain Engine.IO packets |
//! | `eio4-handshake`, `eio3-handshake` | the open packet's JSON |
//! | `sio5`, `sio4` | one bare Socket.IO packet (its text part) |

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use std::fmt;
use std::str::FromStr;

use crate::engineio::{self, EioVersion, Handshake, PacketData};
use crate::rules::{self, ids, EncodeError, RuleInfo};
use crate::{line_frames, Dialect, Frame, Protocol, Rule, UnknownKind, Violation};

/// The Socket.IO protocol revision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum SioVersion {
    /// Revision 4: Socket.IO 1.x/2.x over Engine.IO v3. `ERROR` (type 4) carries any JSON; `CONNECT` carries nothing.
    V4,
    /// Revision 5: Socket.IO 3.x and later over Engine.IO v4. `CONNECT_ERROR` carries `{message, data?}`; `CONNECT` may carry an auth object.
    V5,
}

impl SioVersion {
    /// The Engine.IO revision this revision rides on.
    pub fn engine(self) -> EioVersion {
        match self {
            SioVersion::V4 => EioVersion::V3,
            SioVersion::V5 => EioVersion::V4,
        }
    }

    /// The Socket.IO revision that rides on this Engine.IO revision.
    pub fn for_engine(version: EioVersion) -> SioVersion {
        match version {
            EioVersion::V3 => SioVersion::V4,
            EioVersion::V4 => SioVersion::V5,
        }
    }
}

/// The type of a Socket.IO packet: its first character.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum PacketType {
    /// `0`: connection to a namespace (request and approval).
    Connect,
    /// `1`: disconnection from a namespace.
    Disconnect,
    /// `2`: an event: `[name, ...args]`.
    Event,
    /// `3`: the acknowledgement of an event: `[...args]`.
    Ack,
    /// `4`: `CONNECT_ERROR` in v5 (`{message, data?}`), `ERROR` in v4 (any JSON, usually a string).
    ConnectError,
    /// `5`: an event with binary attachments.
    BinaryEvent,
    /// `6`: an acknowledgement with binary attachments.
    BinaryAck,
}

impl PacketType {
    /// Every packet type, in id order.
    pub const ALL: [PacketType; 7] = [
        PacketType::Connect,
        PacketType::Disconnect,
        PacketType::Event,
        PacketType::Ack,
        PacketType::ConnectError,
        PacketType::BinaryEvent,
        PacketType::BinaryAck,
    ];

    /// The numeric id (0–6).
    pub fn id(self) -> u8 {
        self as u8
    }

    /// The type with this numeric id.
    pub fn from_id(id: u8) -> Option<PacketType> {
        PacketType::ALL.get(usize::from(id)).copied()
    }

    /// Whether the packet is followed by binary attachments.
    pub fn is_binary(self) -> bool {
        matches!(self, PacketType::BinaryEvent | PacketType::BinaryAck)
    }
}

/// Event names the JavaScript implementations reserve; an event must not use them.
pub const RESERVED_EVENTS: [&str; 6] = [
    "connect",
    "connect_error",
    "disconnect",
    "disconnecting",
    "newListener",
    "removeListener",
];

/// The largest ack id a JavaScript peer represents exactly (`Number.MAX_SAFE_INTEGER`).
pub const MAX_ACK_ID: u64 = (1 << 53) - 1;

/// Limits the decoder enforces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Config {
    /// Most binary attachments one packet may announce.
    pub max_attachments: usize,
    /// Largest encoded packet (text part) accepted, in bytes.
    pub max_packet_size: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            max_attachments: 10,
            max_packet_size: 1_000_000,
        }
    }
}

/// The text part of a Socket.IO packet, as the wire carries it: binary data
/// replaced by placeholders, the number of attachments that follow.
#[derive(Debug, Clone, PartialEq)]
pub struct Packet {
    /// What the packet is for.
    pub packet_type: PacketType,
    /// The namespace, `/` by default (omitted on the wire).
    pub namespace: String,
    /// How many binary attachments follow (binary types only; 0 otherwise).
    pub attachments: usize,
    /// The acknowledgement id.
    pub id: Option<u64>,
    /// The JSON payload.
    pub data: Option<Value>,
}

impl Packet {
    /// A packet of this type in the main namespace, with nothing in it.
    pub fn new(packet_type: PacketType) -> Packet {
        Packet {
            packet_type,
            namespace: "/".to_owned(),
            attachments: 0,
            id: None,
            data: None,
        }
    }

    /// `CONNECT` to a namespace, with an optional payload (v5: auth from the client, `{sid}` from the server).
    pub fn connect(namespace: &str, data: Option<Value>) -> Packet {
        Packet {
            data,
            ..Packet::new(PacketType::Connect).in_namespace(namespace)
        }
    }

    /// `DISCONNECT` from a namespace.
    pub fn disconnect(namespace: &str) -> Packet {
        Packet::new(PacketType::Disconnect).in_namespace(namespace)
    }

    /// `EVENT` `[name, ...args]`, with an optional ack id.
    pub fn event(namespace: &str, name: &str, args: Vec<Value>, id: Option<u64>) -> Packet {
        let mut data = vec![Value::String(name.to_owned())];
        data.extend(args);
        Packet {
            id,
            data: Some(Value::Array(data)),
            ..Packet::new(PacketType::Event).in_namespace(namespace)
        }
    }

    /// `ACK` `[...args]` for an ack id.
    pub fn ack(namespace: &str, id: u64, args: Vec<Value>) -> Packet {
        Packet {
            id: Some(id),
            data: Some(Value::Array(args)),
            ..Packet::new(PacketType::Ack).in_namespace(namespace)
        }
    }

    /// v5 `CONNECT_ERROR` `{message, data?}`.
    pub fn connect_error(namespace: &str, message: &str, data: Option<Value>) -> Packet {
        let mut obj = serde_json::Map::new();
        obj.insert("message".to_owned(), Value::String(message.to_owned()));
        if let Some(d) = data {
            obj.insert("data".to_owned(), d);
        }
        Packet {
            data: Some(Value::Object(obj)),
            ..Packet::new(PacketType::ConnectError).in_namespace(namespace)
        }
    }

    /// v4 `ERROR` with a string payload.
    pub fn error_v4(namespace: &str, message: &str) -> Packet {
        Packet {
            data: Some(Value::String(message.to_owned())),
            ..Packet::new(PacketType::ConnectError).in_namespace(namespace)
        }
    }

    /// The same packet in another namespace.
    pub fn in_namespace(mut self, namespace: &str) -> Packet {
        namespace.clone_into(&mut self.namespace);
        self
    }

    /// The event name, for an event.
    pub fn event_name(&self) -> Option<&str> {
        match self.packet_type {
            PacketType::Event | PacketType::BinaryEvent => self.data.as_ref()?.get(0)?.as_str(),
            _ => None,
        }
    }

    /// The event's arguments (after the name), or an ack's arguments.
    pub fn args(&self) -> &[Value] {
        let all = self
            .data
            .as_ref()
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or(&[]);
        match self.packet_type {
            PacketType::Event | PacketType::BinaryEvent => all.get(1..).unwrap_or(&[]),
            PacketType::Ack | PacketType::BinaryAck => all,
            _ => &[],
        }
    }

    /// Encodes the text part: `<type>[<n>-][<nsp>,][<id>][<json>]`.
    pub fn encode(&self) -> String {
        let mut s = String::new();
        s.push(char::from(b'0' + self.packet_type.id()));
        if self.packet_type.is_binary() {
            s.push_str(&self.attachments.to_string());
            s.push('-');
        }
        if !self.namespace.is_empty() && self.namespace != "/" {
            s.push_str(&self.namespace);
            s.push(',');
        }
        if let Some(id) = self.id {
            s.push_str(&id.to_string());
        }
        if let Some(data) = &self.data {
            s.push_str(&data.to_string());
        }
        s
    }

    /// Decodes and checks a text part with the default [`Config`].
    pub fn decode(version: SioVersion, input: &str) -> Result<Packet, Error> {
        Packet::decode_with(version, input, &Config::default())
    }

    /// Decodes and checks a text part.
    pub fn decode_with(version: SioVersion, input: &str, config: &Config) -> Result<Packet, Error> {
        let packet = Packet::parse(input, config)?;
        match packet.violations(version, config).into_iter().next() {
            Some((_, e)) => Err(e),
            None => Ok(packet),
        }
    }

    /// Reads the structure of a text part (type, attachments, namespace, id,
    /// JSON) without checking what each type must carry.
    pub fn parse(input: &str, config: &Config) -> Result<Packet, Error> {
        if input.len() > config.max_packet_size {
            return Err(Error::PacketTooLarge {
                size: input.len(),
                max: config.max_packet_size,
            });
        }
        let bytes = input.as_bytes();
        let Some(&first) = bytes.first() else {
            return Err(Error::EmptyPacket);
        };
        let packet_type = first
            .checked_sub(b'0')
            .and_then(PacketType::from_id)
            .ok_or_else(|| Error::UnknownPacketType {
                found: input.chars().next().map(String::from).unwrap_or_default(),
            })?;
        let mut pos = 1;

        let mut attachments = 0;
        if packet_type.is_binary() {
            let digits = count_digits(&bytes[pos..]);
            let text = &input[pos..pos + digits];
            if digits == 0
                || bytes.get(pos + digits) != Some(&b'-')
                || (digits > 1 && text.starts_with('0'))
            {
                return Err(Error::InvalidAttachments {
                    found: input[pos..].chars().take(16).collect(),
                });
            }
            let count = text.parse::<usize>().unwrap_or(usize::MAX);
            if count > config.max_attachments {
                return Err(Error::TooManyAttachments {
                    count,
                    max: config.max_attachments,
                });
            }
            attachments = count;
            pos += digits + 1;
        }

        let mut namespace = "/".to_owned();
        if bytes.get(pos) == Some(&b'/') {
            let Some(comma) = input[pos..].find(',') else {
                return Err(Error::InvalidNamespace {
                    reason: "a namespace ends with `,`",
                });
            };
            namespace = input[pos..pos + comma].to_owned();
            pos += comma + 1;
        } else if looks_like_relative_namespace(&input[pos..]) {
            return Err(Error::InvalidNamespace {
                reason: "a namespace starts with `/`",
            });
        }

        let mut id = None;
        let digits = count_digits(&bytes[pos..]);
        if digits > 0 {
            let text = &input[pos..pos + digits];
            if digits > 1 && text.starts_with('0') {
                return Err(Error::InvalidAckId {
                    found: text.chars().take(24).collect(),
                });
            }
            match text.parse::<u64>() {
                Ok(n) if n <= MAX_ACK_ID => id = Some(n),
                _ => {
                    return Err(Error::AckIdTooLarge {
                        found: text.chars().take(24).collect(),
                    })
                }
            }
            pos += digits;
        }

        let rest = &input[pos..];
        let data = if rest.is_empty() {
            None
        } else {
            if rest.starts_with(|c: char| c.is_ascii_whitespace()) {
                return Err(Error::InvalidJson);
            }
            let mut de = serde_json::Deserializer::from_str(rest);
            let value = Value::deserialize(&mut de).map_err(|_| Error::InvalidJson)?;
            if de.end().is_err() {
                return Err(Error::TrailingData);
            }
            Some(value)
        };
        Ok(Packet {
            packet_type,
            namespace,
            attachments,
            id,
            data,
        })
    }

    /// Every rule of its type the packet breaks, each with the field it concerns.
    pub fn violations(&self, version: SioVersion, config: &Config) -> Vec<(String, Error)> {
        let mut out: Vec<(String, Error)> = Vec::new();
        if !self.namespace.starts_with('/') {
            out.push((
                "namespace".into(),
                Error::InvalidNamespace {
                    reason: "a namespace starts with `/`",
                },
            ));
        } else if self.namespace.contains(',') {
            out.push((
                "namespace".into(),
                Error::InvalidNamespace {
                    reason: "a namespace contains no `,`",
                },
            ));
        }
        let t = self.packet_type;
        let data = self.data.as_ref();
        match t {
            PacketType::Connect | PacketType::Disconnect | PacketType::ConnectError => {
                if self.id.is_some() {
                    out.push(("id".into(), Error::UnexpectedAckId { packet_type: t }));
                }
            }
            PacketType::Ack | PacketType::BinaryAck => {
                if self.id.is_none() {
                    out.push(("id".into(), Error::MissingAckId { packet_type: t }));
                }
            }
            PacketType::Event | PacketType::BinaryEvent => {}
        }
        match (t, data) {
            (PacketType::Connect, Some(_)) if version == SioVersion::V4 => out.push((
                "data".into(),
                Error::UnexpectedPayload {
                    packet_type: t,
                    version,
                },
            )),
            (PacketType::Connect, Some(d)) if !d.is_object() => {
                out.push(("data".into(), wrong_type("data", "an object", version)))
            }
            (PacketType::Disconnect, Some(_)) => out.push((
                "data".into(),
                Error::UnexpectedPayload {
                    packet_type: t,
                    version,
                },
            )),
            (PacketType::Event | PacketType::BinaryEvent, Some(d)) => match d.as_array() {
                None => out.push(("data".into(), wrong_type("data", "an array", version))),
                Some(a) if a.is_empty() => out.push(("data".into(), Error::EmptyEvent)),
                Some(a) => match &a[0] {
                    Value::String(name) if RESERVED_EVENTS.contains(&name.as_str()) => out.push((
                        "data[0]".into(),
                        Error::ReservedEventName { name: name.clone() },
                    )),
                    Value::String(_) => {}
                    other => out.push((
                        "data[0]".into(),
                        Error::InvalidEventName {
                            found: json_type(other),
                        },
                    )),
                },
            },
            (PacketType::Ack | PacketType::BinaryAck, Some(d)) if !d.is_array() => {
                out.push(("data".into(), wrong_type("data", "an array", version)))
            }
            (PacketType::ConnectError, Some(d)) if version == SioVersion::V5 => {
                match d.as_object() {
                    None => out.push(("data".into(), wrong_type("data", "an object", version))),
                    Some(o) => match o.get("message") {
                        None => out.push((
                            "data.message".into(),
                            Error::MissingField {
                                field: "data.message",
                            },
                        )),
                        Some(Value::String(_)) => {}
                        Some(_) => out.push((
                            "data.message".into(),
                            wrong_type("data.message", "a string", version),
                        )),
                    },
                }
            }
            (
                PacketType::Event
                | PacketType::BinaryEvent
                | PacketType::Ack
                | PacketType::BinaryAck,
                None,
            ) => out.push(("data".into(), Error::MissingPayload { packet_type: t })),
            (PacketType::ConnectError, None) if version == SioVersion::V5 => {
                out.push(("data".into(), Error::MissingPayload { packet_type: t }))
            }
            _ => {}
        }

        // Placeholders against the announced attachments.
        let mut seen: Vec<u64> = Vec::new();
        let mut bad = Vec::new();
        if let Some(d) = data {
            collect_placeholders(d, &mut String::from("data"), 0, &mut seen, &mut bad);
        }
        if !t.is_binary() {
            if !seen.is_empty() || !bad.is_empty() {
                out.push(("data".into(), Error::PlaceholderWithoutAttachments));
            }
            return out;
        }
        if self.attachments > config.max_attachments {
            out.push((
                "attachments".into(),
                Error::TooManyAttachments {
                    count: self.attachments,
                    max: config.max_attachments,
                },
            ));
        }
        if self.attachments == 0 && (!seen.is_empty() || !bad.is_empty()) {
            out.push(("data".into(), Error::PlaceholderWithoutAttachments));
            return out;
        }
        for (field, reason) in bad {
            out.push((field, Error::InvalidPlaceholder { reason }));
        }
        let count = self.attachments as u64;
        let mut used = vec![false; self.attachments.min(config.max_attachments.max(1))];
        let mut in_range = true;
        for &n in &seen {
            if n >= count {
                in_range = false;
                out.push((
                    "data".into(),
                    Error::InvalidPlaceholder {
                        reason: format!("placeholder num {n} is out of range 0..{count}"),
                    },
                ));
            } else if let Some(u) = used.get_mut(n as usize) {
                if *u {
                    out.push((
                        "data".into(),
                        Error::InvalidPlaceholder {
                            reason: format!("attachment {n} is referenced twice"),
                        },
                    ));
                }
                *u = true;
            }
        }
        if in_range && seen.len() as u64 != count {
            out.push((
                "attachments".into(),
                Error::AttachmentCountMismatch {
                    declared: self.attachments,
                    placeholders: seen.len(),
                },
            ));
        }
        out
    }

    /// Puts the attachments in place of the placeholders: the complete packet.
    /// `BINARY_EVENT`/`BINARY_ACK` become `EVENT`/`ACK`.
    pub fn reconstruct(&self, attachments: &[Vec<u8>]) -> Result<FullPacket, Error> {
        let placeholders = match &self.data {
            Some(d) => {
                let mut seen = Vec::new();
                let mut bad = Vec::new();
                collect_placeholders(d, &mut String::new(), 0, &mut seen, &mut bad);
                if let Some((_, reason)) = bad.into_iter().next() {
                    return Err(Error::InvalidPlaceholder { reason });
                }
                seen
            }
            None => Vec::new(),
        };
        if attachments.len() != self.attachments {
            return Err(Error::WrongAttachmentCount {
                expected: self.attachments,
                received: attachments.len(),
            });
        }
        if placeholders.len() != attachments.len() {
            return Err(Error::AttachmentCountMismatch {
                declared: self.attachments,
                placeholders: placeholders.len(),
            });
        }
        let mut used = vec![false; attachments.len()];
        for n in placeholders {
            match used.get_mut(n as usize) {
                Some(u) if !*u => *u = true,
                _ => {
                    return Err(Error::InvalidPlaceholder {
                        reason: format!("placeholder num {n} is out of range or repeated"),
                    })
                }
            }
        }
        let data = self.data.as_ref().map(|d| fill(d, attachments));
        let packet_type = match self.packet_type {
            PacketType::BinaryEvent => PacketType::Event,
            PacketType::BinaryAck => PacketType::Ack,
            t => t,
        };
        Ok(FullPacket {
            packet_type,
            namespace: self.namespace.clone(),
            id: self.id,
            data,
        })
    }
}

fn wrong_type(field: &'static str, expected: &'static str, version: SioVersion) -> Error {
    Error::WrongType {
        field,
        expected,
        version,
    }
}

fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn count_digits(bytes: &[u8]) -> usize {
    bytes.iter().take_while(|b| b.is_ascii_digit()).count()
}

/// `admin,["x"]`: text before a comma that cannot start an id or JSON.
fn looks_like_relative_namespace(rest: &str) -> bool {
    let Some(first) = rest.chars().next() else {
        return false;
    };
    if first.is_ascii_digit() || "[{\"-".contains(first) {
        return false;
    }
    match rest.find(',') {
        Some(comma) => !rest[..comma].contains(['[', '{', '"']),
        None => false,
    }
}

/// How deep the placeholder search goes; JSON read by this module is at most 128 deep.
const MAX_DEPTH: usize = 256;

fn is_placeholder_object(o: &serde_json::Map<String, Value>) -> bool {
    o.contains_key("_placeholder")
}

fn collect_placeholders(
    v: &Value,
    path: &mut String,
    depth: usize,
    seen: &mut Vec<u64>,
    bad: &mut Vec<(String, String)>,
) {
    if depth > MAX_DEPTH {
        return;
    }
    match v {
        Value::Array(a) => {
            for (i, item) in a.iter().enumerate() {
                let len = path.len();
                path.push_str(&format!("[{i}]"));
                collect_placeholders(item, path, depth + 1, seen, bad);
                path.truncate(len);
            }
        }
        Value::Object(o) if is_placeholder_object(o) => {
            let field = path.clone();
            if o.get("_placeholder") != Some(&Value::Bool(true)) {
                bad.push((field, "`_placeholder` must be true".to_owned()));
            } else if o.len() != 2 {
                bad.push((
                    field,
                    "a placeholder has exactly `_placeholder` and `num`".to_owned(),
                ));
            } else {
                match o.get("num").and_then(Value::as_u64) {
                    Some(n) => seen.push(n),
                    None => bad.push((field, "`num` must be a non-negative integer".to_owned())),
                }
            }
        }
        Value::Object(o) => {
            for (k, item) in o {
                let len = path.len();
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(k);
                collect_placeholders(item, path, depth + 1, seen, bad);
                path.truncate(len);
            }
        }
        _ => {}
    }
}

fn fill(v: &Value, attachments: &[Vec<u8>]) -> Data {
    match v {
        Value::Object(o) if is_placeholder_object(o) => {
            let n = o.get("num").and_then(Value::as_u64).unwrap_or(u64::MAX);
            match attachments.get(n as usize) {
                Some(b) => Data::Binary(b.clone()),
                None => Data::from(v.clone()),
            }
        }
        Value::Array(a) => Data::Array(a.iter().map(|x| fill(x, attachments)).collect()),
        Value::Object(o) => Data::Object(
            o.iter()
                .map(|(k, x)| (k.clone(), fill(x, attachments)))
                .collect(),
        ),
        other => Data::from(other.clone()),
    }
}

/// A JSON value that may hold binary data: an event's arguments before
/// deconstruction, after reconstruction.
#[derive(Debug, Clone, PartialEq)]
pub enum Data {
    /// `null`.
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// A number.
    Number(serde_json::Number),
    /// A string.
    String(String),
    /// An array.
    Array(Vec<Data>),
    /// An object.
    Object(BTreeMap<String, Data>),
    /// Binary data: sent as an attachment, a placeholder in the JSON.
    Binary(Vec<u8>),
}

impl From<Value> for Data {
    fn from(v: Value) -> Data {
        match v {
            Value::Null => Data::Null,
            Value::Bool(b) => Data::Bool(b),
            Value::Number(n) => Data::Number(n),
            Value::String(s) => Data::String(s),
            Value::Array(a) => Data::Array(a.into_iter().map(Data::from).collect()),
            Value::Object(o) => {
                Data::Object(o.into_iter().map(|(k, v)| (k, Data::from(v))).collect())
            }
        }
    }
}

impl Data {
    /// The value as plain JSON; `None` when binary data is inside.
    pub fn to_json(&self) -> Option<Value> {
        Some(match self {
            Data::Null => Value::Null,
            Data::Bool(b) => Value::Bool(*b),
            Data::Number(n) => Value::Number(n.clone()),
            Data::String(s) => Value::String(s.clone()),
            Data::Array(a) => Value::Array(a.iter().map(Data::to_json).collect::<Option<_>>()?),
            Data::Object(o) => Value::Object(
                o.iter()
                    .map(|(k, v)| Some((k.clone(), v.to_json()?)))
                    .collect::<Option<_>>()?,
            ),
            Data::Binary(_) => return None,
        })
    }

    /// Whether any binary data is inside.
    pub fn has_binary(&self) -> bool {
        match self {
            Data::Binary(_) => true,
            Data::Array(a) => a.iter().any(Data::has_binary),
            Data::Object(o) => o.values().any(Data::has_binary),
            _ => false,
        }
    }

    /// Replaces binary data with numbered placeholders, appending the buffers to `buffers`.
    fn deconstruct(&self, buffers: &mut Vec<Vec<u8>>) -> Value {
        match self {
            Data::Null => Value::Null,
            Data::Bool(b) => Value::Bool(*b),
            Data::Number(n) => Value::Number(n.clone()),
            Data::String(s) => Value::String(s.clone()),
            Data::Array(a) => Value::Array(a.iter().map(|x| x.deconstruct(buffers)).collect()),
            Data::Object(o) => Value::Object(
                o.iter()
                    .map(|(k, x)| (k.clone(), x.deconstruct(buffers)))
                    .collect(),
            ),
            Data::Binary(b) => {
                let num = buffers.len();
                buffers.push(b.clone());
                serde_json::json!({"_placeholder": true, "num": num})
            }
        }
    }
}

/// A complete Socket.IO packet: binary data in place, as an application emits it.
#[derive(Debug, Clone, PartialEq)]
pub struct FullPacket {
    /// What the packet is for (`EVENT`/`ACK` even when it carries binary).
    pub packet_type: PacketType,
    /// The namespace, `/` by default.
    pub namespace: String,
    /// The acknowledgement id.
    pub id: Option<u64>,
    /// The payload.
    pub data: Option<Data>,
}

impl FullPacket {
    /// Replaces binary data by placeholders: the text part (an `EVENT`/`ACK`
    /// with binary becomes `BINARY_EVENT`/`BINARY_ACK`) and the attachments.
    pub fn deconstruct(&self) -> (Packet, Vec<Vec<u8>>) {
        let mut buffers = Vec::new();
        let data = self.data.as_ref().map(|d| d.deconstruct(&mut buffers));
        let packet_type = match (self.packet_type, buffers.is_empty()) {
            (PacketType::Event, false) => PacketType::BinaryEvent,
            (PacketType::Ack, false) => PacketType::BinaryAck,
            (t, _) => t,
        };
        (
            Packet {
                packet_type,
                namespace: self.namespace.clone(),
                attachments: buffers.len(),
                id: self.id,
                data,
            },
            buffers,
        )
    }

    /// Encodes the packet: the text part and the attachments that follow it.
    pub fn encode(&self) -> (String, Vec<Vec<u8>>) {
        let (packet, buffers) = self.deconstruct();
        (packet.encode(), buffers)
    }

    /// Decodes a text part and its attachments into the complete packet.
    pub fn decode(
        version: SioVersion,
        text: &str,
        attachments: &[Vec<u8>],
    ) -> Result<FullPacket, Error> {
        Packet::decode(version, text)?.reconstruct(attachments)
    }
}

/// Sans-IO reassembly of binary packets from a stream of frames: a text
/// part announcing `n` attachments, then `n` binary frames.
#[derive(Debug, Clone)]
pub struct Reassembler {
    version: SioVersion,
    config: Config,
    pending: Option<(Packet, Vec<Vec<u8>>)>,
}

impl Reassembler {
    /// A reassembler for one connection.
    pub fn new(version: SioVersion, config: Config) -> Reassembler {
        Reassembler {
            version,
            config,
            pending: None,
        }
    }

    /// Whether attachments are still expected.
    pub fn is_waiting(&self) -> bool {
        self.pending.is_some()
    }

    /// Takes a text part; returns the packet when it needs no attachments.
    pub fn push_text(&mut self, text: &str) -> Result<Option<FullPacket>, Error> {
        if self.pending.is_some() {
            self.pending = None;
            return Err(Error::AttachmentExpected);
        }
        let packet = Packet::decode_with(self.version, text, &self.config)?;
        if packet.attachments == 0 {
            return packet.reconstruct(&[]).map(Some);
        }
        self.pending = Some((packet, Vec::new()));
        Ok(None)
    }

    /// Takes a binary attachment; returns the packet once the last one arrives.
    pub fn push_binary(&mut self, bytes: &[u8]) -> Result<Option<FullPacket>, Error> {
        let Some((packet, mut buffers)) = self.pending.take() else {
            return Err(Error::UnexpectedAttachment);
        };
        buffers.push(bytes.to_vec());
        if buffers.len() < packet.attachments {
            self.pending = Some((packet, buffers));
            return Ok(None);
        }
        packet.reconstruct(&buffers).map(Some)
    }
}

/// Why a Socket.IO packet (or the Engine.IO packet carrying it) was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The Engine.IO layer refused the input.
    #[error(transparent)]
    Engine(#[from] engineio::Error),
    /// A kind this dialect does not know.
    #[error("unknown kind `{0}`; expected eio4, eio3, eio4-binary, eio3-binary, eio4-raw, eio3-raw, eio4-payload, eio3-payload, eio4-raw-payload, eio3-raw-payload, eio4-handshake, eio3-handshake, sio5 or sio4")]
    UnknownKind(String),
    /// A packet with no characters.
    #[error("empty packet: a packet starts with its type")]
    EmptyPacket,
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
    /// The text part is longer than the configured bound.
    #[error("packet of {size} bytes exceeds the maximum of {max}")]
    PacketTooLarge {
        /// Size of the text part.
        size: usize,
        /// The bound.
        max: usize,
    },
    /// A binary type whose attachment count is not digits followed by `-`.
    #[error("invalid attachment count `{found}`; expected digits then `-`")]
    InvalidAttachments {
        /// What followed the type.
        found: String,
    },
    /// More attachments announced than the configured bound.
    #[error("{count} attachments exceed the maximum of {max}")]
    TooManyAttachments {
        /// Announced count.
        count: usize,
        /// The bound.
        max: usize,
    },
    /// The announced attachment count differs from the placeholders in the payload.
    #[error("{declared} attachments announced but {placeholders} placeholders found")]
    AttachmentCountMismatch {
        /// Announced count.
        declared: usize,
        /// Placeholders found.
        placeholders: usize,
    },
    /// Reconstruction was handed a different number of attachments than the packet announces.
    #[error("{expected} attachments announced but {received} received")]
    WrongAttachmentCount {
        /// Announced count.
        expected: usize,
        /// Attachments handed over.
        received: usize,
    },
    /// A placeholder that is not `{"_placeholder":true,"num":n}` with `n` an unused index in range.
    #[error("invalid placeholder: {reason}")]
    InvalidPlaceholder {
        /// What is wrong with it.
        reason: String,
    },
    /// Placeholders in a packet that announces no attachments.
    #[error("placeholders in a packet without attachments")]
    PlaceholderWithoutAttachments,
    /// A namespace that does not start with `/` or is not terminated by `,`.
    #[error("invalid namespace: {reason}")]
    InvalidNamespace {
        /// The rule broken.
        reason: &'static str,
    },
    /// An ack id with a leading zero.
    #[error("invalid ack id `{found}`")]
    InvalidAckId {
        /// The id as found.
        found: String,
    },
    /// An ack id above 2^53 − 1.
    #[error("ack id `{found}` exceeds 2^53 - 1")]
    AckIdTooLarge {
        /// The id as found.
        found: String,
    },
    /// An ack id on a packet type that carries none.
    #[error("a {packet_type:?} packet carries no ack id")]
    UnexpectedAckId {
        /// The packet's type.
        packet_type: PacketType,
    },
    /// An acknowledgement without the id it acknowledges.
    #[error("a {packet_type:?} packet needs an ack id")]
    MissingAckId {
        /// The packet's type.
        packet_type: PacketType,
    },
    /// The payload is not JSON.
    #[error("the payload is not JSON")]
    InvalidJson,
    /// Bytes after the JSON payload.
    #[error("trailing data after the JSON payload")]
    TrailingData,
    /// A packet type that needs a payload has none.
    #[error("a {packet_type:?} packet needs a payload")]
    MissingPayload {
        /// The packet's type.
        packet_type: PacketType,
    },
    /// A payload on a packet type that carries none in this version.
    #[error("a {packet_type:?} packet carries no payload in protocol {version:?}")]
    UnexpectedPayload {
        /// The packet's type.
        packet_type: PacketType,
        /// The protocol revision.
        version: SioVersion,
    },
    /// A payload or field of the wrong JSON type.
    #[error("`{field}` must be {expected}")]
    WrongType {
        /// The field.
        field: &'static str,
        /// What it must be.
        expected: &'static str,
        /// The protocol revision.
        version: SioVersion,
    },
    /// A required field of the payload is absent.
    #[error("missing field `{field}`")]
    MissingField {
        /// The field.
        field: &'static str,
    },
    /// An event whose payload is an empty array.
    #[error("an event payload is a non-empty array")]
    EmptyEvent,
    /// An event name that is not a string.
    #[error("the event name must be a string, found {found}")]
    InvalidEventName {
        /// The JSON type found.
        found: &'static str,
    },
    /// An event name the implementations reserve.
    #[error("`{name}` is a reserved event name")]
    ReservedEventName {
        /// The name.
        name: String,
    },
    /// A text part while attachments of the previous packet are still expected.
    #[error("a text packet arrived while binary attachments were expected")]
    AttachmentExpected,
    /// A binary frame when no packet expects attachments.
    #[error("a binary attachment arrived when none was expected")]
    UnexpectedAttachment,
}

impl Rule for Error {
    fn rule(&self) -> &'static str {
        match self {
            Error::Engine(e) => e.rule(),
            Error::UnknownKind(_) => "unknown-kind",
            Error::EmptyPacket => "empty-packet",
            Error::UnknownPacketType { .. } => "unknown-packet-type",
            Error::InvalidUtf8 { .. } => "invalid-utf8",
            Error::PacketTooLarge { .. } => "packet-too-large",
            Error::InvalidAttachments { .. } => "invalid-attachments",
            Error::TooManyAttachments { .. } => "too-many-attachments",
            Error::AttachmentCountMismatch { .. } | Error::WrongAttachmentCount { .. } => {
                "attachment-count-mismatch"
            }
            Error::InvalidPlaceholder { .. } => "invalid-placeholder",
            Error::PlaceholderWithoutAttachments => "placeholder-without-attachments",
            Error::InvalidNamespace { .. } => "invalid-namespace",
            Error::InvalidAckId { .. } => "invalid-ack-id",
            Error::AckIdTooLarge { .. } => "ack-id-too-large",
            Error::UnexpectedAckId { .. } => "unexpected-ack-id",
            Error::MissingAckId { .. } => "missing-ack-id",
            Error::InvalidJson => "invalid-json",
            Error::TrailingData => "trailing-data",
            Error::MissingPayload { .. } => "missing-payload",
            Error::UnexpectedPayload { .. } => "unexpected-payload",
            Error::WrongType { .. } => "wrong-type",
            Error::MissingField { .. } => "missing-field",
            Error::EmptyEvent => "empty-event",
            Error::InvalidEventName { .. } => "invalid-event-name",
            Error::ReservedEventName { .. } => "reserved-event-name",
            Error::AttachmentExpected => "attachment-expected",
            Error::UnexpectedAttachment => "unexpected-attachment",
        }
    }

    fn spec(&self) -> &'static str {
        match self {
            Error::Engine(e) => e.spec(),
            Error::UnknownKind(_) => "socket.io-protocol v5 §Packet encoding",
            Error::EmptyPacket | Error::UnknownPacketType { .. } => {
                "socket.io-protocol v5 §Exchange protocol"
            }
            Error::InvalidUtf8 { .. } => "engine.io-protocol v4 §Packet encoding",
            Error::PacketTooLarge { .. } => "engine.io-protocol v4 §Handshake",
            Error::InvalidAttachments { .. }
            | Error::TooManyAttachments { .. }
            | Error::AttachmentCountMismatch { .. }
            | Error::WrongAttachmentCount { .. }
            | Error::InvalidPlaceholder { .. }
            | Error::PlaceholderWithoutAttachments
            | Error::InvalidNamespace { .. }
            | Error::InvalidAckId { .. }
            | Error::InvalidJson
            | Error::TrailingData
            | Error::AttachmentExpected
            | Error::UnexpectedAttachment => "socket.io-protocol v5 §Format",
            Error::AckIdTooLarge { .. } | Error::MissingAckId { .. } => {
                "socket.io-protocol v5 §Acknowledgement"
            }
            Error::UnexpectedAckId {
                packet_type: PacketType::Connect,
            } => "socket.io-protocol v4 §0 - CONNECT",
            Error::UnexpectedAckId {
                packet_type: PacketType::Disconnect,
            } => "socket.io-protocol v4 §1 - DISCONNECT",
            Error::UnexpectedAckId { .. } => "socket.io-protocol v5 §Acknowledgement",
            Error::UnexpectedPayload {
                packet_type: PacketType::Connect,
                ..
            } => "socket.io-protocol v4 §0 - CONNECT",
            Error::UnexpectedPayload { .. } => "socket.io-protocol v4 §1 - DISCONNECT",
            Error::MissingPayload {
                packet_type: PacketType::ConnectError,
            }
            | Error::MissingField { .. } => "socket.io-protocol v5 §Difference between v5 and v4",
            Error::WrongType {
                field: "data.message",
                ..
            } => "socket.io-protocol v5 §Difference between v5 and v4",
            Error::WrongType {
                version: SioVersion::V5,
                ..
            } => "socket.io-protocol v5 §Exchange protocol",
            Error::WrongType { .. } => "socket.io-protocol v4 §Packet format",
            Error::MissingPayload { .. }
            | Error::EmptyEvent
            | Error::InvalidEventName { .. }
            | Error::ReservedEventName { .. } => {
                "socket.io-protocol v5 §Sending and receiving data"
            }
        }
    }
}

/// What an Engine.IO packet carries, as this transport reads it.
#[derive(Debug, Clone, PartialEq)]
pub enum Content {
    /// Nothing to read further: no data, a probe, a binary attachment, or an opaque (`-raw`) message.
    Opaque,
    /// The handshake of an open packet.
    Handshake(Handshake),
    /// The Socket.IO packet of a text message packet.
    Socket(Packet),
}

/// A message of the Socket.IO transport, by kind.
#[derive(Debug, Clone, PartialEq)]
pub enum Message {
    /// One Engine.IO packet (`eio4`, `eio3`, `-binary`, `-raw` kinds).
    Packet {
        /// Engine.IO revision.
        version: EioVersion,
        /// Whether it travels as a WebSocket binary frame.
        binary_frame: bool,
        /// The packet; the encoding is taken from it.
        packet: engineio::Packet,
        /// What it carries, decoded (read-only view; `encode` ignores it).
        content: Content,
    },
    /// A polling payload (`-payload` kinds).
    Payload {
        /// Engine.IO revision.
        version: EioVersion,
        /// Whether it uses the v3 XHR2 binary framing.
        binary_framing: bool,
        /// The packets; the encoding is taken from them.
        payload: engineio::Payload,
        /// What each packet carries (read-only view; `encode` ignores it).
        contents: Vec<Content>,
    },
    /// A bare Socket.IO packet (`sio5`, `sio4`).
    Socket {
        /// Socket.IO revision.
        version: SioVersion,
        /// The packet.
        packet: Packet,
    },
    /// The open packet's JSON (`-handshake` kinds).
    Handshake {
        /// Engine.IO revision.
        version: EioVersion,
        /// The handshake.
        handshake: Handshake,
    },
}

impl Message {
    /// An Engine.IO text message packet carrying a Socket.IO packet, ready to send.
    pub fn socket(version: EioVersion, packet: Packet) -> Message {
        let engine = engineio::Packet::message(packet.encode());
        Message::Packet {
            version,
            binary_frame: false,
            packet: engine,
            content: Content::Socket(packet),
        }
    }

    /// A non-message Engine.IO packet (ping, pong, probe, upgrade, noop, close) as a text frame.
    pub fn engine(version: EioVersion, packet: engineio::Packet) -> Message {
        let content = match &packet.data {
            PacketData::Text(t) if packet.packet_type == engineio::PacketType::Open => {
                Handshake::decode(version, t)
                    .map(Content::Handshake)
                    .unwrap_or(Content::Opaque)
            }
            _ => Content::Opaque,
        };
        Message::Packet {
            version,
            binary_frame: false,
            packet,
            content,
        }
    }
}

/// Every rule the transport dialect can report: the Engine.IO layer's and the Socket.IO layer's.
pub const RULES: &[RuleInfo] = &[
    rules::common(ids::UNKNOWN_KIND, "socket.io-protocol v5 §Packet encoding"),
    RuleInfo::new(
        "empty-packet",
        "engine.io-protocol v4 §Protocol; socket.io-protocol v5 §Exchange protocol",
        "a packet with no bytes at all, not even its type",
    ),
    RuleInfo::new(
        "empty-payload",
        "engine.io-protocol v4 §Packet encoding",
        "a polling payload with no bytes",
    ),
    RuleInfo::new(
        "unknown-packet-type",
        "engine.io-protocol v4 §Protocol; socket.io-protocol v5 §Exchange protocol",
        "the packet type is none the protocol defines",
    ),
    rules::common(ids::INVALID_UTF8, "engine.io-protocol v4 §Packet encoding"),
    RuleInfo::new(
        "invalid-base64",
        "engine.io-protocol v4 §Packet encoding",
        "a `b` packet whose data is not canonical padded base64",
    ),
    RuleInfo::new(
        "invalid-length",
        "engine.io-protocol v3 §Payload",
        "a v3 length prefix that is empty, not decimal, too long, or ends inside a character",
    ),
    RuleInfo::new(
        "truncated",
        "engine.io-protocol v3 §Payload",
        "the payload ends before the packet its length announces",
    ),
    RuleInfo::new(
        "invalid-payload-header",
        "engine.io-protocol v3 §Payload",
        "a v3 XHR2 packet header that is neither 0x00 nor 0x01",
    ),
    RuleInfo::new(
        "payload-too-large",
        "engine.io-protocol v4 §Handshake",
        "a payload larger than maxPayload",
    ),
    RuleInfo::new(
        "unexpected-data",
        "engine.io-protocol v4 §Heartbeat, §Upgrade",
        "data on a packet type that carries none",
    ),
    RuleInfo::new(
        "binary-not-message",
        "engine.io-protocol v4 §Message",
        "binary data on a packet that is not a message",
    ),
    rules::common(ids::INVALID_JSON, "engine.io-protocol v4 §Handshake; socket.io-protocol v5 §Format"),
    rules::common(ids::MISSING_FIELD, "engine.io-protocol v4 §Handshake; socket.io-protocol v5 §Difference between v5 and v4"),
    rules::common(ids::WRONG_TYPE, "engine.io-protocol v4 §Handshake; socket.io-protocol v4 §Packet format, v5 §Exchange protocol"),
    RuleInfo::new(
        "packet-too-large",
        "engine.io-protocol v4 §Handshake",
        "the text part is longer than the configured bound",
    ),
    RuleInfo::new(
        "invalid-attachments",
        "socket.io-protocol v5 §Format",
        "a binary type whose attachment count is not digits followed by `-`",
    ),
    RuleInfo::new(
        "too-many-attachments",
        "socket.io-protocol v5 §Format",
        "more attachments announced than the configured bound",
    ),
    RuleInfo::new(
        "attachment-count-mismatch",
        "socket.io-protocol v5 §Format",
        "the announced attachment count differs from the placeholders or the attachments",
    ),
    RuleInfo::new(
        "invalid-placeholder",
        "socket.io-protocol v5 §Format",
        "a placeholder that is not {\"_placeholder\":true,\"num\":n} with n an unused index in range",
    ),
    RuleInfo::new(
        "placeholder-without-attachments",
        "socket.io-protocol v5 §Format",
        "placeholders in a packet that announces no attachments",
    ),
    RuleInfo::new(
        "invalid-namespace",
        "socket.io-protocol v5 §Format",
        "a namespace that does not start with `/` or is not terminated by `,`",
    ),
    RuleInfo::new(
        "invalid-ack-id",
        "socket.io-protocol v5 §Format",
        "an ack id with a leading zero",
    ),
    RuleInfo::new(
        "ack-id-too-large",
        "socket.io-protocol v5 §Acknowledgement",
        "an ack id above 2^53 - 1",
    ),
    RuleInfo::new(
        "unexpected-ack-id",
        "socket.io-protocol v5 §Acknowledgement; v4 §0 - CONNECT, §1 - DISCONNECT",
        "an ack id on a packet type that carries none",
    ),
    RuleInfo::new(
        "missing-ack-id",
        "socket.io-protocol v5 §Acknowledgement",
        "an acknowledgement without the id it acknowledges",
    ),
    RuleInfo::new(
        "trailing-data",
        "socket.io-protocol v5 §Format",
        "bytes after the JSON payload",
    ),
    RuleInfo::new(
        "missing-payload",
        "socket.io-protocol v5 §Sending and receiving data, §Difference between v5 and v4",
        "a packet type that needs a payload has none",
    ),
    RuleInfo::new(
        "unexpected-payload",
        "socket.io-protocol v4 §0 - CONNECT, §1 - DISCONNECT",
        "a payload on a packet type that carries none in this version",
    ),
    RuleInfo::new(
        "empty-event",
        "socket.io-protocol v5 §Sending and receiving data",
        "an event whose payload is an empty array",
    ),
    RuleInfo::new(
        "invalid-event-name",
        "socket.io-protocol v5 §Sending and receiving data",
        "an event name that is not a string",
    ),
    RuleInfo::new(
        "reserved-event-name",
        "socket.io-protocol v5 §Sending and receiving data",
        "an event name the implementations reserve",
    ),
    RuleInfo::new(
        "attachment-expected",
        "socket.io-protocol v5 §Format",
        "a text part while attachments of the previous packet are still expected",
    ),
    RuleInfo::new(
        "unexpected-attachment",
        "socket.io-protocol v5 §Format",
        "a binary frame when no packet expects attachments",
    ),
];

/// The Socket.IO transport dialect (Engine.IO v3/v4, Socket.IO v4/v5).
pub struct Transport;

/// What the input is: an Engine.IO packet, a polling payload, a handshake, or a
/// Socket.IO packet alone (see the fixtures' README for each).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `eio4`, `eio3` (`-binary`: a binary frame; `-raw`: the message data is not Socket.IO).
    Packet {
        /// The Engine.IO version.
        version: EioVersion,
        /// The message data is opaque, not a Socket.IO packet.
        raw: bool,
        /// The packet came in a binary frame.
        binary: bool,
    },
    /// `eio4-payload`, `eio3-payload`, `eio4-raw-payload`, `eio3-raw-payload`: a polling body.
    Payload {
        /// The Engine.IO version.
        version: EioVersion,
        /// The message data is opaque, not Socket.IO packets.
        raw: bool,
    },
    /// `eio4-handshake`, `eio3-handshake`: the open packet's JSON.
    Handshake(EioVersion),
    /// `sio5`, `sio4`: a Socket.IO packet's text without its Engine.IO type.
    Socket(SioVersion),
}

impl Kind {
    /// Every kind, in the order `chatspec validate --kind` lists them.
    pub const ALL: [Kind; 14] = {
        use EioVersion::{V3, V4};
        const fn packet(version: EioVersion, raw: bool, binary: bool) -> Kind {
            Kind::Packet {
                version,
                raw,
                binary,
            }
        }
        [
            packet(V4, false, false),
            packet(V3, false, false),
            packet(V4, false, true),
            packet(V3, false, true),
            packet(V4, true, false),
            packet(V3, true, false),
            Kind::Payload {
                version: V4,
                raw: false,
            },
            Kind::Payload {
                version: V3,
                raw: false,
            },
            Kind::Payload {
                version: V4,
                raw: true,
            },
            Kind::Payload {
                version: V3,
                raw: true,
            },
            Kind::Handshake(V4),
            Kind::Handshake(V3),
            Kind::Socket(SioVersion::V5),
            Kind::Socket(SioVersion::V4),
        ]
    };
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let eio = |v: EioVersion| match v {
            EioVersion::V3 => "eio3",
            EioVersion::V4 => "eio4",
        };
        match *self {
            Kind::Packet {
                version,
                raw,
                binary,
            } => {
                f.write_str(eio(version))?;
                match (raw, binary) {
                    (true, true) => f.write_str("-raw-binary"),
                    (true, false) => f.write_str("-raw"),
                    (false, true) => f.write_str("-binary"),
                    (false, false) => Ok(()),
                }
            }
            Kind::Payload { version, raw } => {
                write!(
                    f,
                    "{}{}",
                    eio(version),
                    if raw { "-raw-payload" } else { "-payload" }
                )
            }
            Kind::Handshake(version) => write!(f, "{}-handshake", eio(version)),
            Kind::Socket(SioVersion::V5) => f.write_str("sio5"),
            Kind::Socket(SioVersion::V4) => f.write_str("sio4"),
        }
    }
}

impl FromStr for Kind {
    type Err = UnknownKind;
    fn from_str(kind: &str) -> Result<Self, UnknownKind> {
        Kind::ALL
            .into_iter()
            .find(|k| k.to_string() == kind)
            .ok_or_else(|| UnknownKind::new(kind))
    }
}

fn parse_kind(kind: Option<&str>) -> Result<Kind, Error> {
    match kind.map(str::parse::<Kind>) {
        None => Ok(Kind::Packet {
            version: EioVersion::V4,
            raw: false,
            binary: false,
        }),
        Some(Ok(kind)) => Ok(kind),
        Some(Err(e)) => Err(Error::UnknownKind(e.kind)),
    }
}

type Found = Vec<(String, Error)>;

fn at(prefix: &str, field: String) -> String {
    match (prefix.is_empty(), field.is_empty()) {
        (true, _) => field,
        (false, true) => prefix.to_owned(),
        (false, false) => format!("{prefix}.{field}"),
    }
}

/// Reads what an Engine.IO packet carries, adding what it breaks to `found`.
fn engine_content(
    version: EioVersion,
    raw: bool,
    packet: &engineio::Packet,
    prefix: &str,
    found: &mut Found,
) -> Content {
    let text = match &packet.data {
        PacketData::Text(t) => t,
        PacketData::Binary(_) => {
            for e in packet.violations(version) {
                found.push((prefix.to_owned(), e.into()));
            }
            return Content::Opaque;
        }
    };
    match packet.packet_type {
        engineio::PacketType::Open => {
            let v = Handshake::violations(version, text);
            if v.is_empty() {
                if let Ok(h) = Handshake::decode(version, text) {
                    return Content::Handshake(h);
                }
            }
            for (field, e) in v {
                found.push((at(prefix, field), e.into()));
            }
            Content::Opaque
        }
        engineio::PacketType::Message if !raw => {
            let config = Config::default();
            let sio = SioVersion::for_engine(version);
            match Packet::parse(text, &config) {
                Err(e) => {
                    found.push((prefix.to_owned(), e));
                    Content::Opaque
                }
                Ok(p) => {
                    let v = p.violations(sio, &config);
                    if v.is_empty() {
                        return Content::Socket(p);
                    }
                    for (field, e) in v {
                        found.push((at(prefix, field), e));
                    }
                    Content::Opaque
                }
            }
        }
        _ => {
            for e in packet.violations(version) {
                found.push((prefix.to_owned(), e.into()));
            }
            Content::Opaque
        }
    }
}

fn utf8(input: &[u8]) -> Result<&str, Error> {
    std::str::from_utf8(input).map_err(|e| Error::InvalidUtf8 {
        offset: e.valid_up_to(),
    })
}

fn analyze(kind: Option<&str>, input: &[u8]) -> Result<Message, Found> {
    let whole = |e: Error| vec![(String::new(), e)];
    let kind = parse_kind(kind).map_err(whole)?;
    let engine_config = engineio::Config::default();
    let mut found = Found::new();
    let message = match kind {
        Kind::Socket(version) => {
            let config = Config::default();
            let text = utf8(input).map_err(whole)?;
            let packet = Packet::parse(text, &config).map_err(whole)?;
            found.extend(packet.violations(version, &config));
            Message::Socket { version, packet }
        }
        Kind::Handshake(version) => {
            let text = utf8(input).map_err(whole)?;
            for (field, e) in Handshake::violations(version, text) {
                found.push((field, e.into()));
            }
            match Handshake::decode(version, text) {
                Ok(handshake) => Message::Handshake { version, handshake },
                Err(e) if found.is_empty() => return Err(whole(e.into())),
                Err(_) => return Err(found),
            }
        }
        Kind::Packet {
            version,
            raw,
            binary,
        } => {
            if input.len() > engine_config.max_payload {
                return Err(whole(
                    engineio::Error::PayloadTooLarge {
                        size: input.len(),
                        max: engine_config.max_payload,
                    }
                    .into(),
                ));
            }
            let binary_frame =
                binary || (version == EioVersion::V3 && input.first().is_some_and(|b| *b <= 6));
            let packet = if binary_frame {
                engineio::Packet::parse_binary(version, input)
            } else {
                engineio::Packet::parse_text(version, utf8(input).map_err(whole)?)
            }
            .map_err(|e| whole(e.into()))?;
            let content = engine_content(version, raw, &packet, "", &mut found);
            Message::Packet {
                version,
                binary_frame,
                packet,
                content,
            }
        }
        Kind::Payload { version, raw } => {
            let binary_framing = engineio::Payload::is_binary_framing(version, input);
            let payload = engineio::Payload::parse(version, input, &engine_config)
                .map_err(|e| whole(e.into()))?;
            let contents = payload
                .packets
                .iter()
                .enumerate()
                .map(|(i, p)| engine_content(version, raw, p, &format!("packets[{i}]"), &mut found))
                .collect();
            Message::Payload {
                version,
                binary_framing,
                payload,
                contents,
            }
        }
    };
    if found.is_empty() {
        Ok(message)
    } else {
        Err(found)
    }
}

impl Dialect for Transport {
    const PROTOCOL: Protocol = Protocol::Socketio;
    const DOCUMENT: &'static str = "Engine.IO / Socket.IO protocol specifications";
    /// The Engine.IO session id (handshake) and the Socket.IO CONNECT answer's `sid`;
    /// ack ids sit in the packet head, not in a JSON field.
    const ID_FIELDS: &'static [&'static str] = &["sid"];
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
        analyze(kind, input).map_err(|found| {
            found
                .into_iter()
                .next()
                .map(|(_, e)| e)
                .unwrap_or(Error::EmptyPacket)
        })
    }

    fn encode(message: &Message) -> Result<Vec<u8>, EncodeError> {
        Ok(match message {
            Message::Packet {
                version,
                binary_frame: true,
                packet,
                ..
            } => packet.encode_binary(*version),
            Message::Packet {
                version, packet, ..
            } => packet.encode_text(*version).into_bytes(),
            Message::Payload {
                version: EioVersion::V3,
                binary_framing: true,
                payload,
                ..
            } => payload.encode_binary(),
            Message::Payload {
                version, payload, ..
            } => payload.encode(*version).into_bytes(),
            Message::Socket { packet, .. } => packet.encode().into_bytes(),
            Message::Handshake { handshake, .. } => handshake.encode().into_bytes(),
        })
    }

    fn validate(kind: Option<&str>, input: &[u8]) -> Vec<Violation> {
        match analyze(kind, input) {
            Ok(_) => Vec::new(),
            Err(found) => found
                .into_iter()
                .map(|(field, e)| Violation::from_error(field, &e))
                .collect(),
        }
    }

    fn frames(input: &[u8]) -> Vec<Frame<'_>> {
        line_frames(input)
    }
}
