//! End-to-end tests of the `chatspec` binary.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn chatspec(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_chatspec"))
        .args(args)
        .output()
        .expect("chatspec runs")
}

fn fixture_files(protocol: &str, class: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(protocol)
        .join(class);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        // A `@kind` fixture needs its kind on the command line; these tests read kind-less ones.
        .filter(|p| !p.to_str().unwrap().contains('@'))
        .collect();
    files.sort();
    files
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn validate_accepts_every_valid_assa_fixture_in_one_call() {
    let files = fixture_files("assa", "valid");
    assert!(
        files.len() >= 30,
        "expected the document's examples, found {}",
        files.len()
    );
    let mut args = vec!["validate", "--protocol", "assa"];
    args.extend(files.iter().map(|p| p.to_str().unwrap()));
    let out = chatspec(&args);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        stdout(&out),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(stdout(&out).matches(": valid").count(), files.len());
}

#[test]
fn validate_reports_rule_field_and_section_of_an_invalid_message() {
    let files = fixture_files("assa", "invalid");
    let file = &files[0];
    let expected_rule = std::fs::read_to_string(file.with_extension("expect")).unwrap();
    let out = chatspec(&["validate", "-p", "assa", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    let text = stdout(&out);
    assert!(
        text.contains(&format!("[{}]", expected_rule.trim())),
        "{text}"
    );
    assert!(
        text.contains("004_636ae579ed5d2364.txt §"),
        "no spec section in: {text}"
    );
}

#[test]
fn validate_reads_a_stream_and_reports_every_message() {
    // Two valid messages and one broken one, concatenated without separators.
    let valid = std::fs::read_to_string(&fixture_files("assa", "valid")[0]).unwrap();
    let stream = format!("{valid}\n{valid}{{\"action\":\"PING\",\"seq_id\":\"p\"}}");
    let dir = std::env::temp_dir().join(format!("chatspec-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("stream.json");
    std::fs::write(&path, stream).unwrap();
    let out = chatspec(&["validate", "-p", "assa", "--json", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    let lines: Vec<serde_json::Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3, "{lines:#?}");
    assert_eq!(lines[0]["valid"], true);
    assert_eq!(lines[1]["valid"], true);
    assert_eq!(lines[2]["valid"], false);
    // The PING lacks its required timestamp (§2.2).
    let fields: Vec<&str> = lines[2]["violations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["field"].as_str().unwrap())
        .collect();
    assert!(fields.contains(&"timestamp"), "{fields:?}");
}

#[test]
fn validate_usage_errors_exit_2_with_a_message() {
    let out = chatspec(&["validate", "--protocol", "xmpp", "x.json"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("expected one of socketio"));

    let out = chatspec(&["validate", "--protocol", "assa", "no/such/file.json"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot read no/such/file.json"));
}

#[test]
fn validate_refuses_an_unknown_kind_as_a_usage_error_listing_the_kinds() {
    let file = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/assa/valid/s4.2-join-room-request.json");
    let out = chatspec(&[
        "validate",
        "-p",
        "assa",
        "--kind",
        "sideways",
        file.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr
            .contains("unknown kind `sideways` for assa; its kinds are: client, server, envelope"),
        "{stderr}"
    );
    assert!(stdout(&out).is_empty(), "no violation is printed");

    let out = chatspec(&[
        "validate",
        "-p",
        "assa",
        "--kind",
        "client",
        file.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
}

#[test]
fn rules_lists_every_rule_with_its_section_and_description() {
    let out = chatspec(&["rules", "--protocol", "assa"]);
    assert_eq!(out.status.code(), Some(0));
    let text = stdout(&out);
    let line = text
        .lines()
        .find(|l| l.split_whitespace().nth(1) == Some("message-too-long"))
        .unwrap_or_else(|| panic!("no message-too-long in:\n{text}"));
    assert!(
        line.starts_with("assa ")
            && line.contains("004_636ae579ed5d2364.txt §10.1")
            && line.contains("5,000 characters"),
        "{line}"
    );
    assert!(text.lines().all(|l| l.starts_with("assa ")), "{text}");

    let out = chatspec(&["rules", "--json"]);
    assert_eq!(out.status.code(), Some(0));
    let rows: Vec<serde_json::Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    for protocol in [
        "socketio",
        "chatpot",
        "sockets",
        "socketcluster",
        "circles",
        "assa",
    ] {
        assert!(
            rows.iter()
                .any(|r| r["protocol"] == protocol && r["rule"] == "missing-field"),
            "{protocol} lists missing-field"
        );
    }
    assert!(rows
        .iter()
        .all(|r| r["spec"].as_str().is_some_and(|s| !s.is_empty())));
}

#[test]
fn serve_unknown_fault_exits_2_listing_the_faults_by_listener() {
    let out = chatspec(&["serve", "--fault", "no-ack"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains(r#"unknown fault "no-ack""#), "{stderr}");
    assert!(stderr.contains("echo:no-ack"), "{stderr}");
}

#[test]
fn serve_with_every_implemented_listener_disabled_names_them_and_exits_2() {
    let dir = scratch("serve-disabled");
    let config = dir.join("server.toml");
    std::fs::write(
        &config,
        "[listeners.chatpot]\nport = 0\nenabled = false\n\
         [listeners.echo]\nport = 0\nenabled = false\n\
         [listeners.assa]\nport = 0\nenabled = false\n\
         [listeners.socketcluster]\nport = 0\nenabled = false\n\
         [listeners.sockets]\nport = 0\nenabled = false\n\
         [listeners.circles]\nport = 0\nenabled = false\n\
         [listeners.admin]\nport = 0\nenabled = false\n",
    )
    .unwrap();
    let out = chatspec(&["serve", "--config", config.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(
            "nothing to serve: every implemented listener \
             (chatpot, sockets, circles, socketcluster, socketcluster-v2, socketcluster-limits, assa, assa-limits, echo, admin) \
             is disabled"
        ),
        "{stderr}"
    );
    assert!(!stderr.contains("not implemented yet"), "{stderr}");
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("chatspec-cli-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn cases_lists_every_case_with_level_and_section() {
    let out = chatspec(&["cases", "--protocol", "socketio"]);
    assert_eq!(out.status.code(), Some(0));
    let text = stdout(&out);
    let line = text
        .lines()
        .find(|l| l.starts_with("socketio.v4.heartbeat.server-pings "))
        .unwrap_or_else(|| panic!("no heartbeat case in:\n{text}"));
    assert!(
        line.contains("MUST") && line.contains("engine.io-protocol v4 §Heartbeat"),
        "{line}"
    );
    let count: usize = text
        .lines()
        .last()
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(count, text.lines().count() - 1);
}

#[test]
fn cases_json_gives_every_case_with_its_title() {
    let out = chatspec(&["cases", "--json"]);
    assert_eq!(out.status.code(), Some(0));
    let cases: Vec<serde_json::Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let table = stdout(&chatspec(&["cases"]));
    assert_eq!(cases.len(), table.lines().count() - 1);
    let heartbeat = cases
        .iter()
        .find(|c| c["id"] == "socketio.v4.heartbeat.server-pings")
        .unwrap_or_else(|| panic!("no heartbeat case in {cases:?}"));
    assert_eq!(heartbeat["protocol"], "socketio");
    assert_eq!(heartbeat["level"], "MUST");
    assert_eq!(heartbeat["spec"], "engine.io-protocol v4 §Heartbeat");
    assert!(heartbeat["title"]
        .as_str()
        .is_some_and(|t| t.contains("pingInterval")));
}

#[test]
fn run_against_the_embedded_server_writes_every_report_format() {
    let out_dir = scratch("formats");
    let out = chatspec(&[
        "run",
        "--case",
        "socketio.v4.event.*",
        "--case",
        "socketio.v3.ack.*",
        "--format",
        "json",
        "--format",
        "junit",
        "--format",
        "html",
        "--out",
        out_dir.to_str().unwrap(),
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        stdout(&out),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout(&out).contains("ran 3 cases"), "{}", stdout(&out));
    let json: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(out_dir.join("chatspec-report.json")).unwrap(),
    )
    .unwrap();
    let ids: Vec<&str> = json["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        [
            "socketio.v3.ack.message-with-ack",
            "socketio.v4.event.message-back",
            "socketio.v4.event.message-back-polling"
        ]
    );
    let junit = std::fs::read_to_string(out_dir.join("chatspec-report.xml")).unwrap();
    assert_eq!(junit.matches("<testcase").count(), 3, "{junit}");
    let html = std::fs::read_to_string(out_dir.join("chatspec-report.html")).unwrap();
    assert!(html.contains("socketio.v4.event.message-back-polling"));
}

#[test]
fn run_against_the_embedded_server_ignores_secrets_in_the_environment() {
    // The embedded server names its secrets and its targets are built with
    // them: secrets a user's shell exports for `chatspec serve` change nothing.
    let out = Command::new(env!("CARGO_BIN_EXE_chatspec"))
        .args([
            "run",
            "--case",
            "assa.connect.*",
            "--case",
            "socketcluster.auth.*",
        ])
        .args(["--case", "assa.announce.*"])
        .env("CHATSPEC_JWT_SECRET", "a-secret-of-the-environment")
        .env(
            "CHATSPEC_ADMIN_SECRET",
            "an-admin-secret-of-the-environment",
        )
        .output()
        .expect("chatspec runs");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        stdout(&out),
        String::from_utf8_lossy(&out.stderr)
    );
    // Every case that mints a token or calls the admin API ran.
    let ran = stdout(&out)
        .split("ran ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next()?.parse::<usize>().ok());
    assert!(ran.is_some_and(|n| n >= 15), "{}", stdout(&out));
}

#[test]
fn run_reports_an_unreachable_target_as_usage_error() {
    // Port 9 (discard) is closed on loopback here.
    let out = chatspec(&["run", "--target", "socketio=http://127.0.0.1:9", "--quiet"]);
    assert_eq!(out.status.code(), Some(2), "{}", stdout(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("cannot reach the socketio target http://127.0.0.1:9"),
        "{err}"
    );
    let out = chatspec(&["run", "--target", "socketio", "--quiet"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("expected PROTOCOL=URL"));
}

#[test]
fn run_with_expectations_exits_1_and_names_every_difference() {
    let dir = scratch("expect");
    let expect = dir.join("expect.toml");
    std::fs::write(
        &expect,
        "[[expect]]\ncase = \"socketio.v4.event.message-back\"\nverdict = \"fail\"\nreason = \"pretend it is broken\"\n",
    )
    .unwrap();
    let out = chatspec(&[
        "run",
        "--case",
        "socketio.v4.event.*",
        "--quiet",
        "--expect",
        expect.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    let text = stdout(&out);
    assert!(text.contains("socketio.v4.event.message-back"), "{text}");
    assert!(
        !text.contains("socketio.v4.event.message-back-polling"),
        "only the differing case is listed: {text}"
    );

    // The same run against a file that expects what happens matches: exit 0.
    std::fs::write(&expect, "# every case passes\n").unwrap();
    let out = chatspec(&[
        "run",
        "--case",
        "socketio.v4.event.*",
        "--quiet",
        "--expect",
        expect.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
}

/// `PEER=peer scripts/run-peer.sh` with this build of chatspec, `env` added.
/// The peer's runtime must be installed: these tests do not skip without it.
fn run_peer(peer: &str, env: &[(&str, &str)]) -> Output {
    let (runtime, what) = match peer {
        "node" => ("node", "Node.js 18 or newer to run the Node socket.io peer"),
        "socketcluster" => (
            "node",
            "Node.js 18 or newer to run the socketcluster-server peer",
        ),
        "python" => (
            "python3",
            "Python 3.9 or newer with its venv module to run the python-socketio peer",
        ),
        "socketioxide" => ("cargo", "Rust to build the socketioxide peer"),
        other => panic!("no peer {other}"),
    };
    let out = Command::new(runtime).arg("--version").output();
    assert!(
        out.as_ref().is_ok_and(|o| o.status.success()),
        "`{runtime}` is not on PATH ({:?}): install {what} (CI installs it); this test does \
         not skip without it",
        out.err()
    );
    Command::new("bash")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/run-peer.sh"))
        .env("CHATSPEC", env!("CARGO_BIN_EXE_chatspec"))
        .env("PEER", peer)
        .envs(env.iter().copied())
        .output()
        .expect("scripts/run-peer.sh runs")
}

#[test]
fn node_socketio_peer_matches_its_expectations_and_a_wrong_file_is_noticed() {
    // The run against the known differences (into a scratch folder: the
    // published reports/socketio-node/ is written by running the script by hand).
    let published = scratch("peer-run");
    let out = run_peer("node", &[("PEER_OUT", published.to_str().unwrap())]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "the Node peer's run differs from reports/expectations/socketio-node.toml:\n{}{}",
        stdout(&out),
        String::from_utf8_lossy(&out.stderr)
    );

    // The same run against a file claiming every case passes must fail, and
    // name a known difference: the script passes chatspec's verdict through.
    let dir = std::env::temp_dir().join(format!("chatspec-peer-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let all_pass = dir.join("all-pass.toml");
    std::fs::write(&all_pass, "").unwrap();
    let out = run_peer(
        "node",
        &[
            ("PEER_EXPECT", all_pass.to_str().unwrap()),
            ("PEER_OUT", dir.join("out").to_str().unwrap()),
        ],
    );
    let text = format!("{}{}", stdout(&out), String::from_utf8_lossy(&out.stderr));
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("socketio.v4.handshake.bad-eio-400"),
        "the difference is not named: {text}"
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn socketioxide_peer_matches_its_expectations() {
    // The reference server's former echo app: its findings stay reported,
    // among them the binary answer to a pending poll written without
    // separators (into a scratch folder: the published reports/socketioxide/
    // is written by running the script by hand).
    let published = scratch("socketioxide-peer-run");
    let out = run_peer("socketioxide", &[("PEER_OUT", published.to_str().unwrap())]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "the socketioxide peer's run differs from \
         reports/expectations/socketioxide.toml:\n{}{}",
        stdout(&out),
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(published.join("chatspec-report.json")).unwrap(),
    )
    .unwrap();
    let verdict = |id: &str| {
        json["results"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["id"] == id)
            .map(|r| r["verdict"].clone())
    };
    assert_eq!(
        verdict("socketio.v4.polling.binary-round-trip"),
        Some(serde_json::json!("fail")),
        "the pending-poll bug of engineioxide 0.15.2 is no longer noticed"
    );
}

#[test]
fn socketcluster_server_peer_matches_its_expectations() {
    // The socketcluster suite against socketcluster-server 20 (protocol version 1) and its
    // known differences (into a scratch folder: reports/socketcluster-node/ is written by hand).
    let published = scratch("socketcluster-peer-run");
    let out = run_peer(
        "socketcluster",
        &[("PEER_OUT", published.to_str().unwrap())],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "the socketcluster-server peer's run differs from \
         reports/expectations/socketcluster-node.toml:\n{}{}",
        stdout(&out),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn python_socketio_peer_matches_its_expectations() {
    // The run against python-socketio's known differences, Engine.IO 4 only
    // (into a scratch folder: the published reports/socketio-python/ is
    // written by running the script by hand).
    let published = scratch("python-peer-run");
    let out = run_peer("python", &[("PEER_OUT", published.to_str().unwrap())]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "the python-socketio peer's run differs from \
         reports/expectations/socketio-python.toml:\n{}{}",
        stdout(&out),
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(published.join("chatspec-report.json")).unwrap(),
    )
    .unwrap();
    let results = json["results"].as_array().unwrap();
    // Engine.IO 3 is configured off: every v3 case, and only those, is unimplemented.
    assert!(
        results
            .iter()
            .any(|r| r["id"].as_str().unwrap().starts_with("socketio.v3.")),
        "the v3 cases are reported"
    );
    for r in results {
        let id = r["id"].as_str().unwrap();
        assert_eq!(
            r["verdict"] == "unimplemented",
            id.starts_with("socketio.v3."),
            "{id}: {}",
            r["verdict"]
        );
    }
    std::fs::remove_dir_all(&published).ok();
}

#[test]
fn fuzz_a_protocol_without_a_fuzzer_is_a_usage_error_naming_those_with_one() {
    let out = chatspec(&["fuzz", "--protocol", "chatpot", "--count", "1"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("no fuzzer for chatpot") && err.contains("socketio, assa"),
        "{err}"
    );
}

#[test]
fn fuzz_the_embedded_assa_server_writes_its_summary_and_replays_an_input() {
    let dir = scratch("fuzz-assa");
    let out = chatspec(&[
        "fuzz",
        "--protocol",
        "assa",
        "--seed",
        "3",
        "--count",
        "15",
        "--quiet",
        "--out",
        dir.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert!(
        stdout(&out).contains("fuzz assa: 15 inputs"),
        "{}",
        stdout(&out)
    );
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("summary.json")).unwrap()).unwrap();
    assert_eq!(
        (summary["inputs"].as_u64(), summary["seed"].as_u64()),
        (Some(15), Some(3))
    );
    assert!(std::fs::read_to_string(dir.join("summary.md"))
        .unwrap()
        .contains("## Findings: 0"));

    let input = dir.join("input.json");
    std::fs::write(
        &input,
        r#"{"protocol":"assa","class":"grammar","steps":[{"via":"text","text":"{\"action\":1}"}]}"#,
    )
    .unwrap();
    let out = chatspec(&[
        "fuzz",
        "--protocol",
        "assa",
        "--replay",
        input.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert!(stdout(&out).contains("replay: no oracle fired"));
    let out = chatspec(&[
        "fuzz",
        "--protocol",
        "socketio",
        "--replay",
        input.to_str().unwrap(),
    ]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "a replay of another protocol's input is refused"
    );
    std::fs::write(
        &input,
        r#"{"protocol":"assa","class":"truncated-frame","steps":[{"via":"tcp","hex":"7b2g"}]}"#,
    )
    .unwrap();
    let out = chatspec(&[
        "fuzz",
        "--protocol",
        "assa",
        "--replay",
        input.to_str().unwrap(),
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "bad hex is refused: {err}");
    assert!(
        err.contains("step 1") && err.contains("not a hex digit at offset 3"),
        "the error says what is wrong: {err}"
    );
}

/// `chatspec bench` against the embedded server writes its reports, and
/// `bench merge` refuses a shard given twice.
#[test]
fn bench_writes_its_reports_and_merge_refuses_a_shard_twice() {
    let dir = std::env::temp_dir().join(format!("chatspec-cli-bench-{}", std::process::id()));
    let out = dir.join("run");
    let o = chatspec(&[
        "bench",
        "echo",
        "--clients",
        "2",
        "--messages",
        "20",
        "--warmup",
        "0s",
        "--duration",
        "3s",
        "--quiet",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(stdout(&o).contains("lost 0"), "{}", stdout(&o));
    for file in ["results.json", "report.md", "latency.svg", "timeline.svg"] {
        assert!(out.join(file).is_file(), "no {file}");
    }
    let merged = dir.join("merged");
    let o = chatspec(&[
        "bench",
        "merge",
        out.to_str().unwrap(),
        out.to_str().unwrap(),
        "--out",
        merged.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stdout(&o));
    assert!(String::from_utf8_lossy(&o.stderr).contains("given twice"));
    let o = chatspec(&["bench", "echo", "-p", "assa", "--clients", "2", "--quiet"]);
    assert_eq!(o.status.code(), Some(2), "ASSA has no echo request");
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("no echo"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// `bench echo --baseline` with an open-loop ramp, and ASSA room messages
/// against the embedded server: both run and lose nothing.
#[test]
fn bench_runs_the_baseline_with_a_ramp_and_assa_room_messages() {
    let dir = std::env::temp_dir().join(format!("chatspec-cli-bench-tcp-{}", std::process::id()));
    let short = ["--warmup", "0s", "--duration", "1s", "--quiet"];
    let baseline = dir.join("baseline");
    let mut args = vec!["bench", "echo", "--baseline", "--clients", "4"];
    args.extend(["--rate", "200..800", "--steps", "2", "--out"]);
    args.push(baseline.to_str().unwrap());
    args.extend(short);
    let o = chatspec(&args);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(stdout(&o).contains("baseline echo:"), "{}", stdout(&o));
    assert!(stdout(&o).contains("lost 0"), "{}", stdout(&o));
    let report = std::fs::read_to_string(baseline.join("report.md")).unwrap();
    assert!(report.contains("a ramp from 200/s to 800/s"), "{report}");
    let assa = dir.join("assa");
    let mut args = vec![
        "bench",
        "fanout",
        "-p",
        "assa",
        "--rooms",
        "2",
        "--members",
        "3",
    ];
    args.extend(["--senders", "2", "--window", "4", "--out"]);
    args.push(assa.to_str().unwrap());
    args.extend(short);
    let o = chatspec(&args);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(stdout(&o).contains("assa fanout:"), "{}", stdout(&o));
    assert!(stdout(&o).contains("lost 0, errors {}"), "{}", stdout(&o));
    let _ = std::fs::remove_dir_all(&dir);
}
