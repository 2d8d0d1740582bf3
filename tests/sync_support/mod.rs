//! Shared by the sync tests: a store filled by `kpi import`, its raw tables written as
//! exports split over many files, its rollups as comparable text, and its report.
#![allow(dead_code, clippy::unwrap_used)]

#[path = "../import_support/mod.rs"]
mod import_support;

use std::fs::{self, File};
use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, Float64Array, Int64Array, RecordBatch, StringArray};
use datafusion::parquet::arrow::ArrowWriter;
use rusqlite::types::Value;
use serde_json::Value as Json;

use kpi::demo::DemoOptions;
use kpi::store::Store;
use kpi::store::rollup::{ROLLUP_TABLES, SEGMENT_TABLES};
use kpi::store::rollup_plan::{RAW_INPUTS, StoredType};

/// A store filled by `kpi import` of a small demo data set.
pub fn imported(dir: &Path, customers: u32) -> Store {
    let options = DemoOptions {
        seed: 7,
        customers,
        months: 14,
    };
    import_support::demo_imported(dir, "local.db", &options)
}

fn rows_of(store: &Store, table: &str, columns: &[(&str, StoredType)]) -> Vec<Vec<Value>> {
    let names: Vec<&str> = columns.iter().map(|c| c.0).collect();
    let mut stmt = store
        .conn()
        .prepare(&format!("SELECT {} FROM {table}", names.join(", ")))
        .unwrap();
    stmt.query_map([], |r| {
        (0..names.len()).map(|i| r.get::<_, Value>(i)).collect()
    })
    .unwrap()
    .map(Result::unwrap)
    .collect()
}

fn text(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::Integer(i) => i.to_string(),
        Value::Real(x) => x.to_string(),
        Value::Text(t) => t.clone(),
        Value::Blob(_) => panic!("no blobs in raw tables"),
    }
}

/// The demo data set imported into `dir/local.db` (150 customers) and its raw tables
/// written as exports under `dir/exports`.
pub fn imported_and_exported(dir: &Path) -> (Store, std::path::PathBuf) {
    let local = imported(dir, 150);
    let exports = dir.join("exports");
    export(&local, &exports);
    (local, exports)
}

/// The rollups of `synced` (at `synced_db`) equal the local full rebuild's, and it reports
/// every metric as the local import at `dir/local.db`.
pub fn assert_synced_as_local(dir: &Path, mut local: Store, synced: Store, synced_db: &Path) {
    kpi::store::rollup::refresh_all(&mut local).unwrap();
    assert_same_rows(&rollups(&local), &rollups(&synced));
    drop((local, synced));
    assert_same_report(&report_json(&dir.join("local.db")), &report_json(synced_db));
}

/// The one number `sql` reads from `store`.
pub fn count(store: &Store, sql: &str) -> i64 {
    store.conn().query_row(sql, [], |r| r.get(0)).unwrap()
}

/// Writes the store's raw tables as the exports a warehouse would hold: events as Parquet
/// in day partitions, the rest as CSV spread over several files per month, and the
/// customers as one plain file named as for `kpi import`.
pub fn export(store: &Store, out: &Path) -> usize {
    let mut files = 0;
    for (table, columns) in RAW_INPUTS {
        let rows = rows_of(store, table, columns);
        let day_at = columns
            .iter()
            .position(|c| matches!(c.0, "order_date" | "refund_date" | "day" | "signup_date"))
            .unwrap();
        let mut parts: std::collections::BTreeMap<String, Vec<&Vec<Value>>> = Default::default();
        // Rows go round the parts of their partition by their place in it, so a change
        // to one partition's rows leaves the others' files as they were.
        let mut placed: std::collections::HashMap<String, usize> = Default::default();
        for row in &rows {
            let day = text(&row[day_at]);
            let partition = match table {
                "events" => format!("date={day}"),
                _ => format!("month={}", &day[..7]),
            };
            let i = placed.entry(partition.clone()).or_default();
            *i += 1;
            let key = match table {
                "events" => format!("{partition}/part-{}", *i % 2),
                "customers" => "customers_all".to_string(),
                _ => format!("{partition}/part-{}", *i % 3),
            };
            parts.entry(key).or_default().push(row);
        }
        for (key, rows) in parts {
            let path = if table == "customers" {
                out.join(format!("{key}.csv"))
            } else {
                out.join(table).join(&key)
            };
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            if table == "events" {
                write_parquet(&path.with_extension("parquet"), columns, &rows);
            } else {
                let mut w = csv::Writer::from_path(path.with_extension("csv")).unwrap();
                w.write_record(columns.iter().map(|c| c.0)).unwrap();
                for row in rows {
                    w.write_record(row.iter().map(text)).unwrap();
                }
                w.flush().unwrap();
            }
            files += 1;
        }
    }
    files
}

fn write_parquet(path: &Path, columns: &[(&str, StoredType)], rows: &[&Vec<Value>]) {
    let arrays: Vec<(&str, ArrayRef)> = columns
        .iter()
        .enumerate()
        .map(|(i, &(name, kind))| {
            let array: ArrayRef = match kind {
                StoredType::Text => Arc::new(StringArray::from(
                    rows.iter()
                        .map(|r| match &r[i] {
                            Value::Null => None,
                            v => Some(text(v)),
                        })
                        .collect::<Vec<_>>(),
                )),
                StoredType::Integer => Arc::new(Int64Array::from(
                    rows.iter()
                        .map(|r| match r[i] {
                            Value::Integer(n) => Some(n),
                            _ => None,
                        })
                        .collect::<Vec<_>>(),
                )),
                StoredType::Real => Arc::new(Float64Array::from(
                    rows.iter()
                        .map(|r| match r[i] {
                            Value::Real(x) => Some(x),
                            Value::Integer(n) => Some(n as f64),
                            _ => None,
                        })
                        .collect::<Vec<_>>(),
                )),
            };
            (name, array)
        })
        .collect();
    let batch = RecordBatch::try_from_iter(arrays).unwrap();
    let mut writer =
        ArrowWriter::try_new(File::create(path).unwrap(), batch.schema(), None).unwrap();
    writer.write(&batch).unwrap();
    writer.close().unwrap();
}

/// Every file under `dir` with its bytes.
fn contents(dir: &Path) -> std::collections::BTreeMap<std::path::PathBuf, Vec<u8>> {
    let mut out = std::collections::BTreeMap::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(folder) = pending.pop() {
        for entry in fs::read_dir(&folder).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                pending.push(path);
            } else {
                out.insert(path.clone(), fs::read(&path).unwrap());
            }
        }
    }
    out
}

/// After `local`'s raw rows changed: its rollups rebuilt, and its orders, refunds and
/// events exported again under `exports` as a warehouse would (a partition whose rows are
/// unchanged is written byte for byte as before). Returns the new or changed files, and
/// how many files went.
pub fn export_changes(local: &mut Store, exports: &Path) -> (Vec<std::path::PathBuf>, usize) {
    kpi::store::rollup::refresh_all(local).unwrap();
    let before = contents(exports);
    for table in ["orders", "refunds", "events"] {
        let _ = fs::remove_dir_all(exports.join(table));
    }
    export(local, exports);
    let after = contents(exports);
    let changed = after
        .iter()
        .filter(|(path, bytes)| before.get(*path) != Some(*bytes))
        .map(|(path, _)| path.clone())
        .collect();
    let removed = before.keys().filter(|p| !after.contains_key(*p)).count();
    (changed, removed)
}

/// Every rollup row of the store's rollup list, the segment rollups included (a sync
/// counts those locally from what it wrote), sorted; reals to 1e-9 (sums of floats may
/// add in another order).
pub fn rollups(store: &Store) -> Vec<String> {
    let mut out = Vec::new();
    for table in ROLLUP_TABLES.iter().chain(&SEGMENT_TABLES) {
        let mut stmt = store
            .conn()
            .prepare(&format!("SELECT * FROM {table}"))
            .unwrap();
        let columns = stmt.column_count();
        let mut rows: Vec<String> = stmt
            .query_map([], |r| {
                let cells: Vec<String> = (0..columns)
                    .map(|i| match r.get::<_, Value>(i).unwrap() {
                        Value::Real(x) => format!("Real({x:.9})"),
                        other => format!("{other:?}"),
                    })
                    .collect();
                Ok(format!("{table}: {}", cells.join(" | ")))
            })
            .unwrap()
            .map(Result::unwrap)
            .collect();
        rows.sort();
        out.extend(rows);
    }
    out
}

/// A copy of `local` as `kpi sync` finds a team's store: the small tables imported, no
/// raw rows of the exported tables (but the customers, kept whole for the breakdowns) and
/// no rollups, so everything the metrics read from rollups must come from the sync.
pub fn small_tables_of(local: &Store, path: &Path) -> Store {
    local
        .conn()
        .execute("VACUUM INTO ?1", [path.to_str().unwrap()])
        .unwrap();
    let store = Store::open(path).unwrap();
    let emptied = RAW_INPUTS
        .iter()
        .map(|(table, _)| *table)
        .filter(|table| *table != "customers")
        .chain(ROLLUP_TABLES)
        .chain(SEGMENT_TABLES);
    for table in emptied {
        store
            .conn()
            .execute_batch(&format!("DELETE FROM {table}"))
            .unwrap();
    }
    store
}

/// Both lists row by row, naming the first difference.
pub fn assert_same_rows(expected: &[String], got: &[String]) {
    let first_difference = expected.iter().zip(got).find(|(a, b)| a != b);
    assert_eq!(
        (expected.len(), first_difference),
        (got.len(), None),
        "synced rollups differ from the local store's"
    );
}

/// `kpi report --format json` of `db`, without what names the store or the moment
/// (`store`, `generated_at`). Every metric is kept: none reads the raw rows a synced store
/// does not hold (tests/sync_metric_tables.rs).
pub fn report_json(db: &Path) -> Json {
    let output = Command::new(env!("CARGO_BIN_EXE_kpi"))
        .arg("--db")
        .arg(db)
        .args(["report", "--format", "json"])
        .current_dir(db.parent().unwrap())
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "kpi report on {}: {}",
        db.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    let mut report: Json = serde_json::from_slice(&output.stdout).unwrap();
    let top = report.as_object_mut().unwrap();
    top.remove("store");
    top.remove("generated_at");
    report
}

/// `got` equals `expected` in every key, string and null; numbers to 1e-9 of their size
/// (money, at most a few million, so to far less than a cent; ratios to 1e-9).
pub fn assert_same_report(expected: &Json, got: &Json) {
    assert!(
        expected["metrics"].as_array().is_some_and(|m| m.len() > 10),
        "the report lists the metrics: {expected}"
    );
    same_json("report", expected, got);
}

fn same_json(at: &str, expected: &Json, got: &Json) {
    match (expected, got) {
        (Json::Number(a), Json::Number(b)) => {
            let (a, b) = (a.as_f64().unwrap(), b.as_f64().unwrap());
            assert!(
                (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0),
                "{at}: local {a}, synced {b}"
            );
        }
        (Json::Array(a), Json::Array(b)) => {
            assert_eq!(a.len(), b.len(), "{at}: lengths");
            for (i, (x, y)) in a.iter().zip(b).enumerate() {
                let name = x["id"].as_str().or(x["period"].as_str()).unwrap_or("");
                same_json(&format!("{at}[{i}]{name}"), x, y);
            }
        }
        (Json::Object(a), Json::Object(b)) => {
            let keys = |o: &serde_json::Map<String, Json>| o.keys().cloned().collect::<Vec<_>>();
            assert_eq!(keys(a), keys(b), "{at}: keys");
            for (key, x) in a {
                same_json(&format!("{at}.{key}"), x, &b[key]);
            }
        }
        _ => assert_eq!(expected, got, "{at}"),
    }
}

/// The bad rows [`add_bad_rows`] writes: per export file (relative to the exports), its
/// rows and, per rejected row, its line and the column `kpi import` names.
pub struct BadRows {
    pub orders: std::path::PathBuf,
    pub events: std::path::PathBuf,
}

/// Rejected lines and columns of `file` in `store` (line, column), as `kpi import` or a
/// sync recorded them, in line order.
pub fn rejects_of(store: &Store, file: &Path) -> Vec<(i64, Option<String>, String)> {
    let key = fs::canonicalize(file).unwrap();
    let mut stmt = store
        .conn()
        .prepare(
            "SELECT r.line, r.column, r.reason FROM rejects r JOIN import_log l ON l.id = r.import_id
             WHERE l.path = ?1 ORDER BY r.line",
        )
        .unwrap();
    stmt.query_map([key.to_str().unwrap()], |r| {
        Ok((r.get(0)?, r.get(1)?, r.get(2)?))
    })
    .unwrap()
    .map(Result::unwrap)
    .collect()
}

/// The line and column of each reject of `file` the store holds, by line.
pub fn reject_lines(store: &Store, file: &Path) -> Vec<(i64, Option<String>)> {
    rejects_of(store, file)
        .into_iter()
        .map(|(line, column, _)| (line, column))
        .collect()
}

/// Writes an orders and an events export in stored form whose rows `kpi import` rejects
/// but for one valid row each, into `exports` (as CSV files of the tables' folders, beside
/// the other exports), and imports both files into `local` with `kpi import`, which
/// rejects the same rows: the orders with a revenue that is no whole number, an order
/// date that is no calendar day and an empty order id; the events with a ts that is no
/// instant. The valid rows hold the same values read either way (a revenue of 0, a ts
/// with an offset that the store keeps in UTC).
pub fn add_bad_rows(exports: &Path, local: &mut Store) -> BadRows {
    let orders = exports
        .join("orders")
        .join("month=2025-03")
        .join("late-9.csv");
    fs::create_dir_all(orders.parent().unwrap()).unwrap();
    fs::write(
        &orders,
        "order_id,customer_id,order_date,revenue,status,channel,discount,cost\n\
         bad-1,C000001,2025-03-01,12.5x,completed,ads,0,0\n\
         bad-2,C000001,2026-02-30,1000,completed,ads,0,0\n\
         ,C000001,2025-03-02,1000,completed,ads,0,0\n\
         ok-1,C000002,2025-03-03,0,cancelled,seo,,\n",
    )
    .unwrap();
    let events = exports
        .join("events")
        .join("date=2025-03-01")
        .join("late-9.csv");
    fs::create_dir_all(events.parent().unwrap()).unwrap();
    fs::write(
        &events,
        "event_key,user_id,ts,day,name,session_id,feature,duration_s\n\
         late-1,C000001,2025-03-01T23:30:00-02:00,2025-03-02,login,s-late,,\n\
         late-2,C000001,yesterday,2025-03-01,login,s-late,,\n",
    )
    .unwrap();
    for (file, table, rejected) in [(&orders, "orders", 3), (&events, "events", 1)] {
        let options = kpi::import::ImportOptions {
            table: Some(table.to_string()),
            file_is_complete: true,
            ..Default::default()
        };
        let report = kpi::import::import_file(local, file, &options).unwrap();
        assert_eq!(
            (report.rows_read, report.rows_rejected),
            (rejected + 1, rejected),
            "kpi import rejects the bad rows of {}",
            file.display()
        );
    }
    BadRows { orders, events }
}
