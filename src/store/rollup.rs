//! Rollups: per-day (and per-segment) aggregates maintained by every import, so the
//! metrics read small tables instead of scanning raw rows.
//!
//! Each rollup row is a pure function of the raw rows of one day, so refreshing a day
//! means deleting its rollup rows and aggregating that day again: idempotent, and the
//! same statements serve an import's touched days and a full rebuild. Distinct counts
//! over weeks, months and trailing windows cannot be summed from days; they are cached in
//! `ru_distinct` for the periods a touched day falls in.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};

use chrono::{Duration, NaiveDate};
use rusqlite::{Connection, Transaction, params};

use crate::metrics::{Grain, Period};

use super::Store;

/// The days an import wrote rows for, by table: only their rollups are refreshed.
/// An import that moves a row to another day (a corrected `order_date`) adds both days.
///
/// Tables with rollups: `orders` (by `order_date`), `refunds` (`refund_date`), `events`
/// (`day`). `customers` (any day, e.g. the signup dates written) re-sorts the cohort
/// cells, since signup months decide cohorts. Other tables are read directly by the
/// metrics and need no entry.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Touched {
    pub days: BTreeMap<&'static str, BTreeSet<NaiveDate>>,
}

impl Touched {
    pub fn add(&mut self, table: &'static str, day: NaiveDate) {
        self.days.entry(table).or_default().insert(day);
    }

    pub fn is_empty(&self) -> bool {
        self.days.values().all(BTreeSet::is_empty)
    }

    /// Adds another import's days (a burst of imports is recomputed once).
    pub fn merge(&mut self, other: &Touched) {
        for (table, days) in &other.days {
            self.days.entry(table).or_default().extend(days);
        }
    }

    /// The earliest day written to any of `tables`, if any was.
    pub fn earliest_of(&self, tables: &[&str]) -> Option<NaiveDate> {
        tables
            .iter()
            .filter_map(|t| self.days.get(t)?.first().copied())
            .min()
    }

    pub fn touches(&self, table: &str) -> bool {
        self.days.get(table).is_some_and(|d| !d.is_empty())
    }

    fn of(&self, table: &str) -> BTreeSet<NaiveDate> {
        self.days.get(table).cloned().unwrap_or_default()
    }
}

/// The schema version that introduced the rollups: older stores get them built on open.
pub const ROLLUPS_SINCE: u32 = 2;

/// Trailing windows cached per day, in days (`active_7d`: WAU at day grain; `active_30d`:
/// MAU at day and week grain).
const WINDOWS: [(&str, i64); 2] = [("active_7d", 7), ("active_30d", 30)];

/// Refreshes the rollups of the touched days inside the import's transaction.
/// Tables without rollups (customers, subscriptions, surveys, …) are read directly.
pub fn refresh(tx: &Transaction<'_>, touched: &Touched) -> rusqlite::Result<()> {
    let order_days = touched.of("orders");
    let mut refund_days = touched.of("refunds");
    for day in &order_days {
        // A re-imported order may change the channel or customer of its refunds.
        let mut stmt = tx.prepare_cached(
            "SELECT DISTINCT r.refund_date FROM refunds r JOIN orders o ON o.order_id = r.order_id
             WHERE o.order_date = ?1",
        )?;
        let days = stmt.query_map([day.to_string()], |r| r.get::<_, String>(0))?;
        for d in days {
            if let Some(d) = parse_day(&d?) {
                refund_days.insert(d);
            }
        }
    }
    let customers = customers_of_days(tx, &order_days)?;
    apply_repeat(tx, &customers, -1)?;
    apply_cohorts(tx, &ORDER_ACTIVITY, &customers, -1)?;
    for range in ranges(&order_days, 1) {
        refresh_orders(tx, range.0, range.1)?;
    }
    apply_repeat(tx, &customers, 1)?;
    apply_cohorts(tx, &ORDER_ACTIVITY, &customers, 1)?;
    for range in ranges(&refund_days, 1) {
        refresh_refunds(tx, range.0, range.1)?;
    }
    let event_days = touched.of("events");
    let users = users_of_days(tx, &event_days)?;
    apply_cohorts(tx, &EVENT_ACTIVITY, &users, -1)?;
    for range in ranges(&event_days, 1) {
        refresh_events(tx, range.0, range.1)?;
    }
    apply_cohorts(tx, &EVENT_ACTIVITY, &users, 1)?;
    if !touched.of("customers").is_empty() {
        // Signup months decide cohorts: a customers import re-sorts everyone.
        rebuild_cohorts(tx)?;
    }
    refresh_period_distincts(
        tx,
        "paying",
        "ru_order_customers_day",
        "customer_id",
        &order_days,
    )?;
    refresh_period_distincts(tx, "active", "ru_event_users_day", "user_id", &event_days)?;
    refresh_period_distincts(
        tx,
        "adopters",
        "ru_feature_users_day",
        "user_id",
        &event_days,
    )?;
    for (kind, window) in WINDOWS {
        for (from, to) in ranges(&event_days, window) {
            refresh_window(tx, kind, window, from, to + Duration::days(window - 1))?;
        }
    }
    Ok(())
}

/// [`refresh`] in a transaction of its own, for writers outside an import (tests, tools).
pub fn refresh_touched(store: &mut Store, touched: &Touched) -> rusqlite::Result<()> {
    let tx = store.conn_mut().transaction()?;
    refresh(&tx, touched)?;
    tx.commit()
}

/// Rebuilds every rollup from the raw rows (after a migration, or for benchmarks).
pub fn refresh_all(store: &mut Store) -> rusqlite::Result<()> {
    let tx = store.conn_mut().transaction()?;
    for table in [
        "ru_orders_day",
        "ru_order_customers_day",
        "ru_refunds_day",
        "ru_events_day",
        "ru_event_names_day",
        "ru_event_users_day",
        "ru_feature_users_day",
        "ru_distinct",
        "ru_repeat_delta",
        "ru_cohort_cells",
        "ru_table_days",
        "ru_order_gaps",
    ] {
        tx.execute(&format!("DELETE FROM {table}"), [])?;
    }
    let span = |sql: &str| -> rusqlite::Result<Option<(NaiveDate, NaiveDate)>> {
        let (a, b): (Option<String>, Option<String>) =
            tx.query_row(sql, [], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(a.and_then(|a| parse_day(&a))
            .zip(b.and_then(|b| parse_day(&b))))
    };
    let orders = span("SELECT MIN(order_date), MAX(order_date) FROM orders")?;
    if let Some((from, to)) = orders {
        refresh_orders(&tx, from, to)?;
        rebuild_repeat(&tx)?;
        refresh_period_distincts(
            &tx,
            "paying",
            "ru_order_customers_day",
            "customer_id",
            &days_between(from, to),
        )?;
    }
    if let Some((from, to)) = span("SELECT MIN(refund_date), MAX(refund_date) FROM refunds")? {
        refresh_refunds(&tx, from, to)?;
    }
    if let Some((from, to)) = span("SELECT MIN(day), MAX(day) FROM events")? {
        refresh_events(&tx, from, to)?;
        for (kind, table) in [
            ("active", "ru_event_users_day"),
            ("adopters", "ru_feature_users_day"),
        ] {
            refresh_period_distincts(&tx, kind, table, "user_id", &days_between(from, to))?;
        }
        for (kind, window) in WINDOWS {
            refresh_window(&tx, kind, window, from, to + Duration::days(window - 1))?;
        }
    }
    rebuild_cohorts(&tx)?;
    tx.commit()
}

fn parse_day(text: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()
}

fn days_between(from: NaiveDate, to: NaiveDate) -> BTreeSet<NaiveDate> {
    from.iter_days().take_while(|d| *d <= to).collect()
}

/// Merges sorted days into inclusive ranges, joining days less than `gap` apart.
fn ranges(days: &BTreeSet<NaiveDate>, gap: i64) -> Vec<(NaiveDate, NaiveDate)> {
    let mut out: Vec<(NaiveDate, NaiveDate)> = Vec::new();
    for &day in days {
        match out.last_mut() {
            Some(last) if (day - last.1).num_days() <= gap.max(1) => last.1 = day,
            _ => out.push((day, day)),
        }
    }
    out
}

/// Rows per day of `table` (by `column`) from `from` to `to`, into `ru_table_days`.
fn refresh_table_days(
    conn: &Connection,
    table: &str,
    column: &str,
    from: NaiveDate,
    to: NaiveDate,
) -> rusqlite::Result<()> {
    let p = params![table, from.to_string(), to.to_string()];
    conn.execute(
        "DELETE FROM ru_table_days WHERE tbl = ?1 AND day BETWEEN ?2 AND ?3",
        p,
    )?;
    conn.execute(
        &format!(
            "INSERT INTO ru_table_days (tbl, day, rows)
             SELECT ?1, {column}, COUNT(*) FROM {table}
             WHERE {column} BETWEEN ?2 AND ?3 GROUP BY {column}"
        ),
        p,
    )?;
    Ok(())
}

fn refresh_orders(conn: &Connection, from: NaiveDate, to: NaiveDate) -> rusqlite::Result<()> {
    refresh_table_days(conn, "orders", "order_date", from, to)?;
    let p = params![from.to_string(), to.to_string()];
    conn.execute("DELETE FROM ru_orders_day WHERE day BETWEEN ?1 AND ?2", p)?;
    conn.execute(
        "INSERT INTO ru_orders_day (day, channel, orders, revenue, discount, cost)
         SELECT order_date, COALESCE(channel, ''), COUNT(*), SUM(revenue),
                COALESCE(SUM(discount), 0), COALESCE(SUM(cost), 0)
         FROM orders WHERE order_date BETWEEN ?1 AND ?2 AND status = 'completed'
         GROUP BY order_date, COALESCE(channel, '')",
        p,
    )?;
    conn.execute(
        "DELETE FROM ru_order_customers_day WHERE day BETWEEN ?1 AND ?2",
        p,
    )?;
    conn.execute(
        "INSERT INTO ru_order_customers_day
             (day, customer_id, channel, orders, revenue, discount, cost)
         SELECT order_date, customer_id, COALESCE(channel, ''), COUNT(*), SUM(revenue),
                COALESCE(SUM(discount), 0), COALESCE(SUM(cost), 0)
         FROM orders WHERE order_date BETWEEN ?1 AND ?2 AND status = 'completed'
         GROUP BY order_date, customer_id, COALESCE(channel, '')",
        p,
    )?;
    Ok(())
}

/// Customers with orders (before or after this import) on the given days.
fn customers_of_days(
    conn: &Connection,
    days: &BTreeSet<NaiveDate>,
) -> rusqlite::Result<BTreeSet<String>> {
    let mut out = BTreeSet::new();
    let mut raw = conn.prepare_cached(
        "SELECT DISTINCT customer_id FROM orders WHERE order_date = ?1
         UNION SELECT customer_id FROM ru_order_customers_day WHERE day = ?1",
    )?;
    for day in days {
        let ids = raw.query_map([day.to_string()], |r| r.get::<_, String>(0))?;
        for id in ids {
            out.insert(id?);
        }
    }
    Ok(out)
}

fn users_of_days(
    conn: &Connection,
    days: &BTreeSet<NaiveDate>,
) -> rusqlite::Result<BTreeSet<String>> {
    let mut out = BTreeSet::new();
    let mut stmt = conn.prepare_cached(
        "SELECT DISTINCT user_id FROM events WHERE day = ?1
         UNION SELECT user_id FROM ru_event_users_day WHERE day = ?1",
    )?;
    for day in days {
        let ids = stmt.query_map([day.to_string()], |r| r.get::<_, String>(0))?;
        for id in ids {
            out.insert(id?);
        }
    }
    Ok(out)
}

/// Where a cohort variant's activity comes from.
struct Activity {
    variant: &'static str,
    /// One id's active days and revenue (cents), ascending.
    of_one: &'static str,
    /// Every id's active days and revenue, ordered by id then day.
    of_all: &'static str,
}

const ORDER_ACTIVITY: Activity = Activity {
    variant: "orders",
    of_one: "SELECT day, SUM(revenue) FROM ru_order_customers_day WHERE customer_id = ?1
             GROUP BY day ORDER BY day",
    of_all: "SELECT customer_id, day, SUM(revenue) FROM ru_order_customers_day
             GROUP BY customer_id, day ORDER BY customer_id, day",
};

const EVENT_ACTIVITY: Activity = Activity {
    variant: "events",
    of_one: "SELECT day, 0 FROM ru_event_users_day WHERE user_id = ?1 ORDER BY day",
    of_all: "SELECT user_id, day, 0 FROM ru_event_users_day ORDER BY user_id, day",
};

/// One customer's cohort cells: (cohort, month or '' for the size row, customers, revenue).
fn cohort_cells_of(
    signup_month: Option<&str>,
    days: &[(String, i64)],
) -> Vec<(String, String, i64, i64)> {
    let Some(first) = days.first() else {
        return Vec::new();
    };
    let month_of = |day: &str| day.get(..7).unwrap_or(day).to_string();
    let cohort = signup_month.map_or_else(|| month_of(&first.0), str::to_string);
    let mut months: BTreeMap<String, i64> = BTreeMap::new();
    for (day, revenue) in days {
        let month = month_of(day);
        if month >= cohort {
            *months.entry(month).or_default() += revenue;
        }
    }
    let mut out: Vec<(String, String, i64, i64)> = months
        .into_iter()
        .map(|(m, r)| (cohort.clone(), m, 1, r))
        .collect();
    if signup_month.is_none() {
        out.push((cohort, String::new(), 1, 0));
    }
    out
}

fn add_cohort_cells(
    conn: &Connection,
    variant: &str,
    cells: &[(String, String, i64, i64)],
    sign: i64,
) -> rusqlite::Result<()> {
    let mut add = conn.prepare_cached(
        "INSERT INTO ru_cohort_cells (variant, cohort, month, customers, revenue)
         VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (variant, cohort, month) DO UPDATE SET
             customers = customers + excluded.customers, revenue = revenue + excluded.revenue",
    )?;
    for (cohort, month, n, revenue) in cells {
        add.execute(params![variant, cohort, month, n * sign, revenue * sign])?;
    }
    Ok(())
}

fn signup_month(conn: &Connection, id: &str) -> rusqlite::Result<Option<String>> {
    let mut stmt = conn
        .prepare_cached("SELECT substr(signup_date, 1, 7) FROM customers WHERE customer_id = ?1")?;
    let mut rows = stmt.query([id])?;
    match rows.next()? {
        Some(row) => row.get(0),
        None => Ok(None),
    }
}

/// Adds (`sign` = 1) or removes (−1) the cohort cells of `ids` as their activity stands
/// in the rollups now.
fn apply_cohorts(
    conn: &Connection,
    activity: &Activity,
    ids: &BTreeSet<String>,
    sign: i64,
) -> rusqlite::Result<()> {
    let mut days_of = conn.prepare_cached(activity.of_one)?;
    for id in ids {
        let days: Vec<(String, i64)> = days_of
            .query_map([id], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?
            .collect::<Result<_, _>>()?;
        let cells = cohort_cells_of(signup_month(conn, id)?.as_deref(), &days);
        add_cohort_cells(conn, activity.variant, &cells, sign)?;
    }
    conn.execute(
        "DELETE FROM ru_cohort_cells WHERE customers = 0 AND revenue = 0",
        [],
    )?;
    Ok(())
}

/// Rebuilds every cohort cell in one pass per variant.
fn rebuild_cohorts(conn: &Connection) -> rusqlite::Result<()> {
    conn.execute("DELETE FROM ru_cohort_cells", [])?;
    let mut signups: HashMap<String, String> = HashMap::new();
    {
        let mut stmt =
            conn.prepare("SELECT customer_id, substr(signup_date, 1, 7) FROM customers")?;
        let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
        for row in rows {
            let (id, month) = row?;
            signups.insert(id, month);
        }
    }
    for activity in [&ORDER_ACTIVITY, &EVENT_ACTIVITY] {
        let mut totals: BTreeMap<(String, String), (i64, i64)> = BTreeMap::new();
        let mut stmt = conn.prepare(activity.of_all)?;
        let mut rows = stmt.query([])?;
        let mut current: Option<String> = None;
        let mut days: Vec<(String, i64)> = Vec::new();
        let mut flush = |id: Option<&String>, days: &mut Vec<(String, i64)>| {
            let signup = id.and_then(|id| signups.get(id)).map(String::as_str);
            for (cohort, month, n, revenue) in cohort_cells_of(signup, days) {
                let e = totals.entry((cohort, month)).or_default();
                e.0 += n;
                e.1 += revenue;
            }
            days.clear();
        };
        while let Some(row) = rows.next()? {
            let id: String = row.get(0)?;
            if current.as_deref() != Some(id.as_str()) {
                flush(current.as_ref(), &mut days);
                current = Some(id);
            }
            days.push((row.get(1)?, row.get(2)?));
        }
        flush(current.as_ref(), &mut days);
        let cells: Vec<(String, String, i64, i64)> = totals
            .into_iter()
            .map(|((c, m), (n, r))| (c, m, n, r))
            .collect();
        add_cohort_cells(conn, activity.variant, &cells, 1)?;
    }
    Ok(())
}

/// Adds (`sign` = 1) or removes (−1) the repeat-purchase contributions of `customers`,
/// as their order days stand in `ru_order_customers_day` now.
fn apply_repeat(
    conn: &Connection,
    customers: &BTreeSet<String>,
    sign: i64,
) -> rusqlite::Result<()> {
    let mut days_of = conn.prepare_cached(
        "SELECT day, SUM(orders) FROM ru_order_customers_day WHERE customer_id = ?1
         GROUP BY day ORDER BY day",
    )?;
    let mut add = conn.prepare_cached(
        "INSERT INTO ru_repeat_delta (day, ge1, ge2) VALUES (?1, ?2, ?3)
         ON CONFLICT (day) DO UPDATE SET ge1 = ge1 + excluded.ge1, ge2 = ge2 + excluded.ge2",
    )?;
    let mut add_gap = conn.prepare_cached(
        "INSERT INTO ru_order_gaps (day, next_day, customers) VALUES (?1, ?2, ?3)
         ON CONFLICT (day, next_day) DO UPDATE SET customers = customers + excluded.customers",
    )?;
    for customer in customers {
        let days: Vec<(NaiveDate, i64)> = days_of
            .query_map([customer], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))
            })?
            .filter_map(|row| row.ok().and_then(|(d, n)| Some((parse_day(&d)?, n))))
            .collect();
        for (day, ge1, ge2) in crate::metrics::repeat_deltas(&days) {
            add.execute(params![day.to_string(), ge1 * sign, ge2 * sign])?;
        }
        for (day, next) in gaps(&days) {
            add_gap.execute(params![day, next, sign])?;
        }
    }
    conn.execute("DELETE FROM ru_repeat_delta WHERE ge1 = 0 AND ge2 = 0", [])?;
    conn.execute("DELETE FROM ru_order_gaps WHERE customers = 0", [])?;
    Ok(())
}

/// A customer's (order day, next order day) pairs; the last pairs with 9999-12-31.
fn gaps(days: &[(NaiveDate, i64)]) -> Vec<(String, String)> {
    let days: Vec<NaiveDate> = days
        .iter()
        .filter(|(_, n)| *n > 0)
        .map(|(d, _)| *d)
        .collect();
    days.iter()
        .enumerate()
        .map(|(i, d)| {
            let next = days
                .get(i + 1)
                .map_or_else(|| NO_NEXT_ORDER.to_string(), NaiveDate::to_string);
            (d.to_string(), next)
        })
        .collect()
}

/// `ru_order_gaps.next_day` of a customer's latest order.
pub const NO_NEXT_ORDER: &str = "9999-12-31";

/// Rebuilds `ru_repeat_delta` in one pass over the per-customer order days.
fn rebuild_repeat(conn: &Connection) -> rusqlite::Result<()> {
    let mut totals: BTreeMap<NaiveDate, (i64, i64)> = BTreeMap::new();
    let mut gap_totals: HashMap<(String, String), i64> = HashMap::new();
    {
        let mut stmt = conn.prepare(
            "SELECT customer_id, day, SUM(orders) FROM ru_order_customers_day
             GROUP BY customer_id, day ORDER BY customer_id, day",
        )?;
        let mut rows = stmt.query([])?;
        let mut current: Option<String> = None;
        let mut days: Vec<(NaiveDate, i64)> = Vec::new();
        let mut flush = |days: &mut Vec<(NaiveDate, i64)>| {
            for (d, a, b) in crate::metrics::repeat_deltas(days) {
                let e = totals.entry(d).or_default();
                e.0 += a;
                e.1 += b;
            }
            for pair in gaps(days) {
                *gap_totals.entry(pair).or_default() += 1;
            }
            days.clear();
        };
        while let Some(row) = rows.next()? {
            let customer: String = row.get(0)?;
            if current.as_deref() != Some(customer.as_str()) {
                flush(&mut days);
                current = Some(customer);
            }
            if let Some(day) = parse_day(&row.get::<_, String>(1)?) {
                days.push((day, row.get(2)?));
            }
        }
        flush(&mut days);
    }
    let mut insert =
        conn.prepare("INSERT INTO ru_repeat_delta (day, ge1, ge2) VALUES (?1, ?2, ?3)")?;
    for (day, (a, b)) in totals {
        if a != 0 || b != 0 {
            insert.execute(params![day.to_string(), a, b])?;
        }
    }
    let mut insert =
        conn.prepare("INSERT INTO ru_order_gaps (day, next_day, customers) VALUES (?1, ?2, ?3)")?;
    for ((day, next), n) in gap_totals {
        insert.execute(params![day, next, n])?;
    }
    Ok(())
}

fn refresh_refunds(conn: &Connection, from: NaiveDate, to: NaiveDate) -> rusqlite::Result<()> {
    refresh_table_days(conn, "refunds", "refund_date", from, to)?;
    let p = params![from.to_string(), to.to_string()];
    conn.execute("DELETE FROM ru_refunds_day WHERE day BETWEEN ?1 AND ?2", p)?;
    conn.execute(
        "INSERT INTO ru_refunds_day (day, channel, customer_id, amount)
         SELECT r.refund_date, COALESCE(o.channel, ''), COALESCE(o.customer_id, ''), SUM(r.amount)
         FROM refunds r LEFT JOIN orders o ON o.order_id = r.order_id
         WHERE r.refund_date BETWEEN ?1 AND ?2
         GROUP BY r.refund_date, COALESCE(o.channel, ''), COALESCE(o.customer_id, '')",
        p,
    )?;
    Ok(())
}

fn refresh_events(conn: &Connection, from: NaiveDate, to: NaiveDate) -> rusqlite::Result<()> {
    refresh_table_days(conn, "events", "day", from, to)?;
    let p = params![from.to_string(), to.to_string()];
    for table in [
        "ru_events_day",
        "ru_event_names_day",
        "ru_event_users_day",
        "ru_feature_users_day",
    ] {
        conn.execute(
            &format!("DELETE FROM {table} WHERE day BETWEEN ?1 AND ?2"),
            p,
        )?;
    }
    conn.execute(
        "INSERT INTO ru_events_day
             (day, events, sessions, page_views, pv_sessions, bounced_sessions, duration_s)
         SELECT e.day, e.n, e.sessions, e.pv, COALESCE(s.pv_sessions, 0), COALESCE(s.bounced, 0),
                e.duration
         FROM (SELECT day, COUNT(*) AS n, COUNT(DISTINCT session_id) AS sessions,
                      SUM(name = 'page_view') AS pv, COALESCE(SUM(duration_s), 0) AS duration
               FROM events WHERE day BETWEEN ?1 AND ?2 GROUP BY day) e
         LEFT JOIN (SELECT day, SUM(pv >= 1) AS pv_sessions, SUM(pv = 1) AS bounced
                    FROM (SELECT day, session_id, SUM(name = 'page_view') AS pv
                          FROM events
                          WHERE day BETWEEN ?1 AND ?2 AND session_id IS NOT NULL
                          GROUP BY day, session_id)
                    GROUP BY day) s ON s.day = e.day",
        p,
    )?;
    conn.execute(
        "INSERT INTO ru_event_names_day (day, name, events)
         SELECT day, name, COUNT(*) FROM events WHERE day BETWEEN ?1 AND ?2 GROUP BY day, name",
        p,
    )?;
    conn.execute(
        "INSERT INTO ru_event_users_day (day, user_id, events, sessions)
         SELECT day, user_id, COUNT(*), COUNT(DISTINCT session_id)
         FROM events WHERE day BETWEEN ?1 AND ?2 GROUP BY day, user_id",
        p,
    )?;
    conn.execute(
        "INSERT INTO ru_feature_users_day (day, feature, user_id)
         SELECT DISTINCT day, COALESCE(feature, ''), user_id
         FROM events WHERE day BETWEEN ?1 AND ?2 AND name = 'feature_used'",
        p,
    )?;
    Ok(())
}

/// Recomputes `<prefix>_day`, `<prefix>_week` and `<prefix>_month` distinct counts of the
/// periods holding the given days, from a per-day-per-id rollup.
fn refresh_period_distincts(
    conn: &Connection,
    prefix: &str,
    table: &str,
    id: &str,
    days: &BTreeSet<NaiveDate>,
) -> rusqlite::Result<()> {
    let mut stmt = conn.prepare(&format!(
        "INSERT OR REPLACE INTO ru_distinct (kind, period, n)
         SELECT ?1, ?2, COUNT(DISTINCT {id}) FROM {table} WHERE day BETWEEN ?2 AND ?3"
    ))?;
    for grain in Grain::ALL {
        let kind = format!("{prefix}_{grain}");
        let periods: BTreeSet<Period> =
            days.iter().map(|d| Period::containing(grain, *d)).collect();
        for period in periods {
            stmt.execute(params![
                kind,
                period.start.to_string(),
                period.end().to_string()
            ])?;
        }
    }
    Ok(())
}

/// Recomputes the distinct users of the `window` days ending on each day of
/// [`from`, `to`], streaming the per-day-per-user rollup once.
fn refresh_window(
    conn: &Connection,
    kind: &str,
    window: i64,
    from: NaiveDate,
    to: NaiveDate,
) -> rusqlite::Result<()> {
    let read_from = from - Duration::days(window - 1);
    let mut ids: HashMap<String, u32> = HashMap::new();
    let mut by_day: BTreeMap<NaiveDate, Vec<u32>> = BTreeMap::new();
    {
        let mut stmt = conn
            .prepare("SELECT day, user_id FROM ru_event_users_day WHERE day BETWEEN ?1 AND ?2")?;
        let mut rows = stmt.query(params![read_from.to_string(), to.to_string()])?;
        while let Some(row) = rows.next()? {
            let day: String = row.get(0)?;
            let Some(day) = parse_day(&day) else { continue };
            let user: String = row.get(1)?;
            let next = u32::try_from(ids.len()).unwrap_or(u32::MAX);
            let id = *ids.entry(user).or_insert(next);
            by_day.entry(day).or_default().push(id);
        }
    }
    let mut counts = vec![0u32; ids.len()];
    let mut distinct = 0i64;
    let mut in_window: VecDeque<NaiveDate> = VecDeque::new();
    let mut insert =
        conn.prepare("INSERT OR REPLACE INTO ru_distinct (kind, period, n) VALUES (?1, ?2, ?3)")?;
    let mut day = read_from;
    while day <= to {
        if let Some(users) = by_day.get(&day) {
            for &u in users {
                let c = &mut counts[u as usize];
                if *c == 0 {
                    distinct += 1;
                }
                *c += 1;
            }
            in_window.push_back(day);
        }
        while let Some(&oldest) = in_window.front() {
            if (day - oldest).num_days() < window {
                break;
            }
            in_window.pop_front();
            for &u in by_day.get(&oldest).map(Vec::as_slice).unwrap_or_default() {
                let c = &mut counts[u as usize];
                *c -= 1;
                if *c == 0 {
                    distinct -= 1;
                }
            }
        }
        if day >= from {
            insert.execute(params![kind, day.to_string(), distinct])?;
        }
        day += Duration::days(1);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        parse_day(s).unwrap()
    }

    #[test]
    fn touched_days_merge_into_ranges() {
        let days: BTreeSet<_> = [d("2025-01-01"), d("2025-01-02"), d("2025-01-05")].into();
        assert_eq!(
            ranges(&days, 1),
            [
                (d("2025-01-01"), d("2025-01-02")),
                (d("2025-01-05"), d("2025-01-05"))
            ]
        );
        assert_eq!(ranges(&days, 7), [(d("2025-01-01"), d("2025-01-05"))]);
    }
}
