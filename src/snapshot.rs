//! Everything one screen or one report shows, computed once from the store.
//! Views and report writers only read a `Snapshot`; they never touch SQL.

use std::path::PathBuf;

use chrono::NaiveDate;

use crate::alerts::{self, Alert, Evaluation, Pulse, TargetStatus};
use crate::config::Config;
use crate::metrics::{
    self, CohortMatrix, CohortVariant, Engine, Grain, MetricDef, MetricError, MetricId, Period,
    Series, SeriesRequest,
};
use crate::store::Store;
use crate::store::rollup::Touched;
use crate::store::status::{ImportLogEntry, ReferenceDate, RejectEntry, TableStatus};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Annotation {
    pub date: NaiveDate,
    pub label: String,
}

/// The state of the data itself, for the Data pane.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DataStatus {
    /// Today so far against the same weekday a week before, hour by hour.
    pub launch: Option<LaunchDay>,
    pub tables: Vec<TableStatus>,
    /// Newest first.
    pub imports: Vec<ImportLogEntry>,
    /// Newest first.
    pub rejects: Vec<RejectEntry>,
    /// Rejected rows the store holds, each file's counted once however often it was read.
    pub rejected_rows: u64,
    /// The latest recorded fact, and which table and column it is in: what sets the
    /// reference date unless `--as-of` does.
    pub reference: Option<ReferenceDate>,
    /// The customer attributes the store holds (e.g. `company_size`, `industry`), which
    /// segments can be broken down by besides channel, plan and region.
    pub customer_attributes: Vec<String>,
}

#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    pub store: PathBuf,
    /// The reference date (SPEC §3): the latest date in the data, or `--as-of`.
    /// `None` for an empty store.
    pub as_of: Option<NaiveDate>,
    pub config: Config,
    /// The catalog, built-in metrics first, then external ones.
    pub metrics: Vec<MetricDef>,
    /// Every metric at every grain, overall, over the configured time frame.
    pub series: Vec<Series>,
    /// One matrix per cohort variant.
    pub cohorts: Vec<CohortMatrix>,
    /// Open and acknowledged alerts, strong first.
    pub alerts: Vec<Alert>,
    pub pulses: Vec<(String, Pulse)>,
    pub targets: Vec<TargetStatus>,
    pub annotations: Vec<Annotation>,
    pub data: DataStatus,
}

impl Snapshot {
    pub fn metric(&self, id: &str) -> Option<&MetricDef> {
        self.metrics.iter().find(|m| m.id == id)
    }

    pub fn series(&self, metric: &str, grain: Grain) -> Option<&Series> {
        self.series
            .iter()
            .find(|s| s.metric == metric && s.grain == grain && s.segment.is_none())
    }

    pub fn pulse(&self, metric: &str) -> Option<Pulse> {
        self.pulses
            .iter()
            .find(|(id, _)| id == metric)
            .map(|(_, p)| *p)
    }
}

/// The most periods a chart shows (the cockpit's longest range). The snapshot holds that
/// many at every grain, plus the periods before the first one that its rolling means need,
/// so whatever range is picked is drawn in full where the data reaches back that far.
pub const LONGEST_RANGE: usize = 104;
/// Days of history at day grain, at least.
pub const DAY_HISTORY: i64 = 90;
/// Months of history at month grain, at least: two years, so a year-over-year comparison
/// and the 12-month mean of the Trends pane both have data.
pub const MONTH_HISTORY: u32 = 24;

/// The first day of the history held at `grain`, as of `as_of`: the longest range plus the
/// alert window (so its first period has a rolling mean), and never less than 90 days, the
/// configured time frame in weeks plus the window, or 24 months.
pub fn history_start(grain: Grain, config: &Config, as_of: NaiveDate) -> NaiveDate {
    let window = config.alerts.window;
    let longest = i64::try_from(LONGEST_RANGE + window).unwrap_or(i64::MAX);
    match grain {
        Grain::Day => as_of - chrono::Duration::days(longest.max(DAY_HISTORY) - 1),
        Grain::Week => {
            let weeks = (i64::from(config.time_frame_weeks) + window as i64).max(longest);
            as_of - chrono::Duration::weeks(weeks - 1)
        }
        Grain::Month => {
            let months = u32::try_from(longest)
                .unwrap_or(u32::MAX)
                .max(MONTH_HISTORY);
            as_of
                .checked_sub_months(chrono::Months::new(months - 1))
                .unwrap_or(as_of)
        }
    }
}

/// Computes a snapshot of the store as of `as_of` (default: its reference date):
/// every metric, cohorts, data status, and the alert evaluation.
pub fn build(
    store: &Store,
    config: &Config,
    as_of: Option<NaiveDate>,
) -> Result<Snapshot, MetricError> {
    let mut snapshot = build_metrics(store, config, as_of)?;
    let evaluation = evaluate_alerts(store, &snapshot)?;
    snapshot.apply(evaluation);
    Ok(snapshot)
}

/// Everything but the alert evaluation (alerts, pulses, targets stay empty). Alerts
/// break every metric down by every segment, which costs far more than the metrics
/// themselves; the cockpit shows fresh metrics first and the alerts when they follow.
pub fn build_metrics(
    store: &Store,
    config: &Config,
    as_of: Option<NaiveDate>,
) -> Result<Snapshot, MetricError> {
    build_scoped(store, config, as_of, Scope::Everything)
}

/// Only what the Overview shows first: the core KPIs at every grain and data status —
/// no other metric, no cohorts, no alerts. On a 10 M-order store this is ready well within
/// the 500 ms of SPEC §8; `build_metrics` and the alerts follow for the other panes.
pub fn build_overview(
    store: &Store,
    config: &Config,
    as_of: Option<NaiveDate>,
) -> Result<Snapshot, MetricError> {
    build_scoped(store, config, as_of, Scope::Overview)
}

/// Tables whose rows decide cohort membership or activity.
/// The tables a cohort matrix is counted from: its activity, and signups.
fn cohort_sources(variant: CohortVariant) -> [&'static str; 2] {
    let activity = match variant {
        CohortVariant::PurchasingCustomers | CohortVariant::RevenueRetention => "orders",
        CohortVariant::ActiveUsers => "events",
        CohortVariant::SubscribedCustomers => "subscriptions",
    };
    [activity, "customers"]
}

/// The metrics after an import, recomputing only what it can have changed (SPEC §7): the
/// metrics that read a touched table, and the cohorts when activity changed; everything
/// else is taken from `previous`. When the reference date moved (a new day began), period
/// boundaries and partial flags shift, so everything is rebuilt.
///
/// Of an affected metric, only the periods from the one holding the earliest touched day on
/// are recomputed: every metric looks back (trailing windows, "active at the start"),
/// never forward, so earlier periods cannot change.
pub fn refresh_metrics(
    store: &Store,
    config: &Config,
    as_of: Option<NaiveDate>,
    previous: &Snapshot,
    touched: &Touched,
) -> Result<Snapshot, MetricError> {
    let found = latest_fact(store)?;
    let reference = as_of.or(found.as_ref().map(|r| r.date));
    let Some(as_of) = reference.filter(|d| Some(*d) == previous.as_of) else {
        return build_metrics(store, config, as_of);
    };
    let engine = Engine::new(store, config, as_of);
    let fitted = with_default_core_kpis_fitted(config, &engine)?;
    let catalog = engine.catalog()?;
    if catalog != previous.metrics || fitted != previous.config {
        return build_metrics(store, config, Some(as_of));
    }
    let mut snapshot = previous.clone();
    for series in &mut snapshot.series {
        let Some(def) = catalog.iter().find(|d| d.id == series.metric) else {
            continue;
        };
        let Some(earliest) = touched.earliest_of(def.reads) else {
            continue;
        };
        let history = history_start(series.grain, &fitted, as_of);
        let from = Period::containing(series.grain, earliest.max(history)).start;
        let fresh = engine.series(&SeriesRequest {
            metric: &def.id,
            grain: series.grain,
            from,
            to: as_of,
            by: None,
        })?;
        if let Some(fresh) = fresh.into_iter().next() {
            series.points.retain(|p| p.period.start < from);
            series.points.extend(fresh.points);
        }
    }
    for cohort in &mut snapshot.cohorts {
        if cohort_sources(cohort.variant)
            .iter()
            .any(|t| touched.touches(t))
        {
            *cohort = engine.cohorts(cohort.variant)?;
        }
    }
    if touched.touches("annotations") {
        snapshot.annotations = annotations(store)?;
    }
    snapshot.data = data_status(store, found)?;
    snapshot.data.launch = launch_day(store, config)?;
    Ok(snapshot)
}

/// The alert evaluation (alerts, pulses, targets) of a snapshot's reference date. A store
/// without data still has its failed imports to report, judged as of today.
pub fn evaluate_alerts(store: &Store, snapshot: &Snapshot) -> Result<Evaluation, MetricError> {
    evaluate_alerts_since(store, snapshot, None)
}

/// [`evaluate_alerts`] after live imports: with `since`, keeps from its previous evaluation
/// (as of the same date) what the days written since cannot change.
pub fn evaluate_alerts_since(
    store: &Store,
    snapshot: &Snapshot,
    since: Option<alerts::Since<'_>>,
) -> Result<Evaluation, MetricError> {
    let as_of = snapshot
        .as_of
        .unwrap_or_else(|| chrono::Local::now().date_naive());
    alerts::evaluate_since(store, &snapshot.config, as_of, &snapshot.metrics, since)
}

impl Snapshot {
    /// Takes in an alert evaluation (from `evaluate_alerts`).
    pub fn apply(&mut self, evaluation: Evaluation) {
        self.alerts = evaluation.alerts;
        self.pulses = evaluation.pulses;
        self.targets = evaluation.targets;
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scope {
    Overview,
    Everything,
}

fn build_scoped(
    store: &Store,
    config: &Config,
    as_of: Option<NaiveDate>,
    scope: Scope,
) -> Result<Snapshot, MetricError> {
    let found = latest_fact(store)?;
    let as_of = as_of.or(found.as_ref().map(|r| r.date));
    let mut data = data_status(store, found)?;
    data.launch = launch_day(store, config)?;
    let annotations = annotations(store)?;
    let Some(as_of) = as_of else {
        return Ok(Snapshot {
            store: store.path().to_path_buf(),
            config: config.clone(),
            metrics: metrics::catalog(store)?,
            annotations,
            data,
            ..Snapshot::default()
        });
    };
    let engine = Engine::new(store, config, as_of);
    let config = &with_default_core_kpis_fitted(config, &engine)?;
    let catalog = engine.catalog()?;
    // Core KPIs first: they are what the overview shows.
    let is_core = |m: &MetricDef| config.core_kpis.iter().any(|k| *k == m.id);
    let mut order: Vec<&MetricDef> = catalog
        .iter()
        .filter(|m| scope == Scope::Everything || is_core(m))
        .collect();
    order.sort_by_key(|m| !is_core(m));
    let mut series = Vec::with_capacity(catalog.len() * Grain::ALL.len());
    for grain in Grain::ALL {
        let from = held_from(grain, config, as_of, &data);
        for def in &order {
            series.extend(engine.series(&SeriesRequest {
                metric: &def.id,
                grain,
                from,
                to: as_of,
                by: None,
            })?);
        }
    }
    let cohorts = match scope {
        Scope::Overview => Vec::new(),
        Scope::Everything => ALL_COHORT_VARIANTS
            .into_iter()
            .map(|variant| engine.cohorts(variant))
            .collect::<Result<Vec<_>, _>>()?,
    };
    Ok(Snapshot {
        store: store.path().to_path_buf(),
        as_of: Some(as_of),
        config: config.clone(),
        metrics: catalog,
        series,
        cohorts,
        annotations,
        data,
        ..Snapshot::default()
    })
}

/// Where a snapshot's series start: [`history_start`], but not before the period of the
/// store's first recorded fact — periods before it hold zeros, not history, and a chart
/// drawing them would show a range the data does not have.
fn held_from(grain: Grain, config: &Config, as_of: NaiveDate, data: &DataStatus) -> NaiveDate {
    let history = history_start(grain, config, as_of);
    let first_fact = data
        .tables
        .iter()
        .filter(|t| t.table != "annotations")
        .filter_map(|t| t.first_date)
        .min();
    match first_fact {
        Some(first) if first <= as_of => history.max(Period::containing(grain, first).start),
        _ => history,
    }
}

const ALL_COHORT_VARIANTS: [CohortVariant; 4] = [
    CohortVariant::PurchasingCustomers,
    CohortVariant::ActiveUsers,
    CohortVariant::SubscribedCustomers,
    CohortVariant::RevenueRetention,
];

/// Today so far against the same weekday a week before at the same time, and both days
/// hour by hour in the configured time zone: what a product manager watches on a launch
/// day. "Now" is the latest event's time — the data's clock, which a replayed feed
/// (`kpi demo --live`) sets too. Hours come from events, the table whose rows carry a
/// timestamp (orders, refunds and surveys carry a date only).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LaunchDay {
    pub day: NaiveDate,
    pub now: chrono::NaiveTime,
    /// Events per local hour, today so far and the whole day a week before.
    pub today: [u64; 24],
    pub last_week: [u64; 24],
    /// Events and distinct users so far today, and a week before until the same time.
    pub events_today: u64,
    pub events_last_week: u64,
    pub users_today: u64,
    pub users_last_week: u64,
}

fn launch_day(store: &Store, config: &Config) -> Result<Option<LaunchDay>, MetricError> {
    use chrono::{DateTime, TimeZone, Timelike, Utc};
    let Some(day) = store.latest_event_day()? else {
        return Ok(None);
    };
    let today = store.day_events(day, None)?;
    let Some(latest) = today.latest.as_deref() else {
        return Ok(None);
    };
    let tz = config.tz();
    // Import stores event times as RFC 3339 UTC; anything else has no launch view.
    let Ok(now) = DateTime::parse_from_rfc3339(latest) else {
        return Ok(None);
    };
    let now = now.with_timezone(&Utc);
    let local = now.with_timezone(&tz);
    // The same wall-clock time a week before (a clock change in between moves it an hour).
    let week_before = tz
        .from_local_datetime(&(local.naive_local() - chrono::Duration::days(7)))
        .earliest()
        .map_or(now - chrono::Duration::days(7), |t| t.with_timezone(&Utc));
    let before_day = day - chrono::Duration::days(7);
    let before = store.day_events(
        before_day,
        Some(&crate::import::fields::format_utc(week_before)),
    )?;
    let by_local_hour = |hours: &[(&str, u64)]| {
        let mut out = [0u64; 24];
        for (hour, count) in hours {
            let start = chrono::NaiveDateTime::parse_from_str(
                &format!("{hour}:00:00"),
                "%Y-%m-%dT%H:%M:%S",
            );
            if let Ok(start) = start {
                let local_hour = Utc.from_utc_datetime(&start).with_timezone(&tz).hour();
                out[local_hour as usize % 24] += count;
            }
        }
        out
    };
    Ok(Some(LaunchDay {
        day,
        now: local.time(),
        today: by_local_hour(&today.by_hour(false)),
        last_week: by_local_hour(&before.by_hour(false)),
        events_today: today.count(false),
        events_last_week: before.count(true),
        users_today: today.users_until,
        users_last_week: before.users_until,
    }))
}

/// The reference date of SPEC §3 by today's clock, with where it was read: read once a
/// snapshot, for the metrics' date and the Data pane's line alike.
fn latest_fact(store: &Store) -> Result<Option<ReferenceDate>, MetricError> {
    metrics::reference(store, chrono::Local::now().date_naive())
}

fn data_status(store: &Store, reference: Option<ReferenceDate>) -> Result<DataStatus, MetricError> {
    Ok(DataStatus {
        launch: None,
        tables: store.table_status()?,
        imports: store.recent_imports(50)?,
        rejects: store.recent_rejects(200)?,
        rejected_rows: store.reject_count()?,
        reference,
        customer_attributes: store.customer_attribute_keys()?,
    })
}

/// SPEC §4's default overview shows "mrr or repeat_purchase_rate": a store of orders
/// without subscriptions gets the repeat purchase rate in MRR's tile. A configured list
/// is kept as written.
pub fn with_default_core_kpis_fitted(
    config: &Config,
    engine: &Engine<'_>,
) -> Result<Config, metrics::MetricError> {
    let mut config = config.clone();
    if config.core_kpis == Config::default().core_kpis
        && engine.is_empty("subscriptions")?
        && !engine.is_empty("orders")?
    {
        for id in &mut config.core_kpis {
            if id == MetricId::Mrr.as_str() {
                *id = MetricId::RepeatPurchaseRate.as_str().into();
            }
        }
    }
    Ok(config)
}

fn annotations(store: &Store) -> Result<Vec<Annotation>, MetricError> {
    Ok(store
        .annotations()?
        .into_iter()
        .map(|(date, label)| Annotation { date, label })
        .collect())
}
