//! Each user's first event of each name (`ru_first_event`): the earliest local day and the
//! earliest instant of the user's events of that name, each a `MIN` of its own stored
//! column as the metric (time to value) took them from the raw events. Every name is kept,
//! so a change of the configured activation event needs no recount.
//!
//! Timestamps are stored as UTC `YYYY-MM-DDTHH:MM:SSZ` text of one width, so the text
//! order is the order of the instants and `MIN(ts)` is the earliest instant.
//!
//! An import changes the rows of the (day, user) pairs it wrote, and no other row: the
//! pairs hold the old day and user of a replaced row as well as the new ones. So after an
//! import each written user's first is the earlier of its first before and the first
//! among the rows of the written pairs — unless the row that made the first before was
//! replaced: a first the written rows do not reach, whose day is a written day of the user
//! (or whose instant no row holds any longer), is counted again from the user's whole
//! history, found through the days of `ru_event_users_day`.

use rusqlite::Connection;
use rusqlite::types::ValueRef;

/// The definition, over the raw events: the rollup plan runs it too (`kpi sync`).
pub const FIRST_EVENTS_SELECT: &str =
    "SELECT name, user_id, MIN(day), MIN(ts) FROM events GROUP BY name, user_id";

const COLUMNS: &str = "name, user_id, day, ts";

/// Counts the table again from every event.
pub fn rebuild(conn: &Connection) -> rusqlite::Result<()> {
    conn.execute("DELETE FROM ru_first_event", [])?;
    super::with_indexes_deferred(conn, "ru_first_event", true, || {
        conn.execute(
            &format!("INSERT INTO ru_first_event ({COLUMNS}) {FIRST_EVENTS_SELECT}"),
            [],
        )?;
        Ok(())
    })
}

/// The local day of an instant lies within a day of its UTC day (offsets stay within
/// ±14 h): the days a row holding the instant `ts` can be dated.
fn days_around(ts: &str) -> String {
    let utc = format!("substr({ts}, 1, 10)");
    format!("date({utc}, '-1 day'), {utc}, date({utc}, '+1 day')")
}

/// Brings the firsts of the users of `pairs` (a temp table of the written `(day, id)`
/// pairs; `ids` the same users once) up to date with the raw events, after the import
/// wrote them and `ru_event_users_day` was refreshed.
pub fn refresh(conn: &Connection, ids: &str, pairs: &str) -> rusqlite::Result<()> {
    conn.execute_batch(
        "CREATE TEMP TABLE IF NOT EXISTS ru_first_event_written (
             name TEXT NOT NULL, user_id TEXT NOT NULL, day TEXT NOT NULL, ts TEXT NOT NULL,
             PRIMARY KEY (name, user_id)) WITHOUT ROWID;
         CREATE TEMP TABLE IF NOT EXISTS ru_first_event_stale (
             name TEXT NOT NULL, user_id TEXT NOT NULL,
             PRIMARY KEY (name, user_id)) WITHOUT ROWID;
         DELETE FROM temp.ru_first_event_written;
         DELETE FROM temp.ru_first_event_stale;",
    )?;
    // The firsts among the rows of the written pairs.
    conn.prepare_cached(&format!(
        "INSERT INTO temp.ru_first_event_written ({COLUMNS})
         SELECT e.name, e.user_id, MIN(e.day), MIN(e.ts)
         FROM temp.{pairs} p CROSS JOIN events e ON e.day = p.day AND e.user_id = p.id
         GROUP BY e.name, e.user_id"
    ))?
    .execute([])?;
    // The earlier of each and the first before; a row that stays is not written again
    // (an append of later events, the common case, rewrites no page).
    conn.prepare_cached(&format!(
        "INSERT INTO ru_first_event ({COLUMNS})
         SELECT {COLUMNS} FROM temp.ru_first_event_written WHERE 1
         ON CONFLICT (name, user_id) DO UPDATE
         SET day = MIN(day, excluded.day), ts = MIN(ts, excluded.ts)
         WHERE excluded.day < day OR excluded.ts < ts"
    ))?
    .execute([])?;
    // A first the written rows do not reach still stands when its row is on a day the
    // import did not write for the user: those rows are as they were. Otherwise its row
    // may be gone. (For the instant: no written row holds it, so any row still holding
    // it is on a day not written.)
    let around = days_around("f.ts");
    conn.prepare_cached(&format!(
        "INSERT INTO temp.ru_first_event_stale (name, user_id)
         SELECT f.name, f.user_id FROM temp.{ids} t
         CROSS JOIN ru_first_event f ON f.user_id = t.id
         LEFT JOIN temp.ru_first_event_written w ON w.name = f.name AND w.user_id = f.user_id
         WHERE (w.day IS NOT f.day
                AND EXISTS (SELECT 1 FROM temp.{pairs} p WHERE p.day = f.day AND p.id = f.user_id))
            OR (w.ts IS NOT f.ts
                AND EXISTS (SELECT 1 FROM temp.{pairs} p
                            WHERE p.day IN ({around}) AND p.id = f.user_id)
                AND NOT EXISTS (SELECT 1 FROM events e
                                WHERE e.day IN ({around}) AND e.user_id = f.user_id
                                  AND +e.name = f.name AND e.ts = f.ts))"
    ))?
    .execute([])?;
    // Those are counted again from the user's whole history (none left: no row). The
    // events are sought by day and user (`+name` keeps the name index out: it would read
    // every user's events of the name that day).
    conn.prepare_cached(
        "DELETE FROM ru_first_event
         WHERE (name, user_id) IN (SELECT name, user_id FROM temp.ru_first_event_stale)",
    )?
    .execute([])?;
    conn.prepare_cached(&format!(
        "INSERT INTO ru_first_event ({COLUMNS})
         SELECT s.name, s.user_id, MIN(e.day), MIN(e.ts) FROM temp.ru_first_event_stale s
         CROSS JOIN ru_event_users_day r ON r.user_id = s.user_id
         CROSS JOIN events e ON e.day = r.day AND e.user_id = r.user_id AND +e.name = s.name
         GROUP BY s.name, s.user_id"
    ))?
    .execute([])?;
    Ok(())
}

/// Every (name, user)'s earliest day and instant among the rows a pass over the events
/// read, kept in memory so that a bulk load or a rebuild writes `ru_first_event` without
/// sorting every event by name and user (a third of an events import did that sort).
///
/// Days and instants are kept as their digits (`YYYYMMDD`, `YYYYMMDDHHMMSS`): for text of
/// the stored shapes the text order is the order of the digits. A value of another shape
/// or type, or more pairs than [`Firsts::MAX_PAIRS`], gives up: the caller then counts
/// the table with [`FIRST_EVENTS_SELECT`].
#[derive(Default)]
pub(super) struct Firsts {
    names: std::collections::HashMap<String, u32, hashbrown::DefaultHashBuilder>,
    users: super::interner::Interner,
    /// (name << 32 | user) → (day, instant), as digits.
    pairs: std::collections::HashMap<u64, (u32, u64), hashbrown::DefaultHashBuilder>,
    given_up: bool,
}

impl Firsts {
    /// The bound on pairs: the map's table stays at 2^20 buckets (25 MB, 37 MB while it
    /// grows to that), so that with the 64 MiB page cache of an import a 10 M-row load
    /// keeps under the 200 MB peak RSS of SPEC §8 (181 MB measured with 800 k pairs).
    pub(super) const MAX_PAIRS: usize = (1 << 20) / 8 * 7;

    /// Takes one event's name, user, day and instant.
    pub(super) fn add(
        &mut self,
        name: ValueRef<'_>,
        user: ValueRef<'_>,
        day: ValueRef<'_>,
        ts: ValueRef<'_>,
    ) {
        if self.given_up {
            return;
        }
        let (ValueRef::Text(name), ValueRef::Text(user), ValueRef::Text(day), ValueRef::Text(ts)) =
            (name, user, day, ts)
        else {
            return self.give_up();
        };
        let (Some(day), Some(ts)) = (day_digits(day), instant_digits(ts)) else {
            return self.give_up();
        };
        let Ok(name) = std::str::from_utf8(name) else {
            return self.give_up();
        };
        let name = match self.names.get(name) {
            Some(&n) => n,
            None => {
                let n = self.names.len() as u32;
                self.names.insert(name.to_string(), n);
                n
            }
        };
        let known = self.users.len();
        let Some(user) = self.users.intern(user) else {
            return self.give_up();
        };
        // Written back as text: a new user must be UTF-8 (as every imported one is).
        if self.users.len() > known && std::str::from_utf8(self.users.bytes(user)).is_err() {
            return self.give_up();
        }
        let key = u64::from(name) << 32 | u64::from(user);
        let full = self.pairs.len() >= Self::MAX_PAIRS;
        match self.pairs.get_mut(&key) {
            Some(first) => {
                first.0 = first.0.min(day);
                first.1 = first.1.min(ts);
            }
            None if !full => {
                self.pairs.insert(key, (day, ts));
            }
            None => self.give_up(),
        }
    }

    pub(super) fn give_up(&mut self) {
        *self = Self {
            given_up: true,
            ..Self::default()
        };
    }

    pub(super) fn given_up(&self) -> bool {
        self.given_up
    }
}

/// `YYYY-MM-DD` as the number `YYYYMMDD`.
fn day_digits(text: &[u8]) -> Option<u32> {
    if text.len() != 10 || text[4] != b'-' || text[7] != b'-' {
        return None;
    }
    digits(text, &[0, 1, 2, 3, 5, 6, 8, 9]).map(|n| n as u32)
}

/// `YYYY-MM-DDTHH:MM:SSZ` (the stored UTC shape) as the number `YYYYMMDDHHMMSS`.
fn instant_digits(text: &[u8]) -> Option<u64> {
    if text.len() != 20
        || text[4] != b'-'
        || text[7] != b'-'
        || text[10] != b'T'
        || text[13] != b':'
        || text[16] != b':'
        || text[19] != b'Z'
    {
        return None;
    }
    digits(text, &[0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18])
}

fn digits(text: &[u8], at: &[usize]) -> Option<u64> {
    at.iter().try_fold(0u64, |n, &i| {
        let c = text[i];
        c.is_ascii_digit().then(|| n * 10 + u64::from(c - b'0'))
    })
}

/// Replaces the table with the firsts a pass collected (which read every event).
pub(super) fn write_collected(conn: &Connection, firsts: Firsts) -> rusqlite::Result<()> {
    debug_assert!(!firsts.given_up);
    conn.execute("DELETE FROM ru_first_event", [])?;
    let Firsts {
        names,
        users,
        pairs,
        ..
    } = firsts;
    let mut names: Vec<(String, u32)> = names.into_iter().collect();
    names.sort_unstable();
    // The rank of each name number in name order, so rows go in in key order.
    let mut rank = vec![0u32; names.len()];
    for (r, (_, n)) in names.iter().enumerate() {
        rank[*n as usize] = r as u32;
    }
    // The keys alone are sorted (a third of the memory of the pairs), the rest looked up.
    let mut keys: Vec<u64> = pairs.keys().copied().collect();
    keys.sort_unstable_by(|a, b| {
        let (an, bn) = (rank[(a >> 32) as usize], rank[(b >> 32) as usize]);
        an.cmp(&bn)
            .then_with(|| users.bytes(*a as u32).cmp(users.bytes(*b as u32)))
    });
    super::with_indexes_deferred(conn, "ru_first_event", true, || {
        let mut insert = conn.prepare(&format!(
            "INSERT INTO ru_first_event ({COLUMNS}) VALUES (?1, ?2, ?3, ?4)"
        ))?;
        let mut day = String::with_capacity(10);
        let mut ts = String::with_capacity(20);
        for key in keys {
            let (d, t) = pairs[&key];
            use std::fmt::Write;
            let name = &names[rank[(key >> 32) as usize] as usize].0;
            let user = users.bytes(key as u32);
            day.clear();
            let _ = write!(day, "{:04}-{:02}-{:02}", d / 10_000, d / 100 % 100, d % 100);
            ts.clear();
            let _ = write!(
                ts,
                "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
                t / 10_000_000_000,
                t / 100_000_000 % 100,
                t / 1_000_000 % 100,
                t / 10_000 % 100,
                t / 100 % 100,
                t % 100
            );
            // The user's bytes were text when read: bound as text again.
            let user = std::str::from_utf8(user).map_err(|e| {
                rusqlite::Error::FromSqlConversionFailure(1, rusqlite::types::Type::Text, e.into())
            })?;
            insert.execute(rusqlite::params![name, user, day, ts])?;
        }
        Ok(())
    })
}
