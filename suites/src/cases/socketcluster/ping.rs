//! `socketcluster.v1.ping.*` and `socketcluster.v2.ping.*`: the server's
//! pings, the client's pongs (`#1`/`#2` in protocol 1, empty strings in
//! protocol 2), and the connection a silent client loses after pingTimeout.

use std::time::Duration;

use protocols::socketcluster::ProtocolVersion;

use super::helpers::connect_in;
use crate::case::{Ctx, Failure, Outcome};
use crate::driver::socketcluster::{Incoming, ScClient};
use crate::{broken, ensure};

/// The handshake's pingTimeout.
fn ping_timeout(client: &ScClient) -> Result<Duration, Failure> {
    client
        .handshake
        .as_ref()
        .and_then(|h| h["pingTimeout"].as_u64())
        .map(Duration::from_millis)
        .ok_or_else(|| broken!("the handshake has no pingTimeout: {:?}", client.handshake))
}

case! {
    suite: socketcluster,
    name: "ping.server-pings",
    level: { v1: Must, v2: Should },
    spec: {
        v1: "002_57bad640c3a657d6.txt §The event layer: Ping and pong - Connection health check",
        v2: "specs/README.md §Facts: SocketCluster, as implemented",
    },
    title: {
        v1: "The server pings #1 periodically, well within pingTimeout, and takes #2 as the pong",
        v2: "In protocol 2 the server pings with the empty string periodically, well within pingTimeout, and takes the empty string as the pong",
    },
    run: server_pings,
}
async fn server_pings(ctx: Ctx, version: ProtocolVersion) -> Outcome {
    let mut client = connect_in(&ctx, version).await?;
    client.auto_pong = false;
    let timeout = ping_timeout(&client)?;
    for n in 1..=2 {
        match client.next(timeout).await? {
            Some(Incoming::Ping) => client.send_text(client.version.pong()).await?,
            Some(other) => return Err(broken!("expected ping {n}, got {other:?}")),
            None => {
                return Err(broken!(
                    "no ping {n} within pingTimeout ({} ms)",
                    timeout.as_millis()
                ))
            }
        }
    }
    Ok(())
}

case! {
    suite: socketcluster,
    name: "ping.pong-keeps-open",
    level: { v1: Must, v2: Should },
    spec: {
        v1: "002_57bad640c3a657d6.txt §The event layer: Ping and pong - Connection health check",
        v2: "specs/README.md §Facts: SocketCluster, as implemented",
    },
    title: "A client that answers every ping with a pong stays connected beyond pingTimeout",
    run: pong_keeps_open,
}
async fn pong_keeps_open(ctx: Ctx, version: ProtocolVersion) -> Outcome {
    let mut client = connect_in(&ctx, version).await?;
    let timeout = ping_timeout(&client)?;
    client.auto_pong = false;
    let until = tokio::time::Instant::now() + timeout + timeout / 2;
    let mut pings = 0;
    while tokio::time::Instant::now() < until {
        match client.next(until - tokio::time::Instant::now()).await? {
            Some(Incoming::Ping) => {
                pings += 1;
                client.send_text(client.version.pong()).await?;
            }
            Some(Incoming::Closed(code)) => {
                return Err(broken!(
                    "closed ({code:?}) although every ping got its pong"
                ))
            }
            Some(_) | None => {}
        }
    }
    ensure!(
        pings > 0,
        "no ping in {} ms",
        (timeout + timeout / 2).as_millis()
    );
    Ok(())
}

case! {
    suite: socketcluster,
    name: "ping.no-pong-closes",
    level: { v1: Must, v2: Should },
    spec: {
        v1: "002_57bad640c3a657d6.txt §The event layer: Ping and pong - Connection health check",
        v2: "specs/README.md §Facts: SocketCluster, as implemented",
    },
    title: "A client that sends nothing, not even pongs, is marked dead and closed after pingTimeout",
    run: no_pong_closes,
}
async fn no_pong_closes(ctx: Ctx, version: ProtocolVersion) -> Outcome {
    let mut client = connect_in(&ctx, version).await?;
    let timeout = ping_timeout(&client)?;
    client.auto_pong = false;
    let wait = timeout + client.wait();
    match client.closed_within(wait).await? {
        Some(_) => Ok(()),
        None => Err(broken!(
            "still open {} ms after the last message (pingTimeout {} ms)",
            wait.as_millis(),
            timeout.as_millis()
        )),
    }
}

case! {
    suite: socketcluster,
    name: "ping.no-pong-code-4001",
    level: Should,
    spec: { v1 | v2: "specs/README.md §Facts: SocketCluster, as implemented" },
    title: "The connection of a client that does not pong is closed with 4001 (client pong timed out), not before pingTimeout",
    run: no_pong_code,
}
async fn no_pong_code(ctx: Ctx, version: ProtocolVersion) -> Outcome {
    let mut client = connect_in(&ctx, version).await?;
    let timeout = ping_timeout(&client)?;
    client.auto_pong = false;
    let start = tokio::time::Instant::now();
    let wait = timeout + client.wait();
    match client.closed_within(wait).await? {
        Some(Some(4001)) => {
            let after = start.elapsed();
            ensure!(
                after + Duration::from_millis(100) >= timeout,
                "closed after {} ms, before pingTimeout ({} ms)",
                after.as_millis(),
                timeout.as_millis()
            );
            Ok(())
        }
        Some(code) => Err(broken!("closed with {code:?}, expected 4001")),
        None => Err(broken!("still open {} ms without a pong", wait.as_millis())),
    }
}
