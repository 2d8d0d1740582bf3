//! `kpi [--db FILE]`: opens the cockpit on a store.

use std::path::Path;
use std::process::ExitCode;

use anyhow::bail;
use chrono::NaiveDate;

use crate::cli::{StoreArgs, WatchArgs};
use crate::config::Config;
use crate::ui::run::{self, Exit, Options};
use crate::watch::WatchOptions;

pub fn run(
    store: &StoreArgs,
    watch: Option<&Path>,
    watch_opts: &WatchArgs,
    as_of: Option<NaiveDate>,
    mouse: bool,
) -> anyhow::Result<ExitCode> {
    // Opening would create an empty store, hiding a mistyped path behind a blank screen.
    // With --watch an empty store is the point: the folder fills it.
    if !store.db.exists() && watch.is_none() {
        bail!(
            "no store at {} — create one with `kpi import --db {} FILE…` (or `kpi demo`)",
            store.db.display(),
            store.db.display()
        );
    }
    let config = Config::load_for(&store.db, store.config.as_deref())?;
    // A store --watch is about to create holds no external metrics yet: its ids are
    // checked once there is a store to know them.
    if store.db.exists() {
        let catalog = crate::metrics::catalog(&crate::store::Store::open_for_reading(&store.db)?)?;
        crate::metric_ids::check_config(
            &config,
            Config::source_for(&store.db, store.config.as_deref()).as_deref(),
            &catalog,
        )?;
    }
    if let Some(dir) = watch
        && !dir.is_dir()
    {
        bail!("cannot watch {}: not a folder", dir.display());
    }
    let watch = watch.map(|dir| {
        let options = WatchOptions {
            poll: watch_opts.poll,
            recursive: watch_opts.recursive,
            ..WatchOptions::default()
        };
        (dir.to_path_buf(), options)
    });
    // The cockpit sends notifications only while it watches; a readable token is worth
    // saying before it does.
    let notice = watch.as_ref().and_then(|_| {
        let source = Config::source_for(&store.db, store.config.as_deref());
        let warnings = crate::notify::literal_url_warnings(source.as_deref(), &config);
        (!warnings.is_empty()).then(|| warnings.join(" "))
    });
    let exit = run::run(Options {
        db: store.db.clone(),
        config,
        config_file: store.config.clone(),
        as_of,
        notice,
        watch,
        mouse,
    })?;
    Ok(match exit {
        Exit::Quit => ExitCode::SUCCESS,
        // The shell convention for a process ended by a signal.
        Exit::Signal(signal) => ExitCode::from(u8::try_from(128 + signal).unwrap_or(u8::MAX)),
    })
}
