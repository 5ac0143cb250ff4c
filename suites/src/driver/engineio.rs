//! A raw Engine.IO client, v3 and v4, over HTTP long-polling and WebSocket,
//! with the upgrade between them. Raw means the case controls every byte: it
//! can send a malformed packet, skip a pong or poll twice. Every request
//! and frame goes through the [`Wire`], which records it and hands what the
//! server sent through the mutation layer first.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use protocols::engineio::{EioVersion, Handshake, Packet, PacketData, PacketType, Payload};
use tokio::sync::{mpsc, Mutex};
use tokio::task::JoinHandle;

use super::DriverError;
use crate::mutate::{Editable, Message};
pub use crate::wire::{http_client, HttpReply};
use crate::wire::{Link, Wire, WsEvent, WsReceiver, WsSender};

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

/// Sends one raw HTTP request on the transcript's connection `conn`, through the wire.
pub async fn request(
    link: impl Into<Link>,
    conn: u32,
    client: &reqwest::Client,
    method: reqwest::Method,
    url: &str,
    body: Option<(&str, Vec<u8>)>,
) -> Result<HttpReply, DriverError> {
    link.into()
        .on(conn)
        .request(client, method, url, body)
        .await
}

/// A raw request whose whole response is one server message for the
/// mutation layer (the driver's own polls mutate packet by packet instead).
pub async fn raw_request(
    link: impl Into<Link>,
    conn: u32,
    client: &reqwest::Client,
    method: reqwest::Method,
    url: &str,
    body: Option<(&str, Vec<u8>)>,
) -> Result<HttpReply, DriverError> {
    link.into()
        .on(conn)
        .request_whole::<EioText>(client, method, url, body)
        .await
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
    const ID_FIELDS: &'static [&'static str] =
        <protocols::socketio::Transport as protocols::Dialect>::ID_FIELDS;

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

/// Where outgoing packets go.
enum Outbound {
    Polling { http: reqwest::Client, url: String },
    WebSocket { sink: WsSender },
}

/// One Engine.IO session.
pub struct EioClient {
    wire: Wire,
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

/// Decodes a server message (after the mutation layer) into an event.
fn decode(version: EioVersion, via: Via, message: &Message) -> Event {
    let decoded = match message {
        Message::Text(t) => Packet::decode(version, t),
        Message::Binary(b) => Packet::decode_binary(version, b),
    };
    match decoded {
        Ok(p) => Event::Packet(via, p),
        Err(e) => Event::Closed(via, format!("undecodable packet from the server: {e}")),
    }
}

/// Hands one packet of a polling response through the mutation layer and decodes it.
async fn deliver(
    wire: &Wire,
    version: EioVersion,
    message: Message,
    tx: &mpsc::UnboundedSender<Event>,
) {
    let mut delivery = wire.receive::<EioText>(message);
    while let Some(message) = delivery.next().await {
        let _ = tx.send(decode(version, Via::Polling, &message));
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
    fn new(
        wire: Wire,
        endpoint: Endpoint,
        options: Options,
        http: reqwest::Client,
        out: Outbound,
    ) -> EioClient {
        let (tx, rx) = mpsc::unbounded_channel();
        EioClient {
            conn: wire.conn(),
            wire,
            handshake: placeholder_handshake(),
            endpoint,
            options,
            out: Arc::new(Mutex::new(out)),
            http,
            tx,
            rx,
            stash: Default::default(),
            poller: None,
            tasks: Vec::new(),
        }
    }

    /// Opens a session over HTTP long-polling.
    pub async fn polling(
        link: impl Into<Link>,
        endpoint: Endpoint,
        options: Options,
    ) -> Result<EioClient, DriverError> {
        let wire = link.into().open(format_args!(
            "Engine.IO v{} polling",
            endpoint.version.query_value()
        ));
        let http = http_client();
        let url = endpoint.url(&endpoint.query("polling", None));
        let reply = wire
            .request(&http, reqwest::Method::GET, &url, None)
            .await?;
        if reply.status != 200 {
            return Err(DriverError::Protocol(format!(
                "the handshake GET answered HTTP {}",
                reply.status
            )));
        }
        let messages = payload_messages(endpoint.version, &reply.body)
            .map_err(|e| DriverError::Protocol(format!("handshake: {e}")))?;
        let out = Outbound::Polling {
            http: http.clone(),
            url: String::new(),
        };
        let mut client = EioClient::new(wire, endpoint, options, http, out);
        for m in messages {
            deliver(&client.wire, client.endpoint.version, m, &client.tx).await;
        }
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
        link: impl Into<Link>,
        endpoint: Endpoint,
        options: Options,
    ) -> Result<EioClient, DriverError> {
        let wire = link.into().open(format_args!(
            "Engine.IO v{} websocket",
            endpoint.version.query_value()
        ));
        let (sink, stream) = wire.websocket::<EioText>(&endpoint.ws_url(None)).await?;
        let out = Outbound::WebSocket { sink };
        let mut client = EioClient::new(wire, endpoint, options, http_client(), out);
        client.start_reader(stream);
        client.handshake = client.expect_open().await?;
        client.start_heartbeat();
        Ok(client)
    }

    /// The session id.
    pub fn sid(&self) -> &str {
        &self.handshake.sid
    }

    /// The link the session runs on (its wait, transcript and mutation).
    pub fn link(&self) -> &Link {
        self.wire.link()
    }

    /// The shared HTTP client, for raw requests on this session.
    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    async fn expect_open(&mut self) -> Result<Handshake, DriverError> {
        match self.next_event(self.wire.wait()).await? {
            Some(Event::Packet(_, p)) if p.packet_type == PacketType::Open => {
                let text = p.as_text().unwrap_or_default();
                Handshake::decode(self.endpoint.version, text).map_err(|e| {
                    DriverError::Protocol(format!("the open packet's handshake is invalid: {e}"))
                })
            }
            Some(other) => Err(DriverError::Protocol(format!(
                "expected the open packet first, got {other:?}"
            ))),
            None => Err(DriverError::Timeout("no open packet".into())),
        }
    }

    fn start_poller(&mut self) {
        let stop = Arc::new(AtomicBool::new(false));
        let wire = self.wire.clone();
        let http = self.http.clone();
        let url = self
            .endpoint
            .url(&self.endpoint.query("polling", Some(&self.handshake.sid)));
        let version = self.endpoint.version;
        let tx = self.tx.clone();
        let flag = stop.clone();
        let task = tokio::spawn(async move {
            while !flag.load(Ordering::SeqCst) {
                let reply = match wire.request(&http, reqwest::Method::GET, &url, None).await {
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
                            deliver(&wire, version, m, &tx).await;
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

    fn start_reader(&mut self, mut stream: WsReceiver<EioText>) {
        let tx = self.tx.clone();
        let version = self.endpoint.version;
        self.tasks.push(tokio::spawn(async move {
            loop {
                match stream.recv().await {
                    WsEvent::Message(message) => {
                        let _ = tx.send(decode(version, Via::WebSocket, &message));
                    }
                    WsEvent::Closed(reason) => {
                        let _ = tx.send(Event::Closed(Via::WebSocket, reason));
                        return;
                    }
                }
            }
        }));
    }

    fn start_heartbeat(&mut self) {
        if self.endpoint.version != EioVersion::V3 || !self.options.auto_ping {
            return;
        }
        let interval = Duration::from_millis(self.handshake.ping_interval.max(10));
        let out = self.out.clone();
        let wire = self.wire.clone();
        self.tasks.push(tokio::spawn(async move {
            loop {
                tokio::time::sleep(interval).await;
                if send_on(
                    &wire,
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
    pub async fn next_event(&mut self, wait: Duration) -> Result<Option<Event>, DriverError> {
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
    pub async fn recv(&mut self) -> Result<Packet, DriverError> {
        match self.next_event(self.wire.wait()).await? {
            Some(Event::Packet(_, p)) => Ok(p),
            Some(Event::Closed(_, why)) => Err(DriverError::Closed(format!(
                "the session ended while a packet was expected: {why}"
            ))),
            None => Err(DriverError::Timeout(format!(
                "no packet from the server within {} ms",
                self.wire.wait().as_millis()
            ))),
        }
    }

    /// Waits up to `within` for the session to end; fails if it does not.
    /// Packets that arrive before the end are returned.
    pub async fn expect_closed(&mut self, within: Duration) -> Result<Vec<Packet>, DriverError> {
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
                        let reply = self
                            .wire
                            .request(&self.http, reqwest::Method::GET, &url, None)
                            .await?;
                        if reply.status != 200
                            || reply.body == b"1"
                            || reply.body.ends_with(b"\x1e1")
                        {
                            return Ok(seen);
                        }
                    }
                    return Err(DriverError::Protocol(format!(
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
    pub async fn send(&mut self, packet: Packet) -> Result<(), DriverError> {
        self.send_all(&[packet]).await
    }

    /// Sends packets over the current transport (one POST, or one frame each).
    pub async fn send_all(&mut self, packets: &[Packet]) -> Result<(), DriverError> {
        send_on(&self.wire, self.endpoint.version, &self.out, packets).await
    }

    /// Sends a raw text frame over the WebSocket, or a raw POST body over polling.
    pub async fn send_raw(&mut self, raw: &str) -> Result<Option<HttpReply>, DriverError> {
        let mut out = self.out.lock().await;
        match &mut *out {
            Outbound::Polling { http, url } => {
                let body = ("text/plain;charset=UTF-8", raw.as_bytes().to_vec());
                let reply = self
                    .wire
                    .request(http, reqwest::Method::POST, url, Some(body))
                    .await?;
                Ok(Some(reply))
            }
            Outbound::WebSocket { sink } => {
                sink.send(Message::Text(raw.to_owned())).await?;
                Ok(None)
            }
        }
    }

    /// Upgrades a polling session to WebSocket: `2probe` over a new
    /// WebSocket, `3probe` back, the pending poll let to finish (the server
    /// ends it, with a noop when it has nothing else), then `5`. Returns the
    /// packets that came over polling from the probe on, noop included;
    /// the others are also kept for [`EioClient::next_event`].
    pub async fn upgrade(&mut self) -> Result<Vec<Packet>, DriverError> {
        let url = self.endpoint.ws_url(Some(&self.handshake.sid));
        let (mut sink, stream) = self.wire.websocket::<EioText>(&url).await?;
        let probe = Packet::ping_probe().encode_text(self.endpoint.version);
        sink.send(Message::Text(probe)).await?;
        self.start_reader(stream);
        let mut polled = Vec::new();
        let mut stashed = Vec::new();
        let deadline = tokio::time::Instant::now() + self.wire.wait();
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
                    return Err(DriverError::Protocol(format!(
                        "expected 3probe over the WebSocket, got {p:?}"
                    )))
                }
                Some(Event::Closed(via, why)) => {
                    return Err(DriverError::Closed(format!(
                        "the {via:?} transport ended during the upgrade: {why}"
                    )))
                }
                None => return Err(DriverError::Timeout("no 3probe answered the 2probe".into())),
            }
        }
        // Pause polling: the poll in flight must end before the upgrade completes.
        if let Some((stop, task)) = self.poller.take() {
            stop.store(true, Ordering::SeqCst);
            if tokio::time::timeout(self.wire.wait(), task).await.is_err() {
                return Err(DriverError::Timeout(format!(
                    "the pending poll was not ended within {} ms of the probe",
                    self.wire.wait().as_millis()
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
        sink.send(Message::Text(upgrade)).await?;
        *self.out.lock().await = Outbound::WebSocket { sink };
        self.stash.extend(stashed);
        Ok(polled)
    }

    /// Sends the close packet.
    pub async fn close(&mut self) -> Result<(), DriverError> {
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

async fn send_on(
    wire: &Wire,
    version: EioVersion,
    out: &Mutex<Outbound>,
    packets: &[Packet],
) -> Result<(), DriverError> {
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
            let reply = wire
                .request(http, reqwest::Method::POST, url, Some((content_type, body)))
                .await?;
            if reply.status != 200 {
                return Err(DriverError::Protocol(format!(
                    "a POST answered HTTP {}: {}",
                    reply.status,
                    reply.text()
                )));
            }
            Ok(())
        }
        Outbound::WebSocket { sink } => {
            for p in packets {
                let message = match &p.data {
                    PacketData::Binary(_) => Message::Binary(p.encode_binary(version)),
                    PacketData::Text(_) => Message::Text(p.encode_text(version)),
                };
                sink.send(message).await?;
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
