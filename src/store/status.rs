//! What the Data pane and `kpi report` show about the store itself.

use chrono::NaiveDate;

/// One table's row count and date range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableStatus {
    pub table: String,
    pub rows: u64,
    pub first_date: Option<NaiveDate>,
    pub last_date: Option<NaiveDate>,
    /// When a file last imported into this table (RFC 3339).
    pub last_import: Option<String>,
}

/// One row of the import log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportLogEntry {
    pub id: i64,
    pub path: String,
    pub table: Option<String>,
    pub size: u64,
    pub rows_read: u64,
    pub rows_upserted: u64,
    pub rows_rejected: u64,
    pub duration_ms: u64,
    pub imported_at: String,
    pub ok: bool,
    pub error: Option<String>,
}

/// A rejected row with its reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RejectEntry {
    pub path: String,
    pub line: u64,
    pub column: Option<String>,
    pub reason: String,
    pub raw: String,
}
