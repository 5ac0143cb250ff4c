//! `circles.circle.*`, `circles.conversation.*` and `circles.message-event.*`: the document's event tables. Each action (done through the target's triggers, or by a user or device connecting and leaving) reaches the sockets in the circle's or conversation's room with the documented JSON, and nobody outside it.

use protocols::engineio::EioVersion;
use serde_json::{json, Value};

use super::helpers::{
    authenticated, circle, conversation, device, field_is, has, trigger, update_circle, user,
    Client, Pick,
};
use crate::case::{Ctx, Outcome};
use crate::ensure;

/// An event of the Circle Events table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CircleAction {
    Join,
    Quit,
    Kick,
    Update,
    Connect,
    Disconnect,
    DeviceUpdate,
    DeviceConnect,
    DeviceDisconnect,
}

/// `a` is in circle `k`'s room; the action on `k` reaches it with the
/// documented JSON; the outsider (in circle `x`'s room) gets `x`'s update
/// first; after a quit or a kick the removed user no longer gets `k`'s events.
async fn circle_event(ctx: Ctx, v: EioVersion, action: CircleAction) -> Outcome {
    use CircleAction::*;
    let a = user(&ctx).await?;
    let b = user(&ctx).await?;
    let o = user(&ctx).await?;
    let joined_later = user(&ctx).await?;
    let k = circle(&ctx, &[&a, &b]).await?;
    let x = circle(&ctx, &[&o, &b]).await?;
    let d = device(&ctx, k).await?;
    let mut ca = authenticated(&ctx, v, &a.token).await?;
    ca.request("join_circle", json!({"circle_id": k})).await?;
    let mut co = authenticated(&ctx, v, &o.token).await?;
    co.request("join_circle", json!({"circle_id": x})).await?;
    let mut cb: Option<Client> = None;
    if matches!(action, Quit | Kick | Disconnect) {
        let mut c = authenticated(&ctx, v, &b.token).await?;
        c.request("join_circle", json!({"circle_id": k})).await?;
        c.request("join_circle", json!({"circle_id": x})).await?;
        cb = Some(c);
    }
    let mut cd = None;
    if action == DeviceDisconnect {
        cd = Some(authenticated(&ctx, v, &d.token).await?);
    }
    let values = |user: u64| {
        vec![
            ("circle_id", k.to_string()),
            ("user_id", user.to_string()),
            ("by", a.id.to_string()),
            ("device_id", d.id.to_string()),
        ]
    };
    let (event, expected): (&str, Vec<(&str, Value)>) = match action {
        Join => {
            trigger(
                &ctx,
                "join_circle",
                |t| &t.join_circle,
                &values(joined_later.id),
            )
            .await?;
            ("join", vec![("user", json!(joined_later.email))])
        }
        Quit => {
            trigger(&ctx, "quit_circle", |t| &t.quit_circle, &values(b.id)).await?;
            ("quit", vec![("user", json!(b.email))])
        }
        Kick => {
            trigger(
                &ctx,
                "kick_from_circle",
                |t| &t.kick_from_circle,
                &values(b.id),
            )
            .await?;
            (
                "kick",
                vec![("user", json!(b.email)), ("from", json!(a.email))],
            )
        }
        Update => {
            update_circle(&ctx, k).await?;
            ("update", vec![])
        }
        Connect => {
            cb = Some(authenticated(&ctx, v, &b.token).await?);
            ("connect", vec![("user", json!(b.email))])
        }
        Disconnect => {
            if let Some(c) = cb.as_mut() {
                c.disconnect().await?;
            }
            ("disconnect", vec![("user", json!(b.email))])
        }
        DeviceUpdate => {
            trigger(&ctx, "update_device", |t| &t.update_device, &values(b.id)).await?;
            (
                "device",
                vec![("type", json!("update")), ("device_id", json!(d.id))],
            )
        }
        DeviceConnect => {
            cd = Some(authenticated(&ctx, v, &d.token).await?);
            (
                "device",
                vec![("type", json!("connect")), ("device_id", json!(d.id))],
            )
        }
        DeviceDisconnect => {
            if let Some(c) = cd.as_mut() {
                c.disconnect().await?;
            }
            (
                "device",
                vec![("type", json!("disconnect")), ("device_id", json!(d.id))],
            )
        }
    };
    let matches = |p: &Value| {
        has(p, "circle_id", k)
            && p.get("event") == Some(&json!(event))
            && expected.iter().all(|(f, want)| p.get(*f) == Some(want))
    };
    // Skips the circle's other events (the device's own connect, ...).
    ca.expect_where("circle", matches).await?;
    update_circle(&ctx, x).await?;
    co.marker(
        |n, p| n == "circle" && has(p, "circle_id", x),
        |_, p| has(p, "circle_id", k),
        "an event of a circle reached a socket outside its room",
    )
    .await?;
    if let (Some(removed), Quit | Kick) = (cb.as_mut(), action) {
        update_circle(&ctx, k).await?;
        update_circle(&ctx, x).await?;
        removed
            .marker(
                |n, p| {
                    n == "circle"
                        && has(p, "circle_id", x)
                        && p.get("event") == Some(&json!("update"))
                },
                |_, p| has(p, "circle_id", k) && p.get("event") == Some(&json!("update")),
                "a user removed from a circle still got its events",
            )
            .await?;
    }
    // The device's socket stays connected until here (its disconnect is an event).
    drop(cd);
    Ok(())
}

table! {
    suite: circles,
    level: Must,
    spec: { v3 | v4: "003_415bfb4e4fd8fc5e.txt §Circle Events" },
    run: circle_event,
    cases: [
        ("circle.join", "A user joining a circle reaches its room as `circle {event: \"join\", user, circle_id}`; nobody outside it", CircleAction::Join),
        ("circle.quit", "A user leaving a circle reaches its room as `circle {event: \"quit\", user, circle_id}`; nobody outside it; the user no longer gets the circle's events", CircleAction::Quit),
        ("circle.kick", "A kick reaches the circle's room as `circle {event: \"kick\", user, from, circle_id}`; nobody outside it; the kicked user no longer gets the circle's events", CircleAction::Kick),
        ("circle.update", "A change of the circle's info reaches its room as `circle {event: \"update\", circle_id}`; nobody outside it", CircleAction::Update),
        ("circle.connect", "A member authenticating reaches the circle's room as `circle {event: \"connect\", user, circle_id}`; nobody outside it", CircleAction::Connect),
        ("circle.disconnect", "A member disconnecting reaches the circle's room as `circle {event: \"disconnect\", user, circle_id}`; nobody outside it", CircleAction::Disconnect),
        ("circle.device-update", "A change of a device's info reaches its circle's room as `circle {event: \"device\", type: \"update\", device_id}`; nobody outside it", CircleAction::DeviceUpdate),
        ("circle.device-connect", "A device authenticating reaches its circle's room as `circle {event: \"device\", type: \"connect\", device_id}`; nobody outside it", CircleAction::DeviceConnect),
        ("circle.device-disconnect", "A device disconnecting reaches its circle's room as `circle {event: \"device\", type: \"disconnect\", device_id}`; nobody outside it", CircleAction::DeviceDisconnect),
    ],
}

case! {
    suite: circles,
    name: "circle.invite",
    level: Must,
    spec: { v3 | v4: "003_415bfb4e4fd8fc5e.txt §Circle Events" },
    title: "An invitation reaches the invited user as `circle_invite {event: \"invite\", circle_id}`, not the circle's members",
    run: invite,
}
async fn invite(ctx: Ctx, v: EioVersion) -> Outcome {
    let a = user(&ctx).await?;
    let invited = user(&ctx).await?;
    let k = circle(&ctx, &[&a]).await?;
    let mut ca = authenticated(&ctx, v, &a.token).await?;
    ca.request("join_circle", json!({"circle_id": k})).await?;
    let mut ci = authenticated(&ctx, v, &invited.token).await?;
    let values = [
        ("circle_id", k.to_string()),
        ("user_id", invited.id.to_string()),
    ];
    trigger(&ctx, "invite_to_circle", |t| &t.invite_to_circle, &values).await?;
    let got = ci.expect("circle_invite").await?;
    field_is(&got, "event", &json!("invite"), "`circle_invite`")?;
    field_is(&got, "circle_id", &json!(k), "`circle_invite`")?;
    update_circle(&ctx, k).await?;
    ca.marker(
        |n, _| n == "circle",
        |n, _| n == "circle_invite",
        "an invitation reached a member of the circle, not only the invited user",
    )
    .await
}

/// An event of the Conversations Events table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ConversationAction {
    Update,
    Invite,
    Promote,
    Kick,
    Quit,
    AddDevice,
    RemoveDevice,
}

async fn update_conversation(ctx: &Ctx, c: u64) -> Outcome {
    trigger(
        ctx,
        "update_conversation",
        |t| &t.update_conversation,
        &[("conversation_id", c.to_string())],
    )
    .await?;
    Ok(())
}

/// `a` is in conversation `kc`'s room; the action reaches it with
/// `conversation_id` (and `event`, `user`, `type`, `device_id` when the
/// server writes them, with the right values); the outsider (in `y`'s
/// room) gets `y`'s update first; a removed user no longer gets `kc`'s events.
async fn conversation_event(ctx: Ctx, v: EioVersion, action: ConversationAction) -> Outcome {
    use ConversationAction::*;
    let a = user(&ctx).await?;
    let b = user(&ctx).await?;
    let o = user(&ctx).await?;
    let k = circle(&ctx, &[&a, &b, &o]).await?;
    let in_conv: Vec<_> = if action == Invite {
        vec![&a]
    } else {
        vec![&a, &b]
    };
    let kc = conversation(&ctx, k, &in_conv).await?;
    let y = conversation(&ctx, k, &[&o, &b]).await?;
    let d = device(&ctx, k).await?;
    let values = [
        ("conversation_id", kc.to_string()),
        ("user_id", b.id.to_string()),
        ("by", a.id.to_string()),
        ("device_id", d.id.to_string()),
    ];
    let add_device: Pick = |t| &t.add_device_to_conversation;
    if action == RemoveDevice {
        trigger(&ctx, "add_device_to_conversation", add_device, &values).await?;
    }
    let mut ca = authenticated(&ctx, v, &a.token).await?;
    ca.request("join_conversation", json!({"conversation_id": kc}))
        .await?;
    let mut co = authenticated(&ctx, v, &o.token).await?;
    co.request("join_conversation", json!({"conversation_id": y}))
        .await?;
    let mut cb = None;
    if matches!(action, Kick | Quit) {
        let mut c = authenticated(&ctx, v, &b.token).await?;
        c.request("join_conversation", json!({"conversation_id": kc}))
            .await?;
        c.request("join_conversation", json!({"conversation_id": y}))
            .await?;
        cb = Some(c);
    }
    let (name, pick, event, expected): (&str, Pick, &str, Vec<(&str, Value)>) = match action {
        Update => (
            "update_conversation",
            |t| &t.update_conversation,
            "update",
            vec![],
        ),
        Invite => (
            "invite_to_conversation",
            |t| &t.invite_to_conversation,
            "invite",
            vec![("user", json!(b.email))],
        ),
        Promote => (
            "promote_in_conversation",
            |t| &t.promote_in_conversation,
            "promoted",
            vec![("user", json!(b.email))],
        ),
        Kick => (
            "kick_from_conversation",
            |t| &t.kick_from_conversation,
            "kick",
            vec![("user", json!(b.email)), ("from", json!(a.email))],
        ),
        Quit => (
            "quit_conversation",
            |t| &t.quit_conversation,
            "quit",
            vec![("user", json!(b.email))],
        ),
        AddDevice => (
            "add_device_to_conversation",
            add_device,
            "device",
            vec![("type", json!("add")), ("device_id", json!(d.id))],
        ),
        RemoveDevice => (
            "remove_device_from_conversation",
            |t| &t.remove_device_from_conversation,
            "device",
            vec![("type", json!("remove")), ("device_id", json!(d.id))],
        ),
    };
    trigger(&ctx, name, pick, &values).await?;
    let got = ca
        .expect_where("conversation", |p| has(p, "conversation_id", kc))
        .await?;
    // The document shows these events' JSON empty but for the conversation
    // id: what the public server adds must be right when it is there.
    if let Some(e) = got.get("event") {
        ensure!(
            e == &json!(event),
            "the conversation event should be {event:?}: {got}"
        );
    }
    for (f, want) in &expected {
        if let Some(value) = got.get(*f) {
            ensure!(
                value == want,
                "the conversation event's `{f}` should be {want}: {got}"
            );
        }
    }
    update_conversation(&ctx, y).await?;
    co.marker(
        |n, p| n == "conversation" && has(p, "conversation_id", y),
        |_, p| has(p, "conversation_id", kc),
        "an event of a conversation reached a socket outside its room",
    )
    .await?;
    if let Some(removed) = cb.as_mut() {
        update_conversation(&ctx, kc).await?;
        update_conversation(&ctx, y).await?;
        let update = json!("update");
        removed
            .marker(
                |n, p| {
                    n == "conversation"
                        && has(p, "conversation_id", y)
                        && p.get("event").is_none_or(|e| *e == update)
                },
                |_, p| has(p, "conversation_id", kc) && p.get("event").is_none_or(|e| *e == update),
                "a user removed from a conversation still got its events",
            )
            .await?;
    }
    Ok(())
}

table! {
    suite: circles,
    level: Must,
    spec: { v3 | v4: "003_415bfb4e4fd8fc5e.txt §Conversations Events" },
    run: conversation_event,
    cases: [
        ("conversation.update", "A change of the conversation's info reaches its room on `conversation` with its `conversation_id`; nobody outside it", ConversationAction::Update),
        ("conversation.invite", "An invitation into the conversation reaches its room on `conversation` with its `conversation_id`; nobody outside it", ConversationAction::Invite),
        ("conversation.promotion", "A user's promotion reaches the conversation's room on `conversation` with its `conversation_id`; nobody outside it", ConversationAction::Promote),
        ("conversation.kick", "A kick reaches the conversation's room on `conversation` with its `conversation_id`; nobody outside it; the kicked user no longer gets its events", ConversationAction::Kick),
        ("conversation.quit", "A user quitting reaches the conversation's room on `conversation` with its `conversation_id`; nobody outside it; the user no longer gets its events", ConversationAction::Quit),
        ("conversation.add-device", "A device added reaches the conversation's room on `conversation` with its `conversation_id`; nobody outside it", ConversationAction::AddDevice),
        ("conversation.remove-device", "A device removed reaches the conversation's room on `conversation` with its `conversation_id`; nobody outside it", ConversationAction::RemoveDevice),
    ],
}

/// A message sent by `a` to `kc` is deleted or updated: `{conversation_id,
/// message_id, event}` reaches the room, and nobody outside it.
async fn message_event(ctx: Ctx, v: EioVersion, delete: bool) -> Outcome {
    let a = user(&ctx).await?;
    let o = user(&ctx).await?;
    let k = circle(&ctx, &[&a, &o]).await?;
    let kc = conversation(&ctx, k, &[&a]).await?;
    let y = conversation(&ctx, k, &[&o]).await?;
    let mut ca = authenticated(&ctx, v, &a.token).await?;
    ca.request("join_conversation", json!({"conversation_id": kc}))
        .await?;
    let mut co = authenticated(&ctx, v, &o.token).await?;
    co.request("join_conversation", json!({"conversation_id": y}))
        .await?;
    ca.emit(
        "message",
        Some(json!({"conversation_id": kc, "text_message": "soon changed"})),
    )
    .await?;
    let sent = ca
        .expect_where("message", |p| has(p, "conversation_id", kc))
        .await?;
    let id = sent
        .pointer("/message/id")
        .and_then(Value::as_u64)
        .ok_or_else(|| {
            crate::case::Failure::Unimplemented(format!(
                "the sent message names no `message.id` to change: {sent}"
            ))
        })?;
    let values = [("message_id", id.to_string())];
    let event = if delete {
        trigger(&ctx, "delete_message", |t| &t.delete_message, &values).await?;
        "delete"
    } else {
        trigger(&ctx, "update_message", |t| &t.update_message, &values).await?;
        "update"
    };
    let got = ca
        .expect_where("message", |p| p.get("event").is_some())
        .await?;
    field_is(&got, "conversation_id", &json!(kc), "the message event")?;
    field_is(&got, "message_id", &json!(id), "the message event")?;
    field_is(&got, "event", &json!(event), "the message event")?;
    update_conversation(&ctx, y).await?;
    co.marker(
        |n, p| n == "conversation" && has(p, "conversation_id", y),
        |_, p| has(p, "conversation_id", kc),
        "a message event reached a socket outside the conversation",
    )
    .await
}

table! {
    suite: circles,
    level: Must,
    spec: { v3 | v4: "003_415bfb4e4fd8fc5e.txt §Messages Events" },
    run: message_event,
    cases: [
        ("message-event.delete", "A message deleted reaches its conversation's room as `message {conversation_id, message_id, event: \"delete\"}`; nobody outside it", true),
        ("message-event.update", "A message edited reaches its conversation's room as `message {conversation_id, message_id, event: \"update\"}`; nobody outside it", false),
    ],
}
