//! Every case can fail: the kill matrix against the embedded reference server.

use std::sync::Arc;
use std::time::Duration;

use suites::case::Verdict;
use suites::killmatrix::{kill_matrix, FaultTarget};
use suites::runner::RunOptions;

use crate::embedded::start;

/// Every case that passes against the reference server is caught by at
/// least one mutation of the server's messages or one fault switch.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_passing_case_is_killed_by_a_mutation_or_a_fault() {
    let (clean, targets) = start(&[]).await;
    let mut servers = Vec::new();
    let mut faults = Vec::new();
    for fault in reference_server::Fault::ALL {
        let (server, targets) = start(&[fault]).await;
        faults.push(FaultTarget {
            fault: fault.as_str().to_owned(),
            targets: Arc::new(targets),
        });
        servers.push(server);
    }
    let options = RunOptions {
        jobs: 4,
        wait: Duration::from_millis(1_000),
        timeout: Duration::from_millis(8_000),
        ..RunOptions::default()
    };
    let cases = suites::cases::all();
    let matrix = kill_matrix(&cases, Arc::new(targets), &faults, &options).await;
    clean.shutdown().await;
    for s in servers {
        s.shutdown().await;
    }
    let passing = matrix
        .rows
        .iter()
        .filter(|r| r.clean == Verdict::Pass)
        .count();
    assert!(
        passing >= 60,
        "only {passing} cases pass clean:\n{}",
        matrix.to_markdown()
    );
    assert!(
        matrix.survivors().is_empty(),
        "cases no mutation or fault kills:\n{}",
        matrix.to_markdown()
    );
}
