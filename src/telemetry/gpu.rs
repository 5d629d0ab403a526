//! GPU figures through NVML, loaded at run time by nvml-wrapper (libloading), never linked: a
//! machine without the NVIDIA driver starts as before and [`GpuProbe::open`] says why it has no
//! figures.
use nvml_wrapper::enum_wrappers::device::TemperatureSensor;
use nvml_wrapper::enums::device::UsedGpuMemory;
use nvml_wrapper::error::NvmlError;
use nvml_wrapper::Nvml;

/// A process using a GPU.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GpuProcess {
    pub pid: u32,
    /// GPU memory it holds, when the driver says.
    pub used_bytes: Option<u64>,
}

/// One reading of one GPU. A figure the GPU does not report is `None`.
#[derive(Debug, Clone, PartialEq)]
pub struct GpuSample {
    pub index: u32,
    pub name: String,
    pub mem_used_bytes: u64,
    pub mem_total_bytes: u64,
    /// Percent of the last sample period a kernel was running.
    pub util_percent: Option<u32>,
    pub temp_c: Option<u32>,
    pub power_w: Option<f64>,
    pub power_limit_w: Option<f64>,
    pub processes: Vec<GpuProcess>,
}

/// Why there are no GPU figures on this machine, in words (NVML missing, no driver, ...).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct NoGpuTelemetry(pub String);

/// NVML, opened once.
pub struct GpuProbe {
    nvml: Nvml,
    count: u32,
}

/// The library names tried, in order: the driver installs the versioned name; the bare one comes
/// only with development packages.
const NVML_NAMES: [&str; 2] = ["libnvidia-ml.so.1", "libnvidia-ml.so"];

impl GpuProbe {
    /// Load NVML and count the GPUs; the error says, in words, why there are no GPU figures.
    pub fn open() -> Result<GpuProbe, NoGpuTelemetry> {
        let mut first_error = None;
        for name in NVML_NAMES {
            match Nvml::builder().lib_path(std::ffi::OsStr::new(name)).init() {
                Ok(nvml) => {
                    let count = nvml
                        .device_count()
                        .map_err(|e| NoGpuTelemetry(format!("NVML loaded but cannot count GPUs: {e}")))?;
                    return Ok(GpuProbe { nvml, count });
                }
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        Err(NoGpuTelemetry(
            first_error.map(describe_open_error).unwrap_or_else(|| "NVML could not be loaded".into()),
        ))
    }

    pub fn count(&self) -> u32 {
        self.count
    }

    /// Read every GPU now. A GPU that fails to answer is left out of this sample.
    pub fn sample(&self) -> Vec<GpuSample> {
        (0..self.count).filter_map(|i| self.sample_one(i).ok()).collect()
    }

    fn sample_one(&self, index: u32) -> Result<GpuSample, NvmlError> {
        let device = self.nvml.device_by_index(index)?;
        let memory = device.memory_info()?;
        let processes = device
            .running_compute_processes()
            .unwrap_or_default()
            .into_iter()
            .map(|p| GpuProcess {
                pid: p.pid,
                used_bytes: match p.used_gpu_memory {
                    UsedGpuMemory::Used(bytes) => Some(bytes),
                    UsedGpuMemory::Unavailable => None,
                },
            })
            .collect();
        Ok(GpuSample {
            index,
            name: device.name().unwrap_or_else(|_| format!("GPU {index}")),
            mem_used_bytes: memory.used,
            mem_total_bytes: memory.total,
            util_percent: device.utilization_rates().ok().map(|u| u.gpu),
            temp_c: device.temperature(TemperatureSensor::Gpu).ok(),
            power_w: device.power_usage().ok().map(|mw| mw as f64 / 1000.0),
            power_limit_w: device.enforced_power_limit().ok().map(|mw| mw as f64 / 1000.0),
            processes,
        })
    }
}

/// `GPU0 processes: 4242 1.5 GiB (workbench run), 77 300.0 MiB` for the telemetry panel; `own`
/// are the process ids of the workbench's own runs, marked. `None` when NVML lists no process.
pub fn processes_line(gpu: &GpuSample, own: &[u32]) -> Option<String> {
    if gpu.processes.is_empty() {
        return None;
    }
    let list: Vec<String> = gpu
        .processes
        .iter()
        .map(|p| {
            let memory = p.used_bytes.map(crate::util::format_bytes).unwrap_or_else(|| "? memory".into());
            let mark = if own.contains(&p.pid) { " (workbench run)" } else { "" };
            format!("{} {memory}{mark}", p.pid)
        })
        .collect();
    Some(format!("GPU{} processes: {}", gpu.index, list.join(", ")))
}

/// Why NVML can't be used, with what to do.
fn describe_open_error(e: NvmlError) -> String {
    match e {
        NvmlError::LibloadingError(inner) => format!(
            "NVML is missing ({}): the NVIDIA driver is not installed on this machine, so there are no GPU \
             figures; install the driver (it ships libnvidia-ml.so.1) on a machine with an NVIDIA GPU",
            clean(&inner.to_string())
        ),
        NvmlError::DriverNotLoaded => {
            "NVML is installed but the NVIDIA driver is not loaded (no GPU, or the kernel module is missing); \
             `nvidia-smi` says more"
                .into()
        }
        NvmlError::NoPermission => "NVML refused access (no permission); ask for access to /dev/nvidia*".into(),
        other => format!("NVML could not start: {other}"),
    }
}

/// libloading's message repeats the path; keep the loader's own words.
fn clean(message: &str) -> String {
    message.rsplit(": ").take(2).collect::<Vec<_>>().into_iter().rev().collect::<Vec<_>>().join(": ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_processes_line_marks_the_workbench_runs() {
        let mut gpu = GpuSample {
            index: 0,
            name: "H200".into(),
            mem_used_bytes: 0,
            mem_total_bytes: 1,
            util_percent: None,
            temp_c: None,
            power_w: None,
            power_limit_w: None,
            processes: Vec::new(),
        };
        assert_eq!(processes_line(&gpu, &[]), None);
        gpu.processes = vec![
            GpuProcess { pid: 4242, used_bytes: Some(3 << 29) },
            GpuProcess { pid: 77, used_bytes: None },
        ];
        assert_eq!(
            processes_line(&gpu, &[4242]).unwrap(),
            "GPU0 processes: 4242 1.5 GiB (workbench run), 77 ? memory"
        );
    }

    #[test]
    fn without_the_driver_the_reason_names_nvml_and_the_driver() {
        // On a machine with the driver this checks the GPUs answer instead.
        match GpuProbe::open() {
            Ok(probe) => {
                let samples = probe.sample();
                assert_eq!(samples.len() as u32, probe.count());
                for s in samples {
                    assert!(s.mem_total_bytes > 0 && s.mem_used_bytes <= s.mem_total_bytes, "{s:?}");
                }
            }
            Err(why) => {
                assert!(why.0.contains("NVML"), "{why}");
                assert!(why.0.contains("driver"), "{why}");
            }
        }
    }
}
