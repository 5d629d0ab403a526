//! `workbench queue`: see the queue, start or stop its dispatcher, move a run to the front; and
//! the `--queue` flags that `train` and `run` share.
use std::io::Write;
use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use clap::{Args, Subcommand};

use crate::config::Settings;
use crate::queue::decide::{decide, order, Gpu};
use crate::queue::dispatch::{dispatcher_pid, ensure_dispatcher, gpus_now, run_dispatcher, stop_dispatcher};
use crate::queue::enqueue::{enqueue_folder, gpu_sizes, QueueRequest};
use crate::queue::format_mb;
use crate::queue::record::{move_to_top, QueueReader, QueueRun};
use crate::runs::resolve_run;
use crate::train::process::Launcher;

/// `--queue` and its companions, for `workbench train` and `workbench run`.
#[derive(Debug, Args, Clone, Default, PartialEq)]
pub struct QueueFlags {
    /// Queue the run instead of starting it: it starts when a device can take it (see `workbench queue`)
    #[arg(long)]
    pub queue: bool,
    /// With --queue: higher starts first (then first come, first served)
    #[arg(long, value_name = "N", requires = "queue", allow_negative_numbers = true)]
    pub priority: Option<i32>,
    /// With --queue: the GPU memory the run needs (6G, 6000M); default: measured on runs like it
    #[arg(long, value_name = "SIZE", requires = "queue")]
    pub gpu_mem: Option<String>,
}

/// `workbench queue`
#[derive(Debug, Args)]
pub struct QueueArgs {
    /// Print JSON
    #[arg(long)]
    pub json: bool,
    #[command(subcommand)]
    pub action: Option<QueueAction>,
}

#[derive(Debug, Subcommand)]
pub enum QueueAction {
    /// Work the queue here until nothing is queued or running (one dispatcher per runs folder)
    Start,
    /// Stop the dispatcher; runs it started go on, queued runs wait
    Stop,
    /// Move a queued run to the front of the queue
    Top {
        /// The run: its id (folder name), a unique prefix of it, or its folder's path
        run: String,
    },
}

pub fn queue(settings: &Settings, args: &QueueArgs) -> anyhow::Result<i32> {
    match &args.action {
        None => list(settings, args.json),
        Some(QueueAction::Start) => start(settings),
        Some(QueueAction::Stop) => {
            let was = stop_dispatcher(&settings.runs_dir, Duration::from_secs(5))?;
            let line = if was {
                "the dispatcher stopped; runs it started go on, queued runs wait (`workbench queue start`)"
            } else {
                "no dispatcher was running"
            };
            println!("{line}");
            Ok(0)
        }
        Some(QueueAction::Top { run }) => {
            let dir = resolve_run(&settings.runs_dir, run)?;
            move_to_top(&dir)?;
            crate::println_clean!("{} is first in the queue", crate::runs::folder_id(&dir));
            Ok(0)
        }
    }
}

fn start(settings: &Settings) -> anyhow::Result<i32> {
    let stop = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT] {
        signal_hook::flag::register(sig, stop.clone())?;
    }
    // Detached, or not: a closed terminal must not end the queue.
    signal_hook::flag::register(signal_hook::consts::SIGHUP, Arc::new(AtomicBool::new(false)))?;
    let launcher = Launcher::current(settings)?;
    match run_dispatcher(&launcher, settings.queue.limits(), &stop) {
        Ok(()) => Ok(0),
        Err(crate::queue::QueueError::AlreadyDispatching { pid }) => {
            println!("a dispatcher already works {} (process {pid})", settings.runs_dir.display());
            Ok(0)
        }
        Err(e) => Err(e.into()),
    }
}

/// Give the run in `dir` its `[queue]` table and start a dispatcher if none works the runs
/// folder. The folder is removed when the run can't be queued. Prints what was queued.
pub fn enqueue(
    settings: &Settings,
    dir: &Path,
    device: &str,
    flags: &QueueFlags,
    report: &crate::device::DeviceReport,
    estimate: Option<u64>,
) -> anyhow::Result<i32> {
    let request = QueueRequest {
        device: device.to_string(),
        gpu_mem: flags.gpu_mem.clone(),
        priority: flags.priority.unwrap_or(0),
    };
    let table = enqueue_folder(&settings.runs_dir, dir, &request, &gpu_sizes(report), estimate)?;
    let id = crate::runs::folder_id(dir);
    let memory = match table.gpu_mem_mb {
        Some(mb) => format!("{} ({})", format_mb(mb), table.gpu_mem_source),
        None => table.gpu_mem_source.clone(),
    };
    let mut out = std::io::stdout().lock();
    let _ = writeln!(
        out,
        "queued {id}\n  device: {}, priority {}\n  GPU memory: {memory}",
        table.device, table.priority
    );
    match ensure_dispatcher(&Launcher::current(settings)?) {
        Ok(pid) => {
            let _ = writeln!(
                out,
                "  the dispatcher (process {pid}) starts it when a device can take it; see `workbench queue`"
            );
        }
        Err(e) => {
            let _ = writeln!(
                out,
                "  no dispatcher could be started ({e}); start one with `workbench queue start`"
            );
        }
    }
    Ok(0)
}

/// Each queued run with its position and why it waits, then the runs the queue started.
fn list(settings: &Settings, json: bool) -> anyhow::Result<i32> {
    let view = QueueReader::new().scan(&settings.runs_dir);
    let (mut waiting, mut problems) = view.waiting_for_decision();
    let gpus: Vec<Gpu> = if waiting.is_empty() {
        Vec::new()
    } else {
        gpus_now(crate::telemetry::GpuProbe::open().ok().as_ref())
    };
    let decision =
        decide(&waiting, &gpus, &view.going_for_decision(SystemTime::now()), &settings.queue.limits());
    order(&mut waiting);
    let dispatcher = dispatcher_pid(&settings.runs_dir);
    let reason_of = |id: &str| -> String {
        if let Some((_, why)) = decision.waits.iter().find(|(w, _)| w == id) {
            return why.clone();
        }
        let at = decision.starts.iter().find(|(s, _)| s == id).map(|(_, at)| at.name()).unwrap_or_default();
        match dispatcher {
            Some(_) => format!("starts on {at} at the dispatcher's next look"),
            None => format!("can start on {at}, but no dispatcher is running: `workbench queue start`"),
        }
    };
    let by_id = |id: &str| view.waiting.iter().find(|r| r.id() == id);
    problems.extend(view.problems.iter().cloned());
    if json {
        let queued: Vec<serde_json::Value> = waiting
            .iter()
            .enumerate()
            .filter_map(|(i, w)| {
                let run = by_id(&w.id)?;
                Some(serde_json::json!({
                    "position": i + 1,
                    "id": w.id,
                    "device": run.table.device,
                    "gpu_mem_mb": run.table.gpu_mem_mb,
                    "gpu_mem_source": run.table.gpu_mem_source,
                    "priority": run.table.priority,
                    "queued_at": run.table.queued_at,
                    "reason": reason_of(&w.id),
                }))
            })
            .collect();
        let going = |runs: &[QueueRun]| -> Vec<serde_json::Value> {
            runs.iter()
                .map(|r| {
                    serde_json::json!({
                        "id": r.id(),
                        "device": r.table.started_on,
                        "gpu_mem_mb": r.table.gpu_mem_mb,
                    })
                })
                .collect()
        };
        let problems: Vec<serde_json::Value> =
            problems.iter().map(|(id, why)| serde_json::json!({ "id": id, "problem": why })).collect();
        let value = serde_json::json!({
            "dispatcher_pid": dispatcher,
            "queued": queued,
            "starting": going(&view.starting),
            "running": going(&view.going),
            "problems": problems,
        });
        println!("{}", serde_json::to_string_pretty(&value)?);
        return Ok(0);
    }
    let mut out = std::io::stdout().lock();
    let who = match dispatcher {
        Some(pid) => format!("dispatcher: process {pid}"),
        None => "no dispatcher running".to_string(),
    };
    let _ = writeln!(
        out,
        "queued {}, starting {}, running {} ({who})",
        waiting.len(),
        view.starting.len(),
        view.going.len()
    );
    for (i, w) in waiting.iter().enumerate() {
        let Some(run) = by_id(&w.id) else { continue };
        let memory = match run.table.gpu_mem_mb {
            Some(mb) => format!("  GPU memory {} ({})", format_mb(mb), run.table.gpu_mem_source),
            None if run.table.device == "cpu" => String::new(),
            None => format!("  GPU memory: {}", run.table.gpu_mem_source),
        };
        let line =
            format!("{:>3}. {}  {}  priority {}{memory}", i + 1, w.id, run.table.device, run.table.priority);
        let _ = writeln!(out, "{}", crate::text::clean(&line));
        let _ = writeln!(out, "     {}", crate::text::clean(&reason_of(&w.id)));
    }
    let mut others: Vec<&QueueRun> = view.starting.iter().chain(&view.going).collect();
    others.sort_by_key(|r| r.id());
    for run in others {
        let memory =
            run.table.gpu_mem_mb.map(|mb| format!("  GPU memory {}", format_mb(mb))).unwrap_or_default();
        let state = if run.meta.status == crate::runs::RunStatus::Queued { "starting" } else { "running" };
        let on = run.table.started_on.clone().unwrap_or_default();
        let _ = writeln!(out, "  {state} {}  on {on}{memory}", crate::text::clean(&run.id()));
    }
    for (id, why) in &problems {
        let _ = writeln!(out, "  problem: {}: {}", crate::text::clean(id), crate::text::clean(why));
    }
    Ok(0)
}
