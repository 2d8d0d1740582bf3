//! `kpi --watch DIR`: the live thread. It owns its own (writing) store connection,
//! imports what the folder holds, then every settled change, and tells the event loop;
//! the loop asks the worker for a fresh snapshot. Imports never run on the UI thread.

use std::path::PathBuf;
use std::sync::mpsc::{RecvTimeoutError, Sender};
use std::thread;
use std::time::{Duration, Instant};

use chrono::Local;

use crate::config::Config;
use crate::import::{FailureKind, ImportOptions};
use crate::store::Store;
use crate::store::rollup::Touched;
use crate::watch::follow::{FileOutcome, FollowError, Follower, scan_named};
use crate::watch::{DirWatcher, WatchEvent, WatchOptions, WatchState};

use super::keymap::Msg;

/// The outcome of one round of imports, for the status bar and the Data pane.
#[derive(Debug, Clone, PartialEq)]
pub struct LiveBatch {
    pub state: WatchState,
    /// Local time the round finished (`HH:MM:SS`).
    pub at: String,
    /// Files imported (successfully) in this round.
    pub imported: usize,
    pub failed: usize,
    /// The days the round's imports wrote, by table: what the worker recomputes.
    pub touched: Touched,
}

pub struct LiveOptions {
    pub db: PathBuf,
    pub dir: PathBuf,
    pub watch: WatchOptions,
    pub config: Config,
}

/// Starts the live thread; its messages go through `send`, wrapped by `wrap`.
pub fn spawn<E: Send + 'static>(
    options: LiveOptions,
    send: Sender<E>,
    wrap: fn(Msg) -> E,
) -> std::io::Result<()> {
    thread::Builder::new()
        .name("kpi-live".into())
        .spawn(move || {
            if let Err(err) = follow(&options, &send, wrap) {
                let _ = send.send(wrap(Msg::LiveFailed(format!("{err:#}"))));
            }
        })
        .map(|_| ())
}

fn follow<E: 'static>(
    options: &LiveOptions,
    send: &Sender<E>,
    wrap: fn(Msg) -> E,
) -> Result<(), FollowError> {
    let mut store = Store::open(&options.db)?;
    let import = ImportOptions {
        config: options.config.clone(),
        ..ImportOptions::default()
    };
    let mut follower = Follower::new(&options.dir, import);
    // A few redraws a second are enough to watch a big file go in.
    let progress_to = send.clone();
    let mut last_sent: Option<Instant> = None;
    follower.report_progress(Box::new(move |path, at| {
        if last_sent.is_some_and(|t| t.elapsed() < Duration::from_millis(250)) {
            return;
        }
        last_sent = Some(Instant::now());
        let file = path.file_name().map_or_else(
            || path.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        );
        // The cockpit has gone: the import finishes anyway.
        let _ = progress_to.send(wrap(Msg::ImportProgress { file, at }));
    }));
    // Watch first, then scan: a file written in between is seen by both, never by neither.
    let watcher = DirWatcher::start(&options.dir, &options.watch)?;
    let initial = scan_named(&options.dir, options.watch.recursive)?;
    let total = initial.len();
    let mut outcomes = Vec::with_capacity(total);
    for (done, path) in initial.iter().enumerate() {
        if send.send(wrap(Msg::LiveProgress { done, total })).is_err() {
            return Ok(());
        }
        outcomes.extend(follower.import_changed(&mut store, std::slice::from_ref(path)));
    }
    if !report(send, wrap, &follower.state, &outcomes) {
        return Ok(());
    }
    loop {
        // An hour stands for "nothing due": events wake the thread anyway.
        let wait = follower
            .next_due(Instant::now())
            .unwrap_or(Duration::from_secs(3600));
        let (mut outcomes, event) = match watcher.events().recv_timeout(wait) {
            Ok(WatchEvent::Changed(paths)) => (follower.import_changed(&mut store, &paths), true),
            Ok(WatchEvent::Removed(paths)) => {
                follower.removed(&paths);
                (Vec::new(), true)
            }
            Ok(WatchEvent::Error(reason)) => {
                if send.send(wrap(Msg::LiveFailed(reason))).is_err() {
                    return Ok(());
                }
                continue;
            }
            Err(RecvTimeoutError::Timeout) => (Vec::new(), false),
            Err(RecvTimeoutError::Disconnected) => break,
        };
        outcomes.extend(follower.import_due(&mut store, Instant::now()));
        if (event || !outcomes.is_empty()) && !report(send, wrap, &follower.state, &outcomes) {
            return Ok(());
        }
    }
    Err(FollowError::Stopped(options.dir.clone()))
}

/// Sends a batch; false when the cockpit is gone.
fn report<E>(
    send: &Sender<E>,
    wrap: fn(Msg) -> E,
    state: &WatchState,
    outcomes: &[FileOutcome],
) -> bool {
    let mut touched = Touched::default();
    let mut imported = 0;
    for report in outcomes.iter().filter_map(|o| o.result.as_ref().ok()) {
        imported += 1;
        touched.merge(&report.touched);
    }
    // A skipped FIFO did not fail: the Data pane notes it.
    let failed = outcomes
        .iter()
        .filter(|o| {
            o.result
                .as_ref()
                .is_err_and(|e| e.kind != FailureKind::NotRegularFile)
        })
        .count();
    let batch = LiveBatch {
        state: state.clone(),
        at: Local::now().format("%H:%M:%S").to_string(),
        imported,
        failed,
        touched,
    };
    send.send(wrap(Msg::LiveImported(Box::new(batch)))).is_ok()
}
