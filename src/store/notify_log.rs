//! The delivery log of `notify`: per alert occurrence and destination, whether it was
//! sent, how many attempts it took, and what the destination answered.

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, params};

use super::Store;

/// One row of the delivery log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub alert_key: String,
    pub occurrence: u32,
    pub destination: String,
    /// Delivered; otherwise still pending, tried again on the next run.
    pub sent: bool,
    pub attempts: u32,
    pub http_status: Option<u16>,
    /// What the last attempt got ("200", "timed out after 5 s"), secrets removed.
    pub answer: String,
    pub first_tried: String,
    /// When the last attempt was made (UTC, RFC 3339): for a sent row, when it was sent.
    pub last_tried: String,
}

/// The outcome of one run's attempts at one occurrence and destination.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryOutcome<'a> {
    pub alert_key: &'a str,
    pub occurrence: u32,
    pub destination: &'a str,
    pub sent: bool,
    /// Attempts made in this run (0 when the destination was not tried).
    pub attempts: u32,
    pub http_status: Option<u16>,
    pub answer: &'a str,
}

impl Store {
    /// Whether this occurrence of the alert has been delivered to `destination`.
    pub fn delivered(
        &self,
        alert_key: &str,
        occurrence: u32,
        destination: &str,
    ) -> rusqlite::Result<bool> {
        if !self.has_delivery_log()? {
            return Ok(false);
        }
        let status: Option<String> = self
            .conn
            .query_row(
                "SELECT status FROM notify_deliveries
                 WHERE alert_key = ?1 AND occurrence = ?2 AND destination = ?3",
                params![alert_key, occurrence, destination],
                |r| r.get(0),
            )
            .optional()?;
        Ok(status.as_deref() == Some("sent"))
    }

    /// Adds one run's attempts to the log. A row once sent stays sent: a later failure
    /// cannot make a delivered occurrence pending again.
    pub fn record_delivery(
        &self,
        outcome: &DeliveryOutcome<'_>,
        now: DateTime<Utc>,
    ) -> rusqlite::Result<()> {
        let at = now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        self.conn.execute(
            "INSERT INTO notify_deliveries (alert_key, occurrence, destination, status,
                 attempts, http_status, answer, first_tried, last_tried)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8)
             ON CONFLICT (alert_key, occurrence, destination) DO UPDATE SET
                 attempts = attempts + excluded.attempts,
                 http_status = excluded.http_status,
                 answer = excluded.answer,
                 last_tried = excluded.last_tried,
                 status = excluded.status
             WHERE status <> 'sent'",
            params![
                outcome.alert_key,
                outcome.occurrence,
                outcome.destination,
                if outcome.sent { "sent" } else { "failed" },
                outcome.attempts,
                outcome.http_status,
                outcome.answer,
                at
            ],
        )?;
        Ok(())
    }

    /// The log rows of the given alert keys, by key, occurrence and destination. A store
    /// that an older kpi wrote and no writer has upgraded has no log yet: nothing was sent.
    pub fn deliveries_for(&self, alert_keys: &[&str]) -> rusqlite::Result<Vec<Delivery>> {
        if !self.has_delivery_log()? {
            return Ok(Vec::new());
        }
        let mut stmt = self.conn.prepare_cached(
            "SELECT alert_key, occurrence, destination, status, attempts, http_status, answer,
                    first_tried, last_tried
             FROM notify_deliveries WHERE alert_key = ?1
             ORDER BY occurrence, destination",
        )?;
        let mut all = Vec::new();
        for key in alert_keys {
            let rows = stmt.query_map([key], |r| {
                Ok(Delivery {
                    alert_key: r.get(0)?,
                    occurrence: r.get(1)?,
                    destination: r.get(2)?,
                    sent: r.get::<_, String>(3)? == "sent",
                    attempts: r.get(4)?,
                    http_status: r.get(5)?,
                    answer: r.get(6)?,
                    first_tried: r.get(7)?,
                    last_tried: r.get(8)?,
                })
            })?;
            for row in rows {
                all.push(row?);
            }
        }
        Ok(all)
    }

    fn has_delivery_log(&self) -> rusqlite::Result<bool> {
        self.conn.query_row(
            "SELECT EXISTS (SELECT 1 FROM sqlite_master
                            WHERE type = 'table' AND name = 'notify_deliveries')",
            [],
            |r| r.get(0),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().to_utc()
    }

    fn outcome<'a>(sent: bool, attempts: u32, answer: &'a str) -> DeliveryOutcome<'a> {
        DeliveryOutcome {
            alert_key: "nps|total|week|2026-W46",
            occurrence: 1,
            destination: "slack",
            sent,
            attempts,
            http_status: Some(if sent { 200 } else { 500 }),
            answer,
        }
    }

    #[test]
    fn attempts_add_up_across_runs_and_a_sent_row_stays_sent() {
        let store = Store::open_in_memory().unwrap();
        let key = "nps|total|week|2026-W46";
        assert!(!store.delivered(key, 1, "slack").unwrap());
        store
            .record_delivery(&outcome(false, 3, "500"), at("2026-11-20T21:00:00Z"))
            .unwrap();
        assert!(!store.delivered(key, 1, "slack").unwrap());
        store
            .record_delivery(&outcome(true, 1, "200"), at("2026-11-20T21:05:00Z"))
            .unwrap();
        assert!(store.delivered(key, 1, "slack").unwrap());
        store
            .record_delivery(&outcome(false, 1, "500"), at("2026-11-20T21:10:00Z"))
            .unwrap();
        let rows = store.deliveries_for(&[key]).unwrap();
        assert_eq!(rows.len(), 1);
        assert!(rows[0].sent);
        assert_eq!(rows[0].attempts, 4);
        assert_eq!(rows[0].http_status, Some(200));
        assert_eq!(rows[0].first_tried, "2026-11-20T21:00:00Z");
        assert_eq!(rows[0].last_tried, "2026-11-20T21:05:00Z");
        // Another occurrence is another delivery.
        assert!(!store.delivered(key, 2, "slack").unwrap());
    }
}
