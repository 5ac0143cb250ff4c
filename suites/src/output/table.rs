//! The plain-text summary printed at the end of a run: every case that did
//! not pass with its reason, the counts per verdict, the protocol × verdict
//! matrix and the wall time.

use std::fmt::Write as _;

use crate::case::Verdict;
use crate::report::RunReport;

use super::seconds;

/// The summary as text; `color` adds ANSI colours to verdict names (pass it
/// only when writing to a terminal).
///
/// ```text
/// FAIL          assa.room.join-broadcasts  USER_JOINED never came
///
/// verdicts: 3 pass, 1 fail
///
/// protocol  pass  non-strict  informational  unimplemented  fail  error  timeout  total
/// assa         3           -              -              -     1      -        -      4
///
/// ran 4 cases in 1.2s: FAILED
/// ```
pub fn render(report: &RunReport, color: bool) -> String {
    let mut out = String::new();
    let paint = |v: Verdict, text: &str| -> String {
        if color {
            format!("\x1b[{}m{text}\x1b[0m", ansi(v))
        } else {
            text.to_owned()
        }
    };

    let not_passed: Vec<_> = report
        .results
        .iter()
        .filter(|r| r.verdict != Verdict::Pass)
        .collect();
    let id_width = not_passed
        .iter()
        .map(|r| r.id.chars().count())
        .max()
        .unwrap_or(0);
    for r in &not_passed {
        let label = format!("{:<13}", r.verdict.name().to_uppercase());
        let reason = r.reason.as_deref().unwrap_or_default();
        let mut lines = reason.lines();
        let line = format!(
            "{} {:<id_width$}  {}",
            paint(r.verdict, &label),
            r.id,
            lines.next().unwrap_or_default()
        );
        let _ = writeln!(out, "{}", line.trim_end());
        // Further lines of a reason go under its first line.
        for more in lines {
            let _ = writeln!(
                out,
                "{:indent$}{}",
                "",
                more.trim_end(),
                indent = 14 + id_width + 2
            );
        }
    }
    if !not_passed.is_empty() {
        out.push('\n');
    }

    let counts = report.counts();
    let summary: Vec<String> = Verdict::ALL
        .iter()
        .filter(|v| counts.get(v).copied().unwrap_or(0) > 0)
        .map(|v| paint(*v, &format!("{} {}", counts[v], v.name())))
        .collect();
    if summary.is_empty() {
        out.push_str("verdicts: none (no case ran)\n");
    } else {
        let _ = writeln!(out, "verdicts: {}", summary.join(", "));
    }
    out.push('\n');

    let matrix = report.matrix();
    if !matrix.is_empty() {
        let first = matrix
            .keys()
            .map(|p| p.chars().count())
            .chain(["protocol".len(), "total".len()])
            .max()
            .unwrap_or(8);
        let mut header = format!("{:<first$}", "protocol");
        for v in Verdict::ALL {
            let _ = write!(header, "  {}", v.name());
        }
        header.push_str("  total");
        let _ = writeln!(out, "{header}");
        let mut totals = vec![0usize; Verdict::ALL.len()];
        let row = |name: &str, cells: &[usize], out: &mut String| {
            let mut line = format!("{name:<first$}");
            for (v, n) in Verdict::ALL.iter().zip(cells) {
                let w = v.name().len();
                let cell = if *n == 0 {
                    format!("{:>w$}", "-")
                } else {
                    paint(*v, &format!("{n:>w$}"))
                };
                let _ = write!(line, "  {cell}");
            }
            let total: usize = cells.iter().sum();
            let _ = writeln!(line, "  {total:>5}");
            out.push_str(&line);
        };
        for (protocol, by_verdict) in &matrix {
            let cells: Vec<usize> = Verdict::ALL
                .iter()
                .map(|v| by_verdict.get(v).copied().unwrap_or(0))
                .collect();
            for (t, n) in totals.iter_mut().zip(&cells) {
                *t += n;
            }
            row(protocol, &cells, &mut out);
        }
        if matrix.len() > 1 {
            row("total", &totals, &mut out);
        }
        out.push('\n');
    }

    let n = report.results.len();
    let outcome = if report.failed() {
        paint(Verdict::Fail, "FAILED")
    } else {
        paint(Verdict::Pass, "ok")
    };
    let _ = writeln!(
        out,
        "ran {n} case{} in {}{}: {outcome}",
        if n == 1 { "" } else { "s" },
        seconds(report.wall_ms),
        if report.strict { " (strict)" } else { "" },
    );
    out
}

/// The ANSI SGR code of a verdict's colour.
fn ansi(v: Verdict) -> &'static str {
    match v {
        Verdict::Pass => "32",
        Verdict::NonStrict => "33",
        Verdict::Informational => "36",
        Verdict::Unimplemented => "35",
        Verdict::Fail => "1;31",
        Verdict::Error => "1;35",
        Verdict::Timeout => "31",
    }
}
