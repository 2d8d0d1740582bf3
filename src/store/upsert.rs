//! One upsert mechanism for all thirteen tables, driven by `schema::TABLES`.
//!
//! A row is inserted when its key is new; otherwise it replaces the stored row only if
//! some value differs, so re-importing a file writes nothing and counts never double.
//! The days of a replaced row's old values are reported too: an order moved from one
//! day to another changes both days' rollups.

use std::borrow::Cow;

use chrono::NaiveDate;
use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{CachedStatement, Connection, OptionalExtension, ToSql};

use super::schema::{ColumnKind, RowKey, TableSpec};

/// A value ready to bind: text, integer (cents, counts) or real.
#[derive(Debug, Clone, PartialEq)]
pub enum Value<'a> {
    Null,
    Text(Cow<'a, str>),
    Int(i64),
    Real(f64),
}

impl ToSql for Value<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::Borrowed(match self {
            Value::Null => ValueRef::Null,
            Value::Text(t) => ValueRef::Text(t.as_bytes()),
            Value::Int(i) => ValueRef::Integer(*i),
            Value::Real(r) => ValueRef::Real(*r),
        }))
    }
}

/// Where a stored column's value comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// The contract column `TableSpec::columns[i]`.
    Column(usize),
    /// The local calendar day of the timestamp in contract column `i`.
    DayOf(usize),
    /// The derived row key (`RowKey::Derived`).
    Key,
    /// The JSON object of columns the contract does not name.
    Attributes,
}

/// The stored columns of a table, in bind order.
#[derive(Debug, Clone)]
pub struct Layout {
    pub spec: &'static TableSpec,
    pub columns: Vec<(&'static str, Source)>,
    /// Indices into `columns` forming the primary key.
    pub key: Vec<usize>,
    /// Indices into `columns` holding calendar days (for rollups).
    pub days: Vec<usize>,
    /// Index into `columns` of `TableSpec::rolled_up_by`.
    pub rollup_id: Option<usize>,
}

impl Layout {
    pub fn of(spec: &'static TableSpec) -> Self {
        let mut columns = Vec::new();
        let mut days = Vec::new();
        for (i, c) in spec.columns.iter().enumerate() {
            if c.kind == ColumnKind::Date {
                days.push(columns.len());
            }
            columns.push((c.name, Source::Column(i)));
            if let ColumnKind::Timestamp {
                day_column: Some(day),
            } = c.kind
            {
                days.push(columns.len());
                columns.push((day, Source::DayOf(i)));
            }
        }
        let key = match spec.key {
            RowKey::Columns(names) => names
                .iter()
                .filter_map(|n| columns.iter().position(|(c, _)| c == n))
                .collect(),
            RowKey::Derived { key_column, .. } => {
                columns.push((key_column, Source::Key));
                vec![columns.len() - 1]
            }
        };
        if spec.keeps_attributes {
            columns.push(("attributes", Source::Attributes));
        }
        let rollup_id = spec
            .rolled_up_by
            .and_then(|id| columns.iter().position(|(c, _)| *c == id));
        Self {
            spec,
            columns,
            key,
            days,
            rollup_id,
        }
    }

    fn names(&self) -> Vec<&'static str> {
        self.columns.iter().map(|(n, _)| *n).collect()
    }

    /// `"k1" = ?i AND …`: the key columns against their bound values.
    fn key_match(&self) -> String {
        self.key
            .iter()
            .map(|&i| format!("\"{}\" = ?{}", self.columns[i].0, i + 1))
            .collect::<Vec<_>>()
            .join(" AND ")
    }

    /// Index into `columns` of the attributes object, for tables that keep attributes.
    pub fn attributes(&self) -> Option<usize> {
        self.columns
            .iter()
            .position(|(_, s)| *s == Source::Attributes)
    }

    /// Every column provided: a row whose values are all meant to be written.
    pub fn all_provided(&self) -> Provided {
        Provided::MAX >> (Provided::BITS as usize - self.columns.len())
    }

    /// Why a row is a duplicate of the row on `first_line` (absolute) of the same file:
    /// the key columns it shares, or — for rows keyed by a hash of their values — that
    /// every value is the same.
    pub fn duplicate_reason(&self, values: &[Value<'_>], first_line: u64) -> String {
        let columns: Vec<&str> = match self.spec.key {
            RowKey::Columns(names) => names.to_vec(),
            RowKey::Derived {
                id_column,
                fallback,
                ..
            } => {
                let id_given = self
                    .columns
                    .iter()
                    .position(|(n, _)| *n == id_column)
                    .is_some_and(|i| values.get(i).is_some_and(|v| *v != Value::Null));
                if id_given {
                    vec![id_column]
                } else if fallback.is_empty() {
                    return format!(
                        "duplicate row: the same values as line {first_line} of this file \
                         (without {id_column}, rows are told apart by their values)"
                    );
                } else {
                    fallback.to_vec()
                }
            }
        };
        format!(
            "duplicate key ({}) already on line {first_line} of this file",
            columns.join(", ")
        )
    }

    /// Whether two rows hold the same values, an integer being as good as the same real
    /// (what column affinity may make of it).
    fn same_row(stored: &[Value<'_>], written: &[Value<'_>]) -> bool {
        stored.len() == written.len()
            && stored.iter().zip(written).all(|(a, b)| match (a, b) {
                (Value::Int(n), Value::Real(r)) | (Value::Real(r), Value::Int(n)) => {
                    *n as f64 == *r
                }
                _ => a == b,
            })
    }

    /// The days and rollup id of a row, from values in `columns` order.
    pub fn marks_of(&self, values: &[Value<'_>]) -> RowMarks {
        let days = self
            .days
            .iter()
            .filter_map(|&i| match values.get(i) {
                Some(Value::Text(day)) => crate::dates::parse_day(day),
                _ => None,
            })
            .collect();
        RowMarks {
            days,
            id: self.rollup_id_of(values).map(str::to_string),
        }
    }

    /// A row's `rolled_up_by` id, from values in `columns` order.
    pub fn rollup_id_of<'v>(&self, values: &'v [Value<'_>]) -> Option<&'v str> {
        match values.get(self.rollup_id?)? {
            Value::Text(id) => Some(id),
            _ => None,
        }
    }
}

/// What an upsert did with one row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Inserted,
    /// The row existed with other values; `old_days` are the days it was stored under and
    /// `old_id` its `rolled_up_by` id.
    Updated {
        old_days: Vec<NaiveDate>,
        old_id: Option<String>,
    },
    Unchanged,
    /// An earlier row of this same import (on `first_line`, as passed to `upsert`) has
    /// the same key; nothing was written.
    Duplicate {
        first_line: u64,
    },
}

/// Which of a row's stored columns the file provides, one bit per `Layout::columns`
/// index. A stored row keeps the values of the columns a file lacks.
pub type Provided = u64;

/// The prepared statements of one table, reused for every row of a file.
pub struct Upserter<'c> {
    conn: &'c Connection,
    layout: &'c Layout,
    insert: CachedStatement<'c>,
    /// The rowid, days, rollup id and attributes a row is stored under, read before it
    /// is changed.
    previous: CachedStatement<'c>,
    /// One UPDATE per set of provided columns (a CSV file has one, NDJSON rows may vary).
    updates: Vec<(Provided, Option<CachedStatement<'c>>)>,
    written: WrittenRows,
}

impl<'c> Upserter<'c> {
    pub fn new(conn: &'c Connection, layout: &'c Layout) -> rusqlite::Result<Self> {
        assert!(
            layout.columns.len() <= Provided::BITS as usize,
            "a layout has more columns than `Provided` has bits"
        );
        let table = layout.spec.name;
        let names = layout.names();
        let placeholders: Vec<String> = (1..=names.len()).map(|i| format!("?{i}")).collect();
        let key_names: Vec<&str> = layout.key.iter().map(|&i| names[i]).collect();
        let insert = format!(
            "INSERT INTO \"{table}\" ({}) VALUES ({}) ON CONFLICT ({}) DO NOTHING",
            quoted(&names),
            placeholders.join(", "),
            quoted(&key_names),
        );
        let mut marks = vec!["rowid"];
        marks.extend(
            layout
                .days
                .iter()
                .chain(&layout.rollup_id)
                .map(|&i| names[i]),
        );
        if let Some(i) = layout.attributes() {
            marks.push(names[i]);
        }
        // Every column is bound, so the numbered key parameters must all be referenced.
        let previous = format!(
            "SELECT {} FROM \"{table}\" WHERE {} AND ?{n} IS ?{n}",
            marks.join(", "),
            layout.key_match(),
            n = names.len()
        );
        Ok(Self {
            conn,
            layout,
            insert: conn.prepare_cached(&insert)?,
            previous: conn.prepare_cached(&previous)?,
            updates: Vec::new(),
            written: WrittenRows::new(),
        })
    }

    /// Whether a row with the key of `values` is stored.
    pub fn is_stored(&mut self, values: &[Value<'_>]) -> rusqlite::Result<bool> {
        self.previous.exists(rusqlite::params_from_iter(values))
    }

    /// Every stored value of the row with the key of `values` (in `Layout::columns`
    /// order), to put it back should the write about to happen be undone.
    pub fn stored_row(&self, values: &[Value<'_>]) -> rusqlite::Result<Option<OwnedRow>> {
        stored_row(self.conn, self.layout, values)
    }

    /// Inserts one row, or updates the stored row with its key in the columns `provided`
    /// (attributes merged key by key). `values` follow `Layout::columns`; `line` is the
    /// row's line, reported back when a later row of the import has the same key.
    pub fn upsert(
        &mut self,
        values: &[Value<'_>],
        provided: Provided,
        line: u64,
    ) -> rusqlite::Result<Outcome> {
        debug_assert_eq!(values.len(), self.layout.columns.len());
        if self.insert.execute(rusqlite::params_from_iter(values))? == 1 {
            self.written
                .add(self.conn, self.conn.last_insert_rowid(), line)?;
            return Ok(Outcome::Inserted);
        }
        let layout = self.layout;
        let Some(stored) = self
            .previous
            .query_row(rusqlite::params_from_iter(values), |row| {
                StoredRow::read(layout, row)
            })
            .optional()?
        else {
            // The key conflicts, yet no row has it: a NULL in a key column; nothing to do.
            return Ok(Outcome::Unchanged);
        };
        if let Some(first_line) = self.written.line_of(self.conn, stored.rowid)? {
            return Ok(Outcome::Duplicate { first_line });
        }
        self.written.add(self.conn, stored.rowid, line)?;

        let mut provided = provided;
        for &k in &layout.key {
            provided &= !(1 << k);
        }
        let merged = match layout.attributes() {
            Some(i) if provided & (1 << i) != 0 => {
                merged_attributes(&stored.attributes, &values[i])
                    .map(|text| (i, Value::Text(text.into())))
            }
            _ => None,
        };
        let Some(update) = self.update_for(provided)? else {
            return Ok(Outcome::Unchanged);
        };
        let changed = match merged {
            Some((i, merged)) => {
                let bound = values
                    .iter()
                    .enumerate()
                    .map(|(j, v)| if j == i { &merged } else { v });
                update.execute(rusqlite::params_from_iter(bound))?
            }
            None => update.execute(rusqlite::params_from_iter(values))?,
        };
        Ok(if changed == 1 {
            Outcome::Updated {
                old_days: stored.days,
                old_id: stored.id,
            }
        } else {
            Outcome::Unchanged
        })
    }

    /// The UPDATE setting exactly the `provided` columns where some differs; `None` when
    /// the file provides no column beyond the key.
    fn update_for(
        &mut self,
        provided: Provided,
    ) -> rusqlite::Result<Option<&mut CachedStatement<'c>>> {
        let at = match self.updates.iter().position(|(p, _)| *p == provided) {
            Some(at) => at,
            None => {
                let names = self.layout.names();
                let set: Vec<(usize, &str)> = names
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| provided & (1 << i) != 0)
                    .map(|(i, n)| (i, *n))
                    .collect();
                let statement = if set.is_empty() {
                    None
                } else {
                    let sql = format!(
                        "UPDATE \"{}\" SET {} WHERE {} AND NOT ({}) AND ?{n} IS ?{n}",
                        self.layout.spec.name,
                        set.iter()
                            .map(|(i, c)| format!("\"{c}\" = ?{}", i + 1))
                            .collect::<Vec<_>>()
                            .join(", "),
                        self.layout.key_match(),
                        set.iter()
                            .map(|(i, c)| format!("\"{c}\" IS ?{}", i + 1))
                            .collect::<Vec<_>>()
                            .join(" AND "),
                        n = names.len()
                    );
                    Some(self.conn.prepare_cached(&sql)?)
                };
                self.updates.push((provided, statement));
                self.updates.len() - 1
            }
        };
        Ok(self.updates[at].1.as_mut())
    }
}

/// A row's values owned, in `Layout::columns` order.
pub type OwnedRow = Vec<Value<'static>>;

/// The days and `rolled_up_by` id of a row, as `Outcome::Updated` reports a row's old
/// ones: what the rollups must refresh when it goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowMarks {
    pub days: Vec<NaiveDate>,
    pub id: Option<String>,
}

fn stored_row(
    conn: &Connection,
    layout: &Layout,
    values: &[Value<'_>],
) -> rusqlite::Result<Option<OwnedRow>> {
    let names = layout.names();
    let sql = format!(
        "SELECT {} FROM \"{}\" WHERE {} AND ?{n} IS ?{n}",
        quoted(&names),
        layout.spec.name,
        layout.key_match(),
        n = names.len()
    );
    conn.prepare_cached(&sql)?
        .query_row(rusqlite::params_from_iter(values), |row| {
            (0..names.len())
                .map(|i| {
                    Ok(match row.get_ref(i)? {
                        ValueRef::Null | ValueRef::Blob(_) => Value::Null,
                        ValueRef::Integer(n) => Value::Int(n),
                        ValueRef::Real(r) => Value::Real(r),
                        ValueRef::Text(t) => {
                            Value::Text(Cow::Owned(String::from_utf8_lossy(t).into_owned()))
                        }
                    })
                })
                .collect()
        })
        .optional()
}

/// Undoes one write: removes the row `wrote` (as it was stored: every column, attributes
/// merged) and stores `before` again (the row its key had before the write; `None`: it
/// had none). A row changed since (another file wrote that key) is left as it is: it is
/// that file's now. Returns the marks of the rows removed and put back, for the rollups.
pub fn undo_write(
    conn: &Connection,
    layout: &Layout,
    wrote: &[Value<'_>],
    before: Option<&[Value<'_>]>,
) -> rusqlite::Result<Vec<RowMarks>> {
    let names = layout.names();
    if wrote.len() != names.len() || before.is_some_and(|b| b.len() != names.len()) {
        // Written under another layout (an older kpi): nothing this one can undo.
        return Ok(Vec::new());
    }
    let table = layout.spec.name;
    let Some(removed) = stored_row(conn, layout, wrote)? else {
        return Ok(Vec::new());
    };
    if !Layout::same_row(&removed, wrote) {
        return Ok(Vec::new());
    }
    let mut marks = Vec::new();
    {
        conn.prepare_cached(&format!(
            "DELETE FROM \"{table}\" WHERE {} AND ?{n} IS ?{n}",
            layout.key_match(),
            n = names.len()
        ))?
        .execute(rusqlite::params_from_iter(wrote))?;
        marks.push(layout.marks_of(&removed));
    }
    if let Some(before) = before {
        let placeholders: Vec<String> = (1..=names.len()).map(|i| format!("?{i}")).collect();
        conn.prepare_cached(&format!(
            "INSERT OR REPLACE INTO \"{table}\" ({}) VALUES ({})",
            quoted(&names),
            placeholders.join(", ")
        ))?
        .execute(rusqlite::params_from_iter(before))?;
        marks.push(layout.marks_of(before));
    }
    Ok(marks)
}

/// What `Upserter::upsert` reads of a stored row before changing it.
struct StoredRow {
    rowid: i64,
    days: Vec<NaiveDate>,
    id: Option<String>,
    attributes: Option<String>,
}

impl StoredRow {
    fn read(layout: &Layout, row: &rusqlite::Row<'_>) -> rusqlite::Result<Self> {
        let mut days = Vec::new();
        let day_count = layout.days.len();
        for i in 0..day_count {
            let text: Option<String> = row.get(1 + i)?;
            days.extend(text.as_deref().and_then(crate::dates::parse_day));
        }
        let mut next = 1 + day_count;
        let mut id = None;
        if layout.rollup_id.is_some() {
            id = row.get(next)?;
            next += 1;
        }
        let attributes = if layout.attributes().is_some() {
            row.get(next)?
        } else {
            None
        };
        Ok(Self {
            rowid: row.get(0)?,
            days,
            id,
            attributes,
        })
    }
}

/// The stored attributes with the file's attributes laid over them: keys the file has
/// change, the others stay. `None` when the file's value is to be stored as it is.
fn merged_attributes(stored: &Option<String>, new: &Value<'_>) -> Option<String> {
    let (Some(stored), Value::Text(new)) = (stored, new) else {
        return None;
    };
    let serde_json::Value::Object(mut merged) = serde_json::from_str(stored).ok()? else {
        return None;
    };
    let serde_json::Value::Object(new) = serde_json::from_str(new).ok()? else {
        return None;
    };
    merged.extend(new);
    Some(serde_json::Value::Object(merged).to_string())
}

/// The rows one import has written so far, by rowid, with the line that wrote them: a
/// second row with the same key is a duplicate within the file, not an update.
///
/// Memory stays flat for big files: rows usually come with increasing rowids (new rows
/// get the next rowid; a file read again meets its rows in the order they were inserted),
/// kept as runs of consecutive rowids and lines. Rows out of that order, or beyond
/// `MAX_RUNS`, go to a temporary table, which SQLite keeps on disk when it grows.
struct WrittenRows {
    /// (first rowid, first line, rows) of consecutive rows, rowids increasing.
    runs: Vec<(i64, u64, u64)>,
    temp_table_ready: bool,
}

/// 24 MB of runs at most.
const MAX_RUNS: usize = 1 << 20;

impl WrittenRows {
    fn new() -> Self {
        Self {
            runs: Vec::new(),
            temp_table_ready: false,
        }
    }

    fn add(&mut self, conn: &Connection, rowid: i64, line: u64) -> rusqlite::Result<()> {
        let room = self.runs.len() < MAX_RUNS;
        match self.runs.last_mut() {
            Some((first, first_line, len))
                if rowid == *first + *len as i64 && line == *first_line + *len =>
            {
                *len += 1;
                return Ok(());
            }
            Some((first, _, len)) if rowid < *first + *len as i64 => {}
            _ if room => {
                self.runs.push((rowid, line, 1));
                return Ok(());
            }
            _ => {}
        }
        if !self.temp_table_ready {
            conn.execute_batch(
                "CREATE TEMP TABLE IF NOT EXISTS import_written
                     (row INTEGER PRIMARY KEY, line INTEGER NOT NULL);
                 DELETE FROM temp.import_written;",
            )?;
            self.temp_table_ready = true;
        }
        conn.prepare_cached(
            "INSERT OR IGNORE INTO temp.import_written (row, line) VALUES (?1, ?2)",
        )?
        .execute(rusqlite::params![rowid, line as i64])?;
        Ok(())
    }

    fn line_of(&self, conn: &Connection, rowid: i64) -> rusqlite::Result<Option<u64>> {
        let at = self.runs.partition_point(|(first, _, _)| *first <= rowid);
        if let Some(&(first, first_line, len)) = at.checked_sub(1).map(|i| &self.runs[i]) {
            if rowid < first + len as i64 {
                return Ok(Some(first_line + (rowid - first) as u64));
            }
        }
        if !self.temp_table_ready {
            return Ok(None);
        }
        conn.prepare_cached("SELECT line FROM temp.import_written WHERE row = ?1")?
            .query_row([rowid], |r| r.get::<_, i64>(0))
            .optional()
            .map(|line| line.map(|l| l as u64))
    }
}

fn quoted(names: &[&str]) -> String {
    names
        .iter()
        .map(|n| format!("\"{n}\""))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{Store, schema};

    #[test]
    fn layouts_put_day_key_and_attribute_columns_where_the_schema_has_them() {
        let events = Layout::of(schema::table("events").unwrap());
        let names: Vec<&str> = events.columns.iter().map(|c| c.0).collect();
        assert_eq!(
            names,
            [
                "event_id",
                "user_id",
                "ts",
                "day",
                "name",
                "session_id",
                "feature",
                "page",
                "duration_s",
                "event_key"
            ]
        );
        assert_eq!(events.key, [9]);
        assert_eq!(events.days, [3]);
        let customers = Layout::of(schema::table("customers").unwrap());
        assert_eq!(customers.columns.last().unwrap().0, "attributes");
        let work = Layout::of(schema::table("work_items").unwrap());
        assert_eq!(work.days.len(), 3);
    }

    #[test]
    fn undoing_a_write_removes_the_row_or_puts_the_one_before_back() {
        let mut store = Store::open_in_memory().unwrap();
        let conn = store.conn_mut();
        let layout = Layout::of(schema::table("orders").unwrap());
        let all = layout.all_provided();
        let order = |id: &str, customer: &str, day: &str, cents: i64| -> OwnedRow {
            vec![
                Value::Text(id.to_string().into()),
                Value::Text(customer.to_string().into()),
                Value::Text(day.to_string().into()),
                Value::Int(cents),
                Value::Text("completed".into()),
                Value::Null,
                Value::Null,
                Value::Null,
            ]
        };
        let old = order("o-12", "c1", "2025-06-01", 100);
        let mut up = Upserter::new(conn, &layout).unwrap();
        up.upsert(&old, all, 1).unwrap();
        drop(up);
        let cut = order("o-12", "c9", "2025-06-09", 900);
        let mut up = Upserter::new(conn, &layout).unwrap();
        let before = up.stored_row(&cut).unwrap();
        assert_eq!(before.as_ref(), Some(&old));
        up.upsert(&cut, all, 1).unwrap();
        let new = order("o-1", "c2", "2025-06-02", 200);
        assert_eq!(up.stored_row(&new).unwrap(), None);
        up.upsert(&new, all, 2).unwrap();
        drop(up);

        let day = |d: &str| d.parse::<NaiveDate>().unwrap();
        // Put back: the marks of the cut row and of the row restored.
        let marks = undo_write(conn, &layout, &cut, before.as_deref()).unwrap();
        assert_eq!(
            marks,
            [
                RowMarks {
                    days: vec![day("2025-06-09")],
                    id: Some("c9".into())
                },
                RowMarks {
                    days: vec![day("2025-06-01")],
                    id: Some("c1".into())
                },
            ]
        );
        assert_eq!(stored_row(conn, &layout, &old).unwrap(), Some(old.clone()));
        // Removed: it had no row before.
        let marks = undo_write(conn, &layout, &new, None).unwrap();
        assert_eq!(marks.len(), 1);
        assert_eq!(stored_row(conn, &layout, &new).unwrap(), None);
        // A row of another layout is left alone.
        assert!(
            undo_write(conn, &layout, &old[..3], None)
                .unwrap()
                .is_empty()
        );
        assert_eq!(stored_row(conn, &layout, &old).unwrap(), Some(old.clone()));
        // So is a row another file changed since: it is that file's now.
        let changed = order("o-12", "c1", "2025-06-01", 150);
        let mut up = Upserter::new(conn, &layout).unwrap();
        up.upsert(&changed, all, 1).unwrap();
        drop(up);
        assert!(undo_write(conn, &layout, &old, None).unwrap().is_empty());
        assert_eq!(stored_row(conn, &layout, &old).unwrap(), Some(changed));
    }

    #[test]
    fn every_table_upserts_inserts_then_leaves_unchanged_rows_alone() {
        let mut store = Store::open_in_memory().unwrap();
        let conn = store.conn_mut();
        for spec in schema::TABLES {
            let layout = Layout::of(spec);
            let values: Vec<Value> = layout
                .columns
                .iter()
                .map(|(name, source)| match source {
                    Source::Column(i) => match spec.columns[*i].kind {
                        ColumnKind::Date => Value::Text("2025-06-01".into()),
                        ColumnKind::Timestamp { .. } => Value::Text("2025-06-01T00:00:00Z".into()),
                        ColumnKind::Enum(allowed) => Value::Text(allowed[0].into()),
                        ColumnKind::Money { .. } | ColumnKind::Count => Value::Int(5),
                        ColumnKind::Number => Value::Real(1.0),
                        ColumnKind::Text => Value::Text(format!("{name}-1").into()),
                    },
                    Source::DayOf(_) => Value::Text("2025-06-01".into()),
                    Source::Key => Value::Text("k1".into()),
                    Source::Attributes => Value::Null,
                })
                .collect();
            let all = layout.all_provided();
            let mut up = Upserter::new(conn, &layout).unwrap();
            assert_eq!(
                up.upsert(&values, all, 1).unwrap(),
                Outcome::Inserted,
                "{}",
                spec.name
            );
            // The same key again within one import is a duplicate of its first line.
            assert_eq!(
                up.upsert(&values, all, 2).unwrap(),
                Outcome::Duplicate { first_line: 1 },
                "{}",
                spec.name
            );
            drop(up);
            // A later import of the same row (a re-import) changes nothing.
            let mut up = Upserter::new(conn, &layout).unwrap();
            assert_eq!(
                up.upsert(&values, all, 1).unwrap(),
                Outcome::Unchanged,
                "{}",
                spec.name
            );
            assert_eq!(
                up.upsert(&values, all, 7).unwrap(),
                Outcome::Duplicate { first_line: 1 },
                "{}",
                spec.name
            );
        }
    }

    #[test]
    fn duplicates_are_found_across_runs_of_inserted_and_existing_rows() {
        let mut store = Store::open_in_memory().unwrap();
        let conn = store.conn_mut();
        let layout = Layout::of(schema::table("annotations").unwrap());
        let all = layout.all_provided();
        let row = |day: u32| {
            [
                Value::Text(format!("2025-06-{day:02}").into()),
                Value::Text("launch".into()),
            ]
        };
        let mut up = Upserter::new(conn, &layout).unwrap();
        for (day, line) in [(1, 2), (2, 3), (3, 7), (4, 8)] {
            assert_eq!(up.upsert(&row(day), all, line).unwrap(), Outcome::Inserted);
        }
        drop(up);
        let mut up = Upserter::new(conn, &layout).unwrap();
        assert_eq!(up.upsert(&row(9), all, 2).unwrap(), Outcome::Inserted);
        assert_eq!(up.upsert(&row(3), all, 3).unwrap(), Outcome::Unchanged);
        assert_eq!(up.upsert(&row(10), all, 4).unwrap(), Outcome::Inserted);
        assert_eq!(up.upsert(&row(11), all, 9).unwrap(), Outcome::Inserted);
        for (day, first_line) in [(9, 2), (3, 3), (10, 4), (11, 9)] {
            assert_eq!(
                up.upsert(&row(day), all, 20).unwrap(),
                Outcome::Duplicate { first_line },
                "day {day}"
            );
        }
        assert_eq!(up.upsert(&row(1), all, 21).unwrap(), Outcome::Unchanged);
        drop(up);
        // Stored rows met out of rowid order are remembered in the temporary table.
        let mut up = Upserter::new(conn, &layout).unwrap();
        for (day, line) in [(4, 1), (2, 2), (1, 3)] {
            assert_eq!(up.upsert(&row(day), all, line).unwrap(), Outcome::Unchanged);
        }
        for (day, first_line) in [(1, 3), (2, 2), (4, 1)] {
            assert_eq!(
                up.upsert(&row(day), all, 30).unwrap(),
                Outcome::Duplicate { first_line },
                "day {day}"
            );
        }
        drop(up);
        // Each import starts with nothing written: the temporary table is emptied.
        let mut up = Upserter::new(conn, &layout).unwrap();
        assert_eq!(up.upsert(&row(2), all, 1).unwrap(), Outcome::Unchanged);
    }
}
