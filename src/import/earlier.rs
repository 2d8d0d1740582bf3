//! Keys a tail import shares with the part of the same file that earlier imports read.
//!
//! Rows sharing a key inside one file are duplicates: the first is kept, the later ones
//! are rejects naming the first one's line. Within one import the upserter tells (it
//! remembers what the import wrote); a tail import reads only the new rows, so a new row
//! whose key was stored by the file's earlier part must be told here — otherwise reading
//! a file in pieces would update where reading it whole rejects.
//!
//! Only keys already in the store can be such duplicates, so the new rows are read once
//! for their keys, and the earlier part of the file is read only when one of them is
//! stored — usually never, as appended rows are new rows.

use std::collections::HashMap;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

use super::source::{Binder, Item};
use super::{Format, csv_reader, ndjson, validate};
use crate::store::upsert::{Layout, Upserter, Value};

/// What to read: the file, its format, where its rows start (after a BOM) and the byte
/// range of the new rows.
pub struct TailRead<'a> {
    pub path: &'a Path,
    pub format: Format,
    pub rows_from: u64,
    pub new_rows: (u64, u64),
    /// The header the earlier imports read (CSV).
    pub header: Option<&'a str>,
    /// The delimiter the whole file is read with (CSV).
    pub delimiter: u8,
}

/// The key of a row, as text, from values in `Layout::columns` order.
pub fn key_text(layout: &Layout, values: &[Value<'_>]) -> String {
    let mut key = String::new();
    for &i in &layout.key {
        match &values[i] {
            Value::Null => {}
            Value::Text(t) => key.push_str(t),
            Value::Int(n) => key.push_str(&n.to_string()),
            Value::Real(r) => key.push_str(&r.to_string()),
        }
        key.push('\x1f');
    }
    key
}

/// For each key of the new rows that a row of the file's earlier part has, the line of
/// the first such row (in the file).
pub fn earlier_lines(
    read: &TailRead<'_>,
    binder: &Binder,
    layout: &Layout,
    tz: chrono_tz::Tz,
    upserter: &mut Upserter<'_>,
) -> Result<HashMap<String, u64>, String> {
    let mut stored: HashMap<String, u64> = HashMap::new();
    let mut store_error = None;
    each_valid_row(
        read,
        read.new_rows,
        read.header,
        binder,
        layout,
        tz,
        &mut |values, _| {
            if store_error.is_none() && !stored.contains_key(&key_text(layout, values)) {
                match upserter.is_stored(values) {
                    Ok(true) => {
                        stored.insert(key_text(layout, values), 0);
                    }
                    Ok(false) => {}
                    Err(e) => store_error = Some(e),
                }
            }
        },
    )?;
    if let Some(e) = store_error {
        return Err(format!("cannot read the store: {e}"));
    }
    if stored.is_empty() {
        return Ok(stored);
    }
    each_valid_row(
        read,
        (read.rows_from, read.new_rows.0),
        None,
        binder,
        layout,
        tz,
        &mut |values, line| {
            if let Some(first) = stored.get_mut(&key_text(layout, values)) {
                if *first == 0 {
                    *first = line;
                }
            }
        },
    )?;
    stored.retain(|_, line| *line > 0);
    Ok(stored)
}

/// Calls `each(values, line)` for every row of `range` that validates; `line` counts
/// from where the file's rows start, as the rejects do.
fn each_valid_row(
    read: &TailRead<'_>,
    (from, to): (u64, u64),
    header: Option<&str>,
    binder: &Binder,
    layout: &Layout,
    tz: chrono_tz::Tz,
    each: &mut dyn FnMut(&[Value<'_>], u64),
) -> Result<(), String> {
    let mut file = File::open(read.path).map_err(|e| format!("cannot re-read: {e}"))?;
    file.seek(SeekFrom::Start(from))
        .map_err(|e| format!("cannot re-read: {e}"))?;
    let input = file.take(to.saturating_sub(from));
    let mut sink = |item: Item<'_>| -> Result<(), String> {
        if let Item::Row(row) = item {
            if let Ok(typed) = validate::validate(layout, tz, &row) {
                each(&typed.values, row.line);
            }
        }
        Ok(())
    };
    let mut progress = |_| {};
    match read.format {
        Format::Csv => {
            csv_reader::read(
                input,
                from,
                read.delimiter,
                header,
                binder,
                &mut sink,
                &mut progress,
            )?;
        }
        Format::Ndjson => {
            ndjson::read(input, from, binder, &mut sink, &mut progress)?;
        }
        // Read whole every time: never a tail import.
        Format::JsonArray => {}
    }
    Ok(())
}
