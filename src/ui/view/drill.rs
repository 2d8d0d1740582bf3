//! The drill-down: the accounts behind a number (Enter on a tile or an alert), with their
//! values in the two periods and what each changed — largest change first.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph};

use crate::metrics::Unit;
use crate::present::{self, clean};

use super::super::app::{App, Drill};
use super::panel;

const ACCOUNT_WIDTH: usize = 18;
const VALUE_WIDTH: usize = 12;

/// The drill-down's lines: what is measured, then one line per account.
pub(crate) fn lines(app: &App, drill: &Drill) -> Vec<Line<'static>> {
    let theme = app.theme;
    let request = &drill.request;
    let name = app.snapshot.metric(&request.metric).map_or_else(
        || clean(&request.metric).into_owned(),
        |m| clean(&m.name).into_owned(),
    );
    let segment = request
        .segment
        .as_ref()
        .map(|s| format!(" [{}={}]", clean(&s.dimension), clean(&s.value)))
        .unwrap_or_default();
    let (before, after) = (request.before.label(), request.after.label());
    let mut lines = Vec::new();
    let Some(measure) = request.measure else {
        let tables = app
            .snapshot
            .metric(&request.metric)
            .map(|m| m.sources.join(", "))
            .unwrap_or_default();
        lines.push(Line::from(Span::styled(
            format!("{name}{segment}: no per-account breakdown — it is computed from {tables}"),
            theme.dim(),
        )));
        return lines;
    };
    lines.push(Line::from(vec![
        Span::styled(format!("{name}{segment}"), theme.heading()),
        Span::styled(
            format!(" · accounts by {}, {after} vs {before}", measure.describe()),
            theme.dim(),
        ),
    ]));
    let moves = match &drill.result {
        None => {
            lines.push(Line::from(Span::styled(
                "reading accounts…",
                theme.accent(),
            )));
            return lines;
        }
        Some(Err(err)) => {
            lines.push(Line::from(Span::styled(
                format!("could not read the accounts: {}", clean(err)),
                theme.bad(),
            )));
            return lines;
        }
        Some(Ok(moves)) => moves,
    };
    if !moves.filtered
        && let Some(s) = &request.segment
    {
        lines.push(Line::from(Span::styled(
            format!(
                "every account: these rows do not carry {}",
                clean(&s.dimension)
            ),
            theme.mild(),
        )));
    }
    if moves.moves.is_empty() {
        lines.push(Line::from(Span::styled(
            "no account has a value in either period",
            theme.dim(),
        )));
        return lines;
    }
    let unit = if measure.is_money() {
        Unit::Currency
    } else {
        Unit::Count
    };
    let currency = &app.snapshot.config.currency;
    lines.push(Line::from(Span::styled(
        format!(
            "{:<ACCOUNT_WIDTH$}{before:>VALUE_WIDTH$}{after:>VALUE_WIDTH$}{:>VALUE_WIDTH$}",
            "account", "change"
        ),
        theme.heading(),
    )));
    for m in &moves.moves {
        let mut account = clean(&m.account).into_owned();
        if account.chars().count() >= ACCOUNT_WIDTH {
            account = account.chars().take(ACCOUNT_WIDTH - 2).collect::<String>() + "…";
        }
        let difference = m.after - m.before;
        // Judged by the measure shown, not the metric (see `higher_is_better`).
        let style = if difference == 0.0 {
            theme.neutral()
        } else if (difference > 0.0) == measure.higher_is_better() {
            theme.good()
        } else {
            theme.bad()
        };
        let arrow = if difference > 0.0 {
            "▲"
        } else if difference < 0.0 {
            "▼"
        } else {
            "="
        };
        lines.push(Line::from(vec![
            Span::raw(format!(
                "{account:<ACCOUNT_WIDTH$}{:>VALUE_WIDTH$}{:>VALUE_WIDTH$}",
                present::value(m.before, unit, currency),
                present::value(m.after, unit, currency),
            )),
            Span::styled(
                format!(
                    "{:>VALUE_WIDTH$}",
                    format!(
                        "{arrow} {}",
                        present::signed_value(difference, unit, currency)
                    )
                ),
                style,
            ),
        ]));
    }
    lines
}

/// The drill-down over a pane (the Overview's tiles); returns where it was drawn.
pub(crate) fn popup(frame: &mut Frame, area: Rect, app: &App, drill: &Drill) -> Rect {
    let lines = lines(app, drill);
    let height = u16::try_from(lines.len() + 2).unwrap_or(u16::MAX);
    // As wide as the screen allows, up to what the longest title needs.
    let popup = super::centered(area, 100, height);
    frame.render_widget(Clear, popup);
    frame.render_widget(
        Paragraph::new(lines).block(panel(
            "Behind the number · Enter trend · Esc closes",
            app.theme,
        )),
        popup,
    );
    popup
}
