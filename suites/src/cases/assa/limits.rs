//! `assa.limit.connection-cap` and `assa.limit.slow-reader-cut-off`: the
//! limits of §10.1 a case can only check by filling a server: the
//! connection cap, and the cut-off of a reader that stops reading while its
//! room is flooded.
//!
//! They run at the server of `[assa.limits]` (its own instance, or the
//! target's `url`) and take turns there: one at a time per address, so the
//! one never fills the server under the other. The cases beside them, at
//! the target's `url`, are not refused.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, LazyLock, Mutex, PoisonError};
use std::time::Duration;

use serde_json::{json, Value};
use tokio::sync::OwnedMutexGuard;
use tokio::time::Instant;

use super::helpers::{connected_at, join, limits_endpoint, ok, open_room, target, users, valid};
use crate::case::{Ctx, Failure, Outcome};
use crate::driver::assa::AssaClient;
use crate::{broken, ensure};

/// SEND_MESSAGEs the flood of the slow-reader case has in flight at most.
const IN_FLIGHT: usize = 4;

/// Waits until no other limit case runs at `addr`; the turn lasts as long as the guard.
async fn take_turn(addr: &str) -> OwnedMutexGuard<()> {
    type Turns = HashMap<String, Arc<tokio::sync::Mutex<()>>>;
    static TURNS: LazyLock<Mutex<Turns>> = LazyLock::new(Mutex::default);
    let turn = (TURNS.lock().unwrap_or_else(PoisonError::into_inner))
        .entry(addr.to_owned())
        .or_default()
        .clone();
    turn.lock_owned().await
}

/// Ends a session the way a client does, and waits until the server closed
/// it, so that the next limit case finds its connection counted out.
async fn leave(client: &mut AssaClient) -> Outcome {
    let wait = client.wait();
    client.send_request("DISCONNECT", Value::Null).await?;
    client.expect_closed(wait).await?;
    Ok(())
}

case! {
    suite: assa,
    name: "limit.connection-cap",
    level: Must,
    spec: "004_636ae579ed5d2364.txt §10.1",
    title: "With max_connections sessions open, the next connection is refused with an ERROR (success: false) and closed",
    run: connection_cap,
}
async fn connection_cap(ctx: Ctx) -> Outcome {
    let t = target(&ctx)?;
    let cap = t.limits.max_connections;
    let at = limits_endpoint(&ctx)?;
    let _turn = take_turn(&at.addr).await;
    let users = users(&ctx, cap + 1).await?;
    let mut held = Vec::with_capacity(cap);
    for (n, user) in users[..cap].iter().enumerate() {
        let what = format!("connection {} of {cap}", n + 1);
        match connected_at(&ctx, &at, user, &what).await {
            Ok(client) => held.push(client),
            Err(Failure::Broken(why)) => {
                return Err(broken!(
                    "{what} was not served (max_connections {cap}): {why}"
                ))
            }
            Err(other) => return Err(other),
        }
    }
    let mut over = AssaClient::open(&ctx, &at, "one connection over the cap").await?;
    // Refused as it connects, or (a server counting sessions) at its CONNECT.
    let mut said = over.collect_where(ctx.wait / 2, |_| true).await?;
    if said.is_empty() && over.closed().is_none() {
        let response = over.connect(&users[cap].token).await?;
        ensure!(
            response["success"] != true,
            "connection {} was served with max_connections {cap}: {response}",
            cap + 1
        );
        said.push(response);
    }
    let Some(refusal) = said.first() else {
        return Err(broken!(
            "connection {} was closed without an ERROR",
            cap + 1
        ));
    };
    ensure!(
        refusal["action"] == "ERROR" || refusal["action"] == "CONNECT_RESPONSE",
        "connection {} was told {refusal}, expected an ERROR",
        cap + 1
    );
    ensure!(
        refusal["success"] == false,
        "the refusal of connection {} is not success: false: {refusal}",
        cap + 1
    );
    valid(refusal)?;
    if over.closed().is_none() {
        over.expect_closed(ctx.wait)
            .await
            .map_err(|e| broken!("connection {} was refused but not closed: {e}", cap + 1))?;
    }
    for client in &mut held {
        leave(client).await?;
    }
    Ok(())
}

/// Waits for the SEND_MESSAGE_RESPONSE of message `n` of the flood (of `count`).
async fn acknowledged(
    sender: &mut AssaClient,
    request: Option<(usize, String)>,
    count: usize,
) -> Outcome {
    let Some((n, seq_id)) = request else {
        return Ok(());
    };
    let response = sender.response(&seq_id).await?;
    ok(&response, "SEND_MESSAGE").map(drop).map_err(|e| {
        broken!(
            "message {} of {count} to the room of a member that stopped reading: {}",
            n + 1,
            e.reason()
        )
    })
}

case! {
    suite: assa,
    name: "limit.slow-reader-cut-off",
    level: Info,
    spec: "004_636ae579ed5d2364.txt §10.1",
    title: "A member that stops reading while its room is flooded is cut off, and the other members are served all along",
    run: slow_reader,
}
async fn slow_reader(ctx: Ctx) -> Outcome {
    let t = target(&ctx)?;
    let budget = t.limits.flood_bytes;
    let pong_timeout = Duration::from_millis(t.limits_pong_timeout_ms());
    let at = limits_endpoint(&ctx)?;
    let _turn = take_turn(&at.addr).await;
    let users = users(&ctx, 3).await?;
    let mut slow = connected_at(&ctx, &at, &users[0], "the slow reader").await?;
    let mut sender = connected_at(&ctx, &at, &users[1], "the sender").await?;
    let mut other = connected_at(&ctx, &at, &users[2], "another member").await?;
    let room = open_room(&mut sender).await?;
    join(&mut slow, room).await?;
    join(&mut other, room).await?;
    slow.pause_reading();
    let stopped = Instant::now();
    // 4,000 characters (of the 5,000 allowed), 12,000 bytes of UTF-8.
    let text = "가".repeat(4000);
    let count = budget.div_ceil(text.len()).max(1);
    // A few requests in flight at a time: a flood the members who read can
    // follow, whatever the server's queue, that only the stopped reader cannot.
    let mut in_flight = VecDeque::with_capacity(IN_FLIGHT);
    for n in 0..count {
        if in_flight.len() == IN_FLIGHT {
            acknowledged(&mut sender, in_flight.pop_front(), count).await?;
        }
        let data = json!({
            "room_id": room, "content": text, "message_type": "text",
            "reply_to_message_id": null, "client_message_id": format!("flood-{n}"),
        });
        in_flight.push_back((n, sender.send_request("SEND_MESSAGE", data).await?));
    }
    while !in_flight.is_empty() {
        acknowledged(&mut sender, in_flight.pop_front(), count).await?;
    }
    for n in 0..count {
        other
            .expect_where("NEW_MESSAGE", ctx.wait, |m| {
                m["action"] == "NEW_MESSAGE" && m["data"]["content"] == text.as_str()
            })
            .await
            .map_err(|e| {
                broken!(
                    "another member got {n} of {count} messages while one member did not read: {e}"
                )
            })?;
    }
    slow.resume_reading();
    let cut = slow.expect_closed(ctx.wait).await;
    if stopped.elapsed() >= pong_timeout {
        return Err(Failure::Harness(format!(
            "the flood took {} ms, beyond the PONG timeout ({} ms): a close cannot be told from it",
            stopped.elapsed().as_millis(),
            pong_timeout.as_millis()
        )));
    }
    cut.map(drop).map_err(|_| {
        broken!(
            "the member that stopped reading is still connected after {count} messages \
             ({} bytes) were sent to its room",
            count * text.len()
        )
    })
}
