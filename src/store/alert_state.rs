//! Persisted alert state: acknowledgement, snooze, first/last seen and occurrences.

use chrono::{DateTime, NaiveDate, Utc};
use rusqlite::{OptionalExtension, params};

use super::Store;

/// What the store remembers of one alert key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertState {
    pub first_seen: String,
    pub last_seen: String,
    pub occurrence: u32,
    pub acknowledged_at: Option<String>,
    pub snoozed_until: Option<NaiveDate>,
}

impl Store {
    pub fn alert_state(&self, key: &str) -> rusqlite::Result<Option<AlertState>> {
        self.conn
            .query_row(
                "SELECT first_seen, last_seen, occurrence, acknowledged_at, snoozed_until
                 FROM alert_state WHERE alert_key = ?1",
                [key],
                |r| {
                    let snoozed: Option<String> = r.get(4)?;
                    Ok(AlertState {
                        first_seen: r.get(0)?,
                        last_seen: r.get(1)?,
                        occurrence: r.get(2)?,
                        acknowledged_at: r.get(3)?,
                        snoozed_until: snoozed
                            .and_then(|s| NaiveDate::parse_from_str(&s, "%Y-%m-%d").ok()),
                    })
                },
            )
            .optional()
    }

    /// Marks an alert acknowledged; it stays visible but no longer counts as open.
    pub fn acknowledge_alert(&self, key: &str, at: DateTime<Utc>) -> rusqlite::Result<()> {
        let at = at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        self.conn.execute(
            "INSERT INTO alert_state (alert_key, first_seen, last_seen, acknowledged_at)
             VALUES (?1, ?2, ?2, ?2)
             ON CONFLICT (alert_key) DO UPDATE SET acknowledged_at = excluded.acknowledged_at",
            params![key, at],
        )?;
        Ok(())
    }

    /// Undoes [`Store::acknowledge_alert`]: the alert counts as open again.
    pub fn unacknowledge_alert(&self, key: &str) -> rusqlite::Result<()> {
        self.conn.execute(
            "UPDATE alert_state SET acknowledged_at = NULL WHERE alert_key = ?1",
            params![key],
        )?;
        Ok(())
    }

    /// Undoes [`Store::snooze_alert`]: the alert is back in the open list at once.
    pub fn unsnooze_alert(&self, key: &str) -> rusqlite::Result<()> {
        self.conn.execute(
            "UPDATE alert_state SET snoozed_until = NULL WHERE alert_key = ?1",
            params![key],
        )?;
        Ok(())
    }

    /// Hides an alert from the open list until `until` (inclusive).
    pub fn snooze_alert(
        &self,
        key: &str,
        until: NaiveDate,
        at: DateTime<Utc>,
    ) -> rusqlite::Result<()> {
        let at = at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        self.conn.execute(
            "INSERT INTO alert_state (alert_key, first_seen, last_seen, snoozed_until)
             VALUES (?1, ?2, ?2, ?3)
             ON CONFLICT (alert_key) DO UPDATE SET snoozed_until = excluded.snoozed_until",
            params![key, at, until.format("%Y-%m-%d").to_string()],
        )?;
        Ok(())
    }
}

impl Store {
    /// The state each of `firing` would have if an evaluation in which they fire were
    /// recorded, read without writing: a key that had cleared starts a new occurrence and
    /// its old acknowledgement no longer holds. `None` for a key never stored.
    pub fn alert_states_if_firing(
        &self,
        firing: &[&str],
    ) -> rusqlite::Result<Vec<Option<AlertState>>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT first_seen, last_seen, occurrence, acknowledged_at, snoozed_until, active
             FROM alert_state WHERE alert_key = ?1",
        )?;
        firing
            .iter()
            .map(|key| {
                stmt.query_row([key], |r| {
                    let snoozed: Option<String> = r.get(4)?;
                    let cleared = r.get::<_, Option<bool>>(5)? == Some(false);
                    Ok(AlertState {
                        first_seen: r.get(0)?,
                        last_seen: r.get(1)?,
                        occurrence: r.get::<_, u32>(2)? + u32::from(cleared),
                        acknowledged_at: if cleared { None } else { r.get(3)? },
                        snoozed_until: snoozed
                            .and_then(|s| NaiveDate::parse_from_str(&s, "%Y-%m-%d").ok()),
                    })
                })
                .optional()
            })
            .collect()
    }

    /// Records one evaluation: every key in `firing` was seen at `now`; every other key
    /// that was firing before has cleared. A key that had cleared and fires again starts a
    /// new occurrence, and the acknowledgement of the old one no longer holds (a snooze is
    /// a date and does). Returns the state of every firing key, in order.
    pub fn record_alert_evaluation(
        &self,
        firing: &[&str],
        now: DateTime<Utc>,
    ) -> rusqlite::Result<Vec<AlertState>> {
        let at = now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        // `unchecked_transaction` because evaluation holds only a shared `&Store`; SQLite
        // itself still makes the batch atomic.
        let tx = self.conn.unchecked_transaction()?;
        {
            let mut upsert = tx.prepare_cached(
                "INSERT INTO alert_state (alert_key, first_seen, last_seen, occurrence, active)
                 VALUES (?1, ?2, ?2, 1, 1)
                 ON CONFLICT (alert_key) DO UPDATE SET
                     last_seen = excluded.last_seen,
                     occurrence = occurrence + CASE WHEN active = 0 THEN 1 ELSE 0 END,
                     acknowledged_at = CASE WHEN active = 0 THEN NULL ELSE acknowledged_at END,
                     active = 1",
            )?;
            for key in firing {
                upsert.execute(params![key, at])?;
            }
            let firing_now: std::collections::HashSet<&str> = firing.iter().copied().collect();
            let was_firing: Vec<String> = tx
                .prepare("SELECT alert_key FROM alert_state WHERE active = 1")?
                .query_map([], |r| r.get(0))?
                .collect::<Result<_, _>>()?;
            let mut clear =
                tx.prepare_cached("UPDATE alert_state SET active = 0 WHERE alert_key = ?1")?;
            for key in was_firing
                .iter()
                .filter(|k| !firing_now.contains(k.as_str()))
            {
                clear.execute([key])?;
            }
        }
        tx.commit()?;
        firing
            .iter()
            .map(|key| {
                self.alert_state(key)?
                    .ok_or(rusqlite::Error::QueryReturnedNoRows)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn acknowledgement_and_snooze_survive_a_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.db");
        let now = DateTime::parse_from_rfc3339("2026-11-20T08:00:00Z")
            .unwrap()
            .to_utc();
        let until = NaiveDate::from_ymd_opt(2026, 11, 27).unwrap();
        {
            let store = Store::open(&path).unwrap();
            store
                .acknowledge_alert("net_revenue|month|2026-10", now)
                .unwrap();
            store.snooze_alert("nps|week|2026-W46", until, now).unwrap();
        }
        let store = Store::open(&path).unwrap();
        let ack = store
            .alert_state("net_revenue|month|2026-10")
            .unwrap()
            .unwrap();
        assert_eq!(ack.acknowledged_at.as_deref(), Some("2026-11-20T08:00:00Z"));
        assert_eq!(ack.snoozed_until, None);
        let snoozed = store.alert_state("nps|week|2026-W46").unwrap().unwrap();
        assert_eq!(snoozed.snoozed_until, Some(until));
        assert_eq!(snoozed.acknowledged_at, None);
        assert_eq!(store.alert_state("unknown").unwrap(), None);
    }

    #[test]
    fn acknowledgement_and_snooze_can_be_undone_and_stay_undone() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.db");
        let now = at("2026-11-20T08:00:00Z");
        let until = NaiveDate::from_ymd_opt(2026, 11, 27).unwrap();
        {
            let store = Store::open(&path).unwrap();
            store.acknowledge_alert("a", now).unwrap();
            store.snooze_alert("a", until, now).unwrap();
            store.unacknowledge_alert("a").unwrap();
            store.unsnooze_alert("a").unwrap();
        }
        let state = Store::open(&path)
            .unwrap()
            .alert_state("a")
            .unwrap()
            .unwrap();
        assert_eq!(state.acknowledged_at, None);
        assert_eq!(state.snoozed_until, None);
    }

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().to_utc()
    }

    #[test]
    fn an_alert_that_clears_and_returns_is_a_new_occurrence() {
        let store = Store::open_in_memory().unwrap();
        let key = "net_revenue|total|week|2026-W46";
        let first = store
            .record_alert_evaluation(&[key], at("2026-11-20T01:00:00Z"))
            .unwrap();
        assert_eq!(first[0].occurrence, 1);
        assert_eq!(first[0].first_seen, "2026-11-20T01:00:00Z");
        store
            .acknowledge_alert(key, at("2026-11-20T08:00:00Z"))
            .unwrap();
        // Still firing: same occurrence, still acknowledged, last seen moves on.
        let again = store
            .record_alert_evaluation(&[key], at("2026-11-20T09:00:00Z"))
            .unwrap();
        assert_eq!(again[0].occurrence, 1);
        assert_eq!(again[0].last_seen, "2026-11-20T09:00:00Z");
        assert!(again[0].acknowledged_at.is_some());
        // Cleared (late data moved the value back), then back.
        store
            .record_alert_evaluation(&[], at("2026-11-20T10:00:00Z"))
            .unwrap();
        let back = store
            .record_alert_evaluation(&[key], at("2026-11-20T11:00:00Z"))
            .unwrap();
        assert_eq!(back[0].occurrence, 2);
        assert_eq!(back[0].acknowledged_at, None);
        assert_eq!(back[0].first_seen, "2026-11-20T01:00:00Z");
        assert_eq!(back[0].last_seen, "2026-11-20T11:00:00Z");
    }

    #[test]
    fn acknowledging_before_any_evaluation_is_not_a_clearance() {
        let store = Store::open_in_memory().unwrap();
        let key = "nps|total|month|2026-10";
        let until = NaiveDate::from_ymd_opt(2026, 11, 27).unwrap();
        store
            .acknowledge_alert(key, at("2026-11-20T08:00:00Z"))
            .unwrap();
        store
            .snooze_alert(key, until, at("2026-11-20T08:00:00Z"))
            .unwrap();
        let state = store
            .record_alert_evaluation(&[key], at("2026-11-20T09:00:00Z"))
            .unwrap();
        assert_eq!(state[0].occurrence, 1);
        assert!(state[0].acknowledged_at.is_some());
        assert_eq!(state[0].snoozed_until, Some(until));
        // A snooze outlives a clearance; the acknowledgement does not.
        store
            .record_alert_evaluation(&[], at("2026-11-20T10:00:00Z"))
            .unwrap();
        let state = store
            .record_alert_evaluation(&[key], at("2026-11-20T11:00:00Z"))
            .unwrap();
        assert_eq!(state[0].occurrence, 2);
        assert_eq!(state[0].acknowledged_at, None);
        assert_eq!(state[0].snoozed_until, Some(until));
    }

    #[test]
    fn reading_state_without_recording_sees_a_returning_alert_as_a_new_occurrence() {
        let store = Store::open_in_memory().unwrap();
        let key = "nps|total|week|2026-W46";
        store
            .record_alert_evaluation(&[key], at("2026-11-20T01:00:00Z"))
            .unwrap();
        store
            .acknowledge_alert(key, at("2026-11-20T02:00:00Z"))
            .unwrap();
        let firing = store.alert_states_if_firing(&[key, "never seen"]).unwrap();
        assert_eq!(firing[0].as_ref().unwrap().occurrence, 1);
        assert!(firing[0].as_ref().unwrap().acknowledged_at.is_some());
        assert_eq!(firing[1], None);
        store
            .record_alert_evaluation(&[], at("2026-11-20T03:00:00Z"))
            .unwrap();
        let back = store.alert_states_if_firing(&[key]).unwrap()[0]
            .clone()
            .unwrap();
        // What recording it would say, without writing anything.
        assert_eq!(back.occurrence, 2);
        assert_eq!(back.acknowledged_at, None);
        assert_eq!(store.alert_state(key).unwrap().unwrap().occurrence, 1);
    }
}
