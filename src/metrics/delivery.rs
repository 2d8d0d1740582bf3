//! Delivery and quality: work items and support tickets (small tables, read whole).

use chrono::{DateTime, NaiveDate, Utc};

use super::engine::{Cell, Engine};
use super::{MetricError, MetricId, Period, Segment};

struct Item {
    kind: String,
    created: Option<NaiveDate>,
    committed: Option<NaiveDate>,
    delivered: Option<NaiveDate>,
    points: f64,
    found: Option<String>,
}

struct Ticket {
    day: NaiveDate,
    opened: DateTime<Utc>,
    first_response: Option<DateTime<Utc>>,
    resolved: Option<DateTime<Utc>>,
    severity: String,
}

fn date(s: Option<String>) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(s?.get(..10)?, "%Y-%m-%d").ok()
}

fn instant(s: Option<String>) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(&s?)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

fn items(eng: &Engine<'_>) -> Result<Vec<Item>, MetricError> {
    Ok(eng
        .store
        .work_items()?
        .into_iter()
        .map(|r| Item {
            kind: r.kind,
            created: date(r.created_date),
            committed: date(r.committed_date),
            delivered: date(r.delivered_date),
            points: r.points.unwrap_or(0.0),
            found: r.found,
        })
        .collect())
}

fn tickets(eng: &Engine<'_>) -> Result<Vec<Ticket>, MetricError> {
    let rows = eng.store.tickets()?.into_iter().map(|r| {
        (
            date(r.opened_day),
            instant(r.opened_at),
            instant(r.first_response_at),
            instant(r.resolved_at),
            r.severity,
        )
    });
    let mut out = Vec::new();
    for row in rows {
        if let (Some(day), Some(opened), first_response, resolved, severity) = row {
            out.push(Ticket {
                day,
                opened,
                first_response,
                resolved,
                severity,
            });
        }
    }
    Ok(out)
}

fn in_period(p: &Period, d: Option<NaiveDate>) -> bool {
    d.is_some_and(|d| p.contains(d))
}

fn median_cell(mut values: Vec<f64>, why: &str) -> Cell {
    match super::median(&mut values) {
        Some(m) => Cell::value(m),
        None => Cell::note(format!("n/a: {why}")),
    }
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
    if matches!(
        metric,
        MetricId::TicketsOpened | MetricId::FirstResponseH | MetricId::ResolutionH
    ) {
        let all = tickets(eng)?;
        let hours = |a: DateTime<Utc>, b: DateTime<Utc>| (b - a).num_seconds() as f64 / 3600.0;
        return Ok(periods
            .iter()
            .map(|p| {
                let mine = all
                    .iter()
                    .filter(|t| p.contains(t.day))
                    .filter(|t| segment.is_none_or(|s| s.value == t.severity));
                match metric {
                    MetricId::TicketsOpened => Cell::value(mine.count() as f64),
                    MetricId::FirstResponseH => median_cell(
                        mine.filter_map(|t| Some(hours(t.opened, t.first_response?)))
                            .collect(),
                        "no responded tickets",
                    ),
                    _ => median_cell(
                        mine.filter_map(|t| Some(hours(t.opened, t.resolved?)))
                            .collect(),
                        "no resolved tickets",
                    ),
                }
            })
            .collect());
    }
    let all = items(eng)?;
    let mut out = Vec::with_capacity(periods.len());
    for p in periods {
        let delivered: Vec<&Item> = all.iter().filter(|i| in_period(p, i.delivered)).collect();
        let cell = match metric {
            MetricId::OnTimeDeliveryPct => {
                let committed: Vec<_> =
                    delivered.iter().filter(|i| i.committed.is_some()).collect();
                let on_time = committed
                    .iter()
                    .filter(|i| i.delivered <= i.committed)
                    .count();
                Cell::ratio(
                    on_time as f64,
                    committed.len() as f64,
                    100.0,
                    "no committed items delivered",
                )
            }
            MetricId::Velocity => Cell::value(delivered.iter().map(|i| i.points).sum()),
            MetricId::FeaturesReleased => {
                Cell::value(delivered.iter().filter(|i| i.kind == "feature").count() as f64)
            }
            MetricId::TimeToMarketD => median_cell(
                delivered
                    .iter()
                    .filter(|i| i.kind == "feature")
                    .filter_map(|i| Some((i.delivered? - i.created?).num_days() as f64))
                    .collect(),
                "no features delivered",
            ),
            MetricId::DefectDetectionPct => {
                let bugs: Vec<_> = all
                    .iter()
                    .filter(|i| i.kind == "bug" && in_period(p, i.created) && i.found.is_some())
                    .collect();
                let pre = bugs
                    .iter()
                    .filter(|i| i.found.as_deref() == Some("pre_release"))
                    .count();
                Cell::ratio(pre as f64, bugs.len() as f64, 100.0, "no bugs found")
            }
            MetricId::Spi => {
                let committed: Vec<_> = all.iter().filter(|i| in_period(p, i.committed)).collect();
                let planned: f64 = committed.iter().map(|i| i.points).sum();
                let earned: f64 = committed
                    .iter()
                    .filter(|i| i.delivered.is_some() && i.delivered <= i.committed)
                    .map(|i| i.points)
                    .sum();
                Cell::ratio(earned, planned, 1.0, "no points committed")
            }
            _ => return Err(MetricError::UnknownMetric(id.to_string())),
        };
        out.push(cell);
    }
    Ok(out)
}
