//! Metric computation speed on big stores (SPEC §8): the full catalog at month grain,
//! and opening a 10 M-order store until the overview's metrics are ready (target 500 ms).
//!
//!     KPI_BENCH_ORDERS=1000000 KPI_BENCH_EVENTS=1000000 cargo bench --bench metrics
//!     KPI_BENCH_ORDERS=10000000 KPI_BENCH_EVENTS=10000000 cargo bench --bench metrics
//!
//! `KPI_BENCH_SUBSCRIPTIONS=0` generates an order-only store (no subscriptions), where
//! active customers and churn come from orders.
//!
//! The store is generated with SQL (recursive CTEs) into a temporary directory, or kept
//! at `KPI_BENCH_DB` (generated once, reused by later runs of the same size).
#![allow(clippy::unwrap_used)]

use std::path::PathBuf;
use std::time::Instant;

use kpi::config::Config;
use kpi::metrics::{self, Engine, Grain, SeriesRequest};
use kpi::snapshot;
use kpi::store::Store;

mod seed;
use seed::{env_count, generate};

fn main() {
    let orders = env_count("KPI_BENCH_ORDERS", 1_000_000);
    let events = env_count("KPI_BENCH_EVENTS", orders);
    let dir = tempfile::tempdir().unwrap();
    let path = match std::env::var("KPI_BENCH_DB") {
        Ok(p) => PathBuf::from(p),
        Err(_) => dir.path().join("bench.db"),
    };
    if !path.exists() {
        generate(&path, orders, events);
    } else {
        println!("reusing {}", path.display());
    }
    let config = Config::default();

    // Cold open: a fresh connection, as the cockpit starts.
    let t = Instant::now();
    let store = Store::open(&path).unwrap();
    let overview = snapshot::build_overview(&store, &config, None).unwrap();
    let points: usize = overview.series.iter().map(|s| s.points.len()).sum();
    println!(
        "open store + snapshot::build_overview ({} core KPIs × 3 grains, {points} points, data status): {:.0} ms (target 500 ms)",
        config.core_kpis.len(),
        t.elapsed().as_secs_f64() * 1000.0
    );
    let as_of = overview.as_of.unwrap();

    let catalog = Engine::new(&store, &config, as_of).catalog().unwrap();
    for grain in [Grain::Month, Grain::Week, Grain::Day] {
        let t = Instant::now();
        let engine = Engine::new(&store, &config, as_of);
        let from = snapshot::history_start(grain, &config, as_of);
        let mut slowest: Vec<(f64, String)> = Vec::new();
        let mut points = 0;
        for def in &catalog {
            let m = Instant::now();
            for s in engine
                .series(&SeriesRequest {
                    metric: &def.id,
                    grain,
                    from,
                    to: as_of,
                    by: None,
                })
                .unwrap()
            {
                points += s.points.len();
            }
            slowest.push((m.elapsed().as_secs_f64() * 1000.0, def.id.to_string()));
        }
        println!(
            "full catalog ({} metrics) at {grain} grain, {points} points: {:.0} ms",
            catalog.len(),
            t.elapsed().as_secs_f64() * 1000.0
        );
        slowest.sort_by(|a, b| b.0.total_cmp(&a.0));
        let top: Vec<String> = slowest
            .iter()
            .take(4)
            .map(|(ms, id)| format!("{id} {ms:.0} ms"))
            .collect();
        println!("  slowest: {}", top.join(", "));
    }

    for variant in [
        metrics::CohortVariant::PurchasingCustomers,
        metrics::CohortVariant::ActiveUsers,
        metrics::CohortVariant::SubscribedCustomers,
        metrics::CohortVariant::RevenueRetention,
    ] {
        let t = Instant::now();
        metrics::cohorts(&store, &config, as_of, variant).unwrap();
        println!(
            "cohort matrix {variant:?}: {:.0} ms",
            t.elapsed().as_secs_f64() * 1000.0
        );
    }

    let t = Instant::now();
    let snap = snapshot::build_metrics(&store, &config, None).unwrap();
    println!(
        "snapshot::build_metrics (every metric × 3 grains, 4 cohort matrices, status): {:.0} ms, {} series",
        t.elapsed().as_secs_f64() * 1000.0,
        snap.series.len()
    );
    let t = Instant::now();
    let evaluation = snapshot::evaluate_alerts(&store, &snap).unwrap();
    println!(
        "snapshot::evaluate_alerts (every metric × 3 grains × segments): {:.0} ms, {} alerts",
        t.elapsed().as_secs_f64() * 1000.0,
        evaluation.alerts.len()
    );
}
