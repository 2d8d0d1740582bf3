//! Mail through a local `sendmail`, and the secrets of webhook URLs: never printed in
//! full, and a readable `kpi.toml` holding one is warned about.
#![allow(clippy::unwrap_used)]

mod notify_support;

use std::net::TcpListener;
use std::path::Path;

use kpi::config::Config;
use kpi::store::Store;
use notify_support::{Reply, Server, check, demo_store, open_keys, set_mode, stderr};

const FAST: &str = "[notify]\ntimeout_ms = 400\nretries = 1\nbackoff_ms = 20\n";

/// A `sendmail` that appends each message it is given to `mail.txt` beside itself.
fn fake_sendmail(dir: &Path) -> std::path::PathBuf {
    let path = dir.join("fake-sendmail");
    std::fs::write(
        &path,
        "#!/bin/sh\necho \"$@\" >> \"$(dirname \"$0\")/args.txt\"\n\
         cat >> \"$(dirname \"$0\")/mail.txt\"\necho '----' >> \"$(dirname \"$0\")/mail.txt\"\n",
    )
    .unwrap();
    set_mode(&path, 0o755);
    path
}

#[test]
fn each_open_alert_is_mailed_once_through_sendmail_with_data_text_cleaned() {
    let bin = tempfile::tempdir().unwrap();
    let sendmail = fake_sendmail(bin.path());
    let (dir, db) = demo_store(&format!(
        "{FAST}\n[[notify.destinations]]\nkind = \"email\"\nto = [\"pm@example.com\", \
         \"cto@example.com\"]\nfrom = \"kpi@example.com\"\nsendmail = \"{}\"\n",
        sendmail.display()
    ));
    let open = open_keys(&db);
    // An owner of an open alert's metric whose name would start a header of its own and
    // colour a terminal.
    let metric = open[0].split('|').next().unwrap().to_string();
    let config_path = dir.path().join("kpi.toml");
    let config = std::fs::read_to_string(&config_path).unwrap();
    let owners: Vec<String> = config
        .lines()
        .filter(|l| !l.starts_with(&format!("{metric} = ")))
        .map(String::from)
        .collect();
    let text = owners.join("\n").replace(
        "[owners]",
        &format!("[owners]\n{metric} = \"Eve\\u001b[31m\\nBcc: evil@example.com\""),
    );
    std::fs::write(&config_path, text).unwrap();

    let plain_exit = check(&db, &[], &[]).status.code();
    let out = check(&db, &["--notify"], &[]);
    assert_eq!(out.status.code(), plain_exit, "{}", stderr(&out));
    let mail = std::fs::read_to_string(bin.path().join("mail.txt")).unwrap();
    let messages: Vec<&str> = mail.split("----\n").filter(|m| !m.is_empty()).collect();
    assert_eq!(messages.len(), open.len());
    let args = std::fs::read_to_string(bin.path().join("args.txt")).unwrap();
    assert!(args.lines().all(|l| l == "-t -i"), "{args}");
    for message in &messages {
        let (headers, body) = message.split_once("\n\n").unwrap();
        assert!(
            headers.starts_with("To: pm@example.com, cto@example.com\nFrom: kpi@example.com\n")
        );
        assert!(headers.lines().any(|l| l.starts_with("Subject: ")));
        assert!(!headers.lines().any(|l| l.starts_with("Bcc:")), "{message}");
        assert!(body.contains("Owner: ") && body.contains("Follow-up: "));
    }
    let eve = messages.iter().find(|m| m.contains("Eve")).unwrap();
    assert!(!eve.contains('\u{1b}'), "{eve}");
    assert!(
        eve.contains("Owner: Eve[31mBcc: evil@example.com\n"),
        "{eve}"
    );

    // Sent once: a second run mails nothing.
    check(&db, &["--notify"], &[]);
    let again = std::fs::read_to_string(bin.path().join("mail.txt")).unwrap();
    assert_eq!(again, mail);
}

#[test]
fn without_sendmail_mail_is_skipped_with_a_note_and_stays_pending() {
    let (_dir, db) = demo_store(&format!(
        "{FAST}\n[[notify.destinations]]\nkind = \"email\"\nto = [\"pm@example.com\"]\n\
         sendmail = \"/nonexistent/sendmail\"\n"
    ));
    let open = open_keys(&db);
    let plain_exit = check(&db, &[], &[]).status.code();
    let out = check(&db, &["--notify"], &[]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), plain_exit, "{err}");
    assert!(
        err.contains("skipped: /nonexistent/sendmail is not installed"),
        "{err}"
    );
    let store = Store::open_read_only(&db).unwrap();
    let keys: Vec<&str> = open.iter().map(String::as_str).collect();
    let log = store.deliveries_for(&keys).unwrap();
    assert_eq!(log.len(), open.len());
    assert!(log.iter().all(|d| !d.sent && d.attempts == 0));
}

#[test]
fn a_readable_kpi_toml_with_a_webhook_token_is_warned_about_without_showing_it() {
    let hook = Server::start(&[Reply::Status(200)]);
    let url = hook.url("/services/T1/B1/very-secret-token");
    let (dir, db) = demo_store(&format!(
        "{FAST}\n[[notify.destinations]]\nkind = \"slack\"\nurl = \"{url}\"\n"
    ));
    let config = dir.path().join("kpi.toml");
    set_mode(&config, 0o644);
    let out = check(&db, &["--notify"], &[]);
    let err = stderr(&out);
    assert!(err.contains("readable by others (mode 644)"), "{err}");
    assert!(
        err.contains(&format!("http://127.0.0.1:{}/…", hook.port)),
        "{err}"
    );
    assert!(!err.contains("very-secret-token"), "{err}");

    set_mode(&config, 0o600);
    let out = check(&db, &["--notify"], &[]);
    assert!(
        !stderr(&out).contains("readable by others"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_url_from_the_environment_is_never_printed_even_when_it_fails() {
    // A port nothing listens on: the connection is refused.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}/hooks/env-secret-token?key=query-secret");
    let (_dir, db) = demo_store(&format!(
        "{FAST}\n[[notify.destinations]]\nkind = \"webhook\"\nurl_env = \"KPI_TEST_HOOK\"\n"
    ));
    let out = check(&db, &["--notify"], &[("KPI_TEST_HOOK", url.as_str())]);
    let all = format!("{}{}", String::from_utf8_lossy(&out.stdout), stderr(&out));
    assert!(all.contains("not delivered"), "{all}");
    assert!(
        !all.contains("env-secret-token") && !all.contains("query-secret"),
        "{all}"
    );
    let store = Store::open_read_only(&db).unwrap();
    let open = open_keys(&db);
    let keys: Vec<&str> = open.iter().map(String::as_str).collect();
    for delivery in store.deliveries_for(&keys).unwrap() {
        assert!(!delivery.answer.contains("secret"), "{delivery:?}");
    }

    // Unset, the variable is named and the alerts wait.
    let out = check(&db, &["--notify"], &[]);
    assert!(
        stderr(&out).contains("KPI_TEST_HOOK is not set"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_destination_config_that_cannot_work_names_its_key_and_line() {
    let parse = |text: &str| {
        Config::parse(text, Path::new("kpi.toml"))
            .unwrap_err()
            .to_string()
    };
    let both = parse(
        "[[notify.destinations]]\nkind = \"slack\"\nurl = \"https://h.example/x\"\n\
         url_env = \"X\"\n",
    );
    assert!(
        both.contains("line 3, notify.destinations[0].url"),
        "{both}"
    );
    let twins = parse(
        "[[notify.destinations]]\nkind = \"webhook\"\nurl_env = \"A\"\n\n\
         [[notify.destinations]]\nkind = \"webhook\"\nurl_env = \"B\"\n",
    );
    assert!(twins.contains("notify.destinations[1].name"), "{twins}");
    let mail = parse(
        "[[notify.destinations]]\nkind = \"email\"\nto = [\"a@example.com\\nBcc: x@example.com\"]\n",
    );
    assert!(mail.contains("is not one email address"), "{mail}");
    let range = parse("[notify]\ntimeout_ms = 0\n");
    assert!(range.contains("line 2, notify.timeout_ms"), "{range}");
}

#[test]
fn notify_on_a_store_it_may_not_write_says_so_and_keeps_the_alerts_exit_code() {
    let hook = Server::start(&[Reply::Status(200)]);
    let (dir, db) = demo_store(&format!(
        "{FAST}\n[[notify.destinations]]\nkind = \"webhook\"\nurl = \"{}\"\n",
        hook.url("/hook")
    ));
    let plain_exit = check(&db, &[], &[]).status.code();
    set_mode(&db, 0o444);
    set_mode(dir.path(), 0o555);
    let out = check(&db, &["--notify"], &[]);
    set_mode(dir.path(), 0o755);
    let err = stderr(&out);
    assert_eq!(out.status.code(), plain_exit, "{err}");
    assert!(
        err.contains("nothing sent") && err.contains("read-only"),
        "{err}"
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("open alerts"));
    assert!(hook.received().is_empty());
}
