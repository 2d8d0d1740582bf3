//! Webhook URLs are secrets: whoever holds a Slack incoming-webhook URL can post to the
//! channel. Only `scheme://host/…` is ever shown.

use std::path::Path;

/// `https://hooks.slack.com/…`: the scheme and host, without user, path or query.
pub fn redact_url(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..end];
    // user:password@host
    let host = authority.rsplit('@').next().unwrap_or(authority);
    let host = crate::present::clean(host);
    let more = end < rest.len() || host.len() != authority.len();
    let scheme = if scheme.is_empty() {
        String::new()
    } else {
        format!("{}://", crate::present::clean(scheme))
    };
    format!("{scheme}{host}{}", if more { "/…" } else { "" })
}

/// Whether a URL carries more than its host (a path, a query, a user): the part that is
/// usually the token.
pub fn has_secret_part(url: &str) -> bool {
    redact_url(url).ends_with('…')
}

/// `text` with `url`, and its path and query, replaced by the redacted form.
pub fn scrub(text: &str, url: &str) -> String {
    let mut out = text.replace(url, &redact_url(url));
    let (_, rest) = url.split_once("://").unwrap_or(("", url));
    if let Some(start) = rest.find(['/', '?', '#']) {
        let secret = &rest[start..];
        if secret.len() > 1 {
            out = out.replace(secret, "/…");
        }
    }
    out
}

/// The warning for a `kpi.toml` that holds a webhook URL with its token and that users
/// other than its owner may read.
pub fn literal_url_warnings(
    config_path: Option<&Path>,
    config: &crate::config::Config,
) -> Vec<String> {
    use std::os::unix::fs::PermissionsExt;
    let Some(path) = config_path else {
        return Vec::new();
    };
    let Ok(mode) = std::fs::metadata(path).map(|m| m.permissions().mode()) else {
        return Vec::new();
    };
    if mode & 0o044 == 0 {
        return Vec::new();
    }
    config
        .notify
        .destinations
        .iter()
        .filter_map(|d| {
            let url = d.url.as_deref().filter(|u| has_secret_part(u))?;
            Some(format!(
                "warning: {} holds the URL of destination {:?} ({}) with its token and is \
                 readable by others (mode {:o}): chmod 600 it, or move the URL into an \
                 environment variable named by url_env",
                path.display(),
                d.name(),
                redact_url(url),
                mode & 0o777
            ))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_scheme_and_host_of_a_url_are_shown() {
        assert_eq!(
            redact_url("https://hooks.slack.com/services/T0/B0/XYZ"),
            "https://hooks.slack.com/…"
        );
        assert_eq!(redact_url("http://127.0.0.1:81"), "http://127.0.0.1:81");
        assert_eq!(
            redact_url("http://u:secret@h.example/x"),
            "http://h.example/…"
        );
        assert_eq!(
            redact_url("https://h.example?token=1"),
            "https://h.example/…"
        );
        assert!(!has_secret_part("https://h.example"));
        assert!(has_secret_part("https://h.example/hook"));
    }

    #[test]
    fn an_error_naming_the_url_is_scrubbed() {
        let url = "http://127.0.0.1:9/hook/SECRET?k=v";
        let text = format!("cannot reach {url} (or /hook/SECRET?k=v)");
        let scrubbed = scrub(&text, url);
        assert!(!scrubbed.contains("SECRET"), "{scrubbed}");
        assert!(scrubbed.contains("http://127.0.0.1:9/…"), "{scrubbed}");
    }
}
