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
    Customer {
        customer: u8,
        day: i64,
    },
}

/// Rows dated up to `span` days after `BASE`; customers (signups) only when `signups`.
fn row_strategy(span: i64, signups: bool) -> impl Strategy<Value = Row> {
    prop_oneof![
        3 => (0u8..40, 0u8..8, 0i64..span, 0u32..10_000, 0u8..4, 0u8..3).prop_map(
            |(id, customer, day, cents, status, channel)| Row::Order { id, customer, day, cents, status, channel }),
        1 => (0u8..10, 0u8..40, 0i64..span, 0u32..3_000).prop_map(
            |(id, order, day, cents)| Row::Refund { id, order, day, cents }),
        3 => (0u16..300, 0u8..10, 0i64..span, 0u8..3, 0u8..6).prop_map(
            |(id, user, day, name, session)| Row::Event { id, user, day, name, session }),
        u32::from(signups) => (0u8..8, 0i64..span).prop_map(
            |(customer, day)| Row::Customer { customer, day }),
    ]
}

const BASE: &str = "2025-05-01";

/// Upserts a row and marks what it wrote in `touched`, as an import does: the old and new
/// day, and with `by_id` the customer or user of each (so only their rows are refreshed).
fn upsert(store: &Store, row: &Row, by_id: bool, touched: &mut Touched) {
    let base = d(BASE);
    let day_of = |offset: i64| (base + Duration::days(offset)).to_string();
    let conn = store.conn();
    let mut touch = |table: &'static str, marks: Option<(String, String)>| {
        if let Some((day, id)) = marks {
            touched.add_row(table, &[d(&day)], by_id.then_some(id.as_str()));
        }
    };
    let old = |sql: &str, key: String| -> Option<(String, String)> {
        conn.query_row(sql, [key], |r| Ok((r.get(0)?, r.get(1)?)))
            .ok()
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
            touch(
                "orders",
                old(
                    "SELECT order_date, customer_id FROM orders WHERE order_id = ?1",
                    format!("o{id}"),
                ),
            );
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
            touch("orders", Some((day_of(*day), format!("c{customer}"))));
        }
        Row::Refund {
            id,
            order,
            day,
            cents,
        } => {
            touch(
                "refunds",
                old(
                    "SELECT refund_date, '' FROM refunds WHERE refund_key = ?1",
                    format!("r{id}"),
                ),
            );
            conn.execute(
                "INSERT OR REPLACE INTO refunds (refund_key, order_id, refund_date, amount) VALUES (?1, ?2, ?3, ?4)",
                (format!("r{id}"), format!("o{order}"), day_of(*day), cents),
            ).unwrap();
            touched.add("refunds", d(&day_of(*day)));
        }
        Row::Event {
            id,
            user,
            day,
            name,
            session,
        } => {
            touch(
                "events",
                old(
                    "SELECT day, user_id FROM events WHERE event_key = ?1",
                    format!("e{id}"),
                ),
            );
            conn.execute(
                "INSERT OR REPLACE INTO events (event_key, user_id, ts, day, name, session_id, feature)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                (
                    format!("e{id}"),
                    format!("u{user}"),
                    // Times of day vary, and a re-import may move a row's time.
                    format!("{}T{:02}:00:00Z", day_of(*day), (usize::from(*id) + 5 * usize::from(*session)) % 24),
                    day_of(*day),
                    ["page_view", "session_start", "feature_used"][*name as usize],
                    format!("s{user}-{session}"),
                    // Two features: a user may adopt one, the other or both.
                    ["search", "export"][usize::from(*session % 2)],
                ),
            ).unwrap();
            touch("events", Some((day_of(*day), format!("u{user}"))));
        }
        Row::Customer { customer, day } => {
            let id = format!("c{customer}");
            let previous = old(
                "SELECT signup_date, customer_id FROM customers WHERE customer_id = ?1",
                id.clone(),
            )
            .map(|(old_day, _)| d(&old_day));
            if let Some(old_day) = previous {
                touched.add_row("customers", &[old_day], by_id.then_some(id.as_str()));
            }
            conn.execute(
                "INSERT OR REPLACE INTO customers (customer_id, signup_date) VALUES (?1, ?2)",
                (&id, day_of(*day)),
            )
            .unwrap();
            let signup = d(&day_of(*day));
            touched.add_row("customers", &[signup], by_id.then_some(id.as_str()));
            // As an import does: the signup the customer had before (none when new).
            touched.add_previous(
                "customers",
                &id,
                previous.as_ref().map(std::slice::from_ref),
            );
        }
    }
}

/// Imports `rows` in batches of the `splits` sizes, each refreshing only what it wrote.
fn import_in_batches(store: &mut Store, rows: &[Row], splits: &[usize], by_id: bool) {
    let mut rest = rows;
    let mut split = splits.iter().cycle();
    while !rest.is_empty() {
        let n = (*split.next().unwrap()).min(rest.len());
        let mut touched = Touched::default();
        for row in &rest[..n] {
            upsert(store, row, by_id, &mut touched);
        }
        rollup::refresh_touched(store, &touched).unwrap();
        rest = &rest[n..];
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
        rows in prop::collection::vec(row_strategy(70, false), 1..120),
        splits in prop::collection::vec(1usize..20, 1..10),
        by_id in any::<bool>(),
    ) {
        let mut store = Store::open_in_memory().unwrap();
        import_in_batches(&mut store, &rows, &splits, by_id);
        let incremental = dump(&store);
        rollup::refresh_all(&mut store).unwrap();
        let rebuilt = dump(&store);
        prop_assert_eq!(&incremental, &rebuilt);

        let config = Config::default();
        let as_of = d("2025-07-15");
        let eng = Engine::new(&store, &config, as_of);
        for grain in Grain::ALL {
            // Adoption of each feature: its distinct users (`ru_feature_distinct`) over the
            // period's active users.
            let by_feature = eng.series(&SeriesRequest {
                metric: "feature_adoption_pct", grain, from: d("2025-05-01"), to: d("2025-07-09"),
                by: Some("feature"),
            }).unwrap();
            for series in &by_feature {
                let feature = &series.segment.as_ref().unwrap().value;
                for point in &series.points {
                    let (a, b) = (point.period.start.to_string(), point.period.end().min(as_of).to_string());
                    let expected: Option<f64> = store.conn().query_row(
                        "SELECT 100.0 * (SELECT COUNT(DISTINCT user_id) FROM events WHERE name = 'feature_used'
                                         AND feature = ?3 AND day BETWEEN ?1 AND ?2)
                                / NULLIF(COUNT(DISTINCT user_id), 0) FROM events WHERE day BETWEEN ?1 AND ?2",
                        (&a, &b, feature), |r| r.get(0)).unwrap();
                    let same = match (point.value, expected) {
                        (Some(v), Some(e)) => (v - e).abs() < 1e-9,
                        (v, e) => v.is_none() && e.is_none(),
                    };
                    prop_assert!(same, "feature {} {}: rollup {:?} direct {:?}",
                        feature, point.period, point.value, expected);
                }
            }
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

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    /// Two and a half years of orders, events and signups, imported in small batches
    /// anywhere in them. A touched id's history is read only from 13 months before the
    /// batch's earliest day (plus its first day and its last day before that), so this
    /// proves the days left out change nothing.
    #[test]
    fn incremental_rollups_over_years_equal_a_rebuild(
        rows in prop::collection::vec(row_strategy(900, true), 1..150),
        splits in prop::collection::vec(1usize..8, 1..10),
        by_id in any::<bool>(),
    ) {
        let mut store = Store::open_in_memory().unwrap();
        import_in_batches(&mut store, &rows, &splits, by_id);
        let incremental = dump(&store);
        rollup::refresh_all(&mut store).unwrap();
        prop_assert_eq!(&incremental, &dump(&store));
    }
}

/// Orders of one customer over three years, then a change at the end: the refresh reads
/// the last 13 months of history and must still move the customer's gap, repeat window
/// and cohort exactly as a rebuild does.
#[test]
fn a_change_after_years_of_history_matches_a_rebuild() {
    let mut store = Store::open_in_memory().unwrap();
    let rows: Vec<Row> = (0..30)
        .map(|i| Row::Order {
            id: i,
            customer: 1,
            day: i64::from(i) * 40,
            cents: 1_000,
            status: 0,
            channel: 0,
        })
        .collect();
    import_in_batches(&mut store, &rows, &[30], true);
    // Cancel the latest order, add one after it, and one for a customer with no history.
    let change = [
        Row::Order {
            id: 29,
            customer: 1,
            day: 29 * 40,
            cents: 1_000,
            status: 2,
            channel: 0,
        },
        Row::Order {
            id: 30,
            customer: 1,
            day: 1_200,
            cents: 2_000,
            status: 0,
            channel: 1,
        },
        Row::Order {
            id: 31,
            customer: 2,
            day: 1_200,
            cents: 500,
            status: 0,
            channel: 0,
        },
    ];
    import_in_batches(&mut store, &change, &[3], true);
    let incremental = dump(&store);
    assert!(
        incremental.iter().any(|r| r.starts_with("ru_order_gaps")
            && r.contains(&format!(
                "{:?}",
                (d(BASE) + Duration::days(28 * 40)).to_string()
            ))
            && r.contains(&format!(
                "{:?}",
                (d(BASE) + Duration::days(1_200)).to_string()
            ))),
        "the order before the cancelled one now pairs with the new one: {incremental:?}"
    );
    rollup::refresh_all(&mut store).unwrap();
    assert_eq!(incremental, dump(&store));
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
        true,
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
        true,
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

/// Customer-flow metrics of one channel, straight from the raw rows: the customers of the
/// channel with a completed order in the 90 days ending on a day are active on it.
fn direct_by_channel(
    store: &Store,
    metric: &str,
    p: &Period,
    as_of: chrono::NaiveDate,
    channel: &str,
) -> f64 {
    let (a, b) = (p.start.to_string(), p.end().min(as_of).to_string());
    let active = |day: &str| -> Vec<String> {
        let mut stmt = store
            .conn()
            .prepare(
                "SELECT DISTINCT o.customer_id FROM orders o JOIN customers c ON c.customer_id = o.customer_id
                 WHERE c.channel = ?2 AND o.status = 'completed'
                   AND o.order_date BETWEEN date(?1, '-89 days') AND ?1",
            )
            .unwrap();
        stmt.query_map([day, channel], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    };
    let (start, end) = (active(&a), active(&b));
    let churned = start.iter().filter(|c| !end.contains(c)).count() as f64;
    let new: f64 = store
        .conn()
        .query_row(
            "SELECT COUNT(*) FROM customers WHERE channel = ?3 AND signup_date BETWEEN ?1 AND ?2",
            [&a, &b, channel],
            |r| r.get(0),
        )
        .unwrap();
    let ratio = |n: f64| {
        if start.is_empty() {
            f64::NAN
        } else {
            100.0 * n / start.len() as f64
        }
    };
    match metric {
        "active_customers" => end.len() as f64,
        "customer_churn_pct" => ratio(churned),
        "retention_rate_pct" => ratio(end.len() as f64 - new),
        other => panic!("no direct SQL for {other}"),
    }
}

/// The repeat purchase rate of one segment value over the 12 months ending at the period's
/// end: `channel` is the order's, `plan` the customer's.
fn direct_repeat(
    store: &Store,
    p: &Period,
    as_of: chrono::NaiveDate,
    dimension: &str,
    value: &str,
) -> f64 {
    let end = p.end().min(as_of).to_string();
    let filter = match dimension {
        "channel" => "COALESCE(channel, '') = ?2",
        _ => "customer_id IN (SELECT customer_id FROM customers WHERE plan = ?2)",
    };
    store
        .conn()
        .query_row(
            &format!(
                "SELECT 100.0 * SUM(n >= 2) / COUNT(*) FROM (SELECT customer_id, COUNT(*) AS n FROM orders
                 WHERE status = 'completed' AND {filter}
                   AND order_date BETWEEN date(?1, '-12 months', '+1 day') AND ?1 GROUP BY customer_id)"
            ),
            [&end, value],
            |r| r.get::<_, Option<f64>>(0),
        )
        .unwrap()
        .unwrap_or(f64::NAN)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// Churn, retention and active customers by channel, counted for all channels at once
    /// (one bit per checkpoint day and customer), equal the definition per channel; day
    /// grain over 45 days takes two queries of 31 spans.
    #[test]
    fn segment_flows_equal_the_definition_per_segment(
        orders in prop::collection::vec((0u8..12, 0i64..560, 0u8..4, 0u8..3), 1..120),
        channels in prop::collection::vec(prop::option::of(0u8..3), 12),
        plans in prop::collection::vec(prop::option::of(0u8..2), 12),
        signups in prop::collection::vec(0i64..200, 12),
    ) {
        let store = Store::open_in_memory().unwrap();
        let base = d("2024-01-01");
        for (i, ((channel, plan), signup)) in channels.iter().zip(&plans).zip(&signups).enumerate() {
            store.conn().execute(
                "INSERT INTO customers (customer_id, signup_date, channel, plan) VALUES (?1, ?2, ?3, ?4)",
                (format!("c{i}"), (base + Duration::days(*signup)).to_string(),
                 channel.map(|c| ["ads", "seo", "email"][c as usize]),
                 plan.map(|p| ["basic", "pro"][p as usize])),
            ).unwrap();
        }
        for (i, (customer, day, status, channel)) in orders.iter().enumerate() {
            store.conn().execute(
                "INSERT INTO orders (order_id, customer_id, order_date, revenue, status, channel)
                 VALUES (?1, ?2, ?3, 100, ?4, ?5)",
                (format!("o{i}"), format!("c{customer}"), (base + Duration::days(*day)).to_string(),
                 ["completed", "completed", "cancelled", "pending"][*status as usize],
                 ["ads", "seo", "email"][*channel as usize]),
            ).unwrap();
        }
        let mut store = store;
        rollup::refresh_all(&mut store).unwrap();
        let config = Config::default();
        let as_of = d("2025-07-10");
        let eng = Engine::new(&store, &config, as_of);
        for (grain, from) in [(Grain::Day, d("2025-05-20")), (Grain::Week, d("2025-03-01")), (Grain::Month, d("2024-11-01"))] {
            for metric in ["active_customers", "customer_churn_pct", "retention_rate_pct"] {
                let series = eng.series(&SeriesRequest { metric, grain, from, to: as_of, by: Some("channel") }).unwrap();
                for s in &series {
                    let channel = &s.segment.as_ref().unwrap().value;
                    for point in &s.points {
                        let expected = direct_by_channel(&store, metric, &point.period, as_of, channel);
                        match point.value {
                            Some(v) => prop_assert!((v - expected).abs() < 1e-9,
                                "{} {} {}: {} direct {}", metric, channel, point.period, v, expected),
                            None => prop_assert!(expected.is_nan(),
                                "{} {} {}: none ({:?}) but direct {}", metric, channel, point.period, point.note, expected),
                        }
                    }
                }
            }
            for dimension in ["channel", "plan"] {
                let series = eng.series(&SeriesRequest {
                    metric: "repeat_purchase_rate", grain, from, to: as_of, by: Some(dimension),
                }).unwrap();
                for s in &series {
                    let value = &s.segment.as_ref().unwrap().value;
                    for point in &s.points {
                        let expected = direct_repeat(&store, &point.period, as_of, dimension, value);
                        match point.value {
                            Some(v) => prop_assert!((v - expected).abs() < 1e-9,
                                "repeat by {} {} {}: {} direct {}", dimension, value, point.period, v, expected),
                            None => prop_assert!(expected.is_nan(),
                                "repeat by {} {} {}: none but direct {}", dimension, value, point.period, expected),
                        }
                    }
                }
            }
        }
    }
}
