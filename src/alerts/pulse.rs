//! Pulse (seed 000): is a metric improving, stalled or deteriorating over its last three
//! complete periods? Judged by what is good for the metric, so falling churn improves.

use crate::metrics::{Direction, Period, Point};

use super::Pulse;
use super::deviation::complete_value;

/// How one period-to-period step looks for the metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    Good,
    Flat,
    Bad,
}

fn step(from: f64, to: f64, direction: Direction, flat_pct: f64) -> Step {
    let delta = to - from;
    let relative_pct = if from == 0.0 {
        // From zero any move is infinitely large; only no move at all is flat.
        if delta == 0.0 { 0.0 } else { f64::INFINITY }
    } else {
        delta.abs() / from.abs() * 100.0
    };
    if relative_pct < flat_pct || delta == 0.0 {
        return Step::Flat;
    }
    let rising = delta > 0.0;
    if rising == (direction == Direction::HigherIsBetter) {
        Step::Good
    } else {
        Step::Bad
    }
}

/// The pulse of three consecutive values, oldest first.
///
/// Improving: both steps good, or one good and one flat. Deteriorating: the mirror.
/// Anything else — two flat steps, or a good step undone by a bad one — is stalled: no
/// direction has held over the three periods.
pub fn pulse_of(values: [f64; 3], direction: Direction, flat_pct: f64) -> Pulse {
    let first = step(values[0], values[1], direction, flat_pct);
    let second = step(values[1], values[2], direction, flat_pct);
    match (first, second) {
        (Step::Good, Step::Good | Step::Flat) | (Step::Flat, Step::Good) => Pulse::Improving,
        (Step::Bad, Step::Bad | Step::Flat) | (Step::Flat, Step::Bad) => Pulse::Deteriorating,
        _ => Pulse::Stalled,
    }
}

/// The pulse over the three complete periods ending with `latest`; `None` when any of
/// them has no value.
pub fn pulse(
    points: &[Point],
    latest: Period,
    direction: Direction,
    flat_pct: f64,
) -> Option<Pulse> {
    let periods = latest.trailing(3);
    let values = [
        complete_value(points, periods[0])?,
        complete_value(points, periods[1])?,
        complete_value(points, periods[2])?,
    ];
    Some(pulse_of(values, direction, flat_pct))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::Grain;
    use Direction::{HigherIsBetter as Up, LowerIsBetter as Down};

    #[test]
    fn every_shape_for_a_metric_where_higher_is_better() {
        assert_eq!(pulse_of([100.0, 110.0, 120.0], Up, 1.0), Pulse::Improving);
        assert_eq!(pulse_of([100.0, 100.0, 120.0], Up, 1.0), Pulse::Improving);
        assert_eq!(pulse_of([100.0, 120.0, 120.5], Up, 1.0), Pulse::Improving);
        assert_eq!(
            pulse_of([120.0, 110.0, 100.0], Up, 1.0),
            Pulse::Deteriorating
        );
        assert_eq!(
            pulse_of([120.0, 120.0, 100.0], Up, 1.0),
            Pulse::Deteriorating
        );
        assert_eq!(pulse_of([100.0, 100.5, 100.2], Up, 1.0), Pulse::Stalled);
        assert_eq!(pulse_of([100.0, 120.0, 100.0], Up, 1.0), Pulse::Stalled);
        assert_eq!(pulse_of([100.0, 80.0, 100.0], Up, 1.0), Pulse::Stalled);
    }

    #[test]
    fn falling_churn_is_improving() {
        assert_eq!(pulse_of([5.0, 4.5, 4.0], Down, 1.0), Pulse::Improving);
        assert_eq!(pulse_of([4.0, 4.5, 5.0], Down, 1.0), Pulse::Deteriorating);
        assert_eq!(pulse_of([4.0, 4.0, 4.0], Down, 1.0), Pulse::Stalled);
    }

    #[test]
    fn zero_and_negative_values_do_not_break_the_steps() {
        assert_eq!(pulse_of([0.0, 0.0, 0.0], Up, 1.0), Pulse::Stalled);
        assert_eq!(pulse_of([0.0, 5.0, 10.0], Up, 1.0), Pulse::Improving);
        // NPS from −20 to −10 to 0: rising, good.
        assert_eq!(pulse_of([-20.0, -10.0, 0.0], Up, 1.0), Pulse::Improving);
        // A zero flat band makes any move count.
        assert_eq!(pulse_of([100.0, 100.1, 100.2], Up, 0.0), Pulse::Improving);
    }

    #[test]
    fn pulse_needs_three_complete_periods() {
        let start = Period::containing(
            Grain::Month,
            chrono::NaiveDate::from_ymd_opt(2026, 8, 1).unwrap(),
        );
        let point = |period: Period, value: Option<f64>, partial: bool| Point {
            period,
            value,
            note: None,
            partial,
        };
        let points = vec![
            point(start, Some(10.0), false),
            point(start.next(), Some(11.0), false),
            point(start.next().next(), Some(12.0), false),
            point(start.next().next().next(), Some(1.0), true),
        ];
        let latest = start.next().next();
        assert_eq!(pulse(&points, latest, Up, 1.0), Some(Pulse::Improving));
        // The partial month is not a third period.
        assert_eq!(pulse(&points, latest.next(), Up, 1.0), None);
        let mut gap = points.clone();
        gap[1].value = None;
        assert_eq!(pulse(&gap, latest, Up, 1.0), None);
    }
}
