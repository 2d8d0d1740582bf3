use std::io::Write;
use std::process::ExitCode;

// DataFusion's worker threads allocate and free batches on whichever thread runs them;
// glibc keeps the freed memory in each thread's arena, so the in-process sync's RSS grew
// with the source while its live heap did not (heaptrack: 162 MB at 1 M events, 182 MB
// at 10 M). jemalloc returns it. Only with the feature: the default build keeps glibc's.
#[cfg(feature = "cluster")]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

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
