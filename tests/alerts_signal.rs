//! The signal policy (`alerts::signal`) through `alerts::evaluate_with` over crafted
//! weekly series: the noise guard, the volume guard on totals, segments folded into their
//! total or alerting as hidden movement, ratio segments weighed by their records, and
//! derived metrics deferring to their source. Each rule is also shown switched off.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use kpi::alerts::{self, Evaluation, Tier};
use kpi::config::{Config, Thresholds};
use kpi::metrics::{
    Direction, Grain, MetricDef, MetricError, Period, Point, Segment, Series, SeriesRequest, Unit,
};
use kpi::store::Store;

/// Sunday: 2026-W46 is complete and compared.
const AS_OF: &str = "2026-11-15";

fn d(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

fn metric(
    id: &'static str,
    unit: Unit,
    sources: &'static [&'static str],
    segments: &'static [&'static str],
) -> MetricDef {
    // Defined as the built-in metric of the same id, shown with these fields.
    kpi::metrics::catalog::def(
        id,
        id,
        unit,
        Direction::HigherIsBetter,
        "",
        sources,
        segments,
    )
}

fn catalog() -> Vec<MetricDef> {
    vec![
        metric("net_revenue", Unit::Currency, &["orders"], &["channel"]),
        metric("orders", Unit::Count, &["orders"], &["channel"]),
        metric("aov", Unit::Currency, &["orders"], &["channel"]),
        metric("csat_pct", Unit::Percent, &["surveys"], &["channel"]),
        metric("mrr", Unit::Currency, &["subscriptions"], &[]),
        metric("arr", Unit::Currency, &["subscriptions"], &[]),
    ]
}

fn channel(value: &str) -> Option<Segment> {
    Some(Segment {
        dimension: "channel".into(),
        value: value.into(),
    })
}

/// Weekly values by (metric, segment); the last value is 2026-W46's, the ones before it
/// the weeks before.
#[derive(Default)]
struct Data(BTreeMap<(String, Option<Segment>), Vec<f64>>);

impl Data {
    fn set(&mut self, metric: &str, segment: Option<Segment>, values: Vec<f64>) -> &mut Self {
        self.0.insert((metric.into(), segment), values);
        self
    }

    /// `history` repeated for 16 weeks, then `latest` in W46.
    fn flat(
        &mut self,
        metric: &str,
        segment: Option<Segment>,
        history: f64,
        latest: f64,
    ) -> &mut Self {
        let mut values = vec![history; 16];
        values.push(latest);
        self.set(metric, segment, values)
    }

    fn compute(&self, request: &SeriesRequest<'_>) -> Vec<Series> {
        self.compute_at(Grain::Week, request)
    }

    /// The values as a series of `grain` (ending with the period holding `AS_OF`).
    fn compute_at(&self, grain: Grain, request: &SeriesRequest<'_>) -> Vec<Series> {
        if request.grain != grain {
            return Vec::new();
        }
        let last = Period::containing(grain, d(AS_OF));
        self.0
            .iter()
            .filter(|((metric, segment), _)| {
                metric == request.metric
                    && segment.as_ref().map(|s| s.dimension.as_str()) == request.by
            })
            .map(|((metric, segment), values)| {
                let periods = last.trailing(values.len());
                Series {
                    metric: metric.clone(),
                    segment: segment.clone(),
                    grain,
                    points: periods
                        .iter()
                        .zip(values)
                        .filter(|(p, _)| p.end() >= request.from && p.start <= request.to)
                        .map(|(period, value)| Point {
                            period: *period,
                            value: Some(*value),
                            note: None,
                            partial: false,
                        })
                        .collect(),
                }
            })
            .collect()
    }
}

/// A clock well past `AS_OF`, so its day is complete.
fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-16T02:00:00Z")
        .unwrap()
        .to_utc()
}

fn evaluate(config: &Config, data: &Data) -> Evaluation {
    let store = Store::open_in_memory().unwrap();
    alerts::evaluate_with(
        &store,
        config,
        d(AS_OF),
        &catalog(),
        now(),
        &mut |request| Ok::<_, MetricError>(data.compute(request)),
    )
    .unwrap()
}

fn keys(e: &Evaluation) -> Vec<&str> {
    let mut keys: Vec<&str> = e.alerts.iter().map(|a| a.key.as_str()).collect();
    keys.sort_unstable();
    keys
}

fn config(edit: impl FnOnce(&mut Config)) -> Config {
    let mut config = Config::default();
    edit(&mut config);
    config
}

#[test]
fn a_move_inside_the_metrics_own_swings_is_noise() {
    // MRR swings 90 000 / 110 000 week on week; past deviations from the 3-week mean
    // are ±13 333: median 0, median absolute deviation 13 333, a robust spread of
    // 1.4826 × 13 333 ≈ 19 768.
    let mut swings: Vec<f64> = (0..16)
        .map(|i| if i % 2 == 0 { 90_000.0 } else { 110_000.0 })
        .collect();
    swings.push(120_000.0); // +16 % over the mean of 103 333: strong by the tiers alone
    let mut data = Data::default();
    data.set("mrr", None, swings.clone());
    assert!(keys(&evaluate(&Config::default(), &data)).is_empty());
    // With the guard off, the tiers alone decide.
    let e = evaluate(&config(|c| c.alerts.noise_k = 0.0), &data);
    assert_eq!(keys(&e), ["mrr|total|week|2026-W46"]);
    assert_eq!(e.alerts[0].tier, Tier::Strong);
    // Twice the spread is about 39 500: a jump to 135 000 (+31 667) is still inside
    // the swings, one to 145 000 (+41 667) stands out.
    *swings.last_mut().unwrap() = 135_000.0;
    data.set("mrr", None, swings.clone());
    assert!(keys(&evaluate(&Config::default(), &data)).is_empty());
    *swings.last_mut().unwrap() = 145_000.0;
    data.set("mrr", None, swings);
    assert_eq!(
        keys(&evaluate(&Config::default(), &data)),
        ["mrr|total|week|2026-W46"]
    );
}

#[test]
fn a_small_total_is_guarded_like_a_small_segment() {
    // Net revenue jumps 50 % on 20 orders a week.
    let mut data = Data::default();
    data.flat("net_revenue", None, 1_000.0, 1_500.0)
        .flat("orders", None, 20.0, 20.0);
    assert!(keys(&evaluate(&Config::default(), &data)).is_empty());
    let e = evaluate(&config(|c| c.alerts.min_volume = 20), &data);
    assert_eq!(keys(&e), ["net_revenue|total|week|2026-W46"]);
}

/// Net revenue by channel: the total barely moves (−1.7 %) because paid search's fall
/// (−6 000) is offset by organic's rise (+6 000); email, 40 orders a week, halves.
fn hidden_movement() -> Data {
    let mut data = Data::default();
    data.flat("net_revenue", None, 30_000.0, 29_500.0)
        .flat("net_revenue", channel("paid_search"), 10_000.0, 4_000.0)
        .flat("net_revenue", channel("organic"), 19_000.0, 25_000.0)
        .flat("net_revenue", channel("email"), 1_000.0, 500.0)
        .flat("orders", None, 440.0, 440.0)
        .flat("orders", channel("paid_search"), 100.0, 100.0)
        .flat("orders", channel("organic"), 300.0, 300.0)
        .flat("orders", channel("email"), 40.0, 40.0);
    data
}

#[test]
fn a_quiet_total_still_alerts_on_a_segment_that_alone_would_move_it() {
    let e = evaluate(&Config::default(), &hidden_movement());
    // Paid search alone moved the total 20 %; organic 20 % the other way. Email's −500
    // is 1.7 % of the total: real for email, immaterial for the business.
    assert_eq!(
        keys(&e),
        [
            "net_revenue|channel=organic|week|2026-W46",
            "net_revenue|channel=paid_search|week|2026-W46",
        ]
    );
    let paid = e
        .alerts
        .iter()
        .find(|a| a.segment == channel("paid_search"))
        .unwrap();
    assert_eq!((paid.tier, paid.good), (Tier::Strong, false));
    assert!((paid.change_pct - -60.0).abs() < 1e-9);
    // Switched off, every segment past its tier and the volume guard alerts.
    let e = evaluate(
        &config(|c| c.alerts.material_segments_only = false),
        &hidden_movement(),
    );
    assert!(
        keys(&e).contains(&"net_revenue|channel=email|week|2026-W46"),
        "{:?}",
        keys(&e)
    );
}

#[test]
fn at_day_grain_a_segment_only_explains_an_alerting_total() {
    let store = Store::open_in_memory().unwrap();
    let data = hidden_movement();
    let e = alerts::evaluate_with(
        &store,
        &Config::default(),
        d(AS_OF),
        &catalog(),
        now(),
        &mut |r| Ok::<_, MetricError>(data.compute_at(Grain::Day, r)),
    )
    .unwrap();
    // The same hidden movement that alerts at week grain (above) pages nobody for a day.
    assert_eq!(keys(&e), Vec::<&str>::new());
}

#[test]
fn an_alerting_total_folds_its_segments_into_contributors() {
    let mut data = Data::default();
    data.flat("net_revenue", None, 30_000.0, 24_000.0)
        .flat("net_revenue", channel("paid_search"), 10_000.0, 4_000.0)
        .flat("net_revenue", channel("organic"), 20_000.0, 20_000.0)
        .flat("orders", None, 400.0, 400.0)
        .flat("orders", channel("paid_search"), 100.0, 100.0)
        .flat("orders", channel("organic"), 300.0, 300.0);
    let e = evaluate(&Config::default(), &data);
    assert_eq!(keys(&e), ["net_revenue|total|week|2026-W46"]);
    let total = &e.alerts[0];
    assert_eq!(
        total.contributors[0].segment,
        channel("paid_search").unwrap()
    );
    assert_eq!(total.contributors[0].share_pct, 100.0);
    let e = evaluate(&config(|c| c.alerts.fold_segments = false), &data);
    assert_eq!(
        keys(&e),
        [
            "net_revenue|channel=paid_search|week|2026-W46",
            "net_revenue|total|week|2026-W46",
        ]
    );
}

#[test]
fn ratio_segments_weigh_by_their_records_or_not_at_all() {
    let mut data = Data::default();
    // AOV: paid search (100 of 440 orders) falls 50 → 30, moving the total's AOV by about
    // −9 %; email (40 of 440) falls 50 → 40, about −1.8 % of the total. The total holds.
    data.flat("aov", None, 50.0, 50.0)
        .flat("aov", channel("paid_search"), 50.0, 30.0)
        .flat("aov", channel("organic"), 50.0, 50.0)
        .flat("aov", channel("email"), 50.0, 40.0)
        .flat("orders", None, 440.0, 440.0)
        .flat("orders", channel("paid_search"), 100.0, 100.0)
        .flat("orders", channel("organic"), 300.0, 300.0)
        .flat("orders", channel("email"), 40.0, 40.0)
        // CSAT has no count of answers to weigh channels by.
        .flat("csat_pct", None, 80.0, 80.0)
        .flat("csat_pct", channel("paid_search"), 80.0, 50.0)
        .flat("csat_pct", channel("organic"), 80.0, 85.0);
    let e = evaluate(&Config::default(), &data);
    assert_eq!(keys(&e), ["aov|channel=paid_search|week|2026-W46"]);
    let e = evaluate(&config(|c| c.alerts.material_segments_only = false), &data);
    assert_eq!(
        keys(&e),
        [
            "aov|channel=email|week|2026-W46",
            "aov|channel=paid_search|week|2026-W46",
            "csat_pct|channel=organic|week|2026-W46",
            "csat_pct|channel=paid_search|week|2026-W46",
        ]
    );
}

#[test]
fn a_derived_metric_defers_to_its_source() {
    let mut data = Data::default();
    data.flat("mrr", None, 70_000.0, 80_000.0)
        .flat("arr", None, 840_000.0, 960_000.0)
        .flat("orders", None, 400.0, 500.0)
        .flat("net_revenue", None, 20_000.0, 25_000.0);
    // ARR = 12 × MRR is built in; orders are tied to net revenue by configuration.
    let mut config = Config::default();
    config.alerts.metrics.insert(
        "orders".into(),
        Thresholds {
            mild_pct: None,
            strong_pct: None,
            min_volume: None,
            noise_k: None,
            derived_from: Some("net_revenue".into()),
        },
    );
    assert_eq!(
        keys(&evaluate(&config, &data)),
        ["mrr|total|week|2026-W46", "net_revenue|total|week|2026-W46"]
    );
    // The derived metric still alerts when its source is quiet.
    data.flat("net_revenue", None, 20_000.0, 20_200.0);
    assert_eq!(
        keys(&evaluate(&config, &data)),
        ["mrr|total|week|2026-W46", "orders|total|week|2026-W46"]
    );
    // Without the relation both speak.
    data.flat("net_revenue", None, 20_000.0, 25_000.0);
    assert_eq!(keys(&evaluate(&Config::default(), &data)).len(), 3);
}

#[test]
fn signal_settings_parse_and_bad_ones_name_their_key() {
    let path = std::path::Path::new("kpi.toml");
    let c = Config::parse(
        "[alerts]\nnoise_k = 2.5\nday_noise_k = 4\nnoise_window = 8\nfold_segments = false\n\
         material_segments_only = false\n[alerts.metrics.arr]\nderived_from = \"mrr\"\nnoise_k = 0\n",
        path,
    )
    .unwrap();
    assert_eq!(c.alerts.noise_k, 2.5);
    assert_eq!(c.alerts.day_noise_k, 4.0);
    assert_eq!(c.alerts.noise_window, 8);
    assert!(!c.alerts.fold_segments && !c.alerts.material_segments_only);
    assert_eq!(c.alerts.metrics["arr"].derived_from.as_deref(), Some("mrr"));
    let err = Config::parse("[alerts]\nnoise_k = -1\n", path)
        .unwrap_err()
        .to_string();
    assert!(err.contains("line 2, alerts.noise_k"), "{err}");
    let err = Config::parse("[alerts.metrics.nps]\nnoise_k = -1\n", path)
        .unwrap_err()
        .to_string();
    assert!(err.contains("alerts.metrics.nps.noise_k"), "{err}");
}

#[test]
fn contributions_of_a_ratio_metric_sum_to_100_percent() {
    // AOV 60 → 45: referral's baskets fall from 80 to 60 while its orders halve, and
    // organic (baskets of 40) takes three quarters of the orders. Each channel's own
    // change (−20 and 0) says nothing of the mix; split into rate and mix effects they
    // add up to the total's −15.
    let mut data = Data::default();
    data.flat("aov", None, 60.0, 45.0)
        .flat("aov", channel("referral"), 80.0, 60.0)
        .flat("aov", channel("organic"), 40.0, 40.0)
        .flat("orders", None, 200.0, 200.0)
        .flat("orders", channel("referral"), 100.0, 50.0)
        .flat("orders", channel("organic"), 100.0, 150.0);
    let e = evaluate(&Config::default(), &data);
    let total = e
        .alerts
        .iter()
        .find(|a| a.key == "aov|total|week|2026-W46")
        .unwrap();
    let shares: Vec<f64> = total.contributors.iter().map(|c| c.share_pct).collect();
    assert!(
        (shares.iter().sum::<f64>() - 100.0).abs() < 1e-9,
        "{shares:?}"
    );
    assert!(
        shares.iter().all(|s| (0.0..=100.0).contains(s)),
        "{shares:?}"
    );
    let referral = &total.contributors[0];
    assert_eq!(referral.segment, channel("referral").unwrap());
    let split = referral.rate_mix.unwrap();
    assert!((split.rate - -7.5).abs() < 1e-9, "{split:?}");
    assert!((split.rate + split.mix - referral.change).abs() < 1e-9);
    let line = alerts::render::alert_line(total, "USD");
    assert!(
        line.contains("drivers: channel referral 79 % (rate 50 %, mix 29 %)"),
        "{line}"
    );
}

#[test]
fn a_material_share_outside_0_to_100_is_an_error_naming_its_key() {
    let path = std::path::Path::new("kpi.toml");
    let c = Config::parse("[alerts]\nmaterial_share_pct = 35\n", path).unwrap();
    assert_eq!(c.alerts.material_share_pct, 35.0);
    assert_eq!(Config::default().alerts.material_share_pct, 20.0);
    let err = Config::parse("[alerts]\nmaterial_share_pct = 120\n", path)
        .unwrap_err()
        .to_string();
    assert!(err.contains("line 2, alerts.material_share_pct"), "{err}");
}
