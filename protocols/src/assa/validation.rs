//! Validation: the schema of every `data` shape, walked over `serde_json::Value` with the shared walker, and the typed message built once every rule holds.

use super::*;
use crate::rules;

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

#[derive(Clone, Copy)]
struct F(&'static str, Ty, Need);

use crate::rules::{CommonError, Need, Walker};
use Need::{Nullable, Optional, Required};

const IDS: Ty = Ty::Arr(&Ty::Id);
const DEVICE_INFO: &[F] = &[
    F("platform", Ty::Str, Optional),
    F("app_version", Ty::Str, Optional),
    F("device_id", Ty::Str, Optional),
];
const CONNECT: &[F] = &[
    F("jwt_token", Ty::Str, Required),
    F("device_info", Ty::Obj(DEVICE_INFO), Optional),
];
const RECONNECTION_INFO: &[F] = &[
    F("existing_rooms", IDS, Required),
    F("unread_messages", Ty::Count, Required),
];
const CONNECT_RESPONSE: &[F] = &[
    F("user_id", Ty::Id, Required),
    F("session_id", Ty::Str, Required),
    F("server_time", Ty::Time, Required),
    F("reconnection_info", Ty::Obj(RECONNECTION_INFO), Optional),
];
const DISCONNECT: &[F] = &[F("reason", Ty::Str, Optional)];
const CREATE_ROOM: &[F] = &[
    F("name", Ty::Str, Required),
    F("description", Ty::Str, Optional),
    F("is_open", Ty::Bool, Optional),
    F("max_participants", Ty::Count, Optional),
    F("invited_user_ids", IDS, Optional),
];
const PARTICIPANT: &[F] = &[
    F("user_id", Ty::Id, Required),
    F("nickname", Ty::Str, Required),
    F("role", Ty::Str, Required),
    F("joined_at", Ty::Time, Optional),
];
const PARTICIPANTS: Ty = Ty::Arr(&Ty::Obj(PARTICIPANT));
const CREATE_ROOM_RESPONSE: &[F] = &[
    F("room_id", Ty::Id, Required),
    F("name", Ty::Str, Required),
    F("description", Ty::Str, Optional),
    F("host_user_id", Ty::Id, Required),
    F("participants", PARTICIPANTS, Required),
    F("created_at", Ty::Time, Required),
];
const ROOM_REF: &[F] = &[F("room_id", Ty::Id, Required)];
const ROOM_SUMMARY: &[F] = &[
    F("name", Ty::Str, Required),
    F("description", Ty::Str, Optional),
    F("host_user_id", Ty::Id, Optional),
    F("participants_count", Ty::Count, Required),
];
const JOIN_ROOM_RESPONSE: &[F] = &[
    F("room_id", Ty::Id, Required),
    F("room_info", Ty::Obj(ROOM_SUMMARY), Required),
    F("participants", PARTICIPANTS, Required),
    F("recent_messages", Ty::Arr(&Ty::AnyObject), Optional),
];
const USER_JOINED: &[F] = &[
    F("room_id", Ty::Id, Required),
    F("user", Ty::Obj(PARTICIPANT), Required),
    F("participants_count", Ty::Count, Required),
];
const ROOM_INFO_RESPONSE: &[F] = &[
    F("room_id", Ty::Id, Required),
    F("name", Ty::Str, Required),
    F("description", Ty::Str, Optional),
    F("is_open", Ty::Bool, Required),
    F("host_user_id", Ty::Id, Required),
    F("participants_count", Ty::Count, Required),
    F("max_participants", Ty::Count, Required),
    F("created_at", Ty::Time, Required),
    F("participants", PARTICIPANTS, Required),
];
const FILE_INFO: &[F] = &[
    F("file_path", Ty::Str, Required),
    F("file_name", Ty::Str, Required),
    F("file_size", Ty::Count, Required),
    F("mime_type", Ty::Str, Required),
];
const SEND_MESSAGE: &[F] = &[
    F("room_id", Ty::Id, Required),
    F("content", Ty::Str, Required),
    F("message_type", Ty::MsgType, Required),
    F("reply_to_message_id", Ty::Id, Nullable),
    F("client_message_id", Ty::Str, Optional),
    F("file_info", Ty::Obj(FILE_INFO), Optional),
];
const SEND_MESSAGE_RESPONSE: &[F] = &[
    F("message_id", Ty::Id, Required),
    F("room_id", Ty::Id, Required),
    F("content", Ty::Str, Required),
    F("message_type", Ty::MsgType, Required),
    F("created_at", Ty::Time, Required),
    F("client_message_id", Ty::Str, Optional),
    F("reply_to_message_id", Ty::Id, Nullable),
    F("file_info", Ty::Obj(FILE_INFO), Optional),
];
const USER_REF: &[F] = &[
    F("user_id", Ty::Id, Required),
    F("nickname", Ty::Str, Required),
    F("profile_image", Ty::Str, Optional),
];
const NEW_MESSAGE: &[F] = &[
    F("message_id", Ty::Id, Required),
    F("room_id", Ty::Id, Required),
    F("content", Ty::Str, Required),
    F("message_type", Ty::MsgType, Required),
    F("user", Ty::Obj(USER_REF), Required),
    F("created_at", Ty::Time, Required),
    F("reply_to_message_id", Ty::Id, Nullable),
    F("file_info", Ty::Obj(FILE_INFO), Optional),
];
const CHECK_RECEIVE: &[F] = &[
    F("room_id", Ty::Id, Required),
    F("message_ids", IDS, Required),
];
const PENDING_MESSAGE: &[F] = &[
    F("message_id", Ty::Id, Required),
    F("content", Ty::Str, Required),
    F("user", Ty::Obj(USER_REF), Required),
    F("created_at", Ty::Time, Required),
    F("message_type", Ty::MsgType, Optional),
];
const CHECK_RECEIVE_RESPONSE: &[F] = &[
    F("room_id", Ty::Id, Required),
    F("received_messages", IDS, Required),
    F("failed_messages", IDS, Required),
    F(
        "pending_messages",
        Ty::Arr(&Ty::Obj(PENDING_MESSAGE)),
        Required,
    ),
];
const INVITE: &[F] = &[
    F("room_id", Ty::Id, Required),
    F("invited_user_ids", IDS, Required),
];
const INVITED_USER: &[F] = &[
    F("user_id", Ty::Id, Required),
    F("nickname", Ty::Str, Required),
    F("status", Ty::Str, Required),
];
const INVITE_RESPONSE: &[F] = &[
    F("room_id", Ty::Id, Required),
    F("invited_users", Ty::Arr(&Ty::Obj(INVITED_USER)), Required),
];
const INVITATION_RECEIVED: &[F] = &[
    F("room_id", Ty::Id, Required),
    F("room_info", Ty::Obj(ROOM_SUMMARY), Required),
    F("inviter", Ty::Obj(USER_REF), Required),
];
const CREATE_VIDEO_ROOM: &[F] = &[
    F("chat_room_id", Ty::Id, Required),
    F("video_room_name", Ty::Str, Optional),
    F("max_participants", Ty::Count, Optional),
];
const MEDIA_STATE: &[F] = &[
    F("audio_enabled", Ty::Bool, Required),
    F("video_enabled", Ty::Bool, Required),
];
const VIDEO_PARTICIPANT: &[F] = &[
    F("user_id", Ty::Id, Required),
    F("nickname", Ty::Str, Required),
    F("role", Ty::Str, Required),
    F("media_status", Ty::Obj(MEDIA_STATE), Required),
];
const VIDEO_PARTICIPANTS: Ty = Ty::Arr(&Ty::Obj(VIDEO_PARTICIPANT));
const CREATE_VIDEO_ROOM_RESPONSE: &[F] = &[
    F("video_room_id", Ty::Id, Required),
    F("video_room_name", Ty::Str, Optional),
    F("chat_room_id", Ty::Id, Required),
    F("host_user_id", Ty::Id, Required),
    F("participants", VIDEO_PARTICIPANTS, Required),
    F("max_participants", Ty::Count, Required),
    F("created_at", Ty::Time, Required),
];
const VIDEO_ROOM_REF: &[F] = &[F("video_room_id", Ty::Id, Required)];
const JOIN_VIDEO_ROOM_RESPONSE: &[F] = &[
    F("video_room_id", Ty::Id, Required),
    F("participants", VIDEO_PARTICIPANTS, Required),
];
const SDP: &[F] = &[
    F("video_room_id", Ty::Id, Required),
    F("target_user_id", Ty::Id, Required),
    F("sdp_type", Ty::SdpType, Required),
    F("sdp_data", Ty::Str, Required),
];
const SDP_RELAY: &[F] = &[
    F("video_room_id", Ty::Id, Required),
    F("sender_user_id", Ty::Id, Required),
    F("sdp_type", Ty::SdpType, Required),
    F("sdp_data", Ty::Str, Required),
];
const ICE_CANDIDATE: &[F] = &[
    F("video_room_id", Ty::Id, Required),
    F("target_user_id", Ty::Id, Required),
    F("candidate", Ty::Str, Required),
    F("sdp_mid", Ty::Str, Optional),
    F("sdp_mline_index", Ty::Count, Optional),
];
const ICE_CANDIDATE_RELAY: &[F] = &[
    F("video_room_id", Ty::Id, Required),
    F("sender_user_id", Ty::Id, Required),
    F("candidate", Ty::Str, Required),
    F("sdp_mid", Ty::Str, Optional),
    F("sdp_mline_index", Ty::Count, Optional),
];
const MEDIA_STATUS: &[F] = &[
    F("video_room_id", Ty::Id, Required),
    F("audio_enabled", Ty::Bool, Required),
    F("video_enabled", Ty::Bool, Required),
];
const PARTICIPANT_MEDIA_STATUS: &[F] = &[
    F("video_room_id", Ty::Id, Required),
    F("user_id", Ty::Id, Required),
    F("nickname", Ty::Str, Optional),
    F("audio_enabled", Ty::Bool, Required),
    F("video_enabled", Ty::Bool, Required),
];
const SERVER_ANNOUNCEMENT: &[F] = &[
    F("title", Ty::Str, Required),
    F("message", Ty::Str, Required),
    F("priority", Ty::Str, Optional),
    F("announcement_type", Ty::Str, Optional),
];
const ERROR_DATA: &[F] = &[
    F("original_action", Ty::Str, Optional),
    F("error_details", Ty::Str, Optional),
];

/// Records a codec error with the path of its field.
fn report(w: &mut Walker<Error>, error: Error) {
    let field = error.field();
    w.push(field, error);
}

fn walk(value: &Value, ty: Ty, path: &str, spec: &'static str, w: &mut Walker<Error>) {
    w.spec = spec;
    let field = || path.to_owned();
    match ty {
        Ty::Str => {
            if !value.is_string() {
                w.wrong_type(field(), "a string");
            }
        }
        Ty::Bool => {
            if !value.is_boolean() {
                w.wrong_type(field(), "a boolean");
            }
        }
        Ty::Id | Ty::Count => match value {
            Value::Number(n) if n.is_u64() => {}
            Value::Number(n) if n.is_i64() => {
                if matches!(ty, Ty::Id) {
                    w.common(CommonError::BadId {
                        field: field(),
                        found: n.to_string(),
                        spec,
                    });
                } else if let Some(value) = n.as_i64() {
                    report(
                        w,
                        Error::NegativeCount {
                            field: field(),
                            value,
                            spec,
                        },
                    );
                }
            }
            _ => w.wrong_type(field(), "a non-negative integer"),
        },
        Ty::Time => match value {
            Value::String(s) if Timestamp::is_valid(s) => {}
            Value::String(s) => report(
                w,
                Error::BadTimestamp {
                    field: field(),
                    value: s.clone(),
                    spec,
                },
            ),
            _ => w.wrong_type(field(), "an ISO 8601 timestamp string"),
        },
        Ty::MsgType => match value {
            Value::String(s) if s == "text" || s == "image" => {}
            Value::String(s) => report(
                w,
                Error::InvalidMessageType {
                    field: field(),
                    value: s.clone(),
                },
            ),
            _ => w.wrong_type(field(), "a string"),
        },
        Ty::SdpType => match value {
            Value::String(s)
                if ["offer", "answer", "pranswer", "rollback"].contains(&s.as_str()) => {}
            Value::String(s) => report(
                w,
                Error::BadSdpType {
                    field: field(),
                    value: s.clone(),
                },
            ),
            _ => w.wrong_type(field(), "a string"),
        },
        Ty::AnyObject => {
            w.object(value, path);
        }
        Ty::Obj(fields) => {
            if let Some(map) = w.object(value, path) {
                check_fields(map, fields, path, spec, w);
            }
        }
        Ty::Arr(inner) => match value.as_array() {
            Some(items) => {
                for (i, item) in items.iter().enumerate() {
                    walk(item, *inner, &rules::index(path, i), spec, w);
                }
            }
            None => w.wrong_type(field(), "an array"),
        },
    }
}

fn check_fields(
    map: &Map<String, Value>,
    fields: &[F],
    path: &str,
    spec: &'static str,
    w: &mut Walker<Error>,
) {
    for &F(name, ty, need) in fields {
        w.spec = spec;
        if let Some(value) = w.get(map, path, name, need) {
            walk(value, ty, &rules::join(path, name), spec, w);
        }
    }
}

/// The kind requested of `decode` / `validate`.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Sel {
    Infer,
    Client,
    Server,
    Envelope,
}

/// What a message was recognised as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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
fn check_content(which: Which, data: &Map<String, Value>, w: &mut Walker<Error>) {
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
                report(
                    w,
                    Error::MessageTooLong {
                        field: "data.content".to_owned(),
                        chars,
                    },
                );
            }
        }
    }
    if message_type == Some("image")
        && which == Which::Client(Action::SendMessage)
        && !data.contains_key("file_info")
    {
        w.common(CommonError::MissingField {
            field: "data.file_info".to_owned(),
            spec: S5_2,
        });
    }
    let size = data
        .get("file_info")
        .and_then(|f| f.get("file_size"))
        .and_then(Value::as_u64);
    if let Some(size) = size.filter(|s| *s > MAX_IMAGE_BYTES) {
        report(
            w,
            Error::FileTooLarge {
                field: "data.file_info.file_size".to_owned(),
                size,
            },
        );
    }
}

/// The kinds `decode` / `validate` take (see the module docs); no kind infers the direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `client`: a message a client sends.
    Client,
    /// `server`: a message a server sends.
    Server,
    /// `envelope`: only the envelope is checked.
    Envelope,
}

impl Kind {
    /// Every kind.
    pub const ALL: [Kind; 3] = [Kind::Client, Kind::Server, Kind::Envelope];

    /// The kind as written.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Client => "client",
            Kind::Server => "server",
            Kind::Envelope => "envelope",
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Kind {
    type Err = UnknownKind;
    fn from_str(s: &str) -> Result<Self, UnknownKind> {
        Kind::ALL
            .into_iter()
            .find(|k| k.name() == s)
            .ok_or_else(|| UnknownKind::new(s))
    }
}

fn parse_kind(kind: Option<&str>) -> Result<Sel, Error> {
    match kind.map(str::parse::<Kind>) {
        None => Ok(Sel::Infer),
        Some(Ok(Kind::Client)) => Ok(Sel::Client),
        Some(Ok(Kind::Server)) => Ok(Sel::Server),
        Some(Ok(Kind::Envelope)) => Ok(Sel::Envelope),
        Some(Err(e)) => Err(Error::UnknownKind { kind: e.kind }),
    }
}

/// Checks `input` and builds the message when it breaks no rule.
pub(super) fn analyze(kind: Option<&str>, input: &[u8], w: &mut Walker<Error>) -> Option<Message> {
    let sel = match parse_kind(kind) {
        Ok(sel) => sel,
        Err(e) => {
            report(w, e);
            return None;
        }
    };
    if input.len() > MAX_MESSAGE_BYTES {
        report(w, Error::MessageTooLarge { size: input.len() });
    }
    let Ok(text) = std::str::from_utf8(input) else {
        w.common(CommonError::InvalidUtf8 { spec: S1_1 });
        return None;
    };
    let value: Value = match serde_json::from_str(text) {
        Ok(v) => v,
        Err(e) => {
            w.common(CommonError::InvalidJson {
                reason: e.to_string(),
                spec: S1_1,
            });
            return None;
        }
    };
    analyze_value(sel, value, w)
}

pub(super) fn analyze_value(sel: Sel, value: Value, w: &mut Walker<Error>) -> Option<Message> {
    let Value::Object(mut obj) = value else {
        report(w, Error::NotAnObject);
        return None;
    };
    let action = match obj.get("action") {
        None => {
            w.common(CommonError::MissingField {
                field: "action".to_owned(),
                spec: S2_2,
            });
            None
        }
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => {
            walk(&obj["action"], Ty::Str, "action", S2_2, w);
            None
        }
    };
    match obj.get("timestamp") {
        None => w.common(CommonError::MissingField {
            field: "timestamp".to_owned(),
            spec: S2_2,
        }),
        Some(v) => walk(v, Ty::Time, "timestamp", S2_2, w),
    }
    match obj.get("seq_id") {
        None => w.common(CommonError::MissingField {
            field: "seq_id".to_owned(),
            spec: S2_2,
        }),
        Some(Value::String(s)) if s.is_empty() => w.common(CommonError::EmptyValue {
            field: "seq_id".to_owned(),
            spec: S2_2,
        }),
        Some(v) => walk(v, Ty::Str, "seq_id", S2_2, w),
    }
    if let Some(v) = obj.get("user_id") {
        walk(v, Ty::Id, "user_id", S2_2, w);
    }
    if let Some(v) = obj.get("session_id") {
        walk(v, Ty::Str, "session_id", S2_2, w);
    }
    let action = action?;
    let which = match resolve(sel, &action, obj.get("data")) {
        Ok(w) => w,
        Err(e) => {
            report(w, e);
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
            None if success_required => w.common(CommonError::MissingField {
                field: "success".to_owned(),
                spec,
            }),
            None => {}
            Some(v) => walk(v, Ty::Bool, "success", spec, w),
        }
        if let Some(v) = obj.get("message") {
            walk(v, Ty::Str, "message", spec, w);
        }
        match obj.get("error_code") {
            None if success == Some(false) => w.common(CommonError::MissingField {
                field: "error_code".to_owned(),
                spec,
            }),
            None => {}
            Some(v) => walk(v, Ty::Str, "error_code", spec, w),
        }
        if which == Which::Server(Action::Error) && success == Some(true) {
            report(w, Error::ErrorWithSuccess);
        }
    }
    let (schema, data_required) = match shape.data {
        DataSpec::Required(f) => (Some(f), true),
        DataSpec::Optional(f) => (Some(f), false),
        DataSpec::OnSuccess(f) => (Some(f), success == Some(true)),
        DataSpec::AnyObject => (None, false),
    };
    match obj.get("data") {
        None if data_required => w.common(CommonError::MissingField {
            field: "data".to_owned(),
            spec: shape.spec,
        }),
        None => {}
        Some(Value::Object(map)) => {
            if let Some(fields) = schema {
                check_fields(map, fields, "data", shape.spec, w);
            }
            check_content(which, map, w);
        }
        Some(_) => w.common(CommonError::WrongType {
            field: "data".to_owned(),
            expected: "an object",
            spec: shape.spec,
        }),
    }
    if !w.is_clean() {
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
            w.common(CommonError::WrongType {
                field: "data".to_owned(),
                expected: "data of the documented shape",
                spec: shape.spec,
            });
            debug_assert!(false, "validated data failed to deserialize: {e}");
            None
        }
        _ => {
            w.common(CommonError::WrongType {
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

/// The schemas above and the typed `data` structs of `data.rs` say the same thing:
/// for every action and direction, a `data` object with every schema field builds
/// the typed body; without a required field, or with any field of another type
/// (at any depth), it does not; without an optional field it still does.
#[cfg(test)]
mod shapes_agree {
    use super::*;

    fn sample(ty: Ty) -> Value {
        match ty {
            Ty::Str => Value::from("s"),
            Ty::Bool => Value::Bool(true),
            Ty::Id | Ty::Count => Value::from(1),
            Ty::Time => Value::from("2024-01-01T12:00:00.000Z"),
            Ty::MsgType => Value::from("text"),
            Ty::SdpType => Value::from("offer"),
            Ty::AnyObject => Value::Object(Map::new()),
            Ty::Obj(fields) => Value::Object(object(fields)),
            Ty::Arr(inner) => Value::Array(vec![sample(*inner)]),
        }
    }

    fn object(fields: &[F]) -> Map<String, Value> {
        fields
            .iter()
            .map(|F(name, ty, _)| ((*name).to_owned(), sample(*ty)))
            .collect()
    }

    /// A value of another JSON type than `ty` takes.
    fn wrong(ty: Ty) -> Value {
        match ty {
            Ty::Id | Ty::Count | Ty::Bool => Value::from("x"),
            _ => Value::from(7),
        }
    }

    /// Every one-field change of `map` (shaped by `fields`), with whether the
    /// typed struct must still accept it.
    fn mutations(
        fields: &[F],
        map: &Map<String, Value>,
    ) -> Vec<(String, Map<String, Value>, bool)> {
        let mut out = Vec::new();
        for &F(name, ty, need) in fields {
            let mut removed = map.clone();
            removed.remove(name);
            out.push((format!("without {name}"), removed, need != Need::Required));
            let mut retyped = map.clone();
            retyped.insert(name.to_owned(), wrong(ty));
            out.push((format!("{name} of another type"), retyped, false));
            let nested = match ty {
                Ty::Obj(sub) => Some((sub, false)),
                Ty::Arr(Ty::Obj(sub)) => Some((*sub, true)),
                _ => None,
            };
            if let Some((sub, in_array)) = nested {
                let inner = object(sub);
                for (what, changed, ok) in mutations(sub, &inner) {
                    let mut outer = map.clone();
                    let value = Value::Object(changed);
                    outer.insert(
                        name.to_owned(),
                        if in_array {
                            Value::Array(vec![value])
                        } else {
                            value
                        },
                    );
                    out.push((format!("{name}: {what}"), outer, ok));
                }
            }
        }
        out
    }

    fn builds(which: Which, data: Map<String, Value>) -> bool {
        let head = Head {
            success: Some(true),
            ..Head::default()
        };
        build_body(which, String::new(), Some(Value::Object(data)), head).is_ok()
    }

    #[test]
    fn for_every_action_and_direction() {
        let mut checked = 0;
        for action in Action::ALL {
            let mut whiches = vec![Which::Client(action), Which::Server(action)];
            if action.is_request() {
                whiches.push(Which::Response(action));
            }
            for which in whiches {
                let fields = match shape(which).data {
                    DataSpec::Required(f) | DataSpec::Optional(f) | DataSpec::OnSuccess(f) => f,
                    DataSpec::AnyObject => continue,
                };
                let full = object(fields);
                assert!(
                    builds(which, full.clone()),
                    "{action:?}: the full schema is refused"
                );
                for (what, data, ok) in mutations(fields, &full) {
                    assert_eq!(
                        builds(which, data),
                        ok,
                        "{action:?} ({which:?}): {what}: the typed data and the schema disagree"
                    );
                }
                checked += 1;
            }
        }
        assert!(checked >= 30, "only {checked} shapes checked");
    }
}
