//! `kpi sync` speed and memory (issue 17, item 5), beside `kpi import` of the same rows.
//!
//! For each size, generates events of 200 k users over two years as a CSV (as
//! `benches/import.rs` does) and loads it with `kpi import` into a new store: the
//! baseline. The store's events are then written in stored form as the exports a
//! warehouse would hold (Parquet, one `events/date=…/part-0.parquet` per day; not timed),
//! and synced into a new store three ways, each `kpi sync` a child process of its own so
//! that its wall time, CPU seconds and peak RSS (`wait4`) are its own:
//!
//! 1. in-process (DataFusion in the `kpi` process);
//! 2. on a local Ballista cluster of one scheduler and one executor (`kpi-cluster-node`);
//! 3. the same cluster with a second executor.
//!
//! The nodes run on this machine, so the cluster rows show the protocol's cost, not a
//! scale-out: their CPU seconds (from /proc) are printed beside the `kpi` process's.
//! Every node is stopped by its pid, also on a panic.
//!
//! Run: `cargo bench --features cluster --bench sync` (1 M events), or `cargo bench
//! --features cluster --bench sync -- 1000000 10000000` for several sizes; with
//! `--runs import,in-process,1,2` (the default: all four) the runs to time — the import
//! baseline, the in-process sync, the cluster with one and with two executors — so that
//! the runs of a large size can be measured one at a time (`--in-process` is `--runs
//! import,in-process`; the import runs anyway while the exports do not exist, since they
//! are written from its store); with `--follow`, `kpi sync --follow`
//! in-process also times its sync after a new part file of the last day (a sync of the
//! changed days); with `--files-per-day N`, the in-process sync also runs on the same
//! events with each day's file split into N (an export of many small part files, as
//! Spark writes them), and its peak RSS is printed against one file a day's (not timed:
//! the split). In-process, it also prints the most the engine's memory pool held (from
//! the sync's own line) and the peak RSS less that, the part no limit bounds, with its
//! growth across the sizes. The cluster runs split each query into as many partitions as the
//! executors have cores (each executor takes the machine's cores), as the README advises;
//! `--partitions N` sets another number (0: Ballista's default, 16). The CSV and the
//! exports are kept under `KPI_BENCH_DATA` (default a temp folder).
#![allow(clippy::unwrap_used)]

mod child;
mod generated;

use std::fs::{self, File};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use child::{Cost, measure};
use datafusion::arrow::array::{ArrayRef, Float64Array, Int64Array, RecordBatch, StringArray};
use datafusion::parquet::arrow::ArrowWriter;
use generated::generate;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let time_follow = args.iter().any(|a| a == "--follow");
    let runs = Runs::of(&args);
    let number_after = |flag: &str| -> Option<usize> {
        args.iter()
            .position(|a| a == flag)
            .map(|at| args.get(at + 1).and_then(|n| n.parse().ok()))
            .map(|n| n.unwrap_or_else(|| panic!("{flag} takes a number")))
    };
    let partitions = number_after("--partitions");
    let files_per_day = number_after("--files-per-day").filter(|n| *n > 1);
    let mut sizes: Vec<u64> = args
        .iter()
        .enumerate()
        .filter(|(at, _)| {
            *at == 0
                || !["--runs", "--partitions", "--files-per-day"].contains(&args[at - 1].as_str())
        })
        .filter_map(|(_, a)| a.replace('_', "").parse().ok())
        .collect();
    if sizes.is_empty() {
        sizes.push(1_000_000);
    }
    let temp = tempfile::tempdir().unwrap();
    let data = std::env::var_os("KPI_BENCH_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| temp.path().to_path_buf());
    fs::create_dir_all(&data).unwrap();
    let kpi = PathBuf::from(env!("CARGO_BIN_EXE_kpi"));
    let node = PathBuf::from(env!("CARGO_BIN_EXE_kpi-cluster-node"));
    // Each run's peak RSS at each size, for the growth with the source.
    let mut peaks: Vec<(String, u64, f64)> = Vec::new();

    for &rows in &sizes {
        let csv = data.join(format!("events_{rows}.csv"));
        let exports = data.join(format!("exports_{rows}"));
        let exported = exports.join("events").is_dir();
        let imports = runs.import || !exported;
        if imports && !csv.exists() {
            let started = Instant::now();
            generate("events", &csv, rows);
            println!(
                "generated {} ({:.0} MB) in {:.1} s",
                csv.display(),
                fs::metadata(&csv).unwrap().len() as f64 / 1e6,
                started.elapsed().as_secs_f64()
            );
        }
        let imported = temp.path().join(format!("imported_{rows}.db"));
        let import = imports.then(|| {
            measure(
                Command::new(&kpi)
                    .arg("--db")
                    .arg(&imported)
                    .args(["import", "--quiet"])
                    .arg(&csv),
            )
        });
        if !exported {
            let started = Instant::now();
            let files = export_events(&imported, &exports);
            println!(
                "exported {files} Parquet files ({:.0} MB) in {:.1} s",
                dir_size(&exports) as f64 / 1e6,
                started.elapsed().as_secs_f64()
            );
        }
        remove_store(&imported);

        // On a cluster: its URL and the partitions of each query. Its summary line is
        // left in `said`.
        let said = temp.path().join("sync.out");
        let sync = |cluster: Option<(&str, usize)>, exports: &Path| {
            let db = temp.path().join(format!("synced_{rows}.db"));
            let mut command = Command::new(&kpi);
            command.arg("--db").arg(&db).arg("sync").arg("--source");
            command.arg(exports);
            if let Some((url, partitions)) = cluster {
                command.args(["--cluster", url, "--partitions", &partitions.to_string()]);
            }
            command.stdout(File::create(&said).unwrap());
            let cost = measure(&mut command);
            remove_store(&db);
            cost
        };
        let in_process = runs.in_process.then(|| sync(None, &exports));
        let in_process_pool = pool_held_mb(&said).filter(|_| runs.in_process);
        let split = files_per_day.map(|n| {
            let split = data.join(format!("exports_{rows}_{n}_a_day"));
            if !split.join("events").is_dir() {
                let started = Instant::now();
                let files = split_exports(&exports, &split, n);
                println!(
                    "split each day's export into {n}: {files} Parquet files in {:.1} s",
                    started.elapsed().as_secs_f64()
                );
            }
            (n, sync(None, &split))
        });
        let follow = time_follow.then(|| follow_step(&kpi, &exports, temp.path(), rows));
        let (mut one, mut two) = (None, None);
        let (mut one_nodes, mut two_nodes) = (0.0, 0.0);
        if runs.one_executor || runs.two_executors {
            let mut cluster = Cluster::start(&node, temp.path());
            cluster.add_executor();
            if runs.one_executor {
                let before = cluster.cpu_seconds();
                one = Some(sync(
                    Some((&cluster.url(), partitions.unwrap_or(cores()))),
                    &exports,
                ));
                one_nodes = cluster.cpu_seconds() - before;
            }
            if runs.two_executors {
                cluster.add_executor();
                let before = cluster.cpu_seconds();
                two = Some(sync(
                    Some((&cluster.url(), partitions.unwrap_or(2 * cores()))),
                    &exports,
                ));
                two_nodes = cluster.cpu_seconds() - before;
            }
            drop(cluster);
        }

        println!(
            "\n{rows} events ({} cores; partitions of a query on the cluster: {}):",
            cores(),
            partitions.map_or_else(
                || "the executors' cores".to_string(),
                |n| {
                    if n == 0 {
                        "Ballista's default, 16".to_string()
                    } else {
                        n.to_string()
                    }
                }
            )
        );
        print_line("kpi import (baseline)", rows, import.as_ref(), None);
        print_line(&sync_label(IN_PROCESS), rows, in_process.as_ref(), None);
        if let (Some(Some(cost)), Some(pool)) = (&in_process, in_process_pool) {
            println!(
                "    its engine's memory pool held at most {pool:.0} MB (the limit is \
                 `kpi sync --memory`); the peak RSS less that: {:.0} MB",
                cost.peak_rss_mb - pool
            );
            peaks.push((BESIDE_THE_POOL.to_string(), rows, cost.peak_rss_mb - pool));
        }
        if let Some((full, step, added)) = follow {
            println!(
                "  kpi sync --follow, in-process: the first sync {full:.2} s; after a new part \
                 file of the last day ({added} events) {step:.2} s ({:.1}x faster)",
                full / step
            );
        }
        if let Some((n, cost)) = &split {
            print_line(
                &format!("{}, {n} files a day", sync_label(IN_PROCESS)),
                rows,
                Some(cost),
                None,
            );
            if let (Some(Some(one_a_day)), Some(split)) = (&in_process, cost) {
                println!(
                    "  peak RSS, in-process: {:.0} MB with one file a day, {:.0} MB with {n}; \
                     {:.2}x",
                    one_a_day.peak_rss_mb,
                    split.peak_rss_mb,
                    split.peak_rss_mb / one_a_day.peak_rss_mb
                );
            }
        }
        print_line(
            &sync_label(ONE_EXECUTOR),
            rows,
            one.as_ref(),
            Some(one_nodes),
        );
        print_line(
            &sync_label(TWO_EXECUTORS),
            rows,
            two.as_ref(),
            Some(two_nodes),
        );
        let syncs = [
            (IN_PROCESS, &in_process),
            (ONE_EXECUTOR, &one),
            (TWO_EXECUTORS, &two),
        ];
        if let Some(Some(c)) = &import {
            peaks.push(("kpi import".to_string(), rows, c.peak_rss_mb));
        }
        for (what, cost) in syncs {
            if let Some(Some(c)) = cost {
                peaks.push((sync_label(what), rows, c.peak_rss_mb));
            }
        }
        if let Some(Some(import)) = &import {
            for (what, cost) in syncs {
                if let Some(Some(c)) = cost {
                    println!(
                        "  sync {what} / import, rows/s: {:.2}",
                        import.wall / c.wall
                    );
                }
            }
        }
        println!();
    }
    print_growth(&peaks);
}

/// The syncs a bench invocation can time: in-process, and on a cluster of one and of two
/// executors (`--runs in-process,1,2`).
const IN_PROCESS: &str = "in-process";
const ONE_EXECUTOR: &str = "1 executor";
const TWO_EXECUTORS: &str = "2 executors";

/// How the bench's lines name the sync `run`.
fn sync_label(run: &str) -> String {
    format!("kpi sync, {run}")
}

/// The in-process sync's peak RSS less the most its engine's memory pool held (the two
/// peaks need not coincide): the pool has a limit, so only this part could grow with the
/// source without bound.
const BESIDE_THE_POOL: &str = "kpi sync, in-process, beside its memory pool";

/// The most the in-process engine's memory pool held, in MB, as the sync's summary line
/// in file `said` gives it.
fn pool_held_mb(said: &Path) -> Option<f64> {
    let said = fs::read_to_string(said).ok()?;
    let line = said.lines().rfind(|l| l.starts_with("synced "))?;
    let (_, after) = line.split_once("held at most ")?;
    after.split_whitespace().next()?.parse().ok()
}

/// Each run's peak RSS at every size it ran at, and the largest size's against the
/// smallest's: the sync's must not grow with the source (issue 17).
fn print_growth(peaks: &[(String, u64, f64)]) {
    let mut runs: Vec<&str> = Vec::new();
    for (what, ..) in peaks {
        if !runs.contains(&what.as_str()) {
            runs.push(what);
        }
    }
    for run in runs {
        let sizes: Vec<(u64, f64)> = peaks
            .iter()
            .filter(|(what, ..)| *what == run)
            .map(|&(_, rows, mb)| (rows, mb))
            .collect();
        let (Some(smallest), Some(largest)) = (
            sizes.iter().min_by_key(|(rows, _)| *rows),
            sizes.iter().max_by_key(|(rows, _)| *rows),
        ) else {
            continue;
        };
        if smallest.0 == largest.0 {
            continue;
        }
        let each: Vec<String> = sizes
            .iter()
            .map(|(rows, mb)| format!("{rows} events {mb:.0} MB"))
            .collect();
        println!(
            "peak RSS, {run}: {}; {:.2}x at {} events against {} events",
            each.join(", "),
            largest.1 / smallest.1,
            largest.0,
            smallest.0
        );
    }
}

/// `kpi sync --follow` in-process on `exports`: the seconds its first sync (every rollup)
/// took, then those of the sync after a new part file of the last day appeared (a copy
/// of that day's first file: the day's rows counted twice), as each sync's line says;
/// and the events the new file holds. The file is removed afterwards.
fn follow_step(kpi: &Path, exports: &Path, dir: &Path, rows: u64) -> (f64, f64, u64) {
    use std::io::BufRead;
    let last_day = fs::read_dir(exports.join("events"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .max()
        .unwrap();
    let added = last_day.join("part-follow.parquet");
    let db = dir.join(format!("followed_{rows}.db"));
    let mut child = Command::new(kpi)
        .arg("--db")
        .arg(&db)
        .args(["sync", "--follow", "--interval", "1", "--source"])
        .arg(exports)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let mut next_sync = || loop {
        let line = lines.next().expect("kpi sync --follow ended").unwrap();
        if line.starts_with("synced ") {
            let seconds = line
                .rsplit(" in ")
                .next()
                .and_then(|t| t.split_whitespace().next()?.parse::<f64>().ok())
                .unwrap_or_else(|| panic!("no duration in {line}"));
            return (line, seconds);
        }
    };
    let (_, full) = next_sync();
    fs::copy(last_day.join("part-0.parquet"), &added).unwrap();
    let (line, step) = next_sync();
    let _ = child.kill();
    let _ = child.wait();
    fs::remove_file(&added).unwrap();
    remove_store(&db);
    assert!(line.contains("changed days only"), "{line}");
    let reader = datafusion::parquet::file::reader::SerializedFileReader::new(
        File::open(last_day.join("part-0.parquet")).unwrap(),
    )
    .unwrap();
    use datafusion::parquet::file::reader::FileReader;
    let added_rows = reader.metadata().file_metadata().num_rows() as u64;
    (full, step, added_rows)
}

/// Which of the four runs a bench invocation times (`--runs`, `--in-process`).
struct Runs {
    import: bool,
    in_process: bool,
    one_executor: bool,
    two_executors: bool,
}

impl Runs {
    fn of(args: &[String]) -> Self {
        let listed = args
            .iter()
            .position(|a| a == "--runs")
            .map(|at| args.get(at + 1).expect("--runs takes a list").as_str())
            .or_else(|| {
                args.iter()
                    .any(|a| a == "--in-process")
                    .then_some("import,in-process")
            });
        let Some(listed) = listed else {
            return Self {
                import: true,
                in_process: true,
                one_executor: true,
                two_executors: true,
            };
        };
        let names: Vec<&str> = listed.split(',').map(str::trim).collect();
        for name in &names {
            assert!(
                ["import", IN_PROCESS, "1", "2"].contains(name),
                "--runs takes import, in-process, 1 and 2 (executors), not {name:?}"
            );
        }
        Self {
            import: names.contains(&"import"),
            in_process: names.contains(&IN_PROCESS),
            one_executor: names.contains(&"1"),
            two_executors: names.contains(&"2"),
        }
    }
}

/// A run not asked for (`None`) prints nothing; one that failed (`Some(None)`) says so.
fn print_line(what: &str, rows: u64, cost: Option<&Option<Cost>>, nodes_cpu: Option<f64>) {
    match cost {
        None => {}
        Some(None) => println!("  {what:<24} failed"),
        Some(Some(c)) => println!(
            "  {what:<24} {:>7.2} s  {:>9.0} rows/s  CPU {:>6.2} s{}  kpi peak RSS {:>5.0} MB",
            c.wall,
            rows as f64 / c.wall,
            c.cpu,
            nodes_cpu.map_or(String::new(), |n| format!(" (+ nodes {n:.2} s)")),
            c.peak_rss_mb
        ),
    }
}

/// A scheduler and its executors on 127.0.0.1; dropping it kills each by its pid.
struct Cluster {
    node: PathBuf,
    dir: PathBuf,
    scheduler_port: u16,
    nodes: Vec<Child>,
}

impl Cluster {
    fn start(node: &Path, dir: &Path) -> Self {
        let scheduler_port = free_port();
        let mut cluster = Self {
            node: node.to_path_buf(),
            dir: dir.to_path_buf(),
            scheduler_port,
            nodes: Vec::new(),
        };
        let log = File::create(dir.join("scheduler.log")).unwrap();
        cluster.nodes.push(
            Command::new(node)
                .args(["scheduler", "--port", &scheduler_port.to_string()])
                .stdout(Stdio::null())
                .stderr(log)
                .spawn()
                .unwrap(),
        );
        wait_for_port(scheduler_port);
        cluster
    }

    fn add_executor(&mut self) {
        let n = self.nodes.len();
        let (port, grpc) = (free_port(), free_port());
        let work = self.dir.join(format!("executor-{n}"));
        fs::create_dir_all(&work).unwrap();
        let log = File::create(self.dir.join(format!("executor-{n}.log"))).unwrap();
        self.nodes.push(
            Command::new(&self.node)
                .arg("executor")
                .args(["--scheduler-port", &self.scheduler_port.to_string()])
                .args(["--port", &port.to_string()])
                .args(["--grpc-port", &grpc.to_string()])
                .arg("--work-dir")
                .arg(&work)
                .stdout(Stdio::null())
                .stderr(log)
                .spawn()
                .unwrap(),
        );
        wait_for_port(port);
        // The executor registers with its first poll for tasks.
        std::thread::sleep(Duration::from_secs(3));
    }

    fn url(&self) -> String {
        format!("df://127.0.0.1:{}", self.scheduler_port)
    }

    /// User and system CPU seconds of every node so far.
    fn cpu_seconds(&self) -> f64 {
        // SAFETY: sysconf only reads a constant.
        let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
        self.nodes
            .iter()
            .map(|child| {
                let stat = fs::read_to_string(format!("/proc/{}/stat", child.id())).unwrap();
                // The fields after the command name, which ends with the last ')'.
                let fields: Vec<&str> = stat[stat.rfind(')').unwrap() + 2..].split(' ').collect();
                // utime and stime: fields 14 and 15 of the whole line.
                let (user, system): (f64, f64) =
                    (fields[11].parse().unwrap(), fields[12].parse().unwrap());
                (user + system) / ticks
            })
            .sum()
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for child in &mut self.nodes {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn wait_for_port(port: u16) {
    let started = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "nothing listens on port {port} after 60 s"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The imported events in stored form (the columns of `rollup_plan::RAW_INPUTS`), one
/// Parquet file per day; the number of files.
fn export_events(db: &Path, out: &Path) -> usize {
    let (_, columns) = kpi::store::rollup_plan::RAW_INPUTS
        .iter()
        .find(|(table, _)| *table == "events")
        .unwrap();
    let names: Vec<&str> = columns.iter().map(|c| c.0).collect();
    let day_at = names.iter().position(|c| *c == "day").unwrap();
    let conn = rusqlite::Connection::open(db).unwrap();
    let mut stmt = conn
        .prepare(&format!(
            "SELECT {} FROM events ORDER BY day",
            names.join(", ")
        ))
        .unwrap();
    let mut rows = stmt.query([]).unwrap();
    let mut files = 0;
    let mut day: Option<String> = None;
    let mut part: Vec<Vec<Option<String>>> = Vec::new();
    let mut flush = |day: &str, part: &mut Vec<Vec<Option<String>>>| {
        let path = out
            .join("events")
            .join(format!("date={day}/part-0.parquet"));
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        write_parquet(&path, columns, part);
        part.clear();
        files += 1;
    };
    while let Some(row) = rows.next().unwrap() {
        let values: Vec<Option<String>> = (0..names.len())
            .map(|i| match row.get_ref(i).unwrap() {
                rusqlite::types::ValueRef::Null => None,
                rusqlite::types::ValueRef::Integer(n) => Some(n.to_string()),
                rusqlite::types::ValueRef::Real(x) => Some(x.to_string()),
                rusqlite::types::ValueRef::Text(t) => Some(String::from_utf8_lossy(t).into_owned()),
                rusqlite::types::ValueRef::Blob(_) => panic!("no blobs in events"),
            })
            .collect();
        let this_day = values[day_at].clone().unwrap_or_default();
        if day.as_deref().is_some_and(|d| d != this_day) {
            flush(day.as_deref().unwrap(), &mut part);
        }
        day = Some(this_day);
        part.push(values);
    }
    if let Some(day) = day {
        flush(&day, &mut part);
    }
    files
}

/// The events exports `from` again under `to`, each day's file split into `n` part files
/// of consecutive rows; the number of files written.
fn split_exports(from: &Path, to: &Path, n: usize) -> usize {
    use datafusion::arrow::array::RecordBatchReader;
    use datafusion::arrow::compute::concat_batches;
    use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    let mut files = 0;
    for day in fs::read_dir(from.join("events")).unwrap() {
        let day = day.unwrap().path();
        let reader = ParquetRecordBatchReaderBuilder::try_new(
            File::open(day.join("part-0.parquet")).unwrap(),
        )
        .unwrap()
        .build()
        .unwrap();
        let schema = reader.schema();
        let batches: Vec<RecordBatch> = reader.map(Result::unwrap).collect();
        let whole = concat_batches(&schema, &batches).unwrap();
        let out = to.join("events").join(day.file_name().unwrap());
        fs::create_dir_all(&out).unwrap();
        let per_file = whole.num_rows().div_ceil(n).max(1);
        for (i, at) in (0..whole.num_rows().max(1)).step_by(per_file).enumerate() {
            let part = whole.slice(at, per_file.min(whole.num_rows() - at));
            write_batch(&out.join(format!("part-{i}.parquet")), &part);
            files += 1;
        }
    }
    files
}

fn write_parquet(
    path: &Path,
    columns: &[(&str, kpi::store::rollup_plan::StoredType)],
    rows: &[Vec<Option<String>>],
) {
    use kpi::store::rollup_plan::StoredType;
    let arrays: Vec<(&str, ArrayRef)> = columns
        .iter()
        .enumerate()
        .map(|(i, (name, kind))| {
            let array: ArrayRef = match kind {
                StoredType::Real => Arc::new(Float64Array::from(
                    rows.iter()
                        .map(|r| r[i].as_deref().and_then(|v| v.parse().ok()))
                        .collect::<Vec<Option<f64>>>(),
                )),
                StoredType::Integer => Arc::new(Int64Array::from(
                    rows.iter()
                        .map(|r| r[i].as_deref().and_then(|v| v.parse().ok()))
                        .collect::<Vec<Option<i64>>>(),
                )),
                StoredType::Text => Arc::new(StringArray::from(
                    rows.iter().map(|r| r[i].as_deref()).collect::<Vec<_>>(),
                )),
            };
            (*name, array)
        })
        .collect();
    write_batch(path, &RecordBatch::try_from_iter(arrays).unwrap());
}

/// `batch` as the Parquet file `path`.
fn write_batch(path: &Path, batch: &RecordBatch) {
    let mut writer =
        ArrowWriter::try_new(File::create(path).unwrap(), batch.schema(), None).unwrap();
    writer.write(batch).unwrap();
    writer.close().unwrap();
}

fn dir_size(dir: &Path) -> u64 {
    fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| {
            let path = e.path();
            if path.is_dir() {
                dir_size(&path)
            } else {
                e.metadata().map_or(0, |m| m.len())
            }
        })
        .sum()
}

fn remove_store(db: &Path) {
    for suffix in ["", "-wal", "-shm"] {
        let mut path = db.as_os_str().to_owned();
        path.push(suffix);
        let _ = fs::remove_file(path);
    }
    let mut rejects = db.as_os_str().to_owned();
    rejects.push(".rejects");
    let _ = fs::remove_dir_all(rejects);
}

fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}
