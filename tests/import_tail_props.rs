//! Property: a file imported piece by piece as the watcher sees it grow — complete
//! records after each append, the rest once it settled — ends in exactly the store a
//! one-shot import of the final file gives. Appends split records anywhere: inside
//! quoted fields with line breaks, between `\r` and `\n`, before a missing final newline.
//! The writer may also pause for longer than the settle time just before a row's line
//! end (as writers that start each row with its newline do): the row then imports
//! without it, and must not count twice once its line end comes.
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

/// (user, second, name, line end) as NDJSON events.
type EventRow = (u8, u8, String, &'static str);

fn event_row() -> impl Strategy<Value = EventRow> {
    (
        0u8..5,
        0u8..60,
        "[a-z]{1,6}",
        prop_oneof![Just("\n"), Just("\r\n"), Just("\r")],
    )
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

/// The store a one-shot import of `bytes` gives, and the one importing it in the pieces
/// cut at `cuts` (complete records only) and at `settled` (the whole file so far) gives:
/// (rows, rejects) of each.
fn both_ways(
    name: &str,
    table: &str,
    order_by: &str,
    bytes: &[u8],
    cuts: &[usize],
    settled: &[usize],
) -> ((Vec<String>, i64), (Vec<String>, i64)) {
    let dir = tempfile::tempdir().unwrap();

    let whole = dir.path().join("whole");
    std::fs::create_dir(&whole).unwrap();
    let path = whole.join(name);
    std::fs::write(&path, bytes).unwrap();
    let mut store = Store::open(&whole.join("s.db")).unwrap();
    import_file(&mut store, &path, &options()).unwrap();
    let one_shot = (dump(&store, table, order_by), count(&store, "rejects"));

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
        .chain(settled.iter().map(|&at| (at, true)))
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
    let in_pieces = (dump(&store, table, order_by), count(&store, "rejects"));
    (one_shot, in_pieces)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn csv_imported_while_it_grows_equals_a_one_shot_import(
        rows in prop::collection::vec(survey_row(), 1..8),
        final_newline in any::<bool>(),
        cuts in prop::collection::vec(any::<usize>(), 0..6),
        pauses in prop::collection::vec(any::<usize>(), 0..3),
    ) {
        let (bytes, row_ends) = csv_file(&rows, final_newline);
        let settled: Vec<usize> = pauses.iter().map(|p| row_ends[p % row_ends.len()]).collect();
        let (one_shot, in_pieces) =
            both_ways("surveys.csv", "surveys", "response_id", &bytes, &cuts, &settled);
        prop_assert_eq!(in_pieces, one_shot, "{}", String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn ndjson_imported_while_it_grows_equals_a_one_shot_import(
        rows in prop::collection::vec(event_row(), 1..8),
        final_newline in any::<bool>(),
        cuts in prop::collection::vec(any::<usize>(), 0..6),
        pauses in prop::collection::vec(any::<usize>(), 0..3),
    ) {
        let (bytes, row_ends) = ndjson_file(&rows, final_newline);
        let settled: Vec<usize> = pauses.iter().map(|p| row_ends[p % row_ends.len()]).collect();
        let (one_shot, in_pieces) =
            both_ways("events.ndjson", "events", "ts, user_id, name", &bytes, &cuts, &settled);
        prop_assert_eq!(in_pieces, one_shot, "{}", String::from_utf8_lossy(&bytes));
    }
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
