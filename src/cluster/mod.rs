//! Hand runs to a cluster's scheduler (Slurm or HTCondor) and follow them there.
//!
//! `workbench submit` makes the run folder at once (status `queued`, [`RunStatus::Queued`]), writes
//! the job file into it, submits it and records the job in the folder's `job.toml`
//! ([`JobRecord`]). The job runs `workbench train --run-dir DIR` (or `--resume DIR` after a
//! requeue or restart), so on a shared filesystem the run writes its folder like any other run
//! process and every viewer follows it there. The scheduler is asked only for what the folder
//! can't say (queued, or why a job ended before its run started), at most every 10 s
//! ([`poll::Poller`]).
//!
//! Why `job.toml` beside `run.toml` rather than fields in it: the run process rewrites `run.toml`
//! from its own [`RunMeta`], which would drop fields it doesn't know; the job's record belongs to
//! the submitter and is written once.
pub mod condor;
/// `[cluster]` settings live with the rest of the config (config/cluster.rs), which imports
/// nothing of this module.
pub use crate::config::cluster as config;
mod error;
mod exec;
mod job_id;
pub mod poll;
mod quoting;
pub mod slurm;
pub mod submit;
mod values;
mod watch;

use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub use config::ClusterConfig;
pub use error::ClusterError;
pub use exec::{system as exec_system, CmdOutput, Exec};
pub use job_id::{BadJobId, JobId};
pub use poll::{JobState, Poller};
pub use values::{parse_mem_mib, parse_time};
pub use watch::{ClusterJob, ClusterReport, JobUpdate, Watcher};

use crate::runs::{now_rfc3339, RunMeta, RunStatus, RUN_FILE};
use crate::train::TrainSpec;
use crate::util::write_atomic;

/// The job's record in its run folder.
pub const JOB_FILE: &str = "job.toml";

/// A cluster scheduler.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scheduler {
    /// Slurm: `sbatch`, `squeue`, `scontrol`, `scancel`.
    Slurm,
    /// HTCondor: `condor_submit`, `condor_q`, `condor_rm`, the job event log.
    Condor,
}

impl Scheduler {
    pub fn as_str(&self) -> &'static str {
        match self {
            Scheduler::Slurm => "slurm",
            Scheduler::Condor => "condor",
        }
    }

    /// The job file's name in the run folder.
    pub fn job_file_name(&self) -> &'static str {
        match self {
            Scheduler::Slurm => slurm::SCRIPT_FILE,
            Scheduler::Condor => condor::SUBMIT_FILE,
        }
    }
}

impl fmt::Display for Scheduler {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Scheduler::Slurm => "Slurm",
            Scheduler::Condor => "HTCondor",
        })
    }
}

impl std::str::FromStr for Scheduler {
    type Err = ClusterError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "slurm" => Ok(Scheduler::Slurm),
            "condor" | "htcondor" => Ok(Scheduler::Condor),
            _ => Err(ClusterError::BadValue {
                flag: "--scheduler",
                value: s.to_string(),
                hint: "use slurm or condor".into(),
            }),
        }
    }
}

/// What the job asks the scheduler for.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Resources {
    pub gpus: u32,
    pub cpus: u32,
    /// Wall-clock limit in seconds.
    pub time_s: Option<u64>,
    /// Memory in MiB.
    pub mem_mib: Option<u64>,
    /// Slurm's partition.
    pub partition: Option<String>,
}

/// Everything a job file is written from. Paths are absolute.
#[derive(Debug, Clone, PartialEq)]
pub struct JobSpec {
    pub scheduler: Scheduler,
    /// The run's id: its folder's name.
    pub run_id: String,
    pub run_dir: PathBuf,
    /// The workbench binary the job runs.
    pub binary: PathBuf,
    /// The config file in force at submission, passed on to the job.
    pub config: Option<PathBuf>,
    pub datasets_dir: PathBuf,
    pub runs_dir: PathBuf,
    /// The dataset's file or folder (transferred to HTCondor jobs without a shared filesystem).
    pub dataset_path: PathBuf,
    pub resources: Resources,
    /// A command run (`workbench run --run-dir DIR`, which passes the time-limit signal on to the
    /// command's process group) rather than a train run (`workbench train --run-dir DIR`, which
    /// checkpoints on it and is requeued).
    pub command: bool,
}

/// `job.toml`: which scheduler holds the run and under which id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobRecord {
    pub scheduler: Scheduler,
    /// `1234` (Slurm) or `1234.0` (HTCondor's cluster.proc), checked when read.
    pub job_id: JobId,
    pub submitted_at: String,
    /// The job file, in the run folder.
    pub job_file: String,
}

/// Read a run folder's `job.toml`; `None` when the run is not a cluster job. The job id must
/// have its scheduler's form ([`JobId`]): the file is anyone's to edit, and the id becomes an
/// argument of `scancel`/`condor_rm`.
pub fn job_of(dir: &Path) -> Result<Option<JobRecord>, ClusterError> {
    let path = dir.join(JOB_FILE);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(ClusterError::Io { what: "could not read", path, source }),
    };
    let bad = |message: String| ClusterError::BadFile { path: path.clone(), message };
    let record: JobRecord = toml::from_str(&text).map_err(|e| bad(e.message().trim().to_string()))?;
    record.job_id.fits(record.scheduler).map_err(|e| bad(e.to_string()))?;
    Ok(Some(record))
}

/// Write `job.toml` into a run folder.
pub fn write_job_record(dir: &Path, job: &JobRecord) -> Result<(), ClusterError> {
    let path = dir.join(JOB_FILE);
    let text = toml::to_string_pretty(job)
        .map_err(|e| ClusterError::BadFile { path: path.clone(), message: e.to_string() })?;
    let text = format!("# Written by `workbench submit`: the scheduler job that runs this folder.\n{text}");
    write_atomic(&path, text.as_bytes()).map_err(|source| ClusterError::Io {
        what: "could not write",
        path,
        source,
    })
}

/// The run folder's name for a submission: `20261128-133000-iris-mlp-slurm`.
pub fn run_folder_name(spec: &TrainSpec, scheduler: Scheduler, submitted_at: &str) -> String {
    let stamp: String = submitted_at.chars().filter(|c| c.is_ascii_digit()).take(14).collect();
    let (date, time) = stamp.split_at(stamp.len().min(8));
    let clean = |s: &str| {
        s.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' { c } else { '_' }).collect::<String>()
    };
    format!(
        "{date}-{time}-{}-{}-{}",
        clean(&spec.dataset),
        clean(&spec.model.to_string()),
        scheduler.as_str()
    )
}

/// The folder a submission would create under `runs_dir`: `name`, or `name-2`, `name-3`, ... when
/// that exists. Nothing is created (`--dry-run` shows the job file for this folder).
pub fn free_run_dir(runs_dir: &Path, name: &str) -> PathBuf {
    let mut dir = runs_dir.join(name);
    let mut n = 2;
    while dir.exists() {
        dir = runs_dir.join(format!("{name}-{n}"));
        n += 1;
    }
    dir
}

/// Create a queued run folder under `runs_dir` (a fresh name, never an existing folder) with its
/// `run.toml`, as every run is made ([`crate::train::create_queued_run`]); the scheduler stands in
/// for the device in its name and `device` until the run process, on its node, records the one it
/// uses. Returns the folder.
pub fn create_queued_run(
    runs_dir: &Path,
    spec: &TrainSpec,
    scheduler: Scheduler,
) -> Result<PathBuf, ClusterError> {
    crate::train::create_queued_run(runs_dir, spec, scheduler.as_str()).map(|(_, dir)| dir).map_err(|e| {
        ClusterError::BadFile {
            path: runs_dir.to_path_buf(),
            message: format!("could not create the run folder: {e}"),
        }
    })
}

/// Read a run folder's `run.toml`.
pub fn read_run_meta(dir: &Path) -> Result<RunMeta, ClusterError> {
    let path = dir.join(RUN_FILE);
    let text = std::fs::read_to_string(&path).map_err(|source| ClusterError::Io {
        what: "could not read",
        path: path.clone(),
        source,
    })?;
    toml::from_str(&text).map_err(|e| ClusterError::BadFile { path, message: e.message().to_string() })
}

fn write_run_meta(dir: &Path, meta: &RunMeta) -> Result<(), ClusterError> {
    let path = dir.join(RUN_FILE);
    let text = toml::to_string_pretty(meta)
        .map_err(|e| ClusterError::BadFile { path: path.clone(), message: e.to_string() })?;
    let header = "# Written by workbench. `status` is updated when the run ends.\n";
    write_atomic(&path, format!("{header}{text}").as_bytes()).map_err(|source| ClusterError::Io {
        what: "could not write",
        path,
        source,
    })
}

/// Record how a run that never started ended (rejected, cancelled while queued, or its job
/// ended before the run process began). Only a `queued` run is changed: once the run process
/// has started, `run.toml` is its own. Returns whether the file was changed.
pub fn end_queued_run(dir: &Path, status: RunStatus, reason: &str) -> Result<bool, ClusterError> {
    let mut meta = read_run_meta(dir)?;
    if meta.status != RunStatus::Queued {
        return Ok(false);
    }
    meta.status = status;
    meta.reason = Some(reason.to_string());
    meta.finished_at = Some(now_rfc3339());
    write_run_meta(dir, &meta)?;
    Ok(true)
}

/// Bring a run folder up to date with what the scheduler says of its job. A job that failed,
/// or finished, or vanished while its run is still `queued` never started the run, so the run is
/// marked failed with the scheduler's reason. A job that failed while its run says `running` or
/// `paused` and the run's process is gone (killed for memory, its node lost: it could not record
/// its end) gets the scheduler's reason too; a live run's `run.toml` is never touched. Returns
/// whether `run.toml` changed.
pub fn reconcile(dir: &Path, job: &JobRecord, state: &JobState) -> Result<bool, ClusterError> {
    let meta = read_run_meta(dir)?;
    if matches!(meta.status, RunStatus::Running | RunStatus::Paused) {
        let JobState::Failed { reason } = state else { return Ok(false) };
        if crate::runs::liveness::liveness(dir, meta.pid, &meta.host)
            == crate::runs::liveness::Liveness::Alive
        {
            return Ok(false);
        }
        let mut meta = meta;
        meta.status = RunStatus::Failed;
        meta.reason = Some(format!(
            "{} job {} ended while the run was going, before it could record how: {reason}",
            job.scheduler, job.job_id
        ));
        meta.finished_at = Some(now_rfc3339());
        write_run_meta(dir, &meta)?;
        return Ok(true);
    }
    let reason = match state {
        JobState::Queued { .. } | JobState::Running => return Ok(false),
        JobState::Failed { reason } => {
            format!("{} job {} failed before the run started: {reason}", job.scheduler, job.job_id)
        }
        JobState::Finished => format!(
            "{} job {} ended without starting the run; see its output files in the run folder",
            job.scheduler, job.job_id
        ),
        JobState::Gone => {
            format!("{} no longer knows job {} and the run never started", job.scheduler, job.job_id)
        }
    };
    end_queued_run(dir, RunStatus::Failed, &reason)
}

/// Cancel a cluster run's job (`scancel ID`, `condor_rm ID`). A run still queued is marked
/// stopped at once (no process will ever do it); a running one gets the scheduler's SIGTERM,
/// checkpoints and marks itself interrupted. `workbench stop RUN` calls this when the folder has
/// a `job.toml` ([`job_of`]).
pub fn cancel(dir: &Path) -> Result<(), ClusterError> {
    let job = job_of(dir)?.ok_or_else(|| ClusterError::NotAClusterJob(dir.to_path_buf()))?;
    cancel_job(&job, &mut exec::system())?;
    end_queued_run(
        dir,
        RunStatus::Stopped,
        &format!("cancelled before it started ({} job {})", job.scheduler, job.job_id),
    )?;
    Ok(())
}

/// Ask the scheduler to cancel a job.
pub fn cancel_job(job: &JobRecord, exec: &mut Exec) -> Result<(), ClusterError> {
    match job.scheduler {
        Scheduler::Slurm => slurm::cancel(&job.job_id, exec),
        Scheduler::Condor => condor::cancel(&job.job_id, exec),
    }
}

/// The first node-local prefix `runs_dir` lies under, if any (`/tmp`, `/var/tmp`, ...).
pub fn node_local_prefix<'a>(runs_dir: &Path, cfg: &'a ClusterConfig) -> Option<&'a str> {
    cfg.node_local_paths.iter().map(String::as_str).find(|p| runs_dir.starts_with(p))
}

/// Submit a written job file; returns the scheduler's job id.
pub fn submit_job_file(
    scheduler: Scheduler,
    job_file: &Path,
    partition: Option<&str>,
    gpus: u32,
    exec: &mut Exec,
) -> Result<JobId, ClusterError> {
    match scheduler {
        Scheduler::Slurm => slurm::submit(job_file, partition, gpus, exec),
        Scheduler::Condor => condor::submit(job_file, exec),
    }
}
