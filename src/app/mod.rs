//! The TUI's state and its update function. No I/O and no drawing here: `update` takes an
//! [`Event`], changes the state, and returns [`Effect`]s for the runner (src/tui) to carry out.
//! Drawing (src/ui) only reads the state.
pub mod form;
mod keys;
pub mod run_view;
pub mod series;

use std::collections::VecDeque;

use crossterm::event::KeyEvent;

use crate::config::Settings;
use crate::data::{Catalog, DatasetEntry};
use crate::device::{self, DeviceChoice, DeviceReport};
use crate::logging::LogLine;
use crate::train::{MetricKind, RunId, RunRequest, StopReason, TrainMsg, TrainSpec};
use form::HyperForm;
use run_view::{RunState, RunView};

/// Most log lines kept for the log pane.
const LOG_LINES: usize = 500;

/// Everything that can happen to the UI. One channel carries them all.
#[derive(Debug)]
pub enum Event {
    /// A key was pressed.
    Key(KeyEvent),
    /// The terminal changed size.
    Resize(u16, u16),
    /// A message from a training worker.
    Train(TrainMsg),
    /// A tracing event at INFO or above.
    Log(LogLine),
    /// Files in the datasets folder were added, changed or removed.
    DatasetsChanged,
    /// The config file changed on disk.
    ConfigChanged,
    /// A dataset scan finished.
    Catalog(Catalog),
    /// The device probe finished.
    Devices(DeviceReport),
    /// The config file was read again: new settings, or why they were refused.
    ConfigLoaded(Result<Settings, String>),
    /// SIGTERM, SIGHUP or SIGINT arrived.
    Signal(i32),
}

/// What the runner should do after an update.
#[derive(Debug)]
pub enum Effect {
    /// Start a run on a worker thread, then call [`App::attach_run`] with its id.
    StartRun(Box<RunRequest>),
    /// Ask a run to stop between batches.
    StopRun(RunId, StopReason),
    /// Pause or resume a run.
    SetPaused(RunId, bool),
    /// Scan the datasets folder again (in the background).
    Rescan,
    /// Read the config file again (in the background).
    ReloadConfig,
    /// Leave: interrupt any run, flush its files, restore the terminal.
    Quit,
}

/// The panes that take the keyboard, in Tab order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pane {
    Datasets,
    Model,
    Devices,
    Charts,
    Log,
}

impl Pane {
    pub const ORDER: [Pane; 5] = [Pane::Datasets, Pane::Model, Pane::Devices, Pane::Charts, Pane::Log];

    pub fn title(&self) -> &'static str {
        match self {
            Pane::Datasets => "Datasets",
            Pane::Model => "Model",
            Pane::Devices => "Devices",
            Pane::Charts => "Charts",
            Pane::Log => "Log",
        }
    }
}

/// An overlay that takes the keyboard until it closes.
#[derive(Debug, Clone, PartialEq)]
pub enum Popup {
    Help,
    /// The runtime menu ("Change runtime type"), with the highlighted row.
    Runtime {
        selected: usize,
    },
    /// The model list, with the highlighted row.
    ModelPicker {
        selected: usize,
    },
    /// Quit while a run is going?
    ConfirmQuit,
    /// The runtime changed while a run is going: keep the run, or restart it on `device`?
    ConfirmSwitch {
        device: DeviceChoice,
    },
}

/// How the charts draw.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ChartOptions {
    /// Log-scale y axis.
    pub log_y: bool,
    /// Show the smoothed step loss instead of the raw one.
    pub smooth: bool,
    /// Show only the latest steps, at full resolution.
    pub recent: bool,
}

/// A line in the footer that says what just happened (a refusal, a hint).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    pub text: String,
    pub is_error: bool,
}

/// One row of the runtime menu.
#[derive(Debug, Clone, PartialEq)]
pub struct RuntimeOption {
    pub choice: Option<DeviceChoice>,
    pub label: String,
    pub detail: String,
    /// Why it can't be chosen, when it can't.
    pub disabled: Option<String>,
}

/// The whole UI state.
#[derive(Debug)]
pub struct App {
    /// The last good settings (a broken config edit leaves them in force).
    pub settings: Settings,
    pub config_error: Option<String>,
    /// `None` until the first scan finishes.
    pub catalog: Option<Catalog>,
    pub selected_dataset: usize,
    /// `None` until the device probe finishes.
    pub devices: Option<DeviceReport>,
    pub runtime: DeviceChoice,
    pub form: HyperForm,
    pub focus: Pane,
    pub popup: Option<Popup>,
    pub run: Option<RunView>,
    pub chart: ChartOptions,
    pub log: VecDeque<LogLine>,
    /// How many lines the log pane is scrolled up from the newest.
    pub log_scroll: usize,
    pub notice: Option<Notice>,
    pub ascii: bool,
    pub should_quit: bool,
    /// The signal that ended the program, if one did: the exit code says so (128 + its number).
    pub quit_signal: Option<i32>,
    /// Something changed since the last frame.
    pub dirty: bool,
}

impl App {
    pub fn new(settings: Settings, ascii: bool) -> App {
        let runtime = settings.train.device.parse().unwrap_or(DeviceChoice::Auto);
        let form = HyperForm::new(settings.train.clone());
        App {
            settings,
            config_error: None,
            catalog: None,
            selected_dataset: 0,
            devices: None,
            runtime,
            form,
            focus: Pane::Datasets,
            popup: None,
            run: None,
            chart: ChartOptions::default(),
            log: VecDeque::new(),
            log_scroll: 0,
            notice: None,
            ascii,
            should_quit: false,
            quit_signal: None,
            dirty: true,
        }
    }

    /// Apply one event. Returns what the runner must do.
    pub fn update(&mut self, event: Event) -> Vec<Effect> {
        self.dirty = true;
        match event {
            Event::Key(key) => self.on_key(key),
            Event::Resize(..) => Vec::new(),
            Event::Train(msg) => {
                self.on_train(msg);
                Vec::new()
            }
            Event::Log(line) => {
                self.push_log(line);
                Vec::new()
            }
            Event::DatasetsChanged => vec![Effect::Rescan],
            Event::ConfigChanged => vec![Effect::ReloadConfig],
            Event::Catalog(catalog) => {
                self.set_catalog(catalog);
                Vec::new()
            }
            Event::Devices(report) => {
                self.devices = Some(report);
                Vec::new()
            }
            Event::ConfigLoaded(result) => self.on_config(result),
            Event::Signal(signal) => {
                self.should_quit = true;
                self.quit_signal = Some(signal);
                vec![Effect::Quit]
            }
        }
    }

    /// The runner spawned the run just started; its messages carry this id.
    pub fn attach_run(&mut self, id: RunId) {
        if let Some(run) = self.run.as_mut() {
            run.id = Some(id);
        }
    }

    /// The runner could not start the worker thread.
    pub fn run_failed_to_start(&mut self, error: String) {
        if let Some(run) = self.run.as_mut() {
            run.state = RunState::Failed(error.clone());
        }
        self.notify_error(error);
    }

    pub fn selected_entry(&self) -> Option<&DatasetEntry> {
        self.catalog.as_ref()?.entries.get(self.selected_dataset)
    }

    pub fn run_is_active(&self) -> bool {
        self.run.as_ref().is_some_and(|r| r.state.is_active())
    }

    /// The runtime as the header shows it: `CPU`, `CUDA:0 NVIDIA H100`, or why it can't be used.
    pub fn runtime_label(&self) -> String {
        let Some(report) = &self.devices else { return "probing devices...".into() };
        match device::resolve(self.runtime, report) {
            Ok(r) if self.runtime == DeviceChoice::Auto => format!("auto: {}", r.label),
            Ok(r) => r.label,
            Err(_) => format!("{} (not available)", self.runtime),
        }
    }

    /// The runtime menu's rows: auto, the CPU, each GPU, or a disabled GPU row with the reason.
    pub fn runtime_options(&self) -> Vec<RuntimeOption> {
        let mut options = vec![RuntimeOption {
            choice: Some(DeviceChoice::Auto),
            label: "auto".into(),
            detail: "the first usable GPU, else the CPU".into(),
            disabled: None,
        }];
        let Some(report) = &self.devices else { return options };
        options.push(RuntimeOption {
            choice: Some(DeviceChoice::Cpu),
            label: "CPU".into(),
            detail: format!("{} ({} threads)", report.cpu.model, report.cpu.torch_threads),
            disabled: None,
        });
        for d in &report.cuda {
            options.push(RuntimeOption {
                choice: Some(DeviceChoice::Cuda(Some(d.index))),
                label: format!("GPU cuda:{}", d.index),
                detail: format!("{} ({})", d.name, crate::util::format_bytes(d.total_memory_bytes)),
                disabled: None,
            });
        }
        if report.cuda.is_empty() {
            options.push(RuntimeOption {
                choice: None,
                label: "GPU (CUDA)".into(),
                detail: String::new(),
                disabled: Some(report.cuda_unavailable.clone().unwrap_or_else(|| "no GPU found".into())),
            });
        }
        options
    }

    fn notify(&mut self, text: impl Into<String>) {
        self.notice = Some(Notice { text: text.into(), is_error: false });
    }

    fn notify_error(&mut self, text: impl Into<String>) {
        self.notice = Some(Notice { text: text.into(), is_error: true });
    }

    fn push_log(&mut self, line: LogLine) {
        if self.log.len() == LOG_LINES {
            self.log.pop_front();
        }
        self.log.push_back(line);
    }

    fn set_catalog(&mut self, catalog: Catalog) {
        // Keep the same dataset selected across rescans; on the first scan pick the configured one.
        let wanted = match &self.catalog {
            Some(_) => self.selected_entry().map(|e| e.name.clone()),
            None => self.settings.train.dataset.clone(),
        };
        self.catalog = Some(catalog);
        let entries = &self.catalog.as_ref().map(|c| c.entries.as_slice()).unwrap_or_default();
        self.selected_dataset = wanted
            .and_then(|name| entries.iter().position(|e| e.name == name))
            .unwrap_or(self.selected_dataset.min(entries.len().saturating_sub(1)));
    }

    fn on_train(&mut self, msg: TrainMsg) {
        let Some(run) = self.run.as_mut() else { return };
        if !run.apply(&msg) {
            return; // a message from a run that was replaced
        }
        match &msg {
            TrainMsg::Finished { .. } => self.notify("run finished; s starts another"),
            TrainMsg::Failed { error, .. } => self.notify_error(format!("run failed: {error}")),
            _ => {}
        }
    }

    fn on_config(&mut self, result: Result<Settings, String>) -> Vec<Effect> {
        match result {
            Err(e) => {
                self.notify_error("config.toml has an error; the last good settings stay in force (see log)");
                self.config_error = Some(e);
                Vec::new()
            }
            Ok(new) => {
                self.config_error = None;
                let rescan = new.datasets_dir != self.settings.datasets_dir
                    || new.datasets != self.settings.datasets
                    || new.images != self.settings.images;
                // Fields the user edits in config.toml take effect; values only typed in the form stay.
                let (old, fresh) = (&self.settings.train, &new.train);
                // Every training parameter, `threads` included (it was missing from a hand-kept list).
                self.form.values.follow(old, fresh);
                if old.device != fresh.device {
                    self.runtime = fresh.device.parse().unwrap_or(self.runtime);
                }
                self.settings = new;
                self.notify("config.toml reloaded");
                if rescan {
                    vec![Effect::Rescan]
                } else {
                    Vec::new()
                }
            }
        }
    }

    /// Check the current choices and, if they can run, return the request.
    fn plan_run(&mut self, runtime: DeviceChoice) -> Result<RunRequest, String> {
        let entry =
            self.selected_entry().ok_or("no dataset selected; put a .csv in the datasets folder")?.clone();
        let summary =
            entry.summary.as_ref().map_err(|e| format!("dataset {} can't be used: {e}", entry.name))?;
        let values = &self.form.values;
        values.model.check_fits(summary)?;
        let report = self.devices.as_ref().ok_or("still probing devices; try again in a moment")?;
        let resolved = device::resolve(runtime, report).map_err(|e| e.to_string())?;
        let mut spec = TrainSpec::from_config(&entry.name, values);
        spec.device = runtime.to_string();
        let device_budget = device::data_budget(report, &resolved);
        Ok(RunRequest {
            spec,
            entry,
            device: resolved,
            device_budget,
            runs_dir: self.settings.runs_dir.clone(),
            cache_dir: self.settings.cache_dir.clone(),
            images: self.settings.images.clone(),
        })
    }

    /// `s`: start a run with the current choices.
    fn start_run(&mut self, runtime: DeviceChoice) -> Vec<Effect> {
        if self.run_is_active() {
            self.notify_error("a run is going; stop it with x first");
            return Vec::new();
        }
        match self.plan_run(runtime) {
            Err(why) => {
                self.notify_error(why);
                Vec::new()
            }
            Ok(request) => {
                let metric = match request.entry.summary.as_ref().map(|s| s.task.is_classification()) {
                    Ok(false) => MetricKind::Mse,
                    _ => MetricKind::Accuracy,
                };
                self.run = Some(RunView::new(
                    &request.spec.dataset,
                    request.spec.model.name(),
                    &request.device.label,
                    request.spec.epochs,
                    metric,
                ));
                self.focus = Pane::Charts;
                self.notify(format!(
                    "starting {} on {} ({})",
                    request.spec.model, request.device.label, request.device.why
                ));
                vec![Effect::StartRun(Box::new(request))]
            }
        }
    }

    fn stop_run(&mut self) -> Vec<Effect> {
        match self.run.as_ref() {
            Some(run) if run.state.is_active() => match run.id {
                Some(id) => {
                    self.notify("stopping after the current batch...");
                    vec![Effect::StopRun(id, StopReason::User)]
                }
                None => Vec::new(),
            },
            _ => {
                self.notify_error("no run is going");
                Vec::new()
            }
        }
    }

    fn toggle_pause(&mut self) -> Vec<Effect> {
        let Some(run) = self.run.as_ref() else {
            self.notify_error("no run is going");
            return Vec::new();
        };
        match (run.id, &run.state) {
            (Some(id), RunState::Running) => vec![Effect::SetPaused(id, true)],
            (Some(id), RunState::Paused) => vec![Effect::SetPaused(id, false)],
            _ => {
                self.notify_error("only a running run can be paused");
                Vec::new()
            }
        }
    }

    /// A runtime was chosen in the menu.
    fn choose_runtime(&mut self, choice: DeviceChoice) -> Vec<Effect> {
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

    /// Switching runtime mid-run: keep the run going, or stop it (kept on disk) and restart.
    fn confirm_switch(&mut self, device: DeviceChoice, restart: bool) -> Vec<Effect> {
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
        let old = self.run.as_ref().and_then(|r| r.id);
        let mut effects: Vec<Effect> =
            old.map(|id| Effect::StopRun(id, StopReason::User)).into_iter().collect();
        // The old run stops in the background and is kept on disk, marked stopped.
        if let Some(run) = self.run.as_mut() {
            run.state = RunState::Stopped(StopReason::User);
        }
        let started = self.start_run(device);
        effects.extend(started);
        effects
    }
}
