//! Renders a [`RunReport`] for people (a terminal table, one HTML page) and
//! for machines (JSON, JUnit XML), and writes the chosen formats to a folder.
//!
//! Every renderer is a pure function of the report: no clock, no terminal
//! probing (the caller says whether to colour), so the same report always
//! renders the same bytes.

pub mod html;
pub mod json;
pub mod junit;
pub mod table;

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use crate::report::RunReport;
use crate::transcript::{Direction, Entry};

/// An output format of `chatspec run --format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Format {
    /// Plain text for a terminal: [`table::render`].
    Table,
    /// The whole report as pretty JSON: [`json::render`].
    Json,
    /// JUnit XML for CI systems: [`junit::render`].
    Junit,
    /// One self-contained HTML page: [`html::render`].
    Html,
}

impl Format {
    /// Every format, in the order `--help` lists them.
    pub const ALL: [Format; 4] = [Format::Table, Format::Json, Format::Junit, Format::Html];

    /// The name used on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Format::Table => "table",
            Format::Json => "json",
            Format::Junit => "junit",
            Format::Html => "html",
        }
    }

    /// The file extension of the written report.
    pub fn extension(self) -> &'static str {
        match self {
            Format::Table => "txt",
            Format::Json => "json",
            Format::Junit => "xml",
            Format::Html => "html",
        }
    }

    /// The file name [`write_all`] writes: `chatspec-report.<extension>`.
    pub fn file_name(self) -> String {
        format!("chatspec-report.{}", self.extension())
    }

    /// The report in this format; the table is rendered without colours.
    pub fn render(self, report: &RunReport) -> io::Result<String> {
        Ok(match self {
            Format::Table => table::render(report, false),
            Format::Json => json::render(report)?,
            Format::Junit => junit::render(report).map_err(io::Error::other)?,
            Format::Html => html::render(report),
        })
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A `--format` value that names no format.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown report format `{0}`; expected one of table, json, junit, html")]
pub struct UnknownFormat(pub String);

impl FromStr for Format {
    type Err = UnknownFormat;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let wanted = s.trim().to_ascii_lowercase();
        Format::ALL
            .into_iter()
            .find(|f| f.name() == wanted)
            .ok_or_else(|| UnknownFormat(s.to_owned()))
    }
}

/// Writes the report in every format of `formats` (each once) into `out_dir`,
/// creating the folder, and returns the paths written in the order asked.
pub fn write_all(
    report: &RunReport,
    formats: &[Format],
    out_dir: &Path,
) -> io::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(out_dir)?;
    let mut written = Vec::new();
    let mut done = Vec::new();
    for &format in formats {
        if done.contains(&format) {
            continue;
        }
        done.push(format);
        let path = out_dir.join(format.file_name());
        std::fs::write(&path, format.render(report)?)?;
        written.push(path);
    }
    Ok(written)
}

/// The arrow of a transcript direction: `→` suite to target, `←` target to
/// suite, `·` a note.
pub fn arrow(dir: Direction) -> &'static str {
    match dir {
        Direction::Out => "→",
        Direction::In => "←",
        Direction::Note => "·",
    }
}

/// A transcript as plain text, one entry a line: time, connection, arrow, frame.
/// Line breaks inside a frame are shown as `\n` so that one entry stays one line.
pub fn transcript_text(entries: &[Entry]) -> String {
    let mut out = String::new();
    for e in entries {
        out.push_str(&format!(
            "{:>10.1} ms  #{:<3} {} {}\n",
            e.at_ms,
            e.conn,
            arrow(e.dir),
            one_line(&e.frame)
        ));
    }
    out
}

/// Text with its line breaks and tabs made visible, for one-line display.
pub(crate) fn one_line(s: &str) -> String {
    s.replace('\r', "\\r")
        .replace('\n', "\\n")
        .replace('\t', "\\t")
}

/// The JUnit class of a case: its id without the last dot-separated part
/// (`<protocol>.<area>` for a three-part id).
pub fn case_class(id: &str) -> &str {
    match id.rfind('.') {
        Some(i) => &id[..i],
        None => id,
    }
}

/// A duration in milliseconds as seconds with one decimal, e.g. `3.2s`.
pub(crate) fn seconds(ms: f64) -> String {
    if ms.is_finite() && ms >= 0.0 {
        format!("{:.1}s", ms / 1000.0)
    } else {
        "?s".to_owned()
    }
}
