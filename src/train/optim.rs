//! Adam for the autograd models: the arithmetic of PyTorch's `torch.optim.Adam`, applied to all the
//! parameters at once.
//!
//! Why not libtorch's C++ `torch::optim::Adam` (tch's `nn::Adam`)? It updates one parameter at a
//! time with eight tensor operations each, and for a small model such as the 4-16-3 MLP on Iris
//! every one of those costs far more in dispatch and set-up than in arithmetic: that optimizer was
//! 40% of a training step. Here every trainable variable is moved, once, into a view of one flat
//! buffer (`set_data`, what `param.data = ...` does in Python; the variable keeps its name, its
//! place in the `VarStore` and its identity in autograd, so checkpoints are unchanged). A step then
//! takes the gradients from `run_backward` (as `torch.autograd.grad` does: nothing accumulates in
//! `.grad`, so there is nothing to zero), joins them with one `cat`, and runs the elementwise
//! operations of `torch.optim.Adam`'s default CPU path once for the whole buffer instead of once per
//! parameter. The same kernels compute the same values; there are only fewer calls.
use tch::nn::VarStore;
use tch::{Device, Kind, TchError, Tensor};

/// Adam with PyTorch's default hyper-parameters (betas 0.9 and 0.999, eps 1e-8, no weight decay).
#[derive(Debug)]
pub struct FlatAdam {
    /// The trainable variables, in the order the model created them; views of `flat`.
    params: Vec<Tensor>,
    flat: Tensor,
    exp_avg: Tensor,
    exp_avg_sq: Tensor,
    lr: f64,
    beta1: f64,
    beta2: f64,
    /// `beta2`, `1 - beta2` and `eps` as tensors (see [`scalar`]).
    beta2_t: Tensor,
    one_minus_beta2_t: Tensor,
    eps_t: Tensor,
    /// The step's `bias_correction2 ** 0.5` and `-step_size`, refilled each step.
    bias_correction2_sqrt_t: Tensor,
    minus_step_size_t: Tensor,
    /// Scratch of the parameters' size for the step's intermediate results, so a step allocates
    /// nothing (a small model's step is mostly such overheads).
    scaled_grad: Tensor,
    denom: Tensor,
    scaled_exp_avg: Tensor,
    step: u32,
}

impl FlatAdam {
    /// Take over the trainable variables of `vs`; build it on its final device first.
    pub fn new(vs: &VarStore, lr: f64) -> Result<FlatAdam, TchError> {
        let _no_grad = tch::no_grad_guard();
        let mut params = vs.trainable_variables();
        let pieces = params.iter().map(|p| p.f_reshape([-1])).collect::<Result<Vec<_>, _>>()?;
        let flat = Tensor::f_cat(&pieces, 0)?;
        let mut offset = 0;
        for p in params.iter_mut() {
            let n = p.numel() as i64;
            p.set_data(&flat.f_narrow(0, offset, n)?.f_view(p.size().as_slice())?);
            offset += n;
        }
        let (beta1, beta2, eps) = (0.9, 0.999, 1e-8);
        Ok(FlatAdam {
            params,
            exp_avg: flat.f_zeros_like()?,
            exp_avg_sq: flat.f_zeros_like()?,
            scaled_grad: flat.f_empty_like()?,
            denom: flat.f_empty_like()?,
            scaled_exp_avg: flat.f_empty_like()?,
            flat,
            lr,
            beta1,
            beta2,
            beta2_t: scalar(beta2)?,
            one_minus_beta2_t: scalar(1.0 - beta2)?,
            eps_t: scalar(eps)?,
            bias_correction2_sqrt_t: scalar(1.0)?,
            minus_step_size_t: scalar(0.0)?,
            step: 0,
        })
    }

    /// The variables to differentiate the loss with respect to; `step` wants their gradients in
    /// this order.
    pub fn params(&self) -> &[Tensor] {
        &self.params
    }

    /// One update, given the gradient of each of [`FlatAdam::params`].
    ///
    /// It follows `torch.optim.adam._single_tensor_adam` line by line:
    /// `exp_avg.lerp_(grad, 1 - beta1)`, `exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)`,
    /// `denom = (exp_avg_sq.sqrt() / bias_correction2 ** 0.5).add_(eps)`,
    /// `param.addcdiv_(exp_avg, denom, value=-lr / bias_correction1)`.
    pub fn step(&mut self, grads: &[Tensor]) -> Result<(), TchError> {
        let _no_grad = tch::no_grad_guard();
        // `reshape`, not `view`: a gradient may come back with another layout than its parameter.
        let pieces = grads.iter().map(|g| g.f_reshape([-1])).collect::<Result<Vec<_>, _>>()?;
        self.step_flat(&Tensor::f_cat(&pieces, 0)?)
    }

    /// [`FlatAdam::step`] given the gradients already joined into one flat tensor, laid out as
    /// the parameters are (as `train::dense_step` writes them).
    pub fn step_flat(&mut self, grad: &Tensor) -> Result<(), TchError> {
        let _no_grad = tch::no_grad_guard();
        self.step += 1;
        let step = f64::from(self.step);
        let bias_correction1 = 1.0 - self.beta1.powf(step);
        let bias_correction2 = 1.0 - self.beta2.powf(step);
        let step_size = self.lr / bias_correction1;

        let _ = self.exp_avg.f_lerp_(grad, 1.0 - self.beta1)?;
        // tch's addcmul_ and addcdiv_ take no `value`. The kernels compute `self + value * t1 * t2`
        // and `self + value * t1 / t2` from left to right, so passing `value * t1` (one multiply,
        // rounded to float as the kernel rounds it) as t1 gives the same numbers.
        // The `_out` forms run the same kernels as `mul`, `sqrt` into the scratch buffers.
        let _ = self.exp_avg_sq.f_mul_(&self.beta2_t)?;
        let _ = grad.f_mul_out(&self.scaled_grad, &self.one_minus_beta2_t)?;
        let _ = self.exp_avg_sq.f_addcmul_(&self.scaled_grad, grad)?;
        let _ = self.exp_avg_sq.f_sqrt_out(&self.denom)?;
        let _ = self.bias_correction2_sqrt_t.f_fill_(bias_correction2.powf(0.5))?;
        let _ = self.denom.f_div_(&self.bias_correction2_sqrt_t)?;
        let _ = self.denom.f_add_(&self.eps_t)?;
        let _ = self.minus_step_size_t.f_fill_(-step_size)?;
        let _ = self.exp_avg.f_mul_out(&self.scaled_exp_avg, &self.minus_step_size_t)?;
        let _ = self.flat.f_addcdiv_(&self.scaled_exp_avg, &self.denom)?;
        Ok(())
    }
}

impl FlatAdam {
    /// Adam's state for a checkpoint: the first and second moments and the step count.
    pub fn state(&self) -> Vec<(String, Tensor)> {
        vec![
            ("adam.exp_avg".into(), self.exp_avg.shallow_clone()),
            ("adam.exp_avg_sq".into(), self.exp_avg_sq.shallow_clone()),
            ("adam.step".into(), Tensor::from_slice(&[i64::from(self.step)])),
        ]
    }

    /// Take back the state [`FlatAdam::state`] saved.
    pub fn load_state(&mut self, state: &StateMap) -> Result<(), TchError> {
        let _no_grad = tch::no_grad_guard();
        self.exp_avg.f_copy_(state.get("adam.exp_avg")?)?;
        self.exp_avg_sq.f_copy_(state.get("adam.exp_avg_sq")?)?;
        self.step = u32::try_from(state.get("adam.step")?.f_int64_value(&[0])?).unwrap_or(u32::MAX);
        Ok(())
    }
}

/// SGD with momentum, as `torch.optim.SGD` (no dampening, no Nesterov, no weight decay) computes
/// it: `buf = grad` on the first step, then `buf = momentum * buf + grad`; `param -= lr * buf`.
/// Written here rather than using libtorch's own optimizer because a checkpoint must hold the
/// momentum buffers, and tch does not expose libtorch's.
#[derive(Debug)]
pub struct FlatSgd {
    params: Vec<Tensor>,
    lr: f64,
    momentum: f64,
    /// One per parameter once the first step has run (never with momentum 0).
    buffers: Option<Vec<Tensor>>,
}

impl FlatSgd {
    /// Take over the trainable variables of `vs`; build it on its final device first.
    pub fn new(vs: &VarStore, lr: f64, momentum: f64) -> FlatSgd {
        FlatSgd { params: vs.trainable_variables(), lr, momentum, buffers: None }
    }

    /// The variables to differentiate the loss with respect to, in the order `step` wants.
    pub fn params(&self) -> &[Tensor] {
        &self.params
    }

    /// One update, given the gradient of each of [`FlatSgd::params`].
    pub fn step(&mut self, grads: &[Tensor]) -> Result<(), TchError> {
        let _no_grad = tch::no_grad_guard();
        let steps: Vec<Tensor> = if self.momentum == 0.0 {
            grads.iter().map(Tensor::shallow_clone).collect()
        } else {
            match &mut self.buffers {
                None => {
                    let first: Vec<Tensor> = grads.iter().map(Tensor::copy).collect();
                    let steps = first.iter().map(Tensor::shallow_clone).collect();
                    self.buffers = Some(first);
                    steps
                }
                Some(buffers) => {
                    for (buf, g) in buffers.iter_mut().zip(grads) {
                        let _ = buf.f_mul_scalar_(self.momentum)?.f_add_(g)?;
                    }
                    buffers.iter().map(Tensor::shallow_clone).collect()
                }
            }
        };
        for (p, s) in self.params.iter_mut().zip(&steps) {
            let _ = p.f_sub_(&s.f_mul_scalar(self.lr)?)?;
        }
        Ok(())
    }

    /// The momentum buffers for a checkpoint (none before the first step).
    pub fn state(&self) -> Vec<(String, Tensor)> {
        self.buffers
            .iter()
            .flatten()
            .enumerate()
            .map(|(i, b)| (format!("sgd.momentum_buffer.{i}"), b.shallow_clone()))
            .collect()
    }

    /// Take back the buffers [`FlatSgd::state`] saved.
    pub fn load_state(&mut self, state: &StateMap) -> Result<(), TchError> {
        if self.momentum == 0.0 || !state.contains("sgd.momentum_buffer.0") {
            self.buffers = None;
            return Ok(());
        }
        let _no_grad = tch::no_grad_guard();
        let buffers = (0..self.params.len())
            .map(|i| {
                let saved = state.get(&format!("sgd.momentum_buffer.{i}"))?;
                saved.f_to_device(self.params[i].device())?.f_reshape(self.params[i].size())
            })
            .collect::<Result<Vec<_>, _>>()?;
        self.buffers = Some(buffers);
        Ok(())
    }
}

/// Named tensors read back from a checkpoint's state file.
#[derive(Debug, Default)]
pub struct StateMap(pub std::collections::HashMap<String, Tensor>);

impl StateMap {
    /// The tensor saved under `name`; a missing one is an error naming it.
    pub fn get(&self, name: &str) -> Result<&Tensor, TchError> {
        self.0.get(name).ok_or_else(|| {
            TchError::FileFormat(format!(
                "the checkpoint's state has no {name:?}; it was written by another version"
            ))
        })
    }

    pub fn contains(&self, name: &str) -> bool {
        self.0.contains_key(name)
    }
}

/// A number as a 0-dim float tensor on the CPU, for the multiplier of an elementwise op. Given a
/// plain number, libtorch wraps it in a double tensor and, on the CPU, converts that to float with
/// one more op before the kernel runs; given this tensor, the kernel reads the same float directly
/// (CPU scalars also work with tensors on a GPU).
fn scalar(value: f64) -> Result<Tensor, TchError> {
    Tensor::f_scalar_tensor(value, (Kind::Float, Device::Cpu))
}

#[cfg(test)]
mod tests {
    use tch::nn::{self, OptimizerConfig};
    use tch::{Device, Kind, Tensor};

    use super::*;

    /// A variable store with seeded starting values (under the lock other tests' draws take too).
    fn store(seed: i64) -> (VarStore, Vec<Tensor>) {
        crate::train::rng::seeded(seed, || {
            let vs = VarStore::new(Device::Cpu);
            let root = vs.root();
            let vars = vec![
                root.var("w", &[5, 3], nn::Init::Uniform { lo: -1.0, up: 1.0 }),
                root.var("b", &[5], nn::Init::Uniform { lo: -1.0, up: 1.0 }),
            ];
            (vs, vars)
        })
    }

    fn loss(vars: &[Tensor], x: &Tensor) -> Tensor {
        x.linear(&vars[0], Some(&vars[1])).relu().square().mean(Kind::Float)
    }

    #[test]
    fn flat_adam_follows_libtorch_adam_and_updates_the_var_store() {
        let (vs_a, vars_a) = store(3);
        let (vs_b, vars_b) = store(3);
        let mut flat = FlatAdam::new(&vs_a, 0.01).unwrap();
        let mut reference = nn::Adam::default().build(&vs_b, 0.01).unwrap();
        for step in 0..50 {
            let x = Tensor::randn([8, 3], (Kind::Float, Device::Cpu)) + step as f64 * 0.01;
            let grads = Tensor::run_backward(&[loss(&vars_a, &x)], flat.params(), false, false);
            flat.step(&grads).unwrap();
            reference.zero_grad();
            loss(&vars_b, &x).backward();
            reference.step();
        }
        // The variables themselves (as a checkpoint sees them) moved, and by what libtorch's Adam
        // moves them, up to float rounding (libtorch's C++ Adam orders the operations differently).
        for name in ["w", "b"] {
            let a = &vs_a.variables()[name];
            let b = &vs_b.variables()[name];
            let start = &store(3).0.variables()[name];
            assert!(f64::try_from((a - start).abs().max()).unwrap() > 0.1, "{name} moved");
            let diff = f64::try_from((a - b).abs().max()).unwrap();
            assert!(diff < 1e-5, "{name}: {diff}");
        }
    }
}
