//! Run folders on disk: `run.toml` (what ran and how it ended), `metrics.csv` (one row per epoch,
//! flushed every epoch), `steps.csv` (per-step training loss) and `model.safetensors` (the final
//! checkpoint).
//!
//! A process killed mid-run loses at most the epoch in progress; its `run.toml` still says
//! `running`, and listing shows such a run as interrupted once its process is gone.
pub mod events;
pub mod external;
mod record;

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::train::{EpochMetrics, MetricKind, TrainSpec};
use crate::util::write_atomic;

pub use events::{ControlCommand, LiveState, RunEvent, RunKey, StepRow};
pub use record::{list_runs, load_run, EpochRow, RunInfo, RunRecord};

pub const RUN_FILE: &str = "run.toml";
pub const METRICS_FILE: &str = "metrics.csv";
pub const STEPS_FILE: &str = "steps.csv";
pub const CHECKPOINT_FILE: &str = "model.safetensors";
pub const METRICS_HEADER: &str = "epoch,train_loss,val_loss,val_metric,samples_per_s,elapsed_s,step";

/// How a run ended (or that it has not yet).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RunStatus {
    /// The folder exists (made by a viewer or at a scheduler's submission); its process has not
    /// started yet.
    Queued,
    /// Still going, or killed before it could say otherwise.
    Running,
    /// Waiting between batches until it is resumed.
    Paused,
    /// Every epoch ran.
    Finished,
    /// An error ended it; `reason` says which.
    Failed,
    /// The user stopped it.
    Stopped,
    /// The program exited during the run (quit, Ctrl-C, SIGTERM, SIGHUP, or killed).
    Interrupted,
}

impl RunStatus {
    pub fn as_str(&self) -> &'static str {
        match self {
            RunStatus::Queued => "queued",
            RunStatus::Running => "running",
            RunStatus::Paused => "paused",
            RunStatus::Finished => "finished",
            RunStatus::Failed => "failed",
            RunStatus::Stopped => "stopped",
            RunStatus::Interrupted => "interrupted",
        }
    }
}

/// Versions of what produced the run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Versions {
    pub workbench: String,
    pub tch: String,
    pub libtorch: String,
    /// The libtorch_cpu.so that was loaded.
    pub libtorch_path: String,
}

impl Versions {
    pub fn current() -> Versions {
        Versions {
            workbench: env!("CARGO_PKG_VERSION").to_string(),
            tch: "0.24".to_string(),
            libtorch: option_env!("WORKBENCH_LIBTORCH_BUILD_VERSION").unwrap_or("unknown").to_string(),
            libtorch_path: crate::device::cuda_loader::loaded_library_path("libtorch_cpu.so")
                .map(|p| p.display().to_string())
                .unwrap_or_default(),
        }
    }
}

/// What the model was trained on: enough to rebuild it and feed it new data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct DataInfo {
    pub source: String,
    pub task: String,
    #[serde(default)]
    pub classes: Vec<String>,
    pub target: String,
    #[serde(default)]
    pub features: Vec<String>,
    pub sample_shape: Vec<i64>,
    pub train_samples: u64,
    pub val_samples: u64,
    /// Standardisation statistics from the training part (empty when off).
    #[serde(default)]
    pub mean: Vec<f32>,
    #[serde(default)]
    pub std: Vec<f32>,
    pub placement: String,
}

/// The last epoch's figures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FinalMetrics {
    pub epoch: u32,
    pub train_loss: f64,
    pub val_loss: Option<f64>,
    pub val_metric: Option<f64>,
    /// `accuracy` or `mse`.
    pub metric: String,
    pub elapsed_s: f64,
}

impl FinalMetrics {
    pub fn from_epoch(m: &EpochMetrics) -> FinalMetrics {
        FinalMetrics {
            epoch: m.epoch,
            train_loss: m.train_loss,
            val_loss: m.val_loss,
            val_metric: m.val_metric,
            metric: metric_name(m.metric).into(),
            elapsed_s: m.elapsed_s,
        }
    }
}

pub fn metric_name(m: MetricKind) -> &'static str {
    match m {
        MetricKind::Accuracy => "accuracy",
        MetricKind::Mse => "mse",
    }
}

/// Everything in `run.toml`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunMeta {
    pub id: String,
    pub status: RunStatus,
    pub reason: Option<String>,
    pub dataset: String,
    pub model: String,
    /// The device used (`cpu`, `cuda:0`) and its full name.
    pub device: String,
    pub device_label: String,
    pub started_at: String,
    pub finished_at: Option<String>,
    pub epochs_completed: u32,
    pub pid: u32,
    pub host: String,
    pub checkpoint: Option<String>,
    pub hyperparameters: TrainSpec,
    pub data: DataInfo,
    pub versions: Versions,
    #[serde(rename = "final")]
    pub final_metrics: Option<FinalMetrics>,
}

/// Writes one run folder as the run goes.
pub struct RunRecorder {
    dir: PathBuf,
    meta: RunMeta,
    metrics: BufWriter<File>,
    steps: BufWriter<File>,
}

impl RunRecorder {
    /// Create a fresh folder under `runs_dir` and write `run.toml` (status `running`) and the
    /// headers of the CSV files.
    pub fn create(runs_dir: &Path, mut meta: RunMeta) -> std::io::Result<RunRecorder> {
        std::fs::create_dir_all(runs_dir)?;
        let base = folder_name(&meta);
        let mut dir = runs_dir.join(&base);
        let mut n = 2;
        loop {
            match std::fs::create_dir(&dir) {
                Ok(()) => break,
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    dir = runs_dir.join(format!("{base}-{n}"));
                    n += 1;
                }
                Err(e) => return Err(e),
            }
        }
        meta.id = dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let mut metrics = BufWriter::new(File::create(dir.join(METRICS_FILE))?);
        writeln!(metrics, "{METRICS_HEADER}")?;
        metrics.flush()?;
        let mut steps = BufWriter::new(File::create(dir.join(STEPS_FILE))?);
        writeln!(steps, "step,epoch,loss")?;
        steps.flush()?;
        let recorder = RunRecorder { dir, meta, metrics, steps };
        recorder.write_meta()?;
        Ok(recorder)
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn meta(&self) -> &RunMeta {
        &self.meta
    }

    /// Append per-step losses (kept in the buffer until the next epoch row is flushed).
    pub fn append_steps(&mut self, epoch: u32, first_step: u64, losses: &[f32]) -> std::io::Result<()> {
        for (i, loss) in losses.iter().enumerate() {
            writeln!(self.steps, "{},{epoch},{loss}", first_step + i as u64 + 1)?;
        }
        Ok(())
    }

    /// Append an epoch row and flush both CSV files, so a killed process loses at most this epoch.
    pub fn append_epoch(&mut self, m: &EpochMetrics) -> std::io::Result<()> {
        let opt = |v: Option<f64>| v.map(|v| v.to_string()).unwrap_or_default();
        writeln!(
            self.metrics,
            "{},{},{},{},{:.1},{:.4},{}",
            m.epoch,
            m.train_loss,
            opt(m.val_loss),
            opt(m.val_metric),
            m.samples_per_s,
            m.elapsed_s,
            m.global_step
        )?;
        self.metrics.flush()?;
        self.steps.flush()?;
        self.meta.epochs_completed = m.epoch;
        self.meta.final_metrics = Some(FinalMetrics::from_epoch(m));
        Ok(())
    }

    /// Save the model's parameters as the run's checkpoint.
    pub fn save_checkpoint(&mut self, vs: &tch::nn::VarStore) -> Result<(), String> {
        let path = self.dir.join(CHECKPOINT_FILE);
        let tmp = self.dir.join(format!(".{CHECKPOINT_FILE}.tmp.safetensors"));
        vs.save(&tmp).and_then(|_| std::fs::rename(&tmp, &path).map_err(tch::TchError::from)).map_err(
            |e| {
                let _ = std::fs::remove_file(&tmp);
                format!("could not save the checkpoint {}: {e}", path.display())
            },
        )?;
        self.meta.checkpoint = Some(CHECKPOINT_FILE.to_string());
        Ok(())
    }

    /// Record how the run ended.
    pub fn finish(&mut self, status: RunStatus, reason: Option<String>) -> std::io::Result<()> {
        let _ = self.metrics.flush();
        let _ = self.steps.flush();
        self.meta.status = status;
        self.meta.reason = reason;
        self.meta.finished_at = Some(now_rfc3339());
        self.write_meta()
    }

    fn write_meta(&self) -> std::io::Result<()> {
        let text = toml::to_string_pretty(&self.meta).map_err(std::io::Error::other)?;
        let header = "# Written by workbench. `status` is updated when the run ends.\n";
        write_atomic(&self.dir.join(RUN_FILE), format!("{header}{text}").as_bytes())
    }
}

/// `20261126-150102-iris-mlp-cpu`
fn folder_name(meta: &RunMeta) -> String {
    let stamp: String = meta.started_at.chars().filter(|c| c.is_ascii_digit()).take(14).collect();
    let (date, time) = stamp.split_at(stamp.len().min(8));
    let clean = |s: &str| {
        s.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' { c } else { '_' }).collect::<String>()
    };
    format!(
        "{date}-{time}-{}-{}-{}",
        clean(&meta.dataset),
        clean(&meta.model),
        clean(&meta.device.replace(':', ""))
    )
}

pub fn now_rfc3339() -> String {
    humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string()
}

pub fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname").map(|s| s.trim().to_string()).unwrap_or_default()
}
