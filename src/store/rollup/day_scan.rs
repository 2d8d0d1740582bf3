//! The whole-day rollups of a span of days in one pass over the raw rows in day order.
//!
//! The SQL definitions in `days.rs` aggregate each rollup with a GROUP BY of its own:
//! five sorts of every event (a `COUNT(DISTINCT …)` builds a temporary index per group)
//! and one of every order, most of a bulk import or a rebuild. Reading the rows once
//! through the day index and aggregating a day at a time in hash maps gives the same rows
//! with memory bounded by one day. Sums follow SQLite's own arithmetic (integer sums that
//! overflow fail; real sums are compensated the way `SUM` compensates them, in the same
//! row order), so a pass and its SQL definition leave identical tables.
//!
//! A stored value outside what the importer writes (a text amount put there by hand with
//! a sqlite3 shell, say) is not second-guessed: the pass is undone and the caller runs
//! the SQL definition instead.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::NaiveDate;
use rusqlite::types::ValueRef;
use rusqlite::{Connection, Statement, params};

/// Whether a pass wrote its rollups, or met a value it does not model and undid itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pass {
    Written,
    NotModelled,
}

/// `ru_order_customers_day` and `ru_orders_day` of the days `from..=to`, whose rows the
/// caller has deleted.
pub fn orders(conn: &Connection, from: NaiveDate, to: NaiveDate) -> rusqlite::Result<Pass> {
    undone_unless_modelled(conn, |conn| {
        let mut read = conn.prepare_cached(
            "SELECT order_date, customer_id, channel, status, revenue, discount, cost
             FROM orders WHERE order_date BETWEEN ?1 AND ?2 ORDER BY order_date",
        )?;
        let mut out = OrderWriter::new(conn)?;
        let mut day = OrderDay::default();
        let mut rows = read.query(params![from.to_string(), to.to_string()])?;
        while let Some(row) = rows.next()? {
            let (Some(date), Some(customer), Some(channel), Some(status)) = (
                text(row.get_ref(0)?),
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
            if date != day.date {
                if out.write(&mut day)? == Pass::NotModelled {
                    return Ok(Pass::NotModelled);
                }
                day.date.clear();
                day.date.push_str(date);
            }
            if status != "completed" {
                continue;
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
            if !sums.add(revenue, discount, cost) {
                return Ok(Pass::NotModelled);
            }
        }
        out.write(&mut day)
    })
}

/// What `events` writes: the day totals (`ru_events_day`, `ru_event_names_day`), and with
/// `per_user` also the per-user rows (`ru_event_users_day`, `ru_feature_users_day`).
pub fn events(
    conn: &Connection,
    from: NaiveDate,
    to: NaiveDate,
    per_user: bool,
) -> rusqlite::Result<Pass> {
    undone_unless_modelled(conn, |conn| {
        // The order of the day index, as the SQL definitions read the rows: a real sum
        // depends on the order of its terms.
        let mut read = conn.prepare_cached(
            "SELECT day, user_id, session_id, name, feature, duration_s
             FROM events WHERE day BETWEEN ?1 AND ?2 ORDER BY day, user_id",
        )?;
        let mut out = EventWriter::new(conn, per_user)?;
        let mut day = EventDay::default();
        let mut rows = read.query(params![from.to_string(), to.to_string()])?;
        while let Some(row) = rows.next()? {
            let (Some(date), Some(user), Some(name)) = (
                text(row.get_ref(0)?),
                text(row.get_ref(1)?),
                text(row.get_ref(3)?),
            ) else {
                return Ok(Pass::NotModelled);
            };
            let session = match row.get_ref(2)? {
                ValueRef::Null => None,
                other => match text(other) {
                    Some(session) => Some(session),
                    None => return Ok(Pass::NotModelled),
                },
            };
            let Some(feature) = text_or_empty(row.get_ref(4)?) else {
                return Ok(Pass::NotModelled);
            };
            if date != day.date {
                out.write(&mut day)?;
                day.date.clear();
                day.date.push_str(date);
            }
            if per_user && user != day.user {
                out.write_user(&mut day)?;
                day.user.clear();
                day.user.push_str(user);
            }
            let page_view = name == "page_view";
            day.events += 1;
            day.page_views += i64::from(page_view);
            match row.get_ref(5)? {
                ValueRef::Null => {}
                ValueRef::Real(r) => day.duration.add_real(r),
                ValueRef::Integer(n) => {
                    if !day.duration.add_integer(n) {
                        return Ok(Pass::NotModelled);
                    }
                }
                _ => return Ok(Pass::NotModelled),
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
        }
        out.write(&mut day)?;
        Ok(Pass::Written)
    })
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
    fn store() -> Store {
        let store = Store::open_in_memory().unwrap();
        let conn = store.conn();
        let mut x: u64 = 0x2545_F491_4F6C_DD1D;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for i in 0..3000 {
            let r = next();
            conn.execute(
                "INSERT INTO orders (order_id, customer_id, order_date, revenue, status, channel,
                                     discount, cost)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![
                    format!("o{i}"),
                    format!("c{}", r % 40),
                    format!("2025-06-{:02}", 1 + (r >> 8) % 10),
                    ((r >> 16) % 100_000) as i64,
                    ["completed", "completed", "cancelled", "pending"][(r >> 24) as usize % 4],
                    [None, Some("ads"), Some("seo"), Some("")][(r >> 28) as usize % 4],
                    ((r >> 32) % 3 == 0).then_some(((r >> 34) % 500) as i64),
                    ((r >> 36) % 2 == 0).then_some(((r >> 38) % 900) as i64),
                ],
            )
            .unwrap();
        }
        for i in 0..6000 {
            let r = next();
            let duration = match (r >> 40) % 4 {
                0 => None,
                1 => Some(((r >> 44) % 1000) as f64 * 0.1),
                2 => Some(((r >> 44) % 7) as f64 * 1e15 + 0.3),
                _ => Some(1.0 / (1 + (r >> 44) % 97) as f64),
            };
            let day = format!("2025-06-{:02}", 1 + (r >> 8) % 10);
            conn.execute(
                "INSERT INTO events (event_key, user_id, ts, day, name, session_id, feature,
                                     duration_s)
                 VALUES (?1, ?2, ?3 || 'T10:00:00Z', ?3, ?4, ?5, ?6, ?7)",
                params![
                    format!("e{i}"),
                    format!("u{}", r % 60),
                    day,
                    ["login", "page_view", "feature_used", "page_view"][(r >> 16) as usize % 4],
                    ((r >> 20) % 5 != 0).then(|| format!("s{}", (r >> 24) % 90)),
                    [None, Some("export"), Some("share"), Some("")][(r >> 30) as usize % 4],
                    duration,
                ],
            )
            .unwrap();
        }
        store
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
        days::refresh_orders(conn, from, to).unwrap();
        days::refresh_events(conn, from, to).unwrap();
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
