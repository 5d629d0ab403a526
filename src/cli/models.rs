//! `workbench models`: the built-in models and the user's own, and a stack's summary against a
//! dataset (each layer's output shape and parameters, the total, the memory of a training step).
use anyhow::{anyhow, bail};
use serde_json::json;

use crate::command::meta::shell_line;
use crate::config::Settings;
use crate::data::Catalog;
use crate::models::{builtin_stack, ModelSource, ModelSummary};
use crate::params::ModelKind;
use crate::train::user_model::outputs_for;

/// Arguments of `workbench models`.
#[derive(Debug, Clone, clap::Args)]
pub struct ModelsArgs {
    /// Show this model's summary (layer shapes, parameters, memory) instead of the list
    pub name: Option<String>,
    /// The dataset whose sample shape the summary uses (default: [train] dataset)
    #[arg(long)]
    pub dataset: Option<String>,
    /// The batch size of the memory estimate (default: [train] batch_size)
    #[arg(long)]
    pub batch_size: Option<u32>,
    /// Print JSON
    #[arg(long)]
    pub json: bool,
}

/// List the models, or print one's summary.
pub fn models(settings: &Settings, args: &ModelsArgs) -> anyhow::Result<i32> {
    let registry = settings.model_registry();
    if let Some(name) = &args.name {
        return summary(settings, args, name);
    }
    if args.json {
        let mut list: Vec<_> = ModelKind::ALL
            .iter()
            .map(|k| json!({ "name": k.name(), "kind": "builtin", "describe": k.describe() }))
            .collect();
        list.extend(registry.models.iter().map(|m| {
            let (kind, path) = match &m.source {
                ModelSource::Stack { origin, .. } => ("stack", origin),
                ModelSource::Script(p) => ("torchscript", p),
            };
            json!({ "name": m.name, "kind": kind, "describe": m.describe(), "path": path })
        }));
        let mut problems: Vec<String> = registry.problems.iter().map(|p| p.to_string()).collect();
        for (name, entry) in settings.commands.all() {
            match entry {
                Ok(e) => list.push(json!({ "name": name, "kind": "command", "run": e.run,
                    "command_line": shell_line(&e.run), "params": e.params })),
                Err(err) => problems.push(err.to_string()),
            }
        }
        println!("{}", serde_json::to_string_pretty(&json!({ "models": list, "problems": problems }))?);
        return Ok(0);
    }
    crate::println_clean!("built-in models");
    for k in ModelKind::ALL {
        crate::println_clean!("  {:<18} {}", k.name(), k.describe());
    }
    crate::println_clean!("your models ([models.NAME] in config.toml, {}/)", settings.models.dir.display());
    if registry.models.is_empty() {
        crate::println_clean!("  (none: see docs/models.md, \"Your own models\")");
    }
    for m in &registry.models {
        crate::println_clean!("  {:<18} {}", m.name, m.describe());
    }
    for p in &registry.problems {
        crate::eprintln_clean!("warning: {p}");
    }
    print_commands(settings);
    Ok(0)
}

/// Your commands: `[commands.NAME]` and `commands/NAME.toml`, each with its command line.
fn print_commands(settings: &Settings) {
    crate::println_clean!(
        "your commands ([commands.NAME] in config.toml, {}/; `workbench run NAME` starts one)",
        settings.commands.dir.display()
    );
    let all = settings.commands.all();
    if all.is_empty() {
        crate::println_clean!("  (none: see docs/scripts.md)");
    }
    for (name, entry) in all {
        match entry {
            Ok(e) => crate::println_clean!("  {name:<18} $ {}", shell_line(&e.run)),
            Err(err) => crate::eprintln_clean!("warning: {err}"),
        }
    }
}

fn summary(settings: &Settings, args: &ModelsArgs, name: &str) -> anyhow::Result<i32> {
    let registry = settings.model_registry();
    let layers = match (name.parse::<ModelKind>(), registry.get(name)) {
        (Ok(kind), _) => builtin_stack(kind, &settings.train.hidden)
            .ok_or_else(|| anyhow!("{name} has no layer summary (a single linear unit)"))?,
        (_, Some(m)) => match &m.source {
            ModelSource::Stack { layers, .. } => layers.clone(),
            ModelSource::Script(p) => bail!("{}: a TorchScript module has no layer summary", p.display()),
        },
        _ => bail!("no model named {name:?}; `workbench models` lists them"),
    };
    let dataset = args.dataset.clone().or_else(|| settings.train.dataset.clone()).unwrap_or_default();
    let catalog = Catalog::scan_settings(settings);
    let entry =
        catalog.get(&dataset).ok_or_else(|| anyhow!("no dataset named {dataset:?}; use --dataset"))?;
    let data = entry.summary.as_ref().map_err(|e| anyhow!("dataset {dataset:?} can't be used: {e}"))?;
    let shape: Vec<i64> = data.sample_shape.iter().map(|&d| d as i64).collect();
    let s = ModelSummary::of(&layers, &shape, outputs_for(&data.task)).map_err(|e| anyhow!("{name}: {e}"))?;
    let batch = u64::from(args.batch_size.unwrap_or(settings.train.batch_size));
    let (optimizer, momentum) = (settings.train.optimizer, settings.train.momentum);
    if args.json {
        let rows: Vec<_> = s
            .layers
            .iter()
            .map(|l| json!({ "name": l.name.trim(), "output_shape": l.output_shape, "params": l.params }))
            .collect();
        let m = s.memory(batch, optimizer, momentum);
        let doc = json!({ "model": name, "dataset": dataset, "input_shape": s.input_shape, "layers": rows,
            "total_params": s.total_params, "batch_size": batch, "memory_bytes": m.total() });
        println!("{}", serde_json::to_string_pretty(&doc)?);
        return Ok(0);
    }
    crate::println_clean!("{name} on {dataset}");
    for line in s.lines(batch, optimizer, momentum) {
        crate::println_clean!("  {line}");
    }
    Ok(0)
}
