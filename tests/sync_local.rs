//! `kpi sync` in-process: the rollups DataFusion computes from exports split over many
//! CSV and Parquet files equal those of a local `kpi import` of the same rows.
#![cfg(feature = "cluster")]
#![allow(clippy::unwrap_used)]

mod sync_support;

use std::fs;

use kpi::store::Store;
use kpi::store::rollup::{ROLLUP_TABLES, SEGMENT_TABLES};
use kpi::store::rollup_plan::FirstEvents;
use kpi::sync::{DEFAULT_MEMORY_MB, Engine, SyncOptions, source, sync, sync_changed};
use sync_support::{
    add_bad_rows, assert_same_rows, assert_synced_as_local, count, export, export_changes,
    imported, imported_and_exported, reject_lines, rejects_of, rollups, small_tables_of,
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
    // The report says what the engine's sorts and aggregations held, against the pool's
    // limit: the part of the peak RSS that the limit bounds.
    let memory = report
        .engine_memory
        .expect("an in-process sync has a memory pool");
    assert_eq!(memory.limit_bytes, DEFAULT_MEMORY_MB << 20);
    assert!(memory.held_bytes > 0, "{report}");
    assert!(
        report.to_string().contains(&format!("{memory}")),
        "{report}"
    );

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

    fail_a_later_rollup(&synced);
    let err = sync(&mut synced, &exports, &SyncOptions::default())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("failed on purpose"),
        "a rollup insert failed: {err}"
    );
    assert_eq!(rollups(&synced), before, "a failed sync writes nothing");
}

/// Makes the store refuse the rows of `ru_event_names_day`, which only the rollup plan
/// writes (no import of a table kept whole refreshes it), after the plan's first rollups
/// were written inside the transaction: a sync fails half-way. (A bad value in an export
/// no longer fails a query: its row is rejected; and an export the engine cannot read
/// fails the sync before its transaction.)
fn fail_a_later_rollup(store: &Store) {
    store
        .conn()
        .execute_batch(
            "CREATE TRIGGER fail_on_purpose BEFORE INSERT ON ru_event_names_day \
             BEGIN SELECT RAISE(ABORT, 'a rollup insert failed on purpose'); END",
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
    fail_a_later_rollup(&synced);
    let err = sync(&mut synced, &exports, &SyncOptions::default()).unwrap_err();
    assert!(err.to_string().contains("failed on purpose"), "{err}");
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
fn days(list: &[&str]) -> std::collections::BTreeSet<chrono::NaiveDate> {
    list.iter().map(|d| d.parse().unwrap()).collect()
}

#[test]
fn a_sync_after_changed_exports_computes_the_changed_days_only_and_equals_a_full_sync() {
    let dir = tempfile::tempdir().unwrap();
    let (mut local, exports) = imported_and_exported(dir.path());
    let db = dir.path().join("synced.db");
    let mut synced = small_tables_of(&local, &db);
    sync(&mut synced, &exports, &SyncOptions::default()).unwrap();

    // The exports change as a warehouse's do between two syncs, each change on its own
    // day: an order moved to another channel with another amount (its refunds follow
    // it), a day whose events were all withdrawn (its partition goes), an event that
    // becomes a user's first, and a new day of orders and events after a gap.
    let conn = local.conn();
    let value = |sql: &str| -> String { conn.query_row(sql, [], |r| r.get(0)).unwrap() };
    let moved = value(
        "SELECT o.order_id FROM orders o JOIN refunds r ON r.order_id = o.order_id \
         WHERE o.status = 'completed' ORDER BY o.order_date, o.order_id LIMIT 1",
    );
    let moved_day = value(&format!(
        "SELECT order_date FROM orders WHERE order_id = '{moved}'"
    ));
    let withdrawn_day = value("SELECT day FROM events GROUP BY day ORDER BY day LIMIT 1 OFFSET 40");
    let (first_user, first_day) = conn
        .query_row(
            "SELECT user_id, MIN(day) FROM events GROUP BY user_id \
             HAVING MIN(day) > (SELECT MIN(day) FROM events) ORDER BY user_id LIMIT 1",
            [],
            |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)),
        )
        .unwrap();
    let earlier_day = value(&format!(
        "SELECT MAX(day) FROM events WHERE day < '{first_day}' AND day <> '{withdrawn_day}'"
    ));
    let last_day: chrono::NaiveDate = value(
        "SELECT MAX(d) FROM (SELECT MAX(day) AS d FROM events \
         UNION ALL SELECT MAX(order_date) FROM orders)",
    )
    .parse()
    .unwrap();
    let new_day = (last_day + chrono::Duration::days(9)).to_string();
    conn.execute_batch(&format!(
        "UPDATE orders SET channel = 'partner', revenue = revenue + 1234 \
           WHERE order_id = '{moved}';
         DELETE FROM events WHERE day = '{withdrawn_day}';
         INSERT INTO events (event_key, user_id, ts, day, name, session_id, feature) VALUES
           ('first-1', '{first_user}', '{earlier_day}T10:00:00Z', '{earlier_day}', 'login', 'sf', NULL),
           ('new-1', '{first_user}', '{new_day}T09:00:00Z', '{new_day}', 'login', 'sn1', NULL),
           ('new-2', 'U-NEW', '{new_day}T09:30:00Z', '{new_day}', 'feature_used', 'sn2', 'export'),
           ('new-3', 'U-NEW', '{new_day}T09:31:00Z', '{new_day}', 'page_view', 'sn2', NULL);
         INSERT INTO orders (order_id, customer_id, order_date, revenue, status, channel) VALUES
           ('O-NEW-1', '{first_user}', '{new_day}', 4200, 'completed', 'organic'),
           ('O-NEW-2', 'C-NEW', '{new_day}', 990, 'completed', 'paid_search');"
    ))
    .unwrap();
    let (changed, removed) = export_changes(&mut local, &exports);
    assert!(
        !changed.is_empty() && changed.len() < 12,
        "the unchanged partitions are written byte for byte as before: {changed:?}"
    );
    assert!(removed > 0, "the withdrawn day's partition went");

    let report = sync_changed(&mut synced, &exports, &SyncOptions::default(), &changed).unwrap();
    let recomputed = report
        .changed_days
        .clone()
        .unwrap_or_else(|| panic!("every rollup was computed again: {report}"));
    // The orders are exported a month a file: every day of a changed file is counted
    // again, and only those.
    let mut order_days = std::collections::BTreeSet::new();
    for path in changed
        .iter()
        .filter(|p| p.starts_with(exports.join("orders")))
    {
        let mut reader = csv::Reader::from_path(path).unwrap();
        let at = reader
            .headers()
            .unwrap()
            .iter()
            .position(|h| h == "order_date")
            .unwrap();
        for record in reader.records() {
            order_days.insert(record.unwrap()[at].parse::<chrono::NaiveDate>().unwrap());
        }
    }
    assert!(order_days.is_superset(&days(&[&moved_day, &new_day])));
    assert_eq!(recomputed.orders, order_days, "{report}");
    let all_order_days: i64 = count(&local, "SELECT COUNT(DISTINCT order_date) FROM orders");
    assert!((order_days.len() as i64) < all_order_days / 4, "{report}");
    // The events a day a partition: the day withdrawn, the day of the new first event and
    // the new day.
    assert_eq!(
        recomputed.events,
        days(&[&withdrawn_day, &earlier_day, &new_day]),
        "{report}"
    );
    assert!(
        report.to_string().contains(&format!(
            "changed days only ({} of orders, 3 of events)",
            order_days.len()
        )),
        "{report}"
    );
    // Users were active after the days whose events changed: their firsts are counted
    // from every event.
    assert_eq!(report.first_events, Some(FirstEvents::Whole));
    // Every rollup row equals the full rebuild's of the changed rows, and a full sync's.
    assert_same_rows(&rollups(&local), &rollups(&synced));
    let mut full = small_tables_of(&local, &dir.path().join("full.db"));
    sync(&mut full, &exports, &SyncOptions::default()).unwrap();
    assert_same_rows(&rollups(&full), &rollups(&synced));

    // Then a day's events only, on the newest day: a first event of an earlier user, a
    // first of a new user, and a first withdrawn for a later event of the day; the firsts
    // of that day are merged into the store's.
    local
        .conn()
        .execute_batch(&format!(
            "DELETE FROM events WHERE event_key = 'new-2';
             INSERT INTO events (event_key, user_id, ts, day, name, session_id, feature) VALUES
               ('new-4', '{first_user}', '{new_day}T08:00:00Z', '{new_day}', 'signup', 'sn3', NULL),
               ('new-5', 'U-NEWER', '{new_day}T11:00:00Z', '{new_day}', 'login', 'sn4', NULL),
               ('new-6', 'U-NEW', '{new_day}T12:00:00Z', '{new_day}', 'feature_used', 'sn5', 'export');"
        ))
        .unwrap();
    let (changed, _) = export_changes(&mut local, &exports);
    let report = sync_changed(&mut synced, &exports, &SyncOptions::default(), &changed).unwrap();
    assert_eq!(
        report
            .changed_days
            .as_ref()
            .map(|d| (d.orders.len(), d.events.clone())),
        Some((0, days(&[&new_day]))),
        "{report}"
    );
    assert_eq!(report.first_events, Some(FirstEvents::OfChangedDays));
    assert_same_rows(&rollups(&local), &rollups(&synced));
}

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
    assert!(
        third
            .last()
            .unwrap()
            .contains("the day rollups of the changed days only (0 of orders, 1 of events)"),
        "{third:?}"
    );
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

    // A customer exported twice with two signup days: `kpi import` keeps one row, while
    // the engine counts both.
    let mut customers = fs::read_to_string(exports.join("customers_all.csv")).unwrap();
    customers.push_str("C999999,2025-02-03,ads,pro,eu\nC999999,2025-02-04,ads,pro,eu\n");
    fs::write(exports.join("customers_all.csv"), customers).unwrap();
    let err = sync(&mut synced, &exports, &SyncOptions::default())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("customers") && err.contains("2025-02-0") && err.contains("nothing synced"),
        "{err}"
    );
    assert_eq!(rollups(&synced), before, "a failed sync writes nothing");
    let stored = "SELECT COUNT(*) FROM customers WHERE customer_id = 'C999999'";
    assert_eq!(count(&synced, stored), 0);
}

/// Regression (issue 17): the engine counted a customer whose signup is no calendar day,
/// which `kpi import` rejects, into the signups and cohorts, and the sync failed on the
/// disagreement. It now applies the import's checks to the customers it reads.
#[test]
fn a_customer_whose_signup_is_no_calendar_day_is_left_out_by_the_engine_as_by_the_import() {
    let dir = tempfile::tempdir().unwrap();
    let (local, exports) = imported_and_exported(dir.path());
    let mut customers = fs::read_to_string(exports.join("customers_all.csv")).unwrap();
    customers.push_str("C999999,2025-02-30,ads,pro,eu\n");
    fs::write(exports.join("customers_all.csv"), customers).unwrap();
    let synced_db = dir.path().join("synced.db");
    let mut synced = small_tables_of(&local, &synced_db);
    let report = sync(&mut synced, &exports, &SyncOptions::default()).unwrap();
    let customers = report
        .imported
        .iter()
        .find(|r| r.table == "customers")
        .unwrap();
    assert_eq!(customers.rows_rejected, 1, "{report}");
    assert_synced_as_local(dir.path(), local, synced, &synced_db);
}

/// Regression (issue 17): the engine read the orders and events exports with casts only,
/// so a revenue that is no whole number failed the whole sync with an error naming a
/// query, and an order date that is no calendar day, an empty order id or a ts that is no
/// instant were counted into the rollups. Now the sync completes, leaves those rows out
/// exactly as `kpi import` of the same files rejects them, and lists each with its file,
/// line, column and reason.
#[test]
fn bad_rows_of_orders_and_events_exports_are_rejected_per_file_and_line_as_kpi_import_rejects_them()
{
    let dir = tempfile::tempdir().unwrap();
    let (mut local, exports) = imported_and_exported(dir.path());
    let synced_db = dir.path().join("synced.db");
    let mut synced = small_tables_of(&local, &synced_db);
    // The demo files' own rejects, imported with the small tables.
    let rejects_before = synced.reject_count().unwrap();
    let bad = add_bad_rows(&exports, &mut local);
    let report = sync(&mut synced, &exports, &SyncOptions::default()).unwrap();

    // Per file: its rows, its rejected rows, listed by line, column and reason.
    let of = |path: &std::path::Path| {
        report
            .rejected
            .iter()
            .find(|r| r.rejects.path == path)
            .unwrap_or_else(|| panic!("{} is reported: {report}", path.display()))
    };
    let orders = of(&bad.orders);
    assert_eq!((orders.rejects.rows, orders.rejects.rejected), (4, 3));
    let events = of(&bad.events);
    assert_eq!((events.rejects.rows, events.rejects.rejected), (2, 1));
    assert_eq!(
        report.rejected.len(),
        2,
        "no other export has a bad row: {report}"
    );
    let listed = |r: &kpi::sync::ExportReport| -> Vec<(u64, Option<String>)> {
        r.rejects
            .listed
            .iter()
            .map(|l| (l.line, l.column.clone()))
            .collect()
    };
    let column = |c: &str| Some(c.to_string());
    assert_eq!(
        listed(orders),
        [
            (2, column("revenue")),
            (3, column("order_date")),
            (4, column("order_id"))
        ]
    );
    assert_eq!(listed(events), [(3, column("ts"))]);
    assert!(
        orders.rejects.listed[0].reason.contains("12.5x"),
        "{report}"
    );
    assert!(
        orders.rejects.listed[1]
            .raw
            .starts_with("bad-2,C000001,2026-02-30")
    );
    // The printed summary names each file with its count.
    let text = report.to_string();
    for (file, n) in [(&bad.orders, 3), (&bad.events, 1)] {
        assert!(
            text.lines()
                .any(|l| l.starts_with(&file.display().to_string())
                    && l.contains(&format!("{n} rejected"))),
            "{text}"
        );
    }
    assert!(text.contains("; 4 rows rejected"), "{text}");

    // The same lines and columns as `kpi import` of the files rejected.
    for file in [&bad.orders, &bad.events] {
        let lines = |store: &Store| reject_lines(store, file);
        assert_eq!(lines(&synced), lines(&local), "{}", file.display());
    }
    // The rejects file beside the store, as an import writes it.
    let listing = fs::read_to_string(orders.rejects_file.as_ref().unwrap()).unwrap();
    assert!(
        listing.starts_with("line,column,reason,row\n2,revenue,")
            && listing.contains("\n4,order_id,missing value,"),
        "{listing}"
    );

    // Every rollup and every metric as the local import, which rejected the same rows.
    assert_synced_as_local(dir.path(), local, synced, &synced_db);

    // Fixed exports: the next sync forgets the rejects and their files.
    fs::remove_file(&bad.orders).unwrap();
    fs::remove_file(&bad.events).unwrap();
    let mut synced = Store::open(&synced_db).unwrap();
    let report = sync(&mut synced, &exports, &SyncOptions::default()).unwrap();
    assert!(report.rejected.is_empty(), "{report}");
    assert_eq!(rejects_of(&synced, &exports.join("orders")).len(), 0);
    assert_eq!(synced.reject_count().unwrap(), rejects_before);
}

/// The events' `day` is the local day of their instant in the configured time zone, as
/// `kpi import` stores it: a row whose day is another is rejected, not counted on it.
#[test]
fn an_event_whose_day_is_not_the_local_day_of_its_ts_in_the_configured_zone_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let exports = dir.path().join("exports");
    let folder = exports.join("events");
    fs::create_dir_all(&folder).unwrap();
    let file = folder.join("part-0.csv");
    fs::write(
        &file,
        "event_key,user_id,ts,day,name,session_id,feature,duration_s\n\
         e1,u1,2025-05-31T22:30:00Z,2025-06-01,login,s1,,\n\
         e2,u1,2025-05-31T21:30:00Z,2025-06-01,login,s1,,\n\
         e3,u2,2025-06-01T10:00:00+02:00,2025-06-01,page_view,s2,,1.5\n\
         e4,u2,2025-06-01,2025-06-01,login,s2,,\n\
         e5,u2,2025-06-01T10:00:00,2025-06-01,login,s2,,\n\
         e6,u2,2025-06-01T10:00:00Z,2025-06-01,login,s2,,NaN\n",
    )
    .unwrap();
    let config = kpi::config::Config {
        time_zone: "Europe/Berlin".to_string(),
        ..Default::default()
    };
    let options = SyncOptions {
        config,
        ..SyncOptions::default()
    };
    let engine = Engine::start(&options).unwrap();
    let found = engine
        .count_exports(&source::discover(&exports).unwrap(), 1000)
        .unwrap()
        .files;
    assert_eq!(found.len(), 1);
    let why: Vec<(u64, Option<&str>)> = found[0]
        .listed
        .iter()
        .map(|r| (r.line, r.column.as_deref()))
        .collect();
    assert_eq!(
        why,
        [
            (3, Some("day")),
            (5, Some("ts")),
            (6, Some("ts")),
            (7, Some("duration_s"))
        ],
        "{found:?}"
    );
    assert!(
        found[0].listed[0].reason.contains("Europe/Berlin"),
        "{found:?}"
    );

    let mut synced = Store::open(&dir.path().join("synced.db")).unwrap();
    sync(&mut synced, &exports, &options).unwrap();
    assert_eq!(
        count(
            &synced,
            "SELECT SUM(events) FROM ru_events_day WHERE day = '2025-06-01'"
        ),
        2
    );
    assert_eq!(count(&synced, "SELECT COUNT(*) FROM ru_events_day"), 1);
}

/// The rejects are numbered by their place in the file, which needs the file read whole
/// in its order: DataFusion reads a CSV file of 10 MB or more in byte ranges side by
/// side (`repartition_file_scans`), and numbering those rows counts from the start of
/// each range. A quoted field over two lines shifts every line after it.
#[test]
fn a_bad_row_deep_in_a_large_csv_export_is_listed_at_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("exports").join("orders");
    fs::create_dir_all(&folder).unwrap();
    let file = folder.join("part-0.csv");
    let mut text =
        String::from("order_id,customer_id,order_date,revenue,status,channel,discount,cost\n");
    text.push_str("o-quoted,c1,2025-01-01,100,completed,\"two\nlines\",,\n");
    let rows = 320_000;
    let bad_at = [250_000, 319_990];
    for i in 0..rows {
        let revenue = if bad_at.contains(&i) { "ten" } else { "1000" };
        text.push_str(&format!(
            "order-{i:08},customer-{:05},2025-01-{:02},{revenue},completed,ads,,\n",
            i % 5000,
            1 + i % 28
        ));
    }
    assert!(
        text.len() > 12 << 20,
        "larger than the engine's 10 MB split: {}",
        text.len()
    );
    fs::write(&file, &text).unwrap();
    let engine = Engine::start(&SyncOptions {
        partitions: 4,
        ..SyncOptions::default()
    })
    .unwrap();
    let found = engine
        .count_exports(
            &source::discover(&dir.path().join("exports")).unwrap(),
            1000,
        )
        .unwrap()
        .files;
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].rows, rows as u64 + 1);
    let lines: Vec<u64> = found[0].listed.iter().map(|r| r.line).collect();
    // Line 1 the header, lines 2–3 the quoted row, the generated rows from line 4.
    assert_eq!(lines, bad_at.map(|i| i as u64 + 4));
    assert!(
        found[0].listed[0].raw.starts_with("order-00250000,"),
        "{found:?}"
    );
}

/// `LISTED_PER_FILE` bounds what a wholly bad export costs: every row is counted, the first
/// ones listed, and the rest said in one more reject.
#[test]
fn a_wholly_bad_export_is_counted_whole_and_listed_up_to_the_limit() {
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("exports").join("refunds");
    fs::create_dir_all(&folder).unwrap();
    let mut text = String::from("refund_key,order_id,refund_date,amount\n");
    for i in 0..2500 {
        text.push_str(&format!("r{i},o{i},2025-01-01,-5\n"));
    }
    fs::write(folder.join("part-0.csv"), text).unwrap();
    let db = dir.path().join("synced.db");
    let mut synced = Store::open(&db).unwrap();
    let report = sync(
        &mut synced,
        &dir.path().join("exports"),
        &SyncOptions::default(),
    )
    .unwrap();
    let refunds = &report.rejected[0];
    assert_eq!(
        (refunds.rejects.rejected, refunds.rejects.listed.len()),
        (2500, kpi::sync::LISTED_PER_FILE)
    );
    assert!(report.to_string().contains("and 1500 more"), "{report}");
    assert_eq!(synced.reject_count().unwrap(), 1001);
    let listing = fs::read_to_string(refunds.rejects_file.as_ref().unwrap()).unwrap();
    assert!(
        listing
            .trim_end()
            .ends_with("\"and 1500 more rejected rows, not listed (the first 1000 are)\","),
        "{listing}"
    );
    assert_eq!(count(&synced, "SELECT COUNT(*) FROM ru_refunds_day"), 0);
}

/// Regression (issue 17): the import of a table kept whole moves its rejects file into
/// place as its savepoint is released, before the sync commits; a sync that then failed
/// left that file listing rows the store does not hold.
#[test]
fn a_sync_that_rolls_back_leaves_the_rejects_files_of_its_imports_as_they_were() {
    let dir = tempfile::tempdir().unwrap();
    let (_, exports) = imported_and_exported(dir.path());
    let db = dir.path().join("synced.db");
    let mut synced = Store::open(&db).unwrap();
    let folder = exports.join("subscriptions");
    fs::create_dir_all(&folder).unwrap();
    let subscriptions = folder.join("part-0.csv");
    let header = "subscription_id,customer_id,mrr,start_date,end_date,plan\n";
    fs::write(
        &subscriptions,
        format!("{header}S-1,C000001,twenty,2025-09-30,,starter\n"),
    )
    .unwrap();
    let report = sync(&mut synced, &exports, &SyncOptions::default()).unwrap();
    let rejects_file = report
        .imported
        .iter()
        .find_map(|r| r.rejects_file.clone())
        .unwrap();
    let listed_before = fs::read_to_string(&rejects_file).unwrap();

    // Another bad row, and a rollup query that fails after the imports.
    fs::write(
        &subscriptions,
        format!(
            "{header}S-1,C000001,twenty,2025-09-30,,starter\nS-2,C000002,thirty,2025-09-30,,pro\n"
        ),
    )
    .unwrap();
    let tickets = exports.join("tickets_launch.csv");
    fs::write(&tickets, "ticket_id,opened_at,first_response_at,resolved_at,severity,customer_id\nT-2,not a time,,,low,C000012\n").unwrap();
    fail_a_later_rollup(&synced);
    let err = sync(&mut synced, &exports, &SyncOptions::default()).unwrap_err();
    assert!(err.to_string().contains("failed on purpose"), "{err}");
    assert_eq!(fs::read_to_string(&rejects_file).unwrap(), listed_before);
    let tickets_rejects = kpi::import::rejects_path(&db, &fs::canonicalize(&tickets).unwrap());
    assert!(
        !tickets_rejects.exists(),
        "{} left behind",
        tickets_rejects.display()
    );
    assert_eq!(synced.reject_count().unwrap(), 1);
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
    let inputs = source::discover(&exports).unwrap();
    let counted = engine.count_exports(&inputs, 0).unwrap().rows_per_day;
    let queries = engine.plan(&inputs, &counted).unwrap().queries;
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

/// A Ballista scheduler decodes the plan a client sends with prost's limit of 100 nested
/// messages, and every node of a plan and of its expressions nests one message or more.
/// The engine's first checks of the exports nested deeper: the scheduler refused every
/// rollup query ("Could not parse plan … RecursionLimitReached"), while the in-process
/// sync, which decodes nothing, passed. Every query of a sync — the day ranges, each
/// rollup, the count and the list of rejects — must decode as a scheduler decodes it,
/// with the deepest checks (a time zone other than UTC, whose local day of an instant
/// is the deepest expression) and bad rows to list.
#[test]
fn every_query_of_a_sync_decodes_as_a_ballista_scheduler_decodes_it() {
    let dir = tempfile::tempdir().unwrap();
    // The plans' depth does not depend on the rows: a few customers' data, exported as
    // the other tests export it (events in Parquet, the rest in CSV), and bad rows in
    // files of their own, which the rollups read as a second location.
    let mut local = imported(dir.path(), 10);
    let exports = dir.path().join("exports");
    export(&local, &exports);
    add_bad_rows(&exports, &mut local);
    let options = SyncOptions {
        config: kpi::config::Config {
            time_zone: "Europe/Berlin".to_string(),
            ..Default::default()
        },
        ..SyncOptions::default()
    };
    let engine = Engine::start(&options)
        .unwrap()
        .decoding_plans_as_a_scheduler();
    let inputs = source::discover(&exports).unwrap();
    let counts = engine.count_exports(&inputs, 10).unwrap();
    let queries = engine.plan(&inputs, &counts.rows_per_day).unwrap().queries;
    assert!(queries.len() > 10, "the plan's queries: {}", queries.len());
    for query in &queries {
        if let Err(e) = engine.stream(query, |_| Ok(())) {
            panic!("rollup {}: {e}", query.table);
        }
    }
    let rejects = counts.files;
    assert!(
        rejects.iter().any(|r| !r.listed.is_empty()),
        "rejects are listed: {rejects:?}"
    );

    // And the queries of a sync after changed exports (`--follow`): the days of a changed
    // file of each table, and of the days the store counts otherwise.
    let engine = Engine::start(&options)
        .unwrap()
        .decoding_plans_as_a_scheduler();
    let changed: Vec<std::path::PathBuf> = inputs
        .iter()
        .filter(|i| i.table == "orders" || i.table == "events")
        .filter_map(|i| i.locations.first()?.files.first().cloned())
        .collect();
    assert_eq!(changed.len(), 2, "{inputs:?}");
    // The store's rows per day as the import counted them: the changed days are those
    // of the two files, and the events are read from the changed day's file alone (a
    // view of some files of the export).
    let stored = local.rows_per_day().unwrap();
    let plan = engine
        .plan_changed(&inputs, &changed, &stored, &counts.rows_per_day, |_| {
            Ok(FirstEvents::OfChangedDays)
        })
        .unwrap();
    let (days, _) = plan.changed.as_ref().unwrap();
    assert_eq!(days.events.len(), 1, "{days:?}");
    assert!(!days.orders.is_empty(), "{days:?}");
    for query in &plan.queries {
        if let Err(e) = engine.stream(query, |_| Ok(())) {
            panic!("rollup {} of the changed days: {e}", query.table);
        }
    }
}
