//! The protocols the generator speaks over plain TCP: ASSA sessions
//! (`004_636ae579ed5d2364.txt`: JSON lines or length prefixes, CONNECT with
//! a JWT, CREATE_ROOM and JOIN_ROOM, SEND_MESSAGE and the NEW_MESSAGE
//! deliveries, PING answered) and the loopback echo baseline. Their
//! connections run the same loop as every other protocol's
//! ([`crate::scenario`]); server frames are recognised by their action and
//! seq_id found as text, without parsing JSON.

use std::io::Write as _;

use protocols::assa::framing::Framing;
use serde_json::{json, Value};
use tokio::time::Instant;

use crate::conn::Conn;
use crate::dialect::Dialect;
use crate::dialect::{leading_number, pad, ConnError, Got, Room, STAMP};
use crate::scenario::Shared;
use crate::wire::{Out, Wire};
use crate::Scenario;

/// A protocol the generator speaks over plain TCP.
#[derive(Debug, Clone, PartialEq)]
pub enum TcpDialect {
    /// An ASSA server: room messages (`fanout`), idle sessions, a connection storm.
    Assa(Box<AssaBench>),
    /// The loopback echo of [`crate::baseline`] (or any TCP echo): lines written back as they are.
    Baseline {
        /// `host:port`.
        addr: String,
    },
}

/// An ASSA target as the generator needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct AssaBench {
    /// The target section of `run` (address, framing, users).
    pub target: suites::target::AssaTarget,
    /// The user id of client 0 when tokens are minted; client i is this plus i.
    pub first_user: u64,
}

/// The seq_id prefix of the hot path's requests (`b17`).
const SEQ: &str = "b";

impl TcpDialect {
    /// The protocol's id in reports.
    pub fn protocol(&self) -> &'static str {
        match self {
            TcpDialect::Assa(_) => "assa",
            TcpDialect::Baseline { .. } => "baseline",
        }
    }

    /// The URL it connects to.
    pub fn url(&self) -> &str {
        match self {
            TcpDialect::Assa(a) => &a.target.url,
            TcpDialect::Baseline { addr } => addr,
        }
    }

    /// Whether it has rooms to fan out to.
    pub fn has_rooms(&self) -> bool {
        matches!(self, TcpDialect::Assa(_))
    }

    /// Whether it can run `scenario`, and why not.
    pub fn supports(&self, scenario: Scenario) -> anyhow::Result<()> {
        match (self, scenario) {
            (TcpDialect::Assa(_), Scenario::Echo) => anyhow::bail!(
                "ASSA has no echo request: run fanout (room messages), connect or idle against assa"
            ),
            (TcpDialect::Baseline { .. }, Scenario::Fanout) => {
                anyhow::bail!("the loopback baseline is an echo: it has no rooms")
            }
            _ => Ok(()),
        }
    }

    /// How its messages are delimited.
    pub(crate) fn wire(&self) -> Wire {
        match self {
            TcpDialect::Assa(a) => match Framing::from(a.target.framing) {
                Framing::JsonStream => Wire::JsonStream,
                Framing::LengthPrefixed => Wire::LengthPrefixed,
            },
            TcpDialect::Baseline { .. } => Wire::Lines,
        }
    }

    /// `host:port`.
    pub(crate) fn addr(&self) -> &str {
        match self {
            TcpDialect::Assa(a) => a.target.addr(),
            TcpDialect::Baseline { addr } => addr,
        }
    }

    /// Client `global`'s user id and token.
    fn user(&self, global: usize) -> Result<(u64, String), ConnError> {
        let TcpDialect::Assa(a) = self else {
            return Ok((0, String::new()));
        };
        let users = &a.target.users;
        if let Some(secret) = &users.jwt_secret {
            let id = a.first_user + global as u64;
            let expires = i64::try_from(users.expires_in_secs).unwrap_or(i64::MAX / 2);
            let token = a
                .target
                .mint_token(secret, id, expires)
                .map_err(|e| ConnError::new("token-failed", e))?;
            return Ok((id, token));
        }
        users
            .tokens
            .get(global)
            .map(|t| (t.user_id, t.token.clone()))
            .ok_or_else(|| {
                ConnError::new(
                    "no-user",
                    format!(
                        "client {global} has no user: the target lists {} tokens",
                        users.tokens.len()
                    ),
                )
            })
    }

    /// A JSON message of the setup (not the hot path).
    fn message(&self, out: &mut Out, value: &Value) {
        out.frame(|o| {
            // A Value always serializes.
            let _ = serde_json::to_writer(o, value);
        });
    }

    /// A PONG answering the PING `frame`.
    pub(crate) fn pong(&self, out: &mut Out, frame: &[u8]) {
        let ping: Value = serde_json::from_slice(frame).unwrap_or(Value::Null);
        let pong = json!({
            "action": "PONG",
            "timestamp": suites::driver::assa::now_timestamp(),
            "seq_id": ping["seq_id"],
        });
        self.message(out, &pong);
    }

    /// The echo request `id` (the baseline's hot path).
    pub(crate) fn echo(&self, o: &mut Vec<u8>, id: u64, payload: &str) {
        crate::dialect::number(o, id);
        o.push(b' ');
        o.extend_from_slice(payload.as_bytes());
    }

    /// SEND_MESSAGE `id` into `room` from its user, its content stamped with
    /// the send time and padded to `size` bytes.
    pub(crate) fn send_message(
        &self,
        out: &mut Out,
        id: u64,
        room: &Room,
        sent_us: u64,
        size: usize,
    ) {
        let Room {
            id: room_id,
            user,
            timestamp,
            ..
        } = room;
        out.frame(|o| {
            let _ = write!(
                o,
                r#"{{"action":"SEND_MESSAGE","data":{{"room_id":{room_id},"content":"{STAMP}{sent_us}~"#
            );
            pad(o, sent_us, size);
            let _ = write!(
                o,
                r#"","message_type":"text","client_message_id":"{SEQ}{id}"}},"timestamp":"{timestamp}","seq_id":"{SEQ}{id}","user_id":{user}}}"#
            );
        });
    }

    /// Members of the room of client `global` that this shard holds (ASSA's
    /// rooms are made by each shard's own clients).
    pub(crate) fn room_size(&self, plan: &crate::Plan, global: usize) -> usize {
        let rooms = plan.rooms.max(1);
        plan.shard
            .clients(plan.clients)
            .filter(|g| g % rooms == global % rooms)
            .count()
    }

    /// What a frame from the server is.
    pub(crate) fn classify(&self, frame: &[u8]) -> Got {
        match self {
            TcpDialect::Baseline { .. } => leading_number(frame).map_or(Got::Other, Got::Answer),
            TcpDialect::Assa(_) => match std::str::from_utf8(frame) {
                Ok(text) => classify_assa(text),
                Err(_) => Got::Other,
            },
        }
    }
}

/// An ASSA frame, by its action and seq_id found as text (a server that
/// writes `"action": "..."` with spaces is parsed instead).
fn classify_assa(text: &str) -> Got {
    const ACTION: &str = r#""action":""#;
    let Some(at) = text.find(ACTION) else {
        return classify_parsed(text);
    };
    let action = &text[at + ACTION.len()..];
    let seq = || {
        text.find(r#""seq_id":""#)
            .map(|at| &text[at + 10..])
            .and_then(|rest| rest.split('"').next())
    };
    let request = || {
        seq()
            .and_then(|s| s.strip_prefix(SEQ))
            .and_then(|s| leading_number(s.as_bytes()))
    };
    if action.starts_with("NEW_MESSAGE\"") {
        crate::dialect::stamp(text.as_bytes())
    } else if action.starts_with("SEND_MESSAGE_RESPONSE\"") {
        match request() {
            Some(id) if text.contains(r#""success":false"#) => Got::Refused(id),
            Some(id) => Got::Answer(id),
            None => Got::Other,
        }
    } else if action.starts_with("PING\"") {
        Got::Ping
    } else if action.starts_with("ERROR\"") {
        request().map_or(Got::ServerError, Got::Refused)
    } else {
        Got::Other
    }
}

fn classify_parsed(text: &str) -> Got {
    let Ok(v) = serde_json::from_str::<Value>(text) else {
        return Got::Other;
    };
    let seq = v["seq_id"].as_str().unwrap_or_default();
    let request = seq
        .strip_prefix(SEQ)
        .and_then(|s| leading_number(s.as_bytes()));
    match (v["action"].as_str().unwrap_or_default(), request) {
        ("NEW_MESSAGE", _) => v["data"]["content"]
            .as_str()
            .and_then(|c| c.strip_prefix(STAMP))
            .and_then(|s| leading_number(s.as_bytes()))
            .map_or(Got::Other, Got::Delivery),
        ("SEND_MESSAGE_RESPONSE", Some(id)) if v["success"] == false => Got::Refused(id),
        ("SEND_MESSAGE_RESPONSE", Some(id)) => Got::Answer(id),
        ("PING", _) => Got::Ping,
        ("ERROR", Some(id)) => Got::Refused(id),
        ("ERROR", None) => Got::ServerError,
        _ => Got::Other,
    }
}

/// Sends the setup request `request` (seq_id `seq`) and returns its answer, parsed.
async fn request(
    shared: &Shared,
    conn: &mut Conn,
    local: usize,
    request: Value,
    seq: &str,
) -> Result<Value, ConnError> {
    let Dialect::Tcp(dialect) = &shared.dialect else {
        return Err(ConnError::new("connect-failed", "not a TCP dialect"));
    };
    dialect.message(&mut conn.out, &request);
    conn.until(shared, local, seq, |frame| {
        let value: Value = serde_json::from_slice(frame).ok()?;
        (value["seq_id"] == seq).then_some(value)
    })
    .await
}

/// Opens the ASSA session of client `global` on `conn` (CONNECT with its
/// token) and, in a fan-out, its room; what it publishes to.
pub(crate) async fn setup(
    shared: &Shared,
    conn: &mut Conn,
    local: usize,
    global: usize,
) -> Result<Room, ConnError> {
    let Dialect::Tcp(dialect @ TcpDialect::Assa(_)) = &shared.dialect else {
        return Ok(Room::default());
    };
    let (id, token) = dialect.user(global)?;
    let connect = json!({
        "action": "CONNECT",
        "data": {
            "jwt_token": token,
            "device_info": {
                "platform": "chatspec-bench",
                "app_version": env!("CARGO_PKG_VERSION"),
                "device_id": format!("bench-{global}"),
            },
        },
        "timestamp": suites::driver::assa::now_timestamp(),
        "seq_id": "connect",
    });
    let answer = request(shared, conn, local, connect, "connect").await?;
    if answer["success"] != true {
        return Err(ConnError::new("handshake-refused", answer));
    }
    let user = answer["data"]["user_id"].as_u64().unwrap_or(id);
    let id = match shared.plan.scenario {
        Scenario::Fanout => room(shared, conn, local, global, user).await?,
        _ => 0,
    };
    Ok(Room {
        id,
        user,
        ..Room::default()
    })
}

/// The room of client `global`, in this shard: the first of the shard's
/// clients in it creates it, the others join once it exists.
async fn room(
    shared: &Shared,
    conn: &mut Conn,
    local: usize,
    global: usize,
    user: u64,
) -> Result<u64, ConnError> {
    let plan = &shared.plan;
    let rooms = plan.rooms.max(1);
    let index = global % rooms;
    let mut members = plan
        .shard
        .clients(plan.clients)
        .filter(|g| g % rooms == index);
    let host = members.next() == Some(global);
    let size = 1 + members.count();
    let timestamp = suites::driver::assa::now_timestamp();
    if host {
        let create = json!({
            "action": "CREATE_ROOM",
            "data": {
                "name": format!("bench-room-{index}"),
                "description": "chatspec bench",
                "is_open": true,
                "max_participants": size.max(2),
                "invited_user_ids": [],
            },
            "timestamp": timestamp,
            "seq_id": "room",
            "user_id": user,
        });
        let answer = request(shared, conn, local, create, "room").await?;
        let id = answer["data"]["room_id"]
            .as_u64()
            .filter(|_| answer["success"] == true)
            .ok_or_else(|| ConnError::new("create-room-refused", &answer))?;
        shared.rooms.send_modify(|r| {
            r.insert(index, id);
        });
        return Ok(id);
    }
    // Wait for the host, answering PINGs meanwhile.
    let mut table = shared.rooms.subscribe();
    let deadline = Instant::now() + plan.wait;
    let id = loop {
        if let Some(&id) = table.borrow_and_update().get(&index) {
            break id;
        }
        tokio::select! {
            _ = tokio::time::sleep_until(deadline) => {
                return Err(ConnError::new("setup-timeout", "the room was not created in time"))
            }
            changed = table.changed() => if changed.is_err() {
                return Err(ConnError::new("setup-timeout", "the run ended"));
            },
            alive = conn.read_some() => {
                if !alive {
                    return Err(ConnError::new("closed-by-server", "closed while waiting for the room"));
                }
                crate::scenario::absorb(shared, conn, local)?;
                conn.flush().await?;
            }
        }
    };
    let join = json!({
        "action": "JOIN_ROOM",
        "data": { "room_id": id },
        "timestamp": timestamp,
        "seq_id": "join",
        "user_id": user,
    });
    let answer = request(shared, conn, local, join, "join").await?;
    if answer["success"] != true {
        return Err(ConnError::new("join-room-refused", answer));
    }
    Ok(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assa() -> TcpDialect {
        let target = <suites::target::AssaTarget as suites::target::SectionType>::from_url(
            "tcp://127.0.0.1:1",
            None,
        )
        .unwrap();
        TcpDialect::Assa(Box::new(AssaBench {
            target,
            first_user: 1,
        }))
    }

    #[test]
    fn a_send_message_and_its_answers() {
        let mut out = Out::new(Wire::JsonStream, 1);
        let room = Room {
            id: 3,
            user: 42,
            timestamp: "T".into(),
            ..Room::default()
        };
        assa().send_message(&mut out, 7, &room, 1234, 12);
        let text = std::str::from_utf8(&out.buf).unwrap();
        assert!(text.ends_with('\n'));
        let v: Value = serde_json::from_str(text.trim_end()).unwrap();
        assert_eq!(v["action"], "SEND_MESSAGE");
        assert_eq!(v["data"]["content"], "~T1234~xxxxx");
        assert_eq!(v["data"]["room_id"], 3);
        assert_eq!(v["seq_id"], "b7");
        assert_eq!(v["user_id"], 42);
        let d = assa();
        let answer = br#"{"action":"SEND_MESSAGE_RESPONSE","success":true,"data":{"content":"~T1~"},"seq_id":"b7"}"#;
        assert_eq!(d.classify(answer), Got::Answer(7));
        let refused = br#"{"action":"SEND_MESSAGE_RESPONSE","success":false,"seq_id":"b8"}"#;
        assert_eq!(d.classify(refused), Got::Refused(8));
        let delivery = br#"{"action":"NEW_MESSAGE","data":{"content":"~T1234~xx"},"seq_id":"broadcast_msg_1"}"#;
        assert_eq!(d.classify(delivery), Got::Delivery(1234));
        let ping = br#"{"action":"PING","timestamp":"t","seq_id":"ping_9"}"#;
        assert_eq!(d.classify(ping), Got::Ping);
        let mut out = Out::new(Wire::JsonStream, 1);
        d.pong(&mut out, ping);
        let pong: Value = serde_json::from_slice(&out.buf).unwrap();
        assert_eq!(
            (&pong["action"], &pong["seq_id"]),
            (&json!("PONG"), &json!("ping_9"))
        );
        let spaced = br#"{ "action": "NEW_MESSAGE", "data": { "content": "~T99~" } }"#;
        assert_eq!(d.classify(spaced), Got::Delivery(99));
        assert_eq!(
            d.classify(br#"{"action":"ERROR","seq_id":"x"}"#),
            Got::ServerError
        );
    }
}
