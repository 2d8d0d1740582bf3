//! The accounts behind a number: per customer (or user), a measure in two periods, the
//! accounts whose change was largest first. The cockpit's drill-down (Enter on a tile or
//! an alert) reads it on its worker thread; it only ever reads.

use chrono::NaiveDate;
use rusqlite::types::Value;

use super::Store;

/// What is summed per account. Which one explains a metric follows from the metric's
/// source table and unit (see the cockpit's `update::account_measure`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountMeasure {
    /// Σ revenue of completed orders in the period, per customer.
    OrderRevenue,
    /// Completed orders in the period, per customer.
    CompletedOrders,
    /// Σ mrr of the subscriptions active on the period's last day, per customer.
    Mrr,
    /// Events in the period, per user.
    Events,
    /// Tickets opened in the period, per customer.
    Tickets,
}

impl AccountMeasure {
    /// The measure in words, for the drill-down's title.
    pub fn describe(self) -> &'static str {
        match self {
            AccountMeasure::OrderRevenue => "revenue of completed orders",
            AccountMeasure::CompletedOrders => "completed orders",
            AccountMeasure::Mrr => "MRR at the period's end",
            AccountMeasure::Events => "events",
            AccountMeasure::Tickets => "tickets opened",
        }
    }

    /// Whether an account's rise is good news: more revenue, orders, MRR or use is; more
    /// tickets is not. (The metric drilled into may read the other way — churn rises as
    /// MRR falls — so an account's change is judged by the measure shown.)
    pub fn higher_is_better(self) -> bool {
        self != AccountMeasure::Tickets
    }

    /// Whether the values are money (else counts).
    pub fn is_money(self) -> bool {
        matches!(self, AccountMeasure::OrderRevenue | AccountMeasure::Mrr)
    }

    /// The account id column, the table (aliased `t`) and how a row's value and day read.
    fn source(self) -> Source {
        match self {
            AccountMeasure::OrderRevenue => Source {
                table: "orders",
                account: "t.customer_id",
                value: "t.revenue / 100.0",
                day: Some("t.order_date"),
                only: "t.status = 'completed'",
            },
            AccountMeasure::CompletedOrders => Source {
                table: "orders",
                account: "t.customer_id",
                value: "1",
                day: Some("t.order_date"),
                only: "t.status = 'completed'",
            },
            AccountMeasure::Mrr => Source {
                table: "subscriptions",
                account: "t.customer_id",
                value: "t.mrr / 100.0",
                day: None,
                only: "1",
            },
            AccountMeasure::Events => Source {
                table: "events",
                account: "t.user_id",
                value: "1",
                day: Some("t.day"),
                only: "1",
            },
            AccountMeasure::Tickets => Source {
                table: "tickets",
                account: "t.customer_id",
                value: "1",
                day: Some("t.opened_day"),
                only: "t.customer_id IS NOT NULL",
            },
        }
    }

    /// The SQL expression a segment dimension is read from for this measure's rows, or
    /// `None` when its rows cannot be told apart by it (they are then not filtered, and
    /// [`AccountMoves::filtered`] says so).
    fn dimension(self, dimension: &str) -> Option<(String, Option<String>)> {
        let own = |column: &str| Some((format!("t.{column}"), None));
        match (self, dimension) {
            (AccountMeasure::Events, "feature") => own("feature"),
            (AccountMeasure::Tickets, "severity") => own("severity"),
            (_, "feature" | "severity") => None,
            // An order's own channel, else its customer's (how orders are segmented).
            (AccountMeasure::OrderRevenue | AccountMeasure::CompletedOrders, "channel") => {
                Some(("COALESCE(t.channel, c.channel)".into(), None))
            }
            (_, "channel" | "plan" | "region") => Some((format!("c.{dimension}"), None)),
            // Any other dimension is a customer attribute, kept as JSON.
            (_, attribute) => Some((
                "json_extract(c.attributes, ?)".into(),
                Some(format!("$.\"{}\"", attribute.replace('"', ""))),
            )),
        }
    }
}

struct Source {
    table: &'static str,
    account: &'static str,
    value: &'static str,
    /// The day a row counts on; `None`: a stock read on each period's last day.
    day: Option<&'static str>,
    only: &'static str,
}

/// One account's measure in the two periods compared.
#[derive(Debug, Clone, PartialEq)]
pub struct AccountMove {
    pub account: String,
    pub before: f64,
    pub after: f64,
}

/// What [`Store::account_moves`] asks for.
#[derive(Debug, Clone, PartialEq)]
pub struct AccountQuery {
    pub measure: AccountMeasure,
    /// `(first day, last day)` of the earlier period.
    pub before: (NaiveDate, NaiveDate),
    /// `(first day, last day)` of the later period.
    pub after: (NaiveDate, NaiveDate),
    /// Only the accounts of this segment `(dimension, value)`, where the rows say it.
    pub segment: Option<(String, String)>,
    pub limit: usize,
}

/// The accounts found, and whether the segment asked for could be applied.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AccountMoves {
    pub moves: Vec<AccountMove>,
    /// False when a segment was asked for that this measure's rows do not carry.
    pub filtered: bool,
}

impl Store {
    /// The accounts whose measure changed most between the two periods (ties by id),
    /// with their values before and after; accounts with nothing in either are left out.
    pub fn account_moves(&self, query: &AccountQuery) -> rusqlite::Result<AccountMoves> {
        let source = query.measure.source();
        let day = |(from, to): (NaiveDate, NaiveDate)| {
            [Value::Text(from.to_string()), Value::Text(to.to_string())]
        };
        let mut params: Vec<Value> = Vec::new();
        // ?1..?4: the two periods.
        params.extend(day(query.before));
        params.extend(day(query.after));
        let (before, after, window) = match source.day {
            Some(column) => (
                format!(
                    "CASE WHEN {column} BETWEEN ?1 AND ?2 THEN {} ELSE 0 END",
                    source.value
                ),
                format!(
                    "CASE WHEN {column} BETWEEN ?3 AND ?4 THEN {} ELSE 0 END",
                    source.value
                ),
                format!("({column} BETWEEN ?1 AND ?2 OR {column} BETWEEN ?3 AND ?4)"),
            ),
            None => {
                let active = |end: &str| {
                    format!(
                        "CASE WHEN t.start_date <= {end} AND (t.end_date IS NULL OR t.end_date > {end}) \
                         THEN {} ELSE 0 END",
                        source.value
                    )
                };
                (active("?2"), active("?4"), "1".to_string())
            }
        };
        let mut filter = "1".to_string();
        let mut filtered = query.segment.is_none();
        if let Some((dimension, value)) = &query.segment
            && let Some((expression, path)) = query.measure.dimension(dimension)
        {
            if let Some(path) = path {
                params.push(Value::Text(path));
            }
            params.push(Value::Text(value.clone()));
            // Parameters are numbered in order of appearance after ?4.
            let expression = expression.replace('?', &format!("?{}", params.len() - 1));
            filter = format!("{expression} = ?{}", params.len());
            filtered = true;
        }
        params.push(Value::Integer(
            i64::try_from(query.limit).unwrap_or(i64::MAX),
        ));
        let limit = params.len();
        let sql = format!(
            "SELECT account, before, after FROM (
                 SELECT {account} AS account, SUM({before}) AS before, SUM({after}) AS after
                 FROM {table} t LEFT JOIN customers c ON c.customer_id = {account}
                 WHERE {only} AND {window} AND {filter}
                 GROUP BY {account})
             WHERE before <> 0 OR after <> 0
             ORDER BY abs(after - before) DESC, account
             LIMIT ?{limit}",
            account = source.account,
            table = source.table,
            only = source.only,
        );
        let mut stmt = self.conn().prepare(&sql)?;
        let rows = stmt.query_map(rusqlite::params_from_iter(params), |r| {
            Ok(AccountMove {
                account: r.get(0)?,
                before: r.get(1)?,
                after: r.get(2)?,
            })
        })?;
        Ok(AccountMoves {
            moves: rows.collect::<rusqlite::Result<_>>()?,
            filtered,
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn store() -> Store {
        let store = Store::open_in_memory().unwrap();
        store
            .conn()
            .execute_batch(
                "INSERT INTO customers (customer_id, signup_date, channel, attributes) VALUES
                   ('a', '2025-01-01', 'paid', '{\"industry\":\"retail\"}'),
                   ('b', '2025-01-01', 'organic', '{\"industry\":\"saas\"}'),
                   ('c', '2025-01-01', 'paid', NULL);
                 INSERT INTO orders (order_id, customer_id, order_date, revenue, status) VALUES
                   ('1', 'a', '2025-05-03', 10000, 'completed'),
                   ('2', 'a', '2025-06-03', 2500, 'completed'),
                   ('3', 'b', '2025-05-10', 1000, 'completed'),
                   ('4', 'b', '2025-06-10', 4000, 'completed'),
                   ('5', 'c', '2025-06-11', 900, 'cancelled'),
                   ('6', 'c', '2025-04-11', 700, 'completed');
                 INSERT INTO subscriptions (subscription_id, customer_id, mrr, start_date, end_date)
                 VALUES ('s1', 'a', 5000, '2025-01-01', '2025-06-15'),
                        ('s2', 'b', 2000, '2025-06-01', NULL);",
            )
            .unwrap();
        store
    }

    fn query(measure: AccountMeasure) -> AccountQuery {
        AccountQuery {
            measure,
            before: (d("2025-05-01"), d("2025-05-31")),
            after: (d("2025-06-01"), d("2025-06-30")),
            segment: None,
            limit: 10,
        }
    }

    #[test]
    fn the_accounts_that_moved_revenue_most_come_first_with_before_and_after() {
        let moves = store()
            .account_moves(&query(AccountMeasure::OrderRevenue))
            .unwrap();
        assert!(moves.filtered);
        // a: 100 → 25 (−75); b: 10 → 40 (+30); c: cancelled in June, April outside.
        assert_eq!(
            moves.moves,
            vec![
                AccountMove {
                    account: "a".into(),
                    before: 100.0,
                    after: 25.0
                },
                AccountMove {
                    account: "b".into(),
                    before: 10.0,
                    after: 40.0
                },
            ]
        );
    }

    #[test]
    fn mrr_is_read_on_each_period_s_last_day() {
        let moves = store().account_moves(&query(AccountMeasure::Mrr)).unwrap();
        let by = |id: &str| {
            moves
                .moves
                .iter()
                .find(|m| m.account == id)
                .unwrap()
                .clone()
        };
        assert_eq!((by("a").before, by("a").after), (50.0, 0.0));
        assert_eq!((by("b").before, by("b").after), (0.0, 20.0));
    }

    #[test]
    fn a_segment_keeps_only_its_accounts_by_column_or_attribute() {
        let store = store();
        let mut q = query(AccountMeasure::CompletedOrders);
        q.segment = Some(("channel".into(), "organic".into()));
        let moves = store.account_moves(&q).unwrap();
        assert_eq!(moves.moves.len(), 1);
        assert_eq!(moves.moves[0].account, "b");
        q.segment = Some(("industry".into(), "retail".into()));
        let moves = store.account_moves(&q).unwrap();
        assert_eq!(moves.moves.len(), 1);
        assert_eq!(moves.moves[0].account, "a");
        // Orders carry no feature: not filtered, and said so.
        q.segment = Some(("feature".into(), "export".into()));
        let moves = store.account_moves(&q).unwrap();
        assert!(!moves.filtered);
        assert_eq!(moves.moves.len(), 2);
    }

    #[test]
    fn reading_accounts_never_writes_the_store() {
        let store = store();
        let before = store.conn().total_changes();
        store
            .account_moves(&query(AccountMeasure::OrderRevenue))
            .unwrap();
        assert_eq!(store.conn().total_changes(), before);
    }
}
