//! What the headless commands print, seen from the terminal they print on: nothing from
//! the data may act on it (escape sequences, C1 controls, bidi overrides), a spreadsheet
//! opening `--format csv` evaluates no formula, and a reader that stops early
//! (`kpi report | head -1`) is no failure.
#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Output, Stdio};

const KPI: &str = env!("CARGO_BIN_EXE_kpi");

/// OSC 0 sets the window or tmux pane title.
const TITLE: &str = "\x1b]0;pane-title\x07";
/// OSC 52 writes the clipboard (`clip` in base64).
const CLIPBOARD: &str = "\x1b]52;c;Y2xpcA==\x07";
/// CSI 2J clears the screen.
const CLEAR: &str = "\x1b[2J";
/// The 8-bit forms: C1 CSI, C1 OSC … C1 ST.
const C1: &str = "\u{9b}1m\u{9d}0;c1-title\u{9c}";
/// Right-to-left override, isolates and marks: the text reads differently than stored.
const BIDI: &str = "\u{202E}\u{2066}\u{2067}\u{200F}\u{061C}";

/// The characters of `text` a terminal would act on (the line feed is the only one kpi
/// writes on purpose). Spelled out here rather than taken from the library, so the
/// test does not share a mistake with the code it checks.
fn acted_on(text: &str) -> Vec<char> {
    text.chars()
        .filter(|&c| {
            (c.is_control() && c != '\n')
                || matches!(
                    c,
                    '\u{202A}'..='\u{202E}'
                        | '\u{2066}'..='\u{2069}'
                        | '\u{200E}'
                        | '\u{200F}'
                        | '\u{061C}'
                )
        })
        .collect()
}

fn assert_plain(what: &str, bytes: &[u8]) -> String {
    let text = String::from_utf8(bytes.to_vec()).unwrap();
    let found = acted_on(&text);
    assert!(found.is_empty(), "{what} writes {found:?} raw:\n{text:?}");
    text
}

fn kpi(dir: &Path, args: &[&str]) -> Output {
    Command::new(KPI)
        .current_dir(dir)
        .args(args)
        .env_remove("KPI_DB")
        .output()
        .unwrap()
}

/// A folder of exports where a file name, a header, metric names and segment values all
/// carry escape sequences: one file that imports (with an ignored column and a reject)
/// and one that fails on its header.
fn hostile_exports() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let exports = dir.path().join("exports");
    std::fs::create_dir(&exports).unwrap();
    let metric = format!("{TITLE}churn{BIDI}");
    let plan = format!("{CLIPBOARD}pro{C1}\x7f");
    let mut rows = format!("date,metric,value,segment,note{CLIPBOARD}{BIDI}\n");
    for day in 1..=20 {
        rows.push_str(&format!("2025-06-{day:02},{metric},{day},{plan},x\n"));
    }
    rows.push_str(&format!("2025-06-21,{metric},12{CLEAR},{plan},x\n"));
    std::fs::write(exports.join(format!("metrics_{TITLE}{C1}{BIDI}.csv")), rows).unwrap();
    std::fs::write(
        exports.join(format!("orders_{TITLE}broken{BIDI}.csv")),
        format!("order_id,customer_id,order_date,revenue{C1}{CLEAR}\no1,c1,2025-06-01,10\n"),
    )
    .unwrap();
    dir
}

fn imported() -> (tempfile::TempDir, Output) {
    let dir = hostile_exports();
    let out = kpi(dir.path(), &["import", "--db", "launch.db", "exports"]);
    (dir, out)
}

#[test]
fn import_prints_file_names_headers_and_values_without_their_escape_sequences() {
    let (_dir, out) = imported();
    assert_eq!(out.status.code(), Some(3), "one file fails");
    let stdout = assert_plain("kpi import (stdout)", &out.stdout);
    let stderr = assert_plain("kpi import (stderr)", &out.stderr);
    // The lines are still there, as plain text.
    assert!(
        stdout.contains(
            "metrics_]0;pane-title1m0;c1-title.csv: metrics, 21 read, 20 upserted, 1 rejected"
        ),
        "{stdout}"
    );
    assert!(
        stdout.contains("ignored columns: note]52;c;Y2xpcA=="),
        "{stdout}"
    );
    assert!(
        stderr.contains("orders_]0;pane-titlebroken.csv: missing required column revenue"),
        "{stderr}"
    );
    assert!(stderr.contains("revenue1m0;c1-title[2J"), "{stderr}");
}

#[test]
fn report_markdown_prints_metric_names_and_segment_values_without_osc_sequences() {
    let (dir, _) = imported();
    let out = kpi(
        dir.path(),
        &["report", "--db", "launch.db", "--by", "segment"],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report = assert_plain("kpi report", &out.stdout);
    assert!(report.contains("| ]0;pane-titlechurn |"), "{report}");
    assert!(
        report.contains("↳ segment = ]52;c;Y2xpcA==pro1m0;c1-title |"),
        "{report}"
    );
    // The failed import is an alert naming the file.
    assert!(
        report.contains("orders_]0;pane-titlebroken.csv"),
        "{report}"
    );
}

#[test]
fn check_prints_file_names_without_bidi_controls() {
    let (dir, _) = imported();
    let out = kpi(dir.path(), &["check", "--db", "launch.db"]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "a failed import is a strong alert"
    );
    let text = assert_plain("kpi check", &out.stdout);
    assert!(
        text.contains("import failed: orders_]0;pane-titlebroken.csv"),
        "{text}"
    );
}

/// The JSON `kpi ARGS` prints, checked for raw control characters first.
fn json_output(dir: &Path, args: &[&str]) -> serde_json::Value {
    let out = kpi(dir, args);
    let text = assert_plain(&args.join(" "), &out.stdout);
    serde_json::from_str(&text).unwrap()
}

#[test]
fn report_and_check_json_keep_the_exact_strings_escaped() {
    let (dir, _) = imported();
    let report = json_output(
        dir.path(),
        &["report", "--db", "launch.db", "--format", "json"],
    );
    let names: Vec<&str> = report["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m["name"].as_str())
        .collect();
    assert!(
        names.contains(&format!("{TITLE}churn{BIDI}").as_str()),
        "{names:?}"
    );
    let check = json_output(
        dir.path(),
        &["check", "--db", "launch.db", "--format", "json"],
    );
    let files: Vec<&str> = check["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|a| a["segment"]["value"].as_str())
        .collect();
    assert_eq!(files, [format!("orders_{TITLE}broken{BIDI}.csv")]);
}

/// A store `launch.db` whose only data is an external metric with each of `names`,
/// segmented by each of `segments`, valued `value`.
fn metrics_store(names: &[&str], segments: &[&str], value: f64) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let mut lines = String::new();
    for name in names {
        for segment in segments {
            let row = serde_json::json!({
                "date": "2025-06-30", "metric": name, "segment": segment, "value": value
            });
            lines.push_str(&format!("{row}\n"));
        }
    }
    std::fs::write(dir.path().join("metrics.ndjson"), lines).unwrap();
    let out = kpi(
        dir.path(),
        &["import", "--db", "launch.db", "metrics.ndjson"],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    dir
}

const FORMULA_STARTS: [&str; 6] = [
    "=HYPERLINK(\"http://evil.example\",\"x\")",
    "+cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(A1)",
    "\t=1+1",
    "\r=1+1",
];

#[test]
fn report_csv_quotes_text_cells_that_start_like_a_formula_but_not_negative_values() {
    let dir = metrics_store(&FORMULA_STARTS, &FORMULA_STARTS, -42.5);
    let out = kpi(
        dir.path(),
        &[
            "report",
            "--db",
            "launch.db",
            "--format",
            "csv",
            "--by",
            "segment",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut reader = csv::Reader::from_reader(out.stdout.as_slice());
    let header = reader.headers().unwrap().clone();
    let column = |name: &str| header.iter().position(|h| h == name).unwrap();
    let (metric, name, segment, value) = (
        column("metric"),
        column("name"),
        column("segment_value"),
        column("value"),
    );
    let formula_start = ['=', '+', '-', '@', '\t', '\r'];
    let mut neutralised: [std::collections::BTreeSet<char>; 3] = Default::default();
    let mut negative_values = 0;
    for row in reader.records() {
        let row = row.unwrap();
        for (seen, column) in neutralised.iter_mut().zip([metric, name, segment]) {
            let cell = &row[column];
            assert!(
                !cell.starts_with(formula_start),
                "{cell:?} would be evaluated"
            );
            if let Some(quoted) = cell.strip_prefix('\'') {
                seen.extend(quoted.chars().next());
            }
        }
        // Numbers stay numbers, negative ones included.
        if !row[value].is_empty() {
            assert_eq!(
                row[value].parse::<f64>().unwrap(),
                -42.5,
                "{:?}",
                &row[value]
            );
            negative_values += 1;
        }
    }
    // (The importer trims the tab and the carriage return, leaving `=1+1`.)
    for seen in &neutralised {
        assert_eq!(seen.iter().collect::<String>(), "+-=@");
    }
    assert!(negative_values > 0);
}

/// Starts `kpi ARGS`, reads its first line and closes the pipe, as `| head -1` does.
/// The output is far larger than a pipe's buffer, so kpi is still writing when the
/// reader goes away.
fn first_line_then_close(args: &[&str], dir: &Path) -> (String, std::process::ExitStatus, String) {
    let mut child = Command::new(KPI)
        .current_dir(dir)
        .args(args)
        .env_remove("KPI_DB")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    {
        let mut reader = BufReader::new(child.stdout.take().unwrap());
        reader.read_line(&mut first).unwrap();
    }
    let out = child.wait_with_output().unwrap();
    (
        first,
        out.status,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn report_piped_into_head_exits_0() {
    let segments: Vec<String> = (0..3_000)
        .map(|i| format!("segment-{i:05}-with-a-name-long-enough-to-fill-the-pipe"))
        .collect();
    let segments: Vec<&str> = segments.iter().map(String::as_str).collect();
    let dir = metrics_store(&["visits"], &segments, 1.0);
    let (first, status, stderr) = first_line_then_close(
        &["report", "--db", "launch.db", "--by", "segment"],
        dir.path(),
    );
    assert!(first.starts_with("# KPI readout"), "{first}");
    assert!(status.success(), "{status:?} {stderr}");
    assert!(stderr.is_empty(), "{stderr}");
}

#[test]
fn import_piped_into_head_exits_0() {
    let dir = tempfile::tempdir().unwrap();
    let exports = dir.path().join("exports");
    std::fs::create_dir(&exports).unwrap();
    for i in 0..400 {
        std::fs::write(
            exports.join(format!(
                "metrics_{i:03}_{}.csv",
                "long-export-name-".repeat(10)
            )),
            format!("date,metric,value\n2025-06-01,m{i},1\n"),
        )
        .unwrap();
    }
    let (first, status, stderr) =
        first_line_then_close(&["import", "--db", "launch.db", "exports"], dir.path());
    assert!(first.contains("metrics, 1 read, 1 upserted"), "{first}");
    assert!(status.success(), "{status:?} {stderr}");
    assert!(stderr.is_empty(), "{stderr}");
}

#[test]
fn import_watch_prints_file_names_headers_and_values_without_their_escape_sequences() {
    let dir = hostile_exports();
    let child = Command::new(KPI)
        .current_dir(dir.path())
        .args(["import", "--db", "launch.db", "--watch", "exports"])
        .env_remove("KPI_DB")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Both files are handled on the first scan; wait until the store logged them.
    let logged = || -> i64 {
        rusqlite::Connection::open(dir.path().join("launch.db"))
            .and_then(|c| {
                c.busy_timeout(std::time::Duration::from_secs(5))?;
                c.query_row("SELECT count(*) FROM import_log", [], |r| r.get(0))
            })
            .unwrap_or(0)
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    while logged() < 2 {
        assert!(
            std::time::Instant::now() < deadline,
            "the files were not imported"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let out = child.wait_with_output().unwrap();
    let stdout = assert_plain("kpi import --watch (stdout)", &out.stdout);
    assert_plain("kpi import --watch (stderr)", &out.stderr);
    assert!(
        stdout.contains("metrics_]0;pane-title1m0;c1-title.csv"),
        "{stdout}"
    );
    assert!(
        stdout.contains("orders_]0;pane-titlebroken.csv"),
        "{stdout}"
    );
}
