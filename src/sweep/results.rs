//! A sweep's results, read from its runs' folders: one row per cell (its values, status, device,
//! best metric and its epoch, epochs, duration), sorted by the metric, and the seed-grouped rows.
use std::collections::BTreeMap;
use std::path::Path;
use std::time::SystemTime;

use serde::Serialize;

use super::groups::{best_first, group_by_seed, CellResult, Group};
use super::record::SweepRecord;
use crate::runs::{load_run, RunRecord, RunStatus};

/// One cell's row.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CellRow {
    pub run: String,
    pub values: BTreeMap<String, String>,
    /// `queued`, `running`, `finished`, `failed`, ... or `missing` when its folder is gone.
    pub status: String,
    pub device: String,
    /// The best metric and the epoch (or step) it was reached at.
    pub best: Option<f64>,
    pub best_at: Option<u64>,
    pub epochs: u32,
    pub duration_s: Option<f64>,
    /// `failure_kind = "out_of_memory"` and the like.
    pub failure: Option<String>,
}

/// The metric a sweep is judged by, and which way is better.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Judged {
    pub metric: String,
    pub higher_is_better: bool,
}

/// A sweep's results.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Results {
    pub judged: Judged,
    /// Best first; cells without a metric after.
    pub cells: Vec<CellRow>,
    pub groups: Vec<GroupRow>,
}

/// A seed group as shown.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GroupRow {
    #[serde(flatten)]
    pub group: Group,
    /// Against the next group down: whether their [min, max] ranges overlap (n >= 2 on both).
    pub overlaps_next: Option<bool>,
}

impl std::ops::Deref for GroupRow {
    type Target = Group;
    fn deref(&self) -> &Group {
        &self.group
    }
}

/// The tags a command run's best metric is read from, in order of preference, and which way is
/// better for each.
pub const COMMAND_METRICS: [(&str, bool); 8] = [
    ("val_acc", true),
    ("val_accuracy", true),
    ("accuracy", true),
    ("acc", true),
    ("val_loss", false),
    ("eval_loss", false),
    ("loss", false),
    ("train_loss", false),
];

/// A run's best metric and where: a workbench run's validation metric; a command run's first
/// tag of [`COMMAND_METRICS`] it printed.
fn best_of(dir: &Path, record: &RunRecord) -> (Option<(f64, u64)>, Judged) {
    if record.meta.command.is_none() {
        let higher = record.metric() == "accuracy";
        let judged = Judged { metric: format!("val_{}", record.metric()), higher_is_better: higher };
        return (record.best_metric().map(|(v, e)| (v, u64::from(e))), judged);
    }
    let series = crate::command::read_command_series(dir, &record.meta);
    for (tag, higher) in COMMAND_METRICS {
        let Some(points) = series.get(tag).filter(|p| !p.is_empty()) else { continue };
        let at = |p: &crate::runs::events::ScalarPoint| p.epoch.map_or(p.step.max(0) as u64, u64::from);
        let best = best_point(points.iter().map(|p| (p.value, at(p))), higher);
        return (best, Judged { metric: tag.into(), higher_is_better: higher });
    }
    (None, Judged { metric: "val_loss".into(), higher_is_better: false })
}

/// The best finite value of `(value, at)` points and where it was first reached.
pub fn best_point(points: impl Iterator<Item = (f64, u64)>, higher: bool) -> Option<(f64, u64)> {
    points.filter(|(v, _)| v.is_finite()).fold(None, |best, (v, at)| match best {
        Some((b, _)) if (higher && v <= b) || (!higher && v >= b) => best,
        _ => Some((v, at)),
    })
}

/// Read every cell's run and build the tables.
pub fn results(runs_dir: &Path, record: &SweepRecord, now: SystemTime) -> Results {
    let mut judged: Option<Judged> = None;
    let cells: Vec<CellRow> = record
        .cells
        .iter()
        .map(|cell| {
            let dir = runs_dir.join(&cell.run);
            let missing = CellRow {
                run: cell.run.clone(),
                values: cell.values.clone(),
                status: "missing".into(),
                device: String::new(),
                best: None,
                best_at: None,
                epochs: 0,
                duration_s: None,
                failure: None,
            };
            let Ok(rec) = load_run(&dir) else { return missing };
            let status = crate::runs::liveness::effective_status(&dir, &rec.meta);
            let (best, this) = best_of(&dir, &rec);
            if judged.is_none() && best.is_some() {
                judged = Some(this);
            }
            CellRow {
                status: status.as_str().to_string(),
                device: rec.meta.device.clone(),
                best: best.map(|b| b.0),
                best_at: best.map(|b| b.1),
                epochs: rec.epochs.last().map_or(rec.meta.epochs_completed, |e| e.epoch),
                duration_s: rec.duration_s(status, now),
                failure: rec.meta.failure_kind.map(|k| k.as_str().to_string()),
                ..missing
            }
        })
        .collect();
    tabulate(cells, judged)
}

/// The cells sorted best first and folded by seed, judged by `judged` (the first metric any
/// cell has; accuracy, higher better, before there is one). Shared by `workbench sweep show`
/// and the TUI's board, which builds its cells from the runs it follows.
pub fn tabulate(mut cells: Vec<CellRow>, judged: Option<Judged>) -> Results {
    let judged = judged.unwrap_or(Judged { metric: "val_accuracy".into(), higher_is_better: true });
    let higher = judged.higher_is_better;
    cells.sort_by(|a, b| best_first(a.best, b.best, higher));
    let inputs: Vec<CellResult> =
        cells.iter().map(|c| CellResult { values: c.values.clone(), best: c.best }).collect();
    let groups = group_by_seed(&inputs, higher);
    let rows = groups
        .iter()
        .enumerate()
        .map(|(i, g)| GroupRow {
            group: g.clone(),
            overlaps_next: groups.get(i + 1).and_then(|next: &Group| g.overlaps(next)),
        })
        .collect();
    Results { judged, cells, groups: rows }
}

/// How many cells are in each state: `finished 9, running 2, queued 1`.
pub fn status_counts(cells: &[CellRow]) -> String {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for c in cells {
        *counts.entry(c.status.as_str()).or_default() += 1;
    }
    let order = [
        "running",
        "starting",
        "paused",
        "queued",
        "finished",
        "failed",
        "stopped",
        "interrupted",
        "missing",
    ];
    let mut parts: Vec<String> =
        order.iter().filter_map(|s| counts.remove(s).map(|n| format!("{s} {n}"))).collect();
    parts.extend(counts.into_iter().map(|(s, n)| format!("{s} {n}")));
    parts.join(", ")
}

/// Whether every cell has ended.
pub fn all_ended(cells: &[CellRow]) -> bool {
    let going = [RunStatus::Queued, RunStatus::Running, RunStatus::Paused].map(|s| s.as_str());
    cells.iter().all(|c| !going.contains(&c.status.as_str()))
}
