//! The kill matrix: for every case, which mutations of the target's
//! messages and which reference-server faults it notices. A case noticed by
//! nothing proves nothing; the project's tests fail on one.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use protocols::Protocol;
use serde::{Deserialize, Serialize};

use crate::case::{Case, Verdict};
use crate::mutate::{MutationKind, Mutator};
use crate::runner::{run_case, RunOptions};
use crate::target::Targets;

/// A mutation is tried on at most this many of a case's applicable messages.
pub const MAX_INDEX: usize = 8;

/// One row: what a case noticed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KillRow {
    /// The case id.
    pub case: String,
    /// The verdict against the unbroken target (a row only counts when it is pass).
    pub clean: Verdict,
    /// Mutation names (`drop`, `change-id`, ...) and faults (`fault:echo:no-ack`) the case noticed,
    /// each with the index of the message whose mutation it noticed (`None` for faults).
    pub killed_by: BTreeMap<String, Option<usize>>,
    /// Mutations that found no message to apply to in this case, and faults
    /// of another protocol's listener.
    pub not_applicable: Vec<String>,
}

impl KillRow {
    /// Whether anything killed the case.
    pub fn killed(&self) -> bool {
        !self.killed_by.is_empty()
    }
}

/// The whole matrix.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KillMatrix {
    /// Every mutation and fault column, in order.
    pub columns: Vec<String>,
    /// One row per case, in id order.
    pub rows: Vec<KillRow>,
}

/// A target with one fault switched on, for the columns a proxy cannot reach.
#[derive(Debug, Clone)]
pub struct FaultTarget {
    /// The fault's name, `<listener>:<behaviour>`, e.g. `echo:no-ack`.
    pub fault: String,
    /// The protocol of the fault's listener: only that protocol's cases run against it.
    pub protocol: Protocol,
    /// The faulty server.
    pub targets: Arc<Targets>,
}

/// How much of a row is computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Extent {
    /// Every mutation and every fault: the published matrix.
    Full,
    /// Until the first kill (the faults of the case's protocol first, then
    /// the mutations): enough to find the survivors, at a fraction of the runs.
    FirstKill,
}

/// Computes the matrix: every case clean, then under every mutation at
/// every applicable message up to [`MAX_INDEX`], then against every fault
/// of its own protocol.
pub async fn kill_matrix(
    cases: &[Case],
    targets: Arc<Targets>,
    faults: &[FaultTarget],
    options: &RunOptions,
) -> KillMatrix {
    kill_matrix_with(cases, targets, faults, options, Extent::Full).await
}

/// [`kill_matrix`] computed to `extent`. With [`Extent::FirstKill`] a row
/// names one thing that killed its case (and the columns it never tried
/// are neither killers nor not applicable).
pub async fn kill_matrix_with(
    cases: &[Case],
    targets: Arc<Targets>,
    faults: &[FaultTarget],
    options: &RunOptions,
    extent: Extent,
) -> KillMatrix {
    let mut columns: Vec<String> = MutationKind::ALL
        .iter()
        .map(|k| k.name().to_owned())
        .collect();
    columns.extend(faults.iter().map(|f| format!("fault:{}", f.fault)));
    let mut rows: Vec<KillRow> = futures::stream::iter(cases)
        .map(|case| row(case, targets.clone(), faults, options, extent))
        .buffer_unordered(options.jobs.max(1))
        .collect()
        .await;
    rows.sort_by(|a, b| a.case.cmp(&b.case));
    KillMatrix { columns, rows }
}

async fn row(
    case: &Case,
    targets: Arc<Targets>,
    faults: &[FaultTarget],
    options: &RunOptions,
    extent: Extent,
) -> KillRow {
    let clean = run_case(case, targets.clone(), options, None).await.verdict;
    let mut row = KillRow {
        case: case.id.to_owned(),
        clean,
        killed_by: BTreeMap::new(),
        not_applicable: Vec::new(),
    };
    if clean != Verdict::Pass {
        return row;
    }
    let first_kill = extent == Extent::FirstKill;
    if first_kill {
        for fault in faults.iter().filter(|f| f.protocol == case.protocol) {
            let result = run_case(case, fault.targets.clone(), options, None).await;
            if result.verdict != Verdict::Pass {
                row.killed_by.insert(format!("fault:{}", fault.fault), None);
                return row;
            }
        }
    }
    let delay = options.wait + Duration::from_millis(500);
    for kind in MutationKind::ALL {
        for index in 0..MAX_INDEX {
            let mutator = Arc::new(Mutator::new(kind, index, delay));
            let result = run_case(case, targets.clone(), options, Some(mutator.clone())).await;
            if !mutator.applied() {
                if index == 0 {
                    row.not_applicable.push(kind.name().to_owned());
                }
                break;
            }
            if result.verdict != Verdict::Pass {
                row.killed_by.insert(kind.name().to_owned(), Some(index));
                if first_kill {
                    return row;
                }
                break;
            }
        }
    }
    if first_kill {
        return row;
    }
    for fault in faults {
        let column = format!("fault:{}", fault.fault);
        if fault.protocol != case.protocol {
            row.not_applicable.push(column);
            continue;
        }
        let result = run_case(case, fault.targets.clone(), options, None).await;
        if result.verdict != Verdict::Pass {
            row.killed_by.insert(column, None);
        }
    }
    row
}

impl KillMatrix {
    /// The ids of passing cases nothing killed.
    pub fn survivors(&self) -> Vec<&str> {
        self.rows
            .iter()
            .filter(|r| r.clean == Verdict::Pass && !r.killed())
            .map(|r| r.case.as_str())
            .collect()
    }

    /// A Markdown table: a row per case, a column per mutation and fault.
    pub fn to_markdown(&self) -> String {
        let mut s = String::from("# Kill matrix\n\n");
        s.push_str(
            "Which mutation of the target's messages, and which reference-server fault, each case notices. \
             `✗n` = killed when the mutation hit the n-th applicable message; `·` = not noticed; \
             `–` = no message to apply it to. A case killed by nothing proves nothing.\n\n",
        );
        s.push_str("| case | clean |");
        for c in &self.columns {
            s.push_str(&format!(" {c} |"));
        }
        s.push_str("\n|---|---|");
        s.push_str(&"---|".repeat(self.columns.len()));
        s.push('\n');
        for r in &self.rows {
            s.push_str(&format!("| `{}` | {} |", r.case, r.clean));
            for c in &self.columns {
                let cell = match r.killed_by.get(c) {
                    Some(Some(i)) => format!("✗{i}"),
                    Some(None) => "✗".to_owned(),
                    None if r.not_applicable.contains(c) => "–".to_owned(),
                    None => "·".to_owned(),
                };
                s.push_str(&format!(" {cell} |"));
            }
            s.push('\n');
        }
        let survivors = self.survivors();
        s.push_str(&format!(
            "\n{} cases, {} killed by at least one mutation or fault, {} survivors{}\n",
            self.rows.len(),
            self.rows.iter().filter(|r| r.killed()).count(),
            survivors.len(),
            if survivors.is_empty() {
                String::new()
            } else {
                format!(": {}", survivors.join(", "))
            }
        ));
        s
    }
}
