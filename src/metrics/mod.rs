//! The metric catalog: one definition per metric, computed from the store.

mod period;

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

pub use period::{Grain, Period};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Unit {
    /// Currency units (not cents).
    Currency,
    Percent,
    Count,
    /// A plain ratio such as LTV:CAC or SPI.
    Ratio,
    Hours,
    Days,
    Seconds,
    Months,
    /// A score on its own scale (NPS −100…100, CES 1–7, CSAT mean 1–5).
    Score,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    HigherIsBetter,
    LowerIsBetter,
}

/// A metric's definition. Built-in metrics borrow static text; external metrics (from
/// the `metrics` table) own theirs.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MetricDef {
    pub id: Cow<'static, str>,
    pub name: Cow<'static, str>,
    pub unit: Unit,
    pub direction: Direction,
    pub formula: Cow<'static, str>,
    /// Tables the metric is computed from; "no data — import <table>" names the first empty one.
    pub sources: &'static [&'static str],
    /// Dimensions the metric can be broken down by.
    pub segments: &'static [&'static str],
}

/// A breakdown value: `channel = paid_search`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Segment {
    pub dimension: String,
    pub value: String,
}

/// A metric's value in one period. `value` is `None` when there is nothing honest to
/// show, and `note` says why ("no data — import spend", "n/a: no churn yet").
#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    pub period: Period,
    pub value: Option<f64>,
    pub note: Option<String>,
    /// The period holds the reference date but does not end on it.
    pub partial: bool,
}

/// A metric's values over consecutive periods of one grain, oldest first.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub metric: String,
    pub segment: Option<Segment>,
    pub grain: Grain,
    pub points: Vec<Point>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CohortVariant {
    PurchasingCustomers,
    ActiveUsers,
    SubscribedCustomers,
    RevenueRetention,
}

/// One cohort: `cells[k]` is the share (0–1) of the cohort active in month `cohort + k`;
/// `forecast[k]` is set only where `cells[k]` is not yet observed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CohortRow {
    pub cohort: String,
    pub size: u64,
    pub cells: Vec<Option<f64>>,
    pub forecast: Vec<Option<f64>>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CohortMatrix {
    pub variant: CohortVariant,
    pub rows: Vec<CohortRow>,
}

/// A metric computed over a date range, overall or broken down by a dimension.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeriesRequest<'a> {
    pub metric: &'a str,
    pub grain: Grain,
    /// Periods from the one holding `from` to the one holding `to`, inclusive.
    pub from: chrono::NaiveDate,
    pub to: chrono::NaiveDate,
    /// `None`: one overall series; `Some(dimension)`: one series per segment value.
    pub by: Option<&'a str>,
}

#[derive(Debug, thiserror::Error)]
pub enum MetricError {
    #[error("unknown metric {0:?}")]
    UnknownMetric(String),
    #[error("metric {metric} cannot be broken down by {dimension:?}")]
    UnknownDimension { metric: String, dimension: String },
    #[error("{0}")]
    Store(#[from] rusqlite::Error),
}

/// The reference date of SPEC §3: the latest date present in the store's data.
pub fn reference_date(
    _store: &crate::store::Store,
) -> Result<Option<chrono::NaiveDate>, MetricError> {
    Ok(None)
}

/// Every metric: the built-in catalog, then the external ones of the `metrics` table.
pub fn catalog(_store: &crate::store::Store) -> Result<Vec<MetricDef>, MetricError> {
    Ok(Vec::new())
}

/// Computes one metric's series. `as_of` marks the period holding it as partial.
pub fn compute(
    _store: &crate::store::Store,
    _config: &crate::config::Config,
    _as_of: chrono::NaiveDate,
    _request: &SeriesRequest<'_>,
) -> Result<Vec<Series>, MetricError> {
    Ok(Vec::new())
}

/// The cohort matrix of one variant, with its forecast cells.
pub fn cohorts(
    _store: &crate::store::Store,
    _config: &crate::config::Config,
    _as_of: chrono::NaiveDate,
    variant: CohortVariant,
) -> Result<CohortMatrix, MetricError> {
    Ok(CohortMatrix {
        variant,
        rows: Vec::new(),
    })
}
