//! What `--resume` checks before it continues a run: the folder, its status, its checkpoint, and
//! that the dataset is the one the run started on.
use std::io::Read;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::TrainError;
use crate::runs::{
    load_run, DatasetFingerprint, RunRecord, RunStatus, CHECKPOINT_FILE, RUN_FILE, TRAIN_STATE_FILE,
};

/// A run named on the command line: its id (folder name) under `runs_dir`, a unique prefix of
/// one, or a folder's path (see [`crate::runs::resolve_run`]), as an absolute path.
pub fn resolve_run_dir(runs_dir: &Path, run: &str) -> Result<PathBuf, TrainError> {
    let dir = crate::runs::resolve_run(runs_dir, run).map_err(|e| TrainError::Run(e.to_string()))?;
    if !dir.join(RUN_FILE).is_file() {
        return Err(TrainError::Run(format!(
            "{} holds no run.toml; `workbench runs` lists the runs",
            dir.display()
        )));
    }
    Ok(std::path::absolute(&dir).unwrap_or(dir))
}

/// Whether the run in `dir` can be resumed: stopped, interrupted, failed (or still marked running
/// or paused by a process that is gone: the caller holds its lock by now), with a checkpoint.
pub fn check_resumable(dir: &Path) -> Result<RunRecord, TrainError> {
    let record = load_run(dir).map_err(|e| TrainError::Run(format!("cannot read the run: {e}")))?;
    let meta = &record.meta;
    let name = dir.display();
    match meta.status {
        RunStatus::Finished => {
            return Err(TrainError::Run(format!(
                "{name} finished all its {} epochs; there is nothing to resume",
                meta.hyperparameters.epochs
            )))
        }
        RunStatus::Queued => {
            return Err(TrainError::Run(format!(
                "{name} has not started yet; start it with `workbench train --run-dir {name}`"
            )))
        }
        _ => {}
    }
    if meta.checkpoint_epoch.is_none()
        || !dir.join(CHECKPOINT_FILE).is_file()
        || !dir.join(TRAIN_STATE_FILE).is_file()
    {
        return Err(TrainError::Run(format!(
            "{name} has no checkpoint to resume from (it stopped before its first checkpoint, or was made by an \
             older version); start a new run instead"
        )));
    }
    Ok(record)
}

/// How the dataset differs from the one the run started on, in words; empty when it is the same.
pub fn dataset_changes(was: &DatasetFingerprint, now: &DatasetFingerprint) -> Vec<String> {
    let mut changes = Vec::new();
    if was.bytes != now.bytes {
        changes.push(format!("its size went from {} to {} bytes", was.bytes, now.bytes));
    }
    if was.modified_unix_ms != now.modified_unix_ms {
        let when = |ms: u64| {
            humantime::format_rfc3339_seconds(std::time::UNIX_EPOCH + std::time::Duration::from_millis(ms))
                .to_string()
        };
        changes.push(format!(
            "it was modified ({} then, {} now)",
            when(was.modified_unix_ms),
            when(now.modified_unix_ms)
        ));
    }
    let short = |h: &str| h[..12.min(h.len())].to_string();
    let hashes = [("xxh3", &was.xxh3, &now.xxh3), ("sha256", &was.sha256, &now.sha256)];
    // The hash both recorded (a run of an earlier version recorded SHA-256).
    if let Some((name, then, now)) = hashes.into_iter().find(|(_, a, b)| !a.is_empty() && !b.is_empty()) {
        if then != now {
            changes.push(format!(
                "its content hash changed ({name} {}… then, {}… now)",
                short(then),
                short(now)
            ));
        }
    }
    changes
}

/// Refuse to resume on a dataset that changed since the run started.
pub fn check_dataset_unchanged(record: &RunRecord, source: &Path) -> Result<(), TrainError> {
    let Some(was) = &record.meta.data.fingerprint else {
        tracing::warn!(dir = %record.dir.display(), "the run recorded no dataset fingerprint; resuming unchecked");
        return Ok(());
    };
    let hash =
        if was.xxh3.is_empty() && !was.sha256.is_empty() { ContentHash::Sha256 } else { ContentHash::Xxh3 };
    let now = fingerprint_with(source, hash).map_err(|e| {
        TrainError::Dataset(format!(
            "cannot read the dataset {} to check it is unchanged: {e}",
            source.display()
        ))
    })?;
    let changes = dataset_changes(was, &now);
    if changes.is_empty() {
        return Ok(());
    }
    Err(TrainError::Dataset(format!(
        "the dataset {} changed since the run started: {}; resuming would mix two datasets in one curve. Put the \
         original file back, or start a new run",
        source.display(),
        changes.join("; ")
    )))
}

/// The content hash a fingerprint holds: XXH3-128 (runs of this version; several times faster
/// than SHA-256, which a 1 GB dataset made cost most of a second at every run start) or SHA-256
/// (runs of earlier versions, checked with it when resumed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContentHash {
    Xxh3,
    Sha256,
}

enum Hasher {
    Xxh3(Box<xxhash_rust::xxh3::Xxh3>),
    Sha256(Sha256),
}

impl Hasher {
    fn update(&mut self, bytes: &[u8]) {
        match self {
            Hasher::Xxh3(h) => h.update(bytes),
            Hasher::Sha256(h) => h.update(bytes),
        }
    }
}

/// Size, newest modification time and content hash (XXH3-128) of a dataset file, or of every
/// file under a dataset folder (each file's path relative to it, then its content, in name order).
pub fn fingerprint(source: &Path) -> std::io::Result<DatasetFingerprint> {
    fingerprint_with(source, ContentHash::Xxh3)
}

/// [`fingerprint`] with the given content hash.
pub fn fingerprint_with(source: &Path, hash: ContentHash) -> std::io::Result<DatasetFingerprint> {
    let mut files = Vec::new();
    collect_files(source, &mut files)?;
    files.sort();
    let mut hasher = match hash {
        ContentHash::Xxh3 => Hasher::Xxh3(Box::default()),
        ContentHash::Sha256 => Hasher::Sha256(Sha256::new()),
    };
    let (mut bytes, mut modified_unix_ms) = (0u64, 0u64);
    let mut buf = vec![0u8; 1 << 16];
    for file in &files {
        let meta = std::fs::metadata(file)?;
        bytes += meta.len();
        let ms =
            meta.modified()?.duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0);
        modified_unix_ms = modified_unix_ms.max(ms);
        if source.is_dir() {
            let rel = file.strip_prefix(source).unwrap_or(file);
            hasher.update(rel.to_string_lossy().as_bytes());
            hasher.update(&[0]);
        }
        let mut f = std::fs::File::open(file)?;
        loop {
            let n = f.read(&mut buf)?;
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
        }
    }
    let (xxh3, sha256) = match hasher {
        Hasher::Xxh3(h) => (format!("{:032x}", h.digest128()), String::new()),
        Hasher::Sha256(h) => (String::new(), h.finalize().iter().map(|b| format!("{b:02x}")).collect()),
    };
    Ok(DatasetFingerprint { bytes, modified_unix_ms, xxh3, sha256 })
}

fn collect_files(path: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    if path.is_dir() {
        for entry in std::fs::read_dir(path)? {
            collect_files(&entry?.path(), out)?;
        }
    } else {
        out.push(path.to_path_buf());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_changed_file_is_described() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("d.csv");
        std::fs::write(&path, "a,b\n1,2\n").unwrap();
        let was = fingerprint(&path).unwrap();
        assert_eq!(fingerprint(&path).unwrap(), was, "the same file, the same fingerprint");
        std::fs::write(&path, "a,b\n1,3\n").unwrap();
        let now =
            DatasetFingerprint { modified_unix_ms: was.modified_unix_ms, ..fingerprint(&path).unwrap() };
        let changes = dataset_changes(&was, &now);
        assert_eq!(changes.len(), 1, "same size and time, other content: {changes:?}");
        assert!(changes[0].starts_with("its content hash changed (xxh3 "), "{changes:?}");
    }

    #[test]
    fn a_run_of_an_earlier_version_is_checked_with_the_sha256_it_recorded() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("d.csv");
        std::fs::write(&path, "a,b\n1,2\n").unwrap();
        let old = fingerprint_with(&path, ContentHash::Sha256).unwrap();
        assert!(old.xxh3.is_empty() && old.sha256.len() == 64);
        // As run.toml of an earlier version holds it: no xxh3 field at all.
        let text = format!(
            "bytes = {}\nmodified_unix_ms = {}\nsha256 = \"{}\"\n",
            old.bytes, old.modified_unix_ms, old.sha256
        );
        let read: DatasetFingerprint = toml::from_str(&text).unwrap();
        assert_eq!(read, old);
        let same = fingerprint_with(&path, ContentHash::Sha256).unwrap();
        assert!(dataset_changes(&read, &same).is_empty());
        std::fs::write(&path, "a,b\n1,3\n").unwrap();
        let now = DatasetFingerprint {
            modified_unix_ms: old.modified_unix_ms,
            ..fingerprint_with(&path, ContentHash::Sha256).unwrap()
        };
        let changes = dataset_changes(&read, &now);
        assert!(changes.len() == 1 && changes[0].contains("(sha256 "), "{changes:?}");
    }
}
