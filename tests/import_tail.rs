//! Re-imports change nothing; overlapping files update what changed; a file that only
//! grew is read from where its last import stopped; a replaced one is read whole.
#![allow(clippy::unwrap_used)]

mod import_support;

use std::io::Write;

use chrono::NaiveDate;
use import_support::{count, dump, import, options};
use kpi::import::{ImportOptions, import_file};
use kpi::store::Store;

const ORDERS: &str = "order_id,customer_id,order_date,revenue\n\
                      o1,c1,2025-06-01,10.00\n\
                      o2,c2,2025-06-02,20.00\n\
                      o3,c3,2025-06-03,30.00\n";

fn day(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

fn setup() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("s.db")).unwrap();
    (dir, store)
}

fn append(path: &std::path::Path, text: &str) {
    let mut f = std::fs::OpenOptions::new().append(true).open(path).unwrap();
    f.write_all(text.as_bytes()).unwrap();
}

#[test]
fn importing_the_same_file_twice_changes_nothing() {
    let (dir, mut store) = setup();
    let path = dir.path().join("orders.csv");
    std::fs::write(&path, ORDERS).unwrap();
    let first = import(&mut store, &path);
    assert_eq!((first.rows_read, first.rows_upserted), (3, 3));
    let before = dump(&store, "orders", "order_id");

    let again = import(&mut store, &path);
    assert_eq!(
        (again.rows_read, again.rows_upserted, again.rows_rejected),
        (0, 0, 0)
    );
    assert!(again.touched.is_empty());

    // The same rows under another name are read whole, and all found unchanged.
    let copy = dir.path().join("orders_copy.csv");
    std::fs::copy(&path, &copy).unwrap();
    let copied = import(&mut store, &copy);
    assert_eq!(
        (
            copied.rows_read,
            copied.rows_upserted,
            copied.rows_unchanged
        ),
        (3, 0, 3)
    );
    assert_eq!(dump(&store, "orders", "order_id"), before);
    assert_eq!(count(&store, "orders"), 3);
    assert_eq!(count(&store, "import_log"), 3);
}

#[test]
fn an_overlapping_file_updates_changed_rows_and_reports_their_days() {
    let (dir, mut store) = setup();
    let path = dir.path().join("orders.csv");
    std::fs::write(&path, ORDERS).unwrap();
    let first = import(&mut store, &path);
    assert_eq!(
        first.touched.days["orders"]
            .iter()
            .copied()
            .collect::<Vec<_>>(),
        [day("2025-06-01"), day("2025-06-02"), day("2025-06-03")]
    );

    let overlap = dir.path().join("orders_june.csv");
    std::fs::write(
        &overlap,
        "order_id,customer_id,order_date,revenue\n\
         o2,c2,2025-06-05,25.50\n\
         o3,c3,2025-06-03,30\n\
         o4,c4,2025-06-06,1\n",
    )
    .unwrap();
    let report = import(&mut store, &overlap);
    assert_eq!(
        (
            report.rows_read,
            report.rows_upserted,
            report.rows_unchanged
        ),
        (3, 2, 1)
    );
    // o2 moved from the 2nd to the 5th: both days' rollups change.
    assert_eq!(
        report.touched.days["orders"]
            .iter()
            .copied()
            .collect::<Vec<_>>(),
        [day("2025-06-02"), day("2025-06-05"), day("2025-06-06")]
    );
    assert_eq!(
        dump(&store, "orders", "order_id"),
        [
            "o1|c1|2025-06-01|1000|completed|NULL|NULL|NULL",
            "o2|c2|2025-06-05|2550|completed|NULL|NULL|NULL",
            "o3|c3|2025-06-03|3000|completed|NULL|NULL|NULL",
            "o4|c4|2025-06-06|100|completed|NULL|NULL|NULL",
        ]
    );
}

#[test]
fn a_grown_file_imports_only_its_new_rows() {
    let (dir, mut store) = setup();
    let path = dir.path().join("orders.csv");
    std::fs::write(&path, ORDERS).unwrap();
    import(&mut store, &path);
    append(&path, "o4,c4,2025-06-04,40\no5,c5,2025-06-05,-1\n");
    let report = import(&mut store, &path);
    assert!(report.tail);
    assert_eq!(
        (report.rows_read, report.rows_upserted, report.rows_rejected),
        (2, 1, 1)
    );
    // Line numbers count from the top of the file, not from where reading resumed.
    let rejects = store.recent_rejects(1).unwrap();
    assert_eq!(rejects[0].line, 6);
    assert_eq!(rejects[0].raw, "o5,c5,2025-06-05,-1");
    assert_eq!(count(&store, "orders"), 4);
    // The rejects file gathers the rejects of the tail imports.
    append(&path, "o6,c6,2025-06-06,x\n");
    let report = import(&mut store, &path);
    assert_eq!((report.rows_read, report.rows_rejected), (1, 1));
    let text = std::fs::read_to_string(report.rejects_file.unwrap()).unwrap();
    assert_eq!(text.lines().count(), 3, "{text}");
}

#[test]
fn a_replaced_or_truncated_file_is_imported_whole() {
    let (dir, mut store) = setup();
    let path = dir.path().join("orders.csv");
    std::fs::write(&path, ORDERS).unwrap();
    import(&mut store, &path);

    // Same length, first row edited: not a tail.
    std::fs::write(
        &path,
        ORDERS.replace("o1,c1,2025-06-01,10.00", "o1,c1,2025-06-01,11.00"),
    )
    .unwrap();
    let report = import(&mut store, &path);
    assert!(!report.tail);
    assert_eq!((report.rows_read, report.rows_upserted), (3, 1));

    // Truncated to fewer rows.
    std::fs::write(
        &path,
        "order_id,customer_id,order_date,revenue\no9,c9,2025-06-09,9\n",
    )
    .unwrap();
    let report = import(&mut store, &path);
    assert!(!report.tail);
    assert_eq!((report.rows_read, report.rows_upserted), (1, 1));

    // Replaced by a longer file whose top differs.
    let longer = format!("{ORDERS}o7,c7,2025-06-07,7\n").replace("c1", "c0");
    std::fs::write(&path, longer).unwrap();
    let report = import(&mut store, &path);
    assert!(!report.tail);
    assert_eq!(report.rows_read, 4);
    assert_eq!(count(&store, "orders"), 5);
}

#[test]
fn an_unfinished_last_line_waits_for_its_newline() {
    let (dir, mut store) = setup();
    let path = dir.path().join("events.csv");
    std::fs::write(
        &path,
        "user_id,ts,name\nu1,2025-06-01T10:00:00Z,signup\nu2,2025-06-01T10:05:00Z,sig",
    )
    .unwrap();
    let still_writing = ImportOptions {
        file_is_complete: false,
        ..options()
    };
    let report = import_file(&mut store, &path, &still_writing).unwrap();
    assert_eq!((report.rows_read, report.held_back_bytes), (1, 27));
    append(&path, "nup\n");
    let report = import_file(&mut store, &path, &still_writing).unwrap();
    assert!(report.tail);
    assert_eq!((report.rows_read, report.held_back_bytes), (1, 0));
    // Keyed by a hash of the row: a half line imported early would have left a stray event.
    assert_eq!(
        dump(&store, "events", "ts")
            .iter()
            .map(|r| r.split('|').nth(5).unwrap().to_string())
            .collect::<Vec<_>>(),
        ["signup", "signup"]
    );
}

#[test]
fn a_complete_file_without_a_final_newline_imports_every_row_once() {
    let (dir, mut store) = setup();
    let path = dir.path().join("orders.csv");
    std::fs::write(&path, ORDERS.trim_end().trim_end_matches(".00")).unwrap();
    let report = import(&mut store, &path);
    assert_eq!((report.rows_read, report.rows_upserted), (3, 3));
    let again = import(&mut store, &path);
    assert_eq!(again.rows_read, 0);
    // The last line was finished later: it is read again and updated, not duplicated.
    append(&path, "5\no4,c4,2025-06-04,4\n");
    let report = import(&mut store, &path);
    assert!(report.tail);
    assert_eq!((report.rows_read, report.rows_upserted), (2, 2));
    assert_eq!(count(&store, "orders"), 4);
    assert_eq!(
        dump(&store, "orders", "order_id")[2],
        "o3|c3|2025-06-03|30500|completed|NULL|NULL|NULL"
    );
}

#[test]
fn ndjson_grows_by_tail_too() {
    let (dir, mut store) = setup();
    let path = dir.path().join("events.ndjson");
    std::fs::write(
        &path,
        "{\"user_id\":\"u1\",\"ts\":\"2025-06-01T10:00:00Z\",\"name\":\"a\"}\n",
    )
    .unwrap();
    import(&mut store, &path);
    append(
        &path,
        "{\"user_id\":\"u1\",\"ts\":\"2025-06-01T11:00:00Z\",\"name\":\"b\"}\n",
    );
    let report = import(&mut store, &path);
    assert!(report.tail);
    assert_eq!((report.rows_read, report.rows_upserted), (1, 1));
    assert_eq!(count(&store, "events"), 2);
}

#[test]
fn a_file_with_no_complete_line_yet_waits_quietly() {
    let (dir, mut store) = setup();
    let path = dir.path().join("orders.csv");
    std::fs::write(&path, "order_id,customer_id,order_d").unwrap();
    let still_writing = ImportOptions {
        file_is_complete: false,
        ..options()
    };
    let report = import_file(&mut store, &path, &still_writing).unwrap();
    assert_eq!((report.rows_read, report.held_back_bytes), (0, 28));
    append(&path, "ate,revenue\no1,c1,2025-06-01,1\n");
    let report = import_file(&mut store, &path, &still_writing).unwrap();
    assert!(!report.tail);
    assert_eq!((report.rows_read, report.rows_upserted), (1, 1));
}

fn still_writing() -> ImportOptions {
    ImportOptions {
        file_is_complete: false,
        ..options()
    }
}

#[test]
fn a_last_line_held_back_while_writing_is_imported_once_the_file_is_complete() {
    let (dir, mut store) = setup();
    let path = dir.path().join("orders.csv");
    std::fs::write(&path, ORDERS.trim_end()).unwrap();
    let report = import_file(&mut store, &path, &still_writing()).unwrap();
    assert_eq!((report.rows_read, report.held_back_bytes), (2, 22));
    // The watcher saw the file settle: the last line is finished after all.
    let report = import_file(&mut store, &path, &options()).unwrap();
    assert_eq!((report.rows_read, report.rows_upserted), (1, 1));
    assert_eq!(count(&store, "orders"), 3);
    // Every later import, watched or one-shot, knows it has it all.
    assert_eq!(import(&mut store, &path).rows_read, 0);
    let report = import_file(&mut store, &path, &still_writing()).unwrap();
    assert_eq!((report.rows_read, report.held_back_bytes), (0, 0));
    // Its newline and more rows arrive: read on after that line, counted once.
    append(&path, "\no4,c4,2025-06-04,40\n");
    let report = import_file(&mut store, &path, &still_writing()).unwrap();
    assert!(report.tail);
    assert_eq!((report.rows_read, report.rows_upserted), (1, 1));
    assert_eq!(count(&store, "orders"), 4);
    assert_eq!(count(&store, "rejects"), 0);
}

#[test]
fn a_bad_last_line_finished_later_is_rejected_once() {
    let (dir, mut store) = setup();
    let path = dir.path().join("orders.csv");
    std::fs::write(&path, format!("{ORDERS}o4,c4,2025-06-04,-4")).unwrap();
    let report = import(&mut store, &path);
    assert_eq!((report.rows_read, report.rows_rejected), (4, 1));
    // Some writers start each row with its newline: the bad row was whole after all.
    append(&path, "\no5,c5,2025-06-05,5");
    let report = import(&mut store, &path);
    assert_eq!((report.rows_read, report.rows_rejected), (1, 0));
    append(&path, "\r\no6,c6,2025-06-06,6\n");
    let report = import(&mut store, &path);
    assert_eq!((report.rows_read, report.rows_rejected), (1, 0));
    assert_eq!(count(&store, "rejects"), 1);
    assert_eq!(count(&store, "orders"), 5);
    // A quoted field left open is not whole: a newline does not finish it.
    let path = dir.path().join("surveys.csv");
    std::fs::write(
        &path,
        "response_id,date,kind,score,comment\nr1,2025-06-01,nps,9,\"open",
    )
    .unwrap();
    let report = import(&mut store, &path);
    assert_eq!((report.rows_read, report.rows_rejected), (1, 0));
    append(&path, "\nstill open\"\n");
    let report = import(&mut store, &path);
    assert_eq!((report.rows_read, report.rows_upserted), (1, 1));
    let comment: String = store
        .conn()
        .query_row(
            "SELECT comment FROM surveys WHERE response_id = 'r1'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(comment, "open\nstill open");
}

#[test]
fn a_last_line_extended_after_it_was_imported_is_read_again() {
    let (dir, mut store) = setup();
    let path = dir.path().join("orders.csv");
    std::fs::write(&path, ORDERS.trim_end().trim_end_matches(".00")).unwrap();
    import_file(&mut store, &path, &still_writing()).unwrap();
    import_file(&mut store, &path, &options()).unwrap();
    // The writer had only paused: the rest of that line, then another.
    append(&path, "5.5\no4,c4,2025-06-04,4\n");
    let report = import_file(&mut store, &path, &still_writing()).unwrap();
    assert!(report.tail);
    assert_eq!((report.rows_read, report.rows_upserted), (2, 2));
    let fresh_dir = tempfile::tempdir().unwrap();
    let mut fresh = Store::open(&fresh_dir.path().join("s.db")).unwrap();
    import(&mut fresh, &path);
    assert_eq!(
        dump(&store, "orders", "order_id"),
        dump(&fresh, "orders", "order_id")
    );
    assert_eq!(
        dump(&store, "orders", "order_id")[2],
        "o3|c3|2025-06-03|30550|completed|NULL|NULL|NULL"
    );
}

#[test]
fn ndjson_last_line_without_newline_is_imported_once_complete() {
    let (dir, mut store) = setup();
    let path = dir.path().join("events.ndjson");
    std::fs::write(
        &path,
        "{\"user_id\":\"u1\",\"ts\":\"2025-06-01T10:00:00Z\",\"name\":\"a\"}\n\
         {\"user_id\":\"u1\",\"ts\":\"2025-06-01T11:00:00Z\",\"name\":\"b\"}",
    )
    .unwrap();
    let report = import_file(&mut store, &path, &still_writing()).unwrap();
    assert_eq!(report.rows_read, 1);
    let report = import_file(&mut store, &path, &options()).unwrap();
    assert_eq!(report.rows_read, 1);
    assert_eq!(count(&store, "events"), 2);
    assert_eq!(import(&mut store, &path).rows_read, 0);
}

#[test]
fn a_cr_only_file_is_imported_while_it_is_written() {
    let (dir, mut store) = setup();
    let path = dir.path().join("orders.csv");
    std::fs::write(&path, ORDERS.replace('\n', "\r")).unwrap();
    let report = import_file(&mut store, &path, &still_writing()).unwrap();
    assert_eq!((report.rows_read, report.held_back_bytes), (3, 0));
    append(&path, "o4,c4,2025-06-04,40\r");
    let report = import_file(&mut store, &path, &still_writing()).unwrap();
    assert!(report.tail);
    assert_eq!((report.rows_read, report.rows_upserted), (1, 1));
    assert_eq!(count(&store, "orders"), 4);

    let path = dir.path().join("events.ndjson");
    std::fs::write(
        &path,
        "{\"user_id\":\"u1\",\"ts\":\"2025-06-01T10:00:00Z\",\"name\":\"a\"}\r\
         {\"user_id\":\"u1\",\"ts\":\"2025-06-01T11:00:00Z\",\"name\":\"b\"}\r",
    )
    .unwrap();
    let report = import_file(&mut store, &path, &still_writing()).unwrap();
    assert_eq!((report.rows_read, report.rows_upserted), (2, 2));
}

#[test]
fn a_quoted_field_spanning_lines_split_across_two_appends_is_imported_whole() {
    let (dir, mut store) = setup();
    let path = dir.path().join("surveys.csv");
    std::fs::write(
        &path,
        "response_id,date,kind,score,comment\n\
         r1,2025-06-01,nps,9,fine\n\
         r2,2025-06-02,nps,3,\"first line\n",
    )
    .unwrap();
    let report = import_file(&mut store, &path, &still_writing()).unwrap();
    assert_eq!((report.rows_read, report.rows_rejected), (1, 0));
    append(
        &path,
        "second line, \"\"quoted\"\"\"\nr3,2025-06-03,nps,10,\n",
    );
    let report = import_file(&mut store, &path, &still_writing()).unwrap();
    assert_eq!(
        (report.rows_read, report.rows_upserted, report.rows_rejected),
        (2, 2, 0)
    );
    let comment: String = store
        .conn()
        .query_row(
            "SELECT comment FROM surveys WHERE response_id = 'r2'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(comment, "first line\nsecond line, \"quoted\"");
    assert_eq!(count(&store, "rejects"), 0);
}

/// Every rollup row of the store, table by table, to compare two stores by.
fn rollups(store: &Store) -> Vec<String> {
    let tables: Vec<String> = store
        .conn()
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'ru\\_%' ESCAPE '\\' ORDER BY name")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    tables
        .iter()
        .flat_map(|t| {
            dump(store, t, "1, 2, 3")
                .into_iter()
                .map(move |row| format!("{t}: {row}"))
        })
        // Distinct counts of zero stay where an incremental refresh emptied a period.
        .filter(|row| !(row.starts_with("ru_distinct") && row.ends_with("|0")))
        .collect()
}

/// A fresh store with `path` imported once, as it is now.
fn one_shot(paths: &[&std::path::Path]) -> (tempfile::TempDir, Store) {
    let (dir, mut store) = setup();
    for path in paths {
        import(&mut store, path);
    }
    (dir, store)
}

#[test]
fn an_event_line_finished_after_a_pause_is_one_event_not_two() {
    let (dir, mut store) = setup();
    let path = dir.path().join("events.csv");
    std::fs::write(
        &path,
        "user_id,ts,name\nu1,2025-06-01T10:00:00Z,signup\nu2,2025-06-02T10:05:00Z,sig",
    )
    .unwrap();
    // As the watcher drives it: complete lines while the file changes, the last line
    // once it stayed unchanged for the settle time (the writer paused mid-line).
    let report = import_file(&mut store, &path, &still_writing()).unwrap();
    assert_eq!((report.rows_read, report.held_back_bytes), (1, 27));
    let report = import_file(&mut store, &path, &options()).unwrap();
    assert_eq!((report.rows_read, report.rows_upserted), (1, 1));
    assert_eq!(count(&store, "events"), 2);
    // The writer goes on: the rest of that line, and another event.
    append(&path, "nup\nu3,2025-06-03T09:00:00Z,login\n");
    let report = import_file(&mut store, &path, &still_writing()).unwrap();
    assert!(report.tail);
    assert_eq!((report.rows_read, report.rows_upserted), (2, 2));
    // The day of the cut event is refreshed: it had that event, now another.
    assert!(report.touched.days["events"].contains(&day("2025-06-02")));
    let names = |store: &Store| {
        dump(store, "events", "ts")
            .iter()
            .map(|r| r.split('|').nth(5).unwrap().to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(names(&store), ["signup", "signup", "login"]);
    let (_fresh_dir, fresh) = one_shot(&[&path]);
    assert_eq!(dump(&store, "events", "ts"), dump(&fresh, "events", "ts"));
    assert_eq!(rollups(&store), rollups(&fresh));
}

#[test]
fn an_order_whose_id_was_cut_by_a_pause_leaves_no_row_under_the_cut_id() {
    let (dir, mut store) = setup();
    let path = dir.path().join("orders.csv");
    std::fs::write(
        &path,
        "customer_id,order_date,revenue,order_id\n\
         c1,2025-06-01,10,o-1\n\
         c2,2025-06-02,20,o-12",
    )
    .unwrap();
    import_file(&mut store, &path, &still_writing()).unwrap();
    import_file(&mut store, &path, &options()).unwrap();
    assert_eq!(count(&store, "orders"), 2);
    append(&path, "3\n");
    let report = import_file(&mut store, &path, &still_writing()).unwrap();
    assert_eq!((report.rows_read, report.rows_upserted), (1, 1));
    let ids: Vec<String> = dump(&store, "orders", "order_id")
        .iter()
        .map(|r| r.split('|').next().unwrap().to_string())
        .collect();
    assert_eq!(ids, ["o-1", "o-123"]);
    let (_fresh_dir, fresh) = one_shot(&[&path]);
    assert_eq!(rollups(&store), rollups(&fresh));
}

#[test]
fn a_cut_id_naming_a_row_of_another_file_puts_that_row_back() {
    let (dir, mut store) = setup();
    let other = dir.path().join("orders_old.csv");
    // It has a column the cut file lacks: that column is put back too.
    std::fs::write(
        &other,
        "order_id,customer_id,order_date,revenue,channel\no-12,c1,2025-06-01,10,web\n",
    )
    .unwrap();
    import(&mut store, &other);
    let path = dir.path().join("orders.csv");
    std::fs::write(
        &path,
        "customer_id,order_date,revenue,order_id\nc9,2025-06-09,99,o-12",
    )
    .unwrap();
    // Settled mid-line: the cut id names the other file's order, which it overwrites.
    import_file(&mut store, &path, &options()).unwrap();
    assert_eq!(
        dump(&store, "orders", "order_id"),
        ["o-12|c9|2025-06-09|9900|completed|web|NULL|NULL"]
    );
    append(&path, "3\n");
    import_file(&mut store, &path, &still_writing()).unwrap();
    assert_eq!(
        dump(&store, "orders", "order_id"),
        [
            "o-12|c1|2025-06-01|1000|completed|web|NULL|NULL",
            "o-123|c9|2025-06-09|9900|completed|NULL|NULL|NULL",
        ]
    );
    let (_fresh_dir, fresh) = one_shot(&[&other, &path]);
    assert_eq!(rollups(&store), rollups(&fresh));
}

#[test]
fn a_cut_line_rejected_then_valid_then_rejected_counts_only_as_it_ends() {
    let (dir, mut store) = setup();
    let path = dir.path().join("orders.csv");
    std::fs::write(&path, format!("{ORDERS}o4,c4,2025-06-0")).unwrap();
    // Each settled import takes the cut line as it is then.
    let report = import_file(&mut store, &path, &options()).unwrap();
    assert_eq!((report.rows_read, report.rows_rejected), (4, 1));
    let rejects_file = report.rejects_file.unwrap();
    // Valid once longer: the reject of the cut line goes, in the store and beside it.
    append(&path, "4,4");
    let report = import_file(&mut store, &path, &options()).unwrap();
    assert_eq!((report.rows_read, report.rows_upserted), (1, 1));
    assert_eq!(count(&store, "rejects"), 0);
    assert!(!rejects_file.exists());
    assert_eq!(count(&store, "orders"), 4);
    // Bad once finished: the row of the cut line goes, and the line is rejected once.
    append(&path, "x\n");
    let report = import_file(&mut store, &path, &still_writing()).unwrap();
    assert_eq!((report.rows_read, report.rows_rejected), (1, 1));
    assert_eq!(count(&store, "orders"), 3);
    assert_eq!(count(&store, "rejects"), 1);
    assert_eq!(
        store.recent_rejects(5).unwrap()[0].raw,
        "o4,c4,2025-06-04,4x"
    );
    let text = std::fs::read_to_string(&rejects_file).unwrap();
    assert_eq!(text.lines().count(), 2, "{text}");
    let (_fresh_dir, fresh) = one_shot(&[&path]);
    assert_eq!(
        dump(&store, "orders", "order_id"),
        dump(&fresh, "orders", "order_id")
    );
    assert_eq!(rollups(&store), rollups(&fresh));
}

#[test]
fn a_cut_line_after_a_cr_only_line_end_undoes_only_its_own_reject() {
    let (dir, mut store) = setup();
    let path = dir.path().join("orders.csv");
    // Two rejects on one line number: `\r` alone does not start a new line count.
    std::fs::write(&path, format!("{ORDERS}o1,c1,2025-06-01,-1\ro")).unwrap();
    let report = import_file(&mut store, &path, &options()).unwrap();
    assert_eq!(report.rows_rejected, 2);
    append(&path, "4,c4,2025-06-04,4\n");
    let report = import_file(&mut store, &path, &still_writing()).unwrap();
    assert_eq!((report.rows_read, report.rows_upserted), (1, 1));
    let rejects = store.recent_rejects(5).unwrap();
    assert_eq!(rejects.len(), 1, "{rejects:?}");
    assert_eq!(rejects[0].raw, "o1,c1,2025-06-01,-1");
    let text = std::fs::read_to_string(report.rejects_file.unwrap_or_else(|| {
        dir.path()
            .join("s.db.rejects")
            .read_dir()
            .unwrap()
            .next()
            .unwrap()
            .unwrap()
            .path()
    }))
    .unwrap();
    assert_eq!(text.lines().count(), 2, "{text}");
    assert!(text.contains("o1,c1,2025-06-01,-1"), "{text}");
}
