use std::process::ExitCode;

use chrono::NaiveDate;

use crate::cli::{CheckArgs, StoreArgs};

pub fn run(
    _store: &StoreArgs,
    _args: &CheckArgs,
    _as_of: Option<NaiveDate>,
) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`kpi check` is not built yet")
}
