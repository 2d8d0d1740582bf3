//! What the launch view reads: the events of one local day by UTC hour, and the latest
//! event's time — the data's own clock, which a replayed feed sets too.

use chrono::NaiveDate;

impl super::Store {
    /// The local day and RFC 3339 time (UTC) of the latest event, if any.
    pub fn latest_event(&self) -> rusqlite::Result<Option<(NaiveDate, String)>> {
        // The day index finds the last day; only that day's rows are read for the time.
        let row: (Option<String>, Option<String>) = self.conn().query_row(
            "SELECT day, MAX(ts) FROM events WHERE day = (SELECT MAX(day) FROM events)",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        Ok(match row {
            (Some(day), Some(ts)) => crate::dates::parse_day(&day).map(|d| (d, ts)),
            _ => None,
        })
    }

    /// Events of local day `day` up to and including UTC time `until` (RFC 3339), by UTC
    /// hour (`2026-11-17T14`), and how many distinct users they came from.
    pub fn events_by_hour_until(
        &self,
        day: NaiveDate,
        until: &str,
    ) -> rusqlite::Result<(Vec<(String, u64)>, u64)> {
        let day = day.to_string();
        let mut stmt = self.conn().prepare_cached(
            "SELECT substr(ts, 1, 13), COUNT(*) FROM events
             WHERE day = ?1 AND ts <= ?2 GROUP BY 1 ORDER BY 1",
        )?;
        let count = |n: i64| u64::try_from(n).unwrap_or(0);
        let hours = stmt
            .query_map([&day, until], |r| {
                Ok((r.get::<_, String>(0)?, count(r.get::<_, i64>(1)?)))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        let users: i64 = self.conn().query_row(
            "SELECT COUNT(DISTINCT user_id) FROM events WHERE day = ?1 AND ts <= ?2",
            [&day, until],
            |r| r.get(0),
        )?;
        Ok((hours, count(users)))
    }
}
