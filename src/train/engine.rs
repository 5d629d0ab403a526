//! The training loop: epochs of shuffled mini-batches, per-step losses, per-epoch validation.
//!
//! The hot loop does as little as it can: one permutation and one gather per epoch, then each
//! batch is a view (`slice`) of the permuted tensors; losses stay on the device and are read in
//! one go at most every [`FLUSH_EVERY`] and at the end of each epoch.
use std::time::{Duration, Instant};

use tch::{Device, Kind, Tensor};

use super::control::RunControl;
use super::models::Learner;
use super::msg::{EpochMetrics, StopReason};
use super::prepare::{Placement, Prepared};
use super::rng;
use super::TrainSpec;

/// How often per-step losses are read back and reported.
pub const FLUSH_EVERY: Duration = Duration::from_millis(50);

/// What the loop reports as it goes. The callback returns `false` when nobody listens any more.
#[derive(Debug, Clone, PartialEq)]
pub enum LoopEvent {
    /// Losses of the steps after `first_step` (0-based), read back at `wall_s` seconds of
    /// training (pauses excluded).
    Steps {
        epoch: u32,
        first_step: u64,
        losses: Vec<f32>,
        wall_s: f64,
    },
    Epoch(EpochMetrics),
    Paused,
    Resumed,
}

/// How the loop ended, when it did not fail.
#[derive(Debug, Clone, PartialEq)]
pub struct LoopEnd {
    /// `None` when every epoch ran.
    pub stopped: Option<StopReason>,
    pub last: Option<EpochMetrics>,
    /// Set when the loop ended at a batch boundary for a move to another device
    /// ([`RunControl::request_move`]): where to start again.
    pub moved: Option<LoopStart>,
}

/// Why the loop failed.
#[derive(Debug, thiserror::Error)]
pub enum LoopError {
    #[error(
        "training diverged at epoch {epoch}, step {step}: the loss became {value}. Lower the learning rate \
         (it is {lr}) or turn standardization on"
    )]
    Diverged { epoch: u32, step: u64, value: f32, lr: f64 },
    #[error("libtorch error: {0}")]
    Torch(#[from] tch::TchError),
    /// The listener (the run folder's recorder) failed.
    #[error("{0}")]
    Sink(String),
    /// The epoch hook (a checkpoint) failed.
    #[error(transparent)]
    Hook(#[from] super::TrainError),
}

/// Per-step losses not yet read back: the loss tensors and their batch sizes.
struct PendingLosses {
    losses: Vec<Tensor>,
    sizes: Vec<i64>,
    first_step: u64,
}

impl PendingLosses {
    /// Read the losses back in one transfer; returns them with the sum of loss × batch size.
    fn drain(&mut self) -> (Vec<f32>, f64) {
        if self.losses.is_empty() {
            return (Vec::new(), 0.0);
        }
        let values: Vec<f32> =
            Vec::try_from(Tensor::stack(&self.losses, 0).to_device(Device::Cpu).to_kind(Kind::Float))
                .unwrap_or_default();
        let weighted = values.iter().zip(&self.sizes).map(|(&l, &n)| l as f64 * n as f64).sum();
        self.losses.clear();
        self.sizes.clear();
        (values, weighted)
    }
}

/// Where the loop begins: after `epoch` epochs, `step` steps and `elapsed_s` seconds of training
/// (all zero for a fresh run; a checkpoint's for a resumed one).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct LoopStart {
    pub epoch: u32,
    pub step: u64,
    pub elapsed_s: f64,
    /// Part of epoch `epoch + 1` already done (a run moved, or checkpointed, mid-epoch).
    pub partial: Option<PartialEpoch>,
}

/// How far into an epoch a run was when it was checkpointed between two batches.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct PartialEpoch {
    /// Batches of the epoch already taken.
    pub steps_done: u64,
    /// Sum of loss × batch size over them.
    pub loss_sum: f64,
    /// Seconds of training they took (pauses excluded); not yet in `elapsed_s`.
    pub seconds: f64,
}

/// Called after each epoch's event with the learner, the epoch's metrics and `last`: whether it is
/// the run's last epoch. The worker writes checkpoints here.
pub type EpochHook<'a> = dyn FnMut(&dyn Learner, &EpochMetrics, bool) -> Result<(), LoopError> + 'a;

/// Run every epoch, or until stopped. Events go to `emit`; a `false` return stops the run as
/// interrupted (the listener is gone).
pub fn run_loop(
    learner: &mut dyn Learner,
    data: &Prepared,
    spec: &TrainSpec,
    control: &RunControl,
    emit: &mut dyn FnMut(LoopEvent) -> Result<bool, String>,
) -> Result<LoopEnd, LoopError> {
    run_loop_from(learner, data, spec, control, LoopStart::default(), emit, &mut |_, _, _| Ok(()))
}

/// [`run_loop`] from `start`, calling `after_epoch` at each epoch's end. Each epoch's batch order
/// is a pure function of (seed, epoch), so a run resumed from a checkpoint after epoch E (weights
/// and optimizer state restored) takes the same steps as one that never stopped.
pub fn run_loop_from(
    learner: &mut dyn Learner,
    data: &Prepared,
    spec: &TrainSpec,
    control: &RunControl,
    start: LoopStart,
    emit: &mut dyn FnMut(LoopEvent) -> Result<bool, String>,
    after_epoch: &mut EpochHook<'_>,
) -> Result<LoopEnd, LoopError> {
    let n_train = data.train_len();
    let batch = (spec.batch_size as i64).max(1);
    let steps_per_epoch = (n_train + batch - 1) / batch;
    let mut global_step: u64 = start.step;
    // Training time, pauses excluded.
    let mut trained = Duration::from_secs_f64(start.elapsed_s.max(0.0));
    let mut last: Option<EpochMetrics> = None;
    let mut pending = PendingLosses { losses: Vec::new(), sizes: Vec::new(), first_step: 0 };
    let mut last_flush = Instant::now();
    let mut send = |event: LoopEvent, control: &RunControl| -> Result<(), LoopError> {
        if !emit(event).map_err(LoopError::Sink)? {
            control.request_stop(StopReason::Interrupted);
        }
        Ok(())
    };

    for epoch in start.epoch + 1..=spec.epochs {
        let epoch_start = Instant::now();
        let mut paused = Duration::ZERO;
        // A run moved mid-epoch goes on from the batch it reached, with the epoch's sums so far.
        let partial = start.partial.filter(|_| epoch == start.epoch + 1).unwrap_or_default();
        let carried = Duration::from_secs_f64(partial.seconds.max(0.0));
        let perm = rng::seeded(rng::epoch_seed(spec.seed, epoch), || {
            Tensor::randperm(n_train, (Kind::Int64, Device::Cpu))
        });
        let (xe, ye) = match data.placement {
            Placement::OnDevice => {
                let perm = perm.to_device(data.device);
                (data.x_train.index_select(0, &perm), data.y_train.index_select(0, &perm))
            }
            Placement::StreamFromHost => {
                let xe = data.x_train.index_select(0, &perm);
                // Pinned (page-locked) memory lets each batch's copy to the GPU run
                // asynchronously; there is nothing to pin for on the CPU.
                let xe = if data.device == Device::Cpu { xe } else { xe.pin_memory(data.device) };
                (xe, data.y_train.index_select(0, &perm))
            }
        };
        let mut loss_sum = partial.loss_sum;
        for step in (partial.steps_done as i64).min(steps_per_epoch)..steps_per_epoch {
            if control.is_paused() && control.stop_reason().is_none() {
                send(LoopEvent::Paused, control)?;
                paused += control.wait_while_paused();
                send(LoopEvent::Resumed, control)?;
            }
            if let Some(reason) = control.stop_reason() {
                let (losses, _) = pending.drain();
                if !losses.is_empty() {
                    let wall_s =
                        (trained + carried + epoch_start.elapsed().saturating_sub(paused)).as_secs_f64();
                    send(
                        LoopEvent::Steps { epoch, first_step: pending.first_step, losses, wall_s },
                        control,
                    )?;
                }
                return Ok(LoopEnd { stopped: Some(reason), last, moved: None });
            }
            if control.move_requested() {
                // Every loss so far is read back and counted before the run leaves this device.
                let first_step = pending.first_step;
                let (losses, weighted) = pending.drain();
                let seconds = (carried + epoch_start.elapsed().saturating_sub(paused)).as_secs_f64();
                if !losses.is_empty() {
                    let wall_s = trained.as_secs_f64() + seconds;
                    send(LoopEvent::Steps { epoch, first_step, losses, wall_s }, control)?;
                }
                let partial =
                    PartialEpoch { steps_done: step as u64, loss_sum: loss_sum + weighted, seconds };
                let at = LoopStart {
                    epoch: epoch - 1,
                    step: global_step,
                    elapsed_s: trained.as_secs_f64(),
                    partial: Some(partial),
                };
                return Ok(LoopEnd { stopped: None, last, moved: Some(at) });
            }
            let start = step * batch;
            let len = batch.min(n_train - start);
            // `slice` is what `xe[start:end]` does in PyTorch; `narrow` would reach it one call later.
            let (xb, yb) = (xe.slice(0, start, start + len, 1), ye.slice(0, start, start + len, 1));
            let loss = match data.placement {
                Placement::OnDevice => learner.train_step(&xb, &yb)?,
                Placement::StreamFromHost => learner.train_step(
                    &xb.to_device_(data.device, Kind::Float, true, false),
                    &yb.to_device(data.device),
                )?,
            };
            if pending.losses.is_empty() {
                pending.first_step = global_step;
            }
            pending.losses.push(loss);
            pending.sizes.push(len);
            global_step += 1;
            if last_flush.elapsed() >= FLUSH_EVERY || step + 1 == steps_per_epoch {
                let first_step = pending.first_step;
                let (losses, weighted) = pending.drain();
                if let Some((i, &value)) = losses.iter().enumerate().find(|(_, l)| !l.is_finite()) {
                    return Err(LoopError::Diverged {
                        epoch,
                        step: first_step + i as u64 + 1,
                        value,
                        lr: spec.lr,
                    });
                }
                loss_sum += weighted;
                let wall_s = (trained + carried + epoch_start.elapsed().saturating_sub(paused)).as_secs_f64();
                send(LoopEvent::Steps { epoch, first_step, losses, wall_s }, control)?;
                last_flush = Instant::now();
            }
        }
        let epoch_time = carried + epoch_start.elapsed().saturating_sub(paused);
        trained += epoch_time;
        let (val_loss, val_metric) = match &data.val {
            Some((xv, yv)) => {
                let (l, m) = evaluate(learner, xv, yv, data.device);
                (Some(l), Some(m))
            }
            None => (None, None),
        };
        let metrics = EpochMetrics {
            epoch,
            epochs: spec.epochs,
            global_step,
            train_loss: loss_sum / n_train as f64,
            val_loss,
            val_metric,
            metric: learner.head().metric_kind(),
            samples_per_s: n_train as f64 / epoch_time.as_secs_f64().max(1e-9),
            elapsed_s: trained.as_secs_f64(),
        };
        if let Some(v) = metrics.val_loss.filter(|v| !v.is_finite()) {
            return Err(LoopError::Diverged { epoch, step: global_step, value: v as f32, lr: spec.lr });
        }
        last = Some(metrics.clone());
        send(LoopEvent::Epoch(metrics.clone()), control)?;
        after_epoch(&*learner, &metrics, epoch == spec.epochs)?;
    }
    Ok(LoopEnd { stopped: None, last, moved: None })
}

/// Mean loss and metric (accuracy, or MSE) over a whole set, in chunks, without gradients.
pub fn evaluate(learner: &dyn Learner, x: &Tensor, y: &Tensor, device: Device) -> (f64, f64) {
    let _no_grad = tch::no_grad_guard();
    let n = x.size()[0];
    if n == 0 {
        return (f64::NAN, f64::NAN);
    }
    let per_sample: i64 = x.size()[1..].iter().product::<i64>().max(1);
    let chunk = (16_000_000 / per_sample).clamp(1, 8192);
    let head = learner.head();
    let (mut loss_sum, mut metric_sum) = (0.0, 0.0);
    let mut start = 0;
    while start < n {
        let len = chunk.min(n - start);
        let xb = x.narrow(0, start, len).to_device(device);
        let yb = y.narrow(0, start, len).to_device(device);
        let out = learner.forward(&xb);
        loss_sum += head.loss(&out, &yb).double_value(&[]) * len as f64;
        metric_sum += head.metric_sum(&out, &yb);
        start += len;
    }
    (loss_sum / n as f64, metric_sum / n as f64)
}
