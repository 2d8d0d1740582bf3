//! Everything one screen or one report shows, computed once from the store.
//! Views and report writers only read a `Snapshot`; they never touch SQL.

use chrono::NaiveDate;

use crate::alerts::Alert;
use crate::metrics::{CohortMatrix, MetricDef, Series};

#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    /// The reference date (SPEC §3): the latest date in the data, or `--as-of`.
    pub as_of: Option<NaiveDate>,
    pub metrics: Vec<MetricDef>,
    pub series: Vec<Series>,
    pub cohorts: Vec<CohortMatrix>,
    pub alerts: Vec<Alert>,
}
