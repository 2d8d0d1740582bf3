//! Notifications (SPEC §11): each open alert is sent to every `[[notify.destinations]]`
//! once per occurrence — a generic JSON webhook, a Slack-compatible incoming webhook, or
//! mail through the local `sendmail`.
//!
//! The delivery log in the store (`notify_deliveries`) is what makes "once" hold across
//! runs and processes: an occurrence already sent to a destination is skipped; one that
//! could not be delivered stays pending and is tried again by the next run (the next
//! `kpi check --notify`, the watching cockpit's next evaluation) for as long as its alert
//! is open. Acknowledged and snoozed alerts are not open, so they are not sent.
//!
//! Within a run, a failed attempt (no answer within the timeout, a refused connection,
//! any status but 2xx) is retried `retries` times, waiting `backoff_ms` and then twice as
//! long each time. A destination that still fails is not tried again in that run: its
//! other alerts wait for the next run instead of each costing the whole retry schedule.

pub mod payload;
pub mod redact;
pub mod send;

use std::collections::HashMap;
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::alerts::Alert;
use crate::config::{Config, NotifyDestination, NotifyKind};
use crate::store::Store;
use crate::store::notify_log::DeliveryOutcome;

pub use redact::{literal_url_warnings, redact_url};

#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    #[error("cannot record deliveries: {0}")]
    Store(#[from] rusqlite::Error),
}

/// What one run did for one alert occurrence at one destination.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    pub alert_key: String,
    pub occurrence: u32,
    pub destination: String,
    pub sent: bool,
    /// Attempts in this run; 0 when the destination was not tried.
    pub attempts: u32,
    pub answer: String,
}

impl Report {
    /// One line for stderr or the status bar; never the URL.
    pub fn line(&self) -> String {
        let key = crate::present::clean(&self.alert_key);
        let tries = match self.attempts {
            0 => String::new(),
            1 => ", 1 attempt".into(),
            n => format!(", {n} attempts"),
        };
        if self.sent {
            format!(
                "notify: sent {key} to {} ({}{tries})",
                self.destination, self.answer
            )
        } else {
            format!(
                "notify: not delivered {key} to {}: {}{tries}; pending, tried again on the next run",
                self.destination, self.answer
            )
        }
    }
}

/// Sends every occurrence in `open` not yet delivered, and records each run's attempts
/// through `writer`. `open` holds the open alerts, their occurrence as recorded.
pub fn deliver(
    writer: &Store,
    config: &Config,
    open: &[Alert],
) -> Result<Vec<Report>, NotifyError> {
    let settings = &config.notify;
    if settings.destinations.is_empty() {
        return Ok(Vec::new());
    }
    let timeout = Duration::from_millis(settings.timeout_ms);
    let agent = send::agent(timeout);
    // A destination that could not be reached (or used) this run, and why.
    let mut down: HashMap<String, String> = HashMap::new();
    let mut reports = Vec::new();
    for alert in open {
        let summary = payload::summary(alert, &config.currency);
        for destination in &settings.destinations {
            let name = destination.name();
            if writer.delivered(&alert.key, alert.occurrence, name)? {
                continue;
            }
            let (sent, attempts, http_status, answer) = match down.get(name) {
                Some(reason) => (false, 0, None, format!("not tried: {reason}")),
                None => {
                    let result = attempt(destination, alert, &summary, &agent, settings);
                    match result {
                        Tried::Answered { answer, attempts } => {
                            if !answer.delivered {
                                down.insert(name.to_string(), answer.text.clone());
                            }
                            (answer.delivered, attempts, answer.http_status, answer.text)
                        }
                        Tried::Unusable(reason) => {
                            down.insert(name.to_string(), reason.clone());
                            (false, 0, None, reason)
                        }
                    }
                }
            };
            writer.record_delivery(
                &DeliveryOutcome {
                    alert_key: &alert.key,
                    occurrence: alert.occurrence,
                    destination: name,
                    sent,
                    attempts,
                    http_status,
                    answer: &answer,
                },
                Utc::now(),
            )?;
            reports.push(Report {
                alert_key: alert.key.clone(),
                occurrence: alert.occurrence,
                destination: name.to_string(),
                sent,
                attempts,
                answer,
            });
        }
    }
    Ok(reports)
}

enum Tried {
    Answered {
        answer: send::Answer,
        attempts: u32,
    },
    /// Not tried: the destination cannot be used as configured here.
    Unusable(String),
}

fn attempt(
    destination: &NotifyDestination,
    alert: &Alert,
    summary: &payload::Summary,
    agent: &ureq::Agent,
    settings: &crate::config::NotifyConfig,
) -> Tried {
    let timeout = Duration::from_millis(settings.timeout_ms);
    let once: Box<dyn Fn() -> send::Answer> = match destination.kind {
        NotifyKind::Webhook | NotifyKind::Slack => {
            let url = match resolve_url(destination) {
                Ok(url) => url,
                Err(reason) => return Tried::Unusable(reason),
            };
            let body = match destination.kind {
                NotifyKind::Slack => payload::slack(summary),
                _ => payload::webhook(alert, summary),
            }
            .to_string();
            Box::new(move || send::post_json(agent, &url, &body, timeout))
        }
        NotifyKind::Email => {
            let Some(program) = send::find_sendmail(destination.sendmail.as_deref()) else {
                return Tried::Unusable(match &destination.sendmail {
                    Some(path) => format!("skipped: {} is not installed", path.display()),
                    None => "skipped: sendmail is not installed (looked on PATH, in /usr/sbin \
                             and /usr/lib)"
                        .into(),
                });
            };
            let message = payload::email(summary, &destination.to, destination.from.as_deref());
            Box::new(move || send::sendmail(&program, &message, timeout))
        }
    };
    let mut attempts = 0;
    let mut wait = Duration::from_millis(settings.backoff_ms);
    loop {
        attempts += 1;
        let answer = once();
        if answer.delivered || attempts > settings.retries {
            return Tried::Answered { answer, attempts };
        }
        std::thread::sleep(wait);
        wait = wait.saturating_mul(2);
    }
}

/// The destination's URL, from the file or from the environment variable it names.
fn resolve_url(destination: &NotifyDestination) -> Result<String, String> {
    match (&destination.url, &destination.url_env) {
        (Some(url), _) => Ok(url.clone()),
        (None, Some(var)) => match std::env::var(var) {
            Ok(url) if url.starts_with("https://") || url.starts_with("http://") => Ok(url),
            Ok(url) if url.trim().is_empty() => Err(format!("{var} is empty")),
            // Its value is the secret: named by the variable only.
            Ok(_) => Err(format!("{var} does not hold an http(s) URL")),
            Err(_) => Err(format!("{var} is not set")),
        },
        (None, None) => Err("no url".into()),
    }
}

/// The destinations as the Data pane shows them: name, kind and where, a literal URL
/// redacted and one from the environment by its variable only.
pub fn describe_destinations(config: &Config) -> Vec<String> {
    config
        .notify
        .destinations
        .iter()
        .map(|d| {
            let target = match (d.kind, &d.url, &d.url_env) {
                (NotifyKind::Email, _, _) => d.to.join(", "),
                (_, Some(url), _) => redact_url(url),
                (_, None, Some(var)) => format!("URL from ${var}"),
                _ => String::new(),
            };
            crate::present::clean(&format!("{} ({}): {target}", d.name(), d.kind.label()))
                .into_owned()
        })
        .collect()
}

/// "sent to slack 21:04 (200)" for the Alerts pane, in local time.
pub fn delivery_line(delivery: &crate::store::notify_log::Delivery) -> String {
    let when = DateTime::parse_from_rfc3339(&delivery.last_tried)
        .map(|t| t.with_timezone(&chrono::Local).format("%H:%M").to_string())
        .unwrap_or_else(|_| delivery.last_tried.clone());
    let name = crate::present::clean(&delivery.destination);
    let answer = crate::present::clean(&delivery.answer);
    if delivery.sent {
        format!("sent to {name} {when} ({answer})")
    } else {
        format!(
            "pending for {name}: {answer} (last try {when}, {} attempt{})",
            delivery.attempts,
            if delivery.attempts == 1 { "" } else { "s" }
        )
    }
}
