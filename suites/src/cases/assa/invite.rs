//! `assa.invite.*`: INVITE, its INVITE_RESPONSE with each user's status,
//! and INVITATION_RECEIVED to the online invitees only (§6.1).

use serde_json::json;

use super::helpers::{clients, connected, join, ok, receives_no, users};
use crate::case::{Ctx, Outcome};
use crate::{broken, ensure, ensure_eq};

case! {
    suite: assa,
    name: "invite.response-and-invitation",
    level: Must,
    spec: "004_636ae579ed5d2364.txt §6.1",
    title: "INVITE_RESPONSE lists each invited user with nickname and status (invited when online, offline otherwise); INVITATION_RECEIVED (room_id, room_info, inviter) reaches the online invitee and nobody else",
    run: invite,
}
async fn invite(ctx: Ctx) -> Outcome {
    let mut cs = clients(&ctx, 3).await?;
    // A user the server knows, offline by the time of the INVITE.
    let offline = users(&ctx, 1).await?.remove(0);
    let mut gone = connected(&ctx, &offline, "the later offline user").await?;
    gone.request("DISCONNECT", json!({ "reason": "user_logout" }))
        .await?;
    gone.expect_closed(ctx.wait).await?;
    let room = super::helpers::create_room(
        &mut cs[0].1,
        json!({ "name": "invites", "description": "d", "is_open": false }),
    )
    .await?["room_id"]
        .as_u64()
        .ok_or_else(|| broken!("no room_id"))?;
    let online = cs[1].0.id;
    let r = cs[0]
        .1
        .request(
            "INVITE",
            json!({ "room_id": room, "invited_user_ids": [online, offline.id] }),
        )
        .await?;
    let d = ok(&r, "INVITE")?;
    ensure_eq!(d["room_id"].as_u64(), Some(room), "room_id");
    let invited = d["invited_users"].as_array().cloned().unwrap_or_default();
    let status = |id: u64| {
        invited
            .iter()
            .find(|u| u["user_id"].as_u64() == Some(id))
            .map(|u| {
                (
                    u["status"].as_str().map(str::to_owned),
                    u["nickname"].is_string(),
                )
            })
    };
    ensure_eq!(
        status(online),
        Some((Some("invited".to_owned()), true)),
        "the online user's (status, has nickname)"
    );
    ensure_eq!(
        status(offline.id),
        Some((Some("offline".to_owned()), true)),
        "the offline user's (status, has nickname)"
    );
    let m = cs[1].1.expect("INVITATION_RECEIVED").await?;
    ensure_eq!(
        m["data"]["room_id"].as_u64(),
        Some(room),
        "INVITATION_RECEIVED room_id"
    );
    ensure_eq!(
        m["data"]["room_info"]["name"].as_str(),
        Some("invites"),
        "room_info.name"
    );
    ensure_eq!(
        m["data"]["inviter"]["user_id"].as_u64(),
        Some(cs[0].0.id),
        "inviter.user_id"
    );
    receives_no(
        &ctx,
        &mut cs[2].1,
        "INVITATION_RECEIVED",
        "a user not invited",
    )
    .await?;
    receives_no(&ctx, &mut cs[0].1, "INVITATION_RECEIVED", "the inviter").await
}

case! {
    suite: assa,
    name: "invite.invited-joins-closed-room",
    level: Must,
    spec: "004_636ae579ed5d2364.txt §6.1",
    title: "A user invited to a closed room by INVITE may join it",
    run: invited_joins,
}
async fn invited_joins(ctx: Ctx) -> Outcome {
    let mut cs = clients(&ctx, 2).await?;
    let room =
        super::helpers::create_room(&mut cs[0].1, json!({ "name": "closed", "is_open": false }))
            .await?["room_id"]
            .as_u64()
            .ok_or_else(|| broken!("no room_id"))?;
    let guest = cs[1].0.id;
    let r = cs[0]
        .1
        .request(
            "INVITE",
            json!({ "room_id": room, "invited_user_ids": [guest] }),
        )
        .await?;
    ok(&r, "INVITE")?;
    let d = join(&mut cs[1].1, room).await?;
    ensure!(
        d["room_id"].as_u64() == Some(room),
        "joined another room: {d}"
    );
    Ok(())
}
