//! Formatting shared by every demo writer: the data contract's money, dates and
//! timestamps, CSV headers taken from the schema, and the exporter's write-then-rename.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use chrono::{FixedOffset, NaiveDateTime, TimeZone};

use super::DemoError;
use crate::store::schema;

pub type CsvOut = csv::Writer<BufWriter<File>>;

/// Minor units as the contract's decimal text: `1234` → `12.34`.
pub fn money(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let abs = cents.unsigned_abs();
    format!("{sign}{}.{:02}", abs / 100, abs % 100)
}

/// Dollars to whole cents.
pub fn cents(amount: f64) -> i64 {
    (amount * 100.0).round() as i64
}

pub fn ts_utc(ts: NaiveDateTime) -> String {
    ts.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// The instant `utc`, written in the local time of a zone `offset_h` hours from UTC.
pub fn ts_offset(utc: NaiveDateTime, offset_h: i32) -> String {
    match FixedOffset::east_opt(offset_h * 3600) {
        Some(zone) => zone
            .from_utc_datetime(&utc)
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        None => ts_utc(utc),
    }
}

/// The contract's column names of `table`, in schema order.
pub fn header(table: &str) -> Vec<&'static str> {
    schema::table(table)
        .map(|t| t.columns.iter().map(|c| c.name).collect())
        .unwrap_or_default()
}

/// A CSV file with the contract's header of `table` (plus `extra` columns).
pub fn csv_file(path: &Path, table: &str, extra: &[&str]) -> Result<CsvOut, DemoError> {
    let file = File::create(path).map_err(DemoError::at("create", path))?;
    let mut writer = csv::WriterBuilder::new()
        .terminator(csv::Terminator::Any(b'\n'))
        .from_writer(BufWriter::new(file));
    let mut columns = header(table);
    columns.extend_from_slice(extra);
    writer.write_record(&columns)?;
    Ok(writer)
}

pub fn finish_csv(writer: CsvOut, path: &Path) -> Result<(), DemoError> {
    let mut inner = writer
        .into_inner()
        .map_err(|e| DemoError::at("write", path)(e.into_error()))?;
    inner.flush().map_err(DemoError::at("write", path))
}

/// Writes `bytes` to `path` the way an exporter should: to a hidden temporary file in
/// the same folder, then a rename, so a watcher never sees a half-written file.
pub fn write_then_rename(path: &Path, bytes: &[u8]) -> Result<(), DemoError> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let temp = path.with_file_name(format!(".{name}.tmp"));
    {
        let mut file = File::create(&temp).map_err(DemoError::at("create", &temp))?;
        file.write_all(bytes)?;
        file.sync_all()?;
    }
    std::fs::rename(&temp, path).map_err(DemoError::at("rename a file to", path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_has_two_decimals_and_a_point() {
        assert_eq!(money(0), "0.00");
        assert_eq!(money(5), "0.05");
        assert_eq!(money(123_456), "1234.56");
        assert_eq!(money(-250), "-2.50");
        assert_eq!(cents(19.999), 2000);
    }

    #[test]
    fn timestamps_are_rfc3339() {
        let ts = chrono::NaiveDate::from_ymd_opt(2026, 11, 15)
            .and_then(|d| d.and_hms_opt(23, 30, 0))
            .unwrap();
        assert_eq!(ts_utc(ts), "2026-11-15T23:30:00Z");
        assert_eq!(ts_offset(ts, 1), "2026-11-16T00:30:00+01:00");
        assert_eq!(ts_offset(ts, -5), "2026-11-15T18:30:00-05:00");
    }
}
