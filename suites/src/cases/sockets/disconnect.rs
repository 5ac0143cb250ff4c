//! `sockets.*.disconnect.*`: §3.1.3 Disconnect events: `<name> left the
//! chat` from `Server` to everyone left in the room, and the name free again.

use protocols::engineio::EioVersion;
use protocols::socketio::Data;
use protocols::sockets::Notice;

use super::helpers::{fresh, Chat};
use crate::case::{Ctx, Outcome};
use crate::driver::socketio::Transport;
use crate::ensure;

case! {
    suite: sockets,
    name: "disconnect.left-notice",
    level: Must,
    spec: { v3 | v4: "001_13ce220237596520.txt §3.1.3 Disconnect events" },
    title: "When a user's connection is lost, every user left in the room gets a `message` from `Server`: `<name> left the chat`",
    run: left_notice,
}
async fn left_notice(ctx: Ctx, v: EioVersion) -> Outcome {
    let (a, b, c) = (fresh("ann"), fresh("bob"), fresh("cyd"));
    let mut ann = Chat::user(&ctx, v, &a).await?;
    let mut bob = Chat::user(&ctx, v, &b).await?;
    let cyd = Chat::user(&ctx, v, &c).await?;
    // The connection goes away without a word: the socket's own disconnect.
    drop(cyd);
    let left = Notice::Left(c);
    ann.expect_notice(&left).await?;
    bob.expect_notice(&left).await
}

case! {
    suite: sockets,
    name: "disconnect.namespace-left-notice",
    level: Must,
    spec: { v3 | v4: "001_13ce220237596520.txt §3.1.3 Disconnect events" },
    title: "A client that leaves with a Socket.IO DISCONNECT packet (what `socket.disconnect()` sends) is announced `<name> left the chat` too",
    run: namespace_left_notice,
}
async fn namespace_left_notice(ctx: Ctx, v: EioVersion) -> Outcome {
    let (a, b) = (fresh("ann"), fresh("bob"));
    let mut ann = Chat::user(&ctx, v, &a).await?;
    let mut bob = Chat::user(&ctx, v, &b).await?;
    bob.leave_namespace().await?;
    ann.expect_notice(&Notice::Left(b)).await
}

case! {
    suite: sockets,
    name: "disconnect.name-freed",
    level: Should,
    spec: { v3 | v4: "001_13ce220237596520.txt §3.1.3 Disconnect events" },
    title: "Once a user left, its name is free: another client registers it (`true`) and the room is told it joined",
    run: name_freed,
}
async fn name_freed(ctx: Ctx, v: EioVersion) -> Outcome {
    let (a, b) = (fresh("ann"), fresh("bob"));
    let mut ann = Chat::user(&ctx, v, &a).await?;
    let bob = Chat::user(&ctx, v, &b).await?;
    drop(bob);
    ann.expect_notice(&Notice::Left(b.clone())).await?;
    let mut again = Chat::connect(&ctx, v, Transport::WebSocket).await?;
    ensure!(
        again.register(Data::String(b.clone())).await?,
        "the name {b:?} of a user who left was refused"
    );
    ann.expect_notice(&Notice::Joined(b)).await
}
