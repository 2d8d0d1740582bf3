//! Issue 15, defect 11: the watching cockpit recomputed every metric and re-evaluated
//! every alert after each append of a launch-day feed (about 23 % of a core at 20 rows/s).
//! A steady stream is now recomputed at a pace, and judged once more when it stops.
#![allow(clippy::unwrap_used)]

use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

use kpi::config::Config;
use kpi::store::rollup::Touched;
use kpi::ui::worker::Pacing;
use kpi::ui::{Effect, Msg};

/// Counts of (snapshots, alert evaluations) received until `until`.
fn count_until(results: &Receiver<Msg>, until: Instant) -> (usize, usize) {
    let (mut snapshots, mut alerts) = (0, 0);
    while let Some(left) = until.checked_duration_since(Instant::now()) {
        match results.recv_timeout(left) {
            Ok(Msg::SnapshotLoaded(_)) => snapshots += 1,
            Ok(Msg::AlertsLoaded(_)) => alerts += 1,
            Ok(_) => {}
            Err(_) => break,
        }
    }
    (snapshots, alerts)
}

/// Starts a worker with `pacing`, loads the store once, then sends a refresh every 50 ms
/// for 1.5 s: what it recomputed during the stream, and in the 2.5 s after it.
fn stream(pacing: Pacing) -> ((usize, usize), (usize, usize)) {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("s.db");
    drop(kpi::store::Store::open(&db).unwrap());
    let mut worker = kpi::ui::worker::open(&db, Config::default(), None, false).unwrap();
    worker.pacing = pacing;
    let (effects, effects_rx) = mpsc::channel::<Effect>();
    let (results_tx, results) = mpsc::channel::<Msg>();
    let thread = std::thread::spawn(move || worker.run(&effects_rx, &results_tx, |m| m));
    effects.send(Effect::LoadSnapshot).unwrap();
    loop {
        let msg = results.recv_timeout(Duration::from_secs(60)).unwrap();
        if matches!(msg, Msg::AlertsLoaded(_)) {
            break;
        }
    }
    let start = Instant::now();
    let (mut during, mut snapshots, mut alerts) = ((0, 0), 0, 0);
    for _ in 0..30 {
        effects
            .send(Effect::Refresh {
                touched: Touched::default(),
            })
            .unwrap();
        let (s, a) = count_until(&results, Instant::now() + Duration::from_millis(50));
        snapshots += s;
        alerts += a;
    }
    during.0 = snapshots;
    during.1 = alerts;
    assert!(start.elapsed() < Duration::from_secs(5));
    let after = count_until(&results, Instant::now() + Duration::from_millis(2500));
    drop(effects);
    thread.join().unwrap();
    (during, after)
}

#[test]
fn a_steady_stream_of_live_imports_is_recomputed_at_a_pace_not_per_append() {
    let pacing = Pacing {
        refresh_every: Duration::from_millis(500),
        alerts_every: Duration::from_millis(1200),
    };
    let ((snapshots, alerts), (snapshots_after, alerts_after)) = stream(pacing);
    // 1.5 s of appends: the first at once, then one every 500 ms.
    assert!((2..=5).contains(&snapshots), "{snapshots} snapshots");
    assert!(alerts <= 2, "{alerts} alert evaluations during the stream");
    // Once the stream stops, its last appends are shown and judged.
    assert!(snapshots_after <= 1, "{snapshots_after}");
    assert!(
        alerts_after >= 1,
        "the stream's end is judged: {alerts_after}"
    );

    // The old behaviour, for contrast: every append recomputed and judged.
    let ((snapshots, alerts), _) = stream(Pacing::EVERY_APPEND);
    assert!(snapshots >= 15, "{snapshots}");
    assert!(alerts >= 15, "{alerts}");
}
