//! The server end of an Engine.IO session: handshake, polling, WebSocket, the upgrade, the heartbeat.

use std::collections::VecDeque;
use std::time::Duration;

use super::{decode_frame, drain_payload, frame_len, payload_response, Item};
use crate::engineio::{Config as CodecConfig, EioVersion, Handshake, Packet, PacketType, Payload};
use crate::session::{
    pop_or_free, CloseReason, Data, HttpError, HttpResponse, Outbound, Transport, WsFrame,
};

/// What a server session announces and enforces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerConfig {
    /// `pingInterval`: v4, how often the server pings; v3, how often the client must.
    pub ping_interval: Duration,
    /// `pingTimeout`: how long the answer may take (v4: counted from when
    /// the ping left, or was queued if it never left).
    pub ping_timeout: Duration,
    /// `maxPayload`: the largest POST body or WebSocket frame accepted, and
    /// the size a poll's answer is batched under.
    pub max_payload: usize,
    /// Whether the upgrade to WebSocket is offered (`upgrades: ["websocket"]`).
    pub allow_upgrade: bool,
    /// How long an upgrade may stay between the WebSocket and its `5`.
    pub upgrade_timeout: Duration,
    /// Most application messages waiting to be sent; one more closes the session.
    pub max_queued_messages: usize,
    /// Most bytes of application messages waiting to be sent; more closes the session.
    pub max_queued_bytes: usize,
}

impl Default for ServerConfig {
    /// The defaults of Node's engine.io (25 s / 20 s, 1 MB), with queue bounds of our own.
    fn default() -> Self {
        ServerConfig {
            ping_interval: Duration::from_millis(25_000),
            ping_timeout: Duration::from_millis(20_000),
            max_payload: 1_000_000,
            allow_upgrade: true,
            upgrade_timeout: Duration::from_millis(10_000),
            max_queued_messages: 1024,
            max_queued_bytes: 16 * 1024 * 1024,
        }
    }
}

/// What the driver sends next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerTransmit {
    /// The answer to the poll that is pending (HTTP 200 and the payload).
    Poll(HttpResponse),
    /// A frame on the session's WebSocket (the probing one during the upgrade).
    Frame(WsFrame),
    /// Close the session's WebSocket.
    CloseWebSocket,
}

/// What happened in a server session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerEvent {
    /// A message from the client.
    Message(Data),
    /// The session now runs over WebSocket.
    Upgraded,
    /// An upgrade failed; the session goes on over polling.
    UpgradeFailed(String),
    /// The session ended; nothing more will come.
    Closed(CloseReason),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Upgrade {
    /// No WebSocket besides the transport.
    None,
    /// A WebSocket opened for the session; waiting for `2probe`.
    Probing,
    /// `3probe` sent; waiting for `5`.
    Probed,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Open,
    /// The application closed it; the close packet waits for a poll.
    Closing,
    Closed,
}

/// The server end of one Engine.IO session.
///
/// Polling: call [`handle_poll`](Self::handle_poll) for a GET and hold the
/// request until [`poll_transmit`](Self::poll_transmit) yields a
/// [`ServerTransmit::Poll`], which answers it (at once when packets are
/// queued); [`handle_post`](Self::handle_post) for a POST, whose answer is
/// returned. WebSocket: [`handle_frame`](Self::handle_frame) for every
/// frame, [`handle_ws_closed`](Self::handle_ws_closed) when it ends.
#[derive(Debug)]
pub struct ServerSession {
    version: EioVersion,
    sid: String,
    config: ServerConfig,
    transport: Transport,
    b64: bool,
    poll_pending: bool,
    upgrade: Upgrade,
    upgrade_deadline: Option<Duration>,
    queue: VecDeque<Item>,
    queued_messages: usize,
    queued_bytes: usize,
    transmits: VecDeque<ServerTransmit>,
    events: VecDeque<ServerEvent>,
    /// v4: when the next ping goes out.
    next_ping: Option<Duration>,
    /// v4: when the pong must have come; v3: when the next ping must have come.
    heartbeat_deadline: Option<Duration>,
    /// When a closing session gives up waiting for the poll that takes its close packet.
    close_deadline: Option<Duration>,
    state: State,
}

impl ServerSession {
    /// Opens a session whose handshake came over `transport`; the open
    /// packet is queued. Over polling the handshake GET is the first
    /// pending poll (the driver answers it with the first
    /// [`ServerTransmit::Poll`]); over WebSocket the open packet is the first frame.
    /// `b64` is v3's `b64=1`: binary goes as base64 text.
    pub fn new(
        now: Duration,
        version: EioVersion,
        sid: impl Into<String>,
        transport: Transport,
        b64: bool,
        config: ServerConfig,
    ) -> ServerSession {
        let sid = sid.into();
        let upgrades = if config.allow_upgrade && transport == Transport::Polling {
            vec!["websocket".to_owned()]
        } else {
            Vec::new()
        };
        let handshake = Handshake {
            sid: sid.clone(),
            upgrades: Some(upgrades),
            ping_interval: config.ping_interval.as_millis() as u64,
            ping_timeout: config.ping_timeout.as_millis() as u64,
            // Node's engine.io announces it to Engine.IO 3 clients too.
            max_payload: Some(config.max_payload as u64),
            extra: serde_json::Map::new(),
        };
        let (next_ping, heartbeat_deadline) = match version {
            EioVersion::V4 => (Some(now.saturating_add(config.ping_interval)), None),
            EioVersion::V3 => (
                None,
                Some(
                    now.saturating_add(config.ping_interval)
                        .saturating_add(config.ping_timeout),
                ),
            ),
        };
        let mut session = ServerSession {
            version,
            sid,
            config,
            transport,
            b64,
            poll_pending: transport == Transport::Polling,
            upgrade: Upgrade::None,
            upgrade_deadline: None,
            queue: VecDeque::new(),
            queued_messages: 0,
            queued_bytes: 0,
            transmits: VecDeque::new(),
            events: VecDeque::new(),
            next_ping,
            heartbeat_deadline,
            close_deadline: None,
            state: State::Open,
        };
        session
            .queue
            .push_back(Item::Control(Packet::open(&handshake)));
        session
    }

    /// The session id.
    pub fn sid(&self) -> &str {
        &self.sid
    }

    /// The Engine.IO revision.
    pub fn version(&self) -> EioVersion {
        self.version
    }

    /// The transport packets go out on.
    pub fn transport(&self) -> Transport {
        self.transport
    }

    /// Whether the session ended (the driver forgets it once the transmits are drained).
    pub fn is_closed(&self) -> bool {
        self.state == State::Closed
    }

    /// Whether a poll is waiting for its answer.
    pub fn has_pending_poll(&self) -> bool {
        self.poll_pending
    }

    /// A GET of this session. `Err` is the answer to give it at once: a
    /// poll after the upgrade (code 3), or a second poll while one is
    /// pending, which also closes the session (the pending one is answered
    /// with a close packet).
    pub fn handle_poll(&mut self, _now: Duration) -> Result<(), HttpResponse> {
        if self.state == State::Closed {
            return Err(HttpError::UnknownSid.response());
        }
        if self.transport != Transport::Polling {
            return Err(HttpError::BadRequest.response());
        }
        if self.poll_pending {
            self.close_with(CloseReason::ConcurrentPoll);
            return Err(HttpError::BadRequest.response());
        }
        self.poll_pending = true;
        if self.upgrade == Upgrade::Probed {
            // As Node does while it waits for the `5`: a poll during the
            // upgrade is answered with a noop at once, so the client can
            // stop polling and complete the upgrade.
            self.answer_poll_with_noop();
        }
        Ok(())
    }

    /// A POST of this session: decodes the payload, handles its packets and
    /// returns the answer (`200 ok`; `413` for a body over `maxPayload` and
    /// `400` for one that does not decode, both closing the session).
    pub fn handle_post(&mut self, now: Duration, body: &[u8]) -> HttpResponse {
        if self.state == State::Closed {
            return HttpError::UnknownSid.response();
        }
        if self.transport != Transport::Polling {
            return HttpError::BadRequest.response();
        }
        if body.len() > self.config.max_payload {
            self.close_with(CloseReason::PayloadTooLarge {
                size: body.len(),
                max: self.config.max_payload,
            });
            return HttpResponse {
                status: 413,
                content_type: "text/plain; charset=UTF-8",
                body: Vec::new(),
            };
        }
        let codec = CodecConfig {
            max_payload: self.config.max_payload,
        };
        match Payload::decode_with(self.version, body, &codec) {
            Ok(payload) => {
                for packet in payload.packets {
                    if self.state == State::Closed {
                        break;
                    }
                    self.handle_packet(now, packet);
                }
                HttpResponse {
                    status: 200,
                    content_type: "text/html",
                    body: b"ok".to_vec(),
                }
            }
            Err(e) => {
                self.close_with(CloseReason::ParseError(e.to_string()));
                HttpError::BadRequest.response()
            }
        }
    }

    /// A WebSocket opened with this session's sid: the start of the upgrade.
    /// `Err` refuses it (no upgrade offered, already upgraded or upgrading);
    /// the session goes on.
    pub fn handle_upgrade(&mut self, now: Duration) -> Result<(), HttpResponse> {
        if self.state == State::Closed {
            return Err(HttpError::UnknownSid.response());
        }
        if !self.config.allow_upgrade
            || self.transport != Transport::Polling
            || self.upgrade != Upgrade::None
        {
            return Err(HttpError::BadRequest.response());
        }
        self.upgrade = Upgrade::Probing;
        self.upgrade_deadline = Some(now.saturating_add(self.config.upgrade_timeout));
        Ok(())
    }

    /// A frame on the session's WebSocket (the transport, or the one being probed).
    pub fn handle_frame(&mut self, now: Duration, frame: WsFrame) {
        if self.state == State::Closed {
            return;
        }
        if frame_len(&frame) > self.config.max_payload {
            let size = frame_len(&frame);
            if self.upgrade != Upgrade::None {
                return self.fail_upgrade(format!("a frame of {size} bytes"));
            }
            return self.close_with(CloseReason::PayloadTooLarge {
                size,
                max: self.config.max_payload,
            });
        }
        let packet = decode_frame(self.version, &frame);
        match self.upgrade {
            Upgrade::Probing => match packet {
                Ok(p) if p.packet_type == PacketType::Ping && p.is_probe() => {
                    self.transmits
                        .push_back(ServerTransmit::Frame(WsFrame::Text(
                            Packet::pong_probe().encode_text(self.version).into(),
                        )));
                    self.upgrade = Upgrade::Probed;
                    self.answer_poll_with_noop();
                }
                _ => self.fail_upgrade("the first frame is not 2probe".to_owned()),
            },
            Upgrade::Probed => match packet {
                Ok(p) if p.packet_type == PacketType::Upgrade => {
                    self.answer_poll_with_noop();
                    self.upgrade = Upgrade::None;
                    self.upgrade_deadline = None;
                    self.transport = Transport::WebSocket;
                    // A closing session already said `Closed`: nothing after it.
                    if self.state == State::Open {
                        self.events.push_back(ServerEvent::Upgraded);
                    }
                }
                _ => self.fail_upgrade("the frame after 3probe is not 5".to_owned()),
            },
            Upgrade::None => {
                if self.transport != Transport::WebSocket {
                    return;
                }
                match packet {
                    Ok(p) => self.handle_packet(now, p),
                    Err(e) => self.close_with(CloseReason::ParseError(e.to_string())),
                }
            }
        }
    }

    /// The session's WebSocket ended (the transport, or the one being probed).
    pub fn handle_ws_closed(&mut self, _now: Duration) {
        if self.upgrade != Upgrade::None {
            self.upgrade = Upgrade::None;
            self.upgrade_deadline = None;
            // Once `Closed` is reported (closing or closed), nothing more is.
            if self.state == State::Open {
                self.events.push_back(ServerEvent::UpgradeFailed(
                    "the WebSocket closed".to_owned(),
                ));
            }
        } else if self.transport == Transport::WebSocket {
            self.close_with(CloseReason::TransportClosed);
        }
    }

    /// The HTTP exchange of the pending poll ended before it was answered
    /// (the client went away): the session waits for the next poll.
    pub fn handle_poll_aborted(&mut self, _now: Duration) {
        self.poll_pending = false;
    }

    /// Queues a message. A full queue closes the session
    /// ([`CloseReason::QueueFull`]) and returns the reason: never a silent drop.
    pub fn send(&mut self, message: Outbound) -> Result<(), CloseReason> {
        match self.state {
            State::Closed => return Err(CloseReason::TransportClosed),
            State::Closing => return Err(CloseReason::Closed),
            State::Open => {}
        }
        if self.queued_messages >= self.config.max_queued_messages
            || self.queued_bytes + message.len() > self.config.max_queued_bytes
        {
            let reason = CloseReason::QueueFull(self.queued_messages);
            self.close_with(reason.clone());
            return Err(reason);
        }
        self.queued_messages += 1;
        self.queued_bytes += message.len();
        self.queue.push_back(Item::Message(message));
        Ok(())
    }

    /// How many application messages wait to be sent.
    pub fn queued_messages(&self) -> usize {
        self.queued_messages
    }

    /// Closes the session after what is queued: over WebSocket the frames
    /// then the close; over polling the queue and a close packet go to the
    /// next poll (given up after `pingTimeout`).
    pub fn close(&mut self, now: Duration) {
        if self.state != State::Open {
            return;
        }
        self.queue
            .push_back(Item::Control(Packet::empty(PacketType::Close)));
        self.state = State::Closing;
        self.close_deadline = Some(now.saturating_add(self.config.ping_timeout));
        self.next_ping = None;
        self.heartbeat_deadline = None;
        self.events
            .push_back(ServerEvent::Closed(CloseReason::Closed));
    }

    /// When to call [`handle_timeout`](Self::handle_timeout).
    pub fn poll_timeout(&self) -> Option<Duration> {
        [
            self.next_ping,
            self.heartbeat_deadline,
            self.upgrade_deadline,
            self.close_deadline,
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// Whether the heartbeat has lapsed at `now`: a v4 pong or a v3 ping
    /// is overdue, and [`handle_timeout`](Self::handle_timeout) would close
    /// the session with [`CloseReason::PingTimeout`]. A driver asks before
    /// it calls `handle_timeout`, to read first what has arrived: the
    /// answer may be waiting in its socket.
    pub fn heartbeat_lapsed(&self, now: Duration) -> bool {
        self.state != State::Closed && self.heartbeat_deadline.is_some_and(|t| now >= t)
    }

    /// Runs the timers due at `now`: a v4 ping, a lapsed heartbeat, an upgrade that took too long.
    ///
    /// Feed the session every input that has already arrived first: a pong
    /// waiting unread in the driver's buffers then still counts, and a busy
    /// server does not time out a client that answered in time.
    pub fn handle_timeout(&mut self, now: Duration) {
        if self.state == State::Closed {
            return;
        }
        if self.close_deadline.is_some_and(|t| now >= t) {
            self.close_deadline = None;
            self.shut(None);
            return;
        }
        if self.heartbeat_deadline.is_some_and(|t| now >= t) {
            self.heartbeat_deadline = None;
            return self.close_with(CloseReason::PingTimeout);
        }
        if self.upgrade_deadline.is_some_and(|t| now >= t) {
            self.fail_upgrade("no upgrade within the upgrade timeout".to_owned());
        }
        if self.next_ping.is_some_and(|t| now >= t) {
            self.next_ping = None;
            self.queue
                .push_back(Item::Control(Packet::empty(PacketType::Ping)));
            self.heartbeat_deadline = Some(now.saturating_add(self.config.ping_timeout));
        }
    }

    /// What to send next: the answer to the pending poll once something is
    /// queued, or the next WebSocket frame.
    pub fn poll_transmit(&mut self, now: Duration) -> Option<ServerTransmit> {
        if let Some(t) = pop_or_free(&mut self.transmits) {
            return Some(t);
        }
        if self.queue.is_empty() {
            // Nothing to send: the drained queue's storage is freed.
            let _ = pop_or_free(&mut self.queue);
            return None;
        }
        // Once `3probe` is out, packets wait for the upgrade to complete (or fail).
        if self.state == State::Closed || self.upgrade == Upgrade::Probed {
            return None;
        }
        match self.transport {
            Transport::Polling if self.poll_pending => {
                let drained = drain_payload(
                    self.version,
                    &mut self.queue,
                    self.config.max_payload,
                    self.b64,
                );
                self.poll_pending = false;
                self.queued_messages -= drained.messages;
                self.queued_bytes -= drained.bytes;
                if drained.ping {
                    self.ping_sent(now);
                }
                self.finish_closing();
                Some(ServerTransmit::Poll(payload_response(drained.payload)))
            }
            Transport::Polling => None,
            Transport::WebSocket => {
                let item = self.queue.pop_front()?;
                if let Item::Message(m) = &item {
                    self.queued_messages -= 1;
                    self.queued_bytes -= m.len();
                }
                if item.is_ping() {
                    self.ping_sent(now);
                }
                let frame = item.frame(self.version);
                self.finish_closing();
                if self.state == State::Closed {
                    self.transmits.push_back(ServerTransmit::CloseWebSocket);
                }
                Some(ServerTransmit::Frame(frame))
            }
        }
    }

    /// What happened, in order.
    pub fn poll_event(&mut self) -> Option<ServerEvent> {
        pop_or_free(&mut self.events)
    }

    fn handle_packet(&mut self, now: Duration, packet: Packet) {
        if self.state != State::Open {
            // Closing: the application said its last word; nothing more is reported.
            return;
        }
        match (packet.packet_type, self.version) {
            (PacketType::Message, _) => {
                let data = match packet.data {
                    crate::engineio::PacketData::Text(t) => Data::Text(t),
                    crate::engineio::PacketData::Binary(b) => Data::Binary(b),
                };
                self.events.push_back(ServerEvent::Message(data));
            }
            (PacketType::Pong, EioVersion::V4) => {
                if self.heartbeat_deadline.take().is_some() {
                    self.next_ping = Some(now.saturating_add(self.config.ping_interval));
                }
            }
            (PacketType::Ping, EioVersion::V3) => {
                self.heartbeat_deadline = Some(
                    now.saturating_add(self.config.ping_interval)
                        .saturating_add(self.config.ping_timeout),
                );
                let pong = Packet {
                    packet_type: PacketType::Pong,
                    data: packet.data,
                };
                self.queue.push_back(Item::Control(pong));
            }
            (PacketType::Ping, EioVersion::V4) | (PacketType::Pong, EioVersion::V3) => {
                self.close_with(CloseReason::InvalidHeartbeatDirection)
            }
            (PacketType::Close, _) => self.close_with(CloseReason::PeerClosed),
            (PacketType::Noop, _) => {}
            (PacketType::Open, _) => self.close_with(CloseReason::UnexpectedPacket("open")),
            (PacketType::Upgrade, _) => self.close_with(CloseReason::UnexpectedPacket("upgrade")),
        }
    }

    /// A v4 ping left: the pong is due `pingTimeout` after it left, not
    /// after it was queued, so a backlog of our own does not time the client out.
    fn ping_sent(&mut self, now: Duration) {
        if self.version == EioVersion::V4 && self.heartbeat_deadline.is_some() {
            self.heartbeat_deadline = Some(now.saturating_add(self.config.ping_timeout));
        }
    }

    fn answer_poll_with_noop(&mut self) {
        if self.poll_pending {
            self.poll_pending = false;
            let noop = [Item::Control(Packet::empty(PacketType::Noop))];
            self.transmits
                .push_back(ServerTransmit::Poll(payload_response(
                    super::encode_payload(self.version, &noop, self.b64),
                )));
        }
    }

    fn fail_upgrade(&mut self, why: String) {
        self.upgrade = Upgrade::None;
        self.upgrade_deadline = None;
        self.transmits.push_back(ServerTransmit::CloseWebSocket);
        if self.state == State::Open {
            self.events.push_back(ServerEvent::UpgradeFailed(why));
        }
    }

    /// A closing session whose close packet went out is closed.
    fn finish_closing(&mut self) {
        if self.state == State::Closing && self.queue.is_empty() {
            self.state = State::Closed;
            // A closed session has no timer: `handle_timeout` does nothing
            // any more, so one left here would stay due for ever.
            self.close_deadline = None;
            self.next_ping = None;
            self.heartbeat_deadline = None;
            self.upgrade_deadline = None;
        }
    }

    /// Ends the session at once: a pending poll gets a close packet, a WebSocket is closed.
    fn close_with(&mut self, reason: CloseReason) {
        if self.state == State::Closed {
            return;
        }
        let announced = self.state == State::Closing;
        self.shut(if announced { None } else { Some(reason) });
    }

    fn shut(&mut self, reason: Option<CloseReason>) {
        self.state = State::Closed;
        self.queue.clear();
        self.queued_messages = 0;
        self.queued_bytes = 0;
        self.next_ping = None;
        self.heartbeat_deadline = None;
        self.upgrade_deadline = None;
        self.close_deadline = None;
        if self.poll_pending {
            self.poll_pending = false;
            let close = [Item::Control(Packet::empty(PacketType::Close))];
            self.transmits
                .push_back(ServerTransmit::Poll(payload_response(
                    super::encode_payload(self.version, &close, self.b64),
                )));
        }
        if self.transport == Transport::WebSocket || self.upgrade != Upgrade::None {
            self.upgrade = Upgrade::None;
            self.transmits.push_back(ServerTransmit::CloseWebSocket);
        }
        if let Some(reason) = reason {
            self.events.push_back(ServerEvent::Closed(reason));
        }
    }
}
