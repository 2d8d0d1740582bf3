//! Schema migrations, applied in order and recorded in `PRAGMA user_version`.
//!
//! A shipped migration never changes: a store written by an older `kpi` must open in a
//! newer one. Add a new entry to `MIGRATIONS` instead.
//!
//! Money columns hold integer minor units (cents); dates are `YYYY-MM-DD` text and
//! timestamps UTC `YYYY-MM-DDTHH:MM:SSZ` text, so both sort and compare as text.

use std::sync::OnceLock;

use rusqlite::{Connection, OptionalExtension, TransactionBehavior};

use super::StoreError;

const V1_TABLES: &str = r"
CREATE TABLE customers (
    customer_id TEXT PRIMARY KEY NOT NULL,
    signup_date TEXT NOT NULL,
    channel     TEXT,
    plan        TEXT,
    region      TEXT,
    attributes  TEXT -- JSON object of the columns the contract does not name
);
CREATE INDEX customers_signup ON customers (signup_date);

CREATE TABLE orders (
    order_id    TEXT PRIMARY KEY NOT NULL,
    customer_id TEXT NOT NULL,
    order_date  TEXT NOT NULL,
    revenue     INTEGER NOT NULL CHECK (revenue >= 0),
    status      TEXT NOT NULL DEFAULT 'completed'
                CHECK (status IN ('completed', 'cancelled', 'pending')),
    channel     TEXT,
    discount    INTEGER CHECK (discount >= 0),
    cost        INTEGER CHECK (cost >= 0)
);
CREATE INDEX orders_date ON orders (order_date);
CREATE INDEX orders_customer ON orders (customer_id, order_date);

CREATE TABLE refunds (
    refund_key  TEXT PRIMARY KEY NOT NULL,
    refund_id   TEXT,
    order_id    TEXT NOT NULL,
    refund_date TEXT NOT NULL,
    amount      INTEGER NOT NULL CHECK (amount >= 0)
);
CREATE INDEX refunds_date ON refunds (refund_date);

CREATE TABLE subscriptions (
    subscription_id TEXT PRIMARY KEY NOT NULL,
    customer_id     TEXT NOT NULL,
    mrr             INTEGER NOT NULL CHECK (mrr >= 0),
    start_date      TEXT NOT NULL,
    end_date        TEXT CHECK (end_date IS NULL OR end_date >= start_date),
    plan            TEXT
);
CREATE INDEX subscriptions_customer ON subscriptions (customer_id);

CREATE TABLE events (
    event_key  TEXT PRIMARY KEY NOT NULL,
    event_id   TEXT,
    user_id    TEXT NOT NULL,
    ts         TEXT NOT NULL,
    day        TEXT NOT NULL, -- local calendar day of ts in the configured time zone
    name       TEXT NOT NULL,
    session_id TEXT,
    feature    TEXT,
    page       TEXT,
    duration_s REAL
);
CREATE INDEX events_day ON events (day, user_id);
CREATE INDEX events_name_day ON events (name, day);

CREATE TABLE surveys (
    response_id TEXT PRIMARY KEY NOT NULL,
    date        TEXT NOT NULL,
    kind        TEXT NOT NULL CHECK (kind IN ('nps', 'csat', 'ces')),
    score       REAL NOT NULL,
    customer_id TEXT,
    comment     TEXT
);
CREATE INDEX surveys_date ON surveys (kind, date);

CREATE TABLE spend (
    date        TEXT NOT NULL,
    channel     TEXT NOT NULL,
    amount      INTEGER NOT NULL CHECK (amount >= 0),
    impressions INTEGER CHECK (impressions >= 0),
    clicks      INTEGER CHECK (clicks >= 0),
    PRIMARY KEY (date, channel)
);

CREATE TABLE funnel (
    date        TEXT NOT NULL,
    channel     TEXT NOT NULL DEFAULT '',
    visitors    INTEGER NOT NULL CHECK (visitors >= 0),
    leads       INTEGER CHECK (leads >= 0),
    conversions INTEGER CHECK (conversions >= 0),
    PRIMARY KEY (date, channel)
);

CREATE TABLE costs (
    date     TEXT NOT NULL,
    category TEXT NOT NULL CHECK (category IN ('cogs', 'opex', 'tax', 'other')),
    amount   INTEGER NOT NULL,
    PRIMARY KEY (date, category)
);

CREATE TABLE tickets (
    ticket_id         TEXT PRIMARY KEY NOT NULL,
    opened_at         TEXT NOT NULL,
    opened_day        TEXT NOT NULL, -- local calendar day of opened_at
    first_response_at TEXT,
    resolved_at       TEXT,
    severity          TEXT,
    customer_id       TEXT
);
CREATE INDEX tickets_day ON tickets (opened_day);

CREATE TABLE work_items (
    item_id        TEXT PRIMARY KEY NOT NULL,
    kind           TEXT NOT NULL CHECK (kind IN ('feature', 'bug', 'task')),
    created_date   TEXT,
    committed_date TEXT,
    delivered_date TEXT,
    points         REAL,
    found          TEXT CHECK (found IS NULL OR found IN ('pre_release', 'production'))
);

CREATE TABLE annotations (
    date  TEXT NOT NULL,
    label TEXT NOT NULL,
    PRIMARY KEY (date, label)
);

CREATE TABLE metrics (
    date    TEXT NOT NULL,
    metric  TEXT NOT NULL,
    value   REAL NOT NULL,
    segment TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (date, metric, segment)
);

-- One row per import attempt, successful or not.
CREATE TABLE import_log (
    id            INTEGER PRIMARY KEY,
    path          TEXT NOT NULL,
    table_name    TEXT,
    size          INTEGER NOT NULL,
    content_hash  TEXT,           -- hash of bytes [0, byte_offset)
    byte_offset   INTEGER NOT NULL DEFAULT 0, -- where the next tail import resumes
    header        TEXT,           -- the header line, remembered for tail imports
    rows_read     INTEGER NOT NULL DEFAULT 0,
    rows_upserted INTEGER NOT NULL DEFAULT 0,
    rows_rejected INTEGER NOT NULL DEFAULT 0,
    duration_ms   INTEGER NOT NULL DEFAULT 0,
    imported_at   TEXT NOT NULL,
    status        TEXT NOT NULL CHECK (status IN ('ok', 'failed')),
    error         TEXT
);
CREATE INDEX import_log_path ON import_log (path, id);

-- Rejected rows, also written to <store>.rejects/<file>.csv.
CREATE TABLE rejects (
    id        INTEGER PRIMARY KEY,
    import_id INTEGER NOT NULL REFERENCES import_log (id) ON DELETE CASCADE,
    line      INTEGER NOT NULL,
    column    TEXT,
    reason    TEXT NOT NULL,
    raw       TEXT NOT NULL
);
CREATE INDEX rejects_import ON rejects (import_id);

-- Acknowledgement, snooze and occurrence of alerts, by a stable alert key.
CREATE TABLE alert_state (
    alert_key       TEXT PRIMARY KEY NOT NULL,
    first_seen      TEXT NOT NULL,
    last_seen       TEXT NOT NULL,
    occurrence      INTEGER NOT NULL DEFAULT 1,
    acknowledged_at TEXT,
    snoozed_until   TEXT,
    -- 1: firing at the last evaluation; 0: cleared since; NULL: never evaluated (only
    -- acknowledged or snoozed). A cleared alert that fires again is a new occurrence.
    active          INTEGER
);
";

/// Rollups (see `rollup.rs`): per-day aggregates of the big tables, and a cache of the
/// distinct counts that cannot be summed from days (distinct customers in a month).
/// Rows hold ids, not customer attributes, so a customers import never stales them.
const V2_ROLLUPS: &str = r"
-- Completed orders per day and order channel ('' when none).
CREATE TABLE ru_orders_day (
    day      TEXT NOT NULL,
    channel  TEXT NOT NULL,
    orders   INTEGER NOT NULL,
    revenue  INTEGER NOT NULL,
    discount INTEGER NOT NULL,
    cost     INTEGER NOT NULL,
    PRIMARY KEY (day, channel)
) WITHOUT ROWID;

-- Completed orders per day, customer and order channel: distinct customers, repeat
-- purchases, active customers and cohorts are counted from here.
CREATE TABLE ru_order_customers_day (
    day         TEXT NOT NULL,
    customer_id TEXT NOT NULL,
    channel     TEXT NOT NULL,
    orders      INTEGER NOT NULL,
    revenue     INTEGER NOT NULL,
    discount    INTEGER NOT NULL,
    cost        INTEGER NOT NULL,
    PRIMARY KEY (day, customer_id, channel)
) WITHOUT ROWID;
CREATE INDEX ru_order_customers_customer ON ru_order_customers_day (customer_id, day);

-- Refunds per refund day, with the refunded order's channel and customer ('' if unknown).
CREATE TABLE ru_refunds_day (
    day         TEXT NOT NULL,
    channel     TEXT NOT NULL,
    customer_id TEXT NOT NULL,
    amount      INTEGER NOT NULL,
    PRIMARY KEY (day, channel, customer_id)
) WITHOUT ROWID;

-- Events per local day. Sessions are counted per day: a session across midnight counts
-- on both days.
CREATE TABLE ru_events_day (
    day              TEXT PRIMARY KEY NOT NULL,
    events           INTEGER NOT NULL,
    sessions         INTEGER NOT NULL,
    page_views       INTEGER NOT NULL,
    pv_sessions      INTEGER NOT NULL, -- sessions with at least one page_view
    bounced_sessions INTEGER NOT NULL, -- sessions with exactly one page_view
    duration_s       REAL NOT NULL
) WITHOUT ROWID;

CREATE TABLE ru_event_names_day (
    day    TEXT NOT NULL,
    name   TEXT NOT NULL,
    events INTEGER NOT NULL,
    PRIMARY KEY (day, name)
) WITHOUT ROWID;

CREATE TABLE ru_event_users_day (
    day      TEXT NOT NULL,
    user_id  TEXT NOT NULL,
    events   INTEGER NOT NULL,
    sessions INTEGER NOT NULL,
    PRIMARY KEY (day, user_id)
) WITHOUT ROWID;
CREATE INDEX ru_event_users_user ON ru_event_users_day (user_id, day);

-- Users with a feature_used event, per day and feature.
CREATE TABLE ru_feature_users_day (
    day     TEXT NOT NULL,
    feature TEXT NOT NULL,
    user_id TEXT NOT NULL,
    PRIMARY KEY (day, feature, user_id)
) WITHOUT ROWID;

-- Distinct counts per period, overall: kind is paying_{day,week,month},
-- active_{day,week,month}, adopters_{day,week,month} (users with a feature_used event;
-- periods keyed by their first day), active_7d and active_30d (the window ending on
-- `period`).
CREATE TABLE ru_distinct (
    kind   TEXT NOT NULL,
    period TEXT NOT NULL,
    n      INTEGER NOT NULL,
    PRIMARY KEY (kind, period)
) WITHOUT ROWID;

-- Repeat purchases over trailing 12 months: the change, on each day, of the number of
-- customers whose 12 months ending that day hold at least one (ge1) and at least two
-- (ge2) completed orders. The counts for any window end are prefix sums.
CREATE TABLE ru_repeat_delta (
    day TEXT PRIMARY KEY NOT NULL,
    ge1 INTEGER NOT NULL,
    ge2 INTEGER NOT NULL
) WITHOUT ROWID;

-- Consecutive order days of each customer, counted: (day, next_day) pairs, next_day
-- '9999-12-31' for a customer's latest order. A customer's last order as of day d is the
-- one with day <= d < next_day, so ordering within a trailing window and churn between
-- two days are sums over this small table, for any window length.
CREATE TABLE ru_order_gaps (
    day       TEXT NOT NULL,
    next_day  TEXT NOT NULL,
    customers INTEGER NOT NULL,
    PRIMARY KEY (day, next_day)
) WITHOUT ROWID;

-- Cohort cells: for variant 'orders' (completed orders) and 'events' (any event), the
-- customers of each cohort (signup month, else first active month) active in `month`,
-- and their order revenue. month = '' holds the customers without a signup row, whom
-- only their activity puts in a cohort (the others are counted from customers).
CREATE TABLE ru_cohort_cells (
    variant   TEXT NOT NULL,
    cohort    TEXT NOT NULL,
    month     TEXT NOT NULL,
    customers INTEGER NOT NULL,
    revenue   INTEGER NOT NULL,
    PRIMARY KEY (variant, cohort, month)
) WITHOUT ROWID;

-- Rows per day of the big tables (every status), so the Data pane counts 10 M rows
-- without scanning them.
CREATE TABLE ru_table_days (
    tbl  TEXT NOT NULL,
    day  TEXT NOT NULL,
    rows INTEGER NOT NULL,
    PRIMARY KEY (tbl, day)
) WITHOUT ROWID;

-- Refreshing the refunds of re-imported orders looks them up by order.
CREATE INDEX refunds_order ON refunds (order_id);
";

/// The per-customer order days, read for the customers an import touched, come from the
/// index alone: the table lookup per row was most of a 1 000-order refresh.
const V3_COVERING_CUSTOMER_DAYS: &str = r"
DROP INDEX ru_order_customers_customer;
CREATE INDEX ru_order_customers_customer
    ON ru_order_customers_day (customer_id, day, orders, revenue);
";

/// Customers per signup day join the rows per day, so the Data pane and the cohort sizes
/// read them from the rollup instead of counting a million customers on every refresh.
const V4_CUSTOMER_DAYS: &str = r"
INSERT OR REPLACE INTO ru_table_days (tbl, day, rows)
SELECT 'customers', signup_date, COUNT(*) FROM customers GROUP BY signup_date;
";

/// No schema change: the rollups are rebuilt on open (`rollup::ROLLUPS_CURRENT_SINCE`),
/// since repeat-purchase windows now count an order of 29 February until 1 March.
const V5_REBUILT_ROLLUPS: &str = "";

/// What the last record of a file, read without its terminator, did (JSON, see
/// `import_log::Provisional`), by import: undone when the writer turns out to have only
/// paused. (`IF NOT EXISTS`: a store set back to an older version runs it again.)
const V6_PROVISIONAL_RECORDS: &str = r"
CREATE TABLE IF NOT EXISTS import_provisional (
    import_id INTEGER PRIMARY KEY REFERENCES import_log (id) ON DELETE CASCADE,
    record    TEXT NOT NULL
);
";

/// The delivery log of `notify`: one row per alert occurrence and destination, so an
/// occurrence is sent once, and one that could not be delivered stays pending until a later
/// run delivers it. Only `kpi check --notify` and the watching cockpit write it. `IF NOT
/// EXISTS`: a store whose version was rolled back below 7 still holds the table.
const V7_NOTIFY_DELIVERIES: &str = r"
CREATE TABLE IF NOT EXISTS notify_deliveries (
    alert_key    TEXT NOT NULL,
    occurrence   INTEGER NOT NULL,
    destination  TEXT NOT NULL,   -- the destination's name in kpi.toml
    status       TEXT NOT NULL CHECK (status IN ('sent', 'failed')),
    attempts     INTEGER NOT NULL, -- every attempt over every run
    http_status  INTEGER,          -- the last answer's status, when it answered over HTTP
    answer       TEXT NOT NULL,    -- what the last attempt got, without secrets
    first_tried  TEXT NOT NULL,
    last_tried   TEXT NOT NULL,
    PRIMARY KEY (alert_key, occurrence, destination)
);
";

/// No query needs orders by customer: the per-customer reads go to
/// `ru_order_customers_day`, and refreshing a touched day reads that whole day's orders by
/// `orders_date` anyway (its row counts), so the index only slowed imports (about 0.85 CPU s
/// per 1 M orders in a profile). (`IF EXISTS`: a damaged store may already lack it.)
const V8_NO_ORDERS_BY_CUSTOMER: &str = r"
DROP INDEX IF EXISTS orders_customer;
";

/// Rollups per segment (`rollup::segments`): orders and events summed per day by each
/// value of the order's channel and of the customer's channel, plan and region, and their
/// distinct customers or users per period and trailing window, so the alerts read days ×
/// segments instead of every customer's rows. Counted on open (`SEGMENT_ROLLUPS_SINCE`).
const V9_SEGMENT_ROLLUPS: &str = r"
CREATE TABLE IF NOT EXISTS ru_segment_orders_day (
    day      TEXT NOT NULL,
    dim      TEXT NOT NULL, -- order_channel, channel, plan or region
    value    TEXT NOT NULL,
    orders   INTEGER NOT NULL,
    revenue  INTEGER NOT NULL,
    discount INTEGER NOT NULL,
    cost     INTEGER NOT NULL,
    refunds  INTEGER NOT NULL, -- refunds of the day, by the refunded order's segment
    PRIMARY KEY (day, dim, value)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS ru_segment_events_day (
    day      TEXT NOT NULL,
    dim      TEXT NOT NULL, -- channel, plan or region of the user's customer row
    value    TEXT NOT NULL,
    users    INTEGER NOT NULL,
    sessions INTEGER NOT NULL,
    PRIMARY KEY (day, dim, value)
) WITHOUT ROWID;

-- Changes, per day, of the customers of a segment with >= 1 and >= 2 completed orders in
-- the 12 months ending on the day (as ru_repeat_delta for all customers).
CREATE TABLE IF NOT EXISTS ru_segment_repeat (
    day   TEXT NOT NULL,
    dim   TEXT NOT NULL,
    value TEXT NOT NULL,
    ge1   INTEGER NOT NULL,
    ge2   INTEGER NOT NULL,
    PRIMARY KEY (day, dim, value)
) WITHOUT ROWID;

-- Distinct paying customers (paying_*) and active users (active_*) of a segment, per
-- period (by its first day) and trailing window (by its last day), as ru_distinct.
CREATE TABLE IF NOT EXISTS ru_segment_distinct (
    kind   TEXT NOT NULL,
    period TEXT NOT NULL,
    dim    TEXT NOT NULL,
    value  TEXT NOT NULL,
    n      INTEGER NOT NULL,
    PRIMARY KEY (kind, period, dim, value)
) WITHOUT ROWID;
";

/// Customers per signup day and segment (`rollup::signups`), so the new customers, CAC
/// and the customers' segment values read a few rows per day instead of every customer;
/// counted here so an older store has it on open without a rebuild of every rollup.
/// (Dropped first: a store set back to an older version runs it again, and counts anew.)
const V10_SIGNUPS_DAY: &str = r"
DROP TABLE IF EXISTS ru_signups_day;
CREATE TABLE ru_signups_day (
    day       TEXT NOT NULL,
    channel   TEXT,
    plan      TEXT,
    region    TEXT,
    customers INTEGER NOT NULL
);
CREATE INDEX ru_signups_day_day ON ru_signups_day (day);
INSERT INTO ru_signups_day (day, channel, plan, region, customers)
SELECT signup_date, channel, plan, region, COUNT(*) FROM customers
GROUP BY signup_date, channel, plan, region;
";

/// Distinct adopters per period and feature (`rollup::distinct::recount_adopters`), so the
/// feature-adoption breakdown reads a row per period and feature instead of a
/// `COUNT(DISTINCT …)` over every adopter's days. Counted on open
/// (`rollup::FEATURE_ADOPTERS_SINCE`). (Dropped first, as `ru_signups_day`.)
const V11_FEATURE_ADOPTERS: &str = r"
DROP TABLE IF EXISTS ru_feature_distinct;
CREATE TABLE ru_feature_distinct (
    kind    TEXT NOT NULL, -- adopters_{day,week,month}
    period  TEXT NOT NULL, -- the period's first day
    feature TEXT NOT NULL,
    n       INTEGER NOT NULL, -- distinct users of the feature; no row for none
    PRIMARY KEY (kind, period, feature)
) WITHOUT ROWID;
";

/// The subscription book per segment (`rollup::subscriptions`), so customer activity,
/// churn, retention, MRR and its movements read a few rows per day and segment instead of
/// every subscription and its customer's segment columns. Counted on open
/// (`rollup::SUBSCRIPTION_ROLLUPS_SINCE`). Also an index of the customers holding
/// attributes.
const V12_SUBSCRIPTION_ROLLUPS: &str = r"
DROP TABLE IF EXISTS ru_subscription_steps;
DROP TABLE IF EXISTS ru_subscription_moves;
-- Per day and segment: the change of MRR (cents) and of the customers with an active
-- subscription. dim: all (value ''), channel, plan, region (the customer's), or
-- subscription_plan.
CREATE TABLE ru_subscription_steps (
    day    TEXT NOT NULL,
    dim    TEXT NOT NULL,
    value  TEXT NOT NULL,
    mrr    INTEGER NOT NULL,
    active INTEGER NOT NULL,
    PRIMARY KEY (dim, day, value)
) WITHOUT ROWID;
-- Per grain, day and segment: MRR movements from the close of the day before the day's
-- period to the close of the day, and the customers active on the period's first day but
-- not on the day (left_active). No row of zeros.
CREATE TABLE ru_subscription_moves (
    grain        TEXT NOT NULL,
    day          TEXT NOT NULL,
    dim          TEXT NOT NULL,
    value        TEXT NOT NULL,
    new          INTEGER NOT NULL,
    expansion    INTEGER NOT NULL,
    contraction  INTEGER NOT NULL,
    churned      INTEGER NOT NULL,
    reactivation INTEGER NOT NULL,
    left_active  INTEGER NOT NULL,
    PRIMARY KEY (grain, dim, day, value)
) WITHOUT ROWID;
-- The customers holding attributes: whether any does is answered without a scan of
-- every customer (an alert breakdown by an attribute no customer holds).
CREATE INDEX IF NOT EXISTS customers_with_attributes ON customers (customer_id)
    WHERE attributes IS NOT NULL;
";

/// Each user's first event per name (`rollup::first_events`), so time to value reads a
/// row per activated user instead of the raw events, which a synced store does not hold.
/// Counted on open (`rollup::FIRST_EVENTS_SINCE`). (Dropped first, as `ru_signups_day`.)
const V13_FIRST_EVENTS: &str = r"
DROP TABLE IF EXISTS ru_first_event;
CREATE TABLE ru_first_event (
    name    TEXT NOT NULL,
    user_id TEXT NOT NULL,
    day     TEXT NOT NULL, -- the earliest day of the user's events of the name
    ts      TEXT NOT NULL, -- the earliest instant of them (UTC text, as stored)
    PRIMARY KEY (name, user_id)
) WITHOUT ROWID;
CREATE INDEX ru_first_event_user ON ru_first_event (user_id);
";

/// The latest start and end of the subscriptions, which every refresh of the screen reads
/// for the reference date and the data status: found through an index instead of a scan
/// of every subscription (four scans per live append on a store of 250 k subscriptions).
/// Readers do without them (the same answer, slower).
const V14_SUBSCRIPTION_DATES: &str = r"
CREATE INDEX IF NOT EXISTS subscriptions_start ON subscriptions (start_date);
CREATE INDEX IF NOT EXISTS subscriptions_end ON subscriptions (end_date);
";

/// Every migration in order; `MIGRATIONS[i]` takes the store to version `i + 1`.
pub const MIGRATIONS: &[&str] = &[
    V1_TABLES,
    V2_ROLLUPS,
    V3_COVERING_CUSTOMER_DAYS,
    V4_CUSTOMER_DAYS,
    V5_REBUILT_ROLLUPS,
    V6_PROVISIONAL_RECORDS,
    V7_NOTIFY_DELIVERIES,
    V8_NO_ORDERS_BY_CUSTOMER,
    V9_SEGMENT_ROLLUPS,
    V10_SIGNUPS_DAY,
    V11_FEATURE_ADOPTERS,
    V12_SUBSCRIPTION_ROLLUPS,
    V13_FIRST_EVENTS,
    V14_SUBSCRIPTION_DATES,
];

pub const CURRENT_VERSION: u32 = MIGRATIONS.len() as u32;

/// A reader opens a store of this version or newer as it is. Every later migration adds
/// only tables in `WRITER_TABLES`, which readers do without (the table missing reads as
/// empty), or indexes, which only speed reads up, so a read-only store written by an
/// older kpi still reads; only a writer upgrades it. A migration that readers need raises this to its own version.
pub const READABLE_SINCE: u32 = 13;

/// Tables a writer keeps for itself, with the version that adds each: a store older than
/// that lacks the table without being damaged.
const WRITER_TABLES: &[(&str, u32)] = &[("import_provisional", 6), ("notify_deliveries", 7)];

/// One table or index as the migrations create it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct SchemaObject {
    kind: String,
    name: String,
    table: String,
    sql: String,
}

fn schema_of(conn: &Connection) -> rusqlite::Result<Vec<SchemaObject>> {
    conn.prepare(
        "SELECT type, name, tbl_name, sql FROM sqlite_master
         WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite_%' ORDER BY type DESC, name",
    )?
    .query_map([], |r| {
        Ok(SchemaObject {
            kind: r.get(0)?,
            name: r.get(1)?,
            table: r.get(2)?,
            sql: r.get(3)?,
        })
    })?
    .collect()
}

/// The schema every migration together builds, taken from a private in-memory store so
/// that it can never drift from `MIGRATIONS`. Tables sort before their indexes.
fn reference_schema() -> rusqlite::Result<&'static [SchemaObject]> {
    static REFERENCE: OnceLock<Vec<SchemaObject>> = OnceLock::new();
    if let Some(schema) = REFERENCE.get() {
        return Ok(schema);
    }
    let conn = Connection::open_in_memory()?;
    for sql in MIGRATIONS {
        conn.execute_batch(sql)?;
    }
    Ok(REFERENCE.get_or_init(|| schema_of(&conn).unwrap_or_default()))
}

/// What is wrong with a store of the current version, found cheaply enough to check on
/// every open.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Damage {
    /// Rollup tables that are missing, defined otherwise than the migrations define them,
    /// lack an index, or cannot be read.
    pub broken_rollups: Vec<String>,
    /// Other tables and indexes that are missing (a dropped index, an emptied schema).
    pub missing: Vec<String>,
    /// Some big table holds rows that its rollups know nothing of: a rebuild that never
    /// finished under an older kpi, which committed the schema version first.
    pub unbuilt: bool,
}

impl Damage {
    pub fn is_none(&self) -> bool {
        self.broken_rollups.is_empty() && self.missing.is_empty() && !self.unbuilt
    }

    /// What a user is told when the store cannot be repaired here.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if !self.broken_rollups.is_empty() {
            parts.push(format!(
                "missing or damaged rollup tables ({})",
                self.broken_rollups.join(", ")
            ));
        }
        if !self.missing.is_empty() {
            parts.push(format!(
                "missing tables or indexes ({})",
                self.missing.join(", ")
            ));
        }
        if self.unbuilt {
            parts.push("rollups that were never built".to_string());
        }
        parts.join(", ")
    }
}

/// Compares the store's schema with what the migrations build, and its big tables with
/// their rollups.
pub fn diagnose(conn: &Connection) -> rusqlite::Result<Damage> {
    let reference = reference_schema()?;
    let present = schema_of(conn)?;
    let stored_version: u32 = conn.pragma_query_value(None, "user_version", |row| row.get(0))?;
    let mut damage = Damage::default();
    for object in reference {
        let added_later = WRITER_TABLES
            .iter()
            .any(|(table, since)| object.table == *table && stored_version < *since);
        if added_later {
            continue;
        }
        let found = present.iter().any(|p| p == object);
        let rollup = super::rollup::ROLLUP_TABLES
            .iter()
            .chain(&super::rollup::SEGMENT_TABLES)
            .any(|t| *t == object.table);
        if rollup {
            let readable = object.kind != "table"
                || !found
                || conn
                    .query_row(
                        &format!("SELECT 1 FROM \"{}\" LIMIT 1", object.name),
                        [],
                        |_| Ok(()),
                    )
                    .optional()
                    .is_ok();
            if (!found || !readable) && !damage.broken_rollups.contains(&object.table) {
                damage.broken_rollups.push(object.table.clone());
            }
        } else if !present.iter().any(|p| p.name == object.name) {
            damage.missing.push(object.name.clone());
        }
    }
    if damage.broken_rollups.is_empty() && damage.missing.is_empty() {
        for (table, _) in super::rollup::TABLE_DAYS {
            let unbuilt: bool = conn.query_row(
                &format!(
                    "SELECT EXISTS (SELECT 1 FROM {table})
                        AND NOT EXISTS (SELECT 1 FROM ru_table_days WHERE tbl = ?1)"
                ),
                [table],
                |r| r.get(0),
            )?;
            damage.unbuilt |= unbuilt;
        }
    }
    Ok(damage)
}

/// The store's schema version, refused when a newer kpi wrote it.
pub fn version(conn: &Connection) -> Result<u32, StoreError> {
    let version: u32 = conn.pragma_query_value(None, "user_version", |row| row.get(0))?;
    if version > CURRENT_VERSION {
        return Err(StoreError::TooNew {
            found: version,
            supported: CURRENT_VERSION,
        });
    }
    Ok(version)
}

/// Brings the store to `CURRENT_VERSION` and repairs what `diagnose` finds.
///
/// The missing migrations, the repair and the rollup rebuild a version change needs all
/// commit in one transaction together with the new `user_version`: a kill or a dropped
/// SSH session during a rebuild of minutes leaves the store at its old version, and the
/// next open starts the upgrade again, instead of leaving empty or stale rollups under
/// a version that says they are current.
pub fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    if version(conn)? == CURRENT_VERSION && diagnose(conn)?.is_none() {
        return Ok(());
    }
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    // Another process may have upgraded while this one waited for the write lock.
    let before = version(&tx)?;
    for sql in MIGRATIONS.iter().skip(before as usize) {
        tx.execute_batch(sql)?;
    }
    let damage = diagnose(&tx)?;
    repair_schema(&tx, &damage)?;
    let computed_otherwise = before > 0 && before < super::rollup::ROLLUPS_CURRENT_SINCE;
    if computed_otherwise || !damage.is_none() {
        super::rollup::rebuild(&tx)?;
    } else {
        if before > 0 && before < super::rollup::SEGMENT_ROLLUPS_SINCE {
            super::rollup::recount_segments(&tx)?;
        }
        if before > 0 && before < super::rollup::FEATURE_ADOPTERS_SINCE {
            super::rollup::recount_adopters(&tx)?;
        }
        if before > 0 && before < super::rollup::SUBSCRIPTION_ROLLUPS_SINCE {
            super::rollup::subscriptions::recount(&tx)?;
        }
        if before > 0 && before < super::rollup::FIRST_EVENTS_SINCE {
            super::rollup::first_events::rebuild(&tx)?;
        }
    }
    tx.pragma_update(None, "user_version", CURRENT_VERSION)?;
    tx.commit()?;
    Ok(())
}

/// Recreates broken rollup tables (empty: the rebuild fills them) and missing objects
/// from the reference schema.
fn repair_schema(tx: &Connection, damage: &Damage) -> rusqlite::Result<()> {
    for table in &damage.broken_rollups {
        tx.execute(&format!("DROP TABLE IF EXISTS \"{table}\""), [])?;
    }
    for object in reference_schema()? {
        let recreate =
            damage.broken_rollups.contains(&object.table) || damage.missing.contains(&object.name);
        if recreate {
            tx.execute(&object.sql, [])?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_after_readable_since_add_only_writer_tables() {
        let conn = Connection::open_in_memory().unwrap();
        for sql in &MIGRATIONS[..READABLE_SINCE as usize] {
            conn.execute_batch(sql).unwrap();
        }
        let readable = schema_of(&conn).unwrap();
        // Indexes only speed reads up: a reader of an older store gets the same answers.
        let added: Vec<&str> = reference_schema()
            .unwrap()
            .iter()
            .filter(|object| !readable.contains(object) && object.kind != "index")
            .map(|object| object.table.as_str())
            .collect();
        for table in &added {
            assert!(
                WRITER_TABLES.iter().any(|(writer, _)| writer == table),
                "{table} is added after READABLE_SINCE, yet readers need it"
            );
        }
        // Each writer table comes with the version `WRITER_TABLES` names for it.
        for (table, since) in WRITER_TABLES {
            let conn = Connection::open_in_memory().unwrap();
            for sql in &MIGRATIONS[..*since as usize] {
                conn.execute_batch(sql).unwrap();
            }
            let before: Vec<SchemaObject> = {
                let conn = Connection::open_in_memory().unwrap();
                for sql in &MIGRATIONS[..*since as usize - 1] {
                    conn.execute_batch(sql).unwrap();
                }
                schema_of(&conn).unwrap()
            };
            let new_tables: Vec<String> = schema_of(&conn)
                .unwrap()
                .into_iter()
                .filter(|object| !before.contains(object))
                .map(|object| object.table)
                .collect();
            assert_eq!(new_tables, [table.to_string()], "migration {since}");
        }
    }

    #[test]
    fn a_store_of_the_readable_version_is_not_damaged_by_lacking_the_delivery_log() {
        // Every migration but those adding the writer tables, at a version before them.
        let conn = Connection::open_in_memory().unwrap();
        let first_writer = WRITER_TABLES.iter().map(|(_, since)| *since).min().unwrap();
        for (i, sql) in MIGRATIONS.iter().enumerate() {
            let version = i as u32 + 1;
            if !WRITER_TABLES.iter().any(|(_, since)| *since == version) {
                conn.execute_batch(sql).unwrap();
            }
        }
        conn.pragma_update(None, "user_version", first_writer - 1)
            .unwrap();
        assert!(diagnose(&conn).unwrap().is_none());
        conn.pragma_update(None, "user_version", CURRENT_VERSION)
            .unwrap();
        assert_eq!(
            diagnose(&conn).unwrap().missing,
            [
                "import_provisional".to_string(),
                "notify_deliveries".to_string()
            ]
        );
    }
}
