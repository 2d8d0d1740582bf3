//! Alert evaluation speed (SPEC §8): on a generated store of N orders and N events, the
//! first full evaluation (goal ≤ 1 s at 10 M), the evaluation after a 1 000-row append
//! (goal ≤ 100 ms), and `kpi check`'s wall time beside one full scan of the orders table
//! (`SELECT count(*), sum(revenue) FROM orders`), the named baseline `kpi check` must beat.
//!
//!     cargo bench --bench alerts -- 1000000 10000000 [--cache DIR] [--engine]
//!
//! `--cache DIR` keeps each size's generated store in DIR (10 M takes minutes to
//! generate). `--engine` also times the evaluation through the general metric engine
//! (one query per segment and period: what the rollup reads replaced; minutes at 10 M).
//!
//! The generated store's subscriptions run past its last order, which would make the
//! reference date a day without orders or events; the evaluation and `kpi check` are
//! therefore run `--as-of` the last order day, where every alert window holds data.
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use chrono::{NaiveDate, Utc};
use kpi::alerts::{self, SegmentDays, Since};
use kpi::config::Config;
use kpi::import::{ImportOptions, import_file};
use kpi::metrics;
use kpi::store::Store;

mod seed;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut sizes: Vec<u64> = args
        .iter()
        .filter_map(|a| a.replace('_', "").parse().ok())
        .collect();
    if sizes.is_empty() {
        sizes = vec![1_000_000];
    }
    let cache = args
        .iter()
        .position(|a| a == "--cache")
        .and_then(|i| args.get(i + 1))
        .map(std::path::PathBuf::from);
    let engine = args.iter().any(|a| a == "--engine");
    for orders in sizes {
        run(orders, cache.as_deref(), engine);
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// CPU milliseconds (user + system) used so far by this process (`libc::RUSAGE_SELF`) or
/// by its finished children (`libc::RUSAGE_CHILDREN`): on a shared machine the wall time
/// says as much about the neighbours as about the code.
fn cpu_ms(who: libc::c_int) -> f64 {
    // SAFETY: getrusage fills the zeroed struct it is given and reads nothing else.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        libc::getrusage(who, &mut usage);
        usage
    };
    let ms = |t: libc::timeval| t.tv_sec as f64 * 1000.0 + t.tv_usec as f64 / 1000.0;
    ms(usage.ru_utime) + ms(usage.ru_stime)
}

/// A store of `orders` orders and as many events at `path`, from the cache if there.
fn seeded_store(path: &Path, orders: u64, cache: Option<&Path>) {
    let cached = cache.map(|dir| dir.join(format!("alerts-{orders}.db")));
    if let Some(cached) = cached.as_ref().filter(|c| c.exists()) {
        std::fs::copy(cached, path).unwrap();
        std::fs::File::open(path).unwrap().sync_all().unwrap();
        return;
    }
    seed::generate(path, orders, orders);
    if let Some(cached) = cached {
        std::fs::create_dir_all(cached.parent().unwrap()).unwrap();
        std::fs::copy(path, cached).unwrap();
    }
}

fn run(orders: u64, cache: Option<&Path>, time_engine: bool) {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("alerts.db");
    seeded_store(&db, orders, cache);
    let config = Config::default();
    let mut store = Store::open(&db).unwrap();
    let last_order_day: String = store
        .conn()
        .query_row(
            "SELECT MAX(day) FROM ru_table_days WHERE tbl = 'orders'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let as_of: NaiveDate = last_order_day.parse().unwrap();
    let catalog = metrics::catalog(&store).unwrap();

    let mut days = SegmentDays::default();
    let cpu = cpu_ms(libc::RUSAGE_SELF);
    let started = Instant::now();
    let first = alerts::evaluate_at(
        &store,
        &config,
        as_of,
        &catalog,
        Utc::now(),
        None,
        &mut days,
    )
    .unwrap();
    let first_took = started.elapsed();
    println!(
        "{orders} orders, {orders} events (as of {as_of}): first full alert evaluation {:.0} ms \
         ({:.0} ms CPU; {} alerts); goal 1000 ms at 10 M",
        ms(first_took),
        cpu_ms(libc::RUSAGE_SELF) - cpu,
        first.alerts.len()
    );
    if time_engine {
        let started = Instant::now();
        let through_engine =
            alerts::evaluate_through_engine(&store, &config, as_of, &catalog, Utc::now()).unwrap();
        let took = started.elapsed();
        println!(
            "{orders} orders: the same through the general metric engine {:.0} ms ({:.1}× slower; \
             same alerts: {})",
            ms(took),
            took.as_secs_f64() / first_took.as_secs_f64(),
            through_engine.alerts == first.alerts
        );
    }

    // 1 000 completed orders of known customers on the reference day, as a live tail
    // import writes them.
    let live = dir.path().join("orders_live.csv");
    let mut rows = String::from("order_id,customer_id,order_date,revenue,channel\n");
    let customers = (orders / 10).max(100);
    for k in 0..1_000u64 {
        rows.push_str(&format!(
            "live-{k},c{},{as_of},{}.{:02},ads\n",
            (k * 7_919) % customers,
            20 + k % 80,
            k % 100
        ));
    }
    std::fs::write(&live, rows).unwrap();
    let options = ImportOptions {
        config: config.clone(),
        ..ImportOptions::default()
    };
    let report = import_file(&mut store, &live, &options).unwrap();
    assert_eq!(report.rows_upserted, 1_000);
    let cpu = cpu_ms(libc::RUSAGE_SELF);
    let started = Instant::now();
    days.forget(&store, &report.touched).unwrap();
    let since = Since {
        previous: &first,
        touched: &report.touched,
    };
    let after = alerts::evaluate_at(
        &store,
        &config,
        as_of,
        &catalog,
        Utc::now(),
        Some(since),
        &mut days,
    )
    .unwrap();
    println!(
        "{orders} orders: alert evaluation after a 1 000-row append {:.0} ms ({:.0} ms CPU; {} \
         alerts); goal 100 ms",
        ms(started.elapsed()),
        cpu_ms(libc::RUSAGE_SELF) - cpu,
        after.alerts.len()
    );
    drop(store);

    let check_cpu = cpu_ms(libc::RUSAGE_CHILDREN);
    let started = Instant::now();
    let status = Command::new(env!("CARGO_BIN_EXE_kpi"))
        .args(["check", "--as-of", &as_of.to_string(), "--db"])
        .arg(&db)
        .stdout(std::process::Stdio::null())
        .status()
        .unwrap();
    let check = started.elapsed();
    let check_cpu = cpu_ms(libc::RUSAGE_CHILDREN) - check_cpu;
    assert!(status.code().is_some_and(|c| c <= 2), "kpi check: {status}");

    let store = Store::open_for_reading(&db).unwrap();
    let cpu = cpu_ms(libc::RUSAGE_SELF);
    let started = Instant::now();
    let (count, sum): (i64, f64) = store
        .conn()
        .query_row("SELECT count(*), total(revenue) FROM orders", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .unwrap();
    let scan = started.elapsed();
    let scan_cpu = cpu_ms(libc::RUSAGE_SELF) - cpu;
    println!(
        "{orders} orders: kpi check {:.0} ms ({check_cpu:.0} ms CPU; exit {}); one full scan of \
         orders (SELECT count(*), total(revenue): {count} rows, {sum:.0}) {:.0} ms ({scan_cpu:.0} \
         ms CPU); check ÷ scan = {:.2} (CPU {:.2})",
        ms(check),
        status.code().unwrap_or(-1),
        ms(scan),
        check.as_secs_f64() / scan.as_secs_f64(),
        check_cpu / scan_cpu.max(1.0)
    );
}
