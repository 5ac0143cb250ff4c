//! The fuzz loop every protocol shares: runs of inputs on sessions of their own in a bounded window, the oracles checked beside them, failures isolated and minimized.
//!
//! Input `i` is generated from the seed and `i` alone and the runs are cut
//! from the inputs in index order, so what is sent is a function of the
//! seed however the runs interleave. Up to [`FuzzOptions::concurrency`]
//! runs are in flight at once; as one ends the next starts (no run waits
//! for the slowest of a group). Every [`FuzzOptions::batch`] inputs sent,
//! the fresh client, the sentinel and the memory are checked while the
//! runs go on; a check that fails is repeated once nothing is in flight,
//! and only one that fails again is a finding. A run that fails stops the
//! window from growing: the runs in flight finish, then each failure is
//! sent again alone and bisected ([`isolate`]), so a finding names the
//! input (or the inputs one session needs) that fails with nothing beside
//! it, and replays.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use futures::stream::FuturesUnordered;
use futures::StreamExt;
use tokio::sync::mpsc;

use super::report::{self, Finding, FuzzReport};
use super::{Broken, FuzzOptions, FuzzTarget, Fuzzer, Gen, Input, Oracle, Sentinel};

/// Most findings of one run.
const MAX_FINDINGS: usize = 10;

/// Fuzzes `target` with `fuzzer` until the duration or the count is
/// reached, the server stops answering, or [`MAX_FINDINGS`] findings (one
/// per input class, each minimized); then writes the report under `out`.
///
/// The inputs are cut into runs of [`FuzzOptions::per_session`], each sent
/// on a session of its own ([`Fuzzer::execute_batch`]), up to
/// [`FuzzOptions::concurrency`] of them in flight. A run that fails stops
/// there; what it did not send goes on in a run of its own, and the
/// failure is isolated ([`isolate`]) once the runs beside it are done: only
/// one that repeats alone is a finding (one that does not is counted as
/// `unconfirmed`); a server that falls over under the load is caught by
/// the checks of the fresh client, the sentinel and the memory.
pub async fn run(
    fuzzer: &dyn Fuzzer,
    target: &FuzzTarget,
    options: &FuzzOptions,
) -> anyhow::Result<FuzzReport> {
    let started = Instant::now();
    let mut report = FuzzReport::new(fuzzer.protocol(), &target.url, options.seed);
    let sentinel = match fuzzer.sentinel(target, options.wait).await {
        Ok(s) => s,
        Err(broken) => anyhow::bail!("cannot open the sentinel session: {}", broken.detail),
    };
    report.concurrency = options.concurrency_for(target);
    let (ask, asked) = mpsc::channel(1);
    let (tell, told) = mpsc::channel(1);
    let checks = checker(fuzzer, target, sentinel, options, asked, tell);
    let fuzzing = Loop::new(fuzzer, target, options, started, &mut report).run(ask, told);
    let (baseline, ()) = tokio::join!(checks, fuzzing);
    report.seconds = started.elapsed().as_secs_f64();
    report.memory = baseline.map(|b| (b, rss(options.pid).unwrap_or(b)));
    if let Some(out) = &options.out {
        report.write(out)?;
    }
    Ok(report)
}

/// Runs the checks of the fresh client, the sentinel and the memory each
/// time it is asked to, beside the runs; the memory's baseline at the end.
async fn checker(
    fuzzer: &dyn Fuzzer,
    target: &FuzzTarget,
    mut sentinel: Box<dyn Sentinel>,
    options: &FuzzOptions,
    mut asked: mpsc::Receiver<()>,
    tell: mpsc::Sender<Option<Broken>>,
) -> Option<u64> {
    let mut baseline = None;
    while asked.recv().await.is_some() {
        let result = batch_checks(fuzzer, target, sentinel.as_mut(), options, &mut baseline).await;
        if tell.send(result).await.is_err() {
            break;
        }
    }
    baseline
}

/// The state of one fuzz run's loop.
struct Loop<'a> {
    fuzzer: &'a dyn Fuzzer,
    target: &'a FuzzTarget,
    options: &'a FuzzOptions,
    started: Instant,
    report: &'a mut FuzzReport,
    progress: report::Progress,
    /// The index of the next input to generate.
    next: u64,
    /// What failed runs did not send, sent before new runs.
    rest: VecDeque<Run>,
    /// Failed runs (up to their failing input) waiting for the window to empty.
    failed: Vec<(Run, Broken)>,
    /// Input classes that produced a finding: one finding each is enough.
    found: Vec<String>,
    /// Inputs sent.
    sent: u64,
    /// Inputs sent when the checks were last asked for.
    checked: u64,
    /// The index of the input sent last.
    last: Option<u64>,
    /// Where the run stopped early (a finding that ends it): the inputs it counts.
    stopped: Option<u64>,
}

impl<'a> Loop<'a> {
    fn new(
        fuzzer: &'a dyn Fuzzer,
        target: &'a FuzzTarget,
        options: &'a FuzzOptions,
        started: Instant,
        report: &'a mut FuzzReport,
    ) -> Self {
        Loop {
            fuzzer,
            target,
            options,
            started,
            report,
            progress: report::Progress::new(options.progress),
            next: 0,
            rest: VecDeque::new(),
            failed: Vec::new(),
            found: Vec::new(),
            sent: 0,
            checked: 0,
            last: None,
            stopped: None,
        }
    }

    /// The next run of new inputs (the excluded classes and those with a
    /// finding left out), if the count and the duration allow one.
    fn new_run(&mut self) -> Option<Run> {
        let per_session = self.options.per_session.max(1);
        let mut run = Run::default();
        while run.inputs.is_empty() {
            if self.next >= self.options.count || self.started.elapsed() >= self.options.duration {
                return None;
            }
            let end = self
                .next
                .saturating_add(per_session)
                .min(self.options.count);
            for k in self.next..end {
                let input = self.fuzzer.generate(&mut Gen::new(self.options.seed, k));
                if !self.options.exclude.contains(&input.class)
                    && !self.found.contains(&input.class)
                {
                    run.indexes.push(k);
                    run.inputs.push(input);
                }
            }
            self.next = end;
        }
        Some(run)
    }

    /// Counts what a run sent, keeps what it did not send, and keeps its failure for isolation.
    fn finished(&mut self, run: Run, result: Option<(usize, Broken)>) {
        let sent = result.as_ref().map_or(run.inputs.len(), |(at, _)| at + 1);
        for input in &run.inputs[..sent] {
            *self
                .report
                .classes
                .entry(class_family(&input.class))
                .or_default() += 1;
        }
        self.sent += sent as u64;
        self.last = run.indexes.get(sent.wrapping_sub(1)).copied().or(self.last);
        let Some((at, broken)) = result else { return };
        if sent < run.inputs.len() {
            self.rest.push_back(run.rest(sent));
        }
        if !self.found.contains(&run.inputs[at].class) {
            self.failed.push((run.upto(at), broken));
        }
    }

    /// Isolates the failures kept (nothing in flight), minimizes and saves
    /// each confirmed one; whether the run goes on.
    async fn isolate_failures(&mut self) -> bool {
        let wait = self.options.wait;
        let mut failed = std::mem::take(&mut self.failed);
        // In the order of the inputs, whatever order the runs ended in.
        failed.sort_by_key(|(run, _)| run.indexes.last().copied());
        for (run, broken) in failed {
            let failing = &run.inputs[run.inputs.len() - 1];
            if self.found.contains(&failing.class) {
                continue;
            }
            let Some((k, broken, input)) =
                isolate(self.fuzzer, self.target, &run, &broken, wait).await
            else {
                self.report.unconfirmed += 1;
                continue;
            };
            // Isolated to an input of a class that already has its finding.
            if self.found.contains(&input.class) {
                continue;
            }
            // A server that no longer answers cannot tell a smaller input from a larger one.
            let alive = self.fuzzer.fresh_client(self.target, wait).await.is_ok();
            let minimal = if alive {
                minimize(self.fuzzer, self.target, &input, &broken, wait).await
            } else {
                input.clone()
            };
            self.report.findings.push(Finding::new(k, broken, minimal));
            self.found.push(input.class.clone());
            if !alive || self.report.findings.len() >= MAX_FINDINGS {
                self.stopped = Some(k + 1);
                return false;
            }
        }
        true
    }

    /// A check that failed: a finding on the input sent last.
    fn check_failed(&mut self, broken: Broken) {
        let k = self.last.unwrap_or(0);
        let input = self.fuzzer.generate(&mut Gen::new(self.options.seed, k));
        self.report.findings.push(Finding::new(k, broken, input));
        self.stopped = Some(self.next);
    }

    async fn run(mut self, ask: mpsc::Sender<()>, mut told: mpsc::Receiver<Option<Broken>>) {
        let concurrency = usize::try_from(self.report.concurrency.max(1)).unwrap_or(usize::MAX);
        let batch = self.options.batch.max(1);
        let (fuzzer, target, wait) = (self.fuzzer, self.target, self.options.wait);
        let mut in_flight = FuturesUnordered::new();
        // A check asked for and not answered yet.
        let mut checking = false;
        // A check that failed with runs in flight, to repeat once none is.
        let mut repeat: Option<Broken> = None;
        loop {
            while self.failed.is_empty() && repeat.is_none() && in_flight.len() < concurrency {
                let Some(run) = self.rest.pop_front().or_else(|| self.new_run()) else {
                    break;
                };
                in_flight.push(async move {
                    let result = fuzzer.execute_batch(target, &run.inputs, wait).await;
                    (run, result)
                });
            }
            if in_flight.is_empty() {
                if checking {
                    checking = false;
                    if let Some(broken) = told.recv().await.flatten() {
                        repeat = Some(broken);
                    }
                }
                if !self.failed.is_empty() {
                    if !self.isolate_failures().await {
                        break;
                    }
                    continue;
                }
                // A check that failed beside the runs, or the last check:
                // with nothing in flight.
                let repeated = repeat.take();
                if repeated.is_some() || self.sent > self.checked || self.sent == 0 {
                    self.checked = self.sent;
                    let result = match ask.send(()).await {
                        Ok(()) => told.recv().await.flatten(),
                        Err(_) => None,
                    };
                    if let Some(broken) = result {
                        self.check_failed(broken);
                        break;
                    }
                    if repeated.is_some() {
                        self.report.unconfirmed += 1;
                        continue;
                    }
                }
                // Nothing in flight and nothing left to send.
                break;
            }
            tokio::select! {
                Some((run, result)) = in_flight.next() => self.finished(run, result),
                answer = told.recv(), if checking => {
                    checking = false;
                    if let Some(broken) = answer.flatten() {
                        repeat = Some(broken);
                    }
                }
            }
            if !checking && repeat.is_none() && self.sent >= self.checked + batch {
                self.checked = self.sent;
                checking = ask.try_send(()).is_ok();
            }
            self.progress.tick(
                self.sent,
                self.started.elapsed(),
                self.report.findings.len(),
            );
        }
        self.report.inputs = self.stopped.unwrap_or(self.next);
        self.progress.finish(
            self.report.inputs,
            self.started.elapsed(),
            self.report.findings.len(),
        );
    }
}

/// Inputs sent one after another on one session, with their indexes.
#[derive(Debug, Clone, Default)]
struct Run {
    indexes: Vec<u64>,
    inputs: Vec<Input>,
}

impl Run {
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
    use crate::fuzz::{SessionFuzzer, Step};
    use crate::wire::Link;
    use futures::future::BoxFuture;
    use protocols::Protocol;

    /// A fuzzer without a server: input `bad` fails on any session,
    /// `victim` fails on a session that carried `poison` before it, and
    /// `close` ends its session (the next input opens a fresh one).
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

    impl SessionFuzzer for Fake {
        /// Whether the session carried `poison`.
        type Session = bool;

        fn protocol(&self) -> Protocol {
            Protocol::Socketio
        }

        fn generate(&self, gen: &mut Gen) -> Input {
            let class = match gen.below(40) {
                0 => "bad",
                1 => "poison",
                2..=9 => "victim",
                10..=14 => "close",
                _ => "plain",
            };
            Input {
                protocol: "socketio".to_owned(),
                class: class.to_owned(),
                steps: vec![Step::Text { text: class.into() }],
            }
        }

        fn open<'a>(
            &'a self,
            _target: &'a FuzzTarget,
            _link: &'a Link,
            _wait: Duration,
        ) -> BoxFuture<'a, Result<bool, Broken>> {
            Box::pin(async { Ok(false) })
        }

        fn send<'a>(
            &'a self,
            target: &'a FuzzTarget,
            link: &'a Link,
            session: &'a mut Option<bool>,
            input: &'a Input,
            wait: Duration,
        ) -> BoxFuture<'a, Result<(), Broken>> {
            Box::pin(async move {
                let mut poisoned = match session.take() {
                    Some(poisoned) => poisoned,
                    None => self.open(target, link, wait).await?,
                };
                for text in texts(input) {
                    // Beside the other runs, not in order.
                    tokio::task::yield_now().await;
                    match text {
                        "bad" => return Err(Broken::new(Oracle::Silence, "bad")),
                        "poison" => poisoned = true,
                        "victim" if poisoned => {
                            return Err(Broken::new(Oracle::Silence, "poisoned"))
                        }
                        "close" => return Ok(()),
                        _ => {}
                    }
                }
                *session = Some(poisoned);
                Ok(())
            })
        }

        fn probe<'a>(
            &'a self,
            _session: &'a mut bool,
            _wait: Duration,
        ) -> BoxFuture<'a, Result<bool, Broken>> {
            Box::pin(async { Ok(true) })
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
        for concurrency in [1, 4, 64] {
            let options = FuzzOptions {
                count: 400,
                per_session: 16,
                concurrency: Some(concurrency),
                ..FuzzOptions::default()
            };
            let report = run(&Fake, &target, &options).await.expect("the run");
            assert_eq!(report.inputs, 400);
            assert_eq!(report.unconfirmed, 0);
            let mut found: Vec<(&str, u64)> = report
                .findings
                .iter()
                .map(|f| (f.input.class.as_str(), f.index))
                .collect();
            found.sort();
            // Whatever the window, the same inputs are found: a function of the seed.
            let again = run(&Fake, &target, &options).await.expect("the run again");
            let mut second: Vec<(&str, u64)> = again
                .findings
                .iter()
                .map(|f| (f.input.class.as_str(), f.index))
                .collect();
            second.sort();
            assert_eq!(found, second);
            let classes: Vec<&str> = found.iter().map(|(c, _)| *c).collect();
            assert_eq!(classes, ["bad", "poison"], "{:#?}", report.findings);
            for finding in &report.findings {
                let sent: Vec<&str> = texts(&finding.input).collect();
                match finding.input.class.as_str() {
                    "bad" => assert_eq!(sent, ["bad"]),
                    _ => assert_eq!(sent, ["poison", "victim"], "{:?}", finding.input),
                }
                let again = Fake.execute(&target, &finding.input, options.wait).await;
                assert!(again.is_err(), "{:?} does not replay", finding.input);
                let regenerated =
                    SessionFuzzer::generate(&Fake, &mut Gen::new(options.seed, finding.index));
                assert_eq!(regenerated.class, finding.input.class);
            }
        }
    }
}
