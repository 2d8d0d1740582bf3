//! A big file loaded into an empty table takes the bulk path (secondary indexes and
//! rollups built once, after the rows); into a table that already holds rows it takes
//! the row-by-row path. Both must leave the same rows and the same rollups, rejects
//! included.
#![allow(clippy::unwrap_used)]

mod import_support;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use import_support::{dump, import};
use kpi::store::Store;
use kpi::store::rollup::{ROLLUP_TABLES, SEGMENT_TABLES};

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
    let mut text = String::from("event_id,user_id,ts,name,session_id,feature,duration_s\n");
    let names = ["page_view", "feature_used", "login"];
    for i in 0..ROWS {
        let secs = i * 90 * 86_400 / ROWS;
        let (day, rest) = (1 + secs / 86_400, secs % 86_400);
        let (month, day) = (6 + (day - 1) / 30, 1 + (day - 1) % 30);
        writeln!(
            text,
            "e{i},u{},2025-{month:02}-{day:02}T{:02}:{:02}:{:02}Z,{},s{},f{},{}",
            i * 104_729 % 5000,
            rest / 3600,
            rest / 60 % 60,
            rest % 60,
            names[(i % 3) as usize],
            i / 4,
            i % 5,
            // Fractional seconds: real sums depend on how they are added up.
            if i % 4 == 0 {
                String::new()
            } else {
                format!("{}.{:02}", i % 977, i * 37 % 100)
            }
        )
        .unwrap();
    }
    std::fs::write(path, text).unwrap();
}

/// The file in two files of its header and half its rows each, leaving out its last
/// `drop_last` lines.
fn halves(path: &Path, drop_last: usize) -> [PathBuf; 2] {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines: Vec<&str> = text.lines().collect();
    lines.truncate(lines.len() - drop_last);
    let (header, rows) = lines.split_first().unwrap();
    let (first, second) = rows.split_at(rows.len() / 2);
    let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
    [("first", first), ("second", second)].map(|(half, rows)| {
        let half_path = path.with_file_name(format!("{stem}_{half}.csv"));
        std::fs::write(&half_path, format!("{header}\n{}\n", rows.join("\n"))).unwrap();
        half_path
    })
}

/// The rows of the raw tables and of every rollup, per segment too.
fn contents(store: &Store) -> Vec<String> {
    let mut out = dump(store, "orders", "order_id");
    out.extend(dump(store, "events", "event_key"));
    for table in ROLLUP_TABLES.iter().chain(&SEGMENT_TABLES) {
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

    // Loaded in two halves, the second half's days are refreshed incrementally (the ids
    // they touch, distinct counts by difference) instead of rebuilt in one pass: the same
    // rollups. The orders file ends in its two rejected lines, left out here.
    let mut in_halves = Store::open(&dir.path().join("halves.db")).unwrap();
    for half in halves(&orders, 2).iter().chain(&halves(&events, 0)) {
        let report = import(&mut in_halves, half);
        assert_eq!(report.rows_rejected, 0, "{report}");
    }
    let in_halves = contents(&in_halves);

    let (bulk, by_row) = (contents(&bulk), contents(&by_row));
    assert!(
        bulk.iter()
            .any(|row| row.starts_with("ru_events_day") && row.contains('.')),
        "fractional durations summed"
    );
    assert_same(&bulk, &in_halves, "bulk and two-half loads");
    assert!(bulk.len() as u64 > 2 * ROWS, "{}", bulk.len());
    assert_same(&bulk, &by_row, "bulk and row-by-row loads");
}

fn assert_same(a: &[String], b: &[String], what: &str) {
    if a != b {
        let first = a
            .iter()
            .zip(b)
            .position(|(x, y)| x != y)
            .unwrap_or(a.len().min(b.len()));
        panic!(
            "{what} differ ({} and {} rows), first at {first}: {:?} / {:?}",
            a.len(),
            b.len(),
            a.get(first),
            b.get(first)
        );
    }
}
