use std::process::ExitCode;

use chrono::NaiveDate;

use crate::cli::{ReportArgs, StoreArgs};

pub fn run(
    _store: &StoreArgs,
    _args: &ReportArgs,
    _as_of: Option<NaiveDate>,
) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`kpi report` is not built yet")
}
