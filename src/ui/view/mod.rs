//! Drawing: one module per pane, each a free function over `&App`. Views only read state;
//! they never run SQL, touch files or change the app.

mod alerts;
mod cohorts;
mod data;
mod drill;
mod drivers;
mod overview;
mod trends;

use ratatui::Frame;
use ratatui::layout::{Alignment, Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{
    Block, BorderType, Borders, Clear, List, ListItem, ListState, Paragraph, Tabs, Wrap,
};

use crate::metrics::{Direction, MetricDef, Point, Series};

use super::app::{App, PickerPurpose, PickerStage, Tab};
use super::keymap::Action;
use super::mouse::{Hit, Hits, ListId};
use super::theme::Theme;
use crate::present::{Change, clean};

/// The smallest screen the layout is designed for (SPEC §5).
pub const MIN_WIDTH: u16 = 80;
pub const MIN_HEIGHT: u16 = 24;

pub fn draw(frame: &mut Frame, app: &App) {
    draw_recording(frame, app, &mut Hits::default());
}

/// Draws the frame and records in `hits` where it drew what a click can mean (see
/// [`super::mouse`]).
pub fn draw_recording(frame: &mut Frame, app: &App, hits: &mut Hits) {
    hits.clear();
    let area = frame.area();
    if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
        too_small(frame, area);
        return;
    }
    let [tabs, body, status] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(0),
        Constraint::Length(1),
    ])
    .areas(area);
    tab_bar(frame, tabs, app, hits);
    if app.loading && app.is_empty_store() {
        let name = app.snapshot.store.display().to_string();
        let text = format!("loading {}…", clean(&name));
        empty_state(frame, body, app.tab.title(), &[&text], app.theme);
        status_line(frame, status, app);
        return;
    }
    match app.tab {
        Tab::Overview => overview::draw(frame, body, app, hits),
        Tab::Trends => trends::draw(frame, body, app, hits),
        Tab::Drivers => drivers::draw(frame, body, app, hits),
        Tab::Cohorts => cohorts::draw(frame, body, app, hits),
        Tab::Alerts => alerts::draw(frame, body, app, hits),
        Tab::Data => data::draw(frame, body, app, hits),
    }
    status_line(frame, status, app);
    if app.picker.is_some() {
        picker(frame, body, app, hits);
    }
    if app.help {
        help(frame, body, app);
        hits.cover(body);
    }
}

fn too_small(frame: &mut Frame, area: Rect) {
    let text = vec![
        Line::from("terminal too small"),
        Line::from(format!(
            "{}×{}, needs {MIN_WIDTH}×{MIN_HEIGHT}",
            area.width, area.height
        )),
        Line::from("enlarge it, or q to quit"),
    ];
    let top = area.height.saturating_sub(3) / 2;
    let [_, middle] = Layout::vertical([Constraint::Length(top), Constraint::Min(0)]).areas(area);
    frame.render_widget(
        Paragraph::new(text)
            .alignment(Alignment::Center)
            .wrap(Wrap { trim: true }),
        middle,
    );
}

fn tab_bar(frame: &mut Frame, area: Rect, app: &App, hits: &mut Hits) {
    let theme = app.theme;
    let titles: Vec<String> = Tab::ALL
        .iter()
        .enumerate()
        .map(|(i, t)| format!("{} {}", i + 1, t.title()))
        .collect();
    // Where `Tabs` puts each title: a space of padding either side, a divider between.
    let mut x = area.x;
    for (tab, title) in Tab::ALL.iter().zip(&titles) {
        let width = u16::try_from(title.chars().count()).unwrap_or(0) + 2;
        hits.push(Rect::new(x, area.y, width, 1), Hit::Tab(*tab));
        x = x.saturating_add(width + 1);
    }
    let tabs = Tabs::new(titles.into_iter().map(Line::from))
        .select(app.tab.index())
        .style(theme.dim())
        .highlight_style(
            theme
                .title()
                .add_modifier(ratatui::style::Modifier::REVERSED),
        )
        .divider("│");
    let [left, right] =
        Layout::horizontal([Constraint::Min(0), Constraint::Length(12)]).areas(area);
    frame.render_widget(tabs, left);
    let grain = Line::from(vec![
        Span::styled("grain ", theme.dim()),
        Span::styled(app.grain.name(), theme.heading()),
    ])
    .alignment(Alignment::Right);
    frame.render_widget(grain, right);
}

fn status_line(frame: &mut Frame, area: Rect, app: &App) {
    let theme = app.theme;
    let store = app
        .snapshot
        .store
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let as_of = app
        .snapshot
        .as_of
        .map_or_else(|| "no data".to_string(), |d| format!("as of {d}"));
    let mut spans = vec![
        Span::styled(clean(&store).into_owned(), theme.heading()),
        Span::raw(" · "),
        Span::raw(as_of),
        Span::raw(range_text(app)),
    ];
    if app.loading {
        spans.push(Span::styled(" · loading…", theme.accent()));
    } else if app.checking_alerts {
        spans.push(Span::styled(" · checking alerts…", theme.dim()));
    }
    if let Some(live) = &app.live {
        spans.push(Span::raw(" · "));
        spans.extend(live_spans(live, theme));
    }
    if let Some(notice) = &app.notice {
        spans.push(Span::raw(" · "));
        spans.push(Span::styled(clean(notice).into_owned(), theme.neutral()));
    }
    if let Some(status) = &app.status {
        spans.push(Span::raw(" · "));
        spans.push(Span::styled(clean(status).into_owned(), theme.accent()));
    }
    let [left, right] =
        Layout::horizontal([Constraint::Min(0), Constraint::Length(16)]).areas(area);
    frame.render_widget(ellipsize(Line::from(spans), usize::from(left.width)), left);
    frame.render_widget(
        Line::from(Span::styled(
            format!(
                "{} help  {} quit",
                first_key(app, Action::Help),
                first_key(app, Action::Quit)
            ),
            theme.dim(),
        ))
        .alignment(Alignment::Right),
        right,
    );
}

/// The first key in force of an action, for the status line's hints.
fn first_key(app: &App, action: Action) -> String {
    let keys = app.keymap.keys_of(action);
    keys.split(' ').next().unwrap_or_default().to_string()
}

/// The range as drawn: fewer periods than chosen when the data does not reach back that far.
fn range_text(app: &App) -> String {
    let drawn = app.periods_drawn();
    if drawn < app.periods_shown() {
        format!(" · {drawn} periods (all held)")
    } else {
        format!(" · {drawn} periods")
    }
}

/// The watched folder in a few words: importing, last update, failures.
fn live_spans(live: &super::app::LiveStatus, theme: Theme) -> Vec<Span<'static>> {
    let mut spans = Vec::new();
    if let Some(error) = &live.error {
        spans.push(Span::styled(
            format!("‼ watch stopped: {}", clean(error)),
            theme.bad(),
        ));
        return spans;
    }
    match (live.progress, &live.last_update) {
        (Some((done, total)), _) => {
            spans.push(Span::styled(
                format!("importing {done}/{total}…"),
                theme.accent(),
            ));
        }
        (None, Some(at)) => spans.push(Span::styled(format!("live · updated {at}"), theme.good())),
        (None, None) => spans.push(Span::styled("live · watching", theme.neutral())),
    }
    let failed = live.state.failed().count();
    if failed > 0 {
        spans.push(Span::styled(format!(" ! {failed} failed"), theme.bad()));
    }
    spans
}

/// A centred rectangle of at most `width`×`height` inside `area`.
fn centered(area: Rect, width: u16, height: u16) -> Rect {
    let width = width.min(area.width);
    let height = height.min(area.height);
    Rect {
        x: area.x + (area.width - width) / 2,
        y: area.y + (area.height - height) / 2,
        width,
        height,
    }
}

fn help(frame: &mut Frame, area: Rect, app: &App) {
    let theme = app.theme;
    // The keys in force, `[keys]` in kpi.toml included.
    let entries = app.keymap.help();
    let key_width = entries
        .iter()
        .map(|(k, _)| k.chars().count())
        .max()
        .unwrap_or(0);
    let lines: Vec<Line> = entries
        .iter()
        .map(|(keys, what)| {
            Line::from(vec![
                Span::styled(format!(" {keys:<key_width$}  "), theme.heading()),
                Span::raw(*what),
            ])
        })
        .collect();
    let height = u16::try_from(lines.len()).unwrap_or(u16::MAX) + 2;
    let popup = centered(area, 76, height);
    frame.render_widget(Clear, popup);
    frame.render_widget(
        Paragraph::new(lines).block(panel("Keys — ? or Esc closes", theme)),
        popup,
    );
}

fn picker(frame: &mut Frame, area: Rect, app: &App, hits: &mut Hits) {
    let Some(picker) = &app.picker else {
        return;
    };
    let theme = app.theme;
    let (title, items): (String, Vec<String>) = match &picker.stage {
        PickerStage::Dimensions(dims) => ("Segment by".into(), dims.clone()),
        PickerStage::Loading(dim) => (
            format!("Segment by {}", clean(dim)),
            vec![format!("loading {}…", clean(dim))],
        ),
        PickerStage::Values {
            dimension, series, ..
        } => (
            format!("{} =", clean(dimension)),
            series
                .iter()
                .map(|s| {
                    s.segment
                        .as_ref()
                        .map_or_else(String::new, |seg| clean(&seg.value).into_owned())
                })
                .collect(),
        ),
    };
    let hint = match picker.purpose {
        PickerPurpose::Trends => "Enter picks · Esc closes",
        PickerPurpose::Drivers => "Enter: one point per segment",
    };
    let height = u16::try_from(items.len().min(14)).unwrap_or(14) + 3;
    let popup = centered(area, 40, height);
    frame.render_widget(Clear, popup);
    let list = List::new(
        items
            .into_iter()
            .map(|s| ListItem::new(clean(&s).into_owned())),
    )
    .block(panel(&title, theme).title_bottom(Line::from(hint).alignment(Alignment::Right)))
    .highlight_style(theme.selected())
    .highlight_symbol("› ");
    let count = list.len();
    let mut state = ListState::default().with_selected(Some(picker.selected));
    frame.render_stateful_widget(list, popup, &mut state);
    hits.cover(popup);
    hits.rows(inner_of(popup), state.offset(), count, ListId::Picker);
}

/// The inside of a bordered panel drawn in `area`.
pub(crate) fn inner_of(area: Rect) -> Rect {
    Block::default().borders(Borders::ALL).inner(area)
}

/// Appends a list's filter to its title: the line being typed (with a cursor), or the
/// filter in force.
pub(crate) fn filter_title(title: &mut String, filter: &str, typing: bool) {
    if typing {
        title.push_str(&format!(" · /{}▏", clean(filter)));
    } else if !filter.is_empty() {
        title.push_str(&format!(" · /{} (Esc clears)", clean(filter)));
    }
}

/// `line` cut to `width` columns, ending in "…" when anything was cut, so a cut reads as
/// a cut and not as the whole text.
pub(crate) fn ellipsize(line: Line<'static>, width: usize) -> Line<'static> {
    if line.width() <= width {
        return line;
    }
    let room = width.saturating_sub(1);
    let mut used = 0;
    let mut spans = Vec::new();
    'spans: for span in line.spans {
        let mut kept = String::new();
        for c in span.content.chars() {
            let w = Span::raw(c.to_string()).width();
            if used + w > room {
                if !kept.is_empty() {
                    spans.push(Span::styled(kept, span.style));
                }
                break 'spans;
            }
            used += w;
            kept.push(c);
        }
        spans.push(Span::styled(kept, span.style));
    }
    if width > 0 {
        spans.push(Span::raw("…"));
    }
    Line::from(spans).style(line.style)
}

/// A bordered panel with a title.
fn panel(title: &str, theme: Theme) -> Block<'static> {
    Block::default()
        .borders(Borders::ALL)
        .border_type(BorderType::Rounded)
        .border_style(theme.dim())
        .title(Span::styled(format!(" {} ", clean(title)), theme.title()))
}

/// The panel that has the keyboard: a thick border, so focus shows without colour too.
fn focused(block: Block<'static>, theme: Theme) -> Block<'static> {
    block
        .border_type(BorderType::Thick)
        .border_style(theme.accent())
}

/// A panel saying why it is empty and what to import.
fn empty_state(frame: &mut Frame, area: Rect, title: &str, lines: &[&str], theme: Theme) {
    let text: Vec<Line> = lines
        .iter()
        .map(|l| Line::from(Span::styled((*l).to_string(), theme.text())))
        .collect();
    frame.render_widget(
        Paragraph::new(text)
            .block(panel(title, theme))
            .wrap(Wrap { trim: false }),
        area,
    );
}

/// The last complete point with a value, and the point of the period before it.
pub(crate) fn latest_pair(series: &Series) -> (Option<&Point>, Option<&Point>) {
    let latest = series
        .points
        .iter()
        .rev()
        .find(|p| !p.partial && p.value.is_some_and(f64::is_finite));
    // The period right before, as `kpi report` compares: a gap is no change to show, not
    // a reason to compare with an older period.
    let previous = latest.and_then(|latest| {
        let before = latest.period.prev();
        series.points.iter().find(|p| p.period == before)
    });
    (latest, previous)
}

/// Why a metric has nothing to show, in the words of SPEC §3.
pub(crate) fn no_data_reason(metric: Option<&MetricDef>, series: Option<&Series>) -> String {
    if let Some(note) = series.and_then(|s| s.points.iter().rev().find_map(|p| p.note.as_deref())) {
        return clean(note).into_owned();
    }
    let table = metric
        .and_then(|m| m.sources.first().copied())
        .unwrap_or("orders");
    format!("no data — import {table}")
}

/// The mark that says whether a move is good or bad for the metric, so the meaning survives
/// a monochrome terminal (NO_COLOR) and a screen reader: `✓` good, `✗` bad.
pub(crate) fn verdict_mark(good: bool) -> &'static str {
    if good { "✓" } else { "✗" }
}

/// A change as every output writes it (`▲ +4.2%`, `▼ -11.2 pts`), styled by whether it is
/// good for the metric and marked so (`✓ ▲ +4.2%`).
pub(crate) fn change_span(change: Change, direction: Direction, theme: Theme) -> Span<'static> {
    match change.rising() {
        None => Span::styled(change.text(), theme.neutral()),
        Some(rising) => {
            let good = rising == (direction == Direction::HigherIsBetter);
            let style: Style = if good { theme.good() } else { theme.bad() };
            Span::styled(format!("{} {}", verdict_mark(good), change.text()), style)
        }
    }
}
