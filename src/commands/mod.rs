//! One module per command; `main.rs` only parses and calls `dispatch`.

use std::process::ExitCode;

use crate::cli::{Cli, Command};

mod check;
mod cockpit;
mod demo;
mod import;
mod rebuild;
mod report;
mod shell;
#[cfg(feature = "cluster")]
mod sync;

/// Exit code of a command that failed (bad input, unreadable store, …).
/// `kpi check` uses 1 and 2 for alerts, so errors take a code of their own.
pub const EXIT_ERROR: u8 = 3;

/// Runs the command. A failure comes back as one message naming each cause once (see
/// `error_message`), so that `main` prints it as it is, alternate form or not.
pub fn dispatch(cli: Cli) -> anyhow::Result<ExitCode> {
    run(cli).map_err(|err| anyhow::Error::msg(error_message(&err)))
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        None => cockpit::run(
            &cli.store,
            cli.watch.as_deref(),
            &cli.watch_opts,
            cli.as_of,
            !cli.no_mouse,
        ),
        Some(Command::Import(ref args)) => import::run(&cli.store, args),
        Some(Command::Report(ref args)) => report::run(&cli.store, args, cli.as_of),
        Some(Command::Check(ref args)) => check::run(&cli.store, args, cli.as_of),
        Some(Command::Demo(ref args)) => demo::run(args, &cli.store),
        Some(Command::Completions(ref args)) => shell::completions(args.shell),
        Some(Command::Man) => shell::man(),
        Some(Command::Rebuild(ref args)) => rebuild::run(&cli.store, args),
        #[cfg(feature = "cluster")]
        Some(Command::Sync(ref args)) => sync::run(&cli.store, args),
    }
}

/// The one line an error prints as: each cause once, joined by `: `.
///
/// Error types display their cause and also chain it as a `source`, and a context may
/// restate what the error it wraps says (`cannot open store x.db` around `cannot open
/// store x.db: file is not a database`), so a plain walk of the chain repeats itself.
/// A cause already said is left out, a message that repeats the one before and adds to
/// it takes its place, and the walk ends at a SQLite error: what it chains is the same
/// message again with its number ("Error code 26: file is not a database").
pub fn error_message(err: &anyhow::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    for cause in err.chain() {
        let text = cause.to_string();
        let said = parts.iter().any(|p| p.contains(text.as_str()));
        match parts.last_mut() {
            _ if text.is_empty() || said => {}
            Some(last) if text.contains(last.as_str()) => *last = text,
            _ => parts.push(text),
        }
        if cause.is::<rusqlite::Error>() {
            break;
        }
    }
    parts.join(": ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sqlite(code: i32, message: &str) -> rusqlite::Error {
        rusqlite::Error::SqliteFailure(rusqlite::ffi::Error::new(code), Some(message.to_string()))
    }

    #[test]
    fn an_error_chain_names_each_cause_once() {
        let not_a_db = || sqlite(26, "file is not a database");
        let err = anyhow::Error::new(crate::store::StoreError::Open {
            path: "x.db".into(),
            source: not_a_db(),
        })
        .context("cannot open store x.db");
        assert_eq!(
            error_message(&err),
            "cannot open store x.db: file is not a database"
        );
        let err = anyhow::Error::new(crate::store::StoreError::Sqlite(not_a_db()));
        assert_eq!(error_message(&err), "file is not a database");
        let err = anyhow::Error::new(sqlite(5, "database is locked")).context("reading metrics");
        assert_eq!(error_message(&err), "reading metrics: database is locked");
        let io = std::io::Error::new(std::io::ErrorKind::NotFound, "no such file");
        let err = anyhow::Error::new(crate::config::ConfigError::Read {
            path: "kpi.toml".into(),
            source: io,
        });
        assert_eq!(
            error_message(&err),
            "cannot read config kpi.toml: no such file"
        );
        // Different causes all stay.
        let err = anyhow::anyhow!("disk full")
            .context("cannot write the report")
            .context("kpi report");
        assert_eq!(
            error_message(&err),
            "kpi report: cannot write the report: disk full"
        );
    }
}
