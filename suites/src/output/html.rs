//! The report as one self-contained HTML page: a protocol × verdict matrix,
//! a filter by verdict and by id, and every case with its level, spec
//! section, verdict, reason and transcript.
//!
//! The page loads nothing: its style and its few lines of script are inline,
//! and every piece of text that comes from the report is escaped.

use std::fmt::Write as _;

use html_escape::{encode_double_quoted_attribute as attr, encode_text as text};

use crate::case::Verdict;
use crate::report::{CaseResult, RunReport};
use crate::transcript::Direction;

use super::{arrow, seconds};

const STYLE: &str = r#"
:root { --pass:#1a7f37; --non-strict:#9a6700; --informational:#0969da; --unimplemented:#8250df;
  --fail:#cf222e; --error:#bc4c00; --timeout:#a40e26; --line:#d0d7de; --muted:#57606a; --bg:#f6f8fa; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color:#1f2328;
  margin: 0; padding: 24px 32px 48px; max-width: 1400px; }
h1 { font-size: 22px; margin: 0 0 4px; }
h2 { font-size: 16px; margin: 28px 0 10px; }
.meta { color: var(--muted); margin: 0; }
.meta b { color: #1f2328; font-weight: 600; }
.outcome { display: inline-block; margin-left: 10px; padding: 1px 10px; border-radius: 12px;
  color: #fff; font-size: 13px; font-weight: 600; vertical-align: 3px; }
.outcome.ok { background: var(--pass); } .outcome.failed { background: var(--fail); }
table { border-collapse: collapse; }
.matrix th, .matrix td { border: 1px solid var(--line); padding: 4px 12px; text-align: right; }
.matrix th:first-child, .matrix td:first-child { text-align: left; }
.matrix thead th { background: var(--bg); font-weight: 600; }
.matrix tr.total td { font-weight: 600; background: var(--bg); }
.matrix td.zero { color: #afb8c1; }
.badge { display: inline-block; min-width: 92px; padding: 1px 8px; border-radius: 10px; color: #fff;
  font-size: 12px; font-weight: 600; text-align: center; }
.v-pass { background: var(--pass); } .v-non-strict { background: var(--non-strict); }
.v-informational { background: var(--informational); } .v-unimplemented { background: var(--unimplemented); }
.v-fail { background: var(--fail); } .v-error { background: var(--error); } .v-timeout { background: var(--timeout); }
.matrix td.hit { color: #fff; font-weight: 600; }
.filters { display: flex; flex-wrap: wrap; gap: 8px; align-items: center; margin-bottom: 12px; }
.chip { display: inline-flex; gap: 6px; align-items: center; padding: 3px 10px; border-radius: 14px;
  color: #fff; cursor: pointer; user-select: none; font-size: 13px; }
.chip input { margin: 0; }
.chip.off { opacity: .4; }
.filters button { font: inherit; font-size: 13px; padding: 3px 10px; border: 1px solid var(--line);
  background: #fff; border-radius: 6px; cursor: pointer; }
.filters input[type=search] { font: inherit; padding: 3px 8px; border: 1px solid var(--line);
  border-radius: 6px; min-width: 200px; margin-left: auto; }
.shown { color: var(--muted); font-size: 13px; }
.cases { width: 100%; }
.cases th { text-align: left; background: var(--bg); border-bottom: 1px solid var(--line); padding: 6px 8px; }
.cases td { border-bottom: 1px solid var(--line); padding: 6px 8px; vertical-align: top; }
.cases td.num { text-align: right; font-variant-numeric: tabular-nums; color: var(--muted); white-space: nowrap; }
.cases td.level { white-space: nowrap; color: var(--muted); }
.cases td.spec { color: var(--muted); max-width: 280px; overflow-wrap: anywhere; }
.id { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-weight: 600; }
.title { color: var(--muted); }
.reason { margin-top: 4px; padding: 4px 8px; background: #fff8f8; border-left: 3px solid var(--fail);
  white-space: pre-wrap; word-break: break-word; }
tr[data-verdict=non-strict] .reason { background: #fffbea; border-color: var(--non-strict); }
tr[data-verdict=informational] .reason { background: #f1f8ff; border-color: var(--informational); }
tr[data-verdict=unimplemented] .reason { background: #f8f5ff; border-color: var(--unimplemented); }
tr[data-verdict=error] .reason { background: #fff6ee; border-color: var(--error); }
details { margin-top: 6px; }
summary { cursor: pointer; color: var(--informational); }
.transcript { margin-top: 6px; width: 100%; font: 12px/1.4 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
.transcript th { background: var(--bg); font-weight: 600; padding: 2px 8px; text-align: left; }
.transcript td { border: 0; border-bottom: 1px solid #eaeef2; padding: 2px 8px; vertical-align: top; }
.transcript td.t, .transcript td.c { text-align: right; white-space: nowrap; color: var(--muted); }
.transcript td.d { text-align: center; font-weight: 700; font-size: 15px; line-height: 1.1; }
.legend { color: var(--muted); font-size: 12px; margin: -4px 0 10px; }
.transcript td.f { white-space: pre-wrap; word-break: break-all; }
.transcript tr.out td.d { color: var(--informational); } .transcript tr.in td.d { color: var(--pass); }
.transcript tr.note td.f { color: var(--muted); font-style: italic; }
.empty { color: var(--muted); }
"#;

const SCRIPT: &str = r#"
(function () {
  var boxes = Array.prototype.slice.call(document.querySelectorAll('.filters input[type=checkbox]'));
  var query = document.getElementById('query');
  var rows = Array.prototype.slice.call(document.querySelectorAll('tr.case'));
  function apply() {
    var on = {};
    boxes.forEach(function (b) { on[b.value] = b.checked; b.parentNode.classList.toggle('off', !b.checked); });
    var q = query.value.trim().toLowerCase();
    var shown = 0;
    rows.forEach(function (tr) {
      var visible = on[tr.getAttribute('data-verdict')] && (q === '' || tr.getAttribute('data-id').indexOf(q) >= 0);
      tr.hidden = !visible;
      if (visible) { shown++; }
    });
    document.getElementById('shown').textContent = shown + ' of ' + rows.length + ' cases shown';
  }
  function only(predicate) { boxes.forEach(function (b) { b.checked = predicate(b.value); }); apply(); }
  boxes.forEach(function (b) { b.addEventListener('change', apply); });
  query.addEventListener('input', apply);
  document.getElementById('all').addEventListener('click', function () { only(function () { return true; }); });
  document.getElementById('problems').addEventListener('click', function () { only(function (v) { return v !== 'pass'; }); });
  apply();
})();
"#;

/// The report as one HTML page.
///
/// Cases that passed are hidden by the filter at first when any case did not
/// pass; without script every case is shown.
pub fn render(report: &RunReport) -> String {
    let mut h = String::with_capacity(16 * 1024 + report.results.len() * 512);
    let failed = report.failed();
    let n = report.results.len();
    let counts = report.counts();

    h.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    h.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    let _ = writeln!(
        h,
        "<title>chatspec report: {}</title>",
        text(&report.target)
    );
    let _ = writeln!(h, "<style>{STYLE}</style>\n</head>\n<body>");

    // Header.
    let _ = writeln!(
        h,
        "<header>\n<h1>chatspec conformance report<span class=\"outcome {}\">{}</span></h1>",
        if failed { "failed" } else { "ok" },
        if failed { "FAILED" } else { "OK" },
    );
    let _ = writeln!(
        h,
        "<p class=\"meta\">target <b>{}</b> · chatspec {} · started {} · {} case{} in {} · {}</p>\n</header>",
        text(&report.target),
        text(&report.chatspec),
        utc(report.started_unix),
        n,
        if n == 1 { "" } else { "s" },
        seconds(report.wall_ms),
        if report.strict {
            "strict: non-strict counts as a failure"
        } else {
            "not strict: non-strict does not count as a failure"
        },
    );

    // Summary matrix.
    h.push_str("<section>\n<h2>Summary</h2>\n");
    let matrix = report.matrix();
    if matrix.is_empty() {
        h.push_str("<p class=\"empty\">No case ran.</p>\n");
    } else {
        h.push_str("<table class=\"matrix\">\n<thead><tr><th>protocol</th>");
        for v in Verdict::ALL {
            let _ = write!(h, "<th>{}</th>", v.name());
        }
        h.push_str("<th>total</th></tr></thead>\n<tbody>\n");
        for (protocol, row) in &matrix {
            let _ = write!(h, "<tr><td>{}</td>", text(protocol));
            for v in Verdict::ALL {
                cell(&mut h, v, row.get(&v).copied().unwrap_or(0), true);
            }
            let _ = writeln!(h, "<td>{}</td></tr>", row.values().sum::<usize>());
        }
        h.push_str("<tr class=\"total\"><td>total</td>");
        for v in Verdict::ALL {
            cell(&mut h, v, counts.get(&v).copied().unwrap_or(0), false);
        }
        let _ = writeln!(h, "<td>{n}</td></tr>\n</tbody>\n</table>");
    }
    h.push_str("</section>\n");

    // Filter.
    let any_problem = report.results.iter().any(|r| r.verdict != Verdict::Pass);
    h.push_str("<section>\n<h2>Cases</h2>\n<div class=\"filters\">\n");
    for v in Verdict::ALL {
        let checked = !(any_problem && v == Verdict::Pass);
        let _ = writeln!(
            h,
            "<label class=\"chip v-{0}\"><input type=\"checkbox\" value=\"{0}\"{1}> {0} <b>{2}</b></label>",
            v.name(),
            if checked { " checked" } else { "" },
            counts.get(&v).copied().unwrap_or(0),
        );
    }
    h.push_str("<button type=\"button\" id=\"all\">all</button>");
    h.push_str("<button type=\"button\" id=\"problems\">not passed</button>\n");
    h.push_str("<span class=\"shown\" id=\"shown\"></span>\n");
    h.push_str("<input type=\"search\" id=\"query\" placeholder=\"filter by case id\" aria-label=\"filter by case id\">\n</div>\n");
    h.push_str("<p class=\"legend\">Transcripts: → sent by the suite, ← received from the target, · a note (connection opened or closed, HTTP status); times in ms from the case's start; #n the connection.</p>\n");

    // Cases.
    h.push_str("<table class=\"cases\">\n<thead><tr><th>verdict</th><th>case</th><th>level</th><th>spec</th><th>ms</th></tr></thead>\n<tbody>\n");
    for r in &report.results {
        case_row(&mut h, r);
    }
    h.push_str("</tbody>\n</table>\n");
    if report.results.is_empty() {
        h.push_str("<p class=\"empty\">No case ran.</p>\n");
    }
    h.push_str("</section>\n");

    let _ = writeln!(h, "<script>{SCRIPT}</script>\n</body>\n</html>");
    h
}

/// A matrix cell; `colour` paints a non-zero count in its verdict's colour.
fn cell(h: &mut String, v: Verdict, count: usize, colour: bool) {
    if count == 0 {
        h.push_str("<td class=\"zero\">0</td>");
    } else if !colour {
        let _ = write!(h, "<td>{count}</td>");
    } else {
        let _ = write!(h, "<td class=\"hit v-{}\">{count}</td>", v.name());
    }
}

fn case_row(h: &mut String, r: &CaseResult) {
    let v = r.verdict.name();
    let _ = writeln!(
        h,
        "<tr class=\"case\" data-verdict=\"{v}\" data-id=\"{}\">",
        attr(&r.id.to_lowercase())
    );
    let _ = writeln!(h, "<td><span class=\"badge v-{v}\">{v}</span></td>");
    let _ = write!(
        h,
        "<td><div class=\"id\">{}</div><div class=\"title\">{}</div>",
        text(&r.id),
        text(&r.title)
    );
    if let Some(reason) = &r.reason {
        let _ = write!(h, "<div class=\"reason\">{}</div>", text(reason));
    }
    if !r.transcript.is_empty() {
        let frames = r
            .transcript
            .iter()
            .filter(|e| e.dir != Direction::Note)
            .count();
        let _ = write!(
            h,
            "\n<details><summary>transcript: {} entr{}, {} frame{}</summary>\n<table class=\"transcript\"><thead><tr><th>ms</th><th>conn</th><th></th><th>frame</th></tr></thead><tbody>\n",
            r.transcript.len(),
            if r.transcript.len() == 1 { "y" } else { "ies" },
            frames,
            if frames == 1 { "" } else { "s" },
        );
        for e in &r.transcript {
            let (class, title) = match e.dir {
                Direction::Out => ("out", "sent by the suite"),
                Direction::In => ("in", "received from the target"),
                Direction::Note => ("note", "note"),
            };
            let _ = writeln!(
                h,
                "<tr class=\"{class}\"><td class=\"t\">{:.1}</td><td class=\"c\">#{}</td><td class=\"d\" title=\"{title}\">{}</td><td class=\"f\">{}</td></tr>",
                e.at_ms,
                e.conn,
                arrow(e.dir),
                text(&e.frame)
            );
        }
        h.push_str("</tbody></table>\n</details>");
    }
    h.push_str("</td>\n");
    let _ = writeln!(
        h,
        "<td class=\"level\">{}</td><td class=\"spec\">{}</td><td class=\"num\">{:.1}</td>\n</tr>",
        r.level,
        text(&r.spec),
        r.duration_ms
    );
}

/// Seconds since the Unix epoch as a UTC date and time, `2025-05-30 14:03 UTC`.
fn utc(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Days since 1970-01-01 to a civil date (proleptic Gregorian calendar),
    // counting in 400-year eras that start on March 1st.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02} UTC",
        rem / 3_600,
        rem % 3_600 / 60
    )
}
