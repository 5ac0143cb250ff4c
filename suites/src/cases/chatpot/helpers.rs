//! What the `chatpot.*` cases share: the target, its triggers (members, rooms, membership, messages), connected and logged-in clients, and the checks of every event the node sends.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use protocols::chatpot::Chatpot;
use protocols::engineio::EioVersion;
use protocols::socketio::{Data, PacketType};
use protocols::Dialect;
use serde_json::{json, Value};

use crate::case::{Ctx, Failure};
use crate::driver::engineio::Endpoint;
use crate::driver::socketio::{SioClient, Transport};
use crate::ensure;
use crate::target::{ChatpotTarget, HttpTemplate};

pub(super) use crate::cases::http::harness_request;

/// The namespace Chatpot's events travel in.
pub(super) const NS: &str = "/";

/// The context's chatpot target (`unimplemented` without one).
pub(super) fn target(ctx: &Ctx) -> Result<&ChatpotTarget, Failure> {
    ctx.targets
        .get::<ChatpotTarget>()
        .ok_or_else(|| Failure::Unimplemented("no chatpot target".into()))
}

/// The node's Socket.IO endpoint for `version` (`unimplemented` when the
/// target does not speak it).
pub(super) fn endpoint(ctx: &Ctx, version: EioVersion) -> Result<Endpoint, Failure> {
    let t = target(ctx)?;
    crate::cases::apps::endpoint("chatpot", &t.url, &t.path, &t.engineio, version)
}

/// The transport a case's clients use: the Engine.IO 3 clients Chatpot
/// shipped with (socket.io-client 2) start on long-polling; Engine.IO 4
/// clients here go straight to WebSocket, so both are exercised.
fn transport(version: EioVersion) -> Transport {
    match version {
        EioVersion::V3 => Transport::Polling,
        EioVersion::V4 => Transport::WebSocket,
    }
}

/// A client connected to the node's `/` namespace at `endpoint`.
pub(super) async fn connect_at(ctx: &Ctx, endpoint: Endpoint) -> Result<SioClient, Failure> {
    let version = endpoint.version;
    let mut client = SioClient::open_at(ctx, endpoint, transport(version)).await?;
    let answer = client.connect(NS, None).await?;
    ensure!(
        answer.packet_type == PacketType::Connect,
        "connecting to {NS} was refused: {answer:?}"
    );
    Ok(client)
}

/// A client connected to the node (no token presented yet).
pub(super) async fn connect(ctx: &Ctx, version: EioVersion) -> Result<SioClient, Failure> {
    connect_at(ctx, endpoint(ctx, version)?).await
}

/// A trigger of the target, or `unimplemented` naming it.
fn trigger<'a>(t: &'a Option<HttpTemplate>, name: &str) -> Result<&'a HttpTemplate, Failure> {
    t.as_ref().ok_or_else(|| {
        Failure::Unimplemented(format!(
            "the chatpot target has no `triggers.{name}` request"
        ))
    })
}

/// Sends a trigger with `values` filled into its URL and body; the answer's body.
async fn fire(
    ctx: &Ctx,
    template: &HttpTemplate,
    values: &[(&str, &str)],
) -> Result<Vec<u8>, Failure> {
    let body = template
        .body
        .as_deref()
        .map(|b| HttpTemplate::fill(b, values));
    harness_request(ctx, template, values, body).await
}

/// The string at `pointer` of a trigger's JSON answer.
fn token_in(reply: &[u8], pointer: &str, what: &str) -> Result<String, Failure> {
    let value: Value = serde_json::from_slice(reply)
        .map_err(|e| Failure::Harness(format!("the {what} trigger's answer is not JSON: {e}")))?;
    value
        .pointer(pointer)
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| {
            Failure::Harness(format!(
                "the {what} trigger's answer has no token at {pointer}: {value}"
            ))
        })
}

/// A new member's token.
pub(super) async fn member(ctx: &Ctx) -> Result<String, Failure> {
    let t = target(ctx)?;
    let reply = fire(ctx, trigger(&t.triggers.member, "member")?, &[]).await?;
    token_in(&reply, &t.triggers.member_token_pointer, "member")
}

/// A new room's token.
pub(super) async fn room(ctx: &Ctx) -> Result<String, Failure> {
    let t = target(ctx)?;
    let reply = fire(ctx, trigger(&t.triggers.room, "room")?, &[]).await?;
    token_in(&reply, &t.triggers.room_token_pointer, "room")
}

/// Puts `member` in `room`.
pub(super) async fn join(ctx: &Ctx, room: &str, member: &str) -> Result<(), Failure> {
    let t = target(ctx)?;
    let values = [("room", room), ("member", member)];
    fire(ctx, trigger(&t.triggers.join, "join")?, &values).await?;
    Ok(())
}

/// Takes `member` out of `room`.
pub(super) async fn leave(ctx: &Ctx, room: &str, member: &str) -> Result<(), Failure> {
    let t = target(ctx)?;
    let values = [("room", room), ("member", member)];
    fire(ctx, trigger(&t.triggers.leave, "leave")?, &values).await?;
    Ok(())
}

/// A text nobody else sends: letters, digits and spaces, safe in any template.
pub(super) fn fresh_text() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    format!("chatspec {} 호옹", NEXT.fetch_add(1, Ordering::Relaxed))
}

/// Sends the text `content` as `member` to `room`.
pub(super) async fn send(
    ctx: &Ctx,
    room: &str,
    member: &str,
    content: &str,
) -> Result<(), Failure> {
    let t = target(ctx)?;
    let values = [("room", room), ("member", member), ("content", content)];
    fire(ctx, trigger(&t.triggers.send, "send")?, &values).await?;
    Ok(())
}

/// Checks the triggers a message case needs before it connects anyone, so
/// a target without them is `unimplemented` at once.
pub(super) fn needs(ctx: &Ctx, names: &[&str]) -> Result<(), Failure> {
    let t = &target(ctx)?.triggers;
    for name in names {
        let template = match *name {
            "member" => &t.member,
            "room" => &t.room,
            "join" => &t.join,
            "leave" => &t.leave,
            _ => &t.send,
        };
        trigger(template, name)?;
    }
    Ok(())
}

/// A JSON value of Socket.IO data (binary as an array of numbers: Chatpot sends none).
fn json(data: &Data) -> Value {
    match data {
        Data::Null => Value::Null,
        Data::Bool(b) => Value::Bool(*b),
        Data::Number(n) => Value::Number(n.clone()),
        Data::String(s) => Value::String(s.clone()),
        Data::Array(items) => Value::Array(items.iter().map(json).collect()),
        Data::Object(map) => Value::Object(map.iter().map(|(k, v)| (k.clone(), json(v))).collect()),
        Data::Binary(bytes) => json!(bytes),
    }
}

/// The next event the node sends in `/`: its name and its arguments.
pub(super) async fn next_event(client: &mut SioClient) -> Result<(String, Vec<Value>), Failure> {
    loop {
        let p = client.recv().await?;
        if p.namespace != NS || p.packet_type != PacketType::Event {
            continue;
        }
        let Some(Data::Array(items)) = p.data else {
            return Err(crate::broken!("an event without arguments: {:?}", p.data));
        };
        let mut items: Vec<Value> = items.iter().map(json).collect();
        ensure!(!items.is_empty(), "an event without a name");
        let Value::String(name) = items.remove(0) else {
            return Err(crate::broken!("an event whose name is not a string"));
        };
        return Ok((name, items));
    }
}

/// The next event, which must be `name` with one argument the codec accepts
/// as that event's payload; the payload.
pub(super) async fn expect(client: &mut SioClient, name: &str) -> Result<Value, Failure> {
    let (got, args) = next_event(client).await?;
    ensure!(
        got == name,
        "expected the event {name}, got {got} {}",
        Value::Array(args)
    );
    valid(&got, &args)
}

/// Checks an event against the codec: one argument, the documented shape of `name`; the payload.
pub(super) fn valid(name: &str, args: &[Value]) -> Result<Value, Failure> {
    let mut items = vec![Value::from(name)];
    items.extend(args.iter().cloned());
    let event = Value::Array(items);
    let violations = Chatpot::validate(None, event.to_string().as_bytes());
    ensure!(
        violations.is_empty(),
        "{name} breaks the document: {} ({event})",
        violations
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("; ")
    );
    Ok(args.first().cloned().unwrap_or(Value::Null))
}

/// Presents `token` with `postinit_req`; the answer's name and payload
/// (`postinit_res`, the deployed `init_res`, or `server_error`).
pub(super) async fn postinit_answer(
    client: &mut SioClient,
    payload: Value,
) -> Result<(String, Value), Failure> {
    client
        .emit(NS, "postinit_req", vec![Data::from(payload)], None)
        .await?;
    let (name, args) = next_event(client).await?;
    let payload = valid(&name, &args)?;
    Ok((name, payload))
}

/// Presents a member token and checks it was accepted (`postinit_res` or
/// the deployed `init_res`, `success: true`).
pub(super) async fn postinit(client: &mut SioClient, token: &str) -> Result<(), Failure> {
    let (name, payload) = postinit_answer(client, json!({ "token": token })).await?;
    ensure!(
        name == "postinit_res" || name == "init_res",
        "postinit_req with a member token was answered {name} {payload}"
    );
    Ok(())
}

/// A client connected and logged in as `token`.
pub(super) async fn logged_in(
    ctx: &Ctx,
    version: EioVersion,
    token: &str,
) -> Result<SioClient, Failure> {
    let mut client = connect(ctx, version).await?;
    postinit(&mut client, token).await?;
    Ok(client)
}

/// A new member in `rooms`, logged in.
pub(super) async fn member_in(
    ctx: &Ctx,
    version: EioVersion,
    rooms: &[&str],
) -> Result<(String, SioClient), Failure> {
    let token = member(ctx).await?;
    for r in rooms {
        join(ctx, r, &token).await?;
    }
    let client = logged_in(ctx, version, &token).await?;
    Ok((token, client))
}

/// The next `message` event `client` gets, checked against the codec.
pub(super) async fn message(client: &mut SioClient) -> Result<Value, Failure> {
    expect(client, "message").await
}

/// How long a client listens for a message that must not come (after a
/// positive marker showed that messages flow).
pub(super) fn quiet(ctx: &Ctx) -> Duration {
    ctx.wait / 2
}

/// Fails if `client` gets any event within [`quiet`].
pub(super) async fn silent(ctx: &Ctx, client: &mut SioClient, who: &str) -> Result<(), Failure> {
    match tokio::time::timeout(quiet(ctx), next_event(client)).await {
        Err(_) => Ok(()),
        Ok(Ok((name, args))) => Err(crate::broken!(
            "{who} received {name} {}",
            Value::Array(args)
        )),
        Ok(Err(e)) => Err(e),
    }
}
