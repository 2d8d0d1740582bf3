//! Satisfaction: NPS, CSAT and CES from survey responses.

use super::engine::{Cell, Engine, customer_filter};
use super::{MetricError, MetricId, Period, Segment};
use crate::store::metric_queries::DailyQuery;

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
    let query = DailyQuery::Surveys {
        kind: kind.into(),
        filter: customer_filter(segment),
        high_from: top,
        low_to: bottom,
    };
    let rows = eng.sums(&query, periods)?;
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
