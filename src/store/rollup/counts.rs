//! Rollup tables of counts kept by adding changes: a row holds the sum of what was added
//! under its key, and a row whose counts all come back to zero is dropped, so a table
//! kept this way equals a recount, which writes no zero rows.

use rusqlite::types::ToSql;
use rusqlite::{CachedStatement, Connection, params_from_iter};

/// A table of counts: its key columns and its count columns.
pub(super) struct Counts {
    pub table: &'static str,
    pub keys: &'static [&'static str],
    pub counts: &'static [&'static str],
}

/// Adds changes to one [`Counts`] table.
pub(super) struct CountWriter<'c> {
    add: CachedStatement<'c>,
    drop: CachedStatement<'c>,
}

impl Counts {
    pub(super) fn writer<'c>(&self, conn: &'c Connection) -> rusqlite::Result<CountWriter<'c>> {
        let (table, keys, counts) = (self.table, self.keys, self.counts);
        let columns: Vec<&str> = keys.iter().chain(counts).copied().collect();
        let placeholders: Vec<String> = (1..=columns.len()).map(|i| format!("?{i}")).collect();
        let sums: Vec<String> = counts
            .iter()
            .map(|c| format!("{c} = {c} + excluded.{c}"))
            .collect();
        let add = conn.prepare_cached(&format!(
            "INSERT INTO {table} ({}) VALUES ({}) ON CONFLICT ({}) DO UPDATE SET {}",
            columns.join(", "),
            placeholders.join(", "),
            keys.join(", "),
            sums.join(", ")
        ))?;
        let at_key: Vec<String> = keys
            .iter()
            .enumerate()
            .map(|(i, k)| format!("{k} = ?{}", i + 1))
            .collect();
        let zero: Vec<String> = counts.iter().map(|c| format!("{c} = 0")).collect();
        let drop = conn.prepare_cached(&format!(
            "DELETE FROM {table} WHERE {} AND {}",
            at_key.join(" AND "),
            zero.join(" AND ")
        ))?;
        Ok(CountWriter { add, drop })
    }
}

impl CountWriter<'_> {
    /// Adds `counts` to the row of `key`, and drops the row if that brought it to zero
    /// (counts such as repeat-purchase deltas may be negative, so any change can).
    pub(super) fn add(&mut self, key: &[&dyn ToSql], counts: &[i64]) -> rusqlite::Result<()> {
        if counts.iter().all(|c| *c == 0) {
            return Ok(());
        }
        let values = key
            .iter()
            .copied()
            .chain(counts.iter().map(|c| c as &dyn ToSql));
        self.add.execute(params_from_iter(values))?;
        self.drop.execute(params_from_iter(key.iter().copied()))?;
        Ok(())
    }
}
