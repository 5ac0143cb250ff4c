//! The SocketCluster fuzzer: events, pub/sub and auth from the grammar, valid sessions with one message broken, messages before the handshake, and the WebSocket and HTTP CVE classes.
//!
//! The text steps of a run's inputs share one session (protocol 1, after
//! its `#handshake`: the session outlives what the server ignores or
//! answers with an error), a fresh one after the server closed it; after
//! every input an `echo` with the probe's cid must get its response, or
//! the connection must close, within the wait. A step
//! before the handshake (`Step::Fresh`) runs on a WebSocket of its own and is
//! followed by a `#handshake` that must be answered or closed on; raw frames
//! and HTTP requests go on TCP connections of their own. The sentinel is a
//! subscriber of `fuzz-sentinel` that must receive every publication a
//! second session makes there.

use std::time::Duration;

use futures::future::BoxFuture;
use futures::FutureExt;
use protocols::socketcluster::ProtocolVersion;
use protocols::Protocol;
use serde_json::{json, Value};
use tokio::sync::{mpsc, oneshot};

use super::raw;
use super::socketio::host_port;
use super::{
    step_bytes, Broken, FuzzTarget, Gen, Input, Oracle, Sentinel, SessionFuzzer, Step, TaskSentinel,
};
use crate::driver::socketcluster::{Incoming, ScClient};
use crate::driver::DriverError;
use crate::wire::Link;

/// The SocketCluster fuzzer.
pub struct ScFuzzer;

/// The cid of the probe after every input: a number (socketcluster-server
/// never answers a string cid) no generated input uses.
const PROBE: u64 = 987_654_321;
/// The cid of the `#handshake` after a message sent before the handshake.
const HANDSHAKE: u64 = 987_654_322;
/// The sentinel's channel.
const SENTINEL_CHANNEL: &str = "fuzz-sentinel";
/// The protocol version the fuzzer speaks.
const VERSION: ProtocolVersion = ProtocolVersion::V1;

/// Event names a client sends, reserved or not, and names no server handles.
const EVENTS: &[&str] = &[
    "echo",
    "fail",
    "login",
    "slow-echo",
    "#subscribe",
    "#unsubscribe",
    "#publish",
    "#authenticate",
    "#removeAuthToken",
    "#handshake",
    "#kickOut",
    "#setAuthToken",
    "#disconnect",
    "#nope",
    "no-such-procedure",
    "",
];

/// Channel names: plain, empty, reserved, the auth channel of the reference server, long.
const CHANNELS: &[&str] = &["ch", "", "#x", "private/chatspec", "a/b/c", "ümlaut"];

/// Valid messages of a session after its handshake.
fn valid(n: usize) -> Value {
    let cid = 100 + n;
    match n % 8 {
        0 => json!({"event": "echo", "data": {"a": [1, 2, {"b": null}]}, "cid": cid}),
        1 => json!({"event": "#subscribe", "data": {"channel": "ch"}, "cid": cid}),
        2 => json!({"event": "#publish", "data": {"channel": "ch", "data": "hi"}, "cid": cid}),
        3 => json!({"event": "#unsubscribe", "data": "ch", "cid": cid}),
        4 => json!({"event": "login", "data": {"user": "fuzz"}, "cid": cid}),
        5 => json!({"event": "#removeAuthToken"}),
        6 => json!({"event": "slow-echo", "data": {"delay_ms": 5, "data": 1}, "cid": cid}),
        _ => json!({"event": "fail", "data": null, "cid": cid}),
    }
}

/// A JWT-shaped token nobody signed: `alg: none`, a bad signature, garbage.
fn forged(gen: &mut Gen) -> Value {
    match gen.below(4) {
        0 => json!("eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJzdWIiOjF9."),
        1 => json!("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOjEsImV4cCI6OTk5OTk5OTk5OX0.AAAA"),
        2 => json!("..."),
        _ => gen.value(),
    }
}

impl ScFuzzer {
    /// An event from the grammar: any name, any data, any cid.
    fn grammar(gen: &mut Gen) -> Value {
        let name = if gen.one_in(5) {
            gen.value()
        } else {
            json!(gen.pick(EVENTS))
        };
        let data = match gen.below(4) {
            0 => json!({"channel": gen.pick(CHANNELS), "data": gen.value()}),
            1 => json!({"user": gen.value()}),
            2 => {
                json!({"delay_ms": gen.pick(&[json!(0), json!(-1), json!(u64::MAX), json!("5")]), "data": gen.value()})
            }
            _ => gen.value(),
        };
        let mut event = json!({"event": name, "data": data});
        match gen.below(5) {
            0 => {}
            1 => event["cid"] = json!(gen.below(1000)),
            2 => event["cid"] = json!(format!("c{}", gen.below(1000))),
            _ => event["cid"] = gen.value(),
        }
        if gen.one_in(6) {
            // A response to an event the server never sent, or both `event` and `rid`.
            event["rid"] = gen.value();
        }
        event
    }

    /// Messages before the handshake.
    fn before_handshake(gen: &mut Gen) -> (String, String) {
        let text = match gen.below(7) {
            0 => "not json".to_owned(),
            1 => valid(gen.below(8)).to_string(),
            2 => json!({"event": "#handshake", "data": {}}).to_string(),
            3 => json!({"event": "#handshake", "data": {"authToken": forged(gen)}, "cid": 1})
                .to_string(),
            4 => {
                json!({"event": "#handshake", "data": gen.value(), "cid": gen.value()}).to_string()
            }
            5 => VERSION.pong().to_owned(),
            _ => json!([{"event": "#handshake", "data": {}, "cid": 1}, valid(0)]).to_string(),
        };
        ("before-handshake".to_owned(), text)
    }

    /// The HTTP classes of ws and engine.io, and frames over the limit.
    fn cve_http(gen: &mut Gen, path: &str) -> (String, Vec<Step>) {
        match gen.below(3) {
            0 | 1 => {
                let (class, request) = raw::http_cve(gen, path, true);
                (class, vec![Step::tcp(&request, false)])
            }
            _ => {
                let big = "x".repeat(70_000 + gen.below(1_100_000));
                let text = json!({"event": "echo", "data": big, "cid": 9}).to_string();
                ("oversized-frame".into(), vec![Step::Text { text }])
            }
        }
    }
}

impl SessionFuzzer for ScFuzzer {
    type Session = ScClient;

    fn protocol(&self) -> Protocol {
        Protocol::Socketcluster
    }

    fn generate(&self, gen: &mut Gen) -> Input {
        let text = |v: &Value| Step::Text {
            text: v.to_string(),
        };
        let (class, steps) = match gen.below(12) {
            0..=2 => ("grammar".to_owned(), vec![text(&Self::grammar(gen))]),
            3..=5 => {
                let start = gen.below(8);
                let mut steps: Vec<Step> = (0..1 + gen.below(4))
                    .map(|i| text(&valid(start + i)))
                    .collect();
                let at = gen.below(steps.len());
                let original = valid(start + at);
                let how = gen.below(3);
                steps[at] = match how {
                    0 => Step::Text {
                        text: gen.break_text(&original.to_string()),
                    },
                    1 => text(&gen.break_json(&original)),
                    _ => {
                        Step::ws_frame(&raw::masked(0x81, &gen.invalid_utf8(&original.to_string())))
                    }
                };
                (format!("mutation:{}", ["text", "json", "utf8"][how]), steps)
            }
            6 => {
                let steps = match gen.below(5) {
                    0 => vec![text(&json!({"event": "#handshake", "data": {}, "cid": 2}))],
                    1 => vec![text(&valid(0)), text(&valid(0)), text(&valid(0))],
                    2 => vec![text(&valid(3)), text(&valid(2)), text(&valid(1))],
                    3 => vec![text(&valid(4)), text(&valid(5)), text(&valid(5))],
                    _ => (0..50).map(|i| text(&valid(8 * i))).collect(),
                };
                ("order".to_owned(), steps)
            }
            7 => {
                let batch: Vec<Value> = (0..1 + gen.below(200)).map(valid).collect();
                ("batch".to_owned(), vec![text(&Value::Array(batch))])
            }
            8 => {
                let (class, text) = Self::before_handshake(gen);
                (class, vec![Step::Fresh { text }])
            }
            9 => {
                let steps = match gen.below(3) {
                    0 => vec![text(&json!({"event": "#authenticate", "data": forged(gen), "cid": 3}))],
                    1 => vec![text(&json!({"event": "#subscribe", "data": {"channel": "private/chatspec"}, "cid": 3}))],
                    _ => vec![Step::Fresh {
                        text: json!({"event": "#handshake", "data": {"authToken": forged(gen)}, "cid": 1})
                            .to_string(),
                    }],
                };
                ("auth".to_owned(), steps)
            }
            10 => {
                if gen.one_in(2) {
                    let text =
                        format!(r#"{{"event":"echo","data":{},"cid":5}}"#, gen.nested_text());
                    ("nesting".to_owned(), vec![Step::Text { text }])
                } else {
                    let (class, frame) = raw::ws_cve(gen, valid(0).to_string().as_bytes());
                    (class, vec![Step::ws_frame(&frame)])
                }
            }
            _ => Self::cve_http(gen, "/socketcluster/"),
        };
        Input {
            protocol: "socketcluster".to_owned(),
            class,
            steps,
        }
    }

    fn open<'a>(
        &'a self,
        target: &'a FuzzTarget,
        link: &'a Link,
        _wait: Duration,
    ) -> BoxFuture<'a, Result<ScClient, Broken>> {
        connect(target, link).boxed()
    }

    fn send<'a>(
        &'a self,
        target: &'a FuzzTarget,
        link: &'a Link,
        session: &'a mut Option<ScClient>,
        input: &'a Input,
        wait: Duration,
    ) -> BoxFuture<'a, Result<(), Broken>> {
        send(target, link, session, input, wait).boxed()
    }

    fn probe<'a>(
        &'a self,
        session: &'a mut ScClient,
        _wait: Duration,
    ) -> BoxFuture<'a, Result<bool, Broken>> {
        probe(session).boxed()
    }

    fn sentinel<'a>(
        &'a self,
        target: &'a FuzzTarget,
        wait: Duration,
    ) -> BoxFuture<'a, Result<Box<dyn Sentinel>, Broken>> {
        async move {
            let link = Link::bare(wait);
            let sentinel = |b: Broken| Broken::new(Oracle::Sentinel, b.detail);
            let mut subscriber = connect(target, &link).await.map_err(sentinel)?;
            let publisher = connect(target, &link).await.map_err(sentinel)?;
            let answer = subscriber
                .invoke("#subscribe", json!({ "channel": SENTINEL_CHANNEL }))
                .await
                .map_err(|e| Broken::new(Oracle::Sentinel, e.to_string()))?;
            if answer.get("error").is_some() {
                return Err(Broken::new(
                    Oracle::Sentinel,
                    format!("the sentinel cannot subscribe: {answer}"),
                ));
            }
            let (tx, rx) = mpsc::channel(1);
            tokio::spawn(sentinel_task(subscriber, publisher, rx));
            Ok(Box::new(TaskSentinel::new(tx, 2, "#publish")) as Box<dyn Sentinel>)
        }
        .boxed()
    }
}

/// Sends one input: its text steps on `session` (opened for the first of
/// them when there is none), the others on connections of their own.
/// `session` is left empty when the server closed it.
async fn send(
    target: &FuzzTarget,
    link: &Link,
    session: &mut Option<ScClient>,
    input: &Input,
    wait: Duration,
) -> Result<(), Broken> {
    let addr = host_port(&target.url);
    let path = url_path(&target.url);
    let mut closed = false;
    for step in &input.steps {
        match step {
            Step::Text { text } => {
                if closed {
                    continue;
                }
                let client = match session {
                    Some(client) => client,
                    None => session.insert(connect(target, link).await?),
                };
                closed = client.send_text(text.as_str()).await.is_err();
            }
            Step::WsFrame { hex } => {
                raw::ws_frame(&addr, &path, link, &step_bytes(hex)?, wait).await?;
            }
            // A binary message, on a WebSocket of its own.
            Step::Binary { hex } => {
                let frame = raw::masked(0x82, &step_bytes(hex)?);
                raw::ws_frame(&addr, &path, link, &frame, wait).await?;
            }
            Step::Tcp { hex, may_wait } => {
                raw::tcp(&addr, link, &step_bytes(hex)?, *may_wait, wait).await?;
            }
            Step::Fresh { text } => before_handshake(target, link, text).await?,
            // No probe within a run's input.
            Step::Probe => {}
        }
    }
    if closed {
        *session = None;
    }
    Ok(())
}

/// The path of a `ws://host:port/path` URL (`/` when it has none).
fn url_path(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    rest.find('/')
        .map_or_else(|| "/".to_owned(), |at| rest[at..].to_owned())
}

/// A session after its `#handshake`.
async fn connect(target: &FuzzTarget, link: &Link) -> Result<ScClient, Broken> {
    ScClient::connected(link, &target.url, VERSION)
        .await
        .map_err(|e| Broken::new(Oracle::FreshClient, format!("connecting failed: {e}")))
}

/// `echo` with the probe's cid: its response, or a close, must come within
/// the wait; whether the session is still open.
async fn probe(client: &mut ScClient) -> Result<bool, Broken> {
    let call = json!({"event": "echo", "data": "fuzz-probe", "cid": PROBE});
    if client.send_json(&call).await.is_err() {
        return Ok(false);
    }
    match client.response(&json!(PROBE)).await {
        Ok(_) => {
            // What came before the probe's response was read past: no need to keep it.
            client.forget();
            Ok(true)
        }
        Err(DriverError::Closed(_)) => Ok(false),
        Err(DriverError::Timeout(e)) => Err(Broken::new(Oracle::Silence, e)),
        Err(e) => Err(Broken::new(Oracle::BadAnswer, e.to_string())),
    }
}

/// `text` on a fresh WebSocket, then `#handshake` and the probe: the
/// handshake's answer (or, when `text` was a handshake itself, the probe's),
/// or a close, must come within the wait.
async fn before_handshake(target: &FuzzTarget, link: &Link, text: &str) -> Result<(), Broken> {
    let mut client = ScClient::open(link, &target.url, VERSION)
        .await
        .map_err(|e| Broken::new(Oracle::FreshClient, format!("connecting failed: {e}")))?;
    let handshake = json!({"event": "#handshake", "data": {}, "cid": HANDSHAKE});
    let call = json!({"event": "echo", "data": "fuzz-probe", "cid": PROBE});
    for sent in [text.to_owned(), handshake.to_string(), call.to_string()] {
        if client.send_text(sent).await.is_err() {
            return Ok(());
        }
    }
    let deadline = tokio::time::Instant::now() + client.wait();
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        match client.next(left).await {
            Ok(Some(Incoming::Json(v))) if v["rid"] == HANDSHAKE || v["rid"] == PROBE => {
                return Ok(())
            }
            Ok(Some(Incoming::Closed(_))) | Err(DriverError::Closed(_)) => return Ok(()),
            Ok(Some(_)) => continue,
            Ok(None) => {
                return Err(Broken::new(
                    Oracle::Silence,
                    format!(
                        "after {text:.80?} before the handshake, neither #handshake nor echo got an answer, and no close, within {} ms",
                        client.wait().as_millis()
                    ),
                ))
            }
            Err(e) => return Err(Broken::new(Oracle::BadAnswer, e.to_string())),
        }
    }
}

/// Keeps both sentinel sessions read (their pings answered) and runs the checks.
async fn sentinel_task(
    mut subscriber: ScClient,
    mut publisher: ScClient,
    mut rx: mpsc::Receiver<(u64, oneshot::Sender<Result<(), String>>)>,
) {
    loop {
        let (n, done) = match rx.try_recv() {
            Ok(check) => check,
            Err(mpsc::error::TryRecvError::Disconnected) => return,
            Err(mpsc::error::TryRecvError::Empty) => {
                for client in [&mut subscriber, &mut publisher] {
                    match client.next(Duration::from_millis(10)).await {
                        Ok(Some(Incoming::Closed(_))) | Err(_) => return,
                        Ok(_) => {}
                    }
                }
                continue;
            }
        };
        let result = sentinel_round(&mut subscriber, &mut publisher, n).await;
        let failed = result.is_err();
        let _ = done.send(result);
        if failed {
            return;
        }
    }
}

async fn sentinel_round(
    subscriber: &mut ScClient,
    publisher: &mut ScClient,
    n: u64,
) -> Result<(), String> {
    let tag = format!("sentinel-{n}");
    let published = publisher
        .invoke(
            "#publish",
            json!({"channel": SENTINEL_CHANNEL, "data": tag}),
        )
        .await
        .map_err(|e| e.to_string())?;
    if published.get("error").is_some() {
        return Err(format!("the publication was refused: {published}"));
    }
    let wait = subscriber.wait();
    loop {
        match subscriber.expect_event("#publish", wait).await {
            Ok(data) if data["channel"] == SENTINEL_CHANNEL && data["data"] == tag.as_str() => {
                return Ok(())
            }
            Ok(_) => continue,
            Err(e) => return Err(format!("no #publish: {e}")),
        }
    }
}
