//! The ASSA core on a simulated clock: whole scenarios without sockets or sleeps.

use std::collections::{HashMap, HashSet};

use protocols::assa::Assa;
use protocols::Dialect;
use serde_json::{json, Value};

use super::config::{AssaConfig, AssaFault};
use super::core::{CloseReason, ConnId, Core, Output};
use crate::services::storage::{SqliteStore, Store};
use crate::services::tokens::{Claims, Tokens};

const T0: u64 = 1_700_000_000_000;

/// A core, a clock, the inbox of every connection, and a store that commits
/// what the core persists (held back while `hold` is set).
struct Sim {
    core: Core,
    now: u64,
    tokens: Tokens,
    inbox: HashMap<ConnId, Vec<Value>>,
    closed: Vec<(ConnId, CloseReason)>,
    store: SqliteStore,
    hold: bool,
    held: Vec<u64>,
    seq: u64,
    /// Connections whose input has arrived but is not fed yet (a busy driver's).
    unread: HashSet<ConnId>,
}

impl Sim {
    fn new(config: AssaConfig) -> Sim {
        let tokens = Tokens::new(b"test-secret");
        let store = SqliteStore::in_memory().expect("store");
        Sim::with(config, tokens, store)
    }

    fn with(config: AssaConfig, tokens: Tokens, mut store: SqliteStore) -> Sim {
        let snapshot = store.load().expect("load");
        Sim {
            core: Core::new(config, tokens.clone(), snapshot),
            now: T0,
            tokens,
            inbox: HashMap::new(),
            closed: Vec::new(),
            store,
            hold: false,
            held: Vec::new(),
            seq: 0,
            unread: HashSet::new(),
        }
    }

    /// A server started again on what this one stored.
    fn restart(self) -> Sim {
        let config = self.core.config().clone();
        Sim::with(config, self.tokens, self.store)
    }

    fn apply(&mut self, outputs: Vec<Output>) {
        for output in outputs {
            match output {
                Output::Send { to, bytes } => {
                    let text = std::str::from_utf8(&bytes).expect("utf-8");
                    assert!(text.ends_with('\n'), "one object per line: {text:?}");
                    let payload = text.trim_end().as_bytes();
                    if let Err(e) = Assa::decode(Some("server"), payload) {
                        panic!("the server sent an invalid message ({e}): {text}");
                    }
                    let value: Value = serde_json::from_slice(payload).expect("json");
                    for conn in to {
                        self.inbox.entry(conn).or_default().push(value.clone());
                    }
                }
                Output::Close { conn, reason } => self.closed.push((conn, reason)),
                Output::Persist { writes, ticket } => {
                    self.store.commit(&writes).expect("commit");
                    if let Some(ticket) = ticket {
                        if self.hold {
                            self.held.push(ticket);
                        } else {
                            let out = self.core.committed(ticket, Ok(()), self.now);
                            self.apply(out);
                        }
                    }
                }
            }
        }
    }

    fn release(&mut self) {
        self.hold = false;
        for ticket in std::mem::take(&mut self.held) {
            let out = self.core.committed(ticket, Ok(()), self.now);
            self.apply(out);
        }
    }

    fn open(&mut self, conn: ConnId) {
        let out = self.core.open(conn, self.now);
        self.apply(out);
    }

    fn close(&mut self, conn: ConnId) {
        let out = self.core.closed(conn, self.now);
        self.apply(out);
    }

    fn advance(&mut self, ms: u64) {
        self.now += ms;
        let unread = &self.unread;
        let out = self.core.tick(self.now, |conn| unread.contains(&conn));
        self.apply(out);
    }

    fn raw(&mut self, conn: ConnId, bytes: &[u8]) {
        let out = self.core.frame(conn, bytes, self.now);
        self.apply(out);
    }

    /// Sends `action` with `data` (and `extra` envelope fields); returns its seq_id.
    fn send(&mut self, conn: ConnId, action: &str, data: Value) -> String {
        self.send_with(conn, action, data, json!({}))
    }

    fn send_with(&mut self, conn: ConnId, action: &str, data: Value, extra: Value) -> String {
        self.seq += 1;
        let seq_id = format!("c{}", self.seq);
        let mut msg = json!({
            "action": action,
            "timestamp": "2024-01-01T12:00:00.000Z",
            "seq_id": seq_id,
        });
        if !data.is_null() {
            msg["data"] = data;
        }
        for (k, v) in extra.as_object().expect("object") {
            msg[k] = v.clone();
        }
        let bytes = serde_json::to_vec(&msg).expect("encode");
        self.raw(conn, &bytes);
        seq_id
    }

    fn take(&mut self, conn: ConnId) -> Vec<Value> {
        self.inbox.remove(&conn).unwrap_or_default()
    }

    /// The one message `conn` got; fails on none or several.
    fn one(&mut self, conn: ConnId) -> Value {
        let got = self.take(conn);
        assert_eq!(got.len(), 1, "expected one message for {conn}: {got:#?}");
        got.into_iter().next().expect("one")
    }

    fn token(&self, user: u64) -> String {
        self.tokens
            .mint(&Claims::new(user, T0 / 1000, 3600))
            .expect("mint")
    }

    /// Opens `conn` and authenticates it as `user`; returns CONNECT_RESPONSE.
    fn login(&mut self, conn: ConnId, user: u64) -> Value {
        self.open(conn);
        let token = self.token(user);
        self.send(conn, "CONNECT", json!({ "jwt_token": token }));
        let r = self.one(conn);
        assert_eq!(r["success"], true, "{r}");
        r
    }

    fn create_room(&mut self, conn: ConnId, data: Value) -> u64 {
        self.send(conn, "CREATE_ROOM", data);
        let r = self.one(conn);
        assert_eq!(r["success"], true, "{r}");
        r["data"]["room_id"].as_u64().expect("room_id")
    }
}

fn code(v: &Value) -> &str {
    v["error_code"].as_str().unwrap_or("")
}

#[test]
fn connect_creates_the_user_and_answers_with_the_session() {
    let mut sim = Sim::new(AssaConfig::default());
    sim.open(1);
    let token = sim.token(42);
    let seq = sim.send(
        1,
        "CONNECT",
        json!({ "jwt_token": token, "device_info": {"platform": "android"} }),
    );
    let r = sim.one(1);
    assert_eq!(r["action"], "CONNECT_RESPONSE");
    assert_eq!(r["seq_id"], seq.as_str());
    assert_eq!(r["data"]["user_id"], 42);
    assert!(r["data"]["session_id"]
        .as_str()
        .is_some_and(|s| !s.is_empty()));
    assert_eq!(r["data"]["reconnection_info"]["existing_rooms"], json!([]));
    assert_eq!(r["data"]["reconnection_info"]["unread_messages"], 0);
    assert_eq!(sim.core.admin_user(42).expect("user").nickname, "user42");
}

#[test]
fn bad_tokens_and_actions_before_connect_are_refused() {
    let mut sim = Sim::new(AssaConfig::default());
    sim.open(1);
    sim.send(1, "JOIN_ROOM", json!({ "room_id": 1 }));
    let r = sim.one(1);
    assert_eq!(
        (r["action"].as_str(), r["success"].as_bool()),
        (Some("JOIN_ROOM_RESPONSE"), Some(false))
    );
    assert_eq!(code(&r), "AUTH_FAILED");

    sim.send(1, "CONNECT", json!({ "jwt_token": "" }));
    assert_eq!(code(&sim.one(1)), "AUTH_FAILED");
    // No token at all is a refused CONNECT too, not an unreadable message.
    sim.send(
        1,
        "CONNECT",
        json!({ "device_info": { "platform": "android" } }),
    );
    let r = sim.one(1);
    assert_eq!(r["action"], "CONNECT_RESPONSE");
    assert_eq!(code(&r), "AUTH_FAILED");
    let other = Tokens::new(b"another")
        .mint(&Claims::new(1, T0 / 1000, 60))
        .expect("mint");
    sim.send(1, "CONNECT", json!({ "jwt_token": other }));
    assert_eq!(code(&sim.one(1)), "INVALID_TOKEN");
    let expired = sim
        .tokens
        .mint(&Claims::new(1, T0 / 1000 - 7200, 60))
        .expect("mint");
    sim.send(1, "CONNECT", json!({ "jwt_token": expired }));
    assert_eq!(code(&sim.one(1)), "INVALID_TOKEN");
    // Still unauthenticated, and the connection still works.
    let token = sim.token(1);
    sim.send(1, "CONNECT", json!({ "jwt_token": token }));
    assert_eq!(sim.one(1)["success"], true);
}

#[test]
fn a_user_id_that_is_not_the_sessions_is_refused() {
    let mut sim = Sim::new(AssaConfig::default());
    sim.login(1, 7);
    sim.send_with(
        1,
        "CREATE_ROOM",
        json!({ "name": "r" }),
        json!({ "user_id": 8 }),
    );
    let r = sim.one(1);
    assert_eq!(r["action"], "CREATE_ROOM_RESPONSE");
    assert_eq!(code(&r), "PERMISSION_DENIED");
    assert!(sim.core.admin_rooms().is_empty());
}

#[test]
fn with_the_fault_a_claimed_user_id_is_trusted() {
    let mut sim = Sim::new(AssaConfig {
        faults: vec![AssaFault::TrustUserId],
        ..AssaConfig::default()
    });
    sim.login(1, 7);
    sim.send_with(
        1,
        "CREATE_ROOM",
        json!({ "name": "r" }),
        json!({ "user_id": 8 }),
    );
    assert_eq!(sim.one(1)["data"]["host_user_id"], 8);
}

#[test]
fn join_broadcasts_user_joined_to_the_others_only() {
    let mut sim = Sim::new(AssaConfig::default());
    sim.login(1, 10);
    sim.login(2, 20);
    sim.login(3, 30);
    let room = sim.create_room(1, json!({ "name": "open", "is_open": true }));
    sim.send(2, "JOIN_ROOM", json!({ "room_id": room }));
    let r = sim.one(2);
    assert_eq!(r["action"], "JOIN_ROOM_RESPONSE");
    assert_eq!(r["data"]["room_info"]["participants_count"], 2);
    assert_eq!(r["data"]["participants"][0]["role"], "host");
    assert_eq!(r["data"]["participants"][1]["role"], "member");
    let joined = sim.one(1);
    assert_eq!(joined["action"], "USER_JOINED");
    assert_eq!(joined["data"]["user"]["user_id"], 20);
    assert!(sim.take(3).is_empty(), "a non-member got USER_JOINED");
    // Joining again succeeds with the current state and no broadcast.
    sim.send(2, "JOIN_ROOM", json!({ "room_id": room }));
    assert_eq!(sim.one(2)["success"], true);
    assert!(sim.take(1).is_empty());
}

#[test]
fn closed_full_and_missing_rooms_are_refused() {
    let mut sim = Sim::new(AssaConfig::default());
    sim.login(1, 10);
    sim.login(2, 20);
    sim.login(3, 30);
    let closed = sim.create_room(
        1,
        json!({ "name": "c", "is_open": false, "invited_user_ids": [20] }),
    );
    assert_eq!(sim.one(2)["action"], "INVITATION_RECEIVED");
    sim.send(3, "JOIN_ROOM", json!({ "room_id": closed }));
    assert_eq!(code(&sim.one(3)), "PERMISSION_DENIED");
    sim.send(2, "JOIN_ROOM", json!({ "room_id": closed }));
    assert_eq!(sim.one(2)["success"], true);
    sim.take(1);
    let small = sim.create_room(1, json!({ "name": "s", "max_participants": 1 }));
    sim.send(2, "JOIN_ROOM", json!({ "room_id": small }));
    assert_eq!(code(&sim.one(2)), "ROOM_FULL");
    sim.send(2, "JOIN_ROOM", json!({ "room_id": 999 }));
    assert_eq!(code(&sim.one(2)), "ROOM_NOT_FOUND");
    sim.send(3, "EXIT_ROOM", json!({ "room_id": closed }));
    assert_eq!(code(&sim.one(3)), "USER_NOT_IN_ROOM");
    sim.send(3, "ROOM_INFO", json!({ "room_id": closed }));
    assert_eq!(code(&sim.one(3)), "PERMISSION_DENIED");
    sim.send(2, "ROOM_INFO", json!({ "room_id": closed }));
    let info = sim.one(2);
    assert_eq!(info["data"]["participants_count"], 2);
    assert_eq!(info["data"]["is_open"], false);
}

#[test]
fn a_message_is_acknowledged_and_delivered_only_after_its_commit() {
    let mut sim = Sim::new(AssaConfig::default());
    sim.login(1, 10);
    sim.login(2, 20);
    sim.login(3, 30);
    let room = sim.create_room(1, json!({ "name": "r" }));
    sim.send(2, "JOIN_ROOM", json!({ "room_id": room }));
    sim.take(1);
    sim.take(2);
    sim.hold = true;
    let seq = sim.send(
        1,
        "SEND_MESSAGE",
        json!({
            "room_id": room, "content": "안녕하세요!", "message_type": "text",
            "reply_to_message_id": null, "client_message_id": "cm1",
        }),
    );
    assert!(sim.take(1).is_empty(), "acknowledged before the commit");
    assert!(sim.take(2).is_empty(), "delivered before the commit");
    sim.release();
    let got = sim.take(1);
    assert_eq!(got[0]["action"], "SEND_MESSAGE_RESPONSE");
    assert_eq!(got[0]["seq_id"], seq.as_str());
    assert_eq!(got[0]["data"]["client_message_id"], "cm1");
    let id = got[0]["data"]["message_id"].as_u64().expect("id");
    let new = sim.one(2);
    assert_eq!(new["action"], "NEW_MESSAGE");
    assert_eq!(new["data"]["message_id"], id);
    assert_eq!(new["data"]["user"]["user_id"], 10);
    assert!(sim.take(3).is_empty(), "a non-member got NEW_MESSAGE");
}

#[test]
fn message_rules_give_their_error_codes() {
    let mut sim = Sim::new(AssaConfig::default());
    sim.login(1, 10);
    sim.login(2, 20);
    let room = sim.create_room(1, json!({ "name": "r" }));
    let send = |sim: &mut Sim, conn, data: Value| {
        sim.send(conn, "SEND_MESSAGE", data);
        let r = sim.one(conn);
        assert_eq!(r["action"], "SEND_MESSAGE_RESPONSE", "{r}");
        code(&r).to_owned()
    };
    let long = "가".repeat(5_001);
    assert_eq!(
        send(
            &mut sim,
            1,
            json!({"room_id": room, "content": long, "message_type": "text"})
        ),
        "MESSAGE_TOO_LONG"
    );
    let ok = "가".repeat(5_000);
    sim.send(
        1,
        "SEND_MESSAGE",
        json!({"room_id": room, "content": ok, "message_type": "text"}),
    );
    let got = sim.take(1);
    assert_eq!(got[0]["success"], true, "5,000 characters are allowed");
    assert_eq!(
        got[1]["action"], "NEW_MESSAGE",
        "the sender is a participant too"
    );
    assert_eq!(
        send(
            &mut sim,
            1,
            json!({"room_id": room, "content": "x", "message_type": "video"})
        ),
        "INVALID_MESSAGE_TYPE"
    );
    let file = |mime: &str, size: u64| json!({"file_path": "/f", "file_name": "f", "file_size": size, "mime_type": mime});
    assert_eq!(
        send(
            &mut sim,
            1,
            json!({"room_id": room, "content": "", "message_type": "image", "file_info": file("application/pdf", 10)})
        ),
        "FILE_UPLOAD_FAILED"
    );
    assert_eq!(
        send(
            &mut sim,
            1,
            json!({"room_id": room, "content": "", "message_type": "image", "file_info": file("image/png", 10 * 1_048_576 + 1)})
        ),
        "FILE_UPLOAD_FAILED"
    );
    assert_eq!(
        send(
            &mut sim,
            1,
            json!({"room_id": room, "content": "", "message_type": "image"})
        ),
        "FILE_UPLOAD_FAILED"
    );
    assert_eq!(
        send(
            &mut sim,
            2,
            json!({"room_id": room, "content": "x", "message_type": "text"})
        ),
        "USER_NOT_IN_ROOM"
    );
    assert_eq!(
        send(
            &mut sim,
            1,
            json!({"room_id": 999, "content": "x", "message_type": "text"})
        ),
        "ROOM_NOT_FOUND"
    );
}

#[test]
fn check_receive_sorts_received_failed_and_pending() {
    let mut sim = Sim::new(AssaConfig::default());
    sim.login(1, 10);
    sim.login(2, 20);
    let room = sim.create_room(1, json!({ "name": "r" }));
    sim.send(2, "JOIN_ROOM", json!({ "room_id": room }));
    sim.take(1);
    let mut ids = Vec::new();
    for i in 0..3 {
        sim.send(
            1,
            "SEND_MESSAGE",
            json!({"room_id": room, "content": format!("m{i}"), "message_type": "text"}),
        );
        ids.push(sim.take(1)[0]["data"]["message_id"].as_u64().expect("id"));
    }
    sim.take(2);
    sim.send(
        2,
        "CHECK_RECEIVE",
        json!({ "room_id": room, "message_ids": [] }),
    );
    let r = sim.one(2);
    assert_eq!(
        r["data"]["pending_messages"].as_array().map(Vec::len),
        Some(3)
    );
    sim.send(
        2,
        "CHECK_RECEIVE",
        json!({ "room_id": room, "message_ids": [ids[0], ids[1], 999] }),
    );
    let r = sim.one(2);
    assert_eq!(r["data"]["received_messages"], json!([ids[0], ids[1]]));
    assert_eq!(r["data"]["failed_messages"], json!([999]));
    assert_eq!(r["data"]["pending_messages"][0]["message_id"], ids[2]);
    assert_eq!(
        r["data"]["pending_messages"].as_array().map(Vec::len),
        Some(1)
    );
}

#[test]
fn a_reconnecting_user_gets_rooms_and_unread_count_back_after_a_restart() {
    let mut sim = Sim::new(AssaConfig::default());
    sim.login(1, 10);
    sim.login(2, 20);
    let room = sim.create_room(1, json!({ "name": "r" }));
    sim.send(2, "JOIN_ROOM", json!({ "room_id": room }));
    sim.close(2);
    for i in 0..4 {
        sim.send(
            1,
            "SEND_MESSAGE",
            json!({"room_id": room, "content": format!("m{i}"), "message_type": "text"}),
        );
    }
    let mut sim = sim.restart();
    let r = sim.login(5, 20);
    assert_eq!(
        r["data"]["reconnection_info"]["existing_rooms"],
        json!([room])
    );
    assert_eq!(r["data"]["reconnection_info"]["unread_messages"], 4);
    sim.send(5, "JOIN_ROOM", json!({ "room_id": room }));
    let j = sim.one(5);
    assert_eq!(
        j["data"]["recent_messages"].as_array().map(Vec::len),
        Some(4)
    );
    assert_eq!(j["data"]["recent_messages"][3]["content"], "m3");
    // The sender's own messages are not unread for the sender.
    let r = sim.login(6, 10);
    assert_eq!(r["data"]["reconnection_info"]["unread_messages"], 0);
}

#[test]
fn pings_every_interval_and_closes_without_pong() {
    let mut sim = Sim::new(AssaConfig::test_profile());
    sim.login(1, 10);
    sim.advance(299);
    assert!(sim.take(1).is_empty());
    sim.advance(1);
    let ping = sim.one(1);
    assert_eq!(ping["action"], "PING");
    sim.send(1, "PONG", Value::Null);
    sim.advance(300);
    assert_eq!(sim.one(1)["action"], "PING");
    sim.advance(599);
    assert!(sim.closed.is_empty(), "closed with a PONG 899 ms ago");
    sim.advance(1);
    assert_eq!(sim.closed, vec![(1, CloseReason::PongTimeout)]);
}

#[test]
fn no_connect_within_the_timeout_closes() {
    let mut sim = Sim::new(AssaConfig::test_profile());
    sim.open(1);
    sim.advance(999);
    assert!(sim.closed.is_empty());
    sim.advance(1);
    assert_eq!(sim.one(1)["action"], "ERROR");
    assert_eq!(sim.closed, vec![(1, CloseReason::ConnectTimeout)]);
}

/// Regression: the ticker timed out a connection whose CONNECT had arrived
/// in time and waited to be read (`assa.video.not-found`, on a loaded machine).
#[test]
fn bug_a_connect_waiting_unread_when_the_connection_timeout_fires_is_read_first() {
    let mut sim = Sim::new(AssaConfig::test_profile());
    sim.open(1);
    sim.advance(999);
    sim.unread.insert(1);
    sim.advance(101);
    assert!(sim.closed.is_empty(), "timed out with its CONNECT waiting");
    assert!(sim.take(1).is_empty(), "no ERROR either");
    // The driver reads it now.
    sim.unread.clear();
    let token = sim.token(7);
    sim.send(1, "CONNECT", json!({ "jwt_token": token }));
    assert_eq!(sim.one(1)["success"], true);
    sim.advance(10);
    assert!(sim.closed.is_empty());
}

#[test]
fn a_pong_waiting_unread_when_the_pong_timeout_fires_is_read_first() {
    let mut sim = Sim::new(AssaConfig::test_profile());
    sim.login(1, 10);
    sim.advance(600);
    assert!(sim.take(1).iter().all(|m| m["action"] == "PING"));
    sim.unread.insert(1);
    sim.advance(350);
    assert!(sim.closed.is_empty(), "timed out with its PONG waiting");
    sim.unread.clear();
    sim.send(1, "PONG", Value::Null);
    // The PONG counts from when it was read: 950 + 900.
    sim.advance(899);
    assert!(sim.closed.is_empty());
    sim.advance(1);
    assert_eq!(sim.closed, vec![(1, CloseReason::PongTimeout)]);
}

#[test]
fn input_that_stays_unread_puts_a_timeout_off_by_that_timeout_once_more_no_longer() {
    let mut sim = Sim::new(AssaConfig::test_profile());
    sim.open(1);
    sim.unread.insert(1);
    sim.advance(1_000);
    sim.advance(999);
    assert!(sim.closed.is_empty());
    sim.advance(1);
    assert_eq!(sim.one(1)["error_code"], "CONNECTION_TIMEOUT");
    assert_eq!(sim.closed, vec![(1, CloseReason::ConnectTimeout)]);

    let mut sim = Sim::new(AssaConfig::test_profile());
    sim.login(2, 20);
    sim.unread.insert(2);
    sim.advance(900);
    sim.advance(899);
    assert!(sim.closed.is_empty());
    sim.advance(1);
    assert_eq!(sim.closed, vec![(2, CloseReason::PongTimeout)]);
}

#[test]
fn unreadable_and_unknown_messages_get_an_error_and_the_session_goes_on() {
    let mut sim = Sim::new(AssaConfig::default());
    sim.login(1, 10);
    let seq = sim.send(1, "FLY_TO_MOON", json!({}));
    let e = sim.one(1);
    assert_eq!(e["action"], "ERROR");
    assert_eq!(e["seq_id"], seq.as_str());
    assert_eq!(e["data"]["original_action"], "FLY_TO_MOON");
    assert!(e["data"]["error_details"].as_str().is_some());
    sim.send(1, "JOIN_ROOM", json!({ "room_id": "one" }));
    let e = sim.one(1);
    assert_eq!(
        (e["action"].as_str(), e["data"]["original_action"].as_str()),
        (Some("ERROR"), Some("JOIN_ROOM"))
    );
    sim.send(1, "DISCONNECT", json!({ "reason": "user_logout" }));
    assert_eq!(sim.one(1)["action"], "DISCONNECT_RESPONSE");
    assert_eq!(sim.closed, vec![(1, CloseReason::Disconnect)]);
}

#[test]
fn a_disconnected_user_is_offline_before_its_socket_is_torn_down() {
    let mut sim = Sim::new(AssaConfig::default());
    sim.login(1, 10);
    sim.login(2, 20);
    let room = sim.create_room(1, json!({ "name": "r", "is_open": false }));
    sim.send(2, "DISCONNECT", json!({ "reason": "user_logout" }));
    assert_eq!(sim.one(2)["action"], "DISCONNECT_RESPONSE");
    // The transport has not reported the socket closed yet.
    sim.send(
        1,
        "INVITE",
        json!({ "room_id": room, "invited_user_ids": [20] }),
    );
    let r = sim.one(1);
    assert_eq!(r["data"]["invited_users"][0]["status"], "offline", "{r}");
}

#[test]
fn the_connection_past_the_limit_gets_an_error_and_is_closed() {
    let mut sim = Sim::new(AssaConfig {
        max_connections: 2,
        ..AssaConfig::default()
    });
    sim.open(1);
    sim.open(2);
    sim.open(3);
    assert_eq!(sim.one(3)["action"], "ERROR");
    assert_eq!(sim.closed, vec![(3, CloseReason::ServerFull)]);
    assert!(sim.take(1).is_empty());
}

#[test]
fn invite_reports_online_and_offline_users() {
    let mut sim = Sim::new(AssaConfig::default());
    sim.login(1, 10);
    sim.login(2, 20);
    let room = sim.create_room(1, json!({ "name": "r", "is_open": false }));
    sim.send(
        1,
        "INVITE",
        json!({ "room_id": room, "invited_user_ids": [20, 99] }),
    );
    let r = sim.one(1);
    assert_eq!(r["data"]["invited_users"][0]["status"], "invited");
    assert_eq!(r["data"]["invited_users"][1]["status"], "offline");
    let inv = sim.one(2);
    assert_eq!(inv["action"], "INVITATION_RECEIVED");
    assert_eq!(inv["data"]["inviter"]["user_id"], 10);
    sim.send(2, "JOIN_ROOM", json!({ "room_id": room }));
    assert_eq!(sim.one(2)["success"], true);
}

#[test]
fn video_signalling_reaches_only_the_target_in_the_same_video_room() {
    let mut sim = Sim::new(AssaConfig::default());
    sim.login(1, 10);
    sim.login(2, 20);
    sim.login(3, 30);
    let room = sim.create_room(1, json!({ "name": "r" }));
    for c in [2, 3] {
        sim.send(c, "JOIN_ROOM", json!({ "room_id": room }));
    }
    sim.take(1);
    sim.take(2);
    sim.take(3);
    sim.send(
        1,
        "CREATE_VIDEO_ROOM",
        json!({ "chat_room_id": room, "video_room_name": "v", "max_participants": 2 }),
    );
    let v = sim.one(1)["data"]["video_room_id"].as_u64().expect("id");
    sim.send(1, "JOIN_VIDEO_ROOM", json!({ "video_room_id": v }));
    sim.take(1);
    sim.send(2, "JOIN_VIDEO_ROOM", json!({ "video_room_id": v }));
    let j = sim.one(2);
    assert_eq!(j["data"]["participants"][0]["role"], "host");
    assert_eq!(
        j["data"]["participants"][1]["media_status"]["audio_enabled"],
        true
    );
    sim.send(3, "JOIN_VIDEO_ROOM", json!({ "video_room_id": v }));
    assert_eq!(code(&sim.one(3)), "MAX_PARTICIPANTS_REACHED");
    sim.send(
        1,
        "SDP",
        json!({ "video_room_id": v, "target_user_id": 20, "sdp_type": "offer", "sdp_data": "v=0" }),
    );
    assert_eq!(sim.one(1)["success"], true);
    let sdp = sim.one(2);
    assert_eq!(
        (
            sdp["action"].as_str(),
            sdp["data"]["sender_user_id"].as_u64()
        ),
        (Some("SDP"), Some(10))
    );
    sim.send(
        1,
        "ICE_CANDIDATE",
        json!({ "video_room_id": v, "target_user_id": 30, "candidate": "c" }),
    );
    assert_eq!(code(&sim.one(1)), "USER_NOT_IN_ROOM");
    assert!(sim.take(3).is_empty());
    sim.send(
        2,
        "MEDIA_STATUS",
        json!({ "video_room_id": v, "audio_enabled": false, "video_enabled": true }),
    );
    sim.take(2);
    let m = sim.one(1);
    assert_eq!(
        (m["action"].as_str(), m["data"]["audio_enabled"].as_bool()),
        (Some("PARTICIPANT_MEDIA_STATUS"), Some(false))
    );
    sim.send(3, "SDP", json!({ "video_room_id": 999, "target_user_id": 20, "sdp_type": "offer", "sdp_data": "v=0" }));
    assert_eq!(code(&sim.one(3)), "VIDEO_ROOM_NOT_FOUND");
    sim.send(2, "EXIT_VIDEO_ROOM", json!({ "video_room_id": v }));
    assert_eq!(sim.one(2)["success"], true);
    sim.send(
        1,
        "GET_VIDEO_ROOM_PARTICIPANT",
        json!({ "video_room_id": v }),
    );
    assert_eq!(
        sim.one(1)["data"]["participants"].as_array().map(Vec::len),
        Some(1)
    );
}

#[test]
fn an_announcement_reaches_every_authenticated_connection() {
    let mut sim = Sim::new(AssaConfig::default());
    sim.login(1, 10);
    sim.open(2);
    let data = protocols::assa::ServerAnnouncementData {
        title: "t".to_owned(),
        message: "m".to_owned(),
        priority: Some("high".to_owned()),
        announcement_type: None,
        extra: Default::default(),
    };
    let (out, n) = sim.core.announce(&data, sim.now);
    sim.apply(out);
    assert_eq!(n, 1);
    assert_eq!(sim.one(1)["action"], "SERVER_ANNOUNCEMENT");
    assert!(sim.take(2).is_empty());
}

#[test]
fn with_skip_seq_id_echo_responses_carry_another_seq_id() {
    let mut sim = Sim::new(AssaConfig {
        faults: vec![AssaFault::SkipSeqIdEcho],
        ..AssaConfig::default()
    });
    sim.open(1);
    let token = sim.token(1);
    let seq = sim.send(1, "CONNECT", json!({ "jwt_token": token }));
    assert_ne!(sim.one(1)["seq_id"], seq.as_str());
}

/// Every fixture of the project, valid and invalid, client and server
/// messages alike, sent by an unauthenticated and by an authenticated
/// connection: never a panic, and every answer a valid server message (the
/// harness decodes each one).
#[test]
fn every_fixture_is_answered_without_a_panic() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/assa");
    let mut files: Vec<_> = ["valid", "invalid"]
        .iter()
        .flat_map(|d| std::fs::read_dir(dir.join(d)).expect("fixtures").flatten())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    assert!(files.len() > 50, "fixtures not found in {}", dir.display());
    let mut sim = Sim::new(AssaConfig::default());
    sim.open(1);
    sim.login(2, 123);
    sim.create_room(2, json!({ "name": "r" }));
    for file in &files {
        let bytes = std::fs::read(file).expect("read");
        for conn in [1, 2] {
            sim.raw(conn, &bytes);
            let answers = sim.take(conn);
            let is_pong = serde_json::from_slice::<Value>(&bytes)
                .is_ok_and(|v| v["action"] == "PONG" || v["action"] == "CONNECT");
            assert!(
                !answers.is_empty() || is_pong || sim.closed.iter().any(|(c, _)| *c == conn),
                "{} from connection {conn} got no answer",
                file.display()
            );
        }
    }
}

fn with_fault(fault: AssaFault) -> Sim {
    Sim::new(AssaConfig {
        faults: vec![fault],
        ..AssaConfig::test_profile()
    })
}

/// Host 10 on connection 1 in a room with member 20 on connection 2; 30 on
/// connection 3 is outside. Returns the room.
fn three_users(sim: &mut Sim) -> u64 {
    sim.login(1, 10);
    sim.login(2, 20);
    sim.login(3, 30);
    let room = sim.create_room(1, json!({ "name": "r" }));
    sim.send(2, "JOIN_ROOM", json!({ "room_id": room }));
    for c in [1, 2, 3] {
        sim.take(c);
    }
    room
}

/// In [`three_users`], the host makes a video room, joins nobody else, and
/// sends an SDP offer to the outsider (30).
fn sdp_to_the_outsider(sim: &mut Sim) {
    let room = three_users(sim);
    sim.send(1, "CREATE_VIDEO_ROOM", json!({ "chat_room_id": room }));
    let v = sim.one(1)["data"]["video_room_id"].as_u64().expect("id");
    let offer =
        json!({ "video_room_id": v, "target_user_id": 30, "sdp_type": "offer", "sdp_data": "v=0" });
    sim.send(1, "SDP", offer);
}

#[test]
fn each_fault_breaks_its_behaviour() {
    // deliver-to-non-members: the outsider hears the room.
    let mut sim = with_fault(AssaFault::DeliverToNonMembers);
    let room = three_users(&mut sim);
    sim.send(
        1,
        "SEND_MESSAGE",
        json!({"room_id": room, "content": "x", "message_type": "text"}),
    );
    assert_eq!(sim.one(3)["action"], "NEW_MESSAGE");

    // ack-before-commit: the answer is out while the commit is held.
    let mut sim = with_fault(AssaFault::AckBeforeCommit);
    let room = three_users(&mut sim);
    sim.hold = true;
    sim.send(
        1,
        "SEND_MESSAGE",
        json!({"room_id": room, "content": "x", "message_type": "text"}),
    );
    assert_eq!(sim.take(1)[0]["action"], "SEND_MESSAGE_RESPONSE");

    // no-user-joined: the host hears nothing of a join.
    let mut sim = with_fault(AssaFault::NoUserJoined);
    sim.login(1, 10);
    sim.login(2, 20);
    let room = sim.create_room(1, json!({ "name": "r" }));
    sim.send(2, "JOIN_ROOM", json!({ "room_id": room }));
    assert!(sim.take(1).is_empty());

    // accept-any-token: a token of another secret gets in.
    let mut sim = with_fault(AssaFault::AcceptAnyToken);
    sim.open(1);
    let forged = Tokens::new(b"forged")
        .mint(&Claims::new(5, T0 / 1000, 60))
        .expect("mint");
    sim.send(1, "CONNECT", json!({ "jwt_token": forged }));
    assert_eq!(sim.one(1)["success"], true);

    // no-ping: no PING within the interval.
    let mut sim = with_fault(AssaFault::NoPing);
    sim.login(1, 10);
    sim.advance(350);
    assert!(sim.take(1).is_empty());

    // ignore-room-permissions: a closed room admits the uninvited.
    let mut sim = with_fault(AssaFault::IgnoreRoomPermissions);
    sim.login(1, 10);
    sim.login(2, 20);
    let room = sim.create_room(1, json!({ "name": "c", "is_open": false }));
    sim.send(2, "JOIN_ROOM", json!({ "room_id": room }));
    assert_eq!(sim.take(2)[0]["success"], true);

    // relay-outside-video-room: an SDP reaches a user outside the video room.
    let mut sim = with_fault(AssaFault::RelayOutsideVideoRoom);
    sdp_to_the_outsider(&mut sim);
    assert_eq!(sim.one(3)["action"], "SDP");

    // no-connect-timeout: a silent connection outlives the connection timeout.
    let mut sim = with_fault(AssaFault::NoConnectTimeout);
    sim.open(1);
    sim.advance(2_000);
    assert!(sim.closed.is_empty());

    // no-pong-timeout: a session that never answers PING stays open.
    let mut sim = with_fault(AssaFault::NoPongTimeout);
    sim.login(1, 10);
    sim.advance(2_000);
    assert!(sim.closed.is_empty());
}

#[test]
fn without_faults_the_same_scenarios_hold() {
    let mut sim = Sim::new(AssaConfig::test_profile());
    sdp_to_the_outsider(&mut sim);
    assert_eq!(code(&sim.one(1)), "USER_NOT_IN_ROOM");
    assert!(sim.take(3).is_empty());
    sim.open(9);
    let forged = Tokens::new(b"forged")
        .mint(&Claims::new(5, T0 / 1000, 60))
        .expect("mint");
    sim.send(9, "CONNECT", json!({ "jwt_token": forged }));
    assert_eq!(code(&sim.one(9)), "INVALID_TOKEN");
    let mut sim = Sim::new(AssaConfig::test_profile());
    sim.open(1);
    sim.login(2, 20);
    sim.advance(2_000);
    let mut closed: Vec<_> = sim.closed.iter().map(|(c, _)| *c).collect();
    closed.sort_unstable();
    assert_eq!(closed, [1, 2]);
}
