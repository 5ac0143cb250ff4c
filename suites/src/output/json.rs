//! The report as pretty JSON: every case with its verdict, reason and
//! duration, and the transcript of every case that did not pass.

use std::io;

use crate::report::RunReport;

/// The report as pretty-printed JSON, ending with a newline. Read it back
/// with `serde_json::from_str::<RunReport>`.
pub fn render(report: &RunReport) -> io::Result<String> {
    let mut s = serde_json::to_string_pretty(report).map_err(io::Error::other)?;
    s.push('\n');
    Ok(s)
}
