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
    // The memory was looked at through the window, with every client open
    // (the storm's connections come and go: none is counted open).
    if scenario != Scenario::Connect {
        let memory = results.summary().expect("the summary").server_memory;
        let memory = memory.expect("memory samples of the measured window");
        assert!(memory.samples > 0, "{memory:?}");
        assert_eq!(memory.open_max, 4, "{memory:?}");
    }
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
async fn assa_room_messages_closed_loop() {
    smoke(Protocol::Assa, Scenario::Fanout, Load::Closed).await;
}

#[tokio::test]
async fn assa_room_messages_open_loop_ramp() {
    let ramp = bench::Ramp {
        from: 100.0,
        to: 400.0,
        over: std::time::Duration::from_millis(800),
        steps: Some(4),
    };
    smoke(Protocol::Assa, Scenario::Fanout, Load::Ramp(ramp)).await;
}

#[tokio::test]
async fn assa_connect() {
    smoke(Protocol::Assa, Scenario::Connect, Load::Closed).await;
}

#[tokio::test]
async fn assa_idle() {
    smoke(Protocol::Assa, Scenario::Idle, Load::Closed).await;
}

#[tokio::test]
async fn assa_has_no_echo() {
    let server = server().await;
    let err = bench::run(
        short(Scenario::Echo),
        dialect(&server, Protocol::Assa),
        None,
    )
    .await
    .expect_err("ASSA has no echo request");
    assert!(err.to_string().contains("no echo"), "{err}");
    server.shutdown().await;
}

/// The loopback baseline: the bench's own TCP echo, closed and open loop.
#[tokio::test]
async fn baseline_echo() {
    let (listener, addr) = bench::baseline::bind().await.expect("a loopback port");
    let echo = tokio::spawn(bench::baseline::serve(listener));
    let dialect = bench::Dialect::Tcp(bench::tcp::TcpDialect::Baseline {
        addr: addr.to_string(),
    });
    for load in [Load::Closed, Load::Open { rate: 400.0 }] {
        let mut plan = short(Scenario::Echo);
        plan.load = load;
        plan.clients = 4;
        plan.window = 16;
        let results = bench::run(plan, dialect.clone(), None)
            .await
            .expect("the run");
        assert!(results.delivered > 0, "nothing answered: {results:?}");
        assert_eq!(results.delivered, results.sent);
        assert_eq!(results.lost(), 0, "{:?}", results.errors);
        assert!(results.errors.is_empty(), "{:?}", results.errors);
        assert_eq!(results.protocol, "baseline");
    }
    echo.abort();
}

#[tokio::test]
async fn socketio_fanout_closed_loop() {
    smoke(Protocol::Socketio, Scenario::Fanout, Load::Closed).await;
}

#[tokio::test]
async fn socketio_fanout_open_loop() {
    smoke(
        Protocol::Socketio,
        Scenario::Fanout,
        Load::Open { rate: 200.0 },
    )
    .await;
}
