//! `circles.rooms.*`: `join_circle` / `leave_circle` and `join_conversation` / `leave_conversation`, for the user's own circles and conversations only, answered on `success` or `error`.

use protocols::engineio::EioVersion;
use serde_json::{json, Value};

use super::helpers::{
    authenticated, circle, conversation, has, update_circle, user, Account, Client,
};
use crate::case::{Ctx, Failure, Outcome};

/// The two kinds of room a socket joins: a circle's, whose events the
/// `update_circle` trigger sets off, and a conversation's, whose messages a
/// member sends.
#[derive(Debug, Clone, Copy)]
enum Room {
    Circle,
    Conversation,
}

impl Room {
    /// The room's name in its channels (`join_circle`) and in failures.
    fn name(self) -> &'static str {
        match self {
            Room::Circle => "circle",
            Room::Conversation => "conversation",
        }
    }

    /// The id field of its channels and of the events it gets.
    fn id(self) -> &'static str {
        match self {
            Room::Circle => "circle_id",
            Room::Conversation => "conversation_id",
        }
    }

    /// The event the room's sockets get.
    fn event(self) -> &'static str {
        match self {
            Room::Circle => "circle",
            Room::Conversation => "message",
        }
    }

    /// What failures call that event.
    fn what(self) -> &'static str {
        match self {
            Room::Circle => "event",
            Room::Conversation => "message",
        }
    }

    /// The payload naming room `id` on the room's channels.
    fn at(self, id: u64) -> Value {
        json!({ self.id(): id })
    }

    /// Reads until the event of room `marker`, failing with `what` on one
    /// of room `forbidden` first.
    async fn marker(self, client: &mut Client, marker: u64, forbidden: u64, what: &str) -> Outcome {
        let (event, id) = (self.event(), self.id());
        client
            .marker(
                |n, p| n == event && has(p, id, marker),
                |_, p| has(p, id, forbidden),
                what,
            )
            .await
    }
}

/// What sets off the events a case watches for in its two rooms.
enum Source {
    /// The `update_circle` trigger, once for each circle.
    Trigger,
    /// A message from this member of both conversations to each.
    Member(Account),
}

impl Source {
    /// Sets off one event in each of `rooms`, in order: a member's socket
    /// is returned, to stay connected until the case has checked.
    async fn set_off(
        &self,
        ctx: &Ctx,
        v: EioVersion,
        rooms: [u64; 2],
    ) -> Result<Option<Client>, Failure> {
        match self {
            Source::Trigger => {
                for c in rooms {
                    update_circle(ctx, c).await?;
                }
                Ok(None)
            }
            Source::Member(b) => {
                let mut sender = authenticated(ctx, v, &b.token).await?;
                for conv in rooms {
                    sender.say(conv, "hello").await?;
                }
                Ok(Some(sender))
            }
        }
    }
}

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

/// `join_<room>` of a room of `b`'s that `a` is not in is refused, and its
/// events do not reach `a`'s socket before those of `a`'s own room.
async fn join_foreign(ctx: Ctx, v: EioVersion, room: Room) -> Outcome {
    let a = user(&ctx).await?;
    let b = user(&ctx).await?;
    let (source, theirs, own) = match room {
        Room::Circle => (
            Source::Trigger,
            circle(&ctx, &[&b]).await?,
            circle(&ctx, &[&a]).await?,
        ),
        Room::Conversation => {
            let c = circle(&ctx, &[&a, &b]).await?;
            let theirs = conversation(&ctx, c, &[&b]).await?;
            let own = conversation(&ctx, c, &[&a, &b]).await?;
            (Source::Member(b), theirs, own)
        }
    };
    let join = format!("join_{}", room.name());
    let mut client = authenticated(&ctx, v, &a.token).await?;
    client.refused(&join, Some(room.at(theirs))).await?;
    client.request(&join, room.at(own)).await?;
    let _sender = source.set_off(&ctx, v, [theirs, own]).await?;
    let what = format!(
        "a foreign {}'s {} reached a socket refused its room",
        room.name(),
        room.what()
    );
    room.marker(&mut client, own, theirs, &what).await
}

table! {
    suite: circles,
    level: Must,
    spec: { v3 | v4: "003_415bfb4e4fd8fc5e.txt §Listened Channels" },
    run: join_foreign,
    cases: [
        ("rooms.join-foreign-circle-error", "`join_circle` of a circle the user is not in is answered on `error`, and the circle's events do not reach the socket", Room::Circle),
        ("rooms.join-foreign-conversation-error", "`join_conversation` of a conversation the user is not in (of the user's own circle) is answered on `error`, and its messages do not reach the socket", Room::Conversation),
    ],
}

/// `leave_<room>` of one of two joined rooms is answered on `success`, and
/// its events no longer reach the socket before those of the other.
async fn leave(ctx: Ctx, v: EioVersion, room: Room) -> Outcome {
    let a = user(&ctx).await?;
    let (source, left, kept) = match room {
        Room::Circle => (
            Source::Trigger,
            circle(&ctx, &[&a]).await?,
            circle(&ctx, &[&a]).await?,
        ),
        Room::Conversation => {
            let b = user(&ctx).await?;
            let c = circle(&ctx, &[&a, &b]).await?;
            let left = conversation(&ctx, c, &[&a, &b]).await?;
            let kept = conversation(&ctx, c, &[&a, &b]).await?;
            (Source::Member(b), left, kept)
        }
    };
    let join = format!("join_{}", room.name());
    let mut client = authenticated(&ctx, v, &a.token).await?;
    client.request(&join, room.at(left)).await?;
    client.request(&join, room.at(kept)).await?;
    client
        .request(&format!("leave_{}", room.name()), room.at(left))
        .await?;
    let _sender = source.set_off(&ctx, v, [left, kept]).await?;
    let what = format!(
        "a left {}'s {} reached the socket",
        room.name(),
        room.what()
    );
    room.marker(&mut client, kept, left, &what).await
}

table! {
    suite: circles,
    level: Must,
    spec: { v3 | v4: "003_415bfb4e4fd8fc5e.txt §Listened Channels" },
    run: leave,
    cases: [
        ("rooms.leave-circle", "`leave_circle {circle_id}` is answered on `success`, and the circle's events no longer reach the socket", Room::Circle),
        ("rooms.leave-conversation", "`leave_conversation {conversation_id}` is answered on `success`, and the conversation's messages no longer reach the socket", Room::Conversation),
    ],
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
