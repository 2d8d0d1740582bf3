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

/// Counts of (snapshots, alert evaluations) received until `until`; each is also logged
/// in `order` as `'s'` or `'a'`.
fn count_until(results: &Receiver<Msg>, until: Instant, order: &mut String) -> (usize, usize) {
    let (mut snapshots, mut alerts) = (0, 0);
    while let Some(left) = until.checked_duration_since(Instant::now()) {
        match results.recv_timeout(left) {
            Ok(Msg::SnapshotLoaded(_)) => {
                snapshots += 1;
                order.push('s');
            }
            Ok(Msg::AlertsLoaded(_)) => {
                alerts += 1;
                order.push('a');
            }
            Ok(_) => {}
            Err(_) => break,
        }
    }
    (snapshots, alerts)
}

/// Starts a worker with `pacing`, loads the store once, then sends a refresh every 50 ms
/// for 1.5 s: what it recomputed during the stream, in the 2.5 s after it, and the order
/// of it all.
fn stream(pacing: Pacing) -> ((usize, usize), (usize, usize), String) {
    let mut order = String::new();
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
        let (s, a) = count_until(
            &results,
            Instant::now() + Duration::from_millis(50),
            &mut order,
        );
        snapshots += s;
        alerts += a;
    }
    during.0 = snapshots;
    during.1 = alerts;
    assert!(start.elapsed() < Duration::from_secs(5));
    let after = count_until(
        &results,
        Instant::now() + Duration::from_millis(2500),
        &mut order,
    );
    drop(effects);
    thread.join().unwrap();
    (during, after, order)
}

#[test]
fn a_steady_stream_of_live_imports_is_recomputed_at_a_pace_not_per_append() {
    let pacing = Pacing {
        refresh_every: Duration::from_millis(500),
        alerts_every: Duration::from_millis(1200),
    };
    let ((snapshots, alerts), (snapshots_after, _), order) = stream(pacing);
    // 1.5 s of appends: the first at once, then one every 500 ms.
    assert!((2..=5).contains(&snapshots), "{snapshots} snapshots");
    assert!(alerts <= 2, "{alerts} alert evaluations during the stream");
    // Once the stream stops, its last appends are shown and judged.
    assert!(snapshots_after <= 1, "{snapshots_after}");
    // The stream's last state is judged: an evaluation follows the last refresh.
    assert!(order.ends_with('a'), "{order}");
    assert!(order.matches('a').count() <= 3, "{order}");

    // The old behaviour, for contrast: every append recomputed and judged.
    let ((snapshots, alerts), _, _) = stream(Pacing::EVERY_APPEND);
    assert!(snapshots >= 8, "{snapshots}");
    assert!(alerts >= 8, "{alerts}");
}
