//! Trends: a filterable metric list beside the chosen metric's line chart (series,
//! rolling 3-period mean, 12-month mean, target, annotations) and its monthly bars.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::symbols::Marker;
use ratatui::text::{Line, Span};
use ratatui::widgets::{
    Axis, Bar, BarChart, BarGroup, Chart, Dataset, GraphType, List, ListItem, ListState, Paragraph,
};

use crate::alerts::Tier;
use crate::alerts::deviation::{self, Basis, Limits};
use crate::alerts::signal;
use crate::metrics::catalog::Aggregation;
use crate::metrics::{Grain, MetricDef, Period, Point, Series, Unit};

use super::super::app::App;
use super::super::mouse::{Hit, Hits, ListId};
use super::{change_span, empty_state, latest_pair, no_data_reason, panel};
use crate::present::{self, Change, clean};

/// Periods in the rolling mean drawn beside the series.
use crate::present::{ROLLING_WINDOW as ROLLING, rolling_mean};

pub fn draw(frame: &mut Frame, area: Rect, app: &App, hits: &mut Hits) {
    let list_width = if area.width >= 140 { 34 } else { 26 };
    let [side, main] =
        Layout::horizontal([Constraint::Length(list_width), Constraint::Min(0)]).areas(area);
    let annotations = app.snapshot.annotations.len();
    let notes_height = if annotations == 0 {
        0
    } else {
        u16::try_from(annotations + 2)
            .unwrap_or(u16::MAX)
            .min((side.height / 3).max(4))
    };
    let [list, notes] =
        Layout::vertical([Constraint::Min(0), Constraint::Length(notes_height)]).areas(side);
    metric_list(frame, list, app, hits);
    if notes_height > 0 {
        annotation_list(frame, notes, app, hits);
    }
    let Some(metric) = app.trend_metric() else {
        let no_match;
        let lines: &[&str] = if app.snapshot.metrics.is_empty() {
            &[
                "no data — import orders",
                "",
                "kpi import orders.csv customers.csv …",
            ]
        } else {
            no_match = format!("no metric matches /{}", clean(&app.trends.filter));
            &[
                no_match.as_str(),
                "",
                "Backspace edits the filter · Esc clears it",
            ]
        };
        empty_state(frame, main, "Trends", lines, app.theme);
        return;
    };
    let series = app
        .trends
        .segment
        .as_ref()
        .filter(|s| s.metric == metric.id && s.grain == app.grain)
        .or_else(|| app.snapshot.series(&metric.id, app.grain));
    let complete: Vec<(Period, f64)> = series
        .map(|s| {
            s.points
                .iter()
                .filter(|p| !p.partial)
                .filter_map(|p| p.value.filter(|v| v.is_finite()).map(|v| (p.period, v)))
                .collect()
        })
        .unwrap_or_default();
    if complete.is_empty() {
        empty_state(
            frame,
            main,
            &metric.name,
            &[&no_data_reason(Some(metric), series)],
            app.theme,
        );
        return;
    }
    let bars_height = (main.height / 3).clamp(6, 16);
    let [header, chart, bars] = Layout::vertical([
        Constraint::Length(3),
        Constraint::Min(6),
        Constraint::Length(bars_height),
    ])
    .areas(main);
    let series = series.unwrap_or_else(|| unreachable_series());
    header_lines(frame, header, app, metric, series, &complete);
    hits.push(chart, Hit::Chart);
    hits.push(bars, Hit::Chart);
    line_chart(
        frame,
        chart,
        app,
        metric,
        &complete,
        series.segment.is_some(),
    );
    monthly_bars(frame, bars, app, metric);
}

/// Only reached if a series vanished between two lines; draws nothing.
fn unreachable_series() -> &'static Series {
    static EMPTY: std::sync::OnceLock<Series> = std::sync::OnceLock::new();
    EMPTY.get_or_init(|| Series {
        metric: String::new(),
        segment: None,
        grain: Grain::Month,
        points: Vec::new(),
    })
}

/// The annotations (date, label), oldest first; `n` / `N` step through them and the one
/// stepped to is marked here and on the chart.
fn annotation_list(frame: &mut Frame, area: Rect, app: &App, hits: &mut Hits) {
    let theme = app.theme;
    let width = usize::from(area.width.saturating_sub(4));
    let items: Vec<ListItem> = app
        .snapshot
        .annotations
        .iter()
        .map(|a| {
            ListItem::new(super::ellipsize(
                Line::from(vec![
                    Span::styled(a.date.format("%Y-%m-%d ").to_string(), theme.dim()),
                    Span::raw(clean(&a.label).into_owned()),
                ]),
                width,
            ))
        })
        .collect();
    let count = items.len();
    let list = List::new(items)
        .block(panel("Annotations  n N", theme))
        .highlight_style(theme.selected())
        .highlight_symbol("◆ ");
    let mut state = ListState::default().with_selected(app.trends.annotation);
    frame.render_stateful_widget(list, area, &mut state);
    hits.rows(
        super::inner_of(area),
        state.offset(),
        count,
        ListId::Annotations,
    );
}

fn metric_list(frame: &mut Frame, area: Rect, app: &App, hits: &mut Hits) {
    let theme = app.theme;
    let metrics = app.filtered_metrics();
    let title = if app.trends.filtering {
        format!("/{}▏", app.trends.filter)
    } else if app.trends.filter.is_empty() {
        "Metrics  / filter".to_string()
    } else {
        format!("Metrics /{}", app.trends.filter)
    };
    if app.snapshot.metrics.is_empty() {
        empty_state(frame, area, &title, &["no metrics yet"], theme);
        return;
    }
    let items: Vec<ListItem> = metrics
        .iter()
        .map(|m| {
            let width = usize::from(area.width.saturating_sub(4));
            ListItem::new(super::ellipsize(
                Line::from(clean(&m.name).into_owned()),
                width,
            ))
        })
        .collect();
    let count = items.len();
    let list = List::new(items)
        .block(panel(&title, theme).title_bottom(Line::from(format!(" {count} "))))
        .highlight_style(theme.selected())
        .highlight_symbol("› ");
    let selected = (count > 0).then_some(app.trends.selected.min(count.saturating_sub(1)));
    let mut state = ListState::default().with_selected(selected);
    frame.render_stateful_widget(list, area, &mut state);
    hits.rows(
        super::inner_of(area),
        state.offset(),
        count,
        ListId::Metrics,
    );
}

/// Past periods that left their rolling mean by the alert thresholds (SPEC §6: only the
/// latest complete period is an open alert; earlier ones are history, shown here). The
/// alerts' own deviation and tier: same baseline (same weekday at day grain), same
/// per-day comparison of sums, same boundary tolerance — a move the alerts call mild
/// reads mild here.
pub(crate) fn deviations(
    points: &[Point],
    periods: &[Period],
    limits: &Limits,
    basis: Basis,
) -> Vec<(Period, f64, Tier, f64)> {
    periods
        .iter()
        .filter_map(|period| {
            let found = deviation::deviation_as(points, *period, limits.window, basis)?;
            let tier = limits.tier(found.change_pct)?;
            Some((*period, found.change_pct, tier, found.rolling_mean))
        })
        .collect()
}

fn history_line(
    app: &App,
    metric: &MetricDef,
    series: &Series,
    complete: &[(Period, f64)],
) -> Line<'static> {
    let theme = app.theme;
    let limits = Limits::for_metric(&app.snapshot.config.alerts, &metric.id);
    let shown_from = complete.len().saturating_sub(app.periods_shown());
    let shown: Vec<Period> = complete[shown_from..].iter().map(|(p, _)| *p).collect();
    let mut found = deviations(&series.points, &shown, &limits, signal::basis(metric));
    if found.is_empty() {
        return Line::from(Span::styled(
            format!(
                "history: nothing beyond ±{:.0}% of the {}-period mean here",
                limits.mild_pct, limits.window
            ),
            theme.dim(),
        ));
    }
    found.reverse();
    let mut spans = vec![Span::styled("history ", theme.dim())];
    for (period, _, tier, mean) in found {
        let value = complete.iter().find(|(p, _)| *p == period).map(|(_, v)| *v);
        // The move reads in the metric's own terms, as its change does everywhere.
        let moved = Change::between(metric.unit, Some(mean), value)
            .map(|c| c.amount())
            .unwrap_or_default();
        spans.push(super::overview::tier_span(tier, theme));
        spans.push(Span::raw(format!(" {} {moved} ", period.label())));
    }
    Line::from(spans)
}

fn header_lines(
    frame: &mut Frame,
    area: Rect,
    app: &App,
    metric: &MetricDef,
    series: &Series,
    complete: &[(Period, f64)],
) {
    let theme = app.theme;
    let currency = &app.snapshot.config.currency;
    let (latest, previous) = latest_pair(series);
    let mut first = vec![Span::styled(
        clean(&metric.name).into_owned(),
        theme.title(),
    )];
    if let Some(segment) = &series.segment {
        first.push(Span::styled(
            format!(" [{}={}]", clean(&segment.dimension), clean(&segment.value)),
            theme.accent(),
        ));
    }
    if let Some((shown, base)) = app.compare_periods() {
        first.extend(compare_spans(app, metric, series, shown, base));
    } else if let Some(point) = latest {
        let value = point.value.unwrap_or_default();
        first.push(Span::raw("  "));
        first.push(Span::styled(
            present::value(value, metric.unit, currency),
            theme.heading(),
        ));
        first.push(Span::styled(
            format!(" {}", point.period.label()),
            theme.dim(),
        ));
        if let Some(change) =
            Change::between(metric.unit, previous.and_then(|p| p.value), Some(value))
        {
            first.push(Span::raw("  "));
            first.push(change_span(change, metric.direction, theme));
            first.push(Span::styled(" vs previous", theme.dim()));
        }
    }
    if let Some(partial) = series.points.iter().rev().find(|p| p.partial)
        && let Some(v) = partial.value
    {
        first.push(Span::styled(
            format!(
                "  · {} so far {} (partial)",
                partial.period.label(),
                present::value(v, metric.unit, currency)
            ),
            theme.dim(),
        ));
    }
    let mut third = Vec::new();
    // The target in the words of the Overview tile, the report and `kpi check`, in full.
    if series.segment.is_none()
        && let Some(status) = app.snapshot.targets.iter().find(|t| t.metric == metric.id)
    {
        let text = present::target(status, metric.unit, metric.direction, currency);
        third.push(Span::styled(
            format!("target {}", text.line()),
            theme.heading(),
        ));
        if let Some((tier, _)) = text.risk {
            third.push(Span::raw(" "));
            third.push(super::overview::tier_span(tier, theme));
        }
        third.push(Span::raw(" · "));
    }
    third.push(Span::styled(
        clean(&metric.formula).into_owned(),
        theme.dim(),
    ));
    frame.render_widget(
        Paragraph::new(vec![
            Line::from(first),
            history_line(app, metric, series, complete),
            Line::from(third),
        ]),
        area,
    );
}

/// `c`: the two periods compared, both values and the change between them.
fn compare_spans(
    app: &App,
    metric: &MetricDef,
    series: &Series,
    shown: Period,
    base: Period,
) -> Vec<Span<'static>> {
    let theme = app.theme;
    let currency = &app.snapshot.config.currency;
    let value_of = |period: Period| {
        super::overview::value_in(series, period).map_or_else(
            || "no value".to_string(),
            |v| present::value(v, metric.unit, currency),
        )
    };
    let mut spans = vec![
        Span::styled("  compare ", theme.accent()),
        Span::styled(format!("{} ", shown.label()), theme.dim()),
        Span::styled(value_of(shown), theme.heading()),
        Span::styled(format!(" vs {} ", base.label()), theme.dim()),
        Span::styled(value_of(base), theme.heading()),
    ];
    if let Some(change) = Change::between(
        metric.unit,
        super::overview::value_in(series, base),
        super::overview::value_in(series, shown),
    ) {
        spans.push(Span::raw("  "));
        spans.push(change_span(change, metric.direction, theme));
    }
    spans
}

/// Mean of the complete periods (at the chart's grain) in the 12 months before the last
/// one shown, so the reference line is in the same unit of time as the series.
pub(crate) fn twelve_month_mean(all: &[(Period, f64)]) -> Option<f64> {
    let (last, _) = all.last()?;
    let since = last.end().checked_sub_months(chrono::Months::new(12))?;
    let recent: Vec<f64> = all
        .iter()
        .filter(|(p, _)| p.start > since)
        .map(|(_, v)| *v)
        .collect();
    (!recent.is_empty()).then(|| recent.iter().sum::<f64>() / recent.len() as f64)
}

/// A target is set for a period's value; for money and counts, which add up over time,
/// that is a month, so the line is only drawn at month grain. Rates, scores and stocks
/// (shown as such) compare at any grain.
fn target_applies(metric: &MetricDef, grain: Grain) -> bool {
    grain == Grain::Month || !matches!(metric.unit, Unit::Count) && !additive_money(metric)
}

fn additive_money(metric: &MetricDef) -> bool {
    metric.unit == Unit::Currency && metric.aggregation == Aggregation::Sum
}

/// `segmented`: the series is one segment's, which the overall target does not apply to.
fn line_chart(
    frame: &mut Frame,
    area: Rect,
    app: &App,
    metric: &MetricDef,
    all: &[(Period, f64)],
    segmented: bool,
) {
    let theme = app.theme;
    let currency = &app.snapshot.config.currency;
    let values: Vec<f64> = all.iter().map(|(_, v)| *v).collect();
    let rolling_all = rolling_mean(&values, ROLLING);
    let shown = app.periods_shown().min(all.len());
    let offset = all.len() - shown;
    let window = &all[offset..];
    let as_xy = |vals: &[f64]| -> Vec<(f64, f64)> {
        vals.iter()
            .enumerate()
            .map(|(i, v)| (i as f64, *v))
            .collect()
    };
    let series_pts = as_xy(&values[offset..]);
    let rolling_pts = as_xy(&rolling_all[offset..]);
    let last_x = (shown.saturating_sub(1)).max(1) as f64;
    let reference = twelve_month_mean(all);
    let target = app
        .snapshot
        .targets
        .iter()
        .find(|t| t.metric == metric.id)
        .filter(|_| !segmented && target_applies(metric, app.grain))
        .map(|t| t.target);
    let mut low = values[offset..]
        .iter()
        .copied()
        .fold(f64::INFINITY, f64::min);
    let mut high = values[offset..]
        .iter()
        .copied()
        .fold(f64::NEG_INFINITY, f64::max);
    for v in reference.iter().chain(target.iter()) {
        low = low.min(*v);
        high = high.max(*v);
    }
    let pad = ((high - low) * 0.08).max(high.abs() * 0.01).max(1e-9);
    let (low, high) = (low - pad, high + pad);
    let reference_pts = reference.map(|r| vec![(0.0, r), (last_x, r)]);
    let target_pts = target.map(|t| vec![(0.0, t), (last_x, t)]);
    let stepped_to = app.trends.annotation;
    // (x, label, stepped to with n / N)
    let annotations: Vec<(f64, String, bool)> = app
        .snapshot
        .annotations
        .iter()
        .enumerate()
        .filter_map(|(i, a)| {
            let period = Period::containing(app.grain, a.date);
            let index = window.iter().position(|(p, _)| *p == period)?;
            Some((
                index as f64,
                clean(&a.label).into_owned(),
                stepped_to == Some(i),
            ))
        })
        .collect();
    let annotation_pts: Vec<(Vec<(f64, f64)>, bool)> = annotations
        .iter()
        .map(|(x, _, chosen)| (vec![(*x, low), (*x, high)], *chosen))
        .collect();
    let mut datasets = Vec::new();
    for (pts, chosen) in &annotation_pts {
        // The annotation stepped to is a solid bar, so it stands out without colour too.
        datasets.push(
            Dataset::default()
                .marker(if *chosen {
                    Marker::Block
                } else {
                    Marker::Braille
                })
                .graph_type(GraphType::Line)
                .style(if *chosen {
                    theme.accent()
                } else {
                    theme.series(4)
                })
                .data(pts),
        );
    }
    // Comparing: the two periods compared, where the range shows them.
    let compared_pts: Vec<Vec<(f64, f64)>> = app
        .compare_periods()
        .map(|(shown, base)| {
            [shown, base]
                .iter()
                .filter_map(|period| window.iter().position(|(p, _)| p == period))
                .map(|i| vec![(i as f64, low), (i as f64, high)])
                .collect()
        })
        .unwrap_or_default();
    for pts in &compared_pts {
        datasets.push(
            Dataset::default()
                .marker(Marker::Bar)
                .graph_type(GraphType::Line)
                .style(theme.heading())
                .data(pts),
        );
    }
    if let Some(pts) = &reference_pts {
        datasets.push(
            Dataset::default()
                .marker(Marker::Braille)
                .graph_type(GraphType::Line)
                .style(theme.series(2))
                .data(pts),
        );
    }
    if let Some(pts) = &target_pts {
        datasets.push(
            Dataset::default()
                .marker(Marker::Braille)
                .graph_type(GraphType::Line)
                .style(theme.series(3))
                .data(pts),
        );
    }
    datasets.push(
        Dataset::default()
            .marker(Marker::Dot)
            .graph_type(GraphType::Scatter)
            .style(theme.series(1))
            .data(&rolling_pts),
    );
    datasets.push(
        Dataset::default()
            .marker(Marker::Braille)
            .graph_type(GraphType::Line)
            .style(theme.series(0))
            .data(&series_pts),
    );
    let label = |v: f64| present::value(v, metric.unit, currency);
    let first = window.first().map(|(p, _)| p.label()).unwrap_or_default();
    let middle = window
        .get(window.len() / 2)
        .map(|(p, _)| p.label())
        .unwrap_or_default();
    let last = window.last().map(|(p, _)| p.label()).unwrap_or_default();
    let mut title = format!("{} by {}", metric.name, app.grain);
    match stepped_to.and_then(|i| app.snapshot.annotations.get(i)) {
        Some(a) => {
            title.push_str(&format!(" · ◆ {} {}", a.date, clean(&a.label)));
            if !annotations.iter().any(|(_, _, chosen)| *chosen) {
                title.push_str(" (outside the range: ] widens)");
            }
        }
        None if !annotations.is_empty() => {
            let names: Vec<&str> = annotations.iter().map(|(_, l, _)| l.as_str()).collect();
            title.push_str(&format!(" · │ {}", names.join(", ")));
        }
        None => {}
    }
    // Values in the legend tell the two horizontal lines apart without colour.
    let mut legend = vec![
        Span::styled(" ⣿ value ", theme.series(0)),
        Span::styled("• 3-mean ", theme.series(1)),
    ];
    if let Some(r) = reference {
        legend.push(Span::styled(
            format!("─ 12-mo {} ", label(r)),
            theme.series(2),
        ));
    }
    if !compared_pts.is_empty() {
        legend.push(Span::styled("▄ compared ", theme.heading()));
    }
    let has_target = !segmented && app.snapshot.targets.iter().any(|t| t.metric == metric.id);
    match (target, has_target) {
        (Some(t), _) => legend.push(Span::styled(
            format!("─ target {} ", label(t)),
            theme.series(3),
        )),
        (None, true) => legend.push(Span::styled("target: g→month ", theme.dim())),
        (None, false) => {}
    }
    let chart = Chart::new(datasets)
        .block(panel(&title, theme).title_bottom(Line::from(legend)))
        .x_axis(
            Axis::default()
                .bounds([0.0, last_x])
                .labels([first, middle, last])
                .style(theme.dim()),
        )
        .y_axis(
            Axis::default()
                .bounds([low, high])
                .labels([label(low), label((low + high) / 2.0), label(high)])
                .style(theme.dim()),
        );
    frame.render_widget(chart, area);
}

fn monthly_bars(frame: &mut Frame, area: Rect, app: &App, metric: &MetricDef) {
    let theme = app.theme;
    // A chosen segment replaces the overall values here as it does in the chart.
    let segment = app
        .trends
        .segment
        .as_ref()
        .filter(|s| s.metric == metric.id)
        .and_then(|s| s.segment.as_ref());
    let (title, months) = match segment {
        Some(segment) => (
            format!(
                "{} [{}={}] by month",
                metric.name, segment.dimension, segment.value
            ),
            app.trends
                .segment_months
                .as_ref()
                .filter(|m| m.metric == metric.id && m.segment.as_ref() == Some(segment)),
        ),
        None => (
            format!("{} by month", metric.name),
            app.snapshot.series(&metric.id, Grain::Month),
        ),
    };
    let Some(months) = months else {
        empty_state(frame, area, &title, &["no monthly values"], theme);
        return;
    };
    let bar_width: u16 = 6;
    let fits = usize::from(area.width.saturating_sub(2) / (bar_width + 1));
    let points: Vec<_> = months
        .points
        .iter()
        .filter(|p| p.value.is_some_and(f64::is_finite))
        .collect();
    let points = &points[points.len().saturating_sub(fits)..];
    let any_negative = points.iter().any(|p| p.value.is_some_and(|v| v < 0.0));
    let bars: Vec<Bar> = points
        .iter()
        .map(|p| {
            let v = p.value.unwrap_or_default();
            // A bar's height is the value's size; one below zero is drawn as tall as its
            // size and marked, and its printed value keeps the sign.
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            let height = (v.abs() * 100.0).round() as u64;
            let mut label = p.period.start.format("%b").to_string();
            if p.partial {
                label.push('*');
            }
            let style = if p.partial {
                theme.dim()
            } else if v < 0.0 {
                theme.bad()
            } else {
                theme.series(0)
            };
            Bar::default()
                .value(height)
                .text_value(present::compact(v, metric.unit))
                .label(Line::from(label))
                .style(style)
        })
        .collect();
    let legend = if any_negative {
        " (* partial · −: below zero)"
    } else {
        " (* partial)"
    };
    let chart = BarChart::default()
        .block(panel(&format!("{title}{legend}"), theme))
        .data(BarGroup::default().bars(&bars))
        .bar_width(bar_width)
        .bar_gap(1)
        .value_style(theme.selected());
    frame.render_widget(chart, area);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reference_is_the_mean_of_the_last_twelve_months_at_the_same_grain() {
        let month = |m: u32| {
            Period::containing(
                Grain::Month,
                chrono::NaiveDate::from_ymd_opt(2024, m, 1).unwrap(),
            )
        };
        let mut all: Vec<(Period, f64)> = (1..=12).map(|m| (month(m), f64::from(m))).collect();
        all.insert(
            0,
            (
                Period::containing(
                    Grain::Month,
                    chrono::NaiveDate::from_ymd_opt(2023, 12, 1).unwrap(),
                ),
                1000.0,
            ),
        );
        // December 2023 is more than 12 months before December 2024's end: left out.
        assert_eq!(twelve_month_mean(&all), Some(6.5));
        assert_eq!(twelve_month_mean(&[]), None);
    }

    /// Weekly points from 2025-W20, oldest first, and their periods.
    fn weekly(values: &[f64]) -> (Vec<Point>, Vec<Period>) {
        let first = Period::containing(
            Grain::Week,
            chrono::NaiveDate::from_ymd_opt(2025, 5, 12).unwrap(),
        );
        let periods: Vec<Period> = std::iter::successors(Some(first), |p| Some(p.next()))
            .take(values.len())
            .collect();
        let points = periods
            .iter()
            .zip(values)
            .map(|(period, value)| Point {
                period: *period,
                value: Some(*value),
                note: None,
                partial: false,
            })
            .collect();
        (points, periods)
    }

    fn limits(window: usize) -> Limits {
        Limits {
            window,
            ..Limits::for_metric(&crate::config::AlertConfig::default(), "")
        }
    }

    #[test]
    fn history_flags_periods_off_their_rolling_mean() {
        // Against the mean of the 3 before: 100 → 110 is +10% (mild), 100 → 80 is −20%
        // (strong); (100 + 110 + 80) ÷ 3 = 96.67 → 97 is +0.3% (nothing).
        let (points, periods) = weekly(&[100.0, 100.0, 100.0, 110.0]);
        let found = deviations(&points, &periods, &limits(3), Basis::Level);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].0, periods[3]);
        assert!((found[0].1 - 10.0).abs() < 1e-9);
        assert_eq!(found[0].2, Tier::Mild);
        let (points, periods) = weekly(&[100.0, 100.0, 100.0, 80.0]);
        let found = deviations(&points, &periods, &limits(3), Basis::Level);
        assert_eq!(found[0].2, Tier::Strong);
        let (points, periods) = weekly(&[100.0, 110.0, 80.0, 97.0]);
        assert!(deviations(&points, &periods, &limits(3), Basis::Level).is_empty());
    }

    /// 0.21 against a mean of 0.1, 0.2 and 0.3 is a 5 % move that binary rounding puts at
    /// 4.999…%: the alerts call it mild, and so must the history line.
    #[test]
    fn trends_history_tiers_a_move_at_the_mild_boundary_as_the_alerts_do() {
        let (points, periods) = weekly(&[0.1, 0.2, 0.3, 0.21]);
        let found = deviations(&points, &periods, &limits(3), Basis::Level);
        let alerts = limits(3).tier(
            deviation::deviation_as(&points, periods[3], 3, Basis::Level)
                .unwrap()
                .change_pct,
        );
        assert_eq!(alerts, Some(Tier::Mild));
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].2, Tier::Mild);
    }
}
