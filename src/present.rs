//! The one place that makes text from data safe to show. Imported files carry strings
//! kpi does not control — file names, header names, metric names, segment values — and
//! a terminal obeys the escape sequences in them: OSC 0 retitles the window, OSC 52
//! writes the clipboard, CSI moves the cursor, bidi overrides reorder the line. The
//! cockpit, `kpi report`, `kpi check`, `kpi import` and `kpi demo` all go through here,
//! so there is a single definition of "unsafe" and a single way out to stdout.
//!
//! It is also the one place that turns a number into text: [`value`] writes a metric's
//! value in its unit and [`Change`] a change in the way the catalog says it is expressed
//! ([`ChangeKind`]). The cockpit, `kpi report` and `kpi check` all call these, so one
//! figure reads one way everywhere.

use std::borrow::Cow;
use std::io::{self, Write};

use serde::Serialize;

use crate::alerts::{TargetStatus, Tier};
use crate::metrics::catalog::{ChangeKind, change_kind};
use crate::metrics::{Direction, Unit};

/// `1234567.891` → `1,234,567.89` with `decimals` decimals; a `-` before a negative value
/// that does not round to zero.
pub fn grouped(value: f64, decimals: usize) -> String {
    let text = format!("{:.*}", decimals, value.abs());
    let (int, frac) = text.split_once('.').unwrap_or((&text, ""));
    let mut out = String::with_capacity(text.len() + int.len() / 3 + 1);
    if value < 0.0 && text.chars().any(|c| c.is_ascii_digit() && c != '0') {
        out.push('-');
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

/// Decimals a value of `unit` is rounded to for reading: the one rounding rule per unit.
fn decimals(unit: Unit, value: f64) -> usize {
    match unit {
        // Cents matter on small amounts (an AOV of $42.50), not on revenue.
        Unit::Currency if value.abs() < 1_000.0 => 2,
        Unit::Currency | Unit::Seconds => 0,
        Unit::Count if value.fract() == 0.0 => 0,
        Unit::Count | Unit::Percent | Unit::Hours | Unit::Days | Unit::Months | Unit::Score => 1,
        Unit::Ratio => 2,
    }
}

/// A metric value in its unit, as every output shows it: `$58,450`, `€12.50`,
/// `CHF 2,500,000`, `23.3%`, `1,000`, `-11.2` (a score), `4.3 h`.
pub fn value(value: f64, unit: Unit, currency: &str) -> String {
    // A bug upstream must not print "NaN" or "inf" as if it were a reading.
    if !value.is_finite() {
        return "n/a".into();
    }
    let number = grouped(value, decimals(unit, value));
    match unit {
        Unit::Currency => {
            let symbol = currency_symbol(currency)
                .map_or_else(|| format!("{} ", clean(currency)), str::to_string);
            match number.strip_prefix('-') {
                Some(magnitude) => format!("-{symbol}{magnitude}"),
                None => format!("{symbol}{number}"),
            }
        }
        Unit::Percent => format!("{number}%"),
        Unit::Count | Unit::Ratio | Unit::Score => number,
        Unit::Hours => format!("{number} h"),
        Unit::Days => format!("{number} d"),
        Unit::Seconds => format!("{number} s"),
        Unit::Months => format!("{number} mo"),
    }
}

/// A difference of two values in their unit, signed either way: `+$30`, `-$75`, `+2`,
/// `0` — the change an account made to a total.
pub fn signed_value(difference: f64, unit: Unit, currency: &str) -> String {
    let text = value(difference, unit, currency);
    if difference > 0.0 && difference.is_finite() {
        format!("+{text}")
    } else {
        text
    }
}

/// How many periods the charts' rolling mean spans (the cockpit's Trends and the HTML
/// readout draw the same line).
pub const ROLLING_WINDOW: usize = 3;

/// Trailing mean of `window` values ending at each index (shorter at the start): the
/// rolling-mean line drawn beside a series.
pub fn rolling_mean(values: &[f64], window: usize) -> Vec<f64> {
    (0..values.len())
        .map(|i| {
            let start = (i + 1).saturating_sub(window);
            let slice = &values[start..=i];
            slice.iter().sum::<f64>() / slice.len() as f64
        })
        .collect()
}

/// A value short enough for a bar: `58k`, `1.2M`, `23.4`.
pub fn compact(value: f64, unit: Unit) -> String {
    let abs = value.abs();
    if !value.is_finite() {
        return "n/a".into();
    }
    let text = if abs >= 1e6 {
        format!("{:.1}M", value / 1e6)
    } else if abs >= 1e4 {
        format!("{:.0}k", value / 1e3)
    } else if abs >= 1e3 {
        format!("{:.1}k", value / 1e3)
    } else if abs >= 100.0 || unit == Unit::Count {
        format!("{value:.0}")
    } else {
        format!("{value:.1}")
    };
    if unit == Unit::Percent {
        format!("{text}%")
    } else {
        text
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

/// The mark of an alert tier, for where colour cannot carry it (SPEC §5).
pub fn tier_mark(tier: Tier) -> &'static str {
    match tier {
        Tier::Strong => "‼",
        Tier::Mild => "!",
    }
}

/// How far apart two values of `unit` are, unsigned and in the metric's terms: `$8,800`
/// for amounts, `4.0 pp` for percentages, `3.2 pts` for scores.
fn gap(unit: Unit, a: f64, b: f64, currency: &str) -> String {
    let distance = (a - b).abs();
    match change_kind(unit) {
        ChangeKind::Relative => value(distance, unit, currency),
        ChangeKind::Points if unit == Unit::Percent => format!("{} pp", grouped(distance, 1)),
        ChangeKind::Points => format!("{} pts", grouped(distance, 1)),
    }
}

/// A target read for what it is, in pieces the cockpit fits to its width and the report
/// and `kpi check` print whole.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetText {
    /// Where the metric stands against the goal: `85% of $90,000` for an amount that
    /// grows towards it; `23.8 vs target 45.0` otherwise (a share of a score or of a
    /// percentage means nothing).
    pub standing: String,
    /// The projection: `pace: $81,200 by 2026-12-31 (misses by $8,800)`.
    pub pace: Option<String>,
    /// The verdict alone: `misses by $8,800`, `beats it by $1,200`, `reaches it`.
    pub verdict: Option<String>,
    /// Why the target is at risk, with its tier: `at risk: projected $81,200 by 2026-12-31
    /// vs target $90,000`.
    pub risk: Option<(Tier, String)>,
}

impl TargetText {
    /// `85% of $90,000 · pace: $81,200 by 2026-12-31 (misses by $8,800)`.
    pub fn line(&self) -> String {
        match &self.pace {
            Some(pace) => format!("{} · {pace}", self.standing),
            None => self.standing.clone(),
        }
    }
}

/// The text of a target's status for a metric in `unit` whose better side is `direction`.
pub fn target(
    status: &TargetStatus,
    unit: Unit,
    direction: Direction,
    currency: &str,
) -> TargetText {
    let shown = |v: f64| value(v, unit, currency);
    let goal = shown(status.target);
    let by = status.by.format("%Y-%m-%d");
    let standing = match status.current {
        None => format!("target {goal} by {by}"),
        Some(current)
            if change_kind(unit) == ChangeKind::Relative
                && direction == Direction::HigherIsBetter
                && status.target > 0.0
                && current >= 0.0 =>
        {
            let share = grouped(current / status.target * 100.0, 0);
            format!("{share}% of {goal}")
        }
        Some(current) => format!("{} vs target {goal}", shown(current)),
    };
    let verdict = status.projected.map(|projected| {
        let short = match direction {
            Direction::HigherIsBetter => projected < status.target,
            Direction::LowerIsBetter => projected > status.target,
        };
        let distance = gap(unit, projected, status.target, currency);
        if shown(projected) == goal {
            "reaches it".to_string()
        } else if status.missed {
            format!("missed by {distance}")
        } else if short {
            format!("misses by {distance}")
        } else {
            format!("beats it by {distance}")
        }
    });
    let pace = status
        .projected
        .zip(verdict.as_ref())
        .map(|(projected, verdict)| {
            let word = if status.missed { "ended at" } else { "pace:" };
            format!("{word} {} by {by} ({verdict})", shown(projected))
        });
    let risk = status.tier().map(|tier| {
        let passed_milestone = status
            .milestones
            .iter()
            .find(|m| m.missed && m.actual.is_some());
        let ahead_milestone = status
            .milestones
            .iter()
            .find(|m| m.missed && m.projected.is_some());
        let projected_miss = verdict.as_deref().is_some_and(|v| v.starts_with("misses"));
        let text = if status.missed {
            format!(
                "missed: {} on {by} vs target {goal}",
                shown(status.projected.or(status.current).unwrap_or_default())
            )
        } else if let Some(m) = passed_milestone {
            format!(
                "at risk: milestone {} missed ({} vs {})",
                m.date,
                shown(m.actual.unwrap_or_default()),
                shown(m.value)
            )
        } else if let (true, Some(projected)) = (projected_miss, status.projected) {
            format!(
                "at risk: projected {} by {by} vs target {goal}",
                shown(projected)
            )
        } else if let Some(m) = ahead_milestone {
            format!(
                "at risk: projected {} by {} vs milestone {}",
                shown(m.projected.unwrap_or_default()),
                m.date,
                shown(m.value)
            )
        } else {
            "at risk".to_string()
        };
        (tier, text)
    });
    TargetText {
        standing,
        pace,
        verdict,
        risk,
    }
}

/// A change of a metric from one value to another, expressed as the catalog says
/// ([`ChangeKind`]). Serialized as `{"kind": "relative"|"points", "unit": "%"|"pp"|"pts",
/// "value": …}` with full precision.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Change {
    pub kind: ChangeKind,
    /// What `value` is counted in: `%` (relative), `pp` (percentage points), `pts` (score
    /// points).
    pub unit: &'static str,
    pub value: f64,
}

impl Change {
    /// The change from `previous` to `current` of a metric in `unit`; `None` when either is
    /// missing or not finite, or a relative change has nothing to be relative to.
    pub fn between(unit: Unit, previous: Option<f64>, current: Option<f64>) -> Option<Change> {
        let (previous, current) = (previous?, current?);
        if !previous.is_finite() || !current.is_finite() {
            return None;
        }
        let kind = change_kind(unit);
        let (value, suffix) = match kind {
            ChangeKind::Relative if previous == 0.0 => return None,
            ChangeKind::Relative => ((current - previous) / previous.abs() * 100.0, "%"),
            ChangeKind::Points if unit == Unit::Percent => (current - previous, "pp"),
            ChangeKind::Points => (current - previous, "pts"),
        };
        Some(Change {
            kind,
            unit: suffix,
            value,
        })
    }

    /// The value as the text shows it: one decimal, so what reads as `0.0` is no change.
    fn shown(&self) -> f64 {
        let rounded = (self.value * 10.0).round() / 10.0;
        if rounded == 0.0 { 0.0 } else { rounded }
    }

    /// Whether the change, as shown, is a rise (`Some(true)`), a fall or none (`None`).
    pub fn rising(&self) -> Option<bool> {
        let shown = self.shown();
        (shown != 0.0).then_some(shown > 0.0)
    }

    /// `+4.2%`, `-11.2 pts`, `+0.1 pp`, `0.0%`.
    pub fn amount(&self) -> String {
        let shown = self.shown();
        let sign = if shown > 0.0 { "+" } else { "" };
        let space = if self.unit == "%" { "" } else { " " };
        format!("{sign}{}{space}{}", grouped(shown, 1), self.unit)
    }

    /// The amount behind an arrow: `▲ +4.2%`, `▼ -11.2 pts`, `= 0.0 pp`.
    pub fn text(&self) -> String {
        let arrow = match self.rising() {
            Some(true) => "▲",
            Some(false) => "▼",
            None => "=",
        };
        format!("{arrow} {}", self.amount())
    }
}

/// Characters a terminal may act on instead of drawing: C0 (ESC, BEL, CR, …), DEL, C1
/// (U+0080–U+009F, 8-bit CSI and OSC among them), and the bidirectional controls that
/// make text read differently from how it is stored.
pub fn is_unsafe(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}' | '\u{061C}'
        )
}

fn strip(text: &str, keep: impl Fn(char) -> bool) -> Cow<'_, str> {
    let drop = |c: char| is_unsafe(c) && !keep(c);
    if text.chars().any(drop) {
        Cow::Owned(text.chars().filter(|c| !drop(*c)).collect())
    } else {
        Cow::Borrowed(text)
    }
}

/// A data string to be placed inside a line (a table cell, a label): every unsafe
/// character removed, line breaks included, so what is left is plain text on one line.
pub fn clean(text: &str) -> Cow<'_, str> {
    strip(text, |_| false)
}

/// Text about to be written to a terminal, possibly several lines: every unsafe
/// character removed except the line feed that separates the lines.
pub fn terminal_text(text: &str) -> Cow<'_, str> {
    strip(text, |c| c == '\n')
}

/// Text from data placed in an HTML page, as element content or a quoted attribute
/// value: cleaned like any other data string, then `&`, `<`, `>`, `"` and `'` written as
/// entities, so a label holding `<script>` reads as that text and never becomes markup.
pub fn html(text: &str) -> Cow<'_, str> {
    let cleaned = clean(text);
    if !cleaned.contains(['&', '<', '>', '"', '\'']) {
        return cleaned;
    }
    let mut escaped = String::with_capacity(cleaned.len() + 16);
    for c in cleaned.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            other => escaped.push(other),
        }
    }
    Cow::Owned(escaped)
}

/// A cohort cell, the share (0–1) of a cohort still active: `43 %`.
pub fn cohort_share(share: f64) -> String {
    format!("{:.0} %", share * 100.0)
}

/// A CSV cell holding text from data. Cleaned like any other data string, then, when it
/// starts like a formula (`=`, `+`, `-`, `@`), prefixed with `'` so a spreadsheet shows it
/// instead of evaluating it (OWASP's advice against CSV injection). Tab and carriage
/// return, the other two starters OWASP lists, are already gone with the cleaning.
/// Only for text columns: numbers are written as numbers, `-42.5` included.
pub fn csv_text(text: &str) -> Cow<'_, str> {
    let cleaned = clean(text);
    if cleaned.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        Cow::Owned(format!("'{cleaned}"))
    } else {
        cleaned
    }
}

/// Pretty JSON whose strings hold no unsafe character in raw form: serde already escapes
/// C0; DEL, C1 and bidi controls are written as `\uXXXX` too. A JSON reader gets exactly
/// the same values; a terminal gets nothing to act on.
pub fn to_json_pretty<T: serde::Serialize + ?Sized>(value: &T) -> serde_json::Result<String> {
    let json = serde_json::to_string_pretty(value)?;
    // Serde escapes line feeds in strings, so the ones left lay out the document.
    let needs_escape = |c: char| c != '\n' && is_unsafe(c);
    if !json.chars().any(needs_escape) {
        return Ok(json);
    }
    // Outside strings serde writes only ASCII punctuation, digits, letters and layout, so
    // every unsafe character left is inside a string literal, where an escape means the
    // same.
    let mut escaped = String::with_capacity(json.len() + 16);
    for c in json.chars() {
        if needs_escape(c) {
            escaped.push_str(&format!("\\u{:04x}", u32::from(c)));
        } else {
            escaped.push(c);
        }
    }
    Ok(escaped)
}

/// Standard output as every command uses it: see [`TerminalWriter`].
pub fn stdout() -> TerminalWriter<io::Stdout> {
    TerminalWriter::new(io::stdout())
}

/// Standard error, with the same cleaning as [`stdout`].
pub fn stderr() -> TerminalWriter<io::Stderr> {
    TerminalWriter::new(io::stderr())
}

/// A writer that passes each complete line through [`terminal_text`], and treats a reader
/// that went away (`kpi report | head -1`: EPIPE) as the end of the output rather than a
/// failure — what was asked for was done; nobody wants the rest.
pub struct TerminalWriter<W: Write> {
    inner: W,
    /// Bytes of a line not yet ended, kept so a character or an escape sequence split
    /// across two writes is still seen whole.
    pending: Vec<u8>,
    reader_gone: bool,
}

impl<W: Write> TerminalWriter<W> {
    pub fn new(inner: W) -> Self {
        Self {
            inner,
            pending: Vec::new(),
            reader_gone: false,
        }
    }

    /// Whether the reader closed the pipe; output since then was dropped.
    pub fn reader_gone(&self) -> bool {
        self.reader_gone
    }

    /// Replaces the current line with `text` (a progress bar): the only place where kpi
    /// writes an escape sequence of its own outside the cockpit.
    pub fn redraw_line(&mut self, text: &str) -> io::Result<()> {
        self.flush()?;
        let line = format!("\r\x1b[2K{}", clean(text));
        self.pass(|inner| {
            inner.write_all(line.as_bytes())?;
            inner.flush()
        })
    }

    fn pass(&mut self, op: impl FnOnce(&mut W) -> io::Result<()>) -> io::Result<()> {
        if self.reader_gone {
            return Ok(());
        }
        match op(&mut self.inner) {
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {
                self.reader_gone = true;
                self.pending.clear();
                Ok(())
            }
            other => other,
        }
    }

    /// Writes out the first `len` pending bytes, cleaned.
    fn emit(&mut self, len: usize) -> io::Result<()> {
        let bytes: Vec<u8> = self.pending.drain(..len).collect();
        let text = String::from_utf8_lossy(&bytes);
        let safe = terminal_text(&text);
        self.pass(|inner| inner.write_all(safe.as_bytes()))
    }
}

impl<W: Write> Write for TerminalWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.reader_gone {
            return Ok(buf.len());
        }
        self.pending.extend_from_slice(buf);
        // A line feed byte is never inside a multi-byte character, so the cut is clean.
        if let Some(end) = self.pending.iter().rposition(|&b| b == b'\n') {
            self.emit(end + 1)?;
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        let whole = match std::str::from_utf8(&self.pending) {
            Ok(_) => self.pending.len(),
            // A character cut at the end waits for its other bytes.
            Err(e) if e.error_len().is_none() => e.valid_up_to(),
            Err(_) => self.pending.len(),
        };
        if whole > 0 {
            self.emit(whole)?;
        }
        self.pass(Write::flush)
    }
}

impl<W: Write> Drop for TerminalWriter<W> {
    fn drop(&mut self) {
        // Nothing to report an error to any more; the pipe case is already no error.
        let _ = self.flush();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_difference_reads_signed_either_way_in_its_unit() {
        assert_eq!(signed_value(30.0, Unit::Currency, "USD"), "+$30.00");
        assert_eq!(signed_value(-1_400.0, Unit::Currency, "USD"), "-$1,400");
        assert_eq!(signed_value(2.0, Unit::Count, "USD"), "+2");
        assert_eq!(signed_value(0.0, Unit::Count, "USD"), "0");
        assert_eq!(signed_value(f64::NAN, Unit::Count, "USD"), "n/a");
    }

    #[test]
    fn rolling_mean_uses_what_exists_at_the_start() {
        assert_eq!(
            rolling_mean(&[3.0, 6.0, 9.0, 12.0], 3),
            vec![3.0, 4.5, 6.0, 9.0]
        );
    }

    #[test]
    fn values_read_in_their_unit_with_one_rounding_rule_per_unit() {
        assert_eq!(value(58_450.4, Unit::Currency, "USD"), "$58,450");
        assert_eq!(value(999.5, Unit::Currency, "USD"), "$999.50");
        assert_eq!(value(12.5, Unit::Currency, "EUR"), "€12.50");
        assert_eq!(value(-1_234.0, Unit::Currency, "USD"), "-$1,234");
        assert_eq!(value(2_500_000.0, Unit::Currency, "CHF"), "CHF 2,500,000");
        assert_eq!(value(5.5, Unit::Currency, "X\u{1b}Y"), "XY 5.50");
        assert_eq!(value(23.333, Unit::Percent, "USD"), "23.3%");
        assert_eq!(value(1_000.0, Unit::Count, "USD"), "1,000");
        assert_eq!(value(12.25, Unit::Count, "USD"), "12.2");
        assert_eq!(value(-11.24, Unit::Score, "USD"), "-11.2");
        assert_eq!(value(4.26, Unit::Score, "USD"), "4.3");
        assert_eq!(value(14.2857, Unit::Ratio, "USD"), "14.29");
        assert_eq!(value(4.26, Unit::Hours, "USD"), "4.3 h");
        assert_eq!(value(3.0, Unit::Days, "USD"), "3.0 d");
        assert_eq!(value(95.4, Unit::Seconds, "USD"), "95 s");
        assert_eq!(value(7.04, Unit::Months, "USD"), "7.0 mo");
        assert_eq!(value(-0.001, Unit::Currency, "USD"), "$0.00");
        assert_eq!(value(f64::NAN, Unit::Percent, "USD"), "n/a");
        assert_eq!(value(f64::INFINITY, Unit::Currency, "USD"), "n/a");
    }

    #[test]
    fn nps_and_churn_change_in_points_and_amounts_relatively() {
        // The cases: NPS read "-32.0%" in the cockpit and "-11.2 pts" in the report.
        let nps = Change::between(Unit::Score, Some(35.0), Some(23.8)).unwrap();
        assert_eq!(nps.kind, ChangeKind::Points);
        assert_eq!(nps.text(), "▼ -11.2 pts");
        let churn = Change::between(Unit::Percent, Some(0.585), Some(0.685)).unwrap();
        assert_eq!(churn.text(), "▲ +0.1 pp");
        let revenue = Change::between(Unit::Currency, Some(50_000.0), Some(52_100.0)).unwrap();
        assert_eq!(revenue.kind, ChangeKind::Relative);
        assert_eq!(revenue.text(), "▲ +4.2%");
        assert_eq!(
            Change::between(Unit::Count, Some(-200.0), Some(-100.0)).map(|c| c.text()),
            Some("▲ +50.0%".into())
        );
        assert_eq!(Change::between(Unit::Count, Some(0.0), Some(3.0)), None);
        assert_eq!(
            Change::between(Unit::Score, Some(0.0), Some(3.0))
                .unwrap()
                .amount(),
            "+3.0 pts"
        );
        assert_eq!(Change::between(Unit::Count, None, Some(3.0)), None);
        assert_eq!(
            Change::between(Unit::Count, Some(f64::NAN), Some(3.0)),
            None
        );
        let none = Change::between(Unit::Percent, Some(2.0), Some(2.04)).unwrap();
        assert_eq!((none.rising(), none.text()), (None, "= 0.0 pp".to_string()));
        let json = serde_json::to_value(nps).unwrap();
        assert_eq!(json["kind"], "points");
        assert_eq!(json["unit"], "pts");
        assert!((json["value"].as_f64().unwrap() - -11.2).abs() < 1e-9);
    }

    #[test]
    fn compact_values_fit_a_bar() {
        assert_eq!(compact(58_450.0, Unit::Currency), "58k");
        assert_eq!(compact(1_250_000.0, Unit::Currency), "1.2M");
        assert_eq!(compact(23.44, Unit::Percent), "23.4%");
        assert_eq!(compact(412.0, Unit::Count), "412");
    }

    fn mrr_target(current: f64, projected: f64) -> TargetStatus {
        TargetStatus {
            metric: "mrr".into(),
            target: 90_000.0,
            by: chrono::NaiveDate::from_ymd_opt(2026, 12, 31).unwrap(),
            grain: crate::metrics::Grain::Month,
            baseline: Some(70_000.0),
            current: Some(current),
            progress_pct: Some((current - 70_000.0) / 200.0),
            on_pace_value: None,
            projected: Some(projected),
            milestones: Vec::new(),
            missed: false,
            at_risk: projected < 90_000.0,
            note: None,
        }
    }

    #[test]
    fn a_target_reads_as_its_share_and_its_pace_not_as_progress_from_a_start() {
        // The case: MRR $76,291 of $90,000 read "35% of $90,000".
        let status = mrr_target(76_291.0, 81_200.0);
        let text = target(&status, Unit::Currency, Direction::HigherIsBetter, "USD");
        assert_eq!(
            text.line(),
            "85% of $90,000 · pace: $81,200 by 2026-12-31 (misses by $8,800)"
        );
        assert_eq!(
            text.risk,
            Some((
                Tier::Mild,
                "at risk: projected $81,200 by 2026-12-31 vs target $90,000".into()
            ))
        );
        let ahead = target(
            &mrr_target(88_000.0, 91_200.0),
            Unit::Currency,
            Direction::HigherIsBetter,
            "USD",
        );
        assert_eq!(ahead.verdict.as_deref(), Some("beats it by $1,200"));
        assert_eq!(ahead.risk, None);
    }

    #[test]
    fn a_score_target_reads_in_points_never_as_a_negative_share() {
        // The report printed "-99 % there" for NPS.
        let mut nps = mrr_target(23.8, 30.5);
        nps.target = 45.0;
        nps.progress_pct = Some(-99.0);
        nps.at_risk = true;
        let text = target(&nps, Unit::Score, Direction::HigherIsBetter, "USD");
        assert_eq!(
            text.line(),
            "23.8 vs target 45.0 · pace: 30.5 by 2026-12-31 (misses by 14.5 pts)"
        );
        let mut churn = mrr_target(3.5, 3.5);
        churn.target = 3.0;
        churn.missed = true;
        churn.at_risk = true;
        let text = target(&churn, Unit::Percent, Direction::LowerIsBetter, "USD");
        assert_eq!(
            text.line(),
            "3.5% vs target 3.0% · ended at 3.5% by 2026-12-31 (missed by 0.5 pp)"
        );
        assert_eq!(
            text.risk,
            Some((
                Tier::Strong,
                "missed: 3.5% on 2026-12-31 vs target 3.0%".into()
            ))
        );
    }

    #[test]
    fn digits_group_by_thousands_and_zero_has_no_sign() {
        assert_eq!(grouped(1_234_567.891, 2), "1,234,567.89");
        assert_eq!(grouped(-1_234.6, 0), "-1,235");
        assert_eq!(grouped(999.0, 0), "999");
        assert_eq!(grouped(-0.004, 2), "0.00");
        assert_eq!(currency_symbol("EUR"), Some("€"));
        assert_eq!(currency_symbol("CHF"), None);
    }

    #[test]
    fn escape_sequences_are_stripped_to_plain_text() {
        assert_eq!(clean("\x1b]0;pwned\x07"), "]0;pwned");
        assert_eq!(clean("a\u{202E}b\nc\td"), "abcd");
        assert!(matches!(clean("plain"), Cow::Borrowed("plain")));
    }

    #[test]
    fn c1_del_and_every_bidi_control_are_unsafe() {
        for c in ['\u{7f}', '\u{80}', '\u{9b}', '\u{9d}', '\u{9f}'] {
            assert!(is_unsafe(c), "{:04x}", u32::from(c));
        }
        for c in ('\u{202A}'..='\u{202E}').chain('\u{2066}'..='\u{2069}') {
            assert!(is_unsafe(c), "{:04x}", u32::from(c));
        }
        for c in ['\u{200E}', '\u{200F}', '\u{061C}'] {
            assert!(is_unsafe(c), "{:04x}", u32::from(c));
        }
        assert_eq!(clean("\u{200F}mrr\u{061C}\u{200E}"), "mrr");
        // Ordinary text in any script stays as it is.
        for text in ["Umsatz €", "収益", "إيرادات", "\u{a0}non-breaking", "‼ ▲ —"]
        {
            assert!(matches!(clean(text), Cow::Borrowed(_)), "{text}");
        }
    }

    #[test]
    fn terminal_text_keeps_line_feeds_only() {
        assert_eq!(
            terminal_text("a\x1b[2J\r\nb\u{9b}31m\u{2067}\n"),
            "a[2J\nb31m\n"
        );
    }

    #[test]
    fn html_text_from_data_never_becomes_markup() {
        assert_eq!(
            html("<script>alert(1)</script>"),
            "&lt;script&gt;alert(1)&lt;/script&gt;"
        );
        assert_eq!(
            html("a\" onload='x' & b"),
            "a&quot; onload=&#39;x&#39; &amp; b"
        );
        assert_eq!(html("\x1b]0;t\x07ok"), "]0;tok");
        assert!(matches!(html("Black Friday €"), Cow::Borrowed(_)));
    }

    #[test]
    fn csv_text_cells_that_start_like_a_formula_are_quoted() {
        for (raw, written) in [
            ("=HYPERLINK(\"http://x\")", "'=HYPERLINK(\"http://x\")"),
            ("+cmd", "'+cmd"),
            ("-2+3", "'-2+3"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("\t=1+1", "'=1+1"),
            ("\r@x", "'@x"),
            ("\u{202E}=1", "'=1"),
            ("paid_search", "paid_search"),
            ("a=b", "a=b"),
        ] {
            assert_eq!(csv_text(raw), written, "{raw:?}");
        }
    }

    #[test]
    fn json_strings_keep_their_value_but_escape_what_a_terminal_acts_on() {
        let value = serde_json::json!({"name": "\x1b]0;x\x07 \u{9b}2J \u{7f} \u{202E}rtl €"});
        let json = to_json_pretty(&value).unwrap();
        assert_eq!(terminal_text(&json), json);
        assert_eq!(json.lines().count(), 3, "{json}");
        assert!(json.contains("\\u009b") && json.contains("\\u202e") && json.contains("\\u007f"));
        let back: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(back, value);
    }

    /// A sink that takes `room` bytes, then fails as a closed pipe does.
    struct ClosedAfter {
        taken: Vec<u8>,
        room: usize,
    }

    impl Write for ClosedAfter {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            if self.taken.len() + buf.len() > self.room {
                return Err(io::ErrorKind::BrokenPipe.into());
            }
            self.taken.extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_character_split_across_writes_is_still_cleaned() {
        let mut out = TerminalWriter::new(Vec::new());
        out.write_all(b"name \x1b]0;ti").unwrap();
        out.write_all(b"tle\x07 \xc2").unwrap();
        out.write_all(b"\x9b2J done\n").unwrap();
        out.flush().unwrap();
        assert_eq!(
            String::from_utf8(out.inner.clone()).unwrap(),
            "name ]0;title 2J done\n"
        );
    }

    #[test]
    fn a_closed_pipe_ends_the_output_without_an_error() {
        let mut out = TerminalWriter::new(ClosedAfter {
            taken: Vec::new(),
            room: 6,
        });
        writeln!(out, "first").unwrap();
        writeln!(out, "second").unwrap();
        writeln!(out, "third").unwrap();
        out.flush().unwrap();
        assert!(out.reader_gone());
        assert_eq!(out.inner.taken, b"first\n");
    }

    #[test]
    fn other_write_errors_still_fail() {
        struct Full;
        impl Write for Full {
            fn write(&mut self, _: &[u8]) -> io::Result<usize> {
                Err(io::Error::other("disk full"))
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let mut out = TerminalWriter::new(Full);
        assert!(writeln!(out, "x").is_err());
    }
}
