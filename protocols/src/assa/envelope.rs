//! The envelope of §2.1 / §2.3: the actions, the [`Body`] of each, and the [`Message`] that carries it.

use super::*;

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
pub(super) enum Senders {
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

    pub(super) fn senders(self) -> Senders {
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
        let mut walker = crate::rules::Walker::new(S2_2);
        let message = analyze_value(Sel::Infer, value, &mut walker);
        match (message, walker.into_errors().first()) {
            (Some(message), None) => Ok(message),
            (_, Some(e)) => Err(serde::de::Error::custom(e)),
            (None, None) => Err(serde::de::Error::custom("invalid ASSA message")),
        }
    }
}
