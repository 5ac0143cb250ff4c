//! `assa.announce.*`, `assa.ping.*`, `assa.timeout.*`, `assa.limit.*`,
//! `assa.reconnect.*`: SERVER_ANNOUNCEMENT (§8.1), PING/PONG (§8.2), the
//! timeouts of §10.2 (from the target's configured intervals), the frame
//! limit of §10.1 and the session recovery of §10.3.

use std::time::Duration;

use serde_json::json;

use super::helpers::{
    clients, connected, harness_request, join, ok, open, open_room, say, target, users, valid,
};
use crate::case::{Ctx, Failure, Outcome};
use crate::{broken, ensure, ensure_eq};

case! {
    suite: assa,
    name: "announce.broadcast",
    level: Must,
    spec: "004_636ae579ed5d2364.txt §8.1",
    title: "SERVER_ANNOUNCEMENT (title, message, priority, announcement_type) reaches every connected user (needs the target's announce trigger)",
    run: announce,
}
async fn announce(ctx: Ctx) -> Outcome {
    let t = target(&ctx)?;
    let trigger = t
        .announce
        .clone()
        .ok_or_else(|| Failure::Unimplemented("the assa target has no announce trigger".into()))?;
    let mut cs = clients(&ctx, 2).await?;
    let title = format!("chatspec {}", cs[0].0.id);
    let values = [("title", title.as_str()), ("message", "서버 점검 안내")];
    let body = trigger
        .body
        .as_deref()
        .map(|b| crate::target::HttpTemplate::fill(b, &values));
    harness_request(&ctx, &trigger, &values, body).await?;
    for (u, c) in &mut cs {
        let m = c
            .expect_where("SERVER_ANNOUNCEMENT", ctx.wait, |m| {
                m["action"] == "SERVER_ANNOUNCEMENT" && m["data"]["title"] == title.as_str()
            })
            .await
            .map_err(|e| broken!("user {}: {e}", u.id))?;
        valid(&m)?;
        let d = &m["data"];
        ensure!(
            d["message"].is_string()
                && d["priority"].is_string()
                && d["announcement_type"].is_string(),
            "SERVER_ANNOUNCEMENT lacks message, priority or announcement_type: {d}"
        );
    }
    Ok(())
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

case! {
    suite: assa,
    name: "ping.server-pings",
    level: Must,
    spec: "004_636ae579ed5d2364.txt §8.2",
    title: "An authenticated session receives PING (with timestamp and seq_id) within the target's ping interval",
    run: server_pings,
}
async fn server_pings(ctx: Ctx) -> Outcome {
    let interval = target(&ctx)?.ping_interval_ms;
    let (_, mut c) = clients(&ctx, 1).await?.remove(0);
    let m = c.expect_within("PING", ms(interval) + ctx.wait).await?;
    valid(&m)?;
    Ok(())
}

case! {
    suite: assa,
    name: "timeout.pong-keeps-session",
    level: Must,
    spec: "004_636ae579ed5d2364.txt §10.2",
    title: "A client that answers every PING with PONG is still served after the PONG timeout has passed twice over",
    run: pong_keeps,
}
async fn pong_keeps(ctx: Ctx) -> Outcome {
    let t = target(&ctx)?;
    let span = ms(t.pong_timeout_ms * 2 + t.ping_interval_ms);
    let (_, mut c) = clients(&ctx, 1).await?.remove(0);
    let pings = c.collect("PING", span).await?;
    ensure!(
        c.closed().is_none(),
        "the session was closed: {}",
        c.closed().unwrap_or_default()
    );
    ensure!(
        pings.len() >= 2,
        "only {} PINGs in {} ms",
        pings.len(),
        span.as_millis()
    );
    let r = c.request("ROOM_INFO", json!({ "room_id": 1 })).await?;
    ensure_eq!(r["action"].as_str(), Some("ROOM_INFO_RESPONSE"), "action");
    Ok(())
}

case! {
    suite: assa,
    name: "timeout.no-pong-closes",
    level: Must,
    spec: "004_636ae579ed5d2364.txt §10.2",
    title: "A session that gets PINGs and never answers is closed after the PONG timeout, not before",
    run: no_pong,
}
async fn no_pong(ctx: Ctx) -> Outcome {
    let t = target(&ctx)?;
    let (_, mut c) = clients(&ctx, 1).await?.remove(0);
    c.set_auto_pong(false);
    let started = tokio::time::Instant::now();
    c.expect_closed(ms(t.pong_timeout_ms + t.ping_interval_ms) + ctx.wait)
        .await?;
    let after = started.elapsed();
    ensure!(
        after + ms(t.ping_interval_ms) >= ms(t.pong_timeout_ms),
        "closed after {} ms, before the PONG timeout of {} ms",
        after.as_millis(),
        t.pong_timeout_ms
    );
    let pings = c.mailbox().filter(|m| m["action"] == "PING").count();
    ensure!(
        pings >= 1,
        "the session was closed for lack of PONG without ever getting a PING"
    );
    Ok(())
}

case! {
    suite: assa,
    name: "timeout.connect-timeout",
    level: Must,
    spec: "004_636ae579ed5d2364.txt §10.2",
    title: "A connection that sends no CONNECT is closed after the connection timeout, not before, and gets no PING",
    run: connect_timeout,
}
async fn connect_timeout(ctx: Ctx) -> Outcome {
    let t = target(&ctx)?;
    let mut c = open(&ctx, "silent client").await?;
    let started = tokio::time::Instant::now();
    c.expect_closed(ms(t.connect_timeout_ms) + ctx.wait).await?;
    let after = started.elapsed();
    ensure!(
        after * 2 >= ms(t.connect_timeout_ms),
        "closed after {} ms, long before the connection timeout of {} ms",
        after.as_millis(),
        t.connect_timeout_ms
    );
    let pings = c.mailbox().filter(|m| m["action"] == "PING").count();
    ensure!(
        pings == 0,
        "an unauthenticated connection got {pings} PINGs"
    );
    Ok(())
}

case! {
    suite: assa,
    name: "limit.message-over-1mb",
    level: Must,
    spec: "004_636ae579ed5d2364.txt §10.1",
    title: "A message over the 1 MB limit is refused with ERROR (success: false) and the connection is closed",
    run: too_large,
}
async fn too_large(ctx: Ctx) -> Outcome {
    let max = target(&ctx)?.max_frame_bytes;
    let (_, mut c) = clients(&ctx, 1).await?.remove(0);
    let room = open_room(&mut c).await?;
    let filler = "a".repeat(max);
    let m = c.envelope(
        "SEND_MESSAGE",
        json!({ "room_id": room, "content": filler, "message_type": "text", "client_message_id": "big" }),
    );
    // The server may close while the rest is still being written.
    let _ = c.send(&m).await;
    let r = c.expect("ERROR").await?;
    ensure!(r["success"] == false, "ERROR without success: false: {r}");
    c.expect_closed(ctx.wait).await?;
    Ok(())
}

case! {
    suite: assa,
    name: "reconnect.session-restored",
    level: Must,
    spec: "004_636ae579ed5d2364.txt §10.3",
    title: "After its connection drops, the same token reconnects and gets its rooms in existing_rooms, the messages it missed counted in unread_messages and listed by CHECK_RECEIVE",
    run: reconnect,
}
async fn reconnect(ctx: Ctx) -> Outcome {
    let us = users(&ctx, 2).await?;
    let mut host = connected(&ctx, &us[0], "host").await?;
    let mut guest = connected(&ctx, &us[1], "guest").await?;
    let room = open_room(&mut host).await?;
    join(&mut guest, room).await?;
    guest.close().await;
    drop(guest);
    // The client's first retry (§10.3: after 1 s) would find these waiting.
    let missed = say(&mut host, room, "while you were away").await?["message_id"].clone();
    let mut guest = open(&ctx, "guest, reconnected").await?;
    let r = guest.connect(&us[1].token).await?;
    let d = ok(&r, "CONNECT")?;
    let info = &d["reconnection_info"];
    ensure!(
        info["existing_rooms"]
            .as_array()
            .is_some_and(|a| a.iter().any(|x| x.as_u64() == Some(room))),
        "existing_rooms lacks room {room}: {info}"
    );
    ensure!(
        info["unread_messages"].as_u64().is_some_and(|n| n >= 1),
        "unread_messages does not count the missed message: {info}"
    );
    let r = guest
        .request(
            "CHECK_RECEIVE",
            json!({ "room_id": room, "message_ids": [] }),
        )
        .await?;
    let d = ok(&r, "CHECK_RECEIVE")?;
    ensure!(
        d["pending_messages"]
            .as_array()
            .is_some_and(|a| a.iter().any(|m| m["message_id"] == missed)),
        "pending_messages lacks the missed message {missed}: {}",
        d["pending_messages"]
    );
    Ok(())
}
