//! The data-driven check over `fixtures/`.
//!
//! A fixture is `fixtures/<protocol>/{valid,invalid}/<name>[@<kind>].<ext>`:
//! `<kind>` is handed to `Dialect::decode` when the bytes alone do not say
//! what the message is. Every valid fixture decodes, validates clean and
//! re-encodes to the same JSON (or the same bytes, for non-JSON packets).
//! Every invalid one has a `<same path>.expect` file naming the rule it
//! breaks; it must be refused by `decode` and reported by `validate` with
//! that rule. Decoded forms and errors are insta snapshots in
//! `fixtures/<protocol>/snapshots/`.

use std::fs;
use std::path::{Path, PathBuf};

use protocols::{Dialect, Protocol, Rule};

/// The `fixtures/` folder of the repository.
pub fn fixtures_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures")
}

/// One fixture file.
pub struct Fixture {
    pub path: PathBuf,
    pub name: String,
    pub kind: Option<String>,
    pub bytes: Vec<u8>,
}

/// The fixtures of one protocol in `valid` or `invalid`, sorted by name.
pub fn fixtures(protocol: Protocol, class: &str) -> Vec<Fixture> {
    let dir = fixtures_root().join(protocol.id()).join(class);
    let Ok(entries) = fs::read_dir(&dir) else {
        return Vec::new();
    };
    let mut out: Vec<Fixture> = entries
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e != "expect"))
        .map(|path| {
            let stem = path.file_stem().unwrap().to_str().unwrap().to_owned();
            let (name, kind) = match stem.split_once('@') {
                Some((n, k)) => (n.to_owned(), Some(k.to_owned())),
                None => (stem.clone(), None),
            };
            let mut bytes = fs::read(&path).unwrap();
            if path.extension().is_some_and(|e| e == "json" || e == "txt") {
                while bytes.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
                    bytes.pop();
                }
            }
            Fixture {
                path,
                name,
                kind,
                bytes,
            }
        })
        .collect();
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

fn same_wire(expected: &[u8], actual: &[u8]) -> bool {
    match (
        serde_json::from_slice::<serde_json::Value>(expected),
        serde_json::from_slice::<serde_json::Value>(actual),
    ) {
        (Ok(a), Ok(b)) => a == b,
        _ => expected == actual,
    }
}

/// Runs the check for one protocol and returns how many fixtures it read.
pub fn check<D: Dialect>() -> (usize, usize) {
    let protocol = D::PROTOCOL;
    let snapshots = fixtures_root().join(protocol.id()).join("snapshots");
    let valid = fixtures(protocol, "valid");
    let invalid = fixtures(protocol, "invalid");
    let mut failures = Vec::new();
    for f in &valid {
        let kind = f.kind.as_deref();
        let violations = D::validate(kind, &f.bytes);
        if !violations.is_empty() {
            failures.push(format!(
                "{}: valid fixture has violations: {violations:#?}",
                f.path.display()
            ));
        }
        match D::decode(kind, &f.bytes) {
            Ok(message) => {
                let encoded = D::encode(&message).unwrap();
                if !same_wire(&f.bytes, &encoded) {
                    failures.push(format!(
                        "{}: re-encoded differs:\n  fixture: {}\n  encoded: {}",
                        f.path.display(),
                        String::from_utf8_lossy(&f.bytes),
                        String::from_utf8_lossy(&encoded)
                    ));
                }
                match D::decode(kind, &encoded) {
                    Ok(again) if again == message => {}
                    other => failures.push(format!(
                        "{}: decode(encode(x)) != x: {other:?}",
                        f.path.display()
                    )),
                }
                insta::with_settings!({snapshot_path => &snapshots, prepend_module_to_snapshot => false}, {
                    insta::assert_debug_snapshot!(format!("valid-{}", f.name), message);
                });
            }
            Err(e) => failures.push(format!("{}: valid fixture refused: {e}", f.path.display())),
        }
    }
    for f in &invalid {
        let kind = f.kind.as_deref();
        let expect_path = f.path.with_extension("expect");
        let Ok(expected) = fs::read_to_string(&expect_path) else {
            failures.push(format!("{}: no .expect file", f.path.display()));
            continue;
        };
        let expected = expected.trim();
        let violations = D::validate(kind, &f.bytes);
        if !violations.iter().any(|v| v.rule == expected) {
            failures.push(format!(
                "{}: expected rule `{expected}` among violations {violations:#?}",
                f.path.display()
            ));
        }
        let decoded = D::decode(kind, &f.bytes);
        match &decoded {
            Ok(m) => failures.push(format!(
                "{}: invalid fixture accepted: {m:?}",
                f.path.display()
            )),
            Err(e) if e.spec().is_empty() => failures.push(format!(
                "{}: error `{e}` cites no spec section",
                f.path.display()
            )),
            Err(_) => {}
        }
        let error = decoded.err();
        insta::with_settings!({snapshot_path => &snapshots, prepend_module_to_snapshot => false}, {
            insta::assert_debug_snapshot!(format!("invalid-{}", f.name), (error, violations));
        });
    }
    assert!(
        failures.is_empty(),
        "{} fixture failures:\n{}",
        failures.len(),
        failures.join("\n\n")
    );
    (valid.len(), invalid.len())
}

/// Every protocol carries at least this many invalid fixtures.
const MIN_INVALID: usize = 15;

macro_rules! check_protocol {
    ($name:ident, $dialect:ty) => {
        #[test]
        fn $name() {
            let (_, invalid) = check::<$dialect>();
            assert!(
                invalid >= MIN_INVALID,
                "{} has {invalid} invalid fixtures; at least {MIN_INVALID} are required",
                <$dialect as Dialect>::PROTOCOL
            );
        }
    };
}

check_protocol!(socketio_fixtures, protocols::socketio::Transport);
check_protocol!(chatpot_fixtures, protocols::chatpot::Chatpot);
check_protocol!(sockets_fixtures, protocols::sockets::Sockets);
check_protocol!(
    socketcluster_fixtures,
    protocols::socketcluster::SocketCluster
);
check_protocol!(circles_fixtures, protocols::circles::Circles);
check_protocol!(assa_fixtures, protocols::assa::Assa);

/// The README says how many fixtures there are; keep it true.
#[test]
fn readme_states_the_fixture_counts() {
    let (mut valid, mut invalid) = (0, 0);
    for p in Protocol::ALL {
        valid += fixtures(p, "valid").len();
        invalid += fixtures(p, "invalid").len();
    }
    let readme = fs::read_to_string(fixtures_root().join("../README.md")).unwrap();
    let claim = format!("{valid} valid and {invalid} invalid fixtures");
    assert!(readme.contains(&claim), "README.md should say `{claim}`");
}
