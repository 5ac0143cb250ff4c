//! Structure-aware fuzzing of the Socket.IO client connection (`session::socketio::ClientConnection`), quinn-proto style.
//!
//! An [`Arbitrary`] sequence of operations drives one client end in memory
//! on a simulated clock over WebSocket (Engine.IO 3 or 4): what its
//! application does (join and leave namespaces, emit with and without ack
//! ids and attachments, answer the server's events, close) and what the
//! server sends (the handshake, CONNECT, CONNECT_ERROR, DISCONNECT,
//! events with ack ids, acks to any id, binary packets and their
//! attachments, pings, raw frames, the WebSocket ending), every transmit
//! and event drained after every step. Checked after every step: no panic;
//! an ack is handed to the application only for an id it emitted, in that
//! namespace, and at most once; the application's own answers go out once
//! each and nothing else answers the server's ids; at most one `Closed`
//! and nothing after it, nothing sent after it but the Engine.IO close
//! packet; no frame without a
//! WebSocket; the acks awaited exactly those emitted and unanswered in a
//! namespace not left, none after the close; no timer left due after
//! `handle_timeout`.

use std::collections::BTreeMap;
use std::time::Duration;

use arbitrary::{Arbitrary, Unstructured};

use super::session::Ns;
use crate::engineio::{EioVersion, Handshake, Packet as EioPacket, PacketType as EioType};
use crate::session::engineio::{ClientConfig, ClientSession, ClientTransmit};
use crate::session::socketio::{ClientConnection, ClientSioEvent, Config as SioConfig};
use crate::session::{Transport, WsFrame};
use crate::socketio::{Data, FullPacket, Packet, PacketType, SioVersion};

/// Operations in one input; more are ignored.
const MAX_OPS: usize = 256;

/// An ack id the server answers: one the client emitted (the `n`th still
/// awaited), or any.
#[derive(Arbitrary, Debug)]
enum AckId {
    Awaited(u8),
    Any(u64),
}

/// A Socket.IO packet from the server.
#[derive(Arbitrary, Debug)]
enum ServerPacket {
    Connect {
        ns: Ns,
        sid: bool,
    },
    ConnectError {
        ns: Ns,
        /// v5's `{message}`, or a bare string (v4's ERROR, python-socketio's v5 slip).
        object: bool,
    },
    Disconnect(Ns),
    Event {
        ns: Ns,
        ack: Option<u64>,
        attachments: Vec<Vec<u8>>,
    },
    Ack {
        ns: Ns,
        id: AckId,
        attachments: Vec<Vec<u8>>,
    },
}

/// What the server and the application do.
#[derive(Arbitrary, Debug)]
enum Op {
    /// The WebSocket the client asked for opens, or is refused.
    WsOpened,
    WsRefused,
    /// The server's open packet.
    Handshake {
        ping_interval: u16,
        ping_timeout: u16,
    },
    /// A Socket.IO packet from the server (its attachments as binary frames).
    Packet(ServerPacket),
    /// Only the text part of a binary packet: its attachments never come.
    TextPartOnly(ServerPacket),
    EioPing,
    EioClose,
    Raw(String),
    RawBinary(Vec<u8>),
    WsClosed,
    /// The application joins a namespace (v5: with an auth object).
    Connect {
        ns: Ns,
        auth: bool,
    },
    /// The application emits, with an ack id or not, with an attachment or not.
    Emit {
        ns: Ns,
        ack: bool,
        attachment: Option<Vec<u8>>,
    },
    /// The application answers the `n`th event of the server still owed an answer.
    Answer(u8),
    /// The application leaves a namespace.
    Disconnect(Ns),
    Close,
    Advance(u16),
}

#[derive(Arbitrary, Debug)]
struct Input {
    /// Engine.IO 4 and Socket.IO v5, or Engine.IO 3 and v4.
    v5: bool,
    /// Tiny bounds: two attachments, 64 bytes of them buffered.
    small: bool,
    ops: Vec<Op>,
}

/// The checks of one client connection.
struct Model {
    now: Duration,
    version: EioVersion,
    ws_opening: bool,
    websocket: bool,
    closed: bool,
    /// The Engine.IO close packet went out after `Closed` (the one frame that may).
    close_sent: bool,
    /// Ack ids the application emitted and has no answer to, with their namespace.
    awaited: BTreeMap<u64, String>,
    /// Events of the server with an ack id the application has not answered.
    owed: Vec<(String, u64)>,
    /// Answers the application made and that have not gone out yet.
    answers: Vec<(String, u64)>,
}

impl Model {
    fn drain(&mut self, conn: &mut ClientConnection) {
        // As a driver does: until nothing is left to send, to report or to
        // run (an event can queue a transmit: a parse error's close packet).
        for _ in 0..8 {
            let mut busy = false;
            while let Some(transmit) = conn.poll_transmit(self.now) {
                busy = true;
                match transmit {
                    ClientTransmit::OpenWebSocket(_) => {
                        assert!(
                            !self.websocket && !self.ws_opening,
                            "a second WebSocket opened"
                        );
                        self.ws_opening = true;
                    }
                    ClientTransmit::Frame(frame) => {
                        assert!(self.websocket, "a frame sent with no WebSocket open");
                        if self.closed {
                            let close = EioPacket::empty(EioType::Close).encode_text(self.version);
                            assert!(
                                !self.close_sent && frame == WsFrame::Text(close.as_str().into()),
                                "a frame sent after Closed: {frame:?}"
                            );
                            self.close_sent = true;
                        }
                        self.sent(&frame);
                    }
                    ClientTransmit::CloseWebSocket => {
                        self.websocket = false;
                        self.ws_opening = false;
                    }
                    ClientTransmit::Http(request) => {
                        panic!("an HTTP request from a WebSocket-only client: {request:?}")
                    }
                }
            }
            while let Some(event) = conn.poll_event(self.now) {
                busy = true;
                self.received(event);
            }
            match conn.poll_timeout() {
                Some(t) if t <= self.now => conn.handle_timeout(self.now),
                _ if busy => {}
                _ => break,
            }
        }
        let due = conn.poll_timeout().filter(|t| *t <= self.now);
        assert!(
            due.is_none(),
            "a timer still due after handle_timeout: {due:?} at {:?}",
            self.now
        );
        assert_eq!(
            conn.awaiting_acks(),
            self.awaited.len(),
            "{} acks awaited, {} emitted and unanswered",
            conn.awaiting_acks(),
            self.awaited.len()
        );
        if self.closed {
            assert_eq!(conn.awaiting_acks(), 0, "acks still awaited after Closed");
        }
    }

    /// A frame the client sent: an ack in it must be an answer the application made.
    fn sent(&mut self, frame: &WsFrame) {
        let WsFrame::Text(text) = frame else { return };
        let version = SioVersion::for_engine(self.version);
        let Some(packet) = text
            .strip_prefix('4')
            .and_then(|t| Packet::decode(version, t).ok())
        else {
            return;
        };
        if !matches!(packet.packet_type, PacketType::Ack | PacketType::BinaryAck) {
            return;
        }
        let id = packet.id;
        let answer = self
            .answers
            .iter()
            .position(|(ns, a)| *ns == packet.namespace && Some(*a) == id);
        assert!(
            answer.is_some(),
            "an ack {id:?} on {} that the application did not make (or twice)",
            packet.namespace
        );
        if let Some(at) = answer {
            self.answers.remove(at);
        }
    }

    fn received(&mut self, event: ClientSioEvent) {
        assert!(!self.closed, "an event after Closed: {event:?}");
        match event {
            ClientSioEvent::Ack { namespace, id, .. } => {
                let awaited = self.awaited.remove(&id);
                assert_eq!(
                    awaited.as_deref(),
                    Some(namespace.as_str()),
                    "an ack {id} on {namespace} handed out that no emit there awaits (or twice)"
                );
            }
            ClientSioEvent::Event {
                namespace,
                ack: Some(id),
                ..
            } => self.owed.push((namespace, id)),
            ClientSioEvent::Disconnect { namespace } => self.forget(&namespace),
            ClientSioEvent::Closed(_) => {
                self.closed = true;
                self.awaited.clear();
            }
            ClientSioEvent::Event { .. }
            | ClientSioEvent::Connected { .. }
            | ClientSioEvent::ConnectError { .. } => {}
        }
    }

    /// A namespace left: its acks are no longer awaited.
    fn forget(&mut self, namespace: &str) {
        self.awaited.retain(|_, ns| ns != namespace);
    }

    /// The frames of a server packet: its text part, then its attachments
    /// unless `text_only`.
    fn frames(&self, packet: &ServerPacket, text_only: bool) -> Vec<WsFrame> {
        let binary = |attachments: &[Vec<u8>]| {
            attachments
                .iter()
                .take(12)
                .map(|a| Data::Binary(a.clone()))
                .collect::<Vec<_>>()
        };
        let full = |packet_type, ns: &Ns, id, data: Vec<Data>| FullPacket {
            packet_type,
            namespace: ns.name().to_owned(),
            id,
            data: Some(Data::Array(data)),
        };
        let full = match packet {
            ServerPacket::Connect { ns, sid } => {
                let data = sid.then(|| serde_json::json!({"sid": "fuzz"}));
                return vec![self.text(&Packet::connect(ns.name(), data).encode())];
            }
            ServerPacket::ConnectError { ns, object } => {
                let packet = if *object {
                    Packet::connect_error(ns.name(), "refused", None)
                } else {
                    Packet::error_v4(ns.name(), "refused")
                };
                return vec![self.text(&packet.encode())];
            }
            ServerPacket::Disconnect(ns) => {
                return vec![self.text(&Packet::disconnect(ns.name()).encode())]
            }
            ServerPacket::Event {
                ns,
                ack,
                attachments,
            } => {
                let mut data = vec![Data::String("news".to_owned())];
                data.extend(binary(attachments));
                full(PacketType::Event, ns, *ack, data)
            }
            ServerPacket::Ack {
                ns,
                id,
                attachments,
            } => {
                let id = match id {
                    AckId::Any(id) => *id,
                    AckId::Awaited(n) => match self.awaited.keys().nth(usize::from(*n)) {
                        Some(id) => *id,
                        None => u64::from(*n),
                    },
                };
                full(PacketType::Ack, ns, Some(id), binary(attachments))
            }
        };
        let (head, parts) = full.encode();
        let mut frames = vec![self.text(&head)];
        if !text_only {
            frames.extend(
                parts.into_iter().map(|p| {
                    WsFrame::Binary(EioPacket::binary(p).encode_binary(self.version).into())
                }),
            );
        }
        frames
    }

    /// An Engine.IO message frame carrying a Socket.IO text part.
    fn text(&self, packet: &str) -> WsFrame {
        WsFrame::Text(EioPacket::message(packet).encode_text(self.version).into())
    }
}

/// Fuzz target `session_socketio_client`: a Socket.IO client connection
/// over WebSocket fed any server packets, frames and time while its
/// application joins, emits, answers and closes.
pub fn socketio_client(data: &[u8]) {
    let Ok(input) = Input::arbitrary_take_rest(Unstructured::new(data)) else {
        return;
    };
    let version = if input.v5 {
        EioVersion::V4
    } else {
        EioVersion::V3
    };
    let sio = SioConfig {
        codec: if input.small {
            crate::socketio::Config {
                max_attachments: 2,
                ..crate::socketio::Config::default()
            }
        } else {
            crate::socketio::Config::default()
        },
        max_buffered_bytes: if input.small { 64 } else { 10_000 },
        ..SioConfig::default()
    };
    let mut config = ClientConfig::new(version, Transport::WebSocket);
    config.connect_timeout = Duration::from_millis(2000);
    let mut model = Model {
        now: Duration::ZERO,
        version,
        ws_opening: false,
        websocket: false,
        closed: false,
        close_sent: false,
        awaited: BTreeMap::new(),
        owed: Vec::new(),
        answers: Vec::new(),
    };
    let engine = ClientSession::new(model.now, config);
    let mut conn = ClientConnection::new(engine, SioVersion::for_engine(version), sio);
    model.drain(&mut conn);
    for op in input.ops.iter().take(MAX_OPS) {
        let frames = match op {
            Op::WsOpened | Op::WsRefused => {
                if model.ws_opening {
                    model.ws_opening = false;
                    if matches!(op, Op::WsOpened) {
                        model.websocket = true;
                        conn.engine_mut().handle_ws_open(model.now);
                    } else {
                        conn.engine_mut().handle_ws_closed(model.now);
                    }
                }
                Vec::new()
            }
            Op::Handshake {
                ping_interval,
                ping_timeout,
            } => {
                let open = EioPacket::open(&Handshake {
                    sid: "fuzz".to_owned(),
                    upgrades: Some(Vec::new()),
                    ping_interval: u64::from(*ping_interval),
                    ping_timeout: u64::from(*ping_timeout),
                    max_payload: Some(1_000_000),
                    extra: serde_json::Map::new(),
                });
                vec![WsFrame::Text(open.encode_text(version).into())]
            }
            Op::Packet(packet) => model.frames(packet, false),
            Op::TextPartOnly(packet) => model.frames(packet, true),
            Op::EioPing => vec![WsFrame::Text(
                EioPacket::empty(EioType::Ping).encode_text(version).into(),
            )],
            Op::EioClose => vec![WsFrame::Text(
                EioPacket::empty(EioType::Close).encode_text(version).into(),
            )],
            Op::Raw(text) => vec![WsFrame::Text(text.as_str().into())],
            Op::RawBinary(bytes) => vec![WsFrame::Binary(bytes.as_slice().into())],
            Op::WsClosed => {
                if model.websocket {
                    model.websocket = false;
                    conn.engine_mut().handle_ws_closed(model.now);
                }
                Vec::new()
            }
            Op::Connect { ns, auth } => {
                let auth = auth.then(|| serde_json::json!({"token": "fuzz"}));
                conn.connect(ns.name(), auth);
                Vec::new()
            }
            Op::Emit {
                ns,
                ack,
                attachment,
            } => {
                let args = attachment.iter().map(|a| Data::Binary(a.clone())).collect();
                let id = conn.emit(ns.name(), "say", args, *ack);
                if let Some(id) = id.filter(|_| !model.closed) {
                    let before = model.awaited.insert(id, ns.name().to_owned());
                    assert!(before.is_none(), "ack id {id} issued twice");
                }
                Vec::new()
            }
            Op::Answer(n) => {
                if !model.owed.is_empty() {
                    let (ns, id) = model.owed.remove(usize::from(*n) % model.owed.len());
                    conn.ack(&ns, id, vec![Data::String("ok".to_owned())]);
                    if !model.closed {
                        model.answers.push((ns, id));
                    }
                }
                Vec::new()
            }
            Op::Disconnect(ns) => {
                conn.disconnect(ns.name());
                model.forget(ns.name());
                Vec::new()
            }
            Op::Close => {
                conn.close(model.now);
                Vec::new()
            }
            Op::Advance(ms) => {
                model.now += Duration::from_millis(u64::from(*ms));
                Vec::new()
            }
        };
        if model.websocket {
            for frame in frames {
                conn.engine_mut().handle_frame(model.now, frame);
            }
        }
        model.drain(&mut conn);
    }
}
