//! What the Data pane shows of the watched folder: each file's last outcome.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileState {
    Imported {
        rows_upserted: u64,
        rows_rejected: u64,
        tail: bool,
    },
    /// Could not be imported as it is; tried again when it changes.
    Failed { reason: String },
    /// The store could not take the file (locked, disk full): tried again at `next_retry`
    /// (local `HH:MM:SS`), waiting twice as long after each failed `attempt`.
    Retrying {
        reason: String,
        attempt: u32,
        next_retry: String,
    },
    /// Not a regular file (a FIFO, socket or device): never opened.
    Skipped { reason: String },
    /// Deleted from the folder; its rows stay in the store.
    Gone,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WatchedFile {
    pub state: FileState,
    /// RFC 3339 time of the last change of state.
    pub at: String,
}

/// The watched folder and the last outcome of each file in it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WatchState {
    pub dir: PathBuf,
    pub files: BTreeMap<PathBuf, WatchedFile>,
    /// Files imported since the watch started.
    pub imports: u64,
    pub failures: u64,
    /// RFC 3339 time of the last successful import.
    pub last_update: Option<String>,
}

impl WatchState {
    pub fn new(dir: &Path) -> Self {
        Self {
            dir: dir.to_path_buf(),
            ..Self::default()
        }
    }

    pub fn record(&mut self, path: &Path, state: FileState, at: String) {
        match &state {
            FileState::Imported { .. } => {
                self.imports += 1;
                self.last_update = Some(at.clone());
            }
            FileState::Failed { .. } | FileState::Retrying { .. } => self.failures += 1,
            FileState::Skipped { .. } | FileState::Gone => {}
        }
        self.files
            .insert(path.to_path_buf(), WatchedFile { state, at });
    }

    /// Files whose last import failed (retried or not), for the Data pane and alerts.
    pub fn failed(&self) -> impl Iterator<Item = (&PathBuf, &str)> {
        self.files.iter().filter_map(|(p, f)| match &f.state {
            FileState::Failed { reason } | FileState::Retrying { reason, .. } => {
                Some((p, reason.as_str()))
            }
            _ => None,
        })
    }
}
