//! `circles.webrtc.*`: `webrtc_credentials` (time-limited TURN credentials in the TURN REST convention), `webrtc_stun_info` / `webrtc_turn_info` (the server lists) and `webrtc_forward` to one user or device on `webrtc_config`.

use base64::Engine;
use hmac::{Hmac, Mac};
use protocols::engineio::EioVersion;
use serde_json::{json, Value};
use sha1::Sha1;

use super::helpers::{authenticated, circle, device, field_is, target, user, Account};
use crate::case::{Ctx, Failure, Outcome};
use crate::{broken, ensure};

case! {
    suite: circles,
    name: "webrtc.credentials",
    level: Must,
    spec: { v3 | v4: "003_415bfb4e4fd8fc5e.txt §Events Webrtc" },
    title: "`webrtc_credentials` is answered on `webrtc_config` with `{username, password}`: username `<expiry>:<user>` expiring in the future, password base64(HMAC-SHA1(secret, username)) (checked when the target gives its TURN secret)",
    run: credentials,
}
async fn credentials(ctx: Ctx, v: EioVersion) -> Outcome {
    let a = user(&ctx).await?;
    let mut client = authenticated(&ctx, v, &a.token).await?;
    client.emit("webrtc_credentials", None).await?;
    let config = client.expect("webrtc_config").await?;
    let (Some(username), Some(password)) = (
        config.get("username").and_then(Value::as_str),
        config.get("password").and_then(Value::as_str),
    ) else {
        return Err(broken!("expected {{username, password}}, got {config}"));
    };
    let (expiry, name) = username
        .split_once(':')
        .ok_or_else(|| broken!("the username {username:?} is not `<expiry>:<user>`"))?;
    let expiry: u64 = expiry
        .parse()
        .map_err(|_| broken!("the username's expiry {expiry:?} is not a Unix time"))?;
    ensure!(!name.is_empty(), "the username {username:?} names no user");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    ensure!(
        expiry > now,
        "the credentials expire at {expiry}, before now ({now})"
    );
    let Some(secret) = target(&ctx)?.turn_secret.clone() else {
        return Ok(());
    };
    let mut mac = Hmac::<Sha1>::new_from_slice(secret.as_bytes())
        .map_err(|e| Failure::Harness(e.to_string()))?;
    mac.update(username.as_bytes());
    let expected = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    ensure!(
        password == expected,
        "the password {password:?} is not base64(HMAC-SHA1(secret, {username:?})) = {expected:?}"
    );
    Ok(())
}

/// A list of `{domain, ip, port}` servers on `webrtc_config`, answering `channel`.
async fn servers(ctx: Ctx, v: EioVersion, channel: &'static str) -> Outcome {
    let a = user(&ctx).await?;
    let mut client = authenticated(&ctx, v, &a.token).await?;
    client.emit(channel, None).await?;
    let config = client.expect("webrtc_config").await?;
    let list = config.as_array().ok_or_else(|| {
        broken!("`{channel}` should be answered with a server list, got {config}")
    })?;
    ensure!(
        !list.is_empty(),
        "`{channel}` was answered with an empty server list"
    );
    for server in list {
        ensure!(
            server.get("domain").is_some_and(Value::is_string)
                && server.get("port").is_some_and(Value::is_u64),
            "a server entry without `domain` and `port`: {server}"
        );
    }
    Ok(())
}

table! {
    suite: circles,
    level: Must,
    spec: { v3 | v4: "003_415bfb4e4fd8fc5e.txt §Events Webrtc" },
    run: servers,
    cases: [
        ("webrtc.stun-info", "`webrtc_stun_info` is answered on `webrtc_config` with the STUN servers `[{domain, ip, port}]`", "webrtc_stun_info"),
        ("webrtc.turn-info", "`webrtc_turn_info` is answered on `webrtc_config` with the TURN servers `[{domain, ip, port}]`", "webrtc_turn_info"),
    ],
}

/// How a forward names its recipient.
#[derive(Debug, Clone, Copy)]
enum By {
    Email,
    UserId,
    DeviceId,
}

/// `sender` forwards to the recipient named `by`: it gets
/// `{sender_id, is_device, content}`, the outsider does not (it gets the
/// next forward, addressed to it, first).
async fn forward(ctx: Ctx, v: EioVersion, by: By) -> Outcome {
    let a = user(&ctx).await?;
    let b = user(&ctx).await?;
    let o = user(&ctx).await?;
    let c = circle(&ctx, &[&a, &b, &o]).await?;
    let (recipient, address): (Account, Value) = match by {
        By::Email => (b.clone(), json!({"email": b.email})),
        By::UserId => (b.clone(), json!({"user_id": b.id})),
        By::DeviceId => {
            let d = device(&ctx, c).await?;
            let address = json!({"device_id": d.id});
            (d, address)
        }
    };
    let mut sender = authenticated(&ctx, v, &a.token).await?;
    let mut to = authenticated(&ctx, v, &recipient.token).await?;
    let mut outsider = authenticated(&ctx, v, &o.token).await?;
    let mut request = address;
    request["sdp"] = json!("offer-for-the-recipient");
    sender.request("webrtc_forward", request).await?;
    let got = to.expect("webrtc_config").await?;
    field_is(&got, "sender_id", &json!(a.id), "the forwarded message")?;
    field_is(&got, "is_device", &json!(false), "the forwarded message")?;
    ensure!(
        got.get("content").and_then(|c| c.get("sdp")) == Some(&json!("offer-for-the-recipient")),
        "the forwarded `content` should carry what the sender sent: {got}"
    );
    sender
        .request("webrtc_forward", json!({"user_id": o.id, "sdp": "marker"}))
        .await?;
    outsider
        .marker(
            |n, m| n == "webrtc_config" && m.pointer("/content/sdp") == Some(&json!("marker")),
            |n, m| n == "webrtc_config" && m.pointer("/content/sdp") != Some(&json!("marker")),
            "a forward reached a socket it was not addressed to",
        )
        .await
}

table! {
    suite: circles,
    level: Must,
    spec: { v3 | v4: "003_415bfb4e4fd8fc5e.txt §Events Webrtc" },
    run: forward,
    cases: [
        ("webrtc.forward-by-email", "`webrtc_forward {email, ...}` reaches that user only, as `webrtc_config {sender_id, is_device, content}`", By::Email),
        ("webrtc.forward-by-user-id", "`webrtc_forward {user_id, ...}` reaches that user only, as `webrtc_config {sender_id, is_device, content}`", By::UserId),
        ("webrtc.forward-by-device-id", "`webrtc_forward {device_id, ...}` reaches that device only, as `webrtc_config {sender_id, is_device, content}`", By::DeviceId),
    ],
}

case! {
    suite: circles,
    name: "webrtc.forward-errors",
    level: Must,
    spec: { v3 | v4: "003_415bfb4e4fd8fc5e.txt §Listened Channels" },
    title: "`webrtc_forward` naming no recipient, or an unknown one, is answered on `error`",
    run: forward_errors,
}
async fn forward_errors(ctx: Ctx, v: EioVersion) -> Outcome {
    let a = user(&ctx).await?;
    let mut client = authenticated(&ctx, v, &a.token).await?;
    client
        .refused("webrtc_forward", Some(json!({"sdp": "to nobody"})))
        .await?;
    client
        .refused(
            "webrtc_forward",
            Some(json!({"email": "nobody@chatspec.invalid", "sdp": "x"})),
        )
        .await?;
    Ok(())
}
