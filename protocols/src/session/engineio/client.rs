//! The client end of an Engine.IO session: handshake, polling, WebSocket, the upgrade, the heartbeat.

use std::collections::VecDeque;
use std::time::Duration;

use super::{decode_frame, drain_payload, Item};
use crate::engineio::{EioVersion, Handshake, Packet, PacketData, PacketType, Payload};
use crate::session::{CloseReason, Data, HttpError, Outbound, Transport, WsFrame};

/// How a client session connects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientConfig {
    /// The Engine.IO revision (`EIO=`).
    pub version: EioVersion,
    /// The transport of the handshake.
    pub transport: Transport,
    /// Whether to upgrade to WebSocket when the server offers it.
    pub upgrade: bool,
    /// v3: ask for binary as base64 text (`b64=1`) instead of the XHR2 framing.
    pub b64: bool,
    /// How long the handshake may take.
    pub connect_timeout: Duration,
    /// The largest payload the client sends when the server announces no `maxPayload` (v3).
    pub max_payload: usize,
    /// Over polling, keep one GET in flight, as stock clients do. Off, the
    /// driver polls by hand with [`ClientSession::poll`].
    pub auto_poll: bool,
    /// v4: answer every ping of the server with a pong.
    pub auto_pong: bool,
    /// v3: ping the server every pingInterval.
    pub auto_ping: bool,
    /// Close the session when the server's heartbeat lapses (v4: no ping
    /// within pingInterval + pingTimeout; v3: no pong within pingTimeout of
    /// a ping). Off, a driver that checks the server judges that itself.
    pub watch_heartbeat: bool,
    /// Report every packet received after the handshake with
    /// [`ClientEvent::Packet`], for drivers that check exact packets.
    pub packet_events: bool,
    /// Most application messages waiting to be sent (the server end's
    /// bound, 1024); one more closes the session.
    pub max_queued_messages: usize,
    /// Most bytes of application messages waiting to be sent (16 MiB, as
    /// the server end); more closes the session.
    pub max_queued_bytes: usize,
}

impl ClientConfig {
    /// A client of this revision over this transport, upgrading when offered.
    pub fn new(version: EioVersion, transport: Transport) -> ClientConfig {
        ClientConfig {
            version,
            transport,
            upgrade: true,
            b64: false,
            connect_timeout: Duration::from_secs(20),
            max_payload: 1_000_000,
            auto_poll: true,
            auto_pong: true,
            auto_ping: true,
            watch_heartbeat: true,
            packet_events: false,
            max_queued_messages: 1024,
            max_queued_bytes: 16 * 1024 * 1024,
        }
    }
}

/// An HTTP request the driver makes; its answer goes to
/// [`ClientSession::handle_poll_response`] or [`ClientSession::handle_post_response`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// The query string (`EIO=4&transport=polling&sid=...`), without `?`.
    pub query: String,
    /// The body of a POST; `None` for a GET.
    pub body: Option<Vec<u8>>,
    /// The `Content-Type` of the body.
    pub content_type: &'static str,
}

/// What the driver does next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientTransmit {
    /// An HTTP GET (the handshake or a poll) or POST.
    Http(Request),
    /// Open a WebSocket with this query string; report it with
    /// [`ClientSession::handle_ws_open`] or [`ClientSession::handle_ws_closed`].
    OpenWebSocket(String),
    /// A frame on the WebSocket.
    Frame(WsFrame),
    /// Close the WebSocket.
    CloseWebSocket,
}

/// What happened in a client session.
#[derive(Debug, Clone, PartialEq)]
pub enum ClientEvent {
    /// The handshake arrived.
    Opened(Handshake),
    /// A packet arrived over this transport, before the session acted on it
    /// (only with [`ClientConfig::packet_events`]; the open packet is
    /// [`ClientEvent::Opened`]).
    Packet(Transport, Packet),
    /// `3probe` came back over the new WebSocket.
    Probed,
    /// A message from the server.
    Message(Data),
    /// The session now runs over WebSocket.
    Upgraded,
    /// The upgrade failed; the session goes on over polling.
    UpgradeFailed(String),
    /// The session ended.
    Closed(CloseReason),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Upgrade {
    None,
    /// The WebSocket is being opened.
    Opening,
    /// Step by step: the WebSocket is open, `2probe` waits for [`ClientSession::probe`].
    Opened,
    /// `2probe` sent.
    Probing,
    /// Step by step: `3probe` received, `5` waits for [`ClientSession::finish_upgrade`].
    Probed,
    /// `3probe` received: waiting for the pending poll to come back, then `5`.
    Pausing,
    Done,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Handshaking,
    Open,
    Closed,
}

/// The client end of one Engine.IO session.
///
/// Over polling the session keeps one GET in flight (as stock clients do)
/// and at most one POST of its own; the driver makes each
/// [`ClientTransmit::Http`] and hands its answer back. A driver that checks
/// a server switches the automatic parts off in [`ClientConfig`] and sends
/// by hand: a poll ([`ClientSession::poll`]), raw bytes
/// ([`ClientSession::send_raw_post`], [`ClientSession::send_raw_frame`]),
/// the upgrade one step at a time.
#[derive(Debug)]
pub struct ClientSession {
    config: ClientConfig,
    state: State,
    handshake: Option<Handshake>,
    transport: Transport,
    upgrade: Upgrade,
    /// The upgrade runs step by step ([`ClientSession::begin_upgrade`]).
    step_upgrade: bool,
    /// GETs sent and not yet answered (more than one only when polled by hand).
    gets_in_flight: usize,
    /// POSTs sent and not yet answered (more than one only with raw POSTs).
    posts_in_flight: usize,
    queue: VecDeque<Item>,
    /// Application messages in `queue`, and their bytes.
    queued_messages: usize,
    queued_bytes: usize,
    transmits: VecDeque<ClientTransmit>,
    events: VecDeque<ClientEvent>,
    /// v3: when the next ping goes out.
    next_ping: Option<Duration>,
    /// v3: when the pong must have come; v4: when the next ping must have
    /// come; before the handshake: the connect timeout.
    deadline: Option<Duration>,
    /// v3: a ping of the session's own is waiting for its pong.
    awaiting_pong: bool,
    /// The application closed the session; it ends once the close packet is out.
    closing: bool,
}

impl ClientSession {
    /// A session about to send its handshake (the first transmit).
    pub fn new(now: Duration, config: ClientConfig) -> ClientSession {
        let mut session = ClientSession {
            transport: config.transport,
            deadline: Some(now.saturating_add(config.connect_timeout)),
            config,
            state: State::Handshaking,
            handshake: None,
            upgrade: Upgrade::None,
            step_upgrade: false,
            gets_in_flight: 0,
            posts_in_flight: 0,
            queue: VecDeque::new(),
            queued_messages: 0,
            queued_bytes: 0,
            transmits: VecDeque::new(),
            events: VecDeque::new(),
            next_ping: None,
            awaiting_pong: false,
            closing: false,
        };
        let query = session.query(session.config.transport);
        session.transmits.push_back(match session.config.transport {
            Transport::Polling => {
                session.gets_in_flight = 1;
                ClientTransmit::Http(Request {
                    query,
                    body: None,
                    content_type: "text/plain;charset=UTF-8",
                })
            }
            Transport::WebSocket => ClientTransmit::OpenWebSocket(query),
        });
        session
    }

    /// The handshake, once it arrived.
    pub fn handshake(&self) -> Option<&Handshake> {
        self.handshake.as_ref()
    }

    /// The Engine.IO revision.
    pub fn version(&self) -> EioVersion {
        self.config.version
    }

    /// The transport packets go out on.
    pub fn transport(&self) -> Transport {
        self.transport
    }

    /// How many GETs are sent and not yet answered.
    pub fn polls_in_flight(&self) -> usize {
        self.gets_in_flight
    }

    /// Whether the session ended.
    pub fn is_closed(&self) -> bool {
        self.state == State::Closed
    }

    /// Queues a message (sent once the handshake is done). A full queue
    /// ([`ClientConfig::max_queued_messages`], `max_queued_bytes`) closes
    /// the session ([`CloseReason::QueueFull`]) and returns the reason:
    /// never a silent drop.
    pub fn send(&mut self, message: Outbound) -> Result<(), CloseReason> {
        if self.state == State::Closed {
            return Err(CloseReason::TransportClosed);
        }
        if self.queued_messages >= self.config.max_queued_messages
            || self.queued_bytes + message.len() > self.config.max_queued_bytes
        {
            let reason = CloseReason::QueueFull(self.queued_messages);
            self.shut(reason.clone());
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

    /// Queues any Engine.IO packet as it is, for tests that need to send
    /// what a well-behaved client would not.
    pub fn send_packet(&mut self, packet: Packet) -> Result<(), CloseReason> {
        self.send_packet_item(Item::Control(packet))
    }

    fn send_packet_item(&mut self, item: Item) -> Result<(), CloseReason> {
        if self.state == State::Closed {
            return Err(CloseReason::TransportClosed);
        }
        self.queue.push_back(item);
        Ok(())
    }

    /// Sends a close packet after what is queued and ends the session.
    pub fn close(&mut self, now: Duration) {
        if self.state != State::Open {
            self.shut(CloseReason::Closed);
            return;
        }
        self.queue
            .push_back(Item::Control(Packet::empty(PacketType::Close)));
        self.closing = true;
        self.flush(now);
    }

    /// Sends a GET now, whatever is in flight (a second, concurrent poll when
    /// one is pending): for drivers that poll by hand
    /// ([`ClientConfig::auto_poll`] off). Its answer goes to
    /// [`handle_poll_response`](Self::handle_poll_response) like any other.
    pub fn poll(&mut self, _now: Duration) -> Result<(), CloseReason> {
        self.check_open()?;
        self.gets_in_flight += 1;
        self.transmits.push_back(ClientTransmit::Http(Request {
            query: self.query(Transport::Polling),
            body: None,
            content_type: "text/plain;charset=UTF-8",
        }));
        Ok(())
    }

    /// Sends `body` as one POST, as it is and ahead of the queue: for
    /// drivers that send what a well-behaved client would not. Its answer
    /// goes to [`handle_post_response`](Self::handle_post_response).
    pub fn send_raw_post(
        &mut self,
        body: Vec<u8>,
        content_type: &'static str,
    ) -> Result<(), CloseReason> {
        self.check_open()?;
        self.posts_in_flight += 1;
        self.transmits.push_back(ClientTransmit::Http(Request {
            query: self.query(Transport::Polling),
            body: Some(body),
            content_type,
        }));
        Ok(())
    }

    /// Sends a frame on the WebSocket as it is (the session's own one, or
    /// the one of an upgrade under way).
    pub fn send_raw_frame(&mut self, frame: WsFrame) -> Result<(), CloseReason> {
        self.check_open()?;
        let ws_open = self.transport == Transport::WebSocket
            || matches!(
                self.upgrade,
                Upgrade::Opened | Upgrade::Probing | Upgrade::Probed | Upgrade::Pausing
            );
        if !ws_open {
            return Err(CloseReason::TransportClosed);
        }
        self.transmits.push_back(ClientTransmit::Frame(frame));
        Ok(())
    }

    fn check_open(&self) -> Result<(), CloseReason> {
        match self.state {
            State::Open => Ok(()),
            State::Handshaking | State::Closed => Err(CloseReason::TransportClosed),
        }
    }

    /// Starts the upgrade to WebSocket (when [`ClientConfig::upgrade`] is
    /// off, or the server did not offer it): the session asks for the
    /// WebSocket, probes it, lets the pending poll end and sends `5`.
    pub fn upgrade(&mut self, now: Duration) {
        self.start_upgrade(now, false);
    }

    /// Starts an upgrade the driver runs step by step: the session asks for
    /// the WebSocket, then waits for [`probe`](Self::probe) once it is open,
    /// and for [`finish_upgrade`](Self::finish_upgrade) once `3probe` came
    /// back ([`ClientEvent::Probed`]).
    pub fn begin_upgrade(&mut self, now: Duration) {
        self.start_upgrade(now, true);
    }

    fn start_upgrade(&mut self, _now: Duration, step: bool) {
        if self.state == State::Open
            && self.transport == Transport::Polling
            && self.upgrade == Upgrade::None
        {
            self.upgrade = Upgrade::Opening;
            self.step_upgrade = step;
            self.transmits.push_back(ClientTransmit::OpenWebSocket(
                self.query(Transport::WebSocket),
            ));
        }
    }

    /// Step by step ([`begin_upgrade`](Self::begin_upgrade)): sends `2probe`
    /// on the WebSocket once it is open.
    pub fn probe(&mut self, _now: Duration) {
        if self.upgrade == Upgrade::Opened && self.state == State::Open {
            self.send_probe();
        }
    }

    /// Step by step: sends `5` once `3probe` came back, at once, whatever
    /// poll is still pending, and moves the session to the WebSocket.
    pub fn finish_upgrade(&mut self, _now: Duration) {
        if matches!(self.upgrade, Upgrade::Probed | Upgrade::Pausing) && self.state == State::Open {
            self.complete_upgrade();
        }
    }

    fn send_probe(&mut self) {
        self.upgrade = Upgrade::Probing;
        self.transmits
            .push_back(ClientTransmit::Frame(WsFrame::Text(
                Packet::ping_probe().encode_text(self.config.version).into(),
            )));
    }

    fn complete_upgrade(&mut self) {
        self.upgrade = Upgrade::Done;
        self.transport = Transport::WebSocket;
        self.transmits
            .push_back(ClientTransmit::Frame(WsFrame::Text(
                Packet::empty(PacketType::Upgrade)
                    .encode_text(self.config.version)
                    .into(),
            )));
        self.events.push_back(ClientEvent::Upgraded);
    }

    /// Ends the session at once, for a reason the driver found (a packet it
    /// cannot decode once the driver changed it, a transport it gave up on).
    pub fn abort(&mut self, reason: CloseReason) {
        self.shut(reason);
    }

    /// The answer to a GET (the handshake or a poll).
    pub fn handle_poll_response(&mut self, now: Duration, status: u16, body: &[u8]) {
        if self.state == State::Closed {
            self.gets_in_flight = self.gets_in_flight.saturating_sub(1);
            return;
        }
        if status != 200 {
            self.gets_in_flight = self.gets_in_flight.saturating_sub(1);
            return self.refused(status, body);
        }
        match Payload::decode(self.config.version, body) {
            Ok(payload) => self.handle_poll_packets(now, payload.packets),
            Err(e) => {
                self.gets_in_flight = self.gets_in_flight.saturating_sub(1);
                self.shut(CloseReason::ParseError(e.to_string()))
            }
        }
    }

    /// The packets of a GET answered 200, decoded by the driver, which may
    /// look at each one or change it first (the mutation layer of a test
    /// harness); [`handle_poll_response`](Self::handle_poll_response) is
    /// this after decoding the body.
    pub fn handle_poll_packets(&mut self, now: Duration, packets: Vec<Packet>) {
        self.gets_in_flight = self.gets_in_flight.saturating_sub(1);
        for packet in packets {
            self.handle_packet(now, Transport::Polling, packet);
        }
    }

    /// The answer to a POST.
    pub fn handle_post_response(&mut self, _now: Duration, status: u16, body: &[u8]) {
        self.posts_in_flight = self.posts_in_flight.saturating_sub(1);
        if self.state != State::Closed && status != 200 {
            self.refused(status, body);
        }
    }

    /// The WebSocket asked for with [`ClientTransmit::OpenWebSocket`] is open.
    pub fn handle_ws_open(&mut self, _now: Duration) {
        if self.upgrade == Upgrade::Opening {
            if self.step_upgrade {
                self.upgrade = Upgrade::Opened;
            } else {
                self.send_probe();
            }
        }
    }

    /// The WebSocket closed, or could not be opened.
    pub fn handle_ws_closed(&mut self, _now: Duration) {
        if self.state == State::Closed {
            // Nothing comes after `Closed`, not even a failed upgrade.
            self.upgrade = Upgrade::Done;
            return;
        }
        match (self.transport, self.upgrade) {
            (
                Transport::Polling,
                Upgrade::Opening
                | Upgrade::Opened
                | Upgrade::Probing
                | Upgrade::Probed
                | Upgrade::Pausing,
            ) => {
                self.upgrade = Upgrade::Done;
                self.events.push_back(ClientEvent::UpgradeFailed(
                    "the WebSocket closed".to_owned(),
                ));
            }
            (Transport::WebSocket, _) => self.shut(CloseReason::TransportClosed),
            _ => {}
        }
    }

    /// A frame on the WebSocket.
    pub fn handle_frame(&mut self, now: Duration, frame: WsFrame) {
        if self.state == State::Closed {
            return;
        }
        let packet = match decode_frame(self.config.version, &frame) {
            Ok(p) => p,
            Err(e) => return self.shut(CloseReason::ParseError(e.to_string())),
        };
        if self.transport == Transport::Polling {
            if self.config.packet_events {
                self.events
                    .push_back(ClientEvent::Packet(Transport::WebSocket, packet.clone()));
            }
            if self.upgrade == Upgrade::Probing
                && packet.packet_type == PacketType::Pong
                && packet.is_probe()
            {
                self.upgrade = if self.step_upgrade {
                    Upgrade::Probed
                } else {
                    Upgrade::Pausing
                };
                self.events.push_back(ClientEvent::Probed);
            } else {
                self.upgrade = Upgrade::Done;
                self.transmits.push_back(ClientTransmit::CloseWebSocket);
                self.events.push_back(ClientEvent::UpgradeFailed(format!(
                    "{:?} instead of 3probe",
                    packet.packet_type
                )));
            }
            return;
        }
        self.handle_packet(now, Transport::WebSocket, packet);
    }

    /// When to call [`handle_timeout`](Self::handle_timeout).
    pub fn poll_timeout(&self) -> Option<Duration> {
        [self.next_ping, self.deadline].into_iter().flatten().min()
    }

    /// Runs the timers due at `now`.
    pub fn handle_timeout(&mut self, now: Duration) {
        if self.state == State::Closed {
            return;
        }
        if self.deadline.is_some_and(|t| now >= t) {
            self.deadline = None;
            let reason = if self.state == State::Handshaking {
                CloseReason::ConnectTimeout
            } else {
                CloseReason::PingTimeout
            };
            return self.shut(reason);
        }
        if self.next_ping.is_some_and(|t| now >= t) {
            self.next_ping = None;
            self.queue
                .push_back(Item::Control(Packet::empty(PacketType::Ping)));
            self.awaiting_pong = true;
            if self.config.watch_heartbeat {
                self.deadline = Some(now.saturating_add(self.ping_timeout()));
            }
        }
    }

    /// What to do next.
    pub fn poll_transmit(&mut self, now: Duration) -> Option<ClientTransmit> {
        self.flush(now);
        self.transmits.pop_front()
    }

    /// What happened, in order.
    pub fn poll_event(&mut self) -> Option<ClientEvent> {
        self.events.pop_front()
    }

    fn ping_interval(&self) -> Duration {
        Duration::from_millis(self.handshake.as_ref().map_or(0, |h| h.ping_interval))
    }

    fn ping_timeout(&self) -> Duration {
        Duration::from_millis(self.handshake.as_ref().map_or(0, |h| h.ping_timeout))
    }

    fn query(&self, transport: Transport) -> String {
        let mut q = format!(
            "EIO={}&transport={}",
            self.config.version.query_value(),
            transport.query_value()
        );
        if let Some(h) = &self.handshake {
            q.push_str("&sid=");
            q.push_str(&h.sid);
        }
        if self.config.version == EioVersion::V3 && self.config.b64 {
            q.push_str("&b64=1");
        }
        q
    }

    /// Moves what can go now into transmits: the `5` of a paused upgrade,
    /// queued packets (one POST at a time, or frames), and a new poll.
    fn flush(&mut self, _now: Duration) {
        if self.state != State::Open {
            return;
        }
        if self.upgrade == Upgrade::Pausing && self.gets_in_flight == 0 && self.posts_in_flight == 0
        {
            self.complete_upgrade();
        }
        let upgrading = matches!(
            self.upgrade,
            Upgrade::Opened | Upgrade::Probing | Upgrade::Probed | Upgrade::Pausing
        );
        match self.transport {
            Transport::WebSocket => {
                // One frame at a time, as the driver takes them: what it has
                // not written yet stays in the bounded queue.
                if self.transmits.is_empty() {
                    if let Some(item) = self.queue.pop_front() {
                        if let Item::Message(m) = &item {
                            self.queued_messages -= 1;
                            self.queued_bytes -= m.len();
                        }
                        self.transmits
                            .push_back(ClientTransmit::Frame(item.frame(self.config.version)));
                    }
                }
            }
            Transport::Polling => {
                if self.posts_in_flight == 0
                    && !self.queue.is_empty()
                    && self.upgrade != Upgrade::Pausing
                {
                    let max = self
                        .handshake
                        .as_ref()
                        .and_then(|h| h.max_payload)
                        .map_or(self.config.max_payload, |m| m as usize);
                    let drained =
                        drain_payload(self.config.version, &mut self.queue, max, self.config.b64);
                    self.queued_messages -= drained.messages;
                    self.queued_bytes -= drained.bytes;
                    let (body, binary) = drained.payload;
                    self.posts_in_flight += 1;
                    self.transmits.push_back(ClientTransmit::Http(Request {
                        query: self.query(Transport::Polling),
                        body: Some(body),
                        content_type: if binary {
                            "application/octet-stream"
                        } else {
                            "text/plain;charset=UTF-8"
                        },
                    }));
                }
                if self.config.auto_poll && self.gets_in_flight == 0 && !upgrading && !self.closing
                {
                    self.gets_in_flight = 1;
                    self.transmits.push_back(ClientTransmit::Http(Request {
                        query: self.query(Transport::Polling),
                        body: None,
                        content_type: "text/plain;charset=UTF-8",
                    }));
                }
            }
        }
        if self.closing && self.queue.is_empty() {
            self.shut(CloseReason::Closed);
        }
    }

    fn handle_packet(&mut self, now: Duration, via: Transport, packet: Packet) {
        if self.state == State::Closed {
            return;
        }
        if self.state == State::Open && self.config.packet_events {
            self.events
                .push_back(ClientEvent::Packet(via, packet.clone()));
        }
        if via == Transport::Polling && self.transport == Transport::WebSocket {
            // A poll left pending across a step-by-step upgrade, answered
            // on the discarded transport (Node ends it with a close packet):
            // reported, not acted on, as stock clients drop that transport.
            return;
        }
        if self.state == State::Handshaking {
            let handshake = match (&packet.packet_type, &packet.data) {
                (PacketType::Open, PacketData::Text(t)) => {
                    Handshake::decode(self.config.version, t)
                }
                _ => return self.shut(CloseReason::UnexpectedPacket("non-open first")),
            };
            let handshake = match handshake {
                Ok(h) => h,
                Err(e) => return self.shut(CloseReason::ParseError(e.to_string())),
            };
            self.state = State::Open;
            let offers_ws = handshake
                .upgrades
                .as_ref()
                .is_some_and(|u| u.iter().any(|t| t == "websocket"));
            self.handshake = Some(handshake.clone());
            self.deadline = None;
            match self.config.version {
                EioVersion::V4 => self.watch_ping(now),
                EioVersion::V3 if self.config.auto_ping => {
                    self.next_ping = Some(now.saturating_add(self.ping_interval()));
                }
                EioVersion::V3 => {}
            }
            self.events.push_back(ClientEvent::Opened(handshake));
            if self.transport == Transport::Polling && self.config.upgrade && offers_ws {
                self.upgrade = Upgrade::Opening;
                self.transmits.push_back(ClientTransmit::OpenWebSocket(
                    self.query(Transport::WebSocket),
                ));
            }
            return;
        }
        match (packet.packet_type, self.config.version) {
            (PacketType::Message, _) => {
                let data = match packet.data {
                    PacketData::Text(t) => Data::Text(t),
                    PacketData::Binary(b) => Data::Binary(b),
                };
                self.events.push_back(ClientEvent::Message(data));
            }
            (PacketType::Ping, EioVersion::V4) => {
                self.watch_ping(now);
                if self.config.auto_pong {
                    self.queue
                        .push_back(Item::Control(Packet::empty(PacketType::Pong)));
                }
            }
            (PacketType::Pong, EioVersion::V3) => {
                if std::mem::take(&mut self.awaiting_pong) {
                    self.deadline = None;
                    self.next_ping = Some(now.saturating_add(self.ping_interval()));
                }
            }
            (PacketType::Ping, EioVersion::V3) | (PacketType::Pong, EioVersion::V4) => {
                self.shut(CloseReason::InvalidHeartbeatDirection)
            }
            (PacketType::Close, _) => self.shut(CloseReason::PeerClosed),
            (PacketType::Noop, _) => {}
            (PacketType::Open, _) => self.shut(CloseReason::UnexpectedPacket("second open")),
            (PacketType::Upgrade, _) => self.shut(CloseReason::UnexpectedPacket("upgrade")),
        }
    }

    /// v4: the next ping is due within pingInterval + pingTimeout.
    fn watch_ping(&mut self, now: Duration) {
        if self.config.watch_heartbeat {
            self.deadline = Some(
                now.saturating_add(self.ping_interval())
                    .saturating_add(self.ping_timeout()),
            );
        }
    }

    fn refused(&mut self, status: u16, body: &[u8]) {
        let why = match HttpError::from_response(status, body) {
            Some(e) => format!("HTTP {status}: {e}"),
            None => format!("HTTP {status}"),
        };
        self.shut(CloseReason::Refused(why));
    }

    fn shut(&mut self, reason: CloseReason) {
        if self.state == State::Closed {
            return;
        }
        self.state = State::Closed;
        self.queue.clear();
        self.queued_messages = 0;
        self.queued_bytes = 0;
        self.next_ping = None;
        self.deadline = None;
        if self.transport == Transport::WebSocket
            || matches!(
                self.upgrade,
                Upgrade::Opened | Upgrade::Probing | Upgrade::Probed | Upgrade::Pausing
            )
        {
            self.transmits.push_back(ClientTransmit::CloseWebSocket);
        }
        self.events.push_back(ClientEvent::Closed(reason));
    }
}
