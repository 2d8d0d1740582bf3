//! Satisfaction: NPS, CSAT and CES from survey responses.

use super::engine::{Cell, CustomerFilter, Engine};
use super::{MetricError, MetricId, Period, Segment};

pub fn compute(
    eng: &Engine<'_>,
    id: &str,
    periods: &[Period],
    segment: Option<&Segment>,
) -> Result<Vec<Cell>, MetricError> {
    let Some(metric) = MetricId::parse(id) else {
        return Err(MetricError::UnknownMetric(id.to_string()));
    };
    let (kind, top, bottom) = match metric {
        MetricId::Nps => ("nps", 9.0, 6.0),
        MetricId::CsatPct | MetricId::CsatMean => ("csat", 4.0, f64::NEG_INFINITY),
        MetricId::Ces => ("ces", f64::INFINITY, f64::NEG_INFINITY),
        _ => return Err(MetricError::UnknownMetric(id.to_string())),
    };
    let (filter, mut params) = match segment {
        Some(s) => {
            let f = CustomerFilter::of(s, "customer_id");
            (f.sql, f.params)
        }
        None => (String::new(), Vec::new()),
    };
    params.push(rusqlite::types::Value::Text(kind.into()));
    // The kind goes last so the segment's positional parameters keep their numbers.
    let rows = eng.sums(
        &format!(
            "SELECT date, COUNT(*), SUM(score >= {top}), SUM(score <= {bottom}), SUM(score)
             FROM surveys WHERE date BETWEEN ?1 AND ?2{filter} AND kind = ?
             GROUP BY date ORDER BY date",
            top = finite(top),
            bottom = finite(bottom),
        ),
        4,
        periods,
        &params,
    )?;
    Ok(rows
        .iter()
        .map(|r| {
            let (n, high, low, total) = (r[0], r[1], r[2], r[3]);
            let why = format!("no {kind} responses");
            match metric {
                MetricId::Nps => Cell::ratio(high - low, n, 100.0, &why),
                MetricId::CsatPct => Cell::ratio(high, n, 100.0, &why),
                _ => Cell::ratio(total, n, 1.0, &why),
            }
        })
        .collect())
}

/// A SQL literal for a threshold that never matches when infinite.
fn finite(v: f64) -> String {
    if v.is_finite() {
        v.to_string()
    } else if v > 0.0 {
        "1e308".into()
    } else {
        "-1e308".into()
    }
}
