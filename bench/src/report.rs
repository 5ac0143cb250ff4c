//! The reports of a run: `results.json` (everything, histogram included, what
//! `bench merge` reads), `report.md` for people, and SVG plots: the latency
//! percentile distribution, and rate and latency over time.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context;
use plotters::prelude::*;

use crate::results::{Results, Summary};

/// A latency for people: `850µs`, `12.3ms`, `1.20s`.
pub fn format_us(us: u64) -> String {
    match us {
        0..=999 => format!("{us}µs"),
        1_000..=999_999 => format!("{:.1}ms", us as f64 / 1e3),
        _ => format!("{:.2}s", us as f64 / 1e6),
    }
}

fn format_bytes(b: f64) -> String {
    if b.abs() >= 1024.0 * 1024.0 {
        format!("{:.1} MiB", b / (1024.0 * 1024.0))
    } else if b.abs() >= 1024.0 {
        format!("{:.1} KiB", b / 1024.0)
    } else {
        format!("{b:.0} B")
    }
}

/// The Markdown report of `results`.
pub fn markdown(results: &Results, summary: &Summary) -> String {
    let mut md = String::new();
    let r = results;
    let _ = writeln!(md, "# chatspec bench: {} {}\n", r.protocol, r.scenario);
    let _ = writeln!(md, "Target: `{}`", r.target);
    let shards = if r.shard_count > 1 {
        format!(" (shards {:?} of {})", r.shards, r.shard_count)
    } else {
        String::new()
    };
    let _ = writeln!(md, "Connections: {}{shards}\n", r.connections);
    let _ = writeln!(md, "| setting | value |\n|---|---|");
    for (k, v) in &r.settings {
        let _ = writeln!(md, "| {k} | {v} |");
    }
    let s = summary;
    let l = &s.latency_us;
    let _ = writeln!(md, "\n| figure | value |\n|---|---|");
    let rows = [
        ("measured window", format!("{:.1} s", r.measured_seconds)),
        ("sent", r.sent.to_string()),
        ("answered / delivered", r.delivered.to_string()),
        ("owed", r.expected.to_string()),
        (
            "**lost** (owed, missing after the drain)",
            s.lost.to_string(),
        ),
        ("sent/s", format!("{:.0}", s.sent_per_s)),
        (
            "answered or delivered/s",
            format!("{:.0}", s.delivered_per_s),
        ),
        (
            "latency p50 / p90 / p99 / p99.9 / max",
            format!(
                "{} / {} / {} / {} / {}",
                format_us(l.p50),
                format_us(l.p90),
                format_us(l.p99),
                format_us(l.p999),
                format_us(l.max)
            ),
        ),
        (
            "fairness: per connection min / median / max",
            format!(
                "{} / {} / {} (max/min {:.2})",
                s.fairness.min, s.fairness.median, s.fairness.max, s.fairness.spread
            ),
        ),
        (
            "generator CPU",
            format!(
                "{:.2} s, {:.2} µs per message, {:.0}% of a core (and {:.0}% waiting for it){}",
                r.generator_cpu_seconds,
                s.generator_us_per_message,
                s.generator_cores * 100.0,
                s.generator_waiting * 100.0,
                if s.generator_saturated {
                    " **(saturated: the generator may be the bottleneck)**"
                } else {
                    ""
                }
            ),
        ),
        (
            "generator lag p50 / p99 / max",
            format!(
                "{} / {} / {}",
                format_us(r.generator_lag_us.p50),
                format_us(r.generator_lag_us.p99),
                format_us(r.generator_lag_us.max)
            ),
        ),
    ];
    for (k, v) in rows {
        let _ = writeln!(md, "| {k} | {v} |");
    }
    if let Some(server) = &r.server {
        let _ = writeln!(md, "| server watched | {} |", server.watched);
        let _ = writeln!(
            md,
            "| server CPU (measured window) | {:.2} s, {} µs per message, {:.0}% of a core (and {:.0}% waiting for it) |",
            server.cpu_seconds,
            s.server_us_per_message
                .map_or("-".to_owned(), |u| format!("{u:.2}")),
            s.server_cores.unwrap_or(0.0) * 100.0,
            s.server_waiting.unwrap_or(0.0) * 100.0
        );
        let _ = writeln!(
            md,
            "| server memory before / loaded / peak | {} / {} / {} |",
            format_bytes(server.rss_before as f64),
            format_bytes(server.rss_loaded as f64),
            format_bytes(server.rss_peak as f64)
        );
        if let Some(before) = server.memory_before {
            let _ = writeln!(
                md,
                "| server memory before, settled: resident / anonymous / proportional | {} / {} / {} |",
                format_bytes(before.rss as f64),
                format_bytes(before.anon as f64),
                format_bytes(before.pss as f64)
            );
        }
        match s.server_memory {
            Some(m) => {
                let _ = writeln!(
                    md,
                    "| server memory per open connection over the window | {} samples, {}–{} connections open |",
                    m.samples, m.open_min, m.open_max
                );
                for (name, spread) in [
                    ("resident (RSS)", m.rss),
                    ("anonymous (RssAnon)", m.anon),
                    ("proportional (PSS)", m.pss),
                ] {
                    let _ = writeln!(
                        md,
                        "| … {name}: median (min–max) | {} ({}–{}) |",
                        format_bytes(spread.median),
                        format_bytes(spread.min),
                        format_bytes(spread.max)
                    );
                }
            }
            None => {
                if let Some(b) = s.server_bytes_per_connection {
                    let _ = writeln!(md, "| server memory per connection | {} |", format_bytes(b));
                }
            }
        }
    }
    let _ = writeln!(md, "\nErrors and timeouts by kind:\n");
    if r.errors.is_empty() {
        let _ = writeln!(md, "- none");
    }
    for (k, v) in &r.errors {
        let _ = writeln!(md, "- `{k}`: {v}");
    }
    let _ = writeln!(
        md,
        "\n![latency percentiles](latency.svg)\n\n![rate and latency over time](timeline.svg)"
    );
    md
}

/// Writes `results.json`, `report.md`, `latency.svg` and `timeline.svg` into `dir`.
pub fn write(results: &Results, dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let summary = results.summary()?;
    let mut written = Vec::new();
    let mut put = |name: &str, text: String| -> anyhow::Result<()> {
        let path = dir.join(name);
        std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
        written.push(path);
        Ok(())
    };
    let json = serde_json::json!({ "results": results, "summary": summary });
    put("results.json", serde_json::to_string_pretty(&json)?)?;
    put("report.md", markdown(results, &summary))?;
    let latency = dir.join("latency.svg");
    percentile_plot(results, &latency)?;
    let timeline = dir.join("timeline.svg");
    timeline_plot(results, &timeline)?;
    written.push(latency);
    written.push(timeline);
    Ok(written)
}

/// Reads a `results.json` that [`write`] wrote.
pub fn read(dir: &Path) -> anyhow::Result<Results> {
    let path = if dir.is_dir() {
        dir.join("results.json")
    } else {
        dir.to_path_buf()
    };
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let value: serde_json::Value =
        serde_json::from_str(&text).with_context(|| format!("{} is not JSON", path.display()))?;
    serde_json::from_value(value["results"].clone())
        .with_context(|| format!("{} is not a bench result", path.display()))
}

fn plot_error(e: impl std::fmt::Display) -> anyhow::Error {
    anyhow::anyhow!("drawing a plot: {e}")
}

/// Latency by percentile, on a "nines" axis (0.9, 0.99, 0.999 ...).
fn percentile_plot(results: &Results, path: &Path) -> anyhow::Result<()> {
    let h = results.latency()?;
    let mut points = Vec::new();
    if !h.is_empty() {
        for i in 0..=60 {
            // x = number of nines: 0 .. 5
            let x = f64::from(i) / 12.0;
            let q = 1.0 - 10f64.powf(-x);
            points.push((x, h.value_at_quantile(q) as f64 / 1e3));
        }
    }
    let top = points.iter().map(|p| p.1).fold(0.1, f64::max) * 1.1;
    let root = SVGBackend::new(path, (800, 450)).into_drawing_area();
    root.fill(&WHITE).map_err(plot_error)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            format!(
                "{} {}: latency by percentile",
                results.protocol, results.scenario
            ),
            ("sans-serif", 20),
        )
        .margin(15)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(0f64..5f64, 0f64..top)
        .map_err(plot_error)?;
    chart
        .configure_mesh()
        .x_desc("percentile")
        .y_desc("latency (ms)")
        .x_label_formatter(&|x| format!("{}%", 100.0 * (1.0 - 10f64.powf(-x))))
        .draw()
        .map_err(plot_error)?;
    chart
        .draw_series(LineSeries::new(points, &BLUE))
        .map_err(plot_error)?;
    root.present().map_err(plot_error)?;
    Ok(())
}

/// Sent and delivered per second (the offered rate shows a ramp) and p50
/// and p99 per second over the measured window.
fn timeline_plot(results: &Results, path: &Path) -> anyhow::Result<()> {
    let series = &results.series;
    let end = series.iter().map(|p| p.t).fold(1.0, f64::max);
    let top_rate = series
        .iter()
        .map(|p| p.delivered_per_s.max(p.sent_per_s))
        .fold(1.0, f64::max)
        * 1.1;
    let top_ms = series
        .iter()
        .map(|p| p.p99_us as f64 / 1e3)
        .fold(0.1, f64::max)
        * 1.1;
    let root = SVGBackend::new(path, (800, 450)).into_drawing_area();
    root.fill(&WHITE).map_err(plot_error)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            format!(
                "{} {}: rate and latency over time",
                results.protocol, results.scenario
            ),
            ("sans-serif", 20),
        )
        .margin(15)
        .x_label_area_size(40)
        .y_label_area_size(70)
        .right_y_label_area_size(60)
        .build_cartesian_2d(0f64..end, 0f64..top_rate)
        .map_err(plot_error)?
        .set_secondary_coord(0f64..end, 0f64..top_ms);
    chart
        .configure_mesh()
        .x_desc("seconds")
        .y_desc("delivered per second")
        .draw()
        .map_err(plot_error)?;
    chart
        .configure_secondary_axes()
        .y_desc("latency (ms)")
        .draw()
        .map_err(plot_error)?;
    chart
        .draw_series(LineSeries::new(
            series.iter().map(|p| (p.t, p.delivered_per_s)),
            &BLUE,
        ))
        .map_err(plot_error)?
        .label("delivered/s")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BLUE));
    chart
        .draw_series(LineSeries::new(
            series.iter().map(|p| (p.t, p.sent_per_s)),
            &GREEN,
        ))
        .map_err(plot_error)?
        .label("sent/s")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], GREEN));
    chart
        .draw_secondary_series(LineSeries::new(
            series.iter().map(|p| (p.t, p.p50_us as f64 / 1e3)),
            &MAGENTA,
        ))
        .map_err(plot_error)?
        .label("p50 (ms)")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], MAGENTA));
    chart
        .draw_secondary_series(LineSeries::new(
            series.iter().map(|p| (p.t, p.p99_us as f64 / 1e3)),
            &RED,
        ))
        .map_err(plot_error)?
        .label("p99 (ms)")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], RED));
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()
        .map_err(plot_error)?;
    root.present().map_err(plot_error)?;
    Ok(())
}
