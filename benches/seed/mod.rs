//! A two-year store generated with SQL (recursive CTEs), for the benchmarks that need
//! millions of orders and events without importing them first.
#![allow(dead_code)]

use std::path::Path;
use std::time::Instant;

use kpi::store::{Store, rollup};

pub fn env_count(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.replace('_', "").parse().ok())
        .unwrap_or(default)
}

/// Two years of data: customers, orders, refunds, subscriptions, events, surveys, spend.
pub fn generate(path: &Path, orders: u64, events: u64) {
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
