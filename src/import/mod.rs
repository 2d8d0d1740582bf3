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
mod pipeline;
mod rejects;
mod source;
mod validate;

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::config::Config;
use crate::store::Store;
use crate::store::import_log::{ImportMark, ImportTotals, Provisional, ProvisionalReject};
use crate::store::rollup::Touched;
use crate::store::schema::{self, TableSpec};
use crate::store::upsert::{Layout, Outcome, Provided};

use rejects::RejectsFile;
use source::{Binder, Sink};

/// What an import may do.
#[derive(Debug, Clone, Default)]
pub struct ImportOptions {
    /// Import into this table instead of the one named by the file.
    pub table: Option<String>,
    /// Reject the whole file on its first bad row.
    pub strict: bool,
    /// Header aliases and the time zone come from here.
    pub config: Config,
    /// The file is finished (named on the command line, or watched and unchanged for the
    /// settle time): a last line without its newline is imported too, provisionally —
    /// should the file grow after all, the next import undoes what that line did and
    /// reads it again. When false (a watched file that just changed: it may still be
    /// being written), such a line waits.
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
    pub kind: FailureKind,
}

/// Why an import failed, which decides what a watcher does next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    /// The file cannot be imported as it is (its name, its content): trying again is
    /// useless until the file changes.
    Input,
    /// Not a regular file (a FIFO, socket or device): it was never opened, since reading
    /// a FIFO blocks until some writer comes.
    NotRegularFile,
    /// The store, or the rejects file beside it, could not be written (locked, disk
    /// full): the same file may import fine later.
    Store,
}

/// Imports one file in one transaction (SPEC §2).
pub fn import_file(
    store: &mut Store,
    path: &Path,
    options: &ImportOptions,
) -> Result<ImportReport, ImportError> {
    import_file_with_progress(store, path, options, &mut |_| {})
}

/// How far an import has come, as reported now and then while it reads.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ImportProgress {
    /// Bytes of the file read so far, of `bytes_total` to read.
    pub bytes_done: u64,
    pub bytes_total: u64,
    /// Rows read so far (good and rejected).
    pub rows: u64,
}

/// `import_file`, calling `progress` now and then.
pub fn import_file_with_progress(
    store: &mut Store,
    path: &Path,
    options: &ImportOptions,
    progress: &mut dyn FnMut(ImportProgress),
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
                kind: failure.kind,
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
    kind: FailureKind,
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
    progress: &mut dyn FnMut(ImportProgress),
    started: Instant,
) -> Result<ImportReport, Failure> {
    let failure = |table: Option<&'static str>, size: u64, kind: FailureKind| {
        move |reason: String| Failure {
            table,
            size,
            reason,
            kind,
        }
    };
    let input_failure = |table, size| failure(table, size, FailureKind::Input);
    let spec = match &options.table {
        Some(name) => schema::table(&name.trim().to_lowercase()).ok_or_else(|| {
            input_failure(None, 0)(format!("unknown table {name:?} (known: {})", table_names()))
        })?,
        None => table_for_path(path).ok_or_else(|| {
            input_failure(None, 0)(format!(
                "cannot tell the table from the file name: it must start with a table name \
                 ({}), or pass --table",
                table_names()
            ))
        })?,
    };
    let fail_table = Some(spec.name);
    // Looked at before opening: opening a FIFO for reading blocks until a writer comes,
    // and nothing (not even SIGTERM's flag) would be checked meanwhile.
    let meta = std::fs::metadata(path)
        .map_err(|e| input_failure(fail_table, 0)(format!("cannot open: {e}")))?;
    check_regular_file(&meta).map_err(|(kind, reason)| failure(fail_table, 0, kind)(reason))?;
    let mut file = open_without_waiting(path)
        .map_err(|e| input_failure(fail_table, 0)(format!("cannot open: {e}")))?;
    // The path may have been replaced between the look and the open.
    let meta = file
        .metadata()
        .map_err(|e| input_failure(fail_table, 0)(format!("cannot read: {e}")))?;
    check_regular_file(&meta).map_err(|(kind, reason)| failure(fail_table, 0, kind)(reason))?;
    let size = meta.len();
    let fail = input_failure(fail_table, size);
    let store_fail = failure(fail_table, size, FailureKind::Store);
    if size == 0 {
        return Err(fail("empty file: no header and no rows".into()));
    }

    let mut head = vec![0; SNIFF_BYTES.min(size as usize)];
    file.read_exact(&mut head)
        .map_err(|e| fail(format!("cannot read: {e}")))?;
    check_text(&head, size, path).map_err(&fail)?;
    let bom_len = if head.starts_with(BOM) {
        BOM.len() as u64
    } else {
        0
    };
    let format = detect_format(path, &head[bom_len as usize..]);
    let line_based = format != Format::JsonArray;

    let mark = if line_based {
        store
            .last_import_mark(log_key)
            .map_err(|e| store_fail(format!("cannot read the import log: {e}")))?
    } else {
        None
    };
    let tail_from = match &mark {
        Some(m) if is_tail(m, spec, format, size, bom_len, &mut file) => Some(m.byte_offset),
        _ => None,
    };
    let header_before = mark.as_ref().and_then(|m| m.header.clone());
    // Nothing new: the last import took in every byte the file has, even a last line
    // without its newline.
    let unchanged = tail_from.is_some() && mark.as_ref().is_some_and(|m| m.size == size);
    let delimiter = csv_reader::detect_delimiter(match (tail_from, &header_before) {
        (Some(_), Some(header)) => header.as_bytes(),
        _ => &head[bom_len as usize..],
    });
    // Reading starts at a record boundary: where the last import's complete records end,
    // or the top of the file (the header). When that import also took a last record
    // without its terminator and the terminator is what came next, the record was whole
    // as read: reading on after it keeps it (and a reject of it) from counting twice.
    let resume = match (tail_from, &mark) {
        (Some(offset), Some(mark)) if !unchanged && mark.size > offset => {
            let finished = last_record_was_whole(&mut file, format, offset, mark.size, delimiter)
                .map_err(|e| fail(format!("cannot read: {e}")))?;
            if finished { mark.size } else { offset }
        }
        (Some(offset), _) => offset,
        (None, _) => bom_len,
    };
    // The last import took a last record without its terminator, and the writer had only
    // paused: that record is read again, finished. What the cut record wrote is undone
    // first, or a cut key (or a hash of cut values) would leave a row of its own.
    let undo = match (tail_from, &mark) {
        (Some(offset), Some(mark)) if !unchanged && resume == offset && mark.size > offset => {
            mark.provisional.as_ref()
        }
        _ => None,
    };
    // Where the last complete record ends: the next tail import resumes there, so a last
    // record read without its terminator (a finished file) is read again, and updated,
    // should the writer extend it after all. A complete CSV file is scanned for it after
    // reading, from its last record on, rather than whole twice.
    let scan_csv = |file: &mut File, from: u64| -> Result<u64, Failure> {
        file.seek(SeekFrom::Start(from))
            .map_err(|e| fail(format!("cannot read: {e}")))?;
        let records = csv_reader::end_of_last_record(file.take(size - from), delimiter)
            .map_err(|e| fail(format!("cannot read: {e}")))?;
        Ok(from + records)
    };
    let records_end_before = match format {
        _ if unchanged => Some(resume),
        Format::Csv if options.file_is_complete => None,
        Format::Csv => Some(scan_csv(&mut file, resume)?),
        Format::Ndjson => Some(
            end_of_last_line(&mut file, resume, size)
                .map_err(|e| fail(format!("cannot read: {e}")))?,
        ),
        Format::JsonArray => Some(size),
    };
    let (start, read_end) = match records_end_before {
        _ if unchanged => (size, size),
        Some(records_end) if !options.file_is_complete => (resume, records_end),
        _ => (resume, size),
    };

    let config = &options.config;
    let binder = Binder::new(spec, config.aliases.get(spec.name));
    let layout = Layout::of(spec);
    let tz = config.tz();
    let mut rejects = RejectsFile::new(store.path(), Path::new(log_key), start);

    let mut tx = store
        .begin_import(log_key, spec.name)
        .map_err(|e| store_fail(format!("cannot write to the store: {e}")))?;
    if read_end.saturating_sub(start) >= BULK_LOAD_BYTES {
        tx.defer_indexes_if_empty(spec.name)
            .map_err(|e| store_fail(format!("cannot prepare the store: {e}")))?;
    }
    let mut touched = Touched::default();
    if let Some(undo) = undo {
        let undone = tx
            .undo_provisional(&layout, undo)
            .map_err(|e| store_fail(format!("cannot write to the store: {e}")))?;
        for row in &undone {
            touched.add_row(spec.name, &row.days, row.id.as_deref());
            if let Some(id) = &row.id {
                touched.add_previous(spec.name, id, Some(&row.days));
            }
        }
        if let Some(reject) = undo.reject {
            rejects.forget_line(reject.line);
        }
    }
    let mut upserter = tx
        .upserter(&layout)
        .map_err(|e| store_fail(format!("cannot prepare the store: {e}")))?;

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
                delimiter,
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
    // A record that reaches the end of what is read may be the last one without its
    // terminator: what it does is remembered (see `Provisional`).
    let may_be_provisional = options.file_is_complete
        && line_based
        && records_end_before.is_none_or(|records_end| records_end < read_end);
    let is_last_record = |span: (u64, u64)| may_be_provisional && span.1 >= read_end;
    let mut provisional: Option<Provisional> = None;
    let (mut rows_upserted, mut rows_unchanged) = (0u64, 0u64);
    // Shared by the sink, which counts, and the progress reports, which show the count.
    let rows_read = std::cell::Cell::new(0u64);
    let total = read_end.saturating_sub(start);
    let mut report_progress = |at: u64| {
        progress(ImportProgress {
            bytes_done: at.saturating_sub(start),
            bytes_total: total,
            rows: rows_read.get(),
        })
    };
    // Set when reading stopped because the store (or the rejects file) could not be
    // written, rather than because of the file: such an import is worth retrying.
    let store_failed = std::cell::Cell::new(false);

    // What the writer does with one judged item: upsert a row, or record a rejection.
    let mut sink = |line: u64,
                    span: (u64, u64),
                    judged: Result<
        (
            &[crate::store::upsert::Value<'_>],
            Provided,
            &[chrono::NaiveDate],
        ),
        validate::Rejection,
    >|
     -> Result<(), String> {
        rows_read.set(rows_read.get() + 1);
        let (line, span, rejection) = match judged {
            Err(rejection) => (line, span, rejection),
            Ok((values, _, _)) if earlier_line(values).is_some() => (
                line,
                span,
                validate::Rejection {
                    column: None,
                    reason: layout
                        .duplicate_reason(values, earlier_line(values).unwrap_or_default()),
                },
            ),
            Ok((values, provided, days)) => {
                let last = is_last_record(span);
                let before = if last {
                    upserter.stored_row(values).map_err(|e| {
                        store_failed.set(true);
                        format!("cannot read the store: {e}")
                    })?
                } else {
                    None
                };
                // The row as stored after the write (columns the file lacks kept,
                // attributes merged): what an undo expects to find.
                let wrote = |upserter: &crate::store::upsert::Upserter<'_>, before| {
                    upserter
                        .stored_row(values)
                        .map(|wrote| {
                            Some(Provisional {
                                wrote,
                                before,
                                reject: None,
                            })
                        })
                        .map_err(|e| {
                            store_failed.set(true);
                            format!("cannot read the store: {e}")
                        })
                };
                match upserter.upsert(values, provided, line) {
                    Ok(Outcome::Inserted) => {
                        rows_upserted += 1;
                        let id = layout.rollup_id_of(values);
                        touched.add_row(spec.name, days, id);
                        if let Some(id) = id {
                            touched.add_previous(spec.name, id, None);
                        }
                        if last {
                            provisional = wrote(&upserter, None)?;
                        }
                        return Ok(());
                    }
                    Ok(Outcome::Updated { old_days, old_id }) => {
                        rows_upserted += 1;
                        let id = layout.rollup_id_of(values);
                        touched.add_row(spec.name, days, id);
                        touched.add_row(spec.name, &old_days, old_id.as_deref());
                        if let Some(id) = id {
                            touched.add_previous(spec.name, id, Some(&old_days));
                        }
                        if last {
                            provisional = wrote(&upserter, before)?;
                        }
                        return Ok(());
                    }
                    Ok(Outcome::Unchanged) => {
                        rows_unchanged += 1;
                        return Ok(());
                    }
                    Ok(Outcome::Duplicate { first_line }) => (
                        line,
                        span,
                        validate::Rejection {
                            column: None,
                            reason: layout
                                .duplicate_reason(values, rejects.line_in_file(first_line)?),
                        },
                    ),
                    Err(rusqlite::Error::SqliteFailure(e, message))
                        if e.code == rusqlite::ErrorCode::ConstraintViolation =>
                    {
                        (
                            line,
                            span,
                            validate::Rejection {
                                column: None,
                                reason: format!(
                                    "the store refused the row: {}",
                                    message.unwrap_or_default()
                                ),
                            },
                        )
                    }
                    Err(e) => {
                        store_failed.set(true);
                        return Err(format!("cannot write to the store: {e}"));
                    }
                }
            }
        };
        let mut reject_id = None;
        let line = rejects
            .record(line, span, &rejection, options.strict, |l, c, r, raw| {
                reject_id = Some(tx.add_reject(l, c, r, raw)?);
                Ok(())
            })
            .inspect_err(|_| store_failed.set(true))?;
        if let (true, Some(id)) = (is_last_record(span), reject_id) {
            provisional = Some(Provisional {
                reject: Some(ProvisionalReject { line, id }),
                ..Provisional::default()
            });
        }
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
    let mut last_record_start = resume;
    let (header, ignored_columns) = if read_end <= start {
        // Nothing new (an unchanged file), or no complete record yet (a file being written).
        (tail_from.and(header_before), Vec::new())
    } else {
        let known_header = match tail_from {
            Some(_) => header_before.as_deref(),
            None => None,
        };
        let (send, batches) = std::sync::mpsc::sync_channel(pipeline::BATCHES_IN_FLIGHT);
        let reading = std::thread::scope(|scope| {
            let file = &mut file;
            let (binder, layout) = (&binder, &layout);
            let reader = scope.spawn(move || {
                let mut judge = pipeline::Judge::new(layout, tz, send);
                let outcome = read_items(
                    file,
                    format,
                    start,
                    read_end,
                    delimiter,
                    known_header,
                    binder,
                    &mut |item| judge.accept(item),
                );
                judge.flush().map_err(ReadFailure::Input)?;
                outcome
            });
            // The writer: stops at the first error, which ends the reader (its sends fail).
            let written: Result<(), String> = (|| {
                for batch in batches {
                    let mut values = Vec::with_capacity(layout.columns.len());
                    for entry in &batch.entries {
                        match *entry {
                            pipeline::Entry::Row {
                                line,
                                span,
                                provided,
                                values: range,
                                days,
                            } => {
                                batch.values_into(range, &mut values);
                                sink(line, span, Ok((&values, provided, batch.days(days))))?;
                            }
                            pipeline::Entry::Rejected {
                                line,
                                span,
                                ref rejection,
                            } => sink(line, span, Err(rejection.clone()))?,
                        }
                    }
                    if let Some(end) = batch.end() {
                        report_progress(end);
                    }
                }
                Ok(())
            })();
            let read = reader
                .join()
                .unwrap_or_else(|_| Err(ReadFailure::Input("the reader thread failed".into())));
            match (written, read) {
                (Err(reason), _) => Err(ReadFailure::Writer(reason)),
                (Ok(()), read) => read,
            }
        });
        match reading {
            Ok(outcome) => {
                if let Some(at) = outcome.last_record_start {
                    last_record_start = at;
                }
                (outcome.header_line, outcome.unknown_columns)
            }
            Err(ReadFailure::Writer(reason)) if store_failed.get() => {
                return Err(store_fail(reason));
            }
            Err(ReadFailure::Writer(reason) | ReadFailure::Input(reason)) => {
                return Err(fail(reason));
            }
        }
    };
    drop(upserter);
    report_progress(read_end);

    // The log records what this import took in: `size` is the bytes consumed (and
    // fingerprinted), `byte_offset` where the next tail import resumes. The two differ
    // by a last record read without its terminator.
    let records_end = match records_end_before {
        Some(records_end) => records_end,
        None => scan_csv(&mut file, last_record_start)?,
    };
    let byte_offset = if line_based { records_end } else { 0 };
    // Nothing read: what the last record took provisionally still stands as it was.
    let provisional = if unchanged {
        mark.as_ref().and_then(|m| m.provisional.clone())
    } else if records_end < read_end {
        provisional
    } else {
        None
    };
    let fingerprint =
        prefix_fingerprint(&mut file, read_end).map_err(|e| fail(format!("cannot read: {e}")))?;
    let rows_rejected = rejects.count();
    let rows_read = rows_read.get();
    let totals = ImportTotals {
        size: read_end,
        fingerprint: Some(fingerprint),
        byte_offset,
        header,
        rows_read,
        rows_upserted,
        rows_rejected,
        provisional,
    };
    rejects.flush().map_err(&store_fail)?;
    tx.commit(&totals, &touched, started)
        .map_err(|e| store_fail(format!("cannot commit to the store: {e}")))?;
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

/// Why reading a file stopped short.
enum ReadFailure {
    /// The file (a CSV or JSON syntax error, --strict's first bad row, a read error).
    Input(String),
    /// The writer: the store or the rejects file could not be written, or --strict.
    Writer(String),
}

/// What reading found besides the rows.
struct ReadOutcome {
    /// The CSV header line as read (to remember for a later tail import).
    header_line: Option<String>,
    unknown_columns: Vec<String>,
    /// Where the last CSV record read starts in the file.
    last_record_start: Option<u64>,
}

/// Reads the items of `file` from `start` (where it is positioned) to `read_end` with
/// the reader of `format`, passing each to `sink`.
#[allow(clippy::too_many_arguments)]
fn read_items(
    file: &mut File,
    format: Format,
    start: u64,
    read_end: u64,
    delimiter: u8,
    known_header: Option<&str>,
    binder: &Binder,
    sink: &mut Sink<'_>,
) -> Result<ReadOutcome, ReadFailure> {
    let total = read_end.saturating_sub(start);
    // Progress is reported by the writer, as it takes the rows in.
    let no_progress = &mut |_: u64| {};
    let input = (&mut *file).take(total);
    let outcome = match format {
        Format::Csv => {
            let outcome = csv_reader::read(
                input,
                start,
                delimiter,
                known_header,
                binder,
                sink,
                no_progress,
            )
            .map_err(ReadFailure::Input)?;
            ReadOutcome {
                header_line: outcome.header_line,
                unknown_columns: outcome.unknown_columns,
                last_record_start: Some(outcome.last_record_start),
            }
        }
        Format::Ndjson => ReadOutcome {
            header_line: None,
            unknown_columns: ndjson::read(input, start, binder, sink, no_progress)
                .map_err(ReadFailure::Input)?,
            last_record_start: None,
        },
        Format::JsonArray => {
            json_array::check(input).map_err(ReadFailure::Input)?;
            file.seek(SeekFrom::Start(start))
                .map_err(|e| ReadFailure::Input(format!("cannot read: {e}")))?;
            ReadOutcome {
                header_line: None,
                unknown_columns: json_array::read(
                    file.take(total),
                    start,
                    binder,
                    sink,
                    no_progress,
                )
                .map_err(ReadFailure::Input)?,
                last_record_start: None,
            }
        }
    };
    Ok(outcome)
}

/// Whether the record in `from..to` (read without its terminator by the last import)
/// was whole: the file now has a record terminator at `to`, outside any quoted field.
fn last_record_was_whole(
    file: &mut File,
    format: Format,
    from: u64,
    to: u64,
    delimiter: u8,
) -> std::io::Result<bool> {
    let mut next = [0u8; 1];
    file.seek(SeekFrom::Start(to))?;
    file.read_exact(&mut next)?;
    if !matches!(next[0], b'\n' | b'\r') {
        return Ok(false);
    }
    if format != Format::Csv {
        return Ok(true);
    }
    file.seek(SeekFrom::Start(from))?;
    Ok(!csv_reader::ends_inside_quotes(
        (&mut *file).take(to - from),
        delimiter,
    )?)
}

/// Opens `path` for reading. Where the flag's value is known, with `O_NONBLOCK`: should a
/// FIFO replace the file between the look and the open, the open returns at once rather
/// than wait for a writer (the look after the open then refuses it). Reading a regular
/// file ignores the flag.
fn open_without_waiting(path: &Path) -> std::io::Result<File> {
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(all(
        target_os = "linux",
        any(
            target_arch = "x86_64",
            target_arch = "x86",
            target_arch = "aarch64",
            target_arch = "arm",
            target_arch = "riscv64"
        )
    ))]
    {
        use std::os::unix::fs::OpenOptionsExt;
        const O_NONBLOCK: i32 = 0o4000;
        options.custom_flags(O_NONBLOCK);
    }
    options.open(path)
}

/// Refuses a directory, FIFO, socket or device: only a regular file is read.
fn check_regular_file(meta: &std::fs::Metadata) -> Result<(), (FailureKind, String)> {
    let kind = meta.file_type();
    if kind.is_dir() {
        return Err((FailureKind::Input, "is a directory, not a file".into()));
    }
    if kind.is_file() {
        return Ok(());
    }
    #[cfg(unix)]
    let what = {
        use std::os::unix::fs::FileTypeExt;
        if kind.is_fifo() {
            "FIFO"
        } else if kind.is_socket() {
            "socket"
        } else if kind.is_char_device() {
            "character device"
        } else if kind.is_block_device() {
            "block device"
        } else {
            "special file"
        }
    };
    #[cfg(not(unix))]
    let what = "special file";
    Err((
        FailureKind::NotRegularFile,
        format!("not a regular file ({what}); skipped"),
    ))
}

fn table_names() -> String {
    schema::TABLES
        .iter()
        .map(|t| t.name)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Refuses what cannot be a text file: UTF-16, NUL bytes, or bytes that are not UTF-8.
fn check_text(head: &[u8], size: u64, path: &Path) -> Result<(), String> {
    if looks_like_utf16(head) {
        let name = path.to_string_lossy();
        let stem = path.with_extension("");
        let ext = path
            .extension()
            .map(|e| e.to_string_lossy().into_owned())
            .unwrap_or_else(|| "csv".into());
        return Err(format!(
            "UTF-16 encoded; convert it to UTF-8, e.g. `iconv -f UTF-16 -t UTF-8 {name} > {}.utf8.{ext}`",
            stem.to_string_lossy()
        ));
    }
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

/// A UTF-16 byte-order mark, or ASCII text with a NUL after (or before) every character,
/// as Windows tools write "Unicode" text.
fn looks_like_utf16(head: &[u8]) -> bool {
    if head.starts_with(b"\xFF\xFE") || head.starts_with(b"\xFE\xFF") {
        return true;
    }
    let pairs: Vec<&[u8]> = head.chunks_exact(2).take(64).collect();
    if pairs.len() < 2 {
        return false;
    }
    let ascii = |b: u8| b != 0 && b.is_ascii();
    pairs.iter().all(|p| ascii(p[0]) && p[1] == 0) || pairs.iter().all(|p| p[0] == 0 && ascii(p[1]))
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

/// The byte just after the last line end (`\n` or `\r`) in `from..size`, or `from` if
/// there is none. A `\r` at the very end may yet be followed by its `\n`: the next read
/// starts at that `\n`, which readers skip as an empty line.
fn end_of_last_line(file: &mut File, from: u64, size: u64) -> std::io::Result<u64> {
    const CHUNK: u64 = 64 * 1024;
    let mut end = size;
    let mut buf = vec![0; CHUNK as usize];
    while end > from {
        let begin = end.saturating_sub(CHUNK).max(from);
        let chunk = &mut buf[..(end - begin) as usize];
        file.seek(SeekFrom::Start(begin))?;
        file.read_exact(chunk)?;
        if let Some(i) = chunk.iter().rposition(|&b| b == b'\n' || b == b'\r') {
            return Ok(begin + i as u64 + 1);
        }
        end = begin;
    }
    Ok(from)
}

/// Whether the file is its last import's content plus new bytes: same table, not
/// shorter, and the same fingerprint of the bytes that import took in.
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
        && mark.byte_offset <= mark.size
        && mark.size <= size
        && (format != Format::Csv || mark.header.is_some())
        && prefix_fingerprint(file, mark.size).is_ok_and(|f| f == mark.fingerprint)
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
        let path = Path::new("orders.csv");
        assert!(
            check_text(b"a,b\n\0\0", 6, path)
                .unwrap_err()
                .contains("binary")
        );
        let err = check_text(b"a,b\nx\xE9,1\n", 10, path).unwrap_err();
        assert_eq!(
            err,
            "not UTF-8 text (byte 0xE9 on line 2); save the file as UTF-8"
        );
        // A multi-byte character cut by the sample boundary is fine.
        assert!(check_text("é".as_bytes()[..1].as_ref(), 100, path).is_ok());
    }
}
