//! Revenue and profitability: from the order, refund and cost rollups.

use chrono::Months;
use rusqlite::types::Value as SqlValue;

use super::engine::{Cell, CustomerFilter, Engine};
use super::{MetricError, Period, Segment};

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
    let orders = eng.sums(
        &format!(
            "SELECT day, SUM(orders), SUM(revenue), SUM(discount), SUM(cost) FROM {table}
             WHERE day BETWEEN ?1 AND ?2{filter} GROUP BY day ORDER BY day"
        ),
        4,
        periods,
        &params,
    )?;
    let refunds = eng.sums(
        &format!(
            "SELECT day, SUM(amount) FROM ru_refunds_day
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
        "SELECT date, SUM(CASE WHEN category = 'cogs' THEN amount ELSE 0 END), SUM(amount)
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
    let each = |f: &dyn Fn(&OrderTotals) -> Cell| -> Result<Vec<Cell>, MetricError> {
        Ok(order_totals(eng, periods, segment)?.iter().map(f).collect())
    };
    match id {
        "gross_revenue" => each(&|t| Cell::value(t.gross)),
        "net_revenue" => each(&|t| Cell::value(t.net())),
        "orders" => each(&|t| Cell::value(t.orders)),
        "aov" => each(&|t| Cell::ratio(t.gross, t.orders, 1.0, "no orders")),
        "discount_rate" => {
            each(&|t| Cell::ratio(t.discount, t.gross + t.discount, 100.0, "no orders"))
        }
        "paying_customers" => Ok(paying_customers(eng, periods, segment)?
            .into_iter()
            .map(Cell::value)
            .collect()),
        "gross_margin_pct" => gross_margin(eng, periods),
        "net_margin_pct" => {
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
        "arpu" => arpu(eng, periods),
        "revenue_per_engagement" => {
            let totals = order_totals(eng, periods, None)?;
            let engaged = engagements(eng, periods)?;
            Ok(totals
                .iter()
                .zip(engaged)
                .map(|(t, e)| Cell::ratio(t.net(), e, 1.0, "no engagement events"))
                .collect())
        }
        "repeat_purchase_rate" => repeat_purchase_rate(eng, periods, segment),
        other => Err(MetricError::UnknownMetric(other.to_string())),
    }
}

/// Customers with ≥ 2 completed orders ÷ customers with ≥ 1 over the 12 months ending at
/// each period's end; a shorter history gives a "horizon N months" note.
fn repeat_purchase_rate(
    eng: &Engine<'_>,
    periods: &[Period],
    segment: Option<&Segment>,
) -> Result<Vec<Cell>, MetricError> {
    let first: Option<String> =
        eng.conn()
            .query_row("SELECT MIN(day) FROM ru_orders_day", [], |r| r.get(0))?;
    let Some(first) = first.and_then(|d| chrono::NaiveDate::parse_from_str(&d, "%Y-%m-%d").ok())
    else {
        return Ok(vec![Cell::note("n/a: no completed orders"); periods.len()]);
    };
    let (filter, params) = segment_filter(segment, "customer_id");
    let sql = format!(
        "SELECT COALESCE(SUM(n >= 2), 0), COUNT(*) FROM (
             SELECT customer_id, SUM(orders) AS n FROM ru_order_customers_day
             WHERE day BETWEEN ?1 AND ?2{filter} GROUP BY customer_id)"
    );
    let mut stmt = eng.conn().prepare_cached(&sql)?;
    let mut out = Vec::with_capacity(periods.len());
    for period in periods {
        let end = period.end().min(eng.as_of);
        let start = end
            .checked_sub_months(Months::new(12))
            .map_or(end, |d| d.succ_opt().unwrap_or(d));
        let mut all: Vec<SqlValue> = vec![
            SqlValue::Text(start.to_string()),
            SqlValue::Text(end.to_string()),
        ];
        all.extend(params.iter().cloned());
        let (repeat, any): (f64, f64) = stmt.query_row(rusqlite::params_from_iter(all), |r| {
            Ok((r.get(0)?, r.get(1)?))
        })?;
        let mut cell = Cell::ratio(repeat, any, 100.0, "no customers with an order yet");
        if first > start && cell.value.is_some() {
            let months = super::months_spanned(first, end);
            cell = cell.with_note(format!("horizon {months} months"));
        }
        out.push(cell);
    }
    Ok(out)
}
