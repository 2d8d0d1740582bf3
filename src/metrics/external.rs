//! External metrics: KPIs computed elsewhere and imported into the `metrics` table,
//! shown like built-in ones. A period's value is the one on its latest date (a KPI
//! computed elsewhere is a level, not something kpi may add up).

use super::engine::{Cell, Engine};
use super::{MetricDef, MetricError, Period, Segment};
use crate::store::Store;
use crate::store::metric_queries::DailyQuery;

pub fn definitions(store: &Store) -> Result<Vec<MetricDef>, MetricError> {
    let names = store.external_metric_names()?;
    Ok(names
        .into_iter()
        .map(|name| {
            // An external metric never shadows a built-in one.
            let id = if super::catalog::built_in(&name).is_some() {
                format!("external.{name}")
            } else {
                name.clone()
            };
            super::catalog::external(id, name)
        })
        .collect())
}

pub fn compute(
    eng: &Engine<'_>,
    id: &str,
    periods: &[Period],
    segment: Option<&Segment>,
) -> Result<Vec<Cell>, MetricError> {
    let def = eng.definition(id)?;
    // A built-in id is never read from the `metrics` table, even when asked here.
    if def.module != super::catalog::Module::External {
        return Err(MetricError::UnknownMetric(id.to_string()));
    }
    let name = def.name.to_string();
    let (Some(first), Some(last)) = (periods.first(), periods.last()) else {
        return Ok(Vec::new());
    };
    let query = DailyQuery::External {
        metric: name,
        segment: segment.map(|s| s.value.clone()).unwrap_or_default(),
    };
    let rows = eng.daily(&query, first.start, last.end())?;
    Ok(periods
        .iter()
        .map(|p| {
            rows.iter().rev().find(|(d, _)| p.contains(*d)).map_or_else(
                || Cell::note("n/a: no value this period"),
                |(_, v)| Cell::value(v[0]),
            )
        })
        .collect())
}
