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
pub use source::{Format, Input, Location};

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
}

impl Default for SyncOptions {
    fn default() -> Self {
        Self {
            cluster: None,
            partitions: 0,
            memory_mb: DEFAULT_MEMORY_MB,
        }
    }
}

/// What one sync did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncReport {
    /// Per raw table: the files read.
    pub inputs: Vec<(String, usize)>,
    /// Per rollup table: the rows written.
    pub rollups: Vec<(String, u64)>,
    pub duration: Duration,
}

impl std::fmt::Display for SyncReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let inputs: Vec<String> = self
            .inputs
            .iter()
            .map(|(table, files)| format!("{table} {files} file(s)"))
            .collect();
        let rows: u64 = self.rollups.iter().map(|(_, n)| n).sum();
        write!(
            f,
            "synced {} rollup tables ({rows} rows) from {} in {:.2} s",
            self.rollups.len(),
            if inputs.is_empty() {
                "no exports".to_string()
            } else {
                inputs.join(", ")
            },
            self.duration.as_secs_f64()
        )
    }
}

/// Reads the exports under `source`, computes every rollup on the engine `options`
/// choose and replaces the store's rollup tables with them in one transaction, written
/// as the engine streams them. Any failure before the commit leaves the store as it was.
pub fn sync(
    store: &mut Store,
    source: &std::path::Path,
    options: &SyncOptions,
) -> Result<SyncReport, SyncError> {
    let started = Instant::now();
    let inputs = source::discover(source)?;
    let engine = Engine::start(options)?;
    let queries = engine.plan(&inputs)?;
    // Each query's rows go into the store batch by batch as the engine yields them,
    // inside one transaction: nothing of the result is collected, and any error before
    // the commit drops (rolls back) the replacement.
    let mut replace = RollupReplace::begin(store)?;
    for query in &queries {
        let mut insert = replace.table(query.table, query.columns)?;
        engine.stream(query, |batch| {
            engine::write_batch(query.table, batch, &mut insert)
        })?;
    }
    let rollups = replace.commit()?;
    Ok(SyncReport {
        inputs: inputs
            .iter()
            .map(|i| (i.table.to_string(), i.files))
            .collect(),
        rollups,
        duration: started.elapsed(),
    })
}
