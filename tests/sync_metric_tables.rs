//! A synced store (`kpi sync`) holds the rollups and the small tables, never the raw
//! large ones (orders, events). This test hides those two from a store filled by
//! `kpi import` and computes every metric at every grain and breakdown: each read of a
//! raw large table shows up as "no such table", and there must be none — a metric
//! reading raw rows fails here.
#![allow(clippy::unwrap_used)]

mod import_support;

use std::collections::BTreeSet;

use kpi::config::Config;
use kpi::demo::DemoOptions;
use kpi::import::{ImportOptions, import_file};
use kpi::metrics::{Grain, SeriesRequest, catalog::BUILT_IN, compute};
use kpi::store::Store;

/// The large raw tables a synced store does not hold.
const RAW_LARGE: [&str; 2] = ["orders", "events"];

#[test]
fn no_metric_reads_a_raw_large_table() {
    let dir = tempfile::tempdir().unwrap();
    let options = DemoOptions {
        seed: 11,
        customers: 120,
        months: 6,
    };
    let store = import_support::demo_imported(dir.path(), "kpi.db", &options);
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
    assert_eq!(reads, BTreeSet::new(), "metrics reading a raw large table");
}

/// The "orders" metric of a store whose orders file holds `rows`, with the raw orders
/// table hidden after the import as in a synced store.
fn orders_points_without_raw_table(rows: &str) -> Vec<kpi::metrics::Point> {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("kpi.db")).unwrap();
    let orders = dir.path().join("orders.csv");
    std::fs::write(
        &orders,
        format!("order_id,customer_id,order_date,revenue,status\n{rows}"),
    )
    .unwrap();
    import_file(&mut store, &orders, &ImportOptions::default()).unwrap();
    store
        .conn()
        .execute_batch("ALTER TABLE orders RENAME TO hidden_orders")
        .unwrap();
    let as_of = chrono::NaiveDate::from_ymd_opt(2026, 3, 31).unwrap();
    let request = SeriesRequest {
        metric: "orders",
        grain: Grain::Month,
        from: as_of - chrono::Duration::days(60),
        to: as_of,
        by: None,
    };
    let series = compute(&store, &Config::default(), as_of, &request).unwrap();
    series.into_iter().flat_map(|s| s.points).collect()
}

#[test]
fn orders_holding_only_cancelled_rows_are_data_not_no_data() {
    let points = orders_points_without_raw_table(
        "o1,c1,2026-03-02,10.00,cancelled\no2,c2,2026-02-11,5.00,cancelled\n",
    );
    assert!(!points.is_empty());
    for point in &points {
        assert_eq!(point.value, Some(0.0), "{point:?}");
        assert_eq!(point.note, None, "{point:?}");
    }
}

#[test]
fn orders_file_with_no_rows_still_shows_no_data() {
    let points = orders_points_without_raw_table("");
    assert!(!points.is_empty());
    for point in &points {
        assert_eq!(point.value, None, "{point:?}");
        assert_eq!(
            point.note.as_deref(),
            Some("no data — import orders"),
            "{point:?}"
        );
    }
}
