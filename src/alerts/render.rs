//! Text and JSON renderings of alerts, shared by `kpi check`, `kpi report` and anything
//! else that prints them. Text rounds for reading; JSON keeps full precision.

use chrono::NaiveDate;
use serde::Serialize;

// Segment values, owners and file names come from data: cleaned as everywhere else.
// Numbers read as in the cockpit and the report: one formatter.
use crate::metrics::Grain;
use crate::present::{Change, clean};

use super::{Alert, AlertKind, Tier};

fn tier_label(tier: Tier) -> &'static str {
    // Symbols carry the tier where colour cannot (SPEC §5): ‼ strong, ! mild.
    match tier {
        Tier::Strong => "‼",
        Tier::Mild => "!",
    }
}

/// A period as people say it: `Jun 2025`, `week of Mon 9 Nov 2026`, `Sun 15 Nov 2026`.
/// A label that is not a period's (a target's date) is kept as it is.
pub fn period_words(grain: Grain, label: &str) -> String {
    let parsed = match grain {
        Grain::Month => NaiveDate::parse_from_str(&format!("{label}-01"), "%Y-%m-%d")
            .ok()
            .map(|d| d.format("%b %Y").to_string()),
        Grain::Week => label.split_once("-W").and_then(|(year, week)| {
            let monday = NaiveDate::from_isoywd_opt(
                year.parse().ok()?,
                week.parse().ok()?,
                chrono::Weekday::Mon,
            )?;
            Some(format!("week of {}", monday.format("%a %-d %b %Y")))
        }),
        Grain::Day => NaiveDate::parse_from_str(label, "%Y-%m-%d")
            .ok()
            .map(|d| d.format("%a %-d %b %Y").to_string()),
    };
    parsed.unwrap_or_else(|| clean(label).into_owned())
}

fn segment_words(segment: &crate::metrics::Segment) -> String {
    format!("{} {}", clean(&segment.dimension), clean(&segment.value))
}

/// One line that reads as a sentence, naming everything an alert carries: tier mark,
/// metric name, segment, period, value and average in their unit, change, good or bad,
/// drivers, owner and follow-up. The key (the alert's identity) is in the JSON.
pub fn alert_line(alert: &Alert, currency: &str) -> String {
    let mut parts = Vec::new();
    let value = |v: f64| crate::present::value(v, alert.unit, currency);
    match alert.kind {
        AlertKind::Deviation => {
            // In the metric's own terms: NPS moves by points, revenue by a share of itself.
            let moved = Change::between(alert.unit, Some(alert.rolling_mean), Some(alert.value))
                .map_or_else(|| "n/a".into(), |c| c.text());
            parts.push(format!(
                "{} {}",
                tier_label(alert.tier),
                clean(&alert.metric_name)
            ));
            if let Some(segment) = &alert.segment {
                parts.push(segment_words(segment));
            }
            parts.push(period_words(alert.grain, &alert.period));
            parts.push(format!(
                "{} vs {} average ({moved}, {})",
                value(alert.value),
                value(alert.rolling_mean),
                // Good news is listed but wakes no one (`kpi check --fail-on`).
                if alert.good { "good news" } else { "bad" }
            ));
        }
        AlertKind::ImportFailure => {
            parts.push(format!(
                "{} import failed: {}",
                tier_label(alert.tier),
                alert
                    .segment
                    .as_ref()
                    .map_or_else(String::new, |s| clean(&s.value).into_owned())
            ));
            parts.push(clean(&alert.period).into_owned());
        }
        AlertKind::Target => {
            parts.push(format!(
                "{} {} target",
                tier_label(alert.tier),
                clean(&alert.metric_name)
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
                    .map(|m| format!("{} ({})", m.date, value(m.value)))
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
                let split = c
                    .rate_mix
                    .filter(|_| c.change != 0.0)
                    .map(|rm| {
                        let part = |effect: f64| c.share_pct * effect / c.change;
                        format!(" (rate {:.0} %, mix {:.0} %)", part(rm.rate), part(rm.mix))
                    })
                    .unwrap_or_default();
                format!("{} {:.0} %{split}", segment_words(&c.segment), c.share_pct)
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
    parts.join(" · ")
}

/// What `kpi check --format text` prints: a summary line, then one line per open alert,
/// bad news first.
pub fn check_text(open: &[Alert], as_of: Option<NaiveDate>, currency: &str) -> String {
    let when = as_of.map_or_else(
        || " (the store holds no data yet)".to_string(),
        |d| format!(" as of {d}"),
    );
    if open.is_empty() {
        return format!("kpi check: no open alerts{when}\n");
    }
    let bad = |tier: Tier| open.iter().filter(|a| !a.good && a.tier == tier).count();
    let good = open.iter().filter(|a| a.good).count();
    let mut out = format!(
        "kpi check: {} open alert{} ({} strong, {} mild, {good} good news){when}\n",
        open.len(),
        if open.len() == 1 { "" } else { "s" },
        bad(Tier::Strong),
        bad(Tier::Mild),
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
pub fn check_json(
    open: &[Alert],
    as_of: Option<NaiveDate>,
    fail_on: super::FailOn,
) -> serde_json::Result<String> {
    crate::present::to_json_pretty(&CheckJson {
        as_of,
        exit_code: super::exit_code(open, fail_on),
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
                rate_mix: None,
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
            "‼ Net revenue · channel paid_search · week of Mon 9 Nov 2026 · $43,000 vs $50,000 \
             average (▼ -14.0%, bad) · drivers: region eu[2J 86 % · 97 % of the total's move · \
             owner: Dana · next: Audit paid search"
        );
    }

    #[test]
    fn periods_and_money_read_as_people_say_them() {
        assert_eq!(period_words(Grain::Month, "2025-06"), "Jun 2025");
        assert_eq!(
            period_words(Grain::Week, "2026-W46"),
            "week of Mon 9 Nov 2026"
        );
        assert_eq!(period_words(Grain::Day, "2026-11-15"), "Sun 15 Nov 2026");
        assert_eq!(period_words(Grain::Month, "2026-12-31"), "2026-12-31");
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
        assert!(text.starts_with(
            "kpi check: 1 open alert (1 strong, 0 mild, 0 good news) as of 2026-11-20\n"
        ));
        let mut rise = paid_search_drop();
        rise.good = true;
        rise.change_pct = 14.0;
        rise.value = 57_000.0;
        let text = check_text(&[rise], as_of, "USD");
        assert!(
            text.starts_with(
                "kpi check: 1 open alert (0 strong, 0 mild, 1 good news) as of 2026-11-20\n"
            ),
            "{text}"
        );
        assert!(text.contains("(▲ +14.0%, good news)"), "{text}");
    }

    #[test]
    fn json_keeps_full_precision_and_the_exit_code() {
        let json = check_json(
            &[paid_search_drop()],
            NaiveDate::from_ymd_opt(2026, 11, 20),
            crate::alerts::FailOn::Bad,
        )
        .unwrap();
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
