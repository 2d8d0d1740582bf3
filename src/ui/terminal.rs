//! The terminal's state while the cockpit runs — raw mode, the alternate screen, a hidden
//! cursor, mouse capture — and every way of putting it back: normal exit, `?` error, panic, and the
//! signals a dropped SSH connection or a `kill` sends (SIGHUP, SIGTERM, SIGINT).

use std::io::{self, Stdout, stdout};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::Sender;

use crossterm::cursor::Show;
use crossterm::event::{DisableMouseCapture, EnableMouseCapture};
use crossterm::execute;
use crossterm::terminal::{
    EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode,
};
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;
use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
use signal_hook::iterator::Signals;

/// Whether the terminal is currently in the cockpit's mode; restoring is idempotent so the
/// panic hook, a signal and the guard's `Drop` can all call it.
static ACTIVE: AtomicBool = AtomicBool::new(false);

/// Whether mouse capture is on: left on, the shell after the cockpit would receive escape
/// sequences for every click and scroll.
static MOUSE: AtomicBool = AtomicBool::new(false);

pub type CockpitTerminal = Terminal<CrosstermBackend<Stdout>>;

/// Puts the terminal back as it was. Errors are ignored: after a hang-up there is no
/// terminal left to write to, and nothing better to do.
pub fn restore() {
    if MOUSE.swap(false, Ordering::SeqCst) {
        let _ = execute!(stdout(), DisableMouseCapture);
    }
    if ACTIVE.swap(false, Ordering::SeqCst) {
        let _ = disable_raw_mode();
        let _ = execute!(stdout(), LeaveAlternateScreen, Show);
    }
}

/// Restores the terminal when dropped, however the event loop ends.
pub struct TerminalGuard {
    pub terminal: CockpitTerminal,
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        restore();
    }
}

/// Enters raw mode and the alternate screen (and captures the mouse when `mouse`), after
/// installing a panic hook that restores the terminal before the panic message is printed
/// (so the message stays readable).
pub fn init(mouse: bool) -> io::Result<TerminalGuard> {
    install_panic_hook();
    enable_raw_mode()?;
    ACTIVE.store(true, Ordering::SeqCst);
    let entered = execute!(stdout(), EnterAlternateScreen).and_then(|()| {
        if mouse {
            // Marked first: a failure half-way still gets the capture turned off.
            MOUSE.store(true, Ordering::SeqCst);
            execute!(stdout(), EnableMouseCapture)
        } else {
            Ok(())
        }
    });
    let terminal = entered.and_then(|()| Terminal::new(CrosstermBackend::new(stdout())));
    match terminal {
        Ok(terminal) => Ok(TerminalGuard { terminal }),
        Err(err) => {
            restore();
            Err(err)
        }
    }
}

fn install_panic_hook() {
    static INSTALLED: AtomicBool = AtomicBool::new(false);
    if INSTALLED.swap(true, Ordering::SeqCst) {
        return;
    }
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        restore();
        previous(info);
        // A panic on any thread (the worker's too) ends the session: the screen is already
        // gone, and drawing on would write over the message the user needs to read.
        std::process::exit(101);
    }));
}

/// Forwards SIGTERM, SIGHUP and SIGINT to the event loop as `on_signal(number)`, so the
/// loop ends normally and the guard restores the terminal. (In raw mode Ctrl-C is a key,
/// not SIGINT; SIGINT still arrives from `kill -INT`.)
pub fn forward_signals<E: Send + 'static>(
    events: Sender<E>,
    on_signal: fn(i32) -> E,
) -> io::Result<()> {
    let mut signals = Signals::new([SIGTERM, SIGHUP, SIGINT])?;
    std::thread::Builder::new()
        .name("kpi-signals".into())
        .spawn(move || {
            if let Some(signal) = signals.forever().next() {
                // If the loop is gone the process is exiting anyway.
                if events.send(on_signal(signal)).is_err() {
                    restore();
                }
            }
        })?;
    Ok(())
}
