//! The dependency direction of `src/lib.rs`, checked on the sources: a lower layer never
//! reaches up, and `anyhow` (for messages at the edge) stays in `commands/`.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};

fn sources(dir: &Path, out: &mut Vec<(PathBuf, String)>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let text = std::fs::read_to_string(&path).unwrap();
            out.push((path, text));
        }
    }
}

fn src() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn offenders(under: &[&str], needle: &str, except: &[&str]) -> Vec<String> {
    let mut files = Vec::new();
    sources(&src(), &mut files);
    files
        .into_iter()
        .filter_map(|(path, text)| {
            let rel = path
                .strip_prefix(src())
                .unwrap()
                .to_string_lossy()
                .into_owned();
            let inside = under.is_empty() || under.iter().any(|u| rel.starts_with(u));
            let exempt = except.iter().any(|e| rel.starts_with(e)) || rel == "main.rs";
            (inside && !exempt && text.contains(needle)).then_some(rel)
        })
        .collect()
}

#[test]
fn anyhow_is_used_only_in_commands() {
    assert_eq!(
        offenders(&[], "anyhow", &["commands/"]),
        Vec::<String>::new()
    );
}

#[test]
fn store_and_config_do_not_import_metrics() {
    assert_eq!(
        offenders(&["store/", "config.rs", "dates"], "crate::metrics", &[]),
        Vec::<String>::new()
    );
}
