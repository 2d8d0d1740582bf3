//! Cohorts: the cohort matrix as a heatmap with a legend, values in the cells when they
//! fit, forecast cells drawn distinctly, and a cursor that shows one cell in full.

use ratatui::Frame;
use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::metrics::{CohortMatrix, CohortRow, CohortVariant, Grain, Period};

use super::super::app::{App, CohortMeasure, variant_name};
use super::super::mouse::{Hit, Hits};
use super::super::theme::{HEAT_LEVELS, Theme};
use super::{empty_state, panel};
use crate::present::{self, clean};

const LABEL_WIDTH: u16 = 8;
const SIZE_WIDTH: u16 = 8;
/// A cell with its value ("100%", "~38%", "~1.2k", "65%*") and a gap.
const VALUE_CELL: u16 = 6;
/// Values are drawn (scrolling sideways with the cursor) whenever at least this many
/// months fit: the measure `m` picks is only visible in values, never in shades.
const MIN_VALUE_COLUMNS: usize = 6;
/// A cell with only its shade and a gap.
const SHADE_CELL: u16 = 3;

/// One cell as the heatmap reads it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Cell {
    pub share: f64,
    pub forecast: bool,
}

pub fn cell(row: &CohortRow, k: usize) -> Option<Cell> {
    if let Some(Some(share)) = row.cells.get(k).filter(|c| c.is_some_and(f64::is_finite)) {
        return Some(Cell {
            share: *share,
            forecast: false,
        });
    }
    row.forecast
        .get(k)
        .copied()
        .flatten()
        .filter(|s| s.is_finite())
        .map(|share| Cell {
            share,
            forecast: true,
        })
}

/// Shade of a share: five equal steps from 0 to 100 % (revenue retention above 100 % is
/// the top shade).
pub fn level(share: f64) -> usize {
    // Truncation picks the bucket.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let bucket = (share.max(0.0) * HEAT_LEVELS as f64).floor() as usize;
    bucket.min(HEAT_LEVELS - 1)
}

fn cell_text(c: Cell, row: &CohortRow, measure: CohortMeasure, variant: CohortVariant) -> String {
    let mark = if c.forecast { "~" } else { "" };
    match measure {
        CohortMeasure::Members if variant != CohortVariant::RevenueRetention => {
            let members = c.share * row.size as f64;
            format!(
                "{mark}{}",
                present::compact(members, crate::metrics::Unit::Count)
            )
        }
        _ => format!("{mark}{:.0}%", c.share * 100.0),
    }
}

pub fn draw(frame: &mut Frame, area: Rect, app: &App, hits: &mut Hits) {
    let theme = app.theme;
    let variant = app.cohort_variant();
    // The measure is named in the title: on a narrow screen the heatmap shows shades,
    // and `m` shows in the cursor cell's line below it.
    let measure = match (app.cohorts.measure, variant) {
        (_, CohortVariant::RevenueRetention) => "revenue kept %",
        (CohortMeasure::Share, _) => "share %",
        (CohortMeasure::Members, _) => "members",
    };
    let title = format!(
        "Cohorts — {} · {measure} · v variant · m measure",
        variant_name(variant)
    );
    let matrix = app.cohort_matrix().filter(|m| !m.rows.is_empty());
    let Some(matrix) = matrix else {
        let hint = match variant {
            CohortVariant::ActiveUsers => "no cohorts yet — import customers and events",
            CohortVariant::SubscribedCustomers => {
                "no cohorts yet — import customers and subscriptions"
            }
            _ => "no cohorts yet — import customers and orders",
        };
        empty_state(
            frame,
            area,
            &title,
            &[hint, "", "v shows another variant"],
            theme,
        );
        return;
    };
    let block = panel(&title, theme);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let [map_area, legend_area, detail_area] = Layout::vertical([
        Constraint::Min(3),
        Constraint::Length(1),
        Constraint::Length(2),
    ])
    .areas(inner);
    let (below, right) = heatmap(frame.buffer_mut(), map_area, app, matrix, hits);
    let mut legend = legend(theme);
    if right > 0 {
        let plural = if right == 1 { "" } else { "s" };
        legend.spans.insert(
            0,
            Span::styled(
                format!("→ {right} more month{plural} (l) · "),
                theme.accent(),
            ),
        );
    }
    if below > 0 {
        // First, so a narrow screen cuts the shade key rather than the hint.
        let plural = if below == 1 { "" } else { "s" };
        legend.spans.insert(
            0,
            Span::styled(
                format!("↓ {below} more cohort{plural} (j) · "),
                theme.accent(),
            ),
        );
    }
    frame.render_widget(legend, legend_area);
    frame.render_widget(detail(app, matrix), detail_area);
    if app.cohorts.detail {
        cohort_popup(frame, area, app, matrix);
        hits.cover(area);
    }
}

/// Enter on a cell: the whole cohort month by month, observed and forecast.
fn cohort_popup(frame: &mut Frame, area: Rect, app: &App, matrix: &CohortMatrix) {
    let theme = app.theme;
    let Some(row) = matrix.rows.get(app.cohorts.row) else {
        return;
    };
    let columns = row.cells.len().max(row.forecast.len());
    let mut lines = vec![Line::from(Span::styled(
        format!(
            "{:<9}{:>5}{:>9}{:>10}  kind",
            "month", "+k", "share", "members"
        ),
        theme.heading(),
    ))];
    let start = Period::parse(&row.cohort).filter(|p| p.grain == Grain::Month);
    for k in 0..columns {
        let Some(c) = cell(row, k) else {
            continue;
        };
        let month = start
            .and_then(|p| {
                p.start
                    .checked_add_months(chrono::Months::new(u32::try_from(k).ok()?))
            })
            .map_or_else(String::new, |d| d.format("%Y-%m").to_string());
        let members = if matrix.variant == CohortVariant::RevenueRetention {
            "—".to_string()
        } else {
            present::grouped((c.share * row.size as f64).round(), 0)
        };
        let mut style = if c.forecast {
            theme.forecast()
        } else {
            theme.text()
        };
        if k == app.cohorts.col {
            style = style.patch(theme.selected());
        }
        lines.push(Line::from(Span::styled(
            format!(
                "{month:<9}{:>5}{:>8.1}%{members:>10}  {}",
                format!("+{k}"),
                c.share * 100.0,
                if c.forecast { "~ forecast" } else { "observed" }
            ),
            style,
        )));
    }
    let height = u16::try_from(lines.len() + 2).unwrap_or(u16::MAX);
    let popup = super::centered(area, 52, height);
    frame.render_widget(ratatui::widgets::Clear, popup);
    frame.render_widget(
        Paragraph::new(lines).block(panel(
            &format!(
                "cohort {} · {} members · Esc closes",
                clean(&row.cohort),
                present::grouped(row.size as f64, 0)
            ),
            theme,
        )),
        popup,
    );
}

/// First index of a window of `visible` items that keeps `cursor` in view.
fn scroll(cursor: usize, visible: usize, total: usize) -> usize {
    if visible == 0 || total <= visible {
        0
    } else {
        cursor.saturating_sub(visible - 1).min(total - visible)
    }
}

/// Draws the heatmap; returns how many cohorts are below the last row shown and how many
/// months are right of the last column shown.
fn heatmap(
    buf: &mut Buffer,
    area: Rect,
    app: &App,
    matrix: &CohortMatrix,
    hits: &mut Hits,
) -> (usize, usize) {
    let theme = app.theme;
    let columns = matrix
        .rows
        .iter()
        .map(|r| r.cells.len().max(r.forecast.len()))
        .max()
        .unwrap_or(0);
    let cells_width = area.width.saturating_sub(LABEL_WIDTH + SIZE_WIDTH);
    let value_columns = usize::from(cells_width / VALUE_CELL);
    let show_values = value_columns >= columns.min(MIN_VALUE_COLUMNS);
    let cell_width = if show_values { VALUE_CELL } else { SHADE_CELL };
    let visible_cols = usize::from(cells_width / cell_width);
    let first_col = scroll(app.cohorts.col, visible_cols, columns);
    let visible_rows = usize::from(area.height.saturating_sub(1));
    let first_row = scroll(app.cohorts.row, visible_rows, matrix.rows.len());
    let below = matrix.rows.len().saturating_sub(first_row + visible_rows);
    let right = columns.saturating_sub(first_col + visible_cols);
    let y0 = area.y;
    buf.set_string(area.x, y0, "cohort", theme.heading());
    buf.set_string(area.x + LABEL_WIDTH, y0, "   size ", theme.heading());
    for (i, k) in (first_col..columns).take(visible_cols).enumerate() {
        let x = area.x + LABEL_WIDTH + SIZE_WIDTH + u16::try_from(i).unwrap_or(0) * cell_width;
        let head = if show_values {
            format!("+{k:<4}")
        } else {
            format!("{k:<2}")
        };
        buf.set_stringn(x, y0, head, usize::from(cell_width), theme.dim());
    }
    let measure = app.cohorts.measure;
    for (i, (row_index, row)) in matrix
        .rows
        .iter()
        .enumerate()
        .skip(first_row)
        .take(visible_rows)
        .enumerate()
    {
        let y = y0 + 1 + u16::try_from(i).unwrap_or(0);
        let on_row = row_index == app.cohorts.row;
        let label_style = if on_row {
            theme.heading()
        } else {
            theme.text()
        };
        buf.set_stringn(
            area.x,
            y,
            clean(&row.cohort),
            usize::from(LABEL_WIDTH - 1),
            label_style,
        );
        buf.set_string(
            area.x + LABEL_WIDTH,
            y,
            format!("{:>7} ", present::grouped(row.size as f64, 0)),
            theme.dim(),
        );
        for (j, k) in (first_col..columns).take(visible_cols).enumerate() {
            let x = area.x + LABEL_WIDTH + SIZE_WIDTH + u16::try_from(j).unwrap_or(0) * cell_width;
            hits.push(
                Rect::new(x, y, cell_width, 1).intersection(area),
                Hit::CohortCell {
                    row: row_index,
                    col: k,
                },
            );
            let Some(c) = cell(row, k) else {
                continue;
            };
            let lvl = level(c.share);
            let running = !c.forecast && is_running(app, row, k);
            let mut style: Style = theme.heat(lvl);
            if c.forecast {
                style = style.patch(theme.forecast());
            } else if running {
                style = style.patch(theme.dim());
            }
            if on_row && k == app.cohorts.col {
                style = style.patch(theme.selected());
            }
            let text = if show_values && running {
                format!(
                    "{:>5}",
                    format!("{}*", cell_text(c, row, measure, matrix.variant))
                )
            } else if show_values {
                format!("{:>5}", cell_text(c, row, measure, matrix.variant))
            } else if running {
                format!("{}*", Theme::heat_glyph(lvl))
            } else if c.forecast {
                format!("{}~", Theme::heat_glyph(lvl))
            } else {
                Theme::heat_glyph(lvl).repeat(2)
            };
            buf.set_stringn(x, y, text, usize::from(cell_width - 1), style);
        }
    }
    (below, right)
}

fn legend(theme: Theme) -> Line<'static> {
    let mut spans = vec![Span::styled("shade ", theme.dim())];
    for lvl in 0..HEAT_LEVELS {
        let low = lvl * 100 / HEAT_LEVELS;
        let label = if lvl + 1 == HEAT_LEVELS {
            format!("≥{low}%")
        } else {
            format!("{low}–{}%", (lvl + 1) * 100 / HEAT_LEVELS)
        };
        spans.push(Span::styled(
            format!("{}{label}", Theme::heat_glyph(lvl)),
            theme.heat(lvl),
        ));
        spans.push(Span::raw(" "));
    }
    spans.push(Span::styled("~ forecast", theme.forecast()));
    spans.push(Span::styled(" * so far", theme.dim()));
    Line::from(spans)
}

/// Whether cell `k` of `row` is the month still running (as of the snapshot's date, not
/// its last day): observed so far, not a month's worth.
fn is_running(app: &App, row: &CohortRow, k: usize) -> bool {
    let Some(as_of) = app.snapshot.as_of else {
        return false;
    };
    let running = Period::containing(Grain::Month, as_of);
    if running.end() == as_of {
        return false;
    }
    Period::parse(&row.cohort)
        .filter(|p| p.grain == Grain::Month)
        .and_then(|p| {
            p.start
                .checked_add_months(chrono::Months::new(u32::try_from(k).ok()?))
        })
        == Some(running.start)
}

fn detail(app: &App, matrix: &CohortMatrix) -> Paragraph<'static> {
    let theme = app.theme;
    let Some(row) = matrix.rows.get(app.cohorts.row) else {
        return Paragraph::new("");
    };
    let k = app.cohorts.col;
    let month = Period::parse(&row.cohort)
        .filter(|p| p.grain == Grain::Month)
        .and_then(|p| {
            p.start
                .checked_add_months(chrono::Months::new(u32::try_from(k).ok()?))
        })
        .map(|d| d.format("%Y-%m").to_string())
        .unwrap_or_else(|| format!("+{k}"));
    let who = match matrix.variant {
        CohortVariant::PurchasingCustomers => "purchasing",
        CohortVariant::ActiveUsers => "active",
        CohortVariant::SubscribedCustomers => "subscribed",
        CohortVariant::RevenueRetention => "of month-0 revenue",
    };
    let first = Line::from(vec![
        Span::styled(format!("cohort {}", clean(&row.cohort)), theme.heading()),
        Span::raw(format!(
            " · {} members · month +{k} ({month})",
            present::grouped(row.size as f64, 0)
        )),
    ]);
    let second = match cell(row, k) {
        Some(c) => {
            let kind = if c.forecast { "forecast ~" } else { "observed" };
            let members = if matrix.variant == CohortVariant::RevenueRetention {
                String::new()
            } else {
                format!(
                    " · {} members",
                    present::grouped((c.share * row.size as f64).round(), 0)
                )
            };
            Line::from(vec![
                Span::styled(format!("{:.1}% {who}", c.share * 100.0), theme.heading()),
                Span::raw(members),
                Span::styled(
                    format!(" · {kind}"),
                    if c.forecast {
                        theme.forecast()
                    } else {
                        theme.dim()
                    },
                ),
            ])
        }
        None => Line::from(Span::styled("no value for this month yet", theme.dim())),
    };
    Paragraph::new(vec![first, second])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_fall_into_five_shades() {
        assert_eq!(level(0.0), 0);
        assert_eq!(level(0.19), 0);
        assert_eq!(level(0.2), 1);
        assert_eq!(level(0.79), 3);
        assert_eq!(level(1.0), 4);
        assert_eq!(level(1.3), 4);
        assert_eq!(level(-0.1), 0);
    }

    #[test]
    fn the_window_follows_the_cursor() {
        assert_eq!(scroll(0, 5, 20), 0);
        assert_eq!(scroll(4, 5, 20), 0);
        assert_eq!(scroll(5, 5, 20), 1);
        assert_eq!(scroll(19, 5, 20), 15);
        assert_eq!(scroll(3, 10, 4), 0);
    }
}
