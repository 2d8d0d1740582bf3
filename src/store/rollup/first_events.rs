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
