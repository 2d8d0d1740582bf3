//! Alerts: deviations from the rolling mean, tiers, pulse, contributions, targets and
//! follow-ups (SPEC §6). The arithmetic lives in pure functions over `Series` values
//! (`deviation`, `pulse`, `contribution`, `target`); `evaluate` fetches the series from
//! `metrics`, runs them through it and merges what the store remembers of each alert.
//!
//! # Alert keys
//!
//! Acknowledgement and snooze are stored under a key that must stay stable across
//! releases, because stores outlive binaries:
//!
//! - deviation: `metric|segment-or-total|grain|period`, e.g.
//!   `net_revenue|channel=paid_search|week|2026-W46` or `nps|total|month|2026-10`;
//! - target: `metric|target|grain|by-date`, e.g. `nps|target|month|2026-12-31`.
//!
//! Keys are identities, not a format to parse: a segment value may itself hold `|`.
//!
//! # Volume guard
//!
//! An alert needs at least `min_volume` underlying records (global `[alerts]
//! min_volume`, per metric `[alerts.metrics.<id>] min_volume`). Records are counted with
//! the count metric of the metric's first source table for the same segment (`orders` for
//! order and refund metrics, `new_customers` for customer metrics, `active_customers` for
//! subscription metrics, `tickets_opened` for tickets, active users — `dau`/`wau`/`mau` by
//! grain — for events), taking the larger of the alerted period's count and the rolling
//! window's mean count, so a segment that collapses from 500 orders to 2 still alerts while
//! one that always had 3 does not. Metrics with no such count (surveys, spend, funnel,
//! work items, external metrics) are not guarded. Totals are guarded too: a product with
//! six signups a day has a small sample, whole business or not.
//!
//! # Signal policy
//!
//! Which deviations past a tier become alerts — noise guard, segments folded into their
//! total or alerting as hidden movement, derived metrics deferring to their source — is
//! `signal`'s to say; its module docs give each rule, its setting and why.

pub mod contribution;
pub mod deviation;
pub mod follow_up;
pub mod pulse;
pub mod render;
pub mod rollup_series;
pub mod signal;
pub mod target;

use std::collections::HashMap;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::Serialize;

use crate::config::Config;
use crate::metrics::{
    self, Direction, Grain, MetricDef, MetricError, MetricId, Period, Segment, Series,
    SeriesRequest, Unit,
};
use crate::store::Store;
use crate::store::rollup::Touched;
use crate::store::status::ImportLogEntry;

use deviation::{Deviation, Limits, latest_complete};
use rollup_series::RollupSeries;
pub use rollup_series::SegmentDays;
pub use target::{MilestoneStatus, TargetStatus};

/// Days a snooze from the cockpit lasts, counted from the reference date.
pub const SNOOZE_DAYS: i64 = 7;

/// The date a snooze given on `as_of` runs until (inclusive).
pub fn snooze_until(as_of: NaiveDate) -> NaiveDate {
    as_of + Duration::days(SNOOZE_DAYS)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Tier {
    Mild,
    Strong,
}

/// The direction of a metric over its last three periods, judged by what is good for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Pulse {
    Improving,
    Stalled,
    Deteriorating,
}

impl Pulse {
    pub fn label(self) -> &'static str {
        match self {
            Pulse::Improving => "improving",
            Pulse::Stalled => "stalled",
            Pulse::Deteriorating => "deteriorating",
        }
    }
}

/// A segment's (or account's) part in an alert's movement.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Contribution {
    pub segment: Segment,
    /// The segment's own change against its rolling mean, in the metric's unit.
    pub change: f64,
    /// Its share of the total change, in percent (shares of all segments sum to 100).
    pub share_pct: f64,
    /// For a ratio or mean weighed by its records (AOV by orders): how much of `change`
    /// is the segment's own rate moving, and how much its weight in the mix.
    pub rate_mix: Option<RateMix>,
}

/// A ratio segment's part in its total's change, split (see `contribution::rate_mix`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct RateMix {
    /// The segment's own rate moving, at its average weight.
    pub rate: f64,
    /// The segment's weight moving, at its rate's distance from the total's.
    pub mix: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertKind {
    /// The latest complete period deviates from its rolling mean.
    Deviation,
    /// A `kpi.toml` target whose pace misses.
    Target,
    /// A file whose latest import failed: its rows are missing from every metric.
    ImportFailure,
}

/// An alert: a metric's latest complete period deviating from its rolling mean, or a
/// target whose pace misses. Open unless acknowledged or snoozed (`is_open`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Alert {
    /// Stable identity (see the module docs) under which acknowledgement and snooze are
    /// stored.
    pub key: String,
    pub kind: AlertKind,
    pub metric: String,
    pub metric_name: String,
    pub unit: Unit,
    pub segment: Option<Segment>,
    pub grain: Grain,
    /// The period compared (`2026-W46`); for a target, its date.
    pub period: String,
    /// The period's value; for a target, the latest complete period's value.
    pub value: f64,
    /// Mean of the previous N periods; for a target, where the pace line stands now.
    pub rolling_mean: f64,
    /// (value − rolling mean) ÷ |rolling mean| × 100; for a target, the projection's gap
    /// to the target in percent of the target.
    pub change_pct: f64,
    pub tier: Tier,
    pub direction: Direction,
    /// Whether the movement is good for this metric.
    pub good: bool,
    /// The segments that moved a total most, largest share first.
    pub contributors: Vec<Contribution>,
    /// On a segment of an additive metric: the segment's part of the total's change
    /// against its rolling mean, in percent (97 = it explains nearly all of it).
    pub share_of_total_pct: Option<f64>,
    pub owner: Option<String>,
    pub follow_up: String,
    pub acknowledged: bool,
    /// Snoozed until this date (inclusive), if snoozed.
    pub snoozed_until: Option<NaiveDate>,
    /// When the store first saw this key (RFC 3339), if it has been recorded.
    pub first_seen: Option<String>,
    pub last_seen: Option<String>,
    /// 1 for the first time this key fired; +1 each time it clears and returns.
    pub occurrence: u32,
    /// The target's full status, for target alerts.
    pub target: Option<TargetStatus>,
}

impl Alert {
    /// Open: neither acknowledged nor snoozed through `as_of`.
    pub fn is_open(&self, as_of: NaiveDate) -> bool {
        !self.acknowledged && self.snoozed_until.is_none_or(|until| until < as_of)
    }

    /// `channel=paid_search`, or `None` for a total.
    pub fn segment_label(&self) -> Option<String> {
        self.segment
            .as_ref()
            .map(|s| format!("{}={}", s.dimension, s.value))
    }
}

/// The key of a deviation alert: `metric|segment-or-total|grain|period`.
pub fn alert_key(metric: &str, segment: Option<&Segment>, grain: Grain, period: &str) -> String {
    let segment = segment.map_or_else(
        || "total".to_string(),
        |s| format!("{}={}", s.dimension, s.value),
    );
    format!("{metric}|{segment}|{grain}|{period}")
}

/// The key of a target alert: `metric|target|grain|by-date`.
pub fn target_key(metric: &str, grain: Grain, by: NaiveDate) -> String {
    format!("{metric}|target|{grain}|{}", by.format("%Y-%m-%d"))
}

/// Which open alerts decide `kpi check`'s exit code (`--fail-on`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FailOn {
    /// Only bad news wakes anyone: a good-news alert is listed but exits 0.
    #[default]
    Bad,
    /// Good news counts too.
    Any,
}

/// Exit code of `kpi check` for its open alerts: 0 none, 1 mild only, 2 any strong,
/// counting only the alerts `fail_on` asks for.
pub fn exit_code(open: &[Alert], fail_on: FailOn) -> u8 {
    let counted = open
        .iter()
        .filter(|a| fail_on == FailOn::Any || !a.good)
        .map(|a| a.tier)
        .max();
    match counted {
        None => 0,
        Some(Tier::Mild) => 1,
        Some(Tier::Strong) => 2,
    }
}

/// Bad news first; within it, strong before mild, then the largest move. Good news
/// follows in the same order: it is listed, but it is not what anyone is woken for.
pub fn sort_alerts(alerts: &mut [Alert]) {
    alerts.sort_by(|a, b| {
        a.good
            .cmp(&b.good)
            .then_with(|| b.tier.cmp(&a.tier))
            .then_with(|| b.change_pct.abs().total_cmp(&a.change_pct.abs()))
            .then_with(|| a.key.cmp(&b.key))
    });
}

/// Everything `alerts` derives from the metrics in one pass.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Evaluation {
    /// Every alert, open or not, strong first (`sort_alerts`).
    pub alerts: Vec<Alert>,
    /// Pulse by metric id, at the week grain the overview's time frame is counted in.
    pub pulses: Vec<(String, Pulse)>,
    /// Pulse of every metric at every grain with three complete periods.
    pub pulses_by_grain: Vec<(String, Grain, Pulse)>,
    pub targets: Vec<TargetStatus>,
}

impl Evaluation {
    /// The alerts `kpi check` prints: not acknowledged, not snoozed, strong first.
    pub fn open_alerts(&self, as_of: NaiveDate) -> Vec<Alert> {
        self.alerts
            .iter()
            .filter(|a| a.is_open(as_of))
            .cloned()
            .collect()
    }
}

/// The grain the overview's pulse is reported at.
pub const PULSE_GRAIN: Grain = Grain::Week;

/// Computes alerts, pulses and targets as of `as_of`, merging stored alert state.
pub fn evaluate(
    store: &Store,
    config: &Config,
    as_of: NaiveDate,
    catalog: &[MetricDef],
) -> Result<Evaluation, MetricError> {
    evaluate_since(store, config, as_of, catalog, None)
}

/// `evaluate` after imports: with `since`, keeps from its previous evaluation the alerts
/// and pulses of every metric and grain the days written since cannot change (SPEC §7:
/// recompute only what the new rows touch). A deviation compares complete periods only,
/// each from rows dated within it or before, so rows dated after the latest complete
/// period (today's, usually) leave that grain's alerts as they were. Targets, failed
/// imports and stored state are evaluated afresh.
pub fn evaluate_since(
    store: &Store,
    config: &Config,
    as_of: NaiveDate,
    catalog: &[MetricDef],
    since: Option<Since<'_>>,
) -> Result<Evaluation, MetricError> {
    evaluate_since_keeping(
        store,
        config,
        as_of,
        catalog,
        since,
        &mut SegmentDays::default(),
    )
}

/// [`evaluate_since`] with the rollup rows `days` holds from an earlier evaluation as of
/// the same date: a watcher keeps them, so that after an import only the days it wrote
/// are read again (`SegmentDays::forget` them first; start afresh when `as_of` moves).
pub fn evaluate_since_keeping(
    store: &Store,
    config: &Config,
    as_of: NaiveDate,
    catalog: &[MetricDef],
    since: Option<Since<'_>>,
    days: &mut SegmentDays,
) -> Result<Evaluation, MetricError> {
    evaluate_at(store, config, as_of, catalog, Utc::now(), since, days)
}

/// `evaluate` computing every series through the general metric engine, one query per
/// segment: the reference [`evaluate`]'s rollup reads are held equal to.
pub fn evaluate_through_engine(
    store: &Store,
    config: &Config,
    as_of: NaiveDate,
    catalog: &[MetricDef],
    now: DateTime<Utc>,
) -> Result<Evaluation, MetricError> {
    let engine = metrics::Engine::new(store, config, as_of);
    let mut compute = |request: &SeriesRequest<'_>| engine.series(request);
    evaluate_reusing(store, config, as_of, catalog, now, &mut compute, None)
}

/// `evaluate` at the clock time `now` (which decides whether `as_of` is still being
/// written), through the rollup reads.
pub fn evaluate_at(
    store: &Store,
    config: &Config,
    as_of: NaiveDate,
    catalog: &[MetricDef],
    now: DateTime<Utc>,
    since: Option<Since<'_>>,
    days: &mut SegmentDays,
) -> Result<Evaluation, MetricError> {
    // One engine for every request: what the rollup reads leave to it shares its reads.
    let engine = metrics::Engine::new(store, config, as_of);
    let mut source = RollupSeries::new(&engine, days);
    let mut compute = |request: &SeriesRequest<'_>| source.series(request);
    evaluate_reusing(store, config, as_of, catalog, now, &mut compute, since)
}

/// Computes series for `evaluate_with`; `metrics::compute` in production, crafted
/// series in tests.
pub type ComputeFn<'a> = dyn FnMut(&SeriesRequest<'_>) -> Result<Vec<Series>, MetricError> + 'a;

/// `evaluate` over any source of series: the whole evaluation — which periods are
/// compared, segments, volume guard, contributions, targets and stored state — without
/// depending on how the metrics are computed.
pub fn evaluate_with(
    store: &Store,
    config: &Config,
    as_of: NaiveDate,
    catalog: &[MetricDef],
    now: DateTime<Utc>,
    compute: &mut ComputeFn<'_>,
) -> Result<Evaluation, MetricError> {
    evaluate_reusing(store, config, as_of, catalog, now, compute, None)
}

/// Records an evaluation's sightings (first and last seen, occurrences, clearances) at
/// `now` through a writing connection, and fills each alert's state from the record.
/// Evaluation itself only reads (a reader must work on a read-only store and never wait
/// for a writer), so this belongs to a caller that owns a write connection. Nothing is
/// recorded unless `as_of` is the store's own reference date: looking back with
/// `--as-of` must not mark today's alerts as cleared.
pub fn record_sightings(
    writer: &Store,
    as_of: NaiveDate,
    now: DateTime<Utc>,
    evaluation: &mut Evaluation,
) -> Result<(), MetricError> {
    if metrics::reference_date(writer)?.is_some_and(|reference| reference != as_of) {
        return Ok(());
    }
    let keys: Vec<&str> = evaluation.alerts.iter().map(|a| a.key.as_str()).collect();
    let states = writer.record_alert_evaluation(&keys, now)?;
    for (alert, state) in evaluation.alerts.iter_mut().zip(states) {
        apply_state(alert, state);
    }
    Ok(())
}

/// A previous evaluation as of the same date, and what imports wrote since.
#[derive(Debug, Clone, Copy)]
pub struct Since<'a> {
    pub previous: &'a Evaluation,
    pub touched: &'a Touched,
}

/// Whether what `since` says was written can change `def`'s alerts at `grain`: a day
/// within or before the latest complete period in a table that `def`, its volume and
/// weight counts or the metric it derives from read. With `subscriptions_held` (the
/// store holds subscriptions, and `touched` wrote none), customer activity comes from
/// them alone (`metrics::reads_given_subscriptions`): an orders append leaves new and
/// active customers, churn and retention — and MRR, counted against them — as they were.
fn may_change(
    config: &Config,
    catalog: &[MetricDef],
    def: &MetricDef,
    grain: Grain,
    latest: Period,
    touched: &Touched,
    subscriptions_held: bool,
) -> bool {
    let reads = |def: &MetricDef| -> Vec<&'static str> {
        if subscriptions_held {
            metrics::reads_given_subscriptions(def)
        } else {
            def.reads.to_vec()
        }
    };
    let mut tables = reads(def);
    let related = [
        volume_metric(def, grain),
        weight_metric(def, grain),
        derived_from(config, def),
    ];
    for id in related.into_iter().flatten() {
        if let Some(other) = catalog.iter().find(|d| d.id == id) {
            tables.extend(reads(other));
        }
    }
    touched
        .earliest_of(&tables)
        .is_some_and(|day| day <= latest.end())
}

fn evaluate_reusing(
    store: &Store,
    config: &Config,
    as_of: NaiveDate,
    catalog: &[MetricDef],
    now: DateTime<Utc>,
    compute: &mut ComputeFn<'_>,
    since: Option<Since<'_>>,
) -> Result<Evaluation, MetricError> {
    let mut fetcher = Fetcher {
        compute,
        config,
        as_of,
        last_complete_day: last_complete_day(config, as_of, now),
        cache: HashMap::new(),
    };
    let mut evaluation = Evaluation::default();
    // Whether customer activity comes from subscriptions, before and after what `since`
    // wrote: they are held, and were not written.
    let subscriptions_held = match since {
        Some(since) => {
            !since.touched.touches("subscriptions") && store.has_rows("subscriptions")?
        }
        None => false,
    };
    for def in catalog {
        for grain in Grain::ALL {
            let latest = latest_complete(grain, fetcher.last_complete_day);
            match since {
                Some(since)
                    if !may_change(
                        config,
                        catalog,
                        def,
                        grain,
                        latest,
                        since.touched,
                        subscriptions_held,
                    ) =>
                {
                    keep(since.previous, &def.id, grain, &mut evaluation);
                }
                _ => evaluate_metric(&mut fetcher, catalog, def, grain, &mut evaluation)?,
            }
        }
    }
    drop_derived(config, catalog, &mut evaluation.alerts);
    drop_days_told_by_their_week(&mut evaluation.alerts);
    for target in &config.targets {
        let status = evaluate_target(&mut fetcher, catalog, target)?;
        if status.at_risk
            && let Some(def) = catalog.iter().find(|d| d.id == target.metric)
        {
            evaluation.alerts.push(target_alert(config, def, &status));
        }
        evaluation.targets.push(status);
    }
    for entry in store.failing_imports()? {
        evaluation.alerts.push(import_failure_alert(config, &entry));
    }
    merge_state(store, &mut evaluation.alerts)?;
    sort_alerts(&mut evaluation.alerts);
    Ok(evaluation)
}

/// Copies `metric`'s deviation alerts and pulses at `grain` from `previous`.
fn keep(previous: &Evaluation, metric: &str, grain: Grain, evaluation: &mut Evaluation) {
    evaluation.alerts.extend(
        previous
            .alerts
            .iter()
            .filter(|a| a.kind == AlertKind::Deviation && a.metric == metric && a.grain == grain)
            .cloned(),
    );
    for (id, g, pulse) in &previous.pulses_by_grain {
        if id == metric && *g == grain {
            if grain == PULSE_GRAIN {
                evaluation.pulses.push((id.clone(), *pulse));
            }
            evaluation.pulses_by_grain.push((id.clone(), grain, *pulse));
        }
    }
}

/// Metric id under which import failures are listed (and owned, via `[owners]`).
pub const IMPORT_METRIC: &str = "import";

/// A failed import is strong: the file's rows are missing, so every metric that reads
/// its table is wrong until it is fixed. Keyed by the attempt, so fixing the file clears
/// it and a later failure is a new alert.
fn import_failure_alert(config: &Config, entry: &ImportLogEntry) -> Alert {
    let file = std::path::Path::new(&entry.path)
        .file_name()
        .map_or_else(|| entry.path.clone(), |n| n.to_string_lossy().into_owned());
    let reason = entry.error.as_deref().unwrap_or("unknown error");
    Alert {
        key: format!("{IMPORT_METRIC}|file={}|attempt|{}", entry.path, entry.id),
        kind: AlertKind::ImportFailure,
        metric: IMPORT_METRIC.into(),
        metric_name: "File import".into(),
        unit: Unit::Count,
        segment: Some(Segment {
            dimension: "file".into(),
            value: file,
        }),
        grain: Grain::Day,
        period: entry
            .imported_at
            .get(..10)
            .unwrap_or(&entry.imported_at)
            .to_string(),
        value: 0.0,
        rolling_mean: 0.0,
        change_pct: 0.0,
        tier: Tier::Strong,
        direction: Direction::HigherIsBetter,
        good: false,
        contributors: Vec::new(),
        share_of_total_pct: None,
        owner: config.owners.get(IMPORT_METRIC).cloned(),
        follow_up: format!(
            "Fix {}: {reason}. It is imported again when it changes (or run kpi import on it).",
            entry.path
        ),
        acknowledged: false,
        snoozed_until: None,
        first_seen: None,
        last_seen: None,
        occurrence: 1,
        target: None,
    }
}

/// The last day whose data is complete as of `as_of`: `as_of` itself, unless it is today
/// (or later) by the clock in the configured time zone — the day still being written is
/// partial, never compared with full days and never alerted on (SPEC §6).
pub fn last_complete_day(config: &Config, as_of: NaiveDate, now: DateTime<Utc>) -> NaiveDate {
    let today = now.with_timezone(&config.tz()).date_naive();
    if as_of >= today {
        as_of.pred_opt().unwrap_or(as_of)
    } else {
        as_of
    }
}

/// Fetches series through `metrics::compute`, each (metric, grain, dimension) once.
struct Fetcher<'a, 'c> {
    compute: &'a mut ComputeFn<'c>,
    config: &'a Config,
    as_of: NaiveDate,
    /// The last day that is over (`last_complete_day`): periods are compared up to it.
    last_complete_day: NaiveDate,
    cache: HashMap<(String, Grain, Option<String>, NaiveDate), Vec<Series>>,
}

impl Fetcher<'_, '_> {
    /// Series of `metric` from the period holding `from` through `latest`.
    fn series(
        &mut self,
        metric: &str,
        grain: Grain,
        from: NaiveDate,
        latest: Period,
        by: Option<&str>,
    ) -> Result<&[Series], MetricError> {
        let key = (metric.to_string(), grain, by.map(str::to_string), from);
        if !self.cache.contains_key(&key) {
            let series = (self.compute)(&SeriesRequest {
                metric,
                grain,
                from,
                to: latest.end(),
                by,
            })?;
            self.cache.insert(key.clone(), series);
        }
        Ok(self.cache.get(&key).map_or(&[], Vec::as_slice))
    }
}

/// Periods fetched per grain: the compared one, its baseline (at day grain the same
/// weekday of earlier weeks), and at least three for the pulse.
fn history_start(latest: Period, limits: &Limits) -> NaiveDate {
    let pulse = latest.trailing(3)[0];
    deviation::baseline_start(latest, limits.window)
        .start
        .min(pulse.start)
}

/// The noise guard's longer history: its look-back and the baseline of each of its
/// periods. Fetched only for series whose deviation reaches a tier.
fn noise_history_start(latest: Period, limits: &Limits) -> NaiveDate {
    let earliest_judged = latest
        .prev()
        .trailing(limits.noise_window_at(latest.grain).max(1))[0];
    deviation::baseline_start(earliest_judged, limits.window)
        .start
        .min(history_start(latest, limits))
}

fn evaluate_metric(
    fetcher: &mut Fetcher<'_, '_>,
    catalog: &[MetricDef],
    def: &MetricDef,
    grain: Grain,
    evaluation: &mut Evaluation,
) -> Result<(), MetricError> {
    let config = fetcher.config;
    let limits = Limits::for_metric(&config.alerts, &def.id);
    let latest = latest_complete(grain, fetcher.last_complete_day);
    let from = history_start(latest, &limits);

    let total = fetcher
        .series(&def.id, grain, from, latest, None)?
        .iter()
        .find(|s| s.segment.is_none())
        .cloned();
    if let Some(total) = &total
        && let Some(p) = pulse::pulse(
            &total.points,
            latest,
            def.direction,
            config.alerts.pulse_flat_pct,
        )
    {
        if grain == PULSE_GRAIN {
            evaluation.pulses.push((def.id.to_string(), p));
        }
        evaluation
            .pulses_by_grain
            .push((def.id.to_string(), grain, p));
    }
    if !signal::alerts_at(&def.id, grain) {
        return Ok(());
    }
    let basis = signal::basis(def);
    let total_deviation = total
        .as_ref()
        .and_then(|t| deviation::deviation_as(&t.points, latest, limits.window, basis));
    // The tier the total alerts with, once it has passed the signal policy.
    let mut total_tier = None;
    if let (Some(series), Some(dev)) = (&total, &total_deviation)
        && let Some(tier) = limits.tier(dev.change_pct)
        && stands_out(fetcher, def, None, series, dev, &limits)?
        && count_of(
            fetcher,
            catalog,
            volume_metric(def, grain),
            grain,
            None,
            latest,
            &limits,
        )?
        .is_none_or(|count| count >= limits.min_volume as f64)
    {
        total_tier = Some(tier);
    }
    let weight_id = weight_metric(def, grain);
    let total_weight = count_of(fetcher, catalog, weight_id, grain, None, latest, &limits)?;

    let mut per_dimension = Vec::new();
    // Each ratio segment's rate and mix effects, where the records behind it are counted.
    let mut rate_mixes: HashMap<Segment, RateMix> = HashMap::new();
    // Segments alerting by their size, with their effect on the total (% × share).
    let mut by_size_alerts: Vec<(Alert, f64)> = Vec::new();
    // A single day of one segment is too small a sample to page anyone for (the reason day
    // totals need a stronger move too), and breaking every day down by every segment is
    // the costliest part of the evaluation: at day grain, segments only explain an
    // alerting total.
    // MRR's movements by plan or channel are a few accounts each: they explain their total
    // (and MRR's) but do not alert on their own.
    let movement = signal::is_mrr_movement(&def.id);
    let dimensions = if (grain == Grain::Day || movement) && total_tier.is_none() {
        &[][..]
    } else {
        def.segments
    };
    for dimension in dimensions {
        let segments = fetcher
            .series(&def.id, grain, from, latest, Some(dimension))?
            .to_vec();
        let additive = total_deviation
            .as_ref()
            .is_some_and(|dev| contribution::is_additive(dev.value, &segments, latest));
        for series in &segments {
            let Some(segment) = &series.segment else {
                continue;
            };
            let Some(dev) = deviation::deviation_as(&series.points, latest, limits.window, basis)
            else {
                continue;
            };
            let Some(tier) = limits.tier(dev.change_pct) else {
                continue;
            };
            // A total that alerts lists its segments as contributors; only a material
            // segment that moved a tier harder than its total alerts beside it.
            let folding = config.alerts.fold_segments;
            if folding && total_tier.is_some_and(|total_tier| total_tier >= tier) {
                continue;
            }
            let volume = count_of(
                fetcher,
                catalog,
                volume_metric(def, grain),
                grain,
                Some(segment),
                latest,
                &limits,
            )?;
            if volume.is_some_and(|count| count < limits.min_volume as f64) {
                continue;
            }
            // The segment's part of the records behind the total (orders, customers).
            let record_share = {
                let part = count_of(
                    fetcher,
                    catalog,
                    weight_id,
                    grain,
                    Some(segment),
                    latest,
                    &limits,
                )?;
                match (part, total_weight) {
                    (Some(part), Some(whole)) if whole > 0.0 => Some(part / whole),
                    _ => None,
                }
            };
            // The segment's weight in the total's move: additive metrics add up, ratios
            // weigh by the records behind each segment (`signal` rule 3).
            let weight = if additive { Some(1.0) } else { record_share };
            // Its share of the total: of the baseline and of the records for sums (a
            // channel with two large expansions in the baseline is not a fifth of the
            // business), of the records for ratios.
            let share = if additive {
                total_deviation
                    .as_ref()
                    .filter(|total| total.rolling_mean != 0.0)
                    .map(|total| dev.rolling_mean / total.rolling_mean)
                    .map(|value_share| record_share.map_or(value_share, |r| value_share.min(r)))
            } else {
                record_share
            };
            // A segment large enough alerts with its own tier, beside a total that alerts
            // a tier lower or not at all (`signal` rule 3): its bad news from mild up, its
            // good news once strong.
            let bad = (dev.change_pct > 0.0) != (def.direction == Direction::HigherIsBetter);
            let by_size = is_material(config, share) && signal::speaks_for_itself(bad, tier);
            if folding && total_tier.is_some() && !by_size {
                continue;
            }
            if config.alerts.material_segments_only && total_tier.is_none() && !by_size {
                // Otherwise a segment alerts only if its move alone would have made the
                // total alert. Without a count to weigh a ratio segment by, nothing shows
                // that it matters.
                let material = match (&total, &total_deviation, weight) {
                    (Some(series), Some(total_dev), Some(weight)) => {
                        let total_spread = spread(fetcher, def, None, series, latest, &limits)?;
                        signal::moves_total(dev.change() * weight, total_dev, total_spread, &limits)
                    }
                    // A total without enough history has nothing to compare with.
                    (_, None, _) => true,
                    _ => false,
                };
                if !material {
                    continue;
                }
            }
            // A total that alerts has already shown that something moved; a segment moving
            // the same way only needs its tier. Otherwise the segment must stand out from
            // its own noise — checked last, as it needs the segment's longer history.
            let shown_by_total = total_tier.is_some()
                && total_deviation
                    .as_ref()
                    .is_some_and(|total| total.change() * dev.change() > 0.0);
            if !shown_by_total && !stands_out(fetcher, def, Some(dimension), series, &dev, &limits)?
            {
                continue;
            }
            let mut alert = deviation_alert(config, def, Some(segment), &dev, tier, Vec::new());
            alert.share_of_total_pct = total_deviation
                .filter(|total| additive && total.change() != 0.0)
                .map(|total| dev.change() / total.change() * 100.0);
            if by_size {
                let effect = dev.change_pct * share.unwrap_or(0.0).abs();
                by_size_alerts.push((alert, effect));
            } else {
                evaluation.alerts.push(alert);
            }
        }
        if let Some(total) = &total_deviation {
            // Rates and means split into rate and mix; sums whose segments do not add up
            // (a customer counted under two plans) are no weighted mean.
            let split = if additive || basis == deviation::Basis::PerDay {
                None
            } else {
                ratio_split(
                    fetcher, catalog, weight_id, dimension, &segments, latest, &limits, basis,
                )?
            };
            let changes = match split {
                Some(effects) => {
                    rate_mixes.extend(effects.iter().map(|(s, _, rm)| (s.clone(), *rm)));
                    effects.into_iter().map(|(s, e, _)| (s, e)).collect()
                }
                None => {
                    let changes = contribution::segment_changes(
                        &segments,
                        latest,
                        limits.window,
                        basis,
                        additive,
                    );
                    if additive {
                        changes
                    } else {
                        contribution::moving_with(total.change(), changes)
                    }
                }
            };
            per_dimension.push(changes);
        }
    }
    // One move seen through channel, plan and region is one story: of the segments
    // alerting by size, the one that moved the total most in each direction speaks.
    for rising in [true, false] {
        let strongest = by_size_alerts
            .iter()
            .filter(|(_, effect)| (*effect > 0.0) == rising)
            .max_by(|a, b| a.1.abs().total_cmp(&b.1.abs()));
        if let Some((alert, _)) = strongest {
            evaluation.alerts.push(alert.clone());
        }
    }
    if let (Some(dev), Some(tier)) = (&total_deviation, total_tier) {
        let mut contributors = contribution::explain(dev.change(), &per_dimension);
        for c in &mut contributors {
            c.rate_mix = rate_mixes.get(&c.segment).copied();
        }
        evaluation
            .alerts
            .push(deviation_alert(config, def, None, dev, tier, contributors));
    }
    Ok(())
}

/// Whether a segment holding `share` of its total (0.25 = a quarter) is large enough to
/// alert on its own (`[alerts] material_share_pct`).
fn is_material(config: &Config, share: Option<f64>) -> bool {
    share.is_some_and(|share| share.abs() * 100.0 >= config.alerts.material_share_pct)
}

/// The rate and mix effects of the segments of one dimension of a ratio (`rate_mix`),
/// weighed by the records `weight_id` counts for each. `None` when those records are not
/// counted by that dimension, or do not cover the segments.
#[allow(clippy::too_many_arguments)]
fn ratio_split(
    fetcher: &mut Fetcher<'_, '_>,
    catalog: &[MetricDef],
    weight_id: Option<&str>,
    dimension: &str,
    segments: &[Series],
    latest: Period,
    limits: &Limits,
    basis: deviation::Basis,
) -> Result<Option<Vec<contribution::SegmentEffect>>, MetricError> {
    let Some(weight_id) = weight_id else {
        return Ok(None);
    };
    let Some(weight_def) = catalog
        .iter()
        .find(|d| d.id == weight_id && d.segments.contains(&dimension))
    else {
        return Ok(None);
    };
    let from = history_start(latest, limits);
    let weights = fetcher
        .series(weight_id, latest.grain, from, latest, Some(dimension))?
        .to_vec();
    let weight_basis = signal::basis(weight_def);
    let mut ratio_segments = Vec::new();
    for series in segments {
        let Some(segment) = &series.segment else {
            continue;
        };
        let rate = deviation::complete_value(&series.points, latest);
        let base_rate = deviation::rolling_mean(&series.points, latest, limits.window, basis);
        let weight_points = weights
            .iter()
            .find(|w| w.segment.as_ref() == Some(segment))
            .map_or(&[][..], |w| w.points.as_slice());
        let weight = deviation::complete_value(weight_points, latest).unwrap_or(0.0);
        let base_weight =
            deviation::rolling_mean(weight_points, latest, limits.window, weight_basis)
                .unwrap_or(0.0);
        // A segment without a rate in a period has no records in it to weigh.
        ratio_segments.push(contribution::RatioSegment {
            segment: segment.clone(),
            rate: rate.unwrap_or(0.0),
            base_rate: base_rate.unwrap_or(0.0),
            weight: if rate.is_some() { weight } else { 0.0 },
            base_weight: if base_rate.is_some() {
                base_weight
            } else {
                0.0
            },
        });
    }
    let effects = contribution::rate_mix(&ratio_segments);
    Ok((!effects.is_empty()).then_some(effects))
}

/// The noise guard (`signal`) for the deviation of `series` (the total, or a segment of
/// dimension `by`).
fn stands_out(
    fetcher: &mut Fetcher<'_, '_>,
    def: &MetricDef,
    by: Option<&str>,
    series: &Series,
    dev: &Deviation,
    limits: &Limits,
) -> Result<bool, MetricError> {
    let k = limits.noise_k_at(dev.period.grain);
    if k <= 0.0 {
        return Ok(true);
    }
    let spread = spread(fetcher, def, by, series, dev.period, limits)?;
    Ok(signal::stands_out(dev.change(), spread, k))
}

/// The spread of `series`' past deviations (`signal::noise`) over the noise guard's
/// longer history.
fn spread(
    fetcher: &mut Fetcher<'_, '_>,
    def: &MetricDef,
    by: Option<&str>,
    series: &Series,
    latest: Period,
    limits: &Limits,
) -> Result<Option<f64>, MetricError> {
    let from = noise_history_start(latest, limits);
    let long = fetcher.series(&def.id, latest.grain, from, latest, by)?;
    Ok(long
        .iter()
        .find(|s| s.segment == series.segment)
        .and_then(|s| {
            signal::noise(
                &s.points,
                latest,
                limits.window,
                limits.noise_window_at(latest.grain),
                signal::basis(def),
            )
        }))
}

/// The metric a metric is derived from: `[alerts.metrics.<id>] derived_from`, else the
/// catalog's.
fn derived_from<'c>(config: &'c Config, def: &MetricDef) -> Option<&'c str> {
    config
        .alerts
        .metrics
        .get(def.id.as_ref())
        .and_then(|t| t.derived_from.as_deref())
        .or_else(|| def.derived_from.map(MetricId::as_str))
}

/// Drops deviation alerts of derived metrics whose source alerts for the same segment,
/// grain and period: the source's alert already tells the story.
fn drop_derived(config: &Config, catalog: &[MetricDef], alerts: &mut Vec<Alert>) {
    let raised: std::collections::HashSet<String> = alerts
        .iter()
        .filter(|a| a.kind == AlertKind::Deviation)
        .map(|a| a.key.clone())
        .collect();
    alerts.retain(|a| {
        a.kind != AlertKind::Deviation
            || catalog
                .iter()
                .find(|d| d.id == a.metric)
                .and_then(|def| derived_from(config, def))
                .is_none_or(|source| {
                    let source_key = alert_key(source, a.segment.as_ref(), a.grain, &a.period);
                    !raised.contains(&source_key)
                })
    });
}

/// Drops a day's deviation alert when the week holding that day alerts on the same metric
/// and segment in the same direction: the last day of a week that moved is the week's
/// story, told once.
fn drop_days_told_by_their_week(alerts: &mut Vec<Alert>) {
    let weeks: Vec<(String, Option<Segment>, String, bool)> = alerts
        .iter()
        .filter(|a| a.kind == AlertKind::Deviation && a.grain == Grain::Week)
        .map(|a| {
            (
                a.metric.clone(),
                a.segment.clone(),
                a.period.clone(),
                a.change_pct > 0.0,
            )
        })
        .collect();
    alerts.retain(|a| {
        if a.kind != AlertKind::Deviation || a.grain != Grain::Day {
            return true;
        }
        let Ok(day) = NaiveDate::parse_from_str(&a.period, "%Y-%m-%d") else {
            return true;
        };
        let week = Period::containing(Grain::Week, day).label();
        !weeks.iter().any(|(metric, segment, period, rising)| {
            *metric == a.metric
                && *segment == a.segment
                && *period == week
                && *rising == (a.change_pct > 0.0)
        })
    });
}

/// How many records stand behind a metric's value, for the volume guard.
fn volume_metric(def: &MetricDef, grain: Grain) -> Option<&'static str> {
    def.volume.map(|volume| volume.at(grain).as_str())
}

/// What a ratio segment's weight in its total is measured by.
fn weight_metric(def: &MetricDef, grain: Grain) -> Option<&'static str> {
    def.weight.map(|weight| weight.at(grain).as_str())
}

/// The records behind a total (`segment` = `None`) or a segment, counted with
/// `volume_id`: the larger of the period's count and the rolling window's mean count
/// (module docs). `None` when there is no such count for it.
fn count_of(
    fetcher: &mut Fetcher<'_, '_>,
    catalog: &[MetricDef],
    volume_id: Option<&str>,
    grain: Grain,
    segment: Option<&Segment>,
    latest: Period,
    limits: &Limits,
) -> Result<Option<f64>, MetricError> {
    let Some(volume_id) = volume_id else {
        return Ok(None);
    };
    let measurable = catalog.iter().find(|d| d.id == volume_id).is_some_and(|d| {
        segment.is_none_or(|segment| d.segments.contains(&segment.dimension.as_str()))
    });
    if !measurable {
        return Ok(None);
    }
    let from = history_start(latest, limits);
    let by = segment.map(|s| s.dimension.as_str());
    let counts = fetcher.series(volume_id, grain, from, latest, by)?;
    let points = counts
        .iter()
        .find(|s| s.segment.as_ref() == segment)
        .map_or(&[][..], |s| s.points.as_slice());
    let count_at = |p: Period| deviation::complete_value(points, p).unwrap_or(0.0);
    let current = count_at(latest);
    let window = latest.prev().trailing(limits.window);
    let baseline = window.iter().map(|p| count_at(*p)).sum::<f64>() / window.len().max(1) as f64;
    Ok(Some(current.max(baseline)))
}

fn deviation_alert(
    config: &Config,
    def: &MetricDef,
    segment: Option<&Segment>,
    dev: &Deviation,
    tier: Tier,
    contributors: Vec<Contribution>,
) -> Alert {
    let period = dev.period.label();
    let rising = dev.change_pct > 0.0;
    let good = rising == (def.direction == Direction::HigherIsBetter);
    // On a total, point the next step at the segment behind most of the move.
    let focus = segment.or_else(|| {
        contributors
            .first()
            .filter(|c| c.share_pct >= 50.0)
            .map(|c| &c.segment)
    });
    let segment_label = focus.map(|s| format!("{} {}", s.dimension, s.value));
    let follow_up = follow_up::follow_up(
        config,
        &follow_up::Situation {
            def,
            segment: segment_label,
            period: &period,
            bad: !good,
            target: false,
        },
    );
    Alert {
        key: alert_key(&def.id, segment, dev.period.grain, &period),
        kind: AlertKind::Deviation,
        metric: def.id.to_string(),
        metric_name: def.name.to_string(),
        unit: def.unit,
        segment: segment.cloned(),
        grain: dev.period.grain,
        period,
        value: dev.value,
        rolling_mean: dev.rolling_mean,
        change_pct: dev.change_pct,
        tier,
        direction: def.direction,
        good,
        contributors,
        share_of_total_pct: None,
        owner: config.owners.get(def.id.as_ref()).cloned(),
        follow_up,
        acknowledged: false,
        snoozed_until: None,
        first_seen: None,
        last_seen: None,
        occurrence: 1,
        target: None,
    }
}

fn evaluate_target(
    fetcher: &mut Fetcher<'_, '_>,
    catalog: &[MetricDef],
    target: &crate::config::Target,
) -> Result<TargetStatus, MetricError> {
    let grain = target.grain.unwrap_or(Grain::Month);
    let latest = latest_complete(grain, fetcher.last_complete_day);
    let frame_start = fetcher.as_of - Duration::weeks(i64::from(fetcher.config.time_frame_weeks));
    let start = target
        .start
        .unwrap_or_else(|| frame_start.min(latest.trailing(3)[0].start));
    let Some(def) = catalog.iter().find(|d| d.id == target.metric) else {
        let mut status =
            target::target_status(target, grain, Direction::HigherIsBetter, &[], fetcher.as_of);
        status.note = Some(format!("unknown metric {:?}", target.metric));
        return Ok(status);
    };
    let points = fetcher
        .series(&def.id, grain, start, latest, None)?
        .iter()
        .find(|s| s.segment.is_none())
        .map(|s| s.points.clone())
        .unwrap_or_default();
    Ok(target::target_status(
        target,
        grain,
        def.direction,
        &points,
        fetcher.as_of,
    ))
}

fn target_alert(config: &Config, def: &MetricDef, status: &TargetStatus) -> Alert {
    let by = status.by.format("%Y-%m-%d").to_string();
    let current = status.current.unwrap_or(0.0);
    let projected = status.projected.unwrap_or(current);
    let change_pct = if status.target == 0.0 {
        0.0
    } else {
        (projected - status.target) / status.target.abs() * 100.0
    };
    let follow_up = follow_up::follow_up(
        config,
        &follow_up::Situation {
            def,
            segment: None,
            period: &by,
            bad: true,
            target: true,
        },
    );
    Alert {
        key: target_key(&def.id, status.grain, status.by),
        kind: AlertKind::Target,
        metric: def.id.to_string(),
        metric_name: def.name.to_string(),
        unit: def.unit,
        segment: None,
        grain: status.grain,
        period: by,
        value: current,
        rolling_mean: status.on_pace_value.unwrap_or(current),
        change_pct,
        tier: status.tier().unwrap_or(Tier::Mild),
        direction: def.direction,
        good: false,
        contributors: Vec::new(),
        share_of_total_pct: None,
        owner: config.owners.get(def.id.as_ref()).cloned(),
        follow_up,
        acknowledged: false,
        snoozed_until: None,
        first_seen: None,
        last_seen: None,
        occurrence: 1,
        target: Some(status.clone()),
    }
}

/// Fills each alert's stored state, as recording this evaluation would leave it, without
/// recording it.
fn merge_state(store: &Store, alerts: &mut [Alert]) -> Result<(), MetricError> {
    let keys: Vec<&str> = alerts.iter().map(|a| a.key.as_str()).collect();
    let states = store.alert_states_if_firing(&keys)?;
    for (alert, state) in alerts.iter_mut().zip(states) {
        if let Some(state) = state {
            apply_state(alert, state);
        }
    }
    Ok(())
}

fn apply_state(alert: &mut Alert, state: crate::store::AlertState) {
    alert.acknowledged = state.acknowledged_at.is_some();
    alert.snoozed_until = state.snoozed_until;
    alert.first_seen = Some(state.first_seen);
    alert.last_seen = Some(state.last_seen);
    alert.occurrence = state.occurrence;
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An orders append on the reference day, against a catalog of the built-in metrics.
    fn orders_append_may_change(id: MetricId, grain: Grain, subscriptions_held: bool) -> bool {
        let config = Config::default();
        let catalog: Vec<MetricDef> = MetricId::ALL.iter().map(|m| m.def().clone()).collect();
        let as_of = NaiveDate::from_ymd_opt(2026, 3, 10).expect("a date");
        let mut touched = Touched::default();
        touched.add("orders", as_of);
        let def = catalog
            .iter()
            .find(|d| d.id == id.as_str())
            .expect("built in");
        let latest = latest_complete(grain, as_of);
        may_change(
            &config,
            &catalog,
            def,
            grain,
            latest,
            &touched,
            subscriptions_held,
        )
    }

    #[test]
    fn an_orders_append_leaves_subscription_activity_and_mrr_alone_where_subscriptions_are_held() {
        for id in [
            MetricId::ActiveCustomers,
            MetricId::NewCustomers,
            MetricId::CustomerChurnPct,
            MetricId::RetentionRatePct,
            MetricId::Mrr,
        ] {
            assert!(!orders_append_may_change(id, Grain::Day, true), "{id:?}");
            // Without subscriptions, activity (MRR's volume) is counted from orders.
            assert!(orders_append_may_change(id, Grain::Day, false), "{id:?}");
        }
        // Metrics that count orders themselves are evaluated again either way.
        for id in [MetricId::Clv, MetricId::NetRevenue, MetricId::Orders] {
            assert!(orders_append_may_change(id, Grain::Day, true), "{id:?}");
        }
    }

    fn alert(tier: Tier, good: bool, change_pct: f64, key: &str) -> Alert {
        Alert {
            key: key.into(),
            kind: AlertKind::Deviation,
            metric: "net_revenue".into(),
            metric_name: "Net revenue".into(),
            unit: Unit::Currency,
            segment: None,
            grain: Grain::Week,
            period: "2026-W46".into(),
            value: 0.0,
            rolling_mean: 0.0,
            change_pct,
            tier,
            direction: Direction::HigherIsBetter,
            good,
            contributors: Vec::new(),
            share_of_total_pct: None,
            owner: None,
            follow_up: String::new(),
            acknowledged: false,
            snoozed_until: None,
            first_seen: None,
            last_seen: None,
            occurrence: 1,
            target: None,
        }
    }

    #[test]
    fn keys_follow_the_documented_format() {
        let seg = Segment {
            dimension: "channel".into(),
            value: "paid_search".into(),
        };
        assert_eq!(
            alert_key("net_revenue", Some(&seg), Grain::Week, "2026-W46"),
            "net_revenue|channel=paid_search|week|2026-W46"
        );
        assert_eq!(
            alert_key("nps", None, Grain::Month, "2026-10"),
            "nps|total|month|2026-10"
        );
        let by = NaiveDate::from_ymd_opt(2026, 12, 31).unwrap();
        assert_eq!(
            target_key("nps", Grain::Month, by),
            "nps|target|month|2026-12-31"
        );
    }

    #[test]
    fn exit_codes_follow_the_worst_open_bad_tier() {
        assert_eq!(exit_code(&[], FailOn::Bad), 0);
        assert_eq!(
            exit_code(&[alert(Tier::Mild, false, 6.0, "a")], FailOn::Bad),
            1
        );
        assert_eq!(
            exit_code(
                &[
                    alert(Tier::Mild, false, -6.0, "a"),
                    alert(Tier::Strong, false, -20.0, "b")
                ],
                FailOn::Bad
            ),
            2
        );
    }

    #[test]
    fn good_news_changes_the_exit_code_only_when_asked() {
        let open = [
            alert(Tier::Mild, false, -6.0, "a"),
            alert(Tier::Strong, true, 20.0, "b"),
        ];
        assert_eq!(exit_code(&open, FailOn::Bad), 1);
        assert_eq!(exit_code(&open, FailOn::Any), 2);
        let only_good = [alert(Tier::Strong, true, 20.0, "b")];
        assert_eq!(exit_code(&only_good, FailOn::Bad), 0);
        assert_eq!(exit_code(&only_good, FailOn::Any), 2);
    }

    #[test]
    fn open_means_neither_acknowledged_nor_snoozed_through_the_reference_date() {
        let as_of = NaiveDate::from_ymd_opt(2026, 11, 20).unwrap();
        let mut a = alert(Tier::Mild, false, 6.0, "a");
        assert!(a.is_open(as_of));
        a.snoozed_until = Some(snooze_until(as_of));
        assert_eq!(a.snoozed_until, NaiveDate::from_ymd_opt(2026, 11, 27));
        assert!(!a.is_open(as_of));
        assert!(!a.is_open(NaiveDate::from_ymd_opt(2026, 11, 27).unwrap()));
        assert!(a.is_open(NaiveDate::from_ymd_opt(2026, 11, 28).unwrap()));
        a.snoozed_until = None;
        a.acknowledged = true;
        assert!(!a.is_open(as_of));
    }

    #[test]
    fn bad_before_good_then_strong_first_then_largest() {
        let mut alerts = vec![
            alert(Tier::Mild, false, -6.0, "mild"),
            alert(Tier::Strong, true, 30.0, "strong-good"),
            alert(Tier::Strong, false, -13.0, "strong-bad-small"),
            alert(Tier::Strong, false, -20.0, "strong-bad-big"),
        ];
        sort_alerts(&mut alerts);
        let keys: Vec<&str> = alerts.iter().map(|a| a.key.as_str()).collect();
        assert_eq!(
            keys,
            ["strong-bad-big", "strong-bad-small", "mild", "strong-good"]
        );
    }
}
