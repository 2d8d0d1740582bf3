//! Alerts: the tiered list (strong first) and the selected alert in full — value against
//! its rolling mean, what drove it, its owner and the recommended follow-up.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{List, ListItem, ListState, Paragraph, Wrap};

use crate::alerts::{Alert, AlertKind, Tier};
use crate::metrics::{Direction, Unit};

use super::super::app::{App, DrillOrigin};
use super::super::mouse::{Hits, ListId};
use super::overview::tier_span;
use super::{empty_state, panel};
use crate::present::{self, Change, clean};

fn metric_name_unit(app: &App, id: &str) -> (String, Unit) {
    app.snapshot.metric(id).map_or_else(
        || (clean(id).into_owned(), Unit::Count),
        |m| (clean(&m.name).into_owned(), m.unit),
    )
}

fn segment_text(alert: &Alert) -> String {
    alert.segment.as_ref().map_or_else(
        || "overall".to_string(),
        |s| format!("{}={}", clean(&s.dimension), clean(&s.value)),
    )
}

/// How far the alert's value is from its rolling mean, in the metric's own terms.
fn deviation_text(alert: &Alert, unit: Unit) -> String {
    Change::between(unit, Some(alert.rolling_mean), Some(alert.value))
        .map_or_else(|| "n/a".into(), |c| c.text())
}

/// What a target alert says: `at risk: projected $81,200 by 2026-12-31 vs target $90,000`.
fn target_risk(alert: &Alert, unit: Unit, currency: &str) -> Option<String> {
    let status = alert.target.as_ref()?;
    let text = present::target(status, unit, alert.direction, currency);
    let line = text.line();
    Some(text.risk.map_or(line, |(_, risk)| risk))
}

/// One alert on one line: tier mark, metric, segment, period, value, change, state.
pub(crate) fn alert_line(alert: &Alert, app: &App, currency: &str) -> Line<'static> {
    let theme = app.theme;
    let (name, unit) = metric_name_unit(app, &alert.metric);
    let change_style = if alert.good {
        theme.good()
    } else {
        theme.bad()
    };
    if alert.kind == AlertKind::ImportFailure {
        let mut spans = vec![
            tier_span(alert.tier, theme),
            Span::raw(" "),
            Span::styled("import failed", theme.heading()),
            Span::raw(format!(" {} ", segment_text(alert))),
            Span::styled(clean(&alert.period).into_owned(), theme.dim()),
        ];
        if alert.acknowledged {
            spans.push(Span::styled(" · acked", theme.dim()));
        }
        return Line::from(spans);
    }
    let mut spans = vec![
        tier_span(alert.tier, theme),
        Span::raw(" "),
        Span::styled(name, theme.heading()),
    ];
    match target_risk(alert, unit, currency) {
        // The words `kpi check` and the report use for the same target.
        Some(risk) => {
            spans.push(Span::raw(" target "));
            spans.push(Span::styled(
                format!("{} {risk}", super::verdict_mark(alert.good)),
                change_style,
            ));
        }
        None => spans.extend([
            Span::raw(format!(" {} ", segment_text(alert))),
            Span::styled(clean(&alert.period).into_owned(), theme.dim()),
            Span::raw(format!(" {} ", present::value(alert.value, unit, currency))),
            Span::styled(
                format!(
                    "{} {} vs mean",
                    super::verdict_mark(alert.good),
                    deviation_text(alert, unit)
                ),
                change_style,
            ),
        ]),
    }
    if alert.acknowledged {
        spans.push(Span::styled(" · acked", theme.dim()));
    }
    if let Some(until) = alert.snoozed_until {
        spans.push(Span::styled(format!(" z until {until}"), theme.dim()));
    }
    Line::from(spans)
}

pub fn draw(frame: &mut Frame, area: Rect, app: &App, hits: &mut Hits) {
    let theme = app.theme;
    let alerts = app.alert_order();
    if alerts.is_empty() {
        let failure;
        let lines: &[&str] = if let Some(err) = &app.alerts_error {
            failure = format!("alerts could not be evaluated: {}", clean(err));
            &[
                failure.as_str(),
                "",
                "the metrics shown are current; r retries",
            ]
        } else if app.checking_alerts {
            &["checking alerts…"]
        } else if !app.alerts.filter.is_empty() {
            &["no alert matches the filter", "", "Esc clears it"]
        } else if app.is_empty_store() {
            &[
                "no data — import orders",
                "",
                "alerts appear when a metric leaves its rolling mean (mild from 5%, strong from 12%)",
            ]
        } else {
            &["no open alerts — every metric is within its thresholds"]
        };
        let mut title = "Alerts".to_string();
        super::filter_title(&mut title, &app.alerts.filter, app.alerts.filtering);
        empty_state(frame, area, &title, lines, theme);
        return;
    }
    let selected = app.alerts.selected.min(alerts.len() - 1);
    if app.alerts.detail {
        details(frame, area, app, alerts[selected]);
        return;
    }
    // The counts are of open alerts: one acknowledged or snoozed is dealt with.
    let open: Vec<_> = alerts
        .iter()
        .filter(|a| a.is_open(app.reference_date()))
        .collect();
    let strong = open.iter().filter(|a| a.tier == Tier::Strong).count();
    let mild = open.len() - strong;
    let closed = alerts.len() - open.len();
    let list_height = u16::try_from(alerts.len() + 2)
        .unwrap_or(u16::MAX)
        .min(area.height / 2)
        .max(4);
    let [list_area, detail_area] =
        Layout::vertical([Constraint::Length(list_height), Constraint::Min(0)]).areas(area);
    let currency = app.snapshot.config.currency.clone();
    let items: Vec<ListItem> = alerts
        .iter()
        .map(|a| {
            let width = usize::from(list_area.width.saturating_sub(4));
            ListItem::new(super::ellipsize(alert_line(a, app, &currency), width))
        })
        .collect();
    let mut title = format!("Alerts — {strong} ‼ strong, {mild} ! mild open");
    if closed > 0 {
        title.push_str(&format!(", {closed} acked/snoozed"));
    }

    super::filter_title(&mut title, &app.alerts.filter, app.alerts.filtering);
    let hints = Line::from(Span::styled(
        " a ack · s snooze (again: undo) · / filter · Enter details ",
        theme.dim(),
    ));
    let list = List::new(items)
        .block(panel(&title, theme).title_bottom(hints))
        .highlight_style(theme.selected())
        .highlight_symbol("› ");
    let count = alerts.len();
    let mut state = ListState::default().with_selected(Some(selected));
    frame.render_stateful_widget(list, list_area, &mut state);
    hits.rows(
        super::inner_of(list_area),
        state.offset(),
        count,
        ListId::Alerts,
    );
    details(frame, detail_area, app, alerts[selected]);
}

fn details(frame: &mut Frame, area: Rect, app: &App, alert: &Alert) {
    let theme = app.theme;
    let currency = &app.snapshot.config.currency;
    let (name, unit) = metric_name_unit(app, &alert.metric);
    let tier = match alert.tier {
        Tier::Strong => "‼ strong",
        Tier::Mild => "! mild",
    };
    let direction = match alert.direction {
        Direction::HigherIsBetter => "higher is better",
        Direction::LowerIsBetter => "lower is better",
    };
    let verdict = if alert.good {
        Span::styled(format!("good move ({direction})"), theme.good())
    } else {
        Span::styled(format!("bad move ({direction})"), theme.bad())
    };
    let mut lines = vec![
        Line::from(vec![
            Span::styled(
                tier,
                if alert.tier == Tier::Strong {
                    theme.strong()
                } else {
                    theme.mild()
                },
            ),
            Span::raw(" "),
            Span::styled(name, theme.heading()),
            Span::raw(format!(
                " · {} · {} {}",
                segment_text(alert),
                alert.grain,
                clean(&alert.period)
            )),
        ]),
        match alert.target.as_ref() {
            Some(status) => Line::from(vec![
                Span::styled(
                    target_risk(alert, unit, currency).unwrap_or_default(),
                    theme.bad(),
                ),
                Span::raw(format!(
                    " · {}",
                    present::target(status, unit, alert.direction, currency).line()
                )),
            ]),
            None => Line::from(vec![
                Span::raw(format!(
                    "value {} against a rolling mean of {}: ",
                    present::value(alert.value, unit, currency),
                    present::value(alert.rolling_mean, unit, currency)
                )),
                Span::styled(
                    deviation_text(alert, unit),
                    if alert.good {
                        theme.good()
                    } else {
                        theme.bad()
                    },
                ),
                Span::raw(" · "),
                verdict,
            ]),
        },
    ];
    if alert.contributors.is_empty() {
        lines.push(Line::from(Span::styled(
            "drivers: no breakdown available",
            theme.dim(),
        )));
    } else {
        lines.push(Line::from(Span::styled("moved most by:", theme.heading())));
        for c in alert.contributors.iter().take(5) {
            lines.push(Line::from(format!(
                "  {}={}  {} ({:.0}% of the change)",
                clean(&c.segment.dimension),
                clean(&c.segment.value),
                present::value(c.change, unit, currency),
                c.share_pct
            )));
        }
    }
    if let Some(drill) = app
        .drill
        .as_ref()
        .filter(|d| d.origin == DrillOrigin::Alert(alert.key.clone()))
    {
        lines.extend(super::drill::lines(app, drill));
    } else if !app.alerts.detail {
        lines.push(Line::from(Span::styled(
            "Enter: the accounts behind it",
            theme.dim(),
        )));
    }
    lines.push(Line::from(vec![
        Span::styled("owner ", theme.dim()),
        Span::raw(alert.owner.as_deref().map_or_else(
            || "none set (owners in kpi.toml)".into(),
            |o| clean(o).into_owned(),
        )),
    ]));
    lines.push(Line::from(vec![
        Span::styled("follow-up ", theme.dim()),
        Span::raw(clean(&alert.follow_up).into_owned()),
    ]));
    let mut state = Vec::new();
    if alert.acknowledged {
        state.push("✓ acknowledged".to_string());
    }
    if let Some(until) = alert.snoozed_until {
        state.push(format!("z snoozed until {until}"));
    }
    if state.is_empty() {
        state.push("open".into());
    }
    lines.push(Line::from(vec![
        Span::styled("state ", theme.dim()),
        Span::raw(state.join(" · ")),
    ]));
    // What notifications went out for this occurrence, and what is still pending.
    for delivery in app
        .alerts
        .deliveries
        .iter()
        .filter(|d| d.alert_key == alert.key && d.occurrence == alert.occurrence)
    {
        lines.push(Line::from(vec![
            Span::styled("notified ", theme.dim()),
            Span::raw(crate::notify::delivery_line(delivery)),
        ]));
    }
    let hint = if app.alerts.detail {
        " · Esc back"
    } else {
        ""
    };
    frame.render_widget(
        Paragraph::new(lines)
            .block(panel(
                &format!(
                    "Alert · a acknowledge · s snooze {} days{hint}",
                    crate::alerts::SNOOZE_DAYS
                ),
                theme,
            ))
            .wrap(Wrap { trim: false }),
        area,
    );
}
