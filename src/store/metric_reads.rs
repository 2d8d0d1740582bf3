//! The record-level reads of the metrics that are not per-day sums (those are
//! [`super::metric_queries`]): subscriptions, cohorts, repeat purchases, order-based
//! activity, activations, work items and tickets, each as plain rows. Read-only.

use std::collections::HashSet;

use chrono::NaiveDate;
use rusqlite::types::Value as SqlValue;

use super::Store;
use super::metric_queries::{RowFilter, customer_dim_expr, segment_text};
use super::rollup::SIGNUP_COLUMNS;

/// One subscription as stored (`subscriptions`), dates unparsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscriptionRow {
    pub customer_id: String,
    pub mrr_cents: i64,
    pub start_date: String,
    pub end_date: Option<String>,
    pub plan: Option<String>,
}

/// One subscription's span with its customer's signup date, dates unparsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscriptionSpan {
    pub customer_id: String,
    pub start_date: String,
    pub end_date: Option<String>,
    pub signup_date: Option<String>,
}

/// A cell of the cohort rollup (`ru_cohort_cells`): `month` is empty on a cohort's size row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CohortCellRow {
    pub cohort: String,
    pub month: String,
    pub customers: i64,
    /// Minor units (cents).
    pub revenue: i64,
}

/// One customer's completed orders of one day, with the segment value they count for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SegmentOrderDay {
    pub value: String,
    pub customer_id: String,
    pub day: String,
    pub orders: i64,
}

/// A user's first activation event, with their signup date.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Activation {
    pub day: String,
    pub ts: String,
    pub signup_date: String,
}

/// A work item as stored (`work_items`), dates unparsed.
#[derive(Debug, Clone, PartialEq)]
pub struct WorkItemRow {
    pub kind: String,
    pub created_date: Option<String>,
    pub committed_date: Option<String>,
    pub delivered_date: Option<String>,
    pub points: Option<f64>,
    pub found: Option<String>,
}

/// A ticket as stored (`tickets`), instants unparsed; `severity` is empty when none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TicketRow {
    pub opened_day: Option<String>,
    pub opened_at: Option<String>,
    pub first_response_at: Option<String>,
    pub resolved_at: Option<String>,
    pub severity: String,
}

/// What subscriptions are read from: a store, or the raw connection of a test that
/// builds one row by row.
pub trait SubscriptionSource {
    /// Every subscription, grouped by customer.
    fn subscriptions(&self, each: &mut dyn FnMut(SubscriptionRow)) -> rusqlite::Result<()>;
}

impl SubscriptionSource for Store {
    fn subscriptions(&self, each: &mut dyn FnMut(SubscriptionRow)) -> rusqlite::Result<()> {
        subscriptions(self.conn(), each)
    }
}

#[cfg(any(test, feature = "test-fixtures"))]
impl SubscriptionSource for rusqlite::Connection {
    fn subscriptions(&self, each: &mut dyn FnMut(SubscriptionRow)) -> rusqlite::Result<()> {
        subscriptions(self, each)
    }
}

fn subscriptions(
    conn: &rusqlite::Connection,
    each: &mut dyn FnMut(SubscriptionRow),
) -> rusqlite::Result<()> {
    let mut stmt = conn.prepare(
        "SELECT customer_id, mrr, start_date, end_date, plan FROM subscriptions
         ORDER BY customer_id",
    )?;
    let mut rows = stmt.query([])?;
    while let Some(row) = rows.next()? {
        each(SubscriptionRow {
            customer_id: row.get(0)?,
            mrr_cents: row.get(1)?,
            start_date: row.get(2)?,
            end_date: row.get(3)?,
            plan: row.get(4)?,
        });
    }
    Ok(())
}

impl Store {
    /// Every subscription's span with its customer's signup date, grouped by customer.
    pub fn subscription_spans(
        &self,
        mut each: impl FnMut(SubscriptionSpan),
    ) -> rusqlite::Result<()> {
        let mut stmt = self.conn().prepare_cached(
            "SELECT s.customer_id, s.start_date, s.end_date, c.signup_date
             FROM subscriptions s LEFT JOIN customers c ON c.customer_id = s.customer_id
             ORDER BY s.customer_id",
        )?;
        let mut rows = stmt.query([])?;
        while let Some(row) = rows.next()? {
            each(SubscriptionSpan {
                customer_id: row.get(0)?,
                start_date: row.get(1)?,
                end_date: row.get(2)?,
                signup_date: row.get(3)?,
            });
        }
        Ok(())
    }

    /// The customers whose `dimension` is `value`.
    pub fn customers_where(
        &self,
        dimension: &str,
        value: &str,
    ) -> rusqlite::Result<HashSet<String>> {
        let filter = RowFilter::Customers {
            dimension: dimension.to_string(),
            value: value.to_string(),
        };
        let (filter, params) = filter.sql("customer_id");
        let mut stmt = self.conn().prepare(&format!(
            "SELECT customer_id FROM customers WHERE 1 = 1{filter}"
        ))?;
        let ids = stmt
            .query_map(rusqlite::params_from_iter(params), |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        Ok(ids)
    }

    /// Whether any order records its cost.
    pub fn orders_have_costs(&self) -> rusqlite::Result<bool> {
        self.conn().query_row(
            "SELECT EXISTS (SELECT 1 FROM orders WHERE cost IS NOT NULL)",
            [],
            |r| r.get(0),
        )
    }

    /// The repeat-purchase deltas (`ru_repeat_delta`) up to `last`: per day, the change of
    /// the customers with ≥ 1 and with ≥ 2 orders in the 12 months ending on it.
    pub fn repeat_deltas_until(
        &self,
        last: NaiveDate,
    ) -> rusqlite::Result<Vec<(NaiveDate, i64, i64)>> {
        let mut stmt = self.conn().prepare_cached(
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
        Ok(out)
    }

    /// The completed orders of days `from` to `to` per customer and day, with the value of
    /// `dimension` they count for: the order channel splits a customer's days by channel, a
    /// customer column or attribute puts all of them in the customer's value. Rows come
    /// grouped by (value, customer), days ascending within.
    pub fn segment_order_days(
        &self,
        dimension: &str,
        from: NaiveDate,
        to: NaiveDate,
        mut each: impl FnMut(SegmentOrderDay),
    ) -> rusqlite::Result<()> {
        let mut params = vec![
            SqlValue::Text(from.to_string()),
            SqlValue::Text(to.to_string()),
        ];
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
        let mut stmt = self.conn().prepare(&sql)?;
        let mut rows = stmt.query(rusqlite::params_from_iter(params))?;
        while let Some(row) = rows.next()? {
            each(SegmentOrderDay {
                value: segment_text(row.get(0)?),
                customer_id: row.get(1)?,
                day: row.get(2)?,
                orders: row.get(3)?,
            });
        }
        Ok(())
    }

    /// The customers with a completed order from `from` to `to`, each once.
    pub fn ordering_customers(
        &self,
        from: NaiveDate,
        to: NaiveDate,
    ) -> rusqlite::Result<Vec<String>> {
        let mut stmt = self.conn().prepare_cached(
            "SELECT DISTINCT customer_id FROM ru_order_customers_day
             WHERE day BETWEEN ?1 AND ?2",
        )?;
        let ids = stmt.query_map([from.to_string(), to.to_string()], |r| {
            r.get::<_, String>(0)
        })?;
        ids.collect()
    }

    /// Customers with a completed order in each of `windows` (at most 62, first to last
    /// day), counted per value of `dimension` and activity mask: bit `i` of the mask is
    /// set when the customer ordered within window `i`. Rows are (value, mask, customers).
    pub fn order_activity_masks(
        &self,
        dimension: &str,
        windows: &[(NaiveDate, NaiveDate)],
    ) -> rusqlite::Result<Vec<(String, i64, i64)>> {
        let lo = windows.iter().map(|w| w.0).min();
        let hi = windows.iter().map(|w| w.1).max();
        let (Some(lo), Some(hi)) = (lo, hi) else {
            return Ok(Vec::new());
        };
        let (expr, expr_params) = customer_dim_expr(dimension);
        let mut params: Vec<SqlValue> = Vec::new();
        let mut bits = Vec::new();
        for (bit, (first, last)) in windows.iter().enumerate() {
            params.push(SqlValue::Text(first.to_string()));
            params.push(SqlValue::Text(last.to_string()));
            bits.push(format!(
                "(MAX(day BETWEEN ?{} AND ?{}) << {bit})",
                params.len() - 1,
                params.len()
            ));
        }
        params.push(SqlValue::Text(lo.to_string()));
        params.push(SqlValue::Text(hi.to_string()));
        let range = (params.len() - 1, params.len());
        // The dimension's own parameter (an attribute's JSON path) comes last.
        let expr = expr.replace('?', &format!("?{}", params.len() + 1));
        params.extend(expr_params);
        let sql = format!(
            "SELECT {expr} AS value, a.mask, COUNT(*)
             FROM (SELECT customer_id, {} AS mask FROM ru_order_customers_day
                   WHERE day BETWEEN ?{} AND ?{} GROUP BY customer_id) a
             JOIN customers c ON c.customer_id = a.customer_id
             WHERE value IS NOT NULL GROUP BY 1, 2",
            bits.join(" | "),
            range.0,
            range.1
        );
        let mut stmt = self.conn().prepare(&sql)?;
        let mut rows = stmt.query(rusqlite::params_from_iter(params))?;
        let mut out = Vec::new();
        while let Some(row) = rows.next()? {
            out.push((segment_text(row.get(0)?), row.get(1)?, row.get(2)?));
        }
        Ok(out)
    }

    /// Each user's first `event` (its day and timestamp, `ru_first_event`) with their
    /// signup date, of the users `filter` keeps.
    pub fn first_activations(
        &self,
        event: &str,
        filter: &RowFilter,
    ) -> rusqlite::Result<Vec<Activation>> {
        let (filter, mut params) = filter.on_customer("c");
        params.push(SqlValue::Text(event.to_string()));
        let sql = format!(
            "SELECT f.day, f.ts, c.signup_date FROM ru_first_event f
             JOIN customers c ON c.customer_id = f.user_id
             WHERE 1 = 1{filter} AND f.name = ?"
        );
        let mut stmt = self.conn().prepare_cached(&sql)?;
        let mut rows = stmt.query(rusqlite::params_from_iter(params))?;
        let mut out = Vec::new();
        while let Some(row) = rows.next()? {
            out.push(Activation {
                day: row.get(0)?,
                ts: row.get(1)?,
                signup_date: row.get(2)?,
            });
        }
        Ok(out)
    }

    /// The cohort rollup's cells of one source table (`orders` or `events`).
    pub fn cohort_cells(&self, source: &str) -> rusqlite::Result<Vec<CohortCellRow>> {
        let mut stmt = self.conn().prepare_cached(
            "SELECT cohort, month, customers, revenue FROM ru_cohort_cells WHERE variant = ?1",
        )?;
        let rows = stmt.query_map([source], |r| {
            Ok(CohortCellRow {
                cohort: r.get(0)?,
                month: r.get(1)?,
                customers: r.get(2)?,
                revenue: r.get(3)?,
            })
        })?;
        rows.collect()
    }

    /// Signups per month (`YYYY-MM`) from the day `from` (`YYYY-MM-DD`) on.
    pub fn signups_by_month(&self, from: &str) -> rusqlite::Result<Vec<(String, i64)>> {
        let mut stmt = self.conn().prepare_cached(
            "SELECT substr(day, 1, 7), SUM(rows) FROM ru_table_days
             WHERE tbl = 'customers' AND day >= ?1 GROUP BY substr(day, 1, 7)",
        )?;
        let rows = stmt.query_map([from], |r| Ok((r.get(0)?, r.get(1)?)))?;
        rows.collect()
    }

    /// Every work item.
    pub fn work_items(&self) -> rusqlite::Result<Vec<WorkItemRow>> {
        let mut stmt = self.conn().prepare_cached(
            "SELECT kind, created_date, committed_date, delivered_date, points, found FROM work_items",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok(WorkItemRow {
                kind: r.get(0)?,
                created_date: r.get(1)?,
                committed_date: r.get(2)?,
                delivered_date: r.get(3)?,
                points: r.get(4)?,
                found: r.get(5)?,
            })
        })?;
        rows.collect()
    }

    /// Every ticket.
    pub fn tickets(&self) -> rusqlite::Result<Vec<TicketRow>> {
        let mut stmt = self.conn().prepare_cached(
            "SELECT opened_day, opened_at, first_response_at, resolved_at, COALESCE(severity, '')
             FROM tickets",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok(TicketRow {
                opened_day: r.get(0)?,
                opened_at: r.get(1)?,
                first_response_at: r.get(2)?,
                resolved_at: r.get(3)?,
                severity: r.get(4)?,
            })
        })?;
        rows.collect()
    }

    /// The names of the external metrics (`metrics` table), sorted.
    pub fn external_metric_names(&self) -> rusqlite::Result<Vec<String>> {
        let mut stmt = self
            .conn()
            .prepare("SELECT DISTINCT metric FROM metrics ORDER BY metric")?;
        let names = stmt.query_map([], |r| r.get(0))?;
        names.collect()
    }

    /// Customers signed up per day and value of `column` (one of
    /// `rollup::SIGNUP_COLUMNS`) from `from` to `to`, days ascending, as
    /// `(day, value, customers)`; customers without a value are left out.
    pub fn signups_by(
        &self,
        column: &str,
        from: NaiveDate,
        to: NaiveDate,
    ) -> rusqlite::Result<Vec<(String, String, f64)>> {
        let Some(column) = SIGNUP_COLUMNS.iter().find(|c| **c == column) else {
            return Err(rusqlite::Error::InvalidColumnName(column.to_string()));
        };
        let mut stmt = self.conn().prepare_cached(&format!(
            "SELECT day, {column}, SUM(customers) FROM ru_signups_day
             WHERE day BETWEEN ?1 AND ?2 AND {column} IS NOT NULL
             GROUP BY day, {column} ORDER BY day"
        ))?;
        stmt.query_map([from.to_string(), to.to_string()], |r| {
            Ok((
                r.get::<_, String>(0)?,
                segment_text(r.get(1)?),
                r.get::<_, f64>(2)?,
            ))
        })?
        .collect()
    }
}
