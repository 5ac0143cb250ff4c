//! `circles.message.*` and `circles.writing.*`: `message {conversation_id, text_message?, files?}` to the conversation's members (`done`, or `pending` with a `media` list to upload), and `writing` to the others in the conversation.

use protocols::engineio::EioVersion;
use serde_json::{json, Value};

use super::helpers::{
    authenticated, circle, conversation, device, field_is, has, trigger, user, Account, Client,
};
use crate::case::{Ctx, Failure, Outcome};
use crate::{broken, ensure};

/// Two members of a conversation (both joined, `b` also in a second one
/// with `outsider`, the marker's room) and an outsider in that second one.
pub(super) struct Pair {
    pub a: Account,
    pub b: Account,
    pub circle: u64,
    pub conversation: u64,
    pub other: u64,
    pub ca: Client,
    pub cb: Client,
    pub outsider: Client,
}

pub(super) async fn pair(ctx: &Ctx, v: EioVersion) -> Result<Pair, Failure> {
    let a = user(ctx).await?;
    let b = user(ctx).await?;
    let o = user(ctx).await?;
    let c = circle(ctx, &[&a, &b, &o]).await?;
    let conv = conversation(ctx, c, &[&a, &b]).await?;
    let other = conversation(ctx, c, &[&b, &o]).await?;
    let mut ca = authenticated(ctx, v, &a.token).await?;
    ca.request("join_conversation", json!({"conversation_id": conv}))
        .await?;
    let mut cb = authenticated(ctx, v, &b.token).await?;
    cb.request("join_conversation", json!({"conversation_id": conv}))
        .await?;
    cb.request("join_conversation", json!({"conversation_id": other}))
        .await?;
    let mut outsider = authenticated(ctx, v, &o.token).await?;
    outsider
        .request("join_conversation", json!({"conversation_id": other}))
        .await?;
    Ok(Pair {
        a,
        b,
        circle: c,
        conversation: conv,
        other,
        ca,
        cb,
        outsider,
    })
}

/// The outsider's next message is the one `b` sends to its own
/// conversation: nothing of `p.conversation` came before.
pub(super) async fn outsider_left_out(p: &mut Pair, what: &str) -> Outcome {
    p.cb.say(p.other, "marker").await?;
    let (conv, other) = (p.conversation, p.other);
    p.outsider
        .marker(
            |n, m| n == "message" && has(m, "conversation_id", other),
            |_, m| has(m, "conversation_id", conv),
            what,
        )
        .await
}

fn check_done(m: &Value, conv: u64, text_in: &str) -> Outcome {
    field_is(m, "conversation_id", &json!(conv), "the message")?;
    field_is(m, "status", &json!("done"), "the message")?;
    for f in ["message", "sender"] {
        ensure!(
            m.get(f).is_some_and(Value::is_object),
            "the message has no object `{f}`: {m}"
        );
    }
    ensure!(m.get("time").is_some(), "the message has no `time`: {m}");
    ensure!(
        m.get("media_list")
            .and_then(Value::as_array)
            .is_some_and(Vec::is_empty),
        "a message without files should have an empty `media_list`: {m}"
    );
    ensure!(
        m["message"].to_string().contains(text_in),
        "the message's content does not carry the text {text_in:?}: {m}"
    );
    Ok(())
}

case! {
    suite: circles,
    name: "message.done-to-members",
    level: Must,
    spec: { v3 | v4: "003_415bfb4e4fd8fc5e.txt §Messages Events" },
    title: "`message {conversation_id, text_message}` is answered on `success` and reaches every member in the conversation, the sender included, as `{conversation_id, message, time, sender, media_list, status: \"done\"}`; nobody else gets it",
    run: done_to_members,
}
async fn done_to_members(ctx: Ctx, v: EioVersion) -> Outcome {
    let mut p = pair(&ctx, v).await?;
    let conv = p.conversation;
    p.ca.say(conv, "hello circles").await?;
    for (who, client) in [("the sender", &mut p.ca), ("the other member", &mut p.cb)] {
        let m = client
            .expect_where("message", |m| has(m, "conversation_id", conv))
            .await?;
        check_done(&m, conv, "hello circles").map_err(|f| broken!("{who}: {f:?}"))?;
    }
    outsider_left_out(
        &mut p,
        "a message reached a socket outside its conversation",
    )
    .await
}

case! {
    suite: circles,
    name: "message.pending-with-media",
    level: Must,
    spec: { v3 | v4: "003_415bfb4e4fd8fc5e.txt §Medias Events" },
    title: "`message` announcing `files` reaches the members with `status: \"pending\"`, and the sender gets `media {media_list, message_id}` with one entry per file",
    run: pending_with_media,
}
async fn pending_with_media(ctx: Ctx, v: EioVersion) -> Outcome {
    let mut p = pair(&ctx, v).await?;
    let conv = p.conversation;
    let files = json!(["photo.png", "notes.txt"]);
    p.ca.request(
        "message",
        json!({"conversation_id": conv, "text_message": "two files", "files": files}),
    )
    .await?;
    let media = p.ca.expect("media").await?;
    ensure!(
        media
            .get("media_list")
            .and_then(Value::as_array)
            .is_some_and(|l| l.len() == 2),
        "`media_list` should list the two files: {media}"
    );
    ensure!(
        media.get("message_id").is_some_and(Value::is_u64),
        "`media` has no `message_id`: {media}"
    );
    let m =
        p.cb.expect_where("message", |m| has(m, "conversation_id", conv))
            .await?;
    field_is(&m, "status", &json!("pending"), "the announced message")?;
    ensure!(
        m.get("message").is_some_and(Value::is_object),
        "the pending message has no `message`: {m}"
    );
    p.ca.say(conv, "marker").await?;
    p.cb.marker(
        |n, m| n == "message" && m.to_string().contains("marker"),
        |n, _| n == "media",
        "`media` reached a member who sent no files",
    )
    .await
}

case! {
    suite: circles,
    name: "message.errors",
    level: Must,
    spec: { v3 | v4: "003_415bfb4e4fd8fc5e.txt §Listened Channels" },
    title: "`message` without `conversation_id`, to a conversation the user is not in, or with neither text nor files is answered on `error`, and nobody gets it",
    run: message_errors,
}
async fn message_errors(ctx: Ctx, v: EioVersion) -> Outcome {
    let mut p = pair(&ctx, v).await?;
    let (conv, other) = (p.conversation, p.other);
    p.ca.refused("message", Some(json!({"text_message": "where to?"})))
        .await?;
    p.ca.refused(
        "message",
        Some(json!({"conversation_id": other, "text_message": "intruder"})),
    )
    .await?;
    p.ca.refused("message", Some(json!({"conversation_id": conv})))
        .await?;
    p.ca.say(conv, "marker").await?;
    p.cb.marker(
        |n, m| n == "message" && m.to_string().contains("marker"),
        |n, m| n == "message" && !m.to_string().contains("marker"),
        "a refused message reached a member",
    )
    .await?;
    outsider_left_out(&mut p, "a refused message was delivered").await
}

case! {
    suite: circles,
    name: "writing.to-the-others",
    level: Must,
    spec: { v3 | v4: "003_415bfb4e4fd8fc5e.txt §Messages Events" },
    title: "`writing {conversation_id, is_writing}` from a user reaches the others in the conversation as `{conversation_id, device: false, user, is_writing}`, not the sender",
    run: writing_to_others,
}
async fn writing_to_others(ctx: Ctx, v: EioVersion) -> Outcome {
    let mut p = pair(&ctx, v).await?;
    let conv = p.conversation;
    p.ca.writing(conv, true).await?;
    let w = p.cb.expect("writing").await?;
    field_is(&w, "conversation_id", &json!(conv), "`writing`")?;
    field_is(&w, "device", &json!(false), "`writing` of a user")?;
    field_is(&w, "user", &json!(p.a.email), "`writing` of a user")?;
    field_is(&w, "is_writing", &json!(true), "`writing`")?;
    p.cb.writing(conv, false).await?;
    let b_email = json!(p.b.email);
    p.ca.marker(
        |n, w| n == "writing" && w.get("user") == Some(&b_email),
        |n, w| n == "writing" && w.get("user") != Some(&b_email),
        "the sender got its own `writing`",
    )
    .await?;
    let other = p.other;
    p.cb.writing(other, true).await?;
    p.outsider
        .marker(
            |n, w| n == "writing" && has(w, "conversation_id", other),
            |_, w| has(w, "conversation_id", conv),
            "`writing` reached a socket outside its conversation",
        )
        .await
}

case! {
    suite: circles,
    name: "writing.device",
    level: Must,
    spec: { v3 | v4: "003_415bfb4e4fd8fc5e.txt §Messages Events" },
    title: "`writing` from a device of the conversation reaches the members as `{conversation_id, device: true, is_writing}`",
    run: writing_device,
}
async fn writing_device(ctx: Ctx, v: EioVersion) -> Outcome {
    let mut p = pair(&ctx, v).await?;
    let conv = p.conversation;
    let d = device(&ctx, p.circle).await?;
    trigger(
        &ctx,
        "add_device_to_conversation",
        |t| &t.add_device_to_conversation,
        &[
            ("conversation_id", conv.to_string()),
            ("device_id", d.id.to_string()),
        ],
    )
    .await?;
    let mut cd = authenticated(&ctx, v, &d.token).await?;
    cd.request("join_conversation", json!({"conversation_id": conv}))
        .await?;
    cd.writing(conv, true).await?;
    let w = p.cb.expect("writing").await?;
    field_is(&w, "conversation_id", &json!(conv), "`writing` of a device")?;
    field_is(&w, "device", &json!(true), "`writing` of a device")?;
    field_is(&w, "is_writing", &json!(true), "`writing` of a device")?;
    Ok(())
}

case! {
    suite: circles,
    name: "writing.errors",
    level: Must,
    spec: { v3 | v4: "003_415bfb4e4fd8fc5e.txt §Listened Channels" },
    title: "`writing` without `is_writing`, or to a conversation the user is not in, is answered on `error`, and nobody gets it",
    run: writing_errors,
}
async fn writing_errors(ctx: Ctx, v: EioVersion) -> Outcome {
    let mut p = pair(&ctx, v).await?;
    let (conv, other) = (p.conversation, p.other);
    p.ca.refused("writing", Some(json!({"conversation_id": conv})))
        .await?;
    p.ca.refused(
        "writing",
        Some(json!({"conversation_id": other, "is_writing": true})),
    )
    .await?;
    p.ca.writing(conv, false).await?;
    let w = p.cb.expect("writing").await?;
    field_is(
        &w,
        "is_writing",
        &json!(false),
        "the first `writing` B gets (the refused ones must not arrive)",
    )
}
