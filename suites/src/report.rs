//! The result of a run, as data: what every output format is made from.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::case::{Level, Verdict};
use crate::transcript::Entry;

/// The result of one case.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CaseResult {
    /// The case id.
    pub id: String,
    /// The protocol id.
    pub protocol: String,
    /// MUST, SHOULD or INFO.
    pub level: Level,
    /// The document and section it checks.
    pub spec: String,
    /// The behaviour expected.
    pub title: String,
    /// The verdict.
    pub verdict: Verdict,
    /// Why, for every verdict but pass.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// How long the case took.
    pub duration_ms: f64,
    /// Every frame of the case; kept for every verdict but pass.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub transcript: Vec<Entry>,
}

/// The result of a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunReport {
    /// The chatspec version that ran.
    pub chatspec: String,
    /// What was checked, e.g. "reference server (embedded)" or a URL.
    pub target: String,
    /// When the run started, seconds since the Unix epoch.
    pub started_unix: u64,
    /// Wall time of the whole run.
    pub wall_ms: f64,
    /// Whether non-strict verdicts count as failures.
    pub strict: bool,
    /// Every case run, in id order.
    pub results: Vec<CaseResult>,
}

impl RunReport {
    /// How many cases got each verdict (every verdict present, zero or not).
    pub fn counts(&self) -> BTreeMap<Verdict, usize> {
        let mut counts: BTreeMap<Verdict, usize> = Verdict::ALL.iter().map(|v| (*v, 0)).collect();
        for r in &self.results {
            *counts.entry(r.verdict).or_default() += 1;
        }
        counts
    }

    /// Counts per protocol and verdict: the summary matrix.
    pub fn matrix(&self) -> BTreeMap<String, BTreeMap<Verdict, usize>> {
        let mut m: BTreeMap<String, BTreeMap<Verdict, usize>> = BTreeMap::new();
        for r in &self.results {
            let row = m
                .entry(r.protocol.clone())
                .or_insert_with(|| Verdict::ALL.iter().map(|v| (*v, 0)).collect());
            *row.entry(r.verdict).or_default() += 1;
        }
        m
    }

    /// Whether any case failed (under `strict`, non-strict counts as failed).
    pub fn failed(&self) -> bool {
        self.results
            .iter()
            .any(|r| r.verdict.is_failure(self.strict))
    }
}
