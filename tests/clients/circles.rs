//! Stock clients against the embedded Circles app (`003_415bfb4e4fd8fc5e.txt`): two users log in with `authenticate`, join their conversation, and one sends a `message` and a `writing` notice the other receives.
//!
//! The users, their circle and conversation are provisioned through the
//! admin API first. socket.io-client 4.8 and 2.x (`peers/clients/node/circles.js`)
//! and python-socketio (`peers/clients/python/circles.py`) run as child
//! processes; rust_socketio runs in process.

use std::time::Duration;

use ::rust_socketio::asynchronous::{Client, ClientBuilder};
use ::rust_socketio::{Payload, TransportType};
use futures_util::FutureExt;
use reference_server::{Config, ListenerName, Running};
use serde_json::{json, Value};
use tokio::sync::mpsc;

use super::{node_script, python_script, run_child, server, Script, Transport};

/// What the clients get: the circles URL, two users and their conversation.
struct World {
    url: String,
    token_a: String,
    token_b: String,
    email_a: String,
    conversation: u64,
}

/// Provisions two users, a circle of both and a conversation of both.
async fn world(running: &Running) -> World {
    let admin = running
        .addrs
        .get(ListenerName::Admin)
        .expect("the admin API runs");
    let circles = running
        .addrs
        .get(ListenerName::Circles)
        .expect("the circles listener runs");
    let (secret, _) = Config::embedded().admin.resolve_secret();
    let http = reqwest::Client::new();
    let post = |path: &'static str, body: Value| {
        let request = http
            .post(format!("http://{admin}/circles{path}"))
            .bearer_auth(&secret)
            .header("content-type", "application/json")
            .body(body.to_string());
        async move {
            let reply = request.send().await.expect("the admin API answers");
            assert!(
                reply.status().is_success(),
                "POST {path}: {}",
                reply.status()
            );
            let body = reply.bytes().await.expect("the admin API's answer");
            serde_json::from_slice::<Value>(&body).expect("a JSON answer")
        }
    };
    let a = post("/users", json!({})).await;
    let b = post("/users", json!({})).await;
    let circle = post("/circles", json!({"members": [a["id"], b["id"]]})).await;
    let conversation = post(
        "/conversations",
        json!({"circle_id": circle["id"], "members": [a["id"], b["id"]]}),
    )
    .await;
    let text = |v: &Value, f: &str| v[f].as_str().expect("a string field").to_owned();
    World {
        url: format!("http://{circles}"),
        token_a: text(&a, "token"),
        token_b: text(&b, "token"),
        email_a: text(&a, "email"),
        conversation: conversation["id"].as_u64().expect("a conversation id"),
    }
}

/// Runs `program args... URL TRANSPORT TOKEN_A TOKEN_B CONVERSATION EMAIL_A`.
async fn run_script(client: &str, transport: Transport, script: Script) {
    let running = server().await;
    let w = world(&running).await;
    let Script {
        program,
        args: mut all,
    } = script;
    all.extend([
        w.url,
        transport.arg().to_owned(),
        w.token_a,
        w.token_b,
        w.conversation.to_string(),
        w.email_a,
    ]);
    run_child(client, transport, &program, &all).await;
    running.shutdown().await;
}

/// `node circles.js VERSION ...` for socket.io-client `version` (4 or 2).
async fn node(version: &str, transport: Transport) {
    run_script(
        &format!("socket.io-client {version}"),
        transport,
        node_script("circles.js", version),
    )
    .await;
}

/// socket.io-client 4.8.
mod sio4 {
    per_transport!(|t| super::node("4", t));
}

/// socket.io-client 2.x (Engine.IO 3, what the original apps shipped with).
mod sio2 {
    per_transport!(|t| super::node("2", t));
}

/// python-socketio's AsyncClient.
mod python {
    use super::{python_script, run_script, Transport};

    async fn run(transport: Transport) {
        run_script("python-socketio", transport, python_script("circles.py")).await;
    }

    per_transport!(run);
}

/// rust_socketio's async client, in process.
mod rust {
    use super::*;

    /// The bound of every wait.
    const STEP: Duration = Duration::from_secs(5);

    /// A connected client and what it receives: the channel and the argument.
    struct Stock {
        client: Client,
        rx: mpsc::UnboundedReceiver<(String, Value)>,
    }

    async fn connect(url: &str, transport: Transport) -> Result<Stock, String> {
        let (tx, rx) = mpsc::unbounded_channel();
        let mut builder = ClientBuilder::new(url)
            .transport_type(match transport {
                Transport::WebSocket => TransportType::Websocket,
                Transport::Polling => TransportType::Polling,
                Transport::Upgrade => TransportType::WebsocketUpgrade,
            })
            .reconnect(false);
        for name in ["success", "error", "message", "writing"] {
            let tx = tx.clone();
            builder = builder.on(name, move |payload: Payload, _: Client| {
                let first = match payload {
                    Payload::Text(mut values) if !values.is_empty() => values.swap_remove(0),
                    other => json!(format!("{other:?}")),
                };
                // The receiver outlives the client; a send after the test ended is moot.
                let _ = tx.send((name.to_owned(), first));
                async {}.boxed()
            });
        }
        let client = tokio::time::timeout(STEP, builder.connect())
            .await
            .map_err(|_| format!("no connection within {STEP:?}"))?
            .map_err(|e| format!("could not connect: {e}"))?;
        Ok(Stock { client, rx })
    }

    impl Stock {
        async fn emit(&self, name: &str, payload: Value) -> Result<(), String> {
            self.client
                .emit(name, Payload::Text(vec![payload]))
                .await
                .map_err(|e| format!("could not emit {name}: {e}"))
        }

        /// The next `name`, skipping the other channels.
        async fn next(&mut self, name: &str) -> Result<Value, String> {
            loop {
                let (got, payload) = tokio::time::timeout(STEP, self.rx.recv())
                    .await
                    .map_err(|_| format!("no {name} within {STEP:?}"))?
                    .ok_or("the client's handlers are gone")?;
                if got == name {
                    return Ok(payload);
                }
                if got == "error" {
                    return Err(format!("an error while waiting for {name}: {payload}"));
                }
            }
        }

        async fn request(&mut self, name: &str, payload: Value) -> Result<Value, String> {
            self.emit(name, payload).await?;
            self.next("success").await
        }
    }

    async fn scenario(w: &World, transport: Transport, log: &mut String) -> Result<(), String> {
        let mut a = connect(&w.url, transport).await?;
        let mut b = connect(&w.url, transport).await?;
        log.push_str("ok connect\n");
        for (stock, token) in [(&mut a, &w.token_a), (&mut b, &w.token_b)] {
            stock
                .request("authenticate", json!({"token": token}))
                .await?;
            stock
                .request(
                    "join_conversation",
                    json!({"conversation_id": w.conversation}),
                )
                .await?;
        }
        log.push_str("ok authenticate, join_conversation\n");
        let text = "hello from rust_socketio";
        a.request(
            "message",
            json!({"conversation_id": w.conversation, "text_message": text}),
        )
        .await?;
        let m = b.next("message").await?;
        if m["status"] != "done"
            || m["message"]["text"] != text
            || m["conversation_id"] != w.conversation
        {
            return Err(format!("the message B received: {m}"));
        }
        log.push_str("ok message\n");
        a.emit(
            "writing",
            json!({"conversation_id": w.conversation, "is_writing": true}),
        )
        .await?;
        let got = b.next("writing").await?;
        let want = json!({"conversation_id": w.conversation, "device": false, "user": w.email_a, "is_writing": true});
        if got != want {
            return Err(format!(
                "the writing notice B received: {got}, expected {want}"
            ));
        }
        log.push_str("ok writing\n");
        for stock in [a, b] {
            let _ = tokio::time::timeout(STEP, stock.client.disconnect()).await;
        }
        Ok(())
    }

    async fn run(transport: Transport) {
        let running = server().await;
        let w = world(&running).await;
        let mut log = String::new();
        let outcome = scenario(&w, transport, &mut log).await;
        running.shutdown().await;
        if let Err(what) = outcome {
            panic!("rust_socketio over {}: {what}\n{log}", transport.arg());
        }
    }

    per_transport!(run);
}
