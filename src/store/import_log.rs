//! The import log and rejected rows: every import attempt leaves a row, and a successful
//! one commits its log row, its rejects and its data together.
//!
//! The log also remembers where a file's last import stopped (byte offset, a fingerprint
//! of the bytes before it and the header), so a file that only grew is read from there,
//! and what a last record read without its terminator did (`import_provisional`), so that
//! reading it again, finished, can undo that first.

use chrono::{SecondsFormat, Utc};
use rusqlite::{OptionalExtension, TransactionBehavior, params};

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

use super::rollup::{self, Touched};
use super::upsert::{self, Layout, OwnedRow, RowMarks, Upserter, Value};
use super::{Store, WriteTx};

/// Where the last successful import of a file stopped.
#[derive(Debug, Clone, PartialEq)]
pub struct ImportMark {
    /// The log row's id.
    pub id: i64,
    pub table: String,
    pub size: u64,
    pub byte_offset: u64,
    pub fingerprint: String,
    pub header: Option<String>,
    /// What the record in `byte_offset..size` (read without its terminator) did.
    pub provisional: Option<Provisional>,
}

/// What the last record of a file, read without its terminator (the file had settled),
/// did to the store. The writer may only have paused mid-record: the next import that
/// reads the record again, finished, first undoes this, so a cut record leaves neither a
/// row (a cut key, or a hash of cut values, names another row than the finished record)
/// nor a reject of its own.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Provisional {
    /// The row it inserted or changed, in `Layout::columns` order.
    pub wrote: Option<OwnedRow>,
    /// The row stored under that key before it (put back on undo); `None`: there was none.
    pub before: Option<OwnedRow>,
    /// Its reject.
    pub reject: Option<ProvisionalReject>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProvisionalReject {
    /// Its line in the file.
    pub line: u64,
    /// Its row in `rejects` (a line number alone is not unique: CR-only line ends).
    pub id: i64,
}

impl Provisional {
    pub fn is_empty(&self) -> bool {
        self.wrote.is_none() && self.reject.is_none()
    }
}

/// `Provisional` as stored in `import_provisional.record`.
#[derive(Serialize, Deserialize)]
struct StoredProvisional {
    wrote: Option<Vec<serde_json::Value>>,
    before: Option<Vec<serde_json::Value>>,
    reject: Option<ProvisionalReject>,
}

fn to_json(row: &OwnedRow) -> Vec<serde_json::Value> {
    row.iter()
        .map(|v| match v {
            Value::Null => serde_json::Value::Null,
            Value::Text(t) => serde_json::Value::String(t.to_string()),
            Value::Int(n) => (*n).into(),
            // Validated values are finite; JSON has no NaN, so one would read back as null.
            Value::Real(r) => serde_json::Number::from_f64(*r)
                .map(serde_json::Value::Number)
                .unwrap_or(serde_json::Value::Null),
        })
        .collect()
}

fn from_json(row: Vec<serde_json::Value>) -> Option<OwnedRow> {
    row.into_iter()
        .map(|v| match v {
            serde_json::Value::Null => Some(Value::Null),
            serde_json::Value::String(t) => Some(Value::Text(Cow::Owned(t))),
            serde_json::Value::Number(n) => match n.as_i64() {
                Some(i) => Some(Value::Int(i)),
                None => n.as_f64().map(Value::Real),
            },
            _ => None,
        })
        .collect()
}

impl Provisional {
    fn to_text(&self) -> Option<String> {
        if self.is_empty() {
            return None;
        }
        serde_json::to_string(&StoredProvisional {
            wrote: self.wrote.as_ref().map(to_json),
            before: self.before.as_ref().map(to_json),
            reject: self.reject,
        })
        .ok()
    }

    /// `None` for text this kpi cannot read: nothing is undone then.
    fn from_text(text: &str) -> Option<Self> {
        let stored: StoredProvisional = serde_json::from_str(text).ok()?;
        let row = |r: Option<Vec<serde_json::Value>>| match r {
            Some(r) => from_json(r).map(Some),
            None => Some(None),
        };
        Some(Self {
            wrote: row(stored.wrote)?,
            before: row(stored.before)?,
            reject: stored.reject,
        })
    }
}

/// The totals of one import, written to its log row.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ImportTotals {
    pub size: u64,
    pub fingerprint: Option<String>,
    pub byte_offset: u64,
    pub header: Option<String>,
    pub rows_read: u64,
    pub rows_upserted: u64,
    pub rows_rejected: u64,
    /// What a last record read without its terminator did (see `Provisional`).
    pub provisional: Option<Provisional>,
}

/// An import of one file in progress: one IMMEDIATE transaction.
pub struct ImportTx<'s> {
    tx: WriteTx<'s>,
    import_id: i64,
    /// `CREATE INDEX` statements of indexes dropped for a bulk load, rebuilt at commit.
    deferred_indexes: Vec<String>,
}

fn now() -> String {
    Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true)
}

impl Store {
    /// The last successful import of `path` (as logged), if any.
    pub fn last_import_mark(&self, path: &str) -> rusqlite::Result<Option<ImportMark>> {
        self.conn
            .query_row(
                "SELECT l.id, table_name, size, byte_offset, content_hash, header, p.record
                 FROM import_log l LEFT JOIN import_provisional p ON p.import_id = l.id
                 WHERE path = ?1 AND status = 'ok' ORDER BY l.id DESC LIMIT 1",
                [path],
                |r| {
                    Ok(ImportMark {
                        id: r.get(0)?,
                        table: r.get::<_, Option<String>>(1)?.unwrap_or_default(),
                        size: r.get::<_, i64>(2)?.max(0) as u64,
                        byte_offset: r.get::<_, i64>(3)?.max(0) as u64,
                        fingerprint: r.get::<_, Option<String>>(4)?.unwrap_or_default(),
                        header: r.get(5)?,
                        provisional: r
                            .get::<_, Option<String>>(6)?
                            .as_deref()
                            .and_then(Provisional::from_text),
                    })
                },
            )
            .optional()
    }

    /// Logs an import that failed; its data transaction was rolled back.
    pub fn log_failed_import(
        &self,
        path: &str,
        table: Option<&str>,
        size: u64,
        duration_ms: u64,
        error: &str,
    ) -> rusqlite::Result<()> {
        // The failed import may have been a bulk load: the store checks every row again.
        self.conn
            .pragma_update(None, "ignore_check_constraints", false)?;
        self.conn.execute(
            "INSERT INTO import_log (path, table_name, size, duration_ms, imported_at, status, error)
             VALUES (?1, ?2, ?3, ?4, ?5, 'failed', ?6)",
            params![path, table, size as i64, duration_ms as i64, now(), error],
        )?;
        Ok(())
    }

    /// Starts importing one file: takes the write lock (waiting out other writers up to
    /// the busy timeout) and opens its log row.
    pub fn begin_import(&mut self, path: &str, table: &str) -> rusqlite::Result<ImportTx<'_>> {
        // A bigger page cache keeps index pages of large tables in memory during bulk
        // loads; it is released when the connection closes.
        self.conn.pragma_update(None, "cache_size", -65_536)?;
        // Left on by a bulk load that failed (see `defer_indexes_if_empty`).
        self.conn
            .pragma_update(None, "ignore_check_constraints", false)?;
        let tx = self.write_tx(TransactionBehavior::Immediate)?;
        tx.execute(
            "INSERT INTO import_log (path, table_name, size, imported_at, status)
             VALUES (?1, ?2, 0, ?3, 'ok')",
            params![path, table, now()],
        )?;
        let import_id = tx.last_insert_rowid();
        Ok(ImportTx {
            tx,
            import_id,
            deferred_indexes: Vec::new(),
        })
    }
}

impl ImportTx<'_> {
    pub fn upserter<'a>(&'a self, layout: &'a Layout) -> rusqlite::Result<Upserter<'a>> {
        Upserter::new(&self.tx, layout)
    }

    /// For a bulk load into an empty table: drops its secondary indexes so rows go in
    /// without random index inserts, and rebuilds them (one sort each) at commit. Inside
    /// the transaction, so a killed import rolls the drop back too. Returns whether it did.
    pub fn defer_indexes_if_empty(&mut self, table: &str) -> rusqlite::Result<bool> {
        let empty = self.tx.query_row(
            &format!("SELECT NOT EXISTS (SELECT 1 FROM \"{table}\")"),
            [],
            |r| r.get::<_, bool>(0),
        )?;
        if !empty {
            return Ok(false);
        }
        let indexes: Vec<(String, String)> = self
            .tx
            .prepare(
                "SELECT name, sql FROM sqlite_master
                 WHERE type = 'index' AND tbl_name = ?1 AND sql IS NOT NULL",
            )?
            .query_map([table], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<Result<_, _>>()?;
        for (name, sql) in indexes {
            self.tx.execute(&format!("DROP INDEX \"{name}\""), [])?;
            self.deferred_indexes.push(sql);
        }
        // Every row of a load into an empty table is a new row, whole and validated: the
        // table's CHECK constraints repeat what validation checked (non-negative amounts,
        // enum values, an end after the start), and checking `x IN (…)` builds a
        // temporary table per row. They are checked again for the rows of any other load.
        self.tx
            .pragma_update(None, "ignore_check_constraints", true)?;
        Ok(!self.deferred_indexes.is_empty())
    }

    /// Drops the rejects of earlier imports of this file: a file read whole again is
    /// judged anew, so its old rejects would count twice. (A tail import keeps them: they
    /// are still the rejects of the lines before where it starts.)
    pub fn forget_earlier_rejects(&self) -> rusqlite::Result<()> {
        self.tx.execute(
            "DELETE FROM rejects WHERE import_id IN (
                 SELECT id FROM import_log
                 WHERE path = (SELECT path FROM import_log WHERE id = ?1) AND id < ?1)",
            [self.import_id],
        )?;
        Ok(())
    }

    /// Undoes what a record read without its terminator did (see `Provisional`): its row
    /// goes (the row its key had before comes back) and its reject goes. Returns the
    /// marks of the rows removed and put back, for the rollups.
    pub fn undo_provisional(
        &self,
        layout: &Layout,
        provisional: &Provisional,
    ) -> rusqlite::Result<Vec<RowMarks>> {
        if let Some(reject) = provisional.reject {
            self.tx
                .execute("DELETE FROM rejects WHERE id = ?1", [reject.id])?;
        }
        match &provisional.wrote {
            Some(wrote) => {
                upsert::undo_write(&self.tx, layout, wrote, provisional.before.as_deref())
            }
            None => Ok(Vec::new()),
        }
    }

    /// Records a rejected row; returns its id.
    pub fn add_reject(
        &self,
        line: u64,
        column: Option<&str>,
        reason: &str,
        raw: &str,
    ) -> rusqlite::Result<i64> {
        self.tx
            .prepare_cached(
                "INSERT INTO rejects (import_id, line, column, reason, raw)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )?
            .execute(params![self.import_id, line as i64, column, reason, raw])?;
        Ok(self.tx.last_insert_rowid())
    }

    /// Refreshes the touched rollups, completes the log row and commits everything.
    pub fn commit(
        self,
        totals: &ImportTotals,
        touched: &Touched,
        started: std::time::Instant,
    ) -> rusqlite::Result<()> {
        self.tx
            .pragma_update(None, "ignore_check_constraints", false)?;
        for sql in &self.deferred_indexes {
            self.tx.execute(sql, [])?;
        }
        rollup::refresh(&self.tx, touched)?;
        // The logged duration runs to the commit, rollups included.
        let duration_ms = started.elapsed().as_millis() as u64;
        self.tx.execute(
            "UPDATE import_log SET size = ?2, content_hash = ?3, byte_offset = ?4, header = ?5,
                    rows_read = ?6, rows_upserted = ?7, rows_rejected = ?8, duration_ms = ?9,
                    imported_at = ?10
             WHERE id = ?1",
            params![
                self.import_id,
                totals.size as i64,
                totals.fingerprint,
                totals.byte_offset as i64,
                totals.header,
                totals.rows_read as i64,
                totals.rows_upserted as i64,
                totals.rows_rejected as i64,
                duration_ms as i64,
                now(),
            ],
        )?;
        if let Some(record) = totals.provisional.as_ref().and_then(Provisional::to_text) {
            self.tx.execute(
                "INSERT INTO import_provisional (import_id, record) VALUES (?1, ?2)",
                params![self.import_id, record],
            )?;
        }
        self.tx.commit()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_provisional_record_reads_back_as_it_was_written() {
        let provisional = Provisional {
            wrote: Some(vec![
                Value::Text("o-12".into()),
                Value::Int(-1250),
                Value::Real(2.0),
                Value::Real(0.25),
                Value::Null,
            ]),
            before: None,
            reject: Some(ProvisionalReject { line: 7, id: 42 }),
        };
        let text = provisional.to_text().unwrap();
        assert_eq!(Provisional::from_text(&text), Some(provisional));
        // Nothing to undo: nothing stored.
        assert_eq!(Provisional::default().to_text(), None);
        // Text another kpi wrote is not guessed at.
        assert_eq!(Provisional::from_text("{\"wrote\": [[1]]}"), None);
    }
}
