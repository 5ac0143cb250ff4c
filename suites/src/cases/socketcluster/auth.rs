//! `socketcluster.auth.*`: the authentication layer as socketcluster-server
//! implements it: `#setAuthToken` from a login, `#authenticate` and the
//! handshake's `authToken` (HS256 JWTs), the error names of refused tokens,
//! `#removeAuthToken`, and channels that require authentication (`#kickOut`).

use std::time::Duration;

use base64::Engine as _;
use serde_json::{json, Value};

use super::helpers::{auth, connect, error_of, ok_response, open, procedure, subscribe, target};
use crate::case::{Ctx, Failure, Outcome};
use crate::driver::socketcluster::ScClient;
use crate::{broken, ensure, ensure_eq};

/// Calls the target's login procedure for `user`; the token of the `#setAuthToken` it sends.
async fn login(ctx: &Ctx, client: &mut ScClient, user: &str) -> Result<String, Failure> {
    let login = procedure(ctx, "login", |p| &p.login)?;
    let response = client.invoke(&login, json!({ "user": user })).await?;
    ok_response(&response, "login")?;
    let wait = client.wait();
    let data = client.expect_event("#setAuthToken", wait).await?;
    data.get("token")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| broken!("#setAuthToken without a string token: {data}"))
}

/// The payload of a JWT (not verified).
fn payload(token: &str) -> Result<Value, Failure> {
    let part = token
        .split('.')
        .nth(1)
        .ok_or_else(|| broken!("{token:?} is not a JWT"))?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part.trim_end_matches('='))
        .map_err(|e| broken!("the JWT payload is not base64url: {e}"))?;
    serde_json::from_slice(&bytes).map_err(|e| broken!("the JWT payload is not JSON: {e}"))
}

/// `#authenticate` with `token`; the whole response.
async fn authenticate(client: &mut ScClient, token: &str) -> Result<Value, Failure> {
    Ok(client.invoke("#authenticate", json!(token)).await?)
}

/// Checks that the response to `#authenticate` refuses the token with the error `name`:
/// an error response (socketcluster-server 20) or `{isAuthenticated: false, authError}`.
fn refused(response: &Value, name: &str) -> Outcome {
    if response.get("error").is_some() {
        let (got, _) = error_of(response)?;
        ensure_eq!(got, name, "the error's name");
        return Ok(());
    }
    let status = response.get("data").cloned().unwrap_or(Value::Null);
    ensure_eq!(
        status.get("isAuthenticated"),
        Some(&json!(false)),
        "isAuthenticated"
    );
    ensure_eq!(
        status.pointer("/authError/name"),
        Some(&json!(name)),
        "the authError's name"
    );
    Ok(())
}

case! {
    suite: socketcluster,
    name: "auth.login-sets-token",
    level: Should,
    spec: "002_57bad640c3a657d6.txt §Overview",
    title: "A login sends #setAuthToken {token}: a JWT whose payload carries the user",
    run: login_sets_token,
}
async fn login_sets_token(ctx: Ctx) -> Outcome {
    auth(&ctx)?;
    let mut client = connect(&ctx).await?;
    let token = login(&ctx, &mut client, "alice").await?;
    let claims = payload(&token)?;
    ensure_eq!(
        claims.get("user"),
        Some(&json!("alice")),
        "the token's user"
    );
    Ok(())
}

case! {
    suite: socketcluster,
    name: "auth.authenticate-valid",
    level: Should,
    spec: "002_57bad640c3a657d6.txt §Overview",
    title: "#authenticate with a token the server signed is answered {isAuthenticated: true} without authError",
    run: authenticate_valid,
}
async fn authenticate_valid(ctx: Ctx) -> Outcome {
    auth(&ctx)?;
    let mut first = connect(&ctx).await?;
    let token = login(&ctx, &mut first, "bob").await?;
    let mut second = connect(&ctx).await?;
    let response = authenticate(&mut second, &token).await?;
    ok_response(&response, "#authenticate")?;
    let status = response.get("data").cloned().unwrap_or(Value::Null);
    ensure_eq!(
        status.get("isAuthenticated"),
        Some(&json!(true)),
        "isAuthenticated"
    );
    ensure!(
        status.get("authError").is_none_or(Value::is_null),
        "an authError for a valid token: {status}"
    );
    Ok(())
}

case! {
    suite: socketcluster,
    name: "auth.handshake-token",
    level: Should,
    spec: "002_57bad640c3a657d6.txt §The event layer: The SocketCluster handshake",
    title: "A #handshake carrying a valid authToken is answered isAuthenticated: true",
    run: handshake_token,
}
async fn handshake_token(ctx: Ctx) -> Outcome {
    auth(&ctx)?;
    let mut first = connect(&ctx).await?;
    let token = login(&ctx, &mut first, "carol").await?;
    let mut second = open(&ctx).await?;
    let status = second.handshake(Some(&token)).await?;
    ensure_eq!(
        status.get("isAuthenticated"),
        Some(&json!(true)),
        "isAuthenticated"
    );
    Ok(())
}

case! {
    suite: socketcluster,
    name: "auth.bad-signature",
    level: Should,
    spec: "specs/README.md §Facts: SocketCluster, as implemented",
    title: "#authenticate with a badly signed token is answered isAuthenticated: false, authError AuthTokenInvalidError",
    run: bad_signature,
}
async fn bad_signature(ctx: Ctx) -> Outcome {
    auth(&ctx)?;
    let mut first = connect(&ctx).await?;
    let token = login(&ctx, &mut first, "dave").await?;
    let (head, signature) = token
        .rsplit_once('.')
        .ok_or_else(|| broken!("{token:?} is not a JWT"))?;
    // Another first character changes the signature's first six bits.
    let first = if signature.starts_with('A') { 'B' } else { 'A' };
    let forged = format!("{head}.{first}{}", signature.get(1..).unwrap_or(""));
    let mut second = connect(&ctx).await?;
    let status = authenticate(&mut second, &forged).await?;
    refused(&status, "AuthTokenInvalidError")
}

case! {
    suite: socketcluster,
    name: "auth.expired",
    level: Should,
    spec: "specs/README.md §Facts: SocketCluster, as implemented",
    title: "#authenticate with an expired token is answered isAuthenticated: false, authError AuthTokenExpiredError",
    run: expired,
}
async fn expired(ctx: Ctx) -> Outcome {
    auth(&ctx)?;
    let secret = target(&ctx)?.token_secret.clone().ok_or_else(|| {
        Failure::Unimplemented("the target section gives no token_secret to sign with".into())
    })?;
    let claims =
        json!({"sub": "1", "user": "erin", "iat": 1_000_000_000u64, "exp": 1_000_000_060u64});
    let token = jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()),
    )
    .map_err(|e| Failure::Harness(format!("cannot sign a token: {e}")))?;
    let mut client = connect(&ctx).await?;
    let status = authenticate(&mut client, &token).await?;
    refused(&status, "AuthTokenExpiredError")
}

/// The target's channel that requires authentication (`unimplemented` without one).
fn auth_channel(ctx: &Ctx) -> Result<String, Failure> {
    target(ctx)?
        .auth_channel
        .clone()
        .ok_or_else(|| Failure::Unimplemented("the target names no auth_channel".into()))
}

case! {
    suite: socketcluster,
    name: "auth.channel-requires-auth",
    level: Should,
    spec: "002_57bad640c3a657d6.txt §Overview",
    title: "#subscribe to a channel that requires authentication is refused with an error unless the socket is authenticated",
    run: channel_requires_auth,
}
async fn channel_requires_auth(ctx: Ctx) -> Outcome {
    auth(&ctx)?;
    let channel = auth_channel(&ctx)?;
    let mut anonymous = connect(&ctx).await?;
    error_of(&subscribe(&mut anonymous, &channel).await?)?;
    let mut member = connect(&ctx).await?;
    login(&ctx, &mut member, "frank").await?;
    ok_response(
        &subscribe(&mut member, &channel).await?,
        "#subscribe after login",
    )
}

case! {
    suite: socketcluster,
    name: "auth.remove-token-kicks-out",
    level: Info,
    spec: "002_57bad640c3a657d6.txt §The pub/sub layer",
    title: "#removeAuthToken ends the authentication: the reference server kicks the socket out (#kickOut {channel}) of the channel that requires it",
    run: remove_token,
}
async fn remove_token(ctx: Ctx) -> Outcome {
    auth(&ctx)?;
    let channel = auth_channel(&ctx)?;
    let mut client = connect(&ctx).await?;
    login(&ctx, &mut client, "grace").await?;
    ok_response(
        &subscribe(&mut client, &channel).await?,
        "#subscribe after login",
    )?;
    client.transmit("#removeAuthToken", Value::Null).await?;
    let kicked = client
        .expect_event("#kickOut", Duration::from_millis(1_000))
        .await?;
    ensure_eq!(
        kicked.get("channel"),
        Some(&json!(channel)),
        "the #kickOut's channel"
    );
    error_of(&subscribe(&mut client, &channel).await?).map(drop)
}
