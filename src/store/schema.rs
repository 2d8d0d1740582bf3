//! The data contract of SPEC §2 as the importer sees it: one `TableSpec` per table.
//!
//! The DDL lives in `migrate.rs` (migrations never change once shipped); a test checks
//! that every column named here exists in the migrated schema.

/// How a field is parsed and stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnKind {
    /// Free text, stripped of surrounding white space.
    Text,
    /// `YYYY-MM-DD`, stored as that text.
    Date,
    /// RFC 3339 or `YYYY-MM-DD HH:MM:SS` (configured time zone); stored as UTC
    /// `YYYY-MM-DDTHH:MM:SSZ`. When `day_column` is set, the local calendar day of the
    /// instant (configured time zone) is stored there too, for daily rollups.
    Timestamp { day_column: Option<&'static str> },
    /// Decimal amount, `.` decimal point, at most two decimals; stored as integer minor
    /// units (cents). `non_negative` rejects amounts below zero.
    Money { non_negative: bool },
    /// Whole number ≥ 0.
    Count,
    /// Finite decimal number (NaN and infinities rejected).
    Number,
    /// One of a fixed set of lower-case values.
    Enum(&'static [&'static str]),
}

#[derive(Debug, Clone, Copy)]
pub struct ColumnSpec {
    pub name: &'static str,
    pub kind: ColumnKind,
    pub required: bool,
    /// Value stored when the field is absent or empty.
    pub default: Option<&'static str>,
}

/// How a row's identity is formed, so that re-imports upsert instead of duplicating.
#[derive(Debug, Clone, Copy)]
pub enum RowKey {
    /// The primary key is these contract columns.
    Columns(&'static [&'static str]),
    /// The primary key is the stored column `key_column`: the value of `id_column` when
    /// present, otherwise `fallback` — the listed columns joined, or (empty list) a hash
    /// of the whole row.
    Derived {
        key_column: &'static str,
        id_column: &'static str,
        fallback: &'static [&'static str],
    },
}

#[derive(Debug, Clone, Copy)]
pub struct TableSpec {
    pub name: &'static str,
    pub columns: &'static [ColumnSpec],
    pub key: RowKey,
    /// Unknown columns are kept (as a JSON object in `attributes`) instead of ignored.
    pub keeps_attributes: bool,
    /// The stored column that dates a row: a table's freshness and date range, and what
    /// the reference date is read from.
    pub dated_by: &'static str,
    /// The id column of the per-id rollups (orders per customer, events per user): an
    /// import records which ids it wrote on which day, and only their rollup rows of the
    /// day are refreshed.
    pub rolled_up_by: Option<&'static str>,
}

impl TableSpec {
    pub fn column(&self, name: &str) -> Option<&ColumnSpec> {
        self.columns.iter().find(|c| c.name == name)
    }
}

const fn req(name: &'static str, kind: ColumnKind) -> ColumnSpec {
    ColumnSpec {
        name,
        kind,
        required: true,
        default: None,
    }
}
const fn opt(name: &'static str, kind: ColumnKind) -> ColumnSpec {
    ColumnSpec {
        name,
        kind,
        required: false,
        default: None,
    }
}

use ColumnKind::{Count, Date, Enum, Money, Number, Text};

const MONEY: ColumnKind = Money { non_negative: true };
const SIGNED_MONEY: ColumnKind = Money {
    non_negative: false,
};
const TS: ColumnKind = ColumnKind::Timestamp { day_column: None };

pub const ORDER_STATUSES: &[&str] = &["completed", "cancelled", "pending"];
pub const SURVEY_KINDS: &[&str] = &["nps", "csat", "ces"];
pub const COST_CATEGORIES: &[&str] = &["cogs", "opex", "tax", "other"];
pub const WORK_ITEM_KINDS: &[&str] = &["feature", "bug", "task"];
pub const FOUND_STAGES: &[&str] = &["pre_release", "production"];

pub const TABLES: &[TableSpec] = &[
    TableSpec {
        name: "customers",
        columns: &[
            req("customer_id", Text),
            req("signup_date", Date),
            opt("channel", Text),
            opt("plan", Text),
            opt("region", Text),
        ],
        key: RowKey::Columns(&["customer_id"]),
        keeps_attributes: true,
        dated_by: "signup_date",
        rolled_up_by: Some("customer_id"),
    },
    TableSpec {
        name: "orders",
        columns: &[
            req("order_id", Text),
            req("customer_id", Text),
            req("order_date", Date),
            req("revenue", MONEY),
            ColumnSpec {
                name: "status",
                kind: Enum(ORDER_STATUSES),
                required: false,
                default: Some("completed"),
            },
            opt("channel", Text),
            opt("discount", MONEY),
            opt("cost", MONEY),
        ],
        key: RowKey::Columns(&["order_id"]),
        keeps_attributes: false,
        dated_by: "order_date",
        rolled_up_by: Some("customer_id"),
    },
    TableSpec {
        name: "refunds",
        columns: &[
            opt("refund_id", Text),
            req("order_id", Text),
            req("refund_date", Date),
            req("amount", MONEY),
        ],
        key: RowKey::Derived {
            key_column: "refund_key",
            id_column: "refund_id",
            fallback: &["order_id", "refund_date"],
        },
        keeps_attributes: false,
        dated_by: "refund_date",
        rolled_up_by: None,
    },
    TableSpec {
        name: "subscriptions",
        columns: &[
            req("subscription_id", Text),
            req("customer_id", Text),
            req("mrr", MONEY),
            req("start_date", Date),
            opt("end_date", Date),
            opt("plan", Text),
        ],
        key: RowKey::Columns(&["subscription_id"]),
        keeps_attributes: false,
        dated_by: "start_date",
        rolled_up_by: None,
    },
    TableSpec {
        name: "events",
        columns: &[
            opt("event_id", Text),
            req("user_id", Text),
            req(
                "ts",
                ColumnKind::Timestamp {
                    day_column: Some("day"),
                },
            ),
            req("name", Text),
            opt("session_id", Text),
            opt("feature", Text),
            opt("page", Text),
            opt("duration_s", Number),
        ],
        key: RowKey::Derived {
            key_column: "event_key",
            id_column: "event_id",
            fallback: &[],
        },
        keeps_attributes: false,
        dated_by: "day",
        rolled_up_by: Some("user_id"),
    },
    TableSpec {
        name: "surveys",
        columns: &[
            req("response_id", Text),
            req("date", Date),
            req("kind", Enum(SURVEY_KINDS)),
            req("score", Number),
            opt("customer_id", Text),
            opt("comment", Text),
        ],
        key: RowKey::Columns(&["response_id"]),
        keeps_attributes: false,
        dated_by: "date",
        rolled_up_by: None,
    },
    TableSpec {
        name: "spend",
        columns: &[
            req("date", Date),
            req("channel", Text),
            req("amount", MONEY),
            opt("impressions", Count),
            opt("clicks", Count),
        ],
        key: RowKey::Columns(&["date", "channel"]),
        keeps_attributes: false,
        dated_by: "date",
        rolled_up_by: None,
    },
    TableSpec {
        name: "funnel",
        columns: &[
            req("date", Date),
            req("visitors", Count),
            ColumnSpec {
                name: "channel",
                kind: Text,
                required: false,
                default: Some(""),
            },
            opt("leads", Count),
            opt("conversions", Count),
        ],
        key: RowKey::Columns(&["date", "channel"]),
        keeps_attributes: false,
        dated_by: "date",
        rolled_up_by: None,
    },
    TableSpec {
        name: "costs",
        columns: &[
            req("date", Date),
            req("category", Enum(COST_CATEGORIES)),
            req("amount", SIGNED_MONEY),
        ],
        key: RowKey::Columns(&["date", "category"]),
        keeps_attributes: false,
        dated_by: "date",
        rolled_up_by: None,
    },
    TableSpec {
        name: "tickets",
        columns: &[
            req("ticket_id", Text),
            req(
                "opened_at",
                ColumnKind::Timestamp {
                    day_column: Some("opened_day"),
                },
            ),
            opt("first_response_at", TS),
            opt("resolved_at", TS),
            opt("severity", Text),
            opt("customer_id", Text),
        ],
        key: RowKey::Columns(&["ticket_id"]),
        keeps_attributes: false,
        dated_by: "opened_day",
        rolled_up_by: None,
    },
    TableSpec {
        name: "work_items",
        columns: &[
            req("item_id", Text),
            req("kind", Enum(WORK_ITEM_KINDS)),
            opt("created_date", Date),
            opt("committed_date", Date),
            opt("delivered_date", Date),
            opt("points", Number),
            opt("found", Enum(FOUND_STAGES)),
        ],
        key: RowKey::Columns(&["item_id"]),
        keeps_attributes: false,
        dated_by: "created_date",
        rolled_up_by: None,
    },
    TableSpec {
        name: "annotations",
        columns: &[req("date", Date), req("label", Text)],
        key: RowKey::Columns(&["date", "label"]),
        keeps_attributes: false,
        dated_by: "date",
        rolled_up_by: None,
    },
    TableSpec {
        name: "metrics",
        columns: &[
            req("date", Date),
            req("metric", Text),
            req("value", Number),
            ColumnSpec {
                name: "segment",
                kind: Text,
                required: false,
                default: Some(""),
            },
        ],
        key: RowKey::Columns(&["date", "metric", "segment"]),
        keeps_attributes: false,
        dated_by: "date",
        rolled_up_by: None,
    },
];

/// The contract of a table by name (exact, lower-case).
pub fn table(name: &str) -> Option<&'static TableSpec> {
    TABLES.iter().find(|t| t.name == name)
}
