//! CSV tables at scale: a large CSV is parsed once, in one streaming pass, straight into compact
//! `f32` features and `i64`/`f32` targets (no row of strings is kept), and staged in the cache;
//! later runs read the staged copy in well under a second.
//!
//! ```text
//! CACHE_DIR/tables/iris-3f2a9c01b7de/table.json   what was staged, from what, and the key
//! CACHE_DIR/tables/iris-3f2a9c01b7de/x.f32        features, row-major, f32 little-endian
//! CACHE_DIR/tables/iris-3f2a9c01b7de/y.bin        targets: i64 class indices or f32 values (LE)
//! ```
//! An entry is current while the source's size and modification time match; when only the time
//! changed, the content hash (XXH3-128 of the file, computed while parsing) decides. Entries are
//! written under a temporary name and renamed, so a final name always holds a complete entry.
use std::fs::File;
use std::io::{self, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tch::{Device, Kind, Tensor};
use xxhash_rust::xxh3::Xxh3;

use super::table_chunks::{self, FeatureSink, PIECE_BYTES};
use super::table_rows::{Parsed, ParsedTargets, RowParser};
use crate::config::DatasetConfig;
use crate::data::csv_table::{self, HeadLook};
use crate::data::error::{DataError, DataErrorKind, StageError};
use crate::data::readers::source::hex;
use crate::data::types::{LoadedData, StagePhase, StageProgress, Task};

/// Bumped whenever the staged files change meaning; older entries are then staged again.
/// 2: the content hash is XXH3-128 (was SHA-256).
const FORMAT_VERSION: u32 = 2;
/// The table entries' folder inside the staging cache.
pub const TABLES_DIR: &str = "tables";
const MANIFEST: &str = "table.json";
/// The start of a partial entry's folder name: `.staging-ID-HOST-PID-N`.
const PARTIAL_PREFIX: &str = ".staging-";
const X_FILE: &str = "x.f32";
const Y_FILE: &str = "y.bin";
/// Bytes listing reads to learn a CSV's layout.
pub const HEAD_BYTES: usize = 64 * 1024;
/// A head with no line break is read further, up to this, so one very wide line still fits.
const MAX_HEAD_BYTES: usize = 1 << 20;
/// Progress is reported every this many bytes.
const PROGRESS_STEP: u64 = 8 << 20;

/// The first bytes of a file, cut after its last complete line (the whole file when it is small).
/// Returns the bytes and whether the file goes on past them.
pub fn read_head(path: &Path) -> io::Result<(Vec<u8>, bool)> {
    let mut file = File::open(path)?;
    let mut head = Vec::with_capacity(HEAD_BYTES);
    let mut limit = HEAD_BYTES;
    loop {
        let want = limit - head.len();
        let got = (&mut file).take(want as u64).read_to_end(&mut head)?;
        if got < want {
            return Ok((head, false)); // the whole file
        }
        if let Some(end) = head.iter().rposition(|&b| b == b'\n') {
            head.truncate(end + 1);
            return Ok((head, true));
        }
        if limit >= MAX_HEAD_BYTES {
            return Ok((head, true));
        }
        limit *= 4;
    }
}

/// The source's size and modification time (nanoseconds since 1970).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileStamp {
    pub size: u64,
    pub mtime_ns: i64,
}

impl FileStamp {
    /// Stat `path`.
    pub fn of(path: &Path) -> io::Result<FileStamp> {
        let meta = std::fs::metadata(path)?;
        Ok(FileStamp { size: meta.len(), mtime_ns: crate::data::readers::source::mtime_ns(&meta) })
    }
}

/// Everything about a staged table; written last, so its presence means the entry is complete.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TableManifest {
    pub format: u32,
    pub dataset: String,
    pub source: PathBuf,
    pub stamp: FileStamp,
    /// XXH3-128 of the source file, in hex.
    pub content_hash: String,
    /// XXH3-64 of `x.f32` and `y.bin`, in hex, checked whenever they are loaded: the files are
    /// not synced to disk when written (a cache; that sync took longer than the parse), so a
    /// crash can leave them torn, and a torn entry is then staged again rather than trained on.
    pub x_hash: String,
    pub y_hash: String,
    pub rows: usize,
    pub feature_names: Vec<String>,
    /// The classes, in index order; `None` for regression.
    pub classes: Option<Vec<String>>,
    pub class_counts: Vec<usize>,
    /// Rows left out by `drop_missing` or by a `classes` filter.
    pub dropped_rows: usize,
    pub staged_at: String,
    /// How long parsing and staging took.
    pub seconds: f64,
}

impl TableManifest {
    /// The task the staged targets are for.
    pub fn task(&self) -> Task {
        match &self.classes {
            Some(classes) => Task::Classification { classes: classes.clone() },
            None => Task::Regression,
        }
    }

    fn x_bytes(&self) -> u64 {
        (self.rows * self.feature_names.len() * 4) as u64
    }

    fn y_bytes(&self) -> u64 {
        (self.rows * if self.classes.is_some() { 8 } else { 4 }) as u64
    }
}

/// A CSV table and its place in the cache.
pub struct TableSpec<'a> {
    pub name: &'a str,
    pub source: &'a Path,
    pub config: &'a DatasetConfig,
    /// The staging cache folder (tables go in its `tables/` folder).
    pub cache_dir: &'a Path,
}

/// What [`stage`] did.
#[derive(Debug, Clone)]
pub struct TableReport {
    pub entry_dir: PathBuf,
    pub manifest: TableManifest,
    /// `true` when the CSV was parsed now; `false` when the cache already held it.
    pub staged_now: bool,
    /// Seconds spent parsing and staging (or loading the staged copy).
    pub seconds: f64,
}

impl TableSpec<'_> {
    fn dir(&self) -> PathBuf {
        self.cache_dir.join(TABLES_DIR)
    }

    /// `NAME-HASH`, the hash over the source path and the dataset's settings.
    fn entry_id(&self) -> String {
        let source = std::fs::canonicalize(self.source).unwrap_or_else(|_| self.source.to_path_buf());
        let mut h = Sha256::new();
        h.update(FORMAT_VERSION.to_le_bytes());
        h.update(source.to_string_lossy().as_bytes());
        h.update([0]);
        h.update(format!("{:?}", self.config).as_bytes());
        let safe: String = self
            .name
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '_' })
            .take(48)
            .collect();
        format!("{safe}-{}", &hex(&h.finalize())[..12])
    }

    fn unreadable(&self, e: io::Error) -> StageError {
        StageError::Data(DataError::new(self.source, DataErrorKind::Unreadable(e.to_string())))
    }

    fn cache_error(&self, error: io::Error) -> StageError {
        StageError::Cache { dataset: self.source.to_path_buf(), dir: self.dir(), error }
    }

    /// The staged entry's manifest when it is complete and its source's size and time still
    /// match (no hashing): what listing shows.
    pub fn current(&self) -> Option<TableManifest> {
        let stamp = FileStamp::of(self.source).ok()?;
        self.complete().filter(|m| m.stamp == stamp)
    }

    fn complete(&self) -> Option<TableManifest> {
        let dir = self.dir().join(self.entry_id());
        let m = read_manifest(&dir).ok()?;
        let size = |f: &str| std::fs::metadata(dir.join(f)).map(|m| m.len()).ok();
        (m.format == FORMAT_VERSION && size(X_FILE) == Some(m.x_bytes()) && size(Y_FILE) == Some(m.y_bytes()))
            .then_some(m)
    }
}

/// A folder in the cache's `tables/` folder, as `workbench cache list` shows it.
#[derive(Debug)]
pub struct ListedTable {
    pub path: PathBuf,
    pub bytes: u64,
    pub state: TableState,
}

#[derive(Debug)]
pub enum TableState {
    /// A staged table.
    Entry(Box<TableManifest>),
    /// A table being staged now, by a stager still at work (here or on another host); who, and
    /// how recent its heartbeat.
    Staging(String),
    /// A partial entry whose stager is gone; never used. Why it counts as abandoned.
    Leftover(String),
    /// Not readable as an entry of this version (an older format, a damaged manifest); never used.
    Unusable(String),
}

/// An entry's manifest, or why it can't be read.
fn read_manifest(dir: &Path) -> Result<TableManifest, String> {
    let text = std::fs::read(dir.join(MANIFEST)).map_err(|e| e.to_string())?;
    serde_json::from_slice(&text).map_err(|e| e.to_string())
}

/// For a partial entry's folder (`.staging-ID-HOST-PID-N`), whether its stager is still at work
/// (see [`super::stager`]: the cache may be shared between machines); `None` for any other folder.
fn partial_writer(path: &Path, here: &str) -> Option<super::stager::Verdict> {
    let name = path.file_name()?.to_string_lossy();
    name.starts_with(PARTIAL_PREFIX).then(|| super::stager::judge(path, std::time::SystemTime::now(), here))
}

/// Every folder in the cache's `tables/` folder, entries first.
pub fn list_tables(cache_dir: &Path) -> io::Result<Vec<ListedTable>> {
    let mut out = Vec::new();
    let here = crate::runs::host_name();
    for path in super::cache::subfolders(&cache_dir.join(TABLES_DIR))? {
        let state = match partial_writer(&path, &here) {
            Some(v) if v.active => TableState::Staging(v.note),
            Some(v) => TableState::Leftover(v.note),
            None => match read_manifest(&path) {
                Ok(m) if m.format == FORMAT_VERSION => TableState::Entry(Box::new(m)),
                Ok(m) => TableState::Unusable(format!("format {} of an older workbench", m.format)),
                Err(why) => TableState::Unusable(why),
            },
        };
        out.push(ListedTable { bytes: super::cache::folder_bytes(&path), path, state });
    }
    out.sort_by_key(|l| (!matches!(l.state, TableState::Entry(_)), l.path.clone()));
    Ok(out)
}

/// Remove the staged tables of `dataset` (all of them, and the partial entries of processes that
/// are gone, when `None`); a table being staged now is left alone. How many folders went, and
/// their bytes.
pub fn clear_tables(cache_dir: &Path, dataset: Option<&str>) -> io::Result<(usize, u64)> {
    let (mut count, mut bytes) = (0, 0);
    for listed in list_tables(cache_dir)? {
        let entry_of = match &listed.state {
            TableState::Entry(m) => Some(m.dataset.as_str()),
            _ => None,
        };
        if super::cache::cleared_by(matches!(listed.state, TableState::Staging(_)), entry_of, dataset) {
            std::fs::remove_dir_all(&listed.path)?;
            count += 1;
            bytes += listed.bytes;
        }
    }
    Ok((count, bytes))
}

/// Whether a staged table's source is as it was staged (size and time); `None` when it is gone.
pub fn table_current(m: &TableManifest) -> Option<bool> {
    FileStamp::of(&m.source).ok().map(|stamp| stamp == m.stamp)
}

/// Make sure the cache holds a current copy of the table, parsing it (with progress) when not.
pub fn stage(spec: &TableSpec<'_>, progress: &mut StageProgress<'_>) -> Result<TableReport, StageError> {
    let started = Instant::now();
    let stamp = FileStamp::of(spec.source).map_err(|e| spec.unreadable(e))?;
    let id = spec.entry_id();
    let entry_dir = spec.dir().join(&id);
    if let Some(mut m) = spec.complete() {
        let current = m.stamp == stamp
            || (m.stamp.size == stamp.size
                && file_hash(spec.source).ok().as_deref() == Some(&m.content_hash));
        if current {
            if m.stamp != stamp {
                m.stamp = stamp; // same content, new time (a copy, a touch)
                if let Err(e) = write_manifest(&entry_dir, &m) {
                    tracing::warn!(error = %e, "could not update the staged table's manifest");
                }
            }
            return Ok(TableReport { entry_dir, manifest: m, staged_now: false, seconds: secs(started) });
        }
        tracing::info!(entry = id, "the CSV changed since it was staged; parsing it again");
    }
    let (head, _) = read_head(spec.source).map_err(|e| spec.unreadable(e))?;
    let look = csv_table::look_at_head(spec.source, &head, spec.config)?;
    drop(head);
    let partial = PartialEntry::create(&spec.dir(), &id).map_err(|e| spec.cache_error(e))?;
    let (parsed, content_hash, x_hash) = parse_into(spec, &look, &partial.dir, stamp.size, progress)?;
    let manifest = TableManifest {
        format: FORMAT_VERSION,
        dataset: spec.name.to_string(),
        source: spec.source.to_path_buf(),
        stamp,
        content_hash,
        rows: parsed.rows,
        feature_names: look.features.iter().map(|&i| look.columns[i].clone()).collect(),
        classes: match &parsed.task {
            Task::Classification { classes } => Some(classes.clone()),
            Task::Regression => None,
        },
        class_counts: parsed.y.class_counts(parsed.task.num_classes()),
        dropped_rows: parsed.dropped_rows,
        staged_at: crate::util::now_rfc3339(),
        seconds: 0.0,
        x_hash: x_hash.unwrap_or_default(),
        y_hash: String::new(),
    };
    let entry_dir = partial.finish(parsed, manifest, started).map_err(|e| spec.cache_error(e))?;
    let manifest = spec.complete().ok_or_else(|| {
        spec.cache_error(io::Error::other("the staged table could not be read back after writing"))
    })?;
    tracing::info!(dataset = spec.name, entry = %entry_dir.display(), rows = manifest.rows, seconds = manifest.seconds, "table staged");
    Ok(TableReport { entry_dir, seconds: manifest.seconds, manifest, staged_now: true })
}

/// Parse the table into the partial entry in `dir`. Without a `classes` filter every parsed row is
/// kept, so the features go straight to `x.f32` while the rest of the file is parsed (nothing of
/// them stays in memory); a filter needs them all in memory first, and [`PartialEntry::finish`]
/// writes them.
fn parse_into(
    spec: &TableSpec<'_>,
    look: &HeadLook,
    dir: &Path,
    size: u64,
    progress: &mut StageProgress<'_>,
) -> Result<(Parsed, String, Option<String>), StageError> {
    if spec.config.classes.is_some() {
        let (parsed, content_hash) = parse(spec.source, look, spec.config, size, progress, None)?;
        return Ok((parsed, content_hash, None));
    }
    let file = File::create(dir.join(X_FILE)).map_err(|e| spec.cache_error(e))?;
    let mut out = HashingWriter::new(file);
    let mut write =
        |x: &[f32]| write_pod(&mut out, x, |v: &f32| v.to_le_bytes()).map_err(|e| spec.cache_error(e));
    let (parsed, content_hash) = parse(spec.source, look, spec.config, size, progress, Some(&mut write))?;
    let x_hash = out.finish().map_err(|e| spec.cache_error(e))?;
    Ok((parsed, content_hash, Some(x_hash)))
}

/// Load for training: from the cache, parsing and staging first when it holds no current copy.
/// The parsed buffers are written to the cache and dropped before the tensors are read back, so
/// the peak memory is about one copy of the data.
pub fn load(spec: &TableSpec<'_>, progress: &mut StageProgress<'_>) -> Result<LoadedData, StageError> {
    let mut report = stage(spec, progress)?;
    let (x, y) = match read_tensors(&report.entry_dir, &report.manifest) {
        Err(e) if e.kind() == io::ErrorKind::InvalidData => {
            tracing::warn!(entry = %report.entry_dir.display(), error = %e, "the staged table is damaged; staging it again");
            std::fs::remove_dir_all(&report.entry_dir).map_err(|e| spec.cache_error(e))?;
            report = stage(spec, progress)?;
            read_tensors(&report.entry_dir, &report.manifest)
        }
        read => read,
    }
    .map_err(|e| spec.cache_error(e))?;
    let m = &report.manifest;
    tracing::info!(dataset = spec.name, staged_now = report.staged_now, rows = m.rows, "table ready");
    Ok(LoadedData {
        name: spec.name.to_string(),
        x,
        y,
        task: m.task(),
        feature_names: m.feature_names.clone(),
        holdout: None,
    })
}

fn secs(started: Instant) -> f64 {
    started.elapsed().as_secs_f64()
}

/// Passes the file's bytes through, hashing them and reporting progress; a `false` from the
/// progress callback ends the read with an `Interrupted` error.
struct Tap<'p, 'q, R> {
    inner: R,
    hash: Xxh3,
    done: u64,
    total: u64,
    next_report: u64,
    progress: &'p mut StageProgress<'q>,
    stopped: bool,
}

impl<R: Read> Read for Tap<'_, '_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.stopped {
            return Err(io::Error::new(io::ErrorKind::Interrupted, "stopped"));
        }
        let n = self.inner.read(buf)?;
        self.hash.update(&buf[..n]);
        self.done += n as u64;
        if self.done >= self.next_report || n == 0 {
            self.next_report = self.done + PROGRESS_STEP;
            if !(self.progress)(StagePhase::Reading, self.done, self.total) {
                self.stopped = true;
                return Err(io::Error::new(io::ErrorKind::Interrupted, "stopped"));
            }
        }
        Ok(n)
    }
}

/// Parsers for a file of `size` bytes: one per core (at most 8), no more than it has pieces.
fn parse_threads(size: u64) -> usize {
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1).min(8);
    let pieces = size.div_ceil(PIECE_BYTES as u64).max(1);
    cores.min(pieces as usize)
}

/// Parse the whole file with the head's layout, checking every row as [`csv_table`] does; the
/// rows and the file's content hash.
fn parse(
    path: &Path,
    look: &HeadLook,
    config: &DatasetConfig,
    total: u64,
    progress: &mut StageProgress<'_>,
    sink: Option<FeatureSink<'_>>,
) -> Result<(Parsed, String), StageError> {
    let file =
        File::open(path).map_err(|e| DataError::new(path, DataErrorKind::Unreadable(e.to_string())))?;
    let mut tap =
        Tap { inner: file, hash: Xxh3::new(), done: 0, total, next_report: 0, progress, stopped: false };
    let parser = RowParser::new(path, look, config);
    let rows = table_chunks::parse_in_pieces(&parser, &mut tap, parse_threads(total), PIECE_BYTES, sink);
    if tap.stopped {
        return Err(StageError::Stopped);
    }
    let content_hash = format!("{:032x}", tap.hash.digest128());
    Ok((parser.finish(rows?)?, content_hash))
}

/// The content hash of a file, as the parse computes it.
fn file_hash(path: &Path) -> io::Result<String> {
    let mut file = File::open(path)?;
    let mut h = Xxh3::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            return Ok(format!("{:032x}", h.digest128()));
        }
        h.update(&buf[..n]);
    }
}

fn write_manifest(dir: &Path, m: &TableManifest) -> io::Result<()> {
    let text = serde_json::to_vec_pretty(m).map_err(io::Error::other)?;
    // Not synced: x.f32 and y.bin aren't either (see `TableManifest::x_hash`); a manifest a crash
    // left empty or torn doesn't parse, and the table is staged again.
    crate::util::write_atomic_unsynced(&dir.join(MANIFEST), &text)
}

/// An entry being written, under a temporary name in the tables folder; removed when dropped
/// unless [`PartialEntry::finish`] renamed it into place, so a failed or stopped staging leaves
/// nothing behind.
struct PartialEntry {
    dir: PathBuf,
    final_dir: PathBuf,
    done: bool,
    /// Touches the folder's stager file while it is written (see [`super::stager`]).
    heartbeat: Option<super::stager::Heartbeat>,
}

/// Tells this process's partial entries apart (two datasets staged at once).
static NEXT_PARTIAL: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

impl PartialEntry {
    fn create(tables: &Path, id: &str) -> io::Result<PartialEntry> {
        std::fs::create_dir_all(tables)?;
        remove_abandoned(tables);
        let n = NEXT_PARTIAL.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let who = super::stager::Stager::this_process().name_part();
        let dir = tables.join(format!("{PARTIAL_PREFIX}{id}-{who}-{n}"));
        // Only a process of this host with this pid (an earlier one, gone) uses this name.
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir(&dir)?;
        let mut partial = PartialEntry { dir, final_dir: tables.join(id), done: false, heartbeat: None };
        partial.heartbeat = Some(super::stager::claim(&partial.dir)?);
        Ok(partial)
    }

    /// Write what is still to be written (the features when they were kept in memory, the
    /// targets, the manifest last, with the files' hashes), then rename the entry into place. `parsed` is consumed so
    /// its buffers are freed as soon as they are on disk.
    fn finish(
        mut self,
        parsed: Parsed,
        mut manifest: TableManifest,
        started: Instant,
    ) -> io::Result<PathBuf> {
        if manifest.x_hash.is_empty() {
            manifest.x_hash = write_le(&self.dir.join(X_FILE), &parsed.x, |v: &f32| v.to_le_bytes())?;
        }
        drop(parsed.x);
        let y_path = self.dir.join(Y_FILE);
        manifest.y_hash = match &parsed.y {
            ParsedTargets::Classes { ids, class_of, .. } => {
                let mut out = HashingWriter::new(File::create(&y_path)?);
                // Pieces of the buffer's size go straight to the file, not through the buffer.
                let rows = WRITE_BUFFER / std::mem::size_of::<i64>();
                ParsedTargets::each_class_piece(ids, class_of, rows, |classes| {
                    write_pod(&mut out, classes, |n: &i64| n.to_le_bytes())
                })?;
                out.finish()?
            }
            ParsedTargets::Values(v) => write_le(&y_path, v, |v: &f32| v.to_le_bytes())?,
        };
        crate::util::drop_elsewhere(parsed.y);
        manifest.seconds = secs(started);
        write_manifest(&self.dir, &manifest)?;
        // The entry is complete: it no longer needs a stager or a heartbeat.
        drop(self.heartbeat.take());
        let _ = std::fs::remove_file(self.dir.join(super::stager::STAGER_FILE));
        if self.final_dir.exists() {
            std::fs::remove_dir_all(&self.final_dir)?;
        }
        std::fs::rename(&self.dir, &self.final_dir)?;
        self.done = true;
        Ok(self.final_dir.clone())
    }
}

/// Remove partial entries whose stager is gone (killed, or Ctrl-C in `workbench stage`, which
/// ends the process without unwinding): a large table's partial features can be hundreds of MiB.
/// Another host's partial entry with a fresh heartbeat is left alone.
fn remove_abandoned(tables: &Path) {
    let Ok(folders) = super::cache::subfolders(tables) else { return };
    let here = crate::runs::host_name();
    for path in folders {
        if let Some(v) = partial_writer(&path, &here).filter(|v| !v.active) {
            tracing::info!(dir = %path.display(), why = %v.note, "removing an abandoned partial staged table");
            let _ = std::fs::remove_dir_all(&path);
        }
    }
}

impl Drop for PartialEntry {
    fn drop(&mut self) {
        drop(self.heartbeat.take());
        if !self.done {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// Write `values` to a new file as little-endian bytes; the file's hash.
fn write_le<T: bytemuck::Pod, const N: usize>(
    path: &Path,
    values: &[T],
    bytes: impl Fn(&T) -> [u8; N],
) -> io::Result<String> {
    let mut out = HashingWriter::new(File::create(path)?);
    write_pod(&mut out, values, bytes)?;
    out.finish()
}

/// A file writer that hashes (XXH3-64) what passes through it.
struct HashingWriter {
    inner: BufWriter<File>,
    hash: xxhash_rust::xxh3::Xxh3,
}

/// The buffer of a staged file's writer.
const WRITE_BUFFER: usize = 1 << 20;

impl HashingWriter {
    fn new(file: File) -> HashingWriter {
        HashingWriter { inner: BufWriter::with_capacity(WRITE_BUFFER, file), hash: Xxh3::new() }
    }

    /// Flush the file; the hash of everything written, in hex.
    fn finish(mut self) -> io::Result<String> {
        self.inner.flush()?;
        Ok(format!("{:016x}", self.hash.digest()))
    }
}

impl Write for HashingWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hash.update(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Append `values` to `out` as little-endian bytes.
fn put_le<T, const N: usize>(
    out: &mut impl Write,
    values: &[T],
    bytes: impl Fn(&T) -> [u8; N],
) -> io::Result<()> {
    // Into a buffer of fixed length, slot by slot: the copies compile to plain vector moves.
    let mut buf = vec![0u8; N * 16384];
    for chunk in values.chunks(16384) {
        let filled = &mut buf[..N * chunk.len()];
        for (slot, v) in filled.chunks_exact_mut(N).zip(chunk) {
            slot.copy_from_slice(&bytes(v));
        }
        out.write_all(filled)?;
    }
    Ok(())
}

/// Values as little-endian bytes: on a little-endian machine, the memory as it is; `bytes`
/// gives one value's on another.
fn write_pod<T: bytemuck::Pod, const N: usize>(
    out: &mut impl Write,
    values: &[T],
    bytes: impl Fn(&T) -> [u8; N],
) -> io::Result<()> {
    if cfg!(target_endian = "little") {
        out.write_all(bytemuck::cast_slice(values))
    } else {
        put_le(out, values, bytes)
    }
}

/// The staged tensors, read straight into their memory and checked against the manifest's hashes.
fn read_tensors(dir: &Path, m: &TableManifest) -> io::Result<(Tensor, Tensor)> {
    let (rows, width) = (m.rows as i64, m.feature_names.len() as i64);
    let x = read_tensor(&dir.join(X_FILE), &[rows, width], Kind::Float, m.x_bytes(), &m.x_hash)?;
    let y_kind = if m.classes.is_some() { Kind::Int64 } else { Kind::Float };
    let y = read_tensor(&dir.join(Y_FILE), &[rows], y_kind, m.y_bytes(), &m.y_hash)?;
    Ok((x, y))
}

/// A staged file as a tensor; an `InvalidData` error when its bytes don't hash to `hash`.
fn read_tensor(path: &Path, shape: &[i64], kind: Kind, bytes: u64, hash: &str) -> io::Result<Tensor> {
    let mut file = File::open(path)?;
    if file.metadata()?.len() != bytes {
        return Err(io::Error::other(format!("{} is not the size its manifest records", path.display())));
    }
    let t = Tensor::empty(shape, (kind, Device::Cpu));
    let mut buf: &mut [u8] = &mut [];
    if bytes > 0 {
        // SAFETY: `t` is a new contiguous CPU tensor of exactly `bytes` bytes (shape × element
        // size, as the manifest's sizes are computed), owned here and not yet shared, so the
        // slice is the only view of that memory while it is filled and hashed. The files are
        // little-endian, as every host libtorch supports is.
        buf = unsafe { std::slice::from_raw_parts_mut(t.data_ptr() as *mut u8, bytes as usize) };
        file.read_exact(buf)?;
    }
    if format!("{:016x}", xxhash_rust::xxh3::xxh3_64(buf)) != hash {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{} does not match its manifest's hash (a crash while it was written?)", path.display()),
        ));
    }
    Ok(t)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::csv_table::load_csv;
    use crate::data::types::Targets;
    use std::fmt::Write as _;

    /// An Iris-like table of `rows` rows (text classes, sorted by class so the head sees only
    /// one), well over the head's 64 KiB.
    /// A temporary folder holding `name`, a table of `rows` rows written by [`write_table`], and
    /// the path of a staging cache in it.
    fn table_in_tempdir(
        name: &str,
        rows: usize,
        bad_at: Option<usize>,
    ) -> (tempfile::TempDir, PathBuf, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let csv = dir.path().join(name);
        write_table(&csv, rows, bad_at);
        let cache = dir.path().join("cache");
        (dir, csv, cache)
    }

    fn write_table(path: &Path, rows: usize, bad_at: Option<usize>) {
        let mut s = String::from("a,b,c,species\n");
        for i in 0..rows {
            let class = ["setosa", "versicolor", "virginica"][i * 3 / rows];
            let a = if bad_at == Some(i) { "oops".to_string() } else { format!("{}.5", i % 97) };
            writeln!(s, "{a},{},{},{class}", i % 13, (i as f64) * 0.25).unwrap();
        }
        std::fs::write(path, s).unwrap();
    }

    fn never_stop() -> impl FnMut(StagePhase, u64, u64) -> bool {
        |_, _, _| true
    }

    #[test]
    fn streaming_load_matches_the_whole_file_parse_and_is_staged() {
        let (_dir, csv, cache) = table_in_tempdir("big.csv", 20_000, None);
        let config = DatasetConfig::default();
        let whole = load_csv(&csv, &config).unwrap();
        let spec = TableSpec { name: "big", source: &csv, config: &config, cache_dir: &cache };
        let mut seen = Vec::new();
        let mut progress = |_: StagePhase, done: u64, total: u64| {
            seen.push((done, total));
            true
        };
        let loaded = load(&spec, &mut progress).unwrap();
        assert_eq!(loaded.task, whole.schema.task);
        assert_eq!(loaded.x.size(), [20_000, 3]);
        assert_eq!(Vec::<f32>::try_from(loaded.x.flatten(0, -1)).unwrap(), whole.x);
        let Targets::Classes(labels) = &whole.y else { panic!("classes expected") };
        assert_eq!(&Vec::<i64>::try_from(&loaded.y).unwrap(), labels);
        let size = std::fs::metadata(&csv).unwrap().len();
        assert_eq!(seen.last(), Some(&(size, size)), "progress ends at the file's size");

        let again = stage(&spec, &mut never_stop()).unwrap();
        assert!(!again.staged_now, "the second use reads the staged copy");
        assert_eq!(again.manifest.class_counts, vec![6667, 6667, 6666]);
    }

    #[test]
    fn a_torn_staged_file_is_staged_again_not_trained_on() {
        let (_dir, csv, cache) = table_in_tempdir("big.csv", 20_000, None);
        let config = DatasetConfig::default();
        let spec = TableSpec { name: "big", source: &csv, config: &config, cache_dir: &cache };
        let first = Vec::<f32>::try_from(load(&spec, &mut never_stop()).unwrap().x.flatten(0, -1)).unwrap();
        // What a crash before the kernel wrote the pages back can leave: the size, not the bytes.
        let x_file = cache.join(TABLES_DIR).join(spec.entry_id()).join(X_FILE);
        let size = std::fs::metadata(&x_file).unwrap().len() as usize;
        std::fs::write(&x_file, vec![0u8; size]).unwrap();
        let again = Vec::<f32>::try_from(load(&spec, &mut never_stop()).unwrap().x.flatten(0, -1)).unwrap();
        assert_eq!(again, first);
        assert!(stage(&spec, &mut never_stop()).unwrap().manifest.x_hash.len() == 16);
    }

    #[test]
    fn a_manifest_a_crash_left_empty_or_torn_means_staging_again() {
        // The manifest isn't synced either: after a crash it may be empty, or cut short.
        let (_dir, csv, cache) = table_in_tempdir("big.csv", 20_000, None);
        let config = DatasetConfig::default();
        let spec = TableSpec { name: "big", source: &csv, config: &config, cache_dir: &cache };
        assert!(stage(&spec, &mut never_stop()).unwrap().staged_now);
        let manifest = cache.join(TABLES_DIR).join(spec.entry_id()).join(MANIFEST);
        let text = std::fs::read(&manifest).unwrap();
        for damaged in [Vec::new(), text[..text.len() / 2].to_vec()] {
            std::fs::write(&manifest, damaged).unwrap();
            assert!(spec.current().is_none(), "a damaged manifest isn't a staged table");
            let again = stage(&spec, &mut never_stop()).unwrap();
            assert!(again.staged_now && again.manifest.rows == 20_000);
        }
    }

    #[test]
    fn a_classes_filter_keeps_the_features_of_its_rows_only() {
        let (_dir, csv, cache) = table_in_tempdir("big.csv", 20_000, None);
        let config =
            DatasetConfig { classes: Some(vec!["virginica".into(), "setosa".into()]), ..Default::default() };
        let whole = load_csv(&csv, &config).unwrap();
        let spec = TableSpec { name: "big", source: &csv, config: &config, cache_dir: &cache };
        let loaded = load(&spec, &mut never_stop()).unwrap();
        assert_eq!(loaded.x.size(), [13_333, 3]);
        assert_eq!(Vec::<f32>::try_from(loaded.x.flatten(0, -1)).unwrap(), whole.x);
        let Targets::Classes(labels) = &whole.y else { panic!("classes expected") };
        assert_eq!(&Vec::<i64>::try_from(&loaded.y).unwrap(), labels);
        // The counts, kept per label while parsing, are those of the rows kept.
        let staged = stage(&spec, &mut never_stop()).unwrap();
        let counted: Vec<usize> = (0..2).map(|c| labels.iter().filter(|&&l| l == c).count()).collect();
        assert_eq!(staged.manifest.class_counts, counted);
    }

    #[test]
    fn a_bad_cell_near_the_end_is_reported_with_its_line_and_column() {
        let (_dir, csv, cache) = table_in_tempdir("bad.csv", 20_000, Some(19_990));
        let config = DatasetConfig::default();
        let spec = TableSpec { name: "bad", source: &csv, config: &config, cache_dir: &cache };
        let Err(StageError::Data(e)) = load(&spec, &mut never_stop()) else {
            panic!("a data error expected")
        };
        let whole = load_csv(&csv, &config).unwrap_err();
        assert_eq!(e.line, Some(19_992), "{e}");
        assert_eq!(e.to_string(), whole.to_string());
        assert!(!cache.join(TABLES_DIR).join(spec.entry_id()).exists(), "nothing staged");
        let left: Vec<_> =
            std::fs::read_dir(cache.join(TABLES_DIR)).unwrap().flatten().map(|e| e.file_name()).collect();
        assert!(
            left.iter().all(|n| !n.to_string_lossy().starts_with(".staging")),
            "no partial entry left: {left:?}"
        );
    }

    #[test]
    fn a_partial_entry_is_removed_only_when_its_stager_is_gone() {
        use super::super::stager::tests::plant;
        use std::time::Duration;
        let dir = tempfile::tempdir().unwrap();
        let tables = dir.path().join(TABLES_DIR);
        let here = crate::runs::host_name();
        let fresh = Duration::from_secs(5);
        // 4999999 is above pid_max (2^22): no process here has it.
        let dead = tables.join(".staging-big-0123456789ab-here-4999999-0");
        plant(&dead, &here, 4_999_999, fresh);
        std::fs::write(dead.join(X_FILE), [0u8; 64]).unwrap();
        let ours = tables.join(".staging-other-0123456789ab-here-0");
        plant(&ours, &here, std::process::id(), fresh);
        // Another node staging into a shared cache: its pid means nothing here.
        let elsewhere = tables.join(".staging-shared-0123456789ab-node7-4999999-0");
        plant(&elsewhere, "node7", 4_999_999, fresh);
        let silent = tables.join(".staging-lost-0123456789ab-node8-4999999-0");
        plant(&silent, "node8", 4_999_999, Duration::from_secs(3_600));
        let partial = PartialEntry::create(&tables, "t-0123456789ab").unwrap();
        assert!(!dead.exists(), "the dead process's partial entry is removed");
        assert!(ours.exists(), "a live process's is kept");
        assert!(elsewhere.exists(), "another host's, with a fresh heartbeat, is kept");
        assert!(!silent.exists(), "another host's without a heartbeat for an hour is removed");
        let listed = list_tables(dir.path()).unwrap();
        let state = |p: &Path| listed.iter().find(|l| l.path == p).map(|l| format!("{:?}", l.state)).unwrap();
        assert!(
            state(&elsewhere).starts_with("Staging(\"pid 4999999 on node7, heartbeat "),
            "{}",
            state(&elsewhere)
        );
        assert!(state(&partial.dir).starts_with("Staging(\"pid "), "{}", state(&partial.dir));
        drop(partial);
    }

    #[test]
    fn a_stop_from_progress_abandons_the_parse() {
        let dir = tempfile::tempdir().unwrap();
        let csv = dir.path().join("t.csv");
        write_table(&csv, 5_000, None);
        let config = DatasetConfig::default();
        let cache = dir.path().join("cache");
        let spec = TableSpec { name: "t", source: &csv, config: &config, cache_dir: &cache };
        assert!(matches!(load(&spec, &mut |_, _, _| false), Err(StageError::Stopped)));
    }

    #[test]
    fn listing_reads_a_bounded_head_and_counts_rows_once() {
        let (_dir, csv, cache) = table_in_tempdir("big.csv", 100_000, None);
        let (head, more) = read_head(&csv).unwrap();
        assert!(more && head.len() <= HEAD_BYTES && head.ends_with(b"\n"));
        let config = DatasetConfig::default();
        let summary = super::super::table_summary::summarize("big", &csv, &config, &cache).unwrap();
        assert_eq!(summary.rows, 100_000);
        assert_eq!(summary.staged, Some(false));
        let (_, how) = crate::data::listing::rows::line_count(&csv, &cache).unwrap();
        assert_eq!(how, crate::data::listing::rows::CountSource::Cache, "the count was cached");
        // Once staged, listing shows the staged copy's exact figures.
        let spec = TableSpec { name: "big", source: &csv, config: &config, cache_dir: &cache };
        stage(&spec, &mut never_stop()).unwrap();
        let summary = super::super::table_summary::summarize("big", &csv, &config, &cache).unwrap();
        assert_eq!((summary.staged, summary.class_counts.len()), (Some(true), 3));
    }
}
