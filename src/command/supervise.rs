//! The run process of a command run (`workbench run --run-dir DIR`): it holds the folder's lock,
//! starts the command as the leader of its own process group, keeps its stdout and stderr in
//! `output.log` (stdout's metrics in `scalars.csv`), writes `live.toml` and `telemetry.csv`,
//! follows the `control` file (stop, pause, resume), and records how it ended in run.toml.
use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::group::{become_subreaper, group_alive, reap_exited, signal_group};
use super::metrics::parse_line;
use super::outcome::{failure_reason, says_out_of_memory, signal_name, Exit, LineTail};
use super::scalars::ScalarsWriter;
use super::{CommandError, CommandInfo, RunKind};
use crate::runs::events::{LIVE_FILE, OUTPUT_FILE};
use crate::runs::{
    host_name, now_rfc3339, read_meta, write_run_meta, ControlCommand, ControlInbox, FailureKind, LiveState,
    RunLock, RunMeta, RunStatus,
};
use crate::util::write_atomic;

/// How often the loop looks at the command, the control file and the signals.
const TICK: Duration = Duration::from_millis(100);
/// How often the heartbeat is rewritten.
const HEARTBEAT: Duration = Duration::from_secs(1);
/// How often buffered points reach `scalars.csv`.
const SCALARS_FLUSH: Duration = Duration::from_millis(250);
/// How long the output readers may take to finish once the group is gone.
const READERS_GRACE: Duration = Duration::from_secs(3);

/// Signals this process got: a stop (SIGTERM, SIGINT) and SIGUSR1 (a cluster's "time limit near"),
/// which is passed on to the command's group.
#[derive(Debug, Clone, Default)]
pub struct SupervisorSignals {
    pub stop: Arc<AtomicBool>,
    pub usr1: Arc<AtomicBool>,
}

impl SupervisorSignals {
    /// Register SIGTERM and SIGINT as a stop, SIGUSR1 as itself; SIGHUP is ignored (detached).
    pub fn register() -> std::io::Result<SupervisorSignals> {
        use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM, SIGUSR1};
        let signals = SupervisorSignals::default();
        signal_hook::flag::register(SIGTERM, signals.stop.clone())?;
        signal_hook::flag::register(SIGINT, signals.stop.clone())?;
        signal_hook::flag::register(SIGUSR1, signals.usr1.clone())?;
        signal_hook::flag::register(SIGHUP, Arc::new(AtomicBool::new(false)))?;
        Ok(signals)
    }
}

/// Run the queued command run in `dir` to its end; returns the exit code a shell would give.
pub fn supervise(dir: &Path, signals: &SupervisorSignals) -> Result<i32, CommandError> {
    let lock = RunLock::acquire(dir).map_err(|e| CommandError::Run(e.to_string()))?;
    let mut meta = read_meta(dir).map_err(|e| CommandError::Run(e.to_string()))?;
    let Some(command) = meta.command.clone().filter(|_| meta.kind == RunKind::Command) else {
        return Err(CommandError::Run(format!("{} is not a command run", dir.display())));
    };
    if meta.status != RunStatus::Queued {
        return Err(CommandError::Run(format!(
            "{} is {}, not queued; start the command again as a new run",
            dir.display(),
            meta.status.as_str()
        )));
    }
    become_subreaper();
    let oom_kills_before = cgroup_oom_kills();
    let started = Instant::now();
    let mut child = match spawn_command(&command) {
        Ok(child) => child,
        Err(e) => {
            let reason = format!("cannot start `{}`: {e}", command.argv.first().map_or("", String::as_str));
            finish(dir, &mut meta, RunStatus::Failed, Some(reason.clone()), None, None);
            return Err(CommandError::Run(reason));
        }
    };
    let pgid = child.id();
    meta.status = RunStatus::Running;
    meta.pid = std::process::id();
    meta.host = host_name();
    write_meta(dir, &meta);
    let _telemetry = crate::train::process::start_telemetry_with(
        dir,
        crate::telemetry::ProcessProbe::tree(std::process::id()),
    );
    let shared = Shared::new(dir, command.stdout_metrics)?;
    let readers = [
        child.stdout.take().map(|out| spawn_reader("command-stdout", out, shared.clone(), true, started)),
        child.stderr.take().map(|err| spawn_reader("command-stderr", err, shared.clone(), false, started)),
    ];
    // std's Child is not waited on: this process reaps every descendant itself (it is their
    // subreaper), the command among them.
    drop(child);
    let mut watch = Watch::new(dir, pgid, command.stop_grace_s);
    let exit = watch.run(&mut meta, signals, &shared);
    for reader in readers.into_iter().flatten() {
        join_within(reader, READERS_GRACE);
    }
    shared.flush_scalars();
    let oom = shared.oom.load(Ordering::Relaxed)
        || (exit == Exit::Signal(libc::SIGKILL)
            && !watch.stop_requested()
            && cgroup_oom_kills() > oom_kills_before);
    let (status, reason, kind) = if watch.stop_requested() {
        (RunStatus::Stopped, Some("stopped by the user".to_string()), None)
    } else if exit == Exit::Code(0) {
        (RunStatus::Finished, None, None)
    } else {
        let tail = shared.stderr_tail.lock().map(|t| t.text()).unwrap_or_default();
        (RunStatus::Failed, Some(failure_reason(exit, &tail)), oom.then_some(FailureKind::OutOfMemory))
    };
    if let Some(info) = meta.command.as_mut() {
        info.elapsed_s = Some(started.elapsed().as_secs_f64());
    }
    finish(dir, &mut meta, status, reason, kind, Some(exit));
    watch.heartbeat("ended");
    drop(lock);
    Ok(exit.shell_code())
}

/// Start the command: its own process group, stdin from /dev/null, stdout and stderr piped here.
fn spawn_command(command: &CommandInfo) -> std::io::Result<std::process::Child> {
    let (program, args) = command
        .argv
        .split_first()
        .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::InvalidInput, "no command given"))?;
    let mut cmd = Command::new(program);
    cmd.args(args)
        .current_dir(&command.cwd)
        .envs(&command.env)
        .env_remove(crate::train::process::DETACHED_ENV)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    cmd.spawn()
}

/// What the output readers share with the loop.
#[derive(Clone)]
struct Shared {
    log: Arc<Mutex<File>>,
    scalars: Option<Arc<Mutex<ScalarsWriter>>>,
    stderr_tail: Arc<Mutex<LineTail>>,
    oom: Arc<AtomicBool>,
    last_step: Arc<std::sync::atomic::AtomicI64>,
}

impl Shared {
    fn new(dir: &Path, stdout_metrics: bool) -> Result<Shared, CommandError> {
        let log_path = dir.join(OUTPUT_FILE);
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_path)
            .map_err(|e| CommandError::disk(&log_path, e))?;
        let scalars = if stdout_metrics {
            let writer = ScalarsWriter::create(dir).map_err(|e| CommandError::disk(dir, e))?;
            Some(Arc::new(Mutex::new(writer)))
        } else {
            None
        };
        Ok(Shared {
            log: Arc::new(Mutex::new(log)),
            scalars,
            stderr_tail: Arc::new(Mutex::new(LineTail::default())),
            oom: Arc::new(AtomicBool::new(false)),
            last_step: Arc::new(std::sync::atomic::AtomicI64::new(0)),
        })
    }

    fn flush_scalars(&self) {
        if let Some(Ok(mut w)) = self.scalars.as_ref().map(|s| s.lock()) {
            if let Err(e) = w.flush() {
                tracing::warn!(error = %e, "cannot write scalars.csv");
            }
        }
    }
}

/// Drain one of the command's streams as fast as it comes: every chunk to `output.log` at once,
/// each complete line to the metric parser (stdout) or the stderr tail, and both to the
/// out-of-memory check.
fn spawn_reader(
    name: &str,
    mut stream: impl Read + Send + 'static,
    shared: Shared,
    is_stdout: bool,
    started: Instant,
) -> JoinHandle<()> {
    let body = move || {
        let mut buf = vec![0u8; 64 * 1024];
        let mut partial: Vec<u8> = Vec::new();
        let mut line_number = 0u64;
        loop {
            let n = match stream.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(_) => break,
            };
            let chunk = &buf[..n];
            if let Ok(mut log) = shared.log.lock() {
                let _ = log.write_all(chunk);
            }
            partial.extend_from_slice(chunk);
            let Some(last) = partial.iter().rposition(|&b| b == b'\n') else { continue };
            let rest = partial.split_off(last + 1);
            let complete = std::mem::replace(&mut partial, rest);
            handle_lines(&complete, &shared, is_stdout, &mut line_number, started);
        }
        if !partial.is_empty() {
            handle_lines(&partial, &shared, is_stdout, &mut line_number, started);
        }
    };
    match std::thread::Builder::new().name(name.to_string()).spawn(body) {
        Ok(handle) => handle,
        // Without a thread the pipe would fill and block the command: that can't be allowed.
        Err(e) => {
            tracing::error!(error = %e, "no thread to read the command's output");
            std::thread::spawn(|| {})
        }
    }
}

fn handle_lines(bytes: &[u8], shared: &Shared, is_stdout: bool, line_number: &mut u64, started: Instant) {
    let wall_s = started.elapsed().as_secs_f64();
    let mut scalars = if is_stdout { shared.scalars.as_ref().and_then(|s| s.lock().ok()) } else { None };
    let mut tail = if is_stdout { None } else { shared.stderr_tail.lock().ok() };
    for line in bytes.split(|&b| b == b'\n') {
        if line.is_empty() {
            continue;
        }
        *line_number += 1;
        if says_out_of_memory(line) {
            shared.oom.store(true, Ordering::Relaxed);
        }
        if let Some(tail) = tail.as_mut() {
            tail.push(line);
        }
        if let Some(w) = scalars.as_mut() {
            if let Some(metrics) = parse_line(line) {
                if let Err(e) = w.append(&metrics, *line_number, wall_s) {
                    tracing::warn!(error = %e, "cannot write scalars.csv");
                }
                shared.last_step.store(w.last_step, Ordering::Relaxed);
            }
        }
    }
}

/// Wait for a reader thread at most `limit` (a process that left the group may hold the pipe).
fn join_within(handle: JoinHandle<()>, limit: Duration) {
    let deadline = Instant::now() + limit;
    while !handle.is_finished() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    if handle.is_finished() {
        let _ = handle.join();
    } else {
        tracing::warn!("a process outside the command's group still holds its output; not waiting for it");
    }
}

/// Where a stop is: SIGINT sent at `since`, then SIGTERM, then SIGKILL, a grace apart.
#[derive(Debug, Clone, Copy)]
struct Stopping {
    since: Instant,
    /// 0: SIGINT (or SIGTERM for leftovers) sent; 1: SIGTERM sent; 2: SIGKILL sent.
    stage: u8,
}

/// The loop's state: the command's group, its leader's end, the stop in progress, the heartbeat.
struct Watch {
    dir: PathBuf,
    pgid: u32,
    grace: Duration,
    leader_exit: Option<Exit>,
    stopping: Option<Stopping>,
    /// A stop asked for by the user (control file or a signal), as opposed to the clean-up of
    /// processes left after the command exited by itself.
    user_stop: bool,
    paused: bool,
    live: LiveState,
    live_written: Option<Instant>,
}

impl Watch {
    fn new(dir: &Path, pgid: u32, grace_s: f64) -> Watch {
        let grace = Duration::try_from_secs_f64(grace_s.max(0.0)).unwrap_or(Duration::from_secs(10));
        Watch {
            dir: dir.to_path_buf(),
            pgid,
            grace,
            leader_exit: None,
            stopping: None,
            user_stop: false,
            paused: false,
            live: LiveState::starting("running"),
            live_written: None,
        }
    }

    fn stop_requested(&self) -> bool {
        self.user_stop
    }

    /// Until the command has exited and nothing of its group is left: its exit.
    fn run(&mut self, meta: &mut RunMeta, signals: &SupervisorSignals, shared: &Shared) -> Exit {
        let mut inbox = ControlInbox::open(&self.dir).ok();
        let mut flushed = Instant::now();
        self.heartbeat("running");
        loop {
            for (pid, status) in reap_exited() {
                if pid == self.pgid {
                    self.leader_exit = Some(Exit::from_wait_status(status));
                }
            }
            let group_left = group_alive(self.pgid);
            if let Some(exit) = self.leader_exit {
                if !group_left {
                    return exit;
                }
                // The command exited and left processes in its group: they go too.
                if self.stopping.is_none() {
                    signal_group(self.pgid, libc::SIGTERM);
                    signal_group(self.pgid, libc::SIGCONT);
                    self.stopping = Some(Stopping { since: Instant::now(), stage: 1 });
                }
            }
            if signals.stop.swap(false, Ordering::Relaxed) {
                self.request_stop(meta);
            }
            if signals.usr1.swap(false, Ordering::Relaxed) {
                signal_group(self.pgid, libc::SIGUSR1);
            }
            for command in inbox.as_mut().map(ControlInbox::poll).unwrap_or_default() {
                tracing::info!(dir = %self.dir.display(), command = %command.as_line(), "control");
                self.apply(&command, meta);
            }
            self.escalate();
            self.live.step = u64::try_from(shared.last_step.load(Ordering::Relaxed)).unwrap_or(0);
            if self.live_written.is_none_or(|t| t.elapsed() >= HEARTBEAT) {
                let phase = self.live.phase.clone();
                self.heartbeat(&phase);
            }
            if flushed.elapsed() >= SCALARS_FLUSH {
                shared.flush_scalars();
                flushed = Instant::now();
            }
            std::thread::sleep(TICK);
        }
    }

    fn apply(&mut self, command: &ControlCommand, meta: &mut RunMeta) {
        match command {
            ControlCommand::Stop => self.request_stop(meta),
            ControlCommand::Pause if !self.paused && self.stopping.is_none() => {
                signal_group(self.pgid, libc::SIGSTOP);
                self.paused = true;
                meta.status = RunStatus::Paused;
                write_meta(&self.dir, meta);
                self.heartbeat("paused");
            }
            ControlCommand::Resume if self.paused => {
                signal_group(self.pgid, libc::SIGCONT);
                self.paused = false;
                meta.status = RunStatus::Running;
                write_meta(&self.dir, meta);
                self.heartbeat("running");
            }
            ControlCommand::Move { device, .. } => {
                let why = format!(
                    "move to {device} refused: a command run can't change device while it runs (its \
                     program chose its device at start); stop it and start it again with --device {device}"
                );
                tracing::warn!("{why}");
                eprintln!("{why}");
            }
            ControlCommand::Pause | ControlCommand::Resume => {}
        }
    }

    /// SIGINT to the group (and SIGCONT, so a paused group can act on it); the escalation follows.
    fn request_stop(&mut self, meta: &mut RunMeta) {
        self.user_stop = true;
        if self.stopping.is_some() {
            return;
        }
        signal_group(self.pgid, libc::SIGINT);
        signal_group(self.pgid, libc::SIGCONT);
        if self.paused {
            self.paused = false;
            meta.status = RunStatus::Running;
            write_meta(&self.dir, meta);
        }
        self.stopping = Some(Stopping { since: Instant::now(), stage: 0 });
        self.heartbeat("stopping");
    }

    /// SIGTERM a grace after SIGINT, SIGKILL a grace after SIGTERM.
    fn escalate(&mut self) {
        let Some(stop) = self.stopping.as_mut() else { return };
        if stop.stage < 2 && stop.since.elapsed() >= self.grace {
            let signal = if stop.stage == 0 { libc::SIGTERM } else { libc::SIGKILL };
            tracing::info!(pgid = self.pgid, signal = %signal_name(signal), "the command's group is still there");
            signal_group(self.pgid, signal);
            stop.stage += 1;
            stop.since = Instant::now();
        }
    }

    fn heartbeat(&mut self, phase: &str) {
        self.live.phase = phase.to_string();
        self.live.updated_unix_ms =
            SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0);
        self.live_written = Some(Instant::now());
        let path = self.dir.join(LIVE_FILE);
        let result = toml::to_string(&self.live)
            .map_err(std::io::Error::other)
            .and_then(|text| write_atomic(&path, text.as_bytes()));
        if let Err(e) = result {
            tracing::warn!(path = %path.display(), error = %e, "cannot write the heartbeat");
        }
    }
}

/// Record the end in run.toml: status, reason, failure kind, exit code or signal.
fn finish(
    dir: &Path,
    meta: &mut RunMeta,
    status: RunStatus,
    reason: Option<String>,
    kind: Option<FailureKind>,
    exit: Option<Exit>,
) {
    meta.status = status;
    meta.reason = reason;
    meta.failure_kind = kind;
    meta.finished_at = Some(now_rfc3339());
    crate::queue::record::record_peak(dir, meta);
    if let Some(command) = meta.command.as_mut() {
        match exit {
            Some(Exit::Code(code)) => command.exit_code = Some(code),
            Some(Exit::Signal(signal)) => command.signal = Some(signal_name(signal)),
            None => {}
        }
    }
    write_meta(dir, meta);
}

fn write_meta(dir: &Path, meta: &RunMeta) {
    if let Err(e) = write_run_meta(dir, meta) {
        tracing::error!(dir = %dir.display(), error = %e, "cannot write run.toml");
        eprintln!("cannot write {}/run.toml: {e}", dir.display());
    }
}

/// The kernel's count of OOM kills in this process's cgroup (cgroup v2 `memory.events`), when it
/// can be read.
fn cgroup_oom_kills() -> u64 {
    let text = std::fs::read_to_string("/sys/fs/cgroup/memory.events").unwrap_or_default();
    text.lines().find_map(|l| l.strip_prefix("oom_kill ")).and_then(|n| n.trim().parse().ok()).unwrap_or(0)
}
