//! `chatpot.status.*`: node discovery, `GET /status` → `{host, port, num_connection}`, and connecting to the node it names (§SocketIO 노드 연결).

use protocols::chatpot::Chatpot;
use protocols::engineio::EioVersion;
use protocols::Dialect;
use serde_json::Value;

use super::helpers::{connect, connect_at, target};
use crate::case::{Ctx, Failure, Outcome};
use crate::driver::engineio::Endpoint;
use crate::mutate::PlainJson;
use crate::wire::{http_client, Link};
use crate::{broken, ensure};

/// `GET /status`: the body, checked against the codec (`status`).
async fn status(ctx: &Ctx) -> Result<Value, Failure> {
    let url = target(ctx)?.status_url();
    let wire = Link::from(ctx).open("GET /status");
    let reply = wire
        .request_whole::<PlainJson<Chatpot>>(&http_client(), reqwest::Method::GET, &url, None)
        .await?;
    ensure!(
        reply.status == 200,
        "GET {url} answered HTTP {}: {}",
        reply.status,
        reply.text()
    );
    let violations = Chatpot::validate(Some("status"), &reply.body);
    ensure!(
        violations.is_empty(),
        "the status body breaks the document: {} ({})",
        violations
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("; "),
        reply.text()
    );
    serde_json::from_slice(&reply.body).map_err(|e| broken!("the status body is not JSON: {e}"))
}

case! {
    suite: chatpot,
    name: "status.body",
    level: Must,
    spec: "000_407d4ff0bcbdf81c.txt §SocketIO 노드 연결",
    title: "GET /status answers 200 with {host, port, num_connection}: host a URL with its scheme, port and num_connection non-negative integers",
    run: body,
}
async fn body(ctx: Ctx) -> Outcome {
    let s = status(&ctx).await?;
    let host = s["host"]
        .as_str()
        .ok_or_else(|| broken!("the status body has no host: {s}"))?;
    ensure!(
        host.starts_with("http://") || host.starts_with("https://"),
        "host is not a URL with its scheme (the document's is http://dev-ws-1.chatpot.chat): {host:?}"
    );
    Ok(())
}

/// The Socket.IO endpoint of the node `GET /status` names.
fn named_node(ctx: &Ctx, s: &Value, version: EioVersion) -> Result<Endpoint, Failure> {
    let host = s["host"]
        .as_str()
        .ok_or_else(|| broken!("the status body has no host: {s}"))?;
    let port = s["port"]
        .as_u64()
        .ok_or_else(|| broken!("the status body has no integer port: {s}"))?;
    let host = host.trim_end_matches('/');
    // The host may carry its port already; the document's does not.
    let authority = host.split_once("://").map_or(host, |(_, a)| a);
    let base = if authority.contains(':') {
        host.to_owned()
    } else {
        format!("{host}:{port}")
    };
    Ok(Endpoint {
        base,
        path: target(ctx)?.path.clone(),
        version,
    })
}

case! {
    suite: chatpot,
    name: "status.node-accepts-connections",
    level: Must,
    spec: { v3 | v4: "000_407d4ff0bcbdf81c.txt §SocketIO 노드 연결" },
    title: "The node GET /status names (host, port) accepts a Socket.IO connection to /",
    run: node_accepts,
}
async fn node_accepts(ctx: Ctx, version: EioVersion) -> Outcome {
    // Fails as unimplemented first when the target lacks the version.
    super::helpers::endpoint(&ctx, version)?;
    let s = status(&ctx).await?;
    connect_at(&ctx, named_node(&ctx, &s, version)?).await?;
    Ok(())
}

case! {
    suite: chatpot,
    name: "status.counts-connections",
    level: Should,
    spec: "000_407d4ff0bcbdf81c.txt §SocketIO 노드 연결",
    title: "num_connection counts the node's live connections: with one of the suite's connections open it is at least 1",
    run: counts,
}
async fn counts(ctx: Ctx) -> Outcome {
    let version = if target(&ctx)?.engineio.contains(&4) {
        EioVersion::V4
    } else {
        EioVersion::V3
    };
    let _open = connect(&ctx, version).await?;
    let s = status(&ctx).await?;
    let n = s["num_connection"]
        .as_u64()
        .ok_or_else(|| broken!("the status body has no integer num_connection: {s}"))?;
    ensure!(
        n >= 1,
        "num_connection is {n} while this case holds a connection to the node"
    );
    Ok(())
}
