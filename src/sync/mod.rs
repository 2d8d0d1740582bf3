//! `kpi sync`: the rollups computed from Parquet or CSV exports on Apache DataFusion —
//! in-process, or on a Ballista cluster — and written into the store in one transaction.
//!
//! The queries are the store's rollup plan (`store::rollup_plan`), the same SQL a local
//! rebuild runs on SQLite; this module only finds the exports, hands them to the engine
//! under the raw tables' names, and streams each query's result into the store's
//! write path (`rollup_plan::RollupReplace`) record batch by record batch.
//!
//! The exports hold the raw tables in their stored form (the columns of
//! `rollup_plan::RAW_INPUTS`: days as `YYYY-MM-DD`, money in integer cents), one table
//! per folder (`events/date=2026-11-30/part-0.parquet`) or one per file named as for
//! `kpi import` (`orders_2025-06.csv`).

mod engine;
mod pool;
pub mod source;

use std::path::PathBuf;
use std::time::{Duration, Instant};

pub use engine::{Engine, ExportCounts, FileRejects, RejectedRow, SyncPlan};
pub use pool::PoolPeak;
pub use source::{ENGINE_ONLY, Format, Input, Location, WholeTable, feeds_the_engine};

use crate::config::Config;
use crate::import::{ImportError, ImportOptions, ImportReport, import_file, rejects_path};
use crate::store::Store;
use crate::store::rollup_plan::{ChangedDays, FirstEvents, RollupReplace};
use crate::store::sync_rejects::{ExportRejects, ListedReject, unlisted_reason};
use rusqlite::types::ValueRef;

/// The columns of `ru_table_days`, as the plan's query gives them.
const TABLE_DAYS_COLUMNS: [&str; 3] = ["tbl", "day", "rows"];

/// The rejected rows of one export file the engine reads that are listed one by one (in
/// the store and its rejects file): the rest are counted, so a wholly bad export of
/// millions of rows costs no more memory than this.
pub const LISTED_PER_FILE: usize = 1000;

#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// The source cannot be read: nothing was written.
    #[error("cannot read source {path}: {reason}")]
    Source { path: PathBuf, reason: String },
    #[error("cannot reach the cluster at {url}: {reason}")]
    Cluster { url: String, reason: String },
    #[error("computing {what}: {source}")]
    Query {
        what: String,
        source: datafusion::error::DataFusionError,
    },
    #[error("{table} has a column of type {data_type}, which the store cannot hold")]
    ColumnType { table: String, data_type: String },
    /// A table kept whole could not be imported: nothing was written.
    #[error("{0} (nothing synced)")]
    Import(ImportError),
    /// The engine read the customers' export otherwise than `kpi import` did.
    #[error(
        "the customers the engine read from the exports differ from those kpi import \
         validated into the store ({0}): export each customer once, in one customers \
         export beside the other exports (nothing synced)"
    )]
    CustomersDisagree(String),
    #[error("writing the rollups: {0}")]
    Store(#[from] rusqlite::Error),
    #[error("cannot start the query runtime: {0}")]
    Runtime(std::io::Error),
    #[error("keeping the cluster's result of {what} in a temporary file: {source}")]
    ResultFile {
        what: String,
        source: std::io::Error,
    },
}

/// The memory in-process DataFusion may hold for its operators, in MB, unless told
/// otherwise: beyond it, sorts and aggregations spill to temporary files. With 256 MB a
/// release build synced 1 M and 10 M generated events with a peak RSS of 329 and 402 MB
/// (README, "Scale-out"); before the cohort query stopped joining every active day to
/// the ids, 256 MB failed at 10 M events and 1024 MB peaked at 1.4 GB.
pub const DEFAULT_MEMORY_MB: usize = 256;

/// Where the rollups are computed.
#[derive(Debug, Clone)]
pub struct SyncOptions {
    /// `df://host:port` of a Ballista scheduler; `None`: in-process DataFusion.
    pub cluster: Option<String>,
    /// The partitions a query's data is split into: in-process, the threads (0: the
    /// machine's cores); on a cluster, the tasks of each stage (0: Ballista's default, 16).
    pub partitions: usize,
    /// In-process: the memory pool of DataFusion's operators, in MB (0: unbounded).
    pub memory_mb: usize,
    /// The header aliases and time zone the tables kept whole are imported with.
    pub config: Config,
}

impl Default for SyncOptions {
    fn default() -> Self {
        Self {
            cluster: None,
            partitions: 0,
            memory_mb: DEFAULT_MEMORY_MB,
            config: Config::default(),
        }
    }
}

/// What one sync did.
#[derive(Debug, Clone)]
pub struct SyncReport {
    /// Per raw table: the files read.
    pub inputs: Vec<(String, usize)>,
    /// Per file of a table kept whole: what its import did (rows, rejects and where they
    /// are listed by line), in the order imported.
    pub imported: Vec<ImportReport>,
    /// Per export file the engine read with rows that fail the data contract: its rows
    /// and rejects (left out of every rollup), and where they are listed.
    pub rejected: Vec<ExportReport>,
    /// Per rollup table: the rows written; `None` when the rollups were left as they were
    /// (no export the engine reads had changed).
    pub rollups: Option<Vec<(String, u64)>>,
    /// After changed exports (`sync_changed`): the days whose day rollups were computed
    /// again; `None` when every rollup was.
    pub changed_days: Option<ChangedDays>,
    /// After changed exports: how the first events were counted.
    pub first_events: Option<FirstEvents>,
    pub duration: Duration,
    /// In-process, with a memory pool, when the engine ran: the most its operators held.
    pub engine_memory: Option<PoolPeak>,
}

impl std::fmt::Display for SyncReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let inputs: Vec<String> = self
            .inputs
            .iter()
            .map(|(table, files)| format!("{table} {files} file(s)"))
            .collect();
        // Each file that brought rows on a line of its own, as `kpi import` prints it:
        // its rejects name the file, and the rejects file lists them by line. Files
        // unchanged since their last import are not listed.
        let read: Vec<&ImportReport> = self
            .imported
            .iter()
            .filter(|r| r.rows_read > 0 || r.held_back_bytes > 0 || !r.warnings.is_empty())
            .collect();
        for report in &read {
            writeln!(f, "{report}")?;
        }
        for report in &self.rejected {
            writeln!(f, "{report}")?;
        }
        match &self.rollups {
            Some(rollups) => {
                let rows: u64 = rollups.iter().map(|(_, n)| n).sum();
                write!(
                    f,
                    "synced {} rollup tables ({rows} rows) from {}",
                    rollups.len(),
                    if inputs.is_empty() {
                        "no exports".to_string()
                    } else {
                        inputs.join(", ")
                    },
                )?;
                if let Some(days) = &self.changed_days {
                    write!(
                        f,
                        ", the day rollups of the changed days only ({} of orders, {} of \
                         events)",
                        days.orders.len(),
                        days.events.len()
                    )?;
                }
                write!(f, " in {:.2} s", self.duration.as_secs_f64())?;
                if let Some(memory) = &self.engine_memory {
                    write!(f, "; {memory}")?;
                }
            }
            None => write!(
                f,
                "synced {} changed file(s) of the tables kept whole in {:.2} s; rollups \
                 unchanged (no export of orders, refunds, events or customers changed)",
                read.len(),
                self.duration.as_secs_f64()
            )?,
        }
        let rejected: u64 = self.imported.iter().map(|r| r.rows_rejected).sum::<u64>()
            + self
                .rejected
                .iter()
                .map(|r| r.rejects.rejected)
                .sum::<u64>();
        if rejected > 0 {
            write!(f, "; {rejected} rows rejected (listed above per file)")?;
        }
        Ok(())
    }
}

/// The rejected rows of one export file the engine read.
#[derive(Debug, Clone)]
pub struct ExportReport {
    pub rejects: FileRejects,
    /// The rejects file beside the store that lists them (none for an in-memory store).
    pub rejects_file: Option<PathBuf>,
    /// Problems that did not stop the sync (the rejects file could not be written).
    pub warnings: Vec<String>,
}

impl std::fmt::Display for ExportReport {
    /// As `kpi import` prints a file: `exports/orders/a.csv: orders, 1000 read, 2
    /// rejected (rejects: …)`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let r = &self.rejects;
        let mut notes = Vec::new();
        if let Some(file) = &self.rejects_file {
            notes.push(format!("rejects: {}", file.display()));
        }
        let unlisted = r.rejected.saturating_sub(r.listed.len() as u64);
        if unlisted > 0 {
            notes.push(format!(
                "the first {} listed, and {unlisted} more",
                r.listed.len()
            ));
        }
        notes.extend(self.warnings.iter().cloned());
        write!(
            f,
            "{}: {}, {} read, {} rejected, left out of the rollups",
            r.path.display(),
            r.table,
            r.rows,
            r.rejected
        )?;
        if !notes.is_empty() {
            write!(f, " ({})", notes.join("; "))?;
        }
        Ok(())
    }
}

/// Reads the exports under `source` and, in one transaction, imports the tables kept
/// whole (customers, subscriptions, surveys, …) through `kpi import`'s pipeline, then
/// replaces every rollup table with what the engine `options` choose computes from the
/// raw tables, written as the engine streams it. Any failure before the commit leaves
/// the store as it was, the imported tables included.
pub fn sync(
    store: &mut Store,
    source: &std::path::Path,
    options: &SyncOptions,
) -> Result<SyncReport, SyncError> {
    sync_what(store, source, options, None)
}

/// [`sync`] after `changed` (new or changed files under `source`) since the store's last
/// sync of `source`, as `kpi sync --follow` runs it: the day rollups are computed on the
/// engine for the days whose rows changed only, and what derives from them (repeat
/// purchases, cohorts, distinct counts, segments) in the store from its day rollups; the
/// rows per day and the refunds are computed whole, the first events from the changed
/// days where that suffices (`rollup_plan::FirstEvents`), and every export is still
/// counted for its rejects. With a changed export of customers (segments and cohorts
/// move with them), or a store without synced rollups, every rollup is computed again,
/// as by [`sync`].
pub fn sync_changed(
    store: &mut Store,
    source: &std::path::Path,
    options: &SyncOptions,
    changed: &[PathBuf],
) -> Result<SyncReport, SyncError> {
    let customers_changed = changed
        .iter()
        .any(|path| source::table_of(source, path) == Some("customers"));
    if customers_changed || !store.holds_days_of_the_engine_tables()? {
        return sync(store, source, options);
    }
    sync_what(store, source, options, Some(changed))
}

fn sync_what(
    store: &mut Store,
    source: &std::path::Path,
    options: &SyncOptions,
    changed: Option<&[PathBuf]>,
) -> Result<SyncReport, SyncError> {
    let started = Instant::now();
    let inputs = source::discover(source)?;
    let whole = source::discover_whole(source)?;
    let engine = Engine::start(options)?;
    // The rows the rollups leave out, found before the store is written; the same read
    // counts the rows per day the plan starts from.
    let ExportCounts {
        files: found,
        rows_per_day,
    } = engine.count_exports(&inputs, LISTED_PER_FILE)?;
    let plan = match changed {
        None => engine.plan(&inputs, &rows_per_day)?,
        Some(changed) => {
            let stored = store.rows_per_day()?;
            let firsts = |days: &ChangedDays| {
                Ok(if store.first_events_need_every_event(&days.events)? {
                    FirstEvents::Whole
                } else {
                    FirstEvents::OfChangedDays
                })
            };
            engine.plan_changed(&inputs, changed, &stored, &rows_per_day, firsts)?
        }
    };
    let source_key = absolute(source);
    let keys: Vec<String> = found
        .iter()
        .map(|f| absolute(&f.path).to_string_lossy().into_owned())
        .collect();
    let size = |path: &std::path::Path| std::fs::metadata(path).map_or(0, |m| m.len());
    let recorded: Vec<ExportRejects<'_>> = found
        .iter()
        .zip(&keys)
        .map(|(f, key)| ExportRejects {
            path: key,
            table: f.table,
            size: size(&f.path),
            rows: f.rows,
            rejected: f.rejected,
            listed: f
                .listed
                .iter()
                .map(|r| ListedReject {
                    line: r.line,
                    column: r.column.as_deref(),
                    reason: &r.reason,
                    raw: &r.raw,
                })
                .collect(),
        })
        .collect();
    let before = RejectsFilesBefore::save(store.path(), &whole);
    let outcome = store.all_or_nothing(|store| {
        // The segment and subscription rollups are counted in the store from these
        // tables, at the replacement's commit: they go in first.
        let imported = import_whole(store, &whole, options)?;
        store.replace_export_rejects(
            &source_key.to_string_lossy(),
            &ENGINE_ONLY,
            &recorded,
            started.elapsed().as_millis() as u64,
        )?;
        // Each query's rows go into the store batch by batch as the engine yields
        // them: nothing of the result is collected.
        let mut replace = match &plan.changed {
            None => RollupReplace::begin(store)?,
            Some((days, firsts)) => RollupReplace::begin_days(store, days, *firsts)?,
        };
        let mut insert = replace.table("ru_table_days", &TABLE_DAYS_COLUMNS)?;
        for row in &plan.table_days {
            let values: Vec<ValueRef<'_>> = row.iter().map(ValueRef::from).collect();
            insert.row(&values)?;
        }
        drop(insert);
        for query in &plan.queries {
            let mut insert = replace.table(query.table, query.columns)?;
            engine.stream(query, |batch| {
                engine::write_batch(query.table, batch, &mut insert)
            })?;
        }
        // The cohorts were counted on the engine from the customers as exported: they
        // hold only if those are the customers the store now holds.
        if let Some(row) = replace.signups_disagreement()? {
            return Err(SyncError::CustomersDisagree(row));
        }
        Ok::<_, SyncError>((imported, replace.commit()?))
    });
    let (imported, rollups) = before.settle(outcome)?;
    let engine_files: Vec<&PathBuf> = inputs
        .iter()
        .filter(|i| ENGINE_ONLY.contains(&i.table))
        .flat_map(|i| i.locations.iter().flat_map(|l| &l.files))
        .collect();
    let rejected = write_rejects_files(store.path(), &engine_files, found);
    Ok(SyncReport {
        inputs: inputs
            .iter()
            .map(|i| (i.table.to_string(), i.files))
            .collect(),
        imported,
        rejected,
        rollups: Some(rollups),
        first_events: plan.changed.as_ref().map(|(_, firsts)| *firsts),
        changed_days: plan.changed.map(|(days, _)| days),
        duration: started.elapsed(),
        engine_memory: engine.pool_peak(),
    })
}

/// `path` made absolute (symbolic links resolved), as the import log keys files.
fn absolute(path: &std::path::Path) -> PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
}

/// Writes each file's rejects into its rejects file beside the store (as `kpi import`
/// names it, `rejects_path`), once the store committed them; removes the rejects file
/// of an engine file that has none now (fixed since the last sync).
fn write_rejects_files(
    store_path: &std::path::Path,
    engine_files: &[&PathBuf],
    found: Vec<FileRejects>,
) -> Vec<ExportReport> {
    let in_memory = store_path.as_os_str() == ":memory:";
    if !in_memory {
        for file in engine_files {
            if !found.iter().any(|f| &&f.path == file) {
                let _ = std::fs::remove_file(rejects_path(store_path, &absolute(file)));
            }
        }
    }
    found
        .into_iter()
        .map(|rejects| {
            if in_memory {
                return ExportReport {
                    rejects,
                    rejects_file: None,
                    warnings: Vec::new(),
                };
            }
            let path = rejects_path(store_path, &absolute(&rejects.path));
            match write_rejects_file(&path, &rejects) {
                Ok(()) => ExportReport {
                    rejects,
                    rejects_file: Some(path),
                    warnings: Vec::new(),
                },
                Err(e) => ExportReport {
                    rejects,
                    rejects_file: None,
                    warnings: vec![format!(
                        "rejected rows are in the store but could not be written to {}: {e}",
                        path.display()
                    )],
                },
            }
        })
        .collect()
}

/// The rejects file of one export file, as `kpi import` writes one (`line, column,
/// reason, row`), written beside and moved into place; a last record says how many
/// rejected rows are not listed.
fn write_rejects_file(path: &std::path::Path, rejects: &FileRejects) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(std::path::Path::new("."));
    std::fs::create_dir_all(dir)?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let temp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let written = (|| {
        let mut writer = csv::Writer::from_path(&temp)?;
        writer.write_record(["line", "column", "reason", "row"])?;
        for row in &rejects.listed {
            writer.write_record([
                row.line.to_string().as_str(),
                row.column.as_deref().unwrap_or(""),
                &row.reason,
                &row.raw,
            ])?;
        }
        let unlisted = rejects.rejected.saturating_sub(rejects.listed.len() as u64);
        if unlisted > 0 {
            writer.write_record(["", "", &unlisted_reason(unlisted, rejects.listed.len()), ""])?;
        }
        writer.flush()?;
        std::fs::rename(&temp, path)
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    written.map_err(std::io::Error::other)
}

/// The rejects files of the tables kept whole as they were before a sync: each import
/// moves its rejects file into place as its savepoint is released, before the sync's
/// transaction commits, so a sync that then rolls back puts them back as they were
/// (none where there was none), and the rejects files never list rows the store does
/// not hold.
struct RejectsFilesBefore {
    /// Each rejects file an import of the sync may write, and a copy of it as it was.
    saved: Vec<(PathBuf, Option<PathBuf>)>,
}

impl RejectsFilesBefore {
    fn save(store_path: &std::path::Path, whole: &[WholeTable]) -> Self {
        if store_path.as_os_str() == ":memory:" {
            return Self { saved: Vec::new() };
        }
        let saved = whole
            .iter()
            .flat_map(|t| &t.files)
            .map(|file| {
                let path = rejects_path(store_path, &absolute(file));
                let copy = path.with_extension(format!("csv.before-sync.{}", std::process::id()));
                let kept = path.exists() && std::fs::copy(&path, &copy).is_ok();
                (path, kept.then_some(copy))
            })
            .collect();
        Self { saved }
    }

    /// After the sync's transaction: on success the copies go; on failure every rejects
    /// file is put back as it was.
    fn settle<T>(self, outcome: Result<T, SyncError>) -> Result<T, SyncError> {
        for (path, copy) in &self.saved {
            match (&outcome, copy) {
                (Ok(_), Some(copy)) => {
                    let _ = std::fs::remove_file(copy);
                }
                (Ok(_), None) => {}
                (Err(_), Some(copy)) => {
                    let _ = std::fs::rename(copy, path);
                }
                (Err(_), None) => {
                    let _ = std::fs::remove_file(path);
                }
            }
        }
        outcome
    }
}

/// [`sync`] of the tables kept whole only, in one transaction, the rollups left as they
/// are: what `--follow` does when no export the engine reads changed
/// ([`feeds_the_engine`]). Files unchanged since their last import are not read again;
/// a grown one is read from where its last import stopped, as `kpi import` does; the
/// rollups counted in the store from these tables (the subscription book) are
/// refreshed by the imports.
pub fn sync_tables_kept_whole(
    store: &mut Store,
    source: &std::path::Path,
    options: &SyncOptions,
) -> Result<SyncReport, SyncError> {
    let started = Instant::now();
    let whole = source::discover_whole(source)?;
    let before = RejectsFilesBefore::save(store.path(), &whole);
    let imported =
        before.settle(store.all_or_nothing(|store| import_whole(store, &whole, options)))?;
    Ok(SyncReport {
        inputs: Vec::new(),
        imported,
        rejected: Vec::new(),
        rollups: None,
        changed_days: None,
        first_events: None,
        duration: started.elapsed(),
        engine_memory: None,
    })
}

fn import_whole(
    store: &mut Store,
    whole: &[WholeTable],
    options: &SyncOptions,
) -> Result<Vec<ImportReport>, SyncError> {
    let mut imported = Vec::new();
    for table in whole {
        let import = ImportOptions {
            table: Some(table.table.to_string()),
            strict: false,
            config: options.config.clone(),
            file_is_complete: true,
        };
        for file in &table.files {
            imported.push(import_file(store, file, &import).map_err(SyncError::Import)?);
        }
    }
    Ok(imported)
}
