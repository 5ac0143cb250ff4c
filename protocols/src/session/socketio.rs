//! Socket.IO v4/v5 over an Engine.IO session, for both ends: namespaces, events, acks, binary attachments, rooms.
//!
//! [`ServerConnection`] and [`ClientConnection`] wrap the Engine.IO session
//! of their end: the driver feeds the Engine.IO session
//! ([`ServerConnection::engine_mut`]) and asks the connection for events
//! (Socket.IO packets decoded, binary ones reassembled) and transmits.
//!
//! Incoming packets are decoded strictly: placeholders are checked as the
//! text part is decoded (an integer `num`, in range, every attachment used
//! once), the attachment count is bounded (10 by default, as Node's
//! parser) and so are the bytes buffered while attachments arrive. A packet
//! that breaks a rule, or that comes for a namespace the peer did not join,
//! closes the session, as Node's server does.
//!
//! A broadcast is an [`Encoded`] packet: encoded once, its frames queued to
//! every recipient with their bytes shared; [`Rooms`] says who the
//! recipients are. A recipient whose queue is full is closed with
//! [`CloseReason::QueueFull`], never skipped silently.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::time::Duration;

use serde_json::Value;

use super::engineio::{ClientEvent, ClientSession, ServerEvent, ServerSession};
use super::{CloseReason, Data as EngineData, Outbound};
use crate::socketio::{Config as CodecConfig, Data, FullPacket, Packet, PacketType, SioVersion};

/// Bounds of a Socket.IO connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Config {
    /// The parser's bounds: attachments per packet (10) and packet size.
    pub codec: CodecConfig,
    /// Most bytes of attachments buffered for one packet.
    pub max_buffered_bytes: usize,
    /// How long a server waits for the client to join a namespace (Node: 45 s).
    pub connect_timeout: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            codec: CodecConfig::default(),
            max_buffered_bytes: 10_000_000,
            connect_timeout: Duration::from_secs(45),
        }
    }
}

/// A Socket.IO packet encoded once: its text frame and its attachments, ready
/// to be queued to any number of connections.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Encoded {
    frames: Vec<Outbound>,
}

impl Encoded {
    /// Encodes a complete packet (binary data in place).
    pub fn new(packet: &FullPacket) -> Encoded {
        let (text, attachments) = packet.encode();
        let mut frames = Vec::with_capacity(1 + attachments.len());
        frames.push(Outbound::text(&text));
        frames.extend(attachments.into_iter().map(Outbound::binary));
        Encoded { frames }
    }

    /// Encodes an event.
    pub fn event(namespace: &str, name: &str, args: Vec<Data>, ack: Option<u64>) -> Encoded {
        let mut data = vec![Data::String(name.to_owned())];
        data.extend(args);
        Encoded::new(&FullPacket {
            packet_type: PacketType::Event,
            namespace: namespace.to_owned(),
            id: ack,
            data: Some(Data::Array(data)),
        })
    }

    /// Encodes a text part that is already a packet (no attachments).
    fn packet(packet: &Packet) -> Encoded {
        Encoded {
            frames: vec![Outbound::text(&packet.encode())],
        }
    }

    /// The Engine.IO messages: the text part, then one per attachment.
    pub fn frames(&self) -> &[Outbound] {
        &self.frames
    }
}

/// What happened on a server connection.
#[derive(Debug, Clone, PartialEq)]
pub enum ServerSioEvent {
    /// The client asks to join a namespace: answer with
    /// [`ServerConnection::accept`] or [`ServerConnection::reject`]. (v4:
    /// the main namespace is joined at once; this event still says so.)
    Connect {
        /// The namespace.
        namespace: String,
        /// v5: the auth object of the CONNECT packet.
        auth: Option<Value>,
    },
    /// An event, binary data in place.
    Event {
        /// The namespace.
        namespace: String,
        /// The event's name.
        name: String,
        /// Its arguments.
        args: Vec<Data>,
        /// The ack id to answer with [`ServerConnection::ack`].
        ack: Option<u64>,
    },
    /// The answer to an event the server emitted with an ack id.
    Ack {
        /// The namespace.
        namespace: String,
        /// The ack id.
        id: u64,
        /// Its arguments.
        args: Vec<Data>,
    },
    /// The client left a namespace.
    Disconnect {
        /// The namespace.
        namespace: String,
    },
    /// The connection ended: every namespace is left.
    Closed(CloseReason),
}

/// The reassembly of incoming packets, shared by both ends.
#[derive(Debug)]
struct Inbound {
    version: SioVersion,
    config: Config,
    pending: Option<(Packet, Vec<Vec<u8>>, usize)>,
}

impl Inbound {
    /// Takes one Engine.IO message; a complete packet, nothing yet, or why the connection must close.
    fn push(&mut self, data: EngineData) -> Result<Option<FullPacket>, CloseReason> {
        let parse = |e: crate::socketio::Error| CloseReason::ParseError(e.to_string());
        match data {
            EngineData::Text(text) => {
                if self.pending.is_some() {
                    self.pending = None;
                    return Err(parse(crate::socketio::Error::AttachmentExpected));
                }
                let packet =
                    Packet::decode_with(self.version, &text, &self.config.codec).map_err(parse)?;
                if packet.attachments == 0 {
                    return packet.reconstruct(&[]).map(Some).map_err(parse);
                }
                self.pending = Some((packet, Vec::new(), 0));
                Ok(None)
            }
            EngineData::Binary(bytes) => {
                let Some((packet, mut buffers, size)) = self.pending.take() else {
                    return Err(parse(crate::socketio::Error::UnexpectedAttachment));
                };
                let size = size + bytes.len();
                if size > self.config.max_buffered_bytes {
                    return Err(CloseReason::PayloadTooLarge {
                        size,
                        max: self.config.max_buffered_bytes,
                    });
                }
                buffers.push(bytes);
                if buffers.len() < packet.attachments {
                    self.pending = Some((packet, buffers, size));
                    return Ok(None);
                }
                packet.reconstruct(&buffers).map(Some).map_err(parse)
            }
        }
    }
}

/// The name and arguments of an event's data, or an ack's arguments.
fn split_args(data: Option<Data>, event: bool) -> Option<(String, Vec<Data>)> {
    let Some(Data::Array(mut items)) = data else {
        return None;
    };
    if !event {
        return Some((String::new(), items));
    }
    if items.is_empty() {
        return None;
    }
    match items.remove(0) {
        Data::String(name) => Some((name, items)),
        _ => None,
    }
}

/// The server end of one Socket.IO connection (one Engine.IO session).
#[derive(Debug)]
pub struct ServerConnection {
    engine: ServerSession,
    inbound: Inbound,
    /// Joined namespaces, and those whose CONNECT awaits the application.
    namespaces: BTreeMap<String, bool>,
    connect_deadline: Option<Duration>,
    events: VecDeque<ServerSioEvent>,
    closed: bool,
}

impl ServerConnection {
    /// Socket.IO over this Engine.IO session (v4 over Engine.IO 3, v5 over 4).
    pub fn new(now: Duration, engine: ServerSession, config: Config) -> ServerConnection {
        let version = SioVersion::for_engine(engine.version());
        let mut conn = ServerConnection {
            engine,
            inbound: Inbound {
                version,
                config,
                pending: None,
            },
            namespaces: BTreeMap::new(),
            connect_deadline: Some(now.saturating_add(config.connect_timeout)),
            events: VecDeque::new(),
            closed: false,
        };
        if version == SioVersion::V4 {
            conn.namespaces.insert("/".to_owned(), false);
            conn.events.push_back(ServerSioEvent::Connect {
                namespace: "/".to_owned(),
                auth: None,
            });
            conn.accept("/", "");
        }
        conn
    }

    /// The Socket.IO revision.
    pub fn version(&self) -> SioVersion {
        self.inbound.version
    }

    /// The Engine.IO session, to feed it what arrived.
    pub fn engine_mut(&mut self) -> &mut ServerSession {
        &mut self.engine
    }

    /// The Engine.IO session.
    pub fn engine(&self) -> &ServerSession {
        &self.engine
    }

    /// Whether the client joined this namespace.
    pub fn is_connected(&self, namespace: &str) -> bool {
        self.namespaces.get(namespace) == Some(&true)
    }

    /// Admits the client to a namespace it asked for: CONNECT (v5 with `{sid}`).
    pub fn accept(&mut self, namespace: &str, sid: &str) {
        match self.namespaces.get_mut(namespace) {
            Some(joined) if !*joined => *joined = true,
            _ => return,
        }
        self.connect_deadline = None;
        let data = (self.version() == SioVersion::V5).then(|| serde_json::json!({ "sid": sid }));
        self.send_packet(&Packet::connect(namespace, data));
    }

    /// Refuses a namespace the client asked for: v5 CONNECT_ERROR
    /// `{message, data?}`, v4 ERROR with the message as a string.
    pub fn reject(&mut self, namespace: &str, message: &str, data: Option<Value>) {
        if self.namespaces.get(namespace) != Some(&false) {
            return;
        }
        self.namespaces.remove(namespace);
        let packet = match self.version() {
            SioVersion::V5 => Packet::connect_error(namespace, message, data),
            SioVersion::V4 => Packet::error_v4(namespace, message),
        };
        self.send_packet(&packet);
    }

    /// Emits an event to a joined namespace.
    pub fn emit(
        &mut self,
        namespace: &str,
        name: &str,
        args: Vec<Data>,
        ack: Option<u64>,
    ) -> Result<(), CloseReason> {
        self.send_encoded(&Encoded::event(namespace, name, args, ack))
    }

    /// Answers an event's ack id.
    pub fn ack(&mut self, namespace: &str, id: u64, args: Vec<Data>) -> Result<(), CloseReason> {
        self.send_encoded(&Encoded::new(&FullPacket {
            packet_type: PacketType::Ack,
            namespace: namespace.to_owned(),
            id: Some(id),
            data: Some(Data::Array(args)),
        }))
    }

    /// Queues a packet encoded once (a broadcast). A full queue closes the
    /// connection and returns [`CloseReason::QueueFull`].
    pub fn send_encoded(&mut self, encoded: &Encoded) -> Result<(), CloseReason> {
        for frame in &encoded.frames {
            self.engine.send(frame.clone())?;
        }
        Ok(())
    }

    /// Makes the client leave a namespace (DISCONNECT).
    pub fn disconnect(&mut self, namespace: &str) {
        if self.namespaces.remove(namespace).is_some() {
            self.send_packet(&Packet::disconnect(namespace));
        }
    }

    /// Closes the connection after what is queued.
    pub fn close(&mut self, now: Duration) {
        self.engine.close(now);
    }

    /// When to call [`handle_timeout`](Self::handle_timeout).
    pub fn poll_timeout(&self) -> Option<Duration> {
        [self.engine.poll_timeout(), self.connect_deadline]
            .into_iter()
            .flatten()
            .min()
    }

    /// Runs the timers due at `now`: the Engine.IO ones and the connect timeout.
    pub fn handle_timeout(&mut self, now: Duration) {
        if self.connect_deadline.is_some_and(|t| now >= t) {
            self.connect_deadline = None;
            self.end(CloseReason::ConnectTimeout);
            self.engine.close(now);
        }
        self.engine.handle_timeout(now);
    }

    /// What the driver sends next (see [`ServerSession::poll_transmit`]).
    pub fn poll_transmit(&mut self, now: Duration) -> Option<super::engineio::ServerTransmit> {
        self.engine.poll_transmit(now)
    }

    /// What happened: Engine.IO messages decoded into Socket.IO events.
    pub fn poll_event(&mut self, now: Duration) -> Option<ServerSioEvent> {
        while self.events.is_empty() {
            let Some(event) = self.engine.poll_event() else {
                return super::pop_or_free(&mut self.events);
            };
            match event {
                ServerEvent::Message(data) => match self.inbound.push(data) {
                    Ok(Some(packet)) => self.dispatch(now, packet),
                    Ok(None) => {}
                    Err(reason) => self.fail(now, reason),
                },
                ServerEvent::Closed(reason) => self.end(reason),
                ServerEvent::Upgraded | ServerEvent::UpgradeFailed(_) => {}
            }
        }
        self.events.pop_front()
    }

    fn dispatch(&mut self, now: Duration, packet: FullPacket) {
        if self.closed {
            return;
        }
        let ns = packet.namespace.clone();
        let joined = self.namespaces.get(&ns).copied();
        match (packet.packet_type, joined) {
            (PacketType::Connect, None) => {
                let auth = packet.data.map(to_json);
                self.namespaces.insert(ns.clone(), false);
                self.events.push_back(ServerSioEvent::Connect {
                    namespace: ns,
                    auth,
                });
            }
            (PacketType::Event, Some(true)) => match split_args(packet.data, true) {
                Some((name, args)) => self.events.push_back(ServerSioEvent::Event {
                    namespace: ns,
                    name,
                    args,
                    ack: packet.id,
                }),
                None => self.fail(now, CloseReason::UnexpectedPacket("malformed event")),
            },
            (PacketType::Ack, Some(true)) => match (split_args(packet.data, false), packet.id) {
                (Some((_, args)), Some(id)) => self.events.push_back(ServerSioEvent::Ack {
                    namespace: ns,
                    id,
                    args,
                }),
                _ => self.fail(now, CloseReason::UnexpectedPacket("malformed ack")),
            },
            (PacketType::Disconnect, Some(_)) => {
                self.namespaces.remove(&ns);
                self.events
                    .push_back(ServerSioEvent::Disconnect { namespace: ns });
            }
            (PacketType::Connect, Some(_)) => {
                self.fail(now, CloseReason::UnexpectedPacket("second CONNECT"))
            }
            (PacketType::ConnectError, _) => {
                self.fail(now, CloseReason::UnexpectedPacket("CONNECT_ERROR"))
            }
            _ => self.fail(
                now,
                CloseReason::UnexpectedPacket("packet for a namespace not joined"),
            ),
        }
    }

    fn send_packet(&mut self, packet: &Packet) {
        // A control packet that does not fit closes the connection, which
        // `Closed` then reports.
        let _ = self.send_encoded(&Encoded::packet(packet));
    }

    /// A rule broken by the client: the Engine.IO session is closed at once.
    fn fail(&mut self, now: Duration, reason: CloseReason) {
        self.end(reason);
        self.engine.close(now);
    }

    fn end(&mut self, reason: CloseReason) {
        if !self.closed {
            self.closed = true;
            self.namespaces.clear();
            self.events.push_back(ServerSioEvent::Closed(reason));
        }
    }
}

/// A JSON value of data that carries no binary (auth, CONNECT data).
fn to_json(d: Data) -> Value {
    match d {
        Data::Null | Data::Binary(_) => Value::Null,
        Data::Bool(b) => Value::Bool(b),
        Data::Number(n) => Value::Number(n),
        Data::String(s) => Value::String(s),
        Data::Array(a) => Value::Array(a.into_iter().map(to_json).collect()),
        Data::Object(o) => Value::Object(o.into_iter().map(|(k, v)| (k, to_json(v))).collect()),
    }
}

/// What happened on a client connection.
#[derive(Debug, Clone, PartialEq)]
pub enum ClientSioEvent {
    /// The server admitted the client to a namespace (v5: with `{sid}`).
    Connected {
        /// The namespace.
        namespace: String,
        /// The CONNECT payload.
        data: Option<Value>,
    },
    /// The server refused a namespace: v5 `{message, data?}`, v4 any JSON.
    ConnectError {
        /// The namespace.
        namespace: String,
        /// The payload.
        data: Option<Value>,
    },
    /// An event from the server.
    Event {
        /// The namespace.
        namespace: String,
        /// The event's name.
        name: String,
        /// Its arguments.
        args: Vec<Data>,
        /// The ack id to answer with [`ClientConnection::ack`].
        ack: Option<u64>,
    },
    /// The answer to an event emitted with an ack id: only for an id
    /// [`ClientConnection::emit`] returned in this namespace, once, and not
    /// after the namespace was left.
    Ack {
        /// The namespace.
        namespace: String,
        /// The ack id.
        id: u64,
        /// Its arguments.
        args: Vec<Data>,
    },
    /// The server made the client leave a namespace.
    Disconnect {
        /// The namespace.
        namespace: String,
    },
    /// The connection ended.
    Closed(CloseReason),
}

/// The client end of one Socket.IO connection.
#[derive(Debug)]
pub struct ClientConnection {
    engine: ClientSession,
    inbound: Inbound,
    next_ack: u64,
    /// Ack ids emitted and not answered yet, with their namespace.
    awaiting: BTreeMap<u64, String>,
    events: VecDeque<ClientSioEvent>,
    closed: bool,
}

impl ClientConnection {
    /// Socket.IO over this Engine.IO client session.
    pub fn new(engine: ClientSession, version: SioVersion, config: Config) -> ClientConnection {
        ClientConnection {
            engine,
            inbound: Inbound {
                version,
                config,
                pending: None,
            },
            next_ack: 0,
            awaiting: BTreeMap::new(),
            events: VecDeque::new(),
            closed: false,
        }
    }

    /// The Engine.IO session, to feed it what arrived.
    pub fn engine_mut(&mut self) -> &mut ClientSession {
        &mut self.engine
    }

    /// The Engine.IO session.
    pub fn engine(&self) -> &ClientSession {
        &self.engine
    }

    /// Closes the connection after what is queued (a close packet).
    pub fn close(&mut self, now: Duration) {
        self.engine.close(now);
    }

    /// Asks to join a namespace (v5 with an auth object).
    pub fn connect(&mut self, namespace: &str, auth: Option<Value>) {
        self.send(Encoded::packet(&Packet::connect(namespace, auth)));
    }

    /// Emits an event; with `want_ack` it carries a new ack id, returned.
    pub fn emit(
        &mut self,
        namespace: &str,
        name: &str,
        args: Vec<Data>,
        want_ack: bool,
    ) -> Option<u64> {
        let id = want_ack.then(|| {
            let id = self.next_ack;
            self.next_ack += 1;
            if !self.closed {
                self.awaiting.insert(id, namespace.to_owned());
            }
            id
        });
        self.send(Encoded::event(namespace, name, args, id));
        id
    }

    /// How many acks are awaited: ids emitted with an ack and not answered
    /// yet, in a namespace not left since.
    pub fn awaiting_acks(&self) -> usize {
        self.awaiting.len()
    }

    /// Answers an event's ack id.
    pub fn ack(&mut self, namespace: &str, id: u64, args: Vec<Data>) {
        self.send(Encoded::new(&FullPacket {
            packet_type: PacketType::Ack,
            namespace: namespace.to_owned(),
            id: Some(id),
            data: Some(Data::Array(args)),
        }));
    }

    /// Leaves a namespace; the acks awaited there are no longer awaited.
    pub fn disconnect(&mut self, namespace: &str) {
        self.awaiting.retain(|_, ns| ns != namespace);
        self.send(Encoded::packet(&Packet::disconnect(namespace)));
    }

    /// Queues a packet's frames in the Engine.IO session, which holds them
    /// until its handshake is done; a full queue ends the connection
    /// ([`CloseReason::QueueFull`], reported as [`ClientSioEvent::Closed`]).
    fn send(&mut self, encoded: Encoded) {
        for frame in encoded.frames {
            if let Err(reason) = self.engine.send(frame) {
                self.end(reason);
                return;
            }
        }
    }

    /// When to call [`handle_timeout`](Self::handle_timeout).
    pub fn poll_timeout(&self) -> Option<Duration> {
        self.engine.poll_timeout()
    }

    /// Runs the timers due at `now`.
    pub fn handle_timeout(&mut self, now: Duration) {
        self.engine.handle_timeout(now);
    }

    /// What the driver does next (see [`ClientSession::poll_transmit`]).
    pub fn poll_transmit(&mut self, now: Duration) -> Option<super::engineio::ClientTransmit> {
        self.engine.poll_transmit(now)
    }

    /// What happened.
    pub fn poll_event(&mut self, now: Duration) -> Option<ClientSioEvent> {
        while self.events.is_empty() {
            match self.engine.poll_event()? {
                ClientEvent::Opened(_) => {}
                ClientEvent::Message(data) => match self.inbound.push(data) {
                    Ok(Some(packet)) => self.dispatch(packet),
                    Ok(None) => {}
                    Err(reason) => {
                        self.end(reason);
                        self.engine.close(now);
                    }
                },
                ClientEvent::Closed(reason) => self.end(reason),
                ClientEvent::Upgraded
                | ClientEvent::UpgradeFailed(_)
                | ClientEvent::Packet(..)
                | ClientEvent::Probed => {}
            }
        }
        self.events.pop_front()
    }

    fn dispatch(&mut self, packet: FullPacket) {
        let namespace = packet.namespace;
        let event = match packet.packet_type {
            PacketType::Connect => ClientSioEvent::Connected {
                namespace,
                data: packet.data.map(to_json),
            },
            PacketType::ConnectError => ClientSioEvent::ConnectError {
                namespace,
                data: packet.data.map(to_json),
            },
            PacketType::Disconnect => {
                self.awaiting.retain(|_, ns| *ns != namespace);
                ClientSioEvent::Disconnect { namespace }
            }
            PacketType::Event | PacketType::BinaryEvent => {
                let Some((name, args)) = split_args(packet.data, true) else {
                    return;
                };
                ClientSioEvent::Event {
                    namespace,
                    name,
                    args,
                    ack: packet.id,
                }
            }
            PacketType::Ack | PacketType::BinaryAck => {
                let (Some((_, args)), Some(id)) = (split_args(packet.data, false), packet.id)
                else {
                    return;
                };
                // Only the answer to an emit of this namespace still
                // awaited is handed out, once; any other ack is ignored,
                // as socket.io-client ignores an ack it has no callback for.
                if self.awaiting.get(&id) != Some(&namespace) {
                    return;
                }
                self.awaiting.remove(&id);
                ClientSioEvent::Ack {
                    namespace,
                    id,
                    args,
                }
            }
        };
        self.events.push_back(event);
    }

    fn end(&mut self, reason: CloseReason) {
        if !self.closed {
            self.closed = true;
            self.awaiting.clear();
            self.events.push_back(ClientSioEvent::Closed(reason));
        }
    }
}

/// Room membership per namespace: who a broadcast goes to.
#[derive(Debug, Clone)]
pub struct Rooms<K: Ord + Clone> {
    members: BTreeMap<(String, String), BTreeSet<K>>,
    joined: BTreeMap<K, BTreeSet<(String, String)>>,
}

impl<K: Ord + Clone> Default for Rooms<K> {
    fn default() -> Self {
        Rooms {
            members: BTreeMap::new(),
            joined: BTreeMap::new(),
        }
    }
}

impl<K: Ord + Clone> Rooms<K> {
    /// No rooms.
    pub fn new() -> Rooms<K> {
        Rooms::default()
    }

    /// Puts `member` in a room of a namespace.
    pub fn join(&mut self, member: K, namespace: &str, room: &str) {
        let key = (namespace.to_owned(), room.to_owned());
        self.members
            .entry(key.clone())
            .or_default()
            .insert(member.clone());
        self.joined.entry(member).or_default().insert(key);
    }

    /// Takes `member` out of a room.
    pub fn leave(&mut self, member: &K, namespace: &str, room: &str) {
        let key = (namespace.to_owned(), room.to_owned());
        if let Some(set) = self.members.get_mut(&key) {
            set.remove(member);
            if set.is_empty() {
                self.members.remove(&key);
            }
        }
        if let Some(rooms) = self.joined.get_mut(member) {
            rooms.remove(&key);
            if rooms.is_empty() {
                self.joined.remove(member);
            }
        }
    }

    /// Takes `member` out of every room (it disconnected).
    pub fn leave_all(&mut self, member: &K) {
        for (ns, room) in self.joined.remove(member).unwrap_or_default() {
            let key = (ns, room);
            if let Some(set) = self.members.get_mut(&key) {
                set.remove(member);
                if set.is_empty() {
                    self.members.remove(&key);
                }
            }
        }
    }

    /// The rooms `member` is in, in a namespace.
    pub fn rooms_of<'a>(&'a self, member: &K, namespace: &'a str) -> impl Iterator<Item = &'a str> {
        self.joined
            .get(member)
            .into_iter()
            .flatten()
            .filter(move |(ns, _)| ns == namespace)
            .map(|(_, room)| room.as_str())
    }

    /// The members of a room, `except` left out (the sender of a broadcast).
    pub fn recipients(&self, namespace: &str, room: &str, except: Option<&K>) -> Vec<K> {
        self.members
            .get(&(namespace.to_owned(), room.to_owned()))
            .into_iter()
            .flatten()
            .filter(|k| Some(*k) != except)
            .cloned()
            .collect()
    }
}

/// Queues one encoded packet to each recipient; returns those closed
/// because their queue was full, with the reason.
pub fn broadcast<'a, K: 'a>(
    encoded: &Encoded,
    recipients: impl IntoIterator<Item = (K, &'a mut ServerConnection)>,
) -> Vec<(K, CloseReason)> {
    let mut failed = Vec::new();
    for (key, conn) in recipients {
        if let Err(reason) = conn.send_encoded(encoded) {
            failed.push((key, reason));
        }
    }
    failed
}
