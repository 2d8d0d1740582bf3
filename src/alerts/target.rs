//! Targets from `kpi.toml` (SPEC §4, seed 000: "alert when a milestone is at risk"):
//! progress from the starting value, the linear pace line to the target date, and a
//! projection of the recent trend. A target is at risk when the projection misses it,
//! or when a milestone was missed or is projected to be.

use chrono::NaiveDate;
use serde::Serialize;

use crate::config::Target;
use crate::metrics::{Direction, Grain, Point};

/// One observation of the metric, dated at the end of its period.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Observation {
    date: NaiveDate,
    value: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MilestoneStatus {
    pub date: NaiveDate,
    pub value: f64,
    /// The last complete period's value on or before the milestone, once it has passed.
    pub actual: Option<f64>,
    /// The trend's projection, for milestones still ahead.
    pub projected: Option<f64>,
    pub missed: bool,
}

/// Progress of a `kpi.toml` target.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TargetStatus {
    pub metric: String,
    pub target: f64,
    pub by: NaiveDate,
    pub grain: Grain,
    /// Value at the start of the pace line (the first complete period from `start`).
    pub baseline: Option<f64>,
    /// The latest complete period's value.
    pub current: Option<f64>,
    /// Share of the way from the baseline to the target, in percent (may exceed 100 or
    /// go negative when the metric moved away).
    pub progress_pct: Option<f64>,
    /// Where the straight line from the baseline to the target stands at the current
    /// value's date: on pace means at or beyond it.
    pub on_pace_value: Option<f64>,
    /// Value the recent trend (least-squares slope) projects for `by`.
    pub projected: Option<f64>,
    pub milestones: Vec<MilestoneStatus>,
    /// The date has passed and the target was not reached.
    pub missed: bool,
    pub at_risk: bool,
    /// Why values are missing ("unknown metric", "no data — import surveys"…).
    pub note: Option<String>,
}

impl TargetStatus {
    /// The tier of the target's alert, the same wherever it is shown: strong once the date
    /// or a milestone has passed unmet (a fact), mild while it is only projected to miss.
    pub fn tier(&self) -> Option<super::Tier> {
        if !self.at_risk {
            return None;
        }
        let passed_miss = self.missed
            || self
                .milestones
                .iter()
                .any(|m| m.missed && m.actual.is_some());
        Some(if passed_miss {
            super::Tier::Strong
        } else {
            super::Tier::Mild
        })
    }
}

/// Whether `value` falls short of `goal` for a metric of `direction`.
fn misses(value: f64, goal: f64, direction: Direction) -> bool {
    // A value equal to the goal (up to binary rounding) reaches it.
    let slack = 1e-9 * goal.abs().max(1.0);
    match direction {
        Direction::HigherIsBetter => value < goal - slack,
        Direction::LowerIsBetter => value > goal + slack,
    }
}

/// Least-squares slope per day; `None` with fewer than two distinct dates.
fn slope_per_day(observations: &[Observation]) -> Option<f64> {
    let first = observations.first()?.date;
    let xs: Vec<f64> = observations
        .iter()
        .map(|o| (o.date - first).num_days() as f64)
        .collect();
    let n = xs.len() as f64;
    let mean_x = xs.iter().sum::<f64>() / n;
    let mean_y = observations.iter().map(|o| o.value).sum::<f64>() / n;
    let (mut sxy, mut sxx) = (0.0, 0.0);
    for (x, o) in xs.iter().zip(observations) {
        sxy += (x - mean_x) * (o.value - mean_y);
        sxx += (x - mean_x) * (x - mean_x);
    }
    (sxx > 0.0).then(|| sxy / sxx)
}

/// The status of `target` for a metric of `direction`, given its points at the target's
/// grain from the pace line's start up to `as_of`. Partial periods are ignored.
pub fn target_status(
    target: &Target,
    grain: Grain,
    direction: Direction,
    points: &[Point],
    as_of: NaiveDate,
) -> TargetStatus {
    let observations: Vec<Observation> = points
        .iter()
        .filter(|p| !p.partial && p.period.end() <= as_of)
        .filter_map(|p| {
            p.value.filter(|v| v.is_finite()).map(|value| Observation {
                date: p.period.end(),
                value,
            })
        })
        .collect();
    let mut status = TargetStatus {
        metric: target.metric.clone(),
        target: target.value,
        by: target.by,
        grain,
        baseline: None,
        current: None,
        progress_pct: None,
        on_pace_value: None,
        projected: None,
        milestones: Vec::new(),
        missed: false,
        at_risk: false,
        note: None,
    };
    let (Some(first), Some(last)) = (observations.first(), observations.last()) else {
        status.note = points.iter().find_map(|p| p.note.clone());
        status.milestones = target
            .milestones
            .iter()
            .map(|m| MilestoneStatus {
                date: m.date,
                value: m.value,
                actual: None,
                projected: None,
                missed: false,
            })
            .collect();
        return status;
    };
    status.baseline = Some(first.value);
    status.current = Some(last.value);
    if target.value != first.value {
        status.progress_pct =
            Some((last.value - first.value) / (target.value - first.value) * 100.0);
    }
    let span = (target.by - first.date).num_days();
    if span > 0 {
        let elapsed = (last.date - first.date).num_days().min(span) as f64;
        status.on_pace_value =
            Some(first.value + (target.value - first.value) * elapsed / span as f64);
    }
    let slope = slope_per_day(&observations);
    let projected_at =
        |date: NaiveDate| slope.map(|s| last.value + s * (date - last.date).num_days() as f64);

    if target.by <= as_of {
        // The date has passed: what counts is where the metric ended up.
        status.projected = Some(last.value);
        status.missed = misses(last.value, target.value, direction);
        status.at_risk = status.missed;
    } else {
        status.projected = projected_at(target.by);
        status.at_risk = status
            .projected
            .is_some_and(|p| misses(p, target.value, direction));
    }
    for m in &target.milestones {
        let (actual, projected) = if m.date <= last.date {
            let actual = observations
                .iter()
                .rev()
                .find(|o| o.date <= m.date)
                .map(|o| o.value);
            (actual, None)
        } else {
            (None, projected_at(m.date))
        };
        let missed = actual
            .or(projected)
            .is_some_and(|v| misses(v, m.value, direction));
        status.at_risk |= missed;
        status.milestones.push(MilestoneStatus {
            date: m.date,
            value: m.value,
            actual,
            projected,
            missed,
        });
    }
    status
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Milestone;
    use crate::metrics::Period;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn monthly(first: &str, values: &[f64]) -> Vec<Point> {
        let mut period = Period::containing(Grain::Month, d(first));
        values
            .iter()
            .map(|v| {
                let p = Point {
                    period,
                    value: Some(*v),
                    note: None,
                    partial: false,
                };
                period = period.next();
                p
            })
            .collect()
    }

    fn nps_40(milestones: &[(&str, f64)]) -> Target {
        Target {
            metric: "nps".into(),
            value: 40.0,
            by: d("2026-12-31"),
            milestones: milestones
                .iter()
                .map(|(date, value)| Milestone {
                    date: d(date),
                    value: *value,
                })
                .collect(),
            grain: None,
            start: None,
        }
    }

    #[test]
    fn pace_that_hits_the_target_is_not_at_risk() {
        // NPS +5 a month from 20 at the end of June reaches 45 by December's end.
        let points = monthly("2026-06-01", &[20.0, 25.0, 30.0, 35.0]);
        let s = target_status(
            &nps_40(&[]),
            Grain::Month,
            Direction::HigherIsBetter,
            &points,
            d("2026-10-15"),
        );
        assert_eq!(s.current, Some(35.0));
        assert_eq!(s.baseline, Some(20.0));
        assert_eq!(s.progress_pct, Some(75.0));
        let projected = s.projected.unwrap();
        assert!(projected > 40.0, "{projected}");
        assert!(!s.at_risk);
        assert!(!s.missed);
        // From 2026-06-30 to 2026-12-31 is 184 days; 2026-09-30 is 92 days in: halfway.
        assert!((s.on_pace_value.unwrap() - 30.0).abs() < 1e-9);
    }

    #[test]
    fn pace_that_misses_is_at_risk() {
        let points = monthly("2026-06-01", &[20.0, 22.0, 24.0, 26.0]);
        let s = target_status(
            &nps_40(&[]),
            Grain::Month,
            Direction::HigherIsBetter,
            &points,
            d("2026-10-15"),
        );
        // +2 per ~30.7 days from 26 on 2026-09-30 over 92 days ≈ 32.
        let projected = s.projected.unwrap();
        assert!((projected - 32.0).abs() < 0.1, "{projected}");
        assert!(s.at_risk);
        assert!(!s.missed);
    }

    #[test]
    fn a_missed_milestone_puts_a_target_at_risk_even_when_the_end_looks_fine() {
        // A late surge projects past 40, but the August milestone of 30 was missed.
        let points = monthly("2026-06-01", &[20.0, 26.0, 29.0, 36.0]);
        let target = nps_40(&[("2026-08-31", 30.0), ("2026-11-30", 35.0)]);
        let s = target_status(
            &target,
            Grain::Month,
            Direction::HigherIsBetter,
            &points,
            d("2026-10-15"),
        );
        assert!(s.projected.unwrap() > 40.0, "{:?}", s.projected);
        assert_eq!(s.milestones[0].actual, Some(29.0));
        assert!(s.milestones[0].missed);
        assert!(s.milestones[1].projected.unwrap() > 35.0);
        assert!(!s.milestones[1].missed);
        assert!(s.at_risk);
        // Reaching the milestone exactly is a hit.
        let points = monthly("2026-06-01", &[20.0, 25.0, 30.0, 35.0]);
        let target = nps_40(&[("2026-08-31", 30.0), ("2026-11-30", 38.0)]);
        let s = target_status(
            &target,
            Grain::Month,
            Direction::HigherIsBetter,
            &points,
            d("2026-10-15"),
        );
        assert_eq!(s.milestones[0].actual, Some(30.0));
        assert!(!s.milestones[0].missed);
        assert!(!s.milestones[1].missed, "{:?}", s.milestones[1]);
        assert!(!s.at_risk);
    }

    #[test]
    fn an_upcoming_milestone_projected_to_miss_is_at_risk() {
        // On course for the year-end 40 (a flat trend at 41), but the November
        // milestone asks for 45.
        let points = monthly("2026-06-01", &[41.0, 41.0, 41.0, 41.0]);
        let target = nps_40(&[("2026-11-30", 45.0)]);
        let s = target_status(
            &target,
            Grain::Month,
            Direction::HigherIsBetter,
            &points,
            d("2026-10-15"),
        );
        assert_eq!(s.projected, Some(41.0));
        assert!(s.milestones[0].missed);
        assert!(s.at_risk);
    }

    #[test]
    fn lower_is_better_targets_and_passed_dates() {
        let churn = Target {
            metric: "customer_churn_pct".into(),
            value: 3.0,
            by: d("2026-09-30"),
            milestones: vec![],
            grain: None,
            start: None,
        };
        let falling = monthly("2026-06-01", &[5.0, 4.0, 3.0, 2.5]);
        let s = target_status(
            &churn,
            Grain::Month,
            Direction::LowerIsBetter,
            &falling,
            d("2026-10-15"),
        );
        assert!(!s.missed && !s.at_risk);
        let flat = monthly("2026-06-01", &[5.0, 4.5, 4.0, 3.5]);
        let s = target_status(
            &churn,
            Grain::Month,
            Direction::LowerIsBetter,
            &flat,
            d("2026-10-15"),
        );
        assert!(s.missed && s.at_risk);
        assert_eq!(s.projected, Some(3.5));
    }

    #[test]
    fn no_data_keeps_the_note_and_raises_nothing() {
        let mut points = monthly("2026-06-01", &[0.0]);
        points[0].value = None;
        points[0].note = Some("no data — import surveys".into());
        let s = target_status(
            &nps_40(&[("2026-09-30", 30.0)]),
            Grain::Month,
            Direction::HigherIsBetter,
            &points,
            d("2026-10-15"),
        );
        assert_eq!(s.current, None);
        assert!(!s.at_risk);
        assert_eq!(s.note.as_deref(), Some("no data — import surveys"));
        assert_eq!(s.milestones.len(), 1);
        // One observation: no trend to project, nothing to judge yet.
        let one = monthly("2026-09-01", &[10.0]);
        let s = target_status(
            &nps_40(&[]),
            Grain::Month,
            Direction::HigherIsBetter,
            &one,
            d("2026-10-15"),
        );
        assert_eq!(
            (s.current, s.projected, s.at_risk),
            (Some(10.0), None, false)
        );
    }
}
