//! What each pane shows, drawn on a `TestBackend` from the fixture snapshot: insta
//! snapshots of every pane at 80×24 and 200×60 (reviewed by eye), plus assertions on the
//! content a user relies on.
#![allow(clippy::unwrap_used)]

mod common;

use kpi::ui::app::{CohortMeasure, DataSection};
use kpi::ui::theme::{ColorMode, Theme};
use kpi::ui::{Tab, fixture};
use ratatui::style::{Color, Modifier};

fn app_on(tab: Tab) -> kpi::ui::App {
    let mut app = fixture::app(fixture::snapshot());
    app.tab = tab;
    app
}

#[test]
fn every_pane_at_80x24_and_200x60() {
    for (width, height) in [(80, 24), (200, 60)] {
        for tab in Tab::ALL {
            let app = app_on(tab);
            let terminal = common::terminal(&app, width, height);
            let name = format!("{}_{width}x{height}", tab.title().to_lowercase());
            insta::assert_snapshot!(name, terminal.backend());
        }
    }
}

#[test]
fn every_pane_of_an_empty_store_says_what_to_import() {
    for tab in Tab::ALL {
        let mut app = fixture::app(fixture::empty_snapshot());
        app.tab = tab;
        let terminal = common::terminal(&app, 80, 24);
        let name = format!("empty_{}_80x24", tab.title().to_lowercase());
        insta::assert_snapshot!(name, terminal.backend());
        let text = common::text(&app, 80, 24);
        assert!(
            text.contains("import"),
            "{tab:?} gives no next step:\n{text}"
        );
    }
    let mut app = fixture::app(fixture::empty_snapshot());
    app.tab = Tab::Overview;
    assert!(common::text(&app, 80, 24).contains("no data — import orders"));
    app.tab = Tab::Data;
    assert!(common::text(&app, 80, 24).contains("store is empty"));
}

#[test]
fn the_tab_bar_names_every_pane_and_the_status_line_the_store() {
    let text = common::text(&app_on(Tab::Overview), 80, 24);
    let first_line = text.lines().next().unwrap();
    for (i, tab) in Tab::ALL.iter().enumerate() {
        assert!(
            first_line.contains(&format!("{} {}", i + 1, tab.title())),
            "{first_line}"
        );
    }
    let last_line = text.lines().nth(23).unwrap();
    assert!(
        last_line.contains("fixture.db · as of 2025-06-18"),
        "{last_line}"
    );
    assert!(last_line.contains("? help"), "{last_line}");
}

#[test]
fn overview_tiles_show_value_change_pulse_and_target() {
    let mut app = app_on(Tab::Overview);
    app.grain = kpi::metrics::Grain::Month;
    let text = common::text(&app, 80, 24);
    // May is the latest complete month; June is partial and not compared.
    assert!(text.contains("$58,450  2025-05"), "{text}");
    assert!(text.contains("✓ ▲ +8.0% vs 2025-04"), "{text}");
    assert!(text.contains("↗ improving"), "{text}");
    assert!(text.contains("↘ deteriorating"), "{text}");
    // The share of the target reached ($58,450 of $70,000), not progress from a start.
    assert!(text.contains("84% of $70,000 ! at risk"), "{text}");
    let wide = common::text(&app, 200, 60);
    assert!(
        wide.contains("84% of $70,000 · misses by $4,000 !"),
        "{wide}"
    );
    assert!(
        text.contains("‼ Net revenue channel=paid_search 2025-W24"),
        "{text}"
    );
    assert!(text.contains("newest data 2025-06-18"), "{text}");
}

#[test]
fn a_target_the_metric_moves_away_from_says_so_instead_of_a_negative_share() {
    let mut app = app_on(Tab::Overview);
    app.grain = kpi::metrics::Grain::Month;
    app.snapshot.targets[0].progress_pct = Some(-40.0);
    let text = common::text(&app, 80, 24);
    assert!(text.contains("84% of $70,000 !"), "{text}");
    assert!(!text.contains("-40%"), "{text}");
}

#[test]
fn trends_show_the_metric_its_change_and_monthly_bars() {
    let mut app = app_on(Tab::Trends);
    app.grain = kpi::metrics::Grain::Month;
    let text = common::text(&app, 200, 60);
    assert!(
        text.contains("Net revenue  $58,450 2025-05  ✓ ▲ +8.0% vs previous"),
        "{text}"
    );
    assert!(text.contains("2025-06 so far $21,000 (partial)"), "{text}");
    assert!(
        text.contains(
            "target 84% of $70,000 · pace: $66,000 by 2025-12-31 (misses by $4,000) ! · gross revenue"
        ),
        "{text}"
    );
    assert!(text.contains("─ target $70,000"), "{text}");
    assert!(text.contains("│ launch v2, spring campaign"), "{text}");
    assert!(text.contains("58k"), "{text}");
    assert!(text.contains("Jun*"), "{text}");
}

#[test]
fn drivers_show_the_fit_statistics_and_labelled_axes() {
    let text = common::text(&app_on(Tab::Drivers), 200, 60);
    assert!(text.contains("Net revenue vs Discount rate"), "{text}");
    assert!(text.contains("r = "), "{text}");
    assert!(text.contains("R² "), "{text}");
    assert!(text.contains("n 12"), "{text}");
    assert!(text.contains("◆ latest 2025-W24"), "{text}");
    assert!(text.contains("Discount rate (%)"), "{text}");
    assert!(text.contains("Net revenue (USD)"), "{text}");
}

#[test]
fn cohorts_show_cell_values_forecasts_legend_and_the_cursor_cell() {
    let mut app = app_on(Tab::Cohorts);
    app.cohorts.col = 1;
    let text = common::text(&app, 80, 24);
    let row = text.lines().find(|l| l.contains("2024-11")).unwrap();
    assert!(row.contains("412  100%   62%"), "{row}");
    assert!(text.contains("~90%"), "forecast cells are marked:\n{text}");
    assert!(text.contains("~ forecast"), "{text}");
    assert!(
        text.contains("cohort 2024-11 · 412 members · month +1 (2024-12)"),
        "{text}"
    );
    assert!(
        text.contains("62.0% purchasing · 255 members · observed"),
        "{text}"
    );
    app.cohorts.measure = CohortMeasure::Members;
    let text = common::text(&app, 80, 24);
    let row = text.lines().find(|l| l.contains("2024-11")).unwrap();
    assert!(row.contains(" 412   255"), "{row}");
}

#[test]
fn enter_on_a_cohort_cell_shows_the_whole_cohort() {
    let mut app = app_on(Tab::Cohorts);
    app.cohorts.row = 6;
    app.cohorts.col = 2;
    app.cohorts.detail = true;
    let terminal = common::terminal(&app, 80, 24);
    insta::assert_snapshot!("cohort_drill_80x24", terminal.backend());
    let text = common::text(&app, 80, 24);
    assert!(text.contains("cohort 2025-05 · 515 members"), "{text}");
    assert!(
        text.contains("2025-06     +1    65.0%       335  observed"),
        "{text}"
    );
    assert!(text.contains("~ forecast"), "{text}");
}

#[test]
fn trends_show_past_deviations_as_history() {
    let mut app = app_on(Tab::Trends);
    app.grain = kpi::metrics::Grain::Month;
    app.range = 4; // 52 periods: every month of the fixture
    let text = common::text(&app, 200, 60);
    // May 2025, as the alerts compare a sum: 58,450 against the mean per day of February
    // to April (50,300 ÷ 28, 52,800 ÷ 31, 54,100 ÷ 30) times May's 31 days, 54,798 →
    // +6.7% (mild).
    assert!(text.contains("! 2025-05 +6.7%"), "{text}");
}

#[test]
fn alerts_list_strong_first_with_details() {
    let text = common::text(&app_on(Tab::Alerts), 80, 24);
    let strong = text.find("‼ Net revenue").unwrap();
    let mild = text.find("! NPS overall 2025-05").unwrap();
    assert!(strong < mild, "{text}");
    assert!(text.contains("$9,800 ✗ ▼ -18.7% vs mean"), "{text}");
    assert!(text.contains("· acked"), "{text}");
    assert!(
        text.contains("customer=ACME Corp  -$1,400 (62% of the change)"),
        "{text}"
    );
    assert!(text.contains("owner maria@shop.example"), "{text}");
    assert!(
        text.contains("follow-up Check paid search campaigns"),
        "{text}"
    );
}

#[test]
fn data_shows_tables_imports_and_rejects_with_reasons() {
    let mut app = app_on(Tab::Data);
    let text = common::text(&app, 200, 60);
    assert!(text.contains("orders        48,210"), "{text}");
    assert!(text.contains("! 7 d"), "stale surveys are flagged:\n{text}");
    assert!(text.contains("‼ failed"), "{text}");
    assert!(text.contains("orders_2025-06.csv:2047"), "{text}");
    assert!(text.contains("required field is empty"), "{text}");
    app.data.section = DataSection::Rejects;
    app.data.selected = [0, 0, 1];
    app.data.detail = true;
    let text = common::text(&app, 80, 24);
    assert!(
        text.contains("row o-2047,,2025-06-09,80.00,completed"),
        "{text}"
    );
}

#[test]
fn escape_sequences_from_data_render_as_plain_text() {
    let mut screens = Vec::new();
    let mut alerts = app_on(Tab::Alerts);
    screens.push((common::buffer(&alerts, 200, 60), "alerts"));
    alerts.alerts.detail = true;
    screens.push((common::buffer(&alerts, 80, 24), "alert detail"));
    let mut data = app_on(Tab::Data);
    data.data.section = DataSection::Rejects;
    data.data.selected = [0, 0, 2];
    data.data.detail = true;
    screens.push((common::buffer(&data, 200, 60), "data"));
    for (buffer, name) in screens {
        let mut text = String::new();
        for cell in buffer.content() {
            let symbol = cell.symbol();
            assert!(
                !symbol.chars().any(|c| c.is_control()),
                "{name}: a control character reached the screen: {symbol:?}"
            );
            text.push_str(symbol);
        }
        assert!(
            text.contains("]0;pwned"),
            "{name}: the string is shown as text"
        );
    }
}

#[test]
fn below_80x24_a_notice_replaces_the_layout() {
    let app = app_on(Tab::Overview);
    for (w, h) in [(60, 20), (79, 24), (80, 23)] {
        let text = common::text(&app, w, h);
        assert!(text.contains("terminal too small"), "{w}x{h}:\n{text}");
        assert!(!text.contains("1 Overview"), "{w}x{h}");
    }
    let text = common::text(&app, 60, 20);
    assert!(text.contains("60×20, needs 80×24"), "{text}");
}

#[test]
fn help_lists_every_key() {
    let mut app = app_on(Tab::Trends);
    app.help = true;
    let terminal = common::terminal(&app, 80, 24);
    insta::assert_snapshot!("help_80x24", terminal.backend());
    let text = common::text(&app, 80, 24);
    for (keys, what) in kpi::ui::keymap::Keymap::default().help() {
        assert!(
            text.contains(&keys) && text.contains(what),
            "{keys} missing:\n{text}"
        );
    }
}

#[test]
fn states_carry_a_symbol_and_colour_only_where_colour_is_allowed() {
    let mut app = app_on(Tab::Alerts);
    let cells = |buffer: &ratatui::buffer::Buffer, symbol: &str| -> Vec<ratatui::buffer::Cell> {
        buffer
            .content()
            .iter()
            .filter(|c| c.symbol() == symbol)
            .cloned()
            .collect()
    };
    let colour = common::buffer(&app, 80, 24);
    assert!(cells(&colour, "‼").iter().any(|c| c.fg == Color::LightRed));
    assert!(cells(&colour, "▼").iter().any(|c| c.fg == Color::Red));
    assert!(cells(&colour, "▲").iter().any(|c| c.fg == Color::Green));
    app.theme = Theme::new(ColorMode::None);
    let mono = common::buffer(&app, 80, 24);
    for symbol in ["‼", "!", "▼", "▲"] {
        let found = cells(&mono, symbol);
        assert!(!found.is_empty(), "{symbol} missing under NO_COLOR");
        for cell in found {
            assert_eq!(cell.fg, Color::Reset, "{symbol} is coloured under NO_COLOR");
            assert_eq!(cell.bg, Color::Reset);
        }
    }
    assert!(
        mono.content()
            .iter()
            .any(|c| c.modifier.contains(Modifier::REVERSED)),
        "the selection still shows without colour"
    );
    let mut cohorts = app_on(Tab::Cohorts);
    cohorts.theme = Theme::new(ColorMode::None);
    let mono = common::buffer(&cohorts, 80, 24);
    assert!(mono.content().iter().all(|c| c.bg == Color::Reset));
    cohorts.theme = Theme::new(ColorMode::Ansi16);
    let colour = common::buffer(&cohorts, 80, 24);
    assert!(colour.content().iter().any(|c| c.bg == Color::LightGreen));
}

#[test]
fn odd_values_never_break_a_pane() {
    let mut snapshot = fixture::snapshot();
    for (i, series) in snapshot.series.iter_mut().enumerate() {
        for (j, point) in series.points.iter_mut().enumerate() {
            point.value = match (i + j) % 5 {
                0 => Some(f64::NAN),
                1 => Some(f64::INFINITY),
                2 => None,
                3 => Some(-1e12),
                _ => Some(0.0),
            };
        }
    }
    snapshot.cohorts[0].rows[0].cells[1] = Some(f64::NAN);
    for tab in Tab::ALL {
        let mut app = fixture::app(snapshot.clone());
        app.tab = tab;
        for (w, h) in [(80, 24), (200, 60)] {
            let text = common::text(&app, w, h);
            assert!(text.contains("1 Overview"), "{tab:?} {w}x{h}:\n{text}");
            assert!(
                !text.contains("NaN") && !text.contains("inf"),
                "{tab:?}:\n{text}"
            );
        }
    }
}

#[test]
fn a_segment_replaces_the_series_and_drops_the_overall_target() {
    let mut app = app_on(Tab::Trends);
    app.grain = kpi::metrics::Grain::Month;
    let mut segment = app
        .snapshot
        .series("net_revenue", kpi::metrics::Grain::Month)
        .unwrap()
        .clone();
    segment.segment = Some(kpi::metrics::Segment {
        dimension: "channel".into(),
        value: "paid_search".into(),
    });
    for point in &mut segment.points {
        point.value = point.value.map(|v| v / 4.0);
    }
    app.trends.segment = Some(segment);
    let text = common::text(&app, 200, 60);
    assert!(
        text.contains("Net revenue [channel=paid_search]  $14,612"),
        "{text}"
    );
    assert!(!text.contains("─ target"), "{text}");
}

#[test]
fn an_unknown_core_kpi_points_at_the_config() {
    let mut snapshot = fixture::snapshot();
    snapshot.config.core_kpis = vec!["net_revenue".into(), "nett_revenue".into()];
    let app = fixture::app(snapshot);
    let text = common::text(&app, 80, 24);
    assert!(text.contains("unknown metric nett_revenue"), "{text}");
}

#[test]
fn the_status_bar_counts_the_periods_the_chart_draws_not_the_longest_range_chosen() {
    let mut app = app_on(Tab::Trends);
    app.grain = kpi::metrics::Grain::Week;
    app.range = kpi::ui::app::RANGES.len() - 1;
    let text = common::text(&app, 100, 30);
    let status = text.lines().nth(29).unwrap();
    // The fixture holds 15 complete weeks: that is what the chart draws, and says.
    assert!(status.contains("15 periods (all held)"), "{status}");
    assert!(!status.contains("104 periods"), "{status}");
}

#[test]
fn trends_monthly_bars_draw_negative_values_with_their_sign() {
    let mut app = app_on(Tab::Trends);
    let months = app
        .snapshot
        .series
        .iter_mut()
        .find(|s| s.metric == "net_revenue" && s.grain == kpi::metrics::Grain::Month)
        .unwrap();
    for point in months.points.iter_mut().take(8) {
        point.value = point.value.map(|v| -v);
    }
    let buffer = common::buffer(&app, 100, 30);
    let text = common::text(&app, 100, 30);
    // Every bar of the panel has a body: the negative months are not empty columns.
    let title_row = text
        .lines()
        .position(|l| l.contains("Net revenue by month"))
        .unwrap();
    let label_row = text
        .lines()
        .enumerate()
        .skip(title_row)
        .find(|(_, l)| l.contains("Jun*"))
        .map(|(i, _)| i)
        .unwrap();
    let bar_row = u16::try_from(label_row - 2).unwrap();
    let label_line = text.lines().nth(label_row).unwrap();
    for month in ["Jul", "Aug", "Sep", "Oct", "Nov", "Dec", "Jan", "Feb"] {
        let Some(column) = label_line.find(month) else {
            continue;
        };
        let x = u16::try_from(label_line[..column].chars().count()).unwrap();
        let cell = buffer.cell((x, bar_row)).unwrap().symbol().to_string();
        assert_ne!(cell.trim(), "", "{month} has no bar:\n{text}");
    }
    assert!(text.contains("−: below zero"), "{text}");
}

#[test]
fn trends_monthly_bars_follow_the_chosen_segment() {
    let mut app = app_on(Tab::Trends);
    let paid = kpi::metrics::Segment {
        dimension: "channel".into(),
        value: "paid_search".into(),
    };
    let mut weeks = app
        .snapshot
        .series("net_revenue", kpi::metrics::Grain::Week)
        .unwrap()
        .clone();
    weeks.segment = Some(paid.clone());
    let mut months = app
        .snapshot
        .series("net_revenue", kpi::metrics::Grain::Month)
        .unwrap()
        .clone();
    months.segment = Some(paid);
    for point in &mut months.points {
        point.value = Some(12_000.0);
    }
    app.trends.segment = Some(weeks);
    app.trends.segment_months = Some(months);
    let text = common::text(&app, 100, 30);
    assert!(
        text.contains("Net revenue [channel=paid_search] by month"),
        "{text}"
    );
    // Every bar is the segment's value, none the overall total.
    assert_eq!(text.matches("12k").count(), 10, "{text}");
}

#[test]
fn a_filter_without_a_match_says_so_instead_of_no_data() {
    let mut app = app_on(Tab::Trends);
    app.trends.filter = "zzz".into();
    let text = common::text(&app, 80, 24);
    assert!(text.contains("no metric matches /zzz"), "{text}");
    assert!(!text.contains("no data — import orders"), "{text}");
}

#[test]
fn without_colour_tiles_and_alerts_still_say_good_or_bad() {
    let mut app = app_on(Tab::Overview);
    app.theme = Theme::new(ColorMode::None);
    app.grain = kpi::metrics::Grain::Month;
    let text = common::text(&app, 80, 24);
    // Net revenue rose 8% (good): the mark says so without colour.
    assert!(text.contains("✓ ▲ +8.0% vs 2025-04"), "{text}");
    app.tab = Tab::Alerts;
    let text = common::text(&app, 80, 24);
    assert!(text.contains("✗ ▼ -18.7% vs mean"), "{text}");
}

#[test]
fn an_acknowledged_alert_is_not_counted_as_open_in_the_header() {
    let mut app = app_on(Tab::Alerts);
    let before = common::text(&app, 200, 60);
    let header = |text: &str| {
        text.lines()
            .find(|l| l.contains("Alerts —"))
            .unwrap()
            .to_string()
    };
    let open_strong = app
        .snapshot
        .alerts
        .iter()
        .filter(|a| a.tier == kpi::alerts::Tier::Strong && a.is_open(app.today))
        .count();
    assert!(
        header(&before).contains(&format!("{open_strong} ‼ strong")),
        "{before}"
    );
    for alert in &mut app.snapshot.alerts {
        alert.acknowledged = true;
    }
    let after = common::text(&app, 200, 60);
    assert!(
        header(&after).contains("0 ‼ strong, 0 ! mild open"),
        "{after}"
    );
}

#[test]
fn cohorts_name_the_measure_and_hint_at_rows_below_the_screen() {
    let mut app = app_on(Tab::Cohorts);
    let text = common::text(&app, 80, 24);
    assert!(text.contains("purchasing customers · share %"), "{text}");
    assert!(!text.contains("more cohort"), "all rows fit:\n{text}");
    let matrix = &mut app.snapshot.cohorts[0];
    let extra = matrix.rows.clone();
    matrix.rows.extend(extra.clone());
    matrix.rows.extend(extra);
    let text = common::text(&app, 80, 24);
    assert!(text.contains("more cohorts (j)"), "{text}");
    app.cohorts.measure = CohortMeasure::Members;
    let text = common::text(&app, 80, 24);
    assert!(text.contains("purchasing customers · members"), "{text}");
}

#[test]
fn drivers_by_segment_name_each_point_instead_of_a_latest_one() {
    let mut app = app_on(Tab::Drivers);
    let point = |segment: &str, x: f64, y: f64| kpi::ui::app::SegmentPoint {
        segment: segment.into(),
        x,
        y,
    };
    app.drivers.by_segment = Some((
        "channel".into(),
        vec![
            point("referral", 30.0, 120.0),
            point("organic", 10.0, 300.0),
            point("paid_search", 20.0, 200.0),
        ],
    ));
    let text = common::text(&app, 200, 60);
    assert!(!text.contains("◆ latest"), "{text}");
    let organic = text.find("organic").unwrap();
    let paid = text.find("paid_search").unwrap();
    let referral = text.find("referral").unwrap();
    assert!(organic < paid && paid < referral, "{text}");
}

#[test]
fn text_cut_at_the_edge_ends_in_an_ellipsis() {
    let mut app = app_on(Tab::Alerts);
    app.status =
        Some("a status message far too long to fit in the status bar of a terminal".into());
    let text = common::text(&app, 80, 24);
    let status = text.lines().nth(23).unwrap();
    assert!(status.trim_end().contains("…"), "{status}");
    // The alert lines that do not fit at 80 columns say they were cut.
    let mut app = app_on(Tab::Alerts);
    app.snapshot.alerts[0].metric_name = "x".repeat(10);
    for alert in &mut app.snapshot.alerts {
        if let Some(segment) = &mut alert.segment {
            segment.value = "a_very_long_segment_value_that_will_not_fit".into();
        }
    }
    let text = common::text(&app, 80, 24);
    let line = text.lines().find(|l| l.contains("a_very_long")).unwrap();
    assert!(line.contains("…│"), "{line}");
}

#[test]
fn the_cohort_cell_of_the_month_still_running_is_marked_so_far() {
    // As of 2025-06-18 June is running: May's cohort at +1 is June so far.
    let text = common::text(&app_on(Tab::Cohorts), 80, 24);
    let may = text.lines().find(|l| l.contains("│2025-05")).unwrap();
    assert!(may.contains("65%*"), "{may}");
    assert!(text.contains("* so far"), "{text}");
}

/// Issue 15, defect 4: with two years of cohorts the heatmap fell back to shades below
/// about 200 columns, so `m` changed nothing on the screen at 80×24 or 100×30.
#[test]
fn cohort_measure_switch_shows_in_the_cells_at_80x24_and_100x30() {
    let mut app = app_on(Tab::Cohorts);
    // Two years of months after each cohort's start, as sample.db holds.
    for row in &mut app.snapshot.cohorts[0].rows {
        let last = row.cells.iter().flatten().last().copied().unwrap_or(0.5);
        while row.cells.len() < 24 {
            row.cells.push(Some(last));
        }
        row.forecast.clear();
    }
    for (width, height) in [(80, 24), (100, 30)] {
        app.cohorts.measure = CohortMeasure::Share;
        app.cohorts.col = 1;
        let share = common::text(&app, width, height);
        let row = share.lines().find(|l| l.contains("│2024-11")).unwrap();
        assert!(row.contains("100%   62%"), "{width}×{height}:\n{share}");
        assert!(share.contains("· share % ·"), "{share}");
        assert!(share.contains("more months (l)"), "{share}");
        app.cohorts.measure = CohortMeasure::Members;
        let members = common::text(&app, width, height);
        let row = members.lines().find(|l| l.contains("│2024-11")).unwrap();
        assert!(row.contains("412   255"), "{width}×{height}:\n{members}");
        assert!(members.contains("· members ·"), "{members}");
        assert_ne!(share, members);
    }
}

/// Issue 15, defect 11: during `kpi demo --live` rows arrived every second while the
/// freshness line said "14 d old !", judging the data's dates instead of their arrival.
#[test]
fn freshness_counts_from_the_last_arrival_not_from_the_data_dates() {
    let mut app = app_on(Tab::Overview);
    app.today = chrono::NaiveDate::from_ymd_opt(2025, 7, 2).unwrap();
    let mut live = kpi::ui::app::LiveStatus::new("feed".into());
    live.progress = None;
    live.last_update = Some("10:15:02".into());
    app.live = Some(live);
    let text = common::text(&app, 100, 30);
    assert!(!text.contains("d old"), "{text}");
    assert!(!text.contains("ago !"), "{text}");
    assert!(text.contains("rows arrived 10:15:02"), "{text}");
    assert!(text.contains("newest data 2025-06-18"), "{text}");
    // Without a feed, the age is that of the last import: two weeks is stale.
    app.live = None;
    let text = common::text(&app, 100, 30);
    assert!(
        text.contains("last import 2025-06-18 09:12 (14 d ago !)"),
        "{text}"
    );
    app.today = chrono::NaiveDate::from_ymd_opt(2025, 6, 18).unwrap();
    let text = common::text(&app, 100, 30);
    assert!(
        text.contains("last import 2025-06-18 09:12 (today)"),
        "{text}"
    );
}

/// Issue 15: the help overlay lists the keys in force, `[keys]` included.
#[test]
fn help_shows_the_keys_in_force_after_a_remap() {
    let mut app = app_on(Tab::Trends);
    app.snapshot.config = kpi::config::Config::parse(
        "[keys]\nquit = \"x\"\ncopy = \"Y\"\n",
        std::path::Path::new("kpi.toml"),
    )
    .unwrap();
    app.apply_config();
    app.help = true;
    let terminal = common::terminal(&app, 80, 24);
    insta::assert_snapshot!("help_remapped_80x24", terminal.backend());
    let text = common::text(&app, 80, 24);
    assert!(text.contains("x Ctrl-C"), "{text}");
    assert!(!text.contains("q Ctrl-C"), "{text}");
    let copy = text
        .lines()
        .find(|l| l.contains("copy metric series"))
        .unwrap();
    assert!(copy.contains("│ Y  "), "{copy}");
    assert!(
        text.contains("? help  x quit"),
        "the status line's hint follows: {text}"
    );
    assert!(text.contains("e E"), "{text}");
}

/// Issue 15: `theme = "light"` draws titles and accents in blue (cyan is unreadable on a
/// light background); NO_COLOR still draws no colour at all.
#[test]
fn the_light_theme_recolours_and_no_color_still_wins() {
    let mut app = app_on(Tab::Overview);
    app.theme = Theme::new(ColorMode::Ansi16);
    app.snapshot.config =
        kpi::config::Config::parse("theme = \"light\"\n", std::path::Path::new("kpi.toml"))
            .unwrap();
    app.apply_config();
    let buffer = common::buffer(&app, 80, 24);
    let title = (0..80)
        .map(|x| &buffer[(x, 1)])
        .find(|c| c.symbol() == "N")
        .unwrap();
    assert_eq!(title.fg, Color::Blue);
    app.theme = Theme::new(ColorMode::None);
    app.apply_config();
    let buffer = common::buffer(&app, 80, 24);
    for cell in buffer.content() {
        assert_eq!(cell.fg, Color::Reset, "{cell:?}");
    }
}

#[test]
fn the_readme_key_table_lists_every_key_of_the_help() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let start = readme.find("| key | what it does |").unwrap();
    let table: String = readme[start..]
        .lines()
        .take_while(|l| l.starts_with('|'))
        .map(|l| format!("{l}\n"))
        .collect();
    for (keys, _) in kpi::ui::keymap::Keymap::default().help() {
        for key in keys.split_whitespace() {
            let written = match key {
                "1-6" => "`1`–`6`".to_string(),
                "S-Tab" => "`Shift-Tab`".to_string(),
                "↑" | "↓" | "←" | "→" => "arrows".to_string(),
                "click" | "wheel" => "| click, wheel".to_string(),
                "Ctrl-C" => "`Ctrl-C`".to_string(),
                other => format!("`{other}`"),
            };
            assert!(
                table.contains(&written),
                "the README's key table lacks {written} (help: {keys}):\n{table}"
            );
        }
    }
}
