//! The common shape every reader produces: rows whose fields are already matched to the
//! table's contract columns, or bad rows with a reason. Readers know about bytes and
//! syntax; `validate` knows about types; neither knows about the store.

use std::borrow::Cow;
use std::collections::BTreeMap;

use crate::store::schema::TableSpec;

/// One field of a row, by contract column.
#[derive(Debug, Clone, PartialEq)]
pub enum Field<'a> {
    /// The column is not in the file, or the value is JSON null.
    Absent,
    Text(Cow<'a, str>),
    /// The value cannot be a field at all (a JSON array or object).
    Invalid(String),
}

/// A syntactically sound row.
#[derive(Debug)]
pub struct Row<'a> {
    /// Line of the row's start, counted from where reading started (1-based).
    pub line: u64,
    /// Byte range of the row in the file, to copy it unchanged into the rejects file.
    pub span: (u64, u64),
    /// By index of `TableSpec::columns`.
    pub fields: Vec<Field<'a>>,
    /// Columns the contract does not name, for tables that keep attributes.
    pub extras: Vec<(Cow<'a, str>, serde_json::Value)>,
}

/// A row that could not even be split into fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadRow {
    pub line: u64,
    pub span: (u64, u64),
    pub column: Option<String>,
    pub reason: String,
}

pub enum Item<'a> {
    Row(Row<'a>),
    Bad(BadRow),
}

/// What the pipeline does with each item; an `Err` stops reading (store failure, --strict).
pub type Sink<'s> = dyn FnMut(Item<'_>) -> Result<(), String> + 's;

/// How a reader reports progress: bytes read so far.
pub type Progress<'p> = dyn FnMut(u64) + 'p;

/// Matches header names (or JSON keys) to contract columns: trimmed, case-insensitive,
/// with the aliases of the configuration.
#[derive(Debug, Clone)]
pub struct Binder {
    pub spec: &'static TableSpec,
    names: Vec<(String, usize)>,
}

impl Binder {
    pub fn new(spec: &'static TableSpec, aliases: Option<&BTreeMap<String, Vec<String>>>) -> Self {
        let mut names: Vec<(String, usize)> = spec
            .columns
            .iter()
            .enumerate()
            .map(|(i, c)| (c.name.to_string(), i))
            .collect();
        if let Some(aliases) = aliases {
            for (column, list) in aliases {
                if let Some(i) = spec.columns.iter().position(|c| c.name == column) {
                    names.extend(list.iter().map(|a| (a.trim().to_lowercase(), i)));
                }
            }
        }
        Self { spec, names }
    }

    /// The contract column a header name stands for.
    pub fn lookup(&self, name: &str) -> Option<usize> {
        let name = name.trim();
        if let Some(&(_, i)) = self
            .names
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
        {
            return Some(i);
        }
        if name.is_ascii() {
            return None;
        }
        let lower = name.to_lowercase();
        self.names
            .iter()
            .find(|(n, _)| *n == lower)
            .map(|&(_, i)| i)
    }
}

/// A CSV header matched to the contract.
#[derive(Debug, Clone)]
pub struct HeaderBinding {
    /// For each contract column, the index of the CSV field holding it.
    pub source_of: Vec<Option<usize>>,
    /// CSV fields the contract does not name: (index, name).
    pub unknown: Vec<(usize, String)>,
    pub width: usize,
}

impl HeaderBinding {
    pub fn new(binder: &Binder, header: &[&str]) -> Result<Self, String> {
        let spec = binder.spec;
        let mut source_of = vec![None; spec.columns.len()];
        let mut unknown = Vec::new();
        for (j, name) in header.iter().enumerate() {
            match binder.lookup(name) {
                Some(i) => {
                    if let Some(first) = source_of[i] {
                        return Err(format!(
                            "header names column {} twice ({:?} in field {} and {:?} in field {})",
                            spec.columns[i].name,
                            AsRef::<str>::as_ref(&header[first]).trim(),
                            first + 1,
                            name.trim(),
                            j + 1
                        ));
                    }
                    source_of[i] = Some(j);
                }
                None => unknown.push((j, name.trim().to_string())),
            }
        }
        let missing: Vec<&str> = spec
            .columns
            .iter()
            .zip(&source_of)
            .filter(|(c, s)| c.required && s.is_none())
            .map(|(c, _)| c.name)
            .collect();
        if !missing.is_empty() {
            let shown: Vec<&str> = header.iter().take(20).map(|h| h.trim()).collect();
            return Err(format!(
                "missing required column{} {} for table {} (header: {})",
                if missing.len() > 1 { "s" } else { "" },
                missing.join(", "),
                spec.name,
                shown.join(", ")
            ));
        }
        Ok(Self {
            source_of,
            unknown,
            width: header.len(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::schema;

    #[test]
    fn header_matches_case_insensitively_with_aliases() {
        let spec = schema::table("orders").unwrap();
        let mut aliases = BTreeMap::new();
        aliases.insert("revenue".to_string(), vec!["Total".to_string()]);
        let binder = Binder::new(spec, Some(&aliases));
        let b = HeaderBinding::new(
            &binder,
            &[" Order_ID ", "CUSTOMER_ID", "order_date", "total", "note"],
        )
        .unwrap();
        assert_eq!(b.source_of[..4], [Some(0), Some(1), Some(2), Some(3)]);
        assert_eq!(b.unknown, [(4, "note".to_string())]);
    }

    #[test]
    fn duplicate_and_missing_columns_are_named() {
        let binder = Binder::new(schema::table("orders").unwrap(), None);
        let err =
            HeaderBinding::new(&binder, &["order_id", "customer_id", "order_date"]).unwrap_err();
        assert_eq!(
            err,
            "missing required column revenue for table orders \
             (header: order_id, customer_id, order_date)"
        );
        let err = HeaderBinding::new(
            &binder,
            &[
                "order_id",
                "customer_id",
                "order_date",
                "revenue",
                "Revenue",
            ],
        )
        .unwrap_err();
        assert!(err.contains("names column revenue twice"), "{err}");
    }
}
