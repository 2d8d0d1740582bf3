//! The subscription book per segment (`ru_subscription_steps`, `ru_subscription_moves`,
//! schema 12): a store of schema 11 gets it counted when a writer opens it, a reader asks
//! for the upgrade, and an import of subscriptions or customers keeps it equal to a
//! recount from the raw rows.
#![allow(clippy::unwrap_used)]

use std::path::Path;

use kpi::config::Config;
use kpi::import::{ImportOptions, import_file};
use kpi::store::Store;
use kpi::store::rollup;
use rusqlite::Connection;

fn book_rows(conn: &Connection) -> Vec<String> {
    rollup::dump_tables(conn, &rollup::subscriptions::SUBSCRIPTION_TABLES, |x| {
        format!("Real({x:?})")
    })
    .unwrap()
}

fn import(store: &mut Store, dir: &Path, name: &str, rows: &str) {
    let path = dir.join(name);
    std::fs::write(&path, rows).unwrap();
    let options = ImportOptions {
        config: Config::default(),
        ..ImportOptions::default()
    };
    import_file(store, &path, &options).unwrap();
}

fn store_with_subscriptions(dir: &Path) -> Store {
    let mut store = Store::open(&dir.join("s.db")).unwrap();
    import(
        &mut store,
        dir,
        "customers.csv",
        "customer_id,signup_date,channel,plan,region\n\
         c1,2025-01-03,ads,pro,eu\nc2,2025-01-20,seo,basic,us\nc3,2025-02-02,ads,,eu\n",
    );
    import(
        &mut store,
        dir,
        "subscriptions.csv",
        "subscription_id,customer_id,mrr,start_date,end_date,plan\n\
         s1,c1,50.00,2025-01-05,,pro\ns2,c1,20.00,2025-02-10,2025-03-15,basic\n\
         s3,c2,30.00,2025-01-21,2025-02-14,basic\ns4,c2,35.00,2025-03-03,,basic\n\
         s5,c3,10.00,2025-02-03,2025-02-03,pro\ns6,c9,15.00,2025-02-11,,\n",
    );
    store
}

#[test]
fn a_store_of_schema_11_gets_the_subscription_book_per_segment_counted_on_open() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("s.db");
    let mut store = store_with_subscriptions(dir.path());
    rollup::refresh_all(&mut store).unwrap();
    let rebuilt = book_rows(store.conn());
    assert!(
        rebuilt
            .iter()
            .any(|r| r.contains("reactivation") || r.contains("\"week\""))
    );
    assert!(rebuilt.iter().any(|r| r.contains("\"subscription_plan\"")));
    drop(store);

    // What kpi at schema 11 left: everything but the subscription book per segment.
    let conn = Connection::open(&db).unwrap();
    conn.execute_batch(
        "DROP TABLE ru_subscription_steps; DROP TABLE ru_subscription_moves;
         PRAGMA user_version = 11;",
    )
    .unwrap();
    drop(conn);
    let refused = match Store::open_read_only(&db) {
        Ok(_) => panic!("a reader opened a store of schema 11"),
        Err(e) => e.to_string(),
    };
    assert!(refused.contains("upgrade from schema 11"), "{refused}");
    let store = Store::open(&db).unwrap();
    assert_eq!(book_rows(store.conn()), rebuilt);
}

#[test]
fn imports_of_subscriptions_and_customers_keep_the_book_per_segment_equal_to_a_recount() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = store_with_subscriptions(dir.path());
    // c2 moves to another channel with its whole book; c1's second subscription ends
    // earlier; a new customer's subscription starts.
    import(
        &mut store,
        dir.path(),
        "customers_2.csv",
        "customer_id,signup_date,channel,plan,region\nc2,2025-01-20,email,basic,us\n",
    );
    import(
        &mut store,
        dir.path(),
        "subscriptions_2.csv",
        "subscription_id,customer_id,mrr,start_date,end_date,plan\n\
         s2,c1,20.00,2025-02-10,2025-02-20,basic\ns7,c4,40.00,2025-03-01,,pro\n",
    );
    let kept = book_rows(store.conn());
    assert!(kept.iter().any(|r| r.contains("\"email\"")));
    assert!(!kept.iter().any(|r| r.contains("\"seo\"")), "{kept:?}");
    rollup::refresh_all(&mut store).unwrap();
    assert_eq!(kept, book_rows(store.conn()));
}
