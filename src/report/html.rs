//! The HTML readout: one self-contained page a product manager can send on — inline CSS
//! and SVG, no script, nothing fetched. It shows what the markdown readout shows, with
//! pictures: the core KPIs as tiles with sparklines, every metric's trend with its
//! rolling mean, target and annotations, the cohort heatmap, the open alerts and how
//! fresh the data is. Numbers come from the same `present` formatters as the markdown,
//! and every string from data goes through `present::html`.

use std::fmt::Write as _;

use super::markdown::{capitalized, cell_text, is_worse, period_title, short_title};
use super::{MetricReport, Report, cohort_title};
use crate::alerts::{Alert, Tier};
use crate::metrics::Period;
use crate::present::{self, Change, cohort_share, grouped, html as esc};
use crate::snapshot::Annotation;

/// Periods in the trailing mean drawn under every trend: the cockpit's window.
use crate::present::ROLLING_WINDOW as ROLLING;
/// Cohort rows and months shown in the heatmap: a year of signups, a year of ageing.
const COHORT_ROWS: usize = 12;
const COHORT_MONTHS: usize = 12;

const STYLE: &str = r#"
:root {
  color-scheme: light dark;
  --bg: #f5f6f8; --card: #ffffff; --ink: #1c2430; --muted: #5f6b7a; --rule: #e2e6eb;
  --accent: #2f6fdf; --mean: #9aa5b1; --target: #b7791f; --note: #8a63d2;
  --good: #1e8a4c; --good-bg: #e3f4ea; --bad: #c43c3c; --bad-bg: #fbe7e7;
  --flat-bg: #edf0f3; --heat: #2f6fdf; --heat-low: #eef3fc; --strong: #c43c3c; --mild: #c77d14;
}
@media (prefers-color-scheme: dark) {
  :root {
    --bg: #11151b; --card: #1a2029; --ink: #e6eaf0; --muted: #9aa6b4; --rule: #2c3541;
    --accent: #6aa1ff; --mean: #6b7785; --target: #e0a64a; --note: #b598f0;
    --good: #4cc585; --good-bg: #16352a; --bad: #ff7b7b; --bad-bg: #3d1f23;
    --flat-bg: #26303c; --heat: #5b93f5; --heat-low: #1d2633; --strong: #ff7b7b; --mild: #f0a848;
  }
}
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--ink);
  font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
main { max-width: 1180px; margin: 0 auto; padding: 32px 28px 48px; }
header.page { margin-bottom: 24px; }
header.page h1 { font-size: 28px; margin: 0 0 4px; letter-spacing: -0.01em; }
.meta { color: var(--muted); margin: 0; }
.partial-note { margin: 10px 0 0; padding: 8px 12px; border-left: 3px solid var(--accent);
  background: var(--card); border-radius: 4px; color: var(--muted); }
h2 { font-size: 18px; margin: 32px 0 12px; }
h2 small { font-weight: normal; color: var(--muted); font-size: 13px; margin-left: 6px; }
h3 { font-size: 13px; margin: 0; font-weight: 600; color: var(--muted);
  text-transform: uppercase; letter-spacing: 0.04em; }
.card { background: var(--card); border: 1px solid var(--rule); border-radius: 10px; padding: 14px 16px;
  break-inside: avoid; }
h3.category { margin: 18px 0 8px; }
.tiles { display: grid; grid-template-columns: repeat(auto-fit, minmax(200px, 1fr)); gap: 14px; }
.tile-value { font-size: 28px; font-weight: 650; margin: 6px 0 2px; font-variant-numeric: tabular-nums; }
.change { display: inline-block; padding: 1px 8px; border-radius: 999px; font-size: 12.5px;
  font-weight: 600; background: var(--flat-bg); color: var(--muted); font-variant-numeric: tabular-nums; }
.change.good { background: var(--good-bg); color: var(--good); }
.change.bad { background: var(--bad-bg); color: var(--bad); }
.vs { color: var(--muted); font-size: 12px; margin-left: 4px; }
.tile .spark { display: block; width: 100%; height: 40px; margin: 10px 0 6px; }
.tile p { margin: 2px 0 0; font-size: 12px; color: var(--muted); }
.tile p.risk { color: var(--bad); }
.charts { display: grid; grid-template-columns: repeat(auto-fill, minmax(360px, 1fr)); gap: 14px; }
.charts.small { grid-template-columns: repeat(auto-fill, minmax(260px, 1fr)); }
.chart .name { font-weight: 600; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.chart .segment { color: var(--muted); font-size: 12px; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.chart-head { display: flex; align-items: baseline; gap: 8px; margin-top: 2px; }
.chart-head .now { font-size: 18px; font-weight: 650; font-variant-numeric: tabular-nums; }
svg.trend { display: block; width: 100%; height: auto; margin-top: 8px; overflow: visible; }
svg text { font: 10.5px system-ui, sans-serif; fill: var(--muted); }
.grid { stroke: var(--rule); stroke-width: 1; }
.series { fill: none; stroke: var(--accent); stroke-width: 2.2; stroke-linejoin: round; stroke-linecap: round; }
.series.partial { stroke-dasharray: 3 4; }
.dot { fill: var(--accent); }
.dot.partial { fill: var(--card); stroke: var(--accent); stroke-width: 1.8; }
.mean { fill: none; stroke: var(--mean); stroke-width: 1.6; stroke-dasharray: 5 4; }
.target { stroke: var(--target); stroke-width: 1.5; stroke-dasharray: 2 3; }
text.target-label { fill: var(--target); font-weight: 600; }
.note-line { stroke: var(--note); stroke-width: 1; stroke-dasharray: 1 3; }
.note-pin { fill: var(--note); }
text.note-num { fill: #fff; font-size: 8.5px; font-weight: 700; }
.legend { display: flex; flex-wrap: wrap; gap: 4px 14px; color: var(--muted); font-size: 12px; margin: 0 0 10px; }
.key { display: inline-block; width: 18px; height: 0; vertical-align: middle; margin-right: 5px; border-top: 2.5px solid var(--accent); }
.key.mean { border-top: 2px dashed var(--mean); stroke: none; }
.key.target { border-top: 2px dotted var(--target); stroke: none; }
.key.note { width: 10px; height: 10px; border: 0; border-radius: 50%; background: var(--note); }
.notes { list-style: none; padding: 0; margin: 0 0 12px; display: flex; flex-wrap: wrap; gap: 6px 18px; font-size: 12.5px; }
.pin { display: inline-block; width: 16px; height: 16px; line-height: 16px; border-radius: 50%; background: var(--note);
  color: #fff; font-size: 10px; font-weight: 700; text-align: center; margin-right: 4px; }
.missing { color: var(--muted); font-size: 12px; margin: 10px 0 0; }
.alerts { list-style: none; padding: 0; margin: 0; }
.alert { display: grid; grid-template-columns: 22px 1fr; gap: 8px; align-items: baseline; padding: 7px 14px 7px 10px;
  border-bottom: 1px solid var(--rule); border-left: 4px solid var(--mild); break-inside: avoid; }
.alert:last-child { border-bottom: 0; }
.alert.strong { border-left-color: var(--strong); }
.alert .tier { font-weight: 800; font-size: 15px; color: var(--mild); text-align: center; }
.alert.strong .tier { color: var(--strong); }
.alert p { margin: 0; }
.alert .follow { color: var(--muted); font-size: 12px; }
.alerts-card { padding: 0; overflow: hidden; }
.ok { color: var(--good); }
table { border-collapse: separate; border-spacing: 3px; font-variant-numeric: tabular-nums; }
.heatmap th { font-size: 11.5px; color: var(--muted); font-weight: 600; padding: 2px 6px; text-align: right; }
.heatmap td { width: 56px; height: 28px; text-align: center; font-size: 11.5px; border-radius: 4px; }
.heatmap td.cell { background: color-mix(in srgb, var(--heat) calc(var(--v) * 100%), var(--heat-low));
  print-color-adjust: exact; -webkit-print-color-adjust: exact; }
.heatmap td.cell.hi { color: #fff; }
.heatmap td.forecast { font-style: italic; outline: 1.5px dashed var(--muted); outline-offset: -3px;
  background-image: repeating-linear-gradient(135deg, transparent 0 5px, rgba(127,127,127,.22) 5px 7px),
    linear-gradient(color-mix(in srgb, var(--heat) calc(var(--v) * 100%), var(--heat-low)),
      color-mix(in srgb, var(--heat) calc(var(--v) * 100%), var(--heat-low))); }
.heatmap td.size, .heatmap th.cohort { text-align: right; color: var(--muted); padding: 0 8px; }
.heat-legend { display: flex; align-items: center; gap: 10px; flex-wrap: wrap; color: var(--muted); font-size: 12px; margin-top: 10px; }
.ramp { width: 160px; height: 10px; border-radius: 3px; background: linear-gradient(90deg, var(--heat-low), var(--heat));
  print-color-adjust: exact; -webkit-print-color-adjust: exact; }
.swatch { display: inline-block; width: 22px; height: 14px; border-radius: 3px; vertical-align: middle; margin-right: 4px;
  outline: 1.5px dashed var(--muted); outline-offset: -3px;
  background: repeating-linear-gradient(135deg, transparent 0 5px, rgba(127,127,127,.35) 5px 7px); }
.scroll { overflow-x: auto; }
.fresh td, .fresh th { padding: 4px 10px; text-align: left; border-bottom: 1px solid var(--rule); font-size: 12.5px; }
.fresh th { color: var(--muted); font-weight: 600; }
.fresh td.num { text-align: right; }
.fresh { border-spacing: 0; width: 100%; }
.behind { color: var(--bad); font-weight: 600; }
footer { margin-top: 36px; color: var(--muted); font-size: 12px; }
@media print {
  :root { --bg: #fff; --card: #fff; color-scheme: light; }
  body { font-size: 11px; }
  main { max-width: none; padding: 0; }
  .card { border-color: #ccc; }
  .charts { grid-template-columns: repeat(2, 1fr); }
  .charts.small { grid-template-columns: repeat(3, 1fr); }
  .tiles { grid-template-columns: repeat(3, 1fr); }
  .tile-value { font-size: 22px; }
  /* Long lists run on over pages; only small cards are kept whole. */
  .alerts-card, #freshness .card { break-inside: auto; }
  h2, h3.category { break-after: avoid; }
  .scroll { overflow: visible; }
  @page { margin: 14mm; }
}
"#;

/// The page for `report`.
pub fn to_html(report: &Report) -> String {
    let mut out = String::with_capacity(256 * 1024);
    let focus = report.as_of.map(|as_of| {
        report
            .focus
            .unwrap_or_else(|| Period::containing(report.grain, as_of))
    });
    let title = match focus {
        Some(p) => format!("KPI readout — {}", period_title(&p)),
        None => "KPI readout".to_string(),
    };
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta name=\"color-scheme\" content=\"light dark\">\n\
         <title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<main>\n",
        esc(&title)
    );
    let _ = write!(out, "<header class=\"page\"><h1>{}</h1>", esc(&title));
    let (Some(as_of), Some(focus)) = (report.as_of, focus) else {
        let _ = writeln!(
            out,
            "<p class=\"meta\">The store <code>{}</code> holds no data yet: import your exports with <code>kpi import</code>.</p></header>\n</main>\n</body>\n</html>",
            esc(&report.store)
        );
        return out;
    };
    let _ = write!(
        out,
        "<p class=\"meta\">Store <code>{}</code> · data as of <strong>{as_of}</strong> · {} view · generated {}</p>",
        esc(&report.store),
        report.grain,
        report.generated_at.format("%Y-%m-%d %H:%M UTC")
    );
    if let Some(partial) = report.partial {
        let _ = write!(
            out,
            "<p class=\"partial-note\">{} is still running (data to {}): it is shown to date and not compared.</p>",
            esc(&capitalized(&period_title(&partial))),
            as_of.format("%b %-d")
        );
    }
    out.push_str("</header>\n");
    write_tiles(&mut out, report, focus);
    write_alerts(&mut out, report);
    write_trends(&mut out, report, focus);
    write_cohorts(&mut out, report);
    write_freshness(&mut out, report, as_of);
    let _ = writeln!(
        out,
        "<footer>Made by <code>kpi report --format html</code>. Figures are those of <code>kpi report</code> in every format.</footer>\n</main>\n</body>\n</html>"
    );
    out
}

fn overall<'a>(report: &'a Report, id: &str) -> Option<&'a MetricReport> {
    report
        .metrics
        .iter()
        .find(|m| m.segment.is_none() && m.def.id == id)
}

/// `good`, `bad` or `flat`: how a change reads for the metric's better side.
fn change_class(m: &MetricReport, change: &Change) -> &'static str {
    if is_worse(m, change) {
        "bad"
    } else if change.rising().is_some() {
        "good"
    } else {
        "flat"
    }
}

fn change_badge(m: &MetricReport, period: Period) -> String {
    match m.change_into(period) {
        Some(change) => format!(
            "<span class=\"change {}\">{}</span>",
            change_class(m, &change),
            esc(&change.text())
        ),
        None => "<span class=\"change\">—</span>".into(),
    }
}

fn write_tiles(out: &mut String, report: &Report, focus: Period) {
    let core: Vec<&MetricReport> = report
        .core_kpis
        .iter()
        .filter_map(|id| overall(report, id))
        .collect();
    if core.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "<section id=\"core\"><h2>Core KPIs <small>{}</small></h2>\n<div class=\"tiles\">",
        esc(&period_title(&focus))
    );
    for m in core {
        let _ = write!(
            out,
            "<article class=\"card tile\" data-metric=\"{}\"><h3>{}</h3><div class=\"tile-value\">{}</div>{}<span class=\"vs\">vs {}</span>",
            esc(&m.def.id),
            esc(&m.def.name),
            esc(&cell_text(m.point(focus), m.def.unit, &report.currency)),
            change_badge(m, focus),
            esc(&short_title(&focus.prev()))
        );
        out.push_str(&sparkline(m));
        if let Some(p) = report.partial {
            let _ = write!(
                out,
                "<p>{} to date: {}</p>",
                esc(&short_title(&p)),
                esc(&cell_text(m.point(p), m.def.unit, &report.currency))
            );
        }
        if let Some(status) = report.targets.iter().find(|t| t.metric == m.def.id) {
            let text = present::target(status, m.def.unit, m.def.direction, &report.currency);
            let _ = write!(out, "<p>{}</p>", esc(&text.line()));
            if let Some((tier, risk)) = text.risk {
                let _ = write!(
                    out,
                    "<p class=\"risk\">{} {}</p>",
                    present::tier_mark(tier),
                    esc(&risk)
                );
            }
        }
        out.push_str("</article>\n");
    }
    out.push_str("</div></section>\n");
}

/// The values a chart plots: `(index, value)` of every period with one.
fn plotted(m: &MetricReport) -> Vec<(usize, f64)> {
    m.points
        .iter()
        .enumerate()
        .filter_map(|(i, p)| p.value.filter(|v| v.is_finite()).map(|v| (i, v)))
        .collect()
}

/// The tile's line: complete periods only, ending at the one the tile's figure is for.
fn sparkline(m: &MetricReport) -> String {
    let values: Vec<(usize, f64)> = plotted(m)
        .into_iter()
        .filter(|(i, _)| !m.points[*i].partial)
        .collect();
    if values.len() < 2 {
        return String::new();
    }
    let (w, h, pad) = (180.0, 40.0, 4.0);
    let (lo, hi) = bounds(values.iter().map(|(_, v)| *v));
    let n = values[values.len() - 1].0.max(1);
    let x = |i: usize| pad + (w - 2.0 * pad) * i as f64 / n as f64;
    let y = |v: f64| pad + (h - 2.0 * pad) * (hi - v) / (hi - lo);
    let (li, lv) = values[values.len() - 1];
    format!(
        "<svg class=\"spark\" viewBox=\"0 0 {w} {h}\" role=\"img\" aria-label=\"trend\"><polyline class=\"series\" points=\"{}\"/><circle class=\"dot\" cx=\"{:.1}\" cy=\"{:.1}\" r=\"3\"/></svg>",
        polyline(&values, &x, &y),
        x(li),
        y(lv)
    )
}

/// The value range a chart spans, with some air, never empty.
fn bounds(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (mut lo, mut hi) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
        (lo.min(v), hi.max(v))
    });
    if !lo.is_finite() || !hi.is_finite() {
        return (0.0, 1.0);
    }
    if hi - lo < f64::EPSILON.max(hi.abs() * 1e-9) {
        let spread = if hi == 0.0 { 1.0 } else { hi.abs() * 0.1 };
        lo -= spread;
        hi += spread;
    }
    let air = (hi - lo) * 0.08;
    // A series of non-negative values is not drawn below zero.
    let floor = if lo >= 0.0 { 0.0 } else { f64::NEG_INFINITY };
    ((lo - air).max(floor), hi + air)
}

/// Trailing mean of up to `window` values ending at each one.
/// The rolling mean of `values` (index, value), kept at their indices.
fn rolling_mean(values: &[(usize, f64)], window: usize) -> Vec<(usize, f64)> {
    let plain: Vec<f64> = values.iter().map(|(_, v)| *v).collect();
    values
        .iter()
        .zip(crate::present::rolling_mean(&plain, window))
        .map(|((i, _), mean)| (*i, mean))
        .collect()
}

struct Chart {
    width: f64,
    height: f64,
}

/// The annotations within the reported periods, numbered from 1 in this order on the
/// charts and in their key.
fn shown_annotations(report: &Report) -> Vec<&Annotation> {
    let span = report.metrics.first().and_then(|m| {
        Some((
            m.points.first()?.period.start,
            m.points.last()?.period.end(),
        ))
    });
    let Some((from, to)) = span else {
        return Vec::new();
    };
    report
        .annotations
        .iter()
        .filter(|a| (from..=to).contains(&a.date))
        .collect()
}

fn trend_chart(report: &Report, m: &MetricReport, size: &Chart, notes: &[&Annotation]) -> String {
    let values = plotted(m);
    if values.is_empty() {
        return String::new();
    }
    let complete: Vec<(usize, f64)> = values
        .iter()
        .copied()
        .filter(|(i, _)| !m.points[*i].partial)
        .collect();
    let mean = rolling_mean(&complete, ROLLING);
    // A target is measured at its own grain; drawn on another it would mislead.
    let target = report
        .targets
        .iter()
        .find(|t| t.metric == m.def.id && t.grain == report.grain && m.segment.is_none());
    let (lo, hi) = bounds(
        values
            .iter()
            .map(|(_, v)| *v)
            .chain(target.map(|t| t.target)),
    );
    let (w, h) = (size.width, size.height);
    let (left, right, top, bottom) = (46.0, 12.0, 14.0, 22.0);
    let n = m.points.len().max(2) - 1;
    let x = |i: usize| left + (w - left - right) * i as f64 / n as f64;
    let y = |v: f64| top + (h - top - bottom) * (hi - v) / (hi - lo);
    let mut svg = String::new();
    let _ = write!(
        svg,
        "<svg class=\"trend\" data-metric=\"{}\" viewBox=\"0 0 {w} {h}\" role=\"img\" aria-label=\"{} by {}\">",
        esc(&m.def.id),
        esc(&m.def.name),
        report.grain
    );
    for k in 0..=3 {
        let v = lo + (hi - lo) * f64::from(k) / 3.0;
        let _ = write!(
            svg,
            "<line class=\"grid\" x1=\"{left}\" x2=\"{:.1}\" y1=\"{:.1}\" y2=\"{:.1}\"/><text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
            w - right,
            y(v),
            y(v),
            left - 6.0,
            y(v) + 3.5,
            esc(&present::compact(v, m.def.unit))
        );
    }
    let last = m.points.len() - 1;
    for i in [0, last / 2, last] {
        let anchor = match i {
            0 => "start",
            i if i == last => "end",
            _ => "middle",
        };
        let _ = write!(
            svg,
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"{anchor}\">{}</text>",
            x(i),
            h - 5.0,
            esc(&short_title(&m.points[i].period))
        );
    }
    {
        // Two annotations in one period line their pins up leftwards, in the top margin,
        // instead of covering each other or the line.
        let mut pins_at: Vec<usize> = Vec::new();
        for (number, note) in notes.iter().enumerate() {
            let Some(i) = m
                .points
                .iter()
                .position(|p| p.period.start <= note.date && note.date <= p.period.end())
            else {
                continue;
            };
            let stacked = pins_at.iter().filter(|at| **at == i).count() as f64 * 13.0;
            pins_at.push(i);
            let _ = write!(
                svg,
                "<g class=\"note\"><title>{} · {}</title><line class=\"note-line\" x1=\"{:.1}\" x2=\"{:.1}\" y1=\"{top}\" y2=\"{:.1}\"/><circle class=\"note-pin\" cx=\"{:.1}\" cy=\"{:.1}\" r=\"6\"/><text class=\"note-num\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text></g>",
                note.date,
                esc(&note.label),
                x(i),
                x(i),
                h - bottom,
                x(i) - stacked,
                top - 6.0,
                x(i) - stacked,
                top - 3.0,
                number + 1
            );
        }
    }
    if let Some(t) = target {
        // Above the line unless that would run into the annotation pins.
        let label_y = if y(t.target) - 5.0 > top + 10.0 {
            y(t.target) - 5.0
        } else {
            y(t.target) + 12.0
        };
        let _ = write!(
            svg,
            "<line class=\"target\" x1=\"{left}\" x2=\"{:.1}\" y1=\"{:.1}\" y2=\"{:.1}\"/><text class=\"target-label\" x=\"{:.1}\" y=\"{label_y:.1}\" text-anchor=\"end\">target {}</text>",
            w - right,
            y(t.target),
            y(t.target),
            w - right - 2.0,
            esc(&present::value(t.target, m.def.unit, &report.currency))
        );
    }
    if mean.len() >= 2 {
        let _ = write!(
            svg,
            "<polyline class=\"mean\" points=\"{}\"/>",
            polyline(&mean, &x, &y)
        );
    }
    if complete.len() >= 2 {
        let _ = write!(
            svg,
            "<polyline class=\"series\" points=\"{}\"/>",
            polyline(&complete, &x, &y)
        );
    }
    if let (Some(&(pi, pv)), Some(&(ci, cv))) = (
        values.iter().find(|(i, _)| m.points[*i].partial),
        complete.last(),
    ) {
        let _ = write!(
            svg,
            "<polyline class=\"series partial\" points=\"{:.1},{:.1} {:.1},{:.1}\"/>",
            x(ci),
            y(cv),
            x(pi),
            y(pv)
        );
    }
    for &(i, v) in values.iter().rev().take(2) {
        let partial = m.points[i].partial;
        let _ = write!(
            svg,
            "<circle class=\"dot{}\" cx=\"{:.1}\" cy=\"{:.1}\" r=\"{}\"><title>{}: {}{}</title></circle>",
            if partial { " partial" } else { "" },
            x(i),
            y(v),
            if partial { 3.5 } else { 3.0 },
            esc(&short_title(&m.points[i].period)),
            esc(&present::value(v, m.def.unit, &report.currency)),
            if partial { " to date" } else { "" }
        );
    }
    svg.push_str("</svg>");
    svg
}

fn polyline(values: &[(usize, f64)], x: &impl Fn(usize) -> f64, y: &impl Fn(f64) -> f64) -> String {
    values
        .iter()
        .map(|(i, v)| format!("{:.1},{:.1}", x(*i), y(*v)))
        .collect::<Vec<_>>()
        .join(" ")
}

fn chart_card(
    out: &mut String,
    report: &Report,
    m: &MetricReport,
    focus: Period,
    size: &Chart,
    notes: &[&Annotation],
) {
    let segment = match &m.segment {
        Some(s) => format!(
            "<div class=\"segment\">{} = {}</div>",
            esc(&s.dimension),
            esc(if s.value.is_empty() {
                "(none)"
            } else {
                &s.value
            })
        ),
        None => String::new(),
    };
    let _ = write!(
        out,
        "<article class=\"card chart\" data-metric=\"{}\"><div class=\"name\" title=\"{name}\">{name}</div>{segment}<div class=\"chart-head\"><span class=\"now\">{}</span> {}</div>",
        esc(&m.def.id),
        esc(&cell_text(m.point(focus), m.def.unit, &report.currency)),
        change_badge(m, focus),
        name = esc(&m.def.name),
    );
    let chart = trend_chart(report, m, size, notes);
    if chart.is_empty() {
        let why = m
            .points
            .iter()
            .rev()
            .find_map(|p| p.note.clone())
            .unwrap_or_else(|| "no data".into());
        let _ = write!(out, "<p class=\"missing\">{}</p>", esc(&why));
    } else {
        out.push_str(&chart);
    }
    out.push_str("</article>\n");
}

fn write_trends(out: &mut String, report: &Report, focus: Period) {
    let legend = format!(
        "<p class=\"legend\"><span><span class=\"key\"></span>{} value</span><span><span class=\"key mean\"></span>{ROLLING}-period rolling mean</span><span><span class=\"key target\"></span>target</span><span><span class=\"key note\"></span>annotation</span>{}</p>",
        capitalized(&report.grain.to_string()),
        if report.partial.is_some() {
            "<span>hollow dot: period to date</span>"
        } else {
            ""
        }
    );
    let shown = shown_annotations(report);
    let mut notes = String::new();
    for (number, note) in shown.iter().enumerate() {
        let _ = write!(
            notes,
            "<li><span class=\"pin\">{}</span>{} · {}</li>",
            number + 1,
            note.date.format("%b %-d, %Y"),
            esc(&note.label)
        );
    }
    let notes = if notes.is_empty() {
        notes
    } else {
        format!("<ul class=\"notes\">{notes}</ul>")
    };
    let core: Vec<&MetricReport> = report
        .core_kpis
        .iter()
        .filter_map(|id| overall(report, id))
        .collect();
    if !core.is_empty() {
        let _ = writeln!(
            out,
            "<section id=\"trends\"><h2>Core KPI trends</h2>{legend}{notes}<div class=\"charts\">"
        );
        for m in &core {
            chart_card(
                out,
                report,
                m,
                focus,
                &Chart {
                    width: 380.0,
                    height: 190.0,
                },
                &shown,
            );
        }
        out.push_str("</div></section>\n");
    }
    let _ = write!(
        out,
        "<section id=\"metrics\"><h2>Every metric <small>{}</small></h2>{}",
        esc(&period_title(&focus)),
        if core.is_empty() {
            format!("{legend}{notes}")
        } else {
            String::new()
        }
    );
    let mut category = "";
    for m in &report.metrics {
        if m.category != category {
            if !category.is_empty() {
                out.push_str("</div>\n");
            }
            category = m.category;
            let _ = writeln!(
                out,
                "<h3 class=\"category\">{}</h3><div class=\"charts small\">",
                esc(category)
            );
        }
        chart_card(
            out,
            report,
            m,
            focus,
            &Chart {
                width: 270.0,
                height: 140.0,
            },
            &shown,
        );
    }
    if !category.is_empty() {
        out.push_str("</div>\n");
    }
    out.push_str("</section>\n");
}

fn alert_text(report: &Report, a: &Alert) -> String {
    let segment = a
        .segment
        .as_ref()
        .map(|s| format!(" ({} = {})", esc(&s.dimension), esc(&s.value)))
        .unwrap_or_default();
    let owner = a
        .owner
        .as_ref()
        .map(|o| format!(" — owner {}", esc(o)))
        .unwrap_or_default();
    if let Some(status) = &a.target {
        let text = present::target(status, a.unit, a.direction, &report.currency);
        let risk = text.risk.map(|(_, risk)| risk).unwrap_or_default();
        return format!(
            "<strong>{}</strong> target: {}{owner}",
            esc(&a.metric_name),
            esc(&risk)
        );
    }
    format!(
        "<strong>{}</strong>{segment}, {}: <span class=\"change {}\">{}</span> against its rolling mean of {} ({}){owner}",
        esc(&a.metric_name),
        esc(&a.period),
        if a.good { "good" } else { "bad" },
        Change::between(a.unit, Some(a.rolling_mean), Some(a.value))
            .map_or_else(|| "n/a".into(), |c| esc(&c.amount()).into_owned()),
        esc(&present::value(a.rolling_mean, a.unit, &report.currency)),
        if a.good { "good" } else { "bad" },
    )
}

fn write_alerts(out: &mut String, report: &Report) {
    let open = report.open_alerts();
    let _ = writeln!(
        out,
        "<section id=\"alerts\"><h2>Open alerts <small>{}</small></h2>",
        open.len()
    );
    if open.is_empty() {
        out.push_str("<p class=\"card ok\">No open alerts.</p></section>\n");
        return;
    }
    out.push_str("<div class=\"card alerts-card\"><ul class=\"alerts\">\n");
    for a in open {
        let tier = match a.tier {
            Tier::Strong => "strong",
            Tier::Mild => "mild",
        };
        let _ = writeln!(
            out,
            "<li class=\"alert {tier}\" data-metric=\"{}\"><span class=\"tier\" title=\"{tier}\">{}</span><div><p>{}</p><p class=\"follow\">{}</p></div></li>",
            esc(&a.metric),
            present::tier_mark(a.tier),
            alert_text(report, a),
            esc(&a.follow_up)
        );
    }
    out.push_str("</ul></div></section>\n");
}

fn write_cohorts(out: &mut String, report: &Report) {
    let Some(matrix) = report.headline_cohorts() else {
        return;
    };
    let rows = &matrix.rows[matrix.rows.len().saturating_sub(COHORT_ROWS)..];
    let months = rows
        .iter()
        .map(|r| r.cells.len().max(r.forecast.len()))
        .max()
        .unwrap_or(0)
        .min(COHORT_MONTHS);
    // Shares are coloured from the smallest to the largest one shown, so a matrix living
    // between 20 % and 60 % still reads as a gradient; the legend gives both ends.
    let shares: Vec<f64> = rows
        .iter()
        .flat_map(|r| {
            r.cells
                .iter()
                .take(months)
                .chain(r.forecast.iter().take(months))
        })
        .flatten()
        .copied()
        .filter(|v| v.is_finite())
        .collect();
    let palest = shares.iter().copied().fold(f64::INFINITY, f64::min);
    let darkest = shares.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let scale = if palest < darkest {
        (palest, darkest)
    } else {
        (0.0, darkest.max(1.0))
    };
    let _ = write!(
        out,
        "<section id=\"cohorts\"><h2>Cohorts <small>{}</small></h2><div class=\"card\"><p class=\"legend\">Share of each signup month's customers active k months later. The latest month is to date.</p><div class=\"scroll\"><table class=\"heatmap\"><thead><tr><th class=\"cohort\">Cohort</th><th>Size</th>",
        cohort_title(matrix.variant)
    );
    for k in 0..months {
        let _ = write!(out, "<th>M{k}</th>");
    }
    out.push_str("</tr></thead><tbody>\n");
    for row in rows {
        let _ = write!(
            out,
            "<tr><th class=\"cohort\">{}</th><td class=\"size\">{}</td>",
            esc(&row.cohort),
            grouped(row.size as f64, 0)
        );
        for k in 0..months {
            let observed = row.cells.get(k).copied().flatten();
            let forecast = row.forecast.get(k).copied().flatten();
            match (observed, forecast) {
                (Some(v), _) => heat_cell(out, v, scale, false),
                (None, Some(f)) => heat_cell(out, f, scale, true),
                _ => out.push_str("<td class=\"empty\"></td>"),
            }
        }
        out.push_str("</tr>\n");
    }
    let _ = writeln!(
        out,
        "</tbody></table></div><div class=\"heat-legend\"><span>{}</span><span class=\"ramp\"></span><span>{}</span><span><span class=\"swatch\"></span>forecast</span></div></div></section>",
        cohort_share(scale.0),
        cohort_share(scale.1)
    );
}

fn heat_cell(out: &mut String, share: f64, (palest, darkest): (f64, f64), forecast: bool) {
    let v = ((share - palest) / (darkest - palest)).clamp(0.0, 1.0);
    let mut class = String::from("cell");
    if forecast {
        class.push_str(" forecast");
    }
    if v > 0.6 {
        class.push_str(" hi");
    }
    let _ = write!(
        out,
        "<td class=\"{class}\" style=\"--v:{v:.3}\"{}>{}</td>",
        if forecast { " title=\"forecast\"" } else { "" },
        esc(&cohort_share(share))
    );
}

fn write_freshness(out: &mut String, report: &Report, as_of: chrono::NaiveDate) {
    let _ = write!(
        out,
        "<section id=\"freshness\"><h2>Data freshness</h2><div class=\"card\"><p class=\"legend\">Figures as of {as_of}"
    );
    if let Some(r) = report.reference {
        let _ = write!(
            out,
            ", the latest recorded fact ({}.{} on {})",
            esc(r.table),
            esc(r.column),
            r.date
        );
    }
    out.push_str(".</p><table class=\"fresh\"><thead><tr><th>Table</th><th class=\"num\">Rows</th><th>From</th><th>To</th><th>Behind</th><th>Last import</th></tr></thead><tbody>\n");
    for t in report.tables.iter().filter(|t| t.rows > 0) {
        let behind = t
            .last_date
            .map(|last| (as_of - last).num_days())
            .filter(|days| *days > 0);
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td class=\"num\">{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&t.table),
            grouped(t.rows as f64, 0),
            t.first_date.map(|d| d.to_string()).unwrap_or_default(),
            t.last_date.map(|d| d.to_string()).unwrap_or_default(),
            match behind {
                Some(days) if days > 7 => format!("<span class=\"behind\">{days} days</span>"),
                Some(days) => format!("{days} days"),
                None => "up to date".into(),
            },
            esc(&t.last_import.as_deref().map_or(String::new(), |stamp| {
                stamp.get(..16).unwrap_or(stamp).replace('T', " ")
            }))
        );
    }
    out.push_str("</tbody></table></div></section>\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flat_or_empty_series_still_spans_a_drawable_range() {
        for values in [vec![5.0, 5.0, 5.0], vec![0.0], vec![], vec![-3.0, -3.0]] {
            let (lo, hi) = bounds(values.iter().copied());
            assert!(lo.is_finite() && hi.is_finite() && lo < hi, "{values:?}");
        }
        // Non-negative values are never drawn below zero.
        assert_eq!(bounds([1.0, 9.0].into_iter()).0, 0.36);
    }

    #[test]
    fn the_rolling_mean_uses_what_exists_at_the_start() {
        let values = [(0, 3.0), (1, 6.0), (3, 9.0), (4, 12.0)];
        assert_eq!(
            rolling_mean(&values, 3),
            vec![(0, 3.0), (1, 4.5), (3, 6.0), (4, 9.0)]
        );
    }
}
