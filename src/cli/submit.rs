//! `workbench submit`: hand a run to Slurm or HTCondor.
//!
//! The run folder is made at once (status `queued`), the job file written into it and submitted;
//! the job then runs `workbench train --run-dir DIR` on a compute node. `--dry-run` prints the
//! job file and creates nothing.
use std::path::PathBuf;

use anyhow::{anyhow, bail};
use clap::Args;

use super::train::{build_spec, TrainArgs};
use crate::cluster::{
    self, condor, parse_mem_mib, parse_time, slurm, ClusterError, JobRecord, JobSpec, Resources, Scheduler,
};
use crate::config::Settings;
use crate::data::Catalog;
use crate::runs::{now_rfc3339, RunStatus};

/// Flags of `workbench submit`: the train flags, then what to ask the scheduler for.
#[derive(Debug, Args, Clone, Default)]
pub struct SubmitArgs {
    /// slurm or condor (default: [cluster] scheduler in config.toml)
    #[arg(long)]
    pub scheduler: Option<String>,
    /// GPUs for the job
    #[arg(long, default_value_t = 0)]
    pub gpus: u32,
    /// CPUs for the job (default from [cluster.slurm] / [cluster.condor])
    #[arg(long)]
    pub cpus: Option<u32>,
    /// Wall-clock limit: 2h, 90m, 1h30m or Slurm's 02:00:00
    #[arg(long)]
    pub time: Option<String>,
    /// Memory: 16G, 512M
    #[arg(long)]
    pub mem: Option<String>,
    /// Slurm partition (default: [cluster.slurm] partition, else the cluster's default)
    #[arg(long)]
    pub partition: Option<String>,
    /// Print the job file; create and submit nothing
    #[arg(long)]
    pub dry_run: bool,
    #[command(flatten)]
    pub train: TrainArgs,
}

/// Run `workbench submit`; prints the run id and the job id.
pub fn run(settings: &Settings, args: &SubmitArgs) -> anyhow::Result<i32> {
    let cfg = &settings.cluster;
    let scheduler: Scheduler = match args.scheduler.as_deref().or(cfg.scheduler.as_deref()) {
        Some(s) => s.parse()?,
        None => bail!(
            "which scheduler? pass --scheduler slurm or --scheduler condor (or set [cluster] scheduler)"
        ),
    };
    let catalog = Catalog::scan_settings(settings);
    if let Some(problem) = &catalog.problem {
        bail!("{problem}");
    }
    let spec = build_spec(settings, &args.train, &catalog)?;
    let entry = catalog.require(&spec.dataset)?;
    let summary =
        entry.summary.as_ref().map_err(|e| anyhow!("dataset {:?} can't be used: {e}", entry.name))?;
    spec.model.check_fits(summary).map_err(|why| anyhow!("{why}"))?;

    let resources = resources(settings, scheduler, args)?;
    let needs_shared = scheduler == Scheduler::Slurm || cfg.condor.shared_filesystem;
    if needs_shared {
        if let Some(prefix) = cluster::node_local_prefix(&settings.runs_dir, cfg) {
            let err =
                ClusterError::NodeLocalRunsDir { dir: settings.runs_dir.clone(), prefix: prefix.to_string() };
            if cfg.refuse_node_local {
                return Err(err.into());
            }
            eprintln!("warning: {err}");
        }
    }
    let binary = match &cfg.binary {
        Some(b) => b.clone(),
        None => std::env::current_exe()
            .map_err(|e| anyhow!("can't tell where this workbench binary is ({e}); set [cluster] binary"))?,
    };
    let name = cluster::run_folder_name(&spec, scheduler, &now_rfc3339());
    let planned = cluster::free_run_dir(&settings.runs_dir, &name);
    let mut job = JobSpec {
        scheduler,
        run_id: String::new(),
        run_dir: planned,
        binary,
        config: settings.config_path.clone(),
        datasets_dir: settings.datasets_dir.clone(),
        runs_dir: settings.runs_dir.clone(),
        dataset_path: entry.source.clone(),
        resources,
    };
    job.run_id = dir_name(&job.run_dir);

    if args.dry_run {
        print!("{}", job_file_text(&job, settings));
        if scheduler == Scheduler::Condor {
            println!("\n# {} (the job's executable):", condor::WRAPPER_FILE);
            print!("{}", condor::wrapper(&job, &cfg.condor));
        }
        return Ok(0);
    }

    let dir = cluster::create_queued_run(&settings.runs_dir, &spec, scheduler)?;
    job.run_dir = dir.clone();
    job.run_id = dir_name(&dir);
    let job_file = dir.join(scheduler.job_file_name());
    let write = |path: PathBuf, text: String, executable: bool| -> Result<(), ClusterError> {
        crate::util::write_atomic(&path, text.as_bytes())
            .and_then(|()| if executable { make_executable(&path) } else { Ok(()) })
            .map_err(|source| ClusterError::Io { what: "could not write the job file", path, source })
    };
    write(job_file.clone(), job_file_text(&job, settings), scheduler == Scheduler::Slurm)?;
    if scheduler == Scheduler::Condor {
        write(dir.join(condor::WRAPPER_FILE), condor::wrapper(&job, &cfg.condor), true)?;
    }
    let submitted = cluster::submit_job_file(
        scheduler,
        &job_file,
        job.resources.partition.as_deref(),
        job.resources.gpus,
        &mut cluster::exec_system(),
    );
    let job_id = match submitted {
        Ok(id) => id,
        Err(e) => {
            // The folder stays, marked failed with the scheduler's reason, so the runs pane says why.
            let _ = cluster::end_queued_run(&dir, RunStatus::Failed, &e.to_string());
            return Err(e.into());
        }
    };
    cluster::write_job_record(
        &dir,
        &JobRecord {
            scheduler,
            job_id: job_id.clone(),
            submitted_at: now_rfc3339(),
            job_file: scheduler.job_file_name().to_string(),
        },
    )?;
    println!("submitted {} job {job_id}", scheduler);
    println!("run {}", job.run_id);
    println!("run folder: {}", dir.display());
    Ok(0)
}

fn job_file_text(job: &JobSpec, settings: &Settings) -> String {
    match job.scheduler {
        Scheduler::Slurm => slurm::script(job, &settings.cluster.slurm),
        Scheduler::Condor => condor::submit_description(job, &settings.cluster.condor),
    }
}

/// Flags first, then the scheduler's table in config.
fn resources(
    settings: &Settings,
    scheduler: Scheduler,
    args: &SubmitArgs,
) -> Result<Resources, ClusterError> {
    let cfg = &settings.cluster;
    let (time, mem, cpus) = match scheduler {
        Scheduler::Slurm => (cfg.slurm.time.as_deref(), cfg.slurm.mem.as_deref(), cfg.slurm.cpus),
        Scheduler::Condor => (None, cfg.condor.mem.as_deref(), cfg.condor.cpus),
    };
    Ok(Resources {
        gpus: args.gpus,
        cpus: args.cpus.unwrap_or(cpus).max(1),
        time_s: args.time.as_deref().or(time).map(parse_time).transpose()?,
        mem_mib: args.mem.as_deref().or(mem).map(parse_mem_mib).transpose()?,
        partition: args.partition.clone().or_else(|| cfg.slurm.partition.clone()),
    })
}

fn dir_name(dir: &std::path::Path) -> String {
    dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
}

fn make_executable(path: &std::path::Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))
}
