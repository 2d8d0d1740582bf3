//! Turns a burst of file-system events into one import per file, once the file settled.
//!
//! A line file (CSV, NDJSON) is ready once no event arrived for it during the quiet
//! period: the importer takes only complete lines and reads the rest when the file grows
//! again, so an early import never takes half a row, and a launch-day log reaches the
//! screen within a fraction of a second. A JSON array is one document that cannot be read
//! until it is whole: it must stay quiet far longer, and its size and modification time
//! must not change between two looks (an exporter may pause mid-write without events).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

/// What a look at a file found: its size and modification time, or that it is gone.
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
            Ok(meta) if meta.is_file() => FileLook::Present {
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
    last_look: Option<FileLook>,
}

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
            .map(|(path, p)| (p.last_event + self.quiet_for(path)).saturating_duration_since(now))
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
    /// since the previous call, in path order. Paths still moving stay pending.
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
