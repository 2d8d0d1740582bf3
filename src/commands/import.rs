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
use crate::import::{ImportOptions, ImportProgress, import_file_with_progress};
use crate::metrics::Unit;
use crate::present::{self, TerminalWriter};
use crate::store::Store;
use crate::watch::{self, WatchOptions};

use super::EXIT_ERROR;

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
    let show_progress = std::io::stdout().is_terminal() && !args.quiet;
    // File names, header names and values from the files reach these lines.
    let mut out = present::stdout();
    let mut errors = present::stderr();
    let mut failed = 0;
    for path in expand(&args.paths)? {
        let mut bar = ProgressBar::new(path.display().to_string(), show_progress);
        let result = import_file_with_progress(&mut store, &path, &options, &mut |at| {
            bar.draw_import(&mut out, at);
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

/// A one-line bar on the terminal for work that runs longer than a second: redrawn at
/// most ten times a second, cleared before the line that reports the outcome.
pub(super) struct ProgressBar {
    label: String,
    enabled: bool,
    drawn: bool,
    started: Instant,
    last: Option<Instant>,
}

/// Work done within this time needs no bar.
const PROGRESS_AFTER: Duration = Duration::from_secs(1);

impl ProgressBar {
    pub(super) fn new(label: String, enabled: bool) -> Self {
        Self {
            label,
            enabled,
            drawn: false,
            started: Instant::now(),
            last: None,
        }
    }

    fn due(&mut self) -> bool {
        if !self.enabled || self.started.elapsed() < PROGRESS_AFTER {
            return false;
        }
        if self
            .last
            .is_some_and(|t| t.elapsed() < Duration::from_millis(100))
        {
            return false;
        }
        self.last = Some(Instant::now());
        true
    }

    /// `file [#####-----]  45%  1.2 M rows  850 k rows/s  120/260 MB  3 s left`
    fn draw_import(&mut self, out: &mut TerminalWriter<Stdout>, at: ImportProgress) {
        if at.bytes_total == 0 || !self.due() {
            return;
        }
        const WIDTH: u64 = 30;
        let done = at.bytes_done.min(at.bytes_total);
        let filled = (done * WIDTH / at.bytes_total) as usize;
        let secs = self.started.elapsed().as_secs_f64();
        let left = if done > 0 {
            format!(
                "{:.0} s left",
                secs * (at.bytes_total - done) as f64 / done as f64
            )
        } else {
            String::new()
        };
        self.draw(
            out,
            &format!(
                "{} [{}{}] {:>3}%  {} rows  {} rows/s  {:.0}/{:.0} MB  {left}",
                self.label,
                "#".repeat(filled),
                "-".repeat(WIDTH as usize - filled),
                done * 100 / at.bytes_total,
                present::compact(at.rows as f64, Unit::Count),
                present::compact(at.rows as f64 / secs.max(1e-3), Unit::Count),
                done as f64 / 1e6,
                at.bytes_total as f64 / 1e6
            ),
        );
    }

    /// `label: step (2/5)  12 s`
    pub(super) fn draw_step(
        &mut self,
        out: &mut TerminalWriter<Stdout>,
        step: &str,
        done: usize,
        total: usize,
    ) {
        if self.due() {
            let secs = self.started.elapsed().as_secs();
            let line = format!("{}: {step} ({}/{total})  {secs} s", self.label, done + 1);
            self.draw(out, &line);
        }
    }

    fn draw(&mut self, out: &mut TerminalWriter<Stdout>, line: &str) {
        // A bar that cannot be drawn is no reason to stop the work.
        let _ = out.redraw_line(line);
        self.drawn = true;
    }

    pub(super) fn clear(&mut self, out: &mut TerminalWriter<Stdout>) {
        if self.drawn {
            let _ = out.redraw_line("");
            self.drawn = false;
        }
    }
}
