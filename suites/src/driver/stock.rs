//! An off-the-shelf Socket.IO client (rust_socketio) for the cases that ask
//! "can a stock client talk to this server". The client opens its own
//! WebSocket, so it is pointed at a loopback proxy of the wire
//! ([`Wire::websocket_proxy`]) that forwards to the target: its frames are
//! recorded and what the target sends passes through the mutation layer
//! like every other driver's. The events it reports are noted beside them.

use std::time::Duration;

use futures::FutureExt;
use protocols::engineio::EioVersion;
use rust_socketio::asynchronous::{Client, ClientBuilder};
use rust_socketio::{Payload, TransportType};
use serde_json::Value;
use tokio::sync::mpsc;

use super::engineio::{EioText, Endpoint};
use super::DriverError;
use crate::wire::{Link, Wire, WsProxy};

/// What the stock client saw: an event name and its JSON arguments.
pub type Seen = (String, Vec<Value>);

/// A connected stock client and what it receives.
pub struct StockClient {
    wire: Wire,
    client: Client,
    rx: mpsc::UnboundedReceiver<Seen>,
    tx: mpsc::UnboundedSender<Seen>,
    /// The loopback proxy the client talks to; it stops when dropped.
    _proxy: WsProxy,
}

fn values(payload: &Payload) -> Vec<Value> {
    match payload {
        Payload::Text(values) => values.clone(),
        Payload::Binary(bytes) => vec![Value::String(format!("<{} bytes>", bytes.len()))],
        #[allow(deprecated)]
        Payload::String(s) => vec![Value::String(s.clone())],
    }
}

impl StockClient {
    /// Connects to `endpoint` (Engine.IO 4, over WebSocket) in `namespace`,
    /// listening for `events`. (Cases call `StockClient::connect` with their
    /// context, in the case layer.)
    pub async fn connect_at(
        link: impl Into<Link>,
        endpoint: Endpoint,
        namespace: &str,
        events: &[&str],
    ) -> Result<StockClient, DriverError> {
        if endpoint.version != EioVersion::V4 {
            return Err(DriverError::Unsupported(
                "the stock client speaks Engine.IO 4 only".into(),
            ));
        }
        let wire = link.into().open(format_args!(
            "stock client (rust_socketio) {}{namespace}",
            endpoint.base
        ));
        // The client always asks for /socket.io/: its query goes to the target's path.
        let upstream = format!(
            "{}{}",
            endpoint.base.replacen("http", "ws", 1),
            endpoint.path
        );
        let proxy = wire
            .websocket_proxy::<EioText>(move |asked: &str| {
                let query = asked.split_once('?').map_or("", |(_, q)| q);
                format!("{upstream}?{query}")
            })
            .await?;
        let (tx, rx) = mpsc::unbounded_channel();
        let mut builder = ClientBuilder::new(proxy.http_base())
            .namespace(namespace)
            .transport_type(TransportType::Websocket)
            .reconnect(false);
        for event in events {
            let tx = tx.clone();
            let wire = wire.clone();
            let name = event.to_string();
            builder = builder.on(*event, move |payload: Payload, _client: Client| {
                let seen = values(&payload);
                wire.note(format_args!(
                    "the stock client saw event {name} {}",
                    Value::Array(seen.clone())
                ));
                let _ = tx.send((name.clone(), seen));
                async {}.boxed()
            });
        }
        let client = tokio::time::timeout(wire.wait(), builder.connect())
            .await
            .map_err(|_| {
                DriverError::Timeout(format!(
                    "the stock client did not connect within {} ms",
                    wire.wait().as_millis()
                ))
            })?
            .map_err(|e| {
                DriverError::Protocol(format!("the stock client could not connect: {e}"))
            })?;
        wire.note("connected");
        Ok(StockClient {
            wire,
            client,
            rx,
            tx,
            _proxy: proxy,
        })
    }

    /// Emits an event with JSON arguments.
    pub async fn emit(&self, event: &str, args: Vec<Value>) -> Result<(), DriverError> {
        self.wire.note(format_args!(
            "the stock client emits {event} {}",
            Value::Array(args.clone())
        ));
        self.client
            .emit(event, Payload::Text(args))
            .await
            .map_err(|e| {
                DriverError::Closed(format!("the stock client could not emit {event}: {e}"))
            })
    }

    /// Emits an event asking for an ack; the ack arrives as the event `ack:<event>`.
    pub async fn emit_with_ack(&self, event: &str, args: Vec<Value>) -> Result<(), DriverError> {
        self.wire.note(format_args!(
            "the stock client emits with ack {event} {}",
            Value::Array(args.clone())
        ));
        let tx = self.tx.clone();
        let wire = self.wire.clone();
        let name = format!("ack:{event}");
        self.client
            .emit_with_ack(
                event,
                Payload::Text(args),
                self.wire.wait(),
                move |payload: Payload, _c: Client| {
                    let seen = values(&payload);
                    wire.note(format_args!(
                        "the stock client saw {name} {}",
                        Value::Array(seen.clone())
                    ));
                    let _ = tx.send((name.clone(), seen));
                    async {}.boxed()
                },
            )
            .await
            .map_err(|e| {
                DriverError::Closed(format!("the stock client could not emit {event}: {e}"))
            })
    }

    /// The next thing the client saw, within the link's wait.
    pub async fn next(&mut self) -> Result<Seen, DriverError> {
        tokio::time::timeout(self.wire.wait(), self.rx.recv())
            .await
            .ok()
            .flatten()
            .ok_or_else(|| {
                DriverError::Timeout(format!(
                    "the stock client received nothing within {} ms",
                    self.wire.wait().as_millis()
                ))
            })
    }

    /// Disconnects, waiting at most a second.
    pub async fn disconnect(self) {
        let _ = tokio::time::timeout(Duration::from_secs(1), self.client.disconnect()).await;
    }
}
