//! The run commands: `runs` (list), `stop`/`pause`/`resume` (control a running run from any
//! shell) and `export` (CSV, SVG, PNG). RUN is a run id, a unique prefix of one, or a folder path.
use std::path::PathBuf;
use std::time::SystemTime;

use clap::Args;
use serde_json::json;

use crate::config::Settings;
use crate::runs::export::{write_csv, write_png, write_svg, ExportRun};
use crate::runs::{list_runs, load_run, resolve_run, send_control, ControlCommand, RunInfo, RunStatus};
use crate::util::format_duration;

/// `workbench export RUN... --csv FILE --svg FILE --png FILE`
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Runs to export: ids (folder names under the runs folder), unique prefixes, or folder paths
    #[arg(required = true, value_name = "RUN")]
    pub runs: Vec<String>,
    /// Write every metric of every run, long format: run,epoch,step,wall_s,metric,value
    #[arg(long, value_name = "FILE")]
    pub csv: Option<PathBuf>,
    /// Draw the overlaid loss curves as SVG
    #[arg(long, value_name = "FILE")]
    pub svg: Option<PathBuf>,
    /// Draw the overlaid loss curves as PNG
    #[arg(long, value_name = "FILE")]
    pub png: Option<PathBuf>,
    /// Width of the SVG or PNG, in pixels
    #[arg(long, default_value_t = 1000)]
    pub width: u32,
    /// Height of the SVG or PNG, in pixels
    #[arg(long, default_value_t = 600)]
    pub height: u32,
}

/// `workbench runs [--json]`: every run, newest first, with its effective status.
pub fn runs(settings: &Settings, json: bool) -> anyhow::Result<i32> {
    let runs = list_runs(&settings.runs_dir);
    let now = SystemTime::now();
    if json {
        let list: Vec<_> = runs.iter().map(|r| run_json(r, now)).collect();
        println!("{}", serde_json::to_string_pretty(&list)?);
        return Ok(0);
    }
    println!("runs in {}", settings.runs_dir.display());
    if runs.is_empty() {
        println!("  (none yet: `workbench train --dataset iris` makes one)");
        return Ok(0);
    }
    let width = runs.iter().map(|r| r.id().len()).max().unwrap_or(2).max(2);
    println!(
        "  {:<width$}  {:<11}  {:<12}  {:<10}  {:<7}  {:<18}  {:<12}  DURATION",
        "ID", "STATUS", "DATASET", "MODEL", "DEVICE", "BEST", "EPOCHS"
    );
    for r in &runs {
        let id = r.id();
        let rec = match &r.record {
            Ok(rec) => rec,
            Err(e) => {
                println!("  {id:<width$}  problem: {e}");
                continue;
            }
        };
        let status = r.effective_status().unwrap_or(rec.meta.status);
        let best = rec
            .best_metric()
            .map(|(v, epoch)| {
                let name = if rec.metric() == "accuracy" { "val_acc" } else { "val_mse" };
                format!("{name} {v:.4} @{epoch}")
            })
            .unwrap_or_default();
        let epochs = format!("{}/{} epochs", rec.epochs.len(), rec.meta.hyperparameters.epochs);
        let duration = rec.duration_s(status, now).map(format_duration).unwrap_or_default();
        let reason = match (&rec.meta.reason, status) {
            (Some(reason), RunStatus::Failed) => format!("  ({reason})"),
            _ => String::new(),
        };
        println!(
            "  {id:<width$}  {:<11}  {:<12}  {:<10}  {:<7}  {best:<18}  {epochs:<12}  {duration}{reason}",
            status.as_str(),
            rec.meta.dataset,
            rec.meta.model,
            rec.meta.device
        );
    }
    Ok(0)
}

fn run_json(r: &RunInfo, now: SystemTime) -> serde_json::Value {
    let rec = match &r.record {
        Ok(rec) => rec,
        Err(e) => return json!({ "id": r.id(), "dir": r.dir, "problem": e.to_string() }),
    };
    let status = r.effective_status().unwrap_or(rec.meta.status);
    let best = rec
        .best_metric()
        .map(|(value, epoch)| json!({ "metric": rec.metric(), "value": value, "epoch": epoch }));
    json!({
        "id": r.id(),
        "dir": r.dir,
        "status": status.as_str(),
        "recorded_status": rec.meta.status.as_str(),
        "reason": rec.meta.reason,
        "dataset": rec.meta.dataset,
        "model": rec.meta.model,
        "device": rec.meta.device,
        "host": rec.meta.host,
        "started_at": rec.meta.started_at,
        "finished_at": rec.meta.finished_at,
        "epochs_completed": rec.epochs.len(),
        "epochs_total": rec.meta.hyperparameters.epochs,
        "best": best,
        "duration_s": rec.duration_s(status, now),
        "final": rec.meta.final_metrics,
    })
}

/// `workbench stop|pause|resume RUN`: one line saying what was done.
pub fn control(settings: &Settings, run: &str, command: ControlCommand) -> anyhow::Result<i32> {
    let dir = resolve_run(&settings.runs_dir, run)?;
    let record = load_run(&dir)?;
    let before = crate::runs::liveness::effective_status(&dir, &record.meta);
    let id = record.id();
    // A cluster job is cancelled through its scheduler (its run then records how it ended).
    if command == ControlCommand::Stop
        && matches!(before, RunStatus::Queued | RunStatus::Running | RunStatus::Paused)
    {
        if let Some(job) = crate::cluster::job_of(&dir)? {
            crate::cluster::cancel(&dir)?;
            println!("cancelled {id}: {} job {}", job.scheduler.as_str(), job.job_id);
            return Ok(0);
        }
    }
    if let ControlCommand::Move { device, threads } = &command {
        if matches!(before, RunStatus::Running | RunStatus::Paused) {
            // The run process resolves the device again; asking here names a missing GPU at once.
            crate::train::process::move_target(device, *threads)?;
        }
    }
    send_control(&dir, command.clone())?;
    let line = match (command, before) {
        (ControlCommand::Move { device, .. }, _) => format!(
            "asked {id} to move to {device}; it checkpoints after the batch in progress and goes on there \
             (run.toml's device_switches records it)"
        ),
        (ControlCommand::Stop, _) => format!("asked {id} to stop; it stops after the batch in progress"),
        (ControlCommand::Pause, RunStatus::Paused) => format!("{id} is already paused"),
        (ControlCommand::Pause, _) => format!("asked {id} to pause; `workbench resume {id}` goes on"),
        (ControlCommand::Resume, RunStatus::Running) => format!("{id} is running already (not paused)"),
        (ControlCommand::Resume, _) => format!("asked {id} to resume"),
    };
    println!("{line}");
    Ok(0)
}

/// `workbench export RUN... --csv/--svg/--png FILE`: one line per file written.
pub fn export(settings: &Settings, args: &ExportArgs) -> anyhow::Result<i32> {
    if args.csv.is_none() && args.svg.is_none() && args.png.is_none() {
        anyhow::bail!("nothing to write: give --csv FILE, --svg FILE or --png FILE (or several)");
    }
    let mut runs = Vec::new();
    for arg in &args.runs {
        runs.push(ExportRun::load(&resolve_run(&settings.runs_dir, arg)?)?);
    }
    let size = (args.width, args.height);
    if let Some(path) = &args.csv {
        let rows = write_csv(&runs, path)?;
        println!("wrote {rows} rows of {} run(s) to {}", runs.len(), path.display());
    }
    if let Some(path) = &args.svg {
        write_svg(&runs, path, size)?;
        println!("drew {} run(s) to {}", runs.len(), path.display());
    }
    if let Some(path) = &args.png {
        write_png(&runs, path, size)?;
        println!("drew {} run(s) to {} ({}×{})", runs.len(), path.display(), size.0, size.1);
    }
    Ok(0)
}
