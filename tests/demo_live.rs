#![allow(clippy::unwrap_used)]
//! `kpi demo --live`: a bounded run appends whole lines only, continues where a previous
//! run stopped, and drops complete files through a temporary name.

use std::collections::HashSet;
use std::path::Path;
use std::sync::atomic::AtomicBool;

use kpi::demo::{LIVE_FILES, LiveOptions, run_live};

fn bounded(rows: u64) -> LiveOptions {
    LiveOptions {
        seed: 3,
        known_customers: 500,
        rate: None,
        max_rows: Some(rows),
        drop_every: 100,
    }
}

/// Every line of every growing file is a whole record with the header's width.
fn check_whole_lines(dir: &Path) -> usize {
    let mut rows = 0;
    for (table, file) in LIVE_FILES {
        let text = std::fs::read_to_string(dir.join(file)).unwrap();
        assert!(text.ends_with('\n'), "{file} ends in a half line");
        let mut reader = csv::Reader::from_reader(text.as_bytes());
        let width = reader.headers().unwrap().len();
        assert_eq!(
            width,
            kpi::store::schema::table(table).unwrap().columns.len(),
            "{file}"
        );
        for record in reader.records() {
            assert_eq!(record.unwrap().len(), width, "{file}");
            rows += 1;
        }
    }
    rows
}

#[test]
fn a_bounded_run_appends_whole_lines_and_drops_renamed_files() {
    let dir = tempfile::tempdir().unwrap();
    let stop = AtomicBool::new(false);
    let summary = run_live(dir.path(), &bounded(537), &stop).unwrap();
    assert_eq!(summary.rows, 537);
    assert_eq!(check_whole_lines(dir.path()), 537);
    // Five drops of two files each, complete, and no temporary file left behind.
    assert_eq!(summary.dropped_files.len(), 10);
    for path in &summary.dropped_files {
        let text = std::fs::read_to_string(path).unwrap();
        assert!(
            text.ends_with('\n') && text.lines().count() == 3,
            "{}",
            path.display()
        );
    }
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(names.iter().all(|n| !n.ends_with(".tmp")), "{names:?}");
    assert!(
        names.contains(&"spend_live_0005.csv".to_string()),
        "{names:?}"
    );
}

#[test]
fn a_second_run_continues_ids_and_the_clock() {
    let dir = tempfile::tempdir().unwrap();
    let stop = AtomicBool::new(false);
    run_live(dir.path(), &bounded(300), &stop).unwrap();
    let first = std::fs::read_to_string(dir.path().join("events_live.csv")).unwrap();
    run_live(dir.path(), &bounded(300), &stop).unwrap();
    assert_eq!(check_whole_lines(dir.path()), 600);
    let all = std::fs::read_to_string(dir.path().join("events_live.csv")).unwrap();
    assert!(all.starts_with(&first), "the second run only appends");
    assert_eq!(all.matches("event_id").count(), 1, "one header");
    let mut reader = csv::Reader::from_reader(all.as_bytes());
    let mut ids = HashSet::new();
    let mut last_ts = String::new();
    for record in reader.records() {
        let record = record.unwrap();
        assert!(
            ids.insert(record[0].to_string()),
            "repeated id {}",
            &record[0]
        );
        assert!(record[2] >= *last_ts.as_str(), "time goes on");
        last_ts = record[2].to_string();
    }
}

#[test]
fn a_set_stop_flag_ends_the_feed_before_writing() {
    let dir = tempfile::tempdir().unwrap();
    let stop = AtomicBool::new(true);
    let summary = run_live(
        dir.path(),
        &LiveOptions {
            max_rows: None,
            ..bounded(0)
        },
        &stop,
    )
    .unwrap();
    assert_eq!(summary.rows, 0);
    assert_eq!(check_whole_lines(dir.path()), 0);
}

#[test]
fn live_rows_refer_to_customers_of_the_demo_set() {
    let dir = tempfile::tempdir().unwrap();
    let stop = AtomicBool::new(false);
    run_live(dir.path(), &bounded(400), &stop).unwrap();
    let mut known: HashSet<String> = (0..500).map(kpi::demo::customer_id).collect();
    let mut reader = csv::Reader::from_path(dir.path().join("customers_live.csv")).unwrap();
    for r in reader.records() {
        known.insert(r.unwrap()[0].to_string());
    }
    for (file, column) in [
        ("orders_live.csv", 1),
        ("events_live.csv", 1),
        ("tickets_live.csv", 5),
    ] {
        let mut reader = csv::Reader::from_path(dir.path().join(file)).unwrap();
        for r in reader.records() {
            let r = r.unwrap();
            assert!(
                known.contains(&r[column]),
                "{file}: unknown customer {}",
                &r[column]
            );
        }
    }
}
