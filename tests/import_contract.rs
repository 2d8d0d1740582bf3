//! Every table imports from CSV, NDJSON and a JSON array, and reads back exactly:
//! money to the cent, timestamps normalised to UTC, days cut in the configured zone.
#![allow(clippy::unwrap_used)]

mod import_support;

use import_support::{dump, fixture, import, options};
use kpi::import::import_file;
use kpi::store::Store;

/// (table, ORDER BY, expected rows in schema column order)
const EXPECTED: &[(&str, &str, &[&str])] = &[
    (
        "customers",
        "customer_id",
        &[
            r#"c1|2025-01-05|organic|pro|EU|{"company_size":"50","industry":"saas"}"#,
            "c2|2025-02-10|paid|NULL|US|NULL",
        ],
    ),
    (
        "orders",
        "order_id",
        &[
            "o1|c1|2025-06-01|1999|completed|organic|0|550",
            "o2|c2|2025-06-02|120000|cancelled|paid|1000|NULL",
            "o3|c1|2025-06-03|7|completed|NULL|NULL|NULL",
        ],
    ),
    (
        "refunds",
        "refund_key",
        &[
            "o2|2025-06-06|NULL|o2|2025-06-06|120000",
            "r1|r1|o1|2025-06-05|500",
        ],
    ),
    (
        "subscriptions",
        "subscription_id",
        &[
            "s1|c1|4900|2025-01-05|NULL|pro",
            "s2|c2|950|2025-02-10|2025-05-10|basic",
        ],
    ),
    (
        "events",
        "ts",
        &[
            "e1|e1|u1|2025-06-02T01:30:00Z|2025-06-02|signup|s1|NULL|/start|12.5",
            "<hash>|NULL|u2|2025-06-02T08:00:00Z|2025-06-02|page_view|NULL|search|NULL|NULL",
        ],
    ),
    (
        "surveys",
        "response_id",
        &[
            "q1|2025-06-01|nps|9|c1|Great, fast; \"love it\"\nsecond line",
            "q2|2025-06-02|csat|4|NULL|NULL",
            "q3|2025-06-03|ces|7|c2|NULL",
        ],
    ),
    (
        "spend",
        "channel",
        &[
            "2025-06-01|paid_search|15025|10000|230",
            "2025-06-01|social|8000|NULL|NULL",
        ],
    ),
    (
        "funnel",
        "channel",
        &["2025-06-01||500|NULL|NULL", "2025-06-01|organic|1000|50|10"],
    ),
    (
        "costs",
        "category",
        &["2025-06-01|cogs|100000", "2025-06-01|other|-2550"],
    ),
    (
        "tickets",
        "ticket_id",
        &[
            "t1|2025-06-01T07:00:00Z|2025-06-01|2025-06-01T07:30:00Z|2025-06-02T10:00:00Z|high|c1",
            "t2|2025-06-03T12:00:00Z|2025-06-03|NULL|NULL|NULL|NULL",
        ],
    ),
    (
        "work_items",
        "item_id",
        &[
            "w1|feature|2025-05-01|2025-05-10|2025-06-01|5|NULL",
            "w2|bug|2025-05-02|NULL|NULL|0.5|production",
        ],
    ),
    (
        "annotations",
        "date",
        &["2025-06-01|Launch v2", "2025-06-03|Incident: checkout down"],
    ),
    (
        "metrics",
        "segment",
        &[
            "2025-06-01|app_rating|4.6|",
            "2025-06-01|app_rating|4.4|ios",
        ],
    ),
];

fn check_format(dir: &str, ext: &str) {
    assert_eq!(EXPECTED.len(), 13, "every table is covered");
    for (table, order_by, rows) in EXPECTED {
        let mut store = Store::open_in_memory().unwrap();
        let report = import(&mut store, &fixture(&format!("{dir}/{table}.{ext}")));
        assert_eq!(report.table, *table);
        assert_eq!(report.rows_rejected, 0, "{table}.{ext}: {report:?}");
        assert_eq!(report.rows_upserted, rows.len() as u64, "{table}.{ext}");
        assert_eq!(dump(&store, table, order_by), *rows, "{table}.{ext}");
    }
}

#[test]
fn every_table_imports_from_csv() {
    check_format("csv", "csv");
}

#[test]
fn every_table_imports_from_ndjson() {
    check_format("ndjson", "ndjson");
}

#[test]
fn every_table_imports_from_a_json_array() {
    check_format("json", "json");
}

#[test]
fn unknown_columns_are_reported_for_tables_without_attributes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("orders_extra.csv");
    std::fs::write(
        &path,
        "order_id,customer_id,order_date,revenue,Coupon,note\no1,c1,2025-06-01,5,X,hi\n",
    )
    .unwrap();
    let mut store = Store::open_in_memory().unwrap();
    let report = import(&mut store, &path);
    assert_eq!(report.ignored_columns, ["Coupon", "note"]);
    assert_eq!(report.rows_upserted, 1);
}

#[test]
fn aliases_and_the_configured_time_zone_apply() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("export.csv");
    std::fs::write(
        &path,
        "Event ID,Member,When,Action\ne1,u1,2025-06-01 00:30:00,signup\n",
    )
    .unwrap();
    let mut opts = options();
    opts.table = Some("events".into());
    opts.config = kpi::config::Config::parse(
        r#"
time_zone = "Europe/Berlin"
[aliases.events]
event_id = ["event id"]
user_id = ["member"]
ts = ["when"]
name = ["action"]
"#,
        std::path::Path::new("kpi.toml"),
    )
    .unwrap();
    let mut store = Store::open_in_memory().unwrap();
    let report = import_file(&mut store, &path, &opts).unwrap();
    assert_eq!(report.rows_upserted, 1);
    assert_eq!(
        dump(&store, "events", "ts"),
        ["e1|e1|u1|2025-05-31T22:30:00Z|2025-06-01|signup|NULL|NULL|NULL|NULL"]
    );
}

#[test]
fn the_import_log_and_status_queries_show_what_happened() {
    let mut store = Store::open_in_memory().unwrap();
    import(&mut store, &fixture("csv/orders.csv"));
    let status = store.table_status().unwrap();
    let orders = status.iter().find(|s| s.table == "orders").unwrap();
    assert_eq!(orders.rows, 3);
    assert_eq!(orders.first_date.unwrap().to_string(), "2025-06-01");
    assert_eq!(orders.last_date.unwrap().to_string(), "2025-06-03");
    assert!(orders.last_import.is_some());
    let log = store.recent_imports(5).unwrap();
    assert_eq!(log.len(), 1);
    assert!(log[0].ok);
    assert_eq!(log[0].table.as_deref(), Some("orders"));
    assert_eq!((log[0].rows_read, log[0].rows_upserted), (3, 3));
    assert!(log[0].path.ends_with("orders.csv"));
}
