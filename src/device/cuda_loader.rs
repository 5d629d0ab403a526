//! Load `libtorch_cuda.so` at run time, so one binary serves CPU-only and CUDA machines.
//!
//! Rust links with `--as-needed`, which drops `libtorch_cuda.so` from the binary; without it
//! libtorch never registers CUDA. Linking it for real would make the CUDA libraries a start-up
//! dependency and break every CPU-only machine. Instead we `dlopen` it (RTLD_GLOBAL, kept open for
//! the life of the process) from the folder of the `libtorch_cpu.so` that the loader picked, and
//! we do it before anything asks libtorch about CUDA: libtorch builds its CUDA hooks once, on the
//! first query, and keeps that answer.
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// The outcome of trying to load libtorch's CUDA half.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CudaLoad {
    /// `libtorch_cuda.so` is loaded; CUDA may be usable (a driver and a GPU are still needed).
    Loaded { path: PathBuf },
    /// The libtorch in use has no `libtorch_cuda.so`: a CPU-only libtorch.
    NoCudaLibtorch { libtorch_dir: PathBuf },
    /// `libtorch_cuda.so` exists but could not be loaded; the loader's reason says what is missing.
    LoadFailed { path: PathBuf, error: String },
    /// The process has no `libtorch_cpu.so` mapped (should not happen in a linked binary).
    LibtorchNotFound,
    /// `WORKBENCH_NO_CUDA` is set: CUDA was not loaded on purpose.
    Disabled,
}

impl CudaLoad {
    /// A few words on why CUDA can't be used, for narrow places; `None` when the library loaded.
    pub fn short_reason(&self) -> Option<String> {
        match self {
            CudaLoad::Loaded { .. } => None,
            CudaLoad::NoCudaLibtorch { .. } => Some("CPU-only libtorch".into()),
            CudaLoad::LoadFailed { error, .. } => Some(
                error.split(':').next().map(|lib| format!("{lib} missing")).unwrap_or_else(|| error.clone()),
            ),
            CudaLoad::LibtorchNotFound => Some("libtorch not found".into()),
            CudaLoad::Disabled => Some("disabled by WORKBENCH_NO_CUDA".into()),
        }
    }

    /// Why CUDA can't be used, in words for the devices view; `None` when the library loaded.
    pub fn reason(&self) -> Option<String> {
        match self {
            CudaLoad::Loaded { .. } => None,
            CudaLoad::NoCudaLibtorch { libtorch_dir } => Some(format!(
                "the libtorch in use ({}) is CPU-only: it has no libtorch_cuda.so. `./dev setup` fetches \
                 the CUDA build where it finds an NVIDIA driver 580 or newer (`WORKBENCH_LIBTORCH=cuda` \
                 forces it), or point LD_LIBRARY_PATH at a CUDA PyTorch 2.11.0's torch/lib (see docs/gpu.md)",
                libtorch_dir.display()
            )),
            CudaLoad::LoadFailed { path, error } => Some(format!(
                "{} could not be loaded: {error}. Run `./dev setup` again (it checks the cached CUDA \
                 libtorch and fetches what is missing), or point LD_LIBRARY_PATH at a CUDA PyTorch \
                 2.11.0's torch/lib (see docs/gpu.md)",
                path.display()
            )),
            CudaLoad::LibtorchNotFound => Some("libtorch_cpu.so is not mapped into this process".into()),
            CudaLoad::Disabled => Some("CUDA disabled by WORKBENCH_NO_CUDA".into()),
        }
    }
}

struct Loaded {
    outcome: CudaLoad,
    // Kept open for the life of the process: unloading CUDA libraries is never safe.
    _library: Option<libloading::os::unix::Library>,
}

static CUDA: OnceLock<Loaded> = OnceLock::new();

/// Load `libtorch_cuda.so` once; later calls return the first outcome.
/// Call before any `tch::Cuda` query (device probing calls it first).
pub fn ensure_loaded() -> &'static CudaLoad {
    &CUDA.get_or_init(load).outcome
}

fn load() -> Loaded {
    if std::env::var_os("WORKBENCH_NO_CUDA").is_some_and(|v| !v.is_empty() && v != "0") {
        return Loaded { outcome: CudaLoad::Disabled, _library: None };
    }
    let Some(cpu_lib) = loaded_library_path("libtorch_cpu.so") else {
        return Loaded { outcome: CudaLoad::LibtorchNotFound, _library: None };
    };
    let dir = cpu_lib.parent().map(Path::to_path_buf).unwrap_or_default();
    let path = dir.join(CUDA_LIBRARY);
    if !has_cuda_library(&dir) {
        let libtorch_dir = dir.parent().map(Path::to_path_buf).unwrap_or(dir);
        return Loaded { outcome: CudaLoad::NoCudaLibtorch { libtorch_dir }, _library: None };
    }
    let flags = libloading::os::unix::RTLD_NOW | libloading::os::unix::RTLD_GLOBAL;
    // SAFETY: loading libtorch_cuda.so runs its static initialisers, which register CUDA with the
    // libtorch_cpu.so already in this process; that is exactly what linking it would have done.
    match unsafe { libloading::os::unix::Library::open(Some(&path), flags) } {
        Ok(lib) => {
            tracing::info!(path = %path.display(), "loaded libtorch_cuda.so");
            Loaded { outcome: CudaLoad::Loaded { path }, _library: Some(lib) }
        }
        Err(e) => {
            let error = clean_dl_error(&e.to_string());
            tracing::warn!(path = %path.display(), %error, "libtorch_cuda.so could not be loaded");
            Loaded { outcome: CudaLoad::LoadFailed { path, error }, _library: None }
        }
    }
}

const CUDA_LIBRARY: &str = "libtorch_cuda.so";

/// Whether a libtorch `lib` folder has the CUDA half: a CPU-only libtorch has none.
pub fn has_cuda_library(lib_dir: &Path) -> bool {
    lib_dir.join(CUDA_LIBRARY).exists()
}

/// The full path of a shared library mapped into this process, read from /proc/self/maps.
pub fn loaded_library_path(name: &str) -> Option<PathBuf> {
    let maps = std::fs::read_to_string("/proc/self/maps").ok()?;
    maps.lines()
        .filter_map(|line| line.split_whitespace().nth(5))
        .find(|p| Path::new(p).file_name().is_some_and(|f| f == name))
        .map(PathBuf::from)
}

/// dlerror text repeats the path; keep the part that names what is missing.
fn clean_dl_error(raw: &str) -> String {
    let parts: Vec<&str> = raw.split(": ").collect();
    match parts.iter().position(|p| p.starts_with("cannot open shared object file")) {
        Some(i) if i > 0 => parts[i - 1..].join(": "),
        _ => raw.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dl_errors_keep_the_missing_library() {
        let raw = "/opt/torch/lib/libtorch_cuda.so: libcublas.so.13: cannot open shared object file: No such file or directory";
        assert_eq!(
            clean_dl_error(raw),
            "libcublas.so.13: cannot open shared object file: No such file or directory"
        );
    }

    #[test]
    fn the_running_binary_maps_libtorch_cpu() {
        let path = loaded_library_path("libtorch_cpu.so").expect("libtorch_cpu.so is linked");
        assert!(path.is_absolute());
    }
}
