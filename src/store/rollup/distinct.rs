//! Distinct counts that cannot be summed from days (`ru_distinct`): ids active in a day,
//! week or month, and in the trailing window ending on a day. A rebuild recounts them
//! from a per-day-per-id rollup; maintenance adds the touched ids' changes (see
//! [`Spans`]).

use std::collections::{BTreeSet, HashMap, VecDeque};

use chrono::{Duration, NaiveDate};
use rusqlite::types::ValueRef;
use rusqlite::{Connection, params};

use super::interner::Interner;
use crate::dates::parse_day;
use crate::dates::{Grain, Period};

/// How a kind of count reaches from a day to the periods that hold it.
#[derive(Debug, Clone, Copy)]
pub(super) enum Reach {
    /// The calendar period of the grain holding the day.
    Period(Grain),
    /// The windows of this many days ending on the day and the days after it.
    Window(i64),
}

/// The `ru_distinct` rows an import can change: every period holding a touched day, for
/// each kind the activity counts. An id's contribution to a row is 1 when it is active on
/// a day the row's period holds, so a row changes by the touched ids' contributions after
/// the refresh minus before.
pub struct Spans {
    /// (kind, reach) per slot.
    pub(super) kinds: Vec<(String, Reach)>,
    /// (slot, period key) → index into `keys`.
    pub(super) index: HashMap<(usize, NaiveDate), usize>,
    /// (slot, period key) of each span.
    pub(super) keys: Vec<(usize, NaiveDate)>,
}

impl Spans {
    /// The spans of `prefix_{day,week,month}` and of the `windows` holding `days`.
    pub fn of(prefix: &str, windows: &[(&str, i64)], days: &BTreeSet<NaiveDate>) -> Self {
        let mut kinds: Vec<(String, Reach)> = Grain::ALL
            .into_iter()
            .map(|grain| (format!("{prefix}_{grain}"), Reach::Period(grain)))
            .collect();
        kinds.extend(
            windows
                .iter()
                .map(|&(kind, window)| (kind.to_string(), Reach::Window(window))),
        );
        let mut index = HashMap::new();
        let mut keys = Vec::new();
        for &day in days {
            for (slot, (_, reach)) in kinds.iter().enumerate() {
                for key in keys_holding(*reach, day) {
                    index.entry((slot, key)).or_insert_with(|| {
                        keys.push((slot, key));
                        keys.len() - 1
                    });
                }
            }
        }
        Self { kinds, index, keys }
    }

    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// The days each span counts over, merged into disjoint stretches in day order.
    pub(super) fn stretches(&self) -> Vec<(NaiveDate, NaiveDate)> {
        let mut covered: Vec<(NaiveDate, NaiveDate)> = self
            .keys
            .iter()
            .map(|&(slot, key)| match self.kinds[slot].1 {
                Reach::Period(grain) => (key, Period { grain, start: key }.end()),
                Reach::Window(window) => (key - Duration::days(window - 1), key),
            })
            .collect();
        covered.sort_unstable();
        let mut out: Vec<(NaiveDate, NaiveDate)> = Vec::new();
        for (from, to) in covered {
            match out.last_mut() {
                Some(last) if from <= last.1 + Duration::days(1) => last.1 = last.1.max(to),
                _ => out.push((from, to)),
            }
        }
        out
    }

    /// Calls `f` with the index of every span holding `day`.
    pub fn holding(&self, day: NaiveDate, mut f: impl FnMut(usize)) {
        for (slot, (_, reach)) in self.kinds.iter().enumerate() {
            for key in keys_holding(*reach, day) {
                if let Some(&i) = self.index.get(&(slot, key)) {
                    f(i);
                }
            }
        }
    }

    /// Adds `deltas` (one per span) to the cached counts.
    pub fn write(&self, conn: &Connection, deltas: &[i64]) -> rusqlite::Result<()> {
        let mut add = conn.prepare_cached(
            "INSERT INTO ru_distinct (kind, period, n) VALUES (?1, ?2, ?3)
             ON CONFLICT (kind, period) DO UPDATE SET n = n + excluded.n",
        )?;
        for (&(slot, key), &delta) in self.keys.iter().zip(deltas) {
            if delta != 0 {
                add.execute(params![self.kinds[slot].0, key.to_string(), delta])?;
            }
        }
        Ok(())
    }
}

/// The keys (first day of a period, last day of a window) of the periods holding `day`.
fn keys_holding(reach: Reach, day: NaiveDate) -> impl Iterator<Item = NaiveDate> {
    let (first, count) = match reach {
        Reach::Period(grain) => (Period::containing(grain, day).start, 1),
        Reach::Window(window) => (day, window),
    };
    (0..count).map(move |k| first + Duration::days(k))
}

/// Recounts the `ru_distinct` rows of `prefix_{day,week,month}` and of the `windows`
/// holding `days` from a per-day-per-id rollup (`table`, ids in column `id`), whatever
/// they held before.
///
/// One pass over the rollup in day order per stretch of days the counts read, instead of
/// a `COUNT(DISTINCT …)` per period and day: ids are numbered as they come, and each kind
/// keeps, per id, the last period it was counted in (periods) or how many of the window's
/// days hold it (windows). Memory: the ids and the days of the longest window.
pub fn recount(
    conn: &Connection,
    prefix: &str,
    windows: &[(&str, i64)],
    table: &str,
    id: &str,
    days: &BTreeSet<NaiveDate>,
) -> rusqlite::Result<()> {
    let spans = Spans::of(prefix, windows, days);
    let mut read = conn.prepare_cached(&format!(
        "SELECT day, {id} FROM {table} WHERE day BETWEEN ?1 AND ?2 ORDER BY day"
    ))?;
    let mut insert = conn.prepare_cached(
        "INSERT OR REPLACE INTO ru_distinct (kind, period, n) VALUES (?1, ?2, ?3)",
    )?;
    for (from, to) in spans.stretches() {
        let mut ids = Ids::default();
        let mut counters: Vec<Counter<1>> =
            spans.kinds.iter().map(|(_, r)| Counter::new(*r)).collect();
        let mut rows = read.query(params![from.to_string(), to.to_string()])?;
        // The first row not yet taken, read ahead; `None` once every row is taken.
        let mut ahead = next_numbered(&mut rows, &mut ids)?;
        let mut on_day: Vec<(u32, [u16; 1])> = Vec::new();
        let mut day = from;
        while day <= to {
            on_day.clear();
            while let Some((row_day, i)) = ahead {
                if row_day > day {
                    break;
                }
                // Rows come in day order: none is earlier than the day being counted.
                on_day.push((i, [0]));
                ahead = next_numbered(&mut rows, &mut ids)?;
            }
            on_day.sort_unstable();
            on_day.dedup();
            for (slot, counter) in counters.iter_mut().enumerate() {
                if let Some((key, [n])) = counter.step(day, &on_day, ids.len(), [1])
                    && spans.index.contains_key(&(slot, key))
                {
                    insert.execute(params![spans.kinds[slot].0, key.to_string(), n[0]])?;
                }
            }
            day += Duration::days(1);
        }
    }
    Ok(())
}

/// Recounts the adopters of the periods holding `days`: `adopters_{day,week,month}` of
/// `ru_distinct` (users with a `feature_used` event) and, per feature, of
/// `ru_feature_distinct` (users of that feature; a feature without any has no row), in
/// one pass over `ru_feature_users_day` per stretch of days, as [`recount`] counts.
/// A user counts once per feature: ids are (feature, user) pairs, each in its feature's
/// segment.
pub fn recount_adopters(conn: &Connection, days: &BTreeSet<NaiveDate>) -> rusqlite::Result<()> {
    let spans = Spans::of("adopters", &[], days);
    let mut read = conn.prepare_cached(
        "SELECT day, feature, user_id FROM ru_feature_users_day
         WHERE day BETWEEN ?1 AND ?2 ORDER BY day",
    )?;
    let mut total = conn.prepare_cached(
        "INSERT OR REPLACE INTO ru_distinct (kind, period, n) VALUES (?1, ?2, ?3)",
    )?;
    let mut clear =
        conn.prepare_cached("DELETE FROM ru_feature_distinct WHERE kind = ?1 AND period = ?2")?;
    let mut insert = conn.prepare_cached(
        "INSERT INTO ru_feature_distinct (kind, period, feature, n) VALUES (?1, ?2, ?3, ?4)",
    )?;
    for (from, to) in spans.stretches() {
        let mut numbered = Adopters::default();
        let mut totals: Vec<Counter<1>> =
            spans.kinds.iter().map(|(_, r)| Counter::new(*r)).collect();
        let mut by_feature: Vec<Counter<1>> =
            spans.kinds.iter().map(|(_, r)| Counter::new(*r)).collect();
        let mut rows = read.query(params![from.to_string(), to.to_string()])?;
        let mut ahead = numbered.next(&mut rows)?;
        let mut on_day: Vec<Segmented<1>> = Vec::new();
        let mut pairs_on_day: Vec<Segmented<1>> = Vec::new();
        let mut day = from;
        while day <= to {
            on_day.clear();
            pairs_on_day.clear();
            while let Some((row_day, user, pair, feature)) = ahead {
                if row_day > day {
                    break;
                }
                on_day.push((user, [0]));
                pairs_on_day.push((pair, [feature]));
                ahead = numbered.next(&mut rows)?;
            }
            on_day.sort_unstable();
            on_day.dedup();
            pairs_on_day.sort_unstable();
            pairs_on_day.dedup();
            for (slot, (counter, per_feature)) in
                totals.iter_mut().zip(by_feature.iter_mut()).enumerate()
            {
                let kind = &spans.kinds[slot].0;
                let wanted = |key: NaiveDate| spans.index.contains_key(&(slot, key));
                if let Some((key, [n])) = counter.step(day, &on_day, numbered.users.len(), [1])
                    && wanted(key)
                {
                    total.execute(params![kind, key.to_string(), n[0]])?;
                }
                let (pairs, features) = (numbered.pairs.len(), numbered.names.len());
                if let Some((key, [n])) = per_feature.step(day, &pairs_on_day, pairs, [features])
                    && wanted(key)
                {
                    let period = key.to_string();
                    clear.execute(params![kind, period])?;
                    for (name, n) in numbered.names.iter().zip(n) {
                        if *n > 0 {
                            insert.execute(params![kind, period, name, n])?;
                        }
                    }
                }
            }
            day += Duration::days(1);
        }
    }
    Ok(())
}

/// Users, features and (feature, user) pairs numbered as they come, for
/// [`recount_adopters`].
#[derive(Default)]
struct Adopters {
    users: Ids,
    features: Ids,
    /// Each feature's stored text, by its number.
    names: Vec<String>,
    pairs: HashMap<(u32, u32), u32>,
}

impl Adopters {
    /// The next row of `rows` (day, feature, user) with a day, a feature and a user: (day,
    /// user, pair, feature) numbers.
    fn next(
        &mut self,
        rows: &mut rusqlite::Rows<'_>,
    ) -> rusqlite::Result<Option<(NaiveDate, u32, u32, u16)>> {
        while let Some(row) = rows.next()? {
            let Some(day) = row.get_ref(0)?.as_str().ok().and_then(parse_day) else {
                continue;
            };
            let value = row.get_ref(1)?;
            let (Some(feature), Some(user)) = (
                self.features.number(value),
                self.users.number(row.get_ref(2)?),
            ) else {
                continue;
            };
            let Ok(segment) = u16::try_from(feature) else {
                continue;
            };
            if feature as usize == self.names.len() {
                // The column is NOT NULL TEXT: features are stored as text.
                self.names.push(match value {
                    ValueRef::Text(t) => String::from_utf8_lossy(t).into_owned(),
                    other => format!("{other:?}"),
                });
            }
            let fresh = u32::try_from(self.pairs.len()).unwrap_or(u32::MAX);
            let pair = *self.pairs.entry((feature, user)).or_insert(fresh);
            return Ok(Some((day, user, pair, segment)));
        }
        Ok(None)
    }
}

/// The next row of `rows` (day, id) with a day and an id, its id numbered.
fn next_numbered(
    rows: &mut rusqlite::Rows<'_>,
    ids: &mut Ids,
) -> rusqlite::Result<Option<(NaiveDate, u32)>> {
    while let Some(row) = rows.next()? {
        let Some(day) = row.get_ref(0)?.as_str().ok().and_then(parse_day) else {
            continue;
        };
        if let Some(i) = ids.number(row.get_ref(1)?) {
            return Ok(Some((day, i)));
        }
    }
    Ok(None)
}

/// Ids of any type numbered in the order they come.
#[derive(Default)]
struct Ids {
    /// Each id's bytes after a byte naming its type: SQLite tells `1` from `'1'`.
    numbers: Interner,
    key: Vec<u8>,
}

impl Ids {
    /// The number of an id; `None` for NULL, which `COUNT(DISTINCT …)` skips.
    fn number(&mut self, value: ValueRef<'_>) -> Option<u32> {
        self.key.clear();
        match value {
            ValueRef::Null => return None,
            ValueRef::Text(t) => {
                self.key.push(b't');
                self.key.extend_from_slice(t);
            }
            ValueRef::Blob(b) => {
                self.key.push(b'b');
                self.key.extend_from_slice(b);
            }
            ValueRef::Integer(n) => {
                self.key.push(b'i');
                self.key.extend_from_slice(&n.to_le_bytes());
            }
            ValueRef::Real(r) => {
                self.key.push(b'r');
                self.key.extend_from_slice(&r.to_bits().to_le_bytes());
            }
        }
        self.numbers.intern(&self.key)
    }

    fn len(&self) -> usize {
        self.numbers.len()
    }
}

/// No segment in a dimension: the id is counted in none of its values.
pub(super) const NO_SEGMENT: u16 = u16::MAX;

/// An id's number and its segment in each of `D` dimensions.
pub(super) type Segmented<const D: usize> = (u32, [u16; D]);

/// One kind's running count over the days of a stretch, a day at a time, per segment of
/// each of `D` dimensions: an id belongs to one segment of each (segment 0 of one
/// dimension for a plain count), or to none ([`NO_SEGMENT`]). The dimensions share the
/// per-id state, which is what grows with the ids: counting the customer columns' three
/// dimensions in one counter keeps one stamp per customer, not three.
pub(super) enum Counter<const D: usize> {
    /// The distinct ids of the current period; `stamp[id]` is the period it was last
    /// counted in (periods numbered from 1).
    Period {
        grain: Grain,
        current: Option<NaiveDate>,
        number: u32,
        stamp: Vec<u32>,
        n: [Vec<i64>; D],
    },
    /// The window's days' ids, and per id the number of those days holding it.
    Window {
        window: i64,
        days: VecDeque<(NaiveDate, Vec<Segmented<D>>)>,
        holding: Vec<u32>,
        n: [Vec<i64>; D],
    },
}

impl<const D: usize> Counter<D> {
    pub(super) fn new(reach: Reach) -> Self {
        match reach {
            Reach::Period(grain) => Counter::Period {
                grain,
                current: None,
                number: 0,
                stamp: Vec::new(),
                n: std::array::from_fn(|_| Vec::new()),
            },
            Reach::Window(window) => Counter::Window {
                window,
                days: VecDeque::new(),
                holding: Vec::new(),
                n: std::array::from_fn(|_| Vec::new()),
            },
        }
    }

    /// Takes in `day` and its ids (distinct, numbered below `ids`, each with its segment
    /// per dimension, numbered below that dimension's `widths`); returns a count whose
    /// span is complete: (key, distinct ids per dimension and segment).
    pub(super) fn step(
        &mut self,
        day: NaiveDate,
        on_day: &[(u32, [u16; D])],
        ids: usize,
        widths: [usize; D],
    ) -> Option<(NaiveDate, &[Vec<i64>; D])> {
        let count = |n: &mut [Vec<i64>; D], segments: &[u16; D], by: i64| {
            for (counts, &segment) in n.iter_mut().zip(segments) {
                if segment != NO_SEGMENT {
                    counts[usize::from(segment)] += by;
                }
            }
        };
        let widen = |n: &mut [Vec<i64>; D]| {
            for (counts, &width) in n.iter_mut().zip(&widths) {
                if counts.len() < width {
                    counts.resize(width, 0);
                }
            }
        };
        match self {
            Counter::Period {
                grain,
                current,
                number,
                stamp,
                n,
            } => {
                let period = Period::containing(*grain, day);
                widen(n);
                if *current != Some(period.start) {
                    *current = Some(period.start);
                    *number += 1;
                    n.iter_mut().flatten().for_each(|c| *c = 0);
                }
                stamp.resize(ids, 0);
                for (i, segments) in on_day {
                    if stamp[*i as usize] != *number {
                        stamp[*i as usize] = *number;
                        count(n, segments, 1);
                    }
                }
                (period.end() == day).then_some((period.start, &*n))
            }
            Counter::Window {
                window,
                days,
                holding,
                n,
            } => {
                widen(n);
                holding.resize(ids, 0);
                for (i, segments) in on_day {
                    if holding[*i as usize] == 0 {
                        count(n, segments, 1);
                    }
                    holding[*i as usize] += 1;
                }
                days.push_back((day, on_day.to_vec()));
                while let Some((oldest, _)) = days.front() {
                    if (day - *oldest).num_days() < *window {
                        break;
                    }
                    if let Some((_, gone)) = days.pop_front() {
                        for (i, segments) in gone {
                            holding[i as usize] -= 1;
                            if holding[i as usize] == 0 {
                                count(n, &segments, -1);
                            }
                        }
                    }
                }
                // A window is complete once its first day was read: the caller's
                // stretch starts no later than that for every window it wants.
                Some((day, &*n))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn d(s: &str) -> NaiveDate {
        parse_day(s).unwrap()
    }

    /// The definition: each wanted row is `COUNT(DISTINCT id)` over the days it spans.
    fn by_definition(
        conn: &Connection,
        spans: &Spans,
        table: &str,
        id: &str,
    ) -> BTreeMap<(String, String), i64> {
        let mut out = BTreeMap::new();
        for &(slot, key) in &spans.keys {
            let (kind, reach) = &spans.kinds[slot];
            let (from, to) = match *reach {
                Reach::Period(grain) => (key, Period { grain, start: key }.end()),
                Reach::Window(window) => (key - Duration::days(window - 1), key),
            };
            let n: i64 = conn
                .query_row(
                    &format!(
                        "SELECT COUNT(DISTINCT {id}) FROM {table} WHERE day BETWEEN ?1 AND ?2"
                    ),
                    params![from.to_string(), to.to_string()],
                    |r| r.get(0),
                )
                .unwrap();
            out.insert((kind.clone(), key.to_string()), n);
        }
        out
    }

    #[test]
    fn one_pass_recounts_what_count_distinct_over_each_period_and_window_gives() {
        let store = crate::store::Store::open_in_memory().unwrap();
        let conn = store.conn();
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        let start = d("2024-12-20");
        for _ in 0..4000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            // Days with gaps (no row some weeks), users active on many days.
            let offset = (x % 200) as i64;
            if (offset / 9) % 4 == 3 {
                continue;
            }
            conn.execute(
                "INSERT OR IGNORE INTO ru_event_users_day (day, user_id, events, sessions)
                 VALUES (?1, ?2, 1, 1)",
                params![
                    (start + Duration::days(offset)).to_string(),
                    format!("u{}", (x >> 20) % 150)
                ],
            )
            .unwrap();
        }
        let windows = [("active_7d", 7), ("active_30d", 30)];
        let touched: [BTreeSet<NaiveDate>; 3] = [
            (0..200).map(|k| start + Duration::days(k)).collect(),
            [d("2025-01-01"), d("2025-01-02"), d("2025-05-30")].into(),
            [d("2025-02-28")].into(),
        ];
        for days in touched {
            conn.execute("DELETE FROM ru_distinct", []).unwrap();
            recount(
                conn,
                "active",
                &windows,
                "ru_event_users_day",
                "user_id",
                &days,
            )
            .unwrap();
            let spans = Spans::of("active", &windows, &days);
            let expected = by_definition(conn, &spans, "ru_event_users_day", "user_id");
            let mut written = BTreeMap::new();
            let mut stmt = conn
                .prepare("SELECT kind, period, n FROM ru_distinct")
                .unwrap();
            for row in stmt
                .query_map([], |r| Ok(((r.get(0)?, r.get(1)?), r.get(2)?)))
                .unwrap()
            {
                let (key, n): ((String, String), i64) = row.unwrap();
                written.insert(key, n);
            }
            assert!(expected.values().any(|&n| n == 0) || days.len() < 200);
            assert!(expected.values().any(|&n| n > 1));
            assert_eq!(written, expected, "{days:?}");
        }
    }

    #[test]
    fn adopters_per_feature_are_what_count_distinct_over_each_period_and_feature_gives() {
        let store = crate::store::Store::open_in_memory().unwrap();
        let conn = store.conn();
        let mut x: u64 = 0x2545_F491_4F6C_DD1D;
        let start = d("2024-12-20");
        for _ in 0..3000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let offset = (x % 120) as i64;
            if (offset / 9) % 4 == 3 {
                continue;
            }
            // A user uses several features, some on the same day.
            conn.execute(
                "INSERT OR IGNORE INTO ru_feature_users_day (day, feature, user_id)
                 VALUES (?1, ?2, ?3)",
                params![
                    (start + Duration::days(offset)).to_string(),
                    ["export", "share", "", "search"][((x >> 9) % 4) as usize],
                    format!("u{}", (x >> 20) % 90)
                ],
            )
            .unwrap();
        }
        let touched: [BTreeSet<NaiveDate>; 2] = [
            (0..120).map(|k| start + Duration::days(k)).collect(),
            [d("2025-01-01"), d("2025-02-28")].into(),
        ];
        for days in touched {
            conn.execute_batch("DELETE FROM ru_distinct; DELETE FROM ru_feature_distinct")
                .unwrap();
            recount_adopters(conn, &days).unwrap();
            let spans = Spans::of("adopters", &[], &days);
            let mut expected = BTreeMap::new();
            for &(slot, key) in &spans.keys {
                let (kind, reach) = &spans.kinds[slot];
                let Reach::Period(grain) = *reach else {
                    unreachable!("adopters are counted per period")
                };
                let end = Period { grain, start: key }.end();
                let mut stmt = conn
                    .prepare(
                        "SELECT feature, COUNT(DISTINCT user_id) FROM ru_feature_users_day
                         WHERE day BETWEEN ?1 AND ?2 GROUP BY feature",
                    )
                    .unwrap();
                let rows = stmt
                    .query_map(params![key.to_string(), end.to_string()], |r| {
                        Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))
                    })
                    .unwrap();
                for row in rows {
                    let (feature, n) = row.unwrap();
                    expected.insert((kind.clone(), key.to_string(), feature), n);
                }
            }
            let mut written = BTreeMap::new();
            let mut stmt = conn
                .prepare("SELECT kind, period, feature, n FROM ru_feature_distinct")
                .unwrap();
            for row in stmt
                .query_map([], |r| Ok(((r.get(0)?, r.get(1)?, r.get(2)?), r.get(3)?)))
                .unwrap()
            {
                let (key, n): ((String, String, String), i64) = row.unwrap();
                written.insert(key, n);
            }
            assert!(expected.values().any(|&n| n > 1));
            assert!(expected.keys().any(|(_, _, f)| f.is_empty()));
            assert_eq!(written, expected, "{days:?}");
            // The totals are every feature's users together, as before.
            let totals = by_definition(conn, &spans, "ru_feature_users_day", "user_id");
            let mut stmt = conn
                .prepare("SELECT kind, period, n FROM ru_distinct")
                .unwrap();
            let written: BTreeMap<(String, String), i64> = stmt
                .query_map([], |r| Ok(((r.get(0)?, r.get(1)?), r.get(2)?)))
                .unwrap()
                .map(Result::unwrap)
                .collect();
            assert_eq!(written, totals, "{days:?}");
        }
    }

    #[test]
    fn spans_hold_the_periods_and_windows_of_the_touched_days() {
        let days: BTreeSet<NaiveDate> = [d("2025-03-31"), d("2025-04-01")].into();
        let spans = Spans::of("paying", &[("active_7d", 7)], &days);
        // 2 days, 1 week (Mon 31 March), 2 months, windows ending 31 March … 7 April.
        assert_eq!(spans.len(), 2 + 1 + 2 + 8);
        let mut held = Vec::new();
        spans.holding(d("2025-04-03"), |i| held.push(spans.keys[i]));
        // Not its own day (untouched), but its week (from Monday 31 March), April and the
        // windows ending 3–7 April.
        assert_eq!(held.len(), 1 + 1 + 5, "{held:?}");
        assert!(held.contains(&(1, d("2025-03-31"))));
        assert!(held.contains(&(2, d("2025-04-01"))));
        let mut held = Vec::new();
        spans.holding(d("2025-02-10"), |i| held.push(i));
        assert!(held.is_empty());
    }
}
