//! Render speed (SPEC §8): one frame of each pane at 200×60 on the fixture snapshot
//! (target under 5 ms), and the time from start to first frame on a store — open, load
//! config, build the snapshot, draw (target 150 ms on `sample.db`).
//!
//!     cargo bench --bench render                # first frame on ./sample.db
//!     cargo bench --bench render -- launch.db   # first frame on another store
#![allow(clippy::unwrap_used)]

use std::path::PathBuf;
use std::time::{Duration, Instant};

use kpi::config::Config;
use kpi::store::Store;
use kpi::ui::{App, Tab, fixture};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

const WIDTH: u16 = 200;
const HEIGHT: u16 = 60;
const FRAMES: u32 = 300;

fn draw(terminal: &mut Terminal<TestBackend>, app: &App) {
    terminal
        .draw(|frame| kpi::ui::view::draw(frame, app))
        .unwrap();
}

/// Median and 95th percentile of one full frame (the machine is shared, so the mean
/// would carry other processes' noise).
fn per_frame(app: &App) -> (Duration, Duration) {
    let mut terminal = Terminal::new(TestBackend::new(WIDTH, HEIGHT)).unwrap();
    for _ in 0..20 {
        draw(&mut terminal, app);
    }
    let mut times: Vec<Duration> = (0..FRAMES)
        .map(|_| {
            // A full redraw each time: clearing defeats the diff against the last frame,
            // as a resize or a new snapshot would.
            terminal.clear().unwrap();
            let t = Instant::now();
            draw(&mut terminal, app);
            t.elapsed()
        })
        .collect();
    times.sort();
    let at = |q: f64| times[((times.len() - 1) as f64 * q) as usize];
    (at(0.5), at(0.95))
}

fn main() {
    let store_path = std::env::args()
        .skip(1)
        .find(|a| !a.starts_with('-'))
        .map_or_else(|| PathBuf::from("sample.db"), PathBuf::from);

    println!(
        "render: one frame at {WIDTH}x{HEIGHT}, fixture snapshot, {FRAMES} frames (target < 5 ms)"
    );
    for tab in Tab::ALL {
        let mut app = fixture::app(fixture::snapshot());
        app.tab = tab;
        let (mean, worst) = per_frame(&app);
        println!(
            "  {:<9} median {:>7.3} ms   p95 {:>7.3} ms",
            tab.title(),
            mean.as_secs_f64() * 1e3,
            worst.as_secs_f64() * 1e3
        );
    }

    println!(
        "first frame on {} (target < 150 ms on sample.db)",
        store_path.display()
    );
    if !store_path.exists() {
        println!(
            "  skipped: {} does not exist (pass a store path)",
            store_path.display()
        );
        return;
    }
    let start = Instant::now();
    let store = Store::open(&store_path).unwrap();
    let opened = start.elapsed();
    let config = Config::load_for(&store_path, None).unwrap();
    // What the cockpit's worker sends first: the core KPIs (the rest follows).
    let snapshot = kpi::snapshot::build_overview(&store, &config, None).unwrap();
    let built = start.elapsed();
    let mut app = fixture::app(snapshot);
    app.today = chrono::Local::now().date_naive();
    let mut terminal = Terminal::new(TestBackend::new(WIDTH, HEIGHT)).unwrap();
    draw(&mut terminal, &app);
    let total = start.elapsed();
    println!(
        "  open store {:.1} ms · overview snapshot {:.1} ms · draw {:.1} ms · total {:.1} ms",
        opened.as_secs_f64() * 1e3,
        (built - opened).as_secs_f64() * 1e3,
        (total - built).as_secs_f64() * 1e3,
        total.as_secs_f64() * 1e3
    );
}
