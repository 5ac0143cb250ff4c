//! `socketcluster.event.*`: emitted events and their responses: the JSON
//! format, `cid`/`rid` matching, one response per `cid`, none without one,
//! error responses, and what the server does with what it cannot serve.

use std::time::Duration;

use protocols::socketcluster::SocketCluster;
use protocols::Dialect as _;
use serde_json::{json, Value};

use super::helpers::{connect, error_of, procedure, quiet, target};
use crate::case::{Ctx, Outcome};
use crate::driver::socketcluster::Incoming;
use crate::{broken, ensure, ensure_eq};

case! {
    suite: socketcluster,
    name: "event.response-matches-cid",
    level: Must,
    spec: "002_57bad640c3a657d6.txt §The event layer: Event responses",
    title: "An event with a cid gets exactly one response, whose rid is that cid",
    run: response_matches_cid,
}
async fn response_matches_cid(ctx: Ctx) -> Outcome {
    let echo = procedure(&ctx, "echo", |p| &p.echo)?;
    let mut client = connect(&ctx).await?;
    let data = json!({"text": "hello", "n": [1, 2, 3]});
    let response = client.invoke(&echo, data.clone()).await?;
    ensure_eq!(response.get("data"), Some(&data), "the echo's data");
    let rid = response["rid"].clone();
    match client.next(Duration::from_millis(300)).await? {
        Some(Incoming::Json(v)) if v.get("rid") == Some(&rid) => {
            Err(broken!("a second response to cid {rid}: {v}"))
        }
        Some(Incoming::Closed(code)) => Err(broken!("closed ({code:?}) after the response")),
        _ => Ok(()),
    }
}

case! {
    suite: socketcluster,
    name: "event.no-response-without-cid",
    level: Must,
    spec: "002_57bad640c3a657d6.txt §The event layer: Emitted events",
    title: "An event without a cid gets no response",
    run: no_response_without_cid,
}
async fn no_response_without_cid(ctx: Ctx) -> Outcome {
    let echo = procedure(&ctx, "echo", |p| &p.echo)?;
    let mut client = connect(&ctx).await?;
    client.transmit(&echo, json!("no answer expected")).await?;
    quiet(
        &mut client,
        Duration::from_millis(400),
        "after an event without cid",
    )
    .await?;
    // The connection still serves events with a cid.
    let response = client.invoke(&echo, json!("answered")).await?;
    ensure_eq!(
        response.get("data"),
        Some(&json!("answered")),
        "the echo's data"
    );
    Ok(())
}

case! {
    suite: socketcluster,
    name: "event.string-cid",
    level: Must,
    spec: "002_57bad640c3a657d6.txt §The event layer: Emitted events",
    title: "A string cid (e.g. a UUID) is answered with the same string as rid",
    run: string_cid,
}
async fn string_cid(ctx: Ctx) -> Outcome {
    let echo = procedure(&ctx, "echo", |p| &p.echo)?;
    let mut client = connect(&ctx).await?;
    let cid = json!("5f8b7a3e-chatspec-cid");
    client
        .send_json(&json!({"event": echo, "data": 7, "cid": cid}))
        .await?;
    let response = client.response(&cid).await?;
    ensure_eq!(response.get("data"), Some(&json!(7)), "the echo's data");
    Ok(())
}

case! {
    suite: socketcluster,
    name: "event.rid-matches-out-of-order",
    level: Must,
    spec: "002_57bad640c3a657d6.txt §The event layer: Event responses",
    title: "Responses that come out of order each carry the rid of their own event",
    run: out_of_order,
}
async fn out_of_order(ctx: Ctx) -> Outcome {
    let slow = procedure(&ctx, "slow-echo", |p| &p.slow_echo)?;
    let echo = procedure(&ctx, "echo", |p| &p.echo)?;
    let mut client = connect(&ctx).await?;
    let first = client
        .emit_with_cid(&slow, json!({"delay_ms": 300, "data": "slow"}))
        .await?;
    let second = client.emit_with_cid(&echo, json!("fast")).await?;
    let mut seen = Vec::new();
    while seen.len() < 2 {
        match client.next(client.wait()).await? {
            Some(Incoming::Json(v)) if v.get("rid").is_some() => seen.push(v),
            Some(Incoming::Closed(code)) => return Err(broken!("closed ({code:?})")),
            Some(_) => {}
            None => return Err(broken!("only {} of 2 responses came: {seen:?}", seen.len())),
        }
    }
    ensure_eq!(
        seen[0]["rid"],
        json!(second),
        "the first response's rid (the fast echo)"
    );
    ensure_eq!(seen[0]["data"], json!("fast"), "the fast echo's data");
    ensure_eq!(
        seen[1]["rid"],
        json!(first),
        "the second response's rid (the slow echo)"
    );
    ensure_eq!(seen[1]["data"], json!("slow"), "the slow echo's data");
    Ok(())
}

case! {
    suite: socketcluster,
    name: "event.json-format",
    level: Must,
    spec: "002_57bad640c3a657d6.txt §The event layer: Emitted events",
    title: "Every message the server sends is a JSON event or response (or a ping) the codec accepts",
    run: json_format,
}
async fn json_format(ctx: Ctx) -> Outcome {
    let echo = procedure(&ctx, "echo", |p| &p.echo)?;
    let t = target(&ctx)?;
    let kind = format!("v{}+server", t.protocol_version);
    let mut client = connect(&ctx).await?;
    for n in 0..3 {
        client.invoke(&echo, json!({"n": n, "s": "x"})).await?;
    }
    for text in &client.texts {
        let problems = SocketCluster::validate(Some(&kind), text.as_bytes());
        ensure!(
            problems.is_empty(),
            "the server sent {text:?}, which breaks {problems:?}"
        );
        if text != client.version.ping() {
            let value: Value =
                serde_json::from_str(text).map_err(|e| broken!("{text:?} is not JSON: {e}"))?;
            ensure!(
                value.get("rid").is_some() || value.get("event").is_some(),
                "{text} is neither an event nor a response"
            );
        }
    }
    Ok(())
}

case! {
    suite: socketcluster,
    name: "event.error-response",
    level: Should,
    spec: "specs/README.md §Facts: SocketCluster, as implemented",
    title: "A procedure that fails is answered {rid, error: {name, message}}",
    run: error_response,
}
async fn error_response(ctx: Ctx) -> Outcome {
    let fail = procedure(&ctx, "fail", |p| &p.fail)?;
    let mut client = connect(&ctx).await?;
    let response = client.invoke(&fail, json!({})).await?;
    let (name, _) = error_of(&response)?;
    ensure!(!name.is_empty(), "the error's name is empty: {response}");
    ensure!(
        response.get("data").is_none_or(Value::is_null),
        "an error response with data: {response}"
    );
    Ok(())
}

case! {
    suite: socketcluster,
    name: "event.unknown-event-answered",
    level: Info,
    spec: "002_57bad640c3a657d6.txt §The event layer: Event responses",
    title: "An event no handler serves, sent with a cid, is answered with an error (socketcluster-server leaves it unanswered)",
    run: unknown_event,
}
async fn unknown_event(ctx: Ctx) -> Outcome {
    let mut client = connect(&ctx).await?;
    let response = client.invoke("chatspec-no-such-event", json!(1)).await?;
    error_of(&response).map(drop)
}

case! {
    suite: socketcluster,
    name: "event.not-json-ignored",
    level: Should,
    spec: "specs/README.md §Facts: SocketCluster, as implemented",
    title: "A message that is not JSON is ignored: no answer, no close",
    run: not_json_ignored,
}
async fn not_json_ignored(ctx: Ctx) -> Outcome {
    let echo = procedure(&ctx, "echo", |p| &p.echo)?;
    let mut client = connect(&ctx).await?;
    client.send_text("{this is not json").await?;
    quiet(
        &mut client,
        Duration::from_millis(300),
        "after a message that is not JSON",
    )
    .await?;
    let response = client.invoke(&echo, json!("still here")).await?;
    ensure_eq!(
        response.get("data"),
        Some(&json!("still here")),
        "the echo's data"
    );
    Ok(())
}
