//! `kpi sync` in-process: the rollups DataFusion computes from exports split over many
//! CSV and Parquet files equal those of a local `kpi import` of the same rows.
#![cfg(feature = "cluster")]
#![allow(clippy::unwrap_used)]

mod sync_support;

use std::fs;

use kpi::store::Store;
use kpi::store::rollup::{ROLLUP_TABLES, SEGMENT_TABLES};
use kpi::sync::{Engine, SyncOptions, source, sync};
use sync_support::{
    assert_same_report, assert_same_rows, export, imported, report_json, rollups, small_tables_of,
};

#[test]
fn sync_from_csv_and_parquet_exports_equals_a_local_import_on_every_rollup() {
    let dir = tempfile::tempdir().unwrap();
    let mut local = imported(dir.path(), 150);
    let exports = dir.path().join("exports");
    let files = export(&local, &exports);
    assert!(files > 50, "the exports are split over many files: {files}");

    // As a team's store: the small tables imported (the segment rollups read the
    // customers' channel, plan and region), no raw rows of the exports, no rollups.
    let mut synced = small_tables_of(&local, &dir.path().join("synced.db"));
    let report = sync(&mut synced, &exports, &SyncOptions::default()).unwrap();
    assert_eq!(report.inputs.len(), 4, "{report}");

    let imported_rows = rollups(&local);
    for table in ROLLUP_TABLES.iter().chain(&SEGMENT_TABLES) {
        assert!(
            imported_rows
                .iter()
                .any(|r| r.starts_with(&format!("{table}: "))),
            "the demo data fills {table}"
        );
    }
    let got = rollups(&synced);
    // An import's incremental refresh writes distinct counts for the days it touched; a
    // full rebuild (and so a sync) also writes the zero counts of the days in between
    // without activity. Apart from those, the tables are the import's exactly.
    let without_zero_counts = |rows: &[String]| -> Vec<String> {
        rows.iter()
            .filter(|r| !(r.starts_with("ru_distinct: ") && r.ends_with("| Integer(0)")))
            .cloned()
            .collect()
    };
    assert_same_rows(
        &without_zero_counts(&imported_rows),
        &without_zero_counts(&got),
    );
    // And every row, zero counts included, equals the local full rebuild's.
    kpi::store::rollup::refresh_all(&mut local).unwrap();
    assert_same_rows(&rollups(&local), &got);
}

#[test]
fn an_unreadable_source_is_one_clear_error_and_leaves_the_store_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let local = imported(dir.path(), 150);
    let exports = dir.path().join("exports");
    export(&local, &exports);
    let mut synced = Store::open(&dir.path().join("synced.db")).unwrap();
    sync(&mut synced, &exports, &SyncOptions::default()).unwrap();
    let before = rollups(&synced);

    let missing = dir.path().join("no-such-folder");
    let err = sync(&mut synced, &missing, &SyncOptions::default())
        .unwrap_err()
        .to_string();
    assert!(err.contains("no-such-folder"), "{err}");
    assert_eq!(rollups(&synced), before);

    let broken = exports.join("events").join("date=2099-01-01");
    fs::create_dir_all(&broken).unwrap();
    fs::write(broken.join("part-0.parquet"), b"not parquet at all").unwrap();
    let err = sync(&mut synced, &exports, &SyncOptions::default())
        .unwrap_err()
        .to_string();
    assert!(err.contains("events"), "the error names the export: {err}");
    assert_eq!(rollups(&synced), before, "a failed sync writes nothing");
}

#[test]
fn a_synced_store_reports_every_metric_as_the_local_import() {
    let dir = tempfile::tempdir().unwrap();
    let mut local = imported(dir.path(), 150);
    let exports = dir.path().join("exports");
    export(&local, &exports);
    let synced_db = dir.path().join("synced.db");
    let mut synced = small_tables_of(&local, &synced_db);
    sync(&mut synced, &exports, &SyncOptions::default()).unwrap();
    kpi::store::rollup::refresh_all(&mut local).unwrap();
    assert_same_rows(&rollups(&local), &rollups(&synced));
    drop((local, synced));
    assert_same_report(
        &report_json(&dir.path().join("local.db")),
        &report_json(&synced_db),
    );
}

#[test]
fn a_query_failing_after_rollup_rows_were_written_leaves_the_store_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let local = imported(dir.path(), 150);
    let exports = dir.path().join("exports");
    export(&local, &exports);
    let mut synced = Store::open(&dir.path().join("synced.db")).unwrap();
    sync(&mut synced, &exports, &SyncOptions::default()).unwrap();
    let before = rollups(&synced);
    assert!(!before.is_empty());

    // Readable, but one revenue is not a number: the first query that sums revenue fails
    // while it streams, after the plan's first rollup (rows per table and day, which reads
    // no revenue) was written inside the transaction.
    let bad = exports.join("orders").join("month=2099-01");
    fs::create_dir_all(&bad).unwrap();
    fs::write(
        bad.join("part-0.csv"),
        "order_id,customer_id,order_date,revenue,status,channel,discount,cost\n\
         bad-1,c1,2099-01-05,twelve,completed,ads,0,0\n",
    )
    .unwrap();
    let err = sync(&mut synced, &exports, &SyncOptions::default())
        .unwrap_err()
        .to_string();
    assert!(err.contains("rollup ru_"), "a rollup query failed: {err}");
    assert!(
        !err.contains("rollup ru_table_days"),
        "the first rollup was written before the failure: {err}"
    );
    assert_eq!(rollups(&synced), before, "a failed sync writes nothing");
}

/// Regression (issue 17): the cohort query joined every id's active days to the ids'
/// cohorts with the active days as the hash join's build side, which DataFusion holds
/// whole in memory and cannot spill: at 10 M events that table outgrew a 256 MB pool
/// and took the in-process sync's RSS to 4.6 GB without one. Every hash join of the plan
/// must build on ids or calendar days, never on rows that grow with the source (here
/// every id is active on every day, so ids × days rows, far more than either).
#[test]
fn no_hash_join_of_the_plan_holds_rows_that_grow_with_the_source() {
    const IDS: usize = 20;
    const DAYS: usize = 90;
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_in_memory().unwrap();
    let first = chrono::NaiveDate::from_ymd_opt(2024, 1, 1).unwrap();
    for id in 0..IDS {
        let day_of = |d: usize| (first + chrono::Duration::days(d as i64)).to_string();
        // Half the ids signed up (their cohort is their signup month), half did not.
        if id % 2 == 0 {
            store
                .conn()
                .execute(
                    "INSERT INTO customers (customer_id, signup_date) VALUES (?1, ?2)",
                    rusqlite::params![format!("c{id}"), day_of(id)],
                )
                .unwrap();
        }
        for d in 0..DAYS {
            let day = day_of(d);
            store
                .conn()
                .execute(
                    "INSERT INTO events (event_key, user_id, ts, day, name, session_id)
                     VALUES (?1, ?2, ?3 || 'T10:00:00Z', ?3, 'feature_used', ?1)",
                    rusqlite::params![format!("e{id}-{d}"), format!("c{id}"), day],
                )
                .unwrap();
            store
                .conn()
                .execute(
                    "INSERT INTO orders (order_id, customer_id, order_date, revenue, status)
                     VALUES (?1, ?2, ?3, 1000, 'completed')",
                    rusqlite::params![format!("o{id}-{d}"), format!("c{id}"), day],
                )
                .unwrap();
        }
    }
    let exports = dir.path().join("exports");
    export(&store, &exports);

    let engine = Engine::start(&SyncOptions::default()).unwrap();
    let queries = engine.plan(&source::discover(&exports).unwrap()).unwrap();
    // The largest build a join may need: the calendar (the days plus the trailing
    // windows' 29) once per grain (day, week, month).
    let bound = 3 * (DAYS + 29);
    assert!(
        IDS * DAYS > bound,
        "the source's rows outnumber any bounded build"
    );
    let mut joins = 0;
    for query in &queries {
        for rows in engine.hash_join_builds(query).unwrap() {
            joins += 1;
            assert!(
                rows <= bound,
                "a hash join of {} builds on {rows} rows (ids {IDS}, days {DAYS})",
                query.table
            );
        }
    }
    assert!(joins > 0, "the plan joins");
}
