//! Each user's first event per name (`ru_first_event`, schema 13), which time to value
//! reads instead of the raw events: kept by every events import (appends, older rows
//! arriving late, re-imports replacing rows), equal to a rebuild and to the definition
//! over the raw events, counted when a writer opens a store of schema 12 (a reader asks
//! for the upgrade).
#![allow(clippy::unwrap_used)]

mod import_support;

use std::path::Path;

use chrono::NaiveDate;
use kpi::config::Config;
use kpi::import::{ImportOptions, import_file};
use kpi::metrics::{Grain, SeriesRequest, compute};
use kpi::store::Store;
use kpi::store::rollup;
use rusqlite::Connection;

fn d(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

fn first_rows(conn: &Connection) -> Vec<String> {
    rollup::dump_tables(conn, &["ru_first_event"], |x| format!("{x:?}")).unwrap()
}

/// The definition over the raw events, in the dump's form.
fn defined_rows(conn: &Connection) -> Vec<String> {
    let mut stmt = conn
        .prepare(
            "SELECT name, user_id, MIN(day), MIN(ts) FROM events
             GROUP BY name, user_id ORDER BY 1, 2, 3, 4",
        )
        .unwrap();
    stmt.query_map([], |r| {
        Ok(format!(
            "ru_first_event: Text({:?}) | Text({:?}) | Text({:?}) | Text({:?})",
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, String>(3)?,
        ))
    })
    .unwrap()
    .map(Result::unwrap)
    .collect()
}

/// The dump's row of `user`'s first `name`.
fn row(name: &str, user: &str, day: &str, ts: &str) -> String {
    format!("ru_first_event: Text({name:?}) | Text({user:?}) | Text({day:?}) | Text({ts:?})")
}

fn import_in(store: &mut Store, dir: &Path, name: &str, rows: &str, time_zone: &str) {
    let path = dir.join(name);
    std::fs::write(&path, rows).unwrap();
    let config = Config {
        time_zone: time_zone.to_string(),
        ..Config::default()
    };
    let options = ImportOptions {
        config,
        ..ImportOptions::default()
    };
    import_file(store, &path, &options).unwrap();
}

fn import(store: &mut Store, dir: &Path, name: &str, rows: &str) {
    import_in(store, dir, name, rows, "UTC");
}

const EVENTS: &str = "event_id,user_id,ts,name\n";

/// Two customers signed up on 1 June; `a` activates on 10 June, `b` on 20 June.
fn store_with_activations(dir: &Path) -> Store {
    let mut store = Store::open(&dir.join("s.db")).unwrap();
    import(
        &mut store,
        dir,
        "customers.csv",
        "customer_id,signup_date,channel\na,2025-06-01,ads\nb,2025-06-01,seo\n",
    );
    import(
        &mut store,
        dir,
        "events-1.csv",
        &format!(
            "{EVENTS}e1,a,2025-06-10T12:00:00Z,activated\ne2,a,2025-06-10T13:00:00Z,page_view\n\
             e3,b,2025-06-20T00:00:00Z,activated\ne4,b,2025-06-21T09:00:00Z,activated\n"
        ),
    );
    store
}

/// `time_to_value_h` per month of June to August 2025, overall.
fn ttv(store: &Store) -> Vec<Option<f64>> {
    let request = SeriesRequest {
        metric: "time_to_value_h",
        grain: Grain::Month,
        from: d("2025-06-01"),
        to: d("2025-08-31"),
        by: None,
    };
    let series = compute(store, &Config::default(), d("2025-08-31"), &request).unwrap();
    series[0].points.iter().map(|p| p.value).collect()
}

/// The rollup equals the definition over the raw events and a rebuild from them.
fn assert_kept(store: &mut Store) -> Vec<String> {
    let incremental = first_rows(store.conn());
    assert_eq!(incremental, defined_rows(store.conn()), "the definition");
    rollup::refresh_all(store).unwrap();
    assert_eq!(first_rows(store.conn()), incremental, "a rebuild");
    incremental
}

#[test]
fn an_appended_earlier_activation_lowers_the_first() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = store_with_activations(dir.path());
    // a: 9 days and 12 hours after signup; b: 19 days.
    assert_eq!(ttv(&store), [Some((228.0 + 456.0) / 2.0), None, None]);
    // A later file holds an earlier activation of a (a late export), on another day.
    import(
        &mut store,
        dir.path(),
        "events-2.csv",
        &format!(
            "{EVENTS}e5,a,2025-06-03T06:00:00Z,activated\ne6,a,2025-07-01T00:00:00Z,activated\n"
        ),
    );
    let rows = assert_kept(&mut store);
    assert!(
        rows.contains(&row("activated", "a", "2025-06-03", "2025-06-03T06:00:00Z")),
        "{rows:?}"
    );
    assert_eq!(ttv(&store), [Some((54.0 + 456.0) / 2.0), None, None]);
}

#[test]
fn a_reimport_moving_the_first_activation_later_raises_the_first() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = store_with_activations(dir.path());
    // b's first activation corrected to a day later than its second: e4 is first now.
    import(
        &mut store,
        dir.path(),
        "events-fix.csv",
        &format!("{EVENTS}e3,b,2025-07-02T00:00:00Z,activated\n"),
    );
    let rows = assert_kept(&mut store);
    assert!(
        rows.contains(&row("activated", "b", "2025-06-21", "2025-06-21T09:00:00Z")),
        "{rows:?}"
    );
    assert_eq!(ttv(&store), [Some((228.0 + 489.0) / 2.0), None, None]);
    // a's only activation moved to another user, then later in its own day: a has none.
    import(
        &mut store,
        dir.path(),
        "events-move.csv",
        &format!(
            "{EVENTS}e1,z,2025-06-10T12:00:00Z,activated\ne2,a,2025-06-10T23:00:00Z,page_view\n"
        ),
    );
    let rows = assert_kept(&mut store);
    assert!(
        !rows
            .iter()
            .any(|r| r.contains("Text(\"activated\") | Text(\"a\")")),
        "{rows:?}"
    );
    assert!(
        rows.contains(&row("page_view", "a", "2025-06-10", "2025-06-10T23:00:00Z")),
        "{rows:?}"
    );
    assert_eq!(ttv(&store), [Some(489.0), None, None]);
}

#[test]
fn a_first_replaced_by_a_later_row_of_the_same_day_is_counted_again() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = store_with_activations(dir.path());
    import(
        &mut store,
        dir.path(),
        "events-2.csv",
        &format!("{EVENTS}e7,a,2025-06-10T18:00:00Z,activated\n"),
    );
    // e1 (12:00) moved to 20:00 of the same day: the first is e7 at 18:00.
    import(
        &mut store,
        dir.path(),
        "events-3.csv",
        &format!("{EVENTS}e1,a,2025-06-10T20:00:00Z,activated\n"),
    );
    let rows = assert_kept(&mut store);
    assert!(
        rows.contains(&row("activated", "a", "2025-06-10", "2025-06-10T18:00:00Z")),
        "{rows:?}"
    );
}

#[test]
fn days_and_instants_from_imports_in_different_time_zones_stay_equal_to_a_rebuild() {
    // With the time zone changed between imports, a user's earliest day and earliest
    // instant may come from different rows: each is kept as its own MIN, as the metric
    // took them, and a re-import replacing either row is counted again.
    let dir = tempfile::tempdir().unwrap();
    let mut store = store_with_activations(dir.path());
    let row_of_a = |rows: &[String], day: &str, ts: &str| {
        assert!(rows.contains(&row("activated", "a", day, ts)), "{rows:?}");
    };
    // h1 is an hour before e1 (12:00Z on 10 June), but dated 11 June (01:00 in
    // Kiritimati, UTC+14): the day is e1's, the instant h1's.
    let h1_early = format!("{EVENTS}h1,a,2025-06-10T11:00:00Z,activated\n");
    import_in(
        &mut store,
        dir.path(),
        "events-h1.csv",
        &h1_early,
        "Pacific/Kiritimati",
    );
    row_of_a(
        &assert_kept(&mut store),
        "2025-06-10",
        "2025-06-10T11:00:00Z",
    );
    // h1, the row of the instant, moves to 15 June: its old day (11 June) is not the
    // first day, yet the instant it held is gone.
    let h1_late = format!("{EVENTS}h1,a,2025-06-15T00:00:00Z,activated\n");
    import(&mut store, dir.path(), "events-h1-late.csv", &h1_late);
    row_of_a(
        &assert_kept(&mut store),
        "2025-06-10",
        "2025-06-10T12:00:00Z",
    );
    // Back, then e1, the row of the first day, moves to 12 June: h1's 11 June is first.
    import_in(
        &mut store,
        dir.path(),
        "events-h1-back.csv",
        &h1_early,
        "Pacific/Kiritimati",
    );
    row_of_a(
        &assert_kept(&mut store),
        "2025-06-10",
        "2025-06-10T11:00:00Z",
    );
    let e1_late = format!("{EVENTS}e1,a,2025-06-12T12:00:00Z,activated\n");
    import(&mut store, dir.path(), "events-e1-late.csv", &e1_late);
    row_of_a(
        &assert_kept(&mut store),
        "2025-06-11",
        "2025-06-10T11:00:00Z",
    );
}

#[test]
fn a_store_of_schema_12_gets_the_first_events_counted_on_open() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("s.db");
    let mut store = store_with_activations(dir.path());
    rollup::refresh_all(&mut store).unwrap();
    let rebuilt = first_rows(store.conn());
    assert_eq!(rebuilt.len(), 3, "{rebuilt:?}");
    let values = ttv(&store);
    drop(store);

    // What kpi at schema 12 left: everything but the first events.
    let conn = Connection::open(&db).unwrap();
    conn.execute_batch("DROP TABLE ru_first_event; PRAGMA user_version = 12;")
        .unwrap();
    drop(conn);
    let refused = match Store::open_read_only(&db) {
        Ok(_) => panic!("a reader opened a store of schema 12"),
        Err(e) => e.to_string(),
    };
    assert!(refused.contains("upgrade from schema 12"), "{refused}");

    let store = Store::open(&db).unwrap();
    assert_eq!(first_rows(store.conn()), rebuilt);
    assert_eq!(ttv(&store), values);
    let version: u32 = store
        .conn()
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .unwrap();
    assert_eq!(version, kpi::store::CURRENT_VERSION);
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]

    /// Events written in batches (each upsert: id, user, day, hour, name, time zone),
    /// each refreshing only the (day, user) pairs it wrote, as an import does: rows
    /// replaced (moved to another user, day or time), older rows arriving late, days
    /// dated in three time zones. After every batch the rollup is the definition over
    /// the raw events.
    #[test]
    fn any_sequence_of_event_writes_keeps_the_firsts_equal_to_the_definition(
        batches in proptest::collection::vec(
            proptest::collection::vec((0u8..12, 0u8..4, 0u8..6, 0u8..24, 0u8..2, 0u8..3), 1..6),
            1..8,
        ),
        by_id in proptest::prelude::any::<bool>(),
    ) {
        let mut store = Store::open_in_memory().unwrap();
        for batch in &batches {
            let mut touched = rollup::Touched::default();
            for &(id, user, day, hour, name, zone) in batch {
                let key = format!("e{id}");
                let old: Option<(String, String)> = store
                    .conn()
                    .query_row(
                        "SELECT day, user_id FROM events WHERE event_key = ?1",
                        [&key],
                        |r| Ok((r.get(0)?, r.get(1)?)),
                    )
                    .ok();
                let at = d("2025-03-01").and_hms_opt(u32::from(hour), 0, 0).unwrap()
                    + chrono::Duration::days(i64::from(day));
                // The local day in UTC-10, UTC or UTC+14.
                let offset = [-10, 0, 14][usize::from(zone)];
                let local = (at + chrono::Duration::hours(offset)).date();
                let user = format!("u{user}");
                store
                    .conn()
                    .execute(
                        "INSERT OR REPLACE INTO events (event_key, user_id, ts, day, name)
                         VALUES (?1, ?2, ?3, ?4, ?5)",
                        (
                            &key,
                            &user,
                            at.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
                            local.to_string(),
                            ["activated", "page_view"][usize::from(name)],
                        ),
                    )
                    .unwrap();
                if let Some((old_day, old_user)) = old {
                    touched.add_row("events", &[d(&old_day)], by_id.then_some(old_user.as_str()));
                }
                touched.add_row("events", &[local], by_id.then_some(user.as_str()));
            }
            rollup::refresh_touched(&mut store, &touched).unwrap();
            proptest::prop_assert_eq!(first_rows(store.conn()), defined_rows(store.conn()));
        }
    }
}

#[test]
fn the_demo_data_imported_file_by_file_leaves_the_firsts_the_raw_events_define() {
    // What time to value read from the raw events before this rollup (each user's
    // MIN(day) and MIN(ts) of a name) is what it reads now, row for row.
    let dir = tempfile::tempdir().unwrap();
    let options = kpi::demo::DemoOptions {
        seed: 5,
        customers: 150,
        months: 8,
    };
    let mut store = import_support::demo_imported(dir.path(), "s.db", &options);
    let rows = assert_kept(&mut store);
    assert!(
        rows.iter().filter(|r| r.contains("\"activated\"")).count() > 50,
        "{} rows",
        rows.len()
    );
}
