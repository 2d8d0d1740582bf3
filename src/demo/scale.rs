//! `kpi demo --orders N`: a customers file and an orders file of N rows for the
//! benchmarks, streamed row by row so that memory stays flat at 10 million orders.
//!
//! Customer k signs up on day k·S/C of the S covered days; order i falls on day i·S/N
//! and goes to a customer who had signed up by then, so no lookup table is needed to
//! keep the files consistent.

use super::DemoError;
use std::path::Path;

use chrono::Days;

use super::generate::{FileSummary, customer_id};
use super::rng::Rng;
use super::scenario::*;
use super::write::{cents, csv_file, finish_csv, money};

/// Orders per customer in scale mode.
const ORDERS_PER_CUSTOMER: u64 = 12;

pub fn generate_scaled(
    out: &Path,
    seed: u64,
    min_customers: u32,
    months: u32,
    orders: u64,
) -> Result<Vec<FileSummary>, DemoError> {
    std::fs::create_dir_all(out)?;
    let start = start_date(months);
    let span = (END_DATE - start).num_days() as u64 + 1;
    let customers = u64::from(min_customers)
        .max(orders.div_ceil(ORDERS_PER_CUSTOMER))
        .max(1);
    let mut rng = Rng::stream(seed, "scale");

    let customers_path = out.join("customers.csv");
    let mut w = csv_file(&customers_path, "customers", &[])?;
    let mut record = csv::StringRecord::new();
    for k in 0..customers {
        let day = start + Days::new(k * span / customers);
        record.clear();
        record.push_field(&customer_id(k as usize));
        record.push_field(&day.to_string());
        record.push_field(CHANNELS[rng.weighted(&CHANNEL_MIX)]);
        record.push_field(PLANS[rng.weighted(&PLAN_MIX)]);
        record.push_field(REGIONS[rng.weighted(&REGION_MIX)]);
        w.write_record(&record)?;
    }
    finish_csv(w, &customers_path)?;

    let orders_path = out.join("orders.csv");
    let mut w = csv_file(&orders_path, "orders", &[])?;
    for i in 0..orders {
        let day_index = i * span / orders.max(1);
        // Customers signed up by this day: k·span/customers ≤ day_index.
        let signed_up = (day_index * customers / span + 1).min(customers);
        let who = rng.below(signed_up);
        let day = start + Days::new(day_index);
        let list = cents(55.0 * rng.log_normal(1.0, 0.45) * order_season(day)).max(100);
        let discount = if rng.chance(0.12) { list / 10 } else { 0 };
        let revenue = list - discount;
        let status = if rng.chance(0.035) {
            "cancelled"
        } else if rng.chance(0.005) {
            "pending"
        } else {
            "completed"
        };
        record.clear();
        record.push_field(&format!("O{:08}", i + 1));
        record.push_field(&customer_id(who as usize));
        record.push_field(&day.to_string());
        record.push_field(&money(revenue));
        record.push_field(status);
        record.push_field(CHANNELS[rng.weighted(&CHANNEL_MIX)]);
        record.push_field(&money(discount));
        record.push_field(&money(cents(
            revenue as f64 / 100.0 * rng.between(0.36, 0.46),
        )));
        w.write_record(&record)?;
    }
    finish_csv(w, &orders_path)?;
    Ok(vec![
        FileSummary {
            file: "customers.csv".into(),
            rows: customers,
        },
        FileSummary {
            file: "orders.csv".into(),
            rows: orders,
        },
    ])
}
