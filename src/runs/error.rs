//! The runs layer's errors: reading run folders, finding a run by name, controlling a run and
//! exporting its metrics. Each message says what failed, where, and what to do next.
use std::path::PathBuf;

use thiserror::Error;

/// Why a run folder could not be read, found, controlled or exported.
#[derive(Debug, Error)]
pub enum RunsError {
    /// A file of a run folder could not be read (missing, no permission, ...).
    #[error("cannot read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A file of a run folder was read but is not what this version writes.
    #[error("{}: {reason}", path.display())]
    Corrupt { path: PathBuf, reason: String },
    /// No run folder matches what was asked for.
    #[error("no run `{arg}` in {}{hint}", runs_dir.display())]
    UnknownRun { arg: String, runs_dir: PathBuf, hint: String },
    /// A prefix names several runs.
    #[error("`{arg}` matches several runs ({candidates}); give more of the id")]
    AmbiguousRun { arg: String, candidates: String },
    /// A command for a run process whose process is not there to read it.
    #[error("{run} is {status}; nothing to {action}")]
    NotAlive { run: String, status: String, action: &'static str },
    /// `resume` of a run that ended: that is a new process's job.
    #[error("{run} is {status}; `workbench train --resume {run}` continues it from its last checkpoint")]
    ResumeEnded { run: String, status: String },
    /// A move of a command run: its program chose its device when it started.
    #[error(
        "{run} is a command run: its program chose its device when it started, so it can't move; stop it and \
         start it again with `workbench run --device DEVICE`"
    )]
    MoveCommand { run: String },
    /// A command for a run whose process has not started yet.
    #[error("{run} is queued: its process has not started yet; try again once it runs")]
    Queued { run: String },
    /// A file could not be written (the control file, an export).
    #[error("cannot write {}: {source}{hint}", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
        hint: &'static str,
    },
    /// Another process holds the run's lock: the run is already going.
    #[error("{} is held by another process: the run is already going", path.display())]
    Locked { path: PathBuf },
    /// Export of a run that has not finished an epoch yet.
    #[error("{run} has no metrics yet (no complete epoch in its metrics.csv); wait for its first epoch")]
    NoMetrics { run: String },
    /// Drawing an external run that has no training-loss series (no tag naming a loss).
    #[error("{run} has no training-loss series to draw (no tag or column with `loss` in its name); export it with --csv")]
    NoLossTag { run: String },
    /// Drawing a chart failed.
    #[error("could not draw {}: {reason}", path.display())]
    Plot { path: PathBuf, reason: String },
}

/// A header or row of `metrics.csv` or `steps.csv` that this version can't read: which column,
/// and what it holds.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum RowError {
    /// The header lacks a column this version needs.
    #[error("header `{header}` has no `{column}` column (not a {file} this version writes)")]
    MissingColumn { header: String, column: String, file: &'static str },
    /// A cell that should hold a number.
    #[error("`{column}` is `{raw}`, not a number")]
    NotANumber { column: String, raw: String },
    /// A cell that should hold a whole number.
    #[error("`{column}` is `{raw}`, not a whole number")]
    NotAWholeNumber { column: String, raw: String },
    /// An epoch that is negative, fractional or too large.
    #[error("`epoch` is `{0}`, not an epoch number")]
    BadEpoch(String),
}

impl RunsError {
    /// A write error, with a hint when the reason is a permission.
    pub(crate) fn write(path: impl Into<PathBuf>, source: std::io::Error) -> RunsError {
        let hint = if source.kind() == std::io::ErrorKind::PermissionDenied {
            " (the folder is not writable by this user: run the command as the run's owner)"
        } else {
            ""
        };
        RunsError::Write { path: path.into(), source, hint }
    }

    /// A read error for `path`.
    pub(crate) fn read(path: impl Into<PathBuf>, source: std::io::Error) -> RunsError {
        RunsError::Read { path: path.into(), source }
    }
}
