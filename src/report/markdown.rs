//! The markdown readout: reads well pasted into a team channel or a document. Values and
//! changes read as everywhere else (`present::value`, `present::Change`); the partial
//! current period is shown "to date", never compared with full periods.

use std::fmt::Write as _;

use chrono::Datelike;

use super::{MetricReport, Report};
use crate::metrics::{Direction, Grain, Period, Unit};
use crate::present::{Change, clean, cohort_share, grouped, value as format_value};

/// `June 2025`, `week 23 of 2025 (Jun 2–8)`, `Mon 2 Jun 2025`.
pub fn period_title(p: &Period) -> String {
    match p.grain {
        Grain::Month => p.start.format("%B %Y").to_string(),
        Grain::Week => {
            let w = p.start.iso_week();
            format!(
                "week {} of {} ({}–{})",
                w.week(),
                w.year(),
                p.start.format("%b %-d"),
                p.end().format("%b %-d")
            )
        }
        Grain::Day => p.start.format("%a %-d %b %Y").to_string(),
    }
}

pub(super) fn capitalized(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

pub(super) fn short_title(p: &Period) -> String {
    match p.grain {
        Grain::Month => p.start.format("%b %Y").to_string(),
        Grain::Week => p.label(),
        Grain::Day => p.start.format("%b %-d").to_string(),
    }
}

pub(super) fn change_text(m: &MetricReport, period: Period) -> String {
    let Some(change) = m.change_into(period) else {
        return "—".into();
    };
    let verdict = if is_worse(m, &change) { " (worse)" } else { "" };
    format!("{}{verdict}", change.text())
}

/// Whether a change moved the metric away from its better side.
pub(super) fn is_worse(m: &MetricReport, change: &Change) -> bool {
    change
        .rising()
        .is_some_and(|rising| rising != (m.def.direction == Direction::HigherIsBetter))
}

pub(super) fn cell_text(
    point: Option<&crate::metrics::Point>,
    unit: Unit,
    currency: &str,
) -> String {
    match point {
        Some(p) => match p.value {
            Some(v) => format_value(v, unit, currency),
            None => p.note.clone().unwrap_or_else(|| "—".into()),
        },
        None => "—".into(),
    }
}

/// Text from data, made safe for the terminal the readout is printed on (the one cleaner,
/// which also takes out line breaks) and for a markdown table cell (no bare pipe).
fn escape(text: &str) -> String {
    clean(text).replace('|', "\\|")
}

pub fn to_markdown(report: &Report) -> String {
    let mut out = String::new();
    let Some(as_of) = report.as_of else {
        let _ = writeln!(
            out,
            "# KPI readout\n\nThe store `{}` holds no data yet: import your exports with `kpi import`.",
            clean(&report.store)
        );
        return out;
    };
    let focus = report
        .focus
        .unwrap_or_else(|| Period::containing(report.grain, as_of));
    let previous = focus.prev();
    let _ = writeln!(out, "# KPI readout — {}\n", period_title(&focus));
    let _ = writeln!(
        out,
        "Store `{}` · data as of {} · {} view · generated {}",
        clean(&report.store),
        as_of,
        report.grain,
        report.generated_at.format("%Y-%m-%d %H:%M UTC")
    );
    if let Some(partial) = report.partial {
        let _ = writeln!(
            out,
            "\n{} is still running (data to {}): it is shown to date and not compared.",
            capitalized(&period_title(&partial)),
            as_of.format("%b %-d")
        );
    }
    let mut headers = vec![
        "Metric".to_string(),
        short_title(&focus),
        format!("vs {}", short_title(&previous)),
    ];
    if let Some(p) = report.partial {
        headers.push(format!("{} to date", short_title(&p)));
    }
    headers.extend(["Target".to_string(), "Note".to_string()]);
    let mut category = "";
    for m in &report.metrics {
        if m.category != category {
            category = m.category;
            let _ = writeln!(out, "\n## {category}\n");
            let _ = writeln!(out, "| {} |", headers.join(" | "));
            let aligns: Vec<&str> = headers
                .iter()
                .enumerate()
                .map(|(i, _)| {
                    if i == 0 || i + 2 >= headers.len() {
                        "---"
                    } else {
                        "---:"
                    }
                })
                .collect();
            let _ = writeln!(out, "|{}|", aligns.join("|"));
        }
        let name = match &m.segment {
            Some(s) => format!(
                "↳ {} = {}",
                s.dimension,
                if s.value.is_empty() {
                    "(none)"
                } else {
                    &s.value
                }
            ),
            None => m.def.name.to_string(),
        };
        let now = m.point(focus);
        let mut row = vec![
            escape(&name),
            escape(&cell_text(now, m.def.unit, &report.currency)),
            change_text(m, focus),
        ];
        if let Some(p) = report.partial {
            row.push(escape(&cell_text(m.point(p), m.def.unit, &report.currency)));
        }
        row.push(if m.segment.is_none() {
            target_text(report, m)
        } else {
            String::new()
        });
        let note = now
            .filter(|p| p.value.is_some())
            .and_then(|p| p.note.clone())
            .unwrap_or_default();
        row.push(escape(&note));
        let _ = writeln!(out, "| {} |", row.join(" | "));
    }
    write_alerts(&mut out, report);
    write_cohorts(&mut out, report);
    out
}

fn target_text(report: &Report, m: &MetricReport) -> String {
    let Some(status) = report.targets.iter().find(|t| t.metric == m.def.id) else {
        return String::new();
    };
    let text = crate::present::target(status, m.def.unit, m.def.direction, &report.currency);
    let mut cell = text.line();
    if let Some((tier, _)) = text.risk {
        cell.push_str(&format!(" · {} at risk", crate::present::tier_mark(tier)));
    }
    escape(&cell)
}

fn write_alerts(out: &mut String, report: &Report) {
    let _ = writeln!(out, "\n## Alerts\n");
    let open = report.open_alerts();
    if open.is_empty() {
        let _ = writeln!(out, "No open alerts.");
        return;
    }
    for a in open {
        let tier = crate::present::tier_mark(a.tier);
        let segment = a
            .segment
            .as_ref()
            .map(|s| format!(" ({} = {})", escape(&s.dimension), escape(&s.value)))
            .unwrap_or_default();
        let owner = a
            .owner
            .as_ref()
            .map(|o| format!(" — owner {}", escape(o)))
            .unwrap_or_default();
        if let Some(status) = &a.target {
            let text = crate::present::target(status, a.unit, a.direction, &report.currency);
            let risk = text.risk.map(|(_, risk)| risk).unwrap_or_default();
            let _ = writeln!(
                out,
                "- {tier} **{}** target: {}{owner}. {}",
                escape(&a.metric),
                escape(&risk),
                escape(&a.follow_up)
            );
            continue;
        }
        let _ = writeln!(
            out,
            "- {tier} **{}**{segment}, {}: {} against its rolling mean ({}){owner}. {}",
            escape(&a.metric),
            escape(&a.period),
            Change::between(a.unit, Some(a.rolling_mean), Some(a.value))
                .map_or_else(|| "n/a".into(), |c| c.amount()),
            if a.good { "good" } else { "bad" },
            escape(&a.follow_up)
        );
    }
}

fn write_cohorts(out: &mut String, report: &Report) {
    let Some(matrix) = report.headline_cohorts() else {
        return;
    };
    let title = super::cohort_title(matrix.variant);
    const SHOWN: usize = 6;
    let rows = &matrix.rows[matrix.rows.len().saturating_sub(SHOWN)..];
    let _ = writeln!(
        out,
        "\n## Cohorts — {title}\n\nShare of each signup month's customers active k months later; *italic* cells are forecast; the latest month is to date.\n"
    );
    let months: Vec<String> = (0..SHOWN).map(|k| format!("M{k}")).collect();
    let _ = writeln!(out, "| Cohort | Size | {} |", months.join(" | "));
    let _ = writeln!(out, "|---|---:|{}|", ["---:"; SHOWN].join("|"));
    for row in rows {
        let cells: Vec<String> = (0..SHOWN)
            .map(|k| {
                match (
                    row.cells.get(k).copied().flatten(),
                    row.forecast.get(k).copied().flatten(),
                ) {
                    (Some(v), _) => cohort_share(v),
                    (None, Some(f)) => format!("*{}*", cohort_share(f)),
                    _ => String::new(),
                }
            })
            .collect();
        let _ = writeln!(
            out,
            "| {} | {} | {} |",
            escape(&row.cohort),
            grouped(row.size as f64, 0),
            cells.join(" | ")
        );
    }
}
