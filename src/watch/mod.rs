//! File watching for live monitoring (SPEC §7): notify (or polling) → debounced, settled
//! paths → the importer. The watcher knows nothing of the store; `follow` ties the two.

mod debounce;
mod filter;
pub mod follow;
mod state;

use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::thread;
use std::time::{Duration, Instant};

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use notify::event::{AccessKind, AccessMode};
use notify::{EventKind, RecommendedWatcher, RecursiveMode, Watcher};

pub use debounce::{Debouncer, FileLook, GROWING_REPORT_EVERY, Settled};
pub use filter::is_input;
pub use state::{FileState, WatchState, WatchedFile};

#[derive(Debug, Clone)]
pub struct WatchOptions {
    /// Poll instead of relying on file-system events (network mounts).
    pub poll: bool,
    pub recursive: bool,
    /// How long a file must stay quiet before it is imported.
    pub quiet: Duration,
    /// How often the polling watcher scans.
    pub poll_interval: Duration,
}

impl Default for WatchOptions {
    fn default() -> Self {
        Self {
            poll: false,
            recursive: false,
            quiet: Duration::from_millis(50),
            poll_interval: Duration::from_millis(500),
        }
    }
}

/// What the watcher reports, in the order it happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WatchEvent {
    /// Input files that were created, grown, replaced or renamed into place, and settled
    /// (or, for a line file, kept growing for [`GROWING_REPORT_EVERY`]): their
    /// complete lines can be imported.
    Changed(Vec<PathBuf>),
    /// Input files that disappeared (their rows stay in the store).
    Removed(Vec<PathBuf>),
    /// The watcher itself failed (e.g. the folder was removed); it may keep running.
    Error(String),
}

#[derive(Debug, thiserror::Error)]
#[error("cannot watch {dir}: {reason}")]
pub struct WatchError {
    pub dir: PathBuf,
    pub reason: String,
}

/// A running watch on one folder. Dropping it stops the watch and its threads.
pub struct DirWatcher {
    // Held for its Drop: stopping notify closes the raw channel, which ends the thread.
    _notify: Option<RecommendedWatcher>,
    stop: Arc<AtomicBool>,
    events: Receiver<WatchEvent>,
}

impl DirWatcher {
    /// Starts watching `dir`. Files already there are not reported: list them with
    /// [`scan`] and import them first, then follow the events.
    pub fn start(dir: &Path, options: &WatchOptions) -> Result<Self, WatchError> {
        let fail = |reason: String| WatchError {
            dir: dir.to_path_buf(),
            reason,
        };
        if !dir.is_dir() {
            return Err(fail("not a folder".into()));
        }
        let (raw_tx, raw_rx) = mpsc::channel::<notify::Result<notify::Event>>();
        let stop = Arc::new(AtomicBool::new(false));
        let notify = if options.poll {
            // The baseline is taken before `start` returns, so a file written right after
            // it is seen as new rather than absorbed into the baseline.
            let baseline = look_all(dir, options.recursive);
            let (dir, recursive, interval, stop) = (
                dir.to_path_buf(),
                options.recursive,
                options.poll_interval,
                Arc::clone(&stop),
            );
            thread::Builder::new()
                .name("kpi-poll".into())
                .spawn(move || poll_loop(&dir, recursive, interval, baseline, &raw_tx, &stop))
                .map_err(|e| fail(e.to_string()))?;
            None
        } else {
            let mode = if options.recursive {
                RecursiveMode::Recursive
            } else {
                RecursiveMode::NonRecursive
            };
            let mut watcher = RecommendedWatcher::new(raw_tx, notify::Config::default())
                .map_err(|e| fail(e.to_string()))?;
            watcher.watch(dir, mode).map_err(|e| fail(e.to_string()))?;
            Some(watcher)
        };

        let (tx, events) = mpsc::channel();
        let quiet = options.quiet;
        thread::Builder::new()
            .name("kpi-watch".into())
            .spawn(move || debounce_loop(&raw_rx, &tx, quiet))
            .map_err(|e| fail(e.to_string()))?;
        Ok(Self {
            _notify: notify,
            stop,
            events,
        })
    }

    pub fn events(&self) -> &Receiver<WatchEvent> {
        &self.events
    }
}

impl Drop for DirWatcher {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// The polling fallback for file systems that send no events (network mounts).
/// notify's own poller compares modification times to the second, which misses a log
/// that grows twice within a second; this one compares size and full-precision time.
fn poll_loop(
    dir: &Path,
    recursive: bool,
    interval: Duration,
    mut before: BTreeMap<PathBuf, FileLook>,
    raw: &Sender<notify::Result<notify::Event>>,
    stop: &AtomicBool,
) {
    while !stop.load(Ordering::Relaxed) {
        thread::sleep(interval);
        let now = look_all(dir, recursive);
        let changed = now
            .iter()
            .filter(|(path, look)| before.get(*path) != Some(look))
            .map(|(path, _)| path)
            .chain(before.keys().filter(|path| !now.contains_key(*path)));
        let mut event = notify::Event::new(notify::EventKind::Any);
        for path in changed {
            event = event.add_path(path.clone());
        }
        if !event.paths.is_empty() && raw.send(Ok(event)).is_err() {
            return;
        }
        before = now;
    }
}

fn debounce_loop(
    raw: &Receiver<notify::Result<notify::Event>>,
    out: &Sender<WatchEvent>,
    quiet: Duration,
) {
    let mut debouncer = Debouncer::new(quiet);
    loop {
        let wait = debouncer
            .next_deadline(Instant::now())
            .unwrap_or(Duration::from_secs(3600));
        match raw.recv_timeout(wait.max(Duration::from_millis(5))) {
            Ok(Ok(event)) if is_change(&event.kind) => {
                let now = Instant::now();
                for path in event.paths.into_iter().filter(|p| is_input(p)) {
                    debouncer.touch(path, now);
                }
            }
            Ok(Ok(_)) => {}
            Ok(Err(err)) => {
                if out.send(WatchEvent::Error(err.to_string())).is_err() {
                    return;
                }
            }
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => return,
        }
        let settled = debouncer.ready(Instant::now(), FileLook::of);
        if settled.is_empty() {
            continue;
        }
        let (changed, removed): (Vec<_>, Vec<_>) = settled
            .into_iter()
            .partition(|s| matches!(s, Settled::Changed(_)));
        let paths = |v: Vec<Settled>| {
            v.into_iter()
                .map(|s| match s {
                    Settled::Changed(p) | Settled::Removed(p) => p,
                })
                .collect::<Vec<_>>()
        };
        let events = [
            WatchEvent::Changed(paths(changed)),
            WatchEvent::Removed(paths(removed)),
        ];
        for event in events {
            let empty =
                matches!(&event, WatchEvent::Changed(v) | WatchEvent::Removed(v) if v.is_empty());
            if !empty && out.send(event).is_err() {
                return;
            }
        }
    }
}

/// Whether an event can mean new content. Opening, reading and closing a file unwritten
/// cannot: the importer does all three to every file it imports, and taking them for
/// changes would import the folder over and over. A writer closing its file can.
fn is_change(kind: &EventKind) -> bool {
    match kind {
        EventKind::Access(access) => *access == AccessKind::Close(AccessMode::Write),
        _ => true,
    }
}

fn look_all(dir: &Path, recursive: bool) -> BTreeMap<PathBuf, FileLook> {
    scan(dir, recursive)
        .unwrap_or_default()
        .into_iter()
        .map(|path| {
            let look = FileLook::of(&path);
            (path, look)
        })
        .collect()
}

/// The input files in `dir` now, sorted by name (so a folder imports in a stable order).
pub fn scan(dir: &Path, recursive: bool) -> std::io::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let mut folders = vec![dir.to_path_buf()];
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(&folder)? {
            let entry = entry?;
            let path = entry.path();
            let kind = entry.file_type()?;
            if kind.is_dir() {
                if recursive && is_input_folder(&path) {
                    folders.push(path);
                }
            } else if is_input(&path) {
                out.push(path);
            }
        }
    }
    out.sort();
    Ok(out)
}

fn is_input_folder(path: &Path) -> bool {
    path.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| !n.starts_with('.') && !n.ends_with(".rejects"))
}
