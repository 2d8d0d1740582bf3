#![allow(clippy::unwrap_used)]
//! The shipped `kpi.toml` (beside sample.db) parses and names the demo's story.

use std::path::Path;

use kpi::config::Config;

#[test]
fn the_shipped_config_loads() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("kpi.toml");
    let config = Config::load(&path).unwrap();
    assert_eq!(config.core_kpis.len(), 5);
    assert!(
        config
            .targets
            .iter()
            .any(|t| t.metric == "mrr" && !t.milestones.is_empty())
    );
    assert_eq!(config.alerts.metrics["nps"].strong_pct, Some(15.0));
    assert_eq!(config.owners["tickets_opened"], "Marco (Customer Success)");
    assert!(
        config
            .drivers
            .iter()
            .any(|d| d.kpi == "new_customers" && d.driver == "cac")
    );
    assert_eq!(
        Config::path_beside(Path::new("sample.db")),
        Path::new("kpi.toml")
    );
}
