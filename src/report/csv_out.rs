//! The CSV form of a report: one row per metric, segment and period, full precision.

use std::io::Write;

use super::Report;

pub const HEADER: [&str; 11] = [
    "metric",
    "name",
    "category",
    "unit",
    "direction",
    "segment_dimension",
    "segment_value",
    "period",
    "value",
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
            w.write_record([
                m.def.id.as_ref(),
                m.def.name.as_ref(),
                m.category,
                &unit,
                &direction,
                m.segment.as_ref().map_or("", |s| s.dimension.as_str()),
                m.segment.as_ref().map_or("", |s| s.value.as_str()),
                &p.period.label(),
                &p.value.map(|v| v.to_string()).unwrap_or_default(),
                if p.partial { "true" } else { "false" },
                p.note.as_deref().unwrap_or(""),
            ])?;
        }
    }
    w.flush()?;
    Ok(())
}
