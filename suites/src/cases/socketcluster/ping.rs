//! `socketcluster.ping.*`: the server's pings, the client's pongs, and the
//! connection a silent client loses after pingTimeout.

use std::time::Duration;

use super::helpers::connect;
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
    level: Must,
    spec: "002_57bad640c3a657d6.txt §The event layer: Ping and pong - Connection health check",
    title: "The server pings periodically (#1 in protocol 1, the empty string in protocol 2), well within pingTimeout",
    run: server_pings,
}
async fn server_pings(ctx: Ctx) -> Outcome {
    let mut client = connect(&ctx).await?;
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
    level: Must,
    spec: "002_57bad640c3a657d6.txt §The event layer: Ping and pong - Connection health check",
    title: "A client that answers every ping with a pong stays connected beyond pingTimeout",
    run: pong_keeps_open,
}
async fn pong_keeps_open(ctx: Ctx) -> Outcome {
    let mut client = connect(&ctx).await?;
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
    level: Must,
    spec: "002_57bad640c3a657d6.txt §The event layer: Ping and pong - Connection health check",
    title: "A client that sends nothing, not even pongs, is marked dead and closed after pingTimeout",
    run: no_pong_closes,
}
async fn no_pong_closes(ctx: Ctx) -> Outcome {
    let mut client = connect(&ctx).await?;
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
    spec: "specs/README.md §Facts: SocketCluster, as implemented",
    title: "The connection of a client that does not pong is closed with 4001 (client pong timed out), not before pingTimeout",
    run: no_pong_code,
}
async fn no_pong_code(ctx: Ctx) -> Outcome {
    let mut client = connect(&ctx).await?;
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
