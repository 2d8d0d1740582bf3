//! Reading never writes the store (SPEC §6, §9): `kpi report`, `kpi check` and the
//! cockpit open it read-only, work on a store nobody may write, leave its bytes as they
//! were, and never wait for a writer holding the lock; alert sightings are recorded only
//! by a caller that owns a write connection.
#![allow(clippy::unwrap_used)]

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use kpi::alerts;
use kpi::config::Config;
use kpi::store::Store;
use kpi::ui::{Effect, Msg, Tab, fixture};
use rusqlite::Connection;

const KPI: &str = env!("CARGO_BIN_EXE_kpi");

/// A copy of the shipped demo store and its `kpi.toml` in a folder of its own.
fn demo_store() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let db = dir.path().join("sample.db");
    std::fs::copy(repo.join("sample.db"), &db).unwrap();
    std::fs::copy(repo.join("kpi.toml"), dir.path().join("kpi.toml")).unwrap();
    (dir, db)
}

fn files_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn set_mode(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// Runs `kpi ARGS --db DB`, failing the test if it has not finished within `limit`.
fn kpi_within(db: &Path, args: &[&str], limit: Duration) -> Output {
    let child = Command::new(KPI)
        .args(args)
        .arg("--db")
        .arg(db)
        .env_remove("KPI_DB")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    // Collected on a thread of its own: a report fills the pipe long before it exits.
    let (done, output) = mpsc::channel();
    std::thread::spawn(move || done.send(child.wait_with_output()));
    match output.recv_timeout(limit) {
        Ok(out) => out.unwrap(),
        Err(_) => {
            let _ = Command::new("kill").arg("-9").arg(pid.to_string()).status();
            panic!("kpi {args:?} still running after {limit:?}");
        }
    }
}

/// `kpi report --format json` without its generation time, so two runs compare equal.
fn report_json(out: &Output) -> serde_json::Value {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    json.as_object_mut().unwrap().remove("generated_at");
    json
}

fn check_text(out: &Output) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        matches!(out.status.code(), Some(0..=2)),
        "kpi check failed: {stderr}"
    );
    String::from_utf8(out.stdout.clone()).unwrap()
}

const PROMPTLY: Duration = Duration::from_secs(20);

#[test]
fn report_and_check_on_a_read_only_store_work_and_leave_its_bytes_unchanged() {
    let (dir, db) = demo_store();
    let before = std::fs::read(&db).unwrap();
    set_mode(&db, 0o444);
    set_mode(dir.path(), 0o555);

    let report = kpi_within(&db, &["report", "--format", "json"], PROMPTLY);
    let json = report_json(&report);
    assert!(
        json["metrics"].as_array().is_some_and(|m| !m.is_empty()),
        "{json}"
    );
    let check = check_text(&kpi_within(&db, &["check"], PROMPTLY));
    assert!(check.contains("open alerts"), "{check}");

    set_mode(dir.path(), 0o755);
    assert!(
        std::fs::read(&db).unwrap() == before,
        "the store's bytes changed"
    );
    assert_eq!(
        files_in(dir.path()),
        ["kpi.toml", "sample.db"],
        "nothing beside it"
    );
}

#[test]
fn a_user_without_write_access_can_report_and_check() {
    // Root ignores permission bits, so the store is read as an unprivileged user would.
    let root = std::fs::metadata("/proc/self").is_ok_and(|m| {
        use std::os::unix::fs::MetadataExt;
        m.uid() == 0
    });
    let setpriv = Command::new("setpriv").arg("--version").output();
    if !root || !setpriv.is_ok_and(|o| o.status.success()) {
        eprintln!("skipped: needs root and setpriv to drop to an unprivileged user");
        return;
    }
    let (dir, db) = demo_store();
    let before = std::fs::read(&db).unwrap();
    set_mode(&db, 0o444);
    set_mode(dir.path(), 0o555);
    for args in [&["report", "--format", "md"][..], &["check"][..]] {
        let out = Command::new("setpriv")
            .args(["--reuid=65534", "--regid=65534", "--clear-groups", KPI])
            .args(args)
            .arg("--db")
            .arg(&db)
            .env_remove("KPI_DB")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            matches!(out.status.code(), Some(0..=2)),
            "{args:?}: {stderr}"
        );
        assert!(!out.stdout.is_empty(), "{args:?} printed nothing: {stderr}");
    }
    set_mode(dir.path(), 0o755);
    assert!(
        std::fs::read(&db).unwrap() == before,
        "the store's bytes changed"
    );
    assert_eq!(
        files_in(dir.path()),
        ["kpi.toml", "sample.db"],
        "nothing beside it"
    );
}

#[test]
fn a_read_only_store_connection_refuses_every_write() {
    let (_dir, db) = demo_store();
    let store = Store::open_read_only(&db).unwrap();
    assert!(store.is_read_only());
    let err = store
        .conn()
        .execute(
            "INSERT INTO annotations (date, label) VALUES ('2026-01-01', 'x')",
            [],
        )
        .unwrap_err();
    assert_eq!(
        err.sqlite_error_code(),
        Some(rusqlite::ErrorCode::ReadOnly),
        "{err}"
    );
}

#[test]
fn report_and_check_do_not_wait_for_a_writer_holding_the_lock() {
    let (_dir, db) = demo_store();
    let committed_report = report_json(&kpi_within(&db, &["report", "--format", "json"], PROMPTLY));
    let committed_check = check_text(&kpi_within(&db, &["check"], PROMPTLY));

    // Another process's import in the middle of its transaction: write lock held, its
    // changes pending. A reader that saw them would report no revenue at all.
    let writer = Connection::open(&db).unwrap();
    writer
        .execute_batch(
            "BEGIN IMMEDIATE;
             DELETE FROM ru_orders_day;
             DELETE FROM alert_state;
             INSERT INTO annotations (date, label) VALUES ('2026-11-14', 'pending');",
        )
        .unwrap();

    let started = Instant::now();
    let report = report_json(&kpi_within(&db, &["report", "--format", "json"], PROMPTLY));
    let check = check_text(&kpi_within(&db, &["check"], PROMPTLY));
    let waited = started.elapsed();
    writer.execute_batch("ROLLBACK").unwrap();

    assert_eq!(
        report, committed_report,
        "the report reads the committed data"
    );
    assert_eq!(check, committed_check, "check reads the committed data");
    // Well under the writers' 30 s busy timeout: nothing queued behind the lock.
    assert!(waited < Duration::from_secs(15), "took {waited:?}");
}

#[test]
fn evaluating_alerts_records_no_sightings() {
    let (_dir, db) = demo_store();
    let store = Store::open(&db).unwrap();
    let config = Config::load(&db.with_file_name("kpi.toml")).unwrap();
    let as_of = kpi::metrics::reference_date(&store).unwrap().unwrap();
    let catalog = kpi::metrics::catalog(&store).unwrap();
    let state = |store: &Store| -> Vec<(String, String, i64)> {
        store
            .conn()
            .prepare("SELECT alert_key, last_seen, occurrence FROM alert_state ORDER BY 1")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    };
    let before = state(&store);
    let mut evaluation = alerts::evaluate(&store, &config, as_of, &catalog).unwrap();
    assert!(!evaluation.alerts.is_empty());
    assert_eq!(state(&store), before, "evaluation wrote alert state");

    // The caller that owns a write connection records them.
    let now = chrono::DateTime::parse_from_rfc3339("2026-11-16T09:00:00Z")
        .unwrap()
        .to_utc();
    alerts::record_sightings(&store, as_of, now, &mut evaluation).unwrap();
    let recorded = state(&store);
    for alert in &evaluation.alerts {
        assert_eq!(alert.last_seen.as_deref(), Some("2026-11-16T09:00:00Z"));
        assert!(recorded.iter().any(|(key, _, _)| *key == alert.key));
    }
}

#[test]
fn the_cockpit_worker_on_a_read_only_store_shows_alerts_and_refuses_to_acknowledge() {
    let (dir, db) = demo_store();
    let before = std::fs::read(&db).unwrap();
    set_mode(&db, 0o444);
    set_mode(dir.path(), 0o555);
    let config = Config::load(&dir.path().join("kpi.toml")).unwrap();
    let worker = kpi::ui::worker::open(&db, config, None, false).unwrap();
    let (effects, effects_rx) = mpsc::channel::<Effect>();
    let (results_tx, results) = mpsc::channel::<Msg>();
    let thread = std::thread::spawn(move || worker.run(&effects_rx, &results_tx, |m| m));
    let next = |want: fn(&Msg) -> bool| loop {
        let msg = results.recv_timeout(Duration::from_secs(60)).unwrap();
        if want(&msg) {
            return msg;
        }
    };

    effects.send(Effect::LoadSnapshot).unwrap();
    let Msg::AlertsLoaded(evaluation) = next(|m| matches!(m, Msg::AlertsLoaded(_))) else {
        unreachable!()
    };
    let evaluation = evaluation.unwrap();
    assert!(!evaluation.alerts.is_empty());
    let alert = evaluation.alerts[0].clone();
    effects
        .send(Effect::Acknowledge {
            alert: Box::new(alert),
        })
        .unwrap();
    let Msg::AlertSaved { result, .. } = next(|m| matches!(m, Msg::AlertSaved { .. })) else {
        unreachable!()
    };
    let err = result.unwrap_err();
    assert!(err.contains("read-only"), "{err}");
    drop(effects);
    thread.join().unwrap();

    set_mode(dir.path(), 0o755);
    assert!(
        std::fs::read(&db).unwrap() == before,
        "the store's bytes changed"
    );
    assert_eq!(
        files_in(dir.path()),
        ["kpi.toml", "sample.db"],
        "nothing beside it"
    );
}

#[test]
fn an_alerts_pane_that_could_not_evaluate_says_so_instead_of_all_clear() {
    let mut app = fixture::app(fixture::snapshot());
    app.snapshot.alerts.clear();
    app.tab = Tab::Alerts;
    assert!(common::text(&app, 100, 30).contains("no open alerts"));
    kpi::ui::update(
        &mut app,
        Msg::AlertsLoaded(Err("attempt to write a readonly database".into())),
    );
    let text = common::text(&app, 100, 30);
    assert!(text.contains("alerts could not be evaluated"), "{text}");
    assert!(text.contains("readonly database"), "{text}");
    assert!(!text.contains("no open alerts"), "{text}");
    app.tab = Tab::Overview;
    let text = common::text(&app, 100, 30);
    assert!(text.contains("alerts could not be evaluated"), "{text}");
    assert!(!text.contains("no open alerts"), "{text}");
}
