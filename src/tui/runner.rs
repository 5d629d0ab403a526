//! Carries out the app's effects: runs started and resumed as processes of their own, commands
//! and exports for run folders, background scans and config reloads. It also keeps the runs
//! folder followed: every run the app knows arrives from there, whoever started it.
use std::path::{Path, PathBuf};
use std::sync::mpsc::Sender;
use std::thread::JoinHandle;
use std::time::Duration;

use crate::app::{App, Effect, Event, Worker};
use crate::config::{CliOverrides, Settings};
use crate::data::Catalog;
use crate::runs::{self, export, WatcherHandle};
use crate::train::process::{create_queued_run, spawn_detached, Launcher};
use crate::train::TrainError;

/// How often the runs folder is polled besides its file events (network folders send none).
const RUNS_POLL: Duration = Duration::from_millis(500);

pub struct Runner {
    tx: Sender<Event>,
    cli: CliOverrides,
    jobs: Vec<JoinHandle<()>>,
    scanning: bool,
    scan_again: bool,
    /// The folders followed, and the thread following them.
    watched_runs: Option<(Vec<PathBuf>, WatcherHandle)>,
    /// Other tools' log folders followed, and the thread following them.
    watched_logs: Option<(Vec<PathBuf>, LogWatcher)>,
    /// The runs folder whose cluster runs are watched, and the thread watching them.
    watched_cluster: Option<(PathBuf, super::cluster_watch::ClusterWatch)>,
    /// The thread watching the runs folder's queue.
    watched_queue: Option<super::queue_watch::QueueWatch>,
}

impl Runner {
    pub fn new(tx: Sender<Event>, cli: CliOverrides) -> Runner {
        Runner {
            tx,
            cli,
            jobs: Vec::new(),
            scanning: false,
            scan_again: false,
            watched_runs: None,
            watched_logs: None,
            watched_cluster: None,
            watched_queue: None,
        }
    }

    /// Follow the settings' runs folder (again, when it changed), sending what it finds as
    /// [`Event::Runs`].
    pub fn follow_runs(&mut self, settings: &Settings) {
        let dirs = vec![settings.runs_dir.clone()];
        if self.watched_runs.as_ref().is_some_and(|(d, _)| *d == dirs) {
            return;
        }
        self.watched_runs = None;
        self.watched_logs = None; // stops and joins the old thread first
        self.watched_cluster = None;
        self.watched_queue = None;
        match Launcher::current(settings)
            .map_err(|e| std::io::Error::other(e.to_string()))
            .and_then(|l| super::queue_watch::QueueWatch::spawn(l, settings.queue.limits(), self.tx.clone()))
        {
            Ok(w) => self.watched_queue = Some(w),
            Err(e) => tracing::error!("cannot watch the queue: {e}"),
        }
        let interval = Duration::from_secs(settings.cluster.poll_interval_s);
        match super::cluster_watch::ClusterWatch::spawn(settings.runs_dir.clone(), interval, self.tx.clone())
        {
            Ok(w) => self.watched_cluster = Some((settings.runs_dir.clone(), w)),
            Err(e) => tracing::error!("cannot watch the cluster runs: {e}"),
        }
        let tx = self.tx.clone();
        let sink = move |events| tx.send(Event::Runs(events)).is_ok();
        let on_panic = super::workers::reporter(Worker::RunsFollower, &self.tx);
        match runs::spawn_watcher_reporting(dirs.clone(), RUNS_POLL, sink, on_panic) {
            Ok(handle) => self.watched_runs = Some((dirs, handle)),
            Err(e) => tracing::error!("cannot follow the runs folder: {e}; runs won't show up by themselves"),
        }
        let logs = settings.log_dirs.clone();
        if self.watched_logs.as_ref().is_some_and(|(d, _)| *d == logs) {
            return;
        }
        self.watched_logs = None;
        if !logs.is_empty() {
            match LogWatcher::spawn(logs.clone(), self.tx.clone()) {
                Ok(w) => self.watched_logs = Some((logs, w)),
                Err(e) => tracing::error!("cannot follow the log folders: {e}"),
            }
        }
    }

    /// Look at an event before the app does, for what the runner itself tracks.
    pub fn observe(&mut self, event: &Event, app: &App) {
        let scan_ended = matches!(event, Event::Catalog(_))
            || matches!(event, Event::WorkerFailed { worker: Worker::Scan, .. });
        if scan_ended {
            self.scanning = false;
            if std::mem::take(&mut self.scan_again) {
                self.scan(&app.settings);
            }
        }
        self.jobs.retain(|j| !j.is_finished());
    }

    pub fn apply(&mut self, effect: Effect, app: &mut App) {
        match effect {
            Effect::StartRun { spec, skip_fit_check } => match start_run(app, &spec, skip_fit_check) {
                Ok(Started::Run(key)) => app.started_run(&key),
                Ok(Started::MayNotFit(warning)) => app.may_not_fit(spec, warning),
                Err(e) => app.start_failed(&e.to_string()),
            },
            Effect::QueueRun { spec } => match queue_run(app, &spec) {
                Ok((key, summary)) => app.queued_run(&key, &summary),
                Err(e) => app.start_failed(&e),
            },
            Effect::QueueSweep { asked, entry } => match queue_sweep(app, *asked, entry) {
                Ok((name, summary, first)) => app.sweep_queued(&name, &summary, first.as_deref()),
                Err(e) => app.start_failed(&e.to_string()),
            },
            Effect::RequeueSweep { sweep, runs } => match requeue_sweep(app, &sweep, &runs) {
                Ok(count) => app.sweep_requeued(&sweep, count),
                Err(e) => app.effect_failed(&format!("could not requeue: {e}")),
            },
            Effect::ExportSweep { sweep, band } => {
                match export_sweep(&app.settings.runs_dir, &sweep, band.as_deref()) {
                    Ok(paths) => app.exported(&paths),
                    Err(e) => app.export_failed(&e.to_string()),
                }
            }
            Effect::StartRace { spec, gpu } => match start_race(app, &spec, gpu) {
                Ok(keys) => app.started_race(&keys),
                Err(e) => app.start_failed(&e.to_string()),
            },
            Effect::ResumeRun { key, dir } => {
                let resumed = crate::train::resume::check_resumable(&dir)
                    .and_then(|_| spawn_detached(&dir, true, &Launcher::current(&app.settings)?));
                match resumed {
                    Ok(_) => app.started_run(&key),
                    Err(e) => app.start_failed(&e.to_string()),
                }
            }
            Effect::StartCommand { name, params, dataset, device, queued } => {
                match start_command(app, &name, &params, dataset.as_deref(), &device, queued) {
                    Ok((key, None)) => app.started_run(&key),
                    Ok((key, Some(summary))) => app.queued_run(&key, &summary),
                    Err(e) => app.start_failed(&e.to_string()),
                }
            }
            Effect::RerunCommand { dir, .. } => match rerun_command(app, &dir) {
                Ok(key) => app.started_run(&key),
                Err(e) => app.start_failed(&e.to_string()),
            },
            Effect::Export { dirs, names } => match export_runs(&app.settings.runs_dir, &dirs, &names) {
                Ok(paths) => app.exported(&paths),
                Err(e) => app.export_failed(&e.to_string()),
            },
            Effect::Control { dir, command, .. } => {
                if let Err(e) = runs::send_control(&dir, command) {
                    app.effect_failed(&e.to_string());
                }
            }
            Effect::Submit { plan } => {
                let tx = self.tx.clone();
                // sbatch may take seconds on a busy cluster: never on the UI thread.
                self.job(Worker::Submit, move || {
                    let _ = tx.send(super::cluster_watch::submit_event(&plan));
                });
            }
            Effect::Rescan => {
                if self.scanning {
                    self.scan_again = true; // coalesce bursts of file events into one more scan
                } else {
                    self.scan(&app.settings);
                }
            }
            Effect::ReloadConfig => {
                let (tx, cli) = (self.tx.clone(), self.cli.clone());
                self.job(Worker::Config, move || {
                    let result = Settings::load(&cli).map_err(|e| e.to_string());
                    if let Err(e) = &result {
                        // To the log file and the log pane; the app keeps the last good settings.
                        tracing::error!("{e}; the last good settings stay in force");
                    }
                    let _ = tx.send(Event::ConfigLoaded(Box::new(result)));
                });
            }
            Effect::Quit { .. } => {}
        }
    }

    /// Scan the datasets folder on a background thread; the result comes back as an event.
    pub fn scan(&mut self, settings: &Settings) {
        self.scanning = true;
        let tx = self.tx.clone();
        let settings = settings.clone();
        self.job(Worker::Scan, move || {
            super::workers::test_panic("scan");
            let _ = tx.send(Event::Catalog(Catalog::scan_settings(&settings)));
        });
    }

    /// Probe the devices on a background thread.
    pub fn probe(&mut self) {
        let tx = self.tx.clone();
        self.job(Worker::Probe, move || {
            let _ = tx.send(Event::Devices(crate::device::probe()));
            // Once, here: the sparklines say why there are no GPU figures without any I/O.
            let _ = tx.send(Event::GpuTelemetry(crate::telemetry::TelemetryStatus::probe()));
        });
    }

    fn job(&mut self, worker: Worker, f: impl FnOnce() + Send + 'static) {
        match super::workers::spawn(worker, &self.tx, f) {
            Ok(j) => self.jobs.push(j),
            Err(e) => tracing::error!("could not start the {} thread: {e}", worker.thread_name()),
        }
    }

    /// Wait for the background jobs. Runs are processes of their own and go on.
    pub fn shutdown(&mut self) {
        self.watched_runs = None;
        self.watched_cluster = None;
        self.watched_queue = None;
        self.watched_logs = None;
        for job in self.jobs.drain(..) {
            let _ = job.join();
        }
    }
}

/// What [`start_run`] did.
enum Started {
    /// The run's folder was made and its process started: its key.
    Run(String),
    /// Not started: the memory estimate is over the device's free memory (the warning says by
    /// how much and what to lower).
    MayNotFit(String),
}

/// Plan the run with the app's datasets and devices, check that it fits its device's memory
/// (unless `skip_fit_check`), make its queued folder and start its process.
fn start_run(app: &App, spec: &crate::train::TrainSpec, skip_fit_check: bool) -> Result<Started, TrainError> {
    let (catalog, devices) = scanned(app).map_err(|why| TrainError::Settings(why.into()))?;
    let plan = crate::train::plan::plan(&app.settings, spec, catalog, devices)?;
    if !skip_fit_check {
        if let Some(warning) = crate::train::memory::plan_fit(&plan).and_then(|fit| fit.warning()) {
            return Ok(Started::MayNotFit(warning));
        }
    }
    let (key, dir) = create_queued_run(&app.settings.runs_dir, &plan.spec, &plan.device.name)?;
    spawn_detached(&dir, false, &Launcher::current(&app.settings)?)?;
    Ok(Started::Run(key))
}

/// Plan `spec`, make its folder and queue it (`Q`), starting a dispatcher if none runs; its key
/// and what the queue made of it.
fn queue_run(app: &App, spec: &crate::train::TrainSpec) -> Result<(String, String), String> {
    let (catalog, devices) = scanned(app)?;
    let plan = crate::train::plan::plan(&app.settings, spec, catalog, devices).map_err(|e| e.to_string())?;
    let estimate = crate::train::memory::plan_fit(&plan).map(|fit| fit.estimate.total());
    let (key, dir) = create_queued_run(&app.settings.runs_dir, &plan.spec, &plan.device.name)
        .map_err(|e| e.to_string())?;
    Ok((key, enqueue(app, &dir, &spec.device, estimate)?))
}

/// The dataset catalog and the device report a run is planned with, once both have been read.
fn scanned(app: &App) -> Result<(&crate::data::Catalog, &crate::device::DeviceReport), &'static str> {
    match (app.catalog.as_ref(), app.devices.as_ref()) {
        (Some(catalog), Some(devices)) => Ok((catalog, devices)),
        _ => Err("the datasets and devices are still being read; try again"),
    }
}

/// Record and queue the sweep the form asked for, as `workbench sweep` does: its name, what it
/// runs, and its first run's key.
fn queue_sweep(
    app: &App,
    asked: crate::sweep::ask::Asked,
    entry: Option<String>,
) -> anyhow::Result<(String, String, Option<String>)> {
    let (catalog, devices) = scanned(app).map_err(anyhow::Error::msg)?;
    let line = asked.command_line(entry.as_deref());
    let queue = crate::sweep::queue_cells::QueueAsk {
        device: asked.fixed.get("device").cloned(),
        ..Default::default()
    };
    // An entry's command runs where the TUI was started, as `workbench sweep NAME` would.
    let template = match entry {
        Some(entry) => Some(crate::sweep::record::CommandTemplate {
            argv: Vec::new(),
            entry: Some(entry),
            cwd: std::env::current_dir()?,
        }),
        None => None,
    };
    let plan = crate::sweep::create::SweepPlan::new(&app.settings, asked, template, None, None, line, queue)?;
    let record = plan.queue(&app.settings, catalog, devices)?;
    let launcher = Launcher::current(&app.settings)?;
    if let Err(e) = crate::queue::dispatch::ensure_dispatcher(&launcher) {
        tracing::error!("cannot start the queue's dispatcher: {e}");
    }
    Ok((plan.name.clone(), plan.summary(), record.cells.first().map(|c| c.run.clone())))
}

/// `R` on the board: the sweep's failed and stopped cells back in the queue as new runs.
fn requeue_sweep(app: &App, sweep: &str, runs: &[String]) -> anyhow::Result<usize> {
    let (catalog, devices) = scanned(app).map_err(anyhow::Error::msg)?;
    let count = crate::sweep::requeue::requeue_cells(&app.settings, catalog, devices, sweep, runs)?;
    crate::queue::dispatch::ensure_dispatcher(&Launcher::current(&app.settings)?)?;
    Ok(count)
}

/// `e` on the board: the sweep's cells as CSV (as `workbench sweep show --csv`) and the chosen
/// group's band chart as SVG and PNG, under the runs folder's exports/.
fn export_sweep(
    runs_dir: &Path,
    sweep: &str,
    band: Option<&crate::app::board::BandExport>,
) -> anyhow::Result<Vec<PathBuf>> {
    let record = crate::sweep::record::SweepRecord::load(runs_dir, sweep)?;
    let results = crate::sweep::results::results(runs_dir, &record, std::time::SystemTime::now());
    let out = runs_dir.join("exports");
    std::fs::create_dir_all(&out).map_err(|e| runs::RunsError::write(&out, e))?;
    let csv = out.join(format!("sweep-{sweep}.csv"));
    crate::sweep::export::write_cells_csv(&csv, &record.varying(), &results)?;
    let mut paths = vec![csv];
    if let Some(b) = band {
        let clean: String = b
            .label
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() || ".-".contains(c) { c } else { '_' })
            .collect();
        let chart = crate::sweep::export::BandChart {
            title: &b.label,
            metric: &b.metric,
            x_name: &b.x_name,
            band: &b.band,
            colour: b.colour,
        };
        paths.extend(crate::sweep::export::write_band(&out.join(format!("sweep-{sweep}-{clean}")), &chart)?);
    }
    Ok(paths)
}

/// Make the folder of a `[commands.NAME]` run with the form's params and start its run process
/// (or, `queued`, hand it to the queue); nothing is left behind when it can't. Its key, and for a
/// queued run what the queue made of it.
fn start_command(
    app: &App,
    name: &str,
    params: &std::collections::BTreeMap<String, String>,
    dataset: Option<&str>,
    device: &str,
    queued: bool,
) -> Result<(String, Option<String>), crate::command::CommandError> {
    use crate::command::{CommandError, CommandRequest};
    let mut given = params.clone();
    if let Some(dataset) = dataset {
        given.insert(crate::command::entries::DATASET_PARAM.into(), dataset.to_string());
    }
    let dataset_path = |wanted: &str| match app.catalog.as_ref() {
        Some(catalog) => crate::command::entries::dataset_path_in(catalog, wanted),
        None => Err("the datasets are still being read; try again".to_string()),
    };
    let cwd = std::env::current_dir().map_err(|e| CommandError::Run(format!("the current folder: {e}")))?;
    let mut request =
        CommandRequest::from_entry(&app.settings.commands, name, &given, &dataset_path, device, cwd)?;
    if !queued {
        return launch_command(app, &request).map(|key| (key, None));
    }
    // The queue picks the device when it starts the run; the folder is made for the CPU.
    request.device = "cpu".into();
    let (key, dir) = crate::command::create_command_run(&app.settings.runs_dir, &request)?;
    let summary = enqueue(app, &dir, device, None).map_err(CommandError::Run)?;
    Ok((key, Some(summary)))
}

/// Give the queued run in `dir` its `[queue]` table (the folder goes when it can't be queued)
/// and start a dispatcher if none works the runs folder; what the queue made of it.
fn enqueue(app: &App, dir: &Path, device: &str, estimate: Option<u64>) -> Result<String, String> {
    let devices = app.devices.as_ref().ok_or("the devices are still being probed; try again")?;
    let request = crate::queue::QueueRequest { device: device.to_string(), gpu_mem: None, priority: 0 };
    let gpus = crate::queue::enqueue::gpu_sizes(devices);
    let table = crate::queue::enqueue::enqueue_folder(&app.settings.runs_dir, dir, &request, &gpus, estimate)
        .map_err(|e| e.to_string())?;
    let launcher = Launcher::current(&app.settings).map_err(|e| e.to_string())?;
    if let Err(e) = crate::queue::dispatch::ensure_dispatcher(&launcher) {
        tracing::error!("cannot start the queue's dispatcher: {e}");
    }
    let memory =
        table.gpu_mem_mb.map(crate::queue::format_mb).unwrap_or_else(|| table.gpu_mem_source.clone());
    Ok(format!("{}, GPU memory {memory}", table.device))
}

/// Make a command run's folder and start it; the folder goes again if its process can't start.
fn launch_command(
    app: &App,
    request: &crate::command::CommandRequest,
) -> Result<String, crate::command::CommandError> {
    let (key, new_dir) = crate::command::create_command_run(&app.settings.runs_dir, request)?;
    let launcher =
        Launcher::current(&app.settings).map_err(|e| crate::command::CommandError::Run(e.to_string()))?;
    if let Err(e) = crate::command::start_command_run(&new_dir, &launcher) {
        let _ = std::fs::remove_dir_all(&new_dir);
        return Err(e);
    }
    Ok(key)
}

fn rerun_command(app: &App, dir: &Path) -> Result<String, crate::command::CommandError> {
    let meta = runs::read_meta(dir).map_err(|e| crate::command::CommandError::Run(e.to_string()))?;
    let request = crate::command::launch::rerun_request(&meta).ok_or_else(|| {
        crate::command::CommandError::Run(format!("{} is not a command run", dir.display()))
    })?;
    launch_command(app, &request)
}

fn start_race(app: &App, spec: &crate::train::TrainSpec, gpu: usize) -> Result<[String; 2], TrainError> {
    let (catalog, devices) = scanned(app).map_err(|why| TrainError::Settings(why.into()))?;
    let challenger = crate::train::race::Challenger::Gpu(gpu);
    let launcher = Launcher::current(&app.settings)?;
    let race = crate::train::race::start_race(&app.settings, spec, challenger, catalog, devices, &launcher)?;
    let [(a, _), (b, _)] = race.runs;
    Ok([a, b])
}

/// Write `exports/compare-STAMP.csv` and `.svg` under the runs folder for these runs.
fn export_runs(runs_dir: &Path, dirs: &[PathBuf], names: &[String]) -> Result<Vec<PathBuf>, runs::RunsError> {
    let loaded = dirs.iter().zip(names).map(|(d, n)| load_for_export(d, n)).collect::<Result<Vec<_>, _>>()?;
    let out = runs_dir.join("exports");
    std::fs::create_dir_all(&out).map_err(|e| runs::RunsError::write(&out, e))?;
    let stamp: String = runs::now_rfc3339().chars().filter(char::is_ascii_digit).take(14).collect();
    // An external run's name has slashes (`exp-b/version_0`): one flat file name under exports/.
    let base = if names.len() == 1 { names[0].replace('/', "_") } else { format!("compare-{stamp}") };
    let (csv, svg) = (out.join(format!("{base}.csv")), out.join(format!("{base}.svg")));
    export::write_csv(&loaded, &csv)?;
    export::write_svg(&loaded, &svg, (1000, 600))?;
    Ok(vec![csv, svg])
}

/// A workbench run folder, else a run another tool logged in `dir` (read, never written), named
/// `name` as the runs pane names it.
fn load_for_export(dir: &Path, name: &str) -> Result<export::ExportRun, runs::RunsError> {
    let own = match export::ExportRun::load(dir) {
        Ok(run) => return Ok(run),
        Err(e) => e,
    };
    let external = runs::external::load_external_runs(&[dir.to_path_buf()]);
    match external.iter().find(|r| r.dir == dir) {
        Some(run) => Ok(export::ExportRun { id: name.to_string(), ..export::ExportRun::external(run) }),
        None => Err(own),
    }
}

/// How often other tools' log folders are polled: each poll stats their files and reads only
/// what was appended.
const LOGS_POLL: Duration = Duration::from_secs(1);

/// A named thread that follows TensorBoard and Lightning log folders; dropping it stops it.
struct LogWatcher {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl LogWatcher {
    fn spawn(roots: Vec<PathBuf>, tx: Sender<Event>) -> std::io::Result<LogWatcher> {
        use std::sync::atomic::{AtomicBool, Ordering};
        let stop = std::sync::Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let report_to = tx.clone();
        let thread = super::workers::spawn(Worker::LogsFollower, &report_to, move || {
            let mut follower = runs::external::ExternalFollower::new(roots);
            while !flag.load(Ordering::Relaxed) {
                let events = follower.poll();
                if !events.is_empty() && tx.send(Event::Runs(events)).is_err() {
                    return;
                }
                let next = std::time::Instant::now() + LOGS_POLL;
                while !flag.load(Ordering::Relaxed) && std::time::Instant::now() < next {
                    std::thread::sleep(Duration::from_millis(50));
                }
            }
        })?;
        Ok(LogWatcher { stop, thread: Some(thread) })
    }
}

impl Drop for LogWatcher {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crossterm::event::{KeyCode, KeyEvent};

    /// An app over the shipped datasets and this machine's devices, with an empty runs folder.
    fn app(runs: &Path, cache: &Path) -> App {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let text = std::fs::read_to_string(root.join("config.toml")).unwrap();
        let file = crate::config::parse_config(&text).unwrap();
        let mut settings = Settings::from_file(file, root, Some(root.join("config.toml")));
        settings.runs_dir = runs.to_path_buf();
        settings.cache_dir = cache.to_path_buf();
        let mut app = App::new(settings.clone(), false);
        app.update(Event::Catalog(Catalog::scan_settings(&settings)));
        app.update(Event::Devices(crate::device::probe()));
        app
    }

    #[test]
    fn a_run_that_may_not_fit_is_not_started() {
        let (runs, cache) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let mut app = app(runs.path(), cache.path());
        let effects = app.update(Event::Key(KeyEvent::from(KeyCode::Char('s'))));
        let Some(Effect::StartRun { mut spec, .. }) = effects.into_iter().next() else { panic!("no start") };
        // Two hidden layers of a million units: about 16 TB with Adam, on any machine's CPU.
        spec.hidden = vec![1_000_000, 1_000_000];
        spec.device = "cpu".into();
        match start_run(&app, &spec, false) {
            Ok(Started::MayNotFit(warning)) => {
                assert!(warning.contains("may not fit") && warning.contains("free on cpu"), "{warning}")
            }
            Ok(Started::Run(key)) => panic!("started {key}"),
            Err(e) => panic!("{e}"),
        }
        assert_eq!(std::fs::read_dir(runs.path()).unwrap().count(), 0, "no run folder was made");
    }
}
