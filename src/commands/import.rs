//! `kpi import`: one line per file — table, rows read, upserted, rejected, time — and a
//! non-zero exit when any file could not be imported.

use std::io::{IsTerminal, Stdout, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use anyhow::Context;
use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};

use crate::cli::WatchArgs;
use crate::cli::{ImportArgs, StoreArgs};
use crate::config::Config;
use crate::import::{ImportOptions, import_file_with_progress};
use crate::present::{self, TerminalWriter};
use crate::store::Store;
use crate::watch::{self, WatchOptions};

use super::EXIT_ERROR;

/// Files smaller than this import too fast for a progress bar to help.
const PROGRESS_MIN_BYTES: u64 = 4 * 1024 * 1024;

pub fn run(store_args: &StoreArgs, args: &ImportArgs) -> anyhow::Result<ExitCode> {
    if args.paths.is_empty() && args.watch.is_none() {
        anyhow::bail!("nothing to import: name one or more files (kpi import FILE…)");
    }
    let config = Config::load_for(&store_args.db, store_args.config.as_deref())?;
    let mut store = Store::open(&store_args.db)
        .with_context(|| format!("cannot open store {}", store_args.db.display()))?;
    let options = ImportOptions {
        table: args.table.clone(),
        strict: args.strict,
        config,
        file_is_complete: true,
    };
    if let Some(dir) = &args.watch {
        return follow(&mut store, dir, &args.watch_opts, &options);
    }
    let terminal = std::io::stdout().is_terminal();
    // File names, header names and values from the files reach these lines.
    let mut out = present::stdout();
    let mut errors = present::stderr();
    let mut failed = 0;
    for path in expand(&args.paths)? {
        let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
        let mut bar = ProgressBar::new(&path, terminal && size >= PROGRESS_MIN_BYTES);
        let result = import_file_with_progress(&mut store, &path, &options, &mut |done, total| {
            bar.draw(&mut out, done, total);
        });
        bar.clear(&mut out);
        match result {
            Ok(report) => writeln!(out, "{report}")?,
            Err(err) => {
                writeln!(errors, "kpi: {err}")?;
                failed += 1;
            }
        }
    }
    out.flush()?;
    Ok(if failed > 0 {
        ExitCode::from(EXIT_ERROR)
    } else {
        ExitCode::SUCCESS
    })
}

/// `kpi import --watch DIR`: keeps the store current without a screen until SIGINT,
/// SIGTERM or SIGHUP.
fn follow(
    store: &mut Store,
    dir: &Path,
    watch_args: &WatchArgs,
    options: &ImportOptions,
) -> anyhow::Result<ExitCode> {
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [SIGINT, SIGTERM, SIGHUP] {
        signal_hook::flag::register(signal, Arc::clone(&stop))?;
    }
    let watch = WatchOptions {
        poll: watch_args.poll,
        recursive: watch_args.recursive,
        ..WatchOptions::default()
    };
    // `options.file_is_complete` plays no part here: the watch loop decides it per import
    // (`watch::follow::Follower`) — a change imports its complete lines, and a last line
    // without its newline is imported once the file stayed unchanged for the settle time.
    watch::follow::run_headless(store, dir, &watch, options, &mut present::stdout(), &stop)?;
    Ok(ExitCode::SUCCESS)
}

/// A folder stands for the input files in it (see `watch::is_input`), in name order.
fn expand(paths: &[PathBuf]) -> anyhow::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for path in paths {
        if path.is_dir() {
            out.extend(
                watch::scan(path, false)
                    .with_context(|| format!("cannot list {}", path.display()))?,
            );
        } else {
            out.push(path.clone());
        }
    }
    Ok(out)
}

/// A one-line bar on the terminal, redrawn at most ten times a second.
struct ProgressBar {
    label: String,
    enabled: bool,
    drawn: bool,
    last: Option<Instant>,
}

impl ProgressBar {
    fn new(path: &Path, enabled: bool) -> Self {
        Self {
            label: path.display().to_string(),
            enabled,
            drawn: false,
            last: None,
        }
    }

    fn draw(&mut self, out: &mut TerminalWriter<Stdout>, done: u64, total: u64) {
        if !self.enabled || total == 0 {
            return;
        }
        if self
            .last
            .is_some_and(|t| t.elapsed() < Duration::from_millis(100))
        {
            return;
        }
        self.last = Some(Instant::now());
        const WIDTH: u64 = 30;
        let filled = (done.min(total) * WIDTH / total) as usize;
        // A bar that cannot be drawn is no reason to stop the import.
        let _ = out.redraw_line(&format!(
            "{} [{}{}] {:>3}%  {:.1}/{:.1} MB",
            self.label,
            "#".repeat(filled),
            "-".repeat(WIDTH as usize - filled),
            done.min(total) * 100 / total,
            done as f64 / 1e6,
            total as f64 / 1e6
        ));
        self.drawn = true;
    }

    fn clear(&mut self, out: &mut TerminalWriter<Stdout>) {
        if self.drawn {
            let _ = out.redraw_line("");
            self.drawn = false;
        }
    }
}
