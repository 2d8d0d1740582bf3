//! Data: what the store holds (rows, date range, freshness per table), the import log,
//! the rejected rows with their reasons, and the watched folder's state.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Cell, Paragraph, Row, Table, TableState, Wrap};

use super::super::app::{App, DataSection};
use super::super::mouse::{Hits, ListId};
use super::panel;
use crate::present::{self, clean};
use crate::watch::FileState;

fn section_block(app: &App, section: DataSection, title: &str) -> Block<'static> {
    let block = panel(title, app.theme);
    if app.data.section == section {
        super::focused(block, app.theme)
    } else {
        block
    }
}

fn selected(app: &App, section: DataSection) -> Option<usize> {
    let index = DataSection::ALL.iter().position(|s| *s == section)?;
    (app.data.section == section && app.data_rows(section) > 0).then(|| app.data.selected[index])
}

/// The clickable rows of a section's table drawn in `inner`, below its one-line header.
fn table_rows(
    hits: &mut Hits,
    inner: Rect,
    state: &TableState,
    count: usize,
    section: DataSection,
) {
    let rows = Rect {
        y: inner.y.saturating_add(1),
        height: inner.height.saturating_sub(1),
        ..inner
    };
    hits.rows(rows, state.offset(), count, ListId::Data(section));
}

pub fn draw(frame: &mut Frame, area: Rect, app: &App, hits: &mut Hits) {
    let data = &app.snapshot.data;
    // Each section takes what its rows need, up to a share of the pane; rejects get the rest.
    let rows = |n: usize| {
        u16::try_from(n.max(1))
            .unwrap_or(u16::MAX)
            .saturating_add(3)
    };
    let tables_height = rows(data.tables.len()).min(area.height / 3).max(4);
    let imports_height = rows(data.imports.len()).min(area.height / 4).max(4);
    let watch_lines = watch_lines(app);
    let [watch, tables, imports, rejects] = Layout::vertical([
        Constraint::Length(u16::try_from(watch_lines.len()).unwrap_or(1)),
        Constraint::Length(tables_height),
        Constraint::Length(imports_height),
        Constraint::Min(5),
    ])
    .areas(area);
    frame.render_widget(Paragraph::new(watch_lines), watch);
    tables_table(frame, tables, app, hits);
    imports_table(frame, imports, app, hits);
    rejects_table(frame, rejects, app, hits);
}

/// Most files with a problem listed under the watched folder's line.
const WATCH_PROBLEMS_SHOWN: usize = 3;

/// The watched folder's line, then its failed and deleted files.
fn watch_lines(app: &App) -> Vec<Line<'static>> {
    let theme = app.theme;
    let keys = Span::styled("  ←→ section · ↑↓ row · Enter details", theme.dim());
    let Some(live) = &app.live else {
        return vec![Line::from(vec![
            Span::styled("watched folder: none (kpi --watch DIR)", theme.dim()),
            keys,
        ])];
    };
    let state = &live.state;
    let gone = state
        .files
        .values()
        .filter(|f| f.state == FileState::Gone)
        .count();
    let mut head = vec![
        Span::styled("watched folder ", theme.dim()),
        Span::styled(
            clean(&state.dir.display().to_string()).into_owned(),
            theme.heading(),
        ),
        Span::raw(format!(
            " · {} files · {} imports",
            state.files.len() - gone,
            state.imports
        )),
    ];
    if let Some(at) = &live.last_update {
        head.push(Span::raw(format!(" · last update {at}")));
    }
    head.push(keys);
    let mut lines = vec![Line::from(head)];
    if let Some((file, at)) = &live.importing {
        lines.push(Line::from(Span::styled(
            format!(
                "  importing {}: {}% · {} rows · {:.0} of {:.0} MB",
                clean(file),
                at.bytes_done.min(at.bytes_total) * 100 / at.bytes_total.max(1),
                at.rows,
                at.bytes_done as f64 / 1e6,
                at.bytes_total as f64 / 1e6
            ),
            theme.accent(),
        )));
    }
    // What needs attention first: files failing now, then skipped and deleted ones.
    let mut problems: Vec<(u8, Line<'static>)> = state
        .files
        .iter()
        .filter_map(|(path, file)| {
            let name = file_name(&path.to_string_lossy());
            match &file.state {
                FileState::Retrying {
                    reason,
                    attempt,
                    next_retry,
                } => Some((
                    0,
                    Line::from(vec![
                        Span::styled("  ↻ ", theme.bad()),
                        Span::styled(name, theme.bad()),
                        Span::raw(format!(
                            ": pending, attempt {} at {next_retry} (last failure: {})",
                            attempt + 1,
                            clean(reason)
                        )),
                    ]),
                )),
                FileState::Failed { reason } => Some((
                    1,
                    Line::from(vec![
                        Span::styled("  ‼ ", theme.bad()),
                        Span::styled(name, theme.bad()),
                        Span::raw(format!(": {}", clean(reason))),
                    ]),
                )),
                FileState::Skipped { reason } => Some((
                    2,
                    Line::from(Span::styled(
                        format!("  · {name}: {}", clean(reason)),
                        theme.dim(),
                    )),
                )),
                FileState::Gone => Some((
                    3,
                    Line::from(Span::styled(
                        format!("  − {name}: gone from the folder (its rows stay)"),
                        theme.dim(),
                    )),
                )),
                FileState::Imported { .. } => None,
            }
        })
        .collect();
    problems.sort_by_key(|(rank, _)| *rank);
    lines.extend(
        problems
            .into_iter()
            .take(WATCH_PROBLEMS_SHOWN)
            .map(|(_, line)| line),
    );
    // Where newly opened alerts go while the folder is watched; URLs redacted.
    for destination in crate::notify::describe_destinations(&app.snapshot.config) {
        lines.push(Line::from(vec![
            Span::styled("  notify → ", theme.dim()),
            Span::raw(destination),
        ]));
    }
    lines
}

/// Which fact sets the reference date: ` · as of 2018-09-15 (subscriptions.end_date)`.
fn reference_text(app: &App) -> String {
    let (Some(as_of), Some(latest)) = (app.snapshot.as_of, app.snapshot.data.reference) else {
        return String::new();
    };
    if latest.date == as_of {
        format!(
            " · as of {as_of} (latest {}.{})",
            latest.table, latest.column
        )
    } else {
        format!(
            " · as of {as_of} (--as-of; latest fact {} in {}.{})",
            latest.date, latest.table, latest.column
        )
    }
}

fn tables_table(frame: &mut Frame, area: Rect, app: &App, hits: &mut Hits) {
    let theme = app.theme;
    let block = section_block(
        app,
        DataSection::Tables,
        &format!(
            "Tables ({}){}",
            app.snapshot.data.tables.len(),
            reference_text(app)
        ),
    );
    let tables = &app.snapshot.data.tables;
    if tables.iter().all(|t| t.rows == 0) {
        frame.render_widget(
            Paragraph::new(vec![
                Line::from("store is empty — no data, import orders to start:"),
                Line::from(Span::styled(
                    "kpi import orders.csv customers.csv events.ndjson …",
                    theme.heading(),
                )),
            ])
            .block(block),
            area,
        );
        return;
    }
    let header =
        Row::new(["table", "rows", "from", "to", "fresh", "last import"]).style(theme.heading());
    let rows: Vec<Row> = tables
        .iter()
        .map(|t| {
            let fresh = t.last_date.map_or_else(
                || Cell::from("—"),
                |d| {
                    let age = (app.today - d).num_days();
                    if age > 2 {
                        Cell::from(Span::styled(format!("! {age} d"), theme.bad()))
                    } else {
                        Cell::from(format!("{age} d"))
                    }
                },
            );
            let date =
                |d: Option<chrono::NaiveDate>| d.map_or_else(|| "—".into(), |d| d.to_string());
            let row_style = if t.rows == 0 {
                theme.dim()
            } else {
                theme.text()
            };
            Row::new(vec![
                Cell::from(clean(&t.table).into_owned()),
                Cell::from(present::grouped(t.rows as f64, 0)),
                Cell::from(date(t.first_date)),
                Cell::from(date(t.last_date)),
                fresh,
                Cell::from(
                    t.last_import
                        .as_deref()
                        .map_or_else(|| "never".into(), |s| clean(s).into_owned()),
                ),
            ])
            .style(row_style)
        })
        .collect();
    let table = Table::new(
        rows,
        [
            Constraint::Length(13),
            Constraint::Length(11),
            Constraint::Length(10),
            Constraint::Length(10),
            Constraint::Length(6),
            Constraint::Min(10),
        ],
    )
    .header(header)
    .block(block)
    .row_highlight_style(theme.selected());
    let mut state = TableState::default().with_selected(selected(app, DataSection::Tables));
    frame.render_stateful_widget(table, area, &mut state);
    table_rows(
        hits,
        super::inner_of(area),
        &state,
        app.data_rows(DataSection::Tables),
        DataSection::Tables,
    );
}

fn imports_table(frame: &mut Frame, area: Rect, app: &App, hits: &mut Hits) {
    let theme = app.theme;
    let block = section_block(
        app,
        DataSection::Imports,
        &format!(
            "Import log ({}, newest first)",
            app.snapshot.data.imports.len()
        ),
    );
    let imports = &app.snapshot.data.imports;
    if imports.is_empty() {
        frame.render_widget(
            Paragraph::new("no imports yet — kpi import FILE… records every file here")
                .style(theme.dim())
                .block(block),
            area,
        );
        return;
    }
    let header = Row::new([
        "when", "file", "table", "read", "upserted", "rejected", "ms",
    ])
    .style(theme.heading());
    let rows: Vec<Row> = imports
        .iter()
        .map(|i| {
            let status = if i.ok {
                Cell::from(present::grouped(i.rows_rejected as f64, 0))
            } else {
                Cell::from(Span::styled("‼ failed", theme.strong()))
            };
            let rejected_style = if i.rows_rejected > 0 {
                theme.mild()
            } else {
                theme.text()
            };
            Row::new(vec![
                Cell::from(short_time(&i.imported_at)),
                Cell::from(file_name(&i.path)),
                Cell::from(
                    i.table
                        .as_deref()
                        .map_or_else(|| "—".into(), |t| clean(t).into_owned()),
                ),
                Cell::from(present::grouped(i.rows_read as f64, 0)),
                Cell::from(present::grouped(i.rows_upserted as f64, 0)),
                status.style(rejected_style),
                Cell::from(i.duration_ms.to_string()),
            ])
        })
        .collect();
    let table = Table::new(
        rows,
        [
            Constraint::Length(11),
            Constraint::Min(18),
            Constraint::Length(10),
            Constraint::Length(8),
            Constraint::Length(8),
            Constraint::Length(8),
            Constraint::Length(6),
        ],
    )
    .header(header)
    .block(block)
    .row_highlight_style(theme.selected());
    let mut state = TableState::default().with_selected(selected(app, DataSection::Imports));
    frame.render_stateful_widget(table, area, &mut state);
    table_rows(
        hits,
        super::inner_of(area),
        &state,
        app.data_rows(DataSection::Imports),
        DataSection::Imports,
    );
    if app.data.detail && app.data.section == DataSection::Imports {
        import_detail(frame, area, app);
        // The details lie over the rows: a click there reaches nothing below.
        hits.cover(area);
    }
}

fn import_detail(frame: &mut Frame, area: Rect, app: &App) {
    let Some(entry) = app.snapshot.data.imports.get(app.data.selected[1]) else {
        return;
    };
    let mut lines = vec![
        Line::from(format!("file {}", clean(&entry.path))),
        Line::from(format!(
            "{} bytes · {} read · {} upserted · {} rejected · {} ms",
            present::grouped(entry.size as f64, 0),
            entry.rows_read,
            entry.rows_upserted,
            entry.rows_rejected,
            entry.duration_ms
        )),
    ];
    if let Some(err) = &entry.error {
        lines.push(Line::from(Span::styled(
            format!("‼ {}", clean(err)),
            app.theme.strong(),
        )));
    }
    let popup = super::centered(area, area.width.saturating_sub(4), 5);
    frame.render_widget(ratatui::widgets::Clear, popup);
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(panel("Import · Esc closes", app.theme)),
        popup,
    );
}

/// `2025-06-18T09:12:03Z` → `06-18 09:12`: the log is newest first, the year rarely matters.
fn short_time(rfc3339: &str) -> String {
    chrono::DateTime::parse_from_rfc3339(rfc3339).map_or_else(
        |_| clean(rfc3339).into_owned(),
        |t| t.format("%m-%d %H:%M").to_string(),
    )
}

fn file_name(path: &str) -> String {
    let name = std::path::Path::new(path)
        .file_name()
        .map_or_else(|| path.to_string(), |n| n.to_string_lossy().into_owned());
    clean(&name).into_owned()
}

fn rejects_table(frame: &mut Frame, area: Rect, app: &App, hits: &mut Hits) {
    let theme = app.theme;
    let rejects = app.filtered_rejects();
    // What the store holds, not the sum of the import log: a file read whole again
    // replaces its rejects, so its imports' counts would add up twice.
    let total = app.snapshot.data.rejected_rows;
    let mut title = format!(
        "Rejected rows ({}) and why",
        total.max(app.snapshot.data.rejects.len() as u64)
    );
    super::filter_title(&mut title, &app.data.filter, app.data.filtering);
    let block = section_block(app, DataSection::Rejects, &title);
    if rejects.is_empty() {
        let text = if app.data.filter.is_empty() {
            "no rejected rows"
        } else {
            "no rejected row matches the filter · Esc clears it"
        };
        frame.render_widget(Paragraph::new(text).style(theme.dim()).block(block), area);
        return;
    }
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let [list_area, raw_area] =
        Layout::vertical([Constraint::Min(2), Constraint::Length(2)]).areas(inner);
    let header = Row::new(["file:line", "column", "reason"]).style(theme.heading());
    let places: Vec<String> = rejects
        .iter()
        .map(|r| format!("{}:{}", file_name(&r.path), r.line))
        .collect();
    let place_width = places
        .iter()
        .map(|p| p.chars().count())
        .max()
        .unwrap_or(9)
        .clamp(9, 40);
    let rows: Vec<Row> = rejects
        .iter()
        .zip(places)
        .map(|(r, place)| {
            Row::new(vec![
                Cell::from(place),
                Cell::from(
                    r.column
                        .as_deref()
                        .map_or_else(|| "—".into(), |c| clean(c).into_owned()),
                ),
                Cell::from(Span::styled(clean(&r.reason).into_owned(), theme.mild())),
            ])
        })
        .collect();
    let table = Table::new(
        rows,
        [
            Constraint::Length(u16::try_from(place_width).unwrap_or(40)),
            Constraint::Length(14),
            Constraint::Min(10),
        ],
    )
    .header(header)
    .row_highlight_style(theme.selected());
    let mut state = TableState::default().with_selected(selected(app, DataSection::Rejects));
    frame.render_stateful_widget(table, list_area, &mut state);
    table_rows(hits, list_area, &state, rejects.len(), DataSection::Rejects);
    let current = rejects.get(app.data.selected[2]).unwrap_or(&rejects[0]);
    let current = *current;
    frame.render_widget(
        Paragraph::new(vec![Line::from(vec![
            Span::styled("row ", theme.dim()),
            Span::raw(clean(&current.raw).into_owned()),
        ])])
        .wrap(Wrap { trim: false }),
        raw_area,
    );
    if app.data.detail && app.data.section == DataSection::Rejects {
        let popup = super::centered(area, area.width.saturating_sub(4), 7);
        hits.cover(popup);
        frame.render_widget(ratatui::widgets::Clear, popup);
        frame.render_widget(
            Paragraph::new(vec![
                Line::from(format!(
                    "file {} line {}",
                    clean(&current.path),
                    current.line
                )),
                Line::from(format!(
                    "column {}",
                    current
                        .column
                        .as_deref()
                        .map_or_else(|| "—".into(), |c| clean(c).into_owned())
                )),
                Line::from(format!("reason {}", clean(&current.reason))),
                Line::from(format!("row {}", clean(&current.raw))),
            ])
            .wrap(Wrap { trim: false })
            .block(panel("Rejected row · Esc closes", theme)),
            popup,
        );
    }
}
