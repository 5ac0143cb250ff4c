//! The socketioxide peer: the echo app of Socket.IO's own protocol test suites on socketioxide / engineioxide 0.15.2.
//!
//! This was the chatspec reference server's echo app before the project
//! had a transport of its own; it stays as a peer, its findings kept in
//! `reports/expectations/socketioxide.toml`. The same behaviour and test
//! profile as the other peers (pingInterval 300, pingTimeout 200,
//! maxPayload 1000000, connectTimeout 1000): namespaces `/` and `/custom`,
//! `auth` on connect, `message` -> `message-back`, `message-with-ack`
//! acknowledged with its own arguments; Engine.IO 3 and 4; the Engine.IO
//! echo at `/engine.io/`; and the reference server's room events (`join`,
//! `leave`, `room-message` to every member of the room, the sender
//! included), for the room fan-out bench and the `socketio.*.room.*` cases.
//!
//! `PING_INTERVAL` and `PING_TIMEOUT` (milliseconds) replace the test
//! profile's heartbeat, as the Node peer's do (the bench runs the servers
//! with Socket.IO's documented defaults, 25000 and 20000).
//!
//! Usage: socketioxide-echo-peer [PORT]   (or PORT=...; HOST=..., default 127.0.0.1)

use std::{fmt, sync::Arc, time::Duration};

use axum::Router;
use bytes::Bytes;
use engineioxide::{
    config::EngineIoConfig, handler::EngineIoHandler, service::EngineIoService, DisconnectReason,
    Socket, Str,
};
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

const PING_INTERVAL_MS: u64 = 300;
const PING_TIMEOUT_MS: u64 = 200;
const MAX_PAYLOAD: u64 = 1_000_000;
const CONNECT_TIMEOUT: Duration = Duration::from_millis(1000);

#[tokio::main]
async fn main() -> std::io::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let port: u16 = std::env::args()
        .nth(1)
        .or_else(|| std::env::var("PORT").ok())
        .map(|p| p.parse().expect("PORT is a port number"))
        .unwrap_or(3000);
    let host = std::env::var("HOST").unwrap_or_else(|_| "127.0.0.1".to_owned());
    let ping_interval = millis_from_env("PING_INTERVAL", PING_INTERVAL_MS);
    let ping_timeout = millis_from_env("PING_TIMEOUT", PING_TIMEOUT_MS);

    let (svc, io) = SocketIo::builder()
        .ping_interval(ping_interval)
        .ping_timeout(ping_timeout)
        .max_payload(MAX_PAYLOAD)
        .connect_timeout(CONNECT_TIMEOUT)
        .build_svc();
    io.ns("/", on_connect.with(auth_is_object));
    io.ns("/custom", on_connect.with(auth_is_object));

    // One service for every request: each `Layer::layer` call would make an
    // engine with its own session table.
    let router = Router::new()
        .route_service("/engine.io/", engine_echo(ping_interval, ping_timeout))
        .fallback_service(svc);
    let tcp = tokio::net::TcpListener::bind((host.as_str(), port)).await?;
    println!(
        "socketioxide 0.15.2 echo listening on {}",
        tcp.local_addr()?
    );
    axum::serve(tcp, router)
        .with_graceful_shutdown(async move {
            let _ = tokio::signal::ctrl_c().await;
            let _ = tokio::time::timeout(Duration::from_secs(5), io.close()).await;
        })
        .await
}

/// A duration in milliseconds from the environment variable `name`, or `default`.
fn millis_from_env(name: &str, default: u64) -> Duration {
    let ms = match std::env::var(name) {
        Ok(v) => v
            .parse()
            .unwrap_or_else(|_| panic!("{name} is a number of milliseconds, not {v:?}")),
        Err(_) => default,
    };
    Duration::from_millis(ms)
}

/// The Engine.IO echo service at `/engine.io/`.
fn engine_echo(ping_interval: Duration, ping_timeout: Duration) -> EngineIoService<EngineEcho> {
    let config = EngineIoConfig::builder()
        .req_path("/engine.io")
        .ping_interval(ping_interval)
        .ping_timeout(ping_timeout)
        .max_payload(MAX_PAYLOAD)
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
fn on_connect(socket: SocketRef, Data(auth): Data<serde_json::Value>) {
    socket.on("message", |socket: SocketRef, Data(args): Data<Args>| {
        // socketioxide's per-socket buffer can be full; the error is
        // ignored, as the reference server's echo app used to.
        socket.emit("message-back", &args).ok();
    });
    socket.on(
        "message-with-ack",
        |Data(args): Data<Args>, ack: AckSender| {
            ack.send(&args).ok();
        },
    );
    // Rooms: each event acknowledged with true, or false when its argument
    // is not what it takes; room-message reaches every member, the sender too.
    socket.on(
        "join",
        |socket: SocketRef, Data(args): Data<Args>, ack: AckSender| {
            let room = room_name(&args);
            if let Some(room) = &room {
                // The local adapter's join cannot fail.
                socket.join(room.clone()).ok();
            }
            ack.send(&room.is_some()).ok();
        },
    );
    socket.on(
        "leave",
        |socket: SocketRef, Data(args): Data<Args>, ack: AckSender| {
            let room = room_name(&args);
            if let Some(room) = &room {
                socket.leave(room.clone()).ok();
            }
            ack.send(&room.is_some()).ok();
        },
    );
    socket.on(
        "room-message",
        |socket: SocketRef, Data(args): Data<Args>, ack: AckSender| {
            let message = args.0.into_iter().next();
            let room = message.as_ref().and_then(message_room);
            if let (Some(room), Some(message)) = (&room, &message) {
                // A member whose buffer is full misses it, as in socketioxide's own broadcasts.
                socket
                    .within(room.clone())
                    .emit("room-message", message)
                    .ok();
            }
            ack.send(&room.is_some()).ok();
        },
    );
    // The Node server writes the CONNECT answer and `auth` in two
    // WebSocket writes; written together, they reach a client in one read,
    // and the socket.io-protocol test suite (whose `waitFor` listens for
    // one frame at a time) misses `auth`.
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(2)).await;
        socket.emit("auth", &auth).ok();
    });
}

/// The room a `join` or `leave` names: its first argument, a string.
fn room_name(args: &Args) -> Option<String> {
    args.0.first()?.as_str().map(str::to_owned)
}

/// The `room` field of a `room-message`'s object.
fn message_room(message: &rmpv::Value) -> Option<String> {
    message
        .as_map()?
        .iter()
        .find(|(k, _)| k.as_str() == Some("room"))?
        .1
        .as_str()
        .map(str::to_owned)
}

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
