//! Rollups per segment: the day sums and the distinct ids per period and trailing window
//! of orders and events, by every value of each dimension (the order's channel; the
//! customer's channel, plan and region), so the alerts read days × segments rows instead
//! of every customer's (`alerts::rollup_series`).
//!
//! A segment row is a function of the per-day-per-id rollups of its days and of the
//! customers' columns only. A refresh recounts, whatever they held before, the days an
//! import wrote with the periods and windows holding them, and every day of the customers
//! a customers import wrote (one may have moved to another plan); the same pass over
//! every day is the rebuild. The pass is [`distinct::recount`]'s, with each id counted
//! in its segment.
//!
//! An id without a customers row, or whose column is not text, is in no segment of that
//! column, as the engine's `customers.<column> = value` filter finds it in none.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{Duration, NaiveDate};
use rusqlite::types::{Value, ValueRef};
use rusqlite::{Connection, OptionalExtension, params, params_from_iter};

use super::counts::Counts;
use super::distinct::{Counter, NO_SEGMENT, Spans};
use super::interner::Interner;
use super::ranges;
use crate::dates::parse_day;

/// The per-segment rollup tables.
pub const SEGMENT_TABLES: [&str; 6] = [
    "ru_segment_orders_day",
    "ru_segment_events_day",
    "ru_segment_distinct",
    "ru_segment_repeat",
    // The subscription book per segment (`rollup::subscriptions`).
    "ru_subscription_steps",
    "ru_subscription_moves",
];

/// The dimensions as `dim` names them: the order's own channel, then the customer columns.
pub const DIMENSIONS: [&str; 4] = ["order_channel", "channel", "plan", "region"];
const ORDER_CHANNEL: usize = 0;

const NO_PAIR: u32 = u32::MAX;

/// Stretches longer than this many days read every customer up front; shorter ones look
/// up the customers they meet (an import's few days meet a fraction of them).
const LOAD_ALL_CUSTOMERS_AFTER: i64 = 92;

/// One activity's per-segment rollups and where they come from.
pub(super) struct SegmentActivity {
    /// Rows `(day, id, order channel or NULL, sums…)` of days ?1..=?2 in day order: each
    /// counts in the sums and makes its id distinct in its periods and windows.
    rows: &'static str,
    /// Rows of the same columns counted in the sums only (refunds), of days ?1..=?2.
    sums_only: Option<&'static str>,
    /// How many sums follow the order channel.
    sums: usize,
    /// The day sums' table, the insert of one of its rows `(day, dim, value, sums…)`, and
    /// its sum columns.
    table: &'static str,
    insert: &'static str,
    sum_columns: &'static [&'static str],
    /// `ru_segment_distinct.kind`s: `<prefix>_{day,week,month}` and the windows.
    prefix: &'static str,
    windows: &'static [(&'static str, i64)],
    /// The days of the ids in `temp.ru_moved_customers`, one query per source rollup.
    days_of_ids: &'static [&'static str],
    /// The raw tables whose days the rollups read (`ru_table_days.tbl`).
    tables: &'static [&'static str],
    /// `rows` of the ids an import touched (`per_id::select_ids`), days ?1..=?2: the
    /// distinct counts and day sums change by these ids' rows alone.
    touched_rows: &'static str,
}

pub(super) const ORDER_SEGMENTS: SegmentActivity = SegmentActivity {
    rows: "SELECT day, customer_id, channel, orders, revenue, discount, cost, 0
           FROM ru_order_customers_day WHERE day BETWEEN ?1 AND ?2 ORDER BY day",
    sums_only: Some(
        "SELECT day, customer_id, channel, 0, 0, 0, 0, amount
         FROM ru_refunds_day WHERE day BETWEEN ?1 AND ?2",
    ),
    sums: 5,
    table: "ru_segment_orders_day",
    sum_columns: &["orders", "revenue", "discount", "cost", "refunds"],
    insert: "INSERT INTO ru_segment_orders_day
                 (day, dim, value, orders, revenue, discount, cost, refunds)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    prefix: "paying",
    windows: &[],
    days_of_ids: &[
        "SELECT DISTINCT day FROM ru_order_customers_day
         WHERE customer_id IN (SELECT id FROM temp.ru_moved_customers)",
        "SELECT DISTINCT day FROM ru_refunds_day
         WHERE customer_id IN (SELECT id FROM temp.ru_moved_customers)",
    ],
    tables: &["orders", "refunds"],
    touched_rows: "SELECT day, customer_id, channel, orders, revenue, discount, cost, 0
                   FROM ru_order_customers_day
                   WHERE customer_id IN (SELECT id FROM temp.ru_touched_customers)
                   AND day BETWEEN ?1 AND ?2",
};

pub(super) const EVENT_SEGMENTS: SegmentActivity = SegmentActivity {
    rows: "SELECT day, user_id, NULL, 1, sessions
           FROM ru_event_users_day WHERE day BETWEEN ?1 AND ?2 ORDER BY day",
    sums_only: None,
    sums: 2,
    table: "ru_segment_events_day",
    sum_columns: &["users", "sessions"],
    insert: "INSERT INTO ru_segment_events_day (day, dim, value, users, sessions)
             VALUES (?1, ?2, ?3, ?4, ?5)",
    prefix: "active",
    windows: &super::WINDOWS,
    days_of_ids: &["SELECT DISTINCT day FROM ru_event_users_day
                    WHERE user_id IN (SELECT id FROM temp.ru_moved_customers)"],
    tables: &["events"],
    touched_rows: "SELECT day, user_id, NULL, 1, sessions FROM ru_event_users_day
                   WHERE user_id IN (SELECT id FROM temp.ru_touched_users)
                   AND day BETWEEN ?1 AND ?2",
};

/// The days holding rows of the customers `ids`: their segments count there.
pub(super) fn days_of_customers<'a>(
    conn: &Connection,
    activity: &SegmentActivity,
    ids: impl Iterator<Item = &'a String>,
) -> rusqlite::Result<BTreeSet<NaiveDate>> {
    conn.execute_batch(
        "CREATE TEMP TABLE IF NOT EXISTS ru_moved_customers
             (id TEXT PRIMARY KEY NOT NULL) WITHOUT ROWID;
         DELETE FROM temp.ru_moved_customers;",
    )?;
    let mut add =
        conn.prepare_cached("INSERT OR IGNORE INTO temp.ru_moved_customers (id) VALUES (?1)")?;
    for id in ids {
        add.execute([id])?;
    }
    let mut out = BTreeSet::new();
    for sql in activity.days_of_ids {
        let mut stmt = conn.prepare_cached(sql)?;
        for day in stmt.query_map([], |r| r.get::<_, String>(0))? {
            out.extend(parse_day(&day?));
        }
    }
    Ok(out)
}

/// Every day the activity's rollups hold rows for.
pub(super) fn every_day(
    conn: &Connection,
    activity: &SegmentActivity,
) -> rusqlite::Result<BTreeSet<NaiveDate>> {
    let mut stmt = conn.prepare_cached("SELECT day FROM ru_table_days WHERE tbl = ?1")?;
    let mut out = BTreeSet::new();
    for table in activity.tables {
        for day in stmt.query_map([table], |r| r.get::<_, String>(0))? {
            out.extend(parse_day(&day?));
        }
    }
    Ok(out)
}

/// Interned segment values of one dimension.
#[derive(Default)]
struct Values {
    index: HashMap<Vec<u8>, u16>,
    names: Vec<String>,
}

impl Values {
    fn intern(&mut self, value: &[u8]) -> u16 {
        if let Some(&i) = self.index.get(value) {
            return i;
        }
        let Ok(i) = u16::try_from(self.names.len()) else {
            return NO_SEGMENT;
        };
        if i == NO_SEGMENT {
            return NO_SEGMENT;
        }
        self.names.push(String::from_utf8_lossy(value).into_owned());
        self.index.insert(value.to_vec(), i);
        i
    }
}

/// Ids numbered as they come with their customer columns' segments, and (id, order
/// channel) pairs numbered for the order channel's distinct counts.
struct Segmenter<'c> {
    /// Looks up a customer met for the first time; `None` once every customer is loaded.
    lookup: Option<rusqlite::CachedStatement<'c>>,
    ids: Interner,
    columns: Vec<[u16; 3]>,
    /// `pairs[channel][id]`: the number of the (id, order channel) pair, or `NO_PAIR`;
    /// dense rows, since a rebuild numbers every customer's pairs (a map of millions of
    /// pairs cost more memory than the counts themselves).
    pairs: Vec<Vec<u32>>,
    pair_count: u32,
    values: [Values; 4],
}

impl<'c> Segmenter<'c> {
    fn new(conn: &'c Connection, load_all: bool) -> rusqlite::Result<Self> {
        let mut out = Segmenter {
            lookup: None,
            ids: Interner::default(),
            columns: Vec::new(),
            pairs: Vec::new(),
            pair_count: 0,
            values: Default::default(),
        };
        if load_all {
            let mut stmt =
                conn.prepare_cached("SELECT customer_id, channel, plan, region FROM customers")?;
            let mut rows = stmt.query([])?;
            while let Some(row) = rows.next()? {
                if let ValueRef::Text(id) = row.get_ref(0)? {
                    let columns =
                        out.columns_of([row.get_ref(1)?, row.get_ref(2)?, row.get_ref(3)?]);
                    out.add(id, columns);
                }
            }
        } else {
            out.lookup = Some(conn.prepare_cached(
                "SELECT channel, plan, region FROM customers WHERE customer_id = ?1",
            )?);
        }
        Ok(out)
    }

    fn columns_of(&mut self, cells: [ValueRef<'_>; 3]) -> [u16; 3] {
        let mut columns = [NO_SEGMENT; 3];
        for (c, cell) in cells.into_iter().enumerate() {
            if let ValueRef::Text(value) = cell {
                columns[c] = self.values[c + 1].intern(value);
            }
        }
        columns
    }

    fn add(&mut self, id: &[u8], columns: [u16; 3]) -> u32 {
        let Some(n) = self.ids.intern(id) else {
            return u32::MAX;
        };
        if n as usize == self.columns.len() {
            self.columns.push(columns);
        }
        n
    }

    /// The number of `id`, looking its customer row up the first time.
    fn id(&mut self, id: &[u8]) -> rusqlite::Result<u32> {
        if let Some(n) = self.ids.get(id) {
            return Ok(n);
        }
        let found: Option<[Value; 3]> = match self.lookup.as_mut() {
            Some(stmt) => stmt
                .query_row([String::from_utf8_lossy(id)], |r| {
                    Ok([r.get(0)?, r.get(1)?, r.get(2)?])
                })
                .optional()?,
            None => None,
        };
        let columns = match &found {
            Some(cells) => {
                let refs = [
                    ValueRef::from(&cells[0]),
                    ValueRef::from(&cells[1]),
                    ValueRef::from(&cells[2]),
                ];
                self.columns_of(refs)
            }
            None => [NO_SEGMENT; 3],
        };
        Ok(self.add(id, columns))
    }

    /// Per dimension, the (distinct key, segment) a row of `id` and `channel` counts as.
    fn keys(&mut self, id: u32, channel: Option<&[u8]>) -> [(u32, u16); 4] {
        let mut out = [(0, NO_SEGMENT); 4];
        if let Some(channel) = channel {
            let segment = self.values[ORDER_CHANNEL].intern(channel);
            // (An id past u32's range has no number of its own: `add` gives it u32::MAX.)
            if segment != NO_SEGMENT && id != u32::MAX {
                let channel = usize::from(segment);
                if self.pairs.len() <= channel {
                    self.pairs.resize_with(channel + 1, Vec::new);
                }
                let row = &mut self.pairs[channel];
                if row.len() <= id as usize {
                    row.resize(id as usize + 1, NO_PAIR);
                }
                if row[id as usize] == NO_PAIR {
                    row[id as usize] = self.pair_count;
                    self.pair_count += 1;
                }
                out[ORDER_CHANNEL] = (row[id as usize], segment);
            }
        }
        let columns = self
            .columns
            .get(id as usize)
            .copied()
            .unwrap_or([NO_SEGMENT; 3]);
        for (c, segment) in columns.into_iter().enumerate() {
            out[c + 1] = (id, segment);
        }
        out
    }
}

/// A row as read: day, id, order channel, sums.
type Row = (NaiveDate, Vec<u8>, Option<Vec<u8>>, [i64; 5]);

fn read_row(row: &rusqlite::Row<'_>, sums: usize) -> rusqlite::Result<Option<Row>> {
    let Some(day) = row.get_ref(0)?.as_str().ok().and_then(parse_day) else {
        return Ok(None);
    };
    let ValueRef::Text(id) = row.get_ref(1)? else {
        return Ok(None);
    };
    let channel = match row.get_ref(2)? {
        ValueRef::Text(t) => Some(t.to_vec()),
        _ => None,
    };
    let mut values = [0i64; 5];
    for (i, v) in values.iter_mut().enumerate().take(sums) {
        *v = match row.get_ref(3 + i)? {
            ValueRef::Integer(n) => n,
            ValueRef::Real(r) => r as i64,
            _ => 0,
        };
    }
    Ok(Some((day, id.to_vec(), channel, values)))
}

/// Recounts the activity's segment rows of `days`: their day sums, and the distinct ids
/// of every period and window holding one of them.
pub(super) fn recount(
    conn: &Connection,
    activity: &SegmentActivity,
    days: &BTreeSet<NaiveDate>,
) -> rusqlite::Result<()> {
    if days.is_empty() {
        return Ok(());
    }
    let spans = Spans::of(activity.prefix, activity.windows, days);
    let stretches = spans.stretches();
    let length: i64 = stretches
        .iter()
        .map(|(from, to)| (*to - *from).num_days() + 1)
        .sum();
    let mut segmenter = Segmenter::new(conn, length > LOAD_ALL_CUSTOMERS_AFTER)?;
    let table = activity.table;
    let mut delete_days =
        conn.prepare_cached(&format!("DELETE FROM {table} WHERE day BETWEEN ?1 AND ?2"))?;
    for (from, to) in ranges(days, 1) {
        delete_days.execute(params![from.to_string(), to.to_string()])?;
    }
    let mut delete_span =
        conn.prepare_cached("DELETE FROM ru_segment_distinct WHERE kind = ?1 AND period = ?2")?;
    for &(slot, key) in &spans.keys {
        delete_span.execute(params![spans.kinds[slot].0, key.to_string()])?;
    }
    let mut insert_distinct = conn.prepare_cached(
        "INSERT INTO ru_segment_distinct (kind, period, dim, value, n) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?;
    // (day, dimension, segment) → sums, of the days asked for.
    let mut sums: BTreeMap<(NaiveDate, usize, u16), [i64; 5]> = BTreeMap::new();
    let mut add_sums = |segmenter: &mut Segmenter<'_>, row: &Row| {
        let id = segmenter.id(&row.1)?;
        let keys = segmenter.keys(id, row.2.as_deref());
        if days.contains(&row.0) {
            for (dim, &(_, segment)) in keys.iter().enumerate() {
                if segment != NO_SEGMENT {
                    let sum = sums.entry((row.0, dim, segment)).or_default();
                    for (s, v) in sum.iter_mut().zip(row.3) {
                        *s += v;
                    }
                }
            }
        }
        Ok::<_, rusqlite::Error>(keys)
    };
    let mut read = conn.prepare_cached(activity.rows)?;
    let mut emit = |values: &[Values; 4],
                    slot: usize,
                    key: NaiveDate,
                    dims: &[usize],
                    counts: &[Vec<i64>]| {
        if !spans.index.contains_key(&(slot, key)) {
            return Ok(());
        }
        let (kind, period) = (&spans.kinds[slot].0, key.to_string());
        for (&dim, counts) in dims.iter().zip(counts) {
            for (segment, &n) in counts.iter().enumerate() {
                if n > 0 {
                    let value = &values[dim].names[segment];
                    insert_distinct.execute(params![kind, period, DIMENSIONS[dim], value, n])?;
                }
            }
        }
        Ok::<_, rusqlite::Error>(())
    };
    for (from, to) in stretches {
        // The order channel counts (id, channel) pairs; the customer columns count ids,
        // one counter for the three of them.
        let mut channel_counters: Vec<Counter<1>> =
            spans.kinds.iter().map(|(_, r)| Counter::new(*r)).collect();
        let mut column_counters: Vec<Counter<3>> =
            spans.kinds.iter().map(|(_, r)| Counter::new(*r)).collect();
        let mut rows = read.query(params![from.to_string(), to.to_string()])?;
        let mut ahead = next_row(&mut rows, activity.sums)?;
        let mut channel_day: Vec<(u32, [u16; 1])> = Vec::new();
        let mut column_day: Vec<(u32, [u16; 3])> = Vec::new();
        let mut day = from;
        while day <= to {
            channel_day.clear();
            column_day.clear();
            while let Some(row) = &ahead {
                if row.0 > day {
                    break;
                }
                let keys = add_sums(&mut segmenter, row)?;
                if keys[ORDER_CHANNEL].1 != NO_SEGMENT {
                    channel_day.push((keys[ORDER_CHANNEL].0, [keys[ORDER_CHANNEL].1]));
                }
                let columns = [keys[1].1, keys[2].1, keys[3].1];
                if columns.iter().any(|&s| s != NO_SEGMENT) {
                    column_day.push((keys[1].0, columns));
                }
                ahead = next_row(&mut rows, activity.sums)?;
            }
            channel_day.sort_unstable();
            channel_day.dedup();
            column_day.sort_unstable();
            column_day.dedup();
            let widths: [usize; 4] = std::array::from_fn(|d| segmenter.values[d].names.len());
            for (slot, counter) in channel_counters.iter_mut().enumerate() {
                let pairs = segmenter.pair_count as usize;
                if let Some((key, counts)) = counter.step(day, &channel_day, pairs, [widths[0]]) {
                    emit(&segmenter.values, slot, key, &[ORDER_CHANNEL], counts)?;
                }
            }
            let ids = segmenter.columns.len();
            for (slot, counter) in column_counters.iter_mut().enumerate() {
                let columns = [widths[1], widths[2], widths[3]];
                if let Some((key, counts)) = counter.step(day, &column_day, ids, columns) {
                    emit(&segmenter.values, slot, key, &[1, 2, 3], counts)?;
                }
            }
            day += Duration::days(1);
        }
    }
    if let Some(sql) = activity.sums_only {
        let mut read = conn.prepare_cached(sql)?;
        for (from, to) in ranges(days, 1) {
            let mut rows = read.query(params![from.to_string(), to.to_string()])?;
            while let Some(row) = next_row(&mut rows, activity.sums)? {
                add_sums(&mut segmenter, &row)?;
            }
        }
    }
    write_sums(conn, activity, &segmenter, &sums)
}

fn write_sums(
    conn: &Connection,
    activity: &SegmentActivity,
    segmenter: &Segmenter<'_>,
    sums: &BTreeMap<(NaiveDate, usize, u16), [i64; 5]>,
) -> rusqlite::Result<()> {
    let mut insert = conn.prepare_cached(activity.insert)?;
    for ((day, dim, segment), values) in sums {
        let mut cells: Vec<Value> = vec![
            Value::Text(day.to_string()),
            Value::Text(DIMENSIONS[*dim].to_string()),
            Value::Text(segmenter.values[*dim].names[usize::from(*segment)].clone()),
        ];
        cells.extend(values[..activity.sums].iter().map(|v| Value::Integer(*v)));
        insert.execute(params_from_iter(cells))?;
    }
    Ok(())
}

/// The spans of the activity's distinct counts holding `days`.
pub(super) fn spans_of(activity: &SegmentActivity, days: &BTreeSet<NaiveDate>) -> Spans {
    Spans::of(activity.prefix, activity.windows, days)
}

/// Changes of the segment rows by the ids an import touched.
#[derive(Debug, Default)]
pub(super) struct Deltas {
    /// By (span of [`Spans`], dimension, segment value).
    distinct: HashMap<(usize, usize, String), i64>,
    /// By (day, dimension, segment value).
    sums: HashMap<(NaiveDate, usize, String), [i64; 5]>,
}

/// Adds `sign` × the contributions of the ids an import touched: to the distinct counts
/// of the spans holding the days written (an id, by order channel an id and a channel,
/// counts 1 in its segment of every span holding one of its days), and to the day sums
/// of the days written. Taken before and after the day rollups are rewritten, the
/// difference is the change of every segment row, read from the touched ids' rows
/// instead of every id's (as `per_id` keeps `ru_distinct`).
pub(super) fn contribute(
    conn: &Connection,
    activity: &SegmentActivity,
    spans: &Spans,
    days: &BTreeSet<NaiveDate>,
    sign: i64,
    out: &mut Deltas,
) -> rusqlite::Result<()> {
    let mut segmenter = Segmenter::new(conn, false)?;
    let mut held: BTreeSet<(usize, usize, u32, u16)> = BTreeSet::new();
    let mut sums: HashMap<(NaiveDate, usize, u16), [i64; 5]> = HashMap::new();
    let mut read = conn.prepare_cached(activity.touched_rows)?;
    for (from, to) in spans.stretches() {
        let mut rows = read.query(params![from.to_string(), to.to_string()])?;
        while let Some((day, id, channel, values)) = next_row(&mut rows, activity.sums)? {
            let id = segmenter.id(&id)?;
            let keys = segmenter.keys(id, channel.as_deref());
            spans.holding(day, |span| {
                for (dim, &(key, segment)) in keys.iter().enumerate() {
                    if segment != NO_SEGMENT {
                        held.insert((span, dim, key, segment));
                    }
                }
            });
            if days.contains(&day) {
                for (dim, &(_, segment)) in keys.iter().enumerate() {
                    if segment != NO_SEGMENT {
                        let sum = sums.entry((day, dim, segment)).or_default();
                        for (s, v) in sum.iter_mut().zip(values) {
                            *s += v;
                        }
                    }
                }
            }
        }
    }
    let name = |dim: usize, segment: u16| segmenter.values[dim].names[usize::from(segment)].clone();
    for (span, dim, _, segment) in held {
        *out.distinct
            .entry((span, dim, name(dim, segment)))
            .or_default() += sign;
    }
    for ((day, dim, segment), values) in sums {
        let sum = out.sums.entry((day, dim, name(dim, segment))).or_default();
        for (s, v) in sum.iter_mut().zip(values) {
            *s += sign * v;
        }
    }
    Ok(())
}

/// Adds the changes to the segment rows, dropping those they bring to zero (a recount
/// writes none).
pub(super) fn write(
    conn: &Connection,
    activity: &SegmentActivity,
    spans: &Spans,
    deltas: &Deltas,
) -> rusqlite::Result<()> {
    let mut distinct = DISTINCT.writer(conn)?;
    for ((span, dim, value), &n) in &deltas.distinct {
        let (slot, key) = spans.keys[*span];
        let kind = &spans.kinds[slot].0;
        distinct.add(&[kind, &key.to_string(), &DIMENSIONS[*dim], value], &[n])?;
    }
    let mut sums = activity.day_sums().writer(conn)?;
    for ((day, dim, value), values) in &deltas.sums {
        let key: [&dyn rusqlite::ToSql; 3] = [&day.to_string(), &DIMENSIONS[*dim], value];
        sums.add(&key, &values[..activity.sums])?;
    }
    Ok(())
}

/// Recounts the refunds of the segments' order rows of `days` (the refunds written, or
/// those of orders written on other days, whose channel or customer may have changed).
pub(super) fn recount_refunds(
    conn: &Connection,
    days: &BTreeSet<NaiveDate>,
) -> rusqlite::Result<()> {
    let activity = &ORDER_SEGMENTS;
    let Some(refunds_sql) = activity.sums_only else {
        return Ok(());
    };
    let mut segmenter = Segmenter::new(conn, false)?;
    let mut refunds: BTreeMap<(NaiveDate, usize, u16), i64> = BTreeMap::new();
    for (from, to) in ranges(days, 1) {
        let range = params![from.to_string(), to.to_string()];
        conn.prepare_cached(
            "UPDATE ru_segment_orders_day SET refunds = 0 WHERE day BETWEEN ?1 AND ?2",
        )?
        .execute(range)?;
        let mut read = conn.prepare_cached(refunds_sql)?;
        let mut rows = read.query(range)?;
        while let Some((day, id, channel, values)) = next_row(&mut rows, activity.sums)? {
            if !days.contains(&day) {
                continue;
            }
            let id = segmenter.id(&id)?;
            for (dim, (_, segment)) in segmenter
                .keys(id, channel.as_deref())
                .into_iter()
                .enumerate()
            {
                if segment != NO_SEGMENT {
                    *refunds.entry((day, dim, segment)).or_default() += values[4];
                }
            }
        }
    }
    let mut sums = activity.day_sums().writer(conn)?;
    for ((day, dim, segment), amount) in refunds {
        let value = &segmenter.values[dim].names[usize::from(segment)];
        sums.add(
            &[&day.to_string(), &DIMENSIONS[dim], value],
            &[0, 0, 0, 0, amount],
        )?;
    }
    for (from, to) in ranges(days, 1) {
        conn.prepare_cached(
            "DELETE FROM ru_segment_orders_day WHERE day BETWEEN ?1 AND ?2
             AND orders = 0 AND revenue = 0 AND discount = 0 AND cost = 0 AND refunds = 0",
        )?
        .execute(params![from.to_string(), to.to_string()])?;
    }
    Ok(())
}

impl SegmentActivity {
    /// The day sums' table as a table of counts.
    fn day_sums(&self) -> Counts {
        Counts {
            table: self.table,
            keys: &["day", "dim", "value"],
            counts: self.sum_columns,
        }
    }
}

/// Distinct ids per period or window and segment.
const DISTINCT: Counts = Counts {
    table: "ru_segment_distinct",
    keys: &["kind", "period", "dim", "value"],
    counts: &["n"],
};

fn next_row(rows: &mut rusqlite::Rows<'_>, sums: usize) -> rusqlite::Result<Option<Row>> {
    while let Some(row) = rows.next()? {
        if let Some(read) = read_row(row, sums)? {
            return Ok(Some(read));
        }
    }
    Ok(None)
}

/// Repeat-purchase deltas per (dimension, segment, day): the sum of the customers'
/// `dates::repeat_deltas` (by order channel: of each customer's orders of that channel).
#[derive(Debug, Default)]
pub(super) struct RepeatSums {
    /// By (dimension, index of the segment value in `values`, day).
    sums: HashMap<(usize, u32, NaiveDate), (i64, i64)>,
    values: Vec<String>,
    index: HashMap<String, u32>,
}

impl RepeatSums {
    /// The index of a segment value: the sums outlive the `Segmenter` that named it.
    fn value(&mut self, name: &str) -> u32 {
        if let Some(&i) = self.index.get(name) {
            return i;
        }
        let i = u32::try_from(self.values.len()).unwrap_or(u32::MAX);
        self.values.push(name.to_string());
        self.index.insert(name.to_string(), i);
        i
    }
}

/// Whose order history [`contribute_repeats`] reads.
#[derive(Debug, Clone, Copy)]
pub(super) enum RepeatScope<'d> {
    /// Every customer's whole history (a rebuild).
    Every,
    /// The customers in `temp.ru_touched_customers`, their orders within 13 months either
    /// side of `days` (the days an import wrote). An order on day `D` moves only the
    /// window ends `D ≤ e < D + 12 months`, whose windows hold orders after `D − 12
    /// months`; for every other window end the history read before and after the write
    /// agrees, so the difference of the two contributions is that of the whole histories.
    Touched(&'d BTreeSet<NaiveDate>),
}

/// Adds `sign` × the repeat-purchase contributions of the customers `scope` names, read
/// one customer at a time (through the customer index) so memory holds one customer's
/// days, not every customer's.
pub(super) fn contribute_repeats(
    conn: &Connection,
    scope: RepeatScope<'_>,
    sign: i64,
    sums: &mut RepeatSums,
) -> rusqlite::Result<()> {
    const MARGIN: chrono::Months = chrono::Months::new(13);
    let (every, from, to) = match scope {
        RepeatScope::Every => (true, NaiveDate::MIN, NaiveDate::MAX),
        RepeatScope::Touched(days) => {
            let (Some(first), Some(last)) = (days.first(), days.last()) else {
                return Ok(());
            };
            (
                false,
                first.checked_sub_months(MARGIN).unwrap_or(NaiveDate::MIN),
                last.checked_add_months(MARGIN).unwrap_or(NaiveDate::MAX),
            )
        }
    };
    let sql = if every {
        "SELECT customer_id, channel, day, orders FROM ru_order_customers_day
         ORDER BY customer_id"
    } else {
        "SELECT customer_id, channel, day, orders FROM ru_order_customers_day
         WHERE customer_id IN (SELECT id FROM temp.ru_touched_customers)
           AND day BETWEEN ?1 AND ?2
         ORDER BY customer_id"
    };
    let mut segmenter = Segmenter::new(conn, every)?;
    let mut stmt = conn.prepare_cached(sql)?;
    let mut read = if every {
        stmt.query([])?
    } else {
        stmt.query([from.to_string(), to.to_string()])?
    };
    // The current customer's (order channel, day, orders).
    let mut customer: Option<u32> = None;
    let mut days: Vec<(u16, i32, i64)> = Vec::new();
    while let Some(row) = read.next()? {
        let (ValueRef::Text(id), ValueRef::Text(channel)) = (row.get_ref(0)?, row.get_ref(1)?)
        else {
            continue;
        };
        let Some(day) = row.get_ref(2)?.as_str().ok().and_then(parse_day) else {
            continue;
        };
        let id = segmenter.id(id)?;
        if customer != Some(id) {
            if let Some(done) = customer {
                add_customer_repeats(&segmenter, done, &mut days, sign, sums);
            }
            customer = Some(id);
            days.clear();
        }
        let channel = segmenter.values[ORDER_CHANNEL].intern(channel);
        days.push((channel, day_number(day), row.get(3)?));
    }
    if let Some(done) = customer {
        add_customer_repeats(&segmenter, done, &mut days, sign, sums);
    }
    Ok(())
}

/// Adds `sign` × one customer's repeat-purchase contributions, from their (order channel,
/// day, orders) rows: by order channel, each channel's days; by the customer's columns,
/// the days of every channel together.
fn add_customer_repeats(
    segmenter: &Segmenter<'_>,
    customer: u32,
    rows: &mut [(u16, i32, i64)],
    sign: i64,
    sums: &mut RepeatSums,
) {
    let mut add = |dim: usize, segment: u16, days: &[(NaiveDate, i64)]| {
        let Some(name) = segmenter.values[dim].names.get(usize::from(segment)) else {
            return;
        };
        let value = sums.value(name);
        for (day, ge1, ge2) in crate::dates::repeat_deltas(days) {
            let e = sums.sums.entry((dim, value, day)).or_default();
            e.0 += sign * ge1;
            e.1 += sign * ge2;
        }
    };
    rows.sort_unstable();
    for channel in rows.chunk_by(|a, b| a.0 == b.0) {
        let days: Vec<(NaiveDate, i64)> = channel
            .iter()
            .filter_map(|r| Some((date_of(r.1)?, r.2)))
            .collect();
        add(ORDER_CHANNEL, channel[0].0, &days);
    }
    let mut merged: BTreeMap<i32, i64> = BTreeMap::new();
    for r in rows.iter() {
        *merged.entry(r.1).or_default() += r.2;
    }
    let days: Vec<(NaiveDate, i64)> = merged
        .into_iter()
        .filter_map(|(d, n)| Some((date_of(d)?, n)))
        .collect();
    let columns = segmenter
        .columns
        .get(customer as usize)
        .copied()
        .unwrap_or([NO_SEGMENT; 3]);
    for (c, segment) in columns.into_iter().enumerate() {
        add(c + 1, segment, &days);
    }
}

fn day_number(day: NaiveDate) -> i32 {
    chrono::Datelike::num_days_from_ce(&day)
}

fn date_of(number: i32) -> Option<NaiveDate> {
    NaiveDate::from_num_days_from_ce_opt(number)
}

/// Adds the non-zero sums to `ru_segment_repeat`, dropping rows they bring to zero (a
/// rebuild never holds such rows).
pub(super) fn write_repeats(conn: &Connection, sums: &RepeatSums) -> rusqlite::Result<()> {
    let mut repeats = Counts {
        table: "ru_segment_repeat",
        keys: &["day", "dim", "value"],
        counts: &["ge1", "ge2"],
    }
    .writer(conn)?;
    for ((dim, value, day), &(ge1, ge2)) in &sums.sums {
        let value = &sums.values[*value as usize];
        repeats.add(&[&day.to_string(), &DIMENSIONS[*dim], value], &[ge1, ge2])?;
    }
    Ok(())
}

/// Recounts `ru_segment_repeat` from every customer's order days.
pub(super) fn rebuild_repeats(conn: &Connection) -> rusqlite::Result<()> {
    conn.execute("DELETE FROM ru_segment_repeat", [])?;
    let mut sums = RepeatSums::default();
    contribute_repeats(conn, RepeatScope::Every, 1, &mut sums)?;
    write_repeats(conn, &sums)
}

#[cfg(test)]
mod tests {
    use rusqlite::params;

    use super::super::{Touched, dump_tables, refresh_all, refresh_touched};
    use super::*;
    use crate::dates::{Grain, Period};
    use crate::store::Store;

    const CUSTOMER_COLUMNS: [&str; 3] = ["c.channel", "c.plan", "c.region"];

    /// The segment rollups as their definition states them: `GROUP BY` of the per-day
    /// rollups joined to the customers, `COUNT(DISTINCT …)` over each period and window.
    fn by_definition(conn: &Connection) -> Vec<String> {
        let mut out = Vec::new();
        let (first, last): (Option<String>, Option<String>) = conn
            .query_row(
                "SELECT MIN(day), MAX(day) FROM (SELECT day FROM ru_order_customers_day
                 UNION SELECT day FROM ru_event_users_day UNION SELECT day FROM ru_refunds_day)",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        let (Some(first), Some(last)) = (
            first.as_deref().and_then(parse_day),
            last.as_deref().and_then(parse_day),
        ) else {
            return out;
        };
        let columns = ["o.channel"].into_iter().chain(CUSTOMER_COLUMNS);
        for (dim, column) in DIMENSIONS.iter().zip(columns) {
            let sql = format!(
                "SELECT day, value, SUM(orders), SUM(revenue), SUM(discount), SUM(cost),
                        SUM(refunds)
                 FROM (SELECT o.day, {column} AS value, orders, revenue, discount, cost,
                              0 AS refunds
                       FROM ru_order_customers_day o
                       LEFT JOIN customers c ON c.customer_id = o.customer_id
                       UNION ALL
                       SELECT o.day, {column}, 0, 0, 0, 0, amount FROM ru_refunds_day o
                       LEFT JOIN customers c ON c.customer_id = o.customer_id)
                 WHERE typeof(value) = 'text' GROUP BY day, value"
            );
            let mut stmt = conn.prepare(&sql).unwrap();
            let rows = stmt
                .query_map([], |r| {
                    let cells: Vec<String> = (0..7)
                        .map(|i| format!("{:?}", r.get::<_, Value>(i).unwrap()))
                        .collect();
                    Ok(format!("orders {dim}: {}", cells.join(" | ")))
                })
                .unwrap();
            out.extend(rows.map(Result::unwrap));
        }
        for (dim, column) in DIMENSIONS[1..].iter().zip(CUSTOMER_COLUMNS) {
            let sql = format!(
                "SELECT e.day, {column}, COUNT(*), SUM(sessions) FROM ru_event_users_day e
                 LEFT JOIN customers c ON c.customer_id = e.user_id
                 WHERE typeof({column}) = 'text' GROUP BY e.day, {column}"
            );
            let mut stmt = conn.prepare(&sql).unwrap();
            let rows = stmt
                .query_map([], |r| {
                    let cells: Vec<String> = (0..4)
                        .map(|i| format!("{:?}", r.get::<_, Value>(i).unwrap()))
                        .collect();
                    Ok(format!("events {dim}: {}", cells.join(" | ")))
                })
                .unwrap();
            out.extend(rows.map(Result::unwrap));
        }
        // (kind, first day, last day, key) of every period and window the data reaches.
        let mut spans = Vec::new();
        let mut day = first;
        while day <= last + Duration::days(29) {
            for grain in Grain::ALL {
                let period = Period::containing(grain, day);
                if period.start == day || day == first {
                    for prefix in ["paying", "active"] {
                        let kind = format!("{prefix}_{grain}");
                        spans.push((kind, period.start, period.end(), period.start));
                    }
                }
            }
            for (kind, window) in super::super::WINDOWS {
                spans.push((kind.to_string(), day - Duration::days(window - 1), day, day));
            }
            day += Duration::days(1);
        }
        let mut counts = Vec::new();
        for (kind, from, to, key) in spans {
            let (rollup, id) = if kind.starts_with("paying") {
                ("ru_order_customers_day", "customer_id")
            } else {
                ("ru_event_users_day", "user_id")
            };
            let columns: Vec<(&str, &str)> = if kind.starts_with("paying") {
                DIMENSIONS
                    .iter()
                    .copied()
                    .zip(["o.channel"].into_iter().chain(CUSTOMER_COLUMNS))
                    .collect()
            } else {
                DIMENSIONS[1..]
                    .iter()
                    .copied()
                    .zip(CUSTOMER_COLUMNS)
                    .collect()
            };
            for (dim, column) in columns {
                let sql = format!(
                    "SELECT {column}, COUNT(DISTINCT o.{id}) FROM {rollup} o
                     LEFT JOIN customers c ON c.customer_id = o.{id}
                     WHERE o.day BETWEEN ?1 AND ?2 AND typeof({column}) = 'text'
                     GROUP BY {column}"
                );
                let mut stmt = conn.prepare(&sql).unwrap();
                let rows = stmt
                    .query_map(params![from.to_string(), to.to_string()], |r| {
                        Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))
                    })
                    .unwrap();
                for row in rows {
                    let (value, n) = row.unwrap();
                    counts.push(format!("distinct {kind} {key} {dim} {value:?} {n}"));
                }
            }
        }
        counts.sort();
        counts.dedup();
        out.extend(counts);
        out.sort();
        out
    }

    /// The segment rollups as written, in [`by_definition`]'s form.
    fn written(conn: &Connection) -> Vec<String> {
        let mut out = Vec::new();
        for dim in DIMENSIONS {
            for (table, sums, label) in [
                (
                    "ru_segment_orders_day",
                    "orders, revenue, discount, cost, refunds",
                    "orders",
                ),
                ("ru_segment_events_day", "users, sessions", "events"),
            ] {
                let mut stmt = conn
                    .prepare(&format!(
                        "SELECT day, value, {sums} FROM {table} WHERE dim = ?1"
                    ))
                    .unwrap();
                let width = stmt.column_count();
                let rows = stmt
                    .query_map([dim], |r| {
                        let cells: Vec<String> = (0..width)
                            .map(|i| format!("{:?}", r.get::<_, Value>(i).unwrap()))
                            .collect();
                        Ok(format!("{label} {dim}: {}", cells.join(" | ")))
                    })
                    .unwrap();
                out.extend(rows.map(Result::unwrap));
            }
        }
        let mut stmt = conn
            .prepare("SELECT kind, period, dim, value, n FROM ru_segment_distinct")
            .unwrap();
        let rows = stmt
            .query_map([], |r| {
                Ok(format!(
                    "distinct {} {} {} {:?} {}",
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, i64>(4)?
                ))
            })
            .unwrap();
        out.extend(rows.map(Result::unwrap));
        out.sort();
        out
    }

    fn dump(store: &Store) -> Vec<String> {
        dump_tables(store.conn(), &SEGMENT_TABLES, |x| format!("{x:?}")).unwrap()
    }

    struct Random(u64);

    impl Random {
        fn next(&mut self, n: u64) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0 % n
        }
    }

    /// Random batches of orders, refunds, events and customers (re-)written and refreshed
    /// as imports refresh them: orders moved to other customers, channels and days,
    /// customers moved to other plans, ids without a customers row, empty values.
    fn batches(seed: u64) -> Store {
        batches_over(seed, 80)
    }

    /// [`batches`] with the orders and events over `span` days.
    fn batches_over(seed: u64, span: u64) -> Store {
        let mut store = Store::open_in_memory().unwrap();
        let mut rng = Random(seed | 1);
        let start = parse_day("2025-01-20").unwrap();
        let channels = ["ads", "seo", ""];
        let plans = ["basic", "pro", ""];
        for batch in 0..6 {
            let mut touched = Touched::default();
            let conn = store.conn();
            for k in 0..(5 + rng.next(40)) {
                let day = start + Duration::days(rng.next(span) as i64);
                let customer = format!("c{}", rng.next(30));
                let order = format!("o{}", rng.next(120));
                let previous: Option<String> = conn
                    .query_row(
                        "SELECT order_date FROM orders WHERE order_id = ?1",
                        [&order],
                        |r| r.get(0),
                    )
                    .optional()
                    .unwrap();
                let previous_customer: Option<String> = conn
                    .query_row(
                        "SELECT customer_id FROM orders WHERE order_id = ?1",
                        [&order],
                        |r| r.get(0),
                    )
                    .optional()
                    .unwrap();
                let status = if rng.next(8) == 0 {
                    "cancelled"
                } else {
                    "completed"
                };
                let channel = channels[rng.next(3) as usize];
                conn.execute(
                    "INSERT OR REPLACE INTO orders
                         (order_id, customer_id, order_date, revenue, status, channel, discount)
                     VALUES (?1, ?2, ?3, ?4, ?5, NULLIF(?6, ''), ?7)",
                    params![
                        order,
                        customer,
                        day.to_string(),
                        100 + rng.next(900) as i64,
                        status,
                        channel,
                        rng.next(50) as i64
                    ],
                )
                .unwrap();
                touched.add_row("orders", &[day], Some(&customer));
                if let (Some(previous), Some(customer)) = (previous, previous_customer) {
                    let previous = parse_day(&previous).unwrap();
                    touched.add_row("orders", &[previous], Some(&customer));
                }
                if rng.next(5) == 0 {
                    let refund_day = day + Duration::days(rng.next(5) as i64);
                    conn.execute(
                        "INSERT OR REPLACE INTO refunds (refund_key, order_id, refund_date, amount)
                         VALUES (?1, ?2, ?3, ?4)",
                        params![format!("r{batch}-{k}"), order, refund_day.to_string(), 50],
                    )
                    .unwrap();
                    touched.add("refunds", refund_day);
                }
            }
            for k in 0..(5 + rng.next(40)) {
                let day = start + Duration::days(rng.next(span) as i64);
                let user = format!("c{}", rng.next(34));
                conn.execute(
                    "INSERT OR REPLACE INTO events (event_key, user_id, ts, day, name, session_id)
                     VALUES (?1, ?2, ?3 || 'T12:00:00Z', ?3, 'login', ?4)",
                    params![
                        format!("e{batch}-{k}"),
                        user,
                        day.to_string(),
                        format!("s{}", rng.next(3))
                    ],
                )
                .unwrap();
                touched.add_row("events", &[day], Some(&user));
            }
            // Customers c0…c24 only: the others stay without a row.
            for _ in 0..rng.next(12) {
                let id = format!("c{}", rng.next(25));
                let previous: Option<String> = conn
                    .query_row(
                        "SELECT signup_date FROM customers WHERE customer_id = ?1",
                        [&id],
                        |r| r.get(0),
                    )
                    .optional()
                    .unwrap();
                let signup = start - Duration::days(rng.next(40) as i64);
                conn.execute(
                    "INSERT OR REPLACE INTO customers (customer_id, signup_date, channel, plan, region)
                     VALUES (?1, ?2, NULLIF(?3, ''), ?4, 'eu')",
                    params![id, signup.to_string(), channels[rng.next(3) as usize],
                            plans[rng.next(3) as usize]],
                )
                .unwrap();
                let previous = previous.as_deref().and_then(parse_day);
                touched.add_previous(
                    "customers",
                    &id,
                    previous.as_ref().map(std::slice::from_ref),
                );
                touched.add_row("customers", &[signup], Some(&id));
            }
            refresh_touched(&mut store, &touched).unwrap();
        }
        store
    }

    #[test]
    fn refreshed_segment_rollups_equal_their_definition_and_a_rebuild() {
        for seed in [3, 17, 2025, 99_991] {
            let mut store = batches(seed);
            let refreshed = written(store.conn());
            assert!(
                refreshed.iter().any(|r| r.contains("\"pro\"")),
                "{refreshed:?}"
            );
            assert!(
                refreshed
                    .iter()
                    .any(|r| r.starts_with("distinct active_30d"))
            );
            assert_eq!(refreshed, by_definition(store.conn()), "seed {seed}");
            let incremental = dump(&store);
            refresh_all(&mut store).unwrap();
            let rebuilt = dump(&store);
            let only = |a: &[String], b: &[String]| -> Vec<String> {
                a.iter().filter(|r| !b.contains(r)).cloned().collect()
            };
            assert_eq!(
                incremental,
                rebuilt,
                "seed {seed}: only refreshed {:?}, only rebuilt {:?}",
                only(&incremental, &rebuilt),
                only(&rebuilt, &incremental)
            );
        }
    }

    #[test]
    fn a_reorder_just_under_a_year_after_the_last_is_a_repeat_as_in_a_rebuild() {
        // One append per order, each touching its day only: the append of 20 December
        // must read the order of 10 January before it (345 days back) to count the
        // customer's second order within twelve months, and the one of 5 January 2026
        // the order of 20 December.
        let mut store = Store::open_in_memory().unwrap();
        store
            .conn()
            .execute(
                "INSERT INTO customers (customer_id, signup_date, channel, plan, region)
                 VALUES ('c1', '2024-01-01', 'ads', 'pro', 'eu')",
                [],
            )
            .unwrap();
        for (order, day) in [
            ("o1", "2024-01-10"),
            ("o2", "2024-12-20"),
            ("o3", "2026-01-05"),
        ] {
            store
                .conn()
                .execute(
                    "INSERT INTO orders (order_id, customer_id, order_date, revenue, status, channel)
                     VALUES (?1, 'c1', ?2, 1000, 'completed', 'ads')",
                    params![order, day],
                )
                .unwrap();
            let mut touched = Touched::default();
            touched.add_row("orders", &[parse_day(day).unwrap()], Some("c1"));
            refresh_touched(&mut store, &touched).unwrap();
        }
        let repeats = |store: &Store| {
            dump_tables(store.conn(), &["ru_segment_repeat"], |x| format!("{x:?}")).unwrap()
        };
        let incremental = repeats(&store);
        refresh_all(&mut store).unwrap();
        assert_eq!(incremental, repeats(&store));
    }

    #[test]
    fn repeat_purchases_refreshed_over_years_of_orders_equal_a_rebuild() {
        // Orders over three years: a customer's orders before and after the written days
        // lie more than a year apart, so the history an append reads for the windows it
        // moves (13 months either side) is narrower than the customer's.
        for seed in [5, 41, 2026] {
            let mut store = batches_over(seed, 3 * 365);
            let repeats = |store: &Store| {
                dump_tables(store.conn(), &["ru_segment_repeat"], |x| format!("{x:?}")).unwrap()
            };
            let incremental = repeats(&store);
            assert!(incremental.len() > 100, "{}", incremental.len());
            refresh_all(&mut store).unwrap();
            assert_eq!(incremental, repeats(&store), "seed {seed}");
        }
    }
}
