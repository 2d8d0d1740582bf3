//! Deterministic demo data: input files for every table, and a live launch-day feed.
//!
//! `generate` writes a believable product's last two years (see `scenario` for the
//! story), `generate_scaled` streams millions of orders for benchmarks, and `run_live`
//! keeps appending launch-day rows the way an exporter would.

mod generate;
mod rng;
pub mod scenario;
mod write;

pub use generate::{DemoOptions, FileSummary, customer_id, generate};
mod live;
pub use live::{LIVE_FILES, LiveOptions, LiveSummary, live_customer_id, run_live};
mod scale;
pub use scale::generate_scaled;
