//! The shared machinery of metric computation: periods, the "no data" rule, segment
//! filters and a memo of per-day rollup reads, so one snapshot reads each rollup range
//! once however many metrics use it.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use chrono::NaiveDate;
use rusqlite::types::Value as SqlValue;

use super::catalog::Module;
use super::{Grain, MetricDef, MetricError, Period, Point, Segment, Series, SeriesRequest};
use crate::config::Config;
use crate::store::Store;

/// A metric's value in one period before it becomes a [`Point`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Cell {
    pub value: Option<f64>,
    pub note: Option<String>,
}

impl Cell {
    pub fn value(v: f64) -> Self {
        Self {
            value: Some(v),
            note: None,
        }
    }

    pub fn note(note: impl Into<String>) -> Self {
        Self {
            value: None,
            note: Some(note.into()),
        }
    }

    /// `num ÷ den × scale`, or "n/a: <why>" when the denominator is zero.
    pub fn ratio(num: f64, den: f64, scale: f64, why: &str) -> Self {
        if den == 0.0 {
            Self::note(format!("n/a: {why}"))
        } else {
            Self::value(num / den * scale)
        }
    }

    pub fn with_note(mut self, note: impl Into<String>) -> Self {
        self.note = Some(note.into());
        self
    }

    /// Combines two cells with `f`, carrying the first note when either has no value.
    pub fn zip(a: &Cell, b: &Cell, f: impl Fn(f64, f64) -> Cell) -> Cell {
        match (a.value, b.value) {
            (Some(x), Some(y)) => f(x, y),
            _ => Cell::note(
                a.note
                    .clone()
                    .filter(|_| a.value.is_none())
                    .or_else(|| b.note.clone())
                    .unwrap_or_else(|| "n/a".into()),
            ),
        }
    }
}

/// A segment as a SQL condition on a row's customer id: `customer_id IN (…)`.
pub struct CustomerFilter {
    pub sql: String,
    pub params: Vec<SqlValue>,
}

impl CustomerFilter {
    /// `column` is the customer-id column of the table being filtered.
    pub fn of(segment: &Segment, column: &str) -> Self {
        let (expr, mut params) = customer_dim_expr(&segment.dimension);
        params.push(SqlValue::Text(segment.value.clone()));
        Self {
            sql: format!(" AND {column} IN (SELECT customer_id FROM customers WHERE {expr} = ?)"),
            params,
        }
    }
}

/// The customers-table expression of a dimension, with its parameters.
pub fn customer_dim_expr(dimension: &str) -> (String, Vec<SqlValue>) {
    match dimension {
        "channel" | "plan" | "region" => (dimension.to_string(), Vec::new()),
        attribute => (
            "json_extract(attributes, ?)".to_string(),
            vec![SqlValue::Text(format!(
                "$.\"{}\"",
                attribute.replace('"', "")
            ))],
        ),
    }
}

/// A segment value as text, whatever its stored type.
pub fn segment_text(value: SqlValue) -> String {
    match value {
        SqlValue::Text(s) => s,
        SqlValue::Integer(i) => i.to_string(),
        SqlValue::Real(f) => f.to_string(),
        _ => String::new(),
    }
}

type DailyRows = Rc<Vec<(NaiveDate, Vec<f64>)>>;

/// Computes metrics of one store as of one reference date. Reuse one engine for many
/// requests: rollup reads and table emptiness are remembered.
pub struct Engine<'a> {
    pub store: &'a Store,
    pub config: &'a Config,
    pub as_of: NaiveDate,
    empty: RefCell<HashMap<String, bool>>,
    daily: RefCell<HashMap<String, DailyRows>>,
    pub(super) subs: RefCell<Option<Rc<super::subscriptions::Book>>>,
    externals: RefCell<Option<Rc<Vec<MetricDef>>>>,
    memo: RefCell<HashMap<String, Rc<dyn std::any::Any>>>,
}

impl<'a> Engine<'a> {
    pub fn new(store: &'a Store, config: &'a Config, as_of: NaiveDate) -> Self {
        Self {
            store,
            config,
            as_of,
            empty: RefCell::default(),
            daily: RefCell::default(),
            subs: RefCell::default(),
            externals: RefCell::default(),
            memo: RefCell::default(),
        }
    }

    /// A value computed once per engine under `key` (e.g. the MRR movements of a range of
    /// periods, shared by the eleven subscription metrics).
    pub fn memo<T: 'static>(
        &self,
        key: String,
        compute: impl FnOnce() -> Result<T, MetricError>,
    ) -> Result<Rc<T>, MetricError> {
        if let Some(value) = self.memo.borrow().get(&key) {
            if let Ok(value) = value.clone().downcast::<T>() {
                return Ok(value);
            }
        }
        let value = Rc::new(compute()?);
        self.memo.borrow_mut().insert(key, value.clone());
        Ok(value)
    }

    pub fn conn(&self) -> &rusqlite::Connection {
        self.store.conn()
    }

    /// The full catalog: built-in metrics, then the external ones.
    pub fn catalog(&self) -> Result<Vec<MetricDef>, MetricError> {
        let mut all = super::catalog::BUILT_IN.to_vec();
        all.extend(self.externals()?.iter().cloned());
        Ok(all)
    }

    fn externals(&self) -> Result<Rc<Vec<MetricDef>>, MetricError> {
        if let Some(e) = self.externals.borrow().as_ref() {
            return Ok(e.clone());
        }
        let e = Rc::new(super::external::definitions(self.store)?);
        *self.externals.borrow_mut() = Some(e.clone());
        Ok(e)
    }

    pub fn definition(&self, id: &str) -> Result<MetricDef, MetricError> {
        if let Some(d) = super::catalog::built_in(id) {
            return Ok(d.clone());
        }
        self.externals()?
            .iter()
            .find(|d| d.id == id)
            .cloned()
            .ok_or_else(|| MetricError::UnknownMetric(id.to_string()))
    }

    pub fn is_empty(&self, table: &str) -> Result<bool, MetricError> {
        if let Some(e) = self.empty.borrow().get(table) {
            return Ok(*e);
        }
        let exists: bool =
            self.conn()
                .query_row(&format!("SELECT EXISTS (SELECT 1 FROM {table})"), [], |r| {
                    r.get(0)
                })?;
        self.empty.borrow_mut().insert(table.to_string(), !exists);
        Ok(!exists)
    }

    /// The first empty source table of a definition.
    pub fn missing_source(&self, def: &MetricDef) -> Result<Option<&'static str>, MetricError> {
        for table in def.sources {
            if self.is_empty(table)? {
                return Ok(Some(table));
            }
        }
        Ok(None)
    }

    /// Rows of `sql` (which selects a `YYYY-MM-DD` day then numbers, with `?1`/`?2` the
    /// day range and further `params`), read once per engine.
    pub fn daily(
        &self,
        sql: &str,
        from: NaiveDate,
        to: NaiveDate,
        params: &[SqlValue],
    ) -> Result<DailyRows, MetricError> {
        let key = format!("{sql}\u{1}{from}\u{1}{to}\u{1}{params:?}");
        if let Some(rows) = self.daily.borrow().get(&key) {
            return Ok(rows.clone());
        }
        let mut all: Vec<SqlValue> = vec![
            SqlValue::Text(from.to_string()),
            SqlValue::Text(to.to_string()),
        ];
        all.extend(params.iter().cloned());
        let mut stmt = self.conn().prepare_cached(sql)?;
        let width = stmt.column_count();
        let mut rows = stmt.query(rusqlite::params_from_iter(all))?;
        let mut out = Vec::new();
        while let Some(row) = rows.next()? {
            let day: String = row.get(0)?;
            let Ok(day) = NaiveDate::parse_from_str(&day, "%Y-%m-%d") else {
                continue;
            };
            let mut values = Vec::with_capacity(width.saturating_sub(1));
            for i in 1..width {
                values.push(row.get::<_, Option<f64>>(i)?.unwrap_or(0.0));
            }
            out.push((day, values));
        }
        let rows = Rc::new(out);
        self.daily.borrow_mut().insert(key, rows.clone());
        Ok(rows)
    }

    /// Sums column `col` of daily rows into each period.
    pub fn bucket(periods: &[Period], rows: &[(NaiveDate, Vec<f64>)], col: usize) -> Vec<f64> {
        let mut out = vec![0.0; periods.len()];
        let mut i = 0;
        for (day, values) in rows {
            while i < periods.len() && periods[i].end() < *day {
                i += 1;
            }
            if i == periods.len() {
                break;
            }
            if periods[i].contains(*day) {
                out[i] += values.get(col).copied().unwrap_or(0.0);
            }
        }
        out
    }

    /// Sums of `sql`'s `width` numeric columns per period (rows ordered by day):
    /// `out[period][column]`.
    pub fn sums(
        &self,
        sql: &str,
        width: usize,
        periods: &[Period],
        params: &[SqlValue],
    ) -> Result<Vec<Vec<f64>>, MetricError> {
        let (Some(first), Some(last)) = (periods.first(), periods.last()) else {
            return Ok(Vec::new());
        };
        // A period still running as of the reference date counts its days up to it: looking
        // back with `--as-of` must not count what came later.
        let rows = self.daily(sql, first.start, last.end().min(self.as_of), params)?;
        let cols: Vec<Vec<f64>> = (0..width)
            .map(|c| Self::bucket(periods, &rows, c))
            .collect();
        Ok((0..periods.len())
            .map(|p| cols.iter().map(|c| c[p]).collect())
            .collect())
    }

    /// The periods of a request, ending no later than the one holding the reference date.
    pub fn periods(&self, grain: Grain, from: NaiveDate, to: NaiveDate) -> Vec<Period> {
        let last = Period::containing(grain, to.min(self.as_of));
        let mut p = Period::containing(grain, from);
        let mut out = Vec::new();
        while p <= last {
            out.push(p);
            p = p.next();
        }
        out
    }

    pub fn is_partial(&self, period: &Period) -> bool {
        period.contains(self.as_of) && period.end() != self.as_of
    }

    /// Every segment value of `dimension` the metric has data for.
    pub fn segment_values(
        &self,
        def: &MetricDef,
        dimension: &str,
    ) -> Result<Vec<String>, MetricError> {
        let allowed = def.segments.contains(&dimension)
            || (def.segments.contains(&"attributes")
                && !["feature", "severity", "segment"].contains(&dimension));
        if !allowed {
            return Err(MetricError::UnknownDimension {
                metric: def.id.to_string(),
                dimension: dimension.to_string(),
            });
        }
        let (sql, params): (String, Vec<SqlValue>) = match (def.module, dimension) {
            (Module::External, _) => (
                "SELECT DISTINCT segment FROM metrics WHERE metric = ? AND segment <> ''".into(),
                vec![SqlValue::Text(def.id.to_string())],
            ),
            (Module::Revenue, "channel") => (
                "SELECT DISTINCT channel FROM ru_orders_day".into(),
                Vec::new(),
            ),
            (Module::Acquisition, "channel") => (
                "SELECT channel FROM spend UNION SELECT channel FROM funnel".into(),
                Vec::new(),
            ),
            (Module::Subscriptions, "plan") => (
                "SELECT DISTINCT plan FROM subscriptions WHERE plan IS NOT NULL".into(),
                Vec::new(),
            ),
            (_, "feature") => (
                "SELECT DISTINCT feature FROM ru_feature_users_day".into(),
                Vec::new(),
            ),
            (_, "severity") => (
                "SELECT DISTINCT COALESCE(severity, '') FROM tickets".into(),
                Vec::new(),
            ),
            (_, dim) => {
                let (expr, params) = customer_dim_expr(dim);
                (
                    format!("SELECT DISTINCT {expr} FROM customers WHERE {expr} IS NOT NULL"),
                    params.iter().chain(params.iter()).cloned().collect(),
                )
            }
        };
        let mut stmt = self.conn().prepare(&sql)?;
        let mut values: Vec<String> = stmt
            .query_map(rusqlite::params_from_iter(params), |r| {
                Ok(segment_text(r.get(0)?))
            })?
            .collect::<Result<_, _>>()?;
        values.sort();
        values.dedup();
        Ok(values)
    }

    /// The cohort matrix of one variant, with its forecast cells.
    pub fn cohorts(
        &self,
        variant: super::CohortVariant,
    ) -> Result<super::CohortMatrix, MetricError> {
        super::cohort::matrix(self, variant)
    }

    /// One metric's series: overall, or one per segment value of `request.by`.
    pub fn series(&self, request: &SeriesRequest<'_>) -> Result<Vec<Series>, MetricError> {
        let def = self.definition(request.metric)?;
        let periods = self.periods(request.grain, request.from, request.to);
        let segments: Vec<Option<Segment>> = match request.by {
            None => vec![None],
            Some(dimension) => self
                .segment_values(&def, dimension)?
                .into_iter()
                .map(|value| {
                    Some(Segment {
                        dimension: dimension.to_string(),
                        value,
                    })
                })
                .collect(),
        };
        let mut out = Vec::with_capacity(segments.len());
        for segment in segments {
            let cells = match self.missing_source(&def)? {
                Some(table) => {
                    vec![Cell::note(format!("no data — import {table}")); periods.len()]
                }
                None if periods.is_empty() => Vec::new(),
                None => super::compute_cells(self, &def, &periods, segment.as_ref())?,
            };
            let points = periods
                .iter()
                .zip(cells)
                .map(|(period, cell)| Point {
                    period: *period,
                    value: cell.value.filter(|v| v.is_finite()),
                    note: cell.note,
                    partial: self.is_partial(period),
                })
                .collect();
            out.push(Series {
                metric: def.id.to_string(),
                segment,
                grain: request.grain,
                points,
            });
        }
        Ok(out)
    }
}
