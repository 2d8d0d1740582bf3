//! Contributions: which segments moved a total (seed 000: each alert names "the
//! accounts underneath"). A segment's change is its own value against its own rolling
//! mean; its share is that change over the sum of all segments' changes.
//!
//! For additive metrics (revenue, counts) the segments' changes add up to the total's
//! change exactly, and a segment without a value in a period contributed zero. For ratio
//! and mean metrics (AOV, CAC) they do not add up — mix shifts move the total too — so
//! where the records behind each segment are counted, the total's change is split into
//! each segment's rate effect and mix effect (`rate_mix`), which add up; where they are
//! not (CSAT), the segments that moved with the total share its move and those that
//! moved against it are left out (`moving_with`). Either way the shares sum to 100 %.

use crate::metrics::{Period, Point, Segment, Series};

use super::deviation::{Basis, baseline, complete_value, rolling_mean};
use super::{Contribution, RateMix};

/// Segments listed by name on an alert; the rest are summed into one "other" row so the
/// shares still add up to 100.
pub const MAX_LISTED: usize = 5;

/// Relative gap under which the segments' values count as summing to the total.
const ADDITIVE_TOLERANCE: f64 = 0.005;

/// Whether the segments of one dimension add up to the total in `period`.
pub fn is_additive(total_value: f64, segments: &[Series], period: Period) -> bool {
    let sum: f64 = segments
        .iter()
        .filter_map(|s| complete_value(&s.points, period))
        .sum();
    (sum - total_value).abs() <= ADDITIVE_TOLERANCE * total_value.abs().max(1e-9)
}

/// Each segment's change in `period` against its baseline on `basis` (the same
/// comparison the alert makes).
pub fn segment_changes(
    segments: &[Series],
    period: Period,
    window: usize,
    basis: Basis,
    additive: bool,
) -> Vec<(Segment, f64)> {
    segments
        .iter()
        .filter_map(|series| {
            let segment = series.segment.clone()?;
            // An additive segment without a value in a period contributed zero to it.
            let filled;
            let points = if additive {
                filled = zero_filled(&series.points, period, window);
                &filled
            } else {
                &series.points
            };
            let value = complete_value(points, period)?;
            let mean = rolling_mean(points, period, window, basis)?;
            Some((segment, value - mean))
        })
        .collect()
}

/// `points` with a zero for each period of `period`'s comparison that has no complete
/// value.
fn zero_filled(points: &[Point], period: Period, window: usize) -> Vec<Point> {
    let mut filled = points.to_vec();
    for p in baseline(period, window).into_iter().chain([period]) {
        if complete_value(points, p).is_none() {
            filled.retain(|q| q.period != p);
            filled.push(Point {
                period: p,
                value: Some(0.0),
                note: None,
                partial: false,
            });
        }
    }
    filled
}

/// A segment, its effect on its total's change, and that effect split.
pub type SegmentEffect = (Segment, f64, RateMix);

/// One segment of a ratio or mean: its rate and weight (the records behind it) in the
/// compared period and over its baseline.
#[derive(Debug, Clone, PartialEq)]
pub struct RatioSegment {
    pub segment: Segment,
    pub rate: f64,
    pub base_rate: f64,
    pub weight: f64,
    pub base_weight: f64,
}

/// Splits the change of a weighted mean R = Σ sᵢ·rᵢ (sᵢ = a segment's share of the
/// records) into each segment's effect: its rate moving at its average share,
/// s̄ᵢ·(rᵢ − r⁰ᵢ), plus its share moving at its rate's distance from the total's,
/// (sᵢ − s⁰ᵢ)·(r̄ᵢ − R̄). The effects add up to R − R⁰ exactly (the shares' changes sum
/// to zero, so the reference R̄ cancels), so no segment explains 2 000 % of a move that
/// others offset. Empty when either period has no records.
pub fn rate_mix(segments: &[RatioSegment]) -> Vec<SegmentEffect> {
    let total: f64 = segments.iter().map(|s| s.weight).sum();
    let base_total: f64 = segments.iter().map(|s| s.base_weight).sum();
    if total <= 0.0 || base_total <= 0.0 {
        return Vec::new();
    }
    let share = |s: &RatioSegment| (s.weight / total, s.base_weight / base_total);
    let rate_now: f64 = segments.iter().map(|s| share(s).0 * s.rate).sum();
    let rate_before: f64 = segments.iter().map(|s| share(s).1 * s.base_rate).sum();
    let mean_rate = (rate_now + rate_before) / 2.0;
    segments
        .iter()
        .map(|s| {
            let (now, before) = share(s);
            let rate = (now + before) / 2.0 * (s.rate - s.base_rate);
            let mix = (now - before) * ((s.rate + s.base_rate) / 2.0 - mean_rate);
            (s.segment.clone(), rate + mix, RateMix { rate, mix })
        })
        .collect()
}

/// Of a ratio's segment changes that cannot be split exactly (no records counted), those
/// that moved the same way as the total's `total_change`: they share its move.
pub fn moving_with(total_change: f64, changes: Vec<(Segment, f64)>) -> Vec<(Segment, f64)> {
    changes
        .into_iter()
        .filter(|(_, change)| change * total_change > 0.0)
        .collect()
}

/// Shares of the summed change, largest first, with the tail beyond `MAX_LISTED` summed
/// into one "other" row. Empty when the changes cancel out.
pub fn shares(changes: &[(Segment, f64)]) -> Vec<Contribution> {
    let total: f64 = changes.iter().map(|(_, c)| c).sum();
    if total == 0.0 || !total.is_finite() {
        return Vec::new();
    }
    let mut rows: Vec<Contribution> = changes
        .iter()
        .map(|(segment, change)| Contribution {
            segment: segment.clone(),
            change: *change,
            share_pct: change / total * 100.0,
            rate_mix: None,
        })
        .collect();
    rows.sort_by(|a, b| {
        b.share_pct
            .total_cmp(&a.share_pct)
            .then_with(|| a.segment.cmp(&b.segment))
    });
    if rows.len() > MAX_LISTED + 1 {
        let tail = rows.split_off(MAX_LISTED);
        let change: f64 = tail.iter().map(|c| c.change).sum();
        rows.push(Contribution {
            segment: Segment {
                dimension: tail[0].segment.dimension.clone(),
                value: format!("other ({} segments)", tail.len()),
            },
            change,
            share_pct: change / total * 100.0,
            rate_mix: None,
        });
    }
    rows
}

/// The dimension that best explains a total's change of `total_change`: among
/// dimensions with at least two segments whose summed change points the same way as the
/// total, the one whose leading segment carries the largest share.
pub fn explain(total_change: f64, per_dimension: &[Vec<(Segment, f64)>]) -> Vec<Contribution> {
    per_dimension
        .iter()
        .filter(|changes| changes.len() >= 2)
        .filter(|changes| changes.iter().map(|(_, c)| c).sum::<f64>() * total_change > 0.0)
        .map(|changes| shares(changes))
        .filter(|rows| !rows.is_empty())
        .max_by(|a, b| a[0].share_pct.total_cmp(&b[0].share_pct))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::Grain;
    use chrono::NaiveDate;

    fn seg(dimension: &str, value: &str) -> Segment {
        Segment {
            dimension: dimension.into(),
            value: value.into(),
        }
    }

    fn weeks() -> Vec<Period> {
        Period::containing(Grain::Week, NaiveDate::from_ymd_opt(2026, 11, 9).unwrap()).trailing(4)
    }

    fn series(segment: Option<Segment>, values: [Option<f64>; 4]) -> Series {
        Series {
            metric: "net_revenue".into(),
            segment,
            grain: Grain::Week,
            points: weeks()
                .into_iter()
                .zip(values)
                .map(|(period, value)| Point {
                    period,
                    value,
                    note: None,
                    partial: false,
                })
                .collect(),
        }
    }

    #[test]
    fn additive_segments_sum_to_the_total_change() {
        // Total 50 000 → 43 000: paid search fell 6 000, organic 1 500, email rose 500.
        let channels = vec![
            series(
                Some(seg("channel", "paid_search")),
                [
                    Some(20_000.0),
                    Some(21_000.0),
                    Some(19_000.0),
                    Some(14_000.0),
                ],
            ),
            series(
                Some(seg("channel", "organic")),
                [
                    Some(20_000.0),
                    Some(20_000.0),
                    Some(20_000.0),
                    Some(18_500.0),
                ],
            ),
            series(
                Some(seg("channel", "email")),
                [
                    Some(10_000.0),
                    Some(11_000.0),
                    Some(9_000.0),
                    Some(10_500.0),
                ],
            ),
        ];
        let period = weeks()[3];
        assert!(is_additive(43_000.0, &channels, period));
        let changes = segment_changes(&channels, period, 3, Basis::Level, true);
        let sum: f64 = changes.iter().map(|(_, c)| c).sum();
        assert_eq!(sum, 43_000.0 - 50_000.0);
        let rows = shares(&changes);
        assert_eq!(rows[0].segment, seg("channel", "paid_search"));
        assert_eq!(rows[0].change, -6_000.0);
        assert!((rows[0].share_pct - 600.0 / 7.0).abs() < 1e-9);
        assert!((rows[1].share_pct - 150.0 / 7.0).abs() < 1e-9);
        // Email moved against the total, so its share is negative.
        assert!((rows[2].share_pct - -50.0 / 7.0).abs() < 1e-9);
        let share_sum: f64 = rows.iter().map(|c| c.share_pct).sum();
        assert!((share_sum - 100.0).abs() < 1e-9);
    }

    #[test]
    fn a_new_additive_segment_counts_its_missing_history_as_zero() {
        let channels = vec![
            series(
                Some(seg("channel", "tiktok")),
                [None, None, None, Some(3_000.0)],
            ),
            series(
                Some(seg("channel", "organic")),
                [Some(9_000.0), Some(9_000.0), Some(9_000.0), Some(9_000.0)],
            ),
        ];
        let changes = segment_changes(&channels, weeks()[3], 3, Basis::Level, true);
        assert_eq!(changes[0], (seg("channel", "tiktok"), 3_000.0));
        // Not additive: a segment without history explains nothing and is left out.
        let changes = segment_changes(&channels, weeks()[3], 3, Basis::Level, false);
        assert_eq!(changes, vec![(seg("channel", "organic"), 0.0)]);
    }

    #[test]
    fn ratio_segments_are_not_additive() {
        let plans = vec![
            series(Some(seg("plan", "pro")), [Some(80.0); 4]),
            series(Some(seg("plan", "basic")), [Some(20.0); 4]),
        ];
        assert!(!is_additive(45.0, &plans, weeks()[3]));
        assert!(is_additive(100.0, &plans, weeks()[3]));
    }

    #[test]
    fn the_tail_is_summed_so_shares_still_add_up() {
        let changes: Vec<(Segment, f64)> = (1..=9)
            .map(|i| (seg("region", &format!("r{i}")), -f64::from(i)))
            .collect();
        let rows = shares(&changes);
        assert_eq!(rows.len(), MAX_LISTED + 1);
        assert_eq!(rows[0].segment.value, "r9");
        assert_eq!(rows[5].segment.value, "other (4 segments)");
        assert_eq!(rows[5].change, -10.0);
        let share_sum: f64 = rows.iter().map(|c| c.share_pct).sum();
        assert!((share_sum - 100.0).abs() < 1e-9);
    }

    #[test]
    fn contributions_of_a_ratio_metric_sum_to_100_percent() {
        // AOV by channel: referral's basket falls from 80 to 60 while organic (baskets of
        // 40) grows from half the orders to three quarters. Total AOV: 60 → 45.
        let segments = vec![
            RatioSegment {
                segment: seg("channel", "referral"),
                rate: 60.0,
                base_rate: 80.0,
                weight: 25.0,
                base_weight: 50.0,
            },
            RatioSegment {
                segment: seg("channel", "organic"),
                rate: 40.0,
                base_rate: 40.0,
                weight: 75.0,
                base_weight: 50.0,
            },
        ];
        let effects = rate_mix(&segments);
        let sum: f64 = effects.iter().map(|(_, e, _)| e).sum();
        assert!((sum - (45.0 - 60.0)).abs() < 1e-9, "{sum}");
        // Referral's own basket: −20 at an average share of 3/8; organic's rate held.
        let referral = &effects[0].2;
        assert!((referral.rate - -7.5).abs() < 1e-9);
        assert_eq!(effects[1].2.rate, 0.0);
        // The mix moved towards organic's cheaper baskets.
        assert!(effects[1].2.mix < 0.0 && referral.mix < 0.0);
        let changes: Vec<(Segment, f64)> =
            effects.iter().map(|(s, e, _)| (s.clone(), *e)).collect();
        let rows = shares(&changes);
        let share_sum: f64 = rows.iter().map(|c| c.share_pct).sum();
        assert!((share_sum - 100.0).abs() < 1e-9);
        assert!(rows.iter().all(|c| (0.0..=100.0).contains(&c.share_pct)));
    }

    #[test]
    fn without_counted_records_only_segments_moving_with_the_total_share_it() {
        let changes = vec![
            (seg("channel", "referral"), -9.0),
            (seg("channel", "organic"), -3.0),
            (seg("channel", "email"), 11.5),
        ];
        let with = moving_with(-0.5, changes);
        let rows = shares(&with);
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].share_pct, 75.0);
        assert_eq!(rows[1].share_pct, 25.0);
    }

    #[test]
    fn explain_picks_the_most_concentrated_dimension() {
        let channel = vec![
            (seg("channel", "paid"), -6_000.0),
            (seg("channel", "organic"), -1_000.0),
        ];
        let region = vec![
            (seg("region", "eu"), -3_500.0),
            (seg("region", "us"), -3_500.0),
        ];
        let single = vec![(seg("plan", "only"), -7_000.0)];
        let against = vec![(seg("device", "a"), 9_000.0), (seg("device", "b"), -100.0)];
        let rows = explain(-7_000.0, &[region.clone(), channel, single, against]);
        assert_eq!(rows[0].segment, seg("channel", "paid"));
        assert!(explain(-7_000.0, &[]).is_empty());
        // Changes that cancel out explain nothing.
        let cancel = vec![(seg("region", "eu"), 5.0), (seg("region", "us"), -5.0)];
        assert!(explain(-7_000.0, &[cancel]).is_empty());
        assert_eq!(explain(-7_000.0, &[region])[0].share_pct, 50.0);
    }
}
