//! The story the demo data tells, as dates and multipliers: the generator and the live
//! feed read it from here, and the tests check the files against it.
//!
//! The data ends on a fixed Sunday, so the latest ISO week is complete and the launch
//! four weeks earlier fills exactly the last four complete weeks (W1…W4 below).

use chrono::{Datelike, Months, NaiveDate, Weekday};

const fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    match NaiveDate::from_ymd_opt(y, m, d) {
        Some(d) => d,
        None => panic!("bad constant date"),
    }
}

/// Last day of the demo data (a Sunday): the stores's reference date.
pub const END_DATE: NaiveDate = date(2026, 11, 15);
/// The v3 launch, a Monday four weeks before the end.
pub const LAUNCH_DATE: NaiveDate = date(2026, 10, 19);
/// The launch promotion (discounts, a second signup wave) in the last week.
pub const PROMO_DATE: NaiveDate = date(2026, 11, 9);
/// The sync outage in the last week: tickets burst, NPS drops further.
pub const INCIDENT_DATE: NaiveDate = date(2026, 11, 10);
/// From this month on, paid search bids rise and its CAC drifts up.
pub const CAC_DRIFT_FROM: NaiveDate = date(2026, 5, 1);

pub const CHANNELS: [&str; 5] = ["organic", "paid_search", "paid_social", "referral", "email"];
pub const PAID_SEARCH: usize = 1;
pub const PAID_SOCIAL: usize = 2;
pub const CHANNEL_MIX: [f64; 5] = [0.32, 0.26, 0.18, 0.14, 0.10];
pub const REGIONS: [&str; 4] = ["North America", "Europe", "APAC", "LATAM"];
pub const REGION_MIX: [f64; 4] = [0.45, 0.35, 0.14, 0.06];
/// Hours from UTC of each region's support team (tickets carry offsets).
pub const REGION_OFFSET_H: [i32; 4] = [-5, 1, 9, -3];
pub const PLANS: [&str; 3] = ["starter", "pro", "business"];
pub const PLAN_MIX: [f64; 3] = [0.55, 0.35, 0.10];
pub const PLAN_MRR_CENTS: [i64; 3] = [2_900, 7_900, 19_900];
pub const COMPANY_SIZES: [&str; 4] = ["1-10", "11-50", "51-200", "201+"];
pub const INDUSTRIES: [&str; 5] = [
    "Retail",
    "Software, SaaS",
    "Media & Publishing",
    "Education",
    "Health",
];
pub const FEATURES: [&str; 5] = ["search", "dashboards", "export", "sharing", "integrations"];
/// The feature the launch ships.
pub const LAUNCH_FEATURE: &str = "ai_assistant";
pub const PAGES: [&str; 6] = [
    "/home",
    "/dashboard",
    "/reports",
    "/integrations",
    "/settings",
    "/billing",
];

/// First day of the data: `months` months before the end, plus one day.
pub fn start_date(months: u32) -> NaiveDate {
    END_DATE
        .checked_sub_months(Months::new(months.max(1)))
        .and_then(|d| d.succ_opt())
        .unwrap_or(END_DATE)
}

/// Week since the launch (0 = launch week), `None` before it. Later weeks count as the
/// last one, so the live feed continues the final week's story.
pub fn launch_week(day: NaiveDate) -> Option<usize> {
    if day < LAUNCH_DATE {
        None
    } else {
        Some((((day - LAUNCH_DATE).num_days() / 7) as usize).min(3))
    }
}

/// `before` until the launch, then one value per launch week.
pub fn by_launch_week(day: NaiveDate, before: f64, weeks: [f64; 4]) -> f64 {
    launch_week(day).map_or(before, |w| weeks[w])
}

/// 0 at `start`, 1 at the end: drives slow trends (growth, improving NPS).
pub fn progress(day: NaiveDate, start: NaiveDate) -> f64 {
    let span = (END_DATE - start).num_days().max(1) as f64;
    ((day - start).num_days() as f64 / span).clamp(0.0, 1.0)
}

/// Business growth: 2.6× over the covered span.
pub fn growth(day: NaiveDate, start: NaiveDate) -> f64 {
    (2.6_f64.ln() * progress(day, start)).exp()
}

/// Signups: a New-Year bump, a summer lull.
pub fn signup_season(day: NaiveDate) -> f64 {
    [
        1.12, 1.05, 1.02, 1.0, 0.98, 0.92, 0.84, 0.86, 1.02, 1.04, 1.0, 0.9,
    ][day.month0() as usize]
}

/// Orders: the holiday peak and the summer dip.
pub fn order_season(day: NaiveDate) -> f64 {
    let month = [
        0.9, 0.86, 0.95, 0.97, 1.0, 0.94, 0.87, 0.86, 0.98, 1.02, 1.22, 1.38,
    ][day.month0() as usize];
    // Black Friday through Cyber Monday.
    let black_friday = black_friday(day.year());
    let weekend = day >= black_friday && day <= black_friday + chrono::Days::new(3);
    month * if weekend { 2.2 } else { 1.0 }
}

/// The last Friday of November.
pub fn black_friday(year: i32) -> NaiveDate {
    let mut d = date(year, 11, 30);
    while d.weekday() != Weekday::Fri {
        d = d.pred_opt().unwrap_or(d);
    }
    d
}

/// Work days bring more signups and sessions than weekends.
pub fn weekday_factor(day: NaiveDate) -> f64 {
    match day.weekday() {
        Weekday::Sat => 0.72,
        Weekday::Sun => 0.68,
        Weekday::Mon => 1.08,
        _ => 1.1,
    }
}

/// Signups of a channel: the launch buzz lifts every channel but paid search, and the
/// promotion of the last week lifts them again.
pub fn signup_lift(channel: usize, day: NaiveDate) -> f64 {
    if channel == PAID_SEARCH {
        1.0
    } else {
        by_launch_week(day, 1.0, [1.55, 1.35, 1.3, 1.95])
    }
}

/// Paid search cost per new customer: flat, then drifting up 7 % a month.
pub fn paid_search_cac(day: NaiveDate) -> f64 {
    let months = (day - CAC_DRIFT_FROM).num_days().max(0) as f64 / 30.44;
    62.0 * 1.07_f64.powf(months)
}

pub fn paid_social_cac(day: NaiveDate) -> f64 {
    48.0 * by_launch_week(day, 1.0, [0.97, 1.0, 1.0, 0.98])
}

/// Session probability multiplier: the launch brings people back.
pub fn session_lift(day: NaiveDate) -> f64 {
    by_launch_week(day, 1.0, [1.28, 1.3, 1.33, 1.46])
}

/// Orders: the launch helps a little, the promotion more.
pub fn order_lift(day: NaiveDate) -> f64 {
    by_launch_week(day, 1.0, [1.06, 1.06, 1.07, 1.22])
}

/// Share of orders carrying a promotion discount (25 %) instead of the usual 10 %: the
/// launch promo, Black Friday weekends, the spring campaign's week. Discount rate then
/// moves with revenue, which gives the Drivers pane a real relation to show.
pub fn promo_share(day: NaiveDate) -> f64 {
    let black_friday = black_friday(day.year());
    let spring = date(2025, 3, 3);
    if day >= PROMO_DATE {
        0.3
    } else if day >= black_friday && day <= black_friday + chrono::Days::new(3) {
        0.55
    } else if day >= spring && day < spring + chrono::Days::new(7) {
        0.3
    } else {
        0.0
    }
}

/// Tickets per active customer per day.
pub fn ticket_rate(day: NaiveDate) -> f64 {
    0.004 * by_launch_week(day, 1.0, [1.7, 1.55, 1.45, 2.6])
}

/// Median hours to the first response and to resolution: support drowns after launch.
pub fn support_hours(day: NaiveDate) -> (f64, f64) {
    (
        by_launch_week(day, 1.8, [3.0, 2.8, 3.1, 7.5]),
        by_launch_week(day, 16.0, [24.0, 25.0, 27.0, 44.0]),
    )
}

/// Severity shares low / normal / high / urgent.
pub const SEVERITIES: [&str; 4] = ["low", "normal", "high", "urgent"];
pub fn severity_mix(day: NaiveDate) -> [f64; 4] {
    match launch_week(day) {
        None => [0.35, 0.45, 0.15, 0.05],
        Some(3) => [0.18, 0.37, 0.3, 0.15],
        Some(_) => [0.25, 0.42, 0.24, 0.09],
    }
}

/// Promoter and detractor shares: NPS improves slowly for two years, then the launch
/// (rough edges) and the incident push it down.
pub fn nps_shares(day: NaiveDate, start: NaiveDate) -> [f64; 3] {
    let p = progress(day, start);
    let drop = by_launch_week(day, 0.0, [6.0, 8.0, 10.0, 20.0]) / 200.0;
    let promoters = 0.50 + 0.07 * p - drop;
    let detractors = 0.17 - 0.04 * p + drop;
    [promoters, 1.0 - promoters - detractors, detractors]
}

/// Shares of CSAT scores 1…5.
pub fn csat_shares(day: NaiveDate) -> [f64; 5] {
    match launch_week(day) {
        None => [0.03, 0.04, 0.07, 0.36, 0.50],
        Some(3) => [0.06, 0.06, 0.10, 0.36, 0.42],
        Some(_) => [0.04, 0.05, 0.08, 0.36, 0.47],
    }
}

/// Shares of CES scores 1…7 (lower is better).
pub fn ces_shares(day: NaiveDate) -> [f64; 7] {
    match launch_week(day) {
        Some(3) => [0.07, 0.20, 0.28, 0.22, 0.13, 0.07, 0.03],
        _ => [0.10, 0.25, 0.30, 0.18, 0.10, 0.05, 0.02],
    }
}

/// Share of the launch feature among `feature_used` events.
pub fn launch_feature_share(day: NaiveDate) -> f64 {
    by_launch_week(day, 0.0, [0.25, 0.33, 0.4, 0.45])
}

/// App-store rating drop after the launch (mild) and the incident.
pub fn rating_drop(day: NaiveDate) -> f64 {
    by_launch_week(day, 0.0, [0.05, 0.1, 0.15, 0.42])
}

/// Annotations drawn on the trend charts (those inside the covered span are written).
pub fn annotations() -> Vec<(NaiveDate, String)> {
    let mut notes = vec![
        (
            date(2025, 3, 3),
            "Campaign: spring referral bonus".to_string(),
        ),
        (
            date(2025, 6, 12),
            "Incident: payment provider outage".to_string(),
        ),
        (date(2026, 1, 12), "Release: dashboards 2.0".to_string()),
        (
            CAC_DRIFT_FROM,
            "Paid search: bids raised on competitor terms".to_string(),
        ),
        (LAUNCH_DATE, "Launch: v3 with the AI assistant".to_string()),
        (
            PROMO_DATE,
            "Launch promo: 25% off for two weeks".to_string(),
        ),
        (INCIDENT_DATE, "Incident: sync outage (4 h)".to_string()),
    ];
    for year in 2024..=2026 {
        notes.push((
            black_friday(year),
            "Campaign: Black Friday sale".to_string(),
        ));
    }
    notes.sort();
    notes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_calendar_holds_together() {
        assert_eq!(END_DATE.weekday(), Weekday::Sun);
        assert_eq!(LAUNCH_DATE.weekday(), Weekday::Mon);
        assert_eq!((END_DATE - LAUNCH_DATE).num_days(), 27);
        assert_eq!(launch_week(PROMO_DATE), Some(3));
        assert_eq!(start_date(24), date(2024, 11, 16));
        assert_eq!(black_friday(2025), date(2025, 11, 28));
    }
}
