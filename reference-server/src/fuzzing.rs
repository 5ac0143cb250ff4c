//! Entry points for the cargo-fuzz targets of the reference server's state machines (`fuzz/`), quinn-proto style.
//!
//! [`assa_core`] reads an [`Arbitrary`] sequence of operations (connections
//! opened and closed, requests of every action with fuzzed fields, raw
//! frames, storage commits that succeed or fail, time) and drives the sans-IO
//! ASSA [`Core`] on a simulated clock, checking after every step: no panic;
//! every message it sends is a valid server message of the codec; every
//! request the harness sent with a `seq_id` is answered at most once, and
//! exactly once by the end when its connection is still open; a
//! `NEW_MESSAGE` goes only to members of its room; nothing goes to a
//! connection that was closed; the connection count stays that of the
//! connections open.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use arbitrary::{Arbitrary, Unstructured};
use protocols::assa::Assa;
use protocols::Dialect;
use serde_json::{json, Value};

use crate::assa::{AssaConfig, ConnId, Core, Output};
use crate::services::storage::{Snapshot, StorageError};
use crate::services::tokens::{Claims, Tokens};

/// Start of the simulated clock, Unix milliseconds.
const T0: u64 = 1_700_000_000_000;
/// Operations in one input; more are ignored.
const MAX_OPS: usize = 256;
/// Connections of one input.
const MAX_CONNS: u64 = 6;
/// Users the tokens are minted for.
const USERS: u64 = 3;

/// A small id, mostly one the server handed out.
#[derive(Arbitrary, Debug, Clone, Copy)]
enum Id {
    Small(u8),
    Huge(u64),
    Negative(i32),
}

impl Id {
    fn value(self) -> Value {
        match self {
            Id::Small(n) => json!(u64::from(n % 4) + 1),
            Id::Huge(n) => json!(n),
            Id::Negative(n) => json!(-i64::from(n).abs() - 1),
        }
    }
}

/// A request of the document, its fields chosen by the fuzzer.
#[derive(Arbitrary, Debug)]
enum Request {
    Connect {
        user: u8,
        valid: bool,
    },
    Disconnect,
    CreateRoom {
        name: String,
        open: bool,
        max: u8,
        invite: Vec<Id>,
    },
    JoinRoom(Id),
    ExitRoom(Id),
    RoomInfo(Id),
    SendMessage {
        room: Id,
        content: String,
        reply: Option<Id>,
    },
    CheckReceive {
        room: Id,
        messages: Vec<Id>,
    },
    Invite {
        room: Id,
        users: Vec<Id>,
    },
    CreateVideoRoom {
        room: Id,
        max: u8,
    },
    JoinVideoRoom(Id),
    Sdp {
        video: Id,
        target: Id,
        offer: bool,
    },
    IceCandidate {
        video: Id,
        target: Id,
    },
    MediaStatus {
        video: Id,
        audio: bool,
        camera: bool,
    },
    ExitVideoRoom(Id),
    GetVideoRoomParticipant(Id),
    Pong,
}

impl Request {
    fn action_and_data(&self, tokens: &[String]) -> (&'static str, Value) {
        match self {
            Request::Connect { user, valid } => {
                let token = if *valid {
                    tokens[usize::from(*user) % tokens.len()].clone()
                } else {
                    "not-a-token".to_owned()
                };
                ("CONNECT", json!({ "jwt_token": token }))
            }
            Request::Disconnect => ("DISCONNECT", json!({ "reason": "fuzz" })),
            Request::CreateRoom {
                name,
                open,
                max,
                invite,
            } => (
                "CREATE_ROOM",
                json!({
                    "name": name, "is_open": open, "max_participants": max,
                    "invited_user_ids": invite.iter().map(|i| i.value()).collect::<Vec<_>>(),
                }),
            ),
            Request::JoinRoom(room) => ("JOIN_ROOM", json!({ "room_id": room.value() })),
            Request::ExitRoom(room) => ("EXIT_ROOM", json!({ "room_id": room.value() })),
            Request::RoomInfo(room) => ("ROOM_INFO", json!({ "room_id": room.value() })),
            Request::SendMessage {
                room,
                content,
                reply,
            } => (
                "SEND_MESSAGE",
                json!({
                    "room_id": room.value(), "content": content, "message_type": "text",
                    "reply_to_message_id": reply.map(Id::value),
                }),
            ),
            Request::CheckReceive { room, messages } => (
                "CHECK_RECEIVE",
                json!({
                    "room_id": room.value(),
                    "message_ids": messages.iter().map(|i| i.value()).collect::<Vec<_>>(),
                }),
            ),
            Request::Invite { room, users } => (
                "INVITE",
                json!({
                    "room_id": room.value(),
                    "invited_user_ids": users.iter().map(|i| i.value()).collect::<Vec<_>>(),
                }),
            ),
            Request::CreateVideoRoom { room, max } => (
                "CREATE_VIDEO_ROOM",
                json!({ "chat_room_id": room.value(), "video_room_name": "v", "max_participants": max }),
            ),
            Request::JoinVideoRoom(v) => ("JOIN_VIDEO_ROOM", json!({ "video_room_id": v.value() })),
            Request::Sdp {
                video,
                target,
                offer,
            } => (
                "SDP",
                json!({
                    "video_room_id": video.value(), "target_user_id": target.value(),
                    "sdp_type": if *offer { "offer" } else { "answer" }, "sdp_data": "v=0",
                }),
            ),
            Request::IceCandidate { video, target } => (
                "ICE_CANDIDATE",
                json!({
                    "video_room_id": video.value(), "target_user_id": target.value(),
                    "candidate": "candidate:1", "sdp_mid": "0", "sdp_mline_index": 0,
                }),
            ),
            Request::MediaStatus {
                video,
                audio,
                camera,
            } => (
                "MEDIA_STATUS",
                json!({ "video_room_id": video.value(), "audio_enabled": audio, "video_enabled": camera }),
            ),
            Request::ExitVideoRoom(v) => ("EXIT_VIDEO_ROOM", json!({ "video_room_id": v.value() })),
            Request::GetVideoRoomParticipant(v) => (
                "GET_VIDEO_ROOM_PARTICIPANT",
                json!({ "video_room_id": v.value() }),
            ),
            Request::Pong => ("PONG", Value::Null),
        }
    }
}

/// What happens to the ASSA server.
#[derive(Arbitrary, Debug)]
enum AssaOp {
    Open,
    Close(u8),
    Request(u8, Request),
    /// A frame that is not the harness's own request.
    Raw(u8, Vec<u8>),
    /// The oldest pending commit completes (or fails).
    Commit {
        fail: bool,
    },
    /// Milliseconds pass (times 100); the core ticks.
    Advance(u16),
}

#[derive(Arbitrary, Debug)]
struct AssaInput {
    ops: Vec<AssaOp>,
}

/// The harness around the core: the connections open, who they are, the
/// requests owed an answer and the commits pending.
struct Harness {
    core: Core,
    now: u64,
    open: BTreeSet<ConnId>,
    next_conn: ConnId,
    /// The user each authenticated connection is.
    users: HashMap<ConnId, u64>,
    /// seq_id → (connection, answers seen, whether exactly one is owed).
    requests: BTreeMap<String, (ConnId, usize, bool)>,
    /// Pending CONNECT requests: seq_id → user.
    connecting: HashMap<String, u64>,
    tickets: Vec<u64>,
    next_seq: u64,
}

impl Harness {
    fn apply(&mut self, outputs: Vec<Output>) {
        for output in outputs {
            match output {
                Output::Send { to, bytes } => {
                    let text = std::str::from_utf8(&bytes).expect("the server sent invalid UTF-8");
                    let payload = text.trim_end_matches('\n').as_bytes();
                    if let Err(e) = Assa::decode(Some("server"), payload) {
                        panic!("the server sent an invalid message ({e}): {text}");
                    }
                    let value: Value = serde_json::from_slice(payload).expect("json");
                    for conn in &to {
                        assert!(
                            self.open.contains(conn),
                            "a message to closed connection {conn}: {text}"
                        );
                    }
                    self.check_members(&to, &value);
                    self.note_answer(&to, &value);
                }
                Output::Close { conn, .. } => {
                    self.open.remove(&conn);
                    self.users.remove(&conn);
                    let out = self.core.closed(conn, self.now);
                    self.apply(out);
                }
                Output::Persist { ticket, .. } => self.tickets.extend(ticket),
            }
        }
    }

    /// `NEW_MESSAGE` goes to members of its room only.
    fn check_members(&self, to: &[ConnId], value: &Value) {
        if value["action"] != "NEW_MESSAGE" {
            return;
        }
        let Some(room) = value["data"]["room_id"].as_u64() else {
            return;
        };
        let members: BTreeSet<u64> = self
            .core
            .admin_room(room)
            .map(|(_, members, _)| members.iter().map(|m| m.user_id).collect())
            .unwrap_or_default();
        for conn in to {
            let user = self.users.get(conn);
            assert!(
                user.is_some_and(|u| members.contains(u)),
                "NEW_MESSAGE of room {room} to connection {conn} (user {user:?}), not a member"
            );
        }
    }

    fn note_answer(&mut self, to: &[ConnId], value: &Value) {
        let Some(action) = value["action"].as_str() else {
            return;
        };
        // A refused frame of a request is answered with an ERROR carrying its seq_id (§9.1).
        if !action.ends_with("_RESPONSE") && action != "ERROR" {
            return;
        }
        let Some(seq) = value["seq_id"].as_str() else {
            return;
        };
        if let Some((conn, answers, _)) = self.requests.get_mut(seq) {
            assert_eq!(to, [*conn], "the answer to {seq} went elsewhere");
            *answers += 1;
            assert_eq!(*answers, 1, "request {seq} answered twice");
            if action == "CONNECT_RESPONSE" && value["success"] == true {
                if let Some(user) = self.connecting.remove(seq) {
                    self.users.insert(*conn, user);
                }
            }
        }
    }

    fn pick(&self, n: u8) -> Option<ConnId> {
        let open: Vec<_> = self.open.iter().copied().collect();
        (!open.is_empty()).then(|| open[usize::from(n) % open.len()])
    }
}

/// Fuzz target `assa_core`: the whole ASSA server, sans IO, under any
/// sequence of connections, requests, raw frames, commits and time.
pub fn assa_core(data: &[u8]) {
    let Ok(input) = AssaInput::arbitrary_take_rest(Unstructured::new(data)) else {
        return;
    };
    let secret = b"fuzz-secret";
    let tokens = Tokens::new(secret);
    let minted: Vec<String> = (1..=USERS)
        .map(|u| tokens.mint(&Claims::new(u, T0 / 1000, 3600)).expect("mint"))
        .collect();
    let config = AssaConfig {
        connect_timeout_ms: 3_000,
        ping_interval_ms: 2_000,
        pong_timeout_ms: 5_000,
        max_connections: 4,
        max_frame_bytes: 4096,
        ..AssaConfig::default()
    };
    let mut h = Harness {
        core: Core::new(config, tokens, Snapshot::default()),
        now: T0,
        open: BTreeSet::new(),
        next_conn: 1,
        users: HashMap::new(),
        requests: BTreeMap::new(),
        connecting: HashMap::new(),
        tickets: Vec::new(),
        next_seq: 1,
    };
    for op in input.ops.iter().take(MAX_OPS) {
        match op {
            AssaOp::Open => {
                if h.next_conn <= MAX_CONNS {
                    let conn = h.next_conn;
                    h.next_conn += 1;
                    h.open.insert(conn);
                    let out = h.core.open(conn, h.now);
                    h.apply(out);
                }
            }
            AssaOp::Close(n) => {
                if let Some(conn) = h.pick(*n) {
                    h.open.remove(&conn);
                    h.users.remove(&conn);
                    let out = h.core.closed(conn, h.now);
                    h.apply(out);
                }
            }
            AssaOp::Request(n, request) => {
                let Some(conn) = h.pick(*n) else { continue };
                let (action, data) = request.action_and_data(&minted);
                let seq = format!("fz-{}", h.next_seq);
                h.next_seq += 1;
                let mut msg = json!({
                    "action": action, "timestamp": "2024-01-01T12:00:00.000Z", "seq_id": seq,
                });
                if !data.is_null() {
                    msg["data"] = data;
                }
                if action != "PONG" {
                    let exactly = !matches!(action, "SDP" | "ICE_CANDIDATE" | "DISCONNECT");
                    h.requests.insert(seq.clone(), (conn, 0, exactly));
                }
                if let Request::Connect { user, valid: true } = request {
                    h.connecting.insert(seq, u64::from(*user) % USERS + 1);
                }
                let bytes = serde_json::to_vec(&msg).expect("encode");
                let out = h.core.frame(conn, &bytes, h.now);
                h.apply(out);
            }
            AssaOp::Raw(n, bytes) => {
                // A raw frame naming one of the harness's seq_ids would be a second request under it.
                if bytes.windows(3).any(|w| w == b"fz-") {
                    continue;
                }
                if let Some(conn) = h.pick(*n) {
                    let out = h.core.frame(conn, bytes, h.now);
                    h.apply(out);
                }
            }
            AssaOp::Commit { fail } => {
                if !h.tickets.is_empty() {
                    let ticket = h.tickets.remove(0);
                    let result = if *fail {
                        Err(StorageError::Database("fuzzed failure".to_owned()))
                    } else {
                        Ok(())
                    };
                    let out = h.core.committed(ticket, result, h.now);
                    h.apply(out);
                }
            }
            AssaOp::Advance(n) => {
                h.now += u64::from(*n) * 100;
                let out = h.core.tick(h.now, |_| false);
                h.apply(out);
            }
        }
        assert_eq!(
            h.core.connection_count(),
            h.open.len(),
            "the core counts other connections than are open: {:?}",
            h.open
        );
    }
    // Every commit completes; then every request of a connection still open has its answer.
    while !h.tickets.is_empty() {
        let ticket = h.tickets.remove(0);
        let out = h.core.committed(ticket, Ok(()), h.now);
        h.apply(out);
    }
    for (seq, (conn, answers, exactly)) in &h.requests {
        if *exactly && h.open.contains(conn) {
            assert_eq!(
                *answers, 1,
                "request {seq} on open connection {conn} never answered"
            );
        }
    }
}
