//! Engagement: active users, stickiness, sessions, feature adoption, bounce, time to
//! value. Overall distinct counts come from the `ru_distinct` cache; segments count from
//! the per-day-per-user rollup.

use super::engine::{Cell, Engine, customer_filter};
use super::{Grain, MetricError, MetricId, Period, Segment};
use crate::store::metric_queries::{CountQuery, DailyQuery};
use chrono::{Duration, NaiveDate};

/// The last day of a period that has happened.
fn last_day(eng: &Engine<'_>, p: &Period) -> NaiveDate {
    p.end().min(eng.as_of)
}

/// Distinct users with an event from `from` to `to`, per span.
fn distinct_users(
    eng: &Engine<'_>,
    spans: &[(NaiveDate, NaiveDate)],
    segment: Option<&Segment>,
) -> Result<Vec<f64>, MetricError> {
    let query = CountQuery::DistinctUsers(customer_filter(segment));
    spans
        .iter()
        .map(|(a, b)| eng.count(&query, *a, *b))
        .collect()
}

/// Distinct users in each period.
pub fn active_users(
    eng: &Engine<'_>,
    periods: &[Period],
    segment: Option<&Segment>,
) -> Result<Vec<f64>, MetricError> {
    match segment {
        None => {
            let grain = periods.first().map_or(Grain::Day, |p| p.grain);
            super::distinct_cached(eng, &format!("active_{grain}"), periods)
        }
        Some(_) => {
            let spans: Vec<_> = periods.iter().map(|p| (p.start, p.end())).collect();
            distinct_users(eng, &spans, segment)
        }
    }
}

/// Distinct users of the `window` days ending on each period's last day.
fn trailing_users(
    eng: &Engine<'_>,
    periods: &[Period],
    window: i64,
    segment: Option<&Segment>,
) -> Result<Vec<f64>, MetricError> {
    let ends: Vec<NaiveDate> = periods.iter().map(|p| last_day(eng, p)).collect();
    match segment {
        None => super::distinct_cached_at(eng, &format!("active_{window}d"), &ends),
        Some(_) => {
            let spans: Vec<_> = ends
                .iter()
                .map(|e| (*e - Duration::days(window - 1), *e))
                .collect();
            distinct_users(eng, &spans, segment)
        }
    }
}

/// DAU: distinct users that day; at week and month grain the mean over the period's days
/// (up to the reference date), days without activity counting as zero.
fn dau(
    eng: &Engine<'_>,
    periods: &[Period],
    segment: Option<&Segment>,
) -> Result<Vec<f64>, MetricError> {
    if periods.first().is_some_and(|p| p.grain == Grain::Day) {
        return active_users(eng, periods, segment);
    }
    let totals: Vec<f64> = match segment {
        None => {
            let rows = eng.sums(&DailyQuery::Distinct("active_day".into()), periods)?;
            rows.iter().map(|r| r[0]).collect()
        }
        Some(_) => {
            let rows = eng.sums(&DailyQuery::ActiveUsers(customer_filter(segment)), periods)?;
            rows.iter().map(|r| r[0]).collect()
        }
    };
    Ok(periods
        .iter()
        .zip(totals)
        .map(|(p, t)| t / ((last_day(eng, p) - p.start).num_days() + 1).max(1) as f64)
        .collect())
}

fn wau(
    eng: &Engine<'_>,
    periods: &[Period],
    segment: Option<&Segment>,
) -> Result<Vec<f64>, MetricError> {
    if periods.first().is_some_and(|p| p.grain == Grain::Week) {
        active_users(eng, periods, segment)
    } else {
        trailing_users(eng, periods, 7, segment)
    }
}

fn mau(
    eng: &Engine<'_>,
    periods: &[Period],
    segment: Option<&Segment>,
) -> Result<Vec<f64>, MetricError> {
    if periods.first().is_some_and(|p| p.grain == Grain::Month) {
        active_users(eng, periods, segment)
    } else {
        trailing_users(eng, periods, 30, segment)
    }
}

/// Per-day event totals: events, sessions, page_views, pv_sessions, bounced, duration.
fn day_totals(eng: &Engine<'_>, periods: &[Period]) -> Result<Vec<Vec<f64>>, MetricError> {
    eng.sums(&DailyQuery::EventTotals, periods)
}

fn values(v: Vec<f64>) -> Vec<Cell> {
    v.into_iter().map(Cell::value).collect()
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
    match metric {
        MetricId::Dau => Ok(values(dau(eng, periods, segment)?)),
        MetricId::Wau => Ok(values(wau(eng, periods, segment)?)),
        MetricId::Mau => Ok(values(mau(eng, periods, segment)?)),
        MetricId::StickinessPct => {
            let d = dau(eng, periods, segment)?;
            let m = mau(eng, periods, segment)?;
            Ok(d.iter()
                .zip(m)
                .map(|(d, m)| Cell::ratio(*d, m, 100.0, "no active users"))
                .collect())
        }
        MetricId::SessionsPerUser => {
            let users = active_users(eng, periods, segment)?;
            let sessions: Vec<f64> = match segment {
                None => day_totals(eng, periods)?.iter().map(|r| r[1]).collect(),
                Some(_) => eng
                    .sums(&DailyQuery::UserSessions(customer_filter(segment)), periods)?
                    .iter()
                    .map(|r| r[0])
                    .collect(),
            };
            Ok(sessions
                .iter()
                .zip(users)
                .map(|(s, u)| Cell::ratio(*s, u, 1.0, "no active users"))
                .collect())
        }
        MetricId::AvgSessionDurationS => Ok(day_totals(eng, periods)?
            .iter()
            .map(|r| Cell::ratio(r[5], r[1], 1.0, "no sessions"))
            .collect()),
        MetricId::BounceRatePct => Ok(day_totals(eng, periods)?
            .iter()
            .map(|r| Cell::ratio(r[4], r[3], 100.0, "no sessions with page views"))
            .collect()),
        MetricId::PageViews => Ok(day_totals(eng, periods)?
            .iter()
            .map(|r| Cell::value(r[2]))
            .collect()),
        MetricId::FeatureAdoptionPct => {
            let users = active_users(eng, periods, None)?;
            let grain = periods.first().map_or(Grain::Day, |p| p.grain);
            let kind = format!("adopters_{grain}");
            let adopters = match segment {
                None => super::distinct_cached(eng, &kind, periods)?,
                // Users of the feature per period, from `ru_feature_distinct`.
                Some(s) => {
                    let query = DailyQuery::FeatureDistinct {
                        kind,
                        feature: s.value.clone(),
                    };
                    let days: Vec<NaiveDate> = periods.iter().map(|p| p.start).collect();
                    super::keyed_cached_at(eng, &query, &days)?
                }
            };
            Ok(adopters
                .iter()
                .zip(users)
                .map(|(a, u)| Cell::ratio(*a, u, 100.0, "no active users"))
                .collect())
        }
        MetricId::TimeToValueH => time_to_value(eng, periods, segment),
        _ => Err(MetricError::UnknownMetric(id.to_string())),
    }
}

/// Median hours from signup (midnight of signup_date in the configured time zone) to the
/// first activation event, of users whose first activation falls in each period. The
/// firsts come from `ru_first_event` (each user's earliest day and instant per event
/// name), which a synced store holds too.
fn time_to_value(
    eng: &Engine<'_>,
    periods: &[Period],
    segment: Option<&Segment>,
) -> Result<Vec<Cell>, MetricError> {
    let activations = eng
        .store
        .first_activations(&eng.config.activation_event, &customer_filter(segment))?;
    let tz = eng.config.tz();
    let mut hours: Vec<Vec<f64>> = vec![Vec::new(); periods.len()];
    for activation in activations {
        let (Ok(day), Ok(ts), Ok(signup)) = (
            NaiveDate::parse_from_str(&activation.day, "%Y-%m-%d"),
            chrono::DateTime::parse_from_rfc3339(&activation.ts),
            NaiveDate::parse_from_str(&activation.signup_date, "%Y-%m-%d"),
        ) else {
            continue;
        };
        let Some(i) = periods.iter().position(|p| p.contains(day)) else {
            continue;
        };
        let Some(start) = signup
            .and_hms_opt(0, 0, 0)
            .and_then(|t| t.and_local_timezone(tz).earliest())
        else {
            continue;
        };
        let h = (ts.with_timezone(&chrono::Utc) - start.with_timezone(&chrono::Utc)).num_seconds()
            as f64
            / 3600.0;
        hours[i].push(h);
    }
    Ok(hours
        .iter_mut()
        .map(|h| match super::median(h) {
            Some(m) => Cell::value(m),
            None => Cell::note("n/a: no activations"),
        })
        .collect())
}
