//! A hand-built snapshot with known values, for the cockpit's tests and the render
//! benchmark. Behind the `test-fixtures` feature, which integration tests and `benches/`
//! enable; no release build carries it.
//!
//! Known values the tests read back: net revenue May 2025 = $58,450 (April $54,100,
//! +8.0 %); cohort 2024-11 keeps 62 % in month +1; a strong net-revenue alert on
//! `channel=paid_search` in 2025-W24 (−18.7 %); a reject whose raw row holds an OSC
//! escape sequence.

use std::path::PathBuf;

use chrono::NaiveDate;

use crate::alerts::{Alert, AlertKind, Contribution, Pulse, TargetStatus, Tier};
use crate::config::Config;
use crate::metrics::catalog::def;
use crate::metrics::{
    CohortMatrix, CohortRow, CohortVariant, Direction, Grain, MetricDef, Period, Point, Segment,
    Series, Unit,
};
use crate::snapshot::{Annotation, DataStatus, Snapshot};
use crate::store::status::{ImportLogEntry, ReferenceDate, RejectEntry, TableStatus};

use super::app::App;
use super::theme::{ColorMode, Theme};

/// A string an attacker could put in a customer name: retitles an xterm if drawn raw.
pub const HOSTILE: &str = "\x1b]0;pwned\x07";

pub fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap_or_default()
}

pub fn as_of() -> NaiveDate {
    date(2025, 6, 18)
}

pub fn today() -> NaiveDate {
    date(2025, 6, 19)
}

/// Net revenue per month, July 2024 to June 2025 (June partial).
pub const NET_REVENUE_MONTHS: [f64; 12] = [
    41_200.0, 42_950.0, 44_100.0, 43_800.0, 46_500.0, 47_900.0, 49_100.0, 50_300.0, 52_800.0,
    54_100.0, 58_450.0, 21_000.0,
];

pub fn catalog() -> Vec<MetricDef> {
    use Direction::{HigherIsBetter as Up, LowerIsBetter as Down};
    vec![
        def(
            "net_revenue",
            "Net revenue",
            Unit::Currency,
            Up,
            "gross revenue of completed orders − refunds",
            &["orders", "refunds"],
            &["channel", "plan", "region"],
        ),
        def(
            "orders",
            "Orders",
            Unit::Count,
            Up,
            "completed orders",
            &["orders"],
            &["channel"],
        ),
        def(
            "aov",
            "Average order value",
            Unit::Currency,
            Up,
            "gross revenue ÷ orders",
            &["orders"],
            &["channel"],
        ),
        def(
            "discount_rate",
            "Discount rate",
            Unit::Percent,
            Down,
            "Σ discount ÷ (Σ revenue + Σ discount) × 100",
            &["orders"],
            &["channel"],
        ),
        def(
            "mrr",
            "MRR",
            Unit::Currency,
            Up,
            "Σ mrr of active subscriptions at period end",
            &["subscriptions"],
            &["plan"],
        ),
        def(
            "nps",
            "NPS",
            Unit::Score,
            Up,
            "% promoters − % detractors",
            &["surveys"],
            &[],
        ),
        def(
            "stickiness_pct",
            "Stickiness",
            Unit::Percent,
            Up,
            "DAU ÷ MAU × 100",
            &["events"],
            &["feature"],
        ),
        def(
            "customer_churn_pct",
            "Customer churn",
            Unit::Percent,
            Down,
            "active at start, not at end ÷ active at start × 100",
            &["customers", "orders"],
            &["channel", "plan"],
        ),
        def(
            "cac",
            "CAC",
            Unit::Currency,
            Down,
            "Σ spend ÷ new customers",
            &["spend", "customers"],
            &["channel"],
        ),
    ]
}

/// A deterministic wobble in −5…5.
fn wobble(i: usize, seed: usize) -> f64 {
    ((i * 37 + seed * 11) % 11) as f64 - 5.0
}

/// (base, step per period, wobble amplitude) of each metric at a grain.
fn shape(metric: &str, grain: Grain) -> (f64, f64, f64) {
    let per = match grain {
        Grain::Day => 1.0 / 30.0,
        Grain::Week => 7.0 / 30.0,
        Grain::Month => 1.0,
    };
    match metric {
        "net_revenue" => (40_000.0 * per, 1_500.0 * per, 400.0 * per),
        "orders" => (800.0 * per, 25.0 * per, 12.0 * per),
        "aov" => (50.0, 0.4, 0.8),
        "discount_rate" => (8.0, -0.1, 0.3),
        "mrr" => (18_000.0, 600.0, 90.0),
        "nps" => (36.0, 0.5, 1.2),
        "stickiness_pct" => (21.0, 0.15, 0.4),
        "customer_churn_pct" => (4.2, -0.05, 0.12),
        _ => (120.0, -1.0, 3.0),
    }
}

fn series_for(metric: &str, grain: Grain, seed: usize) -> Series {
    let count = match grain {
        Grain::Day => 30,
        Grain::Week => 16,
        Grain::Month => 12,
    };
    let periods = Period::containing(grain, as_of()).trailing(count);
    let (base, step, amp) = shape(metric, grain);
    let points = periods
        .iter()
        .enumerate()
        .map(|(i, period)| {
            let partial = period.end() != as_of() && period.contains(as_of());
            let value = if metric == "net_revenue" && grain == Grain::Month {
                NET_REVENUE_MONTHS[i]
            } else {
                let v = base + step * i as f64 + amp * wobble(i, seed);
                if partial && matches!(metric, "net_revenue" | "orders") {
                    v * 0.4
                } else {
                    v
                }
            };
            let value = if metric == "orders" {
                value.round()
            } else {
                (value * 100.0).round() / 100.0
            };
            Point {
                period: *period,
                value: Some(value),
                note: None,
                partial,
            }
        })
        .collect();
    Series {
        metric: metric.to_string(),
        segment: None,
        grain,
        points,
    }
}

fn cohort_matrix(variant: CohortVariant) -> CohortMatrix {
    const SIZES: [u64; 8] = [412, 388, 430, 455, 470, 502, 515, 160];
    let months = [
        "2024-11", "2024-12", "2025-01", "2025-02", "2025-03", "2025-04", "2025-05", "2025-06",
    ];
    let revenue = variant == CohortVariant::RevenueRetention;
    let rows = months
        .iter()
        .zip(SIZES)
        .enumerate()
        .map(|(c, (month, size))| {
            let observed = months.len() - c;
            let share = |k: usize| -> f64 {
                if k == 0 {
                    1.0
                } else if revenue {
                    0.92 + 0.04 * k as f64 - 0.01 * c as f64
                } else {
                    (0.62 * 0.86f64.powi(i32::try_from(k - 1).unwrap_or(0)) + 0.01 * c as f64 * 0.5)
                        .min(1.0)
                }
            };
            let cells: Vec<Option<f64>> = (0..observed)
                .map(|k| Some((share(k) * 1000.0).round() / 1000.0))
                .collect();
            let last = cells.last().copied().flatten().unwrap_or(1.0);
            let forecast = (0..months.len())
                .map(|k| {
                    (k >= observed).then(|| {
                        let h = i32::try_from(k + 1 - observed).unwrap_or(0);
                        let decay = if revenue { 1.01f64 } else { 0.9 };
                        (last * decay.powi(h) * 1000.0).round() / 1000.0
                    })
                })
                .collect();
            CohortRow {
                cohort: (*month).to_string(),
                size,
                cells,
                forecast,
            }
        })
        .collect();
    CohortMatrix { variant, rows }
}

fn segment(dimension: &str, value: &str) -> Segment {
    Segment {
        dimension: dimension.into(),
        value: value.into(),
    }
}

pub fn alerts() -> Vec<Alert> {
    vec![
        Alert {
            key: "net_revenue|channel=paid_search|week|2025-W24".into(),
            metric: "net_revenue".into(),
            segment: Some(segment("channel", "paid_search")),
            grain: Grain::Week,
            period: "2025-W24".into(),
            value: 9_800.0,
            rolling_mean: 12_050.0,
            change_pct: -18.67,
            tier: Tier::Strong,
            direction: Direction::HigherIsBetter,
            good: false,
            contributors: vec![
                Contribution {
                    segment: segment("customer", "ACME Corp"),
                    change: -1_400.0,
                    share_pct: 62.2,
                    rate_mix: None,
                },
                Contribution {
                    segment: segment("customer", HOSTILE),
                    change: -600.0,
                    share_pct: 26.7,
                    rate_mix: None,
                },
                Contribution {
                    segment: segment("customer", "Globex"),
                    change: -250.0,
                    share_pct: 11.1,
                    rate_mix: None,
                },
            ],
            owner: Some("maria@shop.example".into()),
            follow_up: "Check paid search campaigns and landing page conversion since 2025-06-09."
                .into(),
            acknowledged: false,
            snoozed_until: None,
            kind: AlertKind::Deviation,
            metric_name: "Net revenue".into(),
            unit: Unit::Currency,
            share_of_total_pct: None,
            first_seen: None,
            last_seen: None,
            occurrence: 1,
            target: None,
        },
        Alert {
            key: "nps|month|2025-05".into(),
            metric: "nps".into(),
            segment: None,
            grain: Grain::Month,
            period: "2025-05".into(),
            value: 38.0,
            rolling_mean: 41.0,
            change_pct: -7.32,
            tier: Tier::Mild,
            direction: Direction::HigherIsBetter,
            good: false,
            contributors: vec![
                Contribution {
                    segment: segment("plan", "pro"),
                    change: -2.1,
                    share_pct: 70.0,
                    rate_mix: None,
                },
                Contribution {
                    segment: segment("plan", "basic"),
                    change: -0.9,
                    share_pct: 30.0,
                    rate_mix: None,
                },
            ],
            owner: None,
            follow_up: "Read this month's detractor comments.".into(),
            acknowledged: false,
            snoozed_until: None,
            kind: AlertKind::Deviation,
            metric_name: "Net Promoter Score".into(),
            unit: Unit::Score,
            share_of_total_pct: None,
            first_seen: None,
            last_seen: None,
            occurrence: 1,
            target: None,
        },
        Alert {
            key: "stickiness_pct|week|2025-W24".into(),
            metric: "stickiness_pct".into(),
            segment: None,
            grain: Grain::Week,
            period: "2025-W24".into(),
            value: 24.1,
            rolling_mean: 22.7,
            change_pct: 6.17,
            tier: Tier::Mild,
            direction: Direction::HigherIsBetter,
            good: true,
            contributors: Vec::new(),
            owner: Some("growth team".into()),
            follow_up: "Find out which feature drove the rise and keep it.".into(),
            acknowledged: true,
            snoozed_until: None,
            kind: AlertKind::Deviation,
            metric_name: "Stickiness".into(),
            unit: Unit::Percent,
            share_of_total_pct: None,
            first_seen: None,
            last_seen: None,
            occurrence: 1,
            target: None,
        },
    ]
}

fn data_status() -> DataStatus {
    let table =
        |name: &str, rows: u64, first: Option<NaiveDate>, last: Option<NaiveDate>| TableStatus {
            table: name.into(),
            rows,
            first_date: first,
            last_date: last,
            last_import: (rows > 0).then(|| "2025-06-18T09:12:03Z".to_string()),
        };
    let start = Some(date(2024, 7, 1));
    DataStatus {
        launch: None,
        tables: vec![
            table("customers", 3_332, start, Some(date(2025, 6, 18))),
            table("orders", 48_210, start, Some(date(2025, 6, 18))),
            table("refunds", 1_204, start, Some(date(2025, 6, 17))),
            table("subscriptions", 1_870, start, Some(date(2025, 6, 18))),
            table("events", 912_400, start, Some(date(2025, 6, 18))),
            table("surveys", 2_410, start, Some(date(2025, 6, 12))),
            table("spend", 2_190, start, Some(date(2025, 6, 15))),
            table("tickets", 0, None, None),
        ],
        imports: vec![
            ImportLogEntry {
                id: 4,
                path: "exports/orders_2025-06.csv".into(),
                table: Some("orders".into()),
                size: 1_482_113,
                rows_read: 12_004,
                rows_upserted: 12_001,
                rows_rejected: 3,
                duration_ms: 182,
                imported_at: "2025-06-18T09:12:03Z".into(),
                ok: true,
                error: None,
            },
            ImportLogEntry {
                id: 3,
                path: "exports/tickets.xlsx".into(),
                table: None,
                size: 88_210,
                rows_read: 0,
                rows_upserted: 0,
                rows_rejected: 0,
                duration_ms: 2,
                imported_at: "2025-06-18T09:11:58Z".into(),
                ok: false,
                error: Some("tickets.xlsx: binary file, not CSV/NDJSON/JSON".into()),
            },
            ImportLogEntry {
                id: 2,
                path: "exports/events.ndjson".into(),
                table: Some("events".into()),
                size: 98_112_004,
                rows_read: 912_400,
                rows_upserted: 912_400,
                rows_rejected: 0,
                duration_ms: 4_210,
                imported_at: "2025-06-18T09:10:40Z".into(),
                ok: true,
                error: None,
            },
            ImportLogEntry {
                id: 1,
                path: "exports/customers.csv".into(),
                table: Some("customers".into()),
                size: 310_554,
                rows_read: 3_332,
                rows_upserted: 3_332,
                rows_rejected: 0,
                duration_ms: 41,
                imported_at: "2025-06-18T09:10:01Z".into(),
                ok: true,
                error: None,
            },
        ],
        rejects: vec![
            RejectEntry {
                path: "exports/orders_2025-06.csv".into(),
                line: 118,
                column: Some("revenue".into()),
                reason: "not a number: \"12,50\"".into(),
                raw: "o-118,c-77,2025-06-02,\"12,50\",completed".into(),
            },
            RejectEntry {
                path: "exports/orders_2025-06.csv".into(),
                line: 2_047,
                column: Some("customer_id".into()),
                reason: "required field is empty".into(),
                raw: "o-2047,,2025-06-09,80.00,completed".into(),
            },
            RejectEntry {
                path: "exports/orders_2025-06.csv".into(),
                line: 9_311,
                column: Some("order_date".into()),
                reason: format!("not a date: \"{HOSTILE}\""),
                raw: format!("o-9311,c-12,{HOSTILE},45.00,completed"),
            },
        ],
        rejected_rows: 3,
        reference: Some(ReferenceDate {
            date: as_of(),
            table: "orders",
            column: "order_date",
        }),
        customer_attributes: vec!["company_size".into(), "industry".into()],
    }
}

/// The rich snapshot every pane test draws.
pub fn snapshot() -> Snapshot {
    let metrics = catalog();
    let mut series = Vec::new();
    for (seed, m) in metrics.iter().enumerate() {
        for grain in Grain::ALL {
            series.push(series_for(&m.id, grain, seed));
        }
    }
    Snapshot {
        store: PathBuf::from("fixture.db"),
        as_of: Some(as_of()),
        config: Config::default(),
        metrics,
        series,
        cohorts: vec![
            cohort_matrix(CohortVariant::PurchasingCustomers),
            cohort_matrix(CohortVariant::RevenueRetention),
        ],
        alerts: alerts(),
        pulses: vec![
            ("net_revenue".into(), Pulse::Improving),
            ("mrr".into(), Pulse::Improving),
            ("nps".into(), Pulse::Deteriorating),
            ("stickiness_pct".into(), Pulse::Stalled),
            ("customer_churn_pct".into(), Pulse::Improving),
        ],
        targets: vec![
            TargetStatus {
                metric: "net_revenue".into(),
                target: 70_000.0,
                by: date(2025, 12, 31),
                current: Some(58_450.0),
                progress_pct: Some(62.0),
                projected: Some(66_000.0),
                at_risk: true,
                grain: Grain::Month,
                baseline: Some(40_000.0),
                on_pace_value: Some(61_000.0),
                milestones: Vec::new(),
                missed: false,
                note: None,
            },
            TargetStatus {
                metric: "mrr".into(),
                target: 30_000.0,
                by: date(2025, 9, 30),
                current: Some(25_200.0),
                progress_pct: Some(84.0),
                projected: Some(31_000.0),
                at_risk: false,
                grain: Grain::Month,
                baseline: Some(18_000.0),
                on_pace_value: Some(24_500.0),
                milestones: Vec::new(),
                missed: false,
                note: None,
            },
        ],
        annotations: vec![
            Annotation {
                date: date(2025, 3, 3),
                label: "launch v2".into(),
            },
            Annotation {
                date: date(2025, 5, 12),
                label: "spring campaign".into(),
            },
        ],
        data: data_status(),
    }
}

/// What a freshly created store gives: nothing imported yet.
pub fn empty_snapshot() -> Snapshot {
    Snapshot {
        store: PathBuf::from("empty.db"),
        ..Snapshot::default()
    }
}

/// An app on `snapshot`, as of the fixture's "today", in 16 colours.
pub fn app(snapshot: Snapshot) -> App {
    App::new(snapshot, Theme::new(ColorMode::Ansi16), today())
}
