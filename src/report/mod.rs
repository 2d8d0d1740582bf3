//! `kpi report`: the headless readout of every KPI — the weekly or monthly review a
//! product manager pastes into a team channel (markdown), sends on as one page with
//! charts (HTML), feeds to scripts (JSON, whose shape is a documented contract) or opens
//! in a spreadsheet (CSV).
//!
//! [`build`] reads a [`Report`] from the store's [`Snapshot`] — what the cockpit shows —
//! and the writers only format it.

mod csv_out;
mod html;
mod json;
mod markdown;

use chrono::{DateTime, NaiveDate, Utc};

use crate::alerts::{Alert, TargetStatus};
use crate::config::{Config, Target};
use crate::metrics::{
    CohortMatrix, CohortVariant, Engine, Grain, MetricDef, MetricError, Period, Point, Segment,
    Series, SeriesRequest,
};
use crate::present::Change;
use crate::snapshot::{Annotation, Snapshot};
use crate::store::Store;
use crate::store::status::{ReferenceDate, TableStatus};

pub use csv_out::write_csv;
pub use html::to_html;
pub use json::to_json;
pub use markdown::to_markdown;

/// What to report on.
#[derive(Debug, Clone)]
pub struct ReportOptions {
    pub grain: Grain,
    /// Only these metric ids (empty: every metric).
    pub metrics: Vec<String>,
    /// Also break every metric that supports it down by this dimension.
    pub by: Option<String>,
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    /// The period to report on (`2025-06`, `2025-W23`, `2025-06-01`); default the latest
    /// complete one.
    pub period: Option<Period>,
    /// Reference date override (`--as-of`).
    pub as_of: Option<NaiveDate>,
}

impl ReportOptions {
    pub fn new(grain: Grain) -> Self {
        Self {
            grain,
            metrics: Vec::new(),
            by: None,
            from: None,
            to: None,
            period: None,
            as_of: None,
        }
    }
}

/// Periods shown by default: the current one and a year (or quarter, or two weeks) back.
fn default_periods(grain: Grain) -> usize {
    match grain {
        Grain::Day => 14,
        Grain::Week => 13,
        Grain::Month => 13,
    }
}

/// One metric (overall or one segment) over the reported periods.
#[derive(Debug, Clone)]
pub struct MetricReport {
    pub def: MetricDef,
    pub category: &'static str,
    pub segment: Option<Segment>,
    pub points: Vec<Point>,
}

impl MetricReport {
    pub fn point(&self, period: Period) -> Option<&Point> {
        self.points.iter().find(|p| p.period == period)
    }

    /// The change into `period` from the one before, as every output expresses it; none
    /// for a partial period, which is shown to date and never compared with full ones.
    pub fn change_into(&self, period: Period) -> Option<Change> {
        let now = self.point(period).filter(|p| !p.partial)?;
        let before = self.point(period.prev())?;
        Change::between(self.def.unit, before.value, now.value)
    }
}

#[derive(Debug, Clone)]
pub struct Report {
    pub store: String,
    pub generated_at: DateTime<Utc>,
    /// `None` for a store without data.
    pub as_of: Option<NaiveDate>,
    pub grain: Grain,
    /// The period the readout is about: the latest complete one, or `--period`.
    pub focus: Option<Period>,
    /// The period holding the reference date when it is partial (shown as "to date").
    pub partial: Option<Period>,
    pub currency: String,
    pub metrics: Vec<MetricReport>,
    pub cohorts: Vec<CohortMatrix>,
    pub alerts: Vec<Alert>,
    pub targets: Vec<TargetStatus>,
    pub configured_targets: Vec<Target>,
    /// The overview's KPIs, in the configured order (the readout's headline tiles).
    pub core_kpis: Vec<String>,
    pub annotations: Vec<Annotation>,
    /// The latest recorded fact and where it is: how fresh the data is.
    pub reference: Option<ReferenceDate>,
    /// Every data table's rows, date range and last import.
    pub tables: Vec<TableStatus>,
}

impl Report {
    /// The alerts a readout lists: every one not acknowledged.
    pub fn open_alerts(&self) -> Vec<&Alert> {
        self.alerts.iter().filter(|a| !a.acknowledged).collect()
    }

    /// The cohort matrix a readout shows: the first variant with data among purchasing
    /// customers, active users and subscribers (revenue retention reads differently).
    pub fn headline_cohorts(&self) -> Option<&CohortMatrix> {
        self.cohorts
            .iter()
            .filter(|m| m.variant != CohortVariant::RevenueRetention)
            .find(|m| !m.rows.is_empty())
    }
}

/// What a cohort matrix counts, for its title.
pub fn cohort_title(variant: CohortVariant) -> &'static str {
    match variant {
        CohortVariant::PurchasingCustomers => "purchasing customers",
        CohortVariant::ActiveUsers => "active users",
        CohortVariant::SubscribedCustomers => "subscribed customers",
        CohortVariant::RevenueRetention => "revenue retention",
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error(transparent)]
    Metric(#[from] MetricError),
    #[error("--metric: {0} (see the metric ids in the README or `kpi report --format csv`)")]
    UnknownMetric(String),
    #[error("--by: {0} (no metric breaks down that way)")]
    UnknownDimension(String),
    #[error("bad period {0:?}: use 2025-06, 2025-W23 or 2025-06-01")]
    BadPeriod(String),
    #[error("--from {from} is after --to {to}")]
    BadRange { from: NaiveDate, to: NaiveDate },
}

pub fn parse_period(text: &str, grain: Grain) -> Result<Period, ReportError> {
    let parsed = Period::parse(text).ok_or_else(|| ReportError::BadPeriod(text.into()))?;
    // A month asked for at week grain means the week holding its last day, and so on.
    Ok(if parsed.grain == grain {
        parsed
    } else {
        Period::containing(grain, parsed.end())
    })
}

/// The readout of the store: its [`Snapshot`] — the same metrics, alerts, targets,
/// cohorts and data status the cockpit shows — over the periods `options` asks for.
pub fn build(
    store: &Store,
    config: &Config,
    options: &ReportOptions,
) -> Result<Report, ReportError> {
    let snapshot = crate::snapshot::build(store, config, options.as_of)?;
    from_snapshot(store, &snapshot, options)
}

/// The readout of `snapshot`. Series it holds are read from it; the store is read only
/// for what it does not hold: periods before its history and `--by` breakdowns.
pub fn from_snapshot(
    store: &Store,
    snapshot: &Snapshot,
    options: &ReportOptions,
) -> Result<Report, ReportError> {
    let config = &snapshot.config;
    let as_of = snapshot.as_of;
    let mut report = Report {
        store: store.path().display().to_string(),
        generated_at: Utc::now(),
        as_of,
        grain: options.grain,
        focus: None,
        partial: None,
        currency: config.currency.clone(),
        metrics: Vec::new(),
        cohorts: Vec::new(),
        alerts: Vec::new(),
        targets: Vec::new(),
        configured_targets: config.targets.clone(),
        core_kpis: config.core_kpis.clone(),
        annotations: snapshot.annotations.clone(),
        reference: snapshot.data.reference,
        tables: snapshot.data.tables.clone(),
    };
    let engine = Engine::new(store, config, as_of.unwrap_or(NaiveDate::MIN));
    let catalog = &snapshot.metrics;
    let ids: Vec<&str> = catalog.iter().map(|m| m.id.as_ref()).collect();
    for id in &options.metrics {
        if !ids.contains(&id.as_str()) {
            return Err(ReportError::UnknownMetric(crate::metric_ids::unknown(
                "metric", id, &ids,
            )));
        }
    }
    let Some(as_of) = as_of else {
        return Ok(report);
    };
    let grain = options.grain;
    let to = options
        .period
        .map(|p| p.end())
        .or(options.to)
        .unwrap_or(as_of)
        .min(as_of);
    let last = Period::containing(grain, to);
    let from = options.from.unwrap_or_else(|| {
        last.trailing(default_periods(grain))
            .first()
            .map_or(to, |p| p.start)
    });
    if from > to {
        return Err(ReportError::BadRange { from, to });
    }
    let current = Period::containing(grain, as_of);
    let current_partial = current.end() != as_of;
    report.partial = (current_partial && last == current).then_some(current);
    report.focus = Some(match options.period {
        Some(p) => p,
        None if report.partial.is_some() => last.prev(),
        None => last,
    });
    let selected: Vec<&MetricDef> = catalog
        .iter()
        .filter(|m| options.metrics.is_empty() || options.metrics.iter().any(|id| *id == m.id))
        .collect();
    let mut broken_down = false;
    for def in selected.iter().copied() {
        let mut request = SeriesRequest {
            metric: &def.id,
            grain,
            from,
            to,
            by: None,
        };
        let mut all = match held(snapshot, def, grain, from, to) {
            Some(series) => vec![series],
            None => engine.series(&request)?,
        };
        if let Some(by) = options.by.as_deref() {
            request.by = Some(by);
            match engine.series(&request) {
                Ok(segments) => {
                    broken_down |= !segments.is_empty();
                    all.extend(segments);
                }
                // Metrics without that dimension are reported overall only.
                Err(MetricError::UnknownDimension { .. }) => {}
                Err(e) => return Err(e.into()),
            }
        }
        for series in all {
            report.metrics.push(MetricReport {
                def: def.clone(),
                category: def.section.title(),
                segment: series.segment,
                points: series.points,
            });
        }
    }
    if let Some(by) = options.by.as_deref()
        && !broken_down
    {
        // Silently reporting overall figures would read as if the breakdown were done.
        let mut dimensions: Vec<&str> = selected
            .iter()
            .flat_map(|d| d.segments.iter().copied())
            .filter(|d| *d != "attributes")
            .collect();
        dimensions.sort_unstable();
        dimensions.dedup();
        let mut reason = crate::metric_ids::unknown("dimension", by, &dimensions);
        if !reason.ends_with('?') {
            reason.push_str(&format!(
                "; try {} or a customer attribute the store holds",
                dimensions.join(", ")
            ));
        }
        return Err(ReportError::UnknownDimension(reason));
    }
    report.cohorts = snapshot.cohorts.clone();
    report.alerts = snapshot.alerts.clone();
    report.targets = snapshot.targets.clone();
    Ok(report)
}

/// The snapshot's overall series of `def` at `grain`, cut to the periods from the one
/// holding `from` to the one holding `to`, when it holds every one of them.
fn held(
    snapshot: &Snapshot,
    def: &MetricDef,
    grain: Grain,
    from: NaiveDate,
    to: NaiveDate,
) -> Option<Series> {
    let series = snapshot.series(&def.id, grain)?;
    let first = Period::containing(grain, from);
    let last = Period::containing(grain, to);
    if series.points.first()?.period > first || series.points.last()?.period < last {
        return None;
    }
    let mut cut = series.clone();
    cut.points.retain(|p| p.period >= first && p.period <= last);
    Some(cut)
}
