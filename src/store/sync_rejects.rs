//! The rows of the engine's export files (orders, refunds, events) that a sync rejected,
//! recorded as `kpi import` records its rejects: a log row per file with its counts, and
//! its rejected rows by line, column and reason (the Data pane lists them). A sync reads
//! every export whole each time, so its earlier rejects of the same exports are replaced.

use chrono::{SecondsFormat, Utc};
use rusqlite::{TransactionBehavior, params};

use super::Store;

/// Longest raw row kept in the store's `rejects` table, as for an import.
const MAX_STORED_RAW: usize = 16 * 1024;

/// One rejected row of an export file.
#[derive(Debug, Clone, Copy)]
pub struct ListedReject<'a> {
    pub line: u64,
    pub column: Option<&'a str>,
    pub reason: &'a str,
    pub raw: &'a str,
}

/// The rejects of one export file, as a sync found them.
#[derive(Debug, Clone)]
pub struct ExportRejects<'a> {
    /// The file's absolute path, as the import log keys files.
    pub path: &'a str,
    pub table: &'a str,
    pub size: u64,
    pub rows: u64,
    /// Every rejected row, listed or not.
    pub rejected: u64,
    /// The first of them.
    pub listed: Vec<ListedReject<'a>>,
}

/// The text of the reject that stands for the rows of a file not listed one by one.
pub fn unlisted_reason(unlisted: u64, listed: usize) -> String {
    format!("and {unlisted} more rejected rows, not listed (the first {listed} are)")
}

impl Store {
    /// Replaces the rejects of the export files of `tables` under the folder `source`
    /// (an absolute path) with `files`' (the files that have rejects now), inside the
    /// caller's transaction (a savepoint of [`Store::all_or_nothing`]'s) or one of its
    /// own. A file with more rejected rows than listed gets one more reject, on line 0,
    /// that says how many are not listed.
    pub fn replace_export_rejects(
        &mut self,
        source: &str,
        tables: &[&str],
        files: &[ExportRejects<'_>],
        duration_ms: u64,
    ) -> rusqlite::Result<()> {
        let tx = self.write_tx(TransactionBehavior::Immediate)?;
        let mut folder = source.trim_end_matches('/').to_string();
        folder.push('/');
        for table in tables {
            tx.execute(
                "DELETE FROM rejects WHERE import_id IN (
                     SELECT id FROM import_log
                     WHERE table_name = ?1 AND substr(path, 1, length(?2)) = ?2)",
                params![table, folder],
            )?;
        }
        let now = Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true);
        for file in files {
            tx.execute(
                "INSERT INTO import_log (path, table_name, size, rows_read, rows_upserted,
                                         rows_rejected, duration_ms, imported_at, status)
                 VALUES (?1, ?2, ?3, ?4, 0, ?5, ?6, ?7, 'ok')",
                params![
                    file.path,
                    file.table,
                    file.size as i64,
                    file.rows as i64,
                    file.rejected as i64,
                    duration_ms as i64,
                    now
                ],
            )?;
            let import_id = tx.last_insert_rowid();
            let mut insert = tx.prepare_cached(
                "INSERT INTO rejects (import_id, line, column, reason, raw)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )?;
            for row in &file.listed {
                let mut end = row.raw.len().min(MAX_STORED_RAW);
                while !row.raw.is_char_boundary(end) {
                    end -= 1;
                }
                insert.execute(params![
                    import_id,
                    row.line as i64,
                    row.column,
                    row.reason,
                    &row.raw[..end]
                ])?;
            }
            let unlisted = file.rejected.saturating_sub(file.listed.len() as u64);
            if unlisted > 0 {
                insert.execute(params![
                    import_id,
                    0,
                    Option::<&str>::None,
                    unlisted_reason(unlisted, file.listed.len()),
                    ""
                ])?;
            }
        }
        tx.commit()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rejects(store: &Store) -> Vec<(String, i64, Option<String>, String)> {
        let mut stmt = store
            .conn()
            .prepare(
                "SELECT l.path, r.line, r.column, r.reason FROM rejects r
                 JOIN import_log l ON l.id = r.import_id ORDER BY r.id",
            )
            .unwrap();
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    }

    #[test]
    fn a_sync_replaces_the_rejects_of_the_exports_it_read_and_says_how_many_are_not_listed() {
        let mut store = Store::open_in_memory().unwrap();
        let listed = [ListedReject {
            line: 7,
            column: Some("revenue"),
            reason: "\"x\" is not an amount",
            raw: "o1,c1,2025-01-01,x",
        }];
        let file = |path, rejected| ExportRejects {
            path,
            table: "orders",
            size: 100,
            rows: 10,
            rejected,
            listed: listed.to_vec(),
        };
        store
            .replace_export_rejects(
                "/data/exports",
                &["orders"],
                &[file("/data/exports/orders/a.csv", 3)],
                1,
            )
            .unwrap();
        let got = rejects(&store);
        assert_eq!(got.len(), 2, "{got:?}");
        assert_eq!(got[0].1, 7);
        assert_eq!(got[1].3, unlisted_reason(2, 1));
        // The next sync: the file was fixed, another has a reject; a file outside the
        // source keeps its own.
        store
            .replace_export_rejects(
                "/elsewhere",
                &["orders"],
                &[file("/elsewhere/orders.csv", 1)],
                1,
            )
            .unwrap();
        store
            .replace_export_rejects(
                "/data/exports/",
                &["orders"],
                &[file("/data/exports/orders/b.csv", 1)],
                1,
            )
            .unwrap();
        let paths: Vec<String> = rejects(&store).into_iter().map(|r| r.0).collect();
        assert_eq!(
            paths,
            ["/elsewhere/orders.csv", "/data/exports/orders/b.csv"]
        );
        assert_eq!(store.reject_count().unwrap(), 2);
    }
}
