//! The snapshot the cockpit loads: every metric at every grain over the configured time
//! frame, four cohort matrices, and the state of the data.
#![allow(clippy::unwrap_used)]

mod metric_fixture;

use kpi::metrics::{CohortVariant, Grain};
use kpi::snapshot;

#[test]
fn snapshot_holds_every_metric_at_every_grain_and_the_data_status() {
    let f = metric_fixture::populated();
    let snap = snapshot::build(&f.store, &f.config, None).unwrap();
    assert_eq!(snap.as_of, Some(metric_fixture::d("2025-07-14")));
    assert!(snap.metric("uptime_pct").is_some());
    for def in &snap.metrics {
        for grain in Grain::ALL {
            let s = snap
                .series(&def.id, grain)
                .unwrap_or_else(|| panic!("{} {grain}", def.id));
            // The longest range of the cockpit (104 periods) + 3 for the first rolling
            // mean, but not before the first fact (2025-01-01): periods before the data
            // would draw a range it does not have.
            let expected = match grain {
                Grain::Day => snapshot::LONGEST_RANGE + 3,
                Grain::Week => 29,
                Grain::Month => 7,
            };
            assert_eq!(s.points.len(), expected, "{} {grain}", def.id);
            assert_eq!(s.points.last().unwrap().period.grain, grain);
        }
    }
    let months = snap.series("net_revenue", Grain::Month).unwrap();
    // The history starts with the month of the first fact.
    assert_eq!(months.points[0].period.label(), "2025-01");
    assert!(months.points.last().unwrap().partial);
    let variants: Vec<_> = snap.cohorts.iter().map(|c| c.variant).collect();
    assert_eq!(
        variants,
        [
            CohortVariant::PurchasingCustomers,
            CohortVariant::ActiveUsers,
            CohortVariant::SubscribedCustomers,
            CohortVariant::RevenueRetention
        ]
    );
    let purchasing = &snap.cohorts[0];
    assert_eq!(purchasing.rows.first().unwrap().cohort, "2025-01");
    // January's cohort has seven months observed (January–July), nothing to forecast.
    let jan = &purchasing.rows[0];
    assert_eq!(jan.cells.iter().filter(|c| c.is_some()).count(), 7);
    assert!(jan.forecast.iter().all(Option::is_none));
    // June's has two observed months and forecasts after them.
    let june = purchasing
        .rows
        .iter()
        .find(|r| r.cohort == "2025-06")
        .unwrap();
    assert!(june.cells[2].is_none() && june.forecast[2].is_some());
    let orders = snap
        .data
        .tables
        .iter()
        .find(|t| t.table == "orders")
        .unwrap();
    assert_eq!(orders.rows, 2000);
    assert_eq!(orders.last_date, Some(metric_fixture::d("2025-07-14")));
    assert_eq!(snap.annotations.len(), 1);
}

#[test]
fn an_empty_store_gives_a_catalog_and_no_reference_date() {
    let f = metric_fixture::Fixture::new();
    let snap = snapshot::build(&f.store, &f.config, None).unwrap();
    assert_eq!(snap.as_of, None);
    assert!(snap.metric("mrr").is_some());
    assert!(snap.series.is_empty());
}

#[test]
fn revenue_retention_cohort_divides_by_month_zero_revenue() {
    let mut f = metric_fixture::Fixture::new();
    f.customer("a", "2025-01-05", None)
        .customer("b", "2025-01-20", None)
        .order("o1", "a", "2025-01-06", 100.0, "completed")
        .order("o2", "b", "2025-01-21", 100.0, "completed")
        .order("o3", "a", "2025-02-10", 50.0, "completed")
        .order("o4", "c", "2025-02-11", 70.0, "completed"); // no signup row: cohort 2025-02
    f.refresh();
    let m =
        |v| kpi::metrics::cohorts(&f.store, &f.config, metric_fixture::d("2025-02-28"), v).unwrap();
    let revenue = m(CohortVariant::RevenueRetention);
    assert_eq!(revenue.rows[0].cohort, "2025-01");
    assert_eq!(revenue.rows[0].cells, [Some(1.0), Some(0.25)]);
    let buyers = m(CohortVariant::PurchasingCustomers);
    assert_eq!(buyers.rows[0].size, 2);
    assert_eq!(buyers.rows[0].cells, [Some(1.0), Some(0.5)]);
    assert_eq!(buyers.rows[1].cohort, "2025-02");
    assert_eq!(buyers.rows[1].cells, [Some(1.0), None]);
    // Survival from month 0 to 1 is 0.5 (January's cohort): February's forecast for March.
    assert_eq!(buyers.rows[1].forecast, [None, Some(0.5)]);
}

#[test]
fn subscribed_cohort_counts_months_with_an_active_subscription() {
    let mut f = metric_fixture::Fixture::new();
    f.customer("a", "2025-01-03", None)
        .customer("b", "2025-01-09", None)
        // Ends on March 1: active in January and February, not in March.
        .sub("s1", "a", 10.0, "2025-01-10", Some("2025-03-01"))
        // c has no signup row: the first subscribed month is its cohort.
        .sub("s2", "c", 10.0, "2025-02-05", None);
    f.refresh();
    let m = kpi::metrics::cohorts(
        &f.store,
        &f.config,
        metric_fixture::d("2025-03-31"),
        CohortVariant::SubscribedCustomers,
    )
    .unwrap();
    assert_eq!(m.rows.len(), 2);
    assert_eq!((m.rows[0].cohort.as_str(), m.rows[0].size), ("2025-01", 2));
    assert_eq!(m.rows[0].cells, [Some(0.5), Some(0.5), Some(0.0)]);
    assert_eq!((m.rows[1].cohort.as_str(), m.rows[1].size), ("2025-02", 1));
    assert_eq!(m.rows[1].cells, [Some(1.0), Some(1.0), None]);
}

#[test]
fn the_overview_snapshot_holds_the_core_kpis_only() {
    let f = metric_fixture::populated();
    let snap = snapshot::build_overview(&f.store, &f.config, None).unwrap();
    let mut ids: Vec<&str> = snap.series.iter().map(|s| s.metric.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    let mut core: Vec<&str> = f.config.core_kpis.iter().map(String::as_str).collect();
    core.sort_unstable();
    assert_eq!(ids, core);
    assert_eq!(snap.series.len(), core.len() * 3);
    assert!(snap.cohorts.is_empty());
    let full = snapshot::build(&f.store, &f.config, None).unwrap();
    assert_eq!(
        snap.series("mrr", Grain::Week),
        full.series("mrr", Grain::Week)
    );
}

#[test]
fn a_store_without_subscriptions_shows_repeat_purchases_instead_of_mrr() {
    let mut f = metric_fixture::Fixture::new();
    f.order("o1", "a", "2025-06-02", 30.0, "completed");
    f.refresh();
    let snap = snapshot::build_overview(&f.store, &f.config, None).unwrap();
    assert_eq!(snap.config.core_kpis[1], "repeat_purchase_rate");
    assert!(snap.series("repeat_purchase_rate", Grain::Month).is_some());
    assert!(snap.series("mrr", Grain::Month).is_none());
}
