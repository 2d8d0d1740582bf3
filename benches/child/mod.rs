//! One measured child process: wall time, CPU seconds and peak RSS of that process alone
//! (`wait4`), for benches that compare whole runs of `kpi` and other programs.

use std::process::Command;
use std::time::Instant;

/// What one child's run cost.
pub struct Cost {
    pub wall: f64,
    pub cpu: f64,
    pub peak_rss_mb: f64,
}

/// Runs `command` to its end; its wall time, CPU seconds and peak RSS, or `None` (said
/// on stdout) when it cannot start or does not exit successfully.
pub fn measure(command: &mut Command) -> Option<Cost> {
    let started = Instant::now();
    let child = match command.spawn() {
        Ok(c) => c,
        Err(e) => {
            println!("  cannot run {command:?}: {e}");
            return None;
        }
    };
    let mut status = 0;
    // SAFETY: `rusage` is plain data, and wait4 fills it for the child just spawned.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let pid = unsafe { libc::wait4(child.id() as libc::pid_t, &mut status, 0, &mut usage) };
    let wall = started.elapsed().as_secs_f64();
    let exited_ok = libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0;
    if pid < 0 || !exited_ok {
        println!("  {command:?} failed (status {status})");
        return None;
    }
    let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    Some(Cost {
        wall,
        cpu: secs(usage.ru_utime) + secs(usage.ru_stime),
        peak_rss_mb: usage.ru_maxrss as f64 / 1024.0,
    })
}
