//! `kpi check` as cron runs it: the binary, its output and its exit code.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use chrono::{Datelike, NaiveDate, Weekday};

fn check(db: &Path, extra: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kpi"))
        .arg("check")
        .arg("--db")
        .arg(db)
        .args(extra)
        .env_remove("KPI_DB")
        .output()
        .unwrap()
}

fn empty_store(dir: &Path) -> std::path::PathBuf {
    let path = dir.join("launch.db");
    drop(kpi::store::Store::open(&path).unwrap());
    path
}

#[test]
fn an_empty_store_has_no_open_alerts_and_exits_0() {
    let dir = tempfile::tempdir().unwrap();
    let db = empty_store(dir.path());
    let out = check(&db, &[]);
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(stdout.starts_with("kpi check: no open alerts"), "{stdout}");
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
}

#[test]
fn json_output_has_an_empty_alerts_array() {
    let dir = tempfile::tempdir().unwrap();
    let db = empty_store(dir.path());
    let out = check(&db, &["--format", "json"]);
    assert_eq!(out.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["alerts"], serde_json::json!([]));
    assert_eq!(v["exit_code"], 0);
}

#[test]
fn a_missing_store_is_an_error_not_an_all_clear() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("lanch.db");
    let out = check(&db, &[]);
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("lanch.db"), "{stderr}");
    assert!(!db.exists(), "check must not create the store");
}

#[test]
fn a_bad_kpi_toml_is_an_error_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let db = empty_store(dir.path());
    std::fs::write(dir.path().join("kpi.toml"), "[alerts]\nmild_pct = 15.0\n").unwrap();
    let out = check(&db, &[]);
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains("kpi.toml") && stderr.contains("alerts.mild_pct"),
        "{stderr}"
    );
}

#[test]
fn a_file_whose_latest_import_failed_is_a_strong_alert_until_it_imports() {
    let dir = tempfile::tempdir().unwrap();
    let db = empty_store(dir.path());
    let orders = dir.path().join("orders.csv");
    let import = || {
        Command::new(env!("CARGO_BIN_EXE_kpi"))
            .arg("import")
            .arg("--db")
            .arg(&db)
            .arg(&orders)
            .output()
            .unwrap()
    };
    // No header row the contract knows: the file cannot be imported at all.
    std::fs::write(&orders, "what,is,this\n1,2,3\n").unwrap();
    assert_eq!(import().status.code(), Some(3));

    let out = check(&db, &[]);
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(2), "{stdout}");
    let line = stdout
        .lines()
        .find(|l| l.contains("import failed"))
        .unwrap();
    assert!(line.starts_with("‼ import failed: orders.csv"), "{line}");
    assert!(
        line.contains("order_id"),
        "the reason names what is missing: {line}"
    );

    std::fs::write(
        &orders,
        "order_id,customer_id,order_date,revenue\no1,c1,2026-11-01,10\n",
    )
    .unwrap();
    assert_eq!(import().status.code(), Some(0));
    let out = check(&db, &[]);
    assert!(
        !String::from_utf8(out.stdout)
            .unwrap()
            .contains("import failed")
    );
}

/// Orders of three channels — paid search half of revenue, organic 30 %, email 20 % —
/// every day for 14 months up to `end`, with a weekly rhythm (Friday busy, weekend quiet)
/// and a little basket noise. `factor(channel, date)` scales each order's revenue: the
/// story a test tells. 500 customers order in turn, so customer counts stay flat.
fn sales_store(dir: &Path, end: &str, factor: impl Fn(&str, NaiveDate) -> f64) -> PathBuf {
    use std::fmt::Write;
    let end = NaiveDate::parse_from_str(end, "%Y-%m-%d").unwrap();
    let start = end - chrono::Duration::days(14 * 31);
    let mut csv = String::from("order_id,customer_id,order_date,revenue,channel\n");
    let mut counter: u64 = 0;
    let mut date = start;
    while date <= end {
        let rhythm = match date.weekday() {
            Weekday::Fri => 1.1_f64,
            Weekday::Sat | Weekday::Sun => 0.8,
            _ => 1.0,
        };
        for (channel, per_day) in [("paid_search", 30.0), ("organic", 18.0), ("email", 12.0)] {
            let orders = (per_day * rhythm).round() as u64;
            for _ in 0..orders {
                counter += 1;
                // 45 … 55, averaging 50: noise a week or a month averages out.
                let basket = 50.0 + ((counter * 37) % 11) as f64 - 5.0;
                let revenue = basket * factor(channel, date);
                writeln!(
                    csv,
                    "o{counter},c{},{date},{revenue:.2},{channel}",
                    counter % 500
                )
                .unwrap();
            }
        }
        date = date.succ_opt().unwrap();
    }
    let orders = dir.join("orders.csv");
    std::fs::write(&orders, csv).unwrap();
    let db = dir.join("sales.db");
    let out = Command::new(env!("CARGO_BIN_EXE_kpi"))
        .arg("import")
        .arg("--db")
        .arg(&db)
        .arg(&orders)
        .env_remove("KPI_DB")
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    db
}

fn in_month(date: NaiveDate, month: &str) -> bool {
    date.format("%Y-%m").to_string() == month
}

fn stdout_of(out: &Output) -> String {
    String::from_utf8(out.stdout.clone()).unwrap()
}

#[test]
fn a_strong_rise_exits_0_by_default_and_2_with_fail_on_any() {
    let dir = tempfile::tempdir().unwrap();
    let db = sales_store(dir.path(), "2026-06-30", |_, date| {
        if in_month(date, "2026-06") { 1.2 } else { 1.0 }
    });
    let out = check(&db, &[]);
    let stdout = stdout_of(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    let revenue = stdout
        .lines()
        .find(|l| {
            l.starts_with("! Gross revenue · Jun 2026")
                || l.starts_with("‼ Gross revenue · Jun 2026")
        })
        .unwrap_or_else(|| panic!("the rise is listed:\n{stdout}"));
    assert!(revenue.contains("good news"), "{revenue}");
    let out = check(&db, &["--fail-on", "any"]);
    assert_eq!(out.status.code(), Some(2), "{}", stdout_of(&out));
    let out = check(&db, &["--fail-on", "bad"]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout_of(&out));
}

#[test]
fn a_channel_that_is_half_of_revenue_falling_15_percent_for_a_month_is_strong_and_named() {
    let dir = tempfile::tempdir().unwrap();
    let db = sales_store(dir.path(), "2026-06-30", |channel, date| {
        if channel == "paid_search" && in_month(date, "2026-06") {
            0.85
        } else {
            1.0
        }
    });
    let out = check(&db, &[]);
    let stdout = stdout_of(&out);
    assert_eq!(out.status.code(), Some(2), "{stdout}");
    let channel = stdout
        .lines()
        .find(|l| l.contains("Gross revenue · channel paid_search · Jun 2026"))
        .unwrap_or_else(|| panic!("the channel alerts on its own:\n{stdout}"));
    assert!(channel.starts_with("‼ "), "{channel}");
    assert!(channel.contains("(▼ -1"), "{channel}");
    assert!(channel.contains("%, bad)"), "{channel}");
    // The total falls a mild 7.5 % and names the channel behind it.
    let total = stdout
        .lines()
        .find(|l| {
            l.starts_with("! Gross revenue · Jun 2026")
                || l.starts_with("‼ Gross revenue · Jun 2026")
        })
        .unwrap_or_else(|| panic!("the total alerts:\n{stdout}"));
    assert!(total.starts_with("! "), "{total}");
    assert!(total.contains("drivers: channel paid_search 10"), "{total}");
}

#[test]
fn a_six_percent_fall_of_everything_is_mild_and_exits_1() {
    let dir = tempfile::tempdir().unwrap();
    let db = sales_store(dir.path(), "2026-06-30", |_, date| {
        if in_month(date, "2026-06") { 0.94 } else { 1.0 }
    });
    let out = check(&db, &[]);
    let stdout = stdout_of(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    let total = stdout
        .lines()
        .find(|l| {
            l.starts_with("! Gross revenue · Jun 2026")
                || l.starts_with("‼ Gross revenue · Jun 2026")
        })
        .unwrap_or_else(|| panic!("the total alerts:\n{stdout}"));
    assert!(total.starts_with("! "), "{total}");
    assert!(!stdout.contains("‼"), "nothing is strong:\n{stdout}");
}

#[test]
fn flat_sales_with_a_weekly_rhythm_raise_nothing_on_a_quiet_sunday() {
    // 2026-05-31 is a Sunday: against Thursday to Saturday it is 20 % down, against the
    // Sundays before it, flat.
    let dir = tempfile::tempdir().unwrap();
    let db = sales_store(dir.path(), "2026-05-31", |_, _| 1.0);
    let out = check(&db, &["--fail-on", "any"]);
    let stdout = stdout_of(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(
        stdout.starts_with("kpi check: no open alerts as of 2026-05-31"),
        "{stdout}"
    );
}

#[test]
fn month_length_alone_is_never_a_deviation() {
    // February's 28 days against 30- and 31-day months: 8.7 % less revenue, the same
    // revenue a day.
    let dir = tempfile::tempdir().unwrap();
    let db = sales_store(dir.path(), "2026-02-28", |_, _| 1.0);
    let out = check(&db, &["--fail-on", "any"]);
    let stdout = stdout_of(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(
        stdout.starts_with("kpi check: no open alerts as of 2026-02-28"),
        "{stdout}"
    );
}

#[test]
fn a_channel_that_is_half_of_revenue_rising_20_percent_is_strong_good_news_on_its_own() {
    // The total rises a mild 10 %; the channel behind it is a strong story of its own
    // (SPEC §6: a material segment alerts with its own tier), listed as good news that
    // wakes no one.
    let dir = tempfile::tempdir().unwrap();
    let db = sales_store(dir.path(), "2026-06-30", |channel, date| {
        if channel == "paid_search" && in_month(date, "2026-06") {
            1.2
        } else {
            1.0
        }
    });
    let out = check(&db, &[]);
    let stdout = stdout_of(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    let channel = stdout
        .lines()
        .find(|l| l.contains("Gross revenue · channel paid_search · Jun 2026"))
        .unwrap_or_else(|| panic!("the channel alerts on its own:\n{stdout}"));
    assert!(channel.starts_with("‼ "), "{channel}");
    assert!(channel.contains("(▲ +"), "{channel}");
    assert!(channel.contains("%, good news)"), "{channel}");
    let total = stdout
        .lines()
        .find(|l| l.starts_with("! Gross revenue · Jun 2026"))
        .unwrap_or_else(|| panic!("the total alerts mild:\n{stdout}"));
    assert!(total.contains("drivers: channel paid_search 9"), "{total}");
    let out = check(&db, &["--fail-on", "any"]);
    assert_eq!(out.status.code(), Some(2), "{}", stdout_of(&out));
}

#[test]
fn weekday_seasonality_raises_nothing_at_day_grain_on_any_day_of_the_week() {
    // Busy Fridays and quiet weekends, nothing else: each day of the last week, read as
    // the reference date, is compared with the same weekday before it and stays quiet.
    let dir = tempfile::tempdir().unwrap();
    let db = sales_store(dir.path(), "2026-05-31", |_, _| 1.0);
    let sunday = NaiveDate::from_ymd_opt(2026, 5, 31).unwrap();
    for back in 0..7 {
        let day = sunday - chrono::Duration::days(back);
        let as_of = day.to_string();
        let out = check(&db, &["--as-of", &as_of, "--fail-on", "any"]);
        let stdout = stdout_of(&out);
        assert_eq!(out.status.code(), Some(0), "{}: {stdout}", day.weekday());
        assert!(
            stdout.starts_with(&format!("kpi check: no open alerts as of {as_of}")),
            "{}: {stdout}",
            day.weekday()
        );
    }
}

/// `kpi --help` said `check` exits "2 any strong", while a strong good-news alert exits 0
/// unless `--fail-on any`: a cron user reading the help expected a page that never comes.
#[test]
fn the_help_says_check_exits_by_the_worst_bad_alert() {
    let out = Command::new(env!("CARGO_BIN_EXE_kpi"))
        .arg("--help")
        .output()
        .unwrap();
    let help = stdout_of(&out);
    let line = help
        .lines()
        .find(|l| l.trim_start().starts_with("check "))
        .unwrap_or_else(|| panic!("{help}"));
    assert!(line.contains("worst bad"), "{line}");
    assert!(!line.contains("any strong"), "{line}");
}
