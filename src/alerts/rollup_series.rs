//! The alerts' series source: every segment of a dimension from one read of the per-day
//! rollups, instead of one filtered query per segment and period through the general
//! metric engine (SPEC §8: alerts from rollups per segment and day).
//!
//! The breakdowns that dominate an evaluation — order sums and distinct customers by
//! order channel, plan and region; active users, stickiness and sessions by the users'
//! channel, plan and region; active customers, churn, retention, MRR and its movements by
//! the customers' (or subscriptions') segments; survey scores by the responding
//! customers' segments (one grouped read) — are computed here from [`SegmentDays`]:
//! order and event sums and distinct counts from the rollups per segment
//! (`store::rollup::segments`: days × segment values, whatever the number of customers),
//! the repeat purchase rate from the repeat-purchase deltas per segment and day, customer
//! metrics and MRR from the subscription book with the channel, plan and region of its
//! customers only (the subscribers, read once, not every customer), every value of a
//! dimension — and at once every dimension of the customer flows — counted in one pass.
//! Every other request (totals, which read small rollups already, and the metrics not
//! listed) goes to the engine. Values are the engine's to the bit: day sums
//! are whole minor units, added in the same order, and ratios use the same `Cell`
//! arithmetic (`tests/alerts_rollup_series.rs` holds the two paths equal).
//!
//! [`SegmentDays`] outlives an evaluation: after a live import, [`SegmentDays::forget`]
//! drops the days it wrote and the next evaluation reads back only those.

use std::collections::{BTreeSet, HashMap};
use std::rc::Rc;
use std::sync::Arc;

use chrono::{Datelike, Duration, NaiveDate};

use crate::metrics::catalog::Module;
use crate::metrics::satisfaction;
use crate::metrics::subscriptions::{
    self, Book, Movements, SegmentBook, Subscription, movement_cell, movements_by_group,
};
use crate::metrics::{
    Cell, Engine, Grain, MetricDef, MetricError, MetricId, Period, Segment, Series, SeriesRequest,
};
use crate::store::Store;
use crate::store::rollup::subscriptions::{ALL, SUBSCRIPTION_PLAN};
use crate::store::rollup::{DIMENSIONS, Touched};

/// Metrics of completed orders answered here, by order channel, plan and region.
const ORDER_METRICS: [MetricId; 7] = [
    MetricId::GrossRevenue,
    MetricId::NetRevenue,
    MetricId::Orders,
    MetricId::Aov,
    MetricId::DiscountRate,
    MetricId::PayingCustomers,
    MetricId::RepeatPurchaseRate,
];
/// Metrics of events answered here, by the user's channel, plan and region.
const EVENT_METRICS: [MetricId; 5] = [
    MetricId::Dau,
    MetricId::Wau,
    MetricId::Mau,
    MetricId::StickinessPct,
    MetricId::SessionsPerUser,
];
/// Metrics of customers answered here, by their channel, plan and region (all but signups
/// where activity comes from subscriptions).
const CUSTOMER_METRICS: [MetricId; 4] = [
    MetricId::NewCustomers,
    MetricId::ActiveCustomers,
    MetricId::CustomerChurnPct,
    MetricId::RetentionRatePct,
];
/// Survey metrics answered here, by the responding customer's channel, plan and region.
const SURVEY_METRICS: [MetricId; 4] = [
    MetricId::Nps,
    MetricId::CsatPct,
    MetricId::CsatMean,
    MetricId::Ces,
];
/// MRR, its movements (`signal::MRR_MOVEMENTS`) and the levels counted beside them,
/// answered here by the subscription's plan or the customer's channel and region: the
/// book is read once, every value counted from it.
const BOOK_LEVELS: [MetricId; 5] = [
    MetricId::Mrr,
    MetricId::Arr,
    MetricId::Arpa,
    MetricId::RevenueChurnPct,
    MetricId::NrrPct,
];

fn from_the_book(metric: MetricId) -> bool {
    BOOK_LEVELS.contains(&metric) || super::signal::MRR_MOVEMENTS.contains(&metric)
}

/// How rows are split into segments: by the order's channel, or by one of the customer's
/// columns (for events, the user's customer row).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum View {
    OrderChannel,
    Customer(usize),
}

/// The customer columns a segment can be taken from, in `CustomerDims` order.
const CUSTOMER_COLUMNS: [&str; 3] = ["channel", "plan", "region"];

const NO_SEGMENT: u16 = u16::MAX;

/// Repeat-purchase ranges kept between evaluations before they are all dropped.
const REPEAT_RANGES_KEPT: usize = 64;

/// Days as numbers, for arrays and comparisons.
fn day_number(day: NaiveDate) -> i32 {
    day.num_days_from_ce()
}

/// Rollup rows and the subscription book with its customers' segments, kept between
/// evaluations; the days held only grow.
#[derive(Debug, Default)]
pub struct SegmentDays {
    /// Every subscription by customer, read once: the customer metrics and MRR of every
    /// segment are counted from it.
    book: Option<Arc<Book>>,
    /// The segments of the book's customers (dropped with the book).
    subscribers: Option<Arc<Subscribers>>,
    /// What is counted from the book, kept with it: after an import of other tables the
    /// next evaluation reads them back. `[span][segment]` subscription flows by customer
    /// column and spans.
    flows: HashMap<(usize, Spans), Arc<Vec<Vec<Flow>>>>,
    /// `[segment value][span]` movements by customer column (`None`: the subscription's
    /// plan), listed values and spans.
    movements: HashMap<MovementsOf, Arc<Vec<Vec<Movements>>>>,
    /// Day sums per segment value of orders (`true`) or events by dimension
    /// (`rollup::DIMENSIONS` index), each table's `channels` the values it met.
    sums: HashMap<(bool, usize), Table<SegmentRow>>,
    /// Repeat-purchase deltas by view and day range, read from the segment rollups
    /// (again after an import of orders).
    repeat: HashMap<(View, i32, i32), Arc<RepeatDeltas>>,
    /// The subscription book per segment of each dimension (`rollup::subscriptions`),
    /// read again after an import of subscriptions or customers.
    segment_books: HashMap<String, Arc<SegmentBook>>,
    /// Whether a customer attribute (not channel, plan or region) has no value at all:
    /// only a customers import can change it, and that starts afresh.
    attribute_without_values: HashMap<String, bool>,
}

/// The channel, plan and region of each customer of the subscription book, by the
/// customer's place in it: read for the subscribers only (a quarter of the customers in
/// the benchmark's store), not for every customer.
#[derive(Debug, Default)]
struct Subscribers {
    /// Per book customer: its value index in each of `CUSTOMER_COLUMNS` (`NO_SEGMENT`: none).
    columns: Vec<[u16; 3]>,
    values: [Values; 3],
}

/// Interned segment values of one column.
#[derive(Debug, Default)]
struct Values {
    index: HashMap<String, u16>,
    names: Vec<String>,
}

impl Values {
    fn intern(&mut self, value: &str) -> u16 {
        if let Some(i) = self.index.get(value) {
            return *i;
        }
        let i = u16::try_from(self.names.len()).unwrap_or(NO_SEGMENT);
        if i != NO_SEGMENT {
            self.names.push(value.to_string());
            self.index.insert(value.to_string(), i);
        }
        i
    }
}

impl Subscribers {
    fn load(store: &Store, book: &Book) -> Result<Self, MetricError> {
        let ids: Vec<&str> = book.iter().map(|(id, _)| id).collect();
        let mut out = Subscribers {
            columns: vec![[NO_SEGMENT; 3]; ids.len()],
            values: Default::default(),
        };
        // Book and rows both come in customer id order (SQLite's text order is bytewise,
        // as `str`'s): one walk pairs them, a book customer without a row keeps none.
        let mut place = 0;
        store.subscriber_dims(|id, values| {
            while ids.get(place).is_some_and(|held| *held < id) {
                place += 1;
            }
            if ids.get(place) != Some(&id) {
                return;
            }
            for (c, value) in values.iter().enumerate() {
                if let Some(value) = value {
                    out.columns[place][c] = out.values[c].intern(value);
                }
            }
        })?;
        Ok(out)
    }
}

/// One day's sums of one segment value (`store::segment_days::SegmentDay`).
#[derive(Debug, Clone, Copy)]
struct SegmentRow {
    day: i32,
    segment: u16,
    sums: [f64; 5],
}

trait Row: Copy {
    fn day(&self) -> i32;
}

impl Row for SegmentRow {
    fn day(&self) -> i32 {
        self.day
    }
}

/// A rollup's rows of the days `from`..=`to`, ordered by day.
#[derive(Debug)]
struct Table<R> {
    from: NaiveDate,
    to: NaiveDate,
    rows: Vec<R>,
    /// Order channels (orders only).
    channels: Values,
}

impl<R: Row> Table<R> {
    /// The rows of days `from`..=`to`.
    fn between(&self, from: i32, to: i32) -> &[R] {
        let lo = self.rows.partition_point(|r| r.day() < from);
        let hi = self.rows.partition_point(|r| r.day() <= to);
        &self.rows[lo..hi.max(lo)]
    }

    fn covers(&self, from: NaiveDate, to: NaiveDate) -> bool {
        self.from <= from && to <= self.to
    }

    /// Drops the rows of `days` and reads them again with `read`.
    fn reread(
        &mut self,
        days: &BTreeSet<NaiveDate>,
        mut read: impl FnMut(NaiveDate, &mut Vec<R>, &mut Values) -> Result<(), MetricError>,
    ) -> Result<(), MetricError> {
        let days: BTreeSet<NaiveDate> = days
            .iter()
            .copied()
            .filter(|d| self.from <= *d && *d <= self.to)
            .collect();
        if days.is_empty() {
            return Ok(());
        }
        let numbers: BTreeSet<i32> = days.iter().map(|d| day_number(*d)).collect();
        self.rows.retain(|r| !numbers.contains(&r.day()));
        for day in days {
            read(day, &mut self.rows, &mut self.channels)?;
        }
        self.rows.sort_by_key(Row::day);
        Ok(())
    }
}

impl SegmentDays {
    /// Forgets the rows of the days `touched` says were written, so the next evaluation
    /// reads them again; a customers import may move anyone to another segment, so it
    /// forgets everything.
    pub fn forget(&mut self, store: &Store, touched: &Touched) -> Result<(), MetricError> {
        if touched.touches("customers") {
            *self = SegmentDays::default();
            return Ok(());
        }
        if touched.touches("subscriptions") {
            self.book = None;
            self.subscribers = None;
            self.flows.clear();
            self.movements.clear();
            self.segment_books.clear();
        }
        let of = |table: &str| touched.days.get(table).cloned().unwrap_or_default();
        let mut order_days = of("orders");
        order_days.extend(of("refunds"));
        // A re-imported order may move its refunds to another channel or customer.
        order_days.extend(store.refund_days_of_order_days(&of("orders"))?);
        if !order_days.is_empty() {
            // Read back from the segment rollups: days × segment values.
            self.repeat.clear();
        }
        for ((orders, dim), table) in &mut self.sums {
            let days = if *orders { &order_days } else { &of("events") };
            table.reread(days, |day, rows, values| {
                read_segment_days(store, *orders, *dim, day, day, rows, values)
            })?;
        }
        Ok(())
    }

    /// The book kept here, else the engine's (read once for both).
    fn book(&mut self, engine: &Engine<'_>) -> Result<Arc<Book>, MetricError> {
        if let Some(book) = &self.book {
            return Ok(book.clone());
        }
        let book = subscriptions::book(engine)?;
        self.book = Some(book.clone());
        Ok(book)
    }

    /// The book (as [`SegmentDays::book`]) and the segments of its customers.
    fn subscribers(
        &mut self,
        engine: &Engine<'_>,
    ) -> Result<(Arc<Book>, Arc<Subscribers>), MetricError> {
        let book = self.book(engine)?;
        if let Some(subscribers) = &self.subscribers {
            return Ok((book, subscribers.clone()));
        }
        let subscribers = Arc::new(Subscribers::load(engine.store, &book)?);
        self.subscribers = Some(subscribers.clone());
        Ok((book, subscribers))
    }

    /// The day sums per segment value of orders (`true`) or events by dimension `dim`,
    /// read for at least `from`..=`to`.
    fn segment_sums(
        &mut self,
        store: &Store,
        orders: bool,
        dim: usize,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<&Table<SegmentRow>, MetricError> {
        let key = (orders, dim);
        if !self.sums.get(&key).is_some_and(|t| t.covers(from, to)) {
            let held = self.sums.get(&key).map(|t| (t.from, t.to));
            let (mut rows, mut values) = self
                .sums
                .remove(&key)
                .map(|t| (t.rows, t.channels))
                .unwrap_or_default();
            for (a, b) in unread(held, from, to) {
                read_segment_days(store, orders, dim, a, b, &mut rows, &mut values)?;
            }
            rows.sort_by_key(Row::day);
            let (from, to) = widened(held, from, to);
            self.sums.insert(
                key,
                Table {
                    from,
                    to,
                    rows,
                    channels: values,
                },
            );
        }
        Ok(self.sums.get(&key).expect("just read"))
    }
}

/// The days of the [`widened`] range outside the range held, as at most two ranges.
fn unread(
    held: Option<(NaiveDate, NaiveDate)>,
    from: NaiveDate,
    to: NaiveDate,
) -> Vec<(NaiveDate, NaiveDate)> {
    let Some((a, b)) = held else {
        return vec![(from, to)];
    };
    let mut out = Vec::new();
    if from < a {
        out.push((from, a - Duration::days(1)));
    }
    if to > b {
        out.push((b + Duration::days(1), to));
    }
    out
}

/// The range to read: the one asked for, joined with the one held.
fn widened(
    held: Option<(NaiveDate, NaiveDate)>,
    from: NaiveDate,
    to: NaiveDate,
) -> (NaiveDate, NaiveDate) {
    match held {
        Some((a, b)) => (a.min(from), b.max(to)),
        None => (from, to),
    }
}

/// Parses rollup days, remembering the last one: rows come ordered by day.
#[derive(Default)]
struct Days {
    last: String,
    number: Option<i32>,
}

impl Days {
    fn number(&mut self, day: &str) -> Option<i32> {
        if day != self.last {
            self.last = day.to_string();
            self.number = crate::dates::parse_day(day).map(day_number);
        }
        self.number
    }
}

fn read_segment_days(
    store: &Store,
    orders: bool,
    dim: usize,
    from: NaiveDate,
    to: NaiveDate,
    rows: &mut Vec<SegmentRow>,
    values: &mut Values,
) -> Result<(), MetricError> {
    let mut days = Days::default();
    let dim = DIMENSIONS.get(dim).copied().unwrap_or_default();
    store.segment_days(orders, dim, &from.to_string(), &to.to_string(), |r| {
        if let Some(day) = days.number(r.day) {
            rows.push(SegmentRow {
                day,
                segment: values.intern(r.value),
                sums: r.sums,
            });
        }
    })?;
    Ok(())
}

/// Spans of days as (first, last) day numbers.
type Spans = Vec<(i32, i32)>;
/// Movements by customer column (`None`: the subscription's plan), listed values, spans.
type MovementsOf = (Option<usize>, Vec<String>, Spans);
/// Distinct counts of orders (`true`) or events, by a view, of a kind, over periods.
type SpansOf = (bool, View, String, Vec<NaiveDate>);
/// `[span][segment]` counts.
type Counts = Rc<Vec<Vec<f64>>>;

/// Answers series requests for the alerts: the breakdowns listed in the module docs from
/// [`SegmentDays`], everything else from `engine`.
pub struct RollupSeries<'e, 's> {
    engine: &'e Engine<'e>,
    days: &'s mut SegmentDays,
    segment_values: HashMap<(String, String), Rc<Vec<String>>>,
    distinct: HashMap<SpansOf, Counts>,
    /// Whether the engine was lent the whole book per segment (or there is none).
    lent_segment_book: bool,
}

/// Customers with an active subscription at a span's start and end, and those who were
/// at the start but not at the end (`metrics::customers::flow`'s counts).
#[derive(Debug, Clone, Copy, Default)]
struct Flow {
    start: f64,
    end: f64,
    churned: f64,
}

/// Per segment value, a day's change of the customers with ≥ 1 and with ≥ 2 orders in
/// the 12 months ending on it, for each day of the range read (`RepeatDeltas::first` on;
/// the first day's holds every change before it too).
#[derive(Debug, Default)]
struct RepeatDeltas {
    first: i32,
    by_segment: Vec<Vec<(i64, i64)>>,
    values: Values,
}

impl<'e, 's> RollupSeries<'e, 's> {
    pub fn new(engine: &'e Engine<'e>, days: &'s mut SegmentDays) -> Self {
        // The engine's own subscription metrics count from the book kept here.
        if let Some(book) = &days.book {
            subscriptions::lend_book(engine, book.clone());
        }
        Self {
            engine,
            days,
            segment_values: HashMap::new(),
            distinct: HashMap::new(),
            lent_segment_book: false,
        }
    }

    /// `engine.series(request)`, the same values read the fast way where this source
    /// knows how.
    pub fn series(&mut self, request: &SeriesRequest<'_>) -> Result<Vec<Series>, MetricError> {
        if !self.lent_segment_book {
            self.lent_segment_book = true;
            // CLV (and what counts it) reads the book's churn and MRR from the rollups too.
            if !self.engine.is_empty("subscriptions")? {
                let book = self.segment_book(ALL)?;
                subscriptions::lend_segment_book(self.engine, book);
            }
        }
        let Some(dimension) = request.by else {
            return self.total_from_the_book(request);
        };
        if self.is_attribute_without_values(request.metric, dimension)? {
            // The engine lists no segment, so no series, after a scan of every customer.
            return Ok(Vec::new());
        }
        let metric = MetricId::parse(request.metric);
        let among = |list: &[MetricId]| metric.is_some_and(|m| list.contains(&m));
        let orders = among(&ORDER_METRICS);
        let events = among(&EVENT_METRICS);
        let movements = metric.is_some_and(from_the_book);
        let surveys = among(&SURVEY_METRICS);
        let customers = among(&CUSTOMER_METRICS)
            // Order-based activity is counted by the engine in one pass already.
            && (metric == Some(MetricId::NewCustomers)
                || !self.engine.is_empty("subscriptions")?);
        let view = match (dimension, orders) {
            ("channel", true) => View::OrderChannel,
            (column, _) => match CUSTOMER_COLUMNS.iter().position(|c| *c == column) {
                Some(c) => View::Customer(c),
                None => return self.engine.series(request),
            },
        };
        if !(orders || events || customers || movements || surveys) {
            return self.engine.series(request);
        }
        let def = self.engine.definition(request.metric)?;
        let periods = self.engine.periods(request.grain, request.from, request.to);
        if periods.is_empty() || self.engine.missing_source(&def)?.is_some() {
            return self.engine.series(request);
        }
        let values = self.values(&def, dimension)?;
        let cells = if orders {
            self.order_cells(&def, view, &periods, &values)?
        } else if let (true, View::Customer(c)) = (surveys, view) {
            self.survey_cells(&def, c, &periods, &values)?
        } else if movements {
            // By plan: the subscription's own plan.
            let column = match (dimension, view) {
                ("plan", _) | (_, View::OrderChannel) => None,
                (_, View::Customer(c)) => Some(c),
            };
            self.movement_cells(&def, column, &periods, values.clone())?
        } else if customers {
            self.customer_cells(&def, view, &periods, &values)?
        } else {
            self.event_cells(&def, view, &periods, &values)?
        };
        Ok(values
            .iter()
            .zip(cells)
            .map(|(value, cells)| Series {
                metric: def.id.to_string(),
                segment: Some(Segment {
                    dimension: dimension.to_string(),
                    value: value.clone(),
                }),
                grain: request.grain,
                points: self.engine.points(&periods, cells),
            })
            .collect())
    }

    /// A total of the subscription book's metrics — MRR, its movements and the levels
    /// beside them; active customers, churn and retention where activity comes from
    /// subscriptions — from the book per segment (`all`), when every period's span ends
    /// within it; every other total from the engine.
    fn total_from_the_book(
        &mut self,
        request: &SeriesRequest<'_>,
    ) -> Result<Vec<Series>, MetricError> {
        let metric = MetricId::parse(request.metric);
        let book_metric = metric.is_some_and(from_the_book);
        let customer =
            metric.is_some_and(|m| m != MetricId::NewCustomers && CUSTOMER_METRICS.contains(&m));
        if !(book_metric || customer) || self.engine.is_empty("subscriptions")? {
            return self.engine.series(request);
        }
        let def = self.engine.definition(request.metric)?;
        let periods = self.engine.periods(request.grain, request.from, request.to);
        if periods.is_empty()
            || self.engine.missing_source(&def)?.is_some()
            || !self.period_to_date(&periods)
        {
            return self.engine.series(request);
        }
        let total = [String::new()];
        let cells = if book_metric {
            self.rollup_movement_cells(&def, ALL, &periods, &total)?
        } else {
            let news = match metric {
                Some(MetricId::RetentionRatePct) => Some(vec![crate::metrics::new_customers(
                    self.engine,
                    &periods,
                    None,
                )?]),
                _ => None,
            };
            self.rollup_customer_cells(&def, ALL, &periods, &total, news)?
        };
        Ok(cells
            .into_iter()
            .map(|cells| Series {
                metric: def.id.to_string(),
                segment: None,
                grain: request.grain,
                points: self.engine.points(&periods, cells),
            })
            .collect())
    }

    /// Whether every period's span (up to the reference date) ends within the period:
    /// then the subscription rollups, kept period to date, hold it.
    fn period_to_date(&self, periods: &[Period]) -> bool {
        let as_of = self.as_of();
        periods.iter().all(|p| p.start <= p.end().min(as_of))
    }

    /// The book per segment of `dim`, kept between evaluations.
    fn segment_book(&mut self, dim: &str) -> Result<Arc<SegmentBook>, MetricError> {
        if let Some(book) = self.days.segment_books.get(dim) {
            return Ok(book.clone());
        }
        let book = Arc::new(SegmentBook::load(self.engine.store, dim)?);
        self.days
            .segment_books
            .insert(dim.to_string(), book.clone());
        Ok(book)
    }

    /// The movements of `dim` over the spans of kind `span` (`rollup::subscriptions::SPANS`)
    /// ending on the days `lasts`, by (day, value): new, expansion, contraction, churned,
    /// reactivation, left active.
    fn rollup_moves(
        &self,
        span: &str,
        dim: &str,
        lasts: &[NaiveDate],
    ) -> Result<HashMap<(NaiveDate, String), [i64; 6]>, MetricError> {
        let mut out = HashMap::new();
        let (Some(from), Some(to)) = (lasts.iter().min(), lasts.iter().max()) else {
            return Ok(out);
        };
        let wanted: BTreeSet<NaiveDate> = lasts.iter().copied().collect();
        self.engine.store.subscription_moves(
            span,
            dim,
            &from.to_string(),
            &to.to_string(),
            |day, value, numbers| {
                if let Some(day) = crate::dates::parse_day(day).filter(|d| wanted.contains(d)) {
                    out.insert((day, value.to_string()), numbers);
                }
            },
        )?;
        Ok(out)
    }

    /// `[listed value][period]` cells of an MRR movement metric (or a level beside
    /// them) of `dim` from the book per segment: MRR at the close of the day before each
    /// period and at its last day (up to the reference date), the movements in between.
    fn rollup_movement_cells(
        &mut self,
        def: &MetricDef,
        dim: &str,
        periods: &[Period],
        values: &[String],
    ) -> Result<Vec<Vec<Cell>>, MetricError> {
        let metric = MetricId::parse(&def.id)
            .filter(|m| movement_cell(*m, &Movements::default()).is_some())
            .ok_or_else(|| MetricError::UnknownMetric(def.id.to_string()))?;
        let as_of = self.as_of();
        let grain = periods.first().map_or(Grain::Day, |p| p.grain);
        let lasts: Vec<NaiveDate> = periods.iter().map(|p| p.end().min(as_of)).collect();
        let book = self.segment_book(dim)?;
        let moves = self.rollup_moves(&grain.to_string(), dim, &lasts)?;
        Ok(values
            .iter()
            .map(|value| {
                periods
                    .iter()
                    .zip(&lasts)
                    .filter_map(|(period, last)| {
                        let n = moves
                            .get(&(*last, value.clone()))
                            .copied()
                            .unwrap_or_default();
                        let (start, _) = book.level(value, period.start - Duration::days(1));
                        let (end, active) = book.level(value, *last);
                        let m = Movements {
                            start,
                            end,
                            new: n[0],
                            expansion: n[1],
                            contraction: n[2],
                            churned: n[3],
                            reactivation: n[4],
                            active_end: u64::try_from(active).unwrap_or(0),
                        };
                        movement_cell(metric, &m)
                    })
                    .collect()
            })
            .collect())
    }

    /// `[listed value][period]` cells of active customers, churn or retention of `dim`
    /// from the book per segment: customers active on each period's first day and on its
    /// last (up to the reference date), and those of the first who left; retention also
    /// takes `news`, `[listed value][period]` signups.
    fn rollup_customer_cells(
        &mut self,
        def: &MetricDef,
        dim: &str,
        periods: &[Period],
        values: &[String],
        news: Option<Vec<Vec<f64>>>,
    ) -> Result<Vec<Vec<Cell>>, MetricError> {
        let id = MetricId::parse(&def.id);
        let as_of = self.as_of();
        let grain = periods.first().map_or(Grain::Day, |p| p.grain);
        let lasts: Vec<NaiveDate> = periods.iter().map(|p| p.end().min(as_of)).collect();
        let book = self.segment_book(dim)?;
        let moves = self.rollup_moves(&grain.to_string(), dim, &lasts)?;
        let why = "no active customers at the start";
        Ok(values
            .iter()
            .enumerate()
            .map(|(listed, value)| {
                periods
                    .iter()
                    .zip(&lasts)
                    .enumerate()
                    .map(|(p, (period, last))| {
                        let start = book.level(value, period.start).1 as f64;
                        let end = book.level(value, *last).1 as f64;
                        let churned = moves.get(&(*last, value.clone())).map_or(0, |n| n[5]) as f64;
                        let new = news
                            .as_ref()
                            .and_then(|n| n.get(listed)?.get(p).copied())
                            .unwrap_or(0.0);
                        match id {
                            Some(MetricId::ActiveCustomers) => Cell::value(end),
                            Some(MetricId::CustomerChurnPct) => {
                                Cell::ratio(churned, start, 100.0, why)
                            }
                            _ => Cell::ratio(end - new, start, 100.0, why),
                        }
                    })
                    .collect()
            })
            .collect())
    }

    /// Whether `dimension` is a customer attribute of `metric` that no customer holds: its
    /// values come from the customers whatever the metric, so they are read once.
    fn is_attribute_without_values(
        &mut self,
        metric: &str,
        dimension: &str,
    ) -> Result<bool, MetricError> {
        const NAMED: [&str; 5] = ["channel", "plan", "region", "feature", "severity"];
        if NAMED.contains(&dimension) {
            return Ok(false);
        }
        let def = self.engine.definition(metric)?;
        if def.module == Module::External || !def.segments.contains(&dimension) {
            return Ok(false);
        }
        if let Some(none) = self.days.attribute_without_values.get(dimension) {
            return Ok(*none);
        }
        // No customer holds any attribute: no value of any, without a scan of every one.
        let none = !self.engine.store.customers_have_attributes()?
            || self.engine.segment_values(&def, dimension)?.is_empty();
        self.days
            .attribute_without_values
            .insert(dimension.to_string(), none);
        Ok(none)
    }

    /// The segment values the engine lists for `def` by `dimension`, read once.
    fn values(&mut self, def: &MetricDef, dimension: &str) -> Result<Rc<Vec<String>>, MetricError> {
        let metric = MetricId::parse(&def.id);
        let family = if metric.is_some_and(|m| ORDER_METRICS.contains(&m)) {
            "orders"
        } else if metric.is_some_and(from_the_book) {
            // A subscription's plan, not the customer's.
            "subscriptions"
        } else {
            // Events and customers list the customers' values alike.
            "customers"
        };
        let key = (family.to_string(), dimension.to_string());
        if let Some(values) = self.segment_values.get(&key) {
            return Ok(values.clone());
        }
        let values = if family == "subscriptions" && dimension == "plan" {
            // Every plan of a subscription has rows in the book per segment.
            self.engine.store.subscription_values(SUBSCRIPTION_PLAN)?
        } else {
            self.engine.segment_values(def, dimension)?
        };
        let values = Rc::new(values);
        self.segment_values.insert(key, values.clone());
        Ok(values)
    }

    /// The index of each listed value in the view's interned values.
    fn value_indexes(&self, view: View, values: &[String]) -> Vec<Option<u16>> {
        let interned = match view {
            View::OrderChannel => None,
            View::Customer(c) => self.days.subscribers.as_ref().map(|s| &s.values[c]),
        };
        values
            .iter()
            .map(|v| interned.and_then(|i| i.index.get(v).copied()))
            .collect()
    }

    fn as_of(&self) -> NaiveDate {
        self.engine.as_of
    }

    /// `[segment value][period]` cells of an order metric.
    fn order_cells(
        &mut self,
        def: &MetricDef,
        view: View,
        periods: &[Period],
        values: &[String],
    ) -> Result<Vec<Vec<Cell>>, MetricError> {
        let first = periods.first().map_or(self.as_of(), |p| p.start);
        let last = periods.last().map_or(self.as_of(), Period::end);
        let store = self.engine.store;
        let metric = MetricId::parse(&def.id);
        if metric == Some(MetricId::RepeatPurchaseRate) {
            return self.repeat_purchase_cells(view, periods, values);
        }
        self.days
            .segment_sums(store, true, dimension_of(view), first, last)?;
        if metric == Some(MetricId::PayingCustomers) {
            let grain = periods.first().map_or(Grain::Day, |p| p.grain);
            let starts = periods.iter().map(|p| p.start).collect();
            let counts = self.counts(true, view, format!("paying_{grain}"), starts)?;
            let indexes = self.segment_indexes(true, view, values);
            return Ok(indexes
                .iter()
                .map(|i| {
                    (0..periods.len())
                        .map(|p| Cell::value(at(&counts, p, *i)))
                        .collect()
                })
                .collect());
        }
        let sums = self.order_sums(view, periods);
        let indexes = self.segment_indexes(true, view, values);
        let cell = |t: [f64; 5]| {
            let orders = t[0];
            let gross = t[1] / 100.0;
            let discount = t[2] / 100.0;
            let refunds = t[4] / 100.0;
            match metric {
                Some(MetricId::GrossRevenue) => Cell::value(gross),
                Some(MetricId::NetRevenue) => Cell::value(gross - refunds),
                Some(MetricId::Orders) => Cell::value(orders),
                Some(MetricId::Aov) => Cell::ratio(gross, orders, 1.0, "no orders"),
                _ => Cell::ratio(discount, gross + discount, 100.0, "no orders"),
            }
        };
        Ok(indexes
            .iter()
            .map(|i| {
                sums.iter()
                    .map(|per_segment| {
                        let sums = i
                            .and_then(|i| per_segment.get(usize::from(i)).copied())
                            .unwrap_or([0.0; 5]);
                        cell(sums)
                    })
                    .collect()
            })
            .collect())
    }

    /// The index of each listed value among the values of the day sums of orders (`true`)
    /// or events by `view` (`None`: no rows).
    fn segment_indexes(&self, orders: bool, view: View, values: &[String]) -> Vec<Option<u16>> {
        let table = self.days.sums.get(&(orders, dimension_of(view)));
        values
            .iter()
            .map(|v| table.and_then(|t| t.channels.index.get(v).copied()))
            .collect()
    }

    /// Repeat purchase rate per period (`metrics::revenue`'s, for each segment value):
    /// customers with ≥ 2 completed orders ÷ with ≥ 1 over the 12 months ending at the
    /// period's end, from the segment's customers' order days.
    fn repeat_purchase_cells(
        &mut self,
        view: View,
        periods: &[Period],
        values: &[String],
    ) -> Result<Vec<Vec<Cell>>, MetricError> {
        let as_of = self.as_of();
        let first = self
            .engine
            .store
            .first_order_day()?
            .and_then(|d| NaiveDate::parse_from_str(&d, "%Y-%m-%d").ok());
        let Some(first) = first else {
            let none = vec![Cell::note("n/a: no completed orders"); periods.len()];
            return Ok(vec![none; values.len()]);
        };
        let (Some(first_period), Some(last_period)) = (periods.first(), periods.last()) else {
            return Ok(vec![Vec::new(); values.len()]);
        };
        let last = last_period.end().min(as_of);
        // Counts at a window end depend on the 12 months before it only.
        let first_end = first_period.end().min(as_of);
        let cut = first_end
            .checked_sub_months(chrono::Months::new(12))
            .unwrap_or(first)
            .max(first);
        let deltas = self.repeat_deltas(view, cut, last)?;
        let indexes: Vec<Option<u16>> = values
            .iter()
            .map(|v| deltas.values.index.get(v).copied())
            .collect();
        Ok(indexes
            .iter()
            .map(|i| {
                let days = i
                    .and_then(|i| deltas.by_segment.get(usize::from(i)))
                    .map_or(&[][..], Vec::as_slice);
                let mut next = 0;
                let (mut ge1, mut ge2) = (0i64, 0i64);
                periods
                    .iter()
                    .map(|period| {
                        let end = period.end().min(as_of);
                        let upto = usize::try_from(day_number(end) - deltas.first + 1)
                            .unwrap_or(0)
                            .min(days.len());
                        for (a, b) in days.get(next..upto).unwrap_or(&[]) {
                            ge1 += a;
                            ge2 += b;
                        }
                        next = next.max(upto);
                        let start = end
                            .checked_sub_months(chrono::Months::new(12))
                            .map_or(end, |d| d.succ_opt().unwrap_or(d));
                        let cell = Cell::ratio(
                            ge2 as f64,
                            ge1 as f64,
                            100.0,
                            "no customers with an order yet",
                        );
                        if first > start && cell.value.is_some() {
                            let months = crate::metrics::months_spanned(first, end);
                            cell.with_note(format!("horizon {months} months"))
                        } else {
                            cell
                        }
                    })
                    .collect()
            })
            .collect())
    }

    /// Repeat-purchase deltas of every value of `view` of the days `from`..=`to` (those
    /// before `from` added into its first day), from the segment rollups, kept in
    /// [`SegmentDays`] for the next evaluation.
    fn repeat_deltas(
        &mut self,
        view: View,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Arc<RepeatDeltas>, MetricError> {
        let key = (view, day_number(from), day_number(to));
        if let Some(deltas) = self.days.repeat.get(&key) {
            return Ok(deltas.clone());
        }
        let span = usize::try_from(key.2 - key.1 + 1).unwrap_or(0);
        let mut deltas = RepeatDeltas {
            first: key.1,
            by_segment: Vec::new(),
            values: Values::default(),
        };
        let mut days = Days::default();
        self.engine.store.segment_repeats(
            DIMENSIONS[dimension_of(view)],
            &from.to_string(),
            &to.to_string(),
            |r| {
                let (Some(day), segment) = (days.number(r.day), deltas.values.intern(r.value))
                else {
                    return;
                };
                let segment = usize::from(segment);
                if deltas.by_segment.len() <= segment {
                    deltas.by_segment.resize(segment + 1, vec![(0, 0); span]);
                }
                let at = usize::try_from(day - key.1).unwrap_or(0);
                if let Some(entry) = deltas.by_segment[segment].get_mut(at) {
                    entry.0 += r.ge1;
                    entry.1 += r.ge2;
                }
            },
        )?;
        let deltas = Arc::new(deltas);
        // An evaluation asks for a few ranges (the periods of each grain end on different
        // days); a moved reference day asks for new ones, and the old ones would pile up
        // over a live session.
        if self.days.repeat.len() >= REPEAT_RANGES_KEPT {
            self.days.repeat.clear();
        }
        self.days.repeat.insert(key, deltas.clone());
        Ok(deltas)
    }

    /// Order and refund sums per period and segment value, of the days up to the
    /// reference date (as `Engine::sums` reads them): `[period][segment]`, day sums added
    /// in day order as the engine adds them.
    fn order_sums(&self, view: View, periods: &[Period]) -> Vec<Vec<[f64; 5]>> {
        let Some(table) = self.days.sums.get(&(true, dimension_of(view))) else {
            return Vec::new();
        };
        let width = table.channels.names.len();
        let as_of = day_number(self.as_of());
        periods
            .iter()
            .map(|period| {
                let mut out = vec![[0.0; 5]; width];
                let rows = table.between(
                    day_number(period.start),
                    day_number(period.end()).min(as_of),
                );
                for row in rows {
                    if let Some(sum) = out.get_mut(usize::from(row.segment)) {
                        for (s, v) in sum.iter_mut().zip(row.sums) {
                            *s += v;
                        }
                    }
                }
                out
            })
            .collect()
    }

    /// `[segment value][period]` cells of a customer metric: signups in each period (up
    /// to the reference date, from `ru_signups_day`), and the flows of customers with an
    /// active subscription between its first and last day (`metrics::customers`' counts,
    /// for every value). New customers need no customer loaded.
    fn customer_cells(
        &mut self,
        def: &MetricDef,
        view: View,
        periods: &[Period],
        values: &[String],
    ) -> Result<Vec<Vec<Cell>>, MetricError> {
        let as_of = self.as_of();
        let View::Customer(c) = view else {
            return Ok(Vec::new());
        };
        let spans: Vec<(NaiveDate, NaiveDate)> = periods
            .iter()
            .map(|p| (p.start, p.end().min(as_of)))
            .collect();
        let id = MetricId::parse(&def.id);
        let signups = match id {
            Some(MetricId::NewCustomers | MetricId::RetentionRatePct) => {
                Some(self.signups(c, &spans, values)?)
            }
            _ => None,
        };
        if id != Some(MetricId::NewCustomers) && self.period_to_date(periods) {
            // `[listed value][period]` signups.
            let news = signups.map(|per_span| {
                (0..values.len())
                    .map(|listed| {
                        per_span
                            .iter()
                            .map(|row| row.get(listed).copied().unwrap_or(0.0))
                            .collect()
                    })
                    .collect()
            });
            return self.rollup_customer_cells(def, CUSTOMER_COLUMNS[c], periods, values, news);
        }
        // `[span][segment]`, and each listed value's segment: a value without rows reads
        // the zero column each table ends with.
        let (flows, segments) = match id {
            Some(MetricId::NewCustomers) => (None, Vec::new()),
            _ => {
                let flows = self.flows(c, &spans)?;
                let width = self
                    .days
                    .subscribers
                    .as_ref()
                    .map_or(0, |s| s.values[c].names.len());
                let segments = self
                    .value_indexes(view, values)
                    .iter()
                    .map(|i| i.map_or(width, usize::from))
                    .collect();
                (Some(flows), segments)
            }
        };
        let cell = |p: usize, listed: usize| -> Cell {
            let flow = flows
                .as_ref()
                .and_then(|f| f.get(p)?.get(*segments.get(listed)?).copied())
                .unwrap_or_default();
            let new = signups
                .as_ref()
                .and_then(|s| s.get(p)?.get(listed).copied())
                .unwrap_or(0.0);
            let why = "no active customers at the start";
            match id {
                Some(MetricId::NewCustomers) => Cell::value(new),
                Some(MetricId::ActiveCustomers) => Cell::value(flow.end),
                Some(MetricId::CustomerChurnPct) => {
                    Cell::ratio(flow.churned, flow.start, 100.0, why)
                }
                _ => Cell::ratio(flow.end - new, flow.start, 100.0, why),
            }
        };
        Ok((0..values.len())
            .map(|listed| (0..periods.len()).map(|p| cell(p, listed)).collect())
            .collect())
    }

    /// `[span][listed value]` signups of each value of customer column `c` in each span,
    /// from the customers per signup day and segment: per day, as the engine counts a
    /// value's signups (a day that is not a date is no day of a span).
    fn signups(
        &self,
        c: usize,
        spans: &[(NaiveDate, NaiveDate)],
        values: &[String],
    ) -> Result<Vec<Vec<f64>>, MetricError> {
        let mut counts = vec![vec![0.0; values.len()]; spans.len()];
        let (Some(first), Some(last)) = (spans.first(), spans.last()) else {
            return Ok(counts);
        };
        let listed: HashMap<&str, usize> = values
            .iter()
            .enumerate()
            .map(|(i, v)| (v.as_str(), i))
            .collect();
        for (day, value, customers) in
            self.engine
                .store
                .signups_by(CUSTOMER_COLUMNS[c], first.0, last.1)?
        {
            let (Ok(day), Some(i)) = (
                NaiveDate::parse_from_str(&day, "%Y-%m-%d"),
                listed.get(value.as_str()),
            ) else {
                continue;
            };
            let p = spans.partition_point(|(_, to)| *to < day);
            if spans.get(p).is_some_and(|(from, _)| *from <= day) {
                counts[p][*i] += customers;
            }
        }
        Ok(counts)
    }

    /// `[span][segment]` flows of the customers of each value of customer column `c`
    /// between each span's first and last day, from the subscription book read once. The
    /// three columns are counted in one pass over the book: whether a customer is active
    /// at a span's ends does not depend on the column.
    fn flows(
        &mut self,
        c: usize,
        spans: &[(NaiveDate, NaiveDate)],
    ) -> Result<Arc<Vec<Vec<Flow>>>, MetricError> {
        let numbered: Spans = spans
            .iter()
            .map(|(a, b)| (day_number(*a), day_number(*b)))
            .collect();
        if let Some(flows) = self.days.flows.get(&(c, numbered.clone())) {
            return Ok(flows.clone());
        }
        let (book, subscribers) = self.days.subscribers(self.engine)?;
        let widths: [usize; 3] = std::array::from_fn(|c| subscribers.values[c].names.len());
        let mut out: [Vec<Vec<Flow>>; 3] =
            std::array::from_fn(|c| vec![vec![Flow::default(); widths[c] + 1]; spans.len()]);
        for ((_, subs), columns) in book.iter().zip(&subscribers.columns) {
            if columns
                .iter()
                .zip(widths)
                .all(|(s, w)| usize::from(*s) >= w)
            {
                continue;
            }
            for (s, (first, last)) in spans.iter().enumerate() {
                let at_start = subs.iter().any(|s| s.active_on(*first));
                let at_end = subs.iter().any(|s| s.active_on(*last));
                if !(at_start || at_end) {
                    continue;
                }
                for ((out, segment), width) in out.iter_mut().zip(columns).zip(widths) {
                    let segment = usize::from(*segment);
                    if segment >= width {
                        continue;
                    }
                    let flow = &mut out[s][segment];
                    flow.start += f64::from(u8::from(at_start));
                    flow.end += f64::from(u8::from(at_end));
                    flow.churned += f64::from(u8::from(at_start && !at_end));
                }
            }
        }
        for (column, flows) in out.into_iter().enumerate() {
            self.days
                .flows
                .insert((column, numbered.clone()), Arc::new(flows));
        }
        Ok(self
            .days
            .flows
            .get(&(c, numbered))
            .cloned()
            .unwrap_or_default())
    }

    /// `[segment value][period]` cells of an MRR movement metric: every listed value's
    /// movements (`subscriptions::movements_by_group`, as the engine's `movements_over`
    /// counts them) from one pass over the book read once, shared by the eleven movement
    /// metrics.
    fn movement_cells(
        &mut self,
        def: &MetricDef,
        column: Option<usize>,
        periods: &[Period],
        values: Rc<Vec<String>>,
    ) -> Result<Vec<Vec<Cell>>, MetricError> {
        let metric = MetricId::parse(&def.id)
            .filter(|m| movement_cell(*m, &Movements::default()).is_some())
            .ok_or_else(|| MetricError::UnknownMetric(def.id.to_string()))?;
        if self.period_to_date(periods) {
            let dim = column.map_or(SUBSCRIPTION_PLAN, |c| CUSTOMER_COLUMNS[c]);
            return self.rollup_movement_cells(def, dim, periods, &values);
        }
        let as_of = self.as_of();
        // From the close of the day before each period to its last day.
        let spans: Vec<(NaiveDate, NaiveDate)> = periods
            .iter()
            .map(|p| (p.start - Duration::days(1), p.end().min(as_of)))
            .collect();
        let key = (
            column,
            values.to_vec(),
            spans
                .iter()
                .map(|(a, b)| (day_number(*a), day_number(*b)))
                .collect(),
        );
        let moves = match self.days.movements.get(&key) {
            Some(moves) => moves.clone(),
            None => {
                let moves: Vec<Vec<Movements>> = match column {
                    None => {
                        let listed: HashMap<&str, usize> = values
                            .iter()
                            .enumerate()
                            .map(|(i, v)| (v.as_str(), i))
                            .collect();
                        let group = |_: usize, _: &str, s: &Subscription| {
                            s.plan.as_deref().and_then(|p| listed.get(p).copied())
                        };
                        let book = self.days.book(self.engine)?;
                        movements_by_group(&book, &spans, values.len(), &group)
                    }
                    Some(c) => {
                        let (book, subscribers) = self.days.subscribers(self.engine)?;
                        // `[segment]`: the listed value's place, if listed.
                        let mut listed = vec![None; subscribers.values[c].names.len()];
                        for (i, v) in values.iter().enumerate() {
                            if let Some(s) = subscribers.values[c].index.get(v) {
                                listed[usize::from(*s)] = Some(i);
                            }
                        }
                        let group = |customer: usize, _: &str, _: &Subscription| {
                            let segment = subscribers.columns.get(customer)?[c];
                            listed.get(usize::from(segment)).copied().flatten()
                        };
                        movements_by_group(&book, &spans, values.len(), &group)
                    }
                };
                let moves = Arc::new(moves);
                self.days.movements.insert(key, moves.clone());
                moves
            }
        };
        Ok(moves
            .iter()
            .map(|per_span| {
                per_span
                    .iter()
                    .filter_map(|m| movement_cell(metric, m))
                    .collect()
            })
            .collect())
    }

    /// `[segment value][period]` cells of a survey metric by customer column `c`: every
    /// value's day sums from one grouped read, added into periods in day order as the
    /// engine adds them.
    fn survey_cells(
        &mut self,
        def: &MetricDef,
        c: usize,
        periods: &[Period],
        values: &[String],
    ) -> Result<Vec<Vec<Cell>>, MetricError> {
        let (Some(metric), Some(first), Some(last)) =
            (MetricId::parse(&def.id), periods.first(), periods.last())
        else {
            return Ok(vec![Vec::new(); values.len()]);
        };
        let Some((kind, top, bottom)) = satisfaction::rule(metric) else {
            return Err(MetricError::UnknownMetric(def.id.to_string()));
        };
        let listed: HashMap<&str, usize> = values
            .iter()
            .enumerate()
            .map(|(i, v)| (v.as_str(), i))
            .collect();
        // [value][period]: responses, high, low, score sum.
        let mut sums = vec![vec![[0.0; 4]; periods.len()]; values.len()];
        let to = last.end().min(self.as_of());
        self.engine.store.survey_segment_days(
            kind,
            CUSTOMER_COLUMNS[c],
            top,
            bottom,
            &first.start.to_string(),
            &to.to_string(),
            |r| {
                let (Ok(day), Some(v)) = (
                    NaiveDate::parse_from_str(r.day, "%Y-%m-%d"),
                    listed.get(r.value),
                ) else {
                    return;
                };
                let p = periods.partition_point(|p| p.end() < day);
                if periods.get(p).is_some_and(|p| p.contains(day)) {
                    for (sum, x) in
                        sums[*v][p]
                            .iter_mut()
                            .zip([r.responses, r.high, r.low, r.total])
                    {
                        *sum += x;
                    }
                }
            },
        )?;
        Ok(sums
            .iter()
            .map(|per_period| {
                per_period
                    .iter()
                    .map(|[n, high, low, total]| {
                        satisfaction::cell(metric, *n, *high, *low, *total)
                    })
                    .collect()
            })
            .collect())
    }

    /// `[segment value][period]` cells of an event metric.
    fn event_cells(
        &mut self,
        def: &MetricDef,
        view: View,
        periods: &[Period],
        values: &[String],
    ) -> Result<Vec<Vec<Cell>>, MetricError> {
        let as_of = self.as_of();
        let grain = periods.first().map_or(Grain::Day, |p| p.grain);
        let last_day = |p: &Period| p.end().min(as_of);
        // Trailing windows reach back before the first period.
        let first = periods.first().map_or(as_of, |p| p.start) - Duration::days(29);
        let last = periods.last().map_or(as_of, Period::end);
        let store = self.engine.store;
        self.days
            .segment_sums(store, false, dimension_of(view), first, last)?;
        let starts: Vec<NaiveDate> = periods.iter().map(|p| p.start).collect();
        let ends: Vec<NaiveDate> = periods.iter().map(last_day).collect();
        let active =
            |s: &mut Self| s.counts(false, view, format!("active_{grain}"), starts.clone());
        let dau = |s: &mut Self| -> Result<Counts, MetricError> {
            if grain == Grain::Day {
                return active(s);
            }
            let sums = s.event_sums(view, periods);
            Ok(Rc::new(
                periods
                    .iter()
                    .zip(sums)
                    .map(|(p, per_segment)| {
                        let days = ((last_day(p) - p.start).num_days() + 1).max(1) as f64;
                        per_segment.iter().map(|(users, _)| users / days).collect()
                    })
                    .collect(),
            ))
        };
        let mau = |s: &mut Self| {
            if grain == Grain::Month {
                active(s)
            } else {
                s.counts(false, view, "active_30d".to_string(), ends.clone())
            }
        };
        let metric = MetricId::parse(&def.id);
        // The value, or the numerator and denominator of a ratio, per period and segment.
        let (numerator, denominator) = match metric {
            Some(MetricId::Dau) => (dau(self)?, None),
            Some(MetricId::Wau) if grain == Grain::Week => (active(self)?, None),
            Some(MetricId::Wau) => (
                self.counts(false, view, "active_7d".to_string(), ends.clone())?,
                None,
            ),
            Some(MetricId::Mau) => (mau(self)?, None),
            Some(MetricId::StickinessPct) => (dau(self)?, Some(mau(self)?)),
            _ => {
                let users = active(self)?;
                let sessions: Vec<Vec<f64>> = self
                    .event_sums(view, periods)
                    .into_iter()
                    .map(|per_segment| per_segment.iter().map(|(_, s)| *s).collect())
                    .collect();
                (Rc::new(sessions), Some(users))
            }
        };
        let scale = if metric == Some(MetricId::StickinessPct) {
            100.0
        } else {
            1.0
        };
        let indexes = self.segment_indexes(false, view, values);
        Ok(indexes
            .iter()
            .map(|i| {
                (0..periods.len())
                    .map(|p| {
                        let x = at(&numerator, p, *i);
                        match &denominator {
                            Some(d) => Cell::ratio(x, at(d, p, *i), scale, "no active users"),
                            None => Cell::value(x),
                        }
                    })
                    .collect()
            })
            .collect())
    }

    /// Active users (rows) and sessions per period and segment value, of the days up to
    /// the reference date.
    fn event_sums(&self, view: View, periods: &[Period]) -> Vec<Vec<(f64, f64)>> {
        let Some(table) = self.days.sums.get(&(false, dimension_of(view))) else {
            return Vec::new();
        };
        let width = table.channels.names.len();
        let as_of = day_number(self.as_of());
        periods
            .iter()
            .map(|period| {
                let rows = table.between(
                    day_number(period.start),
                    day_number(period.end()).min(as_of),
                );
                let mut out = vec![(0.0, 0.0); width];
                for row in rows {
                    if let Some(o) = out.get_mut(usize::from(row.segment)) {
                        o.0 += row.sums[0];
                        o.1 += row.sums[1];
                    }
                }
                out
            })
            .collect()
    }

    /// Distinct customers (orders) or users (events) of each segment value of `view`
    /// counted as `kind` (`paying_week`, `active_7d`, …) for the periods keyed `keys`:
    /// `[key][segment]` in the day sums' segment numbering. A value without day sums in
    /// the range read has no distinct ids either.
    fn counts(
        &mut self,
        orders: bool,
        view: View,
        kind: String,
        keys: Vec<NaiveDate>,
    ) -> Result<Counts, MetricError> {
        let key = (orders, view, kind, keys);
        if let Some(counts) = self.distinct.get(&key) {
            return Ok(counts.clone());
        }
        let dim = dimension_of(view);
        let mut out = vec![Vec::new(); key.3.len()];
        if let (Some(table), Some(first), Some(last)) = (
            self.days.sums.get(&(orders, dim)),
            key.3.iter().min(),
            key.3.iter().max(),
        ) {
            let width = table.channels.names.len();
            out = vec![vec![0.0; width]; key.3.len()];
            let mut positions: HashMap<NaiveDate, Vec<usize>> = HashMap::new();
            for (i, day) in key.3.iter().enumerate() {
                positions.entry(*day).or_default().push(i);
            }
            self.engine.store.segment_counts(
                &key.2,
                DIMENSIONS[dim],
                &first.to_string(),
                &last.to_string(),
                |r| {
                    let (Some(day), Some(segment)) = (
                        crate::dates::parse_day(r.period),
                        table.channels.index.get(r.value),
                    ) else {
                        return;
                    };
                    for &i in positions.get(&day).map_or(&[][..], Vec::as_slice) {
                        if let Some(cell) = out[i].get_mut(usize::from(*segment)) {
                            *cell = r.n;
                        }
                    }
                },
            )?;
        }
        let counts = Rc::new(out);
        self.distinct.insert(key, counts.clone());
        Ok(counts)
    }
}

/// The `rollup::DIMENSIONS` index of a view.
fn dimension_of(view: View) -> usize {
    match view {
        View::OrderChannel => 0,
        View::Customer(c) => c + 1,
    }
}

/// The count of period `p` and segment `i` (zero for a value without rows).
fn at(counts: &[Vec<f64>], p: usize, i: Option<u16>) -> f64 {
    i.and_then(|i| counts.get(p)?.get(usize::from(i)).copied())
        .unwrap_or(0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2025, 3, d).expect("a March day")
    }

    #[test]
    fn widening_reads_exactly_the_days_not_held() {
        assert_eq!(unread(None, day(5), day(9)), vec![(day(5), day(9))]);
        let held = Some((day(10), day(20)));
        assert_eq!(unread(held, day(12), day(18)), vec![]);
        // Disjoint before the held range: the gap up to it is read too.
        assert_eq!(unread(held, day(2), day(4)), vec![(day(2), day(9))]);
        assert_eq!(unread(held, day(15), day(25)), vec![(day(21), day(25))]);
        assert_eq!(
            unread(held, day(1), day(31)),
            vec![(day(1), day(9)), (day(21), day(31))]
        );
    }
}
