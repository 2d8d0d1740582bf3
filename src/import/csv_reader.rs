//! CSV: `,` `;` or tab (detected from the header line), RFC 4180 quoting, CRLF or LF.
//!
//! Records are read as bytes and validated as UTF-8 once per record; fields are borrowed
//! from the record, so a row costs no allocation per field.

use std::borrow::Cow;
use std::io::Read;

use super::fields::MAX_FIELD_BYTES;
use super::source::{BadRow, Binder, Field, HeaderBinding, Item, Progress, Row, Sink};

/// Picks the delimiter that occurs most often outside quotes in the header line.
pub fn detect_delimiter(header_line: &[u8]) -> u8 {
    let mut counts = [0usize; 3];
    let mut in_quotes = false;
    for &b in header_line {
        match b {
            b'"' => in_quotes = !in_quotes,
            b'\n' | b'\r' if !in_quotes => break,
            b',' if !in_quotes => counts[0] += 1,
            b';' if !in_quotes => counts[1] += 1,
            b'\t' if !in_quotes => counts[2] += 1,
            _ => {}
        }
    }
    let delimiters = [b',', b';', b'\t'];
    let best = (0..3).max_by_key(|&i| (counts[i], 3 - i)).unwrap_or(0);
    delimiters[best]
}

/// Splits one header line (remembered from an earlier import) into names.
pub fn split_header(line: &str) -> Result<Vec<String>, String> {
    let mut reader = builder(detect_delimiter(line.as_bytes())).from_reader(line.as_bytes());
    let mut record = csv::StringRecord::new();
    match reader.read_record(&mut record) {
        Ok(true) => Ok(record.iter().map(str::to_string).collect()),
        Ok(false) => Err("no header".into()),
        Err(e) => Err(format!("header: {e}")),
    }
}

fn builder(delimiter: u8) -> csv::ReaderBuilder {
    let mut b = csv::ReaderBuilder::new();
    b.delimiter(delimiter)
        .has_headers(false)
        .flexible(true)
        .buffer_capacity(256 * 1024);
    b
}

/// What a CSV read found besides its rows.
#[derive(Debug, Clone, Default)]
pub struct CsvOutcome {
    /// The header line as read (to remember for a later tail import).
    pub header_line: Option<String>,
    pub unknown_columns: Vec<String>,
    /// Where the last record read (or the header) starts in the file: a record boundary
    /// from which [`end_of_last_record`] finds where the complete records end.
    pub last_record_start: u64,
}

/// How far into `input` (which starts at a record boundary) its complete records reach:
/// the byte just after the last record terminator (`\n`, `\r` or `\r\n`) outside quotes,
/// or 0. A newline inside a quoted field does not end a record, so a record half written
/// (or split across two appends) is never taken for a whole one. Follows the quoting
/// rules of the `csv` crate that reads the records: a quote opens a quoted field only at
/// the start of a field, `""` inside one is a literal quote.
pub fn end_of_last_record(input: impl Read, delimiter: u8) -> std::io::Result<u64> {
    scan_records(input, delimiter).map(|(end, _)| end)
}

/// Whether `input` (which starts at a record boundary) ends inside a quoted field.
pub fn ends_inside_quotes(input: impl Read, delimiter: u8) -> std::io::Result<bool> {
    scan_records(input, delimiter).map(|(_, quoted)| quoted)
}

/// The end of the last complete record, and whether the input ends inside quotes.
fn scan_records(mut input: impl Read, delimiter: u8) -> std::io::Result<(u64, bool)> {
    #[derive(Clone, Copy, PartialEq)]
    enum At {
        FieldStart,
        InField,
        Quoted,
        /// A quote inside a quoted field: its end, or the first of `""`.
        QuoteInQuoted,
    }
    let mut at = At::FieldStart;
    let mut end = 0u64;
    let mut offset = 0u64;
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = match input.read(&mut buf) {
            Ok(0) => return Ok((end, at == At::Quoted)),
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        let chunk = &buf[..n];
        let mut i = 0;
        while i < n {
            // Inside a field only its end matters: skip to it.
            match at {
                At::Quoted => {
                    match chunk[i..].iter().position(|&b| b == b'"') {
                        Some(k) => {
                            i += k + 1;
                            at = At::QuoteInQuoted;
                        }
                        None => i = n,
                    }
                    continue;
                }
                At::InField => {
                    let field_end = chunk[i..]
                        .iter()
                        .position(|&b| b == delimiter || b == b'\n' || b == b'\r');
                    match field_end {
                        Some(k) => i += k,
                        None => {
                            i = n;
                            continue;
                        }
                    }
                }
                At::FieldStart | At::QuoteInQuoted => {}
            }
            let b = chunk[i];
            i += 1;
            at = match b {
                b'\n' | b'\r' => {
                    end = offset + i as u64;
                    At::FieldStart
                }
                b'"' if at == At::FieldStart || at == At::QuoteInQuoted => At::Quoted,
                _ if b == delimiter => At::FieldStart,
                _ => At::InField,
            };
        }
        offset += n as u64;
    }
}

/// Reads CSV records from `input`, which starts at byte `start` of the file, fields
/// separated by `delimiter`. Without `known_header` the first record is the header.
pub fn read(
    input: impl Read,
    start: u64,
    delimiter: u8,
    known_header: Option<&str>,
    binder: &Binder,
    sink: &mut Sink<'_>,
    progress: &mut Progress<'_>,
) -> Result<CsvOutcome, String> {
    let input = std::io::BufReader::with_capacity(256 * 1024, input);
    let mut reader = builder(delimiter).from_reader(input);
    let mut record = csv::ByteRecord::new();

    let (header_names, header_line): (Vec<String>, String) = match known_header {
        Some(h) => (split_header(h)?, h.to_string()),
        None => {
            if !reader.read_byte_record(&mut record).map_err(csv_error)? {
                return Err("empty file: no header".into());
            }
            if std::str::from_utf8(record.as_slice()).is_err() {
                return Err("the header is not UTF-8 text".into());
            }
            let names: Vec<String> = record
                .iter()
                .map(|f| String::from_utf8_lossy(f).into_owned())
                .collect();
            let delimiter = delimiter as char;
            let line = names
                .iter()
                .map(|n| quote_field(n, delimiter))
                .collect::<Vec<_>>()
                .join(&delimiter.to_string());
            (names, line)
        }
    };
    if header_names.iter().all(|n| n.trim().is_empty()) {
        return Err("no header: the first line is empty".into());
    }
    let names: Vec<&str> = header_names.iter().map(String::as_str).collect();
    let binding = HeaderBinding::new(binder, &names)?;
    let keep_extras = binder.spec.keeps_attributes;

    let mut since_progress = 0u32;
    let mut last_record_start = start;
    loop {
        let row_start = reader.position().clone();
        match reader.read_byte_record(&mut record) {
            Ok(true) => last_record_start = start + row_start.byte(),
            Ok(false) => break,
            Err(e) => return Err(csv_error(e)),
        }
        let end = reader.position().byte();
        let span = (start + row_start.byte(), start + end);
        let line = row_start.line();
        since_progress += 1;
        if since_progress == 4096 {
            since_progress = 0;
            progress(start + end);
        }
        let bad = |column: Option<String>, reason: String| {
            Item::Bad(BadRow {
                line,
                span,
                column,
                reason,
            })
        };
        if record.len() != binding.width {
            // Only a quoted field holds a line break: a record short of fields that has
            // one most likely lost its closing quote and swallowed the lines after it.
            let quoted_line_break = record
                .iter()
                .any(|f| f.contains(&b'\n') || f.contains(&b'\r'));
            let hint = if quoted_line_break && record.len() < binding.width {
                format!(
                    " (a quoted field runs from line {line} to line {}: is a closing quote missing?)",
                    reader.position().line() - 1
                )
            } else {
                String::new()
            };
            sink(bad(
                None,
                format!(
                    "expected {} fields, found {}{hint}",
                    binding.width,
                    record.len()
                ),
            ))?;
            continue;
        }
        let text = match std::str::from_utf8(record.as_slice()) {
            Ok(t) => t,
            Err(_) => {
                let bad_field = record.iter().enumerate().find_map(|(j, f)| {
                    std::str::from_utf8(f)
                        .err()
                        .map(|e| (j, f[e.valid_up_to()]))
                });
                let (column, byte) = match bad_field {
                    Some((j, byte)) => (Some(header_names[j].trim().to_string()), byte),
                    None => (None, 0),
                };
                sink(bad(
                    column,
                    format!("not UTF-8 text (byte 0x{byte:02X}); save the file as UTF-8"),
                ))?;
                continue;
            }
        };
        let field = |j: usize| -> &str {
            match record.range(j) {
                Some(r) => &text[r],
                None => "",
            }
        };
        let fields: Vec<Field<'_>> = binding
            .source_of
            .iter()
            .map(|s| match s {
                Some(j) => Field::Text(Cow::Borrowed(field(*j))),
                None => Field::Absent,
            })
            .collect();
        if let Some(j) = (0..record.len()).find(|&j| record[j].len() > MAX_FIELD_BYTES) {
            sink(bad(
                Some(header_names[j].trim().to_string()),
                format!(
                    "field is {} bytes long; the limit is {MAX_FIELD_BYTES}",
                    record[j].len()
                ),
            ))?;
            continue;
        }
        let extras = if keep_extras {
            binding
                .unknown
                .iter()
                .filter(|(j, name)| !name.is_empty() && !field(*j).trim().is_empty())
                .map(|(j, name)| {
                    (
                        Cow::Borrowed(name.as_str()),
                        serde_json::Value::String(field(*j).trim().to_string()),
                    )
                })
                .collect()
        } else {
            Vec::new()
        };
        sink(Item::Row(Row {
            line,
            span,
            fields,
            extras,
        }))?;
    }
    let unknown_columns = if keep_extras {
        Vec::new()
    } else {
        binding.unknown.iter().map(|(_, n)| n.clone()).collect()
    };
    Ok(CsvOutcome {
        last_record_start,
        header_line: Some(header_line),
        unknown_columns,
    })
}

fn quote_field(name: &str, delimiter: char) -> String {
    if name.contains(['"', delimiter, '\n', '\r']) {
        format!("\"{}\"", name.replace('"', "\"\""))
    } else {
        name.to_string()
    }
}

fn csv_error(e: csv::Error) -> String {
    match e.kind() {
        csv::ErrorKind::Io(io) => format!("read error: {io}"),
        _ => format!("CSV error: {e}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delimiter_is_detected_outside_quotes() {
        assert_eq!(detect_delimiter(b"a,b,c\n1;2;3;4;5"), b',');
        assert_eq!(detect_delimiter(b"a;b;\"c,d,e\"\n"), b';');
        assert_eq!(detect_delimiter(b"a\tb\tc"), b'\t');
        assert_eq!(detect_delimiter(b"single"), b',');
    }

    #[test]
    fn complete_records_end_outside_quotes() {
        let end = |text: &str| end_of_last_record(text.as_bytes(), b',').unwrap();
        assert_eq!(end("a,b\n1,2\n"), 8);
        assert_eq!(end("a,b\n1,2"), 4);
        assert_eq!(end("a,b\r\n1,\"x\ny\"\r\n"), 14);
        // The newline inside the open quote does not end the record.
        assert_eq!(end("a,b\n1,\"x\n"), 4);
        assert_eq!(end("a,b\n1,\"x\"\"\n"), 4);
        // `""` is a literal quote; the one after it closes the field.
        assert_eq!(end("a,b\n1,\"x\"\"\"\n"), 12);
        // A quote inside an unquoted field is a literal: it opens nothing.
        assert_eq!(end("a,b\n1,x\"y\n2,z\n"), 14);
        assert_eq!(end("a\rb\r"), 4);
        assert_eq!(end("a;\"b\n"), 5);
        assert_eq!(end_of_last_record("a;\"b\n".as_bytes(), b';').unwrap(), 0);
        assert!(ends_inside_quotes("a;\"b\n".as_bytes(), b';').unwrap());
        assert!(!ends_inside_quotes("1,\"x\"\"\"".as_bytes(), b',').unwrap());
    }

    #[test]
    fn remembered_header_splits_like_the_original() {
        assert_eq!(
            split_header("a;\"b;c\";d").unwrap(),
            ["a", "b;c", "d"].map(String::from)
        );
    }
}
