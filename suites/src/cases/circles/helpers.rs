//! What the `circles.*` cases share: the target, provisioned users, circles, conversations and devices, authenticated clients, every server message validated with the Circles codec, and the marker check of "nobody else gets it".

use protocols::circles::Circles;
use protocols::engineio::EioVersion;
use protocols::socketio::{Data, PacketType};
use protocols::Dialect;
use serde_json::{json, Value};

use crate::case::{Ctx, Failure, Outcome};
use crate::cases::http::harness_request;
use crate::driver::engineio::Endpoint;
use crate::driver::socketio::{SioClient, Transport};
use crate::target::{CirclesTarget, CirclesTriggers, HttpTemplate};
use crate::{broken, ensure};

/// The context's circles target (`unimplemented` without one).
pub(super) fn target(ctx: &Ctx) -> Result<&CirclesTarget, Failure> {
    ctx.targets
        .get::<CirclesTarget>()
        .ok_or_else(|| Failure::Unimplemented("no circles target".into()))
}

/// The target's endpoint for `v` (`unimplemented` when it does not speak it).
fn endpoint(ctx: &Ctx, v: EioVersion) -> Result<Endpoint, Failure> {
    let t = target(ctx)?;
    crate::cases::apps::endpoint("circles", &t.url, &t.path, &t.engineio, v)
}

/// A trigger of the target, by name.
pub(super) type Pick = fn(&CirclesTriggers) -> &Option<HttpTemplate>;

/// Sends the trigger `pick` with `values`; its JSON answer (`null` when empty).
pub(super) async fn trigger(
    ctx: &Ctx,
    what: &str,
    pick: Pick,
    values: &[(&str, String)],
) -> Result<Value, Failure> {
    let template = pick(&target(ctx)?.triggers)
        .clone()
        .ok_or_else(|| Failure::Unimplemented(format!("the target has no `{what}` trigger")))?;
    let values: Vec<(&str, &str)> = values.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let body = template
        .body
        .as_deref()
        .map(|b| HttpTemplate::fill(b, &values));
    let answer = harness_request(ctx, &template, &values, body).await?;
    if answer.iter().all(u8::is_ascii_whitespace) {
        return Ok(Value::Null);
    }
    serde_json::from_slice(&answer)
        .map_err(|e| Failure::Harness(format!("the `{what}` trigger answered no JSON: {e}")))
}

/// Changes circle `c`'s info through the `update_circle` trigger.
pub(super) async fn update_circle(ctx: &Ctx, c: u64) -> Outcome {
    trigger(
        ctx,
        "update_circle",
        |t| &t.update_circle,
        &[("circle_id", c.to_string())],
    )
    .await?;
    Ok(())
}

fn id_in(answer: &Value, what: &str) -> Result<u64, Failure> {
    answer
        .get("id")
        .and_then(Value::as_u64)
        .ok_or_else(|| Failure::Harness(format!("the `{what}` trigger answered no `id`: {answer}")))
}

fn str_in(answer: &Value, field: &str, what: &str) -> Result<String, Failure> {
    answer
        .get(field)
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| {
            Failure::Harness(format!(
                "the `{what}` trigger answered no `{field}`: {answer}"
            ))
        })
}

/// A provisioned user or device.
#[derive(Debug, Clone)]
pub(super) struct Account {
    /// Its id.
    pub id: u64,
    /// Its email (empty for a device).
    pub email: String,
    /// Its JWT.
    pub token: String,
}

/// A fresh user.
pub(super) async fn user(ctx: &Ctx) -> Result<Account, Failure> {
    let what = "provision_user";
    let answer = trigger(ctx, what, |t| &t.provision_user, &[]).await?;
    Ok(Account {
        id: id_in(&answer, what)?,
        email: str_in(&answer, "email", what)?,
        token: str_in(&answer, "token", what)?,
    })
}

/// A fresh device of `circle`.
pub(super) async fn device(ctx: &Ctx, circle: u64) -> Result<Account, Failure> {
    let what = "provision_device";
    let answer = trigger(
        ctx,
        what,
        |t| &t.provision_device,
        &[("circle_id", circle.to_string())],
    )
    .await?;
    Ok(Account {
        id: id_in(&answer, what)?,
        email: String::new(),
        token: str_in(&answer, "token", what)?,
    })
}

fn members(of: &[&Account]) -> String {
    json!(of.iter().map(|a| a.id).collect::<Vec<_>>()).to_string()
}

/// A fresh circle of `of`.
pub(super) async fn circle(ctx: &Ctx, of: &[&Account]) -> Result<u64, Failure> {
    let what = "create_circle";
    let answer = trigger(ctx, what, |t| &t.create_circle, &[("members", members(of))]).await?;
    id_in(&answer, what)
}

/// A fresh conversation of `circle` with `of`.
pub(super) async fn conversation(ctx: &Ctx, circle: u64, of: &[&Account]) -> Result<u64, Failure> {
    let what = "create_conversation";
    let answer = trigger(
        ctx,
        what,
        |t| &t.create_conversation,
        &[("circle_id", circle.to_string()), ("members", members(of))],
    )
    .await?;
    id_in(&answer, what)
}

/// One server event: its channel and its argument.
pub(super) type Incoming = (String, Value);

/// A client of the target in `/`, and what it got.
pub(super) struct Client {
    sio: SioClient,
}

/// A client connected to `/`, not authenticated.
pub(super) async fn connect(ctx: &Ctx, v: EioVersion) -> Result<Client, Failure> {
    let mut sio = SioClient::open_at(ctx, endpoint(ctx, v)?, Transport::WebSocket).await?;
    let answer = sio.connect("/", None).await?;
    ensure!(
        answer.packet_type == PacketType::Connect,
        "connecting to / was refused: {answer:?}"
    );
    Ok(Client { sio })
}

/// A client authenticated with `token` (its `success` read).
pub(super) async fn authenticated(
    ctx: &Ctx,
    v: EioVersion,
    token: &str,
) -> Result<Client, Failure> {
    let mut client = connect(ctx, v).await?;
    client
        .request("authenticate", json!({ "token": token }))
        .await?;
    Ok(client)
}

impl Client {
    /// Emits `name` with `payload` (no argument when `None`).
    pub async fn emit(&mut self, name: &str, payload: Option<Value>) -> Outcome {
        let args = payload.map(Data::from).into_iter().collect();
        Ok(self.sio.emit("/", name, args, None).await?)
    }

    /// Leaves: a Socket.IO DISCONNECT of `/`.
    pub async fn disconnect(&mut self) -> Outcome {
        Ok(self.sio.send_text("1").await?)
    }

    /// The next event, checked against the document's shapes.
    pub async fn next(&mut self) -> Result<Incoming, Failure> {
        loop {
            let p = self.sio.recv().await?;
            if p.namespace != "/" {
                continue;
            }
            match p.packet_type {
                PacketType::Event => {}
                PacketType::Disconnect => {
                    return Err(broken!("the server disconnected the client"))
                }
                _ => continue,
            }
            let args = p
                .data
                .as_ref()
                .and_then(Data::to_json)
                .ok_or_else(|| broken!("an event that is not plain JSON: {p:?}"))?;
            let bytes = args.to_string();
            let violations = Circles::validate(Some("server"), bytes.as_bytes());
            if let Some(v) = violations.first() {
                return Err(broken!("the server sent {bytes}, which breaks {v}"));
            }
            let mut items = match args {
                Value::Array(items) => items,
                other => return Err(broken!("an event that is not an array: {other}")),
            };
            let name = match items.first() {
                Some(Value::String(name)) => name.clone(),
                _ => return Err(broken!("an event without a name: {bytes}")),
            };
            let payload = if items.len() > 1 {
                items.swap_remove(1)
            } else {
                Value::Null
            };
            return Ok((name, payload));
        }
    }

    /// The next event on `name`, skipping (and checking) the others.
    pub async fn expect(&mut self, name: &str) -> Result<Value, Failure> {
        loop {
            let (got, payload) = self.next().await?;
            if got == name {
                return Ok(payload);
            }
        }
    }

    /// The next event on `name` whose payload matches `pick`, skipping the others.
    pub async fn expect_where(
        &mut self,
        name: &str,
        pick: impl Fn(&Value) -> bool,
    ) -> Result<Value, Failure> {
        loop {
            let (got, payload) = self.next().await?;
            if got == name && pick(&payload) {
                return Ok(payload);
            }
        }
    }

    /// The answer to a request: `success` or `error`, skipping the rest.
    pub async fn answer(&mut self) -> Result<Result<Value, Value>, Failure> {
        loop {
            match self.next().await? {
                (name, payload) if name == "success" => return Ok(Ok(payload)),
                (name, payload) if name == "error" => return Ok(Err(payload)),
                _ => continue,
            }
        }
    }

    /// Emits `name` and expects `success` (its payload).
    pub async fn request(&mut self, name: &str, payload: Value) -> Result<Value, Failure> {
        self.emit(name, Some(payload)).await?;
        self.answer()
            .await?
            .map_err(|e| broken!("`{name}` was answered on `error`: {e}"))
    }

    /// `message {conversation_id, text_message}`, answered on `success`.
    pub async fn say(&mut self, conversation: u64, text: &str) -> Result<Value, Failure> {
        self.request(
            "message",
            json!({"conversation_id": conversation, "text_message": text}),
        )
        .await
    }

    /// `writing {conversation_id, is_writing}`, answered on `success`.
    pub async fn writing(&mut self, conversation: u64, is_writing: bool) -> Result<Value, Failure> {
        self.request(
            "writing",
            json!({"conversation_id": conversation, "is_writing": is_writing}),
        )
        .await
    }

    /// Emits `name` and expects `error` (its reason).
    pub async fn refused(&mut self, name: &str, payload: Option<Value>) -> Result<Value, Failure> {
        self.emit(name, payload).await?;
        match self.answer().await? {
            Err(reason) => Ok(reason),
            Ok(s) => Err(broken!(
                "`{name}` was answered on `success` ({s}); expected `error`"
            )),
        }
    }

    /// Reads until an event `marker` matches, failing on one `forbidden` matches first.
    pub async fn marker(
        &mut self,
        marker: impl Fn(&str, &Value) -> bool,
        forbidden: impl Fn(&str, &Value) -> bool,
        what: &str,
    ) -> Outcome {
        loop {
            let (name, payload) = self.next().await?;
            if forbidden(&name, &payload) {
                return Err(broken!("{what}, but got `{name}` {payload}"));
            }
            if marker(&name, &payload) {
                return Ok(());
            }
        }
    }
}

/// `payload[field]`, which must be `expected`.
pub(super) fn field_is(payload: &Value, field: &str, expected: &Value, what: &str) -> Outcome {
    ensure!(
        payload.get(field) == Some(expected),
        "{what}: `{field}` should be {expected}, in {payload}"
    );
    Ok(())
}

/// Whether `payload[field]` is `id`.
pub(super) fn has(payload: &Value, field: &str, id: u64) -> bool {
    payload.get(field).and_then(Value::as_u64) == Some(id)
}
