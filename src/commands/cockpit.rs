//! `kpi [--db FILE]`: opens the cockpit on a store.

use std::path::Path;
use std::process::ExitCode;

use anyhow::bail;
use chrono::NaiveDate;

use crate::cli::{StoreArgs, WatchArgs};
use crate::config::Config;
use crate::ui::run::{self, Exit, Options};

pub fn run(
    store: &StoreArgs,
    watch: Option<&Path>,
    _watch_opts: &WatchArgs,
    as_of: Option<NaiveDate>,
) -> anyhow::Result<ExitCode> {
    // Opening would create an empty store, hiding a mistyped path behind a blank screen.
    if !store.db.exists() {
        bail!(
            "no store at {} — create one with `kpi import --db {} FILE…` (or `kpi demo`)",
            store.db.display(),
            store.db.display()
        );
    }
    let config = Config::load_for(&store.db, store.config.as_deref())?;
    let notice = watch.map(|_| "watch: not available yet".to_string());
    let exit = run::run(Options {
        db: store.db.clone(),
        config,
        as_of,
        notice,
    })?;
    Ok(match exit {
        Exit::Quit => ExitCode::SUCCESS,
        // The shell convention for a process ended by a signal.
        Exit::Signal(signal) => ExitCode::from(u8::try_from(128 + signal).unwrap_or(u8::MAX)),
    })
}
