//! `socketcluster.pubsub.*`: the pub/sub layer as socketcluster-server
//! implements it: `#subscribe` `{channel}`, `#unsubscribe` (the channel name),
//! `#publish` `{channel, data}` and the server's push
//! `{event: "#publish", data: {channel, data}}` to every subscriber, and nobody else.

use std::time::Duration;

use serde_json::{json, Value};

use super::helpers::{channel, connect, error_of, ok_response, pubsub, quiet, subscribe};
use crate::case::{Ctx, Outcome};
use crate::driver::socketcluster::ScClient;
use crate::ensure_eq;

/// Checks the push of one publication.
fn check_push(data: &Value, channel: &str, payload: &Value, who: &str) -> Outcome {
    ensure_eq!(
        data.get("channel"),
        Some(&json!(channel)),
        "the channel of the push {who} got"
    );
    ensure_eq!(
        data.get("data"),
        Some(payload),
        "the data of the push {who} got"
    );
    Ok(())
}

async fn publish(client: &mut ScClient, channel: &str, data: &Value) -> Outcome {
    let response = client
        .invoke("#publish", json!({"channel": channel, "data": data}))
        .await?;
    ok_response(&response, "#publish")
}

case! {
    suite: socketcluster,
    name: "pubsub.subscribe-acknowledged",
    level: Should,
    spec: "002_57bad640c3a657d6.txt §The pub/sub layer",
    title: "#subscribe {channel} with a cid is acknowledged with a response carrying no error",
    run: subscribe_acknowledged,
}
async fn subscribe_acknowledged(ctx: Ctx) -> Outcome {
    pubsub(&ctx)?;
    let mut client = connect(&ctx).await?;
    let response = subscribe(&mut client, &channel("ack")).await?;
    ok_response(&response, "#subscribe")
}

case! {
    suite: socketcluster,
    name: "pubsub.publish-reaches-subscribers-only",
    level: Should,
    spec: "002_57bad640c3a657d6.txt §The pub/sub layer",
    title: "A #publish reaches every subscriber (the publisher too) as {event: \"#publish\", data: {channel, data}}, and nobody else",
    run: reaches_subscribers_only,
}
async fn reaches_subscribers_only(ctx: Ctx) -> Outcome {
    pubsub(&ctx)?;
    let name = channel("fanout");
    let mut subscriber = connect(&ctx).await?;
    let mut publisher = connect(&ctx).await?;
    let mut outsider = connect(&ctx).await?;
    ok_response(&subscribe(&mut subscriber, &name).await?, "#subscribe")?;
    ok_response(&subscribe(&mut publisher, &name).await?, "#subscribe")?;
    let payload = json!({"text": "to the channel"});
    publish(&mut publisher, &name, &payload).await?;
    let wait = subscriber.wait();
    let got = subscriber.expect_event("#publish", wait).await?;
    check_push(&got, &name, &payload, "the subscriber")?;
    let got = publisher.expect_event("#publish", wait).await?;
    check_push(&got, &name, &payload, "the publisher")?;
    quiet(
        &mut outsider,
        Duration::from_millis(300),
        "for a socket not subscribed",
    )
    .await
}

case! {
    suite: socketcluster,
    name: "pubsub.invalid-channel-refused",
    level: Should,
    spec: "002_57bad640c3a657d6.txt §The pub/sub layer",
    title: "#subscribe to a channel whose name is not a non-empty string is refused with an error response",
    run: invalid_channel,
}
async fn invalid_channel(ctx: Ctx) -> Outcome {
    pubsub(&ctx)?;
    let mut client = connect(&ctx).await?;
    for bad in [json!({"channel": 42}), json!({"channel": ""})] {
        let response = client.invoke("#subscribe", bad).await?;
        error_of(&response)?;
    }
    Ok(())
}

case! {
    suite: socketcluster,
    name: "pubsub.unsubscribe-stops-delivery",
    level: Should,
    spec: "002_57bad640c3a657d6.txt §The pub/sub layer",
    title: "After #unsubscribe (data: the channel name) a socket no longer gets the channel's publications",
    run: unsubscribe,
}
async fn unsubscribe(ctx: Ctx) -> Outcome {
    pubsub(&ctx)?;
    let name = channel("leave");
    let mut leaver = connect(&ctx).await?;
    let mut publisher = connect(&ctx).await?;
    ok_response(&subscribe(&mut leaver, &name).await?, "#subscribe")?;
    let response = leaver.invoke("#unsubscribe", json!(name)).await?;
    ok_response(&response, "#unsubscribe")?;
    publish(&mut publisher, &name, &json!("after leaving")).await?;
    quiet(
        &mut leaver,
        Duration::from_millis(300),
        "after #unsubscribe",
    )
    .await
}
