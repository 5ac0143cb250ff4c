//! `socketcluster.limits.*`: the reference server's limits (INFO: the
//! document sets none): the largest message, subscriptions per socket,
//! concurrent connections, each refused with its close code or an error,
//! and the bounded queue of a socket that stops reading.
//! A target section without the limit makes the case `unimplemented`.

use std::time::Duration;

use serde_json::json;
use tokio::time::Instant;

use super::helpers::{channel, connect, error_of, ok_response, pubsub, subscribe, target};
use crate::case::{Ctx, Failure, Outcome};
use crate::driver::socketcluster::ScClient;
use crate::{broken, ensure};

case! {
    suite: socketcluster,
    name: "limits.message-too-big",
    level: Info,
    spec: "specs/README.md §Facts: SocketCluster, as implemented",
    title: "A message larger than the server's limit closes the connection with 1009 (message too big)",
    run: message_too_big,
}
async fn message_too_big(ctx: Ctx) -> Outcome {
    let limit = target(&ctx)?
        .max_frame_bytes
        .ok_or_else(|| Failure::Unimplemented("the target names no max_frame_bytes".into()))?;
    let mut client = connect(&ctx).await?;
    let big = "x".repeat(limit + 1);
    client.transmit("chatspec-big", json!(big)).await?;
    let wait = client.wait();
    match client.closed_within(wait).await? {
        Some(Some(1009)) => Ok(()),
        Some(code) => Err(broken!("closed with {code:?}, expected 1009")),
        None => Err(broken!(
            "still open after a message of {} bytes (limit {limit})",
            limit + 1
        )),
    }
}

case! {
    suite: socketcluster,
    name: "limits.subscriptions",
    level: Info,
    spec: "002_57bad640c3a657d6.txt §The pub/sub layer",
    title: "A subscription beyond the server's per-socket limit is refused with an error response",
    run: subscriptions,
}
async fn subscriptions(ctx: Ctx) -> Outcome {
    pubsub(&ctx)?;
    let limit = target(&ctx)?
        .max_subscriptions
        .ok_or_else(|| Failure::Unimplemented("the target names no max_subscriptions".into()))?;
    let mut client = connect(&ctx).await?;
    for n in 0..limit {
        let response = subscribe(&mut client, &channel(&format!("limit-{n}"))).await?;
        ok_response(&response, "a #subscribe within the limit")?;
    }
    error_of(&subscribe(&mut client, &channel("limit-over")).await?).map(drop)
}

case! {
    suite: socketcluster,
    name: "limits.connections",
    level: Info,
    spec: "specs/README.md §Facts: SocketCluster, as implemented",
    title: "A connection beyond the server's cap is closed with 1013 (try again later)",
    run: connections,
}
async fn connections(ctx: Ctx) -> Outcome {
    let t = target(&ctx)?;
    let cap = t
        .max_connections
        .ok_or_else(|| Failure::Unimplemented("the target names no max_connections".into()))?;
    let url = t.limits_url.as_deref().unwrap_or(&t.url);
    // Other clients may hold connections too: the refusal may come before the cap's own count.
    // The held connections answer their pings meanwhile, each in a task of
    // its own, as live clients do: one left unread is closed for inactivity
    // (4001) while the others open on a loaded machine, and frees its place.
    let mut held = tokio::task::JoinSet::new();
    for n in 1..=cap + 1 {
        if let Some(ended) = held.try_join_next() {
            let code = ended.map_err(|e| Failure::Harness(e.to_string()))??;
            return Err(broken!(
                "a held connection closed (close {code:?}) before connection {n} was opened"
            ));
        }
        let mut client = ScClient::open(&ctx, url, t.version()).await?;
        if client.handshake(None).await.is_ok() {
            held.spawn(async move {
                let ended = client.closed_within(HELD).await?;
                Ok::<_, Failure>(ended.flatten())
            });
            continue;
        }
        return match client.closed_within(client.wait()).await? {
            Some(Some(1013)) => Ok(()),
            code => Err(broken!(
                "connection {n} failed (close {code:?}), expected 1013"
            )),
        };
    }
    Err(broken!(
        "{} connections stay open with a cap of {cap}",
        cap + 1
    ))
}

/// Longer than any case: a held connection is read until it closes or the
/// case ends (its task is dropped with the case).
const HELD: Duration = Duration::from_secs(3600);

case! {
    suite: socketcluster,
    name: "limits.slow-reader-cut-off",
    level: Info,
    spec: "002_57bad640c3a657d6.txt §The pub/sub layer",
    title: "A subscriber that stops reading while its channel is flooded is cut off, and the other subscribers are served all along",
    run: slow_reader,
}
async fn slow_reader(ctx: Ctx) -> Outcome {
    pubsub(&ctx)?;
    let budget = target(&ctx)?
        .flood_bytes
        .ok_or_else(|| Failure::Unimplemented("the target names no flood_bytes".into()))?;
    let name = channel("flood");
    let mut slow = connect(&ctx).await?;
    let mut other = connect(&ctx).await?;
    let mut publisher = connect(&ctx).await?;
    for client in [&mut slow, &mut other] {
        ok_response(&subscribe(client, &name).await?, "#subscribe")?;
    }
    // Silence for pingTimeout closes a socket; anything it sends counts
    // (socketcluster-server's rule too), so the stopped reader keeps talking.
    let ping_timeout = (slow.handshake.as_ref())
        .and_then(|h| h["pingTimeout"].as_u64())
        .map_or(Duration::from_secs(1), Duration::from_millis);
    let mut last_word = Instant::now();
    // 30,000 bytes a publication, within the reference server's 64 KiB messages.
    let data = json!("x".repeat(30_000));
    let count = budget.div_ceil(30_000).max(1);
    for n in 0..count {
        if last_word.elapsed() >= ping_timeout / 4 {
            // A write to a socket the server already cut off fails: that is the point.
            let _ = slow.transmit("chatspec-still-here", json!(null)).await;
            last_word = Instant::now();
        }
        let response = publisher
            .invoke("#publish", json!({ "channel": name, "data": data }))
            .await?;
        ok_response(&response, "#publish")?;
        let push = other
            .expect_event("#publish", other.wait())
            .await
            .map_err(|e| {
                broken!("another subscriber got {n} of {count} publications while one did not read: {e}")
            })?;
        ensure!(
            push.get("data") == Some(&data),
            "publication {} reached the other subscriber changed",
            n + 1
        );
    }
    match slow.closed_within(slow.wait()).await? {
        // Its messages waited unread on the server too: a close for
        // inactivity is not the cut-off the case asks for.
        Some(Some(4001)) => Err(broken!(
            "the subscriber that stopped reading was closed for inactivity (4001), not cut off"
        )),
        Some(_) => Ok(()),
        None => Err(broken!(
            "the subscriber that stopped reading is still connected after {count} publications \
             ({} bytes) to its channel",
            count * 30_000
        )),
    }
}
