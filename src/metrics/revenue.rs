//! Revenue and profitability: from the order, refund and cost rollups.

use std::collections::{BTreeMap, HashMap};

use super::engine::{Cell, Engine, channel_or_customer_filter};
use super::{MetricError, MetricId, Period, Segment, repeat_deltas};
use crate::store::metric_queries::{CountQuery, DailyQuery};
use chrono::{Months, NaiveDate};

/// Per-period order totals in currency units (not cents).
#[derive(Debug, Clone, Copy, Default)]
pub struct OrderTotals {
    pub orders: f64,
    pub gross: f64,
    pub discount: f64,
    pub cost: f64,
    pub refunds: f64,
}

impl OrderTotals {
    pub fn net(&self) -> f64 {
        self.gross - self.refunds
    }
}

pub fn order_totals(
    eng: &Engine<'_>,
    periods: &[Period],
    segment: Option<&Segment>,
) -> Result<Vec<OrderTotals>, MetricError> {
    let filter = channel_or_customer_filter(segment);
    let orders = eng.sums(&DailyQuery::Orders(filter.clone()), periods)?;
    let refunds = eng.sums(&DailyQuery::Refunds(filter), periods)?;
    Ok(orders
        .iter()
        .zip(&refunds)
        .map(|(o, r)| OrderTotals {
            orders: o[0],
            gross: o[1] / 100.0,
            discount: o[2] / 100.0,
            cost: o[3] / 100.0,
            refunds: r[0] / 100.0,
        })
        .collect())
}

/// Distinct customers with a completed order, per period.
pub fn paying_customers(
    eng: &Engine<'_>,
    periods: &[Period],
    segment: Option<&Segment>,
) -> Result<Vec<f64>, MetricError> {
    match segment {
        None => {
            let grain = periods
                .first()
                .map(|p| p.grain)
                .unwrap_or(super::Grain::Day);
            super::distinct_cached(eng, &format!("paying_{grain}"), periods)
        }
        Some(_) => {
            let query = CountQuery::PayingCustomers(channel_or_customer_filter(segment));
            periods
                .iter()
                .map(|p| eng.count(&query, p.start, p.end()))
                .collect()
        }
    }
}

/// (cogs, all costs) of the costs table per period, in currency units.
fn table_costs(eng: &Engine<'_>, periods: &[Period]) -> Result<Vec<(f64, f64)>, MetricError> {
    let rows = eng.sums(&DailyQuery::Costs, periods)?;
    Ok(rows.iter().map(|r| (r[0] / 100.0, r[1] / 100.0)).collect())
}

/// Whether any cost is known: margins without costs would read 100 %.
fn has_costs(eng: &Engine<'_>) -> Result<bool, MetricError> {
    if !eng.is_empty("costs")? {
        return Ok(true);
    }
    Ok(eng.store.orders_have_costs()?)
}

/// Active users per period: distinct users in events; without events, paying customers.
pub fn active_users_or_payers(
    eng: &Engine<'_>,
    periods: &[Period],
) -> Result<Vec<f64>, MetricError> {
    if eng.is_empty("events")? {
        paying_customers(eng, periods, None)
    } else {
        super::engagement::active_users(eng, periods, None)
    }
}

/// Count of the configured engagement events per period.
pub fn engagements(eng: &Engine<'_>, periods: &[Period]) -> Result<Vec<f64>, MetricError> {
    let names = eng.config.engagement_events.clone();
    let rows = eng.sums(&DailyQuery::NamedEvents(names), periods)?;
    Ok(rows.iter().map(|r| r[0]).collect())
}

/// Gross margin % per period (cells carry "no data — import costs" without any cost).
pub fn gross_margin(eng: &Engine<'_>, periods: &[Period]) -> Result<Vec<Cell>, MetricError> {
    if !has_costs(eng)? {
        return Ok(vec![Cell::note("no data — import costs"); periods.len()]);
    }
    let totals = order_totals(eng, periods, None)?;
    let costs = table_costs(eng, periods)?;
    Ok(totals
        .iter()
        .zip(&costs)
        .map(|(t, (cogs, _))| Cell::ratio(t.gross - t.cost - cogs, t.gross, 100.0, "no revenue"))
        .collect())
}

pub fn arpu(eng: &Engine<'_>, periods: &[Period]) -> Result<Vec<Cell>, MetricError> {
    let totals = order_totals(eng, periods, None)?;
    let users = active_users_or_payers(eng, periods)?;
    Ok(totals
        .iter()
        .zip(users)
        .map(|(t, u)| Cell::ratio(t.net(), u, 1.0, "no active users"))
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
    let each = |f: &dyn Fn(&OrderTotals) -> Cell| -> Result<Vec<Cell>, MetricError> {
        Ok(order_totals(eng, periods, segment)?.iter().map(f).collect())
    };
    match metric {
        MetricId::GrossRevenue => each(&|t| Cell::value(t.gross)),
        MetricId::NetRevenue => each(&|t| Cell::value(t.net())),
        MetricId::Orders => each(&|t| Cell::value(t.orders)),
        MetricId::Aov => each(&|t| Cell::ratio(t.gross, t.orders, 1.0, "no orders")),
        MetricId::DiscountRate => {
            each(&|t| Cell::ratio(t.discount, t.gross + t.discount, 100.0, "no orders"))
        }
        MetricId::PayingCustomers => Ok(paying_customers(eng, periods, segment)?
            .into_iter()
            .map(Cell::value)
            .collect()),
        MetricId::GrossMarginPct => gross_margin(eng, periods),
        MetricId::NetMarginPct => {
            let totals = order_totals(eng, periods, None)?;
            let costs = table_costs(eng, periods)?;
            let known = has_costs(eng)?;
            Ok(totals
                .iter()
                .zip(&costs)
                .map(|(t, (_, all))| {
                    let cell = Cell::ratio(t.net() - t.cost - all, t.gross, 100.0, "no revenue");
                    if known || cell.value.is_none() {
                        cell
                    } else {
                        Cell::note("no data — import costs")
                    }
                })
                .collect())
        }
        MetricId::Arpu => arpu(eng, periods),
        MetricId::RevenuePerEngagement => {
            let totals = order_totals(eng, periods, None)?;
            let engaged = engagements(eng, periods)?;
            Ok(totals
                .iter()
                .zip(engaged)
                .map(|(t, e)| Cell::ratio(t.net(), e, 1.0, "no engagement events"))
                .collect())
        }
        MetricId::RepeatPurchaseRate => repeat_purchase_rate(eng, periods, segment),
        _ => Err(MetricError::UnknownMetric(id.to_string())),
    }
}

/// Customers with ≥ 2 completed orders ÷ customers with ≥ 1 over the 12 months ending at
/// each period's end (or reference date); a shorter history gives a "horizon N months"
/// note. Overall counts are prefix sums of the `ru_repeat_delta` rollup; a segment's are
/// computed the same way from its customers' order days.
fn repeat_purchase_rate(
    eng: &Engine<'_>,
    periods: &[Period],
    segment: Option<&Segment>,
) -> Result<Vec<Cell>, MetricError> {
    let first = eng.store.first_order_day()?;
    let Some(first) = first.and_then(|d| NaiveDate::parse_from_str(&d, "%Y-%m-%d").ok()) else {
        return Ok(vec![Cell::note("n/a: no completed orders"); periods.len()]);
    };
    let Some(last) = periods.last().map(|p| p.end().min(eng.as_of)) else {
        return Ok(Vec::new());
    };
    let deltas: Vec<(NaiveDate, i64, i64)> = match segment {
        None => eng.store.repeat_deltas_until(last)?,
        Some(segment) => {
            // Counts at a window end depend on the 12 months before it only: a history
            // cut a year before the first period's end gives the same counts from there.
            let first_end = periods.first().map_or(last, |p| p.end().min(eng.as_of));
            let cut = first_end
                .checked_sub_months(Months::new(12))
                .unwrap_or(first)
                .max(first);
            segment_repeat_deltas(eng, &segment.dimension, cut, last)?
                .get(&segment.value)
                .cloned()
                .unwrap_or_default()
        }
    };
    let mut out = Vec::with_capacity(periods.len());
    let (mut i, mut ge1, mut ge2) = (0, 0i64, 0i64);
    for period in periods {
        let end = period.end().min(eng.as_of);
        while i < deltas.len() && deltas[i].0 <= end {
            ge1 += deltas[i].1;
            ge2 += deltas[i].2;
            i += 1;
        }
        let start = end
            .checked_sub_months(Months::new(12))
            .map_or(end, |d| d.succ_opt().unwrap_or(d));
        let mut cell = Cell::ratio(
            ge2 as f64,
            ge1 as f64,
            100.0,
            "no customers with an order yet",
        );
        if first > start && cell.value.is_some() {
            let months = super::months_spanned(first, end);
            cell = cell.with_note(format!("horizon {months} months"));
        }
        out.push(cell);
    }
    Ok(out)
}

/// A day's change of the customers with ≥ 1 and with ≥ 2 orders in the 12 months ending
/// on it.
type RepeatDelta = (NaiveDate, i64, i64);

/// Repeat-purchase deltas of every value of `dimension` from the order days in [`from`,
/// `to`], in one pass: the order channel splits a customer's days by channel; a customer
/// attribute puts all of them in the customer's value.
fn segment_repeat_deltas(
    eng: &Engine<'_>,
    dimension: &str,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<std::rc::Rc<HashMap<String, Vec<RepeatDelta>>>, MetricError> {
    let key = format!("segment repeat deltas {dimension} {from} {to}");
    eng.memo(key, || {
        let mut sums: HashMap<String, BTreeMap<NaiveDate, (i64, i64)>> = HashMap::new();
        let mut current: Option<(String, String)> = None;
        let mut days: Vec<(NaiveDate, i64)> = Vec::new();
        let mut flush = |value: Option<&String>, days: &mut Vec<(NaiveDate, i64)>| {
            if let Some(value) = value {
                let sum = sums.entry(value.clone()).or_default();
                for (d, a, b) in repeat_deltas(days) {
                    let e = sum.entry(d).or_default();
                    e.0 += a;
                    e.1 += b;
                }
            }
            days.clear();
        };
        // Rows come grouped by (value, customer), days ascending within.
        eng.store.segment_order_days(dimension, from, to, |row| {
            if current
                .as_ref()
                .is_none_or(|(v, c)| *v != row.value || *c != row.customer_id)
            {
                flush(current.as_ref().map(|(v, _)| v), &mut days);
                current = Some((row.value, row.customer_id));
            }
            let Some(day) = crate::dates::parse_day(&row.day) else {
                return;
            };
            // One row per order channel: a day's rows add up.
            match days.last_mut() {
                Some((last, n)) if *last == day => *n += row.orders,
                _ => days.push((day, row.orders)),
            }
        })?;
        flush(current.as_ref().map(|(v, _)| v), &mut days);
        Ok(sums
            .into_iter()
            .map(|(value, deltas)| {
                let deltas = deltas.into_iter().map(|(d, (a, b))| (d, a, b)).collect();
                (value, deltas)
            })
            .collect())
    })
}
