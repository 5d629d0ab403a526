//! Readers of untrusted input: a dataset's files on disk ([`source`]), zip archives
//! ([`zipsafe`]), IDX files ([`idx`], [`idx_files`]), PNG/JPEG images ([`decode`]), NumPy arrays
//! ([`npy`]), CIFAR batches ([`cifar`]) and gzipped tars ([`tar`]).
//!
//! Everything here treats its input as hostile: names that escape, sizes that lie, truncated or
//! damaged bytes are refused with an [`EntryError`](super::error::EntryError) that names the
//! entry. Nothing here knows about the listing or the staging cache.
pub mod cifar;
pub mod decode;
pub mod idx;
pub mod idx_files;
pub mod npy;
pub mod source;
pub mod tar;
pub mod zipsafe;

/// One file or folder as listed by the source, before the layout is known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawEntry {
    /// Relative, `/`-separated name (`train/circle/001.png`); folders may end with `/`.
    pub name: String,
    /// Bytes once unpacked (as declared by a zip's directory, or the file's size).
    pub size: u64,
    pub is_dir: bool,
    /// Where the source finds it again (a zip index, or a position in the folder's file list).
    pub loc: usize,
}

/// The last component of a `/`-separated name.
pub fn base_name(rel: &str) -> &str {
    rel.trim_end_matches('/').rsplit('/').next().unwrap_or(rel)
}

/// Hidden names (`.DS_Store`, `.git/`) and macOS's `__MACOSX/` resource folders.
pub fn is_clutter(name: &str) -> bool {
    name.split('/').any(|c| c.starts_with('.') || c == "__MACOSX")
}
