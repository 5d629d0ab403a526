//! What can go wrong when handing a run to a scheduler. Each message says what failed, quotes the
//! scheduler where it spoke, and says what to do next.
use std::path::PathBuf;

use super::Scheduler;

/// Errors of the cluster layer (submitting, polling, cancelling).
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    /// The scheduler's client program is not on PATH.
    #[error("{program} was not found on PATH: {scheduler} is not available here. {hint}")]
    ClientMissing {
        /// `sbatch`, `squeue`, `condor_submit`, ...
        program: String,
        scheduler: Scheduler,
        /// What to load or install.
        hint: String,
    },
    /// The client program could not be started for another reason.
    #[error("could not run {program}: {source}")]
    Spawn {
        program: String,
        #[source]
        source: std::io::Error,
    },
    /// The scheduler refused the job; `reason` is its own message.
    #[error("{scheduler} rejected the job: {reason}")]
    Rejected { scheduler: Scheduler, reason: String },
    /// The partition asked for does not exist on this cluster.
    #[error(
        "Slurm has no partition {partition:?} ({reason}); list the partitions with `sinfo -s` and pass one with --partition, or set [cluster.slurm] partition"
    )]
    NoSuchPartition { partition: String, reason: String },
    /// The GPUs asked for are not configured on this cluster (or not in that partition).
    #[error(
        "Slurm can't give {gpus} GPU(s) here ({reason}); check `sinfo -o '%P %G'` for partitions with GPUs, or submit without --gpus"
    )]
    NoGpus { gpus: u32, reason: String },
    /// No node can satisfy the request (memory, CPUs, time).
    #[error(
        "{scheduler} has no node that fits the request ({reason}); ask for less --mem, --time or --gpus"
    )]
    DoesNotFit { scheduler: Scheduler, reason: String },
    /// The runs folder is on a node-local path the compute nodes can't see.
    #[error(
        "the runs folder {dir} is under {prefix}, which is local to each machine: the compute nodes can't see it. Put runs_dir ([paths] in config.toml, or --runs-dir) on a shared filesystem, or set [cluster] refuse_node_local = false if this is a one-node cluster"
    )]
    NodeLocalRunsDir { dir: PathBuf, prefix: String },
    /// A path or `[cluster]` value can't go into a job file safely: it would split a line, add
    /// an option or command, or be read differently by the scheduler.
    #[error("{what} {value:?} can't be written into the {file}: {reason}")]
    UnsafeValue {
        /// `the runs folder`, `the partition (--partition or [cluster.slurm] partition)`, ...
        what: String,
        value: String,
        /// `Slurm job script (job.sbatch)`, ...
        file: &'static str,
        reason: String,
    },
    /// A value of a flag could not be read.
    #[error("{flag} {value:?} is not valid: {hint}")]
    BadValue { flag: &'static str, value: String, hint: String },
    /// A file in the run folder could not be written or read.
    #[error("{what} {path}: {source}")]
    Io {
        /// `could not write the job file`, ...
        what: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// `job.toml` or `run.toml` is not what this version writes.
    #[error("{path} can't be read: {message}")]
    BadFile { path: PathBuf, message: String },
    /// The folder is not a cluster run (it has no `job.toml`).
    #[error("{0} is not a cluster run (it has no job.toml): stop it through its control file instead")]
    NotAClusterJob(PathBuf),
    /// The client's output could not be understood.
    #[error("could not read {program}'s output: {output:?}")]
    UnexpectedOutput { program: String, output: String },
    /// The client ran but failed (cancelling, querying); `stderr` is its message.
    #[error("{program} failed: {stderr}")]
    Command { program: String, stderr: String },
    /// A poll came sooner than the scheduler should be asked again.
    #[error("{scheduler} was asked {since_ms} ms ago; the next question may come in {wait_ms} ms")]
    TooSoon { scheduler: Scheduler, since_ms: u64, wait_ms: u64 },
}
