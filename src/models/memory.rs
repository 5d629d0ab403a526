//! The memory a training step needs, estimated from a model's layers: one estimate for the model
//! form's summary, `workbench models`, and the "Will it fit?" check before a run (train::memory),
//! which adds the device's free memory. Plain data, no tch.
//!
//! The estimate is fed a list of [`LayerShape`]s (parameter count and one sample's output shape per
//! layer), so any model that can describe its layers can be estimated. Figures are in bytes,
//! float32 values. What is counted, and why:
//! - parameters, and as many bytes again for their gradients;
//! - the optimizer's state: SGD keeps one momentum buffer per parameter (none with momentum 0),
//!   Adam two moments;
//! - one batch's activations: the input batch and every layer's output are kept for the backward
//!   pass, and the backward pass holds a gradient of the same size for each ([`ACTIVATION_FACTOR`]);
//! - the dataset's tensors, when they are placed on the device (features as float32, targets as
//!   int64 class indices or float32 values).
//!
//! It leaves out the CUDA context (a few hundred MiB, outside PyTorch's allocator too) and the
//! allocator's rounding.
use crate::params::OptimizerKind;

/// Bytes per float32 value.
const F32: u64 = 4;
/// Each activation is held once for the backward pass and once as its gradient during it.
pub const ACTIVATION_FACTOR: u64 = 2;
/// One layer as the estimate sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerShape {
    /// A name for a per-layer summary (`Linear(4, 16)`, `ReLU`).
    pub name: String,
    /// Trainable values it holds.
    pub params: u64,
    /// The shape of one sample's output, without the batch dimension.
    pub output: Vec<i64>,
}

impl LayerShape {
    pub fn new(name: impl Into<String>, params: u64, output: &[i64]) -> LayerShape {
        LayerShape { name: name.into(), params, output: output.to_vec() }
    }

    /// Values in one sample's output.
    pub fn output_elements(&self) -> u64 {
        saturating_product(self.output.iter().map(|&d| d.max(0) as u64))
    }
}

/// What the estimate needs besides the layers.
#[derive(Debug, Clone, PartialEq)]
pub struct MemoryInputs {
    /// One sample's input shape, without the batch dimension.
    pub input: Vec<i64>,
    pub batch_size: u64,
    pub optimizer: OptimizerKind,
    /// SGD's momentum (0: no buffers).
    pub momentum: f64,
    /// The dataset tensors' bytes when they are placed on the device; 0 when they stay on the CPU.
    pub data_on_device: u64,
}

/// The estimate, part by part, in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MemoryEstimate {
    pub params: u64,
    pub gradients: u64,
    pub optimizer: u64,
    pub activations: u64,
    pub data: u64,
}

impl MemoryEstimate {
    pub fn total(&self) -> u64 {
        [self.gradients, self.optimizer, self.activations, self.data]
            .into_iter()
            .fold(self.params, u64::saturating_add)
    }

    /// `params 524 B, gradients 524 B, optimizer 1.0 KiB, activations 2.9 KiB, data 0 B`
    pub fn breakdown(&self) -> String {
        use crate::util::format_bytes as b;
        format!(
            "params {}, gradients {}, optimizer {}, activations {}, data {}",
            b(self.params),
            b(self.gradients),
            b(self.optimizer),
            b(self.activations),
            b(self.data)
        )
    }
}

/// Estimate the memory of training `layers` with `inputs`. Sums and products saturate: a model
/// too large to count is estimated as `u64::MAX` bytes, which no device has.
pub fn estimate(layers: &[LayerShape], inputs: &MemoryInputs) -> MemoryEstimate {
    let params = layers.iter().fold(0u64, |sum, l| sum.saturating_add(l.params)).saturating_mul(F32);
    let optimizer = match inputs.optimizer {
        OptimizerKind::Sgd if inputs.momentum == 0.0 => 0,
        OptimizerKind::Sgd => params,
        OptimizerKind::Adam => params.saturating_mul(2),
    };
    let input = saturating_product(inputs.input.iter().map(|&d| d.max(0) as u64));
    let per_sample =
        layers.iter().map(LayerShape::output_elements).fold(input, |sum, n| sum.saturating_add(n));
    MemoryEstimate {
        params,
        gradients: params,
        optimizer,
        activations: saturating_product([per_sample, inputs.batch_size, F32, ACTIVATION_FACTOR]),
        data: inputs.data_on_device,
    }
}

fn saturating_product(values: impl IntoIterator<Item = u64>) -> u64 {
    values.into_iter().fold(1u64, u64::saturating_mul)
}

/// The bytes of a dataset's tensors: `rows` samples of `features` float32 values, and one target
/// each (int64 class indices for classification, float32 values for regression).
pub fn dataset_bytes(rows: u64, features: u64, classification: bool) -> u64 {
    let target = if classification { 8 } else { F32 };
    saturating_product([rows, features, F32]).saturating_add(rows.saturating_mul(target))
}
