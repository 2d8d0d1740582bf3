//! Property: a file imported piece by piece as the watcher sees it grow — complete
//! records after each append, the rest once it settled — ends in exactly the store a
//! one-shot import of the final file gives. Appends split records anywhere: inside
//! quoted fields with line breaks, between `\r` and `\n`, before a missing final newline.
//! The writer may also pause for longer than the settle time — just before a row's line
//! end (as writers that start each row with its newline do), or anywhere in a row (a
//! buffer flushed mid-line): the row then imports as it is, cut, and once finished must
//! count once, as finished — no row under a cut key or under the hash of cut values, no
//! reject of the cut line. Rows, rejects and rollups all must match.
#![allow(clippy::unwrap_used)]

mod import_support;

use std::io::Write;

use import_support::{count, dump, options};
use kpi::import::{ImportOptions, import_file};
use kpi::store::Store;
use proptest::prelude::*;

/// One survey row's comment: plain, with the delimiter, quotes or line breaks (which
/// need quoting), or empty.
fn comment() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z ]{0,8}",
        "[a-z]{1,4}(,|\"|\n|\r\n)[a-z]{0,4}(\n|\")?[a-z]{0,3}",
        Just(String::new()),
    ]
}

/// A CSV field, quoted when it must be.
fn field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}

/// (id, day, score, comment, line end); a score of 11 is out of range: a reject.
type SurveyRow = (u8, u8, u8, String, &'static str);

fn survey_row() -> impl Strategy<Value = SurveyRow> {
    (
        0u8..12,
        1u8..28,
        0u8..12,
        comment(),
        prop_oneof![Just("\n"), Just("\r\n"), Just("\r")],
    )
}

/// The file's bytes and where each row's line end starts (where a writer may pause).
fn csv_file(rows: &[SurveyRow], final_newline: bool) -> (Vec<u8>, Vec<usize>) {
    let mut text = String::from("response_id,date,kind,score,comment\r\n");
    let mut pauses = Vec::new();
    for (i, (id, day, score, comment, end)) in rows.iter().enumerate() {
        let last = i + 1 == rows.len();
        let end = if last && !final_newline { "" } else { end };
        text.push_str(&format!(
            "r{id},2025-06-{day:02},nps,{score},{}",
            field(comment)
        ));
        pauses.push(text.len());
        text.push_str(end);
    }
    (text.into_bytes(), pauses)
}

/// (user, second, name, line end) as events without `event_id`: keyed by a hash of the
/// row, so a cut name makes another row.
type EventRow = (u8, u8, String, &'static str);

fn event_row() -> impl Strategy<Value = EventRow> {
    (
        0u8..5,
        0u8..60,
        "[a-z]{1,6}",
        prop_oneof![Just("\n"), Just("\r\n"), Just("\r")],
    )
}

fn events_csv_file(rows: &[EventRow], final_newline: bool) -> (Vec<u8>, Vec<usize>) {
    let mut text = String::from("user_id,ts,name\n");
    let mut pauses = Vec::new();
    for (i, (user, second, name, end)) in rows.iter().enumerate() {
        let last = i + 1 == rows.len();
        let end = if last && !final_newline { "" } else { end };
        text.push_str(&format!("u{user},2025-06-01T10:00:{second:02}Z,{name}"));
        pauses.push(text.len());
        text.push_str(end);
    }
    (text.into_bytes(), pauses)
}

fn ndjson_file(rows: &[EventRow], final_newline: bool) -> (Vec<u8>, Vec<usize>) {
    let mut text = String::new();
    let mut pauses = Vec::new();
    for (i, (user, second, name, end)) in rows.iter().enumerate() {
        let last = i + 1 == rows.len();
        let end = if last && !final_newline { "" } else { end };
        text.push_str(&format!(
            "{{\"user_id\":\"u{user}\",\"ts\":\"2025-06-01T10:00:{second:02}Z\",\"name\":\"{name}\"}}"
        ));
        pauses.push(text.len());
        text.push_str(end);
    }
    (text.into_bytes(), pauses)
}

/// What is compared of a store: the table's rows, the number of rejects, the rows of
/// the rejects file and every rollup row.
type Outcome = (Vec<String>, i64, usize, Vec<String>);

/// Every rollup row of the store, table by table.
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

/// The rows of the store's rejects files (all files of the folder).
fn rejects_file_rows(store_path: &std::path::Path) -> usize {
    let mut dir = store_path.as_os_str().to_owned();
    dir.push(".rejects");
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .map(|e| {
                    let path = e.unwrap().path();
                    csv::Reader::from_path(path).unwrap().records().count()
                })
                .sum()
        })
        .unwrap_or(0)
}

fn outcome(store: &Store, store_path: &std::path::Path, table: &str, order_by: &str) -> Outcome {
    (
        dump(store, table, order_by),
        count(store, "rejects"),
        rejects_file_rows(store_path),
        rollups(store),
    )
}

/// The store a one-shot import of `bytes` gives, and the one importing it in the pieces
/// cut at `cuts` (complete records only) and at `settled` (the whole file so far, as
/// once the writer paused for the settle time) gives.
fn both_ways(
    name: &str,
    table: &str,
    order_by: &str,
    bytes: &[u8],
    cuts: &[usize],
    settled: &[usize],
) -> (Outcome, Outcome) {
    let dir = tempfile::tempdir().unwrap();

    let whole = dir.path().join("whole");
    std::fs::create_dir(&whole).unwrap();
    let path = whole.join(name);
    std::fs::write(&path, bytes).unwrap();
    let mut store = Store::open(&whole.join("s.db")).unwrap();
    import_file(&mut store, &path, &options()).unwrap();
    let one_shot = outcome(&store, &whole.join("s.db"), table, order_by);

    let pieces = dir.path().join("pieces");
    std::fs::create_dir(&pieces).unwrap();
    let path = pieces.join(name);
    let mut store = Store::open(&pieces.join("s.db")).unwrap();
    let growing = ImportOptions {
        file_is_complete: false,
        ..options()
    };
    let mut steps: Vec<(usize, bool)> = cuts
        .iter()
        .map(|&c| (c % (bytes.len() + 1), false))
        .chain(settled.iter().map(|&at| (at % (bytes.len() + 1), true)))
        .collect();
    steps.sort_unstable();
    let mut file = std::fs::File::create(&path).unwrap();
    let mut written = 0;
    for (cut, settled) in steps {
        file.write_all(&bytes[written..cut]).unwrap();
        file.flush().unwrap();
        written = cut;
        let options = if settled { options() } else { growing.clone() };
        // An empty file is an error, as it should be; it changes nothing.
        let _ = import_file(&mut store, &path, &options);
    }
    file.write_all(&bytes[written..]).unwrap();
    file.flush().unwrap();
    import_file(&mut store, &path, &growing).unwrap();
    // The file settled: its last line is taken even without its newline.
    import_file(&mut store, &path, &options()).unwrap();
    let in_pieces = outcome(&store, &pieces.join("s.db"), table, order_by);
    (one_shot, in_pieces)
}

/// Where the writer pauses for the settle time: before a row's line end, or anywhere.
fn pause() -> impl Strategy<Value = (bool, usize)> {
    (any::<bool>(), any::<usize>())
}

fn pause_points(pauses: &[(bool, usize)], row_ends: &[usize]) -> Vec<usize> {
    pauses
        .iter()
        .map(|&(at_line_end, p)| {
            if at_line_end {
                row_ends[p % row_ends.len()]
            } else {
                p
            }
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn csv_imported_while_it_grows_equals_a_one_shot_import(
        rows in prop::collection::vec(survey_row(), 1..8),
        final_newline in any::<bool>(),
        cuts in prop::collection::vec(any::<usize>(), 0..6),
        pauses in prop::collection::vec(pause(), 0..4),
    ) {
        let (bytes, row_ends) = csv_file(&rows, final_newline);
        let settled = pause_points(&pauses, &row_ends);
        let (one_shot, in_pieces) =
            both_ways("surveys.csv", "surveys", "response_id", &bytes, &cuts, &settled);
        prop_assert_eq!(in_pieces, one_shot, "{}", String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn ndjson_imported_while_it_grows_equals_a_one_shot_import(
        rows in prop::collection::vec(event_row(), 1..8),
        final_newline in any::<bool>(),
        cuts in prop::collection::vec(any::<usize>(), 0..6),
        pauses in prop::collection::vec(pause(), 0..4),
    ) {
        let (bytes, row_ends) = ndjson_file(&rows, final_newline);
        let settled = pause_points(&pauses, &row_ends);
        let (one_shot, in_pieces) =
            both_ways("events.ndjson", "events", "ts, user_id, name", &bytes, &cuts, &settled);
        prop_assert_eq!(in_pieces, one_shot, "{}", String::from_utf8_lossy(&bytes));
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn csv_events_imported_while_they_grow_equal_a_one_shot_import(
        rows in prop::collection::vec(event_row(), 1..8),
        final_newline in any::<bool>(),
        cuts in prop::collection::vec(any::<usize>(), 0..6),
        pauses in prop::collection::vec(pause(), 0..4),
    ) {
        let (bytes, row_ends) = events_csv_file(&rows, final_newline);
        let settled = pause_points(&pauses, &row_ends);
        let (one_shot, in_pieces) =
            both_ways("events.csv", "events", "ts, user_id, name", &bytes, &cuts, &settled);
        prop_assert_eq!(in_pieces, one_shot, "{}", String::from_utf8_lossy(&bytes));
    }
}

#[test]
fn a_pause_mid_line_is_generated_and_leaves_no_cut_event() {
    // The strategy above must produce writers pausing inside a row, where the cut row is
    // a valid row of its own (another hash); this is the smallest such case.
    let rows = vec![
        (1, 0, "signup".to_string(), "\n"),
        (2, 5, "signup".to_string(), "\n"),
    ];
    let (bytes, row_ends) = events_csv_file(&rows, true);
    let inside_the_name = row_ends[1] - 3;
    assert!(pause_points(&[(false, inside_the_name)], &row_ends) == [inside_the_name]);
    let (one_shot, in_pieces) = both_ways(
        "events.csv",
        "events",
        "ts, user_id, name",
        &bytes,
        &[],
        &[inside_the_name],
    );
    assert_eq!(one_shot.0.len(), 2);
    assert_eq!(in_pieces, one_shot);
}

#[test]
fn the_pieces_really_split_records() {
    // The strategy above must produce the hard cases, not only whole lines.
    let rows = vec![(1, 2, 9, "a\nb".to_string(), "\r\n")];
    let (bytes, _) = csv_file(&rows, false);
    let text = String::from_utf8(bytes.clone()).unwrap();
    assert_eq!(
        text,
        "response_id,date,kind,score,comment\r\nr1,2025-06-02,nps,9,\"a\nb\""
    );
    let inside_quotes = text.find("a\n").unwrap() + 2;
    let (one_shot, in_pieces) = both_ways(
        "surveys.csv",
        "surveys",
        "response_id",
        &bytes,
        &[inside_quotes],
        &[],
    );
    assert_eq!(one_shot.0.len(), 1);
    assert_eq!(in_pieces, one_shot);
}
