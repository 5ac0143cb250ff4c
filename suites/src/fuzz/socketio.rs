//! The Socket.IO fuzzer: packets from the grammar, valid sessions with one frame broken, and the CVE classes of socket.io-parser, engine.io and ws.
//!
//! The inputs of a run share one session connected to `/` over WebSocket
//! (Engine.IO 4) of a server running the echo app, for as long as it
//! lasts: a strict server closes it on any packet it refuses, and the next
//! input opens a fresh one. Raw HTTP and WebSocket bytes go on fresh TCP
//! connections. After every input the session emits `message-with-ack`:
//! the ack or a close must come within the wait.

use std::time::Duration;

use futures::future::BoxFuture;
use futures::FutureExt;
use protocols::engineio::{EioVersion, Packet as EioPacket};
use protocols::socketio::{Data, PacketType};
use protocols::Protocol;
use serde_json::json;
use tokio::sync::{mpsc, oneshot};

use super::raw::{self, masked};
use super::{
    step_bytes, Broken, FuzzTarget, Gen, Input, Oracle, Sentinel, SessionFuzzer, Step, TaskSentinel,
};
use crate::driver::engineio::Endpoint;
use crate::driver::socketio::{SioClient, Transport};
use crate::driver::DriverError;
use crate::wire::Link;

/// The Socket.IO fuzzer.
pub struct SocketioFuzzer;

/// The ack id of the probe after every input.
const PROBE_ACK: u64 = 7777;
/// The Engine.IO path.
const PATH: &str = "/socket.io/";

fn endpoint(target: &FuzzTarget) -> Endpoint {
    Endpoint {
        base: target.url.trim_end_matches('/').to_owned(),
        path: PATH.to_owned(),
        version: EioVersion::V4,
    }
}

/// `host:port` of an `http://host:port` URL.
pub fn host_port(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    rest.split('/').next().unwrap_or(rest).to_owned()
}

/// Valid Socket.IO packets of the echo app (Engine.IO message packets, `4` included).
const VALID: &[&str] = &[
    r#"42["message","hello"]"#,
    r#"421["message-with-ack",1,"2",{"3":[4]}]"#,
    r#"42["message",{"a":[1,2,{"b":null}]}]"#,
    "40/custom,",
    "41/custom,",
    r#"42/custom,["message","x"]"#,
    r#"43/custom,5[]"#,
    "3",
];

impl SocketioFuzzer {
    fn grammar(gen: &mut Gen) -> String {
        let ty = gen.below(8);
        let mut p = format!("4{ty}");
        if gen.one_in(3) {
            p.push_str(&format!(
                "{}-",
                gen.pick(&["1", "0", "10", "11", "-1", "x"])
            ));
        }
        if gen.one_in(3) {
            p.push_str(gen.pick::<&str>(&["/", "/custom,", "/nope,", "/a/b,", ","]));
        }
        if gen.one_in(2) {
            p.push_str(gen.pick::<&str>(&["1", "0", "18446744073709551616", "-5", "007"]));
        }
        let name = if gen.one_in(3) {
            gen.value()
        } else {
            json!("message")
        };
        let mut args = vec![name];
        for _ in 0..gen.below(3) {
            args.push(gen.value());
        }
        p.push_str(&serde_json::Value::Array(args).to_string());
        p
    }

    fn cve(gen: &mut Gen) -> (String, Vec<Step>) {
        let text = |t: String| Step::Text { text: t };
        match gen.below(10) {
            0 => (
                "cve:non-integer-placeholder".into(),
                vec![
                    text(r#"451-["message",{"_placeholder":true,"num":"splice"}]"#.into()),
                    Step::binary(&[1, 2, 3]),
                ],
            ),
            1 => (
                "cve:non-string-event-name".into(),
                vec![text(
                    gen.pick(&[
                        r#"42[{"toString":"x"}]"#,
                        "42[1]",
                        "42[null]",
                        r#"42[["message"]]"#,
                        "42[]",
                    ])
                    .to_string(),
                )],
            ),
            2 => (
                "cve:huge-attachment-count".into(),
                vec![text(format!(
                    r#"45{}-["message",{{"_placeholder":true,"num":0}}]"#,
                    gen.pick(&["11", "99999999", "18446744073709551617"])
                ))],
            ),
            3 => {
                let body = "a".repeat(1_100_000 + gen.below(100_000));
                let req = format!(
                    "POST {PATH}?EIO=4&transport=polling&sid=fuzz HTTP/1.1\r\nHost: fuzz\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\r\n{body}",
                    body.len()
                );
                (
                    "cve:oversized-post".into(),
                    vec![Step::tcp(req.as_bytes(), false)],
                )
            }
            4 => {
                let b0 = 0x80 | (0x10 << gen.below(3)) as u8 | 1;
                let payload = b"4hello";
                (
                    "cve:ws-rsv-bits".into(),
                    vec![Step::ws_frame(&masked(b0, payload))],
                )
            }
            5 => {
                let opcode = *gen.pick(&[3u8, 4, 5, 6, 7, 0xb, 0xc, 0xd, 0xe, 0xf]);
                (
                    "cve:ws-bad-opcode".into(),
                    vec![Step::ws_frame(&masked(0x80 | opcode, b"4x"))],
                )
            }
            6 | 7 => {
                let target = format!("{PATH}?EIO=4&transport=websocket");
                let (class, request) = raw::http_cve(gen, &target, false);
                (class, vec![Step::tcp(&request, false)])
            }
            8 => {
                let bad = gen.invalid_utf8(r#"42["message","caf"]"#);
                (
                    "invalid-utf8".into(),
                    vec![Step::ws_frame(&masked(0x81, &bad))],
                )
            }
            _ => (
                "oversized-frame".into(),
                vec![text(format!(
                    r#"42["message","{}"]"#,
                    "x".repeat(1_100_000)
                ))],
            ),
        }
    }
}

impl SessionFuzzer for SocketioFuzzer {
    type Session = SioClient;

    fn protocol(&self) -> Protocol {
        Protocol::Socketio
    }

    fn generate(&self, gen: &mut Gen) -> Input {
        let text = |t: String| Step::Text { text: t };
        let (class, steps) = match gen.below(10) {
            0..=2 => ("grammar".to_owned(), vec![text(Self::grammar(gen))]),
            3..=5 => {
                // A valid session with one frame broken.
                let mut steps: Vec<Step> = (0..1 + gen.below(4))
                    .map(|_| text(gen.pick(VALID).to_string()))
                    .collect();
                let at = gen.below(steps.len());
                let how = gen.below(3);
                if let Step::Text { text: t } = &steps[at] {
                    steps[at] = match how {
                        0 => text(gen.break_text(t)),
                        1 => {
                            let body = t.trim_start_matches(|c: char| !matches!(c, '[' | '{'));
                            let head = &t[..t.len() - body.len()];
                            match serde_json::from_str(body) {
                                Ok(v) => text(format!("{head}{}", gen.break_json(&v))),
                                Err(_) => text(gen.break_text(t)),
                            }
                        }
                        _ => Step::binary(&gen.invalid_utf8(t)),
                    };
                }
                (format!("mutation:{}", ["text", "json", "utf8"][how]), steps)
            }
            6 => {
                // Out of order and repeated actions, floods.
                let steps = match gen.below(4) {
                    0 => vec![text("40".into()), text("40".into())],
                    1 => vec![text("41".into()), text(r#"42["message","after"]"#.into())],
                    2 => vec![text(r#"439["unknown ack"]"#.into())],
                    _ => (0..50)
                        .map(|i| text(format!(r#"42["message",{i}]"#)))
                        .collect(),
                };
                ("order".to_owned(), steps)
            }
            7 => (
                "nesting".to_owned(),
                vec![text(format!(r#"42["message",{}]"#, gen.nested_text()))],
            ),
            _ => Self::cve(gen),
        };
        Input {
            protocol: "socketio".to_owned(),
            class,
            steps,
        }
    }

    fn open<'a>(
        &'a self,
        target: &'a FuzzTarget,
        link: &'a Link,
        wait: Duration,
    ) -> BoxFuture<'a, Result<SioClient, Broken>> {
        connect(target, link, wait).boxed()
    }

    fn send<'a>(
        &'a self,
        target: &'a FuzzTarget,
        link: &'a Link,
        session: &'a mut Option<SioClient>,
        input: &'a Input,
        wait: Duration,
    ) -> BoxFuture<'a, Result<(), Broken>> {
        send(target, link, session, input, wait).boxed()
    }

    fn probe<'a>(
        &'a self,
        session: &'a mut SioClient,
        wait: Duration,
    ) -> BoxFuture<'a, Result<bool, Broken>> {
        probe(session, wait).boxed()
    }

    fn sentinel<'a>(
        &'a self,
        target: &'a FuzzTarget,
        wait: Duration,
    ) -> BoxFuture<'a, Result<Box<dyn Sentinel>, Broken>> {
        async move {
            let link = Link::bare(wait);
            let client = connect(target, &link, wait).await?;
            let (tx, rx) = mpsc::channel(1);
            tokio::spawn(sentinel_task(client, rx));
            Ok(Box::new(TaskSentinel::new(tx, 2, "message-back")) as Box<dyn Sentinel>)
        }
        .boxed()
    }
}

/// Sends one input's steps on `session` (a fresh one when there is none);
/// `session` is left empty when the server closed it.
async fn send(
    target: &FuzzTarget,
    link: &Link,
    session: &mut Option<SioClient>,
    input: &Input,
    wait: Duration,
) -> Result<(), Broken> {
    let mut client = match session.take() {
        Some(client) => client,
        None => connect(target, link, wait).await?,
    };
    for step in &input.steps {
        let sent = match step {
            Step::Text { text } => client.eio.send_raw(text).await.map(|_| ()),
            Step::Binary { hex } => client.eio.send(EioPacket::binary(step_bytes(hex)?)).await,
            Step::Tcp { hex, may_wait } => {
                let bytes = step_bytes(hex)?;
                raw::tcp(&host_port(&target.url), link, &bytes, *may_wait, wait).await?;
                Ok(())
            }
            Step::WsFrame { hex } => {
                let path = format!("{PATH}?EIO=4&transport=websocket");
                let frame = step_bytes(hex)?;
                raw::ws_frame(&host_port(&target.url), &path, link, &frame, wait).await?;
                Ok(())
            }
            // The SocketCluster fuzzer's step; no probe within a run's input.
            Step::Fresh { .. } | Step::Probe => Ok(()),
        };
        if sent.is_err() {
            // The server closed the session: a documented answer.
            return Ok(());
        }
    }
    *session = Some(client);
    Ok(())
}

/// A session connected to `/`; the echo app's `auth` event skipped.
async fn connect(target: &FuzzTarget, link: &Link, wait: Duration) -> Result<SioClient, Broken> {
    let connecting = SioClient::connected_at(link, endpoint(target), Transport::WebSocket, "/");
    match tokio::time::timeout(wait * 2, connecting).await {
        Ok(Ok(client)) => Ok(client),
        Ok(Err(e)) => Err(Broken::new(
            Oracle::FreshClient,
            format!("connecting failed: {e}"),
        )),
        Err(_) => Err(Broken::new(
            Oracle::FreshClient,
            "connecting took longer than the wait",
        )),
    }
}

/// Emits `message-with-ack`: its ack, or the session's close, must come in
/// time; whether the session is still open.
async fn probe(client: &mut SioClient, wait: Duration) -> Result<bool, Broken> {
    if client
        .emit(
            "/",
            "message-with-ack",
            vec![Data::String("probe".into())],
            Some(PROBE_ACK),
        )
        .await
        .is_err()
    {
        return Ok(false);
    }
    let answer = async {
        loop {
            match client.recv().await {
                Ok(p) if p.packet_type == PacketType::Ack && p.id == Some(PROBE_ACK) => {
                    return Ok(true)
                }
                Ok(_) => continue,
                Err(DriverError::Closed(_)) => return Ok(false),
                Err(DriverError::Timeout(e)) => return Err(Broken::new(Oracle::Silence, e)),
                Err(e) => return Err(Broken::new(Oracle::BadAnswer, e.to_string())),
            }
        }
    };
    match tokio::time::timeout(wait, answer).await {
        Ok(result) => result,
        Err(_) => Err(Broken::new(
            Oracle::Silence,
            format!("no ack and no close within {} ms", wait.as_millis()),
        )),
    }
}

/// Keeps the sentinel's session read (its heartbeat answered) and runs its checks.
async fn sentinel_task(
    mut client: SioClient,
    mut rx: mpsc::Receiver<(u64, oneshot::Sender<Result<(), String>>)>,
) {
    loop {
        tokio::select! {
            command = rx.recv() => {
                let Some((n, done)) = command else { return };
                let result = sentinel_round(&mut client, n).await;
                let failed = result.is_err();
                let _ = done.send(result);
                if failed {
                    return;
                }
            }
            packet = client.recv() => match packet {
                Ok(_) | Err(DriverError::Timeout(_)) => {}
                Err(_) => return,
            },
        }
    }
}

async fn sentinel_round(client: &mut SioClient, n: u64) -> Result<(), String> {
    let tag = Data::String(format!("sentinel-{n}"));
    client
        .emit("/", "message", vec![tag.clone()], None)
        .await
        .map_err(|e| e.to_string())?;
    loop {
        match client.expect_event("/", "message-back").await {
            Ok(args) if args.first() == Some(&tag) => return Ok(()),
            Ok(_) => continue,
            Err(DriverError::Timeout(_)) => return Err("no message-back".to_owned()),
            Err(e) => return Err(e.to_string()),
        }
    }
}
