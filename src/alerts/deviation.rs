//! Deviation from the rolling mean and the tier it earns (SPEC §6, seed 000: mild from
//! 5 %, strong from 12 %). Pure functions over points, so the boundaries can be tested
//! exactly.

use crate::config::AlertConfig;
use crate::metrics::{Grain, Period, Point};

use super::Tier;

/// Thresholds in force for one metric: the metric's overrides over the global ones.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limits {
    pub window: usize,
    pub mild_pct: f64,
    pub strong_pct: f64,
    pub min_volume: u64,
    /// Noise guard factor (`signal::stands_out`); 0 disables.
    pub noise_k: f64,
    pub noise_window: usize,
    pub day_noise_k: f64,
}

impl Limits {
    pub fn for_metric(config: &AlertConfig, metric: &str) -> Self {
        let own = config.metrics.get(metric);
        Self {
            window: config.window,
            mild_pct: own.and_then(|t| t.mild_pct).unwrap_or(config.mild_pct),
            strong_pct: own.and_then(|t| t.strong_pct).unwrap_or(config.strong_pct),
            min_volume: own.and_then(|t| t.min_volume).unwrap_or(config.min_volume),
            noise_k: own.and_then(|t| t.noise_k).unwrap_or(config.noise_k),
            noise_window: config.noise_window,
            day_noise_k: config.day_noise_k,
        }
    }

    /// The noise guard's factor at `grain`: day grain asks for `day_noise_k`, because a
    /// week offers seven days to raise a false alarm where it offers one week.
    pub fn noise_k_at(&self, grain: Grain) -> f64 {
        match grain {
            Grain::Day if self.noise_k > 0.0 => self.noise_k.max(self.day_noise_k),
            _ => self.noise_k,
        }
    }

    /// Past periods whose deviations measure the noise at `grain`: `noise_window` months,
    /// at day grain as many days as `noise_window` weeks hold, at week grain as many weeks
    /// as `noise_window` months hold. A dozen days or weeks is too small a sample to tell
    /// a period's noise from its news: the median absolute deviation of 12 noisy weeks
    /// reads low as often as high, letting ordinary weeks through and holding back real
    /// moves (a small channel's 15 % fall whose weeks happened to look twice as noisy as
    /// they are). The detection benchmark's false alerts fell by a quarter with a year of
    /// weeks.
    pub fn noise_window_at(&self, grain: Grain) -> usize {
        match grain {
            Grain::Day => self.noise_window * 7,
            Grain::Week => (self.noise_window * WEEKS_A_YEAR).div_ceil(MONTHS_A_YEAR),
            Grain::Month => self.noise_window,
        }
    }

    /// The tier a deviation of `change_pct` earns, if any.
    ///
    /// Decimal boundaries are not exact in binary: (105 − 100) ÷ 100 × 100 may come out
    /// as 4.999…. A relative tolerance far below any displayed precision keeps a 5.0 %
    /// deviation mild while 4.9 % stays quiet.
    pub fn tier(&self, change_pct: f64) -> Option<Tier> {
        let magnitude = change_pct.abs();
        if !magnitude.is_finite() {
            return None;
        }
        let reaches = |threshold: f64| magnitude >= threshold - BOUNDARY_TOLERANCE * threshold;
        if reaches(self.strong_pct) {
            Some(Tier::Strong)
        } else if reaches(self.mild_pct) {
            Some(Tier::Mild)
        } else {
            None
        }
    }
}

const WEEKS_A_YEAR: usize = 52;
const MONTHS_A_YEAR: usize = 12;

/// Relative slack at a threshold: 1e-9 of it (5 % → 4.999999995 %).
const BOUNDARY_TOLERANCE: f64 = 1e-9;

/// A period's value against the mean of the periods before it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Deviation {
    pub period: Period,
    pub value: f64,
    pub rolling_mean: f64,
    /// (value − rolling mean) ÷ |rolling mean| × 100.
    pub change_pct: f64,
}

impl Deviation {
    /// The change in the metric's own unit.
    pub fn change(&self) -> f64 {
        self.value - self.rolling_mean
    }
}

/// The latest period of `grain` that is complete as of `as_of`: the one holding it when
/// `as_of` is its last day, else the one before (SPEC §3: a partial period is never
/// compared as if complete).
pub fn latest_complete(grain: Grain, as_of: chrono::NaiveDate) -> Period {
    let current = Period::containing(grain, as_of);
    if current.end() == as_of {
        current
    } else {
        current.prev()
    }
}

/// The value of a complete point for `period`, if the series has one.
pub fn complete_value(points: &[Point], period: Period) -> Option<f64> {
    points
        .iter()
        .find(|p| p.period == period)
        .filter(|p| !p.partial)
        .and_then(|p| p.value)
        .filter(|v| v.is_finite())
}

/// How a period's value is put beside its history.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Basis {
    /// Values compared as they are: levels (MRR), ratios and means (AOV, CSAT).
    #[default]
    Level,
    /// Sums over the period (revenue, orders) compared per day: a 28-day February is not
    /// a 10 % fall from a 31-day January. The rolling mean is scaled back to the compared
    /// period's length, so value, mean and change stay in the metric's own unit.
    PerDay,
}

/// The periods a period is compared with, oldest first: at day grain the same weekday of
/// each of the `window` weeks before (a Monday against Mondays, so the weekly rhythm of
/// a business is not news); at week and month grain the `window` periods just before.
pub fn baseline(period: Period, window: usize) -> Vec<Period> {
    match period.grain {
        Grain::Day => (1..=window)
            .rev()
            .map(|weeks| {
                Period::containing(
                    Grain::Day,
                    period.start - chrono::Duration::weeks(weeks as i64),
                )
            })
            .collect(),
        Grain::Week | Grain::Month => period.prev().trailing(window),
    }
}

/// The earliest period `baseline(period, window)` reaches back to.
pub fn baseline_start(period: Period, window: usize) -> Period {
    baseline(period, window).first().copied().unwrap_or(period)
}

/// The deviation of `period` from the mean of its `baseline` (level basis).
pub fn deviation(points: &[Point], period: Period, window: usize) -> Option<Deviation> {
    deviation_as(points, period, window, Basis::Level)
}

/// The deviation of `period` from the mean of its `baseline`, on `basis`.
///
/// `None` when there is not enough history (any of those periods missing, partial or
/// without a value), or when the rolling mean is zero or its periods differ in sign,
/// where a relative change means nothing.
pub fn deviation_as(
    points: &[Point],
    period: Period,
    window: usize,
    basis: Basis,
) -> Option<Deviation> {
    if window == 0 {
        return None;
    }
    let value = complete_value(points, period)?;
    let rolling_mean = rolling_mean(points, period, window, basis)?;
    if rolling_mean == 0.0 {
        return None;
    }
    // A relative change against a mean of gains and losses (a net margin of −300 %, 10 %
    // and 20 %) measures the mean's closeness to zero, not a move.
    let mixed_signs = baseline(period, window)
        .into_iter()
        .filter_map(|p| complete_value(points, p))
        .any(|v| v * rolling_mean < 0.0);
    if mixed_signs {
        return None;
    }
    let change_pct = (value - rolling_mean) / rolling_mean.abs() * 100.0;
    Some(Deviation {
        period,
        value,
        rolling_mean,
        change_pct,
    })
}

/// The mean of `period`'s baseline on `basis`, in the compared period's terms. `None`
/// when a baseline period has no complete value.
pub fn rolling_mean(points: &[Point], period: Period, window: usize, basis: Basis) -> Option<f64> {
    if window == 0 {
        return None;
    }
    let periods = baseline(period, window);
    // Periods as long as the compared one need no scaling, and unscaled round means stay
    // exact at the tier boundaries.
    let per_day = basis == Basis::PerDay && periods.iter().any(|p| p.days() != period.days());
    let mut sum = 0.0;
    for p in periods {
        let value = complete_value(points, p)?;
        sum += if per_day {
            value / p.days() as f64
        } else {
            value
        };
    }
    // Dividing the sum once (rather than averaging as we go) keeps round means exact.
    let mean = sum / window as f64;
    Some(if per_day {
        mean * period.days() as f64
    } else {
        mean
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    /// Weekly points starting 2026-W40, oldest first.
    fn weekly(values: &[Option<f64>]) -> Vec<Point> {
        let mut period = Period::containing(Grain::Week, d("2026-09-28"));
        values
            .iter()
            .map(|v| {
                let p = Point {
                    period,
                    value: *v,
                    note: None,
                    partial: false,
                };
                period = period.next();
                p
            })
            .collect()
    }

    fn last_period(points: &[Point]) -> Period {
        points.last().unwrap().period
    }

    fn tier_of(baseline: [f64; 3], value: f64) -> Option<Tier> {
        let mut values: Vec<Option<f64>> = baseline.iter().map(|v| Some(*v)).collect();
        values.push(Some(value));
        let points = weekly(&values);
        let dev = deviation(&points, last_period(&points), 3).unwrap();
        Limits::for_metric(&AlertConfig::default(), "net_revenue").tier(dev.change_pct)
    }

    #[test]
    fn thresholds_just_under_and_just_over() {
        let base = [90.0, 100.0, 110.0]; // mean exactly 100
        assert_eq!(tier_of(base, 104.9), None);
        assert_eq!(tier_of(base, 105.0), Some(Tier::Mild));
        assert_eq!(tier_of(base, 111.9), Some(Tier::Mild));
        assert_eq!(tier_of(base, 112.0), Some(Tier::Strong));
        // Falling: the same magnitudes below the mean.
        assert_eq!(tier_of(base, 95.1), None);
        assert_eq!(tier_of(base, 95.0), Some(Tier::Mild));
        assert_eq!(tier_of(base, 88.1), Some(Tier::Mild));
        assert_eq!(tier_of(base, 88.0), Some(Tier::Strong));
    }

    #[test]
    fn boundaries_hold_when_binary_rounding_bites() {
        // 0.1 + 0.2 + 0.3 is not 0.6 in binary; the mean is 0.20000000000000004.
        let base = [0.1, 0.2, 0.3];
        assert_eq!(tier_of(base, 0.21), Some(Tier::Mild));
        assert_eq!(tier_of(base, 0.19), Some(Tier::Mild));
        assert_eq!(tier_of(base, 0.224), Some(Tier::Strong));
        assert_eq!(tier_of(base, 0.2098), None);
        // A mean of 1/3 and a value 5 % above it.
        assert_eq!(tier_of([1.0 / 3.0; 3], 1.05 / 3.0), Some(Tier::Mild));
        assert_eq!(tier_of([1.0 / 3.0; 3], 1.12 / 3.0), Some(Tier::Strong));
        assert_eq!(tier_of([1.0 / 3.0; 3], 1.049 / 3.0), None);
    }

    #[test]
    fn deviation_reports_value_mean_and_signed_change() {
        let points = weekly(&[
            Some(50_000.0),
            Some(52_000.0),
            Some(48_000.0),
            Some(43_000.0),
        ]);
        let dev = deviation(&points, last_period(&points), 3).unwrap();
        assert_eq!(dev.rolling_mean, 50_000.0);
        assert_eq!(dev.value, 43_000.0);
        assert!((dev.change_pct - -14.0).abs() < 1e-12);
        assert_eq!(dev.change(), -7_000.0);
        assert_eq!(dev.period.label(), "2026-W43");
    }

    #[test]
    fn negative_means_use_their_magnitude() {
        // Net revenue can go negative in a refund-heavy week: from −100 to −80 is +20 %.
        let points = weekly(&[Some(-100.0), Some(-100.0), Some(-100.0), Some(-80.0)]);
        let dev = deviation(&points, last_period(&points), 3).unwrap();
        assert!((dev.change_pct - 20.0).abs() < 1e-12);
    }

    #[test]
    fn too_little_history_gives_no_deviation() {
        let two_before = weekly(&[Some(100.0), Some(100.0), Some(200.0)]);
        assert_eq!(deviation(&two_before, last_period(&two_before), 3), None);
        let gap = weekly(&[Some(100.0), None, Some(100.0), Some(200.0)]);
        assert_eq!(deviation(&gap, last_period(&gap), 3), None);
        let no_value = weekly(&[Some(100.0), Some(100.0), Some(100.0), None]);
        assert_eq!(deviation(&no_value, last_period(&no_value), 3), None);
        let zero_mean = weekly(&[Some(0.0), Some(0.0), Some(0.0), Some(5.0)]);
        assert_eq!(deviation(&zero_mean, last_period(&zero_mean), 3), None);
        // A longer window needs longer history.
        let four = weekly(&[Some(100.0), Some(100.0), Some(100.0), Some(200.0)]);
        assert!(deviation(&four, last_period(&four), 3).is_some());
        assert_eq!(deviation(&four, last_period(&four), 4), None);
    }

    #[test]
    fn a_partial_period_is_never_compared() {
        let mut points = weekly(&[Some(100.0), Some(100.0), Some(100.0), Some(50.0)]);
        points.last_mut().unwrap().partial = true;
        assert_eq!(deviation(&points, last_period(&points), 3), None);
        // Nor does a partial period count in a baseline.
        let mut points = weekly(&[Some(100.0), Some(100.0), Some(100.0), Some(150.0)]);
        points[1].partial = true;
        assert_eq!(deviation(&points, last_period(&points), 3), None);
    }

    #[test]
    fn latest_complete_period_excludes_the_partial_current_one() {
        // Wednesday 2026-11-18 sits in 2026-W47, which is partial: W46 is the latest.
        assert_eq!(
            latest_complete(Grain::Week, d("2026-11-18")).label(),
            "2026-W46"
        );
        // Sunday 2026-11-22 ends W47, which is therefore complete.
        assert_eq!(
            latest_complete(Grain::Week, d("2026-11-22")).label(),
            "2026-W47"
        );
        assert_eq!(
            latest_complete(Grain::Month, d("2026-11-18")).label(),
            "2026-10"
        );
        assert_eq!(
            latest_complete(Grain::Month, d("2026-11-30")).label(),
            "2026-11"
        );
        assert_eq!(
            latest_complete(Grain::Day, d("2026-11-18")).label(),
            "2026-11-18"
        );
    }

    #[test]
    fn a_day_is_compared_with_the_same_weekday_of_earlier_weeks() {
        // Weekdays 100, weekends 60, for five weeks: Sunday 2026-11-15 against the three
        // Sundays before it is flat; against Thursday to Saturday it would be 26 % down.
        let start = d("2026-10-12");
        let points: Vec<Point> = (0..35)
            .map(|i| {
                let day = start + chrono::Duration::days(i);
                let weekend = i % 7 >= 5;
                Point {
                    period: Period::containing(Grain::Day, day),
                    value: Some(if weekend { 60.0 } else { 100.0 }),
                    note: None,
                    partial: false,
                }
            })
            .collect();
        let sunday = Period::containing(Grain::Day, d("2026-11-15"));
        let labels: Vec<String> = baseline(sunday, 3).iter().map(|p| p.label()).collect();
        assert_eq!(labels, ["2026-10-25", "2026-11-01", "2026-11-08"]);
        let dev = deviation(&points, sunday, 3).unwrap();
        assert_eq!(dev.change_pct, 0.0);
    }

    #[test]
    fn sums_are_compared_per_day_and_scaled_to_the_period() {
        // 3 100 in each 31-day month, 3 000 in 30-day ones, 2 800 in February: 100 a day.
        let mut period = Period::containing(Grain::Month, d("2025-11-01"));
        let mut points = Vec::new();
        for _ in 0..4 {
            points.push(Point {
                period,
                value: Some(100.0 * period.days() as f64),
                note: None,
                partial: false,
            });
            period = period.next();
        }
        let february = points[3].period;
        let dev = deviation_as(&points, february, 3, Basis::PerDay).unwrap();
        assert_eq!(dev.value, 2_800.0);
        assert!((dev.rolling_mean - 2_800.0).abs() < 1e-9);
        // A February 6 % down a day is 6 % down.
        points[3].value = Some(0.94 * 2_800.0);
        let dev = deviation_as(&points, february, 3, Basis::PerDay).unwrap();
        assert!((dev.change_pct - -6.0).abs() < 1e-9, "{}", dev.change_pct);
    }

    #[test]
    fn a_mean_of_gains_and_losses_has_no_relative_change() {
        let points = weekly(&[Some(-300.0), Some(10.0), Some(20.0), Some(50.0)]);
        assert_eq!(deviation(&points, last_period(&points), 3), None);
    }

    #[test]
    fn per_metric_thresholds_override_global_ones() {
        let config: AlertConfig = toml::from_str(
            "mild_pct = 4.0\nstrong_pct = 10.0\n[metrics.nps]\nmild_pct = 8.0\nmin_volume = 5\n",
        )
        .unwrap();
        let nps = Limits::for_metric(&config, "nps");
        assert_eq!(
            (nps.mild_pct, nps.strong_pct, nps.min_volume),
            (8.0, 10.0, 5)
        );
        assert_eq!(nps.tier(7.9), None);
        assert_eq!(nps.tier(-8.0), Some(Tier::Mild));
        let other = Limits::for_metric(&config, "mrr");
        assert_eq!(other.tier(4.0), Some(Tier::Mild));
        assert_eq!(other.tier(10.0), Some(Tier::Strong));
        assert_eq!(other.min_volume, 30);
        assert_eq!(other.tier(f64::NAN), None);
    }
}
