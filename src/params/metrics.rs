//! The figures of one finished epoch, as the worker reports them and run folders keep them.
use serde::Serialize;

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
