//! The staging cache: decoded datasets as one tensor file per split, on local disk.
//!
//! ```text
//! CACHE_DIR/CACHEDIR.TAG
//! CACHE_DIR/shapes-3f2a9c01b7de/manifest.json        what was staged, from what, and the key
//! CACHE_DIR/shapes-3f2a9c01b7de/train.safetensors    x: u8 [N, C, H, W], y: i64 [N]
//! CACHE_DIR/shapes-3f2a9c01b7de/test.safetensors     (when the dataset has a validation split)
//! CACHE_DIR/.staging-shapes-3f2a9c01b7de-HOST-PID-N/ staging in progress (or interrupted)
//! ```
//! An entry is written under a temporary `.staging-*` name, every file synced, the manifest last,
//! and only then renamed to its final name. So a final name always holds a complete entry;
//! interrupted staging (a kill, a full disk) leaves only a `.staging-*` folder, which is never
//! read and is removed later, once its stager is known to be gone (see [`super::stager`]: the
//! cache may be shared with other machines). An entry's name comes from the dataset, its source path and the
//! decoding options; the manifest holds the key that says whether it is still current: the
//! source's size, modification time and content hash.
use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::SystemTime;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tch::Tensor;

use super::stager::{self, Stager};
use crate::data::listing::inspect::Inspection;
use crate::data::readers::decode::Shape;
use crate::data::readers::source::{hex, Fingerprint};
use crate::data::spec::DecodeOptions;
use crate::data::types::{ImageThumb, Split};

/// Bumped whenever the staged files change meaning; older entries are then staged again.
pub const FORMAT_VERSION: u32 = 1;
/// The file in an entry that says what it holds; written last.
pub const MANIFEST: &str = "manifest.json";
/// A file in every folder the cache makes: `cache clear` removes only folders that have it.
const MARKER: &str = ".workbench-staged";
const STAGING_PREFIX: &str = ".staging-";
const OLD_PREFIX: &str = ".old-";
const CACHEDIR_TAG: &str = "Signature: 8a477f597d28d172789f06886806bc55\n\
# This folder holds datasets staged by workbench; `workbench cache clear` empties it.\n";

static NEXT: AtomicU64 = AtomicU64::new(0);

/// One staged split's file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SplitFile {
    pub split: Split,
    pub file: String,
    /// The file's size, checked before it is read.
    pub bytes: u64,
    pub count: usize,
    pub class_counts: Vec<usize>,
}

/// Everything about a staged entry; written last, so its presence means the entry is complete.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub format: u32,
    pub dataset: String,
    pub source: PathBuf,
    /// Size and modification time of the source when it was staged (or last checked by hash).
    pub fingerprint: Fingerprint,
    /// SHA-256 over the source's files (see `source::ContentHash`).
    pub content_hash: String,
    pub options: DecodeOptions,
    pub classes: Vec<String>,
    pub shape: Shape,
    pub splits: Vec<SplitFile>,
    pub notes: Vec<String>,
    pub preview: Vec<ImageThumb>,
    pub staged_at: String,
    /// How long staging took.
    pub seconds: f64,
}

impl Manifest {
    pub fn split(&self, split: Split) -> Option<&SplitFile> {
        self.splits.iter().find(|s| s.split == split)
    }

    pub fn images(&self) -> usize {
        self.splits.iter().map(|s| s.count).sum()
    }

    /// What the listing shows of the staged dataset.
    pub fn inspection(&self) -> Inspection {
        Inspection {
            classes: self.classes.clone(),
            shape: self.shape,
            splits: self.splits.iter().map(|s| (s.split, s.class_counts.clone())).collect(),
            notes: self.notes.clone(),
            preview: self.preview.clone(),
        }
    }
}

/// Why a cache entry can't be used; it is then staged again.
#[derive(Debug, thiserror::Error)]
pub enum CacheReadError {
    /// The entry has no manifest (or it can't be read).
    #[error("no manifest ({0})")]
    NoManifest(io::Error),
    /// The manifest is not the JSON this version writes.
    #[error("damaged manifest ({0})")]
    DamagedManifest(serde_json::Error),
    /// Another version of the workbench staged it.
    #[error("staged by another version (format {0})")]
    OtherVersion(u32),
    /// A split file can't be read as tensors.
    #[error("{}: {why}", path.display())]
    Tensors {
        /// The split file.
        path: PathBuf,
        /// What libtorch said.
        why: String,
    },
    /// A split file lacks one of its tensors (`x` or `y`).
    #[error("{} has no tensor {name:?}", path.display())]
    MissingTensor {
        /// The split file.
        path: PathBuf,
        /// `x` or `y`.
        name: &'static str,
    },
    /// A split file's tensors are not the shape or kind the manifest records.
    #[error("{file} does not hold what its manifest says")]
    NotAsRecorded {
        /// The split file's name.
        file: String,
    },
}

/// The staging cache folder.
#[derive(Debug, Clone)]
pub struct Cache {
    pub dir: PathBuf,
}

/// A folder found in the cache.
#[derive(Debug, Clone)]
pub struct Listed {
    pub path: PathBuf,
    /// Bytes of its files.
    pub bytes: u64,
    pub state: ListedState,
}

/// What a cache folder is.
#[derive(Debug, Clone)]
pub enum ListedState {
    /// A complete entry.
    Entry(Box<Manifest>),
    /// An entry whose manifest can't be read (damaged, or from another version): never used.
    Unreadable(String),
    /// A `.staging-*` folder whose stager is still at work (on this host or another); who, and
    /// how recent its heartbeat.
    Staging(String),
    /// A `.staging-*` or `.old-*` folder left by staging that was interrupted: never used. Why
    /// it counts as abandoned.
    Leftover(String),
}

impl Cache {
    pub fn new(dir: &Path) -> Cache {
        Cache { dir: dir.to_path_buf() }
    }

    /// The entry name for a dataset: `NAME-HASH`, the hash over the source path and options.
    pub fn entry_id(dataset: &str, source: &Path, options: &DecodeOptions) -> String {
        let source = std::fs::canonicalize(source).unwrap_or_else(|_| source.to_path_buf());
        let mut h = Sha256::new();
        h.update(FORMAT_VERSION.to_le_bytes());
        h.update(source.to_string_lossy().as_bytes());
        h.update([0]);
        h.update(serde_json::to_string(options).unwrap_or_default().as_bytes());
        let safe: String = dataset
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '_' })
            .take(48)
            .collect();
        format!("{safe}-{}", &hex(&h.finalize())[..12])
    }

    pub fn entry_dir(&self, id: &str) -> PathBuf {
        self.dir.join(id)
    }

    /// The manifest of a complete entry, when it can be read, is of this format, and every split
    /// file is there with its recorded size. Anything else counts as not staged.
    pub fn complete(&self, id: &str) -> Option<Manifest> {
        let dir = self.entry_dir(id);
        let manifest = read_manifest(&dir).ok()?;
        let files_ok = manifest
            .splits
            .iter()
            .all(|s| std::fs::metadata(dir.join(&s.file)).map(|m| m.len() == s.bytes).unwrap_or(false));
        files_ok.then_some(manifest)
    }

    /// Replace an entry's manifest in place (after a hash check found the source unchanged).
    pub fn rewrite_manifest(&self, id: &str, manifest: &Manifest) -> io::Result<()> {
        let text = serde_json::to_vec(manifest).map_err(io::Error::other)?;
        crate::util::write_atomic(&self.entry_dir(id).join(MANIFEST), &text)
    }

    /// Start staging an entry under a temporary name; leftovers of earlier interrupted staging of
    /// the same entry are removed first.
    pub fn begin(&self, id: &str) -> io::Result<Staging> {
        std::fs::create_dir_all(&self.dir)?;
        let tag = self.dir.join("CACHEDIR.TAG");
        if !tag.exists() {
            let _ = std::fs::write(&tag, CACHEDIR_TAG);
        }
        self.remove_leftovers(Some(id));
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let who = Stager::this_process().name_part();
        let dir = self.dir.join(format!("{STAGING_PREFIX}{id}-{who}-{n}"));
        std::fs::create_dir(&dir)?;
        // Removed again if what follows fails.
        let mut staging = Staging { dir, final_dir: self.entry_dir(id), committed: false, heartbeat: None };
        std::fs::write(staging.dir.join(MARKER), b"")?;
        staging.heartbeat = Some(stager::claim(&staging.dir)?);
        Ok(staging)
    }

    /// Remove `.staging-*` and `.old-*` folders whose stager is gone (of one entry, or all).
    pub fn remove_leftovers(&self, id: Option<&str>) -> u64 {
        let mut freed = 0;
        for listed in self.list().unwrap_or_default() {
            let name = listed.path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            let of_id = id.is_none_or(|id| {
                name.strip_prefix(STAGING_PREFIX)
                    .or_else(|| name.strip_prefix(OLD_PREFIX))
                    .is_some_and(|rest| rest.strip_prefix(id).is_some_and(|r| r.starts_with('-')))
            });
            if matches!(listed.state, ListedState::Leftover(_))
                && of_id
                && std::fs::remove_dir_all(&listed.path).is_ok()
            {
                freed += listed.bytes;
            }
        }
        freed
    }

    /// Remove the entries of `dataset` (all entries, and interrupted staging, when `None`).
    /// Staging still in progress is left alone. Returns how many folders went, and their bytes.
    pub fn clear(&self, dataset: Option<&str>) -> io::Result<(usize, u64)> {
        let (mut count, mut bytes) = (0, 0);
        for listed in self.list()? {
            let entry_of = match &listed.state {
                ListedState::Entry(m) => Some(m.dataset.as_str()),
                _ => None,
            };
            if cleared_by(matches!(listed.state, ListedState::Staging(_)), entry_of, dataset) {
                std::fs::remove_dir_all(&listed.path)?;
                count += 1;
                bytes += listed.bytes;
            }
        }
        Ok((count, bytes))
    }

    /// Every folder the cache made, entries first (by name), then staging folders.
    pub fn list(&self) -> io::Result<Vec<Listed>> {
        let mut out = Vec::new();
        let here = crate::runs::host_name();
        for path in subfolders(&self.dir)? {
            if !path.join(MARKER).exists() {
                continue; // not ours: a shared cache_dir may hold other things
            }
            let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            let state = if name.starts_with(STAGING_PREFIX) {
                let verdict = stager::judge(&path, SystemTime::now(), &here);
                if verdict.active {
                    ListedState::Staging(verdict.note)
                } else {
                    ListedState::Leftover(verdict.note)
                }
            } else if name.starts_with(OLD_PREFIX) {
                ListedState::Leftover("an entry replaced by a newer one".into())
            } else {
                match read_manifest(&path) {
                    Ok(m) => ListedState::Entry(Box::new(m)),
                    Err(why) => ListedState::Unreadable(why.to_string()),
                }
            };
            out.push(Listed { bytes: folder_bytes(&path), path, state });
        }
        out.sort_by_key(|l| (!matches!(l.state, ListedState::Entry(_)), l.path.clone()));
        Ok(out)
    }
}

/// The folders in `dir`; none when it doesn't exist (nothing staged yet).
pub(crate) fn subfolders(dir: &Path) -> io::Result<Vec<PathBuf>> {
    let read = match std::fs::read_dir(dir) {
        Ok(r) => r,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut folders = Vec::new();
    for entry in read {
        let path = entry?.path();
        if path.is_dir() {
            folders.push(path);
        }
    }
    Ok(folders)
}

/// Whether `workbench cache clear [DATASET]` removes a folder: never one being staged now; with a
/// dataset named, that dataset's entries; without, everything else (interrupted staging too).
pub(crate) fn cleared_by(staging_now: bool, entry_of: Option<&str>, dataset: Option<&str>) -> bool {
    match (staging_now, entry_of, dataset) {
        (true, _, _) => false,
        (false, Some(of), Some(name)) => of == name,
        (false, None, Some(_)) => false,
        (false, _, None) => true,
    }
}

/// An entry being written under its temporary name. Dropped without [`Staging::commit`] (an
/// error, a panic), the folder is removed; a killed process leaves it for the next staging.
pub struct Staging {
    dir: PathBuf,
    final_dir: PathBuf,
    committed: bool,
    /// Touches the folder's stager file while it is written (see [`super::stager`]).
    heartbeat: Option<stager::Heartbeat>,
}

impl Staging {
    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// Write one split's tensors and sync the file; returns the file name and size.
    pub fn write_split(&self, split: Split, x: &Tensor, y: &Tensor) -> io::Result<(String, u64)> {
        let file = format!("{}.safetensors", split.name());
        let path = self.dir.join(&file);
        Tensor::write_safetensors(&[("x", x), ("y", y)], &path)
            .map_err(|e| io::Error::other(e.to_string()))?;
        let f = File::open(&path)?;
        f.sync_all()?;
        Ok((file, f.metadata()?.len()))
    }

    /// Write the manifest, then move the folder to its final name (replacing an older entry).
    pub fn commit(mut self, manifest: &Manifest) -> io::Result<PathBuf> {
        let text = serde_json::to_vec(manifest).map_err(io::Error::other)?;
        let mut f = File::create(self.dir.join(MANIFEST))?;
        f.write_all(&text)?;
        f.sync_all()?;
        // The entry is complete: it no longer needs a stager or a heartbeat.
        drop(self.heartbeat.take());
        let _ = std::fs::remove_file(self.dir.join(stager::STAGER_FILE));
        File::open(&self.dir)?.sync_all()?;
        let parent = self.final_dir.parent().map(Path::to_path_buf).unwrap_or_default();
        let mut olds = Vec::new();
        let mut attempt = 0;
        loop {
            if self.final_dir.exists() {
                let name =
                    self.final_dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
                let n = NEXT.fetch_add(1, Ordering::Relaxed);
                let old = parent.join(format!("{OLD_PREFIX}{name}-{}-{n}", std::process::id()));
                std::fs::rename(&self.final_dir, &old)?;
                olds.push(old);
            }
            match std::fs::rename(&self.dir, &self.final_dir) {
                Ok(()) => break,
                // Another process committed the same entry between the two renames: go again.
                Err(_) if attempt < 3 && self.final_dir.exists() => attempt += 1,
                Err(e) => return Err(e),
            }
        }
        self.committed = true;
        let _ = File::open(&parent).and_then(|d| d.sync_all());
        for old in olds {
            let _ = std::fs::remove_dir_all(old);
        }
        Ok(self.final_dir.clone())
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        drop(self.heartbeat.take());
        if !self.committed {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// Read a split file written by [`Staging::write_split`]: `(x, y)`.
pub fn read_split(path: &Path) -> Result<(Tensor, Tensor), CacheReadError> {
    let mut tensors = Tensor::read_safetensors(path)
        .map_err(|e| CacheReadError::Tensors { path: path.to_path_buf(), why: e.to_string() })?;
    let mut take = |name: &'static str| {
        tensors
            .iter()
            .position(|(n, _)| n == name)
            .map(|i| tensors.swap_remove(i).1)
            .ok_or_else(|| CacheReadError::MissingTensor { path: path.to_path_buf(), name })
    };
    Ok((take("x")?, take("y")?))
}

fn read_manifest(dir: &Path) -> Result<Manifest, CacheReadError> {
    let bytes = std::fs::read(dir.join(MANIFEST)).map_err(CacheReadError::NoManifest)?;
    let manifest: Manifest = serde_json::from_slice(&bytes).map_err(CacheReadError::DamagedManifest)?;
    if manifest.format != FORMAT_VERSION {
        return Err(CacheReadError::OtherVersion(manifest.format));
    }
    Ok(manifest)
}

pub(crate) fn folder_bytes(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|read| {
            read.filter_map(|e| e.ok()?.metadata().ok()).filter(|m| m.is_file()).map(|m| m.len()).sum()
        })
        .unwrap_or(0)
}
