//! What the UI knows about the current (or last) run: its state, its curves, its progress.
//! Built only from [`TrainMsg`]s; it never touches the worker.
use std::path::PathBuf;

use super::series::{Ema, Series};
use crate::data::StagePhase;
use crate::train::{EpochMetrics, MetricKind, RunId, StopReason, TrainMsg};

/// Weight of each new step loss in the smoothed curve.
const SMOOTHING: f32 = 0.05;

/// Where a run is in its life.
#[derive(Debug, Clone, PartialEq)]
pub enum RunState {
    /// Asked for; the worker has not reported yet.
    Starting,
    /// Loading or staging data: `done` of `total` bytes or images (total 0 when unknown).
    Loading {
        phase: StagePhase,
        done: u64,
        total: u64,
    },
    Running,
    Paused,
    /// Every epoch ran.
    Finished,
    /// It ended with an error.
    Failed(String),
    /// It was stopped (by the user, or by quitting).
    Stopped(StopReason),
}

impl RunState {
    pub fn is_active(&self) -> bool {
        matches!(self, RunState::Starting | RunState::Loading { .. } | RunState::Running | RunState::Paused)
    }

    pub fn label(&self) -> &'static str {
        match self {
            RunState::Starting => "starting",
            RunState::Loading { .. } => "loading data",
            RunState::Running => "running",
            RunState::Paused => "paused",
            RunState::Finished => "finished",
            RunState::Failed(_) => "failed",
            RunState::Stopped(StopReason::User) => "stopped",
            RunState::Stopped(StopReason::Interrupted) => "interrupted",
        }
    }
}

/// One run as the UI shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct RunView {
    /// Set once the worker is spawned; messages with another id are stale and ignored.
    pub id: Option<RunId>,
    pub state: RunState,
    pub dataset: String,
    pub model: String,
    pub device_label: String,
    pub epochs: u32,
    pub steps_per_epoch: u64,
    pub train_samples: u64,
    pub val_samples: u64,
    pub placement: String,
    pub run_dir: Option<PathBuf>,
    /// Every step's training loss, at x = step index.
    pub step_loss: Series,
    /// The smoothed step loss, same x.
    pub step_loss_smooth: Series,
    ema: Ema,
    /// Per epoch: (epoch, train loss), (epoch, validation loss), (epoch, validation metric).
    pub epoch_train_loss: Vec<(f64, f64)>,
    pub epoch_val_loss: Vec<(f64, f64)>,
    pub epoch_val_metric: Vec<(f64, f64)>,
    pub metric: MetricKind,
    pub last: Option<EpochMetrics>,
    /// Seconds spent loading before training began, for the progress line.
    pub loading_started: Option<std::time::Instant>,
}

impl RunView {
    pub fn new(dataset: &str, model: &str, device_label: &str, epochs: u32, metric: MetricKind) -> RunView {
        RunView {
            id: None,
            state: RunState::Starting,
            dataset: dataset.to_string(),
            model: model.to_string(),
            device_label: device_label.to_string(),
            epochs,
            steps_per_epoch: 0,
            train_samples: 0,
            val_samples: 0,
            placement: String::new(),
            run_dir: None,
            step_loss: Series::new(),
            step_loss_smooth: Series::new(),
            ema: Ema::new(SMOOTHING),
            epoch_train_loss: Vec::new(),
            epoch_val_loss: Vec::new(),
            epoch_val_metric: Vec::new(),
            metric,
            last: None,
            loading_started: None,
        }
    }

    /// Apply a message from this run's worker. Returns false for a message from another run.
    pub fn apply(&mut self, msg: &TrainMsg) -> bool {
        if self.id != Some(msg.run()) {
            return false;
        }
        match msg {
            TrainMsg::Loading { phase, done, total, .. } => {
                // Each phase has its own rate and ETA, so its clock starts with it.
                if !matches!(self.state, RunState::Loading { phase: p, .. } if p == *phase) {
                    self.loading_started = Some(std::time::Instant::now());
                }
                self.state = RunState::Loading { phase: *phase, done: *done, total: *total };
            }
            TrainMsg::Started {
                run_dir,
                device_label,
                epochs,
                steps_per_epoch,
                train_samples,
                val_samples,
                placement,
                ..
            } => {
                self.state = RunState::Running;
                self.run_dir = Some(run_dir.clone());
                self.device_label = device_label.clone();
                self.epochs = *epochs;
                self.steps_per_epoch = *steps_per_epoch;
                self.train_samples = *train_samples;
                self.val_samples = *val_samples;
                self.placement = placement.clone();
            }
            TrainMsg::Steps { losses, .. } => {
                for &l in losses {
                    self.step_loss.push(l);
                    let smooth = self.ema.update(l);
                    self.step_loss_smooth.push(smooth);
                }
            }
            TrainMsg::Epoch { metrics, .. } => {
                let x = metrics.epoch as f64;
                self.epoch_train_loss.push((x, metrics.train_loss));
                if let Some(v) = metrics.val_loss {
                    self.epoch_val_loss.push((x, v));
                }
                if let Some(v) = metrics.val_metric {
                    self.epoch_val_metric.push((x, v));
                }
                self.metric = metrics.metric;
                self.last = Some(metrics.clone());
            }
            TrainMsg::Paused { .. } => self.state = RunState::Paused,
            TrainMsg::Resumed { .. } => self.state = RunState::Running,
            TrainMsg::Finished { run_dir, last, .. } => {
                self.state = RunState::Finished;
                self.run_dir = Some(run_dir.clone());
                if last.is_some() {
                    self.last = last.clone();
                }
            }
            TrainMsg::Failed { error, run_dir, .. } => {
                self.state = RunState::Failed(error.clone());
                if run_dir.is_some() {
                    self.run_dir = run_dir.clone();
                }
            }
            TrainMsg::Stopped { reason, run_dir, .. } => {
                self.state = RunState::Stopped(*reason);
                if run_dir.is_some() {
                    self.run_dir = run_dir.clone();
                }
            }
        }
        true
    }

    /// Epochs completed so far.
    pub fn epochs_done(&self) -> u32 {
        self.last.as_ref().map(|m| m.epoch).unwrap_or(0)
    }

    /// Seconds of training so far and the estimated seconds left, from the epochs done.
    pub fn elapsed_and_eta(&self) -> (f64, Option<f64>) {
        let Some(m) = &self.last else { return (0.0, None) };
        let per_epoch = m.elapsed_s / m.epoch.max(1) as f64;
        let left = self.epochs.saturating_sub(m.epoch) as f64 * per_epoch;
        (m.elapsed_s, self.state.is_active().then_some(left))
    }

    /// Steps are drawn against epochs: step i ends at epoch (i + 1) / steps_per_epoch.
    pub fn step_to_epoch(&self, step: f64) -> f64 {
        (step + 1.0) / self.steps_per_epoch.max(1) as f64
    }
}
