//! NDJSON: one JSON object per line. Also the object-to-row mapping the JSON array
//! reader shares.

use std::borrow::Cow;
use std::collections::BTreeSet;
use std::io::{BufRead, Read};

use serde_json::{Map, Value};

use super::fields::MAX_FIELD_BYTES;
use super::source::{BadRow, Binder, Field, Item, Progress, Row, Sink};

/// Maps one JSON object to a row; unknown keys go to `extras` (tables that keep
/// attributes) or to `ignored`.
pub fn object_row<'a>(
    object: &'a Map<String, Value>,
    binder: &Binder,
    line: u64,
    span: (u64, u64),
    ignored: &mut BTreeSet<String>,
) -> Item<'a> {
    let spec = binder.spec;
    let mut fields = vec![Field::Absent; spec.columns.len()];
    let mut seen: Vec<Option<&str>> = vec![None; spec.columns.len()];
    let mut extras = Vec::new();
    for (key, value) in object {
        let Some(i) = binder.lookup(key) else {
            if spec.keeps_attributes {
                if !value.is_null() {
                    extras.push((Cow::Borrowed(key.as_str()), value.clone()));
                }
            } else if !ignored.contains(key.as_str()) {
                ignored.insert(key.clone());
            }
            continue;
        };
        if let Some(first) = seen[i] {
            return Item::Bad(BadRow {
                line,
                span,
                column: Some(spec.columns[i].name.to_string()),
                reason: format!(
                    "keys {first:?} and {key:?} both give column {}",
                    spec.columns[i].name
                ),
            });
        }
        seen[i] = Some(key.as_str());
        fields[i] = match value {
            // A key given as null is an empty field (it clears a stored value); a key
            // left out is a column the row lacks (the stored value stays).
            Value::Null => Field::Text(Cow::Borrowed("")),
            Value::String(s) if s.len() > MAX_FIELD_BYTES => Field::Invalid(format!(
                "field is {} bytes long; the limit is {MAX_FIELD_BYTES}",
                s.len()
            )),
            Value::String(s) => Field::Text(Cow::Borrowed(s.as_str())),
            Value::Number(n) => Field::Text(Cow::Owned(n.to_string())),
            Value::Bool(b) => Field::Text(Cow::Owned(b.to_string())),
            Value::Array(_) => Field::Invalid("expected a single value, found an array".into()),
            Value::Object(_) => Field::Invalid("expected a single value, found an object".into()),
        };
    }
    Item::Row(Row {
        line,
        span,
        fields,
        extras,
    })
}

/// Reads NDJSON lines from `input`, which starts at byte `start` of the file.
/// Returns the keys no contract column matched.
pub fn read(
    input: impl Read,
    start: u64,
    binder: &Binder,
    sink: &mut Sink<'_>,
    progress: &mut Progress<'_>,
) -> Result<Vec<String>, String> {
    let mut input = std::io::BufReader::with_capacity(256 * 1024, input);
    let mut buf = Vec::new();
    let mut offset = start;
    let mut line = 0u64;
    let mut ignored = BTreeSet::new();
    loop {
        buf.clear();
        let n = read_line(&mut input, &mut buf).map_err(|e| format!("read error: {e}"))?;
        if n == 0 {
            break;
        }
        line += 1;
        let span = (offset, offset + n as u64);
        offset += n as u64;
        if line % 4096 == 0 {
            progress(offset);
        }
        if buf.trim_ascii().is_empty() {
            continue;
        }
        let object: Map<String, Value> = match serde_json::from_slice(&buf) {
            Ok(o) => o,
            Err(e) => {
                sink(Item::Bad(BadRow {
                    line,
                    span,
                    column: None,
                    reason: json_reason(&e),
                }))?;
                continue;
            }
        };
        sink(object_row(&object, binder, line, span, &mut ignored))?;
    }
    Ok(ignored.into_iter().collect())
}

/// Appends one line to `buf`, with its end: `\n`, `\r\n` or a lone `\r` (JSON text
/// holds neither raw, so either ends a line). Returns the bytes taken, 0 at the end.
fn read_line(input: &mut impl BufRead, buf: &mut Vec<u8>) -> std::io::Result<usize> {
    let mut taken = 0;
    loop {
        let available = input.fill_buf()?;
        if available.is_empty() {
            return Ok(taken);
        }
        match available.iter().position(|&b| b == b'\n' || b == b'\r') {
            Some(i) => {
                let cr = available[i] == b'\r';
                buf.extend_from_slice(&available[..=i]);
                input.consume(i + 1);
                taken += i + 1;
                if cr && input.fill_buf()?.first() == Some(&b'\n') {
                    buf.push(b'\n');
                    input.consume(1);
                    taken += 1;
                }
                return Ok(taken);
            }
            None => {
                let n = available.len();
                buf.extend_from_slice(available);
                input.consume(n);
                taken += n;
            }
        }
    }
}

/// serde_json's message without its position inside a line we already name.
pub fn json_reason(e: &serde_json::Error) -> String {
    let text = e.to_string();
    let message = text.split(" at line ").next().unwrap_or(&text);
    let message = message.replace("invalid type: map, expected a map", "not an object");
    match e.classify() {
        serde_json::error::Category::Data => format!("not a JSON object: {message}"),
        _ if e.line() == 1 && e.column() > 0 => {
            format!("invalid JSON: {message} at column {}", e.column())
        }
        _ => format!("invalid JSON: {message} at the end of the line"),
    }
}
