//! Sweeps from the TUI: a list or a range typed into the form makes `s` (or `Q`) ask to queue a
//! sweep, and the popup's Enter queues it.
use super::{App, Effect, Popup};
use crate::device::DeviceChoice;
use crate::params::TrainFlags;
use crate::sweep::ask::{train_ask, Asked};
use crate::sweep::create::{cell_text, cells_of, train_values};

/// More cells than this are refused here: `workbench sweep --yes` takes them.
const MOST_CELLS: usize = crate::sweep::create::MANY_CELLS;

/// Cells the confirmation lists before `...`.
const PREVIEW_CELLS: usize = 6;

/// A sweep asked for from the form, waiting for Enter.
#[derive(Debug, Clone, PartialEq)]
pub struct SweepAsk {
    pub asked: Box<Asked>,
    /// The `[commands.NAME]` entry each cell runs; `None`: built-in runs.
    pub entry: Option<String>,
    /// The runtime menu's choice: each run's device in the queue.
    pub device: String,
    pub cells: usize,
    /// `sweep of 9 runs: lr × seed`.
    pub what: String,
    /// The first cells, as `lr=0.1 seed=1`.
    pub preview: Vec<String>,
}

impl App {
    /// Whether the form has a list or a range in a field that applies: `s` then queues a sweep.
    pub fn form_sweeps(&self) -> bool {
        !self.form.sweep_axes().is_empty()
            || self.form.command.as_ref().is_some_and(|c| !c.sweep_axes().is_empty())
    }

    /// `s` or `Q` with a list in the form: check every cell's values and ask before queueing.
    pub(super) fn ask_sweep(&mut self, runtime: DeviceChoice) -> Vec<Effect> {
        match self.plan_sweep(runtime) {
            Err(why) => self.notify_error(why),
            Ok(ask) => {
                self.notify(format!("{}; Enter to queue, Esc to go back", ask.what));
                self.popup = Some(Popup::ConfirmSweep(Box::new(ask)));
            }
        }
        Vec::new()
    }

    fn plan_sweep(&self, runtime: DeviceChoice) -> Result<SweepAsk, String> {
        if let Some(command) = &self.form.command {
            return self.plan_command_sweep(command, runtime);
        }
        let spec = self.plan_run(runtime)?;
        // Every value the form has, so the sweep repeats whatever config.toml says later.
        let mut flags = TrainFlags::default();
        for (name, text) in train_values(&spec) {
            if let Some(slot) = flags.field_mut(&name) {
                *slot = Some(text);
            }
        }
        flags.device = Some(runtime.to_string());
        for (name, text) in self.form.sweep_axes() {
            if let Some(slot) = flags.field_mut(name) {
                *slot = Some(text);
            }
        }
        let asked = train_ask(Some(&spec.dataset), &flags).map_err(|e| e.0)?;
        self.sweep_ask(asked, runtime, None)
    }

    /// A sweep of the chosen `[commands.NAME]` entry: its swept params, the others fixed, the
    /// chosen dataset for `{dataset}` (as `workbench sweep NAME --param ...`).
    fn plan_command_sweep(
        &self,
        command: &super::command_form::CommandForm,
        runtime: DeviceChoice,
    ) -> Result<SweepAsk, String> {
        self.check_command_runtime(runtime)?;
        let swept = command.sweep_axes();
        let mut pairs: Vec<String> = command
            .given()
            .into_iter()
            .filter(|(name, _)| !swept.iter().any(|(s, _)| s == name))
            .chain(swept.iter().cloned())
            .map(|(name, value)| format!("{name}={value}"))
            .collect();
        if command.uses_dataset {
            let dataset = self.selected_entry().ok_or_else(|| {
                format!("`{}` runs on {{dataset}}: choose a dataset in the datasets pane first", command.name)
            })?;
            pairs.push(format!("{}={}", crate::command::entries::DATASET_PARAM, dataset.name));
        }
        let kinds = command.params.iter().map(|p| (p.name.clone(), p.number_kind())).collect();
        let mut asked = crate::sweep::ask::command_ask(&pairs, &kinds).map_err(|e| e.0)?;
        asked.fixed.insert("device".into(), runtime.to_string());
        self.sweep_ask(asked, runtime, Some(command.name.clone()))
    }

    /// The confirmation of `asked`: its cells counted and the first listed.
    fn sweep_ask(
        &self,
        asked: Asked,
        runtime: DeviceChoice,
        entry: Option<String>,
    ) -> Result<SweepAsk, String> {
        let cells = cells_of(&asked.grid, None).map_err(|e| e.to_string())?;
        if cells.len() > MOST_CELLS {
            return Err(format!(
                "a sweep of {} runs is more than {MOST_CELLS}: shorten the lists, or queue it with `workbench sweep ... --yes`",
                cells.len()
            ));
        }
        let what = format!("sweep of {} runs: {}", cells.len(), crate::sweep::create::axes_text(&asked.grid));
        let preview = cells.iter().take(PREVIEW_CELLS).map(cell_text).collect();
        Ok(SweepAsk {
            asked: Box::new(asked),
            entry,
            device: runtime.to_string(),
            cells: cells.len(),
            what,
            preview,
        })
    }

    /// Enter on the sweep popup.
    pub(super) fn confirm_sweep(&mut self, ask: SweepAsk) -> Vec<Effect> {
        self.popup = None;
        self.notify(format!("queueing the {}", ask.what));
        vec![Effect::QueueSweep { asked: ask.asked, entry: ask.entry }]
    }

    /// The runner queued sweep `name`: its first run gets the focus when it shows up.
    pub fn sweep_queued(&mut self, name: &str, summary: &str, first_run: Option<&str>) {
        if let Some(key) = first_run {
            self.pending_focus = Some(key.to_string());
            if self.runs.get(key).is_some() {
                self.runs.focused = self.pending_focus.take();
            }
        }
        self.notify(format!("queued sweep {name}: {summary}; b opens its board"));
    }
}
