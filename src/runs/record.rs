//! Reading run folders back: for `workbench runs`, for comparing runs, and for checkpoints.
use std::path::{Path, PathBuf};

use super::{RunMeta, RunStatus, CHECKPOINT_FILE, METRICS_FILE, RUN_FILE};

/// One epoch row of `metrics.csv`.
#[derive(Debug, Clone, PartialEq)]
pub struct EpochRow {
    pub epoch: u32,
    pub train_loss: f64,
    pub val_loss: Option<f64>,
    pub val_metric: Option<f64>,
    pub samples_per_s: f64,
    pub elapsed_s: f64,
    /// Steps taken by the end of this epoch; `None` in folders that lack the column.
    pub step: Option<u64>,
}

/// A run folder as read from disk.
#[derive(Debug, Clone)]
pub struct RunRecord {
    pub dir: PathBuf,
    pub meta: RunMeta,
    pub epochs: Vec<EpochRow>,
}

impl RunRecord {
    pub fn checkpoint_path(&self) -> Option<PathBuf> {
        self.meta.checkpoint.as_ref().map(|_| self.dir.join(CHECKPOINT_FILE)).filter(|p| p.is_file())
    }
}

/// A run in a listing: its folder, and its record or why it can't be read.
#[derive(Debug, Clone)]
pub struct RunInfo {
    pub dir: PathBuf,
    pub record: Result<RunRecord, String>,
}

impl RunInfo {
    /// The status to show: a `running` run whose process is gone was interrupted.
    pub fn effective_status(&self) -> Option<RunStatus> {
        let meta = &self.record.as_ref().ok()?.meta;
        if matches!(meta.status, RunStatus::Running | RunStatus::Paused)
            && !process_alive(meta.pid, &meta.host)
        {
            return Some(RunStatus::Interrupted);
        }
        Some(meta.status)
    }
}

/// Read `run.toml` and `metrics.csv` of one run folder.
pub fn load_run(dir: &Path) -> Result<RunRecord, String> {
    let meta_path = dir.join(RUN_FILE);
    let text = std::fs::read_to_string(&meta_path).map_err(|e| format!("{}: {e}", meta_path.display()))?;
    let meta: RunMeta =
        toml::from_str(&text).map_err(|e| format!("{}: {}", meta_path.display(), e.message()))?;
    let epochs = read_metrics(&dir.join(METRICS_FILE)).unwrap_or_default();
    Ok(RunRecord { dir: dir.to_path_buf(), meta, epochs })
}

fn read_metrics(path: &Path) -> Result<Vec<EpochRow>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
    // Rows are written whole, newline last; text after the last newline is a row cut short by a
    // kill or a full disk, even when its fields happen to parse.
    let complete = &text[..text.rfind('\n').map_or(0, |i| i + 1)];
    let mut reader = csv::Reader::from_reader(complete.as_bytes());
    let mut rows = Vec::new();
    for record in reader.records() {
        // A row cut short by a kill is skipped; every complete row before it is kept.
        let Ok(record) = record else { continue };
        let num = |i: usize| record.get(i).and_then(|v| v.parse::<f64>().ok());
        let Some(epoch) = record.get(0).and_then(|v| v.parse::<u32>().ok()) else { continue };
        let (Some(train_loss), Some(samples_per_s), Some(elapsed_s)) = (num(1), num(4), num(5)) else {
            continue;
        };
        rows.push(EpochRow {
            epoch,
            train_loss,
            val_loss: num(2),
            val_metric: num(3),
            samples_per_s,
            elapsed_s,
            step: record.get(6).and_then(|v| v.parse::<u64>().ok()),
        });
    }
    Ok(rows)
}

/// Every run folder under `runs_dir`, newest first.
pub fn list_runs(runs_dir: &Path) -> Vec<RunInfo> {
    let Ok(read) = std::fs::read_dir(runs_dir) else { return Vec::new() };
    let mut dirs: Vec<PathBuf> =
        read.filter_map(|e| e.ok()).map(|e| e.path()).filter(|p| p.join(RUN_FILE).is_file()).collect();
    dirs.sort();
    dirs.reverse();
    dirs.into_iter().map(|dir| RunInfo { record: load_run(&dir), dir }).collect()
}

fn process_alive(pid: u32, host: &str) -> bool {
    if host != super::host_name() {
        return true; // another machine's run: we can't tell, so take it at its word
    }
    Path::new(&format!("/proc/{pid}")).exists()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_last_row_without_its_newline_is_left_out_even_when_it_parses() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("metrics.csv");
        let complete = "1,0.9,0.8,0.5,1000,0.1,8\n2,0.7,0.6,0.7,1000,0.2,16\n";
        // A full disk stopped this row before its step and newline.
        let text = format!("{}\n{complete}3,0.5,0.4,0.8,1000,0.3,", super::super::METRICS_HEADER);
        std::fs::write(&path, text).unwrap();
        let rows = read_metrics(&path).unwrap();
        assert_eq!(rows.iter().map(|r| r.epoch).collect::<Vec<_>>(), [1, 2]);
        std::fs::write(&path, format!("{}\n{complete}", super::super::METRICS_HEADER)).unwrap();
        assert_eq!(read_metrics(&path).unwrap().len(), 2, "complete rows all count");
    }
}
