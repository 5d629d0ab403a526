//! Command-line interface: argument definitions and dispatch to the commands.
//!
//! Every command returns an exit code; errors print one line, `error: ...`, never a panic message.
mod help;
mod info;
mod models;
mod progress;
mod queue;
mod race;
mod run;
mod runs;
mod shell;
mod stage;
mod submit;
mod sweep;
pub(crate) mod train;
mod version;

use std::path::PathBuf;

use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand};

use crate::config::{CliOverrides, Settings};

/// A terminal workbench for deep-learning experiments on the local CPU or GPU.
// `--version` is our own flag: it also names tch and the libtorch in use (src/cli/version.rs).
#[derive(Debug, Parser)]
#[command(name = "workbench", version, disable_version_flag = true, about, long_about = None)]
pub struct Cli {
    /// Print the version, with the tch and libtorch in use and whether it is CUDA-capable
    #[arg(short = 'V', long)]
    pub version: bool,
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Flags every command accepts.
#[derive(Debug, Args, Clone, Default)]
pub struct GlobalArgs {
    /// Config file (default: ./config.toml, else ~/.config/workbench/config.toml)
    #[arg(long, global = true, value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// Folder to discover datasets in (default: datasets/ beside config.toml)
    #[arg(long, global = true, value_name = "DIR")]
    pub datasets_dir: Option<PathBuf>,
    /// Folder for run folders (default: runs/ beside config.toml)
    #[arg(long, global = true, value_name = "DIR")]
    pub runs_dir: Option<PathBuf>,
    /// Folder for staged datasets (default: the per-user cache)
    #[arg(long, global = true, value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,
    /// TUI: most frames per second (default 10)
    #[arg(long, global = true, value_name = "N")]
    pub fps: Option<u32>,
    /// TUI: capture the mouse (off by default so text can be selected)
    #[arg(long, global = true)]
    pub mouse: bool,
    /// TUI: draw with ASCII characters only
    #[arg(long, global = true)]
    pub ascii: bool,
    /// Also show the TensorBoard event files and Lightning CSV logs below DIR as runs (repeatable)
    #[arg(long, global = true, value_name = "DIR")]
    pub logdir: Vec<PathBuf>,
}

impl GlobalArgs {
    pub fn overrides(&self) -> CliOverrides {
        CliOverrides {
            config: self.config.clone(),
            datasets_dir: self.datasets_dir.clone(),
            runs_dir: self.runs_dir.clone(),
            cache_dir: self.cache_dir.clone(),
            fps: self.fps,
            mouse: self.mouse,
            ascii: self.ascii,
            logdirs: self.logdir.clone(),
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Open the terminal UI (the default)
    Tui,
    /// Train a model without the TUI: one line per epoch, then a summary
    Train(Box<train::TrainArgs>),
    /// Run your own command (`-- python train.py`) or a [commands.NAME] entry as a run: its own folder, output, metrics and controls
    Run(Box<run::RunArgs>),
    /// See the queue (each waiting run and why it waits); `queue start|stop|top RUN`
    Queue(queue::QueueArgs),
    /// Queue a grid or random search of runs (--lr 0.1,0.01 --seed 1,2,3); `sweep show|best|list|stop|extend`
    Sweep(Box<sweep::SweepArgs>),
    /// Race the same experiment on the CPU and a GPU (or two CPU thread counts: --against cpu), side by side
    Race(Box<race::RaceArgs>),
    /// List the CPU and CUDA devices, or why CUDA is not usable
    Devices {
        /// Print JSON
        #[arg(long)]
        json: bool,
    },
    /// List datasets with their rows, features, target, classes and problems
    Datasets {
        /// Print JSON
        #[arg(long)]
        json: bool,
    },
    /// List the built-in models and your own (layer stacks, TorchScript), or show one's summary
    Models(models::ModelsArgs),
    /// Decode image datasets into the staging cache ahead of training (all when none is named)
    Stage(stage::StageArgs),
    /// List the staging cache's entries with their sizes (`cache list`), or remove them (`cache clear`)
    Cache(stage::CacheArgs),
    /// List run folders, newest first
    Runs {
        /// Print JSON
        #[arg(long)]
        json: bool,
    },
    /// Ask a running run to stop after its batch in progress; a queued run leaves the queue (RUN: id, prefix or folder)
    Stop {
        /// The run: its id (folder name), a unique prefix of it, or its folder's path
        run: String,
    },
    /// Ask a running run to pause between batches
    Pause {
        /// The run: its id (folder name), a unique prefix of it, or its folder's path
        run: String,
    },
    /// Let a paused run go on (a stopped or interrupted run: `workbench train --resume RUN`)
    Resume {
        /// The run: its id (folder name), a unique prefix of it, or its folder's path
        run: String,
    },
    /// Move a running run to another device: it checkpoints after its batch in progress and goes on there
    Move {
        /// The run: its id (folder name), a unique prefix of it, or its folder's path
        run: String,
        /// Where to: cpu, cuda or cuda:N
        #[arg(long)]
        device: String,
        /// CPU threads from then on (default: the run's setting)
        #[arg(long, value_name = "N")]
        threads: Option<u32>,
    },
    /// Export runs' metrics as CSV, and their loss curves as SVG or PNG
    Export(runs::ExportArgs),
    /// Hand a run to Slurm or HTCondor: the run folder is made at once (queued), the job submitted
    Submit(Box<submit::SubmitArgs>),
    /// Print where the config, cache, logs, runs and datasets are
    Paths {
        /// Print JSON
        #[arg(long)]
        json: bool,
    },
    /// Print a shell completion script: bash, zsh, fish, elvish or powershell (`./dev install` installs them)
    Completions(shell::CompletionsArgs),
    /// Print the man page (roff) to stdout: `workbench man | man -l -`
    Man,
}

/// The clap command, with `--help` listing the commands in groups (src/cli/help.rs). Completions
/// and the man page are generated from it too.
pub fn command() -> clap::Command {
    let mut cmd = Cli::command();
    // Built first so the `help` subcommand clap adds is in the grouped list.
    cmd.build();
    let template = help::root_template(&cmd);
    cmd.help_template(template)
}

fn parse() -> Result<Cli, clap::Error> {
    let mut cmd = command();
    let mut matches = cmd.try_get_matches_from_mut(std::env::args_os())?;
    Cli::from_arg_matches_mut(&mut matches).map_err(|e| e.format(&mut cmd))
}

/// Parse arguments, run the command, and return the process exit code.
pub fn main() -> i32 {
    let cli = match parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = e.exit_code();
            let _ = e.print();
            return code;
        }
    };
    // These need neither the config nor the log: they answer at once, whatever the setup.
    if cli.version {
        print!("{}", version::version_text());
        return 0;
    }
    let quick = match &cli.command {
        Some(Command::Completions(args)) => Some(shell::completions(args)),
        Some(Command::Man) => Some(shell::man()),
        _ => None,
    };
    if let Some(result) = quick {
        return result.unwrap_or_else(|e| fail(&format!("{e:#}")));
    }
    let log = crate::logging::init(&crate::paths::user_log_dir());
    crate::logging::install_panic_hook(log.file.clone(), restore_terminal_hook);
    let settings = match Settings::load(&cli.global.overrides()) {
        Ok(s) => s,
        Err(e) => return fail(&e.to_string()),
    };
    tracing::debug!(?settings, "settings loaded");
    let result = match cli.command.unwrap_or(Command::Tui) {
        Command::Tui => crate::tui::run(&settings, &cli.global.overrides(), log.file.as_deref()),
        Command::Train(args) => train::run(&settings, &args),
        Command::Run(args) => run::run(&settings, &args),
        Command::Race(args) => race::run(&settings, &args),
        Command::Queue(args) => queue::queue(&settings, &args),
        Command::Sweep(args) => {
            let line = std::env::args().map(|a| crate::command::meta::shell_quote(&a)).collect::<Vec<_>>();
            let line = format!("workbench {}", line.get(1..).unwrap_or_default().join(" "));
            sweep::sweep(&settings, &args, &line)
        }
        Command::Devices { json } => info::devices(json),
        Command::Datasets { json } => info::datasets(&settings, json),
        Command::Models(args) => models::models(&settings, &args),
        Command::Stage(args) => stage::stage(&settings, &args),
        Command::Cache(args) => stage::cache(&settings, &args),
        Command::Runs { json } => runs::runs(&settings, json),
        Command::Stop { run } => runs::stop(&settings, &run),
        Command::Pause { run } => runs::control(&settings, &run, crate::runs::ControlCommand::Pause),
        Command::Resume { run } => runs::control(&settings, &run, crate::runs::ControlCommand::Resume),
        Command::Move { run, device, threads } => {
            runs::control(&settings, &run, crate::runs::ControlCommand::Move { device, threads })
        }
        Command::Export(args) => runs::export(&settings, &args),
        Command::Submit(args) => submit::run(&settings, &args),
        Command::Paths { json } => info::paths(&settings, log.file.as_deref(), json),
        Command::Completions(_) | Command::Man => Ok(0),
    };
    match result {
        Ok(code) => code,
        Err(e) => fail(&format!("{e:#}")),
    }
}

/// Print the one-line error and return the failure exit code.
fn fail(message: &str) -> i32 {
    tracing::error!("{message}");
    // Errors quote file names, dataset columns and scheduler output: the one door applies.
    crate::eprintln_clean!("error: {}", message.replace('\n', " "));
    1
}

fn restore_terminal_hook() {
    crate::tui::terminal::restore();
}
