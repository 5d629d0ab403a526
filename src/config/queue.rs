//! The `[queue]` table of config.toml: how many queued runs the dispatcher starts at once.
//!
//! ```toml
//! [queue]
//! cpu_slots = 1          # queued runs on the CPU at once
//! # gpu_slots = 2        # queued runs per GPU at once (default: as many as fit in its memory)
//! gpu_headroom_mb = 512  # GPU memory always left free
//! warmup_s = 60          # a run started this recently may not have allocated its memory yet
//! ```
use serde::{Deserialize, Serialize};

/// The `[queue]` table.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct QueueConfig {
    /// Queued runs on the CPU at once.
    pub cpu_slots: u32,
    /// Queued runs on one GPU at once; none: as many as its memory holds.
    pub gpu_slots: Option<u32>,
    /// GPU memory (MiB) kept free on every GPU.
    pub gpu_headroom_mb: u64,
    /// Seconds after its start during which a run's memory is held for it even before NVML sees
    /// it allocated.
    pub warmup_s: f64,
}

impl Default for QueueConfig {
    fn default() -> Self {
        QueueConfig { cpu_slots: 1, gpu_slots: None, gpu_headroom_mb: 512, warmup_s: 60.0 }
    }
}

impl QueueConfig {
    /// The first value out of range: `(key, value, hint)`.
    pub fn validate(&self) -> Result<(), (&'static str, String, &'static str)> {
        if !(1..=1024).contains(&self.cpu_slots) {
            return Err(("queue.cpu_slots", self.cpu_slots.to_string(), "use 1 to 1024 runs at once"));
        }
        if let Some(slots) = self.gpu_slots.filter(|s| !(1..=1024).contains(s)) {
            return Err((
                "queue.gpu_slots",
                slots.to_string(),
                "use 1 to 1024 runs per GPU, or leave it out for as many as fit",
            ));
        }
        if self.gpu_headroom_mb > 1024 * 1024 {
            return Err(("queue.gpu_headroom_mb", self.gpu_headroom_mb.to_string(), "use 0 to 1048576 MiB"));
        }
        if !(self.warmup_s.is_finite() && (0.0..=3600.0).contains(&self.warmup_s)) {
            return Err(("queue.warmup_s", self.warmup_s.to_string(), "use 0 to 3600 seconds"));
        }
        Ok(())
    }

    /// The limits the queue's decision works with.
    pub fn limits(&self) -> crate::queue::decide::Limits {
        crate::queue::decide::Limits {
            cpu_slots: self.cpu_slots,
            gpu_slots: self.gpu_slots,
            gpu_headroom_mb: self.gpu_headroom_mb,
            warmup_s: self.warmup_s,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn out_of_range_values_are_named() {
        assert!(QueueConfig::default().validate().is_ok());
        let bad = QueueConfig { cpu_slots: 0, ..QueueConfig::default() };
        assert_eq!(bad.validate().unwrap_err().0, "queue.cpu_slots");
        let bad = QueueConfig { gpu_slots: Some(0), ..QueueConfig::default() };
        assert_eq!(bad.validate().unwrap_err().0, "queue.gpu_slots");
        let bad = QueueConfig { warmup_s: -1.0, ..QueueConfig::default() };
        assert_eq!(bad.validate().unwrap_err().0, "queue.warmup_s");
    }
}
