//! `workbench train`: the engine without the TUI, for scripts, logs and cluster jobs.
//!
//! Three ways in, one run process (src/train/process.rs):
//! - `--dataset NAME` (and parameter flags): plan, make a queued folder, run it here, printing;
//! - `--run-dir DIR`: run the queued run in DIR (how a detached run process starts);
//! - `--resume RUN`: continue a stopped, interrupted or failed run from its last checkpoint.
//!
//! With `--detach`, the run is started as its own process and the command returns at once.
use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use anyhow::{anyhow, bail};
use clap::Args;

use super::progress::ProgressLine;
use crate::config::Settings;
use crate::data::Catalog;
use crate::device::{self, DeviceReport};
use crate::train::process::{run_in_folder, run_planned, take_lock, ProcessNote};
use crate::train::resume::resolve_run_dir;
use crate::train::{
    create_queued_run, plan, spawn_detached, EpochMetrics, Launcher, RunFolder, StopReason, TrainFlags,
    TrainMsg, TrainSpec,
};
use crate::util::{format_duration, format_rate};

/// Flags of `workbench train`; each parameter flag overrides the `[train]` table of config.toml.
#[derive(Debug, Args, Clone, Default, PartialEq)]
pub struct TrainArgs {
    /// Dataset name, as listed by `workbench datasets`
    #[arg(long)]
    pub dataset: Option<String>,
    #[command(flatten)]
    pub params: TrainFlags,
    /// Do not standardize features
    #[arg(long, conflicts_with = "standardize")]
    pub no_standardize: bool,
    /// Run the queued run in this folder (its run.toml says what to train)
    #[arg(long, value_name = "DIR", conflicts_with_all = ["dataset", "resume"])]
    pub run_dir: Option<PathBuf>,
    /// Continue a stopped, interrupted or failed run from its last checkpoint: its id or its folder
    #[arg(long, value_name = "RUN", conflicts_with = "dataset")]
    pub resume: Option<String>,
    /// Start the run as its own process, output to its folder's output.log, and return at once
    #[arg(long)]
    pub detach: bool,
    /// Print only the summary
    #[arg(long, short)]
    pub quiet: bool,
    #[command(flatten)]
    pub queue: super::queue::QueueFlags,
}

/// The run's settings: config defaults, then flags. Errors quote the bad value.
pub fn build_spec(settings: &Settings, args: &TrainArgs, catalog: &Catalog) -> anyhow::Result<TrainSpec> {
    let dataset = match args.dataset.clone().or_else(|| settings.train.dataset.clone()) {
        Some(name) => name,
        None => match catalog.entries.as_slice() {
            [only] => only.name.clone(),
            _ => bail!(
                "which dataset? pass --dataset NAME (found: {})",
                catalog.entries.iter().map(|e| e.name.as_str()).collect::<Vec<_>>().join(", ")
            ),
        },
    };
    let mut spec = TrainSpec::from_config(&dataset, &settings.train);
    args.params.apply(&mut spec)?;
    if args.no_standardize {
        spec.standardize = false;
    }
    spec.as_config().validate().map_err(|bad| {
        let flag = bad.key.trim_start_matches("train.").replace('_', "-");
        anyhow!("--{flag} {} is not valid: {}", bad.value, bad.hint)
    })?;
    Ok(spec)
}

/// Run `workbench train` and return the exit code: 0 finished, 1 failed or stopped, 130
/// interrupted.
pub fn run(settings: &Settings, args: &TrainArgs) -> anyhow::Result<i32> {
    let from_folder = args.run_dir.is_some() || args.resume.is_some();
    if from_folder && args.queue.queue {
        bail!("--queue makes a new run; --run-dir and --resume work on a run folder that exists");
    }
    if from_folder && (args.params != TrainFlags::default() || args.no_standardize) {
        bail!("--run-dir and --resume take the parameters from the run's run.toml; drop the parameter flags");
    }
    let interrupted = Arc::new(AtomicBool::new(false));
    // A run started with --run-dir, or by spawn_detached, is detached: a SIGHUP (its starter's
    // terminal closing) must not end it. In a terminal, SIGHUP interrupts as Ctrl-C does.
    let detached = args.run_dir.is_some() || std::env::var_os(crate::train::process::DETACHED_ENV).is_some();
    register_signals(&interrupted, !detached)?;
    let mut out = Printer { quiet: args.quiet, progress: ProgressLine::new(args.quiet), code: 1 };

    if let Some(run) = &args.resume {
        let dir = resolve_run_dir(&settings.runs_dir, run)?;
        if args.detach {
            return detach(settings, &dir, true);
        }
        let report = device::probe();
        run_in_folder(settings, &dir, true, &report, interrupted, &mut |note| out.note(note, &report))?;
        return Ok(out.code);
    }
    if let Some(dir) = &args.run_dir {
        let dir = std::path::absolute(dir).unwrap_or_else(|_| dir.clone());
        let report = device::probe();
        run_in_folder(settings, &dir, false, &report, interrupted, &mut |note| out.note(note, &report))?;
        return Ok(out.code);
    }

    let catalog = Catalog::scan_settings(settings);
    if let Some(problem) = &catalog.problem {
        bail!("{problem}");
    }
    let spec = build_spec(settings, args, &catalog)?;
    let report = device::probe();
    let planned = plan(settings, &spec, &catalog, &report)?;
    // Will it fit: a warning, not a refusal (the estimate leaves things out; see train::memory).
    if let Some(warning) = crate::train::memory::plan_fit(&planned).and_then(|fit| fit.warning()) {
        eprintln!("warning: {warning}");
    }
    let (_, dir) = create_queued_run(&settings.runs_dir, &spec, &planned.device.name)?;
    if args.queue.queue {
        let estimate = crate::train::memory::plan_fit(&planned).map(|fit| fit.estimate.total());
        return super::queue::enqueue(settings, &dir, &spec.device, &args.queue, &report, estimate);
    }
    if args.detach {
        return detach(settings, &dir, false);
    }
    let lock = take_lock(&dir)?;
    out.note(ProcessNote::Planned { plan: &planned, dir: &dir, resumed_from: None }, &report);
    run_planned(planned, RunFolder::Queued(dir), lock, interrupted, &mut |note| out.note(note, &report))?;
    Ok(out.code)
}

fn detach(settings: &Settings, dir: &std::path::Path, resume: bool) -> anyhow::Result<i32> {
    let pid = spawn_detached(dir, resume, &Launcher::current(settings)?)?;
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(
        stdout,
        "run {} started in process {pid}; its output goes to {}",
        dir.display(),
        dir.join(crate::runs::events::OUTPUT_FILE).display()
    );
    Ok(0)
}

/// SIGINT, SIGTERM and SIGUSR1 (and SIGHUP when `hangup_interrupts`) stop the run between
/// batches, checkpoint it and mark it interrupted; a second Ctrl-C exits at once. SIGUSR1 is the
/// cluster jobs' "time limit near, checkpoint now" (Slurm's `--signal=B:USR1@N`, forwarded by the
/// job script; HTCondor's wrapper on eviction). Without `hangup_interrupts`, SIGHUP is ignored.
fn register_signals(flag: &Arc<AtomicBool>, hangup_interrupts: bool) -> anyhow::Result<()> {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM, SIGUSR1};
    signal_hook::flag::register_conditional_shutdown(SIGINT, 130, flag.clone())?;
    for sig in [SIGINT, SIGTERM, SIGUSR1] {
        signal_hook::flag::register(sig, flag.clone())?;
    }
    let hup = if hangup_interrupts { flag.clone() } else { Arc::new(AtomicBool::new(false)) };
    signal_hook::flag::register(SIGHUP, hup)?;
    Ok(())
}

/// Output of `workbench train`: plain lines when stdout is not a terminal; on a terminal, a
/// progress line while data loads.
struct Printer {
    quiet: bool,
    progress: ProgressLine,
    /// The exit code the last message calls for.
    code: i32,
}

impl Printer {
    fn note(&mut self, note: ProcessNote<'_>, report: &DeviceReport) {
        match note {
            ProcessNote::Planned { plan, dir, resumed_from } => {
                let spec = &plan.spec;
                // The probe ran before the worker changed anything, so it read libtorch's default.
                let threads = match spec.threads {
                    0 => format!("{} CPU threads (libtorch's default)", report.cpu.torch_threads),
                    1 => "1 CPU thread".to_string(),
                    n => format!("{n} CPU threads"),
                };
                self.line(&format!(
                    "training {} on {} with {} ({}), {} epochs, {threads}",
                    spec.model, spec.dataset, plan.device.label, plan.device.why, spec.epochs
                ));
                if let Some(epoch) = resumed_from {
                    self.line(&format!("resuming {} after epoch {epoch}", dir.display()));
                }
            }
            ProcessNote::Msg(msg) => self.message(msg),
        }
    }

    fn message(&mut self, msg: &TrainMsg) {
        match msg {
            TrainMsg::Loading { phase, done, total, .. } => {
                self.progress.update("staging,", *phase, *done, *total)
            }
            TrainMsg::Started { run_dir, train_samples, val_samples, placement, .. } => {
                self.progress.clear();
                self.line(&format!(
                    "{train_samples} training and {val_samples} validation samples; {placement}; run folder {}",
                    run_dir.display()
                ));
            }
            TrainMsg::Epoch { metrics, .. } => self.epoch(metrics),
            TrainMsg::Finished { run_dir, last, .. } => {
                self.summary("finished", last.as_ref(), &run_dir.display().to_string());
                self.code = 0;
            }
            TrainMsg::Stopped { run_dir, reason, last, .. } => {
                let dir = run_dir.as_ref().map(|d| d.display().to_string()).unwrap_or_else(|| "none".into());
                let how = if *reason == StopReason::Interrupted { "interrupted" } else { "stopped" };
                self.summary(how, last.as_ref(), &dir);
                self.code = if *reason == StopReason::Interrupted { 130 } else { 1 };
            }
            TrainMsg::Failed { error, run_dir, kind, .. } => {
                self.progress.clear();
                if let Some(dir) = run_dir {
                    self.always(&format!("run folder: {}", dir.display()));
                }
                // Printed here and not returned: the run folder already says how it ended.
                let mut err = std::io::stderr().lock();
                let _ =
                    writeln!(err, "error: training failed ({}): {}", kind.as_str(), error.replace('\n', " "));
                self.code = 1;
            }
            TrainMsg::Steps { .. } | TrainMsg::Paused { .. } | TrainMsg::Resumed { .. } => {}
        }
    }

    fn line(&mut self, text: &str) {
        if !self.quiet {
            self.always(text);
        }
    }

    fn always(&mut self, text: &str) {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{text}");
        let _ = out.flush();
    }

    fn epoch(&mut self, m: &EpochMetrics) {
        self.line(&epoch_line(m));
    }

    fn summary(&mut self, how: &str, last: Option<&EpochMetrics>, dir: &str) {
        self.progress.clear();
        let figures = last.map(final_figures).unwrap_or_else(|| "no epoch completed".into());
        let time = last.map(|m| format_duration(m.elapsed_s)).unwrap_or_else(|| "0s".into());
        self.always(&format!(
            "{how} after {} epochs in {time}: {figures}",
            last.map(|m| m.epoch).unwrap_or(0)
        ));
        self.always(&format!("run folder: {dir}"));
    }
}

/// `epoch   3/100  train_loss 0.8123  val_loss 0.7991  val_acc 0.7333  12,345 samples/s  0.2s`
pub fn epoch_line(m: &EpochMetrics) -> String {
    let width = m.epochs.to_string().len();
    let val = match (m.val_loss, m.val_metric) {
        (Some(l), Some(v)) => format!("  val_loss {l:.4}  {} {v:.4}", m.metric.short()),
        _ => String::new(),
    };
    format!(
        "epoch {:>width$}/{}  train_loss {:.4}{val}  {} samples/s  {}",
        m.epoch,
        m.epochs,
        m.train_loss,
        format_rate(m.samples_per_s),
        format_duration(m.elapsed_s)
    )
}

fn final_figures(m: &EpochMetrics) -> String {
    match (m.val_loss, m.val_metric) {
        (Some(l), Some(v)) => {
            format!("train_loss {:.4}  val_loss {l:.4}  {} {v:.4}", m.train_loss, m.metric.short())
        }
        _ => format!("train_loss {:.4}", m.train_loss),
    }
}
