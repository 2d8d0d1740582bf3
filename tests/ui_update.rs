//! Every key binding, pressed through the keymap into `update`, asserting the state a
//! user would then see — and the effect sent to the worker where the store is involved.
#![allow(clippy::unwrap_used)]

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use kpi::metrics::{Grain, Period, Segment, Series};
use kpi::ui::app::{
    CohortMeasure, DataSection, DriverFocus, OVERALL, PickerPurpose, PickerStage, RANGES,
    SegmentPoint,
};
use kpi::ui::keymap::{self, AlertAction, Msg};
use kpi::ui::{App, Effect, Tab, fixture, update};

fn fresh() -> App {
    app()
}

fn app() -> App {
    fixture::app(fixture::snapshot())
}

fn press_with(app: &mut App, code: KeyCode, modifiers: KeyModifiers) -> Option<Effect> {
    let msg = keymap::key_to_msg(app, KeyEvent::new(code, modifiers))?;
    update(app, msg)
}

fn press(app: &mut App, code: KeyCode) -> Option<Effect> {
    press_with(app, code, KeyModifiers::NONE)
}

fn char(app: &mut App, c: char) -> Option<Effect> {
    press(app, KeyCode::Char(c))
}

#[test]
fn number_keys_open_each_pane() {
    let mut app = app();
    for (i, tab) in Tab::ALL.iter().enumerate() {
        char(&mut app, char::from(b'1' + u8::try_from(i).unwrap()));
        assert_eq!(app.tab, *tab);
    }
}

#[test]
fn tab_and_shift_tab_cycle_through_panes() {
    let mut app = app();
    press(&mut app, KeyCode::Tab);
    assert_eq!(app.tab, Tab::Trends);
    press(&mut app, KeyCode::BackTab);
    press(&mut app, KeyCode::BackTab);
    assert_eq!(app.tab, Tab::Data, "Shift-Tab wraps to the last pane");
    press(&mut app, KeyCode::Tab);
    assert_eq!(app.tab, Tab::Overview, "Tab wraps to the first pane");
}

#[test]
fn q_and_ctrl_c_quit_even_from_help() {
    let mut app = app();
    char(&mut app, 'q');
    assert!(app.quit);
    let mut app = app_with_help();
    press_with(&mut app, KeyCode::Char('c'), KeyModifiers::CONTROL);
    assert!(app.quit);
    let mut app = app_with_help();
    char(&mut app, 'q');
    assert!(app.quit);
}

fn app_with_help() -> App {
    let mut app = app();
    char(&mut app, '?');
    assert!(app.help);
    app
}

#[test]
fn question_mark_and_esc_close_help_and_other_keys_are_ignored_under_it() {
    let mut app = app_with_help();
    char(&mut app, '3');
    assert_eq!(app.tab, Tab::Overview, "help has the keyboard");
    char(&mut app, '?');
    assert!(!app.help);
    let mut app = app_with_help();
    press(&mut app, KeyCode::Esc);
    assert!(!app.help);
}

#[test]
fn overview_arrows_and_hjkl_move_between_tiles_and_enter_opens_the_trend() {
    let mut app = app();
    press(&mut app, KeyCode::Right);
    char(&mut app, 'l');
    assert_eq!(app.overview.selected, 2);
    char(&mut app, 'h');
    press(&mut app, KeyCode::Left);
    press(&mut app, KeyCode::Left);
    assert_eq!(app.overview.selected, 0, "stops at the first tile");
    char(&mut app, 'j');
    press(&mut app, KeyCode::Down);
    assert_eq!(app.overview.selected, 2);
    char(&mut app, 'k');
    press(&mut app, KeyCode::Up);
    assert_eq!(app.overview.selected, 0);
    press(&mut app, KeyCode::Right); // MRR
    // The first Enter shows the accounts behind the tile (tests/ui_drill_compare.rs); the
    // second opens its trend.
    assert!(matches!(
        press(&mut app, KeyCode::Enter),
        Some(Effect::Drill(_))
    ));
    assert_eq!(app.tab, Tab::Overview);
    press(&mut app, KeyCode::Enter);
    assert_eq!(app.tab, Tab::Trends);
    assert_eq!(app.trend_metric().unwrap().id, "mrr");
}

#[test]
fn slash_filters_the_metric_list_and_esc_clears_it() {
    let mut app = app();
    char(&mut app, '/');
    assert_eq!(app.tab, Tab::Trends, "/ opens the metric list");
    assert!(app.trends.filtering);
    for c in "churn".chars() {
        char(&mut app, c);
    }
    assert_eq!(app.trend_metric().unwrap().id, "customer_churn_pct");
    assert_eq!(app.filtered_metrics().len(), 1);
    press(&mut app, KeyCode::Backspace);
    assert_eq!(app.trends.filter, "chur");
    press(&mut app, KeyCode::Enter);
    assert!(
        !app.trends.filtering,
        "Enter keeps the filter and gives keys back"
    );
    char(&mut app, 'q');
    assert!(app.quit, "q quits once the filter line is closed");
    let mut app = fresh();
    char(&mut app, '/');
    char(&mut app, 'q');
    assert!(!app.quit, "while typing, q is part of the filter");
    assert_eq!(app.trends.filter, "q");
    press(&mut app, KeyCode::Esc);
    assert!(!app.trends.filtering);
    assert!(app.trends.filter.is_empty());
}

#[test]
fn trends_up_down_pick_a_metric() {
    let mut app = app();
    char(&mut app, '2');
    char(&mut app, 'j');
    press(&mut app, KeyCode::Down);
    assert_eq!(app.trend_metric().unwrap().id, "aov");
    char(&mut app, 'k');
    assert_eq!(app.trend_metric().unwrap().id, "orders");
}

#[test]
fn g_cycles_the_grain() {
    let mut app = app();
    assert_eq!(app.grain, Grain::Week);
    char(&mut app, 'g');
    assert_eq!(app.grain, Grain::Month);
    char(&mut app, 'g');
    assert_eq!(app.grain, Grain::Day);
    char(&mut app, 'g');
    assert_eq!(app.grain, Grain::Week);
}

#[test]
fn brackets_shorten_and_lengthen_the_range_within_bounds() {
    let mut app = app();
    assert_eq!(app.periods_shown(), 12);
    char(&mut app, ']');
    assert_eq!(app.periods_shown(), 26);
    for _ in 0..10 {
        char(&mut app, ']');
    }
    assert_eq!(app.periods_shown(), RANGES[RANGES.len() - 1]);
    for _ in 0..10 {
        char(&mut app, '[');
    }
    assert_eq!(app.periods_shown(), RANGES[0]);
}

fn segment_series(metric: &str, value: &str) -> Series {
    let as_of = fixture::as_of();
    Series {
        metric: metric.into(),
        segment: Some(Segment {
            dimension: "channel".into(),
            value: value.into(),
        }),
        grain: Grain::Week,
        points: Period::containing(Grain::Week, as_of)
            .trailing(3)
            .into_iter()
            .enumerate()
            .map(|(i, period)| kpi::metrics::Point {
                period,
                value: Some(100.0 + i as f64),
                note: None,
                partial: period.contains(as_of),
            })
            .collect(),
    }
}

#[test]
fn f_in_trends_picks_a_dimension_then_a_segment_value() {
    let mut app = app();
    char(&mut app, '2');
    char(&mut app, 'f');
    let picker = app.picker.as_ref().unwrap();
    assert_eq!(
        picker.stage,
        PickerStage::Dimensions(vec![
            OVERALL.into(),
            "channel".into(),
            "plan".into(),
            "region".into()
        ])
    );
    char(&mut app, 'j');
    let effect = press(&mut app, KeyCode::Enter).unwrap();
    let Effect::Breakdown {
        purpose,
        metrics,
        grain,
        dimension,
        to,
        ..
    } = effect
    else {
        panic!("expected a breakdown, got {effect:?}");
    };
    assert_eq!(purpose, PickerPurpose::Trends);
    assert_eq!(metrics, vec!["net_revenue".to_string()]);
    assert_eq!(
        (grain, dimension.as_str(), to),
        (Grain::Week, "channel", fixture::as_of())
    );
    assert!(matches!(
        app.picker.as_ref().unwrap().stage,
        PickerStage::Loading(_)
    ));
    update(
        &mut app,
        Msg::BreakdownLoaded {
            purpose: PickerPurpose::Trends,
            dimension: "channel".into(),
            result: Ok(vec![
                segment_series("net_revenue", "organic"),
                segment_series("net_revenue", "paid_search"),
            ]),
        },
    );
    char(&mut app, 'j');
    press(&mut app, KeyCode::Enter);
    assert!(app.picker.is_none());
    let chosen = app.trends.segment.as_ref().unwrap();
    assert_eq!(chosen.segment.as_ref().unwrap().value, "paid_search");
    // g refetches the same segment at the new grain.
    let effect = char(&mut app, 'g').unwrap();
    assert!(matches!(
        effect,
        Effect::Breakdown {
            grain: Grain::Month,
            ..
        }
    ));
    // Esc backs out of the segment to the overall series.
    press(&mut app, KeyCode::Esc);
    assert!(app.trends.segment.is_none());
}

#[test]
fn esc_closes_the_segment_picker_and_f_elsewhere_explains_itself() {
    let mut app = app();
    char(&mut app, '2');
    char(&mut app, 'f');
    press(&mut app, KeyCode::Esc);
    assert!(app.picker.is_none());
    char(&mut app, '5');
    char(&mut app, 'f');
    assert!(app.picker.is_none());
    assert!(app.status.as_deref().unwrap().contains("Trends"));
}

#[test]
fn drivers_left_right_switch_lists_and_f_plots_one_point_per_segment() {
    let mut app = app();
    char(&mut app, '3');
    assert_eq!(app.drivers.focus, DriverFocus::Kpi);
    char(&mut app, 'j');
    assert_eq!(app.driver_kpi().unwrap().id, "orders");
    char(&mut app, 'l');
    assert_eq!(app.drivers.focus, DriverFocus::Driver);
    press(&mut app, KeyCode::Down);
    let driver = app.driver_metric().unwrap().id.to_string();
    assert_eq!(driver, "aov");
    press(&mut app, KeyCode::Left);
    assert_eq!(app.drivers.focus, DriverFocus::Kpi);
    press(&mut app, KeyCode::Enter);
    assert_eq!(
        app.drivers.focus,
        DriverFocus::Driver,
        "Enter moves to the other list"
    );
    char(&mut app, 'f');
    char(&mut app, 'j');
    let effect = press(&mut app, KeyCode::Enter).unwrap();
    assert!(matches!(
        &effect,
        Effect::Breakdown { purpose: PickerPurpose::Drivers, metrics, .. }
            if *metrics == vec!["orders".to_string(), "aov".to_string()]
    ));
    update(
        &mut app,
        Msg::BreakdownLoaded {
            purpose: PickerPurpose::Drivers,
            dimension: "channel".into(),
            result: Ok(vec![
                segment_series("orders", "organic"),
                segment_series("aov", "organic"),
            ]),
        },
    );
    let (dimension, points) = app.drivers.by_segment.clone().unwrap();
    assert_eq!(dimension, "channel");
    // The latest complete week, not the partial one.
    assert_eq!(
        points,
        vec![SegmentPoint {
            segment: "organic".into(),
            x: 101.0,
            y: 101.0
        }]
    );
    press(&mut app, KeyCode::Esc);
    assert!(app.drivers.by_segment.is_none());
}

#[test]
fn cohorts_cursor_variant_measure_and_drill() {
    let mut app = app();
    char(&mut app, '4');
    char(&mut app, 'l');
    press(&mut app, KeyCode::Right);
    char(&mut app, 'j');
    assert_eq!((app.cohorts.row, app.cohorts.col), (1, 2));
    char(&mut app, 'h');
    press(&mut app, KeyCode::Up);
    assert_eq!((app.cohorts.row, app.cohorts.col), (0, 1));
    press(&mut app, KeyCode::Enter);
    assert!(app.cohorts.detail);
    press(&mut app, KeyCode::Esc);
    assert!(!app.cohorts.detail);
    char(&mut app, 'm');
    assert_eq!(app.cohorts.measure, CohortMeasure::Members);
    char(&mut app, 'm');
    assert_eq!(app.cohorts.measure, CohortMeasure::Share);
    char(&mut app, 'v');
    assert_eq!(
        app.cohort_variant(),
        kpi::metrics::CohortVariant::ActiveUsers
    );
    assert!(
        app.cohort_matrix().is_none(),
        "the fixture has no active-user cohorts"
    );
    char(&mut app, 'v');
    char(&mut app, 'v');
    assert_eq!(
        app.cohort_variant(),
        kpi::metrics::CohortVariant::RevenueRetention
    );
    char(&mut app, 'v');
    assert_eq!(
        app.cohort_variant(),
        kpi::metrics::CohortVariant::PurchasingCustomers
    );
}

/// The fixture's data ends on 2025-06-18 and the clock reads 2025-06-19: a snooze runs
/// 7 days from the data's date, as `kpi check` counts it, not from the wall clock.
#[test]
fn cockpit_snooze_runs_from_the_data_reference_date_not_the_wall_clock() {
    let mut app = app();
    assert_ne!(fixture::as_of(), fixture::today());
    char(&mut app, '5');
    let Some(Effect::Snooze { until, .. }) = char(&mut app, 's') else {
        panic!("expected a snooze");
    };
    assert_eq!(until, kpi::alerts::snooze_until(fixture::as_of()));
    assert_eq!(
        app.selected_alert().and_then(|a| a.snoozed_until),
        Some(until)
    );
}

#[test]
fn alerts_a_acknowledges_and_s_snoozes_through_the_worker() {
    let mut app = app();
    char(&mut app, '5');
    let first = app.selected_alert().unwrap().key.clone();
    assert_eq!(first, "net_revenue|channel=paid_search|week|2025-W24");
    let effect = char(&mut app, 'a').unwrap();
    let Effect::Acknowledge { alert } = effect else {
        panic!("expected an acknowledgement");
    };
    assert_eq!(alert.key, first);
    assert!(app.selected_alert().unwrap().acknowledged, "shown at once");
    let reload = update(
        &mut app,
        Msg::AlertSaved {
            alert,
            action: AlertAction::Acknowledge,
            result: Ok(()),
        },
    );
    assert_eq!(reload, Some(Effect::LoadSnapshot), "the store is reread");
    assert!(
        app.status
            .as_deref()
            .unwrap()
            .starts_with("acknowledged net_revenue")
    );

    char(&mut app, 'j');
    let effect = char(&mut app, 's').unwrap();
    let Effect::Snooze { alert, until } = effect else {
        panic!("expected a snooze");
    };
    assert_eq!(alert.key, "nps|month|2025-05");
    assert_eq!(until, fixture::as_of() + chrono::Duration::days(7));
    let reload = update(
        &mut app,
        Msg::AlertSaved {
            alert,
            action: AlertAction::Snooze,
            result: Err("database is locked".into()),
        },
    );
    assert_eq!(reload, Some(Effect::LoadSnapshot));
    assert!(
        app.status
            .as_deref()
            .unwrap()
            .contains("database is locked")
    );
}

#[test]
fn a_and_s_outside_alerts_do_nothing_but_say_where_they_work() {
    let mut app = app();
    assert!(char(&mut app, 'a').is_none());
    assert!(char(&mut app, 's').is_none());
    assert!(
        app.snapshot
            .alerts
            .iter()
            .all(|a| a.snoozed_until.is_none())
    );
    assert!(app.status.as_deref().unwrap().contains("Alerts"));
}

#[test]
fn alerts_enter_drills_in_and_esc_backs_out() {
    let mut app = app();
    char(&mut app, '5');
    char(&mut app, 'j');
    char(&mut app, 'j');
    char(&mut app, 'j');
    assert_eq!(app.alerts.selected, 2, "stops at the last alert");
    press(&mut app, KeyCode::Enter);
    assert!(app.alerts.detail);
    press(&mut app, KeyCode::Esc);
    assert!(!app.alerts.detail);
}

#[test]
fn data_left_right_switch_sections_and_enter_shows_a_reject() {
    let mut app = app();
    char(&mut app, '6');
    assert_eq!(app.data.section, DataSection::Tables);
    char(&mut app, 'j');
    assert_eq!(app.data.selected[0], 1);
    char(&mut app, 'l');
    press(&mut app, KeyCode::Right);
    assert_eq!(app.data.section, DataSection::Rejects);
    press(&mut app, KeyCode::Down);
    press(&mut app, KeyCode::Enter);
    assert!(app.data.detail);
    assert_eq!(app.data.selected[2], 1);
    press(&mut app, KeyCode::Esc);
    assert!(!app.data.detail);
    char(&mut app, 'h');
    assert_eq!(app.data.section, DataSection::Imports);
}

#[test]
fn r_reloads_and_a_loaded_snapshot_replaces_the_old_one() {
    let mut app = fixture::app(fixture::empty_snapshot());
    assert_eq!(char(&mut app, 'r'), Some(Effect::LoadSnapshot));
    assert!(app.loading);
    update(
        &mut app,
        Msg::SnapshotLoaded(Ok(Box::new(fixture::snapshot()))),
    );
    assert!(!app.loading);
    assert_eq!(app.snapshot.alerts.len(), 3);
    update(&mut app, Msg::SnapshotLoaded(Err("disk I/O error".into())));
    assert!(app.status.as_deref().unwrap().contains("disk I/O error"));
    assert_eq!(
        app.snapshot.alerts.len(),
        3,
        "a failed reload keeps what was shown"
    );
}

#[test]
fn cursors_stay_inside_a_smaller_snapshot() {
    let mut app = app();
    char(&mut app, '5');
    char(&mut app, 'j');
    char(&mut app, 'j');
    update(
        &mut app,
        Msg::SnapshotLoaded(Ok(Box::new(fixture::empty_snapshot()))),
    );
    assert_eq!(app.alerts.selected, 0);
    for key in ['j', 'k', 'h', 'l', 'a', 's', 'f', 'v', 'm'] {
        for tab in ['1', '2', '3', '4', '5', '6'] {
            char(&mut app, tab);
            char(&mut app, key);
            press(&mut app, KeyCode::Enter);
            press(&mut app, KeyCode::Esc);
        }
    }
}

#[test]
fn unbound_keys_and_key_releases_do_nothing() {
    let app = app();
    assert!(
        keymap::key_to_msg(&app, KeyEvent::new(KeyCode::Char('z'), KeyModifiers::NONE)).is_none()
    );
    assert!(keymap::key_to_msg(&app, KeyEvent::new(KeyCode::F(5), KeyModifiers::NONE)).is_none());
    let mut release = KeyEvent::new(KeyCode::Char('q'), KeyModifiers::NONE);
    release.kind = crossterm::event::KeyEventKind::Release;
    assert!(keymap::key_to_msg(&app, release).is_none());
}

mod live {
    use std::path::{Path, PathBuf};

    use kpi::ui::app::LiveStatus;
    use kpi::ui::live::LiveBatch;
    use kpi::watch::{FileState, WatchState};

    use super::*;

    fn watching() -> App {
        let mut app = app();
        app.live = Some(LiveStatus::new(PathBuf::from("/srv/exports")));
        app
    }

    fn batch(imported: usize, failed: usize) -> Msg {
        let mut state = WatchState::new(Path::new("/srv/exports"));
        state.record(
            Path::new("/srv/exports/orders.csv"),
            FileState::Imported {
                rows_upserted: 10,
                rows_rejected: 0,
                tail: true,
            },
            "2026-11-22T13:00:00Z".into(),
        );
        if failed > 0 {
            state.record(
                Path::new("/srv/exports/broken.csv"),
                FileState::Failed {
                    reason: "unknown table".into(),
                },
                "2026-11-22T13:00:01Z".into(),
            );
        }
        Msg::LiveImported(Box::new(LiveBatch {
            state,
            at: "13:00:01".into(),
            imported,
            failed,
            touched: Default::default(),
        }))
    }

    #[test]
    fn initial_import_progress_is_tracked() {
        let mut app = watching();
        assert_eq!(
            update(&mut app, Msg::LiveProgress { done: 3, total: 14 }),
            None
        );
        assert_eq!(app.live.as_ref().unwrap().progress, Some((3, 14)));
    }

    #[test]
    fn imported_rows_reload_the_snapshot_and_stamp_the_update() {
        let mut app = watching();
        let effect = update(&mut app, batch(1, 0));
        assert!(matches!(effect, Some(Effect::Refresh { .. })), "{effect:?}");
        let live = app.live.as_ref().unwrap();
        assert_eq!(live.progress, None);
        assert_eq!(live.last_update.as_deref(), Some("13:00:01"));
        assert_eq!(live.state.files.len(), 1);
        assert!(app.loading);
    }

    #[test]
    fn a_failed_file_is_reported_and_nothing_reloads_without_new_rows() {
        let mut app = watching();
        assert_eq!(update(&mut app, batch(0, 1)), None);
        assert!(app.status.as_deref().unwrap().contains("1 file failed"));
        assert_eq!(app.live.as_ref().unwrap().state.failed().count(), 1);
    }

    #[test]
    fn a_live_reload_marks_the_metrics_whose_values_changed() {
        let mut app = watching();
        let mut next = app.snapshot.clone();
        let series = next
            .series
            .iter_mut()
            .find(|s| s.metric == "net_revenue")
            .unwrap();
        let last = series.points.last_mut().unwrap();
        last.value = last.value.map(|v| v + 100.0);
        update(&mut app, Msg::SnapshotLoaded(Ok(Box::new(next))));
        assert_eq!(app.changed.iter().collect::<Vec<_>>(), ["net_revenue"]);

        // Without --watch nothing is marked.
        let mut app = super::app();
        let same = app.snapshot.clone();
        update(&mut app, Msg::SnapshotLoaded(Ok(Box::new(same))));
        assert!(app.changed.is_empty());
    }

    #[test]
    fn a_watcher_failure_keeps_the_cockpit_running() {
        let mut app = watching();
        update(&mut app, Msg::LiveFailed("folder removed".into()));
        assert!(!app.quit);
        assert_eq!(
            app.live.as_ref().unwrap().error.as_deref(),
            Some("folder removed")
        );
    }
}

#[test]
fn fresh_metrics_show_at_once_and_their_alerts_follow() {
    let mut app = app();
    let alerts = app.snapshot.alerts.clone();
    let mut metrics_only = app.snapshot.clone();
    metrics_only.alerts.clear();
    update(&mut app, Msg::SnapshotLoaded(Ok(Box::new(metrics_only))));
    assert!(app.checking_alerts);
    assert!(app.snapshot.alerts.is_empty());

    let evaluation = kpi::alerts::Evaluation {
        alerts: alerts.clone(),
        ..Default::default()
    };
    update(&mut app, Msg::AlertsLoaded(Ok(Box::new(evaluation))));
    assert!(!app.checking_alerts);
    assert_eq!(app.snapshot.alerts, alerts);

    update(
        &mut app,
        Msg::AlertsLoaded(Err("database is locked".into())),
    );
    assert_eq!(
        app.status.as_deref(),
        Some("could not evaluate alerts: database is locked")
    );
    assert_eq!(
        app.snapshot.alerts, alerts,
        "a failed evaluation keeps the last alerts"
    );
}

#[test]
fn a_trends_segment_brings_its_monthly_values_for_the_bars() {
    let mut app = app();
    char(&mut app, '2');
    char(&mut app, 'f');
    char(&mut app, 'j');
    let effect = press(&mut app, KeyCode::Enter).unwrap();
    let Effect::Breakdown { months_from, .. } = effect else {
        panic!("expected a breakdown, got {effect:?}");
    };
    assert!(
        months_from.is_some(),
        "the monthly bars need the segment too"
    );
    let mut by_month = segment_series("net_revenue", "paid_search");
    by_month.grain = Grain::Month;
    by_month.points = Period::containing(Grain::Month, fixture::as_of())
        .trailing(2)
        .into_iter()
        .map(|period| kpi::metrics::Point {
            period,
            value: Some(12_800.0),
            note: None,
            partial: false,
        })
        .collect();
    update(
        &mut app,
        Msg::BreakdownLoaded {
            purpose: PickerPurpose::Trends,
            dimension: "channel".into(),
            result: Ok(vec![
                segment_series("net_revenue", "paid_search"),
                by_month.clone(),
            ]),
        },
    );
    press(&mut app, KeyCode::Enter);
    assert_eq!(app.trends.segment_months, Some(by_month));
    // Esc drops the segment from the bars as from the chart.
    press(&mut app, KeyCode::Esc);
    assert_eq!(app.trends.segment_months, None);
}

#[test]
fn the_segment_picker_offers_the_customer_attributes_not_a_placeholder() {
    let mut app = app();
    app.snapshot.metrics[0].segments = &["channel", "attributes"];
    char(&mut app, '2');
    char(&mut app, 'f');
    assert_eq!(
        app.picker.as_ref().unwrap().stage,
        PickerStage::Dimensions(vec![
            OVERALL.into(),
            "channel".into(),
            "company_size".into(),
            "industry".into()
        ])
    );
}

#[test]
fn a_message_of_one_pane_is_gone_on_the_next() {
    let mut app = app();
    char(&mut app, '2');
    char(&mut app, 'f');
    char(&mut app, 'j');
    press(&mut app, KeyCode::Enter);
    update(
        &mut app,
        Msg::BreakdownLoaded {
            purpose: PickerPurpose::Trends,
            dimension: "channel".into(),
            result: Ok(Vec::new()),
        },
    );
    assert_eq!(
        app.status.as_deref(),
        Some("no values of channel in this range")
    );
    char(&mut app, '5');
    assert_eq!(app.status, None);
}

#[test]
fn clearing_the_metric_filter_keeps_the_metric_selected() {
    let mut app = app();
    char(&mut app, '/');
    for c in "churn".chars() {
        char(&mut app, c);
    }
    assert_eq!(app.trend_metric().unwrap().id, "customer_churn_pct");
    press(&mut app, KeyCode::Esc);
    assert!(app.trends.filter.is_empty());
    assert_eq!(app.trend_metric().unwrap().id, "customer_churn_pct");
}

#[test]
fn slash_in_alerts_filters_the_alert_list_in_place() {
    let mut app = app();
    char(&mut app, '5');
    let total = app.alert_order().len();
    let wanted = app.alert_order().last().unwrap().metric.clone();
    char(&mut app, '/');
    assert_eq!(app.tab, Tab::Alerts, "/ stays in Alerts");
    for c in wanted.chars() {
        char(&mut app, c);
    }
    assert!(app.alert_order().len() < total);
    assert!(app.alert_order().iter().all(|a| a.metric.contains(&wanted)));
    assert_eq!(app.selected_alert().unwrap().metric, wanted);
    press(&mut app, KeyCode::Enter);
    assert!(!app.alerts.filtering);
    press(&mut app, KeyCode::Esc);
    assert_eq!(app.alert_order().len(), total);
    assert_eq!(app.selected_alert().unwrap().metric, wanted);
}

#[test]
fn slash_in_data_filters_the_rejected_rows() {
    let mut app = app();
    char(&mut app, '6');
    let total = app.filtered_rejects().len();
    char(&mut app, '/');
    assert_eq!(app.tab, Tab::Data);
    assert_eq!(app.data.section, DataSection::Rejects);
    let reason = app.snapshot.data.rejects[1].reason.clone();
    for c in reason.chars().take(12) {
        char(&mut app, c);
    }
    let shown = app.filtered_rejects();
    assert!(!shown.is_empty() && shown.len() < total, "{reason}");
    assert!(shown.iter().all(|r| r.reason.starts_with(&reason[..12])));
}

#[test]
fn a_second_a_or_s_undoes_the_acknowledgement_or_the_snooze() {
    let mut app = app();
    for alert in &mut app.snapshot.alerts {
        alert.acknowledged = false;
    }
    char(&mut app, '5');
    char(&mut app, 'j');
    let key = app.selected_alert().unwrap().key.clone();
    let Some(Effect::Acknowledge { .. }) = char(&mut app, 'a') else {
        panic!("expected an acknowledgement");
    };
    // The acknowledged alert sorts below the open ones; the cursor goes with it.
    assert_eq!(app.selected_alert().unwrap().key, key);
    let effect = char(&mut app, 'a').unwrap();
    let Effect::Undo { alert, action } = effect else {
        panic!("expected an undo, got {effect:?}");
    };
    assert_eq!(action, AlertAction::Unacknowledge);
    assert_eq!(alert.key, key);
    assert!(!app.selected_alert().unwrap().acknowledged, "shown at once");
    let reload = update(
        &mut app,
        Msg::AlertSaved {
            alert,
            action,
            result: Ok(()),
        },
    );
    assert_eq!(reload, Some(Effect::LoadSnapshot), "the store is reread");
    assert!(app.status.as_deref().unwrap().contains("open again"));

    let Some(Effect::Snooze { .. }) = char(&mut app, 's') else {
        panic!("expected a snooze");
    };
    let effect = char(&mut app, 's').unwrap();
    assert!(
        matches!(
            effect,
            Effect::Undo {
                action: AlertAction::Unsnooze,
                ..
            }
        ),
        "{effect:?}"
    );
    assert_eq!(app.selected_alert().unwrap().snoozed_until, None);
}

#[test]
fn home_end_capital_g_and_page_keys_jump_through_long_lists() {
    let mut app = app();
    char(&mut app, '2');
    let last = app.filtered_metrics().len() - 1;
    press(&mut app, KeyCode::End);
    assert_eq!(app.trends.selected, last);
    press(&mut app, KeyCode::Home);
    assert_eq!(app.trends.selected, 0);
    press(&mut app, KeyCode::PageDown);
    assert_eq!(
        app.trends.selected,
        usize::try_from(kpi::ui::update::PAGE).unwrap().min(last)
    );
    press(&mut app, KeyCode::PageUp);
    assert_eq!(app.trends.selected, 0);
    char(&mut app, 'G');
    assert_eq!(app.trends.selected, last);
    // The same keys in the Data pane's rejected rows.
    char(&mut app, '6');
    press(&mut app, KeyCode::Right);
    press(&mut app, KeyCode::Right);
    char(&mut app, 'G');
    assert_eq!(app.data.selected[2], app.snapshot.data.rejects.len() - 1);
    // `g` still cycles the grain.
    let grain = app.grain;
    char(&mut app, 'g');
    assert_ne!(app.grain, grain);
}

/// Issue 15: `y` on a tile copies its series (what the event loop hands to the terminal
/// through OSC 52); in Alerts it copies the selected alert.
#[test]
fn y_copies_the_focused_metric_series_or_the_selected_alert() {
    let mut app = app();
    app.grain = Grain::Month;
    assert!(char(&mut app, 'y').is_none());
    let text = app.clipboard.take().unwrap();
    let mut lines = text.lines();
    assert!(
        lines.next().unwrap().starts_with("Net revenue by month"),
        "{text}"
    );
    assert!(text.contains("2025-05\t58450"), "{text}");
    assert!(
        app.status.as_deref().unwrap().contains("copied"),
        "{:?}",
        app.status
    );
    char(&mut app, '5');
    char(&mut app, 'y');
    let alert = app.clipboard.take().unwrap();
    let selected = app.selected_alert().unwrap();
    assert!(alert.contains(&selected.metric_name), "{alert}");
    assert!(alert.contains("$9,800 vs $12,050 average"), "{alert}");
    assert!(
        !alert.contains('\u{1b}'),
        "text from data is cleaned: {alert:?}"
    );
    // Cohorts has no series to copy: it says what y does instead of copying nothing.
    char(&mut app, '4');
    char(&mut app, 'y');
    assert!(app.clipboard.is_none());
    assert!(
        app.status.as_deref().unwrap().contains("y copies"),
        "{:?}",
        app.status
    );
}

/// Issue 15: `e` and `E` hand the worker the current pane's data to write beside the
/// store, as CSV (text defused) or markdown.
#[test]
fn e_exports_the_current_pane_beside_the_store() {
    let mut app = app();
    char(&mut app, '5');
    let Some(Effect::Export {
        dir,
        name,
        format,
        contents,
    }) = char(&mut app, 'e')
    else {
        panic!("e sends an export to the worker")
    };
    // Beside the store: `fixture.db` is in the working directory.
    assert_eq!(dir, std::path::PathBuf::from("."));
    assert_eq!(name, "alerts");
    assert_eq!(format, kpi::ui::export::Format::Csv);
    assert!(
        contents.starts_with("tier,metric,segment,period,value"),
        "{contents}"
    );
    assert_eq!(contents.lines().count(), app.alert_order().len() + 1);
    char(&mut app, '4');
    let Some(Effect::Export { contents, .. }) = char(&mut app, 'E') else {
        panic!("E sends a markdown export")
    };
    assert!(contents.starts_with("## Cohorts"), "{contents}");
    assert!(
        contents.contains("| 2024-11 | 412 | 100.0% | 62.0%"),
        "{contents}"
    );
    let written = update(
        &mut app,
        Msg::Exported(Ok("/tmp/x/kpi-cohorts-1.md".into())),
    );
    assert!(written.is_none());
    assert_eq!(
        app.status.as_deref(),
        Some("exported to /tmp/x/kpi-cohorts-1.md")
    );
}

/// Issue 15: `[keys]` rebinds an action; its default key stops doing it.
#[test]
fn a_key_remapped_in_kpi_toml_replaces_the_default() {
    let mut app = app();
    let config = kpi::config::Config::parse(
        "[keys]\nquit = \"x\"\ndown = [\"d\", \"Down\"]\n",
        std::path::Path::new("kpi.toml"),
    )
    .unwrap();
    app.snapshot.config = config;
    app.apply_config();
    char(&mut app, 'q');
    assert!(!app.quit, "q gave way to x");
    char(&mut app, '5');
    char(&mut app, 'd');
    assert_eq!(app.alerts.selected, 1);
    char(&mut app, 'j');
    assert_eq!(app.alerts.selected, 1, "j gave way to d");
    char(&mut app, 'x');
    assert!(app.quit);
}

/// Issue 15: a bad `[keys]` or `[theme]` names the file, line and key.
#[test]
fn a_bad_binding_or_colour_names_file_line_and_key() {
    let parse = |text: &str| {
        kpi::config::Config::parse(text, std::path::Path::new("conf/kpi.toml"))
            .unwrap_err()
            .to_string()
    };
    let err = parse("currency = \"EUR\"\n[keys]\nquit = \"a\"\n");
    assert!(err.contains("conf/kpi.toml"), "{err}");
    assert!(err.contains("line 3, keys.quit"), "{err}");
    assert!(err.contains("acknowledge"), "{err}");
    let err = parse("[keys]\nquiet = \"x\"\n");
    assert!(err.contains("line 2, keys.quiet"), "{err}");
    let err = parse("[theme]\nbase = \"light\"\nbad = \"blurple\"\n");
    assert!(err.contains("line 3, theme.bad"), "{err}");
    let err = parse("theme = \"solarized\"\n");
    assert!(err.contains("line 1, theme"), "{err}");
    let ok = kpi::config::Config::parse("theme = \"light\"\n", std::path::Path::new("k"));
    assert!(ok.is_ok(), "{ok:?}");
}
