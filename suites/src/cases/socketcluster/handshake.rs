//! `socketcluster.handshake.*`: the `#handshake` event, its response, and the
//! close codes of a connection that does not handshake properly.

use std::time::Duration;

use protocols::socketcluster::{ProtocolVersion, SocketCluster};
use protocols::Dialect as _;
use serde_json::{json, Value};

use super::helpers::{connect, open, open_in, procedure, target};
use crate::case::{Ctx, Outcome};
use crate::driver::socketcluster::Incoming;
use crate::{broken, ensure, ensure_eq};

case! {
    suite: socketcluster,
    name: "handshake.response",
    level: { v1: Must, v2: Should },
    spec: {
        v1: "002_57bad640c3a657d6.txt §The event layer: The SocketCluster handshake",
        v2: "specs/README.md §Facts: SocketCluster, as implemented",
    },
    title: {
        v1: "#handshake is answered {rid: <its cid>, data: {id, isAuthenticated: false, pingTimeout}}",
        v2: "In protocol 2 too, #handshake is answered {rid: <its cid>, data: {id, isAuthenticated: false, pingTimeout}}",
    },
    run: response,
}
async fn response(ctx: Ctx, version: ProtocolVersion) -> Outcome {
    let mut client = open_in(&ctx, version).await?;
    let cid = client.emit_with_cid("#handshake", json!({})).await?;
    let response = client.response(&json!(cid)).await?;
    let text = response.to_string();
    let kind = format!("v{}+server+handshake-response", version.number());
    let problems = SocketCluster::validate(Some(&kind), text.as_bytes());
    ensure!(
        problems.is_empty(),
        "the handshake response {text} breaks {problems:?}"
    );
    let data = &response["data"];
    ensure!(
        data["id"].as_str().is_some_and(|id| !id.is_empty()),
        "data.id is not a non-empty string: {response}"
    );
    ensure_eq!(
        data["isAuthenticated"],
        json!(false),
        "data.isAuthenticated without a token"
    );
    ensure!(
        data["pingTimeout"].as_u64().is_some_and(|t| t > 0),
        "data.pingTimeout is not a positive number of milliseconds: {response}"
    );
    Ok(())
}

case! {
    suite: socketcluster,
    name: "handshake.unique-ids",
    level: Should,
    spec: "002_57bad640c3a657d6.txt §The event layer: The SocketCluster handshake",
    title: "Every connection gets its own id in the handshake response",
    run: unique_ids,
}
async fn unique_ids(ctx: Ctx) -> Outcome {
    let mut ids = Vec::new();
    for _ in 0..3 {
        let client = connect(&ctx).await?;
        let id = client.handshake.as_ref().map(|h| h["id"].clone());
        ids.push(id.unwrap_or(Value::Null));
    }
    ensure!(
        ids[0] != ids[1] && ids[1] != ids[2] && ids[0] != ids[2],
        "three connections got the ids {ids:?}"
    );
    Ok(())
}

case! {
    suite: socketcluster,
    name: "handshake.required-first",
    level: Should,
    spec: "specs/README.md §Facts: SocketCluster, as implemented",
    title: "An event before #handshake closes the connection with 4009",
    run: required_first,
}
async fn required_first(ctx: Ctx) -> Outcome {
    let echo = procedure(&ctx, "echo", |p| &p.echo)?;
    let mut client = open(&ctx).await?;
    client.auto_pong = false;
    client.emit_with_cid(&echo, json!("too early")).await?;
    let wait = client.wait();
    match client.closed_within(wait).await? {
        Some(Some(4009)) => Ok(()),
        Some(code) => Err(broken!("closed with {code:?}, expected 4009")),
        None => Err(broken!(
            "still open {} ms after an event before #handshake",
            wait.as_millis()
        )),
    }
}

case! {
    suite: socketcluster,
    name: "handshake.timeout",
    level: Should,
    spec: "specs/README.md §Facts: SocketCluster, as implemented",
    title: "A connection that sends no #handshake within the handshake timeout is closed with 4005",
    run: timeout,
}
async fn timeout(ctx: Ctx) -> Outcome {
    let limit = Duration::from_millis(target(&ctx)?.handshake_timeout_ms);
    let mut client = open(&ctx).await?;
    // A pong is a message too: socketcluster-server closes with 4009 on one before #handshake.
    client.auto_pong = false;
    let wait = limit + client.wait();
    match client.closed_within(wait).await? {
        Some(Some(4005)) => Ok(()),
        Some(code) => Err(broken!("closed with {code:?}, expected 4005")),
        None => Err(broken!(
            "still open {} ms without a #handshake (handshake timeout {} ms)",
            wait.as_millis(),
            limit.as_millis()
        )),
    }
}

case! {
    suite: socketcluster,
    name: "handshake.without-cid",
    level: Should,
    spec: "specs/README.md §Facts: SocketCluster, as implemented",
    title: "A #handshake without cid is rejected with close code 4008, not answered",
    run: without_cid,
}
async fn without_cid(ctx: Ctx) -> Outcome {
    let mut client = open(&ctx).await?;
    client.auto_pong = false;
    client.transmit("#handshake", json!({})).await?;
    let wait = client.wait();
    match client.closed_within(wait).await? {
        Some(Some(4008)) => Ok(()),
        Some(code) => Err(broken!("closed with {code:?}, expected 4008")),
        None => Err(broken!(
            "still open {} ms after a #handshake without cid",
            wait.as_millis()
        )),
    }
}

case! {
    suite: socketcluster,
    name: "handshake.then-events",
    level: Must,
    spec: "002_57bad640c3a657d6.txt §Overview",
    title: "After the handshake, an event of the event layer is served (the only layer a client needs)",
    run: then_events,
}
async fn then_events(ctx: Ctx) -> Outcome {
    let echo = procedure(&ctx, "echo", |p| &p.echo)?;
    let mut client = connect(&ctx).await?;
    let response = client.invoke(&echo, json!({"after": "handshake"})).await?;
    ensure_eq!(
        response.get("data"),
        Some(&json!({"after": "handshake"})),
        "the echo's data"
    );
    match client.next(Duration::from_millis(100)).await? {
        Some(Incoming::Closed(code)) => Err(broken!("closed ({code:?}) after an event")),
        _ => Ok(()),
    }
}
