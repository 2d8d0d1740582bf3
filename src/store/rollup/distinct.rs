//! Distinct counts that cannot be summed from days (`ru_distinct`): ids active in a day,
//! week or month, and in the trailing window ending on a day. A rebuild recounts them
//! from a per-day-per-id rollup; maintenance adds the touched ids' changes (see
//! [`Spans`]).

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};

use chrono::{Duration, NaiveDate};
use rusqlite::{Connection, params};

use crate::dates::parse_day;
use crate::dates::{Grain, Period};

/// How a kind of count reaches from a day to the periods that hold it.
#[derive(Debug, Clone, Copy)]
enum Reach {
    /// The calendar period of the grain holding the day.
    Period(Grain),
    /// The windows of this many days ending on the day and the days after it.
    Window(i64),
}

/// The `ru_distinct` rows an import can change: every period holding a touched day, for
/// each kind the activity counts. An id's contribution to a row is 1 when it is active on
/// a day the row's period holds, so a row changes by the touched ids' contributions after
/// the refresh minus before.
pub struct Spans {
    /// (kind, reach) per slot.
    kinds: Vec<(String, Reach)>,
    /// (slot, period key) → index into `keys`.
    index: HashMap<(usize, NaiveDate), usize>,
    /// (slot, period key) of each span.
    keys: Vec<(usize, NaiveDate)>,
}

impl Spans {
    /// The spans of `prefix_{day,week,month}` and of the `windows` holding `days`.
    pub fn of(prefix: &str, windows: &[(&str, i64)], days: &BTreeSet<NaiveDate>) -> Self {
        let mut kinds: Vec<(String, Reach)> = Grain::ALL
            .into_iter()
            .map(|grain| (format!("{prefix}_{grain}"), Reach::Period(grain)))
            .collect();
        kinds.extend(
            windows
                .iter()
                .map(|&(kind, window)| (kind.to_string(), Reach::Window(window))),
        );
        let mut index = HashMap::new();
        let mut keys = Vec::new();
        for &day in days {
            for (slot, (_, reach)) in kinds.iter().enumerate() {
                for key in keys_holding(*reach, day) {
                    index.entry((slot, key)).or_insert_with(|| {
                        keys.push((slot, key));
                        keys.len() - 1
                    });
                }
            }
        }
        Self { kinds, index, keys }
    }

    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Calls `f` with the index of every span holding `day`.
    pub fn holding(&self, day: NaiveDate, mut f: impl FnMut(usize)) {
        for (slot, (_, reach)) in self.kinds.iter().enumerate() {
            for key in keys_holding(*reach, day) {
                if let Some(&i) = self.index.get(&(slot, key)) {
                    f(i);
                }
            }
        }
    }

    /// Adds `deltas` (one per span) to the cached counts.
    pub fn write(&self, conn: &Connection, deltas: &[i64]) -> rusqlite::Result<()> {
        let mut add = conn.prepare_cached(
            "INSERT INTO ru_distinct (kind, period, n) VALUES (?1, ?2, ?3)
             ON CONFLICT (kind, period) DO UPDATE SET n = n + excluded.n",
        )?;
        for (&(slot, key), &delta) in self.keys.iter().zip(deltas) {
            if delta != 0 {
                add.execute(params![self.kinds[slot].0, key.to_string(), delta])?;
            }
        }
        Ok(())
    }
}

/// The keys (first day of a period, last day of a window) of the periods holding `day`.
fn keys_holding(reach: Reach, day: NaiveDate) -> impl Iterator<Item = NaiveDate> {
    let (first, count) = match reach {
        Reach::Period(grain) => (Period::containing(grain, day).start, 1),
        Reach::Window(window) => (day, window),
    };
    (0..count).map(move |k| first + Duration::days(k))
}

/// Recounts `<prefix>_day`, `<prefix>_week` and `<prefix>_month` of the periods holding
/// the given days, from a per-day-per-id rollup.
pub fn recount_periods(
    conn: &Connection,
    prefix: &str,
    table: &str,
    id: &str,
    days: &BTreeSet<NaiveDate>,
) -> rusqlite::Result<()> {
    let mut stmt = conn.prepare_cached(&format!(
        "INSERT OR REPLACE INTO ru_distinct (kind, period, n)
         SELECT ?1, ?2, COUNT(DISTINCT {id}) FROM {table} WHERE day BETWEEN ?2 AND ?3"
    ))?;
    for grain in Grain::ALL {
        let kind = format!("{prefix}_{grain}");
        let periods: BTreeSet<Period> =
            days.iter().map(|d| Period::containing(grain, *d)).collect();
        for period in periods {
            stmt.execute(params![
                kind,
                period.start.to_string(),
                period.end().to_string()
            ])?;
        }
    }
    Ok(())
}

/// Recounts the distinct users of the `window` days ending on each day of [`from`, `to`],
/// streaming the per-day-per-user rollup once.
pub fn recount_window(
    conn: &Connection,
    kind: &str,
    window: i64,
    from: NaiveDate,
    to: NaiveDate,
) -> rusqlite::Result<()> {
    let read_from = from - Duration::days(window - 1);
    let mut ids: HashMap<String, u32> = HashMap::new();
    let mut by_day: BTreeMap<NaiveDate, Vec<u32>> = BTreeMap::new();
    {
        let mut stmt = conn
            .prepare("SELECT day, user_id FROM ru_event_users_day WHERE day BETWEEN ?1 AND ?2")?;
        let mut rows = stmt.query(params![read_from.to_string(), to.to_string()])?;
        while let Some(row) = rows.next()? {
            let Some(day) = parse_day(row.get_ref(0)?.as_str()?) else {
                continue;
            };
            let user: String = row.get(1)?;
            let next = u32::try_from(ids.len()).unwrap_or(u32::MAX);
            let id = *ids.entry(user).or_insert(next);
            by_day.entry(day).or_default().push(id);
        }
    }
    let mut counts = vec![0u32; ids.len()];
    let mut distinct = 0i64;
    let mut in_window: VecDeque<NaiveDate> = VecDeque::new();
    let mut insert =
        conn.prepare("INSERT OR REPLACE INTO ru_distinct (kind, period, n) VALUES (?1, ?2, ?3)")?;
    let mut day = read_from;
    while day <= to {
        if let Some(users) = by_day.get(&day) {
            for &u in users {
                let c = &mut counts[u as usize];
                if *c == 0 {
                    distinct += 1;
                }
                *c += 1;
            }
            in_window.push_back(day);
        }
        while let Some(&oldest) = in_window.front() {
            if (day - oldest).num_days() < window {
                break;
            }
            in_window.pop_front();
            for &u in by_day.get(&oldest).map(Vec::as_slice).unwrap_or_default() {
                let c = &mut counts[u as usize];
                *c -= 1;
                if *c == 0 {
                    distinct -= 1;
                }
            }
        }
        if day >= from {
            insert.execute(params![kind, day.to_string(), distinct])?;
        }
        day += Duration::days(1);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        parse_day(s).unwrap()
    }

    #[test]
    fn spans_hold_the_periods_and_windows_of_the_touched_days() {
        let days: BTreeSet<NaiveDate> = [d("2025-03-31"), d("2025-04-01")].into();
        let spans = Spans::of("paying", &[("active_7d", 7)], &days);
        // 2 days, 1 week (Mon 31 March), 2 months, windows ending 31 March … 7 April.
        assert_eq!(spans.len(), 2 + 1 + 2 + 8);
        let mut held = Vec::new();
        spans.holding(d("2025-04-03"), |i| held.push(spans.keys[i]));
        // Not its own day (untouched), but its week (from Monday 31 March), April and the
        // windows ending 3–7 April.
        assert_eq!(held.len(), 1 + 1 + 5, "{held:?}");
        assert!(held.contains(&(1, d("2025-03-31"))));
        assert!(held.contains(&(2, d("2025-04-01"))));
        let mut held = Vec::new();
        spans.holding(d("2025-02-10"), |i| held.push(i));
        assert!(held.is_empty());
    }
}
