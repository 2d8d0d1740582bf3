//! Reliability across processes: a `kpi import` killed with SIGKILL mid-file leaves the
//! store intact and the file wholly absent; a second writer while an import runs waits
//! its turn instead of failing.
#![allow(clippy::unwrap_used)]

use std::io::{BufWriter, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

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
            "o{i},c{},2025-{:02}-{:02},{}.{:02},completed,organic",
            i % 977,
            1 + i % 12,
            1 + i % 28,
            i % 500,
            i % 100
        )
        .unwrap();
    }
    out.flush().unwrap();
}

/// Waits until some process holds the store's write lock (an import in its transaction).
fn wait_for_writer(db: &Path, child: &mut std::process::Child) {
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            panic!("the import ended ({status}) before a writer was seen");
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "no writer seen"
        );
        // Opened without CREATE and without waiting, so the probe neither makes the
        // store nor queues behind the import.
        let opened = Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE);
        if let Ok(conn) = opened {
            conn.busy_timeout(Duration::ZERO).unwrap();
            // Until the schema is committed, a held lock is the migration, not the import.
            let migrated = conn
                .query_row(
                    "SELECT count(*) FROM sqlite_master WHERE name = 'import_log'",
                    [],
                    |r| r.get::<_, i64>(0),
                )
                .is_ok_and(|n| n == 1);
            if !migrated {
                std::thread::sleep(Duration::from_millis(5));
                continue;
            }
            match conn.execute_batch("BEGIN IMMEDIATE; ROLLBACK;") {
                Err(rusqlite::Error::SqliteFailure(e, _))
                    if e.code == rusqlite::ErrorCode::DatabaseBusy =>
                {
                    return;
                }
                _ => {}
            }
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn order_indexes(conn: &Connection) -> i64 {
    conn.query_row(
        "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND tbl_name = 'orders' \
         AND sql IS NOT NULL",
        [],
        |r| r.get(0),
    )
    .unwrap()
}

fn count(db: &Path, table: &str) -> i64 {
    let conn = Connection::open(db).unwrap();
    conn.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
        .unwrap()
}

#[test]
fn sigkill_mid_import_leaves_the_store_whole_and_the_file_absent() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("s.db");
    let csv = dir.path().join("orders.csv");
    write_orders(&csv, 300_000);
    // A first, small import so that the store has data of its own to keep.
    let small = dir.path().join("annotations.csv");
    std::fs::write(&small, "date,label\n2025-01-01,keep me\n").unwrap();
    let status = Command::new(KPI)
        .args(["import", "--db"])
        .arg(&db)
        .arg(&small)
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    // The orders table's secondary indexes as the schema creates them, before any load.
    let indexes = order_indexes(&Connection::open(&db).unwrap());
    assert!(
        indexes >= 1,
        "orders has a secondary index to drop and restore"
    );

    let mut child = Command::new(KPI)
        .args(["import", "--db"])
        .arg(&db)
        .arg(&csv)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_for_writer(&db, &mut child);
    std::thread::sleep(Duration::from_millis(30));
    assert!(
        child.try_wait().unwrap().is_none(),
        "still importing when killed"
    );
    child.kill().unwrap(); // SIGKILL on Unix
    child.wait().unwrap();

    let conn = Connection::open(&db).unwrap();
    let check: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok");
    assert_eq!(count(&db, "orders"), 0, "none of the killed file's rows");
    assert_eq!(count(&db, "annotations"), 1, "the earlier file is kept");
    // A big load into an empty table drops its indexes until commit: the kill undid that.
    assert_eq!(order_indexes(&conn), indexes);
    drop(conn);

    let out = Command::new(KPI)
        .args(["import", "--db"])
        .arg(&db)
        .arg(&csv)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let line = String::from_utf8_lossy(&out.stdout);
    assert!(
        line.contains("orders, 300000 read, 300000 upserted, 0 rejected"),
        "{line}"
    );
    assert_eq!(count(&db, "orders"), 300_000);
    assert_eq!(order_indexes(&Connection::open(&db).unwrap()), indexes);
}

#[test]
fn a_second_writer_during_an_import_waits_and_both_finish() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("s.db");
    let csv = dir.path().join("orders.csv");
    write_orders(&csv, 60_000);
    let notes = dir.path().join("annotations.csv");
    std::fs::write(&notes, "date,label\n2025-06-01,launch\n").unwrap();

    let mut import = Command::new(KPI)
        .args(["import", "--db"])
        .arg(&db)
        .arg(&csv)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for_writer(&db, &mut import);

    let second_import = Command::new(KPI)
        .args(["import", "--db"])
        .arg(&db)
        .arg(&notes)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let shell = Command::new("sqlite3")
        .arg(&db)
        .arg(".timeout 30000")
        .arg("INSERT INTO annotations (date, label) VALUES ('2025-06-02', 'typed by hand');")
        .output();

    let first = import.wait_with_output().unwrap();
    assert!(first.status.success());
    let second = second_import.wait_with_output().unwrap();
    assert!(
        second.status.success(),
        "{}",
        String::from_utf8_lossy(&second.stderr)
    );
    assert!(String::from_utf8_lossy(&second.stdout).contains("annotations, 1 read, 1 upserted"));
    let expected_notes = match shell {
        Ok(out) => {
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            2
        }
        Err(_) => 1, // no sqlite3 shell installed: the second kpi import still counts
    };
    assert_eq!(count(&db, "orders"), 60_000);
    assert_eq!(count(&db, "annotations"), expected_notes);
}
