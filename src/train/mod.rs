//! Training: models, the training loop, the background worker and the messages it sends.
//!
//! The worker thread owns the `VarStore`, the model, the optimizer and every tensor; it sends only
//! plain data ([`TrainMsg`]) out. See `worker.rs` for the thread and `engine.rs` for the loop.
pub mod checkpoint;
pub mod control;
pub mod engine;
mod error;
pub mod models;
pub mod msg;
pub mod optim;
pub mod params;
pub mod plan;
pub mod prepare;
pub mod process;
pub mod resume;
pub mod rng;
pub mod worker;

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::data::{DatasetSummary, Task};

pub use control::RunControl;
pub use error::{is_out_of_memory, TrainError};
pub use msg::{EpochMetrics, MetricKind, RunId, StopReason, TrainMsg};
pub use params::{TrainConfig, TrainFlags, TrainSpec};
pub use plan::{plan, RunPlan};
pub use process::{create_queued_run, spawn_detached, Launcher};
pub use worker::{spawn_run, spawn_run_in, RunFolder, RunHandle, RunRequest};

/// The models the workbench can train.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ModelKind {
    /// ADALINE with hand-written gradients: a linear unit trained on MSE, class 1 when output > 0.5.
    Adaline,
    /// The same ADALINE, with gradients from autograd.
    AdalineAutograd,
    /// Logistic (softmax) regression.
    Logreg,
    /// A multi-layer perceptron with ReLU hidden layers.
    Mlp,
    /// Linear regression.
    Linreg,
    /// LeNet-5, a small CNN for images.
    Lenet5,
}

impl ModelKind {
    pub const ALL: [ModelKind; 6] = [
        ModelKind::Adaline,
        ModelKind::AdalineAutograd,
        ModelKind::Logreg,
        ModelKind::Mlp,
        ModelKind::Linreg,
        ModelKind::Lenet5,
    ];

    pub fn name(&self) -> &'static str {
        match self {
            ModelKind::Adaline => "adaline",
            ModelKind::AdalineAutograd => "adaline-autograd",
            ModelKind::Logreg => "logreg",
            ModelKind::Mlp => "mlp",
            ModelKind::Linreg => "linreg",
            ModelKind::Lenet5 => "lenet5",
        }
    }

    /// One line on what the model is and what it fits.
    pub fn describe(&self) -> &'static str {
        match self {
            ModelKind::Adaline => "linear unit, MSE, hand-written gradients; two classes",
            ModelKind::AdalineAutograd => "the same ADALINE with autograd; two classes",
            ModelKind::Logreg => "logistic / softmax regression; classification",
            ModelKind::Mlp => "multi-layer perceptron (ReLU); classification or regression",
            ModelKind::Linreg => "linear regression; regression",
            ModelKind::Lenet5 => "LeNet-5 CNN; image classification",
        }
    }

    /// Whether the model can learn this dataset; the error says why not and what to use.
    pub fn check_fits(&self, summary: &DatasetSummary) -> Result<(), String> {
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
            _ => Ok(()),
        }
    }
}

impl fmt::Display for ModelKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for ModelKind {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ModelKind::ALL.iter().copied().find(|m| m.name() == s.trim()).ok_or_else(|| {
            let names: Vec<&str> = ModelKind::ALL.iter().map(|m| m.name()).collect();
            format!("{s:?} is not a model; choose one of {}", names.join(", "))
        })
    }
}

/// How parameters are updated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OptimizerKind {
    /// Stochastic gradient descent with momentum.
    Sgd,
    Adam,
}

impl fmt::Display for OptimizerKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            OptimizerKind::Sgd => "sgd",
            OptimizerKind::Adam => "adam",
        })
    }
}

impl FromStr for OptimizerKind {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "sgd" => Ok(OptimizerKind::Sgd),
            "adam" => Ok(OptimizerKind::Adam),
            _ => Err(format!("{s:?} is not an optimizer; choose sgd or adam")),
        }
    }
}
