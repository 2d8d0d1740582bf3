//! Every numeric setting in `kpi.toml` is bounded: a value out of range is an error naming
//! the file, the line, the key and the allowed range — never a panic deep in the date
//! arithmetic, nor a `kpi check` that reads decades of days.
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::Command;

use kpi::config::Config;

fn error_of(toml: &str) -> String {
    Config::parse(toml, Path::new("team/kpi.toml"))
        .map(|_| "accepted".to_string())
        .unwrap_or_else(|e| e.to_string())
}

fn assert_names(toml: &str, line_and_key: &str, range: &str) {
    let err = error_of(toml);
    assert!(err.contains("team/kpi.toml"), "{toml}\n→ {err}");
    assert!(err.contains(line_and_key), "{toml}\n→ {err}");
    assert!(err.contains(range), "{toml}\n→ {err}");
}

#[test]
fn an_alert_window_of_a_hundred_million_is_an_error_naming_file_line_key_and_range() {
    assert_names(
        "currency = \"EUR\"\n[alerts]\nwindow = 100000000\n",
        "line 3, alerts.window",
        "allowed 1 to 60",
    );
    assert_names(
        "[alerts]\nnoise_window = 100000000\n",
        "line 2, alerts.noise_window",
        "allowed 0 to 104",
    );
}

#[test]
fn an_alert_window_of_five_thousand_is_refused_rather_than_read_for_minutes() {
    assert_names(
        "[alerts]\nwindow = 5000\n",
        "line 2, alerts.window",
        "allowed 1 to 60",
    );
    assert_names(
        "[alerts]\nnoise_window = 5000\n",
        "line 2, alerts.noise_window",
        "allowed 0 to 104",
    );
}

#[test]
fn every_numeric_setting_has_a_bound() {
    let cases = [
        ("time_frame_weeks = 100000\n", "line 1, time_frame_weeks"),
        (
            "churn_window_days = 4000000000\n",
            "line 1, churn_window_days",
        ),
        (
            "[alerts]\nstrong_pct = 1e300\n",
            "line 2, alerts.strong_pct",
        ),
        (
            "[alerts]\nmin_volume = 9000000000000\n",
            "line 2, alerts.min_volume",
        ),
        (
            "[alerts]\npulse_flat_pct = 500\n",
            "line 2, alerts.pulse_flat_pct",
        ),
        ("[alerts]\nnoise_k = inf\n", "line 2, alerts.noise_k"),
        (
            "[alerts]\nday_noise_k = nan\n",
            "line 2, alerts.day_noise_k",
        ),
        (
            "[alerts.metrics.nps]\nstrong_pct = 1e9\n",
            "line 2, alerts.metrics.nps.strong_pct",
        ),
        (
            "[alerts.metrics.nps]\nmin_volume = 9000000000000\n",
            "line 2, alerts.metrics.nps.min_volume",
        ),
        (
            "[alerts.metrics.nps]\nnoise_k = -1\n",
            "line 2, alerts.metrics.nps.noise_k",
        ),
        (
            "[[targets]]\nmetric = \"nps\"\nvalue = inf\nby = \"2026-12-31\"\n",
            "line 3, targets[0].value",
        ),
        (
            "[[targets]]\nmetric = \"nps\"\nvalue = 40\nby = \"9999-12-31\"\n",
            "line 4, targets[0].by",
        ),
    ];
    for (toml, line_and_key) in cases {
        assert_names(toml, line_and_key, "out of range: allowed");
    }
}

#[test]
fn a_bad_value_in_a_later_table_names_its_own_line_not_the_first_key_of_that_name() {
    // `mild_pct` is set twice; the bad one is in [alerts.metrics.nps].
    assert_names(
        "[alerts]\nmild_pct = 5\nstrong_pct = 12\n\n[alerts.metrics.nps]\nmild_pct = 20\n",
        "line 6, alerts.metrics.nps.mild_pct",
        "not above strong_pct",
    );
    // The second target's date, not the first's.
    assert_names(
        "[[targets]]\nmetric = \"nps\"\nvalue = 40\nby = \"2026-12-31\"\n\n\
         [[targets]]\nmetric = \"mrr\"\nvalue = 9000\nby = \"2026-12-31\"\nstart = \"2027-01-01\"\n",
        "line 10, targets[1].start",
        "before the target's date",
    );
}

#[test]
fn settings_at_their_bounds_are_accepted() {
    let config = Config::parse(
        "time_frame_weeks = 520\nchurn_window_days = 1\n[alerts]\nwindow = 60\nnoise_window = 0\n\
         noise_k = 0\npulse_flat_pct = 0\n",
        Path::new("kpi.toml"),
    )
    .unwrap();
    assert_eq!(config.alerts.window, 60);
    assert_eq!(config.time_frame_weeks, 520);
}

/// The case of the issue, through the binary: with the old code `kpi check` panicked with
/// "NaiveDate - TimeDelta overflowed".
#[test]
fn kpi_check_with_a_huge_alert_window_reports_the_setting_instead_of_panicking() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("sample.db");
    std::fs::copy(Path::new(env!("CARGO_MANIFEST_DIR")).join("sample.db"), &db).unwrap();
    std::fs::write(
        dir.path().join("kpi.toml"),
        "[alerts]\nwindow = 100000000\n",
    )
    .unwrap();
    for command in ["check", "report"] {
        let out = Command::new(env!("CARGO_BIN_EXE_kpi"))
            .arg(command)
            .arg("--db")
            .arg(&db)
            .env_remove("KPI_DB")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(3), "{command}: {stderr}");
        assert!(!stderr.contains("panicked"), "{command}: {stderr}");
        assert!(stderr.contains("kpi.toml"), "{command}: {stderr}");
        assert!(
            stderr.contains("line 2, alerts.window"),
            "{command}: {stderr}"
        );
        assert!(stderr.contains("allowed 1 to 60"), "{command}: {stderr}");
    }
}
