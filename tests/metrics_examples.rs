//! Every worked example of SPEC §3 (from the seeds) and the boundaries of the metric
//! definitions, against hand-computed fixtures.
#![allow(clippy::unwrap_used)]

mod metric_fixture;

use kpi::metrics::Grain::{self, Day, Month, Week};
use metric_fixture::{Fixture, close};

#[test]
fn cac_is_spend_over_new_customers_10000_over_100() {
    let mut f = Fixture::new();
    f.sql(
        "INSERT INTO spend (date, channel, amount) VALUES ('2025-06-03', 'ads', 600000), ('2025-06-20', 'social', 400000);
         WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100)
         INSERT INTO customers (customer_id, signup_date, channel)
         SELECT 'c' || i, '2025-06-15', CASE WHEN i <= 60 THEN 'ads' ELSE 'social' END FROM n;",
    );
    f.refresh();
    assert_eq!(f.value("cac", Month, "2025-06", "2025-06-30"), 100.0);
    assert_eq!(
        f.value("new_customers", Month, "2025-06", "2025-06-30"),
        100.0
    );
    // Per channel: 6 000 ÷ 60 and 4 000 ÷ 40.
    let by = kpi::metrics::compute(
        &f.store,
        &f.config,
        metric_fixture::d("2025-06-30"),
        &kpi::metrics::SeriesRequest {
            metric: "cac",
            grain: Month,
            from: metric_fixture::d("2025-06-01"),
            to: metric_fixture::d("2025-06-30"),
            by: Some("channel"),
        },
    )
    .unwrap();
    let values: Vec<_> = by
        .iter()
        .map(|s| (s.segment.clone().unwrap().value, s.points[0].value))
        .collect();
    assert_eq!(
        values,
        [("ads".into(), Some(100.0)), ("social".into(), Some(100.0))]
    );
}

#[test]
fn conversion_rate_is_50_of_1000_visitors() {
    let mut f = Fixture::new();
    f.sql(
        "INSERT INTO funnel (date, channel, visitors, leads, conversions)
         VALUES ('2025-06-01', 'web', 600, 100, 30), ('2025-06-02', 'web', 400, 60, 20);",
    );
    f.refresh();
    assert_eq!(
        f.value("conversion_rate_pct", Month, "2025-06", "2025-06-30"),
        5.0
    );
    assert_eq!(
        f.value("lead_conversion_pct", Month, "2025-06", "2025-06-30"),
        50.0 / 160.0 * 100.0
    );
}

#[test]
fn mrr_is_100_subscriptions_at_50() {
    let mut f = Fixture::new();
    f.sql(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100)
         INSERT INTO subscriptions (subscription_id, customer_id, mrr, start_date)
         SELECT 's' || i, 'c' || i, 5000, '2025-05-10' FROM n;",
    );
    f.refresh();
    assert_eq!(f.value("mrr", Month, "2025-06", "2025-06-30"), 5000.0);
    assert_eq!(f.value("arr", Month, "2025-06", "2025-06-30"), 60000.0);
    assert_eq!(f.value("arpa", Month, "2025-06", "2025-06-30"), 50.0);
    // All of it arrived in May as new MRR.
    assert_eq!(f.value("mrr_new", Month, "2025-05", "2025-06-30"), 5000.0);
    assert_eq!(f.value("mrr_new", Month, "2025-06", "2025-06-30"), 0.0);
}

#[test]
fn clv_is_100_a_month_times_24_months() {
    // 24 subscribed customers on June 1; one leaves on June 15: monthly churn 1/24, so
    // the expected lifetime is 24 months. The 23 who remain spend 2 300 in June: 100 each.
    let mut f = Fixture::new();
    f.sql(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 24)
         INSERT INTO subscriptions (subscription_id, customer_id, mrr, start_date, end_date)
         SELECT 's' || i, 'c' || i, 1000, '2025-01-01', CASE WHEN i = 24 THEN '2025-06-15' END FROM n;
         WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 23)
         INSERT INTO orders (order_id, customer_id, order_date, revenue)
         SELECT 'o' || i, 'c' || i, '2025-06-10', 10000 FROM n;",
    );
    f.refresh();
    assert!(close(
        f.value("customer_churn_pct", Month, "2025-06", "2025-06-30"),
        100.0 / 24.0
    ));
    assert!(close(
        f.value("clv", Month, "2025-06", "2025-06-30"),
        2400.0
    ));
    // May had no churn: lifetime is unknown, not infinite and not zero.
    let may = f.point("clv", Month, "2025-05", "2025-06-30");
    assert_eq!(may.value, None);
    assert_eq!(may.note.as_deref(), Some("n/a: no churn yet"));
}

#[test]
fn arpu_is_50000_over_1000_active_users() {
    let mut f = Fixture::new();
    f.sql(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1000)
         INSERT INTO events (event_key, user_id, ts, day, name)
         SELECT 'e' || i, 'u' || i, '2025-06-05T10:00:00Z', '2025-06-05', 'page_view' FROM n;
         INSERT INTO orders (order_id, customer_id, order_date, revenue) VALUES
           ('o1', 'u1', '2025-06-07', 4000000), ('o2', 'u2', '2025-06-08', 1200000);
         INSERT INTO refunds (refund_key, order_id, refund_date, amount) VALUES ('r1', 'o2', '2025-06-20', 200000);",
    );
    f.refresh();
    assert_eq!(
        f.value("net_revenue", Month, "2025-06", "2025-06-30"),
        50000.0
    );
    assert_eq!(f.value("arpu", Month, "2025-06", "2025-06-30"), 50.0);
}

#[test]
fn revenue_per_engagement_is_1000000_over_70000() {
    let mut f = Fixture::new();
    f.sql(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 70000)
         INSERT INTO events (event_key, user_id, ts, day, name, session_id)
         SELECT 'e' || i, 'u' || (i % 500), '2025-06-05T10:00:00Z', '2025-06-05', 'session_start', 's' || i FROM n;
         INSERT INTO events (event_key, user_id, ts, day, name) VALUES ('x', 'u1', '2025-06-05T10:00:00Z', '2025-06-05', 'page_view');
         INSERT INTO orders (order_id, customer_id, order_date, revenue) VALUES ('o1', 'u1', '2025-06-07', 100000000);",
    );
    f.refresh();
    let v = f.value("revenue_per_engagement", Month, "2025-06", "2025-06-30");
    assert!(close(v, 1_000_000.0 / 70_000.0));
    assert_eq!(format!("{v:.2}"), "14.29");
}

#[test]
fn repeat_purchase_rate_is_28000_of_120000_with_its_horizon() {
    let mut f = Fixture::new();
    f.sql(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 120000)
         INSERT INTO orders (order_id, customer_id, order_date, revenue)
         SELECT 'a' || i, 'c' || i, '2025-01-15', 1000 FROM n;
         WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 28000)
         INSERT INTO orders (order_id, customer_id, order_date, revenue)
         SELECT 'b' || i, 'c' || i, '2025-09-02', 1000 FROM n;
         INSERT INTO orders (order_id, customer_id, order_date, revenue, status)
         VALUES ('x', 'c120000', '2025-09-03', 1000, 'cancelled');",
    );
    f.refresh();
    let p = f.point("repeat_purchase_rate", Month, "2025-09", "2025-09-30");
    assert!(close(p.value.unwrap(), 28_000.0 / 120_000.0 * 100.0));
    assert_eq!(format!("{:.1}", p.value.unwrap()), "23.3");
    // Data begins in January: 9 months of history, not 12.
    assert_eq!(p.note.as_deref(), Some("horizon 9 months"));
}

#[test]
fn nps_counts_promoters_minus_detractors() {
    let mut f = Fixture::new();
    // 5 promoters (9, 10), 3 passives (7, 8), 2 detractors (0–6) → 50 % − 20 % = 30.
    f.sql(
        "INSERT INTO surveys (response_id, date, kind, score) VALUES
          ('1','2025-06-01','nps',10), ('2','2025-06-02','nps',9), ('3','2025-06-03','nps',9),
          ('4','2025-06-04','nps',10), ('5','2025-06-05','nps',9), ('6','2025-06-06','nps',8),
          ('7','2025-06-07','nps',7), ('8','2025-06-08','nps',7), ('9','2025-06-09','nps',6),
          ('10','2025-06-10','nps',0),
          ('c1','2025-06-01','csat',5), ('c2','2025-06-01','csat',4), ('c3','2025-06-01','csat',2),
          ('c4','2025-06-01','csat',3), ('e1','2025-06-01','ces',2), ('e2','2025-06-01','ces',5);",
    );
    f.refresh();
    assert_eq!(f.value("nps", Month, "2025-06", "2025-06-30"), 30.0);
    assert_eq!(f.value("csat_pct", Month, "2025-06", "2025-06-30"), 50.0);
    assert_eq!(f.value("csat_mean", Month, "2025-06", "2025-06-30"), 3.5);
    assert_eq!(f.value("ces", Month, "2025-06", "2025-06-30"), 3.5);
    let july = f.point("nps", Month, "2025-07", "2025-07-02");
    assert_eq!(july.note.as_deref(), Some("n/a: no nps responses"));
}

#[test]
fn cancelled_and_pending_orders_count_nowhere_and_refunds_land_in_their_own_period() {
    let mut f = Fixture::new();
    f.order("o1", "a", "2025-05-20", 100.0, "completed")
        .order("o2", "b", "2025-05-21", 50.0, "cancelled")
        .order("o3", "c", "2025-05-22", 70.0, "pending")
        .order("o4", "a", "2025-06-02", 30.0, "completed")
        .sql("INSERT INTO refunds (refund_key, order_id, refund_date, amount) VALUES ('r', 'o1', '2025-06-10', 4000);");
    f.refresh();
    let m = |id, p| f.value(id, Month, p, "2025-06-30");
    assert_eq!(m("gross_revenue", "2025-05"), 100.0);
    assert_eq!(m("orders", "2025-05"), 1.0);
    assert_eq!(m("paying_customers", "2025-05"), 1.0);
    assert_eq!(m("net_revenue", "2025-05"), 100.0);
    // The May order's refund reduces June's revenue, not its order count.
    assert_eq!(m("net_revenue", "2025-06"), -10.0);
    assert_eq!(m("orders", "2025-06"), 1.0);
    assert_eq!(m("aov", "2025-06"), 30.0);
}

#[test]
fn iso_week_53_holds_the_days_around_new_year() {
    let mut f = Fixture::new();
    f.order("o1", "a", "2020-12-27", 1.0, "completed") // Sunday of W52
        .order("o2", "a", "2020-12-28", 10.0, "completed") // Monday of W53
        .order("o3", "b", "2021-01-03", 100.0, "completed") // Sunday of W53
        .order("o4", "b", "2021-01-04", 1000.0, "completed"); // W01
    f.refresh();
    assert_eq!(
        f.value("gross_revenue", Week, "2020-W53", "2021-01-10"),
        110.0
    );
    assert_eq!(
        f.value("paying_customers", Week, "2020-W53", "2021-01-10"),
        2.0
    );
    assert_eq!(
        f.value("gross_revenue", Week, "2021-W01", "2021-01-10"),
        1000.0
    );
    assert_eq!(
        f.value("gross_revenue", Week, "2020-W52", "2021-01-10"),
        1.0
    );
}

#[test]
fn a_subscription_ending_on_the_last_day_of_a_month_churns_in_that_month() {
    let mut f = Fixture::new();
    f.sub("s1", "a", 40.0, "2025-01-10", Some("2025-06-30"))
        .sub("s2", "b", 60.0, "2025-02-01", None)
        .sub("s3", "b", 20.0, "2025-06-05", None);
    f.refresh();
    let m = |id, p| f.value(id, Month, p, "2025-07-31");
    assert_eq!(m("mrr", "2025-05"), 100.0);
    // end_date is the first day without the subscription: it is gone on June 30.
    assert_eq!(m("mrr", "2025-06"), 80.0);
    assert_eq!(m("mrr_churned", "2025-06"), 40.0);
    assert_eq!(m("mrr_expansion", "2025-06"), 20.0);
    assert_eq!(m("mrr_net_new", "2025-06"), -20.0);
    assert_eq!(m("mrr_churned", "2025-07"), 0.0);
    assert_eq!(m("revenue_churn_pct", "2025-06"), 40.0);
    assert_eq!(m("nrr_pct", "2025-06"), 80.0);
    assert_eq!(m("customer_churn_pct", "2025-06"), 50.0);
    // Daily: still active on June 29, churned on June 30.
    assert_eq!(f.value("mrr", Day, "2025-06-29", "2025-07-31"), 120.0);
    assert_eq!(
        f.value("mrr_churned", Day, "2025-06-30", "2025-07-31"),
        40.0
    );
}

#[test]
fn reactivation_is_told_apart_from_new_mrr() {
    let mut f = Fixture::new();
    f.sub("s1", "a", 30.0, "2025-01-01", Some("2025-02-15"))
        .sub("s2", "a", 50.0, "2025-04-03", None)
        .sub("s3", "b", 10.0, "2025-04-20", None);
    f.refresh();
    let m = |id| f.value(id, Month, "2025-04", "2025-04-30");
    assert_eq!(m("mrr_reactivation"), 50.0);
    assert_eq!(m("mrr_new"), 10.0);
    assert_eq!(m("mrr_net_new"), 60.0);
}

#[test]
fn events_count_on_their_local_day_across_midnight() {
    // 23:30 UTC on June 30 is July 1 in Europe/Berlin: the importer stores day = July 1.
    let mut f = Fixture::new();
    f.config.time_zone = "Europe/Berlin".into();
    f.event(
        "u1",
        "2025-06-30T23:30:00Z",
        "2025-07-01",
        "page_view",
        Some("s1"),
    )
    .event(
        "u2",
        "2025-06-30T21:30:00Z",
        "2025-06-30",
        "page_view",
        Some("s2"),
    )
    .event(
        "u2",
        "2025-06-30T21:31:00Z",
        "2025-06-30",
        "page_view",
        Some("s2"),
    );
    f.refresh();
    assert_eq!(f.value("dau", Day, "2025-07-01", "2025-07-01"), 1.0);
    assert_eq!(f.value("dau", Day, "2025-06-30", "2025-07-01"), 1.0);
    assert_eq!(f.value("mau", Month, "2025-06", "2025-07-01"), 1.0);
    assert_eq!(f.value("page_views", Month, "2025-06", "2025-07-01"), 2.0);
    // s1 bounced (one page view), s2 did not.
    assert_eq!(
        f.value("bounce_rate_pct", Day, "2025-07-01", "2025-07-01"),
        100.0
    );
    assert_eq!(
        f.value("bounce_rate_pct", Day, "2025-06-30", "2025-07-01"),
        0.0
    );
}

#[test]
fn dau_wau_mau_and_stickiness_follow_their_windows() {
    let mut f = Fixture::new();
    // u1 every day of June 2025 (30 days); u2 on June 1 only.
    f.sql(
        "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 29)
         INSERT INTO events (event_key, user_id, ts, day, name)
         SELECT 'e' || i, 'u1', date('2025-06-01', '+' || i || ' days') || 'T09:00:00Z',
                date('2025-06-01', '+' || i || ' days'), 'page_view' FROM n;
         INSERT INTO events (event_key, user_id, ts, day, name) VALUES ('x', 'u2', '2025-06-01T09:00:00Z', '2025-06-01', 'page_view');",
    );
    f.refresh();
    let june = |id| f.value(id, Month, "2025-06", "2025-06-30");
    // DAU at month grain: (2 + 29 × 1) ÷ 30 days.
    assert!(close(june("dau"), 31.0 / 30.0));
    assert_eq!(june("mau"), 2.0);
    assert!(close(june("stickiness_pct"), 31.0 / 30.0 / 2.0 * 100.0));
    // WAU at day grain: the 7 days ending June 7 include June 1, those ending June 8 do not.
    assert_eq!(f.value("wau", Day, "2025-06-07", "2025-06-30"), 2.0);
    assert_eq!(f.value("wau", Day, "2025-06-08", "2025-06-30"), 1.0);
    // MAU at day grain: the 30 days ending June 30 start on June 1.
    assert_eq!(f.value("mau", Day, "2025-06-30", "2025-06-30"), 2.0);
    // June 1, 2025 is a Sunday: it closes ISO week 22.
    assert_eq!(f.value("wau", Week, "2025-W22", "2025-06-30"), 2.0);
    assert_eq!(f.value("wau", Week, "2025-W23", "2025-06-30"), 1.0);
}

#[test]
fn an_empty_source_table_says_what_to_import_never_zero() {
    let mut f = Fixture::new();
    f.order("o1", "a", "2025-06-02", 30.0, "completed");
    f.refresh();
    for (metric, table) in [
        ("cac", "spend"),
        ("nps", "surveys"),
        ("mrr", "subscriptions"),
        ("dau", "events"),
        ("velocity", "work_items"),
        ("tickets_opened", "tickets"),
        ("conversion_rate_pct", "funnel"),
    ] {
        let p = f.point(metric, Month, "2025-06", "2025-06-30");
        assert_eq!(p.value, None, "{metric}");
        assert_eq!(p.note.unwrap(), format!("no data — import {table}"));
    }
    let margin = f.point("gross_margin_pct", Month, "2025-06", "2025-06-30");
    assert_eq!(margin.note.as_deref(), Some("no data — import costs"));
    // A period without orders is n/a, not an average order value of 0.
    let aov = f.point("aov", Month, "2025-05", "2025-06-30");
    assert_eq!(
        (aov.value, aov.note.as_deref()),
        (None, Some("n/a: no orders"))
    );
}

#[test]
fn the_period_holding_the_reference_date_is_partial_unless_it_ends_there() {
    let mut f = Fixture::new();
    f.order("o1", "a", "2025-06-20", 30.0, "completed");
    f.refresh();
    assert_eq!(
        kpi::metrics::reference_date(&f.store).unwrap(),
        Some(metric_fixture::d("2025-06-20"))
    );
    assert!(f.point("orders", Month, "2025-06", "2025-06-20").partial);
    assert!(!f.point("orders", Month, "2025-06", "2025-06-30").partial);
    assert!(!f.point("orders", Day, "2025-06-20", "2025-06-20").partial);
    assert!(
        f.point("orders", Grain::Week, "2025-W25", "2025-06-20")
            .partial
    );
}

#[test]
fn margins_delivery_and_tickets_match_hand_counts() {
    let mut f = Fixture::new();
    f.sql(
        "INSERT INTO orders (order_id, customer_id, order_date, revenue, cost, discount) VALUES
           ('o1', 'a', '2025-06-02', 100000, 20000, 0), ('o2', 'b', '2025-06-03', 100000, 10000, 50000);
         INSERT INTO costs (date, category, amount) VALUES ('2025-06-01', 'cogs', 30000), ('2025-06-01', 'opex', 50000);
         INSERT INTO work_items (item_id, kind, created_date, committed_date, delivered_date, points, found) VALUES
           ('f1', 'feature', '2025-05-01', '2025-06-10', '2025-06-08', 5, NULL),
           ('f2', 'feature', '2025-05-21', '2025-06-10', '2025-06-12', 3, NULL),
           ('b1', 'bug', '2025-06-03', '2025-06-20', NULL, 2, 'pre_release'),
           ('b2', 'bug', '2025-06-04', NULL, NULL, 1, 'production'),
           ('b3', 'bug', '2025-06-05', NULL, NULL, 1, 'pre_release');
         INSERT INTO tickets (ticket_id, opened_at, opened_day, first_response_at, resolved_at, severity) VALUES
           ('t1', '2025-06-01T10:00:00Z', '2025-06-01', '2025-06-01T12:00:00Z', '2025-06-02T10:00:00Z', 'high'),
           ('t2', '2025-06-02T10:00:00Z', '2025-06-02', '2025-06-02T11:00:00Z', NULL, 'low'),
           ('t3', '2025-06-03T10:00:00Z', '2025-06-03', '2025-06-03T16:00:00Z', '2025-06-03T14:00:00Z', 'low');",
    );
    f.refresh();
    let m = |id| f.value(id, Month, "2025-06", "2025-06-30");
    // COGS = 200 + 100 (order cost) + 300 (costs) = 600 of 2 000.
    assert_eq!(m("gross_margin_pct"), 70.0);
    // Net profit = 2 000 − 300 order cost − 800 costs = 900.
    assert_eq!(m("net_margin_pct"), 45.0);
    assert!(close(m("discount_rate"), 500.0 / 2500.0 * 100.0));
    assert_eq!(m("on_time_delivery_pct"), 50.0);
    assert_eq!(m("velocity"), 8.0);
    assert_eq!(m("features_released"), 2.0);
    // Features took 38 and 22 days: median 30.
    assert_eq!(m("time_to_market_d"), 30.0);
    assert!(close(m("defect_detection_pct"), 200.0 / 3.0));
    // Committed in June: 5 + 3 + 2 points, 5 delivered by their date.
    assert_eq!(m("spi"), 0.5);
    assert_eq!(m("tickets_opened"), 3.0);
    assert_eq!(m("first_response_h"), 2.0);
    assert_eq!(m("resolution_h"), 14.0);
}

#[test]
fn segments_break_metrics_down_by_order_channel_and_customer_attributes() {
    let mut f = Fixture::new();
    f.sql(
        "INSERT INTO customers (customer_id, signup_date, plan, attributes) VALUES
           ('a', '2025-01-01', 'pro', '{\"industry\": \"retail\"}'),
           ('b', '2025-01-01', 'basic', '{\"industry\": \"saas\"}'),
           ('c', '2025-01-01', 'pro', '{\"industry\": \"saas\"}');
         INSERT INTO orders (order_id, customer_id, order_date, revenue, channel) VALUES
           ('1', 'a', '2025-03-01', 1000, 'ads'), ('2', 'a', '2025-04-01', 2000, 'ads'),
           ('3', 'b', '2025-04-02', 4000, 'ads'), ('4', 'c', '2025-04-03', 8000, 'seo'),
           ('5', 'c', '2025-04-04', 16000, 'seo');",
    );
    f.refresh();
    let by = |metric, dimension| {
        kpi::metrics::compute(
            &f.store,
            &f.config,
            metric_fixture::d("2025-04-30"),
            &kpi::metrics::SeriesRequest {
                metric,
                grain: Month,
                from: metric_fixture::d("2025-04-01"),
                to: metric_fixture::d("2025-04-30"),
                by: Some(dimension),
            },
        )
        .unwrap()
        .into_iter()
        .map(|s| (s.segment.unwrap().value, s.points[0].value.unwrap()))
        .collect::<Vec<_>>()
    };
    assert_eq!(
        by("gross_revenue", "channel"),
        [("ads".into(), 60.0), ("seo".into(), 240.0)]
    );
    assert_eq!(
        by("gross_revenue", "plan"),
        [("basic".into(), 40.0), ("pro".into(), 260.0)]
    );
    assert_eq!(
        by("paying_customers", "industry"),
        [("retail".into(), 1.0), ("saas".into(), 2.0)]
    );
    // Repeat buyers: a (ads) and c (seo) ordered twice; b once.
    assert_eq!(
        by("repeat_purchase_rate", "channel"),
        [("ads".into(), 50.0), ("seo".into(), 100.0)]
    );
    assert!(close(
        f.value("repeat_purchase_rate", Month, "2025-04", "2025-04-30"),
        200.0 / 3.0
    ));
    let err = kpi::metrics::compute(
        &f.store,
        &f.config,
        metric_fixture::d("2025-04-30"),
        &kpi::metrics::SeriesRequest {
            metric: "gross_margin_pct",
            grain: Month,
            from: metric_fixture::d("2025-04-01"),
            to: metric_fixture::d("2025-04-30"),
            by: Some("channel"),
        },
    )
    .unwrap_err();
    assert!(
        err.to_string()
            .contains("cannot be broken down by \"channel\""),
        "{err}"
    );
}

#[test]
fn time_to_value_feature_adoption_and_sessions_match_hand_counts() {
    let mut f = Fixture::new();
    f.customer("a", "2025-06-01", None)
        .customer("b", "2025-06-01", None)
        // a activates 30 h after signup, b 48 h after: median 39 h.
        .event("a", "2025-06-02T06:00:00Z", "2025-06-02", "activated", Some("s1"))
        .event("b", "2025-06-03T00:00:00Z", "2025-06-03", "activated", Some("s2"))
        .event("a", "2025-06-02T06:01:00Z", "2025-06-02", "page_view", Some("s1"))
        .event("b", "2025-06-03T00:01:00Z", "2025-06-03", "page_view", Some("s2"))
        .event("b", "2025-06-03T00:02:00Z", "2025-06-03", "page_view", Some("s2"))
        .event("c", "2025-06-04T10:00:00Z", "2025-06-04", "page_view", Some("s3"))
        .event("c", "2025-06-05T10:00:00Z", "2025-06-05", "page_view", Some("s4"))
        .sql(
            "INSERT INTO events (event_key, user_id, ts, day, name, session_id, feature, duration_s) VALUES
               ('f1', 'a', '2025-06-02T07:00:00Z', '2025-06-02', 'feature_used', 's1', 'search', 120),
               ('f2', 'c', '2025-06-04T11:00:00Z', '2025-06-04', 'feature_used', 's3', 'export', 60);",
        );
    f.refresh();
    let m = |id| f.value(id, Month, "2025-06", "2025-06-30");
    assert_eq!(m("time_to_value_h"), 39.0);
    // 3 active users, 4 sessions; 2 of them used a feature.
    assert!(close(m("sessions_per_user"), 4.0 / 3.0));
    assert!(close(m("feature_adoption_pct"), 200.0 / 3.0));
    assert_eq!(m("avg_session_duration_s"), 45.0);
    // Sessions with page views: s1 (1), s2 (2), s3 (1), s4 (1) → 3 of 4 bounced.
    assert_eq!(m("bounce_rate_pct"), 75.0);
    assert_eq!(m("page_views"), 5.0);
    let search = kpi::metrics::compute(
        &f.store,
        &f.config,
        metric_fixture::d("2025-06-30"),
        &kpi::metrics::SeriesRequest {
            metric: "feature_adoption_pct",
            grain: Month,
            from: metric_fixture::d("2025-06-01"),
            to: metric_fixture::d("2025-06-30"),
            by: Some("feature"),
        },
    )
    .unwrap();
    let values: Vec<_> = search
        .iter()
        .map(|s| (s.segment.clone().unwrap().value, s.points[0].value.unwrap()))
        .collect();
    assert_eq!(values.len(), 2);
    assert_eq!(values[0].0, "export");
    assert!(close(values[0].1, 100.0 / 3.0));
}
