//! Helpers shared by the import tests.
#![allow(clippy::unwrap_used, dead_code)]

use std::path::{Path, PathBuf};

use kpi::import::{ImportOptions, ImportReport, import_file};
use kpi::store::Store;
use rusqlite::types::ValueRef;

pub fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/import")
        .join(rel)
}

pub fn options() -> ImportOptions {
    ImportOptions {
        file_is_complete: true,
        ..ImportOptions::default()
    }
}

/// The demo data set of `options` written to `dir/files` and imported file by file, in
/// name order, into a new store `dir/db`.
pub fn demo_imported(dir: &Path, db: &str, options: &kpi::demo::DemoOptions) -> Store {
    let files = dir.join("files");
    kpi::demo::generate(&files, options).unwrap();
    let mut store = Store::open(&dir.join(db)).unwrap();
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&files)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    paths.sort();
    for path in paths {
        import_file(&mut store, &path, &ImportOptions::default()).unwrap();
    }
    store
}

pub fn import(store: &mut Store, path: &Path) -> ImportReport {
    import_file(store, path, &options()).unwrap_or_else(|e| panic!("{e}"))
}

/// Every row of `table` as `a|b|c` (NULL for null), ordered by `order_by`; a 32-hex
/// derived key is shown as `<hash>`.
pub fn dump(store: &Store, table: &str, order_by: &str) -> Vec<String> {
    let mut stmt = store
        .conn()
        .prepare(&format!("SELECT * FROM {table} ORDER BY {order_by}"))
        .unwrap();
    let n = stmt.column_count();
    stmt.query_map([], |row| {
        Ok((0..n)
            .map(|i| match row.get_ref(i).unwrap() {
                ValueRef::Null => "NULL".to_string(),
                ValueRef::Integer(v) => v.to_string(),
                ValueRef::Real(v) => v.to_string(),
                ValueRef::Text(t) => {
                    let t = String::from_utf8_lossy(t).into_owned();
                    if t.len() == 32 && t.bytes().all(|b| b.is_ascii_hexdigit()) {
                        "<hash>".into()
                    } else {
                        t
                    }
                }
                ValueRef::Blob(_) => "<blob>".into(),
            })
            .collect::<Vec<_>>()
            .join("|"))
    })
    .unwrap()
    .collect::<Result<_, _>>()
    .unwrap()
}

pub fn count(store: &Store, table: &str) -> i64 {
    store
        .conn()
        .query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
        .unwrap()
}
