//! `assa.room.*`: CREATE_ROOM, JOIN_ROOM (and USER_JOINED), EXIT_ROOM and
//! ROOM_INFO (§4), with their refusals (§9.2).

use serde_json::json;

use super::helpers::{
    clients, create_room, join, ok, open_room, receives_no, refused, say, timestamp,
};
use crate::case::{Ctx, Outcome};
use crate::{broken, ensure, ensure_eq};

case! {
    suite: assa,
    name: "room.create-response",
    level: Must,
    spec: "004_636ae579ed5d2364.txt §4.1",
    title: "CREATE_ROOM_RESPONSE carries room_id, the name and description asked for, the creator as host_user_id and as the one participant with role host, and created_at",
    run: create_response,
}
async fn create_response(ctx: Ctx) -> Outcome {
    let (host, mut c) = clients(&ctx, 1).await?.remove(0);
    let d = create_room(
        &mut c,
        json!({ "name": "새 채팅방", "description": "채팅방 설명", "is_open": true, "max_participants": 50 }),
    )
    .await?;
    ensure!(d["room_id"].is_u64(), "room_id is not an integer: {d}");
    ensure_eq!(d["name"].as_str(), Some("새 채팅방"), "name");
    ensure_eq!(
        d["description"].as_str(),
        Some("채팅방 설명"),
        "description"
    );
    ensure_eq!(d["host_user_id"].as_u64(), Some(host.id), "host_user_id");
    let p = d["participants"].as_array().cloned().unwrap_or_default();
    ensure!(
        p.len() == 1 && p[0]["user_id"].as_u64() == Some(host.id) && p[0]["role"] == "host",
        "participants is not the host alone with role host: {}",
        d["participants"]
    );
    timestamp(&d["created_at"], "created_at")
}

case! {
    suite: assa,
    name: "room.join-response",
    level: Must,
    spec: "004_636ae579ed5d2364.txt §4.2",
    title: "JOIN_ROOM_RESPONSE carries room_id, room_info (name, description, host_user_id, participants_count), every participant and recent_messages",
    run: join_response,
}
async fn join_response(ctx: Ctx) -> Outcome {
    let mut cs = clients(&ctx, 2).await?;
    let room = open_room(&mut cs[0].1).await?;
    let d = join(&mut cs[1].1, room).await?;
    ensure_eq!(d["room_id"].as_u64(), Some(room), "room_id");
    let info = &d["room_info"];
    ensure_eq!(info["name"].as_str(), Some("chatspec"), "room_info.name");
    ensure_eq!(
        info["host_user_id"].as_u64(),
        Some(cs[0].0.id),
        "room_info.host_user_id"
    );
    ensure_eq!(
        info["participants_count"].as_u64(),
        Some(2),
        "room_info.participants_count"
    );
    let ids: Vec<_> = d["participants"]
        .as_array()
        .map(|a| a.iter().filter_map(|p| p["user_id"].as_u64()).collect())
        .unwrap_or_default();
    ensure!(
        ids.contains(&cs[0].0.id) && ids.contains(&cs[1].0.id) && ids.len() == 2,
        "participants are not the host and the joiner: {}",
        d["participants"]
    );
    ensure!(
        d["recent_messages"].is_array(),
        "recent_messages is not an array"
    );
    Ok(())
}

case! {
    suite: assa,
    name: "room.join-broadcasts-user-joined",
    level: Must,
    spec: "004_636ae579ed5d2364.txt §4.2",
    title: "JOIN_ROOM sends USER_JOINED (room_id, user, participants_count) to the other participants, not to the joiner nor to anyone outside the room",
    run: user_joined,
}
async fn user_joined(ctx: Ctx) -> Outcome {
    let mut cs = clients(&ctx, 3).await?;
    let room = open_room(&mut cs[0].1).await?;
    join(&mut cs[1].1, room).await?;
    let b = cs[1].0.id;
    let m = cs[0].1.expect("USER_JOINED").await?;
    ensure_eq!(
        m["data"]["room_id"].as_u64(),
        Some(room),
        "USER_JOINED room_id"
    );
    ensure_eq!(
        m["data"]["user"]["user_id"].as_u64(),
        Some(b),
        "USER_JOINED user.user_id"
    );
    ensure_eq!(
        m["data"]["participants_count"].as_u64(),
        Some(2),
        "USER_JOINED participants_count"
    );
    receives_no(&ctx, &mut cs[1].1, "USER_JOINED", "the joiner").await?;
    receives_no(&ctx, &mut cs[2].1, "USER_JOINED", "a user outside the room").await
}

case! {
    suite: assa,
    name: "room.recent-messages",
    level: Should,
    spec: "004_636ae579ed5d2364.txt §4.2",
    title: "A joiner's recent_messages holds the room's earlier messages, oldest first",
    run: recent_messages,
}
async fn recent_messages(ctx: Ctx) -> Outcome {
    let mut cs = clients(&ctx, 2).await?;
    let room = open_room(&mut cs[0].1).await?;
    let first = say(&mut cs[0].1, room, "one").await?["message_id"].clone();
    let second = say(&mut cs[0].1, room, "two").await?["message_id"].clone();
    let d = join(&mut cs[1].1, room).await?;
    let ids: Vec<_> = d["recent_messages"]
        .as_array()
        .map(|a| a.iter().map(|m| m["message_id"].clone()).collect())
        .unwrap_or_default();
    ensure_eq!(ids, vec![first, second], "recent_messages' message ids");
    Ok(())
}

case! {
    suite: assa,
    name: "room.rejoin-succeeds",
    level: Info,
    spec: "004_636ae579ed5d2364.txt §4.2",
    title: "JOIN_ROOM by a participant succeeds again with the room's current state (clients rejoin after reconnecting)",
    run: rejoin,
}
async fn rejoin(ctx: Ctx) -> Outcome {
    let mut cs = clients(&ctx, 2).await?;
    let room = open_room(&mut cs[0].1).await?;
    join(&mut cs[1].1, room).await?;
    let d = join(&mut cs[1].1, room).await?;
    ensure_eq!(
        d["room_info"]["participants_count"].as_u64(),
        Some(2),
        "participants_count after a rejoin"
    );
    Ok(())
}

case! {
    suite: assa,
    name: "room.exit",
    level: Must,
    spec: "004_636ae579ed5d2364.txt §4.3",
    title: "EXIT_ROOM_RESPONSE carries the room_id; afterwards the user gets no NEW_MESSAGE of the room and its SEND_MESSAGE is USER_NOT_IN_ROOM",
    run: exit,
}
async fn exit(ctx: Ctx) -> Outcome {
    let mut cs = clients(&ctx, 2).await?;
    let room = open_room(&mut cs[0].1).await?;
    join(&mut cs[1].1, room).await?;
    let r = cs[1]
        .1
        .request("EXIT_ROOM", json!({ "room_id": room }))
        .await?;
    let d = ok(&r, "EXIT_ROOM")?;
    ensure_eq!(d["room_id"].as_u64(), Some(room), "room_id");
    say(&mut cs[0].1, room, "after the exit").await?;
    receives_no(&ctx, &mut cs[1].1, "NEW_MESSAGE", "a user who left").await?;
    let r = cs[1]
        .1
        .request(
            "SEND_MESSAGE",
            json!({ "room_id": room, "content": "x", "message_type": "text", "client_message_id": "x" }),
        )
        .await?;
    refused(&r, "SEND_MESSAGE", "USER_NOT_IN_ROOM")
}

case! {
    suite: assa,
    name: "room.info-response",
    level: Must,
    spec: "004_636ae579ed5d2364.txt §4.4",
    title: "ROOM_INFO_RESPONSE carries the room's name, description, is_open, host_user_id, participants_count, max_participants, created_at and participants with joined_at",
    run: info,
}
async fn info(ctx: Ctx) -> Outcome {
    let mut cs = clients(&ctx, 2).await?;
    let room = create_room(
        &mut cs[0].1,
        json!({ "name": "info", "description": "d", "is_open": true, "max_participants": 7 }),
    )
    .await?["room_id"]
        .as_u64()
        .ok_or_else(|| broken!("no room_id"))?;
    join(&mut cs[1].1, room).await?;
    let r = cs[0]
        .1
        .request("ROOM_INFO", json!({ "room_id": room }))
        .await?;
    let d = ok(&r, "ROOM_INFO")?;
    ensure_eq!(d["room_id"].as_u64(), Some(room), "room_id");
    ensure_eq!(d["name"].as_str(), Some("info"), "name");
    ensure_eq!(d["is_open"].as_bool(), Some(true), "is_open");
    ensure_eq!(d["host_user_id"].as_u64(), Some(cs[0].0.id), "host_user_id");
    ensure_eq!(
        d["participants_count"].as_u64(),
        Some(2),
        "participants_count"
    );
    ensure_eq!(d["max_participants"].as_u64(), Some(7), "max_participants");
    timestamp(&d["created_at"], "created_at")?;
    let p = d["participants"].as_array().cloned().unwrap_or_default();
    ensure_eq!(p.len(), 2, "number of participants");
    for x in &p {
        timestamp(&x["joined_at"], "participants[].joined_at")?;
    }
    Ok(())
}

case! {
    suite: assa,
    name: "room.closed-refuses-uninvited",
    level: Must,
    spec: "004_636ae579ed5d2364.txt §9.2",
    title: "JOIN_ROOM of a closed room (is_open: false) by a user not invited is PERMISSION_DENIED; the invited user joins",
    run: closed_room,
}
async fn closed_room(ctx: Ctx) -> Outcome {
    let mut cs = clients(&ctx, 3).await?;
    let invited = cs[1].0.id;
    let room = create_room(
        &mut cs[0].1,
        json!({ "name": "closed", "is_open": false, "invited_user_ids": [invited] }),
    )
    .await?["room_id"]
        .as_u64()
        .ok_or_else(|| broken!("no room_id"))?;
    let r = cs[2]
        .1
        .request("JOIN_ROOM", json!({ "room_id": room }))
        .await?;
    refused(&r, "JOIN_ROOM", "PERMISSION_DENIED")?;
    join(&mut cs[1].1, room).await?;
    Ok(())
}

case! {
    suite: assa,
    name: "room.full",
    level: Must,
    spec: "004_636ae579ed5d2364.txt §9.2",
    title: "JOIN_ROOM of a room at max_participants is ROOM_FULL",
    run: full,
}
async fn full(ctx: Ctx) -> Outcome {
    let mut cs = clients(&ctx, 3).await?;
    let room = create_room(
        &mut cs[0].1,
        json!({ "name": "small", "is_open": true, "max_participants": 2 }),
    )
    .await?["room_id"]
        .as_u64()
        .ok_or_else(|| broken!("no room_id"))?;
    join(&mut cs[1].1, room).await?;
    let r = cs[2]
        .1
        .request("JOIN_ROOM", json!({ "room_id": room }))
        .await?;
    refused(&r, "JOIN_ROOM", "ROOM_FULL")
}

case! {
    suite: assa,
    name: "room.not-found",
    level: Must,
    spec: "004_636ae579ed5d2364.txt §9.2",
    title: "JOIN_ROOM and ROOM_INFO of a room that does not exist are ROOM_NOT_FOUND",
    run: not_found,
}
async fn not_found(ctx: Ctx) -> Outcome {
    let (_, mut c) = clients(&ctx, 1).await?.remove(0);
    let missing = super::helpers::NO_SUCH_ID;
    let r = c
        .request("JOIN_ROOM", json!({ "room_id": missing }))
        .await?;
    refused(&r, "JOIN_ROOM", "ROOM_NOT_FOUND")?;
    let r = c
        .request("ROOM_INFO", json!({ "room_id": missing }))
        .await?;
    refused(&r, "ROOM_INFO", "ROOM_NOT_FOUND")
}
