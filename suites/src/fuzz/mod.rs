//! `chatspec fuzz`: grammar- and mutation-based inputs against a live server, with oracles after every input.
//!
//! A protocol plugs in with a [`Fuzzer`] (its inputs, how one is sent and
//! how a fresh client and a sentinel session are checked) and one line in
//! [`FUZZERS`]. The loop ([`run`]) is deterministic by seed: input `i` is
//! generated from `seed` and `i` alone, so a run is replayed exactly. After
//! every input the fuzzer's own oracle runs (the input gets an answer or a
//! close; silence past the wait is a finding); after every batch a fresh
//! client must still handshake and get an answer in time, the sentinel
//! session must still receive what is sent to it, and, when the target's
//! memory can be read, its growth must stay under a bound. A finding is
//! minimized (steps removed, then the failing step cut) and saved as a
//! replayable JSON file.
//!
//! Drivers run on a bare [`Link`](crate::wire::Link): no transcript, no
//! mutation, full speed; nothing here knows the case model.

pub mod assa;
mod grammar;
pub mod raw;
pub mod report;
pub mod socketcluster;
pub mod socketio;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use protocols::Protocol;
use serde::{Deserialize, Serialize};

pub use grammar::Gen;
pub use report::{Finding, FuzzReport};

/// One fuzz input: steps sent in order on one session (or on fresh connections).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Input {
    /// The protocol id.
    pub protocol: String,
    /// The input class (`grammar`, `mutation:<how>`, `cve:<which>`, ...).
    pub class: String,
    /// What is sent.
    pub steps: Vec<Step>,
}

/// One thing sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "via", rename_all = "kebab-case")]
pub enum Step {
    /// A text frame (Engine.IO packet, ASSA JSON line) on the input's session.
    Text {
        /// The frame.
        text: String,
    },
    /// A binary frame on the input's session, hex.
    Binary {
        /// The bytes, hex.
        hex: String,
    },
    /// Raw bytes on a fresh TCP connection to the target, hex; the server
    /// must answer or close within the wait unless `may_wait` (a truncated frame).
    Tcp {
        /// The bytes, hex.
        hex: String,
        /// Whether silence is a correct answer.
        #[serde(default)]
        may_wait: bool,
    },
    /// A WebSocket handshake on a fresh TCP connection, then these raw frame
    /// bytes (hex): the server must close the connection.
    WsFrame {
        /// The frame bytes, hex.
        hex: String,
    },
    /// A text message on a fresh WebSocket, before any handshake of the
    /// protocol (SocketCluster's `#handshake`): then the handshake must be
    /// answered, or the connection closed, within the wait.
    Fresh {
        /// The message.
        text: String,
    },
}

impl Step {
    /// A binary step.
    pub fn binary(bytes: &[u8]) -> Step {
        Step::Binary { hex: hex(bytes) }
    }

    /// A raw TCP step.
    pub fn tcp(bytes: &[u8], may_wait: bool) -> Step {
        Step::Tcp {
            hex: hex(bytes),
            may_wait,
        }
    }

    /// A raw WebSocket frame step.
    pub fn ws_frame(bytes: &[u8]) -> Step {
        Step::WsFrame { hex: hex(bytes) }
    }

    /// The step cut to `len` bytes (for minimization), if it is longer.
    fn truncated(&self, len: usize) -> Option<Step> {
        let cut =
            |s: &str| -> Option<String> { (s.len() > len * 2).then(|| s[..len * 2].to_owned()) };
        Some(match self {
            Step::Text { text } => {
                let end = (0..=len.min(text.len()))
                    .rev()
                    .find(|i| text.is_char_boundary(*i))
                    .unwrap_or(0);
                if end >= text.len() {
                    return None;
                }
                Step::Text {
                    text: text[..end].to_owned(),
                }
            }
            Step::Binary { hex } => Step::Binary { hex: cut(hex)? },
            Step::Tcp { hex, may_wait } => Step::Tcp {
                hex: cut(hex)?,
                may_wait: *may_wait,
            },
            Step::WsFrame { hex } => Step::WsFrame { hex: cut(hex)? },
            Step::Fresh { text } => match (Step::Text { text: text.clone() }).truncated(len)? {
                Step::Text { text } => Step::Fresh { text },
                _ => return None,
            },
        })
    }
}

/// Lower-case hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The bytes of a hex string (a replay file's); `None` when it is not hex.
pub fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

/// Where the server under test is, as a fuzzer needs it.
#[derive(Debug, Clone)]
pub struct FuzzTarget {
    /// `http://host:port` (Socket.IO), `host:port` (ASSA) or
    /// `ws://host:port/socketcluster/` (SocketCluster).
    pub url: String,
    /// ASSA: tokens the server accepts, one per user (the sentinel, the prober, the fuzzed session).
    pub tokens: Vec<String>,
}

/// Why an oracle fired.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Oracle {
    /// The input got neither an answer nor a close within the wait.
    Silence,
    /// A fresh client could not complete the handshake and get an answer in time.
    FreshClient,
    /// The sentinel session stopped receiving what was sent to it.
    Sentinel,
    /// The server's memory grew beyond the bound under the steady workload.
    Memory,
    /// The server answered with something the protocol forbids.
    BadAnswer,
}

/// What a fuzzer's check found wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Broken {
    /// Which oracle.
    pub oracle: Oracle,
    /// What happened.
    pub detail: String,
}

impl Broken {
    /// A broken oracle; the detail is cut to 300 characters (an echoed input can be megabytes).
    pub fn new(oracle: Oracle, detail: impl Into<String>) -> Broken {
        let mut detail = detail.into();
        if detail.len() > 300 {
            let end = (0..=300)
                .rev()
                .find(|i| detail.is_char_boundary(*i))
                .unwrap_or(0);
            detail.truncate(end);
            detail.push_str("...");
        }
        Broken { oracle, detail }
    }
}

/// A protocol's side of the fuzzer.
pub trait Fuzzer: Send + Sync {
    /// The protocol.
    fn protocol(&self) -> Protocol;
    /// Input `gen` describes: from the grammar, a mutation of a valid session, or a CVE class.
    fn generate(&self, gen: &mut Gen) -> Input;
    /// Sends `input` and checks it got an answer or a close in time.
    fn execute<'a>(
        &'a self,
        target: &'a FuzzTarget,
        input: &'a Input,
        wait: Duration,
    ) -> BoxFuture<'a, Result<(), Broken>>;
    /// A fresh client handshakes and gets an answer in time.
    fn fresh_client<'a>(
        &'a self,
        target: &'a FuzzTarget,
        wait: Duration,
    ) -> BoxFuture<'a, Result<(), Broken>>;
    /// Opens the sentinel session, in a room where it is sent to.
    fn sentinel<'a>(
        &'a self,
        target: &'a FuzzTarget,
        wait: Duration,
    ) -> BoxFuture<'a, Result<Box<dyn Sentinel>, Broken>>;
}

/// A session kept open for the whole run: it must keep receiving what is sent to it.
pub trait Sentinel: Send {
    /// Sends it one message (through the server) and waits for it.
    fn check(&mut self, wait: Duration) -> BoxFuture<'_, Result<(), Broken>>;
}

/// The checks a sentinel task runs: its index, and where to say whether
/// the message came back.
pub(crate) type SentinelCheck = (u64, tokio::sync::oneshot::Sender<Result<(), String>>);

/// A sentinel whose session lives in a task of its own (which keeps it
/// read and its heartbeat answered) and runs each check it is sent.
pub(crate) struct TaskSentinel {
    tx: tokio::sync::mpsc::Sender<SentinelCheck>,
    n: u64,
    /// How many times the wait a check may take.
    waits: u32,
    /// What the check waits for, for the finding ("NEW_MESSAGE").
    awaited: &'static str,
}

impl TaskSentinel {
    /// A sentinel over the task that `tx` feeds.
    pub(crate) fn new(
        tx: tokio::sync::mpsc::Sender<SentinelCheck>,
        waits: u32,
        awaited: &'static str,
    ) -> Self {
        TaskSentinel {
            tx,
            n: 0,
            waits,
            awaited,
        }
    }
}

impl Sentinel for TaskSentinel {
    fn check(&mut self, wait: Duration) -> BoxFuture<'_, Result<(), Broken>> {
        Box::pin(async move {
            self.n += 1;
            let (done, answer) = tokio::sync::oneshot::channel();
            let gone = || Broken::new(Oracle::Sentinel, "the sentinel session ended");
            self.tx.send((self.n, done)).await.map_err(|_| gone())?;
            match tokio::time::timeout(wait * self.waits, answer).await {
                Ok(Ok(Ok(()))) => Ok(()),
                Ok(Ok(Err(e))) => Err(Broken::new(Oracle::Sentinel, e)),
                Ok(Err(_)) => Err(gone()),
                Err(_) => Err(Broken::new(
                    Oracle::Sentinel,
                    format!("the sentinel got no {} in time", self.awaited),
                )),
            }
        })
    }
}

/// Every protocol the fuzzer covers, one line each.
pub static FUZZERS: &[&dyn Fuzzer] = &[
    &socketio::SocketioFuzzer,
    &assa::AssaFuzzer,
    &socketcluster::ScFuzzer,
];

/// The fuzzer of a protocol, if it has one.
pub fn fuzzer(protocol: Protocol) -> Option<&'static dyn Fuzzer> {
    FUZZERS.iter().copied().find(|f| f.protocol() == protocol)
}

/// How a run is bounded and what it watches.
#[derive(Debug, Clone)]
pub struct FuzzOptions {
    /// The seed; input `i` depends only on it and `i`.
    pub seed: u64,
    /// Stop after this long.
    pub duration: Duration,
    /// Stop after this many inputs.
    pub count: u64,
    /// How long an answer may take.
    pub wait: Duration,
    /// Inputs between two checks of the fresh client, the sentinel and the memory.
    pub batch: u64,
    /// Inputs sent at once, each on its own connection.
    pub jobs: u64,
    /// The process whose resident memory is watched (the embedded server: this one).
    pub pid: Option<u32>,
    /// Growth of resident memory over the first batch's that is a finding.
    pub memory_bound: u64,
    /// Prints progress.
    pub progress: bool,
    /// Where findings and the summary go.
    pub out: Option<PathBuf>,
    /// Input classes not sent (known findings of a target, each with its reason where it is listed).
    pub exclude: Vec<String>,
}

impl Default for FuzzOptions {
    fn default() -> Self {
        FuzzOptions {
            seed: 0,
            duration: Duration::from_secs(60),
            count: u64::MAX,
            wait: Duration::from_secs(2),
            batch: 256,
            jobs: 16,
            pid: None,
            memory_bound: 256 * 1024 * 1024,
            progress: false,
            out: None,
            exclude: Vec::new(),
        }
    }
}

/// Most findings of one run.
const MAX_FINDINGS: usize = 10;

/// Fuzzes `target` with `fuzzer` until the duration or the count is
/// reached, the server stops answering, or [`MAX_FINDINGS`] findings (one
/// per input class, each minimized); then writes the report under `out`.
///
/// Inputs go in groups of [`FuzzOptions::jobs`], each on its own
/// connection, all at once (a group never crosses a batch boundary); their
/// results are taken in index order. An input that fails within a group is
/// run again alone: only a failure that repeats alone is a finding (one
/// that does not is counted as `unconfirmed`); a server that falls over
/// under the load is caught by the batch checks.
pub async fn run(
    fuzzer: &dyn Fuzzer,
    target: &FuzzTarget,
    options: &FuzzOptions,
) -> anyhow::Result<FuzzReport> {
    let started = Instant::now();
    let mut report = FuzzReport::new(fuzzer.protocol(), &target.url, options.seed);
    let mut progress = report::Progress::new(options.progress);
    let mut sentinel = match fuzzer.sentinel(target, options.wait).await {
        Ok(s) => s,
        Err(broken) => anyhow::bail!("cannot open the sentinel session: {}", broken.detail),
    };
    let mut baseline = None;
    // Classes that produced a finding: one finding each is enough.
    let mut found: Vec<String> = Vec::new();
    let jobs = options.jobs.max(1);
    let batch = options.batch.max(1);
    let mut i = 0;
    'run: while i < options.count && started.elapsed() < options.duration {
        let end = (i + jobs).min(options.count).min((i / batch + 1) * batch);
        let group: Vec<(u64, Input)> = (i..end)
            .map(|k| (k, fuzzer.generate(&mut Gen::new(options.seed, k))))
            .filter(|(_, input)| {
                !options.exclude.contains(&input.class) && !found.contains(&input.class)
            })
            .collect();
        let results = futures::future::join_all(
            group
                .iter()
                .map(|(_, input)| fuzzer.execute(target, input, options.wait)),
        )
        .await;
        for ((k, input), result) in group.into_iter().zip(results) {
            *report
                .classes
                .entry(class_family(&input.class))
                .or_default() += 1;
            let Err(broken) = result else { continue };
            if found.contains(&input.class) {
                continue;
            }
            if jobs > 1 {
                let alone = fuzzer.execute(target, &input, options.wait).await;
                if !matches!(alone, Err(ref b) if b.oracle == broken.oracle) {
                    report.unconfirmed += 1;
                    continue;
                }
            }
            // A server that no longer answers cannot tell a smaller input from a larger one.
            let alive = fuzzer.fresh_client(target, options.wait).await.is_ok();
            let minimal = if alive {
                minimize(fuzzer, target, &input, &broken, options.wait).await
            } else {
                input.clone()
            };
            report.findings.push(Finding::new(k, broken, minimal));
            found.push(input.class.clone());
            if !alive || report.findings.len() >= MAX_FINDINGS {
                i = k + 1;
                report.inputs = i;
                break 'run;
            }
        }
        i = end;
        report.inputs = i;
        if i % batch == 0 || i == options.count {
            if let Some(broken) =
                batch_checks(fuzzer, target, sentinel.as_mut(), options, &mut baseline).await
            {
                let last = fuzzer.generate(&mut Gen::new(options.seed, i - 1));
                report.findings.push(Finding::new(i - 1, broken, last));
                break;
            }
        }
        progress.tick(i, started.elapsed(), report.findings.len());
    }
    progress.finish(i, started.elapsed(), report.findings.len());
    report.seconds = started.elapsed().as_secs_f64();
    report.memory = baseline.map(|b| (b, rss(options.pid).unwrap_or(b)));
    if let Some(out) = &options.out {
        report.write(out)?;
    }
    Ok(report)
}

/// Replays a saved input once and checks every oracle after it.
pub async fn replay(
    fuzzer: &dyn Fuzzer,
    target: &FuzzTarget,
    input: &Input,
    options: &FuzzOptions,
) -> Result<(), Broken> {
    let mut sentinel = fuzzer.sentinel(target, options.wait).await?;
    fuzzer.execute(target, input, options.wait).await?;
    let mut baseline = None;
    match batch_checks(fuzzer, target, sentinel.as_mut(), options, &mut baseline).await {
        Some(broken) => Err(broken),
        None => Ok(()),
    }
}

/// The fresh client, the sentinel and the memory bound.
async fn batch_checks(
    fuzzer: &dyn Fuzzer,
    target: &FuzzTarget,
    sentinel: &mut dyn Sentinel,
    options: &FuzzOptions,
    baseline: &mut Option<u64>,
) -> Option<Broken> {
    if let Err(b) = fuzzer.fresh_client(target, options.wait).await {
        return Some(b);
    }
    if let Err(b) = sentinel.check(options.wait).await {
        return Some(b);
    }
    let now = rss(options.pid)?;
    let base = *baseline.get_or_insert(now);
    (now > base.saturating_add(options.memory_bound)).then(|| {
        Broken::new(
            Oracle::Memory,
            format!(
                "resident memory grew from {} MiB to {} MiB",
                base >> 20,
                now >> 20
            ),
        )
    })
}

/// The class up to its first `:` (`mutation`, `cve`, `grammar`, ...), for the summary.
fn class_family(class: &str) -> String {
    class.split(':').next().unwrap_or(class).to_owned()
}

/// Resident memory of `pid` in bytes, from `/proc` (Linux); `None` elsewhere or without a pid.
pub fn rss(pid: Option<u32>) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{}/status", pid?)).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// The smallest input found that still breaks the same oracle: steps
/// removed one at a time, then the remaining steps cut in half while it
/// still fails. At most 40 replays.
async fn minimize(
    fuzzer: &dyn Fuzzer,
    target: &FuzzTarget,
    input: &Input,
    broken: &Broken,
    wait: Duration,
) -> Input {
    let mut best = input.clone();
    let mut budget = 40;
    let still = |candidate: Input| async move {
        let again = fuzzer.execute(target, &candidate, wait).await;
        (
            matches!(again, Err(ref b) if b.oracle == broken.oracle),
            candidate,
        )
    };
    let mut at = 0;
    while at < best.steps.len() && best.steps.len() > 1 && budget > 0 {
        budget -= 1;
        let mut candidate = best.clone();
        candidate.steps.remove(at);
        match still(candidate).await {
            (true, c) => best = c,
            (false, _) => at += 1,
        }
    }
    for at in 0..best.steps.len() {
        let mut len = 4096;
        while budget > 0 {
            let Some(step) = best.steps[at].truncated(len) else {
                len /= 2;
                if len == 0 {
                    break;
                }
                continue;
            };
            budget -= 1;
            let mut candidate = best.clone();
            candidate.steps[at] = step;
            match still(candidate).await {
                (true, c) => {
                    best = c;
                    len /= 2;
                }
                (false, _) => break,
            }
        }
    }
    best
}
