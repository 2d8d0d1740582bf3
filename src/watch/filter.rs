//! Which files in a watched folder are inputs.
//!
//! Exporters write to a temporary name and rename into place; editors leave swap and
//! backup files. Those must never be imported half-written, so they are ignored until
//! they carry an input's name.

use std::path::Path;

/// File endings the importer reads.
const INPUT_EXTENSIONS: &[&str] = &["csv", "tsv", "txt", "ndjson", "jsonl", "json"];

/// Endings of files still being written or left behind by tools.
const TEMPORARY_SUFFIXES: &[&str] = &[
    "~",
    ".tmp",
    ".temp",
    ".part",
    ".partial",
    ".swp",
    ".swx",
    ".crdownload",
    ".download",
];

/// Whether `path` names an input file worth importing (by name only; it may not exist).
pub fn is_input(path: &Path) -> bool {
    let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
        return false;
    };
    if name.starts_with('.') || name.starts_with('#') {
        return false;
    }
    let lower = name.to_ascii_lowercase();
    if TEMPORARY_SUFFIXES.iter().any(|s| lower.ends_with(s)) {
        return false;
    }
    // The store's own rejects files live in `<store>.rejects/`; re-importing them would
    // loop forever.
    if path
        .components()
        .any(|c| c.as_os_str().to_string_lossy().ends_with(".rejects"))
    {
        return false;
    }
    Path::new(&lower)
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| INPUT_EXTENSIONS.contains(&e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inputs_are_recognised_by_extension() {
        for name in [
            "orders.csv",
            "events-2026.NDJSON",
            "surveys.json",
            "spend.tsv",
            "x/e.jsonl",
        ] {
            assert!(is_input(Path::new(name)), "{name}");
        }
    }

    #[test]
    fn temporary_hidden_and_foreign_files_are_ignored() {
        for name in [
            ".orders.csv",
            ".orders.csv.swp",
            "orders.csv~",
            "orders.csv.tmp",
            "orders.csv.part",
            "orders.csv.crdownload",
            "#orders.csv#",
            "launch.db",
            "launch.db-wal",
            "README.md",
            "launch.db.rejects/orders.csv",
            "noext",
        ] {
            assert!(!is_input(Path::new(name)), "{name}");
        }
    }
}
