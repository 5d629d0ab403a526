//! The gradients of a dense network with a softmax head (`mlp`, `logreg` on classes), worked out
//! by hand instead of by the autograd engine.
//!
//! Why: for a model as small as the 4-16-3 MLP on Iris, a step's arithmetic is a few microseconds;
//! what costs is the bookkeeping around it. Profiled (bench/mlp_iris.rs, one thread), the autograd
//! engine's backward (graph task, ready queue, saved variables, per-node thread-local state) was
//! half of a 210 µs step and recording the graph in the forward pass another part. Here the forward
//! runs without recording and the backward is the short list of ATen calls that autograd's own
//! formulas would make (PyTorch's `tools/autograd/derivatives.yaml`):
//!
//! - `nll_loss` → `nll_loss_backward(1, log_probs, target, None, mean, -100, total_weight)`;
//! - `_log_softmax` → `_log_softmax_backward_data(grad, result, 1, float)`;
//! - `relu` → `threshold_backward(grad, result, 0)`;
//! - `linear` is `addmm(bias, input, weight.t())` for 2-D input, and `AddmmBackward0` gives the
//!   bias `grad.sum(0)`, the weight `grad.t().mm(input)` (`mm_mat2_backward` on the column-major
//!   `weight.t()`, transposed back by `TBackward0`) and the input `grad.mm(weight)`
//!   (`mm_mat1_backward`; it takes another route for a column-major input, kept here too).
//!
//! The same kernels get the same operands in the same layouts, so the gradients are autograd's bit
//! for bit (the tests compare them). One `cat` writes them into a flat buffer laid out as the
//! optimizer's parameters, which Adam then takes as it is.
use tch::{Kind, Reduction, TchError, Tensor};

/// The label that `cross_entropy`'s default ignores (none of ours is negative).
const IGNORE_INDEX: i64 = -100;

/// A dense layer's parameters as the step sees them.
pub struct DenseParams<'a> {
    pub weight: &'a Tensor,
    pub bias: &'a Tensor,
}

/// Reusable state of the hand-written step: the flat gradient buffer and its views.
#[derive(Debug)]
pub struct DenseSoftmaxStep {
    /// Every parameter's gradient, in the optimizer's order (see [`DenseSoftmaxStep::new`]).
    grad: Tensor,
    /// Per parameter (in the optimizer's order), a view of `grad` shaped like it.
    param_grads: Vec<Tensor>,
    /// Per layer, the indices in `param_grads` of its weight's and bias's gradients.
    layer_grads: Vec<(usize, usize)>,
    /// The gradient of the loss with respect to itself, as autograd seeds it: `ones_like(loss)`.
    seed: Tensor,
    /// `nll_loss`'s `total_weight` (the count of targets) for the batch sizes seen so far.
    totals: Vec<(i64, Tensor)>,
}

impl DenseSoftmaxStep {
    /// Lay the gradient buffer out as `params` (the optimizer's parameters, in its order); each
    /// layer's weight and bias must be among them. `None` when one is not (the model is then left
    /// to autograd).
    pub fn new(layers: &[DenseParams<'_>], params: &[Tensor]) -> Option<DenseSoftmaxStep> {
        let first = params.first()?;
        let total: i64 = params.iter().map(|p| p.numel() as i64).sum();
        let grad = Tensor::f_zeros([total], (first.kind(), first.device())).ok()?;
        let mut param_grads = Vec::with_capacity(params.len());
        let mut offset = 0;
        for p in params {
            let n = p.numel() as i64;
            param_grads.push(grad.f_narrow(0, offset, n).ok()?.f_view(p.size().as_slice()).ok()?);
            offset += n;
        }
        // The same variable: the same memory, shape and strides.
        let index = |t: &Tensor| {
            params.iter().position(|p| {
                p.data_ptr() == t.data_ptr() && p.size() == t.size() && p.stride() == t.stride()
            })
        };
        let layer_grads =
            layers.iter().map(|l| Some((index(l.weight)?, index(l.bias)?))).collect::<Option<Vec<_>>>()?;
        // Every parameter must be some layer's, or part of the gradient would never be written.
        if layer_grads.len() * 2 != params.len() {
            return None;
        }
        let seed = Tensor::f_scalar_tensor(1.0, (first.kind(), first.device())).ok()?;
        Some(DenseSoftmaxStep { grad, param_grads, layer_grads, seed, totals: Vec::new() })
    }

    /// The gradients of the last [`DenseSoftmaxStep::step`], one flat tensor in the optimizer's order.
    pub fn flat_grad(&self) -> &Tensor {
        &self.grad
    }

    /// The same gradients, one view per parameter in the optimizer's order.
    pub fn param_grads(&self) -> &[Tensor] {
        &self.param_grads
    }

    /// Forward `xs` (`[N, features]`) through the layers (ReLU between them), take the mean
    /// cross-entropy against the class indices `ys`, and write the gradients; returns the loss.
    pub fn step(&mut self, layers: &[DenseParams<'_>], xs: &Tensor, ys: &Tensor) -> Result<Tensor, TchError> {
        let _no_grad = tch::no_grad_guard();
        // Forward, keeping each layer's input (the activations autograd would save).
        let mut inputs = Vec::with_capacity(layers.len());
        let mut h = xs.shallow_clone();
        for (i, layer) in layers.iter().enumerate() {
            let out = layer.bias.f_addmm(&h, &layer.weight.f_tr()?)?;
            inputs.push(h);
            h = if i + 1 < layers.len() { out.f_relu()? } else { out };
        }
        // `cross_entropy` is `nll_loss(log_softmax(x, 1), y)`.
        let log_probs = h.f_internal_log_softmax(1, false)?;
        let loss = log_probs.f_nll_loss(ys, None::<Tensor>, Reduction::Mean, IGNORE_INDEX)?;

        let total = self.total_weight(ys.size().first().copied().unwrap_or(0), &log_probs)?;
        let grad_log_probs = log_probs.f_nll_loss_backward(
            &self.seed,
            ys,
            None::<Tensor>,
            Reduction::Mean,
            IGNORE_INDEX,
            &total,
        )?;
        let mut grad =
            Tensor::f_internal_log_softmax_backward_data(&grad_log_probs, &log_probs, 1, log_probs.kind())?;
        // Per parameter (in the optimizer's order), its gradient as a tensor of its own.
        let mut pieces: Vec<Option<Tensor>> = (0..self.param_grads.len()).map(|_| None).collect();
        for (i, layer) in layers.iter().enumerate().rev() {
            let input = &inputs[i];
            let (w, b) = self.layer_grads[i];
            // AddmmBackward0 then TBackward0: the weight's gradient is grad.t().mm(input), in a
            // fresh tensor: MKL's sums can round differently when the output is not aligned as a
            // new tensor is, so writing into the flat buffer directly could change the last bit.
            pieces[w] = Some(grad.f_tr()?.f_mm(input)?.f_view([-1])?);
            // The bias's, summed over the batch as the engine's `sum_to` does.
            pieces[b] = Some(grad.f_sum_dim_intlist([0i64].as_slice(), false, None::<Kind>)?);
            if i == 0 {
                break;
            }
            let grad_input = mm_mat1_backward(&grad, layer.weight, input)?;
            // ReluBackward0 compares the ReLU's output (this layer's input) with 0.
            grad = input.f_threshold_backward(&grad_input, 0.0)?;
        }
        let pieces = pieces.into_iter().collect::<Option<Vec<_>>>().ok_or_else(|| {
            TchError::Kind("dense_step: a parameter has no gradient (not a layer's weight or bias)".into())
        })?;
        let _ = Tensor::f_cat_out(&self.grad, &pieces, 0)?;
        Ok(loss)
    }

    /// `nll_loss`'s divisor for a batch of `n` targets, none of them ignored.
    fn total_weight(&mut self, n: i64, like: &Tensor) -> Result<Tensor, TchError> {
        if let Some((_, t)) = self.totals.iter().find(|(size, _)| *size == n) {
            return Ok(t.shallow_clone());
        }
        let t = Tensor::f_scalar_tensor(n as f64, (like.kind(), like.device()))?;
        self.totals.push((n, t.shallow_clone()));
        Ok(t)
    }
}

/// The gradient of `addmm`'s `mat1` (`input`, `[N, in]`) for `mat2 = weight.t()`, as PyTorch's
/// `mm_mat1_backward` computes it: `mat2.mm(grad.t()).t()` for a column-major input,
/// `grad.mm(mat2.t())` otherwise.
fn mm_mat1_backward(grad: &Tensor, weight: &Tensor, input: &Tensor) -> Result<Tensor, TchError> {
    let (sizes, strides) = (input.size(), input.stride());
    if strides[0] == 1 && strides[1] == sizes[0] {
        weight.f_tr()?.f_mm(&grad.f_tr()?)?.f_tr()
    } else {
        grad.f_mm(weight)
    }
}

#[cfg(test)]
mod tests {
    use tch::nn::{Init, VarStore};
    use tch::Device;

    use super::*;

    /// A seeded dense network with `widths` (inputs first), its parameters in creation order.
    fn network(widths: &[i64], seed: i64) -> (VarStore, Vec<(Tensor, Tensor)>) {
        crate::train::rng::seeded(seed, || {
            let vs = VarStore::new(Device::Cpu);
            let root = vs.root();
            let layers = widths
                .windows(2)
                .map(|w| {
                    let bound = 1.0 / (w[0] as f64).sqrt();
                    let init = Init::Uniform { lo: -bound, up: bound };
                    (root.var("w", &[w[1], w[0]], init), root.var("b", &[w[1]], init))
                })
                .collect();
            (vs, layers)
        })
    }

    fn params(layers: &[(Tensor, Tensor)]) -> Vec<DenseParams<'_>> {
        layers.iter().map(|(weight, bias)| DenseParams { weight, bias }).collect()
    }

    /// Autograd's loss and gradients for the same network and batch.
    fn autograd(
        vs: &VarStore,
        layers: &[(Tensor, Tensor)],
        xs: &Tensor,
        ys: &Tensor,
    ) -> (Tensor, Vec<Tensor>) {
        let mut h = xs.shallow_clone();
        for (i, (w, b)) in layers.iter().enumerate() {
            h = h.linear(w, Some(b));
            if i + 1 < layers.len() {
                h = h.relu();
            }
        }
        let loss = h.cross_entropy_loss::<Tensor>(ys, None, Reduction::Mean, -100, 0.0);
        let grads = Tensor::run_backward(&[&loss], &vs.trainable_variables(), false, false);
        (loss.detach(), grads)
    }

    #[test]
    fn gradients_and_loss_are_autograds_bit_for_bit() {
        for widths in [&[4i64, 16, 3][..], &[5, 7, 6, 4], &[4, 3], &[3, 1, 2]] {
            let (vs, layers) = network(widths, 7);
            let mut fast = DenseSoftmaxStep::new(&params(&layers), &vs.trainable_variables()).unwrap();
            for n in [16i64, 8, 1, 16] {
                let (xs, ys) = crate::train::rng::seeded(n, || {
                    let classes = *widths.last().unwrap();
                    (
                        Tensor::randn([n, widths[0]], (Kind::Float, Device::Cpu)),
                        Tensor::randint(classes, [n], (Kind::Int64, Device::Cpu)),
                    )
                });
                let loss = fast.step(&params(&layers), &xs, &ys).unwrap();
                let (want_loss, want) = autograd(&vs, &layers, &xs, &ys);
                assert!(loss.equal(&want_loss), "{widths:?}, batch {n}: loss");
                assert_eq!(fast.param_grads().len(), want.len());
                let diffs: Vec<f64> = fast
                    .param_grads()
                    .iter()
                    .zip(&want)
                    .map(|(got, want)| f64::try_from((got - want).abs().max()).unwrap())
                    .collect();
                assert!(
                    diffs.iter().all(|&d| d == 0.0),
                    "{widths:?}, batch {n}: largest differences {diffs:?}"
                );
                // The flat buffer is the same gradients in the same order.
                let pieces: Vec<Tensor> = want.iter().map(|g| g.reshape([-1])).collect();
                assert!(fast.flat_grad().equal(&Tensor::cat(&pieces, 0)));
            }
        }
    }

    #[test]
    fn refuses_layers_that_are_not_among_the_parameters() {
        let (vs, layers) = network(&[4, 3], 1);
        let (_, others) = network(&[4, 3], 1);
        assert!(DenseSoftmaxStep::new(&params(&layers), &vs.trainable_variables()).is_some());
        assert!(DenseSoftmaxStep::new(&params(&others), &vs.trainable_variables()).is_none());
    }
}
