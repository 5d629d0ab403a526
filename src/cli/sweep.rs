//! `workbench sweep`: queue a grid or a random search of runs in one line, and read which setting
//! won. The runs go through the queue (`docs/queue.md`); `runs/sweeps/NAME/sweep.toml` ties them
//! together.
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::SystemTime;

use anyhow::bail;
use clap::{Args, Subcommand};

use crate::config::Settings;
use crate::data::Catalog;
use crate::params::{NumberKind, TrainFlags};
use crate::sweep::ask::{command_ask, train_ask, Asked};
use crate::sweep::create::{cell_text, train_values, SweepPlan};
use crate::sweep::grid::{flag, Cell, Grid};
use crate::sweep::queue_cells::{queue_cells, QueueAsk, Template};
use crate::sweep::record::{list_names, sweeps_dir, CommandTemplate, SweepRecord, SWEEP_FILE};
use crate::sweep::results::{all_ended, results, status_counts};

use crate::sweep::create::MANY_CELLS;

/// `workbench sweep`
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct SweepArgs {
    #[command(subcommand)]
    pub action: Option<SweepAction>,
    #[command(flatten)]
    pub new: NewSweep,
}

/// Making a sweep: what varies, and how it is queued.
#[derive(Debug, Args, Clone, Default)]
pub struct NewSweep {
    /// A [commands.NAME] entry to sweep, with --param NAME=VALUES
    #[arg(value_name = "ENTRY")]
    pub entry: Option<String>,
    /// The sweep's name (default: DATE-TIME-DATASET-MODEL)
    #[arg(long)]
    pub name: Option<String>,
    #[command(flatten)]
    pub values: SweepValues,
    /// Draw N cells of the grid at random instead of all (ranges are then sampled continuously)
    #[arg(long, value_name = "N")]
    pub random: Option<usize>,
    /// The seed of --random's draw
    #[arg(long, value_name = "S", default_value_t = 0, requires = "random")]
    pub sample_seed: u64,
    /// Print the cells and queue nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Queue more than 1,000 cells
    #[arg(long)]
    pub yes: bool,
    /// Each run's priority in the queue (higher first)
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    pub priority: Option<i32>,
    /// The GPU memory each run needs (6G, 6000M); default: measured on runs like it
    #[arg(long, value_name = "SIZE")]
    pub gpu_mem: Option<String>,
    /// Your own command, after `--`, with {NAME} where each --grid value goes
    #[arg(last = true, value_name = "COMMAND")]
    pub command: Vec<String>,
}

/// The values a sweep varies: the train flags (each a value, a comma list or a range), or a
/// command's `--grid` / an entry's `--param`.
#[derive(Debug, Args, Clone, Default)]
pub struct SweepValues {
    /// Datasets, comma-separated
    #[arg(long)]
    pub dataset: Option<String>,
    #[command(flatten)]
    pub params: TrainFlags,
    /// A command's values: NAME=V1,V2 or NAME=START:END:log|lin:N or NAME=START:END:step:S
    #[arg(long = "grid", value_name = "NAME=VALUES")]
    pub grid: Vec<String>,
    /// An entry's params: NAME=V1,V2 or a range, as --grid
    #[arg(long = "param", value_name = "NAME=VALUES")]
    pub param: Vec<String>,
}

#[derive(Debug, Subcommand)]
pub enum SweepAction {
    /// Every sweep: its cells and their states
    List {
        /// Print JSON
        #[arg(long)]
        json: bool,
    },
    /// A sweep's cells sorted by their best metric, and the cells that differ only by seed folded
    Show {
        name: String,
        /// Print JSON
        #[arg(long)]
        json: bool,
        /// Also write one row per cell to FILE
        #[arg(long, value_name = "FILE")]
        csv: Option<PathBuf>,
    },
    /// The best group's values, its spread over the seeds, and the command line that repeats it
    Best { name: String },
    /// Stop the sweep's running runs and take its queued ones out of the queue
    Stop { name: String },
    /// Add cells to a sweep's grid (values of its own names), skipping those it has
    Extend {
        name: String,
        #[command(flatten)]
        values: Box<SweepValues>,
        /// Print the new cells and queue nothing
        #[arg(long)]
        dry_run: bool,
    },
}

pub fn sweep(settings: &Settings, args: &SweepArgs, line: &str) -> anyhow::Result<i32> {
    match &args.action {
        None => create(settings, &args.new, line),
        Some(SweepAction::List { json }) => list(settings, *json),
        Some(SweepAction::Show { name, json, csv }) => show(settings, name, *json, csv.as_deref()),
        Some(SweepAction::Best { name }) => best(settings, name),
        Some(SweepAction::Stop { name }) => stop(settings, name),
        Some(SweepAction::Extend { name, values, dry_run }) => extend(settings, name, values, *dry_run),
    }
}

/// The grid asked for, and what each cell runs: built-in runs, a command after `--`, or an entry.
fn ask(
    settings: &Settings,
    entry: Option<&str>,
    values: &SweepValues,
    command: &[String],
) -> anyhow::Result<(Asked, Option<CommandTemplate>)> {
    let cwd = std::env::current_dir()?;
    let mut train_only = values.params.clone();
    let device = train_only.device.take();
    let trains = values.dataset.is_some() || train_only != TrainFlags::default();
    match (entry, command.is_empty()) {
        (None, true) => {
            if !values.grid.is_empty() || !values.param.is_empty() {
                bail!("--grid and --param are for commands: `workbench sweep --grid lr=0.1,0.01 -- python3 train.py --lr {{lr}}` or `workbench sweep ENTRY --param lr=0.1,0.01`");
            }
            let mut asked = train_ask(values.dataset.as_deref(), &values.params)?;
            in_typed_order(&mut asked);
            Ok((asked, None))
        }
        (Some(entry), true) => {
            if trains || !values.grid.is_empty() {
                bail!("an entry's values are its params: `workbench sweep {entry} --param NAME=VALUES` (the train flags are for built-in models)");
            }
            let defaults = settings.commands.entry(entry)?.params;
            let kinds: BTreeMap<String, NumberKind> = defaults
                .iter()
                .map(|(k, v)| {
                    let kind = match v {
                        toml::Value::Integer(_) => NumberKind::Integer,
                        toml::Value::Float(_) => NumberKind::Real,
                        _ => NumberKind::No,
                    };
                    (k.clone(), kind)
                })
                .collect();
            let mut asked = command_ask(&values.param, &kinds)?;
            if let Some(device) = device {
                asked.fixed.insert("device".into(), device);
            }
            Ok((asked, Some(CommandTemplate { argv: Vec::new(), entry: Some(entry.into()), cwd })))
        }
        (None, false) => {
            if trains || !values.param.is_empty() {
                bail!("a command after `--` takes its values from --grid NAME=VALUES (and {{NAME}} in it); the train flags are for built-in models");
            }
            let mut asked = command_ask(&values.grid, &BTreeMap::new())?;
            if let Some(device) = device {
                asked.fixed.insert("device".into(), device);
            }
            Ok((asked, Some(CommandTemplate { argv: command.to_vec(), entry: None, cwd })))
        }
        (Some(entry), false) => bail!("give either an entry ({entry}) or a command after `--`, not both"),
    }
}

/// The axes in the order their flags were typed (`--lr ... --batch-size ...` varies lr slowest),
/// not the order the flags are declared in.
fn in_typed_order(asked: &mut Asked) {
    let typed: Vec<String> = std::env::args().collect();
    let at = |name: &str| {
        let long = format!("--{}", flag(name));
        typed.iter().position(|a| *a == long || a.starts_with(&format!("{long}="))).unwrap_or(usize::MAX)
    };
    let mut order: Vec<usize> = (0..asked.grid.axes.len()).collect();
    order.sort_by_key(|&i| at(&asked.grid.axes[i].name));
    asked.grid.axes = order.iter().map(|&i| asked.grid.axes[i].clone()).collect();
    asked.entries = order.iter().map(|&i| asked.entries[i].clone()).collect();
}

fn create(settings: &Settings, new: &NewSweep, line: &str) -> anyhow::Result<i32> {
    let (asked, template) = ask(settings, new.entry.as_deref(), &new.values, &new.command)?;
    let queue = QueueAsk {
        device: asked.fixed.get("device").cloned().or_else(|| template.as_ref().map(|_| "auto".into())),
        gpu_mem: new.gpu_mem.clone(),
        priority: new.priority.unwrap_or(0),
    };
    let random = new.random.map(|n| (n, new.sample_seed));
    let plan = SweepPlan::new(settings, asked, template, random, new.name.clone(), line.to_string(), queue)?;
    let name = &plan.name;
    if new.dry_run {
        println!("sweep {name}: {} (dry run: nothing queued)", plan.summary());
        if !plan.asked.fixed.is_empty() {
            let fixed: Vec<String> = plan.asked.fixed.iter().map(|(k, v)| format!("{k}={v}")).collect();
            println!("  fixed: {}", fixed.join(" "));
        }
        for cell in &plan.cells {
            crate::println_clean!("  {}", cell_text(cell));
        }
        return Ok(0);
    }
    if plan.cells.len() > MANY_CELLS && !new.yes {
        bail!("this sweep has {} cells, more than {MANY_CELLS}: add --yes to queue them all, or --random N to draw some", plan.cells.len());
    }
    let catalog = Catalog::scan_settings(settings);
    if let Some(problem) = &catalog.problem {
        bail!("{problem}");
    }
    let report = crate::device::probe();
    plan.queue(settings, &catalog, &report)?;
    let launcher = crate::train::Launcher::current(settings)?;
    let dispatcher = crate::queue::dispatch::ensure_dispatcher(&launcher)?;
    crate::println_clean!("queued sweep {name}: {}", plan.summary());
    println!("  record: {}", sweeps_dir(&settings.runs_dir).join(name).join(SWEEP_FILE).display());
    println!("  the queue's dispatcher (process {dispatcher}) starts them as devices free up");
    crate::println_clean!(
        "  see it with `workbench sweep show {name}`; stop it with `workbench sweep stop {name}`"
    );
    Ok(0)
}

fn list(settings: &Settings, json: bool) -> anyhow::Result<i32> {
    let now = SystemTime::now();
    let mut rows = Vec::new();
    for name in list_names(&settings.runs_dir) {
        match SweepRecord::load(&settings.runs_dir, &name) {
            Ok(record) => {
                let r = results(&settings.runs_dir, &record, now);
                rows.push(serde_json::json!({
                    "name": name,
                    "created_at": record.created_at,
                    "cells": record.cells.len(),
                    "states": status_counts(&r.cells),
                    "ended": all_ended(&r.cells),
                }));
            }
            Err(e) => rows.push(serde_json::json!({ "name": name, "problem": e.to_string() })),
        }
    }
    if json {
        println!("{}", serde_json::to_string_pretty(&rows)?);
        return Ok(0);
    }
    if rows.is_empty() {
        println!(
            "no sweeps yet in {}: `workbench sweep --lr 0.1,0.01 --seed 1,2,3` queues one",
            sweeps_dir(&settings.runs_dir).display()
        );
        return Ok(0);
    }
    for row in rows {
        match row.get("problem").and_then(|p| p.as_str()) {
            Some(problem) => {
                crate::println_clean!("{}  problem: {problem}", row["name"].as_str().unwrap_or_default())
            }
            None => crate::println_clean!(
                "{}  {} cells  {}  created {}",
                row["name"].as_str().unwrap_or_default(),
                row["cells"],
                row["states"].as_str().unwrap_or_default(),
                row["created_at"].as_str().unwrap_or_default()
            ),
        }
    }
    Ok(0)
}

/// A number as the tables show it.
fn num(x: Option<f64>) -> String {
    x.map_or_else(|| "-".into(), |v| format!("{v:.4}"))
}

/// Columns padded to their widest cell; each cell cleaned of control characters (values come
/// from files).
fn table(header: &[String], rows: &[Vec<String>]) -> String {
    let clean = |row: &[String]| row.iter().map(|c| crate::text::clean(c).into_owned()).collect::<Vec<_>>();
    let header = clean(header);
    let rows: Vec<Vec<String>> = rows.iter().map(|r| clean(r)).collect();
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for row in std::iter::once(header.as_slice()).chain(rows.iter().map(Vec::as_slice)) {
        let cells: Vec<String> = row.iter().zip(&widths).map(|(c, w)| format!("{c:<w$}")).collect();
        let _ = writeln!(out, "  {}", cells.join("  ").trim_end());
    }
    out
}

/// The names that vary in a sweep, in the grid's order.
fn show(settings: &Settings, name: &str, json: bool, csv: Option<&std::path::Path>) -> anyhow::Result<i32> {
    let record = SweepRecord::load(&settings.runs_dir, name)?;
    let r = results(&settings.runs_dir, &record, SystemTime::now());
    let names = record.varying();
    if let Some(path) = csv {
        let rows = crate::sweep::export::write_cells_csv(path, &names, &r)?;
        eprintln!("wrote {rows} rows to {}", path.display());
    }
    if json {
        println!("{}", serde_json::to_string_pretty(&serde_json::json!({ "sweep": record, "results": r }))?);
        return Ok(0);
    }
    let better = if r.judged.higher_is_better { "higher is better" } else { "lower is better" };
    crate::println_clean!(
        "sweep {name}: {} cells ({}), judged by the best {} ({better})",
        record.cells.len(),
        names.join(" × "),
        r.judged.metric
    );
    println!("{}", status_counts(&r.cells));
    let group_names: Vec<String> =
        names.iter().filter(|n| n.as_str() != crate::sweep::groups::SEED).cloned().collect();
    if group_names.len() < names.len() {
        println!("\nby setting, over the seeds (best first; ranges = min to max):");
        let mut header = group_names.clone();
        header.extend(["n", "mean", "std", "min", "max", "vs next"].map(String::from));
        let rows: Vec<Vec<String>> = r
            .groups
            .iter()
            .map(|g| {
                let mut row: Vec<String> =
                    group_names.iter().map(|n| g.values.get(n).cloned().unwrap_or_default()).collect();
                let overlap = match g.overlaps_next {
                    Some(true) => "ranges overlap",
                    Some(false) => "apart",
                    None => "",
                };
                row.extend([
                    format!("{}/{}", g.n, g.cells),
                    num(g.mean),
                    num(g.std),
                    num(g.min),
                    num(g.max),
                    overlap.into(),
                ]);
                row
            })
            .collect();
        print!("{}", table(&header, &rows));
    }
    println!("\ncells (best first):");
    let mut header = names.clone();
    header.extend(
        ["status", "device", &format!("best {}", r.judged.metric), "at", "epochs", "time", "run"]
            .map(String::from),
    );
    let rows: Vec<Vec<String>> = r
        .cells
        .iter()
        .map(|c| {
            let mut row: Vec<String> =
                names.iter().map(|n| c.values.get(n).cloned().unwrap_or_default()).collect();
            let status = match &c.failure {
                Some(kind) => format!("{} ({kind})", c.status),
                None => c.status.clone(),
            };
            row.extend([
                status,
                c.device.clone(),
                num(c.best),
                c.best_at.map_or_else(|| "-".into(), |a| a.to_string()),
                c.epochs.to_string(),
                c.duration_s.map_or_else(|| "-".into(), crate::util::format_duration),
                c.run.clone(),
            ]);
            row
        })
        .collect();
    print!("{}", table(&header, &rows));
    Ok(0)
}

/// One row per cell: the varying values, then the outcome.
fn best(settings: &Settings, name: &str) -> anyhow::Result<i32> {
    let record = SweepRecord::load(&settings.runs_dir, name)?;
    let r = results(&settings.runs_dir, &record, SystemTime::now());
    let Some(top) = r.groups.first().filter(|g| g.n > 0) else {
        println!("no cell of {name} has a {} yet ({})", r.judged.metric, status_counts(&r.cells));
        return Ok(1);
    };
    // In the grid's order, the seed left out (the group folds it).
    let label_of = |values: &BTreeMap<String, String>| -> Vec<String> {
        record.grid.iter().filter_map(|g| values.get(&g.name).map(|v| format!("{}={v}", g.name))).collect()
    };
    let label = label_of(&top.values);
    let spread = match (top.std, top.min, top.max) {
        (Some(std), Some(min), Some(max)) => format!(" ± {std:.4} (min {min:.4}, max {max:.4})"),
        _ => String::new(),
    };
    crate::println_clean!(
        "best: {} with the best {} {}{spread} over n = {} seed(s)",
        if label.is_empty() { "the one setting".to_string() } else { label.join(" ") },
        r.judged.metric,
        num(top.mean),
        top.n
    );
    if let (Some(next), Some(overlap)) = (r.groups.get(1), top.overlaps_next) {
        let next_label = label_of(&next.values);
        let says = if overlap {
            "their ranges overlap: the difference may be the seeds'"
        } else {
            "their ranges don't overlap"
        };
        crate::println_clean!(
            "next: {} with {} (n = {}); {says}",
            next_label.join(" "),
            num(next.mean),
            next.n
        );
    }
    // The best cell of the group: its seed too, so the command repeats one run exactly.
    let best_cell = r
        .cells
        .iter()
        .find(|c| c.best.is_some() && top.values.iter().all(|(k, v)| c.values.get(k) == Some(v)));
    let mut values = record.fixed.clone();
    if let Some(cell) = best_cell {
        values.extend(cell.values.clone());
        if record.command.is_none() {
            // Every parameter the run had, so the line repeats it whatever config.toml says later.
            if let Ok(meta) = crate::runs::read_meta(&settings.runs_dir.join(&cell.run)) {
                values = train_values(&meta.hyperparameters);
            }
        }
    }
    println!("repeat it with:\n  {}", crate::text::clean(&repeat_line(&record, &values)));
    Ok(0)
}

/// The `workbench train` (or `run`) command line for `values`.
fn repeat_line(record: &SweepRecord, values: &BTreeMap<String, String>) -> String {
    use crate::command::meta::shell_quote;
    match &record.command {
        None => {
            let mut parts = vec!["workbench train".to_string()];
            for (k, v) in values {
                parts.push(format!("--{} {}", flag(k), shell_quote(v)));
            }
            parts.join(" ")
        }
        Some(CommandTemplate { entry: Some(entry), .. }) => {
            let mut parts = vec![format!("workbench run {}", shell_quote(entry))];
            for (k, v) in values.iter().filter(|(k, _)| k.as_str() != "device") {
                parts.push(format!("--param {}", shell_quote(&format!("{k}={v}"))));
            }
            parts.join(" ")
        }
        Some(t) => {
            let argv = crate::sweep::queue_cells::fill_argv(
                &t.argv,
                &values
                    .iter()
                    .filter(|(k, _)| k.as_str() != "device")
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect(),
            )
            .unwrap_or_else(|_| t.argv.clone());
            format!("workbench run -- {}", crate::command::meta::shell_line(&argv))
        }
    }
}

/// What stopping one cell's run did.
enum Stopping {
    /// Taken out of the queue.
    Dequeued,
    /// Asked to stop.
    Asked,
    /// The queue took it and its process is starting: ask again once it runs.
    Starting,
    /// It had ended.
    Ended,
}

fn stop_cell(dir: &std::path::Path) -> anyhow::Result<Stopping> {
    use crate::runs::RunStatus;
    let meta = crate::runs::read_meta(dir)?;
    let status = crate::runs::liveness::effective_status(dir, &meta);
    Ok(match (status, &meta.queue) {
        (RunStatus::Queued, Some(table)) if table.is_taken() => Stopping::Starting,
        (RunStatus::Queued, Some(_)) => match crate::queue::record::stop_queued(dir) {
            Ok(()) => Stopping::Dequeued,
            // Taken by the dispatcher between the read and the stop.
            Err(_) => Stopping::Starting,
        },
        (RunStatus::Running | RunStatus::Paused | RunStatus::Queued, _) => {
            crate::runs::send_control(dir, crate::runs::ControlCommand::Stop)?;
            Stopping::Asked
        }
        _ => Stopping::Ended,
    })
}

fn stop(settings: &Settings, name: &str) -> anyhow::Result<i32> {
    let record = SweepRecord::load(&settings.runs_dir, name)?;
    let (mut dequeued, mut stopped, mut problems) = (0, 0, Vec::new());
    let mut pending: Vec<&str> = record.cells.iter().map(|c| c.run.as_str()).collect();
    // A run the queue has just taken can't be taken out, nor stopped before its process runs:
    // ask again until it does (the dispatcher may take more while the others are stopped).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !pending.is_empty() {
        let mut starting = Vec::new();
        for run in pending {
            match stop_cell(&settings.runs_dir.join(run)) {
                Ok(Stopping::Dequeued) => dequeued += 1,
                Ok(Stopping::Asked) => stopped += 1,
                Ok(Stopping::Starting) => starting.push(run),
                Ok(Stopping::Ended) => {}
                Err(e) => problems.push(format!("{run}: {e}")),
            }
        }
        if std::time::Instant::now() > deadline {
            problems.extend(
                starting
                    .iter()
                    .map(|r| format!("{r}: still starting after 30 s; `workbench stop {r}` once it runs")),
            );
            break;
        }
        pending = starting;
        if !pending.is_empty() {
            std::thread::sleep(std::time::Duration::from_millis(200));
        }
    }
    crate::println_clean!(
        "sweep {name}: took {dequeued} run(s) out of the queue, asked {stopped} running run(s) to stop"
    );
    for p in &problems {
        crate::eprintln_clean!("  {p}");
    }
    Ok(if problems.is_empty() { 0 } else { 1 })
}

fn extend(settings: &Settings, name: &str, values: &SweepValues, dry_run: bool) -> anyhow::Result<i32> {
    let mut record = SweepRecord::load(&settings.runs_dir, name)?;
    let template = record.command.clone();
    let (asked, _) = match &template {
        None => ask(settings, None, values, &[])?,
        Some(t) => ask(settings, t.entry.as_deref(), values, if t.entry.is_some() { &[] } else { &t.argv })?,
    };
    // Every name of the sweep keeps the values its cells have; the new ones are added.
    let mut grid = Grid::default();
    let mut fixed = record.fixed.clone();
    let mut names: Vec<String> = record.grid.iter().map(|g| g.name.clone()).collect();
    let added: Vec<(String, Vec<String>)> = asked
        .grid
        .axes
        .iter()
        .map(|a| (a.name.clone(), a.all()))
        .chain(asked.fixed.iter().map(|(k, v)| (k.clone(), vec![v.clone()])))
        .collect();
    for (name_added, _) in &added {
        if !names.contains(name_added) {
            if !fixed.contains_key(name_added) {
                bail!(
                    "`{name_added}` is not one of the sweep's names ({}); extend adds values to those",
                    names.iter().chain(fixed.keys()).cloned().collect::<Vec<_>>().join(", ")
                );
            }
            names.push(name_added.clone());
        }
    }
    for n in &names {
        let mut vals: Vec<String> = Vec::new();
        for cell in &record.cells {
            if let Some(v) = cell.values.get(n) {
                if !vals.contains(v) {
                    vals.push(v.clone());
                }
            }
        }
        if let Some(v) = fixed.remove(n) {
            vals.push(v);
        }
        for (_, new_vals) in added.iter().filter(|(a, _)| a == n) {
            for v in new_vals {
                if !vals.contains(v) {
                    vals.push(v.clone());
                }
            }
        }
        grid.axes.push(crate::sweep::grid::Axis {
            name: n.clone(),
            values: crate::sweep::grid::Values::List(vals),
        });
    }
    // A name that was fixed and is now varied: the cells already made keep its old value.
    for cell in record.cells.iter_mut() {
        for n in &names {
            if let (None, Some(v)) = (cell.values.get(n), record.fixed.get(n)) {
                cell.values.insert(n.clone(), v.clone());
            }
        }
    }
    let cells: Vec<Cell> =
        grid.cells().into_iter().filter(|c| !record.has_cell(&c.iter().cloned().collect())).collect();
    if cells.is_empty() {
        println!("sweep {name} has every one of those cells already; nothing to add");
        return Ok(0);
    }
    if dry_run {
        println!("sweep {name}: {} new cell(s) (dry run: nothing queued)", cells.len());
        for cell in &cells {
            crate::println_clean!("  {}", cell_text(cell));
        }
        return Ok(0);
    }
    let catalog = Catalog::scan_settings(settings);
    let report = crate::device::probe();
    let mut queue_fixed = fixed.clone();
    let queue = QueueAsk {
        device: queue_fixed.remove("device").or_else(|| template.as_ref().map(|_| "auto".into())),
        gpu_mem: None,
        priority: 0,
    };
    let as_template = Template::of(template.as_ref());
    let made = queue_cells(settings, &catalog, &report, name, as_template, &queue_fixed, &cells, &queue)?;
    let count = made.len();
    record.cells.extend(made);
    record.fixed = fixed;
    for n in &names {
        let given: Vec<String> = grid.axes.iter().find(|a| &a.name == n).map(|a| a.all()).unwrap_or_default();
        match record.grid.iter_mut().find(|g| &g.name == n) {
            Some(entry) => entry.given = given.join(","),
            None => {
                record.grid.push(crate::sweep::record::GridEntry { name: n.clone(), given: given.join(",") })
            }
        }
    }
    record.save(&settings.runs_dir)?;
    let launcher = crate::train::Launcher::current(settings)?;
    crate::queue::dispatch::ensure_dispatcher(&launcher)?;
    crate::println_clean!("sweep {name}: queued {count} new cell(s); it has {} now", record.cells.len());
    Ok(0)
}
