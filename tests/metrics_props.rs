//! Properties: MRR movements reconcile exactly, and rollup-based values equal direct SQL
//! over the raw rows whatever the insertion order and however the refreshes are split.
#![allow(clippy::unwrap_used)]

mod metric_fixture;

use chrono::Duration;
use kpi::config::Config;
use kpi::metrics::{Engine, Grain, Period, SeriesRequest, subscriptions};
use kpi::store::Store;
use kpi::store::rollup::{self, Touched};
use metric_fixture::d;
use proptest::prelude::*;

fn sub_strategy() -> impl Strategy<Value = (u8, u32, i64, Option<i64>)> {
    // customer, mrr in cents, start offset, optional length in days
    (0u8..6, 0u32..50_000, 0i64..200, prop::option::of(0i64..120))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn mrr_movements_reconcile_exactly(subs in prop::collection::vec(sub_strategy(), 0..25)) {
        let store = Store::open_in_memory().unwrap();
        let base = d("2025-01-01");
        for (i, (customer, mrr, start, len)) in subs.iter().enumerate() {
            let start = base + Duration::days(*start);
            let end = len.map(|l| (start + Duration::days(l)).to_string());
            store.conn().execute(
                "INSERT INTO subscriptions (subscription_id, customer_id, mrr, start_date, end_date)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                (format!("s{i}"), format!("c{customer}"), mrr, start.to_string(), end),
            ).unwrap();
        }
        let config = Config::default();
        let as_of = d("2025-12-31");
        let eng = Engine::new(&store, &config, as_of);
        for grain in Grain::ALL {
            let periods = eng.periods(grain, d("2024-12-01"), as_of);
            let moves = subscriptions::period_movements(&eng, &periods, None).unwrap();
            let book = subscriptions::Book::load(store.conn()).unwrap();
            for (i, m) in moves.iter().enumerate() {
                // The one-pass sweep agrees with the customer-by-customer definition.
                let before = periods[i].start - Duration::days(1);
                let last = periods[i].end().min(as_of);
                prop_assert_eq!(*m, subscriptions::movements(&book, before, last, None, &|_| true));
                prop_assert_eq!(m.start + m.net_new(), m.end, "{} {}", grain, periods[i]);
                if i > 0 {
                    prop_assert_eq!(moves[i - 1].end, m.start);
                }
            }
        }
    }
}

#[derive(Debug, Clone)]
enum Row {
    Order {
        id: u8,
        customer: u8,
        day: i64,
        cents: u32,
        status: u8,
        channel: u8,
    },
    Refund {
        id: u8,
        order: u8,
        day: i64,
        cents: u32,
    },
    Event {
        id: u16,
        user: u8,
        day: i64,
        name: u8,
        session: u8,
    },
}

fn row_strategy() -> impl Strategy<Value = Row> {
    prop_oneof![
        3 => (0u8..40, 0u8..8, 0i64..70, 0u32..10_000, 0u8..4, 0u8..3).prop_map(
            |(id, customer, day, cents, status, channel)| Row::Order { id, customer, day, cents, status, channel }),
        1 => (0u8..10, 0u8..40, 0i64..70, 0u32..3_000).prop_map(
            |(id, order, day, cents)| Row::Refund { id, order, day, cents }),
        3 => (0u16..300, 0u8..10, 0i64..70, 0u8..3, 0u8..6).prop_map(
            |(id, user, day, name, session)| Row::Event { id, user, day, name, session }),
    ]
}

/// Upserts a row; returns the days whose rollups it touched (old and new day).
fn upsert(store: &Store, row: &Row, touched: &mut Touched) {
    let base = d("2025-05-01");
    let day_of = |offset: i64| (base + Duration::days(offset)).to_string();
    let conn = store.conn();
    let mut touch = |table: &'static str, day: Option<String>| {
        if let Some(day) = day {
            touched.add(table, d(&day));
        }
    };
    match row {
        Row::Order {
            id,
            customer,
            day,
            cents,
            status,
            channel,
        } => {
            let old: Option<String> = conn
                .query_row(
                    "SELECT order_date FROM orders WHERE order_id = ?1",
                    [format!("o{id}")],
                    |r| r.get(0),
                )
                .ok();
            touch("orders", old);
            conn.execute(
                "INSERT OR REPLACE INTO orders (order_id, customer_id, order_date, revenue, status, channel)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                (
                    format!("o{id}"),
                    format!("c{customer}"),
                    day_of(*day),
                    cents,
                    ["completed", "completed", "cancelled", "pending"][*status as usize],
                    ["ads", "seo", "email"][*channel as usize],
                ),
            ).unwrap();
            touch("orders", Some(day_of(*day)));
        }
        Row::Refund {
            id,
            order,
            day,
            cents,
        } => {
            let old: Option<String> = conn
                .query_row(
                    "SELECT refund_date FROM refunds WHERE refund_key = ?1",
                    [format!("r{id}")],
                    |r| r.get(0),
                )
                .ok();
            touch("refunds", old);
            conn.execute(
                "INSERT OR REPLACE INTO refunds (refund_key, order_id, refund_date, amount) VALUES (?1, ?2, ?3, ?4)",
                (format!("r{id}"), format!("o{order}"), day_of(*day), cents),
            ).unwrap();
            touch("refunds", Some(day_of(*day)));
        }
        Row::Event {
            id,
            user,
            day,
            name,
            session,
        } => {
            let old: Option<String> = conn
                .query_row(
                    "SELECT day FROM events WHERE event_key = ?1",
                    [format!("e{id}")],
                    |r| r.get(0),
                )
                .ok();
            touch("events", old);
            conn.execute(
                "INSERT OR REPLACE INTO events (event_key, user_id, ts, day, name, session_id, feature)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'search')",
                (
                    format!("e{id}"),
                    format!("u{user}"),
                    format!("{}T12:00:00Z", day_of(*day)),
                    day_of(*day),
                    ["page_view", "session_start", "feature_used"][*name as usize],
                    format!("s{user}-{session}"),
                ),
            ).unwrap();
            touch("events", Some(day_of(*day)));
        }
    }
}

fn dump(store: &Store) -> Vec<String> {
    let mut out = Vec::new();
    for table in kpi::store::rollup::ROLLUP_TABLES {
        let mut stmt = store
            .conn()
            .prepare(&format!("SELECT * FROM {table} ORDER BY 1, 2, 3"))
            .unwrap();
        let n = stmt.column_count();
        let rows = stmt
            .query_map([], |r| {
                let cells: Vec<String> = (0..n)
                    .map(|i| format!("{:?}", r.get::<_, rusqlite::types::Value>(i).unwrap()))
                    .collect();
                Ok(format!("{table}: {}", cells.join(" | ")))
            })
            .unwrap();
        for row in rows {
            let row = row.unwrap();
            // Trailing-window counts of zero are written only where a window reached.
            if !(row.starts_with("ru_distinct") && row.ends_with("| Integer(0)")) {
                out.push(row);
            }
        }
    }
    out
}

/// One value straight from the raw rows, for the period `p` up to the reference date.
fn direct(store: &Store, metric: &str, p: &Period, as_of: chrono::NaiveDate) -> f64 {
    let (a, b) = (p.start.to_string(), p.end().min(as_of).to_string());
    let sql = match metric {
        "gross_revenue" => "SELECT COALESCE(SUM(revenue), 0) / 100.0 FROM orders WHERE status = 'completed' AND order_date BETWEEN ?1 AND ?2",
        "orders" => "SELECT COUNT(*) FROM orders WHERE status = 'completed' AND order_date BETWEEN ?1 AND ?2",
        "paying_customers" => "SELECT COUNT(DISTINCT customer_id) FROM orders WHERE status = 'completed' AND order_date BETWEEN ?1 AND ?2",
        "net_revenue" => "SELECT (SELECT COALESCE(SUM(revenue), 0) FROM orders WHERE status = 'completed' AND order_date BETWEEN ?1 AND ?2)
                            / 100.0 - (SELECT COALESCE(SUM(amount), 0) FROM refunds WHERE refund_date BETWEEN ?1 AND ?2) / 100.0",
        "page_views" => "SELECT COUNT(*) FROM events WHERE name = 'page_view' AND day BETWEEN ?1 AND ?2",
        "mau" if p.grain == Grain::Month => "SELECT COUNT(DISTINCT user_id) FROM events WHERE day BETWEEN ?1 AND ?2",
        "mau" => "SELECT COUNT(DISTINCT user_id) FROM events WHERE day BETWEEN date(?2, '-29 days') AND ?2",
        "wau" if p.grain == Grain::Week => "SELECT COUNT(DISTINCT user_id) FROM events WHERE day BETWEEN ?1 AND ?2",
        "wau" => "SELECT COUNT(DISTINCT user_id) FROM events WHERE day BETWEEN date(?2, '-6 days') AND ?2",
        "dau" => "SELECT COUNT(*) * 1.0 / (julianday(?2) - julianday(?1) + 1) FROM (SELECT DISTINCT day, user_id FROM events WHERE day BETWEEN ?1 AND ?2)",
        "sessions_per_user" => "SELECT COUNT(DISTINCT day || '|' || session_id) * 1.0 / NULLIF(COUNT(DISTINCT user_id), 0) FROM events WHERE day BETWEEN ?1 AND ?2",
        "feature_adoption_pct" => "SELECT 100.0 * (SELECT COUNT(DISTINCT user_id) FROM events WHERE name = 'feature_used' AND day BETWEEN ?1 AND ?2) / NULLIF(COUNT(DISTINCT user_id), 0) FROM events WHERE day BETWEEN ?1 AND ?2",
        "repeat_purchase_rate" => "SELECT 100.0 * SUM(n >= 2) / COUNT(*) FROM (SELECT customer_id, COUNT(*) AS n FROM orders
                                   WHERE status = 'completed' AND order_date BETWEEN date(?2, '-12 months', '+1 day') AND ?2
                                   GROUP BY customer_id) WHERE ?1 IS NOT NULL",
        "active_customers" => "SELECT COUNT(DISTINCT customer_id) FROM orders WHERE status = 'completed'
                               AND order_date BETWEEN date(?2, '-89 days') AND ?2 AND ?1 IS NOT NULL",
        "customer_churn_pct" => "SELECT 100.0 * (SELECT COUNT(*) FROM (
                                     SELECT customer_id FROM orders WHERE status = 'completed' AND order_date BETWEEN date(?1, '-89 days') AND ?1
                                     EXCEPT
                                     SELECT customer_id FROM orders WHERE status = 'completed' AND order_date BETWEEN date(?2, '-89 days') AND ?2))
                                 / (SELECT COUNT(DISTINCT customer_id) FROM orders WHERE status = 'completed' AND order_date BETWEEN date(?1, '-89 days') AND ?1)",
        other => panic!("no direct SQL for {other}"),
    };
    store
        .conn()
        .query_row(sql, [a, b], |r| r.get::<_, Option<f64>>(0))
        .unwrap()
        .unwrap_or(f64::NAN)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn incremental_rollups_equal_a_rebuild_and_direct_sql(
        rows in prop::collection::vec(row_strategy(), 1..120),
        splits in prop::collection::vec(1usize..20, 1..10),
    ) {
        let mut store = Store::open_in_memory().unwrap();
        // Import in batches of random sizes, each refreshing only the days it touched.
        let mut rest = rows.as_slice();
        let mut split = splits.iter().cycle();
        while !rest.is_empty() {
            let n = (*split.next().unwrap()).min(rest.len());
            let mut touched = Touched::default();
            for row in &rest[..n] {
                upsert(&store, row, &mut touched);
            }
            rollup::refresh_touched(&mut store, &touched).unwrap();
            rest = &rest[n..];
        }
        let incremental = dump(&store);
        rollup::refresh_all(&mut store).unwrap();
        let rebuilt = dump(&store);
        prop_assert_eq!(&incremental, &rebuilt);

        let config = Config::default();
        let as_of = d("2025-07-15");
        let eng = Engine::new(&store, &config, as_of);
        for grain in Grain::ALL {
            for metric in ["gross_revenue", "orders", "paying_customers", "net_revenue", "page_views",
                           "dau", "wau", "mau", "sessions_per_user", "feature_adoption_pct",
                           "repeat_purchase_rate", "active_customers", "customer_churn_pct"] {
                let series = eng.series(&SeriesRequest {
                    metric, grain, from: d("2025-05-01"), to: d("2025-07-09"), by: None,
                }).unwrap();
                for point in &series[0].points {
                    let expected = direct(&store, metric, &point.period, as_of);
                    match point.value {
                        Some(v) => prop_assert!((v - expected).abs() < 1e-9,
                            "{} {}: rollup {} direct {}", metric, point.period, v, expected),
                        None => prop_assert!(expected.is_nan() || point.note.as_deref().is_some_and(|n| n.starts_with("no data")),
                            "{} {}: none ({:?}) but direct {}", metric, point.period, point.note, expected),
                    }
                }
            }
        }
    }
}

#[test]
fn a_customers_import_re_sorts_cohorts() {
    let mut store = Store::open_in_memory().unwrap();
    let mut touched = Touched::default();
    upsert(
        &store,
        &Row::Order {
            id: 1,
            customer: 1,
            day: 40,
            cents: 500,
            status: 0,
            channel: 0,
        },
        &mut touched,
    );
    upsert(
        &store,
        &Row::Order {
            id: 2,
            customer: 1,
            day: 5,
            cents: 700,
            status: 0,
            channel: 0,
        },
        &mut touched,
    );
    rollup::refresh_touched(&mut store, &touched).unwrap();
    // c1 signed up in March, before their first order in May.
    store
        .conn()
        .execute(
            "INSERT INTO customers (customer_id, signup_date) VALUES ('c1', '2025-03-15')",
            [],
        )
        .unwrap();
    let mut touched = Touched::default();
    touched.add("customers", d("2025-03-15"));
    rollup::refresh_touched(&mut store, &touched).unwrap();
    let incremental = dump(&store);
    assert!(
        incremental
            .iter()
            .any(|r| r.contains("ru_cohort_cells") && r.contains("\"2025-03\"")),
        "{incremental:?}"
    );
    rollup::refresh_all(&mut store).unwrap();
    assert_eq!(incremental, dump(&store));
}
