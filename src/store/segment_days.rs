//! Set-based reads for breaking metrics down by segment: the rollups per segment (days ×
//! segment values) and the customers' columns, so every segment of every dimension is
//! counted from one read instead of one filtered query per segment and period (see
//! `alerts::rollup_series`). Read-only.

use std::borrow::Cow;
use std::collections::BTreeSet;

use chrono::NaiveDate;
use rusqlite::types::ValueRef;

use super::Store;

/// One day's sums of the orders or events of one segment value (`ru_segment_orders_day`:
/// orders, revenue, discount, cost, refunds in minor units; `ru_segment_events_day`:
/// active users, sessions).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SegmentDay<'r> {
    pub day: &'r str,
    pub value: &'r str,
    pub sums: [f64; 5],
}

/// The change of one day in the customers of one segment value with ≥ 1 and ≥ 2
/// completed orders in the 12 months ending on it (`ru_segment_repeat`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SegmentRepeat<'r> {
    pub day: &'r str,
    pub value: &'r str,
    pub ge1: i64,
    pub ge2: i64,
}

/// Distinct customers or users of one segment value in one period or window
/// (`ru_segment_distinct`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SegmentCount<'r> {
    /// The period's first day, or the window's last.
    pub period: &'r str,
    pub value: &'r str,
    pub n: f64,
}

/// Survey responses of one kind on one day from the customers holding one value of a
/// customer column (`Store::survey_segment_days`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SurveySegmentDay<'r> {
    pub day: &'r str,
    pub value: &'r str,
    pub responses: f64,
    /// Responses scoring at least the `top` asked for, and at most the `bottom`.
    pub high: f64,
    pub low: f64,
    /// The sum of their scores.
    pub total: f64,
}

/// The customer columns a segment can be read from by name.
const CUSTOMER_COLUMNS: [&str; 3] = ["channel", "plan", "region"];

/// A text cell as the segment filters compare it: text matches a text parameter, NULL and
/// other types match none.
fn text(value: ValueRef<'_>) -> Option<Cow<'_, str>> {
    match value {
        ValueRef::Text(t) => Some(String::from_utf8_lossy(t)),
        _ => None,
    }
}

fn number(value: ValueRef<'_>) -> f64 {
    match value {
        ValueRef::Integer(i) => i as f64,
        ValueRef::Real(r) => r,
        _ => 0.0,
    }
}

fn str_of<'r>(value: ValueRef<'r>) -> &'r str {
    match value {
        ValueRef::Text(t) => std::str::from_utf8(t).unwrap_or(""),
        _ => "",
    }
}

impl Store {
    /// The channel, plan and region (`None` where empty or not text) of every customer
    /// holding a subscription, in customer id order: the subscribers only, not every
    /// customer.
    pub fn subscriber_dims(
        &self,
        mut each: impl FnMut(&str, [Option<Cow<'_, str>>; 3]),
    ) -> rusqlite::Result<()> {
        let mut stmt = self.conn().prepare_cached(
            "SELECT customer_id, channel, plan, region FROM customers
             WHERE customer_id IN (SELECT customer_id FROM subscriptions)
             ORDER BY customer_id",
        )?;
        let mut rows = stmt.query([])?;
        while let Some(row) = rows.next()? {
            each(
                str_of(row.get_ref(0)?),
                [
                    text(row.get_ref(1)?),
                    text(row.get_ref(2)?),
                    text(row.get_ref(3)?),
                ],
            );
        }
        Ok(())
    }

    /// The day sums of every value of dimension `dim` (`rollup::DIMENSIONS`) of orders
    /// (`orders`) or events, days `from` to `to`, in day order.
    pub fn segment_days(
        &self,
        orders: bool,
        dim: &str,
        from: &str,
        to: &str,
        mut each: impl FnMut(SegmentDay<'_>),
    ) -> rusqlite::Result<()> {
        let sql = if orders {
            "SELECT day, value, orders, revenue, discount, cost, refunds
             FROM ru_segment_orders_day WHERE day BETWEEN ?1 AND ?2 AND dim = ?3 ORDER BY day"
        } else {
            "SELECT day, value, users, sessions, 0, 0, 0
             FROM ru_segment_events_day WHERE day BETWEEN ?1 AND ?2 AND dim = ?3 ORDER BY day"
        };
        let mut stmt = self.conn().prepare_cached(sql)?;
        let mut rows = stmt.query([from, to, dim])?;
        while let Some(row) = rows.next()? {
            let mut sums = [0.0; 5];
            for (i, sum) in sums.iter_mut().enumerate() {
                *sum = number(row.get_ref(2 + i)?);
            }
            each(SegmentDay {
                day: str_of(row.get_ref(0)?),
                value: str_of(row.get_ref(1)?),
                sums,
            });
        }
        Ok(())
    }

    /// The repeat-purchase deltas of every value of dimension `dim` of days `from` to
    /// `to`, in day order; the changes of the days before `from` come summed as `from`'s.
    pub fn segment_repeats(
        &self,
        dim: &str,
        from: &str,
        to: &str,
        mut each: impl FnMut(SegmentRepeat<'_>),
    ) -> rusqlite::Result<()> {
        let mut stmt = self.conn().prepare_cached(
            "SELECT MAX(day, ?1) AS d, value, SUM(ge1), SUM(ge2) FROM ru_segment_repeat
             WHERE day <= ?2 AND dim = ?3 GROUP BY d, value ORDER BY d",
        )?;
        let mut rows = stmt.query([from, to, dim])?;
        while let Some(row) = rows.next()? {
            each(SegmentRepeat {
                day: str_of(row.get_ref(0)?),
                value: str_of(row.get_ref(1)?),
                ge1: row.get(2)?,
                ge2: row.get(3)?,
            });
        }
        Ok(())
    }

    /// The distinct counts of `kind` (`paying_week`, `active_7d`, …) of every value of
    /// dimension `dim`, for the periods keyed `from` to `to`.
    pub fn segment_counts(
        &self,
        kind: &str,
        dim: &str,
        from: &str,
        to: &str,
        mut each: impl FnMut(SegmentCount<'_>),
    ) -> rusqlite::Result<()> {
        let mut stmt = self.conn().prepare_cached(
            "SELECT period, value, n FROM ru_segment_distinct
             WHERE kind = ?1 AND period BETWEEN ?2 AND ?3 AND dim = ?4",
        )?;
        let mut rows = stmt.query([kind, from, to, dim])?;
        while let Some(row) = rows.next()? {
            each(SegmentCount {
                period: str_of(row.get_ref(0)?),
                value: str_of(row.get_ref(1)?),
                n: number(row.get_ref(2)?),
            });
        }
        Ok(())
    }

    /// Survey responses of `kind` dated `from` to `to`, per day and text value of the
    /// customer `column` (`channel`, `plan` or `region`) of the responding customer, in
    /// day order: each value's day as one segment's filtered query counts it.
    #[allow(clippy::too_many_arguments)]
    pub fn survey_segment_days(
        &self,
        kind: &str,
        column: &str,
        top: f64,
        bottom: f64,
        from: &str,
        to: &str,
        mut each: impl FnMut(SurveySegmentDay<'_>),
    ) -> rusqlite::Result<()> {
        let Some(column) = CUSTOMER_COLUMNS.iter().find(|c| **c == column) else {
            return Err(rusqlite::Error::InvalidColumnName(column.to_string()));
        };
        let mut stmt = self.conn().prepare_cached(&format!(
            "SELECT s.date, c.{column}, COUNT(*), SUM(s.score >= ?4), SUM(s.score <= ?5),
                    SUM(s.score)
             FROM surveys s JOIN customers c ON c.customer_id = s.customer_id
             WHERE s.date BETWEEN ?1 AND ?2 AND s.kind = ?3 AND typeof(c.{column}) = 'text'
             GROUP BY s.date, c.{column} ORDER BY s.date"
        ))?;
        let mut rows = stmt.query(rusqlite::params![from, to, kind, top, bottom])?;
        while let Some(row) = rows.next()? {
            each(SurveySegmentDay {
                day: str_of(row.get_ref(0)?),
                value: str_of(row.get_ref(1)?),
                responses: number(row.get_ref(2)?),
                high: number(row.get_ref(3)?),
                low: number(row.get_ref(4)?),
                total: number(row.get_ref(5)?),
            });
        }
        Ok(())
    }

    /// The refund days of the orders dated on `order_days`: re-importing an order may
    /// move its refunds to another channel or customer.
    pub fn refund_days_of_order_days(
        &self,
        order_days: &BTreeSet<NaiveDate>,
    ) -> rusqlite::Result<BTreeSet<NaiveDate>> {
        let mut stmt = self.conn().prepare_cached(
            "SELECT DISTINCT r.refund_date FROM refunds r JOIN orders o ON o.order_id = r.order_id
             WHERE o.order_date = ?1",
        )?;
        let mut out = BTreeSet::new();
        for day in order_days {
            for refund_day in stmt.query_map([day.to_string()], |r| r.get::<_, String>(0))? {
                out.extend(crate::dates::parse_day(&refund_day?));
            }
        }
        Ok(out)
    }

    /// The first day with a completed order, if any.
    pub fn first_order_day(&self) -> rusqlite::Result<Option<String>> {
        self.conn()
            .query_row("SELECT MIN(day) FROM ru_orders_day", [], |r| r.get(0))
    }

    /// The day changes of MRR (cents) and of active customers of every value of `dim`
    /// (`rollup::subscriptions`), in day order: (day, value, MRR change, active change).
    pub fn subscription_steps(
        &self,
        dim: &str,
        mut each: impl FnMut(&str, &str, i64, i64),
    ) -> rusqlite::Result<()> {
        let mut stmt = self.conn().prepare_cached(
            "SELECT day, value, mrr, active FROM ru_subscription_steps WHERE dim = ?1
             ORDER BY day",
        )?;
        let mut rows = stmt.query([dim])?;
        while let Some(row) = rows.next()? {
            each(
                str_of(row.get_ref(0)?),
                str_of(row.get_ref(1)?),
                row.get(2)?,
                row.get(3)?,
            );
        }
        Ok(())
    }

    /// The period-to-date movements of every value of `dim` at `grain` for the days `from`
    /// to `to` (`rollup::subscriptions`): (day, value, [new, expansion, contraction,
    /// churned, reactivation, left active]).
    pub fn subscription_moves(
        &self,
        grain: &str,
        dim: &str,
        from: &str,
        to: &str,
        mut each: impl FnMut(&str, &str, [i64; 6]),
    ) -> rusqlite::Result<()> {
        let mut stmt = self.conn().prepare_cached(
            "SELECT day, value, new, expansion, contraction, churned, reactivation, left_active
             FROM ru_subscription_moves WHERE grain = ?1 AND dim = ?2 AND day BETWEEN ?3 AND ?4",
        )?;
        let mut rows = stmt.query([grain, dim, from, to])?;
        while let Some(row) = rows.next()? {
            let mut numbers = [0; 6];
            for (i, n) in numbers.iter_mut().enumerate() {
                *n = row.get(i + 2)?;
            }
            each(str_of(row.get_ref(0)?), str_of(row.get_ref(1)?), numbers);
        }
        Ok(())
    }

    /// The values of `dim` in the subscription book per segment, sorted.
    pub fn subscription_values(&self, dim: &str) -> rusqlite::Result<Vec<String>> {
        let mut stmt = self.conn().prepare_cached(
            "SELECT DISTINCT value FROM ru_subscription_steps WHERE dim = ?1 ORDER BY value",
        )?;
        stmt.query_map([dim], |r| r.get(0))?.collect()
    }

    /// Whether any customer holds attributes (over the index of those that do).
    pub fn customers_have_attributes(&self) -> rusqlite::Result<bool> {
        self.conn().query_row(
            "SELECT EXISTS (SELECT 1 FROM customers INDEXED BY customers_with_attributes
                            WHERE attributes IS NOT NULL)",
            [],
            |r| r.get(0),
        )
    }
}
