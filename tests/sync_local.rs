//! `kpi sync` in-process: the rollups DataFusion computes from exports split over many
//! CSV and Parquet files equal those of a local `kpi import` of the same rows.
#![cfg(feature = "cluster")]
#![allow(clippy::unwrap_used)]

mod sync_support;

use std::fs;

use kpi::store::Store;
use kpi::store::rollup::{ROLLUP_TABLES, SEGMENT_TABLES};
use kpi::sync::{SyncOptions, sync};
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

#[test]
fn a_synced_store_reports_time_to_value_as_the_local_import() {
    // Each user's first activation comes from `ru_first_event`, which the sync writes: a
    // store without the raw events has the import's time to value at every grain, overall
    // and per customer segment.
    use kpi::config::Config;
    use kpi::metrics::{Grain, SeriesRequest, compute};
    let dir = tempfile::tempdir().unwrap();
    let local = imported(dir.path(), 150);
    let exports = dir.path().join("exports");
    export(&local, &exports);
    let mut synced = small_tables_of(&local, &dir.path().join("synced.db"));
    sync(&mut synced, &exports, &SyncOptions::default()).unwrap();
    let empty: i64 = synced
        .conn()
        .query_row("SELECT COUNT(*) FROM events", [], |r| r.get(0))
        .unwrap();
    assert_eq!(empty, 0, "the synced store holds no raw events");
    let config = Config::default();
    let as_of = kpi::metrics::reference_date(&local).unwrap().unwrap();
    let mut values = 0;
    for by in [None, Some("channel"), Some("plan"), Some("region")] {
        for grain in Grain::ALL {
            let request = SeriesRequest {
                metric: "time_to_value_h",
                grain,
                from: as_of - chrono::Duration::days(400),
                to: as_of,
                by,
            };
            let expected = compute(&local, &config, as_of, &request).unwrap();
            let got = compute(&synced, &config, as_of, &request).unwrap();
            assert_eq!(got, expected, "by {by:?} at {grain}");
            values += expected
                .iter()
                .flat_map(|s| &s.points)
                .filter(|p| p.value.is_some())
                .count();
        }
    }
    assert!(
        values > 100,
        "the demo data activates users: {values} values"
    );
}
