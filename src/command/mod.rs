//! Any command as a run: `workbench run -- python train.py --lr 0.1`.
//!
//! A command run is a run folder like any other (`run.toml` with `kind = "command"` and a
//! `[command]` table), supervised by its own run process (`workbench run --run-dir DIR`, detached
//! in its own session) that holds the folder's lock, writes `live.toml` and `telemetry.csv`,
//! follows the `control` file and keeps the command's output in `output.log`. The command runs as
//! the leader of its own process group: stop, pause and resume are signals to the whole group.
//! Numbers its stdout prints become `scalars.csv`, the same scalar series a TensorBoard run has.
//!
//! - [`launch`]: checking the command, choosing its device, making its folder
//! - [`supervise`]: the run process
//! - [`foreground`]: `workbench run` without `--detach`: the output as it comes, the exit code
//! - [`metrics`] and [`scalars`]: stdout lines to points, and `scalars.csv`
//! - [`outcome`]: exit codes, signals, the reason of a failure, out-of-memory messages
//! - [`group`]: signals to the process group
pub mod entries;
pub mod foreground;
pub mod git;
pub mod group;
pub mod launch;
pub mod meta;
pub mod metrics;
pub mod outcome;
pub mod scalars;
pub mod series;
pub mod supervise;

use std::path::{Path, PathBuf};

pub use entries::{CommandEntry, CommandsConfig, FilledCommand};
pub use launch::{create_command_run, start_command_run, CommandRequest, CODE_DIFF_FILE};
pub use meta::{CommandInfo, RunKind, DEFAULT_STOP_GRACE_S};
pub use scalars::{read_scalars, ScalarsTail, SCALARS_FILE};
pub use series::{read_command_series, CommandSeries};

/// Why a command could not be made into a run, or its run process failed.
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    /// Nothing to run.
    #[error("no command given; put it after `--`: workbench run -- python train.py")]
    NoCommand,
    /// The program is not there.
    #[error("cannot start `{program}`: not found (searched {searched}); give its full path, or install it")]
    NotFound { program: String, searched: String },
    /// The program is there but can't be run.
    #[error("cannot start {}: {why}", path.display())]
    NotExecutable { path: PathBuf, why: String },
    /// The working folder is not usable.
    #[error("cannot run in {}: {why}; give a folder that exists", cwd.display())]
    BadCwd { cwd: PathBuf, why: String },
    /// The device asked for is not there.
    #[error("{0}")]
    Device(String),
    /// The run folder could not be written.
    #[error("cannot write {}: {source}; check the disk and the folder's permissions", path.display())]
    Disk { path: PathBuf, source: std::io::Error },
    /// A `[commands.NAME]` entry is wrong, or its params are.
    #[error("{0}")]
    Config(String),
    /// The run process or the run folder refused or failed.
    #[error("{0}")]
    Run(String),
}

impl CommandError {
    pub(crate) fn disk(path: &Path, source: std::io::Error) -> CommandError {
        CommandError::Disk { path: path.to_path_buf(), source }
    }
}
