//! `workbench stage` (decode image datasets into the staging cache ahead of training) and
//! `workbench cache` (list the cache's entries with their sizes, or clear them).

use anyhow::{bail, Context};
use clap::{Args, Subcommand};
use serde_json::json;

use super::progress::ProgressLine;
use crate::config::Settings;
use crate::data::staging::cache::Cache;
use crate::data::staging::{self, ListedState};
use crate::data::{Catalog, DatasetEntry, Split};
use crate::util::{format_bytes, format_duration, format_rate};

/// Flags of `workbench stage`.
#[derive(Debug, Args, Clone, Default)]
pub struct StageArgs {
    /// Datasets to stage, as listed by `workbench datasets` (default: every image dataset)
    pub datasets: Vec<String>,
    /// Print only the result lines
    #[arg(long, short)]
    pub quiet: bool,
    /// Print one JSON object per dataset (no progress lines)
    #[arg(long)]
    pub json: bool,
}

/// `workbench cache`: what to do with the staging cache.
#[derive(Debug, Args, Clone, Default)]
pub struct CacheArgs {
    #[command(subcommand)]
    pub action: Option<CacheAction>,
}

#[derive(Debug, Subcommand, Clone)]
pub enum CacheAction {
    /// List the entries with their sizes and whether their source changed (the default)
    List {
        /// Print JSON
        #[arg(long)]
        json: bool,
    },
    /// Remove every entry (and interrupted staging), or only those of one dataset
    Clear {
        /// Only this dataset's entries
        dataset: Option<String>,
    },
}

/// Stage the named image datasets (all when none is named). Exit code 0 when all are staged.
pub fn stage(settings: &Settings, args: &StageArgs) -> anyhow::Result<i32> {
    let catalog = Catalog::scan_settings(settings);
    if let Some(problem) = &catalog.problem {
        bail!("{problem}");
    }
    let entries: Vec<&DatasetEntry> = if args.datasets.is_empty() {
        let all: Vec<&DatasetEntry> = catalog.entries.iter().filter(|e| e.format.is_image()).collect();
        if all.is_empty() {
            println!("no image datasets in {}; nothing to stage", catalog.dir.display());
        }
        all
    } else {
        args.datasets.iter().map(|name| catalog.require(name)).collect::<Result<_, _>>()?
    };
    let mut failed = Vec::new();
    for entry in entries {
        if !entry.format.is_image() {
            if staging::table_summary::is_large(&entry.source) {
                if let Err(e) = stage_table(settings, entry, args.quiet || args.json, args.json) {
                    if args.datasets.len() == 1 {
                        return Err(e);
                    }
                    crate::eprintln_clean!("error: {}: {}", entry.name, format!("{e:#}").replace('\n', " "));
                    failed.push(entry.name.clone());
                }
            } else {
                println!(
                    "{}: a small {} table is read directly; nothing to stage",
                    entry.name,
                    entry.format.label()
                );
            }
            continue;
        }
        if let Err(e) = stage_one(settings, entry, args.quiet || args.json, args.json) {
            if args.datasets.len() == 1 {
                return Err(e);
            }
            crate::eprintln_clean!("error: {}: {}", entry.name, format!("{e:#}").replace('\n', " "));
            failed.push(entry.name.clone());
        }
    }
    if !failed.is_empty() {
        bail!("could not stage {}", failed.join(", "));
    }
    Ok(0)
}

fn stage_one(settings: &Settings, entry: &DatasetEntry, quiet: bool, json: bool) -> anyhow::Result<()> {
    let spec = entry.image_spec(&settings.images);
    let mut bar = ProgressLine::new(quiet);
    let prefix = format!("{}: staging,", entry.name);
    let report = staging::stage(&spec, &settings.cache_dir, &mut |phase, done, total| {
        bar.update(&prefix, phase, done, total);
        true // Ctrl-C ends the process; its unfinished staging folder is never used
    });
    bar.clear();
    let report = report?;
    let m = &report.manifest;
    if json {
        let doc = json!({
            "dataset": entry.name, "entry": report.entry_dir, "staged_now": report.staged_now,
            "rehashed": report.rehashed, "images": m.images(), "shape": m.shape.dims(),
            "bytes": report.bytes, "seconds": report.seconds,
        });
        println!("{doc}");
        return Ok(());
    }
    let count = |split| m.split(split).map(|s| s.count).unwrap_or(0);
    let n = |v: usize| format_rate(v as f64);
    let split = match count(Split::Test) {
        0 => format!("{} images", n(count(Split::Train))),
        test => {
            format!("{} images ({} train, {} validation)", n(m.images()), n(count(Split::Train)), n(test))
        }
    };
    let place = format!("{} in {}", format_bytes(report.bytes), report.entry_dir.display());
    if report.staged_now {
        println!(
            "{}: staged {split}, {}, in {} ({} images/s); {place}",
            entry.name,
            m.shape.describe(),
            format_duration(report.seconds),
            format_rate(m.images() as f64 / report.seconds.max(1e-9))
        );
    } else {
        let how = if report.rehashed { "the source's time changed but its content did not; " } else { "" };
        println!(
            "{}: already staged ({split}, {}; {place}); {how}loaded and checked in {:.3}s",
            entry.name,
            m.shape.describe(),
            report.seconds
        );
    }
    Ok(())
}

/// Parse a large CSV once into the staging cache (`tables/`), with a progress line.
fn stage_table(settings: &Settings, entry: &DatasetEntry, quiet: bool, json: bool) -> anyhow::Result<()> {
    let spec = staging::table::TableSpec {
        name: &entry.name,
        source: &entry.source,
        config: &entry.config,
        cache_dir: &settings.cache_dir,
    };
    let mut bar = ProgressLine::new(quiet);
    let prefix = format!("{}: parsing,", entry.name);
    let report = staging::table::stage(&spec, &mut |phase, done, total| {
        bar.update(&prefix, phase, done, total);
        true
    });
    bar.clear();
    let report = report?;
    let m = &report.manifest;
    if json {
        let doc = json!({
            "dataset": entry.name, "entry": report.entry_dir, "staged_now": report.staged_now,
            "rows": m.rows, "features": m.feature_names.len(), "seconds": report.seconds,
        });
        println!("{doc}");
    } else if report.staged_now {
        println!(
            "{}: parsed {} rows × {} features in {} ({} rows/s); staged in {}",
            entry.name,
            format_rate(m.rows as f64),
            m.feature_names.len(),
            format_duration(report.seconds),
            format_rate(m.rows as f64 / report.seconds.max(1e-9)),
            report.entry_dir.display()
        );
    } else {
        println!(
            "{}: already staged ({} rows; {})",
            entry.name,
            format_rate(m.rows as f64),
            report.entry_dir.display()
        );
    }
    Ok(())
}

/// `workbench cache [list|clear]`.
pub fn cache(settings: &Settings, args: &CacheArgs) -> anyhow::Result<i32> {
    match args.action.clone().unwrap_or(CacheAction::List { json: false }) {
        CacheAction::List { json } => list(settings, json),
        CacheAction::Clear { dataset } => {
            let cache = Cache::new(&settings.cache_dir);
            let cleared = cache.clear(dataset.as_deref()).and_then(|(count, bytes)| {
                let (tables, table_bytes) =
                    staging::table::clear_tables(&settings.cache_dir, dataset.as_deref())?;
                Ok((count + tables, bytes + table_bytes))
            });
            let (count, bytes) = cleared.with_context(|| {
                format!("could not clear the staging cache in {}", settings.cache_dir.display())
            })?;
            let what = dataset.map(|d| format!(" of {d}")).unwrap_or_default();
            println!(
                "removed {count} entr{}{what} ({}) from {}",
                if count == 1 { "y" } else { "ies" },
                format_bytes(bytes),
                settings.cache_dir.display()
            );
            Ok(0)
        }
    }
}

fn list(settings: &Settings, json: bool) -> anyhow::Result<i32> {
    let listed = staging::cache_list(&settings.cache_dir)
        .with_context(|| format!("could not read the staging cache in {}", settings.cache_dir.display()))?;
    let tables = staging::table::list_tables(&settings.cache_dir)
        .with_context(|| format!("could not read the staging cache in {}", settings.cache_dir.display()))?;
    let rows: Vec<Row> = listed.iter().map(Row::of).chain(tables.iter().map(Row::of_table)).collect();
    if json {
        let list: Vec<_> = rows
            .iter()
            .map(|r| {
                json!({ "path": r.path, "dataset": r.dataset, "source": r.source, "images": r.images,
                        "rows": r.rows, "bytes": r.bytes, "staged_at": r.staged_at, "state": r.state })
            })
            .collect();
        let doc = json!({ "cache_dir": settings.cache_dir, "entries": list });
        println!("{}", serde_json::to_string_pretty(&doc)?);
        return Ok(0);
    }
    let total: u64 = rows.iter().map(|r| r.bytes).sum();
    println!(
        "staging cache in {}: {} entr{}, {}",
        settings.cache_dir.display(),
        rows.len(),
        if rows.len() == 1 { "y" } else { "ies" },
        format_bytes(total)
    );
    if rows.is_empty() {
        println!(
            "  (empty: `workbench stage DATASET` or a training run on an image dataset or a large CSV fills it)"
        );
        return Ok(0);
    }
    let width = rows.iter().map(|r| r.name.len()).max().unwrap_or(5).max(5);
    println!(
        "  {:<width$}  {:<12}  {:>13}  {:>10}  {:<20}  STATE",
        "ENTRY", "DATASET", "SAMPLES", "SIZE", "STAGED"
    );
    for r in &rows {
        println!(
            "  {:<width$}  {:<12}  {:>13}  {:>10}  {:<20}  {}",
            r.name,
            r.dataset.as_deref().unwrap_or("-"),
            match (r.images, r.rows) {
                (Some(n), _) => n.to_string(),
                (None, Some(n)) => format!("{n} rows"),
                (None, None) => "-".into(),
            },
            format_bytes(r.bytes),
            r.staged_at
                .as_deref()
                .map(|t| t.chars().take(19).collect::<String>())
                .unwrap_or_else(|| "-".into()),
            r.state
        );
        if let Some(source) = &r.source {
            println!("  {:<width$}  from {source}", "");
        }
    }
    Ok(0)
}

/// One cache folder, as listed.
struct Row {
    name: String,
    path: String,
    dataset: Option<String>,
    source: Option<String>,
    images: Option<usize>,
    /// A staged table's rows.
    rows: Option<usize>,
    bytes: u64,
    staged_at: Option<String>,
    state: String,
}

impl Row {
    /// A row for the folder at `path`, its details still to fill in.
    fn blank(name: String, path: &std::path::Path, bytes: u64) -> Row {
        Row {
            name,
            path: path.display().to_string(),
            dataset: None,
            source: None,
            images: None,
            rows: None,
            bytes,
            staged_at: None,
            state: String::new(),
        }
    }

    fn of(l: &staging::Listed) -> Row {
        let name = l.path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let mut row = Row::blank(name, &l.path, l.bytes);
        row.state = match &l.state {
            ListedState::Entry(m) => {
                row.dataset = Some(m.dataset.clone());
                row.source = Some(m.source.display().to_string());
                row.images = Some(m.images());
                row.staged_at = Some(m.staged_at.clone());
                match staging::entry_current(m) {
                    Some(true) => "current".into(),
                    Some(false) => {
                        "stale: the source changed (checked, and staged again, when next used)".into()
                    }
                    None => "orphan: the source is gone".into(),
                }
            }
            ListedState::Unreadable(why) => format!("unusable ({why}); never used"),
            ListedState::Staging(who) => format!("staging in progress ({who})"),
            ListedState::Leftover(why) => {
                format!("interrupted staging ({why}); never used, `cache clear` removes it")
            }
        };
        row
    }

    /// A folder of the cache's `tables/` folder (large CSVs).
    fn of_table(l: &staging::table::ListedTable) -> Row {
        use staging::table::TableState;
        let name = l.path.file_name().map(|n| format!("tables/{}", n.to_string_lossy())).unwrap_or_default();
        let mut row = Row::blank(name, &l.path, l.bytes);
        row.state = match &l.state {
            TableState::Entry(m) => {
                row.dataset = Some(m.dataset.clone());
                row.source = Some(m.source.display().to_string());
                row.rows = Some(m.rows);
                row.staged_at = Some(m.staged_at.clone());
                match staging::table::table_current(m) {
                    Some(true) => "current".into(),
                    Some(false) => {
                        "stale: the source changed (checked, and parsed again, when next used)".into()
                    }
                    None => "orphan: the source is gone".into(),
                }
            }
            TableState::Unusable(why) => format!("unusable ({why}); never used, `cache clear` removes it"),
            TableState::Staging(who) => format!("staging in progress ({who})"),
            TableState::Leftover(why) => {
                format!("interrupted staging ({why}); never used, `cache clear` removes it")
            }
        };
        row
    }
}
