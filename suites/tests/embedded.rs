//! Every suite against the embedded reference server, in process.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use suites::expect::Expectations;
use suites::runner::{run, RunOptions};
use suites::target::Targets;

/// The running server `server` as the suites see it.
pub fn reference(server: &reference_server::Running) -> suites::target::Reference {
    suites::target::Reference {
        listeners: server.addrs.named(),
        jwt_secret: server.secrets.jwt.clone(),
        admin_secret: server.secrets.admin.clone(),
        turn_secret: server.secrets.turn.clone(),
    }
}

/// Starts the reference server on free loopback ports with `faults` on, and
/// the targets the suite registry points at its listeners.
pub async fn start(faults: &[reference_server::Fault]) -> (reference_server::Running, Targets) {
    let mut config = reference_server::Config::embedded();
    config.faults = faults.to_vec();
    let server = reference_server::start(config)
        .await
        .expect("the reference server starts");
    let targets =
        suites::registry::embedded_targets("reference server (embedded)", &reference(&server));
    for suite in suites::registry::SUITES {
        assert!(
            targets.has(suite.protocol),
            "the reference server gives the {} suite no target",
            suite.protocol
        );
    }
    (server, targets)
}

/// The reference server passes every case but the deviations its expectations file lists.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reference_server_matches_its_expectations() {
    let (server, targets) = start(&[]).await;
    let cases = suites::cases::all();
    assert!(cases.len() >= 70, "only {} cases", cases.len());
    let options = RunOptions {
        jobs: 4,
        timeout: Duration::from_secs(15),
        ..RunOptions::default()
    };
    let report = run(&cases, Arc::new(targets), "reference server", &options).await;
    server.shutdown().await;
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../reports/expectations/reference-server.toml");
    let expectations = Expectations::load(&path).expect("the expectations file loads");
    // A verdict of ours that varies from run to run is a bug to fix, never an entry.
    for e in expectations.entries() {
        assert!(
            e.alternatives.is_empty(),
            "{}: `{}` accepts {}: the reference server's verdicts do not vary",
            path.display(),
            e.case,
            e.verdicts()
        );
    }
    let comparison = expectations.compare(&report);
    assert!(
        comparison.matches(),
        "the run differs from {}:\n{comparison}\n{}",
        path.display(),
        suites::output::table::render(&report, false)
    );
}

/// The assa suite passes against a reference server that frames every
/// message with a 4-byte length, the target saying so (the cases that need
/// a JSON stream are `unimplemented` there).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_assa_suite_passes_with_length_prefixes() {
    use suites::case::Verdict;
    use suites::target::{AssaFraming, AssaTarget};
    let mut config = reference_server::Config::embedded();
    config.assa.framing = reference_server::assa::FramingName::LengthPrefixed;
    let server = reference_server::start(config)
        .await
        .expect("the reference server starts");
    let mut targets = suites::registry::embedded_targets(
        "reference server (length-prefixed)",
        &reference(&server),
    );
    let mut section = targets
        .get::<AssaTarget>()
        .expect("an assa section")
        .clone();
    section.framing = AssaFraming::LengthPrefixed;
    targets.insert(section);
    let cases: Vec<_> = suites::cases::all()
        .into_iter()
        .filter(|c| c.id.starts_with("assa."))
        .collect();
    let options = RunOptions {
        jobs: 4,
        timeout: Duration::from_secs(15),
        ..RunOptions::default()
    };
    let report = run(&cases, Arc::new(targets), "reference server", &options).await;
    server.shutdown().await;
    let unexpected: Vec<_> = report
        .results
        .iter()
        .filter(|r| {
            let stream_only =
                r.id.starts_with("assa.framing.") || r.id == "assa.error.broken-json-closes";
            r.verdict
                != if stream_only {
                    Verdict::Unimplemented
                } else {
                    Verdict::Pass
                }
        })
        .collect();
    assert!(
        unexpected.is_empty(),
        "{}",
        suites::output::table::render(&report, false)
    );
}

/// The circles TURN cases check the password against the secret the
/// reference server runs with, not its default: a server configured with
/// another secret still passes them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_circles_turn_cases_use_the_running_servers_secret() {
    use suites::case::Verdict;
    let mut config = reference_server::Config::embedded();
    config.circles.turn_secret = "a-turn-secret-of-this-server".to_owned();
    let server = reference_server::start(config)
        .await
        .expect("the reference server starts");
    let targets = suites::registry::embedded_targets("reference server", &reference(&server));
    let cases: Vec<_> = suites::cases::all()
        .into_iter()
        .filter(|c| c.id.starts_with("circles.") && c.id.contains(".webrtc.credentials"))
        .collect();
    assert!(!cases.is_empty(), "no circles.webrtc.credentials case");
    let report = run(
        &cases,
        Arc::new(targets),
        "reference server",
        &RunOptions::default(),
    )
    .await;
    server.shutdown().await;
    assert!(
        report.results.iter().all(|r| r.verdict == Verdict::Pass),
        "{}",
        suites::output::table::render(&report, false)
    );
}
