//! The error codes of §9.2 (`error_code` on the wire).

use super::*;

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
