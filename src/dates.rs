//! Calendar days as the store writes them (`YYYY-MM-DD`), parsed without a format
//! interpreter: rollup refreshes read hundreds of thousands of them.

use chrono::{Datelike, NaiveDate};

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

#[cfg(test)]
mod tests {
    use super::*;

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
