//! Recommended follow-ups (seed 000: every alert carries "recommended follow-up
//! actions"). One rule per metric family and direction of the move, overridable in
//! `kpi.toml` under `[follow_ups]` by metric id or by family name.
//!
//! Texts may use `{metric}`, `{period}` and `{segment}`: the alert's segment, or on a
//! total the segment that drove most of the move (half of it or more), else "all
//! segments" — so the next step points at where to look first.

use crate::config::Config;
use crate::metrics::{MetricDef, MetricId};

/// A follow-up family, as the catalog assigns it.
pub use crate::metrics::catalog::FollowUpFamily as Family;

impl Family {
    /// The family of a metric: the catalog's.
    pub fn of(def: &MetricDef) -> Self {
        def.follow_up
    }

    /// The built-in rule: what to do when the metric moved against (`bad`) or with its
    /// goal.
    fn rule(self, bad: bool) -> &'static str {
        match (self, bad) {
            (Family::Revenue, true) => {
                "Look into {metric} for {segment} in {period}: refunds, cancelled orders, discounts and checkout errors; call the largest accounts that dropped."
            }
            (Family::Revenue, false) => {
                "Find what lifted {metric} in {segment} ({period}: campaign, pricing, large accounts) and decide whether to scale it."
            }
            (Family::Subscription, true) => {
                "Review churned and contracted subscriptions in {segment} for {period}: talk to the accounts that downgraded and check billing failures."
            }
            (Family::Subscription, false) => {
                "Identify the expansions behind {metric} in {segment} ({period}) and repeat the upsell path with similar accounts."
            }
            (Family::Retention, true) => {
                "Contact at-risk customers in {segment}: compare the latest cohort's activity with earlier ones and review recent releases and support tickets."
            }
            (Family::Retention, false) => {
                "Find which cohort or change improved {metric} in {segment} and make it part of onboarding."
            }
            (Family::Acquisition, true) => {
                "Audit {segment} for {period}: spend, bids, targeting and landing pages; pause campaigns whose cost per customer rose."
            }
            (Family::Acquisition, false) => {
                "Shift budget towards {segment} while {metric} holds, and confirm the new customers activate."
            }
            (Family::Satisfaction, true) => {
                "Read the detractor comments from {period} in {segment}, tag their themes and close the loop with the accounts that scored lowest."
            }
            (Family::Satisfaction, false) => {
                "Ask promoters in {segment} for references or reviews and note what they praise."
            }
            (Family::Engagement, true) => {
                "Check the product funnel for {segment}: releases, incidents and feature usage in {period}; watch session recordings of users who dropped off."
            }
            (Family::Engagement, false) => {
                "Find the feature or campaign behind the rise in {metric} ({segment}) and promote it to the users who have not tried it."
            }
            (Family::Delivery, true) => {
                "Review the slipped items of {period} with the team: scope changes, blockers and capacity; re-plan the next commitment."
            }
            (Family::Delivery, false) => {
                "Keep the current planning practice and record what made {period} go well."
            }
            (Family::Support, true) => {
                "Triage {segment} tickets from {period} by severity, staff the queue and look for an incident or release behind the rise."
            }
            (Family::Support, false) => {
                "Check that the drop in {metric} is real (not tickets left unlogged) and keep what improved it."
            }
            (Family::Other, true) => {
                "Ask the owner of {metric} to explain the move in {segment} for {period} and agree a next step."
            }
            (Family::Other, false) => {
                "Confirm the improvement in {metric} ({segment}, {period}) and share what caused it."
            }
        }
    }
}

/// Rules for metrics whose family's rule would point the wrong way (new MRR falling is
/// not a churn problem; churned MRR falling is not an expansion).
fn metric_rule(metric: &str, bad: bool) -> Option<&'static str> {
    use MetricId::{
        DiscountRate, MrrChurned, MrrContraction, MrrExpansion, MrrNew, MrrReactivation,
        RevenueChurnPct,
    };
    Some(match (MetricId::parse(metric)?, bad) {
        (MrrNew, true) => {
            "Check the path to a first subscription in {segment} for {period}: trials, signups, checkout and the channels that brought fewer new subscribers."
        }
        (MrrNew, false) => {
            "Find the channel, plan or campaign behind the new subscriptions in {segment} ({period}) and check they activate."
        }
        (MrrExpansion, true) => {
            "Review upsell in {segment} for {period}: which accounts stopped upgrading, and whether pricing, limits or the sales motion changed."
        }
        (MrrReactivation, true) => {
            "Review win-back in {segment} for {period}: reactivation campaigns, offers and returning accounts."
        }
        (MrrChurned | MrrContraction | RevenueChurnPct, false) => {
            "Find what kept accounts in {segment} from cancelling or downgrading in {period} (retention offers, fixes, support) and keep it."
        }
        (DiscountRate, true) => {
            "Check which promotions and codes drove {metric} up in {segment} ({period}) and whether they brought customers who stay."
        }
        _ => return None,
    })
}

/// What an alert's reader should do next.
pub struct Situation<'a> {
    pub def: &'a MetricDef,
    /// `channel=paid_search`: the alert's segment, or a total's dominant driver.
    pub segment: Option<String>,
    pub period: &'a str,
    pub bad: bool,
    /// A target at risk rather than a deviation.
    pub target: bool,
}

const TARGET_RULE: &str = "Target for {metric} is off pace: agree with the owner which lever closes the gap, or reset the target and its milestones deliberately.";

pub fn follow_up(config: &Config, situation: &Situation<'_>) -> String {
    let family = Family::of(situation.def);
    let template = config
        .follow_ups
        .get(situation.def.id.as_ref())
        .or_else(|| config.follow_ups.get(family.name()))
        .map_or_else(
            || {
                if situation.target {
                    TARGET_RULE
                } else {
                    metric_rule(&situation.def.id, situation.bad)
                        .unwrap_or_else(|| family.rule(situation.bad))
                }
            },
            String::as_str,
        );
    // Names read as sentences; ids are for keys and JSON.
    template
        .replace("{metric}", &situation.def.name)
        .replace(
            "{segment}",
            situation.segment.as_deref().unwrap_or("all segments"),
        )
        .replace("{period}", situation.period)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::{Direction, Unit};
    use std::borrow::Cow;

    fn def(id: &'static str, source: &'static [&'static str]) -> MetricDef {
        crate::metrics::catalog::def(
            id,
            id,
            Unit::Currency,
            Direction::HigherIsBetter,
            "",
            source,
            &[],
        )
    }

    #[test]
    fn families_by_id_then_by_source() {
        assert_eq!(
            Family::of(&def("net_revenue", &["orders", "refunds"])),
            Family::Revenue
        );
        assert_eq!(
            Family::of(&def("cac", &["spend", "customers"])),
            Family::Acquisition
        );
        assert_eq!(
            Family::of(&def("mrr_churned", &["subscriptions"])),
            Family::Subscription
        );
        assert_eq!(
            Family::of(&def("customer_churn_pct", &["subscriptions"])),
            Family::Retention
        );
        assert_eq!(Family::of(&def("nps", &["surveys"])), Family::Satisfaction);
        assert_eq!(Family::of(&def("uptime", &["metrics"])), Family::Other);
    }

    #[test]
    fn every_alert_gets_a_filled_in_next_step() {
        let config = Config::default();
        let revenue = def("net_revenue", &["orders"]);
        let text = follow_up(
            &config,
            &Situation {
                def: &revenue,
                segment: Some("channel=paid_search".into()),
                period: "2026-W46",
                bad: true,
                target: false,
            },
        );
        assert!(text.contains("channel=paid_search"), "{text}");
        assert!(text.contains("2026-W46"), "{text}");
        assert!(!text.contains('{'), "{text}");
        let good = follow_up(
            &config,
            &Situation {
                def: &revenue,
                segment: None,
                period: "2026-W46",
                bad: false,
                target: false,
            },
        );
        assert_ne!(good, text);
        assert!(good.contains("all segments"), "{good}");
    }

    #[test]
    fn new_mrr_falling_asks_about_new_subscribers_not_churn() {
        let config = Config::default();
        let mut mrr_new = def("mrr_new", &["subscriptions"]);
        mrr_new.name = Cow::Borrowed("New MRR");
        let situation = |bad| Situation {
            def: &mrr_new,
            segment: None,
            period: "2026-W46",
            bad,
            target: false,
        };
        let fell = follow_up(&config, &situation(true));
        assert!(fell.contains("first subscription"), "{fell}");
        assert!(!fell.contains("churn"), "{fell}");
        let rose = follow_up(&config, &situation(false));
        assert!(!rose.contains("expansions"), "{rose}");
        // Churn falling is good news about keeping accounts, not about expansions.
        let churned = def("mrr_churned", &["subscriptions"]);
        let text = follow_up(
            &config,
            &Situation {
                def: &churned,
                segment: None,
                period: "2026-10",
                bad: false,
                target: false,
            },
        );
        assert!(text.contains("cancelling"), "{text}");
    }

    #[test]
    fn the_next_step_names_the_metric_not_its_id() {
        let config = Config::default();
        let mut aov = def("aov", &["orders"]);
        aov.name = Cow::Borrowed("Average order value");
        let text = follow_up(
            &config,
            &Situation {
                def: &aov,
                segment: None,
                period: "2026-W46",
                bad: false,
                target: false,
            },
        );
        assert!(text.contains("Average order value"), "{text}");
        assert!(!text.contains("aov"), "{text}");
    }

    #[test]
    fn kpi_toml_overrides_by_metric_then_family() {
        let mut config = Config::default();
        config
            .follow_ups
            .insert("revenue".into(), "Ping finance about {metric}".into());
        config
            .follow_ups
            .insert("nps".into(), "Call the detractors of {period}".into());
        let situation = |d| Situation {
            def: d,
            segment: None,
            period: "2026-10",
            bad: true,
            target: false,
        };
        let gross = def("gross_revenue", &["orders"]);
        assert_eq!(
            follow_up(&config, &situation(&gross)),
            "Ping finance about gross_revenue"
        );
        let nps = def("nps", &["surveys"]);
        assert_eq!(
            follow_up(&config, &situation(&nps)),
            "Call the detractors of 2026-10"
        );
    }
}
