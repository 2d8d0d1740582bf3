//! The full demo data set: one file per table, all telling the scenario's story, and
//! consistent with each other (orders by existing customers, refunds of existing
//! orders, events by existing users, spend on the channels customers come from).
//!
//! The simulation runs day by day over a population of customers, so that every row
//! comes from a customer's life: signup, trial, subscription, plan changes, churn and
//! reactivation, sessions, orders, tickets and survey answers.

use super::DemoError;
use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use chrono::{Datelike, Days, NaiveDate, NaiveDateTime, NaiveTime, TimeDelta};
use serde::Serialize;

use super::rng::{Dither, Quota, Rng};
use super::scenario::*;
use super::write::{cents, csv_file, finish_csv, money, ts_offset, ts_utc};

/// What `kpi demo --out` generates.
#[derive(Debug, Clone)]
pub struct DemoOptions {
    pub seed: u64,
    /// Customers signing up over the covered span (approximately: signups vary by day).
    pub customers: u32,
    /// Months of history before the end date.
    pub months: u32,
}

impl Default for DemoOptions {
    fn default() -> Self {
        Self {
            seed: 42,
            customers: 2_000,
            months: 24,
        }
    }
}

/// One written file and its data rows (header excluded).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileSummary {
    pub file: String,
    pub rows: u64,
}

/// Probability of a session on a given day, by engagement level (power, regular, casual).
const SESSION_P: [f64; 3] = [0.085, 0.022, 0.006];
const LEVEL_MIX: [f64; 3] = [0.15, 0.35, 0.5];
/// Median orders per active customer per day.
const ORDER_P: f64 = 0.037;
/// Survey answers per active customer per day, by kind.
const NPS_RATE: f64 = 0.0075;
const CSAT_RATE: f64 = 0.0035;
const CES_RATE: f64 = 0.0018;

struct Customer {
    id: String,
    signup: NaiveDate,
    /// Churn depends on the age of the relationship: beta users arrive seasoned.
    tenure_from: NaiveDate,
    channel: usize,
    region: usize,
    /// The plan chosen at signup (customers.csv); `plan` follows later changes.
    signup_plan: usize,
    plan: usize,
    seats: i64,
    size: usize,
    industry: usize,
    session_p: f64,
    order_p: f64,
    basket: f64,
    /// A subscriber's paid subscription starts when the 14-day trial ends.
    trial_end: Option<NaiveDate>,
    alive: bool,
    churned_on: Option<NaiveDate>,
    open_sub: Option<usize>,
}

struct Subscription {
    customer: usize,
    plan: usize,
    mrr_cents: i64,
    start: NaiveDate,
    end: Option<NaiveDate>,
}

struct Event {
    ts: NaiveDateTime,
    seq: u32,
    user: usize,
    name: &'static str,
    session: Option<u64>,
    feature: Option<&'static str>,
    page: Option<&'static str>,
    duration_s: Option<u32>,
}

#[derive(Serialize)]
struct EventOut<'a> {
    event_id: String,
    user_id: &'a str,
    ts: String,
    name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    session_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    feature: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    page: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    duration_s: Option<u32>,
}

#[derive(Serialize)]
struct SurveyOut<'a> {
    response_id: String,
    date: String,
    kind: &'a str,
    score: u32,
    customer_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    comment: Option<&'a str>,
}

struct Refund {
    order_id: String,
    date: NaiveDate,
    cents: i64,
}

#[derive(Default, Clone, Copy)]
struct MonthTotals {
    gross_cents: i64,
    active_customer_days: u64,
}

/// Random streams, one per concern.
struct Streams {
    signups: Rng,
    people: Rng,
    life: Rng,
    events: Rng,
    orders: Rng,
    support: Rng,
    surveys: Rng,
    marketing: Rng,
}

/// Writes every table's file into `out` (created if missing) and returns what it wrote.
pub fn generate(out: &Path, options: &DemoOptions) -> Result<Vec<FileSummary>, DemoError> {
    std::fs::create_dir_all(out).map_err(DemoError::at("create", out))?;
    let seed = options.seed;
    let mut rng = Streams {
        signups: Rng::stream(seed, "signups"),
        people: Rng::stream(seed, "people"),
        life: Rng::stream(seed, "life"),
        events: Rng::stream(seed, "events"),
        orders: Rng::stream(seed, "orders"),
        support: Rng::stream(seed, "support"),
        surveys: Rng::stream(seed, "surveys"),
        marketing: Rng::stream(seed, "marketing"),
    };
    let start = start_date(options.months);
    let days: Vec<NaiveDate> = start.iter_days().take_while(|d| *d <= END_DATE).collect();
    let expected = expected_signups(&days, start, options.customers);

    let path = |name: &str| out.join(name);
    let mut orders_csv = csv_file(&path("orders.csv"), "orders", &[])?;
    let mut spend_csv = csv_file(&path("spend.csv"), "spend", &[])?;
    let mut funnel_csv = csv_file(&path("funnel.csv"), "funnel", &[])?;
    let mut tickets_csv = csv_file(&path("tickets.csv"), "tickets", &[])?;
    let events_path = path("events.ndjson");
    let mut events_out =
        BufWriter::new(File::create(&events_path).map_err(DemoError::at("create", &events_path))?);
    let surveys_path = path("surveys.json");
    let mut surveys_out = BufWriter::new(
        File::create(&surveys_path).map_err(DemoError::at("create", &surveys_path))?,
    );
    surveys_out.write_all(b"[")?;

    let mut customers: Vec<Customer> = Vec::new();
    let mut subs: Vec<Subscription> = Vec::new();
    let mut refunds: Vec<Refund> = Vec::new();
    let mut months: BTreeMap<NaiveDate, MonthTotals> = BTreeMap::new();
    let mut activations: Vec<(NaiveDateTime, usize)> = Vec::new();
    let mut signup_dither: [Dither; 5] = Default::default();
    let mut ticket_dither = Dither::default();
    let mut survey_dither: [Dither; 3] = Default::default();
    let mut nps_quota = Quota::new(3);
    let mut csat_quota = Quota::new(5);
    let mut ces_quota = Quota::new(7);
    let (mut n_orders, mut n_events, mut n_sessions, mut n_tickets, mut n_surveys) =
        (0u64, 0u64, 0u64, 0u64, 0u64);
    let (mut n_spend, mut n_funnel) = (0u64, 0u64);

    for (day_index, &day) in days.iter().enumerate() {
        let midnight = day.and_time(NaiveTime::MIN);
        let month_key = day.with_day(1).unwrap_or(day);
        let mut day_events: Vec<Event> = Vec::new();
        let mut seq = 0u32;

        // Signups, channel by channel.
        let mut new_by_channel = [0u64; 5];
        for channel in 0..CHANNELS.len() {
            let noisy = expected[day_index][channel] * rng.signups.between(0.85, 1.15);
            let n = signup_dither[channel].take(noisy, &mut rng.signups);
            new_by_channel[channel] = n;
            for _ in 0..n {
                let index = customers.len();
                let mut customer = new_customer(index, day, channel, &mut rng.people);
                if day_index < BETA_DAYS {
                    customer.tenure_from = day - Days::new(180);
                }
                let signed_up_at = midnight + TimeDelta::seconds(rng.people.below(86_400) as i64);
                let activates = rng.people.chance(by_launch_week(day, 0.72, [0.8; 4]));
                let hours = rng.people.log_normal(16.0, 0.9).min(24.0 * 30.0);
                if activates {
                    let at = signed_up_at + TimeDelta::seconds((hours * 3600.0) as i64);
                    activations.push((at, index));
                }
                customers.push(customer);
            }
        }

        // Activations due today.
        activations.retain(|(at, user)| {
            if at.date() == day {
                seq += 1;
                day_events.push(Event {
                    ts: *at,
                    seq,
                    user: *user,
                    name: "activated",
                    session: None,
                    feature: None,
                    page: None,
                    duration_s: None,
                });
                false
            } else {
                at.date() > day
            }
        });

        // Each customer's day.
        let mut active: Vec<usize> = Vec::new();
        for index in 0..customers.len() {
            if !live_through(index, day, &mut customers, &mut subs, &mut rng.life) {
                continue;
            }
            active.push(index);
            let customer = &customers[index];
            let p_session = customer.session_p * weekday_factor(day) * session_lift(day);
            if rng.events.chance(p_session) {
                n_sessions += 1;
                session(
                    n_sessions,
                    index,
                    day,
                    &mut rng.events,
                    &mut seq,
                    &mut day_events,
                );
            }
            let p_order =
                customer.order_p * order_season(day) * weekday_factor(day).sqrt() * order_lift(day);
            if rng.orders.chance(p_order) {
                n_orders += 1;
                let order_id = format!("O{n_orders:08}");
                let order = order(customer, day, &mut rng.orders);
                orders_csv.write_record([
                    order_id.as_str(),
                    customer.id.as_str(),
                    &day.to_string(),
                    &money(order.revenue),
                    order.status,
                    order.channel,
                    &money(order.discount),
                    &money(order.cost),
                ])?;
                if order.status == "completed" {
                    months.entry(month_key).or_default().gross_cents += order.revenue;
                    if rng.orders.chance(0.045) {
                        let date = day + Days::new(2 + rng.orders.below(28));
                        let amount = if rng.orders.chance(0.6) {
                            order.revenue
                        } else {
                            cents(order.revenue as f64 / 100.0 * rng.orders.between(0.2, 0.6))
                        };
                        if date <= END_DATE && amount > 0 {
                            refunds.push(Refund {
                                order_id,
                                date,
                                cents: amount,
                            });
                        }
                    }
                }
            }
        }
        months.entry(month_key).or_default().active_customer_days += active.len() as u64;

        // Events of the day, in time order.
        day_events.sort_by_key(|e| (e.ts, e.seq));
        for e in &day_events {
            n_events += 1;
            let row = EventOut {
                event_id: format!("E{n_events:08}"),
                user_id: &customers[e.user].id,
                ts: ts_utc(e.ts),
                name: e.name,
                session_id: e.session.map(|s| format!("s{s:08}")),
                feature: e.feature,
                page: e.page,
                duration_s: e.duration_s,
            };
            serde_json::to_writer(&mut events_out, &row)?;
            events_out.write_all(b"\n")?;
        }

        if !active.is_empty() {
            // Support tickets.
            let expected_tickets = active.len() as f64 * ticket_rate(day);
            let n = ticket_dither.take(expected_tickets, &mut rng.support);
            let mut opened: Vec<(NaiveDateTime, usize)> = (0..n)
                .map(|_| {
                    let who = active[rng.support.below(active.len() as u64) as usize];
                    let second = 7 * 3600 + rng.support.below(15 * 3600);
                    (midnight + TimeDelta::seconds(second as i64), who)
                })
                .collect();
            opened.sort();
            for (at, who) in opened {
                n_tickets += 1;
                write_ticket(
                    &mut tickets_csv,
                    n_tickets,
                    at,
                    &customers[who],
                    &mut rng.support,
                )?;
            }

            // Survey answers.
            for (kind_index, (kind, rate)) in
                [("nps", NPS_RATE), ("csat", CSAT_RATE), ("ces", CES_RATE)]
                    .into_iter()
                    .enumerate()
            {
                let n =
                    survey_dither[kind_index].take(active.len() as f64 * rate, &mut rng.surveys);
                for _ in 0..n {
                    let who = &customers[active[rng.surveys.below(active.len() as u64) as usize]];
                    let r = &mut rng.surveys;
                    let (score, mood) = match kind {
                        "nps" => {
                            let category = nps_quota.pick(&nps_shares(day, start));
                            let score = match category {
                                0 => 9 + r.below(2) as u32,
                                1 => 7 + r.below(2) as u32,
                                _ => r.weighted(&[0.03, 0.02, 0.05, 0.08, 0.12, 0.3, 0.4]) as u32,
                            };
                            (score, 1 - category as i32)
                        }
                        "csat" => {
                            let score = csat_quota.pick(&csat_shares(day)) as u32 + 1;
                            (score, (score as i32 - 3).signum())
                        }
                        _ => {
                            let score = ces_quota.pick(&ces_shares(day)) as u32 + 1;
                            (score, (3 - score as i32).signum())
                        }
                    };
                    n_surveys += 1;
                    let comment = if r.chance(0.2) {
                        Some(comment_for(mood, day, r))
                    } else {
                        None
                    };
                    let row = SurveyOut {
                        response_id: format!("S{n_surveys:07}"),
                        date: day.to_string(),
                        kind,
                        score,
                        customer_id: &who.id,
                        comment,
                    };
                    surveys_out.write_all(if n_surveys == 1 { b"\n" } else { b",\n" })?;
                    serde_json::to_writer(&mut surveys_out, &row)?;
                }
            }
        }

        // Paid channels' spend follows the customers they bring, at the channel's CAC.
        let m = &mut rng.marketing;
        for (channel, cac, cpc, ctr) in [
            (
                PAID_SEARCH,
                paid_search_cac(day),
                1.9 * (paid_search_cac(day) / 62.0).powf(0.6),
                0.034,
            ),
            (PAID_SOCIAL, paid_social_cac(day), 0.85, 0.011),
        ] {
            let amount = expected[day_index][channel] * cac * m.between(0.92, 1.08);
            let clicks = (amount / cpc * m.between(0.9, 1.1)).round();
            let impressions = (clicks / ctr * m.between(0.9, 1.1)).round();
            n_spend += 1;
            spend_csv.write_record([
                day.to_string().as_str(),
                CHANNELS[channel],
                &money(cents(amount)),
                &(impressions as u64).to_string(),
                &(clicks as u64).to_string(),
            ])?;
        }
        // Launch curiosity brings visitors who do not all convert.
        let visit_lift = by_launch_week(day, 1.0, [1.35, 1.12, 1.06, 1.18]);
        for (channel, rate) in [0.021, 0.034, 0.014, 0.06, 0.045].into_iter().enumerate() {
            let conversions = new_by_channel[channel];
            let visitors =
                ((expected[day_index][channel] / rate * visit_lift * m.between(0.9, 1.1)).round()
                    as u64)
                    .max(conversions);
            let leads = ((visitors as f64 * m.between(0.14, 0.18)).round() as u64).max(conversions);
            n_funnel += 1;
            funnel_csv.write_record([
                day.to_string().as_str(),
                &visitors.to_string(),
                CHANNELS[channel],
                &leads.to_string(),
                &conversions.to_string(),
            ])?;
        }
    }
    surveys_out.write_all(if n_surveys == 0 { b"]\n" } else { b"\n]\n" })?;
    surveys_out.flush()?;
    events_out.flush()?;
    finish_csv(orders_csv, &path("orders.csv"))?;
    finish_csv(spend_csv, &path("spend.csv"))?;
    finish_csv(funnel_csv, &path("funnel.csv"))?;
    finish_csv(tickets_csv, &path("tickets.csv"))?;

    let mut summary = vec![
        FileSummary {
            file: "orders.csv".into(),
            rows: n_orders,
        },
        FileSummary {
            file: "events.ndjson".into(),
            rows: n_events,
        },
        FileSummary {
            file: "surveys.json".into(),
            rows: n_surveys,
        },
        FileSummary {
            file: "tickets.csv".into(),
            rows: n_tickets,
        },
        FileSummary {
            file: "spend.csv".into(),
            rows: n_spend,
        },
        FileSummary {
            file: "funnel.csv".into(),
            rows: n_funnel,
        },
    ];
    summary.push(write_customers(out, &customers)?);
    summary.push(write_subscriptions(out, &customers, &subs)?);
    summary.push(write_refunds(out, refunds)?);
    summary.push(write_costs(out, &months, start)?);
    summary.push(write_work_items(
        out,
        start,
        &mut Rng::stream(seed, "delivery"),
    )?);
    summary.push(write_annotations(out, start)?);
    summary.push(write_metrics(
        out,
        start,
        &mut Rng::stream(seed, "external"),
    )?);
    summary.push(write_legacy_orders(out, &customers)?);
    summary.sort_by(|a, b| a.file.cmp(&b.file));
    Ok(summary)
}

/// Share of the customers who are beta users moving over in the first two weeks of
/// general availability: the product starts with a base, not from nothing.
const BETA_SHARE: f64 = 0.15;
const BETA_DAYS: usize = 14;
/// Beta users came by word of mouth.
const BETA_CHANNEL_MIX: [f64; 5] = [0.6, 0.0, 0.0, 0.3, 0.1];

/// Expected signups per day and channel, scaled so that they sum to `customers`.
fn expected_signups(days: &[NaiveDate], start: NaiveDate, customers: u32) -> Vec<[f64; 5]> {
    let mut expected: Vec<[f64; 5]> = days
        .iter()
        .map(|&day| {
            let base = growth(day, start) * signup_season(day) * weekday_factor(day);
            std::array::from_fn(|c| CHANNEL_MIX[c] * base * signup_lift(c, day))
        })
        .collect();
    let total: f64 = expected.iter().flatten().sum();
    let regular = f64::from(customers) * (1.0 - BETA_SHARE);
    let scale = if total > 0.0 { regular / total } else { 0.0 };
    for day in &mut expected {
        for value in day.iter_mut() {
            *value *= scale;
        }
    }
    let beta_days = BETA_DAYS.min(expected.len()).max(1);
    let beta_per_day = f64::from(customers) * BETA_SHARE / beta_days as f64;
    for day in expected.iter_mut().take(beta_days) {
        for (value, share) in day.iter_mut().zip(BETA_CHANNEL_MIX) {
            *value += beta_per_day * share;
        }
    }
    expected
}

fn new_customer(index: usize, day: NaiveDate, channel: usize, r: &mut Rng) -> Customer {
    let plan = r.weighted(&PLAN_MIX);
    let level = r.weighted(&LEVEL_MIX);
    let subscriber = r.chance(if plan == 2 { 0.7 } else { 0.58 });
    Customer {
        id: customer_id(index),
        signup: day,
        tenure_from: day,
        channel,
        region: r.weighted(&REGION_MIX),
        signup_plan: plan,
        plan,
        seats: if plan == 2 { 1 + r.below(3) as i64 } else { 1 },
        size: r.weighted(&[0.45, 0.3, 0.17, 0.08]),
        industry: r.below(INDUSTRIES.len() as u64) as usize,
        session_p: SESSION_P[level],
        order_p: r.log_normal(ORDER_P, 0.5).min(0.3),
        basket: [45.0, 55.0, 80.0][plan] * r.log_normal(1.0, 0.15),
        trial_end: subscriber.then(|| day + Days::new(14)),
        alive: true,
        churned_on: None,
        open_sub: None,
    }
}

/// The id of the customer created `index`-th (zero-based); also the events' user id.
pub fn customer_id(index: usize) -> String {
    format!("C{:06}", index + 1)
}

/// Moves a customer's life on by one day: churn, reactivation, subscription start and
/// plan changes. True when the customer is active on `day`.
fn live_through(
    index: usize,
    day: NaiveDate,
    customers: &mut [Customer],
    subs: &mut Vec<Subscription>,
    r: &mut Rng,
) -> bool {
    let c = &mut customers[index];
    if c.alive {
        // Churn is steep in the first months and flattens: real retention curves.
        let age_months = (day - c.tenure_from).num_days() as f64 / 30.44;
        let monthly = 0.035 + 0.2 * (-age_months / 1.3).exp();
        if day > c.signup && r.chance(monthly / 30.44) {
            c.alive = false;
            c.churned_on = Some(day);
            if let Some(open) = c.open_sub.take() {
                subs[open].end = Some(day);
            }
            return false;
        }
    } else {
        let recent = c
            .churned_on
            .is_some_and(|since| (day - since).num_days() < 240);
        if !(recent && r.chance(0.0009)) {
            return false;
        }
        c.alive = true;
        c.churned_on = None;
        if c.trial_end.is_some_and(|t| t < day) {
            open_subscription(index, c, day, subs);
        }
    }
    if c.trial_end == Some(day) {
        open_subscription(index, c, day, subs);
    }
    if c.open_sub.is_some() {
        let change = if c.plan < 2 && r.chance(0.0009) {
            Some(c.plan + 1)
        } else if c.plan > 0 && r.chance(0.0004) {
            Some(c.plan - 1)
        } else {
            None
        };
        if let Some(plan) = change {
            if let Some(open) = c.open_sub.take() {
                subs[open].end = Some(day);
            }
            c.plan = plan;
            if plan == 2 && c.seats == 1 {
                c.seats = 2;
            }
            open_subscription(index, c, day, subs);
        }
    }
    true
}

fn open_subscription(index: usize, c: &mut Customer, day: NaiveDate, subs: &mut Vec<Subscription>) {
    let seats = if c.plan == 2 { c.seats } else { 1 };
    c.open_sub = Some(subs.len());
    subs.push(Subscription {
        customer: index,
        plan: c.plan,
        mrr_cents: PLAN_MRR_CENTS[c.plan] * seats,
        start: day,
        end: None,
    });
}

/// Hours of the day (UTC) in which sessions start; none in the last hour, so that a
/// session never runs past the end date.
const SESSION_HOURS: [f64; 23] = [
    0.6, 0.4, 0.3, 0.3, 0.4, 0.6, 1.0, 1.6, 2.4, 3.0, 3.3, 3.4, 3.4, 3.6, 3.8, 3.7, 3.4, 3.0, 2.6,
    2.2, 1.8, 1.4, 1.0,
];

fn session(
    number: u64,
    user: usize,
    day: NaiveDate,
    r: &mut Rng,
    seq: &mut u32,
    out: &mut Vec<Event>,
) {
    let hour = r.weighted(&SESSION_HOURS) as i64;
    let start =
        day.and_time(NaiveTime::MIN) + TimeDelta::seconds(hour * 3600 + r.below(3600) as i64);
    let duration = r
        .log_normal(380.0 * by_launch_week(day, 1.0, [1.12; 4]), 0.7)
        .clamp(5.0, 3_500.0) as u32;
    let mut push = |offset: u32, name, feature, page, duration_s| {
        *seq += 1;
        out.push(Event {
            ts: start + TimeDelta::seconds(i64::from(offset)),
            seq: *seq,
            user,
            name,
            session: Some(number),
            feature,
            page,
            duration_s,
        });
    };
    push(0, "session_start", None, None, Some(duration));
    let views = if r.chance(0.36) {
        1
    } else {
        2 + r.below(4) as u32
    };
    let assistant = launch_feature_share(day);
    for k in 0..views {
        let page = if r.chance(assistant * 0.4) {
            "/assistant"
        } else {
            PAGES[r.weighted(&[0.3, 0.25, 0.2, 0.1, 0.1, 0.05])]
        };
        push(duration * k / views, "page_view", None, Some(page), None);
    }
    for k in 0..r.below(3) as u32 {
        let feature = if r.chance(assistant) {
            LAUNCH_FEATURE
        } else {
            FEATURES[r.weighted(&[0.35, 0.25, 0.15, 0.15, 0.1])]
        };
        push(
            duration * (2 * k + 1) / 5,
            "feature_used",
            Some(feature),
            None,
            None,
        );
    }
}

struct Order {
    revenue: i64,
    discount: i64,
    cost: i64,
    status: &'static str,
    channel: &'static str,
}

fn order(c: &Customer, day: NaiveDate, r: &mut Rng) -> Order {
    let list = cents(c.basket * r.log_normal(1.0, 0.25)).max(100);
    let discount_pct = if r.chance(promo_share(day)) {
        25
    } else if r.chance(0.12) {
        10
    } else {
        0
    };
    let discount = list * discount_pct / 100;
    let revenue = list - discount;
    let recent = (END_DATE - day).num_days() < 3;
    let status = if recent && r.chance(0.35) {
        "pending"
    } else if r.chance(0.035) {
        "cancelled"
    } else if r.chance(0.004) {
        "pending"
    } else {
        "completed"
    };
    Order {
        revenue,
        discount,
        cost: cents(revenue as f64 / 100.0 * r.between(0.36, 0.46)),
        status,
        channel: if r.chance(0.15) {
            "email"
        } else {
            CHANNELS[c.channel]
        },
    }
}

fn write_ticket(
    out: &mut super::write::CsvOut,
    number: u64,
    opened: NaiveDateTime,
    who: &Customer,
    r: &mut Rng,
) -> Result<(), DemoError> {
    let day = opened.date();
    let (first_h, resolve_h) = support_hours(day);
    let first = opened + TimeDelta::seconds((r.log_normal(first_h, 0.8) * 3600.0) as i64 + 60);
    let resolved = first + TimeDelta::seconds((r.log_normal(resolve_h, 0.7) * 3600.0) as i64);
    let last = END_DATE.and_time(NaiveTime::MIN) + TimeDelta::seconds(86_399);
    let offset = REGION_OFFSET_H[who.region];
    let shown = |ts: NaiveDateTime| {
        if ts <= last {
            ts_offset(ts, offset)
        } else {
            String::new()
        }
    };
    let severity = SEVERITIES[r.weighted(&severity_mix(day))];
    out.write_record([
        format!("T{number:06}").as_str(),
        &ts_offset(opened, offset),
        &shown(first),
        &shown(resolved),
        severity,
        &who.id,
    ])?;
    Ok(())
}

/// A free-text comment matching the answer's mood (1 happy, 0 neutral, −1 unhappy).
fn comment_for(mood: i32, day: NaiveDate, r: &mut Rng) -> &'static str {
    let launched = day >= LAUNCH_DATE;
    let pool: &[&'static str] = match (mood.signum(), launched, day >= INCIDENT_DATE) {
        (1, true, _) => &[
            "The new assistant is brilliant",
            "Love it — saves me hours every week",
        ],
        (1, false, _) => &[
            "Love it — saves me hours every week",
            "Great support, \"just works\"",
        ],
        (0, _, _) => &["Does the job", "Fine, reports could be faster"],
        (_, _, true) => &[
            "Sync broke twice this week",
            "Lost changes during the outage, not happy",
        ],
        (_, true, _) => &[
            "New UI is confusing, please bring back the old reports",
            "Assistant gives wrong answers",
        ],
        _ => &[
            "Too expensive for what it does",
            "Exports are slow; CSV, then Excel, then crash",
        ],
    };
    pool[r.below(pool.len() as u64) as usize]
}

fn write_customers(out: &Path, customers: &[Customer]) -> Result<FileSummary, DemoError> {
    let path = out.join("customers.csv");
    let mut w = csv_file(&path, "customers", &["company_size", "industry"])?;
    for c in customers {
        w.write_record([
            c.id.as_str(),
            &c.signup.to_string(),
            CHANNELS[c.channel],
            // The plan chosen at signup; changes show in subscriptions.
            PLANS[c.signup_plan],
            REGIONS[c.region],
            COMPANY_SIZES[c.size],
            INDUSTRIES[c.industry],
        ])?;
    }
    finish_csv(w, &path)?;
    Ok(FileSummary {
        file: "customers.csv".into(),
        rows: customers.len() as u64,
    })
}

fn write_subscriptions(
    out: &Path,
    customers: &[Customer],
    subs: &[Subscription],
) -> Result<FileSummary, DemoError> {
    let path = out.join("subscriptions.csv");
    let mut w = csv_file(&path, "subscriptions", &[])?;
    for (i, s) in subs.iter().enumerate() {
        w.write_record([
            format!("SUB{:06}", i + 1).as_str(),
            &customers[s.customer].id,
            &money(s.mrr_cents),
            &s.start.to_string(),
            &s.end.map(|d| d.to_string()).unwrap_or_default(),
            PLANS[s.plan],
        ])?;
    }
    finish_csv(w, &path)?;
    Ok(FileSummary {
        file: "subscriptions.csv".into(),
        rows: subs.len() as u64,
    })
}

fn write_refunds(out: &Path, mut refunds: Vec<Refund>) -> Result<FileSummary, DemoError> {
    refunds.sort_by(|a, b| (a.date, &a.order_id).cmp(&(b.date, &b.order_id)));
    let path = out.join("refunds.csv");
    let mut w = csv_file(&path, "refunds", &[])?;
    for (i, r) in refunds.iter().enumerate() {
        w.write_record([
            format!("R{:06}", i + 1).as_str(),
            &r.order_id,
            &r.date.to_string(),
            &money(r.cents),
        ])?;
    }
    finish_csv(w, &path)?;
    Ok(FileSummary {
        file: "refunds.csv".into(),
        rows: refunds.len() as u64,
    })
}

/// Monthly finance export: hosting (COGS) grows with the active base, opex with the
/// team, tax with revenue. A month only partly covered is prorated.
fn write_costs(
    out: &Path,
    months: &BTreeMap<NaiveDate, MonthTotals>,
    start: NaiveDate,
) -> Result<FileSummary, DemoError> {
    let path = out.join("costs.csv");
    let mut w = csv_file(&path, "costs", &[])?;
    let mut rows = 0;
    for (i, (first, totals)) in months.iter().enumerate() {
        let next = first
            .checked_add_months(chrono::Months::new(1))
            .unwrap_or(*first);
        let in_month = (next - *first).num_days() as f64;
        let from = (*first).max(start);
        let to = (next - Days::new(1)).min(END_DATE);
        let covered = ((to - from).num_days() + 1) as f64 / in_month;
        let avg_active = totals.active_customer_days as f64 / (covered * in_month).max(1.0);
        let team = 1.015_f64.powi(i as i32);
        for (category, amount) in [
            ("cogs", (3_500.0 + 1.6 * avg_active) * covered),
            ("opex", 21_000.0 * team * covered),
            ("tax", totals.gross_cents as f64 / 100.0 * 0.06),
            ("other", (900.0 + 40.0 * (i % 5) as f64) * covered),
        ] {
            rows += 1;
            w.write_record([from.to_string().as_str(), category, &money(cents(amount))])?;
        }
    }
    finish_csv(w, &path)?;
    Ok(FileSummary {
        file: "costs.csv".into(),
        rows,
    })
}

/// Two-week sprints: features, tasks and bugs with committed and delivered dates. The
/// sprints before the launch slip; after it, bugs escape to production.
fn write_work_items(out: &Path, start: NaiveDate, r: &mut Rng) -> Result<FileSummary, DemoError> {
    let path = out.join("work_items.csv");
    let mut w = csv_file(&path, "work_items", &[])?;
    let mut sprint = start;
    while sprint.weekday() != chrono::Weekday::Mon {
        sprint = sprint.succ_opt().unwrap_or(sprint);
    }
    let mut number = 1000;
    let mut rows = 0;
    while sprint <= END_DATE {
        let committed = sprint + Days::new(11);
        let crunch = sprint < LAUNCH_DATE && sprint + Days::new(42) >= LAUNCH_DATE;
        let after_launch = sprint + Days::new(7) >= LAUNCH_DATE;
        let bugs = if after_launch { 8 } else { 3 + r.below(2) };
        let kinds = std::iter::repeat_n("feature", if crunch { 5 } else { 3 })
            .chain(std::iter::repeat_n("task", 4))
            .chain(std::iter::repeat_n("bug", bugs as usize));
        for kind in kinds {
            number += 1;
            let (created, points, found) = match kind {
                "feature" => (
                    sprint - Days::new(10 + r.below(50)),
                    [3, 5, 8, 13][r.below(4) as usize],
                    "",
                ),
                "task" => (
                    sprint - Days::new(r.below(20)),
                    [1, 2, 3][r.below(3) as usize],
                    "",
                ),
                _ => {
                    let production = r.chance(if after_launch { 0.65 } else { 0.25 });
                    (
                        (sprint + Days::new(r.below(9))).min(END_DATE),
                        [1, 2, 3][r.below(3) as usize],
                        if production {
                            "production"
                        } else {
                            "pre_release"
                        },
                    )
                }
            };
            let on_time = r.chance(if crunch { 0.55 } else { 0.82 });
            let delivered = if on_time {
                committed - Days::new(r.below(5))
            } else {
                committed + Days::new(1 + r.below(9))
            };
            let delivered = delivered.max(created);
            rows += 1;
            w.write_record([
                format!("APP-{number}").as_str(),
                kind,
                &created.to_string(),
                &committed.to_string(),
                &(if delivered <= END_DATE {
                    delivered.to_string()
                } else {
                    String::new()
                }),
                &points.to_string(),
                found,
            ])?;
        }
        sprint = sprint + Days::new(14);
    }
    finish_csv(w, &path)?;
    Ok(FileSummary {
        file: "work_items.csv".into(),
        rows,
    })
}

fn write_annotations(out: &Path, start: NaiveDate) -> Result<FileSummary, DemoError> {
    let path = out.join("annotations.csv");
    let mut w = csv_file(&path, "annotations", &[])?;
    let mut rows = 0;
    let opening = (
        start,
        "General availability: beta accounts move over".to_string(),
    );
    for (date, label) in std::iter::once(opening).chain(annotations()) {
        if date >= start && date <= END_DATE {
            rows += 1;
            w.write_record([date.to_string().as_str(), &label])?;
        }
    }
    finish_csv(w, &path)?;
    Ok(FileSummary {
        file: "annotations.csv".into(),
        rows,
    })
}

/// A hand-maintained export from the old shop, as every company has one: mostly fine,
/// with the mistakes such files carry (a revenue of "n/a", a European date, a negative
/// amount). Importing it shows rejected rows with their reasons in the Data pane.
fn write_legacy_orders(out: &Path, customers: &[Customer]) -> Result<FileSummary, DemoError> {
    let path = out.join("orders_legacy.csv");
    let mut w = csv_file(&path, "orders", &[])?;
    let early: Vec<&Customer> = customers.iter().take(12).collect();
    let mut rows = 0;
    for (i, c) in early.iter().enumerate() {
        let day = c.signup + Days::new(3 + i as u64);
        let (date, revenue) = match i {
            3 => (day.format("%d/%m/%Y").to_string(), "42.00".to_string()),
            7 => (day.to_string(), "n/a".to_string()),
            10 => (day.to_string(), "-15.00".to_string()),
            _ => (day.to_string(), money(cents(c.basket))),
        };
        rows += 1;
        w.write_record([
            format!("LEG-{:04}", i + 1).as_str(),
            &c.id,
            &date,
            &revenue,
            "completed",
            CHANNELS[c.channel],
            "0.00",
            &money(cents(c.basket * 0.4)),
        ])?;
    }
    finish_csv(w, &path)?;
    Ok(FileSummary {
        file: "orders_legacy.csv".into(),
        rows,
    })
}

/// KPIs computed elsewhere: daily uptime per service, weekly app-store rating per store.
fn write_metrics(out: &Path, start: NaiveDate, r: &mut Rng) -> Result<FileSummary, DemoError> {
    let path = out.join("metrics.csv");
    let mut w = csv_file(&path, "metrics", &[])?;
    let mut rows = 0;
    let incidents = annotations();
    for day in start.iter_days().take_while(|d| *d <= END_DATE) {
        let incident = incidents
            .iter()
            .any(|(d, label)| *d == day && label.starts_with("Incident"));
        for (segment, base) in [("api", 99.96), ("web", 99.93)] {
            let down = if incident {
                r.between(1.5, 3.0)
            } else {
                r.between(0.0, 0.08)
            };
            rows += 1;
            w.write_record([
                day.to_string().as_str(),
                "uptime_pct",
                &format!("{:.3}", (base - down).min(100.0)),
                segment,
            ])?;
        }
        if day.weekday() == chrono::Weekday::Sun {
            for (segment, base) in [("ios", 4.6), ("android", 4.4)] {
                let rating =
                    base + 0.1 * progress(day, start) - rating_drop(day) + r.between(-0.03, 0.03);
                rows += 1;
                w.write_record([
                    day.to_string().as_str(),
                    "app_rating",
                    &format!("{rating:.2}"),
                    segment,
                ])?;
            }
        }
    }
    finish_csv(w, &path)?;
    Ok(FileSummary {
        file: "metrics.csv".into(),
        rows,
    })
}
