//! `assa.video.*`: the WebRTC signalling of §7: video rooms, SDP and
//! ICE_CANDIDATE relayed to a target in the same video room only, media
//! status, exit and the participant list.

use serde_json::{json, Value};

use super::helpers::{clients, join, ok, open_room, receives_no, refused, timestamp, NO_SUCH_ID};
use crate::case::{Ctx, Failure, Outcome};
use crate::driver::assa::AssaClient;
use crate::{broken, ensure, ensure_eq};

/// A chat room of `n` users and a video room of it made by the first; its id.
async fn setup(
    ctx: &Ctx,
    n: usize,
    max: u64,
) -> Result<(Vec<(super::helpers::User, AssaClient)>, u64, Value), Failure> {
    let mut cs = clients(ctx, n).await?;
    let room = open_room(&mut cs[0].1).await?;
    for (_, c) in cs.iter_mut().skip(1) {
        join(c, room).await?;
    }
    let r = cs[0]
        .1
        .request(
            "CREATE_VIDEO_ROOM",
            json!({ "chat_room_id": room, "video_room_name": "영상회의", "max_participants": max }),
        )
        .await?;
    let d = ok(&r, "CREATE_VIDEO_ROOM")?.clone();
    let id = d["video_room_id"]
        .as_u64()
        .ok_or_else(|| broken!("no video_room_id: {d}"))?;
    ensure_eq!(d["chat_room_id"].as_u64(), Some(room), "chat_room_id");
    Ok((cs, id, d))
}

async fn join_video(c: &mut AssaClient, id: u64) -> Result<Value, Failure> {
    let r = c
        .request("JOIN_VIDEO_ROOM", json!({ "video_room_id": id }))
        .await?;
    Ok(ok(&r, "JOIN_VIDEO_ROOM")?.clone())
}

case! {
    suite: assa,
    name: "video.create-response",
    level: Must,
    spec: "004_636ae579ed5d2364.txt §7.1",
    title: "CREATE_VIDEO_ROOM_RESPONSE carries video_room_id, video_room_name, chat_room_id, host_user_id, participants, max_participants and created_at",
    run: create,
}
async fn create(ctx: Ctx) -> Outcome {
    let (cs, _, d) = setup(&ctx, 1, 4).await?;
    ensure_eq!(
        d["video_room_name"].as_str(),
        Some("영상회의"),
        "video_room_name"
    );
    ensure_eq!(d["host_user_id"].as_u64(), Some(cs[0].0.id), "host_user_id");
    ensure_eq!(d["max_participants"].as_u64(), Some(4), "max_participants");
    ensure!(d["participants"].is_array(), "participants is not an array");
    timestamp(&d["created_at"], "created_at")
}

case! {
    suite: assa,
    name: "video.join-response",
    level: Must,
    spec: "004_636ae579ed5d2364.txt §7.2",
    title: "JOIN_VIDEO_ROOM_RESPONSE lists every participant with nickname, role and media_status",
    run: join_response,
}
async fn join_response(ctx: Ctx) -> Outcome {
    let (mut cs, id, _) = setup(&ctx, 2, 4).await?;
    join_video(&mut cs[0].1, id).await?;
    let d = join_video(&mut cs[1].1, id).await?;
    ensure_eq!(d["video_room_id"].as_u64(), Some(id), "video_room_id");
    let p = d["participants"].as_array().cloned().unwrap_or_default();
    ensure_eq!(p.len(), 2, "number of participants");
    for x in &p {
        ensure!(
            x["nickname"].is_string()
                && x["role"].is_string()
                && x["media_status"]["audio_enabled"].is_boolean()
                && x["media_status"]["video_enabled"].is_boolean(),
            "a participant lacks nickname, role or media_status: {x}"
        );
    }
    Ok(())
}

case! {
    suite: assa,
    name: "video.max-participants",
    level: Must,
    spec: "004_636ae579ed5d2364.txt §9.2",
    title: "JOIN_VIDEO_ROOM of a full video room is MAX_PARTICIPANTS_REACHED",
    run: max_participants,
}
async fn max_participants(ctx: Ctx) -> Outcome {
    let (mut cs, id, _) = setup(&ctx, 2, 1).await?;
    join_video(&mut cs[0].1, id).await?;
    let r = cs[1]
        .1
        .request("JOIN_VIDEO_ROOM", json!({ "video_room_id": id }))
        .await?;
    refused(&r, "JOIN_VIDEO_ROOM", "MAX_PARTICIPANTS_REACHED")
}

case! {
    suite: assa,
    name: "video.not-found",
    level: Must,
    spec: "004_636ae579ed5d2364.txt §9.2",
    title: "JOIN_VIDEO_ROOM of a video room that does not exist is VIDEO_ROOM_NOT_FOUND",
    run: not_found,
}
async fn not_found(ctx: Ctx) -> Outcome {
    let (_, mut c) = clients(&ctx, 1).await?.remove(0);
    let r = c
        .request("JOIN_VIDEO_ROOM", json!({ "video_room_id": NO_SUCH_ID }))
        .await?;
    refused(&r, "JOIN_VIDEO_ROOM", "VIDEO_ROOM_NOT_FOUND")
}

table! {
    suite: assa,
    level: Must,
    spec: "004_636ae579ed5d2364.txt §7.3",
    run: relay,
    cases: [
        ("video.sdp-relayed-in-room-only", "SDP reaches its target in the same video room with sender_user_id, sdp_type and sdp_data; a target outside the video room gets nothing", "SDP"),
    ],
}
table! {
    suite: assa,
    level: Must,
    spec: "004_636ae579ed5d2364.txt §7.4",
    run: relay,
    cases: [
        ("video.ice-candidate-relayed-in-room-only", "ICE_CANDIDATE reaches its target in the same video room with sender_user_id and the candidate; a target outside the video room gets nothing", "ICE_CANDIDATE"),
    ],
}
async fn relay(ctx: Ctx, action: &'static str) -> Outcome {
    let (mut cs, id, _) = setup(&ctx, 3, 4).await?;
    join_video(&mut cs[0].1, id).await?;
    join_video(&mut cs[1].1, id).await?;
    let data = |target: u64| match action {
        "SDP" => {
            json!({ "video_room_id": id, "target_user_id": target, "sdp_type": "offer", "sdp_data": "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\n" })
        }
        _ => {
            json!({ "video_room_id": id, "target_user_id": target, "candidate": "candidate:1 1 UDP 2130706431 127.0.0.1 54400 typ host", "sdp_mid": "0", "sdp_mline_index": 0 })
        }
    };
    let (b, outsider) = (cs[1].0.id, cs[2].0.id);
    // The document shows no answer to SDP and ICE_CANDIDATE: none is awaited.
    cs[0].1.send_request(action, data(b)).await?;
    let m = cs[1].1.expect(action).await?;
    ensure_eq!(
        m["data"]["sender_user_id"].as_u64(),
        Some(cs[0].0.id),
        "sender_user_id"
    );
    ensure_eq!(
        m["data"]["video_room_id"].as_u64(),
        Some(id),
        "video_room_id"
    );
    let field = if action == "SDP" {
        "sdp_data"
    } else {
        "candidate"
    };
    ensure_eq!(m["data"][field], data(b)[field], "{field}");
    let seq = cs[0].1.send_request(action, data(outsider)).await?;
    receives_no(&ctx, &mut cs[2].1, action, "a user outside the video room").await?;
    let answers = cs[0]
        .1
        .collect_where(std::time::Duration::ZERO, |m| m["seq_id"] == seq.as_str())
        .await?;
    ensure!(
        answers.iter().all(|r| r["success"] != true),
        "{action} to a user outside the video room succeeded: {}",
        answers[0]
    );
    Ok(())
}

case! {
    suite: assa,
    name: "video.signalling-answered",
    level: Info,
    spec: "004_636ae579ed5d2364.txt §7.3",
    title: "SDP, ICE_CANDIDATE and MEDIA_STATUS, which the document shows without an answer, are answered with <ACTION>_RESPONSE success (the reference server's choice)",
    run: signalling_answered,
}
async fn signalling_answered(ctx: Ctx) -> Outcome {
    let (mut cs, id, _) = setup(&ctx, 2, 4).await?;
    join_video(&mut cs[0].1, id).await?;
    join_video(&mut cs[1].1, id).await?;
    let b = cs[1].0.id;
    for (action, data) in [
        (
            "SDP",
            json!({ "video_room_id": id, "target_user_id": b, "sdp_type": "offer", "sdp_data": "v=0" }),
        ),
        (
            "ICE_CANDIDATE",
            json!({ "video_room_id": id, "target_user_id": b, "candidate": "candidate:1 1 UDP 1 127.0.0.1 1 typ host", "sdp_mid": "0", "sdp_mline_index": 0 }),
        ),
        (
            "MEDIA_STATUS",
            json!({ "video_room_id": id, "audio_enabled": true, "video_enabled": false }),
        ),
    ] {
        let r = cs[0].1.request(action, data).await?;
        ok(&r, action)?;
    }
    Ok(())
}

case! {
    suite: assa,
    name: "video.media-status-to-others",
    level: Must,
    spec: "004_636ae579ed5d2364.txt §7.5",
    title: "MEDIA_STATUS sends PARTICIPANT_MEDIA_STATUS (video_room_id, user_id, nickname, audio_enabled, video_enabled) to the other participants",
    run: media_status,
}
async fn media_status(ctx: Ctx) -> Outcome {
    let (mut cs, id, _) = setup(&ctx, 2, 4).await?;
    join_video(&mut cs[0].1, id).await?;
    join_video(&mut cs[1].1, id).await?;
    cs[0]
        .1
        .send_request(
            "MEDIA_STATUS",
            json!({ "video_room_id": id, "audio_enabled": false, "video_enabled": true }),
        )
        .await?;
    let m = cs[1].1.expect("PARTICIPANT_MEDIA_STATUS").await?;
    let d = &m["data"];
    ensure_eq!(d["video_room_id"].as_u64(), Some(id), "video_room_id");
    ensure_eq!(d["user_id"].as_u64(), Some(cs[0].0.id), "user_id");
    ensure!(d["nickname"].is_string(), "nickname is not a string");
    ensure_eq!(
        (d["audio_enabled"].as_bool(), d["video_enabled"].as_bool()),
        (Some(false), Some(true)),
        "(audio_enabled, video_enabled)"
    );
    Ok(())
}

case! {
    suite: assa,
    name: "video.exit-and-participants",
    level: Should,
    spec: "004_636ae579ed5d2364.txt §7.6",
    title: "After EXIT_VIDEO_ROOM, GET_VIDEO_ROOM_PARTICIPANT no longer lists the user",
    run: exit,
}
async fn exit(ctx: Ctx) -> Outcome {
    let (mut cs, id, _) = setup(&ctx, 2, 4).await?;
    join_video(&mut cs[0].1, id).await?;
    join_video(&mut cs[1].1, id).await?;
    cs[1]
        .1
        .send_request("EXIT_VIDEO_ROOM", json!({ "video_room_id": id }))
        .await?;
    // The document shows no answer to EXIT_VIDEO_ROOM; an answer to a later
    // request on the same connection means the exit was handled.
    cs[1]
        .1
        .request("ROOM_INFO", json!({ "room_id": 1 }))
        .await?;
    let ids = participants(&mut cs[0].1, id).await?;
    ensure_eq!(ids, vec![cs[0].0.id], "participants after the exit");
    Ok(())
}

case! {
    suite: assa,
    name: "video.get-participants",
    level: Should,
    spec: "004_636ae579ed5d2364.txt §7.7",
    title: "GET_VIDEO_ROOM_PARTICIPANT is answered with the video room's participants",
    run: get_participants,
}
async fn get_participants(ctx: Ctx) -> Outcome {
    let (mut cs, id, _) = setup(&ctx, 2, 4).await?;
    join_video(&mut cs[0].1, id).await?;
    join_video(&mut cs[1].1, id).await?;
    let mut ids = participants(&mut cs[1].1, id).await?;
    ids.sort_unstable();
    let mut want = vec![cs[0].0.id, cs[1].0.id];
    want.sort_unstable();
    ensure_eq!(ids, want, "participants");
    Ok(())
}

async fn participants(c: &mut AssaClient, id: u64) -> Result<Vec<u64>, Failure> {
    let r = c
        .request("GET_VIDEO_ROOM_PARTICIPANT", json!({ "video_room_id": id }))
        .await?;
    let d = ok(&r, "GET_VIDEO_ROOM_PARTICIPANT")?;
    Ok(d["participants"]
        .as_array()
        .map(|a| a.iter().filter_map(|p| p["user_id"].as_u64()).collect())
        .unwrap_or_default())
}
