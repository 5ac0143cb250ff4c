//! Starting and stopping: free ports, disabled listeners, graceful shutdown.

use std::time::Duration;

use reference_server::{Config, ListenerName};

use crate::support::{echo, server, Ws, WAIT};

#[tokio::test]
async fn embedded_binds_free_loopback_ports() {
    let s = server(&[]).await;
    let addr = echo(&s);
    assert!(addr.ip().is_loopback());
    assert_ne!(addr.port(), 0);
    // Only implemented listeners are bound; the five protocol listeners come later.
    for name in ListenerName::ALL {
        assert_eq!(
            s.addrs.get(name).is_some(),
            reference_server::listener(name).is_some(),
            "{name}"
        );
    }
    s.shutdown().await;
}

#[tokio::test]
async fn disabled_echo_is_not_bound() {
    let mut config = Config::embedded();
    config.listeners.get_mut(ListenerName::Echo).enabled = false;
    let s = reference_server::start(config).await.unwrap();
    assert_eq!(s.addrs.get(ListenerName::Echo), None);
    assert_eq!(
        s.addrs.iter().count(),
        reference_server::listeners().len() - 1,
        "every other implemented listener still runs"
    );
    s.shutdown().await;
}

#[tokio::test]
async fn busy_port_is_an_error_naming_the_listener() {
    let s = server(&[]).await;
    let mut config = Config::embedded();
    config.listeners.get_mut(ListenerName::Echo).port = echo(&s).port();
    let err = reference_server::start(config).await.unwrap_err();
    assert!(format!("{err:#}").contains("echo"), "{err:#}");
    s.shutdown().await;
}

#[tokio::test]
async fn graceful_shutdown_closes_sessions_and_releases_the_port() {
    let s = server(&[]).await;
    let addr = echo(&s);
    let mut ws = Ws::connected(addr).await;

    tokio::time::timeout(Duration::from_secs(10), s.shutdown())
        .await
        .expect("shutdown in time");
    ws.expect_closed().await;

    let rebound = tokio::time::timeout(WAIT, tokio::net::TcpListener::bind(addr))
        .await
        .expect("bind in time");
    assert!(rebound.is_ok(), "port released: {rebound:?}");
}
