//! Test helpers: an embedded server, a long-polling client and a WebSocket client speaking raw frames.

use std::{net::SocketAddr, time::Duration};

use futures_util::{SinkExt, StreamExt};
use reference_server::{Config, EchoFault, Fault, ListenerName, Running};
use tokio::net::TcpStream;
use tokio_tungstenite::{tungstenite::Message, MaybeTlsStream, WebSocketStream};

/// The bound of every network wait.
pub const WAIT: Duration = Duration::from_secs(3);

/// Starts the embedded server (free loopback ports, test profile) with the echo listener's `faults` on.
pub async fn server(faults: &[EchoFault]) -> Running {
    let mut config = Config::embedded();
    config.faults = faults.iter().copied().map(Fault::from).collect();
    tokio::time::timeout(WAIT, reference_server::start(config))
        .await
        .expect("server starts in time")
        .expect("server starts")
}

/// The echo app's address.
pub fn echo(running: &Running) -> SocketAddr {
    running
        .addrs
        .get(ListenerName::Echo)
        .expect("the echo app runs")
}

/// `http://ADDR/socket.io/?QUERY`
pub fn url(addr: SocketAddr, query: &str) -> String {
    format!("http://{addr}/socket.io/?{query}")
}

/// An HTTP client whose every request is bounded by [`WAIT`].
pub fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(WAIT)
        .build()
        .expect("HTTP client")
}

/// GET: status and body.
pub async fn get(url: &str) -> (u16, String) {
    let response = http().get(url).send().await.expect("GET answered");
    let status = response.status().as_u16();
    (status, response.text().await.expect("GET body"))
}

/// POST `body`: status and body.
pub async fn post(url: &str, body: &str) -> (u16, String) {
    let response = http()
        .post(url)
        .body(body.to_owned())
        .send()
        .await
        .expect("POST answered");
    let status = response.status().as_u16();
    (status, response.text().await.expect("POST body"))
}

/// Opens an Engine.IO 4 long-polling session: its sid.
pub async fn polling_session(addr: SocketAddr) -> String {
    let (status, body) = get(&url(addr, "EIO=4&transport=polling")).await;
    assert_eq!(status, 200, "{body}");
    let open = body.strip_prefix('0').expect("an open packet");
    let handshake: serde_json::Value = serde_json::from_str(open).expect("handshake JSON");
    handshake["sid"].as_str().expect("a sid").to_owned()
}

/// The JSON after `prefix` in `frame`.
pub fn json_after(frame: &str, prefix: &str) -> serde_json::Value {
    let rest = frame
        .strip_prefix(prefix)
        .unwrap_or_else(|| panic!("{frame:?} starts with {prefix:?}"));
    serde_json::from_str(rest).unwrap_or_else(|e| panic!("{rest:?} is JSON: {e}"))
}

/// Asserts `value` is an object with exactly the keys `keys`.
pub fn assert_keys(value: &serde_json::Value, keys: &[&str]) {
    let mut got: Vec<&str> = value
        .as_object()
        .unwrap_or_else(|| panic!("{value} is an object"))
        .keys()
        .map(String::as_str)
        .collect();
    got.sort_unstable();
    let mut want = keys.to_vec();
    want.sort_unstable();
    assert_eq!(got, want, "keys of {value}");
}

/// One frame received on a WebSocket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// A text frame.
    Text(String),
    /// A binary frame.
    Binary(Vec<u8>),
    /// The connection closed (close frame, end of stream or error).
    Closed,
}

/// A raw WebSocket client of `/socket.io/`.
pub struct Ws {
    stream: WebSocketStream<MaybeTlsStream<TcpStream>>,
    eio: u8,
    /// Whether [`Ws::expect_quiet`] answers pings (otherwise a ping is noise).
    pub answer_pings: bool,
    /// The Engine.IO open packet, `0{...}`.
    pub open: String,
}

impl Ws {
    /// Connects to `/socket.io/` with Engine.IO version `eio` and reads the open packet.
    pub async fn connect(addr: SocketAddr, eio: u8) -> Ws {
        Ws::connect_path(addr, "/socket.io/", eio).await
    }

    /// Connects to `path` with Engine.IO version `eio` and reads the open packet.
    pub async fn connect_path(addr: SocketAddr, path: &str, eio: u8) -> Ws {
        let url = format!("ws://{addr}{path}?EIO={eio}&transport=websocket");
        let (stream, _) = tokio::time::timeout(WAIT, tokio_tungstenite::connect_async(url))
            .await
            .expect("WebSocket connects in time")
            .expect("WebSocket connects");
        let mut ws = Ws {
            stream,
            eio,
            answer_pings: true,
            open: String::new(),
        };
        match ws.recv_raw().await {
            Frame::Text(open) => ws.open = open,
            other => panic!("expected the open packet, got {other:?}"),
        }
        ws
    }

    /// Connects with Engine.IO 4 and joins the main namespace (`40`),
    /// reading the CONNECT answer and the `auth` event.
    pub async fn connected(addr: SocketAddr) -> Ws {
        let mut ws = Ws::connect(addr, 4).await;
        ws.send("40").await;
        assert!(ws.recv_text().await.starts_with("40{"));
        assert_eq!(ws.recv_text().await, r#"42["auth",{}]"#);
        ws
    }

    /// Sends a text frame.
    pub async fn send(&mut self, text: &str) {
        tokio::time::timeout(WAIT, self.stream.send(Message::text(text)))
            .await
            .expect("send in time")
            .expect("send");
    }

    /// Sends text frames in one write, so the server reads them in one burst.
    pub async fn send_burst(&mut self, texts: &[String]) {
        let burst = async {
            for text in texts {
                self.stream.feed(Message::text(text.as_str())).await?;
            }
            self.stream.flush().await
        };
        tokio::time::timeout(WAIT, burst)
            .await
            .expect("send in time")
            .expect("send");
    }

    /// Sends a binary frame.
    pub async fn send_binary(&mut self, bytes: &[u8]) {
        tokio::time::timeout(WAIT, self.stream.send(Message::binary(bytes.to_vec())))
            .await
            .expect("send in time")
            .expect("send");
    }

    /// The next frame, pings included.
    pub async fn recv_raw(&mut self) -> Frame {
        self.recv_raw_within(WAIT)
            .await
            .expect("a frame arrives in time")
    }

    /// The next frame, pings included, if one comes within `wait`.
    pub async fn recv_raw_within(&mut self, wait: Duration) -> Option<Frame> {
        loop {
            let next = tokio::time::timeout(wait, self.stream.next()).await.ok()?;
            return Some(match next {
                Some(Ok(Message::Text(t))) => Frame::Text(t.to_string()),
                Some(Ok(Message::Binary(b))) => Frame::Binary(b.to_vec()),
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => Frame::Closed,
                Some(Ok(_)) => continue,
            });
        }
    }

    /// The next frame that is not an Engine.IO 4 ping (each ping is answered).
    pub async fn recv(&mut self) -> Frame {
        loop {
            let frame = self.recv_raw().await;
            if self.eio == 4 && frame == Frame::Text("2".into()) {
                self.send("3").await;
                continue;
            }
            return frame;
        }
    }

    /// The next non-ping frame, which must be text.
    pub async fn recv_text(&mut self) -> String {
        match self.recv().await {
            Frame::Text(t) => t,
            other => panic!("expected a text frame, got {other:?}"),
        }
    }

    /// Waits until the server closes the connection; an Engine.IO close
    /// packet (`1`) may come first, nothing else may.
    pub async fn expect_closed(&mut self) {
        loop {
            match self.recv().await {
                Frame::Closed => return,
                Frame::Text(t) if t == "1" => continue,
                other => panic!("expected the connection to close, got {other:?}"),
            }
        }
    }

    /// Asserts nothing but pings (answered) arrives for `wait`, and the connection stays open.
    pub async fn expect_quiet(&mut self, wait: Duration) {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            if left.is_zero() {
                return;
            }
            match self.recv_raw_within(left).await {
                None => return,
                Some(Frame::Text(t)) if t == "2" && self.eio == 4 && self.answer_pings => {
                    self.send("3").await
                }
                Some(other) => panic!("expected silence, got {other:?}"),
            }
        }
    }
}
