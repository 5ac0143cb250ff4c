//! The `echo` listener: the socket.io echo app that Socket.IO's own protocol test suites expect, on the project's own transport.
//!
//! Behaviour (each fault switch of [`EchoFault`] breaks one of these):
//! - namespaces `/` and `/custom`; any other gets CONNECT_ERROR "Invalid namespace";
//! - on connect it emits `auth` with the handshake auth object (`{}` when none);
//! - `message` is answered with `message-back` and the same arguments,
//!   binary attachments included;
//! - `message-with-ack` is acknowledged with its own arguments;
//! - rooms (the reference server's own events, for the room fan-out bench
//!   and the `socketio.*.room.*` cases; Node's and python-socketio's peers
//!   have them too): `join` with a room name puts the client in that room,
//!   `leave` takes it out, each acknowledged with `true` (`false` when the
//!   argument is not a string); `room-message` with `{"room": NAME, "data":
//!   ANY}` emits `room-message` with that same object to every member of the
//!   room, the sender included when it is one (the sender need not be),
//!   encoded once, and is acknowledged to the sender with `true` (`false`,
//!   and nothing sent, when the argument is not such an object).
//!
//! Engine.IO 4 / Socket.IO 5 and Engine.IO 3 / Socket.IO 4 clients are served
//! side by side, on HTTP long-polling and WebSocket, at `/socket.io/`; the
//! same port serves the Engine.IO echo of the engine.io-protocol test suite
//! at `/engine.io/` (every message sent back).

use std::{io, sync::Arc, time::Duration};

use axum::{extract::Request, http::StatusCode, response::IntoResponse, Router};
use protocols::engineio::EioVersion;
use protocols::session::engineio::ServerConfig;
use protocols::session::socketio::Config as SioConfig;
use protocols::session::{Data as EngineData, Outbound};
use protocols::socketio::Data;
use protocols::Protocol;
use serde_json::Value;
use tokio::net::TcpListener;

use super::{serve_socketio, BoxFuture, Listener, Shutdown};
use crate::services::Services;
use crate::socketio::{App, Event, NoDelay, Options, Socket, Transport};
use crate::{
    config::{Config, ListenerName, Profile},
    fault::Fault,
};

/// The `echo` listener, at `/socket.io/` and `/engine.io/`.
#[derive(Debug)]
pub struct Echo;

impl Listener for Echo {
    fn name(&self) -> ListenerName {
        ListenerName::Echo
    }

    fn protocol(&self) -> Protocol {
        Protocol::Socketio
    }

    fn faults(&self) -> Vec<Fault> {
        EchoFault::ALL.map(Fault::Echo).to_vec()
    }

    fn serve(
        &self,
        tcp: TcpListener,
        config: &Config,
        _services: &Services,
        shutdown: Shutdown,
    ) -> BoxFuture<'static, io::Result<()>> {
        let (router, transports) = app(config.echo.profile, &config.faults);
        serve_socketio(
            self.name(),
            NoDelay(tcp),
            router,
            transports.to_vec(),
            shutdown,
        )
    }
}

/// A fault switch of the echo listener: `--fault echo:<name>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EchoFault {
    /// Don't emit `auth` after a namespace connect.
    NoAuthEmit,
    /// Emit `auth` with `{"wrong":true}` instead of the handshake auth object.
    WrongAuth,
    /// Never answer `message` with `message-back`.
    NoMessageBack,
    /// Never acknowledge `message-with-ack`.
    NoAck,
    /// Acknowledge `message-with-ack` with the single argument `"wrong-ack"`.
    WrongAck,
    /// Echo binary attachments as arrays of numbers instead of binary attachments.
    BinaryAsNumbers,
    /// Don't serve the `/custom` namespace (it gets "Invalid namespace").
    NoCustomNamespace,
    /// Serve every namespace, so an unknown one gets no CONNECT_ERROR.
    AcceptAnyNamespace,
    /// pingInterval and pingTimeout of one hour: the server never pings
    /// during a test and never closes a silent session (`/engine.io/` too).
    NoHeartbeat,
    /// pingInterval four times the profile's; the handshake says so too (`/engine.io/` too).
    SlowPing,
    /// connectTimeout of one hour: a session that never joins a namespace is not closed.
    NoConnectTimeout,
}

impl EchoFault {
    /// Every fault switch of the echo listener.
    pub const ALL: [EchoFault; 11] = [
        EchoFault::NoAuthEmit,
        EchoFault::WrongAuth,
        EchoFault::NoMessageBack,
        EchoFault::NoAck,
        EchoFault::WrongAck,
        EchoFault::BinaryAsNumbers,
        EchoFault::NoCustomNamespace,
        EchoFault::AcceptAnyNamespace,
        EchoFault::NoHeartbeat,
        EchoFault::SlowPing,
        EchoFault::NoConnectTimeout,
    ];

    /// The name used with `--fault` and in `faults = [...]`.
    pub fn as_str(self) -> &'static str {
        match self {
            EchoFault::NoAuthEmit => "echo:no-auth-emit",
            EchoFault::WrongAuth => "echo:wrong-auth",
            EchoFault::NoMessageBack => "echo:no-message-back",
            EchoFault::NoAck => "echo:no-ack",
            EchoFault::WrongAck => "echo:wrong-ack",
            EchoFault::BinaryAsNumbers => "echo:binary-as-numbers",
            EchoFault::NoCustomNamespace => "echo:no-custom-namespace",
            EchoFault::AcceptAnyNamespace => "echo:accept-any-namespace",
            EchoFault::NoHeartbeat => "echo:no-heartbeat",
            EchoFault::SlowPing => "echo:slow-ping",
            EchoFault::NoConnectTimeout => "echo:no-connect-timeout",
        }
    }
}

/// How long "never during a test" is for the timing faults.
const NEVER: Duration = Duration::from_secs(3600);

/// The echo app's timings once its faults are applied.
fn effective_profile(profile: Profile, faults: &[Fault]) -> Profile {
    let has = |f: EchoFault| faults.contains(&Fault::Echo(f));
    let mut p = profile;
    let never = NEVER.as_millis() as u64;
    if has(EchoFault::SlowPing) {
        p.ping_interval_ms = p.ping_interval_ms.saturating_mul(4);
    }
    if has(EchoFault::NoHeartbeat) {
        p.ping_interval_ms = never;
        p.ping_timeout_ms = never;
    }
    if has(EchoFault::NoConnectTimeout) {
        p.connect_timeout_ms = never;
    }
    p
}

/// The transport options of a profile: the profile's timings and payload
/// size, Engine.IO 3 and 4 (every Socket.IO listener's).
pub(crate) fn options(p: Profile) -> Options {
    Options {
        engine: ServerConfig {
            ping_interval: p.ping_interval(),
            ping_timeout: p.ping_timeout(),
            max_payload: usize::try_from(p.max_payload).unwrap_or(usize::MAX),
            ..ServerConfig::default()
        },
        socketio: SioConfig {
            connect_timeout: p.connect_timeout(),
            ..SioConfig::default()
        },
        versions: vec![EioVersion::V3, EioVersion::V4],
    }
}

/// The echo app: an HTTP router serving `/socket.io/` and `/engine.io/`,
/// and the transports whose sessions close on shutdown.
fn app(profile: Profile, faults: &[Fault]) -> (Router, [Transport; 2]) {
    let options = options(effective_profile(profile, faults));
    let socketio = Transport::socketio(
        Arc::new(EchoApp {
            faults: faults.to_vec(),
        }),
        options.clone(),
    );
    // The Engine.IO echo: every message sent back as it came.
    let engine = Transport::engine(
        Arc::new(|data| {
            Some(match data {
                EngineData::Text(t) => Outbound::text(&t),
                EngineData::Binary(b) => Outbound::binary(b),
            })
        }),
        options,
    );
    let (sio, eio) = (socketio.clone(), engine.clone());
    let router = Router::new().fallback(move |req: Request| {
        let (sio, eio) = (sio.clone(), eio.clone());
        async move {
            match req.uri().path() {
                "/socket.io/" | "/socket.io" => sio.handle(req).await,
                "/engine.io/" | "/engine.io" => eio.handle(req).await,
                _ => StatusCode::NOT_FOUND.into_response(),
            }
        }
    });
    (router, [socketio, engine])
}

/// The echo app, with the fault switches it was started with.
#[derive(Debug)]
struct EchoApp {
    faults: Vec<Fault>,
}

impl EchoApp {
    fn has(&self, fault: EchoFault) -> bool {
        self.faults.contains(&Fault::Echo(fault))
    }

    /// The arguments to send back for `args`.
    fn echo(&self, args: Vec<Data>) -> Vec<Data> {
        if self.has(EchoFault::BinaryAsNumbers) {
            args.into_iter().map(binary_as_numbers).collect()
        } else {
            args
        }
    }
}

impl App for EchoApp {
    fn on_connect(&self, socket: &mut Socket<'_>, auth: Option<&Value>) -> Result<(), String> {
        let served = match socket.namespace() {
            "/" => true,
            "/custom" => !self.has(EchoFault::NoCustomNamespace),
            _ => self.has(EchoFault::AcceptAnyNamespace),
        };
        if !served {
            return Err("Invalid namespace".to_owned());
        }
        let auth = match auth {
            None => Value::Object(Default::default()),
            Some(a) if a.is_object() => a.clone(),
            // Node closes the connection on such a payload (a decoding error).
            Some(_) => return Err("Invalid handshake payload".to_owned()),
        };
        if !self.has(EchoFault::NoAuthEmit) {
            let auth = if self.has(EchoFault::WrongAuth) {
                serde_json::json!({ "wrong": true })
            } else {
                auth
            };
            socket.emit("auth", vec![Data::from(auth)]);
        }
        Ok(())
    }

    fn on_event(&self, socket: &mut Socket<'_>, event: Event) {
        match (event.name.as_str(), event.ack) {
            ("message", _) if !self.has(EchoFault::NoMessageBack) => {
                socket.emit("message-back", self.echo(event.args));
            }
            ("message-with-ack", Some(id)) => {
                if self.has(EchoFault::WrongAck) {
                    socket.ack(id, vec![Data::String("wrong-ack".to_owned())]);
                } else if !self.has(EchoFault::NoAck) {
                    socket.ack(id, self.echo(event.args));
                }
            }
            ("join", ack) => {
                let room = room_name(&event.args);
                if let Some(room) = room {
                    socket.join(room);
                }
                answer(socket, ack, room.is_some());
            }
            ("leave", ack) => {
                let room = room_name(&event.args);
                if let Some(room) = room {
                    socket.leave(room);
                }
                answer(socket, ack, room.is_some());
            }
            ("room-message", ack) => {
                let message = event.args.into_iter().next();
                let room = match &message {
                    Some(Data::Object(fields)) => match fields.get("room") {
                        Some(Data::String(room)) => Some(room.clone()),
                        _ => None,
                    },
                    _ => None,
                };
                if let (Some(room), Some(message)) = (&room, message) {
                    socket.to_room(room, "room-message", vec![message]);
                }
                answer(socket, ack, room.is_some());
            }
            _ => {}
        }
    }
}

/// The room a `join` or `leave` names: its first argument, a string.
fn room_name(args: &[Data]) -> Option<&str> {
    match args.first() {
        Some(Data::String(room)) => Some(room),
        _ => None,
    }
}

/// Acknowledges a room event with `ok`, when the client asked for an answer.
fn answer(socket: &mut Socket<'_>, ack: Option<u64>, ok: bool) {
    if let Some(id) = ack {
        socket.ack(id, vec![Data::Bool(ok)]);
    }
}

/// `value` with every binary blob replaced by an array of its bytes as numbers.
fn binary_as_numbers(value: Data) -> Data {
    match value {
        Data::Binary(bytes) => {
            Data::Array(bytes.into_iter().map(|b| Data::Number(b.into())).collect())
        }
        Data::Array(items) => Data::Array(items.into_iter().map(binary_as_numbers).collect()),
        Data::Object(entries) => Data::Object(
            entries
                .into_iter()
                .map(|(k, v)| (k, binary_as_numbers(v)))
                .collect(),
        ),
        other => other,
    }
}
