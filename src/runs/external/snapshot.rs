//! Every external run below some log folders, read whole once: for `workbench runs` and
//! `workbench export`. The same follower the TUI uses reads them, so names and values agree.
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use super::follow::ExternalFollower;
use crate::runs::events::{ExternalKind, RunEvent, RunKey, ScalarPoint};

/// One external run as read now.
#[derive(Debug, Clone, PartialEq)]
pub struct ExternalRun {
    /// Its name: its path below the log folder, as TensorBoard names it (`exp-a`, `exp-b/version_0`).
    pub key: RunKey,
    /// Its folder.
    pub dir: PathBuf,
    /// TensorBoard event files or a Lightning CSV logger folder.
    pub kind: ExternalKind,
    /// Its hyperparameters as logged (`add_hparams`, `hparams.yaml`), sorted by name.
    pub hparams: Vec<(String, String)>,
    /// Why a file in it could not be read, if one could not.
    pub problem: Option<String>,
    /// Every scalar series, by tag, in the order logged.
    pub scalars: BTreeMap<String, Vec<ScalarPoint>>,
}

impl ExternalRun {
    /// `tensorboard` or `csvlogger`.
    pub fn kind_label(&self) -> &'static str {
        kind_label(self.kind)
    }

    /// The highest step of any of its points.
    pub fn last_step(&self) -> Option<i64> {
        self.scalars.values().flatten().map(|p| p.step).max()
    }

    /// Points in all its series.
    pub fn points(&self) -> usize {
        self.scalars.values().map(Vec::len).sum()
    }

    /// When a file in its folder was last written.
    pub fn last_write(&self) -> Option<SystemTime> {
        let entries = std::fs::read_dir(&self.dir).ok()?;
        entries
            .flatten()
            .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
            .filter_map(|e| e.metadata().ok()?.modified().ok())
            .max()
    }

    /// Its training-loss series: the first tag that names a loss and not a validation one.
    pub fn loss_tag(&self) -> Option<&str> {
        self.scalars.keys().map(String::as_str).find(|t| is_train_loss(t))
    }
}

/// `tensorboard` or `csvlogger`, as `workbench runs` prints the kind.
pub fn kind_label(kind: ExternalKind) -> &'static str {
    match kind {
        ExternalKind::TensorBoard => "tensorboard",
        ExternalKind::LightningCsv => "csvlogger",
    }
}

/// A TensorBoard tag or CSV column that holds the training loss (`loss`, `train/loss`,
/// `train_loss_step`), not a validation or test one.
pub fn is_train_loss(tag: &str) -> bool {
    let t = tag.to_lowercase();
    t.contains("loss") && !["val", "test", "eval"].iter().any(|w| t.contains(w))
}

/// Every external run below `roots`, read whole, sorted by name. Reads only; writes nothing.
pub fn load_external_runs(roots: &[PathBuf]) -> Vec<ExternalRun> {
    if roots.is_empty() {
        return Vec::new();
    }
    let mut follower = ExternalFollower::new(roots.to_vec());
    let mut runs: BTreeMap<RunKey, ExternalRun> = BTreeMap::new();
    for event in follower.poll() {
        match event {
            RunEvent::External { key, dir, kind, hparams, problem } => {
                let scalars = runs.remove(&key).map(|r| r.scalars).unwrap_or_default();
                runs.insert(key.clone(), ExternalRun { key, dir, kind, hparams, problem, scalars });
            }
            RunEvent::Scalars { key, tag, points } => {
                if let Some(run) = runs.get_mut(&key) {
                    run.scalars.entry(tag).or_default().extend(points);
                }
            }
            _ => {}
        }
    }
    runs.into_values().collect()
}

/// The external run named `name` among `runs`: its exact name, else a unique prefix of one
/// (`exp-b` for `exp-b/version_0`).
pub fn find_external<'a>(runs: &'a [ExternalRun], name: &str) -> Option<&'a ExternalRun> {
    let name = name.trim_end_matches('/');
    if let Some(run) = runs.iter().find(|r| r.key == name) {
        return Some(run);
    }
    let mut under = runs.iter().filter(|r| r.key.starts_with(name) && !name.is_empty());
    match (under.next(), under.next()) {
        (Some(one), None) => Some(one),
        _ => None,
    }
}

/// Whether `dir` is one of `runs`' folders (so a path given as RUN can name an external run too).
pub fn find_external_dir<'a>(runs: &'a [ExternalRun], dir: &Path) -> Option<&'a ExternalRun> {
    let want = dir.canonicalize().ok()?;
    runs.iter().find(|r| r.dir.canonicalize().ok().as_deref() == Some(want.as_path()))
}
