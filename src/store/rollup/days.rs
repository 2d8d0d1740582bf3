//! The per-day rollups: each row a pure function of one day's raw rows (or of one id's
//! raw rows of one day), so refreshing means deleting the rows and aggregating again.

use std::collections::BTreeSet;

use chrono::NaiveDate;
use rusqlite::{Connection, params};

use super::day_scan::{self, Pass};
use super::first_events::{self, Firsts};
use super::per_id::Activity;

/// Tables whose rows per day (by the column given) are kept in `ru_table_days`, so the
/// Data pane and the cohort sizes count them without a scan.
pub const TABLE_DAYS: [(&str, &str); 4] = [
    ("customers", "signup_date"),
    ("orders", "order_date"),
    ("refunds", "refund_date"),
    ("events", "day"),
];

/// Rows per day of `table` (by `column`) from `from` to `to`, into `ru_table_days`.
pub fn refresh_table_days(
    conn: &Connection,
    table: &str,
    column: &str,
    from: NaiveDate,
    to: NaiveDate,
) -> rusqlite::Result<()> {
    let p = params![table, from.to_string(), to.to_string()];
    conn.prepare_cached("DELETE FROM ru_table_days WHERE tbl = ?1 AND day BETWEEN ?2 AND ?3")?
        .execute(p)?;
    conn.prepare_cached(&format!(
        "INSERT INTO ru_table_days (tbl, day, rows)
         SELECT ?1, {column}, COUNT(*) FROM {table}
         WHERE {column} BETWEEN ?2 AND ?3 GROUP BY {column}"
    ))?
    .execute(p)?;
    Ok(())
}

/// A filter for the rows dated ?1 (by `day_column`) of the ids the import touched that day.
fn touched_ids(day_column: &str, activity: &Activity) -> String {
    format!(
        "{day_column} = ?1 AND {} IN (SELECT id FROM temp.{} WHERE day = ?1)",
        activity.id, activity.pairs_table
    )
}

const ORDER_CUSTOMERS_SELECT: &str = "SELECT order_date, customer_id, COALESCE(channel, ''), \
    COUNT(*), SUM(revenue), COALESCE(SUM(discount), 0), COALESCE(SUM(cost), 0) FROM orders";
const ORDER_CUSTOMERS_GROUP: &str = "GROUP BY order_date, customer_id, COALESCE(channel, '')";

/// The order rollups of every day of `days` (a bulk load into an empty table, a rebuild),
/// from one read of the orders (see [`day_scan::orders_of_every_day`]).
pub fn rebuild_orders(conn: &Connection, days: &BTreeSet<NaiveDate>) -> rusqlite::Result<()> {
    let ranges = super::ranges(days, 1);
    for &(from, to) in &ranges {
        refresh_table_days(conn, "orders", "order_date", from, to)?;
        delete_days(conn, &["ru_order_customers_day", "ru_orders_day"], from, to)?;
    }
    if day_scan::orders_of_every_day(conn, days)? == Pass::NotModelled {
        for (from, to) in ranges {
            insert_orders_by_sql(conn, from, to)?;
        }
    }
    Ok(())
}

/// The SQL definition of what [`day_scan::orders`] writes, into emptied days.
pub(super) fn insert_orders_by_sql(
    conn: &Connection,
    from: NaiveDate,
    to: NaiveDate,
) -> rusqlite::Result<()> {
    let p = params![from.to_string(), to.to_string()];
    conn.execute(
        &format!(
            "INSERT INTO ru_order_customers_day
                 (day, customer_id, channel, orders, revenue, discount, cost)
             {ORDER_CUSTOMERS_SELECT}
             WHERE order_date BETWEEN ?1 AND ?2 AND status = 'completed' {ORDER_CUSTOMERS_GROUP}"
        ),
        p,
    )?;
    sum_orders_day(conn, from, to)
}

/// [`rebuild_orders`] of one day for the customers the import touched on it.
pub fn refresh_order_ids(
    conn: &Connection,
    activity: &Activity,
    day: NaiveDate,
) -> rusqlite::Result<()> {
    refresh_table_days(conn, "orders", "order_date", day, day)?;
    let d = day.to_string();
    conn.prepare_cached(&format!(
        "DELETE FROM ru_order_customers_day WHERE {}",
        touched_ids("day", activity)
    ))?
    .execute([&d])?;
    conn.prepare_cached(&format!(
        "INSERT INTO ru_order_customers_day
             (day, customer_id, channel, orders, revenue, discount, cost)
         {ORDER_CUSTOMERS_SELECT}
         WHERE {} AND status = 'completed' {ORDER_CUSTOMERS_GROUP}",
        touched_ids("order_date", activity)
    ))?
    .execute([&d])?;
    sum_orders_day(conn, day, day)
}

/// `ru_orders_day`, summed from the per-customer rollup rather than read again from the
/// raw rows.
fn sum_orders_day(conn: &Connection, from: NaiveDate, to: NaiveDate) -> rusqlite::Result<()> {
    let p = params![from.to_string(), to.to_string()];
    conn.prepare_cached("DELETE FROM ru_orders_day WHERE day BETWEEN ?1 AND ?2")?
        .execute(p)?;
    conn.prepare_cached(
        "INSERT INTO ru_orders_day (day, channel, orders, revenue, discount, cost)
         SELECT day, channel, SUM(orders), SUM(revenue), SUM(discount), SUM(cost)
         FROM ru_order_customers_day WHERE day BETWEEN ?1 AND ?2
         GROUP BY day, channel",
    )?
    .execute(p)?;
    Ok(())
}

pub fn refresh_refunds(conn: &Connection, from: NaiveDate, to: NaiveDate) -> rusqlite::Result<()> {
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

const EVENT_USERS_SELECT: &str =
    "SELECT day, user_id, COUNT(*), COUNT(DISTINCT session_id) FROM events";
const FEATURE_USERS_SELECT: &str =
    "SELECT DISTINCT day, COALESCE(feature, ''), user_id FROM events";

/// Empties the rows of `tables` dated `from..=to`.
fn delete_days(
    conn: &Connection,
    tables: &[&str],
    from: NaiveDate,
    to: NaiveDate,
) -> rusqlite::Result<()> {
    let p = params![from.to_string(), to.to_string()];
    for table in tables {
        conn.prepare_cached(&format!("DELETE FROM {table} WHERE day BETWEEN ?1 AND ?2"))?
            .execute(p)?;
    }
    Ok(())
}

const EVENT_TOTALS: [&str; 2] = ["ru_events_day", "ru_event_names_day"];
const EVENT_USERS: [&str; 2] = ["ru_event_users_day", "ru_feature_users_day"];

/// The event rollups of every day of `days` (a bulk load into an empty table, a rebuild),
/// from one read of the events (see [`day_scan::events_of_every_day`]), and
/// `ru_first_event` from the same read, or from its definition when that read could not
/// collect the firsts. (Written before the caller builds the indexes of the rollups again,
/// so that the memory of the firsts is free for that sort.)
pub fn rebuild_events(conn: &Connection, days: &BTreeSet<NaiveDate>) -> rusqlite::Result<()> {
    let ranges = super::ranges(days, 1);
    for &(from, to) in &ranges {
        refresh_table_days(conn, "events", "day", from, to)?;
        delete_days(conn, &EVENT_TOTALS, from, to)?;
        delete_days(conn, &EVENT_USERS, from, to)?;
    }
    let mut firsts = Firsts::default();
    if day_scan::events_of_every_day(conn, days, &mut firsts)? == Pass::NotModelled {
        for (from, to) in ranges {
            insert_event_totals_by_sql(conn, from, to)?;
            insert_event_users_by_sql(conn, from, to)?;
        }
    }
    if firsts.given_up() {
        first_events::rebuild(conn)
    } else {
        first_events::write_collected(conn, firsts)
    }
}

/// The SQL definition of the per-user rows [`day_scan::events`] writes, into emptied days.
pub(super) fn insert_event_users_by_sql(
    conn: &Connection,
    from: NaiveDate,
    to: NaiveDate,
) -> rusqlite::Result<()> {
    let p = params![from.to_string(), to.to_string()];
    conn.execute(
        &format!(
            "INSERT INTO ru_event_users_day (day, user_id, events, sessions)
             {EVENT_USERS_SELECT} WHERE day BETWEEN ?1 AND ?2 GROUP BY day, user_id"
        ),
        p,
    )?;
    conn.execute(
        &format!(
            "INSERT INTO ru_feature_users_day (day, feature, user_id)
             {FEATURE_USERS_SELECT} WHERE day BETWEEN ?1 AND ?2 AND name = 'feature_used'"
        ),
        p,
    )?;
    Ok(())
}

/// [`rebuild_events`] of one day for the users the import touched on it; the day's totals
/// (events, sessions, page views, names) are aggregated whole.
pub fn refresh_event_ids(
    conn: &Connection,
    activity: &Activity,
    day: NaiveDate,
) -> rusqlite::Result<()> {
    refresh_event_totals(conn, day, day)?;
    let touched = touched_ids("day", activity);
    let d = day.to_string();
    for table in ["ru_event_users_day", "ru_feature_users_day"] {
        conn.prepare_cached(&format!("DELETE FROM {table} WHERE {touched}"))?
            .execute([&d])?;
    }
    conn.prepare_cached(&format!(
        "INSERT INTO ru_event_users_day (day, user_id, events, sessions)
         {EVENT_USERS_SELECT} WHERE {touched} GROUP BY day, user_id"
    ))?
    .execute([&d])?;
    conn.prepare_cached(&format!(
        "INSERT INTO ru_feature_users_day (day, feature, user_id)
         {FEATURE_USERS_SELECT} WHERE {touched} AND name = 'feature_used'"
    ))?
    .execute([&d])?;
    Ok(())
}

/// The day-level event rollups: rows per day, events, sessions and page views, names.
fn refresh_event_totals(conn: &Connection, from: NaiveDate, to: NaiveDate) -> rusqlite::Result<()> {
    refresh_table_days(conn, "events", "day", from, to)?;
    delete_days(conn, &EVENT_TOTALS, from, to)?;
    if day_scan::events(conn, from, to, false)? == Pass::Written {
        return Ok(());
    }
    insert_event_totals_by_sql(conn, from, to)
}

/// The SQL definition of the day totals [`day_scan::events`] writes, into emptied days.
pub(super) fn insert_event_totals_by_sql(
    conn: &Connection,
    from: NaiveDate,
    to: NaiveDate,
) -> rusqlite::Result<()> {
    let p = params![from.to_string(), to.to_string()];
    conn.prepare_cached(
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
    )?
    .execute(p)?;
    conn.prepare_cached(
        "INSERT INTO ru_event_names_day (day, name, events)
         SELECT day, name, COUNT(*) FROM events WHERE day BETWEEN ?1 AND ?2 GROUP BY day, name",
    )?
    .execute(p)?;
    Ok(())
}
