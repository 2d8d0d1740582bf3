//! `alerts::evaluate_with` over crafted weekly series: which period is compared, segment
//! alerts and the volume guard, contributions, direction labels, pulse, targets, and
//! alert state surviving a reopen (issue 6).
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use kpi::alerts::{self, Alert, AlertKind, Evaluation, Pulse, Tier};
use kpi::config::Config;
use kpi::metrics::{
    Direction, Grain, MetricDef, MetricError, Period, Point, Segment, Series, SeriesRequest, Unit,
};
use kpi::store::Store;

fn d(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().to_utc()
}

/// Wednesday: 2026-W47 is partial, so 2026-W46 is the latest complete week.
const AS_OF: &str = "2026-11-18";

/// Weekly values from 2026-W40 (Monday 2026-09-28) to 2026-W47, the last one partial.
type Weeks = [Option<f64>; 8];

fn weeks(values: [f64; 8]) -> Weeks {
    values.map(Some)
}

fn metric(
    id: &'static str,
    unit: Unit,
    direction: Direction,
    sources: &'static [&'static str],
    segments: &'static [&'static str],
) -> MetricDef {
    // Defined as the built-in metric of the same id, shown with these fields.
    kpi::metrics::catalog::def(id, id, unit, direction, "", sources, segments)
}

fn catalog() -> Vec<MetricDef> {
    use Direction::{HigherIsBetter as Up, LowerIsBetter as Down};
    vec![
        metric(
            "net_revenue",
            Unit::Currency,
            Up,
            &["orders", "refunds"],
            &["channel"],
        ),
        metric("orders", Unit::Count, Up, &["orders"], &["channel"]),
        metric(
            "customer_churn_pct",
            Unit::Percent,
            Down,
            &["subscriptions"],
            &[],
        ),
        metric("nps", Unit::Score, Up, &["surveys"], &[]),
        metric("stickiness_pct", Unit::Percent, Up, &["events"], &[]),
    ]
}

/// Crafted weekly data by (metric, segment).
#[derive(Clone, Default)]
struct Data(BTreeMap<(String, Option<Segment>), Weeks>);

fn channel(value: &str) -> Option<Segment> {
    Some(Segment {
        dimension: "channel".into(),
        value: value.into(),
    })
}

impl Data {
    fn set(&mut self, metric: &str, segment: Option<Segment>, values: Weeks) -> &mut Self {
        self.0.insert((metric.into(), segment), values);
        self
    }

    /// The launch week of issue 6: paid search net revenue falls 35 % in 2026-W46; the
    /// tiny email channel (3 orders a week) falls 67 %; paid search orders dip 5 %; churn
    /// rises; NPS rises.
    fn issue_6() -> Self {
        let mut data = Data::default();
        let paid = [
            20_000.0, 20_000.0, 20_000.0, 20_000.0, 20_000.0, 20_000.0, 13_000.0, 1.0,
        ];
        let organic = [20_000.0; 8];
        let email = [300.0, 300.0, 300.0, 300.0, 300.0, 300.0, 100.0, 1.0];
        let total: Vec<f64> = (0..8).map(|i| paid[i] + organic[i] + email[i]).collect();
        data.set("net_revenue", None, weeks(total.try_into().unwrap()))
            .set("net_revenue", channel("paid_search"), weeks(paid))
            .set("net_revenue", channel("organic"), weeks(organic))
            .set("net_revenue", channel("email"), weeks(email))
            .set(
                "orders",
                None,
                weeks([403.0, 403.0, 403.0, 403.0, 403.0, 403.0, 393.0, 403.0]),
            )
            .set(
                "orders",
                channel("paid_search"),
                weeks([200.0, 200.0, 200.0, 200.0, 200.0, 200.0, 190.0, 200.0]),
            )
            .set("orders", channel("organic"), weeks([200.0; 8]))
            .set("orders", channel("email"), weeks([3.0; 8]))
            .set(
                "customer_churn_pct",
                None,
                weeks([4.0, 4.0, 4.0, 4.0, 4.0, 4.0, 4.6, 9.0]),
            )
            .set(
                "nps",
                None,
                weeks([30.0, 30.0, 30.0, 30.0, 30.0, 30.0, 33.0, 80.0]),
            )
            .set(
                "stickiness_pct",
                None,
                [
                    None,
                    None,
                    None,
                    None,
                    None,
                    Some(20.0),
                    Some(30.0),
                    Some(30.0),
                ],
            );
        data
    }

    /// What `metrics::compute` would return for `request` (week grain only).
    fn compute(&self, as_of: NaiveDate, request: &SeriesRequest<'_>) -> Vec<Series> {
        if request.grain != Grain::Week {
            return Vec::new();
        }
        let first_week = Period::containing(Grain::Week, d("2026-09-28"));
        let mut periods = Vec::new();
        let mut p = Period::containing(Grain::Week, request.from);
        while p.start <= request.to {
            periods.push(p);
            p = p.next();
        }
        self.0
            .iter()
            .filter(|((metric, segment), _)| {
                metric == request.metric
                    && segment.as_ref().map(|s| s.dimension.as_str()) == request.by
            })
            .map(|((metric, segment), values)| Series {
                metric: metric.clone(),
                segment: segment.clone(),
                grain: Grain::Week,
                points: periods
                    .iter()
                    .map(|period| {
                        let index = (period.start - first_week.start).num_days() / 7;
                        Point {
                            period: *period,
                            value: usize::try_from(index)
                                .ok()
                                .and_then(|i| values.get(i).copied().flatten()),
                            note: None,
                            partial: period.contains(as_of) && period.end() != as_of,
                        }
                    })
                    .collect(),
            })
            .collect()
    }
}

/// Evaluates, then records the sightings at `now` as the cockpit's worker does.
fn evaluate(store: &Store, config: &Config, data: &Data, as_of: &str, now: &str) -> Evaluation {
    let as_of = d(as_of);
    let mut evaluation =
        alerts::evaluate_with(store, config, as_of, &catalog(), at(now), &mut |request| {
            Ok::<_, MetricError>(data.compute(as_of, request))
        })
        .unwrap();
    alerts::record_sightings(store, as_of, at(now), &mut evaluation).unwrap();
    evaluation
}

fn find<'a>(evaluation: &'a Evaluation, key: &str) -> Option<&'a Alert> {
    evaluation.alerts.iter().find(|a| a.key == key)
}

fn issue_6_config() -> Config {
    let mut config = Config::default();
    config.owners.insert("net_revenue".into(), "Dana".into());
    config
}

/// `issue_6_config` with every segment that crosses a tier alerting on its own, as
/// before the signal policy folded segments into their total (`alerts::signal`).
fn every_segment_config() -> Config {
    let mut config = issue_6_config();
    config.alerts.fold_segments = false;
    config.alerts.material_segments_only = false;
    config
}

#[test]
fn the_paid_search_drop_alerts_strong_with_owner_drivers_and_follow_up() {
    let store = Store::open_in_memory().unwrap();
    // By default the total alerts and paid search is its leading contributor, not a
    // second alert telling the same story.
    let folded = evaluate(
        &store,
        &issue_6_config(),
        &Data::issue_6(),
        AS_OF,
        "2026-11-19T01:00:00Z",
    );
    assert!(find(&folded, "net_revenue|channel=paid_search|week|2026-W46").is_none());
    let total = find(&folded, "net_revenue|total|week|2026-W46").expect("total alert");
    assert_eq!(
        total.contributors[0].segment,
        channel("paid_search").unwrap()
    );

    let e = evaluate(
        &store,
        &every_segment_config(),
        &Data::issue_6(),
        AS_OF,
        "2026-11-19T02:00:00Z",
    );

    let paid =
        find(&e, "net_revenue|channel=paid_search|week|2026-W46").expect("paid search alert");
    assert_eq!(paid.tier, Tier::Strong);
    assert_eq!(paid.value, 13_000.0);
    assert_eq!(paid.rolling_mean, 20_000.0);
    assert!((paid.change_pct - -35.0).abs() < 1e-9);
    assert!(!paid.good);
    assert_eq!(paid.owner.as_deref(), Some("Dana"));
    assert!(
        paid.follow_up.contains("channel paid_search"),
        "{}",
        paid.follow_up
    );
    // Paid search lost 7 000 of the total's 7 200.
    assert!((paid.share_of_total_pct.unwrap() - 7_000.0 / 7_200.0 * 100.0).abs() < 1e-9);
    assert!(alerts::render::alert_line(paid, "USD").contains("97 % of the total's move"));

    // The total: 40 300 → 33 100, −17.9 %; paid search explains 7 000 of the 7 200.
    let total = find(&e, "net_revenue|total|week|2026-W46").expect("total alert");
    assert_eq!(total.tier, Tier::Strong);
    assert_eq!(
        total.contributors[0].segment,
        channel("paid_search").unwrap()
    );
    assert!((total.contributors[0].share_pct - 7_000.0 / 7_200.0 * 100.0).abs() < 1e-9);
    let change_sum: f64 = total.contributors.iter().map(|c| c.change).sum();
    assert!((change_sum - (total.value - total.rolling_mean)).abs() < 1e-9);

    // The line `kpi check` prints for it.
    let line = alerts::render::alert_line(total, "USD");
    assert!(
        line.starts_with(
            "‼ net_revenue · week of Mon 9 Nov 2026 · $33,100 vs $40,300 average \
             (▼ -17.9%, bad) · drivers: channel paid_search 97 %, channel email 3 % · owner: Dana · \
             next: "
        ),
        "{line}"
    );
    // Names, not ids: the key is the alert's identity in JSON, not part of the sentence.
    assert!(!line.contains("net_revenue|total"), "{line}");
    // The next step on the total points at the channel behind 97 % of the move.
    assert!(
        total.follow_up.contains("channel paid_search"),
        "{}",
        total.follow_up
    );

    // Three orders a week do not page anyone, however far email revenue fell.
    assert!(find(&e, "net_revenue|channel=email|week|2026-W46").is_none());
    // Bad news first, strong before mild.
    assert_eq!(e.alerts[0].tier, Tier::Strong);
    assert!(!e.alerts[0].good);
    let exit = alerts::exit_code(&e.open_alerts(d(AS_OF)), alerts::FailOn::Bad);
    assert_eq!(exit, 2);
}

#[test]
fn only_the_latest_complete_period_is_compared() {
    let store = Store::open_in_memory().unwrap();
    let e = evaluate(
        &store,
        &Config::default(),
        &Data::issue_6(),
        AS_OF,
        "2026-11-19T02:00:00Z",
    );
    // The partial W47 holds wild values; none of them is compared.
    assert!(!e.alerts.is_empty());
    assert!(
        e.alerts
            .iter()
            .all(|a| a.kind == AlertKind::Target || a.period == "2026-W46")
    );
    // On Sunday W47 is complete and becomes the compared period.
    let e = evaluate(
        &store,
        &Config::default(),
        &Data::issue_6(),
        "2026-11-22",
        "2026-11-23T02:00:00Z",
    );
    assert!(e.alerts.iter().any(|a| a.period == "2026-W47"));
    assert!(e.alerts.iter().all(|a| a.period == "2026-W47"));
}

#[test]
fn direction_decides_good_and_bad() {
    let store = Store::open_in_memory().unwrap();
    let e = evaluate(
        &store,
        &Config::default(),
        &Data::issue_6(),
        AS_OF,
        "2026-11-19T02:00:00Z",
    );
    // Churn rose 15 %: strong and bad.
    let churn = find(&e, "customer_churn_pct|total|week|2026-W46").unwrap();
    assert_eq!((churn.tier, churn.good), (Tier::Strong, false));
    // NPS rose 10 %: mild and good, still reported.
    let nps = find(&e, "nps|total|week|2026-W46").unwrap();
    assert_eq!((nps.tier, nps.good), (Tier::Mild, true));
    // Falling churn is good news.
    let mut data = Data::issue_6();
    data.set(
        "customer_churn_pct",
        None,
        weeks([4.0, 4.0, 4.0, 4.0, 4.0, 4.0, 3.4, 3.0]),
    );
    let e = evaluate(
        &store,
        &Config::default(),
        &data,
        AS_OF,
        "2026-11-19T03:00:00Z",
    );
    let churn = find(&e, "customer_churn_pct|total|week|2026-W46").unwrap();
    assert_eq!((churn.tier, churn.good), (Tier::Strong, true));
}

#[test]
fn too_little_history_and_per_metric_thresholds_keep_quiet() {
    let store = Store::open_in_memory().unwrap();
    let config = Config::parse(
        "[alerts.metrics.nps]\nmild_pct = 12.0\nstrong_pct = 20.0\n",
        std::path::Path::new("kpi.toml"),
    )
    .unwrap();
    let e = evaluate(
        &store,
        &config,
        &Data::issue_6(),
        AS_OF,
        "2026-11-19T02:00:00Z",
    );
    // Stickiness has two weeks before W46, not three.
    assert!(e.alerts.iter().all(|a| a.metric != "stickiness_pct"));
    // NPS +10 % is under its own 12 % mild threshold.
    assert!(find(&e, "nps|total|week|2026-W46").is_none());
    // A global min_volume of 2 lets the email channel through (when segments are not
    // folded into their alerting total).
    let mut config = every_segment_config();
    config.alerts.min_volume = 2;
    let e = evaluate(
        &store,
        &config,
        &Data::issue_6(),
        AS_OF,
        "2026-11-19T03:00:00Z",
    );
    assert!(find(&e, "net_revenue|channel=email|week|2026-W46").is_some());
}

#[test]
fn pulse_for_every_metric_with_three_weeks() {
    let store = Store::open_in_memory().unwrap();
    let e = evaluate(
        &store,
        &Config::default(),
        &Data::issue_6(),
        AS_OF,
        "2026-11-19T02:00:00Z",
    );
    let pulse = |id: &str| e.pulses.iter().find(|(m, _)| m == id).map(|(_, p)| *p);
    assert_eq!(pulse("net_revenue"), Some(Pulse::Deteriorating));
    // 403, 403, 393: flat, then down 2.5 %.
    assert_eq!(pulse("orders"), Some(Pulse::Deteriorating));
    assert_eq!(pulse("customer_churn_pct"), Some(Pulse::Deteriorating));
    assert_eq!(pulse("nps"), Some(Pulse::Improving));
    // 20 → 30 over two weeks, but the week before has no value.
    assert_eq!(pulse("stickiness_pct"), None);
}

#[test]
fn a_target_whose_pace_misses_is_an_alert() {
    let store = Store::open_in_memory().unwrap();
    let mut config: Config = Config::parse(
        r#"
[[targets]]
metric = "nps"
value = 40
by = "2026-12-31"
grain = "week"
"#,
        std::path::Path::new("kpi.toml"),
    )
    .unwrap();
    let e = evaluate(
        &store,
        &config,
        &Data::issue_6(),
        AS_OF,
        "2026-11-19T02:00:00Z",
    );
    let status = &e.targets[0];
    assert_eq!(status.current, Some(33.0));
    assert!(status.projected.unwrap() < 40.0);
    assert!(status.at_risk);
    let alert = find(&e, "nps|target|week|2026-12-31").expect("target alert");
    assert_eq!(alert.kind, AlertKind::Target);
    assert_eq!(alert.tier, Tier::Mild);
    // A milestone already missed makes it strong.
    config.targets[0].milestones.push(kpi::config::Milestone {
        date: d("2026-10-31"),
        value: 35.0,
    });
    let e = evaluate(
        &store,
        &config,
        &Data::issue_6(),
        AS_OF,
        "2026-11-19T03:00:00Z",
    );
    assert_eq!(
        find(&e, "nps|target|week|2026-12-31").unwrap().tier,
        Tier::Strong
    );
    // A target on pace raises nothing, and an unknown metric says so.
    config.targets[0].value = 31.0;
    config.targets[0].milestones.clear();
    config.targets.push(kpi::config::Target {
        metric: "nsp".into(),
        value: 1.0,
        by: d("2026-12-31"),
        milestones: Vec::new(),
        grain: None,
        start: None,
    });
    let e = evaluate(
        &store,
        &config,
        &Data::issue_6(),
        AS_OF,
        "2026-11-19T04:00:00Z",
    );
    assert!(!e.targets[0].at_risk);
    assert!(e.alerts.iter().all(|a| a.kind != AlertKind::Target));
    assert_eq!(e.targets[1].note.as_deref(), Some("unknown metric \"nsp\""));
}

#[test]
fn acknowledgement_and_snooze_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("launch.db");
    let data = Data::issue_6();
    let total_key = "net_revenue|total|week|2026-W46";
    let nps_key = "nps|total|week|2026-W46";
    {
        let store = Store::open(&path).unwrap();
        let e = evaluate(
            &store,
            &every_segment_config(),
            &data,
            AS_OF,
            "2026-11-19T02:00:00Z",
        );
        assert!(e.open_alerts(d(AS_OF)).iter().any(|a| a.key == total_key));
        store
            .acknowledge_alert(total_key, at("2026-11-19T08:00:00Z"))
            .unwrap();
        store
            .snooze_alert(
                nps_key,
                alerts::snooze_until(d(AS_OF)),
                at("2026-11-19T08:01:00Z"),
            )
            .unwrap();
    }
    let store = Store::open(&path).unwrap();
    let e = evaluate(
        &store,
        &every_segment_config(),
        &data,
        AS_OF,
        "2026-11-19T09:00:00Z",
    );
    let total = find(&e, total_key).unwrap();
    assert!(total.acknowledged);
    assert_eq!(total.first_seen.as_deref(), Some("2026-11-19T02:00:00Z"));
    assert_eq!(total.last_seen.as_deref(), Some("2026-11-19T09:00:00Z"));
    assert_eq!(
        find(&e, nps_key).unwrap().snoozed_until,
        Some(d("2026-11-25"))
    );
    let open = e.open_alerts(d(AS_OF));
    assert!(open.iter().all(|a| a.key != total_key && a.key != nps_key));
    // Paid search is still open and strong.
    assert_eq!(alerts::exit_code(&open, alerts::FailOn::Bad), 2);
    for alert in open.iter().filter(|a| a.tier == Tier::Strong) {
        store
            .acknowledge_alert(&alert.key, at("2026-11-19T09:05:00Z"))
            .unwrap();
    }
    let e = evaluate(
        &store,
        &every_segment_config(),
        &data,
        AS_OF,
        "2026-11-19T09:10:00Z",
    );
    let open: Vec<String> = e.open_alerts(d(AS_OF)).into_iter().map(|a| a.key).collect();
    // Left open: the 5 % dip in paid search orders, mild.
    assert_eq!(open, ["orders|channel=paid_search|week|2026-W46"]);
    assert_eq!(
        alerts::exit_code(&e.open_alerts(d(AS_OF)), alerts::FailOn::Bad),
        1
    );
}

#[test]
fn an_alert_that_clears_and_returns_is_a_new_occurrence() {
    let store = Store::open_in_memory().unwrap();
    let key = "customer_churn_pct|total|week|2026-W46";
    let spike = Data::issue_6();
    let mut calm = Data::issue_6();
    calm.set("customer_churn_pct", None, weeks([4.0; 8]));

    let e = evaluate(
        &store,
        &Config::default(),
        &spike,
        AS_OF,
        "2026-11-19T01:00:00Z",
    );
    assert_eq!(find(&e, key).unwrap().occurrence, 1);
    store
        .acknowledge_alert(key, at("2026-11-19T02:00:00Z"))
        .unwrap();
    let e = evaluate(
        &store,
        &Config::default(),
        &spike,
        AS_OF,
        "2026-11-19T03:00:00Z",
    );
    assert_eq!(find(&e, key).unwrap().occurrence, 1);
    assert!(find(&e, key).unwrap().acknowledged);
    // A corrected import clears it…
    let e = evaluate(
        &store,
        &Config::default(),
        &calm,
        AS_OF,
        "2026-11-19T04:00:00Z",
    );
    assert!(find(&e, key).is_none());
    // …and a later one brings it back: a new occurrence, open again.
    let e = evaluate(
        &store,
        &Config::default(),
        &spike,
        AS_OF,
        "2026-11-19T05:00:00Z",
    );
    let back = find(&e, key).unwrap();
    assert_eq!(back.occurrence, 2);
    assert!(!back.acknowledged);
    assert!(back.is_open(d(AS_OF)));
    assert_eq!(back.first_seen.as_deref(), Some("2026-11-19T01:00:00Z"));
}
