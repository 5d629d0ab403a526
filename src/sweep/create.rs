//! Making a sweep from what was asked for: its cells, its name, and then its record and queued
//! runs. `workbench sweep` and the TUI's list-in-a-field path share it.
use std::collections::BTreeMap;

use anyhow::bail;

use super::ask::Asked;
use super::grid::{Cell, Grid};
use super::queue_cells::{queue_cells, QueueAsk, Template};
use super::record::{sweeps_dir, CommandTemplate, SweepRecord, SWEEP_FILE};
use crate::command::RunKind;
use crate::config::Settings;
use crate::data::Catalog;
use crate::device::DeviceReport;
use crate::params::{ModelKind, OptimizerKind, TrainSpec};

/// More cells than this need `--yes` (`workbench sweep`); the TUI refuses them.
pub const MANY_CELLS: usize = 1000;

/// A sweep ready to be queued: its cells are drawn, its name chosen.
#[derive(Debug, Clone, PartialEq)]
pub struct SweepPlan {
    pub name: String,
    pub asked: Asked,
    /// What each cell runs when it is not a built-in run: a command or a `[commands.NAME]` entry.
    pub template: Option<CommandTemplate>,
    pub cells: Vec<Cell>,
    /// `--random N` and its seed.
    pub random: Option<(usize, u64)>,
    /// What made it, as the record keeps it (`workbench sweep ...`, or the TUI's form).
    pub command_line: String,
    pub queue: QueueAsk,
}

impl SweepPlan {
    /// The plan of `asked`: all its cells or `random` of them, named `name` or by default.
    pub fn new(
        settings: &Settings,
        asked: Asked,
        template: Option<CommandTemplate>,
        random: Option<(usize, u64)>,
        name: Option<String>,
        command_line: String,
        queue: QueueAsk,
    ) -> anyhow::Result<SweepPlan> {
        let cells = cells_of(&asked.grid, random)?;
        let name = name.unwrap_or_else(|| default_name(&asked, settings, template.as_ref()));
        super::record::check_name(&name)?;
        if sweeps_dir(&settings.runs_dir).join(&name).join(SWEEP_FILE).exists() {
            bail!("a sweep named {name:?} exists; choose another --name (or add cells with `workbench sweep extend {name} ...`)");
        }
        Ok(SweepPlan { name, asked, template, cells, random, command_line, queue })
    }

    /// `9 run(s): lr × seed`.
    pub fn summary(&self) -> String {
        format!("{} run(s): {}", self.cells.len(), axes_text(&self.asked.grid))
    }

    /// Record the sweep and queue its runs. Every cell is checked before anything is made; when
    /// one can't run, nothing is left behind.
    pub fn queue(
        &self,
        settings: &Settings,
        catalog: &Catalog,
        report: &DeviceReport,
    ) -> anyhow::Result<SweepRecord> {
        let mut fixed = self.asked.fixed.clone();
        fixed.remove("device");
        let kind = if self.template.is_some() { RunKind::Command } else { RunKind::Train };
        let mut record = SweepRecord {
            name: self.name.clone(),
            created_at: crate::runs::now_rfc3339(),
            command_line: self.command_line.clone(),
            kind,
            random: self.random,
            fixed: self.asked.fixed.clone(),
            grid: self.asked.entries.clone(),
            command: self.template.clone(),
            cells: Vec::new(),
        };
        record.create(&settings.runs_dir)?;
        let template = Template::of(self.template.as_ref());
        let made =
            queue_cells(settings, catalog, report, &self.name, template, &fixed, &self.cells, &self.queue);
        match made {
            Ok(made) => record.cells = made,
            Err(e) => {
                let _ = std::fs::remove_dir_all(sweeps_dir(&settings.runs_dir).join(&self.name));
                return Err(e);
            }
        }
        record.save(&settings.runs_dir)?;
        Ok(record)
    }
}

/// The cells of a grid: all of them, or `random` (N, seed) of them.
pub fn cells_of(grid: &Grid, random: Option<(usize, u64)>) -> anyhow::Result<Vec<Cell>> {
    if grid.axes.is_empty() {
        bail!("nothing varies: give at least one flag a comma list (--lr 0.1,0.01) or a range (--lr 1e-4:1e-1:log:4)");
    }
    let cells = match random {
        Some((0, _)) => bail!("--random 0 draws no cells; draw at least one"),
        Some((n, seed)) => grid.random(n, seed),
        None => grid.cells(),
    };
    Ok(cells)
}

/// `lr × batch_size × seed`.
pub fn axes_text(grid: &Grid) -> String {
    grid.axes.iter().map(|a| a.name.as_str()).collect::<Vec<_>>().join(" × ")
}

/// `lr=0.1 seed=2`.
pub fn cell_text(cell: &Cell) -> String {
    cell.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(" ")
}

/// `20261206-071500-iris-mlp`, from the fixed values and the template.
pub fn default_name(asked: &Asked, settings: &Settings, template: Option<&CommandTemplate>) -> String {
    let stamp: String = crate::runs::now_rfc3339().chars().filter(char::is_ascii_digit).take(14).collect();
    let (date, time) = stamp.split_at(stamp.len().min(8));
    let clean = |s: &str| {
        s.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' { c } else { '_' }).collect::<String>()
    };
    let what = match template {
        Some(CommandTemplate { entry: Some(entry), .. }) => clean(entry),
        Some(t) => {
            let script = t.argv.iter().skip(1).find(|a| !a.starts_with('-')).or(t.argv.first());
            clean(script.map(|s| s.rsplit('/').next().unwrap_or(s)).unwrap_or("command"))
        }
        None => {
            let pick = |name: &str, default: String| {
                asked.fixed.get(name).cloned().unwrap_or_else(|| {
                    if asked.entries.iter().any(|e| e.name == name) {
                        "many".into()
                    } else {
                        default
                    }
                })
            };
            let dataset = pick("dataset", settings.train.dataset.clone().unwrap_or_else(|| "data".into()));
            let model = pick("model", settings.train.model.to_string());
            format!("{}-{}", clean(&dataset), clean(&model))
        }
    };
    format!("{date}-{time}-{what}")
}

/// A run's parameters as `workbench train` flags (by field name): the ones that matter for its
/// model and optimizer, so that a line built from them repeats the run whatever config.toml says.
pub fn train_values(h: &TrainSpec) -> BTreeMap<String, String> {
    let applies = |name: &str| match name {
        "momentum" => h.optimizer == OptimizerKind::Sgd,
        "hidden" => h.model == ModelKind::Mlp,
        "layers" => !h.layers.is_empty(),
        _ => true,
    };
    let mut values: BTreeMap<String, String> = h
        .flag_texts()
        .into_iter()
        .filter(|(name, _)| applies(name))
        .map(|(k, v)| (k.to_string(), v))
        .collect();
    values.insert("dataset".into(), h.dataset.clone());
    values
}
