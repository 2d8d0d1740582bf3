//! A row from any reader → the typed values the store keeps, or the first reason it
//! cannot be kept (with the column at fault).

use std::borrow::Cow;

use chrono::NaiveDate;

use super::fields::{
    MAX_FIELD_BYTES, format_utc, parse_count, parse_date, parse_enum, parse_money, parse_number,
    parse_timestamp,
};
use super::source::{Field, Row};
use crate::store::schema::{ColumnKind, RowKey};
use crate::store::upsert::{Layout, Provided, Source, Value};

/// Why a row was rejected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    pub column: Option<String>,
    pub reason: String,
}

fn reject(column: &str, reason: String) -> Rejection {
    Rejection {
        column: Some(column.to_string()),
        reason,
    }
}

/// A validated row: values in `Layout::columns` order, which of them the file provides,
/// and the calendar days it touches.
#[derive(Debug)]
pub struct TypedRow<'r> {
    pub values: Vec<Value<'r>>,
    /// A column is provided when the file has it, except that an empty field of a column
    /// with a default is not: the default is for new rows, it does not overwrite a stored
    /// value (an empty `status` keeps a cancelled order cancelled).
    pub provided: Provided,
    pub days: Vec<NaiveDate>,
}

pub fn validate<'r>(
    layout: &Layout,
    tz: chrono_tz::Tz,
    row: &'r Row<'_>,
) -> Result<TypedRow<'r>, Rejection> {
    let spec = layout.spec;
    let mut parsed: Vec<Value<'r>> = Vec::with_capacity(spec.columns.len());
    let mut dates: Vec<Option<NaiveDate>> = Vec::with_capacity(spec.columns.len());
    // One bit per contract column (`Provided` has a bit per stored column, and there are
    // at least as many of those).
    let mut column_provided: Provided = 0;
    for (column, field) in spec.columns.iter().zip(&row.fields) {
        let text: Option<&'r str> = match field {
            Field::Absent => None,
            Field::Invalid(reason) => return Err(reject(column.name, reason.clone())),
            Field::Text(t) => Some(t.as_ref().trim()).filter(|t| !t.is_empty()),
        };
        let given = match field {
            Field::Absent => false,
            _ => text.is_some() || column.default.is_none(),
        };
        column_provided |= Provided::from(given) << parsed.len();
        let Some(text) = text else {
            if column.required {
                return Err(reject(column.name, "missing value".into()));
            }
            parsed.push(
                column
                    .default
                    .map_or(Value::Null, |d| Value::Text(d.into())),
            );
            dates.push(None);
            continue;
        };
        if text.len() > MAX_FIELD_BYTES {
            return Err(reject(
                column.name,
                format!(
                    "field is {} bytes long; the limit is {MAX_FIELD_BYTES}",
                    text.len()
                ),
            ));
        }
        let fail = |reason| reject(column.name, reason);
        let mut date = None;
        let value = match column.kind {
            ColumnKind::Text => Value::Text(Cow::Borrowed(text)),
            ColumnKind::Date => {
                date = Some(parse_date(text).map_err(fail)?);
                Value::Text(Cow::Borrowed(text))
            }
            ColumnKind::Timestamp { .. } => {
                let (instant, day) = parse_timestamp(text, tz).map_err(fail)?;
                date = Some(day);
                Value::Text(Cow::Owned(format_utc(instant)))
            }
            ColumnKind::Money { non_negative } => {
                Value::Int(parse_money(text, non_negative).map_err(fail)?)
            }
            ColumnKind::Count => Value::Int(parse_count(text).map_err(fail)?),
            ColumnKind::Number => Value::Real(parse_number(text).map_err(fail)?),
            ColumnKind::Enum(allowed) => {
                Value::Text(Cow::Borrowed(parse_enum(text, allowed).map_err(fail)?))
            }
        };
        parsed.push(value);
        dates.push(date);
    }
    cross_field_rules(layout, &parsed)?;

    let mut values = Vec::with_capacity(layout.columns.len());
    let mut provided: Provided = 0;
    for (at, (_, source)) in layout.columns.iter().enumerate() {
        let given = match *source {
            Source::Column(i) | Source::DayOf(i) => column_provided & (1 << i) != 0,
            Source::Key => true,
            Source::Attributes => !row.extras.is_empty(),
        };
        if given {
            provided |= 1 << at;
        }
        values.push(match *source {
            Source::Column(i) => parsed[i].clone(),
            Source::DayOf(i) => dates[i].map_or(Value::Null, |d| Value::Text(d.to_string().into())),
            Source::Key => derived_key(layout, &parsed),
            Source::Attributes => {
                if row.extras.is_empty() {
                    Value::Null
                } else {
                    let object: serde_json::Map<String, serde_json::Value> = row
                        .extras
                        .iter()
                        .map(|(k, v)| (k.to_string(), v.clone()))
                        .collect();
                    Value::Text(serde_json::Value::Object(object).to_string().into())
                }
            }
        });
    }
    let days = layout
        .days
        .iter()
        .filter_map(|&i| match layout.columns[i].1 {
            Source::Column(c) | Source::DayOf(c) => dates[c],
            _ => None,
        })
        .collect();
    Ok(TypedRow {
        values,
        provided,
        days,
    })
}

/// Rules that span fields: survey scores within their scale, subscriptions that end
/// after they start.
fn cross_field_rules(layout: &Layout, parsed: &[Value<'_>]) -> Result<(), Rejection> {
    let spec = layout.spec;
    let get = |name: &str| {
        spec.columns
            .iter()
            .position(|c| c.name == name)
            .map(|i| &parsed[i])
    };
    match spec.name {
        "surveys" => {
            if let (Some(Value::Text(kind)), Some(Value::Real(score))) = (get("kind"), get("score"))
            {
                let (low, high) = match kind.as_ref() {
                    "nps" => (0.0, 10.0),
                    "csat" => (1.0, 5.0),
                    _ => (1.0, 7.0),
                };
                if !(low..=high).contains(score) {
                    return Err(reject(
                        "score",
                        format!("score {score} is outside the {kind} scale ({low}–{high})"),
                    ));
                }
            }
        }
        "subscriptions" => {
            if let (Some(Value::Text(start)), Some(Value::Text(end))) =
                (get("start_date"), get("end_date"))
            {
                if end < start {
                    return Err(reject(
                        "end_date",
                        format!("end_date {end} is before start_date {start}"),
                    ));
                }
            }
        }
        _ => {}
    }
    Ok(())
}

/// The stored key of a `RowKey::Derived` table: the id when given, otherwise the
/// fallback columns joined, otherwise a hash of the whole normalised row.
fn derived_key<'r>(layout: &Layout, parsed: &[Value<'r>]) -> Value<'r> {
    let spec = layout.spec;
    let RowKey::Derived {
        id_column,
        fallback,
        ..
    } = spec.key
    else {
        return Value::Null;
    };
    let text_of = |name: &str| -> String {
        match spec
            .columns
            .iter()
            .position(|c| c.name == name)
            .map(|i| &parsed[i])
        {
            Some(v) => value_text(v),
            None => String::new(),
        }
    };
    let id = spec.columns.iter().position(|c| c.name == id_column);
    if let Some(Value::Text(id)) = id.map(|i| &parsed[i]) {
        return Value::Text(id.clone());
    }
    if !fallback.is_empty() {
        let joined: Vec<String> = fallback.iter().map(|c| text_of(c)).collect();
        return Value::Text(joined.join("|").into());
    }
    let mut hasher = blake3::Hasher::new();
    for value in parsed {
        hasher.update(value_text(value).as_bytes());
        hasher.update(b"\x1f");
    }
    Value::Text(hasher.finalize().to_hex()[..32].to_string().into())
}

fn value_text(v: &Value<'_>) -> String {
    match v {
        Value::Null => String::new(),
        Value::Text(t) => t.to_string(),
        Value::Int(i) => i.to_string(),
        Value::Real(r) => r.to_string(),
    }
}
