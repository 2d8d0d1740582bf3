//! The mouse: each test draws the fixture on a `TestBackend`, finds on the screen the text
//! a user would click, sends the click (or the wheel) through `mouse_to_msg` with the hit
//! areas that frame recorded, and asserts the state a user would then see.
#![allow(clippy::unwrap_used)]

use crossterm::event::{KeyModifiers, MouseButton, MouseEvent, MouseEventKind};
use kpi::metrics::Grain;
use kpi::ui::app::{DataSection, PickerStage};
use kpi::ui::mouse::{Hit, Hits, ListId, mouse_to_msg};
use kpi::ui::{App, Effect, Tab, fixture, update, view};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;

const WIDTH: u16 = 100;
const HEIGHT: u16 = 30;

fn app() -> App {
    fixture::app(fixture::snapshot())
}

fn frame(app: &App) -> (Buffer, Hits) {
    let mut terminal = Terminal::new(TestBackend::new(WIDTH, HEIGHT)).unwrap();
    let mut hits = Hits::default();
    terminal
        .draw(|f| view::draw_recording(f, app, &mut hits))
        .unwrap();
    (terminal.backend().buffer().clone(), hits)
}

fn screen(buffer: &Buffer) -> String {
    (0..buffer.area.height)
        .map(|y| {
            (0..buffer.area.width)
                .map(|x| buffer[(x, y)].symbol())
                .collect::<String>()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The cell where `text` first appears on the screen.
fn find(buffer: &Buffer, text: &str) -> (u16, u16) {
    for y in 0..buffer.area.height {
        let cells: Vec<&str> = (0..buffer.area.width)
            .map(|x| buffer[(x, y)].symbol())
            .collect();
        let line: String = cells.concat();
        if let Some(byte) = line.find(text) {
            // Back from a byte offset to a column: count the cells before it.
            let mut seen = 0;
            for (x, cell) in cells.iter().enumerate() {
                if seen >= byte {
                    return (u16::try_from(x).unwrap(), y);
                }
                seen += cell.len();
            }
        }
    }
    panic!("{text:?} is not on the screen:\n{}", screen(buffer));
}

fn mouse(app: &mut App, kind: MouseEventKind, (column, row): (u16, u16)) -> Option<Effect> {
    let (_, hits) = frame(app);
    let event = MouseEvent {
        kind,
        column,
        row,
        modifiers: KeyModifiers::NONE,
    };
    let msg = mouse_to_msg(app, &hits, event)?;
    update(app, msg)
}

/// Clicks the first place `text` is drawn.
fn click(app: &mut App, text: &str) -> Option<Effect> {
    let (buffer, _) = frame(app);
    let at = find(&buffer, text);
    mouse(app, MouseEventKind::Down(MouseButton::Left), at)
}

#[test]
fn a_click_on_a_tab_opens_its_pane() {
    let mut app = app();
    for (label, tab) in [
        ("3 Drivers", Tab::Drivers),
        ("6 Data", Tab::Data),
        ("1 Overview", Tab::Overview),
        ("2 Trends", Tab::Trends),
    ] {
        click(&mut app, label);
        assert_eq!(app.tab, tab, "after clicking {label}");
    }
}

#[test]
fn a_click_selects_a_tile_and_a_second_click_drills_into_it() {
    let mut app = app();
    assert_eq!(click(&mut app, "NPS"), None);
    assert_eq!(app.overview.selected, 2);
    click(&mut app, "MRR");
    assert_eq!(app.overview.selected, 1);
    let effect = click(&mut app, "MRR");
    assert!(matches!(effect, Some(Effect::Drill(_))), "{effect:?}");
    assert!(app.drill.is_some());
}

#[test]
fn a_click_on_a_list_row_selects_it_and_a_second_opens_it() {
    let mut app = app();
    app.tab = Tab::Trends;
    click(&mut app, "Average order value");
    assert_eq!(app.trend_metric().unwrap().id, "aov");
    app.tab = Tab::Alerts;
    let probe = "NPS overall";
    click(&mut app, probe);
    assert_eq!(app.selected_alert().unwrap().metric, "nps");
    assert!(!app.alerts.detail);
    click(&mut app, probe);
    assert!(app.alerts.detail, "a second click opens the alert");
    assert!(app.drill.is_some(), "and its drill-down");
}

#[test]
fn a_click_on_a_reject_moves_to_the_rejects_section() {
    let mut app = app();
    app.tab = Tab::Data;
    click(&mut app, "orders_2025-06.csv:9311");
    assert_eq!(app.data.section, DataSection::Rejects);
    let selected = app.data.selected[2];
    let reject = app.filtered_rejects()[selected];
    assert_eq!(reject.line, 9_311);
}

#[test]
fn a_click_on_a_cohort_cell_moves_the_cursor_there_and_a_second_opens_it() {
    let mut app = app();
    app.tab = Tab::Cohorts;
    let (buffer, hits) = frame(&app);
    let (x, y) = find(&buffer, "2024-11");
    // The cell of month +1 on the 2024-11 row: the second cell after the label and size.
    let target = (x..WIDTH)
        .find_map(|column| match hits.at(column, y) {
            Some(Hit::CohortCell { row, col: 1 }) => Some((column, row)),
            _ => None,
        })
        .unwrap();
    mouse(
        &mut app,
        MouseEventKind::Down(MouseButton::Left),
        (target.0, y),
    );
    assert_eq!((app.cohorts.row, app.cohorts.col), (target.1, 1));
    assert!(!app.cohorts.detail);
    mouse(
        &mut app,
        MouseEventKind::Down(MouseButton::Left),
        (target.0, y),
    );
    assert!(app.cohorts.detail);
}

#[test]
fn the_wheel_scrolls_a_list_and_over_a_chart_changes_its_range() {
    let mut app = app();
    app.tab = Tab::Trends;
    let (buffer, _) = frame(&app);
    let on_list = find(&buffer, "Orders");
    mouse(&mut app, MouseEventKind::ScrollDown, on_list);
    mouse(&mut app, MouseEventKind::ScrollDown, on_list);
    assert_eq!(app.trends.selected, 2);
    mouse(&mut app, MouseEventKind::ScrollUp, on_list);
    assert_eq!(app.trends.selected, 1);
    let range = app.range;
    let (buffer, _) = frame(&app);
    let on_chart = find(&buffer, "3-mean");
    mouse(&mut app, MouseEventKind::ScrollDown, on_chart);
    assert_eq!(
        app.range,
        range + 1,
        "the wheel down widens the chart's range"
    );
    mouse(&mut app, MouseEventKind::ScrollUp, on_chart);
    mouse(&mut app, MouseEventKind::ScrollUp, on_chart);
    assert_eq!(app.range, range - 1);
}

#[test]
fn the_wheel_over_the_driver_scatter_changes_its_range() {
    let mut app = app();
    app.tab = Tab::Drivers;
    let (buffer, _) = frame(&app);
    let on_chart = find(&buffer, "Net revenue (USD)");
    let range = app.range;
    mouse(&mut app, MouseEventKind::ScrollUp, on_chart);
    assert_eq!(app.range, range - 1);
}

#[test]
fn a_click_on_an_annotation_steps_to_it() {
    let mut app = app();
    app.tab = Tab::Trends;
    app.grain = Grain::Month;
    // The list's row, not the chart's title, which names it too.
    click(&mut app, "2025-05-12 spring");
    assert_eq!(app.trends.annotation, Some(1));
}

#[test]
fn a_click_in_the_segment_picker_chooses_there_and_outside_closes_it() {
    let mut app = app();
    app.tab = Tab::Trends;
    update(&mut app, kpi::ui::Msg::PickSegment);
    let Some(PickerStage::Dimensions(dims)) = app.picker.as_ref().map(|p| p.stage.clone()) else {
        panic!("no picker");
    };
    assert!(dims.contains(&"plan".to_string()));
    click(&mut app, "plan");
    let picker = app.picker.as_ref().unwrap();
    assert_eq!(dims[picker.selected], "plan");
    let effect = click(&mut app, "plan");
    assert!(
        matches!(effect, Some(Effect::Breakdown { ref dimension, .. }) if dimension == "plan"),
        "{effect:?}"
    );
    // A click beside the picker (on nothing clickable) closes it, as Esc does.
    update(&mut app, kpi::ui::Msg::Back);
    update(&mut app, kpi::ui::Msg::PickSegment);
    assert!(app.picker.is_some());
    mouse(
        &mut app,
        MouseEventKind::Down(MouseButton::Left),
        (WIDTH - 1, HEIGHT - 1),
    );
    assert!(app.picker.is_none());
}

#[test]
fn with_help_open_a_click_closes_it_and_reaches_nothing_below() {
    let mut app = app();
    app.help = true;
    let (buffer, hits) = frame(&app);
    let (x, y) = find(&buffer, "switch pane");
    assert_eq!(hits.at(x, y), None, "the help covers the pane");
    mouse(&mut app, MouseEventKind::Down(MouseButton::Left), (x, y));
    assert!(!app.help);
    assert_eq!(app.tab, Tab::Overview);
    app.help = true;
    mouse(&mut app, MouseEventKind::ScrollDown, (x, y));
    assert!(app.help, "the wheel does nothing under the help");
    assert_eq!(app.overview.selected, 0);
}

#[test]
fn hits_name_the_topmost_thing_drawn() {
    let mut hits = Hits::default();
    let area = ratatui::layout::Rect::new(0, 0, 10, 5);
    hits.push(area, Hit::Chart);
    hits.rows(
        ratatui::layout::Rect::new(1, 1, 8, 3),
        4,
        6,
        ListId::Metrics,
    );
    assert_eq!(hits.at(2, 1), Some(Hit::Row(ListId::Metrics, 4)));
    assert_eq!(hits.at(2, 2), Some(Hit::Row(ListId::Metrics, 5)));
    assert_eq!(
        hits.at(2, 3),
        Some(Hit::Chart),
        "only 6 rows: 4 and 5 shown"
    );
    assert_eq!(hits.at(0, 0), Some(Hit::Chart));
    assert_eq!(hits.at(10, 0), None);
    hits.cover(ratatui::layout::Rect::new(0, 0, 3, 3));
    assert_eq!(
        hits.at(5, 4),
        None,
        "what the popup overlaps answers no more"
    );
}

#[test]
fn rows_under_an_open_reject_answer_no_click() {
    let mut app = app();
    app.tab = Tab::Data;
    app.data.section = DataSection::Rejects;
    app.data.detail = true;
    let (buffer, hits) = frame(&app);
    let (x, y) = find(&buffer, "Rejected row · Esc closes");
    for row in y..y + 6 {
        assert_eq!(hits.at(x + 2, row), None, "row {row} under the details");
    }
}
