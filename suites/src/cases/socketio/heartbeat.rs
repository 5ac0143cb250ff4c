//! `socketio.*.heartbeat.*`: pings and pongs, and the sessions they keep
//! open or let die (v4: the server pings; v3: the client does).

use std::time::Duration;

use protocols::engineio::{EioVersion, Packet as EioPacket, PacketType as EioType};

use super::helpers::{endpoint, no_auto, raw};
use crate::case::{Ctx, Outcome};
use crate::driver::engineio::{EioClient, Event, Options};
use crate::{broken, ensure};

case! {
    suite: socketio,
    name: "heartbeat.server-pings",
    level: Must,
    spec: { v4: "engine.io-protocol v4 §Heartbeat" },
    title: "The server sends a ping every pingInterval; a pong keeps the session open for the next ping",
    run: server_pings,
}
async fn server_pings(ctx: Ctx, v: EioVersion) -> Outcome {
    let ep = endpoint(&ctx, v)?;
    let mut client = EioClient::websocket(&ctx, ep, no_auto()).await?;
    let interval = Duration::from_millis(client.handshake.ping_interval);
    let timeout = Duration::from_millis(client.handshake.ping_timeout);
    for n in 1..=2 {
        let wait = interval + timeout + Duration::from_millis(300);
        match client.next_event(wait).await? {
            Some(Event::Packet(_, p)) if p.packet_type == EioType::Ping && !p.is_probe() => {
                client.send(EioPacket::empty(EioType::Pong)).await?;
            }
            Some(other) => return Err(broken!("expected ping {n}, got {other:?}")),
            None => {
                return Err(broken!(
                    "no ping {n} within {} ms (pingInterval {} ms)",
                    wait.as_millis(),
                    interval.as_millis()
                ))
            }
        }
    }
    Ok(())
}

case! {
    suite: socketio,
    name: "heartbeat.missed-pong-closes",
    level: Must,
    spec: { v4: "engine.io-protocol v4 §Heartbeat" },
    title: "A session whose ping gets no pong within pingTimeout is closed",
    run: missed_pong_closes,
}
async fn missed_pong_closes(ctx: Ctx, v: EioVersion) -> Outcome {
    let ep = endpoint(&ctx, v)?;
    let mut client = EioClient::websocket(&ctx, ep, no_auto()).await?;
    let interval = Duration::from_millis(client.handshake.ping_interval);
    let timeout = Duration::from_millis(client.handshake.ping_timeout);
    match client
        .next_event(interval + timeout + Duration::from_millis(300))
        .await?
    {
        Some(Event::Packet(_, p)) if p.packet_type == EioType::Ping => {}
        other => return Err(broken!("expected a ping first, got {other:?}")),
    }
    // No pong: the session must end within pingTimeout (plus slack).
    let seen = client
        .expect_closed(timeout + Duration::from_millis(500))
        .await?;
    ensure!(
        seen.iter().all(|p| p.packet_type == EioType::Ping),
        "unexpected packets before the close: {seen:?}"
    );
    Ok(())
}

case! {
    suite: socketio,
    name: "heartbeat.first-ping-after-interval",
    level: Should,
    spec: { v4: "engine.io-protocol v4 §Heartbeat" },
    title: "The first ping comes one pingInterval after the session opens, not at once",
    run: first_ping_after_interval,
}
async fn first_ping_after_interval(ctx: Ctx, v: EioVersion) -> Outcome {
    let ep = endpoint(&ctx, v)?;
    let opened = tokio::time::Instant::now();
    let mut client = EioClient::websocket(&ctx, ep, no_auto()).await?;
    let interval = Duration::from_millis(client.handshake.ping_interval);
    let timeout = Duration::from_millis(client.handshake.ping_timeout);
    match client
        .next_event(interval + timeout + Duration::from_millis(300))
        .await?
    {
        Some(Event::Packet(_, p)) if p.packet_type == EioType::Ping => {
            let after = opened.elapsed();
            // A tenth of the interval of slack for scheduling.
            ensure!(
                after + interval / 10 >= interval,
                "the first ping came {} ms after the session opened; pingInterval is {} ms",
                after.as_millis(),
                interval.as_millis()
            );
            Ok(())
        }
        other => Err(broken!("expected the first ping, got {other:?}")),
    }
}

case! {
    suite: socketio,
    name: "heartbeat.interval-as-announced",
    level: Should,
    spec: { v4: "engine.io-protocol v4 §Heartbeat" },
    title: "Pings come every pingInterval as the handshake announces it (a client times the session out by the announced values)",
    run: interval_as_announced,
}
async fn interval_as_announced(ctx: Ctx, v: EioVersion) -> Outcome {
    let ep = endpoint(&ctx, v)?;
    let mut client = EioClient::websocket(&ctx, ep, no_auto()).await?;
    let announced = Duration::from_millis(client.handshake.ping_interval);
    let timeout = Duration::from_millis(client.handshake.ping_timeout);
    // The gap between two pings (the first may come early or late after the open).
    let limit = (announced + timeout) * 2 + Duration::from_millis(500);
    let mut last = None;
    for n in 1..=2 {
        match client.next_event(limit).await? {
            Some(Event::Packet(_, p)) if p.packet_type == EioType::Ping && !p.is_probe() => {
                let now = tokio::time::Instant::now();
                client.send(EioPacket::empty(EioType::Pong)).await?;
                if let Some(previous) = last.replace(now) {
                    let gap = now - previous;
                    // Not sooner than the interval, a fifth of it (and 50 ms)
                    // of slack for scheduling. Not later than a client waits:
                    // the next ping is due pingInterval after the pong reached
                    // the server (Node's engine.io, the reference server), so
                    // the gap seen here also holds the pong's and the ping's
                    // way over a loaded link, which no slack bounds; a client
                    // gives a session pingInterval + pingTimeout from one ping
                    // to the next before it closes it (socket.io-client's
                    // rule), and that is the bound.
                    let slack = announced / 5 + Duration::from_millis(50);
                    ensure!(
                        gap + slack >= announced && gap <= announced + timeout,
                        "pings came {} ms apart; the handshake announced pingInterval {} ms and pingTimeout {} ms",
                        gap.as_millis(),
                        announced.as_millis(),
                        timeout.as_millis()
                    );
                }
            }
            other => return Err(broken!("expected ping {n}, got {other:?}")),
        }
    }
    Ok(())
}

case! {
    suite: socketio,
    name: "heartbeat.client-ping-answered",
    level: Must,
    spec: { v3: "engine.io-protocol v3 §2 ping" },
    title: "Each ping the client sends (over polling) is answered with a pong",
    run: client_ping_answered,
}
async fn client_ping_answered(ctx: Ctx, v: EioVersion) -> Outcome {
    let ep = endpoint(&ctx, v)?;
    let mut client = EioClient::polling(
        &ctx,
        ep,
        Options {
            auto_poll: true,
            auto_pong: false,
            auto_ping: false,
        },
    )
    .await?;
    for n in 1..=3 {
        client.send(EioPacket::empty(EioType::Ping)).await?;
        // Messages may come first (a Socket.IO v4-protocol server connects `/` on its own).
        loop {
            let p = client.recv().await?;
            if p.packet_type == EioType::Message {
                continue;
            }
            ensure!(
                p.packet_type == EioType::Pong && !p.is_probe(),
                "ping {n} was answered with {p:?}, not a pong"
            );
            break;
        }
    }
    Ok(())
}

case! {
    suite: socketio,
    name: "heartbeat.missing-ping-closes",
    level: Must,
    spec: { v3: "engine.io-protocol v3 §Timeouts" },
    title: "A session whose client does not ping within pingInterval + pingTimeout is closed: a poll made after that is refused, and one already pending is ended",
    run: missing_ping_closes,
}
async fn missing_ping_closes(ctx: Ctx, v: EioVersion) -> Outcome {
    // A poll after the deadline, and one pending across it, as stock clients poll.
    missing_ping_then_poll(&ctx, v).await?;
    missing_ping_while_polling(&ctx, v).await
}

async fn missing_ping_then_poll(ctx: &Ctx, v: EioVersion) -> Outcome {
    let ctx = ctx.clone();
    let ep = endpoint(&ctx, v)?;
    let client = EioClient::polling(&ctx, ep.clone(), no_auto()).await?;
    let h = &client.handshake;
    tokio::time::sleep(Duration::from_millis(
        h.ping_interval + h.ping_timeout + 200,
    ))
    .await;
    let url = ep.url(&ep.query("polling", Some(client.sid())));
    let reply = raw(&ctx, reqwest::Method::GET, &url, None).await?;
    let closed = reply.status == 400 || reply.text().ends_with("1:1");
    ensure!(
        closed,
        "the session without pings was still open (HTTP {}: {:?})",
        reply.status,
        reply.text()
    );
    Ok(())
}

async fn missing_ping_while_polling(ctx: &Ctx, v: EioVersion) -> Outcome {
    let ep = endpoint(ctx, v)?;
    // The client keeps a poll pending and never pings.
    let mut client = EioClient::polling(
        ctx,
        ep,
        Options {
            auto_poll: true,
            auto_pong: false,
            auto_ping: false,
        },
    )
    .await?;
    let h = &client.handshake;
    let within = Duration::from_millis(h.ping_interval + h.ping_timeout + 500);
    client.expect_closed(within).await.map_err(|e| {
        broken!(
            "with a poll pending and no ping, the session did not end: {}",
            e.reason()
        )
    })?;
    Ok(())
}
