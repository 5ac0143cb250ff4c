//! The sockets listener over real WebSockets: `register`, `message`, the
//! join and leave notices, Engine.IO 3 and 4, and each `sockets:` fault
//! changing the behaviour it names.

use std::time::Duration;

use reference_server::{Config, Fault, ListenerName, Running, SocketsFault as F};

use crate::support::{Ws, WAIT};

/// How long a client that must receive nothing is watched.
const QUIET: Duration = Duration::from_millis(150);

async fn server(faults: &[F]) -> Running {
    let mut config = Config::embedded();
    config.faults = faults.iter().copied().map(Fault::Sockets).collect();
    tokio::time::timeout(WAIT, reference_server::start(config))
        .await
        .expect("server starts in time")
        .expect("server starts")
}

/// A client in the main namespace, Engine.IO `eio` (3 is connected at once).
async fn client(s: &Running, eio: u8) -> Ws {
    let addr = s.addrs.get(ListenerName::Sockets).expect("it runs");
    let mut ws = Ws::connect(addr, eio).await;
    if eio == 4 {
        ws.send("40").await;
        assert!(ws.recv_text().await.starts_with("40{"));
    } else {
        assert_eq!(ws.recv_text().await, "40");
    }
    ws
}

/// `register` with ack id 1: the ack's text.
async fn register(ws: &mut Ws, name: &str) -> String {
    ws.send(&format!(r#"421["register",{}]"#, serde_json::json!(name)))
        .await;
    ws.recv_text().await
}

fn joined(name: &str) -> String {
    format!(r#"42["message",{{"from":"Server","message":"{name} has joined the chat"}}]"#)
}

fn left(name: &str) -> String {
    format!(r#"42["message",{{"from":"Server","message":"{name} left the chat"}}]"#)
}

fn said(from: &str, text: &str) -> String {
    format!(r#"42["message",{{"from":"{from}","message":"{text}"}}]"#)
}

/// A registered client, its own join notice read.
async fn user(s: &Running, eio: u8, name: &str) -> Ws {
    let mut ws = client(s, eio).await;
    assert_eq!(register(&mut ws, name).await, "431[true]");
    assert_eq!(ws.recv_text().await, joined(name));
    ws
}

#[tokio::test]
async fn a_chat_over_both_engineio_versions() {
    let s = server(&[]).await;
    let mut alice = user(&s, 4, "alice").await;
    let mut bob = user(&s, 3, "bob").await;
    assert_eq!(alice.recv_text().await, joined("bob"));
    let mut lurker = client(&s, 4).await;

    // `from` is the registered name, whatever the client claims.
    bob.send(r#"42["message",{"from":"mallory","message":"hi","x":1}]"#)
        .await;
    assert_eq!(bob.recv_text().await, said("bob", "hi"));
    assert_eq!(alice.recv_text().await, said("bob", "hi"));
    alice.send(r#"427["message",{"message":"ho"}]"#).await;
    assert_eq!(alice.recv_text().await, "437[true]");
    assert_eq!(alice.recv_text().await, said("alice", "ho"));
    assert_eq!(bob.recv_text().await, said("alice", "ho"));
    lurker.expect_quiet(QUIET).await;

    drop(bob);
    assert_eq!(alice.recv_text().await, left("bob"));
    // The name is free again.
    let _bob = user(&s, 4, "bob").await;
    assert_eq!(alice.recv_text().await, joined("bob"));
    s.shutdown().await;
}

#[tokio::test]
async fn register_refusals() {
    let s = server(&[]).await;
    let mut alice = user(&s, 4, "alice").await;
    let mut other = client(&s, 4).await;
    for name in ["", "Server", "alice", &"x".repeat(33)] {
        assert_eq!(register(&mut other, name).await, "431[false]", "{name:?}");
    }
    other.send(r#"421["register",7]"#).await;
    assert_eq!(other.recv_text().await, "431[false]");
    other.send(r#"421["register"]"#).await;
    assert_eq!(other.recv_text().await, "431[false]");
    // The longest name accepted is 32 characters.
    let long = "é".repeat(32);
    assert_eq!(register(&mut other, &long).await, "431[true]");
    assert_eq!(other.recv_text().await, joined(&long));
    // A registered socket keeps its name.
    assert_eq!(register(&mut other, "carol").await, "431[false]");
    assert_eq!(alice.recv_text().await, joined(&long));
    alice.expect_quiet(QUIET).await;
    s.shutdown().await;
}

#[tokio::test]
async fn messages_refused_before_register_or_malformed() {
    let s = server(&[]).await;
    let mut alice = user(&s, 4, "alice").await;
    let mut stranger = client(&s, 4).await;
    stranger
        .send(r#"425["message",{"from":"alice","message":"psst"}]"#)
        .await;
    assert_eq!(stranger.recv_text().await, "435[false]");
    for bad in [r#""text""#, r#"{"from":"alice"}"#, r#"{"message":3}"#] {
        alice.send(&format!(r#"426["message",{bad}]"#)).await;
        assert_eq!(alice.recv_text().await, "436[false]", "{bad}");
    }
    alice.expect_quiet(QUIET).await;
    stranger.expect_quiet(QUIET).await;
    s.shutdown().await;
}

#[tokio::test]
async fn other_namespaces_are_refused() {
    let s = server(&[]).await;
    let mut ws = client(&s, 4).await;
    ws.send("40/other,").await;
    assert_eq!(
        ws.recv_text().await,
        r#"44/other,{"message":"Invalid namespace"}"#
    );
    s.shutdown().await;
}

#[tokio::test]
async fn each_fault_breaks_its_behaviour() {
    // A fresh server per fault; each scenario fails on the clean listener.
    let s = server(&[F::NoRegisterAck]).await;
    let mut ws = client(&s, 4).await;
    ws.send(r#"421["register","alice"]"#).await;
    assert_eq!(ws.recv_text().await, joined("alice"));
    s.shutdown().await;

    for (fault, name) in [
        (F::AcceptEmptyName, String::new()),
        (F::AcceptLongName, "x".repeat(33)),
        (F::AcceptServerName, "Server".to_owned()),
    ] {
        let s = server(&[fault]).await;
        let mut ws = client(&s, 4).await;
        assert_eq!(register(&mut ws, &name).await, "431[true]", "{fault:?}");
        s.shutdown().await;
    }

    let s = server(&[F::AcceptTakenName]).await;
    let _alice = user(&s, 4, "alice").await;
    let mut other = client(&s, 4).await;
    assert_eq!(register(&mut other, "alice").await, "431[true]");
    s.shutdown().await;

    let s = server(&[F::AcceptSecondRegister]).await;
    let mut alice = user(&s, 4, "alice").await;
    assert_eq!(register(&mut alice, "carol").await, "431[true]");
    s.shutdown().await;

    let s = server(&[F::NoJoinNotice]).await;
    let mut alice = user(&s, 4, "alice").await;
    let _bob = user(&s, 4, "bob").await;
    alice.expect_quiet(QUIET).await;
    s.shutdown().await;

    let s = server(&[F::NoSelfJoinNotice]).await;
    let mut alice = client(&s, 4).await;
    assert_eq!(register(&mut alice, "alice").await, "431[true]");
    alice.expect_quiet(QUIET).await;
    s.shutdown().await;

    let s = server(&[F::TrustFrom]).await;
    let mut alice = user(&s, 4, "alice").await;
    alice
        .send(r#"42["message",{"from":"mallory","message":"hi"}]"#)
        .await;
    assert_eq!(alice.recv_text().await, said("mallory", "hi"));
    s.shutdown().await;

    let s = server(&[F::NoEchoToSender]).await;
    let mut alice = user(&s, 4, "alice").await;
    let mut bob = user(&s, 4, "bob").await;
    assert_eq!(alice.recv_text().await, joined("bob"));
    alice.send(r#"42["message",{"message":"hi"}]"#).await;
    assert_eq!(bob.recv_text().await, said("alice", "hi"));
    alice.expect_quiet(QUIET).await;
    s.shutdown().await;

    let s = server(&[F::NoBroadcast]).await;
    let mut alice = user(&s, 4, "alice").await;
    let mut bob = user(&s, 4, "bob").await;
    assert_eq!(alice.recv_text().await, joined("bob"));
    alice.send(r#"42["message",{"message":"hi"}]"#).await;
    assert_eq!(alice.recv_text().await, said("alice", "hi"));
    bob.expect_quiet(QUIET).await;
    s.shutdown().await;

    let s = server(&[F::AcceptUnregisteredMessage]).await;
    let mut alice = user(&s, 4, "alice").await;
    let mut stranger = client(&s, 4).await;
    stranger
        .send(r#"42["message",{"from":"ghost","message":"boo"}]"#)
        .await;
    assert_eq!(alice.recv_text().await, said("ghost", "boo"));
    s.shutdown().await;

    let s = server(&[F::NotifyUnregistered]).await;
    let mut lurker = client(&s, 4).await;
    let _alice = user(&s, 4, "alice").await;
    assert_eq!(lurker.recv_text().await, joined("alice"));
    s.shutdown().await;

    let s = server(&[F::NoLeaveNotice]).await;
    let mut alice = user(&s, 4, "alice").await;
    let bob = user(&s, 4, "bob").await;
    assert_eq!(alice.recv_text().await, joined("bob"));
    drop(bob);
    alice.expect_quiet(Duration::from_millis(400)).await;
    s.shutdown().await;

    let s = server(&[F::KeepName]).await;
    let mut alice = user(&s, 4, "alice").await;
    let bob = user(&s, 4, "bob").await;
    assert_eq!(alice.recv_text().await, joined("bob"));
    drop(bob);
    assert_eq!(alice.recv_text().await, left("bob"));
    let mut again = client(&s, 4).await;
    assert_eq!(register(&mut again, "bob").await, "431[false]");
    s.shutdown().await;
}

#[test]
fn the_fault_list_is_complete() {
    let listener = reference_server::listener(ListenerName::Sockets).expect("implemented");
    let faults = listener.faults();
    assert_eq!(faults, F::ALL.map(Fault::Sockets).to_vec());
    assert!(faults.iter().all(|f| f.as_str().starts_with("sockets:")));
}

#[tokio::test]
async fn the_username_limit_and_timings_come_from_the_sockets_section() {
    let parsed = Config::from_toml(
        "[sockets]\nmax_username_chars = 5\n[sockets.profile]\nping_interval_ms = 250\n",
    )
    .expect("a valid [sockets] section");
    assert_eq!(
        parsed.sockets.profile.ping_timeout_ms, 200,
        "the test profile's"
    );
    let mut config = Config::embedded();
    config.sockets = parsed.sockets;
    let s = tokio::time::timeout(WAIT, reference_server::start(config))
        .await
        .expect("server starts in time")
        .expect("server starts");
    let mut ws = client(&s, 4).await;
    assert!(ws.open.contains(r#""pingInterval":250"#), "{}", ws.open);
    assert_eq!(register(&mut ws, "sixsix").await, "431[false]");
    assert_eq!(register(&mut ws, "five5").await, "431[true]");
    s.shutdown().await;
}
