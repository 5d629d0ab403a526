//! The background worker: one named thread per run. It loads the data, builds the model, writes the
//! run folder and runs the loop, sending plain [`TrainMsg`]s to a sink. A panic or a libtorch
//! error inside becomes a `Failed` message; it never takes the program down.
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::checkpoint::{self, Progress};
use super::control::RunControl;
use super::engine::{run_loop_from, LoopEnd, LoopError, LoopEvent, LoopStart};
use super::models;
use super::models::Learner;
use super::msg::{RunId, StopReason, TrainMsg};
use super::prepare::{prepare, Prepared};
use super::{TrainError, TrainSpec};
use crate::config::ImagesConfig;
use crate::data::catalog::LoadOptions;
use crate::data::StagePhase;
use crate::data::{DatasetEntry, LoadedData, Task};
use crate::device::ResolvedDevice;
use crate::runs::{
    host_name, load_run, now_rfc3339, DataInfo, DeviceSwitch, FailureKind, RunMeta, RunRecorder, RunStatus,
    Versions,
};

static NEXT_RUN: AtomicU64 = AtomicU64::new(1);

/// Everything a run needs, decided before the thread starts.
#[derive(Debug, Clone)]
pub struct RunRequest {
    pub spec: TrainSpec,
    pub entry: DatasetEntry,
    pub device: ResolvedDevice,
    /// Bytes of data the device may hold before batches are streamed from host memory.
    pub device_budget: Option<u64>,
    pub runs_dir: PathBuf,
    pub cache_dir: PathBuf,
    pub images: ImagesConfig,
}

/// The caller's side of a running worker.
pub struct RunHandle {
    pub id: RunId,
    pub control: Arc<RunControl>,
    join: Option<JoinHandle<()>>,
}

impl RunHandle {
    pub fn stop(&self, reason: StopReason) {
        self.control.request_stop(reason);
    }

    pub fn set_paused(&self, paused: bool) {
        self.control.set_paused(paused);
    }

    pub fn is_finished(&self) -> bool {
        self.join.as_ref().is_none_or(|j| j.is_finished())
    }

    /// Wait for the worker to end (it has sent its final message by then).
    pub fn join(mut self) {
        if let Some(j) = self.join.take() {
            let _ = j.join();
        }
    }
}

impl Drop for RunHandle {
    /// Dropping a handle interrupts the run and waits for it to record that, unless this thread is
    /// already panicking (joining then could hang the unwinding).
    fn drop(&mut self) {
        if let Some(j) = self.join.take() {
            self.control.request_stop(StopReason::Interrupted);
            if !std::thread::panicking() {
                let _ = j.join();
            }
        }
    }
}

/// Which folder a run writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunFolder {
    /// A fresh folder under the request's `runs_dir`.
    New,
    /// This queued folder (made by [`super::process::create_queued_run`]).
    Queued(PathBuf),
    /// This folder, continued from its last checkpoint (checked by the caller first: see
    /// [`super::resume::check_resumable`]).
    Resume(PathBuf),
}

/// Start a run in a fresh folder on its own thread. `sink` gets every message; when it returns
/// `false` (nobody listens any more) the run stops as interrupted.
pub fn spawn_run(
    request: RunRequest,
    control: Arc<RunControl>,
    sink: impl FnMut(TrainMsg) -> bool + Send + 'static,
) -> std::io::Result<RunHandle> {
    spawn_run_in(request, RunFolder::New, control, sink)
}

/// [`spawn_run`] writing the folder `folder` says.
pub fn spawn_run_in(
    request: RunRequest,
    folder: RunFolder,
    control: Arc<RunControl>,
    sink: impl FnMut(TrainMsg) -> bool + Send + 'static,
) -> std::io::Result<RunHandle> {
    let id = RunId(NEXT_RUN.fetch_add(1, Ordering::Relaxed));
    let worker_control = control.clone();
    let join = std::thread::Builder::new()
        .name(format!("train-{}", id.0))
        .spawn(move || worker_main(id, request, folder, worker_control, sink))?;
    Ok(RunHandle { id, control, join: Some(join) })
}

fn worker_main(
    id: RunId,
    request: RunRequest,
    folder: RunFolder,
    control: Arc<RunControl>,
    mut sink: impl FnMut(TrainMsg) -> bool,
) {
    let mut recorder: Option<RunRecorder> = None;
    let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| {
        execute(id, &request, &folder, &control, &mut sink, &mut recorder)
    }));
    let result = match outcome {
        Ok(result) => result,
        Err(panic) => {
            // libtorch's errors in tch's non-fallible calls arrive as panics: "CUDA out of
            // memory" among them.
            let what = crate::threads::panic_message(panic.as_ref());
            let error = match TrainError::from_torch(&what, &request.device.name) {
                TrainError::Internal(_) => {
                    TrainError::Internal(format!("internal error in the training worker: {what}"))
                }
                e => e,
            };
            Err(error)
        }
    };
    let final_msg = match result {
        Ok(msg) => msg,
        Err(error) => {
            // Out of memory: say how far off the run was (the estimate against what is free now,
            // after libtorch has given the failed allocation back).
            let error = match (error.kind(), super::memory::plan_fit(&request)) {
                (FailureKind::OutOfMemory, Some(fit)) => error.with_memory_figures(&fit),
                (_, _) => error,
            };
            let text = error.to_string();
            let kind = error.kind();
            tracing::error!(run = id.0, kind = kind.as_str(), %text, "run failed");
            let run_dir = match recorder.as_mut() {
                Some(rec) => {
                    if let Err(e) = rec.finish(RunStatus::Failed, Some(text.clone()), Some(kind)) {
                        tracing::error!(dir = %rec.dir().display(), error = %e, "could not update run.toml");
                    }
                    Some(rec.dir().to_path_buf())
                }
                // A queued or resumed folder records its failure even before training began.
                None => match &folder {
                    RunFolder::New => None,
                    RunFolder::Queued(dir) | RunFolder::Resume(dir) => {
                        mark_failed(dir, &text, kind);
                        Some(dir.clone())
                    }
                },
            };
            TrainMsg::Failed { run: id, run_dir, error: text, kind }
        }
    };
    sink(final_msg);
}

/// Record in an existing folder's run.toml that its run failed.
pub(crate) fn mark_failed(dir: &Path, reason: &str, kind: FailureKind) {
    let Ok(record) = load_run(dir) else { return };
    let mut meta = record.meta;
    meta.status = RunStatus::Failed;
    meta.reason = Some(reason.to_string());
    meta.failure_kind = Some(kind);
    meta.finished_at = Some(now_rfc3339());
    if let Err(e) = crate::runs::write_final_meta(dir, &meta) {
        tracing::error!(dir = %dir.display(), error = %e, "could not update run.toml");
    }
}

/// A checkpoint is due after this epoch: every `checkpoint_every` epochs and after the last; but
/// when the last checkpoint took over [`SLOW_CHECKPOINT`] to write (a large model), not again
/// within [`CHECKPOINT_SPACING`] of it, except after the last epoch.
struct CheckpointRule {
    every: u32,
    last_at: Option<Instant>,
    last_took: Duration,
}

/// A checkpoint that takes longer than this marks the model as large.
const SLOW_CHECKPOINT: Duration = Duration::from_secs(1);
/// The least time between two checkpoints of a large model.
const CHECKPOINT_SPACING: Duration = Duration::from_secs(60);

impl CheckpointRule {
    fn due(&self, epoch: u32, last_epoch: bool) -> bool {
        if last_epoch {
            return true;
        }
        if self.every == 0 || !epoch.is_multiple_of(self.every) {
            return false;
        }
        match self.last_at {
            Some(at) if self.last_took > SLOW_CHECKPOINT => at.elapsed() >= CHECKPOINT_SPACING,
            _ => true,
        }
    }
}

/// The run itself; returns its final message, or the error that ended it.
fn execute(
    id: RunId,
    request: &RunRequest,
    folder: &RunFolder,
    control: &RunControl,
    sink: &mut dyn FnMut(TrainMsg) -> bool,
    recorder_slot: &mut Option<RunRecorder>,
) -> Result<TrainMsg, TrainError> {
    // A resumed TorchScript run trains the module it started with (see script_net::RUN_COPY).
    let resumed_spec = match folder {
        RunFolder::Resume(dir) => Some(super::script_net::with_run_copy(&request.spec, dir)),
        _ => None,
    };
    let spec = resumed_spec.as_ref().unwrap_or(&request.spec);
    let device = request.device.device;

    if !sink(TrainMsg::Loading { run: id, phase: StagePhase::Reading, done: 0, total: 0 }) {
        control.request_stop(StopReason::Interrupted);
    }
    // A stop while a dataset is being staged abandons the staging (false ends it).
    let mut progress = |phase: StagePhase, done: u64, total: u64| {
        if !sink(TrainMsg::Loading { run: id, phase, done, total }) {
            control.request_stop(StopReason::Interrupted);
        }
        control.stop_reason().is_none()
    };
    let mut options =
        LoadOptions { cache_dir: &request.cache_dir, images: &request.images, progress: &mut progress };
    let data = match request.entry.load(&mut options) {
        Ok(d) => d,
        Err(e) => {
            return match control.stop_reason() {
                Some(reason) => {
                    tracing::info!(run = id.0, dataset = %spec.dataset, "stopped while staging: {e}");
                    let run_dir = match folder {
                        RunFolder::New => None,
                        RunFolder::Queued(dir) | RunFolder::Resume(dir) => Some(dir.clone()),
                    };
                    Ok(TrainMsg::Stopped { run: id, run_dir, reason, last: None })
                }
                None => Err(TrainError::Dataset(e.to_string())),
            }
        }
    };
    if let Ok(summary) = &request.entry.summary {
        spec.model.check_fits(summary).map_err(|u| TrainError::Settings(u.0))?;
    }

    let sample_shape = data.sample_shape();
    let cpu_threads = crate::device::set_cpu_threads(spec.threads);
    let (mut prepared, mut learner) = prepare_run(spec, &data, device, request.device_budget)?;
    let placement = prepared.placement.describe(device);
    tracing::info!(run = id.0, dataset = %spec.dataset, model = %spec.model, device = %request.device.label, %placement, cpu_threads, "run starting");

    let data_info = DataInfo {
        source: request.entry.source.display().to_string(),
        task: match &data.task {
            Task::Classification { .. } => "classification".into(),
            Task::Regression => "regression".into(),
        },
        classes: match &data.task {
            Task::Classification { classes } => classes.clone(),
            Task::Regression => Vec::new(),
        },
        target: request.entry.summary.as_ref().map(|s| s.target.clone()).unwrap_or_default(),
        features: data.feature_names.clone(),
        sample_shape: sample_shape.clone(),
        train_samples: prepared.train_len() as u64,
        val_samples: prepared.val_len() as u64,
        mean: prepared.mean.clone(),
        std: prepared.std.clone(),
        placement: placement.clone(),
        fingerprint: None,
    };
    let fresh_meta = || RunMeta {
        id: String::new(),
        status: RunStatus::Running,
        reason: None,
        failure_kind: None,
        dataset: spec.dataset.clone(),
        model: spec.model.to_string(),
        device: request.device.name.clone(),
        device_label: request.device.label.clone(),
        started_at: now_rfc3339(),
        finished_at: None,
        epochs_completed: 0,
        pid: std::process::id(),
        host: host_name(),
        checkpoint: None,
        checkpoint_epoch: None,
        hyperparameters: spec.clone(),
        data: DataInfo {
            fingerprint: super::resume::fingerprint(&request.entry.source).ok(),
            ..data_info.clone()
        },
        versions: Versions::current(),
        final_metrics: None,
        race: None,
        device_switches: Vec::new(),
        kind: crate::command::RunKind::Train,
        command: None,
        peak_gpu_mem_mb: None,
        queue: None,
        sweep: None,
        sweep_cell: Default::default(),
    };
    let creating = |e: std::io::Error, dir: &Path| TrainError::disk(dir, e);
    let mut start = LoopStart::default();
    let recorder = match folder {
        RunFolder::New => RunRecorder::create(&request.runs_dir, fresh_meta())
            .map_err(|e| creating(e, &request.runs_dir))?,
        RunFolder::Queued(dir) => {
            let queued =
                load_run(dir).map_err(|e| TrainError::Run(format!("cannot read the queued run: {e}")))?.meta;
            // What the folder's maker recorded stays: a race, the queue's table, the sweep's cell.
            let meta = RunMeta {
                id: queued.id,
                race: queued.race,
                queue: queued.queue,
                sweep: queued.sweep,
                sweep_cell: queued.sweep_cell,
                ..fresh_meta()
            };
            RunRecorder::start(dir, meta).map_err(|e| creating(e, dir))?
        }
        RunFolder::Resume(dir) => {
            let at: Progress = checkpoint::load(dir, learner.as_mut())?;
            start =
                LoopStart { epoch: at.epoch, step: at.step, elapsed_s: at.elapsed_s, partial: at.partial };
            let mut meta =
                load_run(dir).map_err(|e| TrainError::Run(format!("cannot read the run: {e}")))?.meta;
            meta.status = RunStatus::Running;
            meta.reason = None;
            meta.failure_kind = None;
            meta.finished_at = None;
            meta.pid = std::process::id();
            meta.host = host_name();
            meta.device = request.device.name.clone();
            meta.device_label = request.device.label.clone();
            meta.epochs_completed = at.epoch;
            meta.data.placement = placement.clone();
            tracing::info!(run = id.0, epoch = at.epoch, step = at.step, "resuming from the checkpoint");
            RunRecorder::resume(dir, meta, at.epoch, at.step).map_err(|e| creating(e, dir))?
        }
    };
    let recorder = recorder_slot.insert(recorder);
    let run_dir = recorder.dir().to_path_buf();
    super::script_net::keep_run_copy(spec, &run_dir).map_err(|e| TrainError::disk(&run_dir, e))?;
    let batch = spec.batch_size.max(1) as u64;
    let train_samples = prepared.train_len() as u64;
    if !sink(TrainMsg::Started {
        run: id,
        run_dir: run_dir.clone(),
        device_label: request.device.label.clone(),
        epochs: spec.epochs,
        steps_per_epoch: train_samples.div_ceil(batch),
        train_samples,
        val_samples: prepared.val_len() as u64,
        placement,
    }) {
        control.request_stop(StopReason::Interrupted);
    }

    // The recorder is shared by the event callback and the checkpoint hook, one at a time.
    let recorder = std::cell::RefCell::new(recorder);
    let mut sink_error: Option<TrainError> = None;
    let mut emit = |event: LoopEvent| -> Result<bool, String> {
        let mut rec = recorder.borrow_mut();
        let mut record = |result: std::io::Result<()>| {
            result.map_err(|e| {
                let error = TrainError::disk(&run_dir, e);
                let text = error.to_string();
                sink_error = Some(error);
                text
            })
        };
        let msg = match event {
            LoopEvent::Steps { epoch, first_step, losses, wall_s } => {
                record(rec.append_steps(epoch, first_step, &losses, wall_s))?;
                TrainMsg::Steps { run: id, epoch, first_step, losses }
            }
            LoopEvent::Epoch(metrics) => {
                record(rec.append_epoch(&metrics))?;
                TrainMsg::Epoch { run: id, metrics }
            }
            LoopEvent::Paused => {
                record(rec.set_status(RunStatus::Paused))?;
                TrainMsg::Paused { run: id }
            }
            LoopEvent::Resumed => {
                record(rec.set_status(RunStatus::Running))?;
                TrainMsg::Resumed { run: id }
            }
        };
        Ok(sink(msg))
    };
    let mut rule = CheckpointRule { every: spec.checkpoint_every, last_at: None, last_took: Duration::ZERO };
    let mut final_checkpoint: Result<(), TrainError> = Ok(());
    let mut after_epoch = |learner: &dyn Learner, m: &crate::train::EpochMetrics, last: bool| {
        if !rule.due(m.epoch, last) {
            return Ok(());
        }
        let began = Instant::now();
        let at = Progress { epoch: m.epoch, step: m.global_step, elapsed_s: m.elapsed_s, partial: None };
        let saved = checkpoint::save(&run_dir, learner, &spec.model, at).and_then(|()| {
            recorder.borrow_mut().checkpointed(m.epoch).map_err(|e| TrainError::disk(&run_dir, e))
        });
        rule.last_at = Some(Instant::now());
        rule.last_took = began.elapsed();
        match saved {
            Ok(()) => {}
            // A failed checkpoint mid-run leaves the previous one intact; the run goes on and
            // tries again at the next one. At the end it fails the run: its weights would be lost.
            Err(e) if !last => {
                tracing::warn!(dir = %run_dir.display(), error = %e, "checkpoint failed; the previous one is kept")
            }
            Err(e) => final_checkpoint = Err(e),
        }
        Ok::<(), LoopError>(())
    };
    let mut on = (request.device.clone(), cpu_threads);
    let result = loop {
        let result =
            run_loop_from(learner.as_mut(), &prepared, spec, control, start, &mut emit, &mut after_epoch);
        let (Ok(LoopEnd { moved: Some(at), .. }), Some(target)) = (&result, control.take_move()) else {
            break result;
        };
        // Checkpoint between two batches (model and optimizer), rebuild on the new device from
        // it, and go on from the same batch: the curve continues.
        let progress =
            Progress { epoch: at.epoch, step: at.step, elapsed_s: at.elapsed_s, partial: at.partial };
        checkpoint::save(&run_dir, learner.as_ref(), &spec.model, progress)?;
        recorder.borrow_mut().checkpointed(at.epoch).map_err(|e| TrainError::disk(&run_dir, e))?;
        let threads = target.threads.unwrap_or(spec.threads);
        let now_threads = crate::device::set_cpu_threads(threads);
        let (p, mut l) = prepare_run(spec, &data, target.device.device, target.budget)?;
        checkpoint::load(&run_dir, l.as_mut())?;
        (prepared, learner) = (p, l);
        let wall_s = at.elapsed_s + at.partial.map_or(0.0, |p| p.seconds);
        let switch = DeviceSwitch {
            epoch: at.epoch + 1,
            step: at.step,
            wall_s,
            from: device_words(&on.0, on.1),
            to: device_words(&target.device, now_threads),
            at: now_rfc3339(),
        };
        tracing::info!(run = id.0, from = %switch.from, to = %switch.to, step = at.step, "run moved");
        let placement = prepared.placement.describe(target.device.device);
        recorder
            .borrow_mut()
            .switched(switch, &target.device.label, threads, placement)
            .map_err(|e| TrainError::disk(&run_dir, e))?;
        on = (target.device, now_threads);
        start = *at;
    };
    let request_device_name = on.0.name;
    let recorder = recorder.into_inner();

    let end = match result {
        Ok(end) => end,
        Err(LoopError::Diverged { epoch, step, value, lr }) => {
            return Err(TrainError::Diverged { epoch, step, value, lr })
        }
        Err(LoopError::Torch(e)) => return Err(TrainError::from_torch(&e.to_string(), &request_device_name)),
        Err(LoopError::Hook(e)) => return Err(e),
        Err(LoopError::Sink(text)) => return Err(sink_error.take().unwrap_or(TrainError::Internal(text))),
    };
    let (status, msg) = match end.stopped {
        None => {
            final_checkpoint?;
            (RunStatus::Finished, TrainMsg::Finished { run: id, run_dir: run_dir.clone(), last: end.last })
        }
        Some(reason) => {
            let status = match reason {
                StopReason::User => RunStatus::Stopped,
                StopReason::Interrupted => RunStatus::Interrupted,
            };
            (status, TrainMsg::Stopped { run: id, run_dir: Some(run_dir.clone()), reason, last: end.last })
        }
    };
    recorder.finish(status, None, None).map_err(|e| TrainError::disk(&run_dir, e))?;
    tracing::info!(run = id.0, status = status.as_str(), dir = %run_dir.display(), "run ended");
    Ok(msg)
}

/// `cpu threads=4` or `cuda:0`, as a device switch names its ends.
fn device_words(device: &ResolvedDevice, threads: i32) -> String {
    match device.device {
        tch::Device::Cpu => format!("{} threads={threads}", device.name),
        _ => device.name.clone(),
    }
}

/// Split and place the data, then build the model, as a run does before its first epoch. The
/// split and the initialisation draw from one seeded stream (see train/rng.rs); bench/ calls this
/// too, so the benchmark starts exactly where a run does.
pub fn prepare_run(
    spec: &TrainSpec,
    data: &LoadedData,
    device: tch::Device,
    device_budget: Option<u64>,
) -> Result<(Prepared, Box<dyn Learner>), TrainError> {
    let head = models::Head::for_model(&spec.model, &data.task);
    super::rng::seeded(super::rng::run_seed(spec.seed), || {
        let prepared = prepare(data, head, spec.val_fraction, spec.standardize, device, device_budget)?;
        let learner = models::build(spec, &data.sample_shape(), &data.task, device)?;
        Ok((prepared, learner))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checkpoints_follow_every_n_and_space_out_slow_ones() {
        let rule = CheckpointRule { every: 2, last_at: None, last_took: Duration::ZERO };
        let due: Vec<u32> = (1..=6).filter(|&e| rule.due(e, e == 5)).collect();
        assert_eq!(due, [2, 4, 5, 6], "every 2nd epoch, and the last");
        let never = CheckpointRule { every: 0, ..rule };
        assert!(!never.due(4, false) && never.due(9, true), "0: only at the end");
        // A checkpoint that took 3 s a moment ago: the next waits for a minute, the last does not.
        let slow =
            CheckpointRule { every: 1, last_at: Some(Instant::now()), last_took: Duration::from_secs(3) };
        assert!(!slow.due(7, false));
        assert!(slow.due(8, true));
        let quick = CheckpointRule { last_took: Duration::from_millis(5), ..slow };
        assert!(quick.due(7, false), "a small model checkpoints every epoch");
    }
}
