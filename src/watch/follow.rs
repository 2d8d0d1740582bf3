//! Following a folder: import what is there, then every settled change.
//! Used headless by `kpi import --watch` and, on its worker thread, by the cockpit.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::RecvTimeoutError;
use std::time::Duration;

use chrono::{SecondsFormat, Utc};

use super::{DirWatcher, FileState, WatchEvent, WatchOptions, WatchState, scan};
use crate::import::{ImportError, ImportOptions, ImportReport, import_file};
use crate::store::Store;

/// The outcome of importing one file.
#[derive(Debug)]
pub struct FileOutcome {
    pub path: PathBuf,
    pub result: Result<ImportReport, ImportError>,
}

impl FileOutcome {
    /// The one-line summary printed per file (the same line as `kpi import`).
    pub fn line(&self) -> String {
        match &self.result {
            Ok(report) => report.to_string(),
            Err(e) => format!("{e}"),
        }
    }
}

fn now() -> String {
    Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Imports each path in its own transaction and records the outcome in `state`.
/// A file that fails does not stop the others.
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
            let file_state = match &result {
                Ok(r) => FileState::Imported {
                    rows_upserted: r.rows_upserted,
                    rows_rejected: r.rows_rejected,
                    tail: r.tail,
                },
                Err(e) => FileState::Failed {
                    reason: e.reason.clone(),
                },
            };
            state.record(path, file_state, now());
            FileOutcome {
                path: path.clone(),
                result,
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

/// `kpi import --watch DIR`: keeps the store current without a screen until `stop` is
/// set, printing one line per file. Returns the final state of the folder.
pub fn run_headless(
    store: &mut Store,
    dir: &Path,
    watch: &WatchOptions,
    import: &ImportOptions,
    out: &mut dyn Write,
    stop: &AtomicBool,
) -> anyhow::Result<WatchState> {
    let mut state = WatchState::new(dir);
    // Start watching before the first scan so nothing written in between is missed.
    let watcher = DirWatcher::start(dir, watch)?;
    let initial = scan(dir, watch.recursive)?;
    writeln!(
        out,
        "watching {} ({} files already there)",
        dir.display(),
        initial.len()
    )?;
    for outcome in import_paths(store, &initial, import, &mut state) {
        writeln!(out, "{}", outcome.line())?;
    }
    while !stop.load(Ordering::Relaxed) {
        match watcher.events().recv_timeout(Duration::from_millis(100)) {
            Ok(WatchEvent::Changed(paths)) => {
                for outcome in import_paths(store, &paths, import, &mut state) {
                    writeln!(out, "{}", outcome.line())?;
                }
            }
            Ok(WatchEvent::Removed(paths)) => {
                mark_removed(&paths, &mut state);
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
                anyhow::bail!("the watcher of {} stopped", dir.display())
            }
        }
        out.flush()?;
    }
    Ok(state)
}
