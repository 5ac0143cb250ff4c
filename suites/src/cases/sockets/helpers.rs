//! What the `sockets.*` cases share: the target's endpoint, chat clients
//! that register, send and read `message` events, fresh usernames, and the
//! check that a client received nothing it must not.
//!
//! Every case runs beside others on the same server and in the same room,
//! so every case uses usernames and texts of its own ([`fresh`]) and looks
//! for its own messages among whatever else the room carries.

use std::collections::VecDeque;
use std::time::Duration;

use protocols::engineio::EioVersion;
use protocols::socketio::{Data, PacketType};
use protocols::sockets::{ChatMessage, Notice, Sockets};
use protocols::Dialect;
use serde_json::Value;

use crate::case::{Ctx, Failure, Outcome};
use crate::driver::engineio::Endpoint;
use crate::driver::socketio::{SioClient, Transport};
use crate::target::SocketsTarget;
use crate::{broken, ensure};

/// The longest a client that must receive nothing is watched when the
/// server does not answer the probe that ends the watch sooner.
const QUIET: Duration = Duration::from_millis(500);

/// The context's sockets target (`unimplemented` without one).
pub(super) fn target(ctx: &Ctx) -> Result<&SocketsTarget, Failure> {
    ctx.targets
        .get::<SocketsTarget>()
        .ok_or_else(|| Failure::Unimplemented("no sockets target".into()))
}

/// The target's endpoint for `v` (`unimplemented` when it does not speak it).
fn endpoint(ctx: &Ctx, v: EioVersion) -> Result<Endpoint, Failure> {
    let t = target(ctx)?;
    crate::cases::apps::endpoint("sockets", &t.url, &t.path, &t.engineio, v)
}

/// A username no other case uses: `base-` and eight hex digits.
pub(super) fn fresh(base: &str) -> String {
    format!("{base}-{:08x}", fastrand::u32(..))
}

/// What a chat client read that a case waits for.
enum Incoming {
    /// A `message` event's payload, checked against the memo.
    Message(ChatMessage),
    /// An acknowledgement: its id and arguments.
    Ack(u64, Vec<Data>),
}

/// A client in the main namespace of the target.
pub(super) struct Chat {
    /// The Socket.IO client underneath.
    pub client: SioClient,
    /// `message` payloads read while waiting for something else, oldest first.
    inbox: VecDeque<ChatMessage>,
    next_ack: u64,
}

impl Chat {
    /// Connects to the main namespace over `transport`.
    pub async fn connect(ctx: &Ctx, v: EioVersion, transport: Transport) -> Result<Chat, Failure> {
        let mut client = SioClient::open_at(ctx, endpoint(ctx, v)?, transport).await?;
        let answer = client.connect("/", None).await?;
        ensure!(
            answer.packet_type == PacketType::Connect,
            "joining the main namespace was refused: {answer:?}"
        );
        Ok(Chat {
            client,
            inbox: VecDeque::new(),
            next_ack: 1,
        })
    }

    /// Connects over WebSocket and registers `name`, which must be accepted.
    pub async fn user(ctx: &Ctx, v: EioVersion, name: &str) -> Result<Chat, Failure> {
        let mut chat = Chat::connect(ctx, v, Transport::WebSocket).await?;
        let accepted = chat.register(Data::String(name.to_owned())).await?;
        ensure!(accepted, "registering the fresh name {name:?} was refused");
        Ok(chat)
    }

    /// Sends `register` with `name` and an ack id; the acknowledgement,
    /// which must be one boolean.
    pub async fn register(&mut self, name: Data) -> Result<bool, Failure> {
        let id = self.emit_with_ack("register", vec![name]).await?;
        let args = self.answer(id, "register").await?;
        let bytes = to_bytes(&args)?;
        if let Some(v) = Sockets::validate(Some("register-ack"), &bytes).first() {
            return Err(broken!("the acknowledgement of register: {v}"));
        }
        Ok(args == [Data::Bool(true)])
    }

    /// Sends `message` with `payload` and an ack id; the acknowledgement's arguments.
    pub async fn say_with_ack(&mut self, payload: Value) -> Result<Vec<Data>, Failure> {
        let id = self
            .emit_with_ack("message", vec![Data::from(payload)])
            .await?;
        self.answer(id, "message").await
    }

    /// Sends `message` with `payload`, no ack id.
    pub async fn say(&mut self, payload: Value) -> Outcome {
        self.emit("message", vec![Data::from(payload)]).await
    }

    /// Emits an event without an ack id.
    pub async fn emit(&mut self, event: &str, args: Vec<Data>) -> Outcome {
        Ok(self.client.emit("/", event, args, None).await?)
    }

    /// Emits an event with a new ack id; the id.
    pub async fn emit_with_ack(&mut self, event: &str, args: Vec<Data>) -> Result<u64, Failure> {
        self.next_ack += 1;
        let id = self.next_ack;
        self.client.emit("/", event, args, Some(id)).await?;
        Ok(id)
    }

    /// Leaves the main namespace with a Socket.IO DISCONNECT packet, keeping
    /// the Engine.IO session.
    pub async fn leave_namespace(&mut self) -> Outcome {
        Ok(self.client.send_text("1").await?)
    }

    /// The next packet the case cares about; other events are skipped.
    async fn next(&mut self) -> Result<Incoming, Failure> {
        loop {
            let p = self.client.recv().await?;
            if p.namespace != "/" {
                continue;
            }
            match p.packet_type {
                PacketType::Ack => {
                    let args = match p.data {
                        Some(Data::Array(items)) => items,
                        other => return Err(broken!("an ack whose data is {other:?}")),
                    };
                    let Some(id) = p.id else {
                        return Err(broken!("an ack without an id: {args:?}"));
                    };
                    return Ok(Incoming::Ack(id, args));
                }
                PacketType::Event => {
                    let Some(Data::Array(items)) = p.data else {
                        return Err(broken!("an event whose data is {:?}", p.data));
                    };
                    if items.first() != Some(&Data::String("message".into())) {
                        continue;
                    }
                    return Ok(Incoming::Message(chat_message(&items)?));
                }
                PacketType::Disconnect => {
                    return Err(broken!("the server disconnected the client from /"))
                }
                _ => continue,
            }
        }
    }

    /// Waits for the ack `id` of `what`, keeping the messages read meanwhile.
    pub async fn answer(&mut self, id: u64, what: &str) -> Result<Vec<Data>, Failure> {
        loop {
            match self.next().await.map_err(|f| waiting(f, what))? {
                Incoming::Ack(got, args) if got == id => return Ok(args),
                Incoming::Ack(got, _) => {
                    return Err(broken!("the ack of {what} came with id {got}, not {id}"))
                }
                Incoming::Message(m) => self.inbox.push_back(m),
            }
        }
    }

    /// Waits for a message that `wanted` accepts (one already read first);
    /// the messages before it stay in the inbox.
    pub async fn expect(
        &mut self,
        what: &str,
        wanted: impl Fn(&ChatMessage) -> bool,
    ) -> Result<ChatMessage, Failure> {
        if let Some(m) = self
            .inbox
            .iter()
            .position(&wanted)
            .and_then(|i| self.inbox.remove(i))
        {
            return Ok(m);
        }
        loop {
            match self.next().await.map_err(|f| waiting(f, what))? {
                Incoming::Message(m) if wanted(&m) => return Ok(m),
                Incoming::Message(m) => self.inbox.push_back(m),
                Incoming::Ack(id, args) => {
                    return Err(broken!(
                        "an ack {id} {args:?} nothing waited for, while waiting for {what}"
                    ))
                }
            }
        }
    }

    /// Waits for `Server`'s notice.
    pub async fn expect_notice(&mut self, notice: &Notice) -> Result<(), Failure> {
        let text = notice.text();
        self.expect(&format!("the notice {text:?}"), |m| {
            m.from == protocols::sockets::SERVER_USER && m.message == text
        })
        .await
        .map(drop)
    }

    /// Waits for the message `text`, which must come from `from`.
    pub async fn expect_said(&mut self, from: &str, text: &str) -> Result<(), Failure> {
        let m = self
            .expect(&format!("the message {text:?}"), |m| m.message == text)
            .await?;
        ensure!(
            m.from == from,
            "the message {text:?} came from {:?}, not {from:?}",
            m.from
        );
        Ok(())
    }

    /// Checks that no message `unwanted` accepts arrives: what is in the
    /// inbox, then what comes until the server answers a probe (a `message`
    /// whose payload is not an object, with an ack id: it reaches no one) or
    /// [`QUIET`] passes.
    pub async fn quiet(&mut self, what: &str, unwanted: impl Fn(&ChatMessage) -> bool) -> Outcome {
        if let Some(m) = self.inbox.iter().find(|m| unwanted(m)) {
            return Err(broken!("{what}: got {m:?}"));
        }
        let probe = self
            .emit_with_ack("message", vec![Data::String("chatspec probe".into())])
            .await?;
        let deadline = tokio::time::Instant::now() + QUIET.min(self.client.eio.link().wait);
        loop {
            let next = match tokio::time::timeout_at(deadline, self.next()).await {
                Err(_) => return Ok(()),
                Ok(next) => next?,
            };
            match next {
                Incoming::Ack(id, _) if id == probe => return Ok(()),
                Incoming::Ack(..) => continue,
                Incoming::Message(m) if unwanted(&m) => return Err(broken!("{what}: got {m:?}")),
                Incoming::Message(m) => self.inbox.push_back(m),
            }
        }
    }
}

/// A failure while waiting for `what`, saying so.
fn waiting(f: Failure, what: &str) -> Failure {
    match f {
        Failure::Broken(r) => Failure::Broken(format!("waiting for {what}: {r}")),
        other => other,
    }
}

/// The payload of a `message` event array, which must be what the memo says
/// the server sends: one `{from, message}` object of strings.
fn chat_message(items: &[Data]) -> Result<ChatMessage, Failure> {
    let bytes = to_bytes(items)?;
    if let Some(v) = Sockets::validate(None, &bytes).first() {
        return Err(broken!(
            "a message event that breaks the memo ({}): {v}",
            String::from_utf8_lossy(&bytes)
        ));
    }
    let Some(payload) = items.get(1) else {
        return Err(broken!("a message event without its payload"));
    };
    serde_json::from_value(json(payload)?)
        .map_err(|e| broken!("a message payload that is not {{from, message}}: {e}"))
}

/// Arguments as the JSON array they were sent as.
fn to_bytes(items: &[Data]) -> Result<Vec<u8>, Failure> {
    let array = items.iter().map(json).collect::<Result<Vec<_>, _>>()?;
    serde_json::to_vec(&array).map_err(|e| Failure::Harness(e.to_string()))
}

/// A Socket.IO value as JSON; the memo carries no binary data.
fn json(d: &Data) -> Result<Value, Failure> {
    Ok(match d {
        Data::Null => Value::Null,
        Data::Bool(b) => Value::Bool(*b),
        Data::Number(n) => Value::Number(n.clone()),
        Data::String(s) => Value::String(s.clone()),
        Data::Array(items) => Value::Array(items.iter().map(json).collect::<Result<_, _>>()?),
        Data::Object(fields) => Value::Object(
            fields
                .iter()
                .map(|(k, v)| Ok((k.clone(), json(v)?)))
                .collect::<Result<_, Failure>>()?,
        ),
        Data::Binary(_) => return Err(broken!("binary data where the memo carries JSON")),
    })
}
