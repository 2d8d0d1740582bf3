//! Files that are not plain UTF-8 regular files get one clear error, at once: a FIFO is
//! never opened (reading one blocks until a writer comes), UTF-16 is named as such, and
//! a short row is blamed on a missing quote only when a quote is there to blame.
#![allow(clippy::unwrap_used)]

mod import_support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::mpsc;
use std::time::Duration;

use import_support::{import, options};
use kpi::import::{FailureKind, import_file};
use kpi::store::Store;

const KPI: &str = env!("CARGO_BIN_EXE_kpi");

fn mkfifo(path: &Path) {
    let status = Command::new("mkfifo").arg(path).status().unwrap();
    assert!(status.success(), "mkfifo {}", path.display());
}

/// Runs `work` on its own thread; fails the test (instead of hanging it) when it blocks.
fn within<T: Send + 'static>(what: &str, work: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(work());
    });
    rx.recv_timeout(Duration::from_secs(10))
        .unwrap_or_else(|_| panic!("{what} blocked"))
}

#[test]
fn a_fifo_given_to_import_is_refused_without_opening_it() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("orders.csv");
    mkfifo(&fifo);
    let db = dir.path().join("s.db");
    let err = within("importing a FIFO", move || {
        let mut store = Store::open(&db).unwrap();
        import_file(&mut store, &fifo, &options()).unwrap_err()
    });
    assert_eq!(err.reason, "not a regular file (FIFO); skipped");
    assert_eq!(err.kind, FailureKind::NotRegularFile);
}

#[test]
fn kpi_import_of_a_fifo_with_a_writer_says_fifo_not_empty_file() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("orders.csv");
    mkfifo(&fifo);
    // A writer with data waiting: the old import opened the FIFO and called it empty.
    let writer_path = fifo.clone();
    std::thread::spawn(move || {
        use std::io::Write;
        if let Ok(mut w) = std::fs::OpenOptions::new().write(true).open(writer_path) {
            let _ = w.write_all(b"order_id,customer_id,order_date,revenue\n");
        }
    });
    let root: PathBuf = dir.path().to_path_buf();
    let out = within("kpi import of a FIFO", move || {
        Command::new(KPI)
            .current_dir(&root)
            .args(["import", "--db", "s.db", "orders.csv"])
            .output()
            .unwrap()
    });
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert_eq!(
        stderr.trim(),
        "kpi: orders.csv: not a regular file (FIFO); skipped"
    );
    // Release the writer thread, which waits for a reader: open without blocking.
    use std::os::unix::fs::OpenOptionsExt;
    const O_NONBLOCK: i32 = 0o4000; // Linux
    let _ = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(O_NONBLOCK)
        .open(&fifo);
}

#[test]
fn a_utf16_file_is_named_utf16_not_binary() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("s.db")).unwrap();
    let text = "order_id,customer_id,order_date,revenue\r\no1,c1,2025-06-01,1\r\n";
    let little: Vec<u8> = text.encode_utf16().flat_map(u16::to_le_bytes).collect();
    let big: Vec<u8> = text.encode_utf16().flat_map(u16::to_be_bytes).collect();
    let with_bom = [&[0xFF, 0xFE][..], &little].concat();
    for (name, bytes) in [
        ("orders.csv", with_bom),
        ("orders_le.csv", little),
        ("orders_be.csv", big),
    ] {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        let err = import_file(&mut store, &path, &options()).unwrap_err();
        let stem = path.with_extension("");
        assert_eq!(
            err.reason,
            format!(
                "UTF-16 encoded; convert it to UTF-8, e.g. `iconv -f UTF-16 -t UTF-8 {} > {}.utf8.csv`",
                path.display(),
                stem.display()
            ),
            "{name}"
        );
    }
}

#[test]
fn a_short_row_after_blank_lines_is_not_blamed_on_a_missing_quote() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("s.db")).unwrap();
    let path = dir.path().join("orders.csv");
    std::fs::write(
        &path,
        "order_id,customer_id,order_date,revenue\no1,c1,2025-06-01,1\n\n\no2,c2\n",
    )
    .unwrap();
    let report = import(&mut store, &path);
    assert_eq!(report.rows_rejected, 1);
    let rejects = store.recent_rejects(1).unwrap();
    assert_eq!(rejects[0].reason, "expected 4 fields, found 2");

    // An unbalanced quote still gets the hint.
    let path = dir.path().join("orders_quote.csv");
    std::fs::write(
        &path,
        "order_id,customer_id,order_date,revenue\no3,\"c3,2025-06-01\no4,c4,2025-06-01,1\n",
    )
    .unwrap();
    let report = import(&mut store, &path);
    assert_eq!(report.rows_rejected, 1);
    let rejects = store.recent_rejects(1).unwrap();
    assert!(
        rejects[0].reason.contains("is a closing quote missing?"),
        "{}",
        rejects[0].reason
    );
}
