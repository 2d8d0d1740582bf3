//! `kpi import` as a user runs it: one line per file, errors on stderr, exit codes.
#![allow(clippy::unwrap_used)]

use std::process::Command;

const KPI: &str = env!("CARGO_BIN_EXE_kpi");

#[test]
fn one_line_per_file_and_a_nonzero_exit_when_a_file_fails() {
    let dir = tempfile::tempdir().unwrap();
    let exports = dir.path().join("exports");
    std::fs::create_dir(&exports).unwrap();
    std::fs::write(
        exports.join("orders.csv"),
        "order_id,customer_id,order_date,revenue,coupon\no1,c1,2025-06-01,10,X\no2,c1,2025-06-01,-1,\n",
    )
    .unwrap();
    std::fs::write(
        exports.join("surveys.json"),
        "[{\"response_id\":\"r1\",\"date\":\"2025-06-01\",\"kind\":\"nps\",\"score\":9}]",
    )
    .unwrap();
    std::fs::write(exports.join("notes.csv"), "a,b\n1,2\n").unwrap();
    let db = dir.path().join("launch.db");
    let out = Command::new(KPI)
        .current_dir(dir.path())
        .args(["import", "--db", "launch.db", "exports"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stdout}{stderr}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{stdout}");
    assert!(
        lines[0].starts_with("exports/orders.csv: orders, 2 read, 1 upserted, 1 rejected, "),
        "{stdout}"
    );
    // Named by the file and a hash of its absolute path: `launch.db.rejects/orders.<hash>.csv`.
    let rejects = kpi::import::rejects_path(
        std::path::Path::new("launch.db"),
        &std::fs::canonicalize(exports.join("orders.csv")).unwrap(),
    );
    assert!(
        rejects.starts_with("launch.db.rejects"),
        "{}",
        rejects.display()
    );
    assert!(
        lines[0].ends_with(&format!(
            " s (ignored columns: coupon; rejects: {})",
            rejects.display()
        )),
        "{stdout}"
    );
    assert!(
        lines[1].starts_with("exports/surveys.json: surveys, 1 read, 1 upserted, 0 rejected, "),
        "{stdout}"
    );
    assert!(
        stderr.starts_with("kpi: exports/notes.csv: cannot tell the table from the file name"),
        "{stderr}"
    );
    assert!(dir.path().join(&rejects).exists());

    // Running it again changes nothing.
    let again = Command::new(KPI)
        .args(["import", "--db"])
        .arg(&db)
        .arg(exports.join("orders.csv"))
        .output()
        .unwrap();
    assert!(again.status.success());
    assert!(
        String::from_utf8_lossy(&again.stdout).contains("orders, 0 read, 0 upserted, 0 rejected"),
        "{}",
        String::from_utf8_lossy(&again.stdout)
    );
}

#[test]
fn import_watch_keeps_the_store_current_until_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let exports = dir.path().join("exports");
    std::fs::create_dir(&exports).unwrap();
    let header = "order_id,customer_id,order_date,revenue\n";
    std::fs::write(
        exports.join("orders.csv"),
        format!("{header}o1,c1,2025-06-01,10\n"),
    )
    .unwrap();
    let db = dir.path().join("live.db");
    let child = Command::new(KPI)
        .args(["import", "--db"])
        .arg(&db)
        .arg("--watch")
        .arg(&exports)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let orders = || -> i64 {
        let Ok(conn) = rusqlite::Connection::open(&db) else {
            return -1;
        };
        conn.busy_timeout(std::time::Duration::from_secs(5))
            .unwrap();
        conn.query_row("SELECT count(*) FROM orders", [], |r| r.get(0))
            .unwrap_or(-1)
    };
    let wait_for = |n: i64| {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
        while orders() != n {
            assert!(
                std::time::Instant::now() < deadline,
                "orders stayed at {}",
                orders()
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    };
    wait_for(1);
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(exports.join("orders.csv"))
        .unwrap();
    std::io::Write::write_all(&mut file, b"o2,c1,2025-06-02,20\n").unwrap();
    drop(file);
    wait_for(2);

    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "exit {:?}", out.status);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("(1 files already there)"), "{stdout}");
    assert!(
        stdout.contains("orders, 1 read, 1 upserted, 0 rejected"),
        "{stdout}"
    );
    assert!(stdout.contains("new rows only"), "{stdout}");
}

#[test]
fn a_file_that_is_not_a_store_is_named_once_with_its_cause_once() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("notes.db");
    std::fs::write(
        &db,
        "these are notes, not a SQLite database, long enough to tell\n",
    )
    .unwrap();
    let orders = dir.path().join("orders.csv");
    std::fs::write(
        &orders,
        "order_id,customer_id,order_date,revenue\no1,c1,2025-06-01,1\n",
    )
    .unwrap();
    let expected = format!(
        "kpi: cannot open store {}: file is not a database\n",
        db.display()
    );
    for args in [
        vec![
            "import",
            "--db",
            db.to_str().unwrap(),
            orders.to_str().unwrap(),
        ],
        vec!["report", "--db", db.to_str().unwrap()],
        vec!["check", "--db", db.to_str().unwrap()],
    ] {
        let out = Command::new(KPI).args(&args).output().unwrap();
        assert_eq!(out.status.code(), Some(3), "{args:?}");
        assert_eq!(String::from_utf8_lossy(&out.stderr), expected, "{args:?}");
    }
    let missing = dir.path().join("nope.toml");
    let out = Command::new(KPI)
        .args(["report", "--db", db.to_str().unwrap(), "--config"])
        .arg(&missing)
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        format!(
            "kpi: cannot read config {}: No such file or directory (os error 2)\n",
            missing.display()
        )
    );
}
