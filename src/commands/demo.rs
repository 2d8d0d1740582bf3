//! `kpi demo`: writes the demo data set, a scaled orders file for benchmarks, or a live
//! launch-day feed.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use anyhow::Context;

use crate::cli::{DemoArgs, StoreArgs};
use crate::demo::{self, DemoOptions, FileSummary, LiveOptions};
use crate::present;

pub fn run(args: &DemoArgs, store: &StoreArgs) -> anyhow::Result<ExitCode> {
    if store.db_on_command_line {
        // The demo writes input files, not a store; ignoring --db would leave the user
        // looking for data in a store that was never written.
        let dir = args
            .live
            .as_ref()
            .unwrap_or(&args.out)
            .display()
            .to_string();
        anyhow::bail!(
            "kpi demo writes input files into a folder (--out {dir}), not a store, so --db {} \
             is not used; import them with: kpi import --db {} {dir}/*",
            store.db.display(),
            store.db.display()
        );
    }
    let options = DemoOptions {
        seed: args.seed,
        customers: args.customers,
        months: args.months,
    };
    if let Some(dir) = &args.live {
        return live(dir, args, &options);
    }
    let files = match args.orders {
        Some(orders) => {
            demo::generate_scaled(&args.out, args.seed, args.customers, args.months, orders)?
        }
        None => demo::generate(&args.out, &options)?,
    };
    print_summary(&args.out, &files)?;
    Ok(ExitCode::SUCCESS)
}

fn print_summary(dir: &Path, files: &[FileSummary]) -> std::io::Result<()> {
    let mut out = present::stdout();
    for f in files {
        writeln!(out, "{:>10}  {}", f.rows, dir.join(&f.file).display())?;
    }
    let total: u64 = files.iter().map(|f| f.rows).sum();
    writeln!(out, "{total:>10}  rows in {} files", files.len())?;
    out.flush()
}

/// Seeds DIR with the demo data set when it has none, then feeds it until Ctrl-C or
/// SIGTERM; the feed finishes its batch, so every file ends on a whole line.
fn live(dir: &Path, args: &DemoArgs, options: &DemoOptions) -> anyhow::Result<ExitCode> {
    if args.rate == 0 {
        anyhow::bail!("--rate must be at least 1 row per second");
    }
    if !dir.join("customers.csv").exists() {
        writeln!(
            present::stdout(),
            "writing the demo data set into {} first",
            dir.display()
        )?;
        print_summary(dir, &demo::generate(dir, options)?)?;
    }
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        // Only a flag: the feed stops between batches (within 50 ms), never mid-line.
        signal_hook::flag::register(signal, Arc::clone(&stop))
            .context("cannot install the stop handler")?;
    }
    writeln!(
        present::stdout(),
        "appending launch-day rows to {dir} at {rate} rows/s; Ctrl-C stops\n\
         watch it from another terminal: kpi --db live.db --watch {dir}",
        dir = dir.display(),
        rate = args.rate
    )?;
    let live = LiveOptions {
        seed: args.seed,
        known_customers: args.customers,
        rate: Some(args.rate),
        max_rows: None,
        ..LiveOptions::default()
    };
    let summary = demo::run_live(dir, &live, &stop)?;
    writeln!(
        present::stdout(),
        "stopped after {} rows and {} dropped files",
        summary.rows,
        summary.dropped_files.len()
    )?;
    Ok(ExitCode::SUCCESS)
}
