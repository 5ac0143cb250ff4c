//! `chatspec fuzz`: grammar- and mutation-based inputs against a live server, with oracles after every input.
//!
//! A protocol plugs in with a [`SessionFuzzer`] (its inputs, its session,
//! how one input is sent on it and probed, its sentinel session) and one
//! line in [`FUZZERS`]; the rest is written once for every protocol: the
//! runs on one session and the fresh client ([`Fuzzer`], implemented for
//! every `SessionFuzzer`) and the loop ([`run`], in `runner`). The loop is
//! deterministic by seed: input `i` is generated from `seed` and `i`
//! alone, so a run is replayed exactly. Inputs go in runs of
//! [`FuzzOptions::per_session`], one after another on one session for as
//! long as the protocol's session survives them, in a sliding window of
//! runs ([`FuzzOptions::concurrency_for`]). After every input the
//! fuzzer's own oracle runs (the input gets an answer or a close; silence
//! past the wait is a finding); every batch of inputs a fresh client must
//! still handshake and get an answer in time, the sentinel session must
//! still receive what is sent to it, and, when the target's memory can be
//! read, its growth must stay under a bound. A run that fails is bisected
//! down to the input that fails alone, or to the inputs one session must
//! carry for the last of them to fail (saved as one input, with
//! [`Step::Probe`] between them); a finding is then minimized (steps
//! removed, then the failing step cut) and saved as a replayable JSON file.
//!
//! Drivers run on a bare [`Link`](crate::wire::Link): no transcript, no
//! mutation, full speed; nothing here knows the case model.

pub mod assa;
mod grammar;
pub mod raw;
pub mod report;
mod runner;
pub mod socketcluster;
pub mod socketio;

use std::path::PathBuf;
use std::time::Duration;

use futures::future::BoxFuture;
use protocols::Protocol;
use serde::{Deserialize, Serialize};

use crate::wire::Link;

pub use grammar::Gen;
pub use report::{Finding, FuzzReport};
pub use runner::{replay, rss, run};

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

/// Lower-case hex of `bytes` (table-driven: a megabyte frame's step is
/// hexed and read back for every input of its class).
pub fn hex(bytes: &[u8]) -> String {
    data_encoding::HEXLOWER.encode(bytes)
}

/// The bytes of a hex string (a replay file's, either case), or what is wrong with it.
pub fn unhex(text: &str) -> Result<Vec<u8>, String> {
    data_encoding::HEXLOWER_PERMISSIVE
        .decode(text.as_bytes())
        .map_err(|e| match e.kind {
            data_encoding::DecodeKind::Length => format!(
                "its hex has an odd number of digits ({}): a byte is cut in half",
                text.len()
            ),
            _ => {
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

impl FuzzTarget {
    /// Whether the server is on this machine: its host a loopback address or `localhost`.
    pub fn is_local(&self) -> bool {
        let rest = self
            .url
            .split_once("://")
            .map_or(self.url.as_str(), |(_, r)| r);
        let authority = rest.split('/').next().unwrap_or(rest);
        let host = match authority.rsplit_once(':') {
            Some((host, port)) if !host.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) => {
                host
            }
            _ => authority,
        };
        let host = host.trim_start_matches('[').trim_end_matches(']');
        host.eq_ignore_ascii_case("localhost")
            || host
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback())
    }
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

/// A protocol's side of the fuzzer: its inputs, its session, how one input
/// is sent on that session and how the session is probed. The runs, the
/// fresh client and the oracles around them are the same for every
/// protocol ([`Fuzzer`], implemented for every `SessionFuzzer`).
pub trait SessionFuzzer: Send + Sync {
    /// A session of the protocol, handshaken, on which inputs are sent one after another.
    type Session: Send;
    /// The protocol.
    fn protocol(&self) -> Protocol;
    /// Input `gen` describes: from the grammar, a mutation of a valid session, or a CVE class.
    fn generate(&self, gen: &mut Gen) -> Input;
    /// A fresh session, handshaken (the fuzzed sessions' and the fresh client's).
    fn open<'a>(
        &'a self,
        target: &'a FuzzTarget,
        link: &'a Link,
        wait: Duration,
    ) -> BoxFuture<'a, Result<Self::Session, Broken>>;
    /// Sends the steps of one input: those that go on a session on
    /// `session` (opened with [`SessionFuzzer::open`] when there is none and
    /// the input needs one), the others on connections of their own, each
    /// checked as its kind requires. `session` is left `None` when the server
    /// closed it or it can carry nothing more: no probe follows then. The
    /// input holds no [`Step::Probe`].
    fn send<'a>(
        &'a self,
        target: &'a FuzzTarget,
        link: &'a Link,
        session: &'a mut Option<Self::Session>,
        input: &'a Input,
        wait: Duration,
    ) -> BoxFuture<'a, Result<(), Broken>>;
    /// The probe after an input: its answer, or the session's close, must
    /// come within the wait. Whether the session is still open.
    fn probe<'a>(
        &'a self,
        session: &'a mut Self::Session,
        wait: Duration,
    ) -> BoxFuture<'a, Result<bool, Broken>>;
    /// Opens the sentinel session, in a room where it is sent to.
    fn sentinel<'a>(
        &'a self,
        target: &'a FuzzTarget,
        wait: Duration,
    ) -> BoxFuture<'a, Result<Box<dyn Sentinel>, Broken>>;
}

/// What the runner asks of a protocol: a [`SessionFuzzer`] seen through
/// one object-safe interface (what [`FUZZERS`] lists).
pub trait Fuzzer: Send + Sync {
    /// The protocol.
    fn protocol(&self) -> Protocol;
    /// Input `gen` describes.
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
    /// A fresh client handshakes and gets an answer to the probe in time.
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

impl<F: SessionFuzzer> Fuzzer for F {
    fn protocol(&self) -> Protocol {
        SessionFuzzer::protocol(self)
    }

    fn generate(&self, gen: &mut Gen) -> Input {
        SessionFuzzer::generate(self, gen)
    }

    fn execute_batch<'a>(
        &'a self,
        target: &'a FuzzTarget,
        inputs: &'a [Input],
        wait: Duration,
    ) -> BoxFuture<'a, Option<(usize, Broken)>> {
        Box::pin(async move {
            let link = Link::bare(wait);
            let mut session = None;
            for (at, input) in inputs.iter().enumerate() {
                let sent = async {
                    self.send(target, &link, &mut session, input, wait).await?;
                    if let Some(mut open) = session.take() {
                        if self.probe(&mut open, wait).await? {
                            session = Some(open);
                        }
                    }
                    Ok::<(), Broken>(())
                };
                if let Err(broken) = sent.await {
                    return Some((at, broken));
                }
            }
            None
        })
    }

    fn fresh_client<'a>(
        &'a self,
        target: &'a FuzzTarget,
        wait: Duration,
    ) -> BoxFuture<'a, Result<(), Broken>> {
        Box::pin(async move {
            let link = Link::bare(wait);
            let fresh = |b: Broken| Broken::new(Oracle::FreshClient, b.detail);
            let mut session = self.open(target, &link, wait).await.map_err(fresh)?;
            self.probe(&mut session, wait)
                .await
                .map(|_| ())
                .map_err(fresh)
        })
    }

    fn sentinel<'a>(
        &'a self,
        target: &'a FuzzTarget,
        wait: Duration,
    ) -> BoxFuture<'a, Result<Box<dyn Sentinel>, Broken>> {
        SessionFuzzer::sentinel(self, target, wait)
    }
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
    /// Runs of inputs in flight at once, each on its own session; `None`:
    /// [`FuzzOptions::concurrency_for`] the target decides.
    pub concurrency: Option<u64>,
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
            concurrency: None,
            per_session: 16,
            pid: None,
            memory_bound: 256 * 1024 * 1024,
            progress: false,
            out: None,
            exclude: Vec::new(),
        }
    }
}

/// Runs in flight at once against a server on this machine: enough to keep
/// both ends busy while some runs wait on a slow input (a megabyte frame,
/// a truncated one the server may wait on).
pub const LOCAL_CONCURRENCY: u64 = 64;
/// Runs in flight at once against a server elsewhere: one client should
/// not look like a flood to it.
pub const REMOTE_CONCURRENCY: u64 = 16;

impl FuzzOptions {
    /// The runs in flight at once: [`FuzzOptions::concurrency`] if given,
    /// else [`LOCAL_CONCURRENCY`] for a server on a loopback address and
    /// [`REMOTE_CONCURRENCY`] for any other.
    pub fn concurrency_for(&self, target: &FuzzTarget) -> u64 {
        self.concurrency.unwrap_or_else(|| {
            if target.is_local() {
                LOCAL_CONCURRENCY
            } else {
                REMOTE_CONCURRENCY
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_target_on_a_loopback_address_is_local() {
        let target = |url: &str| FuzzTarget {
            url: url.to_owned(),
            tokens: Vec::new(),
        };
        for url in [
            "http://127.0.0.1:3000",
            "127.0.0.1:12345",
            "ws://localhost:8000/socketcluster/",
            "ws://[::1]:8000/socketcluster/",
            "http://127.0.0.2",
        ] {
            assert!(target(url).is_local(), "{url}");
        }
        for url in [
            "http://10.0.0.1:3000",
            "chat.example:12345",
            "ws://[2001:db8::1]:80/",
        ] {
            assert!(!target(url).is_local(), "{url}");
        }
        let options = FuzzOptions::default();
        assert_eq!(
            options.concurrency_for(&target("127.0.0.1:1")),
            LOCAL_CONCURRENCY
        );
        assert_eq!(
            options.concurrency_for(&target("10.1.1.1:1")),
            REMOTE_CONCURRENCY
        );
        let given = FuzzOptions {
            concurrency: Some(3),
            ..FuzzOptions::default()
        };
        assert_eq!(given.concurrency_for(&target("127.0.0.1:1")), 3);
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
