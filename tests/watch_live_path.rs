//! The live path under attack, through the real watcher (`kpi import --watch`'s loop):
//! a last line without its newline, a writer that never pauses, a locked store, a FIFO.
//! Nothing is lost, nothing counted twice, nothing hangs.
#![allow(clippy::unwrap_used)]

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use kpi::import::{ImportOptions, import_file};
use kpi::store::Store;
use kpi::watch::follow::run_headless;
use kpi::watch::{FileState, WatchOptions, WatchState};

const ORDERS: &str = "order_id,customer_id,order_date,revenue\n";

/// What `run_headless` prints, shared with the test.
#[derive(Clone, Default)]
struct Output(Arc<Mutex<Vec<u8>>>);

impl Write for Output {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Output {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

/// A headless watch of `<tmp>/exports` into `<tmp>/live.db` on its own thread.
struct Headless {
    _tmp: tempfile::TempDir,
    dir: PathBuf,
    db: PathBuf,
    stop: Arc<AtomicBool>,
    out: Output,
    thread: Option<JoinHandle<WatchState>>,
}

impl Headless {
    /// Creates the folder, lets `prepare` put files in it, then starts watching.
    fn start(quiet: Duration, prepare: impl FnOnce(&Path), busy: Option<Duration>) -> Self {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("exports");
        fs::create_dir(&dir).unwrap();
        prepare(&dir);
        let db = tmp.path().join("live.db");
        let mut store = Store::open(&db).unwrap();
        if let Some(busy) = busy {
            store.conn().busy_timeout(busy).unwrap();
        }
        let stop = Arc::new(AtomicBool::new(false));
        let out = Output::default();
        let thread = {
            let (dir, stop, mut out) = (dir.clone(), Arc::clone(&stop), out.clone());
            std::thread::spawn(move || {
                let watch = WatchOptions {
                    quiet,
                    ..WatchOptions::default()
                };
                let import = ImportOptions::default();
                run_headless(&mut store, &dir, &watch, &import, &mut out, &stop).unwrap()
            })
        };
        Self {
            _tmp: tmp,
            dir,
            db,
            stop,
            out,
            thread: Some(thread),
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    fn count(&self, table: &str) -> i64 {
        let store = Store::open(&self.db).unwrap();
        store
            .conn()
            .query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
            .unwrap()
    }

    /// The one number `sql` selects from the store.
    fn number(&self, sql: &str) -> i64 {
        let store = Store::open(&self.db).unwrap();
        store.conn().query_row(sql, [], |r| r.get(0)).unwrap()
    }

    fn wait_for(&self, what: &str, limit: Duration, done: impl Fn(&Self) -> bool) {
        let deadline = Instant::now() + limit;
        while !done(self) {
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}; output:\n{}",
                self.out.text()
            );
            std::thread::sleep(Duration::from_millis(25));
        }
    }

    /// Stops the watch, which must end promptly, and returns its final state.
    fn finish(&mut self) -> WatchState {
        self.stop.store(true, Ordering::Relaxed);
        let thread = self.thread.take().unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        while !thread.is_finished() {
            assert!(
                Instant::now() < deadline,
                "the watch did not stop; output:\n{}",
                self.out.text()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        thread.join().unwrap()
    }
}

impl Drop for Headless {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

fn append(path: &Path, text: &str) {
    let mut file = fs::OpenOptions::new().append(true).open(path).unwrap();
    file.write_all(text.as_bytes()).unwrap();
}

#[test]
fn a_watched_last_line_without_newline_is_imported_once_settled() {
    // One file there before the watch starts, one written while it runs.
    let mut live = Headless::start(
        Duration::from_millis(50),
        |dir| {
            fs::write(
                dir.join("orders_old.csv"),
                format!("{ORDERS}p1,c1,2026-11-01,1.00\np2,c2,2026-11-01,2.00"),
            )
            .unwrap();
        },
        None,
    );
    live.wait_for("the last line there before", Duration::from_secs(10), |l| {
        l.count("orders") == 2
    });
    fs::write(
        live.path("orders.csv"),
        format!("{ORDERS}o1,c1,2026-11-01,10.00\no2,c2,2026-11-01,5.00"),
    )
    .unwrap();
    live.wait_for("the last line", Duration::from_secs(10), |l| {
        l.count("orders") == 4
    });
    // A CR-only file (old Mac exports) is read too, whole once it settles.
    fs::write(
        live.path("orders_mac.csv"),
        format!("{ORDERS}m1,c1,2026-11-01,1.00\rm2,c2,2026-11-01,2.00").replace('\n', "\r"),
    )
    .unwrap();
    live.wait_for("the CR-only file", Duration::from_secs(10), |l| {
        l.count("orders") == 6
    });
    let db = live.db.clone();
    let path = live.path("orders.csv");
    let state = live.finish();
    assert!(
        matches!(
            state.files[&path].state,
            FileState::Imported {
                rows_rejected: 0,
                ..
            }
        ),
        "{state:?}"
    );
    // The log knows the whole file was taken: a later one-shot import reads nothing new.
    let mut store = Store::open(&db).unwrap();
    let options = ImportOptions {
        file_is_complete: true,
        ..ImportOptions::default()
    };
    let report = import_file(&mut store, &path, &options).unwrap();
    assert_eq!(report.rows_read, 0);
    // Its newline and a row arrive later: read on, nothing doubled.
    append(&path, "\no3,c3,2026-11-02,1.00\n");
    let report = import_file(&mut store, &path, &options).unwrap();
    assert_eq!((report.rows_read, report.rows_upserted), (1, 1));
}

#[test]
fn a_watched_event_line_finished_after_a_pause_is_one_event_not_two() {
    let mut live = Headless::start(Duration::from_millis(50), |_| {}, None);
    let path = live.path("events.csv");
    // The writer pauses mid-line, longer than the settle time: the cut line is taken.
    fs::write(
        &path,
        "user_id,ts,name\nu1,2026-11-01T10:00:00Z,signup\nu2,2026-11-02T10:00:00Z,sig",
    )
    .unwrap();
    live.wait_for("the cut line", Duration::from_secs(10), |l| {
        l.number("SELECT count(*) FROM events WHERE name = 'sig'") == 1
    });
    // It finishes the line and writes another: the cut event is gone, not doubled.
    append(&path, "nup\nu3,2026-11-03T10:00:00Z,login\n");
    live.wait_for("the finished line", Duration::from_secs(10), |l| {
        l.number("SELECT count(*) FROM events WHERE name = 'login'") == 1
    });
    let state = live.finish();
    assert!(
        matches!(
            state.files[&path].state,
            FileState::Imported {
                rows_rejected: 0,
                ..
            }
        ),
        "{state:?}"
    );
    let store = Store::open(&live.db).unwrap();
    let names: Vec<String> = store
        .conn()
        .prepare("SELECT name FROM events ORDER BY ts")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(names, ["signup", "signup", "login"]);
    // The day of the cut event counts one event, as its rollup says too.
    let day_events: i64 = store
        .conn()
        .query_row(
            "SELECT rows FROM ru_table_days WHERE tbl = 'events' AND day = '2026-11-02'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(day_events, 1);
}

#[test]
fn a_file_appended_every_40ms_is_imported_while_the_writer_runs() {
    // The quiet period is longer than the gap between appends: the file never settles
    // while the writer runs.
    let mut live = Headless::start(Duration::from_millis(200), |_| {}, None);
    let path = live.path("orders.csv");
    fs::write(&path, ORDERS).unwrap();
    let started = Instant::now();
    let mut written = 0;
    let mut seen_while_writing = 0;
    while started.elapsed() < Duration::from_secs(3) {
        append(&path, &format!("o{written},c1,2026-11-01,1.00\n"));
        written += 1;
        std::thread::sleep(Duration::from_millis(40));
        if started.elapsed() > Duration::from_secs(2) {
            seen_while_writing = seen_while_writing.max(live.count("orders"));
        }
    }
    // Complete lines reach the store at least every 250 ms (plus import time), not
    // only once the writer stops.
    assert!(
        seen_while_writing >= written / 3,
        "only {seen_while_writing} of {written} rows imported while the writer ran"
    );
    live.wait_for("every row", Duration::from_secs(10), |l| {
        l.count("orders") == written
    });
    live.finish();
}

#[test]
fn a_watched_file_whose_store_is_locked_is_retried() {
    let mut live = Headless::start(
        Duration::from_millis(50),
        |_| {},
        Some(Duration::from_millis(100)),
    );
    // Another process holds the store's write lock for a while.
    let blocker = rusqlite::Connection::open(&live.db).unwrap();
    blocker.execute_batch("BEGIN IMMEDIATE").unwrap();
    fs::write(
        live.path("orders.csv"),
        format!("{ORDERS}o1,c1,2026-11-01,10.00\n"),
    )
    .unwrap();
    live.wait_for("a failed attempt", Duration::from_secs(10), |l| {
        l.out.text().contains("trying again in 1 s")
    });
    std::thread::sleep(Duration::from_millis(1500));
    blocker.execute_batch("COMMIT").unwrap();
    live.wait_for("the retried import", Duration::from_secs(15), |l| {
        l.count("orders") == 1
    });
    let path = live.path("orders.csv");
    let state = live.finish();
    assert!(
        matches!(state.files[&path].state, FileState::Imported { .. }),
        "{state:?}"
    );
}

#[test]
fn a_fifo_in_a_watched_folder_is_skipped_and_the_others_import() {
    let mut live = Headless::start(
        Duration::from_millis(50),
        |dir| {
            let status = std::process::Command::new("mkfifo")
                .arg(dir.join("events.csv"))
                .status()
                .unwrap();
            assert!(status.success());
            fs::write(
                dir.join("orders.csv"),
                format!("{ORDERS}o1,c1,2026-11-01,10.00\n"),
            )
            .unwrap();
        },
        None,
    );
    live.wait_for("the orders", Duration::from_secs(10), |l| {
        l.count("orders") == 1
    });
    // One made while watching is skipped as well.
    let status = std::process::Command::new("mkfifo")
        .arg(live.path("spend.csv"))
        .status()
        .unwrap();
    assert!(status.success());
    live.wait_for("the second FIFO", Duration::from_secs(10), |l| {
        l.out
            .text()
            .contains("spend.csv: not a regular file (FIFO)")
    });
    let fifo = live.path("events.csv");
    let text = live.out.text();
    let state = live.finish();
    assert!(
        text.contains("events.csv: not a regular file (FIFO); skipped"),
        "{text}"
    );
    assert_eq!(
        state.files[&fifo].state,
        FileState::Skipped {
            reason: "not a regular file (FIFO); skipped".into()
        }
    );
}

/// The cockpit's live thread, as `kpi --watch` starts it: its batches until `done` holds
/// for the latest.
fn cockpit_until(
    dir: &Path,
    db: &Path,
    what: &str,
    done: impl Fn(&kpi::ui::live::LiveBatch) -> bool,
) -> kpi::ui::live::LiveBatch {
    use kpi::ui::keymap::Msg;
    let (tx, rx) = std::sync::mpsc::channel::<Msg>();
    let options = kpi::ui::live::LiveOptions {
        db: db.to_path_buf(),
        dir: dir.to_path_buf(),
        watch: WatchOptions::default(),
        config: kpi::config::Config::default(),
    };
    kpi::ui::live::spawn(options, tx, |m| m).unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(Msg::LiveImported(batch)) if done(&batch) => return *batch,
            Ok(Msg::LiveFailed(e)) => panic!("live failed: {e}"),
            Ok(_) => {}
            Err(_) => panic!("timed out waiting for {what}"),
        }
    }
}

#[test]
fn the_cockpit_imports_a_last_line_once_settled_and_skips_a_fifo() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("exports");
    fs::create_dir(&dir).unwrap();
    let status = std::process::Command::new("mkfifo")
        .arg(dir.join("events.csv"))
        .status()
        .unwrap();
    assert!(status.success());
    fs::write(
        dir.join("orders.csv"),
        format!("{ORDERS}o1,c1,2026-11-01,10.00\no2,c2,2026-11-01,5.00"),
    )
    .unwrap();
    let db = tmp.path().join("live.db");
    let first = cockpit_until(&dir, &db, "the first round", |_| true);
    // The FIFO is noted, not counted as a failure.
    assert_eq!(first.failed, 0, "{:?}", first.state);
    assert!(matches!(
        first.state.files[&dir.join("events.csv")].state,
        FileState::Skipped { .. }
    ));
    let store = Store::open(&db).unwrap();
    let orders = || -> i64 {
        store
            .conn()
            .query_row("SELECT count(*) FROM orders", [], |r| r.get(0))
            .unwrap()
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    while orders() < 2 {
        assert!(Instant::now() < deadline, "the last line never came");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(orders(), 2);
}
