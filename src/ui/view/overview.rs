//! Overview: the core KPIs as tiles, the newest alerts, and how fresh the data is.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Sparkline};

use crate::alerts::{Pulse, Tier};
use crate::metrics::{Direction, MetricDef, Period, Series};

use super::super::app::{App, DrillOrigin};
use super::super::mouse::{Hit, Hits};
use super::super::theme::Theme;
use super::{change_span, latest_pair, no_data_reason, panel};
use crate::present::{self, Change, clean};

const TILE_MIN_WIDTH: u16 = 26;

/// Days without an import after which the freshness line marks the store stale (`!`).
const STALE_AFTER_DAYS: i64 = 2;

pub fn draw(frame: &mut Frame, area: Rect, app: &App, hits: &mut Hits) {
    let kpis = &app.snapshot.config.core_kpis;
    let count = u16::try_from(kpis.len().max(1)).unwrap_or(1);
    let columns = (area.width / TILE_MIN_WIDTH).clamp(1, count);
    let rows = count.div_ceil(columns);
    let tile_height: u16 = if area.height >= 40 { 10 } else { 7 };
    let [tiles, alerts, freshness] = Layout::vertical([
        Constraint::Length(rows * tile_height),
        Constraint::Min(3),
        Constraint::Length(4),
    ])
    .areas(area);
    // The launch view needs events (the rows with a time of day); without them the
    // tiles stay, whatever `t` or `--watch` asked for.
    let launch_view = app.overview.launch && app.snapshot.data.launch.is_some();
    if launch_view {
        launch(frame, tiles, app);
    }
    let row_areas = if launch_view {
        std::rc::Rc::from(Vec::new())
    } else {
        Layout::vertical(vec![Constraint::Length(tile_height); usize::from(rows)]).split(tiles)
    };
    for (row_index, row_area) in row_areas.iter().enumerate() {
        let cells = Layout::horizontal(vec![
            Constraint::Ratio(1, u32::from(columns));
            usize::from(columns)
        ])
        .split(*row_area);
        for (col_index, cell) in cells.iter().enumerate() {
            let index = row_index * usize::from(columns) + col_index;
            if let Some(id) = kpis.get(index) {
                tile(frame, *cell, app, id, index == app.overview.selected);
                hits.push(*cell, Hit::Tile(index));
            }
        }
    }
    if alerts.width >= 150 {
        let [left, right] =
            Layout::horizontal([Constraint::Percentage(55), Constraint::Percentage(45)])
                .areas(alerts);
        newest_alerts(frame, left, app);
        every_metric(frame, right, app);
    } else {
        newest_alerts(frame, alerts, app);
    }
    data_freshness(frame, freshness, app);
    if let Some(drill) = app
        .drill
        .as_ref()
        .filter(|d| matches!(d.origin, DrillOrigin::Tile(_)))
    {
        let popup = super::drill::popup(frame, area, app, drill);
        hits.cover(popup);
    }
}

/// On wide screens: every metric of the catalog with its latest value and change, so the
/// overview answers "what else moved?" without leaving it.
fn every_metric(frame: &mut Frame, area: Rect, app: &App) {
    let theme = app.theme;
    let currency = &app.snapshot.config.currency;
    let compared = app.compare_periods();
    let title = match compared {
        Some((shown, base)) => format!(
            "Every metric, {} vs {} — 2 for trends",
            shown.label(),
            base.label()
        ),
        None => format!("Every metric by {} — 2 for trends", app.grain),
    };
    let block = panel(&title, theme);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let lines: Vec<Line> = app
        .snapshot
        .metrics
        .iter()
        .take(usize::from(inner.height))
        .map(|m| {
            let series = app.snapshot.series(&m.id, app.grain);
            let mut spans = vec![Span::raw(format!("{:<28}", clean(&m.name)))];
            // Comparing: both periods' values side by side, then the change between them.
            if let (Some((shown, base)), Some(series)) = (compared, series) {
                let (now, then) = (value_in(series, shown), value_in(series, base));
                for v in [now, then] {
                    spans.push(Span::styled(
                        format!(
                            "{:>14}",
                            v.map_or_else(|| "—".into(), |v| present::value(v, m.unit, currency))
                        ),
                        theme.heading(),
                    ));
                }
                if let Some(change) = Change::between(m.unit, then, now) {
                    spans.push(Span::raw("  "));
                    spans.push(change_span(change, m.direction, theme));
                }
                return Line::from(spans);
            }
            let (latest, previous) = series.map_or((None, None), latest_pair);
            match latest.and_then(|p| p.value) {
                Some(v) => {
                    spans.push(Span::styled(
                        format!("{:>14}", present::value(v, m.unit, currency)),
                        theme.heading(),
                    ));
                    if let Some(change) =
                        Change::between(m.unit, previous.and_then(|p| p.value), Some(v))
                    {
                        spans.push(Span::raw("  "));
                        spans.push(change_span(change, m.direction, theme));
                    }
                }
                None => spans.push(Span::styled(no_data_reason(Some(m), series), theme.dim())),
            }
            Line::from(spans)
        })
        .collect();
    frame.render_widget(Paragraph::new(lines), inner);
}

fn pulse_span(pulse: Option<Pulse>, theme: Theme) -> Span<'static> {
    match pulse {
        Some(Pulse::Improving) => Span::styled("↗ improving", theme.good()),
        Some(Pulse::Stalled) => Span::styled("→ stalled", theme.neutral()),
        Some(Pulse::Deteriorating) => Span::styled("↘ deteriorating", theme.bad()),
        None => Span::styled("· no pulse yet", theme.dim()),
    }
}

fn tile(frame: &mut Frame, area: Rect, app: &App, id: &str, selected: bool) {
    let theme = app.theme;
    let snapshot = &app.snapshot;
    let metric = snapshot.metric(id);
    let mut name = metric.map_or_else(|| id.to_string(), |m| m.name.to_string());
    // A live update changed this tile: a mark that reads without colour too.
    if app.changed.contains(id) {
        name.push_str(" •");
    }
    let mut block = panel(&name, theme);
    if selected {
        block = super::focused(block, theme);
    }
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let series = snapshot.series(id, app.grain);
    let (latest, previous) = series.map_or((None, None), latest_pair);
    let (Some(metric), Some(series), Some(latest)) = (metric, series, latest) else {
        frame.render_widget(
            Paragraph::new(vec![
                Line::from(Span::styled(
                    if metric.is_none() && !snapshot.metrics.is_empty() {
                        format!("unknown metric {} — see core_kpis in kpi.toml", clean(id))
                    } else {
                        no_data_reason(metric, series)
                    },
                    theme.dim(),
                )),
                Line::from(Span::styled("kpi import FILE…", theme.dim())),
            ])
            .wrap(ratatui::widgets::Wrap { trim: true }),
            inner,
        );
        return;
    };
    let currency = &snapshot.config.currency;
    if let Some((shown, base)) = app.compare_periods() {
        compare_tile(frame, inner, app, metric, series, (shown, base));
        return;
    }
    let value = latest.value.unwrap_or_default();
    let [value_row, change_row, spark_row, pulse_row, target_row] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Min(1),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(inner);
    frame.render_widget(
        Line::from(vec![
            Span::styled(
                present::value(value, metric.unit, currency),
                theme.heading(),
            ),
            Span::styled(format!("  {}", latest.period.label()), theme.dim()),
        ]),
        value_row,
    );
    let change = Change::between(metric.unit, previous.and_then(|p| p.value), Some(value));
    let change_line = match (change, previous) {
        (Some(change), Some(prev)) => Line::from(vec![
            change_span(change, metric.direction, theme),
            Span::styled(format!(" vs {}", prev.period.label()), theme.dim()),
        ]),
        _ => Line::from(Span::styled("no previous period", theme.dim())),
    };
    frame.render_widget(change_line, change_row);
    let shown: Vec<f64> = series
        .points
        .iter()
        .filter(|p| !p.partial)
        .filter_map(|p| p.value.filter(|v| v.is_finite()))
        .collect();
    let shown = &shown[shown.len().saturating_sub(app.periods_shown())..];
    frame.render_widget(
        Sparkline::default()
            .data(sparkline_data(shown))
            .max(SPARK_TOP)
            .style(theme.series(0)),
        spark_row,
    );
    frame.render_widget(Line::from(pulse_span(snapshot.pulse(id), theme)), pulse_row);
    let target_line = match snapshot.targets.iter().find(|t| t.metric == id) {
        Some(target) => {
            let text = present::target(target, metric.unit, metric.direction, currency);
            let mark = text
                .risk
                .as_ref()
                .map(|(tier, _)| format!(" {}", present::tier_mark(*tier)))
                .unwrap_or_default();
            // The most that fits: the pace, else its verdict alone, else the standing.
            let width = usize::from(inner.width);
            let fits = |rest: &str| {
                text.standing.chars().count() + rest.chars().count() + mark.chars().count() <= width
            };
            let rest = [text.pace.as_deref(), text.verdict.as_deref()]
                .into_iter()
                .flatten()
                .map(|part| format!(" · {part}"))
                .find(|rest| fits(rest))
                .unwrap_or_default();
            // Without its pace, the tile still says the target is at risk where it can.
            let at_risk = " at risk";
            let say_at_risk = rest.is_empty() && text.risk.is_some() && fits(at_risk);
            let mut spans = vec![
                Span::styled(text.standing.clone(), theme.heading()),
                Span::styled(rest, theme.dim()),
            ];
            if let Some((tier, _)) = text.risk {
                spans.push(Span::raw(" "));
                spans.push(tier_span(tier, theme));
                if say_at_risk {
                    spans.push(Span::styled(at_risk, theme.bad()));
                }
            }
            Line::from(spans)
        }
        None => Line::from(Span::styled(
            match metric.direction {
                Direction::HigherIsBetter => "no target · ▲ is good",
                Direction::LowerIsBetter => "no target · ▼ is good",
            },
            theme.dim(),
        )),
    };
    frame.render_widget(target_line, target_row);
}

/// A series' value in one period, when it has one and the period is complete.
pub(crate) fn value_in(series: &Series, period: Period) -> Option<f64> {
    series
        .points
        .iter()
        .find(|p| p.period == period && !p.partial)
        .and_then(|p| p.value)
        .filter(|v| v.is_finite())
}

/// `c`: a tile with both periods compared side by side and the change between them.
fn compare_tile(
    frame: &mut Frame,
    area: Rect,
    app: &App,
    metric: &MetricDef,
    series: &Series,
    (shown, base): (Period, Period),
) {
    let theme = app.theme;
    let currency = &app.snapshot.config.currency;
    let shown_value = value_in(series, shown);
    let base_value = value_in(series, base);
    let line = |period: Period, value: Option<f64>| {
        Line::from(vec![
            Span::styled(format!("{:<9}", period.label()), theme.dim()),
            match value {
                Some(v) => Span::styled(present::value(v, metric.unit, currency), theme.heading()),
                None => Span::styled("no value held", theme.dim()),
            },
        ])
    };
    let change = match Change::between(metric.unit, base_value, shown_value) {
        Some(change) => Line::from(vec![
            change_span(change, metric.direction, theme),
            Span::styled(format!(" vs {}", base.label()), theme.dim()),
        ]),
        None => Line::from(Span::styled("no change to show", theme.dim())),
    };
    let hint = super::ellipsize(
        Line::from(Span::styled("< > base · { } period · c off", theme.dim())),
        usize::from(area.width),
    );
    frame.render_widget(
        Paragraph::new(vec![
            line(shown, shown_value),
            line(base, base_value),
            change,
            Line::default(),
            hint,
        ]),
        area,
    );
}

/// Sparkline bars are integers: scale the values onto 150–1000 above their minimum so a
/// series that barely moves (or is negative) still shows its shape, and its lowest value
/// still shows as the lowest bar rather than a gap.
pub(crate) fn sparkline_data(values: &[f64]) -> Vec<u64> {
    // SPARK_FLOOR is above an eighth of SPARK_TOP: on a one-row sparkline the lowest value
    // still draws the lowest bar (▁) instead of a gap that reads as missing data.
    let min = values.iter().copied().fold(f64::INFINITY, f64::min);
    let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let span = max - min;
    values
        .iter()
        .map(|v| {
            if span > 0.0 {
                // Truncation is fine: a bar's height, not a value shown as a number.
                #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
                let scaled = (((v - min) / span) * (SPARK_TOP - SPARK_FLOOR) as f64).round() as u64
                    + SPARK_FLOOR;
                scaled
            } else {
                SPARK_TOP / 2
            }
        })
        .collect()
}

/// The top of the sparkline scale, and where its lowest value sits.
const SPARK_TOP: u64 = 1000;
const SPARK_FLOOR: u64 = 150;

fn newest_alerts(frame: &mut Frame, area: Rect, app: &App) {
    let theme = app.theme;
    let block = panel("Newest alerts — 5 opens the list", theme);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let mut alerts: Vec<_> = app
        .snapshot
        .alerts
        .iter()
        .filter(|a| !a.acknowledged)
        .collect();
    alerts.sort_by(|a, b| b.period.cmp(&a.period).then(b.tier.cmp(&a.tier)));
    if alerts.is_empty() {
        let text = if app.alerts_error.is_some() {
            "alerts could not be evaluated — see 5"
        } else if app.checking_alerts {
            "checking alerts…"
        } else if app.is_empty_store() {
            "no alerts — no data yet"
        } else {
            "no open alerts"
        };
        frame.render_widget(Span::styled(text, theme.dim()), inner);
        return;
    }
    let currency = &app.snapshot.config.currency;
    let lines: Vec<Line> = alerts
        .iter()
        .take(usize::from(inner.height))
        .map(|a| super::alerts::alert_line(a, app, currency))
        .collect();
    frame.render_widget(Paragraph::new(lines), inner);
}

fn data_freshness(frame: &mut Frame, area: Rect, app: &App) {
    let theme = app.theme;
    let block = panel("Data freshness", theme);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let tables: Vec<_> = app
        .snapshot
        .data
        .tables
        .iter()
        .filter(|t| t.rows > 0)
        .collect();
    if tables.is_empty() {
        frame.render_widget(
            Span::styled(
                "store is empty — import orders (kpi import orders.csv) · 6 Data",
                theme.dim(),
            ),
            inner,
        );
        return;
    }
    // Freshness is how long ago data last arrived, not how old its dates are: a live
    // feed replaying last month arrives every second, and a store imported this morning
    // is fresh whatever period it covers.
    let newest = tables.iter().filter_map(|t| t.last_date).max();
    let last_import = tables.iter().filter_map(|t| t.last_import.as_deref()).max();
    let arriving = app.live.as_ref().and_then(|l| l.last_update.as_deref());
    let mut head = Vec::new();
    match (arriving, last_import) {
        (Some(at), _) => {
            head.push(Span::styled("live · rows arrived ", theme.dim()));
            head.push(Span::styled(
                format!("{} (last round)", clean(at)),
                theme.good(),
            ));
        }
        (None, Some(at)) => {
            head.push(Span::styled("last import ", theme.dim()));
            let when = chrono::DateTime::parse_from_rfc3339(at).ok();
            head.push(Span::raw(when.map_or_else(
                || clean(at).into_owned(),
                |t| t.format("%Y-%m-%d %H:%M").to_string(),
            )));
            if let Some(t) = when {
                let age = (app.today - t.date_naive()).num_days();
                let stale = age > STALE_AFTER_DAYS;
                let text = match age {
                    ..=0 => " (today)".to_string(),
                    1 => " (1 d ago)".to_string(),
                    _ => format!(" ({age} d ago{})", if stale { " !" } else { "" }),
                };
                head.push(Span::styled(
                    text,
                    if stale { theme.bad() } else { theme.dim() },
                ));
            }
        }
        (None, None) => head.push(Span::styled("never imported", theme.dim())),
    }
    if let Some(date) = newest {
        head.push(Span::styled(" · newest data ", theme.dim()));
        head.push(Span::styled(date.to_string(), theme.heading()));
    }
    let per_table: Vec<String> = tables
        .iter()
        .map(|t| {
            format!(
                "{} {}",
                clean(&t.table),
                t.last_date
                    .map_or_else(|| "—".into(), |d| d.format("%m-%d").to_string())
            )
        })
        .collect();
    frame.render_widget(
        Paragraph::new(vec![
            Line::from(head),
            Line::from(Span::styled(per_table.join(" · "), theme.dim())),
        ]),
        inner,
    );
}

/// The launch view (`t`, on by default while watching a folder): today so far against the
/// same weekday a week before at the same time, and both days hour by hour. Events carry
/// a timestamp; orders, refunds and surveys carry only a date, so the hours are counted
/// from events (SPEC §2), and the day's orders stay in the tiles (`t` again).
fn launch(frame: &mut Frame, area: Rect, app: &App) {
    let theme = app.theme;
    let Some(day) = &app.snapshot.data.launch else {
        super::empty_state(
            frame,
            area,
            "Today so far — t: tiles",
            &["no events yet — the hourly view counts events (import events)"],
            theme,
        );
        return;
    };
    let before = day.day - chrono::Duration::days(7);
    let title = format!(
        "Today until {} ({}) vs the same time {} · t tiles",
        day.now.format("%H:%M"),
        day.day.format("%a %Y-%m-%d"),
        before.format("%a %Y-%m-%d"),
    );
    let legend = format!(
        " ▒ {} · █ today · events per hour, {} ",
        before.format("%a %d"),
        clean(&app.snapshot.config.time_zone)
    );
    let block = panel(&title, theme).title_bottom(
        Line::from(Span::styled(legend, theme.dim())).alignment(ratatui::layout::Alignment::Right),
    );
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let compare = |label: &str, now: u64, then: u64| {
        let mut spans = vec![
            Span::styled(format!("{label} "), theme.dim()),
            Span::styled(present::grouped(now as f64, 0), theme.heading()),
            Span::styled(
                format!(" vs {}", present::grouped(then as f64, 0)),
                theme.dim(),
            ),
        ];
        let change = (then > 0)
            .then(|| {
                Change::between(
                    crate::metrics::Unit::Count,
                    Some(then as f64),
                    Some(now as f64),
                )
            })
            .flatten();
        if let Some(change) = change {
            spans.push(Span::raw(" "));
            spans.push(change_span(
                change,
                crate::metrics::Direction::HigherIsBetter,
                theme,
            ));
        }
        spans
    };
    let mut head = compare("events", day.events_today, day.events_last_week);
    head.push(Span::raw("   "));
    head.extend(compare(
        "active users",
        day.users_today,
        day.users_last_week,
    ));
    let [summary, bars, axis] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(1),
        Constraint::Length(1),
    ])
    .areas(inner);
    frame.render_widget(
        super::ellipsize(Line::from(head), usize::from(summary.width)),
        summary,
    );
    hourly_bars(frame.buffer_mut(), bars, app, day);
    let mut labels = String::new();
    for hour in (0..24).step_by(3) {
        labels.push_str(&format!("{hour:<9}"));
    }
    frame.render_widget(
        super::ellipsize(
            Line::from(Span::styled(labels, theme.dim())),
            usize::from(axis.width),
        ),
        axis,
    );
}

/// Per hour three columns: the week before (▒, dim), today (█ in eighths), a gap. The
/// current hour is still filling.
fn hourly_bars(
    buf: &mut ratatui::buffer::Buffer,
    area: Rect,
    app: &App,
    day: &crate::snapshot::LaunchDay,
) {
    let theme = app.theme;
    let top = day
        .today
        .iter()
        .chain(&day.last_week)
        .copied()
        .max()
        .unwrap_or(0)
        .max(1);
    let height = u64::from(area.height);
    const EIGHTHS: [&str; 8] = [" ", "▁", "▂", "▃", "▄", "▅", "▆", "▇"];
    for hour in 0..24u16 {
        let x = area.x + hour * 3;
        if x + 1 >= area.x + area.width {
            break;
        }
        let past = u64::from(hour) <= u64::from(chrono::Timelike::hour(&day.now));
        let columns = [
            (day.last_week[usize::from(hour)], true),
            (
                if past {
                    day.today[usize::from(hour)]
                } else {
                    0
                },
                false,
            ),
        ];
        for (offset, (value, before)) in columns.into_iter().enumerate() {
            // In eighths of a row: a value above zero shows at least one eighth.
            let eighths = if value == 0 {
                0
            } else {
                (value * height * 8).div_ceil(top).max(1)
            };
            for row in 0..height {
                let filled = eighths.saturating_sub(row * 8).min(8);
                if filled == 0 {
                    break;
                }
                let y = area.y + area.height - 1 - u16::try_from(row).unwrap_or(0);
                let x = x + u16::try_from(offset).unwrap_or(0);
                let (symbol, style) = if before {
                    // The week before is drawn in whole cells: its shape, not its eighths.
                    ("▒", theme.dim())
                } else if filled == 8 {
                    ("█", theme.series(0))
                } else {
                    (
                        EIGHTHS[usize::try_from(filled).unwrap_or(0)],
                        theme.series(0),
                    )
                };
                buf.set_string(x, y, symbol, style);
            }
        }
    }
}

/// The ‼ / ! tier mark.
pub(crate) fn tier_span(tier: Tier, theme: Theme) -> Span<'static> {
    match tier {
        Tier::Strong => Span::styled("‼", theme.strong()),
        Tier::Mild => Span::styled("!", theme.mild()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::buffer::Buffer;
    use ratatui::widgets::Widget;

    #[test]
    fn the_lowest_sparkline_value_is_drawn_not_a_gap() {
        let area = Rect::new(0, 0, 4, 1);
        let mut buffer = Buffer::empty(area);
        Sparkline::default()
            .data(sparkline_data(&[5.0, 1.0, 3.0, 9.0]))
            .max(SPARK_TOP)
            .render(area, &mut buffer);
        let cells: Vec<String> = (0..4)
            .map(|x| buffer[(x, 0)].symbol().to_string())
            .collect();
        assert!(cells.iter().all(|c| c.trim() != ""), "{cells:?}");
        assert_eq!(cells[1], "▁", "{cells:?}");
    }
}
