//! The listener registry: what it serves, its ports, and whose faults are whose.

use std::collections::BTreeSet;

use protocols::Protocol;
use reference_server::{listener, listeners, Fault, ListenerName};

use crate::support::server;

#[test]
fn registry_names_each_listener_once() {
    let names: Vec<ListenerName> = listeners().iter().map(|l| l.name()).collect();
    let unique: BTreeSet<ListenerName> = names.iter().copied().collect();
    assert_eq!(names.len(), unique.len(), "{names:?}");
    for name in ListenerName::ALL {
        assert_eq!(
            listener(name).map(|l| l.name()),
            names.contains(&name).then_some(name),
            "{name}"
        );
    }
}

#[tokio::test]
async fn registry_covers_every_listener_that_is_served() {
    let s = server(&[]).await;
    let served: Vec<ListenerName> = s.addrs.iter().map(|(name, _)| name).collect();
    let registered: Vec<ListenerName> = listeners().iter().map(|l| l.name()).collect();
    let mut sorted = registered.clone();
    sorted.sort();
    assert_eq!(served, sorted, "every implemented listener, and only those");
    assert!(registered.contains(&ListenerName::Echo));
    for (name, addr) in s.addrs.iter() {
        assert_eq!(s.addrs.get(name), Some(addr));
        assert!(addr.ip().is_loopback(), "{name}: {addr}");
    }
    // The bound ports differ, and map to (name, address) pairs as the suites take them.
    let ports: BTreeSet<u16> = s.addrs.iter().map(|(_, a)| a.port()).collect();
    assert_eq!(ports.len(), served.len());
    let pairs: Vec<(&str, std::net::SocketAddr)> =
        s.addrs.iter().map(|(n, a)| (n.as_str(), a)).collect();
    assert!(pairs.iter().any(|&(n, _)| n == "echo"), "{pairs:?}");
    s.shutdown().await;
}

#[test]
fn well_known_ports_and_names_are_unique() {
    let ports: BTreeSet<u16> = ListenerName::ALL.map(ListenerName::default_port).into();
    let names: BTreeSet<&str> = ListenerName::ALL.map(ListenerName::as_str).into();
    assert_eq!(ports.len(), ListenerName::ALL.len(), "{ports:?}");
    assert_eq!(names.len(), ListenerName::ALL.len(), "{names:?}");
    assert!(!ports.contains(&0));
    for name in ListenerName::ALL {
        assert_eq!(name.as_str().parse::<ListenerName>(), Ok(name));
    }
}

#[test]
fn each_fault_belongs_to_the_listener_that_serves_it() {
    let mut all = Vec::new();
    for l in listeners() {
        for fault in l.faults() {
            assert_eq!(fault.listener(), l.name(), "{fault}");
            let prefix = format!("{}:", l.name());
            let behaviour = fault.as_str().strip_prefix(&prefix);
            assert!(
                behaviour.is_some_and(|b| !b.is_empty() && !b.contains(':')),
                "{fault} is named {prefix}<behaviour>"
            );
            all.push(fault);
        }
    }
    assert_eq!(all, Fault::all());
    let names: BTreeSet<&str> = all.iter().map(|f| f.as_str()).collect();
    assert_eq!(names.len(), all.len(), "fault names are unique");
}

#[test]
fn echo_serves_the_socketio_transport() {
    let echo = listener(ListenerName::Echo).expect("the echo listener is implemented");
    assert_eq!(echo.protocol(), Protocol::Socketio);
    assert!(!echo.faults().is_empty());
}
