//! `workbench race`: the same experiment on the CPU and on a GPU (or, `--against cpu`, on two CPU
//! thread counts) side by side: a line a second with each side's samples/s and ETA and the
//! speed-up, until both end. Ctrl-C leaves both runs going, as closing the TUI does.
use std::io::Write;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::bail;
use clap::Args;

use super::train::{build_spec, TrainArgs};
use crate::config::Settings;
use crate::data::Catalog;
use crate::runs::{liveness::effective_status, load_run, LiveState, RunStatus};
use crate::train::race::{start_race, Challenger};
use crate::train::{Launcher, TrainFlags};
use crate::util::{format_duration, format_rate};

/// Flags of `workbench race`: the experiment as `workbench train` takes it, and what to race.
#[derive(Debug, Args, Clone, Default)]
pub struct RaceArgs {
    /// Dataset name, as listed by `workbench datasets`
    #[arg(long)]
    pub dataset: Option<String>,
    #[command(flatten)]
    pub params: TrainFlags,
    /// Do not standardize features
    #[arg(long, conflicts_with = "standardize")]
    pub no_standardize: bool,
    /// The GPU to race the CPU on (cuda:N)
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub gpu: usize,
    /// `cpu`: race a second CPU run (other threads) instead of a GPU, e.g. on a machine without one
    #[arg(long, value_name = "cpu")]
    pub against: Option<String>,
    /// With --against cpu: the second run's CPU threads (default: 2, or 1 when the first has 2)
    #[arg(long, value_name = "N")]
    pub against_threads: Option<u32>,
}

/// Run `workbench race`; 0 when both runs finished.
pub fn run(settings: &Settings, args: &RaceArgs) -> anyhow::Result<i32> {
    if args.params.device.is_some() {
        bail!("a race picks its devices (the CPU and --gpu N, or --against cpu); drop --device");
    }
    let catalog = Catalog::scan_settings(settings);
    if let Some(problem) = &catalog.problem {
        bail!("{problem}");
    }
    let train_args = TrainArgs {
        dataset: args.dataset.clone(),
        params: args.params.clone(),
        no_standardize: args.no_standardize,
        ..TrainArgs::default()
    };
    let spec = build_spec(settings, &train_args, &catalog)?;
    let challenger = match args.against.as_deref() {
        None | Some("gpu") => Challenger::Gpu(args.gpu),
        Some("cpu") => {
            let threads = args.against_threads.unwrap_or(if spec.threads == 2 { 1 } else { 2 });
            if threads == 0 || threads > 1024 {
                bail!("--against-threads {threads} is not valid: 1 to 1024");
            }
            Challenger::Cpu { threads }
        }
        Some(other) => bail!("--against {other} is not valid: `cpu` (or `gpu`, the default)"),
    };
    let report = crate::device::probe();
    let race = start_race(settings, &spec, challenger, &catalog, &report, &Launcher::current(settings)?)?;
    let interrupted = Arc::new(AtomicBool::new(false));
    signal_hook::flag::register(signal_hook::consts::SIGINT, interrupted.clone())?;
    let mut out = std::io::stdout().lock();
    let [(a, a_dir), (b, b_dir)] = &race.runs;
    let _ = writeln!(out, "race {}: {a} against {b}; Ctrl-C leaves both running", race.id);
    loop {
        let (sa, sb) = (Side::read(a_dir), Side::read(b_dir));
        let _ = writeln!(out, "{}", race_line(&sa, &sb));
        if !sa.alive && !sb.alive {
            let _ = writeln!(out, "{}", summary(&sa, &sb));
            return Ok(if sa.status == RunStatus::Finished && sb.status == RunStatus::Finished {
                0
            } else {
                1
            });
        }
        for _ in 0..10 {
            std::thread::sleep(Duration::from_millis(100));
            if interrupted.load(Ordering::Relaxed) {
                let _ = writeln!(out, "left the race; both runs go on (`workbench runs` lists them)");
                return Ok(130);
            }
        }
    }
}

/// One side as read from its folder.
struct Side {
    name: String,
    status: RunStatus,
    alive: bool,
    live: Option<LiveState>,
    /// Training seconds and mean samples/s over the epochs done.
    trained_s: Option<f64>,
    mean_rate: Option<f64>,
}

impl Side {
    fn read(dir: &Path) -> Side {
        let record = load_run(dir).ok();
        let status = record.as_ref().map_or(RunStatus::Failed, |r| effective_status(dir, &r.meta));
        let name = record.as_ref().map_or_else(
            || "?".to_string(),
            |r| match r.meta.hyperparameters.threads {
                0 if r.meta.device == "cpu" => "cpu".to_string(),
                n if r.meta.device == "cpu" => format!("cpu ({n} threads)"),
                _ => r.meta.device.clone(),
            },
        );
        let epochs = record.as_ref().map(|r| r.epochs.as_slice()).unwrap_or_default();
        let mean_rate = (!epochs.is_empty())
            .then(|| epochs.iter().map(|e| e.samples_per_s).sum::<f64>() / epochs.len() as f64);
        Side {
            name,
            status,
            alive: matches!(status, RunStatus::Queued | RunStatus::Running | RunStatus::Paused),
            live: crate::runs::liveness::read_live(dir),
            trained_s: epochs.last().map(|e| e.elapsed_s),
            mean_rate,
        }
    }

    fn rate(&self) -> Option<f64> {
        match self.alive {
            true => self.live.as_ref().and_then(|l| l.samples_per_s),
            false => self.mean_rate,
        }
    }

    fn part(&self) -> String {
        let rate = self.rate().map_or("--".to_string(), format_rate);
        let eta = match (self.alive, self.live.as_ref().and_then(|l| l.eta_s)) {
            (false, _) => self.status.as_str().to_string(),
            (true, Some(s)) => format!("ETA {}", format_duration(s)),
            (true, None) => "ETA --".to_string(),
        };
        format!("{}: {rate} samples/s, {eta}", self.name)
    }
}

/// The challenger's samples/s over the CPU side's, as `3.2×`.
fn speed_up(cpu: Option<f64>, other: Option<f64>) -> String {
    match (cpu, other) {
        (Some(c), Some(o)) if c > 0.0 => format!("{:.2}×", o / c),
        _ => "--".to_string(),
    }
}

fn race_line(a: &Side, b: &Side) -> String {
    format!("{} | {} | speed-up {}", a.part(), b.part(), speed_up(a.rate(), b.rate()))
}

fn summary(a: &Side, b: &Side) -> String {
    let time = |s: &Side| s.trained_s.map_or("--".to_string(), format_duration);
    format!(
        "race over: {} {} in {} ({} samples/s), {} {} in {} ({} samples/s); speed-up {}",
        a.name,
        a.status.as_str(),
        time(a),
        a.mean_rate.map_or("--".into(), format_rate),
        b.name,
        b.status.as_str(),
        time(b),
        b.mean_rate.map_or("--".into(), format_rate),
        speed_up(a.mean_rate, b.mean_rate)
    )
}
