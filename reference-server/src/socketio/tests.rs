//! The transport's heartbeat over polling against a server too busy to read: a connection whose reads the test holds back.
//!
//! The listener of these tests hands every connection a [`Gate`]: while it
//! is shut, hyper cannot read what arrives on that connection, which waits
//! in the socket as it does on a server that is too busy to read it. The
//! client is plain HTTP/1.1 over two keep-alive connections, as stock
//! clients poll: the pending GET on one, the POSTs on the other.

use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use axum::extract::connect_info::Connected;
use axum::extract::Request;
use axum::serve::{IncomingStream, Listener};
use axum::Router;
use protocols::engineio::EioVersion;
use protocols::session::engineio::ServerConfig;
use protocols::session::socketio::Config as SioConfig;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

use super::peer::Conn;
use super::{lock, HeartbeatStats, Options, PeerSocket, Transport};

const PING_INTERVAL: Duration = Duration::from_millis(100);
/// Long enough that a loaded machine writes the answer before its deadline,
/// and hyper reads it within the one more pingTimeout the server waits.
const PING_TIMEOUT: Duration = Duration::from_millis(1_000);
/// How long anything the test waits for may take on a loaded machine.
const WAIT: Duration = Duration::from_secs(10);

/// Holds back the reads of one connection while it is shut.
#[derive(Clone, Default)]
struct Gate(Arc<GateState>);

#[derive(Default)]
struct GateState {
    shut: AtomicBool,
    waker: Mutex<Option<Waker>>,
}

impl Gate {
    fn shut(&self) {
        self.0.shut.store(true, Ordering::SeqCst);
    }

    fn open(&self) {
        self.0.shut.store(false, Ordering::SeqCst);
        if let Some(w) = lock(&self.0.waker).take() {
            w.wake();
        }
    }
}

/// A connection whose reads wait while its gate is shut.
struct Gated {
    conn: Conn,
    gate: Gate,
}

impl AsyncRead for Gated {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let this = self.get_mut();
        if this.gate.0.shut.load(Ordering::SeqCst) {
            *lock(&this.gate.0.waker) = Some(cx.waker().clone());
            // Opened meanwhile: its wake may have missed the waker.
            if this.gate.0.shut.load(Ordering::SeqCst) {
                return Poll::Pending;
            }
        }
        Pin::new(&mut this.conn).poll_read(cx, buf)
    }
}

impl AsyncWrite for Gated {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.get_mut().conn).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().conn).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().conn).poll_shutdown(cx)
    }
}

/// A listener that hands the test the gate of every connection, in the order they were accepted.
struct GatedListener {
    tcp: TcpListener,
    gates: mpsc::UnboundedSender<Gate>,
}

impl Listener for GatedListener {
    type Io = Gated;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Gated, SocketAddr) {
        let (stream, addr) = Listener::accept(&mut self.tcp).await;
        let _ = stream.set_nodelay(true);
        let gate = Gate::default();
        let _ = self.gates.send(gate.clone());
        let conn = Conn::new(stream);
        (Gated { conn, gate }, addr)
    }

    fn local_addr(&self) -> std::io::Result<SocketAddr> {
        Listener::local_addr(&self.tcp)
    }
}

impl Connected<IncomingStream<'_, GatedListener>> for PeerSocket {
    fn connect_info(stream: IncomingStream<'_, GatedListener>) -> PeerSocket {
        stream.io().conn.peer().clone()
    }
}

/// A plain Engine.IO transport (v3 and v4, the short heartbeat above)
/// served on a gated listener; its address and the gates of its connections.
async fn serve() -> (Transport, SocketAddr, mpsc::UnboundedReceiver<Gate>) {
    let transport = Transport::engine(
        Arc::new(|_| None),
        Options {
            engine: ServerConfig {
                ping_interval: PING_INTERVAL,
                ping_timeout: PING_TIMEOUT,
                ..ServerConfig::default()
            },
            socketio: SioConfig::default(),
            versions: vec![EioVersion::V3, EioVersion::V4],
        },
    );
    let t = transport.clone();
    let router = Router::new().fallback(move |req: Request| {
        let t = t.clone();
        async move { t.handle(req).await }
    });
    let tcp = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = tcp.local_addr().expect("its address");
    let (gates, accepted) = mpsc::unbounded_channel();
    let service = router.into_make_service_with_connect_info::<PeerSocket>();
    tokio::spawn(async move { axum::serve(GatedListener { tcp, gates }, service).await });
    (transport, addr, accepted)
}

/// One keep-alive HTTP/1.1 connection of the client, and its gate on the server.
struct Http {
    stream: TcpStream,
    read: Vec<u8>,
    gate: Gate,
}

impl Http {
    async fn connect(addr: SocketAddr, accepted: &mut mpsc::UnboundedReceiver<Gate>) -> Http {
        let stream = TcpStream::connect(addr).await.expect("connect");
        let gate = tokio::time::timeout(WAIT, accepted.recv())
            .await
            .expect("accepted in time")
            .expect("the listener runs");
        Http {
            stream,
            read: Vec::new(),
            gate,
        }
    }

    /// Writes a request; its answer is read by [`Http::response`].
    async fn send(&mut self, method: &str, query: &str, body: &str) {
        let request = format!(
            "{method} /engine.io/?{query} HTTP/1.1\r\nhost: test\r\n\
             content-type: text/plain;charset=UTF-8\r\ncontent-length: {}\r\n\r\n{body}",
            body.len()
        );
        self.stream
            .write_all(request.as_bytes())
            .await
            .expect("write the request");
    }

    /// The status and body of the next response.
    async fn response(&mut self) -> (u16, String) {
        tokio::time::timeout(WAIT, self.read_response())
            .await
            .expect("a response in time")
    }

    async fn read_response(&mut self) -> (u16, String) {
        let head_end = loop {
            if let Some(i) = self.read.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
            self.fill().await;
        };
        let head = String::from_utf8_lossy(&self.read[..head_end]).into_owned();
        let status: u16 = head
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .expect("a status line");
        let length: usize = head
            .lines()
            .find_map(|l| {
                let (name, value) = l.split_once(':')?;
                name.eq_ignore_ascii_case("content-length")
                    .then(|| value.trim().parse().ok())?
            })
            .expect("a content-length");
        while self.read.len() < head_end + length {
            self.fill().await;
        }
        let body = String::from_utf8_lossy(&self.read[head_end..head_end + length]).into_owned();
        self.read.drain(..head_end + length);
        (status, body)
    }

    async fn fill(&mut self) {
        let mut chunk = [0u8; 4096];
        let n = self.stream.read(&mut chunk).await.expect("read");
        assert!(n > 0, "the server closed the connection");
        self.read.extend_from_slice(&chunk[..n]);
    }
}

/// A polling session on two connections: its query, the connection of
/// its GETs and that of its POSTs (each has carried a request).
async fn session(
    addr: SocketAddr,
    accepted: &mut mpsc::UnboundedReceiver<Gate>,
    version: EioVersion,
) -> (String, Http, Http) {
    let eio = match version {
        EioVersion::V3 => 3,
        EioVersion::V4 => 4,
    };
    let mut gets = Http::connect(addr, accepted).await;
    gets.send("GET", &format!("EIO={eio}&transport=polling"), "")
        .await;
    let (status, open) = gets.response().await;
    assert_eq!(status, 200, "{open}");
    // v3: `<length>:0{...}`; v4: `0{...}`.
    let json = &open[open.find("0{").expect("an open packet") + 1..];
    let handshake: serde_json::Value = serde_json::from_str(json).expect("the handshake");
    let sid = handshake["sid"].as_str().expect("a sid");
    let query = format!("EIO={eio}&transport=polling&sid={sid}");
    let mut posts = Http::connect(addr, accepted).await;
    posts.send("POST", &query, &payload(version, "6")).await;
    assert_eq!(posts.response().await, (200, "ok".to_owned()));
    (query, gets, posts)
}

/// One packet as a POST body of `version`.
fn payload(version: EioVersion, packet: &str) -> String {
    match version {
        EioVersion::V3 => format!("{}:{packet}", packet.len()),
        EioVersion::V4 => packet.to_owned(),
    }
}

/// Waits until the transport's heartbeat stats say `done`.
async fn until(transport: &Transport, done: impl Fn(&HeartbeatStats) -> bool) {
    let deadline = tokio::time::Instant::now() + WAIT;
    while !done(&transport.heartbeat_stats()) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{:?}",
            transport.heartbeat_stats()
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

/// Writes the session's heartbeat answer (v4 the pong to the ping its GET
/// got; v3 its own ping) on the POST connection while the server cannot
/// read it there, and waits until the server judged the lapsed heartbeat.
async fn answer_unread(version: EioVersion) -> (Transport, String, Http, Http) {
    let (transport, addr, mut accepted) = serve().await;
    let (query, mut gets, mut posts) = session(addr, &mut accepted, version).await;
    let answer = match version {
        EioVersion::V4 => {
            gets.send("GET", &query, "").await;
            assert_eq!(gets.response().await, (200, "2".to_owned()));
            "3"
        }
        EioVersion::V3 => "2",
    };
    posts.gate.shut();
    posts.send("POST", &query, &payload(version, answer)).await;
    assert_eq!(
        transport.heartbeat_stats().lapses,
        0,
        "written after its deadline"
    );
    // The heartbeat lapses, the answer unread: the timer fired first.
    until(&transport, |s| s.lapses == 1).await;
    (transport, query, gets, posts)
}

/// Regression: over polling a pong the server had not read yet (its POST
/// waiting in a keep-alive connection's socket) was not looked for, and the
/// session was closed although its client had answered in time.
#[tokio::test]
async fn bug_a_polling_answer_waiting_unread_when_the_heartbeat_lapses_keeps_the_session() {
    for version in [EioVersion::V4, EioVersion::V3] {
        let (transport, query, mut gets, mut posts) = answer_unread(version).await;
        // Late, but within one more pingTimeout: the server reads it now.
        posts.gate.open();
        assert_eq!(
            posts.response().await,
            (200, "ok".to_owned()),
            "{version:?}: the answer was not taken"
        );
        until(&transport, |s| s.read_late == 1).await;
        let stats = transport.heartbeat_stats();
        assert_eq!(
            (stats.timeouts, stats.timeouts_with_input),
            (0, 0),
            "{version:?}"
        );
        assert_eq!(transport.session_count(), 1, "{version:?}");
        if version == EioVersion::V4 {
            // The session goes on: the next ping comes to the next poll.
            gets.send("GET", &query, "").await;
            assert_eq!(gets.response().await, (200, "2".to_owned()));
        }
    }
}

/// Input that stays unread holds the verdict back by one more pingTimeout, no longer.
#[tokio::test]
async fn a_polling_answer_never_read_closes_the_session_one_ping_timeout_later() {
    let (transport, query, _gets, mut posts) = answer_unread(EioVersion::V4).await;
    until(&transport, |s| s.timeouts == 1).await;
    let stats = transport.heartbeat_stats();
    assert_eq!((stats.timeouts_with_input, stats.read_late), (1, 0));
    posts.gate.open();
    assert_eq!(
        posts.response().await,
        (
            400,
            r#"{"code":1,"message":"Session ID unknown"}"#.to_owned()
        ),
        "{query}"
    );
}
