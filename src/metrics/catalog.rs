//! Every built-in metric, defined once: what it means, how it is computed, and by what it
//! can be broken down. Computation lives in one module per family; this table is what
//! the cockpit, the report and the alerts list.

use std::borrow::Cow;

use serde::Serialize;

use super::{Direction, MetricDef, Unit};

use Direction::{HigherIsBetter as Up, LowerIsBetter as Down};

/// Dimensions of the customers table: `channel`, `plan`, `region` and any attribute
/// (`attributes` stands for every key of `customers.attributes`).
pub const CUSTOMER_DIMS: &[&str] = &["channel", "plan", "region", "attributes"];
/// Order metrics: `channel` is the order's channel; plan/region/attributes the customer's.
pub const ORDER_DIMS: &[&str] = &["channel", "plan", "region", "attributes"];
/// Subscription metrics break down by the customer's dimensions (and `plan` of the
/// subscription itself).
pub const SUB_DIMS: &[&str] = &["plan", "channel", "region", "attributes"];
const SPEND_DIMS: &[&str] = &["channel"];
const FEATURE_DIMS: &[&str] = &["feature"];
const SEVERITY_DIMS: &[&str] = &["severity"];
const NONE: &[&str] = &[];

/// A built-in metric's definition (also used by fixtures that need one).
pub const fn def(
    id: &'static str,
    name: &'static str,
    unit: Unit,
    direction: Direction,
    formula: &'static str,
    sources: &'static [&'static str],
    segments: &'static [&'static str],
) -> MetricDef {
    MetricDef {
        id: Cow::Borrowed(id),
        name: Cow::Borrowed(name),
        unit,
        direction,
        formula: Cow::Borrowed(formula),
        sources,
        segments,
    }
}

/// How a change between two values of a metric is expressed. Amounts and counts change
/// relatively (+4.2 %); a metric that is itself a percentage or a score changes by its own
/// points (NPS −45 → −40 is +5 points, not −11 %; churn 2.0 % → 2.1 % is +0.1 pp, not +5 %).
/// Every output — cockpit, report, `kpi check` — reads this, so a change never means two
/// things.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeKind {
    /// `(current − previous) ÷ |previous| × 100`, written `+4.2%`.
    Relative,
    /// `current − previous` in the metric's own points: `pp` for percentages, `pts` for
    /// scores.
    Points,
}

impl MetricDef {
    /// The one rule for how this metric's changes read, from its unit.
    pub fn change_kind(&self) -> ChangeKind {
        change_kind(self.unit)
    }
}

/// How a change in `unit` is expressed (see [`ChangeKind`]).
pub fn change_kind(unit: Unit) -> ChangeKind {
    match unit {
        Unit::Percent | Unit::Score => ChangeKind::Points,
        Unit::Currency
        | Unit::Count
        | Unit::Ratio
        | Unit::Hours
        | Unit::Days
        | Unit::Seconds
        | Unit::Months => ChangeKind::Relative,
    }
}

/// The built-in catalog, in the order the report lists it (SPEC §3).
pub static BUILT_IN: &[MetricDef] = &[
    // Revenue and profitability
    def(
        "gross_revenue",
        "Gross revenue",
        Unit::Currency,
        Up,
        "Σ revenue of completed orders in the period",
        &["orders"],
        ORDER_DIMS,
    ),
    def(
        "net_revenue",
        "Net revenue",
        Unit::Currency,
        Up,
        "gross_revenue − Σ refunds.amount with refund_date in the period",
        &["orders"],
        ORDER_DIMS,
    ),
    def(
        "orders",
        "Orders",
        Unit::Count,
        Up,
        "count of completed orders",
        &["orders"],
        ORDER_DIMS,
    ),
    def(
        "aov",
        "Average order value",
        Unit::Currency,
        Up,
        "gross_revenue ÷ orders",
        &["orders"],
        ORDER_DIMS,
    ),
    def(
        "paying_customers",
        "Paying customers",
        Unit::Count,
        Up,
        "distinct customers with a completed order in the period",
        &["orders"],
        ORDER_DIMS,
    ),
    def(
        "gross_margin_pct",
        "Gross margin",
        Unit::Percent,
        Up,
        "(gross_revenue − COGS) ÷ gross_revenue × 100; COGS = Σ orders.cost + Σ costs(cogs)",
        &["orders"],
        NONE,
    ),
    def(
        "net_margin_pct",
        "Net margin",
        Unit::Percent,
        Up,
        "(net_revenue − Σ orders.cost − Σ costs) ÷ gross_revenue × 100",
        &["orders"],
        NONE,
    ),
    def(
        "arpu",
        "ARPU",
        Unit::Currency,
        Up,
        "net_revenue ÷ active users (distinct users in events; without events, paying customers)",
        &["orders"],
        NONE,
    ),
    def(
        "revenue_per_engagement",
        "Revenue per engagement",
        Unit::Currency,
        Up,
        "net_revenue ÷ count of engagement events (config engagement_events)",
        &["orders", "events"],
        NONE,
    ),
    def(
        "repeat_purchase_rate",
        "Repeat purchase rate",
        Unit::Percent,
        Up,
        "customers with ≥ 2 completed orders ÷ customers with ≥ 1, trailing 12 months to the period's end × 100",
        &["orders"],
        ORDER_DIMS,
    ),
    def(
        "discount_rate",
        "Discount rate",
        Unit::Percent,
        Down,
        "Σ discount ÷ (Σ revenue + Σ discount) × 100, completed orders",
        &["orders"],
        ORDER_DIMS,
    ),
    // Subscriptions
    def(
        "mrr",
        "MRR",
        Unit::Currency,
        Up,
        "Σ mrr of subscriptions active at the period's end (start_date ≤ end < end_date)",
        &["subscriptions"],
        SUB_DIMS,
    ),
    def(
        "arr",
        "ARR",
        Unit::Currency,
        Up,
        "mrr × 12",
        &["subscriptions"],
        SUB_DIMS,
    ),
    def(
        "mrr_new",
        "New MRR",
        Unit::Currency,
        Up,
        "MRR at the period's end of customers with no subscription before",
        &["subscriptions"],
        SUB_DIMS,
    ),
    def(
        "mrr_expansion",
        "Expansion MRR",
        Unit::Currency,
        Up,
        "Σ increases of customers' MRR between the period's start and end",
        &["subscriptions"],
        SUB_DIMS,
    ),
    def(
        "mrr_contraction",
        "Contraction MRR",
        Unit::Currency,
        Down,
        "Σ decreases (not to zero) of customers' MRR between start and end",
        &["subscriptions"],
        SUB_DIMS,
    ),
    def(
        "mrr_churned",
        "Churned MRR",
        Unit::Currency,
        Down,
        "MRR at start of customers whose MRR fell to zero by the end",
        &["subscriptions"],
        SUB_DIMS,
    ),
    def(
        "mrr_reactivation",
        "Reactivation MRR",
        Unit::Currency,
        Up,
        "MRR at end of customers back from zero who had subscribed before",
        &["subscriptions"],
        SUB_DIMS,
    ),
    def(
        "mrr_net_new",
        "Net new MRR",
        Unit::Currency,
        Up,
        "new + expansion + reactivation − contraction − churned = mrr(end) − mrr(start)",
        &["subscriptions"],
        SUB_DIMS,
    ),
    def(
        "arpa",
        "ARPA",
        Unit::Currency,
        Up,
        "mrr ÷ customers with an active subscription at the period's end",
        &["subscriptions"],
        SUB_DIMS,
    ),
    def(
        "revenue_churn_pct",
        "Revenue churn",
        Unit::Percent,
        Down,
        "(mrr_churned + mrr_contraction) ÷ mrr at the period's start × 100",
        &["subscriptions"],
        SUB_DIMS,
    ),
    def(
        "nrr_pct",
        "Net revenue retention",
        Unit::Percent,
        Up,
        "(mrr at start + expansion − contraction − churned, of customers active at start) ÷ mrr at start × 100",
        &["subscriptions"],
        SUB_DIMS,
    ),
    // Customers and retention
    def(
        "active_customers",
        "Active customers",
        Unit::Count,
        Up,
        "customers with an active subscription on the period's last day; without subscriptions, a completed order in the trailing churn_window_days",
        &[],
        CUSTOMER_DIMS,
    ),
    def(
        "new_customers",
        "New customers",
        Unit::Count,
        Up,
        "customers whose signup_date is in the period",
        &["customers"],
        CUSTOMER_DIMS,
    ),
    def(
        "customer_churn_pct",
        "Customer churn",
        Unit::Percent,
        Down,
        "customers active on the first day and not on the last ÷ active on the first day × 100",
        &[],
        CUSTOMER_DIMS,
    ),
    def(
        "retention_rate_pct",
        "Retention rate",
        Unit::Percent,
        Up,
        "(E − N) ÷ S × 100: S active at start, E active at end, N new in the period",
        &["customers"],
        CUSTOMER_DIMS,
    ),
    def(
        "clv",
        "Customer lifetime value",
        Unit::Currency,
        Up,
        "monthly revenue per active customer × min(1 ÷ monthly customer churn, 120), over the month ending at the period's end",
        &[],
        NONE,
    ),
    // Acquisition and marketing
    def(
        "spend",
        "Marketing spend",
        Unit::Currency,
        Down,
        "Σ spend.amount",
        &["spend"],
        SPEND_DIMS,
    ),
    def(
        "cac",
        "CAC",
        Unit::Currency,
        Down,
        "Σ spend.amount ÷ new_customers (per channel: spend and signups of that channel)",
        &["spend", "customers"],
        SPEND_DIMS,
    ),
    def(
        "ltv_cac",
        "LTV:CAC",
        Unit::Ratio,
        Up,
        "clv ÷ cac",
        &["spend", "customers"],
        NONE,
    ),
    def(
        "cac_payback_months",
        "CAC payback",
        Unit::Months,
        Down,
        "cac ÷ (arpu × gross_margin_pct ÷ 100)",
        &["spend", "customers", "orders"],
        NONE,
    ),
    def(
        "roas",
        "ROAS",
        Unit::Ratio,
        Up,
        "revenue of completed orders from a channel ÷ spend of that channel (overall: channels with spend)",
        &["spend", "orders"],
        SPEND_DIMS,
    ),
    def(
        "ctr_pct",
        "Click-through rate",
        Unit::Percent,
        Up,
        "Σ clicks ÷ Σ impressions × 100",
        &["spend"],
        SPEND_DIMS,
    ),
    def(
        "conversion_rate_pct",
        "Conversion rate",
        Unit::Percent,
        Up,
        "Σ conversions ÷ Σ visitors × 100 (funnel)",
        &["funnel"],
        SPEND_DIMS,
    ),
    def(
        "lead_conversion_pct",
        "Lead conversion",
        Unit::Percent,
        Up,
        "Σ conversions ÷ Σ leads × 100 (funnel)",
        &["funnel"],
        SPEND_DIMS,
    ),
    // Satisfaction
    def(
        "nps",
        "NPS",
        Unit::Score,
        Up,
        "% promoters (9–10) − % detractors (0–6) of nps responses",
        &["surveys"],
        CUSTOMER_DIMS,
    ),
    def(
        "csat_pct",
        "CSAT",
        Unit::Percent,
        Up,
        "share of csat responses scoring 4–5 × 100",
        &["surveys"],
        CUSTOMER_DIMS,
    ),
    def(
        "csat_mean",
        "CSAT mean",
        Unit::Score,
        Up,
        "mean csat score (1–5)",
        &["surveys"],
        CUSTOMER_DIMS,
    ),
    def(
        "ces",
        "Customer effort score",
        Unit::Score,
        Down,
        "mean ces score (1–7)",
        &["surveys"],
        CUSTOMER_DIMS,
    ),
    // Engagement
    def(
        "dau",
        "DAU",
        Unit::Count,
        Up,
        "distinct users with an event that day; week and month: mean over every day of the period",
        &["events"],
        CUSTOMER_DIMS,
    ),
    def(
        "wau",
        "WAU",
        Unit::Count,
        Up,
        "distinct users in the ISO week; day grain: the 7 days ending that day",
        &["events"],
        CUSTOMER_DIMS,
    ),
    def(
        "mau",
        "MAU",
        Unit::Count,
        Up,
        "distinct users in the month; day and week grain: the 30 days ending at the period's last day",
        &["events"],
        CUSTOMER_DIMS,
    ),
    def(
        "stickiness_pct",
        "Stickiness",
        Unit::Percent,
        Up,
        "dau ÷ mau × 100 at the same grain",
        &["events"],
        CUSTOMER_DIMS,
    ),
    def(
        "sessions_per_user",
        "Sessions per user",
        Unit::Ratio,
        Up,
        "distinct sessions ÷ active users",
        &["events"],
        CUSTOMER_DIMS,
    ),
    def(
        "avg_session_duration_s",
        "Average session duration",
        Unit::Seconds,
        Up,
        "Σ events.duration_s ÷ distinct sessions",
        &["events"],
        NONE,
    ),
    def(
        "feature_adoption_pct",
        "Feature adoption",
        Unit::Percent,
        Up,
        "users with a feature_used event (for the feature) ÷ active users × 100",
        &["events"],
        FEATURE_DIMS,
    ),
    def(
        "bounce_rate_pct",
        "Bounce rate",
        Unit::Percent,
        Down,
        "sessions with exactly one page_view ÷ sessions with ≥ 1 page_view × 100",
        &["events"],
        NONE,
    ),
    def(
        "page_views",
        "Page views",
        Unit::Count,
        Up,
        "count of page_view events",
        &["events"],
        NONE,
    ),
    def(
        "time_to_value_h",
        "Time to value",
        Unit::Hours,
        Down,
        "median hours from signup to the first activation event (config activation_event), of users activated in the period",
        &["customers", "events"],
        CUSTOMER_DIMS,
    ),
    // Delivery and quality
    def(
        "on_time_delivery_pct",
        "On-time delivery",
        Unit::Percent,
        Up,
        "items delivered on or before committed_date ÷ items delivered × 100",
        &["work_items"],
        NONE,
    ),
    def(
        "velocity",
        "Velocity",
        Unit::Count,
        Up,
        "Σ points delivered",
        &["work_items"],
        NONE,
    ),
    def(
        "features_released",
        "Features released",
        Unit::Count,
        Up,
        "features delivered",
        &["work_items"],
        NONE,
    ),
    def(
        "time_to_market_d",
        "Time to market",
        Unit::Days,
        Down,
        "median days from created_date to delivered_date of features delivered",
        &["work_items"],
        NONE,
    ),
    def(
        "defect_detection_pct",
        "Defect detection",
        Unit::Percent,
        Up,
        "bugs found pre_release ÷ all bugs found × 100, by created_date",
        &["work_items"],
        NONE,
    ),
    def(
        "spi",
        "Schedule performance index",
        Unit::Ratio,
        Up,
        "points delivered by their committed date ÷ points committed for the period",
        &["work_items"],
        NONE,
    ),
    def(
        "tickets_opened",
        "Tickets opened",
        Unit::Count,
        Down,
        "tickets opened in the period",
        &["tickets"],
        SEVERITY_DIMS,
    ),
    def(
        "first_response_h",
        "First response time",
        Unit::Hours,
        Down,
        "median hours from opened_at to first_response_at, tickets opened in the period",
        &["tickets"],
        SEVERITY_DIMS,
    ),
    def(
        "resolution_h",
        "Resolution time",
        Unit::Hours,
        Down,
        "median hours from opened_at to resolved_at, tickets opened in the period",
        &["tickets"],
        SEVERITY_DIMS,
    ),
];

/// Dimensions of an external metric: the `segment` column of the `metrics` table.
pub const EXTERNAL_DIMS: &[&str] = &["segment"];
