#![allow(clippy::unwrap_used)]
//! `kpi demo` as a user runs it: the summary it prints, and a live feed stopped by
//! SIGTERM that leaves whole lines behind.

use std::process::Command;
use std::time::{Duration, Instant};

fn kpi() -> Command {
    Command::new(env!("CARGO_BIN_EXE_kpi"))
}

#[test]
fn demo_out_writes_and_lists_every_file() {
    let dir = tempfile::tempdir().unwrap();
    let out = kpi()
        .args(["demo", "--customers", "200", "--months", "3", "--out"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("events.ndjson") && text.contains("surveys.json"),
        "{text}"
    );
    assert!(text.trim_end().ends_with("rows in 14 files"), "{text}");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 14);
}

#[test]
fn demo_orders_writes_exactly_n_orders() {
    let dir = tempfile::tempdir().unwrap();
    let out = kpi()
        .args(["demo", "--orders", "1234", "--out"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(out.status.success());
    let orders = std::fs::read_to_string(dir.path().join("orders.csv")).unwrap();
    assert_eq!(orders.lines().count(), 1 + 1234);
}

#[test]
fn live_feed_stops_on_sigterm_with_whole_lines() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = kpi()
        .args([
            "demo",
            "--customers",
            "200",
            "--months",
            "3",
            "--rate",
            "400",
            "--live",
        ])
        .arg(dir.path())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let events = dir.path().join("events_live.csv");
    let started = Instant::now();
    while std::fs::read_to_string(&events).map_or(0, |t| t.lines().count()) < 50 {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the feed never wrote"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    assert!(child.wait().unwrap().success(), "SIGTERM is a clean stop");
    for (_, file) in kpi::demo::LIVE_FILES {
        let text = std::fs::read_to_string(dir.path().join(file)).unwrap();
        assert!(text.ends_with('\n'), "{file}");
        let mut reader = csv::Reader::from_reader(text.as_bytes());
        let width = reader.headers().unwrap().len();
        assert!(
            reader.records().all(|r| r.unwrap().len() == width),
            "{file}"
        );
    }
}

#[test]
fn a_zero_rate_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let out = kpi()
        .args(["demo", "--rate", "0", "--live"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--rate"));
}

#[test]
fn demo_refuses_a_db_it_would_not_write() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("x.db");
    let out = kpi()
        .args(["demo", "--customers", "50", "--months", "1", "--db"])
        .arg(&db)
        .arg("--out")
        .arg(dir.path().join("data"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--db") && err.contains("kpi import --db"),
        "{err}"
    );
    assert!(
        !dir.path().join("data").exists(),
        "nothing written on a refusal"
    );
}

#[test]
fn report_from_and_to_are_explained_in_the_help() {
    let out = kpi().args(["report", "--help"]).output().unwrap();
    let help = String::from_utf8(out.stdout).unwrap();
    // The flag's line and the next: clap puts the text below the flag once any option's
    // help is long.
    let lines: Vec<&str> = help.lines().collect();
    let line = |flag: &str| {
        lines
            .iter()
            .position(|l| l.trim_start().starts_with(flag))
            .map(|i| lines[i..(i + 2).min(lines.len())].join(" "))
            .unwrap_or_default()
    };
    assert!(line("--from").contains("First day"), "{help}");
    assert!(line("--to").contains("Last day"), "{help}");
}
