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
    pub fn event(&self, user: &str, ts: &str, day: &str, name: &str, session: Option<&str>) -> &Self {
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
