//! Planning a run of a user model: find it by name, fill in a layer stack's layers, and check
//! them against the dataset's sample shape before anything is trained.
use super::{ModelChoice, TrainError, TrainSpec};
use crate::config::Settings;
use crate::data::{DatasetSummary, Task};
use crate::models::{ModelSource, ModelSummary};

/// How many outputs a model's last layer needs for `task`.
pub fn outputs_for(task: &Task) -> i64 {
    match task {
        Task::Classification { classes } => classes.len() as i64,
        Task::Regression => 1,
    }
}

/// `spec` with a user model's layers filled in (kept when run.toml or the form already holds
/// them, so a resumed or edited run trains what it recorded) and checked against the dataset.
pub fn resolve(
    settings: &Settings,
    spec: &TrainSpec,
    summary: &DatasetSummary,
) -> Result<TrainSpec, TrainError> {
    let mut spec = spec.clone();
    let ModelChoice::Custom(name) = &spec.model else {
        spec.layers.clear();
        return Ok(spec);
    };
    if spec.layers.is_empty() {
        let registry = settings.model_registry();
        let model = registry.get(name).ok_or_else(|| {
            let builtins: Vec<&str> = crate::params::ModelKind::ALL.iter().map(|k| k.name()).collect();
            let mut names = builtins;
            names.extend(registry.names());
            TrainError::Settings(format!(
                "no model named {name:?}; choose one of {} (layer stacks go in [models.NAME] of config.toml \
                 or {}/NAME.toml)",
                names.join(", "),
                settings.models.dir.display()
            ))
        })?;
        match &model.source {
            ModelSource::Stack { layers, .. } => spec.layers = layers.clone(),
            ModelSource::Script(path) => {
                spec.layers = vec![format!("{}{}", super::script_net::SCRIPT_PREFIX, path.display())];
            }
        }
    }
    if let Some(path) = super::script_net::script_path(&spec.layers) {
        // Checked against the sample shape when loaded (it needs libtorch); here, that it's there.
        if !path.is_file() {
            return Err(TrainError::Settings(format!("model {name:?}: {} is gone", path.display())));
        }
        return Ok(spec);
    }
    let shape: Vec<i64> = summary.sample_shape.iter().map(|&d| d as i64).collect();
    ModelSummary::of(&spec.layers, &shape, outputs_for(&summary.task)).map_err(|e| {
        TrainError::Settings(format!(
            "model {name:?} doesn't fit dataset {:?} (samples of shape {:?}): {e}",
            spec.dataset, summary.sample_shape
        ))
    })?;
    Ok(spec)
}
