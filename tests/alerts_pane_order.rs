//! The Alerts pane lists bad news first (issue 13): good news is shown, marked, and does
//! not push a problem down the list, whatever its tier.
#![allow(clippy::unwrap_used)]

use kpi::alerts::Tier;
use kpi::ui::fixture;

#[test]
fn the_alerts_pane_lists_bad_news_before_strong_good_news() {
    let mut snapshot = fixture::snapshot();
    let mut good = snapshot.alerts[0].clone();
    good.key = "signups|total|week|2026-W46".into();
    good.good = true;
    good.tier = Tier::Strong;
    let mut bad = snapshot.alerts[0].clone();
    bad.key = "csat|total|week|2026-W46".into();
    bad.good = false;
    bad.tier = Tier::Mild;
    bad.acknowledged = false;
    snapshot.alerts = vec![good, bad];
    let app = fixture::app(snapshot);
    let order: Vec<&str> = app.alert_order().iter().map(|a| a.key.as_str()).collect();
    assert_eq!(
        order,
        ["csat|total|week|2026-W46", "signups|total|week|2026-W46"]
    );
}
