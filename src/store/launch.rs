//! What the launch view reads: the events of one local day by UTC hour, and the latest
//! event's time — the data's own clock, which a replayed feed sets too.

use std::collections::{BTreeMap, HashSet};

use chrono::NaiveDate;

/// One local day's events, read in one pass: by UTC hour (`2026-11-17T14`), in all and up
/// to a time, with the distinct users up to that time and the day's latest event time.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DayEvents {
    /// Per UTC hour: the day's events, and those at or before the time asked.
    pub hours: BTreeMap<String, (u64, u64)>,
    /// Distinct users of the events at or before the time asked.
    pub users_until: u64,
    /// The day's latest event time (RFC 3339, UTC), if it has any event.
    pub latest: Option<String>,
}

impl DayEvents {
    /// Events per hour: all of the day's, or only those at or before the time asked.
    pub fn by_hour(&self, until_only: bool) -> Vec<(&str, u64)> {
        self.hours
            .iter()
            .map(|(hour, &(all, until))| (hour.as_str(), if until_only { until } else { all }))
            .collect()
    }

    /// The day's events: all, or only those at or before the time asked.
    pub fn count(&self, until_only: bool) -> u64 {
        self.hours
            .values()
            .map(|&(all, until)| if until_only { until } else { all })
            .sum()
    }
}

impl super::Store {
    /// The local day of the latest event, if any (found through the day index).
    pub fn latest_event_day(&self) -> rusqlite::Result<Option<NaiveDate>> {
        let day: Option<String> =
            self.conn()
                .query_row("SELECT MAX(day) FROM events", [], |r| r.get(0))?;
        Ok(day.as_deref().and_then(crate::dates::parse_day))
    }

    /// The events of local day `day`, counted up to and including UTC time `until` (RFC
    /// 3339; `None`: the whole day). One read of the day's rows: the launch view redraws
    /// after every live append, and each separate count read them all again.
    pub fn day_events(&self, day: NaiveDate, until: Option<&str>) -> rusqlite::Result<DayEvents> {
        let mut stmt = self.conn().prepare_cached(
            "SELECT CAST(ts AS TEXT), CAST(user_id AS TEXT) FROM events WHERE day = ?1",
        )?;
        let mut rows = stmt.query([day.to_string()])?;
        let mut out = DayEvents::default();
        let mut users: HashSet<String> = HashSet::new();
        while let Some(row) = rows.next()? {
            let ts = row.get_ref(0)?.as_str()?;
            let in_time = until.is_none_or(|u| ts <= u);
            // The first 13 characters, as SQLite's `substr(ts, 1, 13)`.
            let hour = ts.char_indices().nth(13).map_or(ts, |(end, _)| &ts[..end]);
            match out.hours.get_mut(hour) {
                Some(counts) => {
                    counts.0 += 1;
                    counts.1 += u64::from(in_time);
                }
                None => {
                    out.hours.insert(hour.to_string(), (1, u64::from(in_time)));
                }
            }
            if in_time {
                let user = row.get_ref(1)?.as_str()?;
                if !users.contains(user) {
                    users.insert(user.to_string());
                }
            }
            if out.latest.as_deref().is_none_or(|l| ts > l) {
                out.latest = Some(ts.to_string());
            }
        }
        out.users_until = users.len() as u64;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::store::Store;

    /// The one-pass read gives what the launch view's SQL counts did, one query each:
    /// events by hour up to a time, the distinct users up to it, the day's latest time.
    #[test]
    fn one_read_of_the_day_counts_as_the_separate_queries_did() {
        let store = Store::open_in_memory().unwrap();
        store
            .conn()
            .execute_batch(
                "INSERT INTO events (event_key, user_id, ts, day, name) VALUES
                   ('1', 'u1', '2025-06-18T08:59:59Z', '2025-06-18', 'a'),
                   ('2', 'u1', '2025-06-18T09:00:00Z', '2025-06-18', 'a'),
                   ('3', 'u2', '2025-06-18T09:30:00Z', '2025-06-18', 'a'),
                   ('4', 'u3', '2025-06-18T09:30:01Z', '2025-06-18', 'a'),
                   ('5', 'u3', '2025-06-18T23:10:00Z', '2025-06-18', 'a'),
                   ('6', 'u4', '2025-06-19T00:10:00Z', '2025-06-19', 'a');",
            )
            .unwrap();
        let day = NaiveDate::from_ymd_opt(2025, 6, 18).unwrap();
        for until in ["2025-06-18T09:30:00Z", "2025-06-18T00:00:00Z", "9999"] {
            let read = store.day_events(day, Some(until)).unwrap();
            let hours: Vec<(String, u64)> = store
                .conn()
                .prepare(
                    "SELECT substr(ts, 1, 13), COUNT(*) FROM events
                     WHERE day = ?1 AND ts <= ?2 GROUP BY 1 ORDER BY 1",
                )
                .unwrap()
                .query_map(["2025-06-18", until], |r| {
                    Ok((r.get(0)?, r.get::<_, i64>(1)?.unsigned_abs()))
                })
                .unwrap()
                .collect::<rusqlite::Result<_>>()
                .unwrap();
            let counted: Vec<(String, u64)> = read
                .by_hour(true)
                .into_iter()
                .filter(|(_, n)| *n > 0)
                .map(|(h, n)| (h.to_string(), n))
                .collect();
            assert_eq!(counted, hours, "until {until}");
            let users = store
                .conn()
                .query_row(
                    "SELECT COUNT(DISTINCT user_id) FROM events WHERE day = ?1 AND ts <= ?2",
                    ["2025-06-18", until],
                    |r| r.get::<_, i64>(0),
                )
                .unwrap()
                .unsigned_abs();
            assert_eq!(read.users_until, users, "until {until}");
            assert_eq!(read.count(false), 5);
            assert_eq!(read.latest.as_deref(), Some("2025-06-18T23:10:00Z"));
        }
        let whole = store.day_events(day, None).unwrap();
        assert_eq!((whole.count(true), whole.users_until), (5, 3));
        assert_eq!(
            store.latest_event_day().unwrap(),
            NaiveDate::from_ymd_opt(2025, 6, 19)
        );
        let empty = store.day_events(day.pred_opt().unwrap(), None).unwrap();
        assert_eq!(empty, DayEvents::default());
    }
}
