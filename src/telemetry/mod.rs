//! Live figures while a run trains: each GPU's memory, load, temperature and power draw (NVML,
//! loaded at run time) and the run process's CPU use and resident memory (/proc), sampled once a
//! second on their own thread and kept in the run folder as `telemetry.csv`, so a finished or
//! re-attached run still shows them and `workbench export` can include them.
//!
//! Nothing here needs tch. The sampler sends plain [`TelemetrySample`]s; the run process writes
//! them with [`TelemetryWriter`]; viewers read them back with [`parse_telemetry`].
mod csv_file;
pub mod gpu;
pub mod process;
mod tail;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime};

pub use csv_file::{parse_telemetry, Telemetry, TelemetryWriter, RUN_GPU_MEM_COLUMN, TELEMETRY_FILE};
pub use gpu::{processes_line, GpuProbe, GpuProcess, GpuSample, NoGpuTelemetry};
pub use process::{ProcessProbe, ProcessSample};
pub use tail::{buckets, sparkline_columns, TelemetryTail, TelemetryUpdate};

/// How often the sampler reads the figures.
pub const SAMPLE_INTERVAL: Duration = Duration::from_secs(1);

/// One reading of everything.
#[derive(Debug, Clone, PartialEq)]
pub struct TelemetrySample {
    /// When it was read.
    pub at: SystemTime,
    /// The run process; `None` once it is gone.
    pub process: Option<ProcessSample>,
    /// Every GPU NVML sees (empty without NVML).
    pub gpus: Vec<GpuSample>,
    /// The run's processes (a command run's whole tree): NVML's per-process list says how much
    /// GPU memory they hold.
    pub pids: Vec<u32>,
}

impl TelemetrySample {
    /// GPU memory held by the run's processes, over every GPU, from NVML's process list; `None`
    /// when none of them is listed (no GPU used, or a driver that can't see this pid namespace).
    pub fn run_gpu_mem_bytes(&self) -> Option<u64> {
        let held: Vec<u64> = self
            .gpus
            .iter()
            .flat_map(|g| &g.processes)
            .filter(|p| self.pids.contains(&p.pid))
            .filter_map(|p| p.used_bytes)
            .collect();
        (!held.is_empty()).then(|| held.iter().sum())
    }
}

/// Whether GPU figures can be had here, and why not: for `workbench devices` and the TUI panel.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TelemetryStatus {
    pub available: bool,
    /// GPUs NVML sees.
    pub gpus: u32,
    /// Why there are no GPU figures (NVML missing, no driver).
    pub reason: Option<String>,
}

impl TelemetryStatus {
    /// Try NVML once.
    pub fn probe() -> TelemetryStatus {
        match GpuProbe::open() {
            Ok(p) => TelemetryStatus { available: true, gpus: p.count(), reason: None },
            Err(reason) => TelemetryStatus { available: false, gpus: 0, reason: Some(reason.0) },
        }
    }
}

/// The sampler thread; dropping it stops and joins it.
pub struct Sampler {
    stop: Arc<AtomicBool>,
    join: Option<JoinHandle<()>>,
}

impl Sampler {
    /// Sample process `pid` (and every GPU, when `gpus` is given) every `interval` on a named
    /// thread, until `sink` returns false or the sampler is dropped. NVML calls take well under a
    /// millisecond, so once a second costs the training nothing measurable.
    pub fn spawn(
        pid: u32,
        gpus: Option<GpuProbe>,
        interval: Duration,
        sink: impl FnMut(TelemetrySample) -> bool + Send + 'static,
    ) -> std::io::Result<Sampler> {
        Self::spawn_probe(ProcessProbe::new(pid), gpus, interval, sink)
    }

    /// As [`Sampler::spawn`], with the process probe given (a whole process tree's, for a command).
    pub fn spawn_probe(
        mut process: ProcessProbe,
        gpus: Option<GpuProbe>,
        interval: Duration,
        mut sink: impl FnMut(TelemetrySample) -> bool + Send + 'static,
    ) -> std::io::Result<Sampler> {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let body = move || {
            let mut next = Instant::now();
            while !flag.load(Ordering::Relaxed) {
                let process_sample = process.sample();
                let sample = TelemetrySample {
                    at: SystemTime::now(),
                    process: process_sample,
                    gpus: gpus.as_ref().map(GpuProbe::sample).unwrap_or_default(),
                    pids: process.pids().to_vec(),
                };
                if !sink(sample) {
                    break;
                }
                next += interval;
                // Sleep in short slices so a stop is noticed quickly.
                while !flag.load(Ordering::Relaxed) && Instant::now() < next {
                    std::thread::sleep(
                        next.saturating_duration_since(Instant::now()).min(Duration::from_millis(50)),
                    );
                }
            }
        };
        // Telemetry is never worth failing a run for: a panic ends the sampling, with a warning.
        let on_panic = |message: String| tracing::warn!("telemetry stopped: {message}; the run goes on");
        let join = crate::threads::spawn_reporting("telemetry", body, on_panic)?;
        Ok(Sampler { stop, join: Some(join) })
    }
}

impl Drop for Sampler {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(join) = self.join.take() {
            if !std::thread::panicking() {
                let _ = join.join();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;

    #[test]
    fn the_sampler_reads_this_process_and_stops_when_dropped() {
        let (tx, rx) = mpsc::channel();
        let sampler =
            Sampler::spawn(std::process::id(), None, Duration::from_millis(20), move |s| tx.send(s).is_ok())
                .unwrap();
        let first = rx.recv_timeout(Duration::from_secs(5)).unwrap();
        let second = rx.recv_timeout(Duration::from_secs(5)).unwrap();
        assert!(first.process.unwrap().rss_bytes > 0);
        assert!(second.process.unwrap().cpu_percent.is_some(), "the second sample has a CPU rate");
        assert!(second.gpus.is_empty());
        drop(sampler);
        // Whatever was in flight drains, then the channel closes: the thread has ended.
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            match rx.recv_timeout(Duration::from_millis(100)) {
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
                _ => assert!(Instant::now() < deadline, "the sampler kept running after drop"),
            }
        }
    }

    #[test]
    fn the_status_names_a_reason_when_there_are_no_gpu_figures() {
        let status = TelemetryStatus::probe();
        assert_eq!(status.available, status.reason.is_none(), "{status:?}");
    }
}
