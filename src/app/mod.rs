//! The TUI's state and its update function. No I/O and no drawing here: `update` takes an
//! [`Event`], changes the state, and returns [`Effect`]s for the runner (src/tui) to carry out.
//! Drawing (src/ui) only reads the state.
mod actions;
pub mod board;
mod board_keys;
pub mod command_form;
pub mod compare;
pub mod form;
mod keys;
pub mod layer_args;
mod line_edit;
pub mod run_view;
pub mod runs;
pub mod series;
pub mod submit;
pub mod sweeps;
pub mod tags;

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::path::PathBuf;

use crossterm::event::KeyEvent;

use crate::cluster::submit::{SubmitPlan, Submitted};
use crate::cluster::{ClusterJob, ClusterReport};
use crate::config::Settings;
use crate::data::{Catalog, DatasetEntry};
use crate::device::{self, DeviceChoice, DeviceReport};
use crate::logging::LogLine;
use crate::runs::{ControlCommand, RunEvent, RunKey, RunStatus};
use crate::train::TrainSpec;
use compare::XAxis;
use form::HyperForm;
use run_view::RunView;
use runs::Runs;
use submit::SubmitForm;

/// Most log lines kept for the log pane.
const LOG_LINES: usize = 500;

/// Everything that can happen to the UI. One channel carries them all.
#[derive(Debug)]
pub enum Event {
    /// A key was pressed.
    Key(KeyEvent),
    /// The terminal changed size.
    Resize(u16, u16),
    /// What the runs-folder follower learnt about run folders, whoever writes them (a run this
    /// TUI started, `workbench train` in another shell, a cluster job).
    Runs(Vec<RunEvent>),
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
    /// Whether GPU figures can be had here (NVML), found once at start-up with the device probe.
    GpuTelemetry(crate::telemetry::TelemetryStatus),
    /// The config file was read again: new settings, or why they were refused.
    ConfigLoaded(Box<Result<Settings, String>>),
    /// SIGTERM, SIGHUP or SIGINT arrived: leave, and leave the runs running.
    Signal(i32),
    /// The runner's answer to [`Effect::Submit`]: the run folder and job made, or why not.
    Submitted(Result<Submitted, String>),
    /// The cluster watcher's look at the runs folder: each cluster run's job and its state.
    Cluster(ClusterReport),
    /// The queue watcher's look at the queue: how many runs wait, why each waits, each
    /// device's room.
    Queue(Box<crate::queue::snapshot::QueueSnapshot>),
    /// A background thread panicked (its message's first line); what waited on it is told.
    WorkerFailed { worker: Worker, message: String },
}

/// The TUI's background threads, as [`Event::WorkerFailed`] names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Worker {
    /// The dataset scan (at start, on file changes, after a config reload).
    Scan,
    /// The device probe at start.
    Probe,
    /// Reading config.toml again after it changed.
    Config,
    /// A submission to Slurm or HTCondor.
    Submit,
    /// The thread that follows the runs folder.
    RunsFollower,
    /// The thread that follows other tools' log folders.
    LogsFollower,
    /// The thread that asks the schedulers about cluster runs.
    ClusterWatcher,
    /// The thread that looks at the queue (and starts a dispatcher when runs wait without one).
    QueueWatcher,
    /// The file watcher's callback (datasets folder, config file).
    FileWatcher,
    /// The thread that reads the keyboard.
    Input,
    /// The thread that turns SIGTERM, SIGHUP and SIGINT into events.
    Signals,
}

impl Worker {
    /// Its thread's name, as the log's panic lines name it.
    pub fn thread_name(self) -> &'static str {
        match self {
            Worker::Scan => "scan",
            Worker::Probe => "probe",
            Worker::Config => "config",
            Worker::Submit => "submit",
            Worker::RunsFollower => "runs-watcher",
            Worker::LogsFollower => "logs-watcher",
            Worker::ClusterWatcher => "cluster-watch",
            Worker::QueueWatcher => "queue-watch",
            Worker::FileWatcher => "file-watcher",
            Worker::Input => "input",
            Worker::Signals => "signals",
        }
    }

    /// What it does, for a message: "the dataset scan failed: ...".
    pub fn label(self) -> &'static str {
        match self {
            Worker::Scan => "dataset scan",
            Worker::Probe => "device probe",
            Worker::Config => "config reload",
            Worker::Submit => "submission",
            Worker::RunsFollower => "runs folder follower",
            Worker::LogsFollower => "log folder follower",
            Worker::ClusterWatcher => "cluster watcher",
            Worker::QueueWatcher => "queue watcher",
            Worker::FileWatcher => "file watcher",
            Worker::Input => "keyboard reader",
            Worker::Signals => "signal handler",
        }
    }
}

/// What the runner should do after an update. Effects come in the order they must be carried out.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Plan the run (device, data budget, fit check), create its queued folder and spawn its
    /// process, detached. The run then appears through [`Event::Runs`]; the runner may call
    /// [`App::started_run`] with its key so that it gets the focus at once, or
    /// [`App::start_failed`] when it could not be started.
    StartRun {
        /// The training parameters, dataset and device choice (`auto`, `cpu`, `cuda:0`) included.
        spec: TrainSpec,
        /// Start even when the memory estimate says it may not fit (the user said so in the
        /// popup). Otherwise such a run is not started: the runner calls [`App::may_not_fit`].
        skip_fit_check: bool,
    },
    /// Start the chosen `[commands.NAME]` entry as a command run on `device` (as `workbench run
    /// NAME --param ...` does); the runner then calls [`App::started_run`], or [`App::start_failed`].
    StartCommand {
        /// The entry's name.
        name: String,
        /// Its params as the form has them.
        params: BTreeMap<String, String>,
        /// The chosen dataset, for `{dataset}`.
        dataset: Option<String>,
        /// `auto`, `cpu` or `cuda:N`: the runtime menu's choice.
        device: String,
        /// Queue it (`Q`) instead of starting it: the queue picks its device.
        queued: bool,
    },
    /// Start a race of `spec` (see `train::race`): the CPU against `cuda:gpu`, two runs marked as
    /// one race; the runner then calls [`App::started_race`], or [`App::start_failed`].
    StartRace {
        /// The training parameters; each side sets its own device.
        spec: TrainSpec,
        /// The GPU the CPU races.
        gpu: usize,
    },
    /// Queue a sweep of built-in runs (as `workbench sweep` does), each run asking the queue for
    /// the device fixed in `asked` (the runtime menu's); the runner then calls
    /// [`App::sweep_queued`] or [`App::start_failed`].
    QueueSweep {
        /// The grid and the values every cell shares.
        asked: Box<crate::sweep::ask::Asked>,
        /// The `[commands.NAME]` entry each cell runs (`workbench sweep NAME --param ...`);
        /// `None`: built-in runs.
        entry: Option<String>,
    },
    /// Put the sweep's failed, stopped and interrupted cells back in the queue as new runs with
    /// the same values (the earlier runs stay on disk); the runner then calls
    /// [`App::sweep_requeued`] or [`App::effect_failed`].
    RequeueSweep {
        /// The sweep's name.
        sweep: String,
        /// The runs whose cells go back.
        runs: Vec<RunKey>,
    },
    /// Write the sweep's board as CSV (one row per cell) and, with a group chosen, its runs'
    /// band chart as SVG and PNG; then [`App::exported`] or [`App::export_failed`].
    ExportSweep {
        sweep: String,
        /// The chosen group's band chart, as the board draws it.
        band: Option<Box<board::BandExport>>,
    },
    /// Plan the run as [`Effect::StartRun`] does, make its folder and queue it (`Q`): it starts
    /// when a device can take it. The runner then calls [`App::queued_run`] or
    /// [`App::start_failed`].
    QueueRun {
        /// The training parameters, the device asked for included.
        spec: TrainSpec,
    },
    /// Append a command to a run's `control` file (stop, pause, resume).
    Control {
        /// The run's key (its folder name).
        key: RunKey,
        /// The run's folder.
        dir: PathBuf,
        /// What to ask of it.
        command: ControlCommand,
    },
    /// Continue a stopped, interrupted or failed run from its last checkpoint, in its folder, in a
    /// new detached process; call [`App::start_failed`] if it can't.
    ResumeRun {
        /// The run's key.
        key: RunKey,
        /// The run's folder.
        dir: PathBuf,
    },
    /// Start an ended command run's command again, as a new run on the same device; call
    /// [`App::started_run`] with the new run's key, or [`App::start_failed`].
    RerunCommand {
        /// The ended run's key.
        key: RunKey,
        /// Its folder.
        dir: PathBuf,
    },
    /// Write one CSV (every metric of every run) and one SVG (the overlaid loss curves) of these
    /// runs, then call [`App::exported`] with the files written or [`App::export_failed`].
    Export {
        /// The runs' folders.
        dirs: Vec<PathBuf>,
        /// The runs' keys, in the same order, for the legend and the file names.
        names: Vec<String>,
    },
    /// Hand a run to Slurm or HTCondor on a worker thread (the same path as `workbench submit`);
    /// the answer comes back as [`Event::Submitted`].
    Submit {
        /// The submission, planned from the popup's fields.
        plan: Box<SubmitPlan>,
    },
    /// Scan the datasets folder again (in the background).
    Rescan,
    /// Read the config file again (in the background).
    ReloadConfig,
    /// Leave: restore the terminal. Runs are separate processes and keep going unless
    /// `stop_runs`; then the app has already returned a [`Effect::Control`] stop for each active
    /// run, just before this effect, and the runner need do nothing more for them.
    Quit {
        /// The user chose to stop the running runs before leaving.
        stop_runs: bool,
    },
}

/// The panes that take the keyboard, in Tab order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pane {
    /// The dataset list.
    Datasets,
    /// The model and its hyperparameters.
    Model,
    /// The CPU and the GPUs.
    Devices,
    /// Every run in the runs folder.
    Runs,
    /// The loss and metric charts of the focused run, or the overlay of the selected ones.
    Charts,
    /// The log.
    Log,
}

impl Pane {
    pub const ORDER: [Pane; 6] =
        [Pane::Datasets, Pane::Model, Pane::Devices, Pane::Runs, Pane::Charts, Pane::Log];

    pub fn title(&self) -> &'static str {
        match self {
            Pane::Datasets => "Datasets",
            Pane::Model => "Model",
            Pane::Devices => "Devices",
            Pane::Runs => "Runs",
            Pane::Charts => "Charts",
            Pane::Log => "Log",
        }
    }
}

/// An overlay that takes the keyboard until it closes.
#[derive(Debug, Clone, PartialEq)]
pub enum Popup {
    /// The keys.
    Help,
    /// The runtime menu ("Change runtime type"), with the highlighted row.
    Runtime { selected: usize },
    /// The model list, with the highlighted row.
    ModelPicker { selected: usize },
    /// Quit while runs are going: leave them running (the default) or stop them?
    ConfirmQuit {
        /// How many runs are queued, running or paused.
        active: usize,
    },
    /// A text too long for its pane, whole (a reason CUDA is unusable, a failed run's reason).
    Details { title: String, text: String },
    /// The runtime changed while a run is going: keep the run, or restart it on `device`?
    ConfirmSwitch { device: DeviceChoice },
    /// The tag picker (`t`): which scalar series the charts draw.
    Tags(tags::TagPicker),
    /// `S`: submit the current choices to a cluster scheduler.
    Submit(Box<SubmitForm>),
    /// The run asked for may not fit its device's memory: Enter starts it anyway, Esc cancels.
    ConfirmFit {
        /// The run to start on Enter.
        spec: Box<TrainSpec>,
        /// [`crate::train::memory::Fit::warning`]: the figures and what to lower.
        warning: String,
    },
    /// A list or a range in the form: Enter queues the sweep it makes, Esc goes back.
    ConfirmSweep(Box<sweeps::SweepAsk>),
    /// `b` away from a sweep's run: the sweeps, newest first, with the highlighted row.
    Sweeps { selected: usize },
    /// `b` on a sweep's run: its board.
    Board(Box<board::Board>),
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
    /// What the x axis counts.
    pub x_axis: XAxis,
}

/// A run asked for with [`Effect::StartRun`], not yet seen in the runs folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expecting {
    pub dataset: String,
    pub model: String,
    /// Runs first seen from this palette index on appeared after the start was asked for.
    pub first_new: usize,
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
    /// Why the device probe gave no report (its thread failed); the devices pane shows it.
    pub probe_error: Option<String>,
    /// An error that ends the TUI (the keyboard reader failed): the program exits with it.
    pub fatal_error: Option<String>,
    /// Whether GPU figures can be had here, and why not; `None` until the probe answers.
    pub gpu_telemetry: Option<crate::telemetry::TelemetryStatus>,
    pub runtime: DeviceChoice,
    pub form: HyperForm,
    pub focus: Pane,
    pub popup: Option<Popup>,
    /// Every run in the runs folder, the focused one and the selection.
    pub runs: Runs,
    /// The `/` filter's text while it is being typed.
    pub filter_input: Option<String>,
    /// A run this TUI asked for and has not seen yet. Its folder gets the focus when it appears.
    pub expecting: Option<Expecting>,
    /// The key of a run the runner said it started, until its folder shows up.
    pending_focus: Option<RunKey>,
    pub chart: ChartOptions,
    /// The scalar series (tags) the charts draw; empty: the default loss and metric charts.
    pub chart_tags: BTreeSet<String>,
    pub log: VecDeque<LogLine>,
    /// How many lines the log pane is scrolled up from the newest.
    pub log_scroll: usize,
    /// How many lines the help popup is scrolled down (it is longer than a 24-row terminal).
    pub help_scroll: u16,
    pub notice: Option<Notice>,
    /// Cluster runs by key: their scheduler, job id and last known job state.
    pub cluster_jobs: BTreeMap<String, ClusterJob>,
    /// The queue as last seen: waiting runs and why, each device's room (none until looked at).
    pub queue: Option<crate::queue::snapshot::QueueSnapshot>,
    /// The last error of the cluster watcher, shown once.
    cluster_error: Option<String>,
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
        let mut form = HyperForm::new(settings.train.clone());
        // One read of the models folder at start and at each config reload, not per frame.
        form.user_models = settings.model_registry().models;
        form.set_commands(command_form::command_choices(&settings.commands));
        if form.values.layers.is_empty() {
            // A stack named in [train] model brings its layers, so its numbers show as fields.
            form.set_choice(form.values.model.clone());
        }
        App {
            settings,
            config_error: None,
            catalog: None,
            selected_dataset: 0,
            devices: None,
            probe_error: None,
            fatal_error: None,
            gpu_telemetry: None,
            runtime,
            form,
            focus: Pane::Datasets,
            popup: None,
            runs: Runs::default(),
            filter_input: None,
            expecting: None,
            pending_focus: None,
            chart: ChartOptions::default(),
            chart_tags: BTreeSet::new(),
            log: VecDeque::new(),
            log_scroll: 0,
            help_scroll: 0,
            notice: None,
            cluster_jobs: BTreeMap::new(),
            queue: None,
            cluster_error: None,
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
            Event::Runs(events) => {
                self.on_runs(events);
                if let Some(Popup::Board(board)) = &mut self.popup {
                    board.refresh(&self.runs);
                }
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
            Event::GpuTelemetry(status) => {
                self.gpu_telemetry = Some(status);
                Vec::new()
            }
            Event::ConfigLoaded(result) => self.on_config(*result),
            Event::Submitted(result) => {
                self.on_submitted(result);
                Vec::new()
            }
            Event::Cluster(report) => {
                self.on_cluster(report);
                Vec::new()
            }
            Event::Queue(snapshot) => {
                self.queue = Some(*snapshot);
                Vec::new()
            }
            Event::WorkerFailed { worker, message } => self.on_worker_failed(worker, &message),
            Event::Signal(signal) => {
                // A signal (SIGHUP when the SSH connection drops) leaves the runs running.
                self.should_quit = true;
                self.quit_signal = Some(signal);
                vec![Effect::Quit { stop_runs: false }]
            }
        }
    }

    /// A background thread failed: what waited on it shows the error instead of waiting on.
    fn on_worker_failed(&mut self, worker: Worker, message: &str) -> Vec<Effect> {
        let text = format!("the {} failed with an internal error: {message}", worker.label());
        match worker {
            Worker::Scan => {
                let dir = self.settings.datasets_dir.clone();
                let problem = format!(
                    "{text}; the log file has the details. Edit or remove the file at fault, or restart"
                );
                self.catalog = Some(Catalog { dir, entries: Vec::new(), problem: Some(problem) });
                self.selected_dataset = 0;
            }
            Worker::Probe => self.probe_error = Some(text.clone()),
            Worker::Config => self.config_error = Some(text.clone()),
            Worker::Submit => self.on_submitted(Err(text.clone())),
            Worker::Input => {
                // Without the keyboard nothing can be done here, not even quit: leave, with why.
                self.fatal_error = Some(text.clone());
                self.should_quit = true;
                return vec![Effect::Quit { stop_runs: false }];
            }
            Worker::RunsFollower
            | Worker::LogsFollower
            | Worker::ClusterWatcher
            | Worker::QueueWatcher
            | Worker::FileWatcher
            | Worker::Signals => {}
        }
        self.notify_error(format!("{text} (details in the log file)"));
        Vec::new()
    }

    /// The runner started the run asked for with [`Effect::StartRun`] (or resumed one) in the
    /// folder `key`: it gets the focus, now or when its folder first shows up.
    pub fn started_run(&mut self, key: &str) {
        self.expecting = None;
        self.pending_focus = Some(key.to_string());
        if self.runs.get(key).is_some() {
            self.runs.focused = self.pending_focus.take();
        }
    }

    /// The runner queued the run `key` (`Q`): it gets the focus when its folder shows up.
    pub fn queued_run(&mut self, key: &str, summary: &str) {
        self.pending_focus = Some(key.to_string());
        if self.runs.get(key).is_some() {
            self.runs.focused = self.pending_focus.take();
        }
        self.notify(format!("queued {key}: {summary}"));
    }

    /// The runner started a race: both runs are selected (their curves overlay), the CPU's focused.
    pub fn started_race(&mut self, keys: &[String; 2]) {
        self.started_run(&keys[0]);
        self.runs.selected = keys.to_vec();
    }

    /// The runner did not start the run asked for: its memory estimate is over the device's free
    /// memory. A popup shows `warning` and asks whether to start it anyway.
    pub fn may_not_fit(&mut self, spec: TrainSpec, warning: String) {
        self.expecting = None;
        self.notify_error("the run may not fit its device's memory: Enter starts it anyway, Esc cancels");
        self.popup = Some(Popup::ConfirmFit { spec: Box::new(spec), warning });
    }

    /// The runner could not start (or resume) a run.
    pub fn start_failed(&mut self, error: &str) {
        self.expecting = None;
        self.notify_error(format!("the run could not start: {error}"));
    }

    /// The runner wrote the export files.
    pub fn exported(&mut self, paths: &[PathBuf]) {
        let list: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
        self.notify(format!("exported to {}", list.join(", ")));
    }

    /// The export failed.
    pub fn export_failed(&mut self, error: &str) {
        self.notify_error(format!("export failed: {error}"));
    }

    /// An effect could not be carried out (a control file that can't be written, ...): the
    /// footer says so.
    pub fn effect_failed(&mut self, error: &str) {
        self.notify_error(error.to_string());
    }

    /// The run the header, the progress panel and the single-run charts show.
    pub fn focused_run(&self) -> Option<&RunView> {
        self.runs.focused_run()
    }

    pub fn selected_entry(&self) -> Option<&DatasetEntry> {
        self.catalog.as_ref()?.entries.get(self.selected_dataset)
    }

    /// Is the focused run queued, running or paused?
    pub fn run_is_active(&self) -> bool {
        self.focused_run().is_some_and(|r| r.is_active())
    }

    /// The runtime as the header shows it: `CPU`, `CUDA:0 NVIDIA H100`, or why it can't be used.
    pub fn runtime_label(&self) -> String {
        let Some(report) = &self.devices else {
            let what = if self.probe_error.is_some() { "device probe failed" } else { "probing devices..." };
            return what.into();
        };
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

    fn on_runs(&mut self, events: Vec<RunEvent>) {
        for event in events {
            let meta_event = matches!(event, RunEvent::Meta { .. });
            let focused = self.runs.focused.as_deref() == Some(event.key());
            let was_active = focused && self.run_is_active();
            self.runs.apply(event);
            if meta_event {
                self.focus_if_expected();
            }
            if was_active && !self.run_is_active() {
                self.notify_run_end();
            }
        }
    }

    /// The focused run just ended: the footer says how.
    fn notify_run_end(&mut self) {
        let Some(run) = self.focused_run() else { return };
        let text = match (run.status, run.reason_kind()) {
            (Some(RunStatus::Finished), _) => "run finished; s starts another".to_string(),
            (_, Some(kind)) => format!("run failed: {kind} (Enter: the whole reason)"),
            _ => format!("run {}", run.status_label()),
        };
        if run.status == Some(RunStatus::Failed) {
            self.notify_error(text);
        } else {
            self.notify(text);
        }
    }

    /// A run this TUI started gets the focus when its folder shows up: by its key when the runner
    /// told it, else the first new queued or running run with the dataset and model asked for.
    fn focus_if_expected(&mut self) {
        if let Some(key) = &self.pending_focus {
            if self.runs.get(key).is_some() {
                self.runs.focused = self.pending_focus.take();
            }
            return;
        }
        let Some(want) = &self.expecting else { return };
        let found = self.runs.order.iter().find(|k| {
            self.runs.get(k).is_some_and(|r| {
                r.color >= want.first_new
                    && matches!(r.status, Some(RunStatus::Queued | RunStatus::Running))
                    && r.dataset() == want.dataset
                    && r.model() == want.model
            })
        });
        if let Some(key) = found.cloned() {
            self.runs.focused = Some(key);
            self.expecting = None;
        }
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
                self.form.user_models = new.model_registry().models;
                self.form.set_commands(command_form::command_choices(&new.commands));
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
}
