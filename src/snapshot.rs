//! Everything one screen or one report shows, computed once from the store.
//! Views and report writers only read a `Snapshot`; they never touch SQL.

use std::path::PathBuf;

use chrono::NaiveDate;

use crate::alerts::{Alert, Pulse, TargetStatus};
use crate::config::Config;
use crate::metrics::{CohortMatrix, Grain, MetricDef, Series};
use crate::store::Store;
use crate::store::status::{ImportLogEntry, RejectEntry, TableStatus};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Annotation {
    pub date: NaiveDate,
    pub label: String,
}

/// The state of the data itself, for the Data pane.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DataStatus {
    pub tables: Vec<TableStatus>,
    /// Newest first.
    pub imports: Vec<ImportLogEntry>,
    /// Newest first.
    pub rejects: Vec<RejectEntry>,
}

#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    pub store: PathBuf,
    /// The reference date (SPEC §3): the latest date in the data, or `--as-of`.
    /// `None` for an empty store.
    pub as_of: Option<NaiveDate>,
    pub config: Config,
    /// The catalog, built-in metrics first, then external ones.
    pub metrics: Vec<MetricDef>,
    /// Every metric at every grain, overall, over the configured time frame.
    pub series: Vec<Series>,
    /// One matrix per cohort variant.
    pub cohorts: Vec<CohortMatrix>,
    /// Open and acknowledged alerts, strong first.
    pub alerts: Vec<Alert>,
    pub pulses: Vec<(String, Pulse)>,
    pub targets: Vec<TargetStatus>,
    pub annotations: Vec<Annotation>,
    pub data: DataStatus,
}

impl Snapshot {
    pub fn metric(&self, id: &str) -> Option<&MetricDef> {
        self.metrics.iter().find(|m| m.id == id)
    }

    pub fn series(&self, metric: &str, grain: Grain) -> Option<&Series> {
        self.series
            .iter()
            .find(|s| s.metric == metric && s.grain == grain && s.segment.is_none())
    }

    pub fn pulse(&self, metric: &str) -> Option<Pulse> {
        self.pulses
            .iter()
            .find(|(id, _)| id == metric)
            .map(|(_, p)| *p)
    }
}

/// Computes a snapshot of the store as of `as_of` (default: its reference date).
pub fn build(
    store: &Store,
    config: &Config,
    _as_of: Option<NaiveDate>,
) -> anyhow::Result<Snapshot> {
    Ok(Snapshot {
        store: store.path().to_path_buf(),
        config: config.clone(),
        ..Snapshot::default()
    })
}
