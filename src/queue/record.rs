//! The queue as run folders: reading it (cheaply, again and again, for the dispatcher), and each
//! change to a queued run's run.toml, made under the folder's lock so that a run is never taken
//! twice and a stop never crosses a start.
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use super::decide::{Going, Placement, Waiting};
use super::{now_stamp, seconds_since, AskedDevice, QueueError, QueueTable};
use crate::runs::{folder_id, read_meta, write_run_meta, RunLock, RunMeta, RunStatus, RunsError, RUN_FILE};

/// A run that a dispatcher took but whose run process has not said `running` after this long,
/// with no process to show for it, died while starting.
pub const START_LIMIT_S: f64 = 30.0;

/// One run of the queue as read from its folder.
#[derive(Debug, Clone)]
pub struct QueueRun {
    pub dir: PathBuf,
    pub meta: RunMeta,
    pub table: QueueTable,
}

impl QueueRun {
    pub fn id(&self) -> String {
        folder_id(&self.dir)
    }
}

/// Where each queue run stands.
#[derive(Debug, Default)]
pub struct QueueView {
    /// Queued and not taken.
    pub waiting: Vec<QueueRun>,
    /// Taken by a dispatcher, its run process not yet `running`.
    pub starting: Vec<QueueRun>,
    /// Started by the queue and still going.
    pub going: Vec<QueueRun>,
    /// Ended lately (kept for the out-of-memory requeue).
    pub ended: Vec<QueueRun>,
    /// Runs whose `[queue]` table can't be read or used, with why: they hold no other run.
    pub problems: Vec<(String, String)>,
}

impl QueueView {
    /// Whether anything is queued, starting or going.
    pub fn is_idle(&self) -> bool {
        self.waiting.is_empty() && self.starting.is_empty() && self.going.is_empty()
    }

    /// The queued runs as the decision takes them; a `[queue]` device it can't read is a problem.
    pub fn waiting_for_decision(&self) -> (Vec<Waiting>, Vec<(String, String)>) {
        let mut problems = Vec::new();
        let mut queue = Vec::new();
        for run in &self.waiting {
            match AskedDevice::parse(&run.table.device) {
                Ok(asked) => queue.push(Waiting {
                    id: run.id(),
                    asked,
                    need_mb: run.table.gpu_mem_mb,
                    priority: run.table.priority,
                    queued_at: run.table.queued_at.clone(),
                    top: run.table.top.clone(),
                    alone: run.table.alone,
                }),
                Err(e) => problems.push((run.id(), format!("its [queue] table is wrong: {e}"))),
            }
        }
        (queue, problems)
    }

    /// The runs going (and starting) as the decision takes them.
    pub fn going_for_decision(&self, now: SystemTime) -> Vec<Going> {
        self.going
            .iter()
            .chain(&self.starting)
            .map(|run| {
                let on = run.table.started_on.as_deref().and_then(Placement::parse).unwrap_or(Placement::Cpu);
                Going {
                    id: run.id(),
                    on,
                    reserved_mb: run.table.gpu_mem_mb,
                    alone: run.table.alone,
                    started_s_ago: run.table.taken_at.as_deref().map_or(f64::MAX, |t| seconds_since(t, now)),
                }
            })
            .collect()
    }
}

/// Reads the runs folder's queue runs, parsing a run.toml again only when it changed.
#[derive(Debug, Default)]
pub struct QueueReader {
    cache: HashMap<PathBuf, (SystemTime, u64, Result<RunMeta, String>)>,
}

impl QueueReader {
    pub fn new() -> QueueReader {
        QueueReader::default()
    }

    /// Every run under `runs_dir` with a `[queue]` table, by where it stands.
    pub fn scan(&mut self, runs_dir: &Path) -> QueueView {
        let mut view = QueueView::default();
        let Ok(read) = std::fs::read_dir(runs_dir) else { return view };
        let mut seen = HashSet::new();
        for entry in read.filter_map(|e| e.ok()) {
            let dir = entry.path();
            let file = dir.join(RUN_FILE);
            let Ok(stat) = std::fs::metadata(&file) else { continue };
            let stamp = (stat.modified().unwrap_or(SystemTime::UNIX_EPOCH), stat.len());
            let fresh = self.cache.get(&dir).is_some_and(|(m, l, _)| (*m, *l) == stamp);
            if !fresh {
                let parsed = read_queue_meta(&dir);
                self.cache.insert(dir.clone(), (stamp.0, stamp.1, parsed));
            }
            seen.insert(dir.clone());
            let Some((_, _, parsed)) = self.cache.get(&dir) else { continue };
            match parsed {
                Ok(meta) => sort_into(&mut view, &dir, meta),
                Err(why) if !why.is_empty() => view.problems.push((folder_id(&dir), why.clone())),
                Err(_) => {}
            }
        }
        self.cache.retain(|dir, _| seen.contains(dir));
        view
    }
}

/// A run.toml that holds a `[queue]` table; `Err("")` for a run without one (not the queue's),
/// `Err(why)` when a run.toml that mentions `[queue]` can't be read.
fn read_queue_meta(dir: &Path) -> Result<RunMeta, String> {
    match read_meta(dir) {
        Ok(meta) if meta.queue.is_some() => Ok(meta),
        Ok(_) => Err(String::new()),
        Err(e) => {
            let text = std::fs::read_to_string(dir.join(RUN_FILE)).unwrap_or_default();
            if text.contains("[queue]") {
                Err(format!("its run.toml can't be read, so it can't be started: {e}"))
            } else {
                Err(String::new())
            }
        }
    }
}

fn sort_into(view: &mut QueueView, dir: &Path, meta: &RunMeta) {
    let Some(table) = meta.queue.clone() else { return };
    let run = QueueRun { dir: dir.to_path_buf(), meta: meta.clone(), table };
    match meta.status {
        RunStatus::Queued if run.table.is_taken() => view.starting.push(run),
        RunStatus::Queued => view.waiting.push(run),
        RunStatus::Running | RunStatus::Paused => match crate::runs::liveness::effective_status(dir, meta) {
            RunStatus::Interrupted => view.ended.push(run),
            _ => view.going.push(run),
        },
        _ => view.ended.push(run),
    }
}

/// Change a queue run's run.toml under its folder's lock. `change` returns whether it changed
/// anything (then run.toml is written). Returns `Ok(false)` when the run's process holds the lock.
pub fn change_locked(
    dir: &Path,
    change: impl FnOnce(&mut RunMeta) -> Result<bool, QueueError>,
) -> Result<bool, QueueError> {
    let _lock = match RunLock::acquire(dir) {
        Ok(lock) => lock,
        Err(RunsError::Locked { .. }) => return Ok(false),
        Err(e) => return Err(e.into()),
    };
    let mut meta = read_meta(dir)?;
    if !change(&mut meta)? {
        return Ok(false);
    }
    write_run_meta(dir, &meta).map_err(|source| QueueError::Disk { path: dir.join(RUN_FILE), source })?;
    Ok(true)
}

/// Take a queued run to start it on `at`: only when it is still `queued` and untaken. Writes the
/// device into run.toml (a train run's `device`; a command run's `CUDA_VISIBLE_DEVICES`).
pub fn take(dir: &Path, at: Placement) -> Result<bool, QueueError> {
    change_locked(dir, |meta| {
        let untaken = meta.status == RunStatus::Queued && meta.queue.as_ref().is_some_and(|q| !q.is_taken());
        if !untaken {
            return Ok(false);
        }
        place_on(meta, at);
        if let Some(q) = meta.queue.as_mut() {
            q.taken_at = Some(now_stamp());
            q.started_on = Some(at.name());
        }
        Ok(true)
    })
}

/// Point a run at its device: run.toml's device, a train run's `device` parameter, a command
/// run's `CUDA_VISIBLE_DEVICES`.
fn place_on(meta: &mut RunMeta, at: Placement) {
    meta.device = at.name();
    meta.device_label = match at {
        Placement::Cpu => "CPU".into(),
        Placement::Gpu(i) => format!("CUDA:{i}"),
    };
    meta.hyperparameters.device = at.name();
    if let Some(command) = meta.command.as_mut() {
        let visible = match at {
            Placement::Cpu => String::new(),
            Placement::Gpu(i) => i.to_string(),
        };
        command.env.insert("CUDA_VISIBLE_DEVICES".into(), visible);
    }
}

/// End a run that was taken but whose process died before it ran: `interrupted`, with why.
pub fn mark_died_starting(dir: &Path, why: &str) -> Result<bool, QueueError> {
    change_locked(dir, |meta| {
        if meta.status != RunStatus::Queued || !meta.queue.as_ref().is_some_and(QueueTable::is_taken) {
            return Ok(false);
        }
        meta.status = RunStatus::Interrupted;
        meta.reason = Some(why.to_string());
        meta.finished_at = Some(crate::runs::now_rfc3339());
        Ok(true)
    })
}

/// Whether a taken run's process died before the run said `running`. `pid` is the process this
/// dispatcher started for it, when it was this one: its end says so at once. Otherwise (a
/// dispatcher before this one took it) the run is dead once [`START_LIMIT_S`] passed with no
/// process holding its lock. The lock is looked at only then: a look takes it for an instant,
/// which a run process starting at that instant would find held.
pub fn died_starting(run: &QueueRun, pid: Option<u32>, now: SystemTime) -> bool {
    if let Some(pid) = pid {
        return !crate::util::process_alive(pid);
    }
    let overdue = run.table.taken_at.as_deref().is_some_and(|t| seconds_since(t, now) > START_LIMIT_S);
    overdue && crate::runs::liveness::lock_held(&run.dir) != Some(true)
}

/// Put a run that ran out of memory within its first minute back at the front of the queue,
/// once, to run alone on its GPU. Returns whether it was put back.
pub fn requeue_after_oom(dir: &Path) -> Result<bool, QueueError> {
    change_locked(dir, |meta| {
        let oom = meta.status == RunStatus::Failed
            && meta.failure_kind == Some(crate::runs::FailureKind::OutOfMemory);
        let Some(q) = meta.queue.as_mut().filter(|q| oom && !q.requeued) else { return Ok(false) };
        let ran_s = match (&q.taken_at, &meta.finished_at) {
            (Some(taken), Some(end)) => {
                humantime::parse_rfc3339_weak(end).ok().map_or(f64::MAX, |end| seconds_since(taken, end))
            }
            _ => f64::MAX,
        };
        if ran_s > 60.0 {
            return Ok(false);
        }
        q.requeued = true;
        q.alone = true;
        q.top = Some(now_stamp());
        q.taken_at = None;
        q.started_on = None;
        meta.status = RunStatus::Queued;
        meta.reason = Some(format!(
            "ran out of memory {ran_s:.0} s after it started beside other runs; put back at the front of \
             the queue to run alone on its GPU"
        ));
        meta.failure_kind = None;
        meta.finished_at = None;
        meta.final_metrics = None;
        meta.epochs_completed = 0;
        Ok(true)
    })
}

/// Refuse, without touching its lock, a run a dispatcher took: its run process may be taking the
/// lock this very moment, and must find it free.
fn refuse_taken(dir: &Path, what: &str) -> Result<(), QueueError> {
    let meta = read_meta(dir)?;
    if meta.status == RunStatus::Queued && meta.queue.as_ref().is_some_and(QueueTable::is_taken) {
        return Err(QueueError::Unmeetable(format!(
            "cannot {what}: {} is already starting (the queue took it); once it runs, `workbench stop` stops it",
            folder_id(dir)
        )));
    }
    Ok(())
}

/// `workbench stop` of a queued run: out of the queue, `stopped`. Refused once a dispatcher took
/// it (its process is starting; stop it when it runs).
pub fn stop_queued(dir: &Path) -> Result<(), QueueError> {
    refuse_taken(dir, "take it out of the queue")?;
    let mut refusal = None;
    let changed = change_locked(dir, |meta| {
        if meta.status != RunStatus::Queued {
            refusal = Some(format!("it is {}, no longer queued", meta.status.as_str()));
            return Ok(false);
        }
        if meta.queue.as_ref().is_some_and(QueueTable::is_taken) {
            refusal = Some("it is starting; stop it again in a moment, once it runs".into());
            return Ok(false);
        }
        meta.status = RunStatus::Stopped;
        meta.reason = Some("taken out of the queue by the user".into());
        meta.finished_at = Some(crate::runs::now_rfc3339());
        Ok(true)
    })?;
    match (changed, refusal) {
        (true, _) => Ok(()),
        (false, Some(why)) => {
            Err(QueueError::Unmeetable(format!("cannot take {} out of the queue: {why}", folder_id(dir))))
        }
        (false, None) => Err(QueueError::Unmeetable(format!(
            "cannot take {} out of the queue: its run process is starting",
            folder_id(dir)
        ))),
    }
}

/// `workbench queue top RUN`: to the front of the queue.
pub fn move_to_top(dir: &Path) -> Result<(), QueueError> {
    refuse_taken(dir, "move it to the front")?;
    let changed = change_locked(dir, |meta| {
        let Some(q) = meta.queue.as_mut().filter(|q| !q.is_taken()) else { return Ok(false) };
        if meta.status != RunStatus::Queued {
            return Ok(false);
        }
        q.top = Some(now_stamp());
        Ok(true)
    })?;
    if changed {
        Ok(())
    } else {
        Err(QueueError::Unmeetable(format!(
            "{} is not waiting in the queue (see `workbench queue`)",
            folder_id(dir)
        )))
    }
}

/// Set a finished run's `peak_gpu_mem_mb` from its `telemetry.csv` (nothing for a CPU run, or
/// when nothing was sampled).
pub fn record_peak(dir: &Path, meta: &mut RunMeta) {
    let path = dir.join(crate::telemetry::TELEMETRY_FILE);
    let Ok(text) = std::fs::read_to_string(&path) else { return };
    let telemetry = crate::telemetry::parse_telemetry(&text);
    if let Some(peak) = super::need::peak_from_telemetry(&telemetry, &meta.device) {
        meta.peak_gpu_mem_mb = Some(peak);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn queued_run(runs: &Path) -> PathBuf {
        let mut meta = RunMeta::queued(
            crate::command::RunKind::Train,
            "iris".into(),
            "mlp".into(),
            "auto".into(),
            "auto".into(),
            crate::params::TrainSpec::default(),
        );
        meta.queue = Some(QueueTable::new("auto".into(), None, "test".into(), 0));
        crate::runs::RunRecorder::create_folder(runs, &mut meta).unwrap()
    }

    #[test]
    fn a_run_is_taken_once_and_then_cannot_be_stopped_or_taken_again() {
        let runs = tempfile::tempdir().unwrap();
        let dir = queued_run(runs.path());
        let mut reader = QueueReader::new();
        assert_eq!(reader.scan(runs.path()).waiting.len(), 1);
        assert!(take(&dir, Placement::Cpu).unwrap());
        assert!(!take(&dir, Placement::Cpu).unwrap(), "a second take finds it taken");
        let view = reader.scan(runs.path());
        assert_eq!((view.waiting.len(), view.starting.len()), (0, 1));
        assert_eq!(read_meta(&dir).unwrap().hyperparameters.device, "cpu");
        assert!(stop_queued(&dir).unwrap_err().to_string().contains("starting"));
    }

    #[test]
    fn a_held_folder_lock_means_its_process_has_it() {
        let runs = tempfile::tempdir().unwrap();
        let dir = queued_run(runs.path());
        let held = RunLock::acquire(&dir).unwrap();
        assert!(!take(&dir, Placement::Cpu).unwrap());
        drop(held);
        assert!(take(&dir, Placement::Cpu).unwrap());
    }

    #[test]
    fn a_stopped_queued_run_leaves_the_queue() {
        let runs = tempfile::tempdir().unwrap();
        let dir = queued_run(runs.path());
        stop_queued(&dir).unwrap();
        let meta = read_meta(&dir).unwrap();
        assert_eq!(meta.status, RunStatus::Stopped);
        assert!(QueueReader::new().scan(runs.path()).is_idle());
    }

    #[test]
    fn an_early_out_of_memory_goes_back_once_to_the_front_alone() {
        let runs = tempfile::tempdir().unwrap();
        let dir = queued_run(runs.path());
        take(&dir, Placement::Gpu(0)).unwrap();
        let fail = |dir: &Path| {
            change_locked(dir, |m| {
                m.status = RunStatus::Failed;
                m.failure_kind = Some(crate::runs::FailureKind::OutOfMemory);
                m.finished_at = Some(crate::runs::now_rfc3339());
                Ok(true)
            })
            .unwrap()
        };
        fail(&dir);
        assert!(requeue_after_oom(&dir).unwrap());
        let meta = read_meta(&dir).unwrap();
        let q = meta.queue.as_ref().unwrap();
        assert_eq!(meta.status, RunStatus::Queued);
        assert!(q.alone && q.requeued && q.top.is_some() && !q.is_taken());
        assert!(meta.reason.unwrap().contains("run alone"));
        take(&dir, Placement::Gpu(0)).unwrap();
        fail(&dir);
        assert!(!requeue_after_oom(&dir).unwrap(), "only once");
    }

    #[test]
    fn a_run_taken_without_a_process_is_found_dead_after_the_limit() {
        let runs = tempfile::tempdir().unwrap();
        let dir = queued_run(runs.path());
        take(&dir, Placement::Cpu).unwrap();
        let run = QueueReader::new().scan(runs.path()).starting.remove(0);
        let now = SystemTime::now();
        assert!(!died_starting(&run, None, now));
        assert!(died_starting(&run, None, now + std::time::Duration::from_secs(60)));
        assert!(!died_starting(&run, Some(std::process::id()), now), "its process lives");
        assert!(died_starting(&run, Some(u32::MAX - 1), now), "its process is gone");
        assert!(mark_died_starting(&dir, "its process died").unwrap());
        assert_eq!(read_meta(&dir).unwrap().status, RunStatus::Interrupted);
    }

    #[test]
    fn a_corrupt_queue_table_is_a_problem_of_its_own_run() {
        let runs = tempfile::tempdir().unwrap();
        let good = queued_run(runs.path());
        let bad = queued_run(runs.path());
        let text = std::fs::read_to_string(bad.join(RUN_FILE)).unwrap();
        std::fs::write(bad.join(RUN_FILE), text.replace("gpu_mem_source = \"test\"", "gpu_mem_source = 7"))
            .unwrap();
        let view = QueueReader::new().scan(runs.path());
        assert_eq!(view.waiting.len(), 1);
        assert_eq!(view.waiting[0].dir, good);
        assert_eq!(view.problems.len(), 1);
        assert!(view.problems[0].1.contains("can't be read"), "{:?}", view.problems);
    }
}
