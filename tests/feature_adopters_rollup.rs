//! Adopters per feature (`ru_feature_distinct`, schema 11): a store of schema 10 gets them
//! counted when a writer opens it, a reader asks for the upgrade, and the counts are those
//! of a rebuild from the raw events.
#![allow(clippy::unwrap_used)]

use kpi::store::Store;
use kpi::store::rollup;
use rusqlite::Connection;

fn feature_rows(conn: &Connection) -> Vec<(String, String, String, i64)> {
    conn.prepare("SELECT kind, period, feature, n FROM ru_feature_distinct ORDER BY 1, 2, 3")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

#[test]
fn a_store_of_schema_10_gets_the_adopters_per_feature_counted_on_open() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("s.db");
    let mut store = Store::open(&db).unwrap();
    for i in 0..400u32 {
        store
            .conn()
            .execute(
                "INSERT INTO events (event_key, user_id, ts, day, name, feature)
                 VALUES (?1, ?2, ?3 || 'T10:00:00Z', ?3, ?4, ?5)",
                (
                    format!("e{i}"),
                    format!("u{}", i % 23),
                    format!("2025-0{}-{:02}", 1 + i % 3, 1 + i % 28),
                    if i % 3 == 0 {
                        "page_view"
                    } else {
                        "feature_used"
                    },
                    ["export", "share", "search"][(i % 5 % 3) as usize],
                ),
            )
            .unwrap();
    }
    rollup::refresh_all(&mut store).unwrap();
    let rebuilt = feature_rows(store.conn());
    assert!(rebuilt.iter().any(|r| r.0 == "adopters_week" && r.3 > 1));
    drop(store);

    // What kpi at schema 10 left: everything but the adopters per feature.
    let conn = Connection::open(&db).unwrap();
    conn.execute_batch("DROP TABLE ru_feature_distinct; PRAGMA user_version = 10;")
        .unwrap();
    drop(conn);
    let refused = match Store::open_read_only(&db) {
        Ok(_) => panic!("a reader opened a store of schema 10"),
        Err(e) => e.to_string(),
    };
    assert!(refused.contains("upgrade from schema 10"), "{refused}");

    let store = Store::open(&db).unwrap();
    assert_eq!(feature_rows(store.conn()), rebuilt);
    let version: u32 = store
        .conn()
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .unwrap();
    assert_eq!(version, kpi::store::CURRENT_VERSION);
}
