//! Will it fit: the estimate of a run's device memory (crate::models::memory, the same one the
//! model form shows) for a planned run, against the memory free on its device. The built-in
//! models describe their layers with [`builtin_layers`]; a layer stack with its summary.
pub use crate::models::memory::{
    dataset_bytes, estimate, LayerShape, MemoryEstimate, MemoryInputs, ACTIVATION_FACTOR,
};
use crate::params::ModelKind;
#[cfg(test)]
use crate::params::OptimizerKind;

/// The share of free memory an estimate may take and still count as fitting: the rest is left
/// for what the estimate does not count (allocator rounding, workspace of convolutions).
pub const FIT_MARGIN: f64 = 0.9;

/// Why a built-in model can't be described for this input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot estimate {model}'s memory for samples of shape {shape:?}: {why}")]
pub struct ShapeError {
    /// The model's name.
    pub model: String,
    /// The sample shape given.
    pub shape: Vec<i64>,
    /// What is wrong with it.
    pub why: String,
}

/// The layers of a built-in model, as `train::models::build` makes them, for samples of
/// `sample_shape` and `outputs` outputs.
pub fn builtin_layers(
    kind: ModelKind,
    hidden: &[u32],
    sample_shape: &[i64],
    outputs: i64,
) -> Result<Vec<LayerShape>, ShapeError> {
    let inputs: i64 = sample_shape.iter().product();
    let linear = |i: i64, o: i64| LayerShape::new(format!("Linear({i}, {o})"), (i * o + o) as u64, &[o]);
    Ok(match kind {
        ModelKind::Adaline | ModelKind::AdalineAutograd => {
            vec![LayerShape::new(format!("Linear({inputs}, 1)"), (inputs + 1) as u64, &[1])]
        }
        ModelKind::Logreg | ModelKind::Linreg => vec![linear(inputs, outputs)],
        ModelKind::Mlp => {
            let mut layers = Vec::new();
            let mut width = inputs;
            for &h in hidden {
                layers.push(linear(width, h as i64));
                layers.push(LayerShape::new("ReLU", 0, &[h as i64]));
                width = h as i64;
            }
            layers.push(linear(width, outputs));
            layers
        }
        ModelKind::Lenet5 => {
            let [c, h, w] = *sample_shape else {
                return Err(ShapeError {
                    model: kind.name().into(),
                    shape: sample_shape.to_vec(),
                    why: "lenet5 needs images (channels × height × width)".into(),
                });
            };
            let (h2, w2) = (h / 2 - 4, w / 2 - 4);
            let (h3, w3) = (h2 / 2, w2 / 2);
            if h3 < 1 || w3 < 1 {
                return Err(ShapeError {
                    model: kind.name().into(),
                    shape: sample_shape.to_vec(),
                    why: "lenet5 needs images of at least 12×12 pixels".into(),
                });
            }
            let flat = 16 * h3 * w3;
            vec![
                LayerShape::new(format!("Conv2d({c}, 6, 5, padding=2)"), (6 * c * 25 + 6) as u64, &[6, h, w]),
                LayerShape::new("ReLU", 0, &[6, h, w]),
                LayerShape::new("MaxPool2d(2)", 0, &[6, h / 2, w / 2]),
                LayerShape::new("Conv2d(6, 16, 5)", (16 * 6 * 25 + 16) as u64, &[16, h2, w2]),
                LayerShape::new("ReLU", 0, &[16, h2, w2]),
                LayerShape::new("MaxPool2d(2)", 0, &[16, h3, w3]),
                linear(flat, 120),
                LayerShape::new("ReLU", 0, &[120]),
                linear(120, 84),
                LayerShape::new("ReLU", 0, &[84]),
                linear(84, outputs),
            ]
        }
    })
}

/// The estimate held against a device's free memory.
#[derive(Debug, Clone, PartialEq)]
pub struct Fit {
    pub estimate: MemoryEstimate,
    /// Free memory on the device, when it can be read.
    pub free: Option<u64>,
    /// The device, as the user names it (`cpu`, `cuda:0`).
    pub device: String,
}

impl Fit {
    /// False only when the free memory is known and the estimate takes more than
    /// [`FIT_MARGIN`] of it.
    pub fn fits(&self) -> bool {
        self.free.is_none_or(|free| self.estimate.total() as f64 <= free as f64 * FIT_MARGIN)
    }

    /// `needs about 1.2 GiB of 80 GiB free on cuda:0`, for the form and the CLI.
    pub fn summary(&self) -> String {
        use crate::util::format_bytes as b;
        match self.free {
            Some(free) => {
                format!("needs about {} of {} free on {}", b(self.estimate.total()), b(free), self.device)
            }
            None => {
                format!("needs about {} on {} (free memory unknown)", b(self.estimate.total()), self.device)
            }
        }
    }

    /// The warning when it won't fit, with what to lower; `None` when it fits.
    pub fn warning(&self) -> Option<String> {
        if self.fits() {
            return None;
        }
        Some(format!(
            "this run may not fit: it {} ({}). Lower the batch size or the hidden sizes, or keep the data \
             on the CPU",
            self.summary(),
            self.estimate.breakdown()
        ))
    }
}

/// Free memory on `device` (`cpu`, `cuda`, `cuda:N`): for the CPU the system's available memory
/// (/proc/meminfo's MemAvailable), for a GPU what NVML reports free; `None` when it can't be read.
pub fn free_memory(device: &str) -> Option<u64> {
    if device == "cpu" {
        return cpu_available();
    }
    let index: u32 = device.strip_prefix("cuda").map(|r| r.trim_start_matches(':')).and_then(|r| {
        if r.is_empty() {
            Some(0)
        } else {
            r.parse().ok()
        }
    })?;
    let probe = crate::telemetry::GpuProbe::open().ok()?;
    let gpu = probe.sample().into_iter().find(|g| g.index == index)?;
    Some(gpu.mem_total_bytes.saturating_sub(gpu.mem_used_bytes))
}

/// The estimate of a planned run (a built-in model on its dataset) against its device's free
/// memory; `None` when the dataset has no summary or the model can't take its shape. The data
/// counts as on the device when it fits the plan's data budget, as `prepare` decides.
pub fn plan_fit(plan: &super::RunRequest) -> Option<Fit> {
    let summary = plan.entry.summary.as_ref().ok()?;
    let shape: Vec<i64> = summary.sample_shape.iter().map(|&d| d as i64).collect();
    let classification = matches!(summary.task, crate::data::Task::Classification { .. });
    let outputs = match (plan.spec.model.builtin(), &summary.task) {
        (Some(ModelKind::Adaline | ModelKind::AdalineAutograd), _) | (_, crate::data::Task::Regression) => 1,
        (_, task) => task.num_classes() as i64,
    };
    let layers = match plan.spec.model.builtin() {
        Some(kind) => builtin_layers(kind, &plan.spec.hidden, &shape, outputs).ok()?,
        // A layer stack: its own summary; a TorchScript module's layers are unknown (no estimate).
        None if super::script_net::script_path(&plan.spec.layers).is_none() => {
            crate::models::ModelSummary::of(&plan.spec.layers, &shape, outputs).ok()?.layer_shapes()
        }
        None => return None,
    };
    let data = dataset_bytes(summary.rows as u64, summary.features as u64, classification);
    let on_device = plan.device.name != "cpu" && plan.device_budget.is_none_or(|budget| data <= budget);
    let inputs = MemoryInputs {
        input: shape,
        batch_size: plan.spec.batch_size as u64,
        optimizer: plan.spec.optimizer,
        momentum: plan.spec.momentum,
        data_on_device: if on_device { data } else { 0 },
    };
    Some(Fit {
        estimate: estimate(&layers, &inputs),
        free: free_memory(&plan.device.name),
        device: plan.device.name.clone(),
    })
}

fn cpu_available() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inputs(input: &[i64], batch: u64, optimizer: OptimizerKind, momentum: f64) -> MemoryInputs {
        MemoryInputs { input: input.to_vec(), batch_size: batch, optimizer, momentum, data_on_device: 0 }
    }

    #[test]
    fn mlp_4_16_3_by_hand() {
        let layers = builtin_layers(ModelKind::Mlp, &[16], &[4], 3).unwrap();
        // Linear(4,16): 64 + 16 = 80; Linear(16,3): 48 + 3 = 51; 131 values, 524 bytes.
        assert_eq!(layers.iter().map(|l| l.params).sum::<u64>(), 131);
        let e = estimate(&layers, &inputs(&[4], 16, OptimizerKind::Adam, 0.9));
        assert_eq!(e.params, 524);
        assert_eq!(e.gradients, 524);
        assert_eq!(e.optimizer, 1048, "Adam keeps two moments");
        // Per sample: input 4 + Linear 16 + ReLU 16 + Linear 3 = 39 values; ×16 ×4 B ×2.
        assert_eq!(e.activations, 39 * 16 * 4 * 2);
        assert_eq!(e.total(), 524 + 524 + 1048 + 4992);
        let sgd = estimate(&layers, &inputs(&[4], 16, OptimizerKind::Sgd, 0.9));
        assert_eq!(sgd.optimizer, 524, "one momentum buffer");
        assert_eq!(estimate(&layers, &inputs(&[4], 16, OptimizerKind::Sgd, 0.0)).optimizer, 0);
    }

    #[test]
    fn lenet5_on_28x28_by_hand() {
        let layers = builtin_layers(ModelKind::Lenet5, &[], &[1, 28, 28], 10).unwrap();
        // conv1 6·1·25+6 = 156, conv2 16·6·25+16 = 2,416, fc 400·120+120 = 48,120,
        // 120·84+84 = 10,164, 84·10+10 = 850: 61,706 values.
        assert_eq!(layers.iter().map(|l| l.params).sum::<u64>(), 61_706);
        let e = estimate(&layers, &inputs(&[1, 28, 28], 256, OptimizerKind::Sgd, 0.9));
        assert_eq!(e.params, 61_706 * 4);
        assert_eq!(e.optimizer, 61_706 * 4);
        // Per sample: input 784; conv1 4,704, ReLU 4,704, pool 1,176; conv2 1,600, ReLU 1,600,
        // pool 400; fc 120 + 120, 84 + 84, 10: 15,386 values.
        assert_eq!(e.activations, 15_386 * 256 * 4 * 2);
        // 60,000 images on the device: 60,000·784·4 + 60,000·8 bytes.
        assert_eq!(dataset_bytes(60_000, 784, true), 188_160_000 + 480_000);
    }

    #[test]
    fn lenet5_refuses_shapes_it_cannot_take() {
        assert!(builtin_layers(ModelKind::Lenet5, &[], &[4], 3).is_err());
        assert!(builtin_layers(ModelKind::Lenet5, &[], &[1, 8, 8], 3).is_err());
    }

    #[test]
    fn a_fit_warns_only_past_the_margin_and_names_what_to_lower() {
        let estimate = MemoryEstimate { params: 900, ..Default::default() };
        let fit = Fit { estimate, free: Some(1000), device: "cuda:0".into() };
        assert!(fit.fits() && fit.warning().is_none());
        let tight = Fit { free: Some(999), ..fit.clone() };
        let warning = tight.warning().unwrap();
        assert!(warning.contains("batch size") && warning.contains("cuda:0"), "{warning}");
        assert!(Fit { free: None, ..tight }.fits(), "unknown free memory is no reason to warn");
    }

    #[test]
    fn the_cpu_has_some_available_memory_and_a_missing_gpu_has_none_or_some() {
        assert!(free_memory("cpu").is_some_and(|b| b > 0));
        assert_eq!(free_memory("tpu"), None);
    }
}
