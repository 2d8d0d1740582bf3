#![allow(clippy::unwrap_used)]
//! `kpi demo --orders N`: exactly N orders, each by a customer who had signed up.

use std::collections::HashMap;

#[test]
fn scale_mode_writes_exactly_n_orders_by_known_customers() {
    let dir = tempfile::tempdir().unwrap();
    let files = kpi::demo::generate_scaled(dir.path(), 9, 10, 24, 25_000).unwrap();
    let mut signup = HashMap::new();
    let mut reader = csv::Reader::from_path(dir.path().join("customers.csv")).unwrap();
    for r in reader.records() {
        let r = r.unwrap();
        signup.insert(r[0].to_string(), r[1].to_string());
    }
    let mut reader = csv::Reader::from_path(dir.path().join("orders.csv")).unwrap();
    let mut orders = 0;
    for r in reader.records() {
        let r = r.unwrap();
        let since = &signup[&r[1]];
        assert!(r[2] >= *since.as_str(), "order {} before signup", &r[0]);
        orders += 1;
    }
    assert_eq!(orders, 25_000);
    assert_eq!(files[1].rows, 25_000);
    assert_eq!(files[0].rows as usize, signup.len());
    assert!(signup.len() >= 25_000 / 12);
}
