//! `circles.rooms.*`: `join_circle` / `leave_circle` and `join_conversation` / `leave_conversation`, for the user's own circles and conversations only, answered on `success` or `error`.

use protocols::engineio::EioVersion;
use serde_json::json;

use super::helpers::{authenticated, circle, conversation, has, update_circle, user};
use crate::case::{Ctx, Outcome};

case! {
    suite: circles,
    name: "rooms.join-own-circle",
    level: Must,
    spec: { v3 | v4: "003_415bfb4e4fd8fc5e.txt §Listened Channels" },
    title: "`join_circle {circle_id}` of the user's circle is answered on `success`, and the circle's events reach the socket",
    run: join_own_circle,
}
async fn join_own_circle(ctx: Ctx, v: EioVersion) -> Outcome {
    let a = user(&ctx).await?;
    let c = circle(&ctx, &[&a]).await?;
    let mut client = authenticated(&ctx, v, &a.token).await?;
    client
        .request("join_circle", json!({"circle_id": c}))
        .await?;
    update_circle(&ctx, c).await?;
    client
        .expect_where("circle", |p| has(p, "circle_id", c))
        .await?;
    Ok(())
}

case! {
    suite: circles,
    name: "rooms.join-foreign-circle-error",
    level: Must,
    spec: { v3 | v4: "003_415bfb4e4fd8fc5e.txt §Listened Channels" },
    title: "`join_circle` of a circle the user is not in is answered on `error`, and the circle's events do not reach the socket",
    run: join_foreign_circle,
}
async fn join_foreign_circle(ctx: Ctx, v: EioVersion) -> Outcome {
    let a = user(&ctx).await?;
    let b = user(&ctx).await?;
    let theirs = circle(&ctx, &[&b]).await?;
    let own = circle(&ctx, &[&a]).await?;
    let mut client = authenticated(&ctx, v, &a.token).await?;
    client
        .refused("join_circle", Some(json!({"circle_id": theirs})))
        .await?;
    client
        .request("join_circle", json!({"circle_id": own}))
        .await?;
    update_circle(&ctx, theirs).await?;
    update_circle(&ctx, own).await?;
    client
        .marker(
            |n, p| n == "circle" && has(p, "circle_id", own),
            |_, p| has(p, "circle_id", theirs),
            "a foreign circle's event reached a socket refused its room",
        )
        .await
}

case! {
    suite: circles,
    name: "rooms.leave-circle",
    level: Must,
    spec: { v3 | v4: "003_415bfb4e4fd8fc5e.txt §Listened Channels" },
    title: "`leave_circle {circle_id}` is answered on `success`, and the circle's events no longer reach the socket",
    run: leave_circle,
}
async fn leave_circle(ctx: Ctx, v: EioVersion) -> Outcome {
    let a = user(&ctx).await?;
    let left = circle(&ctx, &[&a]).await?;
    let kept = circle(&ctx, &[&a]).await?;
    let mut client = authenticated(&ctx, v, &a.token).await?;
    client
        .request("join_circle", json!({"circle_id": left}))
        .await?;
    client
        .request("join_circle", json!({"circle_id": kept}))
        .await?;
    client
        .request("leave_circle", json!({"circle_id": left}))
        .await?;
    update_circle(&ctx, left).await?;
    update_circle(&ctx, kept).await?;
    client
        .marker(
            |n, p| n == "circle" && has(p, "circle_id", kept),
            |_, p| has(p, "circle_id", left),
            "a left circle's event reached the socket",
        )
        .await
}

case! {
    suite: circles,
    name: "rooms.join-own-conversation",
    level: Must,
    spec: { v3 | v4: "003_415bfb4e4fd8fc5e.txt §Listened Channels" },
    title: "`join_conversation {conversation_id}` of the user's conversation is answered on `success`",
    run: join_own_conversation,
}
async fn join_own_conversation(ctx: Ctx, v: EioVersion) -> Outcome {
    let a = user(&ctx).await?;
    let c = circle(&ctx, &[&a]).await?;
    let conv = conversation(&ctx, c, &[&a]).await?;
    let mut client = authenticated(&ctx, v, &a.token).await?;
    client
        .request("join_conversation", json!({"conversation_id": conv}))
        .await?;
    Ok(())
}

case! {
    suite: circles,
    name: "rooms.join-foreign-conversation-error",
    level: Must,
    spec: { v3 | v4: "003_415bfb4e4fd8fc5e.txt §Listened Channels" },
    title: "`join_conversation` of a conversation the user is not in (of the user's own circle) is answered on `error`, and its messages do not reach the socket",
    run: join_foreign_conversation,
}
async fn join_foreign_conversation(ctx: Ctx, v: EioVersion) -> Outcome {
    let a = user(&ctx).await?;
    let b = user(&ctx).await?;
    let c = circle(&ctx, &[&a, &b]).await?;
    let theirs = conversation(&ctx, c, &[&b]).await?;
    let own = conversation(&ctx, c, &[&a, &b]).await?;
    let mut client = authenticated(&ctx, v, &a.token).await?;
    client
        .refused(
            "join_conversation",
            Some(json!({"conversation_id": theirs})),
        )
        .await?;
    client
        .request("join_conversation", json!({"conversation_id": own}))
        .await?;
    let mut sender = authenticated(&ctx, v, &b.token).await?;
    for conv in [theirs, own] {
        sender
            .request(
                "message",
                json!({"conversation_id": conv, "text_message": "hello"}),
            )
            .await?;
    }
    client
        .marker(
            |n, p| n == "message" && has(p, "conversation_id", own),
            |_, p| has(p, "conversation_id", theirs),
            "a foreign conversation's message reached a socket refused its room",
        )
        .await
}

case! {
    suite: circles,
    name: "rooms.leave-conversation",
    level: Must,
    spec: { v3 | v4: "003_415bfb4e4fd8fc5e.txt §Listened Channels" },
    title: "`leave_conversation {conversation_id}` is answered on `success`, and the conversation's messages no longer reach the socket",
    run: leave_conversation,
}
async fn leave_conversation(ctx: Ctx, v: EioVersion) -> Outcome {
    let a = user(&ctx).await?;
    let b = user(&ctx).await?;
    let c = circle(&ctx, &[&a, &b]).await?;
    let left = conversation(&ctx, c, &[&a, &b]).await?;
    let kept = conversation(&ctx, c, &[&a, &b]).await?;
    let mut client = authenticated(&ctx, v, &a.token).await?;
    client
        .request("join_conversation", json!({"conversation_id": left}))
        .await?;
    client
        .request("join_conversation", json!({"conversation_id": kept}))
        .await?;
    client
        .request("leave_conversation", json!({"conversation_id": left}))
        .await?;
    let mut sender = authenticated(&ctx, v, &b.token).await?;
    for conv in [left, kept] {
        sender
            .request(
                "message",
                json!({"conversation_id": conv, "text_message": "hello"}),
            )
            .await?;
    }
    client
        .marker(
            |n, p| n == "message" && has(p, "conversation_id", kept),
            |_, p| has(p, "conversation_id", left),
            "a left conversation's message reached the socket",
        )
        .await
}

case! {
    suite: circles,
    name: "rooms.missing-id-error",
    level: Must,
    spec: { v3 | v4: "003_415bfb4e4fd8fc5e.txt §Listened Channels" },
    title: "`join_circle`, `leave_circle`, `join_conversation` and `leave_conversation` without their id are answered on `error`",
    run: missing_id,
}
async fn missing_id(ctx: Ctx, v: EioVersion) -> Outcome {
    let a = user(&ctx).await?;
    let mut client = authenticated(&ctx, v, &a.token).await?;
    for name in [
        "join_circle",
        "leave_circle",
        "join_conversation",
        "leave_conversation",
    ] {
        client.refused(name, Some(json!({}))).await?;
    }
    Ok(())
}
