use std::io::Write;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = kpi::cli::Cli::parse_args();
    match kpi::commands::dispatch(cli) {
        Ok(code) => code,
        Err(err) => {
            // Error messages carry file names, header names and values from data.
            let _ = writeln!(kpi::present::stderr(), "kpi: {err:#}");
            ExitCode::from(kpi::commands::EXIT_ERROR)
        }
    }
}
