//! Reading a Lightning `CSVLogger` `metrics.csv` incrementally: `step`, `epoch` and one column per
//! metric, with empty cells where a metric was not logged at that row.
use std::collections::BTreeMap;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use super::ExternalError;
use crate::runs::events::ScalarPoint;

/// The longest line read (1 MiB; Lightning's rows are a few hundred bytes): a longer one is
/// refused rather than buffered while it waits for its newline.
pub const MAX_LINE: u64 = 1 << 20;
/// Bytes read from the file at a time.
const CHUNK: u64 = 8 << 20;

/// Follows one Lightning `metrics.csv`. Keeps the byte offset after the last whole line read; a
/// line still being written is read on a later call. Lightning rewrites the whole file when a new
/// metric appears (a new header); the rows already reported are then skipped.
#[derive(Debug)]
pub struct CsvMetricsReader {
    path: PathBuf,
    offset: u64,
    /// The header line as read (without its newline) and its column names.
    header: Option<(String, Vec<String>)>,
    /// Data rows reported so far; after a rewrite, the first this many rows are not reported again.
    rows_reported: u64,
    rows_read: u64,
    /// The file's length when the last read ended inside a line, and whether that line was
    /// already over [`MAX_LINE`]: until the length changes, nothing is read again.
    pending: Option<(u64, bool)>,
}

impl CsvMetricsReader {
    /// A reader at the start of `path` (nothing is read yet).
    pub fn new(path: impl Into<PathBuf>) -> CsvMetricsReader {
        CsvMetricsReader {
            path: path.into(),
            offset: 0,
            header: None,
            rows_reported: 0,
            rows_read: 0,
            pending: None,
        }
    }

    /// The file followed.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Bytes read so far (the end of the last whole line).
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// New points per metric column since the last call. Cells that are empty or not numbers are
    /// skipped; a missing `step` cell falls back to the row's number. A line still being written
    /// is read again only once the file has grown, and one over [`MAX_LINE`] is an error.
    pub fn read_new(&mut self) -> Result<BTreeMap<String, Vec<ScalarPoint>>, ExternalError> {
        let mut out: BTreeMap<String, Vec<ScalarPoint>> = BTreeMap::new();
        let path = self.path.clone();
        let io = |source| ExternalError::Io { path: path.clone(), source };
        let len = std::fs::metadata(&self.path).map_err(io)?.len();
        let mut file = File::open(&self.path).map_err(io)?;
        if self.rewritten(&mut file, len).map_err(io)? {
            self.offset = 0;
            self.header = None;
            self.rows_read = 0;
            self.pending = None;
        }
        let too_long = || ExternalError::LineTooLong { path: path.clone(), offset: self.offset };
        match self.pending {
            Some((seen, true)) if seen == len => return Err(too_long()),
            Some((seen, false)) if seen == len => return Ok(out),
            _ => {}
        }
        if len == self.offset {
            return Ok(out);
        }
        file.seek(SeekFrom::Start(self.offset)).map_err(io)?;
        let mut buf = Vec::new();
        loop {
            let got = (&mut file).take(CHUNK).read_to_end(&mut buf).map_err(io)?;
            // Only whole lines: a line without its newline is still being written.
            if let Some(end) = buf.iter().rposition(|&b| b == b'\n').map(|i| i + 1) {
                self.take_lines(&buf[..end], &mut out);
                self.offset += end as u64;
                buf.drain(..end);
            }
            if buf.len() as u64 > MAX_LINE {
                self.pending = Some((len, true));
                // Rows read before the long line are kept; the error comes with the next read.
                if !out.is_empty() {
                    return Ok(out);
                }
                return Err(ExternalError::LineTooLong { path: path.clone(), offset: self.offset });
            }
            if got == 0 {
                break;
            }
        }
        self.pending = (!buf.is_empty()).then_some((len, false));
        Ok(out)
    }

    /// Report the rows of `whole` (complete lines) not reported before.
    fn take_lines(&mut self, whole: &[u8], out: &mut BTreeMap<String, Vec<ScalarPoint>>) {
        let text = String::from_utf8_lossy(whole);
        for line in text.lines() {
            let line = line.trim_end_matches('\r');
            if line.is_empty() {
                continue;
            }
            match &self.header {
                None => {
                    let names = split_csv(line);
                    self.header = Some((line.to_string(), names));
                }
                Some((_, names)) => {
                    self.rows_read += 1;
                    if self.rows_read <= self.rows_reported {
                        continue;
                    }
                    self.rows_reported = self.rows_read;
                    take_row(names, &split_csv(line), self.rows_read, out);
                }
            }
        }
    }

    /// Whether the file was rewritten since it was read: shorter, or another header.
    fn rewritten(&self, file: &mut File, len: u64) -> std::io::Result<bool> {
        let Some((header, _)) = &self.header else {
            return Ok(len < self.offset);
        };
        if len < self.offset {
            return Ok(true);
        }
        let mut start = vec![0u8; header.len() + 1];
        file.seek(SeekFrom::Start(0))?;
        file.read_exact(&mut start)?;
        let same = start.starts_with(header.as_bytes()) && matches!(start.last(), Some(b'\n' | b'\r'));
        Ok(!same)
    }
}

fn take_row(names: &[String], cells: &[String], row: u64, out: &mut BTreeMap<String, Vec<ScalarPoint>>) {
    let cell = |name: &str| names.iter().position(|n| n == name).and_then(|i| cells.get(i)).map(|c| c.trim());
    let number = |c: Option<&str>| c.filter(|c| !c.is_empty()).and_then(|c| c.parse::<f64>().ok());
    let step = number(cell("step")).map_or(row as i64 - 1, |s| s as i64);
    let epoch = number(cell("epoch")).filter(|e| *e >= 0.0).map(|e| e as u32);
    for (name, value) in names.iter().zip(cells) {
        if name == "step" || name == "epoch" {
            continue;
        }
        if let Some(v) = number(Some(value.trim())) {
            let point = ScalarPoint { step, wall_time: f64::NAN, value: v, epoch };
            out.entry(name.clone()).or_default().push(point);
        }
    }
}

/// One CSV line's cells (Lightning quotes only names with commas or quotes).
fn split_csv(line: &str) -> Vec<String> {
    let mut reader = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(line.as_bytes());
    match reader.records().next() {
        Some(Ok(record)) => record.iter().map(str::to_string).collect(),
        _ => line.split(',').map(str::to_string).collect(),
    }
}
