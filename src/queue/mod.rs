//! A queue for one machine: runs that wait for a free device, packed onto GPUs by the memory
//! they need.
//!
//! The queue is the run folders: a queued run is a folder whose run.toml says `status =
//! "queued"` and holds a `[queue]` table ([`QueueTable`]). Nothing lives only in memory, so a
//! dispatcher killed at any moment loses nothing.
//!
//! - [`decide`]: the pure decision (queued runs, devices, running runs → starts, reasons to wait)
//! - [`need`]: how much GPU memory a run needs, and where that figure comes from
//! - [`record`]: reading the queue from the runs folder, taking a run, writing a run's peak memory
//! - [`dispatch`]: the dispatcher (`workbench queue start`) and its lock
//! - [`snapshot`]: the queue as the TUI shows it
//! - [`enqueue`]: making a queued run's `[queue]` table, with the refusals no device here can meet
use serde::{Deserialize, Serialize};

pub mod decide;
pub mod dispatch;
pub mod enqueue;
pub mod need;
pub mod record;
pub mod snapshot;

pub use decide::{decide, Decision, Placement};
pub use enqueue::{queue_table, QueueRequest};

/// run.toml's `[queue]` table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QueueTable {
    /// The device asked for: `auto` (any GPU, else the CPU), `any-gpu`, `cuda:N` or `cpu`.
    pub device: String,
    /// The GPU memory the run will need, in MiB; absent: the whole GPU (nothing like it measured).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gpu_mem_mb: Option<u64>,
    /// Where that figure came from, in words.
    pub gpu_mem_source: String,
    /// Higher starts first; then first come, first served.
    #[serde(default)]
    pub priority: i32,
    /// When it was queued (RFC 3339 with milliseconds: the first-come order).
    pub queued_at: String,
    /// Set by `workbench queue top` and by an out-of-memory requeue: the run goes before every
    /// run without it (the latest mark first).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top: Option<String>,
    /// Run alone on its GPU (set after an out-of-memory failure in its first minute).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub alone: bool,
    /// It was put back once after running out of memory (it is not put back twice).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub requeued: bool,
    /// When a dispatcher took it to start it (`starting` while the status is still `queued`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub taken_at: Option<String>,
    /// The device the dispatcher chose (`cpu`, `cuda:1`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_on: Option<String>,
}

impl QueueTable {
    /// A fresh table, queued now: not taken, not marked.
    pub fn new(device: String, gpu_mem_mb: Option<u64>, gpu_mem_source: String, priority: i32) -> QueueTable {
        QueueTable {
            device,
            gpu_mem_mb,
            gpu_mem_source,
            priority,
            queued_at: now_stamp(),
            top: None,
            alone: false,
            requeued: false,
            taken_at: None,
            started_on: None,
        }
    }

    /// Whether a dispatcher took it (between `queued` and the run process's `running`).
    pub fn is_taken(&self) -> bool {
        self.taken_at.is_some()
    }
}

/// The device a queued run asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AskedDevice {
    /// Any GPU; the CPU only where there is no GPU.
    Auto,
    /// Any GPU, never the CPU.
    AnyGpu,
    /// This GPU.
    Cuda(usize),
    /// The CPU.
    Cpu,
}

impl AskedDevice {
    /// Read `auto`, `any-gpu` (or `cuda`), `cuda:N` or `cpu`.
    pub fn parse(text: &str) -> Result<AskedDevice, QueueError> {
        match text.trim() {
            "auto" => Ok(AskedDevice::Auto),
            "any-gpu" | "cuda" | "gpu" => Ok(AskedDevice::AnyGpu),
            "cpu" => Ok(AskedDevice::Cpu),
            other => other
                .strip_prefix("cuda:")
                .and_then(|n| n.parse().ok())
                .map(AskedDevice::Cuda)
                .ok_or_else(|| QueueError::BadDevice(other.to_string())),
        }
    }

    /// As written in run.toml.
    pub fn name(&self) -> String {
        match self {
            AskedDevice::Auto => "auto".into(),
            AskedDevice::AnyGpu => "any-gpu".into(),
            AskedDevice::Cuda(i) => format!("cuda:{i}"),
            AskedDevice::Cpu => "cpu".into(),
        }
    }
}

/// Why a run can't be queued, or the queue can't be worked.
#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    /// A device name the queue does not know.
    #[error("device {0:?} is not one the queue knows: use auto, any-gpu, cuda:N or cpu")]
    BadDevice(String),
    /// A `--gpu-mem` that doesn't read as a size.
    #[error("--gpu-mem {0:?} is not a size: write it as 6G, 1.5G or 6000M (M and G are MiB and GiB)")]
    BadSize(String),
    /// A request no device of this machine can meet.
    #[error("{0}")]
    Unmeetable(String),
    /// The runs folder or a run folder could not be read or written.
    #[error("{0}")]
    Runs(#[from] crate::runs::RunsError),
    /// A file of the queue could not be written.
    #[error("cannot write {}: {source}; check the disk and the folder's permissions", path.display())]
    Disk { path: std::path::PathBuf, source: std::io::Error },
    /// Another dispatcher holds the runs folder's queue lock.
    #[error("a dispatcher already works this runs folder (process {pid}); `workbench queue stop` stops it")]
    AlreadyDispatching { pid: u32 },
    /// A run process could not be started.
    #[error("{0}")]
    Start(String),
}

/// Read a size in MiB: `6G`, `1.5G`, `6000M`, `6000` (MiB), `512MiB`, `6GB`.
pub fn parse_mem_mb(text: &str) -> Result<u64, QueueError> {
    let t = text.trim();
    let lower = t.to_ascii_lowercase();
    let (number, factor) = if let Some(n) =
        lower.strip_suffix("gib").or_else(|| lower.strip_suffix("gb")).or_else(|| lower.strip_suffix('g'))
    {
        (n.to_string(), 1024.0)
    } else if let Some(n) =
        lower.strip_suffix("mib").or_else(|| lower.strip_suffix("mb")).or_else(|| lower.strip_suffix('m'))
    {
        (n.to_string(), 1.0)
    } else {
        (lower.clone(), 1.0)
    };
    let value: f64 = number.trim().parse().map_err(|_| QueueError::BadSize(t.to_string()))?;
    if !value.is_finite() || value <= 0.0 || value * factor > 1.0e9 {
        return Err(QueueError::BadSize(t.to_string()));
    }
    Ok((value * factor).ceil() as u64)
}

/// `6.0 GiB`, `512 MiB`: a figure in MiB for people.
pub fn format_mb(mb: u64) -> String {
    if mb >= 1024 {
        format!("{:.1} GiB", mb as f64 / 1024.0)
    } else {
        format!("{mb} MiB")
    }
}

/// Now, as `[queue]` times are written (RFC 3339 with milliseconds, so they sort by time).
pub fn now_stamp() -> String {
    humantime::format_rfc3339_millis(std::time::SystemTime::now()).to_string()
}

/// Seconds since a `[queue]` time (0 when it doesn't parse or is in the future).
pub fn seconds_since(stamp: &str, now: std::time::SystemTime) -> f64 {
    humantime::parse_rfc3339_weak(stamp)
        .ok()
        .and_then(|t| now.duration_since(t).ok())
        .map_or(0.0, |d| d.as_secs_f64())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_in_mib() {
        assert_eq!(parse_mem_mb("6G").unwrap(), 6144);
        assert_eq!(parse_mem_mb("1.5g").unwrap(), 1536);
        assert_eq!(parse_mem_mb("6000M").unwrap(), 6000);
        assert_eq!(parse_mem_mb("512").unwrap(), 512);
        assert_eq!(parse_mem_mb("2GiB").unwrap(), 2048);
        for bad in ["", "six", "-1G", "0", "1e12G"] {
            assert!(parse_mem_mb(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn devices_read_and_name_themselves() {
        for name in ["auto", "any-gpu", "cpu", "cuda:3"] {
            assert_eq!(AskedDevice::parse(name).unwrap().name(), name);
        }
        assert_eq!(AskedDevice::parse("cuda").unwrap(), AskedDevice::AnyGpu);
        let e = AskedDevice::parse("tpu").unwrap_err().to_string();
        assert!(e.contains("\"tpu\"") && e.contains("any-gpu"), "{e}");
    }

    #[test]
    fn a_table_round_trips_through_toml() {
        let t = QueueTable::new("any-gpu".into(), Some(6144), "given (--gpu-mem 6G)".into(), 2);
        let text = toml::to_string(&t).unwrap();
        assert_eq!(toml::from_str::<QueueTable>(&text).unwrap(), t);
    }
}
