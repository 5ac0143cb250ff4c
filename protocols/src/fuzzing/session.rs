//! Structure-aware fuzzing of the Engine.IO and Socket.IO session state machines (quinn-proto style).
//!
//! Each entry point reads an [`Arbitrary`] sequence of operations from the
//! fuzzer's bytes and drives one end in memory on a simulated clock, as a
//! driver would (every transmit and event drained after every step), and
//! checks after every step what no input may break: no panic; a poll is
//! answered at most once and only while one is pending; at most one
//! `Closed`, and nothing after it; send queues within their bounds; timers
//! never left in the past; no frame without a WebSocket; every event of a
//! Socket.IO client with an ack id answered exactly once; no broadcast to a
//! connection outside the room.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use arbitrary::{Arbitrary, Unstructured};

use crate::engineio::{EioVersion, Handshake, Packet as EioPacket, PacketType, Payload};
use crate::session::engineio::{
    ClientConfig, ClientEvent, ClientSession, ClientTransmit, ServerConfig, ServerEvent,
    ServerSession, ServerTransmit,
};
use crate::session::socketio::{
    broadcast, Config as SioConfig, Encoded, Rooms, ServerConnection, ServerSioEvent,
};
use crate::session::{CloseReason, HttpError, Outbound, Transport, WsFrame};
use crate::socketio::{Data as SioData, Packet as SioPacket, PacketType as SioType, SioVersion};

/// Operations in one input; more are ignored (the state stays small enough to check).
const MAX_OPS: usize = 256;

/// One Engine.IO packet as a peer sends it, or raw text in its place.
#[derive(Arbitrary, Debug, Clone)]
enum Wire {
    Ping,
    Pong,
    PingProbe,
    PongProbe,
    Message(String),
    Binary(Vec<u8>),
    Close,
    Upgrade,
    Noop,
    Open(OpenFields),
    Raw(String),
}

/// The fields of an open packet (a client fuzzed with the server's handshake).
#[derive(Arbitrary, Debug, Clone)]
struct OpenFields {
    sid: String,
    upgrade: bool,
    ping_interval: u64,
    ping_timeout: u64,
    max_payload: Option<u64>,
}

impl Wire {
    fn packet(&self) -> Result<EioPacket, String> {
        Ok(match self {
            Wire::Ping => EioPacket::empty(PacketType::Ping),
            Wire::Pong => EioPacket::empty(PacketType::Pong),
            Wire::PingProbe => EioPacket::ping_probe(),
            Wire::PongProbe => EioPacket::pong_probe(),
            Wire::Message(text) => EioPacket::message(text.as_str()),
            Wire::Binary(bytes) => EioPacket::binary(bytes.clone()),
            Wire::Close => EioPacket::empty(PacketType::Close),
            Wire::Upgrade => EioPacket::empty(PacketType::Upgrade),
            Wire::Noop => EioPacket::empty(PacketType::Noop),
            Wire::Open(fields) => EioPacket::open(&Handshake {
                sid: fields.sid.clone(),
                upgrades: Some(if fields.upgrade {
                    vec!["websocket".to_owned()]
                } else {
                    Vec::new()
                }),
                ping_interval: fields.ping_interval,
                ping_timeout: fields.ping_timeout,
                max_payload: fields.max_payload,
                extra: serde_json::Map::new(),
            }),
            Wire::Raw(text) => return Err(text.clone()),
        })
    }

    /// The WebSocket frame carrying this packet.
    fn frame(&self, version: EioVersion) -> WsFrame {
        match self.packet() {
            Ok(p) if matches!(self, Wire::Binary(_)) => {
                WsFrame::Binary(p.encode_binary(version).into())
            }
            Ok(p) => WsFrame::Text(p.encode_text(version).into()),
            Err(raw) => WsFrame::Text(raw.into()),
        }
    }
}

/// A polling body: a payload of packets, or raw bytes.
#[derive(Arbitrary, Debug, Clone)]
enum Body {
    Packets(Vec<Wire>),
    Raw(Vec<u8>),
}

impl Body {
    fn bytes(&self, version: EioVersion) -> Vec<u8> {
        match self {
            Body::Raw(bytes) => bytes.clone(),
            Body::Packets(wires) => {
                let mut packets = Vec::new();
                for wire in wires {
                    match wire.packet() {
                        Ok(p) => packets.push(p),
                        // Raw text in a payload: the payload is raw too.
                        Err(raw) => return raw.into_bytes(),
                    }
                }
                Payload::new(packets).encode(version).into_bytes()
            }
        }
    }
}

/// How the session under test is set up.
#[derive(Arbitrary, Debug)]
struct Setup {
    v4: bool,
    websocket: bool,
    b64: bool,
    /// Tiny bounds: one byte of the input reaches the queue and payload limits.
    small: bool,
}

impl Setup {
    fn version(&self) -> EioVersion {
        if self.v4 {
            EioVersion::V4
        } else {
            EioVersion::V3
        }
    }

    fn transport(&self) -> Transport {
        if self.websocket {
            Transport::WebSocket
        } else {
            Transport::Polling
        }
    }

    fn server_config(&self) -> ServerConfig {
        let base = ServerConfig {
            ping_interval: Duration::from_millis(300),
            ping_timeout: Duration::from_millis(200),
            upgrade_timeout: Duration::from_millis(500),
            ..ServerConfig::default()
        };
        if self.small {
            ServerConfig {
                max_payload: 64,
                max_queued_messages: 4,
                max_queued_bytes: 256,
                ..base
            }
        } else {
            base
        }
    }
}

/// What happens to a server session.
#[derive(Arbitrary, Debug)]
enum ServerOp {
    Poll,
    PollAborted,
    Post(Body),
    Upgrade,
    Frame(Wire),
    WsClosed,
    Send(String),
    SendBinary(Vec<u8>),
    Close,
    /// Milliseconds pass; due timers run.
    Advance(u16),
}

#[derive(Arbitrary, Debug)]
struct ServerInput {
    setup: Setup,
    ops: Vec<ServerOp>,
}

/// The checks of one Engine.IO server session, held beside it.
struct ServerModel {
    now: Duration,
    poll_pending: bool,
    websocket: bool,
    closed: bool,
    max_queued: usize,
}

impl ServerModel {
    /// Drains transmits and events, checking each.
    fn drain(&mut self, session: &mut ServerSession) {
        while let Some(transmit) = session.poll_transmit(self.now) {
            match transmit {
                ServerTransmit::Poll(response) => {
                    assert!(
                        self.poll_pending,
                        "a poll answered that was not pending (or twice)"
                    );
                    assert_eq!(
                        response.status, 200,
                        "a poll answered with {}",
                        response.status
                    );
                    self.poll_pending = false;
                }
                ServerTransmit::Frame(_) => {
                    assert!(self.websocket, "a frame sent with no WebSocket open")
                }
                ServerTransmit::CloseWebSocket => self.websocket = false,
            }
        }
        while let Some(event) = session.poll_event() {
            assert!(!self.closed, "an event after Closed: {event:?}");
            if let ServerEvent::Closed(_) = event {
                self.closed = true;
            }
        }
        assert!(
            session.queued_messages() <= self.max_queued,
            "{} messages queued, over the bound of {}",
            session.queued_messages(),
            self.max_queued
        );
        if session.poll_timeout().is_some_and(|t| t <= self.now) {
            session.handle_timeout(self.now);
            self.drain_after_timeout(session);
        }
    }

    /// After `handle_timeout(now)`, no timer may still be due at `now` (a driver would spin).
    fn drain_after_timeout(&mut self, session: &mut ServerSession) {
        let due = session.poll_timeout().filter(|t| *t <= self.now);
        assert!(
            due.is_none(),
            "a timer still due after handle_timeout: {due:?} at {:?}",
            self.now
        );
        self.drain(session);
    }
}

/// Fuzz target `session_engineio_server`: an Engine.IO server session (v3 or
/// v4, polling or WebSocket) fed any sequence of polls, POST bodies, upgrades,
/// frames, application sends and time.
pub fn engineio_server(data: &[u8]) {
    let Ok(input) = ServerInput::arbitrary_take_rest(Unstructured::new(data)) else {
        return;
    };
    let version = input.setup.version();
    let config = input.setup.server_config();
    let mut model = ServerModel {
        now: Duration::ZERO,
        poll_pending: !input.setup.websocket,
        websocket: input.setup.websocket,
        closed: false,
        max_queued: config.max_queued_messages,
    };
    let mut session = ServerSession::new(
        model.now,
        version,
        "fuzz-sid",
        input.setup.transport(),
        input.setup.b64,
        config,
    );
    model.drain(&mut session);
    for op in input.ops.iter().take(MAX_OPS) {
        match op {
            ServerOp::Poll => {
                let was_pending = model.poll_pending;
                match session.handle_poll(model.now) {
                    Ok(()) => {
                        assert!(!was_pending, "a second poll accepted while one was pending");
                        model.poll_pending = true;
                    }
                    Err(response) => assert_error_response(&response.status, &response.body),
                }
            }
            ServerOp::PollAborted => {
                session.handle_poll_aborted(model.now);
                model.poll_pending = false;
            }
            ServerOp::Post(body) => {
                let response = session.handle_post(model.now, &body.bytes(version));
                if response.status != 200 && response.status != 413 {
                    assert_error_response(&response.status, &response.body);
                }
            }
            ServerOp::Upgrade => match session.handle_upgrade(model.now) {
                Ok(()) => model.websocket = true,
                Err(response) => assert_error_response(&response.status, &response.body),
            },
            ServerOp::Frame(wire) => {
                if model.websocket {
                    session.handle_frame(model.now, wire.frame(version));
                }
            }
            ServerOp::WsClosed => {
                if model.websocket {
                    session.handle_ws_closed(model.now);
                    model.websocket = false;
                }
            }
            ServerOp::Send(text) => {
                let _ = session.send(Outbound::text(text));
            }
            ServerOp::SendBinary(bytes) => {
                let _ = session.send(Outbound::binary(bytes.clone()));
            }
            ServerOp::Close => session.close(model.now),
            ServerOp::Advance(ms) => {
                model.now += Duration::from_millis(u64::from(*ms));
                if session.poll_timeout().is_some_and(|t| t <= model.now) {
                    session.handle_timeout(model.now);
                    model.drain_after_timeout(&mut session);
                }
            }
        }
        model.drain(&mut session);
    }
}

/// An error answer is Node's `{"code","message"}` JSON with its status.
fn assert_error_response(status: &u16, body: &[u8]) {
    assert!(
        HttpError::from_response(*status, body).is_some(),
        "an error answer that is not engine.io's JSON: {status} {:?}",
        String::from_utf8_lossy(body)
    );
}

/// What the server does to a client session.
#[derive(Arbitrary, Debug)]
enum ClientOp {
    /// The answer to the GET in flight (the handshake first).
    AnswerGet(Status, Body),
    /// The answer to the POST in flight.
    AnswerPost(Status),
    WsOpened,
    WsRefused,
    Frame(Wire),
    WsClosed,
    Send(String),
    Close,
    Advance(u16),
}

/// An HTTP status: mostly 200.
#[derive(Arbitrary, Debug)]
enum Status {
    Ok,
    BadRequest,
    Other(u16),
}

impl Status {
    fn code(&self) -> u16 {
        match self {
            Status::Ok => 200,
            Status::BadRequest => 400,
            Status::Other(code) => *code,
        }
    }
}

#[derive(Arbitrary, Debug)]
struct ClientInput {
    setup: Setup,
    ops: Vec<ClientOp>,
}

/// The checks of one Engine.IO client session.
struct ClientModel {
    now: Duration,
    gets: usize,
    posts: usize,
    /// A WebSocket asked for and not yet reported open or refused.
    ws_opening: bool,
    websocket: bool,
    closed: bool,
}

impl ClientModel {
    fn drain(&mut self, session: &mut ClientSession) {
        for _ in 0..4 {
            while let Some(transmit) = session.poll_transmit(self.now) {
                match transmit {
                    ClientTransmit::Http(request) => {
                        if request.body.is_some() {
                            self.posts += 1;
                        } else {
                            self.gets += 1;
                        }
                        assert!(self.gets <= 1, "two GETs in flight");
                        assert!(self.posts <= 1, "two POSTs in flight");
                    }
                    ClientTransmit::OpenWebSocket(_) => {
                        assert!(
                            !self.websocket && !self.ws_opening,
                            "a second WebSocket opened"
                        );
                        self.ws_opening = true;
                    }
                    ClientTransmit::Frame(_) => {
                        assert!(self.websocket, "a frame sent with no WebSocket open")
                    }
                    ClientTransmit::CloseWebSocket => {
                        self.websocket = false;
                        self.ws_opening = false;
                    }
                }
            }
            while let Some(event) = session.poll_event() {
                assert!(!self.closed, "an event after Closed: {event:?}");
                if let ClientEvent::Closed(_) = event {
                    self.closed = true;
                }
            }
            match session.poll_timeout() {
                Some(t) if t <= self.now => session.handle_timeout(self.now),
                _ => return,
            }
        }
        let due = session.poll_timeout().filter(|t| *t <= self.now);
        assert!(
            due.is_none(),
            "a timer still due after handle_timeout: {due:?} at {:?}",
            self.now
        );
    }
}

/// Fuzz target `session_engineio_client`: an Engine.IO client session fed
/// any answers to its requests (the handshake among them), frames, and time.
pub fn engineio_client(data: &[u8]) {
    let Ok(input) = ClientInput::arbitrary_take_rest(Unstructured::new(data)) else {
        return;
    };
    let version = input.setup.version();
    let mut config = ClientConfig::new(version, input.setup.transport());
    config.b64 = input.setup.b64;
    // A small send queue, so that filling it is reached.
    config.max_queued_messages = CLIENT_QUEUE;
    let mut model = ClientModel {
        now: Duration::ZERO,
        gets: 0,
        posts: 0,
        ws_opening: false,
        websocket: false,
        closed: false,
    };
    let mut session = ClientSession::new(model.now, config);
    model.drain(&mut session);
    for op in input.ops.iter().take(MAX_OPS) {
        match op {
            ClientOp::AnswerGet(status, body) => {
                if model.gets == 1 {
                    model.gets = 0;
                    session.handle_poll_response(model.now, status.code(), &body.bytes(version));
                }
            }
            ClientOp::AnswerPost(status) => {
                if model.posts == 1 {
                    model.posts = 0;
                    session.handle_post_response(model.now, status.code(), b"ok");
                }
            }
            ClientOp::WsOpened => {
                if model.ws_opening {
                    model.ws_opening = false;
                    model.websocket = true;
                    session.handle_ws_open(model.now);
                }
            }
            ClientOp::WsRefused => {
                if model.ws_opening {
                    model.ws_opening = false;
                    session.handle_ws_closed(model.now);
                }
            }
            ClientOp::Frame(wire) => {
                if model.websocket {
                    session.handle_frame(model.now, wire.frame(version));
                }
            }
            ClientOp::WsClosed => {
                if model.websocket {
                    model.websocket = false;
                    session.handle_ws_closed(model.now);
                }
            }
            ClientOp::Send(text) => {
                if let Err(CloseReason::QueueFull(n)) = session.send(Outbound::text(text)) {
                    assert!(
                        n == CLIENT_QUEUE && session.is_closed(),
                        "a full queue ({n} waiting) must close the session"
                    );
                }
            }
            ClientOp::Close => session.close(model.now),
            ClientOp::Advance(ms) => model.now += Duration::from_millis(u64::from(*ms)),
        }
        assert!(
            session.queued_messages() <= CLIENT_QUEUE,
            "the send queue outgrew its bound"
        );
        model.drain(&mut session);
    }
}

/// The client target's send queue bound.
const CLIENT_QUEUE: usize = 8;

/// A Socket.IO packet a client sends, or raw text in its place.
#[derive(Arbitrary, Debug)]
enum SioWire {
    Connect {
        ns: Ns,
        auth: bool,
    },
    Disconnect(Ns),
    /// `join`, `leave` or `say` a room, or another event; with an ack id or not.
    Event {
        ns: Ns,
        verb: Verb,
        room: u8,
        ack: Option<u64>,
    },
    Ack {
        ns: Ns,
        id: u64,
    },
    Binary {
        ns: Ns,
        attachments: Vec<Vec<u8>>,
        ack: Option<u64>,
    },
    Raw(String),
    RawBinary(Vec<u8>),
}

/// The namespaces of the fuzzed app: `/`, `/chat`, or any.
#[derive(Arbitrary, Debug)]
pub(crate) enum Ns {
    Main,
    Chat,
    Other(String),
}

impl Ns {
    pub(crate) fn name(&self) -> &str {
        match self {
            Ns::Main => "/",
            Ns::Chat => "/chat",
            Ns::Other(name) => name,
        }
    }
}

#[derive(Arbitrary, Debug, Clone, Copy)]
enum Verb {
    Join,
    Leave,
    Say,
    Other,
}

impl Verb {
    fn name(self) -> &'static str {
        match self {
            Verb::Join => "join",
            Verb::Leave => "leave",
            Verb::Say => "say",
            Verb::Other => "other",
        }
    }
}

/// What happens in a Socket.IO server with rooms.
#[derive(Arbitrary, Debug)]
enum SioOp {
    /// A new client's WebSocket handshake.
    Open {
        v5: bool,
    },
    /// Client `n mod clients` sends.
    Send(u8, SioWire),
    /// Its WebSocket ends.
    Drop(u8),
    /// The app broadcasts to a room.
    Broadcast {
        ns: Ns,
        room: u8,
    },
    Advance(u16),
}

#[derive(Arbitrary, Debug)]
struct SioInput {
    small: bool,
    ops: Vec<SioOp>,
}

/// Most clients of one input.
const MAX_CLIENTS: usize = 6;

/// One client connection of the fuzzed app and what it received.
struct SioClient {
    conn: ServerConnection,
    /// Ack ids the app owes this client: answered exactly once, before the next step.
    owed: Vec<u64>,
    closed: bool,
}

/// The app the Socket.IO connections run: accept every namespace but
/// `/forbidden`, `join`/`leave`/`say` rooms, ack every event that asks.
struct SioApp {
    now: Duration,
    clients: Vec<SioClient>,
    rooms: Rooms<usize>,
    /// Membership kept apart from [`Rooms`], to check it.
    members: BTreeMap<(String, String), BTreeSet<usize>>,
    config: ServerConfig,
    sio: SioConfig,
}

impl SioApp {
    fn room(n: u8) -> String {
        format!("r{}", n % 4)
    }

    fn step(&mut self, i: usize) {
        let now = self.now;
        loop {
            let client = &mut self.clients[i];
            let Some(event) = client.conn.poll_event(now) else {
                break;
            };
            assert!(!client.closed, "an event after Closed: {event:?}");
            match event {
                ServerSioEvent::Connect { namespace, .. } => {
                    if namespace == "/forbidden" {
                        client.conn.reject(&namespace, "forbidden", None);
                    } else {
                        client.conn.accept(&namespace, "fuzz");
                    }
                }
                ServerSioEvent::Event {
                    namespace,
                    name,
                    args,
                    ack,
                } => {
                    assert!(
                        client.conn.is_connected(&namespace),
                        "an event of a namespace not joined: {namespace}"
                    );
                    let room = match args.first() {
                        Some(SioData::String(room)) => room.clone(),
                        _ => String::new(),
                    };
                    if let Some(id) = ack {
                        client.owed.push(id);
                        let _ = client.conn.ack(&namespace, id, vec![]);
                    }
                    match name.as_str() {
                        "join" => {
                            self.rooms.join(i, &namespace, &room);
                            self.members.entry((namespace, room)).or_default().insert(i);
                        }
                        "leave" => {
                            self.rooms.leave(&i, &namespace, &room);
                            if let Some(set) = self.members.get_mut(&(namespace, room)) {
                                set.remove(&i);
                            }
                        }
                        "say" => self.broadcast(&namespace, &room, Some(i)),
                        _ => {}
                    }
                }
                ServerSioEvent::Ack { .. } => {}
                ServerSioEvent::Disconnect { namespace } => {
                    for ((ns, room), set) in self.members.iter_mut() {
                        if *ns == namespace {
                            set.remove(&i);
                            self.rooms.leave(&i, ns, room);
                        }
                    }
                }
                ServerSioEvent::Closed(_) => {
                    client.closed = true;
                    self.rooms.leave_all(&i);
                    for set in self.members.values_mut() {
                        set.remove(&i);
                    }
                }
            }
        }
        self.flush(i);
    }

    /// Sends to every member of a room but `except`, and checks who got it.
    fn broadcast(&mut self, ns: &str, room: &str, except: Option<usize>) {
        let recipients = self.rooms.recipients(ns, room, except.as_ref());
        let expected: Vec<usize> = self
            .members
            .get(&(ns.to_owned(), room.to_owned()))
            .into_iter()
            .flatten()
            .copied()
            .filter(|k| Some(*k) != except)
            .collect();
        assert_eq!(
            recipients, expected,
            "the recipients of {ns} {room} are not its members"
        );
        for k in &recipients {
            assert!(
                !self.clients[*k].closed,
                "a broadcast to a closed connection"
            );
            assert!(
                self.clients[*k].conn.is_connected(ns),
                "a broadcast to a connection outside {ns}"
            );
        }
        let encoded = Encoded::event(ns, "said", vec![SioData::String(room.to_owned())], None);
        let conns = self
            .clients
            .iter_mut()
            .enumerate()
            .filter(|(k, _)| recipients.contains(k))
            .map(|(k, c)| (k, &mut c.conn));
        for (k, _) in broadcast(&encoded, conns) {
            self.flush(k);
        }
    }

    /// Drains a client's transmits: every ack owed must be among them
    /// (unless the connection closed), each once.
    fn flush(&mut self, i: usize) {
        let now = self.now;
        let version = SioVersion::for_engine(self.clients[i].conn.engine().version());
        let mut acked = Vec::new();
        while let Some(transmit) = self.clients[i].conn.poll_transmit(now) {
            if let ServerTransmit::Frame(WsFrame::Text(text)) = transmit {
                if let Some(packet) = text
                    .strip_prefix('4')
                    .and_then(|t| SioPacket::decode(version, t).ok())
                {
                    if packet.packet_type == SioType::Ack {
                        acked.extend(packet.id);
                    }
                }
            }
        }
        let client = &mut self.clients[i];
        for id in acked {
            let owed = client.owed.iter().position(|o| *o == id);
            assert!(
                owed.is_some(),
                "ack {id} sent that no event asked for (or twice)"
            );
            if let Some(at) = owed {
                client.owed.remove(at);
            }
        }
        if client.conn.engine().is_closed() {
            client.owed.clear();
        }
        assert!(
            client.owed.is_empty(),
            "events with ack ids {:?} left unanswered",
            client.owed
        );
        assert!(client.conn.engine().queued_messages() <= self.config.max_queued_messages);
    }
}

/// Fuzz target `session_socketio_rooms`: up to six Socket.IO clients over
/// WebSocket against one app with rooms: namespaces joined and left, rooms
/// joined, left and broadcast to, events with ack ids, binary attachments,
/// raw frames, clients dropping and time passing.
pub fn socketio_rooms(data: &[u8]) {
    let Ok(input) = SioInput::arbitrary_take_rest(Unstructured::new(data)) else {
        return;
    };
    let config = ServerConfig {
        ping_interval: Duration::from_millis(300),
        ping_timeout: Duration::from_millis(200),
        max_queued_messages: if input.small { 4 } else { 1024 },
        ..ServerConfig::default()
    };
    let sio = SioConfig {
        connect_timeout: Duration::from_millis(1000),
        max_buffered_bytes: if input.small { 64 } else { 10_000 },
        ..SioConfig::default()
    };
    let mut app = SioApp {
        now: Duration::ZERO,
        clients: Vec::new(),
        rooms: Rooms::new(),
        members: BTreeMap::new(),
        config,
        sio,
    };
    for op in input.ops.iter().take(MAX_OPS) {
        match op {
            SioOp::Open { v5 } => {
                if app.clients.len() < MAX_CLIENTS {
                    let version = if *v5 { EioVersion::V4 } else { EioVersion::V3 };
                    let sid = format!("sid{}", app.clients.len());
                    let engine = ServerSession::new(
                        app.now,
                        version,
                        sid,
                        Transport::WebSocket,
                        false,
                        app.config.clone(),
                    );
                    app.clients.push(SioClient {
                        conn: ServerConnection::new(app.now, engine, app.sio),
                        owed: Vec::new(),
                        closed: false,
                    });
                    let i = app.clients.len() - 1;
                    app.step(i);
                }
            }
            SioOp::Send(n, wire) => {
                if app.clients.is_empty() {
                    continue;
                }
                let i = usize::from(*n) % app.clients.len();
                let version = app.clients[i].conn.engine().version();
                for frame in sio_frames(wire, version) {
                    app.clients[i]
                        .conn
                        .engine_mut()
                        .handle_frame(app.now, frame);
                }
                app.step(i);
            }
            SioOp::Drop(n) => {
                if app.clients.is_empty() {
                    continue;
                }
                let i = usize::from(*n) % app.clients.len();
                app.clients[i].conn.engine_mut().handle_ws_closed(app.now);
                app.step(i);
            }
            SioOp::Broadcast { ns, room } => app.broadcast(ns.name(), &SioApp::room(*room), None),
            SioOp::Advance(ms) => {
                app.now += Duration::from_millis(u64::from(*ms));
                for i in 0..app.clients.len() {
                    if app.clients[i]
                        .conn
                        .poll_timeout()
                        .is_some_and(|t| t <= app.now)
                    {
                        app.clients[i].conn.handle_timeout(app.now);
                    }
                    app.step(i);
                }
            }
        }
    }
}

/// The WebSocket frames of a client's Socket.IO packet.
fn sio_frames(wire: &SioWire, version: EioVersion) -> Vec<WsFrame> {
    let text = |s: String| WsFrame::Text(format!("4{s}").into());
    match wire {
        SioWire::Connect { ns, auth } => {
            let data = auth.then(|| serde_json::json!({"token": "fuzz"}));
            vec![text(SioPacket::connect(ns.name(), data).encode())]
        }
        SioWire::Disconnect(ns) => vec![text(SioPacket::disconnect(ns.name()).encode())],
        SioWire::Event {
            ns,
            verb,
            room,
            ack,
        } => {
            let args = vec![serde_json::Value::String(SioApp::room(*room))];
            vec![text(
                SioPacket::event(ns.name(), verb.name(), args, *ack).encode(),
            )]
        }
        SioWire::Ack { ns, id } => vec![text(SioPacket::ack(ns.name(), *id, vec![]).encode())],
        SioWire::Binary {
            ns,
            attachments,
            ack,
        } => {
            let mut data = vec![SioData::String("other".to_owned())];
            data.extend(
                attachments
                    .iter()
                    .take(12)
                    .map(|a| SioData::Binary(a.clone())),
            );
            let (head, parts) = crate::socketio::FullPacket {
                packet_type: SioType::Event,
                namespace: ns.name().to_owned(),
                id: *ack,
                data: Some(SioData::Array(data)),
            }
            .encode();
            let mut frames = vec![text(head)];
            frames.extend(parts.into_iter().map(|p| {
                let packet = EioPacket::binary(p);
                WsFrame::Binary(packet.encode_binary(version).into())
            }));
            frames
        }
        SioWire::Raw(raw) => vec![WsFrame::Text(raw.as_str().into())],
        SioWire::RawBinary(bytes) => vec![WsFrame::Binary(bytes.as_slice().into())],
    }
}
