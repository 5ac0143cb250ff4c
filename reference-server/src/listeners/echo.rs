//! The `echo` listener: the socket.io echo app that Socket.IO's own protocol test suites expect, served by socketioxide.
//!
//! Behaviour (each fault switch of [`EchoFault`] breaks one of these):
//! - namespaces `/` and `/custom`; any other gets CONNECT_ERROR "Invalid namespace";
//! - on connect it emits `auth` with the handshake auth object (`{}` when none);
//! - `message` is answered with `message-back` and the same arguments,
//!   binary attachments included;
//! - `message-with-ack` is acknowledged with its own arguments.
//!
//! Engine.IO 4 / Socket.IO 5 and Engine.IO 3 / Socket.IO 4 clients are served
//! side by side, on HTTP long-polling and WebSocket, at `/socket.io/`; the
//! same port serves the Engine.IO echo of the engine.io-protocol test suite
//! at `/engine.io/` (every message sent back).

use std::{fmt, io, sync::Arc, time::Duration};

use axum::Router;
use bytes::Bytes;
use engineioxide::{
    config::EngineIoConfig, handler::EngineIoHandler, service::EngineIoService, DisconnectReason,
    Socket, Str,
};
use protocols::Protocol;
use serde::{
    de::{SeqAccess, Visitor},
    ser::SerializeTuple,
    Deserialize, Deserializer, Serialize, Serializer,
};
use socketioxide::{
    extract::{AckSender, Data, SocketRef},
    handler::ConnectHandler,
    SocketIo,
};
use tokio::net::TcpListener;

use super::{BoxFuture, Listener, Shutdown, GRACE};
use crate::services::Services;
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
        let (router, io) = app(config.echo.profile, &config.faults);
        Box::pin(async move {
            axum::serve(tcp, router)
                .with_graceful_shutdown(async move {
                    shutdown.requested().await;
                    if tokio::time::timeout(GRACE, io.close()).await.is_err() {
                        tracing::warn!("socket.io sessions did not close in time");
                    }
                })
                .await
        })
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

/// The echo app: an HTTP router serving `/socket.io/` and `/engine.io/`,
/// and the socket.io handle that closes every session on shutdown.
fn app(profile: Profile, faults: &[Fault]) -> (Router, SocketIo) {
    let p = effective_profile(profile, faults);
    let (svc, io) = SocketIo::builder()
        .ping_interval(p.ping_interval())
        .ping_timeout(p.ping_timeout())
        .max_payload(p.max_payload)
        .connect_timeout(p.connect_timeout())
        .build_svc();

    let behaviour = Arc::new(Behaviour::new(faults));
    io.ns("/", on_connect(behaviour.clone()).with(auth_is_object));
    if !behaviour.has(EchoFault::NoCustomNamespace) {
        io.ns(
            "/custom",
            on_connect(behaviour.clone()).with(auth_is_object),
        );
    }
    if behaviour.has(EchoFault::AcceptAnyNamespace) {
        // Consulted only for paths no static namespace serves.
        io.dyn_ns(
            "/{*rest}",
            on_connect(behaviour.clone()).with(auth_is_object),
        )
        .expect("a catch-all namespace pattern is valid");
    }

    // One service for every request: each `Layer::layer` call would make an
    // engine with its own session table, and a session would be lost
    // between two requests routed through different ones.
    let router = Router::new()
        .route_service("/engine.io/", engine_echo(p))
        .fallback_service(svc);
    (router, io)
}

/// The Engine.IO echo service at `/engine.io/`, with the timings of `profile`.
fn engine_echo(profile: Profile) -> EngineIoService<EngineEcho> {
    let config = EngineIoConfig::builder()
        .req_path("/engine.io")
        .ping_interval(profile.ping_interval())
        .ping_timeout(profile.ping_timeout())
        .max_payload(profile.max_payload)
        .build();
    EngineIoService::with_config(Arc::new(EngineEcho), config)
}

/// Sends every text and binary message back on the session it came from.
#[derive(Debug)]
struct EngineEcho;

impl EngineIoHandler for EngineEcho {
    type Data = ();

    fn on_connect(self: Arc<Self>, socket: Arc<Socket<()>>) {
        tracing::debug!(sid = %socket.id, "engine echo: connected");
    }

    fn on_disconnect(&self, socket: Arc<Socket<()>>, reason: DisconnectReason) {
        tracing::debug!(sid = %socket.id, ?reason, "engine echo: disconnected");
    }

    fn on_message(&self, msg: Str, socket: Arc<Socket<()>>) {
        socket.emit(msg).ok();
    }

    fn on_binary(&self, data: Bytes, socket: Arc<Socket<()>>) {
        socket.emit_binary(data).ok();
    }
}

/// The fault switches the handlers consult.
#[derive(Debug)]
struct Behaviour {
    faults: Vec<Fault>,
}

impl Behaviour {
    fn new(faults: &[Fault]) -> Self {
        Behaviour {
            faults: faults.to_vec(),
        }
    }

    fn has(&self, fault: EchoFault) -> bool {
        self.faults.contains(&Fault::Echo(fault))
    }

    /// The arguments to send back for `args`.
    fn echo(&self, args: Args) -> Args {
        if self.has(EchoFault::BinaryAsNumbers) {
            Args(args.0.into_iter().map(binary_as_numbers).collect())
        } else {
            args
        }
    }
}

/// Connect middleware: refuses a CONNECT whose payload is not an object.
///
/// The Node server closes the connection on such a packet (a decoding
/// error); socketioxide would accept it, so the closest it can do is a
/// CONNECT_ERROR.
fn auth_is_object(
    Data(auth): Data<serde_json::Value>,
) -> std::future::Ready<Result<(), &'static str>> {
    std::future::ready(if auth.is_object() {
        Ok(())
    } else {
        Err("Invalid handshake payload")
    })
}

/// The connect handler of every served namespace.
fn on_connect(
    b: Arc<Behaviour>,
) -> impl FnOnce(SocketRef, Data<serde_json::Value>) -> std::future::Ready<()>
       + Clone
       + Send
       + Sync
       + 'static {
    move |socket: SocketRef, Data(auth): Data<serde_json::Value>| {
        tracing::debug!(ns = socket.ns(), sid = %socket.id, "echo: connected");
        let on_message = b.clone();
        socket.on(
            "message",
            move |socket: SocketRef, Data(args): Data<Args>| {
                if !on_message.has(EchoFault::NoMessageBack) {
                    socket.emit("message-back", &on_message.echo(args)).ok();
                }
                std::future::ready(())
            },
        );

        let on_ack = b.clone();
        socket.on(
            "message-with-ack",
            move |Data(args): Data<Args>, ack: AckSender| {
                if on_ack.has(EchoFault::WrongAck) {
                    ack.send(&("wrong-ack",)).ok();
                } else if !on_ack.has(EchoFault::NoAck) {
                    ack.send(&on_ack.echo(args)).ok();
                }
                std::future::ready(())
            },
        );

        if !b.has(EchoFault::NoAuthEmit) {
            let auth = if b.has(EchoFault::WrongAuth) {
                serde_json::json!({ "wrong": true })
            } else {
                auth
            };
            // The Node server writes the CONNECT answer and `auth` in two
            // WebSocket writes; written together, they reach a client in
            // one read, and the socket.io-protocol test suite (whose
            // `waitFor` listens for one frame at a time) misses `auth`.
            tokio::spawn(async move {
                tokio::time::sleep(AUTH_DELAY).await;
                socket.emit("auth", &auth).ok();
            });
        }
        std::future::ready(())
    }
}

/// How long after the CONNECT answer `auth` is emitted.
const AUTH_DELAY: Duration = Duration::from_millis(2);

/// The arguments of an event or an ack, any number of them, binary
/// attachments kept as binary.
///
/// It (de)serializes as a tuple, which is how socketioxide tells "every
/// argument" from "the first argument".
#[derive(Debug, Clone, PartialEq)]
struct Args(Vec<rmpv::Value>);

impl Serialize for Args {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut tuple = serializer.serialize_tuple(self.0.len())?;
        for arg in &self.0 {
            tuple.serialize_element(arg)?;
        }
        tuple.end()
    }
}

impl<'de> Deserialize<'de> for Args {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ArgsVisitor;
        impl<'de> Visitor<'de> for ArgsVisitor {
            type Value = Args;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("the arguments of an event")
            }

            fn visit_seq<S: SeqAccess<'de>>(self, mut seq: S) -> Result<Args, S::Error> {
                let mut args = Vec::new();
                while let Some(arg) = seq.next_element()? {
                    args.push(arg);
                }
                Ok(Args(args))
            }
        }
        deserializer.deserialize_tuple_struct("Args", usize::MAX, ArgsVisitor)
    }
}

/// `value` with every binary blob replaced by an array of its bytes as numbers.
fn binary_as_numbers(value: rmpv::Value) -> rmpv::Value {
    use rmpv::Value;
    match value {
        Value::Binary(bytes) => Value::Array(bytes.into_iter().map(Value::from).collect()),
        Value::Array(items) => Value::Array(items.into_iter().map(binary_as_numbers).collect()),
        Value::Map(entries) => Value::Map(
            entries
                .into_iter()
                .map(|(k, v)| (k, binary_as_numbers(v)))
                .collect(),
        ),
        other => other,
    }
}
