//! Customers and retention: who is active when, churn, retention and lifetime value.
//!
//! Active customer (SPEC §3): an active subscription on the day; where the store has no
//! subscriptions, a completed order within the trailing `churn_window_days`.

use std::collections::{HashMap, HashSet};
use std::rc::Rc;

use super::engine::{Cell, Engine, customer_filter};
use super::{MetricDef, MetricError, MetricId, Period, Segment};
use crate::dates::month_ending;
use crate::store::metric_queries::{CountQuery, DailyQuery};
use chrono::{Duration, NaiveDate};

/// Where activity comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Basis {
    Subscriptions,
    Orders,
}

pub fn basis(eng: &Engine<'_>) -> Result<Option<Basis>, MetricError> {
    Ok(if !eng.is_empty("subscriptions")? {
        Some(Basis::Subscriptions)
    } else if !eng.is_empty("orders")? {
        Some(Basis::Orders)
    } else {
        None
    })
}

/// The tables `def` reads on a store holding subscriptions: customer activity (active
/// customers, churn, retention) is then counted from subscriptions alone ([`basis`]), and
/// new customers always from the customers table ([`new_customers`]), so orders and
/// refunds drop out of those metrics' reads; every other metric's reads are its own.
pub fn reads_given_subscriptions(def: &MetricDef) -> Vec<&'static str> {
    let from_activity = MetricId::parse(&def.id).is_some_and(|m| {
        matches!(
            m,
            MetricId::ActiveCustomers
                | MetricId::CustomerChurnPct
                | MetricId::RetentionRatePct
                | MetricId::NewCustomers
        )
    });
    def.reads
        .iter()
        .copied()
        .filter(|t| !(from_activity && matches!(*t, "orders" | "refunds")))
        .collect()
}

/// The customers active on `day`, within a segment.
pub fn active_on(
    eng: &Engine<'_>,
    basis: Basis,
    day: NaiveDate,
    segment: Option<&Segment>,
) -> Result<HashSet<String>, MetricError> {
    let in_segment = match segment {
        Some(s) => Some(super::subscriptions::customers_in(eng, s)?),
        None => None,
    };
    let keep = |c: &str| in_segment.as_ref().is_none_or(|set| set.contains(c));
    match basis {
        Basis::Subscriptions => {
            let book = super::subscriptions::book(eng)?;
            Ok(book
                .active_on(day)
                .into_iter()
                .filter(|c| keep(c))
                .map(str::to_string)
                .collect())
        }
        Basis::Orders => {
            let window = i64::from(eng.config.churn_window_days.max(1));
            let from = day - Duration::days(window - 1);
            let ids = eng.store.ordering_customers(from, day)?;
            Ok(ids.into_iter().filter(|id| keep(id)).collect())
        }
    }
}

/// Customers whose signup_date falls in each period.
pub fn new_customers(
    eng: &Engine<'_>,
    periods: &[Period],
    segment: Option<&Segment>,
) -> Result<Vec<f64>, MetricError> {
    let rows = eng.sums(&DailyQuery::Signups(customer_filter(segment)), periods)?;
    Ok(rows.iter().map(|r| r[0]).collect())
}

/// The trailing window (days) in which a completed order keeps a customer active.
fn window_days(eng: &Engine<'_>) -> i64 {
    i64::from(eng.config.churn_window_days.max(1))
}

/// Start (S), end (E) and churned (active at start, not at end) counts of a span.
#[derive(Debug, Clone, Copy, Default)]
pub struct Flow {
    pub start: f64,
    pub end: f64,
    pub churned: f64,
}

pub fn flow(
    eng: &Engine<'_>,
    basis: Basis,
    first: NaiveDate,
    last: NaiveDate,
    segment: Option<&Segment>,
) -> Result<Flow, MetricError> {
    let key = format!("flow {basis:?} {first} {last} {segment:?}");
    let flow = eng.memo(key, || match basis {
        // Counted straight from the subscription book: no per-day sets of ids.
        Basis::Subscriptions => {
            let book = super::subscriptions::book(eng)?;
            let [start, end, churned] = match segment {
                Some(s) => {
                    let in_segment = super::subscriptions::customers_in(eng, s)?;
                    book.activity_of(first, last, &|customer| in_segment.contains(customer))
                }
                None => book.activity(first, last),
            };
            Ok(Flow {
                start,
                end,
                churned,
            })
        }
        Basis::Orders if segment.is_none() && window_days(eng) > (last - first).num_days() => {
            // From the order-gaps rollup: a customer is active on d when their last order
            // as of d (day ≤ d < next_day) is within the window. With the window longer
            // than the span, a customer active at the start and not at the end is one
            // whose last order as of the end lies in (first − W, last − W].
            let w = window_days(eng);
            let count = |from: NaiveDate, to: NaiveDate, as_of: NaiveDate| {
                let query = CountQuery::LastOrderedBefore {
                    next_order_after: as_of,
                };
                eng.count(&query, from, to)
            };
            let back = |d: NaiveDate| d - Duration::days(w - 1);
            Ok(Flow {
                start: count(back(first), first, first)?,
                end: count(back(last), last, last)?,
                churned: if first == last {
                    0.0
                } else {
                    count(back(first), last - Duration::days(w), last)?
                },
            })
        }
        Basis::Orders if first == last => {
            let n = active_on(eng, basis, last, segment)?.len() as f64;
            Ok(Flow {
                start: n,
                end: n,
                churned: 0.0,
            })
        }
        Basis::Orders => {
            let s = active_on(eng, basis, first, segment)?;
            let e = active_on(eng, basis, last, segment)?;
            Ok(Flow {
                start: s.len() as f64,
                end: e.len() as f64,
                churned: s.difference(&e).count() as f64,
            })
        }
    })?;
    Ok(*flow)
}

/// The flow of each (first, last) span. A segment of order-based activity is counted for
/// all its dimension's values at once ([`segment_flows`]); the total, from the rollups.
fn flows(
    eng: &Engine<'_>,
    basis: Basis,
    spans: &[(NaiveDate, NaiveDate)],
    segment: Option<&Segment>,
) -> Result<Vec<Flow>, MetricError> {
    match (basis, segment) {
        (Basis::Orders, Some(segment)) => {
            let by_value = segment_flows(eng, spans, &segment.dimension)?;
            Ok(by_value
                .get(&segment.value)
                .cloned()
                .unwrap_or_else(|| vec![Flow::default(); spans.len()]))
        }
        _ => spans
            .iter()
            .map(|&(first, last)| flow(eng, basis, first, last, segment))
            .collect(),
    }
}

/// Spans counted per query: two checkpoint days each, one bit per checkpoint.
const SPANS_PER_QUERY: usize = 31;

/// Order-based flows of every value of `dimension` over `spans`: for each customer with a
/// completed order in reach of the spans, one bit per checkpoint day (each span's first
/// and last) says whether they were active on it; customers are then counted per
/// (segment value, bits). One query per 31 spans, instead of two sets of active
/// customers per span and per segment value.
fn segment_flows(
    eng: &Engine<'_>,
    spans: &[(NaiveDate, NaiveDate)],
    dimension: &str,
) -> Result<Rc<HashMap<String, Vec<Flow>>>, MetricError> {
    let key = format!("segment flows {spans:?} {dimension}");
    eng.memo(key, || {
        let w = window_days(eng);
        let mut by_value: HashMap<String, Vec<Flow>> = HashMap::new();
        for (chunk_index, chunk) in spans.chunks(SPANS_PER_QUERY).enumerate() {
            // One window per checkpoint day: the days whose orders keep a customer active on it.
            let windows: Vec<(NaiveDate, NaiveDate)> = chunk
                .iter()
                .flat_map(|&(first, last)| [first, last])
                .map(|day| (day - Duration::days(w - 1), day))
                .collect();
            for (value, mask, customers) in eng.store.order_activity_masks(dimension, &windows)? {
                let flows = by_value
                    .entry(value)
                    .or_insert_with(|| vec![Flow::default(); spans.len()]);
                for i in 0..chunk.len() {
                    let at_start = (mask >> (2 * i)) & 1 == 1;
                    let at_end = (mask >> (2 * i + 1)) & 1 == 1;
                    let flow = &mut flows[chunk_index * SPANS_PER_QUERY + i];
                    let n = customers as f64;
                    flow.start += if at_start { n } else { 0.0 };
                    flow.end += if at_end { n } else { 0.0 };
                    flow.churned += if at_start && !at_end { n } else { 0.0 };
                }
            }
        }
        Ok(by_value)
    })
}

/// Lifetime value from monthly revenue per active customer and monthly churn (a share).
pub fn clv_from(monthly_revenue_per_customer: f64, monthly_churn: f64) -> Cell {
    if monthly_churn <= 0.0 {
        return Cell::note("n/a: no churn yet");
    }
    let lifetime = (1.0 / monthly_churn).min(120.0);
    let cell = Cell::value(monthly_revenue_per_customer * lifetime);
    if lifetime >= 120.0 {
        cell.with_note("lifetime capped at 120 months")
    } else {
        cell
    }
}

/// The flow of the subscription book over a span and its MRR (cents) at the span's last
/// day, where a source other than the book knows them (`None`: it does not).
type KnownBookSpan<'a> =
    &'a dyn Fn(NaiveDate, NaiveDate) -> Result<Option<(Flow, i64)>, MetricError>;

/// CLV of each period, over the month ending at the period's last day (or reference date).
pub fn clv(eng: &Engine<'_>, periods: &[Period]) -> Result<Vec<Cell>, MetricError> {
    clv_with(eng, periods, &|first, last| rollup_month(eng, first, last))
}

/// The book's flow over the month ending on `last` and its MRR there, from the
/// subscription rollups when the alerts lent the engine their book per segment
/// (`subscriptions::lend_segment_book`); `None` otherwise.
fn rollup_month(
    eng: &Engine<'_>,
    first: NaiveDate,
    last: NaiveDate,
) -> Result<Option<(Flow, i64)>, MetricError> {
    let Some(book) = eng.segment_book.borrow().clone() else {
        return Ok(None);
    };
    if first != month_ending(last) {
        return Ok(None);
    }
    let day = last.to_string();
    let mut left = 0;
    eng.store
        .subscription_moves("month_ending", "all", &day, &day, |_, value, n| {
            if value.is_empty() {
                left = n[5];
            }
        })?;
    let (mrr, active) = book.level("", last);
    let flow = Flow {
        start: book.level("", first).1 as f64,
        end: active as f64,
        churned: left as f64,
    };
    Ok(Some((flow, mrr)))
}

/// [`clv`], taking the subscription book's flow and MRR of a span from `known` where it
/// knows them.
fn clv_with(
    eng: &Engine<'_>,
    periods: &[Period],
    known: KnownBookSpan<'_>,
) -> Result<Vec<Cell>, MetricError> {
    let Some(basis) = basis(eng)? else {
        return Ok(vec![
            Cell::note("no data — import subscriptions or orders");
            periods.len()
        ]);
    };
    let mut out = Vec::with_capacity(periods.len());
    for period in periods {
        let last = period.end().min(eng.as_of);
        let first = month_ending(last);
        let month = Period {
            grain: super::Grain::Day,
            start: first,
        };
        let known = match basis {
            Basis::Subscriptions => known(first, last)?,
            Basis::Orders => None,
        };
        let flow = match known {
            Some((flow, _)) => flow,
            None => flow(eng, basis, first, last, None)?,
        };
        let revenue = if eng.is_empty("orders")? {
            let end = match known {
                Some((_, mrr)) => mrr,
                None => {
                    super::subscriptions::movements(
                        &*super::subscriptions::book(eng)?,
                        first,
                        last,
                        None,
                        &|_| true,
                    )
                    .end
                }
            };
            end as f64 / 100.0
        } else {
            let span = month.start.iter_days().take_while(|d| *d <= last);
            let days: Vec<Period> = span
                .map(|d| Period {
                    grain: super::Grain::Day,
                    start: d,
                })
                .collect();
            super::revenue::order_totals(eng, &days, None)?
                .iter()
                .map(super::revenue::OrderTotals::net)
                .sum()
        };
        if flow.end == 0.0 || flow.start == 0.0 {
            out.push(Cell::note("n/a: no active customers"));
            continue;
        }
        out.push(clv_from(revenue / flow.end, flow.churned / flow.start));
    }
    Ok(out)
}

pub fn compute(
    eng: &Engine<'_>,
    id: &str,
    periods: &[Period],
    segment: Option<&Segment>,
) -> Result<Vec<Cell>, MetricError> {
    let Some(metric) = MetricId::parse(id) else {
        return Err(MetricError::UnknownMetric(id.to_string()));
    };
    if metric == MetricId::NewCustomers {
        return Ok(new_customers(eng, periods, segment)?
            .into_iter()
            .map(Cell::value)
            .collect());
    }
    if metric == MetricId::Clv {
        return clv(eng, periods);
    }
    // Checked before the data: an empty store must not make this module claim any id.
    if !matches!(
        metric,
        MetricId::ActiveCustomers | MetricId::CustomerChurnPct | MetricId::RetentionRatePct
    ) {
        return Err(MetricError::UnknownMetric(id.to_string()));
    }
    let Some(basis) = basis(eng)? else {
        return Ok(vec![
            Cell::note("no data — import subscriptions or orders");
            periods.len()
        ]);
    };
    let news = if metric == MetricId::RetentionRatePct {
        new_customers(eng, periods, segment)?
    } else {
        vec![0.0; periods.len()]
    };
    let spans: Vec<(NaiveDate, NaiveDate)> = periods
        .iter()
        .map(|p| (p.start, p.end().min(eng.as_of)))
        .collect();
    let mut out = Vec::with_capacity(periods.len());
    for (f, new) in flows(eng, basis, &spans, segment)?.into_iter().zip(news) {
        let cell = match metric {
            MetricId::ActiveCustomers => Cell::value(f.end),
            MetricId::CustomerChurnPct => Cell::ratio(
                f.churned,
                f.start,
                100.0,
                "no active customers at the start",
            ),
            MetricId::RetentionRatePct => Cell::ratio(
                f.end - new,
                f.start,
                100.0,
                "no active customers at the start",
            ),
            _ => return Err(MetricError::UnknownMetric(id.to_string())),
        };
        out.push(cell);
    }
    Ok(out)
}
