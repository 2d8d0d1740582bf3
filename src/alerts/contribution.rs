//! Contributions: which segments moved a total (seed 000: each alert names "the
//! accounts underneath"). A segment's change is its own value against its own rolling
//! mean; its share is that change over the sum of all segments' changes.
//!
//! For additive metrics (revenue, counts) the segments' changes add up to the total's
//! change exactly, and a segment without a value in a period contributed zero. For ratio
//! metrics (AOV, conversion) they do not add up — mix shifts move the total too — so a
//! segment without a value is left out rather than counted as zero, and a dimension whose
//! changes point against the total explains nothing and is skipped.

use crate::metrics::{Period, Point, Segment, Series};

use super::Contribution;
use super::deviation::{Basis, baseline, complete_value, rolling_mean};

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
