//! A synced store (`kpi sync`) holds the rollups and the small tables, never the raw
//! large ones (orders, events). This test hides those two from a store filled by
//! `kpi import` and computes every metric at every grain and breakdown: each read of a
//! raw large table shows up as "no such table", and the list of such reads must be
//! exactly the known ones below — a new metric reading raw rows fails here.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;

use kpi::config::Config;
use kpi::demo::{DemoOptions, generate};
use kpi::import::{ImportOptions, import_file};
use kpi::metrics::{Grain, SeriesRequest, catalog::BUILT_IN, compute};
use kpi::store::Store;

/// The large raw tables a synced store does not hold.
const RAW_LARGE: [&str; 2] = ["orders", "events"];

/// (metric, raw table) reads still open in issue 17: they must move to rollups (or to
/// `ru_table_days`) before a synced store shows these metrics. Most are the "no data yet"
/// check of a metric's sources (`Engine::is_empty` on the raw table); the others read
/// raw rows: `time_to_value_h` (first activation event per user) and the margins (whether
/// any order has a cost). Shrinking this list is progress; growing it is a regression.
const KNOWN_RAW_READS: &[(&str, &str)] = &[
    ("aov", "orders"),
    ("arpu", "orders"),
    ("avg_session_duration_s", "events"),
    ("bounce_rate_pct", "events"),
    ("cac_payback_months", "orders"),
    ("clv", "orders"),
    ("dau", "events"),
    ("discount_rate", "orders"),
    ("feature_adoption_pct", "events"),
    ("gross_margin_pct", "orders"),
    ("gross_revenue", "orders"),
    ("ltv_cac", "orders"),
    ("mau", "events"),
    ("net_margin_pct", "orders"),
    ("net_revenue", "orders"),
    ("orders", "orders"),
    ("page_views", "events"),
    ("paying_customers", "orders"),
    ("repeat_purchase_rate", "orders"),
    ("revenue_per_engagement", "orders"),
    ("roas", "orders"),
    ("sessions_per_user", "events"),
    ("stickiness_pct", "events"),
    ("time_to_value_h", "events"),
    ("wau", "events"),
];

#[test]
fn metrics_read_no_raw_large_table_beyond_the_known_list() {
    let dir = tempfile::tempdir().unwrap();
    let files = dir.path().join("files");
    let options = DemoOptions {
        seed: 11,
        customers: 120,
        months: 6,
    };
    generate(&files, &options).unwrap();
    let mut store = Store::open(&dir.path().join("kpi.db")).unwrap();
    let mut paths: Vec<_> = std::fs::read_dir(&files)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    paths.sort();
    for path in paths {
        import_file(&mut store, &path, &ImportOptions::default()).unwrap();
    }
    let as_of = kpi::metrics::reference_date(&store).unwrap().unwrap();
    for table in RAW_LARGE {
        store
            .conn()
            .execute_batch(&format!("ALTER TABLE {table} RENAME TO hidden_{table}"))
            .unwrap();
    }
    let config = Config::default();
    let mut reads = BTreeSet::new();
    for def in BUILT_IN {
        let breakdowns = std::iter::once(None).chain(def.segments.iter().map(|s| Some(*s)));
        for by in breakdowns {
            for grain in Grain::ALL {
                let request = SeriesRequest {
                    metric: &def.id,
                    grain,
                    from: as_of - chrono::Duration::days(90),
                    to: as_of,
                    by,
                };
                if let Err(err) = compute(&store, &config, as_of, &request) {
                    let err = err.to_string();
                    let table = RAW_LARGE
                        .iter()
                        .find(|t| err.contains(&format!("no such table: {t}")));
                    match table {
                        Some(table) => {
                            reads.insert((def.id.to_string(), table.to_string()));
                        }
                        None => panic!("{} by {by:?} at {grain}: {err}", def.id),
                    }
                }
            }
        }
    }
    use kpi::metrics::CohortVariant::*;
    for variant in [
        PurchasingCustomers,
        ActiveUsers,
        SubscribedCustomers,
        RevenueRetention,
    ] {
        if let Err(err) = kpi::metrics::cohorts(&store, &config, as_of, variant) {
            let err = err.to_string();
            let table = RAW_LARGE
                .iter()
                .find(|t| err.contains(&format!("no such table: {t}")))
                .unwrap_or_else(|| panic!("cohorts {variant:?}: {err}"));
            reads.insert((format!("cohorts {variant:?}"), table.to_string()));
        }
    }
    let known: BTreeSet<(String, String)> = KNOWN_RAW_READS
        .iter()
        .map(|(m, t)| (m.to_string(), t.to_string()))
        .collect();
    assert_eq!(reads, known, "metrics reading a raw large table");
}
