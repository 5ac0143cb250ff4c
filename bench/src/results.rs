//! The result of one bench run or shard (`results.json`): its settings, its
//! counters, its HDR histogram (serialized, so shards can be merged exactly),
//! fairness, CPU and memory; and the merge of several shards into one.

use std::collections::BTreeMap;

use anyhow::Context;
use base64::Engine as _;
use hdrhistogram::serialization::{Deserializer, Serializer, V2Serializer};
use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

use crate::stats::{histogram, Point};
use crate::sys::Memory;

/// Latency percentiles, microseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Percentiles {
    pub p50: u64,
    pub p90: u64,
    pub p99: u64,
    pub p999: u64,
    pub max: u64,
    pub mean: f64,
}

impl Percentiles {
    /// The percentiles of `h` (zeros when it is empty).
    pub fn of(h: &Histogram<u64>) -> Percentiles {
        if h.is_empty() {
            return Percentiles::default();
        }
        Percentiles {
            p50: h.value_at_quantile(0.5),
            p90: h.value_at_quantile(0.9),
            p99: h.value_at_quantile(0.99),
            p999: h.value_at_quantile(0.999),
            max: h.max(),
            mean: h.mean(),
        }
    }
}

/// Messages per connection in the measured window: min, median, max.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Fairness {
    pub min: u64,
    pub median: u64,
    pub max: u64,
    /// `max / min` (infinite when a connection got nothing while another did).
    pub spread: f64,
}

impl Fairness {
    /// Fairness over the connections that carried traffic (`counts` of every connection).
    pub fn of(counts: &[u64]) -> Fairness {
        let mut sorted = counts.to_vec();
        sorted.sort_unstable();
        let Some((&min, &max)) = sorted.first().zip(sorted.last()) else {
            return Fairness::default();
        };
        let spread = match (min, max) {
            (_, 0) => 1.0,
            (0, _) => f64::INFINITY,
            (min, max) => max as f64 / min as f64,
        };
        Fairness {
            min,
            median: sorted[sorted.len() / 2],
            max,
            spread,
        }
    }
}

/// CPU seconds and memory of the server, when it is local.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ServerUsage {
    /// How it was watched: `pid 1234` or `embedded (server threads; memory is the whole process)`.
    pub watched: String,
    /// CPU seconds (user + system) it used during the measured window.
    pub cpu_seconds: f64,
    /// Seconds its threads were ready to run but waited for a core during
    /// the measured window: other load on its core (0 in results written
    /// before it was recorded).
    #[serde(default)]
    pub wait_seconds: f64,
    /// Resident memory before the clients connected, bytes.
    pub rss_before: u64,
    /// Resident memory with every client connected (before the drain), bytes.
    pub rss_loaded: u64,
    /// The largest resident memory seen during the run, bytes.
    pub rss_peak: u64,
    /// The memory before the clients connected, once it had settled (the
    /// median of the last samples of a steady stretch; `rss_before` is its
    /// `rss`); absent in results written before it was recorded.
    #[serde(default)]
    pub memory_before: Option<Memory>,
    /// Looks at the memory through the measured window, with the
    /// connections open at each (empty in results written before they were
    /// recorded, and after a merge of shards: each shard counted only its
    /// own connections).
    #[serde(default)]
    pub memory_samples: Vec<MemorySample>,
}

/// One look at the server's memory in the measured window.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct MemorySample {
    /// Seconds into the measured window.
    pub t: f64,
    /// The connections this run held open at that moment.
    pub open: u64,
    #[serde(flatten)]
    pub memory: Memory,
}

/// A figure over the memory samples of a run: median, min and max.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Spread {
    pub median: f64,
    pub min: f64,
    pub max: f64,
}

impl Spread {
    /// The spread of `values` (`None` when there are none).
    pub fn of(values: impl IntoIterator<Item = f64>) -> Option<Spread> {
        let mut sorted: Vec<f64> = values.into_iter().collect();
        sorted.sort_unstable_by(f64::total_cmp);
        let (&min, &max) = sorted.first().zip(sorted.last())?;
        Some(Spread {
            median: sorted[sorted.len() / 2],
            min,
            max,
        })
    }
}

/// Server memory per open connection over the measured window: each
/// sample's growth since the settled memory before, over the connections
/// open at that moment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct MemoryPerConnection {
    /// Resident set, bytes per connection.
    pub rss: Spread,
    /// Anonymous resident memory, bytes per connection.
    pub anon: Spread,
    /// Proportional set size, bytes per connection (zeros when unknown).
    pub pss: Spread,
    /// How many samples.
    pub samples: usize,
    /// The fewest and the most connections open at a sample.
    pub open_min: u64,
    pub open_max: u64,
}

impl MemoryPerConnection {
    /// The figure of `usage`'s samples; `None` without samples or
    /// without a settled memory before.
    pub fn of(usage: &ServerUsage) -> Option<MemoryPerConnection> {
        let before = usage.memory_before?;
        let open: Vec<&MemorySample> = usage.memory_samples.iter().filter(|s| s.open > 0).collect();
        let per = |field: fn(&Memory) -> u64| {
            Spread::of(
                open.iter()
                    .map(|s| (field(&s.memory) as f64 - field(&before) as f64) / s.open as f64),
            )
        };
        Some(MemoryPerConnection {
            rss: per(|m| m.rss)?,
            anon: per(|m| m.anon)?,
            pss: per(|m| m.pss)?,
            samples: open.len(),
            open_min: open.iter().map(|s| s.open).min()?,
            open_max: open.iter().map(|s| s.open).max()?,
        })
    }
}

/// One run of one scenario (or one shard of it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Results {
    /// `echo`, `fanout`, `connect`, `idle`.
    pub scenario: String,
    /// `socketio`, `socketcluster`.
    pub protocol: String,
    /// Where the load went.
    pub target: String,
    /// The settings, as given (clients, rate, window, payload, ...).
    pub settings: BTreeMap<String, String>,
    /// Shards this result stands for: `[K]` for one shard, every K after a merge.
    pub shards: Vec<u32>,
    /// Of how many shards.
    pub shard_count: u32,
    /// Connections this run opened (its slice of the clients).
    pub connections: u64,
    /// Seconds of the measured window (warm-up and drain excluded).
    pub measured_seconds: f64,
    /// Sends over the whole run (messages, publications or connection attempts).
    pub sent: u64,
    /// Answers, deliveries or completed handshakes over the whole run.
    pub delivered: u64,
    /// Deliveries owed (echo and connect: one per send; fan-out: one per member).
    pub expected: u64,
    /// Sends in the measured window.
    pub measured_sent: u64,
    /// Answers or deliveries in the measured window.
    pub measured_delivered: u64,
    /// Errors and timeouts by kind.
    pub errors: BTreeMap<String, u64>,
    /// Answers or deliveries per connection in the measured window.
    pub per_connection: Vec<u64>,
    /// The measured latency histogram, HDR V2 serialization in base64.
    pub histogram: String,
    /// The per-second series.
    pub series: Vec<Point>,
    /// CPU seconds the generator used during the run (all of its threads).
    pub generator_cpu_seconds: f64,
    /// CPU seconds the generator used in the measured window (0 in results
    /// written before it was recorded).
    #[serde(default)]
    pub generator_window_cpu_seconds: f64,
    /// Seconds the generator's threads were ready to run but waited for a
    /// core in the measured window (0 in results written before it was
    /// recorded).
    #[serde(default)]
    pub generator_window_wait_seconds: f64,
    /// How late the generator woke a task in the measured window,
    /// microseconds: its own scheduling delay, which a heartbeat's answer
    /// also waits (zeros in results written before it was recorded).
    #[serde(default)]
    pub generator_lag_us: Percentiles,
    /// Wall seconds of the whole run, for the generator's CPU share.
    pub wall_seconds: f64,
    /// The server, when local.
    pub server: Option<ServerUsage>,
}

/// Figures derived from [`Results`] for the reports.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
    pub sent_per_s: f64,
    pub delivered_per_s: f64,
    pub lost: u64,
    pub latency_us: Percentiles,
    pub fairness: Fairness,
    /// Generator CPU microseconds per answer or delivery.
    pub generator_us_per_message: f64,
    /// The generator's CPU share of one core over the measured window (1.0:
    /// one core busy; over the whole run for results without the window's CPU).
    pub generator_cores: f64,
    /// The generator's share of one core it was ready to run but waited for
    /// it (other load on its core) over the measured window.
    pub generator_waiting: f64,
    /// Set when the generator may have been the bottleneck: it ran or was
    /// ready to run 90% of the measured window or more (on a loaded core a
    /// busy generator gets less than its core, and waits for the rest).
    pub generator_saturated: bool,
    /// Server CPU microseconds per answer or delivery in the measured window, when local.
    pub server_us_per_message: Option<f64>,
    /// The server's CPU share of one core over the measured window, when local.
    pub server_cores: Option<f64>,
    /// The server's share of one core it was ready to run but waited for
    /// it over the measured window, when local: with `server_cores` near 1
    /// altogether, the server was bound by CPU (its own or the share other
    /// load left it), not by the load.
    pub server_waiting: Option<f64>,
    /// Server memory per connection, when local: the median of the
    /// samples of [`Summary::server_memory`] (resident set), or, for results
    /// without samples, loaded minus before over the connections.
    pub server_bytes_per_connection: Option<f64>,
    /// Server memory per open connection over the measured window, when
    /// it was sampled.
    pub server_memory: Option<MemoryPerConnection>,
}

/// The generator's share of a core (running or ready to run) above which a
/// report flags it as a possible bottleneck.
pub const SATURATED_CORES: f64 = 0.9;

impl Results {
    /// The latency histogram.
    pub fn latency(&self) -> anyhow::Result<Histogram<u64>> {
        decode_histogram(&self.histogram)
    }

    /// Answers or deliveries owed and still missing after the drain.
    pub fn lost(&self) -> u64 {
        self.expected.saturating_sub(self.delivered)
    }

    /// The figures the reports show.
    pub fn summary(&self) -> anyhow::Result<Summary> {
        let per_s = |n: u64| {
            if self.measured_seconds > 0.0 {
                n as f64 / self.measured_seconds
            } else {
                0.0
            }
        };
        let delivered = self.delivered.max(1) as f64;
        let measured_delivered = self.measured_delivered.max(1) as f64;
        let shards = f64::from(self.shards.len().max(1) as u32);
        let share = |seconds: f64| {
            if self.measured_seconds > 0.0 {
                seconds / self.measured_seconds
            } else {
                0.0
            }
        };
        let generator_waiting = share(self.generator_window_wait_seconds) / shards;
        let generator_cores =
            if self.generator_window_cpu_seconds > 0.0 && self.measured_seconds > 0.0 {
                self.generator_window_cpu_seconds / self.measured_seconds / shards
            } else if self.wall_seconds > 0.0 {
                self.generator_cpu_seconds / self.wall_seconds / shards
            } else {
                0.0
            };
        Ok(Summary {
            sent_per_s: per_s(self.measured_sent),
            delivered_per_s: per_s(self.measured_delivered),
            lost: self.lost(),
            latency_us: Percentiles::of(&self.latency()?),
            fairness: Fairness::of(&self.per_connection),
            generator_us_per_message: self.generator_cpu_seconds * 1e6 / delivered,
            generator_cores,
            generator_waiting,
            generator_saturated: generator_cores + generator_waiting >= SATURATED_CORES,
            // The server's CPU is the measured window's: so are the deliveries it is divided by.
            server_us_per_message: self
                .server
                .as_ref()
                .map(|s| s.cpu_seconds * 1e6 / measured_delivered),
            server_cores: self.server.as_ref().map(|s| share(s.cpu_seconds)),
            server_waiting: self.server.as_ref().map(|s| share(s.wait_seconds)),
            server_bytes_per_connection: self.server.as_ref().and_then(|s| {
                match MemoryPerConnection::of(s) {
                    Some(m) => Some(m.rss.median),
                    None => (self.connections > 0).then(|| {
                        s.rss_loaded.saturating_sub(s.rss_before) as f64 / self.connections as f64
                    }),
                }
            }),
            server_memory: self.server.as_ref().and_then(MemoryPerConnection::of),
        })
    }

    /// Merges shards of one run: counters and histograms add up, the series
    /// add their rates per second (a second's p99 is the largest of the
    /// shards', an upper bound), the window is the longest shard's.
    pub fn merge(parts: &[Results]) -> anyhow::Result<Results> {
        let Some(first) = parts.first() else {
            anyhow::bail!("nothing to merge");
        };
        let mut merged = first.clone();
        let mut latency = first.latency()?;
        for part in &parts[1..] {
            anyhow::ensure!(
                part.scenario == first.scenario && part.protocol == first.protocol,
                "cannot merge a {} {} shard with a {} {} one",
                part.protocol,
                part.scenario,
                first.protocol,
                first.scenario
            );
            anyhow::ensure!(
                part.shard_count == first.shard_count,
                "shards of runs split {} and {} ways",
                first.shard_count,
                part.shard_count
            );
            for s in &part.shards {
                anyhow::ensure!(!merged.shards.contains(s), "shard {s} given twice");
                merged.shards.push(*s);
            }
            merged.connections += part.connections;
            merged.measured_seconds = merged.measured_seconds.max(part.measured_seconds);
            merged.wall_seconds = merged.wall_seconds.max(part.wall_seconds);
            merged.sent += part.sent;
            merged.delivered += part.delivered;
            merged.expected += part.expected;
            merged.measured_sent += part.measured_sent;
            merged.measured_delivered += part.measured_delivered;
            for (k, v) in &part.errors {
                *merged.errors.entry(k.clone()).or_default() += v;
            }
            merged.per_connection.extend(&part.per_connection);
            latency
                .add(part.latency()?)
                .context("adding a shard's histogram")?;
            merge_series(&mut merged.series, &part.series);
            merged.generator_cpu_seconds += part.generator_cpu_seconds;
            merged.generator_window_cpu_seconds += part.generator_window_cpu_seconds;
            merged.generator_window_wait_seconds += part.generator_window_wait_seconds;
            // The shards' lag percentiles cannot be added: the largest of
            // each is an upper bound.
            let (a, b) = (&mut merged.generator_lag_us, &part.generator_lag_us);
            a.p50 = a.p50.max(b.p50);
            a.p90 = a.p90.max(b.p90);
            a.p99 = a.p99.max(b.p99);
            a.p999 = a.p999.max(b.p999);
            a.max = a.max.max(b.max);
            a.mean = a.mean.max(b.mean);
            merged.server = match (merged.server.take(), &part.server) {
                (Some(mut a), Some(b)) => {
                    a.cpu_seconds = a.cpu_seconds.max(b.cpu_seconds);
                    a.wait_seconds = a.wait_seconds.max(b.wait_seconds);
                    a.rss_peak = a.rss_peak.max(b.rss_peak);
                    a.rss_loaded = a.rss_loaded.max(b.rss_loaded);
                    a.rss_before = a.rss_before.min(b.rss_before);
                    // Each shard's samples count its own connections only.
                    a.memory_samples.clear();
                    Some(a)
                }
                (a, b) => a.or_else(|| b.clone()),
            };
        }
        merged.shards.sort_unstable();
        merged.histogram = encode_histogram(&latency)?;
        Ok(merged)
    }
}

fn merge_series(into: &mut Vec<Point>, other: &[Point]) {
    for (i, p) in other.iter().enumerate() {
        match into.get_mut(i) {
            Some(q) => {
                q.sent_per_s += p.sent_per_s;
                q.delivered_per_s += p.delivered_per_s;
                q.p50_us = q.p50_us.max(p.p50_us);
                q.p99_us = q.p99_us.max(p.p99_us);
                q.max_us = q.max_us.max(p.max_us);
            }
            None => into.push(*p),
        }
    }
}

/// `h` in HDR's V2 serialization, base64.
pub fn encode_histogram(h: &Histogram<u64>) -> anyhow::Result<String> {
    let mut bytes = Vec::new();
    V2Serializer::new()
        .serialize(h, &mut bytes)
        .map_err(|e| anyhow::anyhow!("serializing a histogram: {e:?}"))?;
    Ok(base64::engine::general_purpose::STANDARD.encode(bytes))
}

/// The histogram [`encode_histogram`] wrote.
pub fn decode_histogram(text: &str) -> anyhow::Result<Histogram<u64>> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(text)
        .context("a histogram that is not base64")?;
    let h: Histogram<u64> = Deserializer::new()
        .deserialize(&mut bytes.as_slice())
        .map_err(|e| anyhow::anyhow!("not an HDR histogram: {e:?}"))?;
    let mut bounded = histogram();
    bounded
        .add(&h)
        .context("a histogram beyond the bench's bounds")?;
    Ok(bounded)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fairness_over_counts() {
        let f = Fairness::of(&[10, 30, 20]);
        assert_eq!((f.min, f.median, f.max), (10, 20, 30));
        assert_eq!(f.spread, 3.0);
        assert_eq!(Fairness::of(&[0, 5]).spread, f64::INFINITY);
        assert_eq!(Fairness::of(&[]), Fairness::default());
    }

    /// A fan-out run of 1,000 deliveries in a 2 s window (1,500 over the
    /// whole run), the server watched.
    fn fanout_run(generator_cpu: f64, generator_wait: f64) -> Results {
        Results {
            scenario: "fanout".into(),
            protocol: "socketio".into(),
            target: String::new(),
            settings: BTreeMap::new(),
            shards: vec![0],
            shard_count: 1,
            connections: 10,
            measured_seconds: 2.0,
            sent: 75,
            delivered: 1_500,
            expected: 1_500,
            measured_sent: 50,
            measured_delivered: 1_000,
            errors: BTreeMap::new(),
            per_connection: vec![100; 10],
            histogram: encode_histogram(&histogram()).unwrap(),
            series: Vec::new(),
            generator_cpu_seconds: generator_cpu * 1.5,
            generator_window_cpu_seconds: generator_cpu,
            generator_window_wait_seconds: generator_wait,
            generator_lag_us: Percentiles::default(),
            wall_seconds: 3.0,
            server: Some(ServerUsage {
                watched: "pid 1".into(),
                cpu_seconds: 0.5,
                wait_seconds: 1.4,
                rss_before: 0,
                rss_loaded: 0,
                rss_peak: 0,
                memory_before: None,
                memory_samples: Vec::new(),
            }),
        }
    }

    #[test]
    fn a_generator_kept_off_its_core_is_saturated_too() {
        // Running 40% of the window and waiting for its core 55%: busy.
        let busy = fanout_run(0.8, 1.1).summary().unwrap();
        assert_eq!(busy.generator_cores, 0.4);
        assert_eq!(busy.generator_waiting, 0.55);
        assert!(busy.generator_saturated);
        // Running 40% and idle the rest: not the bottleneck.
        let idle = fanout_run(0.8, 0.0).summary().unwrap();
        assert!(!idle.generator_saturated);
    }

    #[test]
    fn the_servers_share_of_its_core_and_cpu_per_delivery_are_the_windows() {
        let s = fanout_run(0.8, 0.0).summary().unwrap();
        assert_eq!(s.server_cores, Some(0.25));
        assert_eq!(s.server_waiting, Some(0.7));
        // The window's 0.5 s over the window's 1,000 deliveries, not the run's 1,500.
        assert_eq!(s.server_us_per_message, Some(500.0));
    }

    #[test]
    fn a_histogram_survives_its_serialization() {
        let mut h = histogram();
        for v in [1, 50, 1_000, 123_456] {
            h.record(v).unwrap();
        }
        let back = decode_histogram(&encode_histogram(&h).unwrap()).unwrap();
        assert_eq!(back, h);
        assert!(decode_histogram("not base64!").is_err());
    }

    fn sample(t: f64, open: u64, rss: u64) -> MemorySample {
        MemorySample {
            t,
            open,
            memory: Memory {
                rss,
                anon: rss / 2,
                pss: 0,
            },
        }
    }

    #[test]
    fn memory_per_connection_counts_the_connections_open_at_each_sample() {
        let before = Memory {
            rss: 10_000,
            anon: 5_000,
            pss: 0,
        };
        let usage = ServerUsage {
            memory_before: Some(before),
            memory_samples: vec![
                sample(0.0, 0, 50_000),     // nothing open: left out
                sample(0.25, 100, 110_000), // 1,000 per connection
                sample(0.5, 100, 130_000),  // 1,200
                sample(0.75, 50, 110_000),  // half closed: 2,000
            ],
            ..ServerUsage::default()
        };
        let m = MemoryPerConnection::of(&usage).expect("samples");
        assert_eq!((m.samples, m.open_min, m.open_max), (3, 50, 100));
        assert_eq!(
            (m.rss.min, m.rss.median, m.rss.max),
            (1_000.0, 1_200.0, 2_000.0)
        );
        assert_eq!(m.anon.min, 500.0);
        assert_eq!(m.pss.max, 0.0);
        assert_eq!(
            MemoryPerConnection::of(&ServerUsage {
                memory_before: None,
                ..usage
            }),
            None,
            "no settled memory before: no figure"
        );
    }
}
