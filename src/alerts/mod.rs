//! Alerts: deviations from the rolling mean, tiers, pulse, contributions, targets and
//! follow-ups (SPEC §6).

use serde::Serialize;

use crate::metrics::{Direction, Grain, Segment};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Tier {
    Mild,
    Strong,
}

/// An open alert: a metric's latest complete period deviating from its rolling mean, or
/// a target whose pace misses.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Alert {
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
    pub owner: Option<String>,
    pub follow_up: String,
}
