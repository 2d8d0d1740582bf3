//! A JSON array of objects, as survey and spreadsheet tools export it.
//!
//! Streamed, so memory stays flat however big the array: a first pass checks the whole
//! text is an array of JSON values (a syntax error anywhere refuses the file, naming its
//! line and column, before any row is written), a second pass cuts the elements out one
//! at a time and maps each, so a bad element is rejected alone, with its line, while
//! the others import.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Read};

use serde::de::IgnoredAny;
use serde_json::{Map, Value};

use super::ndjson::{json_reason, object_row};
use super::source::{BadRow, Binder, Item, Progress, Sink};

/// Checks that `input` holds one JSON array and nothing else, in constant memory.
pub fn check(input: impl Read) -> Result<(), String> {
    // A vector of a zero-sized type allocates nothing, whatever its length.
    serde_json::from_reader::<_, Vec<IgnoredAny>>(BufReader::with_capacity(256 * 1024, input))
        .map(drop)
        .map_err(|e| {
            format!(
                "not a JSON array of objects: {} at line {}, column {}",
                e.to_string().split(" at line ").next().unwrap_or_default(),
                e.line(),
                e.column()
            )
        })
}

/// Reads the array from `input` (the file from byte `start`, after any BOM), which
/// [`check`] found well-formed. Returns the keys no contract column matched.
pub fn read(
    input: impl Read,
    start: u64,
    binder: &Binder,
    sink: &mut Sink<'_>,
    progress: &mut Progress<'_>,
) -> Result<Vec<String>, String> {
    let mut elements = Elements {
        input: BufReader::with_capacity(256 * 1024, input),
        offset: start,
        line: 1,
        opened: false,
    };
    let mut element = Vec::new();
    let mut ignored = BTreeSet::new();
    let mut n = 0u64;
    while let Some((line, begin)) = elements
        .next(&mut element)
        .map_err(|e| format!("read error: {e}"))?
    {
        let span = (begin, elements.offset);
        n += 1;
        if n % 4096 == 0 {
            progress(elements.offset);
        }
        match serde_json::from_slice::<Map<String, Value>>(&element) {
            Ok(object) => sink(object_row(&object, binder, line, span, &mut ignored))?,
            Err(e) => sink(Item::Bad(BadRow {
                line,
                span,
                column: None,
                reason: format!("element {n}: {}", json_reason(&e)),
            }))?,
        }
    }
    Ok(ignored.into_iter().collect())
}

/// Cuts the top-level elements out of a well-formed array, counting lines as it goes.
struct Elements<R> {
    input: R,
    /// File offset of the next byte.
    offset: u64,
    /// Line of the next byte.
    line: u64,
    /// Whether the array's `[` was read.
    opened: bool,
}

impl<R: BufRead> Elements<R> {
    fn byte(&mut self) -> std::io::Result<Option<u8>> {
        let Some(&b) = self.input.fill_buf()?.first() else {
            return Ok(None);
        };
        self.input.consume(1);
        self.offset += 1;
        if b == b'\n' {
            self.line += 1;
        }
        Ok(Some(b))
    }

    /// The next element's bytes into `out`, with its line and file offset; `None` after
    /// the last one.
    fn next(&mut self, out: &mut Vec<u8>) -> std::io::Result<Option<(u64, u64)>> {
        out.clear();
        // Up to the element's first byte: the `[`, whitespace, a `,`.
        let first = loop {
            match self.byte()? {
                None | Some(b']') => return Ok(None),
                Some(b'[') if !self.opened => self.opened = true,
                Some(b) if b.is_ascii_whitespace() || b == b',' => {}
                Some(b) => break b,
            }
        };
        let (line, begin) = (self.line, self.offset - 1);
        out.push(first);
        let mut depth = i32::from(matches!(first, b'{' | b'['));
        let mut in_string = first == b'"';
        let mut escaped = false;
        loop {
            // A scalar ends where the next `,` `]` or whitespace starts: look before taking.
            if depth == 0 && !in_string {
                match self.input.fill_buf()?.first() {
                    None => return Ok(Some((line, begin))),
                    Some(&b) if b == b',' || b == b']' || b.is_ascii_whitespace() => {
                        return Ok(Some((line, begin)));
                    }
                    Some(_) => {}
                }
            }
            let Some(b) = self.byte()? else {
                return Ok(Some((line, begin)));
            };
            out.push(b);
            if in_string {
                match b {
                    _ if escaped => escaped = false,
                    b'\\' => escaped = true,
                    b'"' => {
                        in_string = false;
                        if depth == 0 {
                            return Ok(Some((line, begin)));
                        }
                    }
                    _ => {}
                }
                continue;
            }
            match b {
                b'"' => in_string = true,
                b'{' | b'[' => depth += 1,
                b'}' | b']' => {
                    depth -= 1;
                    if depth == 0 {
                        return Ok(Some((line, begin)));
                    }
                }
                _ => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn elements_are_cut_out_whole_with_their_lines() {
        let text = "[\n {\"a\": \"x]}\\\"\"},\n 5, \"s,\" ,[1,[2]]\n,{}]";
        let mut elements = Elements {
            input: text.as_bytes(),
            offset: 0,
            line: 1,
            opened: false,
        };
        let mut out = Vec::new();
        let mut got = Vec::new();
        while let Some((line, begin)) = elements.next(&mut out).unwrap() {
            assert_eq!(
                &text.as_bytes()[begin as usize..elements.offset as usize],
                &out[..]
            );
            got.push((line, String::from_utf8(out.clone()).unwrap()));
        }
        assert_eq!(
            got,
            [
                (2, "{\"a\": \"x]}\\\"\"}".to_string()),
                (3, "5".to_string()),
                (3, "\"s,\"".to_string()),
                (3, "[1,[2]]".to_string()),
                (4, "{}".to_string()),
            ]
        );
        assert!(check(text.as_bytes()).is_ok());
        assert!(check("{\"a\": 1}".as_bytes()).is_err());
    }
}
