//! What a fuzz run found: findings saved as replayable files, a JSON and a Markdown summary, and the progress line.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::Path;
use std::time::Duration;

use anyhow::Context;
use protocols::Protocol;
use serde::Serialize;

use super::{Broken, Input, Oracle};

/// One finding: which input broke which oracle, and the minimized input to replay.
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    /// The index of the input (with the seed, it regenerates the original).
    pub index: u64,
    /// The oracle that fired.
    pub oracle: Oracle,
    /// What happened.
    pub detail: String,
    /// The minimized input (`chatspec fuzz --replay` takes this file).
    pub input: Input,
}

impl Finding {
    /// A finding of input `index`.
    pub fn new(index: u64, broken: Broken, input: Input) -> Finding {
        Finding {
            index,
            oracle: broken.oracle,
            detail: broken.detail,
            input,
        }
    }
}

/// The summary of a run.
#[derive(Debug, Clone, Serialize)]
pub struct FuzzReport {
    /// The protocol id.
    pub protocol: String,
    /// The target.
    pub target: String,
    /// The seed.
    pub seed: u64,
    /// Inputs sent.
    pub inputs: u64,
    /// Runs of inputs that were in flight at once.
    pub concurrency: u64,
    /// Inputs per class family.
    pub classes: BTreeMap<String, u64>,
    /// Wall time.
    pub seconds: f64,
    /// Resident memory of the target at the first check and at the end, when watched.
    pub memory: Option<(u64, u64)>,
    /// Inputs that failed while others ran beside them, yet not when run again alone.
    pub unconfirmed: u64,
    /// What was found.
    pub findings: Vec<Finding>,
}

impl FuzzReport {
    /// An empty report.
    pub fn new(protocol: Protocol, target: &str, seed: u64) -> FuzzReport {
        FuzzReport {
            protocol: protocol.id().to_owned(),
            target: target.to_owned(),
            seed,
            inputs: 0,
            concurrency: 0,
            classes: BTreeMap::new(),
            seconds: 0.0,
            memory: None,
            unconfirmed: 0,
            findings: Vec::new(),
        }
    }

    /// Inputs per second.
    pub fn rate(&self) -> f64 {
        if self.seconds > 0.0 {
            self.inputs as f64 / self.seconds
        } else {
            0.0
        }
    }

    /// The Markdown summary.
    pub fn markdown(&self) -> String {
        let mut md = format!(
            "# chatspec fuzz: {}\n\n- target: {}\n- seed: {}\n- inputs: {} in {:.1} s ({:.0}/s), {} runs in flight at once\n",
            self.protocol,
            self.target,
            self.seed,
            self.inputs,
            self.seconds,
            self.rate(),
            self.concurrency
        );
        for (class, n) in &self.classes {
            md.push_str(&format!("  - {class}: {n}\n"));
        }
        if self.unconfirmed > 0 {
            md.push_str(&format!(
                "- unconfirmed: {} inputs failed beside others, not alone\n",
                self.unconfirmed
            ));
        }
        if let Some((first, last)) = self.memory {
            md.push_str(&format!(
                "- resident memory: {} MiB at the first check, {} MiB at the end\n",
                first >> 20,
                last >> 20
            ));
        }
        md.push_str(&format!("\n## Findings: {}\n\n", self.findings.len()));
        for (n, f) in self.findings.iter().enumerate() {
            md.push_str(&format!(
                "{}. **{:?}** (input {}, class `{}`): {}  \n   replay: `chatspec fuzz --protocol {} --replay finding-{}.json`\n",
                n + 1,
                f.oracle,
                f.index,
                f.input.class,
                f.detail,
                self.protocol,
                n + 1
            ));
        }
        md
    }

    /// Writes `summary.json`, `summary.md` and `finding-<n>.json` (each an [`Input`]) into `out`.
    pub fn write(&self, out: &Path) -> anyhow::Result<()> {
        std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
        let json = serde_json::to_string_pretty(self)?;
        std::fs::write(out.join("summary.json"), json)?;
        std::fs::write(out.join("summary.md"), self.markdown())?;
        for (n, f) in self.findings.iter().enumerate() {
            let path = out.join(format!("finding-{}.json", n + 1));
            std::fs::write(&path, serde_json::to_string_pretty(&f.input)?)
                .with_context(|| format!("writing {}", path.display()))?;
        }
        Ok(())
    }
}

/// The progress display: a bar with inputs/s and findings on a terminal, a plain line every 5 s otherwise.
pub(super) struct Progress {
    bar: Option<indicatif::ProgressBar>,
    plain: bool,
    last: Duration,
}

impl Progress {
    pub(super) fn new(enabled: bool) -> Progress {
        let tty = std::io::stderr().is_terminal();
        let bar = (enabled && tty).then(|| {
            let bar = indicatif::ProgressBar::new_spinner();
            bar.enable_steady_tick(Duration::from_millis(200));
            bar
        });
        Progress {
            bar,
            plain: enabled && !tty,
            last: Duration::ZERO,
        }
    }

    fn line(inputs: u64, elapsed: Duration, findings: usize) -> String {
        let rate = inputs as f64 / elapsed.as_secs_f64().max(1e-9);
        format!("fuzz: {inputs} inputs, {rate:.0}/s, {findings} findings")
    }

    pub(super) fn tick(&mut self, inputs: u64, elapsed: Duration, findings: usize) {
        if let Some(bar) = &self.bar {
            bar.set_message(Self::line(inputs, elapsed, findings));
        } else if self.plain && elapsed >= self.last + Duration::from_secs(5) {
            self.last = elapsed;
            eprintln!("{}", Self::line(inputs, elapsed, findings));
        }
    }

    pub(super) fn finish(&mut self, inputs: u64, elapsed: Duration, findings: usize) {
        if let Some(bar) = self.bar.take() {
            bar.finish_with_message(Self::line(inputs, elapsed, findings));
        } else if self.plain {
            eprintln!("{}", Self::line(inputs, elapsed, findings));
        }
    }
}
