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
pub mod source;

use std::path::PathBuf;
use std::time::{Duration, Instant};

pub use engine::Engine;
pub use source::{ENGINE_ONLY, Format, Input, Location, WholeTable, feeds_the_engine};

use crate::config::Config;
use crate::import::{ImportError, ImportOptions, ImportReport, import_file};
use crate::store::Store;
use crate::store::rollup_plan::RollupReplace;

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
         validated into the store ({0}): export customers with signup_date as YYYY-MM-DD \
         and every row valid, beside the other exports (nothing synced)"
    )]
    CustomersDisagree(String),
    #[error("writing the rollups: {0}")]
    Store(#[from] rusqlite::Error),
    #[error("cannot start the query runtime: {0}")]
    Runtime(std::io::Error),
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
    /// In-process parallelism (0: the machine's cores).
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
    /// Per rollup table: the rows written; `None` when the rollups were left as they were
    /// (no export the engine reads had changed).
    pub rollups: Option<Vec<(String, u64)>>,
    pub duration: Duration,
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
        match &self.rollups {
            Some(rollups) => {
                let rows: u64 = rollups.iter().map(|(_, n)| n).sum();
                write!(
                    f,
                    "synced {} rollup tables ({rows} rows) from {} in {:.2} s",
                    rollups.len(),
                    if inputs.is_empty() {
                        "no exports".to_string()
                    } else {
                        inputs.join(", ")
                    },
                    self.duration.as_secs_f64()
                )?;
            }
            None => write!(
                f,
                "synced {} changed file(s) of the tables kept whole in {:.2} s; rollups \
                 unchanged (no export of orders, refunds, events or customers changed)",
                read.len(),
                self.duration.as_secs_f64()
            )?,
        }
        let rejected: u64 = self.imported.iter().map(|r| r.rows_rejected).sum();
        if rejected > 0 {
            write!(f, "; {rejected} rows rejected (listed above per file)")?;
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
    let started = Instant::now();
    let inputs = source::discover(source)?;
    let whole = source::discover_whole(source)?;
    let engine = Engine::start(options)?;
    let queries = engine.plan(&inputs)?;
    let (imported, rollups) = store.all_or_nothing(|store| {
        // The segment and subscription rollups are counted in the store from these
        // tables, at the replacement's commit: they go in first.
        let imported = import_whole(store, &whole, options)?;
        // Each query's rows go into the store batch by batch as the engine yields
        // them: nothing of the result is collected.
        let mut replace = RollupReplace::begin(store)?;
        for query in &queries {
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
    })?;
    Ok(SyncReport {
        inputs: inputs
            .iter()
            .map(|i| (i.table.to_string(), i.files))
            .collect(),
        imported,
        rollups: Some(rollups),
        duration: started.elapsed(),
    })
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
    let imported = store.all_or_nothing(|store| import_whole(store, &whole, options))?;
    Ok(SyncReport {
        inputs: Vec::new(),
        imported,
        rollups: None,
        duration: started.elapsed(),
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
