//! One upsert mechanism for all thirteen tables, driven by `schema::TABLES`.
//!
//! A row is inserted when its key is new; otherwise it replaces the stored row only if
//! some value differs, so re-importing a file writes nothing and counts never double.
//! The days of a replaced row's old values are reported too: an order moved from one
//! day to another changes both days' rollups.

use std::borrow::Cow;

use chrono::NaiveDate;
use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{CachedStatement, Connection, ToSql};

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
}

/// The prepared statements of one table, reused for every row of a file.
pub struct Upserter<'c> {
    layout: &'c Layout,
    insert: CachedStatement<'c>,
    update: CachedStatement<'c>,
    /// The days and rollup id a row is stored under, read before it is replaced.
    old_marks: Option<CachedStatement<'c>>,
}

impl<'c> Upserter<'c> {
    pub fn new(conn: &'c Connection, layout: &'c Layout) -> rusqlite::Result<Self> {
        let table = layout.spec.name;
        let names: Vec<&str> = layout.columns.iter().map(|(n, _)| *n).collect();
        let placeholders: Vec<String> = (1..=names.len()).map(|i| format!("?{i}")).collect();
        let key_names: Vec<&str> = layout.key.iter().map(|&i| names[i]).collect();
        let key_match = layout
            .key
            .iter()
            .map(|&i| format!("\"{}\" = ?{}", names[i], i + 1))
            .collect::<Vec<_>>()
            .join(" AND ");
        let insert = format!(
            "INSERT INTO \"{table}\" ({}) VALUES ({}) ON CONFLICT ({}) DO NOTHING",
            quoted(&names),
            placeholders.join(", "),
            quoted(&key_names),
        );
        let update = format!(
            "UPDATE \"{table}\" SET {} WHERE {key_match} AND NOT ({})",
            names
                .iter()
                .enumerate()
                .map(|(i, n)| format!("\"{n}\" = ?{}", i + 1))
                .collect::<Vec<_>>()
                .join(", "),
            names
                .iter()
                .enumerate()
                .map(|(i, n)| format!("\"{n}\" IS ?{}", i + 1))
                .collect::<Vec<_>>()
                .join(" AND "),
        );
        let marks: Vec<&str> = layout
            .days
            .iter()
            .chain(&layout.rollup_id)
            .map(|&i| names[i])
            .collect();
        let old_marks = if marks.is_empty() {
            None
        } else {
            // Bind every column so that the numbered key parameters line up.
            let sql = format!(
                "SELECT {} FROM \"{table}\" WHERE {key_match} AND ?{} IS ?{}",
                quoted(&marks),
                names.len(),
                names.len()
            );
            Some(conn.prepare_cached(&sql)?)
        };
        Ok(Self {
            layout,
            insert: conn.prepare_cached(&insert)?,
            update: conn.prepare_cached(&update)?,
            old_marks,
        })
    }

    /// Inserts or replaces one row; `values` follow `Layout::columns`.
    pub fn upsert(&mut self, values: &[Value<'_>]) -> rusqlite::Result<Outcome> {
        debug_assert_eq!(values.len(), self.layout.columns.len());
        if self.insert.execute(rusqlite::params_from_iter(values))? == 1 {
            return Ok(Outcome::Inserted);
        }
        let mut old_days = Vec::new();
        let mut old_id = None;
        if let Some(stmt) = &mut self.old_marks {
            let mut rows = stmt.query(rusqlite::params_from_iter(values))?;
            if let Some(row) = rows.next()? {
                let day_count = self.layout.days.len();
                for i in 0..day_count {
                    let text: Option<String> = row.get(i)?;
                    old_days.extend(text.as_deref().and_then(crate::dates::parse_day));
                }
                if self.layout.rollup_id.is_some() {
                    old_id = row.get(day_count)?;
                }
            }
        }
        if self.update.execute(rusqlite::params_from_iter(values))? == 1 {
            Ok(Outcome::Updated { old_days, old_id })
        } else {
            Ok(Outcome::Unchanged)
        }
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
            let mut up = Upserter::new(conn, &layout).unwrap();
            assert_eq!(
                up.upsert(&values).unwrap(),
                Outcome::Inserted,
                "{}",
                spec.name
            );
            assert_eq!(
                up.upsert(&values).unwrap(),
                Outcome::Unchanged,
                "{}",
                spec.name
            );
        }
    }
}
