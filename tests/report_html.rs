//! `kpi report --format html` opened in a real headless browser (Debian's `chromium`):
//! the page renders, and the DOM the browser builds holds the tiles, a trend chart per
//! core KPI, the cohort heatmap and the open alerts with the figures of the JSON report,
//! formatted by the same `present` functions. A label from data holding a script stays
//! text.
//!
//! Without chromium the test fails under CI (`CI` set) and is skipped with a note
//! elsewhere.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use kpi::config::Config;
use kpi::metrics::Unit;
use kpi::present::{self, Change};
use serde_json::Value;

const HOSTILE: &str = "<script>alert(1)</script>";
/// Long enough for a cold start on a loaded 2-core machine; a hung browser is killed.
const BROWSER_TIMEOUT: Duration = Duration::from_secs(120);

fn chromium() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join("chromium"))
        .find(|candidate| candidate.is_file())
}

/// The browser, or `None` (after a note) when it may be missing outside CI.
fn browser_or_skip() -> Option<PathBuf> {
    match chromium() {
        Some(path) => Some(path),
        None if std::env::var_os("CI").is_some() => panic!(
            "chromium is not installed: the HTML readout test needs Debian's `chromium` \
             (`apt-get install -y chromium`; .ci/run installs it)"
        ),
        None => {
            eprintln!("note: chromium not installed, HTML readout browser test skipped");
            None
        }
    }
}

/// Runs `command` to completion with its stdout captured; a browser still running after
/// `BROWSER_TIMEOUT` is killed and the test fails instead of hanging.
fn run_with_timeout(mut command: Command) -> (String, String) {
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start chromium");
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    // Drained on their own threads so a full pipe cannot stall the browser.
    let out = std::thread::spawn(move || {
        let mut text = String::new();
        std::io::Read::read_to_string(&mut stdout, &mut text).unwrap();
        text
    });
    let err = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = std::io::Read::read_to_string(&mut stderr, &mut text);
        text
    });
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > BROWSER_TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            panic!("chromium did not finish within {BROWSER_TIMEOUT:?}: {command:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let (out, err) = (out.join().unwrap(), err.join().unwrap());
    assert!(status.success(), "chromium failed ({status}): {err}");
    (out, err)
}

fn headless(browser: &Path, profile: &Path) -> Command {
    let mut command = Command::new(browser);
    command.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
    ]);
    command.arg(format!("--user-data-dir={}", profile.display()));
    command
}

fn kpi(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_kpi"))
        .args(args)
        .env_remove("KPI_DB")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "kpi {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The demo store and its configuration, plus an annotation whose label is a script and
/// an external metric whose name and segment are.
fn hostile_store(dir: &Path) -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let db = dir.join("sample.db");
    std::fs::copy(root.join("sample.db"), &db).unwrap();
    std::fs::copy(root.join("kpi.toml"), dir.join("kpi.toml")).unwrap();
    let notes = dir.join("annotations.csv");
    std::fs::write(&notes, format!("date,label\n2026-10-12,\"{HOSTILE}\"\n")).unwrap();
    let external = dir.join("metrics.csv");
    std::fs::write(
        &external,
        format!(
            "date,metric,value,segment\n2026-09-05,\"x{HOSTILE}\",2,\"{HOSTILE}\"\n2026-10-05,\"x{HOSTILE}\",3,\"{HOSTILE}\"\n"
        ),
    )
    .unwrap();
    kpi(&[
        "import",
        "--db",
        db.to_str().unwrap(),
        notes.to_str().unwrap(),
        external.to_str().unwrap(),
    ]);
    db
}

/// Text as the browser serializes it inside an element: `&`, `<` and `>` as entities.
fn as_dom_text(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// The element that starts with `open` and ends at the first `close` after it.
fn element<'a>(dom: &'a str, open: &str, close: &str) -> &'a str {
    let start = dom
        .find(open)
        .unwrap_or_else(|| panic!("no {open} in the page"));
    let end = dom[start..]
        .find(close)
        .unwrap_or_else(|| panic!("{open} is not closed by {close}"));
    &dom[start..start + end + close.len()]
}

/// The text of the first element with class `class` inside `html`.
fn text_of_class<'a>(html: &'a str, class: &str) -> &'a str {
    let marker = format!("class=\"{class}\">");
    let start = html
        .find(&marker)
        .unwrap_or_else(|| panic!("no .{class} in {html}"))
        + marker.len();
    let end = html[start..].find('<').unwrap();
    &html[start..start + end]
}

fn unit_of(metric: &Value) -> Unit {
    serde_json::from_value(metric["unit"].clone()).unwrap()
}

fn point<'a>(metric: &'a Value, period: &str) -> Option<&'a Value> {
    metric["series"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["period"] == period)
}

/// Cells of a heatmap row as the page writes them, read from the DOM.
fn heatmap_cells(row: &str) -> Vec<String> {
    row.split("<td")
        .skip(2) // before the first cell, and the cohort size
        .map(|cell| {
            let text = &cell[cell.find('>').unwrap() + 1..];
            text[..text.find('<').unwrap()].to_string()
        })
        .collect()
}

#[test]
fn the_html_readout_renders_in_a_browser_with_the_json_figures_and_data_as_text() {
    let Some(browser) = browser_or_skip() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let db = hostile_store(dir.path());
    let db_arg = db.to_str().unwrap();
    let page = kpi(&["report", "--db", db_arg, "--format", "html"]);
    let json: Value =
        serde_json::from_str(&kpi(&["report", "--db", db_arg, "--format", "json"])).unwrap();
    assert!(page.len() < 1_000_000, "page is {} bytes", page.len());
    // Self-contained: nothing for the browser to run or fetch.
    let lower = page.to_lowercase();
    for fetched in [
        "<script", "<link", "<img", "<iframe", "url(", "@import", "http://", "https://",
    ] {
        assert!(!lower.contains(fetched), "the page holds {fetched}");
    }
    let html_file = dir.path().join("readout.html");
    std::fs::write(&html_file, &page).unwrap();
    let url = format!("file://{}", html_file.display());

    let png = dir.path().join("readout.png");
    let mut shot = headless(&browser, &dir.path().join("profile-shot"));
    shot.arg(format!("--screenshot={}", png.display()))
        .arg("--window-size=1280,2000")
        .arg(&url);
    run_with_timeout(shot);
    let image = std::fs::read(&png).expect("chromium wrote no screenshot");
    assert_eq!(&image[..8], b"\x89PNG\r\n\x1a\n", "not a PNG");
    let width = u32::from_be_bytes(image[16..20].try_into().unwrap());
    let height = u32::from_be_bytes(image[20..24].try_into().unwrap());
    assert_eq!((width, height), (1280, 2000));
    // A blank page compresses to a few kilobytes; charts, tiles and text do not.
    assert!(image.len() > 60_000, "screenshot is {} bytes", image.len());

    let mut dump = headless(&browser, &dir.path().join("profile-dom"));
    dump.arg("--dump-dom").arg(&url);
    let (dom, _) = run_with_timeout(dump);

    let config = Config::load(&dir.path().join("kpi.toml")).unwrap();
    let currency = config.currency.as_str();
    let focus = json["period"].as_str().unwrap();
    let metrics = json["metrics"].as_array().unwrap();
    let overall = |id: &str| {
        metrics
            .iter()
            .find(|m| m["id"] == id && m["segment"].is_null())
            .unwrap_or_else(|| panic!("{id} not in the JSON report"))
    };

    // Tiles: one per core KPI, with the focus period's value and change.
    assert!(!config.core_kpis.is_empty());
    for id in &config.core_kpis {
        let metric = overall(id);
        let unit = unit_of(metric);
        let tile = element(
            &dom,
            &format!("<article class=\"card tile\" data-metric=\"{id}\">"),
            "</article>",
        );
        let now = point(metric, focus).unwrap()["value"].as_f64().unwrap();
        assert_eq!(
            text_of_class(tile, "tile-value"),
            as_dom_text(&present::value(now, unit, currency)),
            "{id} tile"
        );
        let previous = metric["series"]
            .as_array()
            .unwrap()
            .iter()
            .take_while(|p| p["period"] != focus)
            .last()
            .unwrap()["value"]
            .as_f64();
        let change = Change::between(unit, previous, Some(now)).unwrap();
        assert!(
            tile.contains(&format!(">{}</span>", change.text())),
            "{id}: no change {} in {tile}",
            change.text()
        );
        assert!(
            tile.contains("<svg class=\"spark\""),
            "{id} has no sparkline"
        );
        // A trend chart with its line for every core KPI.
        let chart = element(
            &dom,
            &format!("<svg class=\"trend\" data-metric=\"{id}\""),
            "</svg>",
        );
        assert!(chart.contains("<polyline class=\"series\""), "{id} chart");
        assert!(chart.contains("<polyline class=\"mean\""), "{id} mean");
    }
    // The targets of the configuration are drawn on their metric's chart.
    for target in &config.targets {
        let chart = element(
            &dom,
            &format!("<svg class=\"trend\" data-metric=\"{}\"", target.metric),
            "</svg>",
        );
        let unit = unit_of(overall(&target.metric));
        assert!(
            chart.contains(&format!(
                "target {}",
                present::value(target.value, unit, currency)
            )),
            "{} target line",
            target.metric
        );
    }

    // The heatmap: the first cohort variant with rows, its latest cohorts cell by cell.
    let heatmap = element(&dom, "<table class=\"heatmap\">", "</table>");
    let cohorts = json["cohorts"].as_array().unwrap();
    let variant = [
        "purchasing_customers",
        "active_users",
        "subscribed_customers",
    ]
    .into_iter()
    .find(|v| cohorts.iter().any(|c| c["variant"] == *v))
    .unwrap();
    let rows: Vec<&Value> = cohorts.iter().filter(|c| c["variant"] == variant).collect();
    let shown = &rows[rows.len().saturating_sub(12)..];
    let mut forecast_cells = 0;
    for row in shown {
        let cohort = row["cohort"].as_str().unwrap();
        let dom_row = element(
            heatmap,
            &format!("<th class=\"cohort\">{cohort}</th>"),
            "</tr>",
        );
        let expected: Vec<String> = row["cells"]
            .as_array()
            .unwrap()
            .iter()
            .zip(row["forecast"].as_array().unwrap())
            .take(12)
            .map(
                |(cell, forecast)| match (cell.as_f64(), forecast.as_f64()) {
                    (Some(v), _) => present::cohort_share(v),
                    (None, Some(f)) => {
                        forecast_cells += 1;
                        present::cohort_share(f)
                    }
                    _ => String::new(),
                },
            )
            .collect();
        let found = heatmap_cells(dom_row);
        assert_eq!(&found[..expected.len()], &expected[..], "cohort {cohort}");
    }
    assert!(forecast_cells > 0, "the sample has forecast cells to mark");
    assert_eq!(
        heatmap.matches("class=\"cell forecast").count(),
        forecast_cells,
        "every forecast cell is marked"
    );
    assert!(dom.contains("class=\"heat-legend\""), "heatmap legend");

    // Open alerts: every one the JSON reports as not acknowledged, by name.
    let alerts_section = element(&dom, "<section id=\"alerts\">", "</section>");
    let open: Vec<&Value> = json["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["acknowledged"] == false)
        .collect();
    assert!(!open.is_empty(), "the sample has open alerts");
    assert_eq!(
        alerts_section.matches("<li class=\"alert ").count(),
        open.len()
    );
    for alert in &open {
        let name = as_dom_text(alert["metric_name"].as_str().unwrap());
        assert!(
            alerts_section.contains(&format!("<strong>{name}</strong>")),
            "alert on {name}"
        );
    }

    // Freshness: the reference date.
    let freshness = element(&dom, "<section id=\"freshness\">", "</section>");
    assert!(freshness.contains(json["as_of"].as_str().unwrap()));

    // The hostile label and metric name are text wherever they are shown, and no script
    // element appeared.
    let escaped = as_dom_text(HOSTILE);
    assert!(
        dom.matches(escaped.as_str()).count() >= 2,
        "the label is shown as text in the key and on the charts"
    );
    assert!(
        dom.contains(&format!(
            "<div class=\"name\" title=\"x{escaped}\">x{escaped}</div>"
        )),
        "the external metric's name is shown as text"
    );
    assert!(!dom.to_lowercase().contains("<script"), "a script element");

    // Broken down by segment, the hostile segment value is text too.
    let by_segment = kpi(&[
        "report", "--db", db_arg, "--format", "html", "--by", "segment",
    ]);
    assert!(!by_segment.to_lowercase().contains("<script"));
    let segmented_file = dir.path().join("by-segment.html");
    std::fs::write(&segmented_file, &by_segment).unwrap();
    let mut dump = headless(&browser, &dir.path().join("profile-segment"));
    dump.arg("--dump-dom")
        .arg(format!("file://{}", segmented_file.display()));
    let (dom, _) = run_with_timeout(dump);
    assert!(
        dom.contains(&format!("<div class=\"segment\">segment = {escaped}</div>")),
        "the segment value is shown as text"
    );
    assert!(!dom.to_lowercase().contains("<script"), "a script element");
}
