//! Checkpoints: the model's weights in `model.safetensors`, named as PyTorch names them (see
//! models.rs), and everything `--resume` needs in `train_state.safetensors`: the same weights
//! (under `model.`), the optimizer's state, and the epoch, step and training seconds reached.
//!
//! Both are written to temporary files first (in private folders, see util::TempFile, so a link
//! planted in the run folder can't redirect them), then renamed over the old ones: a full disk or a
//! failed write leaves the previous checkpoint as it was, and a killed process leaves the old or
//! the new one, never half of one. They are not fsynced: a sync costs ~10 ms on a plain disk,
//! which would triple the time of a small model checkpointed every epoch; a power cut may lose the
//! last checkpoints, which the kernel writes back within seconds. `--resume` reads only
//! `train_state.safetensors`, which is complete in itself, so a process killed between the two
//! renames (or a `model.safetensors` one epoch behind) can't mix two epochs. The weights are
//! written twice; a model large enough for that to matter is checkpointed at most once a minute.
use std::collections::HashMap;
use std::path::{Path, PathBuf};

use tch::{Device, Tensor};

use super::models::Learner;
use super::optim::StateMap;
use super::{ModelChoice, ModelKind, TrainError};
use crate::runs::{CHECKPOINT_FILE, TRAIN_STATE_FILE};
use crate::util::TempFile;

/// Where a run was when its checkpoint was written.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Progress {
    /// Epochs completed.
    pub epoch: u32,
    /// Steps taken.
    pub step: u64,
    /// Seconds of training so far (pauses excluded), to the start of the epoch in progress.
    pub elapsed_s: f64,
    /// How far into the next epoch, for a checkpoint taken between two batches (a move).
    pub partial: Option<super::engine::PartialEpoch>,
}

/// The weights as PyTorch would name and shape them, on the CPU, sorted by name.
pub fn pytorch_state_dict(learner: &dyn Learner, model: &ModelChoice) -> Vec<(String, Tensor)> {
    let renamed: HashMap<String, String> = learner.pytorch_names().into_iter().collect();
    let mut named: Vec<(String, Tensor)> = learner
        .var_store()
        .variables()
        .into_iter()
        .map(|(name, t)| {
            let t = t.detach().to_device(Device::Cpu).contiguous();
            // ADALINE holds its weight as [inputs]; nn.Linear(inputs, 1) holds [1, inputs].
            let t = match model.builtin() {
                Some(ModelKind::Adaline | ModelKind::AdalineAutograd) if name == "weight" => {
                    t.reshape([1, -1])
                }
                _ => t,
            };
            (renamed.get(&name).cloned().unwrap_or(name), t)
        })
        .collect();
    named.sort_by(|a, b| a.0.cmp(&b.0));
    named
}

/// Write a checkpoint into `dir`: weights, then the optimizer's state and `progress`.
pub fn save(
    dir: &Path,
    learner: &dyn Learner,
    model: &ModelChoice,
    progress: Progress,
) -> Result<(), TrainError> {
    save_with(dir, learner, model, progress, write_tensors)
}

/// How a checkpoint's tensors are written to a (temporary) file; tests stand in a full disk.
type WriteTensors = fn(&Path, &[(String, Tensor)]) -> Result<(), (PathBuf, std::io::Error)>;

/// [`save`], writing each file with `write`.
fn save_with(
    dir: &Path,
    learner: &dyn Learner,
    model: &ModelChoice,
    progress: Progress,
    write: WriteTensors,
) -> Result<(), TrainError> {
    let weights = pytorch_state_dict(learner, model);
    let mut state: Vec<(String, Tensor)> = learner
        .optimizer_state()
        .into_iter()
        .map(|(n, t)| (n, t.detach().to_device(Device::Cpu).contiguous()))
        .collect();
    state.push(("progress.epoch".into(), Tensor::from_slice(&[i64::from(progress.epoch)])));
    state.push(("progress.step".into(), Tensor::from_slice(&[progress.step as i64])));
    state.push(("progress.elapsed_s".into(), Tensor::from_slice(&[progress.elapsed_s])));
    if let Some(p) = progress.partial {
        state.push(("progress.partial_steps".into(), Tensor::from_slice(&[p.steps_done as i64])));
        state.push(("progress.partial_loss_sum".into(), Tensor::from_slice(&[p.loss_sum])));
        state.push(("progress.partial_s".into(), Tensor::from_slice(&[p.seconds])));
    }
    state.extend(weights.iter().map(|(n, t)| (format!("{MODEL_PREFIX}{n}"), t.shallow_clone())));

    let model_path = dir.join(CHECKPOINT_FILE);
    let state_path = dir.join(TRAIN_STATE_FILE);
    let temp = |path: &Path| TempFile::beside(path).map_err(|e| TrainError::disk(path.to_path_buf(), e));
    let (model_tmp, state_tmp) = (temp(&model_path)?, temp(&state_path)?);
    // The state first: it is what --resume reads. A temporary not persisted is removed when dropped.
    let result = write(model_tmp.path(), &weights)
        .and_then(|()| write(state_tmp.path(), &state))
        .and_then(|()| state_tmp.persist(&state_path).map_err(|e| (state_path.clone(), e)))
        .and_then(|()| model_tmp.persist(&model_path).map_err(|e| (model_path.clone(), e)));
    result.map_err(|(path, source)| TrainError::disk(path, source))
}

/// Write tensors as safetensors (before any rename).
fn write_tensors(path: &Path, tensors: &[(String, Tensor)]) -> Result<(), (PathBuf, std::io::Error)> {
    let err = |e: std::io::Error| (path.to_path_buf(), e);
    Tensor::write_safetensors(tensors, path).map_err(|e| err(std::io::Error::other(e.to_string())))?;
    Ok(())
}

/// The prefix of the weights' copy in `train_state.safetensors`.
const MODEL_PREFIX: &str = "model.";

/// The names an earlier version gave the weights (`fc0.weight`, `conv1.bias`), as PyTorch's.
fn legacy_name(model: &ModelChoice, name: &str) -> Option<String> {
    let (module, param) = name.split_once('.')?;
    let index = match (model.builtin()?, module) {
        (ModelKind::Logreg | ModelKind::Linreg, "fc0") => return Some(param.to_string()),
        (ModelKind::Mlp, m) => 2 * m.strip_prefix("fc")?.parse::<usize>().ok()?,
        (ModelKind::Lenet5, "conv1") => 0,
        (ModelKind::Lenet5, "conv2") => 3,
        (ModelKind::Lenet5, "fc1") => 7,
        (ModelKind::Lenet5, "fc2") => 9,
        (ModelKind::Lenet5, "fc3") => 11,
        _ => return None,
    };
    Some(format!("{index}.{param}"))
}

/// Load `model.safetensors` (PyTorch names, or an earlier version's) into the learner's weights.
pub fn load_weights(learner: &mut dyn Learner, model: &ModelChoice, path: &Path) -> Result<(), TrainError> {
    let bad = |why: String| TrainError::Run(format!("cannot load the checkpoint {}: {why}", path.display()));
    let saved = Tensor::read_safetensors(path).map_err(|e| bad(e.to_string()))?;
    let held = held_names(learner);
    let saved: HashMap<String, Tensor> = saved
        .into_iter()
        .map(|(name, t)| {
            let name = held.get(&name).cloned().or_else(|| legacy_name(model, &name)).unwrap_or(name);
            (name, t)
        })
        .collect();
    copy_weights(learner, &saved).map_err(bad)
}

/// From each PyTorch name that the VarStore can't hold (`fc1.weight`) to the name it holds
/// (`fc1_weight`). Checkpoints of TorchScript runs written before they carried the module's
/// names hold the VarStore's names, which then load as they are.
fn held_names(learner: &dyn Learner) -> HashMap<String, String> {
    learner.pytorch_names().into_iter().map(|(held, pytorch)| (pytorch, held)).collect()
}

/// Copy named weights into the learner's variables (reshaped: ADALINE's weight is saved as
/// PyTorch's `[1, inputs]`).
fn copy_weights(learner: &dyn Learner, saved: &HashMap<String, Tensor>) -> Result<(), String> {
    let _no_grad = tch::no_grad_guard();
    for (name, mut var) in learner.var_store().variables() {
        let t = saved.get(&name).ok_or_else(|| format!("it has no {name:?}"))?;
        if t.numel() != var.numel() {
            return Err(format!("{name} has shape {:?}, the model wants {:?}", t.size(), var.size()));
        }
        var.f_copy_(&t.reshape(var.size())).map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// Load a whole checkpoint (weights and optimizer state) into a freshly built learner; returns
/// where the run was.
pub fn load(dir: &Path, learner: &mut dyn Learner) -> Result<Progress, TrainError> {
    let state_path = dir.join(TRAIN_STATE_FILE);
    let bad = |why: String| TrainError::Run(format!("cannot resume from {}: {why}", state_path.display()));
    let state = Tensor::read_safetensors(&state_path).map_err(|e| bad(e.to_string()))?;
    let held = held_names(learner);
    let weights: HashMap<String, Tensor> = state
        .iter()
        .filter_map(|(n, t)| n.strip_prefix(MODEL_PREFIX).map(|n| (n, t)))
        .map(|(n, t)| (held.get(n).cloned().unwrap_or_else(|| n.to_string()), t.shallow_clone()))
        .collect();
    copy_weights(learner, &weights).map_err(bad)?;
    let state = StateMap(state.into_iter().collect());
    learner.load_optimizer_state(&state).map_err(|e| bad(e.to_string()))?;
    let int =
        |name: &str| state.get(name).and_then(|t| t.f_int64_value(&[0])).map_err(|e| bad(e.to_string()));
    let float =
        |name: &str| state.get(name).and_then(|t| t.f_double_value(&[0])).map_err(|e| bad(e.to_string()));
    // Written only by a checkpoint between two batches; absent in every other one.
    let partial = if state.0.contains_key("progress.partial_steps") {
        Some(super::engine::PartialEpoch {
            steps_done: u64::try_from(int("progress.partial_steps")?).unwrap_or(0),
            loss_sum: float("progress.partial_loss_sum")?,
            seconds: float("progress.partial_s")?,
        })
    } else {
        None
    };
    Ok(Progress {
        partial,
        epoch: u32::try_from(int("progress.epoch")?).unwrap_or(0),
        step: u64::try_from(int("progress.step")?).unwrap_or(0),
        elapsed_s: state
            .get("progress.elapsed_s")
            .and_then(|t| t.f_double_value(&[0]))
            .map_err(|e| bad(e.to_string()))?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::Task;
    use crate::train::{ModelKind, TrainSpec};

    /// A disk that fills up when the resume state is written.
    fn full_at_state(path: &Path, tensors: &[(String, Tensor)]) -> Result<(), (PathBuf, std::io::Error)> {
        if path.file_name().is_some_and(|n| n == TRAIN_STATE_FILE) {
            return Err((path.to_path_buf(), std::io::Error::from_raw_os_error(libc::ENOSPC)));
        }
        write_tensors(path, tensors)
    }

    #[test]
    fn a_failed_checkpoint_write_leaves_the_previous_one_intact_and_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let mut spec = TrainSpec::from_config("x", &crate::config::TrainConfig::default());
        spec.model = ModelKind::Logreg.into();
        let task = Task::Classification { classes: vec!["a".into(), "b".into()] };
        let learner = super::super::models::build(&spec, &[4], &task, Device::Cpu).unwrap();
        let first = Progress { epoch: 1, step: 8, elapsed_s: 0.5, partial: None };
        save(dir.path(), learner.as_ref(), &spec.model, first).unwrap();
        let model_before = std::fs::read(dir.path().join(CHECKPOINT_FILE)).unwrap();
        let state_before = std::fs::read(dir.path().join(TRAIN_STATE_FILE)).unwrap();
        let _no_grad = tch::no_grad_guard();
        for (_, mut v) in learner.var_store().variables() {
            let _ = v.fill_(7.0);
        }
        let second = Progress { epoch: 2, ..first };
        let e = save_with(dir.path(), learner.as_ref(), &spec.model, second, full_at_state).unwrap_err();
        assert!(matches!(e, TrainError::Disk { .. }), "{e}");
        assert!(e.to_string().contains(TRAIN_STATE_FILE), "names the file: {e}");
        assert_eq!(std::fs::read(dir.path().join(CHECKPOINT_FILE)).unwrap(), model_before, "weights intact");
        assert_eq!(std::fs::read(dir.path().join(TRAIN_STATE_FILE)).unwrap(), state_before, "state intact");
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().flatten().map(|e| e.file_name()).collect();
        assert_eq!(names.len(), 2, "temporary files are removed: {names:?}");
    }

    #[test]
    fn a_link_planted_at_the_old_temporary_name_is_not_written_through() {
        let dir = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        let victim = outside.path().join("victim");
        std::fs::write(&victim, "precious").unwrap();
        for name in [CHECKPOINT_FILE, TRAIN_STATE_FILE] {
            std::os::unix::fs::symlink(
                &victim,
                dir.path().join(format!(".{name}.tmp-{}", std::process::id())),
            )
            .unwrap();
        }
        let mut spec = TrainSpec::from_config("x", &crate::config::TrainConfig::default());
        spec.model = ModelKind::Logreg.into();
        let task = Task::Classification { classes: vec!["a".into(), "b".into()] };
        let learner = super::super::models::build(&spec, &[4], &task, Device::Cpu).unwrap();
        let progress = Progress { epoch: 1, step: 8, elapsed_s: 0.5, partial: None };
        save(dir.path(), learner.as_ref(), &spec.model, progress).unwrap();
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
        assert!(Tensor::read_safetensors(dir.path().join(CHECKPOINT_FILE)).is_ok());
    }
}
