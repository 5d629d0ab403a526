//! A stack checked against a sample shape: each layer's output shape and parameter count, and
//! the memory a training step needs. Plain data, no tch: the form, `workbench models` and the
//! GPU memory estimate all read it.
use super::layers::{parse_stack, Dims, Entry, Layer, LayerError};
use super::memory::{estimate, LayerShape, MemoryEstimate, MemoryInputs};
use crate::params::OptimizerKind;

/// One row of a model summary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerSummary {
    /// The layer as written (indented inside residual blocks; `]` closes a block).
    pub name: String,
    /// Output shape of one sample (no batch dimension).
    pub output_shape: Vec<i64>,
    /// Trainable parameters of this layer.
    pub params: i64,
}

/// A whole stack, layer by layer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelSummary {
    /// The sample shape the stack was checked against.
    pub input_shape: Vec<i64>,
    /// One row per entry of the stack.
    pub layers: Vec<LayerSummary>,
    /// Sum of the layers' parameters.
    pub total_params: i64,
}

impl ModelSummary {
    /// Parse `lines` and check them against samples of `sample_shape`; a bare last `linear` gets
    /// `outputs` units. Errors name the layer (index and text) and the shapes.
    pub fn of(lines: &[String], sample_shape: &[i64], outputs: i64) -> Result<ModelSummary, LayerError> {
        let entries = parse_stack(lines)?;
        summarize(&entries, sample_shape, outputs)
    }

    /// The layers as the memory estimate sees them.
    pub fn layer_shapes(&self) -> Vec<LayerShape> {
        self.layers
            .iter()
            .map(|l| LayerShape::new(l.name.clone(), l.params.max(0) as u64, &l.output_shape))
            .collect()
    }

    /// Memory of one training step at `batch` samples with this optimizer (the data not counted):
    /// [`crate::models::memory::estimate`], as the check before a run makes it.
    pub fn memory(&self, batch: u64, optimizer: OptimizerKind, momentum: f64) -> MemoryEstimate {
        let inputs = MemoryInputs {
            input: self.input_shape.clone(),
            batch_size: batch,
            optimizer,
            momentum,
            data_on_device: 0,
        };
        estimate(&self.layer_shapes(), &inputs)
    }

    /// The summary as text lines: a table, the total, and the memory at `batch` samples.
    pub fn lines(&self, batch: u64, optimizer: OptimizerKind, momentum: f64) -> Vec<String> {
        let mut out = vec![format!("{:<28} {:<16} {:>10}", "layer", "output", "params")];
        out.push(format!("{:<28} {:<16} {:>10}", "input", shape_text(&self.input_shape), ""));
        for l in &self.layers {
            out.push(format!("{:<28} {:<16} {:>10}", l.name, shape_text(&l.output_shape), l.params));
        }
        let m = self.memory(batch, optimizer, momentum);
        out.push(format!("total {} parameters", self.total_params));
        out.push(format!(
            "memory at batch {batch}: {} (params {}, grads {}, optimizer {}, activations {})",
            bytes_text(m.total()),
            bytes_text(m.params),
            bytes_text(m.gradients),
            bytes_text(m.optimizer),
            bytes_text(m.activations)
        ));
        out
    }
}

impl ModelSummary {
    /// For a narrow pane: `105476 params, 7.3 MiB at batch 16`, then `layer  shape  params` rows.
    pub fn compact_lines(&self, batch: u64, optimizer: OptimizerKind, momentum: f64) -> Vec<String> {
        let m = self.memory(batch, optimizer, momentum);
        let mut out =
            vec![format!("{} params, {} at batch {batch}", self.total_params, bytes_text(m.total()))];
        for l in &self.layers {
            out.push(format!("{:<16} {:<12} {}", l.name, shape_text(&l.output_shape), l.params));
        }
        out
    }
}

/// `[1, 28, 28]`.
pub fn shape_text(shape: &[i64]) -> String {
    let dims: Vec<String> = shape.iter().map(i64::to_string).collect();
    format!("[{}]", dims.join(", "))
}

/// `1.5 MiB`.
pub fn bytes_text(bytes: u64) -> String {
    let units = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < units.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", units[unit])
    }
}

/// Check parsed entries against `sample_shape`.
pub fn summarize(entries: &[Entry], sample_shape: &[i64], outputs: i64) -> Result<ModelSummary, LayerError> {
    let mut layers = Vec::new();
    let last = entries.len().saturating_sub(1);
    walk(entries, sample_shape, outputs, 0, Some(last), &mut layers)?;
    let total_params = layers.iter().try_fold(0i64, |sum, l| sum.checked_add(l.params)).ok_or_else(|| {
        let e = entries.last();
        LayerError {
            index: e.map_or(0, |e| e.index),
            text: e.map(|e| e.text.clone()).unwrap_or_default(),
            why: TOO_LARGE.to_string(),
        }
    })?;
    Ok(ModelSummary { input_shape: sample_shape.to_vec(), layers, total_params })
}

/// Walk `entries` from `input`; `last` is the position that may be a bare `linear`.
fn walk(
    entries: &[Entry],
    input: &[i64],
    outputs: i64,
    depth: usize,
    last: Option<usize>,
    rows: &mut Vec<LayerSummary>,
) -> Result<Vec<i64>, LayerError> {
    let mut shape = input.to_vec();
    let indent = "  ".repeat(depth);
    for (i, e) in entries.iter().enumerate() {
        let fail = |why: String| LayerError { index: e.index, text: e.text.clone(), why };
        if let Layer::Residual(body) = &e.layer {
            rows.push(LayerSummary {
                name: format!("{indent}residual ["),
                output_shape: shape.clone(),
                params: 0,
            });
            let out = walk(body, &shape, outputs, depth + 1, None, rows)?;
            if out != shape {
                return Err(fail(format!(
                    "the block turns {} into {}; a residual block must keep the shape to add its input",
                    shape_text(&shape),
                    shape_text(&out)
                )));
            }
            rows.push(LayerSummary { name: format!("{indent}] (+ input)"), output_shape: out, params: 0 });
            continue;
        }
        let (out, params) = step(&e.layer, &shape, outputs, last == Some(i)).map_err(|e| fail(e.0))?;
        rows.push(LayerSummary { name: format!("{indent}{}", e.text), output_shape: out.clone(), params });
        shape = out;
    }
    Ok(shape)
}

/// Why a layer doesn't fit the shape it is given, and what to change.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ShapeError(pub String);

/// How a convolution, pooling or batch norm reads `input`: 1 or 2 spatial dimensions.
pub fn spatial_dims(dims: Dims, input: &[i64], what: &str) -> Result<usize, ShapeError> {
    dims_of(dims, input, what).map_err(ShapeError)
}

fn dims_of(dims: Dims, input: &[i64], what: &str) -> Result<usize, String> {
    match (dims, input.len()) {
        (Dims::Infer | Dims::One, 2) => Ok(1),
        (Dims::Infer | Dims::Two, 3) => Ok(2),
        (Dims::One, _) => Err(format!("expects [channels, length], got {}", shape_text(input))),
        (Dims::Two, _) => Err(format!("expects [channels, height, width], got {}", shape_text(input))),
        (Dims::Infer, 1) => Err(format!(
            "expects [channels, length] or [channels, height, width], got the flat input {}; \
             {what} works on images or sequences, tables need `linear`",
            shape_text(input)
        )),
        (Dims::Infer, _) => {
            Err(format!("expects [channels, length] or [channels, height, width], got {}", shape_text(input)))
        }
    }
}

/// Why a layer whose shape or parameter count overflows a 64-bit count is refused.
const TOO_LARGE: &str = "its output or parameter count is too large to count; use smaller layers";

/// The product of `values`, checked.
fn product(values: &[i64]) -> Result<i64, String> {
    values.iter().try_fold(1i64, |p, &v| p.checked_mul(v)).ok_or_else(|| TOO_LARGE.to_string())
}

/// One layer's output shape and parameter count for `input`.
pub fn step(
    layer: &Layer,
    input: &[i64],
    outputs: i64,
    is_last: bool,
) -> Result<(Vec<i64>, i64), ShapeError> {
    layer_step(layer, input, outputs, is_last).map_err(ShapeError)
}

fn layer_step(layer: &Layer, input: &[i64], outputs: i64, is_last: bool) -> Result<(Vec<i64>, i64), String> {
    match layer {
        Layer::Linear { out } => {
            let [features] = input else {
                return Err(format!(
                    "expects a flat input, got {}; add `flatten` before it",
                    shape_text(input)
                ));
            };
            let out = match out {
                Some(n) => *n,
                None if is_last => outputs,
                None => {
                    return Err("a bare `linear` takes its size from the task, so only the last layer may \
                                omit it; write `linear N`"
                        .into())
                }
            };
            Ok((vec![out], product(&[*features, out])?.checked_add(out).ok_or(TOO_LARGE)?))
        }
        Layer::Conv { dims, out, kernel, stride, pad } => {
            let d = dims_of(*dims, input, "a convolution")?;
            let mut shape = vec![*out];
            for &n in &input[1..] {
                let padded = product(&[2, *pad])?.checked_add(n).ok_or(TOO_LARGE)?;
                if padded < *kernel {
                    return Err(format!(
                        "the {kernel}-wide window with pad={pad} doesn't fit the input {}; pad it or \
                         use a smaller kernel (or resize images with `resize` in [images])",
                        shape_text(input)
                    ));
                }
                shape.push((padded - kernel) / stride + 1);
            }
            let window = kernel.checked_pow(d as u32).ok_or(TOO_LARGE)?;
            let weights = product(&[*out, input[0], window])?;
            Ok((shape, weights.checked_add(*out).ok_or(TOO_LARGE)?))
        }
        Layer::Pool { dims, kernel, stride, .. } => {
            dims_of(*dims, input, "pooling")?;
            let mut shape = vec![input[0]];
            for &n in &input[1..] {
                if n < *kernel {
                    return Err(format!(
                        "the {kernel}-wide window doesn't fit the input {}; drop a pooling layer or \
                         use a smaller window",
                        shape_text(input)
                    ));
                }
                shape.push((n - kernel) / stride + 1);
            }
            Ok((shape, 0))
        }
        Layer::BatchNorm => {
            if input.is_empty() || input.len() > 3 {
                return Err(format!(
                    "expects [features], [channels, length] or [channels, height, width], got {}",
                    shape_text(input)
                ));
            }
            Ok((input.to_vec(), product(&[2, input[0]])?))
        }
        Layer::LayerNorm => Ok((input.to_vec(), product(&[2, product(input)?])?)),
        Layer::Flatten => Ok((vec![product(input)?], 0)),
        Layer::Dropout(_) | Layer::Act(_) => Ok((input.to_vec(), 0)),
        Layer::Residual(_) => Err("a residual block is checked by its caller".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::layers::MAX_ARG;

    fn lines(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn a_small_cnn_has_pytorchs_shapes_and_counts() {
        let stack = lines(&[
            "conv 32 3 pad=1",
            "relu",
            "maxpool 2",
            "conv 64 3 pad=1",
            "relu",
            "maxpool 2",
            "flatten",
            "dropout 0.25",
            "linear 128",
            "relu",
            "linear",
        ]);
        let s = ModelSummary::of(&stack, &[1, 28, 28], 10).unwrap();
        let shapes: Vec<&[i64]> = s.layers.iter().map(|l| l.output_shape.as_slice()).collect();
        assert_eq!(shapes[2], [32, 14, 14]);
        assert_eq!(shapes[6], [64 * 7 * 7]);
        assert_eq!(shapes[10], [10]);
        // torch: sum(p.numel()) of the same nn.Sequential.
        assert_eq!(s.total_params, 320 + 18_496 + 401_536 + 1_290);
        let m = s.memory(64, OptimizerKind::Adam, 0.0);
        assert_eq!(m.params, 421_642 * 4);
        assert_eq!(m.total(), m.params * 4 + m.activations);
        assert!(s.lines(64, OptimizerKind::Adam, 0.0).iter().any(|l| l.starts_with("memory at batch 64")));
    }

    #[test]
    fn residual_blocks_and_one_d_layers() {
        let stack = lines(&[
            "conv1d 4 3 pad=1",
            "batchnorm",
            "residual [",
            "conv 4 3 pad=1",
            "gelu",
            "]",
            "avgpool 2",
            "layernorm",
            "flatten",
            "linear",
        ]);
        let s = ModelSummary::of(&stack, &[2, 8], 3).unwrap();
        assert_eq!(s.layers.last().unwrap().output_shape, [3]);
        assert_eq!(s.layers[2].name, "residual [");
        assert_eq!(s.layers[3].name, "  conv 4 3 pad=1");
        assert_eq!(s.total_params, (4 * 2 * 3 + 4) + 8 + (4 * 4 * 3 + 4) + 2 * 16 + (16 * 3 + 3));
    }

    #[test]
    fn shape_errors_name_the_layer_and_the_shapes() {
        let e = ModelSummary::of(
            &lines(&["conv 64 3 pad=1", "relu", "maxpool 4", "relu", "linear 128", "linear"]),
            &[1, 28, 28],
            10,
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "layer 5 `linear 128`: expects a flat input, got [64, 7, 7]; add `flatten` before it"
        );
        let e = ModelSummary::of(&lines(&["conv 8 3", "flatten", "linear"]), &[4], 3).unwrap_err();
        assert!(e.to_string().starts_with("layer 1 `conv 8 3`: expects [channels, length] or"), "{e}");
        let e = ModelSummary::of(&lines(&["residual [", "linear 3", "]", "linear"]), &[4], 3).unwrap_err();
        assert!(e.to_string().contains("turns [4] into [3]"), "{e}");
        let e = ModelSummary::of(&lines(&["linear", "linear 3"]), &[4], 3).unwrap_err();
        assert_eq!(e.index, 1);
        let e = ModelSummary::of(&lines(&["maxpool 5"]), &[1, 4, 4], 3).unwrap_err();
        assert!(e.why.contains("doesn't fit the input [1, 4, 4]"), "{e}");
    }

    #[test]
    fn counts_that_overflow_name_the_layer_instead_of_panicking() {
        let big = MAX_ARG.to_string();
        let e = ModelSummary::of(
            &lines(&[&format!("conv {big} {big}"), "flatten", "linear"]),
            &[big.parse().unwrap(), 1 << 24, 1 << 24],
            3,
        )
        .unwrap_err();
        assert_eq!(e.index, 1, "{e}");
        assert!(e.why.contains("too large to count"), "{e}");
        let wide = format!("linear {big}");
        let e = ModelSummary::of(&lines(&[&wide, &wide, &wide, "flatten", "layernorm"]), &[i64::MAX / 2], 3)
            .unwrap_err();
        assert_eq!((e.index, e.text.as_str()), (1, wide.as_str()), "{e}");
        let e = ModelSummary::of(&lines(&["flatten"]), &[1 << 40, 1 << 40], 3).unwrap_err();
        assert!(e.to_string().starts_with("layer 1 `flatten`: its output"), "{e}");
        let s = ModelSummary::of(&lines(&[&wide, &wide, "linear"]), &[1 << 24], 3).unwrap();
        let m = s.memory(1 << 40, OptimizerKind::Adam, 0.0);
        assert!(m.total() >= m.activations, "the estimate saturates instead of overflowing");
    }
}
