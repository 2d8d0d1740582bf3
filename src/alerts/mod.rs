//! Alerts: deviations from the rolling mean, tiers, pulse, contributions, targets and
//! follow-ups (SPEC §6).

use chrono::NaiveDate;
use serde::Serialize;

use crate::config::Config;
use crate::metrics::{Direction, Grain, MetricDef, MetricError, Segment};
use crate::store::Store;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Tier {
    Mild,
    Strong,
}

/// The direction of a metric over its last three periods, judged by what is good for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Pulse {
    Improving,
    Stalled,
    Deteriorating,
}

/// A segment's (or account's) part in an alert's movement.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Contribution {
    pub segment: Segment,
    /// The segment's own change against its rolling mean, in the metric's unit.
    pub change: f64,
    /// Its share of the total change, in percent (shares of all segments sum to 100).
    pub share_pct: f64,
}

/// An open alert: a metric's latest complete period deviating from its rolling mean, or
/// a target whose pace misses.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Alert {
    /// Stable identity (metric, segment, grain, period) under which acknowledgement and
    /// snooze are stored.
    pub key: String,
    pub metric: String,
    pub segment: Option<Segment>,
    pub grain: Grain,
    pub period: String,
    pub value: f64,
    pub rolling_mean: f64,
    /// (value − rolling mean) ÷ |rolling mean| × 100.
    pub change_pct: f64,
    pub tier: Tier,
    pub direction: Direction,
    /// Whether the movement is good for this metric.
    pub good: bool,
    pub contributors: Vec<Contribution>,
    pub owner: Option<String>,
    pub follow_up: String,
    pub acknowledged: bool,
    /// Snoozed until this date (inclusive), if snoozed.
    pub snoozed_until: Option<NaiveDate>,
}

/// Progress of a `kpi.toml` target.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TargetStatus {
    pub metric: String,
    pub target: f64,
    pub by: NaiveDate,
    pub current: Option<f64>,
    /// Share of the way from the starting value to the target, 0–100 (may exceed 100).
    pub progress_pct: Option<f64>,
    /// Value the linear pace projects for `by`.
    pub projected: Option<f64>,
    pub at_risk: bool,
}

/// Everything `alerts` derives from the metrics in one pass.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Evaluation {
    pub alerts: Vec<Alert>,
    /// Pulse by metric id.
    pub pulses: Vec<(String, Pulse)>,
    pub targets: Vec<TargetStatus>,
}

/// Computes open alerts, pulses and targets as of `as_of`, merging stored alert state.
pub fn evaluate(
    _store: &Store,
    _config: &Config,
    _as_of: NaiveDate,
    _catalog: &[MetricDef],
) -> Result<Evaluation, MetricError> {
    Ok(Evaluation::default())
}
