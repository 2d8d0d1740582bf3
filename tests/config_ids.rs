//! Every metric id in kpi.toml and on the command line is checked (issue 12): a typo is an
//! error naming the file, line and key (or the argument) and the closest valid id, never a
//! target, owner or tile that silently vanishes.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::Command;

use kpi::config::Config;
use kpi::metrics::catalog::{BUILT_IN, EXTERNAL_DIMS, def};
use kpi::metrics::{Direction, MetricDef, Unit};

/// The built-in catalog plus one external metric, as a store with `app_rating` rows has.
fn catalog() -> Vec<MetricDef> {
    let mut all = BUILT_IN.to_vec();
    all.push(def(
        "app_rating",
        "App rating",
        Unit::Score,
        Direction::HigherIsBetter,
        "imported",
        &["metrics"],
        EXTERNAL_DIMS,
    ));
    all
}

/// The error `text` as kpi.toml gives against the catalog, or `None` when it is valid.
fn check(text: &str) -> Option<String> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kpi.toml");
    std::fs::write(&path, text).unwrap();
    let config = Config::load(&path).unwrap();
    kpi::metric_ids::check_config(&config, Some(&path), &catalog())
        .err()
        .map(|e| e.to_string())
}

fn assert_names(err: Option<String>, line: usize, key: &str, typo: &str, meant: &str) {
    let err = err.unwrap_or_else(|| panic!("{key}: the typo {typo:?} passed"));
    assert!(err.contains("kpi.toml"), "{err}");
    assert!(err.contains(&format!("line {line}, {key}:")), "{err}");
    assert!(
        err.contains(&format!(
            "unknown metric `{typo}` — did you mean `{meant}`?"
        )),
        "{err}"
    );
}

#[test]
fn a_core_kpi_typo_names_its_line_and_the_metric_meant() {
    let err = check("currency = \"USD\"\ncore_kpis = [\"mrr\", \"net_revenu\"]\n");
    assert_names(err, 2, "core_kpis", "net_revenu", "net_revenue");
    // Written over several lines, the line of the id itself.
    let err = check("core_kpis = [\n  \"mrr\",\n  \"net_revenu\",\n]\n");
    assert_names(err, 3, "core_kpis", "net_revenu", "net_revenue");
}

#[test]
fn a_target_typo_is_an_error_not_a_vanished_target() {
    let err = check(
        "[[targets]]\nmetric = \"mrr\"\nvalue = 9\nby = \"2026-12-31\"\n\n\
         [[targets]]\nmetric = \"nsp\"\nvalue = 45\nby = \"2026-12-31\"\n",
    );
    assert_names(err, 7, "targets[1].metric", "nsp", "nps");
}

#[test]
fn an_owner_typo_is_an_error() {
    let err = check("[owners]\nnps = \"Marco\"\nnpss = \"Marco\"\n");
    assert_names(err, 3, "owners.npss", "npss", "nps");
}

#[test]
fn a_follow_up_typo_is_an_error_but_family_names_are_valid() {
    assert_eq!(
        check("[follow_ups]\nsupport = \"x\"\ncac = \"y\"\nrevenue = \"z\"\n"),
        None
    );
    let err = check("[follow_ups]\nsupport = \"x\"\ncacc = \"y\"\n");
    assert_names(err, 3, "follow_ups.cacc", "cacc", "cac");
    let err = check("[follow_ups]\nsuport = \"x\"\n");
    assert_names(err, 2, "follow_ups.suport", "suport", "support");
}

#[test]
fn a_threshold_typo_and_a_derived_from_typo_are_errors() {
    let err = check("[alerts]\nwindow = 3\n\n[alerts.metrics.nsp]\nmild_pct = 8.0\n");
    assert_names(err, 4, "alerts.metrics.nsp", "nsp", "nps");
    let err = check("[alerts.metrics.arr]\nderived_from = \"mrrr\"\n");
    assert_names(err, 2, "alerts.metrics.arr.derived_from", "mrrr", "mrr");
}

#[test]
fn a_driver_pair_typo_is_an_error_on_either_side() {
    let err = check(
        "[[drivers]]\nkpi = \"nps\"\ndriver = \"tickets_opened\"\n\n\
         [[drivers]]\nkpi = \"gros_revenue\"\ndriver = \"aov\"\n",
    );
    assert_names(err, 6, "drivers[1].kpi", "gros_revenue", "gross_revenue");
    let err = check("[[drivers]]\nkpi = \"nps\"\ndriver = \"tickets_opend\"\n");
    assert_names(
        err,
        3,
        "drivers[0].driver",
        "tickets_opend",
        "tickets_opened",
    );
}

#[test]
fn external_metrics_the_store_holds_are_valid_ids() {
    assert_eq!(
        check("core_kpis = [\"app_rating\"]\n[owners]\napp_rating = \"Sam\"\n"),
        None
    );
    let err = check("core_kpis = [\"app_ratng\"]\n");
    assert_names(err, 1, "core_kpis", "app_ratng", "app_rating");
    // Far from every id: no guess, still an error.
    let err = check("core_kpis = [\"weekly_happiness\"]\n").unwrap();
    assert!(err.contains("unknown metric `weekly_happiness`"), "{err}");
    assert!(!err.contains("did you mean"), "{err}");
}

#[test]
fn the_shipped_kpi_toml_names_only_valid_ids() {
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let config = Config::load(&repo.join("kpi.toml")).unwrap();
    kpi::metric_ids::check_config(&config, Some(&repo.join("kpi.toml")), &catalog()).unwrap();
    kpi::metric_ids::check_config(&Config::default(), None, &catalog()).unwrap();
}

fn kpi(db: &Path, config: &Path, args: &[&str]) -> (Option<i32>, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_kpi"))
        .args(args)
        .arg("--db")
        .arg(db)
        .arg("--config")
        .arg(config)
        .env_remove("KPI_DB")
        .output()
        .unwrap();
    (out.status.code(), String::from_utf8(out.stderr).unwrap())
}

#[test]
fn report_and_check_refuse_a_typo_in_kpi_toml_and_in_metric_and_by() {
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("sample.db");
    std::fs::copy(repo.join("sample.db"), &db).unwrap();
    let good = repo.join("kpi.toml");
    let bad = dir.path().join("kpi.toml");
    let shipped = std::fs::read_to_string(&good).unwrap();
    std::fs::write(
        &bad,
        shipped.replace("metric = \"nps\"", "metric = \"nsp\""),
    )
    .unwrap();
    // `kpi` alone opens the cockpit: the error comes before any terminal is touched.
    for command in [&["check"][..], &["report"][..], &[][..]] {
        let (code, stderr) = kpi(&db, &bad, command);
        assert_eq!(code, Some(3), "{command:?}: {stderr}");
        assert!(
            stderr.contains(
                "kpi.toml: line 19, targets[1].metric: unknown metric `nsp` — did you mean `nps`?"
            ),
            "{command:?}: {stderr}"
        );
    }
    let (code, stderr) = kpi(&db, &good, &["report", "--metric", "net_revenu"]);
    assert_eq!(code, Some(3), "{stderr}");
    assert!(
        stderr.contains("--metric: unknown metric `net_revenu` — did you mean `net_revenue`?"),
        "{stderr}"
    );
    let (code, stderr) = kpi(&db, &good, &["report", "--by", "bogus"]);
    assert_eq!(code, Some(3), "{stderr}");
    assert!(
        stderr.contains("--by: unknown dimension `bogus`"),
        "{stderr}"
    );
    let (code, stderr) = kpi(&db, &good, &["report", "--by", "chanel"]);
    assert_eq!(code, Some(3), "{stderr}");
    assert!(stderr.contains("did you mean `channel`?"), "{stderr}");
    let (code, stderr) = kpi(&db, &good, &["report", "--by", "channel"]);
    assert_eq!(code, Some(0), "{stderr}");
}
