//! `workbench train`: the engine without the TUI, for scripts, logs and cluster jobs.
use std::io::Write;
use std::sync::atomic::AtomicBool;
use std::sync::{mpsc, Arc};

use anyhow::{anyhow, bail, Context};
use clap::Args;

use super::progress::ProgressLine;
use crate::config::{validate_train, Settings};
use crate::data::Catalog;
use crate::device::{self, DeviceChoice};
use crate::train::{
    spawn_run, EpochMetrics, ModelKind, OptimizerKind, RunControl, RunRequest, StopReason, TrainMsg,
    TrainSpec,
};
use crate::util::{format_duration, format_rate};

/// Flags of `workbench train`; each overrides the `[train]` table of config.toml.
#[derive(Debug, Args, Clone, Default)]
pub struct TrainArgs {
    /// Dataset name, as listed by `workbench datasets`
    #[arg(long)]
    pub dataset: Option<String>,
    /// adaline, adaline-autograd, logreg, mlp, linreg or lenet5
    #[arg(long, value_parser = parse_model)]
    pub model: Option<ModelKind>,
    /// auto, cpu, cuda or cuda:N
    #[arg(long)]
    pub device: Option<String>,
    #[arg(long)]
    pub epochs: Option<u32>,
    #[arg(long)]
    pub batch_size: Option<u32>,
    /// Learning rate
    #[arg(long, allow_negative_numbers = true)]
    pub lr: Option<f64>,
    /// sgd or adam
    #[arg(long, value_parser = parse_optimizer)]
    pub optimizer: Option<OptimizerKind>,
    /// Momentum for sgd
    #[arg(long, allow_negative_numbers = true)]
    pub momentum: Option<f64>,
    #[arg(long)]
    pub seed: Option<u64>,
    /// Fraction of rows held out for validation
    #[arg(long, allow_negative_numbers = true)]
    pub val_fraction: Option<f64>,
    /// Hidden layer sizes for mlp, comma-separated (e.g. 32,16)
    #[arg(long, value_parser = parse_hidden)]
    pub hidden: Option<HiddenSizes>,
    /// Standardize features with training statistics (default from config)
    #[arg(long, conflicts_with = "no_standardize")]
    pub standardize: bool,
    /// Do not standardize features
    #[arg(long)]
    pub no_standardize: bool,
    /// libtorch's CPU threads (0: one per core). 1 is steadier on a machine shared with other jobs
    #[arg(long)]
    pub threads: Option<u32>,
    /// Print only the summary
    #[arg(long, short)]
    pub quiet: bool,
}

fn parse_model(s: &str) -> Result<ModelKind, String> {
    s.parse()
}

fn parse_optimizer(s: &str) -> Result<OptimizerKind, String> {
    s.parse()
}

/// `--hidden 32,16`: one flag value holding every layer size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HiddenSizes(pub Vec<u32>);

fn parse_hidden(s: &str) -> Result<HiddenSizes, String> {
    s.split(',')
        .filter(|p| !p.trim().is_empty())
        .map(|p| p.trim().parse::<u32>().map_err(|_| format!("{p:?} is not a layer size; use e.g. 32,16")))
        .collect::<Result<Vec<u32>, String>>()
        .map(HiddenSizes)
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
    if let Some(v) = args.model {
        spec.model = v;
    }
    if let Some(v) = &args.device {
        spec.device = v.clone();
    }
    macro_rules! take {
        ($($field:ident),*) => { $( if let Some(v) = args.$field.clone() { spec.$field = v; } )* };
    }
    take!(epochs, batch_size, lr, optimizer, momentum, seed, val_fraction, threads);
    if let Some(h) = &args.hidden {
        spec.hidden = h.0.clone();
    }
    if args.standardize {
        spec.standardize = true;
    }
    if args.no_standardize {
        spec.standardize = false;
    }
    validate_train(&spec.as_config()).map_err(|(key, value, hint)| {
        let flag = key.trim_start_matches("train.").replace('_', "-");
        anyhow!("--{flag} {value} is not valid: {hint}")
    })?;
    Ok(spec)
}

/// Run `workbench train` and return the exit code: 0 finished, 1 failed, 130 interrupted.
pub fn run(settings: &Settings, args: &TrainArgs) -> anyhow::Result<i32> {
    let catalog = Catalog::scan_settings(settings);
    if let Some(problem) = &catalog.problem {
        bail!("{problem}");
    }
    let spec = build_spec(settings, args, &catalog)?;
    let entry = catalog.require(&spec.dataset)?.clone();
    let summary =
        entry.summary.as_ref().map_err(|e| anyhow!("dataset {:?} can't be used: {e}", entry.name))?;
    spec.model.check_fits(summary).map_err(|why| anyhow!("{why}"))?;

    let report = device::probe();
    let choice: DeviceChoice = spec.device.parse().map_err(|e| anyhow!("--device: {e}"))?;
    let resolved = device::resolve(choice, &report)?;
    let device_budget = device::data_budget(&report, &resolved);

    let interrupted = Arc::new(AtomicBool::new(false));
    register_signals(&interrupted)?;
    let control = RunControl::with_signal_flag(interrupted);
    let request = RunRequest {
        spec: spec.clone(),
        entry,
        device: resolved.clone(),
        device_budget,
        runs_dir: settings.runs_dir.clone(),
        cache_dir: settings.cache_dir.clone(),
        images: settings.images.clone(),
    };
    let (tx, rx) = mpsc::channel();
    let handle = spawn_run(request, control, move |msg| tx.send(msg).is_ok())
        .context("could not start the training thread")?;

    let mut out = Printer { quiet: args.quiet, progress: ProgressLine::new(args.quiet) };
    // The probe ran before the worker changed anything, so it read libtorch's default.
    let threads = match spec.threads {
        0 => format!("{} CPU threads (libtorch's default)", report.cpu.torch_threads),
        1 => "1 CPU thread".to_string(),
        n => format!("{n} CPU threads"),
    };
    out.line(&format!(
        "training {} on {} with {} ({}), {} epochs, {threads}",
        spec.model, spec.dataset, resolved.label, resolved.why, spec.epochs
    ));
    let mut code = 1;
    for msg in rx.iter() {
        match msg {
            TrainMsg::Loading { phase, done, total, .. } => {
                out.progress.update("staging,", phase, done, total)
            }
            TrainMsg::Started { run_dir, train_samples, val_samples, placement, .. } => {
                out.progress.clear();
                out.line(&format!(
                    "{train_samples} training and {val_samples} validation samples; {placement}; run folder {}",
                    run_dir.display()
                ));
            }
            TrainMsg::Epoch { metrics, .. } => out.epoch(&metrics),
            TrainMsg::Finished { run_dir, last, .. } => {
                out.summary("finished", last.as_ref(), &run_dir.display().to_string());
                code = 0;
            }
            TrainMsg::Stopped { run_dir, reason, last, .. } => {
                let dir = run_dir.map(|d| d.display().to_string()).unwrap_or_else(|| "none".into());
                out.summary("interrupted", last.as_ref(), &dir);
                code = if reason == StopReason::Interrupted { 130 } else { 1 };
            }
            TrainMsg::Failed { error, run_dir, .. } => {
                out.progress.clear();
                if let Some(dir) = run_dir {
                    out.always(&format!("run folder: {}", dir.display()));
                }
                handle.join();
                bail!("training failed: {error}");
            }
            TrainMsg::Steps { .. } | TrainMsg::Paused { .. } | TrainMsg::Resumed { .. } => {}
        }
    }
    handle.join();
    Ok(code)
}

/// SIGINT, SIGTERM, SIGHUP and SIGUSR1 stop the run between batches and mark it interrupted; a
/// second Ctrl-C exits at once. SIGUSR1 is the cluster jobs' "time limit near, checkpoint now"
/// (Slurm's `--signal=B:USR1@N`, forwarded by the job script; HTCondor's wrapper on eviction).
fn register_signals(flag: &Arc<AtomicBool>) -> anyhow::Result<()> {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM, SIGUSR1};
    signal_hook::flag::register_conditional_shutdown(SIGINT, 130, flag.clone())?;
    for sig in [SIGINT, SIGTERM, SIGHUP, SIGUSR1] {
        signal_hook::flag::register(sig, flag.clone())?;
    }
    Ok(())
}

/// Output of `workbench train`: plain lines when stdout is not a terminal; on a terminal, a
/// progress line while data loads.
struct Printer {
    quiet: bool,
    progress: ProgressLine,
}

impl Printer {
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
