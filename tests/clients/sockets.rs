//! Stock clients against the sockets listener (`001_13ce220237596520.txt`):
//! socket.io-client 4.8 and 2.x (`peers/clients/node/sockets.js`),
//! python-socketio (`peers/clients/python/sockets.py`) and rust_socketio.

use reference_server::ListenerName;

use super::{listener_url, node_script, python_script, run_script_against, Running, Transport};

/// socket.io-client `version` (4 or 2): `node sockets.js VERSION URL TRANSPORT`.
async fn node(version: &str, transport: Transport) {
    run_script_against(
        &format!("socket.io-client {version}"),
        transport,
        node_script("sockets.js", version),
        tail(transport),
    )
    .await;
}

/// The scripts' arguments after their own: `URL TRANSPORT` of the sockets listener.
fn tail(transport: Transport) -> impl FnOnce(&Running) -> Vec<String> {
    move |running| {
        vec![
            listener_url(running, ListenerName::Sockets),
            transport.arg().to_owned(),
        ]
    }
}

/// python-socketio: `python sockets.py URL TRANSPORT` in the peer's virtualenv.
async fn python(transport: Transport) {
    run_script_against(
        "python-socketio",
        transport,
        python_script("sockets.py"),
        tail(transport),
    )
    .await;
}

/// socket.io-client 4.8 (Engine.IO 4).
mod sio4 {
    per_transport!(|t| super::node("4", t));
}

/// socket.io-client 2.x (Engine.IO 3).
mod sio2 {
    per_transport!(|t| super::node("2", t));
}

/// python-socketio.
mod python {
    per_transport!(super::python);
}

/// rust_socketio, its async client.
mod rust_socketio {
    use ::rust_socketio::asynchronous::{Client, ClientBuilder};
    use ::rust_socketio::{Payload, TransportType};
    use reference_server::ListenerName;
    use serde_json::{json, Value};
    use tokio::sync::mpsc;

    use super::super::rust_socketio::{forward, Seen, STEP};
    use super::super::{assert_passed, listener_url, server, Transport};

    /// A registered-to-be user: its client and what it receives.
    struct User {
        client: Client,
        rx: mpsc::UnboundedReceiver<Seen>,
        tx: mpsc::UnboundedSender<Seen>,
    }

    /// A step and what did not hold in it.
    type Failure = (String, String);

    struct Run {
        url: String,
        transport: Transport,
        step: String,
        log: String,
    }

    impl Run {
        fn fail(&self, what: impl Into<String>) -> Failure {
            (self.step.clone(), what.into())
        }

        fn begin(&mut self, step: &str) {
            self.step = step.to_owned();
        }

        fn done(&mut self) {
            self.log.push_str(&format!("ok {}\n", self.step));
        }

        async fn user(&self) -> Result<User, Failure> {
            let (tx, rx) = mpsc::unbounded_channel();
            let builder = ClientBuilder::new(self.url.as_str())
                .transport_type(match self.transport {
                    Transport::WebSocket => TransportType::Websocket,
                    Transport::Polling => TransportType::Polling,
                    Transport::Upgrade => TransportType::WebsocketUpgrade,
                })
                .reconnect(false)
                .on("message", forward(&tx, "message"));
            let client = tokio::time::timeout(STEP, builder.connect())
                .await
                .map_err(|_| self.fail(format!("no connection within {STEP:?}")))?
                .map_err(|e| self.fail(format!("could not connect: {e}")))?;
            Ok(User { client, rx, tx })
        }

        /// `register` with `name`: what the ack callback got.
        async fn register(&self, user: &mut User, name: &str) -> Result<Payload, Failure> {
            user.client
                .emit_with_ack(
                    "register",
                    Payload::Text(vec![json!(name)]),
                    STEP,
                    forward(&user.tx, "ack"),
                )
                .await
                .map_err(|e| self.fail(format!("could not emit register: {e}")))?;
            loop {
                let (event, payload) = self.next(user).await?;
                if event == "ack" {
                    return Ok(payload);
                }
            }
        }

        async fn next(&self, user: &mut User) -> Result<Seen, Failure> {
            tokio::time::timeout(STEP, user.rx.recv())
                .await
                .map_err(|_| self.fail(format!("nothing within {STEP:?}")))?
                .ok_or_else(|| self.fail("the client's handlers are gone"))
        }

        /// Waits for the message `{from, message: text}`; other messages are skipped.
        async fn expect(&self, user: &mut User, from: &str, text: &str) -> Result<(), Failure> {
            loop {
                let (event, payload) = self.next(user).await?;
                let Payload::Text(args) = &payload else {
                    return Err(self.fail(format!("a binary {event}: {payload:?}")));
                };
                if event != "message"
                    || args.first().and_then(|m| m.get("message")) != Some(&json!(text))
                {
                    continue;
                }
                if args != &[json!({"from": from, "message": text})] {
                    return Err(self.fail(format!("the message {text:?} came as {args:?}")));
                }
                return Ok(());
            }
        }

        async fn scenario(&mut self) -> Result<(), Failure> {
            // Names of this run alone (the server is this test's, but stay unique anyway).
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.subsec_nanos());
            let suffix = format!("{nanos:08x}");
            let (alice, bob) = (format!("alice-{suffix}"), format!("bob-{suffix}"));
            // rust_socketio hands an ack's arguments to its callback as one array.
            let answer = |accepted: bool| Payload::Text(vec![Value::Array(vec![json!(accepted)])]);

            self.begin("register");
            let mut a = self.user().await?;
            let mut b = self.user().await?;
            let got = self.register(&mut a, &alice).await?;
            if got != answer(true) {
                return Err(self.fail(format!("alice's register answered {got:?}")));
            }
            self.expect(&mut a, "Server", &format!("{alice} has joined the chat"))
                .await?;
            let got = self.register(&mut b, &bob).await?;
            if got != answer(true) {
                return Err(self.fail(format!("bob's register answered {got:?}")));
            }
            self.expect(&mut a, "Server", &format!("{bob} has joined the chat"))
                .await?;
            self.done();

            self.begin("taken name");
            let mut c = self.user().await?;
            let got = self.register(&mut c, &alice).await?;
            if got != answer(false) {
                return Err(self.fail(format!("a taken name was answered {got:?}")));
            }
            let _ = tokio::time::timeout(STEP, c.client.disconnect()).await;
            self.done();

            self.begin("message");
            let text = format!("hello-{suffix}");
            b.client
                .emit(
                    "message",
                    Payload::Text(vec![json!({"from": alice, "message": text})]),
                )
                .await
                .map_err(|e| self.fail(format!("could not emit message: {e}")))?;
            self.expect(&mut b, &bob, &text).await?;
            self.expect(&mut a, &bob, &text).await?;
            self.done();

            self.begin("leave");
            tokio::time::timeout(STEP, b.client.disconnect())
                .await
                .map_err(|_| self.fail("disconnect took too long"))?
                .map_err(|e| self.fail(format!("could not disconnect: {e}")))?;
            self.expect(&mut a, "Server", &format!("{bob} left the chat"))
                .await?;
            self.done();
            let _ = tokio::time::timeout(STEP, a.client.disconnect()).await;
            Ok(())
        }
    }

    async fn run(transport: Transport) {
        let running = server().await;
        let mut run = Run {
            url: listener_url(&running, ListenerName::Sockets),
            transport,
            step: "start".to_owned(),
            log: String::new(),
        };
        let outcome = run.scenario().await;
        running.shutdown().await;
        let failure = outcome.err();
        assert_passed(
            "rust_socketio",
            transport,
            failure.as_ref().map(|(s, w)| (s.as_str(), w.as_str())),
            &run.log,
        );
    }

    per_transport!(run);
}
