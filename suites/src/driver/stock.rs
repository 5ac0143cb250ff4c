//! An off-the-shelf Socket.IO client (rust_socketio) for the cases that ask
//! "can a stock client talk to this server". The client hides the wire, so
//! its transcript holds the events it saw, not frames; the mutation layer
//! cannot reach it (faults of the reference server can).

use std::time::Duration;

use futures::FutureExt;
use rust_socketio::asynchronous::{Client, ClientBuilder};
use rust_socketio::Payload;
use serde_json::Value;
use tokio::sync::mpsc;

use crate::case::{Ctx, Failure};
use crate::transcript::Direction;

/// What the stock client saw: an event name and its JSON arguments.
pub type Seen = (String, Vec<Value>);

/// A connected stock client and what it receives.
pub struct StockClient {
    ctx: Ctx,
    conn: u32,
    client: Client,
    rx: mpsc::UnboundedReceiver<Seen>,
    tx: mpsc::UnboundedSender<Seen>,
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
    /// Connects to the context's socketio target (Engine.IO 4) in `namespace`,
    /// listening for `events`.
    pub async fn connect(
        ctx: &Ctx,
        namespace: &str,
        events: &[&str],
    ) -> Result<StockClient, Failure> {
        let target = ctx
            .targets
            .get::<crate::target::SocketioTarget>()
            .ok_or_else(|| Failure::Unimplemented("no socketio target".into()))?;
        if !target.engineio.contains(&4) {
            return Err(Failure::Unimplemented(
                "the stock client speaks Engine.IO 4 only".into(),
            ));
        }
        if target.path != "/socket.io/" {
            return Err(Failure::Unimplemented(
                "the stock client only uses the path /socket.io/".into(),
            ));
        }
        let conn = ctx.transcript.open(format!(
            "stock client (rust_socketio) {}{namespace}",
            target.url
        ));
        let (tx, rx) = mpsc::unbounded_channel();
        let mut builder = ClientBuilder::new(target.url.clone())
            .namespace(namespace)
            .reconnect(false);
        for event in events {
            let tx = tx.clone();
            let ctx = ctx.clone();
            let name = event.to_string();
            builder = builder.on(*event, move |payload: Payload, _client: Client| {
                let seen = values(&payload);
                ctx.transcript.text(
                    conn,
                    Direction::In,
                    &format!("event {name} {}", Value::Array(seen.clone())),
                );
                let _ = tx.send((name.clone(), seen));
                async {}.boxed()
            });
        }
        let client = tokio::time::timeout(ctx.wait, builder.connect())
            .await
            .map_err(|_| {
                Failure::Broken(format!(
                    "the stock client did not connect within {} ms",
                    ctx.wait.as_millis()
                ))
            })?
            .map_err(|e| Failure::Broken(format!("the stock client could not connect: {e}")))?;
        ctx.transcript.note(conn, "connected");
        Ok(StockClient {
            ctx: ctx.clone(),
            conn,
            client,
            rx,
            tx,
        })
    }

    /// Emits an event with JSON arguments.
    pub async fn emit(&self, event: &str, args: Vec<Value>) -> Result<(), Failure> {
        self.ctx.transcript.text(
            self.conn,
            Direction::Out,
            &format!("emit {event} {}", Value::Array(args.clone())),
        );
        self.client
            .emit(event, Payload::Text(args))
            .await
            .map_err(|e| Failure::Broken(format!("the stock client could not emit {event}: {e}")))
    }

    /// Emits an event asking for an ack; the ack arrives as the event `ack:<event>`.
    pub async fn emit_with_ack(&self, event: &str, args: Vec<Value>) -> Result<(), Failure> {
        self.ctx.transcript.text(
            self.conn,
            Direction::Out,
            &format!("emit with ack {event} {}", Value::Array(args.clone())),
        );
        let tx = self.tx.clone();
        let ctx = self.ctx.clone();
        let conn = self.conn;
        let name = format!("ack:{event}");
        self.client
            .emit_with_ack(
                event,
                Payload::Text(args),
                self.ctx.wait,
                move |payload: Payload, _c: Client| {
                    let seen = values(&payload);
                    ctx.transcript.text(
                        conn,
                        Direction::In,
                        &format!("{name} {}", Value::Array(seen.clone())),
                    );
                    let _ = tx.send((name.clone(), seen));
                    async {}.boxed()
                },
            )
            .await
            .map_err(|e| Failure::Broken(format!("the stock client could not emit {event}: {e}")))
    }

    /// The next thing the client saw, within the context's wait.
    pub async fn next(&mut self) -> Result<Seen, Failure> {
        tokio::time::timeout(self.ctx.wait, self.rx.recv())
            .await
            .ok()
            .flatten()
            .ok_or_else(|| {
                Failure::Broken(format!(
                    "the stock client received nothing within {} ms",
                    self.ctx.wait.as_millis()
                ))
            })
    }

    /// Disconnects, waiting at most a second.
    pub async fn disconnect(self) {
        let _ = tokio::time::timeout(Duration::from_secs(1), self.client.disconnect()).await;
    }
}
