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

use std::path::{Path, PathBuf};
use std::time::Instant;

use kpi::config::Config;
use kpi::metrics::{self, Engine, Grain, SeriesRequest};
use kpi::snapshot;
use kpi::store::{Store, rollup};

fn env_count(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.replace('_', "").parse().ok())
        .unwrap_or(default)
}

/// Two years of data: customers, orders, refunds, subscriptions, events, surveys, spend.
fn generate(path: &Path, orders: u64, events: u64) {
    let mut store = Store::open(path).unwrap();
    let customers = (orders / 10).max(100);
    // KPI_BENCH_SUBSCRIPTIONS=0: an order-only store (active customers from orders).
    let subscribers = if env_count("KPI_BENCH_SUBSCRIPTIONS", 1) == 0 {
        0
    } else {
        customers / 4
    };
    let conn = store.conn();
    conn.execute_batch("PRAGMA cache_size = -400000; PRAGMA synchronous = OFF;")
        .unwrap();
    let t = Instant::now();
    conn.execute_batch(&format!(
        "BEGIN;
         WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < {customers} - 1)
         INSERT INTO customers (customer_id, signup_date, channel, plan, region)
         SELECT 'c' || i, date('2023-07-01', '+' || (i * 730 / {customers}) || ' days'),
                CASE i % 4 WHEN 0 THEN 'ads' WHEN 1 THEN 'seo' WHEN 2 THEN 'email' ELSE 'social' END,
                CASE WHEN i % 5 = 0 THEN 'pro' ELSE 'basic' END, CASE i % 3 WHEN 0 THEN 'eu' ELSE 'us' END
         FROM n;
         WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < {orders} - 1)
         INSERT INTO orders (order_id, customer_id, order_date, revenue, status, channel, discount, cost)
         SELECT 'o' || i, 'c' || ((i * 2654435761) % {customers}),
                date('2023-07-01', '+' || (i * 730 / {orders}) || ' days'),
                1000 + (i * 7919) % 20000,
                CASE WHEN i % 50 = 0 THEN 'cancelled' WHEN i % 97 = 0 THEN 'pending' ELSE 'completed' END,
                CASE i % 4 WHEN 0 THEN 'ads' WHEN 1 THEN 'seo' WHEN 2 THEN 'email' ELSE 'social' END,
                (i % 7) * 100, 400 + (i % 11) * 30
         FROM n;
         INSERT INTO refunds (refund_key, order_id, refund_date, amount)
         SELECT 'r' || order_id, order_id, date(order_date, '+7 days'), revenue / 3
         FROM orders WHERE rowid % 40 = 0;
         WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < {subscribers} - 1)
         INSERT INTO subscriptions (subscription_id, customer_id, mrr, start_date, end_date, plan)
         SELECT 's' || i, 'c' || (i * 4), 1900 + (i % 5) * 1000,
                date('2023-07-01', '+' || (i * 4 * 730 / {customers}) || ' days'),
                CASE WHEN i % 7 = 0 THEN date('2023-07-01', '+' || (i * 4 * 730 / {customers} + 60 + i % 200) || ' days') END,
                CASE WHEN i % 5 = 0 THEN 'pro' ELSE 'basic' END
         FROM n WHERE i < {subscribers};
         WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < {events} - 1)
         INSERT INTO events (event_key, user_id, ts, day, name, session_id, feature, duration_s)
         SELECT 'e' || i, 'c' || ((i * 40503) % {customers}),
                date('2023-07-01', '+' || (i * 730 / {events}) || ' days') || 'T12:00:00Z',
                date('2023-07-01', '+' || (i * 730 / {events}) || ' days'),
                CASE i % 5 WHEN 0 THEN 'session_start' WHEN 4 THEN 'feature_used' ELSE 'page_view' END,
                's' || ((i * 40503) % {customers}) || '-' || (i * 730 / {events}),
                CASE WHEN i % 5 = 4 THEN CASE i % 3 WHEN 0 THEN 'search' WHEN 1 THEN 'export' ELSE 'share' END END,
                CASE WHEN i % 5 = 0 THEN 30 + i % 600 END
         FROM n;
         WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 20000 - 1)
         INSERT INTO surveys (response_id, date, kind, score, customer_id)
         SELECT 'q' || i, date('2023-07-01', '+' || (i * 730 / 20000) || ' days'),
                CASE i % 3 WHEN 0 THEN 'nps' WHEN 1 THEN 'csat' ELSE 'ces' END,
                CASE i % 3 WHEN 0 THEN i % 11 WHEN 1 THEN 1 + i % 5 ELSE 1 + i % 7 END,
                'c' || (i % {customers})
         FROM n;
         WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 730 - 1)
         INSERT INTO spend (date, channel, amount, impressions, clicks)
         SELECT date('2023-07-01', '+' || i || ' days'), ch.c, 100000 + i * 10, 50000, 900 + i % 100
         FROM n, (SELECT 'ads' AS c UNION ALL SELECT 'social') ch;
         COMMIT;"
    ))
    .unwrap();
    println!(
        "generate: {customers} customers, {orders} orders, {events} events in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    let t = Instant::now();
    rollup::refresh_all(&mut store).unwrap();
    println!(
        "refresh_all (every rollup from the raw rows): {:.1} s",
        t.elapsed().as_secs_f64()
    );
}

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
