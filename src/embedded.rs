//! Wiring between the suites and the reference server: the embedded target,
//! the faulty servers of the kill matrix, and the reachability check.

use std::sync::Arc;
use std::time::Duration;

use reference_server::{Config, Fault, Running};
use suites::case::Case;
use suites::killmatrix::{FaultTarget, KillMatrix};
use suites::runner::RunOptions;
use suites::target::{Reference, Targets};

/// A reference server started in process, and the targets pointing at it.
pub struct Embedded {
    server: Running,
    /// Where its protocols are.
    pub targets: Targets,
}

impl Embedded {
    /// Stops the server.
    pub async fn shutdown(self) {
        self.server.shutdown().await;
    }
}

/// Starts the reference server on free loopback ports with `faults` on.
pub async fn start(faults: &[Fault]) -> anyhow::Result<Embedded> {
    let mut config = Config::embedded();
    config.faults = faults.to_vec();
    let server = reference_server::start(config).await?;
    let targets = suites::registry::embedded_targets(
        "chatspec reference server (embedded)",
        &reference(&server),
    );
    Ok(Embedded { server, targets })
}

/// A running reference server as the suites see it: its listeners and the
/// secrets it runs with.
pub fn reference(server: &Running) -> Reference {
    Reference {
        listeners: server.addrs.named(),
        jwt_secret: server.secrets.jwt.clone(),
        admin_secret: server.secrets.admin.clone(),
        turn_secret: server.secrets.turn.clone(),
    }
}

/// Fails with a clear message when a target's port cannot be reached.
pub async fn check_reachable(targets: &Targets) -> anyhow::Result<()> {
    for (protocol, section) in targets.sections() {
        let url = section.url();
        let what = || format!("cannot reach the {protocol} target {url}");
        let connect = tokio::net::TcpStream::connect(suites::target::host_port(url));
        match tokio::time::timeout(Duration::from_secs(5), connect).await {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => anyhow::bail!("{}: {e}; is the server running?", what()),
            Err(_) => anyhow::bail!("{}: no answer within 5 s", what()),
        }
    }
    Ok(())
}

/// The kill matrix of `cases` against the embedded server, with one faulty
/// server per fault switch of every listener, run against the cases of that
/// listener's protocol.
pub async fn kill_matrix(cases: &[Case], options: &RunOptions) -> anyhow::Result<KillMatrix> {
    let clean = start(&[]).await?;
    let mut faulty = Vec::new();
    for listener in reference_server::listeners() {
        for fault in listener.faults() {
            faulty.push((fault, listener.protocol(), start(&[fault]).await?));
        }
    }
    let faults: Vec<FaultTarget> = faulty
        .iter()
        .map(|(fault, protocol, e)| FaultTarget {
            fault: fault.as_str().to_owned(),
            protocol: *protocol,
            targets: Arc::new(e.targets.clone()),
        })
        .collect();
    let matrix =
        suites::killmatrix::kill_matrix(cases, Arc::new(clean.targets.clone()), &faults, options)
            .await;
    clean.shutdown().await;
    for (_, _, e) in faulty {
        e.shutdown().await;
    }
    Ok(matrix)
}
