//! Import speed and memory against the sqlite3 command line (SPEC §8).
//!
//! For each table (orders: 8 columns; events: 7 columns with RFC 3339 timestamps) and each
//! size, generates a CSV (kept under `KPI_BENCH_DATA`, default a temp folder) and loads it
//! four ways, each in a fresh store and a child process of its own, so that wall time,
//! CPU seconds and peak RSS (`wait4`) are those of that load alone:
//!
//! 1. `kpi import`: validation, rejects, import log and rollups included;
//! 2. the sqlite3 shell's `.import --csv` into a plain typed table (integer primary key,
//!    no secondary index), what a user reaching for sqlite3 would do;
//! 3. the same `.import` into the shape kpi's store gives the rows, loaded as kpi's bulk
//!    load loads them: a text key (the data contract's keys are text), the write-ahead
//!    log, kpi's secondary indexes built after the rows in the same transaction. No
//!    validation, no rollups: what SQLite alone must do to hold the rows that way, so its
//!    ratio to (2) is the most any `kpi import` can reach while the store has that shape;
//! 4. the same `.import` into a view whose trigger discards every row: the shell's own
//!    reading, parsing and binding. With it moved off SQLite's one writer (as kpi reads
//!    on a second thread), (3) less (4) is still the writer's, which bounds kpi's ratio
//!    however its reading is done.
//!
//! The ratio is kpi's rows/s over (2)'s. Then a 1 000-order append to the loaded orders
//! store is timed (the live-monitoring refresh).
//!
//! Run: `cargo bench --bench import` (1 M rows), or `cargo bench --bench import --
//! 1000000 10000000` for several sizes; `-- --tables orders` for one table;
//! `-- --seeded` imports into a table that already holds a row (the row-by-row path);
//! `-- --formats ndjson,json` also imports the same rows as NDJSON and as one JSON array
//! (each in a fresh store), for their rows/s and peak RSS beside the CSV's.
#![allow(clippy::unwrap_used)]

mod child;
mod generated;

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use child::{Cost, measure};
use generated::{CUSTOMERS, civil, generate};
use kpi::import::{ImportOptions, import_file};
use kpi::store::Store;

const TABLES: [&str; 2] = ["orders", "events"];

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--child-import") {
        return child_import(&args[1..]);
    }
    let mut sizes: Vec<u64> = args
        .iter()
        .filter_map(|a| a.replace('_', "").parse().ok())
        .collect();
    if sizes.is_empty() {
        sizes.push(
            std::env::var("KPI_BENCH_ROWS")
                .ok()
                .and_then(|v| v.parse().ok())
                .unwrap_or(1_000_000),
        );
    }
    let tables: Vec<&str> = match args.iter().position(|a| a == "--tables") {
        Some(i) => TABLES
            .into_iter()
            .filter(|t| args.get(i + 1).is_some_and(|list| list.contains(t)))
            .collect(),
        None => TABLES.to_vec(),
    };
    let seeded = args.iter().any(|a| a == "--seeded");
    let json_formats: Vec<JsonFormat> = match args.iter().position(|a| a == "--formats") {
        Some(i) => [JsonFormat::Lines, JsonFormat::Array]
            .into_iter()
            .filter(|f| {
                args.get(i + 1)
                    .is_some_and(|list| list.split(',').any(|x| x == f.extension()))
            })
            .collect(),
        None => Vec::new(),
    };
    let temp = tempfile::tempdir().unwrap();
    let data = std::env::var_os("KPI_BENCH_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| temp.path().to_path_buf());
    std::fs::create_dir_all(&data).unwrap();

    for &rows in &sizes {
        for &table in &tables {
            let csv = data.join(format!("{table}_{rows}.csv"));
            if !csv.exists() {
                let started = Instant::now();
                generate(table, &csv, rows);
                println!(
                    "generated {} ({:.0} MB) in {:.1} s",
                    csv.display(),
                    std::fs::metadata(&csv).unwrap().len() as f64 / 1e6,
                    started.elapsed().as_secs_f64()
                );
            }
            let kpi_db = temp.path().join(format!("kpi_{table}_{rows}.db"));
            let mut child = Command::new(std::env::current_exe().unwrap());
            child.arg("--child-import").arg(&kpi_db).arg(&csv);
            if seeded {
                child.arg("--seeded");
            }
            let kpi = measure(&mut child);

            let plain_db = temp.path().join(format!("plain_{table}_{rows}.db"));
            let plain = sqlite_import(&plain_db, PLAIN[index(table)], table, &csv, "");
            let shaped_db = temp.path().join(format!("shaped_{table}_{rows}.db"));
            let shaped = sqlite_import(
                &shaped_db,
                KPI_SHAPED[index(table)],
                table,
                &csv,
                KPI_INDEXES[index(table)],
            );

            let discard_db = temp.path().join(format!("discard_{table}_{rows}.db"));
            let parsed = sqlite_import(&discard_db, DISCARD[index(table)], table, &csv, "");

            println!("\n{table}, {rows} rows ({} cores):", cores());
            print_line("kpi import", rows, kpi.as_ref());
            print_line("sqlite3 .import, plain typed table", rows, plain.as_ref());
            print_line("sqlite3 .import, kpi's store shape", rows, shaped.as_ref());
            print_line("sqlite3 .import, rows discarded", rows, parsed.as_ref());
            if let (Some(kpi), Some(plain)) = (&kpi, &plain) {
                println!(
                    "  ratio kpi / sqlite3 plain: {:.2} (wall), {:.2} (CPU)",
                    plain.wall / kpi.wall,
                    plain.cpu / kpi.cpu
                );
            }
            if let (Some(shaped), Some(plain)) = (&shaped, &plain) {
                println!(
                    "  ratio sqlite3 kpi's store shape / sqlite3 plain: {:.2} (wall), {:.2} (CPU): \
                     the most kpi can reach with that shape",
                    plain.wall / shaped.wall,
                    plain.cpu / shaped.cpu
                );
                if let Some(parsed) = &parsed {
                    println!(
                        "  with the shell's reading on another core, the writer's part of that \
                         shape alone: {:.2} (wall), {:.2} (CPU) of sqlite3 plain",
                        plain.wall / (shaped.wall - parsed.wall),
                        plain.cpu / (shaped.cpu - parsed.cpu)
                    );
                }
            }
            for &format in &json_formats {
                let file = csv.with_extension(format.extension());
                if !file.exists() {
                    to_json(&csv, &file, table, format);
                }
                let db = temp
                    .path()
                    .join(format!("kpi_{table}_{rows}_{format:?}.db"));
                let cost = measure(
                    Command::new(std::env::current_exe().unwrap())
                        .arg("--child-import")
                        .arg(&db)
                        .arg(&file),
                );
                print_line(
                    &format!("kpi import, {}", format.label()),
                    rows,
                    cost.as_ref(),
                );
                if let (Some(cost), Some(plain)) = (&cost, &plain) {
                    println!(
                        "  ratio kpi {} / sqlite3 plain: {:.2} (wall), {:.2} (CPU)",
                        format.label(),
                        plain.wall / cost.wall,
                        plain.cpu / cost.cpu
                    );
                }
                remove_store(&db);
            }
            if table == "orders" && kpi.is_some() {
                append(&kpi_db, &temp.path().join("orders_append.csv"), rows);
            }
            for db in [&kpi_db, &plain_db, &shaped_db, &discard_db] {
                remove_store(db);
            }
            println!();
        }
    }
}

fn print_line(what: &str, rows: u64, cost: Option<&Cost>) {
    match cost {
        Some(c) => println!(
            "  {what:<36} {:>7.2} s  {:>9.0} rows/s  CPU {:>6.2} s  peak RSS {:>5.0} MB",
            c.wall,
            rows as f64 / c.wall,
            c.cpu,
            c.peak_rss_mb
        ),
        None => println!("  {what:<36} not run"),
    }
}

fn index(table: &str) -> usize {
    TABLES.iter().position(|t| *t == table).unwrap()
}

/// What a user loading the file into sqlite3 would create: typed columns, an integer
/// primary key, no secondary index.
const PLAIN: [&str; 2] = [
    "CREATE TABLE orders (order_id INTEGER PRIMARY KEY, customer_id INTEGER, order_date TEXT,
         revenue REAL, status TEXT, channel TEXT, discount REAL, cost REAL);",
    "CREATE TABLE events (event_id INTEGER PRIMARY KEY, user_id INTEGER, ts TEXT, name TEXT,
         session_id INTEGER, page TEXT, duration_s REAL);",
];

/// The file's columns with kpi's text keys, in the write-ahead log kpi's store uses
/// (`src/store/migrate.rs`). Fewer columns than kpi stores (no derived key or local day).
const KPI_SHAPED: [&str; 2] = [
    "PRAGMA journal_mode = WAL;
     CREATE TABLE orders (order_id TEXT PRIMARY KEY NOT NULL, customer_id TEXT NOT NULL,
         order_date TEXT NOT NULL, revenue REAL NOT NULL, status TEXT NOT NULL, channel TEXT,
         discount REAL, cost REAL);",
    "PRAGMA journal_mode = WAL;
     CREATE TABLE events (event_id TEXT PRIMARY KEY NOT NULL, user_id TEXT NOT NULL,
         ts TEXT NOT NULL, name TEXT NOT NULL, session_id TEXT, page TEXT, duration_s REAL);",
];

/// Views of the file's columns whose trigger discards every row: `.import` into one
/// reads, parses and binds every row and writes none.
const DISCARD: [&str; 2] = [
    "CREATE TABLE sink (x);
     CREATE VIEW orders AS SELECT NULL AS order_id, NULL AS customer_id, NULL AS order_date,
         NULL AS revenue, NULL AS status, NULL AS channel, NULL AS discount, NULL AS cost
         FROM sink;
     CREATE TRIGGER discard INSTEAD OF INSERT ON orders BEGIN SELECT 1; END;",
    "CREATE TABLE sink (x);
     CREATE VIEW events AS SELECT NULL AS event_id, NULL AS user_id, NULL AS ts, NULL AS name,
         NULL AS session_id, NULL AS page, NULL AS duration_s FROM sink;
     CREATE TRIGGER discard INSTEAD OF INSERT ON events BEGIN SELECT 1; END;",
];

/// kpi's secondary indexes of each table, which its bulk load builds after the rows; the
/// events' local day is the timestamp's date here (the file has no day column).
const KPI_INDEXES: [&str; 2] = [
    "CREATE INDEX orders_date ON orders (order_date);
     CREATE INDEX orders_customer ON orders (customer_id, order_date);",
    "CREATE INDEX events_day ON events (substr(ts, 1, 10), user_id);
     CREATE INDEX events_name_day ON events (name, substr(ts, 1, 10));",
];

/// The sqlite3 shell's `.import --csv` of `csv` into `table` of a new store made by
/// `schema`, as a user would run it, then `after` in the same transaction (the shell's
/// `.import` opens one only when none is open).
fn sqlite_import(db: &Path, schema: &str, table: &str, csv: &Path, after: &str) -> Option<Cost> {
    let made = Command::new("sqlite3").arg(db).arg(schema).output();
    if !made.is_ok_and(|o| o.status.success()) {
        println!("  sqlite3 not available: `apt-get install sqlite3` to compare");
        return None;
    }
    measure(
        Command::new("sqlite3")
            .arg(db)
            .arg("BEGIN;")
            .arg(format!(".import --csv --skip 1 {} {table}", csv.display()))
            .arg(after)
            .arg("COMMIT;"),
    )
}

/// The measured child: one `kpi import` of `csv` into a new store `db`.
fn child_import(args: &[String]) {
    let (db, csv) = (Path::new(&args[0]), Path::new(&args[1]));
    let mut store = Store::open(db).unwrap();
    if args.iter().any(|a| a == "--seeded") {
        let table = if csv.to_string_lossy().contains("events") {
            "events"
        } else {
            "orders"
        };
        let seed = db.with_file_name(format!("{table}_seed.csv"));
        let text = match table {
            "orders" => "order_id,customer_id,order_date,revenue\nseed,c,2024-01-01,1\n",
            _ => "event_id,user_id,ts,name\nseed,u,2024-01-01T00:00:00Z,login\n",
        };
        std::fs::write(&seed, text).unwrap();
        import_file(&mut store, &seed, &ImportOptions::default()).unwrap();
    }
    let options = ImportOptions {
        file_is_complete: true,
        ..ImportOptions::default()
    };
    let report = import_file(&mut store, csv, &options).unwrap();
    assert_eq!(report.rows_rejected, 0, "{report}");
    assert_eq!(report.rows_upserted, report.rows_read, "{report}");
}

/// Live monitoring (SPEC §8): 1 000 orders appended on the last day, one per existing
/// customer, refresh the rollups of a store this size.
fn append(db: &Path, append: &Path, rows: u64) {
    let mut text = String::from("order_id,customer_id,order_date,revenue\n");
    let (y, m, d) = civil(729);
    for i in 0..1000 {
        text.push_str(&format!(
            "a{i},{},{y:04}-{m:02}-{d:02},12.50\n",
            1 + i * 37 % CUSTOMERS
        ));
    }
    std::fs::write(append, text).unwrap();
    let mut store = Store::open(db).unwrap();
    let started = Instant::now();
    let report = import_file(&mut store, append, &ImportOptions::default()).unwrap();
    assert_eq!(report.rows_upserted, 1000);
    println!(
        "  kpi append: 1000 rows on the last day into {rows} in {:.0} ms (rollups included)",
        started.elapsed().as_secs_f64() * 1e3
    );
}

fn remove_store(db: &Path) {
    for suffix in ["", "-wal", "-shm"] {
        let mut path = db.as_os_str().to_owned();
        path.push(suffix);
        let _ = std::fs::remove_file(path);
    }
    let mut rejects = db.as_os_str().to_owned();
    rejects.push(".rejects");
    let _ = std::fs::remove_dir_all(rejects);
}

#[derive(Debug, Clone, Copy)]
enum JsonFormat {
    /// One object a line (NDJSON).
    Lines,
    /// One JSON array of objects.
    Array,
}

impl JsonFormat {
    fn extension(self) -> &'static str {
        match self {
            Self::Lines => "ndjson",
            Self::Array => "json",
        }
    }

    fn label(self) -> &'static str {
        match self {
            Self::Lines => "NDJSON",
            Self::Array => "JSON array",
        }
    }
}

/// The rows of the generated `csv` as JSON objects: amounts and durations as numbers,
/// everything else as strings (the generated values hold no comma, quote or backslash).
fn to_json(csv: &Path, out: &Path, table: &str, format: JsonFormat) {
    use std::io::BufRead;
    let started = Instant::now();
    let numeric: &[&str] = match table {
        "orders" => &["revenue", "discount", "cost"],
        _ => &["duration_s"],
    };
    let mut lines = std::io::BufReader::new(std::fs::File::open(csv).unwrap()).lines();
    let header: Vec<String> = lines
        .next()
        .unwrap()
        .unwrap()
        .split(',')
        .map(str::to_string)
        .collect();
    let mut w = BufWriter::with_capacity(1 << 20, std::fs::File::create(out).unwrap());
    let (open, separator, close) = match format {
        JsonFormat::Lines => ("", "\n", "\n"),
        JsonFormat::Array => ("[\n", ",\n", "\n]\n"),
    };
    w.write_all(open.as_bytes()).unwrap();
    for (i, line) in lines.enumerate() {
        if i > 0 {
            w.write_all(separator.as_bytes()).unwrap();
        }
        w.write_all(b"{").unwrap();
        for (j, (name, value)) in header.iter().zip(line.unwrap().split(',')).enumerate() {
            let comma = if j > 0 { "," } else { "" };
            if numeric.contains(&name.as_str()) {
                write!(w, "{comma}\"{name}\":{value}").unwrap();
            } else {
                write!(w, "{comma}\"{name}\":\"{value}\"").unwrap();
            }
        }
        w.write_all(b"}").unwrap();
    }
    w.write_all(close.as_bytes()).unwrap();
    w.flush().unwrap();
    println!(
        "generated {} ({:.0} MB) in {:.1} s",
        out.display(),
        std::fs::metadata(out).unwrap().len() as f64 / 1e6,
        started.elapsed().as_secs_f64()
    );
}

fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}
