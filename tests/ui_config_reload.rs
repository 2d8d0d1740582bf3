//! `r` in the cockpit reads `kpi.toml` again: the worker's full reload, on a real store.
#![allow(clippy::unwrap_used)]

use std::sync::mpsc;
use std::time::Duration;

use kpi::config::Config;
use kpi::ui::{Effect, Msg};

#[test]
fn r_reads_kpi_toml_again_and_keeps_the_last_good_one_when_it_is_invalid() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("s.db");
    drop(kpi::store::Store::open(&db).unwrap());
    let toml = dir.path().join("kpi.toml");
    std::fs::write(&toml, "core_kpis = [\"net_revenue\", \"orders\"]\n").unwrap();
    let config = Config::load_for(&db, None).unwrap();
    let mut worker = kpi::ui::worker::open(&db, config, None, false).unwrap();
    worker.follow_config(None);
    let (effects, effects_rx) = mpsc::channel::<Effect>();
    let (results_tx, results) = mpsc::channel::<Msg>();
    let thread = std::thread::spawn(move || worker.run(&effects_rx, &results_tx, |m| m));
    let next = || loop {
        let msg = results.recv_timeout(Duration::from_secs(60)).unwrap();
        if matches!(msg, Msg::SnapshotLoaded(_) | Msg::Status(_)) {
            return msg;
        }
    };
    let core_kpis = |msg: Msg| match msg {
        Msg::SnapshotLoaded(Ok(snapshot)) => snapshot.config.core_kpis.clone(),
        other => panic!("expected a snapshot, got {other:?}"),
    };

    std::fs::write(&toml, "core_kpis = [\"aov\"]\n").unwrap();
    effects.send(Effect::LoadSnapshot).unwrap();
    // The first load sends the overview, then the rest: both with the new list.
    assert_eq!(core_kpis(next()), vec!["aov".to_string()]);
    assert_eq!(core_kpis(next()), vec!["aov".to_string()]);

    std::fs::write(&toml, "core_kpis = [\"aov\"\n").unwrap();
    effects.send(Effect::LoadSnapshot).unwrap();
    let Msg::Status(problem) = next() else {
        panic!("an invalid kpi.toml is reported")
    };
    assert!(problem.contains("kpi.toml"), "{problem}");
    assert!(problem.contains("keeping the last good"), "{problem}");
    assert!(
        !problem.contains('\n'),
        "one line for the status bar: {problem}"
    );
    assert_eq!(core_kpis(next()), vec!["aov".to_string()]);
    drop(effects);
    thread.join().unwrap();
}
