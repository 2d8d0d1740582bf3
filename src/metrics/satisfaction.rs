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
    let Some((kind, top, bottom)) = rule(metric) else {
        return Err(MetricError::UnknownMetric(id.to_string()));
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
        .map(|r| cell(metric, r[0], r[1], r[2], r[3]))
        .collect())
}

/// A survey metric's kind of response, and the scores counted as high (≥) and low (≤);
/// `None` for other metrics.
pub fn rule(metric: MetricId) -> Option<(&'static str, f64, f64)> {
    match metric {
        MetricId::Nps => Some(("nps", 9.0, 6.0)),
        MetricId::CsatPct | MetricId::CsatMean => Some(("csat", 4.0, f64::NEG_INFINITY)),
        MetricId::Ces => Some(("ces", f64::INFINITY, f64::NEG_INFINITY)),
        _ => None,
    }
}

/// A survey metric of a period from its `responses`, how many scored high and low
/// ([`rule`]) and the sum of their scores.
pub fn cell(metric: MetricId, responses: f64, high: f64, low: f64, total: f64) -> Cell {
    let kind = rule(metric).map_or("survey", |(kind, _, _)| kind);
    let why = format!("no {kind} responses");
    match metric {
        MetricId::Nps => Cell::ratio(high - low, responses, 100.0, &why),
        MetricId::CsatPct => Cell::ratio(high, responses, 100.0, &why),
        _ => Cell::ratio(total, responses, 1.0, &why),
    }
}
