//! The worker thread: performs [`Effect`]s against its own store connection and sends the
//! results back as [`Msg`]s, so no query ever runs on the thread that draws.

use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender};
use std::time::{Duration, Instant};

use chrono::{NaiveDate, Utc};

use crate::alerts::Evaluation;
use crate::config::Config;
use crate::metrics::{self, Grain, MetricError, SeriesRequest};
use crate::snapshot::{self, Snapshot};
use crate::store::rollup::Touched;
use crate::store::{Store, StoreError};

use super::keymap::{AlertAction, Msg};
use super::update::Effect;

/// Everything the worker needs to (re)build snapshots.
pub struct Worker {
    /// Read-only: reading never writes the store nor waits for a writer.
    pub store: Store,
    /// Opened when the cockpit writes anyway (live import) or the user acknowledges or
    /// snoozes; while it is open, each evaluation's sightings are recorded through it.
    writer: Option<Store>,
    pub config: Config,
    pub as_of: Option<NaiveDate>,
    /// The first reload sends the Overview's metrics before the rest.
    loaded_once: bool,
    /// The latest alert evaluation, shown with fresh metrics until its successor is ready.
    last_alerts: Option<Evaluation>,
    /// The reference date of `last_alerts`.
    alerts_as_of: Option<NaiveDate>,
    /// What live imports wrote since `last_alerts`; `None` when the next evaluation must
    /// be a full one (none yet, or a full reload since).
    written_since_alerts: Option<Touched>,
    /// The rollup rows `last_alerts` was evaluated from: after a live import only the days
    /// it wrote are read again.
    segment_days: crate::alerts::SegmentDays,
    /// The latest metrics, which a live import's refresh starts from.
    last_metrics: Option<Snapshot>,
    /// Set by [`Worker::follow_config`]: every full reload (`r`) reads the configuration
    /// again, from this `--config` file or else `kpi.toml` beside the store.
    config_file: Option<Option<PathBuf>>,
    /// `--watch` with `[notify]` destinations: each evaluation's open alerts go to the
    /// notifier thread, which sends them (`notify`). Started on the first evaluation.
    notify: bool,
    notifier: Option<Sender<Vec<crate::alerts::Alert>>>,
    /// How often a steady stream of live imports is recomputed (see [`Pacing`]).
    pub pacing: Pacing,
    /// When the last live refresh and the last alert evaluation ran.
    last_refresh: Option<Instant>,
    last_alerts_at: Option<Instant>,
    /// Fresh metrics are on screen whose alerts wait for their turn.
    alerts_deferred: bool,
}

/// How often a steady stream of live imports is recomputed. A launch-day feed appends
/// every fraction of a second; recomputing and re-evaluating every alert after each
/// append kept a quarter of a core busy for numbers no one can read that fast. The first
/// append after a quiet spell is shown at once (the latency of SPEC §8 is unchanged);
/// under a steady stream the metrics follow every `refresh_every` and the alerts, which
/// break every metric down by segment, every `alerts_every` — and once more when the
/// stream stops, so the last state is always judged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pacing {
    pub refresh_every: Duration,
    pub alerts_every: Duration,
}

impl Pacing {
    /// Recompute after every import round (what the cockpit did before pacing).
    pub const EVERY_APPEND: Pacing = Pacing {
        refresh_every: Duration::ZERO,
        alerts_every: Duration::ZERO,
    };
}

impl Default for Pacing {
    fn default() -> Self {
        Self {
            refresh_every: Duration::from_secs(2),
            alerts_every: Duration::from_secs(30),
        }
    }
}

impl Worker {
    /// Makes full reloads read the configuration again (`explicit`: the `--config` file).
    pub fn follow_config(&mut self, explicit: Option<PathBuf>) {
        self.config_file = Some(explicit);
    }

    /// Reads the configuration again when the worker follows it. An invalid file keeps
    /// the last good configuration; the returned message says why.
    pub fn reread_config(&mut self) -> Option<String> {
        let explicit = self.config_file.as_ref()?;
        match Config::load_for(self.store.path(), explicit.as_deref()) {
            Ok(config) => {
                if config != self.config {
                    self.config = config;
                    // Alerts judged by the old thresholds are not kept as a starting point.
                    self.last_alerts = None;
                    self.written_since_alerts = None;
                }
                None
            }
            Err(err) => {
                // A TOML error spans lines (the line, a caret, the reason); the status bar
                // has one: where, then why.
                let text = err.to_string();
                let mut lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
                let first = lines.next().unwrap_or_default();
                let reason = lines
                    .next_back()
                    .filter(|l| !l.starts_with('|') && !l.starts_with('^'));
                let summary = reason.map_or_else(|| first.to_string(), |r| format!("{first}: {r}"));
                Some(format!("{summary} — keeping the last good configuration"))
            }
        }
    }

    pub fn build_snapshot(&self) -> Result<Snapshot, MetricError> {
        snapshot::build(&self.store, &self.config, self.as_of)
    }

    /// Performs one effect and returns the message carrying its result.
    pub fn perform(&mut self, effect: Effect) -> Msg {
        match effect {
            // `run` serves reloads and refreshes itself (metrics first, then alerts).
            Effect::LoadSnapshot | Effect::Refresh { .. } => Msg::SnapshotLoaded(
                self.build_snapshot()
                    .map(Box::new)
                    .map_err(|e| format!("{e:#}")),
            ),
            Effect::Breakdown {
                purpose,
                metrics: ids,
                grain,
                dimension,
                from,
                to,
                months_from,
            } => {
                let mut all = Vec::new();
                let mut failure = None;
                let spans: Vec<(Grain, NaiveDate)> = std::iter::once((grain, from))
                    .chain(months_from.map(|m| (Grain::Month, m)))
                    .collect();
                'requests: for (id, (grain, from)) in ids
                    .iter()
                    .flat_map(|id| spans.iter().map(move |span| (id, *span)))
                {
                    let request = SeriesRequest {
                        metric: id,
                        grain,
                        from,
                        to,
                        by: Some(&dimension),
                    };
                    match metrics::compute(&self.store, &self.config, to, &request) {
                        Ok(series) => all.extend(series),
                        Err(err) => {
                            failure = Some(err.to_string());
                            break 'requests;
                        }
                    }
                }
                Msg::BreakdownLoaded {
                    purpose,
                    dimension,
                    result: failure.map_or(Ok(all), Err),
                }
            }
            Effect::Acknowledge { alert } => Msg::AlertSaved {
                result: self.writer().and_then(|writer| {
                    writer
                        .acknowledge_alert(&alert.key, Utc::now())
                        .map_err(|e| e.to_string())
                }),
                alert,
                action: AlertAction::Acknowledge,
            },
            Effect::Undo { alert, action } => Msg::AlertSaved {
                result: self.writer().and_then(|writer| {
                    let key = &alert.key;
                    match action {
                        AlertAction::Unsnooze => writer.unsnooze_alert(key),
                        _ => writer.unacknowledge_alert(key),
                    }
                    .map_err(|e| e.to_string())
                }),
                alert,
                action,
            },
            // ── issue 15 (cockpit): the accounts behind a number, read-only ──
            Effect::Drill(request) => Msg::DrillLoaded {
                result: match request.query() {
                    Some(query) => self.store.account_moves(&query).map_err(|e| e.to_string()),
                    None => Ok(crate::store::accounts::AccountMoves::default()),
                },
                request,
            },
            Effect::Export {
                dir,
                name,
                format,
                contents,
            } => {
                let stamp = chrono::Local::now().format("%Y%m%d-%H%M%S").to_string();
                let file = super::export::file_name(&name, &stamp, format);
                Msg::Exported(
                    super::export::write_new(&dir, &file, &contents)
                        .map_err(|e| format!("{}: {e}", dir.join(&file).display())),
                )
            }
            Effect::Snooze { alert, until } => Msg::AlertSaved {
                result: self.writer().and_then(|writer| {
                    writer
                        .snooze_alert(&alert.key, until, Utc::now())
                        .map_err(|e| e.to_string())
                }),
                alert,
                action: AlertAction::Snooze,
            },
        }
    }

    /// Runs until the effect channel closes. A burst of snapshot requests is served by one
    /// rebuild: only the newest matters.
    pub fn run<E: Send + 'static>(
        mut self,
        effects: &Receiver<Effect>,
        results: &Sender<E>,
        wrap: fn(Msg) -> E,
    ) {
        let mut queued: Vec<Effect> = Vec::new();
        // Live imports waiting for their refresh (see `Pacing`).
        let mut paced: Option<Touched> = None;
        loop {
            if queued.is_empty() {
                let next = match self.next_wake(paced.is_some(), Instant::now()) {
                    None => effects.recv().map_err(|_| RecvTimeoutError::Disconnected),
                    Some(wait) => effects.recv_timeout(wait),
                };
                match next {
                    Ok(effect) => queued.push(effect),
                    Err(RecvTimeoutError::Timeout) => {}
                    Err(RecvTimeoutError::Disconnected) => return,
                }
            }
            queued.extend(effects.try_iter());
            let batch = std::mem::take(&mut queued);
            // A burst of live imports is recomputed once, over all the days they wrote; a
            // full reload makes any refresh moot.
            let mut full = false;
            for effect in batch {
                match effect {
                    Effect::LoadSnapshot => full = true,
                    Effect::Refresh { touched } => match &mut paced {
                        None => paced = Some(touched),
                        Some(all) => all.merge(&touched),
                    },
                    other => {
                        if results.send(wrap(self.perform(other))).is_err() {
                            return;
                        }
                    }
                }
            }
            let now = Instant::now();
            let reload = if full {
                paced = None;
                Reload::Full
            } else if paced.is_some() && self.due(self.last_refresh, self.pacing.refresh_every, now)
            {
                self.last_refresh = Some(now);
                paced.take().map_or(Reload::None, Reload::Touched)
            } else {
                Reload::None
            };
            if reload == Reload::Full
                && let Some(problem) = self.reread_config()
                && results.send(wrap(Msg::Status(problem))).is_err()
            {
                return;
            }
            if reload != Reload::None {
                if !self.reload(&reload, effects, &mut queued, results, wrap) {
                    return;
                }
            } else if self.alerts_deferred
                && paced.is_none()
                && queued.is_empty()
                && self.due(self.last_alerts_at, self.pacing.alerts_every, now)
                && let Some(snapshot) = self.last_metrics.clone()
                && !self.evaluate(&snapshot, true, results, wrap)
            {
                return;
            }
        }
    }

    /// Whether something last done at `last` may be done again at `now`.
    fn due(&self, last: Option<Instant>, every: Duration, now: Instant) -> bool {
        last.is_none_or(|at| now.saturating_duration_since(at) >= every)
    }

    /// How long the worker may wait for effects before paced work is due.
    fn next_wake(&self, refresh_waiting: bool, now: Instant) -> Option<Duration> {
        let until = |last: Option<Instant>, every: Duration| {
            last.map_or(Duration::ZERO, |at| {
                (at + every).saturating_duration_since(now)
            })
        };
        let refresh = refresh_waiting.then(|| until(self.last_refresh, self.pacing.refresh_every));
        let alerts = self
            .alerts_deferred
            .then(|| until(self.last_alerts_at, self.pacing.alerts_every));
        refresh.into_iter().chain(alerts).min()
    }

    /// Sends fresh metrics first (with the last known alerts), then the alerts, which break
    /// every metric down by segment and take longer. When another reload is already
    /// queued, the alerts wait for it rather than be computed for data already replaced.
    /// Returns false when the cockpit is gone.
    fn reload<E: Send + 'static>(
        &mut self,
        reload: &Reload,
        effects: &Receiver<Effect>,
        queued: &mut Vec<Effect>,
        results: &Sender<E>,
        wrap: fn(Msg) -> E,
    ) -> bool {
        let send = |msg: Msg| results.send(wrap(msg)).is_ok();
        match (reload, &mut self.written_since_alerts) {
            (Reload::Touched(touched), Some(written)) => written.merge(touched),
            (Reload::Touched(_), None) => {}
            _ => self.written_since_alerts = None,
        }
        if !self.loaded_once {
            self.loaded_once = true;
            // The first frame needs only the core KPIs (SPEC §8: 150 ms); the rest follows.
            let overview = snapshot::build_overview(&self.store, &self.config, self.as_of);
            if !send(Msg::SnapshotLoaded(self.with_last_alerts(overview))) {
                return false;
            }
        }
        let metrics = match (reload, &self.last_metrics) {
            (Reload::Touched(touched), Some(previous)) => {
                snapshot::refresh_metrics(&self.store, &self.config, self.as_of, previous, touched)
            }
            _ => snapshot::build_metrics(&self.store, &self.config, self.as_of),
        };
        let Ok(snapshot) = &metrics else {
            return send(Msg::SnapshotLoaded(self.with_last_alerts(metrics)));
        };
        let snapshot = snapshot.clone();
        self.last_metrics = Some(snapshot.clone());
        if !send(Msg::SnapshotLoaded(self.with_last_alerts(metrics))) {
            return false;
        }
        queued.extend(effects.try_iter());
        let live_too_soon = matches!(reload, Reload::Touched(_))
            && !self.due(
                self.last_alerts_at,
                self.pacing.alerts_every,
                Instant::now(),
            );
        if live_too_soon
            || queued
                .iter()
                .any(|e| matches!(e, Effect::LoadSnapshot | Effect::Refresh { .. }))
        {
            self.alerts_deferred = true;
            return true;
        }
        self.evaluate(
            &snapshot,
            matches!(reload, Reload::Touched(_)),
            results,
            wrap,
        )
    }

    /// Evaluates the alerts of `snapshot` (from what the last evaluation left, when only
    /// live imports came since) and sends them. Returns false when the cockpit is gone.
    /// `live`: after live imports, which start the pacing window; a full reload ends it,
    /// so the first append after one is judged at once.
    fn evaluate<E: Send + 'static>(
        &mut self,
        snapshot: &Snapshot,
        live: bool,
        results: &Sender<E>,
        wrap: fn(Msg) -> E,
    ) -> bool {
        let send = |msg: Msg| results.send(wrap(msg)).is_ok();
        self.alerts_deferred = false;
        self.last_alerts_at = live.then(Instant::now);
        let since = match (&self.last_alerts, &self.written_since_alerts) {
            (Some(previous), Some(touched)) if self.alerts_as_of == snapshot.as_of => {
                Some(crate::alerts::Since { previous, touched })
            }
            _ => None,
        };
        // Kept rows serve an incremental evaluation only; a full one reads afresh.
        let kept = match since {
            Some(since) => self.segment_days.forget(&self.store, since.touched).is_ok(),
            None => false,
        };
        if !kept {
            self.segment_days = crate::alerts::SegmentDays::default();
        }
        let as_of = snapshot
            .as_of
            .unwrap_or_else(|| chrono::Local::now().date_naive());
        let mut evaluation = crate::alerts::evaluate_since_keeping(
            &self.store,
            &snapshot.config,
            as_of,
            &snapshot.metrics,
            since,
            &mut self.segment_days,
        );
        if let (Ok(evaluation), Some(writer), Some(as_of)) =
            (&mut evaluation, &self.writer, snapshot.as_of)
            && let Err(err) = crate::alerts::record_sightings(writer, as_of, Utc::now(), evaluation)
        {
            // The alerts themselves are right; only their first-seen stamps wait for the
            // next evaluation.
            let _ = results.send(wrap(Msg::Status(format!(
                "could not record alert sightings: {err}"
            ))));
        }
        if let Ok(evaluation) = &evaluation {
            self.notify(evaluation, snapshot.as_of, results, wrap);
            self.last_alerts = Some(evaluation.clone());
            self.alerts_as_of = snapshot.as_of;
            self.written_since_alerts = Some(Touched::default());
        }
        send(Msg::AlertsLoaded(
            evaluation.map(Box::new).map_err(|e| format!("{e:#}")),
        ))
    }

    fn with_last_alerts(
        &self,
        snapshot: Result<Snapshot, MetricError>,
    ) -> Result<Box<Snapshot>, String> {
        let mut snapshot = snapshot.map_err(|e| format!("{e:#}"))?;
        if let Some(evaluation) = &self.last_alerts {
            snapshot.apply(evaluation.clone());
        }
        Ok(Box::new(snapshot))
    }
}

impl Worker {
    /// Hands the open alerts to the notifier thread (sending may wait on timeouts and
    /// retries; neither the worker nor the screen waits for it), and tells the Alerts pane
    /// what the delivery log holds for the evaluation's alerts.
    fn notify<E: Send + 'static>(
        &mut self,
        evaluation: &Evaluation,
        as_of: Option<NaiveDate>,
        results: &Sender<E>,
        wrap: fn(Msg) -> E,
    ) {
        let keys: Vec<&str> = evaluation.alerts.iter().map(|a| a.key.as_str()).collect();
        if let Ok(rows) = self.store.deliveries_for(&keys) {
            let _ = results.send(wrap(Msg::DeliveriesLoaded(rows)));
        }
        // Sightings are recorded only through the writer: without it, occurrences are not
        // known well enough to send each once.
        if !self.notify || self.writer.is_none() {
            return;
        }
        let Some(as_of) = as_of else { return };
        let open = evaluation.open_alerts(as_of);
        if self.notifier.is_none() {
            self.notifier = spawn_notifier(
                self.store.path().to_path_buf(),
                self.config.clone(),
                results.clone(),
                wrap,
            );
        }
        if let Some(notifier) = &self.notifier
            && notifier.send(open).is_err()
        {
            self.notifier = None;
        }
    }
}

/// The notifier thread: sends each batch of open alerts with its own write connection,
/// and reports to the cockpit. A batch queued behind a slow one is superseded by the
/// newest: it holds every alert still open.
fn spawn_notifier<E: Send + 'static>(
    db: std::path::PathBuf,
    config: Config,
    results: Sender<E>,
    wrap: fn(Msg) -> E,
) -> Option<Sender<Vec<crate::alerts::Alert>>> {
    let (batches, inbox) = std::sync::mpsc::channel::<Vec<crate::alerts::Alert>>();
    let spawned = std::thread::Builder::new()
        .name("kpi-notify".into())
        .spawn(move || {
            let mut writer: Option<Store> = None;
            while let Ok(first) = inbox.recv() {
                let open = inbox.try_iter().last().unwrap_or(first);
                if writer.is_none() {
                    match open_writer(&db) {
                        Ok(store) => writer = Some(store),
                        Err(err) => {
                            let text = format!("notify: cannot record deliveries: {err:#}");
                            if results.send(wrap(Msg::Status(text))).is_err() {
                                return;
                            }
                            continue;
                        }
                    }
                }
                let Some(store) = &writer else { continue };
                let status = match crate::notify::deliver(store, &config, &open) {
                    Ok(reports) => notify_status(&reports),
                    Err(err) => Some(format!("notify: {err}")),
                };
                if let Some(text) = status
                    && results.send(wrap(Msg::Status(text))).is_err()
                {
                    return;
                }
                let keys: Vec<&str> = open.iter().map(|a| a.key.as_str()).collect();
                if let Ok(rows) = store.deliveries_for(&keys)
                    && results.send(wrap(Msg::DeliveriesLoaded(rows))).is_err()
                {
                    return;
                }
            }
        });
    spawned.ok().map(|_| batches)
}

/// The status line for a notifier round, when it did anything: how many were sent, and
/// the first reason one was not.
fn notify_status(reports: &[crate::notify::Report]) -> Option<String> {
    if reports.is_empty() {
        return None;
    }
    let sent = reports.iter().filter(|r| r.sent).count();
    let pending: Vec<&crate::notify::Report> = reports.iter().filter(|r| !r.sent).collect();
    Some(match pending.first() {
        None => format!(
            "notify: sent {sent} alert notification{}",
            if sent == 1 { "" } else { "s" }
        ),
        Some(first) => format!(
            "notify: sent {sent}, {} pending ({}: {})",
            pending.len(),
            first.destination,
            first.answer
        ),
    })
}

/// What a batch of effects asks the metrics to do.
#[derive(Debug, PartialEq)]
enum Reload {
    None,
    /// Recompute what depends on these days (a live import).
    Touched(Touched),
    /// Rebuild everything.
    Full,
}

impl Worker {
    /// The write connection, opened on first use; refused on a store whose permissions
    /// deny writing, which the cockpit still shows.
    fn writer(&mut self) -> Result<&Store, String> {
        if self.writer.is_none() {
            self.writer = Some(open_writer(self.store.path()).map_err(|e| format!("{e:#}"))?);
        }
        self.writer
            .as_ref()
            .ok_or_else(|| "no write connection".to_string())
    }
}

fn open_writer(db: &Path) -> Result<Store, StoreError> {
    if !crate::store::permits_writing(db) {
        return Err(StoreError::ReadOnly(db.to_path_buf()));
    }
    Store::open(db)
}

/// Opens the store for the worker; the UI thread never holds a connection. `writing`:
/// the cockpit writes the store anyway (a live import), so the worker records alert
/// sightings from the start; otherwise it opens a write connection only when the user
/// acknowledges or snoozes.
pub fn open(
    db: &Path,
    config: Config,
    as_of: Option<NaiveDate>,
    writing: bool,
) -> Result<Worker, StoreError> {
    // A live import may start from no store at all: the writer creates it.
    let writer = if writing {
        Some(open_writer(db)?)
    } else {
        None
    };
    let store = Store::open_for_reading(db)?;
    let config_has_no_destinations = config.notify.destinations.is_empty();
    Ok(Worker {
        store,
        writer,
        config,
        as_of,
        loaded_once: false,
        last_alerts: None,
        alerts_as_of: None,
        written_since_alerts: None,
        segment_days: crate::alerts::SegmentDays::default(),
        last_metrics: None,
        config_file: None,
        notify: writing && !config_has_no_destinations,
        notifier: None,
        pacing: Pacing::default(),
        last_refresh: None,
        last_alerts_at: None,
        alerts_deferred: false,
    })
}
