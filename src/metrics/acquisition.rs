//! Acquisition and marketing: spend, CAC, ROAS, click-through and funnel conversion.
//! Segmented by channel, spend, funnel and signups are those of the channel.

use super::engine::{Cell, Engine};
use super::{MetricError, MetricId, Period, Segment};
use crate::store::metric_queries::DailyQuery;

/// The channel of a segment: every segment of these metrics is by channel.
fn channel(segment: Option<&Segment>) -> Option<String> {
    segment.map(|s| s.value.clone())
}

/// (amount, impressions, clicks) per period; amount in currency units.
fn spend(
    eng: &Engine<'_>,
    periods: &[Period],
    segment: Option<&Segment>,
) -> Result<Vec<Vec<f64>>, MetricError> {
    let mut rows = eng.sums(&DailyQuery::Spend(channel(segment)), periods)?;
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
            let revenue = eng.sums(&DailyQuery::ChannelRevenue(channel(segment)), periods)?;
            Ok(spent
                .iter()
                .zip(revenue)
                .map(|(s, r)| Cell::ratio(r[0] / 100.0, s[0], 1.0, "no spend"))
                .collect())
        }
        MetricId::ConversionRatePct | MetricId::LeadConversionPct => {
            let rows = eng.sums(&DailyQuery::Funnel(channel(segment)), periods)?;
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
