//! Text and JSON renderings of alerts, shared by `kpi check`, `kpi report` and anything
//! else that prints them. Text rounds for reading; JSON keeps full precision.

use chrono::NaiveDate;
use serde::Serialize;

// Segment values, owners and file names come from data: cleaned as everywhere else.
// Numbers read as in the cockpit and the report: one formatter.
use crate::present::{Change, clean};

use super::{Alert, AlertKind, Tier};

fn tier_label(tier: Tier) -> &'static str {
    // Symbols carry the tier where colour cannot (SPEC §5).
    match tier {
        Tier::Strong => "‼ STRONG",
        Tier::Mild => "! mild  ",
    }
}

/// One line naming everything an alert carries: tier, metric, segment, period, value,
/// rolling mean, change, good or bad, drivers, owner, follow-up and key. Money reads in
/// `currency`.
pub fn alert_line(alert: &Alert, currency: &str) -> String {
    let format_value = |value: f64, unit| crate::present::value(value, unit, currency);
    let mut parts = Vec::new();
    let segment = alert
        .segment_label()
        .map_or_else(|| "total".into(), |s| clean(&s).into_owned());
    match alert.kind {
        AlertKind::Deviation => {
            // In the metric's own terms: NPS moves by points, revenue by a share of itself.
            let moved = Change::between(alert.unit, Some(alert.rolling_mean), Some(alert.value))
                .map_or_else(|| "n/a".into(), |c| c.text());
            parts.push(format!(
                "{} {} {}",
                tier_label(alert.tier),
                clean(&alert.metric),
                segment
            ));
            parts.push(format!("{} {}", alert.grain, alert.period));
            parts.push(format!(
                "{} vs rolling mean {} ({moved}, {})",
                format_value(alert.value, alert.unit),
                format_value(alert.rolling_mean, alert.unit),
                if alert.good { "good" } else { "bad" }
            ));
        }
        AlertKind::ImportFailure => {
            parts.push(format!(
                "{} import failed {} {}",
                tier_label(alert.tier),
                segment,
                alert.period
            ));
        }
        AlertKind::Target => {
            parts.push(format!(
                "{} {} target",
                tier_label(alert.tier),
                clean(&alert.metric)
            ));
            if let Some(status) = &alert.target {
                // The same words as the cockpit's tile and the report's Target column.
                let text = crate::present::target(status, alert.unit, alert.direction, currency);
                if let Some((_, risk)) = &text.risk {
                    parts.push(risk.clone());
                }
                parts.push(text.line());
                let missed: Vec<String> = status
                    .milestones
                    .iter()
                    .filter(|m| m.missed)
                    .map(|m| format!("{} ({})", m.date, format_value(m.value, alert.unit)))
                    .collect();
                if !missed.is_empty() {
                    parts.push(format!("milestones missed: {}", missed.join(", ")));
                }
            }
        }
    }
    {
        let drivers: Vec<String> = alert
            .contributors
            .iter()
            // A segment that did not move is no driver, whatever its row says.
            .filter(|c| c.share_pct.abs() >= 0.5)
            .take(3)
            .map(|c| {
                format!(
                    "{}={} {:.0} %",
                    clean(&c.segment.dimension),
                    clean(&c.segment.value),
                    c.share_pct
                )
            })
            .collect();
        if !drivers.is_empty() {
            parts.push(format!("drivers: {}", drivers.join(", ")));
        }
    }
    if let Some(share) = alert.share_of_total_pct {
        parts.push(format!("{share:.0} % of the total's move"));
    }
    parts.push(format!(
        "owner: {}",
        alert
            .owner
            .as_deref()
            .map_or_else(|| "unassigned".into(), |o| clean(o).into_owned())
    ));
    if alert.occurrence > 1 {
        parts.push(format!("occurrence {}", alert.occurrence));
    }
    parts.push(format!("next: {}", clean(&alert.follow_up)));
    parts.push(format!("key {}", clean(&alert.key)));
    parts.join(" · ")
}

/// What `kpi check --format text` prints: a summary line, then one line per open alert.
pub fn check_text(open: &[Alert], as_of: Option<NaiveDate>, currency: &str) -> String {
    let when = as_of.map_or_else(
        || " (the store holds no data yet)".to_string(),
        |d| format!(" as of {d}"),
    );
    if open.is_empty() {
        return format!("kpi check: no open alerts{when}\n");
    }
    let strong = open.iter().filter(|a| a.tier == Tier::Strong).count();
    let mut out = format!(
        "kpi check: {} open alert{} ({strong} strong, {} mild){when}\n",
        open.len(),
        if open.len() == 1 { "" } else { "s" },
        open.len() - strong
    );
    for alert in open {
        out.push_str(&alert_line(alert, currency));
        out.push('\n');
    }
    out
}

#[derive(Serialize)]
struct CheckJson<'a> {
    as_of: Option<NaiveDate>,
    exit_code: u8,
    alerts: &'a [Alert],
}

/// What `kpi check --format json` prints: `{as_of, exit_code, alerts}`, the alert objects
/// being the same as in `kpi report`'s `alerts` array.
pub fn check_json(open: &[Alert], as_of: Option<NaiveDate>) -> serde_json::Result<String> {
    crate::present::to_json_pretty(&CheckJson {
        as_of,
        exit_code: super::exit_code(open),
        alerts: open,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alerts::Contribution;
    use crate::metrics::{Direction, Grain, Segment, Unit};

    fn paid_search_drop() -> Alert {
        Alert {
            key: "net_revenue|channel=paid_search|week|2026-W46".into(),
            kind: AlertKind::Deviation,
            metric: "net_revenue".into(),
            metric_name: "Net revenue".into(),
            unit: Unit::Currency,
            segment: Some(Segment {
                dimension: "channel".into(),
                value: "paid_search".into(),
            }),
            grain: Grain::Week,
            period: "2026-W46".into(),
            value: 43_000.0,
            rolling_mean: 50_000.0,
            change_pct: -14.0,
            tier: Tier::Strong,
            direction: Direction::HigherIsBetter,
            good: false,
            contributors: vec![Contribution {
                segment: Segment {
                    dimension: "region".into(),
                    value: "eu\u{1b}[2J".into(),
                },
                change: -6_000.0,
                share_pct: 85.714,
            }],
            share_of_total_pct: Some(97.2),
            owner: Some("Dana".into()),
            follow_up: "Audit paid search".into(),
            acknowledged: false,
            snoozed_until: None,
            first_seen: None,
            last_seen: None,
            occurrence: 1,
            target: None,
        }
    }

    #[test]
    fn the_line_names_everything_the_issue_asks_for() {
        let line = alert_line(&paid_search_drop(), "USD");
        assert_eq!(
            line,
            "‼ STRONG net_revenue channel=paid_search · week 2026-W46 · $43,000 vs rolling mean \
             $50,000 (▼ -14.0%, bad) · drivers: region=eu[2J 86 % · 97 % of the total's move · owner: Dana · next: Audit \
             paid search · key net_revenue|channel=paid_search|week|2026-W46"
        );
    }

    #[test]
    fn summary_lines() {
        let as_of = NaiveDate::from_ymd_opt(2026, 11, 20);
        assert_eq!(
            check_text(&[], as_of, "USD"),
            "kpi check: no open alerts as of 2026-11-20\n"
        );
        assert_eq!(
            check_text(&[], None, "USD"),
            "kpi check: no open alerts (the store holds no data yet)\n"
        );
        let text = check_text(&[paid_search_drop()], as_of, "USD");
        assert!(text.starts_with("kpi check: 1 open alert (1 strong, 0 mild) as of 2026-11-20\n"));
    }

    #[test]
    fn json_keeps_full_precision_and_the_exit_code() {
        let json =
            check_json(&[paid_search_drop()], NaiveDate::from_ymd_opt(2026, 11, 20)).unwrap();
        let v: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(v["exit_code"], 2);
        assert_eq!(v["as_of"], "2026-11-20");
        let a = &v["alerts"][0];
        assert_eq!(a["key"], "net_revenue|channel=paid_search|week|2026-W46");
        assert_eq!(a["tier"], "strong");
        assert_eq!(a["direction"], "higher_is_better");
        assert_eq!(a["segment"]["value"], "paid_search");
        assert_eq!(a["contributors"][0]["share_pct"], 85.714);
        assert_eq!(a["owner"], "Dana");
    }
}
