//! Rollups: per-day (and per-day-per-id) aggregates maintained by every import, so the
//! metrics read small tables instead of scanning raw rows.
//!
//! - [`days`]: each row a pure function of one day's raw rows, or of one id's rows of a
//!   day; a refresh deletes and aggregates again the days (or the ids of a day) an import
//!   wrote, so it is idempotent and the same statements serve a rebuild.
//! - [`per_id`]: repeat purchases, order gaps and cohort cells, sums of per-id
//!   contributions maintained by the touched ids' change.
//! - [`distinct`]: distinct ids per period and trailing window (`ru_distinct`), which
//!   cannot be summed from days.
//! - [`first_events`]: each user's first event per name (`ru_first_event`), lowered by
//!   what an import wrote and counted again where the row that made it was replaced.

mod counts;
mod day_scan;
mod days;
mod distinct;
pub(crate) mod first_events;
mod interner;
mod per_id;
mod segments;
pub(super) mod signups;
pub mod subscriptions;
mod touched;

use std::collections::BTreeSet;

use chrono::NaiveDate;
use rusqlite::{Connection, Transaction};

pub use days::TABLE_DAYS;
use per_id::{Activity, Contributions, Parts, Scope};
pub use segments::{DIMENSIONS, SEGMENT_TABLES};
pub use signups::SIGNUP_COLUMNS;
pub use touched::Touched;

use super::Store;
use crate::dates::parse_day;

/// The schema version since which the rollups are computed as now: a store from before
/// gets them rebuilt on open (version 2 introduced them; version 5 counts an order of
/// 29 February in the repeat-purchase windows ending on the next 28 February).
pub const ROLLUPS_CURRENT_SINCE: u32 = 5;

/// The schema version that adds the rollups per segment: a store from before gets them
/// counted on open from its other rollups, which stay as they are.
pub const SEGMENT_ROLLUPS_SINCE: u32 = 9;

/// The schema version that adds the adopters per feature (`ru_feature_distinct`): a store
/// from before gets them counted on open from `ru_feature_users_day`.
pub const FEATURE_ADOPTERS_SINCE: u32 = 11;

/// The schema version that adds the subscription book per segment
/// (`subscriptions::SUBSCRIPTION_TABLES`): a store from before gets it counted on open.
pub const SUBSCRIPTION_ROLLUPS_SINCE: u32 = 12;

/// The schema version that adds each user's first event per name (`ru_first_event`): a
/// store from before gets it counted on open from the events.
pub const FIRST_EVENTS_SINCE: u32 = 13;

/// `ru_order_gaps.next_day` of a customer's latest order.
pub const NO_NEXT_ORDER: &str = "9999-12-31";

/// Trailing windows counted per day, in days (`active_7d`: WAU at day grain; `active_30d`:
/// MAU at day and week grain).
pub(super) const WINDOWS: [(&str, i64); 2] = [("active_7d", 7), ("active_30d", 30)];

const ORDERS: Activity = Activity {
    table: "orders",
    day_column: "order_date",
    rollup: "ru_order_customers_day",
    id: "customer_id",
    values: "SUM(orders), SUM(revenue)",
    ids_table: "ru_touched_customers",
    pairs_table: "ru_touched_customer_days",
    distinct_prefix: "paying",
    windows: &[],
    repeats: true,
    firsts: false,
    rebuild_days: days::rebuild_orders,
    refresh_ids: days::refresh_order_ids,
};

const EVENTS: Activity = Activity {
    table: "events",
    day_column: "day",
    rollup: "ru_event_users_day",
    id: "user_id",
    values: "1, 0",
    ids_table: "ru_touched_users",
    pairs_table: "ru_touched_user_days",
    distinct_prefix: "active",
    windows: &WINDOWS,
    repeats: false,
    firsts: true,
    rebuild_days: days::rebuild_events,
    refresh_ids: days::refresh_event_ids,
};

/// Refreshes the rollups of what an import wrote, inside its transaction.
/// Tables without rollups (subscriptions, surveys, …) are read directly.
pub fn refresh(tx: &Connection, touched: &Touched) -> rusqlite::Result<()> {
    refresh_in_steps(tx, touched, &mut |_, _, _| {})
}

/// A step of a refresh, as `(what, steps done, steps)`.
pub type Step<'s> = dyn FnMut(&str, usize, usize) + 's;

/// [`refresh`], calling `step` before each of its parts.
fn refresh_in_steps(
    tx: &Connection,
    touched: &Touched,
    step: &mut Step<'_>,
) -> rusqlite::Result<()> {
    const STEPS: usize = 6;
    // Signup months decide cohorts: a customers import re-sorts everyone's.
    let signups_changed = touched.touches("customers");
    let mut refund_days = touched.of("refunds");
    refund_days.extend(refund_days_of_orders_on(tx, &touched.of("orders"))?);
    // Whether each activity kept its segment rows as it went.
    let mut segments_kept = [false; 2];
    let activities = [
        (&ORDERS, &segments::ORDER_SEGMENTS),
        (&EVENTS, &segments::EVENT_SEGMENTS),
    ];
    for (i, (activity, segments)) in activities.into_iter().enumerate() {
        step(activity.table, i, STEPS);
        segments_kept[i] = refresh_activity(tx, activity, segments, touched, signups_changed)?;
    }
    step("refunds", 2, STEPS);
    for (from, to) in ranges(&refund_days, 1) {
        days::refresh_refunds(tx, from, to)?;
    }
    step("customers", 3, STEPS);
    for (from, to) in ranges(&touched.of("customers"), 1) {
        days::refresh_table_days(tx, "customers", "signup_date", from, to)?;
        signups::refresh_days(tx, from, to)?;
    }
    if recounts_the_book(touched) {
        subscriptions::recount(tx)?;
    }
    step("feature adopters", 4, STEPS);
    distinct::recount_adopters(tx, &touched.of("events"))?;
    step("segments", 5, STEPS);
    if touched.touches("customers") {
        // A customer may have moved to another segment with its whole order history.
        segments::rebuild_repeats(tx)?;
    }
    let [orders_kept, events_kept] = segments_kept;
    let order_days = touched.of("orders");
    refresh_segments(
        tx,
        &segments::ORDER_SEGMENTS,
        order_days,
        refund_days,
        touched,
        orders_kept,
    )?;
    let no_refunds = BTreeSet::new();
    refresh_segments(
        tx,
        &segments::EVENT_SEGMENTS,
        touched.of("events"),
        no_refunds,
        touched,
        events_kept,
    )
}

/// Brings the segment rollups up to date with what was written: where the activity kept
/// them as it went (`kept`), only the refunds of `refund_days` are recounted; otherwise
/// the days written, the refund days and, after a customers import, every day of the
/// customers it wrote (all days when it wrote too many to name) are recounted.
fn refresh_segments(
    tx: &Connection,
    activity: &segments::SegmentActivity,
    mut days: BTreeSet<NaiveDate>,
    refund_days: BTreeSet<NaiveDate>,
    touched: &Touched,
    kept: bool,
) -> rusqlite::Result<()> {
    if kept && !touched.touches("customers") {
        return segments::recount_refunds(tx, &refund_days);
    }
    days.extend(refund_days);
    if touched.touches("customers") {
        match touched.signups_before() {
            Some(written) => {
                days.extend(segments::days_of_customers(tx, activity, written.keys())?)
            }
            None => days.extend(segments::every_day(tx, activity)?),
        }
    }
    segments::recount(tx, activity, &days)
}

/// Counts the adopters of every period holding a day of `ru_feature_users_day`, overall
/// and per feature (a store from before `FEATURE_ADOPTERS_SINCE`).
pub(crate) fn recount_adopters(conn: &Connection) -> rusqlite::Result<()> {
    let (first, last): (Option<String>, Option<String>) = conn.query_row(
        "SELECT MIN(day), MAX(day) FROM ru_feature_users_day",
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    let days = match (
        first.as_deref().and_then(parse_day),
        last.as_deref().and_then(parse_day),
    ) {
        (Some(first), Some(last)) => days_between(first, last),
        _ => return Ok(()),
    };
    distinct::recount_adopters(conn, &days)
}

/// Recounts every segment rollup from the per-day rollups (after they were replaced
/// wholesale, as a sync does), and the subscription book per segment from the
/// subscriptions and customers.
pub(crate) fn recount_segments(conn: &Connection) -> rusqlite::Result<()> {
    for table in SEGMENT_TABLES {
        conn.execute(&format!("DELETE FROM {table}"), [])?;
    }
    for activity in [&segments::ORDER_SEGMENTS, &segments::EVENT_SEGMENTS] {
        let days = segments::every_day(conn, activity)?;
        segments::recount(conn, activity, &days)?;
    }
    segments::rebuild_repeats(conn)?;
    subscriptions::recount(conn)
}

/// The refund days of the orders of `order_days`: a re-imported order may change the
/// channel or customer of its refunds.
fn refund_days_of_orders_on(
    conn: &Connection,
    order_days: &BTreeSet<NaiveDate>,
) -> rusqlite::Result<BTreeSet<NaiveDate>> {
    let mut stmt = conn.prepare_cached(
        "SELECT DISTINCT r.refund_date FROM refunds r JOIN orders o ON o.order_id = r.order_id
         WHERE o.order_date = ?1",
    )?;
    let mut out = BTreeSet::new();
    for day in order_days {
        for refund_day in stmt.query_map([day.to_string()], |r| r.get::<_, String>(0))? {
            out.extend(parse_day(&refund_day?));
        }
    }
    Ok(out)
}

/// The rollups before a sync of changed exports replaced some days' day rollups: the
/// first and last day of the orders' and the events' (what the distinct counts of a
/// rebuild cover), and the refunds' rows, kept in a temp table to find the refund days
/// that changed. See [`derive_after_changed_days`].
pub(crate) struct BeforeChangedDays {
    spans: [Option<(NaiveDate, NaiveDate)>; 2],
}

/// Notes what [`derive_after_changed_days`] compares with, before the day rollups change.
pub(crate) fn before_changed_days(conn: &Connection) -> rusqlite::Result<BeforeChangedDays> {
    conn.execute_batch(
        "DROP TABLE IF EXISTS temp.ru_refunds_day_before;
         CREATE TEMP TABLE ru_refunds_day_before AS SELECT * FROM main.ru_refunds_day;",
    )?;
    Ok(BeforeChangedDays {
        spans: [
            span_of_table(conn, ORDERS.table)?,
            span_of_table(conn, EVENTS.table)?,
        ],
    })
}

/// Brings what a full rebuild derives from the day rollups up to date after a sync
/// replaced the day rollups of `orders_days` and `events_days` only
/// (`rollup_plan::RollupReplace::begin_days`), from the store's rollups alone: no export
/// is read again. Repeat purchases, order gaps and cohort cells of an activity with a
/// changed day are counted again from every id's days (one pass over the per-id
/// rollups); the distinct counts, the adopters and the segments only for the periods and
/// windows holding a changed day (and the days an activity's span grew by, whose
/// distinct counts a rebuild writes as zero), or for every day when the span shrank.
pub(crate) fn derive_after_changed_days(
    conn: &Connection,
    before: &BeforeChangedDays,
    orders_days: &BTreeSet<NaiveDate>,
    events_days: &BTreeSet<NaiveDate>,
) -> rusqlite::Result<()> {
    let refund_days = changed_refund_days(conn)?;
    let activities = [
        (&ORDERS, &segments::ORDER_SEGMENTS, orders_days),
        (&EVENTS, &segments::EVENT_SEGMENTS, events_days),
    ];
    for (i, (activity, segment_activity, changed)) in activities.into_iter().enumerate() {
        if !changed.is_empty() {
            // With the customers unchanged, an activity none of whose days changed keeps
            // its repeat purchases, gaps and cohorts.
            let parts = Parts {
                repeat: activity.repeats,
                cohorts: true,
                distinct: false,
            };
            per_id::rebuild(conn, activity, parts)?;
        }
        let distinct_days = match (before.spans[i], span_of_table(conn, activity.table)?) {
            (Some((first, last)), Some((new_first, new_last)))
                if new_first <= first && new_last >= last =>
            {
                let mut days = changed.clone();
                days.extend(days_between(new_first, first));
                days.extend(days_between(last, new_last));
                days
            }
            (_, span) => {
                // A span that shrank (or went) leaves counts a rebuild does not write.
                forget_distinct(conn, activity)?;
                span.map_or_else(BTreeSet::new, |(first, last)| days_between(first, last))
            }
        };
        if !distinct_days.is_empty() {
            recount_distinct(conn, activity, &distinct_days)?;
            if activity.firsts {
                distinct::recount_adopters(conn, &distinct_days)?;
            }
        }
        let mut segment_days = changed.clone();
        if activity.repeats {
            segment_days.extend(&refund_days);
        }
        segments::recount(conn, segment_activity, &segment_days)?;
        if activity.repeats && !changed.is_empty() {
            segments::rebuild_repeats(conn)?;
        }
    }
    conn.execute_batch("DROP TABLE IF EXISTS temp.ru_refunds_day_before;")
}

/// Deletes the distinct counts of `activity` (and of the adopters, for the events).
fn forget_distinct(conn: &Connection, activity: &Activity) -> rusqlite::Result<()> {
    conn.execute(
        "DELETE FROM ru_distinct WHERE substr(kind, 1, length(?1) + 1) = ?1 || '_'",
        [activity.distinct_prefix],
    )?;
    if activity.firsts {
        conn.execute_batch(
            "DELETE FROM ru_distinct WHERE substr(kind, 1, 9) = 'adopters_';
             DELETE FROM ru_feature_distinct;",
        )?;
    }
    Ok(())
}

/// The days whose refund rows differ from those kept by [`before_changed_days`].
fn changed_refund_days(conn: &Connection) -> rusqlite::Result<BTreeSet<NaiveDate>> {
    let mut stmt = conn.prepare(
        "SELECT day FROM (SELECT * FROM main.ru_refunds_day
                          EXCEPT SELECT * FROM temp.ru_refunds_day_before)
         UNION SELECT day FROM (SELECT * FROM temp.ru_refunds_day_before
                                EXCEPT SELECT * FROM main.ru_refunds_day)",
    )?;
    let days = stmt.query_map([], |r| r.get::<_, String>(0))?;
    let mut out = BTreeSet::new();
    for day in days {
        out.extend(parse_day(&day?));
    }
    Ok(out)
}

/// The first and last day `ru_table_days` holds rows of `table` on.
fn span_of_table(
    conn: &Connection,
    table: &str,
) -> rusqlite::Result<Option<(NaiveDate, NaiveDate)>> {
    let (first, last): (Option<String>, Option<String>) = conn.query_row(
        "SELECT MIN(day), MAX(day) FROM ru_table_days WHERE tbl = ?1",
        [table],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    Ok(first
        .as_deref()
        .and_then(parse_day)
        .zip(last.as_deref().and_then(parse_day)))
}

/// Refreshes the day rollups and the per-id rollups of one activity; whether it kept its
/// segment rows too (by the touched ids' contributions), which a customers import
/// (segments may move) or a rewrite of every day leaves to a recount.
fn refresh_activity(
    tx: &Connection,
    activity: &Activity,
    segments: &segments::SegmentActivity,
    touched: &Touched,
    signups_changed: bool,
) -> rusqlite::Result<bool> {
    let days = touched.of(activity.table);
    let cohorts = Parts {
        cohorts: true,
        ..Parts::default()
    };
    if days.is_empty() {
        match touched.signups_before() {
            Some(before) => per_id::move_cohorts(tx, activity, before)?,
            None if signups_changed => per_id::rebuild(tx, activity, cohorts)?,
            None => {}
        }
        return Ok(true);
    }
    if covers_every_day(tx, activity.table, &days)? {
        // Every id is touched: rewriting everything reads half what maintenance would.
        with_indexes_deferred(tx, activity.rollup, true, || {
            (activity.rebuild_days)(tx, &days)
        })?;
        let everything = Parts {
            repeat: activity.repeats,
            cohorts: true,
            distinct: false,
        };
        per_id::rebuild(tx, activity, everything)?;
        if activity.repeats {
            segments::rebuild_repeats(tx)?;
        }
        recount_distinct(tx, activity, &days)?;
        return Ok(false);
    }
    let parts = Parts {
        repeat: activity.repeats,
        cohorts: !signups_changed,
        distinct: true,
    };
    let scope = Scope::Touched {
        earliest: *days.first().unwrap_or(&NaiveDate::MIN),
        signups: None,
    };
    per_id::select_ids(tx, activity, touched, &days)?;
    let spans = distinct::Spans::of(activity.distinct_prefix, activity.windows, &days);
    let segment_spans =
        (!touched.touches("customers")).then(|| segments::spans_of(segments, &days));
    let mut sums = Contributions::default();
    let mut segment_repeats = segments::RepeatSums::default();
    let repeat_scope = segments::RepeatScope::Touched(&days);
    let mut segment_deltas = segments::Deltas::default();
    per_id::contribute(tx, activity, scope, parts, &spans, -1, &mut sums)?;
    if activity.repeats {
        segments::contribute_repeats(tx, repeat_scope, -1, &mut segment_repeats)?;
    }
    if let Some(segment_spans) = &segment_spans {
        segments::contribute(tx, segments, segment_spans, &days, -1, &mut segment_deltas)?;
    }
    for day in &days {
        (activity.refresh_ids)(tx, activity, *day)?;
    }
    per_id::contribute(tx, activity, scope, parts, &spans, 1, &mut sums)?;
    per_id::write(tx, activity, &spans, &sums)?;
    if activity.firsts {
        first_events::refresh(tx, activity.ids_table, activity.pairs_table)?;
    }
    if activity.repeats {
        segments::contribute_repeats(tx, repeat_scope, 1, &mut segment_repeats)?;
        segments::write_repeats(tx, &segment_repeats)?;
    }
    if let Some(segment_spans) = &segment_spans {
        segments::contribute(tx, segments, segment_spans, &days, 1, &mut segment_deltas)?;
        segments::write(tx, segments, segment_spans, &segment_deltas)?;
    }
    if signups_changed {
        per_id::rebuild(tx, activity, cohorts)?;
    }
    Ok(segment_spans.is_some())
}

/// Recounts the activity's `ru_distinct` rows of the periods and windows holding `days`.
fn recount_distinct(
    conn: &Connection,
    activity: &Activity,
    days: &BTreeSet<NaiveDate>,
) -> rusqlite::Result<()> {
    distinct::recount(
        conn,
        activity.distinct_prefix,
        activity.windows,
        activity.rollup,
        activity.id,
        days,
    )
}

/// [`refresh`] in a transaction of its own, for writers outside an import (tests, tools).
pub fn refresh_touched(store: &mut Store, touched: &Touched) -> rusqlite::Result<()> {
    let tx = store.conn_mut().transaction()?;
    refresh(&tx, touched)?;
    tx.commit()
}

/// Every rollup table.
pub const ROLLUP_TABLES: [&str; 15] = [
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
    "ru_signups_day",
    "ru_feature_distinct",
    "ru_first_event",
];

/// Rebuilds every rollup from the raw rows (for tests and benchmarks).
pub fn refresh_all(store: &mut Store) -> rusqlite::Result<()> {
    rebuild_all(store, &mut |_, _, _| {})
}

/// Rebuilds every rollup from the raw rows in one transaction (`kpi rebuild`), calling
/// `step` before each part.
pub fn rebuild_all(store: &mut Store, step: &mut Step<'_>) -> rusqlite::Result<()> {
    let tx = store
        .conn_mut()
        .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    rebuild_in_steps(&tx, step)?;
    tx.commit()
}

/// Rebuilds every rollup from the raw rows inside the caller's transaction, so that a
/// migration commits its schema version and the rollups it needs together.
pub(crate) fn rebuild(tx: &Transaction<'_>) -> rusqlite::Result<()> {
    rebuild_in_steps(tx, &mut |_, _, _| {})
}

fn rebuild_in_steps(tx: &Transaction<'_>, step: &mut Step<'_>) -> rusqlite::Result<()> {
    for table in ROLLUP_TABLES.iter().chain(&SEGMENT_TABLES) {
        tx.execute(&format!("DELETE FROM {table}"), [])?;
    }
    let mut touched = Touched::default();
    for (table, column) in TABLE_DAYS {
        let (first, last): (Option<String>, Option<String>) = tx.query_row(
            &format!("SELECT MIN({column}), MAX({column}) FROM {table}"),
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        if let (Some(first), Some(last)) = (
            first.as_deref().and_then(parse_day),
            last.as_deref().and_then(parse_day),
        ) {
            for day in days_between(first, last) {
                touched.add(table, day);
            }
        }
    }
    // With the rollups empty, every day is new: each activity is rewritten whole.
    refresh_in_steps(tx, &touched, step)?;
    // Also the customers whose signup text is no day, which no day range holds.
    signups::recount(tx)?;
    // Subscriptions have no day range here: counted unless the refresh just did.
    if !recounts_the_book(&touched) {
        subscriptions::recount(tx)?;
    }
    Ok(())
}

/// Whether a refresh of `touched` recounts the subscription book per segment: a
/// subscriptions import, or a customers import (a customer may have moved to another
/// segment with its whole book).
fn recounts_the_book(touched: &Touched) -> bool {
    touched.touches("subscriptions") || touched.touches("customers")
}

fn days_between(from: NaiveDate, to: NaiveDate) -> BTreeSet<NaiveDate> {
    from.iter_days().take_while(|d| *d <= to).collect()
}

/// Merges sorted days into inclusive ranges, joining days less than `gap` apart.
pub(crate) fn ranges(days: &BTreeSet<NaiveDate>, gap: i64) -> Vec<(NaiveDate, NaiveDate)> {
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

/// Every row of `tables`, ordered by all their columns, as `table: cell | cell …`, reals
/// rendered by `real` (to the bit, or rounded where sums may add in another order). For
/// tests comparing two ways of building the same rollups.
#[cfg(any(test, feature = "test-fixtures"))]
pub fn dump_tables(
    conn: &rusqlite::Connection,
    tables: &[&str],
    real: impl Fn(f64) -> String,
) -> rusqlite::Result<Vec<String>> {
    let mut out = Vec::new();
    for table in tables {
        let columns = conn
            .prepare(&format!("SELECT * FROM {table}"))?
            .column_count();
        let order: Vec<String> = (1..=columns).map(|i| i.to_string()).collect();
        let mut stmt = conn.prepare(&format!(
            "SELECT * FROM {table} ORDER BY {}",
            order.join(", ")
        ))?;
        let mut rows = stmt.query([])?;
        while let Some(row) = rows.next()? {
            let mut cells = Vec::with_capacity(columns);
            for i in 0..columns {
                cells.push(match row.get::<_, rusqlite::types::Value>(i)? {
                    rusqlite::types::Value::Real(x) => real(x),
                    other => format!("{other:?}"),
                });
            }
            out.push(format!("{table}: {}", cells.join(" | ")));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod maintenance_tests {
    use super::*;
    use rusqlite::params;

    fn d(s: &str) -> NaiveDate {
        parse_day(s).unwrap()
    }

    fn dump(store: &Store) -> Vec<String> {
        let tables: Vec<&str> = ROLLUP_TABLES
            .iter()
            .chain(&SEGMENT_TABLES)
            .copied()
            .collect();
        dump_tables(store.conn(), &tables, |x| format!("Real({x:?})"))
            .unwrap()
            .into_iter()
            // Distinct counts of zero stay where an incremental refresh emptied a period.
            .filter(|row| !(row.starts_with("ru_distinct") && row.ends_with("| Integer(0)")))
            .collect()
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
