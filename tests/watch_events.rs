#![allow(clippy::unwrap_used)]
//! The watcher against a real folder: what it reports for each way files arrive.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use kpi::watch::{DirWatcher, WatchEvent, WatchOptions, scan};

const WAIT: Duration = Duration::from_secs(10);

fn options(poll: bool) -> WatchOptions {
    WatchOptions {
        poll,
        recursive: false,
        quiet: Duration::from_millis(60),
        poll_interval: Duration::from_millis(50),
    }
}

/// Collects events until `done` holds for the changed and removed names, or times out.
fn collect_until(
    watcher: &DirWatcher,
    done: impl Fn(&BTreeSet<String>, &BTreeSet<String>) -> bool,
) -> (BTreeSet<String>, BTreeSet<String>) {
    let (mut changed, mut removed) = (BTreeSet::new(), BTreeSet::new());
    let deadline = Instant::now() + WAIT;
    while !done(&changed, &removed) {
        let left = deadline.saturating_duration_since(Instant::now());
        assert!(
            !left.is_zero(),
            "timed out; changed {changed:?}, removed {removed:?}"
        );
        match watcher.events().recv_timeout(left) {
            Ok(WatchEvent::Changed(paths)) => changed.extend(paths.iter().map(name)),
            Ok(WatchEvent::Removed(paths)) => removed.extend(paths.iter().map(name)),
            Ok(WatchEvent::Error(e)) => panic!("watch error: {e}"),
            Err(_) => {}
        }
    }
    (changed, removed)
}

fn name(p: impl AsRef<Path>) -> String {
    let p = p.as_ref();
    p.file_name().unwrap().to_string_lossy().into_owned()
}

/// No further event arrives for a while (nothing was reported twice or spuriously).
fn assert_quiet(watcher: &DirWatcher) {
    if let Ok(event) = watcher.events().recv_timeout(Duration::from_millis(400)) {
        panic!("unexpected event {event:?}");
    }
}

fn write_via_temp(dir: &Path, name: &str, body: &str) {
    let tmp = dir.join(format!("{name}.tmp"));
    fs::write(&tmp, body).unwrap();
    fs::rename(&tmp, dir.join(name)).unwrap();
}

fn every_arrival_is_reported_once(poll: bool) {
    let dir = tempfile::tempdir().unwrap();
    let watcher = DirWatcher::start(dir.path(), &options(poll)).unwrap();

    fs::write(dir.path().join("orders.csv"), "order_id\n1\n").unwrap();
    let (changed, _) = collect_until(&watcher, |c, _| c.contains("orders.csv"));
    assert_eq!(changed.into_iter().collect::<Vec<_>>(), ["orders.csv"]);
    assert_quiet(&watcher);

    // An exporter's temp file is never reported; the renamed result is.
    write_via_temp(dir.path(), "spend.csv", "date\n");
    let (changed, _) = collect_until(&watcher, |c, _| c.contains("spend.csv"));
    assert_eq!(changed.into_iter().collect::<Vec<_>>(), ["spend.csv"]);

    // An editor-style save over an existing file.
    write_via_temp(dir.path(), "orders.csv", "order_id\n1\n2\n");
    let (changed, _) = collect_until(&watcher, |c, _| c.contains("orders.csv"));
    assert!(changed.contains("orders.csv"));

    // A grown file.
    let mut body = fs::read_to_string(dir.path().join("orders.csv")).unwrap();
    body.push_str("3\n");
    fs::write(dir.path().join("orders.csv"), body).unwrap();
    collect_until(&watcher, |c, _| c.contains("orders.csv"));

    // Dot files and other files are ignored.
    fs::write(dir.path().join(".hidden.csv"), "x").unwrap();
    fs::write(dir.path().join("notes.md"), "x").unwrap();
    assert_quiet(&watcher);

    // A delete.
    fs::remove_file(dir.path().join("spend.csv")).unwrap();
    let (_, removed) = collect_until(&watcher, |_, r| r.contains("spend.csv"));
    assert_eq!(removed.into_iter().collect::<Vec<_>>(), ["spend.csv"]);
}

#[test]
fn notify_reports_new_renamed_saved_grown_and_deleted_files() {
    every_arrival_is_reported_once(false);
}

#[test]
fn polling_reports_the_same() {
    every_arrival_is_reported_once(true);
}

/// Importing a file opens and reads it: that is not a change, or the cockpit would import
/// its own folder over and over.
fn reading_a_watched_file_is_not_a_change(poll: bool) {
    let dir = tempfile::tempdir().unwrap();
    let watcher = DirWatcher::start(dir.path(), &options(poll)).unwrap();
    fs::write(dir.path().join("orders.csv"), "order_id\n1\n").unwrap();
    collect_until(&watcher, |c, _| c.contains("orders.csv"));
    assert_quiet(&watcher);
    for _ in 0..3 {
        assert_eq!(
            fs::read_to_string(dir.path().join("orders.csv")).unwrap(),
            "order_id\n1\n"
        );
    }
    assert_quiet(&watcher);
}

#[test]
fn notify_does_not_report_a_file_being_read() {
    reading_a_watched_file_is_not_a_change(false);
}

#[test]
fn polling_does_not_report_a_file_being_read() {
    reading_a_watched_file_is_not_a_change(true);
}

#[test]
fn five_hundred_files_at_once_are_all_reported() {
    let dir = tempfile::tempdir().unwrap();
    let watcher = DirWatcher::start(dir.path(), &options(false)).unwrap();
    for i in 0..500 {
        fs::write(dir.path().join(format!("events_{i:03}.csv")), "user_id\n").unwrap();
    }
    let (changed, _) = collect_until(&watcher, |c, _| c.len() == 500);
    assert_eq!(changed.len(), 500);
    assert_quiet(&watcher);
}

#[test]
fn scan_lists_inputs_sorted_and_skips_temp_files_and_rejects() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["b.csv", "a.ndjson", "c.json.part", ".x.csv", "readme.md"] {
        fs::write(dir.path().join(name), "x").unwrap();
    }
    fs::create_dir(dir.path().join("launch.db.rejects")).unwrap();
    fs::write(dir.path().join("launch.db.rejects/orders.csv"), "x").unwrap();
    fs::create_dir(dir.path().join("sub")).unwrap();
    fs::write(dir.path().join("sub/d.csv"), "x").unwrap();

    let names = |v: Vec<PathBuf>| v.iter().map(name).collect::<Vec<_>>();
    assert_eq!(
        names(scan(dir.path(), false).unwrap()),
        ["a.ndjson", "b.csv"]
    );
    assert_eq!(
        names(scan(dir.path(), true).unwrap()),
        ["a.ndjson", "b.csv", "d.csv"]
    );
}

#[test]
fn watching_a_missing_folder_is_a_clear_error() {
    let err = DirWatcher::start(Path::new("/no/such/folder"), &options(false))
        .err()
        .unwrap();
    assert!(err.to_string().contains("/no/such/folder"), "{err}");
}
