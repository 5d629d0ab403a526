//! `workbench run`: any command as a run.
//!
//! - `workbench run [--device D] [--name N] [--detach] -- COMMAND [ARGS...]`: make a run folder,
//!   start its run process, show the output as it comes and end with the command's exit code.
//! - `workbench run ENTRY [--param k=v ...]`: the same for a `[commands.ENTRY]` of config.toml.
//! - `workbench run --run-dir DIR`: the run process itself (started by the above, or by a job).
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use clap::Args;

use crate::command::supervise::{supervise, SupervisorSignals};
use crate::command::{create_command_run, start_command_run, CommandRequest};
use crate::config::Settings;
use crate::train::process::Launcher;

/// `workbench run`
#[derive(Debug, Args)]
pub struct RunArgs {
    /// A `[commands.ENTRY]` of config.toml (or commands/ENTRY.toml) to run, instead of `-- COMMAND`
    #[arg(value_name = "ENTRY")]
    pub entry: Option<String>,
    /// The device: auto (the first usable GPU, else the CPU), cpu, or cuda:N (with --queue also any-gpu); sets CUDA_VISIBLE_DEVICES
    #[arg(long, default_value = "auto")]
    pub device: String,
    /// The run's name in listings (default: the entry's name, else the script's file name)
    #[arg(long)]
    pub name: Option<String>,
    /// Start it and return at once; the output is in the run folder's output.log
    #[arg(long)]
    pub detach: bool,
    /// Don't read the command's stdout for metrics
    #[arg(long)]
    pub no_stdout_metrics: bool,
    /// A param of the entry, KEY=VALUE (repeatable)
    #[arg(long = "param", value_name = "KEY=VALUE")]
    pub params: Vec<String>,
    /// Be the run process of the command run in DIR (started by `workbench run` itself, or a job)
    #[arg(long, value_name = "DIR", hide = true)]
    pub run_dir: Option<PathBuf>,
    #[command(flatten)]
    pub queue: super::queue::QueueFlags,
    /// The command and its arguments, after `--`
    #[arg(last = true, value_name = "COMMAND")]
    pub command: Vec<String>,
}

pub fn run(settings: &Settings, args: &RunArgs) -> anyhow::Result<i32> {
    if let Some(dir) = &args.run_dir {
        let signals = SupervisorSignals::register()?;
        return Ok(supervise(dir, &signals)?);
    }
    let mut request = request(settings, args)?;
    if args.queue.queue {
        // The queue picks the device when it starts the run; the folder is made for the CPU.
        request.device = "cpu".into();
        let (_, dir) = create_command_run(&settings.runs_dir, &request)?;
        let report = crate::device::probe();
        return super::queue::enqueue(settings, &dir, &args.device, &args.queue, &report, None);
    }
    let (id, dir) = create_command_run(&settings.runs_dir, &request)?;
    let launcher = Launcher::current(settings)?;
    let pid = match start_command_run(&dir, &launcher) {
        Ok(pid) => pid,
        Err(e) => {
            let _ = std::fs::remove_dir_all(&dir);
            return Err(e.into());
        }
    };
    if args.detach {
        println!("started {id}\n  folder: {}\n  output: {}", dir.display(), dir.join("output.log").display());
        println!("  follow it in the TUI, or stop it with `workbench stop {id}`");
        return Ok(0);
    }
    eprintln!("run {id} ({})", dir.display());
    let interrupt = Arc::new(AtomicBool::new(false));
    signal_hook::flag::register(signal_hook::consts::SIGINT, interrupt.clone())?;
    let code = crate::command::foreground::follow_to_end(&dir, pid, &interrupt, &mut std::io::stdout())?;
    let meta = crate::runs::read_meta(&dir)?;
    let how = match (&meta.reason, meta.status) {
        (Some(reason), crate::runs::RunStatus::Failed) => {
            format!("failed: {}", reason.lines().next().unwrap_or_default())
        }
        (_, status) => status.as_str().to_string(),
    };
    let kind = meta.failure_kind.map(|k| format!(" ({})", k.as_str())).unwrap_or_default();
    eprintln!("run {id} {how}{kind}; exit code {code}");
    Ok(code)
}

/// The command to run: the one after `--`, or the entry's with its params filled in.
fn request(settings: &Settings, args: &RunArgs) -> anyhow::Result<CommandRequest> {
    let cwd = std::env::current_dir()?;
    let grace = settings.commands.stop_grace_s;
    let mut request = CommandRequest {
        name: args.name.clone(),
        stdout_metrics: !args.no_stdout_metrics,
        ..CommandRequest::typed(args.command.clone(), cwd, &args.device, grace)
    };
    match (&args.entry, args.command.is_empty()) {
        (Some(entry), true) => {
            let given = parse_params(&args.params)?;
            let catalog = crate::data::Catalog::scan_settings(settings);
            let dataset_path = |name: &str| crate::command::entries::dataset_path_in(&catalog, name);
            let from_entry = CommandRequest::from_entry(
                &settings.commands,
                entry,
                &given,
                &dataset_path,
                &args.device,
                request.cwd,
            )?;
            request = CommandRequest {
                name: request.name,
                stdout_metrics: request.stdout_metrics && from_entry.stdout_metrics,
                ..from_entry
            };
        }
        (Some(entry), false) => {
            anyhow::bail!("give either an entry ({entry}) or a command after `--`, not both")
        }
        (None, _) if !args.params.is_empty() => {
            anyhow::bail!("--param fills a [commands.NAME] entry's placeholders; name the entry: workbench run NAME --param k=v")
        }
        (None, _) => {}
    }
    Ok(request)
}

/// `k=v` pairs.
fn parse_params(raw: &[String]) -> anyhow::Result<BTreeMap<String, String>> {
    raw.iter()
        .map(|p| {
            p.split_once('=').map(|(k, v)| (k.trim().to_string(), v.to_string())).ok_or_else(|| {
                anyhow::anyhow!("--param {p:?}: write it as KEY=VALUE, for example --param lr=0.1")
            })
        })
        .collect()
}
