//! `kpi report` as a user runs it: markdown for people, JSON for scripts (validated
//! against the documented shape), CSV for spreadsheets.
#![allow(clippy::unwrap_used)]

mod metric_fixture;

use std::process::Command;

use serde_json::Value;

fn store_file() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("launch.db");
    let f = metric_fixture::populated();
    f.store
        .conn()
        .execute("VACUUM INTO ?1", [path.to_str().unwrap()])
        .unwrap();
    (dir, path)
}

fn kpi(args: &[&str]) -> (String, String, i32) {
    let out = Command::new(env!("CARGO_BIN_EXE_kpi"))
        .args(args)
        .env_remove("KPI_DB")
        .output()
        .unwrap();
    (
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
        out.status.code().unwrap_or(-1),
    )
}

fn is_number_or_null(v: &Value) -> bool {
    v.is_null() || v.is_number()
}

/// Checks the JSON contract of the README, key by key.
fn assert_shape(doc: &Value) {
    assert!(doc["store"].is_string());
    let generated = doc["generated_at"].as_str().unwrap();
    chrono::DateTime::parse_from_rfc3339(generated).unwrap();
    assert!(["day", "week", "month"].contains(&doc["grain"].as_str().unwrap()));
    let metrics = doc["metrics"].as_array().unwrap();
    assert!(!metrics.is_empty());
    for m in metrics {
        for key in ["id", "name", "unit"] {
            assert!(m[key].is_string(), "{key} in {m}");
        }
        assert!(
            ["higher_is_better", "lower_is_better"].contains(&m["direction"].as_str().unwrap())
        );
        let segment = &m["segment"];
        assert!(
            segment.is_null() || (segment["dimension"].is_string() && segment["value"].is_string()),
            "{segment}"
        );
        for point in m["series"].as_array().unwrap() {
            let period = point["period"].as_str().unwrap();
            assert!(kpi::metrics::Period::parse(period).is_some(), "{period}");
            assert!(is_number_or_null(&point["value"]));
            assert!(point["note"].is_null() || point["note"].is_string());
            // Nothing is a silent null: a missing value always says why.
            if point["value"].is_null() {
                assert!(point["note"].is_string(), "{} {period}", m["id"]);
            }
        }
    }
    for c in doc["cohorts"].as_array().unwrap() {
        assert!(c["variant"].is_string());
        assert!(c["cohort"].as_str().unwrap().len() == 7);
        assert!(c["size"].is_u64());
        let cells = c["cells"].as_array().unwrap();
        let forecast = c["forecast"].as_array().unwrap();
        assert_eq!(cells.len(), forecast.len());
        for (cell, f) in cells.iter().zip(forecast) {
            assert!(is_number_or_null(cell) && is_number_or_null(f));
            // Forecast only where nothing was observed.
            assert!(cell.is_null() || f.is_null());
        }
    }
    assert!(doc["alerts"].is_array());
}

#[test]
fn json_report_follows_the_documented_shape() {
    let (_dir, db) = store_file();
    let (out, err, code) = kpi(&["report", "--db", db.to_str().unwrap(), "--format", "json"]);
    assert_eq!(code, 0, "{err}");
    let doc: Value = serde_json::from_str(&out).unwrap();
    assert_shape(&doc);
    assert_eq!(doc["grain"], "month");
    assert_eq!(doc["as_of"], "2025-07-14");
    let metric = |id: &str| {
        doc["metrics"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["id"] == id && m["segment"].is_null())
            .unwrap()
            .clone()
    };
    // Every SPEC §3 metric is there, plus the external one.
    for id in [
        "net_revenue",
        "mrr",
        "mrr_net_new",
        "nps",
        "cac",
        "dau",
        "spi",
        "resolution_h",
        "uptime_pct",
        "clv",
    ] {
        metric(id);
    }
    let series = metric("net_revenue")["series"].as_array().unwrap().clone();
    let last = series.last().unwrap();
    assert_eq!(last["period"], "2025-07");
    assert_eq!(last["partial"], true);
    assert_eq!(series[series.len() - 2]["partial"], false);
    // Cohorts of all four variants.
    let variants: std::collections::BTreeSet<_> = doc["cohorts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["variant"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(variants.len(), 4, "{variants:?}");
}

#[test]
fn json_by_channel_and_week_grain() {
    let (_dir, db) = store_file();
    let (out, err, code) = kpi(&[
        "report",
        "--db",
        db.to_str().unwrap(),
        "--format",
        "json",
        "--grain",
        "week",
        "--metric",
        "gross_revenue",
        "--metric",
        "cac",
        "--by",
        "channel",
        "--from",
        "2025-06-01",
        "--to",
        "2025-06-30",
    ]);
    assert_eq!(code, 0, "{err}");
    let doc: Value = serde_json::from_str(&out).unwrap();
    assert_shape(&doc);
    let metrics = doc["metrics"].as_array().unwrap();
    let segments: Vec<String> = metrics
        .iter()
        .filter(|m| m["id"] == "gross_revenue" && !m["segment"].is_null())
        .map(|m| m["segment"]["value"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(segments, ["ads", "email", "seo"]);
    assert!(
        metrics
            .iter()
            .all(|m| m["id"] == "gross_revenue" || m["id"] == "cac")
    );
    let first = metrics[0]["series"].as_array().unwrap();
    assert_eq!(first.first().unwrap()["period"], "2025-W22");
    assert_eq!(first.last().unwrap()["period"], "2025-W27");
    // Per-channel revenue adds up to the total in every week.
    for (i, point) in first.iter().enumerate() {
        let total = point["value"].as_f64().unwrap();
        let sum: f64 = metrics
            .iter()
            .filter(|m| m["id"] == "gross_revenue" && !m["segment"].is_null())
            .map(|m| m["series"][i]["value"].as_f64().unwrap())
            .sum();
        assert!((total - sum).abs() < 1e-6, "{total} vs {sum}");
    }
}

#[test]
fn markdown_reads_as_a_monthly_readout() {
    let (_dir, db) = store_file();
    let dir = db.parent().unwrap();
    std::fs::write(
        dir.join("kpi.toml"),
        "[[targets]]\nmetric = \"mrr\"\nvalue = 5000\nby = \"2025-12-31\"\n",
    )
    .unwrap();
    let (out, err, code) = kpi(&["report", "--db", db.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("# KPI readout — June 2025\n"), "{out}");
    assert!(
        out.contains("July 2025 is still running (data to Jul 14)"),
        "{out}"
    );
    assert!(out.contains("| Metric | Jun 2025 | vs May 2025 | Jul 2025 to date | Target | Note |"));
    assert!(out.contains("## Revenue and profitability"));
    assert!(out.contains("## Engagement"));
    assert!(out.contains("| MRR | $"), "{out}");
    // The share of the target reached and where the trend leads by its date.
    assert!(
        out.contains("| 91% of $5,000 · pace: $6,870 by 2025-12-31 (beats it by $1,870) |"),
        "{out}"
    );
    assert!(out.contains("## Cohorts — purchasing customers"));
    // The repeat purchase rate has 6 months of history, and says so.
    assert!(out.contains("horizon 6 months"), "{out}");
}

#[test]
fn csv_has_one_row_per_metric_segment_and_period() {
    let (_dir, db) = store_file();
    let (out, err, code) = kpi(&[
        "report",
        "--db",
        db.to_str().unwrap(),
        "--format",
        "csv",
        "--metric",
        "nps",
        "--by",
        "region",
        "--from",
        "2025-05-01",
    ]);
    assert_eq!(code, 0, "{err}");
    let mut reader = csv::Reader::from_reader(out.as_bytes());
    let header = reader.headers().unwrap().clone();
    assert_eq!(&header[0], "metric");
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    // 3 months (May, June, July) × (overall + eu + us).
    assert_eq!(rows.len(), 9);
    assert!(
        rows.iter()
            .any(|r| &r[5] == "region" && &r[6] == "eu" && &r[7] == "2025-06")
    );
}

#[test]
fn an_empty_store_and_bad_arguments_give_clear_messages() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope.db");
    let (_, err, code) = kpi(&["report", "--db", missing.to_str().unwrap()]);
    assert_ne!(code, 0);
    assert!(err.contains("no store at"), "{err}");

    let (_dir, db) = store_file();
    let (_, err, code) = kpi(&["report", "--db", db.to_str().unwrap(), "--metric", "revenu"]);
    assert_ne!(code, 0);
    assert!(
        err.contains("unknown metric `revenu` — did you mean `net_revenue`?"),
        "{err}"
    );
    let (_, err, code) = kpi(&["report", "--db", db.to_str().unwrap(), "--period", "Juni"]);
    assert_ne!(code, 0);
    assert!(err.contains("bad period"), "{err}");
}
