//! From loaded data to tensors on the device: seeded split, standardisation, one move.
//!
//! The order of random draws is part of the contract (bench/ replays it in PyTorch):
//! `manual_seed(seed)`, then `randperm(N)` for the split (train = the first part, validation = the
//! rest), then the model's initialisation, then one `randperm(N_train)` per epoch.
use tch::{Device, Kind, Tensor};

use super::models::Head;
use crate::data::LoadedData;

/// How the training data sits during the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placement {
    /// Everything is on the device; batches are cut there with no copy per batch.
    OnDevice,
    /// Too big for the device: batches are copied from (pinned) host memory one at a time.
    StreamFromHost,
}

impl Placement {
    pub fn describe(&self, device: Device) -> String {
        match (self, device) {
            (Placement::OnDevice, Device::Cpu) => "all data in memory".into(),
            (Placement::OnDevice, _) => {
                "all data moved to the GPU once; batches are cut on the device".into()
            }
            (Placement::StreamFromHost, Device::Cpu) => {
                "data over its memory budget: batches are copied one at a time".into()
            }
            (Placement::StreamFromHost, _) => {
                "data too large for GPU memory: batches stream from pinned host memory".into()
            }
        }
    }
}

/// Training and validation tensors, ready for the loop.
#[derive(Debug)]
pub struct Prepared {
    pub x_train: Tensor,
    pub y_train: Tensor,
    /// `None` when `val_fraction` is 0 and the dataset has no split of its own.
    pub val: Option<(Tensor, Tensor)>,
    /// Per-feature (or per-channel) statistics from the training part; empty when not standardised.
    pub mean: Vec<f32>,
    pub std: Vec<f32>,
    pub placement: Placement,
    pub device: Device,
}

impl Prepared {
    pub fn train_len(&self) -> i64 {
        self.x_train.size()[0]
    }

    pub fn val_len(&self) -> i64 {
        self.val.as_ref().map(|(x, _)| x.size()[0]).unwrap_or(0)
    }
}

/// Split, standardise with training statistics, and place on `device`.
/// `device_budget` is how many bytes of data the device may hold (None: no limit).
pub fn prepare(
    data: &LoadedData,
    head: Head,
    val_fraction: f64,
    standardize: bool,
    device: Device,
    device_budget: Option<u64>,
) -> Result<Prepared, super::TrainError> {
    let n = data.len() as i64;
    let ((x_train, y_train), val) = match &data.holdout {
        Some((xv, yv)) => {
            ((data.x.shallow_clone(), data.y.shallow_clone()), Some((xv.shallow_clone(), yv.shallow_clone())))
        }
        None => {
            let perm = Tensor::randperm(n, (Kind::Int64, Device::Cpu));
            let n_val = split_size(n, val_fraction);
            let n_train = n - n_val;
            if n_train < 1 {
                return Err(super::TrainError::Settings(format!(
                    "{n} samples leave none for training with val_fraction = {val_fraction}"
                )));
            }
            let train_idx = perm.narrow(0, 0, n_train);
            let train = (data.x.index_select(0, &train_idx), data.y.index_select(0, &train_idx));
            let val = (n_val > 0).then(|| {
                let idx = perm.narrow(0, n_train, n_val);
                (data.x.index_select(0, &idx), data.y.index_select(0, &idx))
            });
            (train, val)
        }
    };
    if x_train.size()[0] == 0 {
        return Err(super::TrainError::Dataset("the dataset has no training samples".into()));
    }

    let (x_train, val, mean, std) = if standardize {
        let dims = stat_dims(x_train.dim());
        let mean = x_train.mean_dim(dims.as_slice(), true, Kind::Float);
        let std = x_train.std_mean_correction(dims.as_slice(), 0, true).0;
        // A constant feature has std 0; leave it centred rather than dividing by zero.
        let std = std.where_self(&std.gt(1e-12), &std.ones_like());
        let scale = |x: &Tensor| (x - &mean) / &std;
        let val = val.map(|(xv, yv)| (scale(&xv), yv));
        (scale(&x_train), val, to_vec(&mean), to_vec(&std))
    } else {
        (x_train, val, Vec::new(), Vec::new())
    };

    let bytes = |t: &Tensor| t.numel() as u64 * t.kind().elt_size_in_bytes() as u64;
    let total =
        bytes(&x_train) + bytes(&y_train) + val.as_ref().map(|(x, y)| bytes(x) + bytes(y)).unwrap_or(0);
    let placement = match device_budget {
        // Real budgets come only for GPUs (device::data_budget); a CPU budget is how tests reach
        // the streaming path on a machine without one.
        Some(budget) if total > budget => Placement::StreamFromHost,
        _ => Placement::OnDevice,
    };
    let y_train = head.prepare_targets(&y_train);
    let val = val.map(|(x, y)| (x, head.prepare_targets(&y)));
    let (x_train, y_train, val) = match placement {
        Placement::OnDevice => (
            x_train.to_device(device),
            y_train.to_device(device),
            val.map(|(x, y)| (x.to_device(device), y.to_device(device))),
        ),
        // Left in ordinary host memory: each epoch's shuffled copy is what gets pinned (engine.rs),
        // so pinning here too would hold a second pinned copy of a set too big for the device.
        Placement::StreamFromHost => (x_train, y_train, val),
    };
    Ok(Prepared { x_train, y_train, val, mean, std, placement, device })
}

/// How many samples go to validation: the fraction, rounded, at least one when asked for any.
pub fn split_size(n: i64, val_fraction: f64) -> i64 {
    if val_fraction <= 0.0 || n < 2 {
        return 0;
    }
    ((n as f64 * val_fraction).round() as i64).clamp(1, n - 1)
}

/// Statistics are per feature for tables (`[N, F]`) and per channel for images (`[N, C, H, W]`).
fn stat_dims(rank: usize) -> Vec<i64> {
    match rank {
        4 => vec![0, 2, 3],
        _ => vec![0],
    }
}

fn to_vec(t: &Tensor) -> Vec<f32> {
    let flat = t.flatten(0, -1).to_kind(Kind::Float);
    Vec::<f32>::try_from(&flat).unwrap_or_default()
}
