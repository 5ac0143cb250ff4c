//! The report as JUnit XML, the format CI systems read: one test suite per
//! protocol, one test case per case.
//!
//! | verdict | JUnit |
//! |---|---|
//! | pass | passed |
//! | fail, timeout | failure |
//! | error | error |
//! | unimplemented | skipped |
//! | non-strict | failure in a strict run, otherwise passed with a note in system-out |
//! | informational | passed with a note in system-out |
//!
//! The reason is the failure's `message`; the reason and the transcript are
//! its text (or the system-out of a case that passed with a note). Each test
//! case carries the properties `level`, `spec` and `verdict`.

use std::collections::BTreeMap;
use std::time::Duration;

use quick_junit::{NonSuccessKind, Property, Report, TestCase, TestCaseStatus, TestSuite};

use crate::case::Verdict;
use crate::report::{CaseResult, RunReport};

use super::{case_class, transcript_text};

/// The JUnit model of a report, for callers that want to add to it.
pub fn report(run: &RunReport) -> Report {
    let mut report = Report::new("chatspec");
    if let Some(d) = duration(run.wall_ms) {
        report.set_time(d);
    }
    let mut suites: BTreeMap<&str, TestSuite> = BTreeMap::new();
    for r in &run.results {
        suites
            .entry(&r.protocol)
            .or_insert_with(|| TestSuite::new(r.protocol.as_str()))
            .add_test_case(test_case(r, run.strict));
    }
    for (_, mut suite) in suites {
        let time: f64 = suite
            .test_cases
            .iter()
            .filter_map(|c| c.time)
            .map(|d| d.as_secs_f64())
            .sum();
        suite.set_time(Duration::from_secs_f64(time));
        report.add_test_suite(suite);
    }
    report
}

/// The report as JUnit XML.
pub fn render(run: &RunReport) -> Result<String, quick_junit::SerializeError> {
    report(run).to_string()
}

fn test_case(r: &CaseResult, strict: bool) -> TestCase {
    let reason = r.reason.as_deref().unwrap_or("");
    let details = || {
        let mut text = format!("{}: {reason}\nspec: {}\n", r.verdict, r.spec);
        if !r.transcript.is_empty() {
            text.push_str("\ntranscript:\n");
            text.push_str(&transcript_text(&r.transcript));
        }
        text
    };
    let non_success = |kind| {
        let mut status = TestCaseStatus::non_success(kind);
        status
            .set_message(reason)
            .set_type(r.verdict.name())
            .set_description(details());
        status
    };
    let mut note = None;
    let status = match r.verdict {
        Verdict::Pass => TestCaseStatus::success(),
        Verdict::Fail | Verdict::Timeout => non_success(NonSuccessKind::Failure),
        Verdict::NonStrict if strict => non_success(NonSuccessKind::Failure),
        Verdict::Error => non_success(NonSuccessKind::Error),
        Verdict::Unimplemented => {
            let mut status = TestCaseStatus::skipped();
            status.set_message(reason).set_type(r.verdict.name());
            note = Some(details());
            status
        }
        Verdict::NonStrict | Verdict::Informational => {
            note = Some(details());
            TestCaseStatus::success()
        }
    };
    let mut case = TestCase::new(r.id.as_str(), status);
    case.set_classname(case_class(&r.id));
    if let Some(d) = duration(r.duration_ms) {
        case.set_time(d);
    }
    case.add_properties([
        Property::new("level", r.level.to_string()),
        Property::new("spec", r.spec.as_str()),
        Property::new("verdict", r.verdict.name()),
    ]);
    if let Some(note) = note {
        case.set_system_out(note);
    }
    case
}

/// Milliseconds as a duration; nothing for a value that is not one.
fn duration(ms: f64) -> Option<Duration> {
    (ms.is_finite() && ms >= 0.0).then(|| Duration::from_secs_f64(ms / 1000.0))
}
