//! External metrics: KPIs computed elsewhere and imported into the `metrics` table,
//! shown like built-in ones. A period's value is the one on its latest date (a KPI
//! computed elsewhere is a level, not something kpi may add up).

use rusqlite::types::Value as SqlValue;

use super::engine::{Cell, Engine};
use super::{MetricDef, MetricError, Period, Segment};
use crate::store::Store;

pub fn definitions(store: &Store) -> Result<Vec<MetricDef>, MetricError> {
    let mut stmt = store
        .conn()
        .prepare("SELECT DISTINCT metric FROM metrics ORDER BY metric")?;
    let names: Vec<String> = stmt
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
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
    let rows = eng.daily(
        "SELECT date, value FROM metrics
         WHERE date BETWEEN ?1 AND ?2 AND metric = ?3 AND segment = ?4 ORDER BY date",
        first.start,
        last.end(),
        &[
            SqlValue::Text(name),
            SqlValue::Text(segment.map(|s| s.value.clone()).unwrap_or_default()),
        ],
    )?;
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
