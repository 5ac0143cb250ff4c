//! `assa.message.*` and `assa.limit.*`: SEND_MESSAGE (text and image),
//! NEW_MESSAGE to every participant and nobody else, CHECK_RECEIVE (§5),
//! and the size limits of §10.1.

use serde_json::{json, Value};

use super::helpers::{
    clients, join, ok, open_room, receives_no, refused, say, timestamp, NO_SUCH_ID,
};
use crate::case::{Ctx, Outcome};
use crate::driver::assa::AssaClient;
use crate::{ensure, ensure_eq};

case! {
    suite: assa,
    name: "message.send-response",
    level: Must,
    spec: "004_636ae579ed5d2364.txt §5.1",
    title: "SEND_MESSAGE_RESPONSE carries the server's message_id, room_id, content, message_type, created_at and the client_message_id echoed",
    run: send_response,
}
async fn send_response(ctx: Ctx) -> Outcome {
    let (_, mut c) = clients(&ctx, 1).await?.remove(0);
    let room = open_room(&mut c).await?;
    let d = say(&mut c, room, "안녕하세요!").await?;
    ensure!(
        d["message_id"].is_u64(),
        "message_id is not an integer: {d}"
    );
    ensure_eq!(d["room_id"].as_u64(), Some(room), "room_id");
    ensure_eq!(d["content"].as_str(), Some("안녕하세요!"), "content");
    ensure_eq!(d["message_type"].as_str(), Some("text"), "message_type");
    ensure_eq!(
        d["client_message_id"].as_str(),
        Some("c-안녕하세요!"),
        "client_message_id"
    );
    timestamp(&d["created_at"], "created_at")
}

case! {
    suite: assa,
    name: "message.new-message-to-participants-only",
    level: Must,
    spec: "004_636ae579ed5d2364.txt §5.1",
    title: "NEW_MESSAGE (message_id, room_id, content, user, created_at, reply_to_message_id) reaches every other participant and nobody outside the room",
    run: new_message,
}
async fn new_message(ctx: Ctx) -> Outcome {
    let mut cs = clients(&ctx, 3).await?;
    let room = open_room(&mut cs[0].1).await?;
    join(&mut cs[1].1, room).await?;
    let sent = say(&mut cs[0].1, room, "hello room").await?;
    let m = cs[1].1.expect("NEW_MESSAGE").await?;
    let d = &m["data"];
    ensure_eq!(
        d["message_id"],
        sent["message_id"],
        "NEW_MESSAGE message_id"
    );
    ensure_eq!(d["room_id"].as_u64(), Some(room), "NEW_MESSAGE room_id");
    ensure_eq!(
        d["content"].as_str(),
        Some("hello room"),
        "NEW_MESSAGE content"
    );
    ensure_eq!(
        d["user"]["user_id"].as_u64(),
        Some(cs[0].0.id),
        "NEW_MESSAGE user.user_id"
    );
    ensure!(
        d["user"]["nickname"].is_string(),
        "NEW_MESSAGE user.nickname is not a string"
    );
    timestamp(&d["created_at"], "NEW_MESSAGE created_at")?;
    ensure!(
        d.get("reply_to_message_id").is_some(),
        "NEW_MESSAGE has no reply_to_message_id"
    );
    receives_no(&ctx, &mut cs[2].1, "NEW_MESSAGE", "a user outside the room").await
}

case! {
    suite: assa,
    name: "message.reply-to",
    level: Should,
    spec: "004_636ae579ed5d2364.txt §5.1",
    title: "A reply's reply_to_message_id reaches the participants in NEW_MESSAGE",
    run: reply_to,
}
async fn reply_to(ctx: Ctx) -> Outcome {
    let mut cs = clients(&ctx, 2).await?;
    let room = open_room(&mut cs[0].1).await?;
    join(&mut cs[1].1, room).await?;
    let first = say(&mut cs[0].1, room, "question").await?["message_id"].clone();
    cs[1].1.expect("NEW_MESSAGE").await?;
    let r = cs[1]
        .1
        .request(
            "SEND_MESSAGE",
            json!({ "room_id": room, "content": "answer", "message_type": "text",
                    "reply_to_message_id": first, "client_message_id": "reply" }),
        )
        .await?;
    ok(&r, "SEND_MESSAGE")?;
    let m = cs[0]
        .1
        .expect_where("the reply's NEW_MESSAGE", ctx.wait, |m| {
            m["action"] == "NEW_MESSAGE" && m["data"]["content"] == "answer"
        })
        .await?;
    ensure_eq!(
        m["data"]["reply_to_message_id"],
        first,
        "reply_to_message_id"
    );
    Ok(())
}

/// SEND_MESSAGE of `data` in `room`: the response.
async fn send(
    c: &mut AssaClient,
    room: u64,
    mut data: Value,
) -> Result<Value, crate::case::Failure> {
    data["room_id"] = json!(room);
    data["client_message_id"] = json!("limit");
    Ok(c.request("SEND_MESSAGE", data).await?)
}

case! {
    suite: assa,
    name: "limit.text-5000-characters-accepted",
    level: Must,
    spec: "004_636ae579ed5d2364.txt §10.1",
    title: "A text message of exactly 5,000 characters, each 3 bytes in UTF-8, is accepted (the limit counts characters, not bytes)",
    run: |ctx| text_limit(ctx, 5_000, None),
}
case! {
    suite: assa,
    name: "limit.text-over-5000-characters-refused",
    level: Must,
    spec: "004_636ae579ed5d2364.txt §10.1",
    title: "A text message of 5,001 characters is MESSAGE_TOO_LONG",
    run: |ctx| text_limit(ctx, 5_001, Some("MESSAGE_TOO_LONG")),
}
async fn text_limit(ctx: Ctx, chars: usize, code: Option<&'static str>) -> Outcome {
    let (_, mut c) = clients(&ctx, 1).await?.remove(0);
    let room = open_room(&mut c).await?;
    let r = send(
        &mut c,
        room,
        json!({ "content": "가".repeat(chars), "message_type": "text" }),
    )
    .await?;
    match code {
        None => ok(&r, "SEND_MESSAGE").map(drop),
        Some(code) => refused(&r, "SEND_MESSAGE", code),
    }
}

fn image(size: u64, mime: &str) -> Value {
    json!({
        "content": "", "message_type": "image",
        "file_info": { "file_path": "/storage/messages/image_001.jpg", "file_name": "photo.jpg",
                       "file_size": size, "mime_type": mime },
    })
}

case! {
    suite: assa,
    name: "message.image",
    level: Must,
    spec: "004_636ae579ed5d2364.txt §5.2",
    title: "An image message with file_info is accepted and reaches the participants as NEW_MESSAGE of type image",
    run: image_message,
}
async fn image_message(ctx: Ctx) -> Outcome {
    let mut cs = clients(&ctx, 2).await?;
    let room = open_room(&mut cs[0].1).await?;
    join(&mut cs[1].1, room).await?;
    let r = send(&mut cs[0].1, room, image(1_024_000, "image/jpeg")).await?;
    let d = ok(&r, "SEND_MESSAGE")?;
    ensure_eq!(d["message_type"].as_str(), Some("image"), "message_type");
    let m = cs[1].1.expect("NEW_MESSAGE").await?;
    ensure_eq!(
        m["data"]["message_type"].as_str(),
        Some("image"),
        "NEW_MESSAGE message_type"
    );
    Ok(())
}

table! {
    suite: assa,
    level: Must,
    spec: "004_636ae579ed5d2364.txt §10.1",
    run: image_refused,
    cases: [
        ("limit.image-over-10mb-refused", "An image over 10 MB is FILE_UPLOAD_FAILED", 10 * 1_048_576 + 1, "image/jpeg"),
    ],
}
table! {
    suite: assa,
    level: Should,
    spec: "004_636ae579ed5d2364.txt §9.2",
    run: image_refused,
    cases: [
        ("message.image-not-an-image-refused", "An image message whose mime_type is not an image type is FILE_UPLOAD_FAILED", 1_000, "application/pdf"),
    ],
}
async fn image_refused(ctx: Ctx, size: u64, mime: &'static str) -> Outcome {
    let (_, mut c) = clients(&ctx, 1).await?.remove(0);
    let room = open_room(&mut c).await?;
    let r = send(&mut c, room, image(size, mime)).await?;
    refused(&r, "SEND_MESSAGE", "FILE_UPLOAD_FAILED")
}

case! {
    suite: assa,
    name: "message.invalid-type-refused",
    level: Must,
    spec: "004_636ae579ed5d2364.txt §9.2",
    title: "A message_type the document does not list (`video`) is INVALID_MESSAGE_TYPE",
    run: invalid_type,
}
async fn invalid_type(ctx: Ctx) -> Outcome {
    let (_, mut c) = clients(&ctx, 1).await?.remove(0);
    let room = open_room(&mut c).await?;
    let r = send(
        &mut c,
        room,
        json!({ "content": "x", "message_type": "video" }),
    )
    .await?;
    refused(&r, "SEND_MESSAGE", "INVALID_MESSAGE_TYPE")
}

case! {
    suite: assa,
    name: "message.non-member-refused",
    level: Must,
    spec: "004_636ae579ed5d2364.txt §9.2",
    title: "SEND_MESSAGE to a room the user is not in is USER_NOT_IN_ROOM, and the participants get nothing",
    run: non_member,
}
async fn non_member(ctx: Ctx) -> Outcome {
    let mut cs = clients(&ctx, 2).await?;
    let room = open_room(&mut cs[0].1).await?;
    let r = send(
        &mut cs[1].1,
        room,
        json!({ "content": "intruder", "message_type": "text" }),
    )
    .await?;
    refused(&r, "SEND_MESSAGE", "USER_NOT_IN_ROOM")?;
    receives_no(&ctx, &mut cs[0].1, "NEW_MESSAGE", "the room's host").await
}

case! {
    suite: assa,
    name: "message.check-receive",
    level: Must,
    spec: "004_636ae579ed5d2364.txt §5.3",
    title: "CHECK_RECEIVE returns the confirmed ids in received_messages, ids that are no messages of the room in failed_messages, and the unconfirmed rest in pending_messages (message_id, content, user, created_at)",
    run: check_receive,
}
async fn check_receive(ctx: Ctx) -> Outcome {
    let mut cs = clients(&ctx, 2).await?;
    let room = open_room(&mut cs[0].1).await?;
    join(&mut cs[1].1, room).await?;
    let mut ids = Vec::new();
    for text in ["m1", "m2", "m3"] {
        ids.push(say(&mut cs[0].1, room, text).await?["message_id"].clone());
    }
    let r = cs[1]
        .1
        .request(
            "CHECK_RECEIVE",
            json!({ "room_id": room, "message_ids": [ids[0], ids[1], NO_SUCH_ID] }),
        )
        .await?;
    let d = ok(&r, "CHECK_RECEIVE")?;
    ensure_eq!(d["room_id"].as_u64(), Some(room), "room_id");
    ensure_eq!(
        d["received_messages"],
        json!([ids[0], ids[1]]),
        "received_messages"
    );
    ensure_eq!(d["failed_messages"], json!([NO_SUCH_ID]), "failed_messages");
    let pending = d["pending_messages"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    ensure_eq!(pending.len(), 1, "number of pending_messages");
    let p = &pending[0];
    ensure_eq!(p["message_id"], ids[2], "pending message_id");
    ensure_eq!(p["content"].as_str(), Some("m3"), "pending content");
    ensure_eq!(
        p["user"]["user_id"].as_u64(),
        Some(cs[0].0.id),
        "pending user.user_id"
    );
    timestamp(&p["created_at"], "pending created_at")
}

case! {
    suite: assa,
    name: "message.check-receive-empty-lists-pending",
    level: Should,
    spec: "004_636ae579ed5d2364.txt §5.3",
    title: "CHECK_RECEIVE with no message_ids confirms nothing and lists every unconfirmed message of the room as pending",
    run: check_receive_empty,
}
async fn check_receive_empty(ctx: Ctx) -> Outcome {
    let mut cs = clients(&ctx, 2).await?;
    let room = open_room(&mut cs[0].1).await?;
    join(&mut cs[1].1, room).await?;
    let a = say(&mut cs[0].1, room, "p1").await?["message_id"].clone();
    let b = say(&mut cs[0].1, room, "p2").await?["message_id"].clone();
    let r = cs[1]
        .1
        .request(
            "CHECK_RECEIVE",
            json!({ "room_id": room, "message_ids": [] }),
        )
        .await?;
    let d = ok(&r, "CHECK_RECEIVE")?;
    let pending: Vec<_> = d["pending_messages"]
        .as_array()
        .map(|v| v.iter().map(|m| m["message_id"].clone()).collect())
        .unwrap_or_default();
    ensure_eq!(pending, vec![a, b], "pending message ids");
    ensure_eq!(d["received_messages"], json!([]), "received_messages");
    Ok(())
}
