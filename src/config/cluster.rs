//! The `[cluster]` table of config.toml: how jobs are written for Slurm and HTCondor.
//!
//! ```toml
//! [cluster]
//! scheduler = "slurm"              # the default for `workbench submit`
//! # binary = "/shared/bin/workbench"   # the workbench the compute nodes run (default: this one)
//! refuse_node_local = false        # true: refuse a runs folder under /tmp and the like
//!
//! [cluster.slurm]
//! partition = "gpu"
//! requeue = true                   # requeue a job after its time-limit checkpoint
//! signal_before_s = 120            # USR1 this long before the time limit
//! setup = ["module load cuda"]     # lines run before workbench in the job script
//!
//! [cluster.condor]
//! container_image = "docker://ghcr.io/me/workbench:latest"
//! want_gpu_lab = true
//! gpu_job_length = "short"
//! gpus_minimum_memory = 8000
//! ```
use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// The `[cluster]` table.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ClusterConfig {
    /// The scheduler `workbench submit` uses when `--scheduler` is not given.
    pub scheduler: Option<String>,
    /// The workbench binary the job runs (a path the compute nodes can see); default: this binary.
    pub binary: Option<PathBuf>,
    /// Paths that are local to each machine: a runs folder under one of them gets a warning (or
    /// an error with `refuse_node_local`), since the compute nodes can't see it.
    pub node_local_paths: Vec<String>,
    /// Refuse (instead of warn about) a runs folder under a node-local path.
    pub refuse_node_local: bool,
    /// Never ask a scheduler more often than this (seconds; at least 10).
    pub poll_interval_s: u64,
    pub slurm: SlurmConfig,
    pub condor: CondorConfig,
}

impl Default for ClusterConfig {
    fn default() -> Self {
        ClusterConfig {
            scheduler: None,
            binary: None,
            node_local_paths: ["/tmp", "/var/tmp", "/dev/shm", "/run", "/scratch/local"]
                .map(String::from)
                .to_vec(),
            refuse_node_local: false,
            poll_interval_s: 10,
            slurm: SlurmConfig::default(),
            condor: CondorConfig::default(),
        }
    }
}

/// The `[cluster.slurm]` table.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct SlurmConfig {
    /// The partition when `--partition` is not given (none: the cluster's default).
    pub partition: Option<String>,
    /// `--time` when the flag is not given (Slurm's format or `2h`).
    pub time: Option<String>,
    /// `--mem` when the flag is not given (`16G`).
    pub mem: Option<String>,
    /// CPUs per task.
    pub cpus: u32,
    /// Ask GPUs as `--gpus=N` instead of `--gres=gpu:N` (clusters with GPU types configured).
    pub use_gpus_flag: bool,
    /// `#SBATCH --requeue`, and `scontrol requeue` after the time-limit checkpoint.
    pub requeue: bool,
    /// Seconds before the time limit that Slurm sends USR1 (`--signal=B:USR1@N`).
    pub signal_before_s: u32,
    /// Shell lines run before workbench (`module load cuda`, `source venv/bin/activate`).
    pub setup: Vec<String>,
    /// More `#SBATCH` options, written as given (`--account=proj42`, `--qos=short`).
    pub extra: Vec<String>,
}

impl Default for SlurmConfig {
    fn default() -> Self {
        SlurmConfig {
            partition: None,
            time: None,
            mem: None,
            cpus: 1,
            use_gpus_flag: false,
            requeue: true,
            signal_before_s: 120,
            setup: Vec::new(),
            extra: Vec::new(),
        }
    }
}

/// The `[cluster.condor]` table.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct CondorConfig {
    /// A container image with workbench inside (`docker://...`, a `.sif`); without it the binary
    /// itself is transferred.
    pub container_image: Option<String>,
    /// `request_memory` when `--mem` is not given.
    pub mem: Option<String>,
    /// `request_disk` (`4G`).
    pub disk: String,
    pub cpus: u32,
    /// `+WantGPULab = true` (CHTC's GPU Lab and pools modelled on it).
    pub want_gpu_lab: bool,
    /// `+GPUJobLength = "short"` (`short`, `medium`, `long`).
    pub gpu_job_length: Option<String>,
    /// `gpus_minimum_memory` in MB.
    pub gpus_minimum_memory: Option<u64>,
    /// `gpus_minimum_capability` (`7.5`).
    pub gpus_minimum_capability: Option<String>,
    /// The exit code that means "checkpointed, run me again" (`checkpoint_exit_code`).
    pub checkpoint_exit_code: u32,
    /// The pool has a shared filesystem: no file transfer, the run folder is used in place.
    pub shared_filesystem: bool,
    /// More submit commands or `+Attributes`, written as `key = value`.
    pub extra: BTreeMap<String, String>,
}

impl Default for CondorConfig {
    fn default() -> Self {
        CondorConfig {
            container_image: None,
            mem: None,
            disk: "4G".into(),
            cpus: 1,
            want_gpu_lab: false,
            gpu_job_length: None,
            gpus_minimum_memory: None,
            gpus_minimum_capability: None,
            checkpoint_exit_code: 85,
            shared_filesystem: false,
            extra: BTreeMap::new(),
        }
    }
}
