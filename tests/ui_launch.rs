//! Issue 15, defect 11: the launch view — today so far against the same weekday a week
//! before at the same time, hour by hour — from the events in the store, and on screen.
#![allow(clippy::unwrap_used)]

mod common;

use chrono::{NaiveDate, NaiveTime};
use kpi::config::Config;
use kpi::import::{ImportOptions, import_file};
use kpi::ui::{Tab, fixture};

#[test]
fn the_launch_view_counts_events_by_hour_up_to_the_latest_events_time() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("s.db");
    let events = dir.path().join("events.csv");
    std::fs::write(
        &events,
        "event_id,user_id,ts,name\n\
         e1,u1,2025-06-11T09:10:00Z,session_start\n\
         e2,u2,2025-06-11T09:20:00Z,page_view\n\
         e3,u1,2025-06-11T20:00:00Z,page_view\n\
         e4,u1,2025-06-18T09:05:00Z,session_start\n\
         e5,u3,2025-06-18T09:50:00Z,page_view\n\
         e6,u3,2025-06-18T10:30:00Z,page_view\n",
    )
    .unwrap();
    let mut store = kpi::store::Store::open(&db).unwrap();
    import_file(&mut store, &events, &ImportOptions::default()).unwrap();
    let snapshot = kpi::snapshot::build_metrics(&store, &Config::default(), None).unwrap();
    let launch = snapshot.data.launch.unwrap();
    assert_eq!(launch.day, NaiveDate::from_ymd_opt(2025, 6, 18).unwrap());
    assert_eq!(launch.now, NaiveTime::from_hms_opt(10, 30, 0).unwrap());
    assert_eq!((launch.today[9], launch.today[10]), (2, 1));
    assert_eq!((launch.last_week[9], launch.last_week[20]), (2, 1));
    // Until 10:30: the week before's 20:00 event is still ahead.
    assert_eq!((launch.events_today, launch.events_last_week), (3, 2));
    assert_eq!((launch.users_today, launch.users_last_week), (2, 2));
}

#[test]
fn t_shows_today_so_far_against_last_week_by_hour_at_80x24() {
    let mut app = fixture::app(fixture::snapshot());
    app.tab = Tab::Overview;
    let mut day = kpi::snapshot::LaunchDay {
        day: NaiveDate::from_ymd_opt(2025, 6, 18).unwrap(),
        now: NaiveTime::from_hms_opt(14, 23, 0).unwrap(),
        events_today: 160,
        events_last_week: 100,
        users_today: 50,
        users_last_week: 40,
        ..Default::default()
    };
    day.today[9] = 120;
    day.today[14] = 40;
    day.last_week[9] = 100;
    day.last_week[20] = 200;
    app.snapshot.data.launch = Some(day);
    let tiles = common::text(&app, 80, 24);
    let msg = kpi::ui::keymap::key_to_msg(
        &app,
        crossterm::event::KeyEvent::new(
            crossterm::event::KeyCode::Char('t'),
            crossterm::event::KeyModifiers::NONE,
        ),
    )
    .unwrap();
    kpi::ui::update(&mut app, msg);
    assert!(app.overview.launch);
    let terminal = common::terminal(&app, 80, 24);
    insta::assert_snapshot!("overview_launch_80x24", terminal.backend());
    let text = common::text(&app, 80, 24);
    assert_ne!(text, tiles);
    assert!(
        text.contains("Today until 14:23 (Wed 2025-06-18) vs the same time Wed 2025-06-11"),
        "{text}"
    );
    assert!(text.contains("events 160 vs 100 ✓ ▲ +60.0%"), "{text}");
    assert!(text.contains("active users 50 vs 40"), "{text}");
    assert!(text.contains("▒"), "{text}");
    assert!(text.contains("█"), "{text}");
    // The hour ahead today is empty; last week's 20:00 shows what is still to come.
    assert!(
        text.contains("▒ Wed 11 · █ today · events per hour, UTC"),
        "{text}"
    );
    let axis = text.lines().find(|l| l.contains("0        3")).unwrap();
    assert!(axis.contains("9        12"), "{axis}");
}
