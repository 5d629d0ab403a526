//! Following a run's `telemetry.csv` as it grows, and laying its figures on a chart's time axis.
//!
//! [`TelemetryTail`] reads only the bytes appended since its last poll (a half-written last line
//! waits for the next), so a viewer can poll it with the run's metrics once a second at no cost.
//! [`buckets`] turns one column into one value per character cell over the chart's wall-time
//! range, which is what a sparkline under the loss chart draws.
use std::path::{Path, PathBuf};

use super::csv_file::{parse_telemetry, Telemetry, TELEMETRY_FILE};
use crate::util::lines::AppendedLines;

/// Follows one run's `telemetry.csv`.
#[derive(Debug, Clone)]
pub struct TelemetryTail {
    path: PathBuf,
    /// Where reading goes on, and the row not finished yet (capped: see [`TELEMETRY_LINE_MAX`]).
    appended: AppendedLines,
    /// The header, once read.
    columns: Vec<String>,
}

/// The longest telemetry row read: a row for 16 GPUs is under 2 KiB; a longer line is skipped,
/// and the file is still read past it.
pub const TELEMETRY_LINE_MAX: usize = 64 * 1024;

impl TelemetryTail {
    /// Follow `dir/telemetry.csv` from its start (a missing file is fine: nothing yet).
    pub fn new(dir: &Path) -> TelemetryTail {
        TelemetryTail {
            path: dir.join(TELEMETRY_FILE),
            appended: AppendedLines::new(0, TELEMETRY_LINE_MAX),
            columns: Vec::new(),
        }
    }

    /// The complete rows appended since the last poll, with the header; `None` when nothing new.
    /// A file that became shorter (rewritten on a resume elsewhere) is read again from its start,
    /// and the returned `Telemetry` then starts afresh (`restarted`).
    pub fn poll(&mut self) -> Option<TelemetryUpdate> {
        let mut file = std::fs::File::open(&self.path).ok()?;
        let len = file.metadata().ok()?.len();
        let mut restarted = false;
        if len < self.appended.offset {
            self.appended.restart();
            self.columns.clear();
            restarted = true;
        }
        let lines = self.appended.read(&mut file, len).ok()?;
        let mut text = String::new();
        if !self.columns.is_empty() {
            // Later polls carry no header: put the known one back in front to parse them.
            text = self.columns.join(",");
            text.push('\n');
        }
        let fresh = text.len();
        for line in lines.iter().filter(|l| !l.cut) {
            text.push_str(&line.text());
            text.push('\n');
        }
        if text.len() == fresh && !restarted {
            return None;
        }
        let telemetry = parse_telemetry(&text);
        self.columns = telemetry.columns.clone();
        Some(TelemetryUpdate { telemetry, restarted })
    }
}

/// What one poll of a [`TelemetryTail`] found.
#[derive(Debug, Clone, PartialEq)]
pub struct TelemetryUpdate {
    /// The header and the new rows.
    pub telemetry: Telemetry,
    /// The file was rewritten: drop the rows held before.
    pub restarted: bool,
}

/// One value per cell for `width` cells over the time range `t0..t1` (the loss chart's wall-time
/// axis): the largest sample in each cell, `None` where no sample falls (before the run's first
/// sample, or a gap). Points outside the range are left out.
pub fn buckets(points: &[(f64, f64)], t0: f64, t1: f64, width: usize) -> Vec<Option<f64>> {
    let mut cells = vec![None; width];
    if width == 0 || t0.is_nan() || t1.is_nan() || t1 <= t0 {
        return cells;
    }
    let scale = width as f64 / (t1 - t0);
    for &(t, v) in points {
        if !(t0..=t1).contains(&t) || !v.is_finite() {
            continue;
        }
        let i = (((t - t0) * scale) as usize).min(width - 1);
        cells[i] = Some(cells[i].map_or(v, |c: f64| c.max(v)));
    }
    cells
}

/// The sparklines a run's telemetry offers, in the order they are drawn: (column, label). CPU and
/// resident memory always; per GPU, memory used, utilisation, temperature and power.
pub fn sparkline_columns(columns: &[String]) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> =
        [("cpu_percent", "CPU %"), ("rss_mb", "RSS MB"), ("run_gpu_mem_mb", "run GPU MB")]
            .iter()
            .filter(|(c, _)| columns.iter().any(|x| x == c))
            .map(|(c, l)| (c.to_string(), l.to_string()))
            .collect();
    for column in columns {
        let Some(rest) = column.strip_prefix("gpu") else { continue };
        let Some((index, figure)) = rest.split_once('_') else { continue };
        let label = match figure {
            "mem_used_mb" => "mem MB",
            "util_percent" => "util %",
            "temp_c" => "temp °C",
            "power_w" => "power W",
            _ => continue,
        };
        out.push((column.clone(), format!("GPU{index} {label}")));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tail_reads_only_complete_appended_rows() {
        let dir = tempfile::tempdir().unwrap();
        let mut tail = TelemetryTail::new(dir.path());
        assert_eq!(tail.poll(), None, "no file yet");
        let path = dir.path().join(TELEMETRY_FILE);
        std::fs::write(&path, "time_s,cpu_percent,rss_mb\n1.0,50.0,200.0\n2.0,60").unwrap();
        let first = tail.poll().unwrap();
        assert_eq!(first.telemetry.series("cpu_percent"), [(1.0, 50.0)], "the cut row waits");
        assert!(!first.restarted);
        assert_eq!(tail.poll(), None);
        let mut f = std::fs::OpenOptions::new().append(true).open(&path).unwrap();
        std::io::Write::write_all(&mut f, b".0,210.0\n3.0,,220.0\n").unwrap();
        let second = tail.poll().unwrap();
        assert_eq!(second.telemetry.series("cpu_percent"), [(2.0, 60.0)]);
        assert_eq!(second.telemetry.series("rss_mb"), [(2.0, 210.0), (3.0, 220.0)]);
        std::fs::write(&path, "time_s,cpu_percent,rss_mb\n0.5,1.0,2.0\n").unwrap();
        let again = tail.poll().unwrap();
        assert!(again.restarted, "a shorter file is read afresh");
        assert_eq!(again.telemetry.series("rss_mb"), [(0.5, 2.0)]);
    }

    #[test]
    fn a_huge_line_without_newline_is_not_read_again_and_again() {
        use std::io::Write;
        let dir = tempfile::tempdir().unwrap();
        let mut tail = TelemetryTail::new(dir.path());
        let path = dir.path().join(TELEMETRY_FILE);
        let mut f = std::fs::File::create(&path).unwrap();
        f.write_all(b"time_s,cpu_percent,rss_mb\n1.0,5.0,6.0\n").unwrap();
        f.write_all(&vec![b'9'; 8 << 20]).unwrap();
        assert_eq!(tail.poll().unwrap().telemetry.series("cpu_percent"), [(1.0, 5.0)]);
        assert!(tail.appended.pending() <= TELEMETRY_LINE_MAX, "held {}", tail.appended.pending());
        assert_eq!(tail.poll(), None, "the long line is consumed once, not re-read each poll");
        f.write_all(b"\n2.0,7.0,8.0\n").unwrap();
        assert_eq!(
            tail.poll().unwrap().telemetry.series("cpu_percent"),
            [(2.0, 7.0)],
            "rows after it are read"
        );
    }

    #[test]
    fn buckets_lay_samples_on_the_chart_axis() {
        let points = [(0.0, 1.0), (0.4, 3.0), (5.0, 2.0), (9.99, 4.0), (12.0, 9.0)];
        let cells = buckets(&points, 0.0, 10.0, 10);
        assert_eq!(cells[0], Some(3.0), "the largest in the cell");
        assert_eq!(cells[5], Some(2.0));
        assert_eq!(cells[9], Some(4.0));
        assert_eq!(cells[1], None, "no sample: a gap");
        assert!(buckets(&points, 0.0, 10.0, 0).is_empty());
        assert_eq!(buckets(&points, 5.0, 5.0, 3), [None, None, None], "an empty range");
    }

    #[test]
    fn sparklines_cover_cpu_memory_and_each_gpu() {
        let columns: Vec<String> =
            "time_s,cpu_percent,rss_mb,gpu0_mem_used_mb,gpu0_mem_total_mb,gpu0_util_percent,\
                                    gpu0_temp_c,gpu0_power_w,gpu0_power_limit_w"
                .split(',')
                .map(str::to_string)
                .collect();
        let labels: Vec<String> = sparkline_columns(&columns).into_iter().map(|(_, l)| l).collect();
        assert_eq!(labels, ["CPU %", "RSS MB", "GPU0 mem MB", "GPU0 util %", "GPU0 temp °C", "GPU0 power W"]);
    }
}
