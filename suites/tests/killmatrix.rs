//! Every case can fail: the kill matrix against the embedded reference server.

use std::sync::Arc;
use std::time::Duration;

use protocols::Protocol;
use suites::case::Verdict;
use suites::killmatrix::{kill_matrix, kill_matrix_with, Extent, FaultTarget};
use suites::runner::RunOptions;
use suites::target::Targets;

use crate::embedded::start;

/// Every case that passes against the reference server is caught by at
/// least one mutation of the server's messages or one fault switch.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_passing_case_is_killed_by_a_mutation_or_a_fault() {
    let (clean, targets) = start(&[]).await;
    let mut servers = Vec::new();
    let mut faults = Vec::new();
    for listener in reference_server::listeners() {
        for fault in listener.faults() {
            let (server, targets) = start(&[fault]).await;
            faults.push(FaultTarget {
                fault: fault.as_str().to_owned(),
                protocol: listener.protocol(),
                targets: Arc::new(targets),
            });
            servers.push(server);
        }
    }
    let options = RunOptions {
        jobs: 4,
        wait: Duration::from_millis(1_000),
        timeout: Duration::from_millis(8_000),
        ..RunOptions::default()
    };
    let cases = suites::cases::all();
    // Survivors are all this test needs: each row stops at its first kill
    // (`chatspec kill-matrix` publishes the full matrix).
    let matrix = kill_matrix_with(
        &cases,
        Arc::new(targets),
        &faults,
        &options,
        Extent::FirstKill,
    )
    .await;
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

/// A fault of another protocol's listener is never run against a case: its
/// column is not applicable. A fault of the case's own protocol is run.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fault_runs_only_against_the_cases_of_its_protocol() {
    let (clean, targets) = start(&[]).await;
    let cases: Vec<_> = suites::cases::all()
        .into_iter()
        .filter(|c| c.id == "socketio.v4.handshake.polling-open-packet")
        .collect();
    assert_eq!(cases.len(), 1);
    // Neither fault target has a socketio server: a case run against one cannot pass.
    let nowhere = Arc::new(Targets::default());
    let faults = [
        FaultTarget {
            fault: "chatpot:other".into(),
            protocol: Protocol::Chatpot,
            targets: nowhere.clone(),
        },
        FaultTarget {
            fault: "echo:own".into(),
            protocol: Protocol::Socketio,
            targets: nowhere,
        },
    ];
    let options = RunOptions {
        jobs: 1,
        wait: Duration::from_millis(1_000),
        timeout: Duration::from_millis(8_000),
        ..RunOptions::default()
    };
    let targets = Arc::new(targets);
    let matrix = kill_matrix(&cases, targets.clone(), &faults, &options).await;
    // Stopping at the first kill tries the case's own faults first: the
    // faulty target is the only killer named.
    let first = kill_matrix_with(&cases, targets, &faults, &options, Extent::FirstKill).await;
    clean.shutdown().await;
    assert_eq!(
        first.rows[0].killed_by,
        std::collections::BTreeMap::from([("fault:echo:own".to_owned(), None)]),
        "{}",
        first.to_markdown()
    );
    let row = &matrix.rows[0];
    assert_eq!(row.clean, Verdict::Pass, "{}", matrix.to_markdown());
    assert!(
        !row.killed_by.contains_key("fault:chatpot:other"),
        "{row:?}"
    );
    assert!(
        row.not_applicable
            .iter()
            .any(|c| c == "fault:chatpot:other"),
        "{row:?}"
    );
    assert_eq!(row.killed_by.get("fault:echo:own"), Some(&None), "{row:?}");
}
