//! The shared machinery of metric computation: periods, the "no data" rule, segment
//! filters and a memo of per-day rollup reads, so one snapshot reads each rollup range
//! once however many metrics use it.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use std::sync::Arc;

use chrono::NaiveDate;

use super::catalog::Module;
use super::{Grain, MetricDef, MetricError, Period, Point, Segment, Series, SeriesRequest};
use crate::config::Config;
use crate::store::Store;
use crate::store::metric_queries::{CountQuery, DailyQuery, RowFilter, SegmentSource};

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

/// A segment as the rows of its customers, whatever its dimension (an order channel is
/// the customer's acquisition channel here).
pub fn customer_filter(segment: Option<&Segment>) -> RowFilter {
    match segment {
        None => RowFilter::All,
        Some(s) => RowFilter::Customers {
            dimension: s.dimension.clone(),
            value: s.value.clone(),
        },
    }
}

/// A segment of a table with its own `channel` column: by channel, the rows of that
/// channel; by any other dimension, the rows of its customers.
pub fn channel_or_customer_filter(segment: Option<&Segment>) -> RowFilter {
    match segment {
        Some(s) if s.dimension == "channel" => RowFilter::Channel(s.value.clone()),
        other => customer_filter(other),
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
    pub(super) subs: RefCell<Option<Arc<super::subscriptions::Book>>>,
    /// The whole book per segment from the subscription rollups, lent by the alerts.
    pub(super) segment_book: RefCell<Option<Arc<super::subscriptions::SegmentBook>>>,
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
            segment_book: RefCell::default(),
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
        let exists = self.store.has_rows(table)?;
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

    /// The rows of `query` from `from` to `to`, read once per engine.
    pub fn daily(
        &self,
        query: &DailyQuery,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<DailyRows, MetricError> {
        let key = format!("{query:?}\u{1}{from}\u{1}{to}");
        if let Some(rows) = self.daily.borrow().get(&key) {
            return Ok(rows.clone());
        }
        let rows = Rc::new(self.store.daily_sums(query, from, to)?);
        self.daily.borrow_mut().insert(key, rows.clone());
        Ok(rows)
    }

    /// The count of `query` from `from` to `to`.
    pub fn count(
        &self,
        query: &CountQuery,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<f64, MetricError> {
        Ok(self.store.count_between(query, from, to)?)
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

    /// Sums of `query`'s numbers per period: `out[period][column]`.
    pub fn sums(
        &self,
        query: &DailyQuery,
        periods: &[Period],
    ) -> Result<Vec<Vec<f64>>, MetricError> {
        let width = query.width();
        let (Some(first), Some(last)) = (periods.first(), periods.last()) else {
            return Ok(Vec::new());
        };
        // A period still running as of the reference date counts its days up to it: looking
        // back with `--as-of` must not count what came later.
        let rows = self.daily(query, first.start, last.end().min(self.as_of))?;
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

    /// A series' points from its cells, one per period (a value that is not finite is
    /// no value).
    pub fn points(&self, periods: &[Period], cells: Vec<Cell>) -> Vec<Point> {
        periods
            .iter()
            .zip(cells)
            .map(|(period, cell)| Point {
                period: *period,
                value: cell.value.filter(|v| v.is_finite()),
                note: cell.note,
                partial: self.is_partial(period),
            })
            .collect()
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
        let source = match (def.module, dimension) {
            (Module::External, _) => SegmentSource::ExternalMetric(def.id.as_ref()),
            (Module::Revenue, "channel") => SegmentSource::OrderChannels,
            (Module::Acquisition, "channel") => SegmentSource::MarketingChannels,
            (Module::Subscriptions, "plan") => SegmentSource::SubscriptionPlans,
            (_, "feature") => SegmentSource::Features,
            (_, "severity") => SegmentSource::Severities,
            (_, dim) => SegmentSource::Customers(dim),
        };
        Ok(self.store.segment_values(&source)?)
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
            let points = self.points(&periods, cells);
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
