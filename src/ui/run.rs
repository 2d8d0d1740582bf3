//! The event loop. One channel carries everything that can happen — keys, resizes,
//! worker results, signals — so the loop blocks in one place, drains what is queued, and
//! redraws once, only when something changed (cheap over SSH). Queries run on the worker
//! thread; the loop never waits for one.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::thread;
use std::time::Duration;

use chrono::{Local, NaiveDate};
use crossterm::event::{self, Event as TermEvent, KeyEvent, MouseEvent, MouseEventKind};

use crate::config::Config;
use crate::snapshot::Snapshot;

use super::app::App;
use super::keymap::{self, Msg};
use super::mouse::{self, Hits};
use super::theme::Theme;
use super::update::{Effect, update};
use super::{live, terminal, view, worker};

/// How often the loop wakes without input, to notice a new day (snooze dates).
const TICK: Duration = Duration::from_secs(1);

/// With this variable set, `!` panics: the end-to-end test uses it to prove the panic hook
/// leaves the terminal as it found it. Nothing else reads it.
const TEST_PANIC_VAR: &str = "KPI_TEST_PANIC_KEY";

/// Everything the event loop waits for.
pub enum Event {
    Key(KeyEvent),
    Mouse(MouseEvent),
    Resize,
    Msg(Msg),
    Signal(i32),
    /// The terminal went away (read error): nothing more can be typed.
    InputGone,
}

pub struct Options {
    pub db: PathBuf,
    pub config: Config,
    /// `--config FILE`; without it `kpi.toml` beside the store. Read again on `r`.
    pub config_file: Option<PathBuf>,
    pub as_of: Option<NaiveDate>,
    /// Shown in the status bar for the whole session.
    pub notice: Option<String>,
    /// `--watch DIR`: import the folder, then follow it.
    pub watch: Option<(PathBuf, crate::watch::WatchOptions)>,
    /// Capture the mouse (off with `--no-mouse`, leaving the terminal's own selection).
    pub mouse: bool,
}

/// How the session ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    Quit,
    Signal(i32),
}

fn spawn_input(events: Sender<Event>) -> std::io::Result<()> {
    thread::Builder::new()
        .name("kpi-input".into())
        .spawn(move || {
            loop {
                let event = match event::read() {
                    Ok(TermEvent::Key(key)) => Event::Key(key),
                    // Moves and drags mean nothing here; dropping them at the source
                    // spares a redraw per mouse movement.
                    Ok(TermEvent::Mouse(mouse))
                        if !matches!(
                            mouse.kind,
                            MouseEventKind::Moved | MouseEventKind::Drag(_)
                        ) =>
                    {
                        Event::Mouse(mouse)
                    }
                    Ok(TermEvent::Resize(..)) => Event::Resize,
                    Ok(_) => continue,
                    Err(_) => Event::InputGone,
                };
                let gone = matches!(event, Event::InputGone);
                if events.send(event).is_err() || gone {
                    return;
                }
            }
        })?;
    Ok(())
}

/// Why the cockpit could not run.
#[derive(Debug, thiserror::Error)]
pub enum CockpitError {
    #[error("the cockpit needs a terminal; for text output use `kpi report`")]
    NotATerminal,
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error("cannot {what}: {source}")]
    Io {
        what: &'static str,
        source: std::io::Error,
    },
    #[error("the background worker stopped")]
    WorkerStopped,
    #[error("cannot draw the screen: {0}")]
    Draw(Box<dyn std::error::Error + Send + Sync>),
}

/// Names what an I/O failure stopped.
fn failed(what: &'static str) -> impl FnOnce(std::io::Error) -> CockpitError {
    move |source| CockpitError::Io { what, source }
}

pub fn run(options: Options) -> Result<Exit, CockpitError> {
    if !std::io::stdout().is_terminal() {
        return Err(CockpitError::NotATerminal);
    }
    // Opened before the screen is taken, so a bad store is a plain error message.
    let mut worker = worker::open(
        &options.db,
        options.config.clone(),
        options.as_of,
        options.watch.is_some(),
    )?;
    worker.follow_config(options.config_file.clone());
    let (events_tx, events) = mpsc::channel::<Event>();
    let (effects, effects_rx) = mpsc::channel::<Effect>();
    let results = events_tx.clone();
    thread::Builder::new()
        .name("kpi-worker".into())
        .spawn(move || worker.run(&effects_rx, &results, Event::Msg))
        .map_err(failed("start the worker thread"))?;

    let mut guard = terminal::init(options.mouse).map_err(failed("set up the terminal"))?;
    terminal::forward_signals(events_tx.clone(), Event::Signal)
        .map_err(failed("forward signals"))?;
    if let Some((dir, watch)) = &options.watch {
        let live = live::LiveOptions {
            db: options.db.clone(),
            dir: dir.clone(),
            watch: watch.clone(),
            config: options.config.clone(),
        };
        live::spawn(live, events_tx.clone(), Event::Msg).map_err(failed("start watching"))?;
    }
    spawn_input(events_tx).map_err(failed("read the keyboard"))?;

    let snapshot = Snapshot {
        store: options.db.clone(),
        config: options.config,
        ..Snapshot::default()
    };
    let mut app = App::new(snapshot, Theme::from_env(), Local::now().date_naive());
    app.notice = options.notice;
    app.live = options
        .watch
        .map(|(dir, _)| super::app::LiveStatus::new(dir));
    // Watching a folder is a launch: today against last week, hour by hour, first.
    app.overview.launch = app.live.is_some();
    app.loading = true;
    effects
        .send(Effect::LoadSnapshot)
        .map_err(|_| CockpitError::WorkerStopped)?;

    let panic_key = std::env::var_os(TEST_PANIC_VAR).is_some();
    app.apply_config();
    // OSC 52 through the terminal's own writer, between two frames.
    let mut clipboard = |terminal: &mut terminal::CockpitTerminal, text: &str| {
        use std::io::Write;
        let backend = terminal.backend_mut();
        backend.write_all(super::export::osc52(text).as_bytes())?;
        backend.flush()
    };
    let exit = event_loop(
        &mut guard.terminal,
        &mut app,
        &events,
        &effects,
        &mut clipboard,
        panic_key,
    )?;
    drop(guard);
    Ok(exit)
}

/// The loop itself, over any backend (the cockpit's terminal, or a `TestBackend` in the
/// live CPU benchmark): blocks for the next event, drains what is queued, updates, and
/// redraws once if anything changed. Ends on quit or when every sender is gone.
pub fn event_loop<B: ratatui::backend::Backend>(
    terminal: &mut ratatui::Terminal<B>,
    app: &mut App,
    events: &std::sync::mpsc::Receiver<Event>,
    effects: &Sender<Effect>,
    clipboard: &mut dyn FnMut(&mut ratatui::Terminal<B>, &str) -> std::io::Result<()>,
    panic_key: bool,
) -> Result<Exit, CockpitError>
where
    B::Error: std::error::Error + Send + Sync + 'static,
{
    let mut exit = Exit::Quit;
    let mut dirty = true;
    // Where the last frame drew what a click can hit.
    let mut hits = Hits::default();
    loop {
        if dirty {
            terminal
                .draw(|frame| view::draw_recording(frame, app, &mut hits))
                .map_err(|err| CockpitError::Draw(Box::new(err)))?;
            dirty = false;
        }
        let first = match events.recv_timeout(TICK) {
            Ok(event) => Some(event),
            Err(RecvTimeoutError::Timeout) => None,
            Err(RecvTimeoutError::Disconnected) => break,
        };
        for event in first.into_iter().chain(events.try_iter()) {
            let msg = match event {
                Event::Key(key) if panic_key && key.code == event::KeyCode::Char('!') => {
                    panic!("test panic requested with {TEST_PANIC_VAR}")
                }
                Event::Key(key) => keymap::key_to_msg(app, key),
                Event::Mouse(mouse) => mouse::mouse_to_msg(app, &hits, mouse),
                Event::Resize => Some(Msg::Resize),
                Event::Msg(msg) => Some(msg),
                Event::Signal(signal) => {
                    exit = Exit::Signal(signal);
                    Some(Msg::Quit)
                }
                Event::InputGone => Some(Msg::Quit),
            };
            if let Some(msg) = msg {
                if let Some(effect) = update(app, msg) {
                    effects
                        .send(effect)
                        .map_err(|_| CockpitError::WorkerStopped)?;
                }
                if let Some(text) = app.clipboard.take()
                    && let Err(err) = clipboard(terminal, &text)
                {
                    app.status = Some(format!("could not copy: {err}"));
                }
                dirty = true;
            }
        }
        let today = Local::now().date_naive();
        if today != app.today {
            app.today = today;
            dirty = true;
        }
        if app.quit {
            break;
        }
    }
    Ok(exit)
}
