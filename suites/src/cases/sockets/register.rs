//! `sockets.*.register.*`: §3.1.4 Register events: the answer to `register`,
//! the join notice to everyone in the room, and every name refused.

use protocols::engineio::EioVersion;
use protocols::socketio::Data;
use protocols::sockets::{Notice, SERVER_USER};
use serde_json::json;

use super::helpers::{fresh, target, Chat};
use crate::case::{Ctx, Failure, Outcome};
use crate::driver::socketio::Transport;
use crate::ensure;

case! {
    suite: sockets,
    name: "register.accepted",
    level: Must,
    spec: { v3 | v4: "001_13ce220237596520.txt §3.1.4 Register events" },
    title: "`register` with a fresh raw username is acknowledged with the boolean `true`",
    run: accepted,
}
async fn accepted(ctx: Ctx, v: EioVersion) -> Outcome {
    let mut chat = Chat::connect(&ctx, v, Transport::WebSocket).await?;
    let accepted = chat.register(Data::String(fresh("ann"))).await?;
    ensure!(accepted, "a fresh name was refused");
    Ok(())
}

case! {
    suite: sockets,
    name: "register.join-notice-to-others",
    level: Must,
    spec: { v3 | v4: "001_13ce220237596520.txt §3.1.4 Register events" },
    title: "Once a user registers, every other user in the room gets a `message` from `Server`: `<name> has joined the chat`",
    run: join_notice_to_others,
}
async fn join_notice_to_others(ctx: Ctx, v: EioVersion) -> Outcome {
    let (a, b, c) = (fresh("ann"), fresh("bob"), fresh("cyd"));
    let mut ann = Chat::user(&ctx, v, &a).await?;
    let mut bob = Chat::user(&ctx, v, &b).await?;
    let _cyd = Chat::user(&ctx, v, &c).await?;
    let joined = Notice::Joined(c);
    ann.expect_notice(&joined).await?;
    bob.expect_notice(&joined).await
}

case! {
    suite: sockets,
    name: "register.join-notice-to-self",
    level: Must,
    spec: { v3 | v4: "001_13ce220237596520.txt §3.1.4 Register events" },
    title: "The new user is in the room too: it gets its own `<name> has joined the chat` from `Server` as well",
    run: join_notice_to_self,
}
async fn join_notice_to_self(ctx: Ctx, v: EioVersion) -> Outcome {
    let name = fresh("ann");
    let mut ann = Chat::user(&ctx, v, &name).await?;
    ann.expect_notice(&Notice::Joined(name)).await
}

case! {
    suite: sockets,
    name: "register.without-ack",
    level: Must,
    spec: { v3 | v4: "001_13ce220237596520.txt §3.1 Commands" },
    title: "\"The response body can be optional\": a `register` sent without an ack id still registers the user, who gets the join notice",
    run: without_ack,
}
async fn without_ack(ctx: Ctx, v: EioVersion) -> Outcome {
    let name = fresh("ann");
    let mut ann = Chat::connect(&ctx, v, Transport::WebSocket).await?;
    ann.emit("register", vec![Data::String(name.clone())])
        .await?;
    ann.expect_notice(&Notice::Joined(name)).await
}

case! {
    suite: sockets,
    name: "register.taken-refused",
    level: Must,
    spec: { v3 | v4: "001_13ce220237596520.txt §3.1.4 Register events" },
    title: "\"Each user has a unique username\": registering a name another user holds is answered `false`, and no one is told it joined",
    run: taken_refused,
}
async fn taken_refused(ctx: Ctx, v: EioVersion) -> Outcome {
    let name = fresh("ann");
    let mut ann = Chat::user(&ctx, v, &name).await?;
    ann.expect_notice(&Notice::Joined(name.clone())).await?;
    let mut other = Chat::connect(&ctx, v, Transport::WebSocket).await?;
    let accepted = other.register(Data::String(name.clone())).await?;
    ensure!(
        !accepted,
        "the taken name {name:?} was registered a second time"
    );
    let joined = Notice::Joined(name).text();
    ann.quiet("a second join notice for a refused name", |m| {
        m.message == joined
    })
    .await
}

/// A registration that must be refused with `false`: nobody in the room is told.
async fn refused(ctx: Ctx, v: EioVersion, name: Data) -> Outcome {
    let witness = fresh("wit");
    let mut wit = Chat::user(&ctx, v, &witness).await?;
    let mut chat = Chat::connect(&ctx, v, Transport::WebSocket).await?;
    let accepted = chat.register(name.clone()).await?;
    ensure!(!accepted, "register {name:?} was answered true");
    // What a server would call the user (a JavaScript one stringifies).
    let shown = match &name {
        Data::String(name) => name.clone(),
        Data::Number(n) => n.to_string(),
        _ => "[object Object]".to_owned(),
    };
    let joined = Notice::Joined(shown).text();
    wit.quiet("a join notice for a refused name", |m| m.message == joined)
        .await
}

table! {
    suite: sockets,
    level: Should,
    spec: { v3 | v4: "001_13ce220237596520.txt §3.1.4 Register events" },
    run: refused,
    cases: [
        ("register.empty-refused",
         "The empty username is no username to display a sender by: `register` with \"\" is answered `false`",
         Data::String(String::new())),
        ("register.server-refused",
         "`Server` is the name the server's notices come from: a user registering it is answered `false`",
         Data::String(SERVER_USER.to_owned())),
        ("register.number-refused",
         "A username is a raw string: `register` with a number is answered `false`",
         Data::from(json!(42))),
        ("register.object-refused",
         "A username is a raw string: `register` with an object is answered `false`",
         Data::from(json!({"username": "ann"}))),
    ],
}

case! {
    suite: sockets,
    name: "register.missing-name-refused",
    level: Should,
    spec: { v3 | v4: "001_13ce220237596520.txt §3.1.4 Register events" },
    title: "`register` without its username argument is answered `false`",
    run: missing_name_refused,
}
async fn missing_name_refused(ctx: Ctx, v: EioVersion) -> Outcome {
    let mut chat = Chat::connect(&ctx, v, Transport::WebSocket).await?;
    let id = chat.emit_with_ack("register", vec![]).await?;
    let name = fresh("ann");
    // Answered false, and the socket can still register a name afterwards.
    let answer = chat.answer(id, "register").await?;
    ensure!(
        answer == [Data::Bool(false)],
        "register without a name was answered {answer:?}"
    );
    let accepted = chat.register(Data::String(name)).await?;
    ensure!(accepted, "a fresh name after the refusal was refused");
    Ok(())
}

case! {
    suite: sockets,
    name: "register.too-long-refused",
    level: Info,
    spec: { v3 | v4: "001_13ce220237596520.txt §3.1.4 Register events" },
    title: "A name of the target's `max_username_chars` characters is accepted, one character more is answered `false` (the memo names no limit; the reference server's is 32)",
    run: too_long_refused,
}
async fn too_long_refused(ctx: Ctx, v: EioVersion) -> Outcome {
    let max = target(&ctx)?
        .max_username_chars
        .ok_or_else(|| Failure::Unimplemented("the target names no max_username_chars".into()))?;
    // Fresh and of exactly `max` characters (some of them two bytes long).
    let base = fresh("é");
    let fill = max.saturating_sub(base.chars().count());
    let longest: String = base
        .chars()
        .chain(std::iter::repeat_n('é', fill))
        .take(max)
        .collect();
    let mut chat = Chat::connect(&ctx, v, Transport::WebSocket).await?;
    let over = format!("{longest}x");
    ensure!(
        !chat.register(Data::String(over)).await?,
        "a name of {} characters was accepted",
        max + 1
    );
    ensure!(
        chat.register(Data::String(longest)).await?,
        "a fresh name of {max} characters was refused"
    );
    Ok(())
}

case! {
    suite: sockets,
    name: "register.second-register-refused",
    level: Info,
    spec: { v3 | v4: "001_13ce220237596520.txt §3.1.4 Register events" },
    title: "A registered user keeps its name: a second `register` on the same connection is answered `false`, and the first name stays taken",
    run: second_register_refused,
}
async fn second_register_refused(ctx: Ctx, v: EioVersion) -> Outcome {
    let (first, second) = (fresh("ann"), fresh("bea"));
    let mut ann = Chat::user(&ctx, v, &first).await?;
    ensure!(
        !ann.register(Data::String(second)).await?,
        "a second register renamed the user"
    );
    let mut other = Chat::connect(&ctx, v, Transport::WebSocket).await?;
    ensure!(
        !other.register(Data::String(first.clone())).await?,
        "the first name {first:?} was free after the second register"
    );
    Ok(())
}
