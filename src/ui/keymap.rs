//! Keys → messages. The only place that knows which key does what; the help overlay is
//! drawn from [`HELP`], so it can't drift from the bindings.

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use crate::alerts::Alert;
use crate::metrics::Series;
use crate::snapshot::Snapshot;

use super::app::{App, PickerPurpose, Tab};

/// Everything that can happen to the cockpit: a user's intent or a worker's result.
#[derive(Debug, Clone)]
pub enum Msg {
    GoTo(Tab),
    NextTab,
    PrevTab,
    Up,
    Down,
    Left,
    Right,
    /// PgUp / PgDn: a screenful up or down a list.
    PageUp,
    PageDown,
    /// Home: the first row of a list.
    First,
    /// End or `G`: the last row of a list.
    Last,
    Enter,
    Back,
    /// `/`: start typing a filter.
    Filter,
    FilterInput(char),
    FilterBackspace,
    /// `f`: pick a segment.
    PickSegment,
    Help,
    Quit,
    CycleGrain,
    RangeShorter,
    RangeLonger,
    /// `v` in Cohorts.
    CycleVariant,
    /// `m` in Cohorts.
    CycleMeasure,
    Acknowledge,
    Snooze,
    /// `r`: rebuild the snapshot from the store.
    Reload,
    /// The terminal changed size; only a redraw is needed.
    Resize,
    SnapshotLoaded(Result<Box<Snapshot>, String>),
    /// The alert evaluation that follows a snapshot (alerts, pulses, targets).
    AlertsLoaded(Result<Box<crate::alerts::Evaluation>, String>),
    BreakdownLoaded {
        purpose: PickerPurpose,
        dimension: String,
        result: Result<Vec<Series>, String>,
    },
    AlertSaved {
        alert: Box<Alert>,
        action: AlertAction,
        result: Result<(), String>,
    },
    /// Something worth a line in the status bar (a sighting that could not be recorded).
    Status(String),
    /// The delivery log's rows for some alerts (`notify`): they replace what the Alerts
    /// pane knew of those alerts' deliveries.
    DeliveriesLoaded(Vec<crate::store::notify_log::Delivery>),
    /// `--watch`: the initial import is at file `done` of `total`.
    LiveProgress {
        done: usize,
        total: usize,
    },
    /// `--watch`: how far the import of a file has come.
    ImportProgress {
        file: String,
        at: crate::import::ImportProgress,
    },
    /// `--watch`: a round of imports finished.
    LiveImported(Box<super::live::LiveBatch>),
    /// `--watch`: the watcher failed or could not start.
    LiveFailed(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlertAction {
    Acknowledge,
    Snooze,
    /// A second `a` on an acknowledged alert.
    Unacknowledge,
    /// A second `s` on a snoozed alert.
    Unsnooze,
}

/// Every key, grouped for the help overlay: (keys, what they do).
pub const HELP: &[(&str, &str)] = &[
    ("1-6 Tab S-Tab", "switch pane"),
    ("↑↓←→ hjkl", "move"),
    ("PgUp PgDn", "a page up / down a list"),
    ("Home End G", "first / last row of a list"),
    ("Enter", "drill in (tile, alert, cell, reject)"),
    ("Esc", "back out / close"),
    ("/", "filter the list (metrics, alerts, rejects)"),
    ("f", "pick a segment (Trends, Drivers)"),
    ("g", "cycle grain day/week/month"),
    ("[ ]", "shorter / longer range"),
    ("v", "cohort variant (Cohorts)"),
    ("m", "cohort measure: share/members"),
    ("a", "acknowledge alert (Alerts); again: undo"),
    ("s", "snooze alert 7 days, marked z; again: undo"),
    ("r", "reload the store and kpi.toml"),
    ("?", "this help"),
    ("q Ctrl-C", "quit"),
];

/// Translates a key press into a message, given what currently has the keyboard
/// (help overlay, segment picker, filter line, or the pane).
pub fn key_to_msg(app: &App, key: KeyEvent) -> Option<Msg> {
    if key.kind == KeyEventKind::Release {
        return None;
    }
    if key.modifiers.contains(KeyModifiers::CONTROL) {
        return matches!(key.code, KeyCode::Char('c')).then_some(Msg::Quit);
    }
    if app.help {
        return match key.code {
            KeyCode::Char('q') => Some(Msg::Quit),
            KeyCode::Char('?') | KeyCode::Esc | KeyCode::Enter => Some(Msg::Help),
            _ => None,
        };
    }
    if app.picker.is_some() {
        return match key.code {
            KeyCode::Up | KeyCode::Char('k') => Some(Msg::Up),
            KeyCode::Down | KeyCode::Char('j') => Some(Msg::Down),
            KeyCode::PageUp => Some(Msg::PageUp),
            KeyCode::PageDown => Some(Msg::PageDown),
            KeyCode::Home => Some(Msg::First),
            KeyCode::End | KeyCode::Char('G') => Some(Msg::Last),
            KeyCode::Enter => Some(Msg::Enter),
            KeyCode::Esc | KeyCode::Char('f') => Some(Msg::Back),
            KeyCode::Char('q') => Some(Msg::Quit),
            _ => None,
        };
    }
    if app.filtering() {
        return match key.code {
            KeyCode::Esc => Some(Msg::Back),
            KeyCode::Enter => Some(Msg::Enter),
            KeyCode::Backspace => Some(Msg::FilterBackspace),
            KeyCode::Up => Some(Msg::Up),
            KeyCode::Down => Some(Msg::Down),
            KeyCode::Char(c) => Some(Msg::FilterInput(c)),
            _ => None,
        };
    }
    let msg = match key.code {
        KeyCode::Char(c @ '1'..='6') => Msg::GoTo(Tab::ALL[usize::from(c as u8 - b'1')]),
        KeyCode::Tab => Msg::NextTab,
        KeyCode::BackTab => Msg::PrevTab,
        KeyCode::Up | KeyCode::Char('k') => Msg::Up,
        KeyCode::Down | KeyCode::Char('j') => Msg::Down,
        KeyCode::Left | KeyCode::Char('h') => Msg::Left,
        KeyCode::Right | KeyCode::Char('l') => Msg::Right,
        KeyCode::PageUp => Msg::PageUp,
        KeyCode::PageDown => Msg::PageDown,
        KeyCode::Home => Msg::First,
        KeyCode::End | KeyCode::Char('G') => Msg::Last,
        KeyCode::Enter => Msg::Enter,
        KeyCode::Esc => Msg::Back,
        KeyCode::Char('/') => Msg::Filter,
        KeyCode::Char('f') => Msg::PickSegment,
        KeyCode::Char('?') => Msg::Help,
        KeyCode::Char('q') => Msg::Quit,
        KeyCode::Char('g') => Msg::CycleGrain,
        KeyCode::Char('[') => Msg::RangeShorter,
        KeyCode::Char(']') => Msg::RangeLonger,
        KeyCode::Char('v') => Msg::CycleVariant,
        KeyCode::Char('m') => Msg::CycleMeasure,
        KeyCode::Char('a') => Msg::Acknowledge,
        KeyCode::Char('s') => Msg::Snooze,
        KeyCode::Char('r') => Msg::Reload,
        _ => return None,
    };
    Some(msg)
}
