//! Metric ids a person typed — in `kpi.toml` or on the command line — checked against the
//! catalog. A typo must not make a target, an owner or a tile vanish without a word: it
//! is an error naming the file, line and key (or the argument) and the closest valid id.
//!
//! Valid ids are the built-in catalog plus the external metrics the store holds (its
//! `metrics` table): the caller passes the catalog of the open store.

use std::ops::Range;
use std::path::Path;

use crate::alerts::follow_up::Family;
use crate::config::{Config, ConfigError};
use crate::metrics::MetricDef;

/// Optimal string alignment distance: insertions, deletions, substitutions and swaps of
/// two neighbouring characters (`nsp` → `nps`) each count as one edit.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let mut rows = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in rows.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in rows[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (rows[i - 1][j] + 1)
                .min(rows[i][j - 1] + 1)
                .min(rows[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(rows[i - 2][j - 2] + 1);
            }
            rows[i][j] = best;
        }
    }
    rows[a.len()][b.len()]
}

/// The candidate closest to `word`, when it is close enough to be what was meant: at most
/// a third of the word's characters (and at least two) edited; failing that, the shortest
/// candidate holding the word (`revenu` → `net_revenue`).
pub fn closest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let word = word.to_lowercase();
    let candidates: Vec<&str> = candidates.into_iter().collect();
    let limit = (word.chars().count() / 3).max(2);
    let by_edits = candidates
        .iter()
        .map(|c| (edit_distance(&word, &c.to_lowercase()), *c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c);
    by_edits.or_else(|| {
        candidates
            .iter()
            .filter(|c| word.chars().count() >= 3 && c.to_lowercase().contains(&word))
            .min_by_key(|c| c.len())
            .copied()
    })
}

/// `unknown metric `net_revenu` — did you mean `net_revenue`?`, or without the question
/// when nothing is close.
pub fn unknown(what: &str, word: &str, candidates: &[&str]) -> String {
    match closest(word, candidates.iter().copied()) {
        Some(near) => format!("unknown {what} `{word}` — did you mean `{near}`?"),
        None => format!("unknown {what} `{word}`"),
    }
}

/// One metric id as written in the configuration, and where.
struct Written<'c> {
    key: String,
    id: &'c str,
    /// Whether a family name (`revenue`, `support`, …) is valid here too, as in follow-ups.
    family: bool,
    /// Finds the line that writes it.
    find: Find,
}

enum Find {
    /// A value in the `nth` table `header` (`None`: the top level).
    Value {
        header: Option<&'static str>,
        nth: usize,
    },
    /// A key of the table `header`, or a table `[header.id]` of its own.
    Key { header: &'static str },
}

/// Every metric id `config` names, checked against `catalog`. `source` is the file the
/// configuration was read from (none: the defaults, which name built-in ids only).
pub fn check_config(
    config: &Config,
    source: Option<&Path>,
    catalog: &[MetricDef],
) -> Result<(), ConfigError> {
    let ids: Vec<&str> = catalog.iter().map(|m| m.id.as_ref()).collect();
    let mut written = Vec::new();
    for id in &config.core_kpis {
        written.push(Written {
            key: "core_kpis".into(),
            id,
            family: false,
            find: Find::Value {
                header: None,
                nth: 0,
            },
        });
    }
    for (i, target) in config.targets.iter().enumerate() {
        written.push(Written {
            key: format!("targets[{i}].metric"),
            id: &target.metric,
            family: false,
            find: Find::Value {
                header: Some("[[targets]]"),
                nth: i,
            },
        });
    }
    for id in config.owners.keys() {
        written.push(Written {
            key: format!("owners.{id}"),
            id,
            family: false,
            find: Find::Key { header: "owners" },
        });
    }
    for id in config.follow_ups.keys() {
        written.push(Written {
            key: format!("follow_ups.{id}"),
            id,
            family: true,
            find: Find::Key {
                header: "follow_ups",
            },
        });
    }
    for (id, thresholds) in &config.alerts.metrics {
        written.push(Written {
            key: format!("alerts.metrics.{id}"),
            id,
            family: false,
            find: Find::Key {
                header: "alerts.metrics",
            },
        });
        if let Some(source) = &thresholds.derived_from {
            written.push(Written {
                key: format!("alerts.metrics.{id}.derived_from"),
                id: source,
                family: false,
                find: Find::Key {
                    header: "alerts.metrics",
                },
            });
        }
    }
    for (i, pair) in config.drivers.iter().enumerate() {
        for (field, id) in [("kpi", &pair.kpi), ("driver", &pair.driver)] {
            written.push(Written {
                key: format!("drivers[{i}].{field}"),
                id,
                family: false,
                find: Find::Value {
                    header: Some("[[drivers]]"),
                    nth: i,
                },
            });
        }
    }
    let families: Vec<&str> = Family::ALL.iter().map(|f| f.name()).collect();
    let valid = |w: &Written| ids.contains(&w.id) || (w.family && families.contains(&w.id));
    let Some(bad) = written.into_iter().find(|w| !valid(w)) else {
        return Ok(());
    };
    let text = source
        .and_then(|path| std::fs::read_to_string(path).ok())
        .unwrap_or_default();
    let line = line_of(&text, &bad);
    let mut candidates = ids.clone();
    if bad.family {
        candidates.extend(&families);
    }
    Err(ConfigError::Invalid {
        path: source.map_or_else(|| "kpi.toml".into(), Path::to_path_buf),
        key: match line {
            Some(line) => format!("line {line}, {}", bad.key),
            None => bad.key.clone(),
        },
        reason: unknown("metric", bad.id, &candidates),
    })
}

/// The part of a line before its comment (a `#` outside quotes is near enough for ids).
fn code(line: &str) -> &str {
    line.split('#').next().unwrap_or(line)
}

fn quotes(line: &str, id: &str) -> bool {
    let line = code(line);
    line.contains(&format!("\"{id}\"")) || line.contains(&format!("'{id}'"))
}

fn sets_key(line: &str, key: &str) -> bool {
    let line = code(line).trim_start();
    [key.to_string(), format!("\"{key}\"")].iter().any(|k| {
        line.strip_prefix(k.as_str())
            .is_some_and(|rest| rest.trim_start().starts_with('='))
    })
}

fn is_header(line: &str) -> bool {
    code(line).trim_start().starts_with('[')
}

/// Lines (0-based) of the `nth` table headed exactly `header`, or of the top level.
fn section(lines: &[&str], header: Option<&str>, nth: usize) -> Range<usize> {
    let start = match header {
        None => 0,
        Some(header) => {
            match lines
                .iter()
                .enumerate()
                .filter(|(_, l)| code(l).trim() == header)
                .nth(nth)
            {
                Some((i, _)) => i + 1,
                None => return 0..0,
            }
        }
    };
    let end = (start..lines.len())
        .find(|&i| is_header(lines[i]))
        .unwrap_or(lines.len());
    start..end
}

/// The line (1-based) writing `written`, or any line quoting or setting its id.
fn line_of(text: &str, written: &Written) -> Option<usize> {
    let lines: Vec<&str> = text.lines().collect();
    let id = written.id;
    let found = match &written.find {
        Find::Value { header, nth } => {
            let range = section(&lines, *header, *nth);
            range.clone().find(|&i| quotes(lines[i], id))
        }
        Find::Key { header } => {
            let own = format!("[{header}.{id}]");
            let own_quoted = format!("[{header}.\"{id}\"]");
            let range = section(&lines, Some(&format!("[{header}]")), 0);
            lines
                .iter()
                .position(|l| code(l).trim() == own || code(l).trim() == own_quoted)
                .or_else(|| range.clone().find(|&i| sets_key(lines[i], id)))
                // `derived_from = "mrr"` inside `[alerts.metrics.arr]`.
                .or_else(|| {
                    lines
                        .iter()
                        .position(|l| quotes(l, id) && code(l).contains("derived_from"))
                })
        }
    };
    found
        .or_else(|| lines.iter().position(|l| quotes(l, id) || sets_key(l, id)))
        .map(|i| i + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_swap_of_two_letters_is_one_edit() {
        assert_eq!(edit_distance("nsp", "nps"), 1);
        assert_eq!(edit_distance("net_revenu", "net_revenue"), 1);
        assert_eq!(edit_distance("npss", "nps"), 1);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }

    #[test]
    fn the_closest_id_is_suggested_only_when_it_is_close() {
        let ids = ["net_revenue", "nps", "mrr", "csat_pct"];
        assert_eq!(closest("net_revenu", ids), Some("net_revenue"));
        assert_eq!(closest("NPS", ids), Some("nps"));
        assert_eq!(closest("bogus", ids), None);
        assert_eq!(closest("revenu", ids), Some("net_revenue"));
        assert_eq!(closest("np", ids), Some("nps"));
        assert_eq!(
            unknown("metric", "nsp", &ids),
            "unknown metric `nsp` — did you mean `nps`?"
        );
        assert_eq!(unknown("metric", "zzzzzz", &ids), "unknown metric `zzzzzz`");
    }
}
