//! The per-id rollups: repeat purchases and order gaps (per customer), cohort cells (per
//! customer or user) and the distinct counts of [`Spans`]. Each is a sum of per-id
//! contributions that are functions of the id's own active days, so an import changes
//! them by the touched ids' contributions after the refresh minus before.
//!
//! Only days near the touched ones can make that difference. The contributions depend on
//! a day through the 12 months after it (repeat purchases), its neighbouring active days
//! (gaps), its month (cohort cells, distinct counts) and the id's first day (the cohort of
//! an id without a signup). So a touched id's history is read from 13 months before the
//! earliest touched day on, plus its first day and its last day before that: the days left
//! out are the same before and after, and so is what they contribute.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{Datelike, Months, NaiveDate};
use rusqlite::{Connection, params};

use super::Touched;
use super::counts::Counts;
use super::distinct::Spans;
use crate::dates::{month_index, month_label, parse_day};

/// Customers and revenue per activity variant, signup cohort and month of activity.
const COHORT_CELLS: Counts = Counts {
    table: "ru_cohort_cells",
    keys: &["variant", "cohort", "month"],
    counts: &["customers", "revenue"],
};

/// Where per-id activity comes from, and what it feeds.
pub struct Activity {
    /// The raw table (`Touched` key) and `ru_cohort_cells.variant`.
    pub table: &'static str,
    /// The raw table's day column.
    pub day_column: &'static str,
    /// The per-day-per-id rollup, with a `day` column and an index on (id, day).
    pub rollup: &'static str,
    /// The id column, in the raw table and the rollup.
    pub id: &'static str,
    /// An id's (orders, revenue in cents) on a day, aggregated over its rollup rows.
    pub values: &'static str,
    /// Temp tables of the ids an import touched, and of the (day, id) pairs.
    pub ids_table: &'static str,
    pub pairs_table: &'static str,
    /// `ru_distinct` kinds counted from the ids: `<prefix>_{day,week,month}` and windows.
    pub distinct_prefix: &'static str,
    pub windows: &'static [(&'static str, i64)],
    /// Whether the repeat-purchase and gap rollups come from this activity.
    pub repeats: bool,
    /// Whether each id's first row per event name (`ru_first_event`) comes from this
    /// activity (events only).
    pub firsts: bool,
    /// Rewrites the day rollups of every day of a set (the table's every day) from the
    /// raw rows (the events also `ru_first_event`).
    pub rebuild_days:
        fn(&Connection, &std::collections::BTreeSet<NaiveDate>) -> rusqlite::Result<()>,
    /// Rewrites the day rollups of one day for the ids of `pairs_table` on it.
    pub refresh_ids: fn(&Connection, &Activity, NaiveDate) -> rusqlite::Result<()>,
}

/// The per-id rollups a pass maintains.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Parts {
    /// `ru_repeat_delta` and `ru_order_gaps` (orders only).
    pub repeat: bool,
    /// `ru_cohort_cells` of the activity's variant.
    pub cohorts: bool,
    /// The `ru_distinct` rows of the pass's spans.
    pub distinct: bool,
}

impl Parts {
    fn any(self) -> bool {
        self.repeat || self.cohorts || self.distinct
    }
}

/// Which ids a pass reads, and how much of their history.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope<'a> {
    /// Every id, every day.
    All,
    /// The ids of the activity's temp table, from the history window of `earliest`, the
    /// earliest touched day (`NaiveDate::MIN`: all of it). Their signups come from the
    /// customers table, or from `signups` (id → signup day, `None` for no signup row) for
    /// the state before a customers import.
    Touched {
        earliest: NaiveDate,
        signups: Option<&'a BTreeMap<String, Option<NaiveDate>>>,
    },
}

/// The first day of a touched id's history a refresh reads: the contributions of earlier
/// days (except the first and the last before it, read too) cannot change.
pub fn history_from(earliest: NaiveDate) -> NaiveDate {
    let month = earliest.with_day(1).unwrap_or(earliest);
    month
        .checked_sub_months(Months::new(13))
        .unwrap_or(NaiveDate::MIN)
}

/// Fills the activity's temp tables with the (day, id) pairs the import wrote: the ids
/// `touched` names, or for a whole day every id with raw rows or rollup rows on it.
pub fn select_ids(
    conn: &Connection,
    activity: &Activity,
    touched: &Touched,
    days: &BTreeSet<NaiveDate>,
) -> rusqlite::Result<()> {
    clear_ids(conn, activity)?;
    let (ids, pairs) = (activity.ids_table, activity.pairs_table);
    let mut add_pair = conn.prepare_cached(&format!(
        "INSERT OR IGNORE INTO temp.{pairs} (day, id) VALUES (?1, ?2)"
    ))?;
    let mut add_day = conn.prepare_cached(&format!(
        "INSERT OR IGNORE INTO temp.{pairs} (day, id)
         SELECT ?1, {id} FROM {table} WHERE {day_column} = ?1
         UNION SELECT ?1, {id} FROM {rollup} WHERE day = ?1",
        id = activity.id,
        table = activity.table,
        day_column = activity.day_column,
        rollup = activity.rollup,
    ))?;
    for day in days {
        let d = day.to_string();
        match touched.ids_on(activity.table, *day) {
            Some(written) => {
                for id in written {
                    add_pair.execute(params![d, id])?;
                }
            }
            None => {
                add_day.execute([&d])?;
            }
        }
    }
    conn.execute(
        &format!("INSERT OR IGNORE INTO temp.{ids} (id) SELECT id FROM temp.{pairs}"),
        [],
    )?;
    Ok(())
}

/// Creates the activity's temp tables if needed, empty.
fn clear_ids(conn: &Connection, activity: &Activity) -> rusqlite::Result<()> {
    let (ids, pairs) = (activity.ids_table, activity.pairs_table);
    conn.execute_batch(&format!(
        "CREATE TEMP TABLE IF NOT EXISTS {ids} (id TEXT PRIMARY KEY NOT NULL) WITHOUT ROWID;
         CREATE TEMP TABLE IF NOT EXISTS {pairs}
             (day TEXT NOT NULL, id TEXT NOT NULL, PRIMARY KEY (day, id)) WITHOUT ROWID;
         DELETE FROM temp.{ids};
         DELETE FROM temp.{pairs};"
    ))
}

/// Moves the cohort cells of the customers a customers import wrote, from their
/// signup before (`signups_before`) to their signup now: their whole activity is read,
/// since a new cohort moves every month of it.
pub fn move_cohorts(
    conn: &Connection,
    activity: &Activity,
    signups_before: &BTreeMap<String, Option<NaiveDate>>,
) -> rusqlite::Result<()> {
    clear_ids(conn, activity)?;
    let mut add = conn.prepare_cached(&format!(
        "INSERT OR IGNORE INTO temp.{} (id) VALUES (?1)",
        activity.ids_table
    ))?;
    for id in signups_before.keys() {
        add.execute([id])?;
    }
    let parts = Parts {
        cohorts: true,
        ..Parts::default()
    };
    let now = Scope::Touched {
        earliest: NaiveDate::MIN,
        signups: None,
    };
    let before = Scope::Touched {
        earliest: NaiveDate::MIN,
        signups: Some(signups_before),
    };
    let no_spans = Spans::of("", &[], &BTreeSet::new());
    let mut sums = Contributions::default();
    contribute(conn, activity, before, parts, &no_spans, -1, &mut sums)?;
    contribute(conn, activity, now, parts, &no_spans, 1, &mut sums)?;
    write(conn, activity, &no_spans, &sums)
}

/// Sums of per-id contributions, signed, to be added to the rollup tables.
#[derive(Debug, Default)]
pub struct Contributions {
    repeat: BTreeMap<NaiveDate, (i64, i64)>,
    gaps: HashMap<(NaiveDate, NaiveDate), i64>,
    /// (cohort month, month or `None` for the size row) → (customers, revenue).
    cohorts: HashMap<(i32, Option<i32>), (i64, i64)>,
    /// One per span.
    distinct: Vec<i64>,
}

/// Adds `sign` × the contributions of the ids in `scope`, as their activity stands in
/// the rollups now, to `sums`: one query for the activity, one for the signup months.
pub fn contribute(
    conn: &Connection,
    activity: &Activity,
    scope: Scope<'_>,
    parts: Parts,
    spans: &Spans,
    sign: i64,
    sums: &mut Contributions,
) -> rusqlite::Result<()> {
    if !parts.any() {
        return Ok(());
    }
    sums.distinct.resize(spans.len(), 0);
    let (id, rollup, values) = (activity.id, activity.rollup, activity.values);
    let given_signups = match scope {
        Scope::Touched { signups, .. } => signups,
        Scope::All => None,
    };
    let (activity_sql, from, signups_sql) = match scope {
        Scope::All => (
            format!(
                "SELECT {id}, day, {values} FROM {rollup} GROUP BY {id}, day ORDER BY {id}, day"
            ),
            String::new(),
            "SELECT customer_id, signup_date FROM customers ORDER BY customer_id".to_string(),
        ),
        Scope::Touched { earliest, .. } => {
            let ids = format!("temp.{}", activity.ids_table);
            // The window, then each id's first day and its last day before the window.
            let edge = |pick: &str, filter: &str| {
                format!(
                    "SELECT r.{id}, r.day, {values} FROM {ids} t CROSS JOIN {rollup} r
                     ON r.{id} = t.id AND r.day = (SELECT {pick}(day) FROM {rollup}
                                                   WHERE {id} = t.id{filter})
                     GROUP BY r.{id}, r.day"
                )
            };
            (
                format!(
                    "SELECT {id}, day, {values} FROM {rollup}
                     WHERE {id} IN (SELECT id FROM {ids}) AND day >= ?1 GROUP BY {id}, day
                     UNION {} UNION {} ORDER BY 1, 2",
                    edge("MIN", ""),
                    edge("MAX", " AND day < ?1"),
                ),
                history_from(earliest).to_string(),
                format!(
                    "SELECT customer_id, signup_date FROM customers
                     WHERE customer_id IN (SELECT id FROM {ids}) ORDER BY customer_id"
                ),
            )
        }
    };
    let mut signups_stmt = conn.prepare_cached(&signups_sql)?;
    let mut signups = if parts.cohorts && given_signups.is_none() {
        Some(signups_stmt.query([])?)
    } else {
        None
    };
    let mut next_signup: Option<(String, Option<i32>)> = None;
    let mut signup_of = |id: &str| -> rusqlite::Result<Option<i32>> {
        if let Some(given) = given_signups {
            return Ok(given.get(id).copied().flatten().map(month_index));
        }
        let Some(rows) = signups.as_mut() else {
            return Ok(None);
        };
        loop {
            match &next_signup {
                Some((sid, month)) if sid.as_str() == id => return Ok(*month),
                Some((sid, _)) if sid.as_str() > id => return Ok(None),
                _ => {}
            }
            match rows.next()? {
                Some(row) => {
                    let month = parse_day(row.get_ref(1)?.as_str()?).map(month_index);
                    next_signup = Some((row.get(0)?, month));
                }
                None => return Ok(None),
            }
        }
    };
    let mut seen = vec![usize::MAX; spans.len()];
    let mut ids_done = 0usize;
    let mut add = |id: &str, days: &[(NaiveDate, i64, i64)]| -> rusqlite::Result<()> {
        if days.is_empty() {
            return Ok(());
        }
        if parts.repeat {
            let orders: Vec<(NaiveDate, i64)> = days.iter().map(|&(d, n, _)| (d, n)).collect();
            for (day, ge1, ge2) in crate::dates::repeat_deltas(&orders) {
                let e = sums.repeat.entry(day).or_default();
                e.0 += ge1 * sign;
                e.1 += ge2 * sign;
            }
            for pair in gaps(&orders) {
                *sums.gaps.entry(pair).or_default() += sign;
            }
        }
        if parts.cohorts {
            let signup = signup_of(id)?;
            for (cell, n, revenue) in cohort_cells_of(signup, days) {
                let e = sums.cohorts.entry(cell).or_default();
                e.0 += n * sign;
                e.1 += revenue * sign;
            }
        }
        if parts.distinct {
            for &(day, _, _) in days {
                spans.holding(day, |i| {
                    if seen[i] != ids_done {
                        seen[i] = ids_done;
                        sums.distinct[i] += sign;
                    }
                });
            }
        }
        ids_done += 1;
        Ok(())
    };
    let mut stmt = conn.prepare_cached(&activity_sql)?;
    let mut rows = if from.is_empty() {
        stmt.query([])?
    } else {
        stmt.query([&from])?
    };
    let mut current = String::new();
    let mut days: Vec<(NaiveDate, i64, i64)> = Vec::new();
    while let Some(row) = rows.next()? {
        let id = row.get_ref(0)?.as_str()?;
        if id != current {
            add(&current, &days)?;
            days.clear();
            current = id.to_string();
        }
        if let Some(day) = parse_day(row.get_ref(1)?.as_str()?) {
            days.push((day, row.get(2)?, row.get(3)?));
        }
    }
    add(&current, &days)
}

/// Adds the non-zero sums to the rollup tables, dropping rows they bring to zero (a
/// rebuild never holds such rows).
pub fn write(
    conn: &Connection,
    activity: &Activity,
    spans: &Spans,
    sums: &Contributions,
) -> rusqlite::Result<()> {
    let mut add_repeat = conn.prepare_cached(
        "INSERT INTO ru_repeat_delta (day, ge1, ge2) VALUES (?1, ?2, ?3)
         ON CONFLICT (day) DO UPDATE SET ge1 = ge1 + excluded.ge1, ge2 = ge2 + excluded.ge2",
    )?;
    let mut drop_repeat =
        conn.prepare_cached("DELETE FROM ru_repeat_delta WHERE day = ?1 AND ge1 = 0 AND ge2 = 0")?;
    for (day, &(ge1, ge2)) in &sums.repeat {
        if ge1 != 0 || ge2 != 0 {
            let day = day.to_string();
            add_repeat.execute(params![day, ge1, ge2])?;
            drop_repeat.execute([day])?;
        }
    }
    let mut add_gap = conn.prepare_cached(
        "INSERT INTO ru_order_gaps (day, next_day, customers) VALUES (?1, ?2, ?3)
         ON CONFLICT (day, next_day) DO UPDATE SET customers = customers + excluded.customers",
    )?;
    let mut drop_gap = conn.prepare_cached(
        "DELETE FROM ru_order_gaps WHERE day = ?1 AND next_day = ?2 AND customers = 0",
    )?;
    for ((day, next), &n) in &sums.gaps {
        if n != 0 {
            let (day, next) = (day.to_string(), next.to_string());
            add_gap.execute(params![day, next, n])?;
            if n < 0 {
                drop_gap.execute(params![day, next])?;
            }
        }
    }
    let mut cells = COHORT_CELLS.writer(conn)?;
    for (&(cohort, month), &(n, revenue)) in &sums.cohorts {
        let cohort = month_label(cohort);
        let month = month.map(month_label).unwrap_or_default();
        cells.add(&[&activity.table, &cohort, &month], &[n, revenue])?;
    }
    spans.write(conn, &sums.distinct)
}

/// Rebuilds the given per-id rollups of `activity` from all its ids (`distinct` is
/// recounted by the caller).
pub fn rebuild(conn: &Connection, activity: &Activity, parts: Parts) -> rusqlite::Result<()> {
    let parts = Parts {
        distinct: false,
        ..parts
    };
    if !parts.any() {
        return Ok(());
    }
    if parts.repeat {
        conn.execute("DELETE FROM ru_repeat_delta", [])?;
        conn.execute("DELETE FROM ru_order_gaps", [])?;
    }
    if parts.cohorts {
        conn.execute(
            "DELETE FROM ru_cohort_cells WHERE variant = ?1",
            [activity.table],
        )?;
    }
    let no_spans = Spans::of("", &[], &BTreeSet::new());
    let mut sums = Contributions::default();
    contribute(conn, activity, Scope::All, parts, &no_spans, 1, &mut sums)?;
    write(conn, activity, &no_spans, &sums)
}

/// One id's cohort cells: ((cohort, month or `None` for the size row), customers,
/// revenue). The cohort is the signup month, else the month of the first active day.
fn cohort_cells_of(
    signup_month: Option<i32>,
    days: &[(NaiveDate, i64, i64)],
) -> Vec<((i32, Option<i32>), i64, i64)> {
    let Some(first) = days.first() else {
        return Vec::new();
    };
    let cohort = signup_month.unwrap_or_else(|| month_index(first.0));
    let mut months: BTreeMap<i32, i64> = BTreeMap::new();
    for &(day, _, revenue) in days {
        let month = month_index(day);
        if month >= cohort {
            *months.entry(month).or_default() += revenue;
        }
    }
    let mut out: Vec<((i32, Option<i32>), i64, i64)> = months
        .into_iter()
        .map(|(m, r)| ((cohort, Some(m)), 1, r))
        .collect();
    if signup_month.is_none() {
        out.push(((cohort, None), 1, 0));
    }
    out
}

/// A customer's (order day, next order day) pairs; the last pairs with `NO_NEXT_ORDER`.
fn gaps(days: &[(NaiveDate, i64)]) -> Vec<(NaiveDate, NaiveDate)> {
    let days: Vec<NaiveDate> = days
        .iter()
        .filter(|(_, n)| *n > 0)
        .map(|(d, _)| *d)
        .collect();
    let last = parse_day(super::NO_NEXT_ORDER).unwrap_or(NaiveDate::MAX);
    days.iter()
        .enumerate()
        .map(|(i, d)| (*d, days.get(i + 1).copied().unwrap_or(last)))
        .collect()
}
