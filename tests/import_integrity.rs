//! Issue 11, "nothing lost, nothing counted twice": money that cannot overflow a sum,
//! files that update only the columns they have, rows sharing a key inside one file, and
//! rejects that are counted once per file.
#![allow(clippy::unwrap_used)]

mod import_support;

use std::path::{Path, PathBuf};
use std::process::Command;

use import_support::{count, dump, import, options};
use kpi::import::import_file;
use kpi::store::Store;

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).unwrap();
    }
    std::fs::write(&path, text).unwrap();
    path
}

fn kpi(args: &[&str]) -> (String, String, i32) {
    let out = Command::new(env!("CARGO_BIN_EXE_kpi"))
        .args(args)
        .env_remove("KPI_DB")
        .output()
        .unwrap();
    (
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
        out.status.code().unwrap_or(-1),
    )
}

/// (line, column, reason) of every reject row in the store, oldest first.
fn rejects(store: &Store) -> Vec<(i64, Option<String>, String)> {
    store
        .conn()
        .prepare("SELECT line, column, reason FROM rejects ORDER BY id")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

// ---- 7. Money that overflows ------------------------------------------------------

#[test]
fn revenue_beyond_i64_cents_is_a_reject_row_and_the_good_rows_still_import() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("s.db")).unwrap();
    let file = write(
        dir.path(),
        "orders.csv",
        "order_id,customer_id,order_date,revenue\n\
         o1,c1,2025-06-01,10\n\
         o2,c1,2025-06-01,92233720368547758.07\n\
         o3,c1,2025-06-02,20\n",
    );
    let report = import(&mut store, &file);
    assert_eq!((report.rows_upserted, report.rows_rejected), (2, 1));
    let rejected = rejects(&store);
    assert_eq!(rejected.len(), 1);
    let (line, column, reason) = &rejected[0];
    assert_eq!((*line, column.as_deref()), (3, Some("revenue")));
    assert!(
        reason.contains("too large an amount (at most 100,000,000,000.00 either way)"),
        "{reason}"
    );
    assert_eq!(count(&store, "orders"), 2);
}

#[test]
fn spend_beyond_i64_cents_is_rejected_so_report_and_check_still_run() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("s.db");
    let mut store = Store::open(&db).unwrap();
    let file = write(
        dir.path(),
        "spend.csv",
        "date,channel,amount\n\
         2025-06-01,paid,92233720368547758.07\n\
         2025-06-01,social,92233720368547758.07\n\
         2025-06-02,paid,100\n",
    );
    let report = import(&mut store, &file);
    assert_eq!((report.rows_upserted, report.rows_rejected), (1, 2));
    drop(store);
    let (_, err, code) = kpi(&["report", "--db", db.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    let (_, err, code) = kpi(&["check", "--db", db.to_str().unwrap()]);
    assert_ne!(code, 3, "{err}");
    assert!(!err.contains("overflow"), "{err}");
}

#[test]
fn many_amounts_at_the_bound_import_and_report_without_overflow() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("s.db");
    let mut store = Store::open(&db).unwrap();
    let max = "100000000000.00";
    // 20 000 orders and refunds at the bound on one day: a per-day SUM of 2·10^17 cents.
    let mut orders = String::from("order_id,customer_id,order_date,revenue,discount,cost\n");
    let mut refunds = String::from("refund_id,order_id,refund_date,amount\n");
    for i in 0..20_000 {
        orders.push_str(&format!("o{i},c{},2025-06-01,{max},{max},{max}\n", i % 50));
        refunds.push_str(&format!("r{i},o{i},2025-06-01,{max}\n"));
    }
    let mut spend = String::from("date,channel,amount\n");
    let mut costs = String::from("date,category,amount\n");
    for day in 1..=28 {
        for channel in ["paid", "social", "search", "tv"] {
            spend.push_str(&format!("2025-06-{day:02},{channel},{max}\n"));
        }
        for category in ["cogs", "opex", "tax", "other"] {
            costs.push_str(&format!("2025-06-{day:02},{category},-{max}\n"));
        }
    }
    for (name, text) in [
        ("orders.csv", &orders),
        ("refunds.csv", &refunds),
        ("spend.csv", &spend),
        ("costs.csv", &costs),
    ] {
        let report = import(&mut store, &write(dir.path(), name, text));
        assert_eq!(report.rows_rejected, 0, "{report}");
    }
    drop(store);
    for format in ["md", "json", "csv"] {
        let (out, err, code) = kpi(&["report", "--db", db.to_str().unwrap(), "--format", format]);
        assert_eq!(code, 0, "{err}");
        assert!(!out.is_empty());
    }
    let (_, err, code) = kpi(&["check", "--db", db.to_str().unwrap()]);
    assert_ne!(code, 3, "{err}");
}
