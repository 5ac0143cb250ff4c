//! A rust_socketio client that hands over the events it was told to listen to, in order.

use ::rust_socketio::asynchronous::{Client, ClientBuilder};
use ::rust_socketio::{Payload, TransportType};
use futures_util::FutureExt;
use serde_json::Value;
use tokio::sync::mpsc;

use super::WAIT;

/// A connected client and what it receives: the event and its first argument.
pub struct Stock {
    client: Client,
    rx: mpsc::UnboundedReceiver<(String, Value)>,
}

impl Stock {
    /// Connects to `url` over WebSocket, listening to `events`.
    pub async fn connect(url: &str, events: &[&'static str]) -> Stock {
        let (tx, rx) = mpsc::unbounded_channel();
        let mut builder = ClientBuilder::new(url)
            .transport_type(TransportType::Websocket)
            .reconnect(false);
        for &name in events {
            let tx = tx.clone();
            builder = builder.on(name, move |payload: Payload, _: Client| {
                let first = match payload {
                    Payload::Text(mut args) if !args.is_empty() => args.swap_remove(0),
                    other => Value::String(format!("{other:?}")),
                };
                // The receiver outlives the client; a send after the test ended is moot.
                let _ = tx.send((name.to_owned(), first));
                async {}.boxed()
            });
        }
        let client = tokio::time::timeout(WAIT, builder.connect())
            .await
            .expect("rust_socketio connects in time")
            .expect("rust_socketio connects");
        Stock { client, rx }
    }

    /// Emits `name` with the one argument `arg`.
    pub async fn emit(&self, name: &str, arg: Value) {
        self.client
            .emit(name, Payload::Text(vec![arg]))
            .await
            .unwrap_or_else(|e| panic!("could not emit {name}: {e}"));
    }

    /// The next event, which must be `name`; its argument.
    pub async fn next(&mut self, name: &str) -> Value {
        let (got, arg) = tokio::time::timeout(WAIT, self.rx.recv())
            .await
            .unwrap_or_else(|_| panic!("no {name} within {WAIT:?}"))
            .expect("the client's handlers are gone");
        assert_eq!(got, name, "expected {name}, got {got} {arg}");
        arg
    }

    /// Emits `name` with `arg` and returns the next event, which must be `answer`.
    pub async fn request(&mut self, name: &str, arg: Value, answer: &str) -> Value {
        self.emit(name, arg).await;
        self.next(answer).await
    }

    /// Disconnects (whether the close reaches the server is not what the tests check).
    pub async fn close(self) {
        let _ = tokio::time::timeout(WAIT, self.client.disconnect()).await;
    }
}
