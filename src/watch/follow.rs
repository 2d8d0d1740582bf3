//! Following a folder: import what is there, then every settled change.
//! Used headless by `kpi import --watch` and, on its worker thread, by the cockpit.
//!
//! Changes import their complete lines only (a file may still be being written). A last
//! line without its newline is imported once the file stayed unchanged for
//! [`Follower::settle`]. A file the store could not take (locked, disk full) is tried
//! again after 1 s, 2 s, 4 s … up to a minute.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::RecvTimeoutError;
use std::time::{Duration, Instant};

use chrono::{Local, SecondsFormat, Utc};

use super::{DirWatcher, FileLook, FileState, WatchEvent, WatchOptions, WatchState, scan};
use crate::import::{
    FailureKind, ImportError, ImportOptions, ImportProgress, ImportReport, import_file,
    import_file_with_progress,
};
use crate::store::{Store, StoreError};

/// Why following a folder stopped.
#[derive(Debug, thiserror::Error)]
pub enum FollowError {
    #[error(transparent)]
    Watch(#[from] super::WatchError),
    #[error("cannot list {}: {source}", dir.display())]
    Scan {
        dir: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Writing the progress lines failed.
    #[error(transparent)]
    Output(#[from] std::io::Error),
    #[error("the watcher of {} stopped", .0.display())]
    Stopped(PathBuf),
}

/// Lists `dir`, naming it if that fails.
pub fn scan_named(dir: &Path, recursive: bool) -> Result<Vec<PathBuf>, FollowError> {
    scan(dir, recursive).map_err(|source| FollowError::Scan {
        dir: dir.to_path_buf(),
        source,
    })
}

/// How long a file ending in a line without its newline must stay unchanged before that
/// line counts as finished. Far longer than the debounce: a writer flushing a buffer may
/// pause mid-line, and a half line imported early would be rejected or stored cut.
pub const UNFINISHED_LINE_SETTLE: Duration = Duration::from_secs(1);
/// The wait before the first retry of a file the store could not take; it doubles with
/// each failure up to [`RETRY_MAX`].
pub const RETRY_FIRST: Duration = Duration::from_secs(1);
pub const RETRY_MAX: Duration = Duration::from_secs(60);

/// The outcome of importing one file.
#[derive(Debug)]
pub struct FileOutcome {
    pub path: PathBuf,
    pub result: Result<ImportReport, ImportError>,
    /// When the import failed for a reason that may pass (the store was locked or
    /// full): how soon it is tried again.
    pub retry_in: Option<Duration>,
}

impl FileOutcome {
    /// The one-line summary printed per file (the same line as `kpi import`).
    pub fn line(&self) -> String {
        match (&self.result, self.retry_in) {
            (Ok(report), _) => report.to_string(),
            (Err(e), Some(wait)) => format!("{e} (trying again in {} s)", wait.as_secs()),
            (Err(e), None) => format!("{e}"),
        }
    }
}

fn now() -> String {
    Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// The state an import's outcome leaves a file in, without retries.
fn state_of(result: &Result<ImportReport, ImportError>) -> FileState {
    match result {
        Ok(r) => FileState::Imported {
            rows_upserted: r.rows_upserted,
            rows_rejected: r.rows_rejected,
            tail: r.tail,
        },
        Err(e) if e.kind == FailureKind::NotRegularFile => FileState::Skipped {
            reason: e.reason.clone(),
        },
        Err(e) => FileState::Failed {
            reason: e.reason.clone(),
        },
    }
}

/// Imports each path in its own transaction and records the outcome in `state`.
/// A file that fails does not stop the others. (No retries: see [`Follower`].)
pub fn import_paths(
    store: &mut Store,
    paths: &[PathBuf],
    options: &ImportOptions,
    state: &mut WatchState,
) -> Vec<FileOutcome> {
    paths
        .iter()
        .map(|path| {
            let result = import_file(store, path, options);
            state.record(path, state_of(&result), now());
            FileOutcome {
                path: path.clone(),
                result,
                retry_in: None,
            }
        })
        .collect()
}

/// Marks deleted files as gone; their rows stay in the store.
pub fn mark_removed(paths: &[PathBuf], state: &mut WatchState) {
    for path in paths {
        state.record(path, FileState::Gone, now());
    }
}

/// A file the store could not take, to try again.
#[derive(Debug, Clone, Copy)]
struct Retry {
    attempt: u32,
    at: Instant,
}

/// The wait after the `attempt`th failure in a row: 1 s, 2 s, 4 s … capped at a minute.
pub fn retry_delay(attempt: u32) -> Duration {
    RETRY_FIRST
        .saturating_mul(1 << attempt.saturating_sub(1).min(16))
        .min(RETRY_MAX)
}

/// Imports a watched folder's changes and keeps what is due later: last lines waiting
/// for their file to settle, files waiting for a retry.
#[derive(Debug)]
pub struct Follower {
    options: ImportOptions,
    pub state: WatchState,
    /// How long a file with an unfinished last line must stay unchanged before that line
    /// is imported.
    pub settle: Duration,
    /// Files whose last import left a line without its newline, with when that import
    /// ran and how the file looked then.
    unfinished: BTreeMap<PathBuf, (Instant, FileLook)>,
    retries: BTreeMap<PathBuf, Retry>,
    /// Told how far a running import has come (the cockpit's Data pane shows it).
    progress: Option<ProgressReporter>,
}

/// Where a follower reports the progress of the file it is importing.
pub type ProgressSink = dyn FnMut(&Path, ImportProgress);

struct ProgressReporter(Box<ProgressSink>);

impl std::fmt::Debug for ProgressReporter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ProgressReporter")
    }
}

impl Follower {
    pub fn new(dir: &Path, options: ImportOptions) -> Self {
        Self {
            options,
            state: WatchState::new(dir),
            settle: UNFINISHED_LINE_SETTLE,
            unfinished: BTreeMap::new(),
            retries: BTreeMap::new(),
            progress: None,
        }
    }

    /// Reports the progress of every import from now on to `sink`.
    pub fn report_progress(&mut self, sink: Box<ProgressSink>) {
        self.progress = Some(ProgressReporter(sink));
    }

    /// Imports the complete lines of files found, created or changed.
    pub fn import_changed(&mut self, store: &mut Store, paths: &[PathBuf]) -> Vec<FileOutcome> {
        paths
            .iter()
            .map(|path| self.import(store, path, false))
            .collect()
    }

    /// Marks deleted files as gone (their rows stay) and forgets what was due for them.
    pub fn removed(&mut self, paths: &[PathBuf]) {
        for path in paths {
            self.unfinished.remove(path);
            self.retries.remove(path);
        }
        mark_removed(paths, &mut self.state);
    }

    /// Imports what is due at `now`: unfinished last lines of files that stayed
    /// unchanged for `settle`, and retries.
    pub fn import_due(&mut self, store: &mut Store, now: Instant) -> Vec<FileOutcome> {
        let mut outcomes = Vec::new();
        let settled: Vec<PathBuf> = self
            .unfinished
            .iter()
            .filter(|(_, (since, _))| now.saturating_duration_since(*since) >= self.settle)
            .map(|(path, _)| path.clone())
            .collect();
        for path in settled {
            let look = FileLook::of(&path);
            if self
                .unfinished
                .get(&path)
                .is_some_and(|(_, seen)| *seen == look)
            {
                outcomes.push(self.import(store, &path, true));
            } else {
                // Written to since: its event will come; wait for quiet from now on.
                self.unfinished.insert(path, (now, look));
            }
        }
        let due: Vec<PathBuf> = self
            .retries
            .iter()
            .filter(|(_, retry)| retry.at <= now)
            .map(|(path, _)| path.clone())
            .collect();
        for path in due {
            // Complete lines only: the file may have grown since; a last line without its
            // newline gets its own settle wait.
            outcomes.push(self.import(store, &path, false));
        }
        outcomes
    }

    /// How long until something is due, for the caller's wait.
    pub fn next_due(&self, now: Instant) -> Option<Duration> {
        let settles = self
            .unfinished
            .values()
            .map(|(since, _)| *since + self.settle);
        let retries = self.retries.values().map(|r| r.at);
        settles
            .chain(retries)
            .min()
            .map(|at| at.saturating_duration_since(now))
    }

    fn import(&mut self, store: &mut Store, path: &Path, file_is_complete: bool) -> FileOutcome {
        let options = ImportOptions {
            file_is_complete,
            ..self.options.clone()
        };
        let result = match self.progress.as_mut() {
            Some(ProgressReporter(sink)) => {
                import_file_with_progress(store, path, &options, &mut |at| sink(path, at))
            }
            None => import_file(store, path, &options),
        };
        let now_instant = Instant::now();
        let mut retry_in = None;
        let state = match &result {
            Ok(report) => {
                self.retries.remove(path);
                if report.held_back_bytes > 0 {
                    self.unfinished
                        .insert(path.to_path_buf(), (now_instant, FileLook::of(path)));
                } else {
                    self.unfinished.remove(path);
                }
                state_of(&result)
            }
            Err(e) if e.kind == FailureKind::Store => {
                let attempt = self.retries.get(path).map_or(1, |r| r.attempt + 1);
                let wait = retry_delay(attempt);
                self.retries.insert(
                    path.to_path_buf(),
                    Retry {
                        attempt,
                        at: now_instant + wait,
                    },
                );
                retry_in = Some(wait);
                let next = Local::now() + chrono::Duration::from_std(wait).unwrap_or_default();
                FileState::Retrying {
                    reason: e.reason.clone(),
                    attempt,
                    next_retry: next.format("%H:%M:%S").to_string(),
                }
            }
            Err(_) => {
                // Tried again when the file changes, not before.
                self.retries.remove(path);
                self.unfinished.remove(path);
                state_of(&result)
            }
        };
        self.state.record(path, state, now());
        FileOutcome {
            path: path.to_path_buf(),
            result,
            retry_in,
        }
    }
}

/// `kpi import --watch DIR`: keeps the store current without a screen until `stop` is
/// set, printing one line per file. Returns the final state of the folder.
pub fn run_headless(
    store: &mut Store,
    dir: &Path,
    watch: &WatchOptions,
    import: &ImportOptions,
    out: &mut dyn Write,
    stop: &AtomicBool,
) -> Result<WatchState, FollowError> {
    let mut follower = Follower::new(dir, import.clone());
    // Start watching before the first scan so nothing written in between is missed.
    let watcher = DirWatcher::start(dir, watch)?;
    let initial = scan_named(dir, watch.recursive)?;
    writeln!(
        out,
        "watching {} ({} files already there)",
        dir.display(),
        initial.len()
    )?;
    for outcome in follower.import_changed(store, &initial) {
        writeln!(out, "{}", outcome.line())?;
    }
    while !stop.load(Ordering::Relaxed) {
        // Wake for what is due, and at least every 100 ms to see `stop`.
        let wait = follower
            .next_due(Instant::now())
            .map_or(POLL_STOP, |d| d.min(POLL_STOP));
        match watcher.events().recv_timeout(wait) {
            Ok(WatchEvent::Changed(paths)) => {
                for outcome in follower.import_changed(store, &paths) {
                    writeln!(out, "{}", outcome.line())?;
                }
            }
            Ok(WatchEvent::Removed(paths)) => {
                follower.removed(&paths);
                for path in paths {
                    writeln!(
                        out,
                        "{}: removed from the folder (its rows stay)",
                        path.display()
                    )?;
                }
            }
            Ok(WatchEvent::Error(reason)) => writeln!(out, "watch: {reason}")?,
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => {
                return Err(FollowError::Stopped(dir.to_path_buf()));
            }
        }
        for outcome in follower.import_due(store, Instant::now()) {
            writeln!(out, "{}", outcome.line())?;
        }
        out.flush()?;
    }
    Ok(follower.state)
}

const POLL_STOP: Duration = Duration::from_millis(100);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_wait_twice_as_long_each_time_up_to_a_minute() {
        let waits: Vec<u64> = (1..=9).map(|a| retry_delay(a).as_secs()).collect();
        assert_eq!(waits, [1, 2, 4, 8, 16, 32, 60, 60, 60]);
        assert_eq!(retry_delay(u32::MAX), RETRY_MAX);
    }
}
