//! The CSV form of a report: one row per metric, segment and period, full precision. The
//! `change` column is the change from the period before in `change_unit` (`%` relative,
//! `pp` percentage points, `pts` score points), as every other output expresses it.
//! Text cells are written with `present::csv_text`, so a spreadsheet never evaluates a
//! metric name or a segment value as a formula.

use std::io::Write;

use super::Report;
use crate::present::csv_text;

pub const HEADER: [&str; 13] = [
    "metric",
    "name",
    "category",
    "unit",
    "direction",
    "segment_dimension",
    "segment_value",
    "period",
    "value",
    "change",
    "change_unit",
    "partial",
    "note",
];

pub fn write_csv(report: &Report, out: impl Write) -> csv::Result<()> {
    let mut w = csv::Writer::from_writer(out);
    w.write_record(HEADER)?;
    for m in &report.metrics {
        let unit = serde_json::to_value(m.def.unit)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        let direction = serde_json::to_value(m.def.direction)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        for p in &m.points {
            let period = p.period.label();
            let text = [
                m.def.id.as_ref(),
                m.def.name.as_ref(),
                m.category,
                &unit,
                &direction,
                m.segment.as_ref().map_or("", |s| s.dimension.as_str()),
                m.segment.as_ref().map_or("", |s| s.value.as_str()),
                &period,
            ]
            .map(csv_text);
            let value = p.value.map(|v| v.to_string()).unwrap_or_default();
            let change = m.change_into(p.period);
            let change_value = change.map(|c| c.value.to_string()).unwrap_or_default();
            let change_unit = change.map_or("", |c| c.unit);
            let note = csv_text(p.note.as_deref().unwrap_or(""));
            let partial = if p.partial { "true" } else { "false" };
            // The value column is a number and is written as one, `-42.5` included: only
            // text columns can hold a formula.
            w.write_record(text.iter().map(|cell| cell.as_ref()).chain([
                value.as_str(),
                change_value.as_str(),
                change_unit,
                partial,
                note.as_ref(),
            ]))?;
        }
    }
    w.flush()?;
    Ok(())
}
