//! The listing commands: `devices`, `datasets`, `paths` (`runs` is in runs.rs). Text for people, `--json` for scripts.
use std::path::Path;

use serde_json::json;

use crate::config::Settings;
use crate::data::{Catalog, DatasetEntry};
use crate::device;
use crate::util::format_bytes;

pub fn devices(json: bool) -> anyhow::Result<i32> {
    let report = device::probe();
    let telemetry = crate::telemetry::TelemetryStatus::probe();
    if json {
        // The device report, plus whether NVML gives GPU figures (and why not).
        let mut doc = serde_json::to_value(&report)?;
        if let Some(map) = doc.as_object_mut() {
            map.insert("telemetry".into(), serde_json::to_value(&telemetry)?);
        }
        println!("{}", serde_json::to_string_pretty(&doc)?);
        return Ok(0);
    }
    let cpu = &report.cpu;
    println!("cpu      {} ({} cores; libtorch uses {} threads)", cpu.model, cpu.cores, cpu.torch_threads);
    for d in &report.cuda {
        let cc =
            d.compute_capability.map(|(a, b)| format!(", compute capability {a}.{b}")).unwrap_or_default();
        println!("cuda:{:<3} {} ({}{cc})", d.index, d.name, format_bytes(d.total_memory_bytes));
    }
    if let Some(why) = &report.cuda_unavailable {
        println!("cuda     not usable: {why}");
    }
    if let Some(v) = &report.driver_version {
        println!("driver   NVIDIA driver supports CUDA {v}");
    }
    let loaded =
        report.libtorch.loaded_from.as_ref().map(|p| p.display().to_string()).unwrap_or_else(|| "?".into());
    println!("libtorch {} (built against), loaded from {loaded}", report.libtorch.built_against);
    match &telemetry.reason {
        None => println!("telemetry GPU figures from NVML for {} GPU(s)", telemetry.gpus),
        Some(why) => println!("telemetry no GPU figures: {why}"),
    }
    Ok(0)
}

pub fn datasets(settings: &Settings, json: bool) -> anyhow::Result<i32> {
    let catalog = Catalog::scan_settings(settings);
    if json {
        let list: Vec<_> = catalog.entries.iter().map(entry_json).collect();
        let doc = json!({ "datasets_dir": catalog.dir, "problem": catalog.problem, "datasets": list });
        println!("{}", serde_json::to_string_pretty(&doc)?);
        return Ok(if catalog.problem.is_some() { 1 } else { 0 });
    }
    crate::println_clean!("datasets in {}", catalog.dir.display());
    if let Some(problem) = &catalog.problem {
        crate::eprintln_clean!("error: {problem}");
        return Ok(1);
    }
    if catalog.entries.is_empty() {
        crate::println_clean!(
            "  (none: put .csv files, image folders or zips, or MNIST IDX files there, or define datasets in \
             config.toml)"
        );
        return Ok(0);
    }
    let name_width = catalog.entries.iter().map(|e| e.name.len()).max().unwrap_or(4).max(4);
    crate::println_clean!(
        "  {:<name_width$}  {:<6}  {:>9}  {:>8}  {:<12}  TASK",
        "NAME",
        "FORMAT",
        "ROWS",
        "FEATURES",
        "TARGET"
    );
    for entry in &catalog.entries {
        match &entry.summary {
            Ok(s) => {
                let task = match &s.task {
                    crate::data::Task::Classification { classes } => {
                        format!("{} classes: {}", classes.len(), s.class_labels().join(", "))
                    }
                    crate::data::Task::Regression => "regression".into(),
                };
                let features = match s.sample_shape.as_slice() {
                    [c, h, w] => format!("{c}×{h}×{w}"),
                    _ => s.features.to_string(),
                };
                crate::println_clean!(
                    "  {:<name_width$}  {:<6}  {:>9}  {:>8}  {:<12}  {task}",
                    entry.name,
                    entry.format.label(),
                    s.rows,
                    features,
                    s.target
                );
                if let Some(line) = image_line(&entry.name, s) {
                    crate::println_clean!("  {:<name_width$}  {line}", "");
                }
                for note in &s.notes {
                    crate::println_clean!("  {:<name_width$}  note: {note}", "");
                }
            }
            Err(e) => crate::println_clean!(
                "  {:<name_width$}  {:<6}  problem: {e}",
                entry.name,
                entry.format.label()
            ),
        }
    }
    Ok(0)
}

/// `images 28×28, 1 channel (gray); staged: no (...)` for image datasets.
fn image_line(name: &str, s: &crate::data::DatasetSummary) -> Option<String> {
    let [c, h, w] = s.sample_shape.as_slice() else { return None };
    let staged = s.staged?;
    let color = if *c == 1 { "1 channel (gray)".to_string() } else { format!("{c} channels (RGB)") };
    let staged = if staged {
        "yes".to_string()
    } else {
        format!("no (`workbench stage {name}` stages it now; training does it first otherwise)")
    };
    Some(format!("images {w}×{h}, {color}; staged: {staged}"))
}

fn entry_json(e: &DatasetEntry) -> serde_json::Value {
    match &e.summary {
        Ok(s) => json!({
            "name": e.name,
            "source": e.source,
            "format": e.format.label(),
            "rows": s.rows,
            "features": s.features,
            "sample_shape": s.sample_shape,
            "target": s.target,
            "task": s.task,
            "class_counts": s.class_counts,
            "staged": s.staged,
            "notes": s.notes,
            "problem": null,
        }),
        Err(err) => json!({
            "name": e.name,
            "source": e.source,
            "format": e.format.label(),
            "problem": err.to_string(),
        }),
    }
}

pub fn paths(settings: &Settings, log_file: Option<&Path>, json: bool) -> anyhow::Result<i32> {
    let libtorch = crate::device::cuda_loader::loaded_library_path("libtorch_cpu.so")
        .and_then(|p| p.parent().and_then(Path::parent).map(Path::to_path_buf));
    let log_dir = crate::paths::user_log_dir();
    let config = settings.config_path.as_ref().map(|p| p.display().to_string());
    if json {
        let doc = json!({
            "config": config,
            "datasets": settings.datasets_dir,
            "runs": settings.runs_dir,
            "cache": settings.cache_dir,
            "libtorch": libtorch,
            "logs": log_dir,
            "log_file": log_file,
        });
        println!("{}", serde_json::to_string_pretty(&doc)?);
        return Ok(0);
    }
    println!("config    {}", config.unwrap_or_else(|| "(none: built-in defaults)".into()));
    println!("datasets  {}", settings.datasets_dir.display());
    println!("runs      {}", settings.runs_dir.display());
    println!("cache     {}", settings.cache_dir.display());
    println!("libtorch  {}", libtorch.map(|p| p.display().to_string()).unwrap_or_else(|| "?".into()));
    println!("logs      {}", log_file.map(Path::to_path_buf).unwrap_or(log_dir).display());
    Ok(0)
}
