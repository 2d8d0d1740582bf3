//! `kpi sync --cluster` against a real Ballista scheduler and two executors, started by
//! `.ci/sync_cluster.sh` (which passes their address and pids): the rollups equal a local
//! import's, and losing an executor mid-sync either completes or fails clearly without
//! writing half a sync.
#![cfg(feature = "cluster")]
#![allow(clippy::unwrap_used)]

mod sync_support;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use kpi::store::Store;
use kpi::sync::{Engine, LISTED_PER_FILE, SyncOptions, source, sync, sync_changed};
use sync_support::{
    add_bad_rows, assert_same_report, assert_same_rows, export, export_changes, imported,
    reject_lines, report_json, rollups, small_tables_of,
};

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("{name} is set by .ci/sync_cluster.sh"))
}

#[test]
#[ignore = "needs a Ballista cluster: run .ci/sync_cluster.sh"]
fn sync_on_a_ballista_cluster_equals_a_local_import_on_every_rollup_and_the_report() {
    let dir = tempfile::tempdir().unwrap();
    let mut local = imported(dir.path(), 150);
    let exports = dir.path().join("exports");
    assert!(export(&local, &exports) > 50);
    let synced_db = dir.path().join("synced.db");
    let mut synced = small_tables_of(&local, &synced_db);
    // Bad rows that `kpi import` rejects, in an orders and an events export: the cluster
    // leaves them out and lists them by file and line as the import does.
    let bad = add_bad_rows(&exports, &mut local);
    let options = SyncOptions {
        cluster: Some(env("KPI_SYNC_CLUSTER")),
        ..SyncOptions::default()
    };
    let report = sync(&mut synced, &exports, &options).unwrap();
    assert_eq!(report.rejected.len(), 2, "{report}");
    for file in [&bad.orders, &bad.events] {
        let lines = |store: &Store| reject_lines(store, file);
        assert!(!lines(&local).is_empty());
        assert_eq!(lines(&synced), lines(&local), "{}", file.display());
    }
    // A full rebuild, as a sync is (tests/sync_local.rs: equal to the import's rollups
    // but for the zero distinct counts of days without activity).
    kpi::store::rollup::refresh_all(&mut local).unwrap();
    assert_same_rows(&rollups(&local), &rollups(&synced));
    drop((local, synced));
    assert_same_report(
        &report_json(&dir.path().join("local.db")),
        &report_json(&synced_db),
    );
}

/// The scheduler of `.ci/sync_cluster.sh` deletes a finished query's result after
/// `KPI_SYNC_RESULTS_KEPT_SECONDS`; here the store takes the first batch of the result
/// longer than that, as a store writing 70 M rows did at 100 M events with Ballista's
/// 300 s. Fetched a partition at a time as the store took them, the rest was gone.
#[test]
#[ignore = "needs a Ballista cluster: run .ci/sync_cluster.sh"]
fn a_cluster_result_the_store_takes_longer_than_the_scheduler_keeps_is_synced_whole() {
    let kept: u64 = env("KPI_SYNC_RESULTS_KEPT_SECONDS").parse().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let local = imported(dir.path(), 150);
    let exports = dir.path().join("exports");
    assert!(export(&local, &exports) > 50);
    let inputs = source::discover(&exports).unwrap();
    let rows_of = |options: &SyncOptions, first_batch_takes: Duration| {
        let engine = Engine::start(options).unwrap();
        let counts = engine.count_exports(&inputs, LISTED_PER_FILE).unwrap();
        let plan = engine.plan(&inputs, &counts.rows_per_day).unwrap();
        let query = plan
            .queries
            .iter()
            .find(|q| q.table == "ru_event_users_day")
            .unwrap();
        let (mut rows, mut batches) = (0, 0);
        engine
            .stream(query, |batch| {
                if batches == 0 {
                    std::thread::sleep(first_batch_takes);
                }
                batches += 1;
                rows += batch.num_rows();
                Ok(())
            })
            .unwrap();
        (rows, batches)
    };
    let (in_process, _) = rows_of(&SyncOptions::default(), Duration::ZERO);
    assert!(in_process > 100, "{in_process} rows");
    let on_the_cluster = SyncOptions {
        cluster: Some(env("KPI_SYNC_CLUSTER")),
        ..SyncOptions::default()
    };
    let (rows, batches) = rows_of(&on_the_cluster, Duration::from_secs(kept + 3));
    // Ballista's 16 partitions: the rest of the result came after the wait.
    assert!(batches > 1, "{batches} batches");
    assert_eq!(rows, in_process);
}

#[test]
#[ignore = "needs a Ballista cluster: run .ci/sync_cluster.sh"]
fn a_cluster_sync_of_exports_without_orders_equals_the_in_process_sync() {
    // Regression: the empty read of a table no export provides was folded into an empty
    // relation whose columns Ballista's plan encoding dropped, and the scheduler refused
    // the sync ("No field named orders.order_date").
    let dir = tempfile::tempdir().unwrap();
    let local = imported(dir.path(), 40);
    let exports = dir.path().join("exports");
    export(&local, &exports);
    for table in ["orders", "refunds"] {
        std::fs::remove_dir_all(exports.join(table)).unwrap();
    }
    let mut in_process = small_tables_of(&local, &dir.path().join("in_process.db"));
    sync(&mut in_process, &exports, &SyncOptions::default()).unwrap();
    let mut on_cluster = small_tables_of(&local, &dir.path().join("on_cluster.db"));
    // Each stage in 3 tasks, not Ballista's default 16 (`kpi sync --partitions 3`).
    let options = SyncOptions {
        cluster: Some(env("KPI_SYNC_CLUSTER")),
        partitions: 3,
        ..SyncOptions::default()
    };
    sync(&mut on_cluster, &exports, &options).unwrap();
    let expected = rollups(&in_process);
    assert!(expected.iter().any(|r| r.starts_with("ru_events_day: ")));
    assert!(!expected.iter().any(|r| r.starts_with("ru_orders_day: ")));
    assert_same_rows(&expected, &rollups(&on_cluster));
}

#[test]
#[ignore = "needs a Ballista cluster: run .ci/sync_cluster.sh"]
fn a_cluster_sync_of_changed_exports_computes_the_changed_days_and_equals_the_local_rebuild() {
    let dir = tempfile::tempdir().unwrap();
    let mut local = imported(dir.path(), 40);
    let exports = dir.path().join("exports");
    export(&local, &exports);
    let mut synced = small_tables_of(&local, &dir.path().join("synced.db"));
    let options = SyncOptions {
        cluster: Some(env("KPI_SYNC_CLUSTER")),
        ..SyncOptions::default()
    };
    sync(&mut synced, &exports, &options).unwrap();
    // A new day of orders and events after the last, and an order of an earlier day
    // moved to another channel: the day-partitioned events are read in the new day's
    // file only (a view of some files of the export, which the scheduler must decode).
    let last: String = local
        .conn()
        .query_row("SELECT MAX(day) FROM events", [], |r| r.get(0))
        .unwrap();
    local
        .conn()
        .execute_batch(&format!(
            "UPDATE orders SET channel = 'partner' WHERE order_id =
               (SELECT order_id FROM orders ORDER BY order_date, order_id LIMIT 1);
             INSERT INTO events (event_key, user_id, ts, day, name, session_id) VALUES
               ('new-1', 'C000001', date('{last}', '+2 day') || 'T09:00:00Z',
                date('{last}', '+2 day'), 'login', 'sn1');
             INSERT INTO orders (order_id, customer_id, order_date, revenue, status, channel)
               VALUES ('O-NEW', 'C000001', date('{last}', '+2 day'), 4200, 'completed',
                       'organic');"
        ))
        .unwrap();
    let (changed, _) = export_changes(&mut local, &exports);
    let report = sync_changed(&mut synced, &exports, &options, &changed).unwrap();
    let days = report
        .changed_days
        .clone()
        .unwrap_or_else(|| panic!("every rollup was computed again: {report}"));
    assert_eq!(days.events.len(), 1, "{report}");
    assert!(!days.orders.is_empty(), "{report}");
    assert_same_rows(&rollups(&local), &rollups(&synced));
}

#[test]
#[ignore = "needs a Ballista cluster: run .ci/sync_cluster.sh"]
fn losing_an_executor_mid_sync_completes_or_fails_clearly_and_never_half_writes() {
    let dir = tempfile::tempdir().unwrap();
    let mut local = imported(dir.path(), 600);
    let exports = dir.path().join("exports");
    export(&local, &exports);
    // The store before: the import's rollups (a sync that fails must leave them so; one
    // that completes writes the full rebuild's).
    let db = dir.path().join("synced.db");
    local
        .conn()
        .execute("VACUUM INTO ?1", [db.to_str().unwrap()])
        .unwrap();
    let before = rollups(&Store::open(&db).unwrap());
    assert!(!before.is_empty());
    let work_dir = std::path::PathBuf::from(env("KPI_SYNC_EXECUTOR_WORK_DIR"));
    let earlier = files_under(&work_dir);
    let mut child = Command::new(env!("CARGO_BIN_EXE_kpi"))
        .args(["sync", "--cluster", &env("KPI_SYNC_CLUSTER"), "--source"])
        .arg(&exports)
        .arg("--db")
        .arg(&db)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Killed once it holds shuffle output of this sync (a file its work dir did not hold
    // before), so the job loses work it needs: never before its first task, nor after
    // the sync ended.
    let waiting = Instant::now();
    while files_under(&work_dir).iter().all(|f| earlier.contains(f)) {
        assert!(
            child.try_wait().unwrap().is_none(),
            "the sync ended before the executor to kill wrote any shuffle output"
        );
        assert!(
            waiting.elapsed() < Duration::from_secs(300),
            "the executor to kill wrote no shuffle output in 300 s"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(
        child.try_wait().unwrap().is_none(),
        "the sync ended before the executor was killed"
    );
    let killed = Command::new("kill")
        .args(["-9", &env("KPI_SYNC_EXECUTOR_PID")])
        .status()
        .unwrap();
    assert!(killed.success());
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() {
        assert!(
            started.elapsed() < Duration::from_secs(600),
            "the sync neither completes nor fails after losing an executor"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let output = child.wait_with_output().unwrap();
    let after = rollups(&Store::open(&db).unwrap());
    if output.status.success() {
        println!("the sync completed through the other executor");
        kpi::store::rollup::refresh_all(&mut local).unwrap();
        assert_same_rows(&rollups(&local), &after);
    } else {
        let err = String::from_utf8_lossy(&output.stderr);
        println!("the sync failed: {err}");
        assert!(
            err.starts_with("kpi: ") && err.lines().count() <= 3,
            "one clear error: {err}"
        );
        assert_eq!(after, before, "a failed sync writes nothing");
    }
}

/// Every file under `dir`, however deep.
fn files_under(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(files_under(&path));
        } else {
            out.push(path);
        }
    }
    out
}
