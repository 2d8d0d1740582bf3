//! Write transactions that nest: a writer (an import, a rollup replacement) opens its own
//! transaction, or — inside [`Store::all_or_nothing`] — a savepoint of the caller's, so
//! several writers commit or roll back as one.

use std::ops::Deref;

use rusqlite::{Connection, Savepoint, Transaction, TransactionBehavior};

use super::Store;

/// One writer's transaction: its own, or a savepoint inside a caller's. Dropped before
/// [`commit`](Self::commit), it rolls back what it wrote.
pub enum WriteTx<'c> {
    Own(Transaction<'c>),
    Nested(Savepoint<'c>),
}

impl Deref for WriteTx<'_> {
    type Target = Connection;

    fn deref(&self) -> &Connection {
        match self {
            WriteTx::Own(tx) => tx,
            WriteTx::Nested(savepoint) => savepoint,
        }
    }
}

impl WriteTx<'_> {
    /// Commits its own transaction; a savepoint is released into the caller's, which
    /// still decides.
    pub fn commit(self) -> rusqlite::Result<()> {
        match self {
            WriteTx::Own(tx) => tx.commit(),
            WriteTx::Nested(savepoint) => savepoint.commit(),
        }
    }
}

impl Store {
    /// A transaction for one writer: `behavior` when it is the store's only one, a
    /// savepoint when a caller holds one open ([`Store::all_or_nothing`]).
    pub(crate) fn write_tx(
        &mut self,
        behavior: TransactionBehavior,
    ) -> rusqlite::Result<WriteTx<'_>> {
        if self.conn.is_autocommit() {
            Ok(WriteTx::Own(self.conn.transaction_with_behavior(behavior)?))
        } else {
            Ok(WriteTx::Nested(self.conn.savepoint()?))
        }
    }

    /// Runs `writes` in one transaction: every write they make (imports, a rollup
    /// replacement) is committed together when they return `Ok`, and rolled back together
    /// when they return an error or panic. Takes the write lock first, waiting out other
    /// writers up to the busy timeout.
    pub fn all_or_nothing<T, E>(
        &mut self,
        writes: impl FnOnce(&mut Store) -> Result<T, E>,
    ) -> Result<T, E>
    where
        E: From<rusqlite::Error>,
    {
        self.conn.execute_batch("BEGIN IMMEDIATE")?;
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| writes(&mut *self)));
        match outcome {
            Ok(Ok(value)) => match self.conn.execute_batch("COMMIT") {
                Ok(()) => Ok(value),
                Err(e) => {
                    self.roll_back();
                    Err(e.into())
                }
            },
            Ok(Err(e)) => {
                self.roll_back();
                Err(e)
            }
            Err(panic) => {
                self.roll_back();
                std::panic::resume_unwind(panic)
            }
        }
    }

    fn roll_back(&mut self) {
        // Fails only when SQLite rolled back already (an I/O or full-disk error): then
        // nothing is left to undo.
        if !self.conn.is_autocommit() {
            let _ = self.conn.execute_batch("ROLLBACK");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn count(store: &Store) -> i64 {
        store
            .conn
            .query_row("SELECT COUNT(*) FROM launch_log_probe", [], |r| r.get(0))
            .unwrap()
    }

    fn store_with_probe() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("s.db")).unwrap();
        store
            .conn
            .execute_batch("CREATE TABLE launch_log_probe (x INTEGER)")
            .unwrap();
        (dir, store)
    }

    fn write_one(store: &mut Store) -> rusqlite::Result<()> {
        let tx = store.write_tx(TransactionBehavior::Immediate)?;
        tx.execute("INSERT INTO launch_log_probe VALUES (1)", [])?;
        tx.commit()
    }

    #[test]
    fn writers_inside_all_or_nothing_commit_together() {
        let (_dir, mut store) = store_with_probe();
        store
            .all_or_nothing(|store| {
                write_one(store)?;
                write_one(store)
            })
            .unwrap();
        assert_eq!(count(&store), 2);
    }

    #[test]
    fn a_later_failure_rolls_back_writers_that_committed_inside_all_or_nothing() {
        let (_dir, mut store) = store_with_probe();
        let result: rusqlite::Result<()> = store.all_or_nothing(|store| {
            write_one(store)?;
            Err(rusqlite::Error::InvalidQuery)
        });
        assert!(result.is_err());
        assert_eq!(count(&store), 0);
        // The store is usable again, outside any transaction.
        write_one(&mut store).unwrap();
        assert_eq!(count(&store), 1);
    }

    #[test]
    fn a_panic_inside_all_or_nothing_rolls_back_and_leaves_the_store_usable() {
        let (_dir, mut store) = store_with_probe();
        let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let _: rusqlite::Result<()> = store.all_or_nothing(|store| {
                write_one(store)?;
                panic!("a writer failed");
            });
        }));
        assert!(panicked.is_err());
        assert_eq!(count(&store), 0);
        write_one(&mut store).unwrap();
        assert_eq!(count(&store), 1);
    }
}
