//! What the keys ask for: starting, controlling, resuming and exporting runs, switching runtime
//! and quitting. Each checks what it can and returns the effects for the runner.
use super::{App, Effect, Expecting, Pane, Popup};
use crate::device::{self, DeviceChoice};
use crate::runs::{ControlCommand, RunStatus};
use crate::train::TrainSpec;

impl App {
    /// Check the current choices (a dataset, a model that fits it) and return the dataset's
    /// file and the training parameters.
    pub(super) fn check_choices(&self) -> Result<(std::path::PathBuf, TrainSpec), String> {
        if let Some(command) = &self.form.command {
            return Err(format!(
                "`{}` is a command: s starts it, Q queues it; races and cluster jobs from the TUI are for \
                 the workbench's own models (submit a command with `workbench submit ... -- COMMAND`)",
                command.name
            ));
        }
        let entry = self.selected_entry().ok_or("no dataset selected; put a .csv in the datasets folder")?;
        let summary =
            entry.summary.as_ref().map_err(|e| format!("dataset {} can't be used: {e}", entry.name))?;
        let values = &self.form.values;
        self.form.fits(&values.model, summary).map_err(|unfit| unfit.to_string())?;
        Ok((entry.source.clone(), TrainSpec::from_config(&entry.name, values)))
    }

    /// Check the current choices and, if they can run, return the training parameters. The
    /// runner's planner checks them again (data budget, memory), with the files at hand.
    pub(super) fn plan_run(&self, runtime: DeviceChoice) -> Result<TrainSpec, String> {
        let (_, mut spec) = self.check_choices()?;
        let report = self.devices.as_ref().ok_or("still probing devices; try again in a moment")?;
        device::resolve(runtime, report).map_err(|e| e.to_string())?;
        spec.device = runtime.to_string();
        Ok(spec)
    }

    /// `s`: start a run with the current choices, as a process of its own.
    pub(super) fn start_run(&mut self, runtime: DeviceChoice) -> Vec<Effect> {
        if self.expecting.is_some() {
            self.notify_error("a run is starting; wait until it shows in the runs pane");
            return Vec::new();
        }
        if self.form_sweeps() {
            return self.ask_sweep(runtime);
        }
        if self.form.command.is_some() {
            return self.start_command(runtime, false);
        }
        match self.plan_run(runtime) {
            Err(why) => {
                self.notify_error(why);
                Vec::new()
            }
            Ok(spec) => self.ask_start(spec, false),
        }
    }

    /// Whether a command can run on `runtime`: the CPU always; a GPU once the probe found it.
    pub(super) fn check_command_runtime(&self, runtime: DeviceChoice) -> Result<(), String> {
        if runtime == DeviceChoice::Cpu {
            return Ok(());
        }
        let report = self.devices.as_ref().ok_or("still probing devices; try again in a moment")?;
        device::resolve(runtime, report).map(|_| ()).map_err(|e| e.to_string())
    }

    /// `s` with a command chosen: start it on the runtime menu's device, with the chosen dataset
    /// for `{dataset}`.
    fn start_command(&mut self, runtime: DeviceChoice, queued: bool) -> Vec<Effect> {
        let Some(command) = self.form.command.clone() else { return Vec::new() };
        let dataset = self.selected_entry().map(|e| e.name.clone());
        if command.uses_dataset && dataset.is_none() {
            self.notify_error(format!(
                "`{}` runs on {{dataset}}: choose a dataset in the datasets pane first",
                command.name
            ));
            return Vec::new();
        }
        if let Err(why) = self.check_command_runtime(runtime) {
            self.notify_error(why);
            return Vec::new();
        }
        let dataset = dataset.filter(|_| command.uses_dataset);
        if queued {
            self.notify(format!("queueing the command {} ({})", command.name, self.runtime_label()));
        } else {
            self.expecting = Some(Expecting {
                dataset: dataset.clone().unwrap_or_default(),
                model: command.name.clone(),
                first_new: self.runs.next_color,
            });
            self.focus = Pane::Charts;
            self.notify(format!("starting the command {} ({})", command.name, self.runtime_label()));
        }
        vec![Effect::StartCommand {
            name: command.name.clone(),
            params: command.given(),
            dataset,
            device: runtime.to_string(),
            queued,
        }]
    }

    /// `Q`: queue a run with the current choices instead of starting it; the queue's dispatcher
    /// starts it when a device can take it.
    pub(super) fn queue_run(&mut self, runtime: DeviceChoice) -> Vec<Effect> {
        if self.form_sweeps() {
            return self.ask_sweep(runtime);
        }
        if self.form.command.is_some() {
            return self.start_command(runtime, true);
        }
        match self.plan_run(runtime) {
            Err(why) => {
                self.notify_error(why);
                Vec::new()
            }
            Ok(spec) => {
                self.notify(format!(
                    "queueing {} on {} ({})",
                    spec.model,
                    spec.dataset,
                    self.runtime_label()
                ));
                vec![Effect::QueueRun { spec }]
            }
        }
    }

    /// Ask the runner to start `spec`, expecting its folder to show up; `skip_fit_check` after the
    /// user said "start anyway" to the memory warning.
    pub(super) fn ask_start(&mut self, spec: TrainSpec, skip_fit_check: bool) -> Vec<Effect> {
        self.expecting = Some(Expecting {
            dataset: spec.dataset.clone(),
            model: spec.model.name().to_string(),
            first_new: self.runs.next_color,
        });
        self.focus = Pane::Charts;
        self.notify(format!("starting {} on {} ({})", spec.model, spec.dataset, self.runtime_label()));
        vec![Effect::StartRun { spec, skip_fit_check }]
    }

    /// `c`: race the current choices on the CPU against the first GPU; without one, say why not.
    pub(super) fn start_race(&mut self) -> Vec<Effect> {
        let Some(report) = self.devices.as_ref() else {
            self.notify_error("still probing devices; try again in a moment");
            return Vec::new();
        };
        if let Some(why) = crate::train::race::gpu_unavailable(report, 0) {
            self.notify_error(why);
            return Vec::new();
        }
        if self.expecting.is_some() {
            self.notify_error("a run is starting; wait until it shows in the runs pane");
            return Vec::new();
        }
        match self.plan_run(DeviceChoice::Cpu) {
            Err(why) => {
                self.notify_error(why);
                Vec::new()
            }
            Ok(spec) => {
                self.focus = Pane::Charts;
                self.notify(format!("racing {} on {}: CPU against cuda:0", spec.model, spec.dataset));
                vec![Effect::StartRace { spec, gpu: 0 }]
            }
        }
    }

    /// `m` in the runtime switch popup: move the focused run to `device` (checkpointed at its next
    /// batch boundary, it goes on there in the same folder); the next runs use it too.
    pub(super) fn move_run(&mut self, device: DeviceChoice) -> Vec<Effect> {
        self.popup = None;
        let Some(run) = self.focused_run().filter(|r| r.is_active()) else {
            self.notify_error("no running run to move");
            return Vec::new();
        };
        let effect = Effect::Control {
            key: run.key.clone(),
            dir: run.dir.clone(),
            command: ControlCommand::Move { device: device.to_string(), threads: None },
        };
        self.runtime = device;
        self.notify(format!(
            "moving the run to {}; it goes on there after its batch in progress",
            self.runtime_label()
        ));
        vec![effect]
    }

    /// `x`: stop the selected runs, or the focused one.
    pub(super) fn stop_runs(&mut self) -> Vec<Effect> {
        let targets: Vec<_> = self.runs.targets().into_iter().filter(|r| r.is_active()).collect();
        let commands = targets.iter().filter(|r| r.is_command()).count();
        let effects: Vec<Effect> = targets
            .iter()
            .map(|r| Effect::Control {
                key: r.key.clone(),
                dir: r.dir.clone(),
                command: ControlCommand::Stop,
            })
            .collect();
        let grace = self.settings.commands.stop_grace_s;
        match effects.len() {
            0 => self.notify_error("no running run to stop: focus or select one in the runs pane"),
            1 if commands == 1 => self.notify(format!(
                "stopping the command: SIGINT to its process group, SIGTERM after {grace} s, SIGKILL after {grace} s more"
            )),
            1 => self.notify("stopping after the current batch..."),
            n => self.notify(format!("stopping {n} runs after their current batch...")),
        }
        effects
    }

    /// `p`: pause the running ones among the selected runs (or the focused one); resume the
    /// paused ones.
    pub(super) fn toggle_pause(&mut self) -> Vec<Effect> {
        let effects: Vec<Effect> = self
            .runs
            .targets()
            .into_iter()
            .filter_map(|r| {
                let command = match r.status? {
                    RunStatus::Running => ControlCommand::Pause,
                    RunStatus::Paused => ControlCommand::Resume,
                    _ => return None,
                };
                r.problem.is_none().then(|| Effect::Control {
                    key: r.key.clone(),
                    dir: r.dir.clone(),
                    command,
                })
            })
            .collect();
        if effects.is_empty() {
            self.notify_error("only a running or paused run can be paused or resumed");
        }
        let pauses_command = effects.iter().any(|e| {
            matches!(e, Effect::Control { key, command: ControlCommand::Pause, .. }
                if self.runs.get(key).is_some_and(|r| r.is_command()))
        });
        if pauses_command {
            self.notify(
                "pausing the command (SIGSTOP to its process group): a paused process keeps its GPU memory",
            );
        }
        effects
    }

    /// `R`: continue the selected (or focused) stopped, interrupted or failed runs; a command run
    /// that ended is started again as a new run (a script's own checkpoints are its own).
    pub(super) fn resume_runs(&mut self) -> Vec<Effect> {
        let targets = self.runs.targets();
        let reruns: Vec<Effect> = targets
            .iter()
            .filter(|r| r.is_command() && r.problem.is_none() && r.status.is_some() && !r.is_active())
            .map(|r| Effect::RerunCommand { key: r.key.clone(), dir: r.dir.clone() })
            .collect();
        let effects: Vec<Effect> = targets
            .into_iter()
            .filter(|r| r.can_resume() && !r.is_command())
            .map(|r| Effect::ResumeRun { key: r.key.clone(), dir: r.dir.clone() })
            .collect();
        if !reruns.is_empty() {
            self.notify(format!(
                "starting the same command again as {} new run(s): a script resumes from its own checkpoints, if it keeps any",
                reruns.len()
            ));
            return reruns;
        }
        match effects.len() {
            0 => self.notify_error("only a stopped, interrupted or failed run can be resumed (or an ended command run started again)"),
            1 => self.notify("resuming from the last checkpoint..."),
            n => self.notify(format!("resuming {n} runs from their last checkpoints...")),
        }
        effects
    }

    /// `e`: write CSV and SVG of the selected runs (or the focused one).
    pub(super) fn export_runs(&mut self) -> Vec<Effect> {
        let readable =
            |r: &&super::RunView| r.problem.is_none() && (r.meta.is_some() || r.external.is_some());
        let runs: Vec<_> = self.runs.targets().into_iter().filter(readable).collect();
        if runs.is_empty() {
            self.notify_error("nothing to export: focus or select runs in the runs pane");
            return Vec::new();
        }
        let dirs = runs.iter().map(|r| r.dir.clone()).collect();
        let names = runs.iter().map(|r| r.key.clone()).collect();
        self.notify(format!("exporting {} run(s)...", runs.len()));
        vec![Effect::Export { dirs, names }]
    }

    /// `q`: quit at once when no run is going; else ask whether to leave them running.
    pub(super) fn ask_quit(&mut self) -> Vec<Effect> {
        let active = self.runs.active().len();
        if active == 0 {
            self.should_quit = true;
            return vec![Effect::Quit { stop_runs: false }];
        }
        self.popup = Some(Popup::ConfirmQuit { active });
        Vec::new()
    }

    /// Leave, stopping every active run first when `stop`.
    pub(super) fn quit(&mut self, stop: bool) -> Vec<Effect> {
        self.popup = None;
        self.should_quit = true;
        let mut effects: Vec<Effect> = if stop {
            self.runs
                .active()
                .into_iter()
                .map(|r| Effect::Control {
                    key: r.key.clone(),
                    dir: r.dir.clone(),
                    command: ControlCommand::Stop,
                })
                .collect()
        } else {
            Vec::new()
        };
        effects.push(Effect::Quit { stop_runs: stop });
        effects
    }

    /// A runtime was chosen in the menu.
    pub(super) fn choose_runtime(&mut self, choice: DeviceChoice) -> Vec<Effect> {
        if choice == self.runtime {
            self.popup = None;
            return Vec::new();
        }
        if self.run_is_active() {
            self.popup = Some(Popup::ConfirmSwitch { device: choice });
            return Vec::new();
        }
        self.runtime = choice;
        self.popup = None;
        self.notify(format!("runtime: {}", self.runtime_label()));
        Vec::new()
    }

    /// Switching runtime while the focused run goes: keep it going, or stop it (kept on disk)
    /// and start the same training on the new runtime.
    pub(super) fn confirm_switch(&mut self, device: DeviceChoice, restart: bool) -> Vec<Effect> {
        self.popup = None;
        let previous = self.runtime;
        self.runtime = device;
        if !restart {
            self.notify(format!("the run goes on as it is; the next run uses {}", self.runtime_label()));
            return Vec::new();
        }
        // Check the new run can start before stopping the old one.
        if let Err(why) = self.plan_run(device) {
            self.runtime = previous;
            self.notify_error(why);
            return Vec::new();
        }
        let mut effects: Vec<Effect> = self
            .focused_run()
            .filter(|r| r.is_active())
            .map(|r| Effect::Control {
                key: r.key.clone(),
                dir: r.dir.clone(),
                command: ControlCommand::Stop,
            })
            .into_iter()
            .collect();
        effects.extend(self.start_run(device));
        effects
    }
}
