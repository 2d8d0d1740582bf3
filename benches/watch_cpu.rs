//! Live CPU (issue 15): the cockpit's real live pipeline — the watcher and importer
//! thread, the worker, the event loop drawing every change on a 120×40 `TestBackend` —
//! follows a folder that `kpi demo --live` appends to at RATE rows/s, and the bench
//! reports the CPU this process used per phase (user + system time from /proc/self/stat,
//! divided by the wall time) next to named baselines measured in the same run:
//!
//! - `idle`: the pipeline watching, no writer (the floor);
//! - `every append`: the writer on, recomputing and re-evaluating after every import
//!   round (`Pacing::EVERY_APPEND`, what the cockpit did before pacing);
//! - `paced`: the writer on, the cockpit's default pacing (the figure that counts; the
//!   goal is under 2 % of a core at 20 rows/s).
//!
//!     cargo bench --bench watch_cpu -- [SECONDS] [RATE]     # default 90 s, 20 rows/s
//!
//! The writer is a child process, so its own CPU is not counted. A phase shorter than the
//! alert pacing (30 s) would leave the paced alert evaluations out of the figure: keep it
//! at 90 s or more.
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use chrono::Local;
use kpi::config::Config;
use kpi::import::{ImportOptions, import_file};
use kpi::snapshot::Snapshot;
use kpi::store::Store;
use kpi::ui::run::{Event, event_loop};
use kpi::ui::theme::{ColorMode, Theme};
use kpi::ui::worker::Pacing;
use kpi::ui::{App, Effect, Msg, live};
use kpi::watch::WatchOptions;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

/// Clock ticks per second of /proc's times (USER_HZ, 100 on Linux whatever the kernel's
/// own tick rate).
const USER_HZ: f64 = 100.0;

/// CPU seconds (user + system) this process used so far.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap();
    // The command name may hold spaces: fields are counted after its closing parenthesis.
    let after = &stat[stat.rfind(')').unwrap() + 2..];
    let fields: Vec<&str> = after.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name.
    let ticks: f64 = fields[11].parse::<f64>().unwrap() + fields[12].parse::<f64>().unwrap();
    ticks / USER_HZ
}

fn kpi() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_kpi"))
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let seconds: u64 = args.first().and_then(|s| s.parse().ok()).unwrap_or(90);
    let rate: u32 = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(20);

    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("live.db");
    let seed = dir.path().join("seed");
    kpi::demo::generate(&seed, &kpi::demo::DemoOptions::default()).unwrap();
    let config = Config::default();
    {
        let mut store = Store::open(&db).unwrap();
        let options = ImportOptions {
            config: config.clone(),
            ..ImportOptions::default()
        };
        for path in kpi::watch::scan(&seed, false).unwrap() {
            import_file(&mut store, &path, &options).unwrap();
        }
    }
    println!("demo store imported; {seconds} s per phase at {rate} rows/s");

    let phases = [
        ("idle", Pacing::default(), false),
        ("every append", Pacing::EVERY_APPEND, true),
        ("paced", Pacing::default(), true),
    ];
    let mut results = Vec::new();
    for (index, (name, pacing, writing)) in phases.into_iter().enumerate() {
        let folder = dir.path().join(format!("feed-{index}"));
        std::fs::create_dir(&folder).unwrap();
        // The demo set is already in the store; the feed only needs to find a customers
        // file to know it must not write the set again.
        std::fs::write(
            folder.join("customers.csv"),
            "customer_id,signup_date,channel,plan,region\n",
        )
        .unwrap();
        let (percent, rows) = phase(&db, &folder, &config, pacing, writing, seconds, rate);
        println!("{name:>13}: {percent:5.2} % of a core ({rows} rows written)");
        results.push((name, percent));
    }
    let paced = results[2].1;
    println!(
        "watch CPU at {rate} rows/s: paced {paced:.2} % vs every append {:.2} % (idle {:.2} %); \
         goal under 2 %",
        results[1].1, results[0].1
    );
}

/// Runs the pipeline on `folder` for `seconds` (with the writer when `writing`); the CPU
/// it used as a percentage of one core, and the rows the feed wrote.
fn phase(
    db: &Path,
    folder: &Path,
    config: &Config,
    pacing: Pacing,
    writing: bool,
    seconds: u64,
    rate: u32,
) -> (f64, u64) {
    let mut worker = kpi::ui::worker::open(db, config.clone(), None, true).unwrap();
    worker.pacing = pacing;
    let (events_tx, events) = mpsc::channel::<Event>();
    let (effects, effects_rx) = mpsc::channel::<Effect>();
    let results = events_tx.clone();
    let worker = thread::spawn(move || worker.run(&effects_rx, &results, Event::Msg));
    live::spawn(
        live::LiveOptions {
            db: db.to_path_buf(),
            dir: folder.to_path_buf(),
            watch: WatchOptions::default(),
            config: config.clone(),
        },
        events_tx.clone(),
        Event::Msg,
    )
    .unwrap();
    let snapshot = Snapshot {
        store: db.to_path_buf(),
        config: config.clone(),
        ..Snapshot::default()
    };
    let mut app = App::new(
        snapshot,
        Theme::new(ColorMode::Ansi256),
        Local::now().date_naive(),
    );
    app.live = Some(kpi::ui::app::LiveStatus::new(folder.to_path_buf()));
    app.loading = true;
    effects.send(Effect::LoadSnapshot).unwrap();

    // Settle: the first load and its alerts, and the folder's first scan.
    let (quit, quit_rx) = mpsc::channel::<()>();
    let stopper = events_tx.clone();
    let ui = thread::spawn(move || {
        let mut terminal = Terminal::new(TestBackend::new(120, 40)).unwrap();
        event_loop(
            &mut terminal,
            &mut app,
            &events,
            &effects,
            &mut |_, _| Ok(()),
            false,
        )
        .unwrap();
        drop(quit);
    });
    thread::sleep(Duration::from_secs(8));

    let mut writer: Option<Child> = writing.then(|| {
        Command::new(kpi())
            .args(["demo", "--rate", &rate.to_string(), "--live"])
            .arg(folder)
            .stdout(Stdio::null())
            .spawn()
            .unwrap()
    });
    let wall = Instant::now();
    let cpu = cpu_seconds();
    thread::sleep(Duration::from_secs(seconds));
    let used = cpu_seconds() - cpu;
    let elapsed = wall.elapsed().as_secs_f64();
    if let Some(child) = &mut writer {
        // SIGTERM lets the feed finish its batch.
        let _ = Command::new("kill").arg(child.id().to_string()).status();
        child.wait().unwrap();
    }
    stopper.send(Event::Msg(Msg::Quit)).unwrap();
    let _ = quit_rx.recv();
    ui.join().unwrap();
    drop(stopper);
    drop(events_tx);
    drop(worker);
    let rows = std::fs::read_dir(folder)
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| {
            std::fs::read_to_string(e.path())
                .map(|t| t.lines().count().saturating_sub(1) as u64)
                .unwrap_or(0)
        })
        .sum();
    (used / elapsed * 100.0, rows)
}
