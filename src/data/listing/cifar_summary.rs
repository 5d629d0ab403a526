//! CIFAR listing without reading the data each time: the official CIFAR-10 files are 180 MB, and
//! their labels are spread through them, so a summary (classes, counts per class, the preview) is
//! read once and cached, keyed by the sizes and modification times of the source's CIFAR files;
//! a later listing only stats them.
//!
//! The summaries are remembered in `CACHE_DIR/arrays/cifar-summaries.json` (see [`super::memo`]).
use std::io;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::memo::Memo;
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
    let mut memo: Memo<source::Fingerprint, CifarFacts> = Memo::open(cache_dir.join(CIFAR_SUMMARIES));
    if let Some(facts) = memo.get(path, &key) {
        return Ok((facts.clone(), FactsSource::Cache));
    }
    let facts = read()?;
    memo.put(path, key, facts.clone(), "a CIFAR summary");
    Ok((facts, FactsSource::Read))
}
