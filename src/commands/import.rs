//! `kpi import`: one line per file — table, rows read, upserted, rejected, time — and a
//! non-zero exit when any file could not be imported.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::Context;

use crate::cli::{ImportArgs, StoreArgs};
use crate::config::Config;
use crate::import::{ImportOptions, ImportReport, import_file_with_progress};
use crate::store::Store;

use super::EXIT_ERROR;

/// Files smaller than this import too fast for a progress bar to help.
const PROGRESS_MIN_BYTES: u64 = 4 * 1024 * 1024;

pub fn run(store_args: &StoreArgs, args: &ImportArgs) -> anyhow::Result<ExitCode> {
    if args.watch.is_some() {
        anyhow::bail!("--watch: not available yet");
    }
    if args.paths.is_empty() {
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
    let terminal = std::io::stdout().is_terminal();
    let mut failed = 0;
    for path in expand(&args.paths) {
        let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
        let mut bar = ProgressBar::new(&path, terminal && size >= PROGRESS_MIN_BYTES);
        let result = import_file_with_progress(&mut store, &path, &options, &mut |done, total| {
            bar.draw(done, total);
        });
        bar.clear();
        match result {
            Ok(report) => println!("{}", summary_line(&report)),
            Err(err) => {
                eprintln!("kpi: {err}");
                failed += 1;
            }
        }
    }
    Ok(if failed > 0 {
        ExitCode::from(EXIT_ERROR)
    } else {
        ExitCode::SUCCESS
    })
}

/// A folder stands for the files in it (not hidden, not in sub-folders), in name order.
fn expand(paths: &[PathBuf]) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for path in paths {
        let listing = path
            .is_dir()
            .then(|| std::fs::read_dir(path).ok())
            .flatten();
        match listing {
            Some(entries) => {
                let mut files: Vec<PathBuf> = entries
                    .filter_map(|e| e.ok().map(|e| e.path()))
                    .filter(|p| p.is_file())
                    .filter(|p| {
                        !p.file_name()
                            .is_some_and(|n| n.to_string_lossy().starts_with('.'))
                    })
                    .collect();
                files.sort();
                out.extend(files);
            }
            None => out.push(path.clone()),
        }
    }
    out
}

/// `exports/orders.csv: orders, 1000 read, 990 upserted, 2 rejected, 0.12 s (…)`
pub fn summary_line(report: &ImportReport) -> String {
    let mut notes = Vec::new();
    if report.tail {
        notes.push("new rows only".to_string());
    }
    if report.rows_unchanged > 0 {
        notes.push(format!("{} unchanged", report.rows_unchanged));
    }
    if !report.ignored_columns.is_empty() {
        notes.push(format!(
            "ignored columns: {}",
            report.ignored_columns.join(", ")
        ));
    }
    if let Some(rejects) = &report.rejects_file {
        notes.push(format!("rejects: {}", rejects.display()));
    }
    if report.held_back_bytes > 0 {
        notes.push(format!(
            "{} bytes of an unfinished last line left for later",
            report.held_back_bytes
        ));
    }
    notes.extend(report.warnings.iter().cloned());
    let notes = if notes.is_empty() {
        String::new()
    } else {
        format!(" ({})", notes.join("; "))
    };
    format!(
        "{}: {}, {} read, {} upserted, {} rejected, {:.2} s{notes}",
        report.path.display(),
        report.table,
        report.rows_read,
        report.rows_upserted,
        report.rows_rejected,
        report.duration.as_secs_f64()
    )
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

    fn draw(&mut self, done: u64, total: u64) {
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
        let mut out = std::io::stdout();
        let _ = write!(
            out,
            "\r\x1b[2K{} [{}{}] {:>3}%  {:.1}/{:.1} MB",
            self.label,
            "#".repeat(filled),
            "-".repeat(WIDTH as usize - filled),
            done.min(total) * 100 / total,
            done as f64 / 1e6,
            total as f64 / 1e6
        );
        let _ = out.flush();
        self.drawn = true;
    }

    fn clear(&mut self) {
        if self.drawn {
            print!("\r\x1b[2K");
            self.drawn = false;
        }
    }
}
