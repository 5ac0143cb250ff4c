//! The sans-IO ASSA server: sessions, rooms, membership, messages, receipts, invites and video rooms, driven by frames, commits and ticks at a given `now`.
//!
//! No tokio, no sockets, no clock. The driver calls:
//!
//! - [`Core::open`] when a connection is accepted, [`Core::closed`] when it is gone;
//! - [`Core::frame`] with each complete frame a connection sent,
//!   [`Core::stream_error`] when its stream cannot be read any more;
//! - [`Core::committed`] when a [`Output::Persist`] carrying a ticket has been
//!   committed (or failed);
//! - [`Core::tick`] every [`Core::tick_period_ms`], for PINGs and timeouts,
//!   with a way to tell whether input from a connection has arrived that
//!   it has not fed yet: a connection is not timed out with its CONNECT or
//!   PONG waiting to be read;
//! - [`Core::announce`] and the `admin_*` methods for the admin API.
//!
//! Each returns the [`Output`]s to carry out, in order. `now` is Unix
//! milliseconds; tests pass a simulated clock.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::Arc;

use protocols::assa::{
    framing::{self, Framing},
    Action, Assa, Body, CheckReceiveResponseData, ConnectResponseData, CreateRoomResponseData,
    CreateVideoRoomResponseData, Error as CodecError, ErrorCode, ErrorData, FileInfo,
    InvitationReceivedData, InviteResponseData, InvitedUser, JoinRoomResponseData,
    JoinVideoRoomResponseData, MediaState, Message, MessageType, NewMessageData, Participant,
    ParticipantMediaStatusData, PendingMessage, ReconnectionInfo, RoomInfoResponseData,
    RoomSummary, SendMessageResponseData, ServerAnnouncementData, Timestamp, UserJoinedData,
    UserRef, VideoParticipant,
};
use protocols::Dialect;
use serde::Serialize;
use serde_json::{json, Map, Value};

use super::config::{AssaConfig, AssaFault};
use crate::services::storage::{Member, Room, Snapshot, StorageError, StoredMessage, User, Write};
use crate::services::tokens::{TokenError, Tokens};

/// A connection, numbered by the driver.
pub type ConnId = u64;

/// Error codes outside §9.2 the server uses where the document names none (see the README).
pub mod extra_codes {
    /// A frame that is not a readable message: not JSON, not an object, a missing or mistyped field.
    pub const INVALID_MESSAGE: &str = "INVALID_MESSAGE";
    /// An action the document does not define, or one only a server sends.
    pub const UNKNOWN_ACTION: &str = "UNKNOWN_ACTION";
    /// A frame over the size limit (§10.1).
    pub const MESSAGE_TOO_LARGE: &str = "MESSAGE_TOO_LARGE";
    /// The connection limit (§10.1) is reached.
    pub const SERVER_FULL: &str = "SERVER_FULL";
    /// No CONNECT within the connection timeout (§10.2).
    pub const CONNECTION_TIMEOUT: &str = "CONNECTION_TIMEOUT";
    /// `reply_to_message_id` names no message of the room.
    pub const MESSAGE_NOT_FOUND: &str = "MESSAGE_NOT_FOUND";
    /// The message could not be stored.
    pub const STORAGE_FAILED: &str = "STORAGE_FAILED";
    /// CONNECT on a connection that is already authenticated.
    pub const ALREADY_CONNECTED: &str = "ALREADY_CONNECTED";
}
use extra_codes::*;

/// Why the server closes a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseReason {
    /// The client sent DISCONNECT.
    Disconnect,
    /// No CONNECT within the connection timeout.
    ConnectTimeout,
    /// No PONG within the PONG timeout.
    PongTimeout,
    /// The stream cannot be read any more (oversized or malformed frame).
    BadStream,
    /// The connection limit is reached.
    ServerFull,
}

/// What the driver must do.
#[derive(Debug, Clone, PartialEq)]
pub enum Output {
    /// Write these bytes (already framed) to each connection, in order with earlier sends.
    Send {
        /// The recipients.
        to: Vec<ConnId>,
        /// The framed message, encoded once for all of them.
        bytes: Arc<[u8]>,
    },
    /// Close the connection once what was sent before is written.
    Close {
        /// The connection.
        conn: ConnId,
        /// Why.
        reason: CloseReason,
    },
    /// Commit these writes; with a ticket, call [`Core::committed`] afterwards.
    Persist {
        /// The writes, in order.
        writes: Vec<Write>,
        /// Set when the core waits for the commit.
        ticket: Option<u64>,
    },
}

#[derive(Debug)]
struct Conn {
    opened_at: u64,
    session: Option<Session>,
    /// When a tick first put off the connection's due timeout because its
    /// input had arrived but was not read yet.
    put_off_since: Option<u64>,
}

#[derive(Debug)]
struct Session {
    user_id: u64,
    session_id: String,
    last_pong: u64,
    next_ping: u64,
}

#[derive(Debug)]
struct RoomState {
    room: Room,
    /// In joining order.
    members: Vec<Member>,
    invited: BTreeSet<u64>,
    /// Committed messages, in id order.
    messages: Vec<u64>,
}

impl RoomState {
    fn is_member(&self, user: u64) -> bool {
        self.members.iter().any(|m| m.user_id == user)
    }
}

#[derive(Debug)]
struct VideoRoom {
    id: u64,
    name: Option<String>,
    chat_room_id: u64,
    host_user_id: u64,
    max_participants: u64,
    created_at_ms: i64,
    /// `(user, media)`, in joining order.
    participants: Vec<(u64, MediaState)>,
}

/// A message waiting for its commit before it is acknowledged and delivered.
#[derive(Debug)]
struct PendingSend {
    message: StoredMessage,
    conn: ConnId,
    seq_id: String,
}

/// A failure answered to a request: an error code and a sentence.
struct Refusal {
    code: &'static str,
    message: String,
}

fn refuse(code: ErrorCode, message: impl Into<String>) -> Refusal {
    Refusal {
        code: code.as_str(),
        message: message.into(),
    }
}

type Handled = Result<(Value, &'static str), Refusal>;

/// The server's whole state.
pub struct Core {
    config: AssaConfig,
    framing: Framing,
    tokens: Tokens,
    conns: BTreeMap<ConnId, Conn>,
    /// Authenticated connections of each user.
    online: HashMap<u64, BTreeSet<ConnId>>,
    users: BTreeMap<u64, User>,
    rooms: BTreeMap<u64, RoomState>,
    messages: HashMap<u64, StoredMessage>,
    receipts: HashSet<(u64, u64)>,
    video_rooms: BTreeMap<u64, VideoRoom>,
    pending: HashMap<u64, PendingSend>,
    next_room: u64,
    next_message: u64,
    next_video_room: u64,
    next_ticket: u64,
    next_seq: u64,
    next_session: u64,
}

impl std::fmt::Debug for Core {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Core")
            .field("connections", &self.conns.len())
            .field("users", &self.users.len())
            .field("rooms", &self.rooms.len())
            .field("messages", &self.messages.len())
            .finish_non_exhaustive()
    }
}

impl Core {
    /// A server holding `snapshot` (what storage read back).
    pub fn new(config: AssaConfig, tokens: Tokens, snapshot: Snapshot) -> Self {
        let mut core = Core {
            framing: config.framing.into(),
            config,
            tokens,
            conns: BTreeMap::new(),
            online: HashMap::new(),
            users: BTreeMap::new(),
            rooms: BTreeMap::new(),
            messages: HashMap::new(),
            receipts: HashSet::new(),
            video_rooms: BTreeMap::new(),
            pending: HashMap::new(),
            next_room: 1,
            next_message: 1,
            next_video_room: 1,
            next_ticket: 1,
            next_seq: 1,
            next_session: 1,
        };
        for u in snapshot.users {
            core.users.insert(u.id, u);
        }
        for r in snapshot.rooms {
            core.next_room = core.next_room.max(r.id + 1);
            core.rooms.insert(
                r.id,
                RoomState {
                    room: r,
                    members: Vec::new(),
                    invited: BTreeSet::new(),
                    messages: Vec::new(),
                },
            );
        }
        for m in snapshot.members {
            if let Some(room) = core.rooms.get_mut(&m.room_id) {
                room.members.push(m);
            }
        }
        for (room_id, user_id) in snapshot.invites {
            if let Some(room) = core.rooms.get_mut(&room_id) {
                room.invited.insert(user_id);
            }
        }
        for m in snapshot.messages {
            core.next_message = core.next_message.max(m.id + 1);
            if let Some(room) = core.rooms.get_mut(&m.room_id) {
                room.messages.push(m.id);
            }
            core.messages.insert(m.id, m);
        }
        core.receipts.extend(snapshot.receipts);
        core
    }

    /// The configuration in force.
    pub fn config(&self) -> &AssaConfig {
        &self.config
    }

    /// The tokens CONNECT is checked against.
    pub fn tokens(&self) -> &Tokens {
        &self.tokens
    }

    /// How often the driver should call [`Core::tick`].
    pub fn tick_period_ms(&self) -> u64 {
        let c = &self.config;
        (c.connect_timeout_ms
            .min(c.ping_interval_ms)
            .min(c.pong_timeout_ms)
            / 10)
            .clamp(5, 1_000)
    }

    /// Connections open now.
    pub fn connection_count(&self) -> usize {
        self.conns.len()
    }

    fn fault(&self, f: AssaFault) -> bool {
        self.config.has_fault(f)
    }

    // -----------------------------------------------------------------------
    // Encoding
    // -----------------------------------------------------------------------

    fn push_seq(&mut self, prefix: &str) -> String {
        let n = self.next_seq;
        self.next_seq += 1;
        format!("{prefix}_{n:03}")
    }

    /// The `seq_id` of a response to `seq_id`: the same, unless the fault is on.
    fn echo_seq(&mut self, seq_id: &str) -> String {
        if self.fault(AssaFault::SkipSeqIdEcho) {
            self.push_seq("response")
        } else {
            seq_id.to_owned()
        }
    }

    fn encode(&self, envelope: &OutEnvelope<'_>) -> Arc<[u8]> {
        // Serializing these plain structs cannot fail; an empty object is
        // written if it ever did, rather than a panic.
        let payload = serde_json::to_vec(envelope).unwrap_or_else(|_| b"{}".to_vec());
        framing::encode_payload(self.framing, &payload).into()
    }

    fn response(&mut self, action: &str, seq_id: &str, now: u64, result: Handled) -> Arc<[u8]> {
        let seq_id = self.echo_seq(seq_id);
        let name = format!("{action}_RESPONSE");
        let (success, message, error_code, data) = match result {
            Ok((data, message)) => (true, message.to_owned(), None, Some(data)),
            Err(r) => (false, r.message, Some(r.code), None),
        };
        self.encode(&OutEnvelope {
            action: &name,
            success: Some(success),
            message: Some(&message),
            error_code,
            data,
            timestamp: ts(now),
            seq_id: &seq_id,
        })
    }

    fn error(
        &mut self,
        seq_id: &str,
        now: u64,
        code: &str,
        message: &str,
        original_action: Option<String>,
        details: String,
    ) -> Arc<[u8]> {
        let seq_id = self.echo_seq(seq_id);
        let data = ErrorData {
            original_action,
            error_details: Some(details),
            extra: Map::new(),
        };
        self.encode(&OutEnvelope {
            action: "ERROR",
            success: Some(false),
            message: Some(message),
            error_code: Some(code),
            data: Some(to_value(&data)),
            timestamp: ts(now),
            seq_id: &seq_id,
        })
    }

    fn push(&mut self, action: &str, prefix: &str, now: u64, data: Value) -> Arc<[u8]> {
        let seq_id = self.push_seq(prefix);
        self.encode(&OutEnvelope {
            action,
            success: None,
            message: None,
            error_code: None,
            data: Some(data),
            timestamp: ts(now),
            seq_id: &seq_id,
        })
    }

    // -----------------------------------------------------------------------
    // Connections
    // -----------------------------------------------------------------------

    /// A connection was accepted. Over the connection limit it is refused
    /// with an ERROR and closed.
    pub fn open(&mut self, conn: ConnId, now: u64) -> Vec<Output> {
        if self.conns.len() >= self.config.max_connections
            && !self.fault(AssaFault::NoConnectionCap)
        {
            let bytes = self.error(
                "server",
                now,
                SERVER_FULL,
                "the server is at its connection limit",
                None,
                format!(
                    "at most {} concurrent connections",
                    self.config.max_connections
                ),
            );
            return vec![
                Output::Send {
                    to: vec![conn],
                    bytes,
                },
                Output::Close {
                    conn,
                    reason: CloseReason::ServerFull,
                },
            ];
        }
        self.conns.insert(
            conn,
            Conn {
                opened_at: now,
                session: None,
                put_off_since: None,
            },
        );
        Vec::new()
    }

    /// The connection is gone (closed by either side, or cut off).
    pub fn closed(&mut self, conn: ConnId, _now: u64) -> Vec<Output> {
        let Some(c) = self.conns.remove(&conn) else {
            return Vec::new();
        };
        let Some(session) = c.session else {
            return Vec::new();
        };
        let user = session.user_id;
        if let Some(set) = self.online.get_mut(&user) {
            set.remove(&conn);
            if set.is_empty() {
                self.online.remove(&user);
            }
        }
        // A user with no connection left leaves every video room.
        if !self.online.contains_key(&user) {
            let rooms: Vec<u64> = self
                .video_rooms
                .values()
                .filter(|v| v.participants.iter().any(|(u, _)| *u == user))
                .map(|v| v.id)
                .collect();
            for id in rooms {
                self.leave_video_room(id, user);
            }
        }
        Vec::new()
    }

    /// The connection's stream broke: an ERROR, then close.
    pub fn stream_error(&mut self, conn: ConnId, error: &CodecError, now: u64) -> Vec<Output> {
        let code = match error {
            CodecError::FrameTooLarge { .. } | CodecError::MessageTooLarge { .. } => {
                MESSAGE_TOO_LARGE
            }
            _ => INVALID_MESSAGE,
        };
        let bytes = self.error(
            "unknown",
            now,
            code,
            "the stream cannot be read any further",
            None,
            error.to_string(),
        );
        let mut out = vec![
            Output::Send {
                to: vec![conn],
                bytes,
            },
            Output::Close {
                conn,
                reason: CloseReason::BadStream,
            },
        ];
        // Forget it now: nothing more is read from it, and its user is offline.
        out.extend(self.closed(conn, now));
        out
    }

    /// PINGs due, and connections past their timeouts (§10.2).
    ///
    /// The timeouts are the client's: no CONNECT, or no PONG, received in
    /// time. `unread(conn)` says whether input from `conn` has arrived that
    /// the driver has not fed yet (it is asked only of connections whose
    /// timeout is due); such a connection's timeout is put off, by at most
    /// that timeout once more, so that a busy server reads the CONNECT or
    /// PONG that came in time before it judges. Feed what was read first.
    pub fn tick(&mut self, now: u64, unread: impl Fn(ConnId) -> bool) -> Vec<Output> {
        let mut out = Vec::new();
        let mut ping_to = Vec::new();
        let mut timed_out = Vec::new();
        let (connect_timeout, interval, pong_timeout) = (
            self.config.connect_timeout_ms,
            self.config.ping_interval_ms.max(1),
            self.config.pong_timeout_ms,
        );
        let no_ping = self.fault(AssaFault::NoPing);
        let no_connect_timeout = self.fault(AssaFault::NoConnectTimeout);
        let no_pong_timeout = self.fault(AssaFault::NoPongTimeout);
        for (&id, c) in &mut self.conns {
            let due = match &c.session {
                None if !no_connect_timeout
                    && now.saturating_sub(c.opened_at) >= connect_timeout =>
                {
                    Some((CloseReason::ConnectTimeout, connect_timeout))
                }
                Some(s) if !no_pong_timeout && now.saturating_sub(s.last_pong) >= pong_timeout => {
                    Some((CloseReason::PongTimeout, pong_timeout))
                }
                _ => None,
            };
            if let Some((reason, timeout)) = due {
                if unread(id) {
                    let since = *c.put_off_since.get_or_insert(now);
                    if now.saturating_sub(since) < timeout {
                        continue;
                    }
                }
                timed_out.push((id, reason));
                continue;
            }
            c.put_off_since = None;
            if let Some(s) = &mut c.session {
                if now >= s.next_ping {
                    while s.next_ping <= now {
                        s.next_ping += interval;
                    }
                    if !no_ping {
                        ping_to.push(id);
                    }
                }
            }
        }
        for id in ping_to {
            let seq_id = self.push_seq("ping");
            let bytes = self.encode(&OutEnvelope {
                action: "PING",
                success: None,
                message: None,
                error_code: None,
                data: None,
                timestamp: ts(now),
                seq_id: &seq_id,
            });
            out.push(Output::Send {
                to: vec![id],
                bytes,
            });
        }
        for (id, reason) in timed_out {
            if reason == CloseReason::ConnectTimeout {
                let bytes = self.error(
                    "timeout",
                    now,
                    CONNECTION_TIMEOUT,
                    "no CONNECT within the connection timeout",
                    None,
                    format!("CONNECT must come within {connect_timeout} ms"),
                );
                out.push(Output::Send {
                    to: vec![id],
                    bytes,
                });
            }
            out.push(Output::Close { conn: id, reason });
            // Forget it now, so a later tick does not close it twice.
            out.extend(self.closed(id, now));
        }
        out
    }

    // -----------------------------------------------------------------------
    // Frames
    // -----------------------------------------------------------------------

    /// One complete frame from `conn`.
    pub fn frame(&mut self, conn: ConnId, bytes: &[u8], now: u64) -> Vec<Output> {
        if !self.conns.contains_key(&conn) {
            return Vec::new();
        }
        match Assa::decode(Some("client"), bytes) {
            Ok(message) => self.message(conn, message, now),
            Err(e) => self.refuse_frame(conn, bytes, &e, now),
        }
    }

    /// A frame the codec refused: a `<ACTION>_RESPONSE` failure when the rule
    /// has a §9.2 code and the action is a request, an ERROR otherwise.
    fn refuse_frame(
        &mut self,
        conn: ConnId,
        bytes: &[u8],
        e: &CodecError,
        now: u64,
    ) -> Vec<Output> {
        let raw: Option<Value> = serde_json::from_slice(bytes).ok();
        let field = |name: &str| {
            raw.as_ref()
                .and_then(|v| v.get(name))
                .and_then(Value::as_str)
                .map(str::to_owned)
        };
        let action_name = field("action");
        let seq_id = field("seq_id")
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| "unknown".to_owned());
        let action = action_name
            .as_deref()
            .and_then(Action::from_name)
            .filter(|a| a.is_request());
        let authenticated = self.session(conn).is_some();
        // An image without file_info cannot be uploaded (§5.2).
        let code = match e {
            CodecError::Common(protocols::rules::CommonError::MissingField { field, .. })
                if action == Some(Action::SendMessage) && field == "data.file_info" =>
            {
                Some(ErrorCode::FileUploadFailed)
            }
            // A CONNECT without a token (or data) is a failed authentication (§9.2), not an unreadable message.
            CodecError::Common(protocols::rules::CommonError::MissingField { field, .. })
                if action == Some(Action::Connect)
                    && !authenticated
                    && (field == "data" || field == "data.jwt_token") =>
            {
                Some(ErrorCode::AuthFailed)
            }
            _ => e.error_code(),
        };
        let bytes = match (action, code) {
            (Some(a), Some(code)) if authenticated || a == Action::Connect => {
                self.response(a.name(), &seq_id, now, Err(refuse(code, e.to_string())))
            }
            (Some(a), _) if !authenticated && a != Action::Connect => self.response(
                a.name(),
                &seq_id,
                now,
                Err(refuse(ErrorCode::AuthFailed, "CONNECT first")),
            ),
            _ => {
                let code = match e {
                    CodecError::UnknownAction { .. } | CodecError::WrongDirection { .. } => {
                        UNKNOWN_ACTION
                    }
                    CodecError::MessageTooLarge { .. } | CodecError::FrameTooLarge { .. } => {
                        MESSAGE_TOO_LARGE
                    }
                    _ => INVALID_MESSAGE,
                };
                self.error(
                    &seq_id,
                    now,
                    code,
                    "the message was not understood",
                    action_name,
                    e.to_violation().to_string(),
                )
            }
        };
        vec![Output::Send {
            to: vec![conn],
            bytes,
        }]
    }

    fn session(&self, conn: ConnId) -> Option<&Session> {
        self.conns.get(&conn).and_then(|c| c.session.as_ref())
    }

    fn send(to: Vec<ConnId>, bytes: Arc<[u8]>) -> Output {
        Output::Send { to, bytes }
    }

    fn message(&mut self, conn: ConnId, message: Message, now: u64) -> Vec<Output> {
        let action = message.action().into_owned();
        let seq_id = message.seq_id.clone();
        let Some(session) = self.session(conn) else {
            return match message.body {
                Body::Connect(data) => self.connect(conn, &seq_id, &data, now),
                Body::Pong(_) => Vec::new(),
                _ => {
                    let bytes = self.response(
                        &action,
                        &seq_id,
                        now,
                        Err(refuse(ErrorCode::AuthFailed, "CONNECT first")),
                    );
                    vec![Self::send(vec![conn], bytes)]
                }
            };
        };
        let (session_user, session_id) = (session.user_id, session.session_id.clone());
        // The session knows its user; a message claiming another one is refused
        // (specs/README.md, silent spots), and so is another session's id.
        let mut user = session_user;
        if let Err(e) = message.check_user_id(session_user) {
            if self.fault(AssaFault::TrustUserId) {
                user = message.user_id.unwrap_or(session_user);
            } else {
                return self.refuse_request(conn, &action, &seq_id, now, &e.to_string());
            }
        }
        if let Some(claimed) = &message.session_id {
            if *claimed != session_id {
                let why = format!("session_id {claimed:?} is not this connection's session");
                return self.refuse_request(conn, &action, &seq_id, now, &why);
            }
        }
        let mut out = Vec::new();
        let result = match message.body {
            Body::Pong(_) => {
                if let Some(Conn {
                    session: Some(s), ..
                }) = self.conns.get_mut(&conn)
                {
                    s.last_pong = now;
                }
                return out;
            }
            Body::Connect(_) => Err(Refusal {
                code: ALREADY_CONNECTED,
                message: "this connection is already authenticated".to_owned(),
            }),
            Body::Disconnect(_) => {
                let bytes = self.response(
                    &action,
                    &seq_id,
                    now,
                    Ok((json!({ "user_id": user }), "연결이 종료되었습니다")),
                );
                out.push(Self::send(vec![conn], bytes));
                out.push(Output::Close {
                    conn,
                    reason: CloseReason::Disconnect,
                });
                // The session ends with the answer, not when the socket is
                // torn down: an INVITE right after sees the user offline.
                out.extend(self.closed(conn, now));
                return out;
            }
            Body::CreateRoom(d) => self.create_room(user, d, now, &mut out),
            Body::JoinRoom(d) => self.join_room(user, d.room_id, now, &mut out),
            Body::ExitRoom(d) => self.exit_room(user, d.room_id, &mut out),
            Body::RoomInfo(d) => self.room_info(user, d.room_id),
            Body::SendMessage(d) => {
                match self.send_message(conn, user, &seq_id, d, now, &mut out) {
                    // Answered once committed.
                    Ok(None) => return out,
                    Ok(Some(ok)) => Ok(ok),
                    Err(r) => Err(r),
                }
            }
            Body::CheckReceive(d) => self.check_receive(user, d.room_id, &d.message_ids, &mut out),
            Body::Invite(d) => self.invite(user, d.room_id, &d.invited_user_ids, now, &mut out),
            Body::CreateVideoRoom(d) => self.create_video_room(user, d, now),
            Body::JoinVideoRoom(d) => self.join_video_room(user, d.video_room_id),
            Body::Sdp(d) => {
                let relay = json!({
                    "video_room_id": d.video_room_id,
                    "sender_user_id": user,
                    "sdp_type": d.sdp_type,
                    "sdp_data": d.sdp_data,
                });
                self.relay(
                    user,
                    d.video_room_id,
                    d.target_user_id,
                    "SDP",
                    "sdp_relay",
                    relay,
                    now,
                    &mut out,
                )
            }
            Body::IceCandidate(d) => {
                let mut relay = json!({
                    "video_room_id": d.video_room_id,
                    "sender_user_id": user,
                    "candidate": d.candidate,
                });
                if let Some(mid) = d.sdp_mid {
                    relay["sdp_mid"] = json!(mid);
                }
                if let Some(index) = d.sdp_mline_index {
                    relay["sdp_mline_index"] = json!(index);
                }
                self.relay(
                    user,
                    d.video_room_id,
                    d.target_user_id,
                    "ICE_CANDIDATE",
                    "ice_relay",
                    relay,
                    now,
                    &mut out,
                )
            }
            Body::MediaStatus(d) => self.media_status(user, d, now, &mut out),
            Body::ExitVideoRoom(d) => self.exit_video_room(user, d.video_room_id),
            Body::GetVideoRoomParticipant(d) => self.video_room_participants(user, d.video_room_id),
            // Kind `client` decodes nothing else; answer anything that slips through.
            _ => {
                let bytes = self.error(
                    &seq_id,
                    now,
                    UNKNOWN_ACTION,
                    "the message was not understood",
                    Some(action),
                    "not a client action".to_owned(),
                );
                out.push(Self::send(vec![conn], bytes));
                return out;
            }
        };
        let bytes = self.response(&action, &seq_id, now, result);
        // The answer goes before the broadcasts it caused.
        out.insert(0, Self::send(vec![conn], bytes));
        out
    }

    fn refuse_request(
        &mut self,
        conn: ConnId,
        action: &str,
        seq_id: &str,
        now: u64,
        why: &str,
    ) -> Vec<Output> {
        let bytes = if action == "PONG" {
            self.error(
                seq_id,
                now,
                ErrorCode::PermissionDenied.as_str(),
                "refused",
                Some(action.to_owned()),
                why.to_owned(),
            )
        } else {
            self.response(
                action,
                seq_id,
                now,
                Err(refuse(ErrorCode::PermissionDenied, why)),
            )
        };
        vec![Self::send(vec![conn], bytes)]
    }

    // -----------------------------------------------------------------------
    // §3 Authentication
    // -----------------------------------------------------------------------

    fn connect(
        &mut self,
        conn: ConnId,
        seq_id: &str,
        data: &protocols::assa::ConnectData,
        now: u64,
    ) -> Vec<Output> {
        let mut out = Vec::new();
        let verified = if self.fault(AssaFault::AcceptAnyToken) {
            self.tokens
                .verify(&data.jwt_token, now / 1000)
                .or_else(|e| match e {
                    TokenError::BadSignature | TokenError::Expired { .. } => {
                        unverified_claims(&data.jwt_token).ok_or(e)
                    }
                    e => Err(e),
                })
        } else {
            self.tokens.verify(&data.jwt_token, now / 1000)
        };
        let claims = match verified {
            Ok(c) => c,
            Err(e) => {
                let code = match e {
                    TokenError::Missing => ErrorCode::AuthFailed,
                    _ => ErrorCode::InvalidToken,
                };
                let bytes = self.response(
                    "CONNECT",
                    seq_id,
                    now,
                    Err(refuse(code, format!("인증에 실패했습니다: {e}"))),
                );
                out.push(Self::send(vec![conn], bytes));
                return out;
            }
        };
        let device = data
            .device_info
            .as_ref()
            .and_then(|d| d.device_id.as_deref());
        if let (Some(bound), Some(given)) = (claims.device.as_deref(), device) {
            if bound != given {
                let bytes = self.response(
                    "CONNECT",
                    seq_id,
                    now,
                    Err(refuse(
                        ErrorCode::AuthFailed,
                        format!("the token is for device {bound:?}, not {given:?}"),
                    )),
                );
                out.push(Self::send(vec![conn], bytes));
                return out;
            }
        }
        let Some(user_id) = claims.user_id() else {
            // verify() checks sub; kept as a refusal rather than a panic.
            let bytes = self.response(
                "CONNECT",
                seq_id,
                now,
                Err(refuse(ErrorCode::InvalidToken, "`sub` is not a user id")),
            );
            out.push(Self::send(vec![conn], bytes));
            return out;
        };
        // A valid token is the identity: a user never seen is created from its claims.
        if let std::collections::btree_map::Entry::Vacant(entry) = self.users.entry(user_id) {
            let user = User {
                id: user_id,
                nickname: claims
                    .nickname
                    .clone()
                    .unwrap_or_else(|| format!("user{user_id}")),
                profile_image: claims.profile_image.clone(),
            };
            entry.insert(user.clone());
            out.push(Output::Persist {
                writes: vec![Write::User(user)],
                ticket: None,
            });
        }
        let session_id = format!("session_{:x}{:04x}", now, self.next_session);
        self.next_session += 1;
        if let Some(c) = self.conns.get_mut(&conn) {
            c.session = Some(Session {
                user_id,
                session_id: session_id.clone(),
                last_pong: now,
                next_ping: now + self.config.ping_interval_ms,
            });
        }
        self.online.entry(user_id).or_default().insert(conn);
        let data = ConnectResponseData {
            user_id,
            session_id,
            server_time: ts(now),
            reconnection_info: Some(self.reconnection_info(user_id)),
            extra: Map::new(),
        };
        let bytes = self.response(
            "CONNECT",
            seq_id,
            now,
            Ok((to_value(&data), "연결이 성공적으로 설정되었습니다")),
        );
        out.insert(0, Self::send(vec![conn], bytes));
        out
    }

    /// The rooms `user` is in and how many of their messages `user` has not confirmed (§10.3).
    fn reconnection_info(&self, user: u64) -> ReconnectionInfo {
        let mut existing_rooms = Vec::new();
        let mut unread = 0;
        for (id, room) in &self.rooms {
            if room.is_member(user) {
                existing_rooms.push(*id);
                unread += self.unconfirmed(room, user).count() as u64;
            }
        }
        ReconnectionInfo {
            existing_rooms,
            unread_messages: unread,
            extra: Map::new(),
        }
    }

    /// Messages of `room` sent by others that `user` has not confirmed.
    fn unconfirmed<'a>(
        &'a self,
        room: &'a RoomState,
        user: u64,
    ) -> impl Iterator<Item = &'a StoredMessage> + 'a {
        room.messages
            .iter()
            .filter_map(|id| self.messages.get(id))
            .filter(move |m| m.user_id != user && !self.receipts.contains(&(user, m.id)))
    }

    // -----------------------------------------------------------------------
    // §4 Rooms
    // -----------------------------------------------------------------------

    fn nickname(&self, user: u64) -> String {
        self.users
            .get(&user)
            .map(|u| u.nickname.clone())
            .unwrap_or_else(|| format!("user{user}"))
    }

    fn user_ref(&self, user: u64) -> UserRef {
        UserRef {
            user_id: user,
            nickname: self.nickname(user),
            profile_image: self.users.get(&user).and_then(|u| u.profile_image.clone()),
            extra: Map::new(),
        }
    }

    fn participant(&self, m: &Member, joined_at: bool) -> Participant {
        Participant {
            user_id: m.user_id,
            nickname: self.nickname(m.user_id),
            role: m.role.clone(),
            joined_at: joined_at.then(|| Timestamp::from_unix_millis(m.joined_at_ms)),
            extra: Map::new(),
        }
    }

    /// Connections of the members of `room`, or of every session with the fault on.
    fn member_conns(&self, room: &RoomState, except_user: Option<u64>) -> Vec<ConnId> {
        let users: Vec<u64> = if self.fault(AssaFault::DeliverToNonMembers) {
            self.online.keys().copied().collect()
        } else {
            room.members.iter().map(|m| m.user_id).collect()
        };
        let mut conns: Vec<ConnId> = users
            .into_iter()
            .filter(|u| Some(*u) != except_user)
            .filter_map(|u| self.online.get(&u))
            .flatten()
            .copied()
            .collect();
        conns.sort_unstable();
        conns
    }

    fn user_conns(&self, user: u64) -> Vec<ConnId> {
        self.online
            .get(&user)
            .map(|s| s.iter().copied().collect())
            .unwrap_or_default()
    }

    fn room(&self, room_id: u64) -> Result<&RoomState, Refusal> {
        self.rooms
            .get(&room_id)
            .ok_or_else(|| refuse(ErrorCode::RoomNotFound, format!("no room {room_id}")))
    }

    fn member_room(&self, user: u64, room_id: u64) -> Result<&RoomState, Refusal> {
        let room = self.room(room_id)?;
        if room.is_member(user) {
            Ok(room)
        } else {
            Err(refuse(
                ErrorCode::UserNotInRoom,
                format!("user {user} is not in room {room_id}"),
            ))
        }
    }

    fn create_room(
        &mut self,
        user: u64,
        d: protocols::assa::CreateRoomData,
        now: u64,
        out: &mut Vec<Output>,
    ) -> Handled {
        let room = Room {
            id: self.next_room,
            name: d.name,
            description: d.description,
            is_open: d.is_open.unwrap_or(true),
            max_participants: d
                .max_participants
                .unwrap_or(self.config.default_max_participants)
                .max(1),
            host_user_id: user,
            created_at_ms: ms(now),
        };
        self.next_room += 1;
        let host = Member {
            room_id: room.id,
            user_id: user,
            role: "host".to_owned(),
            joined_at_ms: ms(now),
        };
        let invited: BTreeSet<u64> = d
            .invited_user_ids
            .unwrap_or_default()
            .into_iter()
            .filter(|u| *u != user)
            .collect();
        let mut writes = vec![Write::Room(room.clone()), Write::Member(host.clone())];
        writes.extend(invited.iter().map(|&u| Write::Invite {
            room_id: room.id,
            user_id: u,
        }));
        out.push(Output::Persist {
            writes,
            ticket: None,
        });
        let data = CreateRoomResponseData {
            room_id: room.id,
            name: room.name.clone(),
            description: room.description.clone(),
            host_user_id: user,
            participants: vec![self.participant(&host, false)],
            created_at: Timestamp::from_unix_millis(room.created_at_ms),
            extra: Map::new(),
        };
        let id = room.id;
        self.rooms.insert(
            id,
            RoomState {
                room,
                members: vec![host],
                invited: invited.clone(),
                messages: Vec::new(),
            },
        );
        for u in invited {
            self.send_invitation(id, user, u, now, out);
        }
        Ok((to_value(&data), "채팅방이 생성되었습니다"))
    }

    fn send_invitation(
        &mut self,
        room_id: u64,
        inviter: u64,
        user: u64,
        now: u64,
        out: &mut Vec<Output>,
    ) {
        let conns = self.user_conns(user);
        if conns.is_empty() {
            return;
        }
        let Some(room) = self.rooms.get(&room_id) else {
            return;
        };
        let data = InvitationReceivedData {
            room_id,
            room_info: RoomSummary {
                name: room.room.name.clone(),
                description: room.room.description.clone(),
                host_user_id: None,
                participants_count: room.members.len() as u64,
                extra: Map::new(),
            },
            inviter: self.user_ref(inviter),
            extra: Map::new(),
        };
        let bytes = self.push("INVITATION_RECEIVED", "invitation", now, to_value(&data));
        out.push(Self::send(conns, bytes));
    }

    fn join_room(&mut self, user: u64, room_id: u64, now: u64, out: &mut Vec<Output>) -> Handled {
        let lax = self.fault(AssaFault::IgnoreRoomPermissions);
        let room = self.room(room_id)?;
        let rejoin = room.is_member(user);
        if !rejoin {
            if !lax && !room.room.is_open && !room.invited.contains(&user) {
                return Err(refuse(
                    ErrorCode::PermissionDenied,
                    format!("room {room_id} is closed and user {user} is not invited"),
                ));
            }
            if !lax && room.members.len() as u64 >= room.room.max_participants {
                return Err(refuse(
                    ErrorCode::RoomFull,
                    format!("room {room_id} has {} participants", room.members.len()),
                ));
            }
            let member = Member {
                room_id,
                user_id: user,
                role: "member".to_owned(),
                joined_at_ms: ms(now),
            };
            out.push(Output::Persist {
                writes: vec![Write::Member(member.clone())],
                ticket: None,
            });
            if let Some(room) = self.rooms.get_mut(&room_id) {
                room.members.push(member);
            }
        }
        let room = self.room(room_id)?;
        let count = room.members.len() as u64;
        let participants: Vec<Participant> = room
            .members
            .iter()
            .map(|m| self.participant(m, false))
            .collect();
        let skip = room
            .messages
            .len()
            .saturating_sub(self.config.recent_messages);
        let recent: Vec<Map<String, Value>> = room.messages[skip..]
            .iter()
            .filter_map(|id| self.messages.get(id))
            .map(|m| match to_value(&self.new_message_data(m)) {
                Value::Object(map) => map,
                _ => Map::new(),
            })
            .collect();
        let data = JoinRoomResponseData {
            room_id,
            room_info: RoomSummary {
                name: room.room.name.clone(),
                description: room.room.description.clone(),
                host_user_id: Some(room.room.host_user_id),
                participants_count: count,
                extra: Map::new(),
            },
            participants,
            recent_messages: Some(recent),
            extra: Map::new(),
        };
        if !rejoin && !self.fault(AssaFault::NoUserJoined) {
            let others = self.member_conns(room, Some(user));
            let joined = room.members.iter().find(|m| m.user_id == user).cloned();
            if let (false, Some(joined)) = (others.is_empty(), joined) {
                let broadcast = UserJoinedData {
                    room_id,
                    user: self.participant(&joined, false),
                    participants_count: count,
                    extra: Map::new(),
                };
                let bytes = self.push("USER_JOINED", "broadcast", now, to_value(&broadcast));
                out.push(Self::send(others, bytes));
            }
        }
        Ok((to_value(&data), "채팅방에 참가했습니다"))
    }

    fn exit_room(&mut self, user: u64, room_id: u64, out: &mut Vec<Output>) -> Handled {
        self.member_room(user, room_id)?;
        if let Some(room) = self.rooms.get_mut(&room_id) {
            room.members.retain(|m| m.user_id != user);
        }
        out.push(Output::Persist {
            writes: vec![Write::RemoveMember {
                room_id,
                user_id: user,
            }],
            ticket: None,
        });
        let videos: Vec<u64> = self
            .video_rooms
            .values()
            .filter(|v| v.chat_room_id == room_id)
            .map(|v| v.id)
            .collect();
        for v in videos {
            self.leave_video_room(v, user);
        }
        Ok((json!({ "room_id": room_id }), "채팅방에서 나갔습니다"))
    }

    fn room_info(&self, user: u64, room_id: u64) -> Handled {
        let room = self.room(room_id)?;
        if !room.room.is_open && !room.is_member(user) && !room.invited.contains(&user) {
            return Err(refuse(
                ErrorCode::PermissionDenied,
                format!("room {room_id} is closed"),
            ));
        }
        let data = RoomInfoResponseData {
            room_id,
            name: room.room.name.clone(),
            description: room.room.description.clone(),
            is_open: room.room.is_open,
            host_user_id: room.room.host_user_id,
            participants_count: room.members.len() as u64,
            max_participants: room.room.max_participants,
            created_at: Timestamp::from_unix_millis(room.room.created_at_ms),
            participants: room
                .members
                .iter()
                .map(|m| self.participant(m, true))
                .collect(),
            extra: Map::new(),
        };
        Ok((to_value(&data), "채팅방 정보입니다"))
    }

    // -----------------------------------------------------------------------
    // §5 Messages
    // -----------------------------------------------------------------------

    fn new_message_data(&self, m: &StoredMessage) -> NewMessageData {
        NewMessageData {
            message_id: m.id,
            room_id: m.room_id,
            content: m.content.clone(),
            message_type: message_type(&m.message_type),
            user: self.user_ref(m.user_id),
            created_at: Timestamp::from_unix_millis(m.created_at_ms),
            reply_to_message_id: Some(m.reply_to_message_id),
            file_info: file_info(m),
            extra: Map::new(),
        }
    }

    /// `Ok(None)`: the answer waits for the commit.
    fn send_message(
        &mut self,
        conn: ConnId,
        user: u64,
        seq_id: &str,
        d: protocols::assa::SendMessageData,
        now: u64,
        out: &mut Vec<Output>,
    ) -> Result<Option<(Value, &'static str)>, Refusal> {
        self.member_room(user, d.room_id)?;
        if d.message_type == MessageType::Image {
            match &d.file_info {
                None => {
                    return Err(refuse(
                        ErrorCode::FileUploadFailed,
                        "an image needs file_info",
                    ))
                }
                Some(f) if !f.mime_type.to_ascii_lowercase().starts_with("image/") => {
                    return Err(refuse(
                        ErrorCode::FileUploadFailed,
                        format!("{:?} is not an image type", f.mime_type),
                    ))
                }
                Some(f) if f.file_size > protocols::assa::limits::MAX_IMAGE_BYTES => {
                    return Err(refuse(
                        ErrorCode::FileUploadFailed,
                        "the image is over 10 MB",
                    ))
                }
                Some(_) => {}
            }
        }
        let reply_to = d.reply_to_message_id.flatten();
        if let Some(reply) = reply_to {
            if self.messages.get(&reply).map(|m| m.room_id) != Some(d.room_id) {
                return Err(Refusal {
                    code: MESSAGE_NOT_FOUND,
                    message: format!("message {reply} is not in room {}", d.room_id),
                });
            }
        }
        let message = StoredMessage {
            id: self.next_message,
            room_id: d.room_id,
            user_id: user,
            content: d.content,
            message_type: match d.message_type {
                MessageType::Text => "text",
                MessageType::Image => "image",
            }
            .to_owned(),
            file_info: d
                .file_info
                .as_ref()
                .and_then(|f| serde_json::to_string(f).ok()),
            reply_to_message_id: reply_to,
            client_message_id: d.client_message_id,
            created_at_ms: ms(now),
        };
        self.next_message += 1;
        let writes = vec![
            Write::Message(message.clone()),
            Write::Receipts {
                user_id: user,
                message_ids: vec![message.id],
            },
        ];
        let pending = PendingSend {
            message,
            conn,
            seq_id: seq_id.to_owned(),
        };
        if self.fault(AssaFault::AckBeforeCommit) {
            out.push(Output::Persist {
                writes,
                ticket: None,
            });
            out.extend(self.deliver(pending, now));
        } else {
            let ticket = self.next_ticket;
            self.next_ticket += 1;
            self.pending.insert(ticket, pending);
            out.push(Output::Persist {
                writes,
                ticket: Some(ticket),
            });
        }
        Ok(None)
    }

    /// The writes of `ticket` are committed (or failed): acknowledge and deliver the message.
    pub fn committed(
        &mut self,
        ticket: u64,
        result: Result<(), StorageError>,
        now: u64,
    ) -> Vec<Output> {
        let Some(pending) = self.pending.remove(&ticket) else {
            return Vec::new();
        };
        match result {
            Ok(()) => self.deliver(pending, now),
            Err(e) => {
                let bytes = self.response(
                    "SEND_MESSAGE",
                    &pending.seq_id,
                    now,
                    Err(Refusal {
                        code: STORAGE_FAILED,
                        message: format!("the message could not be stored: {e}"),
                    }),
                );
                if self.conns.contains_key(&pending.conn) {
                    vec![Self::send(vec![pending.conn], bytes)]
                } else {
                    Vec::new()
                }
            }
        }
    }

    fn deliver(&mut self, pending: PendingSend, now: u64) -> Vec<Output> {
        let m = pending.message;
        self.receipts.insert((m.user_id, m.id));
        let mut out = Vec::new();
        let data = SendMessageResponseData {
            message_id: m.id,
            room_id: m.room_id,
            content: m.content.clone(),
            message_type: message_type(&m.message_type),
            created_at: Timestamp::from_unix_millis(m.created_at_ms),
            client_message_id: m.client_message_id.clone(),
            reply_to_message_id: Some(m.reply_to_message_id),
            file_info: file_info(&m),
            extra: Map::new(),
        };
        if self.conns.contains_key(&pending.conn) {
            let bytes = self.response(
                "SEND_MESSAGE",
                &pending.seq_id,
                now,
                Ok((to_value(&data), "메시지가 전송되었습니다")),
            );
            out.push(Self::send(vec![pending.conn], bytes));
        }
        let broadcast = self.new_message_data(&m);
        let conns = self
            .rooms
            .get(&m.room_id)
            .map(|r| self.member_conns(r, None))
            .unwrap_or_default();
        if let Some(room) = self.rooms.get_mut(&m.room_id) {
            room.messages.push(m.id);
        }
        self.messages.insert(m.id, m);
        if !conns.is_empty() {
            let bytes = self.push("NEW_MESSAGE", "broadcast_msg", now, to_value(&broadcast));
            out.push(Self::send(conns, bytes));
        }
        out
    }

    fn check_receive(
        &mut self,
        user: u64,
        room_id: u64,
        ids: &[u64],
        out: &mut Vec<Output>,
    ) -> Handled {
        let room = self.member_room(user, room_id)?;
        let (received, failed): (Vec<u64>, Vec<u64>) = ids.iter().partition(|id| {
            self.messages
                .get(id)
                .is_some_and(|m| m.room_id == room_id && room.messages.binary_search(id).is_ok())
        });
        let new: Vec<u64> = received
            .iter()
            .copied()
            .filter(|id| !self.receipts.contains(&(user, *id)))
            .collect();
        if !new.is_empty() {
            self.receipts.extend(new.iter().map(|id| (user, *id)));
            out.push(Output::Persist {
                writes: vec![Write::Receipts {
                    user_id: user,
                    message_ids: new,
                }],
                ticket: None,
            });
        }
        let room = self.room(room_id)?;
        let pending: Vec<PendingMessage> = self
            .unconfirmed(room, user)
            .map(|m| PendingMessage {
                message_id: m.id,
                content: m.content.clone(),
                user: self.user_ref(m.user_id),
                created_at: Timestamp::from_unix_millis(m.created_at_ms),
                message_type: Some(message_type(&m.message_type)),
                extra: Map::new(),
            })
            .collect();
        let data = CheckReceiveResponseData {
            room_id,
            received_messages: received,
            failed_messages: failed,
            pending_messages: pending,
            extra: Map::new(),
        };
        Ok((to_value(&data), "수신 확인이 처리되었습니다"))
    }

    // -----------------------------------------------------------------------
    // §6 Invites
    // -----------------------------------------------------------------------

    fn invite(
        &mut self,
        user: u64,
        room_id: u64,
        ids: &[u64],
        now: u64,
        out: &mut Vec<Output>,
    ) -> Handled {
        self.member_room(user, room_id)?;
        let mut invited_users = Vec::new();
        let mut writes = Vec::new();
        let mut seen = HashSet::new();
        for &u in ids {
            if !seen.insert(u) {
                continue;
            }
            let online = self.online.contains_key(&u);
            if let Some(room) = self.rooms.get_mut(&room_id) {
                if room.invited.insert(u) {
                    writes.push(Write::Invite {
                        room_id,
                        user_id: u,
                    });
                }
            }
            invited_users.push(InvitedUser {
                user_id: u,
                nickname: self.nickname(u),
                status: if online { "invited" } else { "offline" }.to_owned(),
                extra: Map::new(),
            });
            if online {
                self.send_invitation(room_id, user, u, now, out);
            }
        }
        if !writes.is_empty() {
            out.insert(
                0,
                Output::Persist {
                    writes,
                    ticket: None,
                },
            );
        }
        let data = InviteResponseData {
            room_id,
            invited_users,
            extra: Map::new(),
        };
        Ok((to_value(&data), "사용자들이 초대되었습니다"))
    }

    // -----------------------------------------------------------------------
    // §7 Video rooms
    // -----------------------------------------------------------------------

    fn video_participants(&self, v: &VideoRoom) -> Vec<VideoParticipant> {
        v.participants
            .iter()
            .map(|(u, media)| VideoParticipant {
                user_id: *u,
                nickname: self.nickname(*u),
                role: if *u == v.host_user_id {
                    "host"
                } else {
                    "participant"
                }
                .to_owned(),
                media_status: media.clone(),
                extra: Map::new(),
            })
            .collect()
    }

    fn video_room(&self, id: u64) -> Result<&VideoRoom, Refusal> {
        self.video_rooms
            .get(&id)
            .ok_or_else(|| refuse(ErrorCode::VideoRoomNotFound, format!("no video room {id}")))
    }

    /// The video room, checked to be one `user` is in.
    fn in_video_room(&self, user: u64, id: u64) -> Result<&VideoRoom, Refusal> {
        let v = self.video_room(id)?;
        if v.participants.iter().any(|(u, _)| *u == user) {
            Ok(v)
        } else {
            Err(refuse(
                ErrorCode::UserNotInRoom,
                format!("user {user} is not in video room {id}"),
            ))
        }
    }

    fn create_video_room(
        &mut self,
        user: u64,
        d: protocols::assa::CreateVideoRoomData,
        now: u64,
    ) -> Handled {
        self.member_room(user, d.chat_room_id)?;
        let v = VideoRoom {
            id: self.next_video_room,
            name: d.video_room_name,
            chat_room_id: d.chat_room_id,
            host_user_id: user,
            max_participants: d
                .max_participants
                .unwrap_or(self.config.default_video_max_participants)
                .max(1),
            created_at_ms: ms(now),
            participants: Vec::new(),
        };
        self.next_video_room += 1;
        let data = CreateVideoRoomResponseData {
            video_room_id: v.id,
            video_room_name: v.name.clone(),
            chat_room_id: v.chat_room_id,
            host_user_id: user,
            participants: Vec::new(),
            max_participants: v.max_participants,
            created_at: Timestamp::from_unix_millis(v.created_at_ms),
            extra: Map::new(),
        };
        self.video_rooms.insert(v.id, v);
        Ok((to_value(&data), "영상회의 방이 생성되었습니다"))
    }

    fn join_video_room(&mut self, user: u64, id: u64) -> Handled {
        let v = self.video_room(id)?;
        self.member_room(user, v.chat_room_id)?;
        let already = v.participants.iter().any(|(u, _)| *u == user);
        if !already && v.participants.len() as u64 >= v.max_participants {
            return Err(refuse(
                ErrorCode::MaxParticipantsReached,
                format!("video room {id} has {} participants", v.participants.len()),
            ));
        }
        if !already {
            if let Some(v) = self.video_rooms.get_mut(&id) {
                v.participants.push((
                    user,
                    MediaState {
                        audio_enabled: true,
                        video_enabled: true,
                        extra: Map::new(),
                    },
                ));
            }
        }
        let v = self.video_room(id)?;
        let data = JoinVideoRoomResponseData {
            video_room_id: id,
            participants: self.video_participants(v),
            extra: Map::new(),
        };
        Ok((to_value(&data), "영상회의에 참가했습니다"))
    }

    #[allow(clippy::too_many_arguments)]
    fn relay(
        &mut self,
        user: u64,
        id: u64,
        target: u64,
        action: &str,
        prefix: &str,
        relay: Value,
        now: u64,
        out: &mut Vec<Output>,
    ) -> Handled {
        let lax = self.fault(AssaFault::RelayOutsideVideoRoom);
        let v = if lax {
            self.video_room(id)?
        } else {
            self.in_video_room(user, id)?
        };
        if !lax && !v.participants.iter().any(|(u, _)| *u == target) {
            return Err(refuse(
                ErrorCode::UserNotInRoom,
                format!("user {target} is not in video room {id}"),
            ));
        }
        let conns = self.user_conns(target);
        if !conns.is_empty() {
            let bytes = self.push(action, prefix, now, relay);
            out.push(Self::send(conns, bytes));
        }
        Ok((
            json!({ "video_room_id": id, "target_user_id": target }),
            "전달되었습니다",
        ))
    }

    fn media_status(
        &mut self,
        user: u64,
        d: protocols::assa::MediaStatusData,
        now: u64,
        out: &mut Vec<Output>,
    ) -> Handled {
        self.in_video_room(user, d.video_room_id)?;
        let mut others = Vec::new();
        if let Some(v) = self.video_rooms.get_mut(&d.video_room_id) {
            for (u, media) in &mut v.participants {
                if *u == user {
                    media.audio_enabled = d.audio_enabled;
                    media.video_enabled = d.video_enabled;
                } else {
                    others.push(*u);
                }
            }
        }
        let conns: Vec<ConnId> = others.iter().flat_map(|u| self.user_conns(*u)).collect();
        let broadcast = ParticipantMediaStatusData {
            video_room_id: d.video_room_id,
            user_id: user,
            nickname: Some(self.nickname(user)),
            audio_enabled: d.audio_enabled,
            video_enabled: d.video_enabled,
            extra: Map::new(),
        };
        if !conns.is_empty() {
            let bytes = self.push(
                "PARTICIPANT_MEDIA_STATUS",
                "media_broadcast",
                now,
                to_value(&broadcast),
            );
            out.push(Self::send(conns, bytes));
        }
        Ok((
            json!({
                "video_room_id": d.video_room_id,
                "audio_enabled": d.audio_enabled,
                "video_enabled": d.video_enabled,
            }),
            "미디어 상태가 변경되었습니다",
        ))
    }

    fn leave_video_room(&mut self, id: u64, user: u64) {
        let empty = match self.video_rooms.get_mut(&id) {
            Some(v) => {
                v.participants.retain(|(u, _)| *u != user);
                v.participants.is_empty()
            }
            None => false,
        };
        if empty {
            self.video_rooms.remove(&id);
        }
    }

    fn exit_video_room(&mut self, user: u64, id: u64) -> Handled {
        self.in_video_room(user, id)?;
        self.leave_video_room(id, user);
        Ok((json!({ "video_room_id": id }), "영상회의에서 나갔습니다"))
    }

    fn video_room_participants(&self, user: u64, id: u64) -> Handled {
        let v = self.video_room(id)?;
        self.member_room(user, v.chat_room_id)?;
        Ok((
            json!({ "video_room_id": id, "participants": to_value(&self.video_participants(v)) }),
            "영상회의 참가자 목록입니다",
        ))
    }

    // -----------------------------------------------------------------------
    // §8.1 and the admin API
    // -----------------------------------------------------------------------

    /// SERVER_ANNOUNCEMENT to every authenticated connection; also returns how many got it.
    pub fn announce(&mut self, data: &ServerAnnouncementData, now: u64) -> (Vec<Output>, usize) {
        let conns: Vec<ConnId> = self
            .conns
            .iter()
            .filter(|(_, c)| c.session.is_some())
            .map(|(id, _)| *id)
            .collect();
        if conns.is_empty() {
            return (Vec::new(), 0);
        }
        let n = conns.len();
        let bytes = self.push("SERVER_ANNOUNCEMENT", "announcement", now, to_value(data));
        (vec![Self::send(conns, bytes)], n)
    }

    /// Every user.
    pub fn admin_users(&self) -> Vec<User> {
        self.users.values().cloned().collect()
    }

    /// One user.
    pub fn admin_user(&self, id: u64) -> Option<User> {
        self.users.get(&id).cloned()
    }

    /// Creates or replaces a user.
    pub fn admin_put_user(&mut self, user: User) -> Vec<Output> {
        self.users.insert(user.id, user.clone());
        vec![Output::Persist {
            writes: vec![Write::User(user)],
            ticket: None,
        }]
    }

    /// Every room with its members.
    pub fn admin_rooms(&self) -> Vec<(Room, Vec<Member>)> {
        self.rooms
            .values()
            .map(|r| (r.room.clone(), r.members.clone()))
            .collect()
    }

    /// One room with its members and invited users.
    pub fn admin_room(&self, id: u64) -> Option<(Room, Vec<Member>, Vec<u64>)> {
        self.rooms.get(&id).map(|r| {
            (
                r.room.clone(),
                r.members.clone(),
                r.invited.iter().copied().collect(),
            )
        })
    }

    /// Creates a room hosted by `room.host_user_id` (its id is assigned here).
    pub fn admin_create_room(&mut self, mut room: Room, now: u64) -> (Room, Vec<Output>) {
        room.id = self.next_room;
        self.next_room += 1;
        room.max_participants = room.max_participants.max(1);
        let host = Member {
            room_id: room.id,
            user_id: room.host_user_id,
            role: "host".to_owned(),
            joined_at_ms: ms(now),
        };
        self.rooms.insert(
            room.id,
            RoomState {
                room: room.clone(),
                members: vec![host.clone()],
                invited: BTreeSet::new(),
                messages: Vec::new(),
            },
        );
        let out = vec![Output::Persist {
            writes: vec![Write::Room(room.clone()), Write::Member(host)],
            ticket: None,
        }];
        (room, out)
    }

    /// Adds `user` to a room (or changes their role). `None`: no such room.
    pub fn admin_add_member(
        &mut self,
        room_id: u64,
        user: u64,
        role: &str,
        now: u64,
    ) -> Option<Vec<Output>> {
        let room = self.rooms.get_mut(&room_id)?;
        let member = match room.members.iter_mut().find(|m| m.user_id == user) {
            Some(m) => {
                m.role = role.to_owned();
                m.clone()
            }
            None => {
                let m = Member {
                    room_id,
                    user_id: user,
                    role: role.to_owned(),
                    joined_at_ms: ms(now),
                };
                room.members.push(m.clone());
                m
            }
        };
        Some(vec![Output::Persist {
            writes: vec![Write::Member(member)],
            ticket: None,
        }])
    }

    /// Removes `user` from a room. `None`: no such room or member.
    pub fn admin_remove_member(&mut self, room_id: u64, user: u64) -> Option<Vec<Output>> {
        let room = self.rooms.get_mut(&room_id)?;
        let before = room.members.len();
        room.members.retain(|m| m.user_id != user);
        if room.members.len() == before {
            return None;
        }
        Some(vec![Output::Persist {
            writes: vec![Write::RemoveMember {
                room_id,
                user_id: user,
            }],
            ticket: None,
        }])
    }

    /// Whether `user` has an authenticated connection.
    pub fn is_online(&self, user: u64) -> bool {
        self.online.contains_key(&user)
    }
}

/// The envelope of every server message (§2.3, §9.1).
#[derive(Serialize)]
struct OutEnvelope<'a> {
    action: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    success: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error_code: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    data: Option<Value>,
    timestamp: Timestamp,
    seq_id: &'a str,
}

fn ts(now: u64) -> Timestamp {
    Timestamp::from_unix_millis(ms(now))
}

fn ms(now: u64) -> i64 {
    i64::try_from(now).unwrap_or(i64::MAX)
}

fn to_value<T: Serialize>(value: &T) -> Value {
    serde_json::to_value(value).unwrap_or(Value::Null)
}

fn message_type(s: &str) -> MessageType {
    if s == "image" {
        MessageType::Image
    } else {
        MessageType::Text
    }
}

fn file_info(m: &StoredMessage) -> Option<FileInfo> {
    m.file_info
        .as_deref()
        .and_then(|f| serde_json::from_str(f).ok())
}

/// The claims of a token read without checking signature or expiry (for the
/// `assa:accept-any-token` fault only).
fn unverified_claims(token: &str) -> Option<crate::services::tokens::Claims> {
    use base64::Engine;
    let payload = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    let claims: crate::services::tokens::Claims = serde_json::from_slice(&bytes).ok()?;
    claims.user_id().map(|_| claims)
}
