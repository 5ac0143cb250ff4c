//! The echo app against what Socket.IO's own protocol test suites require.

use std::time::Duration;

use crate::support::{
    assert_keys, echo, get, json_after, polling_session, post, server, url, Frame, Ws,
};

fn assert_test_profile(handshake: &serde_json::Value) {
    assert_keys(
        handshake,
        &[
            "sid",
            "upgrades",
            "pingInterval",
            "pingTimeout",
            "maxPayload",
        ],
    );
    assert!(handshake["sid"].is_string());
    assert_eq!(handshake["pingInterval"], 300);
    assert_eq!(handshake["pingTimeout"], 200);
    assert_eq!(handshake["maxPayload"], 1_000_000);
}

#[tokio::test]
async fn eio4_polling_handshake() {
    let s = server(&[]).await;
    let (status, body) = get(&url(echo(&s), "EIO=4&transport=polling")).await;
    assert_eq!(status, 200);
    let handshake = json_after(&body, "0");
    assert_test_profile(&handshake);
    assert_eq!(handshake["upgrades"], serde_json::json!(["websocket"]));
    s.shutdown().await;
}

#[tokio::test]
async fn eio3_polling_handshake_is_length_prefixed() {
    let s = server(&[]).await;
    let (status, body) = get(&url(echo(&s), "EIO=3&transport=polling")).await;
    assert_eq!(status, 200);
    let (length, packet) = body.split_once(':').expect("length:packet");
    let packet = &packet[..length.parse::<usize>().expect("a length")];
    let handshake = json_after(packet, "0");
    assert_test_profile(&handshake);
    assert_eq!(handshake["upgrades"], serde_json::json!(["websocket"]));
    s.shutdown().await;
}

#[tokio::test]
async fn polling_handshake_rejects_bad_queries() {
    let s = server(&[]).await;
    let addr = echo(&s);
    for query in [
        "transport=polling",
        "EIO=abc&transport=polling",
        "EIO=4",
        "EIO=4&transport=abc",
    ] {
        let (status, _) = get(&url(addr, query)).await;
        assert_eq!(status, 400, "{query}");
    }
    let (status, _) = post(&url(addr, "EIO=4&transport=polling"), "").await;
    assert_eq!(status, 400, "POST without a sid");
    s.shutdown().await;
}

#[tokio::test]
async fn websocket_handshake_has_no_upgrades() {
    let s = server(&[]).await;
    for eio in [4, 3] {
        let ws = Ws::connect(echo(&s), eio).await;
        let handshake = json_after(&ws.open, "0");
        assert_test_profile(&handshake);
        assert_eq!(handshake["upgrades"], serde_json::json!([]), "EIO={eio}");
    }
    s.shutdown().await;
}

#[tokio::test]
async fn connect_main_namespace_emits_auth() {
    let s = server(&[]).await;
    let mut ws = Ws::connect(echo(&s), 4).await;
    ws.send("40").await;
    assert_keys(&json_after(&ws.recv_text().await, "40"), &["sid"]);
    assert_eq!(ws.recv_text().await, r#"42["auth",{}]"#);

    let mut ws = Ws::connect(echo(&s), 4).await;
    ws.send(r#"40{"token":"123"}"#).await;
    assert_keys(&json_after(&ws.recv_text().await, "40"), &["sid"]);
    assert_eq!(ws.recv_text().await, r#"42["auth",{"token":"123"}]"#);
    s.shutdown().await;
}

#[tokio::test]
async fn connect_custom_namespace_emits_auth() {
    let s = server(&[]).await;
    let mut ws = Ws::connect(echo(&s), 4).await;
    ws.send(r#"40/custom,{"token":"abc"}"#).await;
    assert_keys(&json_after(&ws.recv_text().await, "40/custom,"), &["sid"]);
    assert_eq!(
        ws.recv_text().await,
        r#"42/custom,["auth",{"token":"abc"}]"#
    );
    s.shutdown().await;
}

#[tokio::test]
async fn connect_payload_must_be_an_object() {
    let s = server(&[]).await;
    let mut ws = Ws::connect(echo(&s), 4).await;
    ws.send(r#"40"str""#).await;
    // As Node's server: a decoding error, the session is closed.
    assert_eq!(ws.recv_text().await, "1");
    s.shutdown().await;
}

#[tokio::test]
async fn eio3_is_connected_to_the_main_namespace_at_once() {
    let s = server(&[]).await;
    let mut ws = Ws::connect(echo(&s), 3).await;
    assert_eq!(ws.recv_text().await, "40");
    assert_eq!(ws.recv_text().await, r#"42["auth",{}]"#);
    ws.send(r#"42["message","hi"]"#).await;
    assert_eq!(ws.recv_text().await, r#"42["message-back","hi"]"#);
    s.shutdown().await;
}

#[tokio::test]
async fn unknown_namespace_gets_connect_error() {
    let s = server(&[]).await;
    let mut ws = Ws::connect(echo(&s), 4).await;
    ws.send("40/random,").await;
    assert_eq!(
        ws.recv_text().await,
        r#"44/random,{"message":"Invalid namespace"}"#
    );

    // Socket.IO 4 (over Engine.IO 3): an ERROR packet with the message as a
    // string, as socket.io 2.x servers send it (Node socket.io 4 sends its
    // v5 object to these clients too; both clients read either).
    let mut ws = Ws::connect(echo(&s), 3).await;
    assert_eq!(ws.recv_text().await, "40");
    assert_eq!(ws.recv_text().await, r#"42["auth",{}]"#);
    ws.send("40/random,").await;
    assert_eq!(ws.recv_text().await, r#"44/random,"Invalid namespace""#);
    s.shutdown().await;
}

#[tokio::test]
async fn message_is_echoed_as_message_back() {
    let s = server(&[]).await;
    let mut ws = Ws::connected(echo(&s)).await;
    ws.send(r#"42["message",1,"2",{"3":[true]}]"#).await;
    assert_eq!(
        ws.recv_text().await,
        r#"42["message-back",1,"2",{"3":[true]}]"#
    );
    ws.send(r#"42["message"]"#).await;
    assert_eq!(ws.recv_text().await, r#"42["message-back"]"#);
    s.shutdown().await;
}

#[tokio::test]
async fn message_with_ack_is_acknowledged_with_its_arguments() {
    let s = server(&[]).await;
    let mut ws = Ws::connected(echo(&s)).await;
    ws.send(r#"42456["message-with-ack",1,"2",{"3":[false]}]"#)
        .await;
    assert_eq!(ws.recv_text().await, r#"43456[1,"2",{"3":[false]}]"#);
    s.shutdown().await;
}

#[tokio::test]
async fn binary_event_and_binary_ack() {
    let s = server(&[]).await;
    let mut ws = Ws::connected(echo(&s)).await;
    ws.send(r#"452-["message",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#)
        .await;
    ws.send_binary(&[1, 2, 3]).await;
    ws.send_binary(&[4, 5, 6]).await;
    assert_eq!(
        ws.recv_text().await,
        r#"452-["message-back",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#
    );
    assert_eq!(ws.recv().await, Frame::Binary(vec![1, 2, 3]));
    assert_eq!(ws.recv().await, Frame::Binary(vec![4, 5, 6]));

    ws.send(r#"452-789["message-with-ack",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#)
        .await;
    ws.send_binary(&[1, 2, 3]).await;
    ws.send_binary(&[4, 5, 6]).await;
    assert_eq!(
        ws.recv_text().await,
        r#"462-789[{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#
    );
    assert_eq!(ws.recv().await, Frame::Binary(vec![1, 2, 3]));
    assert_eq!(ws.recv().await, Frame::Binary(vec![4, 5, 6]));
    s.shutdown().await;
}

#[tokio::test]
async fn eio3_binary_frames_carry_the_message_type_byte() {
    let s = server(&[]).await;
    let mut ws = Ws::connect(echo(&s), 3).await;
    assert_eq!(ws.recv_text().await, "40");
    assert_eq!(ws.recv_text().await, r#"42["auth",{}]"#);
    ws.send(r#"451-["message",{"_placeholder":true,"num":0}]"#)
        .await;
    ws.send_binary(&[4, 1, 2, 3]).await;
    assert_eq!(
        ws.recv_text().await,
        r#"451-["message-back",{"_placeholder":true,"num":0}]"#
    );
    assert_eq!(ws.recv().await, Frame::Binary(vec![4, 1, 2, 3]));
    s.shutdown().await;
}

#[tokio::test]
async fn malformed_packets_close_the_connection() {
    let s = server(&[]).await;
    for packet in [
        "4abc",
        "42{}",
        r#"42abc["message-with-ack",1,"2",{"3":[false]}]"#,
    ] {
        let mut ws = Ws::connected(echo(&s)).await;
        ws.send(packet).await;
        ws.expect_closed().await;
    }
    // Before any namespace is joined, too.
    let mut ws = Ws::connect(echo(&s), 4).await;
    ws.send("4abc").await;
    ws.expect_closed().await;
    s.shutdown().await;
}

#[tokio::test]
async fn disconnect_from_custom_namespace_keeps_main() {
    let s = server(&[]).await;
    let mut ws = Ws::connected(echo(&s)).await;
    ws.send("40/custom,").await;
    assert!(ws.recv_text().await.starts_with("40/custom,{"));
    assert_eq!(ws.recv_text().await, r#"42/custom,["auth",{}]"#);
    ws.send("41/custom,").await;
    ws.send(r#"42["message","message to main namespace"]"#)
        .await;
    assert_eq!(
        ws.recv_text().await,
        r#"42["message-back","message to main namespace"]"#
    );
    s.shutdown().await;
}

#[tokio::test]
async fn websocket_server_pings_and_session_survives_pongs() {
    let s = server(&[]).await;
    let mut ws = Ws::connect(echo(&s), 4).await;
    for _ in 0..3 {
        assert_eq!(ws.recv_raw().await, Frame::Text("2".into()));
        ws.send("3").await;
    }
    s.shutdown().await;
}

#[tokio::test]
async fn first_ping_comes_after_ping_interval() {
    let s = server(&[]).await;
    let mut ws = Ws::connect(echo(&s), 4).await;
    let opened = tokio::time::Instant::now();
    assert_eq!(ws.recv_raw().await, Frame::Text("2".into()));
    let after = opened.elapsed();
    assert!(
        after >= Duration::from_millis(250),
        "first ping after {after:?}"
    );
    s.shutdown().await;
}

#[tokio::test]
async fn websocket_session_closes_without_pongs() {
    let s = server(&[]).await;
    let mut ws = Ws::connect(echo(&s), 4).await;
    ws.send("40").await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(2);
    loop {
        assert!(tokio::time::Instant::now() < deadline, "closed in time");
        match ws.recv_raw().await {
            Frame::Closed => break,
            Frame::Text(_) | Frame::Binary(_) => {} // pings unanswered
        }
    }
    s.shutdown().await;
}

#[tokio::test]
async fn websocket_closes_without_a_namespace_connect() {
    let s = server(&[]).await;
    let mut ws = Ws::connect(echo(&s), 4).await;
    let started = tokio::time::Instant::now();
    // Answer pings, never send CONNECT: the connect timeout (1000 ms) closes it.
    ws.expect_closed().await;
    let after = started.elapsed();
    assert!(
        after >= Duration::from_millis(800),
        "closed after {after:?}"
    );
    s.shutdown().await;
}

#[tokio::test]
async fn polling_ping_pong_and_ping_timeout() {
    let s = server(&[]).await;
    let addr = echo(&s);
    let sid = polling_session(addr).await;
    let session = url(addr, &format!("EIO=4&transport=polling&sid={sid}"));
    for _ in 0..3 {
        assert_eq!(get(&session).await, (200, "2".to_owned()));
        assert_eq!(post(&session, "3").await, (200, "ok".to_owned()));
    }

    let sid = polling_session(addr).await;
    let session = url(addr, &format!("EIO=4&transport=polling&sid={sid}"));
    tokio::time::sleep(Duration::from_millis(300 + 200 + 100)).await;
    assert_eq!(get(&session).await.0, 400);
    s.shutdown().await;
}

/// Polls until `want` packets other than pings (each answered) have come.
async fn poll_packets(session: &str, want: usize) -> Vec<String> {
    let mut packets = Vec::new();
    while packets.len() < want {
        let (status, body) = get(session).await;
        assert_eq!(status, 200, "{body} after {packets:?}");
        for packet in body.split('\u{1e}') {
            if packet == "2" {
                assert_eq!(post(session, "3").await.0, 200);
            } else {
                packets.push(packet.to_owned());
            }
        }
    }
    packets
}

#[tokio::test]
async fn polling_socketio_session() {
    let s = server(&[]).await;
    let addr = echo(&s);
    let sid = polling_session(addr).await;
    let session = url(addr, &format!("EIO=4&transport=polling&sid={sid}"));
    assert_eq!(post(&session, "40").await, (200, "ok".to_owned()));
    let packets = poll_packets(&session, 2).await;
    assert_keys(&json_after(&packets[0], "40"), &["sid"]);
    assert_eq!(packets[1], r#"42["auth",{}]"#);

    let body = "42[\"message\",\"polled\"]\u{1e}421[\"message-with-ack\",2]";
    assert_eq!(post(&session, body).await, (200, "ok".to_owned()));
    let packets = poll_packets(&session, 2).await;
    assert_eq!(packets, [r#"42["message-back","polled"]"#, "431[2]"]);
    s.shutdown().await;
}

#[tokio::test]
async fn event_to_a_namespace_not_joined_closes_the_session() {
    let s = server(&[]).await;
    let mut ws = Ws::connected(echo(&s)).await;
    ws.send(r#"42/custom,["message","x"]"#).await;
    // The session refuses a packet for a namespace the client did not join
    // and closes (the Node server ignores the packet and keeps it open).
    ws.expect_closed().await;
    s.shutdown().await;
}

#[tokio::test]
async fn upgrade_from_polling_to_websocket() {
    let s = server(&[]).await;
    let addr = echo(&s);
    let sid = polling_session(addr).await;
    let ws_url = format!("ws://{addr}/socket.io/?EIO=4&transport=websocket&sid={sid}");
    let (mut ws, _) = tokio::time::timeout(
        crate::support::WAIT,
        tokio_tungstenite::connect_async(ws_url),
    )
    .await
    .expect("in time")
    .expect("upgrade accepted");
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message;
    ws.send(Message::text("2probe")).await.expect("probe sent");
    let probe = tokio::time::timeout(crate::support::WAIT, ws.next())
        .await
        .expect("in time")
        .expect("a frame")
        .expect("a frame");
    assert_eq!(probe, Message::text("3probe"));
    ws.send(Message::text("5")).await.expect("upgrade sent");
    s.shutdown().await;
}

#[tokio::test]
async fn engine_io_echo_polling() {
    let s = server(&[]).await;
    let addr = echo(&s);
    let (status, body) = get(&format!("http://{addr}/engine.io/?EIO=4&transport=polling")).await;
    assert_eq!(status, 200);
    let handshake = json_after(&body, "0");
    assert_test_profile(&handshake);
    let sid = handshake["sid"].as_str().unwrap();
    let session = format!("http://{addr}/engine.io/?EIO=4&transport=polling&sid={sid}");
    let payload = "4hello\u{1e}bAQIDBA==";
    assert_eq!(post(&session, payload).await, (200, "ok".to_owned()));
    assert_eq!(get(&session).await, (200, payload.to_owned()));
    s.shutdown().await;
}

#[tokio::test]
async fn engine_io_echo_websocket() {
    let s = server(&[]).await;
    let mut ws = Ws::connect_path(echo(&s), "/engine.io/", 4).await;
    assert_test_profile(&json_after(&ws.open, "0"));
    ws.send("4hello").await;
    ws.send_binary(&[1, 2, 3, 4]).await;
    assert_eq!(ws.recv().await, Frame::Text("4hello".into()));
    assert_eq!(ws.recv().await, Frame::Binary(vec![1, 2, 3, 4]));
    s.shutdown().await;
}
