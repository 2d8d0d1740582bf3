//! A big file loaded into an empty table takes the bulk path (secondary indexes and
//! rollups built once, after the rows); into a table that already holds rows it takes
//! the row-by-row path. Both must leave the same rows and the same rollups, rejects
//! included.
#![allow(clippy::unwrap_used)]

mod import_support;

use std::fmt::Write as _;
use std::path::Path;

use import_support::{dump, import};
use kpi::store::Store;
use kpi::store::rollup::ROLLUP_TABLES;

/// Past the size from which a load into an empty table is a bulk load (8 MiB).
const ROWS: u64 = 200_000;

fn orders_csv(path: &Path) {
    let mut text = String::from("order_id,customer_id,order_date,revenue,status,channel\n");
    let channels = ["organic", "paid", "email"];
    for i in 0..ROWS {
        let day = 1 + i * 90 / ROWS;
        let (month, day) = (6 + (day - 1) / 30, 1 + (day - 1) % 30);
        let status = if i % 7 == 0 { "cancelled" } else { "completed" };
        writeln!(
            text,
            "o{i},c{},2025-{month:02}-{day:02},{}.{:02},{status},{}",
            i * 7919 % 3000,
            i % 400,
            i % 100,
            channels[(i % 3) as usize]
        )
        .unwrap();
    }
    // A duplicate key and a bad amount: rejects on either path.
    text.push_str("o5,c1,2025-06-02,1.00,completed,paid\n");
    text.push_str("o-bad,c1,2025-06-02,-3,completed,paid\n");
    std::fs::write(path, text).unwrap();
}

fn events_csv(path: &Path) {
    let mut text = String::from("event_id,user_id,ts,name,session_id,feature\n");
    let names = ["page_view", "feature_used", "login"];
    for i in 0..ROWS {
        let secs = i * 90 * 86_400 / ROWS;
        let (day, rest) = (1 + secs / 86_400, secs % 86_400);
        let (month, day) = (6 + (day - 1) / 30, 1 + (day - 1) % 30);
        writeln!(
            text,
            "e{i},u{},2025-{month:02}-{day:02}T{:02}:{:02}:{:02}Z,{},s{},f{}",
            i * 104_729 % 5000,
            rest / 3600,
            rest / 60 % 60,
            rest % 60,
            names[(i % 3) as usize],
            i / 4,
            i % 5
        )
        .unwrap();
    }
    std::fs::write(path, text).unwrap();
}

/// The rows of the raw tables and of every rollup.
fn contents(store: &Store) -> Vec<String> {
    let mut out = dump(store, "orders", "order_id");
    out.extend(dump(store, "events", "event_key"));
    for table in ROLLUP_TABLES {
        out.extend(
            dump(store, table, "1, 2, 3")
                .into_iter()
                .map(|row| format!("{table}: {row}"))
                // An incremental refresh may leave a distinct count of zero behind.
                .filter(|row| !(row.starts_with("ru_distinct") && row.ends_with("|0"))),
        );
    }
    out
}

#[test]
fn bulk_and_row_by_row_loads_leave_the_same_tables_and_rollups() {
    let dir = tempfile::tempdir().unwrap();
    let orders = dir.path().join("orders.csv");
    let events = dir.path().join("events.csv");
    orders_csv(&orders);
    events_csv(&events);
    assert!(std::fs::metadata(&orders).unwrap().len() > 8 << 20);
    assert!(std::fs::metadata(&events).unwrap().len() > 8 << 20);

    let mut bulk = Store::open(&dir.path().join("bulk.db")).unwrap();
    let bulk_reports = [import(&mut bulk, &orders), import(&mut bulk, &events)];

    // Each table already holds the first row of its file, with other values: the load
    // goes row by row, and overwrites it.
    let mut by_row = Store::open(&dir.path().join("by_row.db")).unwrap();
    let seed_orders = dir.path().join("orders_seed.csv");
    std::fs::write(
        &seed_orders,
        "order_id,customer_id,order_date,revenue,status,channel\n\
         o0,c9,2025-08-20,99.00,pending,paid\n",
    )
    .unwrap();
    let seed_events = dir.path().join("events_seed.csv");
    std::fs::write(
        &seed_events,
        "event_id,user_id,ts,name\ne0,u9,2025-08-20T10:00:00Z,login\n",
    )
    .unwrap();
    import(&mut by_row, &seed_orders);
    import(&mut by_row, &seed_events);
    let by_row_reports = [import(&mut by_row, &orders), import(&mut by_row, &events)];

    for (bulk, by_row) in bulk_reports.iter().zip(&by_row_reports) {
        assert_eq!(
            (bulk.rows_read, bulk.rows_upserted, bulk.rows_rejected),
            (by_row.rows_read, by_row.rows_upserted, by_row.rows_rejected),
            "{bulk} / {by_row}"
        );
    }
    assert_eq!(bulk_reports[0].rows_rejected, 2, "{}", bulk_reports[0]);
    assert_eq!(bulk_reports[1].rows_upserted, ROWS);

    // The bulk load set the table's CHECK constraints aside for its rows only.
    let negative = bulk.conn().execute(
        "INSERT INTO orders (order_id, customer_id, order_date, revenue) \
         VALUES ('neg', 'c1', '2025-06-01', -1)",
        [],
    );
    assert!(negative.is_err(), "{negative:?}");

    let (bulk, by_row) = (contents(&bulk), contents(&by_row));
    assert!(bulk.len() as u64 > 2 * ROWS, "{}", bulk.len());
    if bulk != by_row {
        let first = bulk
            .iter()
            .zip(&by_row)
            .position(|(a, b)| a != b)
            .unwrap_or(bulk.len().min(by_row.len()));
        panic!(
            "bulk and row-by-row loads differ ({} and {} rows), first at {first}: {:?} / {:?}",
            bulk.len(),
            by_row.len(),
            bulk.get(first),
            by_row.get(first)
        );
    }
}
