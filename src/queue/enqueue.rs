//! Queueing a run: its `[queue]` table, and the refusal of requests no device here can meet
//! (`--gpu-mem 200G` on an 80 GB GPU, `cuda:5` on a two-GPU machine, `any-gpu` with no GPU).
use std::path::Path;

use super::need::{need_of, Need};
use super::{format_mb, parse_mem_mb, AskedDevice, QueueError, QueueTable};
use crate::runs::{list_runs, RunMeta};

/// What the user asked of the queue.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct QueueRequest {
    /// `auto`, `any-gpu`, `cuda:N` or `cpu`.
    pub device: String,
    /// `--gpu-mem` as written (`6G`).
    pub gpu_mem: Option<String>,
    pub priority: i32,
}

/// A GPU of this machine: its index and memory (MiB).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GpuSize {
    pub index: usize,
    pub total_mb: u64,
}

/// The GPUs the device probe found.
pub fn gpu_sizes(report: &crate::device::DeviceReport) -> Vec<GpuSize> {
    report
        .cuda
        .iter()
        .map(|g| GpuSize { index: g.index, total_mb: g.total_memory_bytes / (1024 * 1024) })
        .collect()
}

/// The `[queue]` table for `meta`, or why no device here can ever run it. `estimate` is the
/// workbench's own memory estimate in bytes, when it has one; the finished runs under
/// `runs_dir` give measured peaks.
pub fn queue_table(
    request: &QueueRequest,
    meta: &RunMeta,
    runs_dir: &Path,
    gpus: &[GpuSize],
    estimate: Option<u64>,
) -> Result<QueueTable, QueueError> {
    let asked = AskedDevice::parse(&request.device)?;
    let given = request.gpu_mem.as_deref().map(parse_mem_mb).transpose()?;
    check_meetable(asked, given, gpus)?;
    let uses_gpu = match asked {
        AskedDevice::Cpu => false,
        AskedDevice::Auto => !gpus.is_empty(),
        AskedDevice::AnyGpu | AskedDevice::Cuda(_) => true,
    };
    let need = if uses_gpu {
        let finished: Vec<RunMeta> =
            list_runs(runs_dir).into_iter().filter_map(|r| r.record.ok().map(|r| r.meta)).collect();
        need_of(meta, given, &finished, estimate)
    } else {
        Need { mb: None, source: "none: it runs on the CPU".into() }
    };
    Ok(QueueTable::new(asked.name(), need.mb.filter(|_| uses_gpu), need.source, request.priority))
}

/// Give the queued run in `dir` its `[queue]` table (see [`queue_table`]): run.toml's device
/// becomes the device asked for until the queue picks one. The folder is removed when the run
/// can't be queued, so a refused request leaves nothing behind.
pub fn enqueue_folder(
    runs_dir: &Path,
    dir: &Path,
    request: &QueueRequest,
    gpus: &[GpuSize],
    estimate: Option<u64>,
) -> Result<QueueTable, QueueError> {
    let queued = (|| {
        let mut meta = crate::runs::read_meta(dir)?;
        let table = queue_table(request, &meta, runs_dir, gpus, estimate)?;
        meta.device = table.device.clone();
        meta.device_label = format!("queued for {}", table.device);
        meta.queue = Some(table.clone());
        crate::runs::write_run_meta(dir, &meta)
            .map_err(|source| QueueError::Disk { path: dir.join(crate::runs::RUN_FILE), source })?;
        Ok(table)
    })();
    if queued.is_err() {
        let _ = std::fs::remove_dir_all(dir);
    }
    queued
}

/// Refuse what no device of this machine can do, naming the devices there are.
pub fn check_meetable(asked: AskedDevice, given_mb: Option<u64>, gpus: &[GpuSize]) -> Result<(), QueueError> {
    let names = || {
        let mut names = vec!["cpu".to_string()];
        names.extend(gpus.iter().map(|g| format!("cuda:{} ({})", g.index, format_mb(g.total_mb))));
        names.join(", ")
    };
    let candidates: Vec<&GpuSize> = match asked {
        AskedDevice::Cpu => return Ok(()),
        AskedDevice::Auto if gpus.is_empty() => return Ok(()),
        AskedDevice::Auto | AskedDevice::AnyGpu => gpus.iter().collect(),
        AskedDevice::Cuda(i) => gpus.iter().filter(|g| g.index == i).collect(),
    };
    if candidates.is_empty() {
        let what = match asked {
            AskedDevice::Cuda(i) => format!("cuda:{i} is not on this machine"),
            _ => "no usable GPU is on this machine".into(),
        };
        return Err(QueueError::Unmeetable(format!(
            "cannot queue the run: {what}; the devices here are {}",
            names()
        )));
    }
    if let Some(mb) = given_mb {
        let Some(largest) = candidates.iter().max_by_key(|g| g.total_mb) else { return Ok(()) };
        if mb > largest.total_mb {
            return Err(QueueError::Unmeetable(format!(
                "cannot queue the run: --gpu-mem {} is more than the largest GPU it may use has (cuda:{}, {}); \
                 ask for less, or run it elsewhere",
                format_mb(mb),
                largest.index,
                format_mb(largest.total_mb)
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn two() -> Vec<GpuSize> {
        vec![GpuSize { index: 0, total_mb: 81920 }, GpuSize { index: 1, total_mb: 24576 }]
    }

    #[test]
    fn too_much_memory_names_the_largest_gpu() {
        let e = check_meetable(AskedDevice::AnyGpu, Some(200 * 1024), &two()).unwrap_err().to_string();
        assert!(e.contains("cuda:0, 80.0 GiB"), "{e}");
        let e = check_meetable(AskedDevice::Cuda(1), Some(30 * 1024), &two()).unwrap_err().to_string();
        assert!(e.contains("cuda:1, 24.0 GiB"), "{e}");
        assert!(check_meetable(AskedDevice::AnyGpu, Some(70 * 1024), &two()).is_ok());
    }

    #[test]
    fn a_gpu_that_is_not_there_names_the_devices_there_are() {
        let e = check_meetable(AskedDevice::Cuda(5), None, &two()).unwrap_err().to_string();
        assert!(
            e.contains("cuda:5 is not on this machine") && e.contains("cpu, cuda:0 (80.0 GiB), cuda:1"),
            "{e}"
        );
        let e = check_meetable(AskedDevice::AnyGpu, None, &[]).unwrap_err().to_string();
        assert!(e.contains("no usable GPU") && e.contains("the devices here are cpu"), "{e}");
        assert!(check_meetable(AskedDevice::Auto, Some(1 << 30), &[]).is_ok(), "auto falls back to the CPU");
    }
}
