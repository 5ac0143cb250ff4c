//! The ASSA listener over real loopback TCP: both framings, broadcasts, limits, the admin API and restarts on the same data directory.

use std::net::SocketAddr;
use std::time::Duration;

use reference_server::assa::{serve, AssaConfig, AssaContext, FramingName};
use reference_server::services::admin;
use reference_server::services::storage::StorageConfig;
use reference_server::services::tokens::{Claims, Tokens};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

const WAIT: Duration = Duration::from_secs(3);
const SECRET: &[u8] = b"assa-test-secret";

struct Server {
    addr: SocketAddr,
    ctx: AssaContext,
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Server {
    async fn start(config: AssaConfig, storage: StorageConfig) -> Server {
        let ctx = AssaContext::with_tokens(&config, Tokens::new(SECRET), &storage).expect("open");
        let tcp = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = tcp.local_addr().expect("addr");
        let (stop, rx) = watch::channel(false);
        let task = tokio::spawn(serve(tcp, ctx.clone(), rx));
        Server {
            addr,
            ctx,
            stop,
            task,
        }
    }

    async fn memory(config: AssaConfig) -> Server {
        Server::start(config, StorageConfig::memory()).await
    }

    async fn stop(self) {
        let _ = self.stop.send(true);
        tokio::time::timeout(WAIT, self.task)
            .await
            .expect("stops in time")
            .expect("joins")
            .expect("serves");
        self.ctx.flush().expect("flush");
    }
}

fn token(user: u64) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs();
    Tokens::new(SECRET)
        .mint(&Claims::new(user, now, 3600))
        .expect("mint")
}

/// A raw TCP client: writes bytes, reads one framed JSON value at a time.
struct Client {
    stream: TcpStream,
    framing: FramingName,
    buf: Vec<u8>,
    seq: u64,
}

impl Client {
    async fn connect(addr: SocketAddr, framing: FramingName) -> Client {
        Client {
            stream: TcpStream::connect(addr).await.expect("connect"),
            framing,
            buf: Vec::new(),
            seq: 0,
        }
    }

    async fn write(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).await.expect("write");
    }

    fn frame(&self, payload: &[u8]) -> Vec<u8> {
        match self.framing {
            FramingName::JsonStream => [payload, b"\n"].concat(),
            FramingName::LengthPrefixed => {
                let len = u32::try_from(payload.len()).expect("small").to_be_bytes();
                [&len[..], payload].concat()
            }
        }
    }

    fn request(&mut self, action: &str, data: Value) -> (String, Vec<u8>) {
        self.seq += 1;
        let seq_id = format!("{}_{:03}", action.to_lowercase(), self.seq);
        let msg = json!({
            "action": action, "data": data,
            "timestamp": "2024-01-01T12:00:00.000Z", "seq_id": seq_id,
        });
        let payload = serde_json::to_vec(&msg).expect("encode");
        (seq_id, self.frame(&payload))
    }

    async fn send(&mut self, action: &str, data: Value) -> String {
        let (seq_id, bytes) = self.request(action, data);
        self.write(&bytes).await;
        seq_id
    }

    /// The next frame's payload, or `None` at end of stream.
    async fn next_payload(&mut self) -> Option<Vec<u8>> {
        loop {
            match self.framing {
                FramingName::JsonStream => {
                    if let Some(i) = self.buf.iter().position(|b| *b == b'\n') {
                        let line: Vec<u8> = self.buf.drain(..=i).collect();
                        return Some(line[..line.len() - 1].to_vec());
                    }
                }
                FramingName::LengthPrefixed => {
                    if self.buf.len() >= 4 {
                        let len = u32::from_be_bytes([
                            self.buf[0],
                            self.buf[1],
                            self.buf[2],
                            self.buf[3],
                        ]) as usize;
                        if self.buf.len() >= 4 + len {
                            let frame: Vec<u8> = self.buf.drain(..4 + len).collect();
                            return Some(frame[4..].to_vec());
                        }
                    }
                }
            }
            let mut chunk = [0u8; 65536];
            let n = tokio::time::timeout(WAIT, self.stream.read(&mut chunk))
                .await
                .expect("the server answers in time")
                .unwrap_or(0);
            if n == 0 {
                return None;
            }
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }

    /// The next message that is not a PING.
    async fn recv(&mut self) -> Value {
        loop {
            let payload = self
                .next_payload()
                .await
                .expect("a message, not the end of the stream");
            let v: Value = serde_json::from_slice(&payload).expect("the server writes JSON");
            if v["action"] != "PING" {
                return v;
            }
        }
    }

    /// Whether the server closed the stream (after any messages still queued).
    async fn closed(&mut self) -> bool {
        while let Some(_payload) = self.next_payload().await {}
        true
    }

    async fn login(addr: SocketAddr, framing: FramingName, user: u64) -> Client {
        let mut c = Client::connect(addr, framing).await;
        c.send("CONNECT", json!({ "jwt_token": token(user) })).await;
        let r = c.recv().await;
        assert_eq!(
            (r["action"].as_str(), r["success"].as_bool()),
            (Some("CONNECT_RESPONSE"), Some(true)),
            "{r}"
        );
        c
    }
}

async fn chat(framing: FramingName) {
    let server = Server::memory(AssaConfig {
        framing,
        ..AssaConfig::test_profile()
    })
    .await;
    let mut host = Client::login(server.addr, framing, 1).await;
    let mut guest = Client::login(server.addr, framing, 2).await;
    let mut outsider = Client::login(server.addr, framing, 3).await;
    host.send("CREATE_ROOM", json!({ "name": "r", "is_open": true }))
        .await;
    let room = host.recv().await["data"]["room_id"].as_u64().expect("room");
    guest.send("JOIN_ROOM", json!({ "room_id": room })).await;
    assert_eq!(guest.recv().await["action"], "JOIN_ROOM_RESPONSE");
    assert_eq!(host.recv().await["action"], "USER_JOINED");
    let seq = guest
        .send("SEND_MESSAGE", json!({ "room_id": room, "content": "hi", "message_type": "text", "client_message_id": "x1" }))
        .await;
    let ack = guest.recv().await;
    assert_eq!(
        (ack["action"].as_str(), ack["seq_id"].as_str()),
        (Some("SEND_MESSAGE_RESPONSE"), Some(seq.as_str()))
    );
    assert_eq!(ack["data"]["client_message_id"], "x1");
    let new = host.recv().await;
    assert_eq!(
        (new["action"].as_str(), new["data"]["content"].as_str()),
        (Some("NEW_MESSAGE"), Some("hi"))
    );
    // The outsider hears nothing but PINGs: the next thing it gets is its own answer.
    outsider.send("ROOM_INFO", json!({ "room_id": room })).await;
    assert_eq!(outsider.recv().await["action"], "ROOM_INFO_RESPONSE");
    server.stop().await;
}

#[tokio::test]
async fn a_room_conversation_over_newline_delimited_json() {
    chat(FramingName::JsonStream).await;
}

#[tokio::test]
async fn a_room_conversation_over_length_prefixed_frames() {
    chat(FramingName::LengthPrefixed).await;
}

#[tokio::test]
async fn concatenated_values_in_one_write_are_read_one_by_one() {
    let server = Server::memory(AssaConfig::test_profile()).await;
    let mut c = Client::connect(server.addr, FramingName::JsonStream).await;
    let (_, connect) = c.request("CONNECT", json!({ "jwt_token": token(5) }));
    let (_, create) = c.request("CREATE_ROOM", json!({ "name": "r" }));
    let strip = |mut v: Vec<u8>| {
        v.pop();
        v
    };
    c.write(&[strip(connect), strip(create)].concat()).await;
    assert_eq!(c.recv().await["action"], "CONNECT_RESPONSE");
    assert_eq!(c.recv().await["action"], "CREATE_ROOM_RESPONSE");
    server.stop().await;
}

#[tokio::test]
async fn a_frame_over_the_limit_gets_an_error_and_a_close() {
    let server = Server::memory(AssaConfig {
        max_frame_bytes: 4096,
        // The document's timeouts: the close below can only be the limit's.
        ..AssaConfig::default()
    })
    .await;
    let mut c = Client::login(server.addr, FramingName::JsonStream, 1).await;
    let big = format!(
        "{{\"action\":\"SEND_MESSAGE\",\"data\":\"{}",
        "x".repeat(10_000)
    );
    c.write(big.as_bytes()).await;
    let e = c.recv().await;
    assert_eq!(
        (e["action"].as_str(), e["success"].as_bool()),
        (Some("ERROR"), Some(false)),
        "{e}"
    );
    assert!(c.closed().await);
    server.stop().await;
}

#[tokio::test]
async fn invalid_utf8_in_a_length_prefixed_frame_is_an_error_and_the_connection_goes_on() {
    let framing = FramingName::LengthPrefixed;
    let server = Server::memory(AssaConfig {
        framing,
        ..AssaConfig::test_profile()
    })
    .await;
    let mut c = Client::login(server.addr, framing, 1).await;
    let bad = c.frame(b"{\"action\":\"\xff\xfe\"}");
    c.write(&bad).await;
    assert_eq!(c.recv().await["action"], "ERROR");
    c.send("CREATE_ROOM", json!({ "name": "still here" })).await;
    assert_eq!(c.recv().await["action"], "CREATE_ROOM_RESPONSE");
    server.stop().await;
}

#[tokio::test]
async fn the_server_pings_and_closes_a_silent_session() {
    let server = Server::memory(AssaConfig {
        ping_interval_ms: 100,
        pong_timeout_ms: 300,
        ..AssaConfig::test_profile()
    })
    .await;
    let mut c = Client::login(server.addr, FramingName::JsonStream, 1).await;
    let payload = c.next_payload().await.expect("a PING");
    let ping: Value = serde_json::from_slice(&payload).expect("json");
    assert_eq!(ping["action"], "PING");
    assert!(c.closed().await, "no PONG: the server closes");
    server.stop().await;
}

#[tokio::test]
async fn the_admin_api_triggers_an_announcement_behind_its_bearer_secret() {
    let server = Server::memory(AssaConfig::test_profile()).await;
    let mut c = Client::login(server.addr, FramingName::JsonStream, 1).await;
    let tcp = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let admin_addr = tcp.local_addr().expect("addr");
    let (stop, rx) = watch::channel(false);
    let admin_task = tokio::spawn(admin::serve(tcp, server.ctx.clone(), "s3cret", rx));
    let http = reqwest::Client::new();
    let url = format!("http://{admin_addr}/announcements");
    let body = r#"{"title":"서버 점검 안내","message":"m","priority":"high","announcement_type":"maintenance"}"#;
    let refused = http
        .post(&url)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .expect("post");
    assert_eq!(refused.status(), 401);
    let ok = http
        .post(&url)
        .header("authorization", "Bearer s3cret")
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .expect("post");
    assert_eq!(ok.status(), 200);
    let a = c.recv().await;
    assert_eq!(
        (a["action"].as_str(), a["data"]["title"].as_str()),
        (Some("SERVER_ANNOUNCEMENT"), Some("서버 점검 안내"))
    );
    let users = http
        .get(format!("http://{admin_addr}/users"))
        .header("authorization", "Bearer s3cret")
        .send()
        .await
        .expect("get")
        .text()
        .await
        .expect("body");
    let users: Value = serde_json::from_str(&users).expect("json");
    assert_eq!(users[0]["id"], 1);
    let _ = stop.send(true);
    let _ = tokio::time::timeout(WAIT, admin_task).await;
    server.stop().await;
}

#[tokio::test]
async fn acknowledged_messages_survive_a_restart_on_the_same_data_directory() {
    let dir = tempfile::tempdir().expect("tempdir");
    let storage = StorageConfig {
        data_dir: dir.path().join("data"),
        ..StorageConfig::default()
    };
    let server = Server::start(AssaConfig::test_profile(), storage.clone()).await;
    let mut c = Client::login(server.addr, FramingName::JsonStream, 1).await;
    c.send("CREATE_ROOM", json!({ "name": "durable" })).await;
    let room = c.recv().await["data"]["room_id"].as_u64().expect("room");
    let mut acked = Vec::new();
    for i in 0..20 {
        c.send(
            "SEND_MESSAGE",
            json!({ "room_id": room, "content": format!("m{i}"), "message_type": "text" }),
        )
        .await;
    }
    while acked.len() < 20 {
        let v = c.recv().await;
        if v["action"] == "SEND_MESSAGE_RESPONSE" {
            acked.push(v["data"]["message_id"].as_u64().expect("id"));
        }
    }
    drop(c);
    server.stop().await;

    let server = Server::start(AssaConfig::test_profile(), storage).await;
    let mut c = Client::login(server.addr, FramingName::JsonStream, 1).await;
    c.send("JOIN_ROOM", json!({ "room_id": room })).await;
    let j = c.recv().await;
    let ids: Vec<u64> = j["data"]["recent_messages"]
        .as_array()
        .expect("recent_messages")
        .iter()
        .filter_map(|m| m["message_id"].as_u64())
        .collect();
    assert_eq!(ids, acked);
    server.stop().await;
}

#[tokio::test]
async fn a_reader_that_lets_its_queue_fill_is_cut_off() {
    let server = Server::memory(AssaConfig {
        queue_capacity: 4,
        // The document's timeouts: the flood outlasts the test profile's PONG timeout.
        ..AssaConfig::default()
    })
    .await;
    let mut host = Client::login(server.addr, FramingName::JsonStream, 1).await;
    host.send("CREATE_ROOM", json!({ "name": "flood" })).await;
    let room = host.recv().await["data"]["room_id"].as_u64().expect("room");
    let socket = tokio::net::TcpSocket::new_v4().expect("socket");
    socket.set_recv_buffer_size(4096).expect("rcvbuf");
    let mut slow = Client {
        stream: socket.connect(server.addr).await.expect("connect"),
        framing: FramingName::JsonStream,
        buf: Vec::new(),
        seq: 0,
    };
    slow.send("CONNECT", json!({ "jwt_token": token(2) })).await;
    slow.send("JOIN_ROOM", json!({ "room_id": room })).await;
    assert_eq!(slow.recv().await["action"], "CONNECT_RESPONSE");
    assert_eq!(slow.recv().await["action"], "JOIN_ROOM_RESPONSE");
    assert_eq!(host.recv().await["action"], "USER_JOINED");
    // The slow member stops reading; the host keeps talking (and reading).
    let content = "가".repeat(4_900);
    let sent = 400;
    for _ in 0..sent {
        host.send(
            "SEND_MESSAGE",
            json!({ "room_id": room, "content": content, "message_type": "text" }),
        )
        .await;
        assert_eq!(host.recv().await["action"], "SEND_MESSAGE_RESPONSE");
        assert_eq!(host.recv().await["action"], "NEW_MESSAGE");
    }
    let mut delivered = 0;
    while let Some(payload) = slow.next_payload().await {
        if payload.windows(11).any(|w| w == b"NEW_MESSAGE") {
            delivered += 1;
        }
    }
    assert!(
        delivered < sent,
        "the slow reader got all {sent} messages: it was buffered, not cut off"
    );
    server.stop().await;
}

#[tokio::test]
async fn invalid_utf8_inside_a_complete_json_value_is_an_error_and_the_connection_goes_on() {
    // The value's end is still found, so the stream is resynchronised.
    let server = Server::memory(AssaConfig::test_profile()).await;
    let mut c = Client::login(server.addr, FramingName::JsonStream, 1).await;
    c.write(b"{\"action\":\"\xff\xfe\"}\n").await;
    let e = c.recv().await;
    assert_eq!(
        (e["action"].as_str(), e["error_code"].as_str()),
        (Some("ERROR"), Some("INVALID_MESSAGE")),
        "{e}"
    );
    c.send("CREATE_ROOM", json!({ "name": "still here" })).await;
    assert_eq!(c.recv().await["action"], "CREATE_ROOM_RESPONSE");
    server.stop().await;
}

#[tokio::test]
async fn a_value_that_is_not_an_object_in_a_json_stream_is_an_error_and_a_close() {
    let server = Server::memory(AssaConfig::default()).await;
    let mut c = Client::login(server.addr, FramingName::JsonStream, 1).await;
    c.write(b"[1,2]\n").await;
    let e = c.recv().await;
    assert_eq!(e["action"], "ERROR", "{e}");
    // The document's timeouts are 30 s and more: a close within WAIT is the stream error's.
    assert!(c.closed().await);
    server.stop().await;
}

/// The `assa` example binary (cargo builds examples with the tests).
fn example_binary() -> std::path::PathBuf {
    let exe = std::env::current_exe().expect("test binary");
    let dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target dir");
    let bin = dir
        .join("examples")
        .join(format!("assa{}", std::env::consts::EXE_SUFFIX));
    assert!(
        bin.exists(),
        "{} is missing: build the examples (`cargo test` does)",
        bin.display()
    );
    bin
}

/// Starts the example as a child process on `config`; returns it and the ASSA address.
async fn spawn_server(config: &std::path::Path) -> (tokio::process::Child, SocketAddr) {
    use tokio::io::AsyncBufReadExt;
    let mut child = tokio::process::Command::new(example_binary())
        .args(["--config".as_ref(), config.as_os_str()])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = tokio::io::BufReader::new(stdout).lines();
    let line = tokio::time::timeout(Duration::from_secs(20), lines.next_line())
        .await
        .expect("the server starts in time")
        .expect("read")
        .expect("a line");
    let addr = line
        .strip_prefix("assa ")
        .and_then(|a| a.parse().ok())
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"));
    // Keep reading, so the child never writes to a closed pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    (child, addr)
}

#[tokio::test]
async fn every_acknowledged_message_survives_sigkill_and_none_is_stored_twice() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("server.toml");
    let secret = std::str::from_utf8(SECRET).expect("ascii");
    std::fs::write(
        &config,
        format!(
            "[auth]\nsecret = \"{secret}\"\n[storage]\ndata_dir = {:?}\n[assa]\nrecent_messages = 10000\n",
            dir.path().join("data")
        ),
    )
    .expect("config");
    let (mut child, addr) = spawn_server(&config).await;
    let mut c = Client::login(addr, FramingName::JsonStream, 1).await;
    c.send("CREATE_ROOM", json!({ "name": "durable" })).await;
    let room = c.recv().await["data"]["room_id"].as_u64().expect("room");
    // Every message in one write, then SIGKILL in the middle of the acknowledgements.
    let total = 2_000;
    let mut burst = Vec::new();
    for i in 0..total {
        let (_, bytes) = c.request(
            "SEND_MESSAGE",
            json!({ "room_id": room, "content": format!("m{i}"), "message_type": "text", "client_message_id": format!("c{i}") }),
        );
        burst.extend(bytes);
    }
    c.write(&burst).await;
    let mut acked = Vec::new();
    while let Some(payload) = c.next_payload().await {
        let v: Value = serde_json::from_slice(&payload).expect("json");
        if v["action"] == "SEND_MESSAGE_RESPONSE" && v["success"] == true {
            acked.push(v["data"]["content"].as_str().expect("content").to_owned());
            if acked.len() == 100 {
                child.start_kill().expect("SIGKILL");
            }
        }
    }
    let _ = child.wait().await;
    assert!(
        acked.len() < total,
        "the kill came after the traffic, not in the middle"
    );
    assert!(
        acked.len() >= 100,
        "only {} acknowledged before the kill",
        acked.len()
    );

    let (_child, addr) = spawn_server(&config).await;
    let mut c = Client::login(addr, FramingName::JsonStream, 1).await;
    c.send("JOIN_ROOM", json!({ "room_id": room })).await;
    let j = c.recv().await;
    let stored: Vec<String> = j["data"]["recent_messages"]
        .as_array()
        .expect("recent_messages")
        .iter()
        .map(|m| m["content"].as_str().expect("content").to_owned())
        .collect();
    let unique: std::collections::HashSet<&String> = stored.iter().collect();
    assert_eq!(unique.len(), stored.len(), "a message is stored twice");
    for content in &acked {
        assert!(unique.contains(content), "acknowledged {content} is lost");
    }
    // CHECK_RECEIVE names them too: every stored message is the sender's own, so none is pending.
    c.send(
        "CHECK_RECEIVE",
        json!({ "room_id": room, "message_ids": [] }),
    )
    .await;
    let r = c.recv().await;
    assert_eq!(r["data"]["pending_messages"], json!([]));
}

#[tokio::test]
async fn the_assa_limits_listener_is_full_on_its_own() {
    let mut config = reference_server::Config::embedded();
    config.auth.secret = Some(String::from_utf8(SECRET.to_vec()).expect("utf-8"));
    let cap = config.assa_limits.max_connections;
    let server = reference_server::start(config).await.expect("starts");
    let limits = (server.addrs)
        .get(reference_server::ListenerName::AssaLimits)
        .expect("assa-limits runs");
    let main = (server.addrs)
        .get(reference_server::ListenerName::Assa)
        .expect("assa runs");
    let mut held = Vec::new();
    for user in 1..=cap as u64 {
        held.push(Client::login(limits, FramingName::JsonStream, user).await);
    }
    let mut over = Client::connect(limits, FramingName::JsonStream).await;
    let refusal = over.recv().await;
    assert_eq!(
        (refusal["action"].as_str(), refusal["error_code"].as_str()),
        (Some("ERROR"), Some("SERVER_FULL")),
        "{refusal}"
    );
    assert!(over.closed().await);
    // The other ASSA server counts its own connections.
    for user in 100..=100 + cap as u64 {
        held.push(Client::login(main, FramingName::JsonStream, user).await);
    }
    drop(held);
    server.shutdown().await;
}
