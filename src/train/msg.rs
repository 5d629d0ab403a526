//! Plain-data messages from the training worker. No tensors cross threads.
use std::path::PathBuf;

use serde::Serialize;

use crate::data::StagePhase;

/// Identifies one run within this process; messages from a replaced run are ignored by id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct RunId(pub u64);

/// What the validation metric measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum MetricKind {
    /// Fraction of validation samples classified correctly (higher is better).
    Accuracy,
    /// Mean squared error on the validation samples (lower is better).
    Mse,
}

impl MetricKind {
    /// `val_acc` or `val_mse`, as printed.
    pub fn short(&self) -> &'static str {
        match self {
            MetricKind::Accuracy => "val_acc",
            MetricKind::Mse => "val_mse",
        }
    }

    pub fn label(&self) -> &'static str {
        match self {
            MetricKind::Accuracy => "validation accuracy",
            MetricKind::Mse => "validation MSE",
        }
    }
}

/// The figures for one finished epoch.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EpochMetrics {
    /// 1-based epoch number.
    pub epoch: u32,
    pub epochs: u32,
    /// Steps taken so far in the run.
    pub global_step: u64,
    /// Mean training loss over the epoch's samples.
    pub train_loss: f64,
    /// `None` when there is no validation split.
    pub val_loss: Option<f64>,
    pub val_metric: Option<f64>,
    pub metric: MetricKind,
    /// Training samples per second in this epoch (pauses excluded).
    pub samples_per_s: f64,
    /// Seconds of training since the run began (pauses excluded).
    pub elapsed_s: f64,
}

/// Why a run ended before its last epoch, when it was asked to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum StopReason {
    /// The user pressed stop (or restarted the run elsewhere).
    User,
    /// The program is exiting (quit, SIGTERM, SIGHUP, Ctrl-C) or the listener went away.
    Interrupted,
}

/// Everything the worker tells the rest of the program.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum TrainMsg {
    /// The dataset is being loaded or staged: `done` of `total` bytes read or images decoded
    /// (total 0 while unknown).
    Loading { run: RunId, phase: StagePhase, done: u64, total: u64 },
    /// The run folder exists and training begins.
    Started {
        run: RunId,
        run_dir: PathBuf,
        device_label: String,
        epochs: u32,
        steps_per_epoch: u64,
        train_samples: u64,
        val_samples: u64,
        /// How the data sits: all on the device, or streamed from host memory.
        placement: String,
    },
    /// Per-step training losses since the last such message (sent at most ~20 times a second).
    Steps { run: RunId, epoch: u32, first_step: u64, losses: Vec<f32> },
    /// An epoch finished.
    Epoch { run: RunId, metrics: EpochMetrics },
    /// The run is paused between batches.
    Paused { run: RunId },
    /// The run goes on after a pause.
    Resumed { run: RunId },
    /// Every epoch ran. `run_dir` holds the checkpoint.
    Finished { run: RunId, run_dir: PathBuf, last: Option<EpochMetrics> },
    /// The run could not go on; `error` says why and what to do.
    Failed {
        run: RunId,
        run_dir: Option<PathBuf>,
        error: String,
        /// What kind of failure, as kept in run.toml.
        kind: crate::runs::FailureKind,
    },
    /// The run was stopped before its end; its files are kept.
    Stopped { run: RunId, run_dir: Option<PathBuf>, reason: StopReason, last: Option<EpochMetrics> },
}

impl TrainMsg {
    pub fn run(&self) -> RunId {
        match self {
            TrainMsg::Loading { run, .. }
            | TrainMsg::Started { run, .. }
            | TrainMsg::Steps { run, .. }
            | TrainMsg::Epoch { run, .. }
            | TrainMsg::Paused { run }
            | TrainMsg::Resumed { run }
            | TrainMsg::Finished { run, .. }
            | TrainMsg::Failed { run, .. }
            | TrainMsg::Stopped { run, .. } => *run,
        }
    }

    /// Whether this is the last message of its run.
    pub fn is_final(&self) -> bool {
        matches!(self, TrainMsg::Finished { .. } | TrainMsg::Failed { .. } | TrainMsg::Stopped { .. })
    }
}
