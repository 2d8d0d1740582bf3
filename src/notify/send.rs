//! One attempt at one destination: an HTTP POST, or a mail handed to `sendmail -t`.
//! Every answer is described without the URL's secret part.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::redact::scrub;

/// What one attempt got.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub delivered: bool,
    pub http_status: Option<u16>,
    /// `200`, `500 Internal Server Error`, `timed out after 5000 ms`, `sendmail exited 0`.
    pub text: String,
}

pub fn agent(timeout: Duration) -> ureq::Agent {
    ureq::Agent::config_builder()
        .timeout_global(Some(timeout))
        // A status is an answer to record, not an error.
        .http_status_as_error(false)
        // A redirected POST would arrive elsewhere as a GET: report the 3xx instead.
        .max_redirects(0)
        .user_agent(concat!("kpi/", env!("CARGO_PKG_VERSION")))
        .build()
        .into()
}

pub fn post_json(agent: &ureq::Agent, url: &str, body: &str, timeout: Duration) -> Answer {
    let result = agent
        .post(url)
        .header("Content-Type", "application/json")
        .send(body);
    match result {
        Ok(response) => {
            let status = response.status();
            Answer {
                delivered: status.is_success(),
                http_status: Some(status.as_u16()),
                text: match status.canonical_reason() {
                    Some(reason) if !status.is_success() => {
                        format!("{} {reason}", status.as_u16())
                    }
                    _ => status.as_u16().to_string(),
                },
            }
        }
        Err(ureq::Error::Timeout(_)) => Answer {
            delivered: false,
            http_status: None,
            text: format!("timed out after {} ms", timeout.as_millis()),
        },
        Err(err) => Answer {
            delivered: false,
            http_status: None,
            text: scrub(&err.to_string(), url),
        },
    }
}

/// The sendmail program: the configured one, else the first found.
pub fn find_sendmail(configured: Option<&Path>) -> Option<PathBuf> {
    if let Some(path) = configured {
        return path.is_file().then(|| path.to_path_buf());
    }
    let on_path = std::env::var_os("PATH")
        .map(|paths| {
            std::env::split_paths(&paths)
                .map(|dir| dir.join("sendmail"))
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    on_path
        .into_iter()
        .chain(["/usr/sbin/sendmail", "/usr/lib/sendmail"].map(PathBuf::from))
        .find(|p| p.is_file())
}

/// Hands `message` to `sendmail -t -i` (recipients from the headers; a lone `.` line is
/// text), waiting at most `timeout` for it to take the mail.
pub fn sendmail(program: &Path, message: &str, timeout: Duration) -> Answer {
    let failed = |text: String| Answer {
        delivered: false,
        http_status: None,
        text,
    };
    let mut child = match Command::new(program)
        .args(["-t", "-i"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
    {
        Ok(child) => child,
        Err(err) => return failed(format!("cannot run {}: {err}", program.display())),
    };
    if let Some(mut stdin) = child.stdin.take()
        && let Err(err) = stdin.write_all(message.as_bytes())
    {
        let _ = child.kill();
        let _ = child.wait();
        return failed(format!("cannot write to {}: {err}", program.display()));
    }
    let started = Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(status)) if status.success() => {
                return Answer {
                    delivered: true,
                    http_status: None,
                    text: "sendmail took it".into(),
                };
            }
            Ok(Some(status)) => {
                let mut stderr = String::new();
                if let Some(mut pipe) = child.stderr.take() {
                    let _ = std::io::Read::read_to_string(&mut pipe, &mut stderr);
                }
                let detail = crate::present::clean(stderr.trim()).into_owned();
                return failed(format!("sendmail failed ({status}) {detail}").trim().into());
            }
            Ok(None) if started.elapsed() >= timeout => {
                let _ = child.kill();
                let _ = child.wait();
                return failed(format!(
                    "sendmail timed out after {} ms",
                    timeout.as_millis()
                ));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(10)),
            Err(err) => return failed(format!("sendmail: {err}")),
        }
    }
}
