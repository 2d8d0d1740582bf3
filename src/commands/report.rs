//! `kpi report`: prints the readout in markdown, HTML, JSON or CSV.

use std::io::Write;
use std::process::ExitCode;

use anyhow::Context;
use chrono::NaiveDate;

use crate::cli::{ReportArgs, ReportFormat, StoreArgs};
use crate::config::Config;
use crate::metrics;
use crate::present;
use crate::report::{self, ReportOptions};
use crate::store::Store;

pub fn run(
    store: &StoreArgs,
    args: &ReportArgs,
    as_of: Option<NaiveDate>,
) -> anyhow::Result<ExitCode> {
    if !store.db.exists() {
        anyhow::bail!(
            "no store at {}: import files first (`kpi import --db {} FILE…`)",
            store.db.display(),
            store.db.display()
        );
    }
    let config = Config::load_for(&store.db, store.config.as_deref())?;
    let db = Store::open_for_reading(&store.db)
        .with_context(|| format!("cannot open store {}", store.db.display()))?;
    crate::metric_ids::check_config(
        &config,
        Config::source_for(&store.db, store.config.as_deref()).as_deref(),
        &metrics::catalog(&db)?,
    )?;
    let options = ReportOptions {
        grain: args.grain,
        metrics: args.metrics.clone(),
        by: args.by.clone(),
        from: args.from,
        to: args.to,
        period: args
            .period
            .as_deref()
            .map(|p| report::parse_period(p, args.grain))
            .transpose()?,
        as_of,
    };
    let built = report::build(&db, &config, &options)?;
    let mut out = present::stdout();
    match args.format {
        ReportFormat::Md => out.write_all(report::to_markdown(&built).as_bytes())?,
        ReportFormat::Html => out.write_all(report::to_html(&built).as_bytes())?,
        ReportFormat::Json => {
            out.write_all(present::to_json_pretty(&report::to_json(&built))?.as_bytes())?;
            out.write_all(b"\n")?;
        }
        ReportFormat::Csv => report::write_csv(&built, &mut out).context("writing CSV")?,
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}
