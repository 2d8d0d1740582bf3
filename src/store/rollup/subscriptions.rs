//! The subscription book per segment (schema 12), so that customer activity, churn,
//! retention, MRR and its movements — in total and by the customer's channel, plan and
//! region or the subscription's plan — read a few rows per day and segment instead of
//! every subscription and the segment columns of every subscriber.
//!
//! - `ru_subscription_steps`: per day and segment, the change of MRR (cents) and of the
//!   customers with an active subscription (their subscriptions' union of days). MRR and
//!   active customers on a day are the prefix sums up to it.
//! - `ru_subscription_moves`: per span kind (`SPANS`: the day, week or month holding `d`,
//!   or the month-long span ending on `d`), day `d` and segment, the MRR movements between
//!   the close of the day before the span and the close of `d` (new, expansion,
//!   contraction, churned, reactivation, as `metrics::subscriptions` counts them per
//!   customer) and the customers active on the span's first day but not on `d`
//!   (`left`). A customer moves only in a span holding one of its start or end days, so
//!   its rows are those of the days from each such day while their span holds it.
//!
//! Segments: `all` (value ''), the customer columns `channel`, `plan` and `region` (every
//! subscription of a customer, as the customer's segment) and `subscription_plan` (a
//! customer's subscriptions of each plan as a customer of its own). A moves row of zeros
//! is not written; a steps row is written for every day with a start or an end. Both tables are recounted from the subscriptions and customers whenever an
//! import writes either (a few hundred thousand subscriptions at 10 M orders).

use std::collections::HashMap;

use chrono::{Duration, NaiveDate};
use rusqlite::{Connection, params};

use crate::dates::{Grain, Period};

/// The spans `ru_subscription_moves.grain` keys by their last day `d`: the day, week or
/// month holding `d` up to `d` (`day`, `week`, `month`), or the month-long span ending
/// on `d` ([`crate::dates::month_ending`]; `month_ending`, CLV's).
pub const SPANS: [&str; 4] = ["day", "week", "month", "month_ending"];

/// The first day of span `kind` ([`SPANS`] index) ending on `day`.
fn span_start(kind: usize, day: NaiveDate) -> NaiveDate {
    match Grain::ALL.get(kind) {
        Some(grain) => Period::containing(*grain, day).start,
        None => crate::dates::month_ending(day),
    }
}

/// The tables kept here.
pub const SUBSCRIPTION_TABLES: [&str; 2] = ["ru_subscription_steps", "ru_subscription_moves"];

/// `dim` of the whole book.
pub const ALL: &str = "all";
/// `dim` of the subscription's own plan.
pub const SUBSCRIPTION_PLAN: &str = "subscription_plan";
/// The customer columns, as `dim`s.
pub const CUSTOMER_DIMS: [&str; 3] = ["channel", "plan", "region"];

#[derive(Debug, Clone)]
struct Sub {
    mrr: i64,
    start: NaiveDate,
    end: Option<NaiveDate>,
    plan: Option<String>,
}

impl Sub {
    fn active_on(&self, day: NaiveDate) -> bool {
        self.start <= day && self.end.is_none_or(|end| end > day)
    }
}

/// One row of `ru_subscription_moves`' numbers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Moves {
    pub new: i64,
    pub expansion: i64,
    pub contraction: i64,
    pub churned: i64,
    pub reactivation: i64,
    /// Customers active on the period's first day and not on the row's day.
    pub left: i64,
}

impl Moves {
    fn add(&mut self, other: &Moves) {
        self.new += other.new;
        self.expansion += other.expansion;
        self.contraction += other.contraction;
        self.churned += other.churned;
        self.reactivation += other.reactivation;
        self.left += other.left;
    }

    fn is_zero(&self) -> bool {
        *self == Moves::default()
    }
}

/// The rows being counted: per segment (interned), dense over the days from `first` on.
/// Memory: segments × days × (4 span kinds × 48 + 17) bytes (a few MB for a few dozen
/// segment values over years).
struct Sums {
    first: NaiveDate,
    days: usize,
    index: HashMap<(&'static str, String), usize>,
    keys: Vec<(&'static str, String)>,
    /// `[segment][day]`: (MRR change, active change, whether a subscription starts or
    /// ends that day).
    steps: Vec<Vec<(i64, i64, bool)>>,
    /// `[segment][kind * days + day]`.
    moves: Vec<Vec<Moves>>,
}

impl Sums {
    fn new(first: NaiveDate, last: NaiveDate) -> Self {
        Sums {
            first,
            days: usize::try_from((last - first).num_days() + 1).unwrap_or(0),
            index: HashMap::new(),
            keys: Vec::new(),
            steps: Vec::new(),
            moves: Vec::new(),
        }
    }

    fn segment(&mut self, dim: &'static str, value: &str) -> usize {
        if let Some(i) = self.index.get(&(dim, value.to_string())) {
            return *i;
        }
        let i = self.keys.len();
        self.keys.push((dim, value.to_string()));
        self.index.insert((dim, value.to_string()), i);
        self.steps.push(vec![(0, 0, false); self.days]);
        self.moves
            .push(vec![Moves::default(); self.days * SPANS.len()]);
        i
    }

    fn offset(&self, day: NaiveDate) -> Option<usize> {
        usize::try_from((day - self.first).num_days())
            .ok()
            .filter(|o| *o < self.days)
    }
}

/// Adds one group of a customer's subscriptions (none empty) to every segment of
/// `segments`.
fn add_group(subs: &[&Sub], segments: &[usize], sums: &mut Sums) {
    let mut steps: Vec<(NaiveDate, i64, i64)> = Vec::new();
    let mut intervals: Vec<(NaiveDate, Option<NaiveDate>)> = Vec::new();
    let mut changes: Vec<NaiveDate> = Vec::new();
    for s in subs {
        steps.push((s.start, s.mrr, 0));
        changes.push(s.start);
        if let Some(end) = s.end {
            steps.push((end, -s.mrr, 0));
            changes.push(end);
        }
        intervals.push((s.start, s.end));
    }
    // Active days: the union of the subscriptions' (`metrics::subscriptions` merges alike).
    let mut merged: Vec<(NaiveDate, Option<NaiveDate>)> = Vec::new();
    crate::dates::merge_spans(&mut intervals, &mut merged);
    for (a, b) in merged {
        steps.push((a, 0, 1));
        if let Some(b) = b {
            steps.push((b, 0, -1));
        }
    }
    for (day, mrr, active) in steps {
        let Some(o) = sums.offset(day) else {
            continue;
        };
        for &segment in segments {
            let entry = &mut sums.steps[segment][o];
            entry.0 += mrr;
            entry.1 += active;
            entry.2 = true;
        }
    }
    // The spans holding a change: from each change day on, while the span ending on the
    // day starts no later than the change.
    changes.sort_unstable();
    changes.dedup();
    let mut rows: Vec<(usize, NaiveDate)> = Vec::new();
    for kind in 0..SPANS.len() {
        for &change in &changes {
            rows.extend(
                change
                    .iter_days()
                    .take_while(|d| span_start(kind, *d) <= change)
                    .map(|d| (kind, d)),
            );
        }
    }
    rows.sort_unstable();
    rows.dedup();
    let mrr_on = |day: NaiveDate| -> i64 {
        subs.iter()
            .filter(|s| s.active_on(day))
            .map(|s| s.mrr)
            .sum()
    };
    let active_on = |day: NaiveDate| subs.iter().any(|s| s.active_on(day));
    for (kind, day) in rows {
        let first = span_start(kind, day);
        let before = first - Duration::days(1);
        let mut m = Moves::default();
        match (mrr_on(before), mrr_on(day)) {
            (0, 0) => {}
            (0, n) if subs.iter().any(|s| s.start <= before) => m.reactivation += n,
            (0, n) => m.new += n,
            (o, 0) => m.churned += o,
            (o, n) if n > o => m.expansion += n - o,
            (o, n) => m.contraction += o - n,
        }
        m.left = i64::from(active_on(first) && !active_on(day));
        let Some(o) = sums.offset(day).filter(|_| !m.is_zero()) else {
            continue;
        };
        let at = kind * sums.days + o;
        for &segment in segments {
            sums.moves[segment][at].add(&m);
        }
    }
}

/// Adds one customer's subscriptions: as a whole to the book and its customer columns'
/// segments, and each plan's to that plan.
fn add_customer(subs: &[Sub], columns: &[Option<String>; 3], sums: &mut Sums) {
    if subs.is_empty() {
        return;
    }
    let mut segments = vec![sums.segment(ALL, "")];
    for (dim, value) in CUSTOMER_DIMS.iter().zip(columns) {
        if let Some(value) = value {
            segments.push(sums.segment(dim, value));
        }
    }
    let all: Vec<&Sub> = subs.iter().collect();
    add_group(&all, &segments, sums);
    let mut plans: Vec<&String> = subs.iter().filter_map(|s| s.plan.as_ref()).collect();
    plans.sort();
    plans.dedup();
    for plan in plans {
        let of_plan: Vec<&Sub> = subs
            .iter()
            .filter(|s| s.plan.as_ref() == Some(plan))
            .collect();
        let segment = sums.segment(SUBSCRIPTION_PLAN, plan);
        add_group(&of_plan, &[segment], sums);
    }
}

/// Recounts both tables from every subscription and its customer's segment columns.
pub fn recount(conn: &Connection) -> rusqlite::Result<()> {
    for table in SUBSCRIPTION_TABLES {
        conn.execute(&format!("DELETE FROM {table}"), [])?;
    }
    let parse = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok();
    let mut read = conn.prepare(
        "SELECT s.customer_id, s.mrr, s.start_date, s.end_date, s.plan,
                c.channel, c.plan, c.region
         FROM subscriptions s LEFT JOIN customers c ON c.customer_id = s.customer_id
         ORDER BY s.customer_id",
    )?;
    let mut rows = read.query([])?;
    // Every customer's subscriptions and segment columns, as the book reads them: a start
    // that is no day leaves the subscription out, an end that is no day reads as none.
    let mut customers: Vec<(Vec<Sub>, [Option<String>; 3])> = Vec::new();
    let mut customer: Option<String> = None;
    let mut range: Option<(NaiveDate, NaiveDate)> = None;
    while let Some(row) = rows.next()? {
        let id: String = row.get(0)?;
        if customer.as_ref() != Some(&id) {
            customers.push((Vec::new(), [row.get(5)?, row.get(6)?, row.get(7)?]));
            customer = Some(id);
        }
        let start: String = row.get(2)?;
        let Some(start) = parse(&start) else {
            continue;
        };
        let end: Option<String> = row.get(3)?;
        let end = end.as_deref().and_then(parse);
        let last = end.unwrap_or(start).max(start);
        range = Some(range.map_or((start, last), |(a, b)| (a.min(start), b.max(last))));
        if let Some((subs, _)) = customers.last_mut() {
            subs.push(Sub {
                mrr: row.get(1)?,
                start,
                end,
                plan: row.get(4)?,
            });
        }
    }
    let Some((first, last)) = range else {
        return Ok(());
    };
    // The longest span (a month) reaches 31 days past a change.
    let mut sums = Sums::new(first, last + Duration::days(32));
    for (subs, columns) in &customers {
        add_customer(subs, columns, &mut sums);
    }
    let mut step = conn.prepare(
        "INSERT INTO ru_subscription_steps (day, dim, value, mrr, active)
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )?;
    let mut moves = conn.prepare(
        "INSERT INTO ru_subscription_moves (grain, day, dim, value, new, expansion,
                                            contraction, churned, reactivation, left_active)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    )?;
    let day = |o: usize| (first + Duration::days(o as i64)).to_string();
    for (segment, (dim, value)) in sums.keys.iter().enumerate() {
        // Every day with a start or an end, even where the changes cancel out: each value
        // with a subscription has rows, so the rows list the subscriptions' plans.
        for (o, (mrr, active, changed)) in sums.steps[segment].iter().enumerate() {
            if *changed {
                step.execute(params![day(o), dim, value, mrr, active])?;
            }
        }
        for (at, m) in sums.moves[segment].iter().enumerate() {
            if m.is_zero() {
                continue;
            }
            let (kind, o) = (at / sums.days, at % sums.days);
            moves.execute(params![
                SPANS[kind],
                day(o),
                dim,
                value,
                m.new,
                m.expansion,
                m.contraction,
                m.churned,
                m.reactivation,
                m.left
            ])?;
        }
    }
    Ok(())
}
