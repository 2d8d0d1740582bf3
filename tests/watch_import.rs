#![allow(clippy::unwrap_used)]
//! Live monitoring end to end below the screen: files arrive in a watched folder in
//! every way an exporter or an editor writes them, and the store ends with exactly the
//! right rows (SPEC §7).

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use kpi::import::ImportOptions;
use kpi::store::Store;
use kpi::watch::follow::{import_paths, mark_removed};
use kpi::watch::{DirWatcher, FileState, WatchEvent, WatchOptions, WatchState};

const ORDERS: &str = "order_id,customer_id,order_date,revenue\n";

struct Live {
    _tmp: tempfile::TempDir,
    dir: PathBuf,
    store: Store,
    watcher: DirWatcher,
    state: WatchState,
    options: ImportOptions,
}

impl Live {
    fn new() -> Self {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("exports");
        fs::create_dir(&dir).unwrap();
        let store = Store::open(&tmp.path().join("live.db")).unwrap();
        let watch = WatchOptions {
            quiet: Duration::from_millis(50),
            ..WatchOptions::default()
        };
        let watcher = DirWatcher::start(&dir, &watch).unwrap();
        let state = WatchState::new(&dir);
        Self {
            _tmp: tmp,
            dir,
            store,
            watcher,
            state,
            options: ImportOptions::default(),
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// Follows the folder (as the cockpit's live thread does) until `done` holds.
    fn follow_until(&mut self, what: &str, done: impl Fn(&Self) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(15);
        while !done(self) {
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}: {:?}",
                self.state
            );
            match self
                .watcher
                .events()
                .recv_timeout(Duration::from_millis(100))
            {
                Ok(WatchEvent::Changed(paths)) => {
                    import_paths(&mut self.store, &paths, &self.options, &mut self.state);
                }
                Ok(WatchEvent::Removed(paths)) => mark_removed(&paths, &mut self.state),
                Ok(WatchEvent::Error(e)) => panic!("watch error: {e}"),
                Err(_) => {}
            }
        }
    }

    fn count(&self, table: &str) -> i64 {
        self.store
            .conn()
            .query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
            .unwrap()
    }

    fn revenue_cents(&self) -> i64 {
        self.store
            .conn()
            .query_row("SELECT total(revenue) FROM orders", [], |r| {
                r.get::<_, f64>(0)
            })
            .unwrap() as i64
    }

    fn file_state(&self, name: &str) -> Option<FileState> {
        self.state
            .files
            .get(&self.path(name))
            .map(|f| f.state.clone())
    }
}

fn append(path: &Path, text: &str) {
    use std::io::Write;
    let mut file = fs::OpenOptions::new().append(true).open(path).unwrap();
    file.write_all(text.as_bytes()).unwrap();
}

#[test]
fn a_new_file_then_its_growth_import_exactly_their_rows() {
    let mut live = Live::new();
    fs::write(
        live.path("orders.csv"),
        format!("{ORDERS}o1,c1,2026-11-01,10.00\no2,c2,2026-11-01,5.50\n"),
    )
    .unwrap();
    live.follow_until("2 orders", |l| l.count("orders") == 2);
    assert_eq!(live.revenue_cents(), 1550);

    append(&live.path("orders.csv"), "o3,c1,2026-11-02,4.50\n");
    live.follow_until("3 orders", |l| l.count("orders") == 3);
    assert_eq!(live.revenue_cents(), 2000);
    assert_eq!(
        live.file_state("orders.csv"),
        Some(FileState::Imported {
            rows_upserted: 1,
            rows_rejected: 0,
            tail: true
        })
    );
}

#[test]
fn a_file_renamed_into_the_folder_is_imported_and_its_temp_name_never() {
    let mut live = Live::new();
    let temp = live.path(".orders_eu.csv.tmp");
    fs::write(&temp, format!("{ORDERS}e1,c9,2026-11-03,7.00\n")).unwrap();
    fs::rename(&temp, live.path("orders_eu.csv")).unwrap();
    live.follow_until("the renamed file", |l| l.count("orders") == 1);
    assert!(live.file_state(".orders_eu.csv.tmp").is_none());
    assert_eq!(live.revenue_cents(), 700);
}

#[test]
fn an_editor_save_over_a_file_updates_changed_rows_without_doubling() {
    let mut live = Live::new();
    fs::write(
        live.path("orders.csv"),
        format!("{ORDERS}o1,c1,2026-11-01,10.00\no2,c2,2026-11-01,5.00\n"),
    )
    .unwrap();
    live.follow_until("2 orders", |l| l.count("orders") == 2);
    // Write a temp copy and rename it over the original, as editors and exporters do.
    let temp = live.path("orders.csv~");
    fs::write(
        &temp,
        format!("{ORDERS}o1,c1,2026-11-01,12.00\no2,c2,2026-11-01,5.00\no3,c3,2026-11-02,1.00\n"),
    )
    .unwrap();
    fs::rename(&temp, live.path("orders.csv")).unwrap();
    live.follow_until("the saved file", |l| l.count("orders") == 3);
    assert_eq!(live.revenue_cents(), 1800);
}

#[test]
fn a_deleted_file_keeps_its_rows_and_is_marked_gone() {
    let mut live = Live::new();
    fs::write(
        live.path("spend.csv"),
        "date,channel,amount\n2026-11-01,ads,100.00\n",
    )
    .unwrap();
    live.follow_until("the spend row", |l| l.count("spend") == 1);
    fs::remove_file(live.path("spend.csv")).unwrap();
    live.follow_until("the delete", |l| {
        l.file_state("spend.csv") == Some(FileState::Gone)
    });
    assert_eq!(live.count("spend"), 1);
}

#[test]
fn five_hundred_files_at_once_all_land() {
    let mut live = Live::new();
    for i in 0..500 {
        fs::write(
            live.path(&format!("events_{i:03}.csv")),
            format!("event_id,user_id,ts,name\ne{i}a,u{i},2026-11-01T10:00:00Z,page_view\ne{i}b,u{i},2026-11-01T10:01:00Z,page_view\n"),
        )
        .unwrap();
    }
    live.follow_until("1000 events", |l| l.count("events") == 1000);
    // A file seen mid-write may be imported twice; the second read adds nothing.
    assert_eq!(live.state.files.len(), 500);
    assert!(
        live.state
            .files
            .values()
            .all(|f| matches!(f.state, FileState::Imported { .. }))
    );
    assert_eq!(live.count("events"), 1000);
}

#[test]
fn a_half_written_last_line_waits_for_its_newline() {
    let mut live = Live::new();
    fs::write(
        live.path("orders.csv"),
        format!("{ORDERS}o1,c1,2026-11-01,10.00\no2,c2,2026-11-0"),
    )
    .unwrap();
    live.follow_until("the complete row", |l| l.count("orders") == 1);
    // Give the watcher time to (wrongly) import the half line; it must not.
    let until = Instant::now() + Duration::from_millis(400);
    while Instant::now() < until {
        live.follow_until("nothing more", |_| true);
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(live.count("orders"), 1);
    assert_eq!(
        live.count("rejects"),
        0,
        "the half line must not be rejected either"
    );

    append(&live.path("orders.csv"), "2,3.25\n");
    live.follow_until("the completed row", |l| l.count("orders") == 2);
    let date: String = live
        .store
        .conn()
        .query_row(
            "SELECT order_date FROM orders WHERE order_id = 'o2'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(date, "2026-11-02");
    assert_eq!(live.revenue_cents(), 1325);
}

#[test]
fn a_file_that_fails_is_recorded_and_the_others_still_import() {
    let mut live = Live::new();
    fs::write(live.path("mystery.csv"), "a,b\n1,2\n").unwrap();
    fs::write(
        live.path("orders.csv"),
        format!("{ORDERS}o1,c1,2026-11-01,10.00\n"),
    )
    .unwrap();
    live.follow_until("both files", |l| l.state.files.len() == 2);
    assert_eq!(live.count("orders"), 1);
    let failed: Vec<_> = live
        .state
        .failed()
        .map(|(p, r)| (p.clone(), r.to_string()))
        .collect();
    assert_eq!(failed.len(), 1);
    assert!(failed[0].0.ends_with("mystery.csv"));
    assert!(failed[0].1.contains("table"), "{}", failed[0].1);
}
