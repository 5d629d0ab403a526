//! `runs/sweeps/NAME/sweep.toml`: what a sweep was asked to do (the command line, the grid, the
//! fixed values) and the run each cell became. The runs themselves are ordinary run folders
//! (`sweep = "NAME"` and `[sweep_cell]` in their run.toml): the record only ties them together.
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::command::RunKind;

/// The file in a sweep's folder.
pub const SWEEP_FILE: &str = "sweep.toml";

/// Where sweeps are recorded: `sweeps/` in the runs folder.
pub fn sweeps_dir(runs_dir: &Path) -> PathBuf {
    runs_dir.join("sweeps")
}

/// A varying name and its values as they were given (`0.1,0.01`, `1e-4:1e-1:log:4`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GridEntry {
    pub name: String,
    pub given: String,
}

/// A cell and the run it became.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CellRecord {
    /// The run's id (its folder's name).
    pub run: String,
    pub values: BTreeMap<String, String>,
    /// Earlier runs of this cell, oldest first: a requeued cell's failed or stopped attempts,
    /// kept on disk.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub earlier: Vec<String>,
}

/// The template a command sweep fills in, cell by cell.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CommandTemplate {
    /// The program and its arguments with `{name}` placeholders (after `--`), or empty for an entry.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub argv: Vec<String>,
    /// The `[commands.NAME]` entry it fills, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entry: Option<String>,
    pub cwd: PathBuf,
}

/// A sweep's record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SweepRecord {
    pub name: String,
    pub created_at: String,
    /// `workbench sweep ...` as typed.
    pub command_line: String,
    /// Built-in runs (`train`) or the user's command (`command`).
    pub kind: RunKind,
    /// `--random N`: how many cells were drawn, and with which seed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub random: Option<(usize, u64)>,
    /// Values given once, the same for every cell.
    #[serde(default)]
    pub fixed: BTreeMap<String, String>,
    #[serde(default)]
    pub grid: Vec<GridEntry>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<CommandTemplate>,
    #[serde(default)]
    pub cells: Vec<CellRecord>,
}

/// A sweep that can't be recorded or read.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    #[error("a sweep named {name:?} exists ({}); choose another --name", dir.display())]
    Exists { name: String, dir: PathBuf },
    #[error("no sweep named {name:?} in {}{}", dir.display(), known_list(known))]
    Unknown { name: String, dir: PathBuf, known: Vec<String> },
    #[error("{}: {message}; the sweep's runs are untouched (their run.toml files name it)", path.display())]
    Bad { path: PathBuf, message: String },
    #[error("could not write {}: {source}", path.display())]
    Disk { path: PathBuf, source: std::io::Error },
    #[error("{name:?} can't name a sweep: use letters, digits, `-`, `_` and `.`")]
    BadName { name: String },
}

fn known_list(known: &[String]) -> String {
    if known.is_empty() {
        " (there are none yet)".into()
    } else {
        format!(" (there are: {})", known.join(", "))
    }
}

/// A name fit for a folder: letters, digits, `-`, `_`, `.`, not starting with a dot.
pub fn check_name(name: &str) -> Result<(), RecordError> {
    let ok = !name.is_empty()
        && !name.starts_with('.')
        && name.len() <= 120
        && name.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
    if ok {
        Ok(())
    } else {
        Err(RecordError::BadName { name: name.into() })
    }
}

impl SweepRecord {
    /// Make the sweep's folder (refused when a sweep of that name exists) and write the record.
    pub fn create(&self, runs_dir: &Path) -> Result<PathBuf, RecordError> {
        check_name(&self.name)?;
        let base = sweeps_dir(runs_dir);
        std::fs::create_dir_all(&base).map_err(|source| RecordError::Disk { path: base.clone(), source })?;
        let dir = base.join(&self.name);
        match std::fs::create_dir(&dir) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                return Err(RecordError::Exists { name: self.name.clone(), dir })
            }
            Err(source) => return Err(RecordError::Disk { path: dir, source }),
        }
        self.save(runs_dir)?;
        Ok(dir)
    }

    /// Write the record again (after `extend`), atomically.
    pub fn save(&self, runs_dir: &Path) -> Result<(), RecordError> {
        let path = sweeps_dir(runs_dir).join(&self.name).join(SWEEP_FILE);
        let text = toml::to_string_pretty(self)
            .map_err(|e| RecordError::Bad { path: path.clone(), message: e.to_string() })?;
        let text = format!("# Written by `workbench sweep`; the runs are ordinary run folders.\n{text}");
        crate::util::write_atomic(&path, text.as_bytes()).map_err(|source| RecordError::Disk { path, source })
    }

    /// The sweep `name` under `runs_dir`.
    pub fn load(runs_dir: &Path, name: &str) -> Result<SweepRecord, RecordError> {
        check_name(name)?;
        let dir = sweeps_dir(runs_dir);
        let path = dir.join(name).join(SWEEP_FILE);
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(RecordError::Unknown { name: name.into(), dir, known: list_names(runs_dir) })
            }
            Err(e) => return Err(RecordError::Bad { path, message: e.to_string() }),
        };
        toml::from_str(&text).map_err(|e| RecordError::Bad { path, message: e.message().to_string() })
    }

    /// The values each cell already has, to skip them when the grid is extended.
    /// The names the sweep varies, in its grid's order.
    pub fn varying(&self) -> Vec<String> {
        self.grid.iter().map(|g| g.name.clone()).collect()
    }

    pub fn has_cell(&self, values: &BTreeMap<String, String>) -> bool {
        self.cells.iter().any(|c| &c.values == values)
    }
}

/// Every sweep's name under `runs_dir`, sorted.
pub fn list_names(runs_dir: &Path) -> Vec<String> {
    let Ok(read) = std::fs::read_dir(sweeps_dir(runs_dir)) else { return Vec::new() };
    let mut names: Vec<String> = read
        .flatten()
        .filter(|e| e.path().join(SWEEP_FILE).is_file())
        .filter_map(|e| e.file_name().to_str().map(String::from))
        .collect();
    names.sort();
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(name: &str) -> SweepRecord {
        SweepRecord {
            name: name.into(),
            created_at: "2026-12-06T07:00:00Z".into(),
            command_line: "workbench sweep --lr 0.1,0.01".into(),
            kind: RunKind::Train,
            random: None,
            fixed: BTreeMap::from([("dataset".into(), "iris".into())]),
            grid: vec![GridEntry { name: "lr".into(), given: "0.1,0.01".into() }],
            command: None,
            cells: vec![CellRecord {
                run: "r1".into(),
                values: BTreeMap::from([("lr".into(), "0.1".into())]),
                earlier: Vec::new(),
            }],
        }
    }

    #[test]
    fn a_record_round_trips_and_a_name_is_taken_once() {
        let runs = tempfile::tempdir().unwrap();
        let r = record("s1");
        r.create(runs.path()).unwrap();
        assert_eq!(SweepRecord::load(runs.path(), "s1").unwrap(), r);
        let e = r.create(runs.path()).unwrap_err().to_string();
        assert!(e.contains("a sweep named \"s1\" exists"), "{e}");
        let e = SweepRecord::load(runs.path(), "s2").unwrap_err().to_string();
        assert!(e.contains("no sweep named \"s2\"") && e.contains("there are: s1"), "{e}");
        assert!(check_name("../x").is_err() && check_name(".hidden").is_err() && check_name("a b").is_err());
        assert_eq!(list_names(runs.path()), ["s1"]);
        assert!(r.has_cell(&BTreeMap::from([("lr".into(), "0.1".into())])));
    }
}
