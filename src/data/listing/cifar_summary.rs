//! CIFAR listing without reading the data each time: the official CIFAR-10 files are 180 MB, and
//! their labels are spread through them, so a summary (classes, counts per class, the preview) is
//! read once and cached, keyed by the sizes and modification times of the source's CIFAR files;
//! a later listing only stats them.
//!
//! The cache is one small JSON file, `CACHE_DIR/arrays/cifar-summaries.json`, mapping each
//! source's path to its key and summary; it is rewritten atomically.
use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::data::readers::{cifar, source};
use crate::data::types::ImageThumb;

/// The cache file, inside the staging cache folder.
pub const CIFAR_SUMMARIES: &str = "arrays/cifar-summaries.json";

/// What listing shows of a CIFAR dataset, as cached.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CifarFacts {
    /// CIFAR-100 (fine labels) rather than CIFAR-10.
    pub cifar100: bool,
    pub classes: Vec<String>,
    /// Training images per class, in class order.
    pub class_counts: Vec<usize>,
    pub train_images: usize,
    /// Images in the test batch, when there is one.
    pub test_images: Option<usize>,
    pub preview: Vec<ImageThumb>,
}

/// How the facts were obtained (for tests and the log).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FactsSource {
    /// From the cache: the source's files were only stat'ed.
    Cache,
    /// Read from the source now (and cached).
    Read,
}

/// One cached source.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Cached {
    key: source::Fingerprint,
    facts: CifarFacts,
}

/// The key: sizes and newest time of a folder's CIFAR files, or of the zip / `.tar.gz` itself.
fn key(path: &Path) -> io::Result<source::Fingerprint> {
    if path.is_dir() {
        let files: Vec<source::SourceFile> =
            source::folder_files(path)?.into_iter().filter(|f| cifar::wanted(&f.rel)).collect();
        return Ok(source::fingerprint(&files));
    }
    let stamp = crate::data::staging::table::FileStamp::of(path)?;
    Ok(source::Fingerprint { size: stamp.size, mtime_ns: stamp.mtime_ns, files: 1 })
}

/// The facts of the CIFAR source at `path`: from the cache in `cache_dir` when its files' sizes
/// and times match, else from `read` (which reads the source), cached for the next listing.
pub fn facts<E>(
    path: &Path,
    cache_dir: &Path,
    read: impl FnOnce() -> Result<CifarFacts, E>,
) -> Result<(CifarFacts, FactsSource), E> {
    let Ok(key) = key(path) else {
        return read().map(|f| (f, FactsSource::Read)); // `read` words the error
    };
    let name = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    let cache_file = cache_dir.join(CIFAR_SUMMARIES);
    let mut cache = read_cache(&cache_file);
    if let Some(c) = cache.get(&name).filter(|c| c.key == key) {
        return Ok((c.facts.clone(), FactsSource::Cache));
    }
    let facts = read()?;
    cache.insert(name, Cached { key, facts: facts.clone() });
    // Sources that are gone are forgotten, so the cache stays small.
    cache.retain(|p, _| p.exists());
    if let Err(e) = write_cache(&cache_file, &cache) {
        tracing::warn!(error = %e, file = %cache_file.display(), "could not cache a CIFAR summary");
    }
    Ok((facts, FactsSource::Read))
}

fn read_cache(file: &Path) -> BTreeMap<PathBuf, Cached> {
    std::fs::read(file).ok().and_then(|b| serde_json::from_slice(&b).ok()).unwrap_or_default()
}

fn write_cache(file: &Path, cache: &BTreeMap<PathBuf, Cached>) -> io::Result<()> {
    if let Some(dir) = file.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let text = serde_json::to_vec(cache).map_err(io::Error::other)?;
    crate::util::write_atomic(file, &text)
}
