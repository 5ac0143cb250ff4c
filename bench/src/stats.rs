//! What a bench run measures while it runs: latency histograms striped across
//! connections, counters, per-connection deliveries (fairness), errors by
//! kind, and the per-second series the plots are drawn from.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use hdrhistogram::Histogram;

/// The largest latency a histogram holds, in microseconds (a minute);
/// larger values are clamped to it.
pub const MAX_LATENCY_US: u64 = 60_000_000;

/// How many stripes the latency recorder has: connection `i` records into
/// stripe `i % STRIPES`, so connections seldom wait for each other's lock.
const STRIPES: usize = 16;

/// An empty latency histogram (1 µs to a minute, 3 significant digits).
pub fn histogram() -> Histogram<u64> {
    // The bounds are constants that hdrhistogram accepts.
    Histogram::new_with_bounds(1, MAX_LATENCY_US, 3).expect("valid histogram bounds")
}

/// A latency as the histograms hold it: microseconds, at least 1, at most [`MAX_LATENCY_US`].
pub fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros())
        .unwrap_or(MAX_LATENCY_US)
        .clamp(1, MAX_LATENCY_US)
}

/// One stripe: what its connections recorded since the last sample.
struct Stripe {
    window: Histogram<u64>,
}

/// One second (or other sampling window) of the run.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Point {
    /// Seconds since the measured window began.
    pub t: f64,
    /// Messages (or connects) sent per second in this window.
    pub sent_per_s: f64,
    /// Answers or deliveries per second in this window.
    pub delivered_per_s: f64,
    /// Latency percentiles of this window, microseconds (0 when nothing arrived).
    pub p50_us: u64,
    /// 99th percentile of this window.
    pub p99_us: u64,
    /// Largest latency of this window.
    pub max_us: u64,
}

/// The shared recorder of one run (one shard).
pub struct Recorder {
    stripes: Vec<Mutex<Stripe>>,
    measuring: AtomicBool,
    /// Sends during the whole run (warm-up included), for the loss count.
    pub sent: AtomicU64,
    /// Answers or deliveries during the whole run.
    pub delivered: AtomicU64,
    /// Deliveries the senders expect (fan-out: each send times its room's members).
    pub expected: AtomicU64,
    /// Sends in the measured window.
    pub measured_sent: AtomicU64,
    /// Answers or deliveries in the measured window.
    pub measured_delivered: AtomicU64,
    window_sent: AtomicU64,
    window_delivered: AtomicU64,
    /// Per connection: answers or deliveries in the measured window.
    per_connection: Vec<AtomicU64>,
    errors: Mutex<BTreeMap<String, u64>>,
    total: Mutex<Histogram<u64>>,
    series: Mutex<Vec<Point>>,
}

impl Recorder {
    /// A recorder for `connections` connections.
    pub fn new(connections: usize) -> Recorder {
        Recorder {
            stripes: (0..STRIPES)
                .map(|_| {
                    Mutex::new(Stripe {
                        window: histogram(),
                    })
                })
                .collect(),
            measuring: AtomicBool::new(false),
            sent: AtomicU64::new(0),
            delivered: AtomicU64::new(0),
            expected: AtomicU64::new(0),
            measured_sent: AtomicU64::new(0),
            measured_delivered: AtomicU64::new(0),
            window_sent: AtomicU64::new(0),
            window_delivered: AtomicU64::new(0),
            per_connection: (0..connections).map(|_| AtomicU64::new(0)).collect(),
            errors: Mutex::new(BTreeMap::new()),
            total: Mutex::new(histogram()),
            series: Mutex::new(Vec::new()),
        }
    }

    /// Whether the warm-up is over.
    pub fn measuring(&self) -> bool {
        self.measuring.load(Ordering::Relaxed)
    }

    /// Ends the warm-up: from now on latencies and rates count.
    pub fn start_measuring(&self) {
        self.measuring.store(true, Ordering::Relaxed);
    }

    /// Stops counting latencies and rates (the drain at the end is not measured).
    pub fn stop_measuring(&self) {
        self.measuring.store(false, Ordering::Relaxed);
    }

    /// `n` sends (messages or connection attempts).
    pub fn sent(&self, n: u64) {
        self.sent.fetch_add(n, Ordering::Relaxed);
        if self.measuring() {
            self.measured_sent.fetch_add(n, Ordering::Relaxed);
            self.window_sent.fetch_add(n, Ordering::Relaxed);
        }
    }

    /// Deliveries a send is owed (fan-out).
    pub fn expect(&self, n: u64) {
        self.expected.fetch_add(n, Ordering::Relaxed);
    }

    /// Answers or deliveries that arrived on connection `conn`, with their
    /// latencies in microseconds (one lock for a whole read burst).
    pub fn delivered(&self, conn: usize, latencies: &[u64]) {
        if latencies.is_empty() {
            return;
        }
        let n = latencies.len() as u64;
        self.delivered.fetch_add(n, Ordering::Relaxed);
        if !self.measuring() {
            return;
        }
        self.measured_delivered.fetch_add(n, Ordering::Relaxed);
        self.window_delivered.fetch_add(n, Ordering::Relaxed);
        if let Some(c) = self.per_connection.get(conn) {
            c.fetch_add(n, Ordering::Relaxed);
        }
        let mut stripe = lock(&self.stripes[conn % STRIPES]);
        for &l in latencies {
            stripe.window.saturating_record(l);
        }
    }

    /// A completed handshake that took `us` (the idle scenario's one
    /// measurement, counted whether or not the warm-up is over).
    pub fn handshake(&self, conn: usize, us: u64) {
        for c in [
            &self.sent,
            &self.measured_sent,
            &self.delivered,
            &self.measured_delivered,
        ] {
            c.fetch_add(1, Ordering::Relaxed);
        }
        self.expected.fetch_add(1, Ordering::Relaxed);
        if let Some(c) = self.per_connection.get(conn) {
            c.fetch_add(1, Ordering::Relaxed);
        }
        lock(&self.stripes[conn % STRIPES])
            .window
            .saturating_record(us);
    }

    /// `n` errors of `kind`.
    pub fn error_n(&self, kind: &str, n: u64) {
        *lock(&self.errors).entry(kind.to_owned()).or_default() += n;
    }

    /// An error of `kind` (e.g. `closed-by-server`, `connect-failed`).
    pub fn error(&self, kind: &str) {
        *lock(&self.errors).entry(kind.to_owned()).or_default() += 1;
    }

    /// Folds every stripe's window into the total and appends one point of
    /// `seconds` length ending `t` seconds into the measured window.
    pub fn sample(&self, t: f64, seconds: f64) -> Point {
        let mut window = histogram();
        for stripe in &self.stripes {
            let mut s = lock(stripe);
            // Same bounds on both sides: adding cannot fail.
            let _ = window.add(&s.window);
            s.window.reset();
        }
        let _ = lock(&self.total).add(&window);
        let per_s = |n: u64| {
            if seconds > 0.0 {
                n as f64 / seconds
            } else {
                0.0
            }
        };
        let (p50_us, p99_us, max_us) = if window.is_empty() {
            (0, 0, 0)
        } else {
            (
                window.value_at_quantile(0.5),
                window.value_at_quantile(0.99),
                window.max(),
            )
        };
        let point = Point {
            t,
            sent_per_s: per_s(self.window_sent.swap(0, Ordering::Relaxed)),
            delivered_per_s: per_s(self.window_delivered.swap(0, Ordering::Relaxed)),
            p50_us,
            p99_us,
            max_us,
        };
        if self.measuring() || point.delivered_per_s > 0.0 {
            lock(&self.series).push(point);
        }
        point
    }

    /// The latency histogram of the whole measured window (after a last [`Recorder::sample`]).
    pub fn total(&self) -> Histogram<u64> {
        lock(&self.total).clone()
    }

    /// The per-second series.
    pub fn series(&self) -> Vec<Point> {
        lock(&self.series).clone()
    }

    /// Errors by kind.
    pub fn errors(&self) -> BTreeMap<String, u64> {
        lock(&self.errors).clone()
    }

    /// Deliveries per connection in the measured window.
    pub fn per_connection(&self) -> Vec<u64> {
        self.per_connection
            .iter()
            .map(|c| c.load(Ordering::Relaxed))
            .collect()
    }
}

/// Locks a mutex; a panic elsewhere while holding it leaves plain counters
/// behind, which are still worth reading.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sample_moves_the_window_into_the_total_and_the_series() {
        let r = Recorder::new(2);
        r.start_measuring();
        r.sent(3);
        r.delivered(0, &[100, 200]);
        r.delivered(1, &[300]);
        let p = r.sample(1.0, 1.0);
        assert_eq!(p.sent_per_s, 3.0);
        assert_eq!(p.delivered_per_s, 3.0);
        assert_eq!(r.total().len(), 3);
        assert_eq!(r.per_connection(), vec![2, 1]);
        let q = r.sample(2.0, 1.0);
        assert_eq!(q.delivered_per_s, 0.0);
        assert_eq!(r.total().len(), 3, "a sample does not count a window twice");
        assert_eq!(r.series().len(), 2);
    }

    #[test]
    fn the_warm_up_counts_for_loss_but_not_for_rates() {
        let r = Recorder::new(1);
        r.sent(5);
        r.delivered(0, &[10; 5]);
        r.sample(0.0, 1.0);
        assert_eq!(r.sent.load(Ordering::Relaxed), 5);
        assert_eq!(r.measured_sent.load(Ordering::Relaxed), 0);
        assert!(r.total().is_empty());
    }
}
