//! A dataset's source on disk: the files it is made of, their cheap fingerprint (size and
//! modification time) and their content hash, and one sequential read of a zip.
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::UNIX_EPOCH;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{idx, is_clutter, RawEntry};
use crate::data::error::{EntryError, ReadError};
use crate::data::types::{StagePhase, StageProgress};

/// Zips up to this size are read into memory; larger ones are copied to the cache's local disk.
pub const IN_MEMORY_ZIP: u64 = 1 << 30;

/// One file of a source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceFile {
    /// Name relative to the source (`train/a/1.png`), or the file name for a single file.
    pub rel: String,
    pub path: PathBuf,
    pub size: u64,
    /// Modification time in nanoseconds since 1970.
    pub mtime_ns: i64,
}

/// The cheap part of the cache key: checked on every listing.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fingerprint {
    /// Bytes of all the source's files.
    pub size: u64,
    /// The newest modification time among them (nanoseconds since 1970).
    pub mtime_ns: i64,
    /// How many files.
    pub files: u64,
}

/// Folders deeper than this are not walked (a link loop would otherwise never end).
const MAX_DEPTH: usize = 12;

/// The files of a folder (recursively, hidden ones and `__MACOSX/` skipped), sorted by name.
pub fn folder_files(root: &Path) -> io::Result<Vec<SourceFile>> {
    let mut out = Vec::new();
    let mut stack = vec![(root.to_path_buf(), String::new(), 0)];
    while let Some((dir, rel, depth)) = stack.pop() {
        for entry in std::fs::read_dir(&dir)? {
            let entry = entry?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let rel_name = if rel.is_empty() { name.clone() } else { format!("{rel}/{name}") };
            if is_clutter(&name) {
                continue;
            }
            let path = entry.path();
            let meta = std::fs::metadata(&path)?;
            if meta.is_dir() {
                // An empty folder matters to the layout (an empty class folder is an error).
                out.push(SourceFile {
                    rel: format!("{rel_name}/"),
                    path: path.clone(),
                    size: 0,
                    mtime_ns: mtime_ns(&meta),
                });
                if depth < MAX_DEPTH {
                    stack.push((path, rel_name, depth + 1));
                }
            } else {
                out.push(SourceFile { rel: rel_name, path, size: meta.len(), mtime_ns: mtime_ns(&meta) });
            }
        }
    }
    out.sort_by(|a, b| a.rel.cmp(&b.rel));
    Ok(out)
}

/// One file as a source.
pub fn single_file(path: &Path) -> io::Result<SourceFile> {
    let meta = std::fs::metadata(path)?;
    let rel = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    Ok(SourceFile { rel, path: path.to_path_buf(), size: meta.len(), mtime_ns: mtime_ns(&meta) })
}

/// The files of the loose IDX group `source` belongs to (its partner files beside it), sorted by
/// name.
pub fn loose_group_files(source: &Path) -> io::Result<Vec<SourceFile>> {
    let dir = source.parent().unwrap_or(Path::new("."));
    let base = source.file_name().and_then(|n| idx::parse_name(&n.to_string_lossy())).map(|p| p.base);
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        if path.is_file() && idx::parse_name(&name).map(|p| p.base) == base {
            files.push(single_file(&path)?);
        }
    }
    if files.is_empty() {
        files.push(single_file(source)?);
    }
    files.sort_by(|a, b| a.rel.cmp(&b.rel));
    Ok(files)
}

/// A folder's files as layout entries; `loc` is the index in `files`.
pub fn folder_entries(files: &[SourceFile]) -> Vec<RawEntry> {
    files
        .iter()
        .enumerate()
        .map(|(loc, f)| RawEntry { name: f.rel.clone(), size: f.size, is_dir: f.rel.ends_with('/'), loc })
        .collect()
}

/// Read one file of a folder source whole, refusing one over `max_bytes`.
pub fn read_file(file: &SourceFile, max_bytes: u64, out: &mut Vec<u8>) -> Result<(), EntryError> {
    if file.size > max_bytes {
        return Err(EntryError::at(
            &file.rel,
            format!(
                "is {} bytes, over the limit of {max_bytes} per image (`max_entry_bytes` under [images] in \
                 config.toml)",
                file.size
            ),
        ));
    }
    out.clear();
    File::open(&file.path)
        .and_then(|f| f.take(max_bytes).read_to_end(out))
        .map(|_| ())
        .map_err(|e| EntryError::at(&file.rel, format!("cannot be read ({e})")))
}

/// A file's modification time in nanoseconds since 1970 (0 when the system can't say).
pub fn mtime_ns(meta: &std::fs::Metadata) -> i64 {
    meta.modified()
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map(|d| d.as_nanos().min(i64::MAX as u128) as i64)
        .unwrap_or(0)
}

/// The cheap key of these files: their total size, newest time and count.
pub fn fingerprint(files: &[SourceFile]) -> Fingerprint {
    Fingerprint {
        size: files.iter().map(|f| f.size).sum(),
        mtime_ns: files.iter().map(|f| f.mtime_ns).max().unwrap_or(0),
        files: files.len() as u64,
    }
}

/// The content hash: SHA-256 over each file's name, length and SHA-256, in name order. Files can
/// then be hashed in any order, or while they are decoded, and give the same answer.
#[derive(Default)]
pub struct ContentHash {
    parts: Vec<(String, u64, [u8; 32])>,
}

impl ContentHash {
    pub fn add(&mut self, rel: &str, len: u64, digest: [u8; 32]) {
        self.parts.push((rel.to_string(), len, digest));
    }

    pub fn finish(mut self) -> String {
        self.parts.sort_by(|a, b| a.0.cmp(&b.0));
        let mut h = Sha256::new();
        for (rel, len, digest) in &self.parts {
            h.update(rel.as_bytes());
            h.update([0]);
            h.update(len.to_le_bytes());
            h.update(digest);
        }
        hex(&h.finalize())
    }
}

/// Lower-case hex of bytes.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Hash every file (folders count by name only). One sequential read of each.
pub fn content_hash(files: &[SourceFile]) -> io::Result<String> {
    let mut hash = ContentHash::default();
    for f in files {
        if f.rel.ends_with('/') {
            hash.add(&f.rel, 0, [0; 32]);
            continue;
        }
        let mut reader = HashingReader::new(File::open(&f.path)?);
        io::copy(&mut reader, &mut io::sink())?;
        hash.add(&f.rel, reader.len, reader.digest());
    }
    Ok(hash.finish())
}

/// Hashes what passes through it.
pub struct HashingReader<R> {
    inner: R,
    hasher: Sha256,
    pub len: u64,
}

impl<R: Read> HashingReader<R> {
    pub fn new(inner: R) -> Self {
        HashingReader { inner, hasher: Sha256::new(), len: 0 }
    }

    pub fn digest(self) -> [u8; 32] {
        self.hasher.finalize().into()
    }
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.len += n as u64;
        Ok(n)
    }
}

/// SHA-256 of a byte slice.
pub fn digest(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

/// A zip's bytes after one sequential read: in memory, or in a local copy. Cloning shares them,
/// so decoding threads each get their own cursor.
#[derive(Clone)]
pub struct SharedBytes {
    backing: Arc<Backing>,
    pos: u64,
}

enum Backing {
    Memory(Vec<u8>),
    /// A local copy, deleted when the last reader goes.
    File {
        file: File,
        len: u64,
        path: PathBuf,
    },
}

impl Drop for Backing {
    fn drop(&mut self) {
        if let Backing::File { path, .. } = self {
            let _ = std::fs::remove_file(path);
        }
    }
}

impl SharedBytes {
    /// Read `path` once, start to end, hashing it. Small files stay in memory; larger ones are
    /// copied into `spill_dir` (on the cache's disk) so the source is not read again. `progress`
    /// hears the bytes read; false from it stops the copy with [`ReadError::Stopped`].
    pub fn read_once(
        path: &Path,
        spill_dir: &Path,
        progress: &mut StageProgress<'_>,
    ) -> Result<(SharedBytes, [u8; 32], u64), ReadError> {
        let file = File::open(path)?;
        let size = file.metadata()?.len();
        let mut reader = HashingReader::new(file);
        let backing = if size <= IN_MEMORY_ZIP {
            let mut bytes = Vec::with_capacity(size as usize);
            copy_reporting(&mut reader, &mut bytes, size, progress)?;
            Backing::Memory(bytes)
        } else {
            let copy = spill_dir.join("source.zip");
            let mut out = io::BufWriter::with_capacity(1 << 20, File::create(&copy)?);
            let len = copy_reporting(&mut reader, &mut out, size, progress)?;
            out.flush()?;
            drop(out);
            Backing::File { file: File::open(&copy)?, len, path: copy }
        };
        let len = reader.len;
        Ok((SharedBytes { backing: Arc::new(backing), pos: 0 }, reader.digest(), len))
    }

    fn len(&self) -> u64 {
        match &*self.backing {
            Backing::Memory(b) => b.len() as u64,
            Backing::File { len, .. } => *len,
        }
    }
}

/// Read a whole file of about `size` bytes, telling `progress` as `copy_reporting` does.
pub fn read_reporting(
    path: &Path,
    size: u64,
    progress: &mut StageProgress<'_>,
) -> Result<Vec<u8>, ReadError> {
    let mut bytes = Vec::with_capacity(size as usize);
    copy_reporting(&mut File::open(path)?, &mut bytes, size, progress)?;
    Ok(bytes)
}

/// Copy `reader` to `out` a megabyte at a time, telling `progress` every few megabytes (of
/// `size`, the length expected); returns the bytes copied, or [`ReadError::Stopped`] when
/// `progress` says stop.
fn copy_reporting(
    reader: &mut dyn Read,
    out: &mut dyn Write,
    size: u64,
    progress: &mut StageProgress<'_>,
) -> Result<u64, ReadError> {
    const REPORT_EVERY: u64 = 8 << 20;
    let mut buf = vec![0u8; 1 << 20];
    let (mut copied, mut reported) = (0u64, 0u64);
    if !progress(StagePhase::Reading, 0, size) {
        return Err(ReadError::Stopped);
    }
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e.into()),
        };
        out.write_all(&buf[..n])?;
        copied += n as u64;
        if copied - reported >= REPORT_EVERY {
            reported = copied;
            if !progress(StagePhase::Reading, copied, size.max(copied)) {
                return Err(ReadError::Stopped);
            }
        }
    }
    progress(StagePhase::Reading, copied, size.max(copied));
    Ok(copied)
}

impl Read for SharedBytes {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = match &*self.backing {
            Backing::Memory(bytes) => {
                let start = (self.pos as usize).min(bytes.len());
                let n = buf.len().min(bytes.len() - start);
                buf[..n].copy_from_slice(&bytes[start..start + n]);
                n
            }
            Backing::File { file, .. } => file.read_at(buf, self.pos)?,
        };
        self.pos += n as u64;
        Ok(n)
    }
}

impl Seek for SharedBytes {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        let target = match to {
            SeekFrom::Start(p) => p as i128,
            SeekFrom::End(d) => self.len() as i128 + d as i128,
            SeekFrom::Current(d) => self.pos as i128 + d as i128,
        };
        if target < 0 {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "seek before the start"));
        }
        self.pos = target as u64;
        Ok(self.pos)
    }
}
