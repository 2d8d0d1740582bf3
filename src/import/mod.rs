//! Readers (CSV, NDJSON, JSON) → validated typed rows → store. No UI here.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::config::Config;
use crate::store::Store;

/// What an import may do.
#[derive(Debug, Clone, Default)]
pub struct ImportOptions {
    /// Import into this table instead of the one named by the file.
    pub table: Option<String>,
    /// Reject the whole file on its first bad row.
    pub strict: bool,
    /// Header aliases and the time zone come from here.
    pub config: Config,
}

/// The one-line outcome of importing one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportReport {
    pub path: PathBuf,
    pub table: String,
    pub rows_read: u64,
    pub rows_upserted: u64,
    pub rows_rejected: u64,
    /// The file only grew since its last import and was read from where that stopped.
    pub tail: bool,
    pub duration: Duration,
}

/// A file that could not be imported at all; the store is unchanged.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {reason}")]
pub struct ImportError {
    pub path: PathBuf,
    pub reason: String,
}

/// Imports one file in one transaction (SPEC §2).
pub fn import_file(
    _store: &mut Store,
    path: &Path,
    _options: &ImportOptions,
) -> Result<ImportReport, ImportError> {
    Err(ImportError {
        path: path.to_path_buf(),
        reason: "import is not built yet".into(),
    })
}
