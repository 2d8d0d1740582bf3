//! The real binary in a real terminal (tmux): every pane, grain, help, acknowledging an
//! alert, a resize below the minimum and back, quitting — and, after quitting, a signal
//! or a panic, a shell whose terminal settings are exactly what they were before.
//!
//! Each step is one helper that acts and waits for what the user would then see, so the
//! test reads as the session it replays. With an empty store the panes show their
//! empty-state text; once import and metrics land, the same steps take real values
//! (pass them as the `expect` arguments).
//!
//! No fixed sleeps: every wait polls `capture-pane` until the text appears or the timeout
//! (`KPI_E2E_TIMEOUT_MS`, default 10 s) fails the test with the screen it last saw.
//! tmux missing is a failure, not a skip, so this test can't pass vacuously.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

static SESSIONS: AtomicUsize = AtomicUsize::new(0);

/// A private tmux server holding one shell; killed when dropped, even on failure.
struct Tmux {
    socket: String,
    /// The server's socket file, removed with the server.
    socket_path: Option<PathBuf>,
    _dir: tempfile::TempDir,
    db: PathBuf,
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["-L", &self.socket, "kill-server"])
            .output();
        if let Some(path) = &self.socket_path {
            let _ = std::fs::remove_file(path);
        }
    }
}

fn timeout() -> Duration {
    let ms = std::env::var("KPI_E2E_TIMEOUT_MS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    Duration::from_millis(ms)
}

/// The store a session starts beside.
enum Fixture {
    Empty,
    /// The shipped demo store (`sample.db`) with its `kpi.toml`.
    Demo,
}

impl Tmux {
    /// A shell in a `width`×`height` window, beside a fresh empty store.
    fn start(width: u16, height: u16) -> Self {
        Self::start_with(width, height, Fixture::Empty)
    }

    /// A shell in a `width`×`height` window, beside a store made from `fixture`.
    fn start_with(width: u16, height: u16, fixture: Fixture) -> Self {
        let version = Command::new("tmux").arg("-V").output();
        assert!(
            version.as_ref().is_ok_and(|o| o.status.success()),
            "tmux is required for the end-to-end test (apt-get install tmux): {version:?}"
        );
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("launch.db");
        match fixture {
            // A fresh store as `kpi import` leaves it before any file: schema, no rows.
            Fixture::Empty => drop(kpi::store::Store::open(&db).unwrap()),
            // A copy, so acknowledging an alert never touches the committed file.
            Fixture::Demo => {
                let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
                std::fs::copy(repo.join("sample.db"), &db).unwrap();
                std::fs::copy(repo.join("kpi.toml"), dir.path().join("kpi.toml")).unwrap();
            }
        }
        let socket = format!(
            "kpi-e2e-{}-{}",
            std::process::id(),
            SESSIONS.fetch_add(1, Ordering::SeqCst)
        );
        let mut tmux = Self {
            socket,
            socket_path: None,
            _dir: dir,
            db,
        };
        tmux.run(&[
            "new-session",
            "-d",
            "-x",
            &width.to_string(),
            "-y",
            &height.to_string(),
            "-e",
            "TERM=xterm-256color",
            "bash --norc --noprofile",
        ]);
        let socket_path = tmux.run(&["display", "-p", "#{socket_path}"]);
        tmux.socket_path = Some(PathBuf::from(socket_path.trim()));
        tmux.wait_until("the shell prompt", |s| !s.trim().is_empty());
        tmux
    }

    fn run(&self, args: &[&str]) -> String {
        let out = Command::new("tmux")
            .args(["-L", &self.socket])
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "tmux {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Named keys (`Tab`, `Escape`, `Enter`) or single characters.
    fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", "0"];
        args.extend_from_slice(keys);
        self.run(&args);
    }

    fn type_line(&self, line: &str) {
        self.run(&["send-keys", "-t", "0", "-l", line]);
        self.keys(&["Enter"]);
    }

    fn screen(&self) -> String {
        self.run(&["capture-pane", "-p", "-t", "0"])
    }

    fn wait_until(&self, what: &str, ready: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + timeout();
        loop {
            let screen = self.screen();
            if ready(&screen) {
                return screen;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}; the screen was:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(25));
        }
    }

    fn wait_for(&self, text: &str, what: &str) -> String {
        self.wait_until(what, |s| s.contains(text))
    }

    fn resize(&self, width: u16, height: u16) {
        self.run(&[
            "resize-window",
            "-t",
            "0",
            "-x",
            &width.to_string(),
            "-y",
            &height.to_string(),
        ]);
    }

    /// Whether the program in the pane has asked for mouse events (any-event and SGR
    /// tracking, as crossterm's mouse capture does): `(any, sgr)`.
    fn mouse_capture(&self) -> (bool, bool) {
        let flags = self.run(&[
            "display",
            "-p",
            "-t",
            "0",
            "#{mouse_any_flag}#{mouse_sgr_flag}",
        ]);
        let flags = flags.trim();
        (flags.starts_with('1'), flags.ends_with('1'))
    }

    /// A left click where `text` is drawn, sent as the raw SGR mouse report a terminal
    /// writes (press, then release), since `send-keys` has no mouse of its own here.
    fn click(&self, text: &str) {
        let screen = self.screen();
        let (row, column) = screen
            .lines()
            .enumerate()
            .find_map(|(y, line)| {
                let byte = line.find(text)?;
                Some((y, line[..byte].chars().count()))
            })
            .unwrap_or_else(|| panic!("{text:?} is not on the screen:\n{screen}"));
        let (x, y) = (column + 1, row + 1);
        let report = format!("\x1b[<0;{x};{y}M\x1b[<0;{x};{y}m");
        let hex: Vec<String> = report.bytes().map(|b| format!("{b:02x}")).collect();
        let mut args = vec!["send-keys", "-t", "0", "-H"];
        args.extend(hex.iter().map(String::as_str));
        self.run(&args);
    }

    fn alternate_screen_on(&self) -> bool {
        self.run(&["display", "-p", "-t", "0", "#{alternate_on}"])
            .trim()
            == "1"
    }

    /// The pid of the program running in the shell (the cockpit).
    fn cockpit_pid(&self) -> String {
        let shell = self.run(&["display", "-p", "-t", "0", "#{pane_pid}"]);
        let out = Command::new("pgrep")
            .args(["-P", shell.trim()])
            .output()
            .unwrap();
        let pid = String::from_utf8_lossy(&out.stdout).trim().to_string();
        assert!(!pid.is_empty(), "the cockpit is not running");
        pid
    }
}

fn kpi_bin() -> &'static str {
    env!("CARGO_BIN_EXE_kpi")
}

/// Starts the cockpit on the store, remembering the terminal settings so the end of the
/// session can prove they came back unchanged.
fn open_cockpit(tmux: &Tmux, env: &str, expect: &str) -> String {
    open_cockpit_with(tmux, env, "", expect)
}

/// [`open_cockpit`] with more arguments (`--no-mouse`).
fn open_cockpit_with(tmux: &Tmux, env: &str, args: &str, expect: &str) -> String {
    tmux.type_line(&format!(
        "S=$(stty -g); {env} {} --db {} {args}; echo EXIT=$? SAME=$([ \"$S\" = \"$(stty -g)\" ] && echo yes || echo no)",
        kpi_bin(),
        path(&tmux.db)
    ));
    let screen = tmux.wait_until("the cockpit's first frame", |s| {
        s.contains("1 Overview") && s.contains(expect)
    });
    assert!(
        tmux.alternate_screen_on(),
        "the cockpit uses the alternate screen"
    );
    for title in ["2 Trends", "3 Drivers", "4 Cohorts", "5 Alerts", "6 Data"] {
        assert!(screen.contains(title), "{title} missing:\n{screen}");
    }
    assert!(
        screen.contains("launch.db"),
        "the status line names the store:\n{screen}"
    );
    screen
}

fn path(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

/// Presses `key` and waits until the pane shows `heading` and `expect`.
fn visit(tmux: &Tmux, key: &str, heading: &str, expect: &str) -> String {
    tmux.keys(&[key]);
    tmux.wait_until(&format!("{heading} after {key}"), |s| {
        s.contains(heading) && s.contains(expect)
    })
}

fn change_grain(tmux: &Tmux, to: &str) {
    tmux.keys(&["g"]);
    tmux.wait_for(&format!("grain {to}"), "the new grain in the tab bar");
}

fn open_and_close_help(tmux: &Tmux) {
    let screen = visit(
        tmux,
        "?",
        "Keys — ? or Esc closes",
        "acknowledge / snooze alert",
    );
    for (keys, _) in kpi::ui::keymap::Keymap::default().help() {
        assert!(screen.contains(&keys), "help lacks {keys}:\n{screen}");
    }
    tmux.keys(&["Escape"]);
    tmux.wait_until("help to close", |s| !s.contains("Keys — ? or Esc"));
}

/// In Alerts, `a` on the selected alert; waits for `expect` (on data: "· acked").
fn acknowledge_alert(tmux: &Tmux, expect: &str) {
    visit(tmux, "5", "Alerts", "");
    tmux.keys(&["a"]);
    tmux.wait_for(expect, "the alert's acknowledged state");
}

/// In Trends, End (and `G`) jump to the last metric and Home back to the first.
fn jump_to_list_ends(tmux: &Tmux, first_header: &str) {
    visit(tmux, "2", "Metrics  / filter", first_header);
    tmux.keys(&["End"]);
    tmux.wait_until("End to leave the first metric", |s| {
        !s.contains(first_header)
    });
    tmux.keys(&["Home"]);
    tmux.wait_for(first_header, "Home back to the first metric");
    tmux.keys(&["G"]);
    tmux.wait_until("G to leave the first metric", |s| !s.contains(first_header));
    tmux.keys(&["PPage", "PPage", "PPage", "PPage", "PPage", "PPage"]);
    tmux.wait_for(first_header, "PgUp back to the first metric");
}

/// In Alerts, `/` filters the list in place (it used to jump to Trends) and Esc clears it.
fn filter_alerts(tmux: &Tmux) {
    visit(tmux, "5", "Alerts", "");
    tmux.keys(&["/", "n", "p", "s", "Enter"]);
    let screen = tmux.wait_for("/nps (Esc clears)", "the alert filter in the title");
    assert!(!screen.contains("Metrics  /"), "/ left Alerts:\n{screen}");
    tmux.keys(&["Escape"]);
    tmux.wait_until("the alert filter to clear", |s| !s.contains("/nps"));
}

/// A mouse click on a tab opens its pane.
fn click_a_tab(tmux: &Tmux) {
    assert_eq!(
        tmux.mouse_capture(),
        (true, true),
        "the cockpit captures the mouse"
    );
    tmux.click("3 Drivers");
    tmux.wait_for("KPI (y)", "the Drivers pane after a click on its tab");
}

/// `n` / `N` step through the annotations (month grain, 12 months to October 2026: the
/// first inside is the 2025 Black Friday sale); Esc lets go.
fn step_through_annotations(tmux: &Tmux) {
    tmux.keys(&["n"]);
    let screen = tmux.wait_for(
        "annotation 5 of 10: 2025-11-28 Campaign: Black Friday sale",
        "n to the first annotation drawn",
    );
    assert!(screen.contains("Annotations  n N"), "{screen}");
    assert!(screen.contains("◆ 2025-11-28"), "{screen}");
    tmux.keys(&["n"]);
    tmux.wait_for("annotation 6 of 10: 2026-01-12", "n to the next annotation");
    tmux.keys(&["N"]);
    tmux.wait_for("annotation 5 of 10", "N back");
    tmux.keys(&["Escape"]);
    tmux.wait_until("Esc to let go of the annotation", |s| {
        !s.contains("◆ 2025-11-28")
    });
}

/// `c` compares October 2026 with October 2025 in the tiles; `{` `}` move the period
/// shown, `<` `>` the one compared with; `c` again stops.
fn compare_two_periods(tmux: &Tmux) {
    visit(tmux, "1", "Newest alerts", "");
    tmux.keys(&["c"]);
    let screen = tmux.wait_for("2026-10  $70,741", "October 2026 in the compare tile");
    assert!(screen.contains("2025-10  "), "{screen}");
    assert!(screen.contains("vs 2025-10"), "{screen}");
    tmux.keys(&["{"]);
    tmux.wait_for("vs 2025-09", "{ to the month before, a year apart still");
    tmux.keys(&["}"]);
    tmux.wait_for("vs 2025-10", "} back");
    tmux.keys(&["<"]);
    tmux.wait_for("vs 2025-09", "< to an earlier base");
    tmux.keys(&[">"]);
    tmux.wait_for("vs 2025-10", "> back");
    tmux.keys(&["c"]);
    tmux.wait_until("c to stop comparing", |s| !s.contains("vs 2025-10"));
}

/// Enter on a tile lists the accounts behind it; Esc closes; Enter on an alert shows its
/// accounts in its details.
fn drill_into_a_tile_and_an_alert(tmux: &Tmux) {
    visit(tmux, "1", "Newest alerts", "");
    tmux.keys(&["Enter"]);
    // The worker reads them: the list follows the heading.
    let screen = tmux.wait_until("the accounts behind net revenue", |s| {
        s.contains("accounts by revenue of completed orders, 2026-10 vs 2026-09")
            && s.contains("      change")
    });
    assert!(screen.contains("Behind the number"), "{screen}");
    tmux.keys(&["Escape"]);
    tmux.wait_until("Esc to close the drill-down", |s| {
        !s.contains("Behind the number")
    });
    visit(tmux, "5", "Alerts", "");
    tmux.keys(&["Enter"]);
    tmux.wait_until("the alert's accounts", |s| {
        s.contains("Esc back") && (s.contains("accounts by") || s.contains("no per-account"))
    });
    tmux.keys(&["Escape"]);
    tmux.wait_until("Esc back to the list", |s| !s.contains("Esc back"));
}

fn resize_below_minimum_and_back(tmux: &Tmux, width: u16, height: u16) {
    tmux.resize(60, 20);
    let screen = tmux.wait_for("terminal too small", "the too-small notice");
    assert!(screen.contains("60×20, needs 80×24"), "{screen}");
    assert!(!screen.contains("1 Overview"), "{screen}");
    tmux.resize(width, height);
    tmux.wait_for("1 Overview", "the layout after growing back");
}

/// After the cockpit exits: its exit code, the same `stty` settings as before, the main
/// screen back, and a prompt that runs commands.
fn assert_terminal_restored(tmux: &Tmux, exit_code: i32) {
    // The printed code, not the typed command: a long command line wraps, and its
    // `EXIT=$?` may start a line of the screen before the cockpit even started.
    let screen = tmux.wait_until("the shell after the cockpit", |s| {
        s.lines().any(|l| {
            l.strip_prefix("EXIT=")
                .is_some_and(|code| code.starts_with(|c: char| c.is_ascii_digit()))
        })
    });
    assert!(
        screen.contains(&format!("EXIT={exit_code} SAME=yes")),
        "expected exit {exit_code} with unchanged stty settings:\n{screen}"
    );
    assert!(!tmux.alternate_screen_on(), "still on the alternate screen");
    assert_eq!(
        tmux.mouse_capture(),
        (false, false),
        "the mouse is still captured: the shell would get escape codes for every click"
    );
    tmux.type_line("echo prompt-$((40+2))");
    tmux.wait_for("prompt-42", "the shell to run a command");
}

#[test]
fn a_session_through_every_pane_leaves_the_terminal_as_it_was() {
    let tmux = Tmux::start(100, 30);
    open_cockpit(&tmux, "", "no data — import orders");
    visit(&tmux, "2", "Metrics  / filter", "no data — import orders");
    visit(
        &tmux,
        "3",
        "KPI (y)",
        "no period where both have a value — import orders",
    );
    visit(
        &tmux,
        "4",
        "Cohorts — purchasing customers",
        "no cohorts yet — import",
    );
    visit(&tmux, "5", "Alerts", "no data — import orders");
    visit(&tmux, "6", "Tables", "no imports yet");
    tmux.keys(&["Tab"]);
    tmux.wait_for("Newest alerts", "Tab to wrap to Overview");
    tmux.keys(&["BTab"]);
    tmux.wait_for("Import log", "Shift-Tab back to Data");
    change_grain(&tmux, "month");
    open_and_close_help(&tmux);
    // The empty store has no alert; with data, expect "· acked".
    acknowledge_alert(&tmux, "no data — import orders");
    resize_below_minimum_and_back(&tmux, 100, 30);
    tmux.keys(&["q"]);
    assert_terminal_restored(&tmux, 0);
}

#[test]
fn a_session_on_the_demo_store_shows_its_numbers_in_every_pane() {
    let tmux = Tmux::start_with(120, 36, Fixture::Demo);
    // Net revenue of ISO week 46 of 2026, the latest complete week of the demo data.
    open_cockpit(&tmux, "", "$20,911  2026-W46");
    visit(
        &tmux,
        "2",
        "Metrics  / filter",
        "Gross revenue  $21,406 2026-W46",
    );
    visit(&tmux, "3", "KPI (y)", "r = +0.63 · R² 0.40 · n 12");
    visit(
        &tmux,
        "4",
        "Cohorts — purchasing customers",
        "2024-12      41",
    );
    visit(&tmux, "5", "Alerts", "‼");
    visit(&tmux, "6", "Tables", "20,259");
    tmux.keys(&["Tab"]);
    tmux.wait_for("Newest alerts", "Tab to wrap to Overview");
    change_grain(&tmux, "month");
    tmux.wait_for("$70,741  2026-10", "October's net revenue at month grain");
    open_and_close_help(&tmux);
    // The acknowledged alert moves below the open ones; the status line confirms it.
    acknowledge_alert(&tmux, "· acknowledged ");
    filter_alerts(&tmux);
    jump_to_list_ends(&tmux, "Gross revenue  $73,102 2026-10");
    step_through_annotations(&tmux);
    compare_two_periods(&tmux);
    drill_into_a_tile_and_an_alert(&tmux);
    click_a_tab(&tmux);
    resize_below_minimum_and_back(&tmux, 120, 36);
    tmux.keys(&["q"]);
    assert_terminal_restored(&tmux, 0);

    // The acknowledgement outlived the session.
    let store = kpi::store::Store::open(&tmux.db).unwrap();
    let acknowledged: i64 = store
        .conn()
        .query_row(
            "SELECT count(*) FROM alert_state WHERE acknowledged_at IS NOT NULL",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(acknowledged, 1);
}

/// Issue 15: `y` puts the focused metric's series on the clipboard through OSC 52 (tmux
/// with `set-clipboard on` keeps it as a paste buffer), `e` writes the Alerts pane beside
/// the store and says where, and `[keys]` in kpi.toml rebinds quit from `q` to `x`.
#[test]
fn copy_export_and_a_remapped_key_work_in_a_real_terminal() {
    let tmux = Tmux::start_with(120, 36, Fixture::Demo);
    let toml = tmux.db.with_file_name("kpi.toml");
    let mut config = std::fs::read_to_string(&toml).unwrap();
    config.push_str("\n[keys]\nquit = \"x\"\n");
    std::fs::write(&toml, config).unwrap();
    tmux.run(&["set-option", "-g", "set-clipboard", "on"]);
    open_cockpit(&tmux, "", "$20,911  2026-W46");
    // t: the launch view (today so far against last week, by hour) and back to the tiles.
    tmux.keys(&["t"]);
    tmux.wait_for("Today until", "the launch view");
    tmux.keys(&["t"]);
    tmux.wait_for("$20,911  2026-W46", "the tiles back");

    tmux.keys(&["y"]);
    tmux.wait_for(
        "copied: Net revenue",
        "the copy confirmed in the status line",
    );
    let deadline = Instant::now() + timeout();
    let buffer = loop {
        let out = Command::new("tmux")
            .args(["-L", &tmux.socket, "show-buffer"])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        if text.contains("2026-W46") || Instant::now() > deadline {
            break text;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(buffer.starts_with("Net revenue by week"), "{buffer}");
    let week = buffer
        .lines()
        .find_map(|l| l.strip_prefix("2026-W46\t"))
        .unwrap_or_else(|| panic!("{buffer}"));
    let value: f64 = week.parse().unwrap();
    assert!((value - 20_911.0).abs() < 1.0, "{week}");

    visit(&tmux, "5", "Alerts", "‼");
    tmux.keys(&["e"]);
    let screen = tmux.wait_for("exported to", "where the export went");
    let dir = tmux.db.parent().unwrap().to_path_buf();
    let exported: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().contains("kpi-alerts-"))
        .collect();
    assert_eq!(exported.len(), 1, "{screen}");
    let csv = std::fs::read_to_string(&exported[0]).unwrap();
    assert!(csv.starts_with("tier,metric,segment,period"), "{csv}");
    // E: the same pane as markdown, in a file of its own beside the CSV.
    tmux.keys(&["E"]);
    let deadline = Instant::now() + timeout();
    let markdown = loop {
        let found = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| {
                p.extension().is_some_and(|x| x == "md")
                    && p.to_string_lossy().contains("kpi-alerts-")
            });
        // Read until written whole: the file is created before its contents land.
        let text = found.and_then(|p| std::fs::read_to_string(p).ok());
        if let Some(text) = text.filter(|t| t.contains("| tier |")) {
            break text;
        }
        assert!(
            Instant::now() < deadline,
            "no markdown export:\n{}",
            tmux.screen()
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(markdown.starts_with("## "), "{markdown}");

    // q no longer quits; the help names x instead.
    let screen = visit(&tmux, "?", "Keys — ? or Esc closes", "x Ctrl-C");
    assert!(!screen.contains("q Ctrl-C"), "{screen}");
    tmux.keys(&["Escape"]);
    tmux.wait_until("help to close", |s| !s.contains("Keys — ? or Esc"));
    tmux.keys(&["q", "1"]);
    // Keys are read in order: had q quit, 1 would have gone to the shell.
    tmux.wait_for("Newest alerts", "the cockpit still open after q");
    assert!(tmux.alternate_screen_on(), "q must not quit once rebound");
    tmux.keys(&["x"]);
    assert_terminal_restored(&tmux, 0);
}

#[test]
fn rows_appended_to_a_watched_file_change_the_overview() {
    let tmux = Tmux::start(100, 30);
    let folder = tmux.db.with_file_name("exports");
    std::fs::create_dir(&folder).unwrap();
    let orders = folder.join("orders.csv");
    // One complete ISO week (Monday 2026-11-02 to Sunday 2026-11-08): 7 × 10.00.
    let mut csv = String::from("order_id,customer_id,order_date,revenue\n");
    for day in 2..=8 {
        csv.push_str(&format!("o{day},c{day},2026-11-{day:02},10.00\n"));
    }
    std::fs::write(&orders, csv).unwrap();
    tmux.type_line(&format!(
        "{} --db {} --watch {}; echo EXIT=$?",
        kpi_bin(),
        path(&tmux.db),
        path(&folder)
    ));
    tmux.wait_for("$70.00  2026-W45", "net revenue of the imported week");
    tmux.wait_for("live · updated", "the last-update stamp");

    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(&orders)
        .unwrap();
    std::io::Write::write_all(
        &mut file,
        b"o9,c9,2026-11-08,25.50\no10,c1,2026-11-07,4.50\n",
    )
    .unwrap();
    drop(file);
    let screen = tmux.wait_for("$100.00  2026-W45", "net revenue after the appended rows");
    assert!(
        screen.contains("Net revenue •"),
        "the changed tile is marked:\n{screen}"
    );
    tmux.keys(&["q"]);
    assert_terminal_restored_without_stty(&tmux, 0);
}

#[test]
fn watch_follows_an_empty_folder_and_says_so() {
    let tmux = Tmux::start(100, 30);
    let folder = tmux.db.with_file_name("inbox");
    std::fs::create_dir(&folder).unwrap();
    tmux.type_line(&format!(
        "{} --db {} --watch {}; echo EXIT=$?",
        kpi_bin(),
        path(&tmux.db),
        path(&folder)
    ));
    tmux.wait_for("live · watching", "the live status");
    tmux.keys(&["6"]);
    tmux.wait_for("watched folder", "the watched folder in the Data pane");
    tmux.keys(&["C-c"]);
    assert_terminal_restored_without_stty(&tmux, 0);
}

fn assert_terminal_restored_without_stty(tmux: &Tmux, exit_code: i32) {
    let line = format!("EXIT={exit_code}");
    tmux.wait_until("the exit code", |s| s.lines().any(|l| l.trim() == line));
    assert!(!tmux.alternate_screen_on());
}

#[test]
fn sigterm_and_sighup_restore_the_terminal() {
    for (signal, code) in [("TERM", 143), ("HUP", 129)] {
        let tmux = Tmux::start(100, 30);
        open_cockpit(&tmux, "", "no data — import orders");
        let status = Command::new("kill")
            .args([&format!("-{signal}"), &tmux.cockpit_pid()])
            .status()
            .unwrap();
        assert!(status.success());
        assert_terminal_restored(&tmux, code);
    }
}

#[test]
fn a_panic_restores_the_terminal_and_its_message_is_readable() {
    let tmux = Tmux::start(100, 30);
    open_cockpit(&tmux, "KPI_TEST_PANIC_KEY=1", "no data — import orders");
    assert_eq!(tmux.mouse_capture(), (true, true));
    tmux.keys(&["!"]);
    assert_terminal_restored(&tmux, 101);
    let screen = tmux.screen();
    assert!(screen.contains("test panic requested"), "{screen}");
}

#[test]
fn no_mouse_leaves_the_mouse_to_the_terminal() {
    let tmux = Tmux::start(100, 30);
    open_cockpit_with(&tmux, "", "--no-mouse", "no data — import orders");
    assert_eq!(tmux.mouse_capture(), (false, false));
    tmux.keys(&["q"]);
    assert_terminal_restored(&tmux, 0);
}

#[test]
fn a_missing_store_is_a_plain_error_not_a_blank_screen() {
    let tmux = Tmux::start(100, 30);
    tmux.type_line(&format!("{} --db nowhere.db; echo EXIT=$?", kpi_bin()));
    let screen = tmux.wait_until("the error exit code", |s| {
        s.lines().any(|l| l.trim() == "EXIT=3")
    });
    assert!(screen.contains("no store at nowhere.db"), "{screen}");
    assert!(!tmux.alternate_screen_on());
}
