//! `socketio.*.malformed.*` and `socketio.*.parser.*`: packets the server
//! must refuse, as tables of rows sharing a body: malformed packets that close
//! the connection, and the input classes of past socket.io-parser CVEs, after
//! which the server must still serve a fresh client.

use protocols::engineio::{EioVersion, Packet as EioPacket};

use super::helpers::{expect_refusal, still_serving};
use crate::broken;
use crate::case::{Ctx, Outcome};
use crate::driver::socketio::{SioClient, Transport};
use crate::driver::DriverError;

table! {
    suite: socketio,
    level: Must,
    spec: { v3 | v4: "socket.io-protocol v5 §Test suite" },
    run: malformed,
    cases: [
        // (name, title, the Socket.IO packet after the `4`, CONNECT first)
        (
            "malformed.unknown-packet-type",
            "A Socket.IO packet of unknown type (`4abc`) closes the connection",
            "abc",
            true,
        ),
        (
            "malformed.event-payload-not-array",
            "An EVENT whose payload is not an array (`42{}`) closes the connection",
            "2{}",
            true,
        ),
        (
            "malformed.invalid-ack-id",
            "An EVENT with a non-numeric ack id (`42abc[...]`) closes the connection",
            "2abc[\"message-with-ack\",1,\"2\",{\"3\":[false]}]",
            true,
        ),
        (
            "malformed.invalid-connect",
            "A malformed packet instead of CONNECT (`4abc` first) closes the connection",
            "abc",
            false,
        ),
    ],
}

/// Sends a malformed Socket.IO packet (after connecting, or instead of
/// connecting) and expects the connection to close.
async fn malformed(ctx: Ctx, v: EioVersion, packet: &'static str, connect_first: bool) -> Outcome {
    let mut client = if connect_first {
        SioClient::connected(&ctx, v, Transport::WebSocket, "/").await?
    } else {
        SioClient::open(&ctx, v, Transport::WebSocket).await?
    };
    client.send_text(packet).await?;
    let within = ctx.wait;
    client
        .eio
        .expect_closed(within)
        .await
        .map_err(|f| broken!("after `4{packet}`: {}", f.reason()))?;
    Ok(())
}

table! {
    suite: socketio,
    level: Must,
    spec: {
        v3: "socket.io-protocol v4 §5 - BINARY_EVENT",
        v4: "socket.io-protocol v5 §Packet encoding",
    },
    run: refused_then_still_serving,
    cases: [
        // (name, title, the Socket.IO packet, its attachments)
        (
            "parser.placeholder-num-not-integer",
            "A placeholder whose num is not an integer (CVE-2022-2421) is refused with a close or an error, and the server still serves a fresh client",
            r#"51-["message",{"_placeholder":true,"num":"splice"}]"#,
            &[&[1, 2, 3]],
        ),
        (
            "parser.placeholder-out-of-range",
            "A placeholder num beyond the attachments is refused with a close or an error, and the server still serves a fresh client",
            r#"51-["message",{"_placeholder":true,"num":5}]"#,
            &[&[1, 2, 3]],
        ),
        (
            "parser.huge-attachment-count",
            "A BINARY_EVENT announcing an absurd number of attachments (CVE-2020-36049 class) is refused, and the server still serves a fresh client",
            r#"5999999999-["message",{"_placeholder":true,"num":0}]"#,
            &[&[1]],
        ),
    ],
}

case! {
    suite: socketio,
    name: "parser.event-name-not-string",
    level: Must,
    spec: {
        v3: "socket.io-protocol v4 §2 - EVENT",
        v4: "socket.io-protocol v5 §Packet encoding",
    },
    title: "An EVENT whose name is an object (CVE-2023-32695) is refused with a close or an error, and the server still serves a fresh client",
    run: |ctx, v| refused_then_still_serving(ctx, v, r#"2[{"toString":"message"},"x"]"#, &[]),
}

/// Sends a Socket.IO packet and its attachments on a connected client,
/// expects a refusal, and checks that a fresh client is still served.
async fn refused_then_still_serving(
    ctx: Ctx,
    v: EioVersion,
    text: &str,
    attachments: &[&[u8]],
) -> Outcome {
    let mut client = SioClient::connected(&ctx, v, Transport::WebSocket, "/").await?;
    let mut packets = vec![EioPacket::message(text)];
    packets.extend(attachments.iter().map(|a| EioPacket::binary(a.to_vec())));
    match client.eio.send_all(&packets).await {
        // The server closed before the attachments were all written, as a
        // strict parser does on the packet's header alone: that close is the
        // refusal.
        Err(DriverError::Closed(_)) => {}
        Err(e) => return Err(e.into()),
        Ok(()) => expect_refusal(&mut client).await?,
    }
    still_serving(&ctx, v).await
}
