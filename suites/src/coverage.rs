//! Spec coverage: which sections of which documents the cases check, which
//! sections no case checks, and which case specs name no known section.
//!
//! The sections are data, kept in `suites/sections.toml` (compiled in): every
//! section of every protocol document, the sections of the public
//! Engine.IO v3/v4 and Socket.IO v4/v5 protocol documents, and the facts and
//! silent spots of the specs' README. A section's id is `<document> §<id>`,
//! e.g. `004_636ae579ed5d2364.txt §4.2` or `engine.io-protocol v4 §Heartbeat`.
//!
//! A case's `spec` names one section: exactly its id, or its id followed by
//! a detail after a space or a colon (`engine.io-protocol v4 §Heartbeat
//! (pingTimeout)`, `001_13ce220237596520.txt §3.1.4 Register events`). When
//! several ids fit, the longest wins. A spec that fits none is reported as
//! an unknown section, so a typo cannot hide a case from the coverage.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::sync::OnceLock;

use serde::Deserialize;

use crate::case::Case;

const SECTIONS: &str = include_str!("../sections.toml");

/// A protocol document and its sections.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Document {
    /// Its name as specs cite it: a file of the specs folder, `specs/README.md`,
    /// or `engine.io-protocol v4` and the like.
    pub name: String,
    /// What it is, for people.
    pub title: String,
    /// Its sections, in document order.
    pub sections: Vec<Section>,
}

/// One section of a document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    /// The full id a case cites: `<document> §<id>`.
    pub id: String,
    /// The section's own id within its document, without the `§`.
    pub short: String,
    /// The document's name.
    pub document: String,
    /// Its heading or a short description.
    pub title: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    document: Vec<RawDocument>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDocument {
    name: String,
    title: String,
    sections: Vec<RawSection>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSection {
    id: String,
    title: String,
}

/// Every known document with its sections, in the order of the sections file.
pub fn documents() -> &'static [Document] {
    static DOCUMENTS: OnceLock<Vec<Document>> = OnceLock::new();
    DOCUMENTS.get_or_init(|| {
        let raw: RawFile =
            toml::from_str(SECTIONS).expect("the compiled-in sections file is valid TOML");
        raw.document
            .into_iter()
            .map(|d| Document {
                sections: d
                    .sections
                    .into_iter()
                    .map(|s| Section {
                        id: format!("{} §{}", d.name, s.id),
                        short: s.id,
                        document: d.name.clone(),
                        title: s.title,
                    })
                    .collect(),
                name: d.name,
                title: d.title,
            })
            .collect()
    })
}

/// Every known section, document by document.
pub fn sections() -> impl Iterator<Item = &'static Section> {
    documents().iter().flat_map(|d| d.sections.iter())
}

/// The section a spec string names: its exact id, or its id followed by a
/// space or a colon and a detail; the longest such id when several fit.
pub fn find_section(spec: &str) -> Option<&'static Section> {
    let spec = spec.trim();
    sections()
        .filter(|s| match spec.strip_prefix(s.id.as_str()) {
            Some("") => true,
            Some(rest) => rest.starts_with([' ', ':']),
            None => false,
        })
        .max_by_key(|s| s.id.len())
}

/// A case whose spec names no known section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownSpec {
    /// The case id.
    pub case: String,
    /// The spec as the case wrote it.
    pub spec: String,
    /// What is wrong: an unknown document, or a section its document lacks.
    pub problem: String,
}

/// One section and the cases that check it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SectionCoverage {
    /// The section.
    pub section: &'static Section,
    /// The ids of the cases citing it, sorted.
    pub cases: Vec<String>,
}

/// One document's sections and the cases that check each.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocumentCoverage {
    /// The document.
    pub document: &'static Document,
    /// Every section of it, in document order.
    pub sections: Vec<SectionCoverage>,
}

impl DocumentCoverage {
    /// Sections at least one case checks.
    pub fn checked(&self) -> usize {
        self.sections.iter().filter(|s| !s.cases.is_empty()).count()
    }

    /// Sections no case checks.
    pub fn unchecked(&self) -> impl Iterator<Item = &'static Section> + '_ {
        self.sections
            .iter()
            .filter(|s| s.cases.is_empty())
            .map(|s| s.section)
    }
}

/// What [`coverage`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Coverage {
    /// Every known document, in the order of the sections file.
    pub documents: Vec<DocumentCoverage>,
    /// Cases whose spec names no known section, in case order.
    pub unknown: Vec<UnknownSpec>,
}

/// Matches every case's spec to a section.
pub fn coverage(cases: &[Case]) -> Coverage {
    coverage_of(cases.iter().map(|c| (c.id, c.spec)))
}

/// Matches `(case id, spec)` pairs to sections: [`coverage`] for callers
/// that have ids and specs but no [`Case`]s (a report, for one).
pub fn coverage_of<'a>(specs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Coverage {
    let mut documents: Vec<DocumentCoverage> = documents()
        .iter()
        .map(|document| DocumentCoverage {
            document,
            sections: document
                .sections
                .iter()
                .map(|section| SectionCoverage {
                    section,
                    cases: Vec::new(),
                })
                .collect(),
        })
        .collect();
    let mut unknown = Vec::new();
    for (case, spec) in specs {
        match find_section(spec) {
            Some(section) => {
                let cov = documents
                    .iter_mut()
                    .flat_map(|d| d.sections.iter_mut())
                    .find(|s| std::ptr::eq(s.section, section))
                    .expect("every section is in its document");
                if !cov.cases.iter().any(|c| c == case) {
                    cov.cases.push(case.to_owned());
                }
            }
            None => unknown.push(UnknownSpec {
                case: case.to_owned(),
                spec: spec.to_owned(),
                problem: problem(spec),
            }),
        }
    }
    for d in &mut documents {
        for s in &mut d.sections {
            s.cases.sort();
        }
    }
    Coverage { documents, unknown }
}

fn problem(spec: &str) -> String {
    let spec = spec.trim();
    let Some((doc, _)) = spec.split_once(" §") else {
        return "no ` §` between the document and the section".to_owned();
    };
    match documents().iter().find(|d| d.name == doc) {
        None => format!(
            "unknown document `{doc}`; known: {}",
            documents()
                .iter()
                .map(|d| d.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Some(d) => format!(
            "`{doc}` has no such section; its sections: {}",
            d.sections
                .iter()
                .map(|s| format!("§{}", s.short))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

impl Coverage {
    /// Sections in all.
    pub fn total(&self) -> usize {
        self.documents.iter().map(|d| d.sections.len()).sum()
    }

    /// Sections at least one case checks.
    pub fn checked(&self) -> usize {
        self.documents.iter().map(|d| d.checked()).sum()
    }

    /// Every section no case checks.
    pub fn unchecked(&self) -> impl Iterator<Item = &'static Section> + '_ {
        self.documents.iter().flat_map(|d| d.unchecked())
    }

    /// The cases of a section, by its full id (empty for an unknown id).
    pub fn cases_of(&self, section_id: &str) -> &[String] {
        self.documents
            .iter()
            .flat_map(|d| d.sections.iter())
            .find(|s| s.section.id == section_id)
            .map(|s| s.cases.as_slice())
            .unwrap_or(&[])
    }

    /// The coverage as Markdown: totals, then per document a table (section,
    /// title, cases checking it) and the list of sections no case checks,
    /// then the cases whose spec names no known section.
    pub fn to_markdown(&self) -> String {
        let mut md = String::from("# Spec coverage\n\n");
        let cases: BTreeSet<&str> = self
            .documents
            .iter()
            .flat_map(|d| d.sections.iter())
            .flat_map(|s| s.cases.iter().map(String::as_str))
            .collect();
        let _ = writeln!(
            md,
            "{} of {} sections are checked by at least one case ({} case{} cite a known section, {} an unknown one).\n",
            self.checked(),
            self.total(),
            cases.len(),
            if cases.len() == 1 { "" } else { "s" },
            self.unknown.len(),
        );
        md.push_str("| document | sections | checked | not checked |\n|---|---:|---:|---:|\n");
        for d in &self.documents {
            let _ = writeln!(
                md,
                "| {} | {} | {} | {} |",
                cell(&d.document.name),
                d.sections.len(),
                d.checked(),
                d.sections.len() - d.checked()
            );
        }
        let _ = writeln!(
            md,
            "| **total** | {} | {} | {} |",
            self.total(),
            self.checked(),
            self.total() - self.checked()
        );
        for d in &self.documents {
            let _ = writeln!(
                md,
                "\n## {} — {}\n\n{} of {} sections checked.\n",
                d.document.name,
                d.document.title,
                d.checked(),
                d.sections.len()
            );
            md.push_str("| section | title | cases |\n|---|---|---|\n");
            for s in &d.sections {
                let cases = if s.cases.is_empty() {
                    "—".to_owned()
                } else {
                    s.cases
                        .iter()
                        .map(|c| format!("`{}`", cell(c)))
                        .collect::<Vec<_>>()
                        .join(", ")
                };
                let _ = writeln!(
                    md,
                    "| §{} | {} | {} |",
                    cell(&s.section.short),
                    cell(&s.section.title),
                    cases
                );
            }
            let unchecked: Vec<String> = d.unchecked().map(|s| format!("§{}", s.short)).collect();
            if unchecked.is_empty() {
                md.push_str("\nEvery section is checked.\n");
            } else {
                let _ = writeln!(
                    md,
                    "\nNot checked by any case ({}): {}.",
                    unchecked.len(),
                    unchecked.join(", ")
                );
            }
        }
        if !self.unknown.is_empty() {
            let _ = writeln!(
                md,
                "\n## Unknown sections\n\n{} case{} cite a section that is not known:\n\n| case | spec | problem |\n|---|---|---|",
                self.unknown.len(),
                if self.unknown.len() == 1 { "" } else { "s" }
            );
            for u in &self.unknown {
                let _ = writeln!(
                    md,
                    "| `{}` | {} | {} |",
                    cell(&u.case),
                    cell(&u.spec),
                    cell(&u.problem)
                );
            }
        }
        md
    }
}

/// Text made safe for one Markdown table cell.
fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}
