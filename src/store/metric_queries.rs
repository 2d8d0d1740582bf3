//! The reads behind the metric engine (`metrics::Engine`): per-day sums and range counts
//! of the rollups and raw tables, each described by a type, so that `metrics/` keeps the
//! formulas and this module the SQL. Read-only.

use chrono::NaiveDate;
use rusqlite::types::Value as SqlValue;

use super::Store;
use super::rollup::SIGNUP_COLUMNS;

/// Which rows of a table a read keeps.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum RowFilter {
    All,
    /// Rows whose own `channel` column is this (an order's or a spend's channel).
    Channel(String),
    /// Rows of the customers whose `dimension` (a column of `customers`, or a key of its
    /// `attributes`) is `value`.
    Customers {
        dimension: String,
        value: String,
    },
}

impl RowFilter {
    /// ` AND …` after the `?1`/`?2` day range, with its parameters; `customer_column` holds
    /// the row's customer id.
    pub(super) fn sql(&self, customer_column: &str) -> (String, Vec<SqlValue>) {
        match self {
            Self::All => (String::new(), Vec::new()),
            Self::Channel(channel) => (
                " AND channel = ?3".into(),
                vec![SqlValue::Text(channel.clone())],
            ),
            Self::Customers { dimension, value } => {
                let (expr, mut params) = customer_dim_expr(dimension);
                params.push(SqlValue::Text(value.clone()));
                // Positional `?` after `?1`/`?2` number from 3 on.
                (
                    format!(
                        " AND {customer_column} IN (SELECT customer_id FROM customers WHERE {expr} = ?)"
                    ),
                    params,
                )
            }
        }
    }
}

impl RowFilter {
    /// ` AND …` on the customer row joined as `alias` (its channel for
    /// [`RowFilter::Channel`]), with its parameters: a read that joins each row's customer
    /// tests it there, rather than against the list of a segment's customers, which
    /// SQLite builds by reading every customer even when no row needs it.
    pub(super) fn on_customer(&self, alias: &str) -> (String, Vec<SqlValue>) {
        let (dimension, value) = match self {
            Self::All => return (String::new(), Vec::new()),
            Self::Channel(channel) => ("channel", channel),
            Self::Customers { dimension, value } => (dimension.as_str(), value),
        };
        let (expr, mut params) = customer_dim_expr_of(&format!("{alias}."), dimension);
        params.push(SqlValue::Text(value.clone()));
        (format!(" AND {expr} = ?"), params)
    }

    /// How `ru_signups_day` keeps this filter's customers: `Some(None)` all of them,
    /// `Some(Some(column))` those of one value of a column it keeps, `None` not at all.
    fn signup_column(&self) -> Option<Option<&'static str>> {
        let kept = |dimension: &str| SIGNUP_COLUMNS.iter().find(|c| **c == dimension).copied();
        match self {
            Self::All => Some(None),
            Self::Channel(_) => Some(Some("channel")),
            Self::Customers { dimension, .. } => kept(dimension).map(Some),
        }
    }
}

/// The customers-table expression of a dimension, with its parameters.
pub(super) fn customer_dim_expr(dimension: &str) -> (String, Vec<SqlValue>) {
    customer_dim_expr_of("", dimension)
}

/// [`customer_dim_expr`] on the customer row `prefix` names (`"c."`), for reads that join
/// the customers rather than test ids against a list of them.
fn customer_dim_expr_of(prefix: &str, dimension: &str) -> (String, Vec<SqlValue>) {
    match dimension {
        "channel" | "plan" | "region" => (format!("{prefix}{dimension}"), Vec::new()),
        attribute => (
            format!("json_extract({prefix}attributes, ?)"),
            vec![SqlValue::Text(format!(
                "$.\"{}\"",
                attribute.replace('"', "")
            ))],
        ),
    }
}

/// A segment value as text, whatever its stored type.
pub(super) fn segment_text(value: SqlValue) -> String {
    match value {
        SqlValue::Text(s) => s,
        SqlValue::Integer(i) => i.to_string(),
        SqlValue::Real(f) => f.to_string(),
        _ => String::new(),
    }
}

/// Numbers summed per day over a day range: each row is a day and [`DailyQuery::width`]
/// numbers. Money is in minor units (cents), as stored.
#[derive(Debug, Clone, PartialEq)]
pub enum DailyQuery {
    /// Completed orders, revenue, discount and cost.
    Orders(RowFilter),
    /// Refunded amount, on the refund's day.
    Refunds(RowFilter),
    /// Cost of goods sold, and all costs, of the costs table.
    Costs,
    /// Events with any of these names.
    NamedEvents(Vec<String>),
    /// The cached distinct count of one kind (`ru_distinct`), keyed by its period's first day.
    Distinct(String),
    /// The distinct users of one feature of one kind (`ru_feature_distinct`:
    /// `adopters_{day,week,month}`), keyed by its period's first day.
    FeatureDistinct { kind: String, feature: String },
    /// Customers by signup date.
    Signups(RowFilter),
    /// Users with an event, per day.
    ActiveUsers(RowFilter),
    /// Sessions of users, per day.
    UserSessions(RowFilter),
    /// Events, sessions, page views, sessions with page views, bounced sessions and the
    /// duration of sessions (seconds).
    EventTotals,
    /// Spend amount, impressions and clicks, of one channel or all.
    Spend(Option<String>),
    /// Completed-order revenue of one channel; `None`: of the channels that have spend.
    ChannelRevenue(Option<String>),
    /// Visitors, leads, conversions, and the days that recorded leads, of one channel or all.
    Funnel(Option<String>),
    /// Survey responses of one kind, those scoring at least `high_from`, those scoring at
    /// most `low_to`, and the sum of scores.
    Surveys {
        kind: String,
        filter: RowFilter,
        high_from: f64,
        low_to: f64,
    },
    /// An external metric's values (`metrics` table) of one segment (`""`: overall).
    External { metric: String, segment: String },
}

impl DailyQuery {
    /// How many numbers each day holds.
    pub fn width(&self) -> usize {
        match self {
            Self::Orders(_) | Self::Surveys { .. } | Self::Funnel(_) => 4,
            Self::Costs => 2,
            Self::Spend(_) => 3,
            Self::EventTotals => 6,
            Self::Refunds(_)
            | Self::NamedEvents(_)
            | Self::Distinct(_)
            | Self::FeatureDistinct { .. }
            | Self::Signups(_)
            | Self::ActiveUsers(_)
            | Self::UserSessions(_)
            | Self::ChannelRevenue(_)
            | Self::External { .. } => 1,
        }
    }

    /// The SQL, selecting a `YYYY-MM-DD` day then the numbers, with `?1`/`?2` the day
    /// range, and its further parameters.
    fn sql(&self) -> (String, Vec<SqlValue>) {
        match self {
            Self::Orders(filter) => {
                let table = if matches!(filter, RowFilter::Customers { .. }) {
                    "ru_order_customers_day"
                } else {
                    "ru_orders_day"
                };
                let (filter, params) = filter.sql("customer_id");
                // Money is summed with TOTAL: read as f64 anyway, exact for cents below
                // 2^53, and it cannot fail with "integer overflow" as SUM does on a store
                // holding an amount from before imports bounded them
                // (`fields::MAX_MONEY_MINOR_UNITS`).
                (
                    format!(
                        "SELECT day, SUM(orders), TOTAL(revenue), TOTAL(discount), TOTAL(cost) FROM {table}
                         WHERE day BETWEEN ?1 AND ?2{filter} GROUP BY day ORDER BY day"
                    ),
                    params,
                )
            }
            Self::Refunds(filter) => {
                let (filter, params) = filter.sql("customer_id");
                (
                    format!(
                        "SELECT day, TOTAL(amount) FROM ru_refunds_day
                         WHERE day BETWEEN ?1 AND ?2{filter} GROUP BY day ORDER BY day"
                    ),
                    params,
                )
            }
            Self::Costs => (
                "SELECT date, TOTAL(CASE WHEN category = 'cogs' THEN amount ELSE 0 END), TOTAL(amount)
                 FROM costs WHERE date BETWEEN ?1 AND ?2 GROUP BY date ORDER BY date"
                    .into(),
                Vec::new(),
            ),
            Self::NamedEvents(names) => {
                let marks = vec!["?"; names.len()].join(", ");
                (
                    format!(
                        "SELECT day, SUM(events) FROM ru_event_names_day
                         WHERE day BETWEEN ?1 AND ?2 AND name IN ({marks}) GROUP BY day ORDER BY day"
                    ),
                    names.iter().map(|n| SqlValue::Text(n.clone())).collect(),
                )
            }
            Self::Distinct(kind) => (
                "SELECT period, n FROM ru_distinct WHERE period BETWEEN ?1 AND ?2 AND kind = ?3
                 ORDER BY period"
                    .into(),
                vec![SqlValue::Text(kind.clone())],
            ),
            Self::FeatureDistinct { kind, feature } => (
                "SELECT period, n FROM ru_feature_distinct
                 WHERE period BETWEEN ?1 AND ?2 AND kind = ?3 AND feature = ?4 ORDER BY period"
                    .into(),
                vec![SqlValue::Text(kind.clone()), SqlValue::Text(feature.clone())],
            ),
            Self::Signups(filter) => match filter.signup_column() {
                // A few rows per day and segment instead of every customer.
                Some(column) => {
                    let (filter, params) = match (column, filter) {
                        (Some(column), RowFilter::Customers { value, .. })
                        | (Some(column), RowFilter::Channel(value)) => (
                            format!(" AND {column} = ?3"),
                            vec![SqlValue::Text(value.clone())],
                        ),
                        _ => (String::new(), Vec::new()),
                    };
                    (
                        format!(
                            "SELECT day, SUM(customers) FROM ru_signups_day
                             WHERE day BETWEEN ?1 AND ?2{filter} GROUP BY day ORDER BY day"
                        ),
                        params,
                    )
                }
                // A key of the attributes: only the customers table holds it.
                None => {
                    let (filter, params) = filter.sql("customer_id");
                    (
                        format!(
                            "SELECT signup_date, COUNT(*) FROM customers
                             WHERE signup_date BETWEEN ?1 AND ?2{filter} GROUP BY signup_date ORDER BY signup_date"
                        ),
                        params,
                    )
                }
            },
            Self::ActiveUsers(filter) => {
                let (filter, params) = filter.sql("user_id");
                (
                    format!(
                        "SELECT day, COUNT(*) FROM ru_event_users_day
                         WHERE day BETWEEN ?1 AND ?2{filter} GROUP BY day ORDER BY day"
                    ),
                    params,
                )
            }
            Self::UserSessions(filter) => {
                let (filter, params) = filter.sql("user_id");
                (
                    format!(
                        "SELECT day, SUM(sessions) FROM ru_event_users_day
                         WHERE day BETWEEN ?1 AND ?2{filter} GROUP BY day ORDER BY day"
                    ),
                    params,
                )
            }
            Self::EventTotals => (
                "SELECT day, events, sessions, page_views, pv_sessions, bounced_sessions, duration_s
                 FROM ru_events_day WHERE day BETWEEN ?1 AND ?2 ORDER BY day"
                    .into(),
                Vec::new(),
            ),
            Self::Spend(channel) => {
                let (filter, params) = channel_filter(channel);
                // TOTAL, not SUM, for money: see `Orders`.
                (
                    format!(
                        "SELECT date, TOTAL(amount), SUM(impressions), SUM(clicks) FROM spend
                         WHERE date BETWEEN ?1 AND ?2{filter} GROUP BY date ORDER BY date"
                    ),
                    params,
                )
            }
            Self::ChannelRevenue(channel) => {
                let (filter, params) = match channel {
                    Some(_) => channel_filter(channel),
                    None => (
                        " AND channel IN (SELECT DISTINCT channel FROM spend)",
                        Vec::new(),
                    ),
                };
                (
                    format!(
                        "SELECT day, TOTAL(revenue) FROM ru_orders_day
                         WHERE day BETWEEN ?1 AND ?2{filter} GROUP BY day ORDER BY day"
                    ),
                    params,
                )
            }
            Self::Funnel(channel) => {
                let (filter, params) = channel_filter(channel);
                (
                    format!(
                        "SELECT date, SUM(visitors), SUM(leads), SUM(conversions), COUNT(leads) FROM funnel
                         WHERE date BETWEEN ?1 AND ?2{filter} GROUP BY date ORDER BY date"
                    ),
                    params,
                )
            }
            Self::Surveys {
                kind,
                filter,
                high_from,
                low_to,
            } => {
                let (filter, mut params) = filter.sql("customer_id");
                // The kind goes last so the segment's positional parameters keep their numbers.
                params.push(SqlValue::Text(kind.clone()));
                (
                    format!(
                        "SELECT date, COUNT(*), SUM(score >= {top}), SUM(score <= {bottom}), SUM(score)
                         FROM surveys WHERE date BETWEEN ?1 AND ?2{filter} AND kind = ?
                         GROUP BY date ORDER BY date",
                        top = finite(*high_from),
                        bottom = finite(*low_to),
                    ),
                    params,
                )
            }
            Self::External { metric, segment } => (
                "SELECT date, value FROM metrics
                 WHERE date BETWEEN ?1 AND ?2 AND metric = ?3 AND segment = ?4 ORDER BY date"
                    .into(),
                vec![
                    SqlValue::Text(metric.clone()),
                    SqlValue::Text(segment.clone()),
                ],
            ),
        }
    }
}

fn channel_filter(channel: &Option<String>) -> (&'static str, Vec<SqlValue>) {
    match channel {
        Some(c) => (" AND channel = ?3", vec![SqlValue::Text(c.clone())]),
        None => ("", Vec::new()),
    }
}

/// A bound as SQL: an infinite one as a number beyond every score.
fn finite(v: f64) -> String {
    if v.is_finite() {
        v.to_string()
    } else if v > 0.0 {
        "1e308".into()
    } else {
        "-1e308".into()
    }
}

/// One number counted over a day range.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum CountQuery {
    /// Distinct customers with a completed order.
    PayingCustomers(RowFilter),
    /// Distinct users with an event.
    DistinctUsers(RowFilter),
    /// Customers whose last order as of a day in the range was before `next_order_after`
    /// (`ru_order_gaps`: no order from their order day up to and including that day).
    LastOrderedBefore { next_order_after: NaiveDate },
}

impl CountQuery {
    fn sql(&self) -> (String, Vec<SqlValue>) {
        match self {
            Self::PayingCustomers(filter) => {
                let (filter, params) = filter.sql("customer_id");
                (
                    format!(
                        "SELECT COUNT(DISTINCT customer_id) FROM ru_order_customers_day
                         WHERE day BETWEEN ?1 AND ?2{filter}"
                    ),
                    params,
                )
            }
            Self::DistinctUsers(filter) => {
                let (filter, params) = filter.sql("user_id");
                (
                    format!(
                        "SELECT COUNT(DISTINCT user_id) FROM ru_event_users_day WHERE day BETWEEN ?1 AND ?2{filter}"
                    ),
                    params,
                )
            }
            Self::LastOrderedBefore { next_order_after } => (
                "SELECT SUM(customers) FROM ru_order_gaps
                 WHERE day BETWEEN ?1 AND ?2 AND next_day > ?3"
                    .into(),
                vec![SqlValue::Text(next_order_after.to_string())],
            ),
        }
    }
}

/// Where the values of a breakdown dimension come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SegmentSource<'a> {
    /// The segments an external metric was recorded for.
    ExternalMetric(&'a str),
    /// The channels of completed orders.
    OrderChannels,
    /// The channels of spend and funnel rows.
    MarketingChannels,
    /// The plans of subscriptions.
    SubscriptionPlans,
    /// The features used in events.
    Features,
    /// The severities of tickets (`""` for none).
    Severities,
    /// A column of `customers` or a key of its `attributes`.
    Customers(&'a str),
}

fn day_range(from: NaiveDate, to: NaiveDate, params: Vec<SqlValue>) -> Vec<SqlValue> {
    let mut all = vec![
        SqlValue::Text(from.to_string()),
        SqlValue::Text(to.to_string()),
    ];
    all.extend(params);
    all
}

impl Store {
    /// The rows of `query` from `from` to `to`, days ascending; a row whose day is not a
    /// valid `YYYY-MM-DD` is skipped, a missing number reads 0.
    pub fn daily_sums(
        &self,
        query: &DailyQuery,
        from: NaiveDate,
        to: NaiveDate,
    ) -> rusqlite::Result<Vec<(NaiveDate, Vec<f64>)>> {
        let (sql, params) = query.sql();
        let mut stmt = self.conn().prepare_cached(&sql)?;
        let width = stmt.column_count();
        let mut rows = stmt.query(rusqlite::params_from_iter(day_range(from, to, params)))?;
        let mut out = Vec::new();
        while let Some(row) = rows.next()? {
            let day: String = row.get(0)?;
            let Ok(day) = NaiveDate::parse_from_str(&day, "%Y-%m-%d") else {
                continue;
            };
            let mut values = Vec::with_capacity(width.saturating_sub(1));
            for i in 1..width {
                values.push(row.get::<_, Option<f64>>(i)?.unwrap_or(0.0));
            }
            out.push((day, values));
        }
        Ok(out)
    }

    /// The count of `query` from `from` to `to` (0 when nothing matches).
    pub fn count_between(
        &self,
        query: &CountQuery,
        from: NaiveDate,
        to: NaiveDate,
    ) -> rusqlite::Result<f64> {
        let (sql, params) = query.sql();
        let mut stmt = self.conn().prepare_cached(&sql)?;
        Ok(stmt
            .query_row(
                rusqlite::params_from_iter(day_range(from, to, params)),
                |r| r.get::<_, Option<f64>>(0),
            )?
            .unwrap_or(0.0))
    }

    /// Whether `table` (one of the schema's tables) holds any row, of any status. The
    /// tables counted per day are answered from `ru_table_days`, kept whole on every write
    /// (and rebuilt on open when it lags), so a synced store without the raw rows answers
    /// the same.
    pub fn has_rows(&self, table: &str) -> rusqlite::Result<bool> {
        if super::rollup::TABLE_DAYS.iter().any(|(t, _)| *t == table) {
            return self.conn().query_row(
                "SELECT EXISTS (SELECT 1 FROM ru_table_days WHERE tbl = ?1 AND rows > 0)",
                [table],
                |r| r.get(0),
            );
        }
        self.conn()
            .query_row(&format!("SELECT EXISTS (SELECT 1 FROM {table})"), [], |r| {
                r.get(0)
            })
    }

    /// The distinct features of `ru_feature_users_day`, from the monthly adopters per
    /// feature (`ru_feature_distinct`: a row for every feature used in a month), not from
    /// every adopter's row (millions at 10 M events) nor a seek per day and feature.
    fn features(&self) -> rusqlite::Result<Vec<SqlValue>> {
        self.conn()
            .prepare_cached(
                "SELECT DISTINCT feature FROM ru_feature_distinct WHERE kind = 'adopters_month'",
            )?
            .query_map([], |r| r.get(0))?
            .collect()
    }

    /// The distinct values of a breakdown dimension, as text, sorted.
    pub fn segment_values(&self, source: &SegmentSource<'_>) -> rusqlite::Result<Vec<String>> {
        let (sql, params): (String, Vec<SqlValue>) = match source {
            SegmentSource::ExternalMetric(metric) => (
                "SELECT DISTINCT segment FROM metrics WHERE metric = ? AND segment <> ''".into(),
                vec![SqlValue::Text(metric.to_string())],
            ),
            SegmentSource::OrderChannels => (
                "SELECT DISTINCT channel FROM ru_orders_day".into(),
                Vec::new(),
            ),
            SegmentSource::MarketingChannels => (
                "SELECT channel FROM spend UNION SELECT channel FROM funnel".into(),
                Vec::new(),
            ),
            SegmentSource::SubscriptionPlans => (
                "SELECT DISTINCT plan FROM subscriptions WHERE plan IS NOT NULL".into(),
                Vec::new(),
            ),
            SegmentSource::Features => {
                let mut values: Vec<String> =
                    self.features()?.into_iter().map(segment_text).collect();
                values.sort();
                values.dedup();
                return Ok(values);
            }
            SegmentSource::Severities => (
                "SELECT DISTINCT COALESCE(severity, '') FROM tickets".into(),
                Vec::new(),
            ),
            SegmentSource::Customers(dimension) if SIGNUP_COLUMNS.contains(dimension) => (
                // Every customer is counted there, whatever its signup day.
                format!(
                    "SELECT DISTINCT {dimension} FROM ru_signups_day WHERE {dimension} IS NOT NULL"
                ),
                Vec::new(),
            ),
            SegmentSource::Customers(dimension) => {
                let (expr, params) = customer_dim_expr(dimension);
                (
                    format!("SELECT DISTINCT {expr} FROM customers WHERE {expr} IS NOT NULL"),
                    params.iter().chain(params.iter()).cloned().collect(),
                )
            }
        };
        let mut stmt = self.conn().prepare(&sql)?;
        let mut values: Vec<String> = stmt
            .query_map(rusqlite::params_from_iter(params), |r| {
                Ok(segment_text(r.get(0)?))
            })?
            .collect::<Result<_, _>>()?;
        values.sort();
        values.dedup();
        Ok(values)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;

    /// The features listed from the monthly adopters per feature are those a scan of every row
    /// finds: days with one feature, with several, an empty name and a number stored as
    /// text, days without any feature between them.
    #[test]
    fn features_listed_from_the_monthly_adopters_equal_a_scan_of_every_row() {
        let store = Store::open_in_memory().expect("store");
        let empty = store
            .segment_values(&SegmentSource::Features)
            .expect("no features");
        assert!(empty.is_empty());
        let rows = [
            ("2025-01-01", "search", "u1"),
            ("2025-01-01", "search", "u2"),
            ("2025-01-01", "export", "u1"),
            ("2025-01-03", "", "u3"),
            ("2025-01-03", "share", "u3"),
            ("2025-01-09", "42", "u1"),
            ("2025-01-09", "zoom", "u9"),
            ("2025-02-01", "export", "u2"),
        ];
        for (day, feature, user) in rows {
            store
                .conn()
                .execute(
                    "INSERT INTO ru_feature_users_day (day, feature, user_id) VALUES (?1, ?2, ?3)",
                    [day, feature, user],
                )
                .expect("row");
        }
        let scanned: Vec<String> = store
            .conn()
            .prepare("SELECT DISTINCT feature FROM ru_feature_users_day ORDER BY feature")
            .expect("scan")
            .query_map([], |r| r.get(0))
            .expect("scan")
            .map(|r| r.expect("text"))
            .collect();
        // As every events import counts them.
        crate::store::rollup::recount_adopters(store.conn()).expect("adopters");
        let walked = store
            .segment_values(&SegmentSource::Features)
            .expect("walk");
        assert_eq!(walked, scanned);
        assert_eq!(walked, ["", "42", "export", "search", "share", "zoom"]);
    }
}
