//! What can go wrong in the training layer, as one typed error.
//!
//! A failed run keeps the error's [`FailureKind`] in its run.toml (`failure_kind`) beside the
//! message (`reason`), so the runs pane can tell "diverged" from "out of memory" from a dataset
//! error without reading the text.
use std::path::PathBuf;

use crate::runs::FailureKind;

/// A training-layer failure, worded for the user: what failed, which value or file, what to do.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    /// A training parameter is out of range, or the model can't learn this dataset.
    #[error("{0}")]
    Settings(String),
    /// The dataset can't be found, read or used.
    #[error("{0}")]
    Dataset(String),
    /// The device asked for is not available, or failed.
    #[error("{0}")]
    Device(String),
    /// The loss became NaN or infinite.
    #[error(
        "training diverged at epoch {epoch}, step {step}: the loss became {value}. Lower the learning rate \
         (it is {lr}) or turn standardization on"
    )]
    Diverged {
        /// 1-based epoch where it happened.
        epoch: u32,
        /// 1-based step where it happened.
        step: u64,
        /// The loss, as read.
        value: f32,
        /// The learning rate in force.
        lr: f64,
    },
    /// The device ran out of memory (libtorch's "CUDA out of memory").
    #[error(
        "out of memory on {device}: {detail}. Lower the batch size or the hidden sizes, or pick a smaller \
         model; with data on the GPU, a smaller dataset (or a run on the CPU) leaves more room"
    )]
    OutOfMemory {
        /// The device's name (`cuda:0`).
        device: String,
        /// libtorch's first line.
        detail: String,
    },
    /// Writing the run folder failed (a full disk, a read-only folder).
    #[error("cannot write {}: {source}; free some disk space or check the folder is writable", .path.display())]
    Disk {
        /// The file or folder being written.
        path: PathBuf,
        /// What the OS said.
        source: std::io::Error,
    },
    /// The run folder can't be used as asked (resume refused, not a run folder, corrupt files).
    #[error("{0}")]
    Run(String),
    /// Another process holds the run's lock.
    #[error("{} is already running in process {pid}; stop it first (`workbench stop RUN`)", .dir.display())]
    AlreadyRunning {
        /// The run folder.
        dir: PathBuf,
        /// The process that holds it, as its live.toml or run.toml says (0: unknown).
        pid: u32,
    },
    /// libtorch failed in a way none of the above describes, or the worker panicked.
    #[error("{0}")]
    Internal(String),
}

impl From<crate::params::BadFlag> for TrainError {
    fn from(e: crate::params::BadFlag) -> TrainError {
        TrainError::Settings(e.0)
    }
}

impl TrainError {
    /// The kind kept in run.toml.
    pub fn kind(&self) -> FailureKind {
        match self {
            TrainError::Settings(_) => FailureKind::Settings,
            TrainError::Dataset(_) => FailureKind::Dataset,
            TrainError::Device(_) => FailureKind::Device,
            TrainError::Diverged { .. } => FailureKind::Diverged,
            TrainError::OutOfMemory { .. } => FailureKind::OutOfMemory,
            TrainError::Disk { .. } => FailureKind::Disk,
            TrainError::Run(_) | TrainError::AlreadyRunning { .. } | TrainError::Internal(_) => {
                FailureKind::Internal
            }
        }
    }

    /// A libtorch message (an error or a caught panic) as the right kind: "CUDA out of memory"
    /// becomes [`TrainError::OutOfMemory`] with advice, anything else internal.
    pub fn from_torch(message: &str, device: &str) -> TrainError {
        let first = message.lines().next().unwrap_or_default().trim().to_string();
        if is_out_of_memory(message) {
            TrainError::OutOfMemory { device: device.to_string(), detail: oom_sentence(message) }
        } else {
            TrainError::Internal(format!("libtorch error: {first}"))
        }
    }

    /// Add the memory figures (the estimate against the free memory) to an out-of-memory error,
    /// so the message says how far off the run was; other errors are returned as they are.
    pub fn with_memory_figures(self, fit: &super::memory::Fit) -> TrainError {
        match self {
            TrainError::OutOfMemory { device, detail } => TrainError::OutOfMemory {
                device,
                detail: format!("{detail} (the workbench's estimate: this run {})", fit.summary()),
            },
            other => other,
        }
    }

    /// A write to the run folder failed.
    pub fn disk(path: impl Into<PathBuf>, source: std::io::Error) -> TrainError {
        TrainError::Disk { path: path.into(), source }
    }
}

/// The allocator's own sentence from an out-of-memory message, without what wraps it (a caught
/// panic's `called Result::unwrap()` and the escaped C++ stack trace that follows).
fn oom_sentence(message: &str) -> String {
    let lower = message.to_ascii_lowercase();
    let start = ["cuda out of memory", "defaultcpuallocator", "can't allocate memory", "out of memory"]
        .iter()
        .find_map(|needle| lower.find(needle))
        .unwrap_or(0);
    let rest = &message[start..];
    // Stop at the first real or escaped newline, or the quote that closes a Debug-printed string.
    let end = ["\n", "\\n", "\""].iter().filter_map(|stop| rest.find(stop)).min().unwrap_or(rest.len());
    rest[..end].trim().trim_end_matches('.').to_string()
}

/// Whether libtorch's message says the device ran out of memory: CUDA's "out of memory", or the
/// CPU allocator's "can't allocate memory" (a run under `ulimit -v`, or asking for more than exists).
pub fn is_out_of_memory(message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    (m.contains("out of memory") && m.contains("cuda")) || m.contains("can't allocate memory")
}

impl From<tch::TchError> for TrainError {
    fn from(e: tch::TchError) -> Self {
        TrainError::from_torch(&e.to_string(), "the device")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cuda_out_of_memory_is_recognised_with_advice() {
        let msg = "CUDA out of memory. Tried to allocate 2.00 GiB (GPU 0; 79.19 GiB total capacity)\n\
                   Exception raised from malloc at ...";
        let e = TrainError::from_torch(msg, "cuda:0");
        assert_eq!(e.kind(), FailureKind::OutOfMemory);
        let text = e.to_string();
        assert!(text.starts_with("out of memory on cuda:0: CUDA out of memory. Tried"), "{text}");
        assert!(text.contains("Lower the batch size"), "{text}");
        assert!(!text.contains("Exception raised"), "only the first line: {text}");
        assert_eq!(TrainError::from_torch("shape mismatch", "cpu").kind(), FailureKind::Internal);
    }

    #[test]
    fn a_real_cpu_allocation_failure_is_out_of_memory_with_figures_and_advice() {
        // 2^45 floats are 128 TiB: more than any machine's address space, so libtorch's CPU
        // allocator really fails, and the process goes on.
        let err = tch::Tensor::f_zeros([1i64 << 45], (tch::Kind::Float, tch::Device::Cpu)).unwrap_err();
        let e = TrainError::from_torch(&err.to_string(), "cpu");
        assert_eq!(e.kind(), FailureKind::OutOfMemory, "{err}");
        let fit = crate::train::memory::Fit {
            estimate: crate::train::memory::MemoryEstimate { params: 3 << 30, ..Default::default() },
            free: Some(1 << 30),
            device: "cpu".into(),
        };
        let text = e.with_memory_figures(&fit).to_string();
        assert!(
            text.starts_with("out of memory on cpu: DefaultCPUAllocator: can't allocate memory"),
            "{text}"
        );
        assert!(!text.contains("frame #"), "no C++ stack trace: {text}");
        assert!(text.contains("needs about 3.0 GiB of 1.0 GiB free on cpu"), "{text}");
        assert!(text.contains("batch size") && text.contains("hidden sizes"), "{text}");
        // The memory is given back: a small tensor still works.
        assert_eq!(
            tch::Tensor::ones([4], (tch::Kind::Float, tch::Device::Cpu))
                .sum(tch::Kind::Float)
                .double_value(&[]),
            4.0
        );
    }
}
