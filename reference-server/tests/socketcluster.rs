//! The socketcluster listener over real WebSockets: the event, pub/sub and auth
//! layers, and each `socketcluster:` fault changing the behaviour it names.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use reference_server::{Config, Fault, ListenerName, Running, SocketclusterFault as F};
use serde_json::{json, Value};
use tokio::net::TcpStream;
use tokio_tungstenite::{tungstenite::Message, MaybeTlsStream, WebSocketStream};

use crate::support::WAIT;

async fn server(faults: &[F]) -> Running {
    let mut config = Config::embedded();
    config.faults = faults.iter().copied().map(Fault::Socketcluster).collect();
    start(config).await
}

/// The embedded server with every socket's send queue `capacity` messages.
async fn server_with_queue(capacity: usize) -> Running {
    let mut config = Config::embedded();
    config.socketcluster.queue_capacity = capacity;
    start(config).await
}

async fn start(config: Config) -> Running {
    tokio::time::timeout(WAIT, reference_server::start(config))
        .await
        .expect("server starts in time")
        .expect("server starts")
}

/// What the client saw next.
#[derive(Debug, PartialEq)]
enum Got {
    Json(Value),
    Closed(Option<u16>),
    Nothing,
}

struct Sc(WebSocketStream<MaybeTlsStream<TcpStream>>);

impl Sc {
    async fn open(s: &Running) -> Sc {
        let addr = s.addrs.get(ListenerName::Socketcluster).expect("it runs");
        let url = format!("ws://{addr}/socketcluster/");
        let (ws, _) = tokio_tungstenite::connect_async(url)
            .await
            .expect("connects");
        Sc(ws)
    }

    async fn connected(s: &Running) -> Sc {
        let mut sc = Sc::open(s).await;
        sc.send(json!({"event": "#handshake", "data": {}, "cid": 1}))
            .await;
        assert_eq!(sc.next().await["rid"], json!(1));
        sc
    }

    async fn send(&mut self, value: Value) {
        self.0
            .send(Message::text(value.to_string()))
            .await
            .expect("sends");
    }

    /// The next message but pings (answered), within `wait`.
    async fn within(&mut self, wait: Duration) -> Got {
        let until = tokio::time::Instant::now() + wait;
        loop {
            match tokio::time::timeout_at(until, self.0.next()).await {
                Err(_) => return Got::Nothing,
                Ok(Some(Ok(Message::Text(t)))) if t.as_str() == "#1" => {
                    // A ping read after the server ended the connection cannot be answered.
                    if self.0.send(Message::text("#2")).await.is_err() {
                        return Got::Closed(None);
                    }
                }
                Ok(Some(Ok(Message::Text(t)))) => {
                    return Got::Json(serde_json::from_str(&t).expect("JSON"))
                }
                Ok(Some(Ok(Message::Close(frame)))) => {
                    return Got::Closed(frame.map(|f| f.code.into()))
                }
                Ok(Some(Ok(_))) => {}
                Ok(_) => return Got::Closed(None),
            }
        }
    }

    async fn next(&mut self) -> Value {
        match self.within(WAIT).await {
            Got::Json(v) => v,
            other => panic!("expected a message, got {other:?}"),
        }
    }

    async fn invoke(&mut self, event: &str, data: Value, cid: u64) -> Value {
        self.send(json!({"event": event, "data": data, "cid": cid}))
            .await;
        self.next().await
    }
}

#[tokio::test]
async fn the_event_layer_answers_cids_once_and_ignores_what_is_not_json() {
    let s = server(&[]).await;
    let mut sc = Sc::open(&s).await;
    sc.send(json!({"event": "#handshake", "data": {}, "cid": 1}))
        .await;
    let hs = sc.next().await;
    assert_eq!(hs["data"]["isAuthenticated"], json!(false));
    assert_eq!(hs["data"]["pingTimeout"], json!(1000));
    sc.0.send(Message::text("not json")).await.expect("sends");
    sc.send(json!({"event": "echo", "data": "no cid"})).await;
    assert_eq!(
        sc.invoke("echo", json!([1]), 2).await,
        json!({"rid": 2, "data": [1]})
    );
    let failed = sc.invoke("fail", json!({}), 3).await;
    assert_eq!(failed["error"]["name"], json!("FailError"));
    let unknown = sc.invoke("nope", json!({}), 4).await;
    assert_eq!(unknown["error"]["name"], json!("InvalidActionError"));
    assert_eq!(sc.within(Duration::from_millis(200)).await, Got::Nothing);
    s.shutdown().await;
}

#[tokio::test]
async fn publications_reach_subscribers_only_and_login_authenticates() {
    let s = server(&[]).await;
    let (mut a, mut b) = (Sc::connected(&s).await, Sc::connected(&s).await);
    assert_eq!(
        a.invoke("#subscribe", json!({"channel": "c"}), 2).await,
        json!({"rid": 2})
    );
    assert_eq!(
        b.invoke("#publish", json!({"channel": "c", "data": 5}), 2)
            .await,
        json!({"rid": 2})
    );
    let push = a.next().await;
    assert_eq!(
        push,
        json!({"event": "#publish", "data": {"channel": "c", "data": 5}})
    );
    assert_eq!(b.within(Duration::from_millis(200)).await, Got::Nothing);
    let refused = a
        .invoke("#subscribe", json!({"channel": "private/x"}), 3)
        .await;
    assert_eq!(refused["error"]["name"], json!("AuthError"));
    a.send(json!({"event": "login", "data": {"user": "ann"}, "cid": 4}))
        .await;
    let set = a.next().await;
    assert_eq!(set["event"], json!("#setAuthToken"));
    assert_eq!(a.next().await, json!({"rid": 4}));
    let token = set["data"]["token"].as_str().expect("a token").to_owned();
    let ok = b.invoke("#authenticate", json!(token), 3).await;
    assert_eq!(ok["data"]["isAuthenticated"], json!(true));
    let bad = b
        .invoke("#authenticate", json!(format!("{token}x")), 4)
        .await;
    assert_eq!(bad["error"]["name"], json!("AuthTokenInvalidError"));
    s.shutdown().await;
}

/// Opens a connection and checks what comes of `first` sent before any handshake.
async fn before_handshake(s: &Running, first: Value) -> Got {
    let mut sc = Sc::open(s).await;
    sc.send(first).await;
    sc.within(Duration::from_millis(1_500)).await
}

#[tokio::test]
async fn handshake_faults() {
    let echo = json!({"event": "echo", "data": 1, "cid": 9});
    let bare = json!({"event": "#handshake", "data": {}});
    let clean = server(&[]).await;
    assert_eq!(
        before_handshake(&clean, echo.clone()).await,
        Got::Closed(Some(4009))
    );
    assert_eq!(
        before_handshake(&clean, bare.clone()).await,
        Got::Closed(Some(4008))
    );
    let mut idle = Sc::open(&clean).await;
    assert_eq!(
        idle.within(Duration::from_millis(1_500)).await,
        Got::Closed(Some(4005))
    );
    clean.shutdown().await;

    let s = server(&[F::ServeBeforeHandshake]).await;
    assert_eq!(
        before_handshake(&s, echo).await,
        Got::Json(json!({"rid": 9, "data": 1}))
    );
    s.shutdown().await;
    let s = server(&[F::AcceptHandshakeWithoutCid]).await;
    let Got::Json(answer) = before_handshake(&s, bare).await else {
        panic!("no answer to a #handshake without cid");
    };
    assert_eq!(answer["rid"], Value::Null);
    s.shutdown().await;
    let s = server(&[F::NoHandshakeTimeout]).await;
    let mut idle = Sc::open(&s).await;
    assert_eq!(
        idle.within(Duration::from_millis(1_500)).await,
        Got::Nothing
    );
    s.shutdown().await;
}

/// What a client that never answers pings sees within 1.5 s of its handshake.
async fn silent(faults: &[F]) -> Vec<String> {
    let s = server(faults).await;
    let mut sc = Sc::connected(&s).await;
    let mut seen = Vec::new();
    let until = tokio::time::Instant::now() + Duration::from_millis(1_500);
    while let Ok(Some(Ok(m))) = tokio::time::timeout_at(until, sc.0.next()).await {
        match m {
            Message::Text(t) => seen.push(t.to_string()),
            Message::Close(f) => seen.push(format!("close {:?}", f.map(|f| u16::from(f.code)))),
            _ => {}
        }
    }
    s.shutdown().await;
    seen
}

#[tokio::test]
async fn ping_faults() {
    let clean = silent(&[]).await;
    assert!(clean.contains(&"#1".to_owned()), "{clean:?}");
    assert_eq!(clean.last().map(String::as_str), Some("close Some(4001)"));
    let no_ping = silent(&[F::NoPing]).await;
    assert!(!no_ping.contains(&"#1".to_owned()), "{no_ping:?}");
    let no_timeout = silent(&[F::NoPongTimeout]).await;
    assert!(
        no_timeout.iter().all(|m| !m.starts_with("close")),
        "{no_timeout:?}"
    );
}

#[tokio::test]
async fn event_and_channel_faults() {
    let s = server(&[F::CloseOnBadJson]).await;
    let mut sc = Sc::connected(&s).await;
    sc.0.send(Message::text("not json")).await.expect("sends");
    assert_eq!(sc.within(WAIT).await, Got::Closed(Some(1003)));
    s.shutdown().await;

    let s = server(&[F::AnswerWithoutCid]).await;
    let mut sc = Sc::connected(&s).await;
    sc.send(json!({"event": "echo", "data": 3})).await;
    assert_eq!(sc.next().await, json!({"rid": 0, "data": 3}));
    s.shutdown().await;

    let s = server(&[
        F::PublishToEveryone,
        F::KeepUnsubscribed,
        F::IgnoreAuthChannels,
    ])
    .await;
    let (mut a, mut b) = (Sc::connected(&s).await, Sc::connected(&s).await);
    b.invoke("#publish", json!({"channel": "c", "data": 1}), 2)
        .await;
    assert_eq!(a.next().await["event"], json!("#publish"));
    a.invoke("#subscribe", json!({"channel": "d"}), 2).await;
    a.invoke("#unsubscribe", json!("d"), 3).await;
    b.invoke("#publish", json!({"channel": "d", "data": 2}), 3)
        .await;
    assert_eq!(a.next().await["data"]["data"], json!(2));
    let private = a
        .invoke("#subscribe", json!({"channel": "private/x"}), 4)
        .await;
    assert_eq!(private, json!({"rid": 4}));
    s.shutdown().await;
}

#[tokio::test]
async fn token_and_limit_faults() {
    let s = server(&[F::AcceptAnyToken]).await;
    let mut sc = Sc::connected(&s).await;
    sc.send(json!({"event": "login", "data": {"user": "u"}, "cid": 2}))
        .await;
    let token = sc.next().await["data"]["token"]
        .as_str()
        .expect("token")
        .to_owned();
    sc.next().await;
    let forged = format!("{}x", token);
    let status = sc.invoke("#authenticate", json!(forged), 3).await;
    assert_eq!(status["data"]["isAuthenticated"], json!(true));
    s.shutdown().await;

    for (faults, expect_limit) in [(vec![], true), (vec![F::NoLimits], false)] {
        let s = server(&faults).await;
        let mut sc = Sc::connected(&s).await;
        for n in 0..10 {
            let ok = sc
                .invoke("#subscribe", json!({"channel": format!("c{n}")}), 10 + n)
                .await;
            assert_eq!(ok.get("error"), None);
        }
        let over = sc
            .invoke("#subscribe", json!({"channel": "c-over"}), 99)
            .await;
        assert_eq!(over.get("error").is_some(), expect_limit, "{over}");
        sc.send(json!({"event": "echo", "data": "x".repeat(70_000)}))
            .await;
        let got = sc.within(Duration::from_millis(500)).await;
        assert_eq!(got == Got::Closed(Some(1009)), expect_limit, "{got:?}");
        s.shutdown().await;
    }
}

/// socketcluster-client 20 (npm, protocol version 1) against the listener:
/// `peers/socketcluster-node/interop.js` (installed by `scripts/install-peers.sh`).
/// Node and the peer must be installed: this test does not skip without them.
#[tokio::test]
async fn socketcluster_client_interoperates() {
    interop(ListenerName::Socketcluster, 1).await;
}

/// The same with socketcluster-client in protocol 2 against the `socketcluster-v2` listener.
#[tokio::test]
async fn socketcluster_client_interoperates_in_protocol_2() {
    interop(ListenerName::SocketclusterV2, 2).await;
}

async fn interop(listener: ListenerName, version: u8) {
    let peer = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../peers/socketcluster-node");
    assert!(
        peer.join("node_modules/socketcluster-client").is_dir(),
        "socketcluster-client is not installed: run scripts/install-peers.sh socketcluster-node \
         (scripts/test.sh does)"
    );
    let s = server(&[]).await;
    let addr = s.addrs.get(listener).expect("it runs");
    let run = tokio::process::Command::new("node")
        .arg(peer.join("interop.js"))
        .arg(format!("ws://{addr}/socketcluster/"))
        .arg(version.to_string())
        .output();
    let out = tokio::time::timeout(Duration::from_secs(30), run)
        .await
        .expect("the interop script ends in time")
        .expect("node runs (install Node.js 18 or newer)");
    s.shutdown().await;
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "socketcluster-client (protocol {version}) failed against the {listener} listener:\n{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("disconnected cleanly"), "{text}");
}

#[tokio::test]
async fn a_subscriber_that_does_not_read_is_cut_off() {
    let s = server_with_queue(2).await;
    let mut slow = Sc::connected(&s).await;
    slow.invoke("#subscribe", json!({"channel": "flood"}), 2)
        .await;
    let mut publisher = Sc::connected(&s).await;
    let big = "x".repeat(60_000);
    for n in 0..300u64 {
        publisher.send(json!({"event": "#publish", "data": {"channel": "flood", "data": big}, "cid": 10 + n})).await;
        assert_eq!(publisher.next().await["rid"], json!(10 + n));
    }
    // The slow reader now reads: it gets part of the flood, then a close frame
    // that says why (not a dropped connection: nothing is lost without a word).
    let mut received = 0;
    let code = loop {
        match slow.within(WAIT).await {
            Got::Json(_) => received += 1,
            Got::Closed(code) => break code,
            Got::Nothing => panic!("the slow reader was not cut off ({received} received)"),
        }
    };
    assert!(received < 300, "every publication reached the slow reader");
    assert_eq!(
        code,
        Some(reference_server::SOCKETCLUSTER_QUEUE_FULL_CLOSE),
        "the cut-off socket's close code ({received} received)"
    );
    // It left its channel: a publication now reaches nobody, and the publisher is answered.
    assert_eq!(
        publisher
            .invoke("#publish", json!({"channel": "flood", "data": 1}), 1000)
            .await,
        json!({"rid": 1000})
    );
    s.shutdown().await;
}

/// One batch of three times the queue's publications to a subscriber that
/// reads: its writer is behind for a turn, the socket is not, and it gets
/// every one (a queue that counted only messages would cut it off).
#[tokio::test]
async fn a_batch_larger_than_the_queue_does_not_cut_off_a_reader() {
    let s = server_with_queue(16).await;
    let mut reader = Sc::connected(&s).await;
    reader
        .invoke("#subscribe", json!({"channel": "batch"}), 2)
        .await;
    let mut publisher = Sc::connected(&s).await;
    let batch: Vec<Value> = (0..48u64)
        .map(|n| json!({"event": "#publish", "data": {"channel": "batch", "data": n}, "cid": 10 + n}))
        .collect();
    publisher.send(Value::Array(batch)).await;
    for n in 0..48u64 {
        match reader.within(WAIT).await {
            Got::Json(push) => assert_eq!(push["data"]["data"], json!(n), "publication {n}"),
            other => panic!("the reader got {other:?} after {n} publications"),
        }
    }
    s.shutdown().await;
}

/// Publications in bursts of the queue's size to subscribers that read: every
/// subscriber gets every one, in order, and none is cut off.
#[tokio::test]
async fn subscribers_that_read_get_every_publication_of_a_flood() {
    let s = server_with_queue(16).await;
    let mut readers = Vec::new();
    for _ in 0..4 {
        let mut reader = Sc::connected(&s).await;
        reader
            .invoke("#subscribe", json!({"channel": "burst"}), 2)
            .await;
        readers.push(reader);
    }
    let mut publisher = Sc::connected(&s).await;
    let readers = tokio::spawn(async move {
        let mut counts = Vec::new();
        for mut reader in readers {
            let mut n = 0u64;
            while n < 800 {
                match reader.within(WAIT).await {
                    Got::Json(push) => {
                        assert_eq!(push["data"]["data"], json!(n), "publication {n} in order");
                        n += 1;
                    }
                    other => panic!("a reader got {other:?} after {n} publications"),
                }
            }
            counts.push(n);
        }
        counts
    });
    for burst in 0..50u64 {
        for k in 0..16 {
            let n = burst * 16 + k;
            let publish = json!({"event": "#publish", "data": {"channel": "burst", "data": n}, "cid": 10 + n});
            publisher
                .0
                .feed(Message::text(publish.to_string()))
                .await
                .expect("feeds");
        }
        publisher.0.flush().await.expect("flushes");
        for k in 0..16 {
            assert_eq!(publisher.next().await["rid"], json!(10 + burst * 16 + k));
        }
    }
    let counts = tokio::time::timeout(WAIT * 4, readers)
        .await
        .expect("the readers end in time")
        .expect("the readers do not panic");
    assert_eq!(counts, vec![800; 4]);
    s.shutdown().await;
}
