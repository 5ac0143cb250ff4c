//! `--shard K/N`: three shards run side by side against one server, merged,
//! count what one unsharded run counts.

use bench::{Results, Scenario, Shard};
use protocols::Protocol;

use crate::{dialect, server, short};

/// The counters a merge must reproduce exactly.
fn counts(r: &Results) -> (u64, u64, u64, u64, usize) {
    (
        r.connections,
        r.sent,
        r.delivered,
        r.expected,
        r.per_connection.len(),
    )
}

/// The latencies recorded. A fan-out shard may get another shard's first
/// publications before its own measured window opens (the shards start on
/// their own), so only the echo run's histogram count must match.
fn latencies(r: &Results) -> u64 {
    r.latency().expect("a readable histogram").len()
}

async fn sharded_equals_unsharded(protocol: Protocol, mut plan: bench::Plan) {
    let server = server().await;
    let dialect = dialect(&server, protocol);
    plan.shard = Shard::default();
    let whole = bench::run(plan.clone(), dialect.clone(), None)
        .await
        .expect("the unsharded run");
    assert!(whole.errors.is_empty(), "{:?}", whole.errors);
    assert_eq!(whole.lost(), 0);
    let shards = (0..3).map(|index| {
        let mut p = plan.clone();
        p.shard = Shard { index, count: 3 };
        bench::run(p, dialect.clone(), None)
    });
    let parts: Vec<Results> = futures_util::future::join_all(shards)
        .await
        .into_iter()
        .map(|r| r.expect("a shard's run"))
        .collect();
    let merged = Results::merge(&parts).expect("the shards merge");
    assert_eq!(merged.shards, vec![0, 1, 2]);
    assert_eq!(counts(&merged), counts(&whole));
    if plan.scenario == Scenario::Echo {
        assert_eq!(latencies(&merged), latencies(&whole));
    } else {
        assert!(latencies(&merged) <= merged.delivered);
    }
    assert_eq!(merged.lost(), 0);
    // A shard given twice is refused.
    assert!(Results::merge(&[parts[0].clone(), parts[0].clone()]).is_err());
    server.shutdown().await;
}

#[tokio::test]
async fn three_echo_shards_count_what_one_run_counts() {
    let mut plan = short(Scenario::Echo);
    plan.clients = 7;
    plan.window = 4;
    plan.messages = Some(50);
    sharded_equals_unsharded(Protocol::Socketio, plan).await;
}

#[tokio::test]
async fn three_fanout_shards_count_what_one_run_counts() {
    let mut plan = short(Scenario::Fanout);
    plan.clients = 9;
    plan.rooms = 2;
    plan.senders = 3;
    plan.window = 2;
    plan.messages = Some(20);
    // Every shard's members subscribe before any shard's senders start.
    plan.settle = std::time::Duration::from_millis(700);
    // The shards run their window and drain out: keep both short.
    plan.duration = std::time::Duration::from_millis(800);
    plan.drain = std::time::Duration::from_millis(800);
    sharded_equals_unsharded(Protocol::Socketcluster, plan).await;
}

#[test]
fn a_shard_is_a_deterministic_slice_of_the_clients() {
    let parts: Vec<Vec<usize>> = (0..3)
        .map(|index| Shard { index, count: 3 }.clients(8).collect())
        .collect();
    assert_eq!(parts, vec![vec![0, 3, 6], vec![1, 4, 7], vec![2, 5]]);
    assert_eq!("1/3".parse::<Shard>(), Ok(Shard { index: 1, count: 3 }));
    assert!("3/3".parse::<Shard>().is_err());
    assert!("1-3".parse::<Shard>().is_err());
}
