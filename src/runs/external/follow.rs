//! Following extra log folders (`--logdir`, `[runs] extra_dirs`): every folder below them that
//! holds `events.out.tfevents.*` files, or a Lightning `metrics.csv` with its `hparams.yaml`, is a
//! run. Each poll walks the folders (directory listings only), stats the files it follows and
//! reads only the bytes appended since the last poll. Nothing is ever written there.
use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use super::event_file::EventFileReader;
use super::lightning::CsvMetricsReader;
use super::yaml::read_flat_yaml;
use crate::runs::events::{ExternalKind, RunEvent, RunKey, ScalarPoint};

/// The prefix of TensorBoard event file names.
pub const EVENT_FILE_PREFIX: &str = "events.out.tfevents.";
/// Lightning's CSV logger's metrics file and the hyperparameters file Lightning's loggers write.
pub const LIGHTNING_METRICS: &str = "metrics.csv";
pub const LIGHTNING_HPARAMS: &str = "hparams.yaml";

/// Folders nested deeper than this below a root are not searched (and symlink loops end here).
const MAX_DEPTH: usize = 32;

/// Follows every external run below a set of root folders; see the module docs.
#[derive(Debug)]
pub struct ExternalFollower {
    roots: Vec<(PathBuf, Option<String>)>,
    runs: BTreeMap<RunKey, RunState>,
}

/// Hyperparameters as (name, value) pairs.
type Hparams = Vec<(String, String)>;
/// A file's size and modification time: a change in either means it was rewritten.
type Stamp = (u64, Option<SystemTime>);

#[derive(Debug)]
struct RunState {
    dir: PathBuf,
    kind: ExternalKind,
    /// Event files by name (their names sort in the order they were started).
    files: BTreeMap<String, EventFileReader>,
    csv: Option<CsvMetricsReader>,
    /// `hparams.yaml`'s size and time when last read, and what it held.
    yaml: Option<(Stamp, Hparams)>,
    event_hparams: Hparams,
    /// Read errors (a file that vanished or can't be opened), by file name.
    read_errors: BTreeMap<String, String>,
    /// What the last `External` event said.
    reported: Option<(Hparams, Option<String>)>,
}

impl ExternalFollower {
    /// Follow the runs below `roots`. With one root, runs are named by their path below it (the
    /// root itself by its folder name); with several, each name starts with its root's folder
    /// name (`-2`, `-3`, ... added where two roots share a name).
    pub fn new(roots: Vec<PathBuf>) -> ExternalFollower {
        let prefix = roots.len() > 1;
        let mut used = HashSet::new();
        let roots = roots
            .into_iter()
            .map(|root| {
                let label = prefix.then(|| {
                    let base = folder_name(&root);
                    let mut label = base.clone();
                    let mut n = 2;
                    while !used.insert(label.clone()) {
                        label = format!("{base}-{n}");
                        n += 1;
                    }
                    label
                });
                (root, label)
            })
            .collect();
        ExternalFollower { roots, runs: BTreeMap::new() }
    }

    /// What changed since the last poll: `External` for a new run (and again when its
    /// hyperparameters or problem change), then `Scalars` per tag with the new points; `Removed`
    /// for a run whose folder is gone.
    pub fn poll(&mut self) -> Vec<RunEvent> {
        let mut events = Vec::new();
        let mut found: BTreeMap<RunKey, (PathBuf, ExternalKind)> = BTreeMap::new();
        for (root, label) in &self.roots {
            let mut visited = HashSet::new();
            walk(root, root, label.as_deref(), 0, &mut visited, &mut found);
        }
        let gone: Vec<RunKey> = self.runs.keys().filter(|k| !found.contains_key(*k)).cloned().collect();
        for key in gone {
            self.runs.remove(&key);
            events.push(RunEvent::Removed { key });
        }
        for (key, (dir, kind)) in found {
            let state = self.runs.entry(key.clone()).or_insert_with(|| RunState::new(dir, kind));
            state.poll(&key, &mut events);
        }
        events
    }
}

impl RunState {
    fn new(dir: PathBuf, kind: ExternalKind) -> RunState {
        RunState {
            dir,
            kind,
            files: BTreeMap::new(),
            csv: None,
            yaml: None,
            event_hparams: Vec::new(),
            read_errors: BTreeMap::new(),
            reported: None,
        }
    }

    fn poll(&mut self, key: &str, events: &mut Vec<RunEvent>) {
        let mut scalars: BTreeMap<String, Vec<ScalarPoint>> = BTreeMap::new();
        match self.kind {
            ExternalKind::TensorBoard => self.read_event_files(&mut scalars),
            ExternalKind::LightningCsv => self.read_csv(&mut scalars),
        }
        self.read_yaml();
        let hparams = self.hparams();
        let problem = self.problem();
        let changed = self.reported.as_ref().is_none_or(|(h, p)| *h != hparams || *p != problem);
        if changed {
            events.push(RunEvent::External {
                key: key.to_string(),
                dir: self.dir.clone(),
                kind: self.kind,
                hparams: hparams.clone(),
                problem: problem.clone(),
            });
            self.reported = Some((hparams, problem));
        }
        for (tag, points) in scalars {
            events.push(RunEvent::Scalars { key: key.to_string(), tag, points });
        }
    }

    fn read_event_files(&mut self, scalars: &mut BTreeMap<String, Vec<ScalarPoint>>) {
        for name in event_file_names(&self.dir) {
            self.files.entry(name.clone()).or_insert_with(|| EventFileReader::new(self.dir.join(&name)));
        }
        for (name, reader) in &mut self.files {
            match reader.read_new() {
                Ok(batch) => {
                    self.read_errors.remove(name);
                    if let Some(h) = batch.hparams {
                        self.event_hparams = h;
                    }
                    for (tag, points) in batch.scalars {
                        scalars.entry(tag).or_default().extend(points);
                    }
                }
                Err(e) => {
                    self.read_errors.insert(name.clone(), e.to_string());
                }
            }
        }
    }

    fn read_csv(&mut self, scalars: &mut BTreeMap<String, Vec<ScalarPoint>>) {
        let reader = self.csv.get_or_insert_with(|| CsvMetricsReader::new(self.dir.join(LIGHTNING_METRICS)));
        match reader.read_new() {
            Ok(points) => {
                self.read_errors.remove(LIGHTNING_METRICS);
                for (tag, p) in points {
                    scalars.entry(tag).or_default().extend(p);
                }
            }
            Err(e) => {
                self.read_errors.insert(LIGHTNING_METRICS.into(), e.to_string());
            }
        }
    }

    /// Re-read `hparams.yaml` when its size or time changed (Lightning writes it for both its
    /// TensorBoard and CSV loggers).
    fn read_yaml(&mut self) {
        let path = self.dir.join(LIGHTNING_HPARAMS);
        let Ok(meta) = std::fs::metadata(&path) else {
            self.yaml = None;
            return;
        };
        let stamp = (meta.len(), meta.modified().ok());
        if self.yaml.as_ref().is_some_and(|(s, _)| *s == stamp) {
            return;
        }
        match std::fs::read(&path) {
            Ok(bytes) => {
                self.read_errors.remove(LIGHTNING_HPARAMS);
                self.yaml = Some((stamp, read_flat_yaml(&String::from_utf8_lossy(&bytes))));
            }
            Err(e) => {
                self.read_errors
                    .insert(LIGHTNING_HPARAMS.into(), format!("could not read {}: {e}", path.display()));
            }
        }
    }

    /// `hparams.yaml`'s values, overridden by `add_hparams`', sorted by name.
    fn hparams(&self) -> Vec<(String, String)> {
        let mut all: BTreeMap<String, String> = BTreeMap::new();
        if let Some((_, yaml)) = &self.yaml {
            all.extend(yaml.iter().cloned());
        }
        all.extend(self.event_hparams.iter().cloned());
        all.into_iter().collect()
    }

    /// Every file's problem, `name: problem`, joined with `; `.
    fn problem(&self) -> Option<String> {
        let mut parts: Vec<String> = Vec::new();
        for (name, reader) in &self.files {
            if let Some(p) = reader.problem() {
                parts.push(format!("{name}: {p}"));
            }
        }
        parts.extend(self.read_errors.values().cloned());
        (!parts.is_empty()).then(|| parts.join("; "))
    }
}

/// Find the runs in `dir` and below it.
fn walk(
    root: &Path,
    dir: &Path,
    label: Option<&str>,
    depth: usize,
    visited: &mut HashSet<PathBuf>,
    found: &mut BTreeMap<RunKey, (PathBuf, ExternalKind)>,
) {
    if depth > MAX_DEPTH || !visited.insert(dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf())) {
        return;
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut subdirs = BTreeSet::new();
    let (mut events, mut metrics, mut hparams) = (false, false, false);
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        let path = entry.path();
        // `metadata` follows symlinks: a linked log folder is searched too (loops end at `visited`).
        let Ok(meta) = std::fs::metadata(&path) else {
            continue;
        };
        if meta.is_dir() {
            subdirs.insert(path);
        } else if name.starts_with(EVENT_FILE_PREFIX) {
            events = true;
        } else if name == LIGHTNING_METRICS {
            metrics = true;
        } else if name == LIGHTNING_HPARAMS {
            hparams = true;
        }
    }
    // A folder with event files is a TensorBoard run even when a CSV logger wrote there too.
    let kind = if events {
        Some(ExternalKind::TensorBoard)
    } else if metrics && hparams {
        Some(ExternalKind::LightningCsv)
    } else {
        None
    };
    if let Some(kind) = kind {
        found.insert(run_key(root, dir, label), (dir.to_path_buf(), kind));
    }
    for sub in subdirs {
        walk(root, &sub, label, depth + 1, visited, found);
    }
}

/// A run's name: its path below the root with `/` between folders (the root itself by its own
/// folder name), after the root's label when there are several roots.
fn run_key(root: &Path, dir: &Path, label: Option<&str>) -> RunKey {
    let rel: Vec<String> = dir
        .strip_prefix(root)
        .map(|r| r.components().map(|c| c.as_os_str().to_string_lossy().into_owned()).collect())
        .unwrap_or_default();
    match (label, rel.is_empty()) {
        (Some(label), true) => label.to_string(),
        (Some(label), false) => format!("{label}/{}", rel.join("/")),
        (None, true) => folder_name(root),
        (None, false) => rel.join("/"),
    }
}

fn folder_name(path: &Path) -> String {
    let abs = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
    abs.file_name().map_or_else(|| ".".to_string(), |n| n.to_string_lossy().into_owned())
}

/// The event files directly in `dir`, sorted by name.
fn event_file_names(dir: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut names: Vec<String> = entries
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| !t.is_dir()))
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(EVENT_FILE_PREFIX))
        .collect();
    names.sort();
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_follow_tensorboard_names() {
        let root = Path::new("/logs/runs");
        assert_eq!(run_key(root, Path::new("/logs/runs/exp-a/version_0"), None), "exp-a/version_0");
        assert_eq!(run_key(root, root, None), "runs");
        assert_eq!(run_key(root, Path::new("/logs/runs/exp-a"), Some("runs-2")), "runs-2/exp-a");
        assert_eq!(run_key(root, root, Some("lab")), "lab");
    }

    #[test]
    fn several_roots_get_unique_prefixes() {
        let f = ExternalFollower::new(vec!["/a/runs".into(), "/b/runs".into(), "/c/other".into()]);
        let labels: Vec<_> = f.roots.iter().map(|(_, l)| l.clone().unwrap_or_default()).collect();
        assert_eq!(labels, ["runs", "runs-2", "other"]);
        let one = ExternalFollower::new(vec!["/a/runs".into()]);
        assert_eq!(one.roots[0].1, None);
    }
}
