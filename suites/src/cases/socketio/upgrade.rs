//! `socketio.*.upgrade.*`: the upgrade from polling to WebSocket and what
//! the session refuses after it.

use protocols::engineio::{EioVersion, Packet as EioPacket, PacketType as EioType};

use super::helpers::{endpoint, expect_websocket_refused, raw};
use crate::case::{Ctx, Outcome};
use crate::driver::engineio::{EioClient, Event, Options, Via};
use crate::{broken, ensure, ensure_eq};

use EioVersion::V4;

case! {
    suite: socketio,
    name: "upgrade.probe-noop-upgrade",
    level: Must,
    spec: {
        v3: "engine.io-protocol v3 §Transport upgrading",
        v4: "engine.io-protocol v4 §Upgrade",
    },
    title: "2probe is answered 3probe, the pending poll is ended (with a noop when nothing else is queued), and after 5 the session carries messages over WebSocket",
    run: upgrade_probe,
}
async fn upgrade_probe(ctx: Ctx, v: EioVersion) -> Outcome {
    let ep = endpoint(&ctx, v)?;
    // The client keeps a poll pending, as stock clients do, and runs the upgrade step by step.
    let mut eio = EioClient::polling(&ctx, ep, Options::default()).await?;
    eio.begin_upgrade().await?;
    let answer = eio.probe().await?;
    ensure!(
        answer.packet_type == EioType::Pong && answer.is_probe(),
        "2probe was answered {answer:?}, not 3probe"
    );
    // The poll pending since before the probe must end before `5` is sent:
    // with a noop when nothing else is queued.
    eio.polls_ended().await.map_err(|e| {
        broken!(
            "the poll pending during the upgrade was not ended: {}",
            e.reason()
        )
    })?;
    eio.finish_upgrade().await?;
    // Connect `/` and talk over the WebSocket. Socket.IO v5 (Engine.IO 4): the
    // client sends CONNECT. Socket.IO v4 (Engine.IO 3): the server connected
    // `/` on its own when the session opened and expects nothing from the
    // client (socket.io-protocol v4 §Connection to the default namespace); its
    // CONNECT came over polling already or is still to come.
    if v == V4 {
        eio.send(EioPacket::message("0")).await?;
    }
    let message = EioPacket::message("2[\"message\",\"upgraded\"]");
    let mut sent = false;
    loop {
        match eio.next_event(ctx.wait).await? {
            Some(Event::Packet(via, p))
                if p.as_text().is_some_and(|t| t.contains("message-back")) =>
            {
                ensure_eq!(via, Via::WebSocket, "the transport of message-back");
                return Ok(());
            }
            // Emit once `/` is connected.
            Some(Event::Packet(_, p))
                if !sent && p.as_text().is_some_and(|t| t.starts_with('0')) =>
            {
                eio.send(message.clone()).await?;
                sent = true;
            }
            Some(Event::Packet(..)) => continue,
            Some(Event::Closed(via, why)) => {
                return Err(broken!(
                    "the {via:?} transport ended after the upgrade: {why}"
                ))
            }
            None => return Err(broken!("no message-back over the upgraded WebSocket")),
        }
    }
}

case! {
    suite: socketio,
    name: "upgrade.polling-refused-after",
    level: Should,
    spec: {
        v3: "engine.io-protocol v3 §Transport upgrading",
        v4: "engine.io-protocol v4 §Upgrade",
    },
    title: "After the upgrade, a poll with the same sid is answered 400",
    run: polling_refused_after_upgrade,
}
async fn polling_refused_after_upgrade(ctx: Ctx, v: EioVersion) -> Outcome {
    let ep = endpoint(&ctx, v)?;
    let mut eio = EioClient::polling(&ctx, ep.clone(), Options::default()).await?;
    eio.upgrade().await?;
    upgrade_read(&ctx, &mut eio, v).await?;
    let url = ep.url(&ep.query("polling", Some(eio.sid())));
    let reply = raw(&ctx, reqwest::Method::GET, &url, None).await?;
    ensure_eq!(reply.status, 400, "a poll after the upgrade");
    Ok(())
}

case! {
    suite: socketio,
    name: "upgrade.second-websocket-refused",
    level: Should,
    spec: {
        v3: "engine.io-protocol v3 §Transport upgrading",
        v4: "engine.io-protocol v4 §Upgrade",
    },
    title: "After the upgrade, a second WebSocket with the same sid is closed",
    run: second_websocket_refused,
}
async fn second_websocket_refused(ctx: Ctx, v: EioVersion) -> Outcome {
    let ep = endpoint(&ctx, v)?;
    let mut eio = EioClient::polling(&ctx, ep.clone(), Options::default()).await?;
    eio.upgrade().await?;
    upgrade_read(&ctx, &mut eio, v).await?;
    expect_websocket_refused(
        &ctx,
        &ep.ws_url(Some(eio.sid())),
        "the second WebSocket with the same sid",
    )
    .await
}

/// Waits until the server has read the upgrade packet: `5` is written when
/// the upgrade returns, but a request on another connection can reach the
/// server before it is read. Frames on one WebSocket are read in order, so
/// the answer to one sent after it over the WebSocket says it was: v4 the
/// namespace CONNECT, v3 (the server joined `/` on its own) a `message`,
/// which the echo app answers.
async fn upgrade_read(ctx: &Ctx, eio: &mut EioClient, v: EioVersion) -> Outcome {
    let after = match v {
        V4 => "0",
        _ => "2[\"message\",\"after the upgrade\"]",
    };
    eio.send(EioPacket::message(after)).await?;
    let deadline = tokio::time::Instant::now() + ctx.wait;
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        match eio.next_event(left).await? {
            Some(Event::Packet(Via::WebSocket, p)) if p.packet_type == EioType::Message => {
                return Ok(())
            }
            Some(Event::Closed(_, why)) => {
                return Err(broken!("the session ended after the upgrade: {why}"))
            }
            Some(_) => continue,
            None => {
                return Err(broken!(
                    "no answer over the WebSocket to `{after}` sent after the upgrade within {} ms",
                    ctx.wait.as_millis()
                ))
            }
        }
    }
}
