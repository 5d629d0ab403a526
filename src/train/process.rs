//! A run as its own process, watched and controlled through its folder (see runs/events.rs).
//!
//! Whoever creates a run hands out its id: [`create_queued_run`] makes the folder with a `queued`
//! run.toml, and [`spawn_detached`] starts `workbench train --run-dir DIR` (or `--resume DIR`) in
//! its own session, output to `DIR/output.log`, so closing the terminal does not end it. The run
//! process ([`run_in_folder`], or [`run_planned`] for `workbench train --dataset`) holds
//! `DIR/lock` for its whole life, rewrites `DIR/live.toml` about once a second and at each phase
//! change, and reads commands appended to `DIR/control` every 200 ms.
use std::fs::OpenOptions;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::AtomicBool;
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::control::MoveTarget;
use super::plan::{plan, RunPlan};
use super::resume::{check_dataset_unchanged, check_resumable};
use super::worker::{spawn_run_in, RunFolder};
use super::{RunControl, StopReason, TrainError, TrainMsg, TrainSpec};
use crate::config::Settings;
use crate::data::{Catalog, StagePhase};
use crate::device::DeviceReport;
use crate::runs::events::{LIVE_FILE, OUTPUT_FILE};
use crate::runs::{
    load_run, ControlCommand, ControlInbox, LiveState, RunLock, RunMeta, RunRecorder, RunStatus, RunsError,
};
use crate::util::write_atomic;

/// Set in a detached run process's environment: it ignores SIGHUP.
pub const DETACHED_ENV: &str = "WORKBENCH_DETACHED";
/// Set, a run process samples no telemetry: for measuring the sampler's cost (bench/).
pub const NO_TELEMETRY_ENV: &str = "WORKBENCH_NO_TELEMETRY";
/// How often the run process reads its control file.
const CONTROL_POLL: Duration = Duration::from_millis(200);
/// How often the heartbeat is rewritten when nothing else changes.
const HEARTBEAT: Duration = Duration::from_secs(1);

/// Make a run folder under `runs_dir` for `spec`, with a `queued` run.toml holding the
/// hyperparameters; returns the run's id (the folder's name, `YYYYMMDD-HHMMSS-dataset-model-device`,
/// `-2`... when taken) and its path. `device_name` is the planned device (`cpu`, `cuda:0`).
pub fn create_queued_run(
    runs_dir: &Path,
    spec: &TrainSpec,
    device_name: &str,
) -> Result<(String, PathBuf), TrainError> {
    let mut meta = RunMeta::queued(
        crate::command::RunKind::Train,
        spec.dataset.clone(),
        spec.model.to_string(),
        device_name.to_string(),
        device_name.to_string(),
        spec.clone(),
    );
    let dir = RunRecorder::create_folder(runs_dir, &mut meta).map_err(|e| TrainError::disk(runs_dir, e))?;
    Ok((meta.id, dir))
}

/// What a detached run process is started with: the program and the global flags that make it
/// see the same config and folders as its starter.
#[derive(Debug, Clone, PartialEq)]
pub struct Launcher {
    /// The workbench binary (`std::env::current_exe()`; tests pass the built binary).
    pub exe: PathBuf,
    pub config: Option<PathBuf>,
    pub datasets_dir: PathBuf,
    pub runs_dir: PathBuf,
    pub cache_dir: PathBuf,
}

impl Launcher {
    /// This program, with the settings' config file and folders.
    pub fn current(settings: &Settings) -> Result<Launcher, TrainError> {
        let exe = std::env::current_exe().map_err(|e| {
            TrainError::Internal(format!("cannot find the workbench program to start a run: {e}"))
        })?;
        Ok(Launcher {
            exe,
            config: settings.config_path.clone(),
            datasets_dir: settings.datasets_dir.clone(),
            runs_dir: settings.runs_dir.clone(),
            cache_dir: settings.cache_dir.clone(),
        })
    }
}

/// Start the run in `run_dir` as its own process: `workbench train --run-dir DIR`, or
/// `--resume DIR` when `resume`. It runs in a new session (no controlling terminal: a SIGHUP to
/// the starter's terminal does not reach it), stdin from /dev/null, stdout and stderr appended to
/// `DIR/output.log`. Returns its pid. A thread reaps it when it ends, so it never lingers as a
/// zombie while its starter lives.
pub fn spawn_detached(run_dir: &Path, resume: bool, launcher: &Launcher) -> Result<u32, TrainError> {
    let flag = if resume { "--resume" } else { "--run-dir" };
    let args = [std::ffi::OsStr::new("train"), std::ffi::OsStr::new(flag), run_dir.as_os_str()];
    spawn_detached_with(run_dir, &args, launcher)
}

/// Start `workbench [global flags] ARGS...` for the run in `run_dir` as [`spawn_detached`] does:
/// its own session, output to `DIR/output.log`, reaped by a thread. Returns its pid.
pub fn spawn_detached_with(
    run_dir: &Path,
    args: &[&std::ffi::OsStr],
    launcher: &Launcher,
) -> Result<u32, TrainError> {
    spawn_detached_logged(&run_dir.join(OUTPUT_FILE), args, launcher)
}

/// Start `workbench [global flags] ARGS...` in its own session, stdin from /dev/null, output
/// appended to `log_path`, reaped by a thread. Returns its pid. (Run processes, and the queue's
/// dispatcher, start this way.)
pub fn spawn_detached_logged(
    log_path: &Path,
    args: &[&std::ffi::OsStr],
    launcher: &Launcher,
) -> Result<u32, TrainError> {
    let log_path = log_path.to_path_buf();
    let log = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log_path)
        .map_err(|e| TrainError::disk(&log_path, e))?;
    let err_log = log.try_clone().map_err(|e| TrainError::disk(&log_path, e))?;
    let mut cmd = Command::new(&launcher.exe);
    if let Some(config) = &launcher.config {
        cmd.arg("--config").arg(config);
    }
    cmd.arg("--datasets-dir").arg(&launcher.datasets_dir);
    cmd.arg("--runs-dir").arg(&launcher.runs_dir);
    cmd.arg("--cache-dir").arg(&launcher.cache_dir);
    cmd.args(args);
    cmd.stdin(Stdio::null()).stdout(Stdio::from(log)).stderr(Stdio::from(err_log));
    cmd.env(DETACHED_ENV, "1");
    // SAFETY: setsid is async-signal-safe and touches no memory of this process.
    unsafe {
        cmd.pre_exec(|| {
            if libc::setsid() == -1 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut child = cmd.spawn().map_err(|e| {
        TrainError::Internal(format!(
            "cannot start {} (output to {}): {e}",
            launcher.exe.display(),
            log_path.display()
        ))
    })?;
    let pid = child.id();
    let reap = move || {
        let _ = child.wait();
    };
    let reaper = crate::threads::spawn_reporting(format!("reap-{pid}"), reap, |_| {});
    if let Err(e) = reaper {
        tracing::warn!(pid, error = %e, "no thread to reap the run process; it will be reaped on exit");
    }
    tracing::info!(pid, log = %log_path.display(), ?args, "detached process started");
    Ok(pid)
}

/// Take the run's lock (`DIR/lock`, see [`RunLock`]) for this process's life, or say which
/// process holds it.
/// On a filesystem that can't lock, the run goes on watched by its heartbeat, and the warning
/// (once per process) goes to stderr: the terminal, or the run's output.log.
pub fn take_lock(dir: &Path) -> Result<RunLock, TrainError> {
    let lock = RunLock::acquire(dir).map_err(|e| match e {
        RunsError::Locked { .. } => {
            TrainError::AlreadyRunning { dir: dir.to_path_buf(), pid: holder_pid(dir) }
        }
        e => TrainError::Run(e.to_string()),
    })?;
    if let Some(warning) = lock.fallback().and_then(|f| f.warning.as_deref()) {
        eprintln!("warning: {warning}");
    }
    Ok(lock)
}

/// The pid a running run recorded: its heartbeat's, else run.toml's (0 when neither says).
fn holder_pid(dir: &Path) -> u32 {
    crate::runs::liveness::read_live(dir)
        .map(|l| l.pid)
        .or_else(|| load_run(dir).ok().map(|r| r.meta.pid))
        .unwrap_or(0)
}

/// Apply a command from the control file to the run. A move to a device that isn't there is
/// refused here, with why, in the run's log and output: the run goes on where it is.
fn apply(control: &RunControl, command: &ControlCommand) {
    match command {
        ControlCommand::Stop => control.request_stop(StopReason::User),
        ControlCommand::Pause => control.set_paused(true),
        ControlCommand::Resume => control.set_paused(false),
        ControlCommand::Move { device, threads } => match move_target(device, *threads) {
            Ok(target) => control.request_move(target),
            Err(e) => {
                tracing::warn!(%e, "move refused");
                eprintln!("move refused: {e}");
            }
        },
    }
}

/// Resolve a move's device on this machine (`cpu`, `cuda`, `cuda:N`), or say why it can't be.
pub fn move_target(device: &str, threads: Option<u32>) -> Result<MoveTarget, TrainError> {
    let choice: crate::device::DeviceChoice =
        device.parse().map_err(|e| TrainError::Settings(format!("move to {device:?}: {e}")))?;
    if threads == Some(0) || threads.is_some_and(|n| n > 1024) {
        return Err(TrainError::Settings("move: threads=N takes 1 to 1024".into()));
    }
    let report = crate::device::probe();
    let resolved = crate::device::resolve(choice, &report).map_err(|e| TrainError::Device(e.to_string()))?;
    let budget = crate::device::data_budget(&report, &resolved);
    Ok(MoveTarget { device: resolved, threads, budget })
}

/// The heartbeat: `live.toml`, rewritten at each phase change and at least once a second.
struct Heartbeat {
    path: PathBuf,
    state: LiveState,
    written: Option<Instant>,
    rate: RateWindow,
}

/// Samples a second over the last [`RATE_WINDOW`] of wall-clock time, from the steps seen, and
/// the time left at that rate.
#[derive(Debug, Default)]
struct RateWindow {
    /// (when, steps taken by then), oldest first.
    points: std::collections::VecDeque<(Instant, u64)>,
    batch: u64,
    /// Steps in the whole run (epochs × steps per epoch); 0 until the run starts.
    total_steps: u64,
}

/// How far back the samples/s figure looks.
const RATE_WINDOW: Duration = Duration::from_secs(3);

impl RateWindow {
    fn observe(&mut self, now: Instant, step: u64) {
        self.points.push_back((now, step));
        while self.points.len() > 2 && self.points.front().is_some_and(|(t, _)| now - *t > RATE_WINDOW) {
            self.points.pop_front();
        }
    }

    /// (samples/s, seconds left), once two points span some time.
    fn figures(&self) -> (Option<f64>, Option<f64>) {
        let (Some(&(t0, s0)), Some(&(t1, s1))) = (self.points.front(), self.points.back()) else {
            return (None, None);
        };
        let secs = (t1 - t0).as_secs_f64();
        if secs < 0.05 || s1 <= s0 {
            return (None, None);
        }
        let steps_per_s = (s1 - s0) as f64 / secs;
        let eta = (self.total_steps > 0).then(|| self.total_steps.saturating_sub(s1) as f64 / steps_per_s);
        (Some(steps_per_s * self.batch.max(1) as f64), eta)
    }
}

impl Heartbeat {
    fn new(dir: &Path) -> Heartbeat {
        Heartbeat {
            path: dir.join(LIVE_FILE),
            state: LiveState::starting("reading"),
            written: None,
            rate: RateWindow::default(),
        }
    }

    /// Follow a worker message; a phase change writes at once.
    fn observe(&mut self, msg: &TrainMsg) {
        let before = self.state.phase.clone();
        match msg {
            TrainMsg::Loading { phase, done, total, .. } => {
                self.state.phase = match phase {
                    StagePhase::Reading => "reading",
                    StagePhase::Decoding => "decoding",
                }
                .into();
                (self.state.done, self.state.total) = (*done, *total);
            }
            TrainMsg::Started { epochs, steps_per_epoch, .. } => {
                self.state.phase = "training".into();
                self.rate.total_steps = u64::from(*epochs) * steps_per_epoch;
            }
            TrainMsg::Resumed { .. } => {
                // The time paused is no training time: the rate starts again.
                self.rate.points.clear();
                self.state.phase = "training".into()
            }
            TrainMsg::Steps { epoch, first_step, losses, .. } => {
                self.state.epoch = *epoch;
                self.state.step = first_step + losses.len() as u64;
                self.rate.observe(Instant::now(), self.state.step);
                (self.state.samples_per_s, self.state.eta_s) = self.rate.figures();
            }
            TrainMsg::Epoch { metrics, .. } => {
                self.state.epoch = metrics.epoch;
                self.state.step = metrics.global_step;
            }
            TrainMsg::Paused { .. } => {
                self.state.phase = "paused".into();
                self.state.eta_s = None;
            }
            TrainMsg::Finished { .. } | TrainMsg::Failed { .. } | TrainMsg::Stopped { .. } => {
                self.state.phase = "ended".into();
                self.state.eta_s = Some(0.0).filter(|_| matches!(msg, TrainMsg::Finished { .. }));
            }
        }
        if self.state.phase != before {
            self.write();
        }
    }

    fn tick(&mut self) {
        if self.written.is_none_or(|t| t.elapsed() >= HEARTBEAT) {
            self.write();
        }
    }

    fn write(&mut self) {
        self.state.updated_unix_ms =
            SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0);
        self.written = Some(Instant::now());
        let result = toml::to_string(&self.state)
            .map_err(std::io::Error::other)
            .and_then(|text| write_atomic(&self.path, text.as_bytes()));
        if let Err(e) = result {
            tracing::warn!(path = %self.path.display(), error = %e, "cannot write the heartbeat");
        }
    }
}

/// What the run process tells its printer.
#[derive(Debug)]
pub enum ProcessNote<'a> {
    /// The run is planned and about to start; `resumed_from` is the checkpoint's epoch.
    Planned { plan: &'a RunPlan, dir: &'a Path, resumed_from: Option<u32> },
    /// A message from the worker.
    Msg(&'a TrainMsg),
}

/// Run the run in `dir` in this process: a queued run (`resume` false), or a stopped, interrupted
/// or failed one from its last checkpoint (`resume` true). Takes the lock first; refuses a run
/// that is running, not queued (without `resume`), finished, without a checkpoint, or whose
/// dataset changed. Returns the worker's final message.
pub fn run_in_folder(
    settings: &Settings,
    dir: &Path,
    resume: bool,
    report: &DeviceReport,
    interrupted: Arc<AtomicBool>,
    observer: &mut dyn FnMut(ProcessNote<'_>),
) -> Result<TrainMsg, TrainError> {
    let lock = take_lock(dir)?;
    let (record, folder) = if resume {
        (check_resumable(dir)?, RunFolder::Resume(dir.to_path_buf()))
    } else {
        let record = load_run(dir).map_err(|e| TrainError::Run(format!("cannot read the run: {e}")))?;
        if record.meta.status != RunStatus::Queued {
            return Err(TrainError::Run(format!(
                "{} is {}, not queued; continue it with `workbench train --resume {}`",
                dir.display(),
                record.meta.status.as_str(),
                dir.display()
            )));
        }
        (record, RunFolder::Queued(dir.to_path_buf()))
    };
    let catalog = Catalog::scan_settings(settings);
    // A TorchScript run plans with its folder's copy of the module, there even if models/ lost it.
    let spec = super::script_net::with_run_copy(&record.meta.hyperparameters, dir);
    let planned = match plan(settings, &spec, &catalog, report) {
        Ok(p) => p,
        Err(e) => {
            // A queued run that can't start ends as failed, with why, for every viewer to see; a
            // refused resume leaves the run as it was.
            if !resume {
                super::worker::mark_failed(dir, &e.to_string(), e.kind());
            }
            return Err(e);
        }
    };
    if resume {
        check_dataset_unchanged(&record, &planned.entry.source)?;
    }
    let resumed_from = if resume { record.meta.checkpoint_epoch } else { None };
    observer(ProcessNote::Planned { plan: &planned, dir, resumed_from });
    run_planned(planned, folder, lock, interrupted, observer)
}

/// Run a planned run in its folder (`folder` names it; its lock already held), following its
/// control file and writing its heartbeat, until the worker's final message.
pub fn run_planned(
    planned: RunPlan,
    folder: RunFolder,
    lock: RunLock,
    interrupted: Arc<AtomicBool>,
    observer: &mut dyn FnMut(ProcessNote<'_>),
) -> Result<TrainMsg, TrainError> {
    let dir = match &folder {
        RunFolder::Queued(d) | RunFolder::Resume(d) => d.clone(),
        RunFolder::New => return Err(TrainError::Internal("a run process needs its folder".into())),
    };
    let mut heartbeat = Heartbeat::new(&dir);
    heartbeat.rate.batch = u64::from(planned.spec.batch_size.max(1));
    heartbeat.write();
    let _telemetry = start_telemetry(&dir);
    let mut commands = ControlInbox::open(&dir).map_err(|e| TrainError::Run(e.to_string()))?;
    let control = RunControl::with_signal_flag(interrupted);
    let (tx, rx) = mpsc::channel();
    let handle = spawn_run_in(planned, folder, control.clone(), move |msg| tx.send(msg).is_ok())
        .map_err(|e| TrainError::Internal(format!("could not start the training thread: {e}")))?;
    let mut last_poll = Instant::now();
    let final_msg = loop {
        match rx.recv_timeout(CONTROL_POLL) {
            Ok(msg) => {
                heartbeat.observe(&msg);
                observer(ProcessNote::Msg(&msg));
                if msg.is_final() {
                    break msg;
                }
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                break TrainMsg::Failed {
                    run: handle.id,
                    run_dir: Some(dir.clone()),
                    error: "internal error: the training thread ended without a word".into(),
                    kind: crate::runs::FailureKind::Internal,
                }
            }
        }
        if last_poll.elapsed() >= CONTROL_POLL {
            for command in commands.poll() {
                tracing::info!(dir = %dir.display(), command = %command.as_line(), "control");
                apply(&control, &command);
            }
            last_poll = Instant::now();
        }
        heartbeat.tick();
    };
    handle.join();
    heartbeat.write();
    drop(lock);
    Ok(final_msg)
}

/// Sample this process (and every GPU NVML sees) once a second into `DIR/telemetry.csv` while the
/// run lives; dropping the sampler stops it. Times count from the run's start, so a resumed run's
/// rows go on from where they were. Telemetry is never worth failing a run for: a file that can't
/// be written is a warning.
fn start_telemetry(dir: &Path) -> Option<crate::telemetry::Sampler> {
    start_telemetry_with(dir, crate::telemetry::ProcessProbe::new(std::process::id()))
}

/// As [`start_telemetry`], sampling the processes `probe` follows (a command run's whole tree).
pub(crate) fn start_telemetry_with(
    dir: &Path,
    probe: crate::telemetry::ProcessProbe,
) -> Option<crate::telemetry::Sampler> {
    use crate::telemetry::{GpuProbe, Sampler, TelemetryWriter, SAMPLE_INTERVAL};
    // Off only for measuring the sampler's own cost (bench/telemetry_cost.sh).
    if std::env::var_os(NO_TELEMETRY_ENV).is_some() {
        return None;
    }
    let gpus = GpuProbe::open().map_err(|why| tracing::debug!(%why, "no GPU telemetry")).ok();
    let count = gpus.as_ref().map_or(0, GpuProbe::count);
    let started = crate::runs::read_meta(dir)
        .ok()
        .and_then(|m| humantime::parse_rfc3339(&m.started_at).ok())
        .unwrap_or_else(std::time::SystemTime::now);
    let mut writer = TelemetryWriter::open(dir, count, started)
        .map_err(|e| tracing::warn!(dir = %dir.display(), error = %e, "telemetry.csv can't be written"))
        .ok()?;
    Sampler::spawn_probe(probe, gpus, SAMPLE_INTERVAL, move |sample| writer.append(&sample).is_ok())
        .map_err(|e| tracing::warn!(error = %e, "no telemetry thread"))
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rate_window_gives_samples_per_second_and_time_left() {
        let mut w = RateWindow { batch: 10, total_steps: 100, ..RateWindow::default() };
        let t0 = Instant::now();
        assert_eq!(w.figures(), (None, None), "no steps yet");
        w.observe(t0, 0);
        w.observe(t0 + Duration::from_secs(1), 20);
        let (rate, eta) = w.figures();
        assert!((rate.unwrap() - 200.0).abs() < 1e-6, "20 steps of 10 in 1 s: {rate:?}");
        assert!((eta.unwrap() - 4.0).abs() < 1e-6, "80 steps left at 20/s: {eta:?}");
        w.observe(t0 + Duration::from_secs(10), 30);
        let (rate, _) = w.figures();
        assert!((rate.unwrap() - 100.0 / 9.0).abs() < 1e-6, "the old point is dropped, two kept: {rate:?}");
    }

    #[test]
    fn the_lock_is_exclusive_and_names_the_holder() {
        let dir = tempfile::tempdir().unwrap();
        let first = take_lock(dir.path()).unwrap();
        let e = take_lock(dir.path()).unwrap_err();
        assert!(matches!(e, TrainError::AlreadyRunning { .. }), "{e}");
        assert!(e.to_string().contains("is already running in process"), "{e}");
        drop(first);
        take_lock(dir.path()).unwrap();
    }
}
