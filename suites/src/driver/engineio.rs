//! A raw Engine.IO client, v3 and v4, over HTTP long-polling and WebSocket,
//! with the upgrade between them. Raw means the case controls every byte: it
//! can send a malformed packet, skip a pong or poll twice. Everything sent
//! and received is recorded in the case's transcript, and everything
//! received passes through the case's mutator (if any) first.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures::stream::{SplitSink, SplitStream};
use futures::{SinkExt, StreamExt};
use protocols::engineio::{EioVersion, Handshake, Packet, PacketData, PacketType, Payload};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, Mutex};
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::case::{Ctx, Failure};
use crate::mutate::{Editable, Message};
use crate::target::SocketioTarget;
use crate::transcript::Direction;

/// Where an Engine.IO server is and which version the client speaks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// `http://host:port`.
    pub base: String,
    /// The Engine.IO path, e.g. `/socket.io/`.
    pub path: String,
    /// The protocol revision.
    pub version: EioVersion,
}

impl Endpoint {
    /// The endpoint of a target for `version`; `unimplemented` when the target does not speak it.
    pub fn of(target: Option<&SocketioTarget>, version: EioVersion) -> Result<Endpoint, Failure> {
        let target = target.ok_or_else(|| Failure::Unimplemented("no socketio target".into()))?;
        if !target.engineio.contains(&version.query_value()) {
            return Err(Failure::Unimplemented(format!(
                "the target is configured without Engine.IO {}",
                version.query_value()
            )));
        }
        Ok(Endpoint {
            base: target.url.clone(),
            path: target.path.clone(),
            version,
        })
    }

    /// The polling URL with `extra` query parameters appended.
    pub fn url(&self, query: &str) -> String {
        format!("{}{}?{}", self.base, self.path, query)
    }

    /// The standard query: `EIO=<v>&transport=<t>[&sid=<sid>]`.
    pub fn query(&self, transport: &str, sid: Option<&str>) -> String {
        let mut q = format!("EIO={}&transport={transport}", self.version.query_value());
        if let Some(sid) = sid {
            q.push_str("&sid=");
            q.push_str(sid);
        }
        q
    }

    /// The WebSocket URL for the standard query.
    pub fn ws_url(&self, sid: Option<&str>) -> String {
        let base = self.base.replacen("http", "ws", 1);
        format!("{base}{}?{}", self.path, self.query("websocket", sid))
    }
}

/// An HTTP response, as the case needs it.
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

fn record_body(ctx: &Ctx, conn: u32, dir: Direction, body: &[u8]) {
    match std::str::from_utf8(body) {
        Ok(text) => ctx.transcript.text(conn, dir, text),
        Err(_) => ctx.transcript.binary(conn, dir, body),
    }
}

/// Sends one raw HTTP request to the Engine.IO path and records it.
pub async fn request(
    ctx: &Ctx,
    conn: u32,
    client: &reqwest::Client,
    method: reqwest::Method,
    url: &str,
    body: Option<(&str, Vec<u8>)>,
) -> Result<HttpReply, Failure> {
    ctx.transcript.note(conn, format!("{method} {url}"));
    let mut req = client.request(method, url);
    if let Some((content_type, body)) = body {
        record_body(ctx, conn, Direction::Out, &body);
        req = req
            .header(reqwest::header::CONTENT_TYPE, content_type)
            .body(body);
    }
    let resp = req.send().await.map_err(|e| {
        let msg = format!("HTTP request to {url} failed: {e}");
        ctx.transcript.note(conn, &msg);
        if e.is_connect() {
            Failure::Harness(msg)
        } else {
            Failure::Broken(msg)
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
        .map_err(|e| Failure::Broken(format!("reading the body from {url} failed: {e}")))?
        .to_vec();
    ctx.transcript.note(conn, format!("HTTP {status}"));
    if !body.is_empty() {
        record_body(ctx, conn, Direction::In, &body);
    }
    let mut reply = HttpReply {
        status,
        content_type,
        body,
    };
    if let Some(m) = &ctx.mutator {
        if let Some(changed) = m.apply_status(reply.status) {
            ctx.transcript.note(
                conn,
                format!("mutated: HTTP {} became {changed}", reply.status),
            );
            reply.status = changed;
        }
    }
    Ok(reply)
}

/// A raw request whose whole response is one server message for the
/// mutation layer (the driver's own polls mutate packet by packet instead).
pub async fn raw_request(
    ctx: &Ctx,
    conn: u32,
    client: &reqwest::Client,
    method: reqwest::Method,
    url: &str,
    body: Option<(&str, Vec<u8>)>,
) -> Result<HttpReply, Failure> {
    let mut reply = request(ctx, conn, client, method, url, body).await?;
    let Some(m) = &ctx.mutator else {
        return Ok(reply);
    };
    let message = match String::from_utf8(reply.body.clone()) {
        Ok(text) => Message::Text(text),
        Err(e) => Message::Binary(e.into_bytes()),
    };
    let mut items = m.apply::<EioText>(message).into_iter();
    match items.next() {
        None => {
            ctx.transcript
                .note(conn, "mutated: the response was dropped");
            tokio::time::sleep(ctx.wait).await;
            Err(Failure::Broken(format!("no response from {url}")))
        }
        Some((delay, message)) => {
            if !delay.is_zero() {
                ctx.transcript
                    .note(conn, "mutated: the response is delayed");
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

/// Which transport a packet came over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    /// An HTTP long-poll.
    Polling,
    /// The WebSocket.
    WebSocket,
}

/// What the server did, in order.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// A packet arrived.
    Packet(Via, Packet),
    /// The transport ended: the reason.
    Closed(Via, String),
}

/// How a client behaves on its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Options {
    /// Keep one long-poll in flight while on polling.
    pub auto_poll: bool,
    /// Answer v4 server pings with a pong before handing anything to the case.
    pub auto_pong: bool,
    /// In v3, ping the server every `pingInterval`.
    pub auto_ping: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            auto_poll: true,
            auto_pong: true,
            auto_ping: true,
        }
    }
}

/// Opens Engine.IO text packets up for the mutation layer, through the
/// `protocols` codecs: the Socket.IO packet inside a message packet (its
/// JSON, its ack id), or the JSON of any other packet (the handshake).
pub struct EioText;

/// What an Engine.IO text packet carries besides its JSON.
#[derive(Debug, Clone)]
pub enum EioHead {
    /// A packet that is not a message: its type (the open packet's JSON is the handshake).
    Engine(PacketType),
    /// A message packet: the Socket.IO packet inside, without its data.
    Socket(protocols::socketio::Packet),
}

impl Editable for EioText {
    type Head = EioHead;

    fn split(text: &str) -> Option<(EioHead, Option<serde_json::Value>)> {
        // The text form of a text packet is the same in both versions.
        let packet = Packet::parse_text(EioVersion::V4, text).ok()?;
        let data = packet.as_text()?;
        if packet.packet_type == PacketType::Message {
            let mut socket = protocols::socketio::Packet::parse(data, &Default::default()).ok()?;
            let value = socket.data.take();
            Some((EioHead::Socket(socket), value))
        } else {
            Some((
                EioHead::Engine(packet.packet_type),
                serde_json::from_str(data).ok(),
            ))
        }
    }

    fn join(head: &EioHead, value: Option<&serde_json::Value>) -> String {
        match head {
            EioHead::Socket(socket) => {
                let mut socket = socket.clone();
                socket.data = value.cloned();
                Packet::message(socket.encode()).encode_text(EioVersion::V4)
            }
            EioHead::Engine(t) => {
                let data = value.map(|v| v.to_string()).unwrap_or_default();
                Packet::text(*t, data).encode_text(EioVersion::V4)
            }
        }
    }

    fn change_head_id(head: &mut EioHead) -> bool {
        match head {
            EioHead::Socket(socket) => match socket.id {
                Some(id) => {
                    socket.id = Some(id.wrapping_add(1));
                    true
                }
                None => false,
            },
            EioHead::Engine(_) => false,
        }
    }
}

type WsStream = WebSocketStream<MaybeTlsStream<TcpStream>>;
type WsSink = SplitSink<WsStream, WsMessage>;

/// Where outgoing packets go.
enum Outbound {
    Polling { http: reqwest::Client, url: String },
    WebSocket { sink: WsSink },
}

/// One Engine.IO session.
pub struct EioClient {
    ctx: Ctx,
    /// The transcript's number for this session.
    pub conn: u32,
    /// The server.
    pub endpoint: Endpoint,
    /// The handshake the server sent.
    pub handshake: Handshake,
    /// What the client does on its own.
    pub options: Options,
    http: reqwest::Client,
    out: Arc<Mutex<Outbound>>,
    tx: mpsc::UnboundedSender<Event>,
    rx: mpsc::UnboundedReceiver<Event>,
    stash: std::collections::VecDeque<Event>,
    poller: Option<(Arc<AtomicBool>, JoinHandle<()>)>,
    tasks: Vec<JoinHandle<()>>,
}

impl Drop for EioClient {
    fn drop(&mut self) {
        if let Some((_, task)) = &self.poller {
            task.abort();
        }
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// Hands a received text or binary message through the mutator and decodes it.
async fn deliver(
    ctx: &Ctx,
    version: EioVersion,
    via: Via,
    message: Message,
    tx: &mpsc::UnboundedSender<Event>,
) {
    let items = match &ctx.mutator {
        Some(m) => m.apply::<EioText>(message),
        None => vec![(Duration::ZERO, message)],
    };
    for (delay, message) in items {
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        let decoded = match &message {
            Message::Text(t) => Packet::decode(version, t),
            Message::Binary(b) => Packet::decode_binary(version, b),
        };
        let event = match decoded {
            Ok(p) => Event::Packet(via, p),
            Err(e) => Event::Closed(via, format!("undecodable packet from the server: {e}")),
        };
        let _ = tx.send(event);
    }
}

/// Splits a polling payload into messages for [`deliver`].
fn payload_messages(version: EioVersion, body: &[u8]) -> Result<Vec<Message>, String> {
    let payload =
        Payload::decode(version, body).map_err(|e| format!("undecodable payload: {e}"))?;
    Ok(payload
        .packets
        .into_iter()
        .map(|p| match &p.data {
            PacketData::Binary(_) => Message::Binary(p.encode_binary(version)),
            PacketData::Text(_) => Message::Text(p.encode_text(version)),
        })
        .collect())
}

impl EioClient {
    /// Opens a session over HTTP long-polling.
    pub async fn polling(
        ctx: &Ctx,
        endpoint: Endpoint,
        options: Options,
    ) -> Result<EioClient, Failure> {
        let conn = ctx.transcript.open(format!(
            "Engine.IO v{} polling",
            endpoint.version.query_value()
        ));
        let http = http_client();
        let url = endpoint.url(&endpoint.query("polling", None));
        let reply = request(ctx, conn, &http, reqwest::Method::GET, &url, None).await?;
        if reply.status != 200 {
            return Err(Failure::Broken(format!(
                "the handshake GET answered HTTP {}",
                reply.status
            )));
        }
        let messages = payload_messages(endpoint.version, &reply.body)
            .map_err(|e| Failure::Broken(format!("handshake: {e}")))?;
        let (tx, rx) = mpsc::unbounded_channel();
        for m in messages {
            deliver(ctx, endpoint.version, Via::Polling, m, &tx).await;
        }
        let mut client = EioClient {
            ctx: ctx.clone(),
            conn,
            handshake: placeholder_handshake(),
            endpoint,
            options,
            out: Arc::new(Mutex::new(Outbound::Polling {
                http: http.clone(),
                url: String::new(),
            })),
            http,
            tx,
            rx,
            stash: Default::default(),
            poller: None,
            tasks: Vec::new(),
        };
        client.handshake = client.expect_open().await?;
        let post_url = client.endpoint.url(
            &client
                .endpoint
                .query("polling", Some(&client.handshake.sid)),
        );
        *client.out.lock().await = Outbound::Polling {
            http: client.http.clone(),
            url: post_url,
        };
        if options.auto_poll {
            client.start_poller();
        }
        client.start_heartbeat();
        Ok(client)
    }

    /// Opens a session directly over WebSocket (no polling first).
    pub async fn websocket(
        ctx: &Ctx,
        endpoint: Endpoint,
        options: Options,
    ) -> Result<EioClient, Failure> {
        let conn = ctx.transcript.open(format!(
            "Engine.IO v{} websocket",
            endpoint.version.query_value()
        ));
        let (sink, stream) = ws_connect(ctx, conn, &endpoint.ws_url(None)).await?;
        let (tx, rx) = mpsc::unbounded_channel();
        let mut client = EioClient {
            ctx: ctx.clone(),
            conn,
            handshake: placeholder_handshake(),
            endpoint,
            options,
            out: Arc::new(Mutex::new(Outbound::WebSocket { sink })),
            http: http_client(),
            tx,
            rx,
            stash: Default::default(),
            poller: None,
            tasks: Vec::new(),
        };
        client.start_reader(stream);
        client.handshake = client.expect_open().await?;
        client.start_heartbeat();
        Ok(client)
    }

    /// The session id.
    pub fn sid(&self) -> &str {
        &self.handshake.sid
    }

    /// The context the client records into.
    pub fn ctx(&self) -> &Ctx {
        &self.ctx
    }

    /// The shared HTTP client, for raw requests on this session.
    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    async fn expect_open(&mut self) -> Result<Handshake, Failure> {
        match self.next_event(self.ctx.wait).await? {
            Some(Event::Packet(_, p)) if p.packet_type == PacketType::Open => {
                let text = p.as_text().unwrap_or_default();
                Handshake::decode(self.endpoint.version, text).map_err(|e| {
                    Failure::Broken(format!("the open packet's handshake is invalid: {e}"))
                })
            }
            Some(other) => Err(Failure::Broken(format!(
                "expected the open packet first, got {other:?}"
            ))),
            None => Err(Failure::Broken("no open packet".into())),
        }
    }

    fn start_poller(&mut self) {
        let stop = Arc::new(AtomicBool::new(false));
        let ctx = self.ctx.clone();
        let http = self.http.clone();
        let url = self
            .endpoint
            .url(&self.endpoint.query("polling", Some(&self.handshake.sid)));
        let version = self.endpoint.version;
        let tx = self.tx.clone();
        let conn = self.conn;
        let flag = stop.clone();
        let task = tokio::spawn(async move {
            while !flag.load(Ordering::SeqCst) {
                let reply = match request(&ctx, conn, &http, reqwest::Method::GET, &url, None).await
                {
                    Ok(r) => r,
                    Err(e) => {
                        let _ = tx.send(Event::Closed(Via::Polling, e.reason().to_owned()));
                        return;
                    }
                };
                if reply.status != 200 {
                    let _ = tx.send(Event::Closed(
                        Via::Polling,
                        format!("poll answered HTTP {}", reply.status),
                    ));
                    return;
                }
                match payload_messages(version, &reply.body) {
                    Ok(messages) => {
                        let mut closed = false;
                        for m in messages {
                            closed |= matches!(&m, Message::Text(t) if t == "1");
                            deliver(&ctx, version, Via::Polling, m, &tx).await;
                        }
                        if closed {
                            return;
                        }
                    }
                    Err(e) => {
                        let _ = tx.send(Event::Closed(Via::Polling, e));
                        return;
                    }
                }
            }
        });
        self.poller = Some((stop, task));
    }

    fn start_reader(&mut self, mut stream: SplitStream<WsStream>) {
        let ctx = self.ctx.clone();
        let tx = self.tx.clone();
        let conn = self.conn;
        let version = self.endpoint.version;
        self.tasks.push(tokio::spawn(async move {
            loop {
                let reason = match stream.next().await {
                    Some(Ok(WsMessage::Text(t))) => {
                        ctx.transcript.text(conn, Direction::In, &t);
                        deliver(
                            &ctx,
                            version,
                            Via::WebSocket,
                            Message::Text(t.to_string()),
                            &tx,
                        )
                        .await;
                        continue;
                    }
                    Some(Ok(WsMessage::Binary(b))) => {
                        ctx.transcript.binary(conn, Direction::In, &b);
                        deliver(
                            &ctx,
                            version,
                            Via::WebSocket,
                            Message::Binary(b.to_vec()),
                            &tx,
                        )
                        .await;
                        continue;
                    }
                    Some(Ok(WsMessage::Close(frame))) => format!("WebSocket close frame {frame:?}"),
                    Some(Ok(_)) => continue,
                    Some(Err(e)) => format!("WebSocket error: {e}"),
                    None => "the WebSocket connection ended".to_owned(),
                };
                ctx.transcript.note(conn, &reason);
                let _ = tx.send(Event::Closed(Via::WebSocket, reason));
                return;
            }
        }));
    }

    fn start_heartbeat(&mut self) {
        if self.endpoint.version != EioVersion::V3 || !self.options.auto_ping {
            return;
        }
        let interval = Duration::from_millis(self.handshake.ping_interval.max(10));
        let out = self.out.clone();
        let ctx = self.ctx.clone();
        let conn = self.conn;
        self.tasks.push(tokio::spawn(async move {
            loop {
                tokio::time::sleep(interval).await;
                if send_on(
                    &ctx,
                    conn,
                    EioVersion::V3,
                    &out,
                    &[Packet::empty(PacketType::Ping)],
                )
                .await
                .is_err()
                {
                    return;
                }
            }
        }));
    }

    /// The next event within `wait`, or `None` when nothing came. Pings the
    /// client answers on its own (and v3 pongs of its own pings) are skipped.
    pub async fn next_event(&mut self, wait: Duration) -> Result<Option<Event>, Failure> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let event = match self.stash.pop_front() {
                Some(e) => e,
                None => match tokio::time::timeout_at(deadline, self.rx.recv()).await {
                    Ok(Some(e)) => e,
                    Ok(None) | Err(_) => return Ok(None),
                },
            };
            if let Event::Packet(_, p) = &event {
                let v4 = self.endpoint.version == EioVersion::V4;
                let server_ping = p.packet_type == PacketType::Ping && !p.is_probe();
                let own_pong = p.packet_type == PacketType::Pong && !v4 && !p.is_probe();
                if self.options.auto_pong && server_ping && v4 {
                    // A failed pong means the session is ending: the close event follows.
                    let _ = self.send(Packet::empty(PacketType::Pong)).await;
                    continue;
                }
                if self.options.auto_ping && own_pong {
                    continue;
                }
            }
            return Ok(Some(event));
        }
    }

    /// The next packet within the context's wait; a close or silence fails the case.
    pub async fn recv(&mut self) -> Result<Packet, Failure> {
        match self.next_event(self.ctx.wait).await? {
            Some(Event::Packet(_, p)) => Ok(p),
            Some(Event::Closed(_, why)) => Err(Failure::Broken(format!(
                "the session ended while a packet was expected: {why}"
            ))),
            None => Err(Failure::Broken(format!(
                "no packet from the server within {} ms",
                self.ctx.wait.as_millis()
            ))),
        }
    }

    /// Waits up to `within` for the session to end; fails if it does not.
    /// Packets that arrive before the end are returned.
    pub async fn expect_closed(&mut self, within: Duration) -> Result<Vec<Packet>, Failure> {
        let deadline = tokio::time::Instant::now() + within;
        let mut seen = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match self.next_event(left).await? {
                Some(Event::Closed(_, _)) => return Ok(seen),
                Some(Event::Packet(_, p)) if p.packet_type == PacketType::Close => return Ok(seen),
                Some(Event::Packet(_, p)) => seen.push(p),
                None => {
                    if self.poller.is_none() && self.is_polling().await {
                        // Without a poller, ask the server once whether the session still exists.
                        let url = self
                            .endpoint
                            .url(&self.endpoint.query("polling", Some(&self.handshake.sid)));
                        let reply = request(
                            &self.ctx,
                            self.conn,
                            &self.http,
                            reqwest::Method::GET,
                            &url,
                            None,
                        )
                        .await?;
                        if reply.status != 200
                            || reply.body == b"1"
                            || reply.body.ends_with(b"\x1e1")
                        {
                            return Ok(seen);
                        }
                    }
                    return Err(Failure::Broken(format!(
                        "the session was still open {} ms later",
                        within.as_millis()
                    )));
                }
            }
        }
    }

    async fn is_polling(&self) -> bool {
        matches!(*self.out.lock().await, Outbound::Polling { .. })
    }

    /// Sends one packet over the current transport.
    pub async fn send(&mut self, packet: Packet) -> Result<(), Failure> {
        self.send_all(&[packet]).await
    }

    /// Sends packets over the current transport (one POST, or one frame each).
    pub async fn send_all(&mut self, packets: &[Packet]) -> Result<(), Failure> {
        send_on(
            &self.ctx,
            self.conn,
            self.endpoint.version,
            &self.out,
            packets,
        )
        .await
    }

    /// Sends a raw text frame over the WebSocket, or a raw POST body over polling.
    pub async fn send_raw(&mut self, raw: &str) -> Result<Option<HttpReply>, Failure> {
        let mut out = self.out.lock().await;
        match &mut *out {
            Outbound::Polling { http, url } => {
                let reply = request(
                    &self.ctx,
                    self.conn,
                    http,
                    reqwest::Method::POST,
                    url,
                    Some(("text/plain;charset=UTF-8", raw.as_bytes().to_vec())),
                )
                .await?;
                Ok(Some(reply))
            }
            Outbound::WebSocket { sink } => {
                self.ctx.transcript.text(self.conn, Direction::Out, raw);
                sink.send(WsMessage::text(raw)).await.map_err(|e| {
                    Failure::Broken(format!("sending over the WebSocket failed: {e}"))
                })?;
                Ok(None)
            }
        }
    }

    /// Upgrades a polling session to WebSocket: `2probe` over a new
    /// WebSocket, `3probe` back, the pending poll let to finish (the server
    /// ends it, with a noop when it has nothing else), then `5`. Returns the
    /// packets that came over polling from the probe on, noop included;
    /// the others are also kept for [`EioClient::next_event`].
    pub async fn upgrade(&mut self) -> Result<Vec<Packet>, Failure> {
        let url = self.endpoint.ws_url(Some(&self.handshake.sid));
        let (mut sink, stream) = ws_connect(&self.ctx, self.conn, &url).await?;
        let probe = Packet::ping_probe().encode_text(self.endpoint.version);
        self.ctx.transcript.text(self.conn, Direction::Out, &probe);
        sink.send(WsMessage::text(probe))
            .await
            .map_err(|e| Failure::Broken(format!("sending 2probe failed: {e}")))?;
        self.start_reader(stream);
        let mut polled = Vec::new();
        let mut stashed = Vec::new();
        let deadline = tokio::time::Instant::now() + self.ctx.wait;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match self.next_event(left).await? {
                Some(Event::Packet(Via::WebSocket, p))
                    if p.packet_type == PacketType::Pong && p.is_probe() =>
                {
                    break
                }
                Some(Event::Packet(Via::Polling, p)) => {
                    if p.packet_type != PacketType::Noop {
                        stashed.push(Event::Packet(Via::Polling, p.clone()));
                    }
                    polled.push(p);
                }
                Some(Event::Packet(Via::WebSocket, p)) => {
                    return Err(Failure::Broken(format!(
                        "expected 3probe over the WebSocket, got {p:?}"
                    )))
                }
                Some(Event::Closed(via, why)) => {
                    return Err(Failure::Broken(format!(
                        "the {via:?} transport ended during the upgrade: {why}"
                    )))
                }
                None => return Err(Failure::Broken("no 3probe answered the 2probe".into())),
            }
        }
        // Pause polling: the poll in flight must end before the upgrade completes.
        if let Some((stop, task)) = self.poller.take() {
            stop.store(true, Ordering::SeqCst);
            if tokio::time::timeout(self.ctx.wait, task).await.is_err() {
                return Err(Failure::Broken(format!(
                    "the pending poll was not ended within {} ms of the probe",
                    self.ctx.wait.as_millis()
                )));
            }
            while let Ok(event) = self.rx.try_recv() {
                match event {
                    Event::Packet(Via::Polling, p) => {
                        if p.packet_type != PacketType::Noop {
                            stashed.push(Event::Packet(Via::Polling, p.clone()));
                        }
                        polled.push(p);
                    }
                    other => stashed.push(other),
                }
            }
        }
        let upgrade = Packet::empty(PacketType::Upgrade).encode_text(self.endpoint.version);
        self.ctx
            .transcript
            .text(self.conn, Direction::Out, &upgrade);
        sink.send(WsMessage::text(upgrade))
            .await
            .map_err(|e| Failure::Broken(format!("sending 5 failed: {e}")))?;
        *self.out.lock().await = Outbound::WebSocket { sink };
        self.stash.extend(stashed);
        Ok(polled)
    }

    /// Sends the close packet.
    pub async fn close(&mut self) -> Result<(), Failure> {
        self.send(Packet::empty(PacketType::Close)).await
    }
}

fn placeholder_handshake() -> Handshake {
    Handshake {
        sid: String::new(),
        upgrades: None,
        ping_interval: 0,
        ping_timeout: 0,
        max_payload: None,
        extra: serde_json::Map::new(),
    }
}

async fn ws_connect(
    ctx: &Ctx,
    conn: u32,
    url: &str,
) -> Result<(WsSink, SplitStream<WsStream>), Failure> {
    ctx.transcript.note(conn, format!("WebSocket {url}"));
    match tokio_tungstenite::connect_async(url).await {
        Ok((ws, _)) => Ok(ws.split()),
        Err(tokio_tungstenite::tungstenite::Error::Io(e)) => {
            Err(Failure::Harness(format!("cannot reach {url}: {e}")))
        }
        Err(e) => {
            ctx.transcript
                .note(conn, format!("WebSocket handshake failed: {e}"));
            Err(Failure::Broken(format!(
                "the WebSocket handshake with {url} failed: {e}"
            )))
        }
    }
}

async fn send_on(
    ctx: &Ctx,
    conn: u32,
    version: EioVersion,
    out: &Mutex<Outbound>,
    packets: &[Packet],
) -> Result<(), Failure> {
    let mut out = out.lock().await;
    match &mut *out {
        Outbound::Polling { http, url } => {
            let payload = Payload::new(packets.to_vec());
            let binary = packets
                .iter()
                .any(|p| matches!(p.data, PacketData::Binary(_)));
            let (content_type, body) = if binary && version == EioVersion::V3 {
                ("application/octet-stream", payload.encode_binary())
            } else {
                (
                    "text/plain;charset=UTF-8",
                    payload.encode(version).into_bytes(),
                )
            };
            let reply = request(
                ctx,
                conn,
                http,
                reqwest::Method::POST,
                url,
                Some((content_type, body)),
            )
            .await?;
            if reply.status != 200 {
                return Err(Failure::Broken(format!(
                    "a POST answered HTTP {}: {}",
                    reply.status,
                    reply.text()
                )));
            }
            Ok(())
        }
        Outbound::WebSocket { sink } => {
            for p in packets {
                let msg = match &p.data {
                    PacketData::Binary(_) => {
                        let bytes = p.encode_binary(version);
                        ctx.transcript.binary(conn, Direction::Out, &bytes);
                        WsMessage::binary(bytes)
                    }
                    PacketData::Text(_) => {
                        let text = p.encode_text(version);
                        ctx.transcript.text(conn, Direction::Out, &text);
                        WsMessage::text(text)
                    }
                };
                sink.send(msg).await.map_err(|e| {
                    Failure::Broken(format!("sending over the WebSocket failed: {e}"))
                })?;
            }
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::EioText;
    use crate::mutate::{Message, MutationKind, Mutator};

    fn mutate(kind: MutationKind, text: &str) -> Vec<String> {
        Mutator::new(kind, 0, Duration::ZERO)
            .apply::<EioText>(Message::Text(text.into()))
            .into_iter()
            .map(|(_, m)| match m {
                Message::Text(t) => t,
                Message::Binary(b) => format!("{b:?}"),
            })
            .collect()
    }

    #[test]
    fn socketio_packets_are_edited_through_the_codec() {
        assert_eq!(
            mutate(MutationKind::ChangeId, r#"43/custom,12["a"]"#),
            [r#"43/custom,13["a"]"#]
        );
        assert_eq!(
            mutate(MutationKind::ChangeId, r#"40{"sid":"x"}"#),
            [r#"40{"sid":"x-mutated"}"#]
        );
        assert_eq!(
            mutate(MutationKind::RenameEvent, r#"42["message-back",1]"#),
            [r#"42["message-back-mutated",1]"#]
        );
        assert_eq!(
            mutate(MutationKind::ChangeType, r#"42["message-back",1]"#),
            [r#"42["message-back","1"]"#]
        );
        assert_eq!(
            mutate(
                MutationKind::RemoveField,
                r#"451-["m",{"_placeholder":true,"num":0}]"#
            ),
            [r#"451-["m",{"num":0}]"#]
        );
    }

    #[test]
    fn engineio_packets_without_json_are_left_to_drop_and_delay() {
        // A ping has no JSON: the edits do not apply, so the message passes unchanged.
        assert_eq!(mutate(MutationKind::RemoveField, "2"), ["2"]);
        assert_eq!(mutate(MutationKind::ChangeId, "3probe"), ["3probe"]);
        assert!(mutate(MutationKind::Drop, "2").is_empty());
        // The handshake's JSON is editable.
        assert_eq!(
            mutate(
                MutationKind::RemoveField,
                r#"0{"pingInterval":300,"sid":"a"}"#
            ),
            [r#"0{"sid":"a"}"#]
        );
    }
}
