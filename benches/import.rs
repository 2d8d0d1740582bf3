//! Import speed and memory: generates an orders CSV of N rows (streamed to a temp file),
//! imports it with `kpi::import::import_file`, and compares with the sqlite3 command
//! line's `.import` of the same file into the same typed table.
//!
//! Then times a 1 000-order append on the last day (the live-monitoring refresh).
//!
//! Run: `cargo bench --bench import -- 1000000` (or `KPI_BENCH_ROWS=10000000`).
//! Add `--seeded` to import into a table that already holds a row: then the secondary
//! indexes are maintained row by row instead of built once at commit (the bulk-load path
//! an empty table gets).
#![allow(clippy::unwrap_used)]

use std::io::{BufWriter, Write};
use std::path::Path;
use std::process::Command;
use std::time::Instant;

use kpi::import::{ImportOptions, import_file};
use kpi::store::Store;

fn main() {
    let rows: u64 = std::env::args()
        .skip(1)
        .find_map(|a| a.replace('_', "").parse().ok())
        .or_else(|| std::env::var("KPI_BENCH_ROWS").ok()?.parse().ok())
        .unwrap_or(1_000_000);
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("orders.csv");
    let started = Instant::now();
    generate(&csv, rows);
    let size = std::fs::metadata(&csv).unwrap().len();
    println!(
        "generated {rows} order rows ({:.0} MB) in {:.1} s",
        size as f64 / 1e6,
        started.elapsed().as_secs_f64()
    );

    let db = dir.path().join("kpi.db");
    let mut store = Store::open(&db).unwrap();
    let seeded = std::env::args().any(|a| a == "--seeded");
    if seeded {
        let seed = dir.path().join("orders_seed.csv");
        std::fs::write(
            &seed,
            "order_id,customer_id,order_date,revenue\nseed,c,2024-01-01,1\n",
        )
        .unwrap();
        import_file(&mut store, &seed, &ImportOptions::default()).unwrap();
        println!("(seeded: the orders table is not empty, indexes are kept during the load)");
    }
    let options = ImportOptions {
        file_is_complete: true,
        ..ImportOptions::default()
    };
    let started = Instant::now();
    let cpu_before = cpu_seconds();
    let report = import_file(&mut store, &csv, &options).unwrap();
    let secs = started.elapsed().as_secs_f64();
    let cpu = cpu_seconds().0 - cpu_before.0;
    assert_eq!(report.rows_upserted, rows, "every generated row imports");
    println!(
        "kpi import:      {rows} rows in {secs:.2} s = {:.0} rows/s (CPU {cpu:.2} s = {:.0} rows/CPU-s), \
         peak RSS (VmHWM) {} MB",
        rows as f64 / secs,
        rows as f64 / cpu,
        vm_hwm_mb().map_or("?".into(), |m| m.to_string())
    );
    // Live monitoring (SPEC §8): 1 000 orders appended on the last day, one per existing
    // customer, refresh the rollups of a store this size.
    let append = dir.path().join("orders_append.csv");
    let mut text = String::from("order_id,customer_id,order_date,revenue\n");
    let (y, m, d) = civil(729);
    for i in 0..1000 {
        text.push_str(&format!(
            "a{i},c{},{y:04}-{m:02}-{d:02},12.50\n",
            i * 37 % 50_000
        ));
    }
    std::fs::write(&append, text).unwrap();
    let started = Instant::now();
    let report = import_file(&mut store, &append, &ImportOptions::default()).unwrap();
    assert_eq!(report.rows_upserted, 1000);
    println!(
        "kpi append:      1000 rows on the last day into {rows} in {:.0} ms (rollups included)",
        started.elapsed().as_secs_f64() * 1e3
    );
    drop(store);

    let sqlite_db = dir.path().join("sqlite3.db");
    drop(Store::open(&sqlite_db).unwrap()); // the same typed table, empty
    let started = Instant::now();
    let out = Command::new("sqlite3")
        .arg(&sqlite_db)
        .arg(".mode csv")
        .arg(format!(".import --skip 1 {} orders", csv.display()))
        .output();
    match out {
        Ok(out) if out.status.success() => {
            let secs = started.elapsed().as_secs_f64();
            let cpu = cpu_seconds().1;
            println!(
                "sqlite3 .import: {rows} rows in {secs:.2} s = {:.0} rows/s (CPU {cpu:.2} s = \
                 {:.0} rows/CPU-s; no validation, money stored as text/real)",
                rows as f64 / secs,
                rows as f64 / cpu
            );
        }
        Ok(out) => println!(
            "sqlite3 .import failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ),
        Err(e) => println!("sqlite3 not run ({e})"),
    }
}

/// Realistic orders: a few thousand customers, two years of days, cents amounts.
fn generate(path: &Path, rows: u64) {
    let mut out = BufWriter::with_capacity(1 << 20, std::fs::File::create(path).unwrap());
    writeln!(
        out,
        "order_id,customer_id,order_date,revenue,status,channel,discount,cost"
    )
    .unwrap();
    let channels = ["organic", "paid_search", "social", "email", "referral"];
    let statuses = [
        "completed",
        "completed",
        "completed",
        "cancelled",
        "pending",
    ];
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    for i in 0..rows {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let day = i * 730 / rows.max(1);
        let (y, m, d) = civil(day);
        writeln!(
            out,
            "o{i},c{},{y:04}-{m:02}-{d:02},{}.{:02},{},{},{}.00,{}.{:02}",
            x % 50_000,
            10 + x % 490,
            x % 100,
            statuses[(x >> 8) as usize % 5],
            channels[(x >> 16) as usize % 5],
            (x >> 24) % 5,
            3 + (x >> 32) % 100,
            (x >> 40) % 100,
        )
        .unwrap();
    }
    out.flush().unwrap();
}

/// Day `n` after 2024-01-01 as (year, month, day).
fn civil(n: u64) -> (u64, u64, u64) {
    let date = chrono::NaiveDate::from_ymd_opt(2024, 1, 1).unwrap() + chrono::Days::new(n);
    use chrono::Datelike;
    (
        date.year() as u64,
        u64::from(date.month()),
        u64::from(date.day()),
    )
}

/// (this process's user+system CPU seconds, its waited-for children's), from
/// /proc/self/stat in clock ticks (100 per second on Linux). CPU time next to wall time
/// keeps the comparison fair on a machine shared with other work.
fn cpu_seconds() -> (f64, f64) {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after_name = stat.rsplit(')').next().unwrap_or("");
    let field = |i: usize| -> f64 {
        after_name
            .split_whitespace()
            .nth(i)
            .and_then(|v| v.parse().ok())
            .unwrap_or(0.0)
    };
    (
        (field(11) + field(12)) / 100.0,
        (field(13) + field(14)) / 100.0,
    )
}

fn vm_hwm_mb() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024)
}
