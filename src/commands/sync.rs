//! `kpi sync`: a line per imported file of the tables kept whole, then one for the
//! rollups; with `--follow`, again whenever the exports change (the rollups of the days
//! whose rows changed).

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, SystemTime};

use std::io::Write;

use anyhow::Context;

use crate::cli::{StoreArgs, SyncArgs};
use crate::config::Config;
use crate::present;
use crate::store::Store;
use crate::sync::{SyncOptions, feeds_the_engine, sync, sync_changed, sync_tables_kept_whole};

pub fn run(store_args: &StoreArgs, args: &SyncArgs) -> anyhow::Result<ExitCode> {
    let config = Config::load_for(&store_args.db, store_args.config.as_deref())?;
    let mut store = Store::open(&store_args.db)
        .with_context(|| format!("cannot open store {}", store_args.db.display()))?;
    let options = SyncOptions {
        cluster: args.cluster.clone(),
        partitions: args.partitions,
        memory_mb: args.memory_mb,
        config,
    };
    // File names, header names and values of the imported exports reach these lines.
    let mut out = present::stdout();
    let mut seen = fingerprint(&args.source);
    let mut report = sync(&mut store, &args.source, &options)?;
    loop {
        writeln!(out, "{report}")?;
        if !args.follow {
            return Ok(ExitCode::SUCCESS);
        }
        let now = loop {
            std::thread::sleep(Duration::from_secs(args.interval.max(1)));
            let now = fingerprint(&args.source);
            if now != seen {
                break now;
            }
        };
        // The rollups are computed again only when an export the engine reads changed,
        // and then for the days whose rows changed.
        let before = engine_exports(&args.source, &seen);
        let after = engine_exports(&args.source, &now);
        let engine_changed = before != after;
        let changed: Vec<PathBuf> = after
            .iter()
            .filter(|entry| !before.contains(entry))
            .map(|(path, _, _)| path.clone())
            .collect();
        report = if engine_changed {
            sync_changed(&mut store, &args.source, &options, &changed)?
        } else {
            sync_tables_kept_whole(&mut store, &args.source, &options)?
        };
        seen = now;
    }
}

type Fingerprint = Vec<(std::path::PathBuf, u64, Option<SystemTime>)>;

/// The entries of `all` that the engine reads.
fn engine_exports<'f>(
    source: &Path,
    all: &'f Fingerprint,
) -> Vec<&'f (std::path::PathBuf, u64, Option<SystemTime>)> {
    all.iter()
        .filter(|(path, _, _)| feeds_the_engine(source, path))
        .collect()
}

/// Every file under `dir` with its size and modification time: a new, changed or removed
/// export changes it.
fn fingerprint(dir: &Path) -> Fingerprint {
    let mut out = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(folder) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&folder) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            match entry.metadata() {
                Ok(meta) if meta.is_dir() => pending.push(path),
                Ok(meta) => out.push((path, meta.len(), meta.modified().ok())),
                Err(_) => {}
            }
        }
    }
    out.sort();
    out
}
