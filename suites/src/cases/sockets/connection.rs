//! `sockets.*.connection.*` and `.commands.*`: §1, §2.1, §3, §3.1.1: the
//! memo over Socket.IO, a WebSocket the client opens, replies on the
//! connection that sent the command, and what is not one of the memo's events.

use protocols::engineio::EioVersion;
use protocols::socketio::{Data, PacketType};
use protocols::sockets::Notice;
use serde_json::json;

use super::helpers::{fresh, Chat};
use crate::case::{Ctx, Outcome};
use crate::driver::socketio::Transport;
use crate::{ensure, ensure_eq};

case! {
    suite: sockets,
    name: "connection.socketio",
    level: Must,
    spec: { v3 | v4: "001_13ce220237596520.txt §1 Introduction" },
    title: "\"We use socket.io\": a Socket.IO client joins the main namespace and is answered CONNECT",
    run: socketio,
}
async fn socketio(ctx: Ctx, v: EioVersion) -> Outcome {
    Chat::connect(&ctx, v, Transport::Polling).await.map(drop)
}

/// Registers and chats over `transport`: the answer, the join notice and
/// the message come back on the connection that sent the commands.
async fn chat_over(ctx: Ctx, v: EioVersion, transport: Transport) -> Outcome {
    let name = fresh("ann");
    let mut ann = Chat::connect(&ctx, v, transport).await?;
    ensure!(
        ann.register(Data::String(name.clone())).await?,
        "a fresh name was refused"
    );
    ann.expect_notice(&Notice::Joined(name.clone())).await?;
    let text = fresh("over");
    ann.say(json!({"from": name, "message": text})).await?;
    ann.expect_said(&name, &text).await
}

case! {
    suite: sockets,
    name: "connection.websocket",
    level: Must,
    spec: { v3 | v4: "001_13ce220237596520.txt §2.1 The communication model" },
    title: "On a WebSocket the client initiates, the replies to its commands (the `register` answer, the notice, its message) come back over that connection as JSON",
    run: |ctx, v| chat_over(ctx, v, Transport::WebSocket),
}

case! {
    suite: sockets,
    name: "connection.upgrade",
    level: Should,
    spec: { v3 | v4: "001_13ce220237596520.txt §3 Functions" },
    title: "A client that starts on HTTP long-polling and upgrades to the WebSocket, as stock socket.io clients do, registers and chats",
    run: |ctx, v| chat_over(ctx, v, Transport::Upgraded),
}

case! {
    suite: sockets,
    name: "connection.polling",
    level: Info,
    spec: { v3 | v4: "001_13ce220237596520.txt §3 Functions" },
    title: "A client that stays on HTTP long-polling (the memo names the WebSocket only) registers and chats",
    run: |ctx, v| chat_over(ctx, v, Transport::Polling),
}

case! {
    suite: sockets,
    name: "commands.other-namespace-refused",
    level: Info,
    spec: { v3 | v4: "001_13ce220237596520.txt §3.1.1 Commands events" },
    title: "The memo's events live in the main namespace: joining another one is refused with CONNECT_ERROR \"Invalid namespace\"",
    run: other_namespace_refused,
}
async fn other_namespace_refused(ctx: Ctx, v: EioVersion) -> Outcome {
    let mut chat = Chat::connect(&ctx, v, Transport::WebSocket).await?;
    let answer = chat.client.connect("/chatspec", None).await?;
    ensure_eq!(
        answer.packet_type,
        PacketType::ConnectError,
        "the answer to joining /chatspec"
    );
    let message = match &answer.data {
        Some(Data::Object(fields)) => fields.get("message").cloned(),
        other => other.clone(),
    };
    ensure_eq!(
        message,
        Some(Data::String("Invalid namespace".into())),
        "the CONNECT_ERROR's message"
    );
    Ok(())
}

case! {
    suite: sockets,
    name: "commands.unknown-event-ignored",
    level: Info,
    spec: { v3 | v4: "001_13ce220237596520.txt §3.1.1 Commands events" },
    title: "An event the memo does not list is ignored: it is not answered, and the connection still registers",
    run: unknown_event_ignored,
}
async fn unknown_event_ignored(ctx: Ctx, v: EioVersion) -> Outcome {
    let mut chat = Chat::connect(&ctx, v, Transport::WebSocket).await?;
    chat.emit_with_ack("join", vec![Data::String("lobby".into())])
        .await?;
    // The next answer must be register's, not one to `join`.
    ensure!(
        chat.register(Data::String(fresh("ann"))).await?,
        "a fresh name after an unknown event was refused"
    );
    Ok(())
}
