//! The watching cockpit sends notifications from a thread of its own: the alerts reach
//! the screen while a destination is still timing out, what was not delivered is sent
//! on a later evaluation, and the Alerts pane shows what went out.
#![allow(clippy::unwrap_used)]

mod common;
mod notify_support;

use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

use kpi::config::Config;
use kpi::store::notify_log::Delivery;
use kpi::ui::keymap::Msg;
use kpi::ui::update::Effect;
use kpi::ui::{Tab, fixture, worker};
use notify_support::{Reply, Server, demo_store};

/// Messages until `done` says stop, failing after `limit`.
fn until(results: &Receiver<Msg>, limit: Duration, done: impl Fn(&Msg) -> bool) -> Vec<Msg> {
    let deadline = Instant::now() + limit;
    let mut seen = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let msg = results
            .recv_timeout(left)
            .unwrap_or_else(|_| panic!("timed out; saw {} messages", seen.len()));
        let stop = done(&msg);
        seen.push(msg);
        if stop {
            return seen;
        }
    }
}

fn is_notify_status(msg: &Msg) -> bool {
    matches!(msg, Msg::Status(text) if text.starts_with("notify:"))
}

#[test]
fn the_watching_cockpit_sends_from_its_own_thread_and_retries_on_the_next_evaluation() {
    let hook = Server::start(&[Reply::Silence]);
    let notify = format!(
        "[notify]\ntimeout_ms = 500\nretries = 1\nbackoff_ms = 20\n\n[[notify.destinations]]\n\
         kind = \"webhook\"\nname = \"ops\"\nurl = \"{}\"\n",
        hook.url("/hook/secret-token")
    );
    let (dir, db) = demo_store(&notify);
    let config = Config::load(&dir.path().join("kpi.toml")).unwrap();
    // `writing`: the cockpit under --watch.
    let worker = worker::open(&db, config, None, true).unwrap();
    let (effects, inbox) = mpsc::channel();
    let (results, outbox) = mpsc::channel();
    std::thread::spawn(move || worker.run(&inbox, &results, |msg| msg));

    effects.send(Effect::LoadSnapshot).unwrap();
    let first = until(&outbox, Duration::from_secs(60), is_notify_status);
    let alerts_at = first
        .iter()
        .position(|m| matches!(m, Msg::AlertsLoaded(Ok(_))))
        .expect("the alerts were evaluated");
    let open = match &first[alerts_at] {
        Msg::AlertsLoaded(Ok(evaluation)) => {
            let as_of =
                kpi::metrics::reference_date(&kpi::store::Store::open_read_only(&db).unwrap())
                    .unwrap()
                    .unwrap();
            evaluation.open_alerts(as_of)
        }
        _ => unreachable!(),
    };
    assert!(!open.is_empty());
    // The alerts reached the screen before the destination had timed out even once.
    assert!(alerts_at < first.len() - 1);
    let Some(Msg::Status(status)) = first.last() else {
        unreachable!()
    };
    assert!(
        status.contains("pending") && status.contains("timed out"),
        "{status}"
    );
    assert!(!status.contains("secret-token"), "{status}");
    assert_eq!(
        hook.received().len(),
        2,
        "one alert tried twice, the rest waited"
    );

    // The destination is back: the next evaluation delivers every open alert once.
    hook.answer_with(Reply::Status(200));
    effects.send(Effect::LoadSnapshot).unwrap();
    let second = until(
        &outbox,
        Duration::from_secs(60),
        |m| matches!(m, Msg::DeliveriesLoaded(rows) if !rows.is_empty() && rows.iter().all(|d| d.sent)),
    );
    assert!(
        second
            .iter()
            .any(|m| matches!(m, Msg::Status(s) if s == &format!("notify: sent {} alert notifications", open.len()))),
        "{:?}",
        second.iter().filter(|m| matches!(m, Msg::Status(_))).collect::<Vec<_>>()
    );
    let mut delivered: Vec<String> = hook
        .received()
        .iter()
        .filter(|r| r.answered == Some(200))
        .map(|r| r.body["key"].as_str().unwrap().to_string())
        .collect();
    delivered.sort();
    let mut expected: Vec<String> = open.iter().map(|a| a.key.clone()).collect();
    expected.sort();
    assert_eq!(delivered, expected);
    drop(effects);
}

#[test]
fn the_alerts_pane_shows_what_was_sent_and_what_is_pending() {
    let mut app = fixture::app(fixture::snapshot());
    app.tab = Tab::Alerts;
    let text = common::text(&app, 100, 40);
    assert!(!text.contains("notified"), "nothing sent yet: {text}");
    let row = |alert: &kpi::alerts::Alert, destination: &str, sent: bool, answer: &str| Delivery {
        alert_key: alert.key.clone(),
        occurrence: alert.occurrence,
        destination: destination.into(),
        sent,
        attempts: if sent { 1 } else { 3 },
        http_status: Some(if sent { 200 } else { 500 }),
        answer: answer.into(),
        first_tried: "2026-11-20T21:04:00Z".into(),
        last_tried: "2026-11-20T21:04:00Z".into(),
    };
    for alert in &app.snapshot.alerts {
        app.alerts.deliveries.push(row(alert, "slack", true, "200"));
        app.alerts
            .deliveries
            .push(row(alert, "ops", false, "500 Internal Server Error"));
    }
    let text = common::text(&app, 100, 40);
    let sent = text.lines().find(|l| l.contains("sent to slack")).unwrap();
    assert!(
        sent.contains("notified") && sent.contains("(200)"),
        "{text}"
    );
    assert!(
        text.contains("pending for ops: 500 Internal Server Error"),
        "{text}"
    );
}

#[test]
fn the_data_pane_names_the_destinations_without_their_urls() {
    let mut app = fixture::app(fixture::snapshot());
    app.tab = Tab::Data;
    app.live = Some(kpi::ui::app::LiveStatus::new("/srv/exports".into()));
    app.snapshot.config = Config::parse(
        "[[notify.destinations]]\nkind = \"slack\"\nurl = \"https://hooks.slack.com/services/T1/B1/tok3n\"\n\n\
         [[notify.destinations]]\nkind = \"webhook\"\nname = \"ops\"\nurl_env = \"KPI_OPS_URL\"\n",
        std::path::Path::new("kpi.toml"),
    )
    .unwrap();
    let text = common::text(&app, 200, 40);
    assert!(
        text.contains("notify → slack (slack): https://hooks.slack.com/…"),
        "{text}"
    );
    assert!(
        text.contains("notify → ops (webhook): URL from $KPI_OPS_URL"),
        "{text}"
    );
    assert!(!text.contains("tok3n"), "{text}");
}
