//! The SQLite store: schema, migrations, upserts, rollups and the import log, and the
//! typed reads the rest of the crate computes from. All of the crate's SQL is here.

pub mod accounts;
mod alert_state;
pub mod import_log;
mod launch;
pub use launch::DayEvents;
pub mod metric_queries;
pub mod metric_reads;
mod migrate;
pub mod notify_log;
pub mod rollup;
pub mod rollup_plan;
pub mod schema;
pub mod segment_days;
pub mod status;
pub mod sync_rejects;
pub mod upsert;
mod write_tx;

pub use write_tx::WriteTx;

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

pub use alert_state::AlertState;
pub use migrate::CURRENT_VERSION;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error(
        "the store was written by a newer kpi (schema {found}, this kpi knows up to {supported})"
    )]
    TooNew { found: u32, supported: u32 },
    #[error("cannot open store {path}: {source}")]
    Open {
        path: PathBuf,
        source: rusqlite::Error,
    },
    #[error("no store at {0}")]
    Missing(PathBuf),
    /// Reading it needs a write first (an upgrade or a repair), and it cannot be written.
    #[error(
        "store {path} needs {needs}, but it is read-only here: give this user write access to \
         the file and its folder and open it once with kpi, which repairs it"
    )]
    NeedsWrite { path: PathBuf, needs: String },
    #[error("the store {} is read-only", .0.display())]
    ReadOnly(PathBuf),
}

/// Switches to WAL. That takes an exclusive lock and SQLite does not wait for it through the
/// busy handler, so two processes opening a new store at once would see "database is
/// locked": retry for as long as any other lock is waited for.
fn set_wal(conn: &Connection) -> rusqlite::Result<()> {
    let started = std::time::Instant::now();
    loop {
        match conn.pragma_update_and_check(None, "journal_mode", "WAL", |_| Ok(())) {
            Err(rusqlite::Error::SqliteFailure(e, _))
                if e.code == rusqlite::ErrorCode::DatabaseBusy
                    && started.elapsed() < BUSY_TIMEOUT =>
            {
                std::thread::sleep(Duration::from_millis(5));
            }
            other => return other,
        }
    }
}

/// How long a writer waits for another process's lock before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

pub struct Store {
    conn: Connection,
    path: PathBuf,
    read_only: bool,
}

impl Store {
    /// Opens (creating if needed), migrates and repairs the store at `path`, for writing.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        // SQLite reads the file only at the first statement, so a file that is not a
        // store fails in `init`: both name the path.
        let opened = Connection::open(path)
            .map_err(StoreError::from)
            .and_then(|conn| Self::init(conn, path.to_path_buf()));
        opened.map_err(|e| match e {
            StoreError::Sqlite(source) => StoreError::Open {
                path: path.to_path_buf(),
                source,
            },
            other => other,
        })
    }

    /// Opens an existing store for reading only: whatever happens, this connection never
    /// writes the store, and under WAL it never waits for a writer. A store that needs an
    /// upgrade or a repair first is refused with `NeedsWrite`; see [`Store::open_for_reading`].
    ///
    /// A store that cannot be written (no write permission on the file or its folder) and
    /// has no write-ahead log pending is opened immutable, so that SQLite does not even
    /// create the `-shm` and `-wal` files beside it. Immutable means unlocked: only a
    /// writer that ignores those permissions (root) could change it underneath.
    pub fn open_read_only(path: &Path) -> Result<Self, StoreError> {
        if !path.is_file() {
            return Err(StoreError::Missing(path.to_path_buf()));
        }
        let no_pending_log = std::fs::metadata(wal_path(path)).map_or(true, |m| m.len() == 0);
        let immutable = no_pending_log && looks_read_only(path);
        match Self::open_reader(path, immutable) {
            // Without write access to the folder SQLite cannot create the shared-memory
            // file a WAL reader needs; with no log to read, nothing is lost without it.
            Err(StoreError::Open { source, .. })
                if !immutable && no_pending_log && cannot_open(&source) =>
            {
                Self::open_reader(path, true)
            }
            other => other,
        }
    }

    /// [`Store::open_read_only`], upgrading or repairing the store first (one write, in one
    /// transaction) when it needs it and can be written.
    pub fn open_for_reading(path: &Path) -> Result<Self, StoreError> {
        match Self::open_read_only(path) {
            Err(StoreError::NeedsWrite { needs, .. }) if !looks_read_only(path) => {
                match Self::open(path) {
                    Ok(store) => drop(store),
                    Err(StoreError::Open { source, .. } | StoreError::Sqlite(source))
                        if cannot_write(&source) =>
                    {
                        return Err(StoreError::NeedsWrite {
                            path: path.to_path_buf(),
                            needs,
                        });
                    }
                    Err(other) => return Err(other),
                }
                Self::open_read_only(path)
            }
            other => other,
        }
    }

    fn open_reader(path: &Path, immutable: bool) -> Result<Self, StoreError> {
        let open_error = |source| StoreError::Open {
            path: path.to_path_buf(),
            source,
        };
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY
            | OpenFlags::SQLITE_OPEN_URI
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let uri = format!(
            "file:{}?mode=ro{}",
            uri_path(path),
            if immutable { "&immutable=1" } else { "" }
        );
        let conn = Connection::open_with_flags(uri, flags).map_err(open_error)?;
        // A reader waits only while SQLite recovers a crashed writer's log.
        conn.busy_timeout(BUSY_TIMEOUT).map_err(open_error)?;
        // The first read opens the log; its failure is the open's.
        let version = migrate::version(&conn).map_err(|e| match e {
            StoreError::Sqlite(source) => open_error(source),
            other => other,
        })?;
        // A store that lacks only what writers keep for themselves reads as it is.
        let needs = if version < migrate::READABLE_SINCE {
            Some(format!(
                "an upgrade from schema {version} to {CURRENT_VERSION}"
            ))
        } else {
            let damage = migrate::diagnose(&conn)?;
            (!damage.is_none()).then(|| format!("a repair of its {}", damage.describe()))
        };
        if let Some(needs) = needs {
            return Err(StoreError::NeedsWrite {
                path: path.to_path_buf(),
                needs,
            });
        }
        Ok(Self {
            conn,
            path: path.to_path_buf(),
            read_only: true,
        })
    }

    /// A private in-memory store, for tests.
    pub fn open_in_memory() -> Result<Self, StoreError> {
        Self::init(Connection::open_in_memory()?, PathBuf::from(":memory:"))
    }

    fn init(mut conn: Connection, path: PathBuf) -> Result<Self, StoreError> {
        conn.busy_timeout(BUSY_TIMEOUT)?;
        // WAL lets a second process read (and queue writes) while the cockpit runs.
        set_wal(&conn)?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        migrate::migrate(&mut conn)?;
        Ok(Self {
            conn,
            path,
            read_only: false,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether this connection was opened read-only (`open_read_only`).
    pub fn is_read_only(&self) -> bool {
        self.read_only
    }

    /// Read access for the reads of `store/`. Integration tests and benches compare with
    /// raw SQLite, so the `test-fixtures` feature lends it to them; the library outside
    /// `store/` never uses it (`tests/layering.rs`).
    #[cfg(not(feature = "test-fixtures"))]
    pub(crate) fn conn(&self) -> &Connection {
        &self.conn
    }

    /// Read access for the reads of `store/`, and for integration tests and benches that
    /// compare with raw SQLite; the library outside `store/` never uses it
    /// (`tests/layering.rs`).
    #[cfg(feature = "test-fixtures")]
    pub fn conn(&self) -> &Connection {
        &self.conn
    }

    /// Write access, for code inside `store/` only.
    pub(crate) fn conn_mut(&mut self) -> &mut Connection {
        &mut self.conn
    }
}

fn wal_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push("-wal");
    PathBuf::from(name)
}

/// Whether a writer may open the store at `path` (a new one: its folder). A store whose
/// permission bits deny writing is still read, never written.
pub fn permits_writing(path: &Path) -> bool {
    !looks_read_only(path)
}

/// Whether the permission bits deny writing the store or creating files beside it. Bits,
/// not `access(2)`: root may write anything, yet a store someone made read-only is meant
/// to stay unchanged.
fn looks_read_only(path: &Path) -> bool {
    let read_only = |p: &Path| std::fs::metadata(p).is_ok_and(|m| m.permissions().readonly());
    let folder = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    read_only(path) || read_only(folder)
}

fn cannot_open(error: &rusqlite::Error) -> bool {
    matches!(
        error.sqlite_error_code(),
        Some(rusqlite::ErrorCode::CannotOpen | rusqlite::ErrorCode::ReadOnly)
    )
}

fn cannot_write(error: &rusqlite::Error) -> bool {
    matches!(
        error.sqlite_error_code(),
        Some(
            rusqlite::ErrorCode::CannotOpen
                | rusqlite::ErrorCode::ReadOnly
                | rusqlite::ErrorCode::PermissionDenied
        )
    )
}

/// `path` for a `file:` URI: every byte but the unreserved ones percent-encoded, so `?`,
/// `#` and `%` in a folder name stay part of the path.
fn uri_path(path: &Path) -> String {
    let text = path.to_string_lossy();
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"/-._~".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_contract_column_exists_in_the_schema() {
        let store = Store::open_in_memory().unwrap();
        for table in schema::TABLES {
            let mut stmt = store
                .conn()
                .prepare(&format!(
                    "SELECT name FROM pragma_table_info('{}')",
                    table.name
                ))
                .unwrap();
            let cols: Vec<String> = stmt
                .query_map([], |r| r.get(0))
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap();
            assert!(!cols.is_empty(), "table {} missing", table.name);
            for c in table.columns {
                assert!(
                    cols.iter().any(|x| x == c.name),
                    "{}.{} missing",
                    table.name,
                    c.name
                );
                if let schema::ColumnKind::Timestamp {
                    day_column: Some(day),
                } = c.kind
                {
                    assert!(
                        cols.iter().any(|x| x == day),
                        "{}.{day} missing",
                        table.name
                    );
                }
            }
            assert!(
                cols.iter().any(|x| x == table.dated_by),
                "{}.{} (dated_by) missing",
                table.name,
                table.dated_by
            );
            if let schema::RowKey::Derived { key_column, .. } = table.key {
                assert!(
                    cols.iter().any(|x| x == key_column),
                    "{}.{key_column} missing",
                    table.name
                );
            }
        }
        assert_eq!(schema::TABLES.len(), 13);
    }

    #[test]
    fn migration_records_the_schema_version_and_reopens() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.db");
        drop(Store::open(&path).unwrap());
        let store = Store::open(&path).unwrap();
        let v: u32 = store
            .conn()
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .unwrap();
        assert_eq!(v, CURRENT_VERSION);
        let mode: String = store
            .conn()
            .pragma_query_value(None, "journal_mode", |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
    }

    #[test]
    fn processes_opening_a_new_store_at_once_all_succeed() {
        let dir = tempfile::tempdir().unwrap();
        for round in 0..5 {
            let path = dir.path().join(format!("s{round}.db"));
            let openers: Vec<_> = (0..4)
                .map(|_| {
                    let path = path.clone();
                    std::thread::spawn(move || Store::open(&path).map(drop))
                })
                .collect();
            for opener in openers {
                opener.join().unwrap().unwrap();
            }
        }
    }

    #[test]
    fn a_store_from_before_the_rollups_gets_them_built_on_open() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.db");
        {
            let c = Connection::open(&path).unwrap();
            c.execute_batch(migrate::MIGRATIONS[0]).unwrap();
            c.pragma_update(None, "user_version", 1).unwrap();
            c.execute(
                "INSERT INTO orders (order_id, customer_id, order_date, revenue)
                 VALUES ('o1', 'c1', '2025-06-01', 1250)",
                [],
            )
            .unwrap();
        }
        let store = Store::open(&path).unwrap();
        let revenue: i64 = store
            .conn()
            .query_row("SELECT SUM(revenue) FROM ru_orders_day", [], |r| r.get(0))
            .unwrap();
        assert_eq!(revenue, 1250);
        let orders = store.table_status().unwrap();
        let orders = orders.iter().find(|t| t.table == "orders").unwrap();
        assert_eq!(orders.rows, 1);
    }

    #[test]
    fn rollups_computed_under_an_older_rule_are_rebuilt_on_open() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.db");
        {
            let store = Store::open(&path).unwrap();
            store
                .conn()
                .execute_batch(
                    "INSERT INTO orders (order_id, customer_id, order_date, revenue)
                     VALUES ('o1', 'c1', '2024-02-29', 1250);
                     -- As version 4 counted it: out of the windows from 28 February on.
                     INSERT INTO ru_repeat_delta VALUES ('2024-02-29', 1, 0), ('2025-02-28', -1, 0);",
                )
                .unwrap();
            store.conn().pragma_update(None, "user_version", 4).unwrap();
        }
        let store = Store::open(&path).unwrap();
        let deltas: Vec<(String, i64)> = store
            .conn()
            .prepare("SELECT day, ge1 FROM ru_repeat_delta ORDER BY day")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(
            deltas,
            [
                ("2024-02-29".to_string(), 1),
                ("2025-03-01".to_string(), -1)
            ]
        );
    }

    #[test]
    fn a_store_from_a_newer_kpi_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.db");
        {
            let c = Connection::open(&path).unwrap();
            c.pragma_update(None, "user_version", CURRENT_VERSION + 1)
                .unwrap();
        }
        let err = Store::open(&path).err().unwrap();
        assert!(err.to_string().contains("newer kpi"), "{err}");
    }
}
