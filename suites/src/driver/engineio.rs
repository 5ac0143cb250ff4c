//! A raw Engine.IO client, v3 and v4, over HTTP long-polling and WebSocket,
//! with the upgrade between them: a tokio wrapper of `protocols::session`'s
//! [`ClientSession`]. Raw means the case controls every byte: it can send a
//! malformed packet, skip a pong, poll by hand or twice, and run the upgrade
//! step by step. Every request and frame goes through the [`Wire`], which
//! records it and hands what the server sent through the mutation layer
//! first (a poll's answer packet by packet, before the session reads it).

use std::collections::{HashMap, VecDeque};
use std::time::Duration;

use protocols::engineio::{EioVersion, Handshake, Packet, PacketData, PacketType, Payload};
use protocols::session::engineio::{
    ClientConfig, ClientEvent, ClientSession, ClientTransmit, Request,
};
use protocols::session::{CloseReason, Transport, WsFrame};
use tokio::sync::{mpsc, oneshot};
use tokio::task::{JoinHandle, JoinSet};
use tokio::time::Instant;

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
        self.ws_url_with(&self.query("websocket", sid))
    }

    /// The WebSocket URL with this query.
    pub fn ws_url_with(&self, query: &str) -> String {
        let base = self.base.replacen("http", "ws", 1);
        format!("{base}{}?{query}", self.path)
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

/// How a client behaves on its own (the session's switches of the same
/// names). What it does itself the case does not see: with `auto_pong` no
/// v4 ping reaches [`EioClient::next_event`], with `auto_ping` no pong of
/// its own v3 pings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Options {
    /// Keep one long-poll in flight while on polling, as stock clients do.
    pub auto_poll: bool,
    /// Answer each v4 server ping with a pong as it arrives.
    pub auto_pong: bool,
    /// In v3, ping the server pingInterval after the pong of the last ping.
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

/// How the driver task answers a send: the HTTP answer of the POST that
/// carried it (over polling), nothing once its frames are written.
type Reply = oneshot::Sender<Result<Option<HttpReply>, DriverError>>;

/// What the handle asks of the driver task.
enum Command {
    /// Queue packets for the session to send.
    Send(Vec<Packet>, Reply),
    /// A raw POST body (polling) or text frame (WebSocket), as it is.
    Raw(String, Reply),
    /// A GET by hand, whatever is pending.
    Poll,
    /// Start the upgrade to WebSocket.
    Upgrade,
    /// Start an upgrade run step by step.
    BeginUpgrade,
    /// Step by step: send `2probe`.
    Probe,
    /// Step by step: send `5`.
    FinishUpgrade,
    /// Answer once no GET is in flight.
    AwaitPolls(oneshot::Sender<()>),
}

/// What the driver task tells the handle.
enum Note {
    Event(Event),
    /// The upgrade's WebSocket is open.
    WsOpened,
    Probed,
    Upgraded,
    UpgradeFailed(DriverError),
}

/// What the driver task's own tasks (requests, the WebSocket reader) report.
enum Input {
    Polled(Result<Polled, DriverError>),
    Posted(u64, Result<HttpReply, DriverError>),
    WsOpened(Result<(WsSender, WsReceiver<EioText>), DriverError>),
    Frame(Message),
    WsClosed(String),
}

/// A poll's answer as the session gets it: its packets after the mutation layer.
enum Polled {
    Refused(HttpReply),
    Packets(Vec<Packet>),
    Undecodable(String),
}

/// One Engine.IO session: a handle on a task that drives a
/// [`ClientSession`] over the wire. The session keeps the protocol (the
/// handshake, polls, pongs, v3 pings, the upgrade, payload encoding); the
/// task moves its bytes and keeps its time; [`Options`] switch its
/// automatic parts off, so a case can leave a ping unanswered or poll by
/// hand, and raw sends go out as they are.
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
    via: Via,
    commands: mpsc::UnboundedSender<Command>,
    notes: mpsc::UnboundedReceiver<Note>,
    stash: VecDeque<Event>,
    task: JoinHandle<()>,
}

impl Drop for EioClient {
    fn drop(&mut self) {
        // The task's requests and reader end with it.
        self.task.abort();
    }
}

/// Decodes a server message (after the mutation layer) into a packet.
fn decode(version: EioVersion, message: &Message) -> Result<Packet, String> {
    match message {
        Message::Text(t) => Packet::decode(version, t),
        Message::Binary(b) => Packet::decode_binary(version, b),
    }
    .map_err(|e| format!("undecodable packet from the server: {e}"))
}

/// Splits a polling payload into messages for the mutation layer.
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

/// Reads a poll's answer: each packet of a 200 through the mutation layer
/// (waiting out what it delays), then decoded for the session.
async fn read_poll(wire: &Wire, version: EioVersion, reply: HttpReply) -> Polled {
    if reply.status != 200 {
        return Polled::Refused(reply);
    }
    let messages = match payload_messages(version, &reply.body) {
        Ok(m) => m,
        Err(e) => return Polled::Undecodable(e),
    };
    let mut packets = Vec::new();
    for message in messages {
        let mut delivery = wire.receive::<EioText>(message);
        while let Some(message) = delivery.next().await {
            match decode(version, &message) {
                Ok(p) => packets.push(p),
                Err(e) => return Polled::Undecodable(e),
            }
        }
    }
    Polled::Packets(packets)
}

fn via(transport: Transport) -> Via {
    match transport {
        Transport::Polling => Via::Polling,
        Transport::WebSocket => Via::WebSocket,
    }
}

fn ws_frame(message: Message) -> WsFrame {
    match message {
        Message::Text(t) => WsFrame::Text(t.into()),
        Message::Binary(b) => WsFrame::Binary(b.into()),
    }
}

fn task_ended() -> DriverError {
    DriverError::Internal("the Engine.IO driver task ended".into())
}

impl EioClient {
    /// Opens a session over HTTP long-polling.
    pub async fn polling(
        link: impl Into<Link>,
        endpoint: Endpoint,
        options: Options,
    ) -> Result<EioClient, DriverError> {
        EioClient::open(link.into(), endpoint, options, Transport::Polling).await
    }

    /// Opens a session directly over WebSocket (no polling first).
    pub async fn websocket(
        link: impl Into<Link>,
        endpoint: Endpoint,
        options: Options,
    ) -> Result<EioClient, DriverError> {
        EioClient::open(link.into(), endpoint, options, Transport::WebSocket).await
    }

    async fn open(
        link: Link,
        endpoint: Endpoint,
        options: Options,
        transport: Transport,
    ) -> Result<EioClient, DriverError> {
        let version = endpoint.version;
        let wire = link.open(format_args!(
            "Engine.IO v{} {}",
            version.query_value(),
            transport.query_value()
        ));
        let mut config = ClientConfig::new(version, transport);
        config.upgrade = false;
        config.auto_poll = options.auto_poll;
        config.auto_pong = options.auto_pong;
        config.auto_ping = options.auto_ping;
        // The cases judge the server's heartbeat; the client never gives up on its own.
        config.watch_heartbeat = false;
        config.packet_events = true;
        config.connect_timeout = wire.wait();
        let start = Instant::now();
        let mut session = ClientSession::new(Duration::ZERO, config);
        let http = http_client();
        let mut reader = None;
        let mut ws = None;
        // The handshake, here, so that its errors are the constructor's.
        match session.poll_transmit(Duration::ZERO) {
            Some(ClientTransmit::Http(request)) => {
                let url = endpoint.url(&request.query);
                let reply = wire
                    .request(&http, reqwest::Method::GET, &url, None)
                    .await?;
                match read_poll(&wire, version, reply).await {
                    Polled::Packets(packets) => {
                        session.handle_poll_packets(start.elapsed(), packets)
                    }
                    Polled::Refused(reply) => {
                        return Err(DriverError::Protocol(format!(
                            "the handshake GET answered HTTP {}",
                            reply.status
                        )))
                    }
                    Polled::Undecodable(e) => {
                        return Err(DriverError::Protocol(format!("handshake: {e}")))
                    }
                }
            }
            Some(ClientTransmit::OpenWebSocket(query)) => {
                let url = endpoint.ws_url_with(&query);
                let (sender, mut receiver) = wire.websocket::<EioText>(&url).await?;
                session.handle_ws_open(start.elapsed());
                let deadline = Instant::now() + wire.wait();
                while session.handshake().is_none() && !session.is_closed() {
                    match tokio::time::timeout_at(deadline, receiver.recv()).await {
                        Ok(WsEvent::Message(m)) => {
                            session.handle_frame(start.elapsed(), ws_frame(m))
                        }
                        Ok(WsEvent::Closed(why)) => {
                            return Err(DriverError::Closed(format!(
                                "the WebSocket closed before the open packet: {why}"
                            )))
                        }
                        Err(_) => break,
                    }
                }
                ws = Some(sender);
                reader = Some(receiver);
            }
            other => {
                return Err(DriverError::Internal(format!(
                    "the session began with {other:?} instead of its handshake"
                )))
            }
        }
        let Some(handshake) = session.handshake().cloned() else {
            let closed = std::iter::from_fn(|| session.poll_event()).find_map(|e| match e {
                ClientEvent::Closed(reason) => Some(reason),
                _ => None,
            });
            return Err(match closed {
                Some(reason) => {
                    DriverError::Protocol(format!("expected the open packet first: {reason}"))
                }
                None => DriverError::Timeout("no open packet".into()),
            });
        };
        let (commands_tx, commands) = mpsc::unbounded_channel();
        let (notes_tx, notes) = mpsc::unbounded_channel();
        let (inputs_tx, inputs) = mpsc::unbounded_channel();
        let mut driver = Driver {
            session,
            start,
            wire: wire.clone(),
            http: http.clone(),
            endpoint: endpoint.clone(),
            ws,
            notes: notes_tx,
            inputs: inputs_tx,
            tasks: JoinSet::new(),
            unsent: Vec::new(),
            posts: HashMap::new(),
            next_post: 0,
            raw_post: None,
            detail: None,
            poll_waiters: Vec::new(),
        };
        if let Some(receiver) = reader {
            driver.read(receiver);
        }
        let task = tokio::spawn(driver.run(commands, inputs));
        Ok(EioClient {
            conn: wire.conn(),
            wire,
            endpoint,
            handshake,
            options,
            http,
            via: via(transport),
            commands: commands_tx,
            notes,
            stash: VecDeque::new(),
            task,
        })
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

    /// Whether the client hides this event from the case: a v4 ping it
    /// answered itself, the pong of its own v3 ping.
    fn hidden(&self, event: &Event) -> bool {
        let Event::Packet(_, p) = event else {
            return false;
        };
        let v4 = self.endpoint.version == EioVersion::V4;
        let server_ping = p.packet_type == PacketType::Ping && !p.is_probe() && v4;
        let own_pong = p.packet_type == PacketType::Pong && !p.is_probe() && !v4;
        (self.options.auto_pong && server_ping) || (self.options.auto_ping && own_pong)
    }

    /// The next event within `wait`, or `None` when nothing came. Pings the
    /// client answers on its own (and v3 pongs of its own pings) are skipped.
    pub async fn next_event(&mut self, wait: Duration) -> Result<Option<Event>, DriverError> {
        let deadline = Instant::now() + wait;
        loop {
            let event = match self.stash.pop_front() {
                Some(e) => e,
                None => match tokio::time::timeout_at(deadline, self.notes.recv()).await {
                    Ok(Some(Note::Event(e))) => e,
                    // Upgrade steps nobody waits for.
                    Ok(Some(_)) => continue,
                    Ok(None) | Err(_) => return Ok(None),
                },
            };
            if !self.hidden(&event) {
                return Ok(Some(event));
            }
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
        let deadline = Instant::now() + within;
        let mut seen = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.next_event(left).await? {
                Some(Event::Closed(_, _)) => return Ok(seen),
                Some(Event::Packet(_, p)) if p.packet_type == PacketType::Close => return Ok(seen),
                Some(Event::Packet(_, p)) => seen.push(p),
                None => {
                    if !self.options.auto_poll && self.via == Via::Polling {
                        // Without polls of its own, ask the server once whether the session still exists.
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

    async fn call(
        &self,
        command: impl FnOnce(Reply) -> Command,
    ) -> Result<Option<HttpReply>, DriverError> {
        let (tx, rx) = oneshot::channel();
        self.commands.send(command(tx)).map_err(|_| task_ended())?;
        rx.await.map_err(|_| task_ended())?
    }

    /// Sends one packet over the current transport.
    pub async fn send(&mut self, packet: Packet) -> Result<(), DriverError> {
        self.send_all(&[packet]).await
    }

    /// Sends packets over the current transport (one POST, or one frame
    /// each), and returns once the POST is answered or the frames written.
    pub async fn send_all(&mut self, packets: &[Packet]) -> Result<(), DriverError> {
        match self.call(|r| Command::Send(packets.to_vec(), r)).await? {
            Some(reply) if reply.status != 200 => Err(DriverError::Protocol(format!(
                "a POST answered HTTP {}: {}",
                reply.status,
                reply.text()
            ))),
            _ => Ok(()),
        }
    }

    /// Sends a raw text frame over the WebSocket, or a raw POST body over
    /// polling (and returns its answer).
    pub async fn send_raw(&mut self, raw: &str) -> Result<Option<HttpReply>, DriverError> {
        self.call(|r| Command::Raw(raw.to_owned(), r)).await
    }

    /// Sends a GET now, whatever poll is pending (a second, concurrent one
    /// then): for a client without `auto_poll`. What it brings comes as events.
    pub fn poll(&mut self) -> Result<(), DriverError> {
        self.commands.send(Command::Poll).map_err(|_| task_ended())
    }

    /// Upgrades a polling session to WebSocket: `2probe` over a new
    /// WebSocket, `3probe` back, the pending poll let to finish (the server
    /// ends it, with a noop when it has nothing else), then `5`. Returns the
    /// packets that came over polling from the probe on, noop included;
    /// the others are also kept for [`EioClient::next_event`].
    pub async fn upgrade(&mut self) -> Result<Vec<Packet>, DriverError> {
        self.commands
            .send(Command::Upgrade)
            .map_err(|_| task_ended())?;
        let wait = self.wire.wait();
        let mut polled = Vec::new();
        let mut stashed = Vec::new();
        let mut probed = false;
        let mut deadline = Instant::now() + wait;
        loop {
            let note = match tokio::time::timeout_at(deadline, self.notes.recv()).await {
                Ok(Some(note)) => note,
                Ok(None) => return Err(task_ended()),
                Err(_) if probed => {
                    return Err(DriverError::Timeout(format!(
                        "the pending poll was not ended within {} ms of the probe",
                        wait.as_millis()
                    )))
                }
                Err(_) => return Err(DriverError::Timeout("no 3probe answered the 2probe".into())),
            };
            match note {
                Note::Probed => {
                    probed = true;
                    deadline = Instant::now() + wait;
                }
                Note::Upgraded => break,
                Note::UpgradeFailed(e) => return Err(e),
                Note::Event(Event::Closed(via, why)) => {
                    return Err(DriverError::Closed(format!(
                        "the {via:?} transport ended during the upgrade: {why}"
                    )))
                }
                Note::Event(event @ Event::Packet(Via::Polling, _)) => {
                    if self.hidden(&event) {
                        continue;
                    }
                    let Event::Packet(_, p) = &event else {
                        continue;
                    };
                    polled.push(p.clone());
                    if p.packet_type != PacketType::Noop {
                        stashed.push(event);
                    }
                }
                // The probe's answer (anything else fails the upgrade, reported next).
                Note::Event(Event::Packet(Via::WebSocket, _)) | Note::WsOpened => {}
            }
        }
        self.via = Via::WebSocket;
        self.stash.extend(stashed);
        Ok(polled)
    }

    /// Step by step: opens the upgrade's WebSocket, and returns once it is
    /// open (nothing is sent on it yet). Then [`EioClient::probe`] and
    /// [`EioClient::finish_upgrade`]; polling goes on meanwhile.
    pub async fn begin_upgrade(&mut self) -> Result<(), DriverError> {
        self.commands
            .send(Command::BeginUpgrade)
            .map_err(|_| task_ended())?;
        self.wait_note("the upgrade's WebSocket did not open", |note| match note {
            Note::WsOpened => Some(Ok(())),
            Note::UpgradeFailed(e) => Some(Err(e.clone())),
            _ => None,
        })
        .await
    }

    /// Step by step: sends `2probe` on the upgrade's WebSocket and returns
    /// what the server answered on it: `3probe`, or what came instead (the
    /// upgrade failed then). No new poll is made from here on.
    pub async fn probe(&mut self) -> Result<Packet, DriverError> {
        self.commands
            .send(Command::Probe)
            .map_err(|_| task_ended())?;
        self.wait_note("no answer to 2probe", |note| match note {
            Note::Event(Event::Packet(Via::WebSocket, p)) => Some(Ok(p.clone())),
            Note::UpgradeFailed(e) => Some(Err(e.clone())),
            _ => None,
        })
        .await
    }

    /// Step by step: sends `5` at once, whatever poll is still pending; the
    /// session goes on over the WebSocket.
    pub async fn finish_upgrade(&mut self) -> Result<(), DriverError> {
        self.commands
            .send(Command::FinishUpgrade)
            .map_err(|_| task_ended())?;
        self.wait_note("the upgrade did not complete (no 3probe yet?)", |note| {
            matches!(note, Note::Upgraded).then_some(Ok(()))
        })
        .await?;
        self.via = Via::WebSocket;
        Ok(())
    }

    /// Step by step, after the probe: waits until no poll is in flight
    /// (the server ended the one pending since before the probe; what it
    /// carried comes as events).
    pub async fn polls_ended(&mut self) -> Result<(), DriverError> {
        let (tx, rx) = oneshot::channel();
        self.commands
            .send(Command::AwaitPolls(tx))
            .map_err(|_| task_ended())?;
        match tokio::time::timeout(self.wire.wait(), rx).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(_)) => Err(task_ended()),
            Err(_) => Err(DriverError::Timeout(format!(
                "the pending poll was not ended within {} ms",
                self.wire.wait().as_millis()
            ))),
        }
    }

    /// Waits for the note `pick` takes, within the wait; the events that
    /// come first are kept for [`EioClient::next_event`], and the end of
    /// the session fails the wait.
    async fn wait_note<T>(
        &mut self,
        what: &str,
        mut pick: impl FnMut(&Note) -> Option<Result<T, DriverError>>,
    ) -> Result<T, DriverError> {
        let deadline = Instant::now() + self.wire.wait();
        loop {
            let note = match tokio::time::timeout_at(deadline, self.notes.recv()).await {
                Ok(Some(note)) => note,
                Ok(None) => return Err(task_ended()),
                Err(_) => return Err(DriverError::Timeout(what.to_owned())),
            };
            if let Some(result) = pick(&note) {
                return result;
            }
            match note {
                Note::Event(Event::Closed(via, why)) => {
                    return Err(DriverError::Closed(format!(
                        "the {via:?} transport ended: {why}"
                    )))
                }
                Note::Event(event) if !self.hidden(&event) => self.stash.push_back(event),
                _ => {}
            }
        }
    }

    /// Sends the close packet.
    pub async fn close(&mut self) -> Result<(), DriverError> {
        self.send(Packet::empty(PacketType::Close)).await
    }
}

/// The task that drives one [`ClientSession`]: it makes the session's
/// requests and writes its frames through the wire, feeds the answers back
/// with the time, runs its timer, and hands its events to the [`EioClient`].
struct Driver {
    session: ClientSession,
    start: Instant,
    wire: Wire,
    http: reqwest::Client,
    endpoint: Endpoint,
    ws: Option<WsSender>,
    notes: mpsc::UnboundedSender<Note>,
    inputs: mpsc::UnboundedSender<Input>,
    /// The requests in flight and the WebSocket reader, aborted with the task.
    tasks: JoinSet<()>,
    /// Sends whose packets wait in the session's queue.
    unsent: Vec<Reply>,
    /// The sends each POST in flight carries.
    posts: HashMap<u64, Vec<Reply>>,
    next_post: u64,
    /// The raw send the next POST is.
    raw_post: Option<Reply>,
    /// What the wire said about the last transport failure, for the close event.
    detail: Option<String>,
    /// Answered once no GET is in flight.
    poll_waiters: Vec<oneshot::Sender<()>>,
}

impl Driver {
    fn now(&self) -> Duration {
        self.start.elapsed()
    }

    async fn run(
        mut self,
        mut commands: mpsc::UnboundedReceiver<Command>,
        mut inputs: mpsc::UnboundedReceiver<Input>,
    ) {
        loop {
            self.pump().await;
            let wake = self
                .session
                .poll_timeout()
                .and_then(|t| self.start.checked_add(t));
            tokio::select! {
                command = commands.recv() => match command {
                    Some(command) => self.command(command).await,
                    // The handle is gone.
                    None => return,
                },
                Some(input) = inputs.recv() => self.input(input),
                () = sleep_until(wake) => {
                    let now = self.now();
                    self.session.handle_timeout(now);
                }
            }
        }
    }

    async fn command(&mut self, command: Command) {
        let now = self.now();
        match command {
            Command::Send(packets, reply) => {
                for p in packets {
                    if let Err(reason) = self.session.send_packet(p) {
                        let _ = reply.send(Err(self.closed(&reason)));
                        return;
                    }
                }
                self.unsent.push(reply);
            }
            Command::Raw(raw, reply) => {
                // What is due goes first, so the next transmit is this one.
                self.pump().await;
                let transport = self.session.transport();
                let sent = match transport {
                    Transport::Polling => self
                        .session
                        .send_raw_post(raw.into_bytes(), "text/plain;charset=UTF-8"),
                    Transport::WebSocket => self.session.send_raw_frame(WsFrame::Text(raw.into())),
                };
                match (sent, transport) {
                    (Err(reason), _) => {
                        let _ = reply.send(Err(self.closed(&reason)));
                    }
                    (Ok(()), Transport::Polling) => self.raw_post = Some(reply),
                    (Ok(()), Transport::WebSocket) => self.unsent.push(reply),
                }
            }
            Command::Poll => {
                // A closed session polls no more: its close event is on the way.
                let _ = self.session.poll(now);
            }
            Command::Upgrade => self.session.upgrade(now),
            Command::BeginUpgrade => self.session.begin_upgrade(now),
            Command::Probe => self.session.probe(now),
            Command::FinishUpgrade => self.session.finish_upgrade(now),
            Command::AwaitPolls(reply) => self.poll_waiters.push(reply),
        }
    }

    fn closed(&self, reason: &CloseReason) -> DriverError {
        DriverError::Closed(format!("the session has ended: {reason}"))
    }

    fn input(&mut self, input: Input) {
        let now = self.now();
        match input {
            Input::Polled(Ok(Polled::Packets(packets))) => {
                self.session.handle_poll_packets(now, packets)
            }
            Input::Polled(Ok(Polled::Refused(reply))) => {
                self.session
                    .handle_poll_response(now, reply.status, &reply.body)
            }
            Input::Polled(Ok(Polled::Undecodable(why))) => {
                self.session.abort(CloseReason::ParseError(why))
            }
            Input::Polled(Err(e)) => {
                self.detail = Some(e.reason().to_owned());
                self.session.abort(CloseReason::TransportClosed);
            }
            Input::Posted(id, result) => {
                let replies = self.posts.remove(&id).into_iter().flatten();
                match result {
                    Ok(reply) => {
                        self.session
                            .handle_post_response(now, reply.status, &reply.body);
                        for r in replies {
                            let _ = r.send(Ok(Some(reply.clone())));
                        }
                    }
                    Err(e) => {
                        self.detail = Some(e.reason().to_owned());
                        self.session.abort(CloseReason::TransportClosed);
                        for r in replies {
                            let _ = r.send(Err(e.clone()));
                        }
                    }
                }
            }
            Input::WsOpened(Ok((sender, receiver))) => {
                self.ws = Some(sender);
                self.read(receiver);
                self.session.handle_ws_open(now);
                let _ = self.notes.send(Note::WsOpened);
            }
            Input::WsOpened(Err(e)) => {
                let _ = self.notes.send(Note::UpgradeFailed(e));
                self.session.handle_ws_closed(now);
            }
            Input::Frame(message) => self.session.handle_frame(now, ws_frame(message)),
            Input::WsClosed(why) => {
                self.detail = Some(why);
                self.ws = None;
                self.session.handle_ws_closed(now);
            }
        }
    }

    /// Carries out everything the session has to send, answers the sends
    /// it wrote, and hands its events on.
    async fn pump(&mut self) {
        // Forget the tasks that ended (a JoinSet keeps them until joined).
        while self.tasks.try_join_next().is_some() {}
        let mut frames: Option<Result<(), DriverError>> = None;
        while let Some(transmit) = self.session.poll_transmit(self.now()) {
            match transmit {
                ClientTransmit::Http(request) => self.request(request),
                ClientTransmit::OpenWebSocket(query) => {
                    let url = self.endpoint.ws_url_with(&query);
                    let (wire, inputs) = (self.wire.clone(), self.inputs.clone());
                    self.tasks.spawn(async move {
                        let opened = wire.websocket::<EioText>(&url).await;
                        let _ = inputs.send(Input::WsOpened(opened));
                    });
                }
                ClientTransmit::Frame(frame) => {
                    let message = match frame {
                        WsFrame::Text(t) => Message::Text(t.to_string()),
                        WsFrame::Binary(b) => Message::Binary(b.to_vec()),
                    };
                    let sent = match &mut self.ws {
                        Some(ws) => ws.send(message).await,
                        None => Err(DriverError::Closed("no WebSocket is open".into())),
                    };
                    if let Err(e) = &sent {
                        self.detail = Some(e.reason().to_owned());
                        self.ws = None;
                        let now = self.now();
                        self.session.handle_ws_closed(now);
                    }
                    frames = Some(frames.unwrap_or(Ok(())).and(sent));
                }
                ClientTransmit::CloseWebSocket => {
                    if let Some(mut ws) = self.ws.take() {
                        ws.close().await;
                    }
                }
            }
        }
        if self.session.transport() == Transport::WebSocket || self.session.is_closed() {
            // Over WebSocket a send is done once its frames are written.
            let result = match frames {
                Some(result) => result,
                None if self.session.is_closed() => Err(DriverError::Closed(
                    "the session ended before the packets went out".into(),
                )),
                None => Ok(()),
            };
            for reply in self.unsent.drain(..) {
                let _ = reply.send(result.clone().map(|()| None));
            }
        }
        if self.session.polls_in_flight() == 0 || self.session.is_closed() {
            for reply in self.poll_waiters.drain(..) {
                let _ = reply.send(());
            }
        }
        while let Some(event) = self.session.poll_event() {
            let note = match event {
                ClientEvent::Packet(transport, p) => Note::Event(Event::Packet(via(transport), p)),
                ClientEvent::Closed(reason) => {
                    let why = match self.detail.take() {
                        Some(detail) => format!("{reason}: {detail}"),
                        None => reason.to_string(),
                    };
                    Note::Event(Event::Closed(via(self.session.transport()), why))
                }
                ClientEvent::Probed => Note::Probed,
                ClientEvent::Upgraded => Note::Upgraded,
                ClientEvent::UpgradeFailed(why) => {
                    Note::UpgradeFailed(DriverError::Protocol(format!("the upgrade failed: {why}")))
                }
                // The handshake was read at open; messages are reported as packets.
                ClientEvent::Opened(_) | ClientEvent::Message(_) => continue,
            };
            let _ = self.notes.send(note);
        }
    }

    /// Makes one HTTP request of the session in a task of its own.
    fn request(&mut self, request: Request) {
        let url = self.endpoint.url(&request.query);
        let (wire, http, inputs) = (self.wire.clone(), self.http.clone(), self.inputs.clone());
        match request.body {
            None => {
                let version = self.endpoint.version;
                self.tasks.spawn(async move {
                    let polled = match wire.request(&http, reqwest::Method::GET, &url, None).await {
                        Ok(reply) => Ok(read_poll(&wire, version, reply).await),
                        Err(e) => Err(e),
                    };
                    let _ = inputs.send(Input::Polled(polled));
                });
            }
            Some(body) => {
                let id = self.next_post;
                self.next_post += 1;
                let replies = match self.raw_post.take() {
                    Some(reply) => vec![reply],
                    None => std::mem::take(&mut self.unsent),
                };
                self.posts.insert(id, replies);
                let content_type = request.content_type;
                self.tasks.spawn(async move {
                    let body = Some((content_type, body));
                    let reply = wire.request(&http, reqwest::Method::POST, &url, body).await;
                    let _ = inputs.send(Input::Posted(id, reply));
                });
            }
        }
    }

    /// Reads the WebSocket in a task of its own.
    fn read(&mut self, mut receiver: WsReceiver<EioText>) {
        let inputs = self.inputs.clone();
        self.tasks.spawn(async move {
            loop {
                match receiver.recv().await {
                    WsEvent::Message(message) => {
                        if inputs.send(Input::Frame(message)).is_err() {
                            return;
                        }
                    }
                    WsEvent::Closed(why) => {
                        let _ = inputs.send(Input::WsClosed(why));
                        return;
                    }
                }
            }
        });
    }
}

/// Sleeps until `at`, or forever without it.
async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
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
