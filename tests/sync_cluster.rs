//! `kpi sync --cluster` against a real Ballista scheduler and two executors, started by
//! `.ci/sync_cluster.sh` (which passes their address and pids): the rollups equal a local
//! import's, and losing an executor mid-sync either completes or fails clearly without
//! writing half a sync.
#![cfg(feature = "cluster")]
#![allow(clippy::unwrap_used)]

mod sync_support;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use kpi::store::Store;
use kpi::sync::{SyncOptions, sync};
use sync_support::{export, imported, rollups};

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("{name} is set by .ci/sync_cluster.sh"))
}

#[test]
#[ignore = "needs a Ballista cluster: run .ci/sync_cluster.sh"]
fn sync_on_a_ballista_cluster_equals_a_local_import_on_every_rollup() {
    let dir = tempfile::tempdir().unwrap();
    let local = imported(dir.path(), 150);
    let exports = dir.path().join("exports");
    assert!(export(&local, &exports) > 50);
    let mut synced = Store::open(&dir.path().join("synced.db")).unwrap();
    let options = SyncOptions {
        cluster: Some(env("KPI_SYNC_CLUSTER")),
        partitions: 0,
    };
    sync(&mut synced, &exports, &options).unwrap();
    assert_eq!(rollups(&synced), rollups(&local));
}

#[test]
#[ignore = "needs a Ballista cluster: run .ci/sync_cluster.sh"]
fn losing_an_executor_mid_sync_completes_or_fails_clearly_and_never_half_writes() {
    let dir = tempfile::tempdir().unwrap();
    let local = imported(dir.path(), 600);
    let exports = dir.path().join("exports");
    export(&local, &exports);
    let db = dir.path().join("synced.db");
    // The store before: empty rollups (a sync that fails must leave them so).
    let before = rollups(&Store::open(&db).unwrap());
    let mut child = Command::new(env!("CARGO_BIN_EXE_kpi"))
        .args(["sync", "--cluster", &env("KPI_SYNC_CLUSTER"), "--source"])
        .arg(&exports)
        .arg("--db")
        .arg(&db)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(
        env("KPI_SYNC_KILL_AFTER_MS").parse().unwrap(),
    ));
    let killed = Command::new("kill")
        .args(["-9", &env("KPI_SYNC_EXECUTOR_PID")])
        .status()
        .unwrap();
    assert!(killed.success());
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() {
        assert!(
            started.elapsed() < Duration::from_secs(600),
            "the sync neither completes nor fails after losing an executor"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let output = child.wait_with_output().unwrap();
    let after = rollups(&Store::open(&db).unwrap());
    if output.status.success() {
        assert_eq!(
            after,
            rollups(&local),
            "completed through the other executor"
        );
    } else {
        let err = String::from_utf8_lossy(&output.stderr);
        assert!(
            err.starts_with("kpi: ") && err.lines().count() <= 3,
            "one clear error: {err}"
        );
        assert_eq!(after, before, "a failed sync writes nothing");
    }
}
