//! The ASSA fuzzer: requests from the grammar, valid sessions with one message broken, and hostile frames over TCP.
//!
//! The inputs of a run share one connection authenticated with CONNECT
//! (an ASSA session outlives a malformed request: the server answers ERROR
//! and keeps it), a fresh one after the server closed it; after every
//! input a `ROOM_INFO` request must get its response (success or not) or a
//! close within the wait. After a JSON value cut short nothing can be
//! checked on that connection (the framing may wait for its end, and would
//! take the probe into it): the next input gets a fresh one. Oversized
//! frames and requests before CONNECT go on fresh connections of their
//! own; a truncated frame may be waited on.

use std::time::Duration;

use futures::future::BoxFuture;
use futures::FutureExt;
use protocols::assa::framing::{Decoder, Framing};
use protocols::Protocol;
use serde_json::{json, Value};
use tokio::sync::{mpsc, oneshot};

use super::raw;
use super::{
    step_bytes, Broken, FuzzTarget, Gen, Input, Oracle, Sentinel, SessionFuzzer, Step, TaskSentinel,
};
use crate::driver::DriverError;
use crate::wire::{Link, TcpConn};

/// The ASSA fuzzer.
pub struct AssaFuzzer;

/// The seq_id of the probe after every input, before its number on the connection.
const PROBE: &str = "fuzz-probe";

/// A request envelope.
fn request(action: &str, seq: &str, data: Value) -> Value {
    let mut msg =
        json!({ "action": action, "timestamp": "2024-01-01T12:00:00.000Z", "seq_id": seq });
    if !data.is_null() {
        msg["data"] = data;
    }
    msg
}

/// Valid requests of a session (§4-§7), after CONNECT.
fn valid(n: usize) -> Value {
    let seq = format!("v{n}");
    match n % 9 {
        0 => request(
            "CREATE_ROOM",
            &seq,
            json!({"name": "fuzz", "is_open": true, "max_participants": 10}),
        ),
        1 => request("JOIN_ROOM", &seq, json!({"room_id": 1})),
        2 => request(
            "SEND_MESSAGE",
            &seq,
            json!({"room_id": 1, "content": "hi", "message_type": "text"}),
        ),
        3 => request("ROOM_INFO", &seq, json!({"room_id": 1})),
        4 => request(
            "CHECK_RECEIVE",
            &seq,
            json!({"room_id": 1, "message_ids": [1, 2]}),
        ),
        5 => request(
            "INVITE",
            &seq,
            json!({"room_id": 1, "invited_user_ids": [2]}),
        ),
        6 => request(
            "CREATE_VIDEO_ROOM",
            &seq,
            json!({"chat_room_id": 1, "video_room_name": "v", "max_participants": 4}),
        ),
        7 => request("EXIT_ROOM", &seq, json!({"room_id": 1})),
        _ => request("PONG", &seq, Value::Null),
    }
}

const ACTIONS: &[&str] = &[
    "CONNECT",
    "DISCONNECT",
    "CREATE_ROOM",
    "JOIN_ROOM",
    "EXIT_ROOM",
    "ROOM_INFO",
    "SEND_MESSAGE",
    "CHECK_RECEIVE",
    "INVITE",
    "CREATE_VIDEO_ROOM",
    "JOIN_VIDEO_ROOM",
    "SDP",
    "ICE_CANDIDATE",
    "MEDIA_STATUS",
    "EXIT_VIDEO_ROOM",
    "GET_VIDEO_ROOM_PARTICIPANT",
    "PONG",
    "NEW_MESSAGE",
    "PING",
    "NOT_AN_ACTION",
];

impl SessionFuzzer for AssaFuzzer {
    type Session = Conn;

    fn protocol(&self) -> Protocol {
        Protocol::Assa
    }

    fn generate(&self, gen: &mut Gen) -> Input {
        let line = |v: &Value| Step::Text {
            text: v.to_string(),
        };
        let (class, steps) = match gen.below(10) {
            0..=2 => {
                let fields = [
                    "room_id",
                    "content",
                    "message_type",
                    "video_room_id",
                    "target_user_id",
                    "name",
                ];
                let mut data = serde_json::Map::new();
                for _ in 0..gen.below(4) {
                    data.insert(gen.pick(&fields).to_string(), gen.value());
                }
                let action = *gen.pick(ACTIONS);
                let mut msg = request(action, "g1", Value::Object(data));
                if gen.one_in(3) {
                    // Type confusion in the envelope.
                    let key = *gen.pick(&["action", "seq_id", "timestamp", "data"]);
                    msg[key] = gen.value();
                }
                ("grammar".to_owned(), vec![line(&msg)])
            }
            3..=5 => {
                let start = gen.below(9);
                let mut steps: Vec<Step> = (0..1 + gen.below(4))
                    .map(|i| line(&valid(start + i)))
                    .collect();
                let at = gen.below(steps.len());
                let how = gen.below(3);
                let original = valid(start + at);
                steps[at] = match how {
                    0 => Step::Text {
                        text: gen.break_text(&original.to_string()),
                    },
                    1 => line(&gen.break_json(&original)),
                    _ => Step::binary(&gen.invalid_utf8(&original.to_string())),
                };
                (format!("mutation:{}", ["text", "json", "utf8"][how]), steps)
            }
            6 => {
                let steps = match gen.below(4) {
                    0 => vec![line(&request(
                        "CONNECT",
                        "c2",
                        json!({"jwt_token": "again"}),
                    ))],
                    1 => vec![line(&valid(7)), line(&valid(7)), line(&valid(2))],
                    2 => {
                        let before =
                            request("JOIN_ROOM", "early", json!({"room_id": 1})).to_string() + "\n";
                        vec![Step::tcp(before.as_bytes(), false)]
                    }
                    _ => (0..50).map(|i| line(&valid(3 + 9 * i))).collect(),
                };
                ("order".to_owned(), steps)
            }
            7 => {
                let text = format!(
                    r#"{{"action":"ROOM_INFO","seq_id":"n","data":{{"room_id":{}}}}}"#,
                    gen.nested_text()
                );
                ("nesting".to_owned(), vec![Step::Text { text }])
            }
            8 => {
                let big = request(
                    "SEND_MESSAGE",
                    "big",
                    json!({"room_id": 1, "content": "x".repeat(1_100_000), "message_type": "text"}),
                );
                (
                    "oversized-frame".to_owned(),
                    vec![Step::tcp((big.to_string() + "\n").as_bytes(), false)],
                )
            }
            _ => {
                let whole = valid(gen.below(9)).to_string();
                let cut = gen.below(whole.len().max(2) - 1) + 1;
                (
                    "truncated-frame".to_owned(),
                    vec![Step::tcp(&whole.as_bytes()[..cut], true)],
                )
            }
        };
        Input {
            protocol: "assa".to_owned(),
            class,
            steps,
        }
    }

    fn open<'a>(
        &'a self,
        target: &'a FuzzTarget,
        link: &'a Link,
        wait: Duration,
    ) -> BoxFuture<'a, Result<Conn, Broken>> {
        Conn::connect(target, link, token(target, 2), wait).boxed()
    }

    fn send<'a>(
        &'a self,
        target: &'a FuzzTarget,
        link: &'a Link,
        session: &'a mut Option<Conn>,
        input: &'a Input,
        wait: Duration,
    ) -> BoxFuture<'a, Result<(), Broken>> {
        send(target, link, session, input, wait).boxed()
    }

    fn probe<'a>(
        &'a self,
        session: &'a mut Conn,
        wait: Duration,
    ) -> BoxFuture<'a, Result<bool, Broken>> {
        session.probe(wait).boxed()
    }

    fn sentinel<'a>(
        &'a self,
        target: &'a FuzzTarget,
        wait: Duration,
    ) -> BoxFuture<'a, Result<Box<dyn Sentinel>, Broken>> {
        async move {
            let link = Link::bare(wait);
            let sentinel = |b: Broken| Broken::new(Oracle::Sentinel, b.detail);
            let mut sender = Conn::connect(target, &link, token(target, 1), wait)
                .await
                .map_err(sentinel)?;
            let mut member = Conn::connect(target, &link, token(target, 0), wait)
                .await
                .map_err(sentinel)?;
            let created = sender
                .call(
                    &request(
                        "CREATE_ROOM",
                        "s1",
                        json!({"name": "sentinel", "is_open": true}),
                    ),
                    wait,
                )
                .await
                .map_err(sentinel)?;
            let room = created["data"]["room_id"].clone();
            let joined = member
                .call(&request("JOIN_ROOM", "s2", json!({"room_id": room})), wait)
                .await
                .map_err(sentinel)?;
            if joined["success"] != true {
                return Err(Broken::new(
                    Oracle::Sentinel,
                    format!("the sentinel cannot join its room: {joined}"),
                ));
            }
            let (tx, rx) = mpsc::channel(1);
            tokio::spawn(sentinel_task(sender, member, room, rx));
            Ok(Box::new(TaskSentinel::new(tx, 3, "NEW_MESSAGE")) as Box<dyn Sentinel>)
        }
        .boxed()
    }
}

/// Sends one input's steps on `session` (a fresh connection when there is
/// none); `session` is left empty when the connection can carry nothing
/// more.
async fn send(
    target: &FuzzTarget,
    link: &Link,
    session: &mut Option<Conn>,
    input: &Input,
    wait: Duration,
) -> Result<(), Broken> {
    let mut conn = match session.take() {
        Some(conn) => conn,
        None => Conn::connect(target, link, token(target, 2), wait).await?,
    };
    for step in &input.steps {
        let line = match step {
            Step::Text { text } => text.as_bytes().to_vec(),
            Step::Binary { hex } => step_bytes(hex)?,
            Step::Tcp { hex, may_wait } => {
                raw::tcp(&target.url, link, &step_bytes(hex)?, *may_wait, wait).await?;
                continue;
            }
            // WebSocket steps: the SocketCluster fuzzer's; no probe within a run's input.
            Step::WsFrame { .. } | Step::Fresh { .. } | Step::Probe => continue,
        };
        // A JSON value left unfinished: the server may wait for its end,
        // and what follows becomes part of it. Nothing after it can be checked.
        let cut_short = unfinished(&line);
        if conn.send_line(&line).await.is_err() || cut_short {
            return Ok(());
        }
    }
    *session = Some(conn);
    Ok(())
}

/// Whether `line` (and its newline) leaves a JSON value unfinished on the
/// stream: the JSON-stream framing waits for the rest of it, and would take
/// what follows (the probe) into it. Decided by the protocol's own framing
/// decoder, which tracks nesting and strings as a server does: a stray
/// quote (`"SEND_MESSAG""`) leaves a string open to the end of the line,
/// where a JSON parser sees only a syntax error.
fn unfinished(line: &[u8]) -> bool {
    let mut decoder = Decoder::new(Framing::JsonStream);
    decoder.feed(line);
    decoder.feed(b"\n");
    loop {
        match decoder.next_frame() {
            Ok(Some(_)) => continue,
            Ok(None) => {
                // Drops the frames handed out: what is left is the value in progress.
                decoder.feed(&[]);
                return decoder.buffered() > 0;
            }
            // A broken stream: the server answers ERROR and closes.
            Err(_) => return false,
        }
    }
}

fn token(target: &FuzzTarget, n: usize) -> &str {
    target
        .tokens
        .get(n)
        .or(target.tokens.last())
        .map_or("", String::as_str)
}

/// An authenticated ASSA connection that answers PINGs while it reads.
pub struct Conn {
    tcp: TcpConn,
    buf: Vec<u8>,
    closed: bool,
    /// Probes sent, each with a seq_id of its own.
    probes: u64,
}

impl Conn {
    async fn connect(
        target: &FuzzTarget,
        link: &Link,
        token: &str,
        wait: Duration,
    ) -> Result<Conn, Broken> {
        let tcp = link
            .open("assa")
            .tcp_raw(&target.url)
            .await
            .map_err(|e| Broken::new(Oracle::FreshClient, e.to_string()))?;
        let mut conn = Conn {
            tcp,
            buf: Vec::new(),
            closed: false,
            probes: 0,
        };
        let answer = conn
            .call(
                &request("CONNECT", "fuzz-connect", json!({"jwt_token": token})),
                wait,
            )
            .await?;
        if answer["success"] != true {
            return Err(Broken::new(
                Oracle::FreshClient,
                format!("CONNECT refused: {answer}"),
            ));
        }
        Ok(conn)
    }

    async fn send_line(&mut self, line: &[u8]) -> Result<(), DriverError> {
        let mut bytes = line.to_vec();
        bytes.push(b'\n');
        self.tcp.send(&bytes).await
    }

    /// The next message; `Ok(None)` when the connection ended. PINGs are answered, not returned.
    async fn next(&mut self, within: Duration) -> Result<Option<Value>, DriverError> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            if let Some(at) = self.buf.iter().position(|b| *b == b'\n') {
                let line: Vec<u8> = self.buf.drain(..=at).collect();
                let Ok(value) = serde_json::from_slice::<Value>(&line) else {
                    return Err(DriverError::Protocol(format!(
                        "the server sent a line that is not JSON: {:?}",
                        String::from_utf8_lossy(&line)
                    )));
                };
                if value["action"] == "PING" {
                    let pong = request(
                        "PONG",
                        value["seq_id"].as_str().unwrap_or("pong"),
                        Value::Null,
                    );
                    self.send_line(pong.to_string().as_bytes()).await?;
                    continue;
                }
                return Ok(Some(value));
            }
            if self.closed {
                return Ok(None);
            }
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match self.tcp.recv(left).await? {
                Some(bytes) => self.buf.extend_from_slice(&bytes),
                None => self.closed = true,
            }
        }
    }

    /// Sends a request and waits for the response with its seq_id.
    async fn call(&mut self, msg: &Value, wait: Duration) -> Result<Value, Broken> {
        let seq = msg["seq_id"].as_str().unwrap_or_default().to_owned();
        self.send_line(msg.to_string().as_bytes())
            .await
            .map_err(|e| Broken::new(Oracle::FreshClient, e.to_string()))?;
        loop {
            match self.next(wait).await {
                Ok(Some(v))
                    if v["seq_id"] == seq.as_str()
                        && v["action"]
                            .as_str()
                            .is_some_and(|a| a.ends_with("_RESPONSE")) =>
                {
                    return Ok(v)
                }
                Ok(Some(_)) => continue,
                Ok(None) => return Err(Broken::new(Oracle::FreshClient, "the connection closed")),
                Err(e) => return Err(Broken::new(Oracle::FreshClient, e.to_string())),
            }
        }
    }

    /// `ROOM_INFO`: its response or a close must come in time; whether the
    /// connection is still open.
    async fn probe(&mut self, wait: Duration) -> Result<bool, Broken> {
        self.probes += 1;
        let seq = format!("{PROBE}-{}", self.probes);
        let msg = request("ROOM_INFO", &seq, json!({"room_id": 1}));
        if self.send_line(msg.to_string().as_bytes()).await.is_err() {
            return Ok(false);
        }
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match self.next(left).await {
                Ok(Some(v)) if v["seq_id"] == seq.as_str() => return Ok(true),
                Ok(Some(_)) => continue,
                Ok(None) | Err(DriverError::Closed(_)) => return Ok(false),
                Err(DriverError::Timeout(_)) => {
                    return Err(Broken::new(
                        Oracle::Silence,
                        format!(
                            "no ROOM_INFO_RESPONSE and no close within {} ms",
                            wait.as_millis()
                        ),
                    ))
                }
                Err(e) => return Err(Broken::new(Oracle::BadAnswer, e.to_string())),
            }
        }
    }
}

/// Keeps both sentinel connections read (their PINGs answered) and runs the checks.
async fn sentinel_task(
    mut sender: Conn,
    mut member: Conn,
    room: Value,
    mut rx: mpsc::Receiver<(u64, oneshot::Sender<Result<(), String>>)>,
) {
    let wait = Duration::from_secs(2);
    loop {
        let command = tokio::select! {
            c = rx.recv() => c,
            _ = tokio::time::sleep(Duration::from_millis(10)) => {
                // Everything that came is read: the fuzzed sessions may send
                // to the sentinel's room, and a reader that lets its queue
                // fill is rightly cut off by the server.
                for conn in [&mut sender, &mut member] {
                    for _ in 0..10_000 {
                        match conn.next(Duration::from_millis(1)).await {
                            Ok(Some(_)) => {}
                            Err(DriverError::Timeout(_)) => break,
                            Ok(None) | Err(_) => return,
                        }
                    }
                }
                continue;
            }
        };
        let Some((n, done)) = command else { return };
        let content = format!("sentinel-{n}");
        let msg = request(
            "SEND_MESSAGE",
            &format!("sm{n}"),
            json!({"room_id": room, "content": content, "message_type": "text"}),
        );
        let result = async {
            sender
                .send_line(msg.to_string().as_bytes())
                .await
                .map_err(|e| e.to_string())?;
            loop {
                match member.next(wait).await {
                    Ok(Some(v))
                        if v["action"] == "NEW_MESSAGE"
                            && v["data"]["content"] == content.as_str() =>
                    {
                        return Ok(())
                    }
                    Ok(Some(_)) => continue,
                    Ok(None) => return Err("the member's connection closed".to_owned()),
                    Err(e) => return Err(format!("no NEW_MESSAGE: {e}")),
                }
            }
        }
        .await;
        let failed = result.is_err();
        let _ = done.send(result);
        if failed {
            return;
        }
        // The sender's response, read so it does not pile up.
        let _ = sender.next(Duration::from_millis(5)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::unfinished;

    #[test]
    fn a_line_that_leaves_a_value_open_on_the_stream_is_unfinished() {
        // Complete values, one or several, and broken ones the framing refuses.
        for done in [
            r#"{"action":"PONG"}"#,
            r#"{"a":1} {"b":2}"#,
            r#"{"a":}"#,
            "[1]",
            "",
        ] {
            assert!(!unfinished(done.as_bytes()), "{done}");
        }
        // Cut short, or a stray quote that leaves a string open to the end.
        for open in [
            r#"{"action":"ROOM_INFO","data":{"#,
            r#"{"action":"SEND_MESSAG"","data":{"room_id":1}}"#,
            r#"{"a":1} {"b""#,
            "{\"a\":\"\\",
        ] {
            assert!(unfinished(open.as_bytes()), "{open}");
        }
    }
}
