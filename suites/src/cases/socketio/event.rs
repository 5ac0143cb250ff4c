//! `socketio.*.event.*`, `.ack.*`, `.binary.*` and `.interop.*`: events,
//! acknowledgements and binary attachments through the echo app, and an
//! off-the-shelf client doing the same.

use protocols::engineio::EioVersion;
use protocols::socketio::Data;
use serde_json::{json, Value};

use crate::case::{Ctx, Outcome};
use crate::driver::socketio::{SioClient, Transport};
use crate::driver::stock::StockClient;
use crate::ensure_eq;

case! {
    suite: socketio,
    name: "event.message-back",
    level: Must,
    spec: {
        v3: "socket.io-protocol v4 §2 - EVENT",
        v4: "socket.io-protocol v5 §Sending and receiving data",
    },
    title: "An EVENT reaches the app and its answer comes back with every argument intact",
    run: message_back,
}
async fn message_back(ctx: Ctx, v: EioVersion) -> Outcome {
    let mut client = SioClient::connected(&ctx, v, Transport::WebSocket, "/").await?;
    client.emit("/", "message", sample_args(), None).await?;
    let args = client.expect_event("/", "message-back").await?;
    ensure_eq!(args, sample_args(), "message-back's arguments");
    Ok(())
}

case! {
    suite: socketio,
    name: "event.message-back-polling",
    level: Must,
    spec: {
        v3: "socket.io-protocol v4 §2 - EVENT",
        v4: "socket.io-protocol v5 §Sending and receiving data",
    },
    title: "Events travel over HTTP long-polling as over WebSocket",
    run: message_back_polling,
}
async fn message_back_polling(ctx: Ctx, v: EioVersion) -> Outcome {
    let mut client = SioClient::connected(&ctx, v, Transport::Polling, "/").await?;
    client.emit("/", "message", sample_args(), None).await?;
    let args = client.expect_event("/", "message-back").await?;
    ensure_eq!(args, sample_args(), "message-back's arguments over polling");
    Ok(())
}

case! {
    suite: socketio,
    name: "ack.message-with-ack",
    level: Must,
    spec: {
        v3: "socket.io-protocol v4 §Acknowledgement",
        v4: "socket.io-protocol v5 §Acknowledgement",
    },
    title: "An EVENT with an ack id is acknowledged with that id",
    run: message_with_ack,
}
async fn message_with_ack(ctx: Ctx, v: EioVersion) -> Outcome {
    let mut client = SioClient::connected(&ctx, v, Transport::WebSocket, "/").await?;
    client
        .emit("/", "message-with-ack", sample_args(), Some(456))
        .await?;
    let args = client.expect_ack("/", 456).await?;
    ensure_eq!(args, sample_args(), "the ack's arguments");
    Ok(())
}

case! {
    suite: socketio,
    name: "binary.event",
    level: Must,
    spec: {
        v3: "socket.io-protocol v4 §5 - BINARY_EVENT",
        v4: "socket.io-protocol v5 §Packet encoding",
    },
    title: "A BINARY_EVENT with two attachments comes back with both attachments in order",
    run: binary_event,
}
async fn binary_event(ctx: Ctx, v: EioVersion) -> Outcome {
    let mut client = SioClient::connected(&ctx, v, Transport::WebSocket, "/").await?;
    let args = vec![Data::Binary(vec![1, 2, 3]), Data::Binary(vec![4, 5, 6])];
    client.emit("/", "message", args.clone(), None).await?;
    let back = client.expect_event("/", "message-back").await?;
    ensure_eq!(back, args, "the attachments of message-back");
    Ok(())
}

case! {
    suite: socketio,
    name: "binary.ack",
    level: Must,
    spec: {
        v3: "socket.io-protocol v4 §6 - BINARY_ACK",
        v4: "socket.io-protocol v5 §Acknowledgement",
    },
    title: "A BINARY_EVENT with an ack id is acknowledged with a BINARY_ACK carrying the attachments",
    run: binary_ack,
}
async fn binary_ack(ctx: Ctx, v: EioVersion) -> Outcome {
    let mut client = SioClient::connected(&ctx, v, Transport::WebSocket, "/").await?;
    let args = vec![Data::Binary(vec![1, 2, 3]), Data::Binary(vec![4, 5, 6])];
    client
        .emit("/", "message-with-ack", args.clone(), Some(789))
        .await?;
    let back = client.expect_ack("/", 789).await?;
    ensure_eq!(back, args, "the attachments of the binary ack");
    Ok(())
}

case! {
    suite: socketio,
    name: "interop.stock-client",
    level: Should,
    spec: { v4: "socket.io-protocol v5 §Sending and receiving data" },
    title: "An off-the-shelf client (rust_socketio) connects, gets `message-back` for `message` and the ack of `message-with-ack`",
    run: |ctx, _| stock_client(ctx),
}
async fn stock_client(ctx: Ctx) -> Outcome {
    let mut client = StockClient::connect(&ctx, "/", &["auth", "message-back"]).await?;
    // The stock client returns from connect before the server's CONNECT answer;
    // the echo app's `auth` event says the namespace is joined.
    loop {
        if client.next().await?.0 == "auth" {
            break;
        }
    }
    let args = vec![json!("hello"), json!(1), json!({"ü": [true, null]})];
    client.emit("message", args.clone()).await?;
    client
        .emit_with_ack("message-with-ack", vec![json!("ack me"), json!(2)])
        .await?;
    let (mut back, mut ack) = (None, None);
    while back.is_none() || ack.is_none() {
        match client.next().await? {
            (name, seen) if name == "message-back" => back = Some(seen),
            // rust_socketio hands an ack's arguments over as one array value.
            (name, seen) if name == "ack:message-with-ack" => {
                ack = Some(match seen.as_slice() {
                    [Value::Array(inner)] => inner.clone(),
                    _ => seen,
                })
            }
            _ => continue,
        }
    }
    client.disconnect().await;
    ensure_eq!(back, Some(args), "message-back as the stock client saw it");
    ensure_eq!(
        ack,
        Some(vec![json!("ack me"), json!(2)]),
        "the ack as the stock client saw it"
    );
    Ok(())
}

// ---------------------------------------------------------------- helpers

fn sample_args() -> Vec<Data> {
    vec![
        Data::from(json!(1)),
        Data::from(json!("2")),
        Data::from(json!({"3": [true], "ü": null})),
    ]
}
