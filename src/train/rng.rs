//! Seeded random draws that stay reproducible when several runs share the process.
//!
//! libtorch has one global CPU generator. Two runs on two threads would interleave their draws and
//! neither would be reproducible. So every draw happens under one lock, right after seeding the
//! generator with a seed derived from the run's seed: [`run_seed`] for the split and the
//! initialisation, [`epoch_seed`] for each epoch's batch order. bench/ replays the same scheme in
//! PyTorch.
use std::sync::Mutex;

static RNG: Mutex<()> = Mutex::new(());

/// Seed libtorch's generators and draw, with no other thread drawing in between.
pub fn seeded<T>(seed: i64, draw: impl FnOnce() -> T) -> T {
    let _guard = RNG.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    tch::manual_seed(seed);
    draw()
}

/// The seed for the split and the initialisation.
pub fn run_seed(seed: u64) -> i64 {
    (seed & i64::MAX as u64) as i64
}

/// The seed for epoch `epoch`'s batch order: `seed * 1000003 + epoch`, kept non-negative.
pub fn epoch_seed(seed: u64, epoch: u32) -> i64 {
    (seed.wrapping_mul(1_000_003).wrapping_add(epoch as u64) & i64::MAX as u64) as i64
}
