//! Readers (CSV, NDJSON, JSON) → validated typed rows → store. No UI here.
//!
//! `import_file` is the one entry point (the CLI, the watcher and the demo build call
//! it): it picks the table and the reader, validates every field against
//! `store::schema`, upserts the good rows and records the bad ones, all in one
//! transaction per file, and remembers where it stopped so a file that only grew is
//! read from there next time.

pub mod fields;

mod csv_reader;
mod earlier;
#[cfg(test)]
mod fuzz;
mod json_array;
mod ndjson;
mod rejects;
mod source;
mod validate;

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::config::Config;
use crate::store::Store;
use crate::store::import_log::{ImportMark, ImportTotals};
use crate::store::rollup::Touched;
use crate::store::schema::{self, TableSpec};
use crate::store::upsert::{Layout, Outcome};

use rejects::RejectsFile;
use source::{Binder, Item};

/// What an import may do.
#[derive(Debug, Clone, Default)]
pub struct ImportOptions {
    /// Import into this table instead of the one named by the file.
    pub table: Option<String>,
    /// Reject the whole file on its first bad row.
    pub strict: bool,
    /// Header aliases and the time zone come from here.
    pub config: Config,
    /// The file is finished (named on the command line): a last line without its
    /// newline is imported too. When false (the watcher's case: a file may still be
    /// being written), such a line waits until its newline arrives.
    pub file_is_complete: bool,
}

/// The one-line outcome of importing one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportReport {
    pub path: PathBuf,
    pub table: String,
    pub rows_read: u64,
    /// Rows inserted, or stored rows whose values changed.
    pub rows_upserted: u64,
    /// Rows already stored with the same values (re-imports).
    pub rows_unchanged: u64,
    pub rows_rejected: u64,
    /// The file only grew since its last import and was read from where that stopped.
    pub tail: bool,
    pub duration: Duration,
    /// Columns the contract does not name, ignored (tables without attributes).
    pub ignored_columns: Vec<String>,
    /// Where the rejected rows of this import were written (see `rejects_path`).
    pub rejects_file: Option<PathBuf>,
    /// Bytes of an unfinished last line left for a later import.
    pub held_back_bytes: u64,
    /// Problems that did not stop the import (e.g. the rejects file could not be moved).
    pub warnings: Vec<String>,
    /// The calendar days, per table, of every row this import inserted or changed
    /// (old and new days of a changed row); their rollups were refreshed before commit.
    pub touched: Touched,
}

/// The one line per file that `kpi import` and the watcher print:
/// `exports/orders.csv: orders, 1000 read, 990 upserted, 2 rejected, 0.12 s (…)`
impl std::fmt::Display for ImportReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let report = self;
        let mut notes = Vec::new();
        if report.tail {
            notes.push("new rows only".to_string());
        }
        if report.rows_unchanged > 0 {
            notes.push(format!("{} unchanged", report.rows_unchanged));
        }
        if !report.ignored_columns.is_empty() {
            notes.push(format!(
                "ignored columns: {}",
                report.ignored_columns.join(", ")
            ));
        }
        if let Some(rejects) = &report.rejects_file {
            notes.push(format!("rejects: {}", rejects.display()));
        }
        if report.held_back_bytes > 0 {
            notes.push(format!(
                "{} bytes of an unfinished last line left for later",
                report.held_back_bytes
            ));
        }
        notes.extend(report.warnings.iter().cloned());
        let notes = if notes.is_empty() {
            String::new()
        } else {
            format!(" ({})", notes.join("; "))
        };
        write!(
            f,
            "{}: {}, {} read, {} upserted, {} rejected, {:.2} s{notes}",
            report.path.display(),
            report.table,
            report.rows_read,
            report.rows_upserted,
            report.rows_rejected,
            report.duration.as_secs_f64()
        )
    }
}

/// A file that could not be imported at all; the store is unchanged.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {reason}")]
pub struct ImportError {
    pub path: PathBuf,
    pub reason: String,
}

/// Imports one file in one transaction (SPEC §2).
pub fn import_file(
    store: &mut Store,
    path: &Path,
    options: &ImportOptions,
) -> Result<ImportReport, ImportError> {
    import_file_with_progress(store, path, options, &mut |_, _| {})
}

/// `import_file`, calling `progress(bytes_done, bytes_total)` now and then.
pub fn import_file_with_progress(
    store: &mut Store,
    path: &Path,
    options: &ImportOptions,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<ImportReport, ImportError> {
    let started = Instant::now();
    // The log is keyed by the absolute path, so a tail import finds its predecessor
    // whatever the working directory.
    let log_path = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    let log_key = log_path.to_string_lossy().into_owned();
    match run(store, path, &log_key, options, progress, started) {
        Ok(report) => Ok(report),
        Err(failure) => {
            let mut reason = failure.reason;
            let ms = started.elapsed().as_millis() as u64;
            if let Err(e) =
                store.log_failed_import(&log_key, failure.table, failure.size, ms, &reason)
            {
                reason.push_str(&format!(" (and the failure could not be logged: {e})"));
            }
            Err(ImportError {
                path: path.to_path_buf(),
                reason,
            })
        }
    }
}

/// The table a file name stands for: its name starts with a table name followed by
/// `.`, `_`, `-` or nothing (`orders_2025-06.csv`, `orders-eu.ndjson`).
pub fn table_for_path(path: &Path) -> Option<&'static TableSpec> {
    let name = path.file_name()?.to_string_lossy().to_lowercase();
    schema::TABLES
        .iter()
        .filter(|t| {
            name.strip_prefix(t.name)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with(['.', '_', '-']))
        })
        .max_by_key(|t| t.name.len())
}

/// `<store>.rejects/<name>.<hash>.csv`: the file's own name without a `.csv` ending, then
/// the first 8 hex digits of the BLAKE3 hash of its absolute path, so that files of one
/// name in two folders (`a/orders.csv`, `b/orders.csv`) keep their own rejects
/// (`orders.csv` → `orders.1f0c9a2e.csv`, `events.ndjson` → `events.ndjson.5b7d0e13.csv`).
/// `file` is the absolute path the import log knows the file by.
pub fn rejects_path(store_path: &Path, file: &Path) -> PathBuf {
    let mut dir = store_path.as_os_str().to_owned();
    dir.push(".rejects");
    let name = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "input".into());
    let stem = if name.to_lowercase().ends_with(".csv") {
        &name[..name.len() - ".csv".len()]
    } else {
        &name[..]
    };
    let hash = blake3::hash(file.as_os_str().as_encoded_bytes());
    PathBuf::from(dir).join(format!("{stem}.{}.csv", &hash.to_hex()[..8]))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Csv,
    Ndjson,
    JsonArray,
}

struct Failure {
    table: Option<&'static str>,
    size: u64,
    reason: String,
}

const SNIFF_BYTES: usize = 64 * 1024;
/// From this size on, a file loaded into an empty table builds its indexes at the end.
const BULK_LOAD_BYTES: u64 = 8 * 1024 * 1024;
const BOM: &[u8] = b"\xEF\xBB\xBF";

fn run(
    store: &mut Store,
    path: &Path,
    log_key: &str,
    options: &ImportOptions,
    progress: &mut dyn FnMut(u64, u64),
    started: Instant,
) -> Result<ImportReport, Failure> {
    let mut size = 0;
    let fail = |table: Option<&'static str>, size: u64| {
        move |reason: String| Failure {
            table,
            size,
            reason,
        }
    };
    let spec = match &options.table {
        Some(name) => schema::table(&name.trim().to_lowercase()).ok_or_else(|| {
            fail(None, 0)(format!("unknown table {name:?} (known: {})", table_names()))
        })?,
        None => table_for_path(path).ok_or_else(|| {
            fail(None, 0)(format!(
                "cannot tell the table from the file name: it must start with a table name \
                 ({}), or pass --table",
                table_names()
            ))
        })?,
    };
    let fail_table = Some(spec.name);
    let mut file =
        File::open(path).map_err(|e| fail(fail_table, size)(format!("cannot open: {e}")))?;
    let meta = file
        .metadata()
        .map_err(|e| fail(fail_table, size)(format!("cannot read: {e}")))?;
    if meta.is_dir() {
        return Err(fail(fail_table, size)("is a directory, not a file".into()));
    }
    size = meta.len();
    let fail = fail(fail_table, size);
    if size == 0 {
        return Err(fail("empty file: no header and no rows".into()));
    }

    let mut head = vec![0; SNIFF_BYTES.min(size as usize)];
    file.read_exact(&mut head)
        .map_err(|e| fail(format!("cannot read: {e}")))?;
    check_text(&head, size).map_err(&fail)?;
    let bom_len = if head.starts_with(BOM) {
        BOM.len() as u64
    } else {
        0
    };
    let format = detect_format(path, &head[bom_len as usize..]);

    let line_based = format != Format::JsonArray;
    let complete_end = if line_based {
        end_of_last_line(&mut file, size).map_err(|e| fail(format!("cannot read: {e}")))?
    } else {
        size
    };
    let read_end = if options.file_is_complete || !line_based {
        size
    } else {
        complete_end
    };

    let mark = if line_based {
        store
            .last_import_mark(log_key)
            .map_err(|e| fail(format!("cannot read the import log: {e}")))?
    } else {
        None
    };
    let tail_from = match &mark {
        Some(m) if is_tail(m, spec, format, size, bom_len, &mut file) => Some(m.byte_offset),
        _ => None,
    };
    // An unchanged file has nothing new, not even a last line without its newline
    // (read, and counted, by the import that saw it first).
    let unchanged = tail_from.is_some() && mark.as_ref().is_some_and(|m| m.size == size);
    let start = if unchanged {
        read_end
    } else {
        tail_from.unwrap_or(bom_len).min(read_end.max(bom_len))
    };

    let config = &options.config;
    let binder = Binder::new(spec, config.aliases.get(spec.name));
    let layout = Layout::of(spec);
    let tz = config.tz();
    let mut rejects = RejectsFile::new(store.path(), Path::new(log_key), start);

    let mut tx = store
        .begin_import(log_key, spec.name)
        .map_err(|e| fail(format!("cannot write to the store: {e}")))?;
    if read_end.saturating_sub(start) >= BULK_LOAD_BYTES {
        tx.defer_indexes_if_empty(spec.name)
            .map_err(|e| fail(format!("cannot prepare the store: {e}")))?;
    }
    let mut upserter = tx
        .upserter(&layout)
        .map_err(|e| fail(format!("cannot prepare the store: {e}")))?;

    // A file read whole is judged anew: its earlier rejects would count twice.
    if tail_from.is_none() {
        tx.forget_earlier_rejects()
            .map_err(|e| fail(format!("cannot write to the store: {e}")))?;
    }
    // New rows sharing a key with the part of the file read before are duplicates, as
    // they would be were the file read whole.
    let earlier_lines = match tail_from {
        Some(_) if read_end > start => earlier::earlier_lines(
            &earlier::TailRead {
                path: Path::new(log_key),
                format,
                rows_from: bom_len,
                new_rows: (start, read_end),
                header: mark.as_ref().and_then(|m| m.header.as_deref()),
            },
            &binder,
            &layout,
            tz,
            &mut upserter,
        )
        .map_err(&fail)?,
        _ => Default::default(),
    };
    let earlier_line = |values: &[crate::store::upsert::Value<'_>]| {
        if earlier_lines.is_empty() {
            None
        } else {
            earlier_lines
                .get(&earlier::key_text(&layout, values))
                .copied()
        }
    };
    let mut touched = Touched::default();
    let (mut rows_read, mut rows_upserted, mut rows_unchanged) = (0u64, 0u64, 0u64);
    let total = read_end.saturating_sub(start);
    let mut report_progress = |at: u64| progress(at.saturating_sub(start), total);

    let mut sink = |item: Item<'_>| -> Result<(), String> {
        rows_read += 1;
        let (line, span, rejection) = match item {
            Item::Bad(bad) => (
                bad.line,
                bad.span,
                validate::Rejection {
                    column: bad.column,
                    reason: bad.reason,
                },
            ),
            Item::Row(row) => match validate::validate(&layout, tz, &row) {
                Ok(typed) if earlier_line(&typed.values).is_some() => (
                    row.line,
                    row.span,
                    validate::Rejection {
                        column: None,
                        reason: layout.duplicate_reason(
                            &typed.values,
                            earlier_line(&typed.values).unwrap_or_default(),
                        ),
                    },
                ),
                Ok(typed) => match upserter.upsert(&typed.values, typed.provided, row.line) {
                    Ok(Outcome::Inserted) => {
                        rows_upserted += 1;
                        let id = layout.rollup_id_of(&typed.values);
                        touched.add_row(spec.name, &typed.days, id);
                        if let Some(id) = id {
                            touched.add_previous(spec.name, id, None);
                        }
                        return Ok(());
                    }
                    Ok(Outcome::Updated { old_days, old_id }) => {
                        rows_upserted += 1;
                        let id = layout.rollup_id_of(&typed.values);
                        touched.add_row(spec.name, &typed.days, id);
                        touched.add_row(spec.name, &old_days, old_id.as_deref());
                        if let Some(id) = id {
                            touched.add_previous(spec.name, id, Some(&old_days));
                        }
                        return Ok(());
                    }
                    Ok(Outcome::Unchanged) => {
                        rows_unchanged += 1;
                        return Ok(());
                    }
                    Ok(Outcome::Duplicate { first_line }) => (
                        row.line,
                        row.span,
                        validate::Rejection {
                            column: None,
                            reason: layout
                                .duplicate_reason(&typed.values, rejects.line_in_file(first_line)?),
                        },
                    ),
                    Err(rusqlite::Error::SqliteFailure(e, message))
                        if e.code == rusqlite::ErrorCode::ConstraintViolation =>
                    {
                        (
                            row.line,
                            row.span,
                            validate::Rejection {
                                column: None,
                                reason: format!(
                                    "the store refused the row: {}",
                                    message.unwrap_or_default()
                                ),
                            },
                        )
                    }
                    Err(e) => return Err(format!("cannot write to the store: {e}")),
                },
                Err(rejection) => (row.line, row.span, rejection),
            },
        };
        let line = rejects.record(line, span, &rejection, options.strict, |l, c, r, raw| {
            tx.add_reject(l, c, r, raw)
        })?;
        if options.strict {
            let column = rejection
                .column
                .map(|c| format!(", column {c}"))
                .unwrap_or_default();
            return Err(format!(
                "line {line}{column}: {} (--strict: nothing imported)",
                rejection.reason
            ));
        }
        Ok(())
    };

    file.seek(SeekFrom::Start(start))
        .map_err(|e| fail(format!("cannot read: {e}")))?;
    let input = (&mut file).take(read_end.saturating_sub(start));
    let header_before = mark.as_ref().and_then(|m| m.header.clone());
    let (header, ignored_columns) = match format {
        // Nothing new (an unchanged file), or no complete line yet (a file being written).
        _ if read_end <= start => (tail_from.and(header_before), Vec::new()),
        Format::Csv => {
            let known = if tail_from.is_some() {
                header_before.as_deref()
            } else {
                None
            };
            let outcome = csv_reader::read(
                input,
                start,
                known,
                &binder,
                &mut sink,
                &mut report_progress,
            )
            .map_err(&fail)?;
            (outcome.header_line, outcome.unknown_columns)
        }
        Format::Ndjson => {
            let ignored = ndjson::read(input, start, &binder, &mut sink, &mut report_progress)
                .map_err(&fail)?;
            (None, ignored)
        }
        Format::JsonArray => {
            let mut bytes = Vec::with_capacity(total as usize);
            input
                .take(total)
                .read_to_end(&mut bytes)
                .map_err(|e| fail(format!("cannot read: {e}")))?;
            let ignored = json_array::read(&bytes, start, &binder, &mut sink, &mut report_progress)
                .map_err(&fail)?;
            (None, ignored)
        }
    };
    drop(upserter);
    report_progress(read_end);

    let byte_offset = if line_based { complete_end } else { 0 };
    let fingerprint = prefix_fingerprint(&mut file, byte_offset)
        .map_err(|e| fail(format!("cannot read: {e}")))?;
    let rows_rejected = rejects.count();
    let totals = ImportTotals {
        size,
        fingerprint: Some(fingerprint),
        byte_offset,
        header,
        rows_read,
        rows_upserted,
        rows_rejected,
    };
    rejects.flush().map_err(&fail)?;
    tx.commit(&totals, &touched, started)
        .map_err(|e| fail(format!("cannot commit to the store: {e}")))?;
    let mut warnings = Vec::new();
    let rejects_file = rejects.publish(tail_from.is_some()).unwrap_or_else(|e| {
        warnings.push(e);
        None
    });
    Ok(ImportReport {
        path: path.to_path_buf(),
        table: spec.name.to_string(),
        rows_read,
        rows_upserted,
        rows_unchanged,
        rows_rejected,
        tail: tail_from.is_some(),
        duration: started.elapsed(),
        ignored_columns,
        rejects_file,
        held_back_bytes: size - read_end,
        warnings,
        touched,
    })
}

fn table_names() -> String {
    schema::TABLES
        .iter()
        .map(|t| t.name)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Refuses what cannot be a text file: NUL bytes, or bytes that are not UTF-8.
fn check_text(head: &[u8], size: u64) -> Result<(), String> {
    if let Some(at) = head.iter().position(|&b| b == 0) {
        return Err(format!(
            "binary file (NUL byte at offset {at}), not CSV, NDJSON or JSON text"
        ));
    }
    if let Err(e) = std::str::from_utf8(head) {
        // A character cut by the sample's end is not an error.
        let cut_at_end = e.error_len().is_none() && (head.len() as u64) < size;
        if !cut_at_end {
            let at = e.valid_up_to();
            let line = head[..at].iter().filter(|&&b| b == b'\n').count() + 1;
            return Err(format!(
                "not UTF-8 text (byte 0x{:02X} on line {line}); save the file as UTF-8",
                head[at]
            ));
        }
    }
    Ok(())
}

fn detect_format(path: &Path, head: &[u8]) -> Format {
    let ext = path
        .extension()
        .map(|e| e.to_string_lossy().to_lowercase())
        .unwrap_or_default();
    let first = head.iter().find(|b| !b.is_ascii_whitespace()).copied();
    match ext.as_str() {
        "csv" | "tsv" | "txt" => Format::Csv,
        "ndjson" | "jsonl" => Format::Ndjson,
        _ if first == Some(b'[') => Format::JsonArray,
        "json" => Format::Ndjson,
        _ if first == Some(b'{') => Format::Ndjson,
        _ => Format::Csv,
    }
}

/// The byte just after the file's last newline (0 if it has none).
fn end_of_last_line(file: &mut File, size: u64) -> std::io::Result<u64> {
    const CHUNK: u64 = 64 * 1024;
    let mut end = size;
    let mut buf = vec![0; CHUNK as usize];
    while end > 0 {
        let begin = end.saturating_sub(CHUNK);
        let chunk = &mut buf[..(end - begin) as usize];
        file.seek(SeekFrom::Start(begin))?;
        file.read_exact(chunk)?;
        if let Some(i) = chunk.iter().rposition(|&b| b == b'\n') {
            return Ok(begin + i as u64 + 1);
        }
        end = begin;
    }
    Ok(0)
}

/// Whether the file is its last import's content plus new bytes: same table, not
/// shorter, and the same fingerprint of the bytes that import read.
fn is_tail(
    mark: &ImportMark,
    spec: &TableSpec,
    format: Format,
    size: u64,
    bom_len: u64,
    file: &mut File,
) -> bool {
    mark.table == spec.name
        && mark.byte_offset > bom_len
        && mark.byte_offset <= size
        && (format != Format::Csv || mark.header.is_some())
        && prefix_fingerprint(file, mark.byte_offset).is_ok_and(|f| f == mark.fingerprint)
}

/// A cheap fingerprint of the file's first `len` bytes: the length, the first and last
/// 64 KiB, and 32 blocks of 4 KiB spread between. Reading ~400 KiB instead of the whole
/// prefix keeps a tail import of a big file cheap; a replaced file almost always differs
/// in one of the samples (or in length).
fn prefix_fingerprint(file: &mut File, len: u64) -> std::io::Result<String> {
    const EDGE: u64 = 64 * 1024;
    const BLOCK: u64 = 4 * 1024;
    const BLOCKS: u64 = 32;
    let mut hasher = blake3::Hasher::new();
    hasher.update(&len.to_le_bytes());
    let mut ranges = vec![(0, len.min(EDGE)), (len.saturating_sub(EDGE), len)];
    if len > 2 * EDGE {
        let stride = (len - 2 * EDGE) / BLOCKS;
        ranges.extend((0..BLOCKS).map(|i| {
            let at = EDGE + i * stride;
            (at, (at + BLOCK).min(len))
        }));
    }
    let mut buf = Vec::new();
    for (begin, end) in ranges {
        buf.resize((end - begin) as usize, 0);
        file.seek(SeekFrom::Start(begin))?;
        file.read_exact(&mut buf)?;
        hasher.update(&buf);
    }
    Ok(format!("s1:{}", hasher.finalize().to_hex()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_comes_from_the_file_name() {
        let name = |p: &str| table_for_path(Path::new(p)).map(|t| t.name);
        assert_eq!(name("orders.csv"), Some("orders"));
        assert_eq!(name("exports/Orders_2025-06.csv"), Some("orders"));
        assert_eq!(name("orders-eu.ndjson"), Some("orders"));
        assert_eq!(name("work_items.json"), Some("work_items"));
        assert_eq!(name("ordersx.csv"), None);
        assert_eq!(name("sales.csv"), None);
    }

    #[test]
    fn rejects_file_sits_beside_the_store_named_by_file_and_path() {
        let orders = rejects_path(Path::new("data/launch.db"), Path::new("/x/a/orders.csv"));
        let name = orders.file_name().unwrap().to_string_lossy().into_owned();
        assert_eq!(orders.parent(), Some(Path::new("data/launch.db.rejects")));
        assert!(
            name.starts_with("orders.") && name.ends_with(".csv"),
            "{name}"
        );
        assert_eq!(name.len(), "orders.12345678.csv".len(), "{name}");
        let events = rejects_path(Path::new("launch.db"), Path::new("/x/events.ndjson"));
        let name = events.file_name().unwrap().to_string_lossy().into_owned();
        assert!(
            name.starts_with("events.ndjson.") && name.ends_with(".csv"),
            "{name}"
        );
        // Same name, other folder: another rejects file; same path: the same one.
        assert_ne!(
            orders,
            rejects_path(Path::new("data/launch.db"), Path::new("/x/b/orders.csv"))
        );
        assert_eq!(
            orders,
            rejects_path(Path::new("data/launch.db"), Path::new("/x/a/orders.csv"))
        );
    }

    #[test]
    fn binary_and_non_utf8_heads_are_refused() {
        assert!(check_text(b"a,b\n\0\0", 6).unwrap_err().contains("binary"));
        let err = check_text(b"a,b\nx\xE9,1\n", 10).unwrap_err();
        assert_eq!(
            err,
            "not UTF-8 text (byte 0xE9 on line 2); save the file as UTF-8"
        );
        // A multi-byte character cut by the sample boundary is fine.
        assert!(check_text("é".as_bytes()[..1].as_ref(), 100).is_ok());
    }
}
