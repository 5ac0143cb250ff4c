//! Why an ASSA message or stream is refused: the error enum, its rule ids and the rule listing.

use super::*;
use crate::rules::{self, ids, CommonError, RuleInfo};

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
    /// A rule every codec shares: not UTF-8 or not JSON (§1.1: 문자 인코딩 UTF-8, 메시지
    /// 형식 JSON), a missing field, a wrong type, an empty `seq_id`, a negative id.
    #[error(transparent)]
    Common(#[from] CommonError),
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
            Error::Common(e) => e.rule(),
            Error::NotAnObject => ids::NOT_AN_OBJECT,
            Error::MessageTooLarge { .. } => "message-too-large",
            Error::FrameTooLarge { .. } => "frame-too-large",
            Error::BadTimestamp { .. } => "bad-timestamp",
            Error::NegativeCount { .. } => "negative-count",
            Error::UnknownAction { .. } => "unknown-action",
            Error::UnknownKind { .. } => ids::UNKNOWN_KIND,
            Error::WrongDirection { .. } => ids::WRONG_DIRECTION,
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
            Error::Common(e) => e.spec(),
            Error::NotAnObject => S2_1,
            Error::MessageTooLarge { .. }
            | Error::FrameTooLarge { .. }
            | Error::MessageTooLong { .. }
            | Error::FileTooLarge { .. } => S10_1,
            Error::BadTimestamp { spec, .. } | Error::NegativeCount { spec, .. } => spec,
            Error::UnknownAction { .. } => S2_2,
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
            Error::Common(e) => e.field().to_owned(),
            Error::BadTimestamp { field, .. }
            | Error::NegativeCount { field, .. }
            | Error::MessageTooLong { field, .. }
            | Error::InvalidMessageType { field, .. }
            | Error::FileTooLarge { field, .. }
            | Error::BadSdpType { field, .. } => field.clone(),
            Error::UnknownAction { .. }
            | Error::WrongDirection { .. }
            | Error::AmbiguousDirection { .. } => "action".to_owned(),
            Error::ErrorWithSuccess => "success".to_owned(),
            Error::UserMismatch { .. } => "user_id".to_owned(),
            Error::NotAnObject
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

/// Every rule an ASSA message or stream can break.
pub const RULES: &[RuleInfo] = &[
    rules::common(ids::INVALID_UTF8, S1_1),
    rules::common(ids::INVALID_JSON, S1_1),
    rules::common(ids::NOT_AN_OBJECT, S2_1),
    RuleInfo::new("message-too-large", S10_1, "the whole message is over 1 MB"),
    RuleInfo::new(
        "frame-too-large",
        S10_1,
        "a frame on the stream is over the limit; refused before more is buffered",
    ),
    rules::common(
        ids::MISSING_FIELD,
        "004_636ae579ed5d2364.txt (the action's section; §2.2 for the envelope)",
    ),
    rules::common(
        ids::WRONG_TYPE,
        "004_636ae579ed5d2364.txt (the action's section; §2.2 for the envelope)",
    ),
    RuleInfo::new(
        "bad-timestamp",
        S2_2,
        "a timestamp is not strict ISO 8601 (2024-01-01T12:00:00.000Z)",
    ),
    rules::common(ids::EMPTY_VALUE, S2_2),
    rules::common(
        ids::BAD_ID,
        "004_636ae579ed5d2364.txt (the action's section)",
    ),
    RuleInfo::new(
        "negative-count",
        "004_636ae579ed5d2364.txt (the action's section)",
        "a count, size or limit is a negative integer",
    ),
    RuleInfo::new(
        "unknown-action",
        S2_2,
        "`action` names no action of the document",
    ),
    rules::common(ids::UNKNOWN_KIND, S1_2),
    rules::common(ids::WRONG_DIRECTION, S1_2),
    RuleInfo::new(
        "ambiguous-direction",
        S7_3,
        "SDP / ICE_CANDIDATE data carries both target_user_id and sender_user_id",
    ),
    RuleInfo::new(
        "message-too-long",
        S10_1,
        "a text message's content is over 5,000 characters",
    ),
    RuleInfo::new(
        "invalid-message-type",
        S5_1,
        "`message_type` is neither text nor image",
    ),
    RuleInfo::new(
        "file-too-large",
        S10_1,
        "an image's file_size is over 10 MB",
    ),
    RuleInfo::new(
        "bad-sdp-type",
        S7_3,
        "`sdp_type` is not offer, answer, pranswer or rollback",
    ),
    RuleInfo::new(
        "error-with-success",
        S9_1,
        "an ERROR message says success: true",
    ),
    RuleInfo::new(
        "user-mismatch",
        README_USER_ID,
        "the message's user_id differs from the session's user",
    ),
];
