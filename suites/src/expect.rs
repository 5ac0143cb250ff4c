//! Expectations: a target's known verdicts as data (a TOML file), and the
//! comparison of a run with them.
//!
//! ```toml
//! [[expect]]
//! case = "socketio.v3.*"
//! verdict = "unimplemented"
//! reason = "the target speaks Engine.IO 4 only"
//! ```
//!
//! - `case` is a glob over case ids (`*` also crosses dots, `?` is one
//!   character, `[abc]` a class, `{a,b}` alternatives).
//! - `verdict` is one of `pass`, `non-strict`, `informational`,
//!   `unimplemented`, `fail`, `error`, `timeout`; `reason` says why, for the
//!   next reader. Both are required.
//! - `verdict` may also be a list, `["pass", "fail"]`, for a target whose
//!   verdict on a case varies from run to run (a race inside the target):
//!   any of them matches, and the reason says what races. The reference
//!   server never gets such an entry; a case of ours that varies is a bug.
//! - **The last entry whose glob matches a case wins**, so a file can say
//!   something of a whole area and then make exceptions below it.
//! - **A case that no entry matches is expected to `pass`.** A file lists
//!   only what differs from a conforming target.
//!
//! A [`Comparison`] lists every case whose verdict differs from the one
//! expected, and every entry that matched no case of the run (stale, or
//! about cases the run did not select). Only the differences make the run
//! differ: [`Comparison::matches`] ignores stale entries.

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

use globset::{Glob, GlobMatcher};
use serde::{Deserialize, Serialize};

use crate::case::Verdict;
use crate::report::RunReport;

/// One `[[expect]]` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expectation {
    /// The glob over case ids.
    pub case: String,
    /// The verdict expected of every case the glob matches.
    pub verdict: Verdict,
    /// Further verdicts accepted too, for a target whose verdict varies from
    /// run to run (a list in the file); usually empty.
    pub alternatives: Vec<Verdict>,
    /// Why the verdict is expected.
    pub reason: String,
}

/// An expectations file, loaded.
#[derive(Debug, Clone, Default)]
pub struct Expectations {
    entries: Vec<Expectation>,
    matchers: Vec<GlobMatcher>,
}

/// An expectations file could not be read or made sense of. Every variant
/// names the file and says what to fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExpectError {
    /// The file could not be read.
    #[error("{path}: cannot read the expectations file: {message}")]
    Read {
        /// The file.
        path: PathBuf,
        /// What the system said.
        message: String,
    },
    /// The file is not TOML, or not of the expected shape.
    #[error("{path}: not a valid expectations file: {message}\nexpected entries like:\n\n[[expect]]\ncase = \"socketio.v3.*\"\nverdict = \"unimplemented\"\nreason = \"the target speaks Engine.IO 4 only\"")]
    Syntax {
        /// The file.
        path: PathBuf,
        /// What the TOML reader said, with the line.
        message: String,
    },
    /// A `verdict` is not a verdict name.
    #[error("{path}:{line}: entry {entry} (case `{case}`): unknown verdict `{verdict}`; write one of pass, non-strict, informational, unimplemented, fail, error, timeout, or a list of them like [\"pass\", \"fail\"]")]
    UnknownVerdict {
        /// The file.
        path: PathBuf,
        /// The line of the verdict, from 1.
        line: usize,
        /// The entry, from 1.
        entry: usize,
        /// The entry's glob.
        case: String,
        /// The verdict as written.
        verdict: String,
    },
    /// A `case` is not a valid glob.
    #[error("{path}:{line}: entry {entry}: `{case}` is not a valid case glob ({message}); use `*`, `?`, `[...]` or `{{a,b}}` around plain id characters")]
    BadGlob {
        /// The file.
        path: PathBuf,
        /// The line of the glob, from 1.
        line: usize,
        /// The entry, from 1.
        entry: usize,
        /// The glob as written.
        case: String,
        /// What is wrong with it.
        message: String,
    },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    expect: Vec<RawEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEntry {
    case: toml::Spanned<String>,
    verdict: toml::Spanned<RawVerdicts>,
    reason: String,
}

/// `verdict = "fail"` or `verdict = ["pass", "fail"]`.
#[derive(Deserialize, Serialize)]
#[serde(untagged)]
enum RawVerdicts {
    One(String),
    Any(Vec<String>),
}

#[derive(Serialize)]
struct OutFile<'a> {
    expect: Vec<OutEntry<'a>>,
}

#[derive(Serialize)]
struct OutEntry<'a> {
    case: &'a str,
    verdict: RawVerdicts,
    reason: &'a str,
}

fn line_of(text: &str, span: Range<usize>) -> usize {
    let end = span.start.min(text.len());
    text.as_bytes()[..end]
        .iter()
        .filter(|b| **b == b'\n')
        .count()
        + 1
}

fn matcher(glob: &str) -> Result<GlobMatcher, globset::Error> {
    Ok(Glob::new(glob)?.compile_matcher())
}

impl Expectations {
    /// Reads an expectations file.
    pub fn load(path: &Path) -> Result<Expectations, ExpectError> {
        let text = std::fs::read_to_string(path).map_err(|e| ExpectError::Read {
            path: path.to_owned(),
            message: e.to_string(),
        })?;
        Expectations::parse(&text, path)
    }

    /// Parses the text of an expectations file; `path` names it in errors.
    pub fn parse(text: &str, path: &Path) -> Result<Expectations, ExpectError> {
        let raw: RawFile = toml::from_str(text).map_err(|e| ExpectError::Syntax {
            path: path.to_owned(),
            message: e.to_string().trim_end().to_owned(),
        })?;
        let mut entries = Vec::with_capacity(raw.expect.len());
        let mut matchers = Vec::with_capacity(raw.expect.len());
        for (i, e) in raw.expect.into_iter().enumerate() {
            let case = e.case.get_ref().clone();
            let names: Vec<&String> = match e.verdict.get_ref() {
                RawVerdicts::One(name) => vec![name],
                RawVerdicts::Any(names) => names.iter().collect(),
            };
            let mut verdicts = Vec::with_capacity(names.len());
            for name in names {
                let verdict: Verdict = name.parse().map_err(|_| ExpectError::UnknownVerdict {
                    path: path.to_owned(),
                    line: line_of(text, e.verdict.span()),
                    entry: i + 1,
                    case: case.clone(),
                    verdict: name.clone(),
                })?;
                if !verdicts.contains(&verdict) {
                    verdicts.push(verdict);
                }
            }
            let Some((&verdict, alternatives)) = verdicts.split_first() else {
                return Err(ExpectError::UnknownVerdict {
                    path: path.to_owned(),
                    line: line_of(text, e.verdict.span()),
                    entry: i + 1,
                    case,
                    verdict: "[]".to_owned(),
                });
            };
            let m = matcher(&case).map_err(|err| ExpectError::BadGlob {
                path: path.to_owned(),
                line: line_of(text, e.case.span()),
                entry: i + 1,
                case: case.clone(),
                message: err.kind().to_string(),
            })?;
            matchers.push(m);
            entries.push(Expectation {
                case,
                verdict,
                alternatives: alternatives.to_vec(),
                reason: e.reason,
            });
        }
        Ok(Expectations { entries, matchers })
    }

    /// Expectations from entries; an invalid glob gives its index and error.
    pub fn new(entries: Vec<Expectation>) -> Result<Expectations, (usize, globset::Error)> {
        let matchers = entries
            .iter()
            .enumerate()
            .map(|(i, e)| matcher(&e.case).map_err(|err| (i, err)))
            .collect::<Result<_, _>>()?;
        Ok(Expectations { entries, matchers })
    }

    /// A baseline from a run: one entry per case that did not pass, its glob
    /// the exact id, its reason `reason` followed by the case's own reason.
    pub fn from_report(report: &RunReport, reason: &str) -> Expectations {
        let entries = report
            .results
            .iter()
            .filter(|r| r.verdict != Verdict::Pass)
            .map(|r| Expectation {
                case: escape_glob(&r.id),
                verdict: r.verdict,
                alternatives: Vec::new(),
                reason: match r.reason.as_deref() {
                    Some(why) if !why.is_empty() && !reason.is_empty() => {
                        format!("{reason}: {why}")
                    }
                    Some(why) if !why.is_empty() => why.to_owned(),
                    _ => reason.to_owned(),
                },
            })
            .collect();
        Expectations::new(entries).expect("an escaped case id is a valid glob")
    }

    /// The entries, in file order.
    pub fn entries(&self) -> &[Expectation] {
        &self.entries
    }

    /// The verdict expected of a case, and the entry that says so (the last
    /// one matching); `pass` and no entry when none matches.
    pub fn expected(&self, case_id: &str) -> (Verdict, Option<&Expectation>) {
        self.last_match(case_id)
            .map(|i| (self.entries[i].verdict, Some(&self.entries[i])))
            .unwrap_or((Verdict::Pass, None))
    }

    fn last_match(&self, case_id: &str) -> Option<usize> {
        self.matchers.iter().rposition(|m| m.is_match(case_id))
    }

    /// Compares a run with the expectations.
    pub fn compare(&self, report: &RunReport) -> Comparison {
        let mut differences = Vec::new();
        let mut matched = vec![false; self.entries.len()];
        for r in &report.results {
            for (i, m) in self.matchers.iter().enumerate() {
                if m.is_match(&r.id) {
                    matched[i] = true;
                }
            }
            let (expected, entry) = self.expected(&r.id);
            if !entry.map_or(expected == r.verdict, |e| e.accepts(r.verdict)) {
                differences.push(Difference {
                    case: r.id.clone(),
                    expected,
                    expected_alternatives: entry
                        .map(|e| e.alternatives.clone())
                        .unwrap_or_default(),
                    expected_reason: entry.map(|e| e.reason.clone()),
                    entry: entry.map(|e| e.case.clone()),
                    actual: r.verdict,
                    actual_reason: r.reason.clone(),
                });
            }
        }
        let stale = self
            .entries
            .iter()
            .zip(matched)
            .filter(|(_, m)| !m)
            .map(|(e, _)| e.clone())
            .collect();
        Comparison {
            cases: report.results.len(),
            differences,
            stale,
        }
    }

    /// The expectations as a TOML file that [`Expectations::parse`] reads back.
    pub fn to_toml(&self) -> String {
        let file = OutFile {
            expect: self
                .entries
                .iter()
                .map(|e| OutEntry {
                    case: &e.case,
                    verdict: match e.alternatives.is_empty() {
                        true => RawVerdicts::One(e.verdict.name().to_owned()),
                        false => RawVerdicts::Any(
                            std::iter::once(e.verdict)
                                .chain(e.alternatives.iter().copied())
                                .map(|v| v.name().to_owned())
                                .collect(),
                        ),
                    },
                    reason: &e.reason,
                })
                .collect(),
        };
        let body = toml::to_string(&file).expect("strings always serialize to TOML");
        format!(
            "# chatspec expectations: the verdicts a target is known to get.\n\
             # The last entry matching a case wins; a case no entry matches is expected to pass.\n\n{body}"
        )
    }
}

impl Expectation {
    /// Whether a run's verdict `got` matches this entry.
    pub fn accepts(&self, got: Verdict) -> bool {
        self.verdict == got || self.alternatives.contains(&got)
    }

    /// The verdicts it accepts, as written: `fail` or `fail or pass`.
    pub fn verdicts(&self) -> String {
        std::iter::once(self.verdict)
            .chain(self.alternatives.iter().copied())
            .map(|v| v.name())
            .collect::<Vec<_>>()
            .join(" or ")
    }
}

/// A case id as a glob matching exactly that id.
fn escape_glob(id: &str) -> String {
    let mut out = String::with_capacity(id.len());
    for c in id.chars() {
        match c {
            '*' | '?' | '[' | ']' | '{' | '}' | '\\' | '!' | ',' => {
                out.push('[');
                out.push(c);
                out.push(']');
            }
            _ => out.push(c),
        }
    }
    out
}

/// A case whose verdict is not the one expected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Difference {
    /// The case id.
    pub case: String,
    /// The verdict expected.
    pub expected: Verdict,
    /// Further verdicts the entry accepts (a target whose verdict varies).
    pub expected_alternatives: Vec<Verdict>,
    /// The reason of the entry that expects it (none: the default `pass`).
    pub expected_reason: Option<String>,
    /// The glob of that entry.
    pub entry: Option<String>,
    /// The verdict the run gave.
    pub actual: Verdict,
    /// The run's reason for it.
    pub actual_reason: Option<String>,
}

impl Difference {
    /// Whether the case now does better than expected: it passes, or the
    /// expected verdict counted as a failure and the actual one does not.
    pub fn is_improvement(&self, strict: bool) -> bool {
        self.actual == Verdict::Pass
            || (self.expected.is_failure(strict) && !self.actual.is_failure(strict))
    }
}

/// The result of [`Expectations::compare`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Comparison {
    /// How many cases the run had.
    pub cases: usize,
    /// Every case whose verdict differs from the expected one, in report order.
    pub differences: Vec<Difference>,
    /// Entries that matched no case of the run.
    pub stale: Vec<Expectation>,
}

impl Comparison {
    /// Whether every case got the verdict expected (stale entries aside).
    pub fn matches(&self) -> bool {
        self.differences.is_empty()
    }
}

impl fmt::Display for Comparison {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.differences.is_empty() {
            writeln!(
                f,
                "all {} case{} got the verdict expected",
                self.cases,
                if self.cases == 1 { "" } else { "s" }
            )?;
        } else {
            writeln!(
                f,
                "{} of {} case{} differ from the expectations:",
                self.differences.len(),
                self.cases,
                if self.cases == 1 { "" } else { "s" }
            )?;
            for d in &self.differences {
                writeln!(f, "  {}", d.case)?;
                let expected = std::iter::once(d.expected)
                    .chain(d.expected_alternatives.iter().copied())
                    .map(|v| v.name())
                    .collect::<Vec<_>>()
                    .join(" or ");
                match (&d.entry, &d.expected_reason) {
                    (Some(glob), Some(why)) => writeln!(
                        f,
                        "    expected {expected} (`{glob}`: {})",
                        crate::output::one_line(why)
                    )?,
                    _ => writeln!(f, "    expected {} (no entry matches)", d.expected)?,
                }
                match &d.actual_reason {
                    Some(why) => writeln!(
                        f,
                        "    got      {}: {}",
                        d.actual,
                        crate::output::one_line(why)
                    )?,
                    None => writeln!(f, "    got      {}", d.actual)?,
                }
            }
        }
        if !self.stale.is_empty() {
            writeln!(
                f,
                "{} expectation{} matched no case of this run:",
                self.stale.len(),
                if self.stale.len() == 1 { "" } else { "s" }
            )?;
            for e in &self.stale {
                writeln!(f, "  `{}` = {} ({})", e.case, e.verdicts(), e.reason)?;
            }
        }
        Ok(())
    }
}
