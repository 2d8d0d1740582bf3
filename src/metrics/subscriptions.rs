//! Subscriptions: MRR and its movements, computed per customer from the subscriptions
//! table (small enough to read whole; no rollup needed).
//!
//! A period's movements compare each customer's MRR at the close of the day before the
//! period (= the previous period's `mrr`) with their MRR at its last day, so that
//! `mrr(previous) + mrr_net_new = mrr`, exactly, in cents.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use chrono::{Duration, NaiveDate};

use super::engine::{Cell, Engine};
use super::{MetricError, MetricId, Period, Segment};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscription {
    pub mrr_cents: i64,
    pub start: NaiveDate,
    /// The first day it is no longer active; `None` while active.
    pub end: Option<NaiveDate>,
    pub plan: Option<String>,
}

impl Subscription {
    pub fn active_on(&self, day: NaiveDate) -> bool {
        self.start <= day && self.end.is_none_or(|end| end > day)
    }
}

/// Every subscription, grouped by customer in one flat list (customers are scanned once
/// per period, so the layout is kept tight).
#[derive(Debug, Default)]
pub struct Book {
    customers: Vec<String>,
    /// `subs[ranges[i].0..ranges[i].1]` belong to `customers[i]`.
    ranges: Vec<(usize, usize)>,
    subs: Vec<Subscription>,
    /// The whole book's [`Book::activity`] counts made so far, by first and last day: a
    /// watcher keeps the book between evaluations (`lend_book`), and with it these.
    activity: Mutex<HashMap<(NaiveDate, NaiveDate), [f64; 3]>>,
}

impl Book {
    pub fn load(
        source: &impl crate::store::metric_reads::SubscriptionSource,
    ) -> Result<Self, MetricError> {
        let mut book = Book::default();
        let parse = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok();
        source.subscriptions(&mut |row| {
            let Some(start) = parse(&row.start_date) else {
                return;
            };
            if book.customers.last() != Some(&row.customer_id) {
                book.customers.push(row.customer_id);
                book.ranges.push((book.subs.len(), book.subs.len()));
            }
            book.subs.push(Subscription {
                mrr_cents: row.mrr_cents,
                start,
                end: row.end_date.as_deref().and_then(parse),
                plan: row.plan,
            });
            if let Some(last) = book.ranges.last_mut() {
                last.1 = book.subs.len();
            }
        })?;
        Ok(book)
    }

    /// Each customer with their subscriptions.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &[Subscription])> {
        self.customers
            .iter()
            .zip(&self.ranges)
            .map(|(c, (a, b))| (c.as_str(), &self.subs[*a..*b]))
    }

    /// Of the customers `keep` keeps: those with an active subscription on `first`, on
    /// `last`, and on `first` but not on `last`.
    pub fn activity_of(
        &self,
        first: NaiveDate,
        last: NaiveDate,
        keep: &dyn Fn(&str) -> bool,
    ) -> [f64; 3] {
        let mut counts = [0.0; 3];
        for (customer, subs) in self.iter() {
            if !keep(customer) {
                continue;
            }
            let at_start = subs.iter().any(|s| s.active_on(first));
            let at_end = subs.iter().any(|s| s.active_on(last));
            counts[0] += f64::from(u8::from(at_start));
            counts[1] += f64::from(u8::from(at_end));
            counts[2] += f64::from(u8::from(at_start && !at_end));
        }
        counts
    }

    /// [`Book::activity_of`] every customer, counted once per book and span.
    pub fn activity(&self, first: NaiveDate, last: NaiveDate) -> [f64; 3] {
        let known = self
            .activity
            .lock()
            .ok()
            .and_then(|made| made.get(&(first, last)).copied());
        if let Some(counts) = known {
            return counts;
        }
        let counts = self.activity_of(first, last, &|_| true);
        if let Ok(mut made) = self.activity.lock() {
            made.insert((first, last), counts);
        }
        counts
    }

    /// Customers with an active subscription on `day`.
    pub fn active_on(&self, day: NaiveDate) -> HashSet<&str> {
        self.iter()
            .filter(|(_, subs)| subs.iter().any(|s| s.active_on(day)))
            .map(|(c, _)| c)
            .collect()
    }
}

/// The book of every value of one segment dimension as `store::rollup::subscriptions`
/// keeps it: MRR and customers with an active subscription of each value at the close of
/// any day, from the day changes (a few rows per day and value, not every subscription).
#[derive(Debug, Default)]
pub struct SegmentBook {
    index: HashMap<String, usize>,
    /// Per value: (day, MRR, active customers) at the close of each day with a change,
    /// in day order.
    levels: Vec<Vec<(NaiveDate, i64, i64)>>,
}

impl SegmentBook {
    /// Reads the day changes of every value of `dim` (`all`, `channel`, `plan`, `region`,
    /// `subscription_plan`).
    pub fn load(store: &crate::store::Store, dim: &str) -> Result<Self, MetricError> {
        let mut book = SegmentBook::default();
        let mut last = (String::new(), None);
        store.subscription_steps(dim, |day, value, mrr, active| {
            if last.0 != day {
                last = (
                    day.to_string(),
                    NaiveDate::parse_from_str(day, "%Y-%m-%d").ok(),
                );
            }
            let Some(day) = last.1 else {
                return;
            };
            let next = book.index.len();
            let i = *book.index.entry(value.to_string()).or_insert(next);
            if i == book.levels.len() {
                book.levels.push(Vec::new());
            }
            let levels = &mut book.levels[i];
            let (m, a) = levels.last().map_or((0, 0), |l| (l.1, l.2));
            levels.push((day, m + mrr, a + active));
        })?;
        Ok(book)
    }

    /// (MRR in cents, customers with an active subscription) of `value` at the close of
    /// `day`.
    pub fn level(&self, value: &str, day: NaiveDate) -> (i64, i64) {
        let Some(levels) = self.index.get(value).map(|i| &self.levels[*i]) else {
            return (0, 0);
        };
        match levels.partition_point(|(d, _, _)| *d <= day) {
            0 => (0, 0),
            n => (levels[n - 1].1, levels[n - 1].2),
        }
    }
}

/// A customer's MRR on a day, in cents, over the subscriptions `keep` accepts.
fn customer_mrr(
    subs: &[Subscription],
    day: NaiveDate,
    keep: &dyn Fn(&Subscription) -> bool,
) -> i64 {
    subs.iter()
        .filter(|s| keep(s) && s.active_on(day))
        .map(|s| s.mrr_cents)
        .sum()
}

/// MRR movements of one period, in cents.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Movements {
    /// MRR at the close of the day before the period.
    pub start: i64,
    /// MRR on the period's last day (or the reference date, if earlier).
    pub end: i64,
    pub new: i64,
    pub expansion: i64,
    pub contraction: i64,
    pub churned: i64,
    pub reactivation: i64,
    /// Customers with an active subscription at the end.
    pub active_end: u64,
}

impl Movements {
    pub fn net_new(&self) -> i64 {
        self.new + self.expansion + self.reactivation - self.contraction - self.churned
    }

    /// Counts one customer's MRR going from `old` to `new` cents: a customer back from
    /// zero is a reactivation when they had subscribed before (`subscribed_before`).
    fn add_change(&mut self, old: i64, new: i64, subscribed_before: impl FnOnce() -> bool) {
        match (old, new) {
            (0, 0) => {}
            (0, n) if subscribed_before() => self.reactivation += n,
            (0, n) => self.new += n,
            (o, 0) => self.churned += o,
            (o, n) if n > o => self.expansion += n - o,
            (o, n) => self.contraction += o - n,
        }
    }
}

/// The movements between the close of `before` and the close of `last`.
pub fn movements(
    book: &Book,
    before: NaiveDate,
    last: NaiveDate,
    customers: Option<&HashSet<String>>,
    keep: &dyn Fn(&Subscription) -> bool,
) -> Movements {
    let mut m = Movements::default();
    for (customer, subs) in book.iter() {
        if customers.is_some_and(|set| !set.contains(customer)) {
            continue;
        }
        let old = customer_mrr(subs, before, keep);
        let new = customer_mrr(subs, last, keep);
        m.start += old;
        m.end += new;
        if subs.iter().any(|s| keep(s) && s.active_on(last)) {
            m.active_end += 1;
        }
        m.add_change(old, new, || {
            subs.iter().any(|s| keep(s) && s.start <= before)
        });
    }
    m
}

/// The engine's subscription book, read once per engine (or lent by [`lend_book`]).
pub fn book(eng: &Engine<'_>) -> Result<Arc<Book>, MetricError> {
    if let Some(b) = eng.subs.borrow().as_ref() {
        return Ok(b.clone());
    }
    let b = Arc::new(Book::load(eng.store)?);
    *eng.subs.borrow_mut() = Some(b.clone());
    Ok(b)
}

/// Gives the engine a book read from its store earlier (the alerts keep theirs between
/// evaluations), so that it is not read a second time.
pub fn lend_book(eng: &Engine<'_>, book: Arc<Book>) {
    eng.subs.borrow_mut().get_or_insert(book);
}

/// Gives the engine the whole book per segment (`all`) read from the rollups, so that
/// CLV counts its churn and MRR from it instead of reading the subscription book.
pub fn lend_segment_book(eng: &Engine<'_>, book: Arc<SegmentBook>) {
    eng.segment_book.borrow_mut().get_or_insert(book);
}

/// Customer ids of a customer segment.
pub(super) fn customers_in(
    eng: &Engine<'_>,
    segment: &Segment,
) -> Result<HashSet<String>, MetricError> {
    Ok(eng
        .store
        .customers_where(&segment.dimension, &segment.value)?)
}

/// Movements of each period, for a segment (`plan` is the subscription's own plan).
pub fn period_movements(
    eng: &Engine<'_>,
    periods: &[Period],
    segment: Option<&Segment>,
) -> Result<Vec<Movements>, MetricError> {
    let book = book(eng)?;
    let plan = segment
        .filter(|s| s.dimension == "plan")
        .map(|s| s.value.clone());
    let customers = match segment {
        Some(s) if s.dimension != "plan" => Some(customers_in(eng, s)?),
        _ => None,
    };
    let keep = |s: &Subscription| plan.as_ref().is_none_or(|p| s.plan.as_ref() == Some(p));
    let spans: Vec<(NaiveDate, NaiveDate)> = periods
        .iter()
        .map(|p| (p.start - Duration::days(1), p.end().min(eng.as_of)))
        .collect();
    Ok(movements_over(&book, &spans, customers.as_ref(), &keep))
}

/// The movements of many spans (`before`, `last`) in one pass over the book — the same
/// numbers as [`movements`] per span — of the customers in `customers` (all: `None`)
/// counting only the subscriptions `keep` keeps.
pub fn movements_over(
    book: &Book,
    spans: &[(NaiveDate, NaiveDate)],
    customers: Option<&HashSet<String>>,
    keep: &dyn Fn(&Subscription) -> bool,
) -> Vec<Movements> {
    let group = |_: usize, customer: &str, s: &Subscription| {
        (customers.is_none_or(|set| set.contains(customer)) && keep(s)).then_some(0)
    };
    movements_by_group(book, spans, 1, &group)
        .pop()
        .unwrap_or_else(|| vec![Movements::default(); spans.len()])
}

/// [`movements_over`] of `groups` groups at once, `[group][span]`: each subscription
/// counts in the group `group_of` gives it (`None`: none) from its customer's place in
/// the book, the customer and the subscription, as if each group were a book of its own. Totals come from prefix sums of the subscriptions' start and end days; a
/// customer's movements are computed only for the spans holding one of their start or
/// end days, since elsewhere their MRR does not move. One pass serves every value of a
/// breakdown, instead of one pass over the whole book per value.
pub fn movements_by_group(
    book: &Book,
    spans: &[(NaiveDate, NaiveDate)],
    groups: usize,
    group_of: &dyn Fn(usize, &str, &Subscription) -> Option<usize>,
) -> Vec<Vec<Movements>> {
    let mut out = vec![vec![Movements::default(); spans.len()]; groups];
    let mut mrr_steps: Vec<Vec<(NaiveDate, i64)>> = vec![Vec::new(); groups];
    let mut active_steps: Vec<Vec<(NaiveDate, i64)>> = vec![Vec::new(); groups];
    // Reused for every customer: a book holds hundreds of thousands.
    let mut scratch = Scratch::default();
    let mut subs: Vec<&Subscription> = Vec::new();
    let mut grouped: Vec<(usize, &Subscription)> = Vec::new();
    for (place, (customer, all)) in book.iter().enumerate() {
        grouped.clear();
        grouped.extend(all.iter().filter_map(|s| {
            group_of(place, customer, s)
                .filter(|g| *g < groups)
                .map(|g| (g, s))
        }));
        // Stable: a group's subscriptions keep the book's order.
        grouped.sort_by_key(|(g, _)| *g);
        for run in grouped.chunk_by(|a, b| a.0 == b.0) {
            let g = run[0].0;
            subs.clear();
            subs.extend(run.iter().map(|(_, s)| *s));
            add_customer(
                &subs,
                spans,
                &mut out[g],
                &mut mrr_steps[g],
                &mut active_steps[g],
                &mut scratch,
            );
        }
    }
    for ((out, mrr_steps), active_steps) in
        out.iter_mut().zip(&mut mrr_steps).zip(&mut active_steps)
    {
        mrr_steps.sort_unstable();
        active_steps.sort_unstable();
        let mrr_prefix = prefix(mrr_steps);
        let active_prefix = prefix(active_steps);
        for (m, (before, last)) in out.iter_mut().zip(spans) {
            let value = |steps: &[(NaiveDate, i64)], sums: &[i64], day: NaiveDate| {
                sums[steps.partition_point(|(d, _)| *d <= day)]
            };
            m.start = value(mrr_steps, &mrr_prefix, *before);
            m.end = value(mrr_steps, &mrr_prefix, *last);
            m.active_end = u64::try_from(value(active_steps, &active_prefix, *last)).unwrap_or(0);
        }
    }
    out
}

/// Buffers [`add_customer`] clears and fills for each customer.
#[derive(Default)]
struct Scratch {
    touched: Vec<usize>,
    intervals: Vec<(NaiveDate, Option<NaiveDate>)>,
    merged: Vec<(NaiveDate, Option<NaiveDate>)>,
}

/// Adds one customer's subscriptions (of one group, none empty) to the group's
/// movements and its MRR and active-customer steps.
fn add_customer(
    subs: &[&Subscription],
    spans: &[(NaiveDate, NaiveDate)],
    out: &mut [Movements],
    mrr_steps: &mut Vec<(NaiveDate, i64)>,
    active_steps: &mut Vec<(NaiveDate, i64)>,
    scratch: &mut Scratch,
) {
    let Scratch {
        touched,
        intervals,
        merged,
    } = scratch;
    intervals.clear();
    merged.clear();
    touched.clear();
    for s in subs {
        mrr_steps.push((s.start, s.mrr_cents));
        if let Some(end) = s.end {
            mrr_steps.push((end, -s.mrr_cents));
        }
        intervals.push((s.start, s.end));
        for day in std::iter::once(s.start).chain(s.end) {
            // The span whose (before, last] holds the day, if any.
            let i = spans.partition_point(|(_, last)| *last < day);
            if i < spans.len() && spans[i].0 < day {
                touched.push(i);
            }
        }
    }
    // Active days of the customer: the union of their subscriptions.
    crate::dates::merge_spans(intervals, merged);
    for &(a, b) in merged.iter() {
        active_steps.push((a, 1));
        if let Some(b) = b {
            active_steps.push((b, -1));
        }
    }
    touched.sort_unstable();
    touched.dedup();
    for &i in touched.iter() {
        let (before, last) = spans[i];
        let mrr_on = |day| -> i64 {
            subs.iter()
                .filter(|s| s.active_on(day))
                .map(|s| s.mrr_cents)
                .sum()
        };
        out[i].add_change(mrr_on(before), mrr_on(last), || {
            subs.iter().any(|s| s.start <= before)
        });
    }
}

/// `sums[i]` = the sum of the first `i` steps.
fn prefix(steps: &[(NaiveDate, i64)]) -> Vec<i64> {
    let mut sums = Vec::with_capacity(steps.len() + 1);
    sums.push(0);
    let mut total = 0;
    for (_, v) in steps {
        total += v;
        sums.push(total);
    }
    sums
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
    if movement_cell(metric, &Movements::default()).is_none() {
        return Err(MetricError::UnknownMetric(id.to_string()));
    }
    let key = format!("movements {periods:?} {segment:?}");
    let moves = eng.memo(key, || period_movements(eng, periods, segment))?;
    Ok(moves
        .iter()
        .filter_map(|m| movement_cell(metric, m))
        .collect())
}

/// A movement metric's value in a period of `moves`; `None` for a metric that is not one.
pub fn movement_cell(metric: MetricId, m: &Movements) -> Option<Cell> {
    let cents = |c: i64| c as f64 / 100.0;
    Some(match metric {
        MetricId::Mrr => Cell::value(cents(m.end)),
        MetricId::Arr => Cell::value(cents(m.end * 12)),
        MetricId::MrrNew => Cell::value(cents(m.new)),
        MetricId::MrrExpansion => Cell::value(cents(m.expansion)),
        MetricId::MrrContraction => Cell::value(cents(m.contraction)),
        MetricId::MrrChurned => Cell::value(cents(m.churned)),
        MetricId::MrrReactivation => Cell::value(cents(m.reactivation)),
        MetricId::MrrNetNew => Cell::value(cents(m.net_new())),
        MetricId::Arpa => Cell::ratio(
            cents(m.end),
            m.active_end as f64,
            1.0,
            "no active subscriptions",
        ),
        MetricId::RevenueChurnPct => Cell::ratio(
            cents(m.churned + m.contraction),
            cents(m.start),
            100.0,
            "no MRR at the period's start",
        ),
        MetricId::NrrPct => Cell::ratio(
            cents(m.start + m.expansion - m.contraction - m.churned),
            cents(m.start),
            100.0,
            "no MRR at the period's start",
        ),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::metric_reads::{SubscriptionRow, SubscriptionSource};

    /// Subscriptions as rows, grouped by customer as the store reads them.
    struct Rows(Vec<SubscriptionRow>);

    impl SubscriptionSource for Rows {
        fn subscriptions(&self, each: &mut dyn FnMut(SubscriptionRow)) -> rusqlite::Result<()> {
            self.0.iter().cloned().for_each(each);
            Ok(())
        }
    }

    /// A varied book: customers with one or several subscriptions over three plans (and
    /// none), started and ended around the spans' edges, some still running.
    fn varied_book() -> Book {
        let day = |n: u64| {
            (NaiveDate::from_ymd_opt(2025, 1, 1).unwrap() + Duration::days(n as i64)).to_string()
        };
        let plans = [Some("basic"), Some("pro"), None, Some("team")];
        let mut seed = 7_u64;
        let mut rows: Vec<SubscriptionRow> = (0..400)
            .map(|_| {
                seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
                let start = (seed >> 33) % 120;
                let end = ((seed >> 20) % 3 != 0).then(|| start + 1 + (seed >> 40) % 60);
                SubscriptionRow {
                    customer_id: format!("c{}", (seed >> 45) % 90),
                    mrr_cents: (100 * (1 + (seed >> 50) % 7)) as i64,
                    start_date: day(start),
                    end_date: end.map(day),
                    plan: plans[((seed >> 30) % 4) as usize].map(str::to_string),
                }
            })
            .collect();
        rows.sort_by(|a, b| a.customer_id.cmp(&b.customer_id));
        Book::load(&Rows(rows)).unwrap()
    }

    #[test]
    fn movements_of_every_group_in_one_pass_equal_each_group_counted_alone() {
        let book = varied_book();
        let spans: Vec<(NaiveDate, NaiveDate)> = (0..6)
            .map(|k| {
                let first = NaiveDate::from_ymd_opt(2025, 1, 1).unwrap() + Duration::days(25 * k);
                (first - Duration::days(1), first + Duration::days(24))
            })
            .collect();
        let plans = ["basic", "pro", "team", "gone"];
        let by_plan = |_: usize, _: &str, s: &Subscription| {
            plans.iter().position(|p| s.plan.as_deref() == Some(*p))
        };
        let grouped = movements_by_group(&book, &spans, plans.len(), &by_plan);
        // By customer: the customers' ids ending in each digit of 0..3, the rest in none.
        let digit = |id: &str| id.bytes().last().map(|b| usize::from(b - b'0'));
        let by_customer = |_: usize, id: &str, _: &Subscription| digit(id).filter(|d| *d < 3);
        let grouped_by_customer = movements_by_group(&book, &spans, 3, &by_customer);
        for (g, plan) in plans.iter().enumerate() {
            let keep = |s: &Subscription| s.plan.as_deref() == Some(*plan);
            for (k, (before, last)) in spans.iter().enumerate() {
                let alone = movements(&book, *before, *last, None, &keep);
                let one_pass = grouped[g][k];
                assert_eq!(
                    (
                        one_pass.start,
                        one_pass.end,
                        one_pass.new,
                        one_pass.expansion
                    ),
                    (alone.start, alone.end, alone.new, alone.expansion),
                    "{plan} span {k}"
                );
                assert_eq!(
                    (
                        one_pass.contraction,
                        one_pass.churned,
                        one_pass.reactivation
                    ),
                    (alone.contraction, alone.churned, alone.reactivation),
                    "{plan} span {k}"
                );
                let active = book
                    .iter()
                    .filter(|(_, subs)| subs.iter().any(|s| keep(s) && s.active_on(*last)))
                    .count() as u64;
                assert_eq!(one_pass.active_end, active, "{plan} span {k}");
            }
        }
        for (g, one_pass) in grouped_by_customer.iter().enumerate() {
            let members: HashSet<String> = book
                .iter()
                .map(|(id, _)| id.to_string())
                .filter(|id| digit(id) == Some(g))
                .collect();
            let alone = movements_over(&book, &spans, Some(&members), &|_| true);
            assert_eq!(*one_pass, alone, "customers ending in {g}");
        }
        assert!(grouped[3].iter().all(|m| *m == Movements::default()));
        assert!(grouped[0].iter().any(|m| m.churned > 0 && m.new > 0));
    }

    /// The whole book's activity, counted once and then kept with the book, equals the
    /// customers active on each day counted from the book's own sets.
    #[test]
    fn the_books_kept_activity_equals_the_customers_active_on_each_day() {
        let book = varied_book();
        for k in 0..8 {
            let first = NaiveDate::from_ymd_opt(2025, 1, 1).unwrap() + Duration::days(17 * k);
            let last = first + Duration::days(3 + 11 * k);
            let at_start = book.active_on(first);
            let at_end = book.active_on(last);
            let churned = at_start.difference(&at_end).count();
            let expected = [at_start.len() as f64, at_end.len() as f64, churned as f64];
            assert_eq!(book.activity(first, last), expected, "counted");
            assert_eq!(book.activity(first, last), expected, "kept");
        }
        assert!(book.activity.lock().unwrap().len() == 8);
    }
}
