//! Text for the screen: numbers in their unit, and data strings made safe to draw.

use std::borrow::Cow;

use crate::metrics::Unit;

/// Data strings are drawn as `kpi report` and `kpi check` print them: one cleaner.
pub use crate::present::clean;

/// The symbol shown before money in `currency`, or the code itself.
pub fn currency_symbol(currency: &str) -> Cow<'_, str> {
    crate::numbers::currency_symbol(currency).map_or_else(
        || Cow::Owned(format!("{} ", clean(currency))),
        Cow::Borrowed,
    )
}

/// `12,345` with thousands separators; `1.23M` and `4.5B` above a million.
pub fn grouped(value: f64, decimals: usize) -> String {
    let abs = value.abs();
    let sign = if value < 0.0 { "-" } else { "" };
    if abs >= 1e9 {
        return format!("{sign}{:.2}B", abs / 1e9);
    }
    if abs >= 1e6 {
        return format!("{sign}{:.2}M", abs / 1e6);
    }
    format!("{sign}{}", crate::numbers::grouped(abs, decimals, "-"))
}

/// A metric value in its unit, as a product manager reads it.
pub fn value(value: f64, unit: Unit, currency: &str) -> String {
    // A bug upstream must not print "NaN" or "inf" as if it were a reading.
    if !value.is_finite() {
        return "n/a".into();
    }
    match unit {
        Unit::Currency => {
            let decimals = if value.abs() < 100.0 { 2 } else { 0 };
            let sym = currency_symbol(currency);
            if value < 0.0 {
                format!("-{sym}{}", grouped(-value, decimals))
            } else {
                format!("{sym}{}", grouped(value, decimals))
            }
        }
        Unit::Percent => format!("{value:.1}%"),
        Unit::Count => grouped(value, if value.fract() == 0.0 { 0 } else { 1 }),
        Unit::Ratio => format!("{value:.2}"),
        Unit::Hours => format!("{value:.1} h"),
        Unit::Days => format!("{value:.1} d"),
        Unit::Seconds => format!("{value:.0} s"),
        Unit::Months => format!("{value:.1} mo"),
        Unit::Score => {
            if value.abs() < 10.0 {
                format!("{value:.2}")
            } else {
                format!("{value:.0}")
            }
        }
    }
}

/// The unit's name for axis titles.
pub fn unit_label(unit: Unit, currency: &str) -> String {
    match unit {
        Unit::Currency => clean(currency).into_owned(),
        Unit::Percent => "%".into(),
        Unit::Count => "count".into(),
        Unit::Ratio => "ratio".into(),
        Unit::Hours => "hours".into(),
        Unit::Days => "days".into(),
        Unit::Seconds => "seconds".into(),
        Unit::Months => "months".into(),
        Unit::Score => "score".into(),
    }
}

/// A relative change: `+4.2%`, `-18.0%`.
pub fn change_pct(pct: f64) -> String {
    if !pct.is_finite() {
        return "n/a".into();
    }
    format!("{pct:+.1}%")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_read_in_their_unit() {
        assert_eq!(value(58_450.0, Unit::Currency, "USD"), "$58,450");
        assert_eq!(value(12.5, Unit::Currency, "EUR"), "€12.50");
        assert_eq!(value(-1_234.0, Unit::Currency, "USD"), "-$1,234");
        assert_eq!(value(2_500_000.0, Unit::Currency, "CHF"), "CHF 2.50M");
        assert_eq!(value(23.333, Unit::Percent, "USD"), "23.3%");
        assert_eq!(value(1_000.0, Unit::Count, "USD"), "1,000");
        assert_eq!(value(42.0, Unit::Score, "USD"), "42");
        assert_eq!(value(3.25, Unit::Score, "USD"), "3.25");
        assert_eq!(change_pct(4.21), "+4.2%");
        assert_eq!(change_pct(-18.0), "-18.0%");
        assert_eq!(grouped(999.0, 0), "999");
        assert_eq!(grouped(1_234_567.0, 0), "1.23M");
        assert_eq!(value(f64::NAN, Unit::Percent, "USD"), "n/a");
        assert_eq!(value(f64::INFINITY, Unit::Currency, "USD"), "n/a");
        assert_eq!(change_pct(f64::NEG_INFINITY), "n/a");
    }
}
