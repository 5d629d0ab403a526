//! A race: the same experiment (same parameters, same seed) as two ordinary runs at once, one on
//! the CPU and one on a GPU (or, with [`Challenger::Cpu`], a CPU with another thread count, which
//! is how the plumbing is tested on a machine without a GPU). Both are queued folders marked as
//! one race in run.toml (`[race]`: the race's id and the side), then started as their own
//! processes; viewers read their `live.toml` for samples/s and ETAs.
use std::path::PathBuf;

use super::{create_queued_run, plan, spawn_detached, Launcher, TrainError, TrainSpec};
use crate::config::Settings;
use crate::data::Catalog;
use crate::device::DeviceReport;
use crate::runs::{read_meta, write_run_meta, RaceMark};

/// What the CPU races against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Challenger {
    /// The GPU `cuda:N`.
    Gpu(usize),
    /// A second CPU run with this many threads (the CPU side keeps the spec's).
    Cpu { threads: u32 },
}

/// The baseline side's name in run.toml's `[race]`.
pub const SIDE_CPU: &str = "cpu";
/// The challenger's side name.
pub const SIDE_CHALLENGER: &str = "challenger";

/// A race started: its id and both runs (id, folder), the CPU side first.
#[derive(Debug, Clone, PartialEq)]
pub struct Race {
    pub id: String,
    pub runs: [(String, PathBuf); 2],
}

/// Why a GPU race can't start here, and what to do instead; `None` when `cuda:gpu` is there.
pub fn gpu_unavailable(report: &DeviceReport, gpu: usize) -> Option<String> {
    if report.cuda.iter().any(|d| d.index == gpu) {
        return None;
    }
    let why = match &report.cuda_unavailable {
        Some(reason) => reason.clone(),
        None => format!("there is no cuda:{gpu}; the GPUs are {}", report.available_list()),
    };
    Some(format!(
        "a race needs a GPU to race the CPU against, and none is usable: {why}. On a machine with an NVIDIA \
         driver and a CUDA libtorch it runs as is; here, `workbench race --against cpu` races two CPU thread \
         counts instead"
    ))
}

/// Plan both sides of a race of `spec`, make their folders (marked as one race) and start both
/// as their own processes.
pub fn start_race(
    settings: &Settings,
    spec: &TrainSpec,
    challenger: Challenger,
    catalog: &Catalog,
    report: &DeviceReport,
    launcher: &Launcher,
) -> Result<Race, TrainError> {
    let mut cpu = spec.clone();
    cpu.device = "cpu".into();
    let mut other = spec.clone();
    match challenger {
        Challenger::Gpu(n) => {
            if let Some(why) = gpu_unavailable(report, n) {
                return Err(TrainError::Device(why));
            }
            other.device = format!("cuda:{n}");
        }
        Challenger::Cpu { threads } => {
            other.device = "cpu".into();
            other.threads = threads;
        }
    }
    let plans = [plan(settings, &cpu, catalog, report)?, plan(settings, &other, catalog, report)?];
    let mut runs = Vec::with_capacity(2);
    for p in &plans {
        runs.push(create_queued_run(&settings.runs_dir, &p.spec, &p.device.name)?);
    }
    let id = runs[0].0.clone();
    for ((_, dir), side) in runs.iter().zip([SIDE_CPU, SIDE_CHALLENGER]) {
        let mut meta = read_meta(dir).map_err(|e| TrainError::Run(e.to_string()))?;
        meta.race = Some(RaceMark { id: id.clone(), side: side.into() });
        write_run_meta(dir, &meta).map_err(|e| TrainError::disk(dir, e))?;
    }
    for (_, dir) in &runs {
        spawn_detached(dir, false, launcher)?;
    }
    let [a, b]: [(String, PathBuf); 2] =
        runs.try_into().map_err(|_| TrainError::Internal("a race has two runs".into()))?;
    Ok(Race { id, runs: [a, b] })
}
