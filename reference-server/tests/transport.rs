//! The Socket.IO transport: what the driver of the sessions answers, and the app API (rooms, broadcast, bounded queues).

use std::{net::SocketAddr, sync::Arc, time::Duration};

use axum::{extract::Request, Router};
use protocols::engineio::EioVersion;
use protocols::session::engineio::ServerConfig;
use protocols::session::socketio::Config as SioConfig;
use protocols::socketio::Data;
use reference_server::socketio::{App, Event, Hub, Options, Socket, Transport};
use serde_json::Value;

use crate::support::{echo, get, polling_session, post, server, url, Frame, Ws, WAIT};

/// Regression: engineioxide 0.15.2 wrote a binary answer to a poll that was
/// already pending without the `\x1e` separators, so a stock polling client
/// never got `message-back`.
#[tokio::test]
async fn bug_binary_message_back_to_a_pending_poll_keeps_its_separators() {
    let s = server(&[]).await;
    let addr = echo(&s);
    let sid = polling_session(addr).await;
    let poll = url(addr, &format!("EIO=4&transport=polling&sid={sid}"));
    assert_eq!(post(&poll, "40").await, (200, "ok".to_owned()));
    let (status, body) = get(&poll).await;
    assert_eq!(status, 200);
    assert!(
        body.starts_with("40{") && body.ends_with("\x1e42[\"auth\",{}]"),
        "{body}"
    );

    let pending = tokio::spawn({
        let poll = poll.clone();
        async move { get(&poll).await }
    });
    // The poll must be held by the server before the event is sent: one
    // still unanswered after 50 ms on loopback is.
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(!pending.is_finished(), "the poll was answered at once");
    let event = "451-[\"message\",{\"_placeholder\":true,\"num\":0}]\x1ebAQID";
    assert_eq!(post(&poll, event).await, (200, "ok".to_owned()));
    let (status, body) = pending.await.expect("the poll task");
    assert_eq!(status, 200);
    assert_eq!(
        body,
        "451-[\"message-back\",{\"_placeholder\":true,\"num\":0}]\x1ebAQID"
    );
    s.shutdown().await;
}

#[tokio::test]
async fn errors_are_answered_as_node_with_a_numeric_code() {
    let s = server(&[]).await;
    let addr = echo(&s);
    for (query, code, message) in [
        ("EIO=4&transport=abc", 0, "Transport unknown"),
        ("EIO=4&transport=polling&sid=nope", 1, "Session ID unknown"),
        ("EIO=5&transport=polling", 5, "Unsupported protocol version"),
    ] {
        let (status, body) = get(&url(addr, query)).await;
        assert_eq!(status, 400, "{query}");
        let body: Value = serde_json::from_str(&body).expect("a JSON body");
        assert_eq!(
            body,
            serde_json::json!({"code": code, "message": message}),
            "{query}"
        );
    }
    // A sid of one version asked for with the other is a bad request.
    let sid = polling_session(addr).await;
    let (status, body) = get(&url(addr, &format!("EIO=3&transport=polling&sid={sid}"))).await;
    assert_eq!(status, 400);
    assert_eq!(body, r#"{"code":3,"message":"Bad request"}"#);
    s.shutdown().await;
}

/// A chat-like app: `join` a room, `say` to it (others), `shout` to it
/// (everyone), `dm` a client by sid, `whoami` (acked with the sid),
/// `flood` the sender, `relay` to a room through the hub (everyone),
/// `hold`: `held` to the sender and `shouted` to the room, held until the
/// app's next gate opens.
#[derive(Default)]
struct Chat {
    hub: std::sync::OnceLock<Hub>,
    /// What the answers of the next `hold` wait for.
    gates: std::sync::Mutex<Vec<tokio::sync::oneshot::Receiver<bool>>>,
}

impl App for Chat {
    fn on_connect(&self, _socket: &mut Socket<'_>, _auth: Option<&Value>) -> Result<(), String> {
        Ok(())
    }

    fn on_event(&self, socket: &mut Socket<'_>, event: Event) {
        let room = match event.args.first() {
            Some(Data::String(room)) => room.clone(),
            _ => return,
        };
        match event.name.as_str() {
            "join" => {
                socket.join(&room);
                if let Some(id) = event.ack {
                    socket.ack(id, vec![Data::String(room)]);
                }
            }
            "say" => socket.broadcast(&room, "said", event.args),
            "shout" => socket.to_room(&room, "shouted", event.args),
            "relay" => {
                if let Some(hub) = self.hub.get() {
                    hub.emit_to_room(socket.namespace(), &room, "relayed", event.args);
                }
            }
            "dm" => socket.emit_to(&room, "dm", event.args),
            "whoami" => {
                if let Some(id) = event.ack {
                    let sid = socket.sid().to_owned();
                    socket.ack(id, vec![Data::String(sid)]);
                }
            }
            "hold" => {
                socket.emit("held", event.args.clone());
                socket.to_room(&room, "shouted", event.args);
                let gate = self.gates.lock().expect("gates").pop();
                if let Some(gate) = gate {
                    socket.hold_until(async move { gate.await.unwrap_or(false) });
                }
            }
            "flood" => {
                for _ in 0..1000 {
                    socket.emit("flood", vec![Data::String("x".repeat(1000))]);
                }
            }
            _ => {}
        }
    }
}

/// Serves `Chat` on a free port with small queues.
async fn chat_server() -> SocketAddr {
    chat_server_with_hub().await.0
}

/// Serves `Chat` on a free port with small queues, and its hub.
async fn chat_server_with_hub() -> (SocketAddr, Hub) {
    serve_chat(Arc::new(Chat::default())).await
}

/// Serves `chat` on a free port with small queues, and its hub.
async fn serve_chat(chat: Arc<Chat>) -> (SocketAddr, Hub) {
    let transport = Transport::socketio(
        chat.clone(),
        Options {
            engine: ServerConfig {
                ping_interval: Duration::from_secs(60),
                max_queued_messages: 64,
                ..ServerConfig::default()
            },
            socketio: SioConfig::default(),
            versions: vec![EioVersion::V3, EioVersion::V4],
        },
    );
    let hub = transport.hub();
    chat.hub.set(hub.clone()).expect("a new app");
    let router = Router::new().fallback(move |req: Request| {
        let t = transport.clone();
        async move { t.handle(req).await }
    });
    let tcp = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = tcp.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(tcp, router).await });
    (addr, hub)
}

/// The Engine.IO sid of a chat client, as the server knows it.
async fn whoami(ws: &mut Ws) -> String {
    ws.send(r#"429["whoami","-"]"#).await;
    let answer = ws.recv_text().await;
    let sid = answer
        .strip_prefix("439[\"")
        .and_then(|s| s.strip_suffix("\"]"))
        .unwrap_or_else(|| panic!("not a whoami answer: {answer}"));
    sid.to_owned()
}

#[tokio::test]
async fn to_room_reaches_the_sender_too_and_emit_to_one_client_only() {
    let addr = chat_server().await;
    let mut a = chat_client(addr, Some("r")).await;
    let mut b = chat_client(addr, Some("r")).await;
    let mut c = chat_client(addr, Some("other")).await;
    a.send(r#"42["shout","r","hello"]"#).await;
    assert_eq!(a.recv_text().await, r#"42["shouted","r","hello"]"#);
    assert_eq!(b.recv_text().await, r#"42["shouted","r","hello"]"#);
    let c_sid = whoami(&mut c).await;
    a.send(&format!(r#"42["dm","{c_sid}","psst"]"#)).await;
    assert_eq!(c.recv_text().await, format!(r#"42["dm","{c_sid}","psst"]"#));
    a.expect_quiet(Duration::from_millis(100)).await;
    b.expect_quiet(Duration::from_millis(100)).await;
}

/// A burst of broadcasts read at once is delivered in runs (one per
/// stretch of the same recipients): every member still gets its own in the
/// order they were sent, across runs to other rooms and clients.
#[tokio::test]
async fn a_burst_of_broadcasts_reaches_every_member_in_order_across_runs() {
    let addr = chat_server().await;
    let mut a = chat_client(addr, Some("r")).await;
    let mut b = chat_client(addr, Some("r")).await;
    let mut c = chat_client(addr, Some("other")).await;
    let b_sid = whoami(&mut b).await;
    let (mut burst, mut to_a, mut to_b, mut to_c) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for i in 0..40 {
        let (sent, shouted) = match i % 7 {
            3 => (
                format!(r#"42["shout","other","{i}"]"#),
                format!(r#"42["shouted","other","{i}"]"#),
            ),
            5 => (
                format!(r#"42["dm","{b_sid}","{i}"]"#),
                format!(r#"42["dm","{b_sid}","{i}"]"#),
            ),
            _ => (
                format!(r#"42["shout","r","{i}"]"#),
                format!(r#"42["shouted","r","{i}"]"#),
            ),
        };
        match i % 7 {
            3 => to_c.push(shouted),
            5 => to_b.push(shouted),
            _ => {
                to_a.push(shouted.clone());
                to_b.push(shouted);
            }
        }
        burst.push(sent);
    }
    a.send_burst(&burst).await;
    for (ws, expected) in [(&mut a, to_a), (&mut b, to_b), (&mut c, to_c)] {
        let mut got = Vec::new();
        for _ in 0..expected.len() {
            got.push(ws.recv_text().await);
        }
        assert_eq!(got, expected);
        ws.expect_quiet(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn the_hub_emits_from_outside_a_handler_and_changes_membership() {
    let (addr, hub) = chat_server_with_hub().await;
    let mut a = chat_client(addr, Some("r")).await;
    let mut b = chat_client(addr, Some("r")).await;
    let mut c = chat_client(addr, None).await;
    let (a_sid, b_sid, c_sid) = (
        whoami(&mut a).await,
        whoami(&mut b).await,
        whoami(&mut c).await,
    );
    let mut members = hub.members("/", "r");
    members.sort();
    let mut expected = vec![a_sid.clone(), b_sid.clone()];
    expected.sort();
    assert_eq!(members, expected);

    assert_eq!(
        hub.emit_to_room("/", "r", "news", vec![Data::String("hi".into())]),
        2
    );
    assert_eq!(a.recv_text().await, r#"42["news","hi"]"#);
    assert_eq!(b.recv_text().await, r#"42["news","hi"]"#);
    c.expect_quiet(Duration::from_millis(100)).await;

    hub.join(&c_sid, "/", "r");
    hub.leave(&a_sid, "/", "r");
    assert_eq!(
        hub.emit_to_room("/", "r", "news", vec![Data::String("again".into())]),
        2
    );
    assert_eq!(b.recv_text().await, r#"42["news","again"]"#);
    assert_eq!(c.recv_text().await, r#"42["news","again"]"#);
    a.expect_quiet(Duration::from_millis(100)).await;

    assert!(hub.emit_to(&a_sid, "/", "only", vec![]));
    assert_eq!(a.recv_text().await, r#"42["only"]"#);
    // A namespace the client never joined gets nothing, and says so.
    assert!(!hub.emit_to(&a_sid, "/custom", "only", vec![]));
    assert!(!hub.emit_to("no-such-sid", "/", "only", vec![]));
    b.expect_quiet(Duration::from_millis(100)).await;
}

/// A hub used inside a handler delivers when the handler returns: the
/// sender's own session is locked while it runs.
#[tokio::test]
async fn the_hub_inside_a_handler_reaches_the_sender_without_deadlock() {
    let addr = chat_server().await;
    let mut a = chat_client(addr, Some("r")).await;
    let mut b = chat_client(addr, Some("r")).await;
    a.send(r#"42["relay","r","x"]"#).await;
    b.send(r#"42["relay","r","y"]"#).await;
    let mut got_a = vec![a.recv_text().await, a.recv_text().await];
    let mut got_b = vec![b.recv_text().await, b.recv_text().await];
    got_a.sort();
    got_b.sort();
    let expected = vec![
        r#"42["relayed","r","x"]"#.to_owned(),
        r#"42["relayed","r","y"]"#.to_owned(),
    ];
    assert_eq!(got_a, expected);
    assert_eq!(got_b, expected);
}

async fn chat_client(addr: SocketAddr, room: Option<&str>) -> Ws {
    let mut ws = Ws::connect(addr, 4).await;
    ws.send("40").await;
    assert!(ws.recv_text().await.starts_with("40{"));
    if let Some(room) = room {
        ws.send(&format!(r#"421["join","{room}"]"#)).await;
        assert_eq!(ws.recv_text().await, format!(r#"431["{room}"]"#));
    }
    ws
}

#[tokio::test]
async fn held_answers_wait_for_their_gate_and_later_answers_queue_behind() {
    let chat = Arc::new(Chat::default());
    let (open, gate) = tokio::sync::oneshot::channel();
    let (drop_it, dropped) = tokio::sync::oneshot::channel();
    // Popped from the end: the first `hold` waits for `gate`.
    chat.gates.lock().expect("gates").extend([dropped, gate]);
    let (addr, _hub) = serve_chat(chat).await;
    let mut a = chat_client(addr, Some("r")).await;
    let mut b = chat_client(addr, Some("r")).await;
    a.send(r#"42["hold","r","one"]"#).await;
    a.send(r#"429["whoami","-"]"#).await;
    a.expect_quiet(Duration::from_millis(100)).await;
    b.expect_quiet(Duration::from_millis(100)).await;
    open.send(true).expect("the gate is awaited");
    assert_eq!(a.recv_text().await, r#"42["held","r","one"]"#);
    assert!(
        a.recv_text().await.starts_with("439[\""),
        "the later ack follows"
    );
    assert_eq!(a.recv_text().await, r#"42["shouted","r","one"]"#);
    assert_eq!(b.recv_text().await, r#"42["shouted","r","one"]"#);

    // A gate that says no drops its answers; what follows goes on.
    a.send(r#"42["hold","r","two"]"#).await;
    a.send(r#"42["say","r","three"]"#).await;
    b.expect_quiet(Duration::from_millis(100)).await;
    drop_it.send(false).expect("the gate is awaited");
    assert_eq!(b.recv_text().await, r#"42["said","r","three"]"#);
    a.expect_quiet(Duration::from_millis(100)).await;
}

#[tokio::test]
async fn a_broadcast_reaches_the_room_but_not_the_sender() {
    let addr = chat_server().await;
    let mut a = chat_client(addr, Some("r")).await;
    let mut b = chat_client(addr, Some("r")).await;
    let mut c = chat_client(addr, Some("other")).await;
    a.send(r#"42["say","r","hello"]"#).await;
    assert_eq!(b.recv_text().await, r#"42["said","r","hello"]"#);
    a.expect_quiet(Duration::from_millis(100)).await;
    c.expect_quiet(Duration::from_millis(100)).await;
}

#[tokio::test]
async fn a_full_queue_disconnects_the_client_instead_of_dropping_messages() {
    let addr = chat_server().await;
    let mut ws = chat_client(addr, None).await;
    // 1000 messages at once into a queue of 64: the session is closed (with
    // a logged reason) rather than any message skipped.
    ws.send(r#"42["flood","x"]"#).await;
    let mut received = 0;
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        assert!(tokio::time::Instant::now() < deadline, "not closed in time");
        match ws.recv_raw().await {
            Frame::Text(t) if t.starts_with(r#"42["flood""#) => received += 1,
            Frame::Text(t) if t == "1" => {}
            Frame::Closed => break,
            other => panic!("unexpected {other:?}"),
        }
    }
    assert!(received < 1000, "every message was queued: {received}");
}

/// The heartbeat's count: a client that stops answering is closed and
/// counted (nothing was waiting unread in its socket), one that answers
/// stays open; the listener hands the transport its sockets.
#[tokio::test]
async fn a_silent_client_is_timed_out_and_counted_one_that_answers_is_not() {
    use reference_server::socketio::{HeartbeatStats, NoDelay, PeerSocket};
    let transport = Transport::socketio(
        Arc::new(Chat::default()),
        Options {
            engine: ServerConfig {
                ping_interval: Duration::from_millis(100),
                ping_timeout: Duration::from_millis(150),
                ..ServerConfig::default()
            },
            socketio: SioConfig::default(),
            versions: vec![EioVersion::V4],
        },
    );
    let t = transport.clone();
    let router = Router::new().fallback(move |req: Request| {
        let t = t.clone();
        async move { t.handle(req).await }
    });
    let tcp = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = tcp.local_addr().unwrap();
    let service = router.into_make_service_with_connect_info::<PeerSocket>();
    tokio::spawn(async move { axum::serve(NoDelay(tcp), service).await });

    let mut answering = chat_client(addr, None).await;
    let mut silent = chat_client(addr, None).await;
    let silent_closed = async {
        // Pings are read and left unanswered.
        loop {
            match silent.recv_raw().await {
                Frame::Closed => return,
                Frame::Text(t) if t == "2" || t == "1" => continue,
                other => panic!("expected pings and the close, got {other:?}"),
            }
        }
    };
    tokio::join!(
        silent_closed,
        answering.expect_quiet(Duration::from_millis(600))
    );
    let stats = transport.heartbeat_stats();
    assert_eq!(
        stats,
        HeartbeatStats {
            lapses: 1 + stats.read_late,
            timeouts: 1,
            timeouts_with_input: 0,
            read_late: stats.read_late,
        }
    );
    answering.expect_quiet(Duration::from_millis(300)).await;
    assert_eq!(transport.session_count(), 1);
    assert_eq!(transport.heartbeat_stats().timeouts, 1);
}
