#![allow(clippy::unwrap_used)]
//! The committed `sample.db` is what the documented command builds:
//! `kpi demo --out demo-data && kpi import --db sample.db demo-data/*`.
//! Compared by what a user sees — every metric's values and notes at every grain, and
//! every cohort cell — not by bytes (SQLite pages and import timestamps differ).

use std::path::Path;

use kpi::config::Config;
use kpi::demo::{DemoOptions, generate};
use kpi::import::{ImportOptions, import_file};
use kpi::snapshot::{self, Snapshot};
use kpi::store::Store;

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn snapshot_of(db: &Path, config: &Config) -> Snapshot {
    let store = Store::open(db).unwrap();
    snapshot::build(&store, config, None).unwrap()
}

#[test]
fn the_committed_sample_db_matches_a_fresh_build_metric_for_metric() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("demo-data");
    generate(&data, &DemoOptions::default()).unwrap();
    let built = dir.path().join("sample.db");
    let mut store = Store::open(&built).unwrap();
    let mut files: Vec<_> = std::fs::read_dir(&data)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    // The shell expands `demo-data/*` in name order.
    files.sort();
    let config = Config::load(&repo().join("kpi.toml")).unwrap();
    let options = ImportOptions {
        config: config.clone(),
        file_is_complete: true,
        ..Default::default()
    };
    for file in &files {
        import_file(&mut store, file, &options).unwrap();
    }
    drop(store);

    // Opened from a copy: building a snapshot records alert sightings in the store.
    let committed = dir.path().join("committed.db");
    std::fs::copy(repo().join("sample.db"), &committed).unwrap();
    let expected = snapshot_of(&built, &config);
    let actual = snapshot_of(&committed, &config);

    assert_eq!(actual.as_of, expected.as_of);
    assert!(
        expected.series.len() > 100,
        "only {} series",
        expected.series.len()
    );
    assert_eq!(actual.series.len(), expected.series.len());
    for (a, e) in actual.series.iter().zip(&expected.series) {
        assert_eq!((&a.metric, a.grain), (&e.metric, e.grain));
        assert_eq!(
            a.points, e.points,
            "{} at {} differs: rebuild sample.db",
            a.metric, a.grain
        );
    }
    assert_eq!(
        actual.cohorts, expected.cohorts,
        "cohorts differ: rebuild sample.db"
    );
    let rows = |s: &Snapshot| {
        s.data
            .tables
            .iter()
            .map(|t| (t.table.clone(), t.rows))
            .collect::<Vec<_>>()
    };
    assert_eq!(rows(&actual), rows(&expected));
}

#[test]
fn every_metric_of_the_catalog_has_data_in_the_sample_store() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("sample.db");
    std::fs::copy(repo().join("sample.db"), &db).unwrap();
    let config = Config::load(&repo().join("kpi.toml")).unwrap();
    let store = Store::open(&db).unwrap();
    let snapshot = kpi::snapshot::build_metrics(&store, &config, None).unwrap();
    assert!(
        snapshot.metrics.len() >= 60,
        "{} metrics",
        snapshot.metrics.len()
    );
    let mut missing = Vec::new();
    for def in &snapshot.metrics {
        let overall = snapshot
            .series(&def.id, kpi::metrics::Grain::Month)
            .unwrap()
            .clone();
        // External metrics reported per segment only (app rating per platform) have no
        // honest overall value: their segments must have one.
        let series = if def.segments == ["segment"] && def.sources == ["metrics"] {
            let as_of = snapshot.as_of.unwrap();
            let request = kpi::metrics::SeriesRequest {
                metric: &def.id,
                grain: kpi::metrics::Grain::Month,
                from: as_of - chrono::Duration::days(62),
                to: as_of,
                by: Some("segment"),
            };
            kpi::metrics::compute(&store, &config, as_of, &request).unwrap()
        } else {
            vec![overall]
        };
        assert!(!series.is_empty(), "{} has no series", def.id);
        for series in &series {
            // The latest complete month: October 2026 (the data ends mid-November).
            let october = series.points.iter().rev().find(|p| !p.partial).unwrap();
            let no_data = october
                .note
                .as_deref()
                .is_some_and(|n| n.starts_with("no data"));
            if october.value.is_none() || no_data {
                missing.push(format!(
                    "{} {:?}: {:?}",
                    def.id, series.segment, october.note
                ));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "metrics without data in sample.db: {missing:#?}"
    );
}
