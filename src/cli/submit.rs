//! `workbench submit`: hand a run to Slurm or HTCondor.
//!
//! The run folder is made at once (status `queued`), the job file written into it and submitted;
//! the job then runs `workbench train --run-dir DIR` on a compute node. `-- COMMAND` submits the
//! user's own command instead: the job runs `workbench run --run-dir DIR`. `--dry-run` prints the
//! job file and creates nothing.
use anyhow::{anyhow, bail};
use clap::Args;

use super::train::{build_spec, TrainArgs};
use crate::cluster::{self, submit::SubmitRequest, Scheduler};
use crate::config::Settings;
use crate::data::Catalog;

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
    /// Your own command and its arguments, after `--`, instead of a built-in model
    #[arg(last = true, value_name = "COMMAND")]
    pub command: Vec<String>,
}

/// Run `workbench submit`; prints the run id and the job id.
pub fn run(settings: &Settings, args: &SubmitArgs) -> anyhow::Result<i32> {
    let scheduler = args.scheduler.as_deref().map(str::parse::<Scheduler>).transpose()?;
    let request = SubmitRequest {
        scheduler,
        gpus: args.gpus,
        cpus: args.cpus,
        time: args.time.clone(),
        mem: args.mem.clone(),
        partition: args.partition.clone(),
    };
    if !args.command.is_empty() {
        return submit_command(settings, args, &request);
    }
    let catalog = Catalog::scan_settings(settings);
    if let Some(problem) = &catalog.problem {
        bail!("{problem}");
    }
    let spec = build_spec(settings, &args.train, &catalog)?;
    let entry = catalog.require(&spec.dataset)?;
    let summary =
        entry.summary.as_ref().map_err(|e| anyhow!("dataset {:?} can't be used: {e}", entry.name))?;
    spec.model.check_fits(summary).map_err(|why| anyhow!("{why}"))?;
    let plan = cluster::submit::plan(settings, &spec, &entry.source, &request)?;
    submit_plan(&plan, args.dry_run)
}

/// `workbench submit ... -- COMMAND`: the user's own command as a cluster job.
fn submit_command(settings: &Settings, args: &SubmitArgs, request: &SubmitRequest) -> anyhow::Result<i32> {
    if args.train != TrainArgs::default() {
        bail!("the train flags (--dataset, --model, --lr, ...) are for built-in models; a command after `--` takes its own arguments");
    }
    let command = crate::command::CommandRequest::typed(
        args.command.clone(),
        std::env::current_dir()?,
        "auto",
        settings.commands.stop_grace_s,
    );
    let path = std::env::var("PATH").unwrap_or_default();
    crate::command::launch::find_program(&command.argv[0], &command.cwd, &path)?;
    let plan = cluster::submit::plan_command(settings, &command, request)?;
    submit_plan(&plan, args.dry_run)
}

/// Print the plan's job file (`--dry-run`), or submit it and say what was made.
fn submit_plan(plan: &cluster::submit::SubmitPlan, dry_run: bool) -> anyhow::Result<i32> {
    if dry_run {
        print!("{}", plan.preview()?);
        return Ok(0);
    }
    if let Some(warning) = &plan.warning {
        eprintln!("warning: {warning}");
    }
    let done = cluster::submit::submit_system(plan)?;
    println!("submitted {} job {}", done.job.scheduler, done.job.job_id);
    println!("run {}", done.run_id);
    println!("run folder: {}", done.dir.display());
    Ok(0)
}
