//! Each fault switch changes the behaviour it names, and only that.

use std::time::Duration;

use reference_server::assa::AssaFault;
use reference_server::circles::CirclesFault;
use reference_server::{EchoFault, Fault, SocketclusterFault, SocketsFault};

use crate::support::{echo, get, json_after, server, url, Frame, Ws};

#[tokio::test]
async fn every_fault_is_tested_here() {
    // A new fault, of any listener, needs a test below; this list is the reminder.
    let tested = [
        EchoFault::NoAuthEmit,
        EchoFault::WrongAuth,
        EchoFault::NoMessageBack,
        EchoFault::NoAck,
        EchoFault::WrongAck,
        EchoFault::BinaryAsNumbers,
        EchoFault::NoCustomNamespace,
        EchoFault::AcceptAnyNamespace,
        EchoFault::NoHeartbeat,
        EchoFault::SlowPing,
        EchoFault::NoConnectTimeout,
    ];
    // The `assa:` faults are tested beside the ASSA core (`src/assa/tests.rs`):
    // each breaks its behaviour there, and the same scenario holds without it.
    let mut tested: Vec<Fault> = tested.map(Fault::from).to_vec();
    tested.extend(AssaFault::ALL.map(Fault::from));
    // The `socketcluster:` faults are tested in `socketcluster.rs`, each against the clean listener.
    tested.extend(SocketclusterFault::ALL.map(Fault::Socketcluster));
    // The `sockets:` faults are tested in `sockets.rs` (`each_fault_breaks_its_behaviour`).
    tested.extend(SocketsFault::ALL.map(Fault::Sockets));
    // The `chatpot:` faults are tested in `chatpot.rs`, each against the clean listener's scenario.
    tested.extend(reference_server::chatpot::ChatpotFault::ALL.map(Fault::Chatpot));
    // The `circles:` faults are tested beside the Circles core (`src/circles/core.rs`),
    // `circles:answer-before-commit` beside the app (`src/circles/mod.rs`).
    tested.extend(CirclesFault::ALL.map(Fault::Circles));
    let mut all = Fault::all();
    all.sort();
    tested.sort();
    assert_eq!(tested, all);
}

#[tokio::test]
async fn no_auth_emit() {
    let s = server(&[EchoFault::NoAuthEmit]).await;
    let mut ws = Ws::connect(echo(&s), 4).await;
    ws.send(r#"40{"token":"1"}"#).await;
    assert!(ws.recv_text().await.starts_with("40{"));
    ws.send(r#"42["message","next"]"#).await;
    assert_eq!(ws.recv_text().await, r#"42["message-back","next"]"#);
    s.shutdown().await;
}

#[tokio::test]
async fn wrong_auth() {
    let s = server(&[EchoFault::WrongAuth]).await;
    let mut ws = Ws::connect(echo(&s), 4).await;
    ws.send(r#"40{"token":"1"}"#).await;
    assert!(ws.recv_text().await.starts_with("40{"));
    assert_eq!(ws.recv_text().await, r#"42["auth",{"wrong":true}]"#);
    s.shutdown().await;
}

#[tokio::test]
async fn no_message_back() {
    let s = server(&[EchoFault::NoMessageBack]).await;
    let mut ws = Ws::connected(echo(&s)).await;
    ws.send(r#"42["message","lost"]"#).await;
    ws.send(r#"421["message-with-ack","kept"]"#).await;
    assert_eq!(ws.recv_text().await, r#"431["kept"]"#);
    s.shutdown().await;
}

#[tokio::test]
async fn no_ack() {
    let s = server(&[EchoFault::NoAck]).await;
    let mut ws = Ws::connected(echo(&s)).await;
    ws.send(r#"421["message-with-ack","lost"]"#).await;
    ws.send(r#"42["message","kept"]"#).await;
    assert_eq!(ws.recv_text().await, r#"42["message-back","kept"]"#);
    s.shutdown().await;
}

#[tokio::test]
async fn wrong_ack() {
    let s = server(&[EchoFault::WrongAck]).await;
    let mut ws = Ws::connected(echo(&s)).await;
    ws.send(r#"42456["message-with-ack",1,"2"]"#).await;
    assert_eq!(ws.recv_text().await, r#"43456["wrong-ack"]"#);
    s.shutdown().await;
}

#[tokio::test]
async fn binary_as_numbers() {
    let s = server(&[EchoFault::BinaryAsNumbers]).await;
    let mut ws = Ws::connected(echo(&s)).await;
    ws.send(r#"451-["message",{"_placeholder":true,"num":0}]"#)
        .await;
    ws.send_binary(&[1, 2, 3]).await;
    assert_eq!(ws.recv_text().await, r#"42["message-back",[1,2,3]]"#);
    s.shutdown().await;
}

#[tokio::test]
async fn no_custom_namespace() {
    let s = server(&[EchoFault::NoCustomNamespace]).await;
    let mut ws = Ws::connect(echo(&s), 4).await;
    ws.send("40/custom,").await;
    assert_eq!(
        ws.recv_text().await,
        r#"44/custom,{"message":"Invalid namespace"}"#
    );
    s.shutdown().await;
}

#[tokio::test]
async fn accept_any_namespace() {
    let s = server(&[EchoFault::AcceptAnyNamespace]).await;
    let mut ws = Ws::connect(echo(&s), 4).await;
    ws.send("40/random,").await;
    assert!(ws.recv_text().await.starts_with("40/random,{"));
    assert_eq!(ws.recv_text().await, r#"42/random,["auth",{}]"#);
    s.shutdown().await;
}

async fn handshake_ping_interval(faults: &[EchoFault]) -> serde_json::Value {
    let s = server(faults).await;
    let (_, body) = get(&url(echo(&s), "EIO=4&transport=polling")).await;
    s.shutdown().await;
    json_after(&body, "0")
}

#[tokio::test]
async fn no_heartbeat() {
    let handshake = handshake_ping_interval(&[EchoFault::NoHeartbeat]).await;
    assert_eq!(handshake["pingInterval"], 3_600_000);
    assert_eq!(handshake["pingTimeout"], 3_600_000);

    let s = server(&[EchoFault::NoHeartbeat]).await;
    let mut ws = Ws::connect(echo(&s), 4).await;
    ws.send("40").await;
    assert!(ws.recv_text().await.starts_with("40{"));
    assert_eq!(ws.recv_text().await, r#"42["auth",{}]"#);
    // The profile's server would have pinged twice by now, and closed the
    // session for the missing pongs.
    ws.answer_pings = false;
    ws.expect_quiet(Duration::from_millis(800)).await;
    ws.send(r#"42["message","still here"]"#).await;
    assert_eq!(
        ws.recv_raw().await,
        Frame::Text(r#"42["message-back","still here"]"#.into())
    );
    s.shutdown().await;
}

#[tokio::test]
async fn slow_ping() {
    let handshake = handshake_ping_interval(&[EchoFault::SlowPing]).await;
    assert_eq!(handshake["pingInterval"], 1200);
    assert_eq!(handshake["pingTimeout"], 200);

    let s = server(&[EchoFault::SlowPing]).await;
    let mut ws = Ws::connected(echo(&s)).await;
    ws.answer_pings = false;
    ws.expect_quiet(Duration::from_millis(900)).await;
    assert_eq!(ws.recv_raw().await, Frame::Text("2".into()));
    s.shutdown().await;
}

#[tokio::test]
async fn no_connect_timeout() {
    let s = server(&[EchoFault::NoConnectTimeout]).await;
    let mut ws = Ws::connect(echo(&s), 4).await;
    ws.expect_quiet(Duration::from_millis(1500)).await;
    ws.send("40").await;
    assert!(ws.recv_text().await.starts_with("40{"));
    s.shutdown().await;
}
