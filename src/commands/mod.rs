//! One module per command; `main.rs` only parses and calls `dispatch`.

use std::process::ExitCode;

use crate::cli::{Cli, Command};

mod check;
mod cockpit;
mod demo;
mod import;
mod report;

/// Exit code of a command that failed (bad input, unreadable store, …).
/// `kpi check` uses 1 and 2 for alerts, so errors take a code of their own.
pub const EXIT_ERROR: u8 = 3;

pub fn dispatch(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        None => cockpit::run(&cli.store, cli.watch.as_deref(), &cli.watch_opts, cli.as_of),
        Some(Command::Import(ref args)) => import::run(&cli.store, args),
        Some(Command::Report(ref args)) => report::run(&cli.store, args, cli.as_of),
        Some(Command::Check(ref args)) => check::run(&cli.store, args, cli.as_of),
        Some(Command::Demo(ref args)) => demo::run(args),
    }
}
