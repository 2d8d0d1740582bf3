//! The metric catalog: one definition per metric, computed from the store.
//!
//! Pure given a store: every function here reads the store (its rollups where the raw
//! tables are big) and never writes. [`Engine`] computes many metrics over one store
//! and shares the rollup reads between them; [`compute`] is the one-shot form.

mod acquisition;
pub mod catalog;
mod cohort;
mod customers;
mod delivery;
mod engagement;
mod engine;
mod external;
mod revenue;
pub mod satisfaction;
pub mod subscriptions;

use std::borrow::Cow;

use chrono::NaiveDate;

use serde::{Deserialize, Serialize};

pub use crate::dates::{Grain, Period, repeat_deltas};
pub use catalog::MetricId;
pub use cohort::forecast_survival;
pub use customers::{new_customers, reads_given_subscriptions};
pub use engine::{Cell, Engine};

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
/// the `metrics` table) own theirs. Serialised (JSON catalog) with its public meaning
/// only: the fields after `segments` are how kpi computes and alerts on it.
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
    /// The module that computes it.
    #[serde(skip)]
    pub module: catalog::Module,
    /// How its value builds up over a period.
    #[serde(skip)]
    pub aggregation: catalog::Aggregation,
    /// Every table its value can depend on: what decides which metrics an import makes
    /// stale. `sources` names the tables to import for a "no data" note; this is the
    /// conservative superset (a customer metric reads orders or subscriptions for
    /// activity, CAC payback reads margins and ARPU, …), and no wider than needed: an
    /// events log appended every few seconds must not recompute LTV:CAC.
    #[serde(skip)]
    pub reads: &'static [&'static str],
    /// What counts the records behind its value, for the alerts' volume guard: the count
    /// of its first source, the thing it measures.
    #[serde(skip)]
    pub volume: Option<catalog::Volume>,
    /// What weighs a segment in its total when the metric is a ratio: the count of the
    /// first source that has one (CAC, spend ÷ signups, weighs channels by signups).
    #[serde(skip)]
    pub weight: Option<catalog::Volume>,
    /// The metric it is computed from, whose alert tells the same story first.
    #[serde(skip)]
    pub derived_from: Option<catalog::MetricId>,
    /// The recommended follow-ups of its alerts.
    #[serde(skip)]
    pub follow_up: catalog::FollowUpFamily,
    /// Where reports list it.
    #[serde(skip)]
    pub section: catalog::Section,
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

/// The reference date of SPEC §3: the latest date of any recorded fact in the store, up to
/// today's clock (see [`crate::store::Store::latest_fact_date`]).
pub fn reference_date(store: &crate::store::Store) -> Result<Option<NaiveDate>, MetricError> {
    Ok(reference(store, chrono::Local::now().date_naive())?.map(|r| r.date))
}

/// The reference date as of `today`, with the table and column it was read from.
pub fn reference(
    store: &crate::store::Store,
    today: NaiveDate,
) -> Result<Option<crate::store::status::ReferenceDate>, MetricError> {
    Ok(store.latest_fact_date(today)?)
}

/// Every metric: the built-in catalog, then the external ones of the `metrics` table.
pub fn catalog(store: &crate::store::Store) -> Result<Vec<MetricDef>, MetricError> {
    let config = crate::config::Config::default();
    Engine::new(store, &config, NaiveDate::MIN).catalog()
}

/// Computes one metric's series. `as_of` marks the period holding it as partial; periods
/// after it are not computed.
pub fn compute(
    store: &crate::store::Store,
    config: &crate::config::Config,
    as_of: NaiveDate,
    request: &SeriesRequest<'_>,
) -> Result<Vec<Series>, MetricError> {
    Engine::new(store, config, as_of).series(request)
}

/// The cohort matrix of one variant, with its forecast cells.
pub fn cohorts(
    store: &crate::store::Store,
    config: &crate::config::Config,
    as_of: NaiveDate,
    variant: CohortVariant,
) -> Result<CohortMatrix, MetricError> {
    cohort::matrix(&Engine::new(store, config, as_of), variant)
}

pub(crate) fn compute_cells(
    eng: &Engine<'_>,
    def: &MetricDef,
    periods: &[Period],
    segment: Option<&Segment>,
) -> Result<Vec<Cell>, MetricError> {
    compute_in(def.module, eng, def.id.as_ref(), periods, segment)
}

/// Computes `id` in `module`; a module asked for a metric it does not compute says
/// [`MetricError::UnknownMetric`].
pub(crate) fn compute_in(
    module: catalog::Module,
    eng: &Engine<'_>,
    id: &str,
    periods: &[Period],
    segment: Option<&Segment>,
) -> Result<Vec<Cell>, MetricError> {
    use catalog::Module;
    match module {
        Module::Revenue => revenue::compute(eng, id, periods, segment),
        Module::Subscriptions => subscriptions::compute(eng, id, periods, segment),
        Module::Customers => customers::compute(eng, id, periods, segment),
        Module::Acquisition => acquisition::compute(eng, id, periods, segment),
        Module::Satisfaction => satisfaction::compute(eng, id, periods, segment),
        Module::Engagement => engagement::compute(eng, id, periods, segment),
        Module::Delivery => delivery::compute(eng, id, periods, segment),
        Module::External => external::compute(eng, id, periods, segment),
    }
}

/// Cached distinct counts (`ru_distinct`) keyed by each period's first day.
pub(crate) fn distinct_cached(
    eng: &Engine<'_>,
    kind: &str,
    periods: &[Period],
) -> Result<Vec<f64>, MetricError> {
    let days: Vec<NaiveDate> = periods.iter().map(|p| p.start).collect();
    distinct_cached_at(eng, kind, &days)
}

/// Cached distinct counts of `kind` at the given keys (ascending days).
pub(crate) fn distinct_cached_at(
    eng: &Engine<'_>,
    kind: &str,
    days: &[NaiveDate],
) -> Result<Vec<f64>, MetricError> {
    keyed_cached_at(
        eng,
        &crate::store::metric_queries::DailyQuery::Distinct(kind.to_string()),
        days,
    )
}

/// The first number of `query`'s rows keyed by the given days (ascending), zero for a day
/// without a row: counts cached per period, keyed by its first day.
pub(crate) fn keyed_cached_at(
    eng: &Engine<'_>,
    query: &crate::store::metric_queries::DailyQuery,
    days: &[NaiveDate],
) -> Result<Vec<f64>, MetricError> {
    let (Some(first), Some(last)) = (days.first(), days.last()) else {
        return Ok(Vec::new());
    };
    let rows = eng.daily(query, *first, *last)?;
    let map: std::collections::HashMap<NaiveDate, f64> =
        rows.iter().map(|(d, v)| (*d, v[0])).collect();
    Ok(days
        .iter()
        .map(|d| map.get(d).copied().unwrap_or(0.0))
        .collect())
}

/// Calendar months touched from `first` to `last`, both included (Jan 31 → Mar 1 is 3).
pub(crate) fn months_spanned(first: NaiveDate, last: NaiveDate) -> i32 {
    use chrono::Datelike;
    (last.year() - first.year()) * 12 + last.month() as i32 - first.month() as i32 + 1
}

/// The median of `values` (sorted in place), if any.
pub(crate) fn median(values: &mut [f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    Some(if values.len() % 2 == 0 {
        (values[mid - 1] + values[mid]) / 2.0
    } else {
        values[mid]
    })
}
