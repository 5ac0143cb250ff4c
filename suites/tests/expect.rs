//! Expectations files: parsing, last-match-wins, the comparison with a run,
//! recording a baseline, and the errors a user gets for a bad file.

use std::path::Path;

use suites::case::Verdict;
use suites::expect::{ExpectError, Expectation, Expectations};

use crate::output::sample_report;

const FILE: &str = r#"
[[expect]]
case = "socketio.*"
verdict = "error"
reason = "the whole socket.io stack is flaky here"

[[expect]]
case = "socketio.v3.*"
verdict = "unimplemented"
reason = "the target speaks Engine.IO 4 only"

[[expect]]
case = "assa.room.join-broadcasts-user-joined"
verdict = "fail"
reason = "known bug: no USER_JOINED"

[[expect]]
case = "circles.*"
verdict = "fail"
reason = "not in this run"
"#;

fn parse(text: &str) -> Result<Expectations, ExpectError> {
    Expectations::parse(text, Path::new("expect.toml"))
}

#[test]
fn the_last_matching_entry_wins_and_unmatched_cases_are_expected_to_pass() {
    let e = parse(FILE).unwrap();
    assert_eq!(e.entries().len(), 4);
    let (v, entry) = e.expected("socketio.v3.payload.length-prefixed");
    assert_eq!(v, Verdict::Unimplemented);
    assert_eq!(entry.unwrap().reason, "the target speaks Engine.IO 4 only");
    assert_eq!(
        e.expected("socketio.v4.heartbeat.server-pings").0,
        Verdict::Error
    );
    assert_eq!(
        e.expected("sockets.register.ack-true"),
        (Verdict::Pass, None)
    );
}

#[test]
fn compare_lists_exactly_the_cases_that_differ() {
    let report = sample_report();
    let cmp = parse(FILE).unwrap().compare(&report);
    let differing: Vec<(&str, Verdict, Verdict)> = cmp
        .differences
        .iter()
        .map(|d| (d.case.as_str(), d.expected, d.actual))
        .collect();
    assert_eq!(
        differing,
        [
            ("assa.ping.server-pings", Verdict::Pass, Verdict::NonStrict),
            (
                "socketio.v4.heartbeat.server-pings",
                Verdict::Error,
                Verdict::Timeout
            ),
            (
                "sockets.message.from-corrected",
                Verdict::Pass,
                Verdict::Informational
            ),
        ]
    );
    assert!(!cmp.matches());
    let stale: Vec<&str> = cmp.stale.iter().map(|e| e.case.as_str()).collect();
    assert_eq!(stale, ["circles.*"]);

    let heartbeat = &cmp.differences[1];
    assert_eq!(heartbeat.entry.as_deref(), Some("socketio.*"));
    assert_eq!(
        heartbeat.expected_reason.as_deref(),
        Some("the whole socket.io stack is flaky here")
    );
    assert_eq!(
        heartbeat.actual_reason.as_deref(),
        Some("the case did not finish within 10000 ms")
    );
    assert!(!heartbeat.is_improvement(false));
    assert!(!cmp.differences[0].is_improvement(false));
}

#[test]
fn an_improvement_is_a_difference_too() {
    let mut report = sample_report();
    report.results[0].verdict = Verdict::Pass;
    report.results[0].reason = None;
    let cmp = parse(FILE).unwrap().compare(&report);
    let d = cmp
        .differences
        .iter()
        .find(|d| d.case == "assa.room.join-broadcasts-user-joined")
        .unwrap();
    assert_eq!((d.expected, d.actual), (Verdict::Fail, Verdict::Pass));
    assert!(d.is_improvement(false));
}

#[test]
fn display_shows_every_difference_with_both_reasons_and_the_stale_entries() {
    let cmp = parse(FILE).unwrap().compare(&sample_report());
    let text = cmp.to_string();
    assert!(
        text.starts_with("3 of 8 cases differ from the expectations:\n"),
        "{text}"
    );
    for d in &cmp.differences {
        assert!(text.contains(&format!("  {}\n", d.case)), "{text}");
    }
    assert!(text.contains("expected error (`socketio.*`: the whole socket.io stack is flaky here)"));
    assert!(text.contains("got      timeout: the case did not finish within 10000 ms"));
    assert!(text.contains("expected pass (no entry matches)"));
    assert!(text.contains(
        "1 expectation matched no case of this run:\n  `circles.*` = fail (not in this run)"
    ));
    insta::assert_snapshot!("comparison", text);
}

#[test]
fn a_recorded_baseline_matches_the_run_it_came_from() {
    let report = sample_report();
    let baseline = Expectations::from_report(&report, "baseline");
    assert_eq!(baseline.entries().len(), 6, "one per case not passed");
    assert_eq!(
        baseline.entries()[0],
        Expectation {
            case: "assa.room.join-broadcasts-user-joined".into(),
            verdict: Verdict::Fail,
            alternatives: Vec::new(),
            reason: "baseline: USER_JOINED never came\nwaited 3000 ms".into(),
        }
    );
    let toml = baseline.to_toml();
    assert!(toml.starts_with("# chatspec expectations"), "{toml}");
    let back = parse(&toml).unwrap();
    assert_eq!(back.entries(), baseline.entries());
    let cmp = back.compare(&report);
    assert!(cmp.matches(), "{cmp}");
    assert!(cmp.stale.is_empty());
    assert_eq!(cmp.to_string(), "all 8 cases got the verdict expected\n");
}

#[test]
fn a_baseline_of_an_id_with_glob_characters_matches_only_that_id() {
    let mut report = sample_report();
    report.results[0].id = "assa.room.odd[1]*".into();
    let baseline = Expectations::from_report(&report, "");
    assert_eq!(baseline.expected("assa.room.odd[1]*").0, Verdict::Fail);
    assert_eq!(baseline.expected("assa.room.odd1x").0, Verdict::Pass);
}

#[test]
fn an_empty_file_expects_every_case_to_pass() {
    let e = parse("").unwrap();
    let cmp = e.compare(&sample_report());
    assert_eq!(cmp.differences.len(), 6);
}

#[test]
fn an_unknown_verdict_names_the_file_line_and_the_verdicts() {
    let text = "[[expect]]\ncase = \"assa.*\"\nverdict = \"failed\"\nreason = \"x\"\n";
    let err = parse(text).unwrap_err();
    assert_eq!(
        err,
        ExpectError::UnknownVerdict {
            path: "expect.toml".into(),
            line: 3,
            entry: 1,
            case: "assa.*".into(),
            verdict: "failed".into(),
        }
    );
    let msg = err.to_string();
    assert!(
        msg.starts_with("expect.toml:3: entry 1 (case `assa.*`): unknown verdict `failed`"),
        "{msg}"
    );
    assert!(msg.contains("pass, non-strict, informational, unimplemented, fail, error, timeout"));
}

#[test]
fn bad_toml_names_the_file_and_shows_the_shape_expected() {
    let err = parse("[[expect]\ncase = 1").unwrap_err();
    assert!(matches!(err, ExpectError::Syntax { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(
        msg.starts_with("expect.toml: not a valid expectations file:"),
        "{msg}"
    );
    assert!(msg.contains("verdict = \"unimplemented\""), "{msg}");
}

#[test]
fn a_missing_reason_or_an_unknown_key_is_refused() {
    let err = parse("[[expect]]\ncase = \"a.*\"\nverdict = \"fail\"\n").unwrap_err();
    assert!(err.to_string().contains("reason"), "{err}");
    let err =
        parse("[[expect]]\ncase = \"a.*\"\nverdict = \"fail\"\nreason = \"r\"\nwhy = \"w\"\n")
            .unwrap_err();
    assert!(err.to_string().contains("why"), "{err}");
    let err = parse("[[expected]]\ncase = \"a.*\"\n").unwrap_err();
    assert!(err.to_string().contains("expected"), "{err}");
}

#[test]
fn a_bad_glob_names_its_line() {
    let text = "[[expect]]\ncase = \"a.*\"\nverdict = \"fail\"\nreason = \"r\"\n\n[[expect]]\ncase = \"assa.[room\"\nverdict = \"fail\"\nreason = \"r\"\n";
    let err = parse(text).unwrap_err();
    match &err {
        ExpectError::BadGlob {
            line, entry, case, ..
        } => {
            assert_eq!((*line, *entry, case.as_str()), (7, 2, "assa.[room"));
        }
        other => panic!("expected a bad glob, got {other:?}"),
    }
    assert!(
        err.to_string().starts_with("expect.toml:7: entry 2:"),
        "{err}"
    );
}

#[test]
fn a_missing_file_is_a_read_error_naming_it() {
    let path = Path::new("no-such-dir/expect.toml");
    let err = Expectations::load(path).unwrap_err();
    assert!(matches!(err, ExpectError::Read { .. }), "{err:?}");
    assert!(
        err.to_string()
            .starts_with("no-such-dir/expect.toml: cannot read"),
        "{err}"
    );
}

#[test]
fn a_list_of_verdicts_accepts_any_of_them_and_reads_back() {
    // A target whose verdict on a case varies from run to run.
    let e = parse(
        r#"
[[expect]]
case = "assa.ping.server-pings"
verdict = ["pass", "non-strict"]
reason = "its pinger races its reader"

[[expect]]
case = "socketio.v4.heartbeat.server-pings"
verdict = ["fail", "error"]
reason = "sometimes closes, sometimes errs"
"#,
    )
    .unwrap();
    assert_eq!(e.entries()[0].verdict, Verdict::Pass);
    assert_eq!(e.entries()[0].alternatives, [Verdict::NonStrict]);
    assert_eq!(e.entries()[0].verdicts(), "pass or non-strict");
    let cmp = e.compare(&sample_report());
    let differing: Vec<&str> = cmp.differences.iter().map(|d| d.case.as_str()).collect();
    // NonStrict is accepted; Timeout is neither Fail nor Error.
    assert!(!differing.contains(&"assa.ping.server-pings"), "{cmp}");
    assert!(
        differing.contains(&"socketio.v4.heartbeat.server-pings"),
        "{cmp}"
    );
    assert!(cmp.to_string().contains("expected fail or error"), "{cmp}");
    let back = parse(&e.to_toml()).unwrap();
    assert_eq!(back.entries(), e.entries());
}

#[test]
fn an_empty_list_of_verdicts_is_refused_with_its_line() {
    let err = parse("[[expect]]\ncase = \"x.*\"\nverdict = []\nreason = \"?\"\n").unwrap_err();
    let message = err.to_string();
    assert!(message.contains("expect.toml:3"), "{message}");
    assert!(message.contains("or a list of them"), "{message}");
}
