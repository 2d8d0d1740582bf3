//! Keys → messages. The only place that knows which key does what. The bindings are a
//! table of [`Action`]s with their default keys, patched by `[keys]` in `kpi.toml`
//! ([`Keymap::from_config`]); the help overlay is drawn from the same table
//! ([`Keymap::help`]), so it always shows the keys in force.

use std::collections::BTreeMap;

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

    // ── issue 15 (cockpit): mouse, annotations, drill-down, compare ──
    /// A click on something the last frame drew (see [`super::mouse`]).
    Click(super::mouse::Hit),
    /// `n` / `N` in Trends: the next / previous annotation, marked on the chart.
    NextAnnotation,
    PrevAnnotation,
    /// `c` in Overview and Trends: compare two periods side by side, or stop comparing.
    Compare,
    /// `<` / `>` while comparing: the period compared against, one period earlier / later.
    CompareBase(isize),
    /// `{` / `}` while comparing: the period shown, one period earlier / later.
    CompareShown(isize),
    /// The accounts behind a number (Enter on a tile or an alert), from the worker.
    DrillLoaded {
        request: Box<super::update::DrillRequest>,
        result: Result<crate::store::accounts::AccountMoves, String>,
    },

    // — copy and export (issue 15) —
    /// `y`: the focused metric's series or the selected alert to the clipboard (OSC 52).
    Copy,
    /// `e` (CSV) and `E` (markdown): the current pane's data to a file beside the store.
    Export(super::export::Format),
    /// The worker wrote an export: where, or why not.
    Exported(Result<std::path::PathBuf, String>),
    /// `t`: the Overview's launch view (today so far vs the same weekday last week,
    /// hourly) or its tiles.
    ToggleLaunch,
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

/// What a key can be bound to; named in `kpi.toml` as `[keys] action = "key"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Action {
    NextTab,
    PrevTab,
    Up,
    Down,
    Left,
    Right,
    PageUp,
    PageDown,
    First,
    Last,
    Enter,
    Back,
    Filter,
    Segment,
    Grain,
    RangeShorter,
    RangeLonger,
    Variant,
    Measure,
    Acknowledge,
    Snooze,
    Reload,
    Copy,
    Export,
    ExportMarkdown,
    Launch,
    NextAnnotation,
    PrevAnnotation,
    Compare,
    CompareBaseEarlier,
    CompareBaseLater,
    CompareShownEarlier,
    CompareShownLater,
    Help,
    Quit,
}

/// Every action: its name in `[keys]`, its default keys, and the message it sends.
const ACTIONS: &[(Action, &str, &[&str])] = &[
    (Action::NextTab, "next_tab", &["Tab"]),
    (Action::PrevTab, "prev_tab", &["BackTab"]),
    (Action::Up, "up", &["Up", "k"]),
    (Action::Down, "down", &["Down", "j"]),
    (Action::Left, "left", &["Left", "h"]),
    (Action::Right, "right", &["Right", "l"]),
    (Action::PageUp, "page_up", &["PageUp"]),
    (Action::PageDown, "page_down", &["PageDown"]),
    (Action::First, "first", &["Home"]),
    (Action::Last, "last", &["End", "G"]),
    (Action::Enter, "enter", &["Enter"]),
    (Action::Back, "back", &["Esc"]),
    (Action::Filter, "filter", &["/"]),
    (Action::Segment, "segment", &["f"]),
    (Action::Grain, "grain", &["g"]),
    (Action::RangeShorter, "range_shorter", &["["]),
    (Action::RangeLonger, "range_longer", &["]"]),
    (Action::Variant, "variant", &["v"]),
    (Action::Measure, "measure", &["m"]),
    (Action::Acknowledge, "acknowledge", &["a"]),
    (Action::Snooze, "snooze", &["s"]),
    (Action::Reload, "reload", &["r"]),
    (Action::Copy, "copy", &["y"]),
    (Action::Export, "export", &["e"]),
    (Action::ExportMarkdown, "export_markdown", &["E"]),
    (Action::Launch, "launch", &["t"]),
    (Action::NextAnnotation, "next_annotation", &["n"]),
    (Action::PrevAnnotation, "prev_annotation", &["N"]),
    (Action::Compare, "compare", &["c"]),
    (Action::CompareBaseEarlier, "compare_base_earlier", &["<"]),
    (Action::CompareBaseLater, "compare_base_later", &[">"]),
    (Action::CompareShownEarlier, "compare_shown_earlier", &["{"]),
    (Action::CompareShownLater, "compare_shown_later", &["}"]),
    (Action::Help, "help", &["?"]),
    (Action::Quit, "quit", &["q"]),
];

/// The help overlay's lines: the actions a line covers (their keys in force are shown),
/// keys no one can rebind, and what the line says.
const HELP_LINES: &[(&[Action], &str, &str)] = &[
    (&[Action::NextTab, Action::PrevTab], "1-6", "switch pane"),
    (
        &[Action::Up, Action::Down, Action::Left, Action::Right],
        "",
        "move",
    ),
    (
        &[
            Action::PageUp,
            Action::PageDown,
            Action::First,
            Action::Last,
        ],
        "",
        "a page up / down, first / last row of a list",
    ),
    (&[Action::Enter], "", "drill in (tile, alert, cell, reject)"),
    (&[Action::Back], "", "back out / close"),
    (
        &[Action::Filter],
        "",
        "filter the list (metrics, alerts, rejects)",
    ),
    (&[Action::Segment], "", "pick a segment (Trends, Drivers)"),
    (&[Action::Grain], "", "cycle grain day/week/month"),
    (
        &[Action::RangeShorter, Action::RangeLonger],
        "",
        "shorter / longer range",
    ),
    (
        &[Action::Variant, Action::Measure],
        "",
        "cohort variant / measure: share, members",
    ),
    (
        &[Action::Acknowledge, Action::Snooze],
        "",
        "acknowledge / snooze alert 7 d (z); again: undo",
    ),
    (&[Action::Reload], "", "reload the store and kpi.toml"),
    (&[Action::Copy], "", "copy metric series / alert (OSC 52)"),
    (
        &[Action::Export, Action::ExportMarkdown],
        "",
        "export pane to CSV / markdown file",
    ),
    (
        &[Action::Launch],
        "",
        "today vs last week by hour / tiles (Overview)",
    ),
    (
        &[],
        "click wheel",
        "select, again: open · scroll, chart: range",
    ),
    (
        &[Action::NextAnnotation, Action::PrevAnnotation],
        "",
        "next / previous annotation (Trends)",
    ),
    (
        &[
            Action::Compare,
            Action::CompareBaseEarlier,
            Action::CompareBaseLater,
            Action::CompareShownEarlier,
            Action::CompareShownLater,
        ],
        "",
        "compare periods; move base / shown one",
    ),
    (&[Action::Help], "", "this help"),
    (&[Action::Quit], "Ctrl-C", "quit"),
];

/// A key as `[keys]` names it: one character (`"y"`, `"G"`, `"/"`) or a named key
/// (`"Enter"`, `"Esc"`, `"Tab"`, `"BackTab"`, `"Up"`, `"PageDown"`, `"Home"`, `"F5"` …).
pub fn parse_key(text: &str) -> Result<KeyCode, String> {
    let mut chars = text.chars();
    if let (Some(c), None) = (chars.next(), chars.next()) {
        if c.is_control() || c == ' ' {
            return Err(format!("{text:?} cannot be bound"));
        }
        if c.is_ascii_digit() && c != '0' && c <= '6' {
            return Err(format!("{text:?} switches panes (1-6) and cannot be bound"));
        }
        return Ok(KeyCode::Char(c));
    }
    let named = match text.to_ascii_lowercase().as_str() {
        "enter" | "return" => KeyCode::Enter,
        "esc" | "escape" => KeyCode::Esc,
        "tab" => KeyCode::Tab,
        "backtab" | "s-tab" | "shift-tab" => KeyCode::BackTab,
        "backspace" => KeyCode::Backspace,
        "up" => KeyCode::Up,
        "down" => KeyCode::Down,
        "left" => KeyCode::Left,
        "right" => KeyCode::Right,
        "pageup" | "pgup" => KeyCode::PageUp,
        "pagedown" | "pgdn" => KeyCode::PageDown,
        "home" => KeyCode::Home,
        "end" => KeyCode::End,
        "delete" | "del" => KeyCode::Delete,
        "insert" | "ins" => KeyCode::Insert,
        "space" => KeyCode::Char(' '),
        other => match other.strip_prefix('f').and_then(|n| n.parse::<u8>().ok()) {
            Some(n @ 1..=12) => KeyCode::F(n),
            _ => {
                return Err(format!(
                    "{text:?} is not a key: give one character (\"y\") or a key name \
                     (Enter, Esc, Tab, BackTab, Up, Down, Left, Right, PageUp, PageDown, \
                     Home, End, Space, F1-F12)"
                ));
            }
        },
    };
    Ok(named)
}

/// How the help overlay writes a key.
pub fn key_label(code: KeyCode) -> String {
    match code {
        KeyCode::Char(' ') => "Space".into(),
        KeyCode::Char(c) => c.to_string(),
        KeyCode::Up => "↑".into(),
        KeyCode::Down => "↓".into(),
        KeyCode::Left => "←".into(),
        KeyCode::Right => "→".into(),
        KeyCode::PageUp => "PgUp".into(),
        KeyCode::PageDown => "PgDn".into(),
        KeyCode::BackTab => "S-Tab".into(),
        KeyCode::F(n) => format!("F{n}"),
        other => format!("{other}"),
    }
}

/// The bindings in force: every action's keys, defaults patched by `[keys]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keymap {
    keys: BTreeMap<Action, Vec<KeyCode>>,
}

impl Default for Keymap {
    fn default() -> Self {
        let keys = ACTIONS
            .iter()
            .map(|(action, _, defaults)| {
                let codes = defaults.iter().filter_map(|k| parse_key(k).ok()).collect();
                (*action, codes)
            })
            .collect();
        Self { keys }
    }
}

/// Why `[keys]` could not be used: the dotted key it is about (`keys.quit`) and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BindingError {
    pub key: String,
    pub reason: String,
}

impl Keymap {
    /// The defaults with each action named in `bindings` (action name → its keys)
    /// rebound: its default keys give way to the ones given. A key left bound to two
    /// actions is an error, as is an unknown action or key.
    pub fn from_config(bindings: &BTreeMap<String, Vec<String>>) -> Result<Self, BindingError> {
        let mut map = Self::default();
        for (name, keys) in bindings {
            let error = |reason: String| BindingError {
                key: format!("keys.{name}"),
                reason,
            };
            let Some((action, _, _)) = ACTIONS.iter().find(|(_, n, _)| n == name) else {
                let names: Vec<&str> = ACTIONS.iter().map(|(_, n, _)| *n).collect();
                return Err(error(format!(
                    "unknown action {name:?}; the actions are {}",
                    names.join(", ")
                )));
            };
            if keys.is_empty() {
                return Err(error("give at least one key".into()));
            }
            let codes = keys
                .iter()
                .map(|k| parse_key(k))
                .collect::<Result<Vec<_>, _>>()
                .map_err(error)?;
            map.keys.insert(*action, codes);
        }
        let mut owner: BTreeMap<String, Action> = BTreeMap::new();
        for (action, codes) in &map.keys {
            for code in codes {
                let label = key_label(*code);
                if let Some(other) = owner.insert(label.clone(), *action) {
                    let (first, second) = (map.name(other), map.name(*action));
                    let named = if bindings.contains_key(second) {
                        second
                    } else {
                        first
                    };
                    return Err(BindingError {
                        key: format!("keys.{named}"),
                        reason: format!(
                            "{label} would do both {first} and {second}; rebind one of them"
                        ),
                    });
                }
            }
        }
        Ok(map)
    }

    fn name(&self, action: Action) -> &'static str {
        ACTIONS
            .iter()
            .find(|(a, _, _)| *a == action)
            .map_or("?", |(_, name, _)| name)
    }

    /// The action a key is bound to.
    pub fn action(&self, code: KeyCode) -> Option<Action> {
        self.keys
            .iter()
            .find(|(_, codes)| codes.contains(&code))
            .map(|(action, _)| *action)
    }

    /// The keys of an action in force, as the help overlay and hints write them.
    pub fn keys_of(&self, action: Action) -> String {
        self.keys
            .get(&action)
            .map(|codes| {
                codes
                    .iter()
                    .map(|c| key_label(*c))
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .unwrap_or_default()
    }

    /// Every line of the help overlay: (keys in force, what they do).
    pub fn help(&self) -> Vec<(String, &'static str)> {
        HELP_LINES
            .iter()
            .map(|(actions, fixed, what)| {
                let mut keys: Vec<String> = Vec::new();
                if !fixed.is_empty() && *what == "switch pane" {
                    keys.push((*fixed).to_string());
                }
                keys.extend(actions.iter().map(|a| self.keys_of(*a)));
                if !fixed.is_empty() && *what != "switch pane" {
                    keys.push((*fixed).to_string());
                }
                (keys.join(" "), *what)
            })
            .collect()
    }
}

fn pane_msg(action: Action) -> Msg {
    match action {
        Action::NextTab => Msg::NextTab,
        Action::PrevTab => Msg::PrevTab,
        Action::Up => Msg::Up,
        Action::Down => Msg::Down,
        Action::Left => Msg::Left,
        Action::Right => Msg::Right,
        Action::PageUp => Msg::PageUp,
        Action::PageDown => Msg::PageDown,
        Action::First => Msg::First,
        Action::Last => Msg::Last,
        Action::Enter => Msg::Enter,
        Action::Back => Msg::Back,
        Action::Filter => Msg::Filter,
        Action::Segment => Msg::PickSegment,
        Action::Grain => Msg::CycleGrain,
        Action::RangeShorter => Msg::RangeShorter,
        Action::RangeLonger => Msg::RangeLonger,
        Action::Variant => Msg::CycleVariant,
        Action::Measure => Msg::CycleMeasure,
        Action::Acknowledge => Msg::Acknowledge,
        Action::Snooze => Msg::Snooze,
        Action::Reload => Msg::Reload,
        Action::Copy => Msg::Copy,
        Action::Export => Msg::Export(super::export::Format::Csv),
        Action::ExportMarkdown => Msg::Export(super::export::Format::Markdown),
        Action::Launch => Msg::ToggleLaunch,
        Action::NextAnnotation => Msg::NextAnnotation,
        Action::PrevAnnotation => Msg::PrevAnnotation,
        Action::Compare => Msg::Compare,
        Action::CompareBaseEarlier => Msg::CompareBase(-1),
        Action::CompareBaseLater => Msg::CompareBase(1),
        Action::CompareShownEarlier => Msg::CompareShown(-1),
        Action::CompareShownLater => Msg::CompareShown(1),
        Action::Help => Msg::Help,
        Action::Quit => Msg::Quit,
    }
}

/// Translates a key press into a message, given what currently has the keyboard
/// (help overlay, segment picker, filter line, or the pane) and the keys in force.
pub fn key_to_msg(app: &App, key: KeyEvent) -> Option<Msg> {
    if key.kind == KeyEventKind::Release {
        return None;
    }
    if key.modifiers.contains(KeyModifiers::CONTROL) {
        return matches!(key.code, KeyCode::Char('c')).then_some(Msg::Quit);
    }
    let action = app.keymap.action(key.code);
    if app.help {
        return match action {
            Some(Action::Quit) => Some(Msg::Quit),
            Some(Action::Help | Action::Back | Action::Enter) => Some(Msg::Help),
            _ => matches!(key.code, KeyCode::Esc).then_some(Msg::Help),
        };
    }
    if app.picker.is_some() {
        return match action {
            Some(
                a @ (Action::Up
                | Action::Down
                | Action::PageUp
                | Action::PageDown
                | Action::First
                | Action::Last
                | Action::Enter
                | Action::Quit),
            ) => Some(pane_msg(a)),
            Some(Action::Back | Action::Segment) => Some(Msg::Back),
            _ => matches!(key.code, KeyCode::Esc).then_some(Msg::Back),
        };
    }
    if app.filtering() {
        // The filter line takes every character typed; only these keys act on it.
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
    if let KeyCode::Char(c @ '1'..='6') = key.code {
        return Some(Msg::GoTo(Tab::ALL[usize::from(c as u8 - b'1')]));
    }
    action.map(pane_msg)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bindings(pairs: &[(&str, &[&str])]) -> BTreeMap<String, Vec<String>> {
        pairs
            .iter()
            .map(|(a, keys)| {
                (
                    (*a).to_string(),
                    keys.iter().map(|k| (*k).to_string()).collect(),
                )
            })
            .collect()
    }

    #[test]
    fn every_default_key_parses_and_is_bound_once() {
        let map = Keymap::from_config(&BTreeMap::new()).unwrap();
        assert_eq!(map, Keymap::default());
        for (action, _, defaults) in ACTIONS {
            assert_eq!(map.keys[action].len(), defaults.len(), "{action:?}");
        }
        assert_eq!(map.action(KeyCode::Char('y')), Some(Action::Copy));
    }

    #[test]
    fn a_rebound_action_gives_up_its_default_keys() {
        let map =
            Keymap::from_config(&bindings(&[("quit", &["x"]), ("down", &["d", "Down"])])).unwrap();
        assert_eq!(map.action(KeyCode::Char('x')), Some(Action::Quit));
        assert_eq!(map.action(KeyCode::Char('q')), None);
        assert_eq!(map.action(KeyCode::Char('j')), None);
        assert_eq!(map.action(KeyCode::Down), Some(Action::Down));
        assert!(
            map.help()
                .iter()
                .any(|(keys, what)| *what == "quit" && keys == "x Ctrl-C")
        );
    }

    #[test]
    fn unknown_actions_bad_keys_and_clashes_name_the_binding() {
        let err = Keymap::from_config(&bindings(&[("quitt", &["x"])])).unwrap_err();
        assert_eq!(err.key, "keys.quitt");
        assert!(err.reason.contains("unknown action"), "{err:?}");
        let err = Keymap::from_config(&bindings(&[("quit", &["Ctrl-Q"])])).unwrap_err();
        assert_eq!(err.key, "keys.quit");
        assert!(err.reason.contains("not a key"), "{err:?}");
        let err = Keymap::from_config(&bindings(&[("quit", &["a"])])).unwrap_err();
        assert_eq!(err.key, "keys.quit");
        assert!(err.reason.contains("acknowledge"), "{err:?}");
        let err = Keymap::from_config(&bindings(&[("copy", &["3"])])).unwrap_err();
        assert!(err.reason.contains("switches panes"), "{err:?}");
    }
}
