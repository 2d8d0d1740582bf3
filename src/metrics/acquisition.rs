//! Acquisition and marketing: spend, CAC, ROAS, click-through and funnel conversion.
//! Segmented by channel, spend, funnel and signups are those of the channel.

use rusqlite::types::Value as SqlValue;

use super::engine::{Cell, Engine};
use super::{MetricError, MetricId, Period, Segment};

fn channel_filter(segment: Option<&Segment>) -> (&'static str, Vec<SqlValue>) {
    match segment {
        Some(s) => (" AND channel = ?3", vec![SqlValue::Text(s.value.clone())]),
        None => ("", Vec::new()),
    }
}

/// (amount, impressions, clicks) per period; amount in currency units.
fn spend(
    eng: &Engine<'_>,
    periods: &[Period],
    segment: Option<&Segment>,
) -> Result<Vec<Vec<f64>>, MetricError> {
    let (filter, params) = channel_filter(segment);
    // TOTAL, not SUM, for money: see `revenue::order_totals`.
    let mut rows = eng.sums(
        &format!(
            "SELECT date, TOTAL(amount), SUM(impressions), SUM(clicks) FROM spend
             WHERE date BETWEEN ?1 AND ?2{filter} GROUP BY date ORDER BY date"
        ),
        3,
        periods,
        &params,
    )?;
    for r in &mut rows {
        r[0] /= 100.0;
    }
    Ok(rows)
}

fn cac(
    eng: &Engine<'_>,
    periods: &[Period],
    segment: Option<&Segment>,
) -> Result<Vec<Cell>, MetricError> {
    let spent = spend(eng, periods, segment)?;
    let new = super::customers::new_customers(eng, periods, segment)?;
    Ok(spent
        .iter()
        .zip(new)
        .map(|(s, n)| Cell::ratio(s[0], n, 1.0, "no new customers"))
        .collect())
}

pub fn compute(
    eng: &Engine<'_>,
    id: &str,
    periods: &[Period],
    segment: Option<&Segment>,
) -> Result<Vec<Cell>, MetricError> {
    let Some(metric) = MetricId::parse(id) else {
        return Err(MetricError::UnknownMetric(id.to_string()));
    };
    match metric {
        MetricId::Spend => Ok(spend(eng, periods, segment)?
            .iter()
            .map(|s| Cell::value(s[0]))
            .collect()),
        MetricId::Cac => cac(eng, periods, segment),
        MetricId::CtrPct => Ok(spend(eng, periods, segment)?
            .iter()
            .map(|s| Cell::ratio(s[2], s[1], 100.0, "no impressions"))
            .collect()),
        MetricId::Roas => {
            let spent = spend(eng, periods, segment)?;
            let (filter, params) = match segment {
                Some(s) => (
                    " AND channel = ?3".to_string(),
                    vec![SqlValue::Text(s.value.clone())],
                ),
                None => (
                    " AND channel IN (SELECT DISTINCT channel FROM spend)".to_string(),
                    Vec::new(),
                ),
            };
            let revenue = eng.sums(
                &format!(
                    "SELECT day, TOTAL(revenue) FROM ru_orders_day
                     WHERE day BETWEEN ?1 AND ?2{filter} GROUP BY day ORDER BY day"
                ),
                1,
                periods,
                &params,
            )?;
            Ok(spent
                .iter()
                .zip(revenue)
                .map(|(s, r)| Cell::ratio(r[0] / 100.0, s[0], 1.0, "no spend"))
                .collect())
        }
        MetricId::ConversionRatePct | MetricId::LeadConversionPct => {
            let (filter, params) = channel_filter(segment);
            let rows = eng.sums(
                &format!(
                    "SELECT date, SUM(visitors), SUM(leads), SUM(conversions), COUNT(leads) FROM funnel
                     WHERE date BETWEEN ?1 AND ?2{filter} GROUP BY date ORDER BY date"
                ),
                4,
                periods,
                &params,
            )?;
            Ok(rows
                .iter()
                .map(|r| {
                    if metric == MetricId::ConversionRatePct {
                        Cell::ratio(r[2], r[0], 100.0, "no visitors")
                    } else if r[3] == 0.0 {
                        Cell::note("n/a: no leads recorded")
                    } else {
                        Cell::ratio(r[2], r[1], 100.0, "no leads")
                    }
                })
                .collect())
        }
        MetricId::LtvCac | MetricId::CacPaybackMonths => {
            let cacs = cac(eng, periods, None)?;
            let other = if metric == MetricId::LtvCac {
                super::customers::clv(eng, periods)?
            } else {
                let arpu = super::revenue::arpu(eng, periods)?;
                let margin = super::revenue::gross_margin(eng, periods)?;
                arpu.iter()
                    .zip(&margin)
                    .map(|(a, m)| Cell::zip(a, m, |a, m| Cell::value(a * m / 100.0)))
                    .collect()
            };
            Ok(cacs
                .iter()
                .zip(&other)
                .map(|(c, o)| {
                    if metric == MetricId::LtvCac {
                        Cell::zip(o, c, |clv, cac| Cell::ratio(clv, cac, 1.0, "no CAC"))
                    } else {
                        Cell::zip(c, o, |cac, monthly_margin| {
                            Cell::ratio(cac, monthly_margin, 1.0, "no margin per user")
                        })
                    }
                })
                .collect())
        }
        _ => Err(MetricError::UnknownMetric(id.to_string())),
    }
}
