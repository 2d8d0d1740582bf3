//! `y` and `e`: what the cockpit shows, as text to paste and as a file to keep.
//!
//! Both start from the same [`Table`] of the current pane, built from `&App` alone (no
//! I/O), so the clipboard and the files cannot disagree with the screen. Numbers are
//! written as numbers (a spreadsheet can sum them) and text through `present`, which
//! cleans it and defuses spreadsheet formulas.

use std::path::{Path, PathBuf};

use crate::metrics::{Series, Unit};
use crate::present::{self, clean};

use super::app::{App, Tab};

/// One cell of an exported table.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Text(String),
    /// A value in its unit: a plain number in CSV, the unit's reading in markdown.
    Number(f64, Unit),
    Empty,
}

/// A pane's data as rows under named columns, with what it is for the file's name.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    /// `trends-net_revenue`, `alerts`: part of the exported file's name.
    pub name: String,
    /// A line saying what the table holds (the clipboard's first line).
    pub title: String,
    pub headers: Vec<&'static str>,
    pub rows: Vec<Vec<Cell>>,
}

/// The two file formats `e` and `E` write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    Markdown,
}

impl Format {
    pub fn extension(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Markdown => "md",
        }
    }
}

fn series_rows(series: &Series, unit: Unit) -> Vec<Vec<Cell>> {
    series
        .points
        .iter()
        .map(|p| {
            vec![
                Cell::Text(p.period.label()),
                p.value
                    .filter(|v| v.is_finite())
                    .map_or(Cell::Empty, |v| Cell::Number(v, unit)),
                Cell::Text(if p.partial { "so far" } else { "" }.into()),
            ]
        })
        .collect()
}

/// The metric `y` and `e` take on the Overview, Trends and Drivers panes, with the series
/// shown (a chosen segment's in Trends).
fn focused_metric(app: &App) -> Option<(&crate::metrics::MetricDef, &Series)> {
    let metric = match app.tab {
        Tab::Overview => {
            let id = app.snapshot.config.core_kpis.get(app.overview.selected)?;
            app.snapshot.metric(id)?
        }
        Tab::Trends => app.trend_metric()?,
        Tab::Drivers => app.driver_kpi()?,
        _ => return None,
    };
    let series = match (&app.trends.segment, app.tab) {
        (Some(segment), Tab::Trends) if segment.metric == metric.id => segment,
        _ => app.snapshot.series(&metric.id, app.grain)?,
    };
    Some((metric, series))
}

/// The focused metric's series: what `y` copies on the Overview, Trends and Drivers.
pub fn metric_table(app: &App) -> Option<Table> {
    let (metric, series) = focused_metric(app)?;
    let segment = series
        .segment
        .as_ref()
        .map(|s| format!(" {}={}", clean(&s.dimension), clean(&s.value)))
        .unwrap_or_default();
    Some(Table {
        name: format!("{}-{}", app.tab.title().to_lowercase(), clean(&metric.id)),
        title: format!(
            "{}{segment} by {} ({})",
            clean(&metric.name),
            app.grain,
            present::unit_label(metric.unit, &app.snapshot.config.currency)
        ),
        headers: vec!["period", "value", "note"],
        rows: series_rows(series, metric.unit),
    })
}

/// The selected alert as the sentence `kpi check` prints: what `y` copies in Alerts.
pub fn alert_text(app: &App) -> Option<String> {
    let alert = app.selected_alert()?;
    Some(crate::alerts::render::alert_line(
        alert,
        &app.snapshot.config.currency,
    ))
}

/// The current pane's data, as `e` writes it.
pub fn pane_table(app: &App) -> Table {
    match app.tab {
        Tab::Overview => overview_table(app),
        Tab::Trends | Tab::Drivers => metric_table(app).unwrap_or_else(|| empty(app)),
        Tab::Cohorts => cohort_table(app),
        Tab::Alerts => alerts_table(app),
        Tab::Data => data_table(app),
    }
}

fn empty(app: &App) -> Table {
    Table {
        name: app.tab.title().to_lowercase(),
        title: format!("{} (nothing to show)", app.tab.title()),
        headers: Vec::new(),
        rows: Vec::new(),
    }
}

fn overview_table(app: &App) -> Table {
    let rows = app
        .snapshot
        .config
        .core_kpis
        .iter()
        .filter_map(|id| {
            let metric = app.snapshot.metric(id)?;
            let series = app.snapshot.series(id, app.grain)?;
            let (latest, previous) = super::view::latest_pair(series);
            let number = |p: Option<&crate::metrics::Point>| {
                p.and_then(|p| p.value)
                    .map_or(Cell::Empty, |v| Cell::Number(v, metric.unit))
            };
            let change = crate::present::Change::between(
                metric.unit,
                previous.and_then(|p| p.value),
                latest.and_then(|p| p.value),
            )
            .map_or(Cell::Empty, |c| Cell::Text(c.text()));
            Some(vec![
                Cell::Text(metric.id.to_string()),
                Cell::Text(metric.name.to_string()),
                Cell::Text(latest.map(|p| p.period.label()).unwrap_or_default()),
                number(latest),
                number(previous),
                change,
            ])
        })
        .collect();
    Table {
        name: "overview".into(),
        title: format!("Core KPIs by {}", app.grain),
        headers: vec!["metric", "name", "period", "value", "previous", "change"],
        rows,
    }
}

fn cohort_table(app: &App) -> Table {
    let Some(matrix) = app.cohort_matrix() else {
        return empty(app);
    };
    let columns = matrix
        .rows
        .iter()
        .map(|r| r.cells.len().max(r.forecast.len()))
        .max()
        .unwrap_or(0);
    const MONTHS: [&str; 37] = [
        "+0", "+1", "+2", "+3", "+4", "+5", "+6", "+7", "+8", "+9", "+10", "+11", "+12", "+13",
        "+14", "+15", "+16", "+17", "+18", "+19", "+20", "+21", "+22", "+23", "+24", "+25", "+26",
        "+27", "+28", "+29", "+30", "+31", "+32", "+33", "+34", "+35", "+36",
    ];
    let columns = columns.min(MONTHS.len());
    let mut headers = vec!["cohort", "size"];
    headers.extend(&MONTHS[..columns]);
    let rows = matrix
        .rows
        .iter()
        .map(|row| {
            let mut cells = vec![
                Cell::Text(row.cohort.clone()),
                Cell::Number(row.size as f64, Unit::Count),
            ];
            // Observed shares only: a forecast is not data to keep.
            cells.extend((0..columns).map(|k| {
                row.cells
                    .get(k)
                    .copied()
                    .flatten()
                    .filter(|v| v.is_finite())
                    .map_or(Cell::Empty, |share| {
                        Cell::Number(share * 100.0, Unit::Percent)
                    })
            }));
            cells
        })
        .collect();
    Table {
        name: "cohorts".into(),
        title: format!(
            "Cohorts — {} (% of each cohort, observed)",
            super::app::variant_name(matrix.variant)
        ),
        headers,
        rows,
    }
}

fn alerts_table(app: &App) -> Table {
    let rows = app
        .alert_order()
        .into_iter()
        .map(|a| {
            vec![
                Cell::Text(present::tier_mark(a.tier).into()),
                Cell::Text(a.metric.clone()),
                Cell::Text(
                    a.segment
                        .as_ref()
                        .map(|s| format!("{}={}", s.dimension, s.value))
                        .unwrap_or_default(),
                ),
                Cell::Text(a.period.clone()),
                Cell::Number(a.value, a.unit),
                Cell::Number(a.rolling_mean, a.unit),
                Cell::Number(a.change_pct, Unit::Percent),
                Cell::Text(if a.good { "good" } else { "bad" }.into()),
                Cell::Text(a.owner.clone().unwrap_or_default()),
                Cell::Text(a.follow_up.clone()),
            ]
        })
        .collect();
    Table {
        name: "alerts".into(),
        title: "Alerts".into(),
        headers: vec![
            "tier",
            "metric",
            "segment",
            "period",
            "value",
            "rolling_mean",
            "change_pct",
            "verdict",
            "owner",
            "follow_up",
        ],
        rows,
    }
}

fn data_table(app: &App) -> Table {
    let date = |d: Option<chrono::NaiveDate>| d.map_or(Cell::Empty, |d| Cell::Text(d.to_string()));
    let rows = app
        .snapshot
        .data
        .tables
        .iter()
        .map(|t| {
            vec![
                Cell::Text(t.table.clone()),
                Cell::Number(t.rows as f64, Unit::Count),
                date(t.first_date),
                date(t.last_date),
                Cell::Text(t.last_import.clone().unwrap_or_default()),
            ]
        })
        .collect();
    Table {
        name: "data".into(),
        title: "Tables in the store".into(),
        headers: vec!["table", "rows", "first_date", "last_date", "last_import"],
        rows,
    }
}

/// A number as CSV and the clipboard write it: full precision, no grouping or unit.
fn plain_number(value: f64) -> String {
    if value.fract() == 0.0 && value.abs() < 1e15 {
        format!("{value:.0}")
    } else {
        format!("{value}")
    }
}

impl Table {
    /// CSV: RFC 4180 quoting, text cleaned and defused (`present::csv_text`).
    pub fn to_csv(&self) -> String {
        let mut writer = csv::Writer::from_writer(Vec::new());
        let write = |writer: &mut csv::Writer<Vec<u8>>, record: Vec<String>| {
            // Writing to memory cannot fail.
            let _ = writer.write_record(record);
        };
        write(
            &mut writer,
            self.headers.iter().map(|h| (*h).to_string()).collect(),
        );
        for row in &self.rows {
            let record = row
                .iter()
                .map(|cell| match cell {
                    Cell::Text(text) => present::csv_text(text).into_owned(),
                    Cell::Number(value, _) => plain_number(*value),
                    Cell::Empty => String::new(),
                })
                .collect();
            write(&mut writer, record);
        }
        let bytes = writer.into_inner().unwrap_or_default();
        String::from_utf8_lossy(&bytes).into_owned()
    }

    /// A markdown table under a heading; values in their unit as the screen reads them.
    pub fn to_markdown(&self, currency: &str) -> String {
        let cell = |c: &Cell| match c {
            Cell::Text(text) => clean(text).replace('|', "\\|"),
            Cell::Number(value, unit) => present::value(*value, *unit, currency),
            Cell::Empty => String::new(),
        };
        let mut out = format!("## {}\n\n", clean(&self.title));
        out.push_str(&format!("| {} |\n", self.headers.join(" | ")));
        out.push_str(&format!(
            "|{}\n",
            self.headers.iter().map(|_| "---|").collect::<String>()
        ));
        for row in &self.rows {
            let cells: Vec<String> = row.iter().map(cell).collect();
            out.push_str(&format!("| {} |\n", cells.join(" | ")));
        }
        out
    }

    /// Tab-separated text under a title line: pastes as columns into a spreadsheet and
    /// reads as a list in a chat message.
    pub fn to_clipboard(&self) -> String {
        let mut out = format!("{}\n", clean(&self.title));
        for row in &self.rows {
            let cells: Vec<String> = row
                .iter()
                .map(|c| match c {
                    Cell::Text(text) => clean(text).into_owned(),
                    Cell::Number(value, _) => plain_number(*value),
                    Cell::Empty => String::new(),
                })
                .collect();
            out.push_str(cells.join("\t").trim_end());
            out.push('\n');
        }
        out
    }

    /// How many rows, for the status line.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }
}

/// The OSC 52 sequence that puts `text` on the clipboard of the terminal the cockpit is
/// drawn in — the local one too over SSH, and through tmux with `set-clipboard on`.
/// The text is base64, so nothing in it reaches the terminal as a control character.
pub fn osc52(text: &str) -> String {
    use base64::Engine;
    let encoded = base64::engine::general_purpose::STANDARD.encode(text.as_bytes());
    format!("\x1b]52;c;{encoded}\x07")
}

/// A file name beside the store for an export of the table named `name` at `stamp`
/// (`20250618-091203`); anything but letters, digits, `-` and `_` becomes `_`.
pub fn file_name(name: &str, stamp: &str, format: Format) -> String {
    let name: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("kpi-{name}-{stamp}.{}", format.extension())
}

/// Writes `contents` to `dir/name`, or `name` with `-2`, `-3` … before its extension when
/// a file of that name exists: an export never overwrites anything. Returns the path.
pub fn write_new(dir: &Path, name: &str, contents: &str) -> std::io::Result<PathBuf> {
    use std::io::Write;
    let (stem, extension) = name.rsplit_once('.').unwrap_or((name, ""));
    for attempt in 1..1000 {
        let candidate = if attempt == 1 {
            name.to_string()
        } else {
            format!("{stem}-{attempt}.{extension}")
        };
        let path = dir.join(candidate);
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
        {
            Ok(mut file) => {
                file.write_all(contents.as_bytes())?;
                file.sync_all()?;
                return Ok(path);
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e),
        }
    }
    Err(std::io::Error::new(
        std::io::ErrorKind::AlreadyExists,
        format!(
            "999 exports named {name} already exist in {}",
            dir.display()
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_export_never_overwrites_an_earlier_one() {
        let dir = tempfile::tempdir().unwrap();
        let first = write_new(dir.path(), "kpi-alerts-1.csv", "a").unwrap();
        let second = write_new(dir.path(), "kpi-alerts-1.csv", "b").unwrap();
        assert_ne!(first, second);
        assert!(second.ends_with("kpi-alerts-1-2.csv"), "{second:?}");
        assert_eq!(std::fs::read_to_string(first).unwrap(), "a");
        assert_eq!(std::fs::read_to_string(second).unwrap(), "b");
    }

    #[test]
    fn csv_cells_from_data_are_defused_and_numbers_stay_numbers() {
        let table = Table {
            name: "t".into(),
            title: "t".into(),
            headers: vec!["segment", "value"],
            rows: vec![vec![
                Cell::Text("=HYPERLINK(\"x\")\u{1b}[31m".into()),
                Cell::Number(-42.5, Unit::Currency),
            ]],
        };
        let csv = table.to_csv();
        assert_eq!(csv, "segment,value\n\"'=HYPERLINK(\"\"x\"\")[31m\",-42.5\n");
        assert!(table.to_markdown("USD").contains("| -$42.50 |"));
    }

    #[test]
    fn osc52_carries_the_text_as_base64() {
        assert_eq!(osc52("hi\n"), "\x1b]52;c;aGkK\x07");
    }
}
