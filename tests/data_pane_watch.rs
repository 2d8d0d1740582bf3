//! The Data pane's watched-folder lines: a file the store could not take shows as
//! pending with its next attempt and last failure; a FIFO as skipped.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::{Path, PathBuf};

use kpi::ui::app::LiveStatus;
use kpi::ui::{Tab, fixture};
use kpi::watch::FileState;

#[test]
fn the_data_pane_shows_pending_retries_and_skipped_files() {
    let mut app = fixture::app(fixture::snapshot());
    app.tab = Tab::Data;
    let mut live = LiveStatus::new(PathBuf::from("/srv/exports"));
    live.progress = None;
    let at = || "2026-11-22T13:00:00Z".to_string();
    live.state
        .record(Path::new("/srv/exports/a_gone.csv"), FileState::Gone, at());
    live.state.record(
        Path::new("/srv/exports/events.csv"),
        FileState::Skipped {
            reason: "not a regular file (FIFO); skipped".into(),
        },
        at(),
    );
    live.state.record(
        Path::new("/srv/exports/orders.csv"),
        FileState::Retrying {
            reason: "cannot write to the store: database is locked".into(),
            attempt: 2,
            next_retry: "13:00:04".into(),
        },
        at(),
    );
    app.live = Some(live);
    let text = common::text(&app, 200, 40);
    let lines: Vec<&str> = text.lines().collect();
    let at = lines
        .iter()
        .position(|l| l.contains("watched folder /srv/exports"))
        .unwrap_or_else(|| panic!("{text}"));
    assert_eq!(
        lines[at + 1].trim(),
        "↻ orders.csv: pending, attempt 3 at 13:00:04 (last failure: cannot write to the store: database is locked)"
    );
    assert_eq!(
        lines[at + 2].trim(),
        "· events.csv: not a regular file (FIFO); skipped"
    );
    assert_eq!(
        lines[at + 3].trim(),
        "− a_gone.csv: gone from the folder (its rows stay)"
    );
    // A retrying file counts as failing in the status line.
    assert_eq!(app.live.as_ref().unwrap().state.failed().count(), 1);
}

#[test]
fn the_data_pane_shows_how_far_a_running_import_has_come() {
    let mut app = fixture::app(fixture::snapshot());
    app.tab = Tab::Data;
    app.live = Some(LiveStatus::new(PathBuf::from("/srv/exports")));
    let at = kpi::import::ImportProgress {
        bytes_done: 30_000_000,
        bytes_total: 120_000_000,
        rows: 500_000,
    };
    let _ = kpi::ui::update(
        &mut app,
        kpi::ui::Msg::ImportProgress {
            file: "orders.csv".into(),
            at,
        },
    );
    let text = common::text(&app, 200, 40);
    assert!(
        text.lines()
            .any(|l| l.trim() == "importing orders.csv: 25% · 500000 rows · 30 of 120 MB"),
        "{text}"
    );
}
