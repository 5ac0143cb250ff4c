//! The bench crate's one test binary: shards against one unsharded run, and
//! a bounded smoke run of every scenario, all against the embedded reference
//! server on loopback. Nothing here asserts a speed.

mod shards;
mod smoke;

use std::time::Duration;

use bench::{Dialect, Plan, Scenario};
use protocols::Protocol;

/// The reference server on free loopback ports, on the test's runtime.
pub async fn server() -> reference_server::Running {
    reference_server::start(reference_server::Config::embedded())
        .await
        .expect("the embedded reference server starts")
}

/// The dialect of `protocol` at `server`.
pub fn dialect(server: &reference_server::Running, protocol: Protocol) -> Dialect {
    let reference = suites::target::Reference {
        listeners: server.addrs.named(),
        jwt_secret: server.secrets.jwt.clone(),
        admin_secret: server.secrets.admin.clone(),
        turn_secret: server.secrets.turn.clone(),
    };
    let targets = suites::registry::embedded_targets("embedded", &reference);
    Dialect::from_targets(&targets, protocol).expect("the embedded server has the target")
}

/// A short plan: no warm-up, a bounded window.
pub fn short(scenario: Scenario) -> Plan {
    let mut plan = Plan::new(scenario);
    plan.warmup = Duration::ZERO;
    plan.duration = Duration::from_secs(1);
    plan.drain = Duration::from_secs(2);
    plan.wait = Duration::from_secs(5);
    plan
}
