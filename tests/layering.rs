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

/// A Rust source split into its string literals and its code, comments dropped: enough of
/// the lexer to tell `"SELECT …"` from a doc comment that mentions SQL, and `'"'` (a char)
/// from the start of a string.
struct Lexed {
    literals: Vec<String>,
    code: String,
}

fn lex(text: &str) -> Lexed {
    let chars: Vec<char> = text.chars().collect();
    let ident = |c: char| c.is_alphanumeric() || c == '_';
    let mut out = Lexed {
        literals: Vec::new(),
        code: String::new(),
    };
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        let prev = i.checked_sub(1).map(|p| chars[p]);
        if c == '/' && next == Some('/') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            let mut depth = 0;
            while i < chars.len() {
                if chars[i] == '/' && chars.get(i + 1) == Some(&'*') {
                    depth += 1;
                    i += 2;
                } else if chars[i] == '*' && chars.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
        } else if c == 'r'
            && !prev.is_some_and(|p| ident(p) && p != 'b')
            && matches!(next, Some('"' | '#'))
        {
            // A raw string: r"…", r#"…"#, br##"…"##.
            let mut j = i + 1;
            let mut hashes = 0;
            while chars.get(j) == Some(&'#') {
                hashes += 1;
                j += 1;
            }
            if chars.get(j) != Some(&'"') {
                out.code.push(c);
                i += 1;
                continue;
            }
            let start = j + 1;
            let mut end = start;
            while end < chars.len() {
                if chars[end] == '"' && (0..hashes).all(|h| chars.get(end + 1 + h) == Some(&'#')) {
                    break;
                }
                end += 1;
            }
            out.literals
                .push(chars[start..end.min(chars.len())].iter().collect());
            out.code.push_str("\"\"");
            i = end + 1 + hashes;
        } else if c == '"' {
            let mut literal = String::new();
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                if chars[i] == '\\' {
                    // `\` + newline continues the line; any other escape stands for one char.
                    if chars.get(i + 1) == Some(&'\n') {
                        literal.push(' ');
                    } else {
                        literal.push(chars.get(i + 1).copied().unwrap_or(' '));
                    }
                    i += 2;
                } else {
                    literal.push(chars[i]);
                    i += 1;
                }
            }
            out.literals.push(literal);
            out.code.push_str("\"\"");
            i += 1;
        } else if c == '\'' && next == Some('\\') {
            // An escaped char literal: '\'', '\\', '\u{7f}'.
            i += 3;
            while i < chars.len() && chars[i] != '\'' {
                i += 1;
            }
            i += 1;
        } else if c == '\'' && chars.get(i + 2) == Some(&'\'') {
            i += 3;
        } else {
            // Code, or a lifetime such as `'a`.
            out.code.push(c);
            i += 1;
        }
    }
    out
}

/// Whether a string literal holds SQL: a statement keyword in capitals anywhere, or the
/// shape of a statement in any case (so `select x from t` is caught too), with runs of
/// whitespace read as one space.
fn sql_in(literal: &str) -> Option<&'static str> {
    const CAPITALS: [&str; 6] = [
        "SELECT ",
        "INSERT ",
        "UPDATE ",
        "DELETE FROM",
        "CREATE ",
        "PRAGMA ",
    ];
    if let Some(keyword) = CAPITALS.iter().find(|k| literal.contains(*k)) {
        return Some(keyword);
    }
    let text = literal
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase();
    let text = format!(" {text} ");
    let shapes: [(&str, &[&str]); 13] = [
        ("select … from", &[" select ", " from "]),
        ("insert into", &[" insert into "]),
        ("insert or", &[" insert or "]),
        ("replace into", &[" replace into "]),
        ("update … set", &[" update ", " set "]),
        ("delete from", &[" delete from "]),
        ("create table", &[" create table "]),
        ("create index", &[" create index "]),
        ("create unique index", &[" create unique index "]),
        ("create view", &[" create view "]),
        ("create trigger", &[" create trigger "]),
        ("create temp", &[" create temp"]),
        ("pragma", &[" pragma "]),
    ];
    shapes
        .iter()
        .find(|(_, parts)| parts.iter().all(|p| text.contains(p)))
        .map(|(name, _)| *name)
}

/// Ways of running SQL (or reaching the connection that runs it), looked for in code.
const SQL_CALLS: [&str; 9] = [
    ".prepare(",
    ".prepare_cached(",
    ".query_row(",
    ".query_map(",
    ".execute(",
    ".execute_batch(",
    "conn()",
    "Connection",
    "Statement",
];

/// Every file under `src/` outside `store/` that holds SQL text or runs SQL, with what
/// gave it away. `main.rs` holds no SQL and is not exempt. Neither is `sync/`: the SQL
/// its DataFusion side runs (the rollup plan and the typed reads of the raw inputs) is
/// defined in `store/rollup_plan.rs`.
fn sql_outside_store() -> Vec<String> {
    let mut files = Vec::new();
    sources(&src(), &mut files);
    let mut found: Vec<String> = files
        .into_iter()
        .filter_map(|(path, text)| {
            let rel = path
                .strip_prefix(src())
                .unwrap()
                .to_string_lossy()
                .into_owned();
            if rel.starts_with("store/") {
                return None;
            }
            let lexed = lex(&text);
            let mut why: Vec<String> = lexed
                .literals
                .iter()
                .filter_map(|l| sql_in(l).map(|k| format!("{k:?} in {l:?}")))
                .collect();
            why.extend(
                SQL_CALLS
                    .iter()
                    .filter(|call| lexed.code.contains(*call))
                    .map(|call| call.to_string()),
            );
            (!why.is_empty()).then(|| format!("{rel}: {}", why.join("; ")))
        })
        .collect();
    found.sort();
    found
}

#[test]
fn no_sql_outside_store() {
    let found = sql_outside_store();
    assert!(
        found.is_empty(),
        "SQL belongs in src/store/:\n{}",
        found.join("\n")
    );
}

#[test]
fn the_sql_detector_sees_sql_in_any_case_and_ignores_prose() {
    let source = r###"
        // SELECT x FROM commented_out
        /// Reads "SELECT 1" in a doc comment.
        fn f<'a>(s: &'a str) -> char {
            let quote = '"';
            let escaped = ['\'', '\\', '\u{22}'];
            let lower = "select name from customers";
            let split = "select name
                         from customers";
            let raw = r#"INSERT INTO t VALUES ("x")"#;
            let prose = "choose a metric from the list";
            let update = "update available";
            let create = "cannot create the file: create one with kpi import";
            let index = "create index kpis_day on kpis (day)";
            store.conn().prepare(lower);
            quote
        }
    "###;
    let lexed = lex(source);
    let found: Vec<Option<&str>> = lexed.literals.iter().map(|l| sql_in(l)).collect();
    assert_eq!(
        found,
        [
            Some("select … from"),
            Some("select … from"),
            Some("INSERT "),
            None,
            None,
            None,
            Some("create index"),
        ]
    );
    assert!(!lexed.code.contains("SELECT"));
    assert!(lexed.code.contains("conn()") && lexed.code.contains(".prepare("));
}
