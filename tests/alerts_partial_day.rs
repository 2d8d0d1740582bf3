//! The day still being written (SPEC §6): when the reference date is today by the clock,
//! that day is partial — never compared with full days, never alerted on — and the day
//! before it is the latest one compared.
#![allow(clippy::unwrap_used)]

use chrono::{DateTime, Duration, NaiveDate, Utc};
use kpi::alerts::{self, Evaluation};
use kpi::config::Config;
use kpi::metrics::{Grain, MetricDef, MetricError, Period, Point, Series, SeriesRequest, catalog};
use kpi::store::Store;

fn d(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

/// Wednesday.
const AS_OF: &str = "2026-11-18";

/// 120 orders every day until the day before `AS_OF`; `last` on `AS_OF` itself, and
/// `before_last` the day before it.
fn orders(request: &SeriesRequest<'_>, before_last: f64, last: f64) -> Vec<Series> {
    if request.by.is_some() || request.grain != Grain::Day {
        return Vec::new();
    }
    let mut points = Vec::new();
    let mut day = request.from;
    while day <= request.to {
        let value = if day == d(AS_OF) {
            last
        } else if day == d(AS_OF) - Duration::days(1) {
            before_last
        } else {
            120.0
        };
        points.push(Point {
            period: Period::containing(Grain::Day, day),
            value: Some(value),
            note: None,
            partial: false,
        });
        day += Duration::days(1);
    }
    vec![Series {
        metric: request.metric.to_string(),
        segment: None,
        grain: Grain::Day,
        points,
    }]
}

fn evaluate(now: &str, before_last: f64, last: f64) -> Evaluation {
    let store = Store::open_in_memory().unwrap();
    let defs: Vec<MetricDef> = catalog::BUILT_IN
        .iter()
        .filter(|m| m.id == "orders")
        .cloned()
        .collect();
    let now: DateTime<Utc> = DateTime::parse_from_rfc3339(now).unwrap().to_utc();
    alerts::evaluate_with(
        &store,
        &Config::default(),
        d(AS_OF),
        &defs,
        now,
        &mut |request| Ok::<_, MetricError>(orders(request, before_last, last)),
    )
    .unwrap()
}

fn day_keys(e: &Evaluation) -> Vec<&str> {
    e.alerts
        .iter()
        .filter(|a| a.grain == Grain::Day)
        .map(|a| a.key.as_str())
        .collect()
}

#[test]
fn the_partial_day_is_never_alerted_on() {
    // At 09:00 on the reference date only a third of the day's orders are in.
    let e = evaluate("2026-11-18T09:00:00Z", 120.0, 40.0);
    assert!(day_keys(&e).is_empty(), "{:?}", day_keys(&e));
    // Once the day is over, the same 40 orders are a real fall.
    let e = evaluate("2026-11-19T09:00:00Z", 120.0, 40.0);
    assert_eq!(day_keys(&e), ["orders|total|day|2026-11-18"]);
}

#[test]
fn while_today_is_being_written_yesterday_is_the_day_compared() {
    let e = evaluate("2026-11-18T09:00:00Z", 60.0, 40.0);
    assert_eq!(day_keys(&e), ["orders|total|day|2026-11-17"]);
}

#[test]
fn today_is_judged_in_the_configured_time_zone() {
    let config = Config {
        time_zone: "America/Los_Angeles".into(),
        ..Config::default()
    };
    // 03:00 UTC on the 19th is still the evening of the 18th in Los Angeles.
    let now = DateTime::parse_from_rfc3339("2026-11-19T03:00:00Z")
        .unwrap()
        .to_utc();
    assert_eq!(
        alerts::last_complete_day(&config, d(AS_OF), now),
        d("2026-11-17")
    );
    assert_eq!(
        alerts::last_complete_day(&Config::default(), d(AS_OF), now),
        d(AS_OF)
    );
}
