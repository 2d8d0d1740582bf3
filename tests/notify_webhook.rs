//! `kpi check --notify` against real HTTP servers on 127.0.0.1: what they receive, what is
//! retried and recorded, and that an occurrence is sent once across runs.
#![allow(clippy::unwrap_used)]

mod notify_support;

use std::collections::BTreeMap;

use chrono::Utc;
use kpi::store::Store;
use notify_support::{Reply, Server, check, demo_store, open_keys, stderr};

const FAST: &str = "[notify]\ntimeout_ms = 400\nretries = 2\nbackoff_ms = 20\n";

fn webhook(url: &str) -> String {
    format!("\n[[notify.destinations]]\nkind = \"webhook\"\nurl = \"{url}\"\n")
}

/// Received bodies by alert key.
fn by_key(server: &Server) -> BTreeMap<String, Vec<notify_support::Received>> {
    let mut map: BTreeMap<String, Vec<_>> = BTreeMap::new();
    for r in server.received() {
        let key = r.body["key"]
            .as_str()
            .or_else(|| {
                // Slack bodies carry the key at the end of their sentence.
                r.body["text"]
                    .as_str()
                    .and_then(|t| t.rsplit("key ").next())
            })
            .unwrap()
            .to_string();
        map.entry(key).or_default().push(r);
    }
    map
}

#[test]
fn each_open_alert_reaches_the_webhook_and_slack_once_across_two_runs() {
    let hook = Server::start(&[Reply::Status(200)]);
    let slack = Server::start(&[Reply::Status(200)]);
    let config = format!(
        "{FAST}{}\n[[notify.destinations]]\nkind = \"slack\"\nurl_env = \"KPI_TEST_SLACK_URL\"\n",
        webhook(&hook.url("/hook"))
    );
    let (_dir, db) = demo_store(&config);
    let open = open_keys(&db);
    assert!(open.len() > 5, "the demo has open alerts: {open:?}");
    let slack_url = slack.url("/services/T000/B000/slack-token");
    let env = [("KPI_TEST_SLACK_URL", slack_url.as_str())];

    let plain_exit = check(&db, &[], &[]).status.code();
    let first = check(&db, &["--notify"], &env);
    assert_eq!(
        first.status.code(),
        plain_exit,
        "the exit code reflects the alerts: {}",
        stderr(&first)
    );
    let hooks = by_key(&hook);
    assert_eq!(
        hooks.keys().cloned().collect::<Vec<_>>(),
        {
            let mut sorted = open.clone();
            sorted.sort();
            sorted
        },
        "every open alert, nothing else"
    );
    assert!(hooks.values().all(|bodies| bodies.len() == 1));

    // The generic webhook: the alert object of `kpi check --format json`, and a sentence.
    let revenue = hook
        .received()
        .into_iter()
        .find(|r| {
            r.body["alert"]["contributors"]
                .as_array()
                .is_some_and(|c| !c.is_empty())
        })
        .unwrap();
    assert_eq!(revenue.path, "/hook");
    assert_eq!(revenue.content_type.as_deref(), Some("application/json"));
    let body = &revenue.body;
    assert_eq!(body["event"], "alert_opened");
    assert_eq!(body["occurrence"], 1);
    assert_eq!(body["alert"]["key"], body["key"]);
    for field in [
        "metric",
        "period",
        "value",
        "rolling_mean",
        "change_pct",
        "tier",
        "follow_up",
    ] {
        assert!(!body["alert"][field].is_null(), "{field} missing: {body}");
    }
    assert!(body["text"].as_str().unwrap().contains(" average ("));

    // Slack: blocks with the sentence, the value against its average, drivers, owner and
    // follow-up, all plain text.
    let slack_bodies = slack.received();
    assert_eq!(slack_bodies.len(), open.len());
    assert!(
        slack_bodies
            .iter()
            .all(|r| r.path == "/services/T000/B000/slack-token")
    );
    let with_owner = slack_bodies
        .iter()
        .map(|r| &r.body)
        .find(|b| b.to_string().contains("Owner: Ana (Engineering)"))
        .unwrap();
    let blocks = with_owner["blocks"].as_array().unwrap();
    assert_eq!(blocks[0]["type"], "header");
    assert_eq!(blocks[1]["text"]["text"], with_owner["text"]);
    let fields: Vec<&str> = blocks[2]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            assert_eq!(f["type"], "plain_text");
            f["text"].as_str().unwrap()
        })
        .collect();
    assert!(fields[0].starts_with("Value: ") && fields[0].contains("against an average of"));
    assert!(fields[1].starts_with("Drivers: "));
    assert_eq!(fields[2], "Owner: Ana (Engineering)");
    assert!(fields[3].starts_with("Follow-up: "));
    assert!(slack_bodies.iter().any(|r| {
        r.body["blocks"][2]["fields"][1]["text"]
            .as_str()
            .unwrap()
            .contains('=')
    }));

    // Recorded as sent, with the answer.
    let store = Store::open_read_only(&db).unwrap();
    let keys: Vec<&str> = open.iter().map(String::as_str).collect();
    let log = store.deliveries_for(&keys).unwrap();
    assert_eq!(log.len(), 2 * open.len());
    assert!(
        log.iter()
            .all(|d| d.sent && d.attempts == 1 && d.http_status == Some(200))
    );
    drop(store);

    // The second run has nothing new to say.
    let second = check(&db, &["--notify"], &env);
    assert_eq!(second.status.code(), plain_exit);
    assert_eq!(hook.received().len(), open.len(), "{}", stderr(&second));
    assert_eq!(slack.received().len(), open.len());

    // Neither run printed the Slack URL's secret part.
    for out in [&first, &second] {
        let all = format!("{}{}", String::from_utf8_lossy(&out.stdout), stderr(out));
        assert!(!all.contains("slack-token"), "{all}");
    }
}

#[test]
fn a_500_is_retried_and_recorded_once_delivered() {
    let hook = Server::start(&[Reply::Status(500), Reply::Status(200)]);
    let (_dir, db) = demo_store(&format!("{FAST}{}", webhook(&hook.url("/hook"))));
    let open = open_keys(&db);
    let out = check(&db, &["--notify"], &[]);
    let err = stderr(&out);
    let received = hook.received();
    assert_eq!(received.len(), open.len() + 1, "{err}");
    // The first alert was sent twice: 500, then 200.
    assert_eq!(received[0].body, received[1].body);
    assert_eq!(received[0].answered, Some(500));
    assert_eq!(received[1].answered, Some(200));
    let first_key = received[0].body["key"].as_str().unwrap();
    let store = Store::open_read_only(&db).unwrap();
    let log = store.deliveries_for(&[first_key]).unwrap();
    assert_eq!(log.len(), 1);
    assert!(log[0].sent);
    assert_eq!(log[0].attempts, 2);
    assert_eq!(log[0].http_status, Some(200));
    assert!(err.contains("2 attempts"), "{err}");
}

#[test]
fn a_destination_that_never_answers_is_reported_and_delivered_on_a_later_run() {
    let hook = Server::start(&[Reply::Silence]);
    let (_dir, db) = demo_store(&format!("{FAST}{}", webhook(&hook.url("/hook"))));
    let open = open_keys(&db);
    let plain_exit = check(&db, &[], &[]).status.code();

    let started = std::time::Instant::now();
    let down = check(&db, &["--notify"], &[]);
    let err = stderr(&down);
    assert_eq!(down.status.code(), plain_exit, "{err}");
    assert!(err.contains("timed out after 400 ms"), "{err}");
    assert!(err.contains("pending"), "{err}");
    // Three attempts at the first alert; the rest wait instead of each timing out.
    assert_eq!(hook.received().len(), 3, "{err}");
    assert!(started.elapsed() < std::time::Duration::from_secs(20));
    {
        let store = Store::open_read_only(&db).unwrap();
        let keys: Vec<&str> = open.iter().map(String::as_str).collect();
        let log = store.deliveries_for(&keys).unwrap();
        assert_eq!(
            log.len(),
            open.len(),
            "every occurrence is pending, none lost"
        );
        assert!(log.iter().all(|d| !d.sent));
        assert_eq!(log.iter().map(|d| d.attempts).sum::<u32>(), 3);
    }

    hook.answer_with(Reply::Status(200));
    let back = check(&db, &["--notify"], &[]);
    assert_eq!(back.status.code(), plain_exit);
    let delivered: Vec<String> = hook
        .received()
        .iter()
        .filter(|r| r.answered == Some(200))
        .map(|r| r.body["key"].as_str().unwrap().to_string())
        .collect();
    let mut expected = open.clone();
    expected.sort();
    let mut got = delivered.clone();
    got.sort();
    assert_eq!(
        got, expected,
        "each one delivered once when the destination is back"
    );
    let store = Store::open_read_only(&db).unwrap();
    let keys: Vec<&str> = open.iter().map(String::as_str).collect();
    assert!(store.deliveries_for(&keys).unwrap().iter().all(|d| d.sent));
}

#[test]
fn a_404_is_reported_as_failed_with_its_status() {
    let hook = Server::start(&[Reply::Status(404)]);
    let (_dir, db) = demo_store(&format!("{FAST}{}", webhook(&hook.url("/gone"))));
    let open = open_keys(&db);
    let out = check(&db, &["--notify"], &[]);
    let err = stderr(&out);
    assert!(err.contains("404 Not Found"), "{err}");
    assert_eq!(
        hook.received().len(),
        3,
        "retried twice, then left for the next run"
    );
    let store = Store::open_read_only(&db).unwrap();
    let keys: Vec<&str> = open.iter().map(String::as_str).collect();
    let log = store.deliveries_for(&keys).unwrap();
    let tried: Vec<_> = log.iter().filter(|d| d.attempts > 0).collect();
    assert_eq!(tried.len(), 1);
    assert_eq!(tried[0].http_status, Some(404));
    assert!(!tried[0].sent);
    assert_eq!(tried[0].attempts, 3);
    assert!(log.iter().all(|d| !d.sent));
}

#[test]
fn acknowledged_and_snoozed_alerts_are_not_sent() {
    let hook = Server::start(&[Reply::Status(200)]);
    let (_dir, db) = demo_store(&format!("{FAST}{}", webhook(&hook.url("/hook"))));
    let open = open_keys(&db);
    {
        let store = Store::open(&db).unwrap();
        store.acknowledge_alert(&open[0], Utc::now()).unwrap();
        let far = chrono::NaiveDate::from_ymd_opt(2099, 1, 1).unwrap();
        store.snooze_alert(&open[1], far, Utc::now()).unwrap();
    }
    let out = check(&db, &["--notify"], &[]);
    let sent: Vec<String> = hook
        .received()
        .iter()
        .map(|r| r.body["key"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(sent.len(), open.len() - 2, "{}", stderr(&out));
    assert!(!sent.contains(&open[0]));
    assert!(!sent.contains(&open[1]));
}

#[test]
fn an_alert_that_clears_and_returns_is_sent_again_as_a_new_occurrence() {
    let hook = Server::start(&[Reply::Status(200)]);
    let (_dir, db) = demo_store(&format!("{FAST}{}", webhook(&hook.url("/hook"))));
    let open = open_keys(&db);
    check(&db, &["--notify"], &[]);
    assert_eq!(hook.received().len(), open.len());
    // An evaluation in which nothing fires: every alert cleared (late data, say).
    Store::open(&db)
        .unwrap()
        .record_alert_evaluation(&[], Utc::now())
        .unwrap();
    check(&db, &["--notify"], &[]);
    let received = hook.received();
    assert_eq!(received.len(), 2 * open.len());
    assert!(
        received[open.len()..]
            .iter()
            .all(|r| r.body["occurrence"] == 2)
    );
}

#[test]
fn plain_check_sends_nothing_and_leaves_the_store_unchanged() {
    let hook = Server::start(&[Reply::Status(200)]);
    let (_dir, db) = demo_store(&format!("{FAST}{}", webhook(&hook.url("/hook"))));
    let before = std::fs::read(&db).unwrap();
    let out = check(&db, &[], &[]);
    assert!(matches!(out.status.code(), Some(1 | 2)));
    assert!(hook.received().is_empty());
    assert!(
        std::fs::read(&db).unwrap() == before,
        "reading wrote the store"
    );
}
