//! Reading run folders back: for `workbench runs`, for comparing runs, for export and for
//! checkpoints. Reading never writes anything in a run folder.
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use super::error::{RowError, RunsError};
use super::events::{StepRow, LIVE_FILE, LOCK_FILE};
use super::{RunMeta, RunStatus, CHECKPOINT_FILE, METRICS_FILE, RUN_FILE, STEPS_FILE};

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

    /// The run's id: its folder name.
    pub fn id(&self) -> String {
        folder_id(&self.dir)
    }

    /// `accuracy` (higher is better) or `mse` (lower is better).
    pub fn metric(&self) -> &'static str {
        metric_of(&self.meta)
    }

    /// The best validation metric over the epochs so far (max accuracy, min mse) and its epoch.
    pub fn best_metric(&self) -> Option<(f64, u32)> {
        let higher = self.metric() == "accuracy";
        self.epochs.iter().filter_map(|e| e.val_metric.map(|v| (v, e.epoch))).reduce(|best, next| {
            let better = if higher { next.0 > best.0 } else { next.0 < best.0 };
            if better {
                next
            } else {
                best
            }
        })
    }

    /// How long the run took. A run that has ended: its own recorded training time (the last
    /// epoch's `elapsed_s`, else run.toml's final figures), since the start and end stamps count
    /// whole seconds (a 0.2 s run read 1.0 s or 0.0 s from them). A live run: wall-clock seconds
    /// from its start to `now`. The stamps when nothing was recorded (a run that failed before
    /// its first epoch).
    pub fn duration_s(&self, status: RunStatus, now: SystemTime) -> Option<f64> {
        let recorded = self
            .epochs
            .last()
            .map(|e| e.elapsed_s)
            .or_else(|| self.meta.final_metrics.as_ref().map(|f| f.elapsed_s))
            .or_else(|| self.meta.command.as_ref().and_then(|c| c.elapsed_s));
        let start = humantime::parse_rfc3339(&self.meta.started_at).ok();
        let since_start =
            |end: SystemTime| start.and_then(|start| end.duration_since(start).ok()).map(|d| d.as_secs_f64());
        match status {
            RunStatus::Running | RunStatus::Paused => since_start(now).or(recorded),
            _ => recorded.or_else(|| {
                let end = self.meta.finished_at.as_ref().and_then(|end| humantime::parse_rfc3339(end).ok());
                end.and_then(since_start)
            }),
        }
    }
}

/// `accuracy` or `mse`, from the last epoch's figures or the task.
pub fn metric_of(meta: &RunMeta) -> &'static str {
    match meta.final_metrics.as_ref().map(|f| f.metric.as_str()) {
        Some("mse") => "mse",
        Some(_) => "accuracy",
        None if meta.data.task == "classification" => "accuracy",
        None => "mse",
    }
}

/// A folder's name, the id of the run it holds.
pub fn folder_id(dir: &Path) -> String {
    dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| dir.display().to_string())
}

/// A run in a listing: its folder, and its record or why it can't be read.
#[derive(Debug)]
pub struct RunInfo {
    pub dir: PathBuf,
    pub record: Result<RunRecord, RunsError>,
}

impl RunInfo {
    /// The status to show: a `running` or `paused` run whose process is gone was interrupted.
    pub fn effective_status(&self) -> Option<RunStatus> {
        let record = self.record.as_ref().ok()?;
        Some(super::liveness::effective_status(&self.dir, &record.meta))
    }

    /// The run's id: its folder name.
    pub fn id(&self) -> String {
        folder_id(&self.dir)
    }
}

/// Read `run.toml` and `metrics.csv` of one run folder. Rows of `metrics.csv` that can't be read
/// are left out (the follower reports them); a missing `metrics.csv` reads as no epochs yet.
pub fn load_run(dir: &Path) -> Result<RunRecord, RunsError> {
    let meta = read_meta(dir)?;
    let epochs = match read_metrics(&dir.join(METRICS_FILE)) {
        Ok(rows) => rows,
        Err(e) => {
            tracing::debug!("{e}");
            Vec::new()
        }
    };
    Ok(RunRecord { dir: dir.to_path_buf(), meta, epochs })
}

/// Read and parse `DIR/run.toml`.
pub fn read_meta(dir: &Path) -> Result<RunMeta, RunsError> {
    let path = dir.join(RUN_FILE);
    let text = std::fs::read_to_string(&path).map_err(|e| RunsError::read(&path, e))?;
    parse_meta(&path, &text)
}

/// Parse `run.toml`'s text; a folder made by another version says which version made it.
pub(crate) fn parse_meta(path: &Path, text: &str) -> Result<RunMeta, RunsError> {
    toml::from_str::<RunMeta>(text).map_err(|e| {
        let made_by = toml::from_str::<toml::Value>(text)
            .ok()
            .and_then(|v| v.get("versions")?.get("workbench")?.as_str().map(str::to_string))
            .filter(|v| v != env!("CARGO_PKG_VERSION"));
        let reason = match made_by {
            Some(v) => format!(
                "made by workbench {v} (this is {}), which this version can't read: {}",
                env!("CARGO_PKG_VERSION"),
                e.message()
            ),
            None => format!("not a run.toml this version can read: {}", e.message()),
        };
        RunsError::Corrupt { path: path.to_path_buf(), reason }
    })
}

/// Every complete row of a `metrics.csv`. A last row without its newline is a row cut short by a
/// kill or a full disk, even when its fields happen to parse; other bad rows are left out.
pub fn read_metrics(path: &Path) -> Result<Vec<EpochRow>, RunsError> {
    let text = std::fs::read_to_string(path).map_err(|e| RunsError::read(path, e))?;
    let complete = &text[..text.rfind('\n').map_or(0, |i| i + 1)];
    let mut lines = complete.lines();
    let Some(header) = lines.next() else { return Ok(Vec::new()) };
    let columns = MetricsColumns::from_header(header)
        .map_err(|e| RunsError::Corrupt { path: path.to_path_buf(), reason: e.to_string() })?;
    Ok(lines.filter_map(|line| columns.parse(line).ok()).collect())
}

/// Every complete row of `DIR/steps.csv` (`step,epoch,loss[,wall_s]`); none when it is missing.
pub fn read_steps(dir: &Path) -> Result<Vec<StepRow>, RunsError> {
    let path = dir.join(STEPS_FILE);
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(RunsError::read(&path, e)),
    };
    let complete = &text[..text.rfind('\n').map_or(0, |i| i + 1)];
    let mut lines = complete.lines();
    let Some(header) = lines.next() else { return Ok(Vec::new()) };
    let columns = StepsColumns::from_header(header)
        .map_err(|e| RunsError::Corrupt { path: path.clone(), reason: e.to_string() })?;
    Ok(lines.filter_map(|line| columns.parse(line).ok()).collect())
}

/// Where each column of `metrics.csv` is, from its header.
#[derive(Debug, Clone)]
pub(crate) struct MetricsColumns {
    epoch: usize,
    train_loss: usize,
    val_loss: Option<usize>,
    val_metric: Option<usize>,
    samples_per_s: usize,
    elapsed_s: usize,
    step: Option<usize>,
}

fn column(names: &[&str], name: &str) -> Option<usize> {
    names.iter().position(|n| n.trim() == name)
}

fn required(names: &[&str], name: &str, file: &'static str) -> Result<usize, RowError> {
    column(names, name).ok_or_else(|| RowError::MissingColumn {
        header: names.join(","),
        column: name.to_string(),
        file,
    })
}

fn field(fields: &[&str], i: usize, name: &str) -> Result<f64, RowError> {
    let raw = fields.get(i).map(|f| f.trim()).unwrap_or_default();
    raw.parse::<f64>().map_err(|_| RowError::NotANumber { column: name.to_string(), raw: raw.to_string() })
}

fn optional(fields: &[&str], i: Option<usize>) -> Option<f64> {
    fields.get(i?).and_then(|f| f.trim().parse::<f64>().ok())
}

impl MetricsColumns {
    pub(crate) fn from_header(header: &str) -> Result<MetricsColumns, RowError> {
        let names: Vec<&str> = header.split(',').collect();
        Ok(MetricsColumns {
            epoch: required(&names, "epoch", METRICS_FILE)?,
            train_loss: required(&names, "train_loss", METRICS_FILE)?,
            val_loss: column(&names, "val_loss"),
            val_metric: column(&names, "val_metric"),
            samples_per_s: required(&names, "samples_per_s", METRICS_FILE)?,
            elapsed_s: required(&names, "elapsed_s", METRICS_FILE)?,
            step: column(&names, "step"),
        })
    }

    /// One row (without its newline); the error says which field is wrong.
    pub(crate) fn parse(&self, line: &str) -> Result<EpochRow, RowError> {
        let fields: Vec<&str> = line.split(',').collect();
        let epoch = field(&fields, self.epoch, "epoch")?;
        if epoch < 0.0 || epoch.fract() != 0.0 || epoch > u32::MAX as f64 {
            return Err(RowError::BadEpoch(epoch.to_string()));
        }
        Ok(EpochRow {
            epoch: epoch as u32,
            train_loss: field(&fields, self.train_loss, "train_loss")?,
            val_loss: optional(&fields, self.val_loss),
            val_metric: optional(&fields, self.val_metric),
            samples_per_s: field(&fields, self.samples_per_s, "samples_per_s")?,
            elapsed_s: field(&fields, self.elapsed_s, "elapsed_s")?,
            step: self.step.and_then(|i| fields.get(i)).and_then(|v| v.trim().parse::<u64>().ok()),
        })
    }
}

/// Where each column of `steps.csv` is: `step,epoch,loss,wall_s` (older: no `wall_s`).
#[derive(Debug, Clone)]
pub(crate) struct StepsColumns {
    step: usize,
    epoch: usize,
    loss: usize,
    wall_s: Option<usize>,
}

impl StepsColumns {
    pub(crate) fn from_header(header: &str) -> Result<StepsColumns, RowError> {
        let names: Vec<&str> = header.split(',').collect();
        Ok(StepsColumns {
            step: required(&names, "step", STEPS_FILE)?,
            epoch: required(&names, "epoch", STEPS_FILE)?,
            loss: required(&names, "loss", STEPS_FILE)?,
            wall_s: column(&names, "wall_s"),
        })
    }

    pub(crate) fn parse(&self, line: &str) -> Result<StepRow, RowError> {
        let fields: Vec<&str> = line.split(',').collect();
        let int = |i: usize, name: &str| {
            let raw = fields.get(i).map(|f| f.trim()).unwrap_or_default();
            raw.parse::<u64>()
                .map_err(|_| RowError::NotAWholeNumber { column: name.to_string(), raw: raw.to_string() })
        };
        let epoch = int(self.epoch, "epoch")?;
        Ok(StepRow {
            step: int(self.step, "step")?,
            epoch: u32::try_from(epoch).map_err(|_| RowError::BadEpoch(epoch.to_string()))?,
            loss: field(&fields, self.loss, "loss")? as f32,
            wall_s: optional(&fields, self.wall_s),
        })
    }
}

/// Does `dir` look like a run folder: `run.toml`, or the files a run writes before it
/// (a half-made run)?
pub fn looks_like_run(dir: &Path) -> bool {
    [RUN_FILE, METRICS_FILE, STEPS_FILE, LIVE_FILE, LOCK_FILE].iter().any(|f| dir.join(f).is_file())
}

/// Every run folder under `runs_dir`, newest first (ids begin with their start time). Folders
/// that look like half-made runs are listed with their problem.
pub fn list_runs(runs_dir: &Path) -> Vec<RunInfo> {
    let Ok(read) = std::fs::read_dir(runs_dir) else { return Vec::new() };
    let mut dirs: Vec<PathBuf> =
        read.filter_map(|e| e.ok()).map(|e| e.path()).filter(|p| p.is_dir() && looks_like_run(p)).collect();
    dirs.sort();
    dirs.reverse();
    dirs.into_iter().map(|dir| RunInfo { record: load_run(&dir), dir }).collect()
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

    #[test]
    fn steps_read_with_and_without_wall_time() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(STEPS_FILE), "step,epoch,loss\n1,1,0.5\n2,1,0.25\n").unwrap();
        let rows = read_steps(dir.path()).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!((rows[1].step, rows[1].loss, rows[1].wall_s), (2, 0.25, None));
        std::fs::write(dir.path().join(STEPS_FILE), "step,epoch,loss,wall_s\n1,1,0.5,0.125\n").unwrap();
        assert_eq!(read_steps(dir.path()).unwrap()[0].wall_s, Some(0.125));
    }

    #[test]
    fn a_foreign_header_is_named() {
        let err = MetricsColumns::from_header("when,how_much").unwrap_err().to_string();
        assert!(err.contains("no `epoch` column"), "{err}");
    }
}
