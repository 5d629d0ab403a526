//! A TorchScript module (`models/NAME.pt`, written by `torch.jit.script(model).save(...)`) as a
//! network the workbench trains: its parameters join the run's VarStore on the run's device
//! (where `.` can't be in a name: `fc1.weight` is held as `fc1_weight`), so the workbench's
//! optimizers, checkpoints and resume apply. Checkpoints carry the module's own names
//! ([`ScriptNet::pytorch_names`]), so `module.load_state_dict(load_file("model.safetensors"))`
//! works on the original PyTorch module. Contract: `forward(x)` takes `[batch, features]` or `[batch, C, H, W]` and returns
//! class logits `[batch, classes]`, or `[batch]`/`[batch, 1]` for regression.
use std::path::{Path, PathBuf};

use super::TrainSpec;
use tch::nn;
use tch::{CModule, Kind, Tensor};

/// The prefix of a TorchScript model's one entry in run.toml's `layers`: `torchscript PATH`.
pub const SCRIPT_PREFIX: &str = "torchscript ";

/// A run's own copy of its TorchScript module, beside run.toml: a resumed run (and a reloaded
/// checkpoint) uses the module the run started with, even after `models/NAME.pt` was edited or
/// removed. run.toml keeps naming the original, so the user sees where the model came from.
pub const RUN_COPY: &str = "model.pt";

/// Copy a TorchScript run's module into its folder, once (a resumed run keeps the copy it has).
/// Written under a temporary name (never through a link) and renamed, so `model.pt` is always whole.
pub fn keep_run_copy(spec: &TrainSpec, run_dir: &Path) -> std::io::Result<()> {
    let Some(source) = script_path(&spec.layers) else { return Ok(()) };
    let copy = run_dir.join(RUN_COPY);
    if copy.is_file() || source == copy {
        return Ok(());
    }
    let partial = crate::util::TempFile::beside(&copy)?;
    std::io::copy(&mut std::fs::File::open(&source)?, &mut partial.create()?)?;
    partial.persist(&copy)
}

/// `spec` reading its TorchScript module from the run folder's copy when the folder has one.
pub fn with_run_copy(spec: &TrainSpec, run_dir: &Path) -> TrainSpec {
    let mut spec = spec.clone();
    let copy = run_dir.join(RUN_COPY);
    if script_path(&spec.layers).is_some() && copy.is_file() {
        spec.layers = vec![format!("{SCRIPT_PREFIX}{}", copy.display())];
    }
    spec
}

/// The module file named by a `layers` list, if it is a TorchScript model's.
pub fn script_path(layers: &[String]) -> Option<PathBuf> {
    match layers {
        [one] => one.strip_prefix(SCRIPT_PREFIX).map(PathBuf::from),
        _ => None,
    }
}

/// Why a module's parameters can't join the VarStore.
enum AddError {
    Torch(tch::TchError),
    /// Two parameter names differ only by `.` against `_` (`a.b_c`, `a_b.c`).
    Clash(String),
}

/// Add the module's parameters to `root` (tensors shared, not copied: training the VarStore
/// trains the module), under their names with `.` written `_`; returns (VarStore name, module name).
fn add_parameters(root: &nn::Path, module: &CModule, path: &Path) -> Result<Vec<(String, String)>, AddError> {
    let params = module.named_parameters().map_err(AddError::Torch)?;
    let mut names: Vec<(String, String)> = Vec::with_capacity(params.len());
    for (name, tensor) in params {
        let var = name.replace('.', "_");
        if let Some((_, other)) = names.iter().find(|(v, _)| *v == var) {
            return Err(AddError::Clash(format!(
                "{}: the parameters {other:?} and {name:?} can't be told apart once `.` is written `_`; \
                 rename one of them",
                path.display()
            )));
        }
        let requires_grad = tensor.requires_grad();
        let _shared = root.add(&var, tensor, requires_grad);
        names.push((var, name));
    }
    Ok(names)
}

/// A loaded TorchScript module.
#[derive(Debug)]
pub struct ScriptNet {
    module: CModule,
    /// Each parameter's name in the VarStore and in the module (`fc1_weight`, `fc1.weight`).
    names: Vec<(String, String)>,
}

impl ScriptNet {
    /// Load `path` with its parameters under `root` (on root's device), and check the contract on
    /// a batch of two zero samples of `sample_shape`: `outputs` values per sample.
    pub fn load(
        root: &nn::Path,
        path: &Path,
        sample_shape: &[i64],
        outputs: i64,
    ) -> Result<ScriptNet, String> {
        let not_torchscript = |e: tch::TchError| {
            let first = e.to_string().lines().next().unwrap_or_default().to_string();
            format!(
                "{} is not a TorchScript module libtorch can load ({first}); write it with \
                 torch.jit.script(model).save(path) (docs/models.md, \"Your own models\")",
                path.display()
            )
        };
        let mut module = CModule::load_on_device(path, root.device()).map_err(not_torchscript)?;
        let names = add_parameters(root, &module, path).map_err(|e| match e {
            AddError::Torch(e) => not_torchscript(e),
            AddError::Clash(text) => text,
        })?;
        module.set_eval();
        let mut shape = vec![2];
        shape.extend_from_slice(sample_shape);
        let probe = Tensor::zeros(shape.as_slice(), (Kind::Float, root.device()));
        let out = tch::no_grad(|| module.forward_ts(&[probe])).map_err(|e| {
            let first = e.to_string().lines().next().unwrap_or_default().to_string();
            format!(
                "{}: forward() failed on a batch of shape {shape:?} ({first}); the module must take \
                 [batch, features] or [batch, C, H, W]",
                path.display()
            )
        })?;
        let got = out.size();
        let ok = got == [2, outputs] || (outputs == 1 && got == [2]);
        if !ok {
            return Err(format!(
                "{}: forward() returned shape {got:?} for a batch of 2; this dataset needs [2, {outputs}] \
                 ({})",
                path.display(),
                if outputs == 1 { "one value per sample" } else { "one logit per class" }
            ));
        }
        Ok(ScriptNet { module, names })
    }

    /// Each parameter's name in the VarStore and in the module: `("fc1_weight", "fc1.weight")`.
    pub fn pytorch_names(&self) -> &[(String, String)] {
        &self.names
    }

    /// Outputs for a batch; the module is in training mode only inside `train_step`.
    pub fn forward(&self, xs: &Tensor) -> Tensor {
        match self.module.forward_ts(&[xs]) {
            Ok(out) => out,
            Err(e) => {
                // It passed the contract check when loaded; log and give NaNs the metrics show.
                tracing::error!("TorchScript forward failed: {e}");
                Tensor::full([xs.size()[0]], f64::NAN, (Kind::Float, xs.device()))
            }
        }
    }

    /// Training mode (dropout, batch statistics) on or off.
    pub fn set_train(&mut self, train: bool) {
        if train {
            self.module.set_train();
        } else {
            self.module.set_eval();
        }
    }
}
