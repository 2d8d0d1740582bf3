//! Cohort matrices (SPEC §3): cohort = month of signup (or of first activity where a
//! customer has no signup row); cell (c, k) = share of cohort c active in month c + k.
//! The forecast extends each row with survival rates averaged over recent cohorts
//! (seed 000): forecast (c, t + h) = observed (c, t) × Π s.

use std::collections::{BTreeMap, HashMap};

use chrono::{Datelike, NaiveDate};

use super::engine::Engine;
use super::{CohortMatrix, CohortRow, CohortVariant, MetricError};
use crate::dates::{month_index, month_label, parse_month};

/// Cohorts shown: the latest 24 signup months.
const COHORTS: usize = 24;
/// Survival rates average the latest cohorts that observed both months.
const RECENT_COHORTS: usize = 6;

/// Cohort sizes by cohort month, and (cohort, k) → active customers (or revenue).
type Counts = (BTreeMap<i32, u64>, HashMap<(i32, usize), f64>);

/// Cohort sizes and (cohort, k) → active customers (or revenue, in cents) from the
/// `ru_cohort_cells` rollup.
fn from_rollup(
    eng: &Engine<'_>,
    variant: CohortVariant,
    first_shown: i32,
    now: i32,
) -> Result<Counts, MetricError> {
    let source = if variant == CohortVariant::ActiveUsers {
        "events"
    } else {
        "orders"
    };
    let mut sizes: BTreeMap<i32, u64> = BTreeMap::new();
    let mut totals: HashMap<(i32, usize), f64> = HashMap::new();
    let mut any = false;
    for row in eng.store.cohort_cells(source)? {
        let Some(c) = parse_month(&row.cohort).filter(|c| (first_shown..=now).contains(c)) else {
            continue;
        };
        any = true;
        if row.month.is_empty() {
            *sizes.entry(c).or_default() += u64::try_from(row.customers).unwrap_or(0);
            continue;
        }
        let Some(m) = parse_month(&row.month).filter(|m| *m <= now && *m >= c) else {
            continue;
        };
        let value = if variant == CohortVariant::RevenueRetention {
            row.revenue as f64
        } else {
            row.customers as f64
        };
        *totals.entry((c, (m - c) as usize)).or_default() += value;
    }
    if !any {
        return Ok((BTreeMap::new(), totals));
    }
    add_signup_sizes(eng, &mut sizes, first_shown, now)?;
    Ok((sizes, totals))
}

/// Cohort sizes and cells of subscribed customers: months with an active subscription,
/// read with each subscriber's signup month in one query.
fn subscribed(eng: &Engine<'_>, first_shown: i32, now: i32) -> Result<Counts, MetricError> {
    let parse = |s: &str| NaiveDate::parse_from_str(s.get(..10).unwrap_or(s), "%Y-%m-%d").ok();
    let mut sizes: BTreeMap<i32, u64> = BTreeMap::new();
    let mut totals: HashMap<(i32, usize), f64> = HashMap::new();
    // One customer at a time: (signup cohort, months with an active subscription).
    let mut current: Option<String> = None;
    let mut signup: Option<i32> = None;
    let mut months: Vec<i32> = Vec::new();
    let mut flush = |signup: Option<i32>, months: &mut Vec<i32>| {
        months.sort_unstable();
        months.dedup();
        let cohort = signup.or_else(|| months.first().copied());
        if let Some(c) = cohort.filter(|c| (first_shown..=now).contains(c)) {
            if signup.is_none() {
                *sizes.entry(c).or_default() += 1;
            }
            for m in months.iter().filter(|m| **m >= c && **m <= now) {
                *totals.entry((c, (*m - c) as usize)).or_default() += 1.0;
            }
        }
        months.clear();
    };
    eng.store.subscription_spans(|span| {
        if current.as_deref() != Some(span.customer_id.as_str()) {
            flush(signup, &mut months);
            current = Some(span.customer_id);
            signup = span.signup_date.as_deref().and_then(parse).map(month_index);
        }
        let Some(start) = parse(&span.start_date) else {
            return;
        };
        let from = month_index(start);
        // `end` is the first inactive day: active in its month only after day 1.
        let to = span.end_date.as_deref().and_then(parse).map_or(now, |e| {
            let m = month_index(e);
            if e.day() == 1 { m - 1 } else { m }
        });
        months.extend(from..=to.min(now));
    })?;
    flush(signup, &mut months);
    if totals.is_empty() {
        return Ok((sizes, totals));
    }
    add_signup_sizes(eng, &mut sizes, first_shown, now)?;
    Ok((sizes, totals))
}

/// Adds the customers who signed up in each shown cohort month to `sizes` (read once per
/// engine: every variant shares them).
fn add_signup_sizes(
    eng: &Engine<'_>,
    sizes: &mut BTreeMap<i32, u64>,
    first_shown: i32,
    now: i32,
) -> Result<(), MetricError> {
    let signups = eng.memo(format!("signups {first_shown} {now}"), || {
        let rows = eng
            .store
            .signups_by_month(&format!("{}-01", month_label(first_shown)))?;
        let mut out: Vec<(i32, u64)> = Vec::new();
        for (month, n) in rows {
            if let Some(c) = parse_month(&month).filter(|c| *c <= now) {
                out.push((c, u64::try_from(n).unwrap_or(0)));
            }
        }
        Ok(out)
    })?;
    for (c, n) in signups.iter() {
        *sizes.entry(*c).or_default() += n;
    }
    Ok(())
}

pub fn matrix(eng: &Engine<'_>, variant: CohortVariant) -> Result<CohortMatrix, MetricError> {
    let now = month_index(eng.as_of);
    let first_shown = now - COHORTS as i32 + 1;
    let (sizes, totals) = match variant {
        CohortVariant::SubscribedCustomers => subscribed(eng, first_shown, now)?,
        _ => from_rollup(eng, variant, first_shown, now)?,
    };
    if totals.is_empty() {
        return Ok(CohortMatrix {
            variant,
            rows: Vec::new(),
        });
    }
    let width = sizes.keys().next().map_or(0, |c| (now - c + 1) as usize);
    let observed: Vec<Vec<Option<f64>>> = sizes
        .iter()
        .map(|(&c, &size)| {
            let seen = (now - c + 1) as usize;
            (0..width)
                .map(|k| {
                    if k >= seen {
                        return None;
                    }
                    let v = totals.get(&(c, k)).copied().unwrap_or(0.0);
                    match variant {
                        CohortVariant::RevenueRetention => {
                            let base = totals.get(&(c, 0)).copied().unwrap_or(0.0);
                            (base > 0.0).then(|| v / base)
                        }
                        _ => Some(v / size as f64),
                    }
                })
                .collect()
        })
        .collect();
    // A month still running is shown to date but would drag survival down: the model
    // sees complete months only, and forecasts the cells after them.
    let month_running = eng.is_partial(&super::Period::containing(super::Grain::Month, eng.as_of));
    let complete: Vec<Vec<Option<f64>>> = sizes
        .keys()
        .zip(&observed)
        .map(|(&c, row)| {
            let mut row = row.clone();
            if month_running {
                if let Some(cell) = row.get_mut((now - c) as usize) {
                    *cell = None;
                }
            }
            row
        })
        .collect();
    let mut forecast = forecast_survival(
        &complete,
        RECENT_COHORTS,
        variant != CohortVariant::RevenueRetention,
    );
    for (f, row) in forecast.iter_mut().zip(&observed) {
        for (slot, cell) in f.iter_mut().zip(row) {
            if cell.is_some() {
                *slot = None;
            }
        }
    }
    let rows = sizes
        .iter()
        .zip(observed)
        .zip(forecast)
        .map(|(((&c, &size), cells), forecast)| CohortRow {
            cohort: month_label(c),
            size,
            cells,
            forecast,
        })
        .collect();
    Ok(CohortMatrix { variant, rows })
}

/// Forecast cells for a cohort triangle (`observed[c][k]`, oldest cohort first, `None`
/// where month c + k has not happened). Survival s_k = mean over the latest `recent`
/// cohorts that observed months k − 1 and k of cell k ÷ cell k − 1 (capped at 1 for
/// shares of customers, which cannot be retained above everyone). The forecast of an
/// unobserved cell is the row's last observed cell times the survival rates since.
pub fn forecast_survival(
    observed: &[Vec<Option<f64>>],
    recent: usize,
    cap_at_one: bool,
) -> Vec<Vec<Option<f64>>> {
    let width = observed.iter().map(Vec::len).max().unwrap_or(0);
    let survival: Vec<Option<f64>> = (0..width)
        .map(|k| {
            if k == 0 {
                return None;
            }
            let ratios: Vec<f64> = observed
                .iter()
                .rev()
                .filter_map(|row| {
                    let prev = (*row.get(k - 1)?)?;
                    let cur = (*row.get(k)?)?;
                    (prev > 0.0).then(|| cur / prev)
                })
                .take(recent)
                .collect();
            if ratios.is_empty() {
                return None;
            }
            let mean = ratios.iter().sum::<f64>() / ratios.len() as f64;
            Some(if cap_at_one { mean.min(1.0) } else { mean })
        })
        .collect();
    observed
        .iter()
        .map(|row| {
            let mut out = vec![None; width];
            let last = row.iter().rposition(Option::is_some);
            let Some(t) = last else { return out };
            let mut value = row[t];
            for (k, slot) in out.iter_mut().enumerate().skip(t + 1) {
                if row.get(k).copied().flatten().is_some() {
                    break;
                }
                value = value.zip(survival[k]).map(|(v, s)| v * s);
                *slot = value;
            }
            out
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forecast_multiplies_the_last_observed_cell_by_mean_survival() {
        // Two older cohorts show survival 0.5 then 0.8 (month 1) and 0.5 (month 2).
        let observed = vec![
            vec![Some(1.0), Some(0.5), Some(0.25)],
            vec![Some(1.0), Some(0.8), None],
            vec![Some(1.0), None, None],
        ];
        let f = forecast_survival(&observed, 6, true);
        assert_eq!(f[0], vec![None, None, None]);
        // s1 = (0.5 + 0.8) / 2 = 0.65, s2 = 0.25 / 0.5 = 0.5.
        assert_eq!(f[1][2], Some(0.8 * 0.5));
        assert_eq!(f[2][1], Some(0.65));
        assert!((f[2][2].unwrap() - 0.65 * 0.5).abs() < 1e-12);
        assert_eq!(
            month_label(month_index(NaiveDate::from_ymd_opt(2025, 1, 9).unwrap())),
            "2025-01"
        );
    }
}
