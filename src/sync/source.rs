//! Finding the exports of each raw table under a source folder.

use std::fs;
use std::path::{Path, PathBuf};

use super::SyncError;
use crate::store::rollup_plan::RAW_INPUTS;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Parquet,
    Csv,
}

impl Format {
    fn of(path: &Path) -> Option<Self> {
        match path.extension()?.to_str()?.to_ascii_lowercase().as_str() {
            "parquet" => Some(Self::Parquet),
            "csv" => Some(Self::Csv),
            _ => None,
        }
    }

    /// The file ending the engine lists a folder by.
    pub fn extension(self) -> &'static str {
        match self {
            Self::Parquet => ".parquet",
            Self::Csv => ".csv",
        }
    }
}

/// One thing the engine reads as a table: a folder of files of one format (read
/// recursively, so day partitions are included), or one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    pub path: PathBuf,
    pub format: Format,
    /// CSV: the header's column names (trimmed, lower-case), the same in every file.
    pub header: Vec<String>,
    /// The files read, sorted.
    pub files: Vec<PathBuf>,
}

/// The exports of one raw table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Input {
    pub table: &'static str,
    pub locations: Vec<Location>,
    pub files: usize,
}

fn unreadable(path: &Path, reason: impl std::fmt::Display) -> SyncError {
    SyncError::Source {
        path: path.to_path_buf(),
        reason: reason.to_string(),
    }
}

/// The exports under `source`: for each raw table, its folder (`source/events/…`) and the
/// files in `source` named as for `kpi import` (`orders_2025-06.csv`).
pub fn discover(source: &Path) -> Result<Vec<Input>, SyncError> {
    let top_files = top_files(source)?;
    let mut out = Vec::new();
    for (table, _) in RAW_INPUTS {
        let mut locations = Vec::new();
        let mut files = 0;
        let folder = source.join(table);
        if folder.is_dir() {
            let mut found = Vec::new();
            walk(&folder, &mut found)?;
            for format in [Format::Parquet, Format::Csv] {
                let of_format: Vec<&PathBuf> = found
                    .iter()
                    .filter(|p| Format::of(p) == Some(format))
                    .collect();
                if of_format.is_empty() {
                    continue;
                }
                let header = common_header(format, &of_format)?;
                files += of_format.len();
                locations.push(Location {
                    path: folder.clone(),
                    format,
                    header,
                    files: of_format.into_iter().cloned().collect(),
                });
            }
        }
        for file in &top_files {
            let named = crate::import::table_for_path(file).is_some_and(|t| t.name == table);
            let Some(format) = Format::of(file).filter(|_| named) else {
                continue;
            };
            locations.push(Location {
                path: file.clone(),
                format,
                header: common_header(format, &[file])?,
                files: vec![file.clone()],
            });
            files += 1;
        }
        if !locations.is_empty() {
            out.push(Input {
                table,
                locations,
                files,
            });
        }
    }
    Ok(out)
}

/// The raw tables whose rows only the engine reads: their rollups reach the store, their
/// rows never do. Every other table of the data contract is small (customers,
/// subscriptions, surveys, spend, tickets, work items, …) and kept whole in the store.
pub const ENGINE_ONLY: [&str; 3] = ["orders", "refunds", "events"];

/// Whether `file` under `source` is an export the engine reads (a raw table's folder, or
/// a file in `source` named as for `kpi import` after one): a change to it changes the
/// rollups; a change to any other export only its table kept whole.
pub fn feeds_the_engine(source: &Path, file: &Path) -> bool {
    table_of(source, file).is_some()
}

/// The raw table the engine reads `file` (under `source`) as, if any: see
/// [`feeds_the_engine`].
pub fn table_of(source: &Path, file: &Path) -> Option<&'static str> {
    let raw = |table: &str| RAW_INPUTS.iter().map(|(t, _)| *t).find(|t| *t == table);
    let relative = file.strip_prefix(source).ok()?;
    let mut parts = relative.components();
    match (parts.next(), parts.next()) {
        (Some(_), None) => crate::import::table_for_path(file).and_then(|t| raw(t.name)),
        (Some(folder), Some(_)) => folder.as_os_str().to_str().and_then(raw),
        _ => None,
    }
}

/// Whether Parquet export `file` may hold a row whose `column` is one of `days` once
/// trimmed, as the engine reads it. Only the file's statistics are read: it holds none
/// when, in every row group, the column's least and greatest values are days written
/// `YYYY-MM-DD` and no day of `days` lies between them. (Bytes compare as text does, so a
/// value with spaces around a day sorts outside two such days unless its day lies
/// between them.) A file without such statistics, or not readable, may hold any day.
pub fn may_hold_days(
    file: &Path,
    column: &str,
    days: &std::collections::BTreeSet<chrono::NaiveDate>,
) -> bool {
    use datafusion::parquet::file::reader::{FileReader, SerializedFileReader};
    let Ok(reader) = fs::File::open(file).map(SerializedFileReader::new) else {
        return true;
    };
    let Ok(reader) = reader else {
        return true;
    };
    let day = |bytes: Option<&[u8]>| {
        let text = std::str::from_utf8(bytes?).ok()?;
        (text.len() == 10)
            .then(|| crate::dates::parse_day(text))
            .flatten()
    };
    reader.metadata().row_groups().iter().any(|group| {
        let chunk = group
            .columns()
            .iter()
            .find(|c| c.column_descr().name().eq_ignore_ascii_case(column));
        let Some(stats) = chunk.and_then(|c| c.statistics()) else {
            return true;
        };
        if !(stats.min_is_exact() && stats.max_is_exact()) {
            return true;
        }
        match (day(stats.min_bytes_opt()), day(stats.max_bytes_opt())) {
            (Some(least), Some(greatest)) => days.range(least..=greatest).next().is_some(),
            _ => true,
        }
    })
}

/// The exports of one table kept whole in the store, imported by `kpi import`'s own
/// pipeline (its formats, validation and rejects).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WholeTable {
    pub table: &'static str,
    pub files: Vec<PathBuf>,
}

/// The formats `kpi import` reads, by file ending.
const IMPORT_ENDINGS: [&str; 6] = ["csv", "tsv", "txt", "ndjson", "jsonl", "json"];

/// The exports of the tables kept whole (every table of the contract but
/// [`ENGINE_ONLY`]'s), in the contract's table order: a folder per table
/// (`subscriptions/…`, read recursively) and the files in `source` named as for
/// `kpi import` (`surveys_2025.csv`). A Parquet file of such a table is an error: the
/// store takes these rows through `kpi import`'s validation, which reads text formats.
pub fn discover_whole(source: &Path) -> Result<Vec<WholeTable>, SyncError> {
    let top_files = top_files(source)?;
    let mut out = Vec::new();
    for spec in crate::store::schema::TABLES {
        if ENGINE_ONLY.contains(&spec.name) {
            continue;
        }
        let mut files = Vec::new();
        let folder = source.join(spec.name);
        if folder.is_dir() {
            walk_files(&folder, &mut files)?;
        }
        files.extend(
            top_files
                .iter()
                .filter(|f| crate::import::table_for_path(f).is_some_and(|t| t.name == spec.name))
                .cloned(),
        );
        let mut kept = Vec::new();
        for file in files {
            match ending(&file).as_deref() {
                Some("parquet") => {
                    return Err(unreadable(
                        &file,
                        format!(
                            "{} is kept whole in the store and imported as `kpi import` \
                             reads it: export it as CSV, NDJSON or JSON, not Parquet",
                            spec.name
                        ),
                    ));
                }
                Some(e) if IMPORT_ENDINGS.contains(&e) => kept.push(file),
                // Top-level files of other endings are not exports (notes, READMEs);
                // inside a table's folder they would be skipped silently.
                _ if file.parent() == Some(source) => {}
                _ => return Err(unreadable(&file, "not a CSV, NDJSON or JSON file")),
            }
        }
        if !kept.is_empty() {
            out.push(WholeTable {
                table: spec.name,
                files: kept,
            });
        }
    }
    Ok(out)
}

/// The data files directly in `source`, sorted.
fn top_files(source: &Path) -> Result<Vec<PathBuf>, SyncError> {
    let mut files: Vec<PathBuf> = fs::read_dir(source)
        .map_err(|e| unreadable(source, e))?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()
        .map_err(|e| unreadable(source, e))?;
    files.retain(|p| p.is_file() && !is_hidden(p));
    files.sort();
    Ok(files)
}

fn ending(path: &Path) -> Option<String> {
    Some(path.extension()?.to_str()?.to_ascii_lowercase())
}

/// Every file under `folder` but the writers' markers, sorted, recursively.
fn walk_files(folder: &Path, found: &mut Vec<PathBuf>) -> Result<(), SyncError> {
    let mut entries: Vec<PathBuf> = fs::read_dir(folder)
        .map_err(|e| unreadable(folder, e))?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()
        .map_err(|e| unreadable(folder, e))?;
    entries.sort();
    for path in entries {
        if is_hidden(&path) {
            continue;
        }
        if path.is_dir() {
            walk_files(&path, found)?;
        } else {
            found.push(path);
        }
    }
    Ok(())
}

/// Dot and underscore files are the writers' markers (`_SUCCESS`, `.crc`), not data.
fn is_hidden(path: &Path) -> bool {
    path.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.starts_with(['.', '_']))
}

/// Every data file under `folder`; a file of another format is an error, since the
/// engine would skip it silently.
fn walk(folder: &Path, found: &mut Vec<PathBuf>) -> Result<(), SyncError> {
    let mut files = Vec::new();
    walk_files(folder, &mut files)?;
    for path in files {
        if Format::of(&path).is_none() {
            return Err(unreadable(&path, "not a Parquet or CSV file"));
        }
        found.push(path);
    }
    Ok(())
}

/// The CSV header all `files` share (empty for Parquet, whose files carry their schema):
/// the engine reads CSV columns by position, so files with other headers cannot share a
/// folder.
fn common_header(format: Format, files: &[&PathBuf]) -> Result<Vec<String>, SyncError> {
    if format != Format::Csv {
        return Ok(Vec::new());
    }
    let mut common: Option<Vec<String>> = None;
    for file in files {
        let header = csv_header(file)?;
        match &common {
            Some(first) if *first != header => {
                return Err(unreadable(
                    file,
                    format!(
                        "its header ({}) differs from the other files of its folder ({})",
                        header.join(","),
                        first.join(",")
                    ),
                ));
            }
            Some(_) => {}
            None => common = Some(header),
        }
    }
    Ok(common.unwrap_or_default())
}

fn csv_header(file: &Path) -> Result<Vec<String>, SyncError> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_path(file)
        .map_err(|e| unreadable(file, e))?;
    let header = reader.headers().map_err(|e| unreadable(file, e))?;
    let names: Vec<String> = header
        .iter()
        .map(|h| h.trim_start_matches('\u{feff}').trim().to_lowercase())
        .collect();
    if names.iter().all(String::is_empty) {
        return Err(unreadable(file, "no header row"));
    }
    Ok(names)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A Parquet file of one text column `day` holding `values`, with or without
    /// statistics.
    fn parquet_of(dir: &Path, name: &str, values: &[&str], statistics: bool) -> PathBuf {
        use datafusion::arrow::array::{ArrayRef, RecordBatch, StringArray};
        use datafusion::parquet::arrow::ArrowWriter;
        use datafusion::parquet::file::properties::{EnabledStatistics, WriterProperties};
        let path = dir.join(name);
        let column: ArrayRef = std::sync::Arc::new(StringArray::from(values.to_vec()));
        let batch = RecordBatch::try_from_iter([("day", column)]).unwrap();
        let properties = WriterProperties::builder()
            .set_statistics_enabled(if statistics {
                EnabledStatistics::Chunk
            } else {
                EnabledStatistics::None
            })
            .build();
        let mut writer = ArrowWriter::try_new(
            fs::File::create(&path).unwrap(),
            batch.schema(),
            Some(properties),
        )
        .unwrap();
        writer.write(&batch).unwrap();
        writer.close().unwrap();
        path
    }

    fn days(list: &[&str]) -> std::collections::BTreeSet<chrono::NaiveDate> {
        list.iter().map(|d| d.parse().unwrap()).collect()
    }

    #[test]
    fn a_parquet_export_holds_no_day_outside_its_statistics_unless_they_are_not_days() {
        let dir = tempfile::tempdir().unwrap();
        let clean = parquet_of(
            dir.path(),
            "clean.parquet",
            &["2026-01-01", "2026-01-03", "2026-01-02"],
            true,
        );
        assert!(may_hold_days(&clean, "day", &days(&["2026-01-02"])));
        assert!(may_hold_days(
            &clean,
            "DAY",
            &days(&["2025-12-01", "2026-01-03"])
        ));
        assert!(!may_hold_days(
            &clean,
            "day",
            &days(&["2026-01-04", "2025-12-31"])
        ));
        assert!(!may_hold_days(&clean, "day", &days(&[])));
        // A day with spaces around it is read as that day: its file is read whatever its
        // least and greatest values.
        for (name, value) in [("trailing", "2026-01-09 "), ("leading", " 2026-01-09")] {
            let spaced = parquet_of(
                dir.path(),
                &format!("{name}.parquet"),
                &["2026-01-01", value],
                true,
            );
            assert!(
                may_hold_days(&spaced, "day", &days(&["2026-01-09"])),
                "{value:?}"
            );
        }
        let trailing_inside = parquet_of(
            dir.path(),
            "inside.parquet",
            &["2026-01-01", "2026-01-02 ", "2026-01-03"],
            true,
        );
        assert!(may_hold_days(
            &trailing_inside,
            "day",
            &days(&["2026-01-02"])
        ));
        assert!(!may_hold_days(
            &trailing_inside,
            "day",
            &days(&["2026-01-05"])
        ));
        // Without statistics, or without the column, any day.
        let bare = parquet_of(dir.path(), "bare.parquet", &["2026-01-01"], false);
        assert!(may_hold_days(&bare, "day", &days(&["2026-03-01"])));
        assert!(may_hold_days(&clean, "order_date", &days(&["2026-03-01"])));
        assert!(may_hold_days(
            &dir.path().join("missing.parquet"),
            "day",
            &days(&["2026-03-01"])
        ));
    }

    #[test]
    fn a_folder_with_a_file_of_another_format_is_one_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let events = dir.path().join("events").join("date=2025-01-01");
        fs::create_dir_all(&events).unwrap();
        fs::write(events.join("part-0.csv"), "user_id,ts,day,name\n").unwrap();
        fs::write(events.join("part-1.json"), "{}").unwrap();
        let err = discover(dir.path()).unwrap_err().to_string();
        assert!(
            err.contains("part-1.json") && err.contains("not a Parquet or CSV"),
            "{err}"
        );
    }

    #[test]
    fn folders_and_files_named_as_for_import_are_found_per_table() {
        let dir = tempfile::tempdir().unwrap();
        let orders = dir.path().join("orders").join("date=2025-01-01");
        fs::create_dir_all(&orders).unwrap();
        fs::write(orders.join("a.csv"), "order_id,Customer_ID\n").unwrap();
        fs::write(orders.join("b.csv"), "order_id,customer_id\n").unwrap();
        fs::write(orders.join("_SUCCESS"), "").unwrap();
        fs::write(dir.path().join("orders_2025-02.csv"), "order_id\n").unwrap();
        fs::write(dir.path().join("notes.txt"), "x").unwrap();
        let inputs = discover(dir.path()).unwrap();
        assert_eq!(inputs.len(), 1);
        assert_eq!(inputs[0].table, "orders");
        assert_eq!(inputs[0].files, 3);
        assert_eq!(inputs[0].locations[0].header, ["order_id", "customer_id"]);
        assert_eq!(inputs[0].locations[1].header, ["order_id"]);
    }

    #[test]
    fn the_engines_exports_are_told_from_the_tables_kept_whole() {
        let source = Path::new("/data/exports");
        for (file, engine) in [
            ("events/date=2026-11-30/part-0.parquet", true),
            ("customers/part-0.csv", true),
            ("orders_2025-06.csv", true),
            ("customers.csv", true),
            ("tickets.csv", false),
            ("subscriptions/region=eu/part-0.csv", false),
            ("surveys_2026.json", false),
        ] {
            assert_eq!(
                feeds_the_engine(source, &source.join(file)),
                engine,
                "{file}"
            );
        }
    }

    #[test]
    fn csv_files_of_one_folder_with_different_headers_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let orders = dir.path().join("orders");
        fs::create_dir_all(&orders).unwrap();
        fs::write(orders.join("a.csv"), "order_id,customer_id\n").unwrap();
        fs::write(orders.join("b.csv"), "customer_id,order_id\n").unwrap();
        let err = discover(dir.path()).unwrap_err().to_string();
        assert!(err.contains("b.csv") && err.contains("differs"), "{err}");
    }
}
