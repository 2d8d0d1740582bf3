//! Fixtures for metric tests: rows inserted with SQL (the importer is tested elsewhere),
//! then the rollups rebuilt, and helpers that read one metric's point.
#![allow(clippy::unwrap_used, dead_code)]

use chrono::NaiveDate;
use kpi::config::Config;
use kpi::metrics::{self, Grain, Point, SeriesRequest};
use kpi::store::{Store, rollup};

pub fn d(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

pub struct Fixture {
    pub store: Store,
    pub config: Config,
}

impl Fixture {
    pub fn new() -> Self {
        Self {
            store: Store::open_in_memory().unwrap(),
            config: Config::default(),
        }
    }

    pub fn sql(&self, sql: &str) -> &Self {
        self.store.conn().execute_batch(sql).unwrap();
        self
    }

    /// Revenue in currency units; stored in cents.
    pub fn order(&self, id: &str, customer: &str, date: &str, revenue: f64, status: &str) -> &Self {
        self.store
            .conn()
            .execute(
                "INSERT INTO orders (order_id, customer_id, order_date, revenue, status)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                (id, customer, date, (revenue * 100.0).round() as i64, status),
            )
            .unwrap();
        self
    }

    pub fn customer(&self, id: &str, signup: &str, channel: Option<&str>) -> &Self {
        self.store
            .conn()
            .execute(
                "INSERT INTO customers (customer_id, signup_date, channel) VALUES (?1, ?2, ?3)",
                (id, signup, channel),
            )
            .unwrap();
        self
    }

    pub fn sub(&self, id: &str, customer: &str, mrr: f64, start: &str, end: Option<&str>) -> &Self {
        self.store
            .conn()
            .execute(
                "INSERT INTO subscriptions (subscription_id, customer_id, mrr, start_date, end_date)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                (id, customer, (mrr * 100.0).round() as i64, start, end),
            )
            .unwrap();
        self
    }

    /// An event; `day` is the local day the importer would store for `ts`.
    pub fn event(
        &self,
        user: &str,
        ts: &str,
        day: &str,
        name: &str,
        session: Option<&str>,
    ) -> &Self {
        self.store
            .conn()
            .execute(
                "INSERT INTO events (event_key, user_id, ts, day, name, session_id)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                (
                    format!("{user}|{ts}|{name}|{session:?}"),
                    user,
                    ts,
                    day,
                    name,
                    session,
                ),
            )
            .unwrap();
        self
    }

    pub fn refresh(&mut self) -> &mut Self {
        rollup::refresh_all(&mut self.store).unwrap();
        self
    }

    pub fn point(&self, metric: &str, grain: Grain, period: &str, as_of: &str) -> Point {
        let p = metrics::Period::parse(period).unwrap();
        let series = metrics::compute(
            &self.store,
            &self.config,
            d(as_of),
            &SeriesRequest {
                metric,
                grain,
                from: p.start,
                to: p.start,
                by: None,
            },
        )
        .unwrap();
        assert_eq!(series.len(), 1);
        let point = series[0].points.last().cloned().unwrap();
        assert_eq!(point.period.label(), period, "{metric}");
        point
    }

    pub fn value(&self, metric: &str, grain: Grain, period: &str, as_of: &str) -> f64 {
        let p = self.point(metric, grain, period, as_of);
        p.value
            .unwrap_or_else(|| panic!("{metric} {period}: no value, note {:?}", p.note))
    }
}

pub fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9 * b.abs().max(1.0)
}

/// A small store with every table filled deterministically: 300 customers signing up
/// over January–June 2025 on three channels, their orders, subscriptions, events,
/// surveys, spend, funnel, costs, tickets, work items, an annotation and an external
/// metric. Data ends on 2025-07-14.
pub fn populated() -> Fixture {
    let mut f = Fixture::new();
    f.sql(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 300)
         INSERT INTO customers (customer_id, signup_date, channel, plan, region, attributes)
         SELECT 'c' || i, date('2025-01-01', '+' || ((i * 7) % 180) || ' days'),
                CASE i % 3 WHEN 0 THEN 'ads' WHEN 1 THEN 'seo' ELSE 'email' END,
                CASE WHEN i % 4 = 0 THEN 'pro' ELSE 'basic' END,
                CASE WHEN i % 2 = 0 THEN 'eu' ELSE 'us' END,
                json_object('industry', CASE WHEN i % 5 = 0 THEN 'retail' ELSE 'saas' END)
         FROM n;
         WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000)
         INSERT INTO orders (order_id, customer_id, order_date, revenue, status, channel, discount, cost)
         SELECT 'o' || i, 'c' || (1 + (i * 13) % 300),
                date('2025-01-01', '+' || ((i * 31) % 195) || ' days'),
                1000 + (i * 37) % 9000,
                CASE WHEN i % 17 = 0 THEN 'cancelled' WHEN i % 29 = 0 THEN 'pending' ELSE 'completed' END,
                CASE i % 3 WHEN 0 THEN 'ads' WHEN 1 THEN 'seo' ELSE 'email' END,
                (i % 5) * 100, 300 + (i % 7) * 50
         FROM n;
         INSERT INTO refunds (refund_key, order_id, refund_date, amount)
         SELECT 'r' || order_id, order_id, MIN(date(order_date, '+10 days'), '2025-07-14'), revenue / 2
         FROM orders WHERE CAST(substr(order_id, 2) AS INTEGER) % 23 = 0;
         WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 150)
         INSERT INTO subscriptions (subscription_id, customer_id, mrr, start_date, end_date, plan)
         SELECT 's' || i, 'c' || i, 2000 + (i % 4) * 1000,
                date('2025-01-01', '+' || ((i * 7) % 150) || ' days'),
                CASE WHEN i % 6 = 0 THEN date('2025-01-01', '+' || ((i * 7) % 150 + 40) || ' days') END,
                CASE WHEN i % 4 = 0 THEN 'pro' ELSE 'basic' END
         FROM n;
         WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 6000)
         INSERT INTO events (event_key, user_id, ts, day, name, session_id, feature, duration_s)
         SELECT 'e' || i, 'c' || (1 + (i * 11) % 300),
                date('2025-01-01', '+' || ((i * 7) % 195) || ' days') || 'T10:00:00Z',
                date('2025-01-01', '+' || ((i * 7) % 195) || ' days'),
                CASE i % 4 WHEN 0 THEN 'session_start' WHEN 1 THEN 'page_view' WHEN 2 THEN 'page_view' ELSE 'feature_used' END,
                'c' || (1 + (i * 11) % 300) || '-' || ((i * 7) % 195),
                CASE WHEN i % 4 = 3 THEN CASE WHEN i % 8 = 3 THEN 'search' ELSE 'export' END END,
                CASE WHEN i % 4 = 0 THEN 60 + i % 300 END
         FROM n;
         INSERT INTO events (event_key, user_id, ts, day, name)
         SELECT 'act' || customer_id, customer_id, date(signup_date, '+2 days') || 'T06:00:00Z', date(signup_date, '+2 days'), 'activated'
         FROM customers WHERE CAST(substr(customer_id, 2) AS INTEGER) % 2 = 0;
         WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 400)
         INSERT INTO surveys (response_id, date, kind, score, customer_id)
         SELECT 'q' || i, date('2025-01-01', '+' || ((i * 7) % 195) || ' days'),
                CASE i % 3 WHEN 0 THEN 'nps' WHEN 1 THEN 'csat' ELSE 'ces' END,
                CASE i % 3 WHEN 0 THEN i % 11 WHEN 1 THEN 1 + i % 5 ELSE 1 + i % 7 END,
                'c' || (1 + i % 300)
         FROM n;
         WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 194)
         INSERT INTO spend (date, channel, amount, impressions, clicks)
         SELECT date('2025-01-01', '+' || i || ' days'), ch.c, 5000 + i * 10, 1000 + i, 20 + i % 10
         FROM n, (SELECT 'ads' AS c UNION ALL SELECT 'seo') ch;
         WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 194)
         INSERT INTO funnel (date, channel, visitors, leads, conversions)
         SELECT date('2025-01-01', '+' || i || ' days'), 'web', 500 + i % 50, 40 + i % 9, 10 + i % 4 FROM n;
         WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 6)
         INSERT INTO costs (date, category, amount)
         SELECT date('2025-01-01', '+' || i || ' months'), cat.c, 100000
         FROM n, (SELECT 'cogs' AS c UNION ALL SELECT 'opex') cat;
         WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 60)
         INSERT INTO tickets (ticket_id, opened_at, opened_day, first_response_at, resolved_at, severity)
         SELECT 't' || i, date('2025-01-01', '+' || (i * 3) || ' days') || 'T08:00:00Z',
                date('2025-01-01', '+' || (i * 3) || ' days'),
                date('2025-01-01', '+' || (i * 3) || ' days') || 'T' || printf('%02d', 9 + i % 5) || ':00:00Z',
                CASE WHEN i % 3 > 0 THEN date('2025-01-01', '+' || (i * 3 + 1) || ' days') || 'T08:00:00Z' END,
                CASE i % 3 WHEN 0 THEN 'high' ELSE 'low' END
         FROM n;
         WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 40)
         INSERT INTO work_items (item_id, kind, created_date, committed_date, delivered_date, points, found)
         SELECT 'w' || i, CASE i % 3 WHEN 0 THEN 'bug' WHEN 1 THEN 'feature' ELSE 'task' END,
                date('2025-01-01', '+' || (i * 4) || ' days'), date('2025-01-01', '+' || (i * 4 + 14) || ' days'),
                date('2025-01-01', '+' || (i * 4 + 10 + i % 9) || ' days'), 1 + i % 5,
                CASE WHEN i % 3 = 0 THEN CASE WHEN i % 2 = 0 THEN 'pre_release' ELSE 'production' END END
         FROM n;
         INSERT INTO annotations (date, label) VALUES ('2025-05-12', 'Launch v2');
         INSERT INTO metrics (date, metric, value, segment) VALUES
           ('2025-06-30', 'uptime_pct', 99.9, ''), ('2025-07-14', 'uptime_pct', 99.5, ''),
           ('2025-06-30', 'uptime_pct', 99.0, 'eu');",
    );
    f.refresh();
    f
}
