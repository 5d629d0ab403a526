//! The run commands: `runs` (list), `stop`/`pause`/`resume` (control a running run from any
//! shell) and `export` (CSV, SVG, PNG). RUN is a run id, a unique prefix of one, or a folder path.
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use clap::Args;
use serde_json::json;

use crate::config::Settings;
use crate::runs::export::{write_csv, write_png, write_svg, ExportRun};
use crate::runs::external::{find_external, find_external_dir, load_external_runs, ExternalRun};
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

/// Other tools' runs under the log folders; a folder that isn't there is named on stderr (a typo
/// in `--logdir` would otherwise just list nothing).
fn read_log_dirs(settings: &Settings) -> Vec<ExternalRun> {
    for dir in settings.log_dirs.iter().filter(|d| !d.is_dir()) {
        crate::eprintln_clean!(
            "warning: the log folder {} does not exist (from --logdir or [runs] extra_dirs); nothing is read from it",
            dir.display()
        );
    }
    load_external_runs(&settings.log_dirs)
}

/// `workbench runs [--json]`: every run, newest first, with its effective status; then the runs
/// other tools logged under `--logdir` / `[runs] extra_dirs`.
pub fn runs(settings: &Settings, json: bool) -> anyhow::Result<i32> {
    let runs = list_runs(&settings.runs_dir);
    let external = read_log_dirs(settings);
    let now = SystemTime::now();
    if json {
        let mut list: Vec<_> = runs.iter().map(|r| run_json(r, now)).collect();
        list.extend(external.iter().map(external_json));
        println!("{}", serde_json::to_string_pretty(&list)?);
        return Ok(0);
    }
    crate::println_clean!("runs in {}", settings.runs_dir.display());
    if runs.is_empty() {
        crate::println_clean!("  (none yet: `workbench train --dataset iris` makes one)");
    } else {
        print_runs(&runs, now);
    }
    print_external(settings, &external, now);
    Ok(0)
}

/// The other tools' runs: name, kind, tags, last step, last write.
fn print_external(settings: &Settings, external: &[ExternalRun], now: SystemTime) {
    for dir in &settings.log_dirs {
        let n = external.iter().filter(|r| r.dir.starts_with(dir)).count();
        println!();
        crate::println_clean!("logged by other tools in {} ({n} run(s))", dir.display());
    }
    if external.is_empty() {
        return;
    }
    let width = external.iter().map(|r| r.key.len()).max().unwrap_or(4).max(4);
    crate::println_clean!(
        "  {:<width$}  {:<11}  {:>5}  {:>10}  LAST WRITE",
        "NAME",
        "KIND",
        "TAGS",
        "LAST STEP"
    );
    for r in external {
        let step = r.last_step().map(|s| s.to_string()).unwrap_or_else(|| "-".into());
        let ago = r
            .last_write()
            .and_then(|t| now.duration_since(t).ok())
            .map(|d| format!("{} ago", format_duration(d.as_secs_f64())))
            .unwrap_or_else(|| "-".into());
        let problem = r.problem.as_ref().map(|p| format!("  (problem: {p})")).unwrap_or_default();
        crate::println_clean!(
            "  {:<width$}  {:<11}  {:>5}  {step:>10}  {ago}{problem}",
            r.key,
            r.kind_label(),
            r.scalars.len()
        );
    }
}

fn external_json(r: &ExternalRun) -> serde_json::Value {
    let last_write =
        r.last_write().and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok()).map(|d| d.as_secs_f64());
    let hparams: serde_json::Map<String, serde_json::Value> =
        r.hparams.iter().map(|(k, v)| (k.clone(), json!(v))).collect();
    json!({
        "id": r.key,
        "name": r.key,
        "dir": r.dir,
        "kind": r.kind_label(),
        "tags": r.scalars.len(),
        "tag_names": r.scalars.keys().collect::<Vec<_>>(),
        "points": r.points(),
        "last_step": r.last_step(),
        "last_write_unix_s": last_write,
        "hparams": hparams,
        "problem": r.problem,
    })
}

fn print_runs(runs: &[RunInfo], now: SystemTime) {
    let width = runs.iter().map(|r| r.id().len()).max().unwrap_or(2).max(2);
    crate::println_clean!(
        "  {:<width$}  {:<11}  {:<12}  {:<10}  {:<7}  {:<18}  {:<12}  DURATION",
        "ID",
        "STATUS",
        "DATASET",
        "MODEL",
        "DEVICE",
        "BEST",
        "EPOCHS"
    );
    for r in runs {
        let id = r.id();
        let rec = match &r.record {
            Ok(rec) => rec,
            Err(e) => {
                crate::println_clean!("  {id:<width$}  problem: {e}");
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
        let epochs = match &rec.meta.command {
            Some(_) => "command".to_string(),
            None => format!("{}/{} epochs", rec.epochs.len(), rec.meta.hyperparameters.epochs),
        };
        let duration = rec.duration_s(status, now).map(format_duration).unwrap_or_default();
        let reason = match (&rec.meta.reason, status) {
            (Some(reason), RunStatus::Failed) => format!("  ({reason})"),
            _ => String::new(),
        };
        crate::println_clean!(
            "  {id:<width$}  {:<11}  {:<12}  {:<10}  {:<7}  {best:<18}  {epochs:<12}  {duration}{reason}",
            status.as_str(),
            rec.meta.dataset,
            rec.meta.model,
            rec.meta.device
        );
        if let Some(command) = &rec.meta.command {
            println!("  {:<width$}  $ {}", "", command.short_line(100));
        }
    }
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
    let mut value = json!({
        "id": r.id(),
        "kind": "workbench",
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
    });
    add_command_fields(&mut value, rec);
    value
}

/// A command run's extra fields: `run_kind`, its `[command]` table and its tags.
fn add_command_fields(value: &mut serde_json::Value, rec: &crate::runs::RunRecord) {
    let Some(object) = value.as_object_mut() else { return };
    object.insert("run_kind".into(), json!(rec.meta.kind));
    if let Some(command) = &rec.meta.command {
        object.insert("command".into(), json!(command));
        object.insert("command_line".into(), json!(command.command_line()));
        let series = crate::command::read_command_series(&rec.dir, &rec.meta);
        object.insert("tag_names".into(), json!(series.keys().collect::<Vec<_>>()));
        object.insert("points".into(), json!(series.values().map(Vec::len).sum::<usize>()));
    }
}

/// `workbench stop|pause|resume RUN`: one line saying what was done.
/// `workbench stop RUN`: a run waiting in the queue leaves it (`stopped`); any other run is
/// asked to stop.
pub fn stop(settings: &Settings, run: &str) -> anyhow::Result<i32> {
    let dir = resolve_run(&settings.runs_dir, run)?;
    let meta = crate::runs::read_meta(&dir)?;
    if meta.status == RunStatus::Queued && meta.queue.is_some() {
        crate::queue::record::stop_queued(&dir)?;
        crate::println_clean!("took {} out of the queue (stopped)", crate::runs::folder_id(&dir));
        return Ok(0);
    }
    control(settings, run, ControlCommand::Stop)
}

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
            crate::println_clean!("cancelled {id}: {} job {}", job.scheduler.as_str(), job.job_id);
            return Ok(0);
        }
    }
    if let ControlCommand::Move { device, threads } = &command {
        if record.meta.command.is_some() {
            return Err(crate::runs::RunsError::MoveCommand { run: id }.into());
        }
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
        (ControlCommand::Stop, _) if record.meta.command.is_some() => format!(
            "asked {id} to stop: SIGINT to its process group, then SIGTERM and SIGKILL if it is still there"
        ),
        (ControlCommand::Stop, _) => format!("asked {id} to stop; it stops after the batch in progress"),
        (ControlCommand::Pause, RunStatus::Paused) => format!("{id} is already paused"),
        (ControlCommand::Pause, _) => format!("asked {id} to pause; `workbench resume {id}` goes on"),
        (ControlCommand::Resume, RunStatus::Running) => format!("{id} is running already (not paused)"),
        (ControlCommand::Resume, _) => format!("asked {id} to resume"),
    };
    crate::println_clean!("{line}");
    Ok(0)
}

/// The run `arg` names: an external run's exact name first (the workbench's own run ids look
/// nothing like `exp-a/version_0`), then the workbench's own run, then an external run's unique
/// prefix or folder. When none matches, the error lists the runs there are.
fn export_run(settings: &Settings, external: &[ExternalRun], arg: &str) -> anyhow::Result<ExportRun> {
    if let Some(run) = external.iter().find(|r| r.key == arg.trim_end_matches('/')) {
        return Ok(ExportRun::external(run));
    }
    let own_error = match resolve_run(&settings.runs_dir, arg) {
        Ok(dir) => return Ok(ExportRun::load(&dir)?),
        Err(e) => e,
    };
    let found = find_external(external, arg).or_else(|| find_external_dir(external, Path::new(arg)));
    if let Some(run) = found {
        return Ok(ExportRun::external(run));
    }
    if settings.log_dirs.is_empty() {
        return Err(own_error.into());
    }
    let mut names: Vec<String> = list_runs(&settings.runs_dir).iter().map(|r| r.id()).collect();
    names.extend(external.iter().map(|r| r.key.clone()));
    let list = if names.is_empty() { "none".to_string() } else { names.join(", ") };
    let dirs: Vec<String> = settings.log_dirs.iter().map(|d| d.display().to_string()).collect();
    anyhow::bail!(
        "no run `{arg}` in {} or the log folder(s) {}; the runs there are: {list}",
        settings.runs_dir.display(),
        dirs.join(", ")
    )
}

/// `workbench export RUN... --csv/--svg/--png FILE`: one line per file written.
pub fn export(settings: &Settings, args: &ExportArgs) -> anyhow::Result<i32> {
    if args.csv.is_none() && args.svg.is_none() && args.png.is_none() {
        anyhow::bail!("nothing to write: give --csv FILE, --svg FILE or --png FILE (or several)");
    }
    let external = read_log_dirs(settings);
    let mut runs = Vec::new();
    for arg in &args.runs {
        runs.push(export_run(settings, &external, arg)?);
    }
    let size = (args.width, args.height);
    if let Some(path) = &args.csv {
        let rows = write_csv(&runs, path)?;
        crate::println_clean!("wrote {rows} rows of {} run(s) to {}", runs.len(), path.display());
    }
    if let Some(path) = &args.svg {
        write_svg(&runs, path, size)?;
        crate::println_clean!("drew {} run(s) to {}", runs.len(), path.display());
    }
    if let Some(path) = &args.png {
        write_png(&runs, path, size)?;
        crate::println_clean!("drew {} run(s) to {} ({}×{})", runs.len(), path.display(), size.0, size.1);
    }
    Ok(0)
}
