//! `kpi check` as cron runs it: the binary, its output and its exit code.
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::{Command, Output};

fn check(db: &Path, extra: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kpi"))
        .arg("check")
        .arg("--db")
        .arg(db)
        .args(extra)
        .env_remove("KPI_DB")
        .output()
        .unwrap()
}

fn empty_store(dir: &Path) -> std::path::PathBuf {
    let path = dir.join("launch.db");
    drop(kpi::store::Store::open(&path).unwrap());
    path
}

#[test]
fn an_empty_store_has_no_open_alerts_and_exits_0() {
    let dir = tempfile::tempdir().unwrap();
    let db = empty_store(dir.path());
    let out = check(&db, &[]);
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(stdout.starts_with("kpi check: no open alerts"), "{stdout}");
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
}

#[test]
fn json_output_has_an_empty_alerts_array() {
    let dir = tempfile::tempdir().unwrap();
    let db = empty_store(dir.path());
    let out = check(&db, &["--format", "json"]);
    assert_eq!(out.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["alerts"], serde_json::json!([]));
    assert_eq!(v["exit_code"], 0);
}

#[test]
fn a_missing_store_is_an_error_not_an_all_clear() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("lanch.db");
    let out = check(&db, &[]);
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("lanch.db"), "{stderr}");
    assert!(!db.exists(), "check must not create the store");
}

#[test]
fn a_bad_kpi_toml_is_an_error_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let db = empty_store(dir.path());
    std::fs::write(dir.path().join("kpi.toml"), "[alerts]\nmild_pct = 15.0\n").unwrap();
    let out = check(&db, &[]);
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains("kpi.toml") && stderr.contains("alerts.mild_pct"),
        "{stderr}"
    );
}

#[test]
fn a_file_whose_latest_import_failed_is_a_strong_alert_until_it_imports() {
    let dir = tempfile::tempdir().unwrap();
    let db = empty_store(dir.path());
    let orders = dir.path().join("orders.csv");
    let import = || {
        Command::new(env!("CARGO_BIN_EXE_kpi"))
            .arg("import")
            .arg("--db")
            .arg(&db)
            .arg(&orders)
            .output()
            .unwrap()
    };
    // No header row the contract knows: the file cannot be imported at all.
    std::fs::write(&orders, "what,is,this\n1,2,3\n").unwrap();
    assert_eq!(import().status.code(), Some(3));

    let out = check(&db, &[]);
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(2), "{stdout}");
    let line = stdout
        .lines()
        .find(|l| l.contains("import failed"))
        .unwrap();
    assert!(
        line.starts_with("‼ STRONG import failed file=orders.csv"),
        "{line}"
    );
    assert!(
        line.contains("order_id"),
        "the reason names what is missing: {line}"
    );

    std::fs::write(
        &orders,
        "order_id,customer_id,order_date,revenue\no1,c1,2026-11-01,10\n",
    )
    .unwrap();
    assert_eq!(import().status.code(), Some(0));
    let out = check(&db, &[]);
    assert!(
        !String::from_utf8(out.stdout)
            .unwrap()
            .contains("import failed")
    );
}
