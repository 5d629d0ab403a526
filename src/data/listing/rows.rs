//! Counting a large CSV's rows without parsing them: its line breaks are counted (a fast byte
//! scan, in bounded memory), and the count is cached by the file's size and modification time, so
//! listing a folder a second time reads only the files that changed.
//!
//! The counts are remembered in `CACHE_DIR/tables/line-counts.json` (see [`super::memo`]).
use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

use super::memo::Memo;
use crate::data::staging::table::FileStamp;

/// The cache file, inside the staging cache's `tables/` folder.
pub const LINE_COUNTS: &str = "tables/line-counts.json";

/// How a count was obtained (for tests and the log).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CountSource {
    /// From the cache: the file was only stat'ed.
    Cache,
    /// Counted now; the bytes read.
    Scanned(u64),
}

/// The lines of `path` (line breaks, plus one for a last line without one), from the cache in
/// `cache_dir` when the file's size and time match, else counted and cached.
pub fn line_count(path: &Path, cache_dir: &Path) -> io::Result<(u64, CountSource)> {
    let stamp = FileStamp::of(path)?;
    let mut memo: Memo<FileStamp, u64> = Memo::open(cache_dir.join(LINE_COUNTS));
    if let Some(&lines) = memo.get(path, &stamp) {
        return Ok((lines, CountSource::Cache));
    }
    let (lines, read) = count_lines(File::open(path)?)?;
    memo.put(path, stamp, lines, "a CSV's line count");
    Ok((lines, CountSource::Scanned(read)))
}

/// Count line breaks in 1 MiB blocks; a last line without a break counts too.
pub fn count_lines(mut reader: impl Read) -> io::Result<(u64, u64)> {
    let mut buf = vec![0u8; 1 << 20];
    let (mut lines, mut read, mut last) = (0u64, 0u64, b'\n');
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        lines += memchr::memchr_iter(b'\n', &buf[..n]).count() as u64;
        last = buf[n - 1];
        read += n as u64;
    }
    if last != b'\n' {
        lines += 1;
    }
    Ok((lines, read))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_lines_with_or_without_a_final_break() {
        assert_eq!(count_lines(&b"a,b\n1,2\n"[..]).unwrap(), (2, 8));
        assert_eq!(count_lines(&b"a,b\n1,2"[..]).unwrap(), (2, 7));
        assert_eq!(count_lines(&b""[..]).unwrap(), (0, 0));
    }

    #[test]
    fn a_second_count_comes_from_the_cache_until_the_file_changes() {
        let dir = tempfile::tempdir().unwrap();
        let csv = dir.path().join("t.csv");
        std::fs::write(&csv, "a,b\n1,2\n3,4\n").unwrap();
        let cache = dir.path().join("cache");
        assert_eq!(line_count(&csv, &cache).unwrap(), (3, CountSource::Scanned(12)));
        assert_eq!(line_count(&csv, &cache).unwrap(), (3, CountSource::Cache));
        std::fs::write(&csv, "a,b\n1,2\n3,4\n5,6\n").unwrap();
        assert_eq!(line_count(&csv, &cache).unwrap(), (4, CountSource::Scanned(16)));
    }
}
