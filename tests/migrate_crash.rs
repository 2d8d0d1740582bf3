//! Schema upgrades across crashes: the rollup rebuild an upgrade needs commits together
//! with the new schema version, so a `kpi` killed mid-rebuild leaves the old version and
//! the next open rebuilds; and a store whose rollup tables are missing or never built is
//! repaired on open instead of failing with "SQL logic error" or showing $0.00.
#![allow(clippy::unwrap_used)]

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use kpi::store::rollup::{ROLLUP_TABLES, refresh_all};
use kpi::store::{CURRENT_VERSION, Store, StoreError};
use rusqlite::Connection;

const KPI: &str = env!("CARGO_BIN_EXE_kpi");

fn write_orders(path: &Path, rows: u64) {
    let mut out = BufWriter::new(std::fs::File::create(path).unwrap());
    writeln!(
        out,
        "order_id,customer_id,order_date,revenue,status,channel"
    )
    .unwrap();
    for i in 0..rows {
        writeln!(
            out,
            "o{i},c{},2025-{:02}-{:02},{}.{:02},completed,{}",
            i % 977,
            1 + i % 12,
            1 + i % 28,
            i % 500,
            i % 100,
            if i % 3 == 0 { "paid_search" } else { "organic" }
        )
        .unwrap();
    }
    out.flush().unwrap();
}

fn import(db: &Path, file: &Path) {
    let out = Command::new(KPI)
        .args(["import", "--db"])
        .arg(db)
        .arg(file)
        .env_remove("KPI_DB")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Every row of every rollup table, as text, in a stable order.
fn rollups(conn: &Connection) -> Vec<(String, Vec<String>)> {
    ROLLUP_TABLES
        .iter()
        .map(|table| {
            let mut rows: Vec<String> = conn
                .prepare(&format!("SELECT * FROM {table}"))
                .unwrap()
                .query_map([], |r| {
                    let n = r.as_ref().column_count();
                    let mut cells = Vec::with_capacity(n);
                    for i in 0..n {
                        let cell: rusqlite::types::Value = r.get(i)?;
                        cells.push(format!("{cell:?}"));
                    }
                    Ok(cells.join("|"))
                })
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap();
            rows.sort();
            ((*table).to_string(), rows)
        })
        .collect()
}

/// Asserts two rollup dumps are equal, naming the first table that differs and a few of
/// its differing rows rather than printing every row.
#[track_caller]
fn assert_same(actual: &[(String, Vec<String>)], expected: &[(String, Vec<String>)], what: &str) {
    for ((table, rows), (_, wanted)) in actual.iter().zip(expected) {
        if rows == wanted {
            continue;
        }
        let extra: Vec<&String> = rows
            .iter()
            .filter(|r| !wanted.contains(r))
            .take(3)
            .collect();
        let missing: Vec<&String> = wanted
            .iter()
            .filter(|r| !rows.contains(r))
            .take(3)
            .collect();
        panic!(
            "{what}: {table} has {} rows, {} expected; unexpected {extra:?}; missing {missing:?}",
            rows.len(),
            wanted.len()
        );
    }
}

/// The rollups of every row rebuilt from scratch: what any repair must arrive at.
fn fully_rebuilt(db: &Path) -> Vec<(String, Vec<String>)> {
    let mut store = Store::open(db).unwrap();
    refresh_all(&mut store).unwrap();
    rollups(store.conn())
}

fn version(db: &Path) -> u32 {
    Connection::open(db)
        .unwrap()
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .unwrap()
}

/// A store of `orders` orders whose rollups an older kpi computed otherwise (here: wrong
/// revenue and no distinct counts) and whose schema version says so.
fn store_from_an_older_kpi(dir: &Path, orders: u64) -> (PathBuf, Vec<(String, Vec<String>)>) {
    let db = dir.join("s.db");
    let csv = dir.join("orders.csv");
    write_orders(&csv, orders);
    import(&db, &csv);
    let rebuilt = fully_rebuilt(&db);
    let conn = Connection::open(&db).unwrap();
    conn.execute_batch(
        "UPDATE ru_orders_day SET revenue = revenue + 1;
         DELETE FROM ru_distinct;
         PRAGMA user_version = 4;",
    )
    .unwrap();
    drop(conn);
    (db, rebuilt)
}

/// Waits until the child holds the write lock and has written at least `bytes` of log:
/// the rebuild is well under way.
fn wait_for_rebuild(db: &Path, child: &mut std::process::Child, bytes: u64) {
    let mut wal = db.as_os_str().to_owned();
    wal.push("-wal");
    let wal = PathBuf::from(wal);
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            panic!("kpi ended ({status}) before its rebuild was seen");
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "no rebuild seen"
        );
        if std::fs::metadata(&wal).is_ok_and(|m| m.len() >= bytes) {
            return;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

#[test]
fn a_kpi_killed_during_the_rebuild_after_an_upgrade_rebuilds_on_the_next_open() {
    let dir = tempfile::tempdir().unwrap();
    let (db, rebuilt) = store_from_an_older_kpi(dir.path(), 300_000);
    let notes = dir.path().join("annotations.csv");
    std::fs::write(&notes, "date,label\n2025-06-01,launch\n").unwrap();

    // Any writer upgrades on open; this one is killed (SIGKILL) mid-rebuild.
    let mut child = Command::new(KPI)
        .args(["import", "--db"])
        .arg(&db)
        .arg(&notes)
        .env_remove("KPI_DB")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_for_rebuild(&db, &mut child, 1 << 20);
    assert!(
        child.try_wait().unwrap().is_none(),
        "still rebuilding when killed"
    );
    child.kill().unwrap();
    child.wait().unwrap();

    // The kill undid the upgrade as a whole: the store still says it needs one.
    assert_eq!(version(&db), 4, "the version commits with the rebuild");

    let store = Store::open(&db).unwrap();
    let reopened = rollups(store.conn());
    assert_same(
        &reopened,
        &rebuilt,
        "rollups after the reopen, against a full rebuild",
    );
    drop(store);
    assert_eq!(version(&db), CURRENT_VERSION);
}

#[test]
fn a_missing_rollup_table_is_rebuilt_on_open_not_an_sql_error() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("s.db");
    let csv = dir.path().join("orders.csv");
    write_orders(&csv, 2_000);
    import(&db, &csv);
    let rebuilt = fully_rebuilt(&db);
    let conn = Connection::open(&db).unwrap();
    conn.execute_batch("DROP TABLE ru_orders_day; DROP INDEX ru_order_customers_customer;")
        .unwrap();
    drop(conn);

    // The headless readout, as a user would meet it.
    let out = Command::new(KPI)
        .args(["report", "--format", "json", "--db"])
        .arg(&db)
        .env_remove("KPI_DB")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(!stderr.contains("SQL logic error"), "{stderr}");
    let store = Store::open_read_only(&db).unwrap();
    assert_same(&rollups(store.conn()), &rebuilt, "after the repair");
}

#[test]
fn rollups_never_built_under_a_current_version_are_built_on_open() {
    // What an older kpi left when killed during its rebuild: the version committed, the
    // rollups empty — "Gross revenue $0.00" for ever.
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("s.db");
    let csv = dir.path().join("orders.csv");
    write_orders(&csv, 2_000);
    import(&db, &csv);
    let rebuilt = fully_rebuilt(&db);
    let conn = Connection::open(&db).unwrap();
    for table in ROLLUP_TABLES {
        conn.execute(&format!("DELETE FROM {table}"), []).unwrap();
    }
    drop(conn);

    let store = Store::open(&db).unwrap();
    assert_same(&rollups(store.conn()), &rebuilt, "after the open");
}

#[test]
fn a_damaged_store_that_cannot_be_written_says_how_to_repair_it() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("s.db");
    let csv = dir.path().join("orders.csv");
    write_orders(&csv, 200);
    import(&db, &csv);
    Connection::open(&db)
        .unwrap()
        .execute_batch("DROP TABLE ru_distinct")
        .unwrap();
    let before = std::fs::read(&db).unwrap();
    let mut read_only = std::fs::metadata(&db).unwrap().permissions();
    read_only.set_readonly(true);
    std::fs::set_permissions(&db, read_only).unwrap();

    let err = Store::open_for_reading(&db).err().unwrap();
    assert!(matches!(err, StoreError::NeedsWrite { .. }), "{err}");
    let message = err.to_string();
    assert!(message.contains("ru_distinct"), "{message}");
    assert!(message.contains("read-only"), "{message}");
    assert_eq!(
        std::fs::read(&db).unwrap(),
        before,
        "the store is unchanged"
    );

    let out = Command::new(KPI)
        .args(["check", "--db"])
        .arg(&db)
        .env_remove("KPI_DB")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("ru_distinct"), "{stderr}");
    assert!(!stderr.contains("SQL logic error"), "{stderr}");
    assert_eq!(
        std::fs::read(&db).unwrap(),
        before,
        "the store is unchanged"
    );
}

#[test]
fn a_store_of_version_7_loses_the_orders_by_customer_index_and_keeps_its_data() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("s.db");
    let csv = dir.path().join("orders.csv");
    write_orders(&csv, 2_000);
    import(&db, &csv);
    // What kpi at schema version 7 left: the same tables with the index.
    let conn = Connection::open(&db).unwrap();
    conn.execute_batch(
        "CREATE INDEX IF NOT EXISTS orders_customer ON orders (customer_id, order_date);
         PRAGMA user_version = 7;",
    )
    .unwrap();
    let orders_dump = "SELECT group_concat(order_id || '|' || customer_id || '|' || order_date
         || '|' || revenue || '|' || status || '|' || COALESCE(channel, ''), ';')
         FROM (SELECT * FROM orders ORDER BY order_id)";
    let orders_before: String = conn.query_row(orders_dump, [], |r| r.get(0)).unwrap();
    let rollups_before = rollups(&conn);
    drop(conn);

    let store = Store::open(&db).unwrap();
    let conn = store.conn();
    let index_left: bool = conn
        .query_row(
            "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE name = 'orders_customer')",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(!index_left, "orders_customer is still in the store");
    let orders_after: String = conn.query_row(orders_dump, [], |r| r.get(0)).unwrap();
    assert_eq!(orders_after.matches(';').count(), 1_999);
    assert_eq!(orders_after, orders_before);
    assert_same(&rollups(conn), &rollups_before, "after the migration");
    // The rollups per segment (schema 9) are counted on the way, every day of the orders.
    let (segment_days, order_days): (i64, i64) = conn
        .query_row(
            "SELECT (SELECT COUNT(DISTINCT day) FROM ru_segment_orders_day
                     WHERE dim = 'order_channel'),
                    (SELECT COUNT(DISTINCT day) FROM ru_order_customers_day)",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert!(order_days > 0);
    assert_eq!(segment_days, order_days);
    drop(store);
    assert_eq!(version(&db), CURRENT_VERSION);
}
