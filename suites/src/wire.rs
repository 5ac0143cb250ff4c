//! The wire: the one way drivers move bytes to and from a target. It
//! records every frame in and out in the transcript and passes every server
//! message through the mutation layer before a driver sees it. Both are
//! optional: on a bare [`Link`] the wire costs a branch per frame, so the
//! network fuzzer and the load generator run the same drivers at full speed.
//!
//! It speaks HTTP requests ([`Wire::request`]), WebSocket connections
//! ([`Wire::websocket`]), raw TCP streams cut into messages by a
//! [`Deframer`] the driver gives ([`Wire::tcp`]), raw TCP bytes no HTTP
//! client would send ([`Wire::tcp_raw`]) and, for clients that open their
//! own sockets, a loopback WebSocket proxy ([`Wire::websocket_proxy`]).

use std::fmt;
use std::marker::PhantomData;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use futures::stream::{SplitSink, SplitStream};
use futures::{SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::{JoinHandle, JoinSet};
use tokio_tungstenite::tungstenite::handshake::server::{Request, Response};
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::driver::DriverError;
use crate::mutate::{Editable, Message, Mutator};
use crate::transcript::{Direction, Transcript};

/// What every connection of one run shares: how long a driver waits for
/// one expected frame, and the transcript and the mutation (if any).
#[derive(Debug, Clone)]
pub struct Link {
    /// How long a driver waits for one expected frame before giving up.
    pub wait: Duration,
    /// Where frames are recorded; `None` records nothing.
    pub transcript: Option<Transcript>,
    /// The mutation applied to server messages; `None` passes them as they are.
    pub mutator: Option<Arc<Mutator>>,
}

impl Link {
    /// A link that records nothing and mutates nothing.
    pub fn bare(wait: Duration) -> Link {
        Link {
            wait,
            transcript: None,
            mutator: None,
        }
    }

    /// The same link, recording into `transcript`.
    pub fn recorded(self, transcript: Transcript) -> Link {
        Link {
            transcript: Some(transcript),
            ..self
        }
    }

    /// The same link, applying `mutator` to server messages.
    pub fn mutated(self, mutator: Arc<Mutator>) -> Link {
        Link {
            mutator: Some(mutator),
            ..self
        }
    }

    /// The wire of a new connection, numbered and described in the
    /// transcript (numbered 0 without one).
    pub fn open(&self, what: impl fmt::Display) -> Wire {
        let conn = match &self.transcript {
            Some(t) => t.open(what.to_string()),
            None => 0,
        };
        self.on(conn)
    }

    /// The wire of a connection the transcript already numbered.
    pub fn on(&self, conn: u32) -> Wire {
        Wire {
            link: self.clone(),
            conn,
        }
    }
}

impl From<&Link> for Link {
    fn from(link: &Link) -> Link {
        link.clone()
    }
}

/// An HTTP response, as a driver needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpReply {
    /// The status code.
    pub status: u16,
    /// The `Content-Type` header.
    pub content_type: Option<String>,
    /// The body.
    pub body: Vec<u8>,
}

impl HttpReply {
    /// The body as text (lossy).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// An HTTP client for raw requests (plain HTTP, a small connection pool).
pub fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .pool_max_idle_per_host(4)
        .build()
        .expect("an HTTP client without TLS builds")
}

/// One connection's end of the wire: its transcript number and the link.
#[derive(Debug, Clone)]
pub struct Wire {
    link: Link,
    conn: u32,
}

/// What the mutation layer made of one server message: none, one or more
/// messages, each handed out after its delay by [`Delivery::next`].
#[derive(Debug)]
pub struct Delivery(Items);

#[derive(Debug)]
enum Items {
    One(Option<Message>),
    Many(std::vec::IntoIter<(Duration, Message)>),
}

impl Delivery {
    fn empty() -> Delivery {
        Delivery(Items::One(None))
    }

    /// The next message, after its delay; `None` when all were handed out.
    pub async fn next(&mut self) -> Option<Message> {
        match &mut self.0 {
            Items::One(message) => message.take(),
            Items::Many(items) => {
                let (delay, message) = items.next()?;
                if !delay.is_zero() {
                    tokio::time::sleep(delay).await;
                }
                Some(message)
            }
        }
    }
}

impl Wire {
    /// The transcript's number for this connection (0 without a transcript).
    pub fn conn(&self) -> u32 {
        self.conn
    }

    /// The link the wire belongs to.
    pub fn link(&self) -> &Link {
        &self.link
    }

    /// How long a driver waits for one expected frame.
    pub fn wait(&self) -> Duration {
        self.link.wait
    }

    /// Records a note (a connection opened or closed, an HTTP status);
    /// formatted only when there is a transcript.
    pub fn note(&self, note: impl fmt::Display) {
        if let Some(t) = &self.link.transcript {
            t.note(self.conn, note.to_string());
        }
    }

    fn record(&self, dir: Direction, message: &Message) {
        if let Some(t) = &self.link.transcript {
            match message {
                Message::Text(text) => t.text(self.conn, dir, text),
                Message::Binary(bytes) => t.binary(self.conn, dir, bytes),
            }
        }
    }

    fn record_body(&self, dir: Direction, body: &[u8]) {
        if let Some(t) = &self.link.transcript {
            match std::str::from_utf8(body) {
                Ok(text) => t.text(self.conn, dir, text),
                Err(_) => t.binary(self.conn, dir, body),
            }
        }
    }

    /// Passes one server message through the mutation layer. For the
    /// messages inside a frame the wire already recorded (the packets of a
    /// polling response); frames the wire reads itself pass through it on
    /// their own.
    pub fn receive<E: Editable>(&self, message: Message) -> Delivery {
        match &self.link.mutator {
            None => Delivery(Items::One(Some(message))),
            Some(m) => Delivery(Items::Many(m.apply::<E>(message).into_iter())),
        }
    }

    /// Sends one HTTP request and records it, its status and both bodies.
    /// The mutation layer may flip the status; the body is left to the
    /// caller (see [`Wire::receive`] and [`Wire::request_whole`]).
    pub async fn request(
        &self,
        http: &reqwest::Client,
        method: reqwest::Method,
        url: &str,
        body: Option<(&str, Vec<u8>)>,
    ) -> Result<HttpReply, DriverError> {
        self.request_with(http, method, url, &[], body).await
    }

    /// [`Wire::request`] with extra headers (`Authorization`, ...), which
    /// the transcript does not show.
    pub async fn request_with(
        &self,
        http: &reqwest::Client,
        method: reqwest::Method,
        url: &str,
        headers: &[(String, String)],
        body: Option<(&str, Vec<u8>)>,
    ) -> Result<HttpReply, DriverError> {
        self.note(format_args!("{method} {url}"));
        let mut req = http.request(method, url);
        for (name, value) in headers {
            req = req.header(name.as_str(), value.as_str());
        }
        if let Some((content_type, body)) = body {
            self.record_body(Direction::Out, &body);
            req = req
                .header(reqwest::header::CONTENT_TYPE, content_type)
                .body(body);
        }
        let resp = req.send().await.map_err(|e| {
            let msg = format!("HTTP request to {url} failed: {e}");
            self.note(&msg);
            if e.is_connect() {
                DriverError::Unreachable(msg)
            } else {
                DriverError::Protocol(msg)
            }
        })?;
        let status = resp.status().as_u16();
        let content_type = resp
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body = resp
            .bytes()
            .await
            .map_err(|e| DriverError::Protocol(format!("reading the body from {url} failed: {e}")))?
            .to_vec();
        self.note(format_args!("HTTP {status}"));
        if !body.is_empty() {
            self.record_body(Direction::In, &body);
        }
        let mut reply = HttpReply {
            status,
            content_type,
            body,
        };
        if let Some(m) = &self.link.mutator {
            if let Some(changed) = m.apply_status(reply.status) {
                self.note(format_args!(
                    "mutated: HTTP {} became {changed}",
                    reply.status
                ));
                reply.status = changed;
            }
        }
        Ok(reply)
    }

    /// [`Wire::request`] whose whole response body is one server message
    /// for the mutation layer: dropped, it is waited for in vain.
    pub async fn request_whole<E: Editable>(
        &self,
        http: &reqwest::Client,
        method: reqwest::Method,
        url: &str,
        body: Option<(&str, Vec<u8>)>,
    ) -> Result<HttpReply, DriverError> {
        let mut reply = self.request(http, method, url, body).await?;
        let Some(m) = &self.link.mutator else {
            return Ok(reply);
        };
        let message = match String::from_utf8(reply.body.clone()) {
            Ok(text) => Message::Text(text),
            Err(e) => Message::Binary(e.into_bytes()),
        };
        match m.apply::<E>(message).into_iter().next() {
            None => {
                self.note("mutated: the response was dropped");
                tokio::time::sleep(self.link.wait).await;
                Err(DriverError::Timeout(format!("no response from {url}")))
            }
            Some((delay, message)) => {
                if !delay.is_zero() {
                    self.note("mutated: the response is delayed");
                    tokio::time::sleep(delay).await;
                }
                reply.body = match message {
                    Message::Text(t) => t.into_bytes(),
                    Message::Binary(b) => b,
                };
                Ok(reply)
            }
        }
    }

    /// Opens a TCP connection to `addr` (`host:port`); the bytes it
    /// receives are cut into messages by `deframer`, each recorded as it
    /// came and then opened up for the mutation layer as `E`.
    pub async fn tcp<E: Editable>(
        &self,
        addr: &str,
        deframer: Box<dyn Deframer>,
    ) -> Result<(TcpSender, TcpReceiver<E>), DriverError> {
        self.note(format_args!("TCP {addr}"));
        let stream = TcpStream::connect(addr).await.map_err(|e| {
            self.note(format_args!("cannot connect: {e}"));
            DriverError::Unreachable(format!("cannot reach {addr}: {e}"))
        })?;
        // Requests are small and a case waits for their answers: no Nagle delay.
        let _ = stream.set_nodelay(true);
        let (read, write) = stream.into_split();
        Ok((
            TcpSender {
                write,
                wire: self.clone(),
            },
            TcpReceiver {
                read,
                buf: vec![0; 64 * 1024],
                deframer,
                wire: self.clone(),
                pending: Delivery::empty(),
                ended: None,
                editable: PhantomData,
            },
        ))
    }

    /// Opens a WebSocket to `url`; what it receives is opened up for the
    /// mutation layer as `E`.
    pub async fn websocket<E: Editable>(
        &self,
        url: &str,
    ) -> Result<(WsSender, WsReceiver<E>), DriverError> {
        self.note(format_args!("WebSocket {url}"));
        // Nagle's algorithm off: small frames leave at once.
        match tokio_tungstenite::connect_async_with_config(url, None, true).await {
            Ok((ws, _)) => {
                let (sink, stream) = ws.split();
                Ok((
                    WsSender {
                        sink,
                        wire: self.clone(),
                    },
                    WsReceiver {
                        stream,
                        wire: self.clone(),
                        pending: Delivery::empty(),
                        close_code: None,
                        editable: PhantomData,
                    },
                ))
            }
            Err(tokio_tungstenite::tungstenite::Error::Io(e)) => {
                Err(DriverError::Unreachable(format!("cannot reach {url}: {e}")))
            }
            Err(e) => {
                self.note(format_args!("WebSocket handshake failed: {e}"));
                Err(DriverError::Protocol(format!(
                    "the WebSocket handshake with {url} failed: {e}"
                )))
            }
        }
    }

    /// A loopback WebSocket server for a client that opens its own sockets:
    /// every connection to it is forwarded to `upstream(path_and_query)`
    /// through this wire, both ways, so its frames are recorded and what the
    /// target sends passes through the mutation layer (as `E`).
    pub async fn websocket_proxy<E: Editable + 'static>(
        &self,
        upstream: impl Fn(&str) -> String + Send + Sync + 'static,
    ) -> Result<WsProxy, DriverError> {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|e| DriverError::Internal(format!("cannot listen on loopback: {e}")))?;
        let addr = listener
            .local_addr()
            .map_err(|e| DriverError::Internal(format!("the loopback listener: {e}")))?;
        let wire = self.clone();
        let upstream = Arc::new(upstream);
        let task = tokio::spawn(async move {
            // Dropped with the accept loop, the forwarders end with it.
            let mut forwarders = JoinSet::new();
            while let Ok((socket, _)) = listener.accept().await {
                let wire = wire.clone();
                let upstream = upstream.clone();
                forwarders.spawn(async move { wire.forward::<E>(socket, &*upstream).await });
            }
        });
        Ok(WsProxy { addr, task })
    }

    async fn forward<E: Editable>(
        &self,
        socket: TcpStream,
        upstream: &(dyn Fn(&str) -> String + Send + Sync),
    ) {
        let mut asked = String::new();
        // The callback's signature is tungstenite's, large error type included.
        #[allow(clippy::result_large_err)]
        let callback = |req: &Request, resp: Response| {
            asked = req
                .uri()
                .path_and_query()
                .map(|p| p.as_str().to_owned())
                .unwrap_or_default();
            Ok(resp)
        };
        let Ok(client) = tokio_tungstenite::accept_hdr_async(socket, callback).await else {
            self.note("the proxied client's WebSocket handshake failed");
            return;
        };
        let (mut to_client, mut from_client) = client.split();
        let (mut to_target, mut from_target) = match self.websocket::<E>(&upstream(&asked)).await {
            Ok(pair) => pair,
            Err(e) => {
                self.note(format_args!("the proxy could not reach the target: {e}"));
                let _ = to_client.close().await;
                return;
            }
        };
        let outbound = async {
            while let Some(Ok(frame)) = from_client.next().await {
                let message = match frame {
                    WsMessage::Text(t) => Message::Text(t.to_string()),
                    WsMessage::Binary(b) => Message::Binary(b.to_vec()),
                    WsMessage::Close(_) => break,
                    _ => continue,
                };
                if to_target.send(message).await.is_err() {
                    break;
                }
            }
            to_target.close().await;
        };
        let inbound = async {
            while let WsEvent::Message(message) = from_target.recv().await {
                if to_client.send(ws_message(message)).await.is_err() {
                    return;
                }
            }
            let _ = to_client.close().await;
        };
        tokio::select! {
            () = outbound => {}
            () = inbound => {}
        }
    }
}

fn ws_message(message: Message) -> WsMessage {
    match message {
        Message::Text(t) => WsMessage::text(t),
        Message::Binary(b) => WsMessage::binary(b),
    }
}

type WsStream = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// The sending half of a WebSocket on the wire.
pub struct WsSender {
    sink: SplitSink<WsStream, WsMessage>,
    wire: Wire,
}

impl WsSender {
    /// Records and sends one message.
    pub async fn send(&mut self, message: Message) -> Result<(), DriverError> {
        self.wire.record(Direction::Out, &message);
        self.sink
            .send(ws_message(message))
            .await
            .map_err(|e| DriverError::Closed(format!("sending over the WebSocket failed: {e}")))
    }

    /// Sends a close frame (errors mean it is closed already).
    pub async fn close(&mut self) {
        self.wire.note("closing the WebSocket");
        let _ = self.sink.close().await;
    }
}

/// What the receiving half of a WebSocket hands out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WsEvent {
    /// A server message, after the mutation layer.
    Message(Message),
    /// The connection ended: the reason.
    Closed(String),
}

/// The receiving half of a WebSocket on the wire: every frame is recorded
/// as it came, then passed through the mutation layer as `E`.
pub struct WsReceiver<E> {
    stream: SplitStream<WsStream>,
    wire: Wire,
    pending: Delivery,
    close_code: Option<u16>,
    editable: PhantomData<fn() -> E>,
}

impl<E: Editable> WsReceiver<E> {
    /// The next server message, or the end of the connection.
    pub async fn recv(&mut self) -> WsEvent {
        loop {
            if let Some(message) = self.pending.next().await {
                return WsEvent::Message(message);
            }
            let reason = match self.stream.next().await {
                Some(Ok(WsMessage::Text(t))) => {
                    self.take(Message::Text(t.to_string()));
                    continue;
                }
                Some(Ok(WsMessage::Binary(b))) => {
                    self.take(Message::Binary(b.to_vec()));
                    continue;
                }
                Some(Ok(WsMessage::Close(frame))) => {
                    self.close_code = frame.as_ref().map(|f| f.code.into());
                    format!("WebSocket close frame {frame:?}")
                }
                Some(Ok(_)) => continue,
                Some(Err(e)) => format!("WebSocket error: {e}"),
                None => "the WebSocket connection ended".to_owned(),
            };
            self.wire.note(&reason);
            return WsEvent::Closed(reason);
        }
    }

    /// The code of the close frame the server sent, once [`WsReceiver::recv`] saw it.
    pub fn close_code(&self) -> Option<u16> {
        self.close_code
    }

    fn take(&mut self, message: Message) {
        self.wire.record(Direction::In, &message);
        self.pending = self.wire.receive::<E>(message);
    }
}

/// Cuts a TCP byte stream into messages: the protocol's framing, given by
/// the driver to [`Wire::tcp`].
pub trait Deframer: Send {
    /// Takes the bytes just read.
    fn feed(&mut self, bytes: &[u8]);
    /// The next whole message fed so far (`Ok(None)`: more bytes are
    /// needed); an error when the stream cannot be cut any further.
    fn next_frame(&mut self) -> Result<Option<Vec<u8>>, String>;
}

/// The sending half of a TCP connection on the wire.
pub struct TcpSender {
    write: OwnedWriteHalf,
    wire: Wire,
}

impl TcpSender {
    /// Records `shown` (the message as the transcript shows it) and writes
    /// `bytes` (the message as framed on the stream).
    pub async fn send(&mut self, shown: &[u8], bytes: &[u8]) -> Result<(), DriverError> {
        self.wire.record_body(Direction::Out, shown);
        self.write_all(bytes).await
    }

    /// Writes bytes as they are, recording them as they are (for malformed
    /// input: broken framing, invalid UTF-8, a partial message).
    pub async fn send_raw(&mut self, bytes: &[u8]) -> Result<(), DriverError> {
        self.wire.record_body(Direction::Out, bytes);
        self.write_all(bytes).await
    }

    async fn write_all(&mut self, bytes: &[u8]) -> Result<(), DriverError> {
        self.write
            .write_all(bytes)
            .await
            .map_err(|e| DriverError::Closed(format!("writing to the TCP connection failed: {e}")))
    }

    /// Closes the sending direction (the peer reads the end of the stream).
    pub async fn close(&mut self) {
        self.wire.note("closing the TCP connection");
        let _ = self.write.shutdown().await;
    }
}

/// What the receiving half of a TCP connection hands out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TcpEvent {
    /// A server message, after the mutation layer.
    Message(Message),
    /// The connection ended, or its bytes could not be cut into messages: the reason.
    Closed(String),
}

/// The receiving half of a TCP connection on the wire.
pub struct TcpReceiver<E> {
    read: OwnedReadHalf,
    buf: Vec<u8>,
    deframer: Box<dyn Deframer>,
    wire: Wire,
    pending: Delivery,
    ended: Option<String>,
    editable: PhantomData<fn() -> E>,
}

impl<E: Editable> TcpReceiver<E> {
    /// The next server message, or the end of the connection. Cancel-safe
    /// (a message cut out of the stream is kept until it is handed out),
    /// except that a message the mutation layer delays is lost when the
    /// wait for it is cancelled, as if it never came.
    pub async fn recv(&mut self) -> TcpEvent {
        loop {
            if let Some(message) = self.pending.next().await {
                return TcpEvent::Message(message);
            }
            if let Some(reason) = &self.ended {
                return TcpEvent::Closed(reason.clone());
            }
            match self.deframer.next_frame() {
                Ok(Some(frame)) => {
                    let message = match String::from_utf8(frame) {
                        Ok(text) => Message::Text(text),
                        Err(e) => Message::Binary(e.into_bytes()),
                    };
                    self.wire.record(Direction::In, &message);
                    self.pending = self.wire.receive::<E>(message);
                    continue;
                }
                Ok(None) => {}
                Err(e) => {
                    self.end(format!(
                        "the server's bytes cannot be read as messages: {e}"
                    ));
                    continue;
                }
            }
            match self.read.read(&mut self.buf).await {
                Ok(0) => self.end("the server closed the TCP connection".to_owned()),
                Ok(n) => self.deframer.feed(&self.buf[..n]),
                Err(e) => self.end(format!("reading the TCP connection failed: {e}")),
            }
        }
    }

    fn end(&mut self, reason: String) {
        self.wire.note(&reason);
        self.ended = Some(reason);
    }
}

/// A running [`Wire::websocket_proxy`]; it stops when dropped.
pub struct WsProxy {
    addr: SocketAddr,
    task: JoinHandle<()>,
}

impl WsProxy {
    /// `ws://127.0.0.1:<port>`: where the client connects.
    pub fn ws_base(&self) -> String {
        format!("ws://{}", self.addr)
    }

    /// `http://127.0.0.1:<port>`, for clients that take an HTTP URL.
    pub fn http_base(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for WsProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A raw TCP connection on the wire, for protocols framed on TCP (ASSA) and
/// for bytes no HTTP or WebSocket client would send (malformed requests,
/// WebSocket frames with reserved bits). Every chunk in and out is recorded.
pub struct TcpConn {
    stream: TcpStream,
    wire: Wire,
}

impl Wire {
    /// Opens a TCP connection to `addr` (`host:port`).
    pub async fn tcp_raw(&self, addr: &str) -> Result<TcpConn, DriverError> {
        self.note(format_args!("TCP {addr}"));
        match tokio::time::timeout(self.link.wait, TcpStream::connect(addr)).await {
            Ok(Ok(stream)) => {
                let _ = stream.set_nodelay(true);
                Ok(TcpConn {
                    stream,
                    wire: self.clone(),
                })
            }
            Ok(Err(e)) => Err(DriverError::Unreachable(format!(
                "cannot reach {addr}: {e}"
            ))),
            Err(_) => Err(DriverError::Unreachable(format!(
                "no TCP answer from {addr}"
            ))),
        }
    }
}

impl TcpConn {
    /// Records and writes `bytes`.
    pub async fn send(&mut self, bytes: &[u8]) -> Result<(), DriverError> {
        use tokio::io::AsyncWriteExt;
        self.wire.record_body(Direction::Out, bytes);
        self.stream
            .write_all(bytes)
            .await
            .map_err(|e| DriverError::Closed(format!("writing to the TCP stream failed: {e}")))
    }

    /// Shuts the writing half down: the peer reads the end of the stream
    /// (and may still answer).
    pub async fn finish(&mut self) -> Result<(), DriverError> {
        use tokio::io::AsyncWriteExt;
        self.wire.note("the TCP stream's writing half shut down");
        self.stream
            .shutdown()
            .await
            .map_err(|e| DriverError::Closed(format!("shutting the TCP stream down failed: {e}")))
    }

    /// The next bytes the peer sends (at most 64 KiB); `Ok(None)` when the
    /// connection ended; a timeout after `within`.
    pub async fn recv(&mut self, within: Duration) -> Result<Option<Vec<u8>>, DriverError> {
        use tokio::io::AsyncReadExt;
        let mut buf = vec![0u8; 65536];
        match tokio::time::timeout(within, self.stream.read(&mut buf)).await {
            Err(_) => Err(DriverError::Timeout("nothing on the TCP stream".to_owned())),
            Ok(Ok(0)) | Ok(Err(_)) => {
                self.wire.note("the TCP connection ended");
                Ok(None)
            }
            Ok(Ok(n)) => {
                buf.truncate(n);
                self.wire.record_body(Direction::In, &buf);
                Ok(Some(buf))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mutate::{MutationKind, PlainJson};

    /// A loopback WebSocket server that answers every text frame with `{"event":<frame>}`.
    async fn echo_server() -> String {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let mut ws = tokio_tungstenite::accept_async(socket).await.unwrap();
                    while let Some(Ok(WsMessage::Text(t))) = ws.next().await {
                        let answer = serde_json::json!({ "event": t.as_str() }).to_string();
                        if ws.send(WsMessage::text(answer)).await.is_err() {
                            return;
                        }
                    }
                });
            }
        });
        format!("ws://{addr}")
    }

    async fn round_trip(wire: &Wire, url: &str) -> WsEvent {
        let (mut tx, mut rx) = wire
            .websocket::<PlainJson<protocols::socketcluster::SocketCluster>>(url)
            .await
            .unwrap();
        tx.send(Message::Text("hi".into())).await.unwrap();
        rx.recv().await
    }

    fn frames(transcript: &Transcript) -> Vec<(Direction, String)> {
        transcript
            .entries()
            .into_iter()
            .filter(|e| e.dir != Direction::Note)
            .map(|e| (e.dir, e.frame))
            .collect()
    }

    #[tokio::test]
    async fn a_bare_wire_passes_frames_as_they_are() {
        let url = echo_server().await;
        let wire = Link::bare(Duration::from_secs(1)).open("unrecorded");
        assert_eq!(wire.conn(), 0);
        assert_eq!(
            round_trip(&wire, &url).await,
            WsEvent::Message(Message::Text(r#"{"event":"hi"}"#.into()))
        );
        let mut one = wire.receive::<PlainJson<protocols::socketcluster::SocketCluster>>(
            Message::Text("x".into()),
        );
        assert_eq!(one.next().await, Some(Message::Text("x".into())));
        assert_eq!(one.next().await, None);
    }

    #[tokio::test]
    async fn a_wire_records_what_came_and_hands_out_what_the_mutation_made_of_it() {
        let url = echo_server().await;
        let transcript = Transcript::new();
        let mutator = Arc::new(Mutator::new(MutationKind::RenameEvent, 0, Duration::ZERO));
        let link = Link::bare(Duration::from_secs(1))
            .recorded(transcript.clone())
            .mutated(mutator.clone());
        let wire = link.open("recorded");
        assert_eq!(wire.conn(), 1);
        assert_eq!(
            round_trip(&wire, &url).await,
            WsEvent::Message(Message::Text(r#"{"event":"hi-mutated"}"#.into()))
        );
        assert!(mutator.applied());
        // The transcript holds the frames as they went over the network.
        assert_eq!(
            frames(&transcript),
            [
                (Direction::Out, "hi".to_owned()),
                (Direction::In, r#"{"event":"hi"}"#.to_owned())
            ]
        );
    }

    #[tokio::test]
    async fn the_proxy_forwards_both_ways_through_the_wire() {
        let url = echo_server().await;
        let transcript = Transcript::new();
        let mutator = Arc::new(Mutator::new(MutationKind::RenameEvent, 0, Duration::ZERO));
        let link = Link::bare(Duration::from_secs(1))
            .recorded(transcript.clone())
            .mutated(mutator);
        let wire = link.open("proxied");
        let proxy = wire
            .websocket_proxy::<PlainJson<protocols::socketcluster::SocketCluster>>(
                move |asked: &str| format!("{url}{asked}"),
            )
            .await
            .unwrap();
        // The client's own socket, as a stock client would open it.
        let (mut client, _) =
            tokio_tungstenite::connect_async(format!("{}/x?y=1", proxy.ws_base()))
                .await
                .unwrap();
        client.send(WsMessage::text("hi")).await.unwrap();
        let answer = client.next().await.unwrap().unwrap();
        assert_eq!(answer, WsMessage::text(r#"{"event":"hi-mutated"}"#));
        let entries = transcript.entries();
        assert!(
            entries.iter().any(|e| e.frame.ends_with("/x?y=1")),
            "the upstream URL keeps the client's path and query: {entries:?}"
        );
        assert_eq!(
            frames(&transcript),
            [
                (Direction::Out, "hi".to_owned()),
                (Direction::In, r#"{"event":"hi"}"#.to_owned())
            ]
        );
    }

    #[tokio::test]
    async fn an_unreachable_target_is_told_apart_from_a_refusing_one() {
        let wire = Link::bare(Duration::from_secs(1)).open("nowhere");
        let closed = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = closed.local_addr().unwrap();
        drop(closed);
        let err = wire
            .websocket::<PlainJson<protocols::socketcluster::SocketCluster>>(&format!(
                "ws://{addr}/"
            ))
            .await
            .err()
            .unwrap();
        assert!(matches!(err, DriverError::Unreachable(_)), "{err:?}");
        // A plain HTTP server is reachable but refuses the WebSocket handshake.
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            let (mut socket, _) = listener.accept().await.unwrap();
            let mut buf = [0u8; 1024];
            let _ = socket.read(&mut buf).await;
            let _ = socket
                .write_all(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n")
                .await;
        });
        let err = wire
            .websocket::<PlainJson<protocols::socketcluster::SocketCluster>>(&format!(
                "ws://{addr}/"
            ))
            .await
            .err()
            .unwrap();
        assert!(matches!(err, DriverError::Protocol(_)), "{err:?}");
    }
}
