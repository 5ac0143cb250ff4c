//! Architecture invariants of `protocols`, checked.

use std::process::Command;

/// `protocols` is sans-IO: nothing in its dependency tree is tokio.
#[test]
fn dependency_tree_has_no_tokio() {
    let output = Command::new(env!("CARGO"))
        .args([
            "tree",
            "--edges",
            "normal",
            "--prefix",
            "none",
            "--package",
            "chatspec-protocols",
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
    for banned in ["tokio", "mio", "async-std", "socket2"] {
        assert!(
            !tree
                .lines()
                .any(|l| l.split_whitespace().next() == Some(banned)),
            "protocols depends on {banned}:\n{tree}"
        );
    }
}

/// `protocols` never reads the clock nor touches the network or the file
/// system: no source file under `src/` names those APIs.
#[test]
fn sources_never_read_the_clock() {
    fn walk(dir: &std::path::Path, files: &mut Vec<std::path::PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, files);
            } else if path.extension().is_some_and(|e| e == "rs") {
                files.push(path);
            }
        }
    }
    let mut files = Vec::new();
    walk(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
        &mut files,
    );
    assert!(files.len() >= 8, "found only {files:?}");
    for path in files {
        let text = std::fs::read_to_string(&path).unwrap();
        for banned in [
            "SystemTime::now",
            "Instant::now",
            "std::net",
            "std::fs",
            "tokio::",
        ] {
            assert!(!text.contains(banned), "{} uses {banned}", path.display());
        }
    }
}
