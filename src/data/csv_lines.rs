//! The line a CSV record is on, for error messages.
//!
//! The csv crate's record position is where its reader began reading the record: before the
//! `\n` it left of the last record's `\r\n`, and before the blank lines it skipped. Its line is
//! then one short on every row of a `\r\n` file, and short by the blank lines before a row
//! (BurntSushi/rust-csv#395 and #208). The position's byte and line agree with each other, so
//! the record's own line is that line plus the line breaks in the run of `\r` and `\n` bytes that
//! starts at that byte.
use std::io::{self, Read};

/// The line of the record at `position`; `byte_at` gives the file's byte at an offset (`None`
/// where it isn't known, which ends the run there).
pub fn record_line(position: &csv::Position, byte_at: impl Fn(u64) -> Option<u8>) -> u64 {
    let mut offset = position.byte();
    let mut line = position.line();
    while let Some(b @ (b'\r' | b'\n')) = byte_at(offset) {
        line += u64::from(b == b'\n');
        offset += 1;
    }
    line
}

/// The line of the record at `position` in `bytes`, the whole input.
pub fn line_in(bytes: &[u8], position: &csv::Position) -> u64 {
    record_line(position, |offset| usize::try_from(offset).ok().and_then(|i| bytes.get(i)).copied())
}

/// A reader that keeps the last few MiB it passed on, so a streamed record's line can be found
/// with [`Recent::line`]. The csv reader reads a buffer ahead of the record it returns; a record
/// that began further back than this keeps gets the csv crate's own line.
pub struct Recent<R> {
    inner: R,
    kept: Vec<u8>,
    /// The offset of `kept[0]` in the input.
    kept_from: u64,
}

/// Bytes kept at least (more than the csv reader's buffer and a long record).
const KEEP: usize = 4 << 20;

impl<R: Read> Recent<R> {
    pub fn new(inner: R) -> Recent<R> {
        Recent { inner, kept: Vec::new(), kept_from: 0 }
    }

    /// The line of the record at `position`.
    pub fn line(&self, position: &csv::Position) -> u64 {
        record_line(position, |offset| {
            let i = usize::try_from(offset.checked_sub(self.kept_from)?).ok()?;
            self.kept.get(i).copied()
        })
    }
}

impl<R: Read> Read for Recent<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if self.kept.len() + n > 2 * KEEP {
            // Drop all but the last KEEP bytes: a copy of KEEP bytes per KEEP read.
            let drop = self.kept.len() - KEEP.min(self.kept.len());
            self.kept.drain(..drop);
            self.kept_from += drop as u64;
        }
        self.kept.extend_from_slice(&buf[..n]);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each record's first field and line, read through [`Recent`] and with [`line_in`].
    fn lines(text: &str) -> Vec<(String, u64, u64)> {
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .buffer_capacity(16)
            .from_reader(Recent::new(text.as_bytes()));
        let mut record = csv::ByteRecord::new();
        let mut out = Vec::new();
        while reader.read_byte_record(&mut record).unwrap() {
            let position = record.position().unwrap();
            let streamed = reader.get_ref().line(position);
            out.push((
                String::from_utf8_lossy(&record[0]).into_owned(),
                streamed,
                line_in(text.as_bytes(), position),
            ));
        }
        out
    }

    #[test]
    fn records_after_crlf_and_blank_lines_get_their_own_line() {
        for text in [
            "h\nr2\n\n\nr5\nr6",
            "h\r\nr2\r\n\r\nr4\r\n\nr6\r\n",
            "h\r\n\"r2\nstill r2\"\r\nr4\r\n",
            "\n\nr3\nr4\r\n\r\n\r\nr7",
        ] {
            for (field, streamed, in_memory) in lines(text) {
                // Each field names its line (a quoted one, the line it starts on).
                let want: u64 =
                    field.trim_start_matches('r').split('\n').next().unwrap().parse().unwrap_or(1);
                assert_eq!((streamed, in_memory), (want, want), "{field:?} in {text:?}");
            }
        }
    }

    #[test]
    fn a_long_input_keeps_only_its_last_bytes() {
        let mut recent = Recent::new(std::io::repeat(b'x').take(3 * KEEP as u64 + 5));
        let mut sink = Vec::new();
        recent.read_to_end(&mut sink).unwrap();
        assert_eq!(sink.len(), 3 * KEEP + 5);
        assert!(recent.kept.len() <= 2 * KEEP, "{}", recent.kept.len());
        assert_eq!(recent.kept_from + recent.kept.len() as u64, sink.len() as u64);
    }
}
