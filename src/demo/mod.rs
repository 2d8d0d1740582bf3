//! Deterministic demo data: input files for every table, and a live launch-day feed.
//!
//! `generate` writes a believable product's last two years (see `scenario` for the
//! story), `generate_scaled` streams millions of orders for benchmarks, and `run_live`
//! keeps appending launch-day rows the way an exporter would.

mod generate;

use std::path::{Path, PathBuf};

/// Why demo data could not be written.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error("cannot {action} {}: {source}", path.display())]
    File {
        action: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Csv(#[from] csv::Error),
    #[error(transparent)]
    Json(#[from] serde_json::Error),
}

impl DemoError {
    /// Names the file an I/O failure was about: `cannot create out/orders.csv: …`.
    pub fn at(action: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> DemoError {
        let path = path.to_path_buf();
        move |source| DemoError::File {
            action,
            path,
            source,
        }
    }
}
mod rng;
pub mod scenario;
mod write;

pub use generate::{DemoOptions, FileSummary, customer_id, generate};
mod live;
pub use live::{LIVE_FILES, LiveOptions, LiveSummary, live_customer_id, run_live};
mod scale;
pub use scale::generate_scaled;
