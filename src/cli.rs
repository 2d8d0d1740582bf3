//! Command-line arguments. Parsing only: every command lives in `commands/`.

use std::path::PathBuf;

use chrono::NaiveDate;
use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::metrics::Grain;

#[derive(Debug, Parser)]
#[command(
    name = "kpi",
    version,
    about = "A terminal KPI cockpit for product managers"
)]
pub struct Cli {
    #[command(flatten)]
    pub store: StoreArgs,

    /// Import every file in DIR, then follow it live.
    #[arg(long, value_name = "DIR")]
    pub watch: Option<PathBuf>,

    #[command(flatten)]
    pub watch_opts: WatchArgs,

    /// Leave the mouse to the terminal (its own text selection) instead of clicking tabs,
    /// tiles, rows and cells and scrolling with the wheel.
    #[arg(long)]
    pub no_mouse: bool,

    /// Read the store as of this date instead of its latest data.
    #[arg(long, value_name = "DATE", global = true)]
    pub as_of: Option<NaiveDate>,

    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Where the store and its configuration live; shared by every command.
#[derive(Debug, Clone, Args)]
pub struct StoreArgs {
    /// The SQLite store.
    #[arg(
        long,
        value_name = "FILE",
        env = "KPI_DB",
        default_value = "sample.db",
        global = true
    )]
    pub db: PathBuf,

    /// Configuration file (default: kpi.toml beside the store).
    #[arg(long, value_name = "FILE", global = true)]
    pub config: Option<PathBuf>,

    /// `--db` was typed on the command line (not the default, not `KPI_DB`): a command
    /// that has no store to use refuses it instead of ignoring it.
    #[arg(skip)]
    pub db_on_command_line: bool,
}

impl Cli {
    /// Parses the process's arguments (exiting with clap's message on bad ones), noting
    /// whether `--db` was given explicitly.
    pub fn parse_args() -> Self {
        let matches = <Self as clap::CommandFactory>::command().get_matches();
        let mut cli = match <Self as clap::FromArgMatches>::from_arg_matches(&matches) {
            Ok(cli) => cli,
            Err(err) => err.exit(),
        };
        let explicit = |m: &clap::ArgMatches| {
            m.value_source("db") == Some(clap::parser::ValueSource::CommandLine)
        };
        cli.store.db_on_command_line =
            explicit(&matches) || matches.subcommand().is_some_and(|(_, sub)| explicit(sub));
        cli
    }
}

#[derive(Debug, Clone, Default, Args)]
pub struct WatchArgs {
    /// Poll the watched folder instead of relying on file-system events (network mounts).
    #[arg(long)]
    pub poll: bool,

    /// Also watch sub-folders of the watched folder.
    #[arg(long)]
    pub recursive: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Import CSV, NDJSON or JSON files into the store.
    Import(ImportArgs),
    /// Print every KPI with deltas, targets and alerts.
    Report(ReportArgs),
    /// Print open alerts; exit by the worst bad one (good news too with --fail-on any): 0 none, 1 mild, 2 strong.
    Check(CheckArgs),
    /// Build a demo data set, or keep appending live launch-day data.
    Demo(DemoArgs),
    /// Print a shell completion script: `kpi completions bash > /etc/bash_completion.d/kpi`.
    Completions(CompletionsArgs),
    /// Print the manual page (roff): `kpi man > kpi.1 && man ./kpi.1`.
    Man,
    /// Rebuild every rollup from the raw rows (after restoring a store by hand, or to
    /// check the rollups).
    Rebuild(RebuildArgs),
    /// Compute the rollups from Parquet or CSV exports on DataFusion (or a Ballista
    /// cluster) and write them into the store.
    #[cfg(feature = "cluster")]
    Sync(SyncArgs),
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell the script is for.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

#[derive(Debug, Args)]
pub struct RebuildArgs {
    /// No progress bar, only the closing line.
    #[arg(long, short)]
    pub quiet: bool,
}

#[cfg(feature = "cluster")]
#[derive(Debug, Args)]
pub struct SyncArgs {
    /// The exports: one folder per table (`events/date=…/part-0.parquet`), or files
    /// named as for `kpi import`.
    #[arg(long, value_name = "DIR")]
    pub source: PathBuf,

    /// A Ballista scheduler (`df://host:50050`); without it DataFusion runs in-process.
    #[arg(long, value_name = "URL")]
    pub cluster: Option<String>,

    /// Keep running: sync again whenever an export is added, changed or removed (the
    /// rollups only when an export of orders, refunds, events or customers changed, and
    /// then those of the days whose rows changed).
    #[arg(long, visible_alias = "watch")]
    pub follow: bool,

    /// How often --follow looks at the exports, in seconds.
    #[arg(long, value_name = "SECS", default_value_t = 5)]
    pub interval: u64,

    /// Partitions of each query: in-process, the threads (default: the machine's cores);
    /// with --cluster, the tasks of each stage (default: Ballista's 16), best about the
    /// cluster's cores in all.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub partitions: usize,

    /// In-process: memory for DataFusion's sorts and aggregations, in MB; beyond it they
    /// spill to temporary files (0: no limit).
    #[arg(long = "memory", value_name = "MB", default_value_t = crate::sync::DEFAULT_MEMORY_MB)]
    pub memory_mb: usize,
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// Files to import (the table is taken from each file name unless --table is given).
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,

    /// Import every file into this table.
    #[arg(long, value_name = "T")]
    pub table: Option<String>,

    /// Reject the whole file on its first bad row.
    #[arg(long)]
    pub strict: bool,

    /// No progress bar, only the one line per file.
    #[arg(long, short)]
    pub quiet: bool,

    /// Keep the store current from this folder without a screen.
    #[arg(long, value_name = "DIR")]
    pub watch: Option<PathBuf>,

    #[command(flatten)]
    pub watch_opts: WatchArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    Md,
    /// One self-contained page with charts: `kpi report --format html > readout.html`.
    Html,
    Json,
    Csv,
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    #[arg(long, value_enum, default_value_t = ReportFormat::Md)]
    pub format: ReportFormat,

    /// Grain of the periods.
    #[arg(long, value_enum, default_value_t = Grain::Month)]
    pub grain: Grain,

    /// Period to report on, e.g. 2025-06, 2025-W23 or 2025-06-01 (default: the latest).
    #[arg(long, value_name = "P")]
    pub period: Option<String>,

    /// Only these metrics (repeatable).
    #[arg(long = "metric", value_name = "ID")]
    pub metrics: Vec<String>,

    /// Break every metric down by this dimension (e.g. channel, plan, region).
    #[arg(long, value_name = "DIMENSION")]
    pub by: Option<String>,

    /// First day of the periods reported, YYYY-MM-DD (default: 14 days, 13 weeks or 13
    /// months back).
    #[arg(long, value_name = "DATE")]
    pub from: Option<NaiveDate>,

    /// Last day of the periods reported, YYYY-MM-DD (default: the reference date;
    /// --period wins over it).
    #[arg(long, value_name = "DATE")]
    pub to: Option<NaiveDate>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CheckFormat {
    Text,
    Json,
}

/// Which open alerts set `kpi check`'s exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FailOnArg {
    /// Bad news only: good-news alerts are listed but exit 0.
    Bad,
    /// Good news counts too.
    Any,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    #[arg(long, value_enum, default_value_t = CheckFormat::Text)]
    pub format: CheckFormat,

    /// Exit by the worst open alert of this kind: 0 none, 1 mild, 2 strong.
    #[arg(long, value_enum, default_value_t = FailOnArg::Bad)]
    pub fail_on: FailOnArg,

    /// Send each newly opened alert to the destinations in kpi.toml's [notify], once per
    /// occurrence; writes the store's alert sightings and delivery log.
    #[arg(long)]
    pub notify: bool,
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Folder to write the demo input files into.
    #[arg(long, value_name = "DIR", default_value = "demo-data")]
    pub out: PathBuf,

    /// Seed of the generator: the same seed gives byte-identical files.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,

    #[arg(long, default_value_t = 2_000)]
    pub customers: u32,

    #[arg(long, default_value_t = 24)]
    pub months: u32,

    /// Scale the orders file to this many rows (for benchmarks); streams, memory stays flat.
    #[arg(long, value_name = "N")]
    pub orders: Option<u64>,

    /// Keep appending launch-day data to DIR until stopped.
    #[arg(long, value_name = "DIR")]
    pub live: Option<PathBuf>,

    /// Rows per second written in --live mode.
    #[arg(long, default_value_t = 20)]
    pub rate: u32,
}
