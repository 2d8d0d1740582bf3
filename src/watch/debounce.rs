//! Turns a burst of file-system events into one import per file, once the file settled.
//!
//! A line file (CSV, NDJSON) is ready once no event arrived for it during the quiet
//! period: the importer takes only complete lines and reads the rest when the file grows
//! again, so an early import never takes half a row, and a launch-day log reaches the
//! screen within a fraction of a second. A JSON array is one document that cannot be read
//! until it is whole: it must stay quiet far longer, and its size and modification time
//! must not change between two looks (an exporter may pause mid-write without events).
//!
//! A line file that never goes quiet (a log appended to every few milliseconds) is
//! reported at least every [`GROWING_REPORT_EVERY`] all the same: its complete lines must
//! reach the screen while the writer runs, not when it stops.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

/// What a look at a file found: its size and modification time, or that it is gone.
/// Anything but a folder counts as present: a FIFO is reported, so the importer can say
/// it skips it, but never opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileLook {
    Present {
        len: u64,
        modified: Option<SystemTime>,
    },
    Gone,
}

impl FileLook {
    pub fn of(path: &Path) -> Self {
        match std::fs::metadata(path) {
            Ok(meta) if !meta.is_dir() => FileLook::Present {
                len: meta.len(),
                modified: meta.modified().ok(),
            },
            _ => FileLook::Gone,
        }
    }
}

/// A path that settled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Settled {
    Changed(PathBuf),
    Removed(PathBuf),
}

#[derive(Debug)]
struct Pending {
    last_event: Instant,
    /// The first event not yet reported.
    first_unreported: Instant,
    last_look: Option<FileLook>,
}

/// The longest a line file that keeps changing waits before it is reported.
pub const GROWING_REPORT_EVERY: Duration = Duration::from_millis(250);

/// How much longer than a line file a whole-document file must stay quiet.
const WHOLE_DOCUMENT_FACTOR: u32 = 5;

fn is_whole_document(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("json"))
}

#[derive(Debug)]
pub struct Debouncer {
    quiet: Duration,
    pending: BTreeMap<PathBuf, Pending>,
}

impl Debouncer {
    pub fn new(quiet: Duration) -> Self {
        Self {
            quiet,
            pending: BTreeMap::new(),
        }
    }

    /// Records an event for `path` at `now`; the quiet period starts again.
    pub fn touch(&mut self, path: PathBuf, now: Instant) {
        self.pending
            .entry(path)
            .and_modify(|p| p.last_event = now)
            .or_insert(Pending {
                last_event: now,
                first_unreported: now,
                last_look: None,
            });
    }

    pub fn is_idle(&self) -> bool {
        self.pending.is_empty()
    }

    /// How long until the next path could be ready, for the caller's wait.
    pub fn next_deadline(&self, now: Instant) -> Option<Duration> {
        self.pending
            .iter()
            .map(|(path, p)| {
                let quiet = p.last_event + self.quiet_for(path);
                let due = if is_whole_document(path) {
                    quiet
                } else {
                    quiet.min(p.first_unreported + GROWING_REPORT_EVERY)
                };
                due.saturating_duration_since(now)
            })
            .min()
    }

    fn quiet_for(&self, path: &Path) -> Duration {
        if is_whole_document(path) {
            self.quiet * WHOLE_DOCUMENT_FACTOR
        } else {
            self.quiet
        }
    }

    /// The paths quiet for the whole period whose look (`look(path)`) did not change
    /// since the previous call, in path order, and the line files that kept changing for
    /// [`GROWING_REPORT_EVERY`]. Paths still moving stay pending.
    pub fn ready(&mut self, now: Instant, mut look: impl FnMut(&Path) -> FileLook) -> Vec<Settled> {
        let mut out = Vec::new();
        let quiet = self.quiet;
        self.pending.retain(|path, pending| {
            let quiet = if is_whole_document(path) {
                quiet * WHOLE_DOCUMENT_FACTOR
            } else {
                quiet
            };
            if now.saturating_duration_since(pending.last_event) < quiet {
                let overdue =
                    now.saturating_duration_since(pending.first_unreported) >= GROWING_REPORT_EVERY;
                if overdue && !is_whole_document(path) {
                    // Still growing: its complete lines now, the rest when it settles.
                    out.push(Settled::Changed(path.clone()));
                    pending.first_unreported = now;
                }
                return true;
            }
            let current = look(path);
            if current == FileLook::Gone {
                out.push(Settled::Removed(path.clone()));
                return false;
            }
            if !is_whole_document(path) || pending.last_look == Some(current) {
                out.push(Settled::Changed(path.clone()));
                return false;
            }
            // Still moving (or first look): look again after another quiet period.
            pending.last_look = Some(current);
            pending.last_event = now;
            true
        });
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const Q: Duration = Duration::from_millis(100);

    fn present(len: u64) -> FileLook {
        FileLook::Present {
            len,
            modified: None,
        }
    }

    #[test]
    fn a_burst_of_events_gives_one_change_after_the_file_settles() {
        let t0 = Instant::now();
        let mut d = Debouncer::new(Q);
        for i in 0..50 {
            d.touch(PathBuf::from("orders.csv"), t0 + Duration::from_millis(i));
        }
        // Inside the quiet period (counted from the last event) nothing is ready.
        assert!(
            d.ready(t0 + Duration::from_millis(120), |_| present(10))
                .is_empty()
        );
        let got = d.ready(t0 + Duration::from_millis(160), |_| present(10));
        assert_eq!(got, [Settled::Changed(PathBuf::from("orders.csv"))]);
        assert!(d.is_idle());
    }

    #[test]
    fn a_json_array_that_keeps_growing_without_events_is_not_ready() {
        let t0 = Instant::now();
        let mut d = Debouncer::new(Q);
        d.touch(PathBuf::from("surveys.json"), t0);
        let mut len = 0;
        for step in 1..10u64 {
            len += 100;
            let now = t0 + Q * u32::try_from(step * 2).unwrap();
            assert!(d.ready(now, |_| present(len)).is_empty(), "step {step}");
        }
        // Once two looks a quiet period apart agree, the file has settled.
        let got = d.ready(t0 + Q * 60, |_| present(len));
        assert_eq!(got, [Settled::Changed(PathBuf::from("surveys.json"))]);
    }

    #[test]
    fn a_json_array_waits_longer_than_a_line_file() {
        let t0 = Instant::now();
        let mut d = Debouncer::new(Q);
        d.touch(PathBuf::from("surveys.json"), t0);
        d.touch(PathBuf::from("events.csv"), t0);
        let got = d.ready(t0 + Q, |_| present(5));
        assert_eq!(got, [Settled::Changed(PathBuf::from("events.csv"))]);
        assert!(d.ready(t0 + Q * 4, |_| present(5)).is_empty());
        assert!(d.ready(t0 + Q * 5, |_| present(5)).is_empty());
        let got = d.ready(t0 + Q * 10, |_| present(5));
        assert_eq!(got, [Settled::Changed(PathBuf::from("surveys.json"))]);
    }

    #[test]
    fn a_line_file_appended_to_faster_than_the_quiet_period_is_still_reported() {
        let t0 = Instant::now();
        let mut d = Debouncer::new(Q);
        let path = PathBuf::from("events.csv");
        let mut reported = 0;
        // An event every 40 ms for 2 s: never quiet for 100 ms.
        for step in 0..50u32 {
            let now = t0 + Duration::from_millis(40) * step;
            d.touch(path.clone(), now);
            let got = d.ready(now, |_| present(u64::from(step)));
            if !got.is_empty() {
                assert_eq!(got, [Settled::Changed(path.clone())]);
                reported += 1;
            }
            assert!(
                d.next_deadline(now).unwrap() <= GROWING_REPORT_EVERY,
                "step {step}"
            );
        }
        // Once every 250 ms or so: 2 s give 7 or 8 reports.
        assert!((7..=8).contains(&reported), "{reported} reports");
        // Once the writer stops, the file settles as usual.
        let end = t0 + Duration::from_secs(3);
        assert_eq!(d.ready(end, |_| present(50)), [Settled::Changed(path)]);
        assert!(d.is_idle());
    }

    #[test]
    fn a_growing_json_array_is_not_reported_before_it_settles() {
        let t0 = Instant::now();
        let mut d = Debouncer::new(Q);
        for step in 0..20u32 {
            let now = t0 + Duration::from_millis(40) * step;
            d.touch(PathBuf::from("surveys.json"), now);
            assert!(d.ready(now, |_| present(u64::from(step))).is_empty());
        }
    }

    #[test]
    fn a_deleted_file_is_reported_removed() {
        let t0 = Instant::now();
        let mut d = Debouncer::new(Q);
        d.touch(PathBuf::from("gone.csv"), t0);
        let got = d.ready(t0 + Q, |_| FileLook::Gone);
        assert_eq!(got, [Settled::Removed(PathBuf::from("gone.csv"))]);
    }

    #[test]
    fn hundreds_of_files_settle_together_in_path_order() {
        let t0 = Instant::now();
        let mut d = Debouncer::new(Q);
        for i in (0..500).rev() {
            d.touch(PathBuf::from(format!("f{i:03}.csv")), t0);
        }
        let got = d.ready(t0 + Q, |_| present(1));
        assert_eq!(got.len(), 500);
        assert_eq!(got[0], Settled::Changed(PathBuf::from("f000.csv")));
        assert_eq!(d.next_deadline(t0), None);
    }
}
