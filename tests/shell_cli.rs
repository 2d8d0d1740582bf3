//! `kpi --version`, `kpi completions SHELL` and `kpi man` (issue 15).
#![allow(clippy::unwrap_used)]

use std::process::Command;

fn kpi(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_kpi"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn version_prints_the_crate_version() {
    let (ok, out, err) = kpi(&["--version"]);
    assert!(ok, "{err}");
    assert_eq!(out.trim(), format!("kpi {}", env!("CARGO_PKG_VERSION")));
}

#[test]
fn completions_cover_every_command_in_bash_zsh_and_fish() {
    for (shell, marker) in [
        ("bash", "complete -F _kpi"),
        ("zsh", "#compdef kpi"),
        ("fish", "complete -c kpi"),
    ] {
        let (ok, out, err) = kpi(&["completions", shell]);
        assert!(ok, "{shell}: {err}");
        assert!(out.contains(marker), "{shell}:\n{out}");
        for command in ["import", "report", "check", "demo", "completions", "man"] {
            assert!(out.contains(command), "{shell} lacks {command}");
        }
        assert!(out.contains("watch"), "{shell} lacks --watch");
    }
    let (ok, _, err) = kpi(&["completions", "tcsh"]);
    assert!(!ok);
    assert!(err.contains("tcsh"), "{err}");
}

#[test]
fn man_prints_a_roff_page_naming_every_command() {
    let (ok, out, err) = kpi(&["man"]);
    assert!(ok, "{err}");
    assert!(out.starts_with(".ie") || out.contains(".TH kpi"), "{out}");
    assert!(out.contains(".TH kpi 1"), "{out}");
    for command in ["import", "report", "check", "demo", "completions"] {
        assert!(out.contains(command), "man page lacks {command}");
    }
    assert!(out.contains("terminal KPI cockpit"), "{out}");
}
