//! What viewers learn about run folders, as plain data.
//!
//! The runs folder is the store every view reads: a run is its own process, writing its folder;
//! the TUI, `workbench runs`, `export` and any other viewer follow those folders through
//! [`RunEvent`]s built by the follower (src/runs/follow.rs). Nothing here needs tch.
//!
//! A run folder holds:
//! - `run.toml`: what runs and how (hyperparameters, data, device) and its [`RunStatus`]
//!   (`queued` until its process starts, then `running`/`paused`, then how it ended). Rewritten
//!   atomically; never appended.
//! - `metrics.csv`: one row per epoch, appended and flushed each epoch.
//! - `steps.csv`: `step,epoch,loss,wall_s`, appended and flushed at most a few times a second.
//! - `live.toml`: the run process's heartbeat ([`LiveState`]), rewritten atomically about once a
//!   second and at each phase change.
//! - `lock`: held (flock) by the run process for its whole life; a viewer that can take it knows
//!   the process is gone, whatever its pid now names.
//! - `control`: commands to the run process ([`ControlCommand`]), one per line, appended by any
//!   viewer (O_APPEND, so two TUIs can both write) and read by the run from its last offset.
//! - `model.safetensors` (+ the optimizer state): the last checkpoint.
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::{EpochRow, RunMeta, RunStatus};

/// The heartbeat file ([`LiveState`] as TOML), rewritten atomically by the run process.
pub const LIVE_FILE: &str = "live.toml";
/// Held with an exclusive `flock` by the run process for its whole life. A viewer tests it with a
/// shared, non-blocking `flock` and lets go at once: if it can take it, the process is gone.
pub const LOCK_FILE: &str = "lock";
/// Commands to the run process, one [`ControlCommand`] per line (`stop`, `pause`, `resume`).
pub const CONTROL_FILE: &str = "control";
/// What the detached run process prints (its stdout and stderr).
pub const OUTPUT_FILE: &str = "output.log";

/// A run's key: its folder name under the runs folder, which is its id. Whoever creates the
/// folder hands it out.
pub type RunKey = String;

/// One training step's loss, as read from `steps.csv`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepRow {
    /// 1-based step number over the whole run.
    pub step: u64,
    pub epoch: u32,
    pub loss: f32,
    /// Seconds of training since the run began (pauses excluded); `None` in older folders.
    pub wall_s: Option<f64>,
}

/// What the run process is doing right now, from `live.toml`: its heartbeat.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LiveState {
    /// `reading`, `decoding`, `training`, `paused`, `checkpointing`, `ended`.
    pub phase: String,
    /// Progress within a loading phase: `done` of `total` bytes or images (0 total: unknown).
    pub done: u64,
    pub total: u64,
    /// The epoch in progress and the last step taken.
    pub epoch: u32,
    pub step: u64,
    /// Milliseconds since the Unix epoch when this was written.
    pub updated_unix_ms: u64,
    pub pid: u32,
    pub host: String,
}

/// A command to a run process, appended to its `control` file by any viewer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ControlCommand {
    /// Stop between batches; the run is kept and marked stopped.
    Stop,
    /// Pause between batches.
    Pause,
    /// Go on after a pause.
    Resume,
}

/// Where an external run (one with no `run.toml`) comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ExternalKind {
    /// `events.out.tfevents.*` files written by TensorBoard's `SummaryWriter` (PyTorch, Lightning).
    TensorBoard,
    /// A Lightning `CSVLogger` folder: `metrics.csv` with `step`/`epoch` columns, `hparams.yaml`.
    LightningCsv,
}

/// One point of a scalar series: a TensorBoard tag or a CSV logger column.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ScalarPoint {
    pub step: i64,
    /// Seconds since the Unix epoch when it was logged (TensorBoard's `wall_time`); NaN if unknown.
    pub wall_time: f64,
    pub value: f64,
    /// The epoch, where the logger records one (Lightning's CSV `epoch` column).
    pub epoch: Option<u32>,
}

/// Everything a follower reports about run folders. Built on the watcher thread, sent to the UI.
#[derive(Debug, Clone, PartialEq)]
pub enum RunEvent {
    /// A run folder was found, or its `run.toml` changed. `status` is the effective status: a
    /// `running` or `paused` run whose process is gone reads `interrupted`.
    Meta { key: RunKey, dir: PathBuf, meta: Box<RunMeta>, status: RunStatus },
    /// Complete rows appended to `metrics.csv` since the last event for this run.
    Epochs { key: RunKey, rows: Vec<EpochRow> },
    /// Complete rows appended to `steps.csv` since the last event for this run.
    Steps { key: RunKey, rows: Vec<StepRow> },
    /// `live.toml` changed.
    Live { key: RunKey, live: LiveState },
    /// The folder can't be read as a run (half-written, corrupt `run.toml`, made by another
    /// version): listed with its problem, never hidden, never modified.
    Problem { key: RunKey, dir: PathBuf, problem: String },
    /// The folder is gone.
    Removed { key: RunKey },
    /// A run found under an extra log folder (`--logdir`, `[runs] extra_dirs`), named by its path
    /// as TensorBoard names it; `hparams` as logged (`add_hparams`, `hparams.yaml`); `problem` when
    /// a file in it can't be read (a file that isn't an event file).
    External {
        key: RunKey,
        dir: PathBuf,
        kind: ExternalKind,
        hparams: Vec<(String, String)>,
        problem: Option<String>,
    },
    /// Points appended to one scalar series of an external run since the last event.
    Scalars { key: RunKey, tag: String, points: Vec<ScalarPoint> },
}

impl ControlCommand {
    /// The line written to the `control` file (without its newline).
    pub fn as_line(&self) -> &'static str {
        match self {
            ControlCommand::Stop => "stop",
            ControlCommand::Pause => "pause",
            ControlCommand::Resume => "resume",
        }
    }

    /// Read one line of the `control` file; unknown lines (a newer version's commands) are `None`.
    pub fn parse(line: &str) -> Option<ControlCommand> {
        match line.trim() {
            "stop" => Some(ControlCommand::Stop),
            "pause" => Some(ControlCommand::Pause),
            "resume" => Some(ControlCommand::Resume),
            _ => None,
        }
    }
}

impl RunEvent {
    pub fn key(&self) -> &str {
        match self {
            RunEvent::Meta { key, .. }
            | RunEvent::Epochs { key, .. }
            | RunEvent::Steps { key, .. }
            | RunEvent::Live { key, .. }
            | RunEvent::Problem { key, .. }
            | RunEvent::Removed { key }
            | RunEvent::External { key, .. }
            | RunEvent::Scalars { key, .. } => key,
        }
    }
}
