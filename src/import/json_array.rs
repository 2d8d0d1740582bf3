//! A JSON array of objects, as survey and spreadsheet tools export it.
//!
//! The array is parsed once with each element kept as raw text, so a bad element is
//! rejected alone, with its line, while the others import.

use std::collections::BTreeSet;

use serde_json::value::RawValue;
use serde_json::{Map, Value};

use super::ndjson::{json_reason, object_row};
use super::source::{BadRow, Binder, Item, Progress, Sink};

/// Reads the whole array in `bytes` (the file from byte `start`, after any BOM). Returns the keys no contract
/// column matched.
pub fn read(
    bytes: &[u8],
    start: u64,
    binder: &Binder,
    sink: &mut Sink<'_>,
    progress: &mut Progress<'_>,
) -> Result<Vec<String>, String> {
    let elements: Vec<&RawValue> = serde_json::from_slice(bytes).map_err(|e| {
        format!(
            "not a JSON array of objects: {} at line {}, column {}",
            e.to_string().split(" at line ").next().unwrap_or_default(),
            e.line(),
            e.column()
        )
    })?;
    let base = bytes.as_ptr() as usize;
    let mut line = 1u64;
    let mut counted_to = 0usize;
    let mut ignored = BTreeSet::new();
    for (n, element) in elements.iter().enumerate() {
        let text = element.get();
        let begin = (text.as_ptr() as usize)
            .saturating_sub(base)
            .min(bytes.len());
        let end = (begin + text.len()).min(bytes.len());
        line += bytes[counted_to..begin]
            .iter()
            .filter(|&&b| b == b'\n')
            .count() as u64;
        counted_to = begin;
        let span = (start + begin as u64, start + end as u64);
        if n % 4096 == 4095 {
            progress(start + end as u64);
        }
        match serde_json::from_str::<Map<String, Value>>(text) {
            Ok(object) => sink(object_row(&object, binder, line, span, &mut ignored))?,
            Err(e) => sink(Item::Bad(BadRow {
                line,
                span,
                column: None,
                reason: format!("element {}: {}", n + 1, json_reason(&e)),
            }))?,
        }
    }
    Ok(ignored.into_iter().collect())
}
