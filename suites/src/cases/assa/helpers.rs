//! What the `assa.*` cases share: the target, fresh users (provisioned,
//! minted or taken from the target's list), connected clients, and the
//! checks of responses every case makes.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::OnceLock;
use std::time::Duration;

use protocols::assa::{Assa, Timestamp};
use protocols::Dialect;
use serde_json::{json, Value};

use crate::case::{Ctx, Failure};
use crate::driver::assa::{AssaClient, AssaEndpoint};
use crate::target::{AssaTarget, HttpTemplate};
use crate::{broken, ensure};

/// The context's assa target (`unimplemented` without one).
pub(super) fn target(ctx: &Ctx) -> Result<&AssaTarget, Failure> {
    ctx.targets
        .get::<AssaTarget>()
        .ok_or_else(|| Failure::Unimplemented("no assa target".into()))
}

/// Where the target is.
pub(super) fn endpoint(ctx: &Ctx) -> Result<AssaEndpoint, Failure> {
    let t = target(ctx)?;
    Ok(AssaEndpoint {
        addr: t.addr().to_owned(),
        framing: t.framing.into(),
    })
}

/// Where the limit cases run (`[assa.limits]`).
pub(super) fn limits_endpoint(ctx: &Ctx) -> Result<AssaEndpoint, Failure> {
    let t = target(ctx)?;
    Ok(AssaEndpoint {
        addr: t.limits_addr().to_owned(),
        framing: t.framing.into(),
    })
}

/// A user of the target and a token the target accepts for it.
#[derive(Debug, Clone)]
pub(super) struct User {
    pub id: u64,
    pub token: String,
}

static NEXT_USER: OnceLock<AtomicU64> = OnceLock::new();
static NEXT_READY: AtomicUsize = AtomicUsize::new(0);

fn fresh_id(t: &AssaTarget) -> u64 {
    NEXT_USER
        .get_or_init(|| AtomicU64::new(t.first_fresh_user_id()))
        .fetch_add(1, Ordering::Relaxed)
}

/// Mints an HS256 token for `id` with the target's claims, expiring `exp_offset` seconds from now.
pub(super) fn mint(
    t: &AssaTarget,
    secret: &str,
    id: u64,
    exp_offset: i64,
) -> Result<String, Failure> {
    t.mint_token(secret, id, exp_offset)
        .map_err(Failure::Harness)
}

/// `n` users for this case alone (ready tokens are shared round-robin).
pub(super) async fn users(ctx: &Ctx, n: usize) -> Result<Vec<User>, Failure> {
    let t = target(ctx)?;
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        out.push(user(ctx, t).await?);
    }
    Ok(out)
}

async fn user(ctx: &Ctx, t: &AssaTarget) -> Result<User, Failure> {
    if let Some(p) = &t.users.provision {
        let id = fresh_id(t);
        let sid = id.to_string();
        let body = p
            .body
            .as_deref()
            .map(|b| HttpTemplate::fill(b, &[("id", &sid)]));
        let reply = harness_request(ctx, p, &[("id", &sid)], body).await?;
        let value: Value = serde_json::from_slice(&reply)
            .map_err(|e| Failure::Harness(format!("the provisioning answer is not JSON: {e}")))?;
        let token = value
            .pointer(&t.users.token_pointer)
            .and_then(Value::as_str)
            .ok_or_else(|| {
                Failure::Harness(format!(
                    "the provisioning answer has no token at {}",
                    t.users.token_pointer
                ))
            })?;
        return Ok(User {
            id,
            token: token.to_owned(),
        });
    }
    if let Some(secret) = &t.users.jwt_secret {
        let id = fresh_id(t);
        let expires = i64::try_from(t.users.expires_in_secs).unwrap_or(i64::MAX / 2);
        return Ok(User {
            id,
            token: mint(t, secret, id, expires)?,
        });
    }
    if t.users.tokens.is_empty() {
        return Err(Failure::Unimplemented(
            "the assa target says no way to get users (users.provision, users.jwt_secret or users.tokens)".into(),
        ));
    }
    let ready = &t.users.tokens[NEXT_READY.fetch_add(1, Ordering::Relaxed) % t.users.tokens.len()];
    Ok(User {
        id: ready.user_id,
        token: ready.token.clone(),
    })
}

pub(super) use crate::cases::http::harness_request;

/// A new connection, not authenticated.
pub(super) async fn open(ctx: &Ctx, what: &str) -> Result<AssaClient, Failure> {
    Ok(AssaClient::open(ctx, &endpoint(ctx)?, what).await?)
}

/// A new connection authenticated as `user`.
pub(super) async fn connected(ctx: &Ctx, user: &User, what: &str) -> Result<AssaClient, Failure> {
    connected_at(ctx, &endpoint(ctx)?, user, what).await
}

/// A new connection to `at`, authenticated as `user`.
pub(super) async fn connected_at(
    ctx: &Ctx,
    at: &AssaEndpoint,
    user: &User,
    what: &str,
) -> Result<AssaClient, Failure> {
    let mut client = AssaClient::open(ctx, at, what).await?;
    let r = client.connect(&user.token).await?;
    ok(&r, "CONNECT")?;
    ensure!(
        client.user_id == Some(user.id),
        "CONNECT_RESPONSE names user {:?}, the token's user is {}",
        r["data"]["user_id"],
        user.id
    );
    Ok(client)
}

/// `n` fresh users, each connected.
pub(super) async fn clients(ctx: &Ctx, n: usize) -> Result<Vec<(User, AssaClient)>, Failure> {
    let mut out = Vec::with_capacity(n);
    for (i, u) in users(ctx, n).await?.into_iter().enumerate() {
        let c = connected(ctx, &u, &format!("user {} ({})", i + 1, u.id)).await?;
        out.push((u, c));
    }
    Ok(out)
}

/// Checks a response: `<action>_RESPONSE`, `success: true`, a valid server
/// message; returns its `data`.
pub(super) fn ok<'a>(response: &'a Value, action: &str) -> Result<&'a Value, Failure> {
    let want = format!("{action}_RESPONSE");
    ensure!(
        response["action"] == want.as_str(),
        "expected {want}, got {response}"
    );
    ensure!(
        response["success"] == true,
        "{want} is not a success: {response}"
    );
    valid(response)?;
    Ok(&response["data"])
}

/// Checks a refusal: `success: false` with `code`.
pub(super) fn refused(response: &Value, action: &str, code: &str) -> Result<(), Failure> {
    let want = format!("{action}_RESPONSE");
    ensure!(
        response["action"] == want.as_str() || response["action"] == "ERROR",
        "expected {want} or ERROR, got {response}"
    );
    ensure!(
        response["success"] == false,
        "{action} should have been refused with {code}: {response}"
    );
    ensure!(
        response["error_code"] == code,
        "{action} refused with {} instead of {code}",
        response["error_code"]
    );
    valid(response)
}

/// Checks a server message against the codec's rules (every field of its shape).
pub(super) fn valid(message: &Value) -> Result<(), Failure> {
    let violations = Assa::validate(Some("server"), message.to_string().as_bytes());
    ensure!(
        violations.is_empty(),
        "{} breaks the document: {}",
        message["action"],
        violations
            .iter()
            .map(|v| v.to_string())
            .collect::<Vec<_>>()
            .join("; ")
    );
    Ok(())
}

/// A field that must be an ISO 8601 timestamp.
pub(super) fn timestamp(value: &Value, what: &str) -> Result<(), Failure> {
    ensure!(
        value.as_str().is_some_and(Timestamp::is_valid),
        "{what} is not an ISO 8601 timestamp: {value}"
    );
    Ok(())
}

/// Creates a room as `client`; its data.
pub(super) async fn create_room(client: &mut AssaClient, data: Value) -> Result<Value, Failure> {
    let r = client.request("CREATE_ROOM", data).await?;
    Ok(ok(&r, "CREATE_ROOM")?.clone())
}

/// Creates an open room as `client`; its id.
pub(super) async fn open_room(client: &mut AssaClient) -> Result<u64, Failure> {
    let d = create_room(
        client,
        json!({ "name": "chatspec", "description": "chatspec case", "is_open": true }),
    )
    .await?;
    d["room_id"]
        .as_u64()
        .ok_or_else(|| broken!("CREATE_ROOM_RESPONSE has no room_id: {d}"))
}

/// Joins `room` as `client`; the response's data.
pub(super) async fn join(client: &mut AssaClient, room: u64) -> Result<Value, Failure> {
    let r = client
        .request("JOIN_ROOM", json!({ "room_id": room }))
        .await?;
    Ok(ok(&r, "JOIN_ROOM")?.clone())
}

/// Sends a text message; the response's data.
pub(super) async fn say(client: &mut AssaClient, room: u64, text: &str) -> Result<Value, Failure> {
    let r = client
        .request(
            "SEND_MESSAGE",
            json!({
                "room_id": room, "content": text, "message_type": "text",
                "reply_to_message_id": null, "client_message_id": format!("c-{text}"),
            }),
        )
        .await?;
    Ok(ok(&r, "SEND_MESSAGE")?.clone())
}

/// How long a client listens for a message that must not come.
pub(super) fn quiet(ctx: &Ctx) -> Duration {
    ctx.wait / 2
}

/// A message id nobody has.
pub(super) const NO_SUCH_ID: u64 = 987_654_321_012;

/// Fails unless `client` received no message of `action` within [`quiet`].
pub(super) async fn receives_no(
    ctx: &Ctx,
    client: &mut AssaClient,
    action: &str,
    who: &str,
) -> Result<(), Failure> {
    let got = client.collect(action, quiet(ctx)).await?;
    ensure!(got.is_empty(), "{who} received {action}: {}", got[0]);
    Ok(())
}
