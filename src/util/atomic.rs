//! Writing a file whole or not at all, safely in a folder others can write to (a group-writable
//! runs folder, a shared cache): the one place the workbench makes temporary files.
//!
//! A temporary file's name can't be guessed (it holds a random part), and it is never opened
//! through a link: it is made inside a fresh private folder (`mkdir`, mode 0700, which fails
//! rather than follow a link planted at its name), itself created exclusively (`O_CREAT|O_EXCL`,
//! `O_NOFOLLOW`). Another user's planted symlink can make a write fail; it can't redirect one.
use std::collections::hash_map::RandomState;
use std::fs::{DirBuilder, File, OpenOptions};
use std::hash::{BuildHasher, Hasher};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// How many names are tried before giving up (each taken name is a collision or a planted file).
const ATTEMPTS: u32 = 16;

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// A random 64-bit value: std's per-process random hash keys over the pid, a counter and the time.
fn random_part() -> u64 {
    let mut h = RandomState::new().build_hasher();
    h.write_u32(std::process::id());
    h.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    let nanos =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    h.write_u128(nanos);
    h.finish()
}

/// A place to write the new content of `target` before it replaces it: a private folder beside
/// `target` (`.NAME.tmp-PID-RANDOM/`) holding the file `NAME`. Dropped without
/// [`TempFile::persist`] (an error, a panic), the folder and what it holds are removed.
#[derive(Debug)]
pub struct TempFile {
    folder: PathBuf,
    path: PathBuf,
}

impl TempFile {
    /// Make the private folder beside `target`; the file itself is not created yet (write it with
    /// [`TempFile::create`], or hand [`TempFile::path`] to a library that writes by path).
    pub fn beside(target: &Path) -> io::Result<TempFile> {
        let parent = match target.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        let name = target
            .file_name()
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "a file name is needed"))?;
        let shown = name.to_string_lossy();
        let mut last = None;
        for _ in 0..ATTEMPTS {
            let folder = parent.join(format!(".{shown}.tmp-{}-{:016x}", std::process::id(), random_part()));
            match DirBuilder::new().mode(0o700).create(&folder) {
                Ok(()) => return Ok(TempFile { path: folder.join(name), folder }),
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => last = Some(e),
                Err(e) => return Err(e),
            }
        }
        Err(last.unwrap_or_else(|| io::Error::other("no free temporary name")))
    }

    /// Where the new content goes (inside the private folder).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Create the file, exclusively and never through a link.
    pub fn create(&self) -> io::Result<File> {
        create_exclusive(&self.path)
    }

    /// Move the written file over `target` (a link at `target` is replaced, not followed), then
    /// remove the private folder.
    pub fn persist(self, target: &Path) -> io::Result<()> {
        std::fs::rename(&self.path, target)
        // Drop removes the folder, now empty.
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.folder);
    }
}

/// Open a new file for writing: fails when anything (a file, a link) is at `path` already.
pub fn create_exclusive(path: &Path) -> io::Result<File> {
    OpenOptions::new().write(true).create_new(true).custom_flags(libc::O_NOFOLLOW).mode(0o644).open(path)
}

/// Write a file atomically: a temporary file beside it (see [`TempFile`]), written, flushed and
/// synced, then renamed over it. A crash or a full disk leaves either the old file or the new
/// one, never half of one.
pub fn write_atomic(path: &Path, contents: &[u8]) -> io::Result<()> {
    write_through_temp(path, contents, true)
}

/// [`write_atomic`] without the sync (which waits on the disk, 5 to 15 ms): for a file that is
/// checked whenever it is read, so that a crash leaving it empty or torn costs only its redoing
/// (a staged table's manifest, whose data files are hashed and not synced either).
pub fn write_atomic_unsynced(path: &Path, contents: &[u8]) -> io::Result<()> {
    write_through_temp(path, contents, false)
}

fn write_through_temp(path: &Path, contents: &[u8], sync: bool) -> io::Result<()> {
    let tmp = TempFile::beside(path)?;
    let mut file = tmp.create()?;
    file.write_all(contents)?;
    if sync {
        file.sync_all()?;
    }
    tmp.persist(path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    /// The names the old helper used (`.NAME.tmp-PID`), and the new one's folder prefix.
    fn planted_names(dir: &Path, name: &str) -> Vec<PathBuf> {
        vec![
            dir.join(format!(".{name}.tmp-{}", std::process::id())),
            dir.join(format!(".{name}.tmp-{}-0000000000000000", std::process::id())),
        ]
    }

    #[test]
    fn a_symlink_planted_at_the_temporary_name_is_never_written_through() {
        let runs = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        let victim = outside.path().join("victim.txt");
        std::fs::write(&victim, "precious").unwrap();
        for planted in planted_names(runs.path(), "run.toml") {
            symlink(&victim, planted).unwrap();
        }
        let target = runs.path().join("run.toml");
        write_atomic(&target, b"status = \"running\"\n").unwrap();
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious", "the link's target is untouched");
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "status = \"running\"\n");
        let left: Vec<_> = std::fs::read_dir(runs.path())
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| {
                n.contains(".tmp-") && !std::fs::symlink_metadata(runs.path().join(n)).unwrap().is_symlink()
            })
            .collect();
        assert!(left.is_empty(), "no temporary left behind: {left:?}");
    }

    #[test]
    fn a_file_is_never_created_through_a_link_or_over_one() {
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim");
        std::fs::write(&victim, "x").unwrap();
        let link = dir.path().join("link");
        symlink(&victim, &link).unwrap();
        assert!(create_exclusive(&link).is_err());
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "x");
    }

    #[test]
    fn a_temp_file_dropped_unpersisted_leaves_nothing_and_names_differ() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("model.safetensors");
        let a = TempFile::beside(&target).unwrap();
        let b = TempFile::beside(&target).unwrap();
        assert_ne!(a.path(), b.path(), "two writers of one file get two places");
        std::fs::write(a.path(), b"half").unwrap();
        drop(a);
        drop(b);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn a_link_at_the_target_is_replaced_not_followed() {
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim");
        std::fs::write(&victim, "x").unwrap();
        let target = dir.path().join("live.toml");
        symlink(&victim, &target).unwrap();
        write_atomic(&target, b"new").unwrap();
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "x");
        assert!(!std::fs::symlink_metadata(&target).unwrap().is_symlink());
    }
}
