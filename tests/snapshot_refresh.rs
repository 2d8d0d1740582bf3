#![allow(clippy::unwrap_used)]
//! Incremental recompute after an import (SPEC §7) gives exactly what a full rebuild gives:
//! every metric at every grain, every cohort, the data status, and the alert evaluation.

use std::path::Path;

use kpi::alerts::{Evaluation, Since};
use kpi::config::Config;
use kpi::import::{ImportOptions, import_file};
use kpi::snapshot::{
    Snapshot, build_metrics, evaluate_alerts, evaluate_alerts_since, refresh_metrics,
};
use kpi::store::Store;

/// The evaluation without the sighting times, which each evaluation stamps anew.
fn unstamped(mut evaluation: Evaluation) -> Evaluation {
    for alert in &mut evaluation.alerts {
        alert.first_seen = None;
        alert.last_seen = None;
    }
    evaluation
}

fn assert_same(refreshed: &Snapshot, rebuilt: &Snapshot, case: &str) {
    assert_eq!(refreshed.as_of, rebuilt.as_of, "{case}");
    assert_eq!(refreshed.series.len(), rebuilt.series.len(), "{case}");
    for (a, b) in refreshed.series.iter().zip(&rebuilt.series) {
        assert_eq!((&a.metric, a.grain), (&b.metric, b.grain), "{case}");
        assert_eq!(
            a.points, b.points,
            "{case}: {} at {} differs",
            a.metric, a.grain
        );
    }
    assert_eq!(refreshed.cohorts, rebuilt.cohorts, "{case}: cohorts");
    assert_eq!(refreshed.data.tables, rebuilt.data.tables, "{case}: tables");
    assert_eq!(
        refreshed.annotations, rebuilt.annotations,
        "{case}: annotations"
    );
}

#[test]
fn refreshing_after_each_kind_of_import_equals_a_full_rebuild() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("live.db");
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    std::fs::copy(repo.join("sample.db"), &db).unwrap();
    let config = Config::load(&repo.join("kpi.toml")).unwrap();
    let mut store = Store::open(&db).unwrap();
    let options = ImportOptions {
        config: config.clone(),
        ..ImportOptions::default()
    };
    let mut previous = build_metrics(&store, &config, None).unwrap();
    let mut previous_alerts = evaluate_alerts(&store, &previous).unwrap();

    let cases: [(&str, &str, &str); 7] = [
        (
            "orders on the latest day",
            "orders_live.csv",
            "order_id,customer_id,order_date,revenue,channel,discount\n\
             L1,C000010,2026-11-15,120.00,paid_search,10.00\nL2,C000011,2026-11-15,35.50,email,0\n",
        ),
        (
            "events on the latest day",
            "events_live.csv",
            "event_id,user_id,ts,name,session_id,feature,page\n\
             E1,C000010,2026-11-15T10:00:00Z,session_start,S1,,\n\
             E2,C000010,2026-11-15T10:01:00Z,feature_used,S1,assistant,\n\
             E3,C000012,2026-11-15T11:00:00Z,page_view,S2,,pricing\n",
        ),
        (
            "surveys and tickets on the latest day",
            "surveys_live.csv",
            "response_id,date,kind,score,customer_id\nR1,2026-11-15,nps,3,C000010\nR2,2026-11-15,csat,5,C000011\n",
        ),
        (
            "tickets",
            "tickets_live.csv",
            "ticket_id,opened_at,first_response_at,resolved_at,severity\n\
             T1,2026-11-15T09:00:00Z,2026-11-15T09:30:00Z,,high\n",
        ),
        (
            "a refund weeks back",
            "refunds_late.csv",
            "order_id,refund_date,amount\nL1,2026-10-03,20.00\n",
        ),
        (
            "a subscription upgrade",
            "subscriptions_change.csv",
            "subscription_id,customer_id,mrr,start_date,end_date,plan\nSUBX,C000010,499.00,2026-09-01,,business\n",
        ),
        (
            "a new day begins",
            "orders_tomorrow.csv",
            "order_id,customer_id,order_date,revenue\nL3,C000012,2026-11-16,80.00\n",
        ),
    ];
    for (case, name, body) in cases {
        let file = dir.path().join(name);
        std::fs::write(&file, body).unwrap();
        let report = import_file(&mut store, &file, &options).unwrap();
        assert_eq!(report.rows_rejected, 0, "{case}: {report}");
        let refreshed = refresh_metrics(&store, &config, None, &previous, &report.touched).unwrap();
        let rebuilt = build_metrics(&store, &config, None).unwrap();
        assert_same(&refreshed, &rebuilt, case);
        let evaluated = evaluate_alerts(&store, &rebuilt).unwrap();
        // The cockpit keeps alerts only while the reference date stays.
        if rebuilt.as_of == previous.as_of {
            let since = Since {
                previous: &previous_alerts,
                touched: &report.touched,
            };
            let kept = evaluate_alerts_since(&store, &rebuilt, Some(since)).unwrap();
            assert_eq!(
                unstamped(kept),
                unstamped(evaluated.clone()),
                "{case}: alerts"
            );
        }
        previous = rebuilt;
        previous_alerts = evaluated;
    }
}

fn cohort_cells(store: &Store) -> Vec<(String, String, String, i64, i64)> {
    let mut stmt = store
        .conn()
        .prepare("SELECT * FROM ru_cohort_cells ORDER BY 1, 2, 3")
        .unwrap();
    stmt.query_map([], |r| {
        Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
    })
    .unwrap()
    .map(Result::unwrap)
    .collect()
}

/// A customers import moves only the written customers' cohort cells (from their signup
/// before the import to the one now), and they end where a rebuild puts them.
#[test]
fn a_customers_import_moves_its_customers_cohorts_as_a_rebuild_would() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("live.db");
    std::fs::copy(Path::new(env!("CARGO_MANIFEST_DIR")).join("sample.db"), &db).unwrap();
    let mut store = Store::open(&db).unwrap();
    let before = cohort_cells(&store);
    let file = dir.path().join("customers_live.csv");
    // A corrected signup month for a customer with orders, and a new customer.
    std::fs::write(
        &file,
        "customer_id,signup_date,channel\nC000010,2025-01-20,email\nNEW1,2026-11-15,email\n",
    )
    .unwrap();
    let report = import_file(&mut store, &file, &ImportOptions::default()).unwrap();
    assert_eq!(report.rows_upserted, 2, "{report}");
    let moved = cohort_cells(&store);
    assert_ne!(moved, before, "C000010's cells moved to the 2025-01 cohort");
    kpi::store::rollup::refresh_all(&mut store).unwrap();
    assert_eq!(moved, cohort_cells(&store));
}
