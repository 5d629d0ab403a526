//! `workbench --version`: the workbench, the tch crate and the libtorch in use, and whether that
//! libtorch can drive a GPU. Fast and safe on any machine: it reads /proc/self/maps and looks for
//! a file; it never loads the CUDA libraries or asks a driver (`workbench devices` does that).
use std::path::Path;

use crate::device::cuda_loader;

/// Four lines: workbench, tch, libtorch (built against, loaded from), CUDA-capable or not.
pub fn version_text() -> String {
    let built =
        option_env!("WORKBENCH_LIBTORCH_BUILD_VERSION").filter(|v| !v.is_empty()).unwrap_or("unknown");
    let loaded = cuda_loader::loaded_library_path("libtorch_cpu.so");
    let lib_dir = loaded.as_deref().and_then(Path::parent);
    let libtorch = match lib_dir {
        Some(dir) => format!("libtorch {built} (built against), loaded from {}", dir.display()),
        None => format!("libtorch {built} (built against); libtorch_cpu.so is not mapped into this process"),
    };
    let cuda = match lib_dir {
        Some(dir) if cuda_loader::has_cuda_library(dir) => {
            "CUDA-capable: yes (libtorch_cuda.so is there; `workbench devices` checks the driver and GPUs)"
        }
        Some(_) => "CUDA-capable: no (a CPU-only libtorch: no libtorch_cuda.so beside libtorch_cpu.so)",
        None => "CUDA-capable: unknown",
    };
    format!(
        "workbench {}\ntch {}\n{libtorch}\n{cuda}\n",
        env!("CARGO_PKG_VERSION"),
        env!("WORKBENCH_TCH_VERSION")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_workbench_tch_libtorch_and_cuda() {
        let text = version_text();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], format!("workbench {}", env!("CARGO_PKG_VERSION")));
        assert!(lines[1].starts_with("tch 0."), "{text}");
        assert!(lines[2].starts_with("libtorch ") && lines[2].contains("loaded from /"), "{text}");
        assert!(
            lines[3].starts_with("CUDA-capable: yes") || lines[3].starts_with("CUDA-capable: no"),
            "{text}"
        );
    }
}
