//! `telemetry.csv` in a run folder: a time column, then one column per figure. The run process's
//! CPU use and resident memory come first (CPU runs have those too); on a machine with GPUs, then
//! the GPU memory the run's own processes hold (`run_gpu_mem_mb`, from NVML's process list), then
//! six columns per GPU.
//! Rows are appended and flushed one per sample, so a killed run keeps all but the last.
use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::Path;
use std::time::SystemTime;

use super::TelemetrySample;

pub const TELEMETRY_FILE: &str = "telemetry.csv";

const PER_GPU: [&str; 6] =
    ["mem_used_mb", "mem_total_mb", "util_percent", "temp_c", "power_w", "power_limit_w"];

/// The GPU memory the run's processes hold, in MiB: the run's own share of its GPU.
pub const RUN_GPU_MEM_COLUMN: &str = "run_gpu_mem_mb";

/// The header for `gpus` GPUs.
fn header(gpus: u32) -> String {
    let mut columns = vec!["time_s".to_string(), "cpu_percent".into(), "rss_mb".into()];
    if gpus > 0 {
        columns.push(RUN_GPU_MEM_COLUMN.into());
    }
    for g in 0..gpus {
        columns.extend(PER_GPU.iter().map(|c| format!("gpu{g}_{c}")));
    }
    columns.join(",")
}

/// Appends samples to a run's `telemetry.csv`.
pub struct TelemetryWriter {
    out: BufWriter<File>,
    gpus: u32,
    started: SystemTime,
}

impl TelemetryWriter {
    /// Open (or continue, after a resume) `telemetry.csv` in `dir`. `started` is the run's start:
    /// `time_s` counts from it, so a resumed run's rows go on from where they were.
    pub fn open(dir: &Path, gpus: u32, started: SystemTime) -> std::io::Result<TelemetryWriter> {
        let path = dir.join(TELEMETRY_FILE);
        let wanted = header(gpus);
        let existing = std::fs::read_to_string(&path).ok();
        let reuse = existing.as_deref().and_then(|t| t.lines().next()).is_some_and(|h| h == wanted);
        let file = if reuse {
            OpenOptions::new().append(true).open(&path)?
        } else {
            // A new run, or one resumed on a machine with other GPUs: start the file afresh.
            File::create(&path)?
        };
        let mut out = BufWriter::new(file);
        if !reuse {
            writeln!(out, "{wanted}")?;
            out.flush()?;
        }
        Ok(TelemetryWriter { out, gpus, started })
    }

    pub fn append(&mut self, s: &TelemetrySample) -> std::io::Result<()> {
        let t = s.at.duration_since(self.started).map(|d| d.as_secs_f64()).unwrap_or(0.0);
        let opt = |v: Option<f64>, digits: usize| v.map(|v| format!("{v:.digits$}")).unwrap_or_default();
        let mb = |bytes: u64| format!("{:.1}", bytes as f64 / (1024.0 * 1024.0));
        let mut row = vec![
            format!("{t:.3}"),
            opt(s.process.and_then(|p| p.cpu_percent), 1),
            s.process.map(|p| mb(p.rss_bytes)).unwrap_or_default(),
        ];
        if self.gpus > 0 {
            row.push(s.run_gpu_mem_bytes().map(mb).unwrap_or_default());
        }
        for g in 0..self.gpus {
            match s.gpus.iter().find(|x| x.index == g) {
                Some(x) => row.extend([
                    mb(x.mem_used_bytes),
                    mb(x.mem_total_bytes),
                    opt(x.util_percent.map(f64::from), 0),
                    opt(x.temp_c.map(f64::from), 0),
                    opt(x.power_w, 1),
                    opt(x.power_limit_w, 1),
                ]),
                None => row.extend(std::iter::repeat_n(String::new(), PER_GPU.len())),
            }
        }
        writeln!(self.out, "{}", row.join(","))?;
        self.out.flush()
    }
}

/// `telemetry.csv` read back: its columns and, per row, each column's value (`None` when empty).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Telemetry {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<Option<f64>>>,
}

impl Telemetry {
    /// One column's points as (time_s, value), empty cells left out.
    pub fn series(&self, column: &str) -> Vec<(f64, f64)> {
        let Some(c) = self.columns.iter().position(|x| x == column) else { return Vec::new() };
        self.rows
            .iter()
            .filter_map(|r| Some((r.first().copied().flatten()?, r.get(c).copied().flatten()?)))
            .collect()
    }
}

/// Parse the text of a `telemetry.csv`. A last line without its newline is a row still being
/// written (or cut by a kill) and is left out; a row that doesn't parse is skipped.
pub fn parse_telemetry(text: &str) -> Telemetry {
    let complete = &text[..text.rfind('\n').map_or(0, |i| i + 1)];
    let mut lines = complete.lines();
    let Some(head) = lines.next() else { return Telemetry::default() };
    let columns: Vec<String> = head.split(',').map(str::to_string).collect();
    let rows = lines
        .filter_map(|line| {
            let cells: Vec<&str> = line.split(',').collect();
            if cells.len() != columns.len() {
                return None;
            }
            cells
                .iter()
                .map(|c| if c.is_empty() { Ok(None) } else { c.parse::<f64>().map(Some) })
                .collect::<Result<Vec<_>, _>>()
                .ok()
        })
        .collect();
    Telemetry { columns, rows }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::telemetry::{GpuProcess, GpuSample, ProcessSample};
    use std::time::Duration;

    fn sample(at: SystemTime, gpu: bool) -> TelemetrySample {
        TelemetrySample {
            at,
            process: Some(ProcessSample { pid: 1, cpu_percent: Some(97.5), rss_bytes: 300 * 1024 * 1024 }),
            gpus: if gpu {
                vec![GpuSample {
                    index: 0,
                    name: "H200".into(),
                    mem_used_bytes: 2048 * 1024 * 1024,
                    mem_total_bytes: 141 * 1024 * 1024 * 1024,
                    util_percent: Some(88),
                    temp_c: Some(45),
                    power_w: Some(310.25),
                    power_limit_w: Some(700.0),
                    processes: vec![
                        GpuProcess { pid: 1, used_bytes: Some(1024 * 1024 * 1024) },
                        GpuProcess { pid: 2, used_bytes: Some(512 * 1024 * 1024) },
                        GpuProcess { pid: 99, used_bytes: Some(4096 * 1024 * 1024) },
                    ],
                }]
            } else {
                Vec::new()
            },
            pids: vec![1, 2],
        }
    }

    #[test]
    fn rows_round_trip_with_a_time_column_and_one_column_per_figure() {
        let dir = tempfile::tempdir().unwrap();
        let start = SystemTime::now();
        let mut w = TelemetryWriter::open(dir.path(), 1, start).unwrap();
        w.append(&sample(start + Duration::from_millis(1500), true)).unwrap();
        w.append(&sample(start + Duration::from_millis(2500), false)).unwrap();
        let t = parse_telemetry(&std::fs::read_to_string(dir.path().join(TELEMETRY_FILE)).unwrap());
        assert_eq!(t.columns[..5], ["time_s", "cpu_percent", "rss_mb", "run_gpu_mem_mb", "gpu0_mem_used_mb"]);
        assert_eq!(t.columns.len(), 4 + 6);
        assert_eq!(
            t.series("run_gpu_mem_mb"),
            [(1.5, 1536.0)],
            "the run's two processes' GPU memory, not pid 99's; empty when the GPU wasn't read"
        );
        assert_eq!(t.rows.len(), 2);
        assert_eq!(t.series("time_s"), [(1.5, 1.5), (2.5, 2.5)]);
        assert_eq!(
            t.series("gpu0_util_percent"),
            [(1.5, 88.0)],
            "a GPU missing from a sample is an empty cell"
        );
        assert_eq!(t.series("rss_mb"), [(1.5, 300.0), (2.5, 300.0)]);
        assert_eq!(t.series("gpu0_power_w"), [(1.5, 310.2)]);
    }

    #[test]
    fn a_resumed_run_appends_and_a_cut_row_is_left_out() {
        let dir = tempfile::tempdir().unwrap();
        let start = SystemTime::now();
        TelemetryWriter::open(dir.path(), 0, start).unwrap().append(&sample(start, false)).unwrap();
        let mut again = TelemetryWriter::open(dir.path(), 0, start).unwrap();
        again.append(&sample(start + Duration::from_secs(60), false)).unwrap();
        let path = dir.path().join(TELEMETRY_FILE);
        let mut text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text.lines().filter(|l| l.starts_with("time_s")).count(), 1, "one header");
        text.push_str("61.0,50.0");
        let t = parse_telemetry(&text);
        assert_eq!(t.series("time_s").iter().map(|p| p.0).collect::<Vec<_>>(), [0.0, 60.0]);
    }
}
