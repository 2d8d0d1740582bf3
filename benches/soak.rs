//! Soak: the cockpit follows a folder fed by `kpi demo --live` for a long run, and its
//! resident memory is sampled every few seconds. Flat is the target (SPEC §9).
//!
//!     cargo bench --bench soak -- [SECONDS] [RATE]     # default 600 s, 50 rows/s
//!
//! The cockpit runs in a private tmux server (it needs a terminal); `kpi demo --live`
//! appends launch-day rows to the watched folder meanwhile.
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

const SAMPLE_EVERY: Duration = Duration::from_secs(5);

fn kpi() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_kpi"))
}

fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

struct Tmux(String);

impl Tmux {
    fn run(&self, args: &[&str]) -> String {
        let out = Command::new("tmux")
            .arg("-L")
            .arg(&self.0)
            .args(args)
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        self.run(&["kill-server"]);
    }
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let seconds: u64 = args.first().and_then(|s| s.parse().ok()).unwrap_or(600);
    let rate: u32 = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(50);

    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("exports");
    let db = dir.path().join("live.db");
    std::fs::create_dir(&folder).unwrap();

    // The demo set first, so the cockpit starts on a realistic store.
    let status = Command::new(kpi())
        .args(["demo", "--out"])
        .arg(&folder)
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success(), "kpi demo failed");

    let tmux = Tmux(format!("kpi-soak-{}", std::process::id()));
    let command = format!(
        "{} --db {} --watch {}",
        kpi().display(),
        db.display(),
        folder.display()
    );
    tmux.run(&["new-session", "-d", "-x", "200", "-y", "60", &command]);
    sleep(Duration::from_secs(2));
    let pid: u32 = tmux
        .run(&["display", "-p", "#{pane_pid}"])
        .trim()
        .parse()
        .unwrap();

    let mut feed: Child = Command::new(kpi())
        .args(["demo", "--live"])
        .arg(&folder)
        .args(["--rate", &rate.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();

    println!("soak: {seconds} s, demo --live at {rate} rows/s, cockpit pid {pid}");
    println!("{:>6}  {:>10}", "t (s)", "RSS (MiB)");
    let start = Instant::now();
    let mut samples = Vec::new();
    while start.elapsed() < Duration::from_secs(seconds) {
        let Some(kib) = rss_kib(pid) else {
            println!(
                "the cockpit exited early; screen:\n{}",
                tmux.run(&["capture-pane", "-p"])
            );
            break;
        };
        samples.push(kib);
        println!(
            "{:>6}  {:>10.1}",
            start.elapsed().as_secs(),
            kib as f64 / 1024.0
        );
        sleep(SAMPLE_EVERY);
    }
    let _ = feed.kill();
    let _ = feed.wait();
    let screen = tmux.run(&["capture-pane", "-p"]);
    let status = screen.lines().last().unwrap_or_default().trim().to_string();

    let mib = |k: u64| k as f64 / 1024.0;
    if let (Some(first), Some(last)) = (samples.first(), samples.last()) {
        // The first minute includes the initial import; compare from there on.
        let settled = samples.get(12).copied().unwrap_or(*first);
        let max = samples.iter().max().copied().unwrap_or(0);
        println!(
            "RSS start {:.1} MiB, after 1 min {:.1} MiB, end {:.1} MiB, max {:.1} MiB ({} samples)",
            mib(*first),
            mib(settled),
            mib(*last),
            mib(max),
            samples.len()
        );
    }
    println!("status line at the end: {status}");
    // Each file imports when it changes, not whenever it is read: the attempts stay near
    // the number of changes, and the store grows with the rows, not with its own log.
    let conn = rusqlite::Connection::open(&db).unwrap();
    let count = |sql: &str| -> i64 { conn.query_row(sql, [], |r| r.get(0)).unwrap() };
    println!(
        "store: {:.1} MB; import log: {} attempts on {} files; {} events, {} orders",
        std::fs::metadata(&db).map_or(0, |m| m.len()) as f64 / 1e6,
        count("SELECT COUNT(*) FROM import_log"),
        count("SELECT COUNT(DISTINCT path) FROM import_log"),
        count("SELECT COUNT(*) FROM events"),
        count("SELECT COUNT(*) FROM orders"),
    );
}
