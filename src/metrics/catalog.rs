//! Every built-in metric, defined once: what it means, which module computes it, how it
//! adds up over a period, what it reads, what counts the records behind it, what it is
//! derived from, which follow-up family it belongs to and how its change reads. Nothing
//! else matches metric ids as text: the computation, the alerts, the cockpit and the
//! report read these fields. Adding a built-in metric is one entry here plus its
//! computation in the module the entry names.

use std::borrow::Cow;

use serde::Serialize;

use super::{Direction, Grain, MetricDef, Unit};

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

/// Declares [`MetricId`]: one variant per built-in metric, with the id it is written as.
macro_rules! metric_ids {
    ($($variant:ident => $text:literal,)*) => {
        /// A built-in metric's id, checked by the compiler: a typo is a build error, not a
        /// metric that silently reads as external or empty.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum MetricId {
            $($variant,)*
        }

        impl MetricId {
            /// Every built-in id, in catalog order.
            pub const ALL: &'static [MetricId] = &[$(MetricId::$variant,)*];

            /// The id as written in `kpi.toml`, on the command line and in JSON.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(MetricId::$variant => $text,)*
                }
            }
        }
    };
}

metric_ids! {
    GrossRevenue => "gross_revenue",
    NetRevenue => "net_revenue",
    Orders => "orders",
    Aov => "aov",
    PayingCustomers => "paying_customers",
    GrossMarginPct => "gross_margin_pct",
    NetMarginPct => "net_margin_pct",
    Arpu => "arpu",
    RevenuePerEngagement => "revenue_per_engagement",
    RepeatPurchaseRate => "repeat_purchase_rate",
    DiscountRate => "discount_rate",
    Mrr => "mrr",
    Arr => "arr",
    MrrNew => "mrr_new",
    MrrExpansion => "mrr_expansion",
    MrrContraction => "mrr_contraction",
    MrrChurned => "mrr_churned",
    MrrReactivation => "mrr_reactivation",
    MrrNetNew => "mrr_net_new",
    Arpa => "arpa",
    RevenueChurnPct => "revenue_churn_pct",
    NrrPct => "nrr_pct",
    ActiveCustomers => "active_customers",
    NewCustomers => "new_customers",
    CustomerChurnPct => "customer_churn_pct",
    RetentionRatePct => "retention_rate_pct",
    Clv => "clv",
    Spend => "spend",
    Cac => "cac",
    LtvCac => "ltv_cac",
    CacPaybackMonths => "cac_payback_months",
    Roas => "roas",
    CtrPct => "ctr_pct",
    ConversionRatePct => "conversion_rate_pct",
    LeadConversionPct => "lead_conversion_pct",
    Nps => "nps",
    CsatPct => "csat_pct",
    CsatMean => "csat_mean",
    Ces => "ces",
    Dau => "dau",
    Wau => "wau",
    Mau => "mau",
    StickinessPct => "stickiness_pct",
    SessionsPerUser => "sessions_per_user",
    AvgSessionDurationS => "avg_session_duration_s",
    FeatureAdoptionPct => "feature_adoption_pct",
    BounceRatePct => "bounce_rate_pct",
    PageViews => "page_views",
    TimeToValueH => "time_to_value_h",
    OnTimeDeliveryPct => "on_time_delivery_pct",
    Velocity => "velocity",
    FeaturesReleased => "features_released",
    TimeToMarketD => "time_to_market_d",
    DefectDetectionPct => "defect_detection_pct",
    Spi => "spi",
    TicketsOpened => "tickets_opened",
    FirstResponseH => "first_response_h",
    ResolutionH => "resolution_h",
}

impl MetricId {
    /// The built-in metric written `text`, if there is one.
    pub fn parse(text: &str) -> Option<MetricId> {
        MetricId::ALL.iter().copied().find(|id| id.as_str() == text)
    }

    const fn cow(self) -> Cow<'static, str> {
        Cow::Borrowed(self.as_str())
    }

    /// This metric's catalog entry.
    pub fn def(self) -> &'static MetricDef {
        // `BUILT_IN` lists the ids in `ALL`'s order (`catalog_lists_every_id_once`).
        &BUILT_IN[self as usize]
    }
}

impl std::fmt::Display for MetricId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The module that computes a metric (`src/metrics/<name>.rs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Module {
    Revenue,
    Subscriptions,
    Customers,
    Acquisition,
    Satisfaction,
    Engagement,
    Delivery,
    /// The `metrics` table: KPIs computed elsewhere.
    External,
}

impl Module {
    pub const ALL: [Module; 8] = [
        Module::Revenue,
        Module::Subscriptions,
        Module::Customers,
        Module::Acquisition,
        Module::Satisfaction,
        Module::Engagement,
        Module::Delivery,
        Module::External,
    ];

    /// The module's file name under `src/metrics/`.
    pub fn name(self) -> &'static str {
        match self {
            Module::Revenue => "revenue",
            Module::Subscriptions => "subscriptions",
            Module::Customers => "customers",
            Module::Acquisition => "acquisition",
            Module::Satisfaction => "satisfaction",
            Module::Engagement => "engagement",
            Module::Delivery => "delivery",
            Module::External => "external",
        }
    }
}

/// How a metric's value builds up over its period, which decides how periods of different
/// lengths compare (`alerts::deviation::Basis`) and whether a target is a month's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Aggregation {
    /// Adds up over the period (revenue, orders, signups): a 31-day month holds more of
    /// it than a 28-day one without anything having moved. Compared per day; a target
    /// for it is a month's.
    Sum,
    /// A period's sum over a population that does not grow with the period (ARPU: a
    /// month's revenue over its users, mostly the same people coming back). Compared per
    /// day; a target for it holds at any grain.
    SumOverLevel,
    /// A stock, rate or score at the period (MRR, churn, NPS, distinct users): compared
    /// as is.
    Level,
}

/// What counts the records behind a metric's value (the volume guard of the alerts, and a
/// segment's weight in a ratio's total).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Volume {
    /// A count metric.
    Metric(MetricId),
    /// The active users of the period's own grain: DAU by day, WAU by week, MAU by month.
    ActiveUsers,
}

impl Volume {
    /// The count metric at `grain`.
    pub fn at(self, grain: Grain) -> MetricId {
        match (self, grain) {
            (Volume::Metric(id), _) => id,
            (Volume::ActiveUsers, Grain::Day) => MetricId::Dau,
            (Volume::ActiveUsers, Grain::Week) => MetricId::Wau,
            (Volume::ActiveUsers, Grain::Month) => MetricId::Mau,
        }
    }
}

/// The family of recommended follow-ups an alert on the metric gets
/// (`alerts::follow_up`), also a key of `[follow_ups]` in `kpi.toml`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FollowUpFamily {
    Revenue,
    Subscription,
    Retention,
    Acquisition,
    Satisfaction,
    Engagement,
    Delivery,
    Support,
    /// Metrics imported through the `metrics` table.
    Other,
}

impl FollowUpFamily {
    pub const ALL: [FollowUpFamily; 9] = [
        FollowUpFamily::Revenue,
        FollowUpFamily::Subscription,
        FollowUpFamily::Retention,
        FollowUpFamily::Acquisition,
        FollowUpFamily::Satisfaction,
        FollowUpFamily::Engagement,
        FollowUpFamily::Delivery,
        FollowUpFamily::Support,
        FollowUpFamily::Other,
    ];

    pub fn name(self) -> &'static str {
        match self {
            FollowUpFamily::Revenue => "revenue",
            FollowUpFamily::Subscription => "subscription",
            FollowUpFamily::Retention => "retention",
            FollowUpFamily::Acquisition => "acquisition",
            FollowUpFamily::Satisfaction => "satisfaction",
            FollowUpFamily::Engagement => "engagement",
            FollowUpFamily::Delivery => "delivery",
            FollowUpFamily::Support => "support",
            FollowUpFamily::Other => "other",
        }
    }
}

impl std::fmt::Display for FollowUpFamily {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The SPEC §3 section a metric is listed under in reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Section {
    Revenue,
    Subscriptions,
    Customers,
    Acquisition,
    Satisfaction,
    Engagement,
    Delivery,
    Support,
    External,
}

impl Section {
    pub fn title(self) -> &'static str {
        match self {
            Section::Revenue => "Revenue and profitability",
            Section::Subscriptions => "Subscriptions",
            Section::Customers => "Customers and retention",
            Section::Acquisition => "Acquisition and marketing",
            Section::Satisfaction => "Satisfaction",
            Section::Engagement => "Engagement",
            Section::Delivery => "Delivery and quality",
            Section::Support => "Support",
            Section::External => "External metrics",
        }
    }
}

/// The built-in entry of `id`, if `id` is built in.
pub fn built_in(id: &str) -> Option<&'static MetricDef> {
    MetricId::parse(id).map(MetricId::def)
}

/// An external metric's definition: a KPI computed elsewhere and imported into the
/// `metrics` table, a level kpi never adds up.
pub fn external(id: String, name: String) -> MetricDef {
    MetricDef {
        id: Cow::Owned(id),
        name: Cow::Owned(name),
        unit: Unit::Score,
        direction: Direction::HigherIsBetter,
        formula: Cow::Borrowed("imported: the value on the period's latest date"),
        sources: &["metrics"],
        segments: EXTERNAL_DIMS,
        module: Module::External,
        aggregation: Aggregation::Level,
        reads: &["metrics"],
        volume: None,
        weight: None,
        derived_from: None,
        follow_up: FollowUpFamily::Other,
        section: Section::External,
    }
}

/// A metric shown with its own name, unit, direction, formula, sources and segments, and
/// otherwise defined as the built-in metric `id` (an external one when `id` is not built
/// in): for hand-built catalogs of tests and fixtures.
#[cfg(any(test, feature = "test-fixtures"))]
pub fn def(
    id: &'static str,
    name: &'static str,
    unit: Unit,
    direction: Direction,
    formula: &'static str,
    sources: &'static [&'static str],
    segments: &'static [&'static str],
) -> MetricDef {
    let base = built_in(id)
        .cloned()
        .unwrap_or_else(|| external(id.to_string(), name.to_string()));
    MetricDef {
        id: Cow::Borrowed(id),
        name: Cow::Borrowed(name),
        unit,
        direction,
        formula: Cow::Borrowed(formula),
        sources,
        segments,
        ..base
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

/// The built-in catalog, in the order the report lists it (SPEC §3) and the order of
/// [`MetricId::ALL`].
pub static BUILT_IN: &[MetricDef] = &[
    // Revenue and profitability
    MetricDef {
        id: MetricId::GrossRevenue.cow(),
        name: Cow::Borrowed("Gross revenue"),
        unit: Unit::Currency,
        direction: Up,
        formula: Cow::Borrowed("Σ revenue of completed orders in the period"),
        sources: &["orders"],
        segments: ORDER_DIMS,
        module: Module::Revenue,
        aggregation: Aggregation::Sum,
        reads: &["orders", "refunds", "costs", "events", "customers"],
        volume: Some(Volume::Metric(MetricId::Orders)),
        weight: Some(Volume::Metric(MetricId::Orders)),
        derived_from: None,
        follow_up: FollowUpFamily::Revenue,
        section: Section::Revenue,
    },
    MetricDef {
        id: MetricId::NetRevenue.cow(),
        name: Cow::Borrowed("Net revenue"),
        unit: Unit::Currency,
        direction: Up,
        formula: Cow::Borrowed("gross_revenue − Σ refunds.amount with refund_date in the period"),
        sources: &["orders"],
        segments: ORDER_DIMS,
        module: Module::Revenue,
        aggregation: Aggregation::Sum,
        reads: &["orders", "refunds", "costs", "events", "customers"],
        volume: Some(Volume::Metric(MetricId::Orders)),
        weight: Some(Volume::Metric(MetricId::Orders)),
        derived_from: Some(MetricId::GrossRevenue),
        follow_up: FollowUpFamily::Revenue,
        section: Section::Revenue,
    },
    MetricDef {
        id: MetricId::Orders.cow(),
        name: Cow::Borrowed("Orders"),
        unit: Unit::Count,
        direction: Up,
        formula: Cow::Borrowed("count of completed orders"),
        sources: &["orders"],
        segments: ORDER_DIMS,
        module: Module::Revenue,
        aggregation: Aggregation::Sum,
        reads: &["orders", "refunds", "costs", "events", "customers"],
        volume: Some(Volume::Metric(MetricId::Orders)),
        weight: Some(Volume::Metric(MetricId::Orders)),
        derived_from: None,
        follow_up: FollowUpFamily::Revenue,
        section: Section::Revenue,
    },
    MetricDef {
        id: MetricId::Aov.cow(),
        name: Cow::Borrowed("Average order value"),
        unit: Unit::Currency,
        direction: Up,
        formula: Cow::Borrowed("gross_revenue ÷ orders"),
        sources: &["orders"],
        segments: ORDER_DIMS,
        module: Module::Revenue,
        aggregation: Aggregation::Level,
        reads: &["orders", "refunds", "costs", "events", "customers"],
        volume: Some(Volume::Metric(MetricId::Orders)),
        weight: Some(Volume::Metric(MetricId::Orders)),
        derived_from: None,
        follow_up: FollowUpFamily::Revenue,
        section: Section::Revenue,
    },
    MetricDef {
        id: MetricId::PayingCustomers.cow(),
        name: Cow::Borrowed("Paying customers"),
        unit: Unit::Count,
        direction: Up,
        formula: Cow::Borrowed("distinct customers with a completed order in the period"),
        sources: &["orders"],
        segments: ORDER_DIMS,
        module: Module::Revenue,
        aggregation: Aggregation::Level,
        reads: &["orders", "refunds", "costs", "events", "customers"],
        volume: Some(Volume::Metric(MetricId::Orders)),
        weight: Some(Volume::Metric(MetricId::Orders)),
        derived_from: Some(MetricId::Orders),
        follow_up: FollowUpFamily::Revenue,
        section: Section::Revenue,
    },
    MetricDef {
        id: MetricId::GrossMarginPct.cow(),
        name: Cow::Borrowed("Gross margin"),
        unit: Unit::Percent,
        direction: Up,
        formula: Cow::Borrowed(
            "(gross_revenue − COGS) ÷ gross_revenue × 100; COGS = Σ orders.cost + Σ costs(cogs)",
        ),
        sources: &["orders"],
        segments: NONE,
        module: Module::Revenue,
        aggregation: Aggregation::Level,
        reads: &["orders", "refunds", "costs", "events", "customers"],
        volume: Some(Volume::Metric(MetricId::Orders)),
        weight: Some(Volume::Metric(MetricId::Orders)),
        derived_from: None,
        follow_up: FollowUpFamily::Revenue,
        section: Section::Revenue,
    },
    MetricDef {
        id: MetricId::NetMarginPct.cow(),
        name: Cow::Borrowed("Net margin"),
        unit: Unit::Percent,
        direction: Up,
        formula: Cow::Borrowed("(net_revenue − Σ orders.cost − Σ costs) ÷ gross_revenue × 100"),
        sources: &["orders"],
        segments: NONE,
        module: Module::Revenue,
        aggregation: Aggregation::Level,
        reads: &["orders", "refunds", "costs", "events", "customers"],
        volume: Some(Volume::Metric(MetricId::Orders)),
        weight: Some(Volume::Metric(MetricId::Orders)),
        derived_from: None,
        follow_up: FollowUpFamily::Revenue,
        section: Section::Revenue,
    },
    MetricDef {
        id: MetricId::Arpu.cow(),
        name: Cow::Borrowed("ARPU"),
        unit: Unit::Currency,
        direction: Up,
        formula: Cow::Borrowed(
            "net_revenue ÷ active users (distinct users in events; without events, paying customers)",
        ),
        sources: &["orders"],
        segments: NONE,
        module: Module::Revenue,
        aggregation: Aggregation::SumOverLevel,
        reads: &["orders", "refunds", "costs", "events", "customers"],
        volume: Some(Volume::Metric(MetricId::Orders)),
        weight: Some(Volume::Metric(MetricId::Orders)),
        derived_from: None,
        follow_up: FollowUpFamily::Revenue,
        section: Section::Revenue,
    },
    MetricDef {
        id: MetricId::RevenuePerEngagement.cow(),
        name: Cow::Borrowed("Revenue per engagement"),
        unit: Unit::Currency,
        direction: Up,
        formula: Cow::Borrowed(
            "net_revenue ÷ count of engagement events (config engagement_events)",
        ),
        sources: &["orders", "events"],
        segments: NONE,
        module: Module::Revenue,
        aggregation: Aggregation::Level,
        reads: &["orders", "refunds", "costs", "events", "customers"],
        volume: Some(Volume::Metric(MetricId::Orders)),
        weight: Some(Volume::Metric(MetricId::Orders)),
        derived_from: None,
        follow_up: FollowUpFamily::Revenue,
        section: Section::Revenue,
    },
    MetricDef {
        id: MetricId::RepeatPurchaseRate.cow(),
        name: Cow::Borrowed("Repeat purchase rate"),
        unit: Unit::Percent,
        direction: Up,
        formula: Cow::Borrowed(
            "customers with ≥ 2 completed orders ÷ customers with ≥ 1, trailing 12 months to the period's end × 100",
        ),
        sources: &["orders"],
        segments: ORDER_DIMS,
        module: Module::Revenue,
        aggregation: Aggregation::Level,
        reads: &["orders", "refunds", "costs", "events", "customers"],
        volume: Some(Volume::Metric(MetricId::Orders)),
        weight: Some(Volume::Metric(MetricId::Orders)),
        derived_from: None,
        follow_up: FollowUpFamily::Retention,
        section: Section::Revenue,
    },
    MetricDef {
        id: MetricId::DiscountRate.cow(),
        name: Cow::Borrowed("Discount rate"),
        unit: Unit::Percent,
        direction: Down,
        formula: Cow::Borrowed("Σ discount ÷ (Σ revenue + Σ discount) × 100, completed orders"),
        sources: &["orders"],
        segments: ORDER_DIMS,
        module: Module::Revenue,
        aggregation: Aggregation::Level,
        reads: &["orders", "refunds", "costs", "events", "customers"],
        volume: Some(Volume::Metric(MetricId::Orders)),
        weight: Some(Volume::Metric(MetricId::Orders)),
        derived_from: None,
        follow_up: FollowUpFamily::Revenue,
        section: Section::Revenue,
    },
    // Subscriptions
    MetricDef {
        id: MetricId::Mrr.cow(),
        name: Cow::Borrowed("MRR"),
        unit: Unit::Currency,
        direction: Up,
        formula: Cow::Borrowed(
            "Σ mrr of subscriptions active at the period's end (start_date ≤ end < end_date)",
        ),
        sources: &["subscriptions"],
        segments: SUB_DIMS,
        module: Module::Subscriptions,
        aggregation: Aggregation::Level,
        reads: &["subscriptions", "customers"],
        volume: Some(Volume::Metric(MetricId::ActiveCustomers)),
        weight: Some(Volume::Metric(MetricId::ActiveCustomers)),
        derived_from: None,
        follow_up: FollowUpFamily::Subscription,
        section: Section::Subscriptions,
    },
    MetricDef {
        id: MetricId::Arr.cow(),
        name: Cow::Borrowed("ARR"),
        unit: Unit::Currency,
        direction: Up,
        formula: Cow::Borrowed("mrr × 12"),
        sources: &["subscriptions"],
        segments: SUB_DIMS,
        module: Module::Subscriptions,
        aggregation: Aggregation::Level,
        reads: &["subscriptions", "customers"],
        volume: Some(Volume::Metric(MetricId::ActiveCustomers)),
        weight: Some(Volume::Metric(MetricId::ActiveCustomers)),
        derived_from: Some(MetricId::Mrr),
        follow_up: FollowUpFamily::Subscription,
        section: Section::Subscriptions,
    },
    MetricDef {
        id: MetricId::MrrNew.cow(),
        name: Cow::Borrowed("New MRR"),
        unit: Unit::Currency,
        direction: Up,
        formula: Cow::Borrowed("MRR at the period's end of customers with no subscription before"),
        sources: &["subscriptions"],
        segments: SUB_DIMS,
        module: Module::Subscriptions,
        aggregation: Aggregation::Sum,
        reads: &["subscriptions", "customers"],
        volume: Some(Volume::Metric(MetricId::ActiveCustomers)),
        weight: Some(Volume::Metric(MetricId::ActiveCustomers)),
        derived_from: Some(MetricId::Mrr),
        follow_up: FollowUpFamily::Subscription,
        section: Section::Subscriptions,
    },
    MetricDef {
        id: MetricId::MrrExpansion.cow(),
        name: Cow::Borrowed("Expansion MRR"),
        unit: Unit::Currency,
        direction: Up,
        formula: Cow::Borrowed("Σ increases of customers' MRR between the period's start and end"),
        sources: &["subscriptions"],
        segments: SUB_DIMS,
        module: Module::Subscriptions,
        aggregation: Aggregation::Sum,
        reads: &["subscriptions", "customers"],
        volume: Some(Volume::Metric(MetricId::ActiveCustomers)),
        weight: Some(Volume::Metric(MetricId::ActiveCustomers)),
        derived_from: Some(MetricId::Mrr),
        follow_up: FollowUpFamily::Subscription,
        section: Section::Subscriptions,
    },
    MetricDef {
        id: MetricId::MrrContraction.cow(),
        name: Cow::Borrowed("Contraction MRR"),
        unit: Unit::Currency,
        direction: Down,
        formula: Cow::Borrowed("Σ decreases (not to zero) of customers' MRR between start and end"),
        sources: &["subscriptions"],
        segments: SUB_DIMS,
        module: Module::Subscriptions,
        aggregation: Aggregation::Sum,
        reads: &["subscriptions", "customers"],
        volume: Some(Volume::Metric(MetricId::ActiveCustomers)),
        weight: Some(Volume::Metric(MetricId::ActiveCustomers)),
        derived_from: Some(MetricId::Mrr),
        follow_up: FollowUpFamily::Subscription,
        section: Section::Subscriptions,
    },
    MetricDef {
        id: MetricId::MrrChurned.cow(),
        name: Cow::Borrowed("Churned MRR"),
        unit: Unit::Currency,
        direction: Down,
        formula: Cow::Borrowed("MRR at start of customers whose MRR fell to zero by the end"),
        sources: &["subscriptions"],
        segments: SUB_DIMS,
        module: Module::Subscriptions,
        aggregation: Aggregation::Sum,
        reads: &["subscriptions", "customers"],
        volume: Some(Volume::Metric(MetricId::ActiveCustomers)),
        weight: Some(Volume::Metric(MetricId::ActiveCustomers)),
        derived_from: Some(MetricId::Mrr),
        follow_up: FollowUpFamily::Subscription,
        section: Section::Subscriptions,
    },
    MetricDef {
        id: MetricId::MrrReactivation.cow(),
        name: Cow::Borrowed("Reactivation MRR"),
        unit: Unit::Currency,
        direction: Up,
        formula: Cow::Borrowed("MRR at end of customers back from zero who had subscribed before"),
        sources: &["subscriptions"],
        segments: SUB_DIMS,
        module: Module::Subscriptions,
        aggregation: Aggregation::Sum,
        reads: &["subscriptions", "customers"],
        volume: Some(Volume::Metric(MetricId::ActiveCustomers)),
        weight: Some(Volume::Metric(MetricId::ActiveCustomers)),
        derived_from: Some(MetricId::Mrr),
        follow_up: FollowUpFamily::Subscription,
        section: Section::Subscriptions,
    },
    MetricDef {
        id: MetricId::MrrNetNew.cow(),
        name: Cow::Borrowed("Net new MRR"),
        unit: Unit::Currency,
        direction: Up,
        formula: Cow::Borrowed(
            "new + expansion + reactivation − contraction − churned = mrr(end) − mrr(start)",
        ),
        sources: &["subscriptions"],
        segments: SUB_DIMS,
        module: Module::Subscriptions,
        aggregation: Aggregation::Sum,
        reads: &["subscriptions", "customers"],
        volume: Some(Volume::Metric(MetricId::ActiveCustomers)),
        weight: Some(Volume::Metric(MetricId::ActiveCustomers)),
        derived_from: Some(MetricId::Mrr),
        follow_up: FollowUpFamily::Subscription,
        section: Section::Subscriptions,
    },
    MetricDef {
        id: MetricId::Arpa.cow(),
        name: Cow::Borrowed("ARPA"),
        unit: Unit::Currency,
        direction: Up,
        formula: Cow::Borrowed("mrr ÷ customers with an active subscription at the period's end"),
        sources: &["subscriptions"],
        segments: SUB_DIMS,
        module: Module::Subscriptions,
        aggregation: Aggregation::Level,
        reads: &["subscriptions", "customers"],
        volume: Some(Volume::Metric(MetricId::ActiveCustomers)),
        weight: Some(Volume::Metric(MetricId::ActiveCustomers)),
        derived_from: None,
        follow_up: FollowUpFamily::Subscription,
        section: Section::Subscriptions,
    },
    MetricDef {
        id: MetricId::RevenueChurnPct.cow(),
        name: Cow::Borrowed("Revenue churn"),
        unit: Unit::Percent,
        direction: Down,
        formula: Cow::Borrowed("(mrr_churned + mrr_contraction) ÷ mrr at the period's start × 100"),
        sources: &["subscriptions"],
        segments: SUB_DIMS,
        module: Module::Subscriptions,
        aggregation: Aggregation::Level,
        reads: &["subscriptions", "customers"],
        volume: Some(Volume::Metric(MetricId::ActiveCustomers)),
        weight: Some(Volume::Metric(MetricId::ActiveCustomers)),
        derived_from: None,
        follow_up: FollowUpFamily::Subscription,
        section: Section::Subscriptions,
    },
    MetricDef {
        id: MetricId::NrrPct.cow(),
        name: Cow::Borrowed("Net revenue retention"),
        unit: Unit::Percent,
        direction: Up,
        formula: Cow::Borrowed(
            "(mrr at start + expansion − contraction − churned, of customers active at start) ÷ mrr at start × 100",
        ),
        sources: &["subscriptions"],
        segments: SUB_DIMS,
        module: Module::Subscriptions,
        aggregation: Aggregation::Level,
        reads: &["subscriptions", "customers"],
        volume: Some(Volume::Metric(MetricId::ActiveCustomers)),
        weight: Some(Volume::Metric(MetricId::ActiveCustomers)),
        derived_from: None,
        follow_up: FollowUpFamily::Subscription,
        section: Section::Subscriptions,
    },
    // Customers and retention
    MetricDef {
        id: MetricId::ActiveCustomers.cow(),
        name: Cow::Borrowed("Active customers"),
        unit: Unit::Count,
        direction: Up,
        formula: Cow::Borrowed(
            "customers with an active subscription on the period's last day; without subscriptions, a completed order in the trailing churn_window_days",
        ),
        sources: &[],
        segments: CUSTOMER_DIMS,
        module: Module::Customers,
        aggregation: Aggregation::Level,
        reads: &["customers", "orders", "refunds", "subscriptions"],
        volume: None,
        weight: None,
        derived_from: None,
        follow_up: FollowUpFamily::Retention,
        section: Section::Customers,
    },
    MetricDef {
        id: MetricId::NewCustomers.cow(),
        name: Cow::Borrowed("New customers"),
        unit: Unit::Count,
        direction: Up,
        formula: Cow::Borrowed("customers whose signup_date is in the period"),
        sources: &["customers"],
        segments: CUSTOMER_DIMS,
        module: Module::Customers,
        aggregation: Aggregation::Sum,
        reads: &["customers", "orders", "refunds", "subscriptions"],
        volume: Some(Volume::Metric(MetricId::NewCustomers)),
        weight: Some(Volume::Metric(MetricId::NewCustomers)),
        derived_from: None,
        follow_up: FollowUpFamily::Acquisition,
        section: Section::Customers,
    },
    MetricDef {
        id: MetricId::CustomerChurnPct.cow(),
        name: Cow::Borrowed("Customer churn"),
        unit: Unit::Percent,
        direction: Down,
        formula: Cow::Borrowed(
            "customers active on the first day and not on the last ÷ active on the first day × 100",
        ),
        sources: &[],
        segments: CUSTOMER_DIMS,
        module: Module::Customers,
        aggregation: Aggregation::Level,
        reads: &["customers", "orders", "refunds", "subscriptions"],
        volume: None,
        weight: None,
        derived_from: None,
        follow_up: FollowUpFamily::Retention,
        section: Section::Customers,
    },
    MetricDef {
        id: MetricId::RetentionRatePct.cow(),
        name: Cow::Borrowed("Retention rate"),
        unit: Unit::Percent,
        direction: Up,
        formula: Cow::Borrowed(
            "(E − N) ÷ S × 100: S active at start, E active at end, N new in the period",
        ),
        sources: &["customers"],
        segments: CUSTOMER_DIMS,
        module: Module::Customers,
        aggregation: Aggregation::Level,
        reads: &["customers", "orders", "refunds", "subscriptions"],
        volume: Some(Volume::Metric(MetricId::NewCustomers)),
        weight: Some(Volume::Metric(MetricId::NewCustomers)),
        derived_from: None,
        follow_up: FollowUpFamily::Retention,
        section: Section::Customers,
    },
    MetricDef {
        id: MetricId::Clv.cow(),
        name: Cow::Borrowed("Customer lifetime value"),
        unit: Unit::Currency,
        direction: Up,
        formula: Cow::Borrowed(
            "monthly revenue per active customer × min(1 ÷ monthly customer churn, 120), over the month ending at the period's end",
        ),
        sources: &[],
        segments: NONE,
        module: Module::Customers,
        aggregation: Aggregation::Level,
        reads: &["customers", "orders", "refunds", "subscriptions"],
        volume: None,
        weight: None,
        derived_from: None,
        follow_up: FollowUpFamily::Retention,
        section: Section::Customers,
    },
    // Acquisition and marketing
    MetricDef {
        id: MetricId::Spend.cow(),
        name: Cow::Borrowed("Marketing spend"),
        unit: Unit::Currency,
        direction: Down,
        formula: Cow::Borrowed("Σ spend.amount"),
        sources: &["spend"],
        segments: SPEND_DIMS,
        module: Module::Acquisition,
        aggregation: Aggregation::Sum,
        reads: &["spend"],
        volume: None,
        weight: None,
        derived_from: None,
        follow_up: FollowUpFamily::Acquisition,
        section: Section::Acquisition,
    },
    MetricDef {
        id: MetricId::Cac.cow(),
        name: Cow::Borrowed("CAC"),
        unit: Unit::Currency,
        direction: Down,
        formula: Cow::Borrowed(
            "Σ spend.amount ÷ new_customers (per channel: spend and signups of that channel)",
        ),
        sources: &["spend", "customers"],
        segments: SPEND_DIMS,
        module: Module::Acquisition,
        aggregation: Aggregation::Level,
        reads: &["spend", "customers"],
        volume: None,
        weight: Some(Volume::Metric(MetricId::NewCustomers)),
        derived_from: None,
        follow_up: FollowUpFamily::Acquisition,
        section: Section::Acquisition,
    },
    MetricDef {
        id: MetricId::LtvCac.cow(),
        name: Cow::Borrowed("LTV:CAC"),
        unit: Unit::Ratio,
        direction: Up,
        formula: Cow::Borrowed("clv ÷ cac"),
        sources: &["spend", "customers"],
        segments: NONE,
        module: Module::Acquisition,
        aggregation: Aggregation::Level,
        reads: &["spend", "customers", "orders", "refunds", "subscriptions"],
        volume: None,
        weight: Some(Volume::Metric(MetricId::NewCustomers)),
        derived_from: None,
        follow_up: FollowUpFamily::Acquisition,
        section: Section::Acquisition,
    },
    MetricDef {
        id: MetricId::CacPaybackMonths.cow(),
        name: Cow::Borrowed("CAC payback"),
        unit: Unit::Months,
        direction: Down,
        formula: Cow::Borrowed("cac ÷ (arpu × gross_margin_pct ÷ 100)"),
        sources: &["spend", "customers", "orders"],
        segments: NONE,
        module: Module::Acquisition,
        aggregation: Aggregation::Level,
        reads: &[
            "spend",
            "funnel",
            "customers",
            "orders",
            "refunds",
            "costs",
            "subscriptions",
            "events",
        ],
        volume: None,
        weight: Some(Volume::Metric(MetricId::NewCustomers)),
        derived_from: None,
        follow_up: FollowUpFamily::Acquisition,
        section: Section::Acquisition,
    },
    MetricDef {
        id: MetricId::Roas.cow(),
        name: Cow::Borrowed("ROAS"),
        unit: Unit::Ratio,
        direction: Up,
        formula: Cow::Borrowed(
            "revenue of completed orders from a channel ÷ spend of that channel (overall: channels with spend)",
        ),
        sources: &["spend", "orders"],
        segments: SPEND_DIMS,
        module: Module::Acquisition,
        aggregation: Aggregation::Level,
        reads: &["spend", "orders"],
        volume: None,
        weight: Some(Volume::Metric(MetricId::Orders)),
        derived_from: None,
        follow_up: FollowUpFamily::Acquisition,
        section: Section::Acquisition,
    },
    MetricDef {
        id: MetricId::CtrPct.cow(),
        name: Cow::Borrowed("Click-through rate"),
        unit: Unit::Percent,
        direction: Up,
        formula: Cow::Borrowed("Σ clicks ÷ Σ impressions × 100"),
        sources: &["spend"],
        segments: SPEND_DIMS,
        module: Module::Acquisition,
        aggregation: Aggregation::Level,
        reads: &["spend"],
        volume: None,
        weight: None,
        derived_from: None,
        follow_up: FollowUpFamily::Acquisition,
        section: Section::Acquisition,
    },
    MetricDef {
        id: MetricId::ConversionRatePct.cow(),
        name: Cow::Borrowed("Conversion rate"),
        unit: Unit::Percent,
        direction: Up,
        formula: Cow::Borrowed("Σ conversions ÷ Σ visitors × 100 (funnel)"),
        sources: &["funnel"],
        segments: SPEND_DIMS,
        module: Module::Acquisition,
        aggregation: Aggregation::Level,
        reads: &["funnel"],
        volume: None,
        weight: None,
        derived_from: None,
        follow_up: FollowUpFamily::Acquisition,
        section: Section::Acquisition,
    },
    MetricDef {
        id: MetricId::LeadConversionPct.cow(),
        name: Cow::Borrowed("Lead conversion"),
        unit: Unit::Percent,
        direction: Up,
        formula: Cow::Borrowed("Σ conversions ÷ Σ leads × 100 (funnel)"),
        sources: &["funnel"],
        segments: SPEND_DIMS,
        module: Module::Acquisition,
        aggregation: Aggregation::Level,
        reads: &["funnel"],
        volume: None,
        weight: None,
        derived_from: None,
        follow_up: FollowUpFamily::Acquisition,
        section: Section::Acquisition,
    },
    // Satisfaction
    MetricDef {
        id: MetricId::Nps.cow(),
        name: Cow::Borrowed("NPS"),
        unit: Unit::Score,
        direction: Up,
        formula: Cow::Borrowed("% promoters (9–10) − % detractors (0–6) of nps responses"),
        sources: &["surveys"],
        segments: CUSTOMER_DIMS,
        module: Module::Satisfaction,
        aggregation: Aggregation::Level,
        reads: &["surveys", "customers"],
        volume: None,
        weight: None,
        derived_from: None,
        follow_up: FollowUpFamily::Satisfaction,
        section: Section::Satisfaction,
    },
    MetricDef {
        id: MetricId::CsatPct.cow(),
        name: Cow::Borrowed("CSAT"),
        unit: Unit::Percent,
        direction: Up,
        formula: Cow::Borrowed("share of csat responses scoring 4–5 × 100"),
        sources: &["surveys"],
        segments: CUSTOMER_DIMS,
        module: Module::Satisfaction,
        aggregation: Aggregation::Level,
        reads: &["surveys", "customers"],
        volume: None,
        weight: None,
        derived_from: None,
        follow_up: FollowUpFamily::Satisfaction,
        section: Section::Satisfaction,
    },
    MetricDef {
        id: MetricId::CsatMean.cow(),
        name: Cow::Borrowed("CSAT mean"),
        unit: Unit::Score,
        direction: Up,
        formula: Cow::Borrowed("mean csat score (1–5)"),
        sources: &["surveys"],
        segments: CUSTOMER_DIMS,
        module: Module::Satisfaction,
        aggregation: Aggregation::Level,
        reads: &["surveys", "customers"],
        volume: None,
        weight: None,
        derived_from: None,
        follow_up: FollowUpFamily::Satisfaction,
        section: Section::Satisfaction,
    },
    MetricDef {
        id: MetricId::Ces.cow(),
        name: Cow::Borrowed("Customer effort score"),
        unit: Unit::Score,
        direction: Down,
        formula: Cow::Borrowed("mean ces score (1–7)"),
        sources: &["surveys"],
        segments: CUSTOMER_DIMS,
        module: Module::Satisfaction,
        aggregation: Aggregation::Level,
        reads: &["surveys", "customers"],
        volume: None,
        weight: None,
        derived_from: None,
        follow_up: FollowUpFamily::Satisfaction,
        section: Section::Satisfaction,
    },
    // Engagement
    MetricDef {
        id: MetricId::Dau.cow(),
        name: Cow::Borrowed("DAU"),
        unit: Unit::Count,
        direction: Up,
        formula: Cow::Borrowed(
            "distinct users with an event that day; week and month: mean over every day of the period",
        ),
        sources: &["events"],
        segments: CUSTOMER_DIMS,
        module: Module::Engagement,
        aggregation: Aggregation::Level,
        reads: &["events", "customers"],
        volume: Some(Volume::ActiveUsers),
        weight: Some(Volume::ActiveUsers),
        derived_from: None,
        follow_up: FollowUpFamily::Engagement,
        section: Section::Engagement,
    },
    MetricDef {
        id: MetricId::Wau.cow(),
        name: Cow::Borrowed("WAU"),
        unit: Unit::Count,
        direction: Up,
        formula: Cow::Borrowed(
            "distinct users in the ISO week; day grain: the 7 days ending that day",
        ),
        sources: &["events"],
        segments: CUSTOMER_DIMS,
        module: Module::Engagement,
        aggregation: Aggregation::Level,
        reads: &["events", "customers"],
        volume: Some(Volume::ActiveUsers),
        weight: Some(Volume::ActiveUsers),
        derived_from: Some(MetricId::Dau),
        follow_up: FollowUpFamily::Engagement,
        section: Section::Engagement,
    },
    MetricDef {
        id: MetricId::Mau.cow(),
        name: Cow::Borrowed("MAU"),
        unit: Unit::Count,
        direction: Up,
        formula: Cow::Borrowed(
            "distinct users in the month; day and week grain: the 30 days ending at the period's last day",
        ),
        sources: &["events"],
        segments: CUSTOMER_DIMS,
        module: Module::Engagement,
        aggregation: Aggregation::Level,
        reads: &["events", "customers"],
        volume: Some(Volume::ActiveUsers),
        weight: Some(Volume::ActiveUsers),
        derived_from: Some(MetricId::Dau),
        follow_up: FollowUpFamily::Engagement,
        section: Section::Engagement,
    },
    MetricDef {
        id: MetricId::StickinessPct.cow(),
        name: Cow::Borrowed("Stickiness"),
        unit: Unit::Percent,
        direction: Up,
        formula: Cow::Borrowed("dau ÷ mau × 100 at the same grain"),
        sources: &["events"],
        segments: CUSTOMER_DIMS,
        module: Module::Engagement,
        aggregation: Aggregation::Level,
        reads: &["events", "customers"],
        volume: Some(Volume::ActiveUsers),
        weight: Some(Volume::ActiveUsers),
        derived_from: None,
        follow_up: FollowUpFamily::Engagement,
        section: Section::Engagement,
    },
    MetricDef {
        id: MetricId::SessionsPerUser.cow(),
        name: Cow::Borrowed("Sessions per user"),
        unit: Unit::Ratio,
        direction: Up,
        formula: Cow::Borrowed("distinct sessions ÷ active users"),
        sources: &["events"],
        segments: CUSTOMER_DIMS,
        module: Module::Engagement,
        aggregation: Aggregation::Level,
        reads: &["events", "customers"],
        volume: Some(Volume::ActiveUsers),
        weight: Some(Volume::ActiveUsers),
        derived_from: None,
        follow_up: FollowUpFamily::Engagement,
        section: Section::Engagement,
    },
    MetricDef {
        id: MetricId::AvgSessionDurationS.cow(),
        name: Cow::Borrowed("Average session duration"),
        unit: Unit::Seconds,
        direction: Up,
        formula: Cow::Borrowed("Σ events.duration_s ÷ distinct sessions"),
        sources: &["events"],
        segments: NONE,
        module: Module::Engagement,
        aggregation: Aggregation::Level,
        reads: &["events", "customers"],
        volume: Some(Volume::ActiveUsers),
        weight: Some(Volume::ActiveUsers),
        derived_from: None,
        follow_up: FollowUpFamily::Engagement,
        section: Section::Engagement,
    },
    MetricDef {
        id: MetricId::FeatureAdoptionPct.cow(),
        name: Cow::Borrowed("Feature adoption"),
        unit: Unit::Percent,
        direction: Up,
        formula: Cow::Borrowed(
            "users with a feature_used event (for the feature) ÷ active users × 100",
        ),
        sources: &["events"],
        segments: FEATURE_DIMS,
        module: Module::Engagement,
        aggregation: Aggregation::Level,
        reads: &["events", "customers"],
        volume: Some(Volume::ActiveUsers),
        weight: Some(Volume::ActiveUsers),
        derived_from: None,
        follow_up: FollowUpFamily::Engagement,
        section: Section::Engagement,
    },
    MetricDef {
        id: MetricId::BounceRatePct.cow(),
        name: Cow::Borrowed("Bounce rate"),
        unit: Unit::Percent,
        direction: Down,
        formula: Cow::Borrowed(
            "sessions with exactly one page_view ÷ sessions with ≥ 1 page_view × 100",
        ),
        sources: &["events"],
        segments: NONE,
        module: Module::Engagement,
        aggregation: Aggregation::Level,
        reads: &["events", "customers"],
        volume: Some(Volume::ActiveUsers),
        weight: Some(Volume::ActiveUsers),
        derived_from: None,
        follow_up: FollowUpFamily::Engagement,
        section: Section::Engagement,
    },
    MetricDef {
        id: MetricId::PageViews.cow(),
        name: Cow::Borrowed("Page views"),
        unit: Unit::Count,
        direction: Up,
        formula: Cow::Borrowed("count of page_view events"),
        sources: &["events"],
        segments: NONE,
        module: Module::Engagement,
        aggregation: Aggregation::Sum,
        reads: &["events", "customers"],
        volume: Some(Volume::ActiveUsers),
        weight: Some(Volume::ActiveUsers),
        derived_from: None,
        follow_up: FollowUpFamily::Engagement,
        section: Section::Engagement,
    },
    MetricDef {
        id: MetricId::TimeToValueH.cow(),
        name: Cow::Borrowed("Time to value"),
        unit: Unit::Hours,
        direction: Down,
        formula: Cow::Borrowed(
            "median hours from signup to the first activation event (config activation_event), of users activated in the period",
        ),
        sources: &["customers", "events"],
        segments: CUSTOMER_DIMS,
        module: Module::Engagement,
        aggregation: Aggregation::Level,
        reads: &["events", "customers"],
        volume: Some(Volume::Metric(MetricId::NewCustomers)),
        weight: Some(Volume::Metric(MetricId::NewCustomers)),
        derived_from: None,
        follow_up: FollowUpFamily::Retention,
        section: Section::Engagement,
    },
    // Delivery and quality
    MetricDef {
        id: MetricId::OnTimeDeliveryPct.cow(),
        name: Cow::Borrowed("On-time delivery"),
        unit: Unit::Percent,
        direction: Up,
        formula: Cow::Borrowed(
            "items delivered on or before committed_date ÷ items delivered × 100",
        ),
        sources: &["work_items"],
        segments: NONE,
        module: Module::Delivery,
        aggregation: Aggregation::Level,
        reads: &["work_items", "tickets", "customers"],
        volume: None,
        weight: None,
        derived_from: None,
        follow_up: FollowUpFamily::Delivery,
        section: Section::Delivery,
    },
    MetricDef {
        id: MetricId::Velocity.cow(),
        name: Cow::Borrowed("Velocity"),
        unit: Unit::Count,
        direction: Up,
        formula: Cow::Borrowed("Σ points delivered"),
        sources: &["work_items"],
        segments: NONE,
        module: Module::Delivery,
        aggregation: Aggregation::Sum,
        reads: &["work_items", "tickets", "customers"],
        volume: None,
        weight: None,
        derived_from: None,
        follow_up: FollowUpFamily::Delivery,
        section: Section::Delivery,
    },
    MetricDef {
        id: MetricId::FeaturesReleased.cow(),
        name: Cow::Borrowed("Features released"),
        unit: Unit::Count,
        direction: Up,
        formula: Cow::Borrowed("features delivered"),
        sources: &["work_items"],
        segments: NONE,
        module: Module::Delivery,
        aggregation: Aggregation::Sum,
        reads: &["work_items", "tickets", "customers"],
        volume: None,
        weight: None,
        derived_from: None,
        follow_up: FollowUpFamily::Delivery,
        section: Section::Delivery,
    },
    MetricDef {
        id: MetricId::TimeToMarketD.cow(),
        name: Cow::Borrowed("Time to market"),
        unit: Unit::Days,
        direction: Down,
        formula: Cow::Borrowed(
            "median days from created_date to delivered_date of features delivered",
        ),
        sources: &["work_items"],
        segments: NONE,
        module: Module::Delivery,
        aggregation: Aggregation::Level,
        reads: &["work_items", "tickets", "customers"],
        volume: None,
        weight: None,
        derived_from: None,
        follow_up: FollowUpFamily::Delivery,
        section: Section::Delivery,
    },
    MetricDef {
        id: MetricId::DefectDetectionPct.cow(),
        name: Cow::Borrowed("Defect detection"),
        unit: Unit::Percent,
        direction: Up,
        formula: Cow::Borrowed("bugs found pre_release ÷ all bugs found × 100, by created_date"),
        sources: &["work_items"],
        segments: NONE,
        module: Module::Delivery,
        aggregation: Aggregation::Level,
        reads: &["work_items", "tickets", "customers"],
        volume: None,
        weight: None,
        derived_from: None,
        follow_up: FollowUpFamily::Delivery,
        section: Section::Delivery,
    },
    MetricDef {
        id: MetricId::Spi.cow(),
        name: Cow::Borrowed("Schedule performance index"),
        unit: Unit::Ratio,
        direction: Up,
        formula: Cow::Borrowed(
            "points delivered by their committed date ÷ points committed for the period",
        ),
        sources: &["work_items"],
        segments: NONE,
        module: Module::Delivery,
        aggregation: Aggregation::Level,
        reads: &["work_items", "tickets", "customers"],
        volume: None,
        weight: None,
        derived_from: None,
        follow_up: FollowUpFamily::Delivery,
        section: Section::Delivery,
    },
    MetricDef {
        id: MetricId::TicketsOpened.cow(),
        name: Cow::Borrowed("Tickets opened"),
        unit: Unit::Count,
        direction: Down,
        formula: Cow::Borrowed("tickets opened in the period"),
        sources: &["tickets"],
        segments: SEVERITY_DIMS,
        module: Module::Delivery,
        aggregation: Aggregation::Sum,
        reads: &["work_items", "tickets", "customers"],
        volume: Some(Volume::Metric(MetricId::TicketsOpened)),
        weight: Some(Volume::Metric(MetricId::TicketsOpened)),
        derived_from: None,
        follow_up: FollowUpFamily::Support,
        section: Section::Support,
    },
    MetricDef {
        id: MetricId::FirstResponseH.cow(),
        name: Cow::Borrowed("First response time"),
        unit: Unit::Hours,
        direction: Down,
        formula: Cow::Borrowed(
            "median hours from opened_at to first_response_at, tickets opened in the period",
        ),
        sources: &["tickets"],
        segments: SEVERITY_DIMS,
        module: Module::Delivery,
        aggregation: Aggregation::Level,
        reads: &["work_items", "tickets", "customers"],
        volume: Some(Volume::Metric(MetricId::TicketsOpened)),
        weight: Some(Volume::Metric(MetricId::TicketsOpened)),
        derived_from: None,
        follow_up: FollowUpFamily::Support,
        section: Section::Support,
    },
    MetricDef {
        id: MetricId::ResolutionH.cow(),
        name: Cow::Borrowed("Resolution time"),
        unit: Unit::Hours,
        direction: Down,
        formula: Cow::Borrowed(
            "median hours from opened_at to resolved_at, tickets opened in the period",
        ),
        sources: &["tickets"],
        segments: SEVERITY_DIMS,
        module: Module::Delivery,
        aggregation: Aggregation::Level,
        reads: &["work_items", "tickets", "customers"],
        volume: Some(Volume::Metric(MetricId::TicketsOpened)),
        weight: Some(Volume::Metric(MetricId::TicketsOpened)),
        derived_from: None,
        follow_up: FollowUpFamily::Support,
        section: Section::Support,
    },
];

/// Dimensions of an external metric: the `segment` column of the `metrics` table.
pub const EXTERNAL_DIMS: &[&str] = &["segment"];

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use chrono::NaiveDate;

    use super::*;
    use crate::metrics::{Engine, MetricError, Period, compute_in};
    use crate::store::Store;
    use crate::store::schema;

    #[test]
    fn catalog_lists_every_id_once() {
        assert_eq!(BUILT_IN.len(), MetricId::ALL.len());
        for (def, id) in BUILT_IN.iter().zip(MetricId::ALL) {
            assert_eq!(def.id, id.as_str());
            assert_eq!(MetricId::parse(&def.id), Some(*id));
            assert!(std::ptr::eq(id.def(), def));
        }
        let distinct: HashSet<&str> = MetricId::ALL.iter().map(|id| id.as_str()).collect();
        assert_eq!(distinct.len(), MetricId::ALL.len());
    }

    #[test]
    fn an_unknown_id_is_not_built_in_and_not_computed_as_external() {
        assert_eq!(MetricId::parse("net_revenu"), None);
        assert!(built_in("net_revenu").is_none());
        let store = Store::open_in_memory().unwrap();
        let config = crate::config::Config::default();
        let day = NaiveDate::from_ymd_opt(2026, 11, 15).unwrap();
        let engine = Engine::new(&store, &config, day);
        let periods = [Period::containing(Grain::Month, day)];
        let err = compute_in(Module::External, &engine, "net_revenu", &periods, None);
        assert!(matches!(err, Err(MetricError::UnknownMetric(_))), "{err:?}");
    }

    /// Every built-in metric is computed by the module its entry names, and no other
    /// module claims it.
    #[test]
    fn every_built_in_metric_is_computed_by_its_own_module() {
        let store = Store::open_in_memory().unwrap();
        let config = crate::config::Config::default();
        let day = NaiveDate::from_ymd_opt(2026, 11, 15).unwrap();
        let engine = Engine::new(&store, &config, day);
        let periods = [Period::containing(Grain::Month, day)];
        for def in BUILT_IN {
            for module in Module::ALL {
                let result = compute_in(module, &engine, &def.id, &periods, None);
                if module == def.module {
                    assert!(
                        result.as_ref().is_ok_and(|cells| cells.len() == 1),
                        "{} in {}: {result:?}",
                        def.id,
                        module.name()
                    );
                } else {
                    assert!(
                        matches!(result, Err(MetricError::UnknownMetric(_))),
                        "{} is also computed by {}",
                        def.id,
                        module.name()
                    );
                }
            }
        }
    }

    /// Binds every field of a [`MetricDef`] by name — no `..`, so a new field does not
    /// compile until it is listed here, checked below and read by a consumer — and
    /// returns the names with the bindings.
    macro_rules! every_field {
        ($def:expr, $($field:ident),* $(,)?) => {{
            let MetricDef { $($field),* } = $def;
            ([$(stringify!($field)),*], ($($field,)*))
        }};
    }

    fn source_file_texts(dir: &std::path::Path, out: &mut Vec<(String, String)>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                source_file_texts(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).unwrap();
                out.push((path.display().to_string(), text));
            }
        }
    }

    #[test]
    fn every_catalog_field_resolves_and_is_read_by_a_consumer() {
        let ids: HashSet<&str> = MetricId::ALL.iter().map(|id| id.as_str()).collect();
        let mut names: Vec<&'static str> = Vec::new();
        for def in BUILT_IN {
            let (fields, bound) = every_field!(
                def,
                id,
                name,
                unit,
                direction,
                formula,
                sources,
                segments,
                module,
                aggregation,
                reads,
                volume,
                weight,
                derived_from,
                follow_up,
                section,
            );
            let (
                id,
                name,
                unit,
                _direction,
                formula,
                sources,
                segments,
                module,
                aggregation,
                reads,
                volume,
                weight,
                derived_from,
                follow_up,
                section,
            ) = bound;
            names = fields.to_vec();
            assert!(ids.contains(id.as_ref()));
            assert!(!name.is_empty() && !formula.is_empty(), "{id}");
            for table in sources.iter().chain(reads.iter()) {
                assert!(
                    schema::table(table).is_some(),
                    "{id} reads no table {table}"
                );
            }
            for source in *sources {
                assert!(
                    reads.contains(source),
                    "{id}: {source} read but not in reads"
                );
            }
            for dimension in *segments {
                assert!(
                    [
                        "channel",
                        "plan",
                        "region",
                        "attributes",
                        "feature",
                        "severity"
                    ]
                    .contains(dimension),
                    "{id}: {dimension}"
                );
            }
            assert_ne!(*module, Module::External, "{id}");
            assert_ne!(*section, Section::External, "{id}");
            assert_ne!(*follow_up, FollowUpFamily::Other, "{id}");
            if *aggregation == Aggregation::Sum {
                assert!(matches!(unit, Unit::Currency | Unit::Count), "{id}");
            }
            for counted in [volume, weight].into_iter().flatten() {
                for grain in Grain::ALL {
                    let count = counted.at(grain).def();
                    assert_eq!(count.unit, Unit::Count, "{id} counted by {}", count.id);
                }
            }
            if let Some(source) = derived_from {
                assert_ne!(source.as_str(), id.as_ref());
                assert_eq!(source.def().unit, *unit, "{id} derives from {source}");
            }
        }
        // Every field is read somewhere outside the catalog's own definition.
        let mut files = Vec::new();
        source_file_texts(
            &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
            &mut files,
        );
        for field in &names {
            let read = files.iter().any(|(path, text)| {
                !path.ends_with("catalog.rs") && text.contains(&format!(".{field}"))
            });
            assert!(read, "no consumer reads MetricDef::{field}");
        }
    }
}
