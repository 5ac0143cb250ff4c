//! `chatspec fuzz`: grammar- and mutation-based inputs against a live server, with oracles after every input.
//!
//! A protocol plugs in with a [`Fuzzer`] (its inputs, how a run of them is
//! sent and how a fresh client and a sentinel session are checked) and one
//! line in [`FUZZERS`]. The loop ([`run`]) is deterministic by seed: input
//! `i` is generated from `seed` and `i` alone, so a run is replayed
//! exactly. Inputs go in runs of [`FuzzOptions::per_session`], one after
//! another on one session for as long as the protocol's session survives
//! them, several runs at once ([`FuzzOptions::jobs`]). After every input the
//! fuzzer's own oracle runs (the input gets an answer or a close; silence
//! past the wait is a finding); after every batch a fresh client must still
//! handshake and get an answer in time, the sentinel session must still
//! receive what is sent to it, and, when the target's memory can be read,
//! its growth must stay under a bound. A run that fails is bisected down to
//! the input that fails alone, or to the inputs one session must carry for
//! the last of them to fail (saved as one input, with [`Step::Probe`]
//! between them); a finding is then minimized (steps removed, then the
//! failing step cut) and saved as a replayable JSON file.
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
    /// The probe, on the session the steps before it used: it ends one
    /// input and what follows is the next, on the same session while it
    /// lasts. (A finding that needs several inputs on one session.)
    Probe,
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
            Step::Probe => return None,
        })
    }

    /// The hex of a step that carries bytes.
    fn hex(&self) -> Option<&str> {
        match self {
            Step::Binary { hex } | Step::Tcp { hex, .. } | Step::WsFrame { hex } => Some(hex),
            Step::Text { .. } | Step::Fresh { .. } | Step::Probe => None,
        }
    }
}

impl Input {
    /// An input read from a replay file (a finding's JSON): every step's
    /// hex is checked, so a bad file is refused with what is wrong in it
    /// rather than sent as other bytes.
    pub fn parse(json: &str) -> Result<Input, String> {
        let input: Input =
            serde_json::from_str(json).map_err(|e| format!("not a fuzz input: {e}"))?;
        for (n, step) in input.steps.iter().enumerate() {
            if let Some(hex) = step.hex() {
                unhex(hex).map_err(|e| format!("step {}: {e}", n + 1))?;
            }
        }
        Ok(input)
    }

    /// The inputs this one is made of: its steps cut at every
    /// [`Step::Probe`] (one input, when it has none).
    pub fn split_at_probes(&self) -> Vec<Input> {
        self.steps
            .split(|step| *step == Step::Probe)
            .map(|steps| Input {
                protocol: self.protocol.clone(),
                class: self.class.clone(),
                steps: steps.to_vec(),
            })
            .collect()
    }

    /// `inputs` as one input run on one session: their steps with a
    /// [`Step::Probe`] between two inputs, the class of the first.
    pub fn joined(inputs: &[Input]) -> Input {
        let mut steps = Vec::new();
        for (n, input) in inputs.iter().enumerate() {
            if n > 0 {
                steps.push(Step::Probe);
            }
            steps.extend(input.steps.iter().cloned());
        }
        Input {
            protocol: inputs
                .first()
                .map_or_else(String::new, |i| i.protocol.clone()),
            class: inputs.first().map_or_else(String::new, |i| i.class.clone()),
            steps,
        }
    }
}

/// Lower-case hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    base16ct::lower::encode_string(bytes)
}

/// The bytes of a hex string (a replay file's), or what is wrong with it.
pub fn unhex(text: &str) -> Result<Vec<u8>, String> {
    base16ct::mixed::decode_vec(text).map_err(|e| match e {
        base16ct::Error::InvalidLength => format!(
            "its hex has an odd number of digits ({}): a byte is cut in half",
            text.len()
        ),
        base16ct::Error::InvalidEncoding => {
            let at = text
                .char_indices()
                .find(|(_, c)| !c.is_ascii_hexdigit())
                .map_or(0, |(at, _)| at);
            format!(
                "its hex has a character that is not a hex digit at offset {at}: {:?}",
                &text[at..].chars().next().unwrap_or(' ')
            )
        }
    })
}

/// The bytes of a step's hex. Generated inputs and replay files read with
/// [`Input::parse`] always have hex; an input built some other way with
/// bad hex is refused here, never sent as other bytes.
pub(crate) fn step_bytes(hex: &str) -> Result<Vec<u8>, Broken> {
    unhex(hex).map_err(|e| Broken::new(Oracle::BadInput, format!("the input is broken: {e}")))
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
    /// The input itself cannot be sent (bad hex in a step): no finding about the server.
    BadInput,
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
    /// Sends `inputs` in order, each followed by the probe, on one session
    /// for as long as it survives them (a fresh one after a close; steps
    /// that need a connection of their own get one), and checks every input
    /// got an answer or a close in time. Stops at the first that did not:
    /// its position and what broke. The inputs hold no [`Step::Probe`].
    fn execute_batch<'a>(
        &'a self,
        target: &'a FuzzTarget,
        inputs: &'a [Input],
        wait: Duration,
    ) -> BoxFuture<'a, Option<(usize, Broken)>>;
    /// Sends `input` (the inputs it is made of, when it holds
    /// [`Step::Probe`]s, on one session) and checks it got an answer or a
    /// close in time.
    fn execute<'a>(
        &'a self,
        target: &'a FuzzTarget,
        input: &'a Input,
        wait: Duration,
    ) -> BoxFuture<'a, Result<(), Broken>> {
        Box::pin(async move {
            let inputs = input.split_at_probes();
            match self.execute_batch(target, &inputs, wait).await {
                None => Ok(()),
                Some((_, broken)) => Err(broken),
            }
        })
    }
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
    /// Runs of inputs sent at once, each run on its own session.
    pub jobs: u64,
    /// Inputs sent one after another on one session (each followed by the
    /// probe) before the run ends and the next opens its own; 1: a fresh
    /// session for every input.
    pub per_session: u64,
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
            per_session: 16,
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
/// The inputs of a batch (up to the next check of the fresh client, the
/// sentinel and the memory) are cut into runs of
/// [`FuzzOptions::per_session`], [`FuzzOptions::jobs`] runs in flight at
/// once, each on its own session ([`Fuzzer::execute_batch`]). A run that
/// fails stops there; what it did not send goes on in a run of its own,
/// and the failure is isolated ([`isolate`]): only one that repeats alone
/// is a finding (one that does not is counted as `unconfirmed`); a server
/// that falls over under the load is caught by the batch checks.
pub async fn run(
    fuzzer: &dyn Fuzzer,
    target: &FuzzTarget,
    options: &FuzzOptions,
) -> anyhow::Result<FuzzReport> {
    use futures::StreamExt;

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
    let jobs = usize::try_from(options.jobs.max(1)).unwrap_or(usize::MAX);
    let per_session = usize::try_from(options.per_session.max(1)).unwrap_or(usize::MAX);
    let batch = options.batch.max(1);
    let mut i = 0;
    'run: while i < options.count && started.elapsed() < options.duration {
        let end = ((i / batch + 1) * batch).min(options.count);
        let inputs: Vec<(u64, Input)> = (i..end)
            .map(|k| (k, fuzzer.generate(&mut Gen::new(options.seed, k))))
            .filter(|(_, input)| {
                !options.exclude.contains(&input.class) && !found.contains(&input.class)
            })
            .collect();
        let mut pending: Vec<Run> = inputs.chunks(per_session).map(Run::new).collect();
        while !pending.is_empty() {
            let results: Vec<Option<(usize, Broken)>> = futures::stream::iter(
                pending
                    .iter()
                    .map(|run| fuzzer.execute_batch(target, &run.inputs, options.wait)),
            )
            .buffered(jobs)
            .collect()
            .await;
            let mut next = Vec::new();
            for (run, result) in pending.iter().zip(results) {
                let sent = result.as_ref().map_or(run.inputs.len(), |(at, _)| at + 1);
                for input in &run.inputs[..sent] {
                    *report
                        .classes
                        .entry(class_family(&input.class))
                        .or_default() += 1;
                }
                let Some((at, broken)) = result else { continue };
                if sent < run.inputs.len() {
                    next.push(run.rest(sent));
                }
                if found.contains(&run.inputs[at].class) {
                    continue;
                }
                let Some((k, broken, input)) =
                    isolate(fuzzer, target, &run.upto(at), &broken, options.wait).await
                else {
                    report.unconfirmed += 1;
                    continue;
                };
                // Isolated to an input of a class that already has its finding.
                if found.contains(&input.class) {
                    continue;
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
                    report.inputs = k + 1;
                    i = k + 1;
                    break 'run;
                }
            }
            pending = next;
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

/// Inputs sent one after another on one session, with their indexes.
#[derive(Debug, Clone)]
struct Run {
    indexes: Vec<u64>,
    inputs: Vec<Input>,
}

impl Run {
    fn new(inputs: &[(u64, Input)]) -> Run {
        Run {
            indexes: inputs.iter().map(|(k, _)| *k).collect(),
            inputs: inputs.iter().map(|(_, input)| input.clone()).collect(),
        }
    }

    /// The inputs from position `from` on.
    fn rest(&self, from: usize) -> Run {
        Run {
            indexes: self.indexes[from..].to_vec(),
            inputs: self.inputs[from..].to_vec(),
        }
    }

    /// The inputs up to position `at`, included.
    fn upto(&self, at: usize) -> Run {
        Run {
            indexes: self.indexes[..=at].to_vec(),
            inputs: self.inputs[..=at].to_vec(),
        }
    }
}

/// The finding of a run whose last input broke `broken`'s oracle, sent
/// again alone (nothing else in flight): the last input, if it fails on a
/// fresh session; otherwise the shortest tail of the run that still fails
/// on one session, found by bisection, whose first input is the one that
/// left the session (or the server) broken for the last. That tail is the
/// finding, joined into one input with [`Step::Probe`] between its inputs
/// (its first input alone, when that fails alone). `None` when nothing
/// fails alone: the failure needed the inputs in flight beside it.
/// Returns the index of the input it names, what broke, and the input.
async fn isolate(
    fuzzer: &dyn Fuzzer,
    target: &FuzzTarget,
    run: &Run,
    broken: &Broken,
    wait: Duration,
) -> Option<(u64, Broken, Input)> {
    let fails = |inputs: &[Input]| {
        let inputs = inputs.to_vec();
        async move {
            match fuzzer.execute_batch(target, &inputs, wait).await {
                Some((_, again)) if again.oracle == broken.oracle => Some(again),
                _ => None,
            }
        }
    };
    let last = run.inputs.len() - 1;
    if let Some(again) = fails(&run.inputs[last..]).await {
        return Some((run.indexes[last], again, run.inputs[last].clone()));
    }
    if last == 0 {
        return None;
    }
    let mut failing = fails(&run.inputs).await?;
    // inputs[lo..] fails on one session, inputs[hi..] does not.
    let (mut lo, mut hi) = (0, last);
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        match fails(&run.inputs[mid..]).await {
            Some(again) => {
                failing = again;
                lo = mid;
            }
            None => hi = mid,
        }
    }
    if let Some(again) = fails(&run.inputs[lo..=lo]).await {
        return Some((run.indexes[lo], again, run.inputs[lo].clone()));
    }
    let detail = format!(
        "after inputs {} to {} on one session: {}",
        run.indexes[lo], run.indexes[last], failing.detail
    );
    Some((
        run.indexes[lo],
        Broken::new(failing.oracle, detail),
        Input::joined(&run.inputs[lo..]),
    ))
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A fuzzer without a server: input `bad` fails on any session, and
    /// `victim` fails on a session that carried `poison` before it.
    struct Fake;

    fn texts(input: &Input) -> impl Iterator<Item = &str> {
        input.steps.iter().filter_map(|s| match s {
            Step::Text { text } => Some(text.as_str()),
            _ => None,
        })
    }

    struct Quiet;

    impl Sentinel for Quiet {
        fn check(&mut self, _wait: Duration) -> BoxFuture<'_, Result<(), Broken>> {
            Box::pin(async { Ok(()) })
        }
    }

    impl Fuzzer for Fake {
        fn protocol(&self) -> Protocol {
            Protocol::Socketio
        }

        fn generate(&self, gen: &mut Gen) -> Input {
            let class = match gen.below(40) {
                0 => "bad",
                1 => "poison",
                2..=9 => "victim",
                _ => "plain",
            };
            Input {
                protocol: "socketio".to_owned(),
                class: class.to_owned(),
                steps: vec![Step::Text { text: class.into() }],
            }
        }

        fn execute_batch<'a>(
            &'a self,
            _target: &'a FuzzTarget,
            inputs: &'a [Input],
            _wait: Duration,
        ) -> BoxFuture<'a, Option<(usize, Broken)>> {
            Box::pin(async move {
                let mut poisoned = false;
                for (at, input) in inputs.iter().enumerate() {
                    for text in texts(input) {
                        match text {
                            "bad" => return Some((at, Broken::new(Oracle::Silence, "bad"))),
                            "poison" => poisoned = true,
                            "victim" if poisoned => {
                                return Some((at, Broken::new(Oracle::Silence, "poisoned")))
                            }
                            _ => {}
                        }
                    }
                }
                None
            })
        }

        fn fresh_client<'a>(
            &'a self,
            _target: &'a FuzzTarget,
            _wait: Duration,
        ) -> BoxFuture<'a, Result<(), Broken>> {
            Box::pin(async { Ok(()) })
        }

        fn sentinel<'a>(
            &'a self,
            _target: &'a FuzzTarget,
            _wait: Duration,
        ) -> BoxFuture<'a, Result<Box<dyn Sentinel>, Broken>> {
            Box::pin(async { Ok(Box::new(Quiet) as Box<dyn Sentinel>) })
        }
    }

    #[tokio::test]
    async fn a_failing_run_is_bisected_to_the_input_or_the_inputs_one_session_needs() {
        let target = FuzzTarget {
            url: "fake".to_owned(),
            tokens: Vec::new(),
        };
        let options = FuzzOptions {
            count: 400,
            per_session: 16,
            jobs: 4,
            ..FuzzOptions::default()
        };
        let report = run(&Fake, &target, &options).await.expect("the run");
        assert_eq!(report.inputs, 400);
        let classes: Vec<&str> = report
            .findings
            .iter()
            .map(|f| f.input.class.as_str())
            .collect();
        assert_eq!(classes.len(), 2, "{:#?}", report.findings);
        assert!(
            classes.contains(&"bad") && classes.contains(&"poison"),
            "{classes:?}"
        );
        for finding in &report.findings {
            let sent: Vec<&str> = texts(&finding.input).collect();
            match finding.input.class.as_str() {
                "bad" => assert_eq!(sent, ["bad"]),
                _ => assert_eq!(sent, ["poison", "victim"], "{:?}", finding.input),
            }
            let again = Fake.execute(&target, &finding.input, options.wait).await;
            assert!(again.is_err(), "{:?} does not replay", finding.input);
        }
    }

    #[test]
    fn a_joined_input_splits_back_into_its_inputs() {
        let input = |class: &str, text: &str| Input {
            protocol: "assa".to_owned(),
            class: class.to_owned(),
            steps: vec![Step::Text { text: text.into() }, Step::binary(&[0, 255])],
        };
        let inputs = [input("a", "one"), input("b", "two")];
        let joined = Input::joined(&inputs);
        assert_eq!(joined.steps.len(), 5);
        assert_eq!(joined.steps[2], Step::Probe);
        let split = joined.split_at_probes();
        assert_eq!(split.len(), 2);
        assert_eq!(split[0], inputs[0]);
        assert_eq!(split[1].steps, inputs[1].steps);
    }

    #[test]
    fn a_replay_file_with_bad_hex_is_refused_with_what_is_wrong() {
        let file = |hex: &str| {
            format!(
                r#"{{"protocol":"assa","class":"x","steps":[{{"via":"text","text":"a"}},{{"via":"tcp","hex":"{hex}"}}]}}"#
            )
        };
        let parsed = Input::parse(&file("7b0a")).expect("good hex");
        assert_eq!(parsed.steps[1], Step::tcp(b"{\n", false));
        let odd = Input::parse(&file("7b0")).expect_err("odd");
        assert!(
            odd.starts_with("step 2: ") && odd.contains("odd number"),
            "{odd}"
        );
        let bad = Input::parse(&file("7bzz")).expect_err("not hex");
        assert!(bad.contains("offset 2") && bad.contains("'z'"), "{bad}");
        assert!(Input::parse("{")
            .expect_err("not JSON")
            .starts_with("not a fuzz input"));
    }
}
