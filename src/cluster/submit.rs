//! The one submission planner: `workbench submit` and the TUI's submit popup both turn their
//! choices into a [`SubmitPlan`] here, show or print its [`SubmitPlan::preview`] (the `--dry-run`
//! text), and hand it to [`submit`]. No second copy of the job-file logic exists.
use std::path::{Path, PathBuf};

use super::{
    condor, create_queued_run, end_queued_run, exec_system, node_local_prefix, parse_mem_mib, parse_time,
    run_folder_name, slurm, submit_job_file, write_job_record, ClusterConfig, ClusterError, Exec, JobRecord,
    JobSpec, Resources, Scheduler,
};
use crate::config::Settings;
use crate::runs::{now_rfc3339, RunStatus};
use crate::train::TrainSpec;

/// What the user asks the scheduler for, as typed (flags or the popup's fields); empty values
/// fall back to the `[cluster]` tables in config.toml.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SubmitRequest {
    /// `None`: `[cluster] scheduler`.
    pub scheduler: Option<Scheduler>,
    pub gpus: u32,
    /// `None`: `[cluster.slurm] cpus` / `[cluster.condor] cpus`.
    pub cpus: Option<u32>,
    /// `2h`, `90m`, `02:00:00`; `None`: `[cluster.slurm] time`.
    pub time: Option<String>,
    /// `16G`; `None`: the scheduler table's `mem`.
    pub mem: Option<String>,
    /// `None`: `[cluster.slurm] partition`, else the cluster's default.
    pub partition: Option<String>,
}

/// A submission resolved once from the request, the training parameters and config: plain
/// data, so it can travel to a worker thread.
#[derive(Debug, Clone, PartialEq)]
pub struct SubmitPlan {
    /// The training parameters the job runs.
    pub spec: TrainSpec,
    /// The job, for the folder a submission now would create (the real one is made by [`submit`]).
    pub job: JobSpec,
    /// The `[cluster]` settings the job file is written with.
    pub cluster: ClusterConfig,
    /// A warning to show before submitting (a runs folder the compute nodes may not see).
    pub warning: Option<String>,
    /// The command the job runs, for a command run (`workbench submit ... -- COMMAND`); `spec`
    /// then only names it.
    pub command: Option<crate::command::CommandRequest>,
}

impl SubmitPlan {
    /// The job file for the plan's run folder.
    pub fn job_file_text(&self) -> Result<String, ClusterError> {
        job_file_text(&self.job, &self.cluster)
    }

    /// Exactly what `workbench submit --dry-run` prints: the job file, and for HTCondor the
    /// wrapper script it runs. An error only when the plan was changed after [`plan`] checked it.
    pub fn preview(&self) -> Result<String, ClusterError> {
        let mut text = self.job_file_text()?;
        if self.job.scheduler == Scheduler::Condor {
            text.push_str(&format!("\n# {} (the job's executable):\n", condor::WRAPPER_FILE));
            text.push_str(&condor::wrapper(&self.job, &self.cluster.condor)?);
        }
        Ok(text)
    }
}

/// What a submission made: the run folder (its name is the run's key) and the job.
#[derive(Debug, Clone, PartialEq)]
pub struct Submitted {
    pub run_id: String,
    pub dir: PathBuf,
    pub job: JobRecord,
}

/// The scheduler to use: the request's, else `[cluster] scheduler`.
pub fn scheduler_of(request: &SubmitRequest, cfg: &ClusterConfig) -> Result<Scheduler, ClusterError> {
    match (request.scheduler, cfg.scheduler.as_deref()) {
        (Some(s), _) => Ok(s),
        (None, Some(s)) => s.parse(),
        (None, None) => Err(ClusterError::BadValue {
            flag: "--scheduler",
            value: String::new(),
            hint:
                "which scheduler? pass --scheduler slurm or --scheduler condor (or set [cluster] scheduler)"
                    .into(),
        }),
    }
}

/// Plan a submission of `spec` (whose dataset lives at `dataset_path`). Reads no file: it checks
/// the values, the runs folder's place and which binary the job runs, and writes the job file
/// once in memory, so a path or value the job file can't carry is refused here, before any
/// folder is made. A runs folder under a node-local path is an error with
/// `[cluster] refuse_node_local`, else the plan's warning.
pub fn plan(
    settings: &Settings,
    spec: &TrainSpec,
    dataset_path: &Path,
    request: &SubmitRequest,
) -> Result<SubmitPlan, ClusterError> {
    let cfg = &settings.cluster;
    let scheduler = scheduler_of(request, cfg)?;
    let resources = resources(cfg, scheduler, request)?;
    let mut warning = None;
    let needs_shared = scheduler == Scheduler::Slurm || cfg.condor.shared_filesystem;
    if needs_shared {
        if let Some(prefix) = node_local_prefix(&settings.runs_dir, cfg) {
            let err =
                ClusterError::NodeLocalRunsDir { dir: settings.runs_dir.clone(), prefix: prefix.to_string() };
            if cfg.refuse_node_local {
                return Err(err);
            }
            warning = Some(err.to_string());
        }
    }
    let binary = match &cfg.binary {
        Some(b) => b.clone(),
        None => std::env::current_exe().map_err(|source| ClusterError::Io {
            what: "can't tell where this workbench binary is (set [cluster] binary); reading",
            path: PathBuf::from("/proc/self/exe"),
            source,
        })?,
    };
    let run_dir = settings.runs_dir.join(run_folder_name(spec, scheduler, &now_rfc3339()));
    let job = JobSpec {
        scheduler,
        run_id: dir_name(&run_dir),
        run_dir,
        binary,
        config: settings.config_path.clone(),
        datasets_dir: settings.datasets_dir.clone(),
        runs_dir: settings.runs_dir.clone(),
        dataset_path: dataset_path.to_path_buf(),
        resources,
        command: false,
    };
    let plan = SubmitPlan { spec: spec.clone(), job, cluster: (**cfg).clone(), warning, command: None };
    plan.preview()?;
    Ok(plan)
}

/// Plan a submission of the user's own command: the job runs `workbench run --run-dir DIR`, the
/// same supervised command as on this machine (metrics, stop, and Slurm's time-limit USR1 passed
/// on to the command's process group). The command's folder (`cwd`) must be one the compute
/// nodes see: HTCondor without a shared filesystem is refused.
pub fn plan_command(
    settings: &Settings,
    command: &crate::command::CommandRequest,
    request: &SubmitRequest,
) -> Result<SubmitPlan, ClusterError> {
    let scheduler = scheduler_of(request, &settings.cluster)?;
    if scheduler == Scheduler::Condor && !settings.cluster.condor.shared_filesystem {
        return Err(ClusterError::BadValue {
            flag: "--scheduler",
            value: "condor".into(),
            hint: "a command runs in its own folder, which a job without a shared filesystem can't see; \
                   set [cluster.condor] shared_filesystem = true (or submit a built-in model)"
                .into(),
        });
    }
    let cwd_warning = node_local_prefix(&command.cwd, &settings.cluster).map(|prefix| {
        format!(
            "the command's folder {} is under {prefix}, which compute nodes may not see; start it from a shared folder",
            command.cwd.display()
        )
    });
    if let (Some(why), true) = (&cwd_warning, settings.cluster.refuse_node_local) {
        return Err(ClusterError::BadValue {
            flag: "the command's folder",
            value: String::new(),
            hint: why.clone(),
        });
    }
    let spec = TrainSpec { dataset: command.dataset.clone().unwrap_or_default(), ..TrainSpec::default() };
    let mut plan = plan(settings, &spec, &command.cwd, request)?;
    plan.job.command = true;
    let name = crate::command::launch::display_name(command);
    plan.job.run_dir = settings.runs_dir.join(command_folder_name(&spec.dataset, &name, scheduler));
    plan.job.run_id = dir_name(&plan.job.run_dir);
    plan.command = Some(command.clone());
    plan.warning = match (plan.warning.take(), cwd_warning) {
        (Some(a), Some(b)) => Some(format!("{a}; {b}")),
        (a, b) => a.or(b),
    };
    plan.preview()?;
    Ok(plan)
}

/// The folder name a command run submitted now gets (as [`crate::runs::folder_name`]).
fn command_folder_name(dataset: &str, name: &str, scheduler: Scheduler) -> String {
    let meta = crate::runs::RunMeta {
        started_at: now_rfc3339(),
        ..crate::runs::RunMeta::queued(
            crate::command::RunKind::Command,
            dataset.to_string(),
            name.to_string(),
            scheduler.as_str().to_string(),
            String::new(),
            TrainSpec::default(),
        )
    };
    crate::runs::folder_name(&meta)
}

/// Make the run folder of a plan: a queued train run, or a command run whose device the job's
/// scheduler decides (`CUDA_VISIBLE_DEVICES` is left to it).
fn create_plan_folder(plan: &SubmitPlan) -> Result<PathBuf, ClusterError> {
    let scheduler = plan.job.scheduler;
    let Some(command) = &plan.command else {
        return create_queued_run(&plan.job.runs_dir, &plan.spec, scheduler);
    };
    let gpus = plan.job.resources.gpus;
    let device = crate::command::launch::DevicePick {
        name: scheduler.as_str().to_string(),
        label: match gpus {
            0 => format!("{scheduler} job, CPU"),
            1 => format!("{scheduler} job, 1 GPU"),
            n => format!("{scheduler} job, {n} GPUs"),
        },
        // The scheduler sets CUDA_VISIBLE_DEVICES for the GPUs it gives; without any, none.
        visible: (gpus == 0).then(String::new),
    };
    crate::command::launch::create_command_run_on(&plan.job.runs_dir, command, Some(device))
        .map(|(_, dir)| dir)
        .map_err(|e| ClusterError::BadFile { path: plan.job.runs_dir.clone(), message: e.to_string() })
}

/// Carry out a plan: make the queued run folder, write the job file into it, submit it through
/// `exec`, and record the job in `job.toml`. A refused job leaves its folder marked failed with
/// the scheduler's reason, so the runs pane says why.
pub fn submit(plan: &SubmitPlan, exec: &mut Exec) -> Result<Submitted, ClusterError> {
    let scheduler = plan.job.scheduler;
    let dir = create_plan_folder(plan)?;
    let mut job = plan.job.clone();
    job.run_dir = dir.clone();
    job.run_id = dir_name(&dir);
    let job_file = dir.join(scheduler.job_file_name());
    let write = |path: PathBuf, text: String, executable: bool| -> Result<(), ClusterError> {
        crate::util::write_atomic(&path, text.as_bytes())
            .and_then(|()| if executable { make_executable(&path) } else { Ok(()) })
            .map_err(|source| ClusterError::Io { what: "could not write the job file", path, source })
    };
    let written = job_file_text(&job, &plan.cluster)
        .and_then(|text| write(job_file.clone(), text, scheduler == Scheduler::Slurm))
        .and_then(|()| {
            if scheduler == Scheduler::Condor {
                write(dir.join(condor::WRAPPER_FILE), condor::wrapper(&job, &plan.cluster.condor)?, true)
            } else {
                Ok(())
            }
        });
    let submitted = written.and_then(|()| {
        submit_job_file(scheduler, &job_file, job.resources.partition.as_deref(), job.resources.gpus, exec)
    });
    let job_id = match submitted {
        Ok(id) => id,
        Err(e) => {
            let _ = end_queued_run(&dir, RunStatus::Failed, &e.to_string());
            return Err(e);
        }
    };
    let record = JobRecord {
        scheduler,
        job_id,
        submitted_at: now_rfc3339(),
        job_file: scheduler.job_file_name().to_string(),
    };
    write_job_record(&dir, &record)?;
    Ok(Submitted { run_id: job.run_id, dir, job: record })
}

/// [`submit`] with the real client programs on PATH.
pub fn submit_system(plan: &SubmitPlan) -> Result<Submitted, ClusterError> {
    submit(plan, &mut exec_system())
}

fn job_file_text(job: &JobSpec, cfg: &ClusterConfig) -> Result<String, ClusterError> {
    match job.scheduler {
        Scheduler::Slurm => slurm::script(job, &cfg.slurm),
        Scheduler::Condor => condor::submit_description(job, &cfg.condor),
    }
}

/// The request first, then the scheduler's table in config.
fn resources(
    cfg: &ClusterConfig,
    scheduler: Scheduler,
    request: &SubmitRequest,
) -> Result<Resources, ClusterError> {
    let (time, mem, cpus) = match scheduler {
        Scheduler::Slurm => (cfg.slurm.time.as_deref(), cfg.slurm.mem.as_deref(), cfg.slurm.cpus),
        Scheduler::Condor => (None, cfg.condor.mem.as_deref(), cfg.condor.cpus),
    };
    let given = |v: &Option<String>| v.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(String::from);
    Ok(Resources {
        gpus: request.gpus,
        cpus: request.cpus.unwrap_or(cpus).max(1),
        time_s: given(&request.time).as_deref().or(time).map(parse_time).transpose()?,
        mem_mib: given(&request.mem).as_deref().or(mem).map(parse_mem_mib).transpose()?,
        partition: given(&request.partition).or_else(|| cfg.slurm.partition.clone()),
    })
}

fn dir_name(dir: &Path) -> String {
    dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
}

fn make_executable(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))
}
