//! What the Data pane and `kpi report` show about the store itself.

use chrono::NaiveDate;

use super::rollup::TABLE_DAYS;
use super::schema::{ColumnKind, TABLES, TableSpec};

/// The reference date of SPEC §3 and where it was read: the latest date of any recorded
/// fact in the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReferenceDate {
    pub date: NaiveDate,
    pub table: &'static str,
    pub column: &'static str,
}

/// Tables whose dates are not facts: annotations may announce a launch ahead.
const NOT_FACTS: &[&str] = &["annotations"];

/// Columns that date a plan rather than something that happened: a committed date is a
/// deadline.
const PLANS: &[(&str, &str)] = &[("work_items", "committed_date")];

/// Every column dating a recorded fact — orders, signups, subscription starts and ends,
/// refunds, events, survey answers, ticket responses and resolutions, deliveries… — as
/// `(table, column)`. A timestamp with a local day column counts by that day.
pub fn fact_date_columns() -> Vec<(&'static str, &'static str)> {
    TABLES
        .iter()
        .filter(|t| !NOT_FACTS.contains(&t.name))
        .flat_map(|t| {
            t.columns.iter().filter_map(move |c| match c.kind {
                ColumnKind::Date => Some((t.name, c.name)),
                ColumnKind::Timestamp { day_column } => {
                    Some((t.name, day_column.unwrap_or(c.name)))
                }
                _ => None,
            })
        })
        .filter(|column| !PLANS.contains(column))
        .collect()
}

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

const IMPORT_LOG_COLUMNS: &str = "id, path, table_name, size, rows_read, rows_upserted, \
    rows_rejected, duration_ms, imported_at, status, error";

fn import_log_entry(r: &rusqlite::Row<'_>) -> rusqlite::Result<ImportLogEntry> {
    Ok(ImportLogEntry {
        id: r.get(0)?,
        path: r.get(1)?,
        table: r.get(2)?,
        size: r.get::<_, i64>(3)? as u64,
        rows_read: r.get::<_, i64>(4)? as u64,
        rows_upserted: r.get::<_, i64>(5)? as u64,
        rows_rejected: r.get::<_, i64>(6)? as u64,
        duration_ms: r.get::<_, i64>(7)? as u64,
        imported_at: r.get(8)?,
        ok: r.get::<_, String>(9)? == "ok",
        error: r.get(10)?,
    })
}

fn parse_date(text: Option<String>) -> Option<NaiveDate> {
    crate::dates::parse_day(text?.get(..10)?)
}

impl super::Store {
    /// The latest date of any recorded fact up to `today`: dates after it (a cancellation
    /// scheduled for next month, a clock set wrong at the source) have not happened yet.
    pub fn latest_fact_date(&self, today: NaiveDate) -> rusqlite::Result<Option<ReferenceDate>> {
        // Dates and timestamps both sort as text, and both are before the next day.
        let tomorrow = today
            .succ_opt()
            .map_or_else(|| "9999-12-31".to_string(), |d| d.to_string());
        let mut latest: Option<ReferenceDate> = None;
        for (table, column) in fact_date_columns() {
            // The big tables' main date is read from their per-day rollup, not scanned.
            let sql = if TABLE_DAYS.contains(&(table, column)) {
                format!("SELECT MAX(day) FROM ru_table_days WHERE tbl = '{table}' AND day < ?1")
            } else {
                format!("SELECT MAX({column}) FROM {table} WHERE {column} < ?1")
            };
            let max: Option<String> = self.conn().query_row(&sql, [&tomorrow], |r| r.get(0))?;
            if let Some(date) = parse_date(max)
                && latest.is_none_or(|l| date > l.date)
            {
                latest = Some(ReferenceDate {
                    date,
                    table,
                    column,
                });
            }
        }
        Ok(latest)
    }

    /// Every annotation (a launch, a campaign, an incident) as `(date, label)`, oldest
    /// first; a row whose date does not parse is left out rather than placed anywhere.
    pub fn annotations(&self) -> rusqlite::Result<Vec<(NaiveDate, String)>> {
        let mut stmt = self
            .conn()
            .prepare("SELECT date, label FROM annotations ORDER BY date, label")?;
        let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
        let mut out = Vec::new();
        for row in rows {
            let (date, label) = row?;
            if let Ok(date) = NaiveDate::parse_from_str(&date, "%Y-%m-%d") {
                out.push((date, label));
            }
        }
        Ok(out)
    }

    /// Row count, date range and last import of every data table.
    pub fn table_status(&self) -> rusqlite::Result<Vec<TableStatus>> {
        let mut out = Vec::with_capacity(TABLES.len());
        for TableSpec {
            name: table,
            dated_by: column,
            ..
        } in TABLES
        {
            // The big tables are counted from their per-day rollup, not scanned.
            let sql = if TABLE_DAYS.iter().any(|(t, _)| t == table) {
                format!(
                    "SELECT COALESCE(SUM(rows), 0), MIN(day), MAX(day) FROM ru_table_days
                     WHERE tbl = '{table}'"
                )
            } else if self.leads_an_index(table, column)? {
                // Apart, MIN and MAX are one step down the index each; beside COUNT(*)
                // in one SELECT, every row is read for them (15 ms a screen refresh for
                // 250 k subscriptions).
                format!(
                    "SELECT (SELECT COUNT(*) FROM {table}), (SELECT MIN({column}) FROM {table}), \
                     (SELECT MAX({column}) FROM {table})"
                )
            } else {
                format!("SELECT COUNT(*), MIN({column}), MAX({column}) FROM {table}")
            };
            let (rows, first, last): (i64, Option<String>, Option<String>) = self
                .conn()
                .query_row(&sql, [], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
            let last_import: Option<String> = self.conn().query_row(
                "SELECT MAX(imported_at) FROM import_log WHERE table_name = ?1 AND status = 'ok'",
                [table],
                |r| r.get(0),
            )?;
            out.push(TableStatus {
                table: (*table).to_string(),
                rows: u64::try_from(rows).unwrap_or(0),
                first_date: parse_date(first),
                last_date: parse_date(last),
                last_import,
            });
        }
        Ok(out)
    }

    /// Whether an index of `table` starts with `column`: then its least and greatest
    /// values are read from the index's ends.
    fn leads_an_index(&self, table: &str, column: &str) -> rusqlite::Result<bool> {
        self.conn()
            .prepare_cached(
                "SELECT EXISTS (SELECT 1 FROM pragma_index_list(?1) l \
                 JOIN pragma_index_info(l.name) i ON i.seqno = 0 \
                 WHERE l.partial = 0 AND i.name = ?2)",
            )?
            .query_row([table, column], |r| r.get(0))
    }

    /// The latest import attempts, newest first.
    pub fn recent_imports(&self, limit: usize) -> rusqlite::Result<Vec<ImportLogEntry>> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {IMPORT_LOG_COLUMNS} FROM import_log ORDER BY id DESC LIMIT ?1"
        ))?;
        stmt.query_map([limit as i64], import_log_entry)?.collect()
    }

    /// Files whose latest import attempt failed: their data is missing until fixed.
    pub fn failing_imports(&self) -> rusqlite::Result<Vec<ImportLogEntry>> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {IMPORT_LOG_COLUMNS} FROM import_log
             WHERE id IN (SELECT max(id) FROM import_log GROUP BY path) AND status = 'failed'
             ORDER BY id"
        ))?;
        stmt.query_map([], import_log_entry)?.collect()
    }

    /// Rejected rows the store holds: each file's rejects once, however often it was
    /// read (the per-import counts of the log add up re-reads).
    pub fn reject_count(&self) -> rusqlite::Result<u64> {
        self.conn
            .query_row("SELECT COUNT(*) FROM rejects", [], |r| r.get::<_, i64>(0))
            .map(|n| u64::try_from(n).unwrap_or(0))
    }

    /// The latest rejected rows, newest first.
    pub fn recent_rejects(&self, limit: usize) -> rusqlite::Result<Vec<RejectEntry>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT l.path, r.line, r.column, r.reason, r.raw
             FROM rejects r JOIN import_log l ON l.id = r.import_id
             ORDER BY r.id DESC LIMIT ?1",
        )?;
        stmt.query_map([limit as i64], |r| {
            Ok(RejectEntry {
                path: r.get(0)?,
                line: r.get::<_, i64>(1)? as u64,
                column: r.get(2)?,
                reason: r.get(3)?,
                raw: r.get(4)?,
            })
        })?
        .collect()
    }

    /// The customer attributes the store holds (the keys of the `attributes` objects kept
    /// from unknown customer columns), sorted: what a segment can be broken down by
    /// besides the named dimensions.
    pub fn customer_attribute_keys(&self) -> rusqlite::Result<Vec<String>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT DISTINCT j.key FROM customers c, json_each(c.attributes) j
             WHERE c.attributes IS NOT NULL AND json_valid(c.attributes)
             ORDER BY j.key",
        )?;
        stmt.query_map([], |r| r.get(0))?.collect()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::store::Store;

    /// The rows and date range of a table whose date leads an index (subscriptions,
    /// tickets) are read apart, of one whose date does not (surveys: `(kind, date)`) in
    /// one SELECT (work items too); both say what one plain SELECT of the table says.
    #[test]
    fn table_status_reads_a_dated_tables_range_as_one_select_of_it_would() {
        let store = Store::open_in_memory().unwrap();
        store
            .conn()
            .execute_batch(
                "INSERT INTO subscriptions (subscription_id, customer_id, mrr, start_date)
                 VALUES ('s1', 'a', 100, '2025-03-01'), ('s2', 'b', 100, '2025-01-05'),
                        ('s3', 'b', 100, '2025-02-11');
                 INSERT INTO surveys (response_id, kind, date, score)
                 VALUES ('r1', 'nps', '2025-04-02', 9), ('r2', 'csat', '2025-03-30', 4);",
            )
            .unwrap();
        assert!(store.leads_an_index("subscriptions", "start_date").unwrap());
        assert!(store.leads_an_index("tickets", "opened_day").unwrap());
        assert!(!store.leads_an_index("surveys", "date").unwrap());
        assert!(store.leads_an_index("spend", "date").unwrap());
        assert!(!store.leads_an_index("work_items", "created_date").unwrap());
        let status = store.table_status().unwrap();
        for TableSpec { name, dated_by, .. } in TABLES {
            let plain: (i64, Option<String>, Option<String>) = store
                .conn()
                .query_row(
                    &format!("SELECT COUNT(*), MIN({dated_by}), MAX({dated_by}) FROM {name}"),
                    [],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                )
                .unwrap();
            let read = status.iter().find(|s| s.table == *name).unwrap();
            assert_eq!(
                (read.rows, read.first_date, read.last_date),
                (
                    plain.0.unsigned_abs(),
                    parse_date(plain.1),
                    parse_date(plain.2)
                ),
                "{name}"
            );
        }
        let subscriptions = status.iter().find(|s| s.table == "subscriptions").unwrap();
        assert_eq!(subscriptions.rows, 3);
        assert_eq!(
            subscriptions.first_date,
            NaiveDate::from_ymd_opt(2025, 1, 5)
        );
    }
}
