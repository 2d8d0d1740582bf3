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
//! 1. **Noise guard** (`[alerts] noise_k`, default 2; `noise_window`, default 12 periods).
//!    The metric's own deviations over the look-back — each period against the mean of the
//!    `window` periods before it, the very statistic that alerts — have a spread (their
//!    standard deviation). The compared period's change must reach `noise_k` times that
//!    spread. Weekday swings at day grain, lumpy flows and small-sample metrics have a
//!    wide spread and need a large move; a steady metric that suddenly moves alerts at the
//!    tier threshold as before. The spread is taken around the deviations' own mean, so a
//!    sustained drift (paid search CAC up 7 % a month) is a trend that keeps alerting, not
//!    noise that hides itself. A flat history has no spread and blocks nothing; fewer than
//!    `MIN_NOISE_SAMPLES` past deviations cannot judge and block nothing. 0 disables.
//!    At day grain the factor is `day_noise_k` (default 3): a week offers seven days to raise
//!    a false alarm where it offers one week, and a Sunday is compared with Thursday to
//!    Saturday — the weekday swing is part of the spread, so it needs a clear break.
//! 2. **Volume guard on totals too** (`min_volume`, module docs of `alerts`): a total of six
//!    signups a day is as small a sample as a segment of six.
//! 3. **Segments fold into their total** (`fold_segments`, default true): when the total of
//!    the same metric, grain and period alerts, its segments are the alert's contributors
//!    (listed with their shares), not alerts of their own. When the total is quiet, a
//!    segment alerts only if it is **material** (`material_segments_only`, default true):
//!    its move alone would have made the total alert (`moves_total`) — reach a tier
//!    against the total's rolling mean and stand out from the total's spread. Others
//!    offset it, which is exactly the hidden movement worth paging for. The move is
//!    weighed by the segment's part in the total: its change itself for additive metrics
//!    (revenue, counts), its change times its share of the records for ratios (a channel
//!    with 22 % of signups moves CAC by 22 % of its own move). A ratio segment with no
//!    count to weigh it by cannot show that it matters and does not alert on its own.
//! 4. **Derived metrics defer to their source** (`[alerts.metrics.<id>] derived_from`,
//!    built in: `arr` from `mrr`): a derived metric's alert is dropped when its source
//!    alerts for the same segment, grain and period — ARR = 12 × MRR says nothing new.
//!
//! Each rule is a pure function here so its boundaries can be tested exactly.

use crate::metrics::{Period, Point};

use super::deviation::{Deviation, Limits, complete_value};

/// Past deviations needed before the spread means anything.
pub const MIN_NOISE_SAMPLES: usize = 4;

/// Built-in `derived_from` relations: (derived metric, the metric it is computed from).
pub const BUILT_IN_DERIVED: &[(&str, &str)] = &[("arr", "mrr")];

/// The spread (standard deviation) of the deviations of the `lookback` periods before
/// `period`, each against the mean of the `window` periods before it, in the metric's
/// unit. `None` when fewer than `MIN_NOISE_SAMPLES` of them can be computed.
pub fn noise(points: &[Point], period: Period, window: usize, lookback: usize) -> Option<f64> {
    if window == 0 || lookback == 0 {
        return None;
    }
    let deviations: Vec<f64> = period
        .prev()
        .trailing(lookback)
        .into_iter()
        .filter_map(|p| {
            let value = complete_value(points, p)?;
            let mut sum = 0.0;
            for q in p.prev().trailing(window) {
                sum += complete_value(points, q)?;
            }
            Some(value - sum / window as f64)
        })
        .collect();
    if deviations.len() < MIN_NOISE_SAMPLES {
        return None;
    }
    let n = deviations.len() as f64;
    let mean = deviations.iter().sum::<f64>() / n;
    let variance = deviations.iter().map(|d| (d - mean).powi(2)).sum::<f64>() / (n - 1.0);
    Some(variance.sqrt())
}

/// Whether a change of `change` (value − rolling mean) stands out from a spread of
/// `noise`: |change| ≥ k × noise. No spread, no judgement or k = 0 never block.
pub fn stands_out(change: f64, noise: Option<f64>, k: f64) -> bool {
    match noise {
        Some(spread) if k > 0.0 && spread > 0.0 => change.abs() >= k * spread,
        _ => true,
    }
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
    use crate::metrics::Grain;
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
        assert_eq!(noise(&points, last, 3, 12), Some(0.0));
        assert!(stands_out(1.0, Some(0.0), 2.0));
    }

    #[test]
    fn the_spread_is_of_the_past_deviations_around_their_mean() {
        // Alternating 90/110: past deviations against the 3-period mean alternate
        // −13.33 and +13.33 (mean 0), so the spread is their sample deviation.
        let (points, last) = weekly(&[90.0, 110.0, 90.0, 110.0, 90.0, 110.0, 90.0, 110.0, 200.0]);
        let spread = noise(&points, last, 3, 12).unwrap();
        // Five deviations (periods 4–8): +13.33, −13.33, +13.33, −13.33, +13.33.
        let d = 40.0 / 3.0;
        let devs = [d, -d, d, -d, d];
        let mean = devs.iter().sum::<f64>() / 5.0;
        let expected = (devs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / 4.0).sqrt();
        assert!((spread - expected).abs() < 1e-9, "{spread} vs {expected}");
    }

    #[test]
    fn a_steady_drift_is_not_noise() {
        // +7 % a period: every past deviation is about the same, so the spread is tiny
        // and the drift keeps alerting.
        let values: Vec<f64> = (0..14).map(|i| 100.0 * 1.07_f64.powi(i)).collect();
        let (points, last) = weekly(&values);
        let spread = noise(&points, last, 3, 12).unwrap();
        let mean: f64 = values[10..13].iter().sum::<f64>() / 3.0;
        assert!(stands_out(values[13] - mean, Some(spread), 2.0));
    }

    #[test]
    fn too_few_past_deviations_cannot_judge() {
        // Seven values: the compared one, three for the first past deviation's window,
        // three past deviations — one short of MIN_NOISE_SAMPLES.
        let (points, last) = weekly(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0]);
        assert_eq!(noise(&points, last, 3, 12), None);
        let (points, last) = weekly(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]);
        assert!(noise(&points, last, 3, 12).is_some());
        // A look-back shorter than MIN_NOISE_SAMPLES never judges.
        assert_eq!(noise(&points, last, 3, 3), None);
        assert_eq!(noise(&points, last, 0, 12), None);
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
