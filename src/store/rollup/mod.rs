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
    let event_days = touched.of("events");
    // Signup months decide cohorts: a customers import re-sorts everyone's.
    let signups_changed = !touched.of("customers").is_empty();
    let order_parts = Parts {
        repeat: !order_days.is_empty(),
        cohorts: !order_days.is_empty() || signups_changed,
    };
    let event_parts = Parts {
        repeat: false,
        cohorts: !event_days.is_empty() || signups_changed,
    };
    // The per-id rollups change by the touched ids' contributions after the refresh
    // minus before; when every id is touched, a rebuild reads half as much.
    let split = |parts: Parts, everywhere: bool| -> (Parts, Parts) {
        let rebuild = Parts {
            repeat: parts.repeat && everywhere,
            cohorts: parts.cohorts && (everywhere || signups_changed),
        };
        let maintain = Parts {
            repeat: parts.repeat && !rebuild.repeat,
            cohorts: parts.cohorts && !rebuild.cohorts,
        };
        (maintain, rebuild)
    };
    let (maintain_orders, rebuild_orders) =
        split(order_parts, covers_every_day(tx, "orders", &order_days)?);
    let events_everywhere = covers_every_day(tx, "events", &event_days)?;
    let (maintain_events, rebuild_events) = split(event_parts, events_everywhere);
    let mut sums = Contributions::default();
    for (activity, parts, days) in [
        (&ORDER_ACTIVITY, maintain_orders, &order_days),
        (&EVENT_ACTIVITY, maintain_events, &event_days),
    ] {
        if parts.any() {
            select_ids(tx, activity, days)?;
            contribute(tx, activity, Scope::Touched, parts, -1, &mut sums)?;
        }
    }
    with_indexes_deferred(tx, "ru_order_customers_day", rebuild_orders.repeat, || {
        for range in ranges(&order_days, 1) {
            refresh_orders(tx, range.0, range.1)?;
        }
        Ok(())
    })?;
    for range in ranges(&refund_days, 1) {
        refresh_refunds(tx, range.0, range.1)?;
    }
    with_indexes_deferred(tx, "ru_event_users_day", events_everywhere, || {
        for range in ranges(&event_days, 1) {
            refresh_events(tx, range.0, range.1)?;
        }
        Ok(())
    })?;
    contribute(
        tx,
        &ORDER_ACTIVITY,
        Scope::Touched,
        maintain_orders,
        1,
        &mut sums,
    )?;
    contribute(
        tx,
        &EVENT_ACTIVITY,
        Scope::Touched,
        maintain_events,
        1,
        &mut sums,
    )?;
    write(tx, &sums)?;
    rebuild(tx, &ORDER_ACTIVITY, rebuild_orders)?;
    rebuild(tx, &EVENT_ACTIVITY, rebuild_events)?;
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

/// Every rollup table.
pub const ROLLUP_TABLES: [&str; 12] = [
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
];

/// Rebuilds every rollup from the raw rows (after a migration, or for benchmarks).
pub fn refresh_all(store: &mut Store) -> rusqlite::Result<()> {
    let tx = store.conn_mut().transaction()?;
    for table in ROLLUP_TABLES {
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
        with_indexes_deferred(&tx, "ru_order_customers_day", true, || {
            refresh_orders(&tx, from, to)
        })?;
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
        with_indexes_deferred(&tx, "ru_event_users_day", true, || {
            refresh_events(&tx, from, to)
        })?;
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
    let everything = Parts {
        repeat: true,
        cohorts: true,
    };
    rebuild(&tx, &ORDER_ACTIVITY, everything)?;
    rebuild(
        &tx,
        &EVENT_ACTIVITY,
        Parts {
            repeat: false,
            ..everything
        },
    )?;
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

/// Runs `rewrite` with the secondary indexes of `table` dropped when `wholesale`, then
/// builds them again: a rollup rewritten from scratch sorts each index once instead of
/// inserting into it at random (the per-customer index of a first big import).
fn with_indexes_deferred(
    conn: &Connection,
    table: &str,
    wholesale: bool,
    rewrite: impl FnOnce() -> rusqlite::Result<()>,
) -> rusqlite::Result<()> {
    if !wholesale {
        return rewrite();
    }
    let indexes: Vec<(String, String)> = conn
        .prepare(
            "SELECT name, sql FROM sqlite_master
             WHERE type = 'index' AND tbl_name = ?1 AND sql IS NOT NULL",
        )?
        .query_map([table], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<_, _>>()?;
    for (name, _) in &indexes {
        conn.execute(&format!("DROP INDEX \"{name}\""), [])?;
    }
    rewrite()?;
    for (_, sql) in &indexes {
        conn.execute(sql, [])?;
    }
    Ok(())
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
    // Summed from the per-customer rollup rather than read again from the raw rows.
    conn.execute("DELETE FROM ru_orders_day WHERE day BETWEEN ?1 AND ?2", p)?;
    conn.execute(
        "INSERT INTO ru_orders_day (day, channel, orders, revenue, discount, cost)
         SELECT day, channel, SUM(orders), SUM(revenue), SUM(discount), SUM(cost)
         FROM ru_order_customers_day WHERE day BETWEEN ?1 AND ?2
         GROUP BY day, channel",
        p,
    )?;
    Ok(())
}

/// Which ids a per-id pass reads: all of them, or those of the activity's temp table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scope {
    All,
    Touched,
}

/// The per-id rollups a pass maintains.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Parts {
    /// `ru_repeat_delta` and `ru_order_gaps` (orders only).
    repeat: bool,
    /// `ru_cohort_cells` of the activity's variant.
    cohorts: bool,
}

impl Parts {
    fn any(self) -> bool {
        self.repeat || self.cohorts
    }
}

/// Where a per-id rollup's activity comes from. Every query yields ids in ascending
/// (binary) order, so one pass merges activity with signups without holding either.
struct Activity {
    variant: &'static str,
    /// Temp table of the ids an import touched.
    ids_table: &'static str,
    /// Adds the ids whose activity on day ?1 differs between the raw rows (as they are
    /// now) and the rollup (as it was before the refresh): appending an order touches its
    /// customer only, not everyone who ordered that day. Any superset would be correct,
    /// since an unchanged id adds the same before and after.
    ids_of_day: &'static str,
    /// Every id's active days: (id, day, orders, revenue in cents), by id then day.
    of_all: &'static str,
    /// The same for the ids in `ids_table`.
    of_touched: &'static str,
}

const ORDER_ACTIVITY: Activity = Activity {
    variant: "orders",
    ids_table: "ru_touched_customers",
    ids_of_day: "WITH now AS (SELECT customer_id, COUNT(*) AS n, SUM(revenue) AS r FROM orders
                              WHERE order_date = ?1 AND status = 'completed'
                              GROUP BY customer_id),
                      was AS (SELECT customer_id, SUM(orders) AS n, SUM(revenue) AS r
                              FROM ru_order_customers_day WHERE day = ?1 GROUP BY customer_id)
                 INSERT OR IGNORE INTO temp.ru_touched_customers (id)
                 SELECT customer_id FROM (SELECT * FROM now EXCEPT SELECT * FROM was)
                 UNION SELECT customer_id FROM (SELECT * FROM was EXCEPT SELECT * FROM now)",
    of_all: "SELECT customer_id, day, SUM(orders), SUM(revenue) FROM ru_order_customers_day
             GROUP BY customer_id, day ORDER BY customer_id, day",
    of_touched: "SELECT customer_id, day, SUM(orders), SUM(revenue) FROM ru_order_customers_day
                 WHERE customer_id IN (SELECT id FROM temp.ru_touched_customers)
                 GROUP BY customer_id, day ORDER BY customer_id, day",
};

const EVENT_ACTIVITY: Activity = Activity {
    variant: "events",
    ids_table: "ru_touched_users",
    ids_of_day: "WITH now AS (SELECT DISTINCT user_id FROM events WHERE day = ?1),
                      was AS (SELECT user_id FROM ru_event_users_day WHERE day = ?1)
                 INSERT OR IGNORE INTO temp.ru_touched_users (id)
                 SELECT user_id FROM (SELECT * FROM now EXCEPT SELECT * FROM was)
                 UNION SELECT user_id FROM (SELECT * FROM was EXCEPT SELECT * FROM now)",
    of_all: "SELECT user_id, day, 1, 0 FROM ru_event_users_day ORDER BY user_id, day",
    of_touched: "SELECT user_id, day, 1, 0 FROM ru_event_users_day
                 WHERE user_id IN (SELECT id FROM temp.ru_touched_users) ORDER BY user_id, day",
};

/// Whether `days` hold every day the rollup had rows for `table` before this refresh:
/// then every id is touched, and a rebuild reads half what maintenance would.
fn covers_every_day(
    conn: &Connection,
    table: &str,
    days: &BTreeSet<NaiveDate>,
) -> rusqlite::Result<bool> {
    if days.is_empty() {
        return Ok(false);
    }
    let mut stmt = conn.prepare_cached("SELECT day FROM ru_table_days WHERE tbl = ?1")?;
    let known = stmt.query_map([table], |r| r.get::<_, String>(0))?;
    for day in known {
        if !parse_day(&day?).is_some_and(|d| days.contains(&d)) {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Fills the activity's temp table with the ids active on `days`, before the refresh.
fn select_ids(
    conn: &Connection,
    activity: &Activity,
    days: &BTreeSet<NaiveDate>,
) -> rusqlite::Result<()> {
    conn.execute(
        &format!(
            "CREATE TEMP TABLE IF NOT EXISTS {} (id TEXT PRIMARY KEY NOT NULL) WITHOUT ROWID",
            activity.ids_table
        ),
        [],
    )?;
    conn.execute(&format!("DELETE FROM temp.{}", activity.ids_table), [])?;
    let mut insert = conn.prepare_cached(activity.ids_of_day)?;
    for day in days {
        insert.execute([day.to_string()])?;
    }
    Ok(())
}

/// Sums of per-id contributions, signed, to be added to the rollup tables.
#[derive(Debug, Default)]
struct Contributions {
    repeat: BTreeMap<NaiveDate, (i64, i64)>,
    gaps: HashMap<(NaiveDate, NaiveDate), i64>,
    /// (variant, cohort, month) → (customers, revenue).
    cohorts: HashMap<(&'static str, String, String), (i64, i64)>,
}

/// Adds `sign` × the contributions of the ids in `scope`, as their activity stands in
/// the rollups now, to `sums`: one query for the activity, one for the signup months.
fn contribute(
    conn: &Connection,
    activity: &Activity,
    scope: Scope,
    parts: Parts,
    sign: i64,
    sums: &mut Contributions,
) -> rusqlite::Result<()> {
    if !parts.any() {
        return Ok(());
    }
    let (activity_sql, signups_sql) = match scope {
        Scope::All => (
            activity.of_all,
            "SELECT customer_id, substr(signup_date, 1, 7) FROM customers ORDER BY customer_id"
                .to_string(),
        ),
        Scope::Touched => (
            activity.of_touched,
            format!(
                "SELECT customer_id, substr(signup_date, 1, 7) FROM customers
                 WHERE customer_id IN (SELECT id FROM temp.{}) ORDER BY customer_id",
                activity.ids_table
            ),
        ),
    };
    let mut signups_stmt = conn.prepare_cached(&signups_sql)?;
    let mut signups = if parts.cohorts {
        Some(signups_stmt.query([])?)
    } else {
        None
    };
    let mut next_signup: Option<(String, String)> = None;
    let mut signup_of = |id: &str| -> rusqlite::Result<Option<String>> {
        let Some(rows) = signups.as_mut() else {
            return Ok(None);
        };
        loop {
            match &next_signup {
                Some((sid, month)) if sid.as_str() == id => return Ok(Some(month.clone())),
                Some((sid, _)) if sid.as_str() > id => return Ok(None),
                _ => {}
            }
            match rows.next()? {
                Some(row) => next_signup = Some((row.get(0)?, row.get(1)?)),
                None => return Ok(None),
            }
        }
    };
    let mut add = |id: &str, days: &[(NaiveDate, i64, i64)]| -> rusqlite::Result<()> {
        if days.is_empty() {
            return Ok(());
        }
        if parts.repeat {
            let orders: Vec<(NaiveDate, i64)> = days.iter().map(|&(d, n, _)| (d, n)).collect();
            for (day, ge1, ge2) in crate::metrics::repeat_deltas(&orders) {
                let e = sums.repeat.entry(day).or_default();
                e.0 += ge1 * sign;
                e.1 += ge2 * sign;
            }
            for pair in gaps(&orders) {
                *sums.gaps.entry(pair).or_default() += sign;
            }
        }
        if parts.cohorts {
            let signup = signup_of(id)?;
            for (cohort, month, n, revenue) in cohort_cells_of(signup.as_deref(), days) {
                let e = sums
                    .cohorts
                    .entry((activity.variant, cohort, month))
                    .or_default();
                e.0 += n * sign;
                e.1 += revenue * sign;
            }
        }
        Ok(())
    };
    let mut stmt = conn.prepare_cached(activity_sql)?;
    let mut rows = stmt.query([])?;
    let mut current = String::new();
    let mut days: Vec<(NaiveDate, i64, i64)> = Vec::new();
    while let Some(row) = rows.next()? {
        let id = row.get_ref(0)?.as_str()?;
        if id != current {
            add(&current, &days)?;
            days.clear();
            current = id.to_string();
        }
        if let Some(day) = parse_day(row.get_ref(1)?.as_str()?) {
            days.push((day, row.get(2)?, row.get(3)?));
        }
    }
    add(&current, &days)
}

/// Adds the non-zero sums to the rollup tables, dropping rows they bring to zero (a
/// rebuild never holds such rows).
fn write(conn: &Connection, sums: &Contributions) -> rusqlite::Result<()> {
    let mut add_repeat = conn.prepare_cached(
        "INSERT INTO ru_repeat_delta (day, ge1, ge2) VALUES (?1, ?2, ?3)
         ON CONFLICT (day) DO UPDATE SET ge1 = ge1 + excluded.ge1, ge2 = ge2 + excluded.ge2",
    )?;
    let mut drop_repeat =
        conn.prepare_cached("DELETE FROM ru_repeat_delta WHERE day = ?1 AND ge1 = 0 AND ge2 = 0")?;
    for (day, &(ge1, ge2)) in &sums.repeat {
        if ge1 != 0 || ge2 != 0 {
            let day = day.to_string();
            add_repeat.execute(params![day, ge1, ge2])?;
            drop_repeat.execute([day])?;
        }
    }
    let mut add_gap = conn.prepare_cached(
        "INSERT INTO ru_order_gaps (day, next_day, customers) VALUES (?1, ?2, ?3)
         ON CONFLICT (day, next_day) DO UPDATE SET customers = customers + excluded.customers",
    )?;
    let mut drop_gap = conn.prepare_cached(
        "DELETE FROM ru_order_gaps WHERE day = ?1 AND next_day = ?2 AND customers = 0",
    )?;
    for ((day, next), &n) in &sums.gaps {
        if n != 0 {
            let (day, next) = (day.to_string(), next.to_string());
            add_gap.execute(params![day, next, n])?;
            if n < 0 {
                drop_gap.execute(params![day, next])?;
            }
        }
    }
    let mut add_cell = conn.prepare_cached(
        "INSERT INTO ru_cohort_cells (variant, cohort, month, customers, revenue)
         VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (variant, cohort, month) DO UPDATE SET
             customers = customers + excluded.customers, revenue = revenue + excluded.revenue",
    )?;
    let mut drop_cell = conn.prepare_cached(
        "DELETE FROM ru_cohort_cells WHERE variant = ?1 AND cohort = ?2 AND month = ?3
         AND customers = 0 AND revenue = 0",
    )?;
    for ((variant, cohort, month), &(n, revenue)) in &sums.cohorts {
        if n != 0 || revenue != 0 {
            add_cell.execute(params![variant, cohort, month, n, revenue])?;
            if n < 0 || revenue < 0 {
                drop_cell.execute(params![variant, cohort, month])?;
            }
        }
    }
    Ok(())
}

/// Rebuilds the given per-id rollups of `activity` from all its ids.
fn rebuild(conn: &Connection, activity: &Activity, parts: Parts) -> rusqlite::Result<()> {
    if !parts.any() {
        return Ok(());
    }
    if parts.repeat {
        conn.execute("DELETE FROM ru_repeat_delta", [])?;
        conn.execute("DELETE FROM ru_order_gaps", [])?;
    }
    if parts.cohorts {
        conn.execute(
            "DELETE FROM ru_cohort_cells WHERE variant = ?1",
            [activity.variant],
        )?;
    }
    let mut sums = Contributions::default();
    contribute(conn, activity, Scope::All, parts, 1, &mut sums)?;
    write(conn, &sums)
}

/// One id's cohort cells: (cohort, month or '' for the size row, customers, revenue).
fn cohort_cells_of(
    signup_month: Option<&str>,
    days: &[(NaiveDate, i64, i64)],
) -> Vec<(String, String, i64, i64)> {
    let Some(first) = days.first() else {
        return Vec::new();
    };
    let month_of = |day: NaiveDate| day.format("%Y-%m").to_string();
    let cohort = signup_month.map_or_else(|| month_of(first.0), str::to_string);
    let mut months: BTreeMap<String, i64> = BTreeMap::new();
    for &(day, _, revenue) in days {
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

/// A customer's (order day, next order day) pairs; the last pairs with [`NO_NEXT_ORDER`].
fn gaps(days: &[(NaiveDate, i64)]) -> Vec<(NaiveDate, NaiveDate)> {
    let days: Vec<NaiveDate> = days
        .iter()
        .filter(|(_, n)| *n > 0)
        .map(|(d, _)| *d)
        .collect();
    let last = NaiveDate::from_ymd_opt(9999, 12, 31).unwrap_or(NaiveDate::MAX);
    days.iter()
        .enumerate()
        .map(|(i, d)| (*d, days.get(i + 1).copied().unwrap_or(last)))
        .collect()
}

/// `ru_order_gaps.next_day` of a customer's latest order.
pub const NO_NEXT_ORDER: &str = "9999-12-31";

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

#[cfg(test)]
mod maintenance_tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        parse_day(s).unwrap()
    }

    fn dump(store: &Store) -> Vec<String> {
        let mut out = Vec::new();
        for table in ROLLUP_TABLES {
            let mut stmt = store
                .conn()
                .prepare(&format!("SELECT * FROM {table} ORDER BY 1, 2, 3"))
                .unwrap();
            let columns = stmt.column_count();
            let rows = stmt
                .query_map([], |r| {
                    let cells: Vec<String> = (0..columns)
                        .map(|i| format!("{:?}", r.get::<_, rusqlite::types::Value>(i).unwrap()))
                        .collect();
                    Ok(format!("{table}: {}", cells.join(" | ")))
                })
                .unwrap();
            // Distinct counts of zero stay where an incremental refresh emptied a period.
            out.extend(
                rows.map(Result::unwrap).filter(|row| {
                    !(row.starts_with("ru_distinct") && row.ends_with("| Integer(0)"))
                }),
            );
        }
        out
    }

    fn order(store: &Store, id: &str, customer: &str, day: &str, cents: i64) {
        store
            .conn()
            .execute(
                "INSERT OR REPLACE INTO orders (order_id, customer_id, order_date, revenue)
                 VALUES (?1, ?2, ?3, ?4)",
                params![id, customer, day, cents],
            )
            .unwrap();
    }

    fn event(store: &Store, key: &str, user: &str, day: &str) {
        store
            .conn()
            .execute(
                "INSERT OR REPLACE INTO events (event_key, user_id, ts, day, name)
                 VALUES (?1, ?2, ?3 || 'T12:00:00Z', ?3, 'login')",
                params![key, user, day],
            )
            .unwrap();
    }

    fn refreshed(store: &mut Store, orders: &[&str], events: &[&str]) {
        let mut touched = Touched::default();
        orders.iter().for_each(|day| touched.add("orders", d(day)));
        events.iter().for_each(|day| touched.add("events", d(day)));
        refresh_touched(store, &touched).unwrap();
    }

    /// The rollups after `refreshed` imports, and after a rebuild from the raw rows.
    fn incremental_and_rebuilt(mut store: Store) -> (Vec<String>, Vec<String>) {
        let incremental = dump(&store);
        refresh_all(&mut store).unwrap();
        (incremental, dump(&store))
    }

    fn history() -> Store {
        let mut store = Store::open_in_memory().unwrap();
        order(&store, "o1", "c1", "2025-01-10", 500);
        order(&store, "o2", "c1", "2025-03-02", 700);
        order(&store, "o3", "c2", "2025-03-02", 300);
        event(&store, "e1", "c1", "2025-01-10");
        event(&store, "e2", "c2", "2025-03-02");
        refreshed(
            &mut store,
            &["2025-01-10", "2025-03-02"],
            &["2025-01-10", "2025-03-02"],
        );
        store
    }

    #[test]
    fn an_order_moved_to_another_customer_on_the_same_day_touches_both() {
        let mut store = history();
        // Same day, same amount: only the customer changes, so only the diff finds c1.
        order(&store, "o2", "c2", "2025-03-02", 700);
        event(&store, "e2", "c3", "2025-03-02");
        refreshed(&mut store, &["2025-03-02"], &["2025-03-02"]);
        let (incremental, rebuilt) = incremental_and_rebuilt(store);
        assert!(
            incremental.iter().any(|r| r.contains("ru_order_gaps")
                && r.contains("\"2025-01-10\"")
                && r.contains("\"9999-12-31\"")),
            "c1's last order is now 2025-01-10: {incremental:?}"
        );
        assert_eq!(incremental, rebuilt);
    }

    #[test]
    fn a_refresh_touching_every_day_rebuilds_a_filled_store() {
        let mut store = history();
        order(&store, "o1", "c3", "2025-03-02", 400);
        order(&store, "o4", "c1", "2025-04-20", 900);
        event(&store, "e1", "c1", "2025-04-20");
        refreshed(
            &mut store,
            &["2025-01-10", "2025-03-02", "2025-04-20"],
            &["2025-01-10", "2025-04-20"],
        );
        let (incremental, rebuilt) = incremental_and_rebuilt(store);
        assert!(
            !incremental.iter().any(|r| r.contains("\"2025-01-10\"")),
            "nothing is left on the emptied day: {incremental:?}"
        );
        assert_eq!(incremental, rebuilt);
    }
}
