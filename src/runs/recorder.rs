//! Writing one run folder as the run goes: `run.toml`, `metrics.csv` and `steps.csv`.
//!
//! The checkpoint files are written by the training layer (src/train/checkpoint.rs), which needs
//! tch; this side only records that one was written.
use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::{
    now_rfc3339, FailureKind, FinalMetrics, RunMeta, RunStatus, CHECKPOINT_FILE, METRICS_FILE,
    METRICS_HEADER, RUN_FILE, STEPS_FILE, STEPS_HEADER,
};
use crate::params::EpochMetrics;
use crate::util::write_atomic;

/// `steps.csv` is flushed at most this often (and at each epoch's end), so a viewer sees the
/// per-step curve move a few times a second without a write per step.
const STEPS_FLUSH_EVERY: Duration = Duration::from_millis(250);
/// A checkpoint updates run.toml at most this often (each write is synced, ~10 ms on a plain
/// disk, which would triple the time of a small model checkpointed every epoch). The checkpoint
/// files, not run.toml, say where a resume begins.
const META_FOR_CHECKPOINT_EVERY: Duration = Duration::from_secs(1);

/// A file of [`RESERVE_BYTES`] zeros a running run keeps in its folder, deleted just before the
/// final run.toml is written: the record of how the run ended (failed, often, for want of space)
/// then has room even on a full disk, where it would otherwise be lost and the run read as
/// interrupted.
pub const RESERVE_FILE: &str = ".reserve";
/// A few pages: room for run.toml's atomic copy and the heartbeat's, with some to spare.
const RESERVE_BYTES: usize = 16 * 1024;

/// Writes one run folder as the run goes.
pub struct RunRecorder {
    dir: PathBuf,
    meta: RunMeta,
    metrics: BufWriter<File>,
    steps: BufWriter<File>,
    steps_flushed: Instant,
    /// When run.toml was last written by [`RunRecorder::checkpointed`].
    checkpoint_meta_written: Option<Instant>,
}

impl RunRecorder {
    /// Create a fresh, uniquely named folder under `runs_dir` (see [`folder_name`]; `-2`, `-3`
    /// ... when taken), set `meta.id` to its name and write `meta` as its `run.toml`.
    pub fn create_folder(runs_dir: &Path, meta: &mut RunMeta) -> std::io::Result<PathBuf> {
        std::fs::create_dir_all(runs_dir)?;
        let base = folder_name(meta);
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
        write_run_meta(&dir, meta)?;
        Ok(dir)
    }

    /// Create a fresh folder under `runs_dir` and start recording in it (status as in `meta`).
    pub fn create(runs_dir: &Path, mut meta: RunMeta) -> std::io::Result<RunRecorder> {
        let dir = Self::create_folder(runs_dir, &mut meta)?;
        Self::start(&dir, meta)
    }

    /// Start recording in an existing folder (a queued run): fresh CSV files with their headers,
    /// then `run.toml`.
    pub fn start(dir: &Path, meta: RunMeta) -> std::io::Result<RunRecorder> {
        let mut metrics = BufWriter::new(File::create(dir.join(METRICS_FILE))?);
        writeln!(metrics, "{METRICS_HEADER}")?;
        metrics.flush()?;
        let mut steps = BufWriter::new(File::create(dir.join(STEPS_FILE))?);
        writeln!(steps, "{STEPS_HEADER}")?;
        steps.flush()?;
        let recorder = RunRecorder {
            dir: dir.to_path_buf(),
            meta,
            metrics,
            steps,
            steps_flushed: Instant::now(),
            checkpoint_meta_written: None,
        };
        reserve_room(dir);
        recorder.write_meta()?;
        Ok(recorder)
    }

    /// Go on recording a run resumed from its checkpoint after `epoch` (`step` steps): rows past
    /// it are dropped from both CSV files (each rewritten atomically), so `metrics.csv` ends with
    /// exactly one row per epoch once the run goes on; new rows are appended.
    pub fn resume(dir: &Path, meta: RunMeta, epoch: u32, step: u64) -> std::io::Result<RunRecorder> {
        keep_rows(&dir.join(METRICS_FILE), METRICS_HEADER, |first| {
            first.parse::<u32>().is_ok_and(|e| e <= epoch)
        })?;
        keep_rows(&dir.join(STEPS_FILE), STEPS_HEADER, |first| {
            first.parse::<u64>().is_ok_and(|s| s <= step)
        })?;
        let append = |name: &str| OpenOptions::new().append(true).open(dir.join(name)).map(BufWriter::new);
        let recorder = RunRecorder {
            dir: dir.to_path_buf(),
            meta,
            metrics: append(METRICS_FILE)?,
            steps: append(STEPS_FILE)?,
            steps_flushed: Instant::now(),
            checkpoint_meta_written: None,
        };
        reserve_room(dir);
        recorder.write_meta()?;
        Ok(recorder)
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn meta(&self) -> &RunMeta {
        &self.meta
    }

    /// Append per-step losses, all read back at `wall_s` seconds of training; flushed at most a
    /// few times a second.
    pub fn append_steps(
        &mut self,
        epoch: u32,
        first_step: u64,
        losses: &[f32],
        wall_s: f64,
    ) -> std::io::Result<()> {
        for (i, loss) in losses.iter().enumerate() {
            writeln!(self.steps, "{},{epoch},{loss},{wall_s:.3}", first_step + i as u64 + 1)?;
        }
        if self.steps_flushed.elapsed() >= STEPS_FLUSH_EVERY {
            self.steps.flush()?;
            self.steps_flushed = Instant::now();
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
        self.steps_flushed = Instant::now();
        self.meta.epochs_completed = m.epoch;
        self.meta.final_metrics = Some(FinalMetrics::from_epoch(m));
        Ok(())
    }

    /// Record a new status (`running`, `paused`) in `run.toml`.
    pub fn set_status(&mut self, status: RunStatus) -> std::io::Result<()> {
        self.meta.status = status;
        self.write_meta()
    }

    /// Record that a checkpoint after `epoch` is in the folder: in run.toml at once for the first
    /// one, then at most once a second (and when the run ends).
    pub fn checkpointed(&mut self, epoch: u32) -> std::io::Result<()> {
        self.meta.checkpoint = Some(CHECKPOINT_FILE.to_string());
        self.meta.checkpoint_epoch = Some(epoch);
        if self.checkpoint_meta_written.is_some_and(|t| t.elapsed() < META_FOR_CHECKPOINT_EVERY) {
            return Ok(());
        }
        self.checkpoint_meta_written = Some(Instant::now());
        self.write_meta()
    }

    /// Record a move to another device: the switch in `device_switches`, the device the run is on
    /// now (`device`, `device_label`, its `hyperparameters`' device and threads, so a later
    /// `--resume` continues there) and the data's placement; written at once.
    pub fn switched(
        &mut self,
        switch: super::DeviceSwitch,
        label: &str,
        threads: u32,
        placement: String,
    ) -> std::io::Result<()> {
        let _ = self.steps.flush();
        self.meta.device = switch.to.split_whitespace().next().unwrap_or_default().to_string();
        self.meta.device_label = label.to_string();
        self.meta.hyperparameters.device = self.meta.device.clone();
        self.meta.hyperparameters.threads = threads;
        self.meta.data.placement = placement;
        self.meta.device_switches.push(switch);
        self.write_meta()
    }

    /// Record how the run ended; a failure keeps its kind.
    pub fn finish(
        &mut self,
        status: RunStatus,
        reason: Option<String>,
        kind: Option<FailureKind>,
    ) -> std::io::Result<()> {
        let _ = self.metrics.flush();
        let _ = self.steps.flush();
        self.meta.status = status;
        self.meta.reason = reason;
        self.meta.failure_kind = kind;
        self.meta.finished_at = Some(now_rfc3339());
        crate::queue::record::record_peak(&self.dir, &mut self.meta);
        write_final_meta(&self.dir, &self.meta)
    }

    fn write_meta(&self) -> std::io::Result<()> {
        write_run_meta(&self.dir, &self.meta)
    }
}

/// Write `run.toml` atomically.
pub fn write_run_meta(dir: &Path, meta: &RunMeta) -> std::io::Result<()> {
    let text = toml::to_string_pretty(meta).map_err(std::io::Error::other)?;
    let header = "# Written by workbench. `status` is updated as the run goes and when it ends.\n";
    write_atomic(&dir.join(RUN_FILE), format!("{header}{text}").as_bytes())
}

/// Write the run.toml that says how a run ended, with the room [`RESERVE_FILE`] kept for it.
pub fn write_final_meta(dir: &Path, meta: &RunMeta) -> std::io::Result<()> {
    let _ = std::fs::remove_file(dir.join(RESERVE_FILE));
    write_run_meta(dir, meta)
}

/// Keep [`RESERVE_BYTES`] for the final run.toml. Best effort: on a disk already too full for it
/// the run goes on without. Made fresh (never through a link someone left at its name).
fn reserve_room(dir: &Path) {
    let path = dir.join(RESERVE_FILE);
    let _ = std::fs::remove_file(&path);
    let made = OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&path)
        .and_then(|mut file| file.write_all(&[0; RESERVE_BYTES]));
    if let Err(e) = made {
        tracing::debug!(path = %path.display(), error = %e, "no room reserved for the final run.toml");
        let _ = std::fs::remove_file(&path);
    }
}

/// Rewrite a CSV file (atomically) with its header and the complete rows whose first field
/// passes `keep`; a missing file becomes the header alone.
fn keep_rows(path: &Path, header: &str, keep: impl Fn(&str) -> bool) -> std::io::Result<()> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(e),
    };
    // Text after the last newline is a row cut short by a kill: dropped with the rest.
    let complete = &text[..text.rfind('\n').map_or(0, |i| i + 1)];
    let mut out = format!("{header}\n");
    for line in complete.lines().skip(1) {
        if keep(line.split(',').next().unwrap_or_default()) {
            out.push_str(line);
            out.push('\n');
        }
    }
    write_atomic(path, out.as_bytes())
}

/// `20261126-150102-iris-mlp-cpu`: when it started, the dataset, the model and the device.
pub fn folder_name(meta: &RunMeta) -> String {
    let stamp: String = meta.started_at.chars().filter(|c| c.is_ascii_digit()).take(14).collect();
    let (date, time) = stamp.split_at(stamp.len().min(8));
    let clean = |s: &str| {
        s.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' { c } else { '_' }).collect::<String>()
    };
    // A command run may have no dataset: its part is left out rather than left empty.
    let parts = [clean(&meta.dataset), clean(&meta.model), clean(&meta.device.replace(':', ""))];
    let named: Vec<&str> = parts.iter().map(String::as_str).filter(|p| !p.is_empty()).collect();
    format!("{date}-{time}-{}", named.join("-"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_running_run_keeps_room_for_its_final_record_and_gives_it_back_at_the_end() {
        let runs = tempfile::tempdir().unwrap();
        let spec = crate::train::TrainSpec::from_config("iris", &crate::config::TrainConfig::default());
        let (_, dir) = crate::train::create_queued_run(runs.path(), &spec, "cpu").unwrap();
        let reserve = dir.join(RESERVE_FILE);
        // A link planted at the reserve's name is replaced, not written through.
        let target = runs.path().join("not-yours");
        std::fs::write(&target, "keep").unwrap();
        std::os::unix::fs::symlink(&target, &reserve).unwrap();
        let meta = super::super::read_meta(&dir).unwrap();
        let mut recorder = RunRecorder::start(&dir, meta).unwrap();
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "keep");
        assert_eq!(std::fs::symlink_metadata(&reserve).unwrap().len(), RESERVE_BYTES as u64);
        recorder.finish(RunStatus::Failed, Some("no space".into()), Some(FailureKind::Disk)).unwrap();
        assert!(!reserve.exists(), "given back before the final write");
        let back = super::super::read_meta(&dir).unwrap();
        assert_eq!((back.status, back.failure_kind), (RunStatus::Failed, Some(FailureKind::Disk)));
    }

    #[test]
    fn keep_rows_drops_rows_past_the_checkpoint_and_a_cut_row() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("metrics.csv");
        std::fs::write(&path, format!("{METRICS_HEADER}\n1,a\n2,b\n3,c\n4,d")).unwrap();
        keep_rows(&path, METRICS_HEADER, |f| f.parse::<u32>().is_ok_and(|e| e <= 2)).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), format!("{METRICS_HEADER}\n1,a\n2,b\n"));
    }
}
