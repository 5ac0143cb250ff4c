//! `socketio.*.namespace.*`: CONNECT to namespaces, the auth payload,
//! refusals and DISCONNECT.

use std::time::Duration;

use protocols::engineio::{EioVersion, PacketType as EioType};
use protocols::socketio::{Data, PacketType};
use serde_json::json;

use super::helpers::{endpoint, expect_refusal};
use crate::case::{Ctx, Outcome};
use crate::driver::engineio::{EioClient, Options};
use crate::driver::socketio::{SioClient, Transport};
use crate::{broken, ensure, ensure_eq};

use EioVersion::{V3, V4};

case! {
    suite: socketio,
    name: "namespace.connect-main",
    level: Must,
    spec: {
        v3: "socket.io-protocol v4 §Connection to the default namespace",
        v4: "socket.io-protocol v5 §Connection to a namespace",
    },
    title: "CONNECT to `/` is accepted (v5: `40{\"sid\":...}`)",
    run: connect_main,
}
async fn connect_main(ctx: Ctx, v: EioVersion) -> Outcome {
    let mut client = SioClient::open(&ctx, v, Transport::WebSocket).await?;
    let answer = client.connect("/", None).await?;
    ensure_eq!(
        answer.packet_type,
        PacketType::Connect,
        "the answer to CONNECT"
    );
    if v == V4 {
        let sid = match &answer.data {
            Some(Data::Object(o)) => o.get("sid").cloned(),
            _ => None,
        };
        ensure!(
            matches!(sid, Some(Data::String(s)) if !s.is_empty()),
            "a v5 CONNECT answer carries {{sid}}: {answer:?}"
        );
    }
    Ok(())
}

case! {
    suite: socketio,
    name: "namespace.auth-echoed",
    level: Must,
    spec: { v4: "socket.io-protocol v5 §Connection to a namespace" },
    title: "The auth payload of CONNECT reaches the server: the echo app emits it back as `auth`, after the server's CONNECT",
    run: auth_echoed,
}
async fn auth_echoed(ctx: Ctx, v: EioVersion) -> Outcome {
    let mut client = SioClient::open(&ctx, v, Transport::WebSocket).await?;
    let answer = client.connect("/", Some(json!({"token": "123"}))).await?;
    ensure_eq!(
        answer.packet_type,
        PacketType::Connect,
        "the answer to CONNECT"
    );
    // The namespace's session starts with the server's CONNECT: what the
    // connect handler emits comes after it.
    if let Some(early) = client.before_answer.first() {
        return Err(broken!(
            "the server sent {:?} in / before its answer to CONNECT",
            early.encode().0
        ));
    }
    let expected = vec![Data::from(json!({"token": "123"}))];
    let mut seen = Vec::new();
    for _ in 0..2 {
        let args = client.expect_event("/", "auth").await?;
        if args == expected {
            return Ok(());
        }
        seen.push(args);
        if v == V4 {
            break;
        }
    }
    Err(broken!(
        "the auth event never carried the CONNECT payload {{\"token\":\"123\"}}: got {seen:?}"
    ))
}

case! {
    suite: socketio,
    name: "namespace.connect-custom",
    level: Must,
    spec: {
        v3: "socket.io-protocol v4 §Connection to a non-default namespace",
        v4: "socket.io-protocol v5 §Connection to a namespace",
    },
    title: "CONNECT to `/custom` is accepted in that namespace",
    run: connect_custom,
}
async fn connect_custom(ctx: Ctx, v: EioVersion) -> Outcome {
    let mut client = SioClient::open(&ctx, v, Transport::WebSocket).await?;
    let answer = client.connect("/custom", None).await?;
    ensure_eq!(
        answer.packet_type,
        PacketType::Connect,
        "the answer to CONNECT /custom"
    );
    ensure_eq!(
        answer.namespace.as_str(),
        "/custom",
        "the namespace of the answer"
    );
    client.expect_event("/custom", "auth").await?;
    client
        .emit("/custom", "message", vec![Data::from(json!(42))], None)
        .await?;
    let args = client.expect_event("/custom", "message-back").await?;
    ensure_eq!(args, vec![Data::from(json!(42))], "message-back in /custom");
    Ok(())
}

case! {
    suite: socketio,
    name: "namespace.unknown-refused",
    level: Must,
    spec: {
        v3: "socket.io-protocol v4 §4 - ERROR",
        v4: "socket.io-protocol v5 §Connection to a namespace",
    },
    title: "CONNECT to an unknown namespace is answered CONNECT_ERROR (v5: `{\"message\":\"Invalid namespace\"}`; v4: ERROR)",
    run: unknown_namespace,
}
async fn unknown_namespace(ctx: Ctx, v: EioVersion) -> Outcome {
    let mut client = SioClient::open(&ctx, v, Transport::WebSocket).await?;
    let answer = client.connect("/random", None).await?;
    ensure_eq!(
        answer.packet_type,
        PacketType::ConnectError,
        "the answer to CONNECT /random"
    );
    let message = match &answer.data {
        Some(Data::Object(o)) => o.get("message").cloned(),
        Some(Data::String(s)) if v == V3 => Some(Data::String(s.clone())),
        _ => None,
    };
    ensure_eq!(
        message,
        Some(Data::String("Invalid namespace".into())),
        "the error message"
    );
    Ok(())
}

case! {
    suite: socketio,
    name: "namespace.disconnect-one-keeps-other",
    level: Must,
    spec: {
        v3: "socket.io-protocol v4 §Disconnection from a non-default namespace",
        v4: "socket.io-protocol v5 §Disconnection from a namespace",
    },
    title: "DISCONNECT from `/custom` leaves `/` working on the same session",
    run: disconnect_one_keeps_other,
}
async fn disconnect_one_keeps_other(ctx: Ctx, v: EioVersion) -> Outcome {
    let mut client = SioClient::connected(&ctx, v, Transport::WebSocket, "/").await?;
    let answer = client.connect("/custom", None).await?;
    ensure_eq!(
        answer.packet_type,
        PacketType::Connect,
        "the answer to CONNECT /custom"
    );
    client.expect_event("/custom", "auth").await?;
    client.send_text("1/custom,").await?;
    client
        .emit(
            "/",
            "message",
            vec![Data::String("message to main namespace".into())],
            None,
        )
        .await?;
    let args = client.expect_event("/", "message-back").await?;
    ensure_eq!(
        args,
        vec![Data::String("message to main namespace".into())],
        "message-back in / after leaving /custom"
    );
    Ok(())
}

case! {
    suite: socketio,
    name: "namespace.connect-timeout",
    level: Should,
    spec: { v4: "specs/README.md §Facts: Socket.IO's own protocol test suites" },
    title: "A session that joins no namespace within connectTimeout is closed",
    run: connect_timeout,
}
async fn connect_timeout(ctx: Ctx, v: EioVersion) -> Outcome {
    let ep = endpoint(&ctx, v)?;
    // Pongs keep the Engine.IO session alive: only the missing CONNECT may end it.
    let mut client = EioClient::websocket(
        &ctx,
        ep,
        Options {
            auto_poll: false,
            auto_pong: true,
            auto_ping: false,
        },
    )
    .await?;
    // connectTimeout is not announced: the test suites' 1000 ms, with room to spare.
    let seen = client
        .expect_closed(ctx.wait.max(Duration::from_secs(3)))
        .await?;
    ensure!(
        seen.iter().all(|p| p.packet_type != EioType::Message),
        "messages before the close: {seen:?}"
    );
    Ok(())
}

case! {
    suite: socketio,
    name: "namespace.auth-not-an-object-refused",
    level: Must,
    spec: { v4: "socket.io-protocol v5 §Connection to a namespace" },
    title: "A CONNECT whose payload is not an object is refused (CONNECT_ERROR or close)",
    run: auth_not_an_object,
}
async fn auth_not_an_object(ctx: Ctx, v: EioVersion) -> Outcome {
    let mut client = SioClient::open(&ctx, v, Transport::WebSocket).await?;
    client.send_text("0\"not an object\"").await?;
    expect_refusal(&mut client).await
}
