//! The reference date is the latest date of any recorded fact, not only of each table's
//! main date (issue 12): a subscriptions export whose last churns end on 2018-09-15 read
//! "data as of 2018-09-01", so September's MRR and churn were those of its first day.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use chrono::NaiveDate;
use kpi::config::Config;
use kpi::store::Store;
use kpi::store::status::fact_date_columns;
use kpi::ui::{Tab, fixture};

fn day(text: &str) -> NaiveDate {
    text.parse().unwrap()
}

fn kpi(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_kpi"))
        .args(args)
        .env_remove("KPI_DB")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "kpi {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Subscriptions started by 2018-09-01; two of them churn on 2018-09-15 and one has a
/// cancellation scheduled far ahead.
fn subscriptions_store(dir: &Path) -> PathBuf {
    let csv = dir.join("subscriptions.csv");
    std::fs::write(
        &csv,
        "subscription_id,customer_id,mrr,start_date,end_date,plan\n\
         s1,c1,100.00,2018-06-01,,pro\n\
         s2,c2,50.00,2018-07-01,2018-09-15,starter\n\
         s3,c3,50.00,2018-08-01,2018-09-15,starter\n\
         s4,c4,200.00,2018-09-01,2099-01-31,business\n",
    )
    .unwrap();
    let db = dir.join("subs.db");
    kpi(&[
        "import",
        "--db",
        db.to_str().unwrap(),
        csv.to_str().unwrap(),
    ]);
    db
}

#[test]
fn subscription_ends_set_the_reference_date_and_scheduled_cancellations_do_not() {
    let dir = tempfile::tempdir().unwrap();
    let db = subscriptions_store(dir.path());
    let store = Store::open(&db).unwrap();
    let reference = kpi::metrics::reference(&store, day("2026-11-30"))
        .unwrap()
        .unwrap();
    assert_eq!(reference.date, day("2018-09-15"));
    assert_eq!(
        (reference.table, reference.column),
        ("subscriptions", "end_date")
    );
    // Read before the churns happened, the clock decides what has happened yet.
    let earlier = kpi::metrics::reference(&store, day("2018-09-10"))
        .unwrap()
        .unwrap();
    assert_eq!(
        (earlier.date, earlier.column),
        (day("2018-09-01"), "start_date")
    );
    assert_eq!(
        kpi::metrics::reference_date(&store).unwrap(),
        Some(day("2018-09-15"))
    );

    // September's MRR is the one after the churns of the 15th, shown to date.
    let json: serde_json::Value = serde_json::from_str(&kpi(&[
        "report",
        "--db",
        db.to_str().unwrap(),
        "--format",
        "json",
        "--metric",
        "mrr",
    ]))
    .unwrap();
    assert_eq!(json["as_of"], "2018-09-15");
    let september = json["metrics"][0]["series"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["period"] == "2018-09")
        .unwrap();
    assert_eq!(september["value"], 300.0, "{september}");
    assert_eq!(september["partial"], true);
    let markdown = kpi(&["report", "--db", db.to_str().unwrap()]);
    assert!(markdown.contains("data as of 2018-09-15"), "{markdown}");
}

#[test]
fn the_data_pane_says_which_table_and_column_set_the_reference_date() {
    let dir = tempfile::tempdir().unwrap();
    let db = subscriptions_store(dir.path());
    let store = Store::open(&db).unwrap();
    let snapshot = kpi::snapshot::build_metrics(&store, &Config::default(), None).unwrap();
    let mut app = fixture::app(snapshot);
    app.tab = Tab::Data;
    let text = common::text(&app, 120, 30);
    assert!(
        text.contains("as of 2018-09-15 (latest subscriptions.end_date)"),
        "{text}"
    );
}

#[test]
fn every_recorded_fact_dates_the_store_but_plans_and_announcements_do_not() {
    let columns = fact_date_columns();
    for fact in [
        ("orders", "order_date"),
        ("customers", "signup_date"),
        ("subscriptions", "start_date"),
        ("subscriptions", "end_date"),
        ("refunds", "refund_date"),
        ("events", "day"),
        ("surveys", "date"),
        ("tickets", "opened_day"),
        ("tickets", "first_response_at"),
        ("tickets", "resolved_at"),
        ("work_items", "created_date"),
        ("work_items", "delivered_date"),
        ("metrics", "date"),
    ] {
        assert!(columns.contains(&fact), "{fact:?} missing from {columns:?}");
    }
    assert!(!columns.contains(&("work_items", "committed_date")));
    assert!(columns.iter().all(|(table, _)| *table != "annotations"));
}

#[test]
fn a_ticket_resolved_after_the_last_opening_moves_the_reference_date() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("tickets.csv");
    std::fs::write(
        &csv,
        "ticket_id,opened_at,first_response_at,resolved_at,severity\n\
         t1,2024-03-01 09:00:00,2024-03-01 10:00:00,2024-03-04 12:00:00,high\n\
         t2,2024-03-02 09:00:00,2024-03-02 09:30:00,,low\n",
    )
    .unwrap();
    let db = dir.path().join("tickets.db");
    kpi(&[
        "import",
        "--db",
        db.to_str().unwrap(),
        csv.to_str().unwrap(),
    ]);
    let store = Store::open(&db).unwrap();
    let reference = kpi::metrics::reference(&store, day("2026-11-30"))
        .unwrap()
        .unwrap();
    assert_eq!(
        (reference.date, reference.table, reference.column),
        (day("2024-03-04"), "tickets", "resolved_at")
    );
}
