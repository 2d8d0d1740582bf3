//! How numbers read as text. The cockpit, the report and `kpi check` all format through
//! here, so the same figure never reads two ways.

/// `1234567.891` → `1,234,567.89` with `decimals` decimals; `minus` goes before a negative
/// value that does not round to zero (the report sets a typographic `−`, the terminal `-`).
pub fn grouped(value: f64, decimals: usize, minus: &str) -> String {
    let text = format!("{:.*}", decimals, value.abs());
    let (int, frac) = text.split_once('.').unwrap_or((&text, ""));
    let mut out = String::with_capacity(text.len() + int.len() / 3 + minus.len());
    if value < 0.0 && text.chars().any(|c| c.is_ascii_digit() && c != '0') {
        out.push_str(minus);
    }
    for (i, ch) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(ch);
    }
    if !frac.is_empty() {
        out.push('.');
        out.push_str(frac);
    }
    out
}

/// The symbol written before amounts of a currency, where it has a well-known one.
pub fn currency_symbol(code: &str) -> Option<&'static str> {
    match code {
        "USD" | "CAD" | "AUD" => Some("$"),
        "EUR" => Some("€"),
        "GBP" => Some("£"),
        "JPY" => Some("¥"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digits_group_by_thousands_and_zero_has_no_sign() {
        assert_eq!(grouped(1_234_567.891, 2, "-"), "1,234,567.89");
        assert_eq!(grouped(-1_234.6, 0, "−"), "−1,235");
        assert_eq!(grouped(999.0, 0, "-"), "999");
        assert_eq!(grouped(-0.004, 2, "-"), "0.00");
        assert_eq!(grouped(0.5, 1, "-"), "0.5");
    }

    #[test]
    fn well_known_currencies_have_symbols() {
        assert_eq!(currency_symbol("EUR"), Some("€"));
        assert_eq!(currency_symbol("CHF"), None);
    }
}
