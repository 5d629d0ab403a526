//! The training parameters and the plain figures of a run, shared by config, train and runs.
//!
//! A leaf: it imports nothing of the crate but `device`'s device names (another leaf), so that
//! config (the `[train]` table), train (the engine) and runs (run.toml, metrics.csv) can all use
//! it without importing one another in a circle.
mod fields;
mod kinds;
mod metrics;

pub use fields::{BadFlag, FlagValue, NumberKind, TrainConfig, TrainFlags, TrainSpec};
pub use kinds::{ModelChoice, ModelKind, OptimizerKind};
pub use metrics::{EpochMetrics, MetricKind};
