//! `socketcluster.limits.*`: the reference server's limits (INFO: the
//! document sets none): the largest message, subscriptions per socket and
//! concurrent connections, each refused with its close code or an error.
//! A target section without the limit makes the case `unimplemented`.

use serde_json::json;

use super::helpers::{channel, connect, error_of, ok_response, open, pubsub, subscribe, target};
use crate::broken;
use crate::case::{Ctx, Failure, Outcome};

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
    let cap = target(&ctx)?
        .max_connections
        .ok_or_else(|| Failure::Unimplemented("the target names no max_connections".into()))?;
    // Other clients may hold connections too: the refusal may come before the cap's own count.
    let mut held = Vec::with_capacity(cap + 1);
    for n in 1..=cap + 1 {
        let mut client = open(&ctx).await?;
        if client.handshake(None).await.is_ok() {
            held.push(client);
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
