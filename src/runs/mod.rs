//! Run folders on disk: `run.toml` (what ran and how it ended), `metrics.csv` (one row per epoch,
//! flushed every epoch), `steps.csv` (per-step training loss) and `model.safetensors` (the final
//! checkpoint).
//!
//! A process killed mid-run loses at most the epoch in progress; its `run.toml` still says
//! `running`, and listing shows such a run as interrupted once its process is gone.
pub mod control;
pub mod error;
pub mod events;
pub mod export;
pub mod external;
pub mod filesystem;
pub mod follow;
pub mod labels;
pub mod liveness;
pub mod palette;
mod record;
mod recorder;
mod resolve;

use serde::{Deserialize, Serialize};

use crate::params::{EpochMetrics, MetricKind, TrainSpec};

pub use control::{send_control, ControlInbox};
pub use error::{RowError, RunsError};
pub use events::{ControlCommand, DeviceSwitch, LiveState, RaceMark, RunEvent, RunKey, StepRow};
pub use follow::{spawn_watcher, spawn_watcher_reporting, RunsFollower, WatcherHandle};
pub use liveness::{pid_alive, RunLock};
pub use palette::run_colour;
pub use record::{
    folder_id, list_runs, load_run, looks_like_run, read_meta, read_metrics, read_steps, EpochRow, RunInfo,
    RunRecord,
};
pub use recorder::{folder_name, write_final_meta, write_run_meta, RunRecorder, RESERVE_FILE};
pub use resolve::resolve_run;

pub const RUN_FILE: &str = "run.toml";
pub const METRICS_FILE: &str = "metrics.csv";
pub const STEPS_FILE: &str = "steps.csv";
pub const CHECKPOINT_FILE: &str = "model.safetensors";
/// The rest of the last checkpoint: the optimizer's state (SGD momentum buffers, Adam's moments
/// and step count) and where the run was (epoch, step, training seconds), for `--resume`.
pub const TRAIN_STATE_FILE: &str = "train_state.safetensors";
/// `steps.csv`'s header.
pub const STEPS_HEADER: &str = "step,epoch,loss,wall_s";
pub const METRICS_HEADER: &str = "epoch,train_loss,val_loss,val_metric,samples_per_s,elapsed_s,step";

/// How a run ended (or that it has not yet).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RunStatus {
    /// The folder exists (made by a viewer or at a scheduler's submission); its process has not
    /// started yet.
    Queued,
    /// Still going, or killed before it could say otherwise.
    Running,
    /// Waiting between batches until it is resumed.
    Paused,
    /// Every epoch ran.
    Finished,
    /// An error ended it; `reason` says which.
    Failed,
    /// The user stopped it.
    Stopped,
    /// The program exited during the run (quit, Ctrl-C, SIGTERM, SIGHUP, or killed).
    Interrupted,
}

impl RunStatus {
    pub fn as_str(&self) -> &'static str {
        match self {
            RunStatus::Queued => "queued",
            RunStatus::Running => "running",
            RunStatus::Paused => "paused",
            RunStatus::Finished => "finished",
            RunStatus::Failed => "failed",
            RunStatus::Stopped => "stopped",
            RunStatus::Interrupted => "interrupted",
        }
    }
}

/// What kind of failure ended a failed run, kept in run.toml as `failure_kind` beside `reason`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureKind {
    /// The loss became NaN or infinite (too high a learning rate, unscaled features).
    Diverged,
    /// The device ran out of memory.
    OutOfMemory,
    /// The dataset could not be read or used, or changed.
    Dataset,
    /// The device was unavailable or failed.
    Device,
    /// The run folder could not be written (full disk, read-only folder).
    Disk,
    /// A training parameter was out of range, or the model does not fit the dataset.
    Settings,
    /// Anything else (a libtorch error, a bug).
    Internal,
}

impl FailureKind {
    /// As written in run.toml: `diverged`, `out_of_memory`, ...
    pub fn as_str(&self) -> &'static str {
        match self {
            FailureKind::Diverged => "diverged",
            FailureKind::OutOfMemory => "out_of_memory",
            FailureKind::Dataset => "dataset",
            FailureKind::Device => "device",
            FailureKind::Disk => "disk",
            FailureKind::Settings => "settings",
            FailureKind::Internal => "internal",
        }
    }
}

/// What the dataset was when the run started, so `--resume` can refuse a dataset that changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DatasetFingerprint {
    /// Bytes of the file, or of every file under the folder.
    pub bytes: u64,
    /// The newest modification time, in milliseconds since the Unix epoch.
    pub modified_unix_ms: u64,
    /// XXH3-128 of the content (of each file's relative path and content, in name order, for a
    /// folder), in hex.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub xxh3: String,
    /// SHA-256 of the same, which runs of earlier versions recorded instead (a resume of such a
    /// run checks it the same way).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub sha256: String,
}

/// Versions of what produced the run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Versions {
    pub workbench: String,
    pub tch: String,
    pub libtorch: String,
    /// The libtorch_cpu.so that was loaded.
    pub libtorch_path: String,
}

impl Versions {
    pub fn current() -> Versions {
        Versions {
            workbench: env!("CARGO_PKG_VERSION").to_string(),
            tch: "0.24".to_string(),
            libtorch: option_env!("WORKBENCH_LIBTORCH_BUILD_VERSION").unwrap_or("unknown").to_string(),
            libtorch_path: crate::device::cuda_loader::loaded_library_path("libtorch_cpu.so")
                .map(|p| p.display().to_string())
                .unwrap_or_default(),
        }
    }
}

/// What the model was trained on: enough to rebuild it and feed it new data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct DataInfo {
    pub source: String,
    pub task: String,
    #[serde(default)]
    pub classes: Vec<String>,
    pub target: String,
    #[serde(default)]
    pub features: Vec<String>,
    pub sample_shape: Vec<i64>,
    pub train_samples: u64,
    pub val_samples: u64,
    /// Standardisation statistics from the training part (empty when off).
    #[serde(default)]
    pub mean: Vec<f32>,
    #[serde(default)]
    pub std: Vec<f32>,
    pub placement: String,
    /// The dataset as it was at the start; absent in older folders.
    #[serde(default)]
    pub fingerprint: Option<DatasetFingerprint>,
}

/// The last epoch's figures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FinalMetrics {
    pub epoch: u32,
    pub train_loss: f64,
    pub val_loss: Option<f64>,
    pub val_metric: Option<f64>,
    /// `accuracy` or `mse`.
    pub metric: String,
    pub elapsed_s: f64,
}

impl FinalMetrics {
    pub fn from_epoch(m: &EpochMetrics) -> FinalMetrics {
        FinalMetrics {
            epoch: m.epoch,
            train_loss: m.train_loss,
            val_loss: m.val_loss,
            val_metric: m.val_metric,
            metric: metric_name(m.metric).into(),
            elapsed_s: m.elapsed_s,
        }
    }
}

pub fn metric_name(m: MetricKind) -> &'static str {
    match m {
        MetricKind::Accuracy => "accuracy",
        MetricKind::Mse => "mse",
    }
}

/// Everything in `run.toml`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunMeta {
    pub id: String,
    pub status: RunStatus,
    pub reason: Option<String>,
    /// For a failed run, what kind of failure (see [`FailureKind`]).
    #[serde(default)]
    pub failure_kind: Option<FailureKind>,
    pub dataset: String,
    pub model: String,
    /// The device used (`cpu`, `cuda:0`) and its full name.
    pub device: String,
    pub device_label: String,
    pub started_at: String,
    pub finished_at: Option<String>,
    pub epochs_completed: u32,
    pub pid: u32,
    pub host: String,
    pub checkpoint: Option<String>,
    /// The epoch the checkpoint was written after (what `--resume` continues from).
    #[serde(default)]
    pub checkpoint_epoch: Option<u32>,
    pub hyperparameters: TrainSpec,
    pub data: DataInfo,
    pub versions: Versions,
    #[serde(rename = "final")]
    pub final_metrics: Option<FinalMetrics>,
    /// The race this run is one side of; absent for ordinary runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub race: Option<RaceMark>,
    /// Each move to another device during the run, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub device_switches: Vec<DeviceSwitch>,
    /// What made the run: `train` (absent in older folders) or `command`.
    #[serde(default)]
    pub kind: crate::command::RunKind,
    /// A command run's `[command]` table: what ran, where, and how it ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<crate::command::CommandInfo>,
    /// The most GPU memory the run's GPU had in use while it ran (MiB), from `telemetry.csv`;
    /// written when the run ends, read by the queue to size runs like it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peak_gpu_mem_mb: Option<u64>,
    /// A queued run's `[queue]` table: the device asked for, the memory it needs, its priority.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue: Option<crate::queue::QueueTable>,
    /// The sweep this run is a cell of (`workbench sweep`), and the cell's values.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sweep: Option<String>,
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub sweep_cell: std::collections::BTreeMap<String, String>,
}

pub use crate::util::now_rfc3339;

impl RunMeta {
    /// A run about to get its folder: `queued`, started now on this host, nothing done yet. The
    /// folder's maker fills in the id.
    pub fn queued(
        kind: crate::command::RunKind,
        dataset: String,
        model: String,
        device: String,
        device_label: String,
        hyperparameters: TrainSpec,
    ) -> RunMeta {
        RunMeta {
            id: String::new(),
            status: RunStatus::Queued,
            reason: None,
            failure_kind: None,
            dataset,
            model,
            device,
            device_label,
            started_at: now_rfc3339(),
            finished_at: None,
            epochs_completed: 0,
            pid: 0,
            host: host_name(),
            checkpoint: None,
            checkpoint_epoch: None,
            hyperparameters,
            data: DataInfo::default(),
            versions: Versions::current(),
            final_metrics: None,
            race: None,
            device_switches: Vec::new(),
            kind,
            command: None,
            peak_gpu_mem_mb: None,
            queue: None,
            sweep: None,
            sweep_cell: Default::default(),
        }
    }
}

pub fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname").map(|s| s.trim().to_string()).unwrap_or_default()
}
