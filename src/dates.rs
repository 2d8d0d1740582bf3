//! Calendar days as the store writes them (`YYYY-MM-DD`), parsed without a format
//! interpreter: rollup refreshes read hundreds of thousands of them.

use chrono::{Datelike, Months, NaiveDate};

mod period;

pub use period::{Grain, Period};

/// The year, month and day of `YYYY-MM-DD`, if the text has exactly that shape.
pub fn parse_ymd(text: &str) -> Option<(i32, u32, u32)> {
    let b = text.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let digits = |r: std::ops::Range<usize>| -> Option<u32> {
        b[r].iter().try_fold(0u32, |n, &c| {
            c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0'))
        })
    };
    Some((digits(0..4)? as i32, digits(5..7)?, digits(8..10)?))
}

/// `YYYY-MM-DD` as a calendar day; `None` for any other text or an impossible day.
pub fn parse_day(text: &str) -> Option<NaiveDate> {
    let (y, m, d) = parse_ymd(text)?;
    NaiveDate::from_ymd_opt(y, m, d)
}

/// Months since year 0, so month arithmetic is integer arithmetic.
pub fn month_index(day: NaiveDate) -> i32 {
    day.year() * 12 + day.month0() as i32
}

/// `YYYY-MM` of a [`month_index`].
pub fn month_label(index: i32) -> String {
    format!(
        "{:04}-{:02}",
        index.div_euclid(12),
        index.rem_euclid(12) + 1
    )
}

/// The [`month_index`] of text starting `YYYY-MM` (a month label or a day).
pub fn parse_month(text: &str) -> Option<i32> {
    let (y, m, _) = parse_ymd(&format!("{}-01", text.get(..7)?))?;
    (1..=12).contains(&m).then(|| y * 12 + m as i32 - 1)
}

/// A customer's contribution to the repeat-purchase counts, as day → (Δ ≥ 1, Δ ≥ 2).
/// `days` holds the customer's completed orders per day, ascending. The 12 months ending
/// on `e` hold the order of day `d` when `d ≤ e < d + 12 months`, so each order opens an
/// interval of window ends; ≥ 2 orders hold where consecutive orders' intervals overlap.
pub fn repeat_deltas(days: &[(NaiveDate, i64)]) -> Vec<(NaiveDate, i64, i64)> {
    let mut one: Vec<(NaiveDate, NaiveDate)> = Vec::new();
    let mut two: Vec<(NaiveDate, NaiveDate)> = Vec::new();
    // The previous order day's year_after: each day's is computed once (this runs for
    // every order day of every touched customer on each live append).
    let mut previous: Option<NaiveDate> = None;
    for &(day, orders) in days {
        if orders <= 0 {
            continue;
        }
        let after = year_after(day);
        one.push((day, after));
        if let Some(prev_after) = previous {
            two.push((day, prev_after));
        }
        if orders >= 2 {
            two.push((day, after));
        }
        previous = Some(after);
    }
    let mut deltas: std::collections::BTreeMap<NaiveDate, (i64, i64)> = Default::default();
    for (intervals, pick) in [(one, 0), (two, 1)] {
        let mut merged: Vec<(NaiveDate, NaiveDate)> = Vec::new();
        for (start, end) in intervals.into_iter().filter(|(s, e)| s < e) {
            match merged.last_mut() {
                Some(last) if start <= last.1 => last.1 = last.1.max(end),
                _ => merged.push((start, end)),
            }
        }
        for (start, end) in merged {
            let entry = deltas.entry(start).or_default();
            if pick == 0 {
                entry.0 += 1
            } else {
                entry.1 += 1
            }
            let entry = deltas.entry(end).or_default();
            if pick == 0 {
                entry.0 -= 1
            } else {
                entry.1 -= 1
            }
        }
    }
    deltas
        .into_iter()
        .filter(|(_, (a, b))| *a != 0 || *b != 0)
        .map(|(d, (a, b))| (d, a, b))
        .collect()
}

/// The first window end whose 12 months no longer hold `d`: e − 12 months ≥ d, which is
/// the same day a year later, but for 29 February, whose is 1 March (the 12 months ending
/// 28 February start on the 29th). The same as adding 12 months and stepping a day when
/// taking them off again falls short, without the month arithmetic.
fn year_after(d: NaiveDate) -> NaiveDate {
    let next = d.year() + 1;
    d.with_year(next)
        .or_else(|| NaiveDate::from_ymd_opt(next, 3, 1))
        .unwrap_or(NaiveDate::MAX)
}

/// The first day of the month-long span ending on `last`: a calendar month when `last`
/// ends one (the span CLV counts its churn over).
pub fn month_ending(last: NaiveDate) -> NaiveDate {
    let after = last + chrono::Duration::days(1);
    after.checked_sub_months(Months::new(1)).unwrap_or(after)
}

/// Appends to `merged` the union of `spans` (start, end or `None` for open-ended), sorted
/// and with overlapping or touching spans joined: a customer's active days from their
/// subscriptions.
pub fn merge_spans(
    spans: &mut [(NaiveDate, Option<NaiveDate>)],
    merged: &mut Vec<(NaiveDate, Option<NaiveDate>)>,
) {
    spans.sort();
    let first = merged.len();
    for &(a, b) in spans.iter() {
        match merged[first..].last_mut() {
            Some(last) if last.1.is_none_or(|end| a <= end) => {
                last.1 = match (last.1, b) {
                    (Some(x), Some(y)) => Some(x.max(y)),
                    _ => None,
                };
            }
            _ => merged.push((a, b)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn year_after_is_the_first_window_end_a_year_on_for_every_day_leap_days_included() {
        // The definition by month arithmetic it replaces: add 12 months, and step a day
        // when taking them off again falls short of `d`.
        let by_months = |d: NaiveDate| {
            let e = d.checked_add_months(Months::new(12)).unwrap();
            if e.checked_sub_months(Months::new(12)).unwrap() < d {
                e.succ_opt().unwrap()
            } else {
                e
            }
        };
        let mut d = NaiveDate::from_ymd_opt(2019, 1, 1).unwrap();
        while d.year() < 2030 {
            assert_eq!(year_after(d), by_months(d), "{d}");
            d = d.succ_opt().unwrap();
        }
        assert_eq!(
            year_after(NaiveDate::from_ymd_opt(2024, 2, 29).unwrap()),
            NaiveDate::from_ymd_opt(2025, 3, 1).unwrap()
        );
    }

    #[test]
    fn days_parse_exactly_and_nothing_else_does() {
        assert_eq!(
            parse_day("2024-02-29"),
            NaiveDate::from_ymd_opt(2024, 2, 29)
        );
        for bad in [
            "2025-02-29",
            "2025-13-01",
            "2025-1-01",
            "2025-01-01T00",
            "20250101",
            "2025-0a-01",
            "",
        ] {
            assert_eq!(parse_day(bad), None, "{bad}");
        }
        assert_eq!(parse_ymd("2025-02-30"), Some((2025, 2, 30)));
    }

    #[test]
    fn months_count_from_year_zero_and_label_back() {
        let march = month_index(NaiveDate::from_ymd_opt(2025, 3, 31).unwrap());
        assert_eq!(march, 2025 * 12 + 2);
        assert_eq!(month_label(march), "2025-03");
        assert_eq!(parse_month("2025-03"), Some(march));
        assert_eq!(parse_month("2025-03-31"), Some(march));
        assert_eq!(parse_month("2025-13"), None);
        assert_eq!(parse_month("2025"), None);
    }
}
