//! The generated files the import and sync benches load: orders of 100 k customers or
//! events of 200 k users over two years, the same rows for the same size.

use std::io::{BufWriter, Write};
use std::path::Path;

pub const CUSTOMERS: u64 = 100_000;
pub const USERS: u64 = 200_000;

/// Orders of 100 k customers over two years, or events of 200 k users: integer ids (so
/// that the plain table's integer key takes them), cents amounts, UTC timestamps.
pub fn generate(table: &str, path: &Path, rows: u64) {
    let mut out = BufWriter::with_capacity(1 << 20, std::fs::File::create(path).unwrap());
    let channels = ["organic", "paid_search", "social", "email", "referral"];
    let statuses = [
        "completed",
        "completed",
        "completed",
        "cancelled",
        "pending",
    ];
    let names = [
        "page_view",
        "page_view",
        "page_view",
        "feature_used",
        "login",
        "signup",
    ];
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    if table == "orders" {
        writeln!(
            out,
            "order_id,customer_id,order_date,revenue,status,channel,discount,cost"
        )
        .unwrap();
    } else {
        writeln!(out, "event_id,user_id,ts,name,session_id,page,duration_s").unwrap();
    }
    let start = chrono::NaiveDate::from_ymd_opt(2024, 1, 1)
        .unwrap()
        .and_hms_opt(0, 0, 0)
        .unwrap();
    for i in 0..rows {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        if table == "orders" {
            let (y, m, d) = civil(i * 730 / rows.max(1));
            writeln!(
                out,
                "{},{},{y:04}-{m:02}-{d:02},{}.{:02},{},{},{}.00,{}.{:02}",
                i + 1,
                1 + x % CUSTOMERS,
                10 + x % 490,
                x % 100,
                statuses[(x >> 8) as usize % 5],
                channels[(x >> 16) as usize % 5],
                (x >> 24) % 5,
                3 + (x >> 32) % 100,
                (x >> 40) % 100,
            )
            .unwrap();
        } else {
            let at = start + chrono::Duration::seconds((i * 730 * 86_400 / rows.max(1)) as i64);
            writeln!(
                out,
                "{},{},{},{},{},/p{},{}",
                i + 1,
                1 + x % USERS,
                at.format("%Y-%m-%dT%H:%M:%SZ"),
                names[(x >> 8) as usize % names.len()],
                1 + (x >> 16) % 500_000,
                (x >> 24) % 50,
                (x >> 32) % 600,
            )
            .unwrap();
        }
    }
    out.flush().unwrap();
}

/// Day `n` after 2024-01-01 as (year, month, day).
pub fn civil(n: u64) -> (u64, u64, u64) {
    let date = chrono::NaiveDate::from_ymd_opt(2024, 1, 1).unwrap() + chrono::Days::new(n);
    use chrono::Datelike;
    (
        date.year() as u64,
        u64::from(date.month()),
        u64::from(date.day()),
    )
}
