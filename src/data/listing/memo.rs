//! What listing learned about a source, remembered across runs: one small JSON file maps each
//! source's path to the key it was learned under (its sizes and times) and the finding. A later
//! listing whose key matches only stat'ed the source. Rewritten atomically; sources that are gone
//! are forgotten, so it stays small. The line counts of large CSVs and the CIFAR summaries use it.
use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// One remembered source.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Remembered<K, V> {
    key: K,
    value: V,
}

/// The findings in one memo file.
pub struct Memo<K, V> {
    file: PathBuf,
    entries: BTreeMap<PathBuf, Remembered<K, V>>,
}

impl<K, V> Memo<K, V>
where
    K: PartialEq + Serialize + DeserializeOwned,
    V: Serialize + DeserializeOwned,
{
    /// The memo in `file`; empty when it is missing or unreadable (everything is learned again).
    pub fn open(file: PathBuf) -> Memo<K, V> {
        let entries =
            std::fs::read(&file).ok().and_then(|b| serde_json::from_slice(&b).ok()).unwrap_or_default();
        Memo { file, entries }
    }

    /// What was learned about `source` under `key`, if that is still its key.
    pub fn get(&self, source: &Path, key: &K) -> Option<&V> {
        self.entries.get(&name(source)).filter(|r| r.key == *key).map(|r| &r.value)
    }

    /// Remember `value` for `source` under `key` and write the file; a failure to write is only
    /// logged (`what` names the finding): the next listing learns it again.
    pub fn put(&mut self, source: &Path, key: K, value: V, what: &str) {
        self.entries.insert(name(source), Remembered { key, value });
        self.entries.retain(|p, _| p.exists());
        if let Err(e) = self.write() {
            tracing::warn!(error = %e, file = %self.file.display(), "could not remember {what}");
        }
    }

    fn write(&self) -> io::Result<()> {
        if let Some(dir) = self.file.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let text = serde_json::to_vec(&self.entries).map_err(io::Error::other)?;
        crate::util::write_atomic(&self.file, &text)
    }
}

/// A source's name in the memo: its canonical path, so two spellings of it are one entry.
fn name(source: &Path) -> PathBuf {
    std::fs::canonicalize(source).unwrap_or_else(|_| source.to_path_buf())
}
