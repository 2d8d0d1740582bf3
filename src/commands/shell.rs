//! `kpi completions SHELL` and `kpi man`: what the shell and `man` need, generated from the
//! same clap definition that parses the arguments, so they cannot drift from it.

use std::io::Write;
use std::process::ExitCode;

use clap::CommandFactory;

use crate::cli::Cli;

/// A completion script for `shell` on standard output.
pub fn completions(shell: clap_complete::Shell) -> anyhow::Result<ExitCode> {
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "kpi", &mut script);
    write_stdout(&script)
}

/// The manual page, in roff, on standard output.
pub fn man() -> anyhow::Result<ExitCode> {
    let mut page = Vec::new();
    clap_mangen::Man::new(Cli::command()).render(&mut page)?;
    write_stdout(&page)
}

/// Scripts are written as generated: they hold tabs and quoting that the cleaning writer
/// for data text (`present::stdout`) would strip, and none of their text comes from data.
/// A reader that went away (`kpi man | head`) is not an error.
fn write_stdout(bytes: &[u8]) -> anyhow::Result<ExitCode> {
    let mut out = std::io::stdout().lock();
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(ExitCode::SUCCESS),
    }
}
