//! Property tests: no input of any shape makes a reader, the validator or the whole
//! import panic, and every row read is accounted for (upserted, unchanged or rejected).

use proptest::prelude::*;

use super::source::{Binder, Item};
use super::{ImportOptions, csv_reader, import_file, json_array, ndjson, validate};
use crate::store::Store;
use crate::store::schema;
use crate::store::upsert::Layout;

fn through_readers(bytes: &[u8], table: &str) {
    let spec = schema::table(table).unwrap();
    let binder = Binder::new(spec, None);
    let layout = Layout::of(spec);
    let tz: chrono_tz::Tz = "Europe/Berlin".parse().unwrap();
    let mut sink = |item: Item<'_>| -> Result<(), String> {
        if let Item::Row(row) = item {
            let _ = validate::validate(&layout, tz, &row);
        }
        Ok(())
    };
    let delimiter = csv_reader::detect_delimiter(bytes);
    let _ = csv_reader::read(bytes, 0, delimiter, None, &binder, &mut sink, &mut |_| {});
    let _ = csv_reader::end_of_last_record(bytes, delimiter);
    let _ = csv_reader::read(
        bytes,
        7,
        b';',
        Some("user_id;ts;name"),
        &binder,
        &mut sink,
        &mut |_| {},
    );
    let _ = ndjson::read(bytes, 0, &binder, &mut sink, &mut |_| {});
    let _ = json_array::read(bytes, 0, &binder, &mut sink, &mut |_| {});
}

const TOKENS: &[&str] = &[
    "",
    " ",
    "\"",
    "\"\"",
    ",",
    ";",
    "\t",
    "\n",
    "\r\n",
    "\r",
    "o1",
    "c1",
    "2025-06-01",
    "2025-02-30",
    "12.50",
    "12.345",
    "-1",
    "NaN",
    "inf",
    "1e308",
    "nps",
    "CSAT",
    "completed",
    "done",
    "2025-06-01T12:00:00+02:00",
    "2025-03-30 02:30:00",
    "é",
    "\u{feff}",
    "{",
    "}",
    "[",
    "]",
    ":",
    "\"a\":1",
    "null",
    "99999999999999999999",
    "\0",
    "\\",
    "0.07",
];

fn near_valid() -> impl Strategy<Value = (String, String)> {
    let table = prop::sample::select(vec!["orders", "events", "surveys", "customers", "refunds"]);
    table.prop_flat_map(|t| {
        let names: Vec<String> = schema::table(t)
            .unwrap()
            .columns
            .iter()
            .map(|c| c.name.to_string())
            .chain(["extra".to_string()])
            .collect();
        let header = prop::sample::subsequence(names.clone(), 1..names.len());
        let cell =
            prop::collection::vec(prop::sample::select(TOKENS), 0..3).prop_map(|v| v.concat());
        let rows = prop::collection::vec(prop::collection::vec(cell, 0..8), 0..12);
        (Just(t.to_string()), header, rows).prop_map(|(t, header, rows)| {
            let mut text = header.join(",");
            text.push('\n');
            for row in rows {
                text.push_str(&row.join(","));
                text.push('\n');
            }
            (t, text)
        })
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic_a_reader(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        for table in ["orders", "events", "customers"] {
            through_readers(&bytes, table);
        }
    }

    #[test]
    fn near_valid_files_import_without_panic_and_lose_no_row(
        (table, text) in near_valid(),
        as_json in any::<bool>(),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let (name, bytes) = if as_json {
            // The same cells as NDJSON objects keyed by the header.
            let mut lines = text.lines();
            let header: Vec<&str> = lines.next().unwrap_or("").split(',').collect();
            let body: String = lines
                .map(|l| {
                    let object: serde_json::Map<String, serde_json::Value> = header
                        .iter()
                        .zip(l.split(','))
                        .map(|(k, v)| (k.to_string(), serde_json::Value::String(v.into())))
                        .collect();
                    format!("{}\n", serde_json::Value::Object(object))
                })
                .collect();
            (format!("{table}.ndjson"), body.into_bytes())
        } else {
            (format!("{table}.csv"), text.into_bytes())
        };
        let path = dir.path().join(name);
        std::fs::write(&path, &bytes).unwrap();
        let mut store = Store::open_in_memory().unwrap();
        let options = ImportOptions { file_is_complete: true, ..ImportOptions::default() };
        if let Ok(report) = import_file(&mut store, &path, &options) {
            prop_assert_eq!(
                report.rows_read,
                report.rows_upserted + report.rows_unchanged + report.rows_rejected
            );
        }
    }
}
