//! Reading and validating on one thread while the store is written on another (the
//! machine has two cores): the reader thread turns the items of a reader into typed
//! rows or rejections, a batch at a time with the text of a batch in one buffer, so a
//! row crossing over costs no allocation of its own.

use std::borrow::Cow;
use std::sync::mpsc::SyncSender;

use chrono::NaiveDate;

use super::source::Item;
use super::validate::{self, Rejection};
use crate::store::upsert::{Layout, Provided, Value};

/// Rows per batch; a batch is also sent once its text passes `BATCH_TEXT_BYTES`.
const BATCH_ROWS: usize = 4096;
const BATCH_TEXT_BYTES: usize = 4 * 1024 * 1024;
/// Batches in flight between the threads: enough to ride out a slow commit of a page,
/// few enough to keep memory flat.
pub const BATCHES_IN_FLIGHT: usize = 4;

#[derive(Debug, Clone, Copy)]
enum Slot {
    Null,
    /// A byte range of `Batch::text`.
    Text(usize, usize),
    Int(i64),
    Real(f64),
}

/// One item of a file, judged.
#[derive(Debug)]
pub enum Entry {
    /// A valid row: its values and days are ranges of the batch's slots and days.
    Row {
        line: u64,
        span: (u64, u64),
        provided: Provided,
        values: (usize, usize),
        days: (usize, usize),
    },
    /// A row that cannot be kept, or a record that could not even be split into fields.
    Rejected {
        line: u64,
        span: (u64, u64),
        rejection: Rejection,
    },
}

/// Judged items, in file order.
#[derive(Debug, Default)]
pub struct Batch {
    text: String,
    slots: Vec<Slot>,
    days: Vec<NaiveDate>,
    pub entries: Vec<Entry>,
}

impl Batch {
    fn push_row(
        &mut self,
        line: u64,
        span: (u64, u64),
        values: &[Value<'_>],
        provided: Provided,
        days: &[NaiveDate],
    ) {
        let first_slot = self.slots.len();
        for value in values {
            let slot = match value {
                Value::Null => Slot::Null,
                Value::Text(text) => {
                    let begin = self.text.len();
                    self.text.push_str(text);
                    Slot::Text(begin, self.text.len())
                }
                Value::Int(n) => Slot::Int(*n),
                Value::Real(r) => Slot::Real(*r),
            };
            self.slots.push(slot);
        }
        let first_day = self.days.len();
        self.days.extend_from_slice(days);
        self.entries.push(Entry::Row {
            line,
            span,
            provided,
            values: (first_slot, self.slots.len()),
            days: (first_day, self.days.len()),
        });
    }

    fn is_full(&self) -> bool {
        self.entries.len() >= BATCH_ROWS || self.text.len() >= BATCH_TEXT_BYTES
    }

    /// The values of a row (`Entry::Row::values`), borrowed from the batch, into `out`.
    pub fn values_into<'b>(&'b self, range: (usize, usize), out: &mut Vec<Value<'b>>) {
        out.clear();
        out.extend(self.slots[range.0..range.1].iter().map(|slot| match *slot {
            Slot::Null => Value::Null,
            Slot::Text(begin, end) => Value::Text(Cow::Borrowed(&self.text[begin..end])),
            Slot::Int(n) => Value::Int(n),
            Slot::Real(r) => Value::Real(r),
        }));
    }

    /// Where the last item of the batch ends in the file.
    pub fn end(&self) -> Option<u64> {
        self.entries.last().map(|entry| match entry {
            Entry::Row { span, .. } | Entry::Rejected { span, .. } => span.1,
        })
    }

    /// The days of a row (`Entry::Row::days`).
    pub fn days(&self, range: (usize, usize)) -> &[NaiveDate] {
        &self.days[range.0..range.1]
    }
}

/// The reader thread's end: judges each item and sends the batches.
pub struct Judge<'l> {
    layout: &'l Layout,
    tz: chrono_tz::Tz,
    batch: Batch,
    send: SyncSender<Batch>,
}

/// The writer stopped taking batches (it failed, or `--strict` met a bad row): its own
/// error tells why.
pub const WRITER_STOPPED: &str = "the store stopped taking rows";

impl<'l> Judge<'l> {
    pub fn new(layout: &'l Layout, tz: chrono_tz::Tz, send: SyncSender<Batch>) -> Self {
        Self {
            layout,
            tz,
            batch: Batch::default(),
            send,
        }
    }

    /// Validates one item into the current batch, sending the batch once it is full.
    pub fn accept(&mut self, item: Item<'_>) -> Result<(), String> {
        match item {
            Item::Bad(bad) => self.batch.entries.push(Entry::Rejected {
                line: bad.line,
                span: bad.span,
                rejection: Rejection {
                    column: bad.column,
                    reason: bad.reason,
                },
            }),
            Item::Row(row) => match validate::validate(self.layout, self.tz, &row) {
                Ok(typed) => self.batch.push_row(
                    row.line,
                    row.span,
                    &typed.values,
                    typed.provided,
                    &typed.days,
                ),
                Err(rejection) => self.batch.entries.push(Entry::Rejected {
                    line: row.line,
                    span: row.span,
                    rejection,
                }),
            },
        }
        if self.batch.is_full() {
            self.flush()?;
        }
        Ok(())
    }

    /// Sends what the current batch holds.
    pub fn flush(&mut self) -> Result<(), String> {
        if self.batch.entries.is_empty() {
            return Ok(());
        }
        let batch = std::mem::take(&mut self.batch);
        self.send
            .send(batch)
            .map_err(|_| WRITER_STOPPED.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_gives_back_the_values_and_days_it_was_given() {
        let day = NaiveDate::from_ymd_opt(2025, 6, 1).expect("day");
        let values = [
            Value::Text("o1".into()),
            Value::Null,
            Value::Int(1250),
            Value::Real(0.5),
            Value::Text(String::from("é").into()),
        ];
        let mut batch = Batch::default();
        batch.push_row(7, (10, 20), &values, 0b101, &[day]);
        batch.push_row(8, (20, 30), &values[..2], 1, &[]);
        let mut out = Vec::new();
        match batch.entries[0] {
            Entry::Row {
                line,
                span,
                provided,
                values: range,
                days,
            } => {
                assert_eq!((line, span, provided), (7, (10, 20), 0b101));
                batch.values_into(range, &mut out);
                assert_eq!(out, values);
                assert_eq!(batch.days(days), [day]);
            }
            Entry::Rejected { .. } => panic!("a row"),
        }
        match batch.entries[1] {
            Entry::Row {
                values: range,
                days,
                ..
            } => {
                batch.values_into(range, &mut out);
                assert_eq!(out, values[..2]);
                assert!(batch.days(days).is_empty());
            }
            Entry::Rejected { .. } => panic!("a row"),
        }
    }
}
