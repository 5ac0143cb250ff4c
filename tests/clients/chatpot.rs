//! Stock clients logging in to the embedded Chatpot node and chatting: socket.io-client 4.8 and 2.x (`peers/clients/node/chatpot.js`), python-socketio (`peers/clients/python/chatpot.py`) and rust_socketio (here), each over WebSocket, polling and polling then upgrade.
//!
//! Every client runs the same scenario: a room and two members made through
//! the admin API, both connected, an unknown token refused with
//! `server_error`, both tokens presented (`postinit_req` → `postinit_res`),
//! a message sent as the first member through the admin API received by
//! both with the documented payload, and `health_req` answered.

use std::time::Duration;

use ::rust_socketio::asynchronous::{Client, ClientBuilder};
use ::rust_socketio::{Payload, TransportType};
use futures_util::FutureExt;
use reference_server::services::admin::DEV_ADMIN_SECRET;
use reference_server::{ListenerName, Running};
use serde_json::{json, Value};
use tokio::sync::mpsc;

use super::{node_script, python_script, run_script_against, server, Transport};

/// `http://ADDR` of the chatpot node and `http://ADDR/chatpot` of its admin routes.
fn urls(running: &Running) -> (String, String) {
    let at = |name| {
        running
            .addrs
            .get(name)
            .unwrap_or_else(|| panic!("the {name} listener runs"))
    };
    (
        format!("http://{}", at(ListenerName::Chatpot)),
        format!("http://{}/chatpot", at(ListenerName::Admin)),
    )
}

/// The scripts' arguments after their own: `NODE_URL TRANSPORT ADMIN_URL SECRET`.
fn tail(transport: Transport) -> impl FnOnce(&Running) -> Vec<String> {
    move |running| {
        let (node, admin) = urls(running);
        vec![
            node,
            transport.arg().to_owned(),
            admin,
            DEV_ADMIN_SECRET.to_owned(),
        ]
    }
}

/// `node chatpot.js VERSION NODE_URL TRANSPORT ADMIN_URL SECRET`.
async fn node(version: &str, transport: Transport) {
    run_script_against(
        &format!("socket.io-client {version} on chatpot"),
        transport,
        node_script("chatpot.js", version),
        tail(transport),
    )
    .await;
}

/// socket.io-client 4.8.
mod sio4 {
    per_transport!(|t| super::node("4", t));
}

/// socket.io-client 2.x (Engine.IO 3, what Chatpot's front end shipped with).
mod sio2 {
    per_transport!(|t| super::node("2", t));
}

/// python-socketio.
mod python {
    use super::{python_script, run_script_against, tail, Transport};

    async fn run(transport: Transport) {
        run_script_against(
            "python-socketio on chatpot",
            transport,
            python_script("chatpot.py"),
            tail(transport),
        )
        .await;
    }

    per_transport!(run);
}

/// rust_socketio.
mod rust_socketio {
    per_transport!(super::rust_socketio);
}

/// The bound of every wait.
const STEP: Duration = Duration::from_secs(5);

/// The admin API, as the test calls it.
struct Admin {
    http: reqwest::Client,
    base: String,
}

impl Admin {
    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut request = self
            .http
            .request(method.clone(), format!("{}{path}", self.base))
            .bearer_auth(DEV_ADMIN_SECRET);
        if let Some(body) = body {
            request = request
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(body.to_string());
        }
        let response = request
            .send()
            .await
            .unwrap_or_else(|e| panic!("{method} {path}: {e}"));
        let status = response.status();
        let text = response.text().await.expect("the admin API's body");
        assert!(
            status.is_success(),
            "{method} {path}: HTTP {status}: {text}"
        );
        if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).expect("the admin API answers JSON")
        }
    }

    async fn token(&self, path: &str) -> String {
        let answer = self
            .call(reqwest::Method::POST, path, Some(json!({})))
            .await;
        answer["token"]
            .as_str()
            .unwrap_or_else(|| panic!("POST {path} answered no token: {answer}"))
            .to_owned()
    }
}

/// A connected rust_socketio client and the Chatpot events it receives.
struct Stock {
    client: Client,
    rx: mpsc::UnboundedReceiver<(String, Payload)>,
}

async fn connect(url: &str, transport: Transport) -> Stock {
    let (tx, rx) = mpsc::unbounded_channel();
    let mut builder = ClientBuilder::new(url)
        .transport_type(match transport {
            Transport::WebSocket => TransportType::Websocket,
            Transport::Polling => TransportType::Polling,
            Transport::Upgrade => TransportType::WebsocketUpgrade,
        })
        .reconnect(false);
    for name in ["server_error", "postinit_res", "message", "health_res"] {
        let tx = tx.clone();
        builder = builder.on(name, move |payload: Payload, _: Client| {
            // The receiver outlives the client; a send after the test ended is moot.
            let _ = tx.send((name.to_owned(), payload));
            async {}.boxed()
        });
    }
    let client = tokio::time::timeout(STEP, builder.connect())
        .await
        .expect("rust_socketio connects in time")
        .expect("rust_socketio connects");
    Stock { client, rx }
}

impl Stock {
    /// The next event, which must be `name`; its one argument.
    async fn next(&mut self, name: &str) -> Value {
        let (got, payload) = tokio::time::timeout(STEP, self.rx.recv())
            .await
            .unwrap_or_else(|_| panic!("no {name} within {STEP:?}"))
            .expect("the client's handlers are gone");
        match payload {
            Payload::Text(mut args) if got == name && args.len() == 1 => args.remove(0),
            other => panic!("expected {name} with one argument, got {got} {other:?}"),
        }
    }

    async fn emit(&self, name: &str, arg: Value) {
        self.client
            .emit(name, Payload::Text(vec![arg]))
            .await
            .unwrap_or_else(|e| panic!("could not emit {name}: {e}"));
    }
}

/// The scenario, with rust_socketio.
async fn rust_socketio(transport: Transport) {
    let running = server().await;
    let (url, base) = urls(&running);
    let admin = Admin {
        http: reqwest::Client::new(),
        base,
    };
    let room = admin.token("/rooms").await;
    let (alice, bob) = (admin.token("/members").await, admin.token("/members").await);
    for member in [&alice, &bob] {
        admin
            .call(
                reqwest::Method::PUT,
                &format!("/rooms/{room}/members/{member}"),
                None,
            )
            .await;
    }
    let mut a = connect(&url, transport).await;
    let mut b = connect(&url, transport).await;

    b.emit("postinit_req", json!({ "token": "0".repeat(48) }))
        .await;
    let error = b.next("server_error").await;
    assert_eq!(error["code"], "INVALID_PARAM", "{error}");
    assert!(
        error["message"]
            .as_str()
            .is_some_and(|m| m.contains("invalid member_token")),
        "{error}"
    );

    for (stock, token) in [(&mut a, &alice), (&mut b, &bob)] {
        stock.emit("postinit_req", json!({ "token": token })).await;
        assert_eq!(stock.next("postinit_res").await, json!({ "success": true }));
    }

    let sent = admin
        .call(
            reqwest::Method::POST,
            &format!("/rooms/{room}/messages"),
            Some(json!({ "from": alice, "content": "호옹" })),
        )
        .await;
    for stock in [&mut a, &mut b] {
        let m = stock.next("message").await;
        assert_eq!(m["message_id"], sent["message_id"], "{m}");
        assert!(
            m["message_id"]
                .as_str()
                .is_some_and(|id| id.len() == 32 && id.bytes().all(|c| c.is_ascii_hexdigit())),
            "{m}"
        );
        assert_eq!(m["from"]["token"], alice.as_str(), "{m}");
        assert_eq!(m["to"], json!({ "type": "ROOM", "token": room }), "{m}");
        assert_eq!(m["content"], "호옹", "{m}");
        assert!(m["sent_time"].is_u64(), "{m}");
    }

    a.emit("health_req", json!({})).await;
    a.next("health_res").await;

    for stock in [a, b] {
        // Whether the close reaches the server is not what this test checks.
        let _ = stock.client.disconnect().await;
    }
    running.shutdown().await;
}
