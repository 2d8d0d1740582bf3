//! Customers per signup day and segment (`ru_signups_day`): kept by every customers
//! import equal to counting the customers again, whatever the import moved, and read by
//! the new customers, CAC and the customers' segment values as the customers table gives
//! them.
#![allow(clippy::unwrap_used)]

mod import_support;

use std::path::Path;

use chrono::NaiveDate;
use import_support::{dump, import};
use kpi::config::Config;
use kpi::metrics::{Engine, Grain, SeriesRequest};
use kpi::store::Store;
use kpi::store::metric_queries::SegmentSource;
use kpi::store::rollup::refresh_all;

const HEADER: &str = "customer_id,signup_date,channel,plan,region\n";

fn write(dir: &Path, name: &str, rows: &str) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, format!("{HEADER}{rows}")).unwrap();
    path
}

fn rollup(store: &Store) -> Vec<String> {
    dump(store, "ru_signups_day", "day, channel, plan, region")
}

/// The rollup as counted straight from the customers.
fn counted(store: &Store) -> Vec<String> {
    let mut stmt = store
        .conn()
        .prepare(
            "SELECT signup_date, channel, plan, region, COUNT(*) FROM customers
             GROUP BY signup_date, channel, plan, region ORDER BY 1, 2, 3, 4",
        )
        .unwrap();
    let cell = |v: Option<String>| v.unwrap_or_else(|| "NULL".into());
    stmt.query_map([], |r| {
        Ok(format!(
            "{}|{}|{}|{}|{}",
            r.get::<_, String>(0)?,
            cell(r.get(1)?),
            cell(r.get(2)?),
            cell(r.get(3)?),
            r.get::<_, i64>(4)?
        ))
    })
    .unwrap()
    .map(Result::unwrap)
    .collect()
}

fn distinct(store: &Store, column: &str) -> Vec<String> {
    let mut stmt = store
        .conn()
        .prepare(&format!(
            "SELECT DISTINCT {column} FROM customers WHERE {column} IS NOT NULL ORDER BY 1"
        ))
        .unwrap();
    stmt.query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

/// Two imports: the second moves c1 to another day and channel (its old channel then has
/// no customer left), moves c2 to another plan on the same day, re-imports c3 unchanged,
/// and adds a customer without channel, plan or region.
fn two_imports(dir: &Path) -> Store {
    let mut store = Store::open(&dir.join("s.db")).unwrap();
    let first = write(
        dir,
        "customers_1.csv",
        "c1,2025-03-01,affiliate,starter,EU\n\
         c2,2025-03-01,organic,starter,EU\n\
         c3,2025-03-02,organic,pro,US\n\
         c4,2025-03-10,paid,pro,US\n",
    );
    import(&mut store, &first);
    let second = write(
        dir,
        "customers_2.csv",
        "c1,2025-03-05,paid,starter,EU\n\
         c2,2025-03-01,organic,pro,EU\n\
         c3,2025-03-02,organic,pro,US\n\
         c5,2025-03-05,,,\n",
    );
    import(&mut store, &second);
    store
}

#[test]
fn signups_rollup_after_customer_imports_that_move_customers_equals_a_recount() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = two_imports(dir.path());
    let incremental = rollup(&store);
    assert_eq!(incremental, counted(&store));
    assert!(
        !incremental.iter().any(|row| row.contains("affiliate")),
        "c1 left the affiliate channel: {incremental:?}"
    );
    assert!(
        incremental.contains(&"2025-03-05|NULL|NULL|NULL|1".to_string()),
        "a customer without segments is counted: {incremental:?}"
    );
    refresh_all(&mut store).unwrap();
    assert_eq!(incremental, rollup(&store));
}

#[test]
fn customer_segment_values_are_those_of_the_customers_after_a_move() {
    let dir = tempfile::tempdir().unwrap();
    let store = two_imports(dir.path());
    for column in ["channel", "plan", "region"] {
        assert_eq!(
            store
                .segment_values(&SegmentSource::Customers(column))
                .unwrap(),
            distinct(&store, column),
            "{column}"
        );
    }
    assert_eq!(
        store
            .segment_values(&SegmentSource::Customers("channel"))
            .unwrap(),
        ["organic", "paid"]
    );
}

#[test]
fn an_empty_store_has_no_signups_and_no_customer_segment_values() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("s.db")).unwrap();
    assert!(rollup(&store).is_empty());
    assert!(
        store
            .segment_values(&SegmentSource::Customers("plan"))
            .unwrap()
            .is_empty()
    );
}

#[test]
fn new_customers_by_channel_count_a_moved_customer_in_its_new_channel_and_day() {
    let dir = tempfile::tempdir().unwrap();
    let store = two_imports(dir.path());
    let config = Config::default();
    let as_of = NaiveDate::from_ymd_opt(2025, 3, 31).unwrap();
    let engine = Engine::new(&store, &config, as_of);
    let request = SeriesRequest {
        metric: "new_customers",
        grain: Grain::Day,
        from: NaiveDate::from_ymd_opt(2025, 3, 1).unwrap(),
        to: NaiveDate::from_ymd_opt(2025, 3, 10).unwrap(),
        by: Some("channel"),
    };
    let by_channel: Vec<(String, Vec<f64>)> = engine
        .series(&request)
        .unwrap()
        .into_iter()
        .map(|s| {
            (
                s.segment.unwrap().value,
                s.points.iter().map(|p| p.value.unwrap_or(-1.0)).collect(),
            )
        })
        .collect();
    let day = |counts: &[(usize, f64)]| {
        let mut days = vec![0.0; 10];
        for (i, n) in counts {
            days[*i] = *n;
        }
        days
    };
    assert_eq!(
        by_channel,
        [
            ("organic".to_string(), day(&[(0, 1.0), (1, 1.0)])),
            ("paid".to_string(), day(&[(4, 1.0), (9, 1.0)])),
        ]
    );
    let overall = engine
        .series(&SeriesRequest {
            by: None,
            ..request
        })
        .unwrap();
    let overall: Vec<f64> = overall[0]
        .points
        .iter()
        .map(|p| p.value.unwrap_or(-1.0))
        .collect();
    assert_eq!(overall, day(&[(0, 1.0), (1, 1.0), (4, 2.0), (9, 1.0)]));
}
