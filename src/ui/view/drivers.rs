//! Drivers: a KPI (y) against a driver (x), one point per period or per segment, with
//! Pearson r, the fitted line, its slope and R², and n.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::symbols::Marker;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Axis, Chart, Dataset, GraphType, List, ListItem, ListState, Paragraph};

use crate::metrics::MetricDef;

use super::super::app::{App, DriverFocus};
use super::super::mouse::{Hit, Hits, ListId};
use super::{empty_state, panel};
use crate::present::{self, clean};

/// Least-squares fit of y on x.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Fit {
    pub n: usize,
    pub r: f64,
    pub slope: f64,
    pub intercept: f64,
    pub r_squared: f64,
}

/// Pearson r and the least-squares line; `None` below 3 points or when x or y is constant.
pub fn fit(points: &[(f64, f64)]) -> Option<Fit> {
    let n = points.len();
    if n < 3 {
        return None;
    }
    let nf = n as f64;
    let mean_x = points.iter().map(|p| p.0).sum::<f64>() / nf;
    let mean_y = points.iter().map(|p| p.1).sum::<f64>() / nf;
    let (mut sxx, mut syy, mut sxy) = (0.0, 0.0, 0.0);
    for (x, y) in points {
        sxx += (x - mean_x).powi(2);
        syy += (y - mean_y).powi(2);
        sxy += (x - mean_x) * (y - mean_y);
    }
    if sxx == 0.0 || syy == 0.0 {
        return None;
    }
    let r = sxy / (sxx * syy).sqrt();
    let slope = sxy / sxx;
    Some(Fit {
        n,
        r,
        slope,
        intercept: mean_y - slope * mean_x,
        r_squared: r * r,
    })
}

fn strength(r: f64) -> &'static str {
    let positive = r >= 0.0;
    match (r.abs(), positive) {
        (a, true) if a >= 0.7 => "strong positive",
        (a, false) if a >= 0.7 => "strong negative",
        (a, true) if a >= 0.4 => "moderate positive",
        (a, false) if a >= 0.4 => "moderate negative",
        (a, true) if a >= 0.2 => "weak positive",
        (a, false) if a >= 0.2 => "weak negative",
        _ => "no clear relation",
    }
}

/// Points labelled by period (or segment), oldest first; the last one is the latest.
fn period_points(app: &App, kpi: &MetricDef, driver: &MetricDef) -> Vec<(String, f64, f64)> {
    let (Some(ys), Some(xs)) = (
        app.snapshot.series(&kpi.id, app.grain),
        app.snapshot.series(&driver.id, app.grain),
    ) else {
        return Vec::new();
    };
    let mut out: Vec<(String, f64, f64)> = ys
        .points
        .iter()
        .filter(|p| !p.partial)
        .filter_map(|yp| {
            let y = yp.value.filter(|v| v.is_finite())?;
            let xp = xs
                .points
                .iter()
                .find(|x| x.period == yp.period && !x.partial)?;
            Some((yp.period.label(), xp.value.filter(|v| v.is_finite())?, y))
        })
        .collect();
    let keep = app.periods_shown().min(out.len());
    out.drain(..out.len() - keep);
    out
}

pub fn draw(frame: &mut Frame, area: Rect, app: &App, hits: &mut Hits) {
    let theme = app.theme;
    let side_width = if area.width >= 140 { 34 } else { 24 };
    let [side, main] =
        Layout::horizontal([Constraint::Length(side_width), Constraint::Min(0)]).areas(area);
    if app.snapshot.metrics.is_empty() {
        empty_state(frame, side, "KPI (y)", &["no metrics yet"], theme);
        empty_state(
            frame,
            main,
            "Drivers",
            &[
                "no data — import orders and spend",
                "",
                "then pick a KPI and a driver: ←→ switch list, ↑↓ choose",
            ],
            theme,
        );
        return;
    }
    let [kpi_area, driver_area] =
        Layout::vertical([Constraint::Percentage(50), Constraint::Percentage(50)]).areas(side);
    let kpis: Vec<&MetricDef> = app.snapshot.metrics.iter().collect();
    let kpi_offset = metric_list(
        frame,
        kpi_area,
        app,
        "KPI (y)",
        &kpis,
        app.drivers.kpi,
        app.drivers.focus == DriverFocus::Kpi,
    );
    hits.rows(
        super::inner_of(kpi_area),
        kpi_offset,
        kpis.len(),
        ListId::DriverKpis,
    );
    let drivers = app.driver_options();
    let driver_offset = metric_list(
        frame,
        driver_area,
        app,
        "driver (x)",
        &drivers,
        app.drivers.driver,
        app.drivers.focus == DriverFocus::Driver,
    );
    hits.rows(
        super::inner_of(driver_area),
        driver_offset,
        drivers.len(),
        ListId::DriverOptions,
    );
    let (Some(kpi), Some(driver)) = (app.driver_kpi(), app.driver_metric()) else {
        return;
    };
    let (points, by): (Vec<(String, f64, f64)>, String) = match &app.drivers.by_segment {
        Some((dimension, pts)) => (
            pts.iter()
                .map(|p| (clean(&p.segment).into_owned(), p.x, p.y))
                .collect(),
            format!("one point per {}", clean(dimension)),
        ),
        None => (
            period_points(app, kpi, driver),
            format!("one point per {}", app.grain),
        ),
    };
    let [stats_area, chart_area] =
        Layout::vertical([Constraint::Length(3), Constraint::Min(0)]).areas(main);
    let xy: Vec<(f64, f64)> = points.iter().map(|(_, x, y)| (*x, *y)).collect();
    let fitted = fit(&xy);
    stats(frame, stats_area, app, kpi, driver, fitted, &points, &by);
    if xy.is_empty() {
        let mut tables: Vec<&str> = kpi.sources.iter().chain(driver.sources).copied().collect();
        tables.dedup();
        let tables = if tables.is_empty() {
            "their data".to_string()
        } else {
            tables.join(" and ")
        };
        empty_state(
            frame,
            chart_area,
            "scatter",
            &[&format!(
                "no period where both have a value — import {tables}"
            )],
            theme,
        );
        return;
    }
    scatter(frame, chart_area, app, kpi, driver, &xy, fitted);
    hits.push(chart_area, Hit::Chart);
}

fn metric_list(
    frame: &mut Frame,
    area: Rect,
    app: &App,
    title: &str,
    metrics: &[&MetricDef],
    selected: usize,
    focused: bool,
) -> usize {
    let theme = app.theme;
    let items: Vec<ListItem> = metrics
        .iter()
        .map(|m| ListItem::new(clean(&m.name).into_owned()))
        .collect();
    let mut block = panel(title, theme);
    if focused {
        block = super::focused(block, theme);
    }
    let list = List::new(items)
        .block(block)
        .highlight_style(if focused {
            theme.selected()
        } else {
            theme.heading()
        })
        .highlight_symbol("› ");
    let mut state =
        ListState::default().with_selected(Some(selected.min(metrics.len().saturating_sub(1))));
    frame.render_stateful_widget(list, area, &mut state);
    // Where the list scrolled to, for the rows a click can hit.
    state.offset()
}

#[allow(clippy::too_many_arguments)]
fn stats(
    frame: &mut Frame,
    area: Rect,
    app: &App,
    kpi: &MetricDef,
    driver: &MetricDef,
    fitted: Option<Fit>,
    points: &[(String, f64, f64)],
    by: &str,
) {
    let theme = app.theme;
    let currency = &app.snapshot.config.currency;
    let head = Line::from(vec![
        Span::styled(clean(&kpi.name).into_owned(), theme.title()),
        Span::styled(" vs ", theme.dim()),
        Span::styled(clean(&driver.name).into_owned(), theme.title()),
        Span::styled(format!("  · {by} · f: by segment"), theme.dim()),
    ]);
    let numbers = match fitted {
        // The four numbers first: they must fit at 80 columns; the reading may be cut.
        Some(f) => Line::from(vec![
            Span::styled(format!("r = {:+.2}", f.r), theme.heading()),
            Span::raw(format!(" · R² {:.2} · n {}", f.r_squared, f.n)),
            Span::raw(format!(
                " · slope {} {} per {}",
                format_number(f.slope),
                present::unit_label(kpi.unit, currency),
                present::unit_label(driver.unit, currency)
            )),
            Span::styled(format!(" · {}", strength(f.r)), theme.dim()),
        ]),
        None => Line::from(Span::styled(
            format!(
                "n {} — needs 3 points that vary to fit a line",
                points.len()
            ),
            theme.dim(),
        )),
    };
    // By segment the points have no order: each is named, left to right as plotted.
    // By period the last is the latest, marked on the plot.
    let segmented = app.drivers.by_segment.is_some();
    let latest = if segmented {
        let mut named: Vec<&(String, f64, f64)> = points.iter().collect();
        named.sort_by(|a, b| a.1.total_cmp(&b.1));
        let mut spans = vec![Span::styled("left to right ", theme.dim())];
        for (i, (label, x, y)) in named.into_iter().enumerate() {
            if i > 0 {
                spans.push(Span::styled(" · ", theme.dim()));
            }
            spans.push(Span::styled(label.clone(), theme.heading()));
            spans.push(Span::raw(format!(
                " {} at {}",
                present::value(*y, kpi.unit, currency),
                present::value(*x, driver.unit, currency)
            )));
        }
        Line::from(spans)
    } else {
        points.last().map_or_else(
            || Line::from(""),
            |(label, x, y)| {
                Line::from(vec![
                    Span::styled("◆ latest ", theme.strong()),
                    Span::raw(format!(
                        "{}: {} at {}",
                        label,
                        present::value(*y, kpi.unit, currency),
                        present::value(*x, driver.unit, currency)
                    )),
                ])
            },
        )
    };
    frame.render_widget(Paragraph::new(vec![head, numbers, latest]), area);
}

fn format_number(value: f64) -> String {
    if value.abs() >= 100.0 {
        present::grouped(value, 0)
    } else {
        format!("{value:.3}")
    }
}

fn scatter(
    frame: &mut Frame,
    area: Rect,
    app: &App,
    kpi: &MetricDef,
    driver: &MetricDef,
    xy: &[(f64, f64)],
    fitted: Option<Fit>,
) {
    let theme = app.theme;
    let currency = &app.snapshot.config.currency;
    let bounds = |vals: &mut dyn Iterator<Item = f64>| {
        let (lo, hi) = vals.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(v), hi.max(v))
        });
        let pad = ((hi - lo) * 0.08).max(hi.abs() * 0.02).max(1e-9);
        (lo - pad, hi + pad)
    };
    let (x_lo, x_hi) = bounds(&mut xy.iter().map(|p| p.0));
    let (y_lo, y_hi) = bounds(&mut xy.iter().map(|p| p.1));
    let line: Vec<(f64, f64)> = fitted
        .map(|f| {
            vec![
                (x_lo, f.intercept + f.slope * x_lo),
                (x_hi, f.intercept + f.slope * x_hi),
            ]
        })
        .unwrap_or_default();
    let segmented = app.drivers.by_segment.is_some();
    let latest: Vec<(f64, f64)> = xy
        .last()
        .copied()
        .filter(|_| !segmented)
        .into_iter()
        .collect();
    let datasets = vec![
        Dataset::default()
            .marker(Marker::Braille)
            .graph_type(GraphType::Line)
            .style(theme.series(1))
            .data(&line),
        Dataset::default()
            .marker(Marker::Braille)
            .graph_type(GraphType::Scatter)
            .style(theme.series(0))
            .data(xy),
        Dataset::default()
            .marker(Marker::Block)
            .graph_type(GraphType::Scatter)
            .style(theme.strong())
            .data(&latest),
    ];
    let x_label = |v: f64| present::value(v, driver.unit, currency);
    let y_label = |v: f64| present::value(v, kpi.unit, currency);
    let chart = Chart::new(datasets)
        .block(panel(
            if segmented {
                "scatter · ⣿ one point per segment, named above · ─ fit"
            } else {
                "scatter · ⣿ points · ─ fit · █ latest"
            },
            theme,
        ))
        .x_axis(
            Axis::default()
                .title(format!(
                    "{} ({})",
                    clean(&driver.name),
                    present::unit_label(driver.unit, currency)
                ))
                .bounds([x_lo, x_hi])
                .labels([x_label(x_lo), x_label((x_lo + x_hi) / 2.0), x_label(x_hi)])
                .style(theme.dim()),
        )
        .y_axis(
            Axis::default()
                .title(format!(
                    "{} ({})",
                    clean(&kpi.name),
                    present::unit_label(kpi.unit, currency)
                ))
                .bounds([y_lo, y_hi])
                .labels([y_label(y_lo), y_label((y_lo + y_hi) / 2.0), y_label(y_hi)])
                .style(theme.dim()),
        );
    frame.render_widget(chart, area);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fit_matches_a_hand_computed_line() {
        // x̄ = 2.5, ȳ = 6.25; Sxx = 5, Sxy = 11.5, Syy = 26.75
        // → slope 2.3, intercept 6.25 − 2.3·2.5 = 0.5, r = 11.5 / √(5·26.75).
        let f = fit(&[(1.0, 3.0), (2.0, 5.0), (3.0, 7.0), (4.0, 10.0)]).unwrap();
        assert_eq!(f.n, 4);
        assert!((f.slope - 2.3).abs() < 1e-12);
        assert!((f.intercept - 0.5).abs() < 1e-12);
        let r = 11.5 / (5.0f64 * 26.75).sqrt();
        assert!((f.r - r).abs() < 1e-12);
        assert!((f.r_squared - r * r).abs() < 1e-12);
    }

    #[test]
    fn no_fit_below_three_points_or_without_variation() {
        assert_eq!(fit(&[(1.0, 1.0), (2.0, 2.0)]), None);
        assert_eq!(fit(&[(1.0, 1.0), (1.0, 2.0), (1.0, 3.0)]), None);
    }
}
