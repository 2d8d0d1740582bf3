//! Parsing one field per `ColumnKind`: the typed half of the data contract (SPEC §2).
//!
//! Every parser takes the trimmed text of a field and returns the value to store or a
//! reason a user can act on. Money never goes through a float.

use chrono::{DateTime, LocalResult, NaiveDate, NaiveDateTime, TimeZone, Utc};

/// Longest field accepted; longer ones are rejected rather than loaded into the store.
pub const MAX_FIELD_BYTES: usize = 64 * 1024;

/// `YYYY-MM-DD`, exactly (a real calendar day).
pub fn parse_date(text: &str) -> Result<NaiveDate, String> {
    let (y, m, d) = crate::dates::parse_ymd(text)
        .ok_or_else(|| format!("{text:?} is not a date (expected YYYY-MM-DD)"))?;
    NaiveDate::from_ymd_opt(y, m, d).ok_or_else(|| format!("{text:?} is not a calendar day"))
}

/// RFC 3339 (offset honoured) or `YYYY-MM-DD HH:MM:SS` read in `tz`; returns the instant
/// as UTC and its local calendar day in `tz`.
pub fn parse_timestamp(
    text: &str,
    tz: chrono_tz::Tz,
) -> Result<(DateTime<Utc>, NaiveDate), String> {
    let instant = if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        t.with_timezone(&Utc)
    } else {
        let local = [
            "%Y-%m-%d %H:%M:%S",
            "%Y-%m-%dT%H:%M:%S",
            "%Y-%m-%d %H:%M:%S%.f",
        ]
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(text, f).ok())
        .ok_or_else(|| {
            format!(
                "{text:?} is not a timestamp (expected RFC 3339 such as \
                     2025-06-01T12:00:00Z, or YYYY-MM-DD HH:MM:SS)"
            )
        })?;
        match tz.from_local_datetime(&local) {
            LocalResult::Single(t) => t.with_timezone(&Utc),
            // A repeated hour (clocks going back): the first occurrence, as most tools do.
            LocalResult::Ambiguous(first, _) => first.with_timezone(&Utc),
            LocalResult::None => {
                return Err(format!(
                    "{text:?} does not exist in time zone {tz} (clocks went forward)"
                ));
            }
        }
    };
    Ok((instant, instant.with_timezone(&tz).date_naive()))
}

/// UTC `YYYY-MM-DDTHH:MM:SSZ`, the stored form of every timestamp.
pub fn format_utc(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// The largest amount accepted either way, in minor units: 100,000,000,000.00 — a
/// hundred billion, more than any single order, refund, subscription or day's spend or cost
/// of a real business, even in currencies of small units. It is bounded so that money
/// summed in SQL (whose `SUM` fails on integer overflow) or in Rust stays within `i64`:
/// `i64::MAX / MAX_MONEY_MINOR_UNITS` is 922,337 rows at the bound in one sum, where real
/// amounts are many orders of magnitude below it.
pub const MAX_MONEY_MINOR_UNITS: i64 = 10_000_000_000_000;

/// A decimal amount as integer cents: `.` decimal point, at most two decimals (further
/// zeros allowed), no exponent, no thousands separators, at most
/// `MAX_MONEY_MINOR_UNITS` either way.
pub fn parse_money(text: &str, non_negative: bool) -> Result<i64, String> {
    let bad = || format!("{text:?} is not an amount (expected e.g. 1234.50)");
    let (negative, body) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    let (whole, fraction) = match body.split_once('.') {
        Some((w, f)) => (w, f),
        None => (body, ""),
    };
    if whole.is_empty() && fraction.is_empty()
        || !whole.bytes().all(|c| c.is_ascii_digit())
        || !fraction.bytes().all(|c| c.is_ascii_digit())
        || (body.contains('.') && fraction.is_empty() && whole.is_empty())
    {
        return Err(bad());
    }
    let (cents_digits, rest) = fraction.split_at(fraction.len().min(2));
    if rest.bytes().any(|c| c != b'0') {
        return Err(format!(
            "{text:?} has more than two decimals (amounts are stored to the cent)"
        ));
    }
    let too_big = || {
        format!(
            "{text:?} is too large an amount (at most {} either way)",
            crate::present::grouped(MAX_MONEY_MINOR_UNITS as f64 / 100.0, 2)
        )
    };
    let mut cents: i64 = 0;
    for c in whole.bytes() {
        cents = cents
            .checked_mul(10)
            .and_then(|v| v.checked_add(i64::from(c - b'0')))
            .ok_or_else(too_big)?;
    }
    let mut scale = 100;
    for c in cents_digits.bytes() {
        scale /= 10;
        cents = cents
            .checked_mul(10)
            .and_then(|v| v.checked_add(i64::from(c - b'0')))
            .ok_or_else(too_big)?;
    }
    cents = cents.checked_mul(scale).ok_or_else(too_big)?;
    if cents > MAX_MONEY_MINOR_UNITS {
        return Err(too_big());
    }
    if negative {
        cents = -cents;
    }
    if non_negative && cents < 0 {
        return Err(format!("{text:?} is negative (must be 0 or more)"));
    }
    Ok(cents)
}

/// A whole number ≥ 0 (`12`, or `12.0` as JSON tools sometimes write it).
pub fn parse_count(text: &str) -> Result<i64, String> {
    let whole = match text.split_once('.') {
        Some((w, f)) if !w.is_empty() && f.bytes().all(|c| c == b'0') => w,
        Some(_) => return Err(format!("{text:?} is not a whole number")),
        None => text,
    };
    if whole.starts_with('-') && whole[1..].bytes().all(|c| c.is_ascii_digit()) {
        return Err(format!("{text:?} is negative (must be 0 or more)"));
    }
    if whole.is_empty() || !whole.bytes().all(|c| c.is_ascii_digit()) {
        return Err(format!("{text:?} is not a whole number"));
    }
    whole
        .parse::<i64>()
        .map_err(|_| format!("{text:?} is too large"))
}

/// A finite decimal number.
pub fn parse_number(text: &str) -> Result<f64, String> {
    // Rust also reads "inf" and "NaN"; those are not numbers a KPI can use.
    let value: f64 = text
        .parse()
        .map_err(|_| format!("{text:?} is not a number"))?;
    if !value.is_finite() {
        return Err(format!("{text:?} is not a finite number"));
    }
    Ok(value)
}

/// One of `allowed`, case-insensitively; returns the canonical lower-case value.
pub fn parse_enum(text: &str, allowed: &'static [&'static str]) -> Result<&'static str, String> {
    allowed
        .iter()
        .find(|a| a.eq_ignore_ascii_case(text))
        .copied()
        .ok_or_else(|| format!("{text:?} is not one of {}", allowed.join(", ")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_is_exact_cents() {
        assert_eq!(parse_money("12.50", true), Ok(1250));
        assert_eq!(parse_money("12.5", true), Ok(1250));
        assert_eq!(parse_money("12", true), Ok(1200));
        assert_eq!(parse_money("0.07", true), Ok(7));
        assert_eq!(parse_money(".5", true), Ok(50));
        assert_eq!(parse_money("12.5000", true), Ok(1250));
        assert_eq!(parse_money("-3.10", false), Ok(-310));
        assert_eq!(parse_money("19.99", true), Ok(1999));
        assert!(
            parse_money("12.345", true)
                .unwrap_err()
                .contains("two decimals")
        );
        assert!(parse_money("-1", true).unwrap_err().contains("negative"));
        for bad in [
            "", ".", "1,000.00", "1e3", "12.3.4", "abc", "1 000", "--1", "NaN",
        ] {
            assert!(parse_money(bad, true).is_err(), "{bad}");
        }
        assert!(parse_money("99999999999999999999", true).is_err());
    }

    #[test]
    fn amounts_beyond_a_hundred_billion_are_refused_before_they_can_overflow_a_sum() {
        assert_eq!(
            parse_money("100000000000.00", true),
            Ok(MAX_MONEY_MINOR_UNITS)
        );
        assert_eq!(
            parse_money("-100000000000", false),
            Ok(-MAX_MONEY_MINOR_UNITS)
        );
        for too_big in [
            "100000000000.01",
            "92233720368547758.07",
            "-100000000000.01",
        ] {
            let err = parse_money(too_big, false).unwrap_err();
            assert!(
                err.contains("too large an amount (at most 100,000,000,000.00 either way)"),
                "{too_big}: {err}"
            );
        }
    }

    #[test]
    fn dates_are_strict_calendar_days() {
        assert_eq!(
            parse_date("2025-06-01"),
            Ok(NaiveDate::from_ymd_opt(2025, 6, 1).unwrap())
        );
        for bad in [
            "2025-6-1",
            "2025-02-30",
            "01/06/2025",
            "2025-06-01T00:00:00Z",
            "",
        ] {
            assert!(parse_date(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn timestamps_honour_offsets_and_the_configured_zone() {
        let utc = chrono_tz::UTC;
        let (t, day) = parse_timestamp("2025-06-01T23:30:00-02:00", utc).unwrap();
        assert_eq!(format_utc(t), "2025-06-02T01:30:00Z");
        assert_eq!(day.to_string(), "2025-06-02");

        let berlin: chrono_tz::Tz = "Europe/Berlin".parse().unwrap();
        let (t, day) = parse_timestamp("2025-06-01 00:30:00", berlin).unwrap();
        assert_eq!(format_utc(t), "2025-05-31T22:30:00Z");
        assert_eq!(day.to_string(), "2025-06-01");
        let (_, day) = parse_timestamp("2025-05-31T22:30:00Z", berlin).unwrap();
        assert_eq!(
            day.to_string(),
            "2025-06-01",
            "day is cut in the configured zone"
        );

        let err = parse_timestamp("2025-03-30 02:30:00", berlin).unwrap_err();
        assert!(err.contains("does not exist"), "{err}");
        assert!(parse_timestamp("yesterday", utc).is_err());
    }

    #[test]
    fn counts_numbers_and_enums() {
        assert_eq!(parse_count("12"), Ok(12));
        assert_eq!(parse_count("12.0"), Ok(12));
        assert!(parse_count("-3").unwrap_err().contains("negative"));
        assert!(parse_count("1.5").is_err());
        assert_eq!(parse_number("4.25"), Ok(4.25));
        for bad in ["NaN", "inf", "-infinity", "1,5", ""] {
            assert!(parse_number(bad).is_err(), "{bad}");
        }
        assert_eq!(
            parse_enum("Completed", &["completed", "pending"]),
            Ok("completed")
        );
        assert!(
            parse_enum("done", &["completed", "pending"])
                .unwrap_err()
                .contains("completed, pending")
        );
    }
}
