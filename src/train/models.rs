//! The models, their losses, and one training step each.
//!
//! Parameters are created on the CPU in a fixed order (weight, then bias, layer by layer) with
//! PyTorch's default `nn.Linear`/`nn.Conv2d` initialisation, U(±1/√fan_in), and only then moved to
//! the run's device. So the same seed gives the same starting point on every device, and a PyTorch
//! script that seeds the same way starts from the same numbers (see bench/).
//!
//! Parameters are named as the equivalent PyTorch module names them, so a checkpoint loads with
//! `model.load_state_dict(safetensors.torch.load_file("model.safetensors"))`:
//! - mlp: `nn.Sequential(Linear, ReLU, Linear, ReLU, ..., Linear)`: `0.weight`, `0.bias`,
//!   `2.weight`, ... (the ReLUs take the odd indices);
//! - logreg, linreg: one `nn.Linear(inputs, outputs)`: `weight`, `bias`;
//! - adaline, adaline-autograd: one `nn.Linear(inputs, 1)`: `weight` (saved as `[1, inputs]`;
//!   held as `[inputs]` here), `bias`;
//! - lenet5: `nn.Sequential(Conv2d(C, 6, 5, padding=2), ReLU, MaxPool2d(2), Conv2d(6, 16, 5), ReLU,
//!   MaxPool2d(2), Flatten, Linear(16*h*w, 120), ReLU, Linear(120, 84), ReLU, Linear(84, classes))`:
//!   `0.`, `3.`, `7.`, `9.`, `11.` + `weight`/`bias`;
//! - a TorchScript module (`models/NAME.pt`): the module's own `named_parameters()` names.
use tch::nn::{self, Init, VarStore};
use tch::{Device, Kind, Reduction, TchError, Tensor};

use super::dense_step::{DenseParams, DenseSoftmaxStep};
use super::msg::MetricKind;
use super::optim::{FlatAdam, FlatSgd, StateMap};
use super::script_net::{script_path, ScriptNet};
use super::stack_net::StackNet;
use super::{ModelChoice, ModelKind, OptimizerKind, TrainSpec};
use crate::data::Task;

/// How outputs become a loss and a metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Head {
    /// Class scores; cross-entropy loss; accuracy by arg-max.
    Softmax,
    /// One output per sample; MSE against 0/1; class 1 when the output is above 0.5.
    Adaline,
    /// One output per sample; MSE loss and metric.
    Regression,
}

impl Head {
    pub fn for_model(model: &ModelChoice, task: &Task) -> Head {
        match (model.builtin(), task) {
            (Some(ModelKind::Adaline | ModelKind::AdalineAutograd), _) => Head::Adaline,
            (_, Task::Regression) => Head::Regression,
            _ => Head::Softmax,
        }
    }

    /// Targets in the form the loss wants: class indices, or floats.
    pub fn prepare_targets(&self, y: &Tensor) -> Tensor {
        match self {
            Head::Softmax => y.to_kind(Kind::Int64),
            Head::Adaline | Head::Regression => y.to_kind(Kind::Float),
        }
    }

    pub fn loss(&self, out: &Tensor, y: &Tensor) -> Tensor {
        match self {
            Head::Softmax => out.cross_entropy_loss::<Tensor>(y, None, Reduction::Mean, -100, 0.0),
            Head::Adaline | Head::Regression => out.mse_loss(y, Reduction::Mean),
        }
    }

    pub fn metric_kind(&self) -> MetricKind {
        match self {
            Head::Softmax | Head::Adaline => MetricKind::Accuracy,
            Head::Regression => MetricKind::Mse,
        }
    }

    /// Summed over the batch: correct predictions, or squared errors.
    pub fn metric_sum(&self, out: &Tensor, y: &Tensor) -> f64 {
        let total = match self {
            Head::Softmax => out.argmax(-1, false).eq_tensor(y).sum(Kind::Float),
            Head::Adaline => out.gt(0.5).to_kind(Kind::Float).eq_tensor(y).sum(Kind::Float),
            Head::Regression => (out - y).square().sum(Kind::Float),
        };
        total.double_value(&[])
    }
}

/// A model with its optimizer: what the training loop drives.
pub trait Learner: Send {
    /// One optimisation step on a batch; returns the batch's mean loss, detached.
    fn train_step(&mut self, xb: &Tensor, yb: &Tensor) -> Result<Tensor, TchError>;
    /// Outputs for a batch in evaluation mode; call it under `tch::no_grad`.
    fn forward(&self, xs: &Tensor) -> Tensor;
    fn head(&self) -> Head;
    fn var_store(&self) -> &VarStore;
    fn var_store_mut(&mut self) -> &mut VarStore;
    /// The optimizer's state for a checkpoint (momentum buffers, Adam's moments and step).
    fn optimizer_state(&self) -> Vec<(String, Tensor)>;
    /// Take back what [`Learner::optimizer_state`] saved.
    fn load_optimizer_state(&mut self, state: &StateMap) -> Result<(), TchError>;
    /// The variables PyTorch names otherwise than the VarStore can (a TorchScript module's
    /// `fc1.weight`, held as `fc1_weight`): (VarStore name, PyTorch name). Checkpoints use the
    /// PyTorch name.
    fn pytorch_names(&self) -> Vec<(String, String)> {
        Vec::new()
    }
}

/// Build a model for samples of `sample_shape` (without the batch dimension) on `device`.
pub fn build(
    spec: &TrainSpec,
    sample_shape: &[i64],
    task: &Task,
    device: Device,
) -> Result<Box<dyn Learner>, super::TrainError> {
    let head = Head::for_model(&spec.model, task);
    let inputs: i64 = sample_shape.iter().product();
    let outputs = match head {
        Head::Softmax => task.num_classes() as i64,
        Head::Adaline | Head::Regression => 1,
    };
    let mut vs = VarStore::new(Device::Cpu);
    let root = vs.root();
    let learner: Box<dyn Learner> = match spec.model.builtin() {
        Some(ModelKind::Adaline) => {
            let w = root.zeros_no_train("weight", &[inputs]);
            let b = root.zeros_no_train("bias", &[1]);
            vs.set_device(device);
            let rule = ManualRule::new(spec, &w, &b);
            Box::new(ManualAdaline { vs, w, b, rule })
        }
        kind => {
            let net = match kind {
                None if script_path(&spec.layers).is_some() => {
                    let path = script_path(&spec.layers).unwrap_or_default();
                    let net = ScriptNet::load(&root, &path, sample_shape, outputs).map_err(|e| {
                        super::TrainError::Settings(format!("model {}: {e}", spec.model.name()))
                    })?;
                    Network::Script(net)
                }
                None => {
                    let entries = crate::models::parse_stack(&spec.layers)
                        .and_then(|e| StackNet::new(&root, &e, sample_shape, outputs))
                        .map_err(|e| {
                            super::TrainError::Settings(format!("model {}: {e}", spec.model.name()))
                        })?;
                    Network::Stack(entries)
                }
                Some(ModelKind::AdalineAutograd) => {
                    Network::Adaline { w: root.zeros("weight", &[inputs]), b: root.zeros("bias", &[1]) }
                }
                Some(ModelKind::Logreg | ModelKind::Linreg) => {
                    Network::Mlp(vec![dense(&root, inputs, outputs)])
                }
                Some(ModelKind::Mlp) => {
                    let mut layers = Vec::new();
                    let mut width = inputs;
                    // nn.Sequential numbers every module, ReLUs included: the Linears are 0, 2, 4, ...
                    for (i, &h) in spec.hidden.iter().enumerate() {
                        layers.push(dense(&(&root / (2 * i).to_string()), width, h as i64));
                        width = h as i64;
                    }
                    layers.push(dense(&(&root / (2 * spec.hidden.len()).to_string()), width, outputs));
                    Network::Mlp(layers)
                }
                Some(ModelKind::Lenet5) => Network::Lenet5(
                    lenet5(&root, sample_shape, outputs).map_err(super::TrainError::Settings)?,
                ),
                Some(ModelKind::Adaline) => {
                    return Err(super::TrainError::Internal("adaline is built above".into()))
                }
            };
            if vs.trainable_variables().is_empty() {
                return Err(super::TrainError::Settings(nothing_to_train(&spec.model, vs.variables().len())));
            }
            vs.set_device(device);
            let opt = match spec.optimizer {
                OptimizerKind::Sgd => Ok(Optim::Sgd(FlatSgd::new(&vs, spec.lr, spec.momentum))),
                OptimizerKind::Adam => FlatAdam::new(&vs, spec.lr).map(Optim::Adam),
            }
            .map_err(|e| super::TrainError::Internal(format!("could not create the optimizer: {e}")))?;
            let opt_params = match &opt {
                Optim::Adam(adam) => adam.params(),
                Optim::Sgd(sgd) => sgd.params(),
            };
            let dense = match (&net, head) {
                (Network::Mlp(layers), Head::Softmax) => {
                    DenseSoftmaxStep::new(&dense_params(layers), opt_params)
                }
                _ => None,
            };
            Box::new(AutogradLearner { vs, net, head, opt, squeeze: head != Head::Softmax, dense })
        }
    };
    Ok(learner)
}

/// Why a model without a trainable parameter (a TorchScript module with none, or all frozen)
/// can't be trained; the optimizer would fail with a bare libtorch error otherwise.
fn nothing_to_train(model: &super::ModelChoice, frozen: usize) -> String {
    let frozen = match frozen {
        0 => String::new(),
        n => format!(" ({n} tensors have requires_grad off)"),
    };
    format!(
        "model {model}: nothing to train: it has no trainable parameters{frozen}; give the module layers \
         whose parameters require grad, such as nn.Linear (docs/models.md, \"Your own models\")"
    )
}

/// A fully connected layer, initialised like PyTorch's `nn.Linear`.
#[derive(Debug)]
struct Dense {
    w: Tensor,
    b: Tensor,
}

fn dense(p: &nn::Path, inputs: i64, outputs: i64) -> Dense {
    let bound = 1.0 / (inputs as f64).sqrt();
    let w = p.var("weight", &[outputs, inputs], Init::Uniform { lo: -bound, up: bound });
    let b = p.var("bias", &[outputs], Init::Uniform { lo: -bound, up: bound });
    Dense { w, b }
}

impl Dense {
    fn forward(&self, xs: &Tensor) -> Tensor {
        xs.linear(&self.w, Some(&self.b))
    }
}

/// The layers as the hand-written step takes them.
fn dense_params(layers: &[Dense]) -> Vec<DenseParams<'_>> {
    layers.iter().map(|l| DenseParams { weight: &l.w, bias: &l.b }).collect()
}

/// A 2-D convolution, initialised like PyTorch's `nn.Conv2d`.
#[derive(Debug)]
struct Conv {
    w: Tensor,
    b: Tensor,
    padding: i64,
}

fn conv(p: &nn::Path, inputs: i64, outputs: i64, kernel: i64, padding: i64) -> Conv {
    let bound = 1.0 / ((inputs * kernel * kernel) as f64).sqrt();
    let w = p.var("weight", &[outputs, inputs, kernel, kernel], Init::Uniform { lo: -bound, up: bound });
    let b = p.var("bias", &[outputs], Init::Uniform { lo: -bound, up: bound });
    Conv { w, b, padding }
}

impl Conv {
    fn forward(&self, xs: &Tensor) -> Tensor {
        xs.conv2d(&self.w, Some(&self.b), [1, 1], [self.padding, self.padding], [1, 1], 1)
    }
}

/// LeNet-5: two conv + pool stages, then three dense layers.
#[derive(Debug)]
struct Lenet5 {
    c1: Conv,
    c2: Conv,
    f1: Dense,
    f2: Dense,
    f3: Dense,
}

fn lenet5(root: &nn::Path, sample_shape: &[i64], outputs: i64) -> Result<Lenet5, String> {
    let [channels, height, width] = sample_shape else {
        return Err(format!(
            "lenet5 needs images (channels × height × width), got samples of shape {sample_shape:?}"
        ));
    };
    // conv 5×5 with padding 2 keeps the size; pool halves; conv 5×5 takes 4; pool halves.
    let after = |n: i64| (n / 2 - 4) / 2;
    let (h, w) = (after(*height), after(*width));
    if h < 1 || w < 1 {
        return Err(super::lenet5_too_small(*width, *height));
    }
    Ok(Lenet5 {
        // The indices of the equivalent nn.Sequential (see the module's documentation).
        c1: conv(&(root / "0"), *channels, 6, 5, 2),
        c2: conv(&(root / "3"), 6, 16, 5, 0),
        f1: dense(&(root / "7"), 16 * h * w, 120),
        f2: dense(&(root / "9"), 120, 84),
        f3: dense(&(root / "11"), 84, outputs),
    })
}

/// The networks trained with autograd.
#[derive(Debug)]
enum Network {
    /// Dense layers with ReLU between them (one layer: logistic or linear regression).
    Mlp(Vec<Dense>),
    /// ADALINE's linear unit: one weight per input and a bias.
    Adaline {
        w: Tensor,
        b: Tensor,
    },
    Lenet5(Lenet5),
    /// A layer stack of the user's own.
    Stack(StackNet),
    /// A TorchScript module of the user's own.
    Script(ScriptNet),
}

impl Network {
    /// `train`: dropout and batch statistics on (only layer stacks have such layers).
    fn forward(&self, xs: &Tensor, train: bool) -> Tensor {
        match self {
            Network::Stack(net) => net.forward(xs, train),
            Network::Script(net) => net.forward(xs),
            Network::Mlp(layers) => {
                let mut h = flatten(xs);
                let last = layers.len() - 1;
                for (i, layer) in layers.iter().enumerate() {
                    h = layer.forward(&h);
                    if i < last {
                        h = h.relu();
                    }
                }
                h
            }
            Network::Adaline { w, b } => flatten(xs).mv(w) + b,
            Network::Lenet5(n) => {
                let h = n.c1.forward(xs).relu().max_pool2d([2, 2], [2, 2], [0, 0], [1, 1], false);
                let h = n.c2.forward(&h).relu().max_pool2d([2, 2], [2, 2], [0, 0], [1, 1], false);
                let h = n.f1.forward(&h.flatten(1, -1)).relu();
                let h = n.f2.forward(&h).relu();
                n.f3.forward(&h)
            }
        }
    }
}

/// Samples as rows: `[N, ...]` → `[N, features]`.
fn flatten(xs: &Tensor) -> Tensor {
    if xs.dim() > 2 {
        xs.flatten(1, -1)
    } else {
        xs.shallow_clone()
    }
}

/// How an autograd model's parameters are updated.
enum Optim {
    /// Adam on one flat buffer, with gradients from `run_backward` (see optim.rs).
    Adam(FlatAdam),
    /// SGD with momentum, with gradients from `run_backward` (see optim.rs).
    Sgd(FlatSgd),
}

struct AutogradLearner {
    vs: VarStore,
    net: Network,
    head: Head,
    opt: Optim,
    /// One-output heads give `[N, 1]`; the loss wants `[N]`.
    squeeze: bool,
    /// Dense layers with a softmax head: gradients by hand, not by the autograd engine (see
    /// dense_step.rs); `None` for every other network.
    dense: Option<DenseSoftmaxStep>,
}

impl AutogradLearner {
    fn outputs(&self, xs: &Tensor, train: bool) -> Tensor {
        let out = self.net.forward(xs, train);
        if self.squeeze && out.dim() == 2 {
            out.squeeze_dim(-1)
        } else {
            out
        }
    }
}

impl Learner for AutogradLearner {
    fn train_step(&mut self, xb: &Tensor, yb: &Tensor) -> Result<Tensor, TchError> {
        if let (Some(dense), Network::Mlp(layers)) = (&mut self.dense, &self.net) {
            let loss = dense.step(&dense_params(layers), &flatten(xb), yb)?;
            match &mut self.opt {
                Optim::Adam(adam) => adam.step_flat(dense.flat_grad())?,
                Optim::Sgd(sgd) => sgd.step(dense.param_grads())?,
            }
            return Ok(loss);
        }
        // A TorchScript module keeps its own mode: training only inside the step.
        if let Network::Script(net) = &mut self.net {
            net.set_train(true);
        }
        let loss = self.head.loss(&self.outputs(xb, true), yb);
        if let Network::Script(net) = &mut self.net {
            net.set_train(false);
        }
        match &mut self.opt {
            Optim::Adam(adam) => {
                let grads = Tensor::f_run_backward(&[&loss], adam.params(), false, false)?;
                adam.step(&grads)?;
            }
            Optim::Sgd(sgd) => {
                let grads = Tensor::f_run_backward(&[&loss], sgd.params(), false, false)?;
                sgd.step(&grads)?;
            }
        }
        Ok(loss.detach())
    }

    fn forward(&self, xs: &Tensor) -> Tensor {
        self.outputs(xs, false)
    }

    fn head(&self) -> Head {
        self.head
    }

    fn var_store(&self) -> &VarStore {
        &self.vs
    }

    fn var_store_mut(&mut self) -> &mut VarStore {
        &mut self.vs
    }

    fn optimizer_state(&self) -> Vec<(String, Tensor)> {
        match &self.opt {
            Optim::Adam(adam) => adam.state(),
            Optim::Sgd(sgd) => sgd.state(),
        }
    }

    fn load_optimizer_state(&mut self, state: &StateMap) -> Result<(), TchError> {
        match &mut self.opt {
            Optim::Adam(adam) => adam.load_state(state),
            Optim::Sgd(sgd) => sgd.load_state(state),
        }
    }

    fn pytorch_names(&self) -> Vec<(String, String)> {
        match &self.net {
            Network::Script(net) => net.pytorch_names().to_vec(),
            _ => Vec::new(),
        }
    }
}

/// ADALINE with hand-written gradients and hand-written SGD or Adam updates, following the same
/// formulas as the autograd models' optimizers (libtorch's SGD, PyTorch's Adam in optim.rs) so it
/// matches `adaline-autograd` step for step, up to float rounding.
struct ManualAdaline {
    vs: VarStore,
    w: Tensor,
    b: Tensor,
    rule: ManualRule,
}

enum ManualRule {
    Sgd { lr: f64, momentum: f64, buffers: Option<[Tensor; 2]> },
    Adam { lr: f64, beta1: f64, beta2: f64, eps: f64, step: i32, m: [Tensor; 2], v: [Tensor; 2] },
}

impl ManualRule {
    fn new(spec: &TrainSpec, w: &Tensor, b: &Tensor) -> ManualRule {
        match spec.optimizer {
            OptimizerKind::Sgd => ManualRule::Sgd { lr: spec.lr, momentum: spec.momentum, buffers: None },
            OptimizerKind::Adam => ManualRule::Adam {
                lr: spec.lr,
                beta1: 0.9,
                beta2: 0.999,
                eps: 1e-8,
                step: 0,
                m: [w.zeros_like(), b.zeros_like()],
                v: [w.zeros_like(), b.zeros_like()],
            },
        }
    }

    fn apply(&mut self, params: [&mut Tensor; 2], grads: [Tensor; 2]) -> Result<(), TchError> {
        match self {
            ManualRule::Sgd { lr, momentum, buffers } => {
                let steps: [Tensor; 2] = if *momentum == 0.0 {
                    grads
                } else {
                    match buffers {
                        None => {
                            let first = [grads[0].copy(), grads[1].copy()];
                            *buffers = Some([first[0].shallow_clone(), first[1].shallow_clone()]);
                            first
                        }
                        Some(bufs) => {
                            for (buf, g) in bufs.iter_mut().zip(&grads) {
                                let _ = buf.f_mul_scalar_(*momentum)?.f_add_(g)?;
                            }
                            [bufs[0].shallow_clone(), bufs[1].shallow_clone()]
                        }
                    }
                };
                for (p, s) in params.into_iter().zip(&steps) {
                    let _ = p.f_sub_(&(s * *lr))?;
                }
            }
            ManualRule::Adam { lr, beta1, beta2, eps, step, m, v } => {
                *step += 1;
                let bias1 = 1.0 - beta1.powi(*step);
                let bias2 = 1.0 - beta2.powi(*step);
                for (i, p) in params.into_iter().enumerate() {
                    let g = &grads[i];
                    let _ = m[i].f_mul_scalar_(*beta1)?.f_add_(&(g * (1.0 - *beta1)))?;
                    let _ = v[i].f_mul_scalar_(*beta2)?.f_add_(&(g * g * (1.0 - *beta2)))?;
                    let denom = v[i].sqrt() / bias2.sqrt() + *eps;
                    let _ = p.f_sub_(&(&m[i] / denom * (*lr / bias1)))?;
                }
            }
        }
        Ok(())
    }
}

impl Learner for ManualAdaline {
    fn train_step(&mut self, xb: &Tensor, yb: &Tensor) -> Result<Tensor, TchError> {
        let _no_grad = tch::no_grad_guard();
        let xb = flatten(xb);
        let n = xb.size()[0] as f64;
        let out = xb.mv(&self.w) + &self.b;
        let err = &out - yb;
        let loss = err.square().mean(Kind::Float);
        // d/dw mean((xw + b - y)²) = 2/n · Xᵀ(xw + b - y); d/db = 2/n · Σ(xw + b - y)
        let grad_w = xb.tr().mv(&err) * (2.0 / n);
        let grad_b = err.sum(Kind::Float).reshape([1]) * (2.0 / n);
        self.rule.apply([&mut self.w, &mut self.b], [grad_w, grad_b])?;
        Ok(loss)
    }

    fn forward(&self, xs: &Tensor) -> Tensor {
        flatten(xs).mv(&self.w) + &self.b
    }

    fn head(&self) -> Head {
        Head::Adaline
    }

    fn var_store(&self) -> &VarStore {
        &self.vs
    }

    fn var_store_mut(&mut self) -> &mut VarStore {
        &mut self.vs
    }

    fn optimizer_state(&self) -> Vec<(String, Tensor)> {
        match &self.rule {
            ManualRule::Sgd { buffers, .. } => buffers
                .iter()
                .flatten()
                .enumerate()
                .map(|(i, b)| (format!("sgd.momentum_buffer.{i}"), b.shallow_clone()))
                .collect(),
            ManualRule::Adam { step, m, v, .. } => vec![
                ("adam.m.0".into(), m[0].shallow_clone()),
                ("adam.m.1".into(), m[1].shallow_clone()),
                ("adam.v.0".into(), v[0].shallow_clone()),
                ("adam.v.1".into(), v[1].shallow_clone()),
                ("adam.step".into(), Tensor::from_slice(&[i64::from(*step)])),
            ],
        }
    }

    fn load_optimizer_state(&mut self, state: &StateMap) -> Result<(), TchError> {
        let device = self.w.device();
        let take = |name: &str| state.get(name).and_then(|t| t.f_to_device(device));
        match &mut self.rule {
            ManualRule::Sgd { buffers, .. } => {
                *buffers = match state.contains("sgd.momentum_buffer.0") {
                    true => Some([take("sgd.momentum_buffer.0")?, take("sgd.momentum_buffer.1")?]),
                    false => None,
                };
            }
            ManualRule::Adam { step, m, v, .. } => {
                *m = [take("adam.m.0")?, take("adam.m.1")?];
                *v = [take("adam.v.0")?, take("adam.v.1")?];
                *step = i32::try_from(state.get("adam.step")?.f_int64_value(&[0])?).unwrap_or(i32::MAX);
            }
        }
        Ok(())
    }
}

/// Rebuild a finished run's model from its `run.toml` and load its checkpoint onto `device`.
/// Reads the PyTorch names and, for older folders, the earlier `fc0.weight`-style ones.
pub fn load_checkpoint(
    record: &crate::runs::RunRecord,
    device: Device,
) -> Result<Box<dyn Learner>, super::TrainError> {
    let meta = &record.meta;
    let path = record
        .checkpoint_path()
        .ok_or_else(|| super::TrainError::Run(format!("run {} has no checkpoint", record.dir.display())))?;
    let task = match meta.data.task.as_str() {
        "regression" => Task::Regression,
        _ => Task::Classification { classes: meta.data.classes.clone() },
    };
    let spec = super::script_net::with_run_copy(&meta.hyperparameters, &record.dir);
    let mut learner = build(&spec, &meta.data.sample_shape, &task, device)?;
    super::checkpoint::load_weights(learner.as_mut(), &meta.hyperparameters.model, &path)?;
    Ok(learner)
}

#[cfg(test)]
mod tests {
    use tch::{Device, Kind, Reduction, Tensor};

    use super::*;

    /// An mlp learner from `build` (so with the hand-written step of dense_step.rs) and the same
    /// network's variables from a second, identically seeded `build`.
    fn twins(spec: &TrainSpec) -> (Box<dyn Learner>, Box<dyn Learner>) {
        let task = Task::Classification { classes: vec!["a".into(), "b".into(), "c".into()] };
        let make = || crate::train::rng::seeded(5, || build(spec, &[4], &task, Device::Cpu).unwrap());
        (make(), make())
    }

    /// The reference: the same forward pass differentiated by the autograd engine.
    fn autograd_loss(vs: &VarStore, layers: usize, xs: &Tensor, ys: &Tensor) -> Tensor {
        let vars = vs.variables();
        let mut h = xs.shallow_clone();
        for i in 0..layers {
            let (w, b) = (&vars[&format!("{}.weight", 2 * i)], &vars[&format!("{}.bias", 2 * i)]);
            h = h.linear(w, Some(b));
            if i + 1 < layers {
                h = h.relu();
            }
        }
        h.cross_entropy_loss::<Tensor>(ys, None, Reduction::Mean, -100, 0.0)
    }

    #[test]
    fn an_mlp_trains_exactly_as_with_autograd_under_adam_and_sgd() {
        for optimizer in [OptimizerKind::Adam, OptimizerKind::Sgd] {
            let mut spec = TrainSpec::from_config("x", &crate::config::TrainConfig::default());
            spec.model = ModelKind::Mlp.into();
            spec.hidden = vec![7, 5];
            spec.optimizer = optimizer;
            spec.lr = 0.05;
            spec.momentum = 0.9;
            let (mut fast, reference) = twins(&spec);
            // The reference keeps its own optimizer, fed by run_backward.
            let vs = reference.var_store();
            let mut adam = FlatAdam::new(vs, spec.lr).unwrap();
            let mut sgd = FlatSgd::new(vs, spec.lr, spec.momentum);
            for step in 0..30 {
                let (xs, ys) = crate::train::rng::seeded(100 + step, || {
                    let n = if step % 3 == 2 { 5 } else { 16 };
                    (
                        Tensor::randn([n, 4], (Kind::Float, Device::Cpu)),
                        Tensor::randint(3, [n], (Kind::Int64, Device::Cpu)),
                    )
                });
                let loss = fast.train_step(&xs, &ys).unwrap();
                let want = autograd_loss(vs, 3, &xs, &ys);
                assert!(loss.equal(&want.detach()), "{optimizer:?}, step {step}: the loss");
                match optimizer {
                    OptimizerKind::Adam => {
                        let grads = Tensor::run_backward(&[&want], adam.params(), false, false);
                        adam.step(&grads).unwrap();
                    }
                    OptimizerKind::Sgd => {
                        let grads = Tensor::run_backward(&[&want], sgd.params(), false, false);
                        sgd.step(&grads).unwrap();
                    }
                }
            }
            let (got, want) = (fast.var_store().variables(), vs.variables());
            assert_eq!(got.len(), 6);
            for (name, value) in &got {
                assert!(value.equal(&want[name]), "{optimizer:?}: {name} differs after 30 steps");
            }
        }
    }
}
