//! Every rollup defined once, as SQL that both SQLite and Apache DataFusion run: a local
//! full rebuild ([`rebuild`]) and `kpi sync` (in-process DataFusion or a Ballista
//! cluster) execute the same queries, so their tables are equal by construction.
//!
//! The queries read the raw tables under their stored names and columns (`orders`,
//! `refunds`, `events`, `customers`; days as `YYYY-MM-DD` text, money as integer cents)
//! and use only what both engines share: GROUP BY, joins on equality, window functions,
//! `COALESCE`, `CASE`, `substr` and `||`. Date arithmetic differs between the engines, so
//! it comes from a calendar (`cal`) the plan writes into the query as a `VALUES` list:
//! every day's week and month, its index, and the day a trailing-12-months window stops
//! holding it — computed here in Rust by the same functions the metrics use.
//!
//! The incremental refresh of an import (`rollup::refresh`) stays as it is; a test below
//! proves this plan's tables equal `rollup::refresh_all` on the same rows.

use std::collections::BTreeSet;

use chrono::{Duration, NaiveDate};
use rusqlite::Transaction;
use rusqlite::types::{ToSqlOutput, ValueRef};

use super::rollup::first_events::FIRST_EVENTS_SELECT;
use super::rollup::{NO_NEXT_ORDER, ROLLUP_TABLES, TABLE_DAYS};
use super::schema::{self, ColumnKind};
use crate::dates::parse_day;
use crate::dates::{Grain, Period, repeat_deltas};
use crate::import::fields::{MAX_FIELD_BYTES, MAX_MONEY_MINOR_UNITS};

/// How a stored column is typed, for an engine that reads exports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoredType {
    Text,
    /// Integers: money in cents, counts.
    Integer,
    Real,
}

use StoredType::{Integer, Real, Text};

/// The raw tables a rollup reads, with the stored columns the plan needs. A sync provides
/// exactly these under these names.
pub const RAW_INPUTS: [(&str, &[(&str, StoredType)]); 4] = [
    (
        "orders",
        &[
            ("order_id", Text),
            ("customer_id", Text),
            ("order_date", Text),
            ("revenue", Integer),
            ("status", Text),
            ("channel", Text),
            ("discount", Integer),
            ("cost", Integer),
        ],
    ),
    (
        "refunds",
        &[
            ("refund_key", Text),
            ("order_id", Text),
            ("refund_date", Text),
            ("amount", Integer),
        ],
    ),
    (
        "events",
        &[
            ("event_key", Text),
            ("user_id", Text),
            ("ts", Text),
            ("day", Text),
            ("name", Text),
            ("session_id", Text),
            ("feature", Text),
            ("duration_s", Real),
        ],
    ),
    (
        "customers",
        &[
            ("customer_id", Text),
            ("signup_date", Text),
            ("channel", Text),
            ("plan", Text),
            ("region", Text),
        ],
    ),
];

/// Trailing windows counted per day (`ru_distinct` kinds), in days.
const WINDOWS: [(&str, i64); 2] = [("active_7d", 7), ("active_30d", 30)];

/// One rollup table's contents as a query: `WITH <ctes> <body>`, whose columns are
/// `columns` in order.
#[derive(Debug, Clone)]
pub struct RollupQuery {
    pub table: &'static str,
    pub columns: &'static [&'static str],
    ctes: Vec<String>,
    body: String,
}

impl RollupQuery {
    /// The query as one SELECT statement, reading the raw tables from `inputs` (CTEs
    /// named after them) when given, else from tables of those names.
    pub fn select_with(&self, inputs: &[String]) -> String {
        let ctes: Vec<&str> = inputs
            .iter()
            .chain(&self.ctes)
            .map(String::as_str)
            .collect();
        with_ctes(&ctes, &self.body)
    }

    /// The query inserting its rows into its table (SQLite).
    fn insert(&self) -> String {
        let insert = format!("INSERT INTO {} ({})", self.table, self.columns.join(", "));
        if self.ctes.is_empty() {
            return format!("{insert} {}", self.body);
        }
        format!("WITH {} {insert} {}", self.ctes.join(", "), self.body)
    }
}

/// `WITH <ctes> <body>`, or the body alone.
fn with_ctes(ctes: &[&str], body: &str) -> String {
    if ctes.is_empty() {
        return body.to_string();
    }
    format!("WITH {} {body}", ctes.join(", "))
}

/// How an engine that reads exports (DataFusion) names a stored type.
fn export_type(kind: StoredType) -> &'static str {
    match kind {
        Text => "VARCHAR",
        Integer => "BIGINT",
        Real => "DOUBLE",
    }
}

/// How an export provides a column the engine reads: as text (CSV, a Parquet string), an
/// integer, a floating-point number, or another type (a Parquet date, …), read as its
/// text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProvidedType {
    Text,
    Integer,
    Float,
    Other,
}

/// One column of an export source: its name as the export spells it, and its type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProvidedColumn {
    pub name: String,
    pub kind: ProvidedType,
}

/// What `kpi import` checks of the field it stores in one column of a raw table, taken
/// from the data contract (`schema::TABLES`).
#[derive(Debug, Clone, Copy)]
enum Rule {
    /// A contract column: its kind, whether a value is required, its default.
    Field(ColumnKind, bool, Option<&'static str>),
    /// The local calendar day of the instant in the named column (the events' `day`).
    DayOf(&'static str),
    /// A key the import derives (`event_key`, `refund_key`): optional text.
    Key,
}

fn rule(table: &str, column: &str) -> Rule {
    let Some(spec) = schema::table(table) else {
        return Rule::Key;
    };
    if let Some(c) = spec.column(column) {
        return Rule::Field(c.kind, c.required, c.default);
    }
    let day_of = spec.columns.iter().find(
        |c| matches!(c.kind, ColumnKind::Timestamp { day_column: Some(day) } if day == column),
    );
    match day_of {
        Some(c) => Rule::DayOf(c.name),
        None => Rule::Key,
    }
}

/// `text` as an SQL string literal.
fn literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// The checks of one export source against the data contract, as SQL both the rollups'
/// read and the search for rejects use: every predicate is defined once, here, per
/// column of `RAW_INPUTS`, and mirrors what `kpi import` checks of the field it stores
/// there (the exports hold the stored form): a required value is present; text is at most
/// `MAX_FIELD_BYTES`; a day is a calendar day written `YYYY-MM-DD`; an instant is RFC 3339
/// with its offset (kept as UTC `YYYY-MM-DDTHH:MM:SSZ`, as the store keeps it); the
/// events' `day` is the instant's local day in the configured time zone; money is whole
/// cents within `MAX_MONEY_MINOR_UNITS` (not negative where the contract says so); a
/// count is a whole number of 0 or more; a number is finite; an enumerated value is one
/// of its values, whatever its case (the default when empty). Text is trimmed and an
/// empty cell is absent, as the import reads fields. A bad cell never fails the query:
/// every conversion is a `TRY_CAST`, and a row that fails a check is left out of the
/// rollups and reported with its first failing column.
#[derive(Debug, Clone)]
pub struct ExportChecks {
    /// The registered source the rows come from.
    source: String,
    /// Per stored column: its typed value, an expression of the source's columns.
    values: Vec<(&'static str, String)>,
    /// Per failed check, in column order: its condition (true when the check fails; NULL
    /// counts as passing, as in `CASE WHEN`) and its reason.
    failures: Vec<(String, String)>,
    /// Per stored column: its cell as text, for the list of rejects.
    texts: Vec<String>,
    /// The stored day that dates the row ([`TABLE_DAYS`]), as the valid rows give it.
    day: Option<String>,
}

impl ExportChecks {
    /// The checks of the export registered as `source` for raw table `table`, whose stored
    /// `columns` it provides as `provided` (matched by name whatever its case; a column
    /// it lacks is absent in every row); `time_zone` is the configured zone the events'
    /// days are cut in.
    ///
    /// Every expression reads the source's columns directly, not a subquery of cleaned
    /// cells: a Ballista scheduler decodes a plan with prost's limit of 100 nested
    /// messages, and each node of the plan and of an expression nests one or more. A
    /// subquery adds plan nodes, and the optimizer writes its expressions into every
    /// predicate pushed below it anyway; so the checks are kept shallow — a failure is
    /// one term of a flat `OR`, and the events' day is checked against the instant's
    /// cell, not against its stored form (see
    /// `every_query_of_a_sync_decodes_as_a_ballista_scheduler_decodes_it`).
    pub fn of(
        source: &str,
        table: &str,
        columns: &[(&'static str, StoredType)],
        provided: &[ProvidedColumn],
        time_zone: &str,
    ) -> Self {
        let mut values = Vec::new();
        let mut failures = Vec::new();
        let mut texts = Vec::new();
        // Per column: its cell (the source's value, trimmed text with an empty cell
        // absent, as the import reads fields).
        let mut cells: Vec<(&str, String)> = Vec::new();
        for &(column, _) in columns {
            let given = provided
                .iter()
                .find(|p| p.name.eq_ignore_ascii_case(column));
            let kind = given.map_or(ProvidedType::Text, |p| p.kind);
            let quoted = given.map(|p| format!("\"{}\"", p.name.replace('"', "\"\"")));
            let cell = match (&quoted, kind) {
                (None, _) => "CAST(NULL AS VARCHAR)".to_string(),
                (Some(q), ProvidedType::Text) => format!("NULLIF(TRIM({q}), '')"),
                (Some(q), ProvidedType::Integer | ProvidedType::Float) => q.clone(),
                (Some(q), ProvidedType::Other) => {
                    format!("NULLIF(TRIM(CAST({q} AS VARCHAR)), '')")
                }
            };
            let numeric = matches!(kind, ProvidedType::Integer | ProvidedType::Float);
            let text = if numeric {
                format!("CAST({cell} AS VARCHAR)")
            } else {
                cell.clone()
            };
            let quoted_text = format!("'\"' || {text} || '\"'");
            // The failure is true when the check fails; NULL (a cell absent, or a cell
            // another check rejects) is no failure.
            let (required, value, failure) = match rule(table, column) {
                Rule::Key => (false, text.clone(), None),
                Rule::DayOf(instant) => {
                    let instant = cells
                        .iter()
                        .find(|c| c.0 == instant)
                        .map_or_else(|| "CAST(NULL AS VARCHAR)".to_string(), |c| c.1.clone());
                    // NULL when the day is absent or the instant no instant: the
                    // day's and the instant's own checks reject those.
                    let failure = format!("{text} <> {}", local_day(&instant, time_zone));
                    let why = format!(
                        "{quoted_text} || ' is not the day of ts ' || COALESCE({instant}, '') \
                         || ' in time zone {}'",
                        time_zone.replace('\'', "")
                    );
                    (true, text.clone(), Some((failure, why)))
                }
                Rule::Field(kind_of, required, default) => {
                    let (value, check, why) =
                        field_check(kind_of, default, &cell, kind, &text, &quoted_text);
                    // A present cell whose check is false, or NULL (a cast that failed).
                    let failure = (!why.is_empty())
                        .then(|| (format!("{cell} IS NOT NULL AND ({check}) IS NOT TRUE"), why));
                    (required, value, failure)
                }
            };
            if required {
                failures.push((
                    format!("{cell} IS NULL"),
                    format!("'{column}: missing value'"),
                ));
            }
            if !numeric {
                failures.push((
                    format!("octet_length({cell}) > {MAX_FIELD_BYTES}"),
                    format!(
                        "'{column}: field is ' || CAST(octet_length({cell}) AS VARCHAR) || \
                         ' bytes long; the limit is {MAX_FIELD_BYTES}'"
                    ),
                ));
            }
            if let Some((failure, why)) = failure {
                failures.push((failure, format!("'{column}: ' || {why}")));
            }
            texts.push(text);
            values.push((column, value));
            cells.push((column, cell));
        }
        let day = TABLE_DAYS
            .iter()
            .find(|(t, _)| *t == table)
            .and_then(|(_, dated_by)| {
                values
                    .iter()
                    .zip(columns)
                    .find(|((column, _), _)| column == dated_by)
                    .map(|((_, value), &(_, kind))| {
                        format!("CAST({value} AS {})", export_type(kind))
                    })
            });
        Self {
            source: source.to_string(),
            values,
            failures,
            texts,
            day,
        }
    }

    /// Whether a row fails a check: a flat `OR` of the failures, to be read by `CASE
    /// WHEN` (where NULL is no failure).
    fn fails(&self) -> String {
        if self.failures.is_empty() {
            return "FALSE".to_string();
        }
        let terms: Vec<&str> = self.failures.iter().map(|(c, _)| c.as_str()).collect();
        terms.join(" OR ")
    }

    /// The valid rows as the raw table's stored columns, each of its stored type: what
    /// every rollup reads.
    pub fn valid_rows(&self, columns: &[(&str, StoredType)]) -> String {
        let select: Vec<String> = self
            .values
            .iter()
            .zip(columns)
            .map(|((column, value), &(_, kind))| {
                format!("CAST({value} AS {}) AS {column}", export_type(kind))
            })
            .collect();
        // The rows without a failure. The first term never holds (`random()` is below
        // 1); it makes the check volatile, which DataFusion does not push down into the
        // scan, and `IS NOT TRUE` keeps the optimizer from splitting it (`NOT (a OR b)`
        // becomes `NOT a AND NOT b`, and each term is pushed apart). Pushed into a
        // Parquet scan, the check is rewritten and simplified for every file, for
        // statistics pruning that cannot use it: in a debug build a query over the 630
        // day files of the tests' events took 9 s instead of 3 s; and each term pushed
        // into the scan nests there, at the bottom of the plan, deeper than a scheduler
        // decodes.
        format!(
            "SELECT {} FROM {} WHERE (random() > 2 OR {}) IS NOT TRUE",
            select.join(", "),
            self.source,
            self.fails()
        )
    }

    /// The distinct days of the valid rows' stored `column` (the source's stored
    /// `columns` as in [`valid_rows`](Self::valid_rows)).
    pub fn days_of_valid_rows(&self, columns: &[(&str, StoredType)], column: &str) -> String {
        format!(
            "SELECT DISTINCT {column} FROM ({}) valid",
            self.valid_rows(columns)
        )
    }

    /// One row per row of the source: `file` (the literal `file`), `rejected` (1 for a
    /// row that fails a check, else 0) and `day` (the stored day of a valid row, NULL for
    /// a rejected one); what [`rows_per_file_and_day`] counts.
    pub fn judged(&self, file: &str) -> String {
        let fails = self.fails();
        format!(
            "SELECT {} AS file, CASE WHEN {fails} THEN 1 ELSE 0 END AS rejected, \
             CASE WHEN {fails} THEN CAST(NULL AS VARCHAR) ELSE {} END AS day FROM {}",
            literal(file),
            self.day.as_deref().unwrap_or("CAST(NULL AS VARCHAR)"),
            self.source
        )
    }

    /// NULL for a valid row, else `<column>: <why>` of its first failing column.
    fn reason(&self) -> String {
        if self.failures.is_empty() {
            return "CAST(NULL AS VARCHAR)".to_string();
        }
        let branches: Vec<String> = self
            .failures
            .iter()
            .map(|(condition, why)| format!("WHEN {condition} THEN {why}"))
            .collect();
        format!("CASE {} END", branches.join(" "))
    }

    /// The first `limit` rejected rows of the source, in its order: `(row, reason, <the
    /// cell of each stored column as text>…)`, `row` counted from 1 in the order the
    /// engine reads the source, `reason` as `<column>: <why>`. The row numbers are the
    /// rows' places in the file only when the source is one file read in one partition
    /// (the engine's search for rejects reads each file so).
    pub fn rejected_rows(&self, limit: usize) -> String {
        let texts: Vec<String> = self
            .texts
            .iter()
            .enumerate()
            .map(|(i, t)| format!("{t} AS cell{i}"))
            .collect();
        format!(
            "SELECT * FROM (SELECT ROW_NUMBER() OVER () AS rn, {} AS reason, {} \
             FROM {}) r WHERE reason IS NOT NULL LIMIT {limit}",
            self.reason(),
            texts.join(", "),
            self.source
        )
    }
}

/// Per file and stored day, its rows and rejected rows, from the [`ExportChecks::judged`]
/// rows of every file: `(file, day, rows, rejected)`, the day NULL for the rejected rows.
/// One read gives both the rejects of each file and the valid rows per day that
/// `ru_table_days` holds.
pub fn rows_per_file_and_day(judged: &[String]) -> String {
    format!(
        "SELECT file, day, COUNT(*) AS n, SUM(rejected) AS rejected FROM ({}) j \
         GROUP BY file, day",
        judged.join(" UNION ALL ")
    )
}

/// The value, check and reason (SQL) of a contract field of `kind` whose `cell` (an
/// expression of the source's columns) the export provides as `provided` (`text`: the
/// cell as text; `quoted`: that text in double quotes, for the reason).
fn field_check(
    kind: ColumnKind,
    default: Option<&str>,
    cell: &str,
    provided: ProvidedType,
    text: &str,
    quoted: &str,
) -> (String, String, String) {
    let whole = |low: i64, high: i64, what: &str| {
        let value = match provided {
            ProvidedType::Integer => format!("CAST({cell} AS BIGINT)"),
            ProvidedType::Float => {
                format!("CASE WHEN {cell} = trunc({cell}) THEN TRY_CAST({cell} AS BIGINT) END")
            }
            ProvidedType::Text | ProvidedType::Other => format!("TRY_CAST({cell} AS BIGINT)"),
        };
        let check = format!("{value} BETWEEN {low} AND {high}");
        (value, check, format!("{quoted} || ' {what}'"))
    };
    match kind {
        ColumnKind::Text => (text.to_string(), "TRUE".to_string(), String::new()),
        ColumnKind::Date => (
            text.to_string(),
            format!("CAST(TRY_CAST({text} AS DATE) AS VARCHAR) = {text}"),
            format!("{quoted} || ' is not a calendar day written YYYY-MM-DD'"),
        ),
        ColumnKind::Timestamp { .. } => {
            // Kept as exported when already in the stored form (what the store's exports
            // hold), else written so: formatting each instant costs more than the check.
            let value = format!(
                "CASE WHEN length({text}) = 20 AND substr({text}, 20, 1) = 'Z' \
                 AND substr({text}, 11, 1) = 'T' THEN {text} \
                 ELSE to_char(TRY_CAST({text} AS TIMESTAMP), '%Y-%m-%dT%H:%M:%SZ') END"
            );
            // RFC 3339 as the import reads it: a date, `T` (or a space), a time to the
            // second (and its fraction), and the offset, `Z` or `+hh:mm` / `-hh:mm`. (The
            // engine's cast also reads a day alone, or a time without an offset.) One
            // pattern, not a chain of `substr` tests: a plan the scheduler decodes has
            // room for only so many nested expressions.
            let shape = format!(
                "{text} ~ '^[0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}}[Tt ][0-9]{{2}}:[0-9]{{2}}:[0-9]{{2}}\
                 ([.][0-9]+)?([Zz]|[+-][0-9]{{2}}:[0-9]{{2}})$'"
            );
            (
                value,
                format!("TRY_CAST({text} AS TIMESTAMP) IS NOT NULL AND {shape}"),
                format!(
                    "{quoted} || ' is not an RFC 3339 instant with its offset (expected e.g. \
                     2025-06-01T12:00:00Z)'"
                ),
            )
        }
        ColumnKind::Money { non_negative } => {
            let low = if non_negative {
                0
            } else {
                -MAX_MONEY_MINOR_UNITS
            };
            whole(
                low,
                MAX_MONEY_MINOR_UNITS,
                &format!("is not an amount in whole cents from {low} to {MAX_MONEY_MINOR_UNITS}"),
            )
        }
        ColumnKind::Count => whole(0, i64::MAX, "is not a whole number of 0 or more"),
        ColumnKind::Number => {
            let value = match provided {
                ProvidedType::Integer | ProvidedType::Float => format!("CAST({cell} AS DOUBLE)"),
                ProvidedType::Text | ProvidedType::Other => format!("TRY_CAST({cell} AS DOUBLE)"),
            };
            (
                value.clone(),
                format!("NOT isnan({value}) AND abs({value}) <= {:e}", f64::MAX),
                format!("{quoted} || ' is not a finite number'"),
            )
        }
        ColumnKind::Enum(allowed) => {
            let lower = format!("lower({text})");
            let value = match default {
                Some(d) => format!("COALESCE({lower}, {})", literal(d)),
                None => lower.clone(),
            };
            let list: Vec<String> = allowed.iter().map(|a| literal(a)).collect();
            (
                value,
                format!("{lower} IN ({})", list.join(", ")),
                format!("{quoted} || ' is not one of {}'", allowed.join(", ")),
            )
        }
    }
}

/// The local calendar day (`YYYY-MM-DD`) in `time_zone` of `instant`, an SQL expression of
/// RFC 3339 text (NULL when it is none).
fn local_day(instant: &str, time_zone: &str) -> String {
    // The cast reads the text's offset and gives the UTC time, without a zone.
    let utc = format!("TRY_CAST({instant} AS TIMESTAMP)");
    // The day as text through a date, not `to_char(…, '%Y-%m-%d')`: DataFusion (55)
    // parses the format again for every row, and that was a seventh of a 100 M-event
    // sync's CPU (`perf`). A date casts to text as `YYYY-MM-DD`, four-digit year included.
    if time_zone.eq_ignore_ascii_case("UTC") {
        return format!("CAST(CAST({utc} AS DATE) AS VARCHAR)");
    }
    // `AT TIME ZONE 'UTC'` says the time is UTC, the second `AT TIME ZONE` converts the
    // instant, and `to_local_time` drops the zone, leaving the local time (a time without
    // a zone put `AT TIME ZONE` another zone directly is read as that zone's local time:
    // the UTC day again).
    format!(
        "CAST(CAST(to_local_time(({utc} AT TIME ZONE 'UTC') AT TIME ZONE {}) AS DATE) \
         AS VARCHAR)",
        literal(time_zone)
    )
}

/// A raw input's stored `columns` with no row: the read of a table no export provides.
///
/// The filter compares a column, not two constants: DataFusion folds `WHERE 1 = 0` into
/// an empty relation, whose columns Ballista's plan encoding (55.0.0) drops, so the
/// scheduler refused every query reading the table ("No field named
/// orders.order_date") when the exports held no orders.
pub fn empty_export(columns: &[(&str, StoredType)]) -> String {
    let nulls: Vec<String> = columns
        .iter()
        .map(|&(column, kind)| format!("CAST(NULL AS {}) AS {column}", export_type(kind)))
        .collect();
    format!(
        "SELECT {} FROM (VALUES (0)) nothing WHERE nothing.column1 = 1",
        nulls.join(", ")
    )
}

/// The CTE that reads raw table `table` from all its export `selects`.
pub fn export_cte(table: &str, selects: &[String]) -> String {
    format!("{table} AS ({})", selects.join(" UNION ALL "))
}

/// The CTE that reads raw table `table` from all its export `selects`, only its rows
/// whose `column` is one of `days` (see [`ChangedDays`]).
pub fn export_cte_of_days(
    table: &str,
    selects: &[String],
    column: &str,
    days: &BTreeSet<NaiveDate>,
) -> String {
    format!(
        "{table} AS (SELECT * FROM ({}) every_day WHERE {})",
        selects.join(" UNION ALL "),
        among_days(column, days)
    )
}

/// SQL: `column` (a day as text) is one of `days`.
fn among_days(column: &str, days: &BTreeSet<NaiveDate>) -> String {
    let held: Vec<String> = super::rollup::ranges(days, 1)
        .into_iter()
        .map(|(from, to)| format!("{column} BETWEEN '{from}' AND '{to}'"))
        .collect();
    if held.is_empty() {
        "FALSE".to_string()
    } else {
        format!("({})", held.join(" OR "))
    }
}

/// The rollup tables each row of which depends on one day's rows of one raw table only
/// (`(rollup, raw table)`): a sync of changed exports computes them on the engine for the
/// days whose rows changed, and keeps the other days' rows.
pub const DAY_TABLES: [(&str, &str); 6] = [
    ("ru_order_customers_day", "orders"),
    ("ru_orders_day", "orders"),
    ("ru_events_day", "events"),
    ("ru_event_names_day", "events"),
    ("ru_event_users_day", "events"),
    ("ru_feature_users_day", "events"),
];

/// The rollup tables a sync of changed exports computes on the engine whole: the rows per
/// day (which tell the changed days), the refunds by their order's channel and customer
/// (an order changed on one day moves its refunds of any day), and each user's first
/// event per name, unless the changed days' firsts suffice ([`FirstEvents`]).
pub const WHOLE_ON_THE_ENGINE: [&str; 3] = ["ru_table_days", "ru_refunds_day", "ru_first_event"];

/// The days whose rows changed in the exports, per raw table with [`DAY_TABLES`]: the days
/// whose rows per day differ from the store's, and every day of a new or changed export
/// file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChangedDays {
    pub orders: BTreeSet<NaiveDate>,
    pub events: BTreeSet<NaiveDate>,
}

impl ChangedDays {
    /// The changed days of raw `table` (none for a table without [`DAY_TABLES`]).
    pub fn of(&self, table: &str) -> Option<&BTreeSet<NaiveDate>> {
        match table {
            "orders" => Some(&self.orders),
            "events" => Some(&self.events),
            _ => None,
        }
    }

    pub fn of_mut(&mut self, table: &str) -> Option<&mut BTreeSet<NaiveDate>> {
        match table {
            "orders" => Some(&mut self.orders),
            "events" => Some(&mut self.events),
            _ => None,
        }
    }
}

/// How a sync of changed exports counts each user's first event per name
/// (`ru_first_event`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FirstEvents {
    /// From every event.
    Whole,
    /// From the changed days' events, merged into the store's: each pair keeps the earlier
    /// of its first and the changed days' first. Right when no first of the store lies
    /// on a changed day of a user active after it on a day that did not change
    /// (`Store::first_events_need_every_event`): a first on a changed day is dropped, and the
    /// user's events on days that did not change are all later than it.
    OfChangedDays,
}

/// Rows per (raw table, day), as `ru_table_days` holds them.
pub type DayCounts = std::collections::BTreeMap<(String, String), i64>;

impl super::Store {
    /// The rows per (table, day) of `ru_table_days`: what a sync of changed exports
    /// compares the exports' with.
    pub fn rows_per_day(&self) -> rusqlite::Result<DayCounts> {
        let mut stmt = self
            .conn()
            .prepare("SELECT tbl, day, rows FROM ru_table_days")?;
        let rows = stmt.query_map([], |r| Ok(((r.get(0)?, r.get(1)?), r.get(2)?)))?;
        rows.collect()
    }

    /// Whether the rollups hold a day of orders, refunds or events (synced or imported).
    pub fn holds_days_of_the_engine_tables(&self) -> rusqlite::Result<bool> {
        self.conn().query_row(
            "SELECT EXISTS (SELECT 1 FROM ru_table_days \
             WHERE tbl IN ('orders', 'refunds', 'events'))",
            [],
            |r| r.get(0),
        )
    }

    /// Whether the firsts of the store need every event counted again after the events
    /// of `days` changed: a first lies on one of `days`, and its user was active after
    /// it on a day not among them (where a first may now be).
    pub fn first_events_need_every_event(
        &self,
        days: &BTreeSet<NaiveDate>,
    ) -> rusqlite::Result<bool> {
        first_events_need_every_event(self.conn(), days)
    }
}

fn first_events_need_every_event(
    conn: &rusqlite::Connection,
    days: &BTreeSet<NaiveDate>,
) -> rusqlite::Result<bool> {
    conn.query_row(
        &format!(
            "SELECT EXISTS (SELECT 1 FROM ru_first_event f WHERE {} AND EXISTS (\
             SELECT 1 FROM ru_event_users_day u WHERE u.user_id = f.user_id \
             AND u.day > f.day AND NOT {}))",
            among_days("f.day", days),
            among_days("u.day", days)
        ),
        [],
        |r| r.get(0),
    )
}

/// The queries of a sync of changed exports, each with whether it reads the changed days'
/// rows only (the [`DAY_TABLES`], and the first events when `firsts` says so) or every
/// row ([`WHOLE_ON_THE_ENGINE`]); the store derives the other rollups from the day
/// rollups (`rollup::derive_after_changed_days`), and the signups stay as they are (such a
/// sync needs the customers' exports unchanged).
pub fn changed_days_plan(ranges: &DayRanges, firsts: FirstEvents) -> Vec<(RollupQuery, bool)> {
    plan(ranges)
        .into_iter()
        .filter_map(|query| {
            if DAY_TABLES.iter().any(|(table, _)| *table == query.table) {
                Some((query, true))
            } else if query.table == FIRST_EVENTS {
                Some((query, firsts == FirstEvents::OfChangedDays))
            } else if WHOLE_ON_THE_ENGINE.contains(&query.table) {
                Some((query, false))
            } else {
                None
            }
        })
        .collect()
}

const FIRST_EVENTS: &str = "ru_first_event";

/// The first and last day of each table of [`TABLE_DAYS`] (every row, every status): the
/// periods and windows whose distinct counts a rebuild writes, zero or not.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DayRanges {
    pub orders: Option<(NaiveDate, NaiveDate)>,
    pub events: Option<(NaiveDate, NaiveDate)>,
}

/// The raw tables whose first and last day [`DayRanges`] holds.
const RANGED_TABLES: [&str; 2] = ["orders", "events"];

/// The query for the first and last day of a raw table: `(table, query)` per table that
/// [`DayRanges`] needs; each returns one row of two text columns.
fn range_queries() -> Vec<(&'static str, String)> {
    TABLE_DAYS
        .iter()
        .filter(|(table, _)| RANGED_TABLES.contains(table))
        .map(|(table, column)| {
            (
                *table,
                format!("SELECT MIN({column}), MAX({column}) FROM {table}"),
            )
        })
        .collect()
}

impl DayRanges {
    /// The first and last day counted of each table, from its rows per day.
    pub fn of_counts(counted: &DayCounts) -> Self {
        let mut ranges = Self::default();
        for table in RANGED_TABLES {
            let of_table = counted.keys().filter(|(t, _)| t == table);
            let first = of_table.clone().map(|(_, day)| day.as_str()).min();
            let last = of_table.map(|(_, day)| day.as_str()).max();
            ranges.set(table, first, last);
        }
        ranges
    }

    /// Records the answer of `table`'s [`range_queries`] entry.
    pub fn set(&mut self, table: &str, first: Option<&str>, last: Option<&str>) {
        let range = first.and_then(parse_day).zip(last.and_then(parse_day));
        match table {
            "orders" => self.orders = range,
            "events" => self.events = range,
            _ => {}
        }
    }
}

const ORDER_CUSTOMERS: &str = "ocd AS (SELECT order_date AS day, customer_id, \
     COALESCE(channel, '') AS channel, COUNT(*) AS orders, SUM(revenue) AS revenue, \
     COALESCE(SUM(discount), 0) AS discount, COALESCE(SUM(cost), 0) AS cost \
     FROM orders WHERE status = 'completed' \
     GROUP BY order_date, customer_id, COALESCE(channel, ''))";

/// Completed orders per customer and day: (id, day, n, revenue).
const ORDER_IDS: &str = "opid AS (SELECT customer_id AS id, day, SUM(orders) AS n, \
     SUM(revenue) AS revenue FROM ocd GROUP BY customer_id, day)";

/// Events and distinct sessions per user and day. The sessions are counted as the
/// (day, user, session) groups with a session, not with `COUNT(DISTINCT …)` beside
/// `COUNT(*)`: DataFusion keeps a hash set per group for that (no two-phase rewrite
/// beside another aggregate), a few KB each, which took 3.4 GB for 200 k (day, user)
/// groups, and its memory pool does not bound it.
const EVENT_USERS: &str = "eud AS (SELECT day, user_id, SUM(n) AS events, \
     COUNT(session_id) AS sessions FROM (SELECT day, user_id, session_id, COUNT(*) AS n \
     FROM events GROUP BY day, user_id, session_id) us GROUP BY day, user_id)";

/// Active users per day as (id, day, n, revenue), like [`ORDER_IDS`].
const EVENT_IDS: &str = "epid AS (SELECT user_id AS id, day, 1 AS n, 0 AS revenue FROM eud)";

const FEATURE_USERS: &str = "fud AS (SELECT DISTINCT day, COALESCE(feature, '') AS feature, \
     user_id FROM events WHERE name = 'feature_used')";

/// Each user's active days as calendar indexes, with the user's previous and next one
/// (no user: not counted, as `COUNT(DISTINCT …)` does not count NULL): what the trailing
/// windows ([`window_edges`]) read.
const ACTIVE_DAYS: &str = "wact AS (SELECT user_id, idx, \
     LAG(idx) OVER (PARTITION BY user_id ORDER BY idx) AS prev_idx, \
     LEAD(idx) OVER (PARTITION BY user_id ORDER BY idx) AS next_idx \
     FROM (SELECT u.user_id, c.idx FROM eud u JOIN cal c ON c.day = u.day \
     WHERE u.user_id IS NOT NULL) a)";

/// The edges `(at, delta)` of the users counted by a trailing window of `days` days: an
/// active day holds the user in the windows ending on it and the `days - 1` days after,
/// so a user's active days less than `days` apart make one run, counted from its first
/// day (+1) to `days` after its last (-1). The running sum of the edges per day is the
/// distinct users of the window ending that day: the same count as expanding every
/// active day into its `days` window ends, without rows `days` times the active days
/// (300 M for 10 M events) to count distinct.
fn window_edges(days: i64) -> String {
    format!(
        "SELECT idx AS at, 1 AS delta FROM wact WHERE prev_idx IS NULL OR idx - prev_idx > {days} \
         UNION ALL SELECT idx + {days}, -1 FROM wact \
         WHERE next_idx IS NULL OR next_idx - idx > {days}"
    )
}

fn ctes(names: &[&str]) -> Vec<String> {
    names.iter().map(|c| (*c).to_string()).collect()
}

fn query(
    table: &'static str,
    columns: &'static [&'static str],
    ctes: Vec<String>,
    body: &str,
) -> RollupQuery {
    RollupQuery {
        table,
        columns,
        ctes,
        body: body.to_string(),
    }
}

/// `ru_table_days`: the rows per day of every raw table with a day (every status), whose
/// first and last day of each table are also its [`DayRanges`].
pub fn table_days() -> RollupQuery {
    table_days_of(&TABLE_DAYS.map(|(table, _)| table))
}

/// The rows of `ru_table_days` of `tables` (some of [`TABLE_DAYS`]'s) only.
pub fn table_days_of(tables: &[&str]) -> RollupQuery {
    query(
        "ru_table_days",
        &["tbl", "day", "rows"],
        Vec::new(),
        &TABLE_DAYS
            .iter()
            .filter(|(table, _)| tables.contains(table))
            .map(|(table, column)| {
                format!(
                    "SELECT '{table}' AS tbl, {column} AS day, COUNT(*) AS n \
                     FROM {table} GROUP BY {column}"
                )
            })
            .collect::<Vec<_>>()
            .join(" UNION ALL "),
    )
}

/// Every rollup table's query, given the raw tables' day ranges.
pub fn plan(ranges: &DayRanges) -> Vec<RollupQuery> {
    let mut out = vec![
        table_days(),
        query(
            "ru_order_customers_day",
            &[
                "day",
                "customer_id",
                "channel",
                "orders",
                "revenue",
                "discount",
                "cost",
            ],
            ctes(&[ORDER_CUSTOMERS]),
            "SELECT day, customer_id, channel, orders, revenue, discount, cost FROM ocd",
        ),
        query(
            "ru_orders_day",
            &["day", "channel", "orders", "revenue", "discount", "cost"],
            ctes(&[ORDER_CUSTOMERS]),
            "SELECT day, channel, SUM(orders), SUM(revenue), SUM(discount), SUM(cost) \
             FROM ocd GROUP BY day, channel",
        ),
        query(
            "ru_refunds_day",
            &["day", "channel", "customer_id", "amount"],
            Vec::new(),
            "SELECT r.refund_date, COALESCE(o.channel, ''), COALESCE(o.customer_id, ''), \
             SUM(r.amount) FROM refunds r LEFT JOIN orders o ON o.order_id = r.order_id \
             GROUP BY r.refund_date, COALESCE(o.channel, ''), COALESCE(o.customer_id, '')",
        ),
        query(
            "ru_events_day",
            &[
                "day",
                "events",
                "sessions",
                "page_views",
                "pv_sessions",
                "bounced_sessions",
                "duration_s",
            ],
            Vec::new(),
            // The distinct sessions of a day are its (day, session) groups, as in
            // `EVENT_USERS`: no hash set of every session per day.
            "SELECT e.day, e.n, COALESCE(s.sessions, 0), e.pv, COALESCE(s.pv_sessions, 0), \
             COALESCE(s.bounced, 0), e.duration \
             FROM (SELECT day, COUNT(*) AS n, \
                   SUM(CASE WHEN name = 'page_view' THEN 1 ELSE 0 END) AS pv, \
                   COALESCE(SUM(duration_s), 0) AS duration FROM events GROUP BY day) e \
             LEFT JOIN (SELECT day, COUNT(*) AS sessions, \
                        SUM(CASE WHEN pv >= 1 THEN 1 ELSE 0 END) AS pv_sessions, \
                        SUM(CASE WHEN pv = 1 THEN 1 ELSE 0 END) AS bounced \
                        FROM (SELECT day, session_id, \
                              SUM(CASE WHEN name = 'page_view' THEN 1 ELSE 0 END) AS pv \
                              FROM events WHERE session_id IS NOT NULL \
                              GROUP BY day, session_id) p \
                        GROUP BY day) s ON s.day = e.day",
        ),
        query(
            "ru_event_names_day",
            &["day", "name", "events"],
            Vec::new(),
            "SELECT day, name, COUNT(*) FROM events GROUP BY day, name",
        ),
        query(
            "ru_event_users_day",
            &["day", "user_id", "events", "sessions"],
            ctes(&[EVENT_USERS]),
            "SELECT day, user_id, events, sessions FROM eud",
        ),
        query(
            "ru_feature_users_day",
            &["day", "feature", "user_id"],
            ctes(&[FEATURE_USERS]),
            "SELECT day, feature, user_id FROM fud",
        ),
        query(
            "ru_signups_day",
            &["day", "channel", "plan", "region", "customers"],
            Vec::new(),
            "SELECT signup_date, channel, plan, region, COUNT(*) FROM customers \
             GROUP BY signup_date, channel, plan, region",
        ),
        query(
            "ru_first_event",
            &["name", "user_id", "day", "ts"],
            Vec::new(),
            FIRST_EVENTS_SELECT,
        ),
    ];
    let Some(calendar) = calendar(ranges) else {
        return out;
    };
    if let Some((from, to)) = ranges.orders {
        out.push(query(
            "ru_repeat_delta",
            &["day", "ge1", "ge2"],
            [ORDER_CUSTOMERS, ORDER_IDS, calendar.as_str()]
                .into_iter()
                .chain(REPEAT_INTERVALS)
                .map(str::to_string)
                .collect(),
            REPEAT_DELTAS,
        ));
        out.push(query(
            "ru_order_gaps",
            &["day", "next_day", "customers"],
            ctes(&[ORDER_CUSTOMERS, ORDER_IDS]),
            &format!(
                "SELECT day, next_day, COUNT(*) FROM (SELECT day, \
                 COALESCE(next_order_day, '{NO_NEXT_ORDER}') AS next_day FROM (SELECT day, \
                 LEAD(day) OVER (PARTITION BY id ORDER BY day) AS next_order_day FROM opid) l) g \
                 GROUP BY day, next_day"
            ),
        ));
        out.push(distinct_query(
            vec![ORDER_CUSTOMERS.into(), calendar.clone()],
            &periods("paying", "ocd", "customer_id", from, to),
        ));
    }
    let mut cohorts = Vec::new();
    if ranges.orders.is_some() {
        cohorts.push(cohort_cells("orders", "opid"));
    }
    if let Some((from, to)) = ranges.events {
        cohorts.push(cohort_cells("events", "epid"));
        let mut parts = vec![
            periods("active", "eud", "user_id", from, to),
            periods("adopters", "fud", "user_id", from, to),
        ];
        parts.extend(WINDOWS.iter().map(|&(kind, days)| {
            let last_end = to + Duration::days(days - 1);
            format!(
                "SELECT '{kind}' AS kind, c.day AS period, SUM(COALESCE(d.delta, 0)) \
                 OVER (ORDER BY c.idx ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS n \
                 FROM cal c LEFT JOIN (SELECT at, SUM(delta) AS delta FROM ({}) e GROUP BY at) d \
                 ON d.at = c.idx WHERE c.day BETWEEN '{from}' AND '{last_end}'",
                window_edges(days)
            )
        }));
        out.push(distinct_query(
            vec![
                EVENT_USERS.into(),
                FEATURE_USERS.into(),
                calendar.clone(),
                ACTIVE_DAYS.into(),
            ],
            &parts.join(" UNION ALL "),
        ));
        out.push(query(
            "ru_feature_distinct",
            &["kind", "period", "feature", "n"],
            vec![FEATURE_USERS.into(), calendar.clone()],
            &feature_periods(from, to),
        ));
    }
    if !cohorts.is_empty() {
        let mut with = Vec::new();
        if ranges.orders.is_some() {
            with.extend(ctes(&[ORDER_CUSTOMERS, ORDER_IDS]));
        }
        if ranges.events.is_some() {
            with.extend(ctes(&[EVENT_USERS, EVENT_IDS]));
        }
        out.push(query(
            "ru_cohort_cells",
            &["variant", "cohort", "month", "customers", "revenue"],
            with,
            &cohorts.join(" UNION ALL "),
        ));
    }
    out
}

fn distinct_query(ctes: Vec<String>, body: &str) -> RollupQuery {
    query("ru_distinct", &["kind", "period", "n"], ctes, body)
}

/// Distinct ids of `source` per day, week and month holding a day of [`from`, `to`]
/// (zero for a period without any).
fn periods(prefix: &str, source: &str, id: &str, from: NaiveDate, to: NaiveDate) -> String {
    let days = format!("day BETWEEN '{from}' AND '{to}'");
    format!(
        "SELECT '{prefix}_' || g.grain AS kind, g.period, COUNT(DISTINCT a.{id}) AS n \
         FROM (SELECT '{day}' AS grain, day AS period, day FROM cal WHERE {days} \
               UNION ALL SELECT '{week}', week_start, day FROM cal WHERE {days} \
               UNION ALL SELECT '{month}', month_start, day FROM cal WHERE {days}) g \
         LEFT JOIN {source} a ON a.day = g.day GROUP BY g.grain, g.period",
        day = Grain::Day,
        week = Grain::Week,
        month = Grain::Month,
    )
}

/// Distinct users of each feature (`fud`) per day, week and month holding a day of
/// [`from`, `to`]; a feature without any user in a period has no row.
fn feature_periods(from: NaiveDate, to: NaiveDate) -> String {
    let days = format!("day BETWEEN '{from}' AND '{to}'");
    format!(
        "SELECT 'adopters_' || g.grain AS kind, g.period, a.feature, \
         COUNT(DISTINCT a.user_id) AS n \
         FROM (SELECT '{day}' AS grain, day AS period, day FROM cal WHERE {days} \
               UNION ALL SELECT '{week}', week_start, day FROM cal WHERE {days} \
               UNION ALL SELECT '{month}', month_start, day FROM cal WHERE {days}) g \
         JOIN fud a ON a.day = g.day GROUP BY g.grain, g.period, a.feature",
        day = Grain::Day,
        week = Grain::Week,
        month = Grain::Month,
    )
}

/// The cohort cells of one variant from its per-id days `(id, day, n, revenue)`: each id
/// in the cohort of its signup month, else of its first active month, counted in every
/// month from its cohort on that it is active; a size row (month '') for ids without a
/// signup.
///
/// Each id's days get its cohort without a join of the days to the ids: the id's cohort
/// row is put before its days (tag 0) and carried onto them by a window per id. A hash
/// join of the two would hold one side whole in memory, which DataFusion's memory pool
/// cannot spill, and which side it picks depends on statistics: it held the days (every
/// active id and day, 10 M rows for 10 M events) and exhausted the pool. The window's
/// sort spills.
fn cohort_cells(variant: &str, source: &str) -> String {
    let owners = format!(
        "(SELECT f.id, COALESCE(substr(c.signup_date, 1, 7), substr(f.first_day, 1, 7)) AS cohort, \
         CASE WHEN c.customer_id IS NULL THEN 1 ELSE 0 END AS no_signup \
         FROM (SELECT id, MIN(day) AS first_day FROM {source} GROUP BY id) f \
         LEFT JOIN customers c ON c.customer_id = f.id)"
    );
    let cohort_days = format!(
        "(SELECT id, tag, day, revenue, FIRST_VALUE(cohort) OVER (PARTITION BY id ORDER BY tag \
         ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS cohort \
         FROM (SELECT id, 0 AS tag, '' AS day, 0 AS revenue, cohort FROM {owners} o \
               WHERE id IS NOT NULL \
               UNION ALL SELECT id, 1, day, revenue, '' FROM {source} s WHERE id IS NOT NULL) t)"
    );
    // Distinct ids per cell as the (cell, id) groups, not `COUNT(DISTINCT …)` beside
    // `SUM` (a hash set per cell in DataFusion, outside its memory pool).
    format!(
        "SELECT '{variant}' AS variant, cohort, month, COUNT(*) AS customers, \
         SUM(revenue) AS revenue FROM (SELECT cohort, substr(day, 1, 7) AS month, id, \
         SUM(revenue) AS revenue FROM {cohort_days} p \
         WHERE tag = 1 AND substr(day, 1, 7) >= cohort GROUP BY cohort, substr(day, 1, 7), id) m \
         GROUP BY cohort, month \
         UNION ALL SELECT '{variant}', cohort, '', COUNT(*), 0 FROM {owners} u \
         WHERE no_signup = 1 GROUP BY cohort"
    )
}

/// `ru_repeat_delta` from the per-customer order days: each order day opens the interval
/// of window ends whose 12 months hold it ([day, year_after)); a customer counts towards
/// ge1 where any interval holds, towards ge2 where two orders' intervals overlap (or a
/// day has two orders). Overlapping intervals of a customer are merged (gaps and
/// islands), and the merged edges summed per day.
const REPEAT_DELTAS: &str = "SELECT day, SUM(d1), SUM(d2) FROM (\
     SELECT s AS day, CASE WHEN tier = 1 THEN 1 ELSE 0 END AS d1, \
            CASE WHEN tier = 2 THEN 1 ELSE 0 END AS d2 FROM merged \
     UNION ALL SELECT e, CASE WHEN tier = 1 THEN -1 ELSE 0 END, \
            CASE WHEN tier = 2 THEN -1 ELSE 0 END FROM merged) edges \
     GROUP BY day HAVING SUM(d1) <> 0 OR SUM(d2) <> 0";

/// The CTEs [`REPEAT_DELTAS`] reads besides `opid` and `cal`.
const REPEAT_INTERVALS: [&str; 5] = [
    "held AS (SELECT p.id, p.day, p.n, c.year_after, \
     LAG(c.year_after) OVER (PARTITION BY p.id ORDER BY p.day) AS prev_year_after \
     FROM opid p JOIN cal c ON c.day = p.day)",
    "intervals AS (SELECT id, 1 AS tier, day AS s, year_after AS e FROM held \
     UNION ALL SELECT id, 2, day, prev_year_after FROM held WHERE prev_year_after IS NOT NULL \
     UNION ALL SELECT id, 2, day, year_after FROM held WHERE n >= 2)",
    "reached AS (SELECT id, tier, s, e, MAX(e) OVER (PARTITION BY id, tier ORDER BY s, e \
     ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS reach FROM intervals WHERE s < e)",
    "islands AS (SELECT id, tier, s, e, SUM(CASE WHEN s <= reach THEN 0 ELSE 1 END) \
     OVER (PARTITION BY id, tier ORDER BY s, e ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) \
     AS island FROM reached)",
    "merged AS (SELECT id, tier, MIN(s) AS s, MAX(e) AS e FROM islands GROUP BY id, tier, island)",
];

/// The calendar CTE `cal (day, idx, week_start, month_start, year_after)` from the first
/// day of any range to 29 days after the last (the longest trailing window's last end).
fn calendar(ranges: &DayRanges) -> Option<String> {
    let spans: Vec<(NaiveDate, NaiveDate)> = [ranges.orders, ranges.events]
        .into_iter()
        .flatten()
        .collect();
    let first = spans.iter().map(|s| s.0).min()?;
    let last = spans.iter().map(|s| s.1).max()? + Duration::days(29);
    let rows: Vec<String> = first
        .iter_days()
        .take_while(|d| *d <= last)
        .enumerate()
        .map(|(idx, day)| {
            format!(
                "('{day}', {idx}, '{}', '{}', '{}')",
                Period::containing(Grain::Week, day).start,
                Period::containing(Grain::Month, day).start,
                year_after(day)
            )
        })
        .collect();
    Some(format!(
        "cal AS (SELECT column1 AS day, column2 AS idx, column3 AS week_start, \
         column4 AS month_start, column5 AS year_after FROM (VALUES {}) v)",
        rows.join(", ")
    ))
}

/// The first window end whose trailing 12 months no longer hold `day`, as the metrics
/// define it ([`repeat_deltas`] of a single order closes its interval there).
fn year_after(day: NaiveDate) -> NaiveDate {
    repeat_deltas(&[(day, 1)])
        .into_iter()
        .map(|(d, _, _)| d)
        .find(|d| *d > day)
        .unwrap_or(NaiveDate::MAX)
}

/// Rebuilds every rollup from the raw rows with the plan, inside the caller's
/// transaction.
pub fn rebuild(tx: &Transaction<'_>) -> rusqlite::Result<()> {
    let mut ranges = DayRanges::default();
    for (table, sql) in range_queries() {
        let (first, last): (Option<String>, Option<String>) =
            tx.query_row(&sql, [], |r| Ok((r.get(0)?, r.get(1)?)))?;
        ranges.set(table, first.as_deref(), last.as_deref());
    }
    for table in ROLLUP_TABLES {
        tx.execute(&format!("DELETE FROM {table}"), [])?;
    }
    for q in plan(&ranges) {
        tx.execute(&q.insert(), [])?;
    }
    super::rollup::recount_segments(tx)
}

/// A replacement of every rollup table by rows another engine computes (a sync), written
/// as they arrive inside one transaction: [`begin`](Self::begin) opens it and empties
/// the rollup tables, [`table`](Self::table) inserts one query's rows, and
/// [`commit`](Self::commit) recounts the segments and commits. Dropped before the commit
/// (an error, a panic), it rolls back: the store keeps its rollups as they were. No row
/// is held here, so memory does not grow with the rows written.
pub struct RollupReplace<'s> {
    tx: super::WriteTx<'s>,
    written: Vec<(String, u64)>,
    /// Only the changed days were replaced ([`begin_days`](Self::begin_days)): the rollups
    /// derived from the day rollups are brought up to date in the store at the commit.
    changed_days: Option<(ChangedDays, super::rollup::BeforeChangedDays)>,
    /// The first events written are merged into the store's ([`FirstEvents::OfChangedDays`]).
    merge_firsts: bool,
}

/// The prepared insert of one rollup table's rows, from [`RollupReplace::table`].
pub struct RollupInsert<'t> {
    insert: rusqlite::Statement<'t>,
    columns: usize,
    written: &'t mut u64,
}

impl<'s> RollupReplace<'s> {
    /// Opens the transaction and deletes every rollup row (a table no query fills ends
    /// empty).
    pub fn begin(store: &'s mut super::Store) -> rusqlite::Result<Self> {
        let tx = store.write_tx(rusqlite::TransactionBehavior::Immediate)?;
        for table in ROLLUP_TABLES {
            tx.execute(&format!("DELETE FROM {table}"), [])?;
        }
        let written = ROLLUP_TABLES.iter().map(|t| (t.to_string(), 0)).collect();
        Ok(Self {
            tx,
            written,
            changed_days: None,
            merge_firsts: false,
        })
    }

    /// Opens the transaction of a sync of changed exports ([`changed_days_plan`]): deletes
    /// the [`DAY_TABLES`] rows of the changed `days` and every row of the
    /// [`WHOLE_ON_THE_ENGINE`] tables; the other rollups are derived from the day rollups
    /// at the [`commit`](Self::commit).
    pub fn begin_days(
        store: &'s mut super::Store,
        days: &ChangedDays,
        firsts: FirstEvents,
    ) -> rusqlite::Result<Self> {
        let tx = store.write_tx(rusqlite::TransactionBehavior::Immediate)?;
        let before = super::rollup::before_changed_days(&tx)?;
        let merge_firsts = firsts == FirstEvents::OfChangedDays;
        let of_days = DAY_TABLES
            .into_iter()
            .chain(merge_firsts.then_some((FIRST_EVENTS, "events")));
        for (table, raw) in of_days {
            let Some(days) = days.of(raw) else { continue };
            for (from, to) in super::rollup::ranges(days, 1) {
                tx.execute(
                    &format!("DELETE FROM {table} WHERE day BETWEEN ?1 AND ?2"),
                    [from.to_string(), to.to_string()],
                )?;
            }
        }
        for table in WHOLE_ON_THE_ENGINE {
            if !(merge_firsts && table == FIRST_EVENTS) {
                tx.execute(&format!("DELETE FROM {table}"), [])?;
            }
        }
        let written = DAY_TABLES
            .iter()
            .map(|(table, _)| *table)
            .chain(WHOLE_ON_THE_ENGINE)
            .map(|t| (t.to_string(), 0))
            .collect();
        Ok(Self {
            tx,
            written,
            changed_days: Some((days.clone(), before)),
            merge_firsts,
        })
    }

    /// The insert of `columns` (a query's, in its order) into rollup `table`.
    pub fn table(&mut self, table: &str, columns: &[&str]) -> rusqlite::Result<RollupInsert<'_>> {
        let Some(index) = self.written.iter().position(|(t, _)| t == table) else {
            return Err(rusqlite::Error::InvalidParameterName(format!(
                "{table} is not a rollup table this sync replaces"
            )));
        };
        let marks = vec!["?"; columns.len()].join(", ");
        let keep_earlier = if self.merge_firsts && table == FIRST_EVENTS {
            " ON CONFLICT (name, user_id) DO UPDATE SET day = min(day, excluded.day), \
             ts = min(ts, excluded.ts)"
        } else {
            ""
        };
        let insert = self.tx.prepare(&format!(
            "INSERT INTO {table} ({}) VALUES ({marks}){keep_earlier}",
            columns.join(", ")
        ))?;
        Ok(RollupInsert {
            insert,
            columns: columns.len(),
            written: &mut self.written[index].1,
        })
    }

    /// Where the signups written (by the engine, from the customers' export) disagree
    /// with the store's customers, as [`super::rollup::signups::disagreement`] names it.
    pub fn signups_disagreement(&self) -> rusqlite::Result<Option<String>> {
        super::rollup::signups::disagreement(&self.tx)
    }

    /// Recounts the segment rollups from what was written (with the customers of this
    /// store) and commits. Returns the rows written per rollup table.
    pub fn commit(self) -> rusqlite::Result<Vec<(String, u64)>> {
        match &self.changed_days {
            Some((days, before)) => super::rollup::derive_after_changed_days(
                &self.tx,
                before,
                &days.orders,
                &days.events,
            )?,
            None => super::rollup::recount_segments(&self.tx)?,
        }
        self.tx.commit()?;
        Ok(self.written)
    }
}

impl RollupInsert<'_> {
    /// Inserts one row: a value per column, in the order given to
    /// [`RollupReplace::table`].
    pub fn row(&mut self, values: &[ValueRef<'_>]) -> rusqlite::Result<()> {
        if values.len() != self.columns {
            return Err(rusqlite::Error::InvalidParameterCount(
                values.len(),
                self.columns,
            ));
        }
        let values = values.iter().map(|v| ToSqlOutput::Borrowed(*v));
        self.insert.execute(rusqlite::params_from_iter(values))?;
        *self.written += 1;
        Ok(())
    }
}

/// The plan's SQL run on DataFusion, where it differs from SQLite's.
#[cfg(all(test, feature = "cluster"))]
mod on_datafusion {
    use super::*;
    use datafusion::arrow::array::{Array, StringArray};
    use datafusion::arrow::compute::cast;
    use datafusion::arrow::datatypes::DataType;
    use datafusion::prelude::SessionContext;

    /// The events' day check compares each event's day with the local day of its instant
    /// as the engine computes it (`local_day`); it must be the day the import computes
    /// with chrono, before 1970 and across daylight saving too. (The engine's timestamps
    /// count nanoseconds: an instant outside the years 1677 to 2262 is no instant to it,
    /// and its row is rejected.)
    #[test]
    fn the_engine_computes_the_local_day_of_an_instant_as_the_import_does() {
        let instants = [
            "2025-06-01T12:00:00Z",
            "2025-06-01T22:30:00Z",
            "2025-03-30T00:59:59Z",
            "2025-03-30T01:00:00+00:00",
            "2025-10-26T00:30:00Z",
            "2025-12-31T23:59:59.999Z",
            "2024-02-29T23:00:00-05:00",
            "1969-12-31T23:30:00Z",
            "1969-12-31T23:59:59.5Z",
            "1900-01-01T00:00:00+01:00",
        ];
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let ctx = SessionContext::new();
        for zone in [
            "UTC",
            "Europe/Berlin",
            "America/Los_Angeles",
            "Asia/Kolkata",
        ] {
            let tz: chrono_tz::Tz = zone.parse().unwrap();
            let values: Vec<String> = instants.iter().map(|i| format!("('{i}')")).collect();
            let sql = format!(
                "SELECT column1, {} AS day FROM (VALUES {}) v",
                local_day("column1", zone),
                values.join(", ")
            );
            let batches = runtime
                .block_on(async { ctx.sql(&sql).await?.collect().await })
                .unwrap();
            let mut days = Vec::new();
            for batch in &batches {
                let text = |at: usize| cast(batch.column(at), &DataType::Utf8).unwrap();
                let (instant, day) = (text(0), text(1));
                let as_text = |a: &dyn Array| a.as_any().downcast_ref::<StringArray>().cloned();
                let (instant, day) = (as_text(&instant).unwrap(), as_text(&day).unwrap());
                for row in 0..batch.num_rows() {
                    assert!(
                        day.is_valid(row),
                        "{zone}: no day for {}",
                        instant.value(row)
                    );
                    days.push((instant.value(row).to_string(), day.value(row).to_string()));
                }
            }
            assert_eq!(days.len(), instants.len());
            for (instant, day) in days {
                let expected = chrono::DateTime::parse_from_rfc3339(&instant)
                    .unwrap()
                    .with_timezone(&tz)
                    .date_naive()
                    .format("%Y-%m-%d")
                    .to_string();
                assert_eq!(day, expected, "{instant} in {zone}");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;
    use crate::store::rollup;
    use proptest::prelude::*;
    use rusqlite::params;

    fn dump(store: &Store) -> Vec<String> {
        // Float sums may add in another order: equal to 1e-9.
        rollup::dump_tables(store.conn(), &ROLLUP_TABLES, |x| format!("Real({x:.9})")).unwrap()
    }

    /// The rollups as `rollup::refresh_all` writes them, and as this plan does.
    fn both(store: &mut Store) -> (Vec<String>, Vec<String>) {
        rollup::refresh_all(store).unwrap();
        let reference = dump(store);
        let tx = store.conn_mut().transaction().unwrap();
        rebuild(&tx).unwrap();
        tx.commit().unwrap();
        (reference, dump(store))
    }

    #[derive(Debug, Clone)]
    struct History {
        /// (customer, day offset, cents, status, channel)
        orders: Vec<(u8, u16, i64, u8, u8)>,
        /// (order index, day offset, cents)
        refunds: Vec<(u8, u16, i64)>,
        /// (user, day offset, name, session, feature)
        events: Vec<(u8, u16, u8, u8, u8)>,
        /// (customer, day offset)
        customers: Vec<(u8, u16)>,
    }

    /// Days from 2023-12-20 on: across a 29 February, year ends and many weeks.
    fn day(offset: u16) -> String {
        (NaiveDate::from_ymd_opt(2023, 12, 20).unwrap() + Duration::days(i64::from(offset)))
            .to_string()
    }

    fn store_of(h: &History) -> Store {
        let store = Store::open_in_memory().unwrap();
        let conn = store.conn();
        for (i, &(customer, d, cents, status, channel)) in h.orders.iter().enumerate() {
            let status = ["completed", "completed", "cancelled", "pending"][status as usize % 4];
            let channel: Option<&str> = [None, Some("ads"), Some("seo")][channel as usize % 3];
            conn.execute(
                "INSERT INTO orders (order_id, customer_id, order_date, revenue, status, channel,
                                     discount, cost)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![
                    format!("o{i}"),
                    format!("c{}", customer % 7),
                    day(d),
                    cents,
                    status,
                    channel,
                    (cents % 3 == 0).then_some(cents / 10),
                    (cents % 2 == 0).then_some(cents / 4),
                ],
            )
            .unwrap();
        }
        for (i, &(order, d, cents)) in h.refunds.iter().enumerate() {
            conn.execute(
                "INSERT INTO refunds (refund_key, order_id, refund_date, amount)
                 VALUES (?1, ?2, ?3, ?4)",
                params![format!("r{i}"), format!("o{order}"), day(d), cents],
            )
            .unwrap();
        }
        for (i, &(user, d, name, session_n, feature)) in h.events.iter().enumerate() {
            let name = ["login", "page_view", "feature_used", "page_view"][name as usize % 4];
            let session: Option<String> =
                (session_n % 4 != 0).then(|| format!("s{}", session_n % 5));
            let feature: Option<&str> = [None, Some("export"), Some("share")][feature as usize % 3];
            conn.execute(
                "INSERT INTO events (event_key, user_id, ts, day, name, session_id, feature,
                                     duration_s)
                 VALUES (?1, ?2, ?3 || ?8, ?3, ?4, ?5, ?6, ?7)",
                params![
                    format!("e{i}"),
                    format!("c{}", user % 9),
                    day(d),
                    name,
                    session,
                    feature,
                    (session_n % 3 == 0).then_some(f64::from(session_n) * 0.1),
                    // Times of day vary: the first event of a day is not its first row.
                    format!(
                        "T{:02}:{:02}:00Z",
                        (i * 7 + usize::from(session_n)) % 24,
                        i % 60
                    ),
                ],
            )
            .unwrap();
        }
        for &(customer, d) in &h.customers {
            conn.execute(
                "INSERT OR REPLACE INTO customers (customer_id, signup_date) VALUES (?1, ?2)",
                params![format!("c{}", customer % 7), day(d)],
            )
            .unwrap();
        }
        store
    }

    fn histories() -> impl Strategy<Value = History> {
        // Offsets up to ~2 years: repeat windows open and close, months and weeks turn.
        (
            prop::collection::vec(
                (
                    any::<u8>(),
                    0u16..800,
                    0i64..50_000,
                    any::<u8>(),
                    any::<u8>(),
                ),
                0..30,
            ),
            prop::collection::vec((0u8..40, 0u16..800, 1i64..5_000), 0..6),
            prop::collection::vec(
                (
                    any::<u8>(),
                    0u16..400,
                    any::<u8>(),
                    any::<u8>(),
                    any::<u8>(),
                ),
                0..40,
            ),
            prop::collection::vec((any::<u8>(), 0u16..800), 0..6),
        )
            .prop_map(|(orders, refunds, events, customers)| History {
                orders,
                refunds,
                events,
                customers,
            })
    }

    #[test]
    fn an_export_is_read_as_the_stored_columns_matched_whatever_their_case() {
        let columns = [("order_id", Text), ("revenue", Integer), ("rate", Real)];
        let provided = [
            ProvidedColumn {
                name: "Order_ID".to_string(),
                kind: ProvidedType::Text,
            },
            ProvidedColumn {
                name: "odd\"name".to_string(),
                kind: ProvidedType::Text,
            },
        ];
        let read = ExportChecks::of("src_orders_0", "orders", &columns, &provided, "UTC")
            .valid_rows(&columns);
        // `Order_ID` read as `order_id`; `revenue` and `rate`, which the export lacks,
        // absent in every row.
        assert!(
            read.starts_with(
                "SELECT CAST(NULLIF(TRIM(\"Order_ID\"), '') AS VARCHAR) AS order_id, \
                 CAST(TRY_CAST(CAST(NULL AS VARCHAR) AS BIGINT) AS BIGINT) AS revenue, \
                 CAST(CAST(NULL AS VARCHAR) AS DOUBLE) AS rate FROM src_orders_0 WHERE"
            ),
            "{read}"
        );
        let quoted = [("odd\"name", Text)];
        let read = ExportChecks::of("s", "orders", &quoted, &provided, "UTC").valid_rows(&quoted);
        assert!(read.contains("NULLIF(TRIM(\"odd\"\"name\"), '')"), "{read}");
        let empty = empty_export(&columns[..1]);
        assert_eq!(
            empty,
            "SELECT CAST(NULL AS VARCHAR) AS order_id FROM (VALUES (0)) nothing \
             WHERE nothing.column1 = 1"
        );
        assert_eq!(
            export_cte("orders", &[empty.clone(), empty.clone()]),
            format!("orders AS ({empty} UNION ALL {empty})")
        );
    }

    #[test]
    fn every_stored_column_of_the_raw_tables_is_checked_by_the_contracts_rule() {
        for (table, columns) in RAW_INPUTS {
            for (column, _) in columns {
                let expected_key = matches!(*column, "event_key" | "refund_key");
                assert_eq!(
                    matches!(rule(table, column), Rule::Key),
                    expected_key,
                    "{table}.{column}"
                );
            }
        }
        assert!(matches!(rule("events", "day"), Rule::DayOf("ts")));
        assert!(matches!(
            rule("orders", "revenue"),
            Rule::Field(ColumnKind::Money { non_negative: true }, true, None)
        ));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn the_plan_rebuilds_the_same_rollups_as_the_local_rebuild(h in histories()) {
            let mut store = store_of(&h);
            let (reference, planned) = both(&mut store);
            prop_assert_eq!(reference, planned);
        }
    }

    #[test]
    fn orders_a_year_apart_around_29_february_count_as_the_metrics_define() {
        let h = History {
            orders: vec![
                (1, 71, 1000, 0, 0),  // 2024-02-29
                (1, 436, 1000, 0, 1), // 2025-02-28
                (1, 437, 1000, 0, 1), // 2025-03-01
                (2, 71, 500, 0, 0),
                (2, 71, 700, 0, 2),
            ],
            refunds: vec![(0, 80, 300), (39, 90, 100)],
            events: vec![(1, 71, 2, 1, 1), (1, 72, 1, 1, 0), (3, 300, 0, 0, 0)],
            customers: vec![(1, 10)],
        };
        let mut store = store_of(&h);
        let (reference, planned) = both(&mut store);
        assert!(
            reference.iter().any(|r| r.starts_with("ru_repeat_delta")),
            "{reference:?}"
        );
        assert!(
            reference.iter().any(|r| r.starts_with("ru_cohort_cells")),
            "{reference:?}"
        );
        assert_eq!(reference, planned);
    }

    fn filled() -> Store {
        let h = History {
            orders: vec![(1, 71, 1000, 0, 0), (2, 80, 500, 0, 1)],
            refunds: vec![(0, 80, 300)],
            events: vec![(1, 71, 2, 1, 1), (3, 300, 0, 0, 0)],
            customers: vec![(1, 10)],
        };
        let mut store = store_of(&h);
        rollup::refresh_all(&mut store).unwrap();
        store
    }

    const ORDERS_DAY: [&str; 6] = ["day", "channel", "orders", "revenue", "discount", "cost"];

    fn orders_day_row(day: &str) -> [ValueRef<'_>; 6] {
        [
            ValueRef::Text(day.as_bytes()),
            ValueRef::Text(b"ads"),
            ValueRef::Integer(2),
            ValueRef::Integer(1234),
            ValueRef::Integer(0),
            ValueRef::Integer(50),
        ]
    }

    #[test]
    fn a_replace_dropped_before_its_commit_leaves_every_rollup_as_it_was() {
        let mut store = filled();
        let all = |store: &Store| {
            let mut rows = dump(store);
            rows.extend(
                rollup::dump_tables(store.conn(), &rollup::SEGMENT_TABLES, |x| format!("{x}"))
                    .unwrap(),
            );
            rows
        };
        let before = all(&store);
        assert!(!before.is_empty());
        {
            let mut replace = RollupReplace::begin(&mut store).unwrap();
            let mut insert = replace.table("ru_orders_day", &ORDERS_DAY).unwrap();
            insert.row(&orders_day_row("2030-01-01")).unwrap();
            // A query failing half-way: the replace is dropped without its commit.
        }
        assert_eq!(all(&store), before);
    }

    #[test]
    fn a_committed_replace_holds_only_the_rows_written_and_counts_them_per_table() {
        let mut store = filled();
        let mut replace = RollupReplace::begin(&mut store).unwrap();
        let mut insert = replace.table("ru_orders_day", &ORDERS_DAY).unwrap();
        insert.row(&orders_day_row("2030-01-01")).unwrap();
        insert.row(&orders_day_row("2030-01-02")).unwrap();
        let err = insert.row(&orders_day_row("x")[..5]).unwrap_err();
        assert!(err.to_string().contains('5'), "{err}");
        drop(insert);
        assert!(replace.table("orders", &["order_id"]).is_err());
        let written = replace.commit().unwrap();
        assert_eq!(written.len(), ROLLUP_TABLES.len());
        for (table, n) in &written {
            assert_eq!(*n, u64::from(table == "ru_orders_day") * 2, "{table}");
        }
        let rows: Vec<String> = dump(&store)
            .into_iter()
            .filter(|r| r.starts_with("ru_"))
            .collect();
        assert_eq!(rows.len(), 2, "{rows:?}");
        assert!(
            rows.iter().all(|r| r.starts_with("ru_orders_day")),
            "{rows:?}"
        );
    }

    #[test]
    fn an_empty_store_plans_no_rollup_rows() {
        let mut store = Store::open_in_memory().unwrap();
        let (reference, planned) = both(&mut store);
        assert!(reference.is_empty());
        assert_eq!(reference, planned);
    }
}
