//! Issue 15's ways of looking closer: the annotation list stepped through with `n` / `N`,
//! two periods compared side by side (`c`, `<` `>` `{` `}`), and the accounts behind a
//! tile or an alert (Enter), read by the worker from a real store. Keys go through the
//! keymap into `update`, as in ui_update.rs; what they show is drawn on a `TestBackend`.
#![allow(clippy::unwrap_used)]

mod common;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use kpi::metrics::{Grain, Period};
use kpi::store::accounts::{AccountMeasure, AccountMove, AccountMoves};
use kpi::ui::app::{Compare, DrillOrigin};
use kpi::ui::keymap::{self, Msg};
use kpi::ui::update::DrillRequest;
use kpi::ui::{App, Effect, Tab, fixture, update};

fn app() -> App {
    fixture::app(fixture::snapshot())
}

fn press(app: &mut App, code: KeyCode) -> Option<Effect> {
    let msg = keymap::key_to_msg(app, KeyEvent::new(code, KeyModifiers::NONE))?;
    update(app, msg)
}

fn char(app: &mut App, c: char) -> Option<Effect> {
    press(app, KeyCode::Char(c))
}

fn period(label: &str) -> Period {
    Period::parse(label).unwrap()
}

fn drill_request(effect: Option<Effect>) -> DrillRequest {
    match effect {
        Some(Effect::Drill(request)) => *request,
        other => panic!("expected a drill-down read, got {other:?}"),
    }
}

// ── annotations ──

#[test]
fn n_and_capital_n_step_through_the_annotations_and_esc_lets_go() {
    let mut app = app();
    // Month grain: the chart draws July 2024 to May 2025, both annotations inside.
    app.grain = Grain::Month;
    char(&mut app, 'n');
    assert_eq!(app.tab, Tab::Trends, "annotations live in Trends");
    assert_eq!(app.trends.annotation, Some(0));
    assert!(
        app.status
            .as_deref()
            .unwrap()
            .contains("2025-03-03 launch v2"),
        "{:?}",
        app.status
    );
    char(&mut app, 'n');
    assert_eq!(app.trends.annotation, Some(1));
    char(&mut app, 'n');
    assert_eq!(app.trends.annotation, Some(1), "stops at the last one");
    char(&mut app, 'N');
    assert_eq!(app.trends.annotation, Some(0));
    press(&mut app, KeyCode::Esc);
    assert_eq!(app.trends.annotation, None);
    char(&mut app, 'N');
    assert_eq!(app.trends.annotation, Some(1), "N starts from the newest");
}

#[test]
fn the_first_n_lands_on_an_annotation_inside_the_range_drawn() {
    let mut app = app();
    // Week grain, 12 weeks: 2025-W13 to W24; 2025-03-03 (W10) is before, 2025-05-12 inside.
    char(&mut app, 'n');
    assert_eq!(app.trends.annotation, Some(1));
    let mut app = self::app();
    char(&mut app, 'N');
    assert_eq!(app.trends.annotation, Some(1));
    // None inside: the first one (n) or the last one (N) still.
    let mut app = self::app();
    app.grain = Grain::Day;
    app.range = 0;
    char(&mut app, 'n');
    assert_eq!(app.trends.annotation, Some(0));
}

#[test]
fn without_annotations_n_says_what_to_import() {
    let mut app = fixture::app(fixture::empty_snapshot());
    char(&mut app, 'n');
    assert_eq!(app.trends.annotation, None);
    assert!(
        app.status
            .as_deref()
            .unwrap()
            .contains("import annotations")
    );
}

#[test]
fn trends_list_the_annotations_and_mark_the_one_stepped_to_on_the_chart() {
    let mut app = app();
    app.tab = Tab::Trends;
    app.grain = Grain::Month;
    let text = common::text(&app, 80, 24);
    assert!(text.contains("Annotations  n N"), "{text}");
    assert!(text.contains("2025-03-03 launch v2"), "{text}");
    char(&mut app, 'n');
    char(&mut app, 'n');
    let terminal = common::terminal(&app, 80, 24);
    insta::assert_snapshot!("trends_annotation_80x24", terminal.backend());
    let text = common::text(&app, 80, 24);
    assert!(
        text.contains("◆ 2025-05-12 spring campaign"),
        "the chart names the annotation stepped to:\n{text}"
    );
    assert!(text.contains("◆ 2025-05-12 spring"), "{text}");
    // The stepped-to marker is a solid bar (█) between the chart's title and its legend
    // (the monthly bars below are solid too).
    let lines: Vec<&str> = text.lines().collect();
    let top = lines
        .iter()
        .position(|l| l.contains("by month · ◆"))
        .unwrap();
    let bottom = lines.iter().position(|l| l.contains("⣿ value")).unwrap();
    assert!(
        lines[top + 1..bottom].iter().any(|l| l.contains('█')),
        "no solid annotation bar:\n{text}"
    );
    // Stepped to an annotation before the range shown: said, not silently left out.
    app.grain = Grain::Week;
    app.range = 0;
    char(&mut app, 'N');
    let text = common::text(&app, 200, 60);
    assert!(
        text.contains("◆ 2025-03-03 launch v2 (outside the range: ] widens)"),
        "{text}"
    );
}

// ── compare ──

#[test]
fn c_compares_with_the_same_period_last_year_and_the_periods_move() {
    let mut app = app();
    char(&mut app, 'c');
    assert_eq!(app.compare, Some(Compare::year_over_year(Grain::Week)));
    assert_eq!(app.compare.unwrap().base_gap, 52);
    // Fixture as of Wednesday 2025-06-18: the latest complete week is W24.
    assert_eq!(
        app.compare_periods(),
        Some((period("2025-W24"), period("2024-W24")))
    );
    char(&mut app, '<');
    assert_eq!(app.compare_periods().unwrap().1, period("2024-W23"));
    char(&mut app, '>');
    char(&mut app, '>');
    assert_eq!(app.compare_periods().unwrap().1, period("2024-W25"));
    char(&mut app, '{');
    assert_eq!(
        app.compare_periods(),
        Some((period("2025-W23"), period("2024-W24"))),
        "the shown period moves, the gap stays"
    );
    char(&mut app, '}');
    char(&mut app, '}');
    assert_eq!(
        app.compare_periods().unwrap().0,
        period("2025-W24"),
        "never past the latest complete period"
    );
    char(&mut app, 'g');
    assert_eq!(app.grain, Grain::Month);
    assert_eq!(
        app.compare_periods(),
        Some((period("2025-05"), period("2024-05"))),
        "a new grain compares a year back again"
    );
    char(&mut app, 'c');
    assert_eq!(app.compare, None);
}

#[test]
fn the_base_period_never_passes_the_shown_one() {
    let mut app = app();
    app.grain = Grain::Month;
    char(&mut app, 'c');
    for _ in 0..20 {
        char(&mut app, '>');
    }
    assert_eq!(
        app.compare_periods(),
        Some((period("2025-05"), period("2025-04")))
    );
}

#[test]
fn c_outside_overview_and_trends_says_where_it_works_and_esc_stops_comparing() {
    let mut app = app();
    char(&mut app, '5');
    char(&mut app, 'c');
    assert_eq!(app.compare, None);
    assert!(app.status.as_deref().unwrap().contains("Overview (1)"));
    char(&mut app, '<');
    assert!(
        app.status
            .as_deref()
            .unwrap()
            .contains("c starts comparing")
    );
    char(&mut app, '1');
    char(&mut app, 'c');
    assert!(app.compare.is_some());
    press(&mut app, KeyCode::Esc);
    assert_eq!(app.compare, None);
}

fn comparing_may_with_april() -> App {
    let mut app = app();
    app.grain = Grain::Month;
    app.compare = Some(Compare {
        shown_back: 0,
        base_gap: 1,
    });
    app
}

#[test]
fn overview_tiles_compare_both_periods_side_by_side() {
    let app = comparing_may_with_april();
    let terminal = common::terminal(&app, 80, 24);
    insta::assert_snapshot!("overview_compare_80x24", terminal.backend());
    let text = common::text(&app, 80, 24);
    assert!(text.contains("2025-05  $58,450"), "{text}");
    assert!(text.contains("2025-04  $54,100"), "{text}");
    assert!(text.contains("✓ ▲ +8.0% vs 2025-04"), "{text}");
    // A year back is not held by the fixture: said, not drawn as zero.
    let mut app = app;
    app.compare = Some(Compare::year_over_year(Grain::Month));
    let text = common::text(&app, 80, 24);
    assert!(text.contains("2024-05  no value held"), "{text}");
    assert!(text.contains("no change to show"), "{text}");
}

#[test]
fn trends_header_compares_both_periods_with_their_change() {
    let mut app = comparing_may_with_april();
    app.tab = Tab::Trends;
    let text = common::text(&app, 100, 30);
    assert!(
        text.contains("compare 2025-05 $58,450 vs 2025-04 $54,100  ✓ ▲ +8.0%"),
        "{text}"
    );
}

// ── drill-down ──

#[test]
fn enter_on_a_tile_reads_the_accounts_behind_its_latest_change() {
    let mut app = app();
    let request = drill_request(press(&mut app, KeyCode::Enter));
    assert_eq!(request.metric, "net_revenue");
    assert_eq!(request.measure, Some(AccountMeasure::OrderRevenue));
    assert_eq!(
        (request.before, request.after),
        (period("2025-W23"), period("2025-W24"))
    );
    assert_eq!(request.segment, None);
    let drill = app.drill.as_ref().unwrap();
    assert_eq!(drill.origin, DrillOrigin::Tile(0));
    assert_eq!(drill.result, None, "reading");
    // The worker's answer fills it in; one for another request is dropped.
    let mut other = request.clone();
    other.metric = "mrr".into();
    update(
        &mut app,
        Msg::DrillLoaded {
            request: Box::new(other),
            result: Ok(AccountMoves::default()),
        },
    );
    assert_eq!(app.drill.as_ref().unwrap().result, None);
    update(
        &mut app,
        Msg::DrillLoaded {
            request: Box::new(request),
            result: Ok(moves()),
        },
    );
    assert_eq!(app.drill.as_ref().unwrap().result, Some(Ok(moves())));
    press(&mut app, KeyCode::Esc);
    assert_eq!(app.drill, None);
    assert_eq!(app.tab, Tab::Overview);
}

#[test]
fn while_comparing_a_tile_drills_into_the_two_periods_compared() {
    let mut app = comparing_may_with_april();
    char(&mut app, 'l'); // MRR: subscriptions
    let request = drill_request(press(&mut app, KeyCode::Enter));
    assert_eq!(request.metric, "mrr");
    assert_eq!(request.measure, Some(AccountMeasure::Mrr));
    assert_eq!(
        (request.before, request.after),
        (period("2025-04"), period("2025-05"))
    );
}

#[test]
fn a_metric_without_accounts_says_so_without_reading_the_store() {
    let mut app = app();
    char(&mut app, 'l');
    char(&mut app, 'l'); // NPS: survey answers, no per-account measure
    assert_eq!(press(&mut app, KeyCode::Enter), None);
    let drill = app.drill.as_ref().unwrap();
    assert_eq!(drill.request.measure, None);
    let text = common::text(&app, 100, 30);
    assert!(
        text.contains("no per-account breakdown — it is computed from surveys"),
        "{text}"
    );
}

#[test]
fn enter_on_an_alert_reads_the_accounts_of_its_segment_and_period() {
    let mut app = app();
    char(&mut app, '5');
    let alert = app.selected_alert().unwrap().clone();
    assert_eq!(alert.metric, "net_revenue");
    let request = drill_request(press(&mut app, KeyCode::Enter));
    assert!(app.alerts.detail);
    assert_eq!(request.metric, "net_revenue");
    let segment = request.segment.clone().unwrap();
    assert_eq!(
        (segment.dimension.as_str(), segment.value.as_str()),
        ("channel", "paid_search")
    );
    assert_eq!(
        (request.before, request.after),
        (period("2025-W23"), period("2025-W24"))
    );
    assert_eq!(
        app.drill.as_ref().unwrap().origin,
        DrillOrigin::Alert(alert.key.clone())
    );
    press(&mut app, KeyCode::Esc);
    assert!(!app.alerts.detail);
    assert_eq!(app.drill, None);
}

fn moves() -> AccountMoves {
    AccountMoves {
        moves: vec![
            AccountMove {
                account: "c-ACME".into(),
                before: 1_900.0,
                after: 500.0,
            },
            AccountMove {
                account: "c-Globex".into(),
                before: 250.0,
                after: 0.0,
            },
            AccountMove {
                account: "c-Initech".into(),
                before: 0.0,
                after: 120.0,
            },
        ],
        filtered: true,
    }
}

fn loaded(app: &mut App, effect: Option<Effect>) {
    let request = drill_request(effect);
    update(
        app,
        Msg::DrillLoaded {
            request: Box::new(request),
            result: Ok(moves()),
        },
    );
}

#[test]
fn a_tile_s_drill_down_lists_accounts_with_before_after_and_change() {
    let mut app = app();
    let effect = press(&mut app, KeyCode::Enter);
    let text = common::text(&app, 80, 24);
    assert!(text.contains("reading accounts…"), "{text}");
    loaded(&mut app, effect);
    let terminal = common::terminal(&app, 80, 24);
    insta::assert_snapshot!("overview_drill_80x24", terminal.backend());
    let text = common::text(&app, 80, 24);
    assert!(
        text.contains("accounts by revenue of completed orders, 2025-W24 vs 2025-W23"),
        "{text}"
    );
    let row = |account: &str| text.lines().find(|l| l.contains(account)).unwrap();
    assert!(row("      change").starts_with("│account"), "{text}");
    // Largest change first, each with both values and the change, signed.
    let acme = row("c-ACME");
    assert!(
        acme.contains("$1,900") && acme.contains("$500.00") && acme.contains("▼ -$1,400"),
        "{text}"
    );
    let initech = row("c-Initech");
    assert!(
        initech.contains("$0.00") && initech.contains("$120.00") && initech.contains("▲ +$120.00"),
        "{text}"
    );
    assert!(text.find("c-ACME").unwrap() < text.find("c-Initech").unwrap());
}

#[test]
fn an_alert_s_details_list_the_accounts_behind_it() {
    let mut app = app();
    char(&mut app, '5');
    let effect = press(&mut app, KeyCode::Enter);
    loaded(&mut app, effect);
    let terminal = common::terminal(&app, 100, 30);
    insta::assert_snapshot!("alert_drill_100x30", terminal.backend());
    let text = common::text(&app, 100, 30);
    assert!(text.contains("Net revenue [channel=paid_search]"), "{text}");
    assert!(text.contains("c-Globex"), "{text}");
    // Without the segment on its rows the list is every account's, and says so.
    let mut unfiltered = moves();
    unfiltered.filtered = false;
    let request = app.drill.as_ref().unwrap().request.clone();
    update(
        &mut app,
        Msg::DrillLoaded {
            request: Box::new(request),
            result: Ok(unfiltered),
        },
    );
    let text = common::text(&app, 100, 30);
    assert!(
        text.contains("every account: these rows do not carry channel"),
        "{text}"
    );
}

#[test]
fn a_drill_down_that_failed_says_why() {
    let mut app = app();
    let request = drill_request(press(&mut app, KeyCode::Enter));
    update(
        &mut app,
        Msg::DrillLoaded {
            request: Box::new(request),
            result: Err("database is locked".into()),
        },
    );
    let text = common::text(&app, 80, 24);
    assert!(
        text.contains("could not read the accounts: database is locked"),
        "{text}"
    );
}

/// The worker performs the read on its own (read-only) connection against a real store.
#[test]
fn the_worker_reads_the_accounts_from_the_store_without_writing_it() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("drill.db");
    {
        let store = kpi::store::Store::open(&db).unwrap();
        store
            .conn()
            .execute_batch(
                "INSERT INTO customers (customer_id, signup_date) VALUES ('a', '2025-01-01'),
                   ('b', '2025-01-01');
                 INSERT INTO orders (order_id, customer_id, order_date, revenue) VALUES
                   ('1', 'a', '2025-06-03', 10000), ('2', 'a', '2025-06-10', 2500),
                   ('3', 'b', '2025-06-04', 1000), ('4', 'b', '2025-06-11', 4000);",
            )
            .unwrap();
    }
    let mut worker =
        kpi::ui::worker::open(&db, kpi::config::Config::default(), None, false).unwrap();
    let request = DrillRequest {
        metric: "gross_revenue".into(),
        segment: None,
        before: period("2025-W23"),
        after: period("2025-W24"),
        measure: Some(AccountMeasure::OrderRevenue),
    };
    let Msg::DrillLoaded {
        request: answered,
        result,
    } = worker.perform(Effect::Drill(Box::new(request.clone())))
    else {
        panic!("not a drill-down answer");
    };
    assert_eq!(*answered, request);
    let moves = result.unwrap().moves;
    assert_eq!(
        moves,
        vec![
            AccountMove {
                account: "a".into(),
                before: 100.0,
                after: 25.0
            },
            AccountMove {
                account: "b".into(),
                before: 10.0,
                after: 40.0
            },
        ]
    );
    assert!(
        worker.store.is_read_only(),
        "the drill-down reads on the reading connection"
    );
}

#[test]
fn an_account_s_change_is_coloured_by_what_the_measure_means_and_marked_by_an_arrow() {
    let mut app = app();
    let effect = press(&mut app, KeyCode::Enter);
    loaded(&mut app, effect);
    let buffer = common::buffer(&app, 80, 24);
    let text = common::text(&app, 80, 24);
    let cell_of = |needle: &str| {
        let (y, line) = text
            .lines()
            .enumerate()
            .find(|(_, l)| l.contains(needle))
            .unwrap();
        let x = line[..line.find(needle).unwrap()].chars().count();
        &buffer[(u16::try_from(x).unwrap(), u16::try_from(y).unwrap())]
    };
    // Less revenue from an account is bad news, more is good; the arrow says it too.
    assert_eq!(cell_of("▼ -$1,400").fg, app.theme.bad().fg.unwrap());
    assert_eq!(cell_of("▲ +$120.00").fg, app.theme.good().fg.unwrap());
    assert!(AccountMeasure::OrderRevenue.higher_is_better());
    assert!(!AccountMeasure::Tickets.higher_is_better());
}

#[test]
fn on_a_wide_screen_every_metric_is_compared_side_by_side() {
    let app = comparing_may_with_april();
    let text = common::text(&app, 200, 60);
    assert!(text.contains("Every metric, 2025-05 vs 2025-04"), "{text}");
    let net = text
        .lines()
        .filter(|l| l.contains("Net revenue"))
        .find(|l| l.contains("$58,450") && l.contains("$54,100"))
        .unwrap_or_else(|| panic!("no side-by-side row:\n{text}"));
    assert!(net.contains("✓ ▲ +8.0%"), "{net}");
}

#[test]
fn a_target_alert_drills_into_its_latest_complete_period_and_an_import_failure_into_nothing() {
    let mut app = app();
    let mut target = app.snapshot.alerts[0].clone();
    target.kind = kpi::alerts::AlertKind::Target;
    target.segment = None;
    target.grain = Grain::Month;
    target.period = "2025-12-31".into();
    let mut failure = target.clone();
    failure.kind = kpi::alerts::AlertKind::ImportFailure;
    failure.key = "import|orders.csv".into();
    app.snapshot.alerts = vec![target];
    char(&mut app, '5');
    let request = drill_request(press(&mut app, KeyCode::Enter));
    assert_eq!(
        (request.before, request.after),
        (period("2025-04"), period("2025-05")),
        "the target is dated 2025-12-31; its value is May's"
    );
    app.snapshot.alerts = vec![failure];
    press(&mut app, KeyCode::Esc);
    assert_eq!(press(&mut app, KeyCode::Enter), None);
    assert!(app.alerts.detail);
    assert_eq!(app.drill, None, "a failed import has no accounts behind it");
}

#[test]
fn trends_mark_the_two_periods_compared_on_the_chart() {
    let mut app = comparing_may_with_april();
    app.tab = Tab::Trends;
    let terminal = common::terminal(&app, 100, 30);
    insta::assert_snapshot!("trends_compare_100x30", terminal.backend());
    let text = common::text(&app, 100, 30);
    assert!(text.contains("▄ compared"), "{text}");
    let lines: Vec<&str> = text.lines().collect();
    let top = lines
        .iter()
        .position(|l| l.contains("Net revenue by month"))
        .unwrap();
    let bottom = lines.iter().position(|l| l.contains("▄ compared")).unwrap();
    let marks = lines[top + 1..bottom]
        .iter()
        .filter(|l| l.contains('▄'))
        .count();
    assert!(marks >= 3, "the compared periods' bars are drawn:\n{text}");
    // Not comparing: no mark, no legend entry.
    app.compare = None;
    assert!(!common::text(&app, 100, 30).contains("▄ compared"));
}
