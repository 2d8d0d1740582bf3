use std::io::Write;
use std::process::ExitCode;

// DataFusion's worker threads allocate and free batches on whichever thread runs them;
// glibc keeps the freed memory in each thread's arena, so the in-process sync's RSS grew
// with the source while its live heap did not (heaptrack: 162 MB at 1 M events, 182 MB
// at 10 M). jemalloc returns it. Only with the feature: the default build keeps glibc's.
#[cfg(feature = "cluster")]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

// jemalloc keeps freed pages for 10 s by default before it returns them to the OS, in
// each of its arenas: the in-process sync's operators free batches as fast as they
// allocate them, so that slack was 144 MB of a 372 MB peak RSS at 10 M events in dense
// day files (228 MB when every free returns its pages, at 1.6x the wall time). A
// background thread returns them after 200 ms instead: 271 MB, no slower (README,
// "Scale-out"). jemalloc reads these options from this symbol (its `malloc_conf`,
// under the prefix the crate builds it with) before `main`; `_RJEM_MALLOC_CONF` in the
// environment still overrides them.
#[cfg(feature = "cluster")]
// SAFETY: jemalloc declares the symbol weak and reads it as a NUL-terminated C string,
// which a reference to the first byte of this literal is.
#[unsafe(export_name = "_rjem_malloc_conf")]
static JEMALLOC_OPTIONS: &u8 = &b"background_thread:true,dirty_decay_ms:200,muzzy_decay_ms:0\0"[0];

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
