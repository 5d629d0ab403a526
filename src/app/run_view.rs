//! One run as the UI knows it, built only from [`RunEvent`]s: whatever wrote the folder (this
//! TUI's run process, `workbench train` in another shell, a cluster job) looks the same here.
use std::collections::BTreeMap;
use std::path::PathBuf;

use super::series::{Ema, Series};
use super::tags::TagSeries;
use crate::runs::events::{ExternalKind, ScalarPoint};
use crate::runs::external::is_train_loss;
use crate::runs::{EpochRow, LiveState, RunEvent, RunKey, RunMeta, RunStatus, StepRow};
use crate::telemetry::Telemetry;
use crate::train::MetricKind;

/// Weight of each new step loss in the smoothed curve.
const SMOOTHING: f32 = 0.05;

/// One run: its folder, what `run.toml` says, its curves and its heartbeat.
#[derive(Debug, Clone, PartialEq)]
pub struct RunView {
    /// The folder name, which is the run's id.
    pub key: RunKey,
    pub dir: PathBuf,
    /// `run.toml`, once read; `None` for a folder that can't be read as a run.
    pub meta: Option<Box<RunMeta>>,
    /// The effective status (a `running` run whose process is gone reads `interrupted`).
    pub status: Option<RunStatus>,
    /// Why the folder can't be read as a run; such a folder is listed, never hidden.
    pub problem: Option<String>,
    /// The run process's last heartbeat.
    pub live: Option<LiveState>,
    /// When the current loading phase began (`updated_unix_ms` of its first heartbeat), for the
    /// staging rate: taken from the heartbeats, so the same events always draw the same screen.
    pub phase_started_ms: Option<u64>,
    /// Every row of `metrics.csv`, in order.
    pub epochs: Vec<EpochRow>,
    /// Every step's training loss, at x = step index (step number - 1).
    pub step_loss: Series,
    /// The smoothed step loss, same x.
    pub step_loss_smooth: Series,
    /// Seconds of training at each step, same x; NaN where the folder doesn't say.
    pub step_wall: Vec<f32>,
    ema: Ema,
    /// For a run another tool logged (TensorBoard, Lightning's CSV logger): which, and its
    /// hyperparameters as logged.
    pub external: Option<(ExternalKind, Vec<(String, String)>)>,
    /// An external run's training-loss series (the first tag that names a loss and not a
    /// validation one); its points go into `step_loss`.
    pub loss_tag: Option<String>,
    /// An external run's last value of each scalar series, by tag.
    pub last_scalars: BTreeMap<String, f64>,
    /// An external run's every scalar series, by tag, for the tag picker's charts.
    pub tags: BTreeMap<String, TagSeries>,
    /// The wall time of an external run's first point.
    wall_origin: Option<f64>,
    /// The run's `telemetry.csv` so far (CPU, memory, each GPU), for the sparklines.
    pub telemetry: Telemetry,
    /// This run's colour: an index into the palette, by order of first appearance.
    pub color: usize,
    /// A sweep's run: its sweep's colour family and its place in it (see `runs::palette`).
    pub family: Option<(usize, usize)>,
}

impl RunView {
    pub fn new(key: &str, dir: PathBuf, color: usize) -> RunView {
        RunView {
            key: key.to_string(),
            dir,
            meta: None,
            status: None,
            problem: None,
            live: None,
            phase_started_ms: None,
            epochs: Vec::new(),
            step_loss: Series::new(),
            step_loss_smooth: Series::new(),
            step_wall: Vec::new(),
            ema: Ema::new(SMOOTHING),
            external: None,
            loss_tag: None,
            last_scalars: BTreeMap::new(),
            tags: BTreeMap::new(),
            wall_origin: None,
            telemetry: Telemetry::default(),
            color,
            family: None,
        }
    }

    /// Apply one event about this run (its key is not checked here).
    pub fn apply(&mut self, event: RunEvent) {
        match event {
            RunEvent::Meta { dir, meta, status, .. } => {
                self.dir = dir;
                self.meta = Some(meta);
                self.status = Some(status);
                self.problem = None;
            }
            RunEvent::Problem { dir, problem, .. } => {
                self.dir = dir;
                self.problem = Some(problem);
            }
            RunEvent::Epochs { rows, .. } => {
                for row in rows {
                    // A resumed run may repeat epochs after its last checkpoint: the newer row wins.
                    self.epochs.retain(|r| r.epoch < row.epoch);
                    self.epochs.push(row);
                }
            }
            RunEvent::Steps { rows, .. } => self.push_steps(&rows),
            RunEvent::Live { live, .. } => {
                let same_phase = self.live.as_ref().is_some_and(|l| l.phase == live.phase);
                if !same_phase {
                    self.phase_started_ms = Some(live.updated_unix_ms);
                }
                self.live = Some(live);
            }
            RunEvent::External { dir, kind, hparams, problem, .. } => {
                self.dir = dir;
                self.external = Some((kind, hparams));
                self.problem = problem;
            }
            RunEvent::Scalars { tag, points, .. } => self.push_scalars(tag, &points),
            RunEvent::Telemetry { update, .. } => {
                let fresh = update.telemetry;
                if update.restarted || self.telemetry.columns != fresh.columns {
                    self.telemetry = fresh;
                } else {
                    self.telemetry.rows.extend(fresh.rows);
                }
            }
            RunEvent::Removed { .. } => {}
        }
    }

    fn push_scalars(&mut self, tag: String, points: &[ScalarPoint]) {
        if let Some(last) = points.last() {
            self.last_scalars.insert(tag.clone(), last.value);
        }
        // Seconds since the first point: TensorBoard's wall time counts from 1970.
        if self.wall_origin.is_none() {
            self.wall_origin = points.iter().map(|p| p.wall_time).find(|w| w.is_finite());
        }
        let series = self.tags.entry(tag.clone()).or_default();
        for p in points {
            series.push(p, self.wall_origin);
        }
        if self.loss_tag.is_none() && is_train_loss(&tag) {
            self.loss_tag = Some(tag.clone());
        }
        if self.loss_tag.as_deref() != Some(tag.as_str()) {
            return;
        }
        for p in points {
            let value = p.value as f32;
            self.step_loss.push(value);
            self.step_loss_smooth.push(self.ema.update(value));
            self.step_wall.push(self.wall_origin.map_or(f32::NAN, |o| (p.wall_time - o) as f32));
        }
    }

    fn push_steps(&mut self, rows: &[StepRow]) {
        for row in rows {
            // Steps are numbered from 1; one already seen (a resume repeating the steps after its
            // last checkpoint) is skipped, as the series only grows.
            let have = self.step_loss.len() as u64;
            if row.step != 0 && row.step <= have {
                continue;
            }
            self.step_loss.push(row.loss);
            self.step_loss_smooth.push(self.ema.update(row.loss));
            self.step_wall.push(row.wall_s.map_or(f32::NAN, |w| w as f32));
        }
    }

    /// Every scalar series the tag picker can draw, with its number of points: an external
    /// run's tags; for the workbench's own runs, its series under the names `workbench export`
    /// gives them (`step_loss`, `train_loss`, `val_loss`, `val_accuracy` or `val_mse`).
    pub fn tag_list(&self) -> Vec<(String, usize)> {
        if self.external.is_some() || self.is_command() {
            return self.tags.iter().map(|(t, s)| (t.clone(), s.len())).collect();
        }
        let count =
            |get: fn(&EpochRow) -> Option<f64>| self.epochs.iter().filter(|r| get(r).is_some()).count();
        let own = [
            ("step_loss", self.step_loss.len()),
            ("train_loss", self.epochs.len()),
            ("val_loss", count(|r| r.val_loss)),
            (self.metric_tag(), count(|r| r.val_metric)),
        ];
        own.into_iter().filter(|(_, n)| *n > 0).map(|(t, n)| (t.to_string(), n)).collect()
    }

    /// A run of the user's own command (`workbench run`): its series are tags, as an external run's.
    pub fn is_command(&self) -> bool {
        self.meta.as_ref().is_some_and(|m| m.kind == crate::command::RunKind::Command)
    }

    /// `val_accuracy` or `val_mse`: the validation metric's name as a tag.
    pub fn metric_tag(&self) -> &'static str {
        match self.metric() {
            MetricKind::Accuracy => "val_accuracy",
            MetricKind::Mse => "val_mse",
        }
    }

    /// The status as one word: `running`, `failed`, ..., `problem` for an unreadable folder,
    /// `tensorboard` or `lightning` for a run another tool logged.
    pub fn status_label(&self) -> &'static str {
        match (&self.problem, self.status, &self.external) {
            (Some(_), _, _) => "problem",
            (None, Some(s), _) => s.as_str(),
            (None, None, Some((ExternalKind::TensorBoard, _))) => "tensorboard",
            (None, None, Some((ExternalKind::LightningCsv, _))) => "lightning",
            (None, None, None) => "problem",
        }
    }

    /// Queued, running or paused: a process is (or will be) writing this folder.
    pub fn is_active(&self) -> bool {
        self.problem.is_none()
            && matches!(self.status, Some(RunStatus::Queued | RunStatus::Running | RunStatus::Paused))
    }

    /// Stopped, interrupted or failed: it can be continued from its last checkpoint.
    pub fn can_resume(&self) -> bool {
        self.problem.is_none()
            && matches!(self.status, Some(RunStatus::Stopped | RunStatus::Interrupted | RunStatus::Failed))
    }

    /// Why it failed, in a word or two: `diverged`, `out of memory`, `dataset error`, ...
    pub fn reason_kind(&self) -> Option<String> {
        let reason = self.meta.as_ref()?.reason.as_deref()?;
        (self.status == Some(RunStatus::Failed)).then(|| reason_kind(reason))
    }

    /// The full reason a failed run gives, or a problem folder's problem.
    pub fn full_reason(&self) -> Option<&str> {
        if let Some(p) = &self.problem {
            return Some(p);
        }
        self.meta.as_ref()?.reason.as_deref().filter(|r| !r.is_empty())
    }

    pub fn dataset(&self) -> &str {
        self.meta.as_ref().map_or("", |m| m.dataset.as_str())
    }

    pub fn model(&self) -> &str {
        self.meta.as_ref().map_or("", |m| m.model.as_str())
    }

    pub fn device(&self) -> &str {
        self.meta.as_ref().map_or("", |m| m.device.as_str())
    }

    /// The device's full name for the progress panel (`CPU`, `CUDA:0 NVIDIA H100`).
    pub fn device_label(&self) -> &str {
        self.meta.as_ref().map_or("", |m| if m.device_label.is_empty() { &m.device } else { &m.device_label })
    }

    /// The epochs it was started with.
    pub fn epochs_total(&self) -> u32 {
        self.meta.as_ref().map_or(0, |m| m.hyperparameters.epochs)
    }

    /// Epochs completed so far.
    pub fn epochs_done(&self) -> u32 {
        let from_rows = self.epochs.last().map_or(0, |r| r.epoch);
        from_rows.max(self.meta.as_ref().map_or(0, |m| m.epochs_completed))
    }

    /// Accuracy for classification, mean squared error for regression.
    pub fn metric(&self) -> MetricKind {
        let Some(meta) = &self.meta else { return MetricKind::Accuracy };
        let name = meta.final_metrics.as_ref().map(|f| f.metric.as_str());
        match name {
            Some("mse") => MetricKind::Mse,
            Some(_) => MetricKind::Accuracy,
            None if meta.data.task == "regression" => MetricKind::Mse,
            None => MetricKind::Accuracy,
        }
    }

    /// The best validation metric so far: the highest accuracy, or the lowest error.
    pub fn best_metric(&self) -> Option<f64> {
        let values = self.epochs.iter().filter_map(|r| r.val_metric).filter(|v| v.is_finite());
        match self.metric() {
            MetricKind::Accuracy => values.reduce(f64::max),
            MetricKind::Mse => values.reduce(f64::min),
        }
    }

    /// The last epoch's row.
    pub fn last_epoch(&self) -> Option<&EpochRow> {
        self.epochs.last()
    }

    /// Seconds of training so far (the last epoch's, or the heartbeat's step clock).
    pub fn elapsed_s(&self) -> f64 {
        let from_rows = self.epochs.last().map_or(0.0, |r| r.elapsed_s);
        let from_steps = self.step_wall.last().copied().filter(|w| w.is_finite()).unwrap_or(0.0) as f64;
        from_rows.max(from_steps)
    }

    /// Seconds of training so far and, while it runs, the estimated seconds left.
    pub fn elapsed_and_eta(&self) -> (f64, Option<f64>) {
        let elapsed = self.elapsed_s();
        let Some(last) = self.epochs.last() else { return (elapsed, None) };
        let per_epoch = last.elapsed_s / last.epoch.max(1) as f64;
        let left = self.epochs_total().saturating_sub(last.epoch) as f64 * per_epoch;
        (elapsed, self.is_active().then_some(left))
    }

    /// Steps per epoch: from the epoch rows' step counts, else from the data and batch size.
    pub fn steps_per_epoch(&self) -> u64 {
        if let Some((epoch, step)) = self.epochs.iter().find_map(|r| Some((r.epoch, r.step?))) {
            return (step / epoch.max(1) as u64).max(1);
        }
        let Some(meta) = &self.meta else { return 1 };
        let batch = meta.hyperparameters.batch_size.max(1) as u64;
        meta.data.train_samples.div_ceil(batch).max(1)
    }

    /// A step index (0-based, fractional from the summaries) as a fraction of epochs: step i
    /// ends at epoch (i + 1) / steps_per_epoch.
    pub fn step_to_epoch(&self, index: f64) -> f64 {
        (index + 1.0) / self.steps_per_epoch() as f64
    }

    /// The step number at a (fractional) step index: the step an external run logged its loss
    /// at (`add_scalar`'s `global_step`), else index + 1 (the workbench counts steps from 1).
    pub fn step_number(&self, index: f64) -> f64 {
        let logged = self.loss_tag.as_ref().and_then(|t| self.tags.get(t)).and_then(|s| {
            let last = s.steps.len().checked_sub(1)?;
            s.steps.get((index.round().max(0.0) as usize).min(last)).map(|&step| step as f64)
        });
        logged.unwrap_or(index + 1.0)
    }

    /// The seconds of training at a (fractional) step index, when the folder records them.
    pub fn step_to_wall(&self, index: f64) -> Option<f64> {
        let i = (index.round().max(0.0) as usize).min(self.step_wall.len().checked_sub(1)?);
        let w = self.step_wall[i];
        w.is_finite().then_some(w as f64)
    }
}

/// A failed run's reason in a word or two, for a table column: the text before its first colon
/// when that is short (`diverged: loss is NaN at step 40`), else a kind guessed from its words.
pub fn reason_kind(reason: &str) -> String {
    let lower = reason.to_lowercase();
    let guesses = [
        ("diverg", "diverged"),
        ("nan", "diverged"),
        ("out of memory", "out of memory"),
        ("oom", "out of memory"),
        ("dataset", "dataset error"),
        ("cuda", "device error"),
        ("checkpoint", "checkpoint error"),
    ];
    if let Some((head, _)) = reason.split_once(':') {
        let head = head.trim();
        if !head.is_empty() && head.chars().count() <= 16 && !head.contains('/') {
            return head.to_string();
        }
    }
    guesses
        .iter()
        .find(|(word, _)| lower.contains(word))
        .map_or_else(|| "error".to_string(), |(_, kind)| kind.to_string())
}

#[cfg(test)]
mod tests {
    use super::reason_kind;

    #[test]
    fn reasons_come_down_to_a_kind() {
        assert_eq!(reason_kind("diverged: the loss is NaN at step 40"), "diverged");
        assert_eq!(reason_kind("CUDA error: out of memory (tried to allocate 2 GiB)"), "CUDA error");
        assert_eq!(reason_kind("the GPU ran out of memory while training"), "out of memory");
        assert_eq!(reason_kind("/data/x.csv: line 3 is bad"), "error");
        assert_eq!(reason_kind("could not read the dataset /data/x.csv"), "dataset error");
    }
}
