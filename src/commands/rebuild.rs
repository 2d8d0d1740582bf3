//! `kpi rebuild`: every rollup computed again from the raw rows, in one transaction.

use std::io::{IsTerminal, Write};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;

use crate::cli::{RebuildArgs, StoreArgs};
use crate::present;
use crate::store::Store;
use crate::store::rollup;

use super::import::ProgressBar;

pub fn run(store_args: &StoreArgs, args: &RebuildArgs) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    let mut store = Store::open(&store_args.db)
        .with_context(|| format!("cannot open store {}", store_args.db.display()))?;
    let mut out = present::stdout();
    let show_progress = std::io::stdout().is_terminal() && !args.quiet;
    let mut bar = ProgressBar::new("rebuilding the rollups".into(), show_progress);
    let result = rollup::rebuild_all(&mut store, &mut |step, done, total| {
        bar.draw_step(&mut out, step, done, total);
    });
    bar.clear(&mut out);
    result.with_context(|| format!("cannot rebuild the rollups of {}", store_args.db.display()))?;
    writeln!(
        out,
        "{}: rollups rebuilt from the raw rows in {:.2} s",
        store_args.db.display(),
        started.elapsed().as_secs_f64()
    )?;
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}
