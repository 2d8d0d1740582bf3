//! The rejects file beside the store (`<store>.rejects/<name>.<hash>.csv`, see
//! `rejects_path`): every rejected row, unchanged, with its line, column and reason —
//! also recorded in the store.
//!
//! Rows are written to a temporary file during the import and moved into place only
//! after the store committed, so the file never lists rows of an import that rolled back.

use std::fs::File;
use std::io::{BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use super::rejects_path;
use super::validate::Rejection;

/// Longest raw row kept in the store's `rejects` table (the rejects file keeps all).
const MAX_STORED_RAW: usize = 16 * 1024;

pub struct RejectsFile {
    final_path: Option<PathBuf>,
    temp_path: Option<PathBuf>,
    writer: Option<csv::Writer<BufWriter<File>>>,
    source_path: PathBuf,
    source: Option<File>,
    start: u64,
    line_base: Option<u64>,
    count: u64,
    /// The line of an earlier import's reject that was undone (see `forget_line`).
    forgotten_line: Option<u64>,
}

impl RejectsFile {
    /// Rejects of `file` read from byte `start`; an in-memory store gets no file.
    pub fn new(store_path: &Path, file: &Path, start: u64) -> Self {
        let in_memory = store_path.as_os_str() == ":memory:";
        Self {
            final_path: (!in_memory).then(|| rejects_path(store_path, file)),
            temp_path: None,
            writer: None,
            source_path: file.to_path_buf(),
            source: None,
            start,
            line_base: None,
            count: 0,
            forgotten_line: None,
        }
    }

    pub fn count(&self) -> u64 {
        self.count
    }

    /// Records one rejected row (`line` counted from where reading started) and returns
    /// its line in the file. With `strict` only the line is worked out: the whole file
    /// fails instead.
    pub fn record(
        &mut self,
        line: u64,
        span: (u64, u64),
        rejection: &Rejection,
        strict: bool,
        store: impl FnOnce(u64, Option<&str>, &str, &str) -> rusqlite::Result<()>,
    ) -> Result<u64, String> {
        let raw = self
            .raw(span)
            .map_err(|e| format!("cannot re-read a rejected row: {e}"))?;
        // Readers may start a row's span at the blank lines before it.
        let leading = raw
            .iter()
            .take_while(|b| matches!(b, b'\r' | b'\n'))
            .count();
        let skipped_lines = raw[..leading].iter().filter(|&&b| b == b'\n').count() as u64;
        let mut row = &raw[leading..];
        while let [rest @ .., b'\r' | b'\n'] = row {
            row = rest;
        }
        let line = self.line_base()? + line + skipped_lines;
        if strict {
            return Ok(line);
        }
        self.count += 1;
        let text = String::from_utf8_lossy(&row[..row.len().min(MAX_STORED_RAW)]);
        store(line, rejection.column.as_deref(), &rejection.reason, &text)
            .map_err(|e| format!("cannot record a rejected row: {e}"))?;
        if let Some(writer) = self.writer()? {
            let line_text = line.to_string();
            writer
                .write_record([
                    line_text.as_bytes(),
                    rejection.column.as_deref().unwrap_or("").as_bytes(),
                    rejection.reason.as_bytes(),
                    row,
                ])
                .map_err(|e| format!("cannot write the rejects file: {e}"))?;
        }
        Ok(line)
    }

    /// An earlier import's reject of the record on `line` was undone (the record was cut,
    /// and is read again finished): publishing takes it off the end of the rejects file,
    /// where the import that read the cut record left it.
    pub fn forget_line(&mut self, line: u64) {
        self.forgotten_line = Some(line);
    }

    /// The line in the file of a row's `line` counted from where reading started.
    pub fn line_in_file(&mut self, line: u64) -> Result<u64, String> {
        Ok(self.line_base()? + line)
    }

    /// Lines before the byte reading started at, counted only when a row is rejected.
    fn line_base(&mut self) -> Result<u64, String> {
        if let Some(base) = self.line_base {
            return Ok(base);
        }
        let mut newlines = 0u64;
        if self.start > 0 {
            let file = File::open(&self.source_path)
                .map_err(|e| format!("cannot re-read the file: {e}"))?;
            let mut buf = vec![0; 256 * 1024];
            let mut input = file.take(self.start);
            loop {
                let n = input
                    .read(&mut buf)
                    .map_err(|e| format!("cannot re-read the file: {e}"))?;
                if n == 0 {
                    break;
                }
                newlines += buf[..n].iter().filter(|&&b| b == b'\n').count() as u64;
            }
        }
        self.line_base = Some(newlines);
        Ok(newlines)
    }

    fn raw(&mut self, (begin, end): (u64, u64)) -> std::io::Result<Vec<u8>> {
        if self.source.is_none() {
            self.source = Some(File::open(&self.source_path)?);
        }
        let mut raw = vec![0; end.saturating_sub(begin) as usize];
        if let Some(source) = &mut self.source {
            source.seek(SeekFrom::Start(begin))?;
            let n = source.read(&mut raw)?;
            let mut filled = n;
            while filled < raw.len() {
                let n = source.read(&mut raw[filled..])?;
                if n == 0 {
                    break;
                }
                filled += n;
            }
            raw.truncate(filled);
        }
        Ok(raw)
    }

    fn writer(&mut self) -> Result<Option<&mut csv::Writer<BufWriter<File>>>, String> {
        let Some(final_path) = &self.final_path else {
            return Ok(None);
        };
        if self.writer.is_none() {
            let dir = final_path.parent().unwrap_or(Path::new("."));
            std::fs::create_dir_all(dir)
                .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
            let name = final_path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let temp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
            let file = File::create(&temp)
                .map_err(|e| format!("cannot create {}: {e}", temp.display()))?;
            let mut writer = csv::Writer::from_writer(BufWriter::new(file));
            writer
                .write_record(["line", "column", "reason", "row"])
                .map_err(|e| format!("cannot write the rejects file: {e}"))?;
            self.temp_path = Some(temp);
            self.writer = Some(writer);
        }
        Ok(self.writer.as_mut())
    }

    pub fn flush(&mut self) -> Result<(), String> {
        if let Some(writer) = &mut self.writer {
            writer
                .flush()
                .map_err(|e| format!("cannot write the rejects file: {e}"))?;
        }
        Ok(())
    }

    /// Moves this import's rejects into place once the store has committed: a whole
    /// import replaces the file, a tail import appends to it.
    pub fn publish(mut self, tail: bool) -> Result<Option<PathBuf>, String> {
        let Some(final_path) = self.final_path.clone() else {
            return Ok(None);
        };
        // Tried first, as it rewrites the file; should it fail, this import's rejects are
        // still moved into place.
        let undone = match (tail, self.forgotten_line) {
            (true, Some(line)) => drop_last_reject(&final_path, line).map_err(|e| {
                format!(
                    "an undone reject (line {line}) could not be removed from {}: {e}",
                    final_path.display()
                )
            }),
            _ => Ok(()),
        };
        let published = self.move_into_place(final_path, tail);
        undone.and(published)
    }

    fn move_into_place(
        &mut self,
        final_path: PathBuf,
        tail: bool,
    ) -> Result<Option<PathBuf>, String> {
        let Some(temp) = self.temp_path.take() else {
            if !tail {
                // A clean re-import: the old rejects no longer describe the file.
                let _ = std::fs::remove_file(&final_path);
            }
            return Ok(None);
        };
        drop(self.writer.take());
        let moved = if tail && final_path.exists() {
            append_without_header(&temp, &final_path).and_then(|()| std::fs::remove_file(&temp))
        } else {
            std::fs::rename(&temp, &final_path)
        };
        moved.map_err(|e| {
            format!(
                "rejected rows are in the store but could not be written to {}: {e}",
                final_path.display()
            )
        })?;
        Ok(Some(final_path))
    }
}

/// Rewrites a rejects file without its last reject, if that is of `line` (line numbers
/// alone are not unique: CR-only line ends); removes the file if no reject is left.
fn drop_last_reject(path: &Path, line: u64) -> std::io::Result<()> {
    if !path.exists() {
        return Ok(());
    }
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_path(path)?;
    let mut kept = reader.byte_records().collect::<Result<Vec<_>, _>>()?;
    let line = line.to_string();
    if kept.len() < 2 || kept.last().and_then(|r| r.get(0)) != Some(line.as_bytes()) {
        return Ok(());
    }
    kept.pop();
    if kept.len() <= 1 {
        return std::fs::remove_file(path);
    }
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let temp = dir.join(format!(".{name}.{}.undo.tmp", std::process::id()));
    let written = (|| {
        let mut writer = csv::Writer::from_writer(BufWriter::new(File::create(&temp)?));
        for record in &kept {
            writer.write_byte_record(record)?;
        }
        writer.flush()?;
        std::fs::rename(&temp, path)
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    written
}

fn append_without_header(from: &Path, to: &Path) -> std::io::Result<()> {
    let text = std::fs::read(from)?;
    let body = match text.iter().position(|&b| b == b'\n') {
        Some(i) => &text[i + 1..],
        None => &[][..],
    };
    let mut out = std::fs::OpenOptions::new().append(true).open(to)?;
    out.write_all(body)
}

impl Drop for RejectsFile {
    fn drop(&mut self) {
        // An import that failed leaves no half-written rejects behind.
        drop(self.writer.take());
        if let Some(temp) = self.temp_path.take() {
            let _ = std::fs::remove_file(temp);
        }
    }
}
