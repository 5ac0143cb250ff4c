//! `sockets.*.message.*`: §3.1.2 Message events: a message to everyone in
//! the room, the sender included, with the sender's registered name; who
//! must not receive it; and the messages refused.

use protocols::engineio::EioVersion;
use protocols::socketio::Data;
use serde_json::{json, Value};

use super::helpers::{fresh, Chat};
use crate::case::{Ctx, Outcome};
use crate::driver::socketio::Transport;
use crate::{ensure, ensure_eq};

case! {
    suite: sockets,
    name: "message.to-everyone",
    level: Must,
    spec: { v3 | v4: "001_13ce220237596520.txt §3.1.2 Message events" },
    title: "A registered user's `message {from, message}` reaches every user in the room, the sender included, as `{from, message}`",
    run: to_everyone,
}
async fn to_everyone(ctx: Ctx, v: EioVersion) -> Outcome {
    let (a, b, c) = (fresh("ann"), fresh("bob"), fresh("cyd"));
    let mut ann = Chat::user(&ctx, v, &a).await?;
    let mut bob = Chat::user(&ctx, v, &b).await?;
    let mut cyd = Chat::user(&ctx, v, &c).await?;
    let text = fresh("hello");
    ann.say(json!({"from": a, "message": text})).await?;
    for chat in [&mut ann, &mut bob, &mut cyd] {
        chat.expect_said(&a, &text).await?;
    }
    Ok(())
}

case! {
    suite: sockets,
    name: "message.from-corrected",
    level: Must,
    spec: { v3 | v4: "001_13ce220237596520.txt §3.1.2 Message events" },
    title: "\"If the from field is not correct, the server will correct it\": a message claiming another user's name reaches everyone from its sender's registered name",
    run: from_corrected,
}
async fn from_corrected(ctx: Ctx, v: EioVersion) -> Outcome {
    let (a, b) = (fresh("ann"), fresh("bob"));
    let mut ann = Chat::user(&ctx, v, &a).await?;
    let mut bob = Chat::user(&ctx, v, &b).await?;
    let text = fresh("i-am-bob");
    ann.say(json!({"from": b, "message": text})).await?;
    ann.expect_said(&a, &text).await?;
    bob.expect_said(&a, &text).await
}

case! {
    suite: sockets,
    name: "message.from-server-corrected",
    level: Should,
    spec: { v3 | v4: "specs/README.md §Silent spots: sockets from" },
    title: "A user cannot speak as `Server`: a message claiming `from: \"Server\"` reaches the room from the sender's registered name",
    run: from_server_corrected,
}
async fn from_server_corrected(ctx: Ctx, v: EioVersion) -> Outcome {
    let (a, b) = (fresh("ann"), fresh("bob"));
    let mut ann = Chat::user(&ctx, v, &a).await?;
    let mut bob = Chat::user(&ctx, v, &b).await?;
    let text = format!("{} left the chat", fresh("fake"));
    ann.say(json!({"from": "Server", "message": text})).await?;
    bob.expect_said(&a, &text).await
}

case! {
    suite: sockets,
    name: "message.from-missing",
    level: Should,
    spec: { v3 | v4: "001_13ce220237596520.txt §3.1.2 Message events" },
    title: "A message without `from` is corrected as well: everyone gets it from the sender's registered name",
    run: from_missing,
}
async fn from_missing(ctx: Ctx, v: EioVersion) -> Outcome {
    let (a, b) = (fresh("ann"), fresh("bob"));
    let mut ann = Chat::user(&ctx, v, &a).await?;
    let mut bob = Chat::user(&ctx, v, &b).await?;
    let text = fresh("anonymous");
    ann.say(json!({"message": text})).await?;
    bob.expect_said(&a, &text).await
}

case! {
    suite: sockets,
    name: "message.fields",
    level: Info,
    spec: { v3 | v4: "001_13ce220237596520.txt §3.1.2 Message events" },
    title: "A message reaches the room with the two fields of the memo only: fields the sender added are dropped",
    run: fields,
}
async fn fields(ctx: Ctx, v: EioVersion) -> Outcome {
    let (a, b) = (fresh("ann"), fresh("bob"));
    let mut ann = Chat::user(&ctx, v, &a).await?;
    let mut bob = Chat::user(&ctx, v, &b).await?;
    let text = fresh("extra");
    ann.say(json!({"from": a, "message": text, "color": "red"}))
        .await?;
    let got = bob.expect("the message", |m| m.message == text).await?;
    ensure!(
        got.extra.is_empty(),
        "the message came with the fields {:?}",
        got.extra.keys().collect::<Vec<_>>()
    );
    Ok(())
}

case! {
    suite: sockets,
    name: "message.not-to-unregistered",
    level: Should,
    spec: { v3 | v4: "001_13ce220237596520.txt §3.1.2 Message events" },
    title: "The room is its registered users: a connected client that has not registered receives neither messages nor notices",
    run: not_to_unregistered,
}
async fn not_to_unregistered(ctx: Ctx, v: EioVersion) -> Outcome {
    let mut lurker = Chat::connect(&ctx, v, Transport::WebSocket).await?;
    let (a, b) = (fresh("ann"), fresh("bob"));
    let mut ann = Chat::user(&ctx, v, &a).await?;
    let _bob = Chat::user(&ctx, v, &b).await?;
    let text = fresh("members-only");
    ann.say(json!({"from": a, "message": text})).await?;
    ann.expect_said(&a, &text).await?;
    lurker
        .quiet("a client that never registered", |_| true)
        .await
}

case! {
    suite: sockets,
    name: "message.unregistered-not-broadcast",
    level: Should,
    spec: { v3 | v4: "001_13ce220237596520.txt §3.1.2 Message events" },
    title: "A `message` before `register` has no sender to correct `from` to: it reaches no one, not even under a registered user's name",
    run: unregistered_not_broadcast,
}
async fn unregistered_not_broadcast(ctx: Ctx, v: EioVersion) -> Outcome {
    let a = fresh("ann");
    let mut ann = Chat::user(&ctx, v, &a).await?;
    let mut stranger = Chat::connect(&ctx, v, Transport::WebSocket).await?;
    let text = fresh("impostor");
    stranger.say(json!({"from": a, "message": text})).await?;
    ann.quiet("a message sent before register", |m| m.message == text)
        .await?;
    stranger
        .quiet("its own message sent before register", |m| {
            m.message == text
        })
        .await
}

case! {
    suite: sockets,
    name: "message.unregistered-ack-false",
    level: Info,
    spec: { v3 | v4: "001_13ce220237596520.txt §3.1.2 Message events" },
    title: "A `message` before `register` that asks for an ack is acknowledged `false`, and the connection stays open for `register`",
    run: unregistered_ack_false,
}
async fn unregistered_ack_false(ctx: Ctx, v: EioVersion) -> Outcome {
    let mut stranger = Chat::connect(&ctx, v, Transport::WebSocket).await?;
    let answer = stranger
        .say_with_ack(json!({"from": "nobody", "message": fresh("early")}))
        .await?;
    ensure_eq!(
        answer,
        vec![Data::Bool(false)],
        "the ack of an early message"
    );
    let name = fresh("ann");
    ensure!(
        stranger.register(Data::String(name)).await?,
        "register after the refused message was refused"
    );
    Ok(())
}

case! {
    suite: sockets,
    name: "message.ack-true",
    level: Info,
    spec: { v3 | v4: "001_13ce220237596520.txt §3.1 Commands" },
    title: "The response to `message` is optional: one that asks for an ack is acknowledged `true` and still reaches everyone",
    run: ack_true,
}
async fn ack_true(ctx: Ctx, v: EioVersion) -> Outcome {
    let (a, b) = (fresh("ann"), fresh("bob"));
    let mut ann = Chat::user(&ctx, v, &a).await?;
    let mut bob = Chat::user(&ctx, v, &b).await?;
    let text = fresh("acked");
    let answer = ann
        .say_with_ack(json!({"from": a, "message": text}))
        .await?;
    ensure_eq!(answer, vec![Data::Bool(true)], "the ack of a message");
    bob.expect_said(&a, &text).await
}

/// A malformed `message` from a registered user: acknowledged `false`, and
/// nothing reaches the room.
async fn malformed(ctx: Ctx, v: EioVersion, payload: fn(&str) -> Value) -> Outcome {
    let (a, b) = (fresh("ann"), fresh("bob"));
    let mut ann = Chat::user(&ctx, v, &a).await?;
    let mut bob = Chat::user(&ctx, v, &b).await?;
    let marker = fresh("bad");
    let answer = ann.say_with_ack(payload(&marker)).await?;
    ensure_eq!(
        answer,
        vec![Data::Bool(false)],
        "the ack of a malformed message"
    );
    let sent_by_ann = |m: &protocols::sockets::ChatMessage| m.from == a;
    bob.quiet("a malformed message", sent_by_ann).await
}

table! {
    suite: sockets,
    level: Info,
    spec: { v3 | v4: "001_13ce220237596520.txt §3.1.2 Message events" },
    run: malformed,
    cases: [
        ("message.text-missing-refused",
         "A `message` without its `message` field is acknowledged `false` and reaches no one",
         |m| json!({"from": m})),
        ("message.text-not-a-string-refused",
         "A `message` whose `message` is not a string is acknowledged `false` and reaches no one",
         |m| json!({"from": m, "message": [m]})),
        ("message.payload-not-an-object-refused",
         "A `message` whose payload is a bare string, not `{from, message}`, is acknowledged `false` and reaches no one",
         |m| json!(m)),
    ],
}
