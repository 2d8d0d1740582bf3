use std::process::ExitCode;

use crate::cli::{ImportArgs, StoreArgs};

pub fn run(_store: &StoreArgs, _args: &ImportArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`kpi import` is not built yet")
}
