//! Revenue and profitability: from the order, refund and cost rollups.

use std::collections::{BTreeMap, HashMap};

use chrono::{Months, NaiveDate};
use rusqlite::types::Value as SqlValue;

use super::engine::{Cell, CustomerFilter, Engine, customer_dim_expr};
use super::{MetricError, MetricId, Period, Segment, repeat_deltas};

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

/// Filters a rollup with `channel` and `customer_id` columns by a segment.
fn segment_filter(segment: Option<&Segment>, customer_column: &str) -> (String, Vec<SqlValue>) {
    match segment {
        None => (String::new(), Vec::new()),
        Some(s) if s.dimension == "channel" => (
            " AND channel = ?3".into(),
            vec![SqlValue::Text(s.value.clone())],
        ),
        Some(s) => {
            let f = CustomerFilter::of(s, customer_column);
            // Positional `?` after `?1`/`?2` numbers from 3 on.
            (f.sql, f.params)
        }
    }
}

pub fn order_totals(
    eng: &Engine<'_>,
    periods: &[Period],
    segment: Option<&Segment>,
) -> Result<Vec<OrderTotals>, MetricError> {
    let by_customer = segment.is_some_and(|s| s.dimension != "channel");
    let table = if by_customer {
        "ru_order_customers_day"
    } else {
        "ru_orders_day"
    };
    let (filter, params) = segment_filter(segment, "customer_id");
    // Money is summed with TOTAL: read as f64 anyway, exact for cents below 2^53, and it
    // cannot fail with "integer overflow" as SUM does on a store holding an amount from
    // before imports bounded them (`fields::MAX_MONEY_MINOR_UNITS`).
    let orders = eng.sums(
        &format!(
            "SELECT day, SUM(orders), TOTAL(revenue), TOTAL(discount), TOTAL(cost) FROM {table}
             WHERE day BETWEEN ?1 AND ?2{filter} GROUP BY day ORDER BY day"
        ),
        4,
        periods,
        &params,
    )?;
    let refunds = eng.sums(
        &format!(
            "SELECT day, TOTAL(amount) FROM ru_refunds_day
             WHERE day BETWEEN ?1 AND ?2{filter} GROUP BY day ORDER BY day"
        ),
        1,
        periods,
        &params,
    )?;
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
            let (filter, params) = segment_filter(segment, "customer_id");
            let sql = format!(
                "SELECT COUNT(DISTINCT customer_id) FROM ru_order_customers_day
                 WHERE day BETWEEN ?1 AND ?2{filter}"
            );
            periods
                .iter()
                .map(|p| super::count_in(eng, &sql, p.start, p.end(), &params))
                .collect()
        }
    }
}

/// (cogs, all costs) of the costs table per period, in currency units.
fn table_costs(eng: &Engine<'_>, periods: &[Period]) -> Result<Vec<(f64, f64)>, MetricError> {
    let rows = eng.sums(
        "SELECT date, TOTAL(CASE WHEN category = 'cogs' THEN amount ELSE 0 END), TOTAL(amount)
         FROM costs WHERE date BETWEEN ?1 AND ?2 GROUP BY date ORDER BY date",
        2,
        periods,
        &[],
    )?;
    Ok(rows.iter().map(|r| (r[0] / 100.0, r[1] / 100.0)).collect())
}

/// Whether any cost is known: margins without costs would read 100 %.
fn has_costs(eng: &Engine<'_>) -> Result<bool, MetricError> {
    if !eng.is_empty("costs")? {
        return Ok(true);
    }
    Ok(eng.conn().query_row(
        "SELECT EXISTS (SELECT 1 FROM orders WHERE cost IS NOT NULL)",
        [],
        |r| r.get(0),
    )?)
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
    let names = &eng.config.engagement_events;
    let marks = vec!["?"; names.len()].join(", ");
    let params: Vec<SqlValue> = names.iter().map(|n| SqlValue::Text(n.clone())).collect();
    let rows = eng.sums(
        &format!(
            "SELECT day, SUM(events) FROM ru_event_names_day
             WHERE day BETWEEN ?1 AND ?2 AND name IN ({marks}) GROUP BY day ORDER BY day"
        ),
        1,
        periods,
        &params,
    )?;
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
    let first: Option<String> =
        eng.conn()
            .query_row("SELECT MIN(day) FROM ru_orders_day", [], |r| r.get(0))?;
    let Some(first) = first.and_then(|d| NaiveDate::parse_from_str(&d, "%Y-%m-%d").ok()) else {
        return Ok(vec![Cell::note("n/a: no completed orders"); periods.len()]);
    };
    let Some(last) = periods.last().map(|p| p.end().min(eng.as_of)) else {
        return Ok(Vec::new());
    };
    let deltas: Vec<(NaiveDate, i64, i64)> = match segment {
        None => {
            let mut stmt = eng.conn().prepare_cached(
                "SELECT day, ge1, ge2 FROM ru_repeat_delta WHERE day <= ?1 ORDER BY day",
            )?;
            let rows = stmt.query_map([last.to_string()], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, i64>(2)?,
                ))
            })?;
            let mut out = Vec::new();
            for row in rows {
                let (day, a, b) = row?;
                if let Ok(day) = NaiveDate::parse_from_str(&day, "%Y-%m-%d") {
                    out.push((day, a, b));
                }
            }
            out
        }
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
        let mut params = vec![
            SqlValue::Text(from.to_string()),
            SqlValue::Text(to.to_string()),
        ];
        // Rows come grouped by (value, customer), days ascending within.
        let sql = if dimension == "channel" {
            "SELECT channel, customer_id, day, orders FROM ru_order_customers_day
             WHERE day BETWEEN ?1 AND ?2 ORDER BY channel, customer_id, day"
                .to_string()
        } else {
            let (expr, expr_params) = customer_dim_expr(dimension);
            params.extend(expr_params);
            let expr = expr.replace('?', "?3");
            format!(
                "SELECT {expr} AS value, c.customer_id, r.day, r.orders
                 FROM customers c CROSS JOIN ru_order_customers_day r
                     ON r.customer_id = c.customer_id AND r.day BETWEEN ?1 AND ?2
                 WHERE value IS NOT NULL"
            )
        };
        let mut stmt = eng.conn().prepare(&sql)?;
        let mut rows = stmt.query(rusqlite::params_from_iter(params))?;
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
        while let Some(row) = rows.next()? {
            let value = super::engine::segment_text(row.get(0)?);
            let customer: String = row.get(1)?;
            if current
                .as_ref()
                .is_none_or(|(v, c)| *v != value || *c != customer)
            {
                flush(current.as_ref().map(|(v, _)| v), &mut days);
                current = Some((value, customer));
            }
            let day: String = row.get(2)?;
            let Some(day) = crate::dates::parse_day(&day) else {
                continue;
            };
            let orders: i64 = row.get(3)?;
            // One row per order channel: a day's rows add up.
            match days.last_mut() {
                Some((last, n)) if *last == day => *n += orders,
                _ => days.push((day, orders)),
            }
        }
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
