//! The whole-day rollups of a span of days in one pass over the raw rows in day order.
//!
//! The SQL definitions in `days.rs` aggregate each rollup with a GROUP BY of its own:
//! five sorts of every event (a `COUNT(DISTINCT …)` builds a temporary index per group)
//! and one of every order, most of a bulk import or a rebuild. Reading the rows once in
//! day order and aggregating a day at a time in hash maps gives the same rows with memory
//! bounded by one day. Sums follow SQLite's own arithmetic (integer sums that overflow
//! fail; real sums are compensated the way `SUM` compensates them, in the same row order),
//! so a pass and its SQL definition leave identical tables.
//!
//! A pass over a few days reads the rows through the day index. A pass over every day (a
//! bulk load into an empty table, a rebuild) reads the table in rowid order instead: a
//! bulk load of a time-ordered file leaves its rows in day order, and a sequential read
//! costs no index lookup per row (two thirds of the events pass through the index). The
//! events of a day are sorted by user in memory, which gives them in the order of the day
//! index (day, user, rowid) and so the same sums. A day whose rows do not come together
//! (or too many for memory) is read again through the index; a table mostly out of day
//! order is read through the index whole.
//!
//! A stored value outside what the importer writes (a text amount put there by hand with
//! a sqlite3 shell, say) is not second-guessed: the pass is undone and the caller runs
//! the SQL definition instead.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use chrono::NaiveDate;
use rusqlite::types::ValueRef;
use rusqlite::{Connection, Row, Statement, params};

use super::first_events::Firsts;
use crate::dates::parse_day;

/// Whether a pass wrote its rollups, or met a value it does not model and undid itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pass {
    Written,
    NotModelled,
}

const ORDER_COLUMNS: &str = "order_date, customer_id, channel, status, revenue, discount, cost";
const ORDER_TABLES: [&str; 2] = ["ru_order_customers_day", "ru_orders_day"];
/// The columns an events pass reads; `ts` last, read by a pass that collects firsts.
const EVENT_COLUMNS: &str = "day, user_id, session_id, name, feature, duration_s";
const EVENT_TABLES: [&str; 4] = [
    "ru_events_day",
    "ru_event_names_day",
    "ru_event_users_day",
    "ru_feature_users_day",
];

/// The events of one day the rowid-order pass holds at most to sort them by user; a day
/// with more is read through the index. About 100 bytes a row with its text and the
/// sort's scratch: 25 MB at most, beside the page cache and the firsts' map.
const MAX_DAY_ROWS: usize = if cfg!(test) { 1000 } else { 250_000 };

/// `ru_order_customers_day` and `ru_orders_day` of the days `from..=to`, whose rows the
/// caller has deleted.
#[cfg(test)]
pub fn orders(conn: &Connection, from: NaiveDate, to: NaiveDate) -> rusqlite::Result<Pass> {
    undone_unless_modelled(conn, |conn| orders_by_index(conn, from, to))
}

/// [`orders`] of every day of `days`, whose rows the caller has deleted, from one read of
/// the table in rowid order where its rows are in day order.
pub fn orders_of_every_day(
    conn: &Connection,
    days: &BTreeSet<NaiveDate>,
) -> rusqlite::Result<Pass> {
    undone_unless_modelled(conn, |conn| {
        let sequential = in_rowid_order(conn, "orders", "order_date", |conn| {
            let mut read = conn.prepare(&format!(
                "SELECT {ORDER_COLUMNS} FROM orders ORDER BY rowid"
            ))?;
            let mut pass = OrderPass::new(conn)?;
            let mut order = DayOrder::new(days);
            let mut rows = read.query([])?;
            while let Some(row) = rows.next()? {
                let ValueRef::Text(date) = row.get_ref(0)? else {
                    continue; // no day: in no day range (SQLite orders numbers before text)
                };
                match order.route(date) {
                    Route::Read | Route::NewDay => {}
                    Route::Skip => continue,
                    Route::GiveUp => return Ok(Sequential::GaveUp),
                }
                let Some(date) = text(row.get_ref(0)?) else {
                    return Ok(Sequential::GaveUp);
                };
                if pass.row(date, row)? == Pass::NotModelled {
                    return Ok(Sequential::NotModelled);
                }
            }
            Ok(match pass.finish()? {
                Pass::Written => Sequential::Read(order.dirty),
                Pass::NotModelled => Sequential::NotModelled,
            })
        })?;
        redo_by_index(conn, days, sequential, &ORDER_TABLES, |conn, from, to| {
            orders_by_index(conn, from, to)
        })
    })
}

#[cfg(test)]
thread_local! {
    /// The days the last read in rowid order left to the index (`None`: it gave up).
    static LEFT_TO_INDEX: std::cell::RefCell<Option<Vec<String>>> =
        const { std::cell::RefCell::new(None) };
}

/// What a read in rowid order did.
enum Sequential {
    /// Wrote every day but these, whose rows were not together (dates as stored).
    Read(BTreeSet<String>),
    /// Too much out of day order: undone, for the index to read every day.
    GaveUp,
    NotModelled,
}

/// Runs a read in rowid order inside a savepoint of its own, rolled back if it gave up;
/// not at all when the rows of `table` do not look in day order.
fn in_rowid_order(
    conn: &Connection,
    table: &str,
    day_column: &str,
    read: impl FnOnce(&Connection) -> rusqlite::Result<Sequential>,
) -> rusqlite::Result<Sequential> {
    if !looks_in_day_order(conn, table, day_column)? {
        return Ok(Sequential::GaveUp);
    }
    conn.execute_batch("SAVEPOINT day_scan_rowid")?;
    let outcome = read(conn);
    if matches!(outcome, Ok(Sequential::GaveUp) | Err(_)) {
        conn.execute_batch("ROLLBACK TO day_scan_rowid")?;
    }
    conn.execute_batch("RELEASE day_scan_rowid")?;
    outcome
}

/// The rows read to judge whether a table is in day order.
const SAMPLES: i128 = 256;

/// Whether the rows of `table` look in day order, by the days of [`SAMPLES`] rows spread
/// evenly over the rowids (a seek each): at most one in eight dated before a day sampled
/// earlier. A table whose days repeat in two runs (a second file covering the same days,
/// upserted after the first) shows it before half the table is read in vain.
fn looks_in_day_order(conn: &Connection, table: &str, day_column: &str) -> rusqlite::Result<bool> {
    let (first, last): (Option<i64>, Option<i64>) = conn.query_row(
        &format!("SELECT MIN(rowid), MAX(rowid) FROM {table}"),
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    let (Some(first), Some(last)) = (first, last) else {
        return Ok(true);
    };
    let mut at = conn.prepare_cached(&format!(
        "SELECT {day_column} FROM {table} WHERE rowid >= ?1 ORDER BY rowid LIMIT 1"
    ))?;
    let (mut latest, mut behind) = (Vec::new(), 0);
    for k in 0..SAMPLES {
        let rowid = i128::from(first) + (i128::from(last) - i128::from(first)) * k / SAMPLES;
        let mut rows = at.query([rowid as i64])?;
        let Some(row) = rows.next()? else { continue };
        let ValueRef::Text(day) = row.get_ref(0)? else {
            continue;
        };
        if day < latest.as_slice() {
            behind += 1;
        } else {
            latest.clear();
            latest.extend_from_slice(day);
        }
    }
    Ok(behind * 8 <= SAMPLES)
}

/// After a read in rowid order: the days it left (or every day, if it gave up) read
/// through the index, their rows of `tables` deleted first.
fn redo_by_index(
    conn: &Connection,
    days: &BTreeSet<NaiveDate>,
    sequential: Sequential,
    tables: &[&str],
    by_index: impl Fn(&Connection, NaiveDate, NaiveDate) -> rusqlite::Result<Pass>,
) -> rusqlite::Result<Pass> {
    #[cfg(test)]
    LEFT_TO_INDEX.with(|left| {
        *left.borrow_mut() = match &sequential {
            Sequential::Read(dirty) => Some(dirty.iter().cloned().collect()),
            _ => None,
        }
    });
    let (days, delete) = match sequential {
        Sequential::NotModelled => return Ok(Pass::NotModelled),
        Sequential::GaveUp => (days.clone(), false),
        Sequential::Read(dirty) => (dirty.iter().filter_map(|d| parse_day(d)).collect(), true),
    };
    for (from, to) in super::ranges(&days, 1) {
        if delete {
            for table in tables {
                conn.prepare_cached(&format!("DELETE FROM {table} WHERE day BETWEEN ?1 AND ?2"))?
                    .execute(params![from.to_string(), to.to_string()])?;
            }
        }
        if by_index(conn, from, to)? == Pass::NotModelled {
            return Ok(Pass::NotModelled);
        }
    }
    Ok(Pass::Written)
}

/// Where a row read in rowid order goes, by its stored day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Route {
    /// A row of the day being read.
    Read,
    /// The first row of a later day: the day before is complete.
    NewDay,
    /// A row of no day asked for, or of a day left to the index.
    Skip,
    /// Too much is out of day order (or a stored day of an odd shape among the days).
    GiveUp,
}

/// Follows the days of rows read in rowid order: a day is read as it comes while each
/// day's rows come together and later than the last day's; a day met again after
/// another is left to the index.
struct DayOrder {
    days: BTreeSet<String>,
    first: String,
    last: String,
    current: Vec<u8>,
    /// Whether the rows of `current` are being taken (not once it went to the index).
    reading: bool,
    dirty: BTreeSet<String>,
    seen: usize,
}

impl DayOrder {
    fn new(days: &BTreeSet<NaiveDate>) -> Self {
        let days: BTreeSet<String> = days.iter().map(NaiveDate::to_string).collect();
        Self {
            first: days.first().cloned().unwrap_or_default(),
            last: days.last().cloned().unwrap_or_default(),
            days,
            current: Vec::new(),
            reading: false,
            dirty: BTreeSet::new(),
            seen: 0,
        }
    }

    fn route(&mut self, date: &[u8]) -> Route {
        if date == self.current.as_slice() {
            return if self.reading {
                Route::Read
            } else {
                Route::Skip
            };
        }
        let asked = std::str::from_utf8(date)
            .ok()
            .filter(|d| self.days.contains(*d));
        match asked {
            // Text between the days that is no day of them: the index reads it with them.
            None if date >= self.first.as_bytes() && date <= self.last.as_bytes() => Route::GiveUp,
            None => Route::Skip,
            Some(day) if self.dirty.contains(day) => Route::Skip,
            Some(_) if date > self.current.as_slice() => {
                self.current.clear();
                self.current.extend_from_slice(date);
                self.reading = true;
                self.seen += 1;
                Route::NewDay
            }
            Some(day) => {
                self.dirty.insert(day.to_string());
                if self.dirty.len() > 16 && self.dirty.len() * 4 > self.seen {
                    Route::GiveUp
                } else {
                    Route::Skip
                }
            }
        }
    }

    /// The day being read goes to the index (too many rows to hold).
    fn leave_current(&mut self) {
        if let Ok(day) = std::str::from_utf8(&self.current) {
            self.dirty.insert(day.to_string());
        }
        self.reading = false;
    }
}

fn orders_by_index(conn: &Connection, from: NaiveDate, to: NaiveDate) -> rusqlite::Result<Pass> {
    let mut read = conn.prepare_cached(&format!(
        "SELECT {ORDER_COLUMNS} FROM orders WHERE order_date BETWEEN ?1 AND ?2
         ORDER BY order_date"
    ))?;
    let mut pass = OrderPass::new(conn)?;
    let mut rows = read.query(params![from.to_string(), to.to_string()])?;
    while let Some(row) = rows.next()? {
        let Some(date) = text(row.get_ref(0)?) else {
            return Ok(Pass::NotModelled);
        };
        if pass.row(date, row)? == Pass::NotModelled {
            return Ok(Pass::NotModelled);
        }
    }
    pass.finish()
}

/// The orders of days read in day order, each day written when the next one starts.
struct OrderPass<'c> {
    out: OrderWriter<'c>,
    day: OrderDay,
}

impl<'c> OrderPass<'c> {
    fn new(conn: &'c Connection) -> rusqlite::Result<Self> {
        Ok(Self {
            out: OrderWriter::new(conn)?,
            day: OrderDay::default(),
        })
    }

    /// Takes one row of `ORDER_COLUMNS` dated `date`.
    fn row(&mut self, date: &str, row: &Row<'_>) -> rusqlite::Result<Pass> {
        let (Some(customer), Some(channel), Some(status)) = (
            text(row.get_ref(1)?),
            text_or_empty(row.get_ref(2)?),
            text(row.get_ref(3)?),
        ) else {
            return Ok(Pass::NotModelled);
        };
        let (Some(revenue), Some(discount), Some(cost)) = (
            integer(row.get_ref(4)?),
            integer(row.get_ref(5)?),
            integer(row.get_ref(6)?),
        ) else {
            return Ok(Pass::NotModelled);
        };
        let day = &mut self.day;
        if date != day.date {
            if self.out.write(day)? == Pass::NotModelled {
                return Ok(Pass::NotModelled);
            }
            day.date.clear();
            day.date.push_str(date);
        }
        if status != "completed" {
            return Ok(Pass::Written);
        }
        let channels = match day.customers.get_mut(customer) {
            Some(channels) => channels,
            None => day.customers.entry(customer.to_string()).or_default(),
        };
        let at = match channels.iter().position(|(c, _)| c == channel) {
            Some(at) => at,
            None => {
                channels.push((channel.to_string(), OrderSums::default()));
                channels.len() - 1
            }
        };
        let sums = &mut channels[at].1;
        Ok(if sums.add(revenue, discount, cost) {
            Pass::Written
        } else {
            Pass::NotModelled
        })
    }

    fn finish(&mut self) -> rusqlite::Result<Pass> {
        self.out.write(&mut self.day)
    }
}

/// What `events` writes: the day totals (`ru_events_day`, `ru_event_names_day`), and with
/// `per_user` also the per-user rows (`ru_event_users_day`, `ru_feature_users_day`).
pub fn events(
    conn: &Connection,
    from: NaiveDate,
    to: NaiveDate,
    per_user: bool,
) -> rusqlite::Result<Pass> {
    undone_unless_modelled(conn, |conn| events_by_index(conn, from, to, per_user))
}

/// [`events`] (with the per-user rows) of every day of `days`, whose rows the caller has
/// deleted, from one read of the table in rowid order where its rows are in day order;
/// `firsts` takes every event's name, user, day and instant (it gives up if the read did
/// not see every event).
pub fn events_of_every_day(
    conn: &Connection,
    days: &BTreeSet<NaiveDate>,
    firsts: &mut Firsts,
) -> rusqlite::Result<Pass> {
    let pass = undone_unless_modelled(conn, |conn| {
        let sequential = in_rowid_order(conn, "events", "day", |conn| {
            let mut read = conn.prepare(&format!(
                "SELECT {EVENT_COLUMNS}, ts FROM events ORDER BY rowid"
            ))?;
            let mut pass = EventPass::new(conn, true)?;
            let mut order = DayOrder::new(days);
            let mut held = HeldDay::default();
            let mut rows = read.query([])?;
            while let Some(row) = rows.next()? {
                let day = row.get_ref(0)?;
                firsts.add(row.get_ref(3)?, row.get_ref(1)?, day, row.get_ref(6)?);
                let ValueRef::Text(date) = day else {
                    continue; // no day: in no day range (SQLite orders numbers before text)
                };
                match order.route(date) {
                    Route::Read => {}
                    Route::NewDay => {
                        if held.feed(&mut pass)? == Pass::NotModelled {
                            return Ok(Sequential::NotModelled);
                        }
                        held.start(date);
                    }
                    Route::Skip => continue,
                    Route::GiveUp => return Ok(Sequential::GaveUp),
                }
                if !held.hold(row)? {
                    return Ok(Sequential::NotModelled);
                }
                if held.rows.len() > MAX_DAY_ROWS {
                    order.leave_current();
                    // Their memory goes back too: the day is read through the index.
                    held.rows = Vec::new();
                    held.text = String::new();
                }
            }
            if held.feed(&mut pass)? == Pass::NotModelled {
                return Ok(Sequential::NotModelled);
            }
            pass.finish()?;
            Ok(Sequential::Read(order.dirty))
        })?;
        if !matches!(sequential, Sequential::Read(_)) {
            firsts.give_up();
        }
        redo_by_index(conn, days, sequential, &EVENT_TABLES, |conn, from, to| {
            events_by_index(conn, from, to, true)
        })
    })?;
    if pass == Pass::NotModelled {
        firsts.give_up();
    }
    Ok(pass)
}

fn events_by_index(
    conn: &Connection,
    from: NaiveDate,
    to: NaiveDate,
    per_user: bool,
) -> rusqlite::Result<Pass> {
    // The order of the day index, as the SQL definitions read the rows: a real sum
    // depends on the order of its terms.
    let mut read = conn.prepare_cached(&format!(
        "SELECT {EVENT_COLUMNS} FROM events WHERE day BETWEEN ?1 AND ?2 ORDER BY day, user_id"
    ))?;
    let mut pass = EventPass::new(conn, per_user)?;
    let mut rows = read.query(params![from.to_string(), to.to_string()])?;
    while let Some(row) = rows.next()? {
        let (Some(date), Some(event)) = (text(row.get_ref(0)?), Event::of(row)?) else {
            return Ok(Pass::NotModelled);
        };
        if pass.event(date, &event)? == Pass::NotModelled {
            return Ok(Pass::NotModelled);
        }
    }
    pass.finish()?;
    Ok(Pass::Written)
}

/// A stored duration, as `SUM` takes it.
#[derive(Debug, Clone, Copy)]
enum Duration {
    Null,
    Real(f64),
    Integer(i64),
}

/// One event's columns a pass reads.
struct Event<'a> {
    user: &'a str,
    session: Option<&'a str>,
    name: &'a str,
    feature: &'a str,
    duration: Duration,
}

impl<'a> Event<'a> {
    /// The event of a row of `EVENT_COLUMNS`; `None` for a value the pass does not model.
    fn of(row: &'a Row<'_>) -> rusqlite::Result<Option<Self>> {
        let (Some(user), Some(name)) = (text(row.get_ref(1)?), text(row.get_ref(3)?)) else {
            return Ok(None);
        };
        let session = match row.get_ref(2)? {
            ValueRef::Null => None,
            other => match text(other) {
                Some(session) => Some(session),
                None => return Ok(None),
            },
        };
        let Some(feature) = text_or_empty(row.get_ref(4)?) else {
            return Ok(None);
        };
        let duration = match row.get_ref(5)? {
            ValueRef::Null => Duration::Null,
            ValueRef::Real(r) => Duration::Real(r),
            ValueRef::Integer(n) => Duration::Integer(n),
            _ => return Ok(None),
        };
        Ok(Some(Self {
            user,
            session,
            name,
            feature,
            duration,
        }))
    }
}

/// The events of the day being read in rowid order, held to be sorted by user: their
/// text end to end in one buffer.
#[derive(Default)]
struct HeldDay {
    date: String,
    text: String,
    rows: Vec<HeldEvent>,
}

/// Where an event's text lies in `HeldDay::text`, as (start, end).
struct HeldEvent {
    user: (u32, u32),
    session: Option<(u32, u32)>,
    name: (u32, u32),
    feature: (u32, u32),
    duration: Duration,
}

impl HeldDay {
    fn start(&mut self, date: &[u8]) {
        self.date.clear();
        self.date
            .push_str(std::str::from_utf8(date).unwrap_or_default());
        self.text.clear();
        self.rows.clear();
    }

    fn push(&mut self, s: &str) -> (u32, u32) {
        let start = self.text.len() as u32;
        self.text.push_str(s);
        (start, self.text.len() as u32)
    }

    /// Holds a row; false for a value the pass does not model.
    fn hold(&mut self, row: &Row<'_>) -> rusqlite::Result<bool> {
        let Some(event) = Event::of(row)? else {
            return Ok(false);
        };
        let held = HeldEvent {
            user: self.push(event.user),
            session: event.session.map(|s| self.push(s)),
            name: self.push(event.name),
            feature: self.push(event.feature),
            duration: event.duration,
        };
        self.rows.push(held);
        Ok(true)
    }

    /// Gives the held day's events to `pass` in the order of the day index (by user, and
    /// in rowid order within a user: the sort is stable), and empties it.
    fn feed(&mut self, pass: &mut EventPass<'_>) -> rusqlite::Result<Pass> {
        let text = self.text.as_str();
        let at = |(start, end): (u32, u32)| &text[start as usize..end as usize];
        self.rows.sort_by(|a, b| at(a.user).cmp(at(b.user)));
        for held in &self.rows {
            let event = Event {
                user: at(held.user),
                session: held.session.map(at),
                name: at(held.name),
                feature: at(held.feature),
                duration: held.duration,
            };
            if pass.event(&self.date, &event)? == Pass::NotModelled {
                return Ok(Pass::NotModelled);
            }
        }
        self.rows.clear();
        self.text.clear();
        Ok(Pass::Written)
    }
}

/// The events of days read in day order (by user within a day), each day written when
/// the next one starts.
struct EventPass<'c> {
    out: EventWriter<'c>,
    day: EventDay,
    per_user: bool,
}

impl<'c> EventPass<'c> {
    fn new(conn: &'c Connection, per_user: bool) -> rusqlite::Result<Self> {
        Ok(Self {
            out: EventWriter::new(conn, per_user)?,
            day: EventDay::default(),
            per_user,
        })
    }

    fn event(&mut self, date: &str, event: &Event<'_>) -> rusqlite::Result<Pass> {
        let (per_user, day) = (self.per_user, &mut self.day);
        let Event {
            user,
            session,
            name,
            feature,
            duration,
        } = *event;
        if date != day.date {
            self.out.write(day)?;
            day.date.clear();
            day.date.push_str(date);
        }
        if per_user && user != day.user {
            self.out.write_user(day)?;
            day.user.clear();
            day.user.push_str(user);
        }
        let page_view = name == "page_view";
        day.events += 1;
        day.page_views += i64::from(page_view);
        match duration {
            Duration::Null => {}
            Duration::Real(r) => day.duration.add_real(r),
            Duration::Integer(n) => {
                if !day.duration.add_integer(n) {
                    return Ok(Pass::NotModelled);
                }
            }
        }
        match day.names.get_mut(name) {
            Some(n) => *n += 1,
            None => {
                day.names.insert(name.to_string(), 1);
            }
        }
        if let Some(session) = session {
            match day.sessions.get_mut(session) {
                Some(views) => *views += i64::from(page_view),
                None => {
                    day.sessions
                        .insert(session.to_string(), i64::from(page_view));
                }
            }
            if per_user && !day.user_sessions.contains(session) {
                day.user_sessions.insert(session.to_string());
            }
        }
        if per_user {
            day.user_events += 1;
            if name == "feature_used" {
                let users = match day.features.get_mut(feature) {
                    Some(users) => users,
                    None => day.features.entry(feature.to_string()).or_default(),
                };
                // Rows come by user within a day: a user already taken is the last.
                if users.last().map(String::as_str) != Some(user) {
                    users.push(user.to_string());
                }
            }
        }
        Ok(Pass::Written)
    }

    fn finish(&mut self) -> rusqlite::Result<()> {
        self.out.write(&mut self.day)
    }
}

/// Runs `pass` inside a savepoint, rolled back when it reports `NotModelled`.
fn undone_unless_modelled(
    conn: &Connection,
    pass: impl FnOnce(&Connection) -> rusqlite::Result<Pass>,
) -> rusqlite::Result<Pass> {
    conn.execute_batch("SAVEPOINT day_scan")?;
    let outcome = pass(conn);
    if !matches!(outcome, Ok(Pass::Written)) {
        conn.execute_batch("ROLLBACK TO day_scan")?;
    }
    conn.execute_batch("RELEASE day_scan")?;
    outcome
}

fn text(value: ValueRef<'_>) -> Option<&str> {
    match value {
        ValueRef::Text(t) => std::str::from_utf8(t).ok(),
        _ => None,
    }
}

/// `COALESCE(column, '')` of a text column.
fn text_or_empty(value: ValueRef<'_>) -> Option<&str> {
    match value {
        ValueRef::Null => Some(""),
        other => text(other),
    }
}

/// An integer column, `NULL` read as 0 (the definitions `COALESCE` such sums to 0, and a
/// NULL never adds to `SUM`).
fn integer(value: ValueRef<'_>) -> Option<i64> {
    match value {
        ValueRef::Null => Some(0),
        ValueRef::Integer(n) => Some(n),
        _ => None,
    }
}

/// orders, revenue, discount, cost of completed orders.
#[derive(Debug, Default, Clone, Copy)]
struct OrderSums([i64; 4]);

impl OrderSums {
    /// Adds one order; false when a sum would overflow (SQLite's `SUM` fails then).
    fn add(&mut self, revenue: i64, discount: i64, cost: i64) -> bool {
        self.add_sums(&OrderSums([1, revenue, discount, cost]))
    }

    fn add_sums(&mut self, other: &OrderSums) -> bool {
        for (sum, term) in self.0.iter_mut().zip(other.0) {
            match sum.checked_add(term) {
                Some(s) => *sum = s,
                None => return false,
            }
        }
        true
    }
}

#[derive(Debug, Default)]
struct OrderDay {
    date: String,
    /// customer → (channel, sums); a customer's orders of a day have few channels.
    customers: HashMap<String, Vec<(String, OrderSums)>>,
}

struct OrderWriter<'c> {
    customer_rows: Statement<'c>,
    day_rows: Statement<'c>,
}

impl<'c> OrderWriter<'c> {
    fn new(conn: &'c Connection) -> rusqlite::Result<Self> {
        Ok(Self {
            customer_rows: conn.prepare(
                "INSERT INTO ru_order_customers_day
                     (day, customer_id, channel, orders, revenue, discount, cost)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )?,
            day_rows: conn.prepare(
                "INSERT INTO ru_orders_day (day, channel, orders, revenue, discount, cost)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?,
        })
    }

    /// Writes one day's rows in key order and empties it.
    fn write(&mut self, day: &mut OrderDay) -> rusqlite::Result<Pass> {
        let mut customers: Vec<(String, String, OrderSums)> = day
            .customers
            .drain()
            .flat_map(|(customer, channels)| {
                channels
                    .into_iter()
                    .map(move |(channel, sums)| (customer.clone(), channel, sums))
            })
            .collect();
        customers.sort_unstable_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
        let mut channels: BTreeMap<&str, OrderSums> = BTreeMap::new();
        for (customer, channel, sums) in &customers {
            let [orders, revenue, discount, cost] = sums.0;
            self.customer_rows.execute(params![
                day.date, customer, channel, orders, revenue, discount, cost
            ])?;
            if !channels.entry(channel).or_default().add_sums(sums) {
                return Ok(Pass::NotModelled);
            }
        }
        for (channel, sums) in channels {
            let [orders, revenue, discount, cost] = sums.0;
            self.day_rows
                .execute(params![day.date, channel, orders, revenue, discount, cost])?;
        }
        Ok(Pass::Written)
    }
}

/// SQLite's `SUM` of one group: exact while every term is an integer, then compensated
/// (Kahan–Babuška–Neumaier) the way SQLite compensates it, term by term.
#[derive(Debug, Default, Clone, Copy)]
struct SqlSum {
    terms: u64,
    integer: i64,
    /// Some once a real term (or an integer overflow) made the sum approximate.
    approx: Option<(f64, f64)>,
}

impl SqlSum {
    fn add_real(&mut self, r: f64) {
        self.terms += 1;
        let (sum, err) = self
            .approx
            .get_or_insert_with(|| start_approx(self.integer));
        compensated_step(sum, err, r);
    }

    /// Adds an integer term; false when the sum overflows, which SQLite reports as an
    /// error rather than a sum.
    fn add_integer(&mut self, n: i64) -> bool {
        self.terms += 1;
        match &mut self.approx {
            None => match self.integer.checked_add(n) {
                Some(s) => {
                    self.integer = s;
                    true
                }
                None => false,
            },
            Some((sum, err)) => {
                compensated_integer_step(sum, err, n);
                true
            }
        }
    }

    /// `COALESCE(SUM(x), 0)`.
    fn value_or_zero(&self) -> rusqlite::types::Value {
        use rusqlite::types::Value;
        match self.approx {
            _ if self.terms == 0 => Value::Integer(0),
            None => Value::Integer(self.integer),
            Some((sum, err)) if err.is_finite() => Value::Real(sum + err),
            Some((sum, _)) => Value::Real(sum),
        }
    }
}

/// Integers this large lose bits as doubles: SQLite splits them.
const BIG: i64 = 4_503_599_627_370_496;

fn start_approx(integer: i64) -> (f64, f64) {
    if integer <= -BIG || integer >= BIG {
        let small = integer % 16384;
        ((integer - small) as f64, small as f64)
    } else {
        (integer as f64, 0.0)
    }
}

fn compensated_step(sum: &mut f64, err: &mut f64, r: f64) {
    let s = *sum;
    let t = s + r;
    if s.abs() > r.abs() {
        *err += (s - t) + r;
    } else {
        *err += (r - t) + s;
    }
    *sum = t;
}

fn compensated_integer_step(sum: &mut f64, err: &mut f64, n: i64) {
    if n <= -BIG || n >= BIG {
        let small = n % 16384;
        compensated_step(sum, err, (n - small) as f64);
        compensated_step(sum, err, small as f64);
    } else {
        compensated_step(sum, err, n as f64);
    }
}

#[derive(Debug, Default)]
struct EventDay {
    date: String,
    events: i64,
    page_views: i64,
    duration: SqlSum,
    names: HashMap<String, i64>,
    /// session → its page views on the day.
    sessions: HashMap<String, i64>,
    /// The user whose rows are being read (rows come by user within a day).
    user: String,
    user_events: i64,
    user_sessions: HashSet<String>,
    /// Feature (or '') → the users of the day's `feature_used` events of it, each once,
    /// in user order. (A set of (feature, user) pairs cost two strings and a tree search
    /// per event: a tenth of an events import.)
    features: HashMap<String, Vec<String>>,
}

struct EventWriter<'c> {
    per_user: bool,
    totals: Statement<'c>,
    names: Statement<'c>,
    users: Option<Statement<'c>>,
    features: Option<Statement<'c>>,
}

impl<'c> EventWriter<'c> {
    fn new(conn: &'c Connection, per_user: bool) -> rusqlite::Result<Self> {
        let per_user_statement = |sql: &str| per_user.then(|| conn.prepare(sql)).transpose();
        Ok(Self {
            per_user,
            totals: conn.prepare(
                "INSERT INTO ru_events_day
                     (day, events, sessions, page_views, pv_sessions, bounced_sessions,
                      duration_s)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )?,
            names: conn.prepare(
                "INSERT INTO ru_event_names_day (day, name, events) VALUES (?1, ?2, ?3)",
            )?,
            users: per_user_statement(
                "INSERT INTO ru_event_users_day (day, user_id, events, sessions)
                 VALUES (?1, ?2, ?3, ?4)",
            )?,
            features: per_user_statement(
                "INSERT INTO ru_feature_users_day (day, feature, user_id) VALUES (?1, ?2, ?3)",
            )?,
        })
    }

    /// Writes the user being read and forgets it.
    fn write_user(&mut self, day: &mut EventDay) -> rusqlite::Result<()> {
        if let Some(users) = &mut self.users
            && day.user_events > 0
        {
            users.execute(params![
                day.date,
                day.user,
                day.user_events,
                day.user_sessions.len() as i64
            ])?;
        }
        day.user_events = 0;
        day.user_sessions.clear();
        Ok(())
    }

    /// Writes one day's rows and empties it.
    fn write(&mut self, day: &mut EventDay) -> rusqlite::Result<()> {
        if self.per_user {
            self.write_user(day)?;
            day.user.clear();
        }
        if day.events == 0 {
            return Ok(());
        }
        let pv_sessions = day.sessions.values().filter(|&&views| views >= 1).count() as i64;
        let bounced = day.sessions.values().filter(|&&views| views == 1).count() as i64;
        self.totals.execute(params![
            day.date,
            day.events,
            day.sessions.len() as i64,
            day.page_views,
            pv_sessions,
            bounced,
            day.duration.value_or_zero()
        ])?;
        let mut names: Vec<_> = day.names.drain().collect();
        names.sort_unstable();
        for (name, events) in names {
            self.names.execute(params![day.date, name, events])?;
        }
        let mut features: Vec<(String, Vec<String>)> = day.features.drain().collect();
        if let Some(insert) = &mut self.features {
            // In (feature, user) order, as a set of the pairs would give them.
            features.sort_unstable_by(|a, b| a.0.cmp(&b.0));
            for (feature, users) in &features {
                for user in users {
                    insert.execute(params![day.date, feature, user])?;
                }
            }
        }
        day.sessions.clear();
        day.events = 0;
        day.page_views = 0;
        day.duration = SqlSum::default();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;
    use crate::store::rollup::days;

    const TABLES: [&str; 6] = [
        "ru_order_customers_day",
        "ru_orders_day",
        "ru_events_day",
        "ru_event_names_day",
        "ru_event_users_day",
        "ru_feature_users_day",
    ];

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    /// Every row of the day rollups, values with their SQLite types, reals to the bit.
    fn dump(conn: &Connection) -> Vec<String> {
        super::super::dump_tables(conn, &TABLES, |x| format!("Real({:#x})", x.to_bits())).unwrap()
    }

    fn empty(conn: &Connection) {
        for table in TABLES {
            conn.execute(&format!("DELETE FROM {table}"), []).unwrap();
        }
    }

    /// Orders and events over ten days with every shape the definitions distinguish:
    /// cancelled orders, missing channels, discounts and costs, events without a session
    /// or a duration, fractional durations of very different sizes, feature events with
    /// and without a feature, users with several sessions and sessions of several users.
    /// Stored in the order drawn: no day's rows together.
    fn store() -> Store {
        store_of(10, |_| {})
    }

    type Rows = Vec<(String, Vec<rusqlite::types::Value>)>;

    /// [`store`]'s rows over `days` days (June 2025 on), stored (so numbered by rowid) in
    /// the order `arrange` leaves the (day, values) of the orders and then the events.
    fn store_of(days: u64, arrange: impl Fn(&mut Rows)) -> Store {
        use rusqlite::types::Value;
        let day_of = |n: u64| (d("2025-06-01") + chrono::Days::new(n)).to_string();
        let store = Store::open_in_memory().unwrap();
        let conn = store.conn();
        let mut x: u64 = 0x2545_F491_4F6C_DD1D;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let text = |s: &str| Value::Text(s.to_string());
        let or_null = |v: Option<Value>| v.unwrap_or(Value::Null);
        let mut orders: Rows = Vec::new();
        for i in 0..3000 {
            let r = next();
            let day = day_of((r >> 8) % days);
            orders.push((
                day.clone(),
                vec![
                    text(&format!("o{i}")),
                    text(&format!("c{}", r % 40)),
                    text(&day),
                    Value::Integer(((r >> 16) % 100_000) as i64),
                    text(
                        ["completed", "completed", "cancelled", "pending"][(r >> 24) as usize % 4],
                    ),
                    or_null(
                        [None, Some("ads"), Some("seo"), Some("")][(r >> 28) as usize % 4]
                            .map(text),
                    ),
                    or_null(
                        ((r >> 32) % 3 == 0).then_some(Value::Integer(((r >> 34) % 500) as i64)),
                    ),
                    or_null(
                        ((r >> 36) % 2 == 0).then_some(Value::Integer(((r >> 38) % 900) as i64)),
                    ),
                ],
            ));
        }
        let mut events: Rows = Vec::new();
        for i in 0..6000 {
            let r = next();
            let duration = match (r >> 40) % 4 {
                0 => None,
                1 => Some(((r >> 44) % 1000) as f64 * 0.1),
                2 => Some(((r >> 44) % 7) as f64 * 1e15 + 0.3),
                _ => Some(1.0 / (1 + (r >> 44) % 97) as f64),
            };
            let day = day_of((r >> 8) % days);
            events.push((
                day.clone(),
                vec![
                    text(&format!("e{i}")),
                    text(&format!("u{}", r % 60)),
                    text(&format!(
                        "{day}T{:02}:{:02}:00Z",
                        (r >> 50) % 24,
                        (r >> 56) % 60
                    )),
                    text(&day),
                    text(
                        ["login", "page_view", "feature_used", "page_view"][(r >> 16) as usize % 4],
                    ),
                    or_null(((r >> 20) % 5 != 0).then(|| text(&format!("s{}", (r >> 24) % 90)))),
                    or_null(
                        [None, Some("export"), Some("share"), Some("")][(r >> 30) as usize % 4]
                            .map(text),
                    ),
                    or_null(duration.map(Value::Real)),
                ],
            ));
        }
        arrange(&mut orders);
        arrange(&mut events);
        for (_, values) in orders {
            conn.execute(
                "INSERT INTO orders (order_id, customer_id, order_date, revenue, status, channel,
                                     discount, cost)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                rusqlite::params_from_iter(values),
            )
            .unwrap();
        }
        for (_, values) in events {
            conn.execute(
                "INSERT INTO events (event_key, user_id, ts, day, name, session_id, feature,
                                     duration_s)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                rusqlite::params_from_iter(values),
            )
            .unwrap();
        }
        store
    }

    /// The rows of every day from `from` to `to` by the whole-table passes, into emptied
    /// tables, with what the events read left to the index (`None`: all of it) and the
    /// firsts it collected (`None`: it gave up).
    fn of_every_day(
        conn: &Connection,
        from: NaiveDate,
        to: NaiveDate,
    ) -> (Vec<String>, Option<Vec<String>>, Option<Firsts>) {
        empty(conn);
        let every: BTreeSet<NaiveDate> = from.iter_days().take_while(|d| *d <= to).collect();
        assert_eq!(orders_of_every_day(conn, &every).unwrap(), Pass::Written);
        let mut firsts = Firsts::default();
        assert_eq!(
            events_of_every_day(conn, &every, &mut firsts).unwrap(),
            Pass::Written
        );
        let left = LEFT_TO_INDEX.with(|l| l.borrow().clone());
        (dump(conn), left, (!firsts.given_up()).then_some(firsts))
    }

    /// `ru_first_event` as its definition gives it, and as written from `firsts`.
    /// Every day from `from` to `to` read as [`of_every_day`] reads them: its rows and the
    /// firsts it collected equal the SQL definitions'; returns the days it left to the index.
    fn read_as_defined(conn: &Connection, from: NaiveDate, to: NaiveDate) -> Option<Vec<String>> {
        let expected = by_sql(conn, from, to);
        let (written, left, firsts) = of_every_day(conn, from, to);
        assert_eq!(written, expected);
        let (defined, collected) = firsts_both_ways(conn, firsts.expect("firsts collected"));
        assert_eq!(collected, defined);
        left
    }

    fn firsts_both_ways(conn: &Connection, firsts: Firsts) -> (Vec<String>, Vec<String>) {
        let table = ["ru_first_event"];
        let real = |x: f64| format!("{x:?}");
        super::super::first_events::rebuild(conn).unwrap();
        let defined = super::super::dump_tables(conn, &table, real).unwrap();
        super::super::first_events::write_collected(conn, firsts).unwrap();
        let written = super::super::dump_tables(conn, &table, real).unwrap();
        assert!(!defined.is_empty());
        (defined, written)
    }

    #[test]
    fn a_table_in_day_order_is_read_in_rowid_order_with_the_rows_of_the_sql_definitions() {
        let store = store_of(10, |rows| rows.sort_by(|a, b| a.0.cmp(&b.0)));
        let conn = store.conn();
        let (from, to) = (d("2025-06-01"), d("2025-06-10"));
        let left = read_as_defined(conn, from, to);
        assert_eq!(left, Some(vec![]), "every day read in rowid order");
    }

    #[test]
    fn days_whose_rows_come_apart_are_read_through_the_index_with_the_same_rows() {
        // In day order but for a tenth of the rows of two days, stored last (rows of the
        // last day stored last would still come together).
        let store = store_of(10, |rows| {
            rows.sort_by(|a, b| a.0.cmp(&b.0));
            let (mut kept, mut late): (Rows, Rows) = (Vec::new(), Vec::new());
            for (i, row) in std::mem::take(rows).into_iter().enumerate() {
                let apart = i % 10 == 0 && (row.0 == "2025-06-03" || row.0 == "2025-06-07");
                if apart {
                    late.push(row)
                } else {
                    kept.push(row)
                }
            }
            kept.append(&mut late);
            *rows = kept;
        });
        let conn = store.conn();
        let (from, to) = (d("2025-06-01"), d("2025-06-10"));
        let left = read_as_defined(conn, from, to);
        assert_eq!(
            left,
            Some(vec!["2025-06-03".to_string(), "2025-06-07".to_string()])
        );

        // No day in order: the rows sampled over the table say so before any is read.
        let drawn = self::store();
        let conn = drawn.conn();
        let expected = by_sql(conn, from, to);
        let (written, left, _) = of_every_day(conn, from, to);
        assert_eq!(left, None);
        assert_eq!(written, expected);
    }

    /// In day order, but for the first row of each of the first thirty days, stored last.
    fn scattered(rows: &mut Rows) {
        rows.sort_by(|a, b| a.0.cmp(&b.0));
        let (mut kept, mut late): (Rows, Rows) = (Vec::new(), Vec::new());
        for row in std::mem::take(rows) {
            if late.len() < 30 && late.last().is_none_or(|l| l.0 != row.0) {
                late.push(row);
            } else {
                kept.push(row);
            }
        }
        kept.append(&mut late);
        *rows = kept;
    }

    #[test]
    fn a_table_mostly_out_of_day_order_is_read_through_the_index_whole() {
        let (from, to) = (d("2025-06-01"), d("2025-07-10"));
        fn reversed(rows: &mut Rows) {
            rows.sort_by(|a, b| b.0.cmp(&a.0));
        }
        fn two_runs(rows: &mut Rows) {
            let mut second = rows.split_off(rows.len() / 2);
            rows.sort_by(|a, b| a.0.cmp(&b.0));
            second.sort_by(|a, b| a.0.cmp(&b.0));
            rows.append(&mut second);
        }
        type Arrange = fn(&mut Rows);
        let arrangements: [(&str, Arrange); 3] = [
            // Forty days in reverse order (the sampled rows tell).
            ("reversed", reversed),
            // Two runs over the same days, as a second file upserted after the first.
            ("two runs", two_runs),
            // One row of each of thirty days stored last: too few to show in the sampled
            // rows, too many days apart for the read.
            ("scattered", scattered),
        ];
        for (what, arrange) in arrangements {
            let store = store_of(40, arrange);
            let conn = store.conn();
            let expected = by_sql(conn, from, to);
            let (written, left, firsts) = of_every_day(conn, from, to);
            assert_eq!(left, None, "{what}: gave up");
            assert!(
                firsts.is_none(),
                "{what}: the firsts are left to their definition"
            );
            assert_eq!(written, expected, "{what}");
        }
        // The scattered rows pass the sample and are met by the read itself.
        let scattered_sample = store_of(40, scattered);
        assert!(looks_in_day_order(scattered_sample.conn(), "events", "day").unwrap());
        assert!(looks_in_day_order(scattered_sample.conn(), "orders", "order_date").unwrap());
    }

    #[test]
    fn a_day_of_more_rows_than_memory_holds_is_read_through_the_index() {
        // Two days: 6000 events, about 3000 a day, past the test bound of MAX_DAY_ROWS.
        const { assert!(MAX_DAY_ROWS < 2000) };
        let store = store_of(2, |rows| rows.sort_by(|a, b| a.0.cmp(&b.0)));
        let conn = store.conn();
        let (from, to) = (d("2025-06-01"), d("2025-06-02"));
        let left = read_as_defined(conn, from, to);
        assert_eq!(
            left,
            Some(vec!["2025-06-01".to_string(), "2025-06-02".to_string()])
        );
    }

    #[test]
    fn an_instant_of_another_shape_leaves_the_firsts_to_their_definition() {
        let store = store_of(10, |rows| rows.sort_by(|a, b| a.0.cmp(&b.0)));
        let conn = store.conn();
        conn.execute(
            "UPDATE events SET ts = '2025-06-05 10:00:00' WHERE event_key = 'e17'",
            [],
        )
        .unwrap();
        let (_, left, firsts) = of_every_day(conn, d("2025-06-01"), d("2025-06-10"));
        assert_eq!(left, Some(vec![]));
        assert!(firsts.is_none());
    }

    /// What the SQL definitions write for `from..=to` into emptied tables.
    fn by_sql(conn: &Connection, from: NaiveDate, to: NaiveDate) -> Vec<String> {
        empty(conn);
        days::insert_orders_by_sql(conn, from, to).unwrap();
        days::insert_event_totals_by_sql(conn, from, to).unwrap();
        days::insert_event_users_by_sql(conn, from, to).unwrap();
        dump(conn)
    }

    #[test]
    fn a_day_scan_writes_the_rows_of_the_sql_definitions() {
        let store = store();
        let conn = store.conn();
        let (from, to) = (d("2025-06-02"), d("2025-06-08"));
        let expected = by_sql(conn, from, to);
        assert!(
            expected
                .iter()
                .any(|r| r.starts_with("ru_feature_users_day"))
        );
        assert!(expected.iter().any(|r| r.contains("Real(")));
        empty(conn);
        assert_eq!(orders(conn, from, to).unwrap(), Pass::Written);
        assert_eq!(events(conn, from, to, true).unwrap(), Pass::Written);
        assert_eq!(dump(conn), expected);

        // The day totals alone, as a refresh of the users of one day writes them.
        let day = d("2025-06-05");
        empty(conn);
        days::insert_event_totals_by_sql(conn, day, day).unwrap();
        let expected = dump(conn);
        empty(conn);
        assert_eq!(events(conn, day, day, false).unwrap(), Pass::Written);
        assert_eq!(dump(conn), expected);
    }

    #[test]
    fn a_value_the_scan_does_not_model_leaves_the_days_to_the_sql_definitions() {
        let store = store();
        let conn = store.conn();
        let (from, to) = (d("2025-06-01"), d("2025-06-10"));
        // Put there by hand: a fractional revenue and a text duration.
        conn.execute(
            "UPDATE orders SET revenue = 12.5 WHERE order_id = 'o2999'",
            [],
        )
        .unwrap();
        conn.execute(
            "UPDATE events SET duration_s = 'long' WHERE event_key = 'e5999'",
            [],
        )
        .unwrap();
        let expected = by_sql(conn, from, to);
        empty(conn);
        assert_eq!(orders(conn, from, to).unwrap(), Pass::NotModelled);
        assert_eq!(events(conn, from, to, true).unwrap(), Pass::NotModelled);
        // Undone whole: not one row of the days read before the odd value stays.
        assert_eq!(dump(conn), Vec::<String>::new());
        let every: BTreeSet<NaiveDate> = from.iter_days().take_while(|d| *d <= to).collect();
        days::rebuild_orders(conn, &every).unwrap();
        days::rebuild_events(conn, &every).unwrap();
        assert_eq!(dump(conn), expected);
    }

    #[test]
    fn sums_follow_sqlite_past_the_exact_range_of_doubles() {
        let conn = Connection::open_in_memory().unwrap();
        let terms: [&[ValueRef<'_>]; 3] = [
            &[
                ValueRef::Integer(1 << 60),
                ValueRef::Real(0.5),
                ValueRef::Integer(3),
            ],
            &[
                ValueRef::Real(1e16),
                ValueRef::Real(1.0),
                ValueRef::Real(-1e16),
            ],
            &[ValueRef::Integer(7), ValueRef::Integer(-9)],
        ];
        for terms in terms {
            let mut sum = SqlSum::default();
            let values: Vec<String> = terms
                .iter()
                .map(|t| match *t {
                    ValueRef::Integer(n) => {
                        assert!(sum.add_integer(n));
                        n.to_string()
                    }
                    ValueRef::Real(r) => {
                        sum.add_real(r);
                        format!("{r:e}")
                    }
                    _ => unreachable!(),
                })
                .collect();
            let sql: rusqlite::types::Value = conn
                .query_row(
                    &format!(
                        "SELECT SUM(x) FROM (SELECT {} AS x)",
                        values.join(" AS x UNION ALL SELECT ")
                    ),
                    [],
                    |r| r.get(0),
                )
                .unwrap();
            assert_eq!(sum.value_or_zero(), sql, "{values:?}");
        }
        // SQLite fails an integer sum that overflows rather than give a sum.
        let mut sum = SqlSum::default();
        assert!(sum.add_integer(i64::MAX));
        assert!(!sum.add_integer(1));
    }
}
