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
//! changed, the content hash (SHA-256 of the file, computed while parsing) decides. Entries are
//! written under a temporary name and renamed, so a final name always holds a complete entry.
use std::collections::{BTreeSet, HashMap};
use std::fs::File;
use std::io::{self, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Instant, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tch::{Device, Kind, Tensor};

use crate::config::{DatasetConfig, TaskOverride};
use crate::data::csv_table::{self, HeadLook, MAX_INTEGER_CLASSES};
use crate::data::error::{DataError, DataErrorKind, StageError};
use crate::data::readers::source::hex;
use crate::data::types::{class_counts, LoadedData, StagePhase, StageProgress, Targets, Task};

/// Bumped whenever the staged files change meaning; older entries are then staged again.
const FORMAT_VERSION: u32 = 1;
/// The table entries' folder inside the staging cache.
pub const TABLES_DIR: &str = "tables";
const MANIFEST: &str = "table.json";
const X_FILE: &str = "x.f32";
const Y_FILE: &str = "y.bin";
/// Bytes listing reads to learn a CSV's layout.
pub const HEAD_BYTES: usize = 64 * 1024;
/// A head with no line break is read further, up to this, so one very wide line still fits.
const MAX_HEAD_BYTES: usize = 1 << 20;
/// Distinct target values tracked as labels; past this a target can only be a regression value.
const MAX_LABELS: usize = 65_536;
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
        let mtime_ns = meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
            .map(|d| d.as_nanos() as i64)
            .unwrap_or(0);
        Ok(FileStamp { size: meta.len(), mtime_ns })
    }
}

/// Everything about a staged table; written last, so its presence means the entry is complete.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TableManifest {
    pub format: u32,
    pub dataset: String,
    pub source: PathBuf,
    pub stamp: FileStamp,
    /// SHA-256 of the source file.
    pub content_hash: String,
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
        let text = std::fs::read(dir.join(MANIFEST)).ok()?;
        let m: TableManifest = serde_json::from_slice(&text).ok()?;
        let size = |f: &str| std::fs::metadata(dir.join(f)).map(|m| m.len()).ok();
        (m.format == FORMAT_VERSION && size(X_FILE) == Some(m.x_bytes()) && size(Y_FILE) == Some(m.y_bytes()))
            .then_some(m)
    }
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
    let parsed = parse(spec.source, &look, spec.config, stamp.size, progress)?;
    let manifest = TableManifest {
        format: FORMAT_VERSION,
        dataset: spec.name.to_string(),
        source: spec.source.to_path_buf(),
        stamp,
        content_hash: parsed.content_hash.clone(),
        rows: parsed.rows,
        feature_names: look.features.iter().map(|&i| look.columns[i].clone()).collect(),
        classes: match &parsed.task {
            Task::Classification { classes } => Some(classes.clone()),
            Task::Regression => None,
        },
        class_counts: match &parsed.y {
            Targets::Classes(labels) => class_counts(labels, parsed.task.num_classes()),
            Targets::Values(_) => Vec::new(),
        },
        dropped_rows: parsed.dropped_rows,
        staged_at: crate::util::now_rfc3339(),
        seconds: 0.0,
    };
    let entry_dir = write_entry(spec, &id, parsed, manifest, started).map_err(|e| spec.cache_error(e))?;
    let manifest = spec.complete().ok_or_else(|| {
        spec.cache_error(io::Error::other("the staged table could not be read back after writing"))
    })?;
    tracing::info!(dataset = spec.name, entry = %entry_dir.display(), rows = manifest.rows, seconds = manifest.seconds, "table staged");
    Ok(TableReport { entry_dir, seconds: manifest.seconds, manifest, staged_now: true })
}

/// Load for training: from the cache, parsing and staging first when it holds no current copy.
/// The parsed buffers are written to the cache and dropped before the tensors are read back, so
/// the peak memory is about one copy of the data.
pub fn load(spec: &TableSpec<'_>, progress: &mut StageProgress<'_>) -> Result<LoadedData, StageError> {
    let report = stage(spec, progress)?;
    let m = &report.manifest;
    let (x, y) = read_tensors(&report.entry_dir, m).map_err(|e| spec.cache_error(e))?;
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

/// A table parsed in one pass.
struct Parsed {
    x: Vec<f32>,
    y: Targets,
    task: Task,
    rows: usize,
    dropped_rows: usize,
    content_hash: String,
}

/// Passes the file's bytes through, hashing them and reporting progress; a `false` from the
/// progress callback ends the read with an `Interrupted` error.
struct Tap<'p, 'q, R> {
    inner: R,
    hash: Sha256,
    done: u64,
    total: u64,
    next_report: u64,
    progress: &'p mut StageProgress<'q>,
    stopped: bool,
}

impl<R: Read> Read for Tap<'_, '_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
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

/// What the target column held, gathered while streaming; the task is decided at the end, as
/// [`csv_table`] decides it over all rows.
#[derive(Default)]
struct TargetStats {
    /// Each kept row's value (NaN for text).
    values: Vec<f32>,
    /// Each kept row's label id (index into `names`); emptied past `MAX_LABELS`.
    ids: Vec<u32>,
    names: Vec<Box<str>>,
    index: HashMap<Box<str>, u32>,
    overflow: bool,
    /// The first text cell: its line and value.
    first_text: Option<(u64, String)>,
    has_fraction: bool,
    integers: BTreeSet<i64>,
}

impl TargetStats {
    fn push(&mut self, cell: &str, line: u64) {
        let label = cell.trim();
        match csv_table::parse_number(cell) {
            Some(v) => {
                self.values.push(v as f32);
                if v.fract() == 0.0 && v.abs() < 1e9 {
                    if self.integers.len() <= MAX_INTEGER_CLASSES {
                        self.integers.insert(v as i64);
                    }
                } else {
                    self.has_fraction = true;
                }
            }
            None => {
                self.values.push(f32::NAN);
                if self.first_text.is_none() {
                    self.first_text = Some((line, label.to_string()));
                }
            }
        }
        if self.overflow {
            return;
        }
        let id = match self.index.get(label) {
            Some(&id) => id,
            None => {
                let id = self.names.len() as u32;
                self.names.push(label.into());
                self.index.insert(label.into(), id);
                id
            }
        };
        self.ids.push(id);
        if self.names.len() > MAX_LABELS {
            self.overflow = true;
            self.ids = Vec::new();
            self.index = HashMap::new();
        }
    }

    /// Classification for text or small-integer targets, regression otherwise.
    fn infer(&self) -> TaskOverride {
        if self.first_text.is_some() {
            TaskOverride::Classification
        } else if self.has_fraction || self.integers.len() > MAX_INTEGER_CLASSES {
            TaskOverride::Regression
        } else {
            TaskOverride::Classification
        }
    }
}

/// As [`csv_table::is_missing`], without an allocation for the usual (long or numeric) cell.
fn is_missing(cell: &[u8]) -> bool {
    let t = cell.trim_ascii();
    // No missing-value token is longer than 4 bytes or starts with a digit.
    t.len() <= 4
        && !t.first().is_some_and(u8::is_ascii_digit)
        && csv_table::is_missing(&String::from_utf8_lossy(t))
}

/// The usual cell, quickly: ASCII digits with ASCII spaces around them. `None` sends the cell to
/// [`csv_table::parse_number`], which decides (and words the error) as for small files.
fn fast_number(cell: &[u8]) -> Option<f32> {
    let t = cell.trim_ascii();
    let s = std::str::from_utf8(t).ok()?;
    s.parse::<f64>().ok().filter(|v| v.is_finite()).map(|v| v as f32)
}

fn at(path: &Path, kind: DataErrorKind, line: u64) -> DataError {
    DataError::new(path, kind).at_line(line)
}

/// Parse the whole file with the head's layout, checking every row as [`csv_table`] does.
fn parse(
    path: &Path,
    look: &HeadLook,
    config: &DatasetConfig,
    total: u64,
    progress: &mut StageProgress<'_>,
) -> Result<Parsed, StageError> {
    let file =
        File::open(path).map_err(|e| DataError::new(path, DataErrorKind::Unreadable(e.to_string())))?;
    let mut tap =
        Tap { inner: file, hash: Sha256::new(), done: 0, total, next_report: 0, progress, stopped: false };
    let width = look.columns.len();
    let nf = look.features.len();
    // Row estimate from the head, so the buffers rarely grow (untouched capacity costs no memory).
    let estimate = (total as usize / 16).min(1 << 28);
    let mut x: Vec<f32> = Vec::with_capacity(estimate.min(1 << 20) * nf);
    let mut target = TargetStats::default();
    let mut dropped_rows = 0;
    let mut header_pending = look.has_header;
    let mut record = csv::ByteRecord::new();
    let column = |c: usize| (c + 1, look.columns[c].as_str());
    {
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .delimiter(look.delimiter)
            .buffer_capacity(1 << 20)
            .from_reader(&mut tap);
        loop {
            let more = match reader.read_byte_record(&mut record) {
                Ok(more) => more,
                Err(e) => {
                    if let csv::ErrorKind::Io(io) = e.kind() {
                        if io.kind() == io::ErrorKind::Interrupted {
                            return Err(StageError::Stopped);
                        }
                    }
                    let line = e.position().map(|p| p.line()).unwrap_or(0);
                    return Err(at(path, DataErrorKind::NotCsv(e.to_string()), line).into());
                }
            };
            if !more {
                break;
            }
            let line = record.position().map(|p| p.line()).unwrap_or(0);
            if record.len() == 1 && record[0].trim_ascii().is_empty() {
                continue; // a blank line
            }
            if header_pending {
                header_pending = false;
                continue;
            }
            if record.len() != width {
                let fields: Vec<String> =
                    record.iter().map(|f| String::from_utf8_lossy(f).into_owned()).collect();
                return Err(csv_table::ragged(path, look.delimiter, config, width, &fields, line).into());
            }
            let text = |c: usize| -> Result<&str, DataError> {
                std::str::from_utf8(&record[c]).map_err(|_| {
                    let value = String::from_utf8_lossy(&record[c]).trim().to_string();
                    let (i, name) = column(c);
                    at(path, DataErrorKind::NotNumeric { value }, line).at_column(i, name)
                })
            };
            let missing =
                look.features.iter().chain(std::iter::once(&look.target)).find(|&&c| is_missing(&record[c]));
            match missing {
                Some(&c) if !config.drop_missing => {
                    let value = String::from_utf8_lossy(&record[c]).trim().to_string();
                    let (i, name) = column(c);
                    return Err(at(path, DataErrorKind::Missing { value }, line).at_column(i, name).into());
                }
                Some(_) => {
                    dropped_rows += 1;
                    continue;
                }
                None => {}
            }
            for &c in &look.features {
                if let Some(v) = fast_number(&record[c]) {
                    x.push(v);
                    continue;
                }
                let cell = text(c)?;
                let v = csv_table::parse_number_in(look.delimiter, cell).ok_or_else(|| {
                    let (i, name) = column(c);
                    at(path, DataErrorKind::NotNumeric { value: cell.trim().to_string() }, line)
                        .at_column(i, name)
                })?;
                x.push(v as f32);
            }
            let label = text(look.target)?;
            match csv_table::decimal_comma_cell(look.delimiter, label) {
                Some(dotted) => target.push(&dotted, line),
                None => target.push(label, line),
            }
        }
    }
    if tap.stopped {
        return Err(StageError::Stopped);
    }
    let content_hash = hex(&tap.hash.finalize());
    let kind = config.task.unwrap_or_else(|| target.infer());
    let (tcol, tname) = column(look.target);
    let (task, y, filtered) = match kind {
        TaskOverride::Regression => {
            if let Some((line, value)) = target.first_text.take() {
                let kind = DataErrorKind::Schema(format!(
                    "{value:?} is not a number, but the task is regression; set `task = \"classification\"` under \
                     [datasets.NAME] or fix the value"
                ));
                return Err(at(path, kind, line).at_column(tcol, tname).into());
            }
            (Task::Regression, Targets::Values(std::mem::take(&mut target.values)), 0)
        }
        TaskOverride::Classification => classify(path, config, &mut target, &mut x, nf, (tcol, tname))?,
    };
    dropped_rows += filtered;
    let rows = y.len();
    if rows < 2 {
        return Err(DataError::new(path, DataErrorKind::TooFewRows { rows }).into());
    }
    Ok(Parsed { x, y, task, rows, dropped_rows, content_hash })
}

/// Class indices for the label ids, in [`csv_table::sorted_classes`] order, with the `classes`
/// filter applied (its rows removed from `x` in place).
fn classify(
    path: &Path,
    config: &DatasetConfig,
    target: &mut TargetStats,
    x: &mut Vec<f32>,
    nf: usize,
    (tcol, tname): (usize, &str),
) -> Result<(Task, Targets, usize), DataError> {
    let err = |kind| DataError::new(path, kind).at_column(tcol, tname);
    if target.overflow {
        return Err(err(DataErrorKind::Schema(format!(
            "the target has more than {MAX_LABELS} distinct values, too many for classes; set `task = \
             \"regression\"` under [datasets.NAME] or choose another `target`"
        ))));
    }
    target.values = Vec::new();
    let present = csv_table::sorted_classes(target.names.iter().map(|n| n.to_string()).collect());
    let classes = match &config.classes {
        Some(wanted) => {
            if let Some(w) = wanted.iter().find(|w| !present.contains(w)) {
                return Err(err(DataErrorKind::UnknownClass { name: w.clone(), available: present }));
            }
            wanted.clone()
        }
        None => present,
    };
    if classes.len() < 2 {
        let class = classes.first().cloned().unwrap_or_default();
        return Err(err(DataErrorKind::SingleClass { class }));
    }
    let position: HashMap<&str, i64> =
        classes.iter().enumerate().map(|(i, c)| (c.as_str(), i as i64)).collect();
    let of_id: Vec<i64> = target.names.iter().map(|n| position.get(&**n).copied().unwrap_or(-1)).collect();
    let mut y = Vec::with_capacity(target.ids.len());
    let mut kept = 0;
    for (row, &id) in target.ids.iter().enumerate() {
        let k = of_id[id as usize];
        if k < 0 {
            continue;
        }
        if kept != row {
            x.copy_within(row * nf..(row + 1) * nf, kept * nf);
        }
        y.push(k);
        kept += 1;
    }
    let filtered = target.ids.len() - kept;
    x.truncate(kept * nf);
    target.ids = Vec::new();
    Ok((Task::Classification { classes }, Targets::Classes(y), filtered))
}

/// SHA-256 of a file, as the parse computes it.
fn file_hash(path: &Path) -> io::Result<String> {
    let mut file = File::open(path)?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            return Ok(hex(&h.finalize()));
        }
        h.update(&buf[..n]);
    }
}

fn write_manifest(dir: &Path, m: &TableManifest) -> io::Result<()> {
    let text = serde_json::to_vec_pretty(m).map_err(io::Error::other)?;
    crate::util::write_atomic(&dir.join(MANIFEST), &text)
}

/// Write an entry under a temporary name, then rename it into place. `parsed` is consumed so its
/// buffers are freed as soon as they are on disk.
fn write_entry(
    spec: &TableSpec<'_>,
    id: &str,
    parsed: Parsed,
    mut manifest: TableManifest,
    started: Instant,
) -> io::Result<PathBuf> {
    let dir = spec.dir();
    std::fs::create_dir_all(&dir)?;
    let tmp = dir.join(format!(".staging-{id}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir(&tmp)?;
    let result = (|| {
        write_f32(&tmp.join(X_FILE), &parsed.x)?;
        drop(parsed.x);
        match &parsed.y {
            Targets::Classes(v) => write_le(&tmp.join(Y_FILE), v, |n: &i64| n.to_le_bytes())?,
            Targets::Values(v) => write_f32(&tmp.join(Y_FILE), v)?,
        }
        manifest.seconds = secs(started);
        write_manifest(&tmp, &manifest)?;
        let fin = dir.join(id);
        if fin.exists() {
            std::fs::remove_dir_all(&fin)?;
        }
        std::fs::rename(&tmp, &fin)?;
        Ok(fin)
    })();
    if result.is_err() {
        let _ = std::fs::remove_dir_all(&tmp);
    }
    result
}

fn write_f32(path: &Path, values: &[f32]) -> io::Result<()> {
    write_le(path, values, |v: &f32| v.to_le_bytes())
}

fn write_le<T, const N: usize>(path: &Path, values: &[T], bytes: impl Fn(&T) -> [u8; N]) -> io::Result<()> {
    let mut out = BufWriter::with_capacity(1 << 20, File::create(path)?);
    let mut buf = Vec::with_capacity(N * 16384);
    for chunk in values.chunks(16384) {
        buf.clear();
        for v in chunk {
            buf.extend_from_slice(&bytes(v));
        }
        out.write_all(&buf)?;
    }
    out.into_inner().map_err(|e| e.into_error())?.sync_all()
}

/// The staged tensors, read straight into their memory.
fn read_tensors(dir: &Path, m: &TableManifest) -> io::Result<(Tensor, Tensor)> {
    let (rows, width) = (m.rows as i64, m.feature_names.len() as i64);
    let x = read_tensor(&dir.join(X_FILE), &[rows, width], Kind::Float, m.x_bytes())?;
    let y_kind = if m.classes.is_some() { Kind::Int64 } else { Kind::Float };
    let y = read_tensor(&dir.join(Y_FILE), &[rows], y_kind, m.y_bytes())?;
    Ok((x, y))
}

fn read_tensor(path: &Path, shape: &[i64], kind: Kind, bytes: u64) -> io::Result<Tensor> {
    let mut file = File::open(path)?;
    if file.metadata()?.len() != bytes {
        return Err(io::Error::other(format!("{} is not the size its manifest records", path.display())));
    }
    let t = Tensor::empty(shape, (kind, Device::Cpu));
    if bytes > 0 {
        // SAFETY: `t` is a new contiguous CPU tensor of exactly `bytes` bytes (shape × element
        // size, as the manifest's sizes are computed), owned here and not yet shared, so the
        // slice is the only view of that memory while it is filled. The files are little-endian,
        // as every host libtorch supports is.
        let buf = unsafe { std::slice::from_raw_parts_mut(t.data_ptr() as *mut u8, bytes as usize) };
        file.read_exact(buf)?;
    }
    Ok(t)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::csv_table::load_csv;
    use std::fmt::Write as _;

    /// An Iris-like table of `rows` rows (text classes, sorted by class so the head sees only
    /// one), well over the head's 64 KiB.
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
        let dir = tempfile::tempdir().unwrap();
        let csv = dir.path().join("big.csv");
        write_table(&csv, 20_000, None);
        let config = DatasetConfig::default();
        let whole = load_csv(&csv, &config).unwrap();
        let cache = dir.path().join("cache");
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
    fn a_bad_cell_near_the_end_is_reported_with_its_line_and_column() {
        let dir = tempfile::tempdir().unwrap();
        let csv = dir.path().join("bad.csv");
        write_table(&csv, 20_000, Some(19_990));
        let config = DatasetConfig::default();
        let cache = dir.path().join("cache");
        let spec = TableSpec { name: "bad", source: &csv, config: &config, cache_dir: &cache };
        let Err(StageError::Data(e)) = load(&spec, &mut never_stop()) else {
            panic!("a data error expected")
        };
        let whole = load_csv(&csv, &config).unwrap_err();
        assert_eq!(e.line, Some(19_992), "{e}");
        assert_eq!(e.to_string(), whole.to_string());
        assert!(!cache.join(TABLES_DIR).join(spec.entry_id()).exists(), "nothing staged");
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
        let dir = tempfile::tempdir().unwrap();
        let csv = dir.path().join("big.csv");
        write_table(&csv, 100_000, None);
        let (head, more) = read_head(&csv).unwrap();
        assert!(more && head.len() <= HEAD_BYTES && head.ends_with(b"\n"));
        let cache = dir.path().join("cache");
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
