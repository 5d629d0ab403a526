//! Lines out of a stream of bytes that someone else writes (a run's control file, its CSV files,
//! a pipe), with a bound on memory: a line longer than the cap is cut to the cap and the rest of it
//! skipped up to its newline, so a 100 MB line without a newline costs the cap, not 100 MB, and the
//! lines after it are read as usual. Bytes are never decoded here: callers decode each line
//! (lossily, so one bad byte spoils one line, not the rest of the stream).
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};

/// One complete line, without its newline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// The line's bytes, at most the splitter's cap.
    pub bytes: Vec<u8>,
    /// The line was longer than the cap: `bytes` is its start, the rest was skipped.
    pub cut: bool,
}

impl Line {
    /// The line as text, bad bytes replaced (U+FFFD) and a `\r` before the newline dropped.
    pub fn text(&self) -> String {
        let text = String::from_utf8_lossy(&self.bytes);
        text.strip_suffix('\r').unwrap_or(&text).to_string()
    }
}

/// Splits bytes pushed in pieces into lines, holding at most `max` bytes of a line not finished.
#[derive(Debug, Clone)]
pub struct LineSplitter {
    max: usize,
    /// The line whose newline has not come yet (at most `max` bytes of it).
    partial: Vec<u8>,
    /// The line in `partial` went past `max`: the rest of it up to its newline is skipped.
    cut: bool,
}

impl LineSplitter {
    /// Lines are kept to `max` bytes (at least 1).
    pub fn new(max: usize) -> LineSplitter {
        LineSplitter { max: max.max(1), partial: Vec::new(), cut: false }
    }

    /// Forget a line in progress (the file was replaced or cut shorter).
    pub fn clear(&mut self) {
        self.partial.clear();
        self.cut = false;
    }

    /// Bytes held for the line not finished yet (never more than the cap).
    pub fn pending(&self) -> usize {
        self.partial.len()
    }

    /// Feed `bytes`; each line they complete is handed to `line`.
    pub fn push(&mut self, mut bytes: &[u8], line: &mut impl FnMut(Line)) {
        while !bytes.is_empty() {
            let end = memchr::memchr(b'\n', bytes);
            let piece = &bytes[..end.unwrap_or(bytes.len())];
            let room = self.max - self.partial.len();
            if piece.len() > room {
                self.cut = true;
            }
            self.partial.extend_from_slice(&piece[..piece.len().min(room)]);
            match end {
                Some(i) => {
                    let whole = std::mem::take(&mut self.partial);
                    line(Line { bytes: whole, cut: std::mem::take(&mut self.cut) });
                    bytes = &bytes[i + 1..];
                }
                None => bytes = &[],
            }
        }
    }
}

/// Bytes read from a file at a time.
const CHUNK: usize = 64 * 1024;

/// Follows a file that grows by appends: each read returns the lines completed since the last,
/// reading only the new bytes, a chunk at a time.
#[derive(Debug, Clone)]
pub struct AppendedLines {
    /// Bytes of the file consumed so far (a line not finished yet included).
    pub offset: u64,
    splitter: LineSplitter,
}

impl AppendedLines {
    /// Follow from `offset`, lines kept to `max` bytes.
    pub fn new(offset: u64, max: usize) -> AppendedLines {
        AppendedLines { offset, splitter: LineSplitter::new(max) }
    }

    /// Start again from the file's beginning (it was replaced or cut shorter).
    pub fn restart(&mut self) {
        self.offset = 0;
        self.splitter.clear();
    }

    /// Read `file` from the offset up to `len` (its size when it was looked at: what is appended
    /// meanwhile waits for the next read) and return the lines completed.
    pub fn read(&mut self, file: &mut File, len: u64) -> io::Result<Vec<Line>> {
        let mut lines = Vec::new();
        if len <= self.offset {
            return Ok(lines);
        }
        file.seek(SeekFrom::Start(self.offset))?;
        let mut reader = file.take(len - self.offset);
        let mut buf = vec![0u8; CHUNK];
        loop {
            let n = match reader.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            self.offset += n as u64;
            self.splitter.push(&buf[..n], &mut |line| lines.push(line));
        }
        Ok(lines)
    }

    /// Bytes held for the line not finished yet.
    pub fn pending(&self) -> usize {
        self.splitter.pending()
    }
}

/// A small text file (run.toml, a heartbeat) read whole, but never more than `max` bytes of it: a
/// larger one is an error (not one of ours), as is one that is not UTF-8.
pub fn read_capped(path: &std::path::Path, max: u64) -> io::Result<String> {
    let mut text = Vec::new();
    File::open(path)?.take(max.saturating_add(1)).read_to_end(&mut text)?;
    if text.len() as u64 > max {
        return Err(io::Error::new(io::ErrorKind::InvalidData, format!("larger than {max} bytes")));
    }
    String::from_utf8(text).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(max: usize, pieces: &[&[u8]]) -> (Vec<Line>, usize) {
        let mut s = LineSplitter::new(max);
        let mut out = Vec::new();
        for p in pieces {
            s.push(p, &mut |l| out.push(l));
        }
        (out, s.pending())
    }

    #[test]
    fn lines_come_whole_across_pieces_and_a_long_one_is_cut_not_kept() {
        let (lines, pending) =
            split(8, &[b"pau", b"se\nstop\nabcdefghij", b"klmnop\nre", b"sume\n", b"half"]);
        let texts: Vec<_> = lines.iter().map(|l| (l.text(), l.cut)).collect();
        assert_eq!(
            texts,
            [
                ("pause".into(), false),
                ("stop".into(), false),
                ("abcdefgh".into(), true),
                ("resume".into(), false)
            ]
        );
        assert_eq!(pending, 4, "the unfinished line waits");
    }

    #[test]
    fn bad_bytes_spoil_one_line_only() {
        let (lines, _) = split(64, &[b"ok\n\xff\xfe bad\r\nafter\n"]);
        let texts: Vec<_> = lines.iter().map(Line::text).collect();
        assert_eq!(texts, ["ok", "\u{fffd}\u{fffd} bad", "after"]);
    }

    #[test]
    fn a_100_mb_line_without_newline_holds_only_the_cap_and_reading_goes_on() {
        use std::io::Write;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("control");
        let mut f = std::fs::File::create(&path).unwrap();
        let block = vec![b'x'; 1 << 20];
        for _ in 0..100 {
            f.write_all(&block).unwrap();
        }
        f.flush().unwrap();
        let mut tail = AppendedLines::new(0, 4096);
        let mut file = std::fs::File::open(&path).unwrap();
        let len = file.metadata().unwrap().len();
        assert!(tail.read(&mut file, len).unwrap().is_empty());
        assert_eq!(tail.pending(), 4096, "only the cap is held, not 100 MB");
        assert_eq!(tail.offset, 100 << 20, "the bytes are consumed, not read again next time");
        f.write_all(b"\nstop\n").unwrap();
        let len = file.metadata().unwrap().len();
        let lines = tail.read(&mut file, len).unwrap();
        assert_eq!(lines.len(), 2);
        assert!(lines[0].cut && lines[0].bytes.len() == 4096);
        assert_eq!(lines[1], Line { bytes: b"stop".to_vec(), cut: false });
    }

    #[test]
    fn small_files_are_read_only_when_small() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("live.toml");
        std::fs::write(&path, "pid = 1\n").unwrap();
        assert_eq!(read_capped(&path, 64).unwrap(), "pid = 1\n");
        std::fs::write(&path, vec![b'#'; 65]).unwrap();
        assert_eq!(read_capped(&path, 64).unwrap_err().to_string(), "larger than 64 bytes");
    }
}
