//! A layer stack (see `crate::models`) as a tch network. Parameters are named as the equivalent
//! PyTorch `nn.Sequential` names them (`0.weight`, `3.bias`; a residual block at index i holds its
//! own Sequential under `i.body.`; batch norm keeps `running_mean`/`running_var`), and initialised
//! like PyTorch's defaults: U(±1/√fan_in) for linear and conv, ones and zeros for the norms.
use tch::nn::{self, Init};
use tch::Tensor;

use crate::models::layers::{Activation, Entry, Layer, Pool};
use crate::models::summary::{spatial_dims, step};
use crate::models::LayerError;

/// One built layer.
#[derive(Debug)]
enum Op {
    Linear { w: Tensor, b: Tensor },
    Conv { w: Tensor, b: Tensor, d: usize, stride: i64, pad: i64 },
    Pool { kind: Pool, d: usize, kernel: i64, stride: i64 },
    BatchNorm { w: Tensor, b: Tensor, mean: Tensor, var: Tensor },
    LayerNorm { w: Tensor, b: Tensor, shape: Vec<i64> },
    Dropout(f64),
    Flatten,
    Act(Activation),
    Residual(Vec<Op>),
}

/// A built stack.
#[derive(Debug)]
pub struct StackNet {
    ops: Vec<Op>,
}

impl StackNet {
    /// Create the parameters under `root` for samples of `sample_shape`; a bare last `linear`
    /// gets `outputs` units. Shape errors name the layer.
    pub fn new(
        root: &nn::Path,
        entries: &[Entry],
        sample_shape: &[i64],
        outputs: i64,
    ) -> Result<StackNet, LayerError> {
        let last = entries.len().saturating_sub(1);
        let (ops, _) = build(root, entries, sample_shape, outputs, Some(last))?;
        Ok(StackNet { ops })
    }

    /// Outputs for a batch; `train` turns dropout and batch statistics on.
    pub fn forward(&self, xs: &Tensor, train: bool) -> Tensor {
        run(&self.ops, xs, train)
    }
}

fn uniform(p: &nn::Path, name: &str, shape: &[i64], fan_in: i64) -> Tensor {
    let bound = 1.0 / (fan_in.max(1) as f64).sqrt();
    p.var(name, shape, Init::Uniform { lo: -bound, up: bound })
}

fn build(
    root: &nn::Path,
    entries: &[Entry],
    input: &[i64],
    outputs: i64,
    last: Option<usize>,
) -> Result<(Vec<Op>, Vec<i64>), LayerError> {
    let mut shape = input.to_vec();
    let mut ops = Vec::new();
    for (i, e) in entries.iter().enumerate() {
        let fail = |why: String| LayerError { index: e.index, text: e.text.clone(), why };
        let p = root / i.to_string();
        if let Layer::Residual(body) = &e.layer {
            let (inner, out) = build(&(&p / "body"), body, &shape, outputs, None)?;
            if out != shape {
                return Err(fail(format!("the block turns {shape:?} into {out:?}; it must keep the shape")));
            }
            ops.push(Op::Residual(inner));
            continue;
        }
        let (out, _) = step(&e.layer, &shape, outputs, last == Some(i)).map_err(|e| fail(e.0))?;
        let op = match &e.layer {
            Layer::Linear { .. } => {
                let (n_in, n_out) = (shape[0], out[0]);
                Op::Linear {
                    w: uniform(&p, "weight", &[n_out, n_in], n_in),
                    b: uniform(&p, "bias", &[n_out], n_in),
                }
            }
            Layer::Conv { dims, out: channels, kernel, stride, pad } => {
                let d = spatial_dims(*dims, &shape, "a convolution").map_err(|e| fail(e.0))?;
                let fan_in = shape[0] * kernel.pow(d as u32);
                let mut w_shape = vec![*channels, shape[0]];
                w_shape.extend(std::iter::repeat_n(*kernel, d));
                Op::Conv {
                    w: uniform(&p, "weight", &w_shape, fan_in),
                    b: uniform(&p, "bias", &[*channels], fan_in),
                    d,
                    stride: *stride,
                    pad: *pad,
                }
            }
            Layer::Pool { kind, dims, kernel, stride } => {
                let d = spatial_dims(*dims, &shape, "pooling").map_err(|e| fail(e.0))?;
                Op::Pool { kind: *kind, d, kernel: *kernel, stride: *stride }
            }
            Layer::BatchNorm => {
                let c = shape[0];
                Op::BatchNorm {
                    w: p.var("weight", &[c], Init::Const(1.0)),
                    b: p.var("bias", &[c], Init::Const(0.0)),
                    mean: p.zeros_no_train("running_mean", &[c]),
                    var: p.ones_no_train("running_var", &[c]),
                }
            }
            Layer::LayerNorm => Op::LayerNorm {
                w: p.var("weight", &shape, Init::Const(1.0)),
                b: p.var("bias", &shape, Init::Const(0.0)),
                shape: shape.clone(),
            },
            Layer::Dropout(rate) => Op::Dropout(*rate),
            Layer::Flatten => Op::Flatten,
            Layer::Act(a) => Op::Act(*a),
            Layer::Residual(_) => continue,
        };
        ops.push(op);
        shape = out;
    }
    Ok((ops, shape))
}

fn run(ops: &[Op], xs: &Tensor, train: bool) -> Tensor {
    let mut h = xs.shallow_clone();
    for op in ops {
        h = match op {
            Op::Linear { w, b } => h.linear(w, Some(b)),
            Op::Conv { w, b, d: 1, stride, pad } => h.conv1d(w, Some(b), [*stride], [*pad], [1], 1),
            Op::Conv { w, b, stride, pad, .. } => {
                h.conv2d(w, Some(b), [*stride, *stride], [*pad, *pad], [1, 1], 1)
            }
            Op::Pool { kind: Pool::Max, d: 1, kernel, stride } => {
                h.max_pool1d([*kernel], [*stride], [0], [1], false)
            }
            Op::Pool { kind: Pool::Max, kernel, stride, .. } => {
                h.max_pool2d([*kernel, *kernel], [*stride, *stride], [0, 0], [1, 1], false)
            }
            Op::Pool { kind: Pool::Avg, d: 1, kernel, stride } => {
                h.avg_pool1d([*kernel], [*stride], [0], false, true)
            }
            Op::Pool { kind: Pool::Avg, kernel, stride, .. } => {
                h.avg_pool2d([*kernel, *kernel], [*stride, *stride], [0, 0], false, true, None::<i64>)
            }
            Op::BatchNorm { w, b, mean, var } => {
                Tensor::batch_norm(&h, Some(w), Some(b), Some(mean), Some(var), train, 0.1, 1e-5, false)
            }
            Op::LayerNorm { w, b, shape } => h.layer_norm(shape.as_slice(), Some(w), Some(b), 1e-5, false),
            Op::Dropout(rate) => h.dropout(*rate, train),
            Op::Flatten => h.flatten(1, -1),
            Op::Act(Activation::Relu) => h.relu(),
            Op::Act(Activation::Gelu) => h.gelu("none"),
            Op::Act(Activation::Tanh) => h.tanh(),
            Op::Act(Activation::Sigmoid) => h.sigmoid(),
            Op::Residual(inner) => &h + run(inner, &h, train),
        };
    }
    h
}
