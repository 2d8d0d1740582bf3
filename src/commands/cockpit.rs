use std::path::Path;
use std::process::ExitCode;

use chrono::NaiveDate;

use crate::cli::{StoreArgs, WatchArgs};

pub fn run(
    _store: &StoreArgs,
    _watch: Option<&Path>,
    _watch_opts: &WatchArgs,
    _as_of: Option<NaiveDate>,
) -> anyhow::Result<ExitCode> {
    anyhow::bail!("the cockpit is not built yet")
}
