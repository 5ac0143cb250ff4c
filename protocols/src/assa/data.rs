//! The typed `data` of every action, request, response and broadcast (§3–§9).

use super::*;

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
