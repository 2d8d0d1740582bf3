//! Malformed input of every kind: each gives one clear file error (store untouched) or
//! reject rows with line, column and reason, while the good rows still import.
#![allow(clippy::unwrap_used)]

mod import_support;

use import_support::{count, options};
use kpi::import::{ImportOptions, import_file};
use kpi::store::Store;

const HEADER: &str = "order_id,customer_id,order_date,revenue\n";
const GOOD: &str = "ok1,c1,2025-06-01,10\n";

enum Expect {
    /// The whole file fails with exactly this reason; nothing is stored.
    FileError(&'static str),
    /// These rejects (line, column, reason), and this many good rows stored.
    Rejects(&'static [(u64, &'static str, &'static str)], i64),
}

struct Case {
    name: &'static str,
    file: &'static str,
    bytes: Vec<u8>,
    expect: Expect,
}

fn orders(rows: &str) -> Vec<u8> {
    format!("{HEADER}{GOOD}{rows}").into_bytes()
}

fn cases() -> Vec<Case> {
    use Expect::*;
    let case = |name, file, bytes, expect| Case {
        name,
        file,
        bytes,
        expect,
    };
    let mut big_field = HEADER.as_bytes().to_vec();
    big_field.extend(GOOD.as_bytes());
    big_field.extend(b"b1,c1,2025-06-01,");
    big_field.extend(std::iter::repeat_n(b'9', 10 * 1024 * 1024));
    big_field.push(b'\n');
    let mut late_latin1 = HEADER.as_bytes().to_vec();
    for i in 0..3000 {
        late_latin1.extend(format!("ok{i},c1,2025-06-01,10\n").as_bytes());
    }
    late_latin1.extend(b"b1,caf\xE9,2025-06-01,10\n");
    vec![
        case(
            "too few fields",
            "orders.csv",
            orders("b1,c1,2025-06-01\n"),
            Rejects(&[(3, "", "expected 4 fields, found 3")], 1),
        ),
        case(
            "too many fields",
            "orders.csv",
            orders("b1,c1,2025-06-01,5,extra\n"),
            Rejects(&[(3, "", "expected 4 fields, found 5")], 1),
        ),
        case(
            "unclosed quote swallows the rest of the file",
            "orders.csv",
            orders("b1,\"c1,2025-06-01,5\nok2,c2,2025-06-02,6\n"),
            Rejects(
                &[(
                    3,
                    "",
                    "expected 4 fields, found 2 (a quoted field runs from line 3 to line 4: \
                     is a closing quote missing?)",
                )],
                1,
            ),
        ),
        case(
            "not UTF-8 near the top",
            "orders.csv",
            b"order_id,customer_id,order_date,revenue\nok1,c1,2025-06-01,10\nb1,caf\xE9,2025-06-01,10\n".to_vec(),
            FileError("not UTF-8 text (byte 0xE9 on line 3); save the file as UTF-8"),
        ),
        case(
            "not UTF-8 deep in a big file",
            "orders.csv",
            late_latin1,
            Rejects(
                &[(3002, "customer_id", "not UTF-8 text (byte 0xE9); save the file as UTF-8")],
                3000,
            ),
        ),
        case(
            "binary file",
            "orders.csv",
            b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec(),
            FileError("binary file (NUL byte at offset 8), not CSV, NDJSON or JSON text"),
        ),
        case(
            "empty file",
            "orders.csv",
            Vec::new(),
            FileError("empty file: no header and no rows"),
        ),
        case("header only", "orders.csv", HEADER.into(), Rejects(&[], 0)),
        case(
            "missing required column",
            "orders.csv",
            b"order_id,customer_id,order_date\nx,c1,2025-06-01\n".to_vec(),
            FileError(
                "missing required column revenue for table orders \
                 (header: order_id, customer_id, order_date)",
            ),
        ),
        case(
            "duplicate header",
            "orders.csv",
            b"order_id,customer_id,order_date,revenue,Revenue\n".to_vec(),
            FileError(
                "header names column revenue twice (\"revenue\" in field 4 and \"Revenue\" in field 5)",
            ),
        ),
        case(
            "unknown table",
            "sales.csv",
            orders(""),
            FileError(
                "cannot tell the table from the file name: it must start with a table name \
                 (customers, orders, refunds, subscriptions, events, surveys, spend, funnel, \
                 costs, tickets, work_items, annotations, metrics), or pass --table",
            ),
        ),
        case(
            "impossible date",
            "orders.csv",
            orders("b1,c1,2025-02-30,5\n"),
            Rejects(&[(3, "order_date", "\"2025-02-30\" is not a calendar day")], 1),
        ),
        case(
            "date in another format",
            "orders.csv",
            orders("b1,c1,06/01/2025,5\n"),
            Rejects(
                &[(3, "order_date", "\"06/01/2025\" is not a date (expected YYYY-MM-DD)")],
                1,
            ),
        ),
        case(
            "not a number",
            "orders.csv",
            orders("b1,c1,2025-06-01,ten\n"),
            Rejects(
                &[(3, "revenue", "\"ten\" is not an amount (expected e.g. 1234.50)")],
                1,
            ),
        ),
        case(
            "thousands separator",
            "orders.csv",
            orders("b1,c1,2025-06-01,\"1,000.00\"\n"),
            Rejects(
                &[(3, "revenue", "\"1,000.00\" is not an amount (expected e.g. 1234.50)")],
                1,
            ),
        ),
        case(
            "fractions of a cent",
            "orders.csv",
            orders("b1,c1,2025-06-01,12.345\n"),
            Rejects(
                &[(
                    3,
                    "revenue",
                    "\"12.345\" has more than two decimals (amounts are stored to the cent)",
                )],
                1,
            ),
        ),
        case(
            "negative revenue",
            "orders.csv",
            orders("b1,c1,2025-06-01,-5\n"),
            Rejects(&[(3, "revenue", "\"-5\" is negative (must be 0 or more)")], 1),
        ),
        case(
            "missing required value",
            "orders.csv",
            orders("b1,,2025-06-01,5\n"),
            Rejects(&[(3, "customer_id", "missing value")], 1),
        ),
        case(
            "unknown enum value",
            "orders.csv",
            b"order_id,customer_id,order_date,revenue,status\nok1,c1,2025-06-01,1,pending\nb1,c1,2025-06-01,1,done\n".to_vec(),
            Rejects(
                &[(3, "status", "\"done\" is not one of completed, cancelled, pending")],
                1,
            ),
        ),
        case(
            "10 MB field",
            "orders.csv",
            big_field,
            Rejects(
                &[(3, "revenue", "field is 10485760 bytes long; the limit is 65536")],
                1,
            ),
        ),
        case(
            "NaN and infinity",
            "metrics.csv",
            b"date,metric,value\n2025-06-01,m,1.5\n2025-06-02,m,NaN\n2025-06-03,m,inf\n".to_vec(),
            Rejects(
                &[
                    (3, "value", "\"NaN\" is not a finite number"),
                    (4, "value", "\"inf\" is not a finite number"),
                ],
                1,
            ),
        ),
        case(
            "negative count",
            "funnel.csv",
            b"date,visitors\n2025-06-01,10\n2025-06-02,-3\n".to_vec(),
            Rejects(&[(3, "visitors", "\"-3\" is negative (must be 0 or more)")], 1),
        ),
        case(
            "survey score outside its scale",
            "surveys.csv",
            b"response_id,date,kind,score\nq1,2025-06-01,csat,5\nq2,2025-06-01,csat,6\n".to_vec(),
            Rejects(&[(3, "score", "score 6 is outside the csat scale (1–5)")], 1),
        ),
        case(
            "subscription ends before it starts",
            "subscriptions.csv",
            b"subscription_id,customer_id,mrr,start_date,end_date\ns1,c1,9,2025-01-01,\ns2,c1,9,2025-03-01,2025-02-01\n".to_vec(),
            Rejects(
                &[(3, "end_date", "end_date 2025-02-01 is before start_date 2025-03-01")],
                1,
            ),
        ),
        case(
            "unparsable timestamp",
            "events.csv",
            b"user_id,ts,name\nu1,2025-06-01T10:00:00Z,a\nu1,last tuesday,b\n".to_vec(),
            Rejects(
                &[(
                    3,
                    "ts",
                    "\"last tuesday\" is not a timestamp (expected RFC 3339 such as \
                     2025-06-01T12:00:00Z, or YYYY-MM-DD HH:MM:SS)",
                )],
                1,
            ),
        ),
        case(
            "NDJSON line that is not JSON",
            "orders.ndjson",
            b"{\"order_id\":\"ok1\",\"customer_id\":\"c1\",\"order_date\":\"2025-06-01\",\"revenue\":1}\n{\"order_id\": \"b1\",\n".to_vec(),
            Rejects(
                &[(2, "", "invalid JSON: EOF while parsing a value at the end of the line")],
                1,
            ),
        ),
        case(
            "NDJSON line that is not an object",
            "orders.ndjson",
            b"{\"order_id\":\"ok1\",\"customer_id\":\"c1\",\"order_date\":\"2025-06-01\",\"revenue\":1}\n[1, 2]\n".to_vec(),
            Rejects(&[(2, "", "not a JSON object: invalid type: sequence, expected a map")], 1),
        ),
        case(
            "NDJSON nested value in a column",
            "orders.ndjson",
            b"{\"order_id\":\"ok1\",\"customer_id\":\"c1\",\"order_date\":\"2025-06-01\",\"revenue\":1}\n{\"order_id\":\"b1\",\"customer_id\":{\"id\":1},\"order_date\":\"2025-06-01\",\"revenue\":1}\n".to_vec(),
            Rejects(
                &[(2, "customer_id", "expected a single value, found an object")],
                1,
            ),
        ),
        case(
            "JSON array cut short",
            "orders.json",
            b"[{\"order_id\":\"ok1\",\"customer_id\":\"c1\",\n".to_vec(),
            FileError("not a JSON array of objects: EOF while parsing an object at line 2, column 0"),
        ),
        case(
            "JSON array element that is not an object",
            "orders.json",
            b"[\n{\"order_id\":\"ok1\",\"customer_id\":\"c1\",\"order_date\":\"2025-06-01\",\"revenue\":1},\n42\n]\n".to_vec(),
            Rejects(
                &[(3, "", "element 2: not a JSON object: invalid type: integer `42`, expected a map")],
                1,
            ),
        ),
    ]
}

fn run(case: &Case, options: &ImportOptions) -> (Store, Result<kpi::import::ImportReport, String>) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(case.file);
    std::fs::write(&path, &case.bytes).unwrap();
    let db = dir.path().join("s.db");
    let mut store = Store::open(&db).unwrap();
    let result = import_file(&mut store, &path, options).map_err(|e| e.reason);
    // Keep the tempdir alive only as long as needed: the store holds its own handle.
    std::mem::forget(dir);
    (store, result)
}

#[test]
fn every_malformed_input_gives_its_error_or_reject_rows() {
    let cases = cases();
    assert!(cases.len() >= 25, "{} cases", cases.len());
    for case in &cases {
        let (store, result) = run(case, &options());
        let table = if case.file.starts_with("sales") {
            "orders"
        } else {
            case.file.split(['.', '_']).next().unwrap()
        };
        match (&case.expect, result) {
            (Expect::FileError(reason), Err(got)) => {
                assert_eq!(got, *reason, "{}", case.name);
                assert_eq!(count(&store, table), 0, "{}: store untouched", case.name);
                let log = store.recent_imports(1).unwrap();
                assert!(!log[0].ok, "{}: failure logged", case.name);
                assert_eq!(log[0].error.as_deref(), Some(*reason));
            }
            (Expect::Rejects(rejects, good), Ok(report)) => {
                assert_eq!(count(&store, table), *good, "{}: good rows", case.name);
                assert_eq!(report.rows_rejected, rejects.len() as u64, "{}", case.name);
                let mut got: Vec<(u64, String, String)> = store
                    .recent_rejects(100)
                    .unwrap()
                    .into_iter()
                    .map(|r| (r.line, r.column.unwrap_or_default(), r.reason))
                    .collect();
                got.reverse();
                let want: Vec<(u64, String, String)> = rejects
                    .iter()
                    .map(|(l, c, r)| (*l, c.to_string(), r.to_string()))
                    .collect();
                assert_eq!(got, want, "{}", case.name);
                if !rejects.is_empty() {
                    let file = report.rejects_file.as_ref().unwrap();
                    let text = std::fs::read(file).unwrap();
                    let lines = text.iter().filter(|&&b| b == b'\n').count();
                    assert!(lines > rejects.len(), "{}: header + rows", case.name);
                }
            }
            (_, got) => panic!("{}: unexpected {got:?}", case.name),
        }
    }
}

#[test]
fn rejects_file_holds_the_original_row_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("orders.csv");
    std::fs::write(
        &path,
        "order_id,customer_id,order_date,revenue\r\nok1,c1,2025-06-01,10\r\n\"b 1\",\"c,1\",2025-06-01,-2\r\n",
    )
    .unwrap();
    let db = dir.path().join("launch.db");
    let mut store = Store::open(&db).unwrap();
    let report = import_file(&mut store, &path, &options()).unwrap();
    let rejects = kpi::import::rejects_path(&db, &std::fs::canonicalize(&path).unwrap());
    assert!(rejects.starts_with(dir.path().join("launch.db.rejects")));
    assert_eq!(report.rejects_file.as_deref(), Some(rejects.as_path()));
    assert_eq!(
        std::fs::read_to_string(&rejects).unwrap(),
        "line,column,reason,row\n\
         3,revenue,\"\"\"-2\"\" is negative (must be 0 or more)\",\"\"\"b 1\"\",\"\"c,1\"\",2025-06-01,-2\"\n"
    );
    // A clean re-import of a fixed file clears the stale rejects file.
    std::fs::write(
        &path,
        "order_id,customer_id,order_date,revenue\nok1,c1,2025-06-01,10\n",
    )
    .unwrap();
    let report = import_file(&mut store, &path, &options()).unwrap();
    assert_eq!(report.rows_rejected, 0);
    assert!(!rejects.exists());
}

#[test]
fn strict_fails_the_whole_file_on_its_first_bad_row() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("orders.csv");
    std::fs::write(&path, orders("b1,c1,2025-06-01,-5\nok2,c1,2025-06-01,1\n")).unwrap();
    let mut store = Store::open(&dir.path().join("s.db")).unwrap();
    let opts = ImportOptions {
        strict: true,
        ..options()
    };
    let err = import_file(&mut store, &path, &opts).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "{}: line 3, column revenue: \"-5\" is negative (must be 0 or more) \
             (--strict: nothing imported)",
            path.display()
        )
    );
    assert_eq!(count(&store, "orders"), 0);
    assert_eq!(count(&store, "rejects"), 0);
}

#[test]
fn unreadable_paths_and_unknown_tables_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open_in_memory().unwrap();
    let err = import_file(&mut store, &dir.path().join("orders.csv"), &options()).unwrap_err();
    assert_eq!(
        err.reason,
        "cannot open: No such file or directory (os error 2)"
    );
    let sub = dir.path().join("orders");
    std::fs::create_dir(&sub).unwrap();
    let err = import_file(&mut store, &sub, &options()).unwrap_err();
    assert_eq!(err.reason, "is a directory, not a file");
    let path = dir.path().join("x.csv");
    std::fs::write(&path, orders("")).unwrap();
    let opts = ImportOptions {
        table: Some("sales".into()),
        ..options()
    };
    let err = import_file(&mut store, &path, &opts).unwrap_err();
    assert!(
        err.reason
            .starts_with("unknown table \"sales\" (known: customers, orders,"),
        "{err}"
    );
}
