//! The staging cache: the first use of an image dataset decodes it whole, in one sequential read
//! of its source, into the cache (one tensor file per split, see [`cache`]); later uses load that
//! in well under a second ([`load`], [`stage`]). Listing asks here whether the cache holds a
//! current copy ([`summarize`]): the source is then only stat'ed.
//!
//! Files by responsibility: [`cache`] (entries on disk), [`stager`] (who writes a staging folder,
//! and whether they still do), `stage` (the full decode), `pipeline`
//! (parallel decoding). Large CSVs are staged too, in `tables/`: [`table`] (their entries, staging
//! and loading), `table_chunks` (the file cut into pieces parsed on every core), `table_rows`
//! (each row checked and read), `decimal` (numbers read fast and exactly), [`table_summary`]
//! (what listing shows). Nothing is ever written into the datasets folder, and nothing from an
//! archive is unpacked to disk: entries are decoded in memory.
pub mod cache;
mod decimal;
mod pipeline;
mod stage;
pub mod stager;
pub mod table;
mod table_chunks;
mod table_rows;
pub mod table_summary;

use std::path::{Path, PathBuf};
use std::time::Instant;

use tch::{Kind, Tensor};

use self::cache::{Cache, CacheReadError, Manifest};
use super::error::{DataError, EntryError, ReadError, StageError};
use super::listing::inspect::{self, Inspection};
use super::readers::source;
use super::spec::{self, ImageSpec};
use super::types::{DatasetSummary, LoadOptions, LoadedData, Split, StageProgress, Task};

pub use self::cache::{Listed, ListedState};

impl ImageSpec<'_> {
    /// A reading error as the user sees it: a stop stays a stop; an entry is named by path.
    fn stage_error(&self, e: ReadError) -> StageError {
        match e {
            ReadError::Stopped => StageError::Stopped,
            ReadError::Entry(e) => StageError::Data(self.error(e)),
            ReadError::Io(e) => StageError::Data(self.unreadable(e)),
        }
    }

    /// The staging cache in `dir` can't be written.
    fn cache_error(&self, dir: &Path, error: std::io::Error) -> StageError {
        StageError::Cache { dataset: self.source.to_path_buf(), dir: dir.to_path_buf(), error }
    }
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
    if c.target.is_some()
        || c.features.is_some()
        || c.task.is_some()
        || c.drop_missing
        || c.delimiter.is_some()
    {
        extra.push(format!(
            "[datasets.{}] in config.toml: only `classes` applies to image datasets; `target`, `features`, \
             `task`, `drop_missing` and `delimiter` are for tables",
            spec.name
        ));
    }
    if let Some(manifest) = cache.complete(&id) {
        if manifest.fingerprint == fingerprint {
            return Ok(manifest.inspection().into_summary(true, extra));
        }
        extra.push(
            "the staged copy may be out of date (the source's size or time changed); it is checked, and staged \
             again if the content changed, when the dataset is next used"
                .to_string(),
        );
    }
    let inspection: Inspection = inspect::inspect(spec, &files)?;
    Ok(inspection.into_summary(false, extra))
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
/// A `false` from `progress` abandons the staging with [`StageError::Stopped`].
pub fn stage(
    spec: &ImageSpec<'_>,
    cache_dir: &Path,
    progress: &mut StageProgress<'_>,
) -> Result<StageReport, StageError> {
    ensure(spec, cache_dir, progress).map(|r| r.report)
}

/// Load for training: from the cache, staging first when it holds no current copy. Pixels are
/// scaled to [0, 1]; standardisation with training statistics happens in `train::prepare`.
pub fn load(spec: &ImageSpec<'_>, options: &mut LoadOptions<'_>) -> Result<LoadedData, StageError> {
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
) -> Result<Ready, StageError> {
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
    let decoded = stage::decode(spec, &files, staging.path(), progress).map_err(|e| spec.stage_error(e))?;
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
        preview: decoded.preview,
        staged_at: crate::util::now_rfc3339(),
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
fn read_entry(cache: &Cache, id: &str, m: &Manifest) -> Result<(SplitTensors, u64), CacheReadError> {
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
            return Err(CacheReadError::NotAsRecorded { file: s.file.clone() });
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

/// Whether a cache entry's source is still as it was staged (size and time; no hashing); `None`
/// when the source is gone.
pub fn entry_current(manifest: &Manifest) -> Option<bool> {
    if !manifest.source.exists() {
        return None;
    }
    let files = spec::source_files(&manifest.source);
    Some(files.map(|f| source::fingerprint(&f) == manifest.fingerprint).unwrap_or(false))
}
