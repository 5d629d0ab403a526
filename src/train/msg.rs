//! Plain-data messages from the training worker. No tensors cross threads.
use std::path::PathBuf;

use serde::Serialize;

use crate::data::StagePhase;
pub use crate::params::{EpochMetrics, MetricKind};

/// Identifies one run within this process; messages from a replaced run are ignored by id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct RunId(pub u64);

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
