//! `socketio.*.handshake.*` and `socketio.*.close.*`: opening a session (the
//! `open` packet, requests refused before a session exists) and closing it.

use std::time::Duration;

use protocols::engineio::{EioVersion, PacketType as EioType, Payload};
use serde_json::Value;

use super::helpers::{endpoint, expect_websocket_refused, no_auto, raw};
use crate::case::{Ctx, Failure, Outcome};
use crate::driver::engineio::{EioClient, Options};
use crate::{broken, ensure, ensure_eq};

use EioVersion::V4;

case! {
    suite: socketio,
    name: "handshake.polling-open-packet",
    level: Must,
    spec: {
        v3: "engine.io-protocol v3 §0 open",
        v4: "engine.io-protocol v4 §Handshake",
    },
    title: "A polling GET without sid opens a session: the first packet is `open` with sid, upgrades [\"websocket\"], pingInterval, pingTimeout (and maxPayload in v4)",
    run: polling_open_packet,
}
async fn polling_open_packet(ctx: Ctx, v: EioVersion) -> Outcome {
    let ep = endpoint(&ctx, v)?;
    let reply = raw(
        &ctx,
        reqwest::Method::GET,
        &ep.url(&ep.query("polling", None)),
        None,
    )
    .await?;
    ensure_eq!(reply.status, 200, "the handshake GET's status");
    let payload = Payload::decode(v, &reply.body)
        .map_err(|e| broken!("the handshake is not a v{} payload: {e}", v.query_value()))?;
    let first = payload
        .packets
        .first()
        .ok_or_else(|| broken!("the handshake payload is empty"))?;
    ensure_eq!(first.packet_type, EioType::Open, "the first packet's type");
    check_handshake(v, first.as_text().unwrap_or_default(), true)
}

case! {
    suite: socketio,
    name: "handshake.websocket-open-packet",
    level: Must,
    spec: {
        v3: "engine.io-protocol v3 §WebSocket",
        v4: "engine.io-protocol v4 §WebSocket",
    },
    title: "A WebSocket opened without sid gets the `open` packet first, with the handshake fields",
    run: websocket_open_packet,
}
async fn websocket_open_packet(ctx: Ctx, v: EioVersion) -> Outcome {
    let ep = endpoint(&ctx, v)?;
    let client = EioClient::websocket(&ctx, ep, no_auto()).await?;
    let text =
        serde_json::to_string(&client.handshake).map_err(|e| Failure::Harness(e.to_string()))?;
    check_handshake(v, &text, false)
}

case! {
    suite: socketio,
    name: "handshake.websocket-no-upgrades",
    level: Should,
    spec: {
        v3: "engine.io-protocol v3 §Transport upgrading",
        v4: "engine.io-protocol v4 §Handshake",
    },
    title: "A session opened over WebSocket offers no further upgrades (`upgrades: []`)",
    run: websocket_no_upgrades,
}
async fn websocket_no_upgrades(ctx: Ctx, v: EioVersion) -> Outcome {
    let ep = endpoint(&ctx, v)?;
    let client = EioClient::websocket(&ctx, ep, no_auto()).await?;
    let upgrades = client.handshake.upgrades.clone().unwrap_or_default();
    ensure!(
        upgrades.is_empty(),
        "a WebSocket session offered upgrades {upgrades:?}"
    );
    Ok(())
}

case! {
    suite: socketio,
    name: "handshake.test-profile-timings",
    level: Info,
    spec: { v3 | v4: "specs/README.md §Facts: Socket.IO's own protocol test suites" },
    title: "The echo app announces the test suites' timings: pingInterval 300, pingTimeout 200, maxPayload 1000000",
    run: test_profile_timings,
}
async fn test_profile_timings(ctx: Ctx, v: EioVersion) -> Outcome {
    let ep = endpoint(&ctx, v)?;
    let client = EioClient::polling(&ctx, ep, no_auto()).await?;
    let h = &client.handshake;
    ensure_eq!(
        (h.ping_interval, h.ping_timeout, h.max_payload),
        (300, 200, Some(1_000_000)),
        "(pingInterval, pingTimeout, maxPayload)"
    );
    Ok(())
}

// The v4 document makes EIO mandatory and a request without it a 400; the
// v3 document only lists EIO among the reserved keys of an optional query
// string and states no refusal, so for v3 the 400 is the project's choice.
case! {
    suite: socketio,
    name: "handshake.bad-eio-400",
    level: { v3: Info, v4: Must },
    spec: {
        v3: "engine.io-protocol v3 §URLs",
        v4: "engine.io-protocol v4 §Query parameters",
    },
    title: {
        v3: "A request with a missing or non-numeric EIO parameter is answered 400 (the v3 document states no refusal)",
        v4: "A request with a missing or non-numeric EIO parameter is answered 400",
    },
    run: bad_eio,
}
async fn bad_eio(ctx: Ctx, v: EioVersion) -> Outcome {
    let ep = endpoint(&ctx, v)?;
    for query in [
        "transport=polling",
        "EIO=abc&transport=polling",
        "EIO=9&transport=polling",
    ] {
        let reply = raw(&ctx, reqwest::Method::GET, &ep.url(query), None).await?;
        ensure_eq!(reply.status, 400, "the status for `?{query}`");
    }
    Ok(())
}

case! {
    suite: socketio,
    name: "handshake.websocket-bad-eio-refused",
    level: { v3: Info, v4: Must },
    spec: {
        v3: "engine.io-protocol v3 §URLs",
        v4: "engine.io-protocol v4 §Query parameters",
    },
    title: {
        v3: "A WebSocket opened with a missing or non-numeric EIO parameter is refused (no open packet); the v3 document states no rule, this is the reference server's choice",
        v4: "A WebSocket opened with a missing or non-numeric EIO parameter is refused (no open packet)",
    },
    run: websocket_bad_eio,
}
async fn websocket_bad_eio(ctx: Ctx, v: EioVersion) -> Outcome {
    let ep = endpoint(&ctx, v)?;
    let base = ep.base.replacen("http", "ws", 1);
    for query in ["transport=websocket", "EIO=abc&transport=websocket"] {
        let url = format!("{base}{}?{query}", ep.path);
        expect_websocket_refused(&ctx, &url, &format!("a WebSocket with `?{query}`")).await?;
    }
    Ok(())
}

case! {
    suite: socketio,
    name: "handshake.bad-transport-400",
    level: Must,
    spec: {
        v3: "engine.io-protocol v3 §URLs",
        v4: "engine.io-protocol v4 §Query parameters",
    },
    title: "A request with a missing or unknown transport is answered 400",
    run: bad_transport,
}
async fn bad_transport(ctx: Ctx, v: EioVersion) -> Outcome {
    let ep = endpoint(&ctx, v)?;
    let n = v.query_value();
    for query in [format!("EIO={n}"), format!("EIO={n}&transport=abc")] {
        let reply = raw(&ctx, reqwest::Method::GET, &ep.url(&query), None).await?;
        ensure_eq!(reply.status, 400, "the status for `?{query}`");
    }
    Ok(())
}

case! {
    suite: socketio,
    name: "handshake.post-without-sid-400",
    level: Must,
    spec: {
        v3: "engine.io-protocol v3 §Polling",
        v4: "engine.io-protocol v4 §HTTP long-polling",
    },
    title: "A POST (or PUT) without a sid is answered 400: only a GET opens a session",
    run: post_without_sid,
}
async fn post_without_sid(ctx: Ctx, v: EioVersion) -> Outcome {
    let ep = endpoint(&ctx, v)?;
    let url = ep.url(&ep.query("polling", None));
    for method in [reqwest::Method::POST, reqwest::Method::PUT] {
        let reply = raw(&ctx, method.clone(), &url, Some("1:6")).await?;
        ensure_eq!(reply.status, 400, "the status of a {method} without sid");
    }
    Ok(())
}

case! {
    suite: socketio,
    name: "handshake.unknown-sid-400",
    level: Must,
    spec: {
        v3: "engine.io-protocol v3 §URLs",
        v4: "engine.io-protocol v4 §Query parameters",
    },
    title: "A poll or a POST with an unknown sid is answered 400",
    run: unknown_sid,
}
async fn unknown_sid(ctx: Ctx, v: EioVersion) -> Outcome {
    let ep = endpoint(&ctx, v)?;
    let url = ep.url(&ep.query("polling", Some("chatspec-no-such-sid")));
    let reply = raw(&ctx, reqwest::Method::GET, &url, None).await?;
    ensure_eq!(
        reply.status,
        400,
        "the status of a poll with an unknown sid"
    );
    let body = if v == V4 { "6" } else { "1:6" };
    let reply = raw(&ctx, reqwest::Method::POST, &url, Some(body)).await?;
    ensure_eq!(
        reply.status,
        400,
        "the status of a POST with an unknown sid"
    );
    Ok(())
}

// ---------------------------------------------------------------- close

case! {
    suite: socketio,
    name: "close.polling",
    level: Must,
    spec: {
        v3: "engine.io-protocol v3 §1 close",
        v4: "engine.io-protocol v4 §Protocol",
    },
    title: "A close packet POSTed while a poll is pending ends the poll (with a noop) and the session; POSTed with no poll pending, it ends the session too",
    run: close_polling,
}
async fn close_polling(ctx: Ctx, v: EioVersion) -> Outcome {
    close_with_poll_pending(&ctx, v).await?;
    close_without_poll(&ctx, v).await
}

/// The close packet's body in this version's payload encoding.
fn close_body(v: EioVersion) -> &'static str {
    if v == V4 {
        "1"
    } else {
        "1:1"
    }
}

async fn close_without_poll(ctx: &Ctx, v: EioVersion) -> Outcome {
    let ep = endpoint(ctx, v)?;
    let client = EioClient::polling(ctx, ep.clone(), no_auto()).await?;
    let url = ep.url(&ep.query("polling", Some(client.sid())));
    let reply = raw(ctx, reqwest::Method::POST, &url, Some(close_body(v))).await?;
    ensure_eq!(
        reply.status,
        200,
        "the close POST's status (no poll pending)"
    );
    session_gone(ctx, v, &url, "no poll pending").await
}

/// After a close packet the session is gone: the next poll is refused, or
/// carries what was queued before the close and ends with it, and the one
/// after that is refused.
async fn session_gone(ctx: &Ctx, v: EioVersion, url: &str, order: &str) -> Outcome {
    let after = raw(ctx, reqwest::Method::GET, url, None).await?;
    if after.status == 200 {
        let last = Payload::decode(v, &after.body)
            .map_err(|e| broken!("the poll after the close ({order}): {e}"))?;
        ensure!(
            last.packets
                .iter()
                .any(|p| matches!(p.packet_type, EioType::Noop | EioType::Close)),
            "after the close packet ({order}) the session went on: {:?}",
            after.text()
        );
        let gone = raw(ctx, reqwest::Method::GET, url, None).await?;
        ensure_eq!(gone.status, 400, "a poll after the close ({order})");
        return Ok(());
    }
    ensure_eq!(after.status, 400, "a poll after the close ({order})");
    Ok(())
}

async fn close_with_poll_pending(ctx: &Ctx, v: EioVersion) -> Outcome {
    let ctx = ctx.clone();
    let ep = endpoint(&ctx, v)?;
    let client = EioClient::polling(&ctx, ep.clone(), no_auto()).await?;
    let url = ep.url(&ep.query("polling", Some(client.sid())));
    let pending = {
        let ctx = ctx.clone();
        let url = url.clone();
        tokio::spawn(async move { raw(&ctx, reqwest::Method::GET, &url, None).await })
    };
    tokio::time::sleep(Duration::from_millis(50)).await;
    let reply = raw(&ctx, reqwest::Method::POST, &url, Some(close_body(v))).await?;
    ensure_eq!(reply.status, 200, "the close POST's status");
    let pending = pending
        .await
        .map_err(|e| Failure::Harness(e.to_string()))??;
    ensure_eq!(pending.status, 200, "the pending poll's status");
    let payload =
        Payload::decode(v, &pending.body).map_err(|e| broken!("the pending poll's body: {e}"))?;
    let ended = payload
        .packets
        .iter()
        .any(|p| matches!(p.packet_type, EioType::Noop | EioType::Close));
    if ended {
        let after = raw(&ctx, reqwest::Method::GET, &url, None).await?;
        ensure_eq!(after.status, 400, "a poll after the close");
        return Ok(());
    }
    // The pending poll carried packets queued before the close; the next one must end it.
    session_gone(&ctx, v, &url, "a poll pending").await
}

case! {
    suite: socketio,
    name: "close.websocket",
    level: Must,
    spec: {
        v3: "engine.io-protocol v3 §1 close",
        v4: "engine.io-protocol v4 §WebSocket",
    },
    title: "A close packet over WebSocket closes the connection",
    run: close_websocket,
}
async fn close_websocket(ctx: Ctx, v: EioVersion) -> Outcome {
    let ep = endpoint(&ctx, v)?;
    let mut client = EioClient::websocket(
        &ctx,
        ep,
        Options {
            auto_poll: false,
            auto_pong: true,
            auto_ping: false,
        },
    )
    .await?;
    client.close().await?;
    client.expect_closed(ctx.wait).await?;
    Ok(())
}

// ---------------------------------------------------------------- helpers

/// The `open` packet's JSON, checked field by field.
fn check_handshake(v: EioVersion, text: &str, expect_upgrades: bool) -> Outcome {
    let value: Value =
        serde_json::from_str(text).map_err(|e| broken!("the open packet is not JSON: {e}"))?;
    let obj = value
        .as_object()
        .ok_or_else(|| broken!("the open packet's data is not an object: {text}"))?;
    let sid = obj.get("sid").and_then(Value::as_str);
    ensure!(
        sid.is_some_and(|s| !s.is_empty()),
        "sid must be a non-empty string: {text}"
    );
    for key in ["pingInterval", "pingTimeout"] {
        ensure!(
            obj.get(key).and_then(Value::as_u64).is_some_and(|n| n > 0),
            "{key} must be a positive integer: {text}"
        );
    }
    let upgrades = obj.get("upgrades").and_then(Value::as_array);
    ensure!(upgrades.is_some(), "upgrades must be an array: {text}");
    if expect_upgrades {
        ensure!(
            upgrades.is_some_and(|u| u.iter().any(|t| t == "websocket")),
            "a polling session must offer the websocket upgrade: {text}"
        );
    }
    if v == V4 {
        ensure!(
            obj.get("maxPayload").and_then(Value::as_u64).is_some(),
            "v4 handshakes carry maxPayload: {text}"
        );
    }
    Ok(())
}
