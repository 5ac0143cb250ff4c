//! The socket.io echo app that Socket.IO's own protocol test suites expect, served by socketioxide.
//!
//! Behaviour (each fault switch of [`Fault`] breaks one of these):
//! - namespaces `/` and `/custom`; any other gets CONNECT_ERROR "Invalid namespace";
//! - on connect it emits `auth` with the handshake auth object (`{}` when none);
//! - `message` is answered with `message-back` and the same arguments,
//!   binary attachments included;
//! - `message-with-ack` is acknowledged with its own arguments.
//!
//! Engine.IO 4 / Socket.IO 5 and Engine.IO 3 / Socket.IO 4 clients are served
//! side by side, on HTTP long-polling and WebSocket, at `/socket.io/`; the
//! same port serves the Engine.IO echo of the engine.io-protocol test suite
//! at `/engine.io/`.

use std::{fmt, sync::Arc, time::Duration};

use axum::Router;
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

use crate::{
    config::Profile,
    engine_echo,
    fault::{effective_profile, Fault},
};

/// The echo app: an HTTP router serving `/socket.io/`, and the socket.io
/// handle that closes every session on shutdown.
pub(crate) fn app(profile: Profile, faults: &[Fault]) -> (Router, SocketIo) {
    let p = effective_profile(profile, faults);
    let (svc, io) = SocketIo::builder()
        .ping_interval(p.ping_interval())
        .ping_timeout(p.ping_timeout())
        .max_payload(p.max_payload)
        .connect_timeout(p.connect_timeout())
        .build_svc();

    let behaviour = Arc::new(Behaviour::new(faults));
    io.ns("/", on_connect(behaviour.clone()).with(auth_is_object));
    if !behaviour.has(Fault::NoCustomNamespace) {
        io.ns(
            "/custom",
            on_connect(behaviour.clone()).with(auth_is_object),
        );
    }
    if behaviour.has(Fault::AcceptAnyNamespace) {
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
        .route_service("/engine.io/", engine_echo::service(p))
        .fallback_service(svc);
    (router, io)
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

    fn has(&self, fault: Fault) -> bool {
        self.faults.contains(&fault)
    }

    /// The arguments to send back for `args`.
    fn echo(&self, args: Args) -> Args {
        if self.has(Fault::BinaryAsNumbers) {
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
                if !on_message.has(Fault::NoMessageBack) {
                    socket.emit("message-back", &on_message.echo(args)).ok();
                }
                std::future::ready(())
            },
        );

        let on_ack = b.clone();
        socket.on(
            "message-with-ack",
            move |Data(args): Data<Args>, ack: AckSender| {
                if on_ack.has(Fault::WrongAck) {
                    ack.send(&("wrong-ack",)).ok();
                } else if !on_ack.has(Fault::NoAck) {
                    ack.send(&on_ack.echo(args)).ok();
                }
                std::future::ready(())
            },
        );

        if !b.has(Fault::NoAuthEmit) {
            let auth = if b.has(Fault::WrongAuth) {
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
