//! ASSA real-time server v1.0 (`004_636ae579ed5d2364.txt`): the JSON envelope spoken over TCP, a typed `data` for every action, validation against the document's rules and limits, and stream framing.
//!
//! # Messages
//!
//! Every message is one JSON object, the envelope of §2.1 / §2.3:
//! `{action, data, timestamp, seq_id, user_id, session_id}` for requests and
//! server pushes, plus `success`, `message` and `error_code` for responses
//! (`<ACTION>_RESPONSE`) and for `ERROR` (§9.1). A decoded [`Message`] holds
//! the envelope fields and a [`Body`]: one variant per action, request,
//! response and broadcast the document shows, each with a typed `data`
//! struct. Fields the document does not name are kept (`extra` maps) so that
//! encoding a decoded message gives back the same JSON; `null` is kept apart
//! from absent where the document shows `null` (`reply_to_message_id`).
//!
//! Which fields are required is written on each type: a field is an
//! `Option` exactly when it may be absent. Rules the walker applies:
//!
//! - `action` (string), `timestamp` (strict ISO 8601, see [`Timestamp`]) and
//!   `seq_id` (non-empty string) are required; `user_id` (non-negative
//!   integer) and `session_id` (string) are optional (§2.2).
//! - Requests carry `data` except `DISCONNECT` (optional) and `PONG`.
//! - Responses carry `success`; `success: false` needs an `error_code`;
//!   `success: true` needs `data` for the responses the document shows.
//!   `data` is checked against the typed shape whenever present. `ERROR`
//!   carries `success: false`.
//! - `error_code` is any string: §9.2 lists the *main* codes (주요 에러 코드),
//!   so a code outside [`ErrorCode`] is kept as [`AnyErrorCode::Other`].
//! - Limits of §10.1 ([`limits`]): a whole message over 1 MB is
//!   `message-too-large`; a `text` message whose `content` is over 5,000
//!   characters (Unicode scalar values, not bytes) is `message-too-long`; a
//!   `file_info.file_size` over 10 MB is `file-too-large`; a `message_type`
//!   other than `text` / `image` is `invalid-message-type`; an `image`
//!   `SEND_MESSAGE` without `file_info` is `missing-field`.
//!
//! Responses the document does not show (`DISCONNECT_RESPONSE`,
//! `SDP_RESPONSE`, `ICE_CANDIDATE_RESPONSE`, `MEDIA_STATUS_RESPONSE`,
//! `EXIT_VIDEO_ROOM_RESPONSE`, `GET_VIDEO_ROOM_PARTICIPANT_RESPONSE`) are
//! accepted with the generic response envelope of §2.3 and an untyped
//! `data` object: [`Body::GenericResponse`]. Any other action, and any
//! `<X>_RESPONSE` where `X` is not a client action, is `unknown-action`.
//!
//! # Kinds
//!
//! `decode` / `validate` take an optional kind:
//!
//! - none: the direction is inferred from `action`. `SDP` and
//!   `ICE_CANDIDATE` exist in both directions and are told apart by their
//!   data: `target_user_id` is the client's request, `sender_user_id` the
//!   server's relay; both at once is `ambiguous-direction`, neither is
//!   read as a request missing `data.target_user_id`.
//! - `client`: the message must be one a client sends (request or `PONG`);
//!   a server message is `wrong-direction`. `SDP` / `ICE_CANDIDATE` are
//!   read as requests.
//! - `server`: the message must be one a server sends (response, `ERROR`,
//!   broadcast, relay, `PING`); `SDP` / `ICE_CANDIDATE` are read as relays.
//! - `envelope`: only the envelope is checked, `action` may be any string and
//!   `data` any object ([`Body::Envelope`]). The document's generic examples
//!   (§2.1 `ACTION_TYPE`, §2.3 `ACTION_RESPONSE`) are placeholders, not
//!   actions, and are valid in this kind only. `success` is required when
//!   the action ends in `_RESPONSE` or is `ERROR`.
//!
//! Any other kind is `unknown-kind`.
//!
//! # Framing
//!
//! The document says "TCP, JSON, UTF-8" and nothing about message boundaries
//! (specs/README.md, silent spots). [`framing`] reads a stream of JSON
//! objects (newline-delimited or concatenated) and writes one object per
//! line; a 4-byte big-endian length prefix is the selectable alternative.
//! [`Dialect::frames`] uses the JSON stream reader.
//!
//! # user_id
//!
//! After `CONNECT` the session knows its user; a message whose `user_id`
//! differs is refused, never trusted ([`Message::check_user_id`],
//! `user-mismatch`). The codec alone cannot know the session, so `decode`
//! does not apply this rule.

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;

use serde::de::DeserializeOwned;
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

use crate::rules::{CommonError, EncodeError, RuleInfo, Walker};
use crate::{Dialect, Frame, Protocol, Rule, UnknownKind, Violation};

use self::limits::{MAX_IMAGE_BYTES, MAX_MESSAGE_BYTES, MAX_TEXT_CHARS};

mod codes;
mod data;
mod envelope;
mod error;
pub mod framing;
mod validation;

pub use self::codes::*;
pub use self::data::*;
pub use self::envelope::*;
pub use self::error::*;
use self::validation::*;
pub use crate::timestamp::Timestamp;

macro_rules! spec {
    ($section:literal) => {
        concat!("004_636ae579ed5d2364.txt §", $section)
    };
}

const S1_1: &str = spec!("1.1");
const S1_2: &str = spec!("1.2");
const S2_1: &str = spec!("2.1");
const S2_2: &str = spec!("2.2");
const S2_3: &str = spec!("2.3");
const S3_1: &str = spec!("3.1");
const S3_2: &str = spec!("3.2");
const S4_1: &str = spec!("4.1");
const S4_2: &str = spec!("4.2");
const S4_3: &str = spec!("4.3");
const S4_4: &str = spec!("4.4");
const S5_1: &str = spec!("5.1");
const S5_2: &str = spec!("5.2");
const S5_3: &str = spec!("5.3");
const S6_1: &str = spec!("6.1");
const S7_1: &str = spec!("7.1");
const S7_2: &str = spec!("7.2");
const S7_3: &str = spec!("7.3");
const S7_4: &str = spec!("7.4");
const S7_5: &str = spec!("7.5");
const S7_6: &str = spec!("7.6");
const S7_7: &str = spec!("7.7");
const S8_1: &str = spec!("8.1");
const S8_2: &str = spec!("8.2");
const S9_1: &str = spec!("9.1");
const S10_1: &str = spec!("10.1");
const README_USER_ID: &str = "specs/README.md §Silent spots: assa user_id";

pub mod limits {
    //! The limits and timeouts of §10, as named constants.

    use std::time::Duration;

    /// TCP port the server listens on (§1.1).
    pub const PORT: u16 = 12345;
    /// A text message's `content`: at most 5,000 characters (§10.1, 최대 5,000자).
    /// Counted in Unicode scalar values (`str::chars`), not bytes.
    pub const MAX_TEXT_CHARS: usize = 5_000;
    /// A whole JSON message: at most 1 MB (§10.1). Read as 1 MiB = 1,048,576 bytes of
    /// JSON, not counting any framing (newline or length prefix).
    pub const MAX_MESSAGE_BYTES: usize = 1_048_576;
    /// An image file: at most 10 MB (§10.1), read as 10 MiB = 10,485,760 bytes.
    pub const MAX_IMAGE_BYTES: u64 = 10 * 1_048_576;
    /// Concurrent connections per server: at most 1,000 (§10.1).
    pub const MAX_CONNECTIONS: usize = 1_000;
    /// Connection timeout (§10.2, 연결 타임아웃): 30 s.
    pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);
    /// Message response timeout (§10.2, 메시지 응답 타임아웃): 10 s.
    pub const RESPONSE_TIMEOUT: Duration = Duration::from_secs(10);
    /// Interval between server `PING`s (§10.2): 30 s.
    pub const PING_INTERVAL: Duration = Duration::from_secs(30);
    /// A connection without a `PONG` for this long is closed (§10.2): 60 s.
    pub const PONG_TIMEOUT: Duration = Duration::from_secs(60);
    /// Automatic reconnection: at most 3 attempts (§10.3).
    pub const RECONNECT_ATTEMPTS: u32 = 3;
    /// Backoff before each reconnection attempt (§10.3): 1 s, 2 s, 4 s.
    pub const RECONNECT_BACKOFF: [Duration; 3] = [
        Duration::from_secs(1),
        Duration::from_secs(2),
        Duration::from_secs(4),
    ];
}

/// The ASSA codec: kinds `client`, `server`, `envelope` or none (see the module docs).
pub struct Assa;

/// What `decode` says when no rule is broken yet no message came out (it never should).
fn unreadable() -> Error {
    CommonError::InvalidJson {
        reason: "unreadable message".to_owned(),
        spec: S1_1,
    }
    .into()
}

impl Dialect for Assa {
    const PROTOCOL: Protocol = Protocol::Assa;
    const DOCUMENT: &'static str = "004_636ae579ed5d2364.txt";
    const ID_FIELDS: &'static [&'static str] = &[
        "seq_id",
        "user_id",
        "session_id",
        "room_id",
        "message_id",
        "client_message_id",
        "reply_to_message_id",
        "chat_room_id",
        "video_room_id",
        "host_user_id",
        "target_user_id",
        "sender_user_id",
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
        let mut walker = Walker::new(S2_2);
        let message = analyze(kind, input, &mut walker);
        match (walker.into_errors().into_iter().next(), message) {
            (Some(e), _) => Err(e),
            (None, Some(m)) => Ok(m),
            (None, None) => Err(unreadable()),
        }
    }

    fn encode(message: &Message) -> Result<Vec<u8>, EncodeError> {
        Ok(serde_json::to_vec(message)?)
    }

    fn validate(kind: Option<&str>, input: &[u8]) -> Vec<Violation> {
        let mut walker = Walker::new(S2_2);
        let message = analyze(kind, input, &mut walker);
        let mut found = walker.into_found();
        if found.is_empty() && message.is_none() {
            found.push((String::new(), unreadable()));
        }
        found
            .iter()
            .map(|(field, e)| Violation::from_error(field.clone(), e))
            .collect()
    }

    /// Splits a stream with the JSON stream [`framing::Decoder`]; what it refuses
    /// (a malformed or oversized value, a non-object, a truncated tail) is
    /// returned as one last frame so that `decode` reports it.
    fn frames(input: &[u8]) -> Vec<Frame<'_>> {
        let mut decoder = framing::Decoder::new(framing::Framing::JsonStream);
        decoder.feed(input);
        let mut frames = Vec::new();
        let mut tail_from = loop {
            match decoder.next_span() {
                Ok(Some((offset, len))) => {
                    let (start, end) = (offset as usize, offset as usize + len);
                    if let Some(bytes) = input.get(start..end) {
                        frames.push(Frame {
                            offset: start,
                            bytes,
                        });
                    }
                }
                Ok(None) | Err(_) => break decoder.unread_offset() as usize,
            }
        };
        while input.get(tail_from).is_some_and(u8::is_ascii_whitespace) {
            tail_from += 1;
        }
        if let Some(tail) = input.get(tail_from..) {
            let end = tail.len()
                - tail
                    .iter()
                    .rev()
                    .take_while(|b| b.is_ascii_whitespace())
                    .count();
            if end > 0 {
                frames.push(Frame {
                    offset: tail_from,
                    bytes: &tail[..end],
                });
            }
        }
        frames
    }
}
