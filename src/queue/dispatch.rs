//! The dispatcher: one per runs folder (it holds `RUNS/.queue.lock`), started detached by any
//! command that queues a run and by the TUI when none holds the lock. It looks at the queue every
//! [`POLL`], starts what the decision says can start, and exits when nothing is queued, starting
//! or going under it. `workbench queue stop` asks it to stop (`RUNS/.queue.stop`); the runs it
//! started go on.
//!
//! It keeps nothing the folders don't: killed at any moment, the next dispatcher picks up where
//! it stopped. A run is taken from `queued` to starting under its folder's lock, so it never
//! starts twice; one whose process died while starting is marked `interrupted`.
use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, Write};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime};

use super::decide::{decide, Gpu, Limits, Placement};
use super::record::{self, QueueReader, QueueView};
use super::QueueError;
use crate::command::RunKind;
use crate::train::process::Launcher;

/// The dispatcher's lock, in the runs folder; it holds its pid.
pub const LOCK_FILE: &str = ".queue.lock";
/// Made by `workbench queue stop`: the dispatcher stops at its next look.
pub const STOP_FILE: &str = ".queue.stop";
/// The dispatcher's output: what it started, where, and why.
pub const LOG_FILE: &str = ".queue.log";
/// How often the dispatcher looks at the queue: a freed slot is taken within this (plus the
/// start of a process).
pub const POLL: Duration = Duration::from_millis(100);
/// How often NVML is asked for free GPU memory.
const GPU_SAMPLE: Duration = Duration::from_millis(500);

/// The runs folder's dispatcher lock, held for the dispatcher's life.
#[derive(Debug)]
pub struct QueueLock {
    _file: File,
}

fn open_lock(runs_dir: &Path) -> Result<File, QueueError> {
    let path = runs_dir.join(LOCK_FILE);
    std::fs::create_dir_all(runs_dir).map_err(|source| QueueError::Disk { path: runs_dir.into(), source })?;
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(|source| QueueError::Disk { path, source })
}

fn pid_in(file: &mut File) -> u32 {
    let mut text = String::new();
    let _ = file.rewind().and_then(|()| file.read_to_string(&mut text));
    text.trim().parse().unwrap_or(0)
}

impl QueueLock {
    /// Take the lock and write this process's pid in it; refused, naming the holder, when another
    /// dispatcher has it.
    pub fn acquire(runs_dir: &Path) -> Result<QueueLock, QueueError> {
        let mut file = open_lock(runs_dir)?;
        if let Err(e) = crate::runs::liveness::flock_exclusive(&file) {
            if e.kind() == std::io::ErrorKind::WouldBlock {
                return Err(QueueError::AlreadyDispatching { pid: pid_in(&mut file) });
            }
            // A filesystem without locks: go on (one dispatcher is then the user's care).
            tracing::warn!(error = %e, "the queue lock can't be taken; going on without it");
        }
        let path = runs_dir.join(LOCK_FILE);
        let written = file
            .set_len(0)
            .and_then(|()| file.rewind())
            .and_then(|()| file.write_all(format!("{}\n", std::process::id()).as_bytes()));
        written.map_err(|source| QueueError::Disk { path, source })?;
        Ok(QueueLock { _file: file })
    }
}

/// The pid of the dispatcher that holds the runs folder's lock, if one does.
pub fn dispatcher_pid(runs_dir: &Path) -> Option<u32> {
    let mut file = File::open(runs_dir.join(LOCK_FILE)).ok()?;
    match crate::runs::liveness::flock_exclusive(&file) {
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => Some(pid_in(&mut file)),
        // Taken here: nobody held it (dropping the file lets it go).
        _ => None,
    }
}

/// Start a dispatcher for `launcher`'s runs folder, detached, unless one holds the lock. Returns
/// the pid of the one started, or of the one already there.
pub fn ensure_dispatcher(launcher: &Launcher) -> Result<u32, QueueError> {
    if let Some(pid) = dispatcher_pid(&launcher.runs_dir) {
        return Ok(pid);
    }
    let args = [std::ffi::OsStr::new("queue"), std::ffi::OsStr::new("start")];
    crate::train::process::spawn_detached_logged(&launcher.runs_dir.join(LOG_FILE), &args, launcher)
        .map_err(|e| QueueError::Start(e.to_string()))
}

/// Ask the runs folder's dispatcher to stop, and wait up to `wait` for it to let its lock go.
/// Returns whether one was running.
pub fn stop_dispatcher(runs_dir: &Path, wait: Duration) -> Result<bool, QueueError> {
    if dispatcher_pid(runs_dir).is_none() {
        return Ok(false);
    }
    let path = runs_dir.join(STOP_FILE);
    std::fs::write(&path, b"stop\n").map_err(|source| QueueError::Disk { path, source })?;
    let begun = Instant::now();
    while dispatcher_pid(runs_dir).is_some() && begun.elapsed() < wait {
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok(true)
}

/// Free memory of every GPU NVML sees, asked at most every [`GPU_SAMPLE`].
struct Gpus {
    probe: Option<crate::telemetry::GpuProbe>,
    last: Option<(Instant, Vec<Gpu>)>,
}

impl Gpus {
    fn open() -> Gpus {
        let probe = crate::telemetry::GpuProbe::open().map_err(|why| tracing::debug!(%why, "no GPUs")).ok();
        Gpus { probe, last: None }
    }

    fn now(&mut self) -> Vec<Gpu> {
        if let Some((at, gpus)) = &self.last {
            if at.elapsed() < GPU_SAMPLE {
                return gpus.clone();
            }
        }
        let gpus = gpus_now(self.probe.as_ref());
        self.last = Some((Instant::now(), gpus.clone()));
        gpus
    }
}

/// Every GPU `probe` sees, with its memory now (none without a probe).
pub fn gpus_now(probe: Option<&crate::telemetry::GpuProbe>) -> Vec<Gpu> {
    let mb = |b: u64| b / (1024 * 1024);
    probe
        .map(|p| p.sample())
        .unwrap_or_default()
        .into_iter()
        .map(|g| Gpu {
            index: g.index as usize,
            total_mb: mb(g.mem_total_bytes),
            free_mb: mb(g.mem_total_bytes.saturating_sub(g.mem_used_bytes)),
        })
        .collect()
}

/// One line of the dispatcher's log (its stdout, `RUNS/.queue.log`).
fn say(line: &str) {
    tracing::info!("queue: {line}");
    println!("{} {line}", super::now_stamp());
}

/// Work the queue of `launcher.runs_dir` until nothing is queued, starting or going, or `stop` is
/// set, or `RUNS/.queue.stop` appears. Holds the queue lock throughout.
pub fn run_dispatcher(launcher: &Launcher, limits: Limits, stop: &AtomicBool) -> Result<(), QueueError> {
    let runs_dir = launcher.runs_dir.clone();
    let _lock = QueueLock::acquire(&runs_dir)?;
    let _ = std::fs::remove_file(runs_dir.join(STOP_FILE));
    say(&format!("dispatcher {} works {}", std::process::id(), runs_dir.display()));
    let mut reader = QueueReader::new();
    let mut gpus = Gpus::open();
    // Problems already said once in the log.
    let mut told: Vec<String> = Vec::new();
    // The run processes this dispatcher started, by run id (kept here only: a dispatcher after
    // this one judges a run that died starting by the time since it was taken).
    let mut started: HashMap<String, u32> = HashMap::new();
    loop {
        if stop.load(Ordering::Relaxed) || runs_dir.join(STOP_FILE).exists() {
            let _ = std::fs::remove_file(runs_dir.join(STOP_FILE));
            say("stopped; runs already started go on");
            break;
        }
        let view = reader.scan(&runs_dir);
        if tend(&view, &started) {
            // Something changed by our own hand: look again before deciding.
            continue;
        }
        if view.is_idle() {
            say("nothing queued or running: exiting");
            break;
        }
        let now = SystemTime::now();
        let (waiting, problems) = view.waiting_for_decision();
        let gpu_list = if waiting.is_empty() { Vec::new() } else { gpus.now() };
        let decision = decide(&waiting, &gpu_list, &view.going_for_decision(now), &limits);
        for (id, at) in &decision.starts {
            if let Some(run) = view.waiting.iter().find(|r| &r.id() == id) {
                if let Some(pid) = start(launcher, &run.dir, run.meta.kind, *at) {
                    started.insert(id.clone(), pid);
                }
            }
        }
        for (id, why) in problems.iter().chain(&view.problems) {
            if !told.contains(id) {
                say(&format!("{id} is not started: {why}"));
                told.push(id.clone());
            }
        }
        std::thread::sleep(POLL);
    }
    Ok(())
}

/// Housekeeping before a decision: runs that died while starting become `interrupted`; a run
/// that ran out of memory in its first minute goes back to the front, once. Returns whether it
/// changed any run.
fn tend(view: &QueueView, started: &HashMap<String, u32>) -> bool {
    let now = SystemTime::now();
    let mut changed = false;
    for run in view.starting.iter().filter(|r| record::died_starting(r, started.get(&r.id()).copied(), now)) {
        let why =
            "its run process ended before the run started (see its output.log); queue it again to retry";
        if record::mark_died_starting(&run.dir, why).unwrap_or(false) {
            say(&format!("{} died while starting: marked interrupted", run.id()));
            changed = true;
        }
    }
    for run in view
        .ended
        .iter()
        .filter(|r| r.meta.failure_kind == Some(crate::runs::FailureKind::OutOfMemory) && !r.table.requeued)
    {
        if record::requeue_after_oom(&run.dir).unwrap_or(false) {
            say(&format!(
                "{} ran out of memory in its first minute: back at the front of the queue, to run alone",
                run.id()
            ));
            changed = true;
        }
    }
    changed
}

/// Take the run in `dir` and start its process on `at`; the process's pid.
fn start(launcher: &Launcher, dir: &Path, kind: RunKind, at: Placement) -> Option<u32> {
    let id = crate::runs::folder_id(dir);
    match record::take(dir, at) {
        Ok(true) => {}
        Ok(false) => return None,
        Err(e) => {
            say(&format!("cannot take {id}: {e}"));
            return None;
        }
    }
    let started = match kind {
        RunKind::Train => crate::train::spawn_detached(dir, false, launcher).map_err(|e| e.to_string()),
        RunKind::Command => crate::command::start_command_run(dir, launcher).map_err(|e| e.to_string()),
    };
    match started {
        Ok(pid) => {
            say(&format!("started {id} on {} (process {pid})", at.name()));
            Some(pid)
        }
        Err(e) => {
            let why = format!("the queue could not start its run process: {e}");
            let _ = record::mark_died_starting(dir, &why);
            say(&format!("{id}: {why}"));
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    #[test]
    fn one_dispatcher_per_runs_folder() {
        let runs = tempfile::tempdir().unwrap();
        assert_eq!(dispatcher_pid(runs.path()), None);
        let lock = QueueLock::acquire(runs.path()).unwrap();
        assert_eq!(dispatcher_pid(runs.path()), Some(std::process::id()));
        let e = QueueLock::acquire(runs.path()).unwrap_err().to_string();
        assert!(e.contains(&format!("process {}", std::process::id())), "{e}");
        drop(lock);
        assert_eq!(dispatcher_pid(runs.path()), None);
    }

    #[test]
    fn an_empty_queue_ends_the_dispatcher_at_once() {
        let runs = tempfile::tempdir().unwrap();
        let launcher = Launcher {
            exe: PathBuf::from("/bin/false"),
            config: None,
            datasets_dir: runs.path().into(),
            runs_dir: runs.path().into(),
            cache_dir: runs.path().into(),
        };
        let limits = crate::config::queue::QueueConfig::default().limits();
        run_dispatcher(&launcher, limits, &AtomicBool::new(false)).unwrap();
        assert_eq!(dispatcher_pid(runs.path()), None);
    }
}
