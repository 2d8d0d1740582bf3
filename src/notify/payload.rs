//! What each kind of destination receives for one alert. JSON bodies are built with
//! serde, which escapes whatever the data holds; mail text is cleaned of control
//! characters (`present::clean`), since a line break in a segment value would otherwise
//! start a header or a line of its own.

use serde_json::{Value, json};

use crate::alerts::{Alert, AlertKind, Tier};
use crate::present::{Change, clean};

/// An alert in words, every string from data already cleaned.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    /// `‼ Net revenue (channel=paid_search), week 2026-W46`.
    pub title: String,
    /// The alert's whole line, as `kpi check` prints it.
    pub sentence: String,
    /// `$12,345 against an average of $15,100 (▼ 18.2%, bad)`; for other kinds, their
    /// own standing.
    pub value: String,
    /// `channel=paid_search 80 %`, largest share first.
    pub drivers: Vec<String>,
    pub owner: String,
    pub follow_up: String,
}

pub fn summary(alert: &Alert, currency: &str) -> Summary {
    let shown = |v: f64| crate::present::value(v, alert.unit, currency);
    let mark = match alert.tier {
        Tier::Strong => "‼",
        Tier::Mild => "!",
    };
    let segment = alert
        .segment_label()
        .map_or_else(|| "total".to_string(), |s| clean(&s).into_owned());
    let title = match alert.kind {
        AlertKind::ImportFailure => format!("{mark} import failed: {segment}"),
        AlertKind::Target => format!("{mark} {} target at risk", clean(&alert.metric_name)),
        AlertKind::Deviation => format!(
            "{mark} {} ({segment}), {} {}",
            clean(&alert.metric_name),
            alert.grain,
            clean(&alert.period)
        ),
    };
    let value = match alert.kind {
        AlertKind::Deviation => {
            let moved = Change::between(alert.unit, Some(alert.rolling_mean), Some(alert.value))
                .map_or_else(|| "n/a".into(), |c| c.text());
            format!(
                "{} against an average of {} ({moved}, {})",
                shown(alert.value),
                shown(alert.rolling_mean),
                if alert.good { "good" } else { "bad" }
            )
        }
        AlertKind::Target => alert.target.as_ref().map_or_else(
            || shown(alert.value),
            |status| crate::present::target(status, alert.unit, alert.direction, currency).line(),
        ),
        AlertKind::ImportFailure => clean(&alert.period).into_owned(),
    };
    let drivers = alert
        .contributors
        .iter()
        .filter(|c| c.share_pct.abs() >= 0.5)
        .take(3)
        .map(|c| {
            format!(
                "{}={} {:.0} %",
                clean(&c.segment.dimension),
                clean(&c.segment.value),
                c.share_pct
            )
        })
        .collect();
    Summary {
        title,
        sentence: crate::alerts::render::alert_line(alert, currency),
        value,
        drivers,
        owner: alert
            .owner
            .as_deref()
            .map_or_else(|| "unassigned".into(), |o| clean(o).into_owned()),
        follow_up: clean(&alert.follow_up).into_owned(),
    }
}

/// The generic webhook's body: the alert object of `kpi check --format json`, with the
/// occurrence it announces and the sentence a person reads.
pub fn webhook(alert: &Alert, summary: &Summary) -> Value {
    json!({
        "event": "alert_opened",
        "source": "kpi",
        "key": alert.key,
        "occurrence": alert.occurrence,
        "text": summary.sentence,
        "alert": alert,
    })
}

/// A Slack-compatible incoming-webhook body. Every text is `plain_text`, so nothing from
/// data is read as Slack markup (a `<!channel>` in a segment name stays text).
pub fn slack(summary: &Summary) -> Value {
    let plain = |text: &str| json!({ "type": "plain_text", "text": text, "emoji": false });
    let drivers = if summary.drivers.is_empty() {
        "no segment stands out".to_string()
    } else {
        summary.drivers.join(", ")
    };
    json!({
        "text": summary.sentence,
        "blocks": [
            { "type": "header", "text": plain(&summary.title) },
            { "type": "section", "text": plain(&summary.sentence) },
            {
                "type": "section",
                "fields": [
                    plain(&format!("Value: {}", summary.value)),
                    plain(&format!("Drivers: {drivers}")),
                    plain(&format!("Owner: {}", summary.owner)),
                    plain(&format!("Follow-up: {}", summary.follow_up)),
                ]
            },
        ]
    })
}

/// A mail for `sendmail -t`: headers naming the recipients, a blank line, the text.
pub fn email(summary: &Summary, to: &[String], from: Option<&str>) -> String {
    let mut out = String::new();
    out.push_str(&format!("To: {}\n", clean_list(to)));
    if let Some(from) = from {
        out.push_str(&format!("From: {}\n", clean(from)));
    }
    out.push_str(&format!(
        "Subject: {}\n",
        encoded_header(&format!("[kpi] {}", summary.title))
    ));
    out.push_str("MIME-Version: 1.0\n");
    out.push_str("Content-Type: text/plain; charset=utf-8\n");
    out.push_str("Content-Transfer-Encoding: 8bit\n\n");
    out.push_str(&format!("{}\n\n", summary.sentence));
    out.push_str(&format!("Value: {}\n", summary.value));
    if !summary.drivers.is_empty() {
        out.push_str(&format!("Drivers: {}\n", summary.drivers.join(", ")));
    }
    out.push_str(&format!("Owner: {}\n", summary.owner));
    out.push_str(&format!("Follow-up: {}\n", summary.follow_up));
    out
}

fn clean_list(addresses: &[String]) -> String {
    addresses
        .iter()
        .map(|a| clean(a).into_owned())
        .collect::<Vec<_>>()
        .join(", ")
}

/// A header value in RFC 2047 `Q` encoding when it is not plain ASCII (tier marks,
/// metric names in any language).
fn encoded_header(text: &str) -> String {
    let text = clean(text);
    if text.is_ascii() {
        return text.into_owned();
    }
    let mut out = String::from("=?UTF-8?Q?");
    for byte in text.bytes() {
        match byte {
            b' ' => out.push('_'),
            b if b.is_ascii_alphanumeric() => out.push(char::from(b)),
            b => out.push_str(&format!("={b:02X}")),
        }
    }
    out.push_str("?=");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Summary {
        Summary {
            title: "‼ Net revenue (channel=paid\nsearch), week 2026-W46".into(),
            sentence: "line".into(),
            value: "$1 against an average of $2".into(),
            drivers: vec!["channel=paid 80 %".into()],
            owner: "Ana".into(),
            follow_up: "Look".into(),
        }
    }

    #[test]
    fn a_mail_subject_in_utf8_is_encoded_and_holds_no_line_break() {
        let mail = email(
            &sample(),
            &["pm@example.com".into()],
            Some("kpi@example.com"),
        );
        let subject = mail.lines().find(|l| l.starts_with("Subject: ")).unwrap();
        assert!(subject.starts_with("Subject: =?UTF-8?Q?"), "{subject}");
        assert!(subject.is_ascii());
        let (headers, body) = mail.split_once("\n\n").unwrap();
        assert_eq!(headers.lines().count(), 6, "{headers}");
        assert!(body.contains("Owner: Ana"));
    }

    #[test]
    fn slack_text_is_plain_text_only() {
        let body = slack(&sample());
        let text = body.to_string();
        assert!(!text.contains("mrkdwn"));
        assert_eq!(body["blocks"][0]["type"], "header");
        assert_eq!(body["blocks"][2]["fields"][2]["text"], "Owner: Ana");
    }
}
