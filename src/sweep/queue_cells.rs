//! Turning a sweep's cells into queued runs: each cell is planned first (a bad value is refused
//! before any folder is made), then made into a queued run folder marked with the sweep's name
//! and its values, and handed to the queue.
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::grid::Cell;
use super::record::{CellRecord, CommandTemplate};
use crate::cli::train::{build_spec, TrainArgs};
use crate::command::entries::{fill_placeholders, placeholders_in};
use crate::command::CommandRequest;
use crate::config::Settings;
use crate::data::Catalog;
use crate::device::DeviceReport;
use crate::params::TrainFlags;
use crate::queue::enqueue::{enqueue_folder, gpu_sizes};
use crate::queue::QueueRequest;

/// What every run of the sweep shares: the queue's settings.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct QueueAsk {
    /// `auto`, `any-gpu`, `cuda:N`, `cpu`; `None`: the runs' own (`--device` or `[train] device`).
    pub device: Option<String>,
    pub gpu_mem: Option<String>,
    pub priority: i32,
}

/// One cell, ready to be made: a built-in run's parameters, or a command.
enum Prepared {
    Train { spec: crate::train::TrainSpec, device: String, estimate: Option<u64> },
    Command { request: CommandRequest, device: String },
}

/// The values of `cell` over the fixed ones.
fn values_of(fixed: &BTreeMap<String, String>, cell: &Cell) -> BTreeMap<String, String> {
    let mut values = fixed.clone();
    values.extend(cell.iter().cloned());
    values
}

/// Plan every cell of a sweep of built-in runs: the same checks as `workbench train` (values,
/// dataset, model fit, device). The first cell that can't run is refused with its values.
fn prepare_train(
    settings: &Settings,
    catalog: &Catalog,
    report: &DeviceReport,
    fixed: &BTreeMap<String, String>,
    cells: &[Cell],
    queue: &QueueAsk,
) -> anyhow::Result<Vec<Prepared>> {
    let mut prepared = Vec::with_capacity(cells.len());
    for cell in cells {
        let values = values_of(fixed, cell);
        let mut flags = TrainFlags::default();
        for (name, value) in &values {
            if let Some(slot) = flags.field_mut(name) {
                *slot = Some(value.clone());
            }
        }
        let args =
            TrainArgs { dataset: values.get("dataset").cloned(), params: flags, ..TrainArgs::default() };
        let describe = || cell.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(" ");
        let spec =
            build_spec(settings, &args, catalog).map_err(|e| anyhow::anyhow!("cell {}: {e}", describe()))?;
        let planned = crate::train::plan(settings, &spec, catalog, report)
            .map_err(|e| anyhow::anyhow!("cell {}: {e}", describe()))?;
        let estimate = crate::train::memory::plan_fit(&planned).map(|fit| fit.estimate.total());
        let device = queue.device.clone().unwrap_or_else(|| spec.device.clone());
        prepared.push(Prepared::Train { spec, device, estimate });
    }
    Ok(prepared)
}

/// Fill a command template with each cell's values: `{name}` placeholders in the command after
/// `--`, or a `[commands.NAME]` entry's params. A grid name the command doesn't use, or a
/// placeholder with no value, is refused naming it.
fn prepare_command(
    settings: &Settings,
    catalog: &Catalog,
    template: &CommandTemplate,
    fixed: &BTreeMap<String, String>,
    cells: &[Cell],
    queue: &QueueAsk,
) -> anyhow::Result<Vec<Prepared>> {
    let device = queue.device.clone().unwrap_or_else(|| "auto".into());
    let dataset_path = |name: &str| crate::command::entries::dataset_path_in(catalog, name);
    let mut prepared = Vec::with_capacity(cells.len());
    for cell in cells {
        let values = values_of(fixed, cell);
        let request = match &template.entry {
            Some(entry) => CommandRequest::from_entry(
                &settings.commands,
                entry,
                &values,
                &dataset_path,
                &device,
                template.cwd.clone(),
            )?,
            None => CommandRequest {
                params: values.clone(),
                ..CommandRequest::typed(
                    fill_argv(&template.argv, &values)?,
                    template.cwd.clone(),
                    &device,
                    settings.commands.stop_grace_s,
                )
            },
        };
        prepared.push(Prepared::Command { request, device: device.clone() });
    }
    Ok(prepared)
}

/// `{name}` in each argument replaced by its value; every value must be used, every placeholder
/// filled.
pub fn fill_argv(argv: &[String], values: &BTreeMap<String, String>) -> anyhow::Result<Vec<String>> {
    let used: Vec<String> = argv.iter().flat_map(|a| placeholders_in(a)).collect();
    if let Some(name) = values.keys().find(|name| !used.contains(name)) {
        anyhow::bail!(
            "the sweep's `{name}` is used by no {{{name}}} in the command; write it where the value goes, \
             for example `--{name} {{{name}}}`"
        );
    }
    if let Some(left) = used.iter().find(|name| !values.contains_key(*name)) {
        anyhow::bail!(
            "the command's {{{left}}} has no value: add --grid {left}=VALUES (or a fixed {left}=VALUE)"
        );
    }
    Ok(argv.iter().map(|arg| fill_placeholders(arg, values)).collect())
}

/// What a sweep's cells are run as.
pub enum Template<'a> {
    Train,
    Command(&'a CommandTemplate),
}

impl<'a> Template<'a> {
    /// A sweep record's template: a command's, or built-in runs when it has none.
    pub fn of(command: Option<&'a CommandTemplate>) -> Template<'a> {
        command.map_or(Template::Train, Template::Command)
    }
}

/// Plan every cell, then make each a queued run of sweep `sweep`; the records of the runs made.
/// Nothing is made when a cell can't be planned. A folder that can't be queued is removed and
/// the error says which cell.
#[allow(clippy::too_many_arguments)]
pub fn queue_cells(
    settings: &Settings,
    catalog: &Catalog,
    report: &DeviceReport,
    sweep: &str,
    template: Template<'_>,
    fixed: &BTreeMap<String, String>,
    cells: &[Cell],
    queue: &QueueAsk,
) -> anyhow::Result<Vec<CellRecord>> {
    let prepared = match template {
        Template::Train => prepare_train(settings, catalog, report, fixed, cells, queue)?,
        Template::Command(t) => prepare_command(settings, catalog, t, fixed, cells, queue)?,
    };
    let gpus = gpu_sizes(report);
    let mut made = Vec::with_capacity(cells.len());
    for (cell, prepared) in cells.iter().zip(prepared) {
        let (dir, device, estimate) = match prepared {
            Prepared::Train { spec, device, estimate } => {
                let (_, dir) = crate::train::create_queued_run(&settings.runs_dir, &spec, "cpu")?;
                (dir, device, estimate)
            }
            Prepared::Command { mut request, device } => {
                // The queue picks the device when it starts the run; the folder is made for the CPU.
                request.device = "cpu".into();
                let (_, dir) = crate::command::create_command_run(&settings.runs_dir, &request)?;
                (dir, device, None)
            }
        };
        let values: BTreeMap<String, String> = cell.iter().cloned().collect();
        mark(&dir, sweep, &values)?;
        let request = QueueRequest { device, gpu_mem: queue.gpu_mem.clone(), priority: queue.priority };
        enqueue_folder(&settings.runs_dir, &dir, &request, &gpus, estimate)?;
        made.push(CellRecord { run: crate::runs::folder_id(&dir), values, earlier: Vec::new() });
    }
    Ok(made)
}

/// `sweep = "NAME"` and `[sweep_cell]` in the run's run.toml.
fn mark(dir: &Path, sweep: &str, values: &BTreeMap<String, String>) -> anyhow::Result<()> {
    let marked = (|| -> anyhow::Result<()> {
        let mut meta = crate::runs::read_meta(dir)?;
        meta.sweep = Some(sweep.to_string());
        meta.sweep_cell = values.clone();
        crate::runs::write_run_meta(dir, &meta)?;
        Ok(())
    })();
    if marked.is_err() {
        let _ = std::fs::remove_dir_all(dir);
    }
    marked
}

/// The runs folder's path of a cell's run.
pub fn run_dir(runs_dir: &Path, cell: &CellRecord) -> PathBuf {
    runs_dir.join(&cell.run)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_command_template_is_filled_and_checked() {
        let argv: Vec<String> =
            ["python3", "t.py", "--lr", "{lr}", "--bs={bs}"].iter().map(|s| s.to_string()).collect();
        let values =
            BTreeMap::from([("lr".to_string(), "0.1".to_string()), ("bs".to_string(), "32".to_string())]);
        assert_eq!(fill_argv(&argv, &values).unwrap(), ["python3", "t.py", "--lr", "0.1", "--bs=32"]);
        let mut extra = values.clone();
        extra.insert("seed".into(), "1".into());
        let e = fill_argv(&argv, &extra).unwrap_err().to_string();
        assert!(e.contains("`seed` is used by no {seed}"), "{e}");
        let only_lr = BTreeMap::from([("lr".to_string(), "0.1".to_string())]);
        let e = fill_argv(&argv, &only_lr).unwrap_err().to_string();
        assert!(e.contains("{bs} has no value"), "{e}");
    }
}
