//! The sweep board (`b`): a sweep's seed-grouped table built from the runs the TUI follows, so it
//! is live without reading a file; its sort, filter and selection; the band and value charts'
//! data. Pure: drawing is in ui/board.rs.
use std::collections::BTreeMap;

use super::run_view::RunView;
use super::runs::Runs;
use crate::runs::RunKey;
use crate::sweep::groups::SEED;
use crate::sweep::results::{best_point, tabulate, CellRow, GroupRow, Judged, COMMAND_METRICS};

/// What the board shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BoardView {
    /// The seed-grouped table.
    #[default]
    Table,
    /// The selected group's runs as a band: the mean line, min to max shaded.
    Band,
    /// The best metric against one varying value.
    Values,
}

/// The table's order (`o` cycles through them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SortKey {
    /// Best mean first.
    #[default]
    Rank,
    /// By the nth varying value.
    Value(usize),
    /// Most cells with a metric first.
    N,
    /// Smallest spread (std) first.
    Spread,
    /// By state: running and queued groups first.
    State,
}

/// The board's state: which sweep, what is shown, how it is sorted and filtered.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Board {
    pub sweep: String,
    pub view: BoardView,
    /// The selected row of the table as shown (sorted and filtered).
    pub selected: usize,
    pub sort: SortKey,
    /// The `/` filter: rows whose values contain it.
    pub filter: String,
    /// The filter is being typed.
    pub typing: bool,
    /// The varying value the value chart (`v`) plots against.
    pub axis: usize,
    /// The table as of the last change to the runs or to the board's sort and filter: built in
    /// the update, so a redraw only draws (a sweep of 1,000 runs takes milliseconds to fold).
    pub shown: Option<Box<BoardTable>>,
}

/// One row of the board: a seed group, its runs, and their state in a few words.
#[derive(Debug, Clone, PartialEq)]
pub struct BoardRow {
    pub group: GroupRow,
    /// The group's runs (the newest attempt of each cell).
    pub runs: Vec<RunKey>,
    /// `finished`, `running on cuda:1`, `queued 2, running on cpu`, `out of memory`, ...
    pub state: String,
    /// Its place when sorted best first (1 is the best).
    pub rank: usize,
}

/// The board's table as it stands now.
#[derive(Debug, Clone, PartialEq)]
pub struct BoardTable {
    pub judged: Judged,
    /// The varying values that name a group (the seed left out).
    pub names: Vec<String>,
    /// Whether the sweep varies the seed (the groups fold over it).
    pub seeds: bool,
    pub rows: Vec<BoardRow>,
    /// Every group before the filter.
    pub groups: usize,
    /// Each cell's row, best first.
    pub cells: Vec<CellRow>,
    /// `finished 9, running 2, queued 1`.
    pub counts: String,
}

impl SortKey {
    /// The next order after this one, for a sweep with `names` varying values.
    pub fn next(self, names: usize) -> SortKey {
        match self {
            SortKey::Rank if names > 0 => SortKey::Value(0),
            SortKey::Rank => SortKey::N,
            SortKey::Value(i) if i + 1 < names => SortKey::Value(i + 1),
            SortKey::Value(_) => SortKey::N,
            SortKey::N => SortKey::Spread,
            SortKey::Spread => SortKey::State,
            SortKey::State => SortKey::Rank,
        }
    }

    pub fn label(self, names: &[String]) -> String {
        match self {
            SortKey::Rank => "best mean first".into(),
            SortKey::Value(i) => format!("by {}", names.get(i).map_or("value", String::as_str)),
            SortKey::N => "by n".into(),
            SortKey::Spread => "by spread (std)".into(),
            SortKey::State => "by state".into(),
        }
    }
}

/// The sweeps among the runs, newest first: each name with how many runs it has.
pub fn sweep_names(runs: &Runs) -> Vec<(String, usize)> {
    let mut count: BTreeMap<&str, (usize, &str)> = BTreeMap::new();
    for run in runs.by_key.values() {
        if let Some(name) = run.meta.as_ref().and_then(|m| m.sweep.as_deref()) {
            let entry = count.entry(name).or_insert((0, run.key.as_str()));
            entry.0 += 1;
            entry.1 = entry.1.max(run.key.as_str());
        }
    }
    let mut names: Vec<(String, usize, &str)> =
        count.into_iter().map(|(n, (c, k))| (n.to_string(), c, k)).collect();
    names.sort_by(|a, b| b.2.cmp(a.2));
    names.into_iter().map(|(n, c, _)| (n, c)).collect()
}

/// The sweep `run` is a cell of.
pub fn sweep_of(run: &RunView) -> Option<&str> {
    run.meta.as_ref()?.sweep.as_deref()
}

/// The runs of sweep `name`: the newest run of each cell (a requeued cell's earlier attempt
/// stays in the runs pane, not on the board), in key order.
pub fn sweep_runs<'a>(runs: &'a Runs, name: &str) -> Vec<&'a RunView> {
    let mut newest: BTreeMap<Vec<(&str, &str)>, &RunView> = BTreeMap::new();
    for run in runs.by_key.values() {
        let Some(meta) = run.meta.as_ref().filter(|m| m.sweep.as_deref() == Some(name)) else { continue };
        let cell: Vec<(&str, &str)> = meta.sweep_cell.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let slot = newest.entry(cell).or_insert(run);
        if run.key > slot.key {
            *slot = run;
        }
    }
    let mut list: Vec<&RunView> = newest.into_values().collect();
    list.sort_by(|a, b| a.key.cmp(&b.key));
    list
}

/// A run's best metric and where, and what judges it: a workbench run's validation metric; a
/// command's first tag of [`COMMAND_METRICS`] it printed.
pub fn best_of(run: &RunView) -> (Option<(f64, u64)>, Judged) {
    if !run.is_command() {
        let higher = run.metric() == crate::train::MetricKind::Accuracy;
        let judged = Judged { metric: run.metric_tag().into(), higher_is_better: higher };
        let points = run.epochs.iter().filter_map(|r| r.val_metric.map(|v| (v, u64::from(r.epoch))));
        return (best_point(points, higher), judged);
    }
    for (tag, higher) in COMMAND_METRICS {
        let Some(series) = run.tags.get(tag).filter(|s| !s.values.is_empty()) else { continue };
        let points = series
            .values
            .values()
            .iter()
            .zip(&series.steps)
            .zip(&series.epochs)
            .map(|((v, step), epoch)| (f64::from(*v), epoch.map_or((*step).max(0) as u64, u64::from)));
        return (best_point(points, higher), Judged { metric: tag.into(), higher_is_better: higher });
    }
    (None, Judged { metric: "val_loss".into(), higher_is_better: false })
}

/// A run's curve of the judged metric: `(epoch or step, value)`.
pub fn metric_curve(run: &RunView, judged: &Judged) -> Vec<(f64, f64)> {
    if !run.is_command() {
        return run.epochs.iter().filter_map(|r| r.val_metric.map(|v| (f64::from(r.epoch), v))).collect();
    }
    let Some(series) = run.tags.get(&judged.metric) else { return Vec::new() };
    series
        .values
        .values()
        .iter()
        .zip(&series.steps)
        .zip(&series.epochs)
        .map(|((v, step), epoch)| (epoch.map_or(*step as f64, f64::from), f64::from(*v)))
        .collect()
}

/// A cell's values without its seed: its group.
fn group_key(values: &BTreeMap<String, String>) -> Vec<(&str, &str)> {
    values.iter().filter(|(k, _)| k.as_str() != SEED).map(|(k, v)| (k.as_str(), v.as_str())).collect()
}

fn cell_row(run: &RunView, best: Option<(f64, u64)>) -> CellRow {
    let meta = run.meta.as_deref();
    CellRow {
        run: run.key.clone(),
        values: meta.map(|m| m.sweep_cell.clone()).unwrap_or_default(),
        status: run.status_label().to_string(),
        device: run.device().to_string(),
        best: best.map(|b| b.0),
        best_at: best.map(|b| b.1),
        epochs: run.epochs_done(),
        duration_s: Some(run.elapsed_s()),
        failure: meta.and_then(|m| m.failure_kind).map(|k| k.as_str().to_string()),
    }
}

/// A group's cells in a few words: `finished`, `queued 2, running on cuda:1`, `out of memory`.
pub fn group_state(cells: &[&CellRow]) -> String {
    let mut counts: BTreeMap<(u8, String), usize> = BTreeMap::new();
    for c in cells {
        let what = match (c.status.as_str(), &c.failure) {
            ("running", _) => (0, format!("running on {}", c.device)),
            ("paused", _) => (1, "paused".into()),
            ("queued", _) => (2, "queued".into()),
            ("failed", Some(kind)) => (4, kind.replace('_', " ")),
            (status, _) => (if status == "finished" { 3 } else { 5 }, status.to_string()),
        };
        *counts.entry(what).or_default() += 1;
    }
    let single = cells.len() == 1 || counts.len() == 1;
    counts
        .into_iter()
        .map(|((_, what), n)| if single && n == cells.len() { what } else { format!("{what} {n}") })
        .collect::<Vec<_>>()
        .join(", ")
}

impl Board {
    /// The board of `sweep`, its table built from `runs`.
    pub fn new(sweep: &str, runs: &Runs) -> Board {
        let mut board = Board { sweep: sweep.to_string(), ..Board::default() };
        board.refresh(runs);
        board
    }

    /// Build the table again from `runs` (after they changed, or the sort or filter did).
    pub fn refresh(&mut self, runs: &Runs) {
        self.shown = Some(Box::new(self.table(runs)));
    }

    /// The table as last built, or built now.
    pub fn current(&self, runs: &Runs) -> std::borrow::Cow<'_, BoardTable> {
        match &self.shown {
            Some(table) => std::borrow::Cow::Borrowed(table),
            None => std::borrow::Cow::Owned(self.table(runs)),
        }
    }

    /// The table of this board's sweep from `runs`, sorted and filtered as asked.
    pub fn table(&self, runs: &Runs) -> BoardTable {
        let members = sweep_runs(runs, &self.sweep);
        let mut judged = None;
        let cells: Vec<CellRow> = members
            .iter()
            .map(|run| {
                let (best, this) = best_of(run);
                if judged.is_none() && best.is_some() {
                    judged = Some(this);
                }
                cell_row(run, best)
            })
            .collect();
        let counts = crate::sweep::results::status_counts(&cells);
        let results = tabulate(cells, judged);
        // Each name's distinct values, once: a name with two or more varies.
        let mut distinct: BTreeMap<&str, std::collections::BTreeSet<&str>> = BTreeMap::new();
        let mut by_group: BTreeMap<Vec<(&str, &str)>, Vec<&CellRow>> = BTreeMap::new();
        for cell in &results.cells {
            for (name, value) in &cell.values {
                distinct.entry(name).or_default().insert(value);
            }
            by_group.entry(group_key(&cell.values)).or_default().push(cell);
        }
        let names: Vec<String> =
            distinct.iter().filter(|(n, v)| **n != SEED && v.len() > 1).map(|(n, _)| n.to_string()).collect();
        let seeds = distinct.contains_key(SEED);
        let mut rows: Vec<BoardRow> = results
            .groups
            .iter()
            .enumerate()
            .map(|(i, group)| {
                let members = by_group.get(&group_key(&group.values)).cloned().unwrap_or_default();
                BoardRow {
                    group: group.clone(),
                    runs: members.iter().map(|c| c.run.clone()).collect(),
                    state: group_state(&members),
                    rank: i + 1,
                }
            })
            .collect();
        let groups = rows.len();
        if !self.filter.is_empty() {
            let needle = self.filter.to_lowercase();
            rows.retain(|r| r.group.label().to_lowercase().contains(&needle) || r.state.contains(&needle));
        }
        self.sort_rows(&mut rows, &names);
        BoardTable { judged: results.judged, names, seeds, rows, groups, cells: results.cells, counts }
    }

    fn sort_rows(&self, rows: &mut [BoardRow], names: &[String]) {
        match self.sort {
            SortKey::Rank => rows.sort_by_key(|r| r.rank),
            SortKey::Value(i) => {
                let Some(name) = names.get(i) else { return };
                rows.sort_by(|a, b| {
                    let (x, y) = (a.group.values.get(name), b.group.values.get(name));
                    let numeric =
                        x.and_then(|x| x.parse::<f64>().ok()).zip(y.and_then(|y| y.parse::<f64>().ok()));
                    match numeric {
                        Some((x, y)) => x.total_cmp(&y),
                        None => x.cmp(&y),
                    }
                    .then(a.rank.cmp(&b.rank))
                });
            }
            SortKey::N => rows.sort_by(|a, b| b.group.n.cmp(&a.group.n).then(a.rank.cmp(&b.rank))),
            SortKey::Spread => rows.sort_by(|a, b| {
                crate::sweep::groups::best_first(a.group.std, b.group.std, false).then(a.rank.cmp(&b.rank))
            }),
            SortKey::State => rows.sort_by(|a, b| a.state.cmp(&b.state).then(a.rank.cmp(&b.rank))),
        }
    }

    /// The selected row, kept inside the table.
    pub fn selected_row<'t>(&self, table: &'t BoardTable) -> Option<&'t BoardRow> {
        table.rows.get(self.selected.min(table.rows.len().saturating_sub(1)))
    }
}

/// The value chart's points: each run's best metric against its value of `name`, and the mean
/// per value; x is the value (a number), `log_x` when the values span 100× or more.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ValuePoints {
    pub runs: Vec<(f64, f64)>,
    pub means: Vec<(f64, f64)>,
    pub log_x: bool,
}

/// The value chart of `table` against `name`; `None` when its values are not numbers.
pub fn value_points(table: &BoardTable, name: &str) -> Option<ValuePoints> {
    let mut runs = Vec::new();
    for cell in &table.cells {
        let Some(text) = cell.values.get(name) else { continue };
        let x: f64 = text.trim().parse().ok()?;
        if let Some(best) = cell.best.filter(|b| b.is_finite()) {
            runs.push((x, best));
        }
    }
    let xs: Vec<f64> = table.cells.iter().filter_map(|c| c.values.get(name)?.trim().parse().ok()).collect();
    let (lo, hi) = xs.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), x| (l.min(*x), h.max(*x)));
    let log_x = lo > 0.0 && hi / lo >= 100.0;
    let mut by_x: BTreeMap<i64, (f64, f64, usize)> = BTreeMap::new();
    for &(x, y) in &runs {
        let slot = by_x.entry((x * 1e9).round() as i64).or_insert((x, 0.0, 0));
        slot.1 += y;
        slot.2 += 1;
    }
    let means = by_x.into_values().map(|(x, sum, n)| (x, sum / n as f64)).collect();
    Some(ValuePoints { runs, means, log_x })
}

/// A group's band chart as exported (`e`): what the board's band view draws.
#[derive(Debug, Clone, PartialEq)]
pub struct BandExport {
    /// The group's label, `lr=0.1`.
    pub label: String,
    pub metric: String,
    pub x_name: String,
    pub band: Vec<crate::sweep::band::BandPoint>,
    pub colour: (u8, u8, u8),
}

/// The band of `row`'s runs over the judged metric, and the x axis's name.
pub fn group_band(
    runs: &Runs,
    row: &BoardRow,
    judged: &Judged,
) -> (Vec<crate::sweep::band::BandPoint>, &'static str) {
    let members: Vec<&RunView> = row.runs.iter().filter_map(|k| runs.get(k)).collect();
    let curves: Vec<Vec<(f64, f64)>> = members.iter().map(|r| metric_curve(r, judged)).collect();
    let x_name = if members.iter().any(|r| r.is_command()) { "step" } else { "epoch" };
    (crate::sweep::band::band(&curves), x_name)
}

/// `row`'s colour family: its first run's sweep's (see `runs::palette::family_colour`).
pub fn row_family(runs: &Runs, row: &BoardRow) -> usize {
    row.runs.iter().find_map(|k| runs.get(k)?.family).map_or(0, |(f, _)| f)
}

/// The colour of `row`'s family: its sweep's hue.
pub fn row_colour(runs: &Runs, row: &BoardRow) -> (u8, u8, u8) {
    crate::runs::palette::family_colour(row_family(runs, row), 0)
}
