//! Spec coverage: the compiled-in sections table, matching case specs to
//! sections, unknown sections, and the Markdown report.

use std::collections::BTreeSet;

use protocols::Protocol;
use suites::case::{Case, CaseFuture, Ctx, Level};
use suites::coverage::{self, coverage, find_section};

fn passes(_: Ctx) -> CaseFuture {
    Box::pin(async { Ok(()) })
}

fn case(id: &'static str, protocol: Protocol, spec: &'static str) -> Case {
    Case {
        id,
        protocol,
        level: Level::Must,
        spec,
        title: "a synthetic case",
        run: passes,
    }
}

#[test]
fn the_sections_table_parses_and_has_no_duplicate_ids() {
    let docs = coverage::documents();
    let names: Vec<&str> = docs.iter().map(|d| d.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "000_407d4ff0bcbdf81c.txt",
            "001_13ce220237596520.txt",
            "002_57bad640c3a657d6.txt",
            "003_415bfb4e4fd8fc5e.txt",
            "004_636ae579ed5d2364.txt",
            "specs/README.md",
            "engine.io-protocol v3",
            "engine.io-protocol v4",
            "socket.io-protocol v4",
            "socket.io-protocol v5",
        ]
    );
    let mut seen = BTreeSet::new();
    for s in coverage::sections() {
        assert!(seen.insert(s.id.as_str()), "duplicate section {}", s.id);
        assert_eq!(s.id, format!("{} §{}", s.document, s.short));
        assert!(!s.title.trim().is_empty(), "{} has no title", s.id);
        assert_eq!(
            find_section(&s.id),
            Some(s),
            "{} does not find itself",
            s.id
        );
    }
    let assa = docs.iter().find(|d| d.name.starts_with("004_")).unwrap();
    assert_eq!(
        assa.sections.len(),
        29,
        "every numbered subsection of the ASSA document"
    );
    // Every protocol's own document is in the table.
    for p in Protocol::ALL {
        if p != Protocol::Socketio {
            assert!(names.contains(&p.document()), "{p:?}");
        }
    }
}

#[test]
fn specs_the_codecs_and_the_brief_cite_are_known_sections() {
    for spec in [
        "000_407d4ff0bcbdf81c.txt §SocketIO 노드 연결",
        "000_407d4ff0bcbdf81c.txt §SIGNAL: server_error",
        "000_407d4ff0bcbdf81c.txt §SIGNAL: postinit_req",
        "000_407d4ff0bcbdf81c.txt §SIGNAL: message",
        "001_13ce220237596520.txt §3.1.1 Commands events",
        "001_13ce220237596520.txt §3.1.4 Register events",
        "002_57bad640c3a657d6.txt §The event layer: Emitted events",
        "002_57bad640c3a657d6.txt §The event layer: Ping and pong - Connection health check",
        "003_415bfb4e4fd8fc5e.txt §Circle Events",
        "003_415bfb4e4fd8fc5e.txt §Basics",
        "004_636ae579ed5d2364.txt §2.2",
        "004_636ae579ed5d2364.txt §10.3",
        "engine.io-protocol v4 §Handshake",
        "engine.io-protocol v4 §Heartbeat",
        "engine.io-protocol v4 §Upgrade",
        "engine.io-protocol v4 §Packet encoding",
        "engine.io-protocol v4 §HTTP long-polling",
        "engine.io-protocol v4 §WebSocket",
        "engine.io-protocol v4 §Protocol",
        "engine.io-protocol v4 §Message",
        "engine.io-protocol v3 §Payload",
        "socket.io-protocol v5 §Connection to a namespace",
        "socket.io-protocol v5 §Sending and receiving data",
        "socket.io-protocol v5 §Acknowledgement",
        "socket.io-protocol v5 §Disconnection from a namespace",
        "socket.io-protocol v5 §Packet encoding",
        "socket.io-protocol v4 §4 - ERROR",
        "specs/README.md §Facts: Socket.IO versions",
        "specs/README.md §Facts: Chatpot, as deployed",
        "specs/README.md §Facts: SocketCluster, as implemented",
        "specs/README.md §Facts: Socket.IO's own protocol test suites",
    ] {
        assert!(find_section(spec).is_some(), "{spec}");
    }
}

#[test]
fn a_detail_after_the_section_id_is_allowed_but_only_at_a_boundary() {
    let id = |spec: &str| find_section(spec).map(|s| s.id.as_str());
    assert_eq!(
        id("engine.io-protocol v4 §Heartbeat (pingTimeout)"),
        Some("engine.io-protocol v4 §Heartbeat")
    );
    assert_eq!(
        id("001_13ce220237596520.txt §3.1.4 Register events"),
        Some("001_13ce220237596520.txt §3.1.4")
    );
    assert_eq!(
        id("003_415bfb4e4fd8fc5e.txt §Basics: Authentication"),
        Some("003_415bfb4e4fd8fc5e.txt §Basics")
    );
    // The longest id that fits wins.
    assert_eq!(
        id("engine.io-protocol v4 §Packet encoding: WebSocket"),
        Some("engine.io-protocol v4 §Packet encoding: WebSocket")
    );
    assert_eq!(
        id("engine.io-protocol v4 §Packet encoding (binary)"),
        Some("engine.io-protocol v4 §Packet encoding")
    );
    // `§4.25` is not `§4.2` with a detail, and `§4` groups sections but is none.
    assert_eq!(id("004_636ae579ed5d2364.txt §4.25"), None);
    assert_eq!(id("004_636ae579ed5d2364.txt §4"), None);
    assert_eq!(id("000_407d4ff0bcbdf81c.txt §SIGNAL"), None);
    assert_eq!(id("engine.io-protocol v4 §Heartbeats"), None);
}

fn synthetic() -> Vec<Case> {
    vec![
        case(
            "assa.room.join-response",
            Protocol::Assa,
            "004_636ae579ed5d2364.txt §4.2",
        ),
        case(
            "assa.room.join-broadcasts-user-joined",
            Protocol::Assa,
            "004_636ae579ed5d2364.txt §4.2 (USER_JOINED)",
        ),
        case(
            "assa.ping.server-pings",
            Protocol::Assa,
            "004_636ae579ed5d2364.txt §8.2",
        ),
        case(
            "assa.typo.section",
            Protocol::Assa,
            "004_636ae579ed5d2364.txt §4.9",
        ),
        case(
            "socketio.v4.heartbeat.server-pings",
            Protocol::Socketio,
            "engine.io-protocol v4 §Heartbeat (pingInterval)",
        ),
        case(
            "socketio.v6.unknown",
            Protocol::Socketio,
            "engine.io-protocol v6 §Heartbeat",
        ),
        case(
            "sockets.register.ack-true",
            Protocol::Sockets,
            "001_13ce220237596520.txt §3.1.4 Register events",
        ),
        case(
            "sockets.no-section",
            Protocol::Sockets,
            "001_13ce220237596520.txt",
        ),
    ]
}

#[test]
fn coverage_maps_cases_to_sections_and_reports_unknown_ones() {
    let cov = coverage(&synthetic());
    assert_eq!(
        cov.cases_of("004_636ae579ed5d2364.txt §4.2"),
        [
            "assa.room.join-broadcasts-user-joined",
            "assa.room.join-response"
        ]
    );
    assert_eq!(
        cov.cases_of("004_636ae579ed5d2364.txt §8.2"),
        ["assa.ping.server-pings"]
    );
    assert_eq!(
        cov.cases_of("engine.io-protocol v4 §Heartbeat"),
        ["socketio.v4.heartbeat.server-pings"]
    );
    assert_eq!(
        cov.cases_of("001_13ce220237596520.txt §3.1.4"),
        ["sockets.register.ack-true"]
    );
    assert_eq!(cov.checked(), 4);
    assert_eq!(cov.total(), coverage::sections().count());
    assert_eq!(cov.unchecked().count(), cov.total() - 4);
    assert!(cov
        .unchecked()
        .any(|s| s.id == "004_636ae579ed5d2364.txt §4.1"));

    let unknown: Vec<(&str, &str)> = cov
        .unknown
        .iter()
        .map(|u| (u.case.as_str(), u.spec.as_str()))
        .collect();
    assert_eq!(
        unknown,
        [
            ("assa.typo.section", "004_636ae579ed5d2364.txt §4.9"),
            ("socketio.v6.unknown", "engine.io-protocol v6 §Heartbeat"),
            ("sockets.no-section", "001_13ce220237596520.txt"),
        ]
    );
    assert!(
        cov.unknown[0].problem.contains("has no such section"),
        "{}",
        cov.unknown[0].problem
    );
    assert!(cov.unknown[1]
        .problem
        .contains("unknown document `engine.io-protocol v6`"));
    assert!(cov.unknown[2].problem.contains("no ` §`"));
}

#[test]
fn markdown_has_a_table_per_document_the_unchecked_sections_and_totals() {
    let cov = coverage(&synthetic());
    let md = cov.to_markdown();
    let total = cov.total();
    assert!(
        md.contains(&format!("4 of {total} sections are checked by at least one case (5 cases cite a known section, 3 an unknown one).")),
        "{md}"
    );
    assert_eq!(md.matches("\n## ").count(), coverage::documents().len() + 1);
    assert!(md.contains("| §4.2 | 채팅방 참가 (JOIN_ROOM) | `assa.room.join-broadcasts-user-joined`, `assa.room.join-response` |"));
    assert!(md.contains("| §4.1 | 채팅방 생성 (CREATE_ROOM) | — |"));
    assert!(md.contains("Not checked by any case (27): §1.1, §1.2,"));
    assert!(md.contains("| `assa.typo.section` | 004_636ae579ed5d2364.txt §4.9 |"));
    insta::assert_snapshot!("coverage_markdown", md);
}

#[test]
fn no_case_no_coverage() {
    let cov = coverage(&[]);
    assert_eq!(cov.checked(), 0);
    assert!(cov.unknown.is_empty());
    assert!(!cov.to_markdown().contains("## Unknown sections"));
}
