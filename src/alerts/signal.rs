//! The signal policy: which deviations that cross a tier are worth an alert.
//!
//! SPEC §6 says when a metric has *moved* (deviation from the rolling mean ≥ mild/strong
//! threshold). On real data that rule alone pages for everything: a small product's daily
//! orders swing ±30 % between weekdays, a lumpy flow metric (contraction MRR) triples on
//! one account, and every segment of a moving total moves with it. Hundreds of alerts
//! teach a product manager to stop reading them. The rules here keep the tiers of SPEC
//! §6 — an alert still needs the deviation to reach the threshold — and add evidence that
//! the move is news:
//!
//! 0. **Comparison that knows the calendar.** Sums over a period (`Aggregation::Sum` in the catalog: revenue,
//!    orders, signups, MRR movements…) are compared per day, so a 28-day February is not a
//!    fall from a 31-day January (`deviation::Basis::PerDay`). At day grain a day is
//!    compared with the same weekday of the previous `window` weeks, so a Sunday is not
//!    news for being a Sunday (`deviation::baseline`). A mean of periods of both signs
//!    (a net margin around zero) has no relative change.
//! 1. **Noise guard** (`[alerts] noise_k`, default 2; `noise_window`, default 12: 12
//!    months at month grain, as many weeks as 12 months hold (52) at week grain, 12 weeks
//!    of days at day grain; `Limits::noise_window_at`). The metric's own deviations over the look-back —
//!    each period against its own baseline, the very statistic that alerts — have a
//!    robust spread: 1.4826 × their median absolute deviation from their median (the
//!    mean absolute deviation × 1.2533 when more than half of them are identical). The
//!    compared period's change must reach `noise_k` times that spread. A launch spike in
//!    the look-back does not widen it, where a standard deviation would hide every later
//!    move for months. A sustained drift (paid search CAC up 7 % a month) keeps alerting:
//!    the change itself, not its distance from the drift, is compared. Fewer than
//!    `MIN_NOISE_SAMPLES` past deviations cannot judge and block nothing. 0 disables. At
//!    day grain the factor is `day_noise_k` (default 3): a week offers seven days to
//!    raise a false alarm where it offers one week.
//! 2. **Volume guard on totals too** (`min_volume`, module docs of `alerts`): a total of six
//!    signups a day is as small a sample as a segment of six.
//! 3. **Segments.** When the total of the same metric, grain and period alerts, its
//!    segments are the alert's contributors (`fold_segments`), except a **material**
//!    segment — at least `material_share_pct` (default 20 %) of the total's baseline and
//!    of its records — that moved a tier harder: it alerts beside the total with its own
//!    tier (a channel that is half of revenue falling 15 % is strong while the total
//!    falls a mild 7.5 %). A segment moving the same way as an alerting total needs no
//!    noise guard of its own: the total has shown that something moved. When the total is
//!    quiet, a material segment alerts with its own tier if it stands out from its own
//!    noise; any other segment alerts only if its move alone would have made the total
//!    alert (`moves_total`, `material_segments_only`). A material segment speaks for
//!    itself on bad news from mild up and on good news once strong
//!    (`speaks_for_itself`): a strong rise is news whoever it wakes, while a mild rise
//!    in one channel is the commonest swing of a segment's noise and is named by its
//!    total when the total moves. Of the material segments seen through several
//!    dimensions (channel, plan, region), the one that moved the total most speaks for
//!    each direction: one move, one alert. MRR's movements by segment are a few accounts
//!    each and only explain their total.
//! 4. **One story, one alert.** A derived metric's alert is dropped when its source alerts
//!    for the same segment, grain and period (`[alerts.metrics.<id>] derived_from`; built
//!    in: the catalog's `derived_from`). A day's alert is dropped when its week alerts the same way.
//!    Windows wider than their period (`mau` at day and week grain) and MRR movements of
//!    a single day do not alert (`NOT_AT_GRAIN`).
//!
//! `benches/detection.rs` measures this policy's recall and false alerts beside the seeds'
//! plain rule and a rolling z-score.
//!
//! Each rule is a pure function here so its boundaries can be tested exactly.

use crate::metrics::catalog::Aggregation;
use crate::metrics::{Grain, MetricDef, MetricId, Period, Point};

use super::Tier;
use super::deviation::{Basis, Deviation, Limits, complete_value, rolling_mean};

/// Past deviations needed before the spread means anything.
pub const MIN_NOISE_SAMPLES: usize = 4;

/// MRR's movements: sums of a handful of accounts' changes, lumpy by nature.
pub const MRR_MOVEMENTS: &[MetricId] = &[
    MetricId::MrrNew,
    MetricId::MrrExpansion,
    MetricId::MrrContraction,
    MetricId::MrrChurned,
    MetricId::MrrReactivation,
    MetricId::MrrNetNew,
];

/// Metrics that do not alert at a grain. `wau` at day grain and `mau` at day and week
/// grain are windows wider than the period (the 30 days ending that day): their move there
/// is the coarser grain's, told there once. MRR's movements in one day are a handful of
/// accounts — a day without a cancellation is not a 100 % fall in churn — and alert as
/// the sums of weeks and months.
pub const NOT_AT_GRAIN: &[(MetricId, Grain)] = &[
    (MetricId::Wau, Grain::Day),
    (MetricId::Mau, Grain::Day),
    (MetricId::Mau, Grain::Week),
    (MetricId::MrrNew, Grain::Day),
    (MetricId::MrrExpansion, Grain::Day),
    (MetricId::MrrContraction, Grain::Day),
    (MetricId::MrrChurned, Grain::Day),
    (MetricId::MrrReactivation, Grain::Day),
    (MetricId::MrrNetNew, Grain::Day),
];

/// Whether `metric` alerts at `grain` (`NOT_AT_GRAIN`).
pub fn alerts_at(metric: &str, grain: Grain) -> bool {
    MetricId::parse(metric).is_none_or(|id| !NOT_AT_GRAIN.contains(&(id, grain)))
}

/// Whether `metric` is one of MRR's movements (`MRR_MOVEMENTS`).
pub fn is_mrr_movement(metric: &str) -> bool {
    MetricId::parse(metric).is_some_and(|id| MRR_MOVEMENTS.contains(&id))
}

/// The basis a metric's periods are compared on.
///
/// Sums over a period (revenue, orders, signups), which a longer month holds more of
/// without anything having moved, and ARPU, a month's revenue over its users — the
/// revenue grows with the month's length, the users (mostly the same people, coming back)
/// do not — compare per day. Distinct counts (paying customers) are not sums: the same
/// customers fill a short month and a long one.
pub fn basis(metric: &MetricDef) -> Basis {
    match metric.aggregation {
        Aggregation::Sum | Aggregation::SumOverLevel => Basis::PerDay,
        Aggregation::Level => Basis::Level,
    }
}

/// Scale factor from a median absolute deviation to a standard deviation's equivalent
/// under normal noise, so `noise_k` reads the same as before.
const MAD_TO_SIGMA: f64 = 1.4826;

/// Scale factor from a mean absolute deviation to a standard deviation's equivalent.
const MEAN_AD_TO_SIGMA: f64 = 1.253_314;

/// The robust spread of the deviations of the `lookback` periods before `period`, each
/// against its own baseline on `basis`, in the metric's unit: 1.4826 × the median
/// absolute deviation from their median. One launch spike or one lumpy month in the
/// look-back does not widen it, where a standard deviation (or the largest swing) would
/// hide every later move behind it. `None` when fewer than `MIN_NOISE_SAMPLES` of them
/// can be computed.
pub fn noise(
    points: &[Point],
    period: Period,
    window: usize,
    lookback: usize,
    basis: Basis,
) -> Option<f64> {
    if window == 0 || lookback == 0 {
        return None;
    }
    let deviations: Vec<f64> = period
        .prev()
        .trailing(lookback)
        .into_iter()
        .filter_map(|p| {
            let value = complete_value(points, p)?;
            Some(value - rolling_mean(points, p, window, basis)?)
        })
        .collect();
    if deviations.len() < MIN_NOISE_SAMPLES {
        return None;
    }
    let centre = median(deviations.clone())?;
    let distances: Vec<f64> = deviations.iter().map(|d| (d - centre).abs()).collect();
    let mean_distance = distances.iter().sum::<f64>() / distances.len() as f64;
    let mad = median(distances)?;
    // Half the history identical (a flow that is zero most days) leaves no median
    // absolute deviation; the mean absolute deviation, scaled to a standard deviation's
    // equivalent, still sees the days that were not (the modified z-score's fallback).
    Some(if mad > 0.0 {
        MAD_TO_SIGMA * mad
    } else {
        MEAN_AD_TO_SIGMA * mean_distance
    })
}

fn median(mut values: Vec<f64>) -> Option<f64> {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(values[n / 2]),
        _ => Some((values[n / 2 - 1] + values[n / 2]) / 2.0),
    }
}

/// Whether a change of `change` (value − rolling mean) stands out from a spread of
/// `noise`: |change| ≥ k × noise. No spread, no judgement or k = 0 never block.
pub fn stands_out(change: f64, noise: Option<f64>, k: f64) -> bool {
    match noise {
        Some(spread) if k > 0.0 && spread > 0.0 => change.abs() >= k * spread,
        _ => true,
    }
}

/// Whether a material segment's move of `tier` alerts with its own tier (rule 3): bad
/// news from mild up, good news only when strong. Good news wakes no one (`kpi check`
/// exits by bad alerts), so a mild rise of one channel would only lengthen the list; a
/// strong one is a story of its own even when its total moves a mild 8 %.
pub fn speaks_for_itself(bad: bool, tier: Tier) -> bool {
    bad || tier == Tier::Strong
}

/// Materiality of a segment whose total is quiet: whether `effect` — the segment's change
/// times its weight in the total — would, on its own, have made the total alert: reach a
/// tier against the total's rolling mean and stand out from the total's spread.
pub fn moves_total(
    effect: f64,
    total: &Deviation,
    total_spread: Option<f64>,
    limits: &Limits,
) -> bool {
    if total.rolling_mean == 0.0 {
        return true;
    }
    let effect_pct = effect / total.rolling_mean.abs() * 100.0;
    limits.tier(effect_pct).is_some()
        && stands_out(effect, total_spread, limits.noise_k_at(total.period.grain))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn weekly(values: &[f64]) -> (Vec<Point>, Period) {
        let mut period =
            Period::containing(Grain::Week, NaiveDate::from_ymd_opt(2026, 6, 1).unwrap());
        let mut points = Vec::new();
        for v in values {
            points.push(Point {
                period,
                value: Some(*v),
                note: None,
                partial: false,
            });
            period = period.next();
        }
        let last = points[points.len() - 1].period;
        (points, last)
    }

    #[test]
    fn a_flat_history_has_no_spread_and_blocks_nothing() {
        let (points, last) = weekly(&[100.0, 100.0, 100.0, 100.0, 100.0, 100.0, 100.0, 150.0]);
        assert_eq!(noise(&points, last, 3, 12, Basis::Level), Some(0.0));
        assert!(stands_out(1.0, Some(0.0), 2.0));
    }

    #[test]
    fn the_spread_is_the_scaled_median_absolute_deviation_of_past_deviations() {
        // Alternating 90/110: past deviations against the 3-period mean alternate
        // +13.33 and −13.33; their median is +13.33 (three of five), so the absolute
        // deviations from it are 0, 26.67, 0, 26.67, 0 and their median is 0: the mean
        // absolute deviation (4 × 13.33 ÷ 5), scaled, stands in for it.
        let (points, last) = weekly(&[90.0, 110.0, 90.0, 110.0, 90.0, 110.0, 90.0, 110.0, 200.0]);
        let spread = noise(&points, last, 3, 12, Basis::Level).unwrap();
        let expected = MEAN_AD_TO_SIGMA * 4.0 * (40.0 / 3.0) / 5.0;
        assert!((spread - expected).abs() < 1e-9, "{spread} vs {expected}");
        // Six deviations +d, −d, +d, −d, +d, −d: median 0, every absolute deviation d.
        let (points, last) = weekly(&[
            90.0, 110.0, 90.0, 110.0, 90.0, 110.0, 90.0, 110.0, 90.0, 200.0,
        ]);
        let spread = noise(&points, last, 3, 12, Basis::Level).unwrap();
        let d = 40.0 / 3.0;
        assert!((spread - MAD_TO_SIGMA * d).abs() < 1e-9, "{spread}");
    }

    #[test]
    fn one_launch_spike_in_the_history_does_not_hide_a_later_fall() {
        // Steady ±1 % noise, a +60 % launch week, then the compared week falls 15 %. A
        // standard deviation of the past deviations is inflated by the spike to ~12 % of
        // the level, so 2 × that blocked the fall; the robust spread stays near the noise.
        let mut values = vec![
            100.0, 101.0, 99.0, 100.0, 160.0, 101.0, 99.0, 100.0, 101.0, 99.0, 100.0, 101.0, 99.0,
            100.0,
        ];
        values.push(85.0);
        let (points, last) = weekly(&values);
        let spread = noise(&points, last, 3, 12, Basis::Level).unwrap();
        let mean = (99.0 + 100.0 + 101.0) / 3.0;
        assert!(spread < 5.0, "{spread}");
        assert!(stands_out(85.0 - mean, Some(spread), 2.0));
    }

    #[test]
    fn month_length_is_not_noise_for_sums() {
        // Revenue of exactly 1 000 a day through the months of 2025: per day nothing
        // moves, so there is neither spread nor deviation.
        let mut period =
            Period::containing(Grain::Month, NaiveDate::from_ymd_opt(2025, 1, 1).unwrap());
        let mut points = Vec::new();
        for _ in 0..14 {
            points.push(Point {
                period,
                value: Some(1_000.0 * period.days() as f64),
                note: None,
                partial: false,
            });
            period = period.next();
        }
        let last = points[points.len() - 1].period;
        assert_eq!(last.label(), "2026-02");
        assert_eq!(noise(&points, last, 3, 12, Basis::PerDay), Some(0.0));
        let dev = super::super::deviation::deviation_as(&points, last, 3, Basis::PerDay).unwrap();
        assert!(dev.change_pct.abs() < 1e-9, "{}", dev.change_pct);
        assert_eq!(dev.value, 28_000.0);
        // The plain comparison calls February 8.7 % down.
        let plain = super::super::deviation::deviation(&points, last, 3).unwrap();
        assert!(plain.change_pct < -8.0, "{}", plain.change_pct);
    }

    #[test]
    fn a_steady_drift_is_not_noise() {
        // +7 % a period: every past deviation is about the same, so the spread is tiny
        // and the drift keeps alerting.
        let values: Vec<f64> = (0..14).map(|i| 100.0 * 1.07_f64.powi(i)).collect();
        let (points, last) = weekly(&values);
        let spread = noise(&points, last, 3, 12, Basis::Level).unwrap();
        let mean: f64 = values[10..13].iter().sum::<f64>() / 3.0;
        assert!(stands_out(values[13] - mean, Some(spread), 2.0));
    }

    #[test]
    fn too_few_past_deviations_cannot_judge() {
        // Seven values: the compared one, three for the first past deviation's window,
        // three past deviations — one short of MIN_NOISE_SAMPLES.
        let (points, last) = weekly(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0]);
        assert_eq!(noise(&points, last, 3, 12, Basis::Level), None);
        let (points, last) = weekly(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]);
        assert!(noise(&points, last, 3, 12, Basis::Level).is_some());
        // A look-back shorter than MIN_NOISE_SAMPLES never judges.
        assert_eq!(noise(&points, last, 3, 3, Basis::Level), None);
        assert_eq!(noise(&points, last, 0, 12, Basis::Level), None);
    }

    #[test]
    fn stands_out_just_under_and_just_over() {
        assert!(!stands_out(19.99, Some(10.0), 2.0));
        assert!(stands_out(20.0, Some(10.0), 2.0));
        assert!(stands_out(-20.0, Some(10.0), 2.0));
        assert!(!stands_out(-19.99, Some(10.0), 2.0));
        // Disabled, or nothing to judge by.
        assert!(stands_out(0.1, Some(10.0), 0.0));
        assert!(stands_out(0.1, None, 2.0));
    }

    fn total(rolling_mean: f64) -> Deviation {
        let (_, period) = weekly(&[rolling_mean]);
        Deviation {
            period,
            value: rolling_mean,
            rolling_mean,
            change_pct: 0.0,
        }
    }

    #[test]
    fn a_material_segment_speaks_for_itself_on_bad_news_and_on_strong_good_news() {
        assert!(speaks_for_itself(true, Tier::Mild));
        assert!(speaks_for_itself(true, Tier::Strong));
        assert!(speaks_for_itself(false, Tier::Strong));
        assert!(!speaks_for_itself(false, Tier::Mild));
    }

    #[test]
    fn a_segment_is_material_when_its_move_alone_would_make_the_total_alert() {
        let limits = Limits::for_metric(&crate::config::AlertConfig::default(), "net_revenue");
        // Against a total of 10 000, mild starts at 500.
        assert!(!moves_total(-499.0, &total(10_000.0), None, &limits));
        assert!(moves_total(-500.0, &total(10_000.0), None, &limits));
        assert!(moves_total(500.0, &total(-10_000.0), None, &limits));
        // It must also stand out from the total's spread: 2 × 400 = 800.
        assert!(!moves_total(799.0, &total(10_000.0), Some(400.0), &limits));
        assert!(moves_total(800.0, &total(10_000.0), Some(400.0), &limits));
        // A total with a zero mean has no relative move to compare with.
        assert!(moves_total(1.0, &total(0.0), None, &limits));
    }

    #[test]
    fn day_grain_asks_for_stronger_evidence_unless_the_guard_is_off() {
        let mut config = crate::config::AlertConfig::default();
        let limits = Limits::for_metric(&config, "orders");
        assert_eq!(limits.noise_k_at(Grain::Week), 2.0);
        assert_eq!(limits.noise_k_at(Grain::Month), 2.0);
        assert_eq!(limits.noise_k_at(Grain::Day), 3.0);
        config.noise_k = 0.0;
        assert_eq!(
            Limits::for_metric(&config, "orders").noise_k_at(Grain::Day),
            0.0
        );
        // Never weaker at day grain than elsewhere.
        config.noise_k = 4.0;
        assert_eq!(
            Limits::for_metric(&config, "orders").noise_k_at(Grain::Day),
            4.0
        );
    }
}
