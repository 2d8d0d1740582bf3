//! The SQLite store: schema, migrations, upserts, rollups and the import log.
//! This is the only module whose SQL writes.

mod alert_state;
pub mod import_log;
mod migrate;
pub mod rollup;
pub mod schema;
pub mod status;
pub mod upsert;

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::Connection;

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
}

impl Store {
    /// Opens (creating if needed) and migrates the store at `path`.
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
        let before = migrate::migrate(&mut conn)?;
        let mut store = Self { conn, path };
        if before > 0 && before < rollup::ROLLUPS_CURRENT_SINCE {
            // A store whose rollups were computed otherwise (or not at all): rebuild them
            // from its rows once.
            rollup::refresh_all(&mut store)?;
        }
        Ok(store)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Read access for `metrics/`, `alerts/` and the Data pane's loaders.
    pub fn conn(&self) -> &Connection {
        &self.conn
    }

    /// Write access, for code inside `store/` only.
    pub(crate) fn conn_mut(&mut self) -> &mut Connection {
        &mut self.conn
    }
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
