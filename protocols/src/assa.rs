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

use crate::{Dialect, Frame, Protocol, Rule, Violation};

use self::limits::{MAX_IMAGE_BYTES, MAX_MESSAGE_BYTES, MAX_TEXT_CHARS};

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

// ---------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------

/// Which way a message travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// Sent by a client to the server (requests, `PONG`).
    ClientToServer,
    /// Sent by the server to a client (responses, `ERROR`, broadcasts, relays, `PING`).
    ServerToClient,
}

impl fmt::Display for Direction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Direction::ClientToServer => "client-to-server",
            Direction::ServerToClient => "server-to-client",
        })
    }
}

/// Why an ASSA message or stream is refused: one variant per broken rule.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Error {
    /// The bytes are not UTF-8 (§1.1: 문자 인코딩 UTF-8). Rule `invalid-utf8`.
    #[error("message is not valid UTF-8")]
    InvalidUtf8,
    /// The bytes are not exactly one JSON value (§1.1: 메시지 형식 JSON). Rule `invalid-json`.
    #[error("message is not valid JSON: {0}")]
    InvalidJson(String),
    /// The JSON value is not an object (§2.1). Rule `not-an-object`.
    #[error("message is not a JSON object")]
    NotAnObject,
    /// The whole message is over 1 MB (§10.1). Rule `message-too-large`.
    #[error("message is {size} bytes; the limit is {limit}", limit = MAX_MESSAGE_BYTES)]
    MessageTooLarge {
        /// The message's size in bytes.
        size: usize,
    },
    /// A frame on the stream is over the limit (§10.1); refused before more
    /// than the limit is buffered. Rule `frame-too-large`.
    #[error("frame of at least {size} bytes exceeds the limit of {limit} bytes")]
    FrameTooLarge {
        /// The frame's size as far as known (bytes seen, or announced by a length prefix).
        size: u64,
        /// The limit in force.
        limit: usize,
    },
    /// A required field is absent. Rule `missing-field`.
    #[error("missing required field `{field}`")]
    MissingField {
        /// Dotted path of the field.
        field: String,
        /// The section that shows the field.
        spec: &'static str,
    },
    /// A field has the wrong JSON type. Rule `wrong-type`.
    #[error("`{field}` must be {expected}")]
    WrongType {
        /// Dotted path of the field (`""` for the message).
        field: String,
        /// What it must be, for people.
        expected: &'static str,
        /// The section that defines the field.
        spec: &'static str,
    },
    /// A timestamp is not strict ISO 8601 (§2.2). Rule `bad-timestamp`.
    #[error("`{field}` is not an ISO 8601 timestamp such as 2024-01-01T12:00:00.000Z: {value:?}")]
    BadTimestamp {
        /// Dotted path of the field.
        field: String,
        /// The value found.
        value: String,
        /// The section that shows the field.
        spec: &'static str,
    },
    /// `seq_id` is the empty string; it must identify the message (§2.2). Rule `empty-seq-id`.
    #[error("`seq_id` is empty; it must identify the message")]
    EmptySeqId,
    /// An id is a negative integer. Rule `bad-id`.
    #[error("`{field}` is a negative id: {value}")]
    BadId {
        /// Dotted path of the field.
        field: String,
        /// The value found.
        value: i64,
        /// The section that shows the field.
        spec: &'static str,
    },
    /// A count, size or limit is a negative integer. Rule `negative-count`.
    #[error("`{field}` is negative: {value}")]
    NegativeCount {
        /// Dotted path of the field.
        field: String,
        /// The value found.
        value: i64,
        /// The section that shows the field.
        spec: &'static str,
    },
    /// `action` names no action of the document (§2.2). Rule `unknown-action`.
    #[error("unknown action {action:?}")]
    UnknownAction {
        /// The action found.
        action: String,
    },
    /// The kind handed to `decode` / `validate` is not `client`, `server` or
    /// `envelope` (§1.2 names the two directions). Rule `unknown-kind`.
    #[error("unknown kind {kind:?}; expected client, server or envelope")]
    UnknownKind {
        /// The kind given.
        kind: String,
    },
    /// The message travels the other way than the kind demands (§1.2). Rule `wrong-direction`.
    #[error("{action} is not a {expected} message")]
    WrongDirection {
        /// The action found.
        action: String,
        /// The direction the kind demanded.
        expected: Direction,
    },
    /// `SDP` / `ICE_CANDIDATE` data carries both `target_user_id` (request)
    /// and `sender_user_id` (relay) (§7.3, §7.4). Rule `ambiguous-direction`.
    #[error("{action} data carries both target_user_id and sender_user_id")]
    AmbiguousDirection {
        /// The action found.
        action: String,
    },
    /// A text message's content is over 5,000 characters (§10.1; `MESSAGE_TOO_LONG`). Rule `message-too-long`.
    #[error("`{field}` is {chars} characters; the limit is {limit}", limit = MAX_TEXT_CHARS)]
    MessageTooLong {
        /// Dotted path of the content.
        field: String,
        /// Its length in characters.
        chars: usize,
    },
    /// `message_type` is neither `text` nor `image` (§5.1, §5.2; `INVALID_MESSAGE_TYPE`). Rule `invalid-message-type`.
    #[error("`{field}` is {value:?}; expected \"text\" or \"image\"")]
    InvalidMessageType {
        /// Dotted path of the field.
        field: String,
        /// The value found.
        value: String,
    },
    /// An image's `file_size` is over 10 MB (§10.1). Rule `file-too-large`.
    #[error("`{field}` is {size} bytes; the image limit is {limit}", limit = MAX_IMAGE_BYTES)]
    FileTooLarge {
        /// Dotted path of the field.
        field: String,
        /// The size found.
        size: u64,
    },
    /// `sdp_type` is not a WebRTC SDP type: `offer`, `answer`, `pranswer`,
    /// `rollback` (§7.3). Rule `bad-sdp-type`.
    #[error("`{field}` is {value:?}; expected offer, answer, pranswer or rollback")]
    BadSdpType {
        /// Dotted path of the field.
        field: String,
        /// The value found.
        value: String,
    },
    /// An `ERROR` message says `success: true` (§9.1). Rule `error-with-success`.
    #[error("an ERROR message must carry success: false")]
    ErrorWithSuccess,
    /// The message's `user_id` differs from the session's user (specs/README.md,
    /// silent spots: the server refuses it). Rule `user-mismatch`.
    #[error("user_id {claimed} differs from the session's user {session}")]
    UserMismatch {
        /// The `user_id` the message claims.
        claimed: u64,
        /// The user the session authenticated as.
        session: u64,
    },
}

impl Rule for Error {
    fn rule(&self) -> &'static str {
        match self {
            Error::InvalidUtf8 => "invalid-utf8",
            Error::InvalidJson(_) => "invalid-json",
            Error::NotAnObject => "not-an-object",
            Error::MessageTooLarge { .. } => "message-too-large",
            Error::FrameTooLarge { .. } => "frame-too-large",
            Error::MissingField { .. } => "missing-field",
            Error::WrongType { .. } => "wrong-type",
            Error::BadTimestamp { .. } => "bad-timestamp",
            Error::EmptySeqId => "empty-seq-id",
            Error::BadId { .. } => "bad-id",
            Error::NegativeCount { .. } => "negative-count",
            Error::UnknownAction { .. } => "unknown-action",
            Error::UnknownKind { .. } => "unknown-kind",
            Error::WrongDirection { .. } => "wrong-direction",
            Error::AmbiguousDirection { .. } => "ambiguous-direction",
            Error::MessageTooLong { .. } => "message-too-long",
            Error::InvalidMessageType { .. } => "invalid-message-type",
            Error::FileTooLarge { .. } => "file-too-large",
            Error::BadSdpType { .. } => "bad-sdp-type",
            Error::ErrorWithSuccess => "error-with-success",
            Error::UserMismatch { .. } => "user-mismatch",
        }
    }

    fn spec(&self) -> &'static str {
        match self {
            Error::InvalidUtf8 | Error::InvalidJson(_) => S1_1,
            Error::NotAnObject => S2_1,
            Error::MessageTooLarge { .. }
            | Error::FrameTooLarge { .. }
            | Error::MessageTooLong { .. }
            | Error::FileTooLarge { .. } => S10_1,
            Error::MissingField { spec, .. }
            | Error::WrongType { spec, .. }
            | Error::BadTimestamp { spec, .. }
            | Error::BadId { spec, .. }
            | Error::NegativeCount { spec, .. } => spec,
            Error::EmptySeqId | Error::UnknownAction { .. } => S2_2,
            Error::UnknownKind { .. } | Error::WrongDirection { .. } => S1_2,
            Error::AmbiguousDirection { .. } | Error::BadSdpType { .. } => S7_3,
            Error::InvalidMessageType { .. } => S5_1,
            Error::ErrorWithSuccess => S9_1,
            Error::UserMismatch { .. } => README_USER_ID,
        }
    }
}

impl Error {
    /// The dotted path of the field the error is about; `""` for the whole message.
    pub fn field(&self) -> String {
        match self {
            Error::MissingField { field, .. }
            | Error::WrongType { field, .. }
            | Error::BadTimestamp { field, .. }
            | Error::BadId { field, .. }
            | Error::NegativeCount { field, .. }
            | Error::MessageTooLong { field, .. }
            | Error::InvalidMessageType { field, .. }
            | Error::FileTooLarge { field, .. }
            | Error::BadSdpType { field, .. } => field.clone(),
            Error::EmptySeqId => "seq_id".to_owned(),
            Error::UnknownAction { .. }
            | Error::WrongDirection { .. }
            | Error::AmbiguousDirection { .. } => "action".to_owned(),
            Error::ErrorWithSuccess => "success".to_owned(),
            Error::UserMismatch { .. } => "user_id".to_owned(),
            Error::InvalidUtf8
            | Error::InvalidJson(_)
            | Error::NotAnObject
            | Error::MessageTooLarge { .. }
            | Error::FrameTooLarge { .. }
            | Error::UnknownKind { .. } => String::new(),
        }
    }

    /// The §9.2 error code a server answers this error with, where one fits.
    pub fn error_code(&self) -> Option<ErrorCode> {
        match self {
            Error::MessageTooLong { .. } => Some(ErrorCode::MessageTooLong),
            Error::InvalidMessageType { .. } => Some(ErrorCode::InvalidMessageType),
            Error::FileTooLarge { .. } => Some(ErrorCode::FileUploadFailed),
            Error::UserMismatch { .. } => Some(ErrorCode::PermissionDenied),
            _ => None,
        }
    }

    /// This error as a [`Violation`].
    pub fn to_violation(&self) -> Violation {
        Violation::from_error(self.field(), self)
    }
}

// ---------------------------------------------------------------------------
// Error codes (§9.2)
// ---------------------------------------------------------------------------

/// The error codes of §9.2, serialized as their exact strings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ErrorCode {
    /// `AUTH_FAILED`: 인증 실패 (authentication failed).
    AuthFailed,
    /// `INVALID_TOKEN`: 유효하지 않은 토큰 (invalid token).
    InvalidToken,
    /// `ROOM_NOT_FOUND`: 채팅방을 찾을 수 없음 (chat room not found).
    RoomNotFound,
    /// `PERMISSION_DENIED`: 권한 없음 (permission denied).
    PermissionDenied,
    /// `ROOM_FULL`: 채팅방 인원 초과 (chat room full).
    RoomFull,
    /// `USER_NOT_IN_ROOM`: 사용자가 채팅방에 없음 (user not in the room).
    UserNotInRoom,
    /// `MESSAGE_TOO_LONG`: 메시지가 너무 김 (message too long).
    MessageTooLong,
    /// `INVALID_MESSAGE_TYPE`: 지원하지 않는 메시지 타입 (unsupported message type).
    InvalidMessageType,
    /// `FILE_UPLOAD_FAILED`: 파일 업로드 실패 (file upload failed).
    FileUploadFailed,
    /// `VIDEO_ROOM_NOT_FOUND`: 영상회의 방을 찾을 수 없음 (video room not found).
    VideoRoomNotFound,
    /// `MAX_PARTICIPANTS_REACHED`: 최대 참가자 수 초과 (maximum participants reached).
    MaxParticipantsReached,
}

impl ErrorCode {
    /// All eleven codes, in the document's order.
    pub const ALL: [ErrorCode; 11] = [
        ErrorCode::AuthFailed,
        ErrorCode::InvalidToken,
        ErrorCode::RoomNotFound,
        ErrorCode::PermissionDenied,
        ErrorCode::RoomFull,
        ErrorCode::UserNotInRoom,
        ErrorCode::MessageTooLong,
        ErrorCode::InvalidMessageType,
        ErrorCode::FileUploadFailed,
        ErrorCode::VideoRoomNotFound,
        ErrorCode::MaxParticipantsReached,
    ];

    /// The wire string, e.g. `AUTH_FAILED`.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::AuthFailed => "AUTH_FAILED",
            ErrorCode::InvalidToken => "INVALID_TOKEN",
            ErrorCode::RoomNotFound => "ROOM_NOT_FOUND",
            ErrorCode::PermissionDenied => "PERMISSION_DENIED",
            ErrorCode::RoomFull => "ROOM_FULL",
            ErrorCode::UserNotInRoom => "USER_NOT_IN_ROOM",
            ErrorCode::MessageTooLong => "MESSAGE_TOO_LONG",
            ErrorCode::InvalidMessageType => "INVALID_MESSAGE_TYPE",
            ErrorCode::FileUploadFailed => "FILE_UPLOAD_FAILED",
            ErrorCode::VideoRoomNotFound => "VIDEO_ROOM_NOT_FOUND",
            ErrorCode::MaxParticipantsReached => "MAX_PARTICIPANTS_REACHED",
        }
    }

    /// The document's Korean meaning, e.g. `인증 실패`.
    pub fn meaning(self) -> &'static str {
        match self {
            ErrorCode::AuthFailed => "인증 실패",
            ErrorCode::InvalidToken => "유효하지 않은 토큰",
            ErrorCode::RoomNotFound => "채팅방을 찾을 수 없음",
            ErrorCode::PermissionDenied => "권한 없음",
            ErrorCode::RoomFull => "채팅방 인원 초과",
            ErrorCode::UserNotInRoom => "사용자가 채팅방에 없음",
            ErrorCode::MessageTooLong => "메시지가 너무 김",
            ErrorCode::InvalidMessageType => "지원하지 않는 메시지 타입",
            ErrorCode::FileUploadFailed => "파일 업로드 실패",
            ErrorCode::VideoRoomNotFound => "영상회의 방을 찾을 수 없음",
            ErrorCode::MaxParticipantsReached => "최대 참가자 수 초과",
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ErrorCode {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        ErrorCode::ALL
            .into_iter()
            .find(|c| c.as_str() == s)
            .ok_or(())
    }
}

/// An `error_code` as found on the wire: one of §9.2's codes, or another
/// string (§9.2 lists the main codes only, 주요 에러 코드).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(untagged)]
pub enum AnyErrorCode {
    /// A code of §9.2.
    Known(ErrorCode),
    /// Any other string. Build it with `From<&str>`, which picks `Known` for
    /// the §9.2 strings, so that a round trip gives back an equal value.
    Other(String),
}

impl AnyErrorCode {
    /// The wire string.
    pub fn as_str(&self) -> &str {
        match self {
            AnyErrorCode::Known(code) => code.as_str(),
            AnyErrorCode::Other(s) => s,
        }
    }
}

impl From<ErrorCode> for AnyErrorCode {
    fn from(code: ErrorCode) -> Self {
        AnyErrorCode::Known(code)
    }
}

impl From<&str> for AnyErrorCode {
    fn from(s: &str) -> Self {
        match s.parse() {
            Ok(code) => AnyErrorCode::Known(code),
            Err(()) => AnyErrorCode::Other(s.to_owned()),
        }
    }
}

// ---------------------------------------------------------------------------
// Timestamps
// ---------------------------------------------------------------------------

/// An ISO 8601 timestamp as the document writes them (§2.2), kept verbatim.
///
/// Accepted: `YYYY-MM-DDTHH:MM:SS`, an optional fraction of 1–9 digits after
/// `.`, then `Z` or an offset `+HH:MM` / `-HH:MM`, e.g.
/// `2024-01-01T12:00:00.000Z` or `2024-01-01T21:00:00+09:00`. Refused:
/// anything else, among it a missing zone, a lowercase `t` / `z`, a space for
/// `T`, basic-format offsets (`+0900`), leap seconds (`:60`), `24:00` and
/// days the month does not have.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct Timestamp(String);

struct Civil {
    year: i64,
    month: u32,
    day: u32,
    hour: u32,
    minute: u32,
    second: u32,
    millis: u32,
    offset_minutes: i64,
}

fn digits(bytes: &[u8], from: usize, count: usize) -> Option<u32> {
    let slice = bytes.get(from..from + count)?;
    slice.iter().try_fold(0u32, |acc, b| {
        b.is_ascii_digit().then(|| acc * 10 + u32::from(b - b'0'))
    })
}

fn is_leap(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap(year) => 29,
        2 => 28,
        _ => 0,
    }
}

fn parse_civil(s: &str) -> Option<Civil> {
    let b = s.as_bytes();
    let year = i64::from(digits(b, 0, 4)?);
    let month = digits(b, 5, 2)?;
    let day = digits(b, 8, 2)?;
    let hour = digits(b, 11, 2)?;
    let minute = digits(b, 14, 2)?;
    let second = digits(b, 17, 2)?;
    if b.get(4) != Some(&b'-')
        || b.get(7) != Some(&b'-')
        || b.get(10) != Some(&b'T')
        || b.get(13) != Some(&b':')
        || b.get(16) != Some(&b':')
    {
        return None;
    }
    if !(1..=12).contains(&month)
        || day == 0
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
        || second > 59
    {
        return None;
    }
    let mut i = 19;
    let mut millis = 0;
    if b.get(i) == Some(&b'.') {
        i += 1;
        let start = i;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        let count = i - start;
        if !(1..=9).contains(&count) {
            return None;
        }
        for k in 0..3 {
            millis *= 10;
            if k < count {
                millis += u32::from(b[start + k] - b'0');
            }
        }
    }
    let offset_minutes = match b.get(i) {
        Some(b'Z') if b.len() == i + 1 => 0,
        Some(sign @ (b'+' | b'-')) if b.len() == i + 6 => {
            let oh = digits(b, i + 1, 2)?;
            let om = digits(b, i + 4, 2)?;
            if b[i + 3] != b':' || oh > 23 || om > 59 {
                return None;
            }
            let total = i64::from(oh * 60 + om);
            if *sign == b'-' {
                -total
            } else {
                total
            }
        }
        _ => return None,
    };
    Some(Civil {
        year,
        month,
        day,
        hour,
        minute,
        second,
        millis,
        offset_minutes,
    })
}

/// Days since 1970-01-01 of a proleptic Gregorian date.
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The proleptic Gregorian date of a day count since 1970-01-01.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

impl Timestamp {
    /// The earliest instant [`Timestamp::from_unix_millis`] writes: 0000-01-01T00:00:00.000Z.
    pub const MIN_UNIX_MILLIS: i64 = -62_167_219_200_000;
    /// The latest instant [`Timestamp::from_unix_millis`] writes: 9999-12-31T23:59:59.999Z.
    pub const MAX_UNIX_MILLIS: i64 = 253_402_300_799_999;

    /// Reads a timestamp; `None` unless it is in the strict format above.
    pub fn parse(s: &str) -> Option<Timestamp> {
        parse_civil(s).map(|_| Timestamp(s.to_owned()))
    }

    /// Whether `s` is in the strict format above.
    pub fn is_valid(s: &str) -> bool {
        parse_civil(s).is_some()
    }

    /// The UTC timestamp of an instant given in milliseconds since the Unix
    /// epoch, written like the document: `2024-01-01T12:00:00.000Z`. The codec
    /// never reads the clock; callers pass their own `now`. Clamped to years 0–9999.
    pub fn from_unix_millis(millis: i64) -> Timestamp {
        let millis = millis.clamp(Self::MIN_UNIX_MILLIS, Self::MAX_UNIX_MILLIS);
        let days = millis.div_euclid(86_400_000);
        let rest = millis.rem_euclid(86_400_000);
        let (year, month, day) = civil_from_days(days);
        Timestamp(format!(
            "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
            rest / 3_600_000,
            rest / 60_000 % 60,
            rest / 1000 % 60,
            rest % 1000
        ))
    }

    /// The instant in milliseconds since the Unix epoch (offset applied,
    /// fraction truncated to milliseconds).
    pub fn unix_millis(&self) -> i64 {
        let Some(c) = parse_civil(&self.0) else {
            return 0;
        };
        let days = days_from_civil(c.year, c.month, c.day);
        let secs = days * 86_400
            + i64::from(c.hour) * 3600
            + i64::from(c.minute) * 60
            + i64::from(c.second)
            - c.offset_minutes * 60;
        secs * 1000 + i64::from(c.millis)
    }

    /// The timestamp as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for Timestamp {
    /// The Unix epoch, `1970-01-01T00:00:00.000Z`.
    fn default() -> Self {
        Timestamp::from_unix_millis(0)
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for Timestamp {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        Timestamp::parse(s).ok_or(())
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        Timestamp::parse(&s)
            .ok_or_else(|| serde::de::Error::custom(format!("not an ISO 8601 timestamp: {s:?}")))
    }
}

// ---------------------------------------------------------------------------
// Typed data
// ---------------------------------------------------------------------------

/// Reads a present `null` as `Some(None)` and an absent field as `None`.
fn nullable<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

/// `message_type` of a chat message (§5.1, §5.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MessageType {
    /// `text`: `content` carries at most 5,000 characters.
    #[default]
    Text,
    /// `image`: `file_info` describes the file.
    Image,
}

/// `sdp_type` of an SDP exchange (§7.3): the WebRTC `RTCSdpType` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SdpType {
    /// `offer`.
    #[default]
    Offer,
    /// `answer`.
    Answer,
    /// `pranswer`.
    Pranswer,
    /// `rollback`.
    Rollback,
}

/// `data.device_info` of `CONNECT` (§3.1); every field optional.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct DeviceInfo {
    /// e.g. `android`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<String>,
    /// e.g. `1.0.0`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_version: Option<String>,
    /// The device's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_id: Option<String>,
    /// Fields the document does not name.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `CONNECT` data (§3.1).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ConnectData {
    /// The JWT the server authenticates.
    pub jwt_token: String,
    /// The client's device, optional.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_info: Option<DeviceInfo>,
    /// Fields the document does not name.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `data.reconnection_info` of `CONNECT_RESPONSE` (§3.1).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ReconnectionInfo {
    /// Rooms the user is already in.
    pub existing_rooms: Vec<u64>,
    /// How many messages are unread.
    pub unread_messages: u64,
    /// Fields the document does not name.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `CONNECT_RESPONSE` data on success (§3.1).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ConnectResponseData {
    /// The authenticated user.
    pub user_id: u64,
    /// The session the server made.
    pub session_id: String,
    /// The server's clock.
    pub server_time: Timestamp,
    /// What a reconnecting client gets back, optional.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reconnection_info: Option<ReconnectionInfo>,
    /// Fields the document does not name.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `DISCONNECT` data (§3.2).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct DisconnectData {
    /// Why, e.g. `user_logout`; optional.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Fields the document does not name.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `CREATE_ROOM` data (§4.1).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct CreateRoomData {
    /// The room's name.
    pub name: String,
    /// Its description, optional.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Whether anyone may join, optional.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_open: Option<bool>,
    /// Capacity, optional.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_participants: Option<u64>,
    /// Users invited at creation, optional.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invited_user_ids: Option<Vec<u64>>,
    /// Fields the document does not name.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A member of a chat room (§4.1, §4.2, §4.4).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Participant {
    /// The user.
    pub user_id: u64,
    /// Display name.
    pub nickname: String,
    /// e.g. `host`, `member`.
    pub role: String,
    /// When they joined; shown in `ROOM_INFO_RESPONSE` only, optional.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub joined_at: Option<Timestamp>,
    /// Fields the document does not name.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `CREATE_ROOM_RESPONSE` data (§4.1).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct CreateRoomResponseData {
    /// The new room.
    pub room_id: u64,
    /// Its name.
    pub name: String,
    /// Its description, optional.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The creator.
    pub host_user_id: u64,
    /// Members so far.
    pub participants: Vec<Participant>,
    /// When it was made.
    pub created_at: Timestamp,
    /// Fields the document does not name.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Data naming one chat room: `JOIN_ROOM` (§4.2), `EXIT_ROOM` and its
/// response (§4.3), `ROOM_INFO` (§4.4).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct RoomRef {
    /// The room.
    pub room_id: u64,
    /// Fields the document does not name.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A room summary: `room_info` of `JOIN_ROOM_RESPONSE` (§4.2) and of
/// `INVITATION_RECEIVED` (§6.1).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct RoomSummary {
    /// The room's name.
    pub name: String,
    /// Its description, optional.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Its host; shown in `JOIN_ROOM_RESPONSE` only, optional.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_user_id: Option<u64>,
    /// How many members.
    pub participants_count: u64,
    /// Fields the document does not name.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `JOIN_ROOM_RESPONSE` data (§4.2).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct JoinRoomResponseData {
    /// The room joined.
    pub room_id: u64,
    /// Its summary.
    pub room_info: RoomSummary,
    /// Its members.
    pub participants: Vec<Participant>,
    /// Recent messages, optional; the document shows only `[]`, so the
    /// elements are kept as objects.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recent_messages: Option<Vec<Map<String, Value>>>,
    /// Fields the document does not name.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `USER_JOINED` broadcast data (§4.2).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct UserJoinedData {
    /// The room.
    pub room_id: u64,
    /// Who joined.
    pub user: Participant,
    /// Members now.
    pub participants_count: u64,
    /// Fields the document does not name.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `ROOM_INFO_RESPONSE` data (§4.4).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct RoomInfoResponseData {
    /// The room.
    pub room_id: u64,
    /// Its name.
    pub name: String,
    /// Its description, optional.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Whether anyone may join.
    pub is_open: bool,
    /// Its host.
    pub host_user_id: u64,
    /// How many members.
    pub participants_count: u64,
    /// Capacity.
    pub max_participants: u64,
    /// When it was made.
    pub created_at: Timestamp,
    /// Its members.
    pub participants: Vec<Participant>,
    /// Fields the document does not name.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `file_info` of an image message (§5.2).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct FileInfo {
    /// Where the server stores it.
    pub file_path: String,
    /// The original name.
    pub file_name: String,
    /// Size in bytes; at most [`limits::MAX_IMAGE_BYTES`].
    pub file_size: u64,
    /// e.g. `image/jpeg`.
    pub mime_type: String,
    /// Fields the document does not name.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `SEND_MESSAGE` data: text (§5.1) or image (§5.2).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct SendMessageData {
    /// The room.
    pub room_id: u64,
    /// The text; at most 5,000 characters for `text`; `""` for an image.
    pub content: String,
    /// `text` or `image`.
    pub message_type: MessageType,
    /// The message replied to: absent, `null` (`Some(None)`) or an id.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Option::is_none"
    )]
    pub reply_to_message_id: Option<Option<u64>>,
    /// The client's own id for the message, optional.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_message_id: Option<String>,
    /// The file; required for `image`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_info: Option<FileInfo>,
    /// Fields the document does not name.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `SEND_MESSAGE_RESPONSE` data (§5.1).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct SendMessageResponseData {
    /// The stored message's id.
    pub message_id: u64,
    /// The room.
    pub room_id: u64,
    /// The text.
    pub content: String,
    /// `text` or `image`.
    pub message_type: MessageType,
    /// When it was stored.
    pub created_at: Timestamp,
    /// The client's own id, echoed, optional.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_message_id: Option<String>,
    /// The message replied to: absent, `null` or an id.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Option::is_none"
    )]
    pub reply_to_message_id: Option<Option<u64>>,
    /// The file of an image message, optional.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_info: Option<FileInfo>,
    /// Fields the document does not name.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A user as shown beside a message or an invitation (§5.1, §5.3, §6.1).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct UserRef {
    /// The user.
    pub user_id: u64,
    /// Display name.
    pub nickname: String,
    /// Path of their picture, optional.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile_image: Option<String>,
    /// Fields the document does not name.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `NEW_MESSAGE` broadcast data (§5.1).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct NewMessageData {
    /// The message.
    pub message_id: u64,
    /// The room.
    pub room_id: u64,
    /// The text.
    pub content: String,
    /// `text` or `image`.
    pub message_type: MessageType,
    /// The sender.
    pub user: UserRef,
    /// When it was stored.
    pub created_at: Timestamp,
    /// The message replied to: absent, `null` or an id.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Option::is_none"
    )]
    pub reply_to_message_id: Option<Option<u64>>,
    /// The file of an image message, optional.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_info: Option<FileInfo>,
    /// Fields the document does not name.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `CHECK_RECEIVE` data (§5.3).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct CheckReceiveData {
    /// The room.
    pub room_id: u64,
    /// Messages the client confirms.
    pub message_ids: Vec<u64>,
    /// Fields the document does not name.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A message the client has not seen yet, in `CHECK_RECEIVE_RESPONSE` (§5.3).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct PendingMessage {
    /// The message.
    pub message_id: u64,
    /// The text.
    pub content: String,
    /// The sender.
    pub user: UserRef,
    /// When it was stored.
    pub created_at: Timestamp,
    /// `text` or `image`, optional (the document omits it here).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_type: Option<MessageType>,
    /// Fields the document does not name.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `CHECK_RECEIVE_RESPONSE` data (§5.3).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct CheckReceiveResponseData {
    /// The room.
    pub room_id: u64,
    /// Confirmed ids.
    pub received_messages: Vec<u64>,
    /// Ids that could not be confirmed.
    pub failed_messages: Vec<u64>,
    /// Messages the client has not seen.
    pub pending_messages: Vec<PendingMessage>,
    /// Fields the document does not name.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `INVITE` data (§6.1).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct InviteData {
    /// The room.
    pub room_id: u64,
    /// Who to invite.
    pub invited_user_ids: Vec<u64>,
    /// Fields the document does not name.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// One invited user in `INVITE_RESPONSE` (§6.1).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct InvitedUser {
    /// The user.
    pub user_id: u64,
    /// Display name.
    pub nickname: String,
    /// e.g. `invited`, `offline`.
    pub status: String,
    /// Fields the document does not name.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `INVITE_RESPONSE` data (§6.1).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct InviteResponseData {
    /// The room.
    pub room_id: u64,
    /// The outcome per user.
    pub invited_users: Vec<InvitedUser>,
    /// Fields the document does not name.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `INVITATION_RECEIVED` data, pushed to an online invitee (§6.1).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct InvitationReceivedData {
    /// The room.
    pub room_id: u64,
    /// Its summary.
    pub room_info: RoomSummary,
    /// Who invited.
    pub inviter: UserRef,
    /// Fields the document does not name.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `CREATE_VIDEO_ROOM` data (§7.1).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct CreateVideoRoomData {
    /// The chat room the call belongs to.
    pub chat_room_id: u64,
    /// The call's name, optional.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub video_room_name: Option<String>,
    /// Capacity, optional.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_participants: Option<u64>,
    /// Fields the document does not name.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Audio and video switches of a call participant (§7.2, §7.5).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct MediaState {
    /// Microphone on.
    pub audio_enabled: bool,
    /// Camera on.
    pub video_enabled: bool,
    /// Fields the document does not name.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A member of a video room (§7.2).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct VideoParticipant {
    /// The user.
    pub user_id: u64,
    /// Display name.
    pub nickname: String,
    /// e.g. `host`, `participant`.
    pub role: String,
    /// Their switches.
    pub media_status: MediaState,
    /// Fields the document does not name.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `CREATE_VIDEO_ROOM_RESPONSE` data (§7.1).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct CreateVideoRoomResponseData {
    /// The new video room.
    pub video_room_id: u64,
    /// Its name, optional.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub video_room_name: Option<String>,
    /// The chat room it belongs to.
    pub chat_room_id: u64,
    /// The creator.
    pub host_user_id: u64,
    /// Members so far.
    pub participants: Vec<VideoParticipant>,
    /// Capacity.
    pub max_participants: u64,
    /// When it was made.
    pub created_at: Timestamp,
    /// Fields the document does not name.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Data naming one video room: `JOIN_VIDEO_ROOM` (§7.2), `EXIT_VIDEO_ROOM`
/// (§7.6), `GET_VIDEO_ROOM_PARTICIPANT` (§7.7).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct VideoRoomRef {
    /// The video room.
    pub video_room_id: u64,
    /// Fields the document does not name.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `JOIN_VIDEO_ROOM_RESPONSE` data (§7.2).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct JoinVideoRoomResponseData {
    /// The video room.
    pub video_room_id: u64,
    /// Its members, the joiner included.
    pub participants: Vec<VideoParticipant>,
    /// Fields the document does not name.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `SDP` from a client, addressed to one participant (§7.3).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct SdpData {
    /// The video room.
    pub video_room_id: u64,
    /// Who it is for.
    pub target_user_id: u64,
    /// offer, answer, pranswer or rollback.
    pub sdp_type: SdpType,
    /// The session description.
    pub sdp_data: String,
    /// Fields the document does not name.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `SDP` relayed by the server to its target (§7.3).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct SdpRelayData {
    /// The video room.
    pub video_room_id: u64,
    /// Who sent it.
    pub sender_user_id: u64,
    /// offer, answer, pranswer or rollback.
    pub sdp_type: SdpType,
    /// The session description.
    pub sdp_data: String,
    /// Fields the document does not name.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `ICE_CANDIDATE` from a client, addressed to one participant (§7.4).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct IceCandidateData {
    /// The video room.
    pub video_room_id: u64,
    /// Who it is for.
    pub target_user_id: u64,
    /// The candidate line.
    pub candidate: String,
    /// The media stream id, optional.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sdp_mid: Option<String>,
    /// The m-line index, optional.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sdp_mline_index: Option<u64>,
    /// Fields the document does not name.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `ICE_CANDIDATE` relayed by the server to its target: like the request,
/// with `sender_user_id` for `target_user_id`, as §7.3 does for `SDP`
/// (the document does not show this message).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct IceCandidateRelayData {
    /// The video room.
    pub video_room_id: u64,
    /// Who sent it.
    pub sender_user_id: u64,
    /// The candidate line.
    pub candidate: String,
    /// The media stream id, optional.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sdp_mid: Option<String>,
    /// The m-line index, optional.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sdp_mline_index: Option<u64>,
    /// Fields the document does not name.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `MEDIA_STATUS` data (§7.5).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct MediaStatusData {
    /// The video room.
    pub video_room_id: u64,
    /// Microphone on.
    pub audio_enabled: bool,
    /// Camera on.
    pub video_enabled: bool,
    /// Fields the document does not name.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `PARTICIPANT_MEDIA_STATUS` broadcast data (§7.5).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ParticipantMediaStatusData {
    /// The video room.
    pub video_room_id: u64,
    /// Whose switches changed.
    pub user_id: u64,
    /// Their display name, optional.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nickname: Option<String>,
    /// Microphone on.
    pub audio_enabled: bool,
    /// Camera on.
    pub video_enabled: bool,
    /// Fields the document does not name.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `SERVER_ANNOUNCEMENT` data (§8.1).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ServerAnnouncementData {
    /// Headline.
    pub title: String,
    /// Body text.
    pub message: String,
    /// e.g. `high`, optional.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<String>,
    /// e.g. `maintenance`, optional.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub announcement_type: Option<String>,
    /// Fields the document does not name.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `ERROR` data (§9.1); both fields optional.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ErrorData {
    /// The action that failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub original_action: Option<String>,
    /// Details for people.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_details: Option<String>,
    /// Fields the document does not name.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The response fields of §2.3 with a typed `data`: `<ACTION>_RESPONSE` and `ERROR`.
#[derive(Debug, Clone, PartialEq)]
pub struct Response<T> {
    /// `success`.
    pub success: bool,
    /// `message`, for people; optional.
    pub message: Option<String>,
    /// `error_code`; required when `success` is false.
    pub error_code: Option<AnyErrorCode>,
    /// `data`; required when `success` is true for the responses the document shows.
    pub data: Option<T>,
}

impl<T> Response<T> {
    /// A success carrying `data`.
    pub fn success(data: T) -> Self {
        Response {
            success: true,
            message: None,
            error_code: None,
            data: Some(data),
        }
    }

    /// A failure with an error code and a message for people.
    pub fn failure(code: impl Into<AnyErrorCode>, message: impl Into<String>) -> Self {
        Response {
            success: false,
            message: Some(message.into()),
            error_code: Some(code.into()),
            data: None,
        }
    }

    /// The same response with `message` set.
    pub fn with_message(mut self, message: impl Into<String>) -> Self {
        self.message = Some(message.into());
        self
    }
}

/// A message checked for its envelope only (kind `envelope`): any action, any data object.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Envelope {
    /// `action`, any string.
    pub action: String,
    /// `success`, if present.
    pub success: Option<bool>,
    /// `message`, if present.
    pub message: Option<String>,
    /// `error_code`, if present.
    pub error_code: Option<AnyErrorCode>,
    /// `data`, if present.
    pub data: Option<Map<String, Value>>,
}

// ---------------------------------------------------------------------------
// Actions
// ---------------------------------------------------------------------------

/// The actions the document defines (responses are `<name>_RESPONSE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Action {
    /// `CONNECT` (§3.1), client.
    Connect,
    /// `DISCONNECT` (§3.2), client.
    Disconnect,
    /// `CREATE_ROOM` (§4.1), client.
    CreateRoom,
    /// `JOIN_ROOM` (§4.2), client.
    JoinRoom,
    /// `USER_JOINED` (§4.2), server broadcast.
    UserJoined,
    /// `EXIT_ROOM` (§4.3), client.
    ExitRoom,
    /// `ROOM_INFO` (§4.4), client.
    RoomInfo,
    /// `SEND_MESSAGE` (§5.1, §5.2), client.
    SendMessage,
    /// `NEW_MESSAGE` (§5.1), server broadcast.
    NewMessage,
    /// `CHECK_RECEIVE` (§5.3), client.
    CheckReceive,
    /// `INVITE` (§6.1), client.
    Invite,
    /// `INVITATION_RECEIVED` (§6.1), server push.
    InvitationReceived,
    /// `CREATE_VIDEO_ROOM` (§7.1), client.
    CreateVideoRoom,
    /// `JOIN_VIDEO_ROOM` (§7.2), client.
    JoinVideoRoom,
    /// `SDP` (§7.3), both ways.
    Sdp,
    /// `ICE_CANDIDATE` (§7.4), both ways.
    IceCandidate,
    /// `MEDIA_STATUS` (§7.5), client.
    MediaStatus,
    /// `PARTICIPANT_MEDIA_STATUS` (§7.5), server broadcast.
    ParticipantMediaStatus,
    /// `EXIT_VIDEO_ROOM` (§7.6), client.
    ExitVideoRoom,
    /// `GET_VIDEO_ROOM_PARTICIPANT` (§7.7), client.
    GetVideoRoomParticipant,
    /// `SERVER_ANNOUNCEMENT` (§8.1), server broadcast.
    ServerAnnouncement,
    /// `PING` (§8.2), server.
    Ping,
    /// `PONG` (§8.2), client.
    Pong,
    /// `ERROR` (§9.1), server.
    Error,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Senders {
    Client,
    Server,
    Both,
}

impl Action {
    /// Every action, in the document's order.
    pub const ALL: [Action; 24] = [
        Action::Connect,
        Action::Disconnect,
        Action::CreateRoom,
        Action::JoinRoom,
        Action::UserJoined,
        Action::ExitRoom,
        Action::RoomInfo,
        Action::SendMessage,
        Action::NewMessage,
        Action::CheckReceive,
        Action::Invite,
        Action::InvitationReceived,
        Action::CreateVideoRoom,
        Action::JoinVideoRoom,
        Action::Sdp,
        Action::IceCandidate,
        Action::MediaStatus,
        Action::ParticipantMediaStatus,
        Action::ExitVideoRoom,
        Action::GetVideoRoomParticipant,
        Action::ServerAnnouncement,
        Action::Ping,
        Action::Pong,
        Action::Error,
    ];

    /// The wire name, e.g. `CREATE_ROOM`.
    pub fn name(self) -> &'static str {
        match self {
            Action::Connect => "CONNECT",
            Action::Disconnect => "DISCONNECT",
            Action::CreateRoom => "CREATE_ROOM",
            Action::JoinRoom => "JOIN_ROOM",
            Action::UserJoined => "USER_JOINED",
            Action::ExitRoom => "EXIT_ROOM",
            Action::RoomInfo => "ROOM_INFO",
            Action::SendMessage => "SEND_MESSAGE",
            Action::NewMessage => "NEW_MESSAGE",
            Action::CheckReceive => "CHECK_RECEIVE",
            Action::Invite => "INVITE",
            Action::InvitationReceived => "INVITATION_RECEIVED",
            Action::CreateVideoRoom => "CREATE_VIDEO_ROOM",
            Action::JoinVideoRoom => "JOIN_VIDEO_ROOM",
            Action::Sdp => "SDP",
            Action::IceCandidate => "ICE_CANDIDATE",
            Action::MediaStatus => "MEDIA_STATUS",
            Action::ParticipantMediaStatus => "PARTICIPANT_MEDIA_STATUS",
            Action::ExitVideoRoom => "EXIT_VIDEO_ROOM",
            Action::GetVideoRoomParticipant => "GET_VIDEO_ROOM_PARTICIPANT",
            Action::ServerAnnouncement => "SERVER_ANNOUNCEMENT",
            Action::Ping => "PING",
            Action::Pong => "PONG",
            Action::Error => "ERROR",
        }
    }

    /// The action of a wire name.
    pub fn from_name(name: &str) -> Option<Action> {
        Action::ALL.into_iter().find(|a| a.name() == name)
    }

    fn senders(self) -> Senders {
        match self {
            Action::Sdp | Action::IceCandidate => Senders::Both,
            Action::UserJoined
            | Action::NewMessage
            | Action::InvitationReceived
            | Action::ParticipantMediaStatus
            | Action::ServerAnnouncement
            | Action::Ping
            | Action::Error => Senders::Server,
            _ => Senders::Client,
        }
    }

    /// Whether a client sends this action (and so may be answered with `<name>_RESPONSE`).
    pub fn is_request(self) -> bool {
        self.senders() != Senders::Server && self != Action::Pong
    }

    /// `<name>_RESPONSE` for a request, e.g. `JOIN_ROOM_RESPONSE`; `None` for
    /// server messages and `PONG`.
    pub fn response_name(self) -> Option<String> {
        self.is_request()
            .then(|| format!("{}_RESPONSE", self.name()))
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

// ---------------------------------------------------------------------------
// Messages
// ---------------------------------------------------------------------------

/// What a message says: one variant per action and direction of the document.
#[derive(Debug, Clone, PartialEq)]
pub enum Body {
    /// `CONNECT` (§3.1).
    Connect(ConnectData),
    /// `CONNECT_RESPONSE` (§3.1), success or failure.
    ConnectResponse(Response<ConnectResponseData>),
    /// `DISCONNECT` (§3.2); `data` optional.
    Disconnect(Option<DisconnectData>),
    /// `CREATE_ROOM` (§4.1).
    CreateRoom(CreateRoomData),
    /// `CREATE_ROOM_RESPONSE` (§4.1).
    CreateRoomResponse(Response<CreateRoomResponseData>),
    /// `JOIN_ROOM` (§4.2).
    JoinRoom(RoomRef),
    /// `JOIN_ROOM_RESPONSE` (§4.2).
    JoinRoomResponse(Response<JoinRoomResponseData>),
    /// `USER_JOINED` broadcast (§4.2).
    UserJoined(UserJoinedData),
    /// `EXIT_ROOM` (§4.3).
    ExitRoom(RoomRef),
    /// `EXIT_ROOM_RESPONSE` (§4.3).
    ExitRoomResponse(Response<RoomRef>),
    /// `ROOM_INFO` (§4.4).
    RoomInfo(RoomRef),
    /// `ROOM_INFO_RESPONSE` (§4.4).
    RoomInfoResponse(Response<RoomInfoResponseData>),
    /// `SEND_MESSAGE`, text (§5.1) or image (§5.2).
    SendMessage(SendMessageData),
    /// `SEND_MESSAGE_RESPONSE` (§5.1).
    SendMessageResponse(Response<SendMessageResponseData>),
    /// `NEW_MESSAGE` broadcast (§5.1).
    NewMessage(NewMessageData),
    /// `CHECK_RECEIVE` (§5.3).
    CheckReceive(CheckReceiveData),
    /// `CHECK_RECEIVE_RESPONSE` (§5.3).
    CheckReceiveResponse(Response<CheckReceiveResponseData>),
    /// `INVITE` (§6.1).
    Invite(InviteData),
    /// `INVITE_RESPONSE` (§6.1).
    InviteResponse(Response<InviteResponseData>),
    /// `INVITATION_RECEIVED` (§6.1).
    InvitationReceived(InvitationReceivedData),
    /// `CREATE_VIDEO_ROOM` (§7.1).
    CreateVideoRoom(CreateVideoRoomData),
    /// `CREATE_VIDEO_ROOM_RESPONSE` (§7.1).
    CreateVideoRoomResponse(Response<CreateVideoRoomResponseData>),
    /// `JOIN_VIDEO_ROOM` (§7.2).
    JoinVideoRoom(VideoRoomRef),
    /// `JOIN_VIDEO_ROOM_RESPONSE` (§7.2).
    JoinVideoRoomResponse(Response<JoinVideoRoomResponseData>),
    /// `SDP` from a client (§7.3).
    Sdp(SdpData),
    /// `SDP` relayed by the server (§7.3).
    SdpRelay(SdpRelayData),
    /// `ICE_CANDIDATE` from a client (§7.4).
    IceCandidate(IceCandidateData),
    /// `ICE_CANDIDATE` relayed by the server (§7.4, by analogy with §7.3).
    IceCandidateRelay(IceCandidateRelayData),
    /// `MEDIA_STATUS` (§7.5).
    MediaStatus(MediaStatusData),
    /// `PARTICIPANT_MEDIA_STATUS` broadcast (§7.5).
    ParticipantMediaStatus(ParticipantMediaStatusData),
    /// `EXIT_VIDEO_ROOM` (§7.6).
    ExitVideoRoom(VideoRoomRef),
    /// `GET_VIDEO_ROOM_PARTICIPANT` (§7.7).
    GetVideoRoomParticipant(VideoRoomRef),
    /// `SERVER_ANNOUNCEMENT` broadcast (§8.1).
    ServerAnnouncement(ServerAnnouncementData),
    /// `PING` from the server (§8.2); the document shows no `data`.
    Ping(Option<Map<String, Value>>),
    /// `PONG` from a client (§8.2); the document shows no `data`.
    Pong(Option<Map<String, Value>>),
    /// `ERROR` (§9.1); `success` is false.
    Error(Response<ErrorData>),
    /// `<request>_RESPONSE` for a request whose response the document does not
    /// show (`DISCONNECT`, `SDP`, `ICE_CANDIDATE`, `MEDIA_STATUS`,
    /// `EXIT_VIDEO_ROOM`, `GET_VIDEO_ROOM_PARTICIPANT`): the generic envelope
    /// of §2.3 with an untyped `data` object.
    GenericResponse {
        /// The request answered.
        request: Action,
        /// The response.
        response: Response<Map<String, Value>>,
    },
    /// Any message read with kind `envelope`.
    Envelope(Envelope),
}

impl Body {
    /// The `action` written on the wire.
    pub fn action(&self) -> Cow<'_, str> {
        let name = match self {
            Body::Connect(_) => "CONNECT",
            Body::ConnectResponse(_) => "CONNECT_RESPONSE",
            Body::Disconnect(_) => "DISCONNECT",
            Body::CreateRoom(_) => "CREATE_ROOM",
            Body::CreateRoomResponse(_) => "CREATE_ROOM_RESPONSE",
            Body::JoinRoom(_) => "JOIN_ROOM",
            Body::JoinRoomResponse(_) => "JOIN_ROOM_RESPONSE",
            Body::UserJoined(_) => "USER_JOINED",
            Body::ExitRoom(_) => "EXIT_ROOM",
            Body::ExitRoomResponse(_) => "EXIT_ROOM_RESPONSE",
            Body::RoomInfo(_) => "ROOM_INFO",
            Body::RoomInfoResponse(_) => "ROOM_INFO_RESPONSE",
            Body::SendMessage(_) => "SEND_MESSAGE",
            Body::SendMessageResponse(_) => "SEND_MESSAGE_RESPONSE",
            Body::NewMessage(_) => "NEW_MESSAGE",
            Body::CheckReceive(_) => "CHECK_RECEIVE",
            Body::CheckReceiveResponse(_) => "CHECK_RECEIVE_RESPONSE",
            Body::Invite(_) => "INVITE",
            Body::InviteResponse(_) => "INVITE_RESPONSE",
            Body::InvitationReceived(_) => "INVITATION_RECEIVED",
            Body::CreateVideoRoom(_) => "CREATE_VIDEO_ROOM",
            Body::CreateVideoRoomResponse(_) => "CREATE_VIDEO_ROOM_RESPONSE",
            Body::JoinVideoRoom(_) => "JOIN_VIDEO_ROOM",
            Body::JoinVideoRoomResponse(_) => "JOIN_VIDEO_ROOM_RESPONSE",
            Body::Sdp(_) | Body::SdpRelay(_) => "SDP",
            Body::IceCandidate(_) | Body::IceCandidateRelay(_) => "ICE_CANDIDATE",
            Body::MediaStatus(_) => "MEDIA_STATUS",
            Body::ParticipantMediaStatus(_) => "PARTICIPANT_MEDIA_STATUS",
            Body::ExitVideoRoom(_) => "EXIT_VIDEO_ROOM",
            Body::GetVideoRoomParticipant(_) => "GET_VIDEO_ROOM_PARTICIPANT",
            Body::ServerAnnouncement(_) => "SERVER_ANNOUNCEMENT",
            Body::Ping(_) => "PING",
            Body::Pong(_) => "PONG",
            Body::Error(_) => "ERROR",
            Body::GenericResponse { request, .. } => {
                return Cow::Owned(format!("{}_RESPONSE", request.name()))
            }
            Body::Envelope(e) => return Cow::Borrowed(&e.action),
        };
        Cow::Borrowed(name)
    }

    /// Which way the message travels; `None` for [`Body::Envelope`].
    pub fn direction(&self) -> Option<Direction> {
        match self {
            Body::Connect(_)
            | Body::Disconnect(_)
            | Body::CreateRoom(_)
            | Body::JoinRoom(_)
            | Body::ExitRoom(_)
            | Body::RoomInfo(_)
            | Body::SendMessage(_)
            | Body::CheckReceive(_)
            | Body::Invite(_)
            | Body::CreateVideoRoom(_)
            | Body::JoinVideoRoom(_)
            | Body::Sdp(_)
            | Body::IceCandidate(_)
            | Body::MediaStatus(_)
            | Body::ExitVideoRoom(_)
            | Body::GetVideoRoomParticipant(_)
            | Body::Pong(_) => Some(Direction::ClientToServer),
            Body::Envelope(_) => None,
            _ => Some(Direction::ServerToClient),
        }
    }

    /// Whether the message carries the response fields of §2.3 (`success`, `message`, `error_code`).
    pub fn is_response(&self) -> bool {
        matches!(
            self,
            Body::ConnectResponse(_)
                | Body::CreateRoomResponse(_)
                | Body::JoinRoomResponse(_)
                | Body::ExitRoomResponse(_)
                | Body::RoomInfoResponse(_)
                | Body::SendMessageResponse(_)
                | Body::CheckReceiveResponse(_)
                | Body::InviteResponse(_)
                | Body::CreateVideoRoomResponse(_)
                | Body::JoinVideoRoomResponse(_)
                | Body::Error(_)
                | Body::GenericResponse { .. }
        )
    }

    /// Writes `success`, `message`, `error_code` (for responses) and `data`;
    /// returns the keys written.
    fn write_fields<M: SerializeMap>(
        &self,
        map: &mut M,
        written: &mut Vec<&'static str>,
    ) -> Result<(), M::Error> {
        fn data<M: SerializeMap, T: Serialize>(
            map: &mut M,
            written: &mut Vec<&'static str>,
            data: Option<&T>,
        ) -> Result<(), M::Error> {
            if let Some(d) = data {
                written.push("data");
                map.serialize_entry("data", d)?;
            }
            Ok(())
        }
        fn response<M: SerializeMap, T: Serialize>(
            map: &mut M,
            written: &mut Vec<&'static str>,
            r: &Response<T>,
        ) -> Result<(), M::Error> {
            written.push("success");
            map.serialize_entry("success", &r.success)?;
            if let Some(m) = &r.message {
                written.push("message");
                map.serialize_entry("message", m)?;
            }
            if let Some(c) = &r.error_code {
                written.push("error_code");
                map.serialize_entry("error_code", c)?;
            }
            data(map, written, r.data.as_ref())
        }
        match self {
            Body::Connect(d) => data(map, written, Some(d)),
            Body::ConnectResponse(r) => response(map, written, r),
            Body::Disconnect(d) => data(map, written, d.as_ref()),
            Body::CreateRoom(d) => data(map, written, Some(d)),
            Body::CreateRoomResponse(r) => response(map, written, r),
            Body::JoinRoom(d) | Body::ExitRoom(d) | Body::RoomInfo(d) => {
                data(map, written, Some(d))
            }
            Body::JoinRoomResponse(r) => response(map, written, r),
            Body::UserJoined(d) => data(map, written, Some(d)),
            Body::ExitRoomResponse(r) => response(map, written, r),
            Body::RoomInfoResponse(r) => response(map, written, r),
            Body::SendMessage(d) => data(map, written, Some(d)),
            Body::SendMessageResponse(r) => response(map, written, r),
            Body::NewMessage(d) => data(map, written, Some(d)),
            Body::CheckReceive(d) => data(map, written, Some(d)),
            Body::CheckReceiveResponse(r) => response(map, written, r),
            Body::Invite(d) => data(map, written, Some(d)),
            Body::InviteResponse(r) => response(map, written, r),
            Body::InvitationReceived(d) => data(map, written, Some(d)),
            Body::CreateVideoRoom(d) => data(map, written, Some(d)),
            Body::CreateVideoRoomResponse(r) => response(map, written, r),
            Body::JoinVideoRoom(d) | Body::ExitVideoRoom(d) | Body::GetVideoRoomParticipant(d) => {
                data(map, written, Some(d))
            }
            Body::JoinVideoRoomResponse(r) => response(map, written, r),
            Body::Sdp(d) => data(map, written, Some(d)),
            Body::SdpRelay(d) => data(map, written, Some(d)),
            Body::IceCandidate(d) => data(map, written, Some(d)),
            Body::IceCandidateRelay(d) => data(map, written, Some(d)),
            Body::MediaStatus(d) => data(map, written, Some(d)),
            Body::ParticipantMediaStatus(d) => data(map, written, Some(d)),
            Body::ServerAnnouncement(d) => data(map, written, Some(d)),
            Body::Ping(d) | Body::Pong(d) => data(map, written, d.as_ref()),
            Body::Error(r) => response(map, written, r),
            Body::GenericResponse { response: r, .. } => response(map, written, r),
            Body::Envelope(e) => {
                if let Some(s) = &e.success {
                    written.push("success");
                    map.serialize_entry("success", s)?;
                }
                if let Some(m) = &e.message {
                    written.push("message");
                    map.serialize_entry("message", m)?;
                }
                if let Some(c) = &e.error_code {
                    written.push("error_code");
                    map.serialize_entry("error_code", c)?;
                }
                data(map, written, e.data.as_ref())
            }
        }
    }
}

/// One ASSA message: the envelope of §2.1 / §2.3 and its [`Body`].
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    /// The action and its data (and, for responses, `success` / `message` / `error_code`).
    pub body: Body,
    /// `timestamp`, ISO 8601.
    pub timestamp: Timestamp,
    /// `seq_id`; a response repeats its request's.
    pub seq_id: String,
    /// `user_id`, optional (sent after authentication).
    pub user_id: Option<u64>,
    /// `session_id`, optional (made by the server).
    pub session_id: Option<String>,
    /// Envelope fields the document does not name, kept for re-encoding.
    /// Never put a documented envelope field here.
    pub extra: Map<String, Value>,
}

impl Message {
    /// A message with no `user_id`, `session_id` or extra fields.
    pub fn new(body: Body, timestamp: Timestamp, seq_id: impl Into<String>) -> Self {
        Message {
            body,
            timestamp,
            seq_id: seq_id.into(),
            user_id: None,
            session_id: None,
            extra: Map::new(),
        }
    }

    /// The same message with `user_id` set.
    pub fn with_user_id(mut self, user_id: u64) -> Self {
        self.user_id = Some(user_id);
        self
    }

    /// The same message with `session_id` set.
    pub fn with_session_id(mut self, session_id: impl Into<String>) -> Self {
        self.session_id = Some(session_id.into());
        self
    }

    /// The `action` written on the wire.
    pub fn action(&self) -> Cow<'_, str> {
        self.body.action()
    }

    /// The silent-spot rule of specs/README.md: after `CONNECT` the session
    /// knows its user, and a message claiming another `user_id` is refused.
    /// A message without `user_id` passes.
    pub fn check_user_id(&self, session_user_id: u64) -> Result<(), Error> {
        match self.user_id {
            Some(claimed) if claimed != session_user_id => Err(Error::UserMismatch {
                claimed,
                session: session_user_id,
            }),
            _ => Ok(()),
        }
    }
}

impl Serialize for Message {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        let mut written = vec!["action", "timestamp", "seq_id"];
        map.serialize_entry("action", &self.body.action())?;
        self.body.write_fields(&mut map, &mut written)?;
        map.serialize_entry("timestamp", &self.timestamp)?;
        map.serialize_entry("seq_id", &self.seq_id)?;
        if let Some(user_id) = self.user_id {
            written.push("user_id");
            map.serialize_entry("user_id", &user_id)?;
        }
        if let Some(session_id) = &self.session_id {
            written.push("session_id");
            map.serialize_entry("session_id", session_id)?;
        }
        for (key, value) in &self.extra {
            if !written.contains(&key.as_str()) {
                map.serialize_entry(key, value)?;
            }
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for Message {
    /// Reads and checks a message as `Assa::decode(None, ..)` does.
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(deserializer)?;
        let mut errors = Vec::new();
        match analyze_value(Sel::Infer, value, &mut errors) {
            Some(message) if errors.is_empty() => Ok(message),
            _ => Err(serde::de::Error::custom(match errors.first() {
                Some(e) => e.to_string(),
                None => "invalid ASSA message".to_owned(),
            })),
        }
    }
}

// ---------------------------------------------------------------------------
// Validation: a small schema walked over serde_json::Value
// ---------------------------------------------------------------------------

#[derive(Clone, Copy)]
enum Ty {
    Str,
    Bool,
    Id,
    Count,
    Time,
    MsgType,
    SdpType,
    AnyObject,
    Obj(&'static [F]),
    Arr(&'static Ty),
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Need {
    Req,
    Opt,
    /// Optional, and `null` is allowed.
    Null,
}

#[derive(Clone, Copy)]
struct F(&'static str, Ty, Need);

use Need::{Null, Opt, Req};

const IDS: Ty = Ty::Arr(&Ty::Id);
const DEVICE_INFO: &[F] = &[
    F("platform", Ty::Str, Opt),
    F("app_version", Ty::Str, Opt),
    F("device_id", Ty::Str, Opt),
];
const CONNECT: &[F] = &[
    F("jwt_token", Ty::Str, Req),
    F("device_info", Ty::Obj(DEVICE_INFO), Opt),
];
const RECONNECTION_INFO: &[F] = &[
    F("existing_rooms", IDS, Req),
    F("unread_messages", Ty::Count, Req),
];
const CONNECT_RESPONSE: &[F] = &[
    F("user_id", Ty::Id, Req),
    F("session_id", Ty::Str, Req),
    F("server_time", Ty::Time, Req),
    F("reconnection_info", Ty::Obj(RECONNECTION_INFO), Opt),
];
const DISCONNECT: &[F] = &[F("reason", Ty::Str, Opt)];
const CREATE_ROOM: &[F] = &[
    F("name", Ty::Str, Req),
    F("description", Ty::Str, Opt),
    F("is_open", Ty::Bool, Opt),
    F("max_participants", Ty::Count, Opt),
    F("invited_user_ids", IDS, Opt),
];
const PARTICIPANT: &[F] = &[
    F("user_id", Ty::Id, Req),
    F("nickname", Ty::Str, Req),
    F("role", Ty::Str, Req),
    F("joined_at", Ty::Time, Opt),
];
const PARTICIPANTS: Ty = Ty::Arr(&Ty::Obj(PARTICIPANT));
const CREATE_ROOM_RESPONSE: &[F] = &[
    F("room_id", Ty::Id, Req),
    F("name", Ty::Str, Req),
    F("description", Ty::Str, Opt),
    F("host_user_id", Ty::Id, Req),
    F("participants", PARTICIPANTS, Req),
    F("created_at", Ty::Time, Req),
];
const ROOM_REF: &[F] = &[F("room_id", Ty::Id, Req)];
const ROOM_SUMMARY: &[F] = &[
    F("name", Ty::Str, Req),
    F("description", Ty::Str, Opt),
    F("host_user_id", Ty::Id, Opt),
    F("participants_count", Ty::Count, Req),
];
const JOIN_ROOM_RESPONSE: &[F] = &[
    F("room_id", Ty::Id, Req),
    F("room_info", Ty::Obj(ROOM_SUMMARY), Req),
    F("participants", PARTICIPANTS, Req),
    F("recent_messages", Ty::Arr(&Ty::AnyObject), Opt),
];
const USER_JOINED: &[F] = &[
    F("room_id", Ty::Id, Req),
    F("user", Ty::Obj(PARTICIPANT), Req),
    F("participants_count", Ty::Count, Req),
];
const ROOM_INFO_RESPONSE: &[F] = &[
    F("room_id", Ty::Id, Req),
    F("name", Ty::Str, Req),
    F("description", Ty::Str, Opt),
    F("is_open", Ty::Bool, Req),
    F("host_user_id", Ty::Id, Req),
    F("participants_count", Ty::Count, Req),
    F("max_participants", Ty::Count, Req),
    F("created_at", Ty::Time, Req),
    F("participants", PARTICIPANTS, Req),
];
const FILE_INFO: &[F] = &[
    F("file_path", Ty::Str, Req),
    F("file_name", Ty::Str, Req),
    F("file_size", Ty::Count, Req),
    F("mime_type", Ty::Str, Req),
];
const SEND_MESSAGE: &[F] = &[
    F("room_id", Ty::Id, Req),
    F("content", Ty::Str, Req),
    F("message_type", Ty::MsgType, Req),
    F("reply_to_message_id", Ty::Id, Null),
    F("client_message_id", Ty::Str, Opt),
    F("file_info", Ty::Obj(FILE_INFO), Opt),
];
const SEND_MESSAGE_RESPONSE: &[F] = &[
    F("message_id", Ty::Id, Req),
    F("room_id", Ty::Id, Req),
    F("content", Ty::Str, Req),
    F("message_type", Ty::MsgType, Req),
    F("created_at", Ty::Time, Req),
    F("client_message_id", Ty::Str, Opt),
    F("reply_to_message_id", Ty::Id, Null),
    F("file_info", Ty::Obj(FILE_INFO), Opt),
];
const USER_REF: &[F] = &[
    F("user_id", Ty::Id, Req),
    F("nickname", Ty::Str, Req),
    F("profile_image", Ty::Str, Opt),
];
const NEW_MESSAGE: &[F] = &[
    F("message_id", Ty::Id, Req),
    F("room_id", Ty::Id, Req),
    F("content", Ty::Str, Req),
    F("message_type", Ty::MsgType, Req),
    F("user", Ty::Obj(USER_REF), Req),
    F("created_at", Ty::Time, Req),
    F("reply_to_message_id", Ty::Id, Null),
    F("file_info", Ty::Obj(FILE_INFO), Opt),
];
const CHECK_RECEIVE: &[F] = &[F("room_id", Ty::Id, Req), F("message_ids", IDS, Req)];
const PENDING_MESSAGE: &[F] = &[
    F("message_id", Ty::Id, Req),
    F("content", Ty::Str, Req),
    F("user", Ty::Obj(USER_REF), Req),
    F("created_at", Ty::Time, Req),
    F("message_type", Ty::MsgType, Opt),
];
const CHECK_RECEIVE_RESPONSE: &[F] = &[
    F("room_id", Ty::Id, Req),
    F("received_messages", IDS, Req),
    F("failed_messages", IDS, Req),
    F("pending_messages", Ty::Arr(&Ty::Obj(PENDING_MESSAGE)), Req),
];
const INVITE: &[F] = &[F("room_id", Ty::Id, Req), F("invited_user_ids", IDS, Req)];
const INVITED_USER: &[F] = &[
    F("user_id", Ty::Id, Req),
    F("nickname", Ty::Str, Req),
    F("status", Ty::Str, Req),
];
const INVITE_RESPONSE: &[F] = &[
    F("room_id", Ty::Id, Req),
    F("invited_users", Ty::Arr(&Ty::Obj(INVITED_USER)), Req),
];
const INVITATION_RECEIVED: &[F] = &[
    F("room_id", Ty::Id, Req),
    F("room_info", Ty::Obj(ROOM_SUMMARY), Req),
    F("inviter", Ty::Obj(USER_REF), Req),
];
const CREATE_VIDEO_ROOM: &[F] = &[
    F("chat_room_id", Ty::Id, Req),
    F("video_room_name", Ty::Str, Opt),
    F("max_participants", Ty::Count, Opt),
];
const MEDIA_STATE: &[F] = &[
    F("audio_enabled", Ty::Bool, Req),
    F("video_enabled", Ty::Bool, Req),
];
const VIDEO_PARTICIPANT: &[F] = &[
    F("user_id", Ty::Id, Req),
    F("nickname", Ty::Str, Req),
    F("role", Ty::Str, Req),
    F("media_status", Ty::Obj(MEDIA_STATE), Req),
];
const VIDEO_PARTICIPANTS: Ty = Ty::Arr(&Ty::Obj(VIDEO_PARTICIPANT));
const CREATE_VIDEO_ROOM_RESPONSE: &[F] = &[
    F("video_room_id", Ty::Id, Req),
    F("video_room_name", Ty::Str, Opt),
    F("chat_room_id", Ty::Id, Req),
    F("host_user_id", Ty::Id, Req),
    F("participants", VIDEO_PARTICIPANTS, Req),
    F("max_participants", Ty::Count, Req),
    F("created_at", Ty::Time, Req),
];
const VIDEO_ROOM_REF: &[F] = &[F("video_room_id", Ty::Id, Req)];
const JOIN_VIDEO_ROOM_RESPONSE: &[F] = &[
    F("video_room_id", Ty::Id, Req),
    F("participants", VIDEO_PARTICIPANTS, Req),
];
const SDP: &[F] = &[
    F("video_room_id", Ty::Id, Req),
    F("target_user_id", Ty::Id, Req),
    F("sdp_type", Ty::SdpType, Req),
    F("sdp_data", Ty::Str, Req),
];
const SDP_RELAY: &[F] = &[
    F("video_room_id", Ty::Id, Req),
    F("sender_user_id", Ty::Id, Req),
    F("sdp_type", Ty::SdpType, Req),
    F("sdp_data", Ty::Str, Req),
];
const ICE_CANDIDATE: &[F] = &[
    F("video_room_id", Ty::Id, Req),
    F("target_user_id", Ty::Id, Req),
    F("candidate", Ty::Str, Req),
    F("sdp_mid", Ty::Str, Opt),
    F("sdp_mline_index", Ty::Count, Opt),
];
const ICE_CANDIDATE_RELAY: &[F] = &[
    F("video_room_id", Ty::Id, Req),
    F("sender_user_id", Ty::Id, Req),
    F("candidate", Ty::Str, Req),
    F("sdp_mid", Ty::Str, Opt),
    F("sdp_mline_index", Ty::Count, Opt),
];
const MEDIA_STATUS: &[F] = &[
    F("video_room_id", Ty::Id, Req),
    F("audio_enabled", Ty::Bool, Req),
    F("video_enabled", Ty::Bool, Req),
];
const PARTICIPANT_MEDIA_STATUS: &[F] = &[
    F("video_room_id", Ty::Id, Req),
    F("user_id", Ty::Id, Req),
    F("nickname", Ty::Str, Opt),
    F("audio_enabled", Ty::Bool, Req),
    F("video_enabled", Ty::Bool, Req),
];
const SERVER_ANNOUNCEMENT: &[F] = &[
    F("title", Ty::Str, Req),
    F("message", Ty::Str, Req),
    F("priority", Ty::Str, Opt),
    F("announcement_type", Ty::Str, Opt),
];
const ERROR_DATA: &[F] = &[
    F("original_action", Ty::Str, Opt),
    F("error_details", Ty::Str, Opt),
];

fn join(path: &str, name: &str) -> String {
    if path.is_empty() {
        name.to_owned()
    } else {
        format!("{path}.{name}")
    }
}

fn walk(value: &Value, ty: Ty, path: &str, spec: &'static str, errors: &mut Vec<Error>) {
    let wrong = |expected: &'static str| Error::WrongType {
        field: path.to_owned(),
        expected,
        spec,
    };
    match ty {
        Ty::Str => {
            if !value.is_string() {
                errors.push(wrong("a string"));
            }
        }
        Ty::Bool => {
            if !value.is_boolean() {
                errors.push(wrong("a boolean"));
            }
        }
        Ty::Id | Ty::Count => match value {
            Value::Number(n) if n.is_u64() => {}
            Value::Number(n) if n.is_i64() => {
                let value = n.as_i64().unwrap_or_default();
                errors.push(if matches!(ty, Ty::Id) {
                    Error::BadId {
                        field: path.to_owned(),
                        value,
                        spec,
                    }
                } else {
                    Error::NegativeCount {
                        field: path.to_owned(),
                        value,
                        spec,
                    }
                });
            }
            _ => errors.push(wrong("a non-negative integer")),
        },
        Ty::Time => match value {
            Value::String(s) if Timestamp::is_valid(s) => {}
            Value::String(s) => errors.push(Error::BadTimestamp {
                field: path.to_owned(),
                value: s.clone(),
                spec,
            }),
            _ => errors.push(wrong("an ISO 8601 timestamp string")),
        },
        Ty::MsgType => match value {
            Value::String(s) if s == "text" || s == "image" => {}
            Value::String(s) => errors.push(Error::InvalidMessageType {
                field: path.to_owned(),
                value: s.clone(),
            }),
            _ => errors.push(wrong("a string")),
        },
        Ty::SdpType => match value {
            Value::String(s)
                if ["offer", "answer", "pranswer", "rollback"].contains(&s.as_str()) => {}
            Value::String(s) => errors.push(Error::BadSdpType {
                field: path.to_owned(),
                value: s.clone(),
            }),
            _ => errors.push(wrong("a string")),
        },
        Ty::AnyObject => {
            if !value.is_object() {
                errors.push(wrong("an object"));
            }
        }
        Ty::Obj(fields) => match value.as_object() {
            Some(map) => check_fields(map, fields, path, spec, errors),
            None => errors.push(wrong("an object")),
        },
        Ty::Arr(inner) => match value.as_array() {
            Some(items) => {
                for (i, item) in items.iter().enumerate() {
                    walk(item, *inner, &format!("{path}[{i}]"), spec, errors);
                }
            }
            None => errors.push(wrong("an array")),
        },
    }
}

fn check_fields(
    map: &Map<String, Value>,
    fields: &[F],
    path: &str,
    spec: &'static str,
    errors: &mut Vec<Error>,
) {
    for &F(name, ty, need) in fields {
        let field = join(path, name);
        match map.get(name) {
            None if need == Req => errors.push(Error::MissingField { field, spec }),
            None => {}
            Some(Value::Null) if need == Null => {}
            Some(value) => walk(value, ty, &field, spec, errors),
        }
    }
}

/// The kind requested of `decode` / `validate`.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Sel {
    Infer,
    Client,
    Server,
    Envelope,
}

/// What a message was recognised as.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Which {
    Client(Action),
    Server(Action),
    Response(Action),
    Envelope,
}

#[derive(Clone, Copy)]
enum DataSpec {
    Required(&'static [F]),
    Optional(&'static [F]),
    OnSuccess(&'static [F]),
    AnyObject,
}

struct Shape {
    response: bool,
    data: DataSpec,
    spec: &'static str,
}

fn resolve(sel: Sel, action: &str, data: Option<&Value>) -> Result<Which, Error> {
    if sel == Sel::Envelope {
        return Ok(Which::Envelope);
    }
    let wrong_direction = |expected| Error::WrongDirection {
        action: action.to_owned(),
        expected,
    };
    if let Some(a) = Action::from_name(action) {
        return match (a.senders(), sel) {
            (Senders::Client, Sel::Server) => Err(wrong_direction(Direction::ServerToClient)),
            (Senders::Server, Sel::Client) => Err(wrong_direction(Direction::ClientToServer)),
            (Senders::Client, _) => Ok(Which::Client(a)),
            (Senders::Server, _) => Ok(Which::Server(a)),
            (Senders::Both, Sel::Client) => Ok(Which::Client(a)),
            (Senders::Both, Sel::Server) => Ok(Which::Server(a)),
            (Senders::Both, _) => {
                let data = data.and_then(Value::as_object);
                let has = |k: &str| data.is_some_and(|d| d.contains_key(k));
                match (has("target_user_id"), has("sender_user_id")) {
                    (true, true) => Err(Error::AmbiguousDirection {
                        action: action.to_owned(),
                    }),
                    (false, true) => Ok(Which::Server(a)),
                    _ => Ok(Which::Client(a)),
                }
            }
        };
    }
    if let Some(a) = action
        .strip_suffix("_RESPONSE")
        .and_then(Action::from_name)
        .filter(|a| a.is_request())
    {
        return if sel == Sel::Client {
            Err(wrong_direction(Direction::ClientToServer))
        } else {
            Ok(Which::Response(a))
        };
    }
    Err(Error::UnknownAction {
        action: action.to_owned(),
    })
}

fn shape(which: Which) -> Shape {
    use DataSpec::{AnyObject, OnSuccess, Optional, Required};
    let (response, data, spec) = match which {
        Which::Envelope => (false, AnyObject, S2_1),
        Which::Client(a) => match a {
            Action::Connect => (false, Required(CONNECT), S3_1),
            Action::Disconnect => (false, Optional(DISCONNECT), S3_2),
            Action::CreateRoom => (false, Required(CREATE_ROOM), S4_1),
            Action::JoinRoom => (false, Required(ROOM_REF), S4_2),
            Action::ExitRoom => (false, Required(ROOM_REF), S4_3),
            Action::RoomInfo => (false, Required(ROOM_REF), S4_4),
            Action::SendMessage => (false, Required(SEND_MESSAGE), S5_1),
            Action::CheckReceive => (false, Required(CHECK_RECEIVE), S5_3),
            Action::Invite => (false, Required(INVITE), S6_1),
            Action::CreateVideoRoom => (false, Required(CREATE_VIDEO_ROOM), S7_1),
            Action::JoinVideoRoom => (false, Required(VIDEO_ROOM_REF), S7_2),
            Action::Sdp => (false, Required(SDP), S7_3),
            Action::IceCandidate => (false, Required(ICE_CANDIDATE), S7_4),
            Action::MediaStatus => (false, Required(MEDIA_STATUS), S7_5),
            Action::ExitVideoRoom => (false, Required(VIDEO_ROOM_REF), S7_6),
            Action::GetVideoRoomParticipant => (false, Required(VIDEO_ROOM_REF), S7_7),
            _ => (false, AnyObject, S8_2),
        },
        Which::Server(a) => match a {
            Action::UserJoined => (false, Required(USER_JOINED), S4_2),
            Action::NewMessage => (false, Required(NEW_MESSAGE), S5_1),
            Action::InvitationReceived => (false, Required(INVITATION_RECEIVED), S6_1),
            Action::Sdp => (false, Required(SDP_RELAY), S7_3),
            Action::IceCandidate => (false, Required(ICE_CANDIDATE_RELAY), S7_4),
            Action::ParticipantMediaStatus => (false, Required(PARTICIPANT_MEDIA_STATUS), S7_5),
            Action::ServerAnnouncement => (false, Required(SERVER_ANNOUNCEMENT), S8_1),
            Action::Error => (true, Optional(ERROR_DATA), S9_1),
            _ => (false, AnyObject, S8_2),
        },
        Which::Response(a) => match a {
            Action::Connect => (true, OnSuccess(CONNECT_RESPONSE), S3_1),
            Action::CreateRoom => (true, OnSuccess(CREATE_ROOM_RESPONSE), S4_1),
            Action::JoinRoom => (true, OnSuccess(JOIN_ROOM_RESPONSE), S4_2),
            Action::ExitRoom => (true, OnSuccess(ROOM_REF), S4_3),
            Action::RoomInfo => (true, OnSuccess(ROOM_INFO_RESPONSE), S4_4),
            Action::SendMessage => (true, OnSuccess(SEND_MESSAGE_RESPONSE), S5_1),
            Action::CheckReceive => (true, OnSuccess(CHECK_RECEIVE_RESPONSE), S5_3),
            Action::Invite => (true, OnSuccess(INVITE_RESPONSE), S6_1),
            Action::CreateVideoRoom => (true, OnSuccess(CREATE_VIDEO_ROOM_RESPONSE), S7_1),
            Action::JoinVideoRoom => (true, OnSuccess(JOIN_VIDEO_ROOM_RESPONSE), S7_2),
            _ => (true, AnyObject, S2_3),
        },
    };
    Shape {
        response,
        data,
        spec,
    }
}

/// Rules that span fields: text length, image file, file size.
fn check_content(which: Which, data: &Map<String, Value>, errors: &mut Vec<Error>) {
    let is_chat = matches!(
        which,
        Which::Client(Action::SendMessage)
            | Which::Response(Action::SendMessage)
            | Which::Server(Action::NewMessage)
    );
    if !is_chat {
        return;
    }
    let message_type = data.get("message_type").and_then(Value::as_str);
    if message_type == Some("text") {
        if let Some(content) = data.get("content").and_then(Value::as_str) {
            let chars = content.chars().count();
            if chars > MAX_TEXT_CHARS {
                errors.push(Error::MessageTooLong {
                    field: "data.content".to_owned(),
                    chars,
                });
            }
        }
    }
    if message_type == Some("image")
        && which == Which::Client(Action::SendMessage)
        && !data.contains_key("file_info")
    {
        errors.push(Error::MissingField {
            field: "data.file_info".to_owned(),
            spec: S5_2,
        });
    }
    let size = data
        .get("file_info")
        .and_then(|f| f.get("file_size"))
        .and_then(Value::as_u64);
    if let Some(size) = size.filter(|s| *s > MAX_IMAGE_BYTES) {
        errors.push(Error::FileTooLarge {
            field: "data.file_info.file_size".to_owned(),
            size,
        });
    }
}

fn parse_kind(kind: Option<&str>) -> Result<Sel, Error> {
    match kind {
        None => Ok(Sel::Infer),
        Some("client") => Ok(Sel::Client),
        Some("server") => Ok(Sel::Server),
        Some("envelope") => Ok(Sel::Envelope),
        Some(other) => Err(Error::UnknownKind {
            kind: other.to_owned(),
        }),
    }
}

/// Checks `input` and builds the message when it breaks no rule.
fn analyze(kind: Option<&str>, input: &[u8], errors: &mut Vec<Error>) -> Option<Message> {
    let sel = match parse_kind(kind) {
        Ok(sel) => sel,
        Err(e) => {
            errors.push(e);
            return None;
        }
    };
    if input.len() > MAX_MESSAGE_BYTES {
        errors.push(Error::MessageTooLarge { size: input.len() });
    }
    let Ok(text) = std::str::from_utf8(input) else {
        errors.push(Error::InvalidUtf8);
        return None;
    };
    let value: Value = match serde_json::from_str(text) {
        Ok(v) => v,
        Err(e) => {
            errors.push(Error::InvalidJson(e.to_string()));
            return None;
        }
    };
    analyze_value(sel, value, errors)
}

fn analyze_value(sel: Sel, value: Value, errors: &mut Vec<Error>) -> Option<Message> {
    let Value::Object(mut obj) = value else {
        errors.push(Error::NotAnObject);
        return None;
    };
    let action = match obj.get("action") {
        None => {
            errors.push(Error::MissingField {
                field: "action".to_owned(),
                spec: S2_2,
            });
            None
        }
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => {
            walk(&obj["action"], Ty::Str, "action", S2_2, errors);
            None
        }
    };
    match obj.get("timestamp") {
        None => errors.push(Error::MissingField {
            field: "timestamp".to_owned(),
            spec: S2_2,
        }),
        Some(v) => walk(v, Ty::Time, "timestamp", S2_2, errors),
    }
    match obj.get("seq_id") {
        None => errors.push(Error::MissingField {
            field: "seq_id".to_owned(),
            spec: S2_2,
        }),
        Some(Value::String(s)) if s.is_empty() => errors.push(Error::EmptySeqId),
        Some(v) => walk(v, Ty::Str, "seq_id", S2_2, errors),
    }
    if let Some(v) = obj.get("user_id") {
        walk(v, Ty::Id, "user_id", S2_2, errors);
    }
    if let Some(v) = obj.get("session_id") {
        walk(v, Ty::Str, "session_id", S2_2, errors);
    }
    let action = action?;
    let which = match resolve(sel, &action, obj.get("data")) {
        Ok(w) => w,
        Err(e) => {
            errors.push(e);
            return None;
        }
    };
    let shape = shape(which);
    let response_fields = shape.response || which == Which::Envelope;
    let success = obj.get("success").and_then(Value::as_bool);
    if response_fields {
        let spec = if shape.response { shape.spec } else { S2_3 };
        let success_required = shape.response
            || (which == Which::Envelope && (action.ends_with("_RESPONSE") || action == "ERROR"));
        match obj.get("success") {
            None if success_required => errors.push(Error::MissingField {
                field: "success".to_owned(),
                spec,
            }),
            None => {}
            Some(v) => walk(v, Ty::Bool, "success", spec, errors),
        }
        if let Some(v) = obj.get("message") {
            walk(v, Ty::Str, "message", spec, errors);
        }
        match obj.get("error_code") {
            None if success == Some(false) => errors.push(Error::MissingField {
                field: "error_code".to_owned(),
                spec,
            }),
            None => {}
            Some(v) => walk(v, Ty::Str, "error_code", spec, errors),
        }
        if which == Which::Server(Action::Error) && success == Some(true) {
            errors.push(Error::ErrorWithSuccess);
        }
    }
    let (schema, data_required) = match shape.data {
        DataSpec::Required(f) => (Some(f), true),
        DataSpec::Optional(f) => (Some(f), false),
        DataSpec::OnSuccess(f) => (Some(f), success == Some(true)),
        DataSpec::AnyObject => (None, false),
    };
    match obj.get("data") {
        None if data_required => errors.push(Error::MissingField {
            field: "data".to_owned(),
            spec: shape.spec,
        }),
        None => {}
        Some(Value::Object(map)) => {
            if let Some(fields) = schema {
                check_fields(map, fields, "data", shape.spec, errors);
            }
            check_content(which, map, errors);
        }
        Some(_) => errors.push(Error::WrongType {
            field: "data".to_owned(),
            expected: "an object",
            spec: shape.spec,
        }),
    }
    if !errors.is_empty() {
        return None;
    }

    // Every rule holds: build the typed message.
    let timestamp = obj
        .remove("timestamp")
        .and_then(|v| v.as_str().and_then(Timestamp::parse));
    let seq_id = obj.remove("seq_id").and_then(|v| match v {
        Value::String(s) => Some(s),
        _ => None,
    });
    let user_id = obj.remove("user_id").and_then(|v| v.as_u64());
    let session_id = obj.remove("session_id").and_then(|v| match v {
        Value::String(s) => Some(s),
        _ => None,
    });
    obj.remove("action");
    let data = obj.remove("data");
    let head = if response_fields {
        Head {
            success: obj.remove("success").and_then(|v| v.as_bool()),
            message: obj.remove("message").and_then(|v| match v {
                Value::String(s) => Some(s),
                _ => None,
            }),
            error_code: obj
                .remove("error_code")
                .and_then(|v| v.as_str().map(AnyErrorCode::from)),
        }
    } else {
        Head::default()
    };
    let built = build_body(which, action, data, head);
    match (built, timestamp, seq_id) {
        (Ok(body), Some(timestamp), Some(seq_id)) => Some(Message {
            body,
            timestamp,
            seq_id,
            user_id,
            session_id,
            extra: obj,
        }),
        (Err(e), _, _) => {
            errors.push(Error::WrongType {
                field: "data".to_owned(),
                expected: "data of the documented shape",
                spec: shape.spec,
            });
            debug_assert!(false, "validated data failed to deserialize: {e}");
            None
        }
        _ => {
            errors.push(Error::WrongType {
                field: String::new(),
                expected: "an envelope of the documented shape",
                spec: S2_2,
            });
            None
        }
    }
}

#[derive(Default)]
struct Head {
    success: Option<bool>,
    message: Option<String>,
    error_code: Option<AnyErrorCode>,
}

fn de<T: DeserializeOwned>(data: Option<Value>) -> Result<T, serde_json::Error> {
    serde_json::from_value(data.unwrap_or(Value::Null))
}

fn de_opt<T: DeserializeOwned>(data: Option<Value>) -> Result<Option<T>, serde_json::Error> {
    data.map(serde_json::from_value).transpose()
}

fn build_body(
    which: Which,
    action: String,
    data: Option<Value>,
    head: Head,
) -> Result<Body, serde_json::Error> {
    macro_rules! response {
        ($variant:ident) => {
            Body::$variant(Response {
                success: head.success.unwrap_or_default(),
                message: head.message,
                error_code: head.error_code,
                data: de_opt(data)?,
            })
        };
    }
    Ok(match which {
        Which::Envelope => Body::Envelope(Envelope {
            action,
            success: head.success,
            message: head.message,
            error_code: head.error_code,
            data: de_opt(data)?,
        }),
        Which::Client(a) => match a {
            Action::Connect => Body::Connect(de(data)?),
            Action::Disconnect => Body::Disconnect(de_opt(data)?),
            Action::CreateRoom => Body::CreateRoom(de(data)?),
            Action::JoinRoom => Body::JoinRoom(de(data)?),
            Action::ExitRoom => Body::ExitRoom(de(data)?),
            Action::RoomInfo => Body::RoomInfo(de(data)?),
            Action::SendMessage => Body::SendMessage(de(data)?),
            Action::CheckReceive => Body::CheckReceive(de(data)?),
            Action::Invite => Body::Invite(de(data)?),
            Action::CreateVideoRoom => Body::CreateVideoRoom(de(data)?),
            Action::JoinVideoRoom => Body::JoinVideoRoom(de(data)?),
            Action::Sdp => Body::Sdp(de(data)?),
            Action::IceCandidate => Body::IceCandidate(de(data)?),
            Action::MediaStatus => Body::MediaStatus(de(data)?),
            Action::ExitVideoRoom => Body::ExitVideoRoom(de(data)?),
            Action::GetVideoRoomParticipant => Body::GetVideoRoomParticipant(de(data)?),
            _ => Body::Pong(de_opt(data)?),
        },
        Which::Server(a) => match a {
            Action::UserJoined => Body::UserJoined(de(data)?),
            Action::NewMessage => Body::NewMessage(de(data)?),
            Action::InvitationReceived => Body::InvitationReceived(de(data)?),
            Action::Sdp => Body::SdpRelay(de(data)?),
            Action::IceCandidate => Body::IceCandidateRelay(de(data)?),
            Action::ParticipantMediaStatus => Body::ParticipantMediaStatus(de(data)?),
            Action::ServerAnnouncement => Body::ServerAnnouncement(de(data)?),
            Action::Error => response!(Error),
            _ => Body::Ping(de_opt(data)?),
        },
        Which::Response(a) => match a {
            Action::Connect => response!(ConnectResponse),
            Action::CreateRoom => response!(CreateRoomResponse),
            Action::JoinRoom => response!(JoinRoomResponse),
            Action::ExitRoom => response!(ExitRoomResponse),
            Action::RoomInfo => response!(RoomInfoResponse),
            Action::SendMessage => response!(SendMessageResponse),
            Action::CheckReceive => response!(CheckReceiveResponse),
            Action::Invite => response!(InviteResponse),
            Action::CreateVideoRoom => response!(CreateVideoRoomResponse),
            Action::JoinVideoRoom => response!(JoinVideoRoomResponse),
            request => Body::GenericResponse {
                request,
                response: Response {
                    success: head.success.unwrap_or_default(),
                    message: head.message,
                    error_code: head.error_code,
                    data: de_opt(data)?,
                },
            },
        },
    })
}

// ---------------------------------------------------------------------------
// The dialect
// ---------------------------------------------------------------------------

/// The ASSA codec: kinds `client`, `server`, `envelope` or none (see the module docs).
pub struct Assa;

impl Dialect for Assa {
    const PROTOCOL: Protocol = Protocol::Assa;
    type Message = Message;
    type Error = Error;

    fn decode(kind: Option<&str>, input: &[u8]) -> Result<Message, Error> {
        let mut errors = Vec::new();
        let message = analyze(kind, input, &mut errors);
        match (errors.into_iter().next(), message) {
            (Some(e), _) => Err(e),
            (None, Some(m)) => Ok(m),
            (None, None) => Err(Error::InvalidJson("unreadable message".to_owned())),
        }
    }

    fn encode(message: &Message) -> Vec<u8> {
        serde_json::to_vec(message).unwrap_or_default()
    }

    fn validate(kind: Option<&str>, input: &[u8]) -> Vec<Violation> {
        let mut errors = Vec::new();
        let message = analyze(kind, input, &mut errors);
        if errors.is_empty() && message.is_none() {
            errors.push(Error::InvalidJson("unreadable message".to_owned()));
        }
        errors.iter().map(Error::to_violation).collect()
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

pub mod framing {
    //! Message boundaries on the ASSA TCP stream, which the document leaves
    //! unsaid (specs/README.md, silent spots: assa framing).
    //!
    //! - [`Framing::JsonStream`] (the default): a stream of JSON objects,
    //!   newline-delimited or simply concatenated, with any JSON whitespace
    //!   between them. [`encode`] writes one object per line (`\n`).
    //! - [`Framing::LengthPrefixed`]: each JSON message preceded by its length
    //!   in bytes, 4 bytes big-endian.
    //!
    //! The [`Decoder`] is incremental and sans-IO, for servers and clients
    //! alike: [`Decoder::feed`] the bytes read, then call
    //! [`Decoder::next_frame`] until it returns `Ok(None)` ("need more
    //! bytes"). It scans every byte once (position, nesting depth and string
    //! state are kept between feeds), so the work is linear in the stream.
    //!
    //! A frame over the limit ([`limits::MAX_MESSAGE_BYTES`](super::limits::MAX_MESSAGE_BYTES)
    //! unless configured) is refused with `frame-too-large` before more than
    //! the limit is buffered: in a JSON stream as soon as the value not yet
    //! complete is longer than the limit, with a length prefix as soon as the
    //! header announces more. Drained after every feed, the decoder holds at
    //! most the limit plus the chunk just fed.
    //!
    //! Errors are final. A JSON stream has no reliable resynchronisation
    //! point, so after a malformed value (one that `serde_json` refuses, a
    //! top-level value that is not an object, or an oversized one) the decoder
    //! returns the same error from every later call and drops what it is fed;
    //! the peer is expected to send an `ERROR` if it can and close the
    //! connection. With a length prefix the frames are handed out unparsed
    //! (a malformed payload does not break the framing, and `decode` reports
    //! it); only an oversized announcement is final.

    use super::{limits::MAX_MESSAGE_BYTES, Error, Message};

    /// How messages are delimited on the stream.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
    pub enum Framing {
        /// JSON objects one after another, newline-delimited or concatenated.
        #[default]
        JsonStream,
        /// A 4-byte big-endian length, then that many bytes of JSON.
        LengthPrefixed,
    }

    /// The bytes of one message on the wire: a JSON line, or a length prefix and the JSON.
    pub fn encode(framing: Framing, message: &Message) -> Vec<u8> {
        encode_payload(framing, &serde_json::to_vec(message).unwrap_or_default())
    }

    /// Frames an already encoded JSON payload (for fuzzers and raw tests).
    /// A payload over 4 GiB cannot be length-prefixed; its prefix is clamped.
    pub fn encode_payload(framing: Framing, payload: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(payload.len() + 4);
        match framing {
            Framing::JsonStream => {
                out.extend_from_slice(payload);
                out.push(b'\n');
            }
            Framing::LengthPrefixed => {
                let len = u32::try_from(payload.len()).unwrap_or(u32::MAX);
                out.extend_from_slice(&len.to_be_bytes());
                out.extend_from_slice(payload);
            }
        }
        out
    }

    /// An incremental frame decoder.
    #[derive(Debug, Clone)]
    pub struct Decoder {
        framing: Framing,
        max_frame: usize,
        buf: Vec<u8>,
        /// Stream offset of `buf[0]`.
        base: u64,
        /// Start of the bytes not yet handed out (a frame in progress, or whitespace).
        start: usize,
        /// JSON stream: next byte to scan.
        pos: usize,
        /// JSON stream: nesting depth of the value in progress (0 between values).
        depth: usize,
        /// JSON stream: inside a string.
        in_string: bool,
        /// JSON stream: the previous byte was a backslash inside a string.
        escape: bool,
        /// Length prefix: the announced length of the frame in progress.
        want: Option<usize>,
        failed: Option<Error>,
    }

    impl Decoder {
        /// A decoder refusing frames over [`limits::MAX_MESSAGE_BYTES`](super::limits::MAX_MESSAGE_BYTES).
        pub fn new(framing: Framing) -> Self {
            Decoder::with_max_frame(framing, MAX_MESSAGE_BYTES)
        }

        /// A decoder refusing frames over `max_frame` bytes of JSON.
        pub fn with_max_frame(framing: Framing, max_frame: usize) -> Self {
            Decoder {
                framing,
                max_frame,
                buf: Vec::new(),
                base: 0,
                start: 0,
                pos: 0,
                depth: 0,
                in_string: false,
                escape: false,
                want: None,
                failed: None,
            }
        }

        /// The framing read.
        pub fn framing(&self) -> Framing {
            self.framing
        }

        /// The frame limit in bytes.
        pub fn max_frame(&self) -> usize {
            self.max_frame
        }

        /// Bytes held: the frame in progress and what was fed since (after a
        /// feed, frames already handed out are no longer held).
        pub fn buffered(&self) -> usize {
            self.buf.len()
        }

        /// The error that stopped the decoder, if any.
        pub fn error(&self) -> Option<&Error> {
            self.failed.as_ref()
        }

        /// Stream offset of the first byte not yet handed out in a frame
        /// (where a failed or truncated frame begins).
        pub fn unread_offset(&self) -> u64 {
            self.base + self.start as u64
        }

        /// Adds bytes read from the stream. Ignored once the decoder has failed.
        pub fn feed(&mut self, bytes: &[u8]) {
            if self.failed.is_some() {
                return;
            }
            if self.start > 0 {
                self.buf.drain(..self.start);
                self.base += self.start as u64;
                self.pos = self.pos.saturating_sub(self.start);
                self.start = 0;
            }
            self.buf.extend_from_slice(bytes);
        }

        /// The next complete frame's bytes (JSON, without delimiter or prefix);
        /// `Ok(None)` when more bytes are needed; `Err` when the stream is broken.
        pub fn next_frame(&mut self) -> Result<Option<Vec<u8>>, Error> {
            Ok(self
                .next_span()?
                .map(|(offset, len)| {
                    let start = (offset - self.base) as usize;
                    self.buf.get(start..start + len).map(<[u8]>::to_vec)
                })
                .and_then(|frame| frame))
        }

        /// Like [`Decoder::next_frame`], but gives the frame's stream offset and
        /// length; its bytes stay readable until the next feed.
        pub fn next_span(&mut self) -> Result<Option<(u64, usize)>, Error> {
            if let Some(e) = &self.failed {
                return Err(e.clone());
            }
            let result = match self.framing {
                Framing::JsonStream => self.scan_json(),
                Framing::LengthPrefixed => self.scan_prefixed(),
            };
            if let Err(e) = &result {
                self.failed = Some(e.clone());
                self.buf.truncate(self.start);
                self.buf.shrink_to_fit();
            }
            result
        }

        fn too_large(&self, size: u64) -> Error {
            Error::FrameTooLarge {
                size,
                limit: self.max_frame,
            }
        }

        fn scan_json(&mut self) -> Result<Option<(u64, usize)>, Error> {
            while self.pos < self.buf.len() {
                let i = self.pos;
                let b = self.buf[i];
                self.pos += 1;
                if self.depth == 0 {
                    match b {
                        b' ' | b'\t' | b'\n' | b'\r' => self.start = self.pos,
                        b'{' => {
                            self.start = i;
                            self.depth = 1;
                        }
                        _ => {
                            self.start = i;
                            return Err(Error::NotAnObject);
                        }
                    }
                } else if self.in_string {
                    if self.escape {
                        self.escape = false;
                    } else if b == b'\\' {
                        self.escape = true;
                    } else if b == b'"' {
                        self.in_string = false;
                    }
                } else {
                    match b {
                        b'"' => self.in_string = true,
                        b'{' | b'[' => self.depth = self.depth.saturating_add(1),
                        b'}' | b']' => self.depth -= 1,
                        _ => {}
                    }
                }
                // Between values `start` follows `pos`, so `len` is the length of
                // the value in progress.
                let len = self.pos - self.start;
                if len > self.max_frame {
                    return Err(self.too_large(len as u64));
                }
                if self.depth == 0 && matches!(b, b'}' | b']') {
                    let frame = &self.buf[self.start..self.pos];
                    if let Err(e) = serde_json::from_slice::<serde::de::IgnoredAny>(frame) {
                        return Err(Error::InvalidJson(e.to_string()));
                    }
                    let span = (self.base + self.start as u64, len);
                    self.start = self.pos;
                    return Ok(Some(span));
                }
            }
            Ok(None)
        }

        fn scan_prefixed(&mut self) -> Result<Option<(u64, usize)>, Error> {
            let want = match self.want {
                Some(want) => want,
                None => {
                    let Some(header) = self.buf.get(self.start..self.start + 4) else {
                        return Ok(None);
                    };
                    let len = u32::from_be_bytes([header[0], header[1], header[2], header[3]]);
                    let len = len as usize;
                    if len > self.max_frame {
                        return Err(self.too_large(len as u64));
                    }
                    self.start += 4;
                    self.want = Some(len);
                    len
                }
            };
            if self.buf.len() - self.start < want {
                return Ok(None);
            }
            let span = (self.base + self.start as u64, want);
            self.start += want;
            self.want = None;
            Ok(Some(span))
        }
    }
}
