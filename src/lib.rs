//! kpi — a terminal KPI cockpit for product managers.
//!
//! Data flows one way, and the module tree follows it:
//!
//! ```text
//! import/  readers (CSV, NDJSON, JSON) → validated typed rows
//!    ↓
//! store/   SQLite schema, migrations, upserts, rollups, import log (the only writer)
//!    ↓
//! metrics/ the catalog: one definition per metric, computed from the store
//!    ↓
//! alerts/  deviations, tiers, pulse, contributions, targets, follow-ups
//!    ↓
//! snapshot everything one screen or report shows, computed once
//!    ↓
//! ui/ and commands/   the cockpit and the headless commands
//! ```
//!
//! `watch/` feeds file changes back into `import/`; `demo/` writes input files;
//! `notify/` sends open alerts out (webhooks, Slack, mail) and logs it in `store/`.
//! `present` is the one way data strings and numbers reach a terminal, a spreadsheet or a
//! pipe.

pub mod alerts;
pub mod cli;
pub mod commands;
pub mod config;
pub mod dates;
pub mod demo;
pub mod import;
pub mod metric_ids;
pub mod metrics;
pub mod notify;
pub mod present;
pub mod report;
pub mod snapshot;
pub mod store;
#[cfg(feature = "cluster")]
pub mod sync;
pub mod ui;
pub mod watch;
