//! The case list itself: ids, spec sections, and the published coverage report.

use std::collections::BTreeSet;
use std::path::Path;

use suites::case::Level;

#[test]
fn case_ids_are_unique_and_well_formed() {
    let cases = suites::cases::all();
    let mut seen = BTreeSet::new();
    for c in &cases {
        assert!(seen.insert(c.id), "duplicate case id {}", c.id);
        let parts: Vec<&str> = c.id.split('.').collect();
        assert_eq!(
            parts[0],
            c.protocol.id(),
            "{} does not start with its protocol",
            c.id
        );
        assert!(parts.len() >= 3, "{} is not <protocol>.<area>.<name>", c.id);
        assert!(
            parts.iter().all(|p| !p.is_empty()
                && p.chars()
                    .all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '-')),
            "{} has characters other than a-z, 0-9 and -",
            c.id
        );
        assert!(!c.title.is_empty(), "{} has no title", c.id);
    }
}

/// The suite registry: every protocol with a suite appears once, every
/// declared case belongs to a registered suite (none is left out of a run)
/// and its id starts with its protocol's id.
#[test]
fn every_suite_is_registered_once_and_owns_its_cases() {
    let mut protocols = BTreeSet::new();
    for suite in suites::registry::SUITES {
        assert!(
            protocols.insert(suite.protocol),
            "{} is registered twice",
            suite.protocol
        );
        assert!(
            suite.cases().next().is_some(),
            "the {} suite has no case",
            suite.protocol
        );
        let found = suites::registry::suite(suite.protocol).map(|s| s.protocol);
        assert_eq!(found, Some(suite.protocol));
    }
    for c in suites::cases::CASES {
        assert!(
            protocols.contains(&c.protocol),
            "{} belongs to {}, which has no suite in the registry",
            c.id,
            c.protocol
        );
        assert!(
            c.id.starts_with(&format!("{}.", c.protocol.id())),
            "{} does not start with its suite's protocol id",
            c.id
        );
    }
    assert_eq!(suites::cases::all().len(), suites::cases::CASES.len());
    // A protocol without a suite is refused with the registry's list.
    let Some(missing) = protocols::Protocol::ALL
        .into_iter()
        .find(|p| !protocols.contains(p))
    else {
        return;
    };
    let e = suites::target::Targets::default()
        .apply_flag(&format!("{missing}=http://127.0.0.1:1"))
        .unwrap_err()
        .to_string();
    assert!(
        e.ends_with(&format!(
            "suites exist for: {}",
            suites::registry::protocol_list()
        )),
        "{e}"
    );
}

/// Every suite builds its target from the reference server's listeners, and
/// a listener it does not need changes nothing.
#[test]
fn the_embedded_mapping_points_every_suite_at_its_listener() {
    let addr: std::net::SocketAddr = "127.0.0.1:3000".parse().unwrap();
    let none = suites::registry::embedded_targets("x", &Default::default());
    assert_eq!(none.sections().count(), 0);
    let targets = suites::registry::embedded_targets(
        "x",
        &suites::target::Reference {
            listeners: vec![("echo".to_owned(), addr), ("elsewhere".to_owned(), addr)],
            ..Default::default()
        },
    );
    let s = targets
        .get::<suites::target::SocketioTarget>()
        .expect("the echo listener gives the socketio suite its target");
    assert_eq!(
        (s.url.as_str(), s.path.as_str(), s.engineio.as_slice()),
        ("http://127.0.0.1:3000", "/socket.io/", &[3, 4][..])
    );
    assert_eq!(targets.name.as_deref(), Some("x"));
}

#[test]
fn every_case_cites_a_known_section() {
    let coverage = suites::coverage::coverage(&suites::cases::all());
    assert!(
        coverage.unknown.is_empty(),
        "cases citing unknown sections: {:#?}",
        coverage.unknown
    );
}

#[test]
fn both_engineio_versions_and_every_level_are_exercised() {
    let cases = suites::cases::all();
    for prefix in ["socketio.v3.", "socketio.v4."] {
        assert!(
            cases.iter().filter(|c| c.id.starts_with(prefix)).count() >= 30,
            "few {prefix} cases"
        );
    }
    for level in [Level::Must, Level::Should, Level::Info] {
        assert!(cases.iter().any(|c| c.level == level), "no {level} case");
    }
}

/// `reports/coverage.md` is what `chatspec cases --coverage` prints now.
#[test]
fn published_coverage_report_is_current() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../reports/coverage.md");
    let expected = suites::coverage::coverage(&suites::cases::all()).to_markdown();
    let published = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        published == expected,
        "{} is stale: regenerate it with `cargo run -- cases --coverage > reports/coverage.md`",
        path.display()
    );
}

/// Architecture invariant: `suites` reaches a target only through drivers,
/// never by linking the reference server (only its tests do).
#[test]
fn suites_does_not_depend_on_the_reference_server() {
    let output = std::process::Command::new(env!("CARGO"))
        .args([
            "tree",
            "--edges",
            "normal",
            "--prefix",
            "none",
            "--package",
            "chatspec-suites",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo tree runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let tree = String::from_utf8(output.stdout).unwrap();
    assert!(
        tree.contains("chatspec-protocols"),
        "unexpected cargo tree output: {tree}"
    );
    assert!(
        !tree.contains("chatspec-reference-server"),
        "suites links the reference server:\n{tree}"
    );
}
