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
}
