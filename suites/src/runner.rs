//! The runner: selects cases, runs them in parallel with a per-case time
//! limit, and collects a [`RunReport`].

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use futures::StreamExt;
use globset::{Glob, GlobSet, GlobSetBuilder};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use protocols::Protocol;

use crate::case::{Case, Ctx, Verdict};
use crate::mutate::Mutator;
use crate::report::{CaseResult, RunReport};
use crate::target::Targets;

/// Which cases a run takes.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    /// Only these protocols (all when empty).
    pub protocols: Vec<Protocol>,
    /// Only ids matching one of these globs (all when empty).
    pub include: Vec<String>,
    /// No id matching one of these globs.
    pub exclude: Vec<String>,
}

/// A glob in `--case` or `--exclude` was not a glob.
#[derive(Debug, thiserror::Error)]
#[error("`{glob}` is not a valid case glob: {source}")]
pub struct BadGlob {
    glob: String,
    source: globset::Error,
}

fn globset(globs: &[String]) -> Result<GlobSet, BadGlob> {
    let mut b = GlobSetBuilder::new();
    for g in globs {
        b.add(Glob::new(g).map_err(|source| BadGlob {
            glob: g.clone(),
            source,
        })?);
    }
    b.build().map_err(|source| BadGlob {
        glob: globs.join(","),
        source,
    })
}

impl Selection {
    /// The selected cases, in id order.
    pub fn select(&self, cases: &[Case]) -> Result<Vec<Case>, BadGlob> {
        let include = globset(&self.include)?;
        let exclude = globset(&self.exclude)?;
        let mut out: Vec<Case> = cases
            .iter()
            .filter(|c| self.protocols.is_empty() || self.protocols.contains(&c.protocol))
            .filter(|c| self.include.is_empty() || include.is_match(c.id))
            .filter(|c| !exclude.is_match(c.id))
            .cloned()
            .collect();
        out.sort_by_key(|c| c.id);
        Ok(out)
    }
}

/// How a run goes.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Cases run at once.
    pub jobs: usize,
    /// The time limit of one case.
    pub timeout: Duration,
    /// How long a driver waits for one expected frame.
    pub wait: Duration,
    /// Non-strict verdicts count as failures.
    pub strict: bool,
    /// Draw a progress bar (on a terminal, when not quiet).
    pub progress: bool,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            jobs: std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(2),
            timeout: Duration::from_secs(10),
            wait: Duration::from_secs(3),
            strict: false,
            progress: false,
        }
    }
}

/// Runs one case and returns its result; `mutator` alters what the target sends.
pub async fn run_case(
    case: &Case,
    targets: Arc<Targets>,
    options: &RunOptions,
    mutator: Option<Arc<Mutator>>,
) -> CaseResult {
    let mut ctx = Ctx::new(targets, options.wait);
    ctx.mutator = mutator;
    let transcript = ctx.transcript.clone();
    let started = Instant::now();
    // The body runs in its own task so that a panic in a case is an `error`
    // verdict, not the end of the run.
    let task = tokio::spawn((case.run)(ctx));
    let abort = task.abort_handle();
    let (verdict, reason) = match tokio::time::timeout(options.timeout, task).await {
        Ok(Ok(Ok(()))) => (Verdict::Pass, None),
        Ok(Ok(Err(failure))) => (
            failure.verdict(case.level),
            Some(failure.reason().to_owned()),
        ),
        Ok(Err(join)) => (Verdict::Error, Some(format!("the case panicked: {join}"))),
        Err(_) => {
            abort.abort();
            (
                Verdict::Timeout,
                Some(format!(
                    "the case did not finish within {} ms",
                    options.timeout.as_millis()
                )),
            )
        }
    };
    CaseResult {
        id: case.id.to_owned(),
        protocol: case.protocol.id().to_owned(),
        level: case.level,
        spec: case.spec.to_owned(),
        title: case.title.to_owned(),
        verdict,
        reason,
        duration_ms: started.elapsed().as_secs_f64() * 1000.0,
        transcript: if verdict == Verdict::Pass {
            Vec::new()
        } else {
            transcript.entries()
        },
    }
}

/// Runs the cases, `jobs` at a time.
pub async fn run(
    cases: &[Case],
    targets: Arc<Targets>,
    target_name: &str,
    options: &RunOptions,
) -> RunReport {
    let started_unix = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let started = Instant::now();
    let bar = progress_bar(cases.len() as u64, options.progress);
    let mut results: Vec<CaseResult> = futures::stream::iter(cases)
        .map(|case| {
            let targets = targets.clone();
            let bar = bar.clone();
            async move {
                let r = run_case(case, targets, options, None).await;
                bar.set_message(case.id);
                bar.inc(1);
                r
            }
        })
        .buffer_unordered(options.jobs.max(1))
        .collect()
        .await;
    bar.finish_and_clear();
    results.sort_by(|a, b| a.id.cmp(&b.id));
    RunReport {
        chatspec: env!("CARGO_PKG_VERSION").to_owned(),
        target: target_name.to_owned(),
        started_unix,
        wall_ms: started.elapsed().as_secs_f64() * 1000.0,
        strict: options.strict,
        results,
    }
}

fn progress_bar(len: u64, visible: bool) -> ProgressBar {
    if !visible {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr());
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} {elapsed} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar
}
