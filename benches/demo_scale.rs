#![allow(clippy::unwrap_used)]
//! `kpi demo --orders N` streams: rows per second and peak memory for growing N.
//!
//! Run: `cargo bench --bench demo_scale -- 1000000 10000000` (default: 100 000 and
//! 1 000 000). Peak RSS is the process's high-water mark (Linux `VmHWM`), printed after
//! each size; flat memory means it does not grow with N.

use std::time::Instant;

fn peak_rss_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

fn main() {
    let sizes: Vec<u64> = std::env::args()
        .skip(1)
        .filter_map(|a| a.replace('_', "").parse().ok())
        .collect();
    let sizes = if sizes.is_empty() {
        vec![100_000, 1_000_000]
    } else {
        sizes
    };
    println!(
        "{:>12} {:>10} {:>14} {:>12} {:>14}",
        "orders", "seconds", "orders/s", "MB written", "peak RSS MB"
    );
    for n in sizes {
        let dir = tempfile::tempdir().unwrap();
        let started = Instant::now();
        kpi::demo::generate_scaled(dir.path(), 42, 2_000, 24, n).unwrap();
        let seconds = started.elapsed().as_secs_f64();
        let bytes: u64 = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().metadata().unwrap().len())
            .sum();
        println!(
            "{n:>12} {seconds:>10.2} {:>14.0} {:>12.1} {:>14}",
            n as f64 / seconds,
            bytes as f64 / 1e6,
            peak_rss_mb().map_or("n/a".into(), |m| format!("{m:.1}")),
        );
    }
}
