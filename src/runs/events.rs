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
//! - `telemetry.csv`: the run process's CPU and memory and each GPU's figures, one row a second
//!   (src/telemetry), appended; followed with [`crate::telemetry::TelemetryTail`].
//! - `model.safetensors` (+ the optimizer state): the last checkpoint.
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::{EpochRow, RunMeta, RunStatus};
use crate::telemetry::TelemetryUpdate;

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
    /// Training samples a second over the last few seconds (validation included in the time);
    /// `None` before the first steps, while paused, and in older folders.
    #[serde(default)]
    pub samples_per_s: Option<f64>,
    /// Seconds left at that rate, to the last step of the last epoch; `None` when unknown.
    #[serde(default)]
    pub eta_s: Option<f64>,
}

impl LiveState {
    /// The heartbeat a run process starts with: this process on this host, in `phase`, nothing done yet.
    pub fn starting(phase: &str) -> LiveState {
        LiveState {
            phase: phase.into(),
            done: 0,
            total: 0,
            epoch: 0,
            step: 0,
            updated_unix_ms: 0,
            pid: std::process::id(),
            host: super::host_name(),
            samples_per_s: None,
            eta_s: None,
        }
    }
}

/// A command to a run process, appended to its `control` file by any viewer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ControlCommand {
    /// Checkpoint at the next batch boundary and go on on another device (`move cuda:0`,
    /// `move cpu threads=4`), in the same process and folder; the switch is kept in run.toml's
    /// `device_switches`.
    Move {
        /// `cpu`, `cuda` or `cuda:N`, as `--device` takes it.
        device: String,
        /// CPU threads from then on; `None` keeps the run's setting.
        threads: Option<u32>,
    },
    /// Stop between batches; the run is kept and marked stopped.
    Stop,
    /// Pause between batches.
    Pause,
    /// Go on after a pause.
    Resume,
}

/// Two runs started together as one race (`workbench race`, the TUI's `c`): same experiment,
/// same seed, two devices. Kept in run.toml as `[race]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RaceMark {
    /// The race's id, shared by both runs (the first run's id).
    pub id: String,
    /// `cpu` (the baseline) or `challenger` (the GPU, or the CPU with other threads).
    pub side: String,
}

/// A move of a run from one device to another, kept in run.toml's `device_switches`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeviceSwitch {
    /// The epoch in progress and the steps taken when it moved.
    pub epoch: u32,
    pub step: u64,
    /// Seconds of training by then (the x of the chart's time axis).
    pub wall_s: f64,
    /// `cpu`, `cuda:0`, with ` threads=N` for a CPU.
    pub from: String,
    pub to: String,
    /// When, RFC 3339.
    pub at: String,
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
    /// Complete rows appended to the run's `telemetry.csv` since the last event (the whole file on
    /// the first poll); `update.restarted` when the file was rewritten and the rows held before
    /// are to be dropped.
    Telemetry { key: RunKey, update: TelemetryUpdate },
}

impl ControlCommand {
    /// The line written to the `control` file (without its newline).
    pub fn as_line(&self) -> String {
        match self {
            ControlCommand::Move { device, threads: Some(n) } => format!("move {device} threads={n}"),
            ControlCommand::Move { device, threads: None } => format!("move {device}"),
            other => other.verb().to_string(),
        }
    }

    /// The command's first word: `stop`, `pause`, `resume`, `move`.
    pub fn verb(&self) -> &'static str {
        match self {
            ControlCommand::Stop => "stop",
            ControlCommand::Pause => "pause",
            ControlCommand::Resume => "resume",
            ControlCommand::Move { .. } => "move",
        }
    }

    /// Read one line of the `control` file; unknown lines (a newer version's commands) are `None`.
    pub fn parse(line: &str) -> Option<ControlCommand> {
        match line.trim() {
            "stop" => Some(ControlCommand::Stop),
            "pause" => Some(ControlCommand::Pause),
            "resume" => Some(ControlCommand::Resume),
            other => {
                let mut words = other.split_whitespace();
                if words.next() != Some("move") {
                    return None;
                }
                let device = words.next()?.to_string();
                let threads = match words.next() {
                    None => None,
                    Some(w) => Some(w.strip_prefix("threads=")?.parse().ok()?),
                };
                words.next().is_none().then_some(ControlCommand::Move { device, threads })
            }
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
            | RunEvent::Scalars { key, .. }
            | RunEvent::Telemetry { key, .. } => key,
        }
    }
}
