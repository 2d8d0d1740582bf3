//! The alerts' rollup reads (`alerts::rollup_series`) give exactly what the general metric
//! engine gives — every segment series, and so every alert (metric, segment, period,
//! value, baseline, tier, direction, contributions) — and re-evaluating after a live
//! import equals evaluating afresh.
#![allow(clippy::unwrap_used)]

use std::path::Path;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use kpi::alerts::rollup_series::RollupSeries;
use kpi::alerts::{self, Evaluation, SegmentDays, Since};
use kpi::config::Config;
use kpi::import::{ImportOptions, import_file};
use kpi::metrics::{self, Engine, Grain, SeriesRequest};
use kpi::store::Store;
use kpi::store::rollup::Touched;

const COVERED: [&str; 32] = [
    "gross_revenue",
    "net_revenue",
    "orders",
    "aov",
    "discount_rate",
    "paying_customers",
    "repeat_purchase_rate",
    "dau",
    "wau",
    "mau",
    "stickiness_pct",
    "sessions_per_user",
    "new_customers",
    "active_customers",
    "customer_churn_pct",
    "retention_rate_pct",
    "mrr",
    "arr",
    "mrr_new",
    "mrr_expansion",
    "mrr_contraction",
    "mrr_churned",
    "mrr_reactivation",
    "mrr_net_new",
    "arpa",
    "revenue_churn_pct",
    "nrr_pct",
    "nps",
    "csat_pct",
    "csat_mean",
    "ces",
    "clv",
];

fn demo_store(dir: &Path) -> (Store, Config, NaiveDate) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let db = dir.join("sample.db");
    std::fs::copy(root.join("sample.db"), &db).unwrap();
    let config = Config::load(&root.join("kpi.toml")).unwrap();
    let store = Store::open(&db).unwrap();
    let as_of = metrics::reference_date(&store).unwrap().unwrap();
    (store, config, as_of)
}

/// Long after every date of the data: no day of it is still being written.
fn later() -> DateTime<Utc> {
    "2030-01-01T00:00:00Z".parse().unwrap()
}

/// Every covered metric by every dimension at every grain, from several starts: the
/// rollup reads equal the engine's series.
fn assert_series_equal(store: &Store, config: &Config, as_of: NaiveDate) {
    let engine = Engine::new(store, config, as_of);
    let mut days = SegmentDays::default();
    let mut fast = RollupSeries::new(&engine, &mut days);
    let mut compared = 0;
    for metric in COVERED {
        for grain in Grain::ALL {
            // The totals too: the subscription book's come from its rollups per segment.
            for by in [
                None,
                Some("channel"),
                Some("plan"),
                Some("region"),
                Some("attributes"),
            ] {
                if metric == "clv" && by.is_some() {
                    // No breakdown: its total comes from the subscription rollups.
                    continue;
                }
                for back in [3, 40, 200, 420] {
                    let request = SeriesRequest {
                        metric,
                        grain,
                        from: as_of - Duration::days(back),
                        to: as_of,
                        by,
                    };
                    let expected = engine.series(&request).unwrap();
                    let got = fast.series(&request).unwrap();
                    assert_eq!(
                        got, expected,
                        "{metric} {grain} by {by:?} from {back} days back"
                    );
                    compared += expected.len();
                }
            }
        }
    }
    assert!(compared > 1_000, "only {compared} series compared");
}

#[test]
fn rollup_reads_give_the_engines_segment_series_on_the_demo_store() {
    let dir = tempfile::tempdir().unwrap();
    let (store, config, as_of) = demo_store(dir.path());
    assert_series_equal(&store, &config, as_of);
    // Looking back: rows after the reference date exist and must be left out as the
    // engine leaves them out (or counted where it counts them).
    assert_series_equal(&store, &config, as_of - Duration::days(45));
}

fn assert_same_alerts(fast: &Evaluation, engine: &Evaluation) {
    let keys = |e: &Evaluation| e.alerts.iter().map(|a| a.key.clone()).collect::<Vec<_>>();
    assert_eq!(keys(fast), keys(engine));
    assert_eq!(fast, engine);
}

#[test]
fn the_rollup_evaluation_raises_exactly_the_engines_alerts_on_the_demo_store() {
    let dir = tempfile::tempdir().unwrap();
    let (store, config, as_of) = demo_store(dir.path());
    let catalog = metrics::catalog(&store).unwrap();
    for as_of in [
        as_of,
        as_of - Duration::days(17),
        as_of - Duration::days(75),
    ] {
        let engine =
            alerts::evaluate_through_engine(&store, &config, as_of, &catalog, later()).unwrap();
        let fast = alerts::evaluate_at(
            &store,
            &config,
            as_of,
            &catalog,
            later(),
            None,
            &mut SegmentDays::default(),
        )
        .unwrap();
        assert!(
            engine.alerts.iter().any(|a| a.segment.is_some()),
            "the demo raises segment alerts as of {as_of}"
        );
        assert_same_alerts(&fast, &engine);
    }
}

/// A store of generated orders and events whose segments move by `seed`-dependent
/// amounts in its last weeks, so that segments alert.
fn generated_store(dir: &Path, seed: u64) -> (Store, Config, NaiveDate) {
    let mut rng = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
    let mut next = move |n: u64| {
        rng = rng
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (rng >> 33) % n
    };
    let channels = ["ads", "seo", "email", "social"];
    let plans = ["basic", "pro", "team"];
    let regions = ["eu", "us", "apac"];
    let start = NaiveDate::from_ymd_opt(2025, 1, 1).unwrap();
    let days = 200;
    let mut customers = String::from("customer_id,signup_date,channel,plan,region\n");
    for c in 0..300 {
        customers.push_str(&format!(
            "c{c},{},{},{},{}\n",
            start,
            channels[next(4) as usize],
            if next(10) == 0 {
                ""
            } else {
                plans[next(3) as usize]
            },
            regions[next(3) as usize],
        ));
    }
    let moved = channels[next(4) as usize];
    let factor = [0.5, 0.8, 1.15, 1.6][next(4) as usize];
    let mut orders =
        String::from("order_id,customer_id,order_date,revenue,status,channel,discount\n");
    let mut refunds = String::from("refund_id,order_id,refund_date,amount\n");
    let mut events = String::from("event_id,user_id,ts,name,session_id\n");
    let mut id = 0;
    for d in 0..days {
        let day = start + Duration::days(d);
        for _ in 0..(20 + next(15)) {
            id += 1;
            let channel = channels[next(4) as usize];
            let mut revenue = 20.0 + next(80) as f64;
            if d >= days - 21 && channel == moved {
                revenue *= factor;
            }
            let status = if next(30) == 0 {
                "cancelled"
            } else {
                "completed"
            };
            // Customers beyond the customers file have no segment of their own.
            let customer = next(320);
            orders.push_str(&format!(
                "o{id},c{customer},{day},{revenue:.2},{status},{channel},{}.{:02}\n",
                next(5),
                next(100)
            ));
            if next(25) == 0 {
                let refund_day =
                    (day + Duration::days(next(9) as i64)).min(start + Duration::days(days - 1));
                refunds.push_str(&format!("r{id},o{id},{refund_day},{:.2}\n", revenue / 3.0));
            }
        }
        for e in 0..(40 + next(30)) {
            let user = next(330);
            events.push_str(&format!(
                "e{d}-{e},c{user},{day}T{:02}:00:00Z,session_start,s{user}-{d}-{}\n",
                next(24),
                next(2)
            ));
        }
    }
    // Odd seeds add subscriptions: activity then comes from them, and MRR moves. Some
    // customers hold two at once (expansions), some have no customer row.
    let mut subscriptions =
        String::from("subscription_id,customer_id,mrr,start_date,end_date,plan\n");
    if seed % 2 == 1 {
        for s in 0..400 {
            let begins = start + Duration::days(next(days as u64) as i64);
            let ends = if next(3) == 0 {
                (begins + Duration::days(1 + next(90) as i64)).to_string()
            } else {
                String::new()
            };
            let plan = if next(8) == 0 {
                ""
            } else {
                plans[next(3) as usize]
            };
            subscriptions.push_str(&format!(
                "s{s},c{},{}.{:02},{begins},{ends},{plan}\n",
                next(320),
                9 + next(90),
                next(100)
            ));
        }
    }
    let mut files = vec![
        ("customers.csv", customers),
        ("orders.csv", orders),
        ("refunds.csv", refunds),
        ("events.csv", events),
    ];
    if seed % 2 == 1 {
        files.push(("subscriptions.csv", subscriptions));
    }
    // Survey responses, a few from customers without a customer row.
    let mut surveys = String::from("response_id,date,kind,score,customer_id\n");
    for r in 0..900 {
        let (kind, most) = [("nps", 11), ("csat", 5), ("ces", 7)][next(3) as usize];
        surveys.push_str(&format!(
            "q{r},{},{kind},{},c{}\n",
            start + Duration::days(next(days as u64) as i64),
            next(most) + u64::from(kind != "nps"),
            next(320)
        ));
    }
    files.push(("surveys.csv", surveys));
    let mut store = Store::open(&dir.join("generated.db")).unwrap();
    let config = Config::default();
    let options = ImportOptions {
        config: config.clone(),
        ..ImportOptions::default()
    };
    for (name, text) in files {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        let report = import_file(&mut store, &path, &options).unwrap();
        assert_eq!(report.rows_rejected, 0, "{name}");
    }
    let as_of = metrics::reference_date(&store).unwrap().unwrap();
    (store, config, as_of)
}

#[test]
fn rollup_reads_equal_the_engine_on_generated_stores() {
    for seed in 0..4 {
        let dir = tempfile::tempdir().unwrap();
        let (store, config, as_of) = generated_store(dir.path(), seed);
        assert_series_equal(&store, &config, as_of);
        assert_series_equal(&store, &config, as_of - Duration::days(30));
        let catalog = metrics::catalog(&store).unwrap();
        let engine =
            alerts::evaluate_through_engine(&store, &config, as_of, &catalog, later()).unwrap();
        let fast = alerts::evaluate_at(
            &store,
            &config,
            as_of,
            &catalog,
            later(),
            None,
            &mut SegmentDays::default(),
        )
        .unwrap();
        assert_same_alerts(&fast, &engine);
    }
}

/// After an import that wrote `touched`: the live re-evaluation from `before` with the
/// kept `days`, and a fresh full evaluation of the same store.
fn reevaluate_and_evaluate_afresh(
    store: &Store,
    config: &Config,
    as_of: NaiveDate,
    before: &Evaluation,
    touched: &Touched,
    days: &mut SegmentDays,
) -> (Evaluation, Evaluation) {
    let catalog = metrics::catalog(store).unwrap();
    days.forget(store, touched).unwrap();
    let since = Since {
        previous: before,
        touched,
    };
    let incremental =
        alerts::evaluate_at(store, config, as_of, &catalog, later(), Some(since), days).unwrap();
    let full = alerts::evaluate_at(
        store,
        config,
        as_of,
        &catalog,
        later(),
        None,
        &mut SegmentDays::default(),
    )
    .unwrap();
    (incremental, full)
}

#[test]
fn reevaluating_after_an_append_equals_a_full_evaluation() {
    let dir = tempfile::tempdir().unwrap();
    let (mut store, config, as_of) = demo_store(dir.path());
    let catalog = metrics::catalog(&store).unwrap();
    let mut days = SegmentDays::default();
    let before =
        alerts::evaluate_at(&store, &config, as_of, &catalog, later(), None, &mut days).unwrap();

    // A burst of paid-search orders on the reference day, a refund of an older order and
    // events of known customers: the day's alerts, sums and distinct counts all move.
    let (customers, old_order): (Vec<String>, String) = {
        let conn = store.conn();
        let customers = conn
            .prepare("SELECT customer_id FROM customers ORDER BY customer_id LIMIT 200")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        let order = conn
            .query_row(
                "SELECT order_id FROM orders WHERE status = 'completed' AND order_date < ?1 LIMIT 1",
                [(as_of - Duration::days(3)).to_string()],
                |r| r.get(0),
            )
            .unwrap();
        (customers, order)
    };
    let mut orders = String::from("order_id,customer_id,order_date,revenue,channel\n");
    let mut events = String::from("event_id,user_id,ts,name,session_id\n");
    for k in 0..1_000 {
        let customer = &customers[k % customers.len()];
        orders.push_str(&format!(
            "live-{k},{customer},{as_of},{}.{:02},paid_search\n",
            40 + k % 90,
            k % 100
        ));
        events.push_str(&format!(
            "live-e{k},{customer},{as_of}T10:{:02}:00Z,session_start,live-s{k}\n",
            k % 60
        ));
    }
    let refunds =
        format!("refund_id,order_id,refund_date,amount\nlive-r,{old_order},{as_of},500\n");
    let options = ImportOptions {
        config: config.clone(),
        ..ImportOptions::default()
    };
    let mut written = kpi::store::rollup::Touched::default();
    for (name, text) in [
        ("orders_live.csv", orders),
        ("events_live.csv", events),
        ("refunds_live.csv", refunds),
    ] {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        let report = import_file(&mut store, &path, &options).unwrap();
        assert_eq!(report.rows_rejected, 0, "{name}");
        written.merge(&report.touched);
    }

    let (incremental, full) =
        reevaluate_and_evaluate_afresh(&store, &config, as_of, &before, &written, &mut days);
    let engine =
        alerts::evaluate_through_engine(&store, &config, as_of, &catalog, later()).unwrap();
    assert_ne!(before, full, "the append changes the evaluation");
    assert_same_alerts(&incremental, &full);
    assert_same_alerts(&full, &engine);
}

#[test]
fn reevaluating_after_a_subscriptions_import_reads_the_book_again() {
    let dir = tempfile::tempdir().unwrap();
    let (mut store, config, as_of) = demo_store(dir.path());
    let catalog = metrics::catalog(&store).unwrap();
    let mut days = SegmentDays::default();
    let before =
        alerts::evaluate_at(&store, &config, as_of, &catalog, later(), None, &mut days).unwrap();

    // Large new subscriptions of known customers in the last weeks: MRR, its movements,
    // active customers and churn of every segment move.
    let customers: Vec<String> = store
        .conn()
        .prepare("SELECT customer_id FROM customers ORDER BY customer_id LIMIT 300")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let mut subscriptions =
        String::from("subscription_id,customer_id,mrr,start_date,end_date,plan\n");
    for (k, customer) in customers.iter().enumerate() {
        subscriptions.push_str(&format!(
            "live-s{k},{customer},{}.00,{},,business\n",
            300 + k % 200,
            as_of - Duration::days(3 + (k % 20) as i64)
        ));
    }
    let path = dir.path().join("subscriptions_live.csv");
    std::fs::write(&path, subscriptions).unwrap();
    let options = ImportOptions {
        config: config.clone(),
        ..ImportOptions::default()
    };
    let report = import_file(&mut store, &path, &options).unwrap();
    assert_eq!(report.rows_rejected, 0);

    let (incremental, full) =
        reevaluate_and_evaluate_afresh(&store, &config, as_of, &before, &report.touched, &mut days);
    assert_ne!(before, full, "the import changes the evaluation");
    assert_same_alerts(&incremental, &full);
}

/// The repeat purchase rate kept between evaluations takes out and adds back only the
/// written customers' share: after appended orders, an order moved to another customer,
/// day and channel, and a channel never seen before, its series by every dimension equal
/// the engine's on the changed store.
#[test]
fn repeat_purchase_rate_kept_across_an_orders_import_equals_the_engine() {
    let dir = tempfile::tempdir().unwrap();
    let (mut store, config, as_of) = demo_store(dir.path());
    let requests = |as_of: NaiveDate| {
        let mut out = Vec::new();
        for grain in Grain::ALL {
            for by in ["channel", "plan", "region"] {
                for back in [40, 420] {
                    out.push(SeriesRequest {
                        metric: "repeat_purchase_rate",
                        grain,
                        from: as_of - Duration::days(back),
                        to: as_of,
                        by: Some(by),
                    });
                }
            }
        }
        out
    };
    let mut days = SegmentDays::default();
    let before: Vec<Vec<metrics::Series>> = {
        let engine = Engine::new(&store, &config, as_of);
        let mut fast = RollupSeries::new(&engine, &mut days);
        requests(as_of)
            .iter()
            .map(|r| fast.series(r).unwrap())
            .collect()
    };

    let (customers, moved): (Vec<String>, String) = {
        let conn = store.conn();
        let customers = conn
            .prepare("SELECT customer_id FROM customers ORDER BY customer_id LIMIT 50")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        let order = conn
            .query_row(
                "SELECT order_id FROM orders WHERE status = 'completed' AND order_date < ?1 \
                 ORDER BY order_id LIMIT 1",
                [(as_of - Duration::days(30)).to_string()],
                |r| r.get(0),
            )
            .unwrap();
        (customers, order)
    };
    let mut orders = String::from("order_id,customer_id,order_date,revenue,channel\n");
    for k in 0..300 {
        let customer = &customers[k % customers.len()];
        let day = as_of - Duration::days((k % 5) as i64);
        let channel = if k % 7 == 0 { "podcast" } else { "email" };
        orders.push_str(&format!(
            "rp-{k},{customer},{day},{}.00,{channel}\n",
            30 + k
        ));
    }
    orders.push_str(&format!(
        "{moved},{},{},99.00,podcast\n",
        customers[1],
        as_of - Duration::days(2)
    ));
    let path = dir.path().join("orders_repeat.csv");
    std::fs::write(&path, orders).unwrap();
    let options = ImportOptions {
        config: config.clone(),
        ..ImportOptions::default()
    };
    let report = import_file(&mut store, &path, &options).unwrap();
    assert_eq!(report.rows_rejected, 0);

    days.forget(&store, &report.touched).unwrap();
    let engine = Engine::new(&store, &config, as_of);
    let mut fast = RollupSeries::new(&engine, &mut days);
    let mut changed = 0;
    for (request, before) in requests(as_of).iter().zip(&before) {
        let expected = engine.series(request).unwrap();
        let got = fast.series(request).unwrap();
        assert_eq!(got, expected, "{} by {:?}", request.grain, request.by);
        changed += usize::from(&expected != before);
    }
    assert!(changed > 0, "the import changes the repeat purchase rate");
}

/// Every row of the per-segment rollups, ordered.
fn segment_rollups(store: &Store) -> Vec<String> {
    kpi::store::rollup::dump_tables(store.conn(), &kpi::store::rollup::SEGMENT_TABLES, |x| {
        format!("Real({x:?})")
    })
    .unwrap()
}

#[test]
fn segment_rollups_follow_moved_orders_moved_customers_refunds_and_customers_without_a_row() {
    let dir = tempfile::tempdir().unwrap();
    let (mut store, config, as_of) = generated_store(dir.path(), 0);
    let catalog = metrics::catalog(&store).unwrap();
    let mut days = SegmentDays::default();
    let before =
        alerts::evaluate_at(&store, &config, as_of, &catalog, later(), None, &mut days).unwrap();
    let (o5_customer, o5_plan): (String, Option<String>) = store
        .conn()
        .query_row(
            "SELECT o.customer_id, c.plan FROM orders o
             LEFT JOIN customers c ON c.customer_id = o.customer_id WHERE o.order_id = 'o5'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    let recent = as_of - Duration::days(2);
    let files = [
        // o5 moves to another customer, channel and day; an order of a customer without a
        // customers row; a large order of c1, whose plan moves below.
        (
            "orders_moved.csv",
            format!(
                "order_id,customer_id,order_date,revenue,status,channel,discount\n\
                 o5,c2,{recent},80.00,completed,newsletter,1.00\n\
                 o-none,nobody,{recent},55.00,completed,ads,0\n\
                 o-c1,c1,{as_of},900.00,completed,seo,0\n"
            ),
        ),
        (
            "refunds_moved.csv",
            format!("refund_id,order_id,refund_date,amount\nr-live,o5,{as_of},30.00\n"),
        ),
        // c1 and c2 move to other plans and channels; c315 had orders without a row.
        (
            "customers_moved.csv",
            "customer_id,signup_date,channel,plan,region\n\
             c1,2025-01-01,partner,enterprise,eu\n\
             c2,2025-01-01,ads,team,latam\n\
             c315,2025-01-01,seo,pro,us\n"
                .to_string(),
        ),
    ];
    let options = ImportOptions {
        config: config.clone(),
        ..ImportOptions::default()
    };
    let mut written = Touched::default();
    for (name, text) in files {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        let report = import_file(&mut store, &path, &options).unwrap();
        assert_eq!(report.rows_rejected, 0, "{name}");
        written.merge(&report.touched);
    }
    let plan_of_c1: String = store
        .conn()
        .query_row(
            "SELECT plan FROM customers WHERE customer_id = 'c1'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(plan_of_c1, "enterprise");
    assert_ne!(
        (o5_customer.as_str(), o5_plan.as_deref()),
        ("c2", Some("team"))
    );

    let incremental = segment_rollups(&store);
    assert!(
        incremental
            .iter()
            .any(|r| r.contains("\"plan\"") && r.contains("\"enterprise\"")),
        "c1's orders count under its new plan"
    );
    assert!(
        incremental.iter().any(|r| r.contains("\"newsletter\"")),
        "o5 counts under its new channel"
    );
    let (incremental_eval, full) =
        reevaluate_and_evaluate_afresh(&store, &config, as_of, &before, &written, &mut days);
    let engine =
        alerts::evaluate_through_engine(&store, &config, as_of, &catalog, later()).unwrap();
    assert_same_alerts(&incremental_eval, &full);
    assert_same_alerts(&full, &engine);
    assert_series_equal(&store, &config, as_of);

    kpi::store::rollup::refresh_all(&mut store).unwrap();
    assert_eq!(
        incremental,
        segment_rollups(&store),
        "refreshed and rebuilt"
    );
}
