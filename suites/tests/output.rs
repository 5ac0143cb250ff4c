//! The output formats: each rendered from one sample report with every
//! verdict, and read back or searched for what it must (and must not) say.

use std::path::PathBuf;

use suites::case::{Level, Verdict};
use suites::output::{self, Format};
use suites::report::{CaseResult, RunReport};
use suites::transcript::{Direction, Entry};

fn entry(at_ms: f64, conn: u32, dir: Direction, frame: &str) -> Entry {
    Entry {
        at_ms,
        conn,
        dir,
        frame: frame.to_owned(),
    }
}

fn result(
    id: &str,
    level: Level,
    verdict: Verdict,
    reason: Option<&str>,
    spec: &str,
) -> CaseResult {
    let protocol = id.split('.').next().unwrap().to_owned();
    let transcript = if verdict == Verdict::Pass {
        Vec::new()
    } else {
        vec![
            entry(0.0, 1, Direction::Note, "tcp 127.0.0.1:12345"),
            entry(
                1.25,
                1,
                Direction::Out,
                r#"{"action":"CONNECT","seq_id":"c1"}"#,
            ),
            entry(
                3.5,
                1,
                Direction::In,
                r#"{"action":"CONNECT_RESPONSE","success":true}"#,
            ),
        ]
    };
    CaseResult {
        id: id.to_owned(),
        protocol,
        level,
        spec: spec.to_owned(),
        title: format!("what {id} checks"),
        verdict,
        reason: reason.map(str::to_owned),
        duration_ms: 12.5,
        transcript,
    }
}

/// A report with every verdict, three protocols, and a transcript frame and
/// a reason that an unescaping renderer would turn into markup.
pub fn sample_report() -> RunReport {
    let mut fail = result(
        "assa.room.join-broadcasts-user-joined",
        Level::Must,
        Verdict::Fail,
        Some("USER_JOINED never came\nwaited 3000 ms"),
        "004_636ae579ed5d2364.txt §4.2",
    );
    fail.transcript.push(entry(
        4.0,
        2,
        Direction::In,
        r#"{"content":"<script>alert('x')</script> & \"quoted\""}"#,
    ));
    RunReport {
        chatspec: "0.1.0".to_owned(),
        target: "reference server (embedded)".to_owned(),
        started_unix: 1_748_563_200,
        wall_ms: 1234.0,
        strict: false,
        results: vec![
            fail,
            result(
                "assa.room.join-response",
                Level::Must,
                Verdict::Pass,
                None,
                "004_636ae579ed5d2364.txt §4.2",
            ),
            result(
                "assa.ping.server-pings",
                Level::Should,
                Verdict::NonStrict,
                Some("no PING within 30 s"),
                "004_636ae579ed5d2364.txt §8.2",
            ),
            result(
                "socketio.v3.payload.length-prefixed",
                Level::Must,
                Verdict::Unimplemented,
                Some("the target speaks Engine.IO 4 only"),
                "engine.io-protocol v3 §Payload",
            ),
            result(
                "socketio.v4.heartbeat.server-pings",
                Level::Must,
                Verdict::Timeout,
                Some("the case did not finish within 10000 ms"),
                "engine.io-protocol v4 §Heartbeat",
            ),
            result(
                "socketio.v4.handshake.open-packet",
                Level::Must,
                Verdict::Error,
                Some("connection refused"),
                "engine.io-protocol v4 §Handshake",
            ),
            result(
                "sockets.register.ack-true",
                Level::Must,
                Verdict::Pass,
                None,
                "001_13ce220237596520.txt §3.1.4",
            ),
            result(
                "sockets.message.from-corrected",
                Level::Info,
                Verdict::Informational,
                Some("the server kept the claimed name"),
                "specs/README.md §Silent spots: sockets from",
            ),
        ],
    }
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("chatspec-output-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

#[test]
fn format_names_parse_and_unknown_names_list_the_formats() {
    for f in Format::ALL {
        assert_eq!(f.name().parse::<Format>(), Ok(f));
        assert_eq!(f.name().to_uppercase().parse::<Format>(), Ok(f));
    }
    let err = "yaml".parse::<Format>().unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("`yaml`"), "{msg}");
    for f in Format::ALL {
        assert!(msg.contains(f.name()), "{msg} lacks {f}");
    }
}

#[test]
fn table_lists_every_case_not_passed_then_counts_matrix_and_time() {
    let report = sample_report();
    let table = output::table::render(&report, false);
    assert!(!table.contains('\x1b'), "no colour asked, got escapes");
    for r in &report.results {
        let listed = table.lines().any(|l| l.contains(r.id.as_str()));
        assert_eq!(listed, r.verdict != Verdict::Pass, "{} in\n{table}", r.id);
    }
    assert!(table.contains("ran 8 cases in 1.2s: FAILED"), "{table}");
    insta::assert_snapshot!("table_plain", table);
}

#[test]
fn table_colours_only_when_asked() {
    let report = sample_report();
    let coloured = output::table::render(&report, true);
    assert!(coloured.contains("\x1b[1;31mFAIL"), "{coloured}");
    let stripped = strip_ansi(&coloured);
    // Colour codes wrap padded text, so the columns stay where they were.
    assert_eq!(stripped, output::table::render(&report, false));
}

fn strip_ansi(s: &str) -> String {
    let mut out = String::new();
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\x1b' {
            for c in chars.by_ref() {
                if c == 'm' {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[test]
fn table_of_a_run_that_passed_says_ok() {
    let mut report = sample_report();
    report.results.retain(|r| r.verdict == Verdict::Pass);
    let table = output::table::render(&report, false);
    assert!(table.starts_with("verdicts: 2 pass\n"), "{table}");
    assert!(table.ends_with("ran 2 cases in 1.2s: ok\n"), "{table}");
}

#[test]
fn json_reads_back_as_the_same_report() {
    let report = sample_report();
    let json = output::json::render(&report).unwrap();
    let back: RunReport = serde_json::from_str(&json).unwrap();
    assert_eq!(back, report);
    let value: serde_json::Value = serde_json::from_str(&json).unwrap();
    let results = value["results"].as_array().unwrap();
    assert_eq!(results.len(), 8);
    for r in results {
        let passed = r["verdict"] == "pass";
        assert_eq!(r.get("transcript").is_none(), passed, "{r}");
        assert_eq!(r.get("reason").is_none(), passed, "{r}");
    }
    assert_eq!(results[0]["verdict"], "fail");
    assert_eq!(results[0]["level"], "MUST");
}

fn junit(report: &RunReport) -> quick_junit::Report {
    let xml = output::junit::render(report).unwrap();
    quick_junit::Report::deserialize_from_str(&xml).unwrap()
}

#[test]
fn junit_counts_fail_and_timeout_as_failures_error_as_error_unimplemented_as_skipped() {
    let parsed = junit(&sample_report());
    assert_eq!(parsed.tests, 8);
    assert_eq!(parsed.failures, 2, "fail and timeout");
    assert_eq!(parsed.errors, 1);
    assert_eq!(parsed.skipped, 1);
    let suites: Vec<&str> = parsed.test_suites.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(suites, ["assa", "socketio", "sockets"]);
    let assa = &parsed.test_suites[0];
    assert_eq!((assa.tests, assa.failures), (3, 1));
    let fail = assa
        .test_cases
        .iter()
        .find(|c| c.name.as_str() == "assa.room.join-broadcasts-user-joined")
        .unwrap();
    assert_eq!(fail.classname.as_ref().unwrap().as_str(), "assa.room");
    match &fail.status {
        quick_junit::TestCaseStatus::NonSuccess {
            kind,
            message,
            description,
            ..
        } => {
            assert_eq!(*kind, quick_junit::NonSuccessKind::Failure);
            assert!(message
                .as_ref()
                .unwrap()
                .as_str()
                .starts_with("USER_JOINED never came"));
            let text = description.as_ref().unwrap().as_str();
            assert!(text.contains("→ {\"action\":\"CONNECT\""), "{text}");
            assert!(text.contains("<script>alert('x')</script>"), "{text}");
        }
        other => panic!("a fail is a failure, got {other:?}"),
    }
}

#[test]
fn junit_notes_non_strict_and_informational_in_system_out_unless_strict() {
    let mut report = sample_report();
    let parsed = junit(&report);
    let find = |r: &quick_junit::Report, id: &str| {
        r.test_suites
            .iter()
            .flat_map(|s| s.test_cases.iter())
            .find(|c| c.name.as_str() == id)
            .cloned()
            .unwrap()
    };
    for id in ["assa.ping.server-pings", "sockets.message.from-corrected"] {
        let case = find(&parsed, id);
        assert!(
            matches!(case.status, quick_junit::TestCaseStatus::Success { .. }),
            "{id}"
        );
        let out = case.system_out.unwrap();
        assert!(
            out.as_str().contains("transcript:"),
            "{id}: {}",
            out.as_str()
        );
    }
    report.strict = true;
    let strict = junit(&report);
    assert_eq!(
        strict.failures, 3,
        "non-strict is a failure in a strict run"
    );
    let case = find(&strict, "assa.ping.server-pings");
    assert!(matches!(
        case.status,
        quick_junit::TestCaseStatus::NonSuccess { .. }
    ));
}

#[test]
fn html_is_self_contained() {
    let html = output::html::render(&sample_report());
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.trim_end().ends_with("</html>"));
    for asset in [
        "http://", "https://", "src=", "href=", "@import", "url(", "<link",
    ] {
        assert!(!html.contains(asset), "the page refers to `{asset}`");
    }
    assert_eq!(html.matches("<style>").count(), 1);
    assert_eq!(
        html.matches("<script>").count(),
        1,
        "only the page's own script"
    );
}

#[test]
fn html_escapes_transcripts_and_reasons() {
    let html = output::html::render(&sample_report());
    assert!(!html.contains("<script>alert"), "a frame became markup");
    assert!(html.contains(r#"&lt;script&gt;alert('x')&lt;/script&gt; &amp; \"quoted\""#));
    assert!(html.contains("USER_JOINED never came\nwaited 3000 ms"));
}

#[test]
fn html_lists_every_case_with_a_transcript_for_each_not_passed() {
    let report = sample_report();
    let html = output::html::render(&report);
    for r in &report.results {
        let row = format!(
            "<tr class=\"case\" data-verdict=\"{}\" data-id=\"{}\">",
            r.verdict, r.id
        );
        assert_eq!(html.matches(&row).count(), 1, "{row}");
    }
    let not_passed = report
        .results
        .iter()
        .filter(|r| r.verdict != Verdict::Pass)
        .count();
    assert_eq!(html.matches("<details>").count(), not_passed);
    assert!(html.contains("<td class=\"spec\">004_636ae579ed5d2364.txt §4.2</td>"));
    assert!(html.contains("2025-05-30 00:00 UTC"), "start time in UTC");
    // Pass is filtered out at first because some case did not pass.
    assert!(html.contains("<input type=\"checkbox\" value=\"pass\"> pass"));
    assert!(html.contains("<input type=\"checkbox\" value=\"fail\" checked> fail"));
}

#[test]
fn write_all_writes_each_format_once_under_its_name() {
    let dir = scratch("write-all");
    let report = sample_report();
    let paths = output::write_all(
        &report,
        &[
            Format::Html,
            Format::Json,
            Format::Html,
            Format::Junit,
            Format::Table,
        ],
        &dir,
    )
    .unwrap();
    let names: Vec<String> = paths
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        names,
        [
            "chatspec-report.html",
            "chatspec-report.json",
            "chatspec-report.xml",
            "chatspec-report.txt"
        ]
    );
    for (path, format) in
        paths
            .iter()
            .zip([Format::Html, Format::Json, Format::Junit, Format::Table])
    {
        assert_eq!(
            std::fs::read_to_string(path).unwrap(),
            format.render(&report).unwrap()
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn an_empty_report_or_odd_durations_render_in_every_format() {
    let mut report = sample_report();
    report.results.clear();
    for f in Format::ALL {
        let text = f.render(&report).unwrap();
        assert!(!text.is_empty(), "{f}");
    }
    assert!(output::table::render(&report, false).contains("ran 0 cases"));
    assert!(output::html::render(&report).contains("No case ran."));

    // A duration that is not a number must not stop the reports.
    let mut report = sample_report();
    report.wall_ms = f64::NAN;
    report.results[0].duration_ms = -1.0;
    assert!(output::table::render(&report, false).contains("in ?s"));
    let parsed = junit(&report);
    assert_eq!(parsed.tests, 8);
    assert!(parsed.test_suites[0].test_cases[0].time.is_none());
}
