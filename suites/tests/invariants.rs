//! Architecture invariants of the drivers and the wire, checked in the sources.

use std::path::{Path, PathBuf};

fn src(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src").join(rel)
}

/// Every `.rs` file of `src/driver/`, with its text up to its unit tests
/// (which may build a mutation to test a driver's codec for it).
fn drivers() -> Vec<(PathBuf, String)> {
    let mut files: Vec<(PathBuf, String)> = std::fs::read_dir(src("driver"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "rs"))
        .map(|p| {
            let text = std::fs::read_to_string(&p).unwrap();
            let code = text.split("#[cfg(test)]").next().unwrap_or_default();
            (p, code.to_owned())
        })
        .collect();
    files.sort();
    assert!(files.len() >= 4, "found only {files:?}");
    files
}

/// Architecture invariant: drivers do not know the case model, so the
/// network fuzzer and the load generator can run them: nothing in
/// `src/driver/` or `src/wire.rs` names the case layer.
#[test]
fn drivers_do_not_depend_on_the_case_model() {
    let mut files = drivers();
    files.push((
        src("wire.rs"),
        std::fs::read_to_string(src("wire.rs")).unwrap(),
    ));
    for (path, text) in files {
        for banned in ["crate::case", "Ctx", "Failure", "Outcome", "crate::cases"] {
            assert!(!text.contains(banned), "{} names {banned}", path.display());
        }
    }
}

/// Architecture invariant: every driver sends and receives through the
/// wire, so none can skip the transcript or the mutation layer: no driver
/// calls either, nor opens a socket or sends a request of its own.
#[test]
fn every_driver_goes_through_the_wire() {
    for (path, text) in drivers() {
        for banned in [
            "transcript.",
            ".transcript",
            "crate::transcript",
            "mutator",
            "Mutator",
            "apply_status",
            "tokio_tungstenite",
            "connect_async",
            "tokio::net",
            "std::net",
            ".send().await",
            "Client::builder",
        ] {
            assert!(
                !text.contains(banned),
                "{} uses {banned}: drivers move bytes through crate::wire",
                path.display()
            );
        }
        let name = path.file_name().unwrap().to_string_lossy();
        if name != "mod.rs" {
            assert!(
                text.contains("crate::wire::") && text.contains("Link"),
                "{} does not run on the wire",
                path.display()
            );
        }
    }
}
