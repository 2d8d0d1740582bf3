//! `kpi report` is read from the same `Snapshot` the cockpit draws (issue 12): one
//! computation, so the two can never disagree about a number, an alert or a target.
#![allow(clippy::unwrap_used)]

use std::path::PathBuf;

use kpi::config::Config;
use kpi::metrics::Grain;
use kpi::report::{self, ReportOptions};
use kpi::snapshot;
use kpi::store::Store;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn report_build_goes_through_the_snapshot_not_a_recomputation() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("sample.db");
    std::fs::copy(repo().join("sample.db"), &db).unwrap();
    let store = Store::open_read_only(&db).unwrap();
    let config = Config::load(&repo().join("kpi.toml")).unwrap();
    let mut snapshot = snapshot::build(&store, &config, None).unwrap();
    let options = ReportOptions::new(Grain::Month);

    // What `build` reports is what the snapshot holds.
    let built = report::build(&store, &config, &options).unwrap();
    let keys = |alerts: &[kpi::alerts::Alert]| -> Vec<String> {
        alerts.iter().map(|a| a.key.clone()).collect()
    };
    assert_eq!(built.as_of, snapshot.as_of);
    assert_eq!(keys(&built.alerts), keys(&snapshot.alerts));
    assert_eq!(built.core_kpis, snapshot.config.core_kpis);
    assert_eq!(built.cohorts, snapshot.cohorts);

    // A number changed in the snapshot is the number the report prints: it is read, not
    // computed a second time.
    let focus = built.focus.unwrap();
    let series = snapshot
        .series
        .iter_mut()
        .find(|s| s.metric == "net_revenue" && s.grain == Grain::Month && s.segment.is_none())
        .unwrap();
    let point = series
        .points
        .iter_mut()
        .find(|p| p.period == focus)
        .unwrap();
    point.value = Some(123_456.0);
    snapshot.alerts.truncate(1);
    let from_snapshot = report::from_snapshot(&store, &snapshot, &options).unwrap();
    let net_revenue = from_snapshot
        .metrics
        .iter()
        .find(|m| m.def.id == "net_revenue" && m.segment.is_none())
        .unwrap();
    assert_eq!(net_revenue.point(focus).unwrap().value, Some(123_456.0));
    assert_eq!(keys(&from_snapshot.alerts), keys(&snapshot.alerts));
}
