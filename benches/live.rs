//! Live latency (SPEC §8): 1 000 order rows appended to a watched file of a store that
//! already holds N orders → the updated metrics ready for the screen. Times the path the
//! cockpit's `--watch` takes: watcher event and settle → tail import (rollups refreshed in
//! its transaction) → the metrics that read a touched table recomputed for the periods
//! from the touched day on (`snapshot::refresh_metrics`, what the screen shows). The alert
//! evaluation that follows on the worker is timed separately.
//!
//!     cargo bench --bench live -- 100000 1000000 10000000 [--appends 20] [--skip-alerts]
//!         [--cache DIR]
//!
//! `--cache DIR` keeps each size's freshly imported store in DIR and starts later runs
//! from a copy of it (a 10 M store takes over a minute to generate and import).
//!
//! `--events` appends 1 000 events instead, to a store of N orders and N events (two
//! years generated with SQL, as the metrics bench does): the launch-day log.
//! `--skip-alerts` leaves out timing the first alert evaluation (minutes on 10 M orders;
//! it runs after the metrics reach the screen and does not count toward the latency).
#![allow(clippy::unwrap_used)]

use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use chrono::NaiveDate;
use kpi::alerts::Since;
use kpi::config::Config;
use kpi::demo::{customer_id, generate_scaled};
use kpi::import::{ImportOptions, import_file};
use kpi::snapshot;
use kpi::store::Store;
use kpi::store::rollup::Touched;
use kpi::watch::follow::import_paths;
use kpi::watch::{DirWatcher, WatchEvent, WatchOptions, WatchState};

mod seed;

const ROWS_PER_APPEND: usize = 1_000;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let appends: usize = args
        .iter()
        .position(|a| a == "--appends")
        .and_then(|i| args.get(i + 1)?.parse().ok())
        .unwrap_or(20);
    let mut sizes: Vec<u64> = args
        .iter()
        .filter_map(|a| a.replace('_', "").parse().ok())
        .filter(|n| *n != appends as u64)
        .collect();
    if sizes.is_empty() {
        sizes = vec![100_000, 1_000_000];
    }
    let time_alerts = !args.iter().any(|a| a == "--skip-alerts");
    let cache = args
        .iter()
        .position(|a| a == "--cache")
        .and_then(|i| args.get(i + 1))
        .map(std::path::PathBuf::from);
    let feed = if args.iter().any(|a| a == "--events") {
        Feed::Events
    } else {
        Feed::Orders
    };
    for orders in sizes {
        run(feed, orders, appends, time_alerts, cache.as_deref());
    }
}

/// What the watched file receives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Feed {
    Orders,
    Events,
}

impl Feed {
    /// What each append writes, as the figures name it.
    fn rows(self) -> &'static str {
        match self {
            Feed::Orders => "orders",
            Feed::Events => "events",
        }
    }

    fn file(self) -> &'static str {
        match self {
            Feed::Orders => "orders_live.csv",
            Feed::Events => "events_live.csv",
        }
    }

    fn header(self) -> &'static str {
        match self {
            Feed::Orders => "order_id,customer_id,order_date,revenue,channel\n",
            Feed::Events => "event_id,user_id,ts,name,session_id,feature\n",
        }
    }

    /// Row `k` of append `round`, dated `day`; `customers` ids exist in the store.
    fn row(self, round: usize, k: usize, day: NaiveDate, customers: u64) -> String {
        match self {
            Feed::Orders => format!(
                "live-{round}-{k},{},{day},{}.{:02},paid_search\n",
                customer_id(k % 1_000),
                20 + k % 80,
                k % 100
            ),
            Feed::Events => {
                let user = (k as u64 * 7_919) % customers;
                let (name, feature) = [
                    ("session_start", ""),
                    ("page_view", ""),
                    ("feature_used", "search"),
                ][k % 3];
                format!(
                    "live-{round}-{k},c{user},{day}T{:02}:{:02}:00Z,{name},s{user}-live,{feature}\n",
                    8 + k % 12,
                    k % 60
                )
            }
        }
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// A store of `orders` generated orders (and their customers; with the events feed, as
/// many events too) at `path`; the time the seeding took, or `None` from the cache.
fn seeded_store(
    feed: Feed,
    path: &Path,
    orders: u64,
    options: &ImportOptions,
    cache: Option<&Path>,
) -> Option<Duration> {
    let name = match feed {
        Feed::Orders => format!("live-{orders}.db"),
        Feed::Events => format!("live-events-{orders}.db"),
    };
    let cached = cache.map(|dir| dir.join(name));
    if let Some(cached) = cached.as_ref().filter(|c| c.exists()) {
        std::fs::copy(cached, path).unwrap();
        // Else the first checkpoint's fsync would write the whole copy out, timed.
        std::fs::File::open(path).unwrap().sync_all().unwrap();
        return None;
    }
    let started = Instant::now();
    match feed {
        Feed::Orders => {
            let seed = path.with_file_name("seed");
            generate_scaled(&seed, 42, 1_000, 24, orders).unwrap();
            let started = Instant::now();
            {
                let mut store = Store::open(path).unwrap();
                for file in ["customers.csv", "orders.csv"] {
                    import_file(&mut store, &seed.join(file), options).unwrap();
                }
            }
            std::fs::remove_dir_all(&seed).unwrap();
            started.elapsed()
        }
        Feed::Events => {
            seed::generate(path, orders, orders);
            started.elapsed()
        }
    };
    let loaded = started.elapsed();
    if let Some(cached) = cached {
        std::fs::create_dir_all(cached.parent().unwrap()).unwrap();
        std::fs::copy(path, cached).unwrap();
    }
    Some(loaded)
}

fn run(feed: Feed, orders: u64, appends: usize, time_alerts: bool, cache: Option<&Path>) {
    let dir = tempfile::tempdir().unwrap();
    let config = Config::default();
    let options = ImportOptions {
        config: config.clone(),
        ..ImportOptions::default()
    };
    let db = dir.path().join("live.db");
    let loaded = seeded_store(feed, &db, orders, &options, cache);
    let mut store = Store::open(&db).unwrap();
    let (last_day, customers): (String, i64) = store
        .conn()
        .query_row(
            "SELECT (SELECT MAX(day) FROM ru_table_days WHERE tbl = ?1),
                    (SELECT COUNT(*) FROM customers)",
            [if feed == Feed::Events {
                "events"
            } else {
                "orders"
            }],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    let last_day: NaiveDate = last_day.parse().unwrap();
    let customers = customers.max(1) as u64;
    let started = Instant::now();
    let mut previous = snapshot::build_metrics(&store, &config, None).unwrap();
    let first = previous.clone();
    let first_build = started.elapsed();
    let first_alerts = time_alerts.then(|| {
        let started = Instant::now();
        let evaluation = snapshot::evaluate_alerts(&store, &first).unwrap();
        (evaluation, started.elapsed())
    });
    let alerts = first_alerts
        .as_ref()
        .map(|(e, took)| format!("{:.0} ms ({} alerts)", ms(*took), e.alerts.len()));
    println!(
        "{orders} orders: {}; metrics {:.0} ms ({} series, as of {:?}); alert evaluation {}",
        loaded.map_or("store from the cache".to_string(), |d| format!(
            "imported in {:.1} s",
            d.as_secs_f64()
        )),
        ms(first_build),
        first.series.len(),
        first.as_of,
        alerts.as_deref().unwrap_or("not timed (--skip-alerts)")
    );

    let exports = dir.path().join("exports");
    std::fs::create_dir(&exports).unwrap();
    let live_file = exports.join(feed.file());
    std::fs::write(&live_file, feed.header()).unwrap();
    let watcher = DirWatcher::start(&exports, &WatchOptions::default()).unwrap();
    let mut state = WatchState::new(&exports);
    import_paths(
        &mut store,
        std::slice::from_ref(&live_file),
        &options,
        &mut state,
    );

    let (mut total, mut waits, mut imports, mut builds) = (vec![], vec![], vec![], vec![]);
    let mut written = Touched::default();
    for round in 0..appends {
        let mut rows = String::with_capacity(ROWS_PER_APPEND * 48);
        for k in 0..ROWS_PER_APPEND {
            rows.push_str(&feed.row(round, k, last_day, customers));
        }
        // Let the previous round's events drain, so each round times only its own append.
        while watcher.events().try_recv().is_ok() {}
        let t0 = Instant::now();
        let mut file = std::fs::OpenOptions::new()
            .append(true)
            .open(&live_file)
            .unwrap();
        file.write_all(rows.as_bytes()).unwrap();
        drop(file);
        let paths = wait_for_change(&watcher, &live_file);
        let t1 = Instant::now();
        let outcomes = import_paths(&mut store, &paths, &options, &mut state);
        let report = outcomes[0].result.as_ref().unwrap();
        assert_eq!(
            report.rows_upserted, ROWS_PER_APPEND as u64,
            "round {round}"
        );
        let t2 = Instant::now();
        let snapshot =
            snapshot::refresh_metrics(&store, &config, None, &previous, &report.touched).unwrap();
        let t3 = Instant::now();
        written.merge(&report.touched);
        assert!(!snapshot.series.is_empty());
        previous = snapshot;
        waits.push(t1 - t0);
        imports.push(t2 - t1);
        builds.push(t3 - t2);
        total.push(t3 - t0);
    }
    let rounds: Vec<String> = total.iter().map(|d| format!("{:.0}", ms(*d))).collect();
    println!(
        "{orders} orders, append → metrics ready per round (ms): {}",
        rounds.join(" ")
    );
    let stats = |v: &mut Vec<Duration>| {
        v.sort();
        (ms(v[v.len() / 2]), ms(*v.last().unwrap()))
    };
    let (med, worst) = stats(&mut total);
    let (w_med, _) = stats(&mut waits);
    let (i_med, _) = stats(&mut imports);
    let (b_med, b_worst) = stats(&mut builds);
    if let Some((evaluation, _)) = &first_alerts {
        // What the worker does next: the alerts, keeping what the appends cannot change.
        let since = Since {
            previous: evaluation,
            touched: &written,
        };
        let started = Instant::now();
        let after = snapshot::evaluate_alerts_since(&store, &previous, Some(since)).unwrap();
        println!(
            "{orders} orders: alert evaluation after the appends {:.0} ms ({} alerts)",
            ms(started.elapsed()),
            after.alerts.len()
        );
    }
    println!(
        "{orders} orders, {appends} appends of {ROWS_PER_APPEND} {}: append → metrics ready \
         median {med:.0} ms, worst {worst:.0} ms \
         (watch+settle {w_med:.0} ms, import {i_med:.0} ms, recompute {b_med:.0} ms / worst {b_worst:.0} ms); \
         target 250 ms at 10 M",
        feed.rows()
    );
}

fn wait_for_change(watcher: &DirWatcher, file: &Path) -> Vec<std::path::PathBuf> {
    loop {
        match watcher
            .events()
            .recv_timeout(Duration::from_secs(10))
            .unwrap()
        {
            WatchEvent::Changed(paths) if paths.iter().any(|p| p == file) => return paths,
            _ => {}
        }
    }
}
