//! The generator's raw TCP connections: ASSA sessions (`004_636ae579ed5d2364.txt`:
//! JSON lines or length prefixes, CONNECT with a JWT, CREATE_ROOM and
//! JOIN_ROOM, SEND_MESSAGE and the NEW_MESSAGE deliveries, PING answered) and
//! the loopback echo baseline. The hot path is the WebSocket dialects': frames
//! pre-encoded into one write buffer, server frames recognised by their
//! action and seq_id without parsing JSON, a read burst's latencies recorded
//! at once, and the socket read while a write is pending so that neither side
//! can block the other.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::Write as _;
use std::ops::Range;
use std::sync::atomic::Ordering;
use std::time::Duration;

use protocols::assa::framing::Framing;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;
use tokio::sync::OwnedSemaphorePermit;
use tokio::time::Instant;

use crate::dialect::{digits, leading_number, ConnError, Dialect, STAMP};
use crate::pace::Pacer;
use crate::scenario::{wall_micros, Phase, Shared};
use crate::stats::micros;
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

/// What a frame from the server is to the generator.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Got {
    /// The answer to request `id` (SEND_MESSAGE_RESPONSE, or an echoed line).
    Answer(u64),
    /// Request `id` was refused (`success: false`, or an ERROR naming it).
    Refused(u64),
    /// A NEW_MESSAGE sent at this many microseconds after the Unix epoch.
    Delivery(u64),
    /// A PING to answer with this seq_id.
    Ping(String),
    /// An ERROR that names no request of the hot path.
    ServerError,
    Other,
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

    fn framing(&self) -> Wire {
        match self {
            TcpDialect::Assa(a) => match Framing::from(a.target.framing) {
                Framing::JsonStream => Wire::JsonStream,
                Framing::LengthPrefixed => Wire::LengthPrefixed,
            },
            TcpDialect::Baseline { .. } => Wire::Lines,
        }
    }

    fn addr(&self) -> &str {
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

    /// Appends one frame whose payload `body` writes.
    fn frame(&self, out: &mut Vec<u8>, body: impl FnOnce(&mut Vec<u8>)) {
        match self.framing() {
            Wire::Lines | Wire::JsonStream => {
                body(out);
                out.push(b'\n');
            }
            Wire::LengthPrefixed => {
                let at = out.len();
                out.extend_from_slice(&[0; 4]);
                body(out);
                let len = u32::try_from(out.len() - at - 4).unwrap_or(u32::MAX);
                out[at..at + 4].copy_from_slice(&len.to_be_bytes());
            }
        }
    }

    /// A JSON message of the setup (not the hot path).
    fn message(&self, out: &mut Vec<u8>, value: &Value) {
        self.frame(out, |o| {
            // A Value always serializes.
            let _ = serde_json::to_writer(o, value);
        });
    }

    /// A PONG answering the PING `seq_id`.
    fn pong(&self, out: &mut Vec<u8>, seq_id: &str) {
        let pong = json!({
            "action": "PONG",
            "timestamp": suites::driver::assa::now_timestamp(),
            "seq_id": seq_id,
        });
        self.message(out, &pong);
    }

    /// The echo request `id` (the baseline's hot path).
    fn echo(&self, out: &mut Vec<u8>, id: u64, payload: &str) {
        self.frame(out, |o| {
            let _ = write!(o, "{id} {payload}");
        });
    }

    /// SEND_MESSAGE `id` into `room` from `user`, its content stamped with
    /// the send time and padded to `size` bytes.
    #[allow(clippy::too_many_arguments)]
    fn send_message(
        &self,
        out: &mut Vec<u8>,
        id: u64,
        room: u64,
        user: u64,
        timestamp: &str,
        sent_us: u64,
        size: usize,
    ) {
        self.frame(out, |o| {
            let _ = write!(
                o,
                r#"{{"action":"SEND_MESSAGE","data":{{"room_id":{room},"content":"{STAMP}{sent_us}~"#
            );
            let stamp_len = STAMP.len() + digits(sent_us) + 1;
            o.resize(o.len() + size.saturating_sub(stamp_len), b'x');
            let _ = write!(
                o,
                r#"","message_type":"text","client_message_id":"{SEQ}{id}"}},"timestamp":"{timestamp}","seq_id":"{SEQ}{id}","user_id":{user}}}"#
            );
        });
    }

    /// What a frame from the server is.
    fn classify(&self, frame: &[u8]) -> Got {
        let Ok(text) = std::str::from_utf8(frame) else {
            return Got::Other;
        };
        match self {
            TcpDialect::Baseline { .. } => leading_number(text).map_or(Got::Other, Got::Answer),
            TcpDialect::Assa(_) => classify_assa(text),
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
            .and_then(leading_number)
    };
    if action.starts_with("NEW_MESSAGE\"") {
        text.find(STAMP)
            .and_then(|at| leading_number(&text[at + STAMP.len()..]))
            .map_or(Got::Other, Got::Delivery)
    } else if action.starts_with("SEND_MESSAGE_RESPONSE\"") {
        match request() {
            Some(id) if text.contains(r#""success":false"#) => Got::Refused(id),
            Some(id) => Got::Answer(id),
            None => Got::Other,
        }
    } else if action.starts_with("PING\"") {
        Got::Ping(seq().unwrap_or_default().to_owned())
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
    let request = seq.strip_prefix(SEQ).and_then(leading_number);
    match (v["action"].as_str().unwrap_or_default(), request) {
        ("NEW_MESSAGE", _) => v["data"]["content"]
            .as_str()
            .and_then(|c| c.strip_prefix(STAMP))
            .and_then(leading_number)
            .map_or(Got::Other, Got::Delivery),
        ("SEND_MESSAGE_RESPONSE", Some(id)) if v["success"] == false => Got::Refused(id),
        ("SEND_MESSAGE_RESPONSE", Some(id)) => Got::Answer(id),
        ("PING", _) => Got::Ping(seq.to_owned()),
        ("ERROR", Some(id)) => Got::Refused(id),
        ("ERROR", None) => Got::ServerError,
        _ => Got::Other,
    }
}

/// Message boundaries on the stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Wire {
    /// Lines (the baseline).
    Lines,
    /// JSON objects one after another (newlines or nothing between them).
    JsonStream,
    /// A 4-byte big-endian length before each message.
    LengthPrefixed,
}

/// The largest frame the generator holds (the document's 1 MB, and some).
const MAX_FRAME: usize = 2 << 20;

/// Cuts the frames out of a read buffer, keeping its scan state between reads.
#[derive(Debug)]
struct Splitter {
    wire: Wire,
    /// Start of the frame in progress.
    start: usize,
    /// Next byte to scan.
    pos: usize,
    depth: u32,
    in_string: bool,
    escape: bool,
}

impl Splitter {
    fn new(wire: Wire) -> Splitter {
        Splitter {
            wire,
            start: 0,
            pos: 0,
            depth: 0,
            in_string: false,
            escape: false,
        }
    }

    /// The next complete frame of `buf`, or `None` until more is read.
    fn next(&mut self, buf: &[u8]) -> Result<Option<Range<usize>>, &'static str> {
        let found = match self.wire {
            Wire::Lines => self.line(buf),
            Wire::JsonStream => self.json(buf)?,
            Wire::LengthPrefixed => self.prefixed(buf)?,
        };
        if found.is_none() && buf.len().saturating_sub(self.start) > MAX_FRAME {
            return Err("frame-too-large");
        }
        Ok(found)
    }

    fn line(&mut self, buf: &[u8]) -> Option<Range<usize>> {
        loop {
            let nl = buf[self.pos..].iter().position(|&b| b == b'\n');
            let Some(nl) = nl else {
                self.pos = buf.len();
                return None;
            };
            let end = self.pos + nl;
            let frame = self.start..end;
            self.start = end + 1;
            self.pos = end + 1;
            if !frame.is_empty() {
                return Some(frame);
            }
        }
    }

    fn json(&mut self, buf: &[u8]) -> Result<Option<Range<usize>>, &'static str> {
        while self.pos < buf.len() {
            let b = buf[self.pos];
            self.pos += 1;
            if self.depth == 0 {
                match b {
                    b' ' | b'\t' | b'\n' | b'\r' => self.start = self.pos,
                    b'{' => self.depth = 1,
                    _ => return Err("not-json"),
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
                    b'{' | b'[' => self.depth += 1,
                    b'}' | b']' => {
                        self.depth -= 1;
                        if self.depth == 0 {
                            let frame = self.start..self.pos;
                            self.start = self.pos;
                            return Ok(Some(frame));
                        }
                    }
                    _ => {}
                }
            }
        }
        Ok(None)
    }

    fn prefixed(&mut self, buf: &[u8]) -> Result<Option<Range<usize>>, &'static str> {
        let Some(header) = buf.get(self.start..self.start + 4) else {
            return Ok(None);
        };
        let len = u32::from_be_bytes([header[0], header[1], header[2], header[3]]) as usize;
        if len > MAX_FRAME {
            return Err("frame-too-large");
        }
        let body = self.start + 4;
        if buf.len() < body + len {
            return Ok(None);
        }
        self.start = body + len;
        self.pos = self.start;
        Ok(Some(body..body + len))
    }

    /// Drops the frames already handed out from the front of `buf`.
    fn compact(&mut self, buf: &mut Vec<u8>) {
        if self.start > 0 {
            buf.drain(..self.start);
            self.pos -= self.start;
            self.start = 0;
        }
    }
}

/// One connection: the socket's halves and their buffers.
struct Conn {
    read: OwnedReadHalf,
    write: OwnedWriteHalf,
    rbuf: Vec<u8>,
    split: Splitter,
    wbuf: Vec<u8>,
    /// How much of `wbuf` is written.
    woff: usize,
    /// The session's user (ASSA).
    user: u64,
}

/// How much room a read gets.
const READ_CHUNK: usize = 16 * 1024;

impl Conn {
    async fn open(dialect: &TcpDialect, wait: Duration) -> Result<Conn, ConnError> {
        let stream = tokio::time::timeout(wait, TcpStream::connect(dialect.addr()))
            .await
            .map_err(|_| ConnError::new("connect-timeout", "no connection within the wait"))?
            .map_err(|e| ConnError::new("connect-failed", e))?;
        let _ = stream.set_nodelay(true);
        let (read, write) = stream.into_split();
        Ok(Conn {
            read,
            write,
            rbuf: Vec::new(),
            split: Splitter::new(dialect.framing()),
            wbuf: Vec::new(),
            woff: 0,
            user: 0,
        })
    }

    /// Reads once; false when the connection ended.
    async fn read_some(&mut self) -> bool {
        if self.rbuf.capacity() - self.rbuf.len() < READ_CHUNK / 4 {
            self.rbuf.reserve(READ_CHUNK);
        }
        matches!(self.read.read_buf(&mut self.rbuf).await, Ok(n) if n > 0)
    }

    /// Writes what is buffered (the setup's requests and pongs).
    async fn flush(&mut self) -> Result<(), ConnError> {
        let pending = &self.wbuf[self.woff..];
        let result = self.write.write_all(pending).await;
        self.wbuf.clear();
        self.woff = 0;
        result.map_err(|e| ConnError::new("closed-by-server", e))
    }

    /// Sends `request` (seq_id `seq`) and waits for the answer naming `seq`,
    /// answering PINGs and counting deliveries meanwhile; returns it parsed.
    async fn request(
        &mut self,
        shared: &Shared,
        local: usize,
        request: Value,
        seq: &str,
    ) -> Result<Value, ConnError> {
        let dialect = tcp_dialect(shared);
        dialect.message(&mut self.wbuf, &request);
        self.flush().await?;
        let deadline = Instant::now() + shared.plan.wait;
        loop {
            while let Some(frame) = self.next_frame()? {
                let text = String::from_utf8_lossy(&self.rbuf[frame]).into_owned();
                let got = dialect.classify(text.as_bytes());
                match got {
                    Got::Ping(ping) => dialect.pong(&mut self.wbuf, &ping),
                    Got::Delivery(sent) => shared.recorder.delivered(local, &[late(sent)]),
                    _ => {
                        let value: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
                        if value["seq_id"] == seq {
                            self.split.compact(&mut self.rbuf);
                            return Ok(value);
                        }
                    }
                }
            }
            self.split.compact(&mut self.rbuf);
            if !self.wbuf.is_empty() {
                self.flush().await?;
            }
            match tokio::time::timeout_at(deadline, self.read_some()).await {
                Err(_) => {
                    return Err(ConnError::new(
                        "setup-timeout",
                        format!("no answer to {seq} within the wait"),
                    ))
                }
                Ok(false) => {
                    return Err(ConnError::new(
                        "closed-by-server",
                        format!("closed before answering {seq}"),
                    ))
                }
                Ok(true) => {}
            }
        }
    }

    fn next_frame(&mut self) -> Result<Option<Range<usize>>, ConnError> {
        self.split
            .next(&self.rbuf)
            .map_err(|kind| ConnError::new(kind, "the stream broke"))
    }
}

fn tcp_dialect(shared: &Shared) -> &TcpDialect {
    match &shared.dialect {
        Dialect::Tcp(t) => t,
        // Only TCP dialects are run here; an empty baseline never connects.
        _ => &EMPTY,
    }
}

static EMPTY: TcpDialect = TcpDialect::Baseline {
    addr: String::new(),
};

/// The latency of a delivery stamped `sent_us`.
fn late(sent_us: u64) -> u64 {
    micros(Duration::from_micros(wall_micros().saturating_sub(sent_us)))
}

/// Connects and opens the session: ASSA's CONNECT with the client's token.
async fn session(shared: &Shared, local: usize, global: usize) -> Result<Conn, ConnError> {
    let dialect = tcp_dialect(shared);
    let mut conn = Conn::open(dialect, shared.plan.wait).await?;
    if let TcpDialect::Assa(_) = dialect {
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
        let answer = conn.request(shared, local, connect, "connect").await?;
        if answer["success"] != true {
            return Err(ConnError::new("handshake-refused", answer));
        }
        conn.user = answer["data"]["user_id"].as_u64().unwrap_or(id);
    }
    Ok(conn)
}

/// The room of client `global`, in this shard: the first of the shard's
/// clients in it creates it, the others join once it exists.
async fn room(
    shared: &Shared,
    conn: &mut Conn,
    local: usize,
    global: usize,
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
            "user_id": conn.user,
        });
        let answer = conn.request(shared, local, create, "room").await?;
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
                keep_alive(shared, conn, local)?;
                conn.flush().await?;
            }
        }
    };
    let join = json!({
        "action": "JOIN_ROOM",
        "data": { "room_id": id },
        "timestamp": timestamp,
        "seq_id": "join",
        "user_id": conn.user,
    });
    let answer = conn.request(shared, local, join, "join").await?;
    if answer["success"] != true {
        return Err(ConnError::new("join-room-refused", answer));
    }
    Ok(id)
}

/// Handles what was read while not sending: PINGs answered (into the write
/// buffer), deliveries counted.
fn keep_alive(shared: &Shared, conn: &mut Conn, local: usize) -> Result<(), ConnError> {
    let dialect = tcp_dialect(shared);
    let mut latencies = Vec::new();
    while let Some(frame) = conn.next_frame()? {
        match dialect.classify(&conn.rbuf[frame]) {
            Got::Ping(seq) => dialect.pong(&mut conn.wbuf, &seq),
            Got::Delivery(sent) => latencies.push(late(sent)),
            _ => {}
        }
    }
    conn.split.compact(&mut conn.rbuf);
    shared.recorder.delivered(local, &latencies);
    Ok(())
}

/// Connection `local` of this shard, client `global` of the run, over a TCP dialect.
pub async fn connection(
    shared: &Shared,
    local: usize,
    global: usize,
    permit: Option<OwnedSemaphorePermit>,
) {
    let plan = &shared.plan;
    if plan.scenario == Scenario::Connect {
        drop(permit);
        return connect_loop(shared, local, global).await;
    }
    let fail = |e: ConnError| {
        shared.recorder.error(e.kind);
        shared.failed.fetch_add(1, Ordering::Relaxed);
    };
    let started = Instant::now();
    let mut conn = match session(shared, local, global).await {
        Ok(c) => c,
        Err(e) => return fail(e),
    };
    let setup_us = micros(started.elapsed());
    let mut room_id = 0;
    if plan.scenario == Scenario::Fanout {
        match room(shared, &mut conn, local, global).await {
            Ok(id) => room_id = id,
            Err(e) => return fail(e),
        }
    }
    if plan.scenario == Scenario::Idle {
        shared.recorder.handshake(local, setup_us);
    }
    shared.ready.fetch_add(1, Ordering::Relaxed);
    let _open = crate::scenario::Open::count(&shared.open);
    drop(permit);
    if let Err(e) = run(shared, &mut conn, local, global, room_id).await {
        shared.recorder.error(e.kind);
    }
    let _ = tokio::time::timeout(Duration::from_millis(500), conn.write.shutdown()).await;
}

/// The run of one ready connection: sends as the load says, answers and
/// deliveries counted, until the run stops.
async fn run(
    shared: &Shared,
    conn: &mut Conn,
    local: usize,
    global: usize,
    room_id: u64,
) -> Result<(), ConnError> {
    let plan = &shared.plan;
    let dialect = tcp_dialect(shared);
    let mut phase = shared.phase.clone();
    while *phase.borrow() == Phase::Setup {
        tokio::select! {
            changed = phase.changed() => if changed.is_err() { return Ok(()) },
            alive = conn.read_some() => {
                if !alive {
                    return Err(ConnError::new("closed-by-server", "closed before the run"));
                }
                keep_alive(shared, conn, local)?;
                conn.flush().await?;
            }
        }
    }
    let fanout = plan.scenario == Scenario::Fanout;
    let sender = match plan.scenario {
        Scenario::Fanout => global < plan.senders,
        Scenario::Echo => true,
        _ => false,
    };
    let room_size = if fanout && sender {
        let rooms = plan.rooms.max(1);
        plan.shard
            .clients(plan.clients)
            .filter(|g| g % rooms == global % rooms)
            .count() as u64
    } else {
        0
    };
    let mut pacer = if sender {
        Pacer::new(plan.load, plan.senders_total(), global, plan.warmup)
    } else {
        None
    };
    let mut quota = plan.messages.unwrap_or(u64::MAX);
    let mut pending: HashMap<u64, Instant> = HashMap::new();
    let mut next_id = 1u64;
    let mut latencies: Vec<u64> = Vec::new();
    let mut timestamp = String::new();
    loop {
        let now_phase = *phase.borrow();
        if now_phase == Phase::Stop {
            break;
        }
        if sender && now_phase == Phase::Go && quota > 0 {
            let now = Instant::now();
            let mut first = true;
            while quota > 0 {
                let at = match &pacer {
                    None if pending.len() < plan.window => now,
                    Some(p) => match p.due(now) {
                        Some(at) => at,
                        None => break,
                    },
                    None => break,
                };
                let id = next_id;
                next_id += 1;
                if fanout {
                    if first {
                        timestamp.clear();
                        let _ = write!(timestamp, "{}", suites::driver::assa::now_timestamp());
                    }
                    dialect.send_message(
                        &mut conn.wbuf,
                        id,
                        room_id,
                        conn.user,
                        &timestamp,
                        wall_micros(),
                        plan.payload,
                    );
                    shared.recorder.expect(room_size);
                } else {
                    dialect.echo(&mut conn.wbuf, id, &plan.payload_text);
                    shared.recorder.expect(1);
                }
                first = false;
                shared.recorder.sent(1);
                pending.insert(id, at);
                quota -= 1;
                if let Some(p) = &mut pacer {
                    p.advance();
                }
            }
        }
        if now_phase == Phase::Drain && pending.is_empty() && !fanout {
            break;
        }
        let wake = match &pacer {
            Some(p) if now_phase == Phase::Go && quota > 0 => Some(p.next()),
            _ => None,
        };
        if conn.rbuf.capacity() - conn.rbuf.len() < READ_CHUNK / 4 {
            conn.rbuf.reserve(READ_CHUNK);
        }
        let writing = conn.woff < conn.wbuf.len();
        tokio::select! {
            changed = phase.changed() => if changed.is_err() { break },
            _ = sleep_until(wake) => {},
            written = conn.write.write(&conn.wbuf[conn.woff..]), if writing => match written {
                Ok(n) if n > 0 => {
                    conn.woff += n;
                    if conn.woff == conn.wbuf.len() {
                        conn.wbuf.clear();
                        conn.woff = 0;
                    }
                }
                _ => return Err(ConnError::new("closed-by-server", "a write failed")),
            },
            read = conn.read.read_buf(&mut conn.rbuf) => {
                if !matches!(read, Ok(n) if n > 0) {
                    if *phase.borrow() == Phase::Stop {
                        return Ok(());
                    }
                    return Err(ConnError::new("closed-by-server", "the server closed"));
                }
                // One read burst: every frame in it, one record.
                while let Some(frame) = conn.next_frame()? {
                    match dialect.classify(&conn.rbuf[frame]) {
                        Got::Answer(id) => {
                            if let Some(at) = pending.remove(&id) {
                                if !fanout {
                                    latencies.push(micros(at.elapsed()));
                                }
                            }
                        }
                        Got::Refused(id) => {
                            pending.remove(&id);
                            shared.recorder.error("send-refused");
                        }
                        Got::Delivery(sent) => latencies.push(late(sent)),
                        Got::Ping(seq) => dialect.pong(&mut conn.wbuf, &seq),
                        Got::ServerError => shared.recorder.error("server-error"),
                        Got::Other => {}
                    }
                }
                conn.split.compact(&mut conn.rbuf);
                shared.recorder.delivered(local, &latencies);
                latencies.clear();
            }
        }
    }
    if !pending.is_empty() && !fanout {
        shared.recorder.error_n("unanswered", pending.len() as u64);
    }
    Ok(())
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// The connection storm: connect, open the session, close, again.
async fn connect_loop(shared: &Shared, local: usize, global: usize) {
    let mut phase = shared.phase.clone();
    let plan = &shared.plan;
    shared.ready.fetch_add(1, Ordering::Relaxed);
    while *phase.borrow() == Phase::Setup {
        if phase.changed().await.is_err() {
            return;
        }
    }
    let mut pacer = Pacer::new(plan.load, plan.clients, global, plan.warmup);
    let mut quota = plan.messages.unwrap_or(u64::MAX);
    while *phase.borrow() == Phase::Go && quota > 0 {
        let started = match &mut pacer {
            Some(p) => {
                let at = p.next();
                tokio::time::sleep_until(at).await;
                p.advance();
                at
            }
            None => Instant::now(),
        };
        if *phase.borrow() != Phase::Go {
            break;
        }
        shared.recorder.sent(1);
        shared.recorder.expect(1);
        quota -= 1;
        match session(shared, local, global).await {
            Ok(mut conn) => {
                shared
                    .recorder
                    .delivered(local, &[micros(started.elapsed())]);
                let _ =
                    tokio::time::timeout(Duration::from_millis(200), conn.write.shutdown()).await;
            }
            Err(e) => shared.recorder.error(e.kind),
        }
    }
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
        let mut out = Vec::new();
        assa().send_message(&mut out, 7, 3, 42, "T", 1234, 12);
        let text = std::str::from_utf8(&out).unwrap();
        assert!(text.ends_with('\n'));
        let v: Value = serde_json::from_str(text.trim_end()).unwrap();
        assert_eq!(v["action"], "SEND_MESSAGE");
        assert_eq!(v["data"]["content"], "~T1234~xxxxx");
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
        assert_eq!(d.classify(ping), Got::Ping("ping_9".into()));
        let spaced = br#"{ "action": "NEW_MESSAGE", "data": { "content": "~T99~" } }"#;
        assert_eq!(d.classify(spaced), Got::Delivery(99));
        assert_eq!(
            d.classify(br#"{"action":"ERROR","seq_id":"x"}"#),
            Got::ServerError
        );
    }

    #[test]
    fn frames_split_in_every_framing() {
        let mut s = Splitter::new(Wire::JsonStream);
        let buf = br#"{"a":"}{"} {"b":[1]}{"c":"#.to_vec();
        assert_eq!(s.next(&buf), Ok(Some(0..10)));
        assert_eq!(s.next(&buf), Ok(Some(11..20)));
        assert_eq!(s.next(&buf), Ok(None));
        let mut buf = buf;
        s.compact(&mut buf);
        buf.extend_from_slice(b"1}\n");
        assert_eq!(s.next(&buf), Ok(Some(0..7)));
        assert_eq!(s.next(&buf), Ok(None));
        assert_eq!(Splitter::new(Wire::JsonStream).next(b"x"), Err("not-json"));

        let mut lines = Splitter::new(Wire::Lines);
        let buf = b"1 a\n\n2 b\n3";
        assert_eq!(lines.next(buf), Ok(Some(0..3)));
        assert_eq!(lines.next(buf), Ok(Some(5..8)));
        assert_eq!(lines.next(buf), Ok(None));

        let mut prefixed = Splitter::new(Wire::LengthPrefixed);
        let mut out = Vec::new();
        let d = TcpDialect::Assa(Box::new(AssaBench {
            target: suites::target::AssaTarget {
                framing: suites::target::AssaFraming::LengthPrefixed,
                ..match assa() {
                    TcpDialect::Assa(a) => a.target,
                    TcpDialect::Baseline { .. } => unreachable!(),
                }
            },
            first_user: 1,
        }));
        d.message(&mut out, &json!({"a": 1}));
        assert_eq!(&out[..4], &[0, 0, 0, 7]);
        assert_eq!(prefixed.next(&out[..6]), Ok(None));
        assert_eq!(prefixed.next(&out), Ok(Some(4..11)));
    }
}
