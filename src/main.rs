use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = kpi::cli::Cli::parse();
    match kpi::commands::dispatch(cli) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("kpi: {err:#}");
            ExitCode::from(kpi::commands::EXIT_ERROR)
        }
    }
}
