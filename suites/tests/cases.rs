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
