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
    assert_same_rows, assert_synced_as_local, count, export, imported, imported_and_exported,
    rollups, small_tables_of,
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
    let (_, exports) = imported_and_exported(dir.path());
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
    let (local, exports) = imported_and_exported(dir.path());
    let synced_db = dir.path().join("synced.db");
    let mut synced = small_tables_of(&local, &synced_db);
    sync(&mut synced, &exports, &SyncOptions::default()).unwrap();
    assert_synced_as_local(dir.path(), local, synced, &synced_db);
}

#[test]
fn a_query_failing_after_rollup_rows_were_written_leaves_the_store_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let (_, exports) = imported_and_exported(dir.path());
    let mut synced = Store::open(&dir.path().join("synced.db")).unwrap();
    sync(&mut synced, &exports, &SyncOptions::default()).unwrap();
    let before = rollups(&synced);
    assert!(!before.is_empty());

    add_orders_with_a_revenue_that_is_no_number(&exports);
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

/// An orders export that reads, but whose revenue is no number: the first rollup query
/// that sums revenue fails while it streams, after the plan's first rollup (rows per
/// table and day, which reads no revenue) was written inside the transaction.
fn add_orders_with_a_revenue_that_is_no_number(exports: &std::path::Path) {
    let bad = exports.join("orders").join("month=2099-01");
    fs::create_dir_all(&bad).unwrap();
    fs::write(
        bad.join("part-0.csv"),
        "order_id,customer_id,order_date,revenue,status,channel,discount,cost\n\
         bad-1,c1,2099-01-05,twelve,completed,ads,0,0\n",
    )
    .unwrap();
}

/// The demo's files of the tables a sync keeps whole (every table but orders, refunds and
/// events), copied into `exports` as a warehouse would drop them, in place of the
/// stored-form customers file `export` writes.
fn drop_small_table_files(dir: &std::path::Path, exports: &std::path::Path) -> usize {
    fs::remove_file(exports.join("customers_all.csv")).unwrap();
    let mut copied = 0;
    for entry in fs::read_dir(dir.join("files")).unwrap() {
        let path = entry.unwrap().path();
        let table = kpi::import::table_for_path(&path).unwrap().name;
        if !kpi::sync::ENGINE_ONLY.contains(&table) {
            fs::copy(&path, exports.join(path.file_name().unwrap())).unwrap();
            copied += 1;
        }
    }
    copied
}

#[test]
fn a_sync_into_an_empty_store_imports_the_small_tables_and_reports_every_metric_as_the_local_import()
 {
    let dir = tempfile::tempdir().unwrap();
    let (local, exports) = imported_and_exported(dir.path());
    let copied = drop_small_table_files(dir.path(), &exports);
    assert!(
        copied >= 8,
        "customers, subscriptions, surveys, …: {copied}"
    );

    let synced_db = dir.path().join("synced.db");
    let mut synced = Store::open(&synced_db).unwrap();
    let report = sync(&mut synced, &exports, &SyncOptions::default()).unwrap();
    assert_eq!(report.imported.len(), copied, "{report}");
    assert!(
        report
            .imported
            .iter()
            .all(|r| r.rows_upserted > 0 && r.rows_rejected == 0),
        "{report}"
    );
    assert_synced_as_local(dir.path(), local, synced, &synced_db);
}

#[test]
fn a_bad_row_of_a_small_table_export_is_rejected_with_its_file_and_line_and_the_rest_synced() {
    let dir = tempfile::tempdir().unwrap();
    let (_, exports) = imported_and_exported(dir.path());
    let folder = exports.join("subscriptions").join("region=eu");
    fs::create_dir_all(&folder).unwrap();
    fs::write(
        folder.join("part-0.csv"),
        "subscription_id,customer_id,mrr,start_date,end_date,plan\n\
         S-1,C000001,29.00,2025-09-30,,starter\n\
         S-2,C000002,twenty,2025-09-30,,starter\n\
         S-3,C000003,49.00,2025-10-02,,pro\n",
    )
    .unwrap();
    let mut synced = Store::open(&dir.path().join("synced.db")).unwrap();
    let report = sync(&mut synced, &exports, &SyncOptions::default()).unwrap();
    let subscriptions = report
        .imported
        .iter()
        .find(|r| r.table == "subscriptions")
        .expect("the subscriptions export was imported");
    assert_eq!(
        (subscriptions.rows_upserted, subscriptions.rows_rejected),
        (2, 1),
        "{report}"
    );
    let text = report.to_string();
    assert!(
        text.contains("part-0.csv") && text.contains("1 rows rejected"),
        "the sync names the file and counts its reject: {text}"
    );
    let rejects = fs::read_to_string(subscriptions.rejects_file.as_ref().unwrap()).unwrap();
    assert!(
        rejects.contains('3') && rejects.contains("mrr") && rejects.contains("S-2"),
        "the rejects file lists the row by line and column: {rejects}"
    );
    assert_eq!(count(&synced, "SELECT COUNT(*) FROM subscriptions"), 2);
}

#[test]
fn a_failed_sync_leaves_the_small_tables_it_imported_as_before() {
    let dir = tempfile::tempdir().unwrap();
    let (_, exports) = imported_and_exported(dir.path());
    let mut synced = Store::open(&dir.path().join("synced.db")).unwrap();
    sync(&mut synced, &exports, &SyncOptions::default()).unwrap();
    let rows = |store: &Store, table: &str| count(store, &format!("SELECT COUNT(*) FROM {table}"));
    let customers_before = rows(&synced, "customers");
    assert!(customers_before > 0);
    let before = rollups(&synced);

    // New small tables, imported first; then a rollup query fails.
    drop_small_table_files(dir.path(), &exports);
    add_orders_with_a_revenue_that_is_no_number(&exports);
    let err = sync(&mut synced, &exports, &SyncOptions::default()).unwrap_err();
    assert!(err.to_string().contains("rollup ru_"), "{err}");
    assert_eq!(rows(&synced, "subscriptions"), 0, "no subscription kept");
    assert_eq!(rows(&synced, "customers"), customers_before);
    let attributes =
        "SELECT COUNT(*) FROM customers WHERE attributes IS NOT NULL AND attributes <> '{}'";
    assert_eq!(
        count(&synced, attributes),
        0,
        "the demo file's attributes were rolled back"
    );
    assert_eq!(rollups(&synced), before);
}

/// A `kpi sync --follow` child, killed when dropped (also when the test fails), with its
/// output lines arriving on a channel.
struct Following {
    child: std::process::Child,
    lines: std::sync::mpsc::Receiver<String>,
}

impl Following {
    fn start(exports: &std::path::Path, db: &std::path::Path) -> Self {
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_kpi"))
            .args(["sync", "--follow", "--interval", "1", "--source"])
            .arg(exports)
            .arg("--db")
            .arg(db)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::inherit())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (send, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            use std::io::BufRead;
            for line in std::io::BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if send.send(line).is_err() {
                    break;
                }
            }
        });
        Self { child, lines }
    }

    /// The lines up to the first that starts with "synced ", which it returns last.
    fn next_sync(&self) -> Vec<String> {
        let mut got = Vec::new();
        loop {
            let line = self
                .lines
                .recv_timeout(std::time::Duration::from_secs(300))
                .unwrap_or_else(|e| panic!("no sync within 300 s ({e}); so far: {got:?}"));
            let done = line.starts_with("synced ");
            got.push(line);
            if done {
                return got;
            }
        }
    }
}

impl Drop for Following {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn sync_follow_imports_a_new_small_table_file_alone_and_recomputes_the_rollups_for_a_new_partition()
{
    let dir = tempfile::tempdir().unwrap();
    let (local, exports) = imported_and_exported(dir.path());
    drop(local);
    let db = dir.path().join("synced.db");
    let read = |sql: &str| count(&Store::open_read_only(&db).unwrap(), sql);
    let following = Following::start(&exports, &db);
    let first = following.next_sync();
    assert!(first.last().unwrap().contains("rollup tables"), "{first:?}");
    let rollup_rows = read("SELECT COUNT(*) FROM ru_events_day");
    assert!(rollup_rows > 0);

    // A tickets file: imported alone, the rollups left as they are.
    fs::write(
        exports.join("tickets_launch.csv"),
        "ticket_id,opened_at,first_response_at,resolved_at,severity,customer_id\n\
         T-1,2025-09-21T07:05:10-05:00,2025-09-21T08:40:25-05:00,,low,C000011\n\
         T-2,not a time,,,low,C000012\n",
    )
    .unwrap();
    let second = following.next_sync();
    let last = second.last().unwrap();
    assert!(last.contains("rollups unchanged"), "{second:?}");
    assert!(
        second
            .iter()
            .any(|l| l.contains("tickets_launch.csv") && l.contains("1 rejected")),
        "the ticket file's line, with its reject: {second:?}"
    );
    assert_eq!(read("SELECT COUNT(*) FROM tickets"), 1);

    // A new day's partition of events: the rollups are computed again and hold it.
    let partition = exports.join("events").join("date=2099-01-02");
    fs::create_dir_all(&partition).unwrap();
    fs::write(
        partition.join("part-0.csv"),
        "event_key,user_id,ts,day,name,session_id,feature,duration_s\n\
         launch-1,C000001,2099-01-02T09:00:00Z,2099-01-02,login,s1,,\n",
    )
    .unwrap();
    let third = following.next_sync();
    assert!(third.last().unwrap().contains("rollup tables"), "{third:?}");
    assert_eq!(
        read("SELECT COUNT(*) FROM ru_events_day WHERE day = '2099-01-02'"),
        1
    );
}

#[test]
fn a_customers_export_the_engine_reads_otherwise_than_the_import_is_one_clear_error_and_nothing_synced()
 {
    let dir = tempfile::tempdir().unwrap();
    let (_, exports) = imported_and_exported(dir.path());
    let mut synced = Store::open(&dir.path().join("synced.db")).unwrap();
    sync(&mut synced, &exports, &SyncOptions::default()).unwrap();
    let before = rollups(&synced);

    // A customer whose signup is no calendar day: `kpi import` rejects the row, while the
    // engine would count it (and cohort its orders) as exported.
    let mut customers = fs::read_to_string(exports.join("customers_all.csv")).unwrap();
    customers.push_str("C999999,2025-02-30,ads,pro,eu\n");
    fs::write(exports.join("customers_all.csv"), customers).unwrap();
    let err = sync(&mut synced, &exports, &SyncOptions::default())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("customers") && err.contains("2025-02-30") && err.contains("nothing synced"),
        "{err}"
    );
    assert_eq!(rollups(&synced), before, "a failed sync writes nothing");
    let stored = "SELECT COUNT(*) FROM customers WHERE customer_id = 'C999999'";
    assert_eq!(count(&synced, stored), 0);
}

#[test]
fn a_synced_store_reports_time_to_value_as_the_local_import() {
    // Each user's first activation comes from `ru_first_event`, which the sync writes: a
    // store without the raw events has the import's time to value at every grain, overall
    // and per customer segment.
    use kpi::config::Config;
    use kpi::metrics::{Grain, SeriesRequest, compute};
    let dir = tempfile::tempdir().unwrap();
    let (local, exports) = imported_and_exported(dir.path());
    let mut synced = small_tables_of(&local, &dir.path().join("synced.db"));
    sync(&mut synced, &exports, &SyncOptions::default()).unwrap();
    assert_eq!(
        count(&synced, "SELECT COUNT(*) FROM events"),
        0,
        "the synced store holds no raw events"
    );
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
