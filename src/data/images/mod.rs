//! Image datasets: folders and zips of PNG/JPEG images in class folders (the ImageFolder layout),
//! and MNIST's IDX files, loose or in a zip or folder.
//!
//! - Listing is cheap: a zip's directory, a folder's file names, a few image headers, and a stat
//!   of the source to see whether the staging cache holds a current copy ([`summarize`]).
//! - The first use decodes the whole dataset, in one sequential read of the source, into the
//!   staging cache: one tensor file per split ([`cache`]). Later uses load that in well under a
//!   second ([`load`], [`stage`]).
//! - Nothing is ever written into the datasets folder, and nothing from an archive is unpacked to
//!   disk: entries are decoded in memory.
//!
//! Files by responsibility: [`layout`] (classes and splits from entry names), [`zipsafe`] (zip-slip
//! and zip-bomb guards), [`decode`] (one image), [`idx`] (IDX files), [`source`] (files, key,
//! hash), [`cache`] (entries on disk), `pipeline` (parallel decoding), `inspect` (cheap summaries),
//! `stage` (the full decode).
pub mod cache;
pub mod decode;
pub mod idx;
mod inspect;
pub mod layout;
mod pipeline;
pub mod source;
mod stage;
pub mod zipsafe;

use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::{Deserialize, Serialize};
use tch::{Kind, Tensor};

use self::cache::{Cache, DecodeOptions, Manifest};
use self::decode::ColorMode;
use self::source::SourceFile;
use super::catalog::{DatasetFormat, LoadOptions};
use super::error::{DataError, DataErrorKind};
use super::{DatasetSummary, LoadedData, Preview, StageProgress, Task};
use crate::config::{DatasetConfig, ImagesConfig};

pub use self::cache::{Listed, ListedState};

/// Which part of a dataset an image belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Split {
    /// The training images.
    Train,
    /// The dataset's own validation images (`test/` or `val/`, MNIST's `t10k`).
    Test,
}

impl Split {
    pub fn name(&self) -> &'static str {
        match self {
            Split::Train => "train",
            Split::Test => "test",
        }
    }
}

/// A problem inside an image dataset: the entry it concerns, if one, and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryError {
    /// The entry's name inside the source (`train/circle/003.png`), or `None` for the whole.
    pub entry: Option<String>,
    pub message: String,
}

/// Why staging ended when its progress callback asked it to stop (a run stopped while staging).
pub const STAGING_STOPPED: &str =
    "staging was stopped before it finished; nothing was kept, and the next use stages it again";

impl EntryError {
    /// The stop asked for by the progress callback.
    pub fn stopped() -> EntryError {
        EntryError::general(STAGING_STOPPED.into())
    }

    /// Whether this is the stop asked for by the progress callback, not a fault of the source.
    pub fn is_stop(&self) -> bool {
        self.entry.is_none() && self.message == STAGING_STOPPED
    }

    pub fn at(entry: &str, message: String) -> EntryError {
        EntryError { entry: Some(entry.to_string()), message }
    }

    pub fn general(message: String) -> EntryError {
        EntryError { entry: None, message }
    }

    pub fn unknown_class(name: &str, available: &[String]) -> EntryError {
        EntryError::general(format!(
            "has no class {name:?} (named in `classes` in config.toml); its classes are: {}",
            available.join(", ")
        ))
    }

    /// The user-facing error: a zip's entries are named after the zip, a folder's files by path.
    fn into_data_error(self, source: &Path, kind: SourceKind) -> DataError {
        match (self.entry, kind) {
            (Some(entry), SourceKind::Zip) => {
                DataError::new(source, DataErrorKind::Image(format!("entry {entry}: {}", self.message)))
            }
            (Some(entry), SourceKind::Folder) => {
                DataError::new(source.join(entry), DataErrorKind::Image(self.message))
            }
            (Some(entry), SourceKind::Loose) => {
                let dir = source.parent().unwrap_or(Path::new("."));
                DataError::new(dir.join(entry), DataErrorKind::Image(self.message))
            }
            (None, _) => DataError::new(source, DataErrorKind::Image(self.message)),
        }
    }
}

/// How a source is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceKind {
    /// A folder in the datasets folder.
    Folder,
    /// A `.zip` file.
    Zip,
    /// Loose IDX files at the top of the datasets folder (the source names the training images).
    Loose,
}

/// One image dataset to read: the catalog entry's parts and the `[images]` settings.
#[derive(Debug, Clone, Copy)]
pub struct ImageSpec<'a> {
    pub name: &'a str,
    pub source: &'a Path,
    pub format: DatasetFormat,
    pub config: &'a DatasetConfig,
    pub images: &'a ImagesConfig,
}

impl ImageSpec<'_> {
    pub fn kind(&self) -> SourceKind {
        if self.source.is_dir() {
            SourceKind::Folder
        } else if is_zip(self.source) {
            SourceKind::Zip
        } else {
            SourceKind::Loose
        }
    }

    fn options(&self) -> DecodeOptions {
        DecodeOptions {
            color: ColorMode::parse(&self.images.color),
            resize: self.images.resize,
            classes: self.config.classes.clone(),
        }
    }

    fn limits(&self) -> zipsafe::Limits {
        zipsafe::Limits {
            max_entry_bytes: self.images.max_entry_bytes,
            max_total_bytes: self.images.max_total_bytes,
        }
    }

    fn error(&self, e: EntryError) -> DataError {
        e.into_data_error(self.source, self.kind())
    }

    fn unreadable(&self, e: std::io::Error) -> DataError {
        DataError::new(self.source, DataErrorKind::Unreadable(e.to_string()))
    }

    fn cache_error(&self, dir: &Path, e: std::io::Error) -> DataError {
        DataError::new(
            self.source,
            DataErrorKind::Cache(format!(
                "cannot write the staging cache in {} ({e}); free some disk space, or move the cache with \
                 `cache_dir` under [paths] in config.toml (or --cache-dir)",
                dir.display()
            )),
        )
    }

    /// The files the source is made of, for the cache key.
    fn files(&self) -> Result<Vec<SourceFile>, DataError> {
        let files = match self.kind() {
            SourceKind::Folder => source::folder_files(self.source),
            SourceKind::Zip => source::single_file(self.source).map(|f| vec![f]),
            SourceKind::Loose => loose_group_files(self.source),
        };
        files.map_err(|e| self.unreadable(e))
    }
}

fn is_zip(path: &Path) -> bool {
    path.extension().and_then(|e| e.to_str()).is_some_and(|e| e.eq_ignore_ascii_case("zip"))
}

/// What format a folder or `.zip` in the datasets folder holds, or a loose IDX file is; `None`
/// for other paths, and for folders with no image or IDX file in them. A zip is opened to tell
/// IDX files from images (its directory only).
pub fn detect(path: &Path) -> Option<DatasetFormat> {
    let name = path.file_name()?.to_string_lossy().into_owned();
    if path.is_dir() {
        // A staging cache (CACHEDIR.TAG) is never a dataset, nor is a folder with no image or
        // IDX file anywhere in it (notes, scripts, an unrelated folder).
        if path.join("CACHEDIR.TAG").exists() {
            return None;
        }
        let files = source::folder_files(path).unwrap_or_default();
        let has_idx = files.iter().any(|f| idx::parse_name(base_name(&f.rel)).is_some());
        let has_images = files.iter().any(|f| {
            matches!(layout::file_kind(&f.rel), layout::FileKind::Image | layout::FileKind::UnsupportedImage)
        });
        return match (has_idx, has_images) {
            (true, _) => Some(DatasetFormat::Idx),
            (false, true) => Some(DatasetFormat::ImageFolder),
            (false, false) => None,
        };
    }
    if is_zip(path) {
        let has_idx = inspect::zip_names(path)
            .map(|names| names.iter().any(|n| idx::parse_name(base_name(n)).is_some()))
            .unwrap_or(false);
        return Some(if has_idx { DatasetFormat::Idx } else { DatasetFormat::ImageZip });
    }
    idx::parse_name(&name).map(|_| DatasetFormat::Idx)
}

/// The last component of a `/`-separated name.
pub(crate) fn base_name(rel: &str) -> &str {
    rel.trim_end_matches('/').rsplit('/').next().unwrap_or(rel)
}

/// Loose IDX files grouped into datasets: `(name, source)`, the source being the training images
/// file (see [`idx`] for the naming). Groups missing a partner file are still returned, so the
/// listing shows what is wrong.
pub fn loose_idx(paths: &[PathBuf]) -> Vec<(String, PathBuf)> {
    let named: Vec<(String, PathBuf)> = paths
        .iter()
        .filter(|p| p.is_file())
        .filter_map(|p| Some((p.file_name()?.to_string_lossy().into_owned(), p.clone())))
        .filter(|(n, _)| idx::parse_name(n).is_some())
        .collect();
    idx::group(&named)
        .into_iter()
        .map(|(base, files)| {
            let name = if base.is_empty() { idx::DEFAULT_NAME.to_string() } else { base.clone() };
            let source = match files {
                Ok(f) => f.train.0,
                // Any file of the group: loading it reports the group's problem.
                Err(_) => named
                    .iter()
                    .find(|(n, _)| idx::parse_name(n).is_some_and(|p| p.base == base))
                    .map(|(_, p)| p.clone())
                    .unwrap_or_default(),
            };
            (name, source)
        })
        .collect()
}

/// The files of the loose IDX group `source` belongs to, sorted by name.
fn loose_group_files(source: &Path) -> std::io::Result<Vec<SourceFile>> {
    let dir = source.parent().unwrap_or(Path::new("."));
    let base = source.file_name().and_then(|n| idx::parse_name(&n.to_string_lossy())).map(|p| p.base);
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        if path.is_file() && idx::parse_name(&name).map(|p| p.base) == base {
            files.push(source::single_file(&path)?);
        }
    }
    if files.is_empty() {
        files.push(source::single_file(source)?);
    }
    files.sort_by(|a, b| a.rel.cmp(&b.rel));
    Ok(files)
}

/// What listing shows: from the cache's manifest when the staged copy is current (the source is
/// then only stat'ed), else from the source's directory and a few image headers.
pub fn summarize(spec: &ImageSpec<'_>, cache_dir: &Path) -> Result<DatasetSummary, DataError> {
    let files = spec.files()?;
    let fingerprint = source::fingerprint(&files);
    let cache = Cache::new(cache_dir);
    let id = Cache::entry_id(spec.name, spec.source, &spec.options());
    let c = spec.config;
    let mut extra = Vec::new();
    if c.target.is_some() || c.features.is_some() || c.task.is_some() || c.drop_missing {
        extra.push(format!(
            "[datasets.{}] in config.toml: only `classes` applies to image datasets; `target`, `features`, \
             `task` and `drop_missing` are for tables",
            spec.name
        ));
    }
    if let Some(manifest) = cache.complete(&id) {
        if manifest.fingerprint == fingerprint {
            return Ok(summary_from_manifest(&manifest, true, extra));
        }
        extra.push(
            "the staged copy may be out of date (the source's size or time changed); it is checked, and staged \
             again if the content changed, when the dataset is next used"
                .to_string(),
        );
    }
    let mut manifest = inspect::inspect(spec, &files)?;
    manifest.fingerprint = fingerprint;
    Ok(summary_from_manifest(&manifest, false, extra))
}

fn summary_from_manifest(m: &Manifest, staged: bool, extra: Vec<String>) -> DatasetSummary {
    let train = m.split(Split::Train);
    let mut notes = m.notes.clone();
    notes.extend(extra);
    DatasetSummary {
        rows: train.map(|s| s.count).unwrap_or(0),
        features: m.shape.len(),
        sample_shape: m.shape.dims(),
        target: "class".into(),
        task: Task::Classification { classes: m.classes.clone() },
        class_counts: train.map(|s| s.class_counts.clone()).unwrap_or_default(),
        notes,
        staged: Some(staged),
        preview: Preview::Images(m.preview.iter().map(Into::into).collect()),
    }
}

/// What [`stage`] did.
#[derive(Debug, Clone)]
pub struct StageReport {
    pub entry_dir: PathBuf,
    pub manifest: Manifest,
    /// Bytes of the entry's tensor files.
    pub bytes: u64,
    /// `true` when the dataset was decoded now; `false` when the cache already held it.
    pub staged_now: bool,
    /// `true` when the source's time had changed and its hash was checked (and matched).
    pub rehashed: bool,
    /// Seconds spent staging (or loading the staged copy).
    pub seconds: f64,
}

/// The dataset's tensors, per split: `u8` images `[N, C, H, W]` and `i64` labels `[N]`.
struct Ready {
    report: StageReport,
    tensors: SplitTensors,
}

/// Stage ahead of time: make sure the cache holds a current copy, and load it once to check it.
pub fn stage(
    spec: &ImageSpec<'_>,
    cache_dir: &Path,
    progress: &mut StageProgress<'_>,
) -> Result<StageReport, DataError> {
    ensure(spec, cache_dir, progress).map(|r| r.report)
}

/// Load for training: from the cache, staging first when it holds no current copy. Pixels are
/// scaled to [0, 1]; standardisation with training statistics happens in `train::prepare`.
pub fn load(spec: &ImageSpec<'_>, options: &mut LoadOptions<'_>) -> Result<LoadedData, DataError> {
    let ready = ensure(spec, options.cache_dir, options.progress)?;
    let m = &ready.report.manifest;
    tracing::info!(
        dataset = spec.name,
        entry = %ready.report.entry_dir.display(),
        staged_now = ready.report.staged_now,
        seconds = ready.report.seconds,
        "image dataset ready"
    );
    let mut train = None;
    let mut holdout = None;
    for (split, x, y) in ready.tensors {
        let x = x.to_kind(Kind::Float) / 255.0;
        match split {
            Split::Train => train = Some((x, y)),
            Split::Test => holdout = Some((x, y)),
        }
    }
    let (x, y) = train.ok_or_else(|| spec.error(EntryError::general("has no training images".into())))?;
    Ok(LoadedData {
        name: spec.name.to_string(),
        x,
        y,
        task: Task::Classification { classes: m.classes.clone() },
        feature_names: Vec::new(),
        holdout,
    })
}

fn ensure(
    spec: &ImageSpec<'_>,
    cache_dir: &Path,
    progress: &mut StageProgress<'_>,
) -> Result<Ready, DataError> {
    let started = Instant::now();
    let files = spec.files()?;
    let fingerprint = source::fingerprint(&files);
    let cache = Cache::new(cache_dir);
    let id = Cache::entry_id(spec.name, spec.source, &spec.options());
    if let Some(mut manifest) = cache.complete(&id) {
        let mut rehashed = false;
        let current = if manifest.fingerprint == fingerprint {
            true
        } else if manifest.fingerprint.size == fingerprint.size
            && manifest.fingerprint.files == fingerprint.files
        {
            // Same size, new time (a copy, a touch): the content decides.
            rehashed = true;
            let hash = source::content_hash(&files).map_err(|e| spec.unreadable(e))?;
            hash == manifest.content_hash
        } else {
            false
        };
        if current {
            if rehashed {
                manifest.fingerprint = fingerprint;
                if let Err(e) = cache.rewrite_manifest(&id, &manifest) {
                    tracing::warn!(error = %e, "could not update the staged manifest; the hash is checked again next time");
                }
            }
            match read_entry(&cache, &id, &manifest) {
                Ok((tensors, bytes)) => {
                    let report = StageReport {
                        entry_dir: cache.entry_dir(&id),
                        manifest,
                        bytes,
                        staged_now: false,
                        rehashed,
                        seconds: started.elapsed().as_secs_f64(),
                    };
                    return Ok(Ready { report, tensors });
                }
                Err(why) => tracing::warn!(entry = id, %why, "staged copy unusable; staging again"),
            }
        } else {
            tracing::info!(entry = id, "the source changed since it was staged; staging again");
        }
    }

    let staging = cache.begin(&id).map_err(|e| spec.cache_error(cache_dir, e))?;
    let decoded = stage::decode(spec, &files, staging.path(), progress)?;
    let shape = decoded.shape;
    let mut splits = Vec::new();
    let mut tensors = Vec::new();
    let mut bytes = 0;
    for part in decoded.splits {
        let n = part.labels.len() as i64;
        let x = Tensor::from_slice(&part.pixels).reshape([
            n,
            shape.channels as i64,
            shape.height as i64,
            shape.width as i64,
        ]);
        let y = Tensor::from_slice(&part.labels);
        let (file, size) =
            staging.write_split(part.split, &x, &y).map_err(|e| spec.cache_error(cache_dir, e))?;
        bytes += size;
        splits.push(cache::SplitFile {
            split: part.split,
            file,
            bytes: size,
            count: n as usize,
            class_counts: part.class_counts,
        });
        tensors.push((part.split, x, y));
    }
    let manifest = Manifest {
        format: cache::FORMAT_VERSION,
        dataset: spec.name.to_string(),
        source: spec.source.to_path_buf(),
        fingerprint,
        content_hash: decoded.content_hash,
        options: spec.options(),
        classes: decoded.classes,
        shape,
        splits,
        notes: decoded.notes,
        preview: decoded.preview.iter().map(Into::into).collect(),
        staged_at: crate::runs::now_rfc3339(),
        seconds: started.elapsed().as_secs_f64(),
    };
    let entry_dir = staging.commit(&manifest).map_err(|e| spec.cache_error(cache_dir, e))?;
    tracing::info!(dataset = spec.name, entry = %entry_dir.display(), images = manifest.images(), seconds = manifest.seconds, "staged");
    let report = StageReport {
        entry_dir,
        seconds: manifest.seconds,
        manifest,
        bytes,
        staged_now: true,
        rehashed: false,
    };
    Ok(Ready { report, tensors })
}

/// Each split's images (`u8`, `[N, C, H, W]`) and labels (`i64`, `[N]`).
type SplitTensors = Vec<(Split, Tensor, Tensor)>;

/// Read a complete entry's split files, checking them against the manifest.
fn read_entry(cache: &Cache, id: &str, m: &Manifest) -> Result<(SplitTensors, u64), String> {
    let dir = cache.entry_dir(id);
    let mut out = Vec::new();
    let mut bytes = 0;
    for s in &m.splits {
        let (x, y) = cache::read_split(&dir.join(&s.file))?;
        let want = [s.count as i64, m.shape.channels as i64, m.shape.height as i64, m.shape.width as i64];
        if x.size() != want
            || x.kind() != Kind::Uint8
            || y.size() != [s.count as i64]
            || y.kind() != Kind::Int64
        {
            return Err(format!("{} does not hold what its manifest says", s.file));
        }
        bytes += s.bytes;
        out.push((s.split, x, y));
    }
    Ok((out, bytes))
}

/// Every folder in the staging cache.
pub fn cache_list(cache_dir: &Path) -> std::io::Result<Vec<Listed>> {
    Cache::new(cache_dir).list()
}

/// Whether a cache entry's source is still as it was staged (size and time; no hashing).
pub fn entry_current(manifest: &Manifest) -> Option<bool> {
    if !manifest.source.exists() {
        return None;
    }
    let files = if manifest.source.is_dir() {
        source::folder_files(&manifest.source)
    } else if is_zip(&manifest.source) {
        source::single_file(&manifest.source).map(|f| vec![f])
    } else {
        loose_group_files(&manifest.source)
    };
    Some(files.map(|f| source::fingerprint(&f) == manifest.fingerprint).unwrap_or(false))
}
