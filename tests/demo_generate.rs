#![allow(clippy::unwrap_used)]
//! The demo data set: deterministic, consistent across tables, following the data
//! contract, and telling the scenario's story (launch spike, NPS dip, ticket burst,
//! paid-search CAC drift).

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::Path;

use chrono::{Datelike, Days, NaiveDate};
use kpi::demo::scenario::{END_DATE, LAUNCH_DATE};
use kpi::demo::{DemoOptions, generate};
use kpi::store::schema;

type Row = HashMap<String, String>;

fn read_csv(path: &Path) -> (Vec<String>, Vec<Row>) {
    let mut reader = csv::Reader::from_path(path).unwrap();
    let header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
    let rows = reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            header
                .iter()
                .cloned()
                .zip(r.iter().map(String::from))
                .collect()
        })
        .collect();
    (header, rows)
}

fn rows(dir: &Path, file: &str) -> Vec<Row> {
    read_csv(&dir.join(file)).1
}

fn json_rows(values: Vec<serde_json::Value>) -> Vec<Row> {
    values
        .into_iter()
        .map(|v| {
            v.as_object()
                .unwrap()
                .iter()
                .map(|(k, v)| {
                    let text = match v {
                        serde_json::Value::String(s) => s.clone(),
                        other => other.to_string(),
                    };
                    (k.clone(), text)
                })
                .collect()
        })
        .collect()
}

fn events(dir: &Path) -> Vec<Row> {
    let text = std::fs::read_to_string(dir.join("events.ndjson")).unwrap();
    json_rows(
        text.lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect(),
    )
}

fn surveys(dir: &Path) -> Vec<Row> {
    let text = std::fs::read_to_string(dir.join("surveys.json")).unwrap();
    json_rows(serde_json::from_str(&text).unwrap())
}

fn date(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(&s[..10], "%Y-%m-%d").unwrap()
}

fn monday(d: NaiveDate) -> NaiveDate {
    d - Days::new(u64::from(d.weekday().num_days_from_monday()))
}

/// The four launch weeks W1…W4 and the eight weeks before them, as Mondays.
fn launch_weeks() -> (Vec<NaiveDate>, Vec<NaiveDate>) {
    let launch: Vec<_> = (0..4).map(|w| LAUNCH_DATE + Days::new(7 * w)).collect();
    let before: Vec<_> = (1..=8).map(|w| LAUNCH_DATE - Days::new(7 * w)).collect();
    (launch, before)
}

fn mean(values: &[f64]) -> f64 {
    values.iter().sum::<f64>() / values.len() as f64
}

fn default_data() -> &'static Path {
    static DIR: std::sync::OnceLock<tempfile::TempDir> = std::sync::OnceLock::new();
    DIR.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        generate(dir.path(), &DemoOptions::default()).unwrap();
        dir
    })
    .path()
}

fn dir_bytes(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect()
}

#[test]
fn same_seed_gives_byte_identical_files_and_another_seed_differs() {
    let small = |seed| DemoOptions {
        seed,
        customers: 300,
        months: 6,
    };
    let (a, b, c) = (
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
    );
    generate(a.path(), &small(7)).unwrap();
    generate(b.path(), &small(7)).unwrap();
    generate(c.path(), &small(8)).unwrap();
    let (a, b, c) = (
        dir_bytes(a.path()),
        dir_bytes(b.path()),
        dir_bytes(c.path()),
    );
    assert_eq!(
        a.len(),
        14,
        "one file per table, and a legacy one: {:?}",
        a.keys()
    );
    assert_eq!(a, b);
    for (file, bytes) in &a {
        if file != "annotations.csv" && file != "orders_legacy.csv" {
            assert_ne!(bytes, &c[file], "{file} does not depend on the seed");
        }
    }
}

#[test]
fn every_table_has_a_file_with_the_contract_header() {
    let dir = default_data();
    for table in schema::TABLES {
        let expected: Vec<&str> = table.columns.iter().map(|c| c.name).collect();
        let csv_path = dir.join(format!("{}.csv", table.name));
        if csv_path.exists() {
            let (header, rows) = read_csv(&csv_path);
            assert_eq!(
                &header[..expected.len()],
                expected.as_slice(),
                "{}",
                table.name
            );
            assert!(!rows.is_empty(), "{} is empty", table.name);
        } else {
            let rows = match table.name {
                "events" => events(dir),
                "surveys" => surveys(dir),
                other => panic!("no file for table {other}"),
            };
            assert!(!rows.is_empty());
            for column in table.columns.iter().filter(|c| c.required) {
                assert!(
                    rows.iter().all(|r| r.contains_key(column.name)),
                    "{}.{}",
                    table.name,
                    column.name
                );
            }
            for key in rows[0].keys() {
                assert!(
                    table.column(key).is_some(),
                    "{}: unknown column {key}",
                    table.name
                );
            }
        }
    }
}

#[test]
fn values_follow_the_data_contract() {
    let dir = default_data();
    let money = |s: &str| {
        let (whole, cents) = s.split_once('.').unwrap_or(("", ""));
        !whole.is_empty() && whole.bytes().all(|b| b.is_ascii_digit()) && cents.len() == 2
    };
    for o in rows(dir, "orders.csv") {
        for col in ["revenue", "discount", "cost"] {
            assert!(money(&o[col]), "orders.{col} {:?}", o[col]);
        }
        assert!(["completed", "cancelled", "pending"].contains(&o["status"].as_str()));
        assert!(date(&o["order_date"]) <= END_DATE);
    }
    for t in rows(dir, "tickets.csv") {
        for col in ["opened_at", "first_response_at", "resolved_at"] {
            let v = &t[col];
            if !v.is_empty() {
                chrono::DateTime::parse_from_rfc3339(v).unwrap();
            }
        }
    }
    for e in events(dir) {
        assert!(e["ts"].ends_with('Z'));
        chrono::DateTime::parse_from_rfc3339(&e["ts"]).unwrap();
    }
    for s in surveys(dir) {
        let score: f64 = s["score"].parse().unwrap();
        let range = match s["kind"].as_str() {
            "nps" => 0.0..=10.0,
            "csat" => 1.0..=5.0,
            "ces" => 1.0..=7.0,
            other => panic!("kind {other}"),
        };
        assert!(range.contains(&score), "{s:?}");
    }
}

#[test]
fn the_tables_refer_to_each_other() {
    let dir = default_data();
    let customers = rows(dir, "customers.csv");
    let signup: HashMap<String, NaiveDate> = customers
        .iter()
        .map(|c| (c["customer_id"].clone(), date(&c["signup_date"])))
        .collect();
    assert_eq!(signup.len(), customers.len(), "customer ids are unique");
    let orders = rows(dir, "orders.csv");
    let mut order_dates = HashMap::new();
    for o in &orders {
        let since = signup[&o["customer_id"]];
        assert!(
            date(&o["order_date"]) >= since,
            "order before signup: {o:?}"
        );
        order_dates.insert(
            o["order_id"].clone(),
            (
                date(&o["order_date"]),
                o["status"].clone(),
                o["revenue"].parse::<f64>().unwrap(),
            ),
        );
    }
    for r in rows(dir, "refunds.csv") {
        let (ordered, status, revenue) = &order_dates[&r["order_id"]];
        assert!(date(&r["refund_date"]) > *ordered);
        assert_eq!(status, "completed");
        assert!(r["amount"].parse::<f64>().unwrap() <= *revenue);
    }
    for s in rows(dir, "subscriptions.csv") {
        assert!(date(&s["start_date"]) >= signup[&s["customer_id"]]);
        if !s["end_date"].is_empty() {
            assert!(date(&s["end_date"]) >= date(&s["start_date"]));
        }
    }
    for e in events(dir) {
        assert!(
            date(&e["ts"]) >= signup[&e["user_id"]],
            "event before signup: {e:?}"
        );
    }
    for s in surveys(dir) {
        assert!(signup.contains_key(&s["customer_id"]));
    }
    for t in rows(dir, "tickets.csv") {
        assert!(signup.contains_key(&t["customer_id"]));
    }
    // Spend goes to channels that customers come from, and the funnel converts exactly
    // the customers who signed up.
    let channels: HashSet<&str> = customers.iter().map(|c| c["channel"].as_str()).collect();
    for s in rows(dir, "spend.csv") {
        assert!(channels.contains(s["channel"].as_str()));
    }
    let conversions: u64 = rows(dir, "funnel.csv")
        .iter()
        .map(|f| f["conversions"].parse::<u64>().unwrap())
        .sum();
    assert_eq!(conversions, customers.len() as u64);
}

#[test]
fn every_metric_family_has_its_raw_material() {
    let dir = default_data();
    let events = events(dir);
    let names: BTreeSet<&str> = events.iter().map(|e| e["name"].as_str()).collect();
    for name in ["session_start", "page_view", "feature_used", "activated"] {
        assert!(names.contains(name), "no {name} events");
    }
    assert!(
        events
            .iter()
            .any(|e| e.get("feature").is_some_and(|f| f == "ai_assistant"))
    );
    assert!(events.iter().any(|e| e.contains_key("duration_s")));
    let kinds: BTreeSet<String> = surveys(dir).iter().map(|s| s["kind"].clone()).collect();
    assert_eq!(kinds.len(), 3);
    // Subscriptions: upgrades, downgrades, churn and reactivation.
    let subs = rows(dir, "subscriptions.csv");
    let mut by_customer: BTreeMap<&str, Vec<&Row>> = BTreeMap::new();
    for s in &subs {
        by_customer.entry(&s["customer_id"]).or_default().push(s);
    }
    let (mut up, mut down, mut back) = (0, 0, 0);
    for history in by_customer.values() {
        for pair in history.windows(2) {
            let (a, b) = (pair[0], pair[1]);
            let (ma, mb): (f64, f64) = (a["mrr"].parse().unwrap(), b["mrr"].parse().unwrap());
            if a["end_date"] == b["start_date"] {
                if mb > ma {
                    up += 1
                } else if mb < ma {
                    down += 1
                }
            } else {
                back += 1;
            }
        }
    }
    let churned = subs.iter().filter(|s| !s["end_date"].is_empty()).count();
    assert!(
        up > 10 && down > 5 && back > 10 && churned > 200,
        "up {up} down {down} back {back} churned {churned}"
    );
    let statuses: BTreeSet<String> = rows(dir, "orders.csv")
        .iter()
        .map(|o| o["status"].clone())
        .collect();
    assert_eq!(statuses.len(), 3);
    let found: BTreeSet<String> = rows(dir, "work_items.csv")
        .iter()
        .map(|w| w["found"].clone())
        .collect();
    assert!(found.contains("production") && found.contains("pre_release"));
}

#[test]
fn default_size_fits_the_sample_store_budget() {
    let dir = default_data();
    let orders = rows(dir, "orders.csv").len();
    let events = events(dir).len();
    assert!((15_000..=40_000).contains(&orders), "{orders} orders");
    assert!((40_000..=120_000).contains(&events), "{events} events");
    let customers = rows(dir, "customers.csv").len();
    assert!(customers.abs_diff(2_000) <= 5, "{customers} customers");
}

/// Weekly values of the four launch weeks and the mean of the eight weeks before.
fn weekly<F: Fn(&[&Row]) -> f64>(rows: &[Row], date_col: &str, value: F) -> (Vec<f64>, f64) {
    let mut by_week: BTreeMap<NaiveDate, Vec<&Row>> = BTreeMap::new();
    for r in rows {
        by_week
            .entry(monday(date(&r[date_col])))
            .or_default()
            .push(r);
    }
    let (launch, before) = launch_weeks();
    let at = |w: &NaiveDate| value(by_week.get(w).map_or(&[][..], |v| v.as_slice()));
    let before: Vec<f64> = before.iter().map(at).collect();
    (launch.iter().map(at).collect(), mean(&before))
}

/// The deviation the alert rule computes for the latest week: against the mean of the
/// previous three.
fn latest_vs_previous_three(w: &[f64]) -> f64 {
    (w[3] - mean(&w[..3])) / mean(&w[..3]).abs()
}

#[test]
fn the_launch_story_is_in_the_files() {
    let dir = default_data();
    let count = |r: &[&Row]| r.len() as f64;

    let (signups, before) = weekly(&rows(dir, "customers.csv"), "signup_date", count);
    assert!(
        signups.iter().all(|w| *w > before * 1.15),
        "signups {signups:?} vs {before}"
    );
    assert!(
        latest_vs_previous_three(&signups) > 0.12,
        "signup spike {signups:?}"
    );

    let sessions: Vec<Row> = events(dir)
        .into_iter()
        .filter(|e| e["name"] == "session_start")
        .collect();
    let (sessions, before) = weekly(&sessions, "ts", count);
    assert!(
        sessions.iter().all(|w| *w > before * 1.15),
        "sessions {sessions:?} vs {before}"
    );

    let survey_rows = surveys(dir);
    let nps_rows: Vec<Row> = survey_rows
        .iter()
        .filter(|s| s["kind"] == "nps")
        .cloned()
        .collect();
    let nps = |r: &[&Row]| {
        let score = |s: &&Row| s["score"].parse::<f64>().unwrap();
        let promoters = r.iter().filter(|s| score(s) >= 9.0).count() as f64;
        let detractors = r.iter().filter(|s| score(s) <= 6.0).count() as f64;
        100.0 * (promoters - detractors) / r.len() as f64
    };
    let (weeks, before) = weekly(&nps_rows, "date", nps);
    assert!(mean(&weeks) < before - 5.0, "nps {weeks:?} vs {before}");
    assert!(
        latest_vs_previous_three(&weeks) < -0.12,
        "nps drop {weeks:?}"
    );

    let (tickets, before) = weekly(&rows(dir, "tickets.csv"), "opened_at", count);
    assert!(
        tickets.iter().all(|w| *w > before * 1.3),
        "tickets {tickets:?} vs {before}"
    );
    assert!(
        latest_vs_previous_three(&tickets) > 0.12,
        "ticket burst {tickets:?}"
    );

    let csat_rows: Vec<Row> = survey_rows
        .iter()
        .filter(|s| s["kind"] == "csat")
        .cloned()
        .collect();
    let satisfied = |r: &[&Row]| {
        let happy = r
            .iter()
            .filter(|s| s["score"].parse::<f64>().unwrap() >= 4.0)
            .count();
        100.0 * happy as f64 / r.len() as f64
    };
    let (csat, before) = weekly(&csat_rows, "date", satisfied);
    assert!(csat[3] < before - 5.0, "csat {csat:?} vs {before}");

    // Bugs escape to production after the launch: defect detection falls.
    let bugs: Vec<Row> = rows(dir, "work_items.csv")
        .into_iter()
        .filter(|w| w["kind"] == "bug")
        .collect();
    let production_share = |since: NaiveDate, until: NaiveDate| {
        let found: Vec<&Row> = bugs
            .iter()
            .filter(|b| (since..until).contains(&date(&b["created_date"])))
            .collect();
        found.iter().filter(|b| b["found"] == "production").count() as f64 / found.len() as f64
    };
    let after = production_share(LAUNCH_DATE, END_DATE + Days::new(1));
    let earlier = production_share(LAUNCH_DATE - Days::new(180), LAUNCH_DATE - Days::new(14));
    assert!(
        after > earlier + 0.2,
        "production bugs {after} after launch vs {earlier}"
    );

    let completed: Vec<Row> = rows(dir, "orders.csv")
        .into_iter()
        .filter(|o| o["status"] == "completed")
        .collect();
    let aov = |r: &[&Row]| {
        r.iter()
            .map(|o| o["revenue"].parse::<f64>().unwrap())
            .sum::<f64>()
            / r.len() as f64
    };
    let (aov, _) = weekly(&completed, "order_date", aov);
    let change = latest_vs_previous_three(&aov);
    assert!(
        (-0.12..=-0.05).contains(&change),
        "mild AOV dip {aov:?}: {change}"
    );
}

#[test]
fn paid_search_cac_drifts_up_while_paid_social_holds() {
    let dir = default_data();
    let customers = rows(dir, "customers.csv");
    let spend = rows(dir, "spend.csv");
    let cac = |channel: &str, month: &str| {
        let spent: f64 = spend
            .iter()
            .filter(|s| s["channel"] == channel && s["date"].starts_with(month))
            .map(|s| s["amount"].parse::<f64>().unwrap())
            .sum();
        let new = customers
            .iter()
            .filter(|c| c["channel"] == channel && c["signup_date"].starts_with(month))
            .count();
        spent / new as f64
    };
    let search: Vec<f64> = ["2026-07", "2026-08", "2026-09", "2026-10"]
        .iter()
        .map(|m| cac("paid_search", m))
        .collect();
    let drift = (search[3] - mean(&search[..3])) / mean(&search[..3]);
    assert!(drift > 0.08, "paid_search CAC {search:?}");
    assert!(cac("paid_search", "2026-10") > cac("paid_search", "2026-03") * 1.3);
    let social: Vec<f64> = ["2026-07", "2026-08", "2026-09", "2026-10"]
        .iter()
        .map(|m| cac("paid_social", m))
        .collect();
    let drift = (social[3] - mean(&social[..3])) / mean(&social[..3]);
    assert!(drift.abs() < 0.1, "paid_social CAC {social:?}");
}

#[test]
fn revenue_and_mrr_grow_with_a_holiday_season() {
    let dir = default_data();
    let mut by_month: BTreeMap<String, f64> = BTreeMap::new();
    for o in rows(dir, "orders.csv")
        .iter()
        .filter(|o| o["status"] == "completed")
    {
        *by_month
            .entry(o["order_date"][..7].to_string())
            .or_default() += o["revenue"].parse::<f64>().unwrap();
    }
    assert!(
        by_month["2026-10"] > by_month["2025-10"] * 1.5,
        "{by_month:?}"
    );
    assert!(
        by_month["2025-12"] > by_month["2025-10"] * 1.2,
        "holiday peak {by_month:?}"
    );
    assert!(
        by_month["2026-01"] < by_month["2025-12"],
        "January dip {by_month:?}"
    );
    let subs = rows(dir, "subscriptions.csv");
    let mrr = |day: NaiveDate| -> f64 {
        subs.iter()
            .filter(|s| {
                date(&s["start_date"]) <= day
                    && (s["end_date"].is_empty() || date(&s["end_date"]) > day)
            })
            .map(|s| s["mrr"].parse::<f64>().unwrap())
            .sum()
    };
    let points: Vec<f64> = [(2025, 5), (2025, 11), (2026, 5), (2026, 11)]
        .iter()
        .map(|&(y, m)| mrr(NaiveDate::from_ymd_opt(y, m, 1).unwrap()))
        .collect();
    assert!(
        points.windows(2).all(|w| w[1] > w[0] * 1.1),
        "mrr {points:?}"
    );
}

#[test]
fn cohorts_retain_like_real_ones() {
    let dir = default_data();
    let month_index = |d: NaiveDate| d.year() * 12 + d.month0() as i32;
    // The cohorts of January to October 2025, pooled: their users' signup month.
    let cohort: HashMap<String, i32> = rows(dir, "customers.csv")
        .iter()
        .map(|c| (c["customer_id"].clone(), date(&c["signup_date"])))
        .filter(|(_, d)| d.year() == 2025 && d.month() <= 10)
        .map(|(id, d)| (id, month_index(d)))
        .collect();
    // Users active (any event) k months after their signup month.
    let mut active: BTreeMap<i32, HashSet<String>> = BTreeMap::new();
    for e in events(dir) {
        if let Some(signed_up) = cohort.get(&e["user_id"]) {
            let k = month_index(date(&e["ts"])) - signed_up;
            active.entry(k).or_default().insert(e["user_id"].clone());
        }
    }
    let share = |k: i32| active.get(&k).map_or(0.0, |s| s.len() as f64) / cohort.len() as f64;
    let curve: Vec<f64> = [0, 1, 3, 6, 12].into_iter().map(share).collect();
    assert!(curve.windows(2).all(|w| w[1] < w[0]), "{curve:?}");
    // Steep first, then flattening: the first month loses more than months 6 to 12.
    assert!(curve[0] - curve[1] > curve[3] - curve[4], "{curve:?}");
    assert!(curve[4] > 0.05, "a tail of loyal users remains: {curve:?}");
}

#[test]
fn the_legacy_export_carries_three_bad_rows_for_the_rejects_view() {
    let dir = default_data();
    let customers: HashSet<String> = rows(dir, "customers.csv")
        .iter()
        .map(|c| c["customer_id"].clone())
        .collect();
    let legacy = rows(dir, "orders_legacy.csv");
    let bad: Vec<&Row> = legacy
        .iter()
        .filter(|o| {
            NaiveDate::parse_from_str(&o["order_date"], "%Y-%m-%d").is_err()
                || o["revenue"].parse::<f64>().map_or(true, |r| r < 0.0)
        })
        .collect();
    assert_eq!(bad.len(), 3, "{bad:?}");
    assert!(legacy.iter().all(|o| customers.contains(&o["customer_id"])));
    assert!(
        legacy.iter().all(|o| o["order_id"].starts_with("LEG-")),
        "no clash with orders.csv"
    );
}

#[test]
fn discounts_move_with_campaigns() {
    let dir = default_data();
    let rate = |from: &str, to: &str| {
        let (mut discount, mut revenue) = (0.0, 0.0);
        for o in rows(dir, "orders.csv") {
            if o["status"] == "completed"
                && o["order_date"].as_str() >= from
                && o["order_date"].as_str() <= to
            {
                discount += o["discount"].parse::<f64>().unwrap();
                revenue += o["revenue"].parse::<f64>().unwrap();
            }
        }
        discount / (discount + revenue)
    };
    let ordinary = rate("2025-10-01", "2025-10-31");
    assert!(
        rate("2025-11-28", "2025-12-01") > ordinary * 3.0,
        "Black Friday"
    );
    assert!(
        rate("2026-11-09", "2026-11-15") > ordinary * 3.0,
        "launch promo"
    );
}
