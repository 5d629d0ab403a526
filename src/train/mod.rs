//! Training: models, the training loop, the background worker and the messages it sends.
//!
//! The worker thread owns the `VarStore`, the model, the optimizer and every tensor; it sends only
//! plain data ([`TrainMsg`]) out. See `worker.rs` for the thread and `engine.rs` for the loop.
pub mod checkpoint;
pub mod control;
pub mod dense_step;
pub mod engine;
mod error;
pub mod memory;
pub mod models;
pub mod msg;
pub mod optim;
pub mod plan;
pub mod prepare;
pub mod process;
pub mod race;
pub mod resume;
pub mod rng;
pub mod script_net;
pub mod stack_net;
pub mod user_model;
pub mod worker;

use crate::data::{DatasetSummary, Task};

pub use crate::params::{
    EpochMetrics, FlagValue, MetricKind, ModelChoice, ModelKind, OptimizerKind, TrainConfig, TrainFlags,
    TrainSpec,
};
pub use control::RunControl;
pub use error::{is_out_of_memory, TrainError};
pub use msg::{RunId, StopReason, TrainMsg};
pub use plan::{plan, RunPlan};
pub use process::{create_queued_run, spawn_detached, Launcher};
pub use worker::{spawn_run, spawn_run_in, RunFolder, RunHandle, RunRequest};

/// Why a model can't learn a dataset, and what to use instead.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Unfit(pub String);

impl ModelChoice {
    /// Whether the model can learn this dataset. A user model passes here: its layers are
    /// checked against the sample shape when the run is planned (see `plan`).
    pub fn check_fits(&self, summary: &DatasetSummary) -> Result<(), Unfit> {
        match self {
            ModelChoice::Builtin(kind) => kind.check_fits(summary),
            ModelChoice::Custom(_) => Ok(()),
        }
    }
}

impl ModelKind {
    /// Whether the model can learn this dataset; the error says why not and what to use.
    pub fn check_fits(&self, summary: &DatasetSummary) -> Result<(), Unfit> {
        self.unfit_reason(summary).map_err(Unfit)
    }

    fn unfit_reason(&self, summary: &DatasetSummary) -> Result<(), String> {
        let is_image = summary.sample_shape.len() == 3;
        match (self, &summary.task) {
            (ModelKind::Adaline | ModelKind::AdalineAutograd, Task::Classification { classes }) => {
                if classes.len() == 2 {
                    Ok(())
                } else {
                    Err(format!(
                        "{} needs exactly 2 classes, but the dataset has {} ({}); keep two with \
                         `classes = [..]` under [datasets.NAME] in config.toml (the shipped config has \
                         iris-binary), or use logreg or mlp",
                        self.name(),
                        classes.len(),
                        classes.join(", ")
                    ))
                }
            }
            (ModelKind::Adaline | ModelKind::AdalineAutograd | ModelKind::Logreg, Task::Regression) => {
                Err(format!(
                "{} is a classifier, but the dataset's target {:?} is a regression target; use linreg or mlp",
                self.name(),
                summary.target
            ))
            }
            (ModelKind::Linreg, Task::Classification { .. }) => Err(format!(
                "linreg predicts numbers, but the dataset's target {:?} holds classes; use logreg or mlp",
                summary.target
            )),
            (ModelKind::Lenet5, _) if !is_image => {
                Err("lenet5 is a CNN for images, but this dataset is a table; use logreg or mlp".to_string())
            }
            (ModelKind::Lenet5, Task::Regression) => {
                Err("lenet5 classifies images; this target is numeric".into())
            }
            (ModelKind::Lenet5, _) if summary.sample_shape[1] < 12 || summary.sample_shape[2] < 12 => {
                Err(lenet5_too_small(summary.sample_shape[2] as i64, summary.sample_shape[1] as i64))
            }
            _ => Ok(()),
        }
    }
}

/// lenet5's two poolings need at least 12×12 pixels; the message names the setting that resizes.
pub(crate) fn lenet5_too_small(width: i64, height: i64) -> String {
    format!(
        "lenet5 needs images of at least 12×12 pixels, got {width}×{height}; resize them as they are read with \
         `resize = [28, 28]` under [images] in config.toml (staged image datasets are staged again at that size), \
         or use mlp or logreg"
    )
}
