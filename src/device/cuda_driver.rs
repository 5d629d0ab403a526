//! Read GPU names, memory and compute capability from the NVIDIA driver (libcuda.so.1).
//!
//! tch reports only how many CUDA devices there are; the driver API gives the rest. The library is
//! opened at run time, so machines without a driver simply report why.
use std::ffi::{c_char, c_int, CStr};

use libloading::os::unix::{Library, Symbol};

/// One GPU as the driver describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DriverDevice {
    pub name: String,
    pub total_memory: u64,
    pub compute_capability: Option<(i32, i32)>,
}

/// What the driver reports, or why it can't be asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DriverReport {
    pub version: Option<String>,
    pub devices: Vec<DriverDevice>,
}

/// Why the NVIDIA driver can't be asked about GPUs. Each message says what to check.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeviceError {
    /// `libcuda.so.1` can't be opened: no NVIDIA driver is installed.
    #[error("no NVIDIA driver found (libcuda.so.1 is not installed)")]
    NoDriver,
    /// The driver library lacks an entry point the workbench calls.
    #[error("the NVIDIA driver library lacks {symbol}: {why}")]
    MissingSymbol {
        /// The entry point (`cuInit`).
        symbol: String,
        /// What the dynamic loader said.
        why: String,
    },
    /// `cuInit` failed with this CUDA error code.
    #[error("{}", describe_init_error(.0))]
    Init(i32),
    /// `cuDeviceGetCount` failed.
    #[error("the NVIDIA driver could not count GPUs")]
    Count,
}

const ATTR_CC_MAJOR: c_int = 75;
const ATTR_CC_MINOR: c_int = 76;

/// Ask the driver about every visible GPU. The error says what is missing, in words.
pub fn query() -> Result<DriverReport, DeviceError> {
    // SAFETY: libcuda.so.1 is the NVIDIA driver's user-space library; opening it has no side
    // effects beyond its initialisers, and we only call documented driver API entry points with
    // the argument types the CUDA headers give them.
    unsafe {
        let lib = Library::open(Some("libcuda.so.1"), libloading::os::unix::RTLD_NOW)
            .map_err(|_| DeviceError::NoDriver)?;
        let init: Symbol<unsafe extern "C" fn(u32) -> c_int> = sym(&lib, b"cuInit\0")?;
        let code = init(0);
        if code != 0 {
            return Err(DeviceError::Init(code));
        }
        let get_version: Symbol<unsafe extern "C" fn(*mut c_int) -> c_int> =
            sym(&lib, b"cuDriverGetVersion\0")?;
        let count_fn: Symbol<unsafe extern "C" fn(*mut c_int) -> c_int> = sym(&lib, b"cuDeviceGetCount\0")?;
        let get: Symbol<unsafe extern "C" fn(*mut c_int, c_int) -> c_int> = sym(&lib, b"cuDeviceGet\0")?;
        let name_fn: Symbol<unsafe extern "C" fn(*mut c_char, c_int, c_int) -> c_int> =
            sym(&lib, b"cuDeviceGetName\0")?;
        let mem_fn: Symbol<unsafe extern "C" fn(*mut usize, c_int) -> c_int> =
            sym(&lib, b"cuDeviceTotalMem_v2\0")?;
        let attr_fn: Symbol<unsafe extern "C" fn(*mut c_int, c_int, c_int) -> c_int> =
            sym(&lib, b"cuDeviceGetAttribute\0")?;

        let mut version: c_int = 0;
        let version =
            (get_version(&mut version) == 0).then(|| format!("{}.{}", version / 1000, (version % 1000) / 10));
        let mut count: c_int = 0;
        if count_fn(&mut count) != 0 {
            return Err(DeviceError::Count);
        }
        let mut devices = Vec::new();
        for ordinal in 0..count {
            let mut dev: c_int = 0;
            if get(&mut dev, ordinal) != 0 {
                continue;
            }
            let mut buf = [0 as c_char; 256];
            let name = if name_fn(buf.as_mut_ptr(), buf.len() as c_int, dev) == 0 {
                CStr::from_ptr(buf.as_ptr()).to_string_lossy().into_owned()
            } else {
                format!("CUDA device {ordinal}")
            };
            let mut mem: usize = 0;
            let total_memory = if mem_fn(&mut mem, dev) == 0 { mem as u64 } else { 0 };
            let (mut major, mut minor) = (0, 0);
            let compute_capability = (attr_fn(&mut major, ATTR_CC_MAJOR, dev) == 0
                && attr_fn(&mut minor, ATTR_CC_MINOR, dev) == 0)
                .then_some((major, minor));
            devices.push(DriverDevice { name, total_memory, compute_capability });
        }
        // The library stays loaded: libtorch uses the same driver and unloading it is never safe.
        std::mem::forget(lib);
        Ok(DriverReport { version, devices })
    }
}

unsafe fn sym<T>(lib: &Library, name: &[u8]) -> Result<Symbol<T>, DeviceError> {
    // SAFETY: the caller names a symbol whose type is T, as this function's contract says.
    let symbol = unsafe { lib.get(name) };
    symbol.map_err(|e| DeviceError::MissingSymbol {
        symbol: String::from_utf8_lossy(name.strip_suffix(b"\0").unwrap_or(name)).into_owned(),
        why: e.to_string(),
    })
}

fn describe_init_error(code: &c_int) -> String {
    match *code {
        100 => "the NVIDIA driver sees no GPU (CUDA_ERROR_NO_DEVICE); check CUDA_VISIBLE_DEVICES and nvidia-smi".into(),
        35 => "the NVIDIA driver is older than this CUDA runtime (CUDA_ERROR_INSUFFICIENT_DRIVER); update the driver".into(),
        999 => "the NVIDIA driver failed to start (CUDA_ERROR_UNKNOWN); check nvidia-smi".into(),
        other => format!("the NVIDIA driver failed to initialise (cuInit returned {other}); check nvidia-smi"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_say_what_to_check() {
        assert!(DeviceError::NoDriver.to_string().starts_with("no NVIDIA driver"));
        assert!(DeviceError::Init(100).to_string().contains("CUDA_VISIBLE_DEVICES"));
        assert!(DeviceError::Init(7).to_string().contains("cuInit returned 7"));
    }
}
