//! The background worker: one named thread per run. It loads the data, builds the model, writes the
//! run folder and runs the loop, sending plain [`TrainMsg`]s to a sink. A panic or a libtorch
//! error inside becomes a `Failed` message; it never takes the program down.
use std::panic::AssertUnwindSafe;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

use super::control::RunControl;
use super::engine::{run_loop, LoopEvent};
use super::models;
use super::models::Learner;
use super::msg::{RunId, StopReason, TrainMsg};
use super::prepare::{prepare, Prepared};
use super::TrainSpec;
use crate::config::ImagesConfig;
use crate::data::catalog::LoadOptions;
use crate::data::StagePhase;
use crate::data::{DatasetEntry, LoadedData, Task};
use crate::device::ResolvedDevice;
use crate::runs::{host_name, now_rfc3339, DataInfo, RunMeta, RunRecorder, RunStatus, Versions};

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

/// Start a run on its own thread. `sink` gets every message; when it returns `false` (nobody
/// listens any more) the run stops as interrupted.
pub fn spawn_run(
    request: RunRequest,
    control: Arc<RunControl>,
    sink: impl FnMut(TrainMsg) -> bool + Send + 'static,
) -> std::io::Result<RunHandle> {
    let id = RunId(NEXT_RUN.fetch_add(1, Ordering::Relaxed));
    let worker_control = control.clone();
    let join = std::thread::Builder::new()
        .name(format!("train-{}", id.0))
        .spawn(move || worker_main(id, request, worker_control, sink))?;
    Ok(RunHandle { id, control, join: Some(join) })
}

fn worker_main(
    id: RunId,
    request: RunRequest,
    control: Arc<RunControl>,
    mut sink: impl FnMut(TrainMsg) -> bool,
) {
    let mut recorder: Option<RunRecorder> = None;
    let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| {
        execute(id, &request, &control, &mut sink, &mut recorder)
    }));
    let final_msg = match outcome {
        Ok(msg) => msg,
        Err(panic) => {
            let what = panic_message(&panic);
            let error = format!("internal error in the training worker: {what}");
            tracing::error!(run = id.0, %error);
            if let Some(rec) = recorder.as_mut() {
                let _ = rec.finish(RunStatus::Failed, Some(error.clone()));
            }
            TrainMsg::Failed { run: id, run_dir: recorder.as_ref().map(|r| r.dir().to_path_buf()), error }
        }
    };
    sink(final_msg);
}

/// Turn a caught panic payload into text. libtorch errors arrive as panics from tch's
/// non-fallible calls and carry the C++ message.
pub fn panic_message(panic: &Box<dyn std::any::Any + Send>) -> String {
    let text = if let Some(s) = panic.downcast_ref::<&str>() {
        s.to_string()
    } else if let Some(s) = panic.downcast_ref::<String>() {
        s.clone()
    } else {
        "unknown panic".to_string()
    };
    // libtorch messages carry a C++ backtrace; the first line says what went wrong.
    text.lines().next().unwrap_or_default().to_string()
}

/// The run itself; returns its final message.
fn execute(
    id: RunId,
    request: &RunRequest,
    control: &RunControl,
    sink: &mut dyn FnMut(TrainMsg) -> bool,
    recorder_slot: &mut Option<RunRecorder>,
) -> TrainMsg {
    let failed = |error: String, dir: Option<PathBuf>| TrainMsg::Failed { run: id, run_dir: dir, error };
    let spec = &request.spec;
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
                    TrainMsg::Stopped { run: id, run_dir: None, reason, last: None }
                }
                None => failed(e.to_string(), None),
            }
        }
    };
    if let Ok(summary) = &request.entry.summary {
        if let Err(why) = spec.model.check_fits(summary) {
            return failed(why, None);
        }
    }

    let sample_shape = data.sample_shape();
    let cpu_threads = crate::device::set_cpu_threads(spec.threads);
    let (prepared, mut learner) = match prepare_run(spec, &data, device, request.device_budget) {
        Ok(b) => b,
        Err(e) => return failed(e, None),
    };
    let placement = prepared.placement.describe(device);
    tracing::info!(run = id.0, dataset = %spec.dataset, model = %spec.model, device = %request.device.label, %placement, cpu_threads, "run starting");

    let meta = RunMeta {
        id: String::new(),
        status: RunStatus::Running,
        reason: None,
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
        hyperparameters: spec.clone(),
        data: DataInfo {
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
        },
        versions: Versions::current(),
        final_metrics: None,
    };
    let recorder = match RunRecorder::create(&request.runs_dir, meta) {
        Ok(r) => recorder_slot.insert(r),
        Err(e) => {
            return failed(
                format!(
                    "cannot create a run folder in {}: {e}; check the disk has space and the folder is writable, \
                     or choose another with --runs-dir",
                    request.runs_dir.display()
                ),
                None,
            )
        }
    };
    let run_dir = recorder.dir().to_path_buf();
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

    let mut emit = |event: LoopEvent| -> Result<bool, String> {
        let msg = match event {
            LoopEvent::Steps { epoch, first_step, losses } => {
                recorder.append_steps(epoch, first_step, &losses).map_err(|e| write_error(&run_dir, e))?;
                TrainMsg::Steps { run: id, epoch, first_step, losses }
            }
            LoopEvent::Epoch(metrics) => {
                recorder.append_epoch(&metrics).map_err(|e| write_error(&run_dir, e))?;
                TrainMsg::Epoch { run: id, metrics }
            }
            LoopEvent::Paused => TrainMsg::Paused { run: id },
            LoopEvent::Resumed => TrainMsg::Resumed { run: id },
        };
        Ok(sink(msg))
    };
    let result = run_loop(learner.as_mut(), &prepared, spec, control, &mut emit);

    let Some(recorder) = recorder_slot.as_mut() else {
        return failed("internal error: the run's recorder went missing".into(), Some(run_dir));
    };
    let checkpoint = recorder.save_checkpoint(learner.var_store());
    let (status, reason, msg) = match result {
        Ok(end) => match end.stopped {
            None => match checkpoint {
                Ok(()) => (
                    RunStatus::Finished,
                    None,
                    TrainMsg::Finished { run: id, run_dir: run_dir.clone(), last: end.last },
                ),
                Err(e) => (RunStatus::Failed, Some(e.clone()), failed(e, Some(run_dir.clone()))),
            },
            Some(reason) => {
                let status = match reason {
                    StopReason::User => RunStatus::Stopped,
                    StopReason::Interrupted => RunStatus::Interrupted,
                };
                (
                    status,
                    None,
                    TrainMsg::Stopped { run: id, run_dir: Some(run_dir.clone()), reason, last: end.last },
                )
            }
        },
        Err(e) => {
            let error = e.to_string();
            (RunStatus::Failed, Some(error.clone()), failed(error, Some(run_dir.clone())))
        }
    };
    if let Err(e) = recorder.finish(status, reason) {
        tracing::error!(dir = %run_dir.display(), error = %e, "could not update run.toml");
        return failed(write_error(&run_dir, e), Some(run_dir));
    }
    tracing::info!(run = id.0, status = status.as_str(), dir = %run_dir.display(), "run ended");
    msg
}

/// Split and place the data, then build the model, as a run does before its first epoch. The
/// split and the initialisation draw from one seeded stream (see train/rng.rs); bench/ calls this
/// too, so the benchmark starts exactly where a run does.
pub fn prepare_run(
    spec: &TrainSpec,
    data: &LoadedData,
    device: tch::Device,
    device_budget: Option<u64>,
) -> Result<(Prepared, Box<dyn Learner>), String> {
    let head = models::Head::for_model(spec.model, &data.task);
    super::rng::seeded(super::rng::run_seed(spec.seed), || {
        let prepared = prepare(data, head, spec.val_fraction, spec.standardize, device, device_budget)?;
        let learner = models::build(spec, &data.sample_shape(), &data.task, device)?;
        Ok((prepared, learner))
    })
}

fn write_error(dir: &std::path::Path, e: std::io::Error) -> String {
    format!(
        "cannot write to the run folder {}: {e}; free some disk space, then start the run again",
        dir.display()
    )
}
