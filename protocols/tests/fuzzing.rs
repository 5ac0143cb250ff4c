//! The fuzz targets' properties, on every fixture: what `fuzz/` checks on
//! random input holds on the documents' own messages (and runs on stable).

use protocols::{fuzzing, Dialect, Protocol};

use crate::check::fixtures;

fn replay<D: Dialect>() -> usize {
    let mut n = 0;
    for class in ["valid", "invalid"] {
        for f in fixtures(D::PROTOCOL, class) {
            fuzzing::dialect::<D>(f.kind.as_deref(), &f.bytes);
            n += 1;
        }
    }
    n
}

#[test]
fn every_fixture_keeps_the_dialect_properties() {
    let n = replay::<protocols::socketio::Transport>()
        + replay::<protocols::chatpot::Chatpot>()
        + replay::<protocols::sockets::Sockets>()
        + replay::<protocols::socketcluster::SocketCluster>()
        + replay::<protocols::circles::Circles>()
        + replay::<protocols::assa::Assa>();
    assert!(n >= 400, "only {n} fixtures replayed");
}

#[test]
fn the_assa_stream_of_every_example_is_cut_at_every_chunk_size() {
    let mut stream = Vec::new();
    for f in fixtures(Protocol::Assa, "valid") {
        stream.extend_from_slice(&f.bytes);
        stream.push(b'\n');
    }
    for cut in 0..64u8 {
        let mut input = vec![cut];
        input.extend_from_slice(&stream);
        fuzzing::assa_framing(&input);
    }
}

#[test]
fn socketio_fixture_packets_go_through_the_reassembler() {
    let mut input = Vec::new();
    for f in fixtures(Protocol::Socketio, "valid") {
        if f.kind.as_deref().is_some_and(|k| k.starts_with("sio")) {
            input.extend_from_slice(&f.bytes);
            input.push(0xff);
        }
    }
    assert!(input.len() > 100);
    // A binary event and its two attachments.
    input.extend_from_slice(
        br#"52-["a",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#,
    );
    input.extend_from_slice(&[0xff, 0, 1, 2, 0xff, 0, 3]);
    fuzzing::socketio_reassembler(&input);
}

/// Every committed corpus input of a state-machine target, then inputs of a
/// fixed-seed generator: what the fuzzer checks holds on stable too.
fn replay_target(target: &str, entry: fn(&[u8])) {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/corpus")
        .join(target);
    let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    let mut n = 0;
    for file in entries {
        let path = file.expect("corpus entry").path();
        let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        entry(&bytes);
        n += 1;
    }
    assert!(n > 0, "no corpus for {target}");
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    for len in 0..2000usize {
        let input: Vec<u8> = (0..len % 512)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                state as u8
            })
            .collect();
        entry(&input);
    }
}

#[test]
fn the_engineio_server_session_keeps_its_invariants_on_the_corpus() {
    replay_target("session_engineio_server", fuzzing::engineio_server);
}

#[test]
fn the_engineio_client_session_keeps_its_invariants_on_the_corpus() {
    replay_target("session_engineio_client", fuzzing::engineio_client);
}

#[test]
fn socketio_rooms_keep_their_invariants_on_the_corpus() {
    replay_target("session_socketio_rooms", fuzzing::socketio_rooms);
}

#[test]
fn the_socketio_client_connection_keeps_its_invariants_on_the_corpus() {
    replay_target("session_socketio_client", fuzzing::socketio_client);
}

#[test]
fn socketcluster_server_sessions_keep_their_invariants_on_the_corpus() {
    replay_target(
        "session_socketcluster_server",
        fuzzing::socketcluster_server,
    );
}

#[test]
fn the_socketcluster_client_session_keeps_its_invariants_on_the_corpus() {
    replay_target(
        "session_socketcluster_client",
        fuzzing::socketcluster_client,
    );
}

/// A regression input kept in `fuzz/regressions/<target>/`.
fn regression(target: &str, name: &str) -> Vec<u8> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/regressions")
        .join(target)
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Found by `session_engineio_server`: the probing WebSocket of a session the
/// application had closed ended, and the session reported `UpgradeFailed` after `Closed`.
#[test]
fn bug_upgrade_failed_after_closed() {
    fuzzing::engineio_server(&regression(
        "session_engineio_server",
        "upgrade-failed-after-closed.bin",
    ));
}

/// Found by `session_engineio_server` (without the sanitizer, while its
/// executions per second were measured): a session closing (its `Closed`
/// event out, the close packet still queued) that got the upgrade's `5`
/// on the probed WebSocket completed the upgrade and emitted `Upgraded`
/// after `Closed`. The upgrade now completes without an event unless the
/// session is open, as a failed one already did.
#[test]
fn bug_upgraded_after_closed() {
    fuzzing::engineio_server(&regression(
        "session_engineio_server",
        "upgraded-after-closed.bin",
    ));
}

/// Found by `session_engineio_server`: a session the application closed
/// became closed once its close packet went out, but kept its ping and
/// heartbeat timers; `handle_timeout` ignores a closed session, so
/// `poll_timeout` stayed in the past and a driver would spin on it.
#[test]
fn bug_timer_due_after_closing() {
    fuzzing::engineio_server(&regression(
        "session_engineio_server",
        "timer-due-after-closing.bin",
    ));
}

/// Found by `session_engineio_client`: the WebSocket being probed closed
/// after the session had closed, and the client reported `UpgradeFailed` after `Closed`.
#[test]
fn bug_client_upgrade_failed_after_closed() {
    fuzzing::engineio_client(&regression(
        "session_engineio_client",
        "client-upgrade-failed-after-closed.bin",
    ));
}

/// Found by `session_socketcluster_client`: the client session queued the
/// event of a call the app made after the session had closed, a text after the close frame.
#[test]
fn bug_client_sends_after_close() {
    fuzzing::socketcluster_client(&regression(
        "session_socketcluster_client",
        "bug_client_sends_after_close",
    ));
}

/// Found by `session_socketio_client`: the server acked an id the client
/// never emitted (and could ack one twice), and the client connection
/// handed the application an ack nothing awaited; it now hands out only
/// the first answer to an id emitted in that namespace, as socket.io-client
/// ignores an ack it has no callback for.
#[test]
fn bug_client_ack_never_awaited() {
    fuzzing::socketio_client(&regression(
        "session_socketio_client",
        "bug_client_ack_never_awaited",
    ));
}

#[test]
fn the_engineio_router_keeps_its_properties_on_every_shape_of_query() {
    let queries = [
        "EIO=4&transport=polling",
        "EIO=3&transport=polling&b64=1",
        "EIO=4&transport=websocket&sid=abc",
        "EIO=4&transport=polling&sid=a%20b",
        "EIO=5&transport=polling",
        "EIO=4&transport=nope",
        "transport=polling",
        "EIO=4&transport=polling&sid=%zz%",
        "",
        "&&&==&",
    ];
    for pick in 0..=255u8 {
        for q in queries {
            let mut input = vec![pick];
            input.extend_from_slice(q.as_bytes());
            fuzzing::engineio_route(&input);
        }
    }
}

#[test]
fn the_timestamp_parser_keeps_its_properties_on_the_documents_timestamps() {
    let mut n = 0;
    for f in fixtures(Protocol::Assa, "valid") {
        let Ok(value) = serde_json::from_slice::<serde_json::Value>(&f.bytes) else {
            continue;
        };
        if let Some(ts) = value.get("timestamp").and_then(|t| t.as_str()) {
            fuzzing::timestamp(ts.as_bytes());
            n += 1;
        }
    }
    assert!(n > 10, "only {n} timestamps");
    for text in [
        "2024-01-01T12:00:00.000Z",
        "0000-01-01T00:00:00.000Z",
        "9999-12-31T23:59:59.999Z",
        "2024-02-29T00:00:00Z",
        "2023-02-29T00:00:00Z",
        "2024-01-01T12:00:00+09:00",
        "2024-13-01T00:00:00Z",
        "",
    ] {
        fuzzing::timestamp(text.as_bytes());
    }
}
