//! `kpi sync`: a line per imported file of the tables kept whole, then one for the
//! rollups; with `--follow`, again whenever the exports change.

use std::path::Path;
use std::process::ExitCode;
use std::time::{Duration, SystemTime};

use std::io::Write;

use anyhow::Context;

use crate::cli::{StoreArgs, SyncArgs};
use crate::config::Config;
use crate::present;
use crate::store::Store;
use crate::sync::{SyncOptions, sync};

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
    loop {
        let report = sync(&mut store, &args.source, &options)?;
        writeln!(out, "{report}")?;
        if !args.follow {
            return Ok(ExitCode::SUCCESS);
        }
        loop {
            std::thread::sleep(Duration::from_secs(args.interval.max(1)));
            let now = fingerprint(&args.source);
            if now != seen {
                seen = now;
                break;
            }
        }
    }
}

/// Every file under `dir` with its size and modification time: a new, changed or removed
/// export changes it.
fn fingerprint(dir: &Path) -> Vec<(std::path::PathBuf, u64, Option<SystemTime>)> {
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
