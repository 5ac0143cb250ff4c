//! `circles.auth.*`: `authenticate {token}` with a user's or a device's JWT answered on `success` or `error`, and every other channel refused on `error` before it.

use protocols::engineio::EioVersion;
use serde_json::{json, Value};

use super::helpers::{authenticated, circle, connect, device, user};
use crate::case::{Ctx, Outcome};
use crate::ensure;

case! {
    suite: circles,
    name: "auth.user-token",
    level: Must,
    spec: { v3: "003_415bfb4e4fd8fc5e.txt §Library", v4: "003_415bfb4e4fd8fc5e.txt §Basics" },
    title: "`authenticate {token}` with a user's JWT is answered on `success`",
    run: user_token,
}
async fn user_token(ctx: Ctx, v: EioVersion) -> Outcome {
    let a = user(&ctx).await?;
    authenticated(&ctx, v, &a.token).await?;
    Ok(())
}

case! {
    suite: circles,
    name: "auth.device-token",
    level: Must,
    spec: { v3 | v4: "003_415bfb4e4fd8fc5e.txt §Basics" },
    title: "`authenticate {token}` with a device's JWT is answered on `success`",
    run: device_token,
}
async fn device_token(ctx: Ctx, v: EioVersion) -> Outcome {
    let a = user(&ctx).await?;
    let c = circle(&ctx, &[&a]).await?;
    let d = device(&ctx, c).await?;
    authenticated(&ctx, v, &d.token).await?;
    Ok(())
}

/// Refusal of `authenticate` with `payload` on `error` (a reason string),
/// after which the socket is still not authenticated.
async fn refused_token(ctx: Ctx, v: EioVersion, payload: fn(&str) -> Value) -> Outcome {
    let a = user(&ctx).await?;
    let mut client = connect(&ctx, v).await?;
    let reason = client
        .refused("authenticate", Some(payload(&a.token)))
        .await?;
    ensure!(
        reason.as_str().is_some_and(|r| !r.is_empty()),
        "the `error` should carry a reason, got {reason}"
    );
    client
        .refused("webrtc_credentials", None)
        .await
        .map(drop)
        .map_err(|f| crate::broken!("after a refused token the socket acted authenticated: {f}"))
}

/// The token with its signature replaced: signed by someone else.
fn resigned(token: &str) -> Value {
    let (signed, _) = token.rsplit_once('.').unwrap_or((token, ""));
    json!({ "token": format!("{signed}.c2lnbmVkLWJ5LXNvbWVvbmUtZWxzZQ") })
}

table! {
    suite: circles,
    level: Must,
    spec: { v3 | v4: "003_415bfb4e4fd8fc5e.txt §Basics" },
    run: refused_token,
    cases: [
        ("auth.garbage-token-error", "`authenticate` with a token that is no JWT is answered on `error` with a reason; the socket stays unauthenticated",
            |_| json!({"token": "not-a-jwt"})),
        ("auth.bad-signature-error", "`authenticate` with a JWT signed with another secret is answered on `error`; the socket stays unauthenticated",
            resigned),
        ("auth.missing-token-error", "`authenticate` without `token` is answered on `error`; the socket stays unauthenticated",
            |_| json!({})),
    ],
}

case! {
    suite: circles,
    name: "auth.required-first",
    level: Must,
    spec: { v3 | v4: "003_415bfb4e4fd8fc5e.txt §Listened Channels" },
    title: "Before `authenticate`, every listened channel that takes parameters is answered on `error`",
    run: required_first,
}
async fn required_first(ctx: Ctx, v: EioVersion) -> Outcome {
    let a = user(&ctx).await?;
    let c = circle(&ctx, &[&a]).await?;
    let mut client = connect(&ctx, v).await?;
    let requests = [
        ("join_circle", json!({"circle_id": c})),
        ("leave_circle", json!({"circle_id": c})),
        ("join_conversation", json!({"conversation_id": c})),
        ("leave_conversation", json!({"conversation_id": c})),
        (
            "message",
            json!({"conversation_id": c, "text_message": "hi"}),
        ),
        ("writing", json!({"conversation_id": c, "is_writing": true})),
        ("webrtc_forward", json!({"user_id": a.id, "offer": "sdp"})),
    ];
    for (name, payload) in requests {
        client.refused(name, Some(payload)).await?;
    }
    Ok(())
}
