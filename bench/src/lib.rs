//! chatspec's load generator (`chatspec bench`): scenarios against any
//! server of a protocol, open and closed loop, HDR histograms, lost
//! messages, fairness, CPU and memory, shards and their merge, and the
//! JSON, Markdown and SVG reports.
//!
//! The CLI builds a [`Plan`] and a [`Dialect`] from its flags and the target
//! configuration of `run`, and calls [`run`]; it never sees a connection.

pub mod baseline;
mod conn;
pub mod dialect;
pub mod pace;
pub mod report;
pub mod results;
pub mod scenario;
pub mod stats;
pub mod sys;
pub mod tcp;
mod wire;

use std::collections::BTreeMap;
use std::str::FromStr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use indicatif::{ProgressBar, ProgressStyle};
use tokio::sync::{watch, Semaphore};
use tokio::time::Instant;

pub use dialect::Dialect;
pub use pace::Ramp;
pub use results::{Results, Summary};
use scenario::{Phase, Shared};
use stats::Recorder;
pub use sys::Watch;

/// What a run does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scenario {
    /// Request and answer (Socket.IO: an emit with acknowledgement; SocketCluster: the echo procedure).
    Echo,
    /// Rooms of members, senders publishing to their room, every member's deliveries counted.
    Fanout,
    /// A connection storm: connect, handshake, close, again.
    Connect,
    /// Connections held open: handshake latency, server memory per connection.
    Idle,
}

impl Scenario {
    /// Every scenario.
    pub const ALL: [Scenario; 4] = [
        Scenario::Echo,
        Scenario::Fanout,
        Scenario::Connect,
        Scenario::Idle,
    ];

    /// Its name on the command line and in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Scenario::Echo => "echo",
            Scenario::Fanout => "fanout",
            Scenario::Connect => "connect",
            Scenario::Idle => "idle",
        }
    }
}

/// How sends are paced.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Load {
    /// Every sender keeps `window` requests in flight.
    Closed,
    /// A fixed arrival rate over the whole run (all shards), spread over the
    /// senders; latency counts from the intended send time.
    Open {
        /// Sends (or connects) per second.
        rate: f64,
    },
    /// Open loop at a rate that ramps (or steps) up or down; latency counts
    /// from the intended send time.
    Ramp(Ramp),
}

/// Shard `index` of `count`: the clients `i` with `i % count == index`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub index: u32,
    pub count: u32,
}

impl Default for Shard {
    fn default() -> Shard {
        Shard { index: 0, count: 1 }
    }
}

impl FromStr for Shard {
    type Err = String;

    /// `K/N`, K counted from 0.
    fn from_str(text: &str) -> Result<Shard, String> {
        let (k, n) = text
            .split_once('/')
            .ok_or_else(|| format!("a shard is K/N, not {text:?}"))?;
        let parse = |s: &str| {
            s.trim()
                .parse::<u32>()
                .map_err(|_| format!("not a number in the shard {text:?}"))
        };
        let shard = Shard {
            index: parse(k)?,
            count: parse(n)?,
        };
        if shard.count == 0 || shard.index >= shard.count {
            return Err(format!("shard {text:?}: K counts from 0 and stays below N"));
        }
        Ok(shard)
    }
}

impl Shard {
    /// The global indices of the clients of this shard, of `clients`.
    pub fn clients(self, clients: usize) -> impl Iterator<Item = usize> {
        (self.index as usize..clients).step_by(self.count as usize)
    }
}

/// Everything a run is told.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub scenario: Scenario,
    pub load: Load,
    /// Clients over all shards.
    pub clients: usize,
    /// Requests in flight per sender (closed loop).
    pub window: usize,
    /// Fan-out: rooms, the clients spread over them in turn.
    pub rooms: usize,
    /// Fan-out: senders over all shards (clients 0 to senders-1).
    pub senders: usize,
    /// Payload bytes.
    pub payload: usize,
    /// The payload as it goes into a request (`payload` bytes of `x`).
    pub payload_text: String,
    /// Warm-up excluded from the figures.
    pub warmup: Duration,
    /// The measured window.
    pub duration: Duration,
    /// How long answers still owed at the end are awaited before they count as lost.
    pub drain: Duration,
    /// Per sender, at most this many sends (then the run ends once answered).
    pub messages: Option<u64>,
    /// How long a connect or handshake may take.
    pub wait: Duration,
    /// Fan-out: how long every connection waits after all subscribed before
    /// the senders start (lets the other shards subscribe too).
    pub settle: Duration,
    /// Connections opened at once while connecting.
    pub ramp: usize,
    pub shard: Shard,
    /// Threads of the generator's runtime (the CLI builds it).
    pub threads: usize,
    /// Show a progress bar.
    pub progress: bool,
}

impl Plan {
    /// A plan with the defaults of the command line.
    pub fn new(scenario: Scenario) -> Plan {
        Plan {
            scenario,
            load: Load::Closed,
            clients: 10,
            window: 1,
            rooms: 1,
            senders: 1,
            payload: 32,
            payload_text: "x".repeat(32),
            warmup: Duration::from_secs(1),
            duration: Duration::from_secs(10),
            drain: Duration::from_secs(2),
            messages: None,
            wait: Duration::from_secs(10),
            settle: Duration::from_millis(500),
            ramp: 256,
            shard: Shard::default(),
            threads: 1,
            progress: false,
        }
    }

    /// Sets the payload size (and its text).
    pub fn with_payload(mut self, bytes: usize) -> Plan {
        self.payload = bytes;
        self.payload_text = "x".repeat(bytes);
        self
    }

    /// Members of the room client `global` is in.
    pub fn room_size(&self, global: usize) -> usize {
        let rooms = self.rooms.max(1);
        let room = global % rooms;
        (self.clients + rooms - 1 - room) / rooms
    }

    /// Senders over all shards.
    pub fn senders_total(&self) -> usize {
        match self.scenario {
            Scenario::Fanout => self.senders.min(self.clients).max(1),
            _ => self.clients.max(1),
        }
    }

    /// The settings as the report lists them.
    fn settings(&self) -> BTreeMap<String, String> {
        let mut s = BTreeMap::new();
        let mut put = |k: &str, v: String| {
            s.insert(k.to_owned(), v);
        };
        put("clients", self.clients.to_string());
        match self.load {
            Load::Closed => put("load", format!("closed loop, {} in flight", self.window)),
            Load::Open { rate } => put("load", format!("open loop, {rate}/s")),
            Load::Ramp(r) => put(
                "load",
                format!(
                    "open loop, a ramp from {}/s to {}/s over {:?}{}",
                    r.from,
                    r.to,
                    r.over,
                    r.steps.map_or(String::new(), |k| format!(" in {k} steps"))
                ),
            ),
        }
        put("payload", format!("{} B", self.payload));
        put("warmup", format!("{:?}", self.warmup));
        put("duration", format!("{:?}", self.duration));
        put("drain", format!("{:?}", self.drain));
        put("generator threads", self.threads.to_string());
        if self.scenario == Scenario::Fanout {
            put("rooms", self.rooms.to_string());
            put("senders", self.senders.to_string());
        }
        if let Some(m) = self.messages {
            put("messages", m.to_string());
        }
        s
    }
}

/// Runs `plan` against `dialect`'s target, watching the local server `watch` if any.
pub async fn run(plan: Plan, dialect: Dialect, watch: Option<Watch>) -> anyhow::Result<Results> {
    anyhow::ensure!(plan.clients > 0, "--clients must be at least 1");
    if let Dialect::Tcp(t) = &dialect {
        t.supports(plan.scenario)?;
    }
    let started = Instant::now();
    let cpu_before = sys::process_cpu_seconds();
    let server_cpu = |w: &Watch| w.cpu_seconds().unwrap_or(0.0);
    // Embedded: the server's threads are not the generator's.
    let generator_cpu = |since: f64, server_since: f64| {
        let all = sys::process_cpu_seconds() - since;
        match &watch {
            Some(w @ Watch::Threads(_)) => (all - (server_cpu(w) - server_since)).max(0.0),
            _ => all,
        }
    };
    // Run-queue waits (generator, server): how much of their cores other load took.
    let waits = || -> anyhow::Result<(f64, f64)> {
        let server_threads = match &watch {
            Some(Watch::Threads(prefix)) => Some(prefix.clone()),
            _ => None,
        };
        let generator = sys::process_wait_seconds(|name| {
            server_threads
                .as_ref()
                .is_none_or(|prefix| !name.starts_with(prefix.as_str()))
        })
        .context("the generator's run-queue wait")?;
        let server = match &watch {
            Some(w) => w.wait_seconds().context("the server's run-queue wait")?,
            None => 0.0,
        };
        Ok((generator, server))
    };
    let mut waits_at_start = None;
    let memory_before = match &watch {
        Some(w) => Some(settled_memory(w).await?),
        None => None,
    };
    let rss_before = memory_before.map_or(0, |m| m.rss);
    let mine: Vec<usize> = plan.shard.clients(plan.clients).collect();
    let (phase_tx, phase_rx) = watch::channel(Phase::Setup);
    let shared = Arc::new(Shared {
        plan: plan.clone(),
        dialect: dialect.clone(),
        recorder: Recorder::new(mine.len()),
        phase: phase_rx,
        ready: Default::default(),
        failed: Default::default(),
        open: Default::default(),
        rooms: watch::channel(BTreeMap::new()).0,
    });
    let progress = progress_bar(&plan);
    progress.set_message("connecting");
    let lag = tokio::spawn(lag_probe(shared.clone()));

    // Setup: every connection ready (or failed), a few at once.
    let ramp = Arc::new(Semaphore::new(plan.ramp.max(1)));
    let mut tasks = tokio::task::JoinSet::new();
    for (local, &global) in mine.iter().enumerate() {
        let (shared, ramp) = (shared.clone(), ramp.clone());
        tasks.spawn(async move {
            // Held until this connection is ready, so at most `ramp` connect at once.
            let permit = ramp.acquire_owned().await.ok();
            scenario::connection(shared, local, global, permit).await;
        });
    }
    let setup_limit = Instant::now() + plan.wait + Duration::from_secs(mine.len() as u64 / 100);
    loop {
        let done = shared.ready.load(Ordering::Relaxed) + shared.failed.load(Ordering::Relaxed);
        progress.set_message(format!("connecting {done}/{}", mine.len()));
        if done >= mine.len() || Instant::now() >= setup_limit {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    if plan.scenario == Scenario::Fanout {
        tokio::time::sleep(plan.settle).await;
    }

    // Warm-up, the measured window, the drain.
    let go = Instant::now();
    let _ = phase_tx.send(Phase::Go);
    let recorder = &shared.recorder;
    let mut peak = rss_before;
    let mut server_cpu_at_start = None;
    let mut generator_cpu_at_start = (0.0, 0.0);
    let mut last = go;
    let measure_at = go + plan.warmup;
    let stop_at = measure_at + plan.duration;
    let sampler = watch
        .clone()
        .map(|w| tokio::spawn(sample_memory(w, shared.clone(), measure_at)));
    if plan.warmup.is_zero() {
        recorder.start_measuring();
        server_cpu_at_start = watch.as_ref().map(server_cpu);
        generator_cpu_at_start = (
            sys::process_cpu_seconds(),
            watch.as_ref().map_or(0.0, server_cpu),
        );
        waits_at_start = Some(waits()?);
    }
    let tick = Duration::from_secs(1).min(plan.duration.max(Duration::from_millis(100)));
    let all_sent = |r: &Recorder| {
        plan.messages.is_some_and(|m| {
            let senders = mine
                .iter()
                .filter(|&&g| plan.scenario != Scenario::Fanout || g < plan.senders)
                .count() as u64;
            r.sent.load(Ordering::Relaxed) >= m * senders
        })
    };
    // A fan-out shard's members get other shards' publications: its own
    // counters cannot tell when everything has arrived, so it runs its time out.
    let sees_all = plan.scenario != Scenario::Fanout || plan.shard.count == 1;
    let settled = |r: &Recorder| {
        sees_all && r.delivered.load(Ordering::Relaxed) >= r.expected.load(Ordering::Relaxed)
    };
    loop {
        let now = Instant::now();
        let wake = (last + tick).min(if recorder.measuring() {
            stop_at
        } else {
            measure_at
        });
        tokio::time::sleep_until(wake.max(now)).await;
        let now = Instant::now();
        if let Some(w) = &watch {
            peak = peak.max(w.rss().unwrap_or(0));
        }
        if !recorder.measuring() && now >= measure_at {
            recorder.sample(0.0, 0.0);
            recorder.start_measuring();
            server_cpu_at_start = watch.as_ref().map(server_cpu);
            generator_cpu_at_start = (
                sys::process_cpu_seconds(),
                watch.as_ref().map_or(0.0, server_cpu),
            );
            waits_at_start = Some(waits()?);
            last = now;
            continue;
        }
        if recorder.measuring() {
            let point =
                recorder.sample((now - measure_at).as_secs_f64(), (now - last).as_secs_f64());
            progress.set_position((now - go).as_millis() as u64);
            progress.set_message(format!(
                "{:.0}/s sent, {:.0}/s delivered, p99 {}",
                point.sent_per_s,
                point.delivered_per_s,
                report::format_us(point.p99_us)
            ));
        }
        last = now;
        let quota_done = all_sent(recorder) && settled(recorder) && plan.scenario != Scenario::Idle;
        if now >= stop_at || quota_done || tasks.is_empty() {
            break;
        }
    }
    let measured_seconds = (Instant::now() - measure_at.min(Instant::now())).as_secs_f64();
    let last_point_t = measured_seconds;
    recorder.sample(last_point_t, (Instant::now() - last).as_secs_f64());
    recorder.stop_measuring();
    let generator_window_cpu_seconds =
        generator_cpu(generator_cpu_at_start.0, generator_cpu_at_start.1);
    let server_cpu_window = match (&watch, server_cpu_at_start) {
        (Some(w), Some(start)) => server_cpu(w) - start,
        _ => 0.0,
    };
    let (generator_wait_window, server_wait_window) = match waits_at_start {
        Some((g0, s0)) => {
            let (g1, s1) = waits()?;
            ((g1 - g0).max(0.0), (s1 - s0).max(0.0))
        }
        None => (0.0, 0.0),
    };
    let rss_loaded = watch.as_ref().and_then(|w| w.rss().ok()).unwrap_or(0);
    peak = peak.max(rss_loaded);
    let _ = phase_tx.send(Phase::Drain);
    let memory_samples = match sampler {
        Some(task) => match task.await {
            Ok(samples) => samples,
            Err(e) => anyhow::bail!("the memory sampler failed: {e}"),
        },
        None => Vec::new(),
    };
    peak = memory_samples.iter().fold(peak, |p, s| p.max(s.memory.rss));
    progress.set_message("draining");
    let drain_until = Instant::now() + plan.drain;
    while Instant::now() < drain_until && !settled(recorder) {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let _ = phase_tx.send(Phase::Stop);
    let closing = async { while tasks.join_next().await.is_some() {} };
    if tokio::time::timeout(plan.wait, closing).await.is_err() {
        recorder.error("close-timeout");
    }
    progress.finish_and_clear();
    let histogram = results::encode_histogram(&recorder.total())?;
    let generator_lag_us = match lag.await {
        Ok(h) => results::Percentiles::of(&h),
        Err(e) => anyhow::bail!("the generator's lag probe failed: {e}"),
    };
    Ok(Results {
        scenario: plan.scenario.as_str().to_owned(),
        protocol: dialect.protocol().to_owned(),
        target: dialect.url().to_owned(),
        settings: plan.settings(),
        shards: vec![plan.shard.index],
        shard_count: plan.shard.count,
        connections: mine.len() as u64,
        measured_seconds,
        sent: recorder.sent.load(Ordering::Relaxed),
        delivered: recorder.delivered.load(Ordering::Relaxed),
        expected: recorder.expected.load(Ordering::Relaxed),
        measured_sent: recorder.measured_sent.load(Ordering::Relaxed),
        measured_delivered: recorder.measured_delivered.load(Ordering::Relaxed),
        errors: recorder.errors(),
        per_connection: recorder.per_connection(),
        histogram,
        series: recorder.series(),
        generator_cpu_seconds: generator_cpu(cpu_before, 0.0),
        generator_window_cpu_seconds,
        generator_window_wait_seconds: generator_wait_window,
        generator_lag_us,
        wall_seconds: started.elapsed().as_secs_f64(),
        server: watch.as_ref().map(|w| results::ServerUsage {
            watched: w.describe(),
            cpu_seconds: server_cpu_window,
            wait_seconds: server_wait_window,
            rss_before,
            rss_loaded,
            rss_peak: peak,
            memory_before,
            memory_samples,
        }),
    })
}

/// How often the server's memory is looked at: before the run, until it
/// settles, and through the measured window.
const MEMORY_STEP: Duration = Duration::from_millis(250);

/// The server's memory before the run, once steady: looked at every
/// [`MEMORY_STEP`] until the last [`SETTLED_SAMPLES`] stay within 1% (or
/// 256 KiB) of each other, at most [`SETTLE_LIMIT`]; each figure is the
/// median of those last samples.
async fn settled_memory(watch: &Watch) -> anyhow::Result<sys::Memory> {
    let limit = Instant::now() + SETTLE_LIMIT;
    let mut last: std::collections::VecDeque<sys::Memory> = Default::default();
    loop {
        let memory = watch
            .memory()
            .with_context(|| format!("reading the memory of the server ({})", watch.describe()))?;
        if last.len() == SETTLED_SAMPLES {
            last.pop_front();
        }
        last.push_back(memory);
        let median = |field: fn(&sys::Memory) -> u64| {
            let mut v: Vec<u64> = last.iter().map(field).collect();
            v.sort_unstable();
            v[v.len() / 2]
        };
        let (lo, hi) = last
            .iter()
            .fold((u64::MAX, 0), |(lo, hi), m| (lo.min(m.rss), hi.max(m.rss)));
        let steady =
            last.len() == SETTLED_SAMPLES && hi - lo <= (median(|m| m.rss) / 100).max(256 << 10);
        if steady || Instant::now() >= limit {
            return Ok(sys::Memory {
                rss: median(|m| m.rss),
                anon: median(|m| m.anon),
                pss: median(|m| m.pss),
            });
        }
        tokio::time::sleep(MEMORY_STEP).await;
    }
}

/// How many samples in a row make the memory before steady.
const SETTLED_SAMPLES: usize = 4;

/// How long the memory before may take to settle.
const SETTLE_LIMIT: Duration = Duration::from_secs(5);

/// The server's memory every [`MEMORY_STEP`] through the measured window,
/// with the connections open at each look; ends with the window.
async fn sample_memory(
    watch: Watch,
    shared: Arc<Shared>,
    measure_at: Instant,
) -> Vec<results::MemorySample> {
    let mut samples = Vec::new();
    let mut phase = shared.phase.clone();
    let mut at = measure_at;
    loop {
        tokio::select! {
            () = tokio::time::sleep_until(at) => {}
            changed = phase.changed() => if changed.is_err() { break } else { continue },
        }
        if matches!(*phase.borrow(), Phase::Drain | Phase::Stop) {
            break;
        }
        // A process that is gone has no memory left to look at; the run says why it ended.
        if let Ok(memory) = watch.memory() {
            samples.push(results::MemorySample {
                t: (Instant::now() - measure_at).as_secs_f64(),
                open: shared.open.load(Ordering::Relaxed) as u64,
                memory,
            });
        }
        at += MEMORY_STEP;
    }
    samples
}

/// How often the lag probe asks to be woken.
const LAG_STEP: Duration = Duration::from_millis(5);

/// The generator's own lateness over the measured window: how much later
/// than asked a task sleeping [`LAG_STEP`] at a time is woken. A ping
/// answered late by a generator this far behind is its fault, not the
/// server's; the report shows the percentiles.
async fn lag_probe(shared: Arc<Shared>) -> hdrhistogram::Histogram<u64> {
    let mut lag = stats::histogram();
    let mut phase = shared.phase.clone();
    loop {
        let at = Instant::now() + LAG_STEP;
        tokio::select! {
            () = tokio::time::sleep_until(at) => {}
            changed = phase.changed() => if changed.is_err() { break } else { continue },
        }
        if matches!(*phase.borrow(), Phase::Drain | Phase::Stop) {
            break;
        }
        if shared.recorder.measuring() {
            lag.saturating_record(stats::micros(Instant::now() - at));
        }
    }
    lag
}

fn progress_bar(plan: &Plan) -> ProgressBar {
    if !plan.progress {
        return ProgressBar::hidden();
    }
    let total = (plan.warmup + plan.duration).as_millis() as u64;
    let bar = ProgressBar::new(total);
    if let Ok(style) = ProgressStyle::with_template("{spinner} {elapsed:>4} [{bar:30}] {msg}") {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}
