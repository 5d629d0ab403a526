//! One planner for every way a run starts (`workbench train`, the TUI, `--resume`): it checks the
//! parameters, finds the dataset, checks the model fits it, resolves the device and sets the
//! data budget, and returns the [`RunRequest`] the worker takes.
use super::{RunRequest, TrainError, TrainSpec};
use crate::config::Settings;
use crate::data::Catalog;
use crate::device::{self, DeviceChoice, DeviceReport};

/// A planned run: everything the worker needs, decided before it starts.
pub type RunPlan = RunRequest;

/// Plan `spec` with the settings' folders and `[images]`, the datasets of `catalog` and the
/// devices of `report` (from `device::probe()`; the TUI passes the one it holds).
///
/// Errors: [`TrainError::Settings`] for a bad value or a model that can't learn the dataset,
/// [`TrainError::Dataset`] for a missing or unusable dataset, [`TrainError::Device`] for a device
/// that isn't there.
pub fn plan(
    settings: &Settings,
    spec: &TrainSpec,
    catalog: &Catalog,
    report: &DeviceReport,
) -> Result<RunPlan, TrainError> {
    spec.as_config().validate().map_err(|bad| TrainError::Settings(bad.to_string()))?;
    let entry = catalog.get(&spec.dataset).ok_or_else(|| {
        let names: Vec<&str> = catalog.entries.iter().map(|e| e.name.as_str()).collect();
        let list = if names.is_empty() { "none".to_string() } else { names.join(", ") };
        TrainError::Dataset(format!(
            "no dataset named {:?} in {}; datasets found: {list}",
            spec.dataset,
            catalog.dir.display()
        ))
    })?;
    let summary = entry
        .summary
        .as_ref()
        .map_err(|e| TrainError::Dataset(format!("dataset {:?} can't be used: {e}", entry.name)))?;
    spec.model.check_fits(summary).map_err(|u| TrainError::Settings(u.0))?;
    let spec = super::user_model::resolve(settings, spec, summary)?;
    let choice: DeviceChoice =
        spec.device.parse().map_err(|e| TrainError::Settings(format!("device {:?}: {e}", spec.device)))?;
    let resolved = device::resolve(choice, report).map_err(|e| TrainError::Device(e.to_string()))?;
    let device_budget = device::data_budget(report, &resolved);
    Ok(RunRequest {
        spec,
        entry: entry.clone(),
        device: resolved,
        device_budget,
        runs_dir: settings.runs_dir.clone(),
        cache_dir: settings.cache_dir.clone(),
        images: settings.images.clone(),
    })
}
