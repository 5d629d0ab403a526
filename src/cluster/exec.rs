//! Running the schedulers' client programs. Everything goes through [`Exec`], so tests can
//! stand in for a scheduler and count how often it is asked.
use std::process::Command;

use super::{ClusterError, Scheduler};

/// What a client program printed and how it exited.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CmdOutput {
    /// Exit status; `None` when killed by a signal.
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl CmdOutput {
    pub fn success(&self) -> bool {
        self.code == Some(0)
    }

    /// stderr (or stdout when stderr is empty), trimmed to one line per message.
    pub fn message(&self) -> String {
        let text = if self.stderr.trim().is_empty() { &self.stdout } else { &self.stderr };
        text.lines().map(str::trim).filter(|l| !l.is_empty()).collect::<Vec<_>>().join("; ")
    }
}

/// Runs one client program with its arguments.
pub type Exec = Box<dyn FnMut(&str, &[String]) -> Result<CmdOutput, ClusterError> + Send>;

/// Run the real programs on PATH.
pub fn system() -> Exec {
    Box::new(|program, args| {
        let out = Command::new(program).args(args).output().map_err(|source| {
            if source.kind() == std::io::ErrorKind::NotFound {
                missing(program)
            } else {
                ClusterError::Spawn { program: program.to_string(), source }
            }
        })?;
        Ok(CmdOutput {
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        })
    })
}

/// The error for a client program that is not on PATH, with what to load or install.
pub fn missing(program: &str) -> ClusterError {
    let scheduler = if program.starts_with("condor") { Scheduler::Condor } else { Scheduler::Slurm };
    let hint = match scheduler {
        Scheduler::Slurm => "On a cluster, load Slurm's module (`module load slurm`) or run this on a login node; on Debian or Ubuntu install the slurm-client package (or `./dev slurm start` for a one-node cluster on this machine)",
        Scheduler::Condor => "On a campus pool, run this on a submit node (or `module load htcondor`); elsewhere install HTCondor's client tools (the htcondor package from research.cs.wisc.edu/htcondor)",
    };
    ClusterError::ClientMissing { program: program.to_string(), scheduler, hint: hint.to_string() }
}
