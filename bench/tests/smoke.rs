//! A bounded run of every scenario of every protocol the generator speaks,
//! with its reports written: the commands work. Figures are not checked
//! beyond "something was answered and nothing lost".

use bench::{Load, Scenario, Watch};
use protocols::Protocol;

use crate::{dialect, server, short};

async fn smoke(protocol: Protocol, scenario: Scenario, load: Load) {
    let server = server().await;
    let mut plan = short(scenario);
    plan.load = load;
    plan.clients = 4;
    plan.window = 4;
    if scenario == Scenario::Fanout {
        plan.rooms = 2;
        plan.senders = 2;
    }
    let watch = Watch::Pid(std::process::id());
    let results = bench::run(plan, dialect(&server, protocol), Some(watch))
        .await
        .expect("the run");
    server.shutdown().await;
    assert!(results.delivered > 0, "nothing answered: {results:?}");
    assert_eq!(results.lost(), 0, "{:?}", results.errors);
    assert!(results.errors.is_empty(), "{:?}", results.errors);
    assert!(results.server.as_ref().is_some_and(|s| s.rss_peak > 0));
    // The lag probe woke in the measured window (every wake records at
    // least 1 µs), and the window's CPU is part of the run's.
    assert!(results.generator_lag_us.max >= 1, "no lag recorded");
    assert!(results.generator_window_cpu_seconds <= results.generator_cpu_seconds);
    let dir = tempfile::tempdir().expect("a temporary folder");
    let written = bench::report::write(&results, dir.path()).expect("the reports");
    assert_eq!(written.len(), 4);
    let back = bench::report::read(dir.path()).expect("results.json reads back");
    assert_eq!(back, results);
    let svg = std::fs::read_to_string(dir.path().join("timeline.svg")).expect("the plot");
    assert!(svg.starts_with("<svg"), "{}", &svg[..svg.len().min(80)]);
}

#[tokio::test]
async fn socketio_echo_closed_loop() {
    smoke(Protocol::Socketio, Scenario::Echo, Load::Closed).await;
}

#[tokio::test]
async fn socketio_echo_open_loop() {
    smoke(
        Protocol::Socketio,
        Scenario::Echo,
        Load::Open { rate: 400.0 },
    )
    .await;
}

#[tokio::test]
async fn socketio_connect() {
    smoke(Protocol::Socketio, Scenario::Connect, Load::Closed).await;
}

#[tokio::test]
async fn socketio_idle() {
    smoke(Protocol::Socketio, Scenario::Idle, Load::Closed).await;
}

#[tokio::test]
async fn socketcluster_echo() {
    smoke(Protocol::Socketcluster, Scenario::Echo, Load::Closed).await;
}

#[tokio::test]
async fn socketcluster_fanout() {
    smoke(
        Protocol::Socketcluster,
        Scenario::Fanout,
        Load::Open { rate: 200.0 },
    )
    .await;
}

#[tokio::test]
async fn socketio_has_no_rooms_to_fan_out_to() {
    let server = server().await;
    let err = bench::run(
        short(Scenario::Fanout),
        dialect(&server, Protocol::Socketio),
        None,
    )
    .await
    .expect_err("the echo app has no rooms");
    assert!(err.to_string().contains("no rooms"), "{err}");
    server.shutdown().await;
}
