//! `update(&mut App, Msg) -> Option<Effect>`: the only code that changes the cockpit's
//! state. It does no I/O; anything that needs the store is returned as an [`Effect`] for
//! the worker thread, whose answer comes back as another [`Msg`].

use std::collections::BTreeSet;

use chrono::NaiveDate;

use crate::alerts::Alert;
use crate::metrics::{Grain, Period, Series};
use crate::snapshot::Snapshot;
use crate::store::rollup::Touched;

use super::app::{
    App, Compare, DataSection, Drill, DrillOrigin, DriverFocus, LiveStatus, OVERALL, PickerPurpose,
    PickerStage, RANGES, SegmentPicker, SegmentPoint, Tab, VARIANTS,
};
use super::keymap::{AlertAction, Msg};
use super::mouse::{Hit, ListId};
use crate::metrics::{MetricDef, Unit};
use crate::store::accounts::{AccountMeasure, AccountQuery};

/// Rows PgUp and PgDn move: about what a list shows at 80×24.
pub const PAGE: isize = 10;

/// Periods fetched for a segment breakdown: the longest range, so `[` and `]` never refetch.
const BREAKDOWN_PERIODS: usize = RANGES[RANGES.len() - 1];

/// Work for the worker thread, which owns its own store connection.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Rebuild the snapshot (metrics, cohorts, alerts, data status) from the store.
    LoadSnapshot,
    /// An import wrote these days: recompute what depends on them (live monitoring).
    Refresh {
        touched: Touched,
    },
    /// Compute `metrics` broken down by `dimension` over `from..=to`.
    Breakdown {
        purpose: PickerPurpose,
        metrics: Vec<String>,
        grain: Grain,
        dimension: String,
        from: NaiveDate,
        to: NaiveDate,
        /// Also by month from this date (the Trends pane's monthly bars), when `grain` is
        /// not already month.
        months_from: Option<NaiveDate>,
    },
    Acknowledge {
        alert: Box<Alert>,
    },
    Snooze {
        alert: Box<Alert>,
        until: NaiveDate,
    },
    /// Undo an acknowledgement or a snooze (`action` is `Unacknowledge` or `Unsnooze`).
    Undo {
        alert: Box<Alert>,
        action: AlertAction,
    },
    // ── issue 15 (cockpit) ──
    /// Read the accounts behind a number (a read-only store query).
    Drill(Box<DrillRequest>),
    /// `e`: write `contents` to a new file in `dir` named after `name` and the time.
    Export {
        dir: std::path::PathBuf,
        name: String,
        format: super::export::Format,
        contents: String,
    },
}

// ── issue 15 (cockpit): drill-down, compare, annotations, mouse ──

/// Accounts listed by a drill-down.
pub const DRILL_ACCOUNTS: usize = 10;

/// The accounts behind one number: a metric (maybe of one segment) between two periods.
#[derive(Debug, Clone, PartialEq)]
pub struct DrillRequest {
    pub metric: String,
    pub segment: Option<crate::metrics::Segment>,
    pub before: Period,
    pub after: Period,
    /// What is summed per account; `None` when the metric's tables hold no per-account
    /// measure (the view says so and nothing is read).
    pub measure: Option<AccountMeasure>,
}

impl DrillRequest {
    pub fn query(&self) -> Option<AccountQuery> {
        Some(AccountQuery {
            measure: self.measure?,
            before: (self.before.start, self.before.end()),
            after: (self.after.start, self.after.end()),
            segment: self
                .segment
                .as_ref()
                .map(|s| (s.dimension.clone(), s.value.clone())),
            limit: DRILL_ACCOUNTS,
        })
    }
}

/// The per-account measure that explains a metric: the first of its source tables that
/// has accounts, in the metric's own kind of unit (a count of orders for a count, revenue
/// otherwise).
pub fn account_measure(metric: &MetricDef) -> Option<AccountMeasure> {
    metric.sources.iter().find_map(|table| match *table {
        "orders" if metric.unit == Unit::Count => Some(AccountMeasure::CompletedOrders),
        "orders" => Some(AccountMeasure::OrderRevenue),
        "subscriptions" => Some(AccountMeasure::Mrr),
        "events" => Some(AccountMeasure::Events),
        "tickets" => Some(AccountMeasure::Tickets),
        _ => None,
    })
}

/// Opens the drill-down of `origin` for `metric` between two periods; the worker reads
/// the accounts when the metric has them.
fn open_drill(
    app: &mut App,
    origin: DrillOrigin,
    metric: &str,
    segment: Option<crate::metrics::Segment>,
    (before, after): (Period, Period),
) -> Option<Effect> {
    let measure = app.snapshot.metric(metric).and_then(account_measure);
    let request = DrillRequest {
        metric: metric.to_string(),
        segment,
        before,
        after,
        measure,
    };
    let effect = measure.map(|_| Effect::Drill(Box::new(request.clone())));
    app.drill = Some(Drill {
        origin,
        request,
        result: None,
    });
    effect
}

/// Enter on a tile: the periods it compares (in compare mode, the two compared).
fn drill_tile(app: &mut App) -> Option<Effect> {
    let index = app.overview.selected;
    let id = app.snapshot.config.core_kpis.get(index)?.to_string();
    let periods = match app.compare_periods() {
        Some((shown, base)) => (base, shown),
        None => {
            let series = app.snapshot.series(&id, app.grain);
            let latest = series
                .and_then(|s| super::view::latest_pair(s).0)
                .map(|p| p.period)
                .or_else(|| app.latest_complete())?;
            (latest.prev(), latest)
        }
    };
    open_drill(app, DrillOrigin::Tile(index), &id, None, periods)
}

/// Enter on an alert: its period against the one before, for its segment. A target's
/// alert is dated by the target; its value is the latest complete period's.
fn drill_alert(app: &mut App) -> Option<Effect> {
    let alert = app.selected_alert()?.clone();
    if alert.kind == crate::alerts::AlertKind::ImportFailure {
        return None;
    }
    let after = Period::parse(&alert.period)
        .filter(|p| p.grain == alert.grain && alert.kind == crate::alerts::AlertKind::Deviation)
        .or_else(|| {
            let as_of = app.snapshot.as_of?;
            let current = Period::containing(alert.grain, as_of);
            Some(if current.end() == as_of {
                current
            } else {
                current.prev()
            })
        })?;
    open_drill(
        app,
        DrillOrigin::Alert(alert.key.clone()),
        &alert.metric,
        alert.segment.clone(),
        (after.prev(), after),
    )
}

fn drill_loaded(
    app: &mut App,
    request: &DrillRequest,
    result: Result<crate::store::accounts::AccountMoves, String>,
) {
    // An answer to a drill-down since closed or replaced is dropped.
    if let Some(drill) = &mut app.drill
        && drill.request == *request
    {
        drill.result = Some(result);
    }
}

fn step_annotation(app: &mut App, delta: isize) {
    if app.tab != Tab::Trends {
        switch_tab(app, Tab::Trends);
    }
    let len = app.snapshot.annotations.len();
    if len == 0 {
        app.status = Some("no annotations — import annotations (date, label)".into());
        return;
    }
    let next = match app.trends.annotation {
        // From none: the first annotation of the range drawn (`n`), or its last (`N`), so
        // the first press lands on the chart the user is looking at.
        None => {
            let drawn = app.latest_complete().map(|last| {
                let mut first = last;
                for _ in 1..app.periods_drawn() {
                    first = first.prev();
                }
                (first.start, last.end())
            });
            let dates = app.snapshot.annotations.iter().map(|a| a.date);
            let inside = |d: &NaiveDate| drawn.is_none_or(|(from, to)| (from..=to).contains(d));
            if delta < 0 {
                dates
                    .enumerate()
                    .filter(|(_, d)| inside(d))
                    .map(|(i, _)| i)
                    .next_back()
                    .unwrap_or(len - 1)
            } else {
                dates
                    .enumerate()
                    .find(|(_, d)| inside(d))
                    .map_or(0, |(i, _)| i)
            }
        }
        Some(current) => current.saturating_add_signed(delta).min(len - 1),
    };
    app.trends.annotation = Some(next);
    if let Some(a) = app.snapshot.annotations.get(next) {
        app.status = Some(format!(
            "annotation {} of {len}: {} {}",
            next + 1,
            a.date,
            crate::present::clean(&a.label)
        ));
    }
}

fn toggle_compare(app: &mut App) {
    if !matches!(app.tab, Tab::Overview | Tab::Trends) {
        app.status = Some("c compares two periods in Overview (1) and Trends (2)".into());
        return;
    }
    app.drill = None;
    app.compare = match app.compare {
        Some(_) => None,
        None => Some(Compare::year_over_year(app.grain)),
    };
}

fn move_compare(app: &mut App, base: bool, delta: isize) {
    let Some(compare) = &mut app.compare else {
        app.status = Some("< > { } move the periods compared: c starts comparing".into());
        return;
    };
    if base {
        // `<` (−1) moves the base earlier: a longer gap.
        compare.base_gap = compare.base_gap.saturating_add_signed(-delta).max(1);
    } else {
        compare.shown_back = compare.shown_back.saturating_add_signed(-delta);
    }
    app.drill = None;
}

fn click(app: &mut App, hit: Hit) -> Option<Effect> {
    match hit {
        Hit::Tab(tab) => switch_tab(app, tab),
        Hit::Tile(index) => {
            if app.tab != Tab::Overview || index >= app.snapshot.config.core_kpis.len() {
                return None;
            }
            if app.overview.selected == index && app.drill.is_none() {
                return enter(app);
            }
            app.overview.selected = index;
            app.drill = None;
        }
        Hit::Row(list, index) => return click_row(app, list, index),
        Hit::CohortCell { row, col } => {
            if (app.cohorts.row, app.cohorts.col) == (row, col) {
                return enter(app);
            }
            app.cohorts.row = row;
            app.cohorts.col = col;
            clamp(app);
        }
        Hit::Chart => {}
    }
    None
}

/// A click on a row selects it (moving as the arrow keys would, so what a move clears
/// is cleared); a click on the selected row opens it as Enter does.
fn click_row(app: &mut App, list: ListId, index: usize) -> Option<Effect> {
    if list != ListId::Picker {
        app.picker = None;
    }
    let current = match list {
        ListId::Picker => app.picker.as_ref().map(|p| p.selected),
        ListId::Metrics => Some(app.trends.selected),
        ListId::Annotations => app.trends.annotation,
        ListId::DriverKpis => {
            app.drivers.focus = DriverFocus::Kpi;
            Some(app.drivers.kpi)
        }
        ListId::DriverOptions => {
            app.drivers.focus = DriverFocus::Driver;
            Some(app.drivers.driver)
        }
        ListId::Alerts => Some(app.alerts.selected),
        ListId::Data(section) => {
            if app.data.section != section {
                app.data.section = section;
                app.data.detail = false;
            }
            Some(app.data.selected[section_index(section)])
        }
    };
    if list == ListId::Annotations {
        if index < app.snapshot.annotations.len() {
            app.trends.annotation = Some(index);
        }
        return None;
    }
    match current {
        Some(current) if current == index => enter(app),
        Some(current) => {
            let delta = isize::try_from(index).unwrap_or(isize::MAX)
                - isize::try_from(current).unwrap_or(isize::MAX);
            step(app, delta);
            None
        }
        None => None,
    }
}

/// A round of live imports: show the folder's state, and reload when data changed.
fn live_imported(app: &mut App, batch: super::live::LiveBatch) -> Option<Effect> {
    let live = app
        .live
        .get_or_insert_with(|| LiveStatus::new(batch.state.dir.clone()));
    live.state = batch.state;
    live.progress = None;
    live.importing = None;
    if batch.failed > 0 {
        app.status = Some(format!(
            "! {} file{} failed to import — see Data (6)",
            batch.failed,
            if batch.failed == 1 { "" } else { "s" }
        ));
    }
    if batch.imported == 0 {
        return None;
    }
    live.last_update = Some(batch.at);
    app.loading = true;
    Some(Effect::Refresh {
        touched: batch.touched,
    })
}

/// Metrics whose overall series differ between two snapshots (any grain).
fn changed_metrics(old: &Snapshot, new: &Snapshot) -> BTreeSet<String> {
    new.series
        .iter()
        .filter(|s| s.segment.is_none())
        .filter(|s| {
            old.series(&s.metric, s.grain)
                .is_none_or(|o| o.points != s.points)
        })
        .map(|s| s.metric.clone())
        .collect()
}

pub fn update(app: &mut App, msg: Msg) -> Option<Effect> {
    match msg {
        Msg::Quit => app.quit = true,
        Msg::Help => app.help = !app.help,
        Msg::GoTo(tab) => switch_tab(app, tab),
        Msg::NextTab => switch_tab(app, app.tab.next()),
        Msg::PrevTab => switch_tab(app, app.tab.prev()),
        Msg::Up => step(app, -1),
        Msg::Down => step(app, 1),
        Msg::PageUp => step(app, -PAGE),
        Msg::PageDown => step(app, PAGE),
        Msg::First => step(app, isize::MIN),
        Msg::Last => step(app, isize::MAX),
        Msg::Left => sideways(app, -1),
        Msg::Right => sideways(app, 1),
        Msg::Enter => return enter(app),
        Msg::Back => back(app),
        Msg::Filter => match app.tab {
            Tab::Alerts => {
                app.alerts.filtering = true;
                app.alerts.detail = false;
            }
            Tab::Data => {
                app.data.filtering = true;
                app.data.section = DataSection::Rejects;
                app.data.detail = false;
            }
            _ => {
                switch_tab(app, Tab::Trends);
                app.trends.filtering = true;
            }
        },
        Msg::FilterInput(c) => {
            if !c.is_control() {
                edit_filter(app, |f| f.push(c));
            }
        }
        Msg::FilterBackspace => edit_filter(app, |f| {
            f.pop();
        }),
        Msg::PickSegment => open_picker(app),
        Msg::CycleGrain => {
            app.grain = match app.grain {
                Grain::Day => Grain::Week,
                Grain::Week => Grain::Month,
                Grain::Month => Grain::Day,
            };
            // Periods back at one grain mean nothing at another: a year back again.
            if app.compare.is_some() {
                app.compare = Some(Compare::year_over_year(app.grain));
            }
            app.drill = None;
            return refresh_segments(app);
        }
        Msg::RangeShorter => app.range = app.range.saturating_sub(1),
        Msg::RangeLonger => app.range = (app.range + 1).min(RANGES.len() - 1),
        Msg::CycleVariant => {
            if app.tab == Tab::Cohorts {
                app.cohorts.variant = (app.cohorts.variant + 1) % VARIANTS.len();
                clamp(app);
            } else {
                app.status = Some("v switches the cohort variant in Cohorts (4)".into());
            }
        }
        Msg::CycleMeasure => {
            if app.tab == Tab::Cohorts {
                app.cohorts.measure = match app.cohorts.measure {
                    super::app::CohortMeasure::Share => super::app::CohortMeasure::Members,
                    super::app::CohortMeasure::Members => super::app::CohortMeasure::Share,
                };
            } else {
                app.status = Some("m switches the cohort measure in Cohorts (4)".into());
            }
        }
        Msg::Acknowledge => return alert_action(app, AlertAction::Acknowledge),
        Msg::Snooze => return alert_action(app, AlertAction::Snooze),
        Msg::Reload => {
            app.loading = true;
            return Some(Effect::LoadSnapshot);
        }
        Msg::Resize => {}
        Msg::SnapshotLoaded(result) => {
            app.loading = false;
            match result {
                Ok(snapshot) => {
                    if app.live.is_some() {
                        app.changed = changed_metrics(&app.snapshot, &snapshot);
                    }
                    app.snapshot = *snapshot;
                    app.apply_config();
                    app.checking_alerts = true;
                    clamp(app);
                }
                Err(err) => app.status = Some(format!("could not load the store: {err}")),
            }
        }
        Msg::AlertsLoaded(result) => {
            app.checking_alerts = false;
            match result {
                Ok(evaluation) => {
                    app.alerts_error = None;
                    app.snapshot.apply(*evaluation);
                    clamp(app);
                }
                Err(err) => {
                    app.status = Some(format!("could not evaluate alerts: {err}"));
                    app.alerts_error = Some(err);
                }
            }
        }
        Msg::Status(text) => app.status = Some(text),
        Msg::Copy => copy(app),
        Msg::ToggleLaunch => {
            if app.snapshot.data.launch.is_none() {
                app.status = Some(
                    "the hourly view counts events (they carry a time; orders only a date) — \
                     import events"
                        .into(),
                );
            } else if app.tab == Tab::Overview {
                app.overview.launch = !app.overview.launch;
            } else {
                switch_tab(app, Tab::Overview);
                app.overview.launch = true;
            }
        }
        Msg::Export(format) => return export(app, format),
        Msg::Exported(result) => {
            app.status = Some(match result {
                Ok(path) => format!("exported to {}", path.display()),
                Err(err) => format!("could not export: {err}"),
            });
        }
        Msg::DeliveriesLoaded(rows) => {
            let keys: BTreeSet<String> = rows.iter().map(|d| d.alert_key.clone()).collect();
            app.alerts
                .deliveries
                .retain(|d| !keys.contains(&d.alert_key));
            app.alerts.deliveries.extend(rows);
        }
        Msg::LiveProgress { done, total } => {
            if let Some(live) = &mut app.live {
                live.progress = Some((done, total));
            }
        }
        Msg::ImportProgress { file, at } => {
            if let Some(live) = &mut app.live {
                live.importing = Some((file, at));
            }
        }
        Msg::LiveImported(batch) => return live_imported(app, *batch),
        // ── issue 15 (cockpit) ──
        Msg::Click(hit) => return click(app, hit),
        Msg::NextAnnotation => step_annotation(app, 1),
        Msg::PrevAnnotation => step_annotation(app, -1),
        Msg::Compare => toggle_compare(app),
        Msg::CompareBase(delta) => move_compare(app, true, delta),
        Msg::CompareShown(delta) => move_compare(app, false, delta),
        Msg::DrillLoaded { request, result } => drill_loaded(app, &request, result),
        Msg::LiveFailed(reason) => {
            if let Some(live) = &mut app.live {
                live.error = Some(reason.clone());
            }
            app.status = Some(format!("watch failed: {reason}"));
        }
        Msg::BreakdownLoaded {
            purpose,
            dimension,
            result,
        } => breakdown_loaded(app, purpose, dimension, result),
        Msg::AlertSaved {
            alert,
            action,
            result,
        } => {
            app.status = Some(match (&result, action) {
                (Ok(()), AlertAction::Acknowledge) => {
                    format!("acknowledged {}", alert_name(&alert))
                }
                (Ok(()), AlertAction::Snooze) => format!(
                    "snoozed {} until {}",
                    alert_name(&alert),
                    crate::alerts::snooze_until(app.reference_date())
                ),
                (Ok(()), AlertAction::Unacknowledge) => {
                    format!(
                        "{} is open again (acknowledgement undone)",
                        alert_name(&alert)
                    )
                }
                (Ok(()), AlertAction::Unsnooze) => {
                    format!("{} is open again (snooze undone)", alert_name(&alert))
                }
                (Err(err), _) => format!("could not save {}: {err}", alert_name(&alert)),
            });
            // The store is the truth: reload so the list shows what was persisted.
            app.loading = true;
            return Some(Effect::LoadSnapshot);
        }
    }
    None
}

/// `y`: the selected alert (Alerts) or the focused metric's series (Overview, Trends,
/// Drivers) as text, for the event loop to put on the clipboard.
fn copy(app: &mut App) {
    let copied = if app.tab == Tab::Alerts {
        super::export::alert_text(app).map(|text| (text, "the selected alert".to_string()))
    } else {
        super::export::metric_table(app).map(|table| {
            let what = format!("{}, {} periods", table.title, table.len());
            (table.to_clipboard(), what)
        })
    };
    app.status = Some(match copied {
        Some((text, what)) => {
            app.clipboard = Some(text);
            format!("copied: {what} (OSC 52)")
        }
        None => "y copies a metric (1-3) or the selected alert (5)".into(),
    });
}

/// `e` / `E`: the current pane's data, written beside the store by the worker.
fn export(app: &mut App, format: super::export::Format) -> Option<Effect> {
    let table = super::export::pane_table(app);
    if table.is_empty() {
        app.status = Some(format!("nothing to export in {}", app.tab.title()));
        return None;
    }
    let contents = match format {
        super::export::Format::Csv => table.to_csv(),
        super::export::Format::Markdown => table.to_markdown(&app.snapshot.config.currency),
    };
    let dir = app
        .snapshot
        .store
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .map_or_else(
            || std::path::PathBuf::from("."),
            std::path::Path::to_path_buf,
        );
    app.status = Some(format!("exporting {} rows…", table.len()));
    Some(Effect::Export {
        dir,
        name: table.name,
        format,
        contents,
    })
}

fn alert_name(alert: &Alert) -> String {
    let segment = alert
        .segment
        .as_ref()
        .map(|s| format!(" {}={}", s.dimension, s.value))
        .unwrap_or_default();
    crate::present::clean(&format!("{}{segment} {}", alert.metric, alert.period)).into_owned()
}

/// Changes the filter of the pane that has one, keeping the selected row selected while
/// it still matches (so clearing a filter returns to where the user was).
fn edit_filter(app: &mut App, edit: impl FnOnce(&mut String)) {
    match app.tab {
        Tab::Alerts => {
            let key = app.selected_alert().map(|a| a.key.clone());
            edit(&mut app.alerts.filter);
            app.alerts.selected = app
                .alert_order()
                .iter()
                .position(|a| Some(&a.key) == key.as_ref())
                .unwrap_or(0);
        }
        Tab::Data => {
            let current = app
                .filtered_rejects()
                .get(app.data.selected[2])
                .map(|r| (*r).clone());
            edit(&mut app.data.filter);
            app.data.selected[2] = app
                .filtered_rejects()
                .iter()
                .position(|r| Some(*r) == current.as_ref())
                .unwrap_or(0);
        }
        _ => {
            let id = app.trend_metric().map(|m| m.id.clone());
            edit(&mut app.trends.filter);
            let list = app.filtered_metrics();
            let kept = list.iter().position(|m| Some(&m.id) == id.as_ref());
            app.trends.selected = kept.unwrap_or(0);
            if kept.is_none() {
                app.trends.clear_segment();
            }
        }
    }
}

fn switch_tab(app: &mut App, tab: Tab) {
    // A message is about the pane it was given on.
    if app.tab != tab {
        app.status = None;
    }
    app.tab = tab;
    app.picker = None;
    app.help = false;
    app.drill = None;
    app.trends.filtering = false;
    app.alerts.filtering = false;
    app.data.filtering = false;
}

fn bump(value: &mut usize, delta: isize, len: usize) {
    if len == 0 {
        *value = 0;
    } else {
        *value = value.saturating_add_signed(delta).min(len - 1);
    }
}

fn step(app: &mut App, delta: isize) {
    if let Some(picker) = &mut app.picker {
        let len = picker.len();
        bump(&mut picker.selected, delta, len);
        return;
    }
    match app.tab {
        Tab::Overview => {
            let len = app.snapshot.config.core_kpis.len();
            bump(&mut app.overview.selected, delta, len);
            app.drill = None;
        }
        Tab::Trends => {
            let len = app.filtered_metrics().len();
            let before = app.trends.selected;
            bump(&mut app.trends.selected, delta, len);
            if before != app.trends.selected {
                app.trends.clear_segment();
            }
        }
        Tab::Drivers => match app.drivers.focus {
            DriverFocus::Kpi => {
                let len = app.snapshot.metrics.len();
                bump(&mut app.drivers.kpi, delta, len);
                app.drivers.driver = 0;
                app.drivers.by_segment = None;
            }
            DriverFocus::Driver => {
                let len = app.driver_options().len();
                bump(&mut app.drivers.driver, delta, len);
                app.drivers.by_segment = None;
            }
        },
        Tab::Cohorts => {
            let len = app.cohort_matrix().map_or(0, |m| m.rows.len());
            bump(&mut app.cohorts.row, delta, len);
            clamp(app);
        }
        Tab::Alerts => {
            let len = app.alert_order().len();
            bump(&mut app.alerts.selected, delta, len);
        }
        Tab::Data => {
            let section = app.data.section;
            let len = app.data_rows(section);
            let index = section_index(section);
            bump(&mut app.data.selected[index], delta, len);
        }
    }
}

fn section_index(section: DataSection) -> usize {
    DataSection::ALL
        .iter()
        .position(|s| *s == section)
        .unwrap_or(0)
}

fn sideways(app: &mut App, delta: isize) {
    match app.tab {
        Tab::Overview => {
            let len = app.snapshot.config.core_kpis.len();
            bump(&mut app.overview.selected, delta, len);
            app.drill = None;
        }
        Tab::Drivers => {
            app.drivers.focus = if delta < 0 {
                DriverFocus::Kpi
            } else {
                DriverFocus::Driver
            };
        }
        Tab::Cohorts => {
            let width = cohort_width(app);
            bump(&mut app.cohorts.col, delta, width);
        }
        Tab::Data => {
            let mut index = section_index(app.data.section);
            bump(&mut index, delta, DataSection::ALL.len());
            app.data.section = DataSection::ALL[index];
            app.data.detail = false;
        }
        Tab::Trends | Tab::Alerts => {}
    }
}

/// Columns of the cohort row under the cursor (observed plus forecast).
fn cohort_width(app: &App) -> usize {
    app.cohort_matrix()
        .and_then(|m| m.rows.get(app.cohorts.row))
        .map_or(0, |r| r.cells.len().max(r.forecast.len()))
}

fn enter(app: &mut App) -> Option<Effect> {
    if app.picker.is_some() {
        return choose_in_picker(app);
    }
    match app.tab {
        // The first Enter on a tile shows the accounts behind it; Enter there opens its
        // trend.
        Tab::Overview if app.drill.is_none() => return drill_tile(app),
        Tab::Overview => {
            let id = app
                .snapshot
                .config
                .core_kpis
                .get(app.overview.selected)
                .cloned();
            if let Some(id) = id
                && let Some(index) = app.snapshot.metrics.iter().position(|m| m.id == id)
            {
                app.trends.filter.clear();
                app.trends.selected = index;
                app.trends.clear_segment();
                switch_tab(app, Tab::Trends);
            }
        }
        Tab::Trends if app.trends.filtering => app.trends.filtering = false,
        Tab::Trends => {}
        Tab::Drivers => {
            app.drivers.focus = match app.drivers.focus {
                DriverFocus::Kpi => DriverFocus::Driver,
                DriverFocus::Driver => DriverFocus::Kpi,
            };
        }
        Tab::Cohorts => app.cohorts.detail = app.cohort_matrix().is_some(),
        Tab::Alerts if app.alerts.filtering => app.alerts.filtering = false,
        // Details of another alert than the one drilled into (moved with ↑↓): drill again.
        Tab::Alerts if app.alerts.detail => return drill_alert(app),
        Tab::Alerts => {
            app.alerts.detail = !app.alert_order().is_empty();
            if app.alerts.detail {
                return drill_alert(app);
            }
        }
        Tab::Data if app.data.filtering => app.data.filtering = false,
        Tab::Data => {
            app.data.detail =
                app.data.section != DataSection::Tables && app.data_rows(app.data.section) > 0;
        }
    }
    None
}

fn back(app: &mut App) {
    if app.help {
        app.help = false;
    } else if app.picker.is_some() {
        app.picker = None;
    } else if app.drill.is_some() && app.tab == Tab::Overview {
        app.drill = None;
    } else if app.filtering() {
        app.trends.filtering = false;
        app.alerts.filtering = false;
        app.data.filtering = false;
        edit_filter(app, String::clear);
    } else {
        match app.tab {
            Tab::Trends => {
                if app.trends.annotation.is_some() {
                    app.trends.annotation = None;
                } else if app.compare.is_some() {
                    app.compare = None;
                } else if app.trends.segment.is_some() {
                    app.trends.clear_segment();
                } else if !app.trends.filter.is_empty() {
                    edit_filter(app, String::clear);
                }
            }
            Tab::Drivers => app.drivers.by_segment = None,
            Tab::Cohorts => app.cohorts.detail = false,
            Tab::Alerts => {
                if app.alerts.detail {
                    app.alerts.detail = false;
                    app.drill = None;
                } else {
                    edit_filter(app, String::clear);
                }
            }
            Tab::Data => {
                if app.data.detail {
                    app.data.detail = false;
                } else {
                    edit_filter(app, String::clear);
                }
            }
            Tab::Overview => app.compare = None,
        }
    }
    app.status = None;
}

/// The dimensions a metric can be broken down by, as the picker offers them: its named
/// ones, with the catalog's "attributes" stand-in replaced by the customer attributes the
/// store holds.
fn dimensions_of(app: &App, segments: &[&str]) -> Vec<String> {
    let mut out = Vec::new();
    for dimension in segments {
        if *dimension == "attributes" {
            out.extend(
                app.snapshot
                    .data
                    .customer_attributes
                    .iter()
                    .filter(|a| !segments.contains(&a.as_str()))
                    .cloned(),
            );
        } else {
            out.push((*dimension).to_string());
        }
    }
    out
}

fn open_picker(app: &mut App) {
    let (purpose, dims): (PickerPurpose, Vec<String>) = match app.tab {
        Tab::Trends => match app.trend_metric() {
            Some(m) => (PickerPurpose::Trends, dimensions_of(app, m.segments)),
            None => return,
        },
        Tab::Drivers => match (app.driver_kpi(), app.driver_metric()) {
            (Some(kpi), Some(driver)) => {
                let shared: Vec<&str> = kpi
                    .segments
                    .iter()
                    .filter(|d| driver.segments.contains(d))
                    .copied()
                    .collect();
                (PickerPurpose::Drivers, dimensions_of(app, &shared))
            }
            _ => return,
        },
        _ => {
            app.status = Some("f picks a segment in Trends (2) and Drivers (3)".into());
            return;
        }
    };
    if dims.is_empty() {
        app.status = Some("no segments to break this down by".into());
        return;
    }
    let mut entries = vec![OVERALL.to_string()];
    entries.extend(dims);
    app.picker = Some(SegmentPicker {
        purpose,
        stage: PickerStage::Dimensions(entries),
        selected: 0,
    });
}

fn breakdown_effect(app: &App, purpose: PickerPurpose, dimension: &str) -> Option<Effect> {
    let to = app.snapshot.as_of?;
    let start = |grain: Grain| {
        Period::containing(grain, to)
            .trailing(BREAKDOWN_PERIODS)
            .first()
            .map_or(to, |p| p.start)
    };
    let from = start(app.grain);
    let months_from = (purpose == PickerPurpose::Trends && app.grain != Grain::Month)
        .then(|| start(Grain::Month));
    let metrics = match purpose {
        PickerPurpose::Trends => vec![app.trend_metric()?.id.to_string()],
        PickerPurpose::Drivers => vec![
            app.driver_kpi()?.id.to_string(),
            app.driver_metric()?.id.to_string(),
        ],
    };
    Some(Effect::Breakdown {
        purpose,
        metrics,
        grain: app.grain,
        dimension: dimension.to_string(),
        from,
        to,
        months_from,
    })
}

fn choose_in_picker(app: &mut App) -> Option<Effect> {
    let picker = app.picker.take()?;
    match picker.stage {
        PickerStage::Dimensions(dims) => {
            let dimension = dims.get(picker.selected)?.clone();
            if dimension == OVERALL {
                match picker.purpose {
                    PickerPurpose::Trends => app.trends.segment = None,
                    PickerPurpose::Drivers => app.drivers.by_segment = None,
                }
                return None;
            }
            let Some(effect) = breakdown_effect(app, picker.purpose, &dimension) else {
                app.status = Some("no data to break down yet".into());
                return None;
            };
            app.picker = Some(SegmentPicker {
                purpose: picker.purpose,
                stage: PickerStage::Loading(dimension),
                selected: 0,
            });
            Some(effect)
        }
        PickerStage::Loading(_) => {
            app.picker = Some(picker);
            None
        }
        PickerStage::Values { series, months, .. } => {
            let chosen = series.into_iter().nth(picker.selected);
            app.trends.segment_months = chosen
                .as_ref()
                .and_then(|c| months.into_iter().find(|m| m.segment == c.segment));
            app.trends.segment = chosen;
            None
        }
    }
}

/// After the grain changes, a chosen segment is fetched again at the new grain.
fn refresh_segments(app: &mut App) -> Option<Effect> {
    app.picker = None;
    match app.tab {
        Tab::Drivers => {
            app.trends.clear_segment();
            let dimension = app.drivers.by_segment.as_ref()?.0.clone();
            breakdown_effect(app, PickerPurpose::Drivers, &dimension)
        }
        _ => {
            app.drivers.by_segment = None;
            let dimension = app
                .trends
                .segment
                .as_ref()?
                .segment
                .as_ref()?
                .dimension
                .clone();
            breakdown_effect(app, PickerPurpose::Trends, &dimension)
        }
    }
}

fn breakdown_loaded(
    app: &mut App,
    purpose: PickerPurpose,
    dimension: String,
    result: Result<Vec<Series>, String>,
) {
    let waiting = matches!(
        &app.picker,
        Some(SegmentPicker { stage: PickerStage::Loading(d), purpose: p, .. })
            if *d == dimension && *p == purpose
    );
    let series = match result {
        Ok(series) => series,
        Err(err) => {
            app.picker = None;
            app.status = Some(format!("could not break down by {dimension}: {err}"));
            return;
        }
    };
    match purpose {
        PickerPurpose::Trends => {
            let months: Vec<Series> = series
                .iter()
                .filter(|s| s.grain == Grain::Month)
                .cloned()
                .collect();
            let series: Vec<Series> = series
                .into_iter()
                .filter(|s| s.grain == app.grain)
                .collect();
            if waiting {
                if series.is_empty() {
                    app.picker = None;
                    app.status = Some(format!("no values of {dimension} in this range"));
                } else {
                    app.picker = Some(SegmentPicker {
                        purpose,
                        stage: PickerStage::Values {
                            dimension,
                            series,
                            months,
                        },
                        selected: 0,
                    });
                }
            } else if let Some(current) = &app.trends.segment {
                // A refresh after a grain change: keep the same segment value.
                let wanted = current.segment.clone();
                app.trends.segment_months = months.into_iter().find(|s| s.segment == wanted);
                app.trends.segment = series.into_iter().find(|s| s.segment == wanted);
            }
        }
        PickerPurpose::Drivers => {
            if waiting {
                app.picker = None;
            }
            let (Some(kpi), Some(driver)) = (app.driver_kpi(), app.driver_metric()) else {
                return;
            };
            let points = segment_points(&series, &kpi.id, &driver.id);
            if points.is_empty() {
                app.status = Some(format!("no period where both have a value by {dimension}"));
            }
            app.drivers.by_segment = Some((dimension, points));
        }
    }
}

/// One point per segment value: both metrics in the latest complete period where both
/// have a value.
pub fn segment_points(series: &[Series], kpi: &str, driver: &str) -> Vec<SegmentPoint> {
    let mut points = Vec::new();
    for y_series in series.iter().filter(|s| s.metric == kpi) {
        let Some(segment) = &y_series.segment else {
            continue;
        };
        let Some(x_series) = series
            .iter()
            .find(|s| s.metric == driver && s.segment.as_ref() == Some(segment))
        else {
            continue;
        };
        let latest = y_series.points.iter().rev().find_map(|yp| {
            let y = yp.value.filter(|_| !yp.partial)?;
            let x = x_series
                .points
                .iter()
                .find(|xp| xp.period == yp.period && !xp.partial)?
                .value?;
            Some((x, y))
        });
        if let Some((x, y)) = latest {
            points.push(SegmentPoint {
                segment: segment.value.clone(),
                x,
                y,
            });
        }
    }
    points
}

fn alert_action(app: &mut App, action: AlertAction) -> Option<Effect> {
    if app.tab != Tab::Alerts {
        app.status = Some("a and s act on the selected alert in Alerts (5)".into());
        return None;
    }
    let key = app.selected_alert()?.key.clone();
    let effect = change_alert_state(app, &key, action);
    // An acknowledged alert sorts below the open ones: the cursor follows it, so a second
    // key press undoes what the first did to the same alert.
    if let Some(index) = app.alert_order().iter().position(|a| a.key == key) {
        app.alerts.selected = index;
    }
    effect
}

fn change_alert_state(app: &mut App, key: &str, action: AlertAction) -> Option<Effect> {
    // Snoozes run from the data's reference date, as `kpi check` and the report count
    // them: a snooze given on stale data is not shorter than it reads.
    let today = app.reference_date();
    let until = crate::alerts::snooze_until(today);
    let alert = app.snapshot.alerts.iter_mut().find(|a| a.key == key)?;
    // Shown at once; the reload after the worker's answer confirms it from the store.
    // A second `a` or `s` undoes the first, so a slip of the finger is not permanent.
    match action {
        AlertAction::Acknowledge if alert.acknowledged => {
            alert.acknowledged = false;
            Some(Effect::Undo {
                alert: Box::new(alert.clone()),
                action: AlertAction::Unacknowledge,
            })
        }
        AlertAction::Snooze if alert.snoozed_until.is_some_and(|u| u >= today) => {
            alert.snoozed_until = None;
            Some(Effect::Undo {
                alert: Box::new(alert.clone()),
                action: AlertAction::Unsnooze,
            })
        }
        AlertAction::Acknowledge => {
            alert.acknowledged = true;
            Some(Effect::Acknowledge {
                alert: Box::new(alert.clone()),
            })
        }
        AlertAction::Snooze => {
            alert.snoozed_until = Some(until);
            Some(Effect::Snooze {
                alert: Box::new(alert.clone()),
                until,
            })
        }
        AlertAction::Unacknowledge | AlertAction::Unsnooze => None,
    }
}

/// Keeps every cursor inside what the (possibly new) snapshot holds.
fn clamp(app: &mut App) {
    let fit = |value: &mut usize, len: usize| *value = (*value).min(len.saturating_sub(1));
    fit(
        &mut app.overview.selected,
        app.snapshot.config.core_kpis.len(),
    );
    let metrics = app.filtered_metrics().len();
    fit(&mut app.trends.selected, metrics);
    fit(&mut app.drivers.kpi, app.snapshot.metrics.len());
    let drivers = app.driver_options().len();
    fit(&mut app.drivers.driver, drivers);
    let rows = app.cohort_matrix().map_or(0, |m| m.rows.len());
    fit(&mut app.cohorts.row, rows);
    let cols = cohort_width(app);
    fit(&mut app.cohorts.col, cols);
    let alerts = app.alert_order().len();
    fit(&mut app.alerts.selected, alerts);
    for (i, section) in DataSection::ALL.iter().enumerate() {
        let len = app.data_rows(*section);
        fit(&mut app.data.selected[i], len);
    }
}
