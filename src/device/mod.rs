//! Devices: what this machine offers (CPU, CUDA GPUs), why CUDA is not usable when it isn't, and
//! turning a user's choice (`auto`, `cpu`, `cuda`, `cuda:N`) into one `tch::Device`.
pub mod cuda_driver;
pub mod cuda_loader;

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use serde::Serialize;

pub use cuda_driver::DeviceError;
pub use cuda_loader::CudaLoad;

/// The CPU, as the devices view shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CpuInfo {
    pub model: String,
    /// Logical cores (hardware threads) this process may use.
    pub cores: usize,
    /// Threads libtorch uses for one operation.
    pub torch_threads: i32,
}

/// One CUDA device libtorch can use.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CudaDevice {
    pub index: usize,
    pub name: String,
    pub total_memory_bytes: u64,
    /// `(major, minor)`, when the driver reports it.
    pub compute_capability: Option<(i32, i32)>,
}

impl CudaDevice {
    /// `CUDA:0 NVIDIA H100 80GB HBM3`
    pub fn label(&self) -> String {
        format!("CUDA:{} {}", self.index, self.name)
    }
}

/// Which libtorch this process runs on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LibtorchInfo {
    /// The version the binary was built against.
    pub built_against: String,
    /// The `libtorch_cpu.so` actually loaded (LD_LIBRARY_PATH may pick another than the rpath).
    pub loaded_from: Option<PathBuf>,
}

/// Everything `workbench devices` shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeviceReport {
    pub cpu: CpuInfo,
    pub cuda: Vec<CudaDevice>,
    /// Why no CUDA device is usable; `None` when at least one is.
    pub cuda_unavailable: Option<String>,
    /// The same in a few words (`CPU-only libtorch`, `no NVIDIA driver`), for narrow panes.
    pub cuda_unavailable_short: Option<String>,
    pub driver_version: Option<String>,
    pub libtorch: LibtorchInfo,
}

impl DeviceReport {
    /// Every device a run can use, as `cpu`, `cuda:0`, ...
    pub fn available_names(&self) -> Vec<String> {
        std::iter::once("cpu".to_string())
            .chain(self.cuda.iter().map(|d| format!("cuda:{}", d.index)))
            .collect()
    }

    /// `cpu, cuda:0 (NVIDIA H100 80GB HBM3)` for messages.
    pub fn available_list(&self) -> String {
        std::iter::once("cpu".to_string())
            .chain(self.cuda.iter().map(|d| format!("cuda:{} ({})", d.index, d.name)))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// Look at the machine. Loads libtorch's CUDA half first (see [`cuda_loader`]).
pub fn probe() -> DeviceReport {
    let load = cuda_loader::ensure_loaded();
    let cpu = CpuInfo { model: cpu_model(), cores: logical_cores(), torch_threads: tch::get_num_threads() };
    let libtorch = LibtorchInfo {
        built_against: option_env!("WORKBENCH_LIBTORCH_BUILD_VERSION").unwrap_or("unknown").to_string(),
        loaded_from: cuda_loader::loaded_library_path("libtorch_cpu.so"),
    };
    let mut cuda = Vec::new();
    let mut driver_version = None;
    let mut short = load.short_reason();
    let cuda_unavailable = match load.reason() {
        Some(reason) => {
            // Still say whether a driver is present: it tells the user which half is missing.
            if let Ok(driver) = cuda_driver::query() {
                driver_version = driver.version;
            }
            Some(reason)
        }
        None => {
            let count = tch::Cuda::device_count().max(0) as usize;
            let driver = cuda_driver::query();
            if let Ok(d) = &driver {
                driver_version = d.version.clone();
            }
            for index in 0..count {
                let info = driver.as_ref().ok().and_then(|d| d.devices.get(index));
                cuda.push(CudaDevice {
                    index,
                    name: info.map(|i| i.name.clone()).unwrap_or_else(|| format!("CUDA device {index}")),
                    total_memory_bytes: info.map(|i| i.total_memory).unwrap_or(0),
                    compute_capability: info.and_then(|i| i.compute_capability),
                });
            }
            if count > 0 {
                None
            } else {
                short = Some(match &driver {
                    Err(DeviceError::NoDriver) => "no NVIDIA driver".to_string(),
                    _ => "no GPU visible".to_string(),
                });
                Some(match driver {
                    Err(why) => why.to_string(),
                    Ok(d) if d.devices.is_empty() => {
                        "the NVIDIA driver sees no GPU; check CUDA_VISIBLE_DEVICES and nvidia-smi".into()
                    }
                    Ok(_) => {
                        "libtorch_cuda.so is loaded but libtorch reports no CUDA device; check that the \
                              driver supports CUDA 13 (nvidia-smi)"
                            .into()
                    }
                })
            }
        }
    };
    DeviceReport { cpu, cuda, cuda_unavailable, cuda_unavailable_short: short, driver_version, libtorch }
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|text| {
            text.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_string())
        })
        .unwrap_or_else(|| std::env::consts::ARCH.to_string())
}

fn logical_cores() -> usize {
    std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
}

/// What the user asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum DeviceChoice {
    /// The first usable CUDA device, else the CPU.
    Auto,
    Cpu,
    /// A CUDA device; `None` means the first one.
    Cuda(Option<usize>),
}

impl fmt::Display for DeviceChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DeviceChoice::Auto => write!(f, "auto"),
            DeviceChoice::Cpu => write!(f, "cpu"),
            DeviceChoice::Cuda(None) => write!(f, "cuda"),
            DeviceChoice::Cuda(Some(i)) => write!(f, "cuda:{i}"),
        }
    }
}

/// A device string that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a device; use auto, cpu, cuda or cuda:N (for example cuda:0)")]
pub struct BadDeviceName(pub String);

impl FromStr for DeviceChoice {
    type Err = BadDeviceName;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim().to_ascii_lowercase();
        match t.as_str() {
            "auto" => return Ok(DeviceChoice::Auto),
            "cpu" => return Ok(DeviceChoice::Cpu),
            "cuda" | "gpu" => return Ok(DeviceChoice::Cuda(None)),
            _ => {}
        }
        let index = t.strip_prefix("cuda:").or_else(|| t.strip_prefix("gpu:"));
        match index.and_then(|i| i.parse::<usize>().ok()) {
            Some(i) => Ok(DeviceChoice::Cuda(Some(i))),
            None => Err(BadDeviceName(s.to_string())),
        }
    }
}

/// A device a run will use.
#[derive(Debug, Clone, PartialEq)]
pub struct ResolvedDevice {
    pub device: tch::Device,
    /// `CPU` or `CUDA:0 NVIDIA H100 80GB HBM3`.
    pub label: String,
    /// `cpu` or `cuda:0`, as written in run.toml.
    pub name: String,
    /// Why this device, in one sentence (matters for `auto`).
    pub why: String,
}

/// A choice that can't be honoured.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("device {wanted} is not available{reason}; available devices: {available}")]
pub struct DeviceUnavailable {
    pub wanted: String,
    /// ` (CUDA is not usable: ...)`, or empty.
    pub reason: String,
    pub available: String,
}

/// Set libtorch's CPU threads for what runs next: `requested`, or libtorch's own default for 0.
/// Returns the count in force. The default is read once, before anything changes it, so a run
/// with 0 after a run with 1 gets the default back.
pub fn set_cpu_threads(requested: u32) -> i32 {
    static DEFAULT: std::sync::OnceLock<i32> = std::sync::OnceLock::new();
    let default = *DEFAULT.get_or_init(tch::get_num_threads);
    // Clamped to i32 (validate_train caps it at 1024), never below one thread.
    let wanted = if requested == 0 { default } else { i32::try_from(requested).unwrap_or(i32::MAX) };
    // Called on the thread that trains: OpenMP keeps the count per thread, and libtorch's
    // global setting reaches the threads it starts.
    tch::set_num_threads(wanted.max(1));
    tch::get_num_threads()
}

/// How many bytes of training data a run may put on its device: half a GPU's memory, leaving the
/// rest to the model, activations and libtorch's allocator. None on the CPU (host memory).
pub fn data_budget(report: &DeviceReport, resolved: &ResolvedDevice) -> Option<u64> {
    match resolved.device {
        tch::Device::Cuda(i) => report.cuda.iter().find(|d| d.index == i).map(|d| d.total_memory_bytes / 2),
        _ => None,
    }
}

/// Turn a choice into a device, or refuse it up front with the devices there are.
pub fn resolve(choice: DeviceChoice, report: &DeviceReport) -> Result<ResolvedDevice, DeviceUnavailable> {
    let cpu = |why: String| ResolvedDevice {
        device: tch::Device::Cpu,
        label: "CPU".into(),
        name: "cpu".into(),
        why,
    };
    let gpu = |d: &CudaDevice, why: String| ResolvedDevice {
        device: tch::Device::Cuda(d.index),
        label: d.label(),
        name: format!("cuda:{}", d.index),
        why,
    };
    let unavailable = |wanted: String| DeviceUnavailable {
        wanted,
        reason: report
            .cuda_unavailable
            .as_ref()
            .map(|r| format!(" (CUDA is not usable: {r})"))
            .unwrap_or_default(),
        available: report.available_list(),
    };
    match choice {
        DeviceChoice::Cpu => Ok(cpu("the CPU was asked for".into())),
        DeviceChoice::Auto => match report.cuda.first() {
            Some(d) => Ok(gpu(d, "auto picked the first usable GPU".into())),
            None => Ok(cpu(format!(
                "auto picked the CPU because CUDA is not usable: {}",
                report.cuda_unavailable.as_deref().unwrap_or("no GPU found")
            ))),
        },
        DeviceChoice::Cuda(None) => match report.cuda.first() {
            Some(d) => Ok(gpu(d, "cuda means the first GPU".into())),
            None => Err(unavailable("cuda".into())),
        },
        DeviceChoice::Cuda(Some(i)) => match report.cuda.iter().find(|d| d.index == i) {
            Some(d) => Ok(gpu(d, format!("cuda:{i} was asked for"))),
            None => Err(unavailable(format!("cuda:{i}"))),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_threads_are_set_and_zero_brings_the_default_back() {
        let default = tch::get_num_threads();
        assert_eq!(set_cpu_threads(1), 1);
        assert_eq!(set_cpu_threads(0), default);
    }

    fn report(gpus: usize) -> DeviceReport {
        DeviceReport {
            cpu: CpuInfo { model: "Test CPU".into(), cores: 2, torch_threads: 2 },
            cuda: (0..gpus)
                .map(|i| CudaDevice {
                    index: i,
                    name: format!("GPU {i}"),
                    total_memory_bytes: 1 << 34,
                    compute_capability: Some((9, 0)),
                })
                .collect(),
            cuda_unavailable: (gpus == 0).then(|| "no driver".to_string()),
            cuda_unavailable_short: (gpus == 0).then(|| "no driver".to_string()),
            driver_version: None,
            libtorch: LibtorchInfo { built_against: "2.11.0".into(), loaded_from: None },
        }
    }

    #[test]
    fn parses_device_names() {
        assert_eq!("auto".parse(), Ok(DeviceChoice::Auto));
        assert_eq!("CPU".parse(), Ok(DeviceChoice::Cpu));
        assert_eq!("cuda".parse(), Ok(DeviceChoice::Cuda(None)));
        assert_eq!("cuda:1".parse(), Ok(DeviceChoice::Cuda(Some(1))));
        assert_eq!("gpu".parse(), Ok(DeviceChoice::Cuda(None)));
        let err = "tpu".parse::<DeviceChoice>().unwrap_err();
        assert!(err.to_string().contains("\"tpu\" is not a device"));
        assert!("cuda:x".parse::<DeviceChoice>().is_err());
    }

    #[test]
    fn auto_prefers_the_first_gpu_and_explains_a_cpu_fallback() {
        let with_gpu = resolve(DeviceChoice::Auto, &report(2)).unwrap();
        assert_eq!(with_gpu.device, tch::Device::Cuda(0));
        assert_eq!(with_gpu.label, "CUDA:0 GPU 0");
        let without = resolve(DeviceChoice::Auto, &report(0)).unwrap();
        assert_eq!(without.device, tch::Device::Cpu);
        assert!(without.why.contains("no driver"), "{}", without.why);
    }

    #[test]
    fn missing_devices_are_refused_with_the_list() {
        let err = resolve(DeviceChoice::Cuda(Some(3)), &report(2)).unwrap_err();
        assert_eq!(
            err.to_string(),
            "device cuda:3 is not available; available devices: cpu, cuda:0 (GPU 0), cuda:1 (GPU 1)"
        );
        let err = resolve(DeviceChoice::Cuda(None), &report(0)).unwrap_err();
        assert_eq!(
            err.to_string(),
            "device cuda is not available (CUDA is not usable: no driver); available devices: cpu"
        );
    }
}
