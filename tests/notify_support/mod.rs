//! A tiny HTTP server on 127.0.0.1 for the notification tests, and the demo store with a
//! `[notify]` section, checked through the real binary.
#![allow(clippy::unwrap_used, dead_code)]

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How the server answers a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reply {
    Status(u16),
    /// Accept and read the request, then never answer.
    Silence,
}

#[derive(Debug, Clone)]
pub struct Received {
    pub path: String,
    pub content_type: Option<String>,
    pub body: serde_json::Value,
    /// What the server answered (`None`: it kept silent).
    pub answered: Option<u16>,
}

pub struct Server {
    pub port: u16,
    received: Arc<Mutex<Vec<Received>>>,
    /// Replies in order; the last one repeats.
    script: Arc<Mutex<VecDeque<Reply>>>,
}

impl Server {
    pub fn start(script: &[Reply]) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let received = Arc::new(Mutex::new(Vec::new()));
        let script = Arc::new(Mutex::new(script.iter().copied().collect::<VecDeque<_>>()));
        let (log, replies) = (Arc::clone(&received), Arc::clone(&script));
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let (log, replies) = (Arc::clone(&log), Arc::clone(&replies));
                std::thread::spawn(move || serve(stream, &log, &replies));
            }
        });
        Self {
            port,
            received,
            script,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// From now on, answer every request with `reply`.
    pub fn answer_with(&self, reply: Reply) {
        let mut script = self.script.lock().unwrap();
        script.clear();
        script.push_back(reply);
    }

    pub fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }
}

fn serve(stream: TcpStream, log: &Mutex<Vec<Received>>, replies: &Mutex<VecDeque<Reply>>) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
        return;
    }
    let path = request_line
        .split_whitespace()
        .nth(1)
        .unwrap_or_default()
        .to_string();
    let mut length = 0;
    let mut content_type = None;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        let (name, value) = line.split_once(':').unwrap_or((line, ""));
        match name.to_ascii_lowercase().as_str() {
            "content-length" => length = value.trim().parse().unwrap(),
            "content-type" => content_type = Some(value.trim().to_string()),
            _ => {}
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).unwrap();
    let reply = {
        let mut script = replies.lock().unwrap();
        if script.len() > 1 {
            script.pop_front().unwrap()
        } else {
            *script.front().unwrap_or(&Reply::Status(200))
        }
    };
    log.lock().unwrap().push(Received {
        path,
        content_type,
        body: serde_json::from_slice(&body).unwrap(),
        answered: match reply {
            Reply::Status(code) => Some(code),
            Reply::Silence => None,
        },
    });
    let mut stream = stream;
    match reply {
        Reply::Status(code) => {
            let text = "ok";
            let _ = write!(
                stream,
                "HTTP/1.1 {code} Status\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}",
                text.len()
            );
        }
        // Holds the connection open well past any client timeout of the tests.
        Reply::Silence => std::thread::sleep(Duration::from_secs(30)),
    }
}

/// A copy of the demo store in a folder of its own, with the repository's `kpi.toml`
/// followed by `notify` (a `[notify]` section and its destinations).
pub fn demo_store(notify: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let db = dir.path().join("sample.db");
    std::fs::copy(repo.join("sample.db"), &db).unwrap();
    let config = std::fs::read_to_string(repo.join("kpi.toml")).unwrap();
    let path = dir.path().join("kpi.toml");
    std::fs::write(&path, format!("{config}\n{notify}")).unwrap();
    set_mode(&path, 0o600);
    (dir, db)
}

pub fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// `kpi check --db DB ARGS` with `env`, no proxy in the way of 127.0.0.1.
pub fn check(db: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_kpi"));
    command.arg("check").arg("--db").arg(db).args(args);
    command.env_remove("KPI_DB");
    for var in [
        "http_proxy",
        "HTTP_PROXY",
        "https_proxy",
        "HTTPS_PROXY",
        "ALL_PROXY",
        "all_proxy",
    ] {
        command.env_remove(var);
    }
    for (name, value) in env {
        command.env(name, value);
    }
    command.output().unwrap()
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The keys `kpi check --format json` lists as open.
pub fn open_keys(db: &Path) -> Vec<String> {
    let out = check(db, &["--format", "json"], &[]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    json["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["key"].as_str().unwrap().to_string())
        .collect()
}
